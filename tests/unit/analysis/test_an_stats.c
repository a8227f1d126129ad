/* Tests of the shared numerical helpers (an_stats.c): eigendecomposition, covariance, Gram
 * accumulation, ranks with ties, Pearson, Spearman and the median, against hand-computed
 * values. */
#include "an_stats.h"

#include <check.h>
#include <math.h>
#include <stdlib.h>

START_TEST(test_eigh_known) {
    /* [[2, 1], [1, 2]]: eigenvalues 1 and 3, eigenvectors (1, -1) and (1, 1) / sqrt 2 */
    double a[4] = {2, 1, 1, 2}, w[2];
    ck_assert_int_eq(an_eigh(a, w, 2), 0);
    ck_assert_double_eq_tol(w[0], 1.0, 1e-12);
    ck_assert_double_eq_tol(w[1], 3.0, 1e-12);
    ck_assert_double_eq_tol(fabs(a[0]), M_SQRT1_2, 1e-12);
    ck_assert_double_eq_tol(a[0] + a[1], 0.0, 1e-12); /* row 0: (1, -1) direction */
    ck_assert_double_eq_tol(a[2] - a[3], 0.0, 1e-12); /* row 1: (1, 1) direction */
}
END_TEST

START_TEST(test_eigh_reconstructs) {
    /* a random symmetric 5 x 5 matrix is V^T diag(w) V with orthonormal rows V */
    enum { D = 5 };
    double m[D * D], a[D * D], w[D];
    srand(3);
    for (int i = 0; i < D; i++) {
        for (int j = i; j < D; j++) {
            m[i * D + j] = m[j * D + i] = rand() / (double)RAND_MAX - 0.5;
        }
    }
    for (int i = 0; i < D * D; i++) {
        a[i] = m[i];
    }
    ck_assert_int_eq(an_eigh(a, w, D), 0);
    for (int i = 0; i < D; i++) {
        for (int j = 0; j < D; j++) {
            double s = 0, dot = 0;
            for (int k = 0; k < D; k++) {
                s += a[k * D + i] * w[k] * a[k * D + j];
                dot += a[i * D + k] * a[j * D + k];
            }
            ck_assert_double_eq_tol(s, m[i * D + j], 1e-12);
            ck_assert_double_eq_tol(dot, i == j ? 1.0 : 0.0, 1e-12);
        }
        ck_assert(i == 0 || w[i] >= w[i - 1]);
    }
}
END_TEST

START_TEST(test_covariance) {
    /* rows (1, 2), (3, 2), (5, 8): means (3, 4); covariance / n = [[8/3, 4], [4, 8]] */
    float x[6] = {1, 2, 3, 2, 5, 8};
    double cov[4], mean[2];
    ck_assert_int_eq(an_covariance(cov, mean, x, 3, 2), 0);
    ck_assert_double_eq_tol(mean[0], 3, 1e-12);
    ck_assert_double_eq_tol(mean[1], 4, 1e-12);
    ck_assert_double_eq_tol(cov[0], 8.0 / 3, 1e-12);
    ck_assert_double_eq_tol(cov[1], 4.0, 1e-12);
    ck_assert_double_eq_tol(cov[2], 4.0, 1e-12);
    ck_assert_double_eq_tol(cov[3], 8.0, 1e-12);
}
END_TEST

START_TEST(test_gram_upper) {
    double x[4] = {1, 2, 3, 4}, g[4] = {0, 0, 0, 0};
    an_gram_add(g, x, 2, 2);
    an_symmetrize(g, 2);
    ck_assert_double_eq(g[0], 10);
    ck_assert_double_eq(g[1], 14);
    ck_assert_double_eq(g[2], 14);
    ck_assert_double_eq(g[3], 20);
}
END_TEST

START_TEST(test_ranks_ties) {
    double v[6] = {10, 20, 10, 30, 20, 10}, r[6];
    ck_assert_int_eq(an_ranks(r, v, 6), 0);
    /* the three 10s share ranks 1-3 (2), the two 20s ranks 4-5 (4.5), 30 is 6 */
    const double want[6] = {2, 4.5, 2, 6, 4.5, 2};
    for (int i = 0; i < 6; i++) {
        ck_assert_double_eq(r[i], want[i]);
    }
}
END_TEST

START_TEST(test_correlations) {
    double a[5] = {1, 2, 3, 4, 5}, b[5] = {1, 4, 9, 16, 25}, c[5] = {5, 4, 3, 2, 1};
    double k[5] = {7, 7, 7, 7, 7};
    ck_assert_double_eq_tol(an_spearman(a, b, 5), 1.0, 1e-12);
    ck_assert_double_lt(an_pearson(a, b, 5), 0.99);
    ck_assert_double_eq_tol(an_pearson(a, c, 5), -1.0, 1e-12);
    ck_assert_double_eq_tol(an_spearman(a, c, 5), -1.0, 1e-12);
    ck_assert_double_eq(an_pearson(a, k, 5), 0.0);
    /* Pearson of (1,2,3) and (1,3,2): cov 0.5, var 1 each -> 0.5 */
    double p[3] = {1, 2, 3}, q[3] = {1, 3, 2};
    ck_assert_double_eq_tol(an_pearson(p, q, 3), 0.5, 1e-12);
}
END_TEST

START_TEST(test_median) {
    double odd[5] = {5, 1, 4, 2, 3}, even[4] = {4, 1, 3, 2};
    ck_assert_double_eq(an_median(odd, 5), 3);
    ck_assert_double_eq(an_median(even, 4), 2.5);
    ck_assert(isnan(an_median(odd, 0)));
}
END_TEST

START_TEST(test_col_mean_center) {
    float x[6] = {1, 10, 2, 20, 3, 30};
    double mean[2], c[6];
    an_col_mean(mean, x, 3, 2);
    ck_assert_double_eq(mean[0], 2);
    ck_assert_double_eq(mean[1], 20);
    an_center_rows(c, x, 3, 2, mean);
    ck_assert_double_eq(c[0], -1);
    ck_assert_double_eq(c[5], 10);
}
END_TEST

static Suite *stats_suite(void) {
    Suite *s = suite_create("an_stats");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_eigh_known);
    tcase_add_test(tc, test_eigh_reconstructs);
    tcase_add_test(tc, test_covariance);
    tcase_add_test(tc, test_gram_upper);
    tcase_add_test(tc, test_ranks_ties);
    tcase_add_test(tc, test_correlations);
    tcase_add_test(tc, test_median);
    tcase_add_test(tc, test_col_mean_center);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) {
    SRunner *sr = srunner_create(stats_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
