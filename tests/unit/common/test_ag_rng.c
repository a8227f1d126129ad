/* Tests of the random streams (common/ag_rng.c): determinism per (seed, stream), independence
 * of streams, moments of the uniform, normal, gamma and beta samplers on 20k samples, unbiased
 * bounded integers, categorical frequencies and shuffles that are permutations. Tolerances are
 * about 5 standard errors, so a correct sampler fails by chance far less than once in a
 * million runs (and the seeds are fixed). */
#include "ag_rng.h"

#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define N 20000

typedef struct Moments {
    double mean, var, min, max;
} Moments;

static Moments moments_of(const double *x, int n) {
    Moments m = {0, 0, INFINITY, -INFINITY};
    for (int i = 0; i < n; i++) {
        m.mean += x[i];
        m.min = fmin(m.min, x[i]);
        m.max = fmax(m.max, x[i]);
    }
    m.mean /= n;
    for (int i = 0; i < n; i++) {
        m.var += (x[i] - m.mean) * (x[i] - m.mean);
    }
    m.var /= n - 1;
    return m;
}

static double samples[N];

START_TEST(test_determinism) {
    AgRng a, b;
    ag_rng_seed(&a, 42, 7);
    ag_rng_seed(&b, 42, 7);
    for (int i = 0; i < 1000; i++) {
        ck_assert_uint_eq(ag_rng_u64(&a), ag_rng_u64(&b));
    }
    /* every sampler follows the state */
    for (int i = 0; i < 200; i++) {
        ck_assert_double_eq(ag_rng_normal(&a), ag_rng_normal(&b));
        ck_assert_double_eq(ag_rng_beta(&a, 2, 3), ag_rng_beta(&b, 2, 3));
        ck_assert_uint_eq(ag_rng_below(&a, 10), ag_rng_below(&b, 10));
    }
    /* reseeding restarts the stream, the spare normal included */
    AgRng c;
    ag_rng_seed(&a, 42, 7);
    ag_rng_seed(&c, 42, 7);
    (void)ag_rng_normal(&c);
    ag_rng_seed(&c, 42, 7);
    ck_assert_double_eq(ag_rng_normal(&a), ag_rng_normal(&c));
    ck_assert_double_eq(ag_rng_normal(&a), ag_rng_normal(&c));
}
END_TEST

START_TEST(test_state_copy_checkpoints) {
    AgRng a;
    ag_rng_seed(&a, 1, 2);
    for (int i = 0; i < 17; i++) {
        (void)ag_rng_normal(&a); /* leaves a spare pending */
    }
    AgRng saved;
    memcpy(&saved, &a, sizeof a);
    double x[10];
    for (int i = 0; i < 10; i++) {
        x[i] = ag_rng_normal(&a);
    }
    for (int i = 0; i < 10; i++) {
        ck_assert_double_eq(ag_rng_normal(&saved), x[i]);
    }
}
END_TEST

START_TEST(test_streams_differ) {
    /* nearby streams and seeds give unrelated sequences: no shared value in the first 1000 */
    const uint64_t cases[][2] = {{0, 0}, {0, 1}, {1, 0}, {1, 1}, {42, 2}, {42, 3}};
    const int ncases = (int)(sizeof cases / sizeof cases[0]);
    static uint64_t seqs[6][1000];
    for (int c = 0; c < ncases; c++) {
        AgRng r;
        ag_rng_seed(&r, cases[c][0], cases[c][1]);
        for (int i = 0; i < 1000; i++) {
            seqs[c][i] = ag_rng_u64(&r);
        }
    }
    for (int c = 0; c < ncases; c++) {
        for (int d = c + 1; d < ncases; d++) {
            int same = 0;
            for (int i = 0; i < 1000; i++) {
                same += seqs[c][i] == seqs[d][i];
            }
            ck_assert_msg(same == 0, "cases %d and %d share %d values", c, d, same);
        }
    }
    /* and the streams are not correlated: uniforms of two streams */
    AgRng a, b;
    ag_rng_seed(&a, 5, 0);
    ag_rng_seed(&b, 5, 1);
    double sxy = 0;
    for (int i = 0; i < N; i++) {
        sxy += (ag_rng_uniform(&a) - 0.5) * (ag_rng_uniform(&b) - 0.5);
    }
    double corr = sxy / N * 12.0;
    ck_assert_double_lt(fabs(corr), 5.0 / sqrt(N));
}
END_TEST

START_TEST(test_seed_zero_state) {
    AgRng r;
    ag_rng_seed(&r, 0, 0);
    ck_assert(r.s[0] | r.s[1] | r.s[2] | r.s[3]);
    uint64_t first = ag_rng_u64(&r);
    int changed = 0;
    for (int i = 0; i < 10; i++) {
        changed |= ag_rng_u64(&r) != first;
    }
    ck_assert(changed);
}
END_TEST

