/* angorad's live websocket stream: token check at the upgrade, subscriptions with since_seq,
 * backlog from the store, live fan-out of rows and state changes, bounded per-client send
 * buffers and keepalive. See stream.h for the design and docs/api.md (live stream) for the
 * messages. */
#include "stream.h"

#include "api.h"

#include "ag_error.h"
#include "ag_log.h"
#include "ag_time.h"

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <libwebsockets.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

enum { QMSG_ROW = 1, QMSG_STATE = 2 };

#define STREAM_REASON_MAX 256
#define STREAM_TOKEN_MAX  160
#define STREAM_BAD_MAX    32 /* malformed messages before a client is closed */
#define FRAME_HDR         (sizeof(uint32_t) + LWS_PRE)
#define CONTROL_RESERVE   1024 /* room a backlog read leaves for the messages that follow it */

/* one publication in the queue, followed by len bytes of payload */
typedef struct StreamQHdr {
    int64_t exp_id;
    int64_t seq;
    uint32_t kind;
    uint32_t len;
} StreamQHdr;

/* what one client knows of one experiment */
typedef struct StreamSub {
    int64_t exp_id;
    int64_t last_seq;  /* last seq queued to the client */
    uint64_t used;     /* recency, for replacing entries in "all" mode */
    int catching_up;   /* rows come from the store until it has no more */
    int announce_live; /* send "live" when the first catch-up ends */
    char state[STORE_STATE_MAX];
} StreamSub;

/* per-connection data (lws allocates it zeroed with the wsi) */
typedef struct StreamClient {
    struct lws *wsi;
    int index; /* in Stream.clients; -1 when not registered */
    /* frames: [u32 len][LWS_PRE][payload], head..tail, compacted when the end is reached */
    unsigned char *buf;
    size_t cap, head, tail;
    char *rx;
    size_t rx_len;
    StreamSub *subs;
    int nsubs;
    int all;
    int fetch_pending;
    int retry_wait; /* the store failed; a timer retries */
    int bad;
    int close_code;
    char close_reason[64];
    uint64_t tick;
} StreamClient;

struct Stream {
    StreamConfig cfg;
    char bind[64];
    Store *store;
    struct lws_context *ctx;
    struct lws_protocols protocols[2];
    lws_retry_bo_t retry;
    pthread_t thread;
    int thread_started;
    int port;
    atomic_int stop;
    atomic_int shutdown;
    atomic_int done;
    /* publish queue: producers append to q_in, the service thread swaps it with q_out */
    pthread_mutex_t mu;
    int mu_init;
    unsigned char *q_in, *q_out;
    size_t q_in_len;
    int q_overflow;
    /* service thread only */
    StreamClient **clients;
    int nclients;
    char *scratch;
    size_t scratch_cap;
    uint64_t tick;
    /* counters */
    atomic_uint_fast64_t n_clients, n_accepted, n_refused, n_rows_published, n_rows_sent,
        n_backlog_rows, n_slow_closed, n_queue_overflows, n_bad_messages;
};

/* ---- per-client send buffer ---- */

/* AG_ETOOBIG: can never fit; AG_EBUSY: full now (the client is too slow) */
static int client_push(StreamClient *c, const char *msg, size_t len) {
    size_t need = FRAME_HDR + len, used;
    uint32_t l = (uint32_t)len;
    if (c->close_code) {
        return 0; /* closing: nothing more goes out */
    }
    if (need > c->cap) {
        return AG_ETOOBIG;
    }
    if (c->cap - c->tail < need) {
        used = c->tail - c->head;
        if (c->cap - used < need) {
            return AG_EBUSY;
        }
        memmove(c->buf, c->buf + c->head, used);
        c->head = 0;
        c->tail = used;
    }
    memcpy(c->buf + c->tail, &l, sizeof(l));
    memcpy(c->buf + c->tail + FRAME_HDR, msg, len);
    c->tail += need;
    lws_callback_on_writable(c->wsi);
    return 0;
}

static size_t client_used(const StreamClient *c) {
    return c->tail - c->head;
}

