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
    raw_reader_init(&r, raw_connect(stream_port(s)), exp, SINCE);
    raw_subscribe(r.fd, exp, SINCE);
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
        raw_reader_poll(&r, 0.01);
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
    raw_reader_poll(&r, 0.2);
    ck_assert_int_eq(r.rows, total - SINCE);
    ck_assert_int_eq(r.closed, 0);
    raw_reader_free(&r);
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
    raw_reader_init(&r, raw_connect(stream_port(s)), big, 0);
    raw_subscribe(r.fd, big, 0);
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
        raw_reader_poll(&r, 0.01);
    }
    ck_assert_int_eq(r.lives, 1);
    ck_assert_int_eq(r.rows, BIG);
    ck_assert_int_eq(r.bad_order, 0);
    ck_assert_int_eq(r.last_seq, BIG);
    stream_stats_get(s, &st);
    ck_assert_uint_eq(st.slow_closed, 0);
    ck_assert_uint_ge(st.backlog_rows, BIG);
    raw_reader_free(&r);
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
