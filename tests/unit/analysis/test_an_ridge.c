/* Tests of decoding (an_ridge.c): the sufficient-statistics solver against a direct
 * implementation of nested cross-validation, planted signals decoded at their predicted R^2, the
 * shuffled-label control and a pure-noise layer near 0, the chosen penalty growing with the
 * noise, and refused input. */
#include "an_ridge.h"

#include "an_test_util.h"

#include "ag_error.h"

#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- a direct reference: fit each training set, predict each held-out row ---- */

typedef struct Fit {
    double w[8 * 4], mu[8], sd[8], my[4], ysd[4];
} Fit;

/* ridge on the rows whose fold is not in {skip1, skip2}: standardized features and targets,
 * (Z^T Z + lam_rel * n I) w = Z^T T by Gaussian elimination */
static void ref_fit(Fit *fit, const float *x, const double *y, const int *fold, int n, int d, int q,
                    int skip1, int skip2, double lam_rel) {
    double cnt = 0;
    memset(fit, 0, sizeof *fit);
    for (int i = 0; i < n; i++) {
        if (fold[i] == skip1 || fold[i] == skip2) {
            continue;
        }
        cnt++;
        for (int j = 0; j < d; j++) {
            fit->mu[j] += x[i * d + j];
        }
        for (int c = 0; c < q; c++) {
            fit->my[c] += y[i * q + c];
        }
    }
    for (int j = 0; j < d; j++) {
        fit->mu[j] /= cnt;
    }
    for (int c = 0; c < q; c++) {
        fit->my[c] /= cnt;
    }
    for (int i = 0; i < n; i++) {
        if (fold[i] == skip1 || fold[i] == skip2) {
            continue;
        }
        for (int j = 0; j < d; j++) {
            fit->sd[j] += pow(x[i * d + j] - fit->mu[j], 2);
        }
        for (int c = 0; c < q; c++) {
            fit->ysd[c] += pow(y[i * q + c] - fit->my[c], 2);
        }
    }
    for (int j = 0; j < d; j++) {
        fit->sd[j] = sqrt(fit->sd[j] / cnt);
    }
    for (int c = 0; c < q; c++) {
        fit->ysd[c] = sqrt(fit->ysd[c] / cnt);
    }
    /* normal equations [d, d + q] */
    double m[8 * 12] = {0};
    int cols = d + q;
    for (int i = 0; i < n; i++) {
        if (fold[i] == skip1 || fold[i] == skip2) {
            continue;
        }
        double z[8], t[4];
        for (int j = 0; j < d; j++) {
            z[j] = (x[i * d + j] - fit->mu[j]) / fit->sd[j];
        }
        for (int c = 0; c < q; c++) {
            t[c] = (y[i * q + c] - fit->my[c]) / fit->ysd[c];
        }
        for (int a = 0; a < d; a++) {
            for (int b = 0; b < d; b++) {
                m[a * cols + b] += z[a] * z[b];
            }
            for (int c = 0; c < q; c++) {
                m[a * cols + d + c] += z[a] * t[c];
            }
        }
    }
    for (int a = 0; a < d; a++) {
        m[a * cols + a] += lam_rel * cnt;
    }
    for (int p = 0; p < d; p++) {
        for (int r = p + 1; r < d; r++) {
            double f = m[r * cols + p] / m[p * cols + p];
            for (int k = p; k < cols; k++) {
                m[r * cols + k] -= f * m[p * cols + k];
            }
        }
    }
    for (int c = 0; c < q; c++) {
        for (int p = d - 1; p >= 0; p--) {
            double s = m[p * cols + d + c];
            for (int k = p + 1; k < d; k++) {
                s -= m[p * cols + k] * fit->w[k * q + c];
            }
            fit->w[p * q + c] = s / m[p * cols + p];
        }
    }
}

/* squared errors of the fit on the rows of fold `test` into sse [q], sums of squares about the
 * training means into sst [q] */
