/* What the Check suites of server/stream share (see stream_test_util.h). */
#include "stream_test_util.h"

#include "ag_error.h"
#include "ag_fs.h"
#include "ag_time.h"

#include <arpa/inet.h>
#include <check.h>
#include <jansson.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

char err[512];

/* ---- fixture: a migrated store in a temp dir with one token ---- */

char tmp_dir[256];
Store *store;
int64_t ingest_offset[MAX_EXP];
int64_t ingest_iter[MAX_EXP];
int64_t skip_seq; /* a stored row rows_add does not publish (0: none) */

void hash_hex(const char *text, char out[65]) {
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned md_len = 0;
    ck_assert(EVP_Digest(text, strlen(text), md, &md_len, EVP_sha256(), NULL));
    for (unsigned i = 0; i < 32; i++) {
        snprintf(out + 2 * i, 3, "%02x", md[i]);
    }
}

void store_setup(void) {
    char mig[1024], db[512], hash[65];
    snprintf(tmp_dir, sizeof(tmp_dir), "/tmp/angora-stream-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(tmp_dir));
    snprintf(db, sizeof(db), "%s/angora.db", tmp_dir);
    ck_assert_int_eq(ag_fs_data_path("migrations", mig, sizeof(mig)), 0);
    ck_assert_msg(store_open(db, &store, err, sizeof(err)) == 0, "%s", err);
    ck_assert_msg(store_migrate(store, mig, 0, NULL, err, sizeof(err)) == 0, "%s", err);
    hash_hex(TOKEN, hash);
    ck_assert_int_eq(store_token_add(store, hash, "read", "test", NULL, err, sizeof(err)), 0);
    memset(ingest_offset, 0, sizeof(ingest_offset));
    memset(ingest_iter, 0, sizeof(ingest_iter));
    skip_seq = 0;
}

void store_teardown(void) {
    char cmd[300];
    store_close(store);
    store = NULL;
    snprintf(cmd, sizeof(cmd), "rm -rf %s", tmp_dir);
    ck_assert_int_eq(system(cmd), 0);
}

int64_t exp_new(void) {
    StoreExpNew e = {.name = "stream", .task = "cartpole", .spec_json = "{\"task\":\"cartpole\"}"};
    int64_t id = 0;
    ck_assert_msg(store_exp_insert(store, &e, tmp_dir, &id, err, sizeof(err)) == 0, "%s", err);
    ck_assert_int_lt(id, MAX_EXP);
    return id;
}

/* stores n rows (padded to pad bytes) like ingestion does, then publishes them */
void rows_add(Stream *s, int64_t exp, int n, int pad) {
    char *lines[64], padding[70000];
    size_t lens[64];
    int64_t first = 0;
    size_t added = 0;
    ck_assert_int_le(n, 64);
    ck_assert_int_lt(pad, (int)sizeof(padding));
    memset(padding, 'x', (size_t)pad);
    padding[pad] = '\0';
    for (int i = 0; i < n; i++) {
        lines[i] = malloc((size_t)pad + 128);
        ingest_iter[exp]++;
        ck_assert_ptr_nonnull(lines[i]);
        /* t: when the row was written, for the latency benchmark */
        lens[i] = (size_t)snprintf(lines[i], (size_t)pad + 128,
                                   "{\"iteration\":%lld,\"return\":%.2f,\"t\":%.9f,"
                                   "\"pad\":\"%s\"}",
                                   (long long)ingest_iter[exp], 0.5 * (double)ingest_iter[exp],
                                   ag_time_now(), padding);
        ingest_offset[exp] += (int64_t)lens[i] + 1;
    }
    ck_assert_msg(store_metrics_ingest(store, exp, (const char *const *)lines, lens, (size_t)n,
                                       ingest_offset[exp], &added, &first, err, sizeof(err)) == 0,
                  "%s", err);
    ck_assert_int_eq(added, n);
    for (int i = 0; i < n; i++) {
        if (s && first + i != skip_seq) {
            stream_publish_row(s, exp, first + i, lines[i], lens[i]);
        }
        free(lines[i]);
    }
}

Stream *server_start(StreamConfig *cfg) {
    Stream *s = NULL;
    ck_assert_msg(stream_create(&s, cfg, store, err, sizeof(err)) == 0, "%s", err);
    ck_assert_int_gt(stream_port(s), 0);
    return s;
}

/* ---- test client: one lws client context serviced by its own thread ---- */

/* recursive: connection errors can be reported from inside lws_client_connect_via_info */
pthread_mutex_t tmu = PTHREAD_RECURSIVE_MUTEX_INITIALIZER_NP;
static struct lws_context *cctx;
static pthread_t cthread;
static atomic_int cstop;
static Tc *tcs[MAX_TC];
static int n_tcs;
static int srv_port;

static void tc_open(Tc *c);

static void tc_message(Tc *c, const char *text, size_t len) {
    json_t *m = json_loadb(text, len, 0, NULL);
    const char *type = json_string_value(json_object_get(m, "type"));
    int64_t exp = json_integer_value(json_object_get(m, "exp"));
    ck_assert_ptr_nonnull(type);
    if (!strcmp(type, "row")) {
        int64_t seq = json_integer_value(json_object_get(m, "seq"));
        ck_assert(exp > 0 && exp < MAX_EXP);
        ck_assert(json_is_object(json_object_get(m, "row")));
        if (seq != c->last_seq[exp] + 1) {
            c->bad_order++;
        }
        c->last_seq[exp] = seq;
        c->rows[exp]++;
        c->total_rows++;
        c->recv_t[exp] = ag_time_now();
        if (c->nlat < c->caplat) {
            c->lat[c->nlat++] =
                c->recv_t[exp] - json_real_value(json_object_get(json_object_get(m, "row"), "t"));
        }
    } else if (!strcmp(type, "live")) {
        c->live[exp]++;
    } else if (!strcmp(type, "resync")) {
        c->resyncs++;
        c->last_seq[exp] = 0; /* the series comes again from the start */
        c->rows[exp] = 0;
    } else if (!strcmp(type, "hello")) {
        c->hello++;
    } else if (!strcmp(type, "pong")) {
        c->pongs++;
    } else if (!strcmp(type, "error")) {
        c->errors++;
        snprintf(c->last_error, sizeof(c->last_error), "%s",
                 json_string_value(json_object_get(m, "code")));
    } else if (!strcmp(type, "state")) {
        snprintf(c->state_of[exp], sizeof(c->state_of[exp]), "%s",
                 json_string_value(json_object_get(m, "state")));
        c->states++;
    } else if (!strcmp(type, "subscribed")) {
        c->subscribed++;
        if (exp > 0) {
            snprintf(c->state_of[exp], sizeof(c->state_of[exp]), "%s",
                     json_string_value(json_object_get(m, "state")));
        }
    }
    json_decref(m);
}

static int tc_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                       size_t len) {
    Tc *c = user;
    switch (reason) {
    case LWS_CALLBACK_CLIENT_APPEND_HANDSHAKE_HEADER: {
        unsigned char **p = in, *end = *p + len;
        const char *v = c->auth == TC_AUTH_HEADER ? "Bearer " TOKEN
                        : c->auth == TC_AUTH_BAD  ? "Bearer " BAD_TOKEN
                                                  : NULL;
        if (v && lws_add_http_header_by_token(wsi, WSI_TOKEN_HTTP_AUTHORIZATION,
                                              (const unsigned char *)v, (int)strlen(v), p, end)) {
            return -1;
        }
        return 0;
    }
    case LWS_CALLBACK_CLIENT_ESTABLISHED:
        pthread_mutex_lock(&tmu);
        c->state = 1;
        pthread_mutex_unlock(&tmu);
        return 0;
    case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
        pthread_mutex_lock(&tmu);
        c->state = -1;
        c->wsi = NULL;
        pthread_mutex_unlock(&tmu);
        return 0;
    case LWS_CALLBACK_CLIENT_CLOSED:
        pthread_mutex_lock(&tmu);
        c->state = 2;
        c->wsi = NULL;
        pthread_mutex_unlock(&tmu);
        return 0;
    case LWS_CALLBACK_WS_PEER_INITIATED_CLOSE:
        pthread_mutex_lock(&tmu);
        if (len >= 2) {
            c->close_code = ((const unsigned char *)in)[0] << 8 | ((const unsigned char *)in)[1];
        }
        pthread_mutex_unlock(&tmu);
        return 0;
    case LWS_CALLBACK_CLIENT_RECEIVE:
        c->rx = realloc(c->rx, c->rx_len + len + 1);
        memcpy(c->rx + c->rx_len, in, len);
        c->rx_len += len;
        if (lws_is_final_fragment(wsi) && !lws_remaining_packet_payload(wsi)) {
            pthread_mutex_lock(&tmu);
            tc_message(c, c->rx, c->rx_len);
            pthread_mutex_unlock(&tmu);
            c->rx_len = 0;
        }
        return 0;
    case LWS_CALLBACK_CLIENT_WRITEABLE: {
        unsigned char buf[LWS_PRE + 16384];
        size_t n;
        int binary;
        pthread_mutex_lock(&tmu);
        if (c->want_close) {
            pthread_mutex_unlock(&tmu);
            lws_close_reason(wsi, LWS_CLOSE_STATUS_NORMAL, NULL, 0);
            return -1;
        }
        if (c->n_out == 0) {
            pthread_mutex_unlock(&tmu);
            return 0;
        }
        n = strlen(c->outbox[0]);
        ck_assert_uint_le(n, 16384);
        memcpy(buf + LWS_PRE, c->outbox[0], n);
        binary = c->outbox_binary[0];
        free(c->outbox[0]);
        memmove(c->outbox, c->outbox + 1, (size_t)(c->n_out - 1) * sizeof(char *));
        memmove(c->outbox_binary, c->outbox_binary + 1, (size_t)(c->n_out - 1) * sizeof(int));
        c->n_out--;
        if (c->n_out) {
            lws_callback_on_writable(wsi);
        }
        pthread_mutex_unlock(&tmu);
        if (lws_write(wsi, buf + LWS_PRE, n, binary ? LWS_WRITE_BINARY : LWS_WRITE_TEXT) < (int)n) {
            return -1;
        }
        return 0;
    }
    case LWS_CALLBACK_EVENT_WAIT_CANCELLED:
        pthread_mutex_lock(&tmu);
        for (int i = 0; i < n_tcs; i++) {
            Tc *t = tcs[i];
            if (t->want_connect) {
                tc_open(t);
            }
            if (!t->wsi || t->state != 1) {
                continue;
            }
            if (t->n_out || t->want_close) {
                lws_callback_on_writable(t->wsi);
            }
        }
        pthread_mutex_unlock(&tmu);
        return 0;
    default:
        return 0;
    }
}