static void client_close(Stream *s, StreamClient *c, int code, const char *reason) {
    if (c->close_code) {
        return;
    }
    c->close_code = code;
    snprintf(c->close_reason, sizeof(c->close_reason), "%s", reason);
    /* the close frame goes next; what was queued is dropped */
    c->head = c->tail = 0;
    lws_callback_on_writable(c->wsi);
    lws_set_timeout(c->wsi, PENDING_TIMEOUT_USER_OK, s->cfg.slow_grace_s);
}

static void client_slow(Stream *s, StreamClient *c) {
    if (c->close_code) {
        return;
    }
    atomic_fetch_add(&s->n_slow_closed, 1);
    ag_log_warn("stream: closing a client too slow to keep up (%zu bytes queued)", client_used(c));
    client_close(s, c, STREAM_CLOSE_SLOW, "too slow: send buffer full");
}

/* sends a JSON object and frees it; a full buffer closes the client */
static void client_send_json(Stream *s, StreamClient *c, json_t *o) {
    char *text;
    int rc;
    if (!o) {
        return;
    }
    text = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    if (!text) {
        return;
    }
    rc = client_push(c, text, strlen(text));
    free(text);
    if (rc) {
        client_slow(s, c);
    }
}

static void client_send_error(Stream *s, StreamClient *c, int code, int64_t exp_id,
                              const char *msg) {
    json_t *o =
        json_pack("{s:s, s:s, s:s}", "type", "error", "code", ag_error_name(code), "message", msg);
    if (o && exp_id > 0) {
        json_object_set_new(o, "exp", json_integer(exp_id));
    }
    client_send_json(s, c, o);
}

/* ---- subscriptions ---- */

static StreamSub *sub_find(StreamClient *c, int64_t exp_id) {
    for (int i = 0; i < c->nsubs; i++) {
        if (c->subs[i].exp_id == exp_id) {
            return &c->subs[i];
        }
    }
    return NULL;
}

/* a new entry; in "all" mode a full table gives up its least recently used entry */
static StreamSub *sub_add(Stream *s, StreamClient *c, int64_t exp_id, int64_t last_seq) {
    StreamSub *sub;
    if (c->nsubs < s->cfg.max_subs) {
        sub = &c->subs[c->nsubs++];
    } else {
        if (!c->all) {
            return NULL;
        }
        sub = NULL;
        for (int i = 0; i < c->nsubs; i++) {
            if (!c->subs[i].catching_up && (!sub || c->subs[i].used < sub->used)) {
                sub = &c->subs[i];
            }
        }
        if (!sub) {
            return NULL;
        }
    }
    memset(sub, 0, sizeof(*sub));
    sub->exp_id = exp_id;
    sub->last_seq = last_seq;
    sub->used = ++c->tick;
    return sub;
}

static void sub_remove(StreamClient *c, int64_t exp_id) {
    StreamSub *sub = sub_find(c, exp_id);
    if (sub) {
        *sub = c->subs[--c->nsubs];
    }
}

/* a row message for the client: {"type":"row","exp":E,"seq":S,"row":{...}} in s->scratch */
static size_t row_format(Stream *s, int64_t exp_id, int64_t seq, const char *row, size_t len) {
    int n =
        snprintf(s->scratch, s->scratch_cap,
                 "{\"type\":\"row\",\"exp\":%" PRId64 ",\"seq\":%" PRId64 ",\"row\":", exp_id, seq);
    if (n < 0 || (size_t)n + len + 2 > s->scratch_cap) {
        return 0;
    }
    memcpy(s->scratch + n, row, len);
    s->scratch[n + len] = '}';
    s->scratch[n + len + 1] = '\0';
    return (size_t)n + len + 1;
}

/* a row longer than the whole send buffer is announced instead of sent */
static void client_row_too_big(Stream *s, StreamClient *c, StreamSub *sub, int64_t seq) {
    char msg[160];
    snprintf(msg, sizeof(msg), "row %" PRId64 " is larger than the send buffer and was skipped",
             seq);
    client_send_error(s, c, AG_ETOOBIG, sub->exp_id, msg);
    sub->last_seq = seq;
}

