/* Tests of timescales (an_timescale.c): AR(1) units with known coefficients give
 * tau = -1 / ln(phi) within a tolerance from Bartlett's variance of the autocorrelation; episode
 * boundaries are never crossed; constant units are excluded and counted; slow units are capped
 * at the longest lag; the layer's value is the median. */
#include "an_timescale.h"

#include "an_test_util.h"

#include "ag_error.h"

#include <check.h>
#include <math.h>
#include <stdlib.h>

START_TEST(test_ar1_time_constants) {
    enum { E = 100, L = 2000, N = E * L, D = 5 };
    /* unit 4 is constant */
    const double phi[4] = {0.5, 0.8, 0.9, 0.95};
    int64_t start[E], len[E];
    AnEpisodes ep = an_test_episodes(start, len, E, L);
    float *x = malloc(sizeof(float) * N * D);
    AgRng rng;
    ag_rng_seed(&rng, 9, 0);
    for (int e = 0; e < E; e++) {
        for (int j = 0; j < 4; j++) {
            /* stationary from the first step: variance 1 / (1 - phi^2) */
            double v = ag_rng_normal(&rng) / sqrt(1 - phi[j] * phi[j]);
            for (int t = 0; t < L; t++) {
                if (t > 0) {
                    v = phi[j] * v + ag_rng_normal(&rng);
                }
                x[(e * L + t) * D + j] = (float)(2.0 + v);
            }
        }
        for (int t = 0; t < L; t++) {
            x[(e * L + t) * D + 4] = 1.5f;
        }
    }
    AnTimescaleResult res;
    char err[128];
    ck_assert_int_eq(an_timescale_fit(&res, x, N, D, &ep, 100, err, sizeof err), 0);
    ck_assert_int_eq(res.max_lag, 100);
    for (int j = 0; j < 4; j++) {
        double tau = -1.0 / log(phi[j]);
        /* Bartlett: var r(k) ~ [(1 + phi^2)(1 - phi^2k) / (1 - phi^2) - 2k phi^2k] / N near the
         * crossing k ~ tau; r falls with slope r / tau = 1 / (e tau) there, so tau varies by
         * sd(r) e tau. Allowed: 4 of those, plus what the linear interpolation between the
         * integer lags around the crossing makes of the exact phi^k. */
        double k = ceil(tau), p2 = phi[j] * phi[j], p2k = pow(p2, k);
        double var_r = ((1 + p2) * (1 - p2k) / (1 - p2) - 2 * k * p2k) / N;
        double lo = pow(phi[j], k - 1), hi = pow(phi[j], k);
        double interp = (k - 1) + (lo - exp(-1.0)) / (lo - hi);
        double tol = 4 * sqrt(var_r) * exp(1.0) * tau + fabs(interp - tau);
        printf("phi %.2f: tau %.3f, expected %.3f +- %.3f\n", phi[j], res.tau[j], tau, tol);
        ck_assert_double_eq_tol(res.tau[j], tau, tol);
        ck_assert_int_eq(res.capped[j], 0);
    }
    ck_assert(isnan(res.tau[4]));
    ck_assert_int_eq(res.n_zero_variance, 1);
    ck_assert_int_eq(res.n_capped, 0);
    /* the median of the four taus: the mean of the middle two */
    ck_assert_double_eq_tol(res.median, 0.5 * (res.tau[1] + res.tau[2]), 1e-12);
    an_timescale_result_free(&res);
    free(x);
}
END_TEST

START_TEST(test_episode_boundaries_and_caps) {
    /* unit 0 is +1 in even episodes and -1 in odd ones: constant within each episode, so its
     * autocorrelation stays 1 and it is capped; across boundaries it would flip sign. Unit 1 is
     * white noise: r(1) ~ 0, so tau = (1 - 1/e) / (1 - r(1)) ~ 0.63. */
    enum { E = 40, L = 50, N = E * L, D = 2 };
    int64_t start[E], len[E];
    AnEpisodes ep = an_test_episodes(start, len, E, L);
    float x[N * D];
    AgRng rng;
    ag_rng_seed(&rng, 2, 0);
    for (int e = 0; e < E; e++) {
        for (int t = 0; t < L; t++) {
            x[(e * L + t) * D] = e % 2 ? -1.0f : 1.0f;
            x[(e * L + t) * D + 1] = (float)ag_rng_normal(&rng);
        }
    }
    AnTimescaleResult res;
    char err[128];
    ck_assert_int_eq(an_timescale_fit(&res, x, N, D, &ep, 200, err, sizeof err), 0);
    /* the longest lag is bounded by the episodes: 49 */
    ck_assert_int_eq(res.max_lag, L - 1);
    ck_assert_int_eq(res.capped[0], 1);
    ck_assert_double_eq(res.tau[0], L - 1);
    ck_assert_int_eq(res.n_capped, 1);
    ck_assert_double_eq_tol(res.tau[1], 1 - exp(-1.0), 4.0 / sqrt((double)N));
    an_timescale_result_free(&res);
}
END_TEST

START_TEST(test_refuses) {
    int64_t start[1], len[1];
    AnEpisodes ep = an_test_episodes(start, len, 1, 1);
    float x[2] = {0, 1};
    AnTimescaleResult res;
    char err[128];
    /* single-step episodes have no lag */
    ck_assert_int_eq(an_timescale_fit(&res, x, 1, 2, &ep, 10, err, sizeof err), AG_EINVAL);
    an_timescale_result_free(&res);
}
END_TEST

static Suite *timescale_suite(void) {
    Suite *s = suite_create("an_timescale");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_ar1_time_constants);
    tcase_add_test(tc, test_episode_boundaries_and_caps);
    tcase_add_test(tc, test_refuses);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) {
    SRunner *sr = srunner_create(timescale_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
