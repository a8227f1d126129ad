/* Tests of server/daemon/sched_job.c with the test doubles of angora-train (its
 * --record-activations) and angora-analyze: the message of a failed step found in worker.log,
 * the two steps chained in one slot with their phases and events, bad input failing at once with
 * the step's message, runtime failures retried from the last completed step, cancel during the
 * recording, a job whose checkpoint is gone, a job adopted by a restarted scheduler, and one
 * stopped together with the daemon's previous life. */
#include "daemon.h"

#include "ag_error.h"
#include "ag_fs.h"
#include "ag_json.h"
#include "ag_time.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char err[512];
static Store *store;
static Ingest *in;
static char dir[] = "/tmp/angora-job-XXXXXX";
static char analyzer[1024];
static int64_t parent;

/* a finished training run whose last.ckpt holds the test double's directives */
static void parent_make(const char *directives) {
    StoreExpNew e = {.name = "run", .task = "CartPole", .spec_json = "{}"};
    StoreRun r;
    char path[1200];
    FILE *f;
    ck_assert_int_eq(store_exp_insert(store, &e, dir, &parent, err, sizeof(err)), 0);
    ck_assert_int_eq(store_run_set_state(store, parent, "succeeded", NULL, err, sizeof(err)), 0);
    ck_assert_int_eq(store_run_get(store, parent, &r, err, sizeof(err)), 0);
    snprintf(path, sizeof(path), "%s/checkpoints", r.run_dir);
    ck_assert_int_eq(ag_fs_mkdir_p(path, 0700, err, sizeof(err)), 0);
    snprintf(path, sizeof(path), "%s/checkpoints/last.ckpt", r.run_dir);
    f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fprintf(f, "10\n%s\n", directives);
    fclose(f);
}

static void setup(void) {
    char mig[1024];
    const char *trainer = getenv("ITEST_FAKE_TRAINER");
    ck_assert_ptr_nonnull(trainer);
    snprintf(analyzer, sizeof(analyzer), "%s", trainer);
    snprintf(strrchr(analyzer, '/'), sizeof(analyzer) - (size_t)(strrchr(analyzer, '/') - analyzer),
             "/fake_analyzer.sh");
    ck_assert_int_eq(ag_fs_data_path("migrations", mig, sizeof(mig)), 0);
    ck_assert_int_eq(store_open(":memory:", &store, err, sizeof(err)), 0);
    ck_assert_int_eq(store_migrate(store, mig, 0, NULL, err, sizeof(err)), 0);
    snprintf(dir, sizeof(dir), "/tmp/angora-job-XXXXXX");
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

static Sched *make(int attempts) {
    Sched *s = NULL;
    SchedConfig c = {.trainer = getenv("ITEST_FAKE_TRAINER"),
                     .analyzer = analyzer,
                     .mpirun = "mpirun",
                     .max_cores = 2,
                     .max_attempts = attempts,
                     .grace_s = 1};
    ck_assert_int_eq(sched_create(&s, &c, store, in, err, sizeof(err)), 0);
    return s;
}

/* an analysis job of the parent run, its spec as the API stores it */
static int64_t job_submit(const char *variables) {
    char spec[512];
    int64_t id = 0;
    StoreExpNew e = {.name = "analysis", .task = "CartPole", .kind = "analysis", .ranks = 1};
    snprintf(spec, sizeof(spec),
             "{\"task\":\"CartPole\",\"checkpoint\":\"last.ckpt\",\"episodes\":4,\"folds\":3,"
             "\"deterministic\":true,\"variables\":%s,\"layers\":[],\"parent\":%lld}",
             variables ? variables : "[]", (long long)parent);
    e.spec_json = spec;
    e.parent_id = parent;
    ck_assert_int_eq(store_exp_insert(store, &e, dir, &id, err, sizeof(err)), 0);
    return id;
}

static const char *state(int64_t id, StoreRun *r) {
    ck_assert_int_eq(store_run_get(store, id, r, err, sizeof(err)), 0);
    return r->state;
}

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
    ck_abort_msg("job %lld is %s, expected %s", (long long)id, r.state, want);
}