static void ref_score(const Fit *fit, const float *x, const double *y, const int *fold, int n,
                      int d, int q, int test, double *sse, double *sst) {
    for (int i = 0; i < n; i++) {
        if (fold[i] != test) {
            continue;
        }
        for (int c = 0; c < q; c++) {
            double s = 0;
            for (int j = 0; j < d; j++) {
                s += (x[i * d + j] - fit->mu[j]) / fit->sd[j] * fit->w[j * q + c];
            }
            double pred = fit->my[c] + fit->ysd[c] * s;
            sse[c] += pow(y[i * q + c] - pred, 2);
            if (sst) {
                sst[c] += pow(y[i * q + c] - fit->my[c], 2);
            }
        }
    }
}

/* nested cross-validation by brute force: R^2 per variable, given the folds of the rows */
static void ref_nested(double *r2, const float *x, const double *y, const int *fold, int n, int d,
                       int q, int k, const int *off, int nv, const double *lambdas) {
    double sse_tot[4] = {0}, sst_tot[4] = {0};
    Fit fit;
    for (int f = 0; f < k; f++) {
        double sse_in[AN_RIDGE_LAMBDAS][4] = {{0}};
        for (int li = 0; li < AN_RIDGE_LAMBDAS; li++) {
            for (int j = 0; j < k; j++) {
                if (j != f) {
                    ref_fit(&fit, x, y, fold, n, d, q, f, j, lambdas[li]);
                    ref_score(&fit, x, y, fold, n, d, q, j, sse_in[li], NULL);
                }
            }
        }
        for (int v = 0; v < nv; v++) {
            int best = AN_RIDGE_LAMBDAS - 1;
            double best_e = INFINITY;
            for (int li = AN_RIDGE_LAMBDAS - 1; li >= 0; li--) {
                double e = 0;
                for (int c = off[v]; c < off[v + 1]; c++) {
                    e += sse_in[li][c];
                }
                if (e < best_e) {
                    best_e = e;
                    best = li;
                }
            }
            double sse[4] = {0}, sst[4] = {0};
            ref_fit(&fit, x, y, fold, n, d, q, f, f, lambdas[best]);
            ref_score(&fit, x, y, fold, n, d, q, f, sse, sst);
            for (int c = off[v]; c < off[v + 1]; c++) {
                sse_tot[c] += sse[c];
                sst_tot[c] += sst[c];
            }
        }
    }
    for (int v = 0; v < nv; v++) {
        double e = 0, s = 0;
        for (int c = off[v]; c < off[v + 1]; c++) {
            e += sse_tot[c];
            s += sst_tot[c];
        }
        r2[v] = 1 - e / s;
    }
}

