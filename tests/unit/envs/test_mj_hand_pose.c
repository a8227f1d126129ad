/* Tests of the random scenes for vision pretraining (server/envs/mujoco/mj_hand_pose.c): only
 * block tasks that render pixels are accepted; the labels are the scene's own block pose (unit
 * quaternion) and fingertip sites; hand_spread 0 keeps the hand at rest and 1 moves it; the
 * block stays within block_offset of where the reset put it; the image is the scene as the palm
 * camera sees it; the same stream gives the same scene. */
#include "mj_hand_test_util.h"

#include "ag_error.h"

#include <math.h>

#define SIDE 16

static const char *const pixels = "{\"vision\": \"pixels\", \"image_size\": 16}";

START_TEST(test_pose_check_classes) {
    char err[256] = "";
    ck_assert_int_eq(env_mj_hand_pose_check(&env_mj_hand_block_class, err, sizeof err), 0);
    ck_assert_int_eq(env_mj_hand_pose_check(&env_mj_hand_block_z_class, err, sizeof err), 0);
    ck_assert_int_eq(env_mj_hand_pose_check(&env_mj_hand_block_parallel_class, err, sizeof err), 0);
    ck_assert_int_eq(env_mj_hand_pose_check(&env_mj_hand_reach_class, err, sizeof err), AG_EINVAL);
    ck_assert_ptr_nonnull(strstr(err, "no block"));
    /* a block task that renders no pixels cannot give a picture */
    HandEnv e;
    hand_open(&e, &env_mj_hand_block_class, NULL, 1);
    EnvMjHandPoseOptions o = {0.5, 0.02};
    float img[3 * SIDE * SIDE], labels[HAND_POSE_LABELS];
    ck_assert_int_eq(env_mj_hand_pose_sample(&e.task, e.st, &e.rng, &o, img, labels), AG_EINVAL);
    hand_close(&e);
}
END_TEST

/* the largest distance of a hinge from its rest value */
static double hand_from_rest(const HandEnv *e) {
    double most = 0;
    for (int j = 0; j < HAND_NJOINT; j++) {
        most = fmax(most, fabs(e->st->d->qpos[e->sh->jnt_qpos[j]] - e->sh->rest[j]));
    }
    return most;
}

START_TEST(test_pose_labels_are_the_scene) {
    HandEnv e;
    hand_open(&e, &env_mj_hand_block_class, pixels, 3);
    float img[3 * SIDE * SIDE], labels[HAND_POSE_LABELS];
    for (int spread = 0; spread <= 1; spread++) {
        EnvMjHandPoseOptions o = {spread, 0.02};
        for (int i = 0; i < 5; i++) {
            ck_assert_int_eq(env_mj_hand_pose_sample(&e.task, e.st, &e.rng, &o, img, labels), 0);
            const double *obj = e.st->d->qpos + e.sh->obj_qpos;
            double n = 0;
            for (int k = 0; k < 7; k++) {
                ck_assert_float_eq(labels[HAND_POSE_POSITION + k], (float)obj[k]);
            }
            for (int k = 0; k < 4; k++) {
                n += (double)labels[HAND_POSE_QUAT + k] * labels[HAND_POSE_QUAT + k];
            }
            ck_assert_double_eq_tol(n, 1.0, 1e-6);
            for (int t = 0; t < HAND_NTIP; t++) {
                for (int k = 0; k < 3; k++) {
                    ck_assert_float_eq(labels[HAND_POSE_TIPS + 3 * t + k],
                                       (float)e.st->d->site_xpos[3 * e.sh->tip_site[t] + k]);
                }
            }
            /* the picture: in [0, 1] and not blank */
            double sum = 0;
            for (int p = 0; p < 3 * SIDE * SIDE; p++) {
                ck_assert(img[p] >= 0.0f && img[p] <= 1.0f);
                sum += img[p];
            }
            ck_assert(sum > 0.05 * 3 * SIDE * SIDE);
            if (spread == 0) {
                ck_assert_double_eq_tol(hand_from_rest(&e), 0.0, 1e-12);
            } else {
                ck_assert(hand_from_rest(&e) > 0.05);
            }
        }
    }
    hand_close(&e);
}
END_TEST

START_TEST(test_pose_block_offset_and_stream) {
    HandEnv a, b;
    hand_open(&a, &env_mj_hand_block_class, pixels, 5);
    hand_open(&b, &env_mj_hand_block_class, pixels, 5);
    float img_a[3 * SIDE * SIDE], img_b[3 * SIDE * SIDE];
    float la[HAND_POSE_LABELS], lb[HAND_POSE_LABELS];
    /* no offset: the block is where the same stream's reset alone puts it */
    EnvMjHandPoseOptions still = {0.5, 0.0}, moved = {0.5, 0.01};
    AgRng r0 = a.rng;
    ck_assert_int_eq(env_mj_hand_pose_sample(&a.task, a.st, &a.rng, &still, img_a, la), 0);
    env_mj_hand_block_reset(b.sh, b.st, &r0);
    for (int k = 0; k < 3; k++) {
        ck_assert_float_eq(la[HAND_POSE_POSITION + k], (float)b.st->d->qpos[b.sh->obj_qpos + k]);
    }
    /* with an offset: within it along each axis */
    r0 = a.rng;
    ck_assert_int_eq(env_mj_hand_pose_sample(&a.task, a.st, &a.rng, &moved, img_a, la), 0);
    env_mj_hand_block_reset(b.sh, b.st, &r0);
    for (int k = 0; k < 3; k++) {
        ck_assert(fabs(la[HAND_POSE_POSITION + k] - b.st->d->qpos[b.sh->obj_qpos + k]) <=
                  0.01 + 1e-6);
    }
    /* the same stream, the same scene and picture */
    AgRng s1, s2;
    ag_rng_seed(&s1, 9, 1);
    ag_rng_seed(&s2, 9, 1);
    ck_assert_int_eq(env_mj_hand_pose_sample(&a.task, a.st, &s1, &moved, img_a, la), 0);
    ck_assert_int_eq(env_mj_hand_pose_sample(&b.task, b.st, &s2, &moved, img_b, lb), 0);
    ck_assert(memcmp(la, lb, sizeof la) == 0);
    ck_assert(memcmp(img_a, img_b, sizeof img_a) == 0);
    hand_close(&a);
    hand_close(&b);
}
END_TEST

static Suite *pose_suite(void) {
    Suite *s = suite_create("mj_hand_pose");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_pose_check_classes);
    tcase_add_test(tc, test_pose_labels_are_the_scene);
    tcase_add_test(tc, test_pose_block_offset_and_stream);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) {
    SRunner *sr = srunner_create(pose_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
