/* angorad's live websocket stream: the connections (token check at the upgrade, the send and
 * receive callbacks, keepalive), publishing from any thread into the queue, and the life cycle.
 * The per-client side (send buffer, subscriptions, live fan-out, client messages) is in
 * stream_subs.c, the backlogs read from the store in stream_backlog.c. See stream.h for the design
 * and docs/api.md (live stream) for the messages. */
#include "stream.h"

#include "api.h"
#include "stream_int.h"

#include "ag_error.h"
#include "ag_log.h"
#include "ag_time.h"

#include <arpa/inet.h>
#include <errno.h>
#include <jansson.h>
#include <libwebsockets.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define STREAM_REASON_MAX 256
#define STREAM_TOKEN_MAX  160

/* ---- connections ---- */

static int upgrade_allowed(Stream *s, struct lws *wsi) {
    char hdr[STREAM_TOKEN_MAX + 16], arg[STREAM_TOKEN_MAX + 16], hash[65], scope[16], msg[256];
    const char *tok = NULL;
    size_t len;
    int n;
    if (s->nclients >= s->cfg.max_clients || atomic_load(&s->shutdown)) {
        return 0;
    }
    n = lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_AUTHORIZATION);
    if (n > 0) {
        if (n >= (int)sizeof(hdr) ||
            lws_hdr_copy(wsi, hdr, sizeof(hdr), WSI_TOKEN_HTTP_AUTHORIZATION) < 0) {
            return 0;
        }
        if (strncasecmp(hdr, "Bearer ", 7) != 0) {
            return 0;
        }
        tok = hdr + 7;
    } else {
        tok = lws_get_urlarg_by_name(wsi, "token=", arg, sizeof(arg));
    }
    if (!tok) {
        return 0;
    }
    while (*tok == ' ') {
        tok++;
    }
    len = strlen(tok);
    while (len > 0 && tok[len - 1] == ' ') {
        len--;
    }
    if (len == 0 || len > STREAM_TOKEN_MAX || api_sha256_hex(tok, len, hash) != 0) {
        return 0;
    }
    return store_token_lookup(s->store, hash, scope, sizeof(scope), msg, sizeof(msg)) == 0;
}

static int client_open(Stream *s, StreamClient *c, struct lws *wsi) {
    c->wsi = wsi;
    c->cap = s->cfg.send_buf_bytes;
    c->buf = malloc(c->cap);
    c->rx = malloc(s->cfg.max_msg_bytes);
    c->subs = calloc((size_t)s->cfg.max_subs, sizeof(StreamSub));
    if (!c->buf || !c->rx || !c->subs || s->nclients >= s->cfg.max_clients) {
        return -1;
    }
    c->index = s->nclients;
    s->clients[s->nclients++] = c;
    atomic_fetch_add(&s->n_accepted, 1);
    atomic_fetch_add(&s->n_clients, 1);
    stream_client_send_json(
        s, c,
        json_pack("{s:s, s:i, s:I, s:I, s:i}", "type", "hello", "version", STREAM_PROTOCOL_VERSION,
                  "max_message_bytes", (json_int_t)s->cfg.max_msg_bytes, "send_buffer_bytes",
                  (json_int_t)s->cfg.send_buf_bytes, "ping_interval_s", s->cfg.ping_interval_s));
    return 0;
}

static void client_free(Stream *s, StreamClient *c) {
    if (c->index >= 0 && c->index < s->nclients && s->clients[c->index] == c) {
        s->clients[c->index] = s->clients[--s->nclients];
        s->clients[c->index]->index = c->index;
        atomic_fetch_sub(&s->n_clients, 1);
    }
    c->index = -1;
    stream_backlog_client_gone(s, c);
    free(c->buf);
    free(c->rx);
    free(c->subs);
    c->buf = NULL;
    c->rx = NULL;
    c->subs = NULL;
}

/* Frames go out as raw bytes, as many whole frames a write as fit in STREAM_WRITE_BYTES (one
 * send for a few hundred rows, where a write per frame was a send and a poll each). A write never
 * ends inside a frame: lws sends its pings between writes, and keeps the unsent end of a write
 * (when the socket takes only part) ahead of anything else. */