static const struct lws_protocols tc_protocols[] = {
    {"angora-stream", tc_callback, 0, 65536, 0, NULL, 0}, {NULL, NULL, 0, 0, 0, NULL, 0}};

static void *tc_thread(void *arg) {
    (void)arg;
    pthread_setname_np(pthread_self(), "test-clients");
    while (!cstop) {
        lws_service(cctx, 0);
    }
    return NULL;
}

void clients_start(int port) {
    struct lws_context_creation_info info;
    memset(&info, 0, sizeof(info));
    info.port = CONTEXT_PORT_NO_LISTEN;
    info.protocols = tc_protocols;
    info.fd_limit_per_thread = 1024;
    cctx = lws_create_context(&info);
    ck_assert_ptr_nonnull(cctx);
    srv_port = port;
    cstop = 0;
    n_tcs = 0;
    ck_assert_int_eq(pthread_create(&cthread, NULL, tc_thread, NULL), 0);
}

void clients_stop(void) {
    cstop = 1;
    lws_cancel_service(cctx);
    pthread_join(cthread, NULL);
    lws_context_destroy(cctx);
    for (int i = 0; i < n_tcs; i++) {
        for (int j = 0; j < tcs[i]->n_out; j++) {
            free(tcs[i]->outbox[j]);
        }
        free(tcs[i]->rx);
        free(tcs[i]->lat);
        free(tcs[i]);
    }
    n_tcs = 0;
}

