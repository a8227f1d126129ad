/* Integration: a metric line that a live run writes is ingested when inotify reports it, not at
 * the next ingestion tick. The tick is set to its longest (10 s), so that rows seen before it
 * came round can only have been read because of the event; with events turned off the same run's
 * rows wait for the tick. */
#include "itest.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

/* a run that writes a row every 0.1 s for far longer than the test looks at it */
static const char *spec_slow = "{\"task\":\"CartPole\",\"name\":\"events\","
                               "\"notes\":\"fake:iters=400,sleep=0.1\"}";

#define INGEST_TICK_S "10"
/* the test must have seen rows this long after the daemon started, well before the second tick */
#define BEFORE_TICK_S 8.0

static long long rows_of(const Daemon *d, long long id) {
    json_t *o = itest_get(d, id);
    long long n = json_integer_value(json_object_get(o, "metric_rows"));
    json_decref(o);
    return n;
}

static void cancel(const Daemon *d, long long id) {
    char path[128];
    HttpResult r;
    snprintf(path, sizeof(path), "/api/v1/experiments/%lld/cancel", id);
    itest_http(d, "POST", path, "", NULL, 0, &r);
    ck_assert_msg(r.status == 200 || r.status == 202, "cancel: %ld", r.status);
    itest_http_free(&r);
    json_decref(itest_wait_state(d, id, "cancelled", 60));
}

START_TEST(test_rows_arrive_between_ticks) {
    Daemon d;
    const char *extra[] = {"--ingest-seconds", INGEST_TICK_S, NULL};
    itest_daemon_init(&d);
    /* the first tick runs as the loop starts, before anything is submitted; the next one only
     * 10 s later */
    double t0 = itest_now();
    itest_daemon_start(&d, itest_fake_trainer(), extra);
    long long id = itest_submit(&d, spec_slow, 0);
    json_decref(itest_wait_state(&d, id, "running", 30));
    long long seen = 0, grew = 0, last = 0;
    while (itest_now() - t0 < BEFORE_TICK_S && grew < 3) {
        seen = rows_of(&d, id);
        grew += seen > last;
        last = seen;
        itest_sleep(0.05);
    }
    ck_assert_msg(grew >= 3, "rows grew %lld time(s) (%lld rows) in the %.0f s before the tick",
                  grew, seen, BEFORE_TICK_S);
    cancel(&d, id);
    itest_daemon_finish(&d);
}
END_TEST

START_TEST(test_without_events_rows_wait_for_the_tick) {
    Daemon d;
    const char *extra[] = {"--ingest-seconds", INGEST_TICK_S, "--ingest-events", "no", NULL};
    itest_daemon_init(&d);
    double t0 = itest_now();
    itest_daemon_start(&d, itest_fake_trainer(), extra);
    long long id = itest_submit(&d, spec_slow, 0);
    json_decref(itest_wait_state(&d, id, "running", 30));
    /* rows are being written (the run directory says so) but none is read before the tick */
    itest_sleep(1.0);
    double looked_at = itest_now() - t0;
    long long n = rows_of(&d, id);
    if (looked_at < BEFORE_TICK_S) {
        ck_assert_msg(n == 0, "%lld row(s) read %.1f s after the start, before the tick", n,
                      looked_at);
    }
    /* the tick still reads them */
    itest_wait_rows(&d, id, 1, 30);
    cancel(&d, id);
    itest_daemon_finish(&d);
}
END_TEST

START_TEST(test_bad_setting_refused) {
    Daemon d;
    char cmd[1024], out[4096];
    itest_daemon_init(&d);
    snprintf(cmd, sizeof(cmd), "%s --data-dir %s --port 0 --ingest-events sometimes 2>&1",
             itest_angorad(), d.dir);
    FILE *p = popen(cmd, "r");
    ck_assert_ptr_nonnull(p);
    size_t n = fread(out, 1, sizeof(out) - 1, p);
    out[n] = '\0';
    int status = pclose(p);
    ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 2, "exit status %d: %s", status, out);
    ck_assert_msg(strstr(out, "ingest_events: yes or no") != NULL, "%s", out);
    itest_daemon_cleanup(&d);
}
END_TEST

int main(void) {
    const TTest *tests[] = {test_rows_arrive_between_ticks,
                            test_without_events_rows_wait_for_the_tick, test_bad_setting_refused};
    return itest_run_tests("integration_ingest_events", 120, tests, ITEST_COUNT(tests));
}
