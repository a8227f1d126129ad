/* Tests of server/nn/nn_dist.c: set-up and its errors, log-probabilities and entropies against
 * closed forms computed here in double, analytic gradients against finite differences, sampling
 * moments and frequencies, deterministic actions, and the mapping onto environment actions. */
#include "nn_dist.h"

#include "ag_error.h"
#include "ag_rng.h"

#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EULER_GAMMA 0.57721566490153286061

/* gradient checks: largest allowed relative error, |analytic - numeric| / max(|both|, floor) */
#define GRAD_TOL   2e-3
#define GRAD_FLOOR 0.05

static const float unit_low[NN_DIST_MAX_DIM] = {-1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
                                                -1, -1, -1, -1, -1, -1, -1, -1, -1, -1};
static const float unit_high[NN_DIST_MAX_DIM] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
                                                 1, 1, 1, 1, 1, 1, 1, 1, 1, 1};

static double softplus_ref(double a) {
    return log(1.0 + exp(a));
}

static void fill_uniform(AgRng *rng, float *x, int n, double lo, double hi) {
    for (int i = 0; i < n; i++) {
        x[i] = (float)ag_rng_uniform_range(rng, lo, hi);
    }
}

/* one sample's objective wl * logp + we * ent */
static double objective(const NnDist *d, const float *params, const float *raw, double wl,
                        double we) {
    float lp, h;
    nn_dist_log_prob(d, 1, params, raw, &lp);
    nn_dist_entropy(d, 1, params, &h);
    return wl * lp + we * h;
}

/* compares nn_dist_backward with a five-point central difference of every parameter of every
 * sample; returns the largest relative error */
static double grad_check(const NnDist *d, int n, float *params, const float *raw, const float *wl,
                         const float *we, const char *what) {
    int P = d->num_params, A = d->action_dim;
    float *grad = calloc((size_t)n * P, sizeof *grad);
    ck_assert_ptr_nonnull(grad);
    nn_dist_backward(d, n, params, raw, wl, we, grad);
    double worst = 0.0;
    /* the step trades truncation against float rounding of a summed log-probability: logits
     * are gentle and summed over many dimensions, a small log-std is steep */
    const float h = d->kind == NN_DIST_GAUSSIAN ? 1.0f / 64
                    : d->kind == NN_DIST_BETA   ? 1.0f / 32
                                                : 1.0f / 8;
    for (int s = 0; s < n; s++) {
        float *p = params + (size_t)s * P;
        const float *x = raw + (size_t)s * A;
        double gl = wl ? wl[s] : 0.0, ge = we ? we[s] : 0.0;
        for (int j = 0; j < P; j++) {
            float keep = p[j];
            double f[4];
            const float steps[4] = {-2 * h, -h, h, 2 * h};
            for (int k = 0; k < 4; k++) {
                p[j] = keep + steps[k];
                f[k] = objective(d, p, x, gl, ge);
            }
            p[j] = keep;
            double num = (f[0] - 8 * f[1] + 8 * f[2] - f[3]) / (12.0 * h);
            double ana = grad[(size_t)s * P + j];
            double den = fmax(fmax(fabs(num), fabs(ana)), GRAD_FLOOR);
            double rel = fabs(num - ana) / den;
            if (rel > worst) {
                worst = rel;
                if (getenv("NN_DIST_TEST_VERBOSE")) {
                    printf("  sample %d param %d: analytic %.6g numeric %.6g\n", s, j, ana, num);
                }
            }
        }
    }
    printf("%-34s max relative error %.3e (tolerance %.0e)\n", what, worst, GRAD_TOL);
    free(grad);
    return worst;
}

/* ---- special functions ---- */

START_TEST(test_digamma_known_values) {
    ck_assert_double_eq_tol(nn_dist_digamma(1.0), -EULER_GAMMA, 1e-12);
    ck_assert_double_eq_tol(nn_dist_digamma(0.5), -EULER_GAMMA - 2.0 * log(2.0), 1e-12);
    /* psi(n + 1) = H_n - gamma */
    double harmonic = 0.0;
    for (int k = 1; k <= 30; k++) {
        harmonic += 1.0 / k;
        ck_assert_double_eq_tol(nn_dist_digamma(k + 1.0), harmonic - EULER_GAMMA, 1e-12);
    }
    /* half-integers: psi(n + 1/2) = -gamma - 2 ln 2 + sum_{k<=n} 2 / (2k - 1); and
     * psi'(n + 1) = pi^2 / 6 - sum_{k<=n} 1 / k^2; both sides of the series threshold */
    double odd = 0.0, squares = 0.0;
    for (int n = 1; n <= 30; n++) {
        odd += 2.0 / (2 * n - 1);
        squares += 1.0 / ((double)n * n);
        ck_assert_double_eq_tol(nn_dist_digamma(n + 0.5), -EULER_GAMMA - 2.0 * log(2.0) + odd,
                                1e-12);
        ck_assert_double_eq_tol(nn_dist_trigamma(n + 1.0), M_PI * M_PI / 6.0 - squares, 1e-12);
    }
    /* reflection: psi(-0.5) = psi(1.5) + pi / tan(pi * 1.5) ... = 2 - gamma - 2 ln 2 */
    ck_assert_double_eq_tol(nn_dist_digamma(-0.5), 2.0 - EULER_GAMMA - 2.0 * log(2.0), 1e-10);
    ck_assert(isnan(nn_dist_digamma(0.0)));
    ck_assert(isnan(nn_dist_digamma(-3.0)));
    ck_assert(isnan(nn_dist_trigamma(-2.0)));
    ck_assert_double_eq_tol(nn_dist_trigamma(1.0), M_PI * M_PI / 6.0, 1e-12);
    ck_assert_double_eq_tol(nn_dist_trigamma(0.5), M_PI * M_PI / 2.0, 1e-12);
    /* large arguments go straight to the series: psi(x) ~ log x - 1/(2x) */
    ck_assert_double_eq_tol(nn_dist_digamma(1e6), log(1e6) - 0.5e-6, 1e-12);
}
END_TEST