/* lws is not thread-safe: the client thread makes the connection (tc_open) */
static void tc_open(Tc *c) {
    struct lws_client_connect_info ci;
    memset(&ci, 0, sizeof(ci));
    ci.context = cctx;
    ci.address = "127.0.0.1";
    ci.port = srv_port;
    ci.path = c->path;
    ci.host = "127.0.0.1";
    ci.origin = "127.0.0.1";
    ci.protocol = "angora-stream";
    ci.userdata = c;
    ci.pwsi = &c->wsi;
    c->want_connect = 0;
    if (!lws_client_connect_via_info(&ci)) {
        c->state = -1;
    }
}

Tc *tc_connect(TcAuth auth) {
    Tc *c = calloc(1, sizeof(*c));
    ck_assert_ptr_nonnull(c);
    c->auth = auth;
    snprintf(c->path, sizeof(c->path), "/api/v1/stream%s",
             auth == TC_AUTH_QUERY ? "?token=" TOKEN : "");
    pthread_mutex_lock(&tmu);
    ck_assert_int_lt(n_tcs, MAX_TC);
    c->want_connect = 1;
    tcs[n_tcs++] = c;
    pthread_mutex_unlock(&tmu);
    lws_cancel_service(cctx);
    return c;
}

void tc_send_kind(Tc *c, const char *text, int binary) {
    pthread_mutex_lock(&tmu);
    ck_assert_int_lt(c->n_out, 8);
    c->outbox[c->n_out] = strdup(text);
    c->outbox_binary[c->n_out] = binary;
    c->n_out++;
    pthread_mutex_unlock(&tmu);
    lws_cancel_service(cctx);
}

