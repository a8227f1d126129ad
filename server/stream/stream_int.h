/* Internal to the live stream: the server, client and queue structs and the helpers shared by
 * stream.c (connections, publishing, life cycle), stream_subs.c (the per-client side run by the
 * service thread: send buffer, subscriptions, live publications, client messages) and
 * stream_backlog.c (backlogs read from the store by a worker thread). See stream.h for the
 * design. */
#ifndef STREAM_INT_H
#define STREAM_INT_H

#include "stream.h"

#include <jansson.h>
#include <libwebsockets.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

enum { QMSG_ROW = 1, QMSG_STATE = 2 };

/* Each client's send buffer holds websocket frames ready for the socket, written to it as raw
 * bytes (many frames a send): a server's text frame is a header of 2, 4 or 10 bytes (FIN, opcode,
 * length; no mask, and no extension is ever negotiated) and the payload. */
#define FRAME_HDR_MAX 10
/* bytes a client's frames are written in at most (the protocol's tx_packet_size: lws would
 * split a larger write and copy the rest) */
#define STREAM_WRITE_BYTES (64 * 1024)
/* writes of a client per writeable callback at most, so that the others interleave */
#define STREAM_WRITES_PER_CALLBACK 4

/* writes the header of a text frame of len payload bytes; returns its length */
static inline size_t stream_frame_header(unsigned char *out, size_t len) {
    out[0] = 0x81; /* FIN, text */
    if (len < 126) {
        out[1] = (unsigned char)len;
        return 2;
    }
    if (len < 65536) {
        out[1] = 126;
        out[2] = (unsigned char)(len >> 8);
        out[3] = (unsigned char)len;
        return 4;
    }
    out[1] = 127;
    for (int i = 0; i < 8; i++) {
        out[2 + i] = (unsigned char)((uint64_t)len >> (56 - 8 * i));
    }
    return 10;
}

/* the whole size of the frame starting at p (written by stream_frame_header) */
static inline size_t stream_frame_size(const unsigned char *p) {
    size_t n = p[1] & 0x7f;
    if (n < 126) {
        return 2 + n;
    }
    if (n == 126) {
        return 4 + ((size_t)p[2] << 8 | p[3]);
    }
    n = 0;
    for (int i = 0; i < 8; i++) {
        n = n << 8 | p[2 + i];
    }
    return 10 + n;
}

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
    /* while catching up: the highest seq published (and dropped) meanwhile; a read that ends
     * below it cannot end the catch-up, since the row may have been committed after it */
    int64_t seen_seq;
    int reread;       /* publications were lost: only a read started after that may end it */
    uint64_t read_id; /* of the store read that is this subscription's, 0 for none */
    char state[STORE_STATE_MAX];
} StreamSub;

/* One page of a subscription's backlog read by the worker thread (stream_backlog.c) as frames
 * ready for the socket. A client has at most one; while the worker reads it (busy), only the
 * worker touches the answer; then the service thread copies it into the client's send buffer
 * once there is room. */
typedef struct StreamFetch {
    struct StreamFetch *next;    /* in the worker's queue or the list of answers */
    struct StreamClient *client; /* NULL once the client is gone (service thread only) */
    /* the question */
    int64_t exp_id;
    int64_t after_seq;
    uint64_t read_id;
    /* the answer: frames of the rows after after_seq, at most budget bytes unless a single row
     * needs more (up to the send buffer's size) */
    unsigned char *buf;
    size_t cap, len, budget, send_cap;
    size_t counted;   /* cap as counted in Stream.n_backlog_bytes */
    int64_t rows;     /* given by the store (sent or announced as too big) */
    int64_t sent;     /* row frames in buf */
    int64_t last_seq; /* of the last row given */
    int full;         /* stopped at the budget: more rows follow */
    int rc;           /* < 0: the store failed, with msg */
    char msg[256];
} StreamFetch;

