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
    /* a task metric is a statistic of float32 values: recorded as the float32 */
    ck_assert_double_eq(json_real_value(json_object_get(o, "eval_success_rate")), (double)0.9f);
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

static double real_of(const json_t *o, const char *key) {
    const json_t *v = json_object_get(o, key);
    ck_assert_msg(json_is_real(v), "%s is not a real", key);
    return json_real_value(v);
}

static int on_grid(double v, int bits) {
    return ldexp(v, bits) == nearbyint(ldexp(v, bits));
}

/* a row of full-precision values (those of a real HandBlockRotateZ row) is recorded at each
 * field's precision, and its text (what the trainer writes) reads back as those values */
START_TEST(test_metrics_precision) {
    RlIterStats st;
    memset(&st, 0, sizeof st);
    st.iteration = 1016;
    st.env_steps = 16646144;
    st.env_steps_iter = 16384;
    st.episodes = 157;
    st.return_mean = 25.603803835092982;
    st.return_std = 39.683801078278165;
    st.episode_length_mean = 16089.0 / 157.0;
    st.policy_loss = -0.0040180490359702416;
    st.value_loss = 0.083318313155869628;
    st.entropy = -4.6991312809514056;
    st.approx_kl = 0.004742883249531437;
    st.clip_fraction = 1.0 / 3.0;
    st.explained_variance = 0.72749239896451801;
    st.lr = 0.00029999999999999997;
    st.grad_norm = 0.4090875219553709;
    st.num_metrics = 1;
    snprintf(st.metric_names[0], sizeof st.metric_names[0], "consecutive_goals");
    st.metrics[0] = 171.0 / 157.0;
    st.time.collect = 2.753826382002444;
    st.time.update = 0.5482965580013115;
    st.time.env = 2.5705470429893467;
    st.time.inference = 0.13901338905270677;
    st.time.forward = 0.21773987399501493;
    st.time.backward = 0.29590280199772678;
    st.time.allreduce = 0.022411566016671713;
    st.time.optimizer = 0.010135563992662355;
    RlEvalResult ev;
    memset(&ev, 0, sizeof ev);
    ev.mean = 31.123456789012345;
    ev.std = 2.2;
    json_t *o = train_metrics_json(&st, 3440.5935835019991, 5662.2412610000001, 3.306, &ev);
    ck_assert_ptr_nonnull(o);
    /* timings: within half of 2^-20 s, on that grid */
    const char *times[] = {"wall_s",      "cpu_s",     "collect_s",  "update_s",    "env_s",
                           "inference_s", "forward_s", "backward_s", "allreduce_s", "optimizer_s"};
    const double given[] = {3440.5935835019991, 5662.2412610000001, st.time.collect,
                            st.time.update,     st.time.env,        st.time.inference,
                            st.time.forward,    st.time.backward,   st.time.allreduce,
                            st.time.optimizer};
    for (size_t i = 0; i < sizeof times / sizeof times[0]; i++) {
        double v = real_of(o, times[i]);
        ck_assert_msg(fabs(v - given[i]) <= ldexp(1.0, -21), "%s %.17g", times[i], v);
        ck_assert_msg(on_grid(v, 20), "%s %.17g is not on the 2^-20 s grid", times[i], v);
    }
    /* statistics of float32 quantities: their float32 */
    ck_assert_double_eq(real_of(o, "return_mean"), (double)(float)st.return_mean);
    ck_assert_double_eq(real_of(o, "return_std"), (double)(float)st.return_std);
    ck_assert_double_eq(real_of(o, "policy_loss"), (double)(float)st.policy_loss);
    ck_assert_double_eq(real_of(o, "value_loss"), (double)(float)st.value_loss);
    ck_assert_double_eq(real_of(o, "entropy"), (double)(float)st.entropy);
    ck_assert_double_eq(real_of(o, "approx_kl"), (double)(float)st.approx_kl);
    ck_assert_double_eq(real_of(o, "explained_variance"), (double)(float)st.explained_variance);
    ck_assert_double_eq(real_of(o, "grad_norm"), (double)(float)st.grad_norm);
    ck_assert_double_eq(real_of(o, "consecutive_goals_mean"), (double)(float)(171.0 / 157.0));
    ck_assert_double_eq(real_of(o, "eval_return"), (double)(float)ev.mean);
    ck_assert_double_eq(real_of(o, "eval_return_std"), (double)2.2f);
    /* the setting and the ratios of counts keep every bit */
    ck_assert_double_eq(real_of(o, "lr"), 0.0003);
    ck_assert_double_eq(real_of(o, "episode_length_mean"), 16089.0 / 157.0);
    ck_assert_double_eq(real_of(o, "clip_fraction"), 1.0 / 3.0);
    /* steps per second on a grid of 2^-10 */
    double sps = real_of(o, "sps");
    ck_assert(fabs(sps - 16384.0 / 3.306) <= ldexp(1.0, -11));
    ck_assert(on_grid(sps, 10));
    /* the text as written reads back to the same values, float32 ones as their float32 */
    char *text = json_dumps(o, JSON_COMPACT);
    json_error_t jerr;
    json_t *back = json_loads(text, 0, &jerr);
    ck_assert_ptr_nonnull(back);
    ck_assert(json_equal(o, back));
    ck_assert_ptr_nonnull(strstr(text, "\"lr\":0.00029999999999999997,"));
    ck_assert_ptr_nonnull(strstr(text, "\"return_mean\":25.603803634643555,"));
    free(text);
    json_decref(back);
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

/* the BLAS hint: only generic kernels on a CPU with wider ones, naming the setting that fits */
START_TEST(test_blas_hint) {
    const char *h = train_blas_hint_for("Prescott", 1, 1);
    ck_assert_ptr_nonnull(h);
    ck_assert_msg(strstr(h, "OPENBLAS_CORETYPE=SkylakeX") && strstr(h, "Prescott") &&
                      strstr(h, "AVX-512"),
                  "%s", h);
    h = train_blas_hint_for("core2", 0, 1);
    ck_assert_msg(h && strstr(h, "OPENBLAS_CORETYPE=Haswell") && strstr(h, "AVX2"), "%s", h);
    ck_assert_ptr_null(train_blas_hint_for("Prescott", 0, 0));
    ck_assert_ptr_null(train_blas_hint_for("SkylakeX", 1, 1));
    ck_assert_ptr_null(train_blas_hint_for("Haswell", 0, 1));
    ck_assert_ptr_null(train_blas_hint_for("Zen", 1, 1));
    ck_assert_ptr_null(train_blas_hint_for(NULL, 1, 1));
    /* this machine's own answer is one of the two, whichever kernels OpenBLAS chose here */
    h = train_blas_hint();
    ck_assert(h == NULL || strstr(h, "OPENBLAS_CORETYPE="));
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
    tcase_add_test(tc, test_metrics_precision);
    tcase_add_test(tc, test_status_write);
    tcase_add_test(tc, test_blas_hint);
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
