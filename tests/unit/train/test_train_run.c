/* Tests of the run directory helpers: preparing a directory (and refusing one that holds a
 * run), truncating metrics on resume (torn lines included), the metrics object, the status
 * file. */
#include "train_run.h"

#include "ag_error.h"
#include "ag_fs.h"

#include <cblas.h>
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char g_dir[256];

static void setup(void) {
    snprintf(g_dir, sizeof g_dir, "/tmp/angora-train-run-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(g_dir));
}

static void teardown(void) {
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", g_dir);
    ck_assert_int_eq(system(cmd), 0);
}

static void write_text(const char *path, const char *text) {
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    fclose(f);
}

static char *read_text(const char *path) {
    char *data = NULL, err[256];
    size_t len;
    ck_assert_int_eq(ag_fs_read_file(path, 1 << 20, &data, &len, err, sizeof err), 0);
    return data;
}

START_TEST(test_rundir_prepare) {
    char run[300], path[400], err[512] = "";
    snprintf(run, sizeof run, "%s/a/b/run", g_dir);
    ck_assert_int_eq(train_rundir_prepare(run, 0, err, sizeof err), 0);
    snprintf(path, sizeof path, "%s/checkpoints", run);
    ck_assert(ag_fs_is_dir(path));
    /* an empty metrics file is no run yet; a non-empty one is */
    snprintf(path, sizeof path, "%s/metrics.jsonl", run);
    write_text(path, "");
    ck_assert_int_eq(train_rundir_prepare(run, 0, err, sizeof err), 0);
    write_text(path, "{\"iteration\":1}\n");
    ck_assert_int_eq(train_rundir_prepare(run, 0, err, sizeof err), AG_EEXISTS);
    ck_assert_msg(strstr(err, "--resume") != NULL, "message: %s", err);
    ck_assert_int_eq(train_rundir_prepare(run, 1, err, sizeof err), 0);
    /* a file where the directory should be */
    snprintf(path, sizeof path, "%s/file", g_dir);
    write_text(path, "x");
    snprintf(run, sizeof run, "%s/file/run", g_dir);
    err[0] = '\0';
    ck_assert_int_ne(train_rundir_prepare(run, 0, err, sizeof err), 0);
    ck_assert_msg(err[0] != '\0', "no message");
    char longp[5000];
    memset(longp, 'a', sizeof longp - 1);
    longp[sizeof longp - 1] = '\0';
    ck_assert_int_eq(train_path(path, sizeof path, g_dir, longp), AG_ETOOBIG);
}
END_TEST

START_TEST(test_metrics_truncate) {
    char path[300], err[512] = "";
    double wall = -1, cpu = -1;
    snprintf(path, sizeof path, "%s/metrics.jsonl", g_dir);
    /* a missing file is fine */
    ck_assert_int_eq(train_metrics_truncate(path, 3, &wall, &cpu, err, sizeof err), 0);
    ck_assert_double_eq(wall, 0.0);
    ck_assert_double_eq(cpu, 0.0);
    write_text(path, "{\"iteration\":1,\"wall_s\":1.5}\n{\"iteration\":2,\"wall_s\":3.0}\n"
                     "{\"iteration\":3,\"wall_s\":4.5}\n{\"iteration\":4,\"wall_s\":6.0}\n"
                     "{\"iteration\":5,\"wa");
    ck_assert_int_eq(train_metrics_truncate(path, 2, &wall, &cpu, err, sizeof err), 0);
    char *text = read_text(path);
    ck_assert_str_eq(text, "{\"iteration\":1,\"wall_s\":1.5}\n{\"iteration\":2,\"wall_s\":3.0}\n");
    free(text);
    ck_assert_double_eq(wall, 3.0);
    /* lines of an earlier version have no cpu_s: unknown, not zero */
    ck_assert(isnan(cpu));
    write_text(path, "{\"iteration\":1,\"wall_s\":1.5,\"cpu_s\":2.75}\n"
                     "{\"iteration\":2,\"wall_s\":3.0,\"cpu_s\":5.5}\n"
                     "{\"iteration\":3,\"wall_s\":4.5,\"cpu_s\":8.25}\n");
    ck_assert_int_eq(train_metrics_truncate(path, 2, &wall, &cpu, err, sizeof err), 0);
    ck_assert_double_eq(wall, 3.0);
    ck_assert_double_eq(cpu, 5.5);
    /* a torn last line is dropped even when its iteration would be kept */
    write_text(path, "{\"iteration\":1,\"wall_s\":1.5}\n{\"iteration\":2,\"wal");
    ck_assert_int_eq(train_metrics_truncate(path, 10, &wall, &cpu, err, sizeof err), 0);
    text = read_text(path);
    ck_assert_str_eq(text, "{\"iteration\":1,\"wall_s\":1.5}\n");
    free(text);
    /* iteration 0: nothing kept */
    ck_assert_int_eq(train_metrics_truncate(path, 0, &wall, &cpu, err, sizeof err), 0);
    text = read_text(path);
    ck_assert_str_eq(text, "");
    free(text);
}
END_TEST

START_TEST(test_metrics_json) {
    RlIterStats st;
    memset(&st, 0, sizeof st);
    st.iteration = 7;
    st.env_steps = 7168;
    st.env_steps_iter = 1024;
    st.episodes = 0;
    st.return_mean = NAN;
    st.return_std = NAN;
    st.episode_length_mean = NAN;
    st.policy_loss = -0.5;
    st.explained_variance = NAN;
    st.num_metrics = 2;
    snprintf(st.metric_names[0], sizeof st.metric_names[0], "success");
    snprintf(st.metric_names[1], sizeof st.metric_names[1], "consecutive_goals");
    st.metrics[0] = 0.25;
    st.metrics[1] = 3.0;
    st.time.collect = 0.1;
    st.time.update = 0.3;
    json_t *o = train_metrics_json(&st, 12.0, 20.5, 0.5, NULL);
    ck_assert_ptr_nonnull(o);
    ck_assert_int_eq(json_integer_value(json_object_get(o, "iteration")), 7);
    ck_assert(json_is_null(json_object_get(o, "return_mean")));
    ck_assert(json_is_null(json_object_get(o, "explained_variance")));
    ck_assert_double_eq(json_real_value(json_object_get(o, "policy_loss")), -0.5);
    ck_assert_double_eq(json_real_value(json_object_get(o, "success_rate")), 0.25);
    ck_assert_double_eq(json_real_value(json_object_get(o, "consecutive_goals_mean")), 3.0);
    ck_assert_double_eq(json_real_value(json_object_get(o, "sps")), 2048.0);
    ck_assert_ptr_null(json_object_get(o, "eval_return"));
    ck_assert_double_eq(json_real_value(json_object_get(o, "cpu_s")), 20.5);
    const char *keys[] = {
        "env_steps",  "wall_s",    "return_std", "episode_length_mean", "episodes",
        "value_loss", "entropy",   "approx_kl",  "clip_fraction",       "lr",
        "grad_norm",  "collect_s", "update_s",   "unstable_episodes",   "forward_s",
        "allreduce_s"};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        ck_assert_msg(json_object_get(o, keys[i]) != NULL, "missing %s", keys[i]);
    }
    ck_assert_ptr_null(json_object_get(o, "eval_success_rate"));
    json_decref(o);
    /* the evaluation's task metrics are reported beside its return */
    RlEvalResult ev;
    memset(&ev, 0, sizeof ev);
    ev.mean = 480.0;
    ev.std = 3.0;
    ev.num_metrics = 2;
    snprintf(ev.metric_names[0], sizeof ev.metric_names[0], "success");
    snprintf(ev.metric_names[1], sizeof ev.metric_names[1], "consecutive_goals");
    ev.metrics[0] = 0.9;
    ev.metrics[1] = 12.5;
    o = train_metrics_json(&st, 12.0, NAN, 0.5, &ev);
    /* an unknown CPU time is left out, not written as null or zero */
    ck_assert_ptr_null(json_object_get(o, "cpu_s"));
    ck_assert_double_eq(json_real_value(json_object_get(o, "eval_return")), 480.0);
    ck_assert_double_eq(json_real_value(json_object_get(o, "eval_return_std")), 3.0);
    ck_assert_double_eq(json_real_value(json_object_get(o, "eval_success_rate")), 0.9);
    ck_assert_double_eq(json_real_value(json_object_get(o, "eval_consecutive_goals_mean")), 12.5);
    json_decref(o);
    /* a failed evaluation (NaN return) adds nothing */
    ev.mean = NAN;
    o = train_metrics_json(&st, 12.0, 20.5, 0.5, &ev);
    ck_assert_ptr_null(json_object_get(o, "eval_return"));
    ck_assert_ptr_null(json_object_get(o, "eval_success_rate"));
    json_decref(o);
}
END_TEST

