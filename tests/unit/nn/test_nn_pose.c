/* Tests of the pose-regression loss: its value on hand-computed cases, its sign invariance, the
 * angle, and its gradient against central finite differences. */
#include "nn_pose.h"

#include "nn_gradcheck.h"

#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define B 5

typedef struct PoseCase {
    float pred[B * NN_POSE_DIM];
    float target[B * NN_POSE_DIM];
    double wp, wr;
} PoseCase;

static double pose_case_loss(void *ctx) {
    PoseCase *c = ctx;
    return nn_pose_loss(NULL, c->pred, c->target, B, c->wp, c->wr).loss;
}

static void unit_quat(float *q) {
    double n = 0;
    for (int k = 0; k < 4; k++) {
        q[k] = (float)ag_rng_normal(&rng);
        n += (double)q[k] * q[k];
    }
    for (int k = 0; k < 4; k++) {
        q[k] = (float)(q[k] / sqrt(n));
    }
}

START_TEST(test_pose_loss_by_hand) {
    /* position error (1, 2, 2): mse 9 / 3 = 3; the same rotation given as -2 q: distance 0 */
    float pred[7] = {1, 2, 2, -2, 0, 0, 0}, target[7] = {0, 0, 0, 1, 0, 0, 0};
    NnPoseLoss l = nn_pose_loss(NULL, pred, target, 1, 1.0, 1.0);
    ck_assert_double_eq_tol(l.position_mse, 3.0, 1e-12);
    ck_assert_double_eq_tol(l.rotation, 0.0, 1e-12);
    ck_assert_double_eq_tol(l.loss, 3.0, 1e-12);
    /* a quarter turn about z: cos(pi/4) between the two; weights scale the terms */
    float turned[7] = {0, 0, 0, (float)cos(M_PI / 4), 0, 0, (float)sin(M_PI / 4)};
    l = nn_pose_loss(NULL, turned, target, 1, 2.0, 3.0);
    ck_assert_double_eq_tol(l.rotation, 1.0 - cos(M_PI / 4), 1e-6);
    ck_assert_double_eq_tol(l.loss, 3.0 * (1.0 - cos(M_PI / 4)), 1e-6);
    ck_assert_double_eq_tol(nn_pose_angle(target + 3, turned + 3), M_PI / 2, 1e-6);
    ck_assert_double_eq_tol(nn_pose_angle(target + 3, pred + 3), 0.0, 1e-6);
    /* no direction: distance 1, no gradient */
    float zero[7] = {0}, d[7];
    l = nn_pose_loss(d, zero, target, 1, 1.0, 1.0);
    ck_assert_double_eq_tol(l.rotation, 1.0, 1e-12);
    for (int k = 3; k < 7; k++) {
        ck_assert(d[k] == 0.0f);
    }
    /* an empty batch is a zero loss */
    ck_assert_double_eq(nn_pose_loss(NULL, pred, target, 0, 1, 1).loss, 0.0);
}
END_TEST

START_TEST(test_pose_loss_sign_invariant) {
    PoseCase c;
    fill_normal(c.pred, sizeof c.pred / sizeof(float), 1.0);
    fill_normal(c.target, sizeof c.target / sizeof(float), 1.0);
    for (int b = 0; b < B; b++) {
        unit_quat(c.target + b * NN_POSE_DIM + 3);
    }
    double before = nn_pose_loss(NULL, c.pred, c.target, B, 1, 1).loss;
    for (int b = 0; b < B; b++) {
        for (int k = 3; k < 7; k++) {
            c.target[b * NN_POSE_DIM + k] = -c.target[b * NN_POSE_DIM + k];
        }
    }
    ck_assert_double_eq_tol(nn_pose_loss(NULL, c.pred, c.target, B, 1, 1).loss, before, 1e-9);
}
END_TEST

START_TEST(test_pose_loss_gradient) {
    PoseCase c = {.wp = 0.7, .wr = 2.5};
    fill_normal(c.pred, sizeof c.pred / sizeof(float), 1.0);
    fill_normal(c.target, sizeof c.target / sizeof(float), 1.0);
    for (int b = 0; b < B; b++) {
        unit_quat(c.target + b * NN_POSE_DIM + 3);
    }
    /* both signs of <q, u> occur, where the gradient flips */
    for (int k = 3; k < 7; k++) {
        c.pred[k] = -c.target[k] + 0.3f;
        c.pred[NN_POSE_DIM + k] = c.target[NN_POSE_DIM + k] + 0.3f;
    }
    float *d = alloc_floats(B * NN_POSE_DIM);
    nn_pose_loss(d, c.pred, c.target, B, c.wp, c.wr);
    ck_assert(dot(d, d, B * NN_POSE_DIM) > 0.0);
    grad_check("pose loss", c.pred, d, B * NN_POSE_DIM, pose_case_loss, &c);
    free(d);
}
END_TEST

static Suite *nn_pose_suite(void) {
    Suite *s = suite_create("nn_pose");
    TCase *tc = tcase_create("core");
    ag_rng_seed(&rng, 7, 0);
    tcase_add_test(tc, test_pose_loss_by_hand);
    tcase_add_test(tc, test_pose_loss_sign_invariant);
    tcase_add_test(tc, test_pose_loss_gradient);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) {
    SRunner *sr = srunner_create(nn_pose_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