typedef struct FetchCtx {
    Stream *s;
    StreamClient *c;
    StreamSub *sub;
    int64_t rows;
    int full;
} FetchCtx;

static int fetch_row(void *ctx, int64_t seq, const char *row, size_t len) {
    FetchCtx *f = ctx;
    size_t n = row_format(f->s, f->sub->exp_id, seq, row, len);
    int rc = AG_ETOOBIG;
    if (n && client_used(f->c) > 0 &&
        FRAME_HDR + n + CONTROL_RESERVE > f->c->cap - client_used(f->c)) {
        rc = AG_EBUSY;
    } else if (n) {
        rc = client_push(f->c, f->s->scratch, n);
    }
    if (rc == AG_EBUSY) {
        f->full = 1;
        return 1; /* stop here; the rest comes once the client has read */
    }
    f->rows++;
    if (rc == AG_ETOOBIG) {
        client_row_too_big(f->s, f->c, f->sub, seq);
        return 0;
    }
    f->sub->last_seq = seq;
    atomic_fetch_add(&f->s->n_rows_sent, 1);
    atomic_fetch_add(&f->s->n_backlog_rows, 1);
    return 0;
}

/* the end of a catch-up: announce it once, then any state change the client has not seen */
static void sub_caught_up(Stream *s, StreamClient *c, StreamSub *sub) {
    StoreRun run;
    char msg[256];
    sub->catching_up = 0;
    if (sub->announce_live) {
        sub->announce_live = 0;
        client_send_json(s, c,
                         json_pack("{s:s, s:I, s:I}", "type", "live", "exp",
                                   (json_int_t)sub->exp_id, "seq", (json_int_t)sub->last_seq));
    }
    if (store_run_get(s->store, sub->exp_id, &run, msg, sizeof(msg)) == 0 &&
        strcmp(run.state, sub->state) != 0) {
        snprintf(sub->state, sizeof(sub->state), "%s", run.state);
        client_send_json(s, c,
                         json_pack("{s:s, s:I, s:s, s:s}", "type", "state", "exp",
                                   (json_int_t)sub->exp_id, "state", run.state, "reason", ""));
    }
}

/* reads the store for every subscription that is catching up, while the buffer has room */
static void client_fetch(Stream *s, StreamClient *c) {
    char msg[256];
    int pending = 0;
    if (c->close_code || c->retry_wait) {
        return;
    }
    for (int i = 0; i < c->nsubs; i++) {
        StreamSub *sub = &c->subs[i];
        FetchCtx f = {s, c, sub, 0, 0};
        int rc = 0;
        while (sub->catching_up && !c->close_code) {
            if (client_used(c) > c->cap / 2) {
                pending = 1;
                break;
            }
            f.rows = 0;
            f.full = 0;
            rc = store_metric_rows(s->store, sub->exp_id, sub->last_seq, s->cfg.backlog_chunk,
                                   fetch_row, &f, msg, sizeof(msg));
            if (rc < 0) {
                /* the store is busy or broken: tell the client and retry in a second */
                client_send_error(s, c, rc, sub->exp_id, msg);
                c->retry_wait = 1;
                lws_set_timer_usecs(c->wsi, 1000000);
                pending = 1;
                break;
            }
            if (f.full) {
                pending = 1;
                break;
            }
            if (f.rows < s->cfg.backlog_chunk) {
                sub_caught_up(s, c, sub);
            }
        }
        if (c->retry_wait) {
            break;
        }
    }
    for (int i = 0; i < c->nsubs && !pending; i++) {
        pending = c->subs[i].catching_up;
    }
    c->fetch_pending = pending;
}

static void sub_start_catch_up(StreamClient *c, StreamSub *sub) {
    sub->catching_up = 1;
    c->fetch_pending = 1;
    lws_callback_on_writable(c->wsi);
}

/* ---- live publications (service thread) ---- */

