/* angorad's live websocket stream (libwebsockets): subscribers receive the metric rows and state
 * changes of experiments as they are ingested, after a backlog read from the store.
 *
 * DESIGN
 * One service thread owns every connection. Other threads only call stream_publish_*, which
 * append to a bounded queue and wake the service thread with lws_cancel_service; a full queue
 * never blocks them (the subscribers then catch up from SQLite instead).
 * Per client and experiment the service thread remembers the last seq it queued. A live row
 * with the next seq is queued at once; one at or below it is a duplicate and dropped; one above
 * it means something was missed, so the subscription reads the store from the last seq on until
 * the store has no more. A worker thread does those reads (in pages of whole sealed chunks, each
 * decoded once, written as frames, at most one page per client at a time), so that the service
 * thread only copies a page into the send buffer and writes it: a backlog of 10^6 rows does not
 * hold back the live rows of other clients.
 * Because rows are published only after they are committed, a read sees every row whose
 * publication was dropped before it began; one dropped while it ran makes one more page be
 * read (stream_backlog.c). Rows committed later arrive through the queue: no gaps, no
 * duplicates, in seq order. Each client has a fixed-size send buffer of frames ready for the
 * socket, written many frames a send; a client whose buffer overflows is closed with code 4008
 * without touching the others. Message formats are in docs/api.md (live stream). */
#ifndef STREAM_H
#define STREAM_H

#include "store.h"

#include <stddef.h>
#include <stdint.h>

typedef struct Stream Stream;

/* close codes sent to clients (see docs/api.md (live stream)) */
#define STREAM_CLOSE_GOING_AWAY 1001
#define STREAM_CLOSE_POLICY     1008
#define STREAM_CLOSE_TOO_BIG    1009
#define STREAM_CLOSE_SLOW       4008
#define STREAM_PROTOCOL_VERSION 1
#define STREAM_PROTOCOL_NAME    "angora-stream"

typedef struct StreamConfig {
    const char *bind;      /* address to listen on; NULL for 127.0.0.1 */
    int port;              /* 0 picks a free port (see stream_port) */
    int max_clients;       /* 0 for 256 */
    size_t send_buf_bytes; /* per client; 0 for 1 MiB */
    size_t max_msg_bytes;  /* largest client message; 0 for 4096 */
    size_t queue_bytes;    /* publish queue; 0 for 4 MiB */
    int max_subs;          /* experiments tracked per client; 0 for 64 */
    int backlog_chunk;     /* rows per store read at least (it ends with a sealed chunk); 0 for
                              256 */
    int ping_interval_s;   /* idle time before a ping; 0 for 30 (hang up after 3x without an answer)
                            */
    int slow_grace_s;      /* how long a slow client may take to accept its close; 0 for 5 */
} StreamConfig;

/* counters since start (read from any thread) */
typedef struct StreamStats {
    uint64_t clients;         /* connected now */
    uint64_t accepted;        /* connections accepted */
    uint64_t refused;         /* upgrades refused (token, client limit) */
    uint64_t rows_published;  /* stream_publish_row calls */
    uint64_t rows_sent;       /* row messages queued to clients */
    uint64_t backlog_rows;    /* of which read from the store */
    uint64_t slow_closed;     /* clients closed with 4008 */
    uint64_t queue_overflows; /* publications dropped because the queue was full */
    uint64_t bad_messages;    /* client messages answered with an error */
    uint64_t backlog_reads;   /* store reads of backlog pages */
    uint64_t backlog_bytes;   /* memory held now by backlog pages (read or being read) */
} StreamStats;

/* starts listening and its service thread; the store must outlive the stream */
int stream_create(Stream **out, const StreamConfig *cfg, Store *store, char *err, size_t err_sz);
/* the port actually bound */
int stream_port(const Stream *s);
/* a committed metric row of an experiment (row_json: one JSON object); from any thread, never
 * blocks on clients. Call it in seq order per experiment, after the store commit. */
void stream_publish_row(Stream *s, int64_t exp_id, int64_t seq, const char *row_json, size_t len);
/* a state change already recorded in the store; reason may be NULL */
void stream_publish_state(Stream *s, int64_t exp_id, const char *state, const char *reason);
void stream_stats_get(Stream *s, StreamStats *out);
/* closes every client with 1001 and stops the thread; NULL is fine. No stream_publish_* call
 * may run during or after it. */
void stream_destroy(Stream *s);

#endif