START_TEST(test_status_write) {
    char path[300], err[512] = "";
    ck_assert_int_eq(train_status_write(g_dir, "running", 3, 10, 2, NULL, err, sizeof err), 0);
    snprintf(path, sizeof path, "%s/status.json", g_dir);
    json_t *o = ag_json_load_file(path, 1 << 16, err, sizeof err);
    ck_assert_ptr_nonnull(o);
    ck_assert_str_eq(json_string_value(json_object_get(o, "state")), "running");
    ck_assert_int_eq(json_integer_value(json_object_get(o, "iteration")), 3);
    ck_assert_int_eq(json_integer_value(json_object_get(o, "total_iterations")), 10);
    ck_assert_int_eq(json_integer_value(json_object_get(o, "pid")), getpid());
    ck_assert_int_eq(json_integer_value(json_object_get(o, "ranks")), 2);
    ck_assert_ptr_nonnull(json_string_value(json_object_get(o, "started")));
    /* the host that produced the numbers: CPU model and BLAS kernel */
    const char *cpu = json_string_value(json_object_get(o, "cpu_model"));
    const char *core = json_string_value(json_object_get(o, "blas_core"));
    ck_assert_ptr_nonnull(cpu);
    ck_assert_ptr_nonnull(core);
    ck_assert_int_gt((int)strlen(cpu), 0);
    ck_assert_str_eq(core, openblas_get_corename());
    json_decref(o);
    ck_assert_int_eq(train_status_write(g_dir, "failed", 3, 10, 1, "boom", err, sizeof err), 0);
    o = ag_json_load_file(path, 1 << 16, err, sizeof err);
    ck_assert_str_eq(json_string_value(json_object_get(o, "message")), "boom");
    json_decref(o);
    ck_assert_int_ne(train_status_write("/nonexistent-dir", "done", 1, 1, 1, NULL, err, sizeof err),
                     0);
}
END_TEST

