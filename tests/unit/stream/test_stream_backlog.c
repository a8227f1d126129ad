/* Tests of server/stream/stream_backlog.c, the backlogs read by a worker thread: rows committed
 * and published while a page is read, after the page that has no more rows was read and before
 * it was handed over, reach the subscriber once and in order (one more page is read); a
 * subscriber that goes away while the worker reads its page leaves nothing behind and stops the
 * reads; a subscriber that does not read holds one page of memory and no more reads, while
 * another backlog and the live subscribers of another run are served. Counted and ordered,
 * never timed. The worker's hook (stream_int.h) publishes rows or holds the worker at the exact
 * point where a page has been read. */
#include "stream_int.h"
#include "stream_test_util.h"

#include "ag_time.h"

#include <check.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static StreamStats stats(Stream *s) {
    StreamStats st;
    stream_stats_get(s, &st);
    return st;
}

/* ---- rows committed while the backlog is read ---- */

static int64_t hook_exp;
static atomic_int hook_pages_left; /* pages after which rows are published */
static atomic_int hook_final_left; /* last pages (no more rows) after which rows are published */
static atomic_int hook_final_seen; /* last pages read */

/* after a page, rows committed and published before the page is handed over: the page cannot
 * hold them, and the service thread sees their publication before it takes the page */
static void publish_after_read(Stream *s, StreamFetch *f) {
    int last = !f->full && f->rows < s->cfg.backlog_chunk;
    if (f->exp_id != hook_exp || f->rc) {
        return;
    }
    if (last) {
        atomic_fetch_add(&hook_final_seen, 1);
    }
    if (last ? atomic_fetch_sub(&hook_final_left, 1) > 0
             : atomic_fetch_sub(&hook_pages_left, 1) > 0) {
        rows_add(s, f->exp_id, 3, 80);
    }
}

/* a 3,000-row backlog from seq 700; three rows published after each of its first five pages and
 * after each of its first three last pages: every row once, in order, "live" at the last one */
START_TEST(test_rows_committed_during_reads) {
    enum { STORED = 3000, SINCE = 700 };
    StreamConfig cfg = small_config();
    Stream *s;
    RawReader r;
    int64_t exp;
    int last_pages;
    cfg.backlog_chunk = 100;
    s = server_start(&cfg);
    exp = exp_new();
    rows_fill(s, exp, STORED, 200);
    hook_exp = exp;
    atomic_store(&hook_pages_left, 5);
    atomic_store(&hook_final_left, 3);
    atomic_store(&hook_final_seen, 0);
    s->backlog_read_hook = publish_after_read;
    raw_reader_init(&r, raw_connect(stream_port(s)), exp, SINCE);
    raw_subscribe(r.fd, exp, SINCE);
    for (int i = 0; i < 3000 && r.lives == 0 && !r.closed; i++) {
        raw_reader_poll(&r, 0.01);
    }
    /* 5 x 3 rows during the backlog, 3 x 3 after each of three pages that had no more */
    last_pages = atomic_load(&hook_final_seen);
    ck_assert_int_eq(last_pages, 4);
    ck_assert_int_eq(r.lives, 1);
    ck_assert_int_eq(r.bad_order, 0);
    ck_assert_int_eq(r.live_seq, STORED + 24);
    ck_assert_int_eq(r.last_seq, STORED + 24);
    ck_assert_int_eq(r.rows, STORED + 24 - SINCE);
    /* live again: a row published now comes live, and nothing else */
    s->backlog_read_hook = NULL;
    rows_add(s, exp, 1, 80);
    for (int i = 0; i < 100 && r.last_seq < STORED + 25; i++) {
        raw_reader_poll(&r, 0.01);
    }
    raw_reader_poll(&r, 0.1);
    ck_assert_int_eq(r.rows, STORED + 25 - SINCE);
    ck_assert_int_eq(r.bad_order, 0);
    ck_assert_int_eq(r.lives, 1);
    raw_reader_free(&r);
    stream_destroy(s);
}
END_TEST

/* ---- a subscriber that goes away mid-backlog ---- */

