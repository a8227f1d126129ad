/* Tests of server/daemon/sched.c with the angora-train test double: /proc start times, queue
 * order under a core limit, runs that cannot start, crashes retried then failed, cancel
 * requests, and recovery of a run whose worker died while the daemon was away (sched_recover.c:
 * interrupted with the daemon's previous life, or charged); the periodic roll-up call packs a
 * long run's finished buckets. */
#include "daemon.h"

#include "ag_error.h"
#include "ag_fs.h"
#include "ag_time.h"

#include <check.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
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

/* the newest event's detail when its kind is kind, else NULL (static buffer) */
static const char *last_event(int64_t id, const char *kind) {
    static char detail[512];
    json_t *ev = NULL, *last;
    ck_assert_int_eq(store_event_list(store, id, 100, &ev, err, sizeof(err)), 0);
    last = json_array_get(ev, json_array_size(ev) - 1);
    detail[0] = '\0';
    if (last && !strcmp(json_string_value(json_object_get(last, "kind")), kind)) {
        snprintf(detail, sizeof(detail), "%s", json_string_value(json_object_get(last, "detail")));
    }
    json_decref(ev);
    return detail[0] ? detail : NULL;
}

/* a run that angorad's previous life left "running" with a pid long gone, its attempt started
 * (the event) and, in its run directory, a checkpoint and the file name holding text (NULL:
 * none) */
static int64_t gone_run(const char *name, const char *text) {
    int64_t id = submit("fake:iters=2", 0, 1);
    StoreRun r;
    char path[1200];
    ck_assert_int_eq(store_run_started(store, id, 0x3ffffff, 12345, 0, err, sizeof(err)), 0);
    ck_assert_int_eq(store_event_add(store, id, "started", "pid 1"), 0);
    state(id, &r);
    snprintf(path, sizeof(path), "%s/checkpoints", r.run_dir);
    ck_assert_int_eq(ag_fs_mkdir_p(path, 0700, err, sizeof(err)), 0);
    snprintf(path, sizeof(path), "%s/checkpoints/last.ckpt", r.run_dir);
    ck_assert_int_eq(ag_fs_write_atomic(path, "1", 1, err, sizeof(err)), 0);
    if (name) {
        snprintf(path, sizeof(path), "%s/%s", r.run_dir, name);
        ck_assert_int_eq(ag_fs_write_atomic(path, text, strlen(text), err, sizeof(err)), 0);
    }
    return id;
}

/* recovery with the previous life as given: how many were requeued */
static int recover_after(Sched *s, int known, int stopped, double alive_ago) {
    StoreLife prev = {.known = known, .id = 1, .pid = 77, .stopped = stopped};
    int adopted = -1, requeued = -1;
    prev.alive_at = ag_time_wall() - alive_ago;
    prev.started_at = prev.alive_at - 100;
    prev.stopped_at = stopped ? prev.alive_at : 0;
    sched_set_lives(s, 2, &prev);
    ck_assert_int_eq(sched_recover(s, &adopted, &requeued, err, sizeof(err)), 0);
    ck_assert_int_eq(adopted, 0);
    return requeued;
}

/* gone with the daemon's unclean end, no exit of its own: interrupted, no attempt, resumed */
START_TEST(test_recover_with_daemon) {
    Sched *s = make(2, 1, NULL);
    int64_t a = gone_run("status.json", "{\"state\":\"running\"}");
    const char *ev;
    StoreRun r;
    ck_assert_int_eq(recover_after(s, 1, 0, 1.0), 1);
    ck_assert_str_eq(state(a, &r), "queued");
    ck_assert_int_eq(r.attempts, 0);
    ev = last_event(a, "interrupted");
    ck_assert_ptr_nonnull(ev);
    ck_assert_msg(strstr(ev, "stopped with angorad's previous life (pid 77") &&
                      strstr(ev, "resuming from checkpoints/last.ckpt"),
                  "%s", ev);
    tick_until(s, a, "succeeded", 20);
    sched_destroy(s);
}
END_TEST

