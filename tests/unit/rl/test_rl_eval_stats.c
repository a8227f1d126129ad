/* Tests of the evaluation summaries: the t interval and the Wilson interval against numbers
 * computed by hand, which rule applies to which values, and no interval from one episode. */
#include "rl_eval_stats.h"

#include <check.h>
#include <math.h>

#define TOL 1e-9

START_TEST(test_t_interval_known_values) {
    /* mean 5, squared deviations 9+1+1+0+4+16+4+1 = 36, var 36/7, t95(7) = 2.364624 */
    const double v[8] = {2, 4, 4, 5, 7, 9, 3, 6};
    RlEvalSummary s;
    rl_eval_summarize(v, 8, &s);
    ck_assert_int_eq(s.wilson, 0);
    ck_assert_double_eq_tol(s.mean, 5.0, TOL);
    ck_assert_double_eq_tol(s.std, 2.2677868380553634, TOL);
    ck_assert_double_eq_tol(s.low, 5.0 - 2.364624 * 2.2677868380553634 / 2.8284271247461903, TOL);
    ck_assert_double_eq_tol(s.high, 5.0 + 2.364624 * 2.2677868380553634 / 2.8284271247461903, TOL);
    ck_assert_double_eq_tol(s.low, 3.1040829593, 1e-9);
}
END_TEST

START_TEST(test_t_quantiles) {
    /* Student's t 0.975 quantiles to 6 decimals: tan(0.475 pi), 0.95 * sqrt(2 / 0.0975), tables */
    ck_assert_double_eq_tol(rl_t95(1), 12.706205, 1e-6);
    ck_assert_double_eq_tol(rl_t95(2), 4.302653, 1e-6);
    ck_assert_double_eq_tol(rl_t95(30), 2.042272, 1e-6);
    /* past the table: the expansion, continuous with it and decreasing to the normal quantile */
    ck_assert_double_eq_tol(rl_t95(31), 2.039513, 2e-6);
    ck_assert_double_eq_tol(rl_t95(39), 2.022691, 2e-6);
    ck_assert_double_eq_tol(rl_t95(60), 2.000298, 2e-6);
    ck_assert_double_eq_tol(rl_t95(99), 1.984217, 2e-6); /* 100 episodes, as the hand ladder's */
    ck_assert_double_eq_tol(rl_t95(199), 1.971957, 2e-6);
    ck_assert_double_eq_tol(rl_t95(1000), 1.962339, 2e-6);
    ck_assert(rl_t95(100000) > 1.959963 && rl_t95(100000) < 1.96);
    ck_assert(isnan(rl_t95(0)));
}
END_TEST

START_TEST(test_wilson_known_values) {
    /* 45 of 50: p = 0.9, z = 1.959964, centre (0.9 + z^2/100) / (1 + z^2/50),
     * half z / (1 + z^2/50) * sqrt(0.9 * 0.1 / 50 + z^2 / 10000) */
    double low, high;
    rl_wilson95(45, 50, &low, &high);
    ck_assert_double_eq_tol(low, 0.7863976856, 1e-9);
    ck_assert_double_eq_tol(high, 0.9565242351, 1e-9);
    /* 178 of 200: HandReach seed 1's deterministic policy, [0.839, 0.926] in reach.md */
    rl_wilson95(178, 200, &low, &high);
    ck_assert_double_eq_tol(low, 0.8390730900, 1e-9);
    ck_assert_double_eq_tol(high, 0.9262275554, 1e-9);
    /* none of 20: from exactly 0 up to z^2 / (20 + z^2) */
    rl_wilson95(0, 20, &low, &high);
    ck_assert_double_eq(low, 0.0);
    ck_assert_double_eq_tol(high, 0.1611251581, 1e-9);
    rl_wilson95(20, 20, &low, &high);
    ck_assert_double_eq_tol(low, 0.8388748419, 1e-9);
    ck_assert_double_eq(high, 1.0);
}
END_TEST

START_TEST(test_success_rate_gets_wilson) {
    /* 45 ones and 5 zeros */
    double v[50];
    for (int k = 0; k < 50; k++) {
        v[k] = k % 10 == 3 ? 0.0 : 1.0;
    }
    RlEvalSummary s;
    rl_eval_summarize(v, 50, &s);
    ck_assert_int_eq(s.wilson, 1);
    ck_assert_double_eq_tol(s.mean, 0.9, TOL);
    ck_assert_double_eq_tol(s.std, sqrt(0.9 * 0.1 * 50 / 49), TOL); /* still the sample std */
    ck_assert_double_eq_tol(s.low, 0.7863976856, 1e-9);
    ck_assert_double_eq_tol(s.high, 0.9565242351, 1e-9);
    /* never a success: an interval, not the point [0, 0] of the t rule */
    double zeros[20] = {0};
    rl_eval_summarize(zeros, 20, &s);
    ck_assert_int_eq(s.wilson, 1);
    ck_assert_double_eq(s.low, 0.0);
    ck_assert_double_eq_tol(s.high, 0.1611251581, 1e-9);
    /* the t rule is still there for whoever asks for it */
    rl_eval_summarize_t(v, 50, &s);
    ck_assert_int_eq(s.wilson, 0);
    ck_assert_double_eq_tol(s.high - s.mean, 2.009575 * sqrt(0.9 * 0.1 * 50 / 49) / sqrt(50.0),
                            1e-6);
}
END_TEST

START_TEST(test_one_value_off_binary_gets_t) {
    /* a single 2 among 0s and 1s: a count, not a success rate; mean 1, var 2/3, t95(3) = 3.182446
     */
    const double v[4] = {0, 1, 1, 2};
    RlEvalSummary s;
    rl_eval_summarize(v, 4, &s);
    ck_assert_int_eq(s.wilson, 0);
    ck_assert_double_eq_tol(s.mean, 1.0, TOL);
    ck_assert_double_eq_tol(s.high, 1.0 + 3.182446 * sqrt(2.0 / 3.0) / 2.0, TOL);
    ck_assert_double_eq_tol(s.low, 1.0 - 3.182446 * sqrt(2.0 / 3.0) / 2.0, TOL);
    /* 0.5 is neither 0 nor 1 */
    const double half[3] = {0, 0.5, 1};
    rl_eval_summarize(half, 3, &s);
    ck_assert_int_eq(s.wilson, 0);
}
END_TEST

START_TEST(test_one_episode_no_interval) {
    const double count = 7, success = 1;
    RlEvalSummary s;
    rl_eval_summarize(&count, 1, &s);
    ck_assert_double_eq(s.mean, 7.0);
    ck_assert_double_eq(s.std, 0.0);
    ck_assert(isnan(s.low) && isnan(s.high));
    rl_eval_summarize(&success, 1, &s);
    ck_assert_int_eq(s.wilson, 1);
    ck_assert(isnan(s.low) && isnan(s.high));
}
END_TEST

static Suite *eval_stats_suite(void) {
    Suite *s = suite_create("rl_eval_stats");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_t_interval_known_values);
    tcase_add_test(tc, test_t_quantiles);
    tcase_add_test(tc, test_wilson_known_values);
    tcase_add_test(tc, test_success_rate_gets_wilson);
    tcase_add_test(tc, test_one_value_off_binary_gets_t);
    tcase_add_test(tc, test_one_episode_no_interval);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) {
    SRunner *sr = srunner_create(eval_stats_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
