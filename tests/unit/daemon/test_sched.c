/* Tests of server/daemon/sched.c with the angora-train test double: /proc start times, queue
 * order under a core limit, runs that cannot start, crashes retried then failed, cancel
 * requests, and recovery of a run whose worker died while the daemon was away. */
#include "daemon.h"

#include "ag_error.h"
#include "ag_fs.h"
#include "ag_time.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char err[512];
static Store *store;
static Ingest *in;
static char dir[] = "/tmp/angora-sched-XXXXXX";

static void setup(void) {
    char mig[1024];
    ck_assert_int_eq(ag_fs_data_path("migrations", mig, sizeof(mig)), 0);
    ck_assert_int_eq(store_open(":memory:", &store, err, sizeof(err)), 0);
    ck_assert_int_eq(store_migrate(store, mig, 0, NULL, err, sizeof(err)), 0);
    snprintf(dir, sizeof(dir), "/tmp/angora-sched-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
    ck_assert_int_eq(ingest_create(&in, store, err, sizeof(err)), 0);
}

static void teardown(void) {
    char cmd[128];
    ingest_destroy(in);
    store_close(store);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    ck_assert_int_eq(system(cmd), 0);
}

static Sched *make(int cores, int attempts, const char *trainer) {
    Sched *s = NULL;
    SchedConfig c = {.trainer = trainer ? trainer : getenv("ITEST_FAKE_TRAINER"),
                     .mpirun = "mpirun",
                     .max_cores = cores,
                     .max_attempts = attempts,
                     .grace_s = 1};
    ck_assert_ptr_nonnull(c.trainer);
    ck_assert_int_eq(sched_create(&s, &c, store, in, err, sizeof(err)), 0);
    return s;
}

static int64_t submit(const char *notes, int priority, int ranks) {
    char spec[256];
    int64_t id = 0;
    StoreExpNew e = {.name = "t", .task = "CartPole", .priority = priority, .ranks = ranks};
    snprintf(spec, sizeof(spec), "{\"task\":\"CartPole\",\"notes\":\"%s\"}", notes);
    e.spec_json = spec;
    ck_assert_int_eq(store_exp_insert(store, &e, dir, &id, err, sizeof(err)), 0);
    return id;
}

static const char *state(int64_t id, StoreRun *r) {
    ck_assert_int_eq(store_run_get(store, id, r, err, sizeof(err)), 0);
    return r->state;
}

/* ticks until id is in want (or fails after timeout_s) */
static void tick_until(Sched *s, int64_t id, const char *want, double timeout_s) {
    double t0 = ag_time_now();
    StoreRun r;
    while (ag_time_now() - t0 < timeout_s) {
        sched_tick(s);
        if (!strcmp(state(id, &r), want)) {
            return;
        }
        ag_time_sleep(0.02);
    }
    ck_abort_msg("experiment %lld is %s, expected %s", (long long)id, r.state, want);
}

START_TEST(test_proc_start_time) {
    ck_assert_int_gt(sched_proc_start_time(getpid()), 0);
    ck_assert_int_eq(sched_proc_start_time(0x3ffffff), -1);
}
END_TEST

START_TEST(test_order_and_cores) {
    Sched *s = make(1, 3, NULL);
    int64_t a = submit("fake:iters=3,sleep=0.02", 0, 1);
    int64_t b = submit("fake:iters=3,sleep=0.02", 5, 1);
    int64_t big = submit("fake:iters=1", 9, 2);
    StoreRun r;
    sched_tick(s);
    /* the two-rank run can never fit one core: failed with the reason */
    ck_assert_str_eq(state(big, &r), "failed");
    ck_assert_str_eq(state(b, &r), "running");
    ck_assert_str_eq(state(a, &r), "queued");
    ck_assert_int_eq(sched_cores_used(s), 1);
    tick_until(s, b, "succeeded", 20);
    tick_until(s, a, "succeeded", 20);
    ck_assert_int_eq(r.last_seq, 0);
    ck_assert_int_eq(store_run_get(store, a, &r, err, sizeof(err)), 0);
    ck_assert_int_eq(r.last_seq, 3);
    ck_assert_int_eq(sched_live(s), 0);
    {
        json_t *o = NULL;
        ck_assert_int_eq(store_exp_get_json(store, big, &o, err, sizeof(err)), 0);
        ck_assert_ptr_nonnull(strstr(json_string_value(json_object_get(o, "error")), "2 cores"));
        json_decref(o);
    }
    sched_destroy(s);
}
END_TEST

START_TEST(test_cannot_start_and_crash) {
    Sched *s = make(2, 2, "/nonexistent/angora-train");
    int64_t a = submit("fake:iters=2", 0, 1);
    StoreRun r;
    json_t *o = NULL;
    sched_tick(s);
    ck_assert_str_eq(state(a, &r), "failed");
    ck_assert_int_eq(store_exp_get_json(store, a, &o, err, sizeof(err)), 0);
    ck_assert_ptr_nonnull(strstr(json_string_value(json_object_get(o, "error")), "not executable"));
    json_decref(o);
    sched_destroy(s);
    s = make(2, 2, NULL);
    a = submit("fake:iters=5,sleep=0.01,crash=always", 0, 1);
    tick_until(s, a, "failed", 20);
    ck_assert_int_eq(r.attempts, 0);
    ck_assert_int_eq(store_run_get(store, a, &r, err, sizeof(err)), 0);
    ck_assert_int_eq(r.attempts, 2);
    sched_destroy(s);
}
END_TEST

static char hook_log[512];
static void on_state(void *ctx, int64_t exp_id, const char *st, const char *reason) {
    (void)ctx;
    (void)reason;
    snprintf(hook_log + strlen(hook_log), sizeof(hook_log) - strlen(hook_log), "%lld:%s ",
             (long long)exp_id, st);
}

START_TEST(test_state_hook) {
    Sched *s = make(1, 3, NULL);
    int64_t a = submit("fake:iters=2,sleep=0.01", 0, 1);
    hook_log[0] = '\0';
    sched_set_state_hook(s, on_state, NULL);
    tick_until(s, a, "succeeded", 20);
    ck_assert_str_eq(hook_log, "1:running 1:succeeded ");
    sched_destroy(s);
}
END_TEST

START_TEST(test_cancel_request) {
    Sched *s = make(2, 2, NULL);
    int64_t a = submit("fake:iters=500,sleep=0.05", 0, 1);
    StoreRun r;
    char st[STORE_STATE_MAX];
    tick_until(s, a, "running", 10);
    ck_assert_int_eq(store_exp_cancel(store, a, st, err, sizeof(err)), 0);
    tick_until(s, a, "cancelled", 10);
    ck_assert_int_eq(state(a, &r)[0], 'c');
    ck_assert_int_eq(sched_live(s), 0);
    sched_destroy(s);
}
END_TEST

START_TEST(test_recover_dead_run) {
    Sched *s = make(2, 3, NULL);
    int64_t a = submit("fake:iters=2", 0, 1);
    int adopted = -1, requeued = -1;
    StoreRun r;
    /* the database says running, with a pid that is long gone */
    ck_assert_int_eq(store_run_started(store, a, 0x3ffffff, 12345, 0, err, sizeof(err)), 0);
    ck_assert_int_eq(sched_recover(s, &adopted, &requeued, err, sizeof(err)), 0);
    ck_assert_int_eq(adopted, 0);
    ck_assert_int_eq(requeued, 1);
    ck_assert_str_eq(state(a, &r), "queued");
    ck_assert_int_eq(r.attempts, 1);
    tick_until(s, a, "succeeded", 20);
    sched_destroy(s);
}
END_TEST

int main(void) {
    Suite *s = suite_create("daemon_sched");
    TCase *tc = tcase_create("core");
    SRunner *sr;
    int failed;
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_proc_start_time);
    tcase_add_test(tc, test_order_and_cores);
    tcase_add_test(tc, test_cannot_start_and_crash);
    tcase_add_test(tc, test_cancel_request);
    tcase_add_test(tc, test_state_hook);
    tcase_add_test(tc, test_recover_dead_run);
    suite_add_tcase(s, tc);
    sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