void tc_send(Tc *c, const char *text) {
    tc_send_kind(c, text, 0);
}

void tc_close(Tc *c) {
    pthread_mutex_lock(&tmu);
    c->want_close = 1;
    pthread_mutex_unlock(&tmu);
    lws_cancel_service(cctx);
}

/* waits until cond(c, arg) holds (checked under the lock) or timeout_s passes */
int tc_wait(Tc *c, TcCond cond, int64_t arg, double timeout_s) {
    double end = ag_time_now() + timeout_s;
    for (;;) {
        int ok;
        pthread_mutex_lock(&tmu);
        ok = cond(c, arg);
        pthread_mutex_unlock(&tmu);
        if (ok) {
            return 1;
        }
        if (ag_time_now() > end) {
            return 0;
        }
        ag_time_sleep(0.002);
    }
}

int is_open(const Tc *c, int64_t a) {
    (void)a;
    return c->state == 1 && c->hello;
}
int is_done(const Tc *c, int64_t a) {
    (void)a;
    return c->state == 2 || c->state == -1;
}
int is_live(const Tc *c, int64_t exp) {
    return c->live[exp] > 0;
}
int has_errors(const Tc *c, int64_t n) {
    return c->errors >= n;
}
int has_subscribed(const Tc *c, int64_t n) {
    return c->subscribed >= n;
}
int has_pongs(const Tc *c, int64_t n) {
    return c->pongs >= n;
}
/* arg packs exp (high bits) and seq */
int has_seq(const Tc *c, int64_t a) {
    return c->last_seq[a >> 32] >= (a & 0xffffffff);
}
int64_t exp_seq(int64_t exp, int64_t seq) {
    return exp << 32 | seq;
}
int has_state(const Tc *c, int64_t exp) {
    return !strcmp(c->state_of[exp], "succeeded");
}