START_TEST(test_digamma_matches_lgamma_derivative) {
    /* psi is the derivative of lgamma and psi' that of psi: central differences in double */
    double worst_psi = 0.0, worst_tri = 0.0;
    for (double x = 0.05; x < 60.0; x *= 1.07) {
        double h = 1e-4 * fmax(x, 0.1);
        double psi_num = (lgamma(x + h) - lgamma(x - h)) / (2 * h);
        double tri_num = (nn_dist_digamma(x + h) - nn_dist_digamma(x - h)) / (2 * h);
        double e1 = fabs(psi_num - nn_dist_digamma(x)) / fmax(1.0, fabs(psi_num));
        double e2 = fabs(tri_num - nn_dist_trigamma(x)) / fmax(1.0, fabs(tri_num));
        worst_psi = fmax(worst_psi, e1);
        worst_tri = fmax(worst_tri, e2);
    }
    printf("digamma vs d lgamma: max error %.3e; trigamma vs d digamma: %.3e\n", worst_psi,
           worst_tri);
    ck_assert_double_lt(worst_psi, 1e-6);
    ck_assert_double_lt(worst_tri, 1e-6);
}
END_TEST

/* ---- set-up ---- */

START_TEST(test_init_sizes) {
    NnDist d;
    char err[256] = "";
    ck_assert_int_eq(
        nn_dist_init_box(&d, NN_DIST_GAUSSIAN, 6, unit_low, unit_high, 0, err, sizeof err), 0);
    ck_assert_int_eq(d.num_params, 12);
    ck_assert_int_eq(d.action_dim, 6);
    ck_assert_int_eq(nn_dist_head_outputs(&d), 6);
    ck_assert_int_eq(nn_dist_logstd_dim(&d), 6);
    ck_assert_int_eq(d.env_is_index, 0);

    ck_assert_int_eq(
        nn_dist_init_box(&d, NN_DIST_BETA, 20, unit_low, unit_high, 0, err, sizeof err), 0);
    ck_assert_int_eq(d.num_params, 40);
    ck_assert_int_eq(nn_dist_head_outputs(&d), 40);
    ck_assert_int_eq(nn_dist_logstd_dim(&d), 0);

    /* the hand: 20 actuators, 11 bins each */
    ck_assert_int_eq(nn_dist_init_box(&d, NN_DIST_MULTICATEGORICAL, 20, unit_low, unit_high, 11,
                                      err, sizeof err),
                     0);
    ck_assert_int_eq(d.num_params, 220);
    ck_assert_int_eq(nn_dist_head_outputs(&d), 220);
    ck_assert_int_eq(d.bins[19], 11);

    int one[1] = {4};
    ck_assert_int_eq(nn_dist_init_discrete(&d, 1, one, err, sizeof err), 0);
    ck_assert_int_eq(d.kind, NN_DIST_CATEGORICAL);
    ck_assert_int_eq(d.num_params, 4);
    ck_assert_int_eq(d.action_dim, 1);
    ck_assert_int_eq(d.env_is_index, 1);

    int three[3] = {3, 5, 2};
    ck_assert_int_eq(nn_dist_init_discrete(&d, 3, three, err, sizeof err), 0);
    ck_assert_int_eq(d.kind, NN_DIST_MULTICATEGORICAL);
    ck_assert_int_eq(d.num_params, 10);
    ck_assert_int_eq(nn_dist_head_outputs(&d), 10);
    ck_assert_int_eq(d.action_dim, 3);
    ck_assert_int_eq(d.env_is_index, 1);

    /* unbounded boxes are fine for a gaussian (it only clips) */
    float lo[2] = {-INFINITY, -INFINITY}, hi[2] = {INFINITY, INFINITY};
    ck_assert_int_eq(nn_dist_init_box(&d, NN_DIST_GAUSSIAN, 2, lo, hi, 0, err, sizeof err), 0);
}
END_TEST