/* a file of the job's run directory exists */
static int job_file(int64_t id, const char *name) {
    StoreRun r;
    char path[1200];
    state(id, &r);
    snprintf(path, sizeof(path), "%s/%s", r.run_dir, name);
    return ag_fs_exists(path);
}

/* the job's stored error ("" when none), into out */
static void job_error(int64_t id, char *out, size_t out_sz) {
    json_t *o = NULL;
    ck_assert_int_eq(store_exp_get_json(store, id, &o, err, sizeof(err)), 0);
    snprintf(out, out_sz, "%s",
             json_string_value(json_object_get(o, "error"))
                 ? json_string_value(json_object_get(o, "error"))
                 : "");
    json_decref(o);
}

/* the kinds of the job's events, space-separated */
static void job_events(int64_t id, char *out, size_t out_sz) {
    json_t *arr = NULL, *v;
    size_t i;
    out[0] = '\0';
    ck_assert_int_eq(store_event_list(store, id, 100, &arr, err, sizeof(err)), 0);
    json_array_foreach(arr, i, v) {
        snprintf(out + strlen(out), out_sz - strlen(out), "%s ",
                 json_string_value(json_object_get(v, "kind")));
    }
    json_decref(arr);
}

START_TEST(test_log_message) {
    char out[64];
    const char *log = "fake recorder: 3 episodes\n"
                      "2026-12-04T20:14:26Z INFO  layer 1/16\n"
                      "angora-analyze: act.h5: unknown variable 'speed'\n"
                      "2026-12-04T20:14:27Z INFO  cleaning up\n\n  \n";
    sched_log_message(log, strlen(log), "angora-analyze", out, sizeof(out));
    ck_assert_str_eq(out, "angora-analyze: act.h5: unknown variable 'speed'");
    /* another program's lines are not its message: the last line stands in */
    sched_log_message(log, strlen(log), "angora-train", out, sizeof(out));
    ck_assert_str_eq(out, "2026-12-04T20:14:27Z INFO  cleaning up");
    /* a prefix must be the whole program name followed by ':' */
    sched_log_message("angora-analyzer: x\nangora-analyze\n", 34, "angora-analyze", out,
                      sizeof(out));
    ck_assert_str_eq(out, "angora-analyze");
    /* cut to the buffer, trimmed, CRLF endings */
    sched_log_message("  angora-train: a long message that does not fit here at all\r\n", 63,
                      "angora-train", out, 16);
    ck_assert_str_eq(out, "angora-train: a");
    sched_log_message("\n\n \t\n", 5, "angora-train", out, sizeof(out));
    ck_assert_str_eq(out, "");
    sched_log_message("", 0, NULL, out, sizeof(out));
    ck_assert_str_eq(out, "");
    sched_log_message("one line without newline", 24, NULL, out, sizeof(out));
    ck_assert_str_eq(out, "one line without newline");
}
END_TEST

START_TEST(test_two_steps_in_one_slot) {
    Sched *s = make(3);
    int64_t id;
    StoreRun r;
    char events[512];
    json_t *o = NULL;
    parent_make("record:sleep=1");
    id = job_submit("[\"action\",\"obs.state\"]");
    sched_tick(s);
    ck_assert_str_eq(state(id, &r), "running");
    ck_assert_str_eq(r.phase, "recording");
    ck_assert_int_gt(r.pid, 0);
    ck_assert_int_eq(sched_cores_used(s), 1);
    tick_until(s, id, "succeeded", 30);
    state(id, &r);
    ck_assert_str_eq(r.phase, "done");
    ck_assert_int_eq(sched_live(s), 0);
    ck_assert(job_file(id, "activations.h5"));
    ck_assert(job_file(id, "recording.json"));
    ck_assert(!job_file(id, "recording.json.part"));
    ck_assert(job_file(id, "analysis/analysis.json"));
    ck_assert(job_file(id, "analysis/decoding.csv"));
    job_events(id, events, sizeof(events));
    ck_assert_str_eq(events, "started recording analyzing succeeded ");
    /* the recorder's summary, and the analyzer ran on the job's variables and folds */
    {
        char path[1200];
        snprintf(path, sizeof(path), "%s/recording.json", r.run_dir);
        o = ag_json_load_file(path, 1 << 20, err, sizeof(err));
        ck_assert_ptr_nonnull(o);
        ck_assert_int_eq(json_integer_value(json_object_get(o, "episodes")), 4);
        ck_assert(json_is_true(json_object_get(o, "deterministic")));
        json_decref(o);
        snprintf(path, sizeof(path), "%s/analysis/analysis.json", r.run_dir);
        o = ag_json_load_file(path, 1 << 20, err, sizeof(err));
        ck_assert_ptr_nonnull(o);
        ck_assert_int_eq(
            json_integer_value(json_object_get(json_object_get(o, "options"), "folds")), 3);
        json_decref(o);
    }
    sched_destroy(s);
}
END_TEST