Tc *tc_subscribed(int64_t exp, int64_t since, TcAuth auth) {
    char msg[200];
    Tc *c = tc_connect(auth);
    ck_assert_msg(tc_wait(c, is_open, 0, 10), "the client did not connect");
    snprintf(msg, sizeof(msg),
             "{\"type\":\"subscribe\",\"experiments\":[{\"id\":%lld,\"since_seq\":%lld}]}",
             (long long)exp, (long long)since);
    tc_send(c, msg);
    ck_assert_msg(tc_wait(c, is_live, exp, 10), "no \"live\" after subscribing");
    return c;
}

StreamConfig small_config(void) {
    StreamConfig cfg = {0};
    cfg.send_buf_bytes = 256 * 1024;
    cfg.backlog_chunk = 16;
    cfg.ping_interval_s = 30;
    return cfg;
}

/* a raw socket client: the server pings an idle connection and hangs up one that never
 * answers */
int raw_connect(int port) {
    struct sockaddr_in a = {0};
    char req[512], resp[2048];
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    ssize_t n, got = 0;
    ck_assert_int_ge(fd, 0);
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ck_assert_int_eq(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    snprintf(req, sizeof(req),
             "GET /api/v1/stream HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
             "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
             "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: angora-stream\r\n"
             "Authorization: Bearer %s\r\n\r\n",
             TOKEN);
    ck_assert_int_eq(write(fd, req, strlen(req)), (ssize_t)strlen(req));
    while (got < (ssize_t)sizeof(resp) - 1 && !strstr(resp, "\r\n\r\n")) {
        n = read(fd, resp + got, sizeof(resp) - 1 - (size_t)got);
        ck_assert_int_gt(n, 0);
        got += n;
        resp[got] = '\0';
    }
    ck_assert_msg(strstr(resp, " 101 ") != NULL, "%s", resp);
    return fd;
}

/* one masked text frame from a raw client */
void raw_send_text(int fd, const char *text) {
    unsigned char frame[1024];
    size_t len = strlen(text);
    ck_assert_uint_lt(len, 126);
    frame[0] = 0x81;
    frame[1] = (unsigned char)(0x80 | len);
    memset(frame + 2, 0, 4); /* a zero masking key leaves the payload as is */
    memcpy(frame + 6, text, len);
    ck_assert_int_eq(write(fd, frame, len + 6), (ssize_t)(len + 6));
}

/* reads until the server closes; returns the close code found (0 for none) and counts the
 * text frames */
int raw_read_to_close(int fd, double timeout_s, int *texts) {
    size_t cap = 1 << 20, len = 0, off = 0;
    unsigned char *buf = malloc(cap);
    double end = ag_time_now() + timeout_s;
    int code = 0;
    ck_assert_ptr_nonnull(buf);
    while (ag_time_now() < end) {
        struct pollfd p = {fd, POLLIN, 0};
        ssize_t n;
        if (poll(&p, 1, 100) <= 0) {
            continue;
        }
        if (len == cap) {
            cap *= 2;
            buf = realloc(buf, cap);
            ck_assert_ptr_nonnull(buf);
        }
        n = read(fd, buf + len, cap - len);
        if (n <= 0) {
            break;
        }
        len += (size_t)n;
    }
    *texts = 0;
    while (off + 2 <= len) {
        unsigned op = buf[off] & 15;
        uint64_t plen = buf[off + 1] & 127;
        size_t hdr = 2;
        if (plen == 126) {
            plen = (uint64_t)buf[off + 2] << 8 | buf[off + 3];
            hdr = 4;
        } else if (plen == 127) {
            plen = 0;
            for (int i = 0; i < 8; i++) {
                plen = plen << 8 | buf[off + 2 + (size_t)i];
            }
            hdr = 10;
        }
        if (off + hdr + plen > len) {
            break;
        }
        if (op == 1) {
            (*texts)++;
        }
        if (op == 8 && plen >= 2) {
            code = buf[off + hdr] << 8 | buf[off + hdr + 1];
        }
        off += hdr + plen;
    }
    free(buf);
    return code;
}

/* ---- a raw client's frames, read as they come ---- */

void raw_reader_init(RawReader *r, int fd, int64_t exp, int64_t since) {
    int small = 16384;
    memset(r, 0, sizeof(*r));
    /* a small receive window: a reader that stops reading stops the server soon */
    ck_assert_int_eq(setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small)), 0);
    r->fd = fd;
    r->cap = 8 << 20;
    r->buf = malloc(r->cap);
    ck_assert_ptr_nonnull(r->buf);
    r->exp = exp;
    r->last_seq = since;
    r->live_seq = -1;
}