START_TEST(test_init_errors) {
    NnDist d;
    char err[256];
    float lo[3] = {-1, 0.5f, -1}, hi[3] = {1, 0.5f, 1};

    err[0] = 0;
    ck_assert_int_eq(
        nn_dist_init_box(&d, NN_DIST_CATEGORICAL, 2, unit_low, unit_high, 0, err, sizeof err),
        AG_EINVAL);
    ck_assert_ptr_nonnull(strstr(err, "box"));
    ck_assert_int_eq(
        nn_dist_init_box(&d, (NnDistKind)42, 2, unit_low, unit_high, 0, err, sizeof err),
        AG_EINVAL);
    ck_assert_int_eq(
        nn_dist_init_box(&d, NN_DIST_GAUSSIAN, 0, unit_low, unit_high, 0, err, sizeof err),
        AG_ERANGE);
    ck_assert_ptr_nonnull(strstr(err, "dimension 0"));
    ck_assert_int_eq(nn_dist_init_box(&d, NN_DIST_GAUSSIAN, NN_DIST_MAX_DIM + 1, unit_low,
                                      unit_high, 0, err, sizeof err),
                     AG_ERANGE);
    ck_assert_int_eq(nn_dist_init_box(&d, NN_DIST_BETA, 2, NULL, unit_high, 0, err, sizeof err),
                     AG_EINVAL);
    ck_assert_ptr_nonnull(strstr(err, "bounds"));
    /* low == high in dimension 1 */
    ck_assert_int_eq(nn_dist_init_box(&d, NN_DIST_BETA, 3, lo, hi, 0, err, sizeof err), AG_ERANGE);
    ck_assert_ptr_nonnull(strstr(err, "action 1"));
    lo[1] = NAN;
    ck_assert_int_eq(nn_dist_init_box(&d, NN_DIST_GAUSSIAN, 3, lo, hi, 0, err, sizeof err),
                     AG_ERANGE);
    /* beta and binned actions scale onto the box, so it must be finite */
    float ilo[1] = {-INFINITY}, ihi[1] = {1};
    ck_assert_int_eq(nn_dist_init_box(&d, NN_DIST_BETA, 1, ilo, ihi, 0, err, sizeof err),
                     AG_ERANGE);
    ck_assert_ptr_nonnull(strstr(err, "finite"));
    ck_assert_int_eq(
        nn_dist_init_box(&d, NN_DIST_MULTICATEGORICAL, 1, ilo, ihi, 11, err, sizeof err),
        AG_ERANGE);
    ck_assert_int_eq(
        nn_dist_init_box(&d, NN_DIST_MULTICATEGORICAL, 2, unit_low, unit_high, 1, err, sizeof err),
        AG_ERANGE);
    ck_assert_ptr_nonnull(strstr(err, "bins"));
    ck_assert_int_eq(nn_dist_init_box(&d, NN_DIST_MULTICATEGORICAL, 2, unit_low, unit_high,
                                      NN_DIST_MAX_BINS + 1, err, sizeof err),
                     AG_ERANGE);

    int bad[2] = {3, 0};
    ck_assert_int_eq(nn_dist_init_discrete(&d, 2, bad, err, sizeof err), AG_ERANGE);
    ck_assert_ptr_nonnull(strstr(err, "dimension 1"));
    ck_assert_int_eq(nn_dist_init_discrete(&d, 0, bad, err, sizeof err), AG_ERANGE);
    ck_assert_int_eq(nn_dist_init_discrete(&d, 2, NULL, err, sizeof err), AG_EINVAL);
    ck_assert_int_eq(nn_dist_init_discrete(NULL, 1, bad, err, sizeof err), AG_EINVAL);
    /* a NULL message buffer is allowed */
    ck_assert_int_eq(nn_dist_init_discrete(&d, 0, bad, NULL, 0), AG_ERANGE);
}
END_TEST

/* ---- log-probabilities against closed forms ---- */

START_TEST(test_gaussian_log_prob_closed_form) {
    enum { N = 16, A = 5 };
    NnDist d;
    ck_assert_int_eq(nn_dist_init_box(&d, NN_DIST_GAUSSIAN, A, unit_low, unit_high, 0, NULL, 0), 0);
    AgRng rng;
    ag_rng_seed(&rng, 1, 0);
    float params[N * 2 * A], raw[N * A], logp[N];
    fill_uniform(&rng, params, N * 2 * A, -1.5, 1.0);
    fill_uniform(&rng, raw, N * A, -3.0, 3.0);
    nn_dist_log_prob(&d, N, params, raw, logp);
    for (int s = 0; s < N; s++) {
        /* product of normal densities */
        double pdf = 1.0;
        for (int i = 0; i < A; i++) {
            double mu = params[s * 2 * A + i], sd = exp(params[s * 2 * A + A + i]);
            double z = (raw[s * A + i] - mu) / sd;
            pdf *= exp(-0.5 * z * z) / (sd * sqrt(2.0 * M_PI));
        }
        ck_assert_double_eq_tol(logp[s], log(pdf), 1e-4 * fmax(1.0, fabs(log(pdf))));
    }
}
END_TEST

START_TEST(test_beta_log_prob_closed_form) {
    enum { N = 16, A = 4 };
    NnDist d;
    ck_assert_int_eq(nn_dist_init_box(&d, NN_DIST_BETA, A, unit_low, unit_high, 0, NULL, 0), 0);
    AgRng rng;
    ag_rng_seed(&rng, 2, 0);
    float params[N * 2 * A], raw[N * A], logp[N];
    fill_uniform(&rng, params, N * 2 * A, -3.0, 3.0);
    fill_uniform(&rng, raw, N * A, 0.01, 0.99);
    nn_dist_log_prob(&d, N, params, raw, logp);
    for (int s = 0; s < N; s++) {
        /* x^(a-1) (1-x)^(b-1) Gamma(a+b) / (Gamma(a) Gamma(b)) */
        double pdf = 1.0;
        for (int i = 0; i < A; i++) {
            double a = softplus_ref(params[s * 2 * A + i]) + 1.0;
            double b = softplus_ref(params[s * 2 * A + A + i]) + 1.0;
            double x = raw[s * A + i];
            pdf *= pow(x, a - 1) * pow(1 - x, b - 1) * tgamma(a + b) / (tgamma(a) * tgamma(b));
        }
        ck_assert_double_eq_tol(logp[s], log(pdf), 1e-4 * fmax(1.0, fabs(log(pdf))));
    }
}
END_TEST

