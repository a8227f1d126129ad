/* Tests of server/stream/stream_subs.c's backlogs: a subscriber resuming with since_seq in the
 * middle of a long sealed series gets every row after it once and in seq order, across the
 * backlog/live handover, while rows are ingested during the backlog (some while its reader has
 * stopped reading, some while it reads); a subscriber that stops reading in the middle of a
 * long backlog holds back neither the live subscribers of another run nor itself (it is not
 * closed as slow, and later gets the rest). Counted and ordered, never timed. */
#include "stream_test_util.h"

#include "ag_time.h"

#include <check.h>
#include <jansson.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* ---- a raw client's frames, read as they come ---- */

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

static void reader_init(RawReader *r, int fd, int64_t exp, int64_t since) {
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

static void reader_message(RawReader *r, const char *text, size_t len) {
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
static void reader_poll(RawReader *r, double timeout_s) {
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
            reader_message(r, (const char *)f + hdr, plen);
        }
        r->off += hdr + plen;
    }
}

static void reader_free(RawReader *r) {
    close(r->fd);
    free(r->buf);
}

static void subscribe_raw(int fd, int64_t exp, int64_t since) {
    char msg[120];
    snprintf(msg, sizeof(msg),
             "{\"type\":\"subscribe\",\"experiments\":[{\"id\":%lld,\"since_seq\":%lld}]}",
             (long long)exp, (long long)since);
    raw_send_text(fd, msg);
}

/* a long run: n rows stored in batches of 50 (all but the newest sealed into chunks), published
 * to no one yet */
static void rows_fill(Stream *s, int64_t exp, int n, int pad) {
    for (int i = 0; i < n; i += 50) {
        rows_add(s, exp, 50, pad);
    }
}

static uint64_t backlog_rows(Stream *s) {
    StreamStats st;
    stream_stats_get(s, &st);
    return st.backlog_rows;
}

/* ---- tests ---- */

/* since_seq in the middle of a chunk of a 20,000-row run; rows go on being ingested while the
 * subscriber has stopped reading mid-backlog and while it reads: it gets seq 1,234 to the last,
 * each once and in order, and one "live" */
START_TEST(test_backlog_handover_while_ingesting) {
    enum { STORED = 20000, SINCE = 1234 };
    StreamConfig cfg = small_config();
    Stream *s;
    RawReader r;
    int64_t exp, total = STORED;
    uint64_t paused_at;
    cfg.send_buf_bytes = 64 * 1024;
    cfg.backlog_chunk = 100;
    s = server_start(&cfg);
    exp = exp_new();
    rows_fill(s, exp, STORED, 400);
    reader_init(&r, raw_connect(stream_port(s)), exp, SINCE);
    subscribe_raw(r.fd, exp, SINCE);
    /* without reading: the server stops reading the store once the socket and the send buffer
     * are full, far from the end of the backlog */
    for (int i = 0; i < 100 && backlog_rows(s) == 0; i++) {
        ag_time_sleep(0.01);
    }
    ag_time_sleep(0.2);
    paused_at = backlog_rows(s);
    printf("handover: the backlog paused after %llu of %d rows\n", (unsigned long long)paused_at,
           STORED - SINCE);
    ck_assert_uint_gt(paused_at, 0);
    ck_assert_uint_lt(paused_at, STORED - SINCE);
    /* rows ingested and published meanwhile: the paused backlog must fetch them from the store */
    for (int i = 0; i < 20; i++) {
        rows_add(s, exp, 10, 80);
        total += 10;
    }
    ck_assert_uint_lt(backlog_rows(s), STORED - SINCE); /* still in the middle of it */
    /* reading again, with rows still being ingested until the handover and after it */
    for (int i = 0; i < 4000 && (r.lives == 0 || r.last_seq < total); i++) {
        reader_poll(&r, 0.01);
        if (i % 4 == 0 && total < STORED + 1000) {
            rows_add(s, exp, 10, 80);
            total += 10;
        }
    }
    ck_assert_int_eq(r.lives, 1);
    ck_assert_int_eq(r.bad_order, 0);
    ck_assert_int_eq(r.last_seq, total);
    ck_assert_int_eq(r.rows, total - SINCE);
    ck_assert_int_gt(r.live_seq, STORED); /* the backlog took rows stored while it ran */
    /* nothing more, and no duplicate, comes later */
    reader_poll(&r, 0.2);
    ck_assert_int_eq(r.rows, total - SINCE);
    ck_assert_int_eq(r.closed, 0);
    reader_free(&r);
    stream_destroy(s);
}
END_TEST

