/* Tests of episode recording for MuJoCo tasks (mj_record.c, mj_render.c): video frames from the
 * tracking, palm or free camera, replayable scene and pose JSON, and clear refusals. */
#include "mj_record.h"
#include "mj_runtime.h"
#include "mj_tasks.h"

#include "ag_error.h"

#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Mesa's software renderer keeps some allocations until the process ends; LeakSanitizer reads
 * this hook when the tests run under ASan */
const char *__lsan_default_suppressions(void);
const char *__lsan_default_suppressions(void) {
    return "leak:libOSMesa\n";
}

typedef struct RecEnv {
    EnvTask task;
    void *state;
    AgRng rng;
    float *obs;
} RecEnv;

static void rec_open(RecEnv *e, const EnvClass *cls) {
    char err[256] = "";
    memset(e, 0, sizeof(*e));
    e->task.cls = cls;
    ck_assert_msg(cls->task_create(&e->task, NULL, err, sizeof(err)) == 0, "%s", err);
    e->state = calloc(1, cls->state_size);
    ck_assert_int_eq(cls->env_create(&e->task, e->state, err, sizeof(err)), 0);
    e->obs = calloc((size_t)e->task.spec.obs_size, sizeof(float));
    ag_rng_seed(&e->rng, 3, 0);
    cls->reset(&e->task, e->state, &e->rng, e->obs);
}

static void rec_close(RecEnv *e) {
    e->task.cls->env_destroy(&e->task, e->state);
    e->task.cls->task_destroy(&e->task);
    free(e->state);
    free(e->obs);
}

static void rec_steps(RecEnv *e, int n, float value) {
    float a[ENV_MAX_ACTION_DIM];
    for (int i = 0; i < ENV_MAX_ACTION_DIM; i++) {
        a[i] = value;
    }
    for (int t = 0; t < n; t++) {
        EnvStep st;
        e->task.cls->step(&e->task, e->state, &e->rng, a, e->obs, &st);
    }
}

static long rec_diff(const unsigned char *a, const unsigned char *b, size_t n) {
    long s = 0;
    for (size_t i = 0; i < n; i++) {
        s += labs((long)a[i] - (long)b[i]);
    }
    return s;
}

START_TEST(test_frames_show_motion) {
    static const EnvClass *const classes[] = {&env_mj_hopper_class, &env_mj_inverted_pendulum_class,
                                              &env_mj_hand_reach_class};
    for (int c = 0; c < 3; c++) {
        RecEnv e;
        rec_open(&e, classes[c]);
        ck_assert(env_mj_task_is_mujoco(&e.task));
        char err[256] = "";
        EnvMjRenderer *r = NULL;
        ck_assert_msg(env_mj_recorder_create(&e.task, 96, 64, &r, err, sizeof(err)) == 0, "%s",
                      err);
        size_t n = 96 * 64 * 3;
        unsigned char *f0 = malloc(n), *f1 = malloc(n);
        ck_assert_int_eq(env_mj_record_frame(&e.task, r, e.state, f0), 0);
        /* not a blank frame */
        int lo = 255, hi = 0;
        for (size_t i = 0; i < n; i++) {
            lo = f0[i] < lo ? f0[i] : lo;
            hi = f0[i] > hi ? f0[i] : hi;
        }
        ck_assert_msg(hi - lo > 60, "%s: flat frame", classes[c]->name);
        /* full actions for a while: the picture changes */
        rec_steps(&e, 20, 1.0f);
        ck_assert_int_eq(env_mj_record_frame(&e.task, r, e.state, f1), 0);
        ck_assert_msg(rec_diff(f0, f1, n) > 1000, "%s: frames equal", classes[c]->name);
        free(f0);
        free(f1);
        env_mj_renderer_destroy(r);
        rec_close(&e);
    }
}
END_TEST

