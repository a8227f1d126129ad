/* Tests of the pose-regression loss in both rotation forms: its value on hand-computed cases, the
 * quaternion's sign invariance, the 6D form's angle against the quaternion's for the same
 * rotations, the outputs without a direction, and the gradients against central finite
 * differences. */
#include "nn_pose.h"

#include "nn_gradcheck.h"

#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define B 5

typedef struct PoseCase {
    float pred[B * NN_POSE_OUT_MAX];
    float target[B * NN_POSE_DIM];
    double wp, wr;
    NnPoseRotation rot;
} PoseCase;

static double pose_case_loss(void *ctx) {
    PoseCase *c = ctx;
    return nn_pose_loss(c->rot, NULL, c->pred, c->target, B, c->wp, c->wr).loss;
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
    NnPoseLoss l = nn_pose_loss(NN_POSE_QUATERNION, NULL, pred, target, 1, 1.0, 1.0);
    ck_assert_double_eq_tol(l.position_mse, 3.0, 1e-12);
    ck_assert_double_eq_tol(l.rotation, 0.0, 1e-12);
    ck_assert_double_eq_tol(l.loss, 3.0, 1e-12);
    /* a quarter turn about z: cos(pi/4) between the two; weights scale the terms */
    float turned[7] = {0, 0, 0, (float)cos(M_PI / 4), 0, 0, (float)sin(M_PI / 4)};
    l = nn_pose_loss(NN_POSE_QUATERNION, NULL, turned, target, 1, 2.0, 3.0);
    ck_assert_double_eq_tol(l.rotation, 1.0 - cos(M_PI / 4), 1e-6);
    ck_assert_double_eq_tol(l.loss, 3.0 * (1.0 - cos(M_PI / 4)), 1e-6);
    ck_assert_double_eq_tol(nn_pose_angle(NN_POSE_QUATERNION, target + 3, turned + 3), M_PI / 2,
                            1e-6);
    ck_assert_double_eq_tol(nn_pose_angle(NN_POSE_QUATERNION, target + 3, pred + 3), 0.0, 1e-6);
    /* no direction: distance 1, no gradient */
    float zero[7] = {0}, d[7];
    l = nn_pose_loss(NN_POSE_QUATERNION, d, zero, target, 1, 1.0, 1.0);
    ck_assert_double_eq_tol(l.rotation, 1.0, 1e-12);
    for (int k = 3; k < 7; k++) {
        ck_assert(d[k] == 0.0f);
    }
    /* an empty batch is a zero loss */
    ck_assert_double_eq(nn_pose_loss(NN_POSE_QUATERNION, NULL, pred, target, 0, 1, 1).loss, 0.0);
}
END_TEST

START_TEST(test_pose_loss_sign_invariant) {
    PoseCase c;
    fill_normal(c.pred, sizeof c.pred / sizeof(float), 1.0);
    fill_normal(c.target, sizeof c.target / sizeof(float), 1.0);
    for (int b = 0; b < B; b++) {
        unit_quat(c.target + b * NN_POSE_DIM + 3);
    }
    double before = nn_pose_loss(NN_POSE_QUATERNION, NULL, c.pred, c.target, B, 1, 1).loss;
    for (int b = 0; b < B; b++) {
        for (int k = 3; k < 7; k++) {
            c.target[b * NN_POSE_DIM + k] = -c.target[b * NN_POSE_DIM + k];
        }
    }
    ck_assert_double_eq_tol(nn_pose_loss(NN_POSE_QUATERNION, NULL, c.pred, c.target, B, 1, 1).loss,
                            before, 1e-9);
}
END_TEST

START_TEST(test_pose_loss_gradient) {
    PoseCase c = {.wp = 0.7, .wr = 2.5, .rot = NN_POSE_QUATERNION};
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
    nn_pose_loss(c.rot, d, c.pred, c.target, B, c.wp, c.wr);
    ck_assert(dot(d, d, B * NN_POSE_DIM) > 0.0);
    grad_check("pose loss", c.pred, d, B * NN_POSE_DIM, pose_case_loss, &c);
    free(d);
}
END_TEST

/* the 6D form by hand: the identity given with a1 scaled and a2 leaning on a1, a quarter and a
 * half turn about z, and outputs without a direction */
