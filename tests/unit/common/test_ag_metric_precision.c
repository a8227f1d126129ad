/* Tests of the precision of metrics.jsonl values (common/ag_metric_precision.c): each key's kind,
 * timings on a 2^-20 s grid within half a step, float32 statistics equal to their float32,
 * settings and ratios of counts untouched, edge cases (zeros and their sign, subnormals, the
 * float32 range, huge values, infinities, NaN), and rounding twice changing nothing (a replay of
 * rows the trainer already rounded must give them back). */
#include "ag_metric_precision.h"

#include <check.h>
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint64_t next_bits(uint64_t *state) {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    return *state;
}

static int same_bits(double a, double b) {
    return memcmp(&a, &b, sizeof a) == 0;
}

START_TEST(test_kinds) {
    const char *times[] = {"wall_s",      "cpu_s",     "collect_s",  "update_s",    "env_s",
                           "inference_s", "forward_s", "backward_s", "allreduce_s", "optimizer_s"};
    const char *floats[] = {"return_mean",
                            "return_std",
                            "policy_loss",
                            "value_loss",
                            "entropy",
                            "approx_kl",
                            "explained_variance",
                            "grad_norm",
                            "success_rate",
                            "consecutive_goals_mean",
                            "eval_return",
                            "eval_return_std",
                            "eval_success_rate",
                            "a_task_metric_of_any_name"};
    for (size_t i = 0; i < sizeof times / sizeof times[0]; i++) {
        ck_assert_int_eq(ag_metric_kind(times[i]), AG_METRIC_TIME);
    }
    for (size_t i = 0; i < sizeof floats / sizeof floats[0]; i++) {
        ck_assert_int_eq(ag_metric_kind(floats[i]), AG_METRIC_FLOAT32);
    }
    ck_assert_int_eq(ag_metric_kind("lr"), AG_METRIC_EXACT);
    ck_assert_int_eq(ag_metric_kind("episode_length_mean"), AG_METRIC_EXACT);
    ck_assert_int_eq(ag_metric_kind("clip_fraction"), AG_METRIC_EXACT);
    ck_assert_int_eq(ag_metric_kind("sps"), AG_METRIC_RATE);
    /* a prefix or a suffix of a named key is not that key */
    ck_assert_int_eq(ag_metric_kind("wall"), AG_METRIC_FLOAT32);
    ck_assert_int_eq(ag_metric_kind("lr_min"), AG_METRIC_FLOAT32);
}
END_TEST

/* values from a real HandBlockRotateZ metrics.jsonl row */
START_TEST(test_real_row_values) {
    double wall = ag_metric_round("wall_s", 3440.5935835019991);
    double collect = ag_metric_round("collect_s", 2.753826382002444);
    double angle = ag_metric_round("curriculum_max_angle_mean", 3.1415927410125732);
    double loss = ag_metric_round("policy_loss", -0.0040180490359702416);
    double sps = ag_metric_round("sps", 4955.851711241231);
    char text[64];
    ck_assert(fabs(wall - 3440.5935835019991) <= ldexp(1.0, -21));
    ck_assert_double_eq(ldexp(wall, 20), nearbyint(ldexp(wall, 20)));
    ck_assert(fabs(collect - 2.753826382002444) <= ldexp(1.0, -21));
    /* a float32 widened is kept to the bit */
    ck_assert(same_bits(angle, 3.1415927410125732));
    ck_assert(same_bits(loss, (double)(float)-0.0040180490359702416));
    ck_assert(fabs(sps - 4955.851711241231) <= ldexp(1.0, -11));
    /* settings and ratios of counts keep every bit */
    ck_assert(same_bits(ag_metric_round("lr", 0.00029999999999999997), 0.0003));
    ck_assert(same_bits(ag_metric_round("episode_length_mean", 16089.0 / 157.0), 16089.0 / 157.0));
    ck_assert(same_bits(ag_metric_round("clip_fraction", 1.0 / 3.0), 1.0 / 3.0));
    /* the %.17g text of a float32 statistic reads back as the float32 */
    snprintf(text, sizeof text, "%.17g", loss);
    ck_assert_float_eq(strtof(text, NULL), (float)-0.0040180490359702416);
}
END_TEST

