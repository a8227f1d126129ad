/* Tests of the MuJoCo runtime (mj_runtime.c): loading from the data directory and by path with
 * clear errors, MuJoCo errors caught instead of ending the process, instability detection, state
 * setting and snapshots that resume bit-identically. */
#include "mj_runtime.h"

#include "ag_error.h"

#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char tmp_dir[256];

static void tmp_setup(void) {
    snprintf(tmp_dir, sizeof(tmp_dir), "/tmp/angora_mj_runtime_XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(tmp_dir));
}

static void tmp_teardown(void) {
    char cmd[300];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmp_dir);
    ck_assert_int_eq(system(cmd), 0);
}

static void tmp_write(const char *name, const char *text, char *path, size_t path_sz) {
    snprintf(path, path_sz, "%s/%s", tmp_dir, name);
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    fclose(f);
}

static const char *const ball_and_arm =
    "<mujoco><worldbody><geom type='plane' size='1 1 0.1'/>"
    "<body pos='0 0 1'><freejoint/><geom type='sphere' size='0.1'/></body>"
    "<body pos='0.5 0 1'><joint name='h' type='hinge' axis='0 1 0'/><geom type='capsule' "
    "fromto='0 0 0 0.3 0 0' size='0.05'/></body></worldbody>"
    "<actuator><motor joint='h' ctrllimited='true' ctrlrange='-1 1'/></actuator></mujoco>";

START_TEST(test_load_errors_are_clear) {
    char err[512] = "", path[512];
    mjModel *m = (mjModel *)1;
    ck_assert_int_eq(env_mj_model_load("no_such_model.xml", &m, err, sizeof(err)), AG_ENOTFOUND);
    ck_assert_ptr_null(m);
    ck_assert_msg(strstr(err, "no_such_model.xml") != NULL, "%s", err);
    /* malformed XML and an unknown element give the parser's message */
    tmp_write("broken.xml", "<mujoco><worldbody><body></worldbody>", path, sizeof(path));
    ck_assert_int_eq(env_mj_model_load_path(path, &m, err, sizeof(err)), AG_EFORMAT);
    ck_assert_msg(strstr(err, "broken.xml") != NULL, "%s", err);
    tmp_write("unknown.xml", "<mujoco><wibble/></mujoco>", path, sizeof(path));
    ck_assert_int_eq(env_mj_model_load_path(path, &m, err, sizeof(err)), AG_EFORMAT);
    ck_assert_msg(strstr(err, "wibble") != NULL, "%s", err);
}
END_TEST

START_TEST(test_every_model_loads) {
    static const struct {
        const char *file;
        int nq, nu;
    } models[] = {
        {"inverted_pendulum.xml", 2, 1},
        {"inverted_double_pendulum.xml", 3, 1},
        {"reacher.xml", 4, 2},
        {"swimmer.xml", 5, 2},
        {"hopper.xml", 6, 3},
        {"half_cheetah.xml", 9, 6},
        {"walker2d.xml", 9, 6},
        {"ant.xml", 15, 8},
        {"humanoid.xml", 24, 17},
        {"hand.xml", 24, 20},
        {"hand_reach.xml", 24, 20},
        {"hand_block.xml", 31, 20},
    };
    for (size_t i = 0; i < sizeof(models) / sizeof(models[0]); i++) {
        char err[512] = "";
        mjModel *m = NULL;
        int rc = env_mj_model_load(models[i].file, &m, err, sizeof(err));
        ck_assert_msg(rc == 0, "%s: %s", models[i].file, err);
        ck_assert_int_eq(m->nq, models[i].nq);
        ck_assert_int_eq(m->nu, models[i].nu);
        /* small arenas: one environment's mjData stays well under a megabyte */
        ck_assert_msg((size_t)m->nstack * sizeof(mjtNum) + (size_t)m->nbuffer < 600 * 1024,
                      "%s: stack %d, buffer %d", models[i].file, m->nstack, m->nbuffer);
        mjData *d = NULL;
        ck_assert_int_eq(env_mj_data_create(m, &d, err, sizeof(err)), 0);
        ck_assert_int_eq(env_mj_step(m, d, 10), 0);
        mj_deleteData(d);
        mj_deleteModel(m);
    }
}
END_TEST