static void client_on_row(Stream *s, StreamClient *c, int64_t exp_id, int64_t seq, const char *msg,
                          size_t len) {
    StreamSub *sub = sub_find(c, exp_id);
    int rc;
    if (c->close_code) {
        return;
    }
    if (!sub) {
        if (!c->all || !(sub = sub_add(s, c, exp_id, seq - 1))) {
            return;
        }
        sub->announce_live = 0;
    }
    sub->used = ++c->tick;
    if (sub->catching_up || seq <= sub->last_seq) {
        return; /* the store read delivers it, or it was sent already */
    }
    if (seq > sub->last_seq + 1) {
        sub_start_catch_up(c, sub); /* a gap: read it from the store */
        return;
    }
    rc = client_push(c, msg, len);
    if (rc == AG_EBUSY) {
        client_slow(s, c);
        return;
    }
    if (rc == AG_ETOOBIG) {
        client_row_too_big(s, c, sub, seq);
        return;
    }
    sub->last_seq = seq;
    atomic_fetch_add(&s->n_rows_sent, 1);
}

static void client_on_state(Stream *s, StreamClient *c, int64_t exp_id, const char *state,
                            const char *msg, size_t len) {
    StreamSub *sub = sub_find(c, exp_id);
    if (c->close_code || (!sub && !c->all)) {
        return;
    }
    if (sub) {
        /* while catching up, the state is compared with the store when the rows are in */
        if (sub->catching_up) {
            return;
        }
        snprintf(sub->state, sizeof(sub->state), "%s", state);
    }
    if (client_push(c, msg, len) == AG_EBUSY) {
        client_slow(s, c);
    }
}

static void queue_process(Stream *s) {
    unsigned char *t;
    size_t n, off = 0;
    int overflow;
    pthread_mutex_lock(&s->mu);
    t = s->q_in;
    s->q_in = s->q_out;
    s->q_out = t;
    n = s->q_in_len;
    s->q_in_len = 0;
    overflow = s->q_overflow;
    s->q_overflow = 0;
    pthread_mutex_unlock(&s->mu);

    while (off + sizeof(StreamQHdr) <= n) {
        StreamQHdr h;
        const char *p;
        memcpy(&h, s->q_out + off, sizeof(h));
        p = (const char *)s->q_out + off + sizeof(h);
        off += sizeof(h) + h.len;
        if (h.kind == QMSG_ROW) {
            size_t len = row_format(s, h.exp_id, h.seq, p, h.len);
            if (!len) {
                continue;
            }
            for (int i = 0; i < s->nclients; i++) {
                client_on_row(s, s->clients[i], h.exp_id, h.seq, s->scratch, len);
            }
        } else if (h.kind == QMSG_STATE) {
            /* payload: state NUL reason NUL */
            const char *reason = p + strlen(p) + 1;
            json_t *o = json_pack("{s:s, s:I, s:s, s:s}", "type", "state", "exp",
                                  (json_int_t)h.exp_id, "state", p, "reason", reason);
            char *text = o ? json_dumps(o, JSON_COMPACT) : NULL;
            json_decref(o);
            if (!text) {
                continue;
            }
            for (int i = 0; i < s->nclients; i++) {
                client_on_state(s, s->clients[i], h.exp_id, p, text, strlen(text));
            }
            free(text);
        }
    }
    if (overflow) {
        /* publications were dropped: everyone re-reads the store from their last seq */
        for (int i = 0; i < s->nclients; i++) {
            StreamClient *c = s->clients[i];
            for (int j = 0; j < c->nsubs; j++) {
                sub_start_catch_up(c, &c->subs[j]);
            }
        }
    }
    if (atomic_load(&s->shutdown)) {
        for (int i = 0; i < s->nclients; i++) {
            client_close(s, s->clients[i], STREAM_CLOSE_GOING_AWAY, "server shutting down");
        }
    }
}

/* ---- client messages ---- */

static void client_bad(Stream *s, StreamClient *c, int code, const char *msg) {
    atomic_fetch_add(&s->n_bad_messages, 1);
    client_send_error(s, c, code, 0, msg);
    if (++c->bad >= STREAM_BAD_MAX) {
        client_close(s, c, STREAM_CLOSE_POLICY, "too many malformed messages");
    }
}