START_TEST(test_error_write) {
    char path[300], err[512] = "";
    json_t *o;
    snprintf(path, sizeof path, "%s/error.json", g_dir);
    /* an input error with its path */
    ck_assert_int_eq(train_error_write(g_dir, "policy: does not fit", "policy", 1, err, sizeof err),
                     0);
    o = ag_json_load_file(path, 1 << 16, err, sizeof err);
    ck_assert_ptr_nonnull(o);
    ck_assert_str_eq(json_string_value(json_object_get(o, "message")), "policy: does not fit");
    ck_assert_str_eq(json_string_value(json_object_get(o, "path")), "policy");
    ck_assert_str_eq(json_string_value(json_object_get(o, "class")), "input");
    json_decref(o);
    /* a runtime error replaces it; no path is null */
    ck_assert_int_eq(train_error_write(g_dir, "disk full", NULL, 0, err, sizeof err), 0);
    o = ag_json_load_file(path, 1 << 16, err, sizeof err);
    ck_assert_ptr_nonnull(o);
    ck_assert_str_eq(json_string_value(json_object_get(o, "class")), "runtime");
    ck_assert(json_is_null(json_object_get(o, "path")));
    json_decref(o);
    ck_assert_int_ne(train_error_write("/nonexistent-dir", "x", NULL, 0, err, sizeof err), 0);
}
END_TEST

static Suite *run_suite(void) {
    Suite *s = suite_create("train_run");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_rundir_prepare);
    tcase_add_test(tc, test_metrics_truncate);
    tcase_add_test(tc, test_metrics_json);
    tcase_add_test(tc, test_status_write);
    tcase_add_test(tc, test_error_write);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) {
    SRunner *sr = srunner_create(run_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