START_TEST(test_edges) {
    const AgMetricKind kinds[] = {AG_METRIC_EXACT, AG_METRIC_TIME, AG_METRIC_RATE,
                                  AG_METRIC_FLOAT32};
    for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++) {
        /* zeros keep their sign; infinities and NaN pass */
        ck_assert(same_bits(ag_metric_round_kind(kinds[k], 0.0), 0.0));
        ck_assert(same_bits(ag_metric_round_kind(kinds[k], -0.0), -0.0));
        ck_assert(isinf(ag_metric_round_kind(kinds[k], INFINITY)));
        ck_assert(ag_metric_round_kind(kinds[k], -INFINITY) < 0);
        ck_assert(isnan(ag_metric_round_kind(kinds[k], NAN)));
        /* the largest doubles are on every grid and outside float32: no overflow */
        ck_assert(same_bits(ag_metric_round_kind(kinds[k], DBL_MAX), DBL_MAX));
        ck_assert(same_bits(ag_metric_round_kind(kinds[k], -DBL_MAX), -DBL_MAX));
    }
    /* under half a grid step a timing is 0, with the value's sign */
    ck_assert(same_bits(ag_metric_round_kind(AG_METRIC_TIME, 1e-7), 0.0));
    ck_assert(same_bits(ag_metric_round_kind(AG_METRIC_TIME, -1e-7), -0.0));
    ck_assert(same_bits(ag_metric_round_kind(AG_METRIC_TIME, 5e-324), 0.0));
    ck_assert_double_eq(ag_metric_round_kind(AG_METRIC_TIME, 1e-6), ldexp(1.0, -20));
    /* ties go to even */
    ck_assert_double_eq(ag_metric_round_kind(AG_METRIC_TIME, ldexp(1.0, -21)), 0.0);
    ck_assert_double_eq(ag_metric_round_kind(AG_METRIC_TIME, 3 * ldexp(1.0, -21)), ldexp(1.0, -19));
    /* float32: its normal range rounds, outside it the double stays */
    ck_assert(same_bits(ag_metric_round_kind(AG_METRIC_FLOAT32, 0.1), (double)0.1f));
    ck_assert(same_bits(ag_metric_round_kind(AG_METRIC_FLOAT32, FLT_MAX), (double)FLT_MAX));
    ck_assert(same_bits(ag_metric_round_kind(AG_METRIC_FLOAT32, 1e39), 1e39));
    ck_assert(same_bits(ag_metric_round_kind(AG_METRIC_FLOAT32, -1e39), -1e39));
    ck_assert(same_bits(ag_metric_round_kind(AG_METRIC_FLOAT32, FLT_MIN), (double)FLT_MIN));
    ck_assert(same_bits(ag_metric_round_kind(AG_METRIC_FLOAT32, 1e-40), 1e-40));
    ck_assert(same_bits(ag_metric_round_kind(AG_METRIC_FLOAT32, 5e-324), 5e-324));
    ck_assert(same_bits(ag_metric_round_kind(AG_METRIC_FLOAT32, 1e-300), 1e-300));
}
END_TEST

/* for many doubles of every magnitude: within the kind's half step, on its grid or a float32,
 * and unchanged when rounded again */
START_TEST(test_random_values) {
    uint64_t state = 0x9e3779b97f4a7c15ull;
    for (int i = 0; i < 50000; i++) {
        uint64_t bits = next_bits(&state);
        double v;
        if (i % 2) {
            /* half of them in the range metrics live in */
            v = ldexp((double)(bits >> 11), -53) * pow(10.0, (double)(int)(bits % 13) - 6);
            v = bits & 1024 ? -v : v;
        } else {
            memcpy(&v, &bits, sizeof v);
        }
        if (!isfinite(v)) {
            continue;
        }
        double t = ag_metric_round_kind(AG_METRIC_TIME, v);
        double r = ag_metric_round_kind(AG_METRIC_RATE, v);
        double f = ag_metric_round_kind(AG_METRIC_FLOAT32, v);
        ck_assert_msg(fabs(t - v) <= ldexp(1.0, -21), "%a on the time grid gave %a", v, t);
        ck_assert_msg(fabs(r - v) <= ldexp(1.0, -11), "%a on the rate grid gave %a", v, r);
        ck_assert_double_eq(ldexp(t, 20), nearbyint(ldexp(t, 20)));
        if (fabs(v) >= FLT_MIN && fabs(v) <= FLT_MAX) {
            ck_assert(same_bits(f, (double)(float)v));
            ck_assert(fabs(f - v) <= fabs(v) * ldexp(1.0, -24));
        } else {
            ck_assert(same_bits(f, v));
        }
        ck_assert(same_bits(ag_metric_round_kind(AG_METRIC_TIME, t), t));
        ck_assert(same_bits(ag_metric_round_kind(AG_METRIC_RATE, r), r));
        ck_assert(same_bits(ag_metric_round_kind(AG_METRIC_FLOAT32, f), f));
        ck_assert(same_bits(ag_metric_round_kind(AG_METRIC_EXACT, v), v));
    }
}
END_TEST

static Suite *precision_suite(void) {
    Suite *s = suite_create("ag_metric_precision");
    TCase *tc = tcase_create("precision");
    tcase_add_test(tc, test_kinds);
    tcase_add_test(tc, test_real_row_values);
    tcase_add_test(tc, test_edges);
    tcase_add_test(tc, test_random_values);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) {
    SRunner *sr = srunner_create(precision_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