START_TEST(test_scene_and_poses_json) {
    RecEnv e;
    rec_open(&e, &env_mj_hand_block_class);
    const mjModel *m = *(mjModel *const *)e.task.shared;
    json_t *scene = env_mj_record_scene(&e.task);
    ck_assert_ptr_nonnull(scene);
    ck_assert_str_eq(json_string_value(json_object_get(scene, "model")), "HandBlock");
    json_t *bodies = json_object_get(scene, "bodies");
    ck_assert_int_eq((int)json_array_size(bodies), m->nbody);
    int boxes = 0;
    size_t i;
    json_t *b;
    json_array_foreach(bodies, i, b) {
        size_t k;
        json_t *g;
        json_array_foreach(json_object_get(b, "geoms"), k, g) {
            boxes += strcmp(json_string_value(json_object_get(g, "type")), "box") == 0;
            ck_assert_int_eq((int)json_array_size(json_object_get(g, "rgba")), 4);
        }
    }
    ck_assert_int_ge(boxes, 14); /* palm, metacarpal, two cubes with six faces each */
    json_decref(scene);

    json_t *p0 = env_mj_record_poses(&e.task, e.state);
    rec_steps(&e, 3, 0.0f);
    json_t *p1 = env_mj_record_poses(&e.task, e.state);
    ck_assert_int_eq((int)json_array_size(json_object_get(p1, "poses")), m->nbody);
    ck_assert_int_eq((int)json_array_size(json_array_get(json_object_get(p1, "poses"), 1)), 7);
    ck_assert(json_real_value(json_object_get(p1, "t")) >
              json_real_value(json_object_get(p0, "t")));
    json_decref(p0);
    json_decref(p1);
    rec_close(&e);
}
END_TEST

static void dummy_reset(const EnvTask *t, void *s, AgRng *r, float *o) {
    (void)t;
    (void)s;
    (void)r;
    (void)o;
}

START_TEST(test_refusals) {
    static const EnvClass other = {.name = "NotMuJoCo", .reset = dummy_reset};
    EnvTask t;
    memset(&t, 0, sizeof(t));
    t.cls = &other;
    int x = 0;
    t.shared = &x;
    char err[256] = "";
    EnvMjRenderer *r = (EnvMjRenderer *)1;
    ck_assert_int_eq(env_mj_task_is_mujoco(&t), 0);
    ck_assert_int_eq(env_mj_recorder_create(&t, 64, 64, &r, err, sizeof(err)), AG_EUNSUPPORTED);
    ck_assert_ptr_null(r);
    ck_assert_msg(strstr(err, "NotMuJoCo") != NULL, "%s", err);
    ck_assert_ptr_null(env_mj_record_scene(&t));
    ck_assert_ptr_null(env_mj_record_poses(&t, &x));
    /* sizes beyond the model's offscreen buffer */
    RecEnv e;
    rec_open(&e, &env_mj_hand_block_class);
    ck_assert_int_eq(env_mj_recorder_create(&e.task, 4000, 64, &r, err, sizeof(err)), AG_ERANGE);
    ck_assert_msg(strstr(err, "4000") != NULL, "%s", err);
    rec_close(&e);
}
END_TEST

/* the catalogue marks its MuJoCo tasks by their model hook: every MuJoCo task has one, gives its
 * own model and each environment's data, and no plain-C task has one */
START_TEST(test_catalogue_marks_mujoco_tasks) {
    int mujoco = 0;
    for (int i = 0; i < env_registry_count(); i++) {
        const EnvClass *cls = env_registry_at(i);
        ck_assert_msg((cls->mj_model == NULL) == (cls->mj_data == NULL), "%s", cls->name);
        if (!cls->mj_model) {
            continue;
        }
        mujoco++;
        RecEnv e;
        rec_open(&e, cls);
        ck_assert(env_mj_task_is_mujoco(&e.task));
        const mjModel *m = cls->mj_model(&e.task);
        const mjData *d = cls->mj_data(&e.task, e.state);
        ck_assert_ptr_nonnull(m);
        ck_assert_ptr_nonnull(d);
        ck_assert_int_gt(m->nq, 0);
        ck_assert_ptr_eq(m, *(mjModel *const *)e.task.shared);
        ck_assert_ptr_eq(d, *(mjData *const *)e.state);
        rec_close(&e);
    }
    ck_assert_int_ge(mujoco, 12);
    ck_assert_ptr_null(env_registry_find("CartPole")->mj_model);
    ck_assert_ptr_null(env_registry_find("Pendulum")->mj_model);
    ck_assert_ptr_nonnull(env_registry_find("HandBlock")->mj_model);
    ck_assert_ptr_nonnull(env_registry_find("Hopper")->mj_model);
}
END_TEST

static Suite *record_suite(void) {
    Suite *s = suite_create("mj_record");
    TCase *tc = tcase_create("record");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_frames_show_motion);
    tcase_add_test(tc, test_scene_and_poses_json);
    tcase_add_test(tc, test_refusals);
    tcase_add_test(tc, test_catalogue_marks_mujoco_tasks);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) {
    SRunner *sr = srunner_create(record_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