START_TEST(test_beta_log_prob_clamps_edges) {
    NnDist d;
    ck_assert_int_eq(nn_dist_init_box(&d, NN_DIST_BETA, 1, unit_low, unit_high, 0, NULL, 0), 0);
    float params[2] = {1.0f, 0.5f};
    float raw[4] = {0.0f, 1e-6f, 1.0f, 1.0f - 1e-6f};
    float logp[4];
    for (int k = 0; k < 4; k++) {
        nn_dist_log_prob(&d, 1, params, &raw[k], &logp[k]);
        ck_assert(isfinite(logp[k]));
    }
    /* exactly 0 or 1 is treated as the clamp value */
    double a = softplus_ref(1.0) + 1.0, b = softplus_ref(0.5) + 1.0;
    double lognorm = lgamma(a) + lgamma(b) - lgamma(a + b);
    ck_assert_double_eq_tol(logp[0], (a - 1) * log(1e-6) + (b - 1) * log1p(-1e-6) - lognorm, 1e-4);
    ck_assert_double_eq_tol(logp[2], (a - 1) * log1p(-1e-6) + (b - 1) * log(1e-6) - lognorm, 1e-4);
    ck_assert_float_eq_tol(logp[0], logp[1], 1e-3f);
    /* 1 - 1e-6 is not a float; its neighbour lies 1.3% further from the edge */
    ck_assert_float_eq_tol(logp[2], logp[3], 0.02f * (float)(b - 1));
    float grad[2] = {0, 0}, one = 1.0f;
    nn_dist_backward(&d, 1, params, &raw[0], &one, NULL, grad);
    ck_assert(isfinite(grad[0]) && isfinite(grad[1]));
}
END_TEST

START_TEST(test_categorical_log_prob_closed_form) {
    enum { N = 8, K = 6 };
    NnDist d;
    int choices[1] = {K};
    ck_assert_int_eq(nn_dist_init_discrete(&d, 1, choices, NULL, 0), 0);
    AgRng rng;
    ag_rng_seed(&rng, 3, 0);
    float logits[N * K], raw[N], logp[N];
    fill_uniform(&rng, logits, N * K, -4.0, 4.0);
    for (int s = 0; s < N; s++) {
        raw[s] = (float)(s % K);
    }
    nn_dist_log_prob(&d, N, logits, raw, logp);
    for (int s = 0; s < N; s++) {
        double z = 0.0;
        for (int k = 0; k < K; k++) {
            z += exp(logits[s * K + k]);
        }
        double p = exp(logits[s * K + s % K]) / z;
        ck_assert_double_eq_tol(logp[s], log(p), 1e-5);
    }
    /* huge logits: the max is subtracted, so no overflow */
    float big[K] = {1000.0f, 0.0f, -1000.0f, 999.0f, 0.0f, 0.0f};
    float idx = 1.0f, lp;
    nn_dist_log_prob(&d, 1, big, &idx, &lp);
    ck_assert(isfinite(lp));
    ck_assert_double_eq_tol(lp, -1000.0 - log1p(exp(-1.0)), 1e-3);
    idx = 0.0f;
    nn_dist_log_prob(&d, 1, big, &idx, &lp);
    ck_assert_double_eq_tol(lp, -log1p(exp(-1.0)), 1e-5);
}
END_TEST

START_TEST(test_multicategorical_log_prob_sums_dims) {
    NnDist d;
    int choices[3] = {3, 5, 2};
    ck_assert_int_eq(nn_dist_init_discrete(&d, 3, choices, NULL, 0), 0);
    AgRng rng;
    ag_rng_seed(&rng, 4, 0);
    float logits[10], raw[3] = {2.0f, 0.0f, 1.0f}, lp;
    fill_uniform(&rng, logits, 10, -2.0, 2.0);
    nn_dist_log_prob(&d, 1, logits, raw, &lp);
    double want = 0.0;
    int off = 0;
    for (int dim = 0; dim < 3; dim++) {
        double z = 0.0;
        for (int k = 0; k < choices[dim]; k++) {
            z += exp(logits[off + k]);
        }
        want += logits[off + (int)raw[dim]] - log(z);
        off += choices[dim];
    }
    ck_assert_double_eq_tol(lp, want, 1e-5);
}
END_TEST

/* ---- entropies against closed forms ---- */

/* -integral of p log p over (0, 1) by the midpoint rule; alpha, beta > 1 keep p bounded */
static double beta_entropy_numeric(double a, double b) {
    const int m = 200000;
    double lognorm = lgamma(a) + lgamma(b) - lgamma(a + b);
    double h = 0.0;
    for (int k = 0; k < m; k++) {
        double x = (k + 0.5) / m;
        double lp = (a - 1) * log(x) + (b - 1) * log(1 - x) - lognorm;
        h -= exp(lp) * lp;
    }
    return h / m;
}

