/* The live stream's backlogs: the rows a subscriber resuming with since_seq has not seen, read
 * from the store by a worker thread so that the service thread, which serves every client, only
 * copies ready frames into a send buffer and writes them. See stream.h for the design.
 *
 * DESIGN
 * A client has at most one page (StreamFetch) in work: the service thread asks for the rows of
 * its first catching-up subscription after the last seq it sent; the worker reads them with
 * store_metric_rows_paged on a reader connection (at least backlog_chunk rows, up to the end of
 * a sealed chunk, or fewer bytes than half the send buffer) and writes them as frames into the
 * page; the service thread takes the answer on its next wake-up and copies it whole into the
 * send buffer once that has room for it, then asks for the next page at once, so that the worker
 * reads while the socket drains. Questions are answered in order, one page each: backlogs of
 * several clients take turns, and a client that does not read holds its one page and no more.
 *
 * The hand-over to live rows: while a subscription catches up, its live rows are dropped, the
 * highest seq among them remembered (seen_seq). A page with fewer rows than asked for ends the
 * catch-up only if it reaches seen_seq and was asked for after any lost publication (reread):
 * else a row may have been committed after the read and published before the page was taken,
 * and one more page is read. Every row published later finds the subscription live. */
#include "stream_int.h"

#include "ag_error.h"
#include "ag_log.h"
#include "ag_thread.h"

#include <inttypes.h>
#include <jansson.h>
#include <libwebsockets.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CONTROL_RESERVE 1024 /* room a page leaves in the send buffer for the messages after it */
/* how much nicer the worker is than the thread that starts it: a backlog is bulk work, and when
 * it shares a core with the live rows' path (ingestion, the service thread) those go first */
#define BACKLOG_NICE 5

/* ---- the worker ---- */

/* room for need more bytes in the page, growing it up to the send buffer's size */
static int fetch_room(StreamFetch *f, size_t need) {
    size_t cap = f->cap;
    unsigned char *p;
    if (f->len + need <= f->cap) {
        return 1;
    }
    while (cap < f->len + need) {
        cap *= 2;
    }
    if (cap > f->send_cap) {
        cap = f->send_cap;
    }
    if (f->len + need > cap || !(p = realloc(f->buf, cap))) {
        return 0;
    }
    f->buf = p;
    f->cap = cap;
    return 1;
}

/* a frame of text at the end of the page (room checked) */
static void fetch_put(StreamFetch *f, const char *text, size_t len) {
    f->len += stream_frame_header(f->buf + f->len, len);
    memcpy(f->buf + f->len, text, len);
    f->len += len;
}

/* a row longer than the whole send buffer is announced instead of sent */
static int fetch_too_big(StreamFetch *f, int64_t seq) {
    char msg[160], *text;
    json_t *o;
    size_t len;
    int ok;
    snprintf(msg, sizeof(msg), "row %" PRId64 " is larger than the send buffer and was skipped",
             seq);
    o = json_pack("{s:s, s:s, s:s, s:I}", "type", "error", "code", ag_error_name(AG_ETOOBIG),
                  "message", msg, "exp", (json_int_t)f->exp_id);
    text = o ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    if (!text) {
        return AG_ENOMEM;
    }
    len = strlen(text);
    ok = (f->len == 0 || f->len + FRAME_HDR_MAX + len <= f->budget) &&
         fetch_room(f, FRAME_HDR_MAX + len);
    if (ok) {
        fetch_put(f, text, len);
    }
    free(text);
    return ok ? 0 : 1;
}

static int fetch_row(void *ctx, int64_t seq, const char *row, size_t len) {
    StreamFetch *f = ctx;
    char prefix[STREAM_ROW_PREFIX_MAX];
    size_t plen = stream_row_prefix(prefix, f->exp_id, seq), payload = plen + len + 1;
    size_t h = payload < 126 ? 2 : payload < 65536 ? 4 : 10;
    unsigned char *out;
    if (h + payload > f->send_cap) {
        int rc = fetch_too_big(f, seq);
        if (rc == 1) {
            f->full = 1;
            return 1;
        }
        if (rc == 0) {
            f->rows++;
            f->last_seq = seq;
        }
        return rc;
    }
    /* the budget bounds a page, but never keeps a row out of an empty one */
    if ((f->len > 0 && f->len + h + payload > f->budget) || !fetch_room(f, h + payload)) {
        f->full = 1;
        return 1; /* the rest comes with the next page */
    }
    out = f->buf + f->len;
    out += stream_frame_header(out, payload);
    memcpy(out, prefix, plen);
    memcpy(out + plen, row, len);
    out[plen + len] = '}';
    f->len += h + payload;
    f->rows++;
    f->sent++;
    f->last_seq = seq;
    return 0;
}