START_TEST(test_matches_direct_nested_cv) {
    /* 7 episodes of unequal length, 3 units, two variables (2 columns and 1), 3 folds */
    enum { E = 7, D = 3, Q = 3, K = 3, NMAX = 200 };
    const int64_t lens[E] = {12, 20, 9, 15, 18, 11, 14};
    int64_t start[E];
    int n = 0;
    for (int e = 0; e < E; e++) {
        start[e] = n;
        n += (int)lens[e];
    }
    AnEpisodes ep = {.n = E, .start = start, .len = lens};
    float x[NMAX * D];
    double y[NMAX * Q];
    AgRng rng;
    ag_rng_seed(&rng, 5, 0);
    for (int i = 0; i < n; i++) {
        for (int j = 0; j < D; j++) {
            x[i * D + j] = (float)(3.0 + (j + 1) * ag_rng_normal(&rng));
        }
        y[i * Q + 0] = 0.8 * x[i * D] - 0.3 * x[i * D + 1] + ag_rng_normal(&rng);
        y[i * Q + 1] = 10 + 0.2 * x[i * D + 2] + 2 * ag_rng_normal(&rng);
        y[i * Q + 2] = -x[i * D + 1] + 5 * ag_rng_normal(&rng);
    }
    const int off[3] = {0, 2, 3};
    AnRidgeTargets t = {.y = y, .q = Q, .n_vars = 2, .var_offset = off};
    AnRidgeOptions opt = {.folds = K, .seed = 11, .shuffled = 1};
    AnRidgeResult res;
    char err[256];
    ck_assert_int_eq(an_ridge_decode(&res, x, n, D, &ep, &t, &opt, err, sizeof err), 0);

    /* the real labels, row by row in their episodes' folds */
    int fold[NMAX];
    for (int e = 0; e < E; e++) {
        for (int s = 0; s < lens[e]; s++) {
            fold[start[e] + s] = res.fold_of_episode[e];
        }
    }
    double r2[2];
    ref_nested(r2, x, y, fold, n, D, Q, K, off, 2, res.lambdas);
    for (int v = 0; v < 2; v++) {
        printf("variable %d: r2 %.12f, direct %.12f\n", v, res.r2[v], r2[v]);
        ck_assert_double_eq_tol(res.r2[v], r2[v], 1e-9);
    }

    /* the control: each episode's activity with its partner's labels, cut to the shorter */
    float xs[NMAX * D];
    double ys[NMAX * Q];
    int fs[NMAX], ns = 0;
    for (int e = 0; e < E; e++) {
        int p = res.label_episode[e];
        ck_assert_int_ne(p, e);
        int64_t keep = lens[e] < lens[p] ? lens[e] : lens[p];
        for (int s = 0; s < keep; s++, ns++) {
            memcpy(xs + ns * D, x + (start[e] + s) * D, D * sizeof *x);
            memcpy(ys + ns * Q, y + (start[p] + s) * Q, Q * sizeof *y);
            fs[ns] = res.fold_of_episode[e];
        }
    }
    ref_nested(r2, xs, ys, fs, ns, D, Q, K, off, 2, res.lambdas);
    for (int v = 0; v < 2; v++) {
        printf("control %d: r2 %.12f, direct %.12f\n", v, res.r2_shuffled[v], r2[v]);
        ck_assert_double_eq_tol(res.r2_shuffled[v], r2[v], 1e-9);
    }
    /* every fold holds 2 or 3 episodes */
    int count[K] = {0};
    for (int e = 0; e < E; e++) {
        count[res.fold_of_episode[e]]++;
    }
    for (int f = 0; f < K; f++) {
        ck_assert(count[f] == 2 || count[f] == 3);
    }
    an_ridge_result_free(&res);
}
END_TEST

/* ---- planted signals ---- */

enum { PE = 20, PL = 200, PN = PE * PL, PD = 32, PK = 3 };

/* decodes v [PN, PK] from a layer A v + sigma noise (A with orthogonal columns of the given
 * norms) */
static void decode_planted(AnRidgeResult *res, const double *norm, double sigma, int pure_noise,
                           uint64_t seed) {
    int64_t start[PE], len[PE];
    AnEpisodes ep = an_test_episodes(start, len, PE, PL);
    double *v = malloc(sizeof(double) * PN * PK), a[PD * PK];
    float *x = malloc(sizeof(float) * PN * PD);
    AgRng rng;
    ag_rng_seed(&rng, seed, 0);
    an_test_normal(v, (int64_t)PN * PK, &rng);
    an_test_planted_map(a, PD, PK, norm);
    if (pure_noise) {
        memset(a, 0, sizeof a);
    }
    an_test_planted_layer(x, v, a, PN, PD, PK, sigma, &rng);
    const int off[2] = {0, PK};
    AnRidgeTargets t = {.y = v, .q = PK, .n_vars = 1, .var_offset = off};
    AnRidgeOptions opt = {.folds = 5, .seed = seed, .shuffled = 1};
    char err[256];
    ck_assert_int_eq(an_ridge_decode(res, x, PN, PD, &ep, &t, &opt, err, sizeof err), 0);
    free(v);
    free(x);
}

/* Tolerance of an out-of-fold R^2 around the population value r2 (n rows, d units, 5 folds):
 * fitting d + 1 parameters on the training rows costs about (1 - r2) d / (n_train - d - 1)
 * (the least-squares prediction-error inflation; ridge costs a little less), and the estimate
 * varies by about 2 sqrt(r2) (1 - r2) / sqrt(n) (delta method); allowed: that bias plus four
 * standard errors, plus 0.005 for the sampled signal's own variance. */