static void raw_reader_message(RawReader *r, const char *text, size_t len) {
    json_t *m = json_loadb(text, len, 0, NULL);
    const char *type = json_string_value(json_object_get(m, "type"));
    ck_assert_ptr_nonnull(type);
    if (!strcmp(type, "row") && json_integer_value(json_object_get(m, "exp")) == r->exp) {
        int64_t seq = json_integer_value(json_object_get(m, "seq"));
        ck_assert(json_is_object(json_object_get(m, "row")));
        r->bad_order += seq != r->last_seq + 1;
        r->last_seq = seq;
        r->rows++;
    } else if (!strcmp(type, "live")) {
        /* the rows after "live" come live, each once as well */
        r->live_seq = json_integer_value(json_object_get(m, "seq"));
        r->lives++;
        ck_assert_int_eq(r->live_seq, r->last_seq);
    } else {
        ck_assert_msg(strcmp(type, "error") != 0, "%.*s", (int)len, text);
    }
    json_decref(m);
}

/* reads what arrives within timeout_s and handles every whole frame */
void raw_reader_poll(RawReader *r, double timeout_s) {
    struct pollfd p = {r->fd, POLLIN, 0};
    ssize_t n;
    if (r->closed || poll(&p, 1, (int)(timeout_s * 1000)) <= 0) {
        return;
    }
    if (r->off > 0) {
        memmove(r->buf, r->buf + r->off, r->len - r->off);
        r->len -= r->off;
        r->off = 0;
    }
    n = read(r->fd, r->buf + r->len, r->cap - r->len);
    if (n <= 0) {
        r->closed = 1;
        return;
    }
    r->len += (size_t)n;
    while (r->off + 2 <= r->len) {
        const unsigned char *f = r->buf + r->off;
        size_t hdr = 2, plen = f[1] & 127;
        ck_assert_int_eq(f[1] & 0x80, 0); /* a server never masks */
        if (plen == 126) {
            if (r->off + 4 > r->len) {
                break;
            }
            plen = (size_t)f[2] << 8 | f[3];
            hdr = 4;
        } else if (plen == 127) {
            ck_abort_msg("no frame of a test is that large");
        }
        if (r->off + hdr + plen > r->len) {
            break;
        }
        if ((f[0] & 15) == 8) {
            r->closed = 1;
        } else {
            ck_assert_int_eq(f[0], 0x81); /* whole text frames only */
            raw_reader_message(r, (const char *)f + hdr, plen);
        }
        r->off += hdr + plen;
    }
}

void raw_reader_free(RawReader *r) {
    close(r->fd);
    free(r->buf);
}

void raw_subscribe(int fd, int64_t exp, int64_t since) {
    char msg[120];
    snprintf(msg, sizeof(msg),
             "{\"type\":\"subscribe\",\"experiments\":[{\"id\":%lld,\"since_seq\":%lld}]}",
             (long long)exp, (long long)since);
    raw_send_text(fd, msg);
}

/* a long run: n rows stored in batches of 50 (all but the newest sealed into chunks), published
 * to no one yet */
void rows_fill(Stream *s, int64_t exp, int n, int pad) {
    for (int i = 0; i < n; i += 50) {
        rows_add(s, exp, 50, pad);
    }
}

uint64_t backlog_rows(Stream *s) {
    StreamStats st;
    stream_stats_get(s, &st);
    return st.backlog_rows;
}