static atomic_int hold_worker; /* the worker waits after its read while this is 1 */
static atomic_int held;        /* it is waiting */

static void hold_after_read(Stream *s, StreamFetch *f) {
    (void)s;
    (void)f;
    if (!atomic_load(&hold_worker)) {
        return;
    }
    atomic_store(&held, 1);
    while (atomic_load(&hold_worker)) {
        ag_time_sleep(0.001);
    }
    atomic_store(&held, 0);
}

static int wait_for(Stream *s, int (*cond)(Stream *s)) {
    for (int i = 0; i < 2000; i++) {
        if (cond(s)) {
            return 1;
        }
        ag_time_sleep(0.005);
    }
    return 0;
}
static int worker_held(Stream *s) {
    (void)s;
    return atomic_load(&held);
}
static int no_clients(Stream *s) {
    return stats(s).clients == 0;
}
static int no_backlog_memory(Stream *s) {
    return stats(s).backlog_bytes == 0;
}

/* the subscriber closes while the worker holds its page: the page is freed once handed back
 * (no memory left, nothing read for it again), and the next subscriber gets its whole backlog */
START_TEST(test_subscriber_gone_mid_backlog) {
    enum { STORED = 5000 };
    StreamConfig cfg = small_config();
    Stream *s;
    RawReader r;
    int64_t exp;
    uint64_t reads;
    cfg.backlog_chunk = 100;
    s = server_start(&cfg);
    exp = exp_new();
    rows_fill(s, exp, STORED, 200);
    atomic_store(&hold_worker, 1);
    atomic_store(&held, 0);
    s->backlog_read_hook = hold_after_read;
    raw_reader_init(&r, raw_connect(stream_port(s)), exp, 0);
    raw_subscribe(r.fd, exp, 0);
    ck_assert(wait_for(s, worker_held));
    ck_assert_uint_gt(stats(s).backlog_bytes, 0);
    raw_reader_free(&r);
    ck_assert(wait_for(s, no_clients));
    reads = stats(s).backlog_reads;
    ck_assert_uint_eq(reads, 1);
    atomic_store(&hold_worker, 0);
    ck_assert(wait_for(s, no_backlog_memory));
    ck_assert_uint_eq(stats(s).backlog_reads, reads);
    ck_assert_uint_eq(stats(s).backlog_rows, 0);
    /* the worker goes on for the next one */
    raw_reader_init(&r, raw_connect(stream_port(s)), exp, 0);
    raw_subscribe(r.fd, exp, 0);
    for (int i = 0; i < 3000 && r.lives == 0 && !r.closed; i++) {
        raw_reader_poll(&r, 0.01);
    }
    ck_assert_int_eq(r.lives, 1);
    ck_assert_int_eq(r.rows, STORED);
    ck_assert_int_eq(r.bad_order, 0);
    raw_reader_free(&r);
    ck_assert(wait_for(s, no_backlog_memory));
    stream_destroy(s);
}
END_TEST

/* ---- a subscriber that does not read ---- */

static int rows_at_least(const Tc *c, int64_t a) {
    return c->rows[a >> 32] >= (a & 0xffffffff);
}

/* the reads made for backlogs, once they have stopped changing (a stalled subscriber's page is
 * read and waits; nothing more is read for it) */
static uint64_t reads_settled(Stream *s) {
    uint64_t before = stats(s).backlog_reads;
    for (int i = 0; i < 100; i++) {
        uint64_t now;
        ag_time_sleep(0.05);
        now = stats(s).backlog_reads;
        if (now == before) {
            return now;
        }
        before = now;
    }
    ck_abort_msg("backlog reads never stopped");
    return 0;
}

/* a subscriber stops reading in the middle of a 20,000-row backlog: it holds one page (half its
 * send buffer) and no more store reads; meanwhile another subscriber gets its whole 3,000-row
 * backlog and four live subscribers get every row of a live run, in order; then the stalled one
 * reads again and gets the rest, each row once */