static int client_writeable(Stream *s, StreamClient *c, struct lws *wsi) {
    int writes = 0;
    if (c->close_code) {
        lws_close_reason(wsi, (enum lws_close_status)c->close_code,
                         (unsigned char *)c->close_reason, strlen(c->close_reason));
        return -1;
    }
    while (c->head < c->tail && writes++ < STREAM_WRITES_PER_CALLBACK) {
        size_t n = stream_frame_size(c->buf + c->head);
        while (c->head + n < c->tail) {
            size_t next = stream_frame_size(c->buf + c->head + n);
            if (n + next > STREAM_WRITE_BYTES) {
                break;
            }
            n += next;
        }
        if (lws_write(wsi, c->buf + c->head, n, LWS_WRITE_RAW) < (int)n) {
            return -1;
        }
        c->head += n;
        if (lws_send_pipe_choked(wsi)) {
            break;
        }
    }
    if (c->head == c->tail) {
        c->head = c->tail = 0;
    }
    if (c->fetch_pending) {
        stream_client_fetch(s, c); /* a page read waits for room, or the next is to be asked */
    }
    if (c->head < c->tail || c->close_code) {
        lws_callback_on_writable(wsi);
    }
    return 0;
}

static int client_receive(Stream *s, StreamClient *c, struct lws *wsi, const void *in, size_t len) {
    if (c->close_code) {
        return 0;
    }
    if (lws_frame_is_binary(wsi)) {
        if (lws_is_final_fragment(wsi)) {
            stream_client_bad(s, c, AG_EUNSUPPORTED,
                              "binary messages are not accepted; send JSON text");
        }
        return 0;
    }
    if (c->rx_len + len > s->cfg.max_msg_bytes) {
        atomic_fetch_add(&s->n_bad_messages, 1);
        stream_client_close(s, c, STREAM_CLOSE_TOO_BIG, "message too big");
        return 0;
    }
    memcpy(c->rx + c->rx_len, in, len);
    c->rx_len += len;
    if (!lws_is_final_fragment(wsi) || lws_remaining_packet_payload(wsi) > 0) {
        return 0;
    }
    stream_client_message(s, c, c->rx, c->rx_len);
    c->rx_len = 0;
    return 0;
}

static int stream_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                           size_t len) {
    struct lws_context *ctx = lws_get_context(wsi);
    Stream *s = ctx ? lws_context_user(ctx) : NULL;
    StreamClient *c = user;
    if (!s) {
        return 0;
    }
    switch (reason) {
    case LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION:
        if (!upgrade_allowed(s, wsi)) {
            atomic_fetch_add(&s->n_refused, 1);
            return -1;
        }
        return 0;
    case LWS_CALLBACK_ESTABLISHED:
        if (client_open(s, c, wsi)) {
            client_free(s, c);
            return -1;
        }
        return 0;
    case LWS_CALLBACK_CLOSED:
        client_free(s, c);
        return 0;
    case LWS_CALLBACK_SERVER_WRITEABLE:
        return c && c->buf ? client_writeable(s, c, wsi) : 0;
    case LWS_CALLBACK_RECEIVE:
        return c && c->buf ? client_receive(s, c, wsi, in, len) : 0;
    case LWS_CALLBACK_TIMER:
        if (c && c->buf) {
            c->retry_wait = 0;
            stream_client_fetch(s, c);
        }
        return 0;
    case LWS_CALLBACK_EVENT_WAIT_CANCELLED:
        /* publications first: a live row dropped while its backlog is read must be seen before
         * the page that may end the backlog is taken (stream_backlog.c) */
        stream_queue_process(s);
        stream_backlog_answers(s);
        return 0;
    case LWS_CALLBACK_HTTP:
        /* plain HTTP on the stream port: only upgrades are served */
        if (lws_return_http_status(wsi, HTTP_STATUS_BAD_REQUEST,
                                   "websocket upgrade required (protocol angora-stream)")) {
            return -1;
        }
        return lws_http_transaction_completed(wsi);
    default:
        return 0;
    }
}