START_TEST(test_entropy_closed_forms) {
    /* gaussian: sum of 0.5 log(2 pi e sigma^2) */
    NnDist g;
    ck_assert_int_eq(nn_dist_init_box(&g, NN_DIST_GAUSSIAN, 3, unit_low, unit_high, 0, NULL, 0), 0);
    float gp[6] = {0.3f, -1.0f, 2.0f, -0.5f, 0.0f, 1.2f}, h;
    nn_dist_entropy(&g, 1, gp, &h);
    double want = 0.0;
    for (int i = 0; i < 3; i++) {
        double sd = exp(gp[3 + i]);
        want += 0.5 * log(2.0 * M_PI * M_E * sd * sd);
    }
    ck_assert_double_eq_tol(h, want, 1e-5);

    /* beta: against numerical integration, and 0 for the uniform limit alpha = beta = 1 */
    NnDist b;
    ck_assert_int_eq(nn_dist_init_box(&b, NN_DIST_BETA, 2, unit_low, unit_high, 0, NULL, 0), 0);
    float bp[4] = {0.5f, 2.5f, -1.0f, 1.5f};
    nn_dist_entropy(&b, 1, bp, &h);
    want = 0.0;
    for (int i = 0; i < 2; i++) {
        want += beta_entropy_numeric(softplus_ref(bp[i]) + 1, softplus_ref(bp[2 + i]) + 1);
    }
    ck_assert_double_eq_tol(h, want, 1e-4);
    float flat[2] = {-40.0f, -40.0f};
    NnDist b1;
    ck_assert_int_eq(nn_dist_init_box(&b1, NN_DIST_BETA, 1, unit_low, unit_high, 0, NULL, 0), 0);
    nn_dist_entropy(&b1, 1, flat, &h);
    ck_assert_double_eq_tol(h, 0.0, 1e-6);

    /* categorical: -sum p log p; uniform logits give log K */
    NnDist c;
    int k5[1] = {5};
    ck_assert_int_eq(nn_dist_init_discrete(&c, 1, k5, NULL, 0), 0);
    float cl[5] = {0.1f, -2.0f, 1.5f, 0.0f, 3.0f};
    nn_dist_entropy(&c, 1, cl, &h);
    double z = 0.0;
    for (int k = 0; k < 5; k++) {
        z += exp(cl[k]);
    }
    want = 0.0;
    for (int k = 0; k < 5; k++) {
        double p = exp(cl[k]) / z;
        want -= p * log(p);
    }
    ck_assert_double_eq_tol(h, want, 1e-6);
    float uni[5] = {0.7f, 0.7f, 0.7f, 0.7f, 0.7f};
    nn_dist_entropy(&c, 1, uni, &h);
    ck_assert_double_eq_tol(h, log(5.0), 1e-6);

    /* multicategorical over a box: 20 dims of 11 uniform bins */
    NnDist mc;
    ck_assert_int_eq(
        nn_dist_init_box(&mc, NN_DIST_MULTICATEGORICAL, 20, unit_low, unit_high, 11, NULL, 0), 0);
    float zeros[220] = {0};
    nn_dist_entropy(&mc, 1, zeros, &h);
    ck_assert_double_eq_tol(h, 20.0 * log(11.0), 1e-4);
}
END_TEST

/* ---- gradients against finite differences ---- */

START_TEST(test_gradients_finite_differences) {
    enum { N = 6 };
    AgRng rng;
    ag_rng_seed(&rng, 5, 0);
    float wl[N], we[N];
    fill_uniform(&rng, wl, N, -1.5, 1.5);
    fill_uniform(&rng, we, N, -1.5, 1.5);
    static float params[N * 220], raw[N * 20];

    NnDist g, b, c, mc, md;
    int k7[1] = {7}, multi[4] = {3, 2, 6, 4};
    ck_assert_int_eq(nn_dist_init_box(&g, NN_DIST_GAUSSIAN, 5, unit_low, unit_high, 0, NULL, 0), 0);
    ck_assert_int_eq(nn_dist_init_box(&b, NN_DIST_BETA, 5, unit_low, unit_high, 0, NULL, 0), 0);
    ck_assert_int_eq(nn_dist_init_discrete(&c, 1, k7, NULL, 0), 0);
    ck_assert_int_eq(
        nn_dist_init_box(&mc, NN_DIST_MULTICATEGORICAL, 20, unit_low, unit_high, 11, NULL, 0), 0);
    ck_assert_int_eq(nn_dist_init_discrete(&md, 4, multi, NULL, 0), 0);
    const NnDist *all[5] = {&g, &b, &c, &mc, &md};
    const char *names[5] = {"gaussian", "beta", "categorical", "multicategorical (box)",
                            "multicategorical (discrete)"};

    for (int k = 0; k < 5; k++) {
        const NnDist *d = all[k];
        fill_uniform(&rng, params, N * d->num_params, -2.0, 2.0);
        nn_dist_sample(d, N, params, &rng, raw);
        char what[96];
        snprintf(what, sizeof what, "%s d logp", names[k]);
        ck_assert_double_lt(grad_check(d, N, params, raw, wl, NULL, what), GRAD_TOL);
        snprintf(what, sizeof what, "%s d entropy", names[k]);
        ck_assert_double_lt(grad_check(d, N, params, raw, NULL, we, what), GRAD_TOL);
        snprintf(what, sizeof what, "%s d (logp + entropy)", names[k]);
        ck_assert_double_lt(grad_check(d, N, params, raw, wl, we, what), GRAD_TOL);
    }

    /* beta near its edges: concentrated parameters, samples close to 0 and 1 */
    fill_uniform(&rng, params, N * 10, -1.0, 6.0);
    nn_dist_sample(&b, N, params, &rng, raw);
    ck_assert_double_lt(grad_check(&b, N, params, raw, wl, we, "beta, concentrated"), GRAD_TOL);
}
END_TEST

START_TEST(test_backward_accumulates) {
    NnDist g;
    ck_assert_int_eq(nn_dist_init_box(&g, NN_DIST_GAUSSIAN, 2, unit_low, unit_high, 0, NULL, 0), 0);
    float params[4] = {0.5f, -0.5f, 0.2f, -0.1f}, raw[2] = {1.0f, 0.0f};
    float once[4] = {0}, twice[4] = {0}, wl = 0.7f, we = -0.3f;
    nn_dist_backward(&g, 1, params, raw, &wl, &we, once);
    nn_dist_backward(&g, 1, params, raw, &wl, &we, twice);
    nn_dist_backward(&g, 1, params, raw, &wl, &we, twice);
    for (int j = 0; j < 4; j++) {
        ck_assert_float_eq_tol(twice[j], 2.0f * once[j], 1e-6f);
    }
    /* d logp / d mean = (x - mu) / sigma^2, d logp / d log_std = z^2 - 1, d H / d log_std = 1 */
    double sd0 = exp(0.2), z0 = (1.0 - 0.5) / sd0;
    ck_assert_double_eq_tol(once[0], 0.7 * z0 / sd0, 1e-6);
    ck_assert_double_eq_tol(once[2], 0.7 * (z0 * z0 - 1.0) - 0.3, 1e-6);
    /* both weights NULL: nothing changes */
    float none[4] = {1, 2, 3, 4};
    nn_dist_backward(&g, 1, params, raw, NULL, NULL, none);
    ck_assert_float_eq(none[0], 1.0f);
    ck_assert_float_eq(none[3], 4.0f);
}
END_TEST