START_TEST(test_bad_input_fails_at_once) {
    Sched *s = make(3);
    int64_t id;
    StoreRun r;
    char e[1024];
    parent_make("");
    id = job_submit("[\"action\",\"speed\"]");
    tick_until(s, id, "failed", 30);
    state(id, &r);
    ck_assert_int_eq(r.attempts, 0);
    job_error(id, e, sizeof(e));
    ck_assert_msg(strstr(e, "analysis failed (exit code 2): fake-analyzer:") &&
                      strstr(e, "unknown variable 'speed'"),
                  "%s", e);
    /* the recording stays: it was fine */
    ck_assert(job_file(id, "activations.h5"));
    ck_assert(!job_file(id, "analysis/analysis.json"));
    sched_destroy(s);
}
END_TEST

START_TEST(test_recording_retried_then_analysis_retried) {
    Sched *s = make(3);
    int64_t a, b;
    StoreRun r;
    char e[1024];
    FILE *f;
    int tries = 0;
    char path[1200];
    /* the recorder fails once at run time: retried, then the job succeeds */
    parent_make("record:exit_once=1");
    a = job_submit(NULL);
    tick_until(s, a, "succeeded", 30);
    state(a, &r);
    ck_assert_int_eq(r.attempts, 1);
    sched_destroy(s);
    /* the analyzer fails every time: the recording is made once, the analysis given up on */
    s = make(2);
    parent_make("analyze:exit=1");
    b = job_submit(NULL);
    tick_until(s, b, "failed", 30);
    state(b, &r);
    ck_assert_int_eq(r.attempts, 2);
    job_error(b, e, sizeof(e));
    ck_assert_msg(strstr(e, "analysis failed (exit code 1): fake-analyzer: simulated exit 1") &&
                      strstr(e, "giving up"),
                  "%s", e);
    snprintf(path, sizeof(path), "%s/.fake-record-attempts", r.run_dir);
    f = fopen(path, "r");
    ck_assert_ptr_nonnull(f);
    ck_assert_int_eq(fscanf(f, "%d", &tries), 1);
    fclose(f);
    ck_assert_int_eq(tries, 1);
    {
        char events[512];
        job_events(b, events, sizeof(events));
        ck_assert_msg(strstr(events, "retry started analyzing failed"), "%s", events);
    }
    sched_destroy(s);
}
END_TEST

START_TEST(test_cancel_during_recording) {
    Sched *s = make(3);
    int64_t id;
    StoreRun r;
    char st[STORE_STATE_MAX];
    parent_make("record:sleep=20");
    id = job_submit(NULL);
    tick_until(s, id, "running", 10);
    ck_assert_int_eq(store_exp_cancel(store, id, st, err, sizeof(err)), 0);
    tick_until(s, id, "cancelled", 10);
    state(id, &r);
    ck_assert_str_eq(r.phase, "recording");
    ck_assert_int_eq(sched_live(s), 0);
    ck_assert(!job_file(id, "activations.h5"));
    ck_assert(!job_file(id, "activations.h5.part"));
    sched_destroy(s);
}
END_TEST

START_TEST(test_missing_checkpoint) {
    Sched *s = make(3);
    int64_t id;
    StoreRun r;
    char e[1024], path[1200];
    parent_make("");
    id = job_submit(NULL);
    state(parent, &r);
    snprintf(path, sizeof(path), "%s/checkpoints/last.ckpt", r.run_dir);
    ck_assert_int_eq(unlink(path), 0);
    sched_tick(s);
    ck_assert_str_eq(state(id, &r), "failed");
    job_error(id, e, sizeof(e));
    ck_assert_msg(strstr(e, "no checkpoint") && strstr(e, "last.ckpt"), "%s", e);
    sched_destroy(s);
}
END_TEST