/* written well after the daemon's last mark, or left running by a clean stop, or no life
 * recorded: it may have crashed on its own, and is charged */
START_TEST(test_recover_outlived_or_clean_stop) {
    const double ago[3] = {60.0, 1.0, 1.0};
    const int stopped[3] = {0, 1, 0}, known[3] = {1, 1, 0};
    for (int i = 0; i < 3; i++) {
        Sched *s = make(2, 3, NULL);
        int64_t a = gone_run(NULL, NULL);
        StoreRun r;
        ck_assert_int_eq(recover_after(s, known[i], stopped[i], ago[i]), 1);
        ck_assert_str_eq(state(a, &r), "queued");
        ck_assert_int_eq(r.attempts, 1);
        ck_assert_ptr_nonnull(last_event(a, "retry"));
        sched_destroy(s);
        ck_assert_int_eq(store_exp_cancel(store, a, r.state, err, sizeof(err)), 0);
    }
}
END_TEST

/* set run_dir/name's modification time to the attempt's start event plus offset_s */
static void stamp_since_start(int64_t id, const char *name, double offset_s) {
    StoreRun r;
    double at = 0.0;
    char path[1200];
    struct timespec times[2];
    ck_assert_int_eq(store_event_last_at(store, id, "started", &at, err, sizeof(err)), 0);
    at += offset_s;
    times[0].tv_sec = times[1].tv_sec = (time_t)at;
    times[0].tv_nsec = times[1].tv_nsec = (long)((at - (double)(time_t)at) * 1e9);
    state(id, &r);
    snprintf(path, sizeof(path), "%s/%s", r.run_dir, name);
    ck_assert_int_eq(utimensat(AT_FDCWD, path, times, 0), 0);
}

/* its own failure shows in its files: charged even though it went with the daemon; bad input
 * fails it at once with its message. A file's time comes from the kernel's coarse clock and can
 * read a tick earlier than the start event it followed: it still counts */
START_TEST(test_recover_own_failure) {
    Sched *s = make(2, 3, NULL);
    int64_t a = gone_run("status.json", "{\"state\":\"failed\"}");
    int64_t b = gone_run("error.json", "{\"message\":\"task_options.x: unknown key\","
                                       "\"path\":\"task_options.x\",\"class\":\"input\"}");
    StoreRun r;
    stamp_since_start(a, "status.json", -0.01);
    stamp_since_start(b, "error.json", -0.01);
    ck_assert_int_eq(recover_after(s, 1, 0, 1.0), 2);
    ck_assert_str_eq(state(a, &r), "queued");
    ck_assert_int_eq(r.attempts, 1);
    ck_assert_ptr_nonnull(last_event(a, "retry"));
    ck_assert_str_eq(state(b, &r), "failed");
    ck_assert_str_eq(last_event(b, "failed"), "task_options.x: unknown key");
    sched_destroy(s);
}
END_TEST

/* files of an earlier attempt say nothing of the current one */
START_TEST(test_recover_stale_failure_ignored) {
    Sched *s = make(2, 3, NULL);
    int64_t a = gone_run("status.json", "{\"state\":\"failed\"}");
    StoreRun r;
    /* well past the slack the recovery allows for the file clock's coarse ticks */
    ag_time_sleep(0.2);
    ck_assert_int_eq(store_event_add(store, a, "started", "pid 2"), 0);
    ck_assert_int_eq(recover_after(s, 1, 0, 1.0), 1);
    ck_assert_str_eq(state(a, &r), "queued");
    ck_assert_int_eq(r.attempts, 0);
    ck_assert_ptr_nonnull(last_event(a, "interrupted"));
    sched_destroy(s);
}
END_TEST

/* exit 3 on a signal while angorad was away (status "interrupted"): not charged, even after a
 * clean stop of the daemon */