/* ---- sampling ---- */

START_TEST(test_gaussian_sampling_moments) {
    enum { N = 20000 };
    NnDist d;
    ck_assert_int_eq(nn_dist_init_box(&d, NN_DIST_GAUSSIAN, 2, unit_low, unit_high, 0, NULL, 0), 0);
    float *params = malloc(sizeof(float) * N * 4), *raw = malloc(sizeof(float) * N * 2);
    ck_assert(params && raw);
    const float row[4] = {0.25f, -3.0f, -0.7f, 0.4f};
    for (int s = 0; s < N; s++) {
        memcpy(params + s * 4, row, sizeof row);
    }
    AgRng rng;
    ag_rng_seed(&rng, 6, 0);
    nn_dist_sample(&d, N, params, &rng, raw);
    for (int i = 0; i < 2; i++) {
        double sum = 0.0, sq = 0.0;
        for (int s = 0; s < N; s++) {
            sum += raw[s * 2 + i];
        }
        double mean = sum / N;
        for (int s = 0; s < N; s++) {
            sq += (raw[s * 2 + i] - mean) * (raw[s * 2 + i] - mean);
        }
        double var = sq / (N - 1), sd = exp(row[2 + i]);
        printf("gaussian dim %d: mean %.4f (want %.4f), variance %.4f (want %.4f)\n", i, mean,
               (double)row[i], var, sd * sd);
        /* five standard errors */
        ck_assert_double_eq_tol(mean, row[i], 5.0 * sd / sqrt(N));
        ck_assert_double_eq_tol(var, sd * sd, 5.0 * sd * sd * sqrt(2.0 / N));
    }
    free(params);
    free(raw);
}
END_TEST

START_TEST(test_beta_sampling_moments) {
    enum { N = 20000 };
    NnDist d;
    ck_assert_int_eq(nn_dist_init_box(&d, NN_DIST_BETA, 3, unit_low, unit_high, 0, NULL, 0), 0);
    float *params = malloc(sizeof(float) * N * 6), *raw = malloc(sizeof(float) * N * 3);
    ck_assert(params && raw);
    /* a near-uniform, a skewed and a concentrated dimension (alpha about 31, beta about 1) */
    const float row[6] = {-2.0f, 1.0f, 30.0f, -2.0f, 3.0f, -30.0f};
    for (int s = 0; s < N; s++) {
        memcpy(params + s * 6, row, sizeof row);
    }
    AgRng rng;
    ag_rng_seed(&rng, 7, 0);
    nn_dist_sample(&d, N, params, &rng, raw);
    for (int i = 0; i < 3; i++) {
        double a = softplus_ref(row[i]) + 1, b = softplus_ref(row[3 + i]) + 1;
        double want_mean = a / (a + b);
        double want_var = a * b / ((a + b) * (a + b) * (a + b + 1));
        double sum = 0.0, sq = 0.0;
        for (int s = 0; s < N; s++) {
            float x = raw[s * 3 + i];
            /* never exactly on the edges */
            ck_assert(x >= 1e-6f && x <= 1.0f - 1e-6f);
            sum += x;
        }
        double mean = sum / N;
        for (int s = 0; s < N; s++) {
            sq += (raw[s * 3 + i] - mean) * (raw[s * 3 + i] - mean);
        }
        double var = sq / (N - 1);
        printf("beta dim %d: mean %.5f (want %.5f), variance %.3e (want %.3e)\n", i, mean,
               want_mean, var, want_var);
        ck_assert_double_eq_tol(mean, want_mean, 5.0 * sqrt(want_var / N));
        /* the variance of the sample variance needs the fourth moment; 6% covers these shapes
         * at five standard errors */
        ck_assert_double_eq_tol(var, want_var, 0.06 * want_var);
    }
    free(params);
    free(raw);
}
END_TEST

START_TEST(test_categorical_sampling_frequencies) {
    enum { N = 20000, K = 4 };
    NnDist d;
    int choices[1] = {K};
    ck_assert_int_eq(nn_dist_init_discrete(&d, 1, choices, NULL, 0), 0);
    /* room for both the categorical (K) and the multicategorical (5) rows */
    float *params = malloc(sizeof(float) * N * 5), *raw = malloc(sizeof(float) * N);
    ck_assert(params && raw);
    const float row[K] = {0.0f, 1.0f, -1.0f, 2.0f};
    for (int s = 0; s < N; s++) {
        memcpy(params + s * K, row, sizeof row);
    }
    AgRng rng;
    ag_rng_seed(&rng, 8, 0);
    nn_dist_sample(&d, N, params, &rng, raw);
    int count[K] = {0};
    for (int s = 0; s < N; s++) {
        ck_assert(raw[s] == floorf(raw[s]) && raw[s] >= 0 && raw[s] < K);
        count[(int)raw[s]]++;
    }
    double z = 0.0;
    for (int k = 0; k < K; k++) {
        z += exp(row[k]);
    }
    for (int k = 0; k < K; k++) {
        double p = exp(row[k]) / z, f = (double)count[k] / N;
        printf("categorical bin %d: frequency %.4f (want %.4f)\n", k, f, p);
        ck_assert_double_eq_tol(f, p, 5.0 * sqrt(p * (1 - p) / N));
    }

    /* multicategorical: each dimension on its own, a -inf-like logit is never drawn */
    NnDist mc;
    int multi[2] = {3, 2};
    ck_assert_int_eq(nn_dist_init_discrete(&mc, 2, multi, NULL, 0), 0);
    const float mrow[5] = {0.0f, 0.0f, -200.0f, 0.5f, -0.5f};
    for (int s = 0; s < N; s++) {
        memcpy(params + s * 5, mrow, sizeof mrow);
    }
    float *mraw = malloc(sizeof(float) * N * 2);
    ck_assert_ptr_nonnull(mraw);
    nn_dist_sample(&mc, N, params, &rng, mraw);
    int c0 = 0, c1 = 0;
    for (int s = 0; s < N; s++) {
        ck_assert(mraw[s * 2] != 2.0f);
        c0 += mraw[s * 2] == 0.0f;
        c1 += mraw[s * 2 + 1] == 0.0f;
    }
    double p1 = 1.0 / (1.0 + exp(-1.0));
    ck_assert_double_eq_tol((double)c0 / N, 0.5, 5.0 * sqrt(0.25 / N));
    ck_assert_double_eq_tol((double)c1 / N, p1, 5.0 * sqrt(p1 * (1 - p1) / N));
    free(mraw);
    free(params);
    free(raw);
}
END_TEST

