/* Tests of the time helpers (common/ag_time.c): monotonic clocks, sleeping, wall time and
 * ISO 8601 formatting, the process's CPU time. */
#include "ag_time.h"

#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

START_TEST(test_monotonic) {
    double prev = ag_time_now();
    uint64_t prev_ns = ag_time_ns();
    for (int i = 0; i < 100000; i++) {
        double t = ag_time_now();
        uint64_t ns = ag_time_ns();
        ck_assert(t >= prev);
        ck_assert(ns >= prev_ns);
        prev = t;
        prev_ns = ns;
    }
    /* the two clocks agree: one reading lies between two readings of the other, whatever the
     * scheduler does in between */
    uint64_t before_ns = ag_time_ns();
    double t = ag_time_now();
    uint64_t after_ns = ag_time_ns();
    ck_assert_double_ge(t, (double)before_ns * 1e-9 - 1e-9);
    ck_assert_double_le(t, (double)after_ns * 1e-9 + 1e-9);
}
END_TEST

START_TEST(test_sleep) {
    double t0 = ag_time_now();
    uint64_t n0 = ag_time_ns();
    ag_time_sleep(0.05);
    double dt = ag_time_now() - t0;
    uint64_t dn = ag_time_ns() - n0;
    /* at least as long as asked; the upper bounds only catch a sleep that misreads its unit,
     * with room for a loaded machine */
    ck_assert_double_ge(dt, 0.049);
    ck_assert_double_lt(dt, 10.0);
    ck_assert_uint_ge(dn, 49000000u);
    /* nothing to wait for: a negative or NaN duration must not become a long one */
    t0 = ag_time_now();
    ag_time_sleep(0.0);
    ag_time_sleep(-1.0);
    ag_time_sleep(NAN);
    ck_assert_double_lt(ag_time_now() - t0, 5.0);
}
END_TEST

START_TEST(test_wall) {
    time_t before = time(NULL);
    double w = ag_time_wall();
    time_t after = time(NULL);
    ck_assert_double_ge(w, (double)before);
    ck_assert_double_lt(w, (double)after + 1.0);
    ck_assert_double_gt(w, 1.7e9); /* after 2023 */
}
END_TEST

START_TEST(test_iso8601) {
    char buf[32];
    ck_assert_str_eq(ag_time_iso8601(0, buf, sizeof buf), "1970-01-01T00:00:00Z");
    ck_assert_str_eq(ag_time_iso8601(1767323045.0, buf, sizeof buf), "2026-01-02T03:04:05Z");
    /* fractions are dropped, not rounded up */
    ck_assert_str_eq(ag_time_iso8601(1767323045.999, buf, sizeof buf), "2026-01-02T03:04:05Z");
    ck_assert_str_eq(ag_time_iso8601(-0.5, buf, sizeof buf), "1969-12-31T23:59:59Z");
    ck_assert_ptr_eq(ag_time_iso8601(0, buf, sizeof buf), buf);
    /* too small a buffer: an empty string, never garbage */
    char small[8];
    memset(small, 'x', sizeof small);
    ck_assert_str_eq(ag_time_iso8601(0, small, sizeof small), "");
    ck_assert_str_eq(ag_time_iso8601(NAN, buf, sizeof buf), "");
    ck_assert_str_eq(ag_time_iso8601(1e300, buf, sizeof buf), "");
    char none[1] = {'y'};
    ag_time_iso8601(0, none, 0);
    ck_assert_int_eq(none[0], 'y');
    /* the current time formats as today */
    char day_before[32], day_after[32];
    struct tm tm;
    time_t now = time(NULL);
    gmtime_r(&now, &tm);
    strftime(day_before, sizeof day_before, "%Y-%m-%d", &tm);
    ag_time_iso8601(ag_time_wall(), buf, sizeof buf);
    now = time(NULL);
    gmtime_r(&now, &tm);
    strftime(day_after, sizeof day_after, "%Y-%m-%d", &tm);
    ck_assert(strncmp(buf, day_before, 10) == 0 || strncmp(buf, day_after, 10) == 0);
}
END_TEST

/* the CPU clock counts work and not waiting */
START_TEST(test_cpu) {
    double c0 = ag_time_cpu(), t0 = ag_time_now();
    ck_assert_double_ge(c0, 0.0);
    volatile double sink = 0.0;
    while (ag_time_cpu() - c0 < 0.05) {
        for (int i = 0; i < 100000; i++) {
            sink += sqrt((double)i);
        }
        ck_assert_msg(ag_time_now() - t0 < 60.0, "0.05 s of CPU not counted in 60 s of spinning");
    }
    double c1 = ag_time_cpu();
    ag_time_sleep(0.3);
    ck_assert_double_lt(ag_time_cpu() - c1, 0.2);
    (void)sink;
}
END_TEST

static Suite *time_suite(void) {
    Suite *s = suite_create("ag_time");
    TCase *tc = tcase_create("time");
    tcase_add_test(tc, test_monotonic);
    tcase_add_test(tc, test_sleep);
    tcase_add_test(tc, test_wall);
    tcase_add_test(tc, test_iso8601);
    tcase_add_test(tc, test_cpu);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) {
    SRunner *sr = srunner_create(time_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