static double r2_tolerance(double r2, int n, int d) {
    double n_train = 0.8 * n;
    double bias = (1 - r2) * d / (n_train - d - 1);
    double se = 2 * sqrt(r2) * (1 - r2) / sqrt((double)n);
    return bias + 4 * se + 0.005;
}

/* the control and a pure-noise layer: under no relation the out-of-fold R^2 sits at about
 * -d / n_train (overfitting, less with ridge) with a spread of a few sqrt(2 d) / n; allowed:
 * 2 d / n_train + 0.02 */
static double null_bound(int n, int d) {
    return 2.0 * d / (0.8 * n) + 0.02;
}

START_TEST(test_planted_signal_r2) {
    const double norm[PK] = {2.0, 1.0, 0.5};
    const double sigma = 1.0;
    AnRidgeResult res;
    decode_planted(&res, norm, sigma, 0, 21);
    double mean_pred = 0;
    for (int c = 0; c < PK; c++) {
        /* var(signal) / (var(signal) + var(noise)) along column c's direction */
        double pred = norm[c] * norm[c] / (norm[c] * norm[c] + sigma * sigma);
        double tol = r2_tolerance(pred, PN, PD);
        printf("column %d: r2 %.4f, predicted %.4f +- %.4f; control %.4f\n", c, res.r2_col[c], pred,
               tol, res.r2_col_shuffled[c]);
        ck_assert_double_eq_tol(res.r2_col[c], pred, tol);
        ck_assert_double_le(fabs(res.r2_col_shuffled[c]), null_bound(PN, PD));
        mean_pred += pred / PK;
    }
    /* the variable's R^2: columns of equal variance weigh the same */
    printf("variable: r2 %.4f, predicted %.4f; control %.4f; lambda %.4g\n", res.r2[0], mean_pred,
           res.r2_shuffled[0], res.lambda[0]);
    ck_assert_double_eq_tol(res.r2[0], mean_pred, r2_tolerance(mean_pred, PN, PD));
    ck_assert_double_le(fabs(res.r2_shuffled[0]), null_bound(PN, PD));
    an_ridge_result_free(&res);
}
END_TEST

START_TEST(test_pure_noise_layer) {
    const double norm[PK] = {1, 1, 1};
    AnRidgeResult res;
    decode_planted(&res, norm, 1.0, 1, 22);
    printf("pure noise: r2 %.4f, control %.4f\n", res.r2[0], res.r2_shuffled[0]);
    ck_assert_double_le(fabs(res.r2[0]), null_bound(PN, PD));
    ck_assert_double_le(fabs(res.r2_shuffled[0]), null_bound(PN, PD));
    an_ridge_result_free(&res);
}
END_TEST

START_TEST(test_penalty_grows_with_noise) {
    /* Few rows per unit, so that the penalty matters: 10 episodes of 30 steps, 48 units. The
     * noisier the layer, the less of each unit is signal and the more the fit must shrink; the
     * grid is coarse and one recording noisy, so the penalty is averaged (geometrically) over
     * three recordings per noise level. */
    enum { E = 10, L = 30, N = E * L, D = 48, SEEDS = 3 };
    int64_t start[E], len[E];
    AnEpisodes ep = an_test_episodes(start, len, E, L);
    const double sigmas[3] = {0.3, 3, 30};
    double lambda[3];
    for (int s = 0; s < 3; s++) {
        double log_sum = 0;
        for (int seed = 1; seed <= SEEDS; seed++) {
            double *v = malloc(sizeof(double) * N), a[D];
            float *x = malloc(sizeof(float) * N * D);
            AgRng rng;
            ag_rng_seed(&rng, (uint64_t)seed, 0);
            an_test_normal(v, N, &rng);
            const double norm = 1.0;
            an_test_planted_map(a, D, 1, &norm);
            an_test_planted_layer(x, v, a, N, D, 1, sigmas[s], &rng);
            const int off[2] = {0, 1};
            AnRidgeTargets t = {.y = v, .q = 1, .n_vars = 1, .var_offset = off};
            AnRidgeOptions opt = {.folds = 5, .seed = 3};
            AnRidgeResult res;
            char err[256];
            ck_assert_int_eq(an_ridge_decode(&res, x, N, D, &ep, &t, &opt, err, sizeof err), 0);
            log_sum += log(res.lambda[0]);
            an_ridge_result_free(&res);
            free(v);
            free(x);
        }
        lambda[s] = exp(log_sum / SEEDS);
        printf("sigma %.1f: lambda %.4g\n", sigmas[s], lambda[s]);
    }
    ck_assert_double_gt(lambda[1], lambda[0]);
    ck_assert_double_gt(lambda[2], lambda[1]);
}
END_TEST

