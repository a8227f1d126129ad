/* Integration: cancel (running and queued), pause and resume (the rows up to the pause keep
 * their seq, only later ones are new), a worker killed with SIGKILL
 * retried from its checkpoint, and a run that keeps crashing marked failed with the reason. */
#include "itest.h"

#include <check.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *const extra[] = {"--max-cores", "1", "--grace-seconds", "2", "--max-attempts",
                                    "3",           NULL};

static int post_action(const Daemon *d, long long id, const char *action) {
    HttpResult r;
    char path[128];
    int status;
    snprintf(path, sizeof(path), "/api/v1/experiments/%lld/%s", id, action);
    itest_http(d, "POST", path, "", NULL, 0, &r);
    status = (int)r.status;
    itest_http_free(&r);
    return status;
}

static int has_event(const Daemon *d, long long id, const char *kind) {
    HttpResult r;
    char path[128], needle[64];
    int found;
    snprintf(path, sizeof(path), "/api/v1/experiments/%lld/events", id);
    snprintf(needle, sizeof(needle), "\"kind\":\"%s\"", kind);
    itest_http(d, "GET", path, "", NULL, 0, &r);
    found = r.body && strstr(r.body, needle) != NULL;
    itest_http_free(&r);
    return found;
}

/* every stored row's seq equals its iteration (1..n): nothing was renumbered */
static void assert_seq_is_iteration(const Daemon *d, long long id, long long n) {
    HttpResult r;
    char path[160];
    json_t *rows, *v;
    size_t i;
    snprintf(path, sizeof(path), "/api/v1/experiments/%lld/metrics/export", id);
    itest_http(d, "GET", path, "", NULL, 0, &r);
    ck_assert_int_eq(r.status, 200);
    rows = json_object_get(r.json, "rows");
    ck_assert_int_eq((long long)json_array_size(rows), n);
    json_array_foreach(rows, i, v) {
        long long seq = json_integer_value(json_object_get(v, "seq"));
        long long it = json_integer_value(json_object_get(json_object_get(v, "row"), "iteration"));
        ck_assert_msg(seq == it, "seq %lld holds iteration %lld", seq, it);
    }
    itest_http_free(&r);
}

START_TEST(test_cancel) {
    Daemon d;
    long long run, queued;
    json_t *o;
    double t0;
    itest_daemon_init(&d);
    itest_daemon_start(&d, itest_fake_trainer(), extra);
    run = itest_submit(&d, "{\"task\":\"CartPole\",\"notes\":\"fake:iters=400,sleep=0.05\"}", 0);
    queued = itest_submit(&d, "{\"task\":\"CartPole\",\"notes\":\"fake:iters=3\"}", 0);
    json_decref(itest_wait_state(&d, run, "running", 10));
    /* a queued one is cancelled at once */
    ck_assert_int_eq(post_action(&d, queued, "cancel"), 200);
    o = itest_get(&d, queued);
    ck_assert_str_eq(itest_state(o), "cancelled");
    json_decref(o);
    ck_assert_int_eq(post_action(&d, queued, "cancel"), 409);
    /* a running one when its worker has stopped */
    t0 = itest_now();
    ck_assert_int_eq(post_action(&d, run, "cancel"), 202);
    o = itest_wait_state(&d, run, "cancelled", 10);
    ck_assert_str_eq(json_string_value(json_object_get(o, "error")), "cancelled by request");
    ck_assert(json_is_null(json_object_get(o, "pid")));
    json_decref(o);
    ck_assert_msg(itest_now() - t0 < 5, "cancel took %.1f s", itest_now() - t0);
    ck_assert_int_eq(itest_daemon_stop(&d, NULL), 0);
    itest_daemon_cleanup(&d);
}
END_TEST