/* ---- publishing (any thread) ---- */

static void queue_put(Stream *s, uint32_t kind, int64_t exp_id, int64_t seq, const char *a,
                      size_t alen, const char *b, size_t blen) {
    StreamQHdr h = {exp_id, seq, kind, (uint32_t)(alen + blen)};
    size_t need = sizeof(h) + alen + blen;
    int ok = 0;
    pthread_mutex_lock(&s->mu);
    if (s->q_in_len + need <= s->cfg.queue_bytes) {
        memcpy(s->q_in + s->q_in_len, &h, sizeof(h));
        memcpy(s->q_in + s->q_in_len + sizeof(h), a, alen);
        if (blen) {
            memcpy(s->q_in + s->q_in_len + sizeof(h) + alen, b, blen);
        }
        s->q_in_len += need;
        ok = 1;
    } else {
        s->q_overflow = 1;
    }
    pthread_mutex_unlock(&s->mu);
    if (!ok) {
        atomic_fetch_add(&s->n_queue_overflows, 1);
    }
    lws_cancel_service(s->ctx);
}

void stream_publish_row(Stream *s, int64_t exp_id, int64_t seq, const char *row_json, size_t len) {
    if (!s || !row_json || exp_id <= 0) {
        return;
    }
    atomic_fetch_add(&s->n_rows_published, 1);
    queue_put(s, QMSG_ROW, exp_id, seq, row_json, len, NULL, 0);
}

void stream_publish_state(Stream *s, int64_t exp_id, const char *state, const char *reason) {
    char st[STORE_STATE_MAX], rs[STREAM_REASON_MAX];
    if (!s || !state || exp_id <= 0) {
        return;
    }
    snprintf(st, sizeof(st), "%s", state);
    snprintf(rs, sizeof(rs), "%s", reason ? reason : "");
    queue_put(s, QMSG_STATE, exp_id, 0, st, strlen(st) + 1, rs, strlen(rs) + 1);
}

/* ---- life cycle ---- */

static void *stream_thread(void *arg) {
    Stream *s = arg;
    pthread_setname_np(pthread_self(), "angora-stream");
    while (!atomic_load(&s->stop)) {
        if (lws_service(s->ctx, 0) < 0) {
            break;
        }
        if (atomic_load(&s->shutdown) && s->nclients == 0) {
            break;
        }
    }
    atomic_store(&s->done, 1);
    return NULL;
}

static void lws_log_emit(int level, const char *line) {
    size_t n = strlen(line);
    while (n > 0 && line[n - 1] == '\n') {
        n--;
    }
    ag_log(level == LLL_ERR ? AG_LOG_ERROR : AG_LOG_WARN, "lws: %.*s", (int)n, line);
}

/* tries the address first: a clear message, and lws leaks when its own bind fails */
static int bind_check(const char *addr, int port, char *err, size_t err_sz) {
    struct sockaddr_in a4;
    struct sockaddr_in6 a6;
    struct sockaddr *sa;
    socklen_t len;
    int fd, one = 1, rc = 0;
    memset(&a4, 0, sizeof(a4));
    memset(&a6, 0, sizeof(a6));
    if (inet_pton(AF_INET, addr, &a4.sin_addr) == 1) {
        a4.sin_family = AF_INET;
        a4.sin_port = htons((uint16_t)port);
        sa = (struct sockaddr *)&a4;
        len = sizeof(a4);
    } else if (inet_pton(AF_INET6, addr, &a6.sin6_addr) == 1) {
        a6.sin6_family = AF_INET6;
        a6.sin6_port = htons((uint16_t)port);
        sa = (struct sockaddr *)&a6;
        len = sizeof(a6);
    } else {
        return ag_errorf(err, err_sz, AG_EINVAL, "stream: bind address \"%s\" is not an IP address",
                         addr);
    }
    fd = socket(sa->sa_family, SOCK_STREAM, 0);
    if (fd < 0) {
        return ag_errorf(err, err_sz, AG_EIO, "stream: socket: %s", strerror(errno));
    }
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (bind(fd, sa, len) != 0) {
        rc = ag_errorf(err, err_sz, AG_EIO, "stream: cannot listen on %s:%d: %s", addr, port,
                       strerror(errno));
    }
    close(fd);
    return rc;
}