START_TEST(test_refuses_bad_input) {
    int64_t start[4], len[4];
    AnEpisodes ep = an_test_episodes(start, len, 4, 10);
    float x[40] = {0};
    double y[40] = {0};
    const int off[2] = {0, 1};
    AnRidgeTargets t = {.y = y, .q = 1, .n_vars = 1, .var_offset = off};
    AnRidgeOptions opt = {.folds = 5};
    AnRidgeResult res;
    char err[256];
    ck_assert_int_eq(an_ridge_decode(&res, x, 40, 1, &ep, &t, &opt, err, sizeof err), AG_ERANGE);
    ck_assert_ptr_nonnull(strstr(err, "5 folds"));
    ck_assert_ptr_nonnull(strstr(err, "has 4"));
    opt.folds = 2;
    ck_assert_int_eq(an_ridge_decode(&res, x, 40, 1, &ep, &t, &opt, err, sizeof err), AG_ERANGE);
    opt.folds = 3;
    ck_assert_int_eq(an_ridge_decode(&res, x, 39, 1, &ep, &t, &opt, err, sizeof err), AG_EINVAL);
    an_ridge_result_free(&res);
}
END_TEST

START_TEST(test_constant_target_and_unit) {
    /* a constant unit drops out; a constant target has no R^2 */
    enum { E = 6, L = 40, N = E * L, D = 4 };
    int64_t start[E], len[E];
    AnEpisodes ep = an_test_episodes(start, len, E, L);
    float x[N * D];
    double y[N * 2];
    AgRng rng;
    ag_rng_seed(&rng, 8, 0);
    for (int i = 0; i < N; i++) {
        for (int j = 0; j < D; j++) {
            x[i * D + j] = j == 2 ? 7.0f : (float)ag_rng_normal(&rng);
        }
        y[i * 2] = x[i * D] + 0.1 * ag_rng_normal(&rng);
        y[i * 2 + 1] = 3.0;
    }
    const int off[3] = {0, 1, 2};
    AnRidgeTargets t = {.y = y, .q = 2, .n_vars = 2, .var_offset = off};
    AnRidgeOptions opt = {.folds = 3, .seed = 1, .shuffled = 1};
    AnRidgeResult res;
    char err[256];
    ck_assert_int_eq(an_ridge_decode(&res, x, N, D, &ep, &t, &opt, err, sizeof err), 0);
    ck_assert_double_gt(res.r2[0], 0.98);
    ck_assert(isnan(res.r2[1]));
    ck_assert(isnan(res.lambda[1]));
    an_ridge_result_free(&res);
}
END_TEST

static Suite *ridge_suite(void) {
    Suite *s = suite_create("an_ridge");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_matches_direct_nested_cv);
    tcase_add_test(tc, test_planted_signal_r2);
    tcase_add_test(tc, test_pure_noise_layer);
    tcase_add_test(tc, test_penalty_grows_with_noise);
    tcase_add_test(tc, test_refuses_bad_input);
    tcase_add_test(tc, test_constant_target_and_unit);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) {
    SRunner *sr = srunner_create(ridge_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