START_TEST(test_adopted_after_restart) {
    Sched *s = make(3);
    int64_t id, dead;
    int adopted = -1, requeued = -1;
    StoreRun r;
    parent_make("record:sleep=2");
    id = job_submit(NULL);
    tick_until(s, id, "running", 10);
    /* the daemon goes away; its worker goes on in its own session */
    sched_destroy(s);
    s = make(3);
    ck_assert_int_eq(sched_recover(s, &adopted, &requeued, err, sizeof(err)), 0);
    ck_assert_int_eq(adopted, 1);
    ck_assert_int_eq(requeued, 0);
    /* the adopted recorder's end is judged by its file, and the analysis follows */
    tick_until(s, id, "succeeded", 30);
    ck_assert(job_file(id, "analysis/analysis.json"));
    state(id, &r);
    ck_assert_int_eq(r.attempts, 0);
    /* a job whose recorder died while the daemon was away without a recording is retried */
    dead = job_submit(NULL);
    ck_assert_int_eq(store_run_started(store, dead, 0x3ffffff, 12345, 0, err, sizeof(err)), 0);
    ck_assert_int_eq(store_run_phase(store, dead, "recording", 0x3ffffff, 12345, err, sizeof(err)),
                     0);
    sched_destroy(s);
    s = make(3);
    ck_assert_int_eq(sched_recover(s, &adopted, &requeued, err, sizeof(err)), 0);
    ck_assert_int_eq(adopted, 0);
    ck_assert_int_eq(requeued, 1);
    ck_assert_str_eq(state(dead, &r), "queued");
    ck_assert_int_eq(r.attempts, 1);
    tick_until(s, dead, "succeeded", 30);
    sched_destroy(s);
}
END_TEST

/* a job whose recorder went together with the daemon's previous life (it did not shut down
 * cleanly, and nothing was written after its last alive mark) is requeued without an attempt */
START_TEST(test_interrupted_with_daemon) {
    Sched *s = make(1);
    StoreLife prev = {.known = 1, .id = 1, .pid = 77};
    int64_t id;
    int adopted = -1, requeued = -1;
    json_t *ev = NULL;
    StoreRun r;
    parent_make("");
    id = job_submit(NULL);
    ck_assert_int_eq(store_run_started(store, id, 0x3ffffff, 12345, 0, err, sizeof(err)), 0);
    ck_assert_int_eq(store_run_phase(store, id, "recording", 0x3ffffff, 12345, err, sizeof(err)),
                     0);
    prev.alive_at = ag_time_wall();
    sched_set_lives(s, 2, &prev);
    ck_assert_int_eq(sched_recover(s, &adopted, &requeued, err, sizeof(err)), 0);
    ck_assert_int_eq(requeued, 1);
    ck_assert_str_eq(state(id, &r), "queued");
    ck_assert_int_eq(r.attempts, 0);
    ck_assert_int_eq(store_event_list(store, id, 100, &ev, err, sizeof(err)), 0);
    ck_assert_str_eq(
        json_string_value(json_object_get(json_array_get(ev, json_array_size(ev) - 1), "kind")),
        "interrupted");
    json_decref(ev);
    /* with max_attempts 1, a charged recovery would have failed it */
    tick_until(s, id, "succeeded", 30);
    sched_destroy(s);
}
END_TEST

int main(void) {
    Suite *s = suite_create("daemon_sched_job");
    TCase *tc = tcase_create("core");
    SRunner *sr;
    int failed;
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 90);
    tcase_add_test(tc, test_log_message);
    tcase_add_test(tc, test_interrupted_with_daemon);
    tcase_add_test(tc, test_two_steps_in_one_slot);
    tcase_add_test(tc, test_bad_input_fails_at_once);
    tcase_add_test(tc, test_recording_retried_then_analysis_retried);
    tcase_add_test(tc, test_cancel_during_recording);
    tcase_add_test(tc, test_missing_checkpoint);
    tcase_add_test(tc, test_adopted_after_restart);
    suite_add_tcase(s, tc);
    sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