static void config_fill(StreamConfig *c) {
    if (c->max_clients <= 0) {
        c->max_clients = 256;
    }
    if (!c->send_buf_bytes) {
        c->send_buf_bytes = 1 << 20;
    }
    if (!c->max_msg_bytes) {
        c->max_msg_bytes = 4096;
    }
    if (!c->queue_bytes) {
        c->queue_bytes = 4 << 20;
    }
    if (c->max_subs <= 0) {
        c->max_subs = 64;
    }
    if (c->backlog_chunk <= 0) {
        c->backlog_chunk = 256;
    }
    if (c->ping_interval_s <= 0) {
        c->ping_interval_s = 30;
    }
    if (c->slow_grace_s <= 0) {
        c->slow_grace_s = 5;
    }
}

int stream_create(Stream **out, const StreamConfig *cfg, Store *store, char *err, size_t err_sz) {
    struct lws_context_creation_info info;
    Stream *s = NULL;
    int rc = 0;
    *out = NULL;
    if (!cfg || !store) {
        return ag_errorf(err, err_sz, AG_EINVAL, "stream: a configuration and a store are needed");
    }
    if (cfg->port < 0 || cfg->port > 65535) {
        return ag_errorf(err, err_sz, AG_ERANGE, "stream: port %d is not in 0..65535", cfg->port);
    }
    s = calloc(1, sizeof(*s));
    if (!s) {
        return ag_errorf(err, err_sz, AG_ENOMEM, "stream: out of memory");
    }
    s->cfg = *cfg;
    config_fill(&s->cfg);
    if (s->cfg.max_msg_bytes > (1u << 20) || s->cfg.send_buf_bytes < 4096 ||
        s->cfg.queue_bytes < 4096 || s->cfg.queue_bytes > (1u << 30) ||
        s->cfg.max_clients > 65536 || s->cfg.ping_interval_s > 3600) {
        rc = ag_errorf(err, err_sz, AG_ERANGE,
                       "stream: limits out of range (messages <= 1 MiB, send buffer and queue "
                       ">= 4 KiB, queue <= 1 GiB, clients <= 65536, ping <= 3600 s)");
        goto out;
    }
    snprintf(s->bind, sizeof(s->bind), "%s", cfg->bind && *cfg->bind ? cfg->bind : "127.0.0.1");
    s->cfg.bind = s->bind;
    s->store = store;
    pthread_mutex_init(&s->mu, NULL);
    s->mu_init = 1;
    s->q_in = malloc(s->cfg.queue_bytes);
    s->q_out = malloc(s->cfg.queue_bytes);
    s->scratch_cap = s->cfg.queue_bytes + 128;
    s->scratch = malloc(s->scratch_cap);
    s->clients = calloc((size_t)s->cfg.max_clients, sizeof(*s->clients));
    if (!s->q_in || !s->q_out || !s->scratch || !s->clients) {
        rc = ag_errorf(err, err_sz, AG_ENOMEM, "stream: out of memory");
        goto out;
    }

    s->protocols[0].name = STREAM_PROTOCOL_NAME;
    s->protocols[0].callback = stream_callback;
    s->protocols[0].per_session_data_size = sizeof(StreamClient);
    s->protocols[0].rx_buffer_size = s->cfg.max_msg_bytes;
    s->protocols[0].tx_packet_size = STREAM_WRITE_BYTES;
    s->retry.secs_since_valid_ping = (uint16_t)s->cfg.ping_interval_s;
    s->retry.secs_since_valid_hangup = (uint16_t)(3 * s->cfg.ping_interval_s);

    if ((rc = bind_check(s->bind, s->cfg.port, err, err_sz))) {
        goto out;
    }
    lws_set_log_level(LLL_ERR, lws_log_emit);
    memset(&info, 0, sizeof(info));
    info.port = s->cfg.port;
    info.iface = s->bind;
    info.protocols = s->protocols;
    info.user = s;
    info.options = LWS_SERVER_OPTION_VALIDATE_UTF8 | LWS_SERVER_OPTION_DISABLE_IPV6;
    if (strchr(s->bind, ':')) {
        info.options &= ~(uint64_t)LWS_SERVER_OPTION_DISABLE_IPV6;
    }
    info.retry_and_idle_policy = &s->retry;
    info.count_threads = 1;
    info.fd_limit_per_thread = (unsigned)s->cfg.max_clients + 32;
    s->ctx = lws_create_context(&info);
    if (!s->ctx) {
        rc = ag_errorf(err, err_sz, AG_EIO, "stream: cannot listen on %s:%d", s->bind, s->cfg.port);
        goto out;
    }
    s->port = lws_get_vhost_listen_port(lws_get_vhost_by_name(s->ctx, "default"));
    if (s->port <= 0) {
        rc = ag_errorf(err, err_sz, AG_EIO, "stream: no listening port on %s:%d", s->bind,
                       s->cfg.port);
        goto out;
    }
    if ((rc = stream_backlog_start(s, err, err_sz))) {
        goto out;
    }
    if (pthread_create(&s->thread, NULL, stream_thread, s) != 0) {
        rc = ag_errorf(err, err_sz, AG_EIO, "stream: cannot start the service thread");
        goto out;
    }
    s->thread_started = 1;
    if (strchr(s->bind, ':')) {
        ag_log_info("stream: listening on ws://[%s]:%d", s->bind, s->port);
    } else {
        ag_log_info("stream: listening on ws://%s:%d", s->bind, s->port);
    }
    *out = s;
out:
    if (rc) {
        stream_destroy(s);
    }
    return rc;
}

