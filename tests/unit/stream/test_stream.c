/* Tests of server/stream/stream.c, driven by libwebsockets clients on loopback: rows exactly
 * once and in order, reconnect with since_seq (backlog from the store), resync, a full publish
 * queue healing from the store, tokens refused at the upgrade, malformed and oversized
 * messages, keepalive pings and hang-up, and (tag "integration") 200 subscribers with one
 * stalled client closed with 4008. */
#include "stream.h"

#include "ag_error.h"
#include "ag_fs.h"
#include "ag_time.h"

#include <arpa/inet.h>
#include <check.h>
#include <dirent.h>
#include <jansson.h>
#include <libwebsockets.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define TOKEN     "ang_0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define BAD_TOKEN "ang_ffff456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define MAX_EXP   8
#define MAX_TC    256

static char err[512];

/* ---- fixture: a migrated store in a temp dir with one token ---- */

static char tmp_dir[256];
static Store *store;
static int64_t ingest_offset[MAX_EXP];
static int64_t ingest_iter[MAX_EXP];
static int64_t skip_seq; /* a stored row rows_add does not publish (0: none) */

static void hash_hex(const char *text, char out[65]) {
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned md_len = 0;
    ck_assert(EVP_Digest(text, strlen(text), md, &md_len, EVP_sha256(), NULL));
    for (unsigned i = 0; i < 32; i++) {
        snprintf(out + 2 * i, 3, "%02x", md[i]);
    }
}