static void client_subscribe(Stream *s, StreamClient *c, json_t *msg) {
    json_t *exps = json_object_get(msg, "experiments"), *all = json_object_get(msg, "all"), *e;
    size_t i;
    char err[256];
    if (all && !json_is_boolean(all)) {
        client_bad(s, c, AG_EINVAL, "subscribe: \"all\" must be true or false");
        return;
    }
    if (exps && !json_is_array(exps)) {
        client_bad(s, c, AG_EINVAL, "subscribe: \"experiments\" must be an array");
        return;
    }
    if (!json_is_true(all) && json_array_size(exps) == 0) {
        client_bad(s, c, AG_EINVAL,
                   "subscribe: give \"experiments\": [{\"id\": N, \"since_seq\": S}] "
                   "or \"all\": true");
        return;
    }
    /* check every entry before acting on any */
    json_array_foreach(exps, i, e) {
        json_t *id = json_object_get(e, "id"), *since = json_object_get(e, "since_seq");
        if (!json_is_object(e) || !json_is_integer(id) || json_integer_value(id) <= 0) {
            snprintf(err, sizeof(err), "subscribe: experiments[%zu].id must be a positive integer",
                     i);
            client_bad(s, c, AG_EINVAL, err);
            return;
        }
        if (since && (!json_is_integer(since) || json_integer_value(since) < -1)) {
            snprintf(err, sizeof(err),
                     "subscribe: experiments[%zu].since_seq must be an integer >= -1", i);
            client_bad(s, c, AG_EINVAL, err);
            return;
        }
    }
    if (json_is_true(all) && !c->all) {
        c->all = 1;
        client_send_json(s, c, json_pack("{s:s, s:b}", "type", "subscribed", "all", 1));
    }
    json_array_foreach(exps, i, e) {
        int64_t id = json_integer_value(json_object_get(e, "id"));
        json_t *since_j = json_object_get(e, "since_seq");
        int64_t since = since_j ? json_integer_value(since_j) : 0;
        StreamSub *sub;
        StoreRun run;
        int rc = store_run_get(s->store, id, &run, err, sizeof(err));
        if (rc) {
            client_send_error(s, c, rc, id, err);
            continue;
        }
        sub = sub_find(c, id);
        if (!sub && !(sub = sub_add(s, c, id, 0))) {
            snprintf(err, sizeof(err), "subscribe: at most %d experiments per connection",
                     s->cfg.max_subs);
            client_send_error(s, c, AG_ERANGE, id, err);
            continue;
        }
        if (since > run.last_seq) {
            /* the client's series is not this one (store replaced or id reused): restart */
            client_send_json(s, c,
                             json_pack("{s:s, s:I, s:I, s:I, s:s}", "type", "resync", "exp",
                                       (json_int_t)id, "since_seq", (json_int_t)since, "last_seq",
                                       (json_int_t)run.last_seq, "reason",
                                       "since_seq is ahead of the stored series; "
                                       "the series is sent again from the start"));
            since = 0;
        }
        sub->last_seq = since < 0 ? run.last_seq : since;
        sub->announce_live = 1;
        sub->used = ++c->tick;
        snprintf(sub->state, sizeof(sub->state), "%s", run.state);
        client_send_json(s, c,
                         json_pack("{s:s, s:I, s:I, s:I, s:s}", "type", "subscribed", "exp",
                                   (json_int_t)id, "since_seq", (json_int_t)sub->last_seq,
                                   "last_seq", (json_int_t)run.last_seq, "state", run.state));
        sub_start_catch_up(c, sub);
    }
    client_fetch(s, c);
}

static void client_unsubscribe(Stream *s, StreamClient *c, json_t *msg) {
    json_t *exps = json_object_get(msg, "experiments"), *all = json_object_get(msg, "all"), *e;
    size_t i;
    if ((all && !json_is_boolean(all)) || (exps && !json_is_array(exps)) ||
        (!json_is_true(all) && json_array_size(exps) == 0)) {
        client_bad(s, c, AG_EINVAL, "unsubscribe: give \"experiments\": [ids] or \"all\": true");
        return;
    }
    json_array_foreach(exps, i, e) {
        if (!json_is_integer(e) || json_integer_value(e) <= 0) {
            client_bad(s, c, AG_EINVAL, "unsubscribe: experiments must be positive integers");
            return;
        }
    }
    if (json_is_true(all)) {
        c->all = 0;
        c->nsubs = 0;
        client_send_json(s, c, json_pack("{s:s, s:b}", "type", "unsubscribed", "all", 1));
    }
    json_array_foreach(exps, i, e) {
        sub_remove(c, json_integer_value(e));
        client_send_json(s, c,
                         json_pack("{s:s, s:I}", "type", "unsubscribed", "exp",
                                   (json_int_t)json_integer_value(e)));
    }
}

