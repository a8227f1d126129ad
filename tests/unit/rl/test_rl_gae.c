/* Tests of GAE and the truncation bootstrap against hand-computed cases. */
#include "rl_gae.h"

#include <check.h>
#include <math.h>

#define TOL 1e-5

START_TEST(test_gae_no_end) {
    /* gamma = lambda = 0.5: delta2 = 3 + .5*2 - 1.5 = 2.5, delta1 = 2 + .5*1.5 - 1 = 1.75,
     * delta0 = 1 + .5*1 - .5 = 1; A2 = 2.5, A1 = 1.75 + .25*2.5, A0 = 1 + .25*A1 */
    float r[3] = {1, 2, 3}, v[3] = {0.5f, 1, 1.5f}, last = 2, adv[3], ret[3];
    uint8_t d[3] = {0, 0, 0};
    rl_gae_compute(adv, ret, r, v, d, &last, 1, 3, 0.5f, 0.5f);
    ck_assert_double_eq_tol(adv[2], 2.5, TOL);
    ck_assert_double_eq_tol(adv[1], 2.375, TOL);
    ck_assert_double_eq_tol(adv[0], 1.59375, TOL);
    for (int t = 0; t < 3; t++) {
        ck_assert_double_eq_tol(ret[t], adv[t] + v[t], TOL);
    }
}
END_TEST

START_TEST(test_gae_termination_no_bootstrap) {
    /* episode terminated after step 1: nothing flows back from step 2, no value of it */
    float r[3] = {1, 2, 3}, v[3] = {0.5f, 1, 1.5f}, last = 2, adv[3], ret[3];
    uint8_t term[3] = {0, 1, 0}, trunc[3] = {0, 0, 0};
    float final_v[3] = {0, 100, 0};
    rl_reward_bootstrap(r, term, trunc, final_v, 0.5f, 3);
    ck_assert_double_eq_tol(r[1], 2.0, TOL);
    rl_gae_compute(adv, ret, r, v, term, &last, 1, 3, 0.5f, 0.5f);
    ck_assert_double_eq_tol(adv[2], 2.5, TOL);
    ck_assert_double_eq_tol(adv[1], 1.0, TOL);  /* 2 - 1 */
    ck_assert_double_eq_tol(adv[0], 1.25, TOL); /* 1 + .5*1 - .5 + .25*1 */
}
END_TEST

START_TEST(test_gae_truncation_bootstrap) {
    /* truncated after step 1 with V(final obs) = 4: reward 2 + .5*4 = 4 */
    float r[3] = {1, 2, 3}, v[3] = {0.5f, 1, 1.5f}, last = 2, adv[3], ret[3];
    uint8_t term[3] = {0, 0, 0}, trunc[3] = {0, 1, 0}, dones[3] = {0, 1, 0};
    float final_v[3] = {0, 4, 0};
    rl_reward_bootstrap(r, term, trunc, final_v, 0.5f, 3);
    ck_assert_double_eq_tol(r[0], 1.0, TOL);
    ck_assert_double_eq_tol(r[1], 4.0, TOL);
    ck_assert_double_eq_tol(r[2], 3.0, TOL);
    rl_gae_compute(adv, ret, r, v, dones, &last, 1, 3, 0.5f, 0.5f);
    ck_assert_double_eq_tol(adv[2], 2.5, TOL);
    ck_assert_double_eq_tol(adv[1], 3.0, TOL);
    ck_assert_double_eq_tol(adv[0], 1.75, TOL);
    ck_assert_double_eq_tol(ret[1], 4.0, TOL);
}
END_TEST

START_TEST(test_bootstrap_terminated_wins) {
    /* a step both terminated and truncated is a termination */
    float r[2] = {1, 1};
    uint8_t term[2] = {1, 0}, trunc[2] = {1, 1};
    float final_v[2] = {10, 10};
    rl_reward_bootstrap(r, term, trunc, final_v, 0.9f, 2);
    ck_assert_double_eq_tol(r[0], 1.0, TOL);
    ck_assert_double_eq_tol(r[1], 10.0, TOL);
}
END_TEST

START_TEST(test_gae_env_major_independent) {
    /* two environments side by side give the same as each alone */
    float r[6] = {1, 2, 3, -1, 0, 1}, v[6] = {0.5f, 1, 1.5f, 0, 0.2f, 0.1f};
    float last[2] = {2, -3}, adv[6], ret[6], a1[3], g1[3];
    uint8_t d[6] = {0, 1, 0, 0, 0, 1};
    rl_gae_compute(adv, ret, r, v, d, last, 2, 3, 0.99f, 0.95f);
    rl_gae_compute(a1, g1, r + 3, v + 3, d + 3, last + 1, 1, 3, 0.99f, 0.95f);
    for (int t = 0; t < 3; t++) {
        ck_assert_float_eq(adv[3 + t], a1[t]);
    }
    /* env 1 ends at its last step: the bootstrap value -3 is ignored */
    ck_assert_double_eq_tol(adv[5], 1.0 - 0.1, TOL);
    /* lambda = 1 gives discounted returns minus values */
    rl_gae_compute(adv, ret, r, v, d, last, 2, 3, 0.9f, 1.0f);
    ck_assert_double_eq_tol(ret[0], 1 + 0.9 * 2, TOL);
    ck_assert_double_eq_tol(ret[2], 3 + 0.9 * 2, TOL);
}
END_TEST

static Suite *gae_suite(void) {
    Suite *s = suite_create("rl_gae");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_gae_no_end);
    tcase_add_test(tc, test_gae_termination_no_bootstrap);
    tcase_add_test(tc, test_gae_truncation_bootstrap);
    tcase_add_test(tc, test_bootstrap_terminated_wins);
    tcase_add_test(tc, test_gae_env_major_independent);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) {
    SRunner *sr = srunner_create(gae_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