static void store_setup(void) {
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

static void store_teardown(void) {
    char cmd[300];
    store_close(store);
    store = NULL;
    snprintf(cmd, sizeof(cmd), "rm -rf %s", tmp_dir);
    ck_assert_int_eq(system(cmd), 0);
}

static int64_t exp_new(void) {
    StoreExpNew e = {.name = "stream", .task = "cartpole", .spec_json = "{\"task\":\"cartpole\"}"};
    int64_t id = 0;
    ck_assert_msg(store_exp_insert(store, &e, tmp_dir, &id, err, sizeof(err)) == 0, "%s", err);
    ck_assert_int_lt(id, MAX_EXP);
    return id;
}

/* stores n rows (padded to pad bytes) like ingestion does, then publishes them */
static void rows_add(Stream *s, int64_t exp, int n, int pad) {
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

static Stream *server_start(StreamConfig *cfg) {
    Stream *s = NULL;
    ck_assert_msg(stream_create(&s, cfg, store, err, sizeof(err)) == 0, "%s", err);
    ck_assert_int_gt(stream_port(s), 0);
    return s;
}

/* ---- test client: one lws client context serviced by its own thread ---- */

typedef enum TcAuth { TC_AUTH_HEADER, TC_AUTH_QUERY, TC_AUTH_NONE, TC_AUTH_BAD } TcAuth;

typedef struct Tc {
    struct lws *wsi;
    TcAuth auth;
    int state; /* 0 connecting, 1 open, 2 closed, -1 refused */
    int close_code;
    char *outbox[8];
    int outbox_binary[8];
    int n_out;
    int want_close;
    int want_connect;
    char path[200];
    char *rx;
    size_t rx_len;
    /* what arrived */
    int64_t last_seq[MAX_EXP];
    int rows[MAX_EXP];
    int bad_order;
    int total_rows;
    int live[MAX_EXP];
    int resyncs;
    int hello;
    int pongs;
    int errors;
    char last_error[32];
    char state_of[MAX_EXP][16];
    int states;
    int subscribed;
    double recv_t[MAX_EXP]; /* time the last row arrived */
    double *lat;            /* commit-to-receive latencies (benchmark) */
    size_t nlat, caplat;
} Tc;

/* recursive: connection errors can be reported from inside lws_client_connect_via_info */
static pthread_mutex_t tmu = PTHREAD_RECURSIVE_MUTEX_INITIALIZER_NP;
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

static void clients_start(int port) {
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

static void clients_stop(void) {
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

static Tc *tc_connect(TcAuth auth) {
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

static void tc_send_kind(Tc *c, const char *text, int binary) {
    pthread_mutex_lock(&tmu);
    ck_assert_int_lt(c->n_out, 8);
    c->outbox[c->n_out] = strdup(text);
    c->outbox_binary[c->n_out] = binary;
    c->n_out++;
    pthread_mutex_unlock(&tmu);
    lws_cancel_service(cctx);
}

static void tc_send(Tc *c, const char *text) {
    tc_send_kind(c, text, 0);
}

static void tc_close(Tc *c) {
    pthread_mutex_lock(&tmu);
    c->want_close = 1;
    pthread_mutex_unlock(&tmu);
    lws_cancel_service(cctx);
}

/* waits until cond(c, arg) holds (checked under the lock) or timeout_s passes */
typedef int (*TcCond)(const Tc *c, int64_t arg);
static int tc_wait(Tc *c, TcCond cond, int64_t arg, double timeout_s) {
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

static int is_open(const Tc *c, int64_t a) {
    (void)a;
    return c->state == 1 && c->hello;
}
static int is_done(const Tc *c, int64_t a) {
    (void)a;
    return c->state == 2 || c->state == -1;
}
static int is_live(const Tc *c, int64_t exp) {
    return c->live[exp] > 0;
}
static int has_errors(const Tc *c, int64_t n) {
    return c->errors >= n;
}
static int has_subscribed(const Tc *c, int64_t n) {
    return c->subscribed >= n;
}
static int has_pongs(const Tc *c, int64_t n) {
    return c->pongs >= n;
}
/* arg packs exp (high bits) and seq */
static int has_seq(const Tc *c, int64_t a) {
    return c->last_seq[a >> 32] >= (a & 0xffffffff);
}
static int64_t exp_seq(int64_t exp, int64_t seq) {
    return exp << 32 | seq;
}
static int has_state(const Tc *c, int64_t exp) {
    return !strcmp(c->state_of[exp], "succeeded");
}

static Tc *tc_subscribed(int64_t exp, int64_t since, TcAuth auth) {
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

static StreamConfig small_config(void) {
    StreamConfig cfg = {0};
    cfg.send_buf_bytes = 256 * 1024;
    cfg.backlog_chunk = 16;
    cfg.ping_interval_s = 30;
    return cfg;
}

/* ---- tests ---- */

/* subscribed before the run starts: every row once, in order, then the final state */
START_TEST(test_rows_in_order) {
    StreamConfig cfg = small_config();
    Stream *s = server_start(&cfg);
    int64_t exp = exp_new();
    StreamStats st;
    Tc *c;
    clients_start(stream_port(s));
    c = tc_subscribed(exp, 0, TC_AUTH_HEADER);
    ck_assert_int_eq(store_run_started(store, exp, 4242, 1, 1, err, sizeof(err)), 0);
    stream_publish_state(s, exp, "running", NULL);
    for (int i = 0; i < 30; i++) {
        rows_add(s, exp, 10, 40);
    }
    ck_assert_int_eq(store_run_set_state(store, exp, "succeeded", NULL, err, sizeof(err)), 0);
    stream_publish_state(s, exp, "succeeded", "finished");
    ck_assert(tc_wait(c, has_seq, exp_seq(exp, 300), 20));
    ck_assert(tc_wait(c, has_state, exp, 5));
    pthread_mutex_lock(&tmu);
    ck_assert_int_eq(c->rows[exp], 300);
    ck_assert_int_eq(c->last_seq[exp], 300);
    ck_assert_int_eq(c->bad_order, 0);
    ck_assert_int_eq(c->errors, 0);
    pthread_mutex_unlock(&tmu);
    ag_time_sleep(0.1); /* nothing more may come */
    pthread_mutex_lock(&tmu);
    ck_assert_int_eq(c->total_rows, 300);
    pthread_mutex_unlock(&tmu);
    stream_stats_get(s, &st);
    ck_assert_uint_eq(st.rows_published, 300);
    ck_assert_uint_eq(st.clients, 1);
    ck_assert_uint_eq(st.slow_closed, 0);
    clients_stop();
    stream_destroy(s);
}
END_TEST

/* disconnect mid-run, reconnect with the last seq: the backlog fills the gap exactly */
START_TEST(test_reconnect_since_seq) {
    StreamConfig cfg = small_config();
    Stream *s = server_start(&cfg);
    int64_t exp = exp_new(), seen;
    int first_rows;
    Tc *a, *b;
    StreamStats st;
    clients_start(stream_port(s));
    a = tc_subscribed(exp, 0, TC_AUTH_QUERY);
    for (int i = 0; i < 10; i++) {
        rows_add(s, exp, 10, 40);
    }
    ck_assert(tc_wait(a, has_seq, exp_seq(exp, 40), 10));
    tc_close(a);
    ck_assert(tc_wait(a, is_done, 0, 10));
    pthread_mutex_lock(&tmu);
    seen = a->last_seq[exp];
    first_rows = a->rows[exp];
    ck_assert_int_eq(a->bad_order, 0);
    pthread_mutex_unlock(&tmu);
    ck_assert_int_eq(first_rows, seen);
    /* the run goes on while nobody listens */
    for (int i = 0; i < 10; i++) {
        rows_add(s, exp, 10, 40);
    }
    b = tc_connect(TC_AUTH_HEADER);
    ck_assert(tc_wait(b, is_open, 0, 10));
    {
        char msg[200];
        snprintf(msg, sizeof(msg),
                 "{\"type\":\"subscribe\",\"experiments\":[{\"id\":%lld,\"since_seq\":%lld}]}",
                 (long long)exp, (long long)seen);
        pthread_mutex_lock(&tmu);
        b->last_seq[exp] = seen;
        pthread_mutex_unlock(&tmu);
        tc_send(b, msg);
    }
    /* rows keep coming during the backlog read */
    for (int i = 0; i < 10; i++) {
        rows_add(s, exp, 10, 40);
    }
    ck_assert(tc_wait(b, has_seq, exp_seq(exp, 300), 20));
    ag_time_sleep(0.1);
    pthread_mutex_lock(&tmu);
    ck_assert_int_eq(b->bad_order, 0);
    ck_assert_int_eq(first_rows + b->rows[exp], 300);
    ck_assert_int_eq(b->live[exp], 1);
    pthread_mutex_unlock(&tmu);
    stream_stats_get(s, &st);
    ck_assert_uint_ge(st.backlog_rows, (uint64_t)(200 - seen));
    clients_stop();
    stream_destroy(s);
}
END_TEST

/* since_seq ahead of the store: resync, then the whole series; -1: only new rows */
START_TEST(test_resync_and_live_only) {
    StreamConfig cfg = small_config();
    Stream *s = server_start(&cfg);
    int64_t exp = exp_new();
    Tc *a, *b;
    clients_start(stream_port(s));
    rows_add(s, exp, 50, 20);
    a = tc_connect(TC_AUTH_HEADER);
    ck_assert(tc_wait(a, is_open, 0, 10));
    ck_assert_int_eq(exp, 1);
    tc_send(a, "{\"type\":\"subscribe\",\"experiments\":[{\"id\":1,\"since_seq\":999}]}");
    ck_assert(tc_wait(a, has_seq, exp_seq(exp, 50), 10));
    b = tc_subscribed(exp, -1, TC_AUTH_HEADER);
    pthread_mutex_lock(&tmu);
    ck_assert_int_eq(a->resyncs, 1);
    ck_assert_int_eq(a->rows[exp], 50);
    ck_assert_int_eq(a->bad_order, 0);
    ck_assert_int_eq(b->rows[exp], 0);
    b->last_seq[exp] = 50;
    pthread_mutex_unlock(&tmu);
    rows_add(s, exp, 5, 20);
    ck_assert(tc_wait(b, has_seq, exp_seq(exp, 55), 10));
    ck_assert(tc_wait(a, has_seq, exp_seq(exp, 55), 10));
    pthread_mutex_lock(&tmu);
    ck_assert_int_eq(b->rows[exp], 5);
    ck_assert_int_eq(b->bad_order, 0);
    ck_assert_int_eq(a->rows[exp], 55);
    pthread_mutex_unlock(&tmu);
    clients_stop();
    stream_destroy(s);
}
END_TEST

/* "all" follows every experiment and its state changes; unsubscribing stops it; a server
 * shutting down closes with 1001 */
static int rows_at_least2(const Tc *c, int64_t a) {
    return c->rows[a >> 32] >= (a & 0xffffffff);
}

START_TEST(test_subscribe_all_unsubscribe_shutdown) {
    StreamConfig cfg = small_config();
    Stream *s = server_start(&cfg);
    int64_t e1 = exp_new(), e2 = exp_new();
    Tc *c;
    clients_start(stream_port(s));
    rows_add(s, e1, 5, 10); /* before subscribing: not sent to an "all" subscriber */
    c = tc_connect(TC_AUTH_HEADER);
    ck_assert(tc_wait(c, is_open, 0, 10));
    tc_send(c, "{\"type\":\"subscribe\",\"all\":true}");
    ck_assert(tc_wait(c, has_subscribed, 1, 5));
    pthread_mutex_lock(&tmu);
    c->last_seq[e1] = 5; /* "all" starts with the rows published from now on */
    pthread_mutex_unlock(&tmu);
    rows_add(s, e1, 7, 10);
    rows_add(s, e2, 9, 10);
    ck_assert(tc_wait(c, rows_at_least2, exp_seq(e1, 7), 10));
    ck_assert(tc_wait(c, rows_at_least2, exp_seq(e2, 9), 10));
    ck_assert_int_eq(store_run_set_state(store, e2, "succeeded", NULL, err, sizeof(err)), 0);
    stream_publish_state(s, e2, "succeeded", "done");
    ck_assert(tc_wait(c, has_state, e2, 5));
    pthread_mutex_lock(&tmu);
    ck_assert_int_eq(c->rows[e1], 7);
    ck_assert_int_eq(c->last_seq[e1], 12);
    ck_assert_int_eq(c->last_seq[e2], 9);
    pthread_mutex_unlock(&tmu);
    tc_send(c, "{\"type\":\"unsubscribe\",\"all\":true}");
    tc_send(c, "{\"type\":\"ping\"}");
    ck_assert(tc_wait(c, has_pongs, 1, 5));
    rows_add(s, e1, 3, 10);
    tc_send(c, "{\"type\":\"ping\"}");
    ck_assert(tc_wait(c, has_pongs, 2, 5));
    ag_time_sleep(0.05);
    pthread_mutex_lock(&tmu);
    ck_assert_int_eq(c->rows[e1], 7);
    ck_assert_int_eq(c->bad_order, 0);
    pthread_mutex_unlock(&tmu);
    stream_destroy(s);
    ck_assert(tc_wait(c, is_done, 0, 5));
    ck_assert_int_eq(c->close_code, STREAM_CLOSE_GOING_AWAY);
    clients_stop();
}
END_TEST

/* a stored row that was never published (the ingest ring may skip one) comes from the store */
START_TEST(test_gap_filled_from_store) {
    StreamConfig cfg = small_config();
    Stream *s = server_start(&cfg);
    int64_t exp = exp_new();
    StreamStats st;
    Tc *c;
    clients_start(stream_port(s));
    c = tc_subscribed(exp, 0, TC_AUTH_HEADER);
    skip_seq = 5;
    rows_add(s, exp, 10, 20);
    ck_assert(tc_wait(c, has_seq, exp_seq(exp, 10), 10));
    ag_time_sleep(0.05);
    pthread_mutex_lock(&tmu);
    ck_assert_int_eq(c->rows[exp], 10);
    ck_assert_int_eq(c->bad_order, 0);
    pthread_mutex_unlock(&tmu);
    stream_stats_get(s, &st);
    ck_assert_uint_eq(st.queue_overflows, 0);
    ck_assert_uint_ge(st.backlog_rows, 1);
    clients_stop();
    stream_destroy(s);
}
END_TEST

/* a publish queue too small to hold a burst: publishers never block and subscribers still get
 * every row once, from the store */
START_TEST(test_queue_overflow_heals) {
    StreamConfig cfg = small_config();
    Stream *s;
    int64_t exp = exp_new();
    StreamStats st;
    Tc *c;
    cfg.queue_bytes = 4096;
    s = server_start(&cfg);
    clients_start(stream_port(s));
    c = tc_subscribed(exp, 0, TC_AUTH_HEADER);
    for (int i = 0; i < 40; i++) {
        rows_add(s, exp, 50, 200);
    }
    ck_assert(tc_wait(c, has_seq, exp_seq(exp, 2000), 30));
    ag_time_sleep(0.1);
    stream_stats_get(s, &st);
    ck_assert_uint_gt(st.queue_overflows, 0);
    ck_assert_uint_gt(st.backlog_rows, 0);
    pthread_mutex_lock(&tmu);
    ck_assert_int_eq(c->rows[exp], 2000);
    ck_assert_int_eq(c->bad_order, 0);
    pthread_mutex_unlock(&tmu);
    clients_stop();
    stream_destroy(s);
}
END_TEST

/* the upgrade needs a live token, from the header or the query */
START_TEST(test_token_required) {
    StreamConfig cfg = small_config();
    Stream *s = server_start(&cfg);
    StreamStats st;
    Tc *none, *bad, *q, *h;
    int64_t id = 0;
    char hash[65];
    clients_start(stream_port(s));
    none = tc_connect(TC_AUTH_NONE);
    bad = tc_connect(TC_AUTH_BAD);
    q = tc_connect(TC_AUTH_QUERY);
    h = tc_connect(TC_AUTH_HEADER);
    ck_assert(tc_wait(none, is_done, 0, 10));
    ck_assert(tc_wait(bad, is_done, 0, 10));
    ck_assert(tc_wait(q, is_open, 0, 10));
    ck_assert(tc_wait(h, is_open, 0, 10));
    pthread_mutex_lock(&tmu);
    ck_assert_int_eq(none->state, -1);
    ck_assert_int_eq(bad->state, -1);
    ck_assert_int_eq(none->hello + bad->hello, 0);
    pthread_mutex_unlock(&tmu);
    /* a revoked token no longer opens a stream */
    hash_hex(BAD_TOKEN, hash);
    ck_assert_int_eq(store_token_add(store, hash, "full", "later", &id, err, sizeof(err)), 0);
    bad = tc_connect(TC_AUTH_BAD);
    ck_assert(tc_wait(bad, is_open, 0, 10));
    ck_assert_int_eq(store_token_revoke(store, id, err, sizeof(err)), 0);
    bad = tc_connect(TC_AUTH_BAD);
    ck_assert(tc_wait(bad, is_done, 0, 10));
    ck_assert_int_eq(bad->state, -1);
    /* plain HTTP on the stream port is answered with 400 */
    {
        struct sockaddr_in a = {0};
        char resp[512] = "";
        const char *req = "GET /api/v1/stream HTTP/1.1\r\nHost: x\r\n\r\n";
        int fd = socket(AF_INET, SOCK_STREAM, 0);
        a.sin_family = AF_INET;
        a.sin_port = htons((uint16_t)stream_port(s));
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        ck_assert_int_eq(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
        ck_assert_int_eq(write(fd, req, strlen(req)), (ssize_t)strlen(req));
        ck_assert_int_gt(read(fd, resp, sizeof(resp) - 1), 0);
        ck_assert_msg(strstr(resp, " 400 ") != NULL, "%s", resp);
        close(fd);
    }
    stream_stats_get(s, &st);
    ck_assert_uint_eq(st.refused, 3);
    ck_assert_uint_eq(st.accepted, 3);
    clients_stop();
    stream_destroy(s);
}
END_TEST

/* connections over max_clients are refused at the upgrade; a freed slot is usable again */
START_TEST(test_client_limit) {
    StreamConfig cfg = small_config();
    Stream *s;
    StreamStats st;
    Tc *a, *b, *c, *d;
    cfg.max_clients = 2;
    s = server_start(&cfg);
    clients_start(stream_port(s));
    a = tc_connect(TC_AUTH_HEADER);
    b = tc_connect(TC_AUTH_HEADER);
    ck_assert(tc_wait(a, is_open, 0, 10));
    ck_assert(tc_wait(b, is_open, 0, 10));
    c = tc_connect(TC_AUTH_HEADER);
    ck_assert(tc_wait(c, is_done, 0, 10));
    ck_assert_int_eq(c->state, -1);
    tc_close(a);
    ck_assert(tc_wait(a, is_done, 0, 10));
    for (int i = 0; i < 200; i++) {
        stream_stats_get(s, &st);
        if (st.clients == 1) {
            break;
        }
        ag_time_sleep(0.01);
    }
    d = tc_connect(TC_AUTH_HEADER);
    ck_assert(tc_wait(d, is_open, 0, 10));
    stream_stats_get(s, &st);
    ck_assert_uint_eq(st.clients, 2);
    ck_assert_uint_eq(st.accepted, 3);
    ck_assert_uint_eq(st.refused, 1);
    clients_stop();
    stream_destroy(s);
}
END_TEST

/* malformed messages get errors and the connection lives on; an oversized one closes it */
START_TEST(test_malformed_messages) {
    StreamConfig cfg = small_config();
    Stream *s;
    StreamStats st;
    Tc *c;
    char big[9000];
    int64_t exp;
    static const struct {
        const char *msg;
        const char *code;
    } cases[] = {
        {"not json", "AG_EJSON"},
        {"[1,2]", "AG_EPROTOCOL"},
        {"{\"type\":42}", "AG_EPROTOCOL"},
        {"{\"type\":\"launch\"}", "AG_EPROTOCOL"},
        {"{\"type\":\"subscribe\"}", "AG_EINVAL"},
        {"{\"type\":\"subscribe\",\"experiments\":{}}", "AG_EINVAL"},
        {"{\"type\":\"subscribe\",\"experiments\":[{\"id\":\"x\"}]}", "AG_EINVAL"},
        {"{\"type\":\"subscribe\",\"experiments\":[{\"id\":-3}]}", "AG_EINVAL"},
        {"{\"type\":\"subscribe\",\"experiments\":[{\"id\":1,\"since_seq\":-7}]}", "AG_EINVAL"},
        {"{\"type\":\"subscribe\",\"experiments\":[{\"id\":1,\"since_seq\":1.5}]}", "AG_EINVAL"},
        {"{\"type\":\"subscribe\",\"experiments\":[{\"id\":77}]}", "AG_ENOTFOUND"},
        {"{\"type\":\"subscribe\",\"all\":\"yes\"}", "AG_EINVAL"},
        {"{\"type\":\"unsubscribe\",\"experiments\":[\"a\"]}", "AG_EINVAL"},
    };
    cfg.max_msg_bytes = 4096;
    s = server_start(&cfg);
    exp = exp_new();
    clients_start(stream_port(s));
    c = tc_connect(TC_AUTH_HEADER);
    ck_assert(tc_wait(c, is_open, 0, 10));
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        tc_send(c, cases[i].msg);
        ck_assert_msg(tc_wait(c, has_errors, (int64_t)i + 1, 5), "no error for %s", cases[i].msg);
        pthread_mutex_lock(&tmu);
        ck_assert_msg(!strcmp(c->last_error, cases[i].code), "%s: %s, expected %s", cases[i].msg,
                      c->last_error, cases[i].code);
        pthread_mutex_unlock(&tmu);
    }
    tc_send_kind(c, "{\"type\":\"ping\"}", 1);
    ck_assert(tc_wait(c, has_errors, 14, 5));
    ck_assert_str_eq(c->last_error, "AG_EUNSUPPORTED");
    /* still usable */
    tc_send(c, "{\"type\":\"ping\"}");
    ck_assert(tc_wait(c, has_pongs, 1, 5));
    rows_add(s, exp, 3, 10);
    tc_send(c, "{\"type\":\"subscribe\",\"experiments\":[{\"id\":1}]}");
    ck_assert(tc_wait(c, has_seq, exp_seq(exp, 3), 5));
    /* over max_msg_bytes: closed with 1009 */
    memset(big, ' ', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    big[0] = '{';
    big[sizeof(big) - 2] = '}';
    tc_send(c, big);
    ck_assert(tc_wait(c, is_done, 0, 10));
    ck_assert_int_eq(c->close_code, STREAM_CLOSE_TOO_BIG);
    stream_stats_get(s, &st);
    /* all but the unknown experiment, plus the binary and the oversized message */
    ck_assert_uint_eq(st.bad_messages, 12 + 1 + 1);
    clients_stop();
    stream_destroy(s);
}
END_TEST

static int errors_or_done(const Tc *c, int64_t n) {
    return c->errors >= n || is_done(c, 0);
}

/* repeated garbage closes with 1008, invalid UTF-8 with 1007 */
START_TEST(test_abusive_clients_closed) {
    StreamConfig cfg = small_config();
    Stream *s = server_start(&cfg);
    Tc *a, *b;
    clients_start(stream_port(s));
    a = tc_connect(TC_AUTH_HEADER);
    b = tc_connect(TC_AUTH_HEADER);
    ck_assert(tc_wait(a, is_open, 0, 10));
    ck_assert(tc_wait(b, is_open, 0, 10));
    for (int i = 0; i < 32; i++) {
        tc_send(a, "{oops");
        ck_assert(tc_wait(a, errors_or_done, i + 1, 5));
    }
    ck_assert(tc_wait(a, is_done, 0, 10));
    ck_assert_int_eq(a->close_code, STREAM_CLOSE_POLICY);
    tc_send(b, "{\"type\":\"\xff\xfe\"}");
    ck_assert(tc_wait(b, is_done, 0, 10));
    ck_assert_int_eq(b->close_code, 1007);
    clients_stop();
    stream_destroy(s);
}
END_TEST

/* a row larger than the whole send buffer is announced, not sent, and the series goes on */
START_TEST(test_row_larger_than_buffer) {
    StreamConfig cfg = small_config();
    Stream *s;
    int64_t exp = exp_new();
    Tc *live, *late;
    cfg.send_buf_bytes = 8192;
    s = server_start(&cfg);
    clients_start(stream_port(s));
    live = tc_subscribed(exp, 0, TC_AUTH_HEADER);
    rows_add(s, exp, 2, 10);
    rows_add(s, exp, 1, 9000);
    rows_add(s, exp, 2, 10);
    ck_assert(tc_wait(live, has_seq, exp_seq(exp, 5), 10));
    late = tc_subscribed(exp, 0, TC_AUTH_QUERY);
    ck_assert(tc_wait(late, has_seq, exp_seq(exp, 5), 10));
    pthread_mutex_lock(&tmu);
    ck_assert_int_eq(live->rows[exp], 4);
    ck_assert_int_eq(late->rows[exp], 4);
    ck_assert_int_eq(live->errors, 1);
    ck_assert_int_eq(late->errors, 1);
    ck_assert_str_eq(live->last_error, "AG_ETOOBIG");
    ck_assert_int_eq(live->state, 1);
    ck_assert_int_eq(late->state, 1);
    pthread_mutex_unlock(&tmu);
    clients_stop();
    stream_destroy(s);
}
END_TEST

/* a raw socket client: the server pings an idle connection and hangs up one that never
 * answers */
static int raw_connect(int port) {
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
static void raw_send_text(int fd, const char *text) {
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
static int raw_read_to_close(int fd, double timeout_s, int *texts) {
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

START_TEST(test_keepalive_ping_and_hangup) {
    StreamConfig cfg = small_config();
    Stream *s;
    int fd, saw_ping = 0, closed = 0;
    double t0, t_closed = 0;
    unsigned char buf[4096];
    cfg.ping_interval_s = 1;
    s = server_start(&cfg);
    fd = raw_connect(stream_port(s));
    t0 = ag_time_now();
    while (ag_time_now() - t0 < 10) {
        struct pollfd p = {fd, POLLIN, 0};
        ssize_t n;
        if (poll(&p, 1, 100) <= 0) {
            continue;
        }
        n = read(fd, buf, sizeof(buf));
        if (n <= 0) {
            closed = 1;
            t_closed = ag_time_now() - t0;
            break;
        }
        /* server frames are unmasked; look for a ping opcode at frame starts */
        for (ssize_t i = 0; i + 1 < n; i++) {
            if (buf[i] == 0x89 && buf[i + 1] < 126) {
                saw_ping = 1;
            }
        }
    }
    close(fd);
    ck_assert_msg(saw_ping, "no ping on an idle connection");
    ck_assert_msg(closed, "a connection that never answers pings was not closed");
    ck_assert_double_ge(t_closed, 1.0);
    stream_destroy(s);
}
END_TEST

/* bad configurations and a port already taken are refused with a message */
START_TEST(test_create_errors) {
    StreamConfig cfg = small_config();
    Stream *s = NULL, *s2 = NULL;
    ck_assert_int_eq(stream_create(&s, NULL, store, err, sizeof(err)), AG_EINVAL);
    cfg.port = 70000;
    ck_assert_int_eq(stream_create(&s, &cfg, store, err, sizeof(err)), AG_ERANGE);
    cfg.port = 0;
    cfg.send_buf_bytes = 100;
    ck_assert_int_eq(stream_create(&s, &cfg, store, err, sizeof(err)), AG_ERANGE);
    ck_assert_ptr_null(s);
    cfg = small_config();
    cfg.bind = "not-an-address";
    ck_assert_int_eq(stream_create(&s, &cfg, store, err, sizeof(err)), AG_EINVAL);
    ck_assert_ptr_nonnull(strstr(err, "not-an-address"));
    cfg = small_config();
    s = server_start(&cfg);
    cfg.port = stream_port(s);
    ck_assert_int_eq(stream_create(&s2, &cfg, store, err, sizeof(err)), AG_EIO);
    ck_assert_ptr_nonnull(strstr(err, "cannot listen"));
    ck_assert_ptr_null(s2);
    /* publishing to nothing or with bad ids is harmless */
    stream_publish_row(NULL, 1, 1, "{}", 2);
    stream_publish_row(s, 0, 1, "{}", 2);
    stream_publish_state(s, 1, NULL, NULL);
    stream_destroy(s);
    stream_destroy(NULL);
}
END_TEST

/* 200 subscribers get every row while a stalled one is closed with 4008 */
static int rows_at_least(const Tc *c, int64_t a) {
    return c->rows[a >> 32] >= (a & 0xffffffff);
}

START_TEST(test_fanout_with_stalled_client) {
    enum { N = 200, ROWS = 400 };
    StreamConfig cfg = small_config();
    Stream *s;
    int64_t exp, hog;
    StreamStats st;
    Tc *c[N];
    int stall, texts = 0, code;
    double t0;
    char msg[200];
    cfg.send_buf_bytes = 128 * 1024;
    cfg.max_clients = N + 8;
    s = server_start(&cfg);
    exp = exp_new();
    hog = exp_new();
    clients_start(stream_port(s));
    for (int i = 0; i < N; i++) {
        c[i] = tc_connect(i % 2 ? TC_AUTH_HEADER : TC_AUTH_QUERY);
    }
    /* the stalled client never reads after subscribing */
    stall = raw_connect(stream_port(s));
    for (int i = 0; i < N; i++) {
        ck_assert_msg(tc_wait(c[i], is_open, 0, 30), "client %d did not connect", i);
    }
    snprintf(msg, sizeof(msg), "{\"type\":\"subscribe\",\"experiments\":[{\"id\":%lld}]}",
             (long long)exp);
    for (int i = 0; i < N; i++) {
        tc_send(c[i], msg);
    }
    /* the stalled client also follows a run with large rows */
    snprintf(msg, sizeof(msg),
             "{\"type\":\"subscribe\",\"experiments\":[{\"id\":%lld},{\"id\":%lld}]}",
             (long long)exp, (long long)hog);
    raw_send_text(stall, msg);
    for (int i = 0; i < N; i++) {
        ck_assert(tc_wait(c[i], is_live, exp, 30));
    }
    t0 = ag_time_now();
    for (int r = 0; r < ROWS / 10; r++) {
        rows_add(s, exp, 10, 100);
        rows_add(s, hog, 8, 60000);
    }
    /* the stalled client is closed while the others go on; it then reads again and finds
     * the close code */
    for (int i = 0; i < 600; i++) {
        stream_stats_get(s, &st);
        if (st.slow_closed) {
            break;
        }
        ag_time_sleep(0.05);
    }
    ck_assert_uint_eq(st.slow_closed, 1);
    code = raw_read_to_close(stall, 20, &texts);
    close(stall);
    ck_assert_int_eq(code, STREAM_CLOSE_SLOW);
    ck_assert_int_gt(texts, 3); /* hello, subscribed x2, live x2, then rows until it stalled */
    for (int i = 0; i < N; i++) {
        ck_assert_msg(tc_wait(c[i], rows_at_least, exp_seq(exp, ROWS), 60),
                      "client %d got %d of %d rows", i, c[i]->rows[exp], ROWS);
    }
    printf("fan-out: %d rows to %d subscribers in %.3f s\n", ROWS, N, ag_time_now() - t0);
    stream_stats_get(s, &st);
    ck_assert_uint_eq(st.slow_closed, 1);
    pthread_mutex_lock(&tmu);
    for (int i = 0; i < N; i++) {
        ck_assert_int_eq(c[i]->rows[exp], ROWS);
        ck_assert_int_eq(c[i]->bad_order, 0);
        ck_assert_int_eq(c[i]->state, 1);
    }
    pthread_mutex_unlock(&tmu);
    clients_stop();
    stream_destroy(s);
}
END_TEST

/* ---- benchmark (tag "bench", run by hand: CK_INCLUDE_TAGS=bench) ---- */

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* median and p99 of every latency sample of the given clients, in ms */
static void lat_report(const char *what, Tc **c, int n) {
    size_t total = 0, k = 0;
    double *all;
    for (int i = 0; i < n; i++) {
        total += c[i]->nlat;
    }
    ck_assert_uint_gt(total, 0);
    all = malloc(total * sizeof(double));
    ck_assert_ptr_nonnull(all);
    for (int i = 0; i < n; i++) {
        for (size_t j = 0; j < c[i]->nlat; j++) {
            all[k++] = c[i]->lat[j] * 1e3;
        }
    }
    qsort(all, total, sizeof(double), cmp_double);
    printf("%s: %zu samples, median %.3f ms, p99 %.3f ms, max %.3f ms\n", what, total,
           all[total / 2], all[(size_t)((double)total * 0.99)], all[total - 1]);
    free(all);
}

/* CPU seconds used so far by the threads named name */
static double thread_cpu_s(const char *name) {
    char path[600], comm[64], stat[1024];
    double total = 0;
    long tick = sysconf(_SC_CLK_TCK);
    DIR *d = opendir("/proc/self/task");
    struct dirent *e;
    ck_assert_ptr_nonnull(d);
    while ((e = readdir(d))) {
        FILE *f;
        int match;
        if (e->d_name[0] == '.') {
            continue;
        }
        snprintf(path, sizeof(path), "/proc/self/task/%s/comm", e->d_name);
        if (!(f = fopen(path, "r"))) {
            continue;
        }
        match = fgets(comm, sizeof(comm), f) && !strncmp(comm, name, strlen(name));
        fclose(f);
        snprintf(path, sizeof(path), "/proc/self/task/%s/stat", e->d_name);
        if (match && (f = fopen(path, "r"))) {
            const char *p;
            unsigned long ut = 0, st = 0;
            if (fgets(stat, sizeof(stat), f) && (p = strrchr(stat, ')')) &&
                sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) ==
                    2) {
                total += (double)(ut + st) / (double)tick;
            }
            fclose(f);
        }
    }
    closedir(d);
    return total;
}

static void lat_alloc(Tc *c, size_t n) {
    pthread_mutex_lock(&tmu);
    c->lat = calloc(n, sizeof(double));
    c->caplat = n;
    pthread_mutex_unlock(&tmu);
}

START_TEST(test_bench_latency_fanout) {
    enum { N = 200, ROWS1 = 2000, ROWS200 = 200, BURST = 2000 };
    StreamConfig cfg = small_config();
    Stream *s;
    int64_t e1, e2, e3;
    Tc *one, *c[N];
    double t0, t1, cpu_srv, cpu_cli;
    cfg.max_clients = N + 8;
    cfg.send_buf_bytes = 1 << 20;
    cfg.backlog_chunk = 256;
    s = server_start(&cfg);
    e1 = exp_new();
    e2 = exp_new();
    e3 = exp_new();
    clients_start(stream_port(s));

    /* one subscriber, one row every 2 ms (each row its own store commit) */
    one = tc_subscribed(e1, 0, TC_AUTH_HEADER);
    lat_alloc(one, ROWS1);
    for (int i = 0; i < ROWS1; i++) {
        rows_add(s, e1, 1, 200);
        ag_time_sleep(0.002);
    }
    ck_assert(tc_wait(one, has_seq, exp_seq(e1, ROWS1), 30));
    lat_report("1 subscriber, commit -> receive", &one, 1);

    /* 200 subscribers, one row every 20 ms */
    for (int i = 0; i < N; i++) {
        c[i] = tc_subscribed(e2, 0, TC_AUTH_HEADER);
    }
    for (int i = 0; i < N; i++) {
        lat_alloc(c[i], ROWS200 + BURST);
    }
    for (int i = 0; i < ROWS200; i++) {
        rows_add(s, e2, 1, 200);
        ag_time_sleep(0.02);
    }
    for (int i = 0; i < N; i++) {
        ck_assert(tc_wait(c[i], has_seq, exp_seq(e2, ROWS200), 30));
    }
    lat_report("200 subscribers, commit -> receive", c, N);

    /* burst: rows as fast as the store takes them, to all 200 */
    for (int i = 0; i < N; i++) {
        char msg[120];
        snprintf(msg, sizeof(msg), "{\"type\":\"subscribe\",\"experiments\":[{\"id\":%lld}]}",
                 (long long)e3);
        tc_send(c[i], msg);
    }
    for (int i = 0; i < N; i++) {
        ck_assert(tc_wait(c[i], is_live, e3, 30));
        pthread_mutex_lock(&tmu);
        c[i]->nlat = 0;
        pthread_mutex_unlock(&tmu);
    }
    cpu_srv = thread_cpu_s("angora-stream");
    cpu_cli = thread_cpu_s("test-clients");
    t0 = ag_time_now();
    for (int i = 0; i < BURST / 50; i++) {
        rows_add(s, e3, 50, 200);
    }
    t1 = ag_time_now();
    for (int i = 0; i < N; i++) {
        ck_assert(tc_wait(c[i], has_seq, exp_seq(e3, BURST), 60));
    }
    printf("burst: %d rows stored in %.3f s; all %d subscribers had them after %.3f s "
           "(%.0f row deliveries/s)\n",
           BURST, t1 - t0, N, ag_time_now() - t0, (double)BURST * N / (ag_time_now() - t0));
    printf("burst CPU: server thread %.2f s, client thread %.2f s\n",
           thread_cpu_s("angora-stream") - cpu_srv, thread_cpu_s("test-clients") - cpu_cli);
    lat_report("burst, 200 subscribers, commit -> receive", c, N);
    clients_stop();
    stream_destroy(s);
}
END_TEST

static Suite *stream_suite(void) {
    Suite *s = suite_create("stream");
    TCase *t = tcase_create("unit");
    TCase *f = tcase_create("fanout"), *b;
    tcase_add_checked_fixture(t, store_setup, store_teardown);
    tcase_set_timeout(t, 60);
    tcase_add_test(t, test_rows_in_order);
    tcase_add_test(t, test_reconnect_since_seq);
    tcase_add_test(t, test_resync_and_live_only);
    tcase_add_test(t, test_subscribe_all_unsubscribe_shutdown);
    tcase_add_test(t, test_gap_filled_from_store);
    tcase_add_test(t, test_queue_overflow_heals);
    tcase_add_test(t, test_token_required);
    tcase_add_test(t, test_client_limit);
    tcase_add_test(t, test_malformed_messages);
    tcase_add_test(t, test_abusive_clients_closed);
    tcase_add_test(t, test_row_larger_than_buffer);
    tcase_add_test(t, test_keepalive_ping_and_hangup);
    tcase_add_test(t, test_create_errors);
    suite_add_tcase(s, t);
    tcase_add_checked_fixture(f, store_setup, store_teardown);
    tcase_set_timeout(f, 240);
    tcase_set_tags(f, "integration");
    tcase_add_test(f, test_fanout_with_stalled_client);
    suite_add_tcase(s, f);
    b = tcase_create("bench");
    tcase_add_checked_fixture(b, store_setup, store_teardown);
    tcase_set_timeout(b, 600);
    tcase_set_tags(b, "bench");
    tcase_add_test(b, test_bench_latency_fanout);
    suite_add_tcase(s, b);
    return s;
}

int main(void) {
    SRunner *sr = srunner_create(stream_suite());
    int failed;
    lws_set_log_level(LLL_ERR, NULL);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