static void client_message(Stream *s, StreamClient *c, const char *text, size_t len) {
    json_error_t jerr;
    json_t *msg = json_loadb(text, len, 0, &jerr), *type;
    char err[256];
    if (!msg) {
        snprintf(err, sizeof(err), "malformed JSON at line %d column %d: %s", jerr.line,
                 jerr.column, jerr.text);
        client_bad(s, c, AG_EJSON, err);
        return;
    }
    type = json_object_get(msg, "type");
    if (!json_is_object(msg) || !json_is_string(type)) {
        client_bad(s, c, AG_EPROTOCOL, "a message is a JSON object with a string \"type\"");
    } else if (!strcmp(json_string_value(type), "subscribe")) {
        client_subscribe(s, c, msg);
    } else if (!strcmp(json_string_value(type), "unsubscribe")) {
        client_unsubscribe(s, c, msg);
    } else if (!strcmp(json_string_value(type), "ping")) {
        client_send_json(s, c, json_pack("{s:s}", "type", "pong"));
    } else {
        snprintf(err, sizeof(err),
                 "unknown message type \"%.64s\" (subscribe, unsubscribe or ping)",
                 json_string_value(type));
        client_bad(s, c, AG_EPROTOCOL, err);
    }
    json_decref(msg);
}

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
    client_send_json(
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
    free(c->buf);
    free(c->rx);
    free(c->subs);
    c->buf = NULL;
    c->rx = NULL;
    c->subs = NULL;
}

static int client_writeable(Stream *s, StreamClient *c, struct lws *wsi) {
    int sent = 0;
    if (c->close_code) {
        lws_close_reason(wsi, (enum lws_close_status)c->close_code,
                         (unsigned char *)c->close_reason, strlen(c->close_reason));
        return -1;
    }
    while (c->head < c->tail) {
        uint32_t l;
        memcpy(&l, c->buf + c->head, sizeof(l));
        if (lws_write(wsi, c->buf + c->head + FRAME_HDR, l, LWS_WRITE_TEXT) < (int)l) {
            return -1;
        }
        c->head += FRAME_HDR + l;
        if (++sent >= 64 || lws_send_pipe_choked(wsi)) {
            break;
        }
    }
    if (c->head == c->tail) {
        c->head = c->tail = 0;
    }
    if (c->fetch_pending && client_used(c) <= c->cap / 2) {
        client_fetch(s, c);
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
            client_bad(s, c, AG_EUNSUPPORTED, "binary messages are not accepted; send JSON text");
        }
        return 0;
    }
    if (c->rx_len + len > s->cfg.max_msg_bytes) {
        atomic_fetch_add(&s->n_bad_messages, 1);
        client_close(s, c, STREAM_CLOSE_TOO_BIG, "message too big");
        return 0;
    }
    memcpy(c->rx + c->rx_len, in, len);
    c->rx_len += len;
    if (!lws_is_final_fragment(wsi) || lws_remaining_packet_payload(wsi) > 0) {
        return 0;
    }
    client_message(s, c, c->rx, c->rx_len);
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
            client_fetch(s, c);
        }
        return 0;
    case LWS_CALLBACK_EVENT_WAIT_CANCELLED:
        queue_process(s);
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
    if (s->ctx) {
        lws_context_destroy(s->ctx);
    }
    if (s->mu_init) {
        pthread_mutex_destroy(&s->mu);
    }
    free(s->q_in);
    free(s->q_out);
    free(s->scratch);
    free(s->clients);
    free(s);
}