/* per-connection data (lws allocates it zeroed with the wsi) */
typedef struct StreamClient {
    struct lws *wsi;
    int index; /* in Stream.clients; -1 when not registered */
    /* frames ready for the socket (see FRAME_HDR_MAX), head..tail, compacted when the end is
     * reached */
    unsigned char *buf;
    size_t cap, head, tail;
    char *rx;
    size_t rx_len;
    StreamSub *subs;
    int nsubs;
    int all;
    int fetch_pending;
    int retry_wait;     /* the store failed; a timer retries */
    StreamFetch *fetch; /* the backlog page being read or waiting for room; NULL for none */
    int fetch_busy;     /* the worker has it */
    int fetch_ready;    /* read, waiting for room in the send buffer */
    uint64_t reads;     /* store reads asked for, numbering them */
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
    /* the backlog worker (stream_backlog.c): the service thread appends questions to todo, the
     * worker answers them in order into done and wakes the service thread */
    pthread_t worker;
    int worker_started;
    int worker_stop;
    pthread_mutex_t wmu;
    pthread_cond_t wcond;
    int wmu_init;
    StreamFetch *todo, *todo_tail, *answers, *answers_tail;
    /* tests only: called by the worker after each store read, before the answer is handed over */
    void (*backlog_read_hook)(Stream *s, StreamFetch *f);
    /* counters */
    atomic_uint_fast64_t n_clients, n_accepted, n_refused, n_rows_published, n_rows_sent,
        n_backlog_rows, n_slow_closed, n_queue_overflows, n_bad_messages, n_backlog_reads;
    atomic_int_fast64_t n_backlog_bytes;
};

/* ---- from stream_subs.c, for the connections (service thread only) ---- */

/* bytes queued in the client's send buffer */
static inline size_t stream_client_used(const StreamClient *c) {
    return c->tail - c->head;
}
/* the room for need more bytes at the end of the send buffer, compacting it when that makes
 * enough */
int stream_client_room(StreamClient *c, size_t need);
/* closes the client with code and reason after dropping what was queued */
void stream_client_close(Stream *s, StreamClient *c, int code, const char *reason);
/* sends a JSON object and frees it; a full buffer closes the client */
void stream_client_send_json(Stream *s, StreamClient *c, json_t *o);
/* an error message about exp_id (0 for none) to the client */
void stream_client_send_error(Stream *s, StreamClient *c, int code, int64_t exp_id,
                              const char *msg);
/* answers a malformed message with an error; too many close the client */
void stream_client_bad(Stream *s, StreamClient *c, int code, const char *msg);
/* the end of a subscription's catch-up: "live" once, then any state change not yet sent */
void stream_sub_caught_up(Stream *s, StreamClient *c, StreamSub *sub);
/* the first bytes of a row message, {"type":"row","exp":E,"seq":S,"row": (the row and a
 * closing brace follow); returns its length, at most STREAM_ROW_PREFIX_MAX */
#define STREAM_ROW_PREFIX_MAX 96
size_t stream_row_prefix(char *out, int64_t exp_id, int64_t seq);
/* handles one complete text message from the client */
void stream_client_message(Stream *s, StreamClient *c, const char *text, size_t len);
/* takes the publications queued since the last call and fans them out to the clients */
void stream_queue_process(Stream *s);

/* ---- from stream_backlog.c ---- */

/* service thread: copies a page read into the send buffer when there is room, then asks the
 * worker for the next page of the first subscription that is catching up, unless one is being
 * read; fetch_pending says whether more is to come */
void stream_client_fetch(Stream *s, StreamClient *c);
/* service thread: hands the pages the worker has read to their clients */
void stream_backlog_answers(Stream *s);
/* service thread: the client is going away; its page is dropped now or when the worker is done */
void stream_backlog_client_gone(Stream *s, StreamClient *c);
/* starts the worker thread */
int stream_backlog_start(Stream *s, char *err, size_t err_sz);
/* stops the worker thread (after the service thread has stopped) */
void stream_backlog_stop(Stream *s);
/* frees the pages still queued (after every client is gone) */
void stream_backlog_free(Stream *s);

#endif
