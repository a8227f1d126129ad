/* The live stream's per-client side, run by the service thread: the bounded send buffer,
 * subscriptions with since_seq (their backlog is read by stream_backlog.c), the fan-out of live
 * rows and state changes, and the messages clients send. See stream.h for the design and
 * docs/api.md (live stream) for the messages. */
#include "stream_int.h"

#include "ag_error.h"
#include "ag_log.h"

#include <inttypes.h>
#include <jansson.h>
#include <libwebsockets.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define STREAM_BAD_MAX 32 /* malformed messages before a client is closed */

/* ---- per-client send buffer ---- */

int stream_client_room(StreamClient *c, size_t need) {
    size_t used = c->tail - c->head;
    if (c->cap - c->tail >= need) {
        return 1;
    }
    if (c->cap - used < need) {
        return 0;
    }
    memmove(c->buf, c->buf + c->head, used);
    c->head = 0;
    c->tail = used;
    return 1;
}

/* the message as a frame at the end of the send buffer. AG_ETOOBIG: can never fit; AG_EBUSY:
 * full now (the client is too slow) */
static int client_push(StreamClient *c, const char *msg, size_t len) {
    unsigned char hdr[FRAME_HDR_MAX];
    size_t h = stream_frame_header(hdr, len);
    if (c->close_code) {
        return 0; /* closing: nothing more goes out */
    }
    if (h + len > c->cap) {
        return AG_ETOOBIG;
    }
    if (!stream_client_room(c, h + len)) {
        return AG_EBUSY;
    }
    memcpy(c->buf + c->tail, hdr, h);
    memcpy(c->buf + c->tail + h, msg, len);
    c->tail += h + len;
    lws_callback_on_writable(c->wsi);
    return 0;
}

void stream_client_close(Stream *s, StreamClient *c, int code, const char *reason) {
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
    ag_log_warn("stream: closing a client too slow to keep up (%zu bytes queued)",
                stream_client_used(c));
    stream_client_close(s, c, STREAM_CLOSE_SLOW, "too slow: send buffer full");
}

