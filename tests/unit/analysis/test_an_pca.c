/* Tests of PCA (an_pca.c): data drawn with a known covariance recover its spectrum and
 * participation ratio within sampling tolerance; exact identities (fractions sum to 1,
 * orthonormal components, projected variances equal the eigenvalues); rank-1 and isotropic
 * extremes of the participation ratio. */
#include "an_pca.h"

#include "an_test_util.h"

#include <check.h>
#include <math.h>
#include <stdlib.h>

enum { D = 6 };

/* x [n, D] with covariance U diag(lambda) U^T, U a Householder reflection (orthogonal, dense) */
static float *draw(int64_t n, const double *lambda, uint64_t seed) {
    double u[D], norm = 0, uu[D * D];
    for (int j = 0; j < D; j++) {
        u[j] = 1.0 + j;
        norm += u[j] * u[j];
    }
    for (int i = 0; i < D; i++) {
        for (int j = 0; j < D; j++) {
            uu[i * D + j] = (i == j) - 2 * u[i] * u[j] / norm;
        }
    }
    float *x = malloc(sizeof(float) * (size_t)n * D);
    AgRng rng;
    ag_rng_seed(&rng, seed, 0);
    for (int64_t r = 0; r < n; r++) {
        double z[D];
        for (int k = 0; k < D; k++) {
            z[k] = sqrt(lambda[k]) * ag_rng_normal(&rng);
        }
        for (int i = 0; i < D; i++) {
            double s = 5.0; /* an offset the centring must remove */
            for (int k = 0; k < D; k++) {
                s += uu[i * D + k] * z[k];
            }
            x[r * D + i] = (float)s;
        }
    }
    return x;
}

START_TEST(test_known_spectrum) {
    const double lambda[D] = {9, 4, 1, 0.5, 0.25, 0.25};
    const int64_t n = 50000;
    float *x = draw(n, lambda, 1);
    AnPcaResult res;
    char err[128];
    ck_assert_int_eq(an_pca_fit(&res, x, n, D, err, sizeof err), 0);
    /* a sample eigenvalue of n Gaussian rows varies by about lambda sqrt(2 / n): allowed 4 of
     * those (2.5 %) */
    double tol_rel = 4 * sqrt(2.0 / n), sum = 0, sum2 = 0;
    for (int k = 0; k < D; k++) {
        printf("component %d: %.4f (true %.4f)\n", k, res.eigenvalues[k], lambda[k]);
        ck_assert_double_eq_tol(res.eigenvalues[k], lambda[k], tol_rel * lambda[k]);
        sum += lambda[k];
        sum2 += lambda[k] * lambda[k];
    }
    /* the participation ratio is a ratio of sums of those: twice the relative tolerance */
    double pr = sum * sum / sum2;
    printf("participation ratio %.4f (true %.4f)\n", res.participation_ratio, pr);
    ck_assert_double_eq_tol(res.participation_ratio, pr, 2 * tol_rel * pr);
    an_pca_result_free(&res);
    free(x);
}
END_TEST

START_TEST(test_identities) {
    const double lambda[D] = {3, 2, 1, 1, 0.5, 0.1};
    const int64_t n = 2000;
    float *x = draw(n, lambda, 2);
    AnPcaResult res;
    char err[128];
    ck_assert_int_eq(an_pca_fit(&res, x, n, D, err, sizeof err), 0);
    double f = 0;
    for (int k = 0; k < D; k++) {
        f += res.fraction[k];
        ck_assert(k == 0 || res.eigenvalues[k] <= res.eigenvalues[k - 1]);
    }
    ck_assert_double_eq_tol(f, 1.0, 1e-12);
    ck_assert_int_eq(res.keep, 3);
    for (int a = 0; a < 3; a++) {
        for (int b = 0; b < 3; b++) {
            double dot = 0;
            for (int j = 0; j < D; j++) {
                dot += res.components[a * D + j] * res.components[b * D + j];
            }
            ck_assert_double_eq_tol(dot, a == b ? 1.0 : 0.0, 1e-10);
        }
    }
    /* the projections are centred and their variances are the eigenvalues */
    double *p = malloc(sizeof(double) * (size_t)n * 3);
    an_pca_project(p, &res, x, n);
    for (int k = 0; k < 3; k++) {
        double m = 0, v = 0;
        for (int64_t i = 0; i < n; i++) {
            m += p[i * 3 + k] / (double)n;
        }
        for (int64_t i = 0; i < n; i++) {
            v += (p[i * 3 + k] - m) * (p[i * 3 + k] - m) / (double)n;
        }
        ck_assert_double_eq_tol(m, 0.0, 1e-9);
        ck_assert_double_eq_tol(v, res.eigenvalues[k], 1e-6 * res.eigenvalues[k]);
    }
    free(p);
    an_pca_result_free(&res);
    free(x);
}
END_TEST

START_TEST(test_participation_extremes) {
    /* rank 1: every unit a multiple of one signal -> PR 1; isotropic noise -> PR near D */
    enum { N = 4000 };
    float *x = malloc(sizeof(float) * N * D);
    AgRng rng;
    ag_rng_seed(&rng, 4, 0);
    for (int i = 0; i < N; i++) {
        double s = ag_rng_normal(&rng);
        for (int j = 0; j < D; j++) {
            x[i * D + j] = (float)(s * (j + 1));
        }
    }
    AnPcaResult res;
    char err[128];
    ck_assert_int_eq(an_pca_fit(&res, x, N, D, err, sizeof err), 0);
    ck_assert_double_eq_tol(res.participation_ratio, 1.0, 1e-6);
    ck_assert_double_eq_tol(res.fraction[0], 1.0, 1e-6);
    an_pca_result_free(&res);
    for (int i = 0; i < N * D; i++) {
        x[i] = (float)ag_rng_normal(&rng);
    }
    ck_assert_int_eq(an_pca_fit(&res, x, N, D, err, sizeof err), 0);
    /* sample eigenvalues of isotropic data spread by about sqrt(D / N): PR loses a little */
    printf("isotropic participation ratio %.3f of %d\n", res.participation_ratio, D);
    ck_assert_double_gt(res.participation_ratio, D * (1 - 4 * sqrt((double)D / N)));
    ck_assert_double_le(res.participation_ratio, D + 1e-9);
    an_pca_result_free(&res);
    free(x);
}
END_TEST

static Suite *pca_suite(void) {
    Suite *s = suite_create("an_pca");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_known_spectrum);
    tcase_add_test(tc, test_identities);
    tcase_add_test(tc, test_participation_extremes);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) {
    SRunner *sr = srunner_create(pca_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