START_TEST(test_stalled_subscriber_bounded) {
    enum { BIG = 20000, OTHER = 3000, LIVE = 200, N = 4 };
    StreamConfig cfg = small_config();
    Stream *s;
    RawReader stalled, other;
    Tc *c[N];
    int64_t big, small, live;
    cfg.send_buf_bytes = 64 * 1024;
    cfg.backlog_chunk = 100;
    s = server_start(&cfg);
    big = exp_new();
    small = exp_new();
    live = exp_new();
    rows_fill(s, big, BIG, 400);
    rows_fill(s, small, OTHER, 400);
    clients_start(stream_port(s));
    for (int i = 0; i < N; i++) {
        c[i] = tc_subscribed(live, 0, TC_AUTH_HEADER);
    }
    raw_reader_init(&stalled, raw_connect(stream_port(s)), big, 0);
    raw_subscribe(stalled.fd, big, 0);
    ck_assert_uint_gt(reads_settled(s), 0);
    ck_assert_uint_lt(backlog_rows(s), BIG / 2);
    /* one page waits for room, at most half the send buffer */
    ck_assert_uint_gt(stats(s).backlog_bytes, 0);
    ck_assert_uint_le(stats(s).backlog_bytes, cfg.send_buf_bytes / 2);

    /* the others are served meanwhile */
    raw_reader_init(&other, raw_connect(stream_port(s)), small, 0);
    raw_subscribe(other.fd, small, 0);
    for (int i = 0; i < LIVE / 10; i++) {
        rows_add(s, live, 10, 100);
    }
    for (int i = 0; i < 3000 && other.lives == 0 && !other.closed; i++) {
        raw_reader_poll(&other, 0.01);
    }
    ck_assert_int_eq(other.lives, 1);
    ck_assert_int_eq(other.rows, OTHER);
    ck_assert_int_eq(other.bad_order, 0);
    for (int i = 0; i < N; i++) {
        ck_assert_msg(tc_wait(c[i], rows_at_least, exp_seq(live, LIVE), 30),
                      "live subscriber %d got %d of %d rows", i, c[i]->rows[live], LIVE);
    }
    pthread_mutex_lock(&tmu);
    for (int i = 0; i < N; i++) {
        ck_assert_int_eq(c[i]->rows[live], LIVE);
        ck_assert_int_eq(c[i]->bad_order, 0);
    }
    pthread_mutex_unlock(&tmu);
    /* the stalled one's page alone is held (the other's was freed at its "live") */
    ck_assert_uint_le(stats(s).backlog_bytes, cfg.send_buf_bytes / 2);
    ck_assert_uint_lt(backlog_rows(s), BIG / 2 + OTHER);
    ck_assert_uint_eq(stats(s).slow_closed, 0);

    /* it reads again: the rest of its backlog, then "live" */
    for (int i = 0; i < 6000 && stalled.lives == 0 && !stalled.closed; i++) {
        raw_reader_poll(&stalled, 0.01);
    }
    ck_assert_int_eq(stalled.lives, 1);
    ck_assert_int_eq(stalled.rows, BIG);
    ck_assert_int_eq(stalled.bad_order, 0);
    ck_assert_uint_eq(stats(s).slow_closed, 0);
    ck_assert(wait_for(s, no_backlog_memory));
    raw_reader_free(&stalled);
    raw_reader_free(&other);
    clients_stop();
    stream_destroy(s);
}
END_TEST

static Suite *stream_backlog_suite(void) {
    Suite *s = suite_create("stream_backlog");
    TCase *t = tcase_create("backlog");
    tcase_add_checked_fixture(t, store_setup, store_teardown);
    tcase_set_timeout(t, 120);
    tcase_add_test(t, test_rows_committed_during_reads);
    tcase_add_test(t, test_subscriber_gone_mid_backlog);
    tcase_add_test(t, test_stalled_subscriber_bounded);
    suite_add_tcase(s, t);
    return s;
}

int main(void) {
    SRunner *sr = srunner_create(stream_backlog_suite());
    int failed;
    lws_set_log_level(LLL_ERR, NULL);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