START_TEST(test_six_d_by_hand) {
    float target[7] = {0, 0, 0, 1, 0, 0, 0};
    float same[9] = {1, 2, 2, 2, 0, 0, 0.5f, 3, 0};
    NnPoseLoss l = nn_pose_loss(NN_POSE_6D, NULL, same, target, 1, 1.0, 1.0);
    ck_assert_double_eq_tol(l.position_mse, 3.0, 1e-12);
    ck_assert_double_eq_tol(l.rotation, 0.0, 1e-12);
    ck_assert_double_eq_tol(nn_pose_angle(NN_POSE_6D, target + 3, same + 3), 0.0, 1e-6);
    /* the target turned a quarter about z, the output the identity: (1 - cos(pi/2)) / 2 */
    float quarter[7] = {0, 0, 0, (float)cos(M_PI / 4), 0, 0, (float)sin(M_PI / 4)};
    float ident[9] = {0, 0, 0, 1, 0, 0, 0, 1, 0};
    l = nn_pose_loss(NN_POSE_6D, NULL, ident, quarter, 1, 2.0, 3.0);
    ck_assert_double_eq_tol(l.rotation, 0.5, 1e-6);
    ck_assert_double_eq_tol(l.loss, 1.5, 1e-6);
    ck_assert_double_eq_tol(nn_pose_angle(NN_POSE_6D, quarter + 3, ident + 3), M_PI / 2, 1e-6);
    /* a half turn about z: b1 = -x, b2 = -y */
    float half[9] = {0, 0, 0, -1, 0, 0, 0, -1, 0};
    l = nn_pose_loss(NN_POSE_6D, NULL, half, target, 1, 1.0, 1.0);
    ck_assert_double_eq_tol(l.rotation, 1.0, 1e-12);
    ck_assert_double_eq_tol(nn_pose_angle(NN_POSE_6D, target + 3, half + 3), M_PI, 1e-6);
    /* no direction: a1 zero, or a2 along a1; distance 1, no gradient */
    float flat[2][9] = {{0, 0, 0, 0, 0, 0, 0, 1, 0}, {0, 0, 0, 1, 1, 0, -2, -2, 0}};
    for (int i = 0; i < 2; i++) {
        float d[9];
        l = nn_pose_loss(NN_POSE_6D, d, flat[i], target, 1, 1.0, 1.0);
        ck_assert_double_eq_tol(l.rotation, 1.0, 1e-12);
        for (int k = 3; k < 9; k++) {
            ck_assert(d[k] == 0.0f);
        }
    }
    ck_assert_int_eq(nn_pose_output_dim(NN_POSE_6D), 9);
    ck_assert_int_eq(nn_pose_output_dim(NN_POSE_QUATERNION), 7);
}
END_TEST

/* the rotation matrix of a unit quaternion, row-major */
static void quat_matrix(const float *q, double m[3][3]) {
    double w = q[0], x = q[1], y = q[2], z = q[3];
    m[0][0] = 1 - 2 * (y * y + z * z), m[0][1] = 2 * (x * y - w * z), m[0][2] = 2 * (x * z + w * y);
    m[1][0] = 2 * (x * y + w * z), m[1][1] = 1 - 2 * (x * x + z * z), m[1][2] = 2 * (y * z - w * x);
    m[2][0] = 2 * (x * z - w * y), m[2][1] = 2 * (y * z + w * x), m[2][2] = 1 - 2 * (x * x + y * y);
}

/* for random target and output rotations, the 6D output built from the output rotation's first
 * two columns (a1 scaled, a2 with some of a1 added) has the quaternion form's angle, and its
 * distance is (1 - cos angle) / 2 */
START_TEST(test_six_d_agrees_with_quaternion) {
    for (int i = 0; i < 200; i++) {
        float q[4], u[4], six[6];
        double m[3][3];
        unit_quat(q);
        unit_quat(u);
        quat_matrix(u, m);
        double scale = 0.5 + 2.0 * ag_rng_uniform(&rng), lean = ag_rng_normal(&rng);
        for (int k = 0; k < 3; k++) {
            six[k] = (float)(scale * m[k][0]);
            six[3 + k] = (float)(m[k][1] + lean * m[k][0]);
        }
        double a = nn_pose_angle(NN_POSE_QUATERNION, q, u);
        ck_assert_double_eq_tol(nn_pose_angle(NN_POSE_6D, q, six), a, 2e-3);
        float pred[9] = {0, 0, 0}, target[7] = {0, 0, 0};
        memcpy(pred + 3, six, sizeof six);
        memcpy(target + 3, q, sizeof q);
        ck_assert_double_eq_tol(nn_pose_loss(NN_POSE_6D, NULL, pred, target, 1, 1, 1).rotation,
                                (1 - cos(a)) / 2, 1e-5);
    }
}
END_TEST

START_TEST(test_six_d_gradient) {
    PoseCase c = {.wp = 0.7, .wr = 2.5, .rot = NN_POSE_6D};
    fill_normal(c.pred, B * 9, 1.0);
    fill_normal(c.target, sizeof c.target / sizeof(float), 1.0);
    for (int b = 0; b < B; b++) {
        unit_quat(c.target + b * NN_POSE_DIM + 3);
    }
    float *d = alloc_floats(B * 9);
    nn_pose_loss(c.rot, d, c.pred, c.target, B, c.wp, c.wr);
    ck_assert(dot(d, d, B * 9) > 0.0);
    grad_check("6D pose loss", c.pred, d, B * 9, pose_case_loss, &c);
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
    tcase_add_test(tc, test_six_d_by_hand);
    tcase_add_test(tc, test_six_d_agrees_with_quaternion);
    tcase_add_test(tc, test_six_d_gradient);
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