static void fetch_read(Stream *s, StreamFetch *f) {
    int rc;
    f->len = 0;
    f->rows = 0;
    f->sent = 0;
    f->last_seq = f->after_seq;
    f->full = 0;
    f->msg[0] = '\0';
    rc = store_metric_rows_paged(s->store, f->exp_id, f->after_seq, s->cfg.backlog_chunk, fetch_row,
                                 f, f->msg, sizeof(f->msg));
    if (rc == AG_ENOMEM) {
        snprintf(f->msg, sizeof(f->msg), "stream: out of memory reading the backlog");
    }
    f->rc = rc == 1 ? 0 : rc;
    atomic_fetch_add(&s->n_backlog_reads, 1);
}

/* the nice value is per thread on Linux; without this the worker competes as an equal */
static void worker_lower_priority(void) {
    int rc = ag_thread_nice_add(BACKLOG_NICE);
    if (rc) {
        ag_log_warn("stream: cannot lower the backlog thread's priority: %s", strerror(rc));
    }
}

static void *worker_thread(void *arg) {
    Stream *s = arg;
    pthread_setname_np(pthread_self(), "angora-backlog");
    worker_lower_priority();
    pthread_mutex_lock(&s->wmu);
    while (!s->worker_stop) {
        StreamFetch *f = s->todo;
        if (!f) {
            pthread_cond_wait(&s->wcond, &s->wmu);
            continue;
        }
        s->todo = f->next;
        if (!s->todo) {
            s->todo_tail = NULL;
        }
        pthread_mutex_unlock(&s->wmu);

        fetch_read(s, f);
        if (s->backlog_read_hook) {
            s->backlog_read_hook(s, f);
        }

        pthread_mutex_lock(&s->wmu);
        f->next = NULL;
        if (s->answers_tail) {
            s->answers_tail->next = f;
        } else {
            s->answers = f;
        }
        s->answers_tail = f;
        pthread_mutex_unlock(&s->wmu);
        lws_cancel_service(s->ctx);
        pthread_mutex_lock(&s->wmu);
    }
    pthread_mutex_unlock(&s->wmu);
    return NULL;
}

/* ---- the service thread's side ---- */

/* the page's memory as counted in n_backlog_bytes (on the service thread: the worker may have
 * grown it) */
static void fetch_count(Stream *s, StreamFetch *f) {
    atomic_fetch_add(&s->n_backlog_bytes, (int_fast64_t)f->cap - (int_fast64_t)f->counted);
    f->counted = f->cap;
}

static void fetch_free(Stream *s, StreamFetch *f) {
    if (f) {
        atomic_fetch_sub(&s->n_backlog_bytes, (int_fast64_t)f->counted);
        free(f->buf);
        free(f);
    }
}

static StreamSub *sub_of(StreamClient *c, const StreamFetch *f) {
    for (int i = 0; i < c->nsubs; i++) {
        StreamSub *sub = &c->subs[i];
        if (sub->exp_id == f->exp_id) {
            return sub->catching_up && sub->read_id == f->read_id ? sub : NULL;
        }
    }
    return NULL;
}

/* the page read into the send buffer if it fits; 0 while it waits for room (or a retry) */
static int fetch_take(Stream *s, StreamClient *c) {
    StreamFetch *f = c->fetch;
    StreamSub *sub = sub_of(c, f);
    size_t used = stream_client_used(c);
    if (!sub) {
        c->fetch_ready = 0; /* unsubscribed or subscribed again meanwhile */
        return 1;
    }
    if (f->rc < 0) {
        /* the store is busy or broken: tell the client and retry in a second */
        c->fetch_ready = 0;
        stream_client_send_error(s, c, f->rc, sub->exp_id, f->msg);
        c->retry_wait = 1;
        lws_set_timer_usecs(c->wsi, 1000000);
        return 0;
    }
    if (f->len > 0) {
        if (used > 0 && f->len + CONTROL_RESERVE > c->cap - used) {
            return 0;
        }
        if (!stream_client_room(c, f->len)) {
            return 0;
        }
        memcpy(c->buf + c->tail, f->buf, f->len);
        c->tail += f->len;
        lws_callback_on_writable(c->wsi);
    }
    c->fetch_ready = 0;
    if (f->rows > 0) {
        sub->last_seq = f->last_seq;
    }
    if (f->sent > 0) {
        atomic_fetch_add(&s->n_rows_sent, (uint64_t)f->sent);
        atomic_fetch_add(&s->n_backlog_rows, (uint64_t)f->sent);
    }
    if (!f->full && f->rows < s->cfg.backlog_chunk && !sub->reread &&
        sub->seen_seq <= sub->last_seq) {
        stream_sub_caught_up(s, c, sub);
    }
    return 1;
}