START_TEST(test_uniform) {
    AgRng r;
    ag_rng_seed(&r, 123, 0);
    for (int i = 0; i < N; i++) {
        samples[i] = ag_rng_uniform(&r);
        ck_assert(samples[i] >= 0.0 && samples[i] < 1.0);
    }
    Moments m = moments_of(samples, N);
    ck_assert_double_eq_tol(m.mean, 0.5, 5 * sqrt(1.0 / 12 / N));
    ck_assert_double_eq_tol(m.var, 1.0 / 12, 0.004);
    ck_assert_double_lt(m.min, 0.001);
    ck_assert_double_gt(m.max, 0.999);
    /* range version */
    for (int i = 0; i < N; i++) {
        samples[i] = ag_rng_uniform_range(&r, -2.0, 3.0);
        ck_assert(samples[i] >= -2.0 && samples[i] < 3.0);
    }
    m = moments_of(samples, N);
    ck_assert_double_eq_tol(m.mean, 0.5, 5 * 5 * sqrt(1.0 / 12 / N));
    ck_assert_double_eq_tol(m.var, 25.0 / 12, 25 * 0.004);
}
END_TEST

START_TEST(test_normal) {
    AgRng r;
    ag_rng_seed(&r, 7, 3);
    int beyond2 = 0;
    double m4 = 0;
    for (int i = 0; i < N; i++) {
        samples[i] = ag_rng_normal(&r);
        ck_assert(isfinite(samples[i]));
        beyond2 += fabs(samples[i]) > 2.0;
        m4 += pow(samples[i], 4);
    }
    Moments m = moments_of(samples, N);
    ck_assert_double_eq_tol(m.mean, 0.0, 5 / sqrt(N));
    ck_assert_double_eq_tol(m.var, 1.0, 5 * sqrt(2.0 / N));
    /* the shape, not just two moments: kurtosis 3 and P(|x| > 2) = 0.0455 */
    ck_assert_double_eq_tol(m4 / N, 3.0, 0.25);
    ck_assert_double_eq_tol((double)beyond2 / N, 0.0455, 5 * sqrt(0.0455 * 0.9545 / N));
}
END_TEST

START_TEST(test_gamma) {
    const double shapes[] = {0.3, 1.0, 2.5, 9.0};
    for (size_t k = 0; k < sizeof shapes / sizeof shapes[0]; k++) {
        double a = shapes[k];
        AgRng r;
        ag_rng_seed(&r, 99, k);
        for (int i = 0; i < N; i++) {
            samples[i] = ag_rng_gamma(&r, a);
            ck_assert(samples[i] >= 0.0 && isfinite(samples[i]));
        }
        Moments m = moments_of(samples, N);
        /* Gamma(a, 1): mean a, variance a; the variance of the variance is 2a^2 + 6a */
        ck_assert_msg(fabs(m.mean - a) < 5 * sqrt(a / N), "shape %g: mean %g", a, m.mean);
        ck_assert_msg(fabs(m.var - a) < 5 * sqrt((2 * a * a + 6 * a) / N), "shape %g: var %g", a,
                      m.var);
    }
}
END_TEST

START_TEST(test_beta) {
    const double params[][2] = {{2, 5}, {0.5, 0.5}, {1, 1}, {20, 3}};
    for (size_t k = 0; k < sizeof params / sizeof params[0]; k++) {
        double a = params[k][0], b = params[k][1];
        AgRng r;
        ag_rng_seed(&r, 2024, k);
        for (int i = 0; i < N; i++) {
            samples[i] = ag_rng_beta(&r, a, b);
            ck_assert(samples[i] >= 0.0 && samples[i] <= 1.0);
        }
        Moments m = moments_of(samples, N);
        double mean = a / (a + b);
        double var = a * b / ((a + b) * (a + b) * (a + b + 1));
        ck_assert_msg(fabs(m.mean - mean) < 5 * sqrt(var / N), "beta(%g,%g): mean %g want %g", a, b,
                      m.mean, mean);
        /* the variance of a variable in [0, 1] has a standard error below 1/sqrt(N)/2 */
        ck_assert_msg(fabs(m.var - var) < 0.1 * var + 2.5 / N, "beta(%g,%g): var %g want %g", a, b,
                      m.var, var);
    }
}
END_TEST