START_TEST(test_sampling_reproducible) {
    NnDist d;
    ck_assert_int_eq(nn_dist_init_box(&d, NN_DIST_BETA, 4, unit_low, unit_high, 0, NULL, 0), 0);
    float params[8] = {0.1f, 0.2f, 0.3f, 0.4f, -0.1f, 1.0f, 2.0f, -2.0f}, x1[4], x2[4];
    AgRng r1, r2;
    ag_rng_seed(&r1, 99, 3);
    ag_rng_seed(&r2, 99, 3);
    nn_dist_sample(&d, 1, params, &r1, x1);
    nn_dist_sample(&d, 1, params, &r2, x2);
    ck_assert_mem_eq(x1, x2, sizeof x1);
}
END_TEST

/* ---- deterministic actions ---- */

START_TEST(test_mode) {
    NnDist g;
    ck_assert_int_eq(nn_dist_init_box(&g, NN_DIST_GAUSSIAN, 2, unit_low, unit_high, 0, NULL, 0), 0);
    float gp[4] = {0.3f, -7.0f, 1.0f, 1.0f}, x[3];
    nn_dist_mode(&g, 1, gp, x);
    ck_assert_float_eq(x[0], 0.3f);
    ck_assert_float_eq(x[1], -7.0f);

    /* beta: the mode (alpha - 1) / (alpha + beta - 2), inside (0, 1) even when extreme */
    NnDist b;
    ck_assert_int_eq(nn_dist_init_box(&b, NN_DIST_BETA, 3, unit_low, unit_high, 0, NULL, 0), 0);
    float bp[6] = {0.5f, 60.0f, -900.0f, 2.0f, -60.0f, -900.0f};
    nn_dist_mode(&b, 1, bp, x);
    double a0 = softplus_ref(0.5) + 1, b0 = softplus_ref(2.0) + 1;
    ck_assert_double_eq_tol(x[0], (a0 - 1) / (a0 + b0 - 2), 1e-6);
    ck_assert(x[1] > 0.99f && x[1] <= 1.0f - 1e-6f);
    ck_assert_float_eq_tol(x[2], 0.5f, 1e-6f);
    /* the mode is where the density peaks */
    float lp_mode, lp_near, xn = x[0] + 0.01f;
    NnDist b1;
    ck_assert_int_eq(nn_dist_init_box(&b1, NN_DIST_BETA, 1, unit_low, unit_high, 0, NULL, 0), 0);
    float p1[2] = {bp[0], bp[3]};
    nn_dist_log_prob(&b1, 1, p1, &x[0], &lp_mode);
    nn_dist_log_prob(&b1, 1, p1, &xn, &lp_near);
    ck_assert_float_gt(lp_mode, lp_near);

    /* categorical argmax, per dimension for multicategorical */
    NnDist mc;
    int multi[2] = {3, 4};
    ck_assert_int_eq(nn_dist_init_discrete(&mc, 2, multi, NULL, 0), 0);
    float ml[7] = {0.0f, 2.0f, 1.0f, -1.0f, -2.0f, -0.5f, -3.0f};
    nn_dist_mode(&mc, 1, ml, x);
    ck_assert_float_eq(x[0], 1.0f);
    ck_assert_float_eq(x[1], 2.0f);
}
END_TEST

/* ---- environment actions ---- */

