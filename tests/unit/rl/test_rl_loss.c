/* Tests of the PPO losses: hand-computed values and finite-difference gradients. */
#include "rl_loss.h"

#include <check.h>
#include <math.h>
#include <stdio.h>

#define TOL 1e-5

START_TEST(test_loss_hand_values) {
    /* ratio 1.5 with A = +1 is clipped (1.2, no gradient); ratio 1.5 with A = -1 takes the
     * unclipped -1.5 (loss 1.5, gradient 1.5); ratio 1 with A = 2 gives -2, gradient -2 */
    RlLossConfig cfg = {.clip = 0.2f, .value_clip = 0, .c_value = 0.5f, .c_entropy = 0.1f};
    float logp[3] = {logf(1.5f), logf(1.5f), 0}, old[3] = {0, 0, 0}, adv[3] = {1, -1, 2};
    float ent[3] = {1, 2, 3}, v[3] = {1, 2, 3}, vold[3] = {0.8f, 2, 2}, ret[3] = {0, 2, 5};
    float dl[3], de[3], dv[3];
    RlLossStats st = {0};
    rl_ppo_loss(&cfg, 3, logp, old, adv, ent, v, vold, ret, dl, de, dv, &st);
    ck_assert_double_eq_tol(st.policy_loss, (-1.2 + 1.5 - 2.0) / 3, TOL);
    ck_assert_double_eq_tol(st.value_loss, 0.5 * (1 + 0 + 4) / 3, TOL);
    ck_assert_double_eq_tol(st.entropy, 2.0, TOL);
    ck_assert_double_eq_tol(st.clip_fraction, 2.0 / 3, TOL);
    ck_assert_double_eq_tol(st.approx_kl, 2 * (0.5 - log(1.5)) / 3, TOL);
    ck_assert_double_eq_tol(st.loss, st.policy_loss + 0.5 * st.value_loss - 0.1 * st.entropy, TOL);
    ck_assert_int_eq(st.batches, 1);
    ck_assert_double_eq_tol(dl[0], 0.0, TOL);
    ck_assert_double_eq_tol(dl[1], 1.5 / 3, TOL);
    ck_assert_double_eq_tol(dl[2], -2.0 / 3, TOL);
    ck_assert_double_eq_tol(dv[0], 0.5 * 1.0 / 3, TOL);
    ck_assert_double_eq_tol(dv[1], 0.0, TOL);
    ck_assert_double_eq_tol(dv[2], 0.5 * -2.0 / 3, TOL);
    for (int i = 0; i < 3; i++) {
        ck_assert_double_eq_tol(de[i], -0.1 / 3, TOL);
    }
}
END_TEST

START_TEST(test_loss_value_clip) {
    /* value_clip 0.5: sample 2 moved from V_old 2 to 3, clipped to 2.5; (2.5 - 5)^2/2 = 3.125
     * beats (3 - 5)^2/2 = 2, so the clipped term counts and has no gradient */
    RlLossConfig cfg = {.clip = 0.2f, .value_clip = 0.5f, .c_value = 1.0f, .c_entropy = 0};
    float logp[3] = {0, 0, 0}, old[3] = {0, 0, 0}, adv[3] = {0, 0, 0}, ent[3] = {0, 0, 0};
    float v[3] = {1, 2, 3}, vold[3] = {0.8f, 2, 2}, ret[3] = {0, 2, 5};
    float dl[3], de[3], dv[3];
    RlLossStats st = {0};
    rl_ppo_loss(&cfg, 3, logp, old, adv, ent, v, vold, ret, dl, de, dv, &st);
    ck_assert_double_eq_tol(st.value_loss, (0.5 + 0 + 3.125) / 3, TOL);
    ck_assert_double_eq_tol(dv[0], 1.0 / 3, TOL);
    ck_assert_double_eq_tol(dv[2], 0.0, TOL);
    ck_assert_double_eq_tol(st.policy_loss, 0.0, TOL);
    ck_assert_double_eq_tol(st.approx_kl, 0.0, TOL);
}
END_TEST

static double loss_total(const RlLossConfig *cfg, int n, const float *logp, const float *old,
                         const float *adv, const float *ent, const float *v, const float *vold,
                         const float *ret) {
    float dl[8], de[8], dv[8];
    RlLossStats st = {0};
    rl_ppo_loss(cfg, n, logp, old, adv, ent, v, vold, ret, dl, de, dv, &st);
    return st.loss;
}

START_TEST(test_loss_finite_differences) {
    /* away from the kinks, the analytic gradient matches central differences */
    RlLossConfig cfg = {.clip = 0.2f, .value_clip = 0.3f, .c_value = 0.7f, .c_entropy = 0.05f};
    enum { N = 6 };
    float logp[N] = {-1.0f, -0.5f, -2.0f, -0.3f, -1.2f, -0.9f};
    float old[N] = {-1.1f, -0.2f, -2.05f, -0.6f, -1.0f, -0.95f};
    float adv[N] = {1.5f, -0.7f, 0.3f, 2.0f, -1.1f, 0.8f};
    float ent[N] = {0.6f, 0.7f, 0.5f, 0.4f, 0.9f, 1.0f};
    float v[N] = {0.5f, -0.2f, 1.0f, 2.0f, 0.1f, -1.0f};
    float vold[N] = {0.4f, 0.5f, 1.1f, 1.0f, 0.15f, -0.5f};
    float ret[N] = {1.0f, -1.0f, 0.2f, 2.5f, 0.0f, 1.0f};
    float dl[N], de[N], dv[N];
    rl_ppo_loss(&cfg, N, logp, old, adv, ent, v, vold, ret, dl, de, dv, NULL);
    const float h = 1e-3f;
    double max_diff = 0.0;
    for (int i = 0; i < N; i++) {
        float *targets[3] = {logp, ent, v};
        float *grads[3] = {dl, de, dv};
        for (int k = 0; k < 3; k++) {
            float keep = targets[k][i];
            targets[k][i] = keep + h;
            double lp = loss_total(&cfg, N, logp, old, adv, ent, v, vold, ret);
            targets[k][i] = keep - h;
            double lm = loss_total(&cfg, N, logp, old, adv, ent, v, vold, ret);
            targets[k][i] = keep;
            double fd = (lp - lm) / (2 * h);
            double diff = fabs(fd - grads[k][i]);
            max_diff = diff > max_diff ? diff : max_diff;
            ck_assert_msg(diff < 2e-4, "input %d sample %d: analytic %g, numeric %g", k, i,
                          grads[k][i], fd);
        }
    }
    printf("rl_ppo_loss: max |analytic - numeric| = %.3g\n", max_diff);
}
END_TEST

START_TEST(test_explained_variance) {
    /* ret = {1, 2, 3}, value = ret: 1; value = mean: 0 */
    ck_assert_double_eq_tol(rl_explained_variance(3, 6, 14, 0, 0), 1.0, TOL);
    ck_assert_double_eq_tol(rl_explained_variance(3, 6, 14, 0, 2), 0.0, TOL);
    ck_assert(isnan(rl_explained_variance(1, 1, 1, 0, 0)));
    ck_assert(isnan(rl_explained_variance(3, 3, 3, 0, 0))); /* constant returns */
}
END_TEST

static Suite *loss_suite(void) {
    Suite *s = suite_create("rl_loss");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_loss_hand_values);
    tcase_add_test(tc, test_loss_value_clip);
    tcase_add_test(tc, test_loss_finite_differences);
    tcase_add_test(tc, test_explained_variance);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) {
    SRunner *sr = srunner_create(loss_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
