/* Internal to the live stream: the server, client and queue structs and the helpers shared by
 * stream.c (connections, publishing, life cycle) and stream_subs.c (the per-client side run by the
 * service thread: send buffer, subscriptions, live publications, client messages). See stream.h
 * for the design. */
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
    char state[STORE_STATE_MAX];
} StreamSub;

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

/* ---- from stream_subs.c, for the connections (service thread only) ---- */

/* bytes queued in the client's send buffer */
static inline size_t stream_client_used(const StreamClient *c) {
    return c->tail - c->head;
}
/* closes the client with code and reason after dropping what was queued */
void stream_client_close(Stream *s, StreamClient *c, int code, const char *reason);
/* sends a JSON object and frees it; a full buffer closes the client */
void stream_client_send_json(Stream *s, StreamClient *c, json_t *o);
/* answers a malformed message with an error; too many close the client */
void stream_client_bad(Stream *s, StreamClient *c, int code, const char *msg);
/* reads a page of the store for the first subscription that is catching up, if the buffer is at
 * most half full; fetch_pending says whether more is to be read */
void stream_client_fetch(Stream *s, StreamClient *c);
/* handles one complete text message from the client */
void stream_client_message(Stream *s, StreamClient *c, const char *text, size_t len);
/* takes the publications queued since the last call and fans them out to the clients */
void stream_queue_process(Stream *s);

#endif