START_TEST(test_recover_status_interrupted) {
    Sched *s = make(2, 3, NULL);
    int64_t a = gone_run("status.json", "{\"state\":\"interrupted\"}");
    const char *ev;
    StoreRun r;
    ck_assert_int_eq(recover_after(s, 1, 1, 60.0), 1);
    ck_assert_str_eq(state(a, &r), "queued");
    ck_assert_int_eq(r.attempts, 0);
    ev = last_event(a, "interrupted");
    ck_assert_ptr_nonnull(ev);
    ck_assert_msg(strstr(ev, "stopped by a signal while angorad was away"), "%s", ev);
    sched_destroy(s);
}
END_TEST

/* the periodic roll-up call packs a long run's finished buckets (store_rollup_pack.c), so that
 * its bucket rows, and ingestion's work on them, stay those of a short run */
START_TEST(test_rollup_packs_buckets) {
    static char text[1000][64];
    const char *lines[1000];
    size_t lens[1000];
    char path[1100], mig[1024];
    Store *file = NULL;
    Ingest *file_in = NULL;
    Sched *s = NULL;
    SchedConfig c = {.trainer = "/bin/true", .mpirun = "mpirun", .max_cores = 1, .grace_s = 1};
    StoreExpNew e = {.name = "long", .task = "CartPole", .spec_json = "{}", .ranks = 1};
    int64_t id = 0;
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    int64_t packs = 0, tail = -1;
    snprintf(path, sizeof(path), "%s/angorad.db", dir);
    ck_assert_int_eq(ag_fs_data_path("migrations", mig, sizeof(mig)), 0);
    ck_assert_int_eq(store_open(path, &file, err, sizeof(err)), 0);
    ck_assert_int_eq(store_migrate(file, mig, 0, NULL, err, sizeof(err)), 0);
    ck_assert_int_eq(ingest_create(&file_in, file, err, sizeof(err)), 0);
    ck_assert_int_eq(sched_create(&s, &c, file, file_in, err, sizeof(err)), 0);
    ck_assert_int_eq(store_exp_insert(file, &e, dir, &id, err, sizeof(err)), 0);
    for (int b = 0; b < 20; b++) {
        for (int i = 0; i < 1000; i++) {
            int len = snprintf(text[i], sizeof(text[i]), "{\"iteration\":%d,\"v\":%d.5}",
                               b * 1000 + i + 1, (b * 1000 + i) % 77);
            lines[i] = text[i];
            lens[i] = (size_t)len;
        }
        ck_assert_msg(store_metrics_ingest(file, id, lines, lens, 1000, (b + 1) * 1000, NULL, NULL,
                                           err, sizeof(err)) == 0,
                      "%s", err);
    }
    sched_rollup(s);
    ck_assert_int_eq(sqlite3_open(path, &db), SQLITE_OK);
    /* 20,000 rows: the first 64 buckets of 256 rows of both keys packed, their rows gone */
    ck_assert_int_eq(sqlite3_prepare_v2(db,
                                        "SELECT (SELECT count(*) FROM metric_bucket_packs),"
                                        " (SELECT count(*) FROM metric_buckets WHERE width = 256)",
                                        -1, &st, NULL),
                     SQLITE_OK);
    ck_assert_int_eq(sqlite3_step(st), SQLITE_ROW);
    packs = sqlite3_column_int64(st, 0);
    tail = sqlite3_column_int64(st, 1);
    sqlite3_finalize(st);
    sqlite3_close(db);
    ck_assert_int_eq(packs, 2);
    ck_assert_int_eq(tail, 2 * (79 - 64));
    sched_destroy(s);
    ingest_destroy(file_in);
    store_close(file);
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
    tcase_add_test(tc, test_recover_with_daemon);
    tcase_add_test(tc, test_recover_outlived_or_clean_stop);
    tcase_add_test(tc, test_recover_own_failure);
    tcase_add_test(tc, test_recover_stale_failure_ignored);
    tcase_add_test(tc, test_recover_status_interrupted);
    tcase_add_test(tc, test_rollup_packs_buckets);
    suite_add_tcase(s, tc);
    sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
