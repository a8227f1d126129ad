/* What the Check suites of server/stream share (test_stream.c, test_stream_subs.c): a migrated
 * store in a temporary directory with one token, rows stored and published the way ingestion
 * does, the stream server, test clients of libwebsockets serviced by one thread (what each has
 * received, counted under tmu), and raw socket clients for the cases lws clients cannot play
 * (a client that never reads, a client that never answers pings). */
#ifndef STREAM_TEST_UTIL_H
#define STREAM_TEST_UTIL_H

#include "stream.h"

#include <libwebsockets.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#define TOKEN     "ang_0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define BAD_TOKEN "ang_ffff456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define MAX_EXP   8
#define MAX_TC    256

extern char err[512];

/* ---- fixture: a migrated store in a temp dir with one token ---- */

extern char tmp_dir[256];
extern Store *store;
extern int64_t skip_seq; /* a stored row rows_add does not publish (0: none) */

/* the SHA-256 of text in hex, as the token table keeps it */
void hash_hex(const char *text, char out[65]);
void store_setup(void);
void store_teardown(void);
int64_t exp_new(void);
/* stores n rows (padded to pad bytes) like ingestion does, then publishes them */
void rows_add(Stream *s, int64_t exp, int n, int pad);
Stream *server_start(StreamConfig *cfg);
StreamConfig small_config(void);

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
extern pthread_mutex_t tmu;

void clients_start(int port);
void clients_stop(void);
Tc *tc_connect(TcAuth auth);
void tc_send_kind(Tc *c, const char *text, int binary);
void tc_send(Tc *c, const char *text);
void tc_close(Tc *c);
/* waits until cond(c, arg) holds (checked under the lock) or timeout_s passes */
typedef int (*TcCond)(const Tc *c, int64_t arg);
int tc_wait(Tc *c, TcCond cond, int64_t arg, double timeout_s);
int is_open(const Tc *c, int64_t a);
int is_done(const Tc *c, int64_t a);
int is_live(const Tc *c, int64_t exp);
int has_errors(const Tc *c, int64_t n);
int has_subscribed(const Tc *c, int64_t n);
int has_pongs(const Tc *c, int64_t n);
/* arg packs exp (high bits) and seq */
int has_seq(const Tc *c, int64_t a);
int64_t exp_seq(int64_t exp, int64_t seq);
int has_state(const Tc *c, int64_t exp);
/* a client subscribed to exp from since, once its "live" has come */
Tc *tc_subscribed(int64_t exp, int64_t since, TcAuth auth);

/* ---- raw socket clients ---- */

/* connected and upgraded with TOKEN; returns the socket */
int raw_connect(int port);
/* one masked text frame from a raw client */
void raw_send_text(int fd, const char *text);
/* reads until the server closes; returns the close code found (0 for none) and counts the
 * text frames */
int raw_read_to_close(int fd, double timeout_s, int *texts);

/* ---- a raw client's frames, read as they come ---- */

/* what a raw client has received of one experiment, each row checked to follow the one before */
typedef struct RawReader {
    int fd;
    unsigned char *buf;
    size_t cap, len, off;
    int64_t exp;       /* the experiment whose rows are checked */
    int64_t last_seq;  /* the last row's seq */
    int64_t rows;      /* rows of exp */
    int64_t bad_order; /* rows whose seq was not last_seq + 1 */
    int64_t live_seq;  /* the seq of "live" (-1 before it) */
    int lives;
    int closed;
} RawReader;

/* fd from raw_connect, its receive window made small (a reader that stops reading stops the
 * server soon); rows of exp are expected after since */
void raw_reader_init(RawReader *r, int fd, int64_t exp, int64_t since);
/* reads what arrives within timeout_s and handles every whole frame */
void raw_reader_poll(RawReader *r, double timeout_s);
void raw_reader_free(RawReader *r);
void raw_subscribe(int fd, int64_t exp, int64_t since);
/* a long run: n rows stored in batches of 50 (all but the newest sealed into chunks), published
 * to no one yet */
void rows_fill(Stream *s, int64_t exp, int n, int pad);
/* rows the stream has sent from the store */
uint64_t backlog_rows(Stream *s);

#endif
