/* Integration: metric rows stored before roll-ups existed (rollup_seq 0, no buckets, as
 * migration 007 leaves a database of an earlier version) are rolled up by the running daemon
 * from its cron, every row kept, and the series of a key the rows hold only in their JSON is then
 * answered from the buckets with the min, max and last of the rows. */
#include "itest.h"

#include <check.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ROWS 3000

/* the key "entropy" of iteration i, in no order */
static double entropy_of(long i) {
    return (double)(i * 7919 % 1009) / 13.0;
}

static void sql(const Daemon *d, const char *text) {
    sqlite3 *db = NULL;
    ck_assert_int_eq(sqlite3_open(itest_path(d, "angorad.db"), &db), SQLITE_OK);
    ck_assert_msg(sqlite3_exec(db, text, NULL, NULL, NULL) == SQLITE_OK, "%s", sqlite3_errmsg(db));
    sqlite3_close(db);
}

static json_t *series(const Daemon *d) {
    HttpResult r;
    json_t *o;
    itest_http(d, "GET", "/api/v1/experiments/1/metrics/series?key=entropy&points=20", "", NULL, 0,
               &r);
    ck_assert_msg(r.status == 200, "series: %ld %s", r.status, r.body ? r.body : "");
    o = json_incref(r.json);
    itest_http_free(&r);
    return o;
}

START_TEST(test_rows_of_before_rolled_up_by_the_daemon) {
    Daemon d;
    json_t *o = NULL;
    double t0, mn = 1e9, mx = -1e9;
    size_t i, n;
    json_t *v;
    itest_daemon_init(&d);
    itest_daemon_start(&d, itest_fake_trainer(), NULL);
    itest_daemon_stop(&d, NULL);
    /* a finished run of 3000 rows written without roll-ups */
    sql(&d, "INSERT INTO experiments (id, name, task, spec, state, submitted_at, last_seq)"
            " VALUES (1, 'old', 'CartPole', '{}', 'succeeded', 1, 3000);"
            " WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < 3000)"
            " INSERT INTO metrics (exp_id, seq, iteration, return_mean, row)"
            " SELECT 1, i, i, i * 0.5, json_object('iteration', i, 'return_mean', i * 0.5,"
            " 'entropy', (i * 7919 % 1009) / 13.0) FROM c;");
    itest_daemon_start(&d, itest_fake_trainer(), NULL);
    /* read from the rows until the cron has caught up, then from the buckets */
    t0 = itest_now();
    for (;;) {
        o = series(&d);
        if (json_integer_value(json_object_get(o, "rollup_width")) > 0) {
            break;
        }
        ck_assert_int_eq(json_integer_value(json_object_get(o, "source_points")), ROWS);
        json_decref(o);
        ck_assert_msg(itest_now() - t0 < 60, "the roll-up did not catch up in 60 s");
        itest_sleep(0.1);
    }
    ck_assert_int_eq(json_integer_value(json_object_get(o, "rollup_width")), 256);
    ck_assert_int_eq(json_integer_value(json_object_get(o, "source_points")), ROWS);
    n = json_array_size(json_object_get(o, "x"));
    ck_assert_uint_le(n, 20);
    ck_assert_uint_ge(n, 10);
    json_array_foreach(json_object_get(o, "min"), i, v) {
        mn = json_number_value(v) < mn ? json_number_value(v) : mn;
    }
    json_array_foreach(json_object_get(o, "max"), i, v) {
        mx = json_number_value(v) > mx ? json_number_value(v) : mx;
    }
    /* every row counted: the extremes of the whole run, and the last row's value last (SQLite
     * wrote the rows' JSON with 15 significant digits) */
    ck_assert(mn == 0.0);
    ck_assert_double_eq_tol(mx, 1008.0 / 13.0, 1e-9);
    ck_assert_double_eq_tol(json_number_value(json_array_get(json_object_get(o, "last"), n - 1)),
                            entropy_of(ROWS), 1e-9);
    ck_assert(json_number_value(json_array_get(json_object_get(o, "x"), n - 1)) == ROWS);
    json_decref(o);
    itest_assert_rows_exact(&d, 1, ROWS);
    itest_daemon_finish(&d);
}
END_TEST

int main(void) {
    const TTest *tests[] = {test_rows_of_before_rolled_up_by_the_daemon};
    return itest_run_tests("rollup", 120, tests, ITEST_COUNT(tests));
}