START_TEST(test_below) {
    AgRng r;
    ag_rng_seed(&r, 11, 0);
    for (int i = 0; i < 1000; i++) {
        ck_assert_uint_eq(ag_rng_below(&r, 1), 0);
    }
    /* every value of a small range, about equally often (chi-square, 6 degrees of freedom) */
    int counts[7] = {0};
    for (int i = 0; i < N * 7; i++) {
        uint64_t v = ag_rng_below(&r, 7);
        ck_assert_uint_lt(v, 7);
        counts[v]++;
    }
    double chi2 = 0;
    for (int v = 0; v < 7; v++) {
        chi2 += (counts[v] - (double)N) * (counts[v] - (double)N) / N;
    }
    ck_assert_double_lt(chi2, 30.0); /* p < 1e-4 for 6 degrees of freedom */
    /* a range just above 2^63 (the worst case for rejection) stays in bounds */
    uint64_t n = (1ull << 63) + 1;
    int high = 0;
    for (int i = 0; i < 1000; i++) {
        uint64_t v = ag_rng_below(&r, n);
        ck_assert(v < n);
        high += v >= (1ull << 62);
    }
    /* half of the range is above 2^62 */
    ck_assert_int_gt(high, 400);
    ck_assert_int_lt(high, 600);
    ck_assert_uint_lt(ag_rng_below(&r, UINT64_MAX), UINT64_MAX);
}
END_TEST

START_TEST(test_categorical) {
    const float w[5] = {1.0f, 0.0f, 3.0f, 6.0f, 0.0f}; /* unnormalised */
    int counts[5] = {0};
    AgRng r;
    ag_rng_seed(&r, 3, 3);
    for (int i = 0; i < N; i++) {
        int k = ag_rng_categorical(&r, w, 5);
        ck_assert(k >= 0 && k < 5);
        counts[k]++;
    }
    ck_assert_int_eq(counts[1], 0);
    ck_assert_int_eq(counts[4], 0);
    const double p[5] = {0.1, 0, 0.3, 0.6, 0};
    for (int k = 0; k < 5; k++) {
        if (p[k] == 0) {
            continue; /* checked above */
        }
        ck_assert_double_eq_tol((double)counts[k] / N, p[k], 5 * sqrt(p[k] * (1 - p[k]) / N));
    }
    /* a single choice */
    const float one[1] = {0.5f};
    ck_assert_int_eq(ag_rng_categorical(&r, one, 1), 0);
}
END_TEST

static int int_cmp(const void *a, const void *b) {
    return *(const int *)a - *(const int *)b;
}

START_TEST(test_shuffle) {
    enum { M = 100 };
    int items[M], sorted[M];
    for (int i = 0; i < M; i++) {
        items[i] = i * 3;
    }
    AgRng r;
    ag_rng_seed(&r, 8, 8);
    ag_rng_shuffle(&r, items, M);
    int moved = 0;
    for (int i = 0; i < M; i++) {
        moved += items[i] != i * 3;
    }
    ck_assert_int_gt(moved, 80);
    /* a permutation: the same items */
    memcpy(sorted, items, sizeof items);
    qsort(sorted, M, sizeof sorted[0], int_cmp);
    for (int i = 0; i < M; i++) {
        ck_assert_int_eq(sorted[i], i * 3);
    }
    /* uniform: each of 5 items lands in each position about 1/5 of the time */
    int pos[5][5] = {{0}};
    for (int t = 0; t < N; t++) {
        int a[5] = {0, 1, 2, 3, 4};
        ag_rng_shuffle(&r, a, 5);
        for (int i = 0; i < 5; i++) {
            pos[a[i]][i]++;
        }
    }
    for (int v = 0; v < 5; v++) {
        for (int i = 0; i < 5; i++) {
            ck_assert_double_eq_tol((double)pos[v][i] / N, 0.2, 5 * sqrt(0.16 / N));
        }
    }
    /* the trivial sizes */
    int one = 7;
    ag_rng_shuffle(&r, &one, 1);
    ck_assert_int_eq(one, 7);
    ag_rng_shuffle(&r, NULL, 0);
}
END_TEST

static Suite *rng_suite(void) {
    Suite *s = suite_create("ag_rng");
    TCase *tc = tcase_create("rng");
    tcase_add_test(tc, test_determinism);
    tcase_add_test(tc, test_state_copy_checkpoints);
    tcase_add_test(tc, test_streams_differ);
    tcase_add_test(tc, test_seed_zero_state);
    tcase_add_test(tc, test_uniform);
    tcase_add_test(tc, test_normal);
    tcase_add_test(tc, test_gamma);
    tcase_add_test(tc, test_beta);
    tcase_add_test(tc, test_below);
    tcase_add_test(tc, test_categorical);
    tcase_add_test(tc, test_shuffle);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) {
    SRunner *sr = srunner_create(rng_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