static int rows_at_least(const Tc *c, int64_t a) {
    return c->rows[a >> 32] >= (a & 0xffffffff);
}

/* a subscriber stops reading in the middle of a 20,000-row backlog: four subscribers of a live
 * run get all of its 300 rows in order meanwhile, the stopped one is not closed as slow, and
 * when it reads again it gets the rest of its backlog, each row once */
START_TEST(test_stopped_backlog_holds_back_no_one) {
    enum { BIG = 20000, LIVE = 300, N = 4 };
    StreamConfig cfg = small_config();
    Stream *s;
    RawReader r;
    Tc *c[N];
    StreamStats st;
    int64_t big, live;
    uint64_t paused_at;
    cfg.send_buf_bytes = 128 * 1024;
    cfg.backlog_chunk = 256;
    s = server_start(&cfg);
    big = exp_new();
    live = exp_new();
    rows_fill(s, big, BIG, 400);
    clients_start(stream_port(s));
    for (int i = 0; i < N; i++) {
        c[i] = tc_subscribed(live, 0, TC_AUTH_HEADER);
    }
    reader_init(&r, raw_connect(stream_port(s)), big, 0);
    subscribe_raw(r.fd, big, 0);
    for (int i = 0; i < 100 && backlog_rows(s) == 0; i++) {
        ag_time_sleep(0.01);
    }
    for (int i = 0; i < LIVE / 10; i++) {
        rows_add(s, live, 10, 100);
    }
    for (int i = 0; i < N; i++) {
        ck_assert_msg(tc_wait(c[i], rows_at_least, exp_seq(live, LIVE), 30),
                      "live subscriber %d got %d of %d rows", i, c[i]->rows[live], LIVE);
    }
    /* all that while the backlog stood still, a small part of it sent */
    paused_at = backlog_rows(s);
    printf("stopped backlog: %llu of %d rows sent while the live rows went out\n",
           (unsigned long long)paused_at, BIG);
    ck_assert_uint_lt(paused_at, BIG / 2);
    pthread_mutex_lock(&tmu);
    for (int i = 0; i < N; i++) {
        ck_assert_int_eq(c[i]->rows[live], LIVE);
        ck_assert_int_eq(c[i]->bad_order, 0);
    }
    pthread_mutex_unlock(&tmu);
    stream_stats_get(s, &st);
    ck_assert_uint_eq(st.slow_closed, 0);
    /* the stopped subscriber reads again: the rest of its backlog, then "live" */
    for (int i = 0; i < 4000 && r.lives == 0 && !r.closed; i++) {
        reader_poll(&r, 0.01);
    }
    ck_assert_int_eq(r.lives, 1);
    ck_assert_int_eq(r.rows, BIG);
    ck_assert_int_eq(r.bad_order, 0);
    ck_assert_int_eq(r.last_seq, BIG);
    stream_stats_get(s, &st);
    ck_assert_uint_eq(st.slow_closed, 0);
    ck_assert_uint_ge(st.backlog_rows, BIG);
    reader_free(&r);
    clients_stop();
    stream_destroy(s);
}
END_TEST

static Suite *stream_subs_suite(void) {
    Suite *s = suite_create("stream_subs");
    TCase *t = tcase_create("backlog");
    tcase_add_checked_fixture(t, store_setup, store_teardown);
    tcase_set_timeout(t, 120);
    tcase_add_test(t, test_backlog_handover_while_ingesting);
    tcase_add_test(t, test_stopped_backlog_holds_back_no_one);
    suite_add_tcase(s, t);
    return s;
}

int main(void) {
    SRunner *sr = srunner_create(stream_subs_suite());
    int failed;
    lws_set_log_level(LLL_ERR, NULL);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