START_TEST(test_mujoco_error_is_caught) {
    char err[512] = "";
    mjModel *m = NULL;
    mjData *d = NULL;
    /* an integrator MuJoCo does not know makes mj_step raise an error, which must not exit */
    ck_assert_int_eq(env_mj_model_load("hopper.xml", &m, err, sizeof(err)), 0);
    ck_assert_int_eq(env_mj_data_create(m, &d, err, sizeof(err)), 0);
    m->opt.integrator = 99;
    long before = env_mj_error_count();
    ck_assert_int_eq(env_mj_step(m, d, 1), AG_ESIM);
    ck_assert_int_gt(env_mj_error_count(), before);
    mj_deleteData(d);
    mj_deleteModel(m);
    /* the process goes on and can still simulate */
    ck_assert_int_eq(env_mj_model_load("hopper.xml", &m, err, sizeof(err)), 0);
    ck_assert_int_eq(env_mj_data_create(m, &d, err, sizeof(err)), 0);
    ck_assert_int_eq(env_mj_step(m, d, 5), 0);
    mj_deleteData(d);
    mj_deleteModel(m);
}
END_TEST

START_TEST(test_instability_detection) {
    char err[512] = "", path[512];
    mjModel *m = NULL;
    mjData *d = NULL;
    tmp_write("ball.xml", ball_and_arm, path, sizeof(path));
    ck_assert_msg(env_mj_model_load_path(path, &m, err, sizeof(err)) == 0, "%s", err);
    ck_assert_int_eq(env_mj_data_create(m, &d, err, sizeof(err)), 0);
    ck_assert_int_eq(env_mj_unstable(m, d), 0);
    ck_assert_int_eq(env_mj_step(m, d, 20), 0);
    /* NaN in the state: MuJoCo counts a warning and resets; we report it */
    d->qvel[0] = NAN;
    ck_assert_int_eq(env_mj_step(m, d, 1), AG_ESIM);
    ck_assert_int_eq(env_mj_unstable(m, d), 1);
    /* setting a valid state clears the counters */
    mj_resetData(m, d);
    ck_assert_int_eq(env_mj_set_state(m, d, m->qpos0, NULL), 0);
    ck_assert_int_eq(env_mj_unstable(m, d), 0);
    /* a bad control is caught too (an infinite one would be clamped to the range) */
    d->ctrl[0] = NAN;
    ck_assert_int_eq(env_mj_step(m, d, 1), AG_ESIM);
    mj_deleteData(d);
    mj_deleteModel(m);
}
END_TEST

START_TEST(test_snapshot_resumes_identically) {
    char err[512] = "";
    mjModel *m = NULL;
    ck_assert_int_eq(env_mj_model_load("hand_block.xml", &m, err, sizeof(err)), 0);
    mjData *a = NULL, *b = NULL;
    ck_assert_int_eq(env_mj_data_create(m, &a, err, sizeof(err)), 0);
    ck_assert_int_eq(env_mj_data_create(m, &b, err, sizeof(err)), 0);
    for (int t = 0; t < 50; t++) {
        for (int i = 0; i < m->nu; i++) {
            a->ctrl[i] = m->actuator_ctrlrange[2 * i] + 0.01 * t;
        }
        ck_assert_int_eq(env_mj_step(m, a, 4), 0);
    }
    a->mocap_quat[0] = 0.5;
    a->mocap_quat[1] = 0.5;
    a->mocap_quat[2] = 0.5;
    a->mocap_quat[3] = 0.5;
    size_t n = env_mj_snapshot_count(m);
    ck_assert_uint_eq(n, 1 + (size_t)m->nq + 2 * (size_t)m->nv + (size_t)m->na + (size_t)m->nu +
                             7 * (size_t)m->nmocap);
    double *snap = malloc(n * sizeof(double));
    env_mj_snapshot_save(m, a, snap);
    ck_assert_int_eq(env_mj_snapshot_load(m, b, snap), 0);
    ck_assert(a->time == b->time);
    for (int t = 0; t < 40; t++) {
        ck_assert_int_eq(env_mj_step(m, a, 2), 0);
        ck_assert_int_eq(env_mj_step(m, b, 2), 0);
    }
    ck_assert_mem_eq(a->qpos, b->qpos, sizeof(double) * (size_t)m->nq);
    ck_assert_mem_eq(a->qvel, b->qvel, sizeof(double) * (size_t)m->nv);
    ck_assert_mem_eq(a->mocap_quat, b->mocap_quat, sizeof(double) * 4 * (size_t)m->nmocap);
    free(snap);
    mj_deleteData(a);
    mj_deleteData(b);
    mj_deleteModel(m);
}
END_TEST

static Suite *runtime_suite(void) {
    Suite *s = suite_create("mj_runtime");
    TCase *tc = tcase_create("runtime");
    tcase_add_checked_fixture(tc, tmp_setup, tmp_teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_load_errors_are_clear);
    tcase_add_test(tc, test_every_model_loads);
    tcase_add_test(tc, test_mujoco_error_is_caught);
    tcase_add_test(tc, test_instability_detection);
    tcase_add_test(tc, test_snapshot_resumes_identically);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) {
    SRunner *sr = srunner_create(runtime_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