int stream_port(const Stream *s) {
    return s ? s->port : -1;
}

void stream_stats_get(Stream *s, StreamStats *out) {
    memset(out, 0, sizeof(*out));
    if (!s) {
        return;
    }
    out->accepted = atomic_load(&s->n_accepted);
    out->refused = atomic_load(&s->n_refused);
    out->rows_published = atomic_load(&s->n_rows_published);
    out->rows_sent = atomic_load(&s->n_rows_sent);
    out->backlog_rows = atomic_load(&s->n_backlog_rows);
    out->slow_closed = atomic_load(&s->n_slow_closed);
    out->queue_overflows = atomic_load(&s->n_queue_overflows);
    out->bad_messages = atomic_load(&s->n_bad_messages);
    out->clients = atomic_load(&s->n_clients);
    out->backlog_reads = atomic_load(&s->n_backlog_reads);
    out->backlog_bytes = (uint64_t)atomic_load(&s->n_backlog_bytes);
}

void stream_destroy(Stream *s) {
    if (!s) {
        return;
    }
    if (s->thread_started) {
        /* close every client with 1001, give them a moment, then stop */
        double deadline = ag_time_now() + 2.0;
        atomic_store(&s->shutdown, 1);
        while (!atomic_load(&s->done) && ag_time_now() < deadline) {
            lws_cancel_service(s->ctx);
            ag_time_sleep(0.01);
        }
        atomic_store(&s->stop, 1);
        lws_cancel_service(s->ctx);
        pthread_join(s->thread, NULL);
    }
    /* the worker before the context (it wakes the service thread), its pages after the clients
     * (a page in work is freed once its client is gone) */
    stream_backlog_stop(s);
    if (s->ctx) {
        lws_context_destroy(s->ctx);
    }
    stream_backlog_free(s);
    if (s->mu_init) {
        pthread_mutex_destroy(&s->mu);
    }
    free(s->q_in);
    free(s->q_out);
    free(s->scratch);
    free(s->clients);
    free(s);
}