START_TEST(test_pause_resume) {
    Daemon d;
    long long id;
    json_t *o;
    long long rows_paused;
    char path[400];
    FILE *f;
    char log[4096];
    size_t n;
    itest_daemon_init(&d);
    itest_daemon_start(&d, itest_fake_trainer(), extra);
    id = itest_submit(&d, "{\"task\":\"CartPole\",\"notes\":\"fake:iters=30,sleep=0.04\"}", 0);
    itest_wait_rows(&d, id, 5, 20);
    ck_assert_int_eq(post_action(&d, id, "pause"), 202);
    o = itest_wait_state(&d, id, "paused", 10);
    rows_paused = json_integer_value(json_object_get(o, "metric_rows"));
    ck_assert_int_ge(rows_paused, 5);
    ck_assert_int_lt(rows_paused, 30);
    json_decref(o);
    /* paused stays paused */
    itest_sleep(0.3);
    o = itest_get(&d, id);
    ck_assert_str_eq(itest_state(o), "paused");
    ck_assert_int_eq(json_integer_value(json_object_get(o, "metric_rows")), rows_paused);
    json_decref(o);
    ck_assert_int_eq(post_action(&d, id, "pause"), 409);
    ck_assert_int_eq(post_action(&d, id, "resume"), 200);
    o = itest_wait_state(&d, id, "succeeded", 30);
    ck_assert_int_eq(json_integer_value(json_object_get(o, "attempts")), 0);
    json_decref(o);
    itest_assert_rows_exact(&d, id, 30);
    assert_seq_is_iteration(&d, id, 30);
    /* a subscriber that had the rows up to the pause and asks for the rest (the stream's
     * backlog is this query) gets the iterations after the pause, each once */
    {
        HttpResult r;
        json_t *rows, *v;
        size_t i;
        snprintf(path, sizeof(path), "/api/v1/experiments/%lld/metrics/export?after_seq=%lld", id,
                 rows_paused);
        itest_http(&d, "GET", path, "", NULL, 0, &r);
        ck_assert_int_eq(r.status, 200);
        rows = json_object_get(r.json, "rows");
        ck_assert_int_eq((long long)json_array_size(rows), 30 - rows_paused);
        json_array_foreach(rows, i, v) {
            ck_assert_int_eq(
                json_integer_value(json_object_get(json_object_get(v, "row"), "iteration")),
                rows_paused + 1 + (long long)i);
        }
        itest_http_free(&r);
    }
    ck_assert(has_event(&d, id, "paused"));
    /* the worker continued from its checkpoint */
    snprintf(path, sizeof(path), "%s/runs/%lld/train.log", d.dir, id);
    f = fopen(path, "r");
    ck_assert_ptr_nonnull(f);
    n = fread(log, 1, sizeof(log) - 1, f);
    fclose(f);
    log[n] = '\0';
    ck_assert_ptr_nonnull(strstr(log, "resumed at iteration"));
    ck_assert_int_eq(itest_daemon_stop(&d, NULL), 0);
    itest_daemon_cleanup(&d);
}
END_TEST

START_TEST(test_worker_kill9_retried) {
    Daemon d;
    long long id;
    json_t *o;
    int pid;
    itest_daemon_init(&d);
    itest_daemon_start(&d, itest_fake_trainer(), extra);
    id = itest_submit(&d, "{\"task\":\"CartPole\",\"notes\":\"fake:iters=30,sleep=0.04\"}", 0);
    itest_wait_rows(&d, id, 8, 20);
    o = itest_get(&d, id);
    pid = (int)json_integer_value(json_object_get(o, "pid"));
    json_decref(o);
    ck_assert_int_gt(pid, 1);
    ck_assert_int_eq(kill(pid, SIGKILL), 0);
    o = itest_wait_state(&d, id, "succeeded", 30);
    ck_assert_int_eq(json_integer_value(json_object_get(o, "attempts")), 1);
    ck_assert_int_ne(json_integer_value(json_object_get(o, "pid")), pid);
    json_decref(o);
    ck_assert(has_event(&d, id, "retry"));
    itest_assert_rows_exact(&d, id, 30);
    ck_assert_int_eq(itest_daemon_stop(&d, NULL), 0);
    itest_daemon_cleanup(&d);
}
END_TEST

START_TEST(test_crash_until_failed) {
    Daemon d;
    long long id;
    json_t *o;
    const char *error;
    itest_daemon_init(&d);
    itest_daemon_start(&d, itest_fake_trainer(), extra);
    id = itest_submit(
        &d, "{\"task\":\"CartPole\",\"notes\":\"fake:iters=5,sleep=0.02,crash=always\"}", 0);
    o = itest_wait_state(&d, id, "failed", 30);
    ck_assert_int_eq(json_integer_value(json_object_get(o, "attempts")), 3);
    error = json_string_value(json_object_get(o, "error"));
    ck_assert_ptr_nonnull(error);
    ck_assert_msg(strstr(error, "exit code 1") && strstr(error, "attempt 3 of 3"), "error: %s",
                  error);
    json_decref(o);
    /* a failed run can be deleted; a running one could not */
    ck_assert_int_eq(post_action(&d, id, "resume"), 409);
    ck_assert_int_eq(itest_daemon_stop(&d, NULL), 0);
    itest_daemon_cleanup(&d);
}
END_TEST

int main(void) {
    const TTest *tests[] = {test_cancel, test_pause_resume, test_worker_kill9_retried,
                            test_crash_until_failed};
    return itest_run_tests("integration_control", 200, tests, ITEST_COUNT(tests));
}