/* sends a JSON object and frees it; a full buffer closes the client */
void stream_client_send_json(Stream *s, StreamClient *c, json_t *o) {
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

void stream_client_send_error(Stream *s, StreamClient *c, int code, int64_t exp_id,
                              const char *msg) {
    json_t *o =
        json_pack("{s:s, s:s, s:s}", "type", "error", "code", ag_error_name(code), "message", msg);
    if (o && exp_id > 0) {
        json_object_set_new(o, "exp", json_integer(exp_id));
    }
    stream_client_send_json(s, c, o);
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

/* v in decimal; returns its length (at most 20) */
static size_t i64_text(char *out, int64_t v) {
    char digits[20];
    size_t n = 0, len = 0;
    uint64_t u = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;
    do {
        digits[n++] = (char)('0' + (int)(u % 10));
        u /= 10;
    } while (u);
    if (v < 0) {
        out[len++] = '-';
    }
    while (n > 0) {
        out[len++] = digits[--n];
    }
    return len;
}

size_t stream_row_prefix(char *out, int64_t exp_id, int64_t seq) {
    static const char a[] = "{\"type\":\"row\",\"exp\":", b[] = ",\"seq\":", c[] = ",\"row\":";
    size_t n = sizeof(a) - 1;
    memcpy(out, a, n);
    n += i64_text(out + n, exp_id);
    memcpy(out + n, b, sizeof(b) - 1);
    n += sizeof(b) - 1;
    n += i64_text(out + n, seq);
    memcpy(out + n, c, sizeof(c) - 1);
    return n + sizeof(c) - 1;
}

/* a row message for the client: {"type":"row","exp":E,"seq":S,"row":{...}} in s->scratch */
static size_t row_format(Stream *s, int64_t exp_id, int64_t seq, const char *row, size_t len) {
    size_t n;
    if (STREAM_ROW_PREFIX_MAX + len + 2 > s->scratch_cap) {
        return 0;
    }
    n = stream_row_prefix(s->scratch, exp_id, seq);
    memcpy(s->scratch + n, row, len);
    s->scratch[n + len] = '}';
    s->scratch[n + len + 1] = '\0';
    return n + len + 1;
}

/* a row longer than the whole send buffer is announced instead of sent */
static void client_row_too_big(Stream *s, StreamClient *c, StreamSub *sub, int64_t seq) {
    char msg[160];
    snprintf(msg, sizeof(msg), "row %" PRId64 " is larger than the send buffer and was skipped",
             seq);
    stream_client_send_error(s, c, AG_ETOOBIG, sub->exp_id, msg);
    sub->last_seq = seq;
}

void stream_sub_caught_up(Stream *s, StreamClient *c, StreamSub *sub) {
    StoreRun run;
    char msg[256];
    sub->catching_up = 0;
    if (sub->announce_live) {
        sub->announce_live = 0;
        stream_client_send_json(s, c,
                                json_pack("{s:s, s:I, s:I}", "type", "live", "exp",
                                          (json_int_t)sub->exp_id, "seq",
                                          (json_int_t)sub->last_seq));
    }
    if (store_run_get(s->store, sub->exp_id, &run, msg, sizeof(msg)) == 0 &&
        strcmp(run.state, sub->state) != 0) {
        snprintf(sub->state, sizeof(sub->state), "%s", run.state);
        stream_client_send_json(s, c,
                                json_pack("{s:s, s:I, s:s, s:s}", "type", "state", "exp",
                                          (json_int_t)sub->exp_id, "state", run.state, "reason",
                                          ""));
    }
}

static void sub_start_catch_up(StreamClient *c, StreamSub *sub) {
    if (!sub->catching_up) {
        sub->seen_seq = 0;
    }
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
    if (sub->catching_up) {
        /* a store read delivers it: one that ends below it must be followed by another */
        if (seq > sub->seen_seq) {
            sub->seen_seq = seq;
        }
        return;
    }
    if (seq <= sub->last_seq) {
        return; /* sent already */
    }
    if (seq > sub->last_seq + 1) {
        sub_start_catch_up(c, sub); /* a gap: read it from the store */
        sub->seen_seq = seq;
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

void stream_queue_process(Stream *s) {
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
                c->subs[j].reread = 1;
            }
        }
    }
    if (atomic_load(&s->shutdown)) {
        for (int i = 0; i < s->nclients; i++) {
            stream_client_close(s, s->clients[i], STREAM_CLOSE_GOING_AWAY, "server shutting down");
        }
    }
}

/* ---- client messages ---- */

void stream_client_bad(Stream *s, StreamClient *c, int code, const char *msg) {
    atomic_fetch_add(&s->n_bad_messages, 1);
    stream_client_send_error(s, c, code, 0, msg);
    if (++c->bad >= STREAM_BAD_MAX) {
        stream_client_close(s, c, STREAM_CLOSE_POLICY, "too many malformed messages");
    }
}

static void client_subscribe(Stream *s, StreamClient *c, json_t *msg) {
    json_t *exps = json_object_get(msg, "experiments"), *all = json_object_get(msg, "all"), *e;
    size_t i;
    char err[256];
    if (all && !json_is_boolean(all)) {
        stream_client_bad(s, c, AG_EINVAL, "subscribe: \"all\" must be true or false");
        return;
    }
    if (exps && !json_is_array(exps)) {
        stream_client_bad(s, c, AG_EINVAL, "subscribe: \"experiments\" must be an array");
        return;
    }
    if (!json_is_true(all) && json_array_size(exps) == 0) {
        stream_client_bad(s, c, AG_EINVAL,
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
            stream_client_bad(s, c, AG_EINVAL, err);
            return;
        }
        if (since && (!json_is_integer(since) || json_integer_value(since) < -1)) {
            snprintf(err, sizeof(err),
                     "subscribe: experiments[%zu].since_seq must be an integer >= -1", i);
            stream_client_bad(s, c, AG_EINVAL, err);
            return;
        }
    }
    if (json_is_true(all) && !c->all) {
        c->all = 1;
        stream_client_send_json(s, c, json_pack("{s:s, s:b}", "type", "subscribed", "all", 1));
    }
    json_array_foreach(exps, i, e) {
        int64_t id = json_integer_value(json_object_get(e, "id"));
        json_t *since_j = json_object_get(e, "since_seq");
        int64_t since = since_j ? json_integer_value(since_j) : 0;
        StreamSub *sub;
        StoreRun run;
        int rc = store_run_get(s->store, id, &run, err, sizeof(err));
        if (rc) {
            stream_client_send_error(s, c, rc, id, err);
            continue;
        }
        sub = sub_find(c, id);
        if (!sub && !(sub = sub_add(s, c, id, 0))) {
            snprintf(err, sizeof(err), "subscribe: at most %d experiments per connection",
                     s->cfg.max_subs);
            stream_client_send_error(s, c, AG_ERANGE, id, err);
            continue;
        }
        if (since > run.last_seq) {
            /* the client's series is not this one (store replaced or id reused): restart */
            stream_client_send_json(s, c,
                                    json_pack("{s:s, s:I, s:I, s:I, s:s}", "type", "resync", "exp",
                                              (json_int_t)id, "since_seq", (json_int_t)since,
                                              "last_seq", (json_int_t)run.last_seq, "reason",
                                              "since_seq is ahead of the stored series; "
                                              "the series is sent again from the start"));
            since = 0;
        }
        sub->last_seq = since < 0 ? run.last_seq : since;
        sub->announce_live = 1;
        /* a read asked for before this subscription is not its own */
        sub->read_id = 0;
        sub->catching_up = 0;
        sub->used = ++c->tick;
        snprintf(sub->state, sizeof(sub->state), "%s", run.state);
        stream_client_send_json(s, c,
                                json_pack("{s:s, s:I, s:I, s:I, s:s}", "type", "subscribed", "exp",
                                          (json_int_t)id, "since_seq", (json_int_t)sub->last_seq,
                                          "last_seq", (json_int_t)run.last_seq, "state",
                                          run.state));
        sub_start_catch_up(c, sub);
    }
    stream_client_fetch(s, c);
}

static void client_unsubscribe(Stream *s, StreamClient *c, json_t *msg) {
    json_t *exps = json_object_get(msg, "experiments"), *all = json_object_get(msg, "all"), *e;
    size_t i;
    if ((all && !json_is_boolean(all)) || (exps && !json_is_array(exps)) ||
        (!json_is_true(all) && json_array_size(exps) == 0)) {
        stream_client_bad(s, c, AG_EINVAL,
                          "unsubscribe: give \"experiments\": [ids] or \"all\": true");
        return;
    }
    json_array_foreach(exps, i, e) {
        if (!json_is_integer(e) || json_integer_value(e) <= 0) {
            stream_client_bad(s, c, AG_EINVAL,
                              "unsubscribe: experiments must be positive integers");
            return;
        }
    }
    if (json_is_true(all)) {
        c->all = 0;
        c->nsubs = 0;
        stream_client_send_json(s, c, json_pack("{s:s, s:b}", "type", "unsubscribed", "all", 1));
    }
    json_array_foreach(exps, i, e) {
        sub_remove(c, json_integer_value(e));
        stream_client_send_json(s, c,
                                json_pack("{s:s, s:I}", "type", "unsubscribed", "exp",
                                          (json_int_t)json_integer_value(e)));
    }
}

void stream_client_message(Stream *s, StreamClient *c, const char *text, size_t len) {
    json_error_t jerr;
    json_t *msg = json_loadb(text, len, 0, &jerr), *type;
    char err[256];
    if (!msg) {
        snprintf(err, sizeof(err), "malformed JSON at line %d column %d: %s", jerr.line,
                 jerr.column, jerr.text);
        stream_client_bad(s, c, AG_EJSON, err);
        return;
    }
    type = json_object_get(msg, "type");
    if (!json_is_object(msg) || !json_is_string(type)) {
        stream_client_bad(s, c, AG_EPROTOCOL, "a message is a JSON object with a string \"type\"");
    } else if (!strcmp(json_string_value(type), "subscribe")) {
        client_subscribe(s, c, msg);
    } else if (!strcmp(json_string_value(type), "unsubscribe")) {
        client_unsubscribe(s, c, msg);
    } else if (!strcmp(json_string_value(type), "ping")) {
        stream_client_send_json(s, c, json_pack("{s:s}", "type", "pong"));
    } else {
        snprintf(err, sizeof(err),
                 "unknown message type \"%.64s\" (subscribe, unsubscribe or ping)",
                 json_string_value(type));
        stream_client_bad(s, c, AG_EPROTOCOL, err);
    }
    json_decref(msg);
}