START_TEST(test_to_env_mapping_and_clipping) {
    float lo[3] = {-1.0f, 0.0f, -2.0f}, hi[3] = {1.0f, 10.0f, 2.0f}, e[6];
    NnDist g;
    ck_assert_int_eq(nn_dist_init_box(&g, NN_DIST_GAUSSIAN, 3, lo, hi, 0, NULL, 0), 0);
    float graw[6] = {-1.7f, 5.5f, 2.5f, 0.25f, NAN, -2.0f};
    nn_dist_to_env(&g, 2, graw, e);
    ck_assert_float_eq(e[0], -1.0f);
    ck_assert_float_eq(e[1], 5.5f);
    ck_assert_float_eq(e[2], 2.0f);
    ck_assert_float_eq(e[3], 0.25f);
    ck_assert_float_eq(e[4], 5.0f); /* NaN becomes the centre */
    ck_assert_float_eq(e[5], -2.0f);

    NnDist b;
    ck_assert_int_eq(nn_dist_init_box(&b, NN_DIST_BETA, 3, lo, hi, 0, NULL, 0), 0);
    float braw[3] = {0.5f, 0.25f, 0.0f};
    nn_dist_to_env(&b, 1, braw, e);
    ck_assert_float_eq_tol(e[0], 0.0f, 1e-6f);
    ck_assert_float_eq_tol(e[1], 2.5f, 1e-5f);
    ck_assert_float_eq_tol(e[2], -2.0f, 1e-5f);
    ck_assert(e[2] >= -2.0f);

    /* 11 bins over [-1, 1]: steps of 0.2, first and last bins on the bounds */
    NnDist mc;
    ck_assert_int_eq(
        nn_dist_init_box(&mc, NN_DIST_MULTICATEGORICAL, 3, unit_low, unit_high, 11, NULL, 0), 0);
    float mraw[6] = {0.0f, 5.0f, 10.0f, 7.0f, 40.0f, -3.0f};
    nn_dist_to_env(&mc, 2, mraw, e);
    ck_assert_float_eq(e[0], -1.0f);
    ck_assert_float_eq_tol(e[1], 0.0f, 1e-6f);
    ck_assert_float_eq(e[2], 1.0f);
    ck_assert_float_eq_tol(e[3], 0.4f, 1e-6f);
    ck_assert_float_eq(e[4], 1.0f);  /* out-of-range index clamps to the last bin */
    ck_assert_float_eq(e[5], -1.0f); /* and to the first */

    /* discrete: the index itself */
    NnDist md;
    int multi[2] = {3, 5};
    ck_assert_int_eq(nn_dist_init_discrete(&md, 2, multi, NULL, 0), 0);
    float draw[4] = {2.0f, 4.0f, 1.0f, 9.0f};
    nn_dist_to_env(&md, 2, draw, e);
    ck_assert_float_eq(e[0], 2.0f);
    ck_assert_float_eq(e[1], 4.0f);
    ck_assert_float_eq(e[2], 1.0f);
    ck_assert_float_eq(e[3], 4.0f);
    NnDist c;
    int k3[1] = {3};
    ck_assert_int_eq(nn_dist_init_discrete(&c, 1, k3, NULL, 0), 0);
    float craw[2] = {1.0f, 2.0f};
    nn_dist_to_env(&c, 2, craw, e);
    ck_assert_float_eq(e[0], 1.0f);
    ck_assert_float_eq(e[1], 2.0f);
}
END_TEST

/* a diverged policy (NaN or huge head outputs) must still give actions inside the box */
START_TEST(test_bad_numbers_stay_in_bounds) {
    float lo[2] = {-1.0f, 0.0f}, hi[2] = {1.0f, 4.0f}, e[2], x[2];
    AgRng rng;
    ag_rng_seed(&rng, 11, 0);
    NnDist g, b, mc;
    ck_assert_int_eq(nn_dist_init_box(&g, NN_DIST_GAUSSIAN, 2, lo, hi, 0, NULL, 0), 0);
    ck_assert_int_eq(nn_dist_init_box(&b, NN_DIST_BETA, 2, lo, hi, 0, NULL, 0), 0);
    ck_assert_int_eq(nn_dist_init_box(&mc, NN_DIST_MULTICATEGORICAL, 2, lo, hi, 5, NULL, 0), 0);
    const float gp[4] = {NAN, 1e30f, 0.0f, 200.0f};
    const float bp[4] = {NAN, 1e30f, NAN, -1e30f};
    float lp[10];
    for (int k = 0; k < 10; k++) {
        lp[k] = k == 3 ? NAN : (k == 7 ? INFINITY : 0.0f);
    }
    const NnDist *all[3] = {&g, &b, &mc};
    const float *params[3] = {gp, bp, lp};
    for (int d = 0; d < 3; d++) {
        for (int rep = 0; rep < 20; rep++) {
            nn_dist_sample(all[d], 1, params[d], &rng, x);
            nn_dist_to_env(all[d], 1, x, e);
            for (int i = 0; i < 2; i++) {
                ck_assert_msg(e[i] >= lo[i] && e[i] <= hi[i], "kind %d dim %d: action %g", d, i,
                              (double)e[i]);
            }
        }
        nn_dist_mode(all[d], 1, params[d], x);
        nn_dist_to_env(all[d], 1, x, e);
        for (int i = 0; i < 2; i++) {
            ck_assert(e[i] >= lo[i] && e[i] <= hi[i]);
        }
    }
}
END_TEST

static Suite *nn_dist_suite(void) {
    Suite *s = suite_create("nn_dist");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_digamma_known_values);
    tcase_add_test(tc, test_digamma_matches_lgamma_derivative);
    tcase_add_test(tc, test_init_sizes);
    tcase_add_test(tc, test_init_errors);
    tcase_add_test(tc, test_gaussian_log_prob_closed_form);
    tcase_add_test(tc, test_beta_log_prob_closed_form);
    tcase_add_test(tc, test_beta_log_prob_clamps_edges);
    tcase_add_test(tc, test_categorical_log_prob_closed_form);
    tcase_add_test(tc, test_multicategorical_log_prob_sums_dims);
    tcase_add_test(tc, test_entropy_closed_forms);
    tcase_add_test(tc, test_gradients_finite_differences);
    tcase_add_test(tc, test_backward_accumulates);
    tcase_add_test(tc, test_gaussian_sampling_moments);
    tcase_add_test(tc, test_beta_sampling_moments);
    tcase_add_test(tc, test_categorical_sampling_frequencies);
    tcase_add_test(tc, test_sampling_reproducible);
    tcase_add_test(tc, test_mode);
    tcase_add_test(tc, test_to_env_mapping_and_clipping);
    tcase_add_test(tc, test_bad_numbers_stay_in_bounds);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) {
    SRunner *sr = srunner_create(nn_dist_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