/* asks the worker for the page of sub after its last seq */
static int fetch_ask(Stream *s, StreamClient *c, StreamSub *sub) {
    StreamFetch *f = c->fetch;
    if (!f) {
        size_t budget = c->cap / 2;
        f = calloc(1, sizeof(*f));
        if (!f || !(f->buf = malloc(budget))) {
            free(f);
            return AG_ENOMEM;
        }
        f->cap = budget;
        f->budget = budget;
        f->send_cap = c->cap;
        c->fetch = f;
    }
    if (f->cap > f->budget) {
        /* a big row grew it: back to its usual size */
        unsigned char *p = realloc(f->buf, f->budget);
        if (p) {
            f->buf = p;
            f->cap = f->budget;
        }
    }
    fetch_count(s, f);
    f->client = c;
    f->exp_id = sub->exp_id;
    f->after_seq = sub->last_seq;
    f->read_id = ++c->reads;
    f->next = NULL;
    sub->read_id = f->read_id;
    sub->reread = 0;
    c->fetch_busy = 1;
    pthread_mutex_lock(&s->wmu);
    if (s->todo_tail) {
        s->todo_tail->next = f;
    } else {
        s->todo = f;
    }
    s->todo_tail = f;
    pthread_cond_signal(&s->wcond);
    pthread_mutex_unlock(&s->wmu);
    return 0;
}

void stream_client_fetch(Stream *s, StreamClient *c) {
    StreamSub *sub = NULL;
    if (c->close_code || c->retry_wait || c->fetch_busy) {
        return;
    }
    if (c->fetch_ready && !fetch_take(s, c)) {
        c->fetch_pending = 1;
        return;
    }
    for (int i = 0; i < c->nsubs && !sub; i++) {
        if (c->subs[i].catching_up) {
            sub = &c->subs[i];
        }
    }
    if (!sub) {
        /* every backlog is in: the page's memory goes back until the next one */
        c->fetch_pending = 0;
        fetch_free(s, c->fetch);
        c->fetch = NULL;
        return;
    }
    c->fetch_pending = 1;
    if (fetch_ask(s, c, sub) != 0) {
        stream_client_send_error(s, c, AG_ENOMEM, sub->exp_id,
                                 "stream: out of memory reading the backlog");
        c->retry_wait = 1;
        lws_set_timer_usecs(c->wsi, 1000000);
    }
}

void stream_backlog_answers(Stream *s) {
    StreamFetch *f;
    pthread_mutex_lock(&s->wmu);
    f = s->answers;
    s->answers = s->answers_tail = NULL;
    pthread_mutex_unlock(&s->wmu);
    while (f) {
        StreamFetch *next = f->next;
        StreamClient *c = f->client;
        f->next = NULL;
        fetch_count(s, f);
        if (!c) {
            fetch_free(s, f); /* its client has gone */
        } else {
            c->fetch_busy = 0;
            c->fetch_ready = 1;
            stream_client_fetch(s, c);
        }
        f = next;
    }
}

void stream_backlog_client_gone(Stream *s, StreamClient *c) {
    if (c->fetch && c->fetch_busy) {
        c->fetch->client = NULL; /* freed when the worker hands it back */
    } else {
        fetch_free(s, c->fetch);
    }
    c->fetch = NULL;
    c->fetch_busy = 0;
    c->fetch_ready = 0;
}

int stream_backlog_start(Stream *s, char *err, size_t err_sz) {
    pthread_mutex_init(&s->wmu, NULL);
    pthread_cond_init(&s->wcond, NULL);
    s->wmu_init = 1;
    if (pthread_create(&s->worker, NULL, worker_thread, s) != 0) {
        return ag_errorf(err, err_sz, AG_EIO, "stream: cannot start the backlog thread");
    }
    s->worker_started = 1;
    return 0;
}

void stream_backlog_stop(Stream *s) {
    if (!s->worker_started) {
        return;
    }
    pthread_mutex_lock(&s->wmu);
    s->worker_stop = 1;
    pthread_cond_signal(&s->wcond);
    pthread_mutex_unlock(&s->wmu);
    pthread_join(s->worker, NULL);
    s->worker_started = 0;
}

void stream_backlog_free(Stream *s) {
    StreamFetch *lists[2];
    if (!s->wmu_init) {
        return;
    }
    lists[0] = s->todo;
    lists[1] = s->answers;
    s->todo = s->todo_tail = s->answers = s->answers_tail = NULL;
    for (int i = 0; i < 2; i++) {
        for (StreamFetch *f = lists[i], *next; f; f = next) {
            next = f->next;
            fetch_free(s, f);
        }
    }
    pthread_cond_destroy(&s->wcond);
    pthread_mutex_destroy(&s->wmu);
    s->wmu_init = 0;
}
