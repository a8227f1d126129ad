/* Decoding by cross-validated ridge regression from per-fold sufficient statistics (an_ridge.h):
 * one pass over the rows, then per outer fold one eigendecomposition per training part and a
 * cheap solve for every penalty and target in the eigenbasis. */
#include "an_ridge.h"

#include "ag_error.h"
#include "ag_rng.h"

#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define BLOCK_ROWS     512
#define CONST_REL      1e-12 /* variance below this share of the raw second moment: constant */
#define RNG_FOLDS      1
#define RNG_PERMUTE    2
#define LAMBDA_LOG_MIN (-4.0)
#define LAMBDA_LOG_MAX 4.0

/* sufficient statistics of a set of rows (shifted by the overall means) */
typedef struct Moments {
    double n;
    double *sx; /* [d] sums of x */
    double *g;  /* [d, d] x^T x */
    double *sy; /* [q] sums of y */
    double *yy; /* [q] sums of y^2 */
    double *c;  /* [d, q] x^T y */
} Moments;

typedef struct Ridge {
    int d, q, k;
    /* per fold: the real labels and the control's; the total, a training part, an inner one */
    Moments *real, *shuf, total, train, inner;
    double *pool;    /* every Moments array in one allocation */
    double *scratch; /* the arrays below in one allocation */
    /* scratch of one fit */
    double *mu, *inv, *l;                  /* [d] */
    double *my, *ysd, *yinv, *tt, *sst_in; /* [q] */
    double *r, *a, *tmp, *at;              /* [d, d] */
    double *b, *p, *bt, *btv, *m, *am;     /* [d, q] */
    double *sse_in, *sse_out;              /* [lambdas, q] */
} Ridge;

/* ---- moments ---- */

static size_t moments_size(int d, int q) {
    return (size_t)d + (size_t)d * d + 2 * (size_t)q + (size_t)d * q;
}

static void moments_bind(Moments *m, double *p, int d, int q) {
    m->n = 0;
    m->sx = p;
    m->g = m->sx + d;
    m->sy = m->g + (size_t)d * d;
    m->yy = m->sy + q;
    m->c = m->yy + q;
}

/* out = a - b (b NULL: a copy); out may be a */
static void moments_sub(Moments *out, const Moments *a, const Moments *b, int d, int q) {
    size_t len = moments_size(d, q);
    out->n = a->n - (b ? b->n : 0);
    for (size_t i = 0; i < len; i++) {
        out->sx[i] = a->sx[i] - (b ? b->sx[i] : 0);
    }
}

static void moments_add(Moments *out, const Moments *a, int d, int q) {
    size_t len = moments_size(d, q);
    out->n += a->n;
    for (size_t i = 0; i < len; i++) {
        out->sx[i] += a->sx[i];
    }
}

/* x part of a block of rows: n, sums and the Gram matrix */
static void moments_add_x(Moments *m, const double *x, int rows, int d) {
    m->n += rows;
    for (int i = 0; i < rows; i++) {
        for (int j = 0; j < d; j++) {
            m->sx[j] += x[(size_t)i * d + j];
        }
    }
    an_gram_add(m->g, x, rows, d);
}

/* y part of a block: sums, squares and x^T y */
static void moments_add_y(Moments *m, const double *x, const double *y, int rows, int d, int q) {
    for (int i = 0; i < rows; i++) {
        for (int j = 0; j < q; j++) {
            double v = y[(size_t)i * q + j];
            m->sy[j] += v;
            m->yy[j] += v * v;
        }
    }
    cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, d, q, rows, 1.0, x, d, y, q, 1.0, m->c, q);
}

/* ---- one pass over the rows ---- */

typedef struct Block {
    double *x, *y, *ys; /* [BLOCK_ROWS, d], [BLOCK_ROWS, q] x 2 */
    int rows;
} Block;

/* kept rows: x with the real labels (into real) and with the control's (into shuf); dropped
 * rows (beyond the shorter episode of a pair): x with the real labels only. The x moments of
 * kept rows go to shuf, of dropped rows to real; real's are completed after the pass. */
static void flush(Block *b, Moments *real, Moments *shuf, int kept, int d, int q) {
    if (b->rows == 0) {
        return;
    }
    Moments *xm = kept ? shuf : real;
    moments_add_x(xm, b->x, b->rows, d);
    moments_add_y(real, b->x, b->y, b->rows, d, q);
    if (kept) {
        moments_add_y(shuf, b->x, b->ys, b->rows, d, q);
    }
    b->rows = 0;
}

static void block_push(Block *b, const float *x, const double *y, const double *ys,
                       const double *xmean, const double *ymean, int d, int q) {
    double *dx = b->x + (size_t)b->rows * d, *dy = b->y + (size_t)b->rows * q;
    for (int j = 0; j < d; j++) {
        dx[j] = (double)x[j] - xmean[j];
    }
    for (int j = 0; j < q; j++) {
        dy[j] = y[j] - ymean[j];
    }
    if (ys) {
        double *dys = b->ys + (size_t)b->rows * q;
        for (int j = 0; j < q; j++) {
            dys[j] = ys[j] - ymean[j];
        }
    }
    b->rows++;
}

static int accumulate(Ridge *rg, const float *x, int64_t n, const AnEpisodes *ep,
                      const AnRidgeTargets *t, const int *fold, const int *perm) {
    int d = rg->d, q = rg->q;
    double *xmean = malloc(((size_t)d + q) * sizeof *xmean);
    Block kept = {0}, dropped = {0};
    size_t bx = (size_t)BLOCK_ROWS * d, by = (size_t)BLOCK_ROWS * q;
    kept.x = malloc((2 * bx + 3 * by) * sizeof(double));
    if (!xmean || !kept.x) {
        free(xmean);
        free(kept.x);
        return AG_ENOMEM;
    }
    kept.y = kept.x + bx;
    kept.ys = kept.y + by;
    dropped.x = kept.ys + by;
    dropped.y = dropped.x + bx;
    /* the overall means, subtracted from every row */
    double *ymean = xmean + d;
    an_col_mean(xmean, x, n, d);
    memset(ymean, 0, (size_t)q * sizeof *ymean);
    for (int64_t i = 0; i < n; i++) {
        for (int j = 0; j < q; j++) {
            ymean[j] += t->y[i * q + j];
        }
    }
    for (int j = 0; j < q; j++) {
        ymean[j] /= (double)n;
    }
    for (int f = 0; f < rg->k; f++) {
        for (int e = 0; e < ep->n; e++) {
            if (fold[e] != f) {
                continue;
            }
            int64_t len = ep->len[e], plen = ep->len[perm[e]];
            int64_t keep = len < plen ? len : plen;
            for (int64_t s = 0; s < len; s++) {
                int64_t row = ep->start[e] + s;
                const double *y = t->y + row * q;
                if (s < keep) {
                    const double *ys = t->y + (ep->start[perm[e]] + s) * q;
                    block_push(&kept, x + row * d, y, ys, xmean, ymean, d, q);
                    if (kept.rows == BLOCK_ROWS) {
                        flush(&kept, &rg->real[f], &rg->shuf[f], 1, d, q);
                    }
                } else {
                    block_push(&dropped, x + row * d, y, NULL, xmean, ymean, d, q);
                    if (dropped.rows == BLOCK_ROWS) {
                        flush(&dropped, &rg->real[f], &rg->shuf[f], 0, d, q);
                    }
                }
            }
        }
        flush(&kept, &rg->real[f], &rg->shuf[f], 1, d, q);
        flush(&dropped, &rg->real[f], &rg->shuf[f], 0, d, q);
        /* the real x moments: dropped rows plus kept rows */
        rg->real[f].n += rg->shuf[f].n;
        for (int j = 0; j < d; j++) {
            rg->real[f].sx[j] += rg->shuf[f].sx[j];
        }
        for (size_t i = 0; i < (size_t)d * d; i++) {
            rg->real[f].g[i] += rg->shuf[f].g[i];
        }
        an_symmetrize(rg->real[f].g, d);
        an_symmetrize(rg->shuf[f].g, d);
    }
    free(xmean);
    free(kept.x);
    return 0;
}

/* ---- one fit: train on tr, score every penalty on te ---- */

/* standardization on the training part: means, inverse standard deviations (0 for a constant
 * feature or target) and the standardized Gram matrix in rg->r; returns the number of
 * non-constant features and their trace */
static int standardize(Ridge *rg, const Moments *tr, double *trace) {
    int d = rg->d, q = rg->q, active = 0;
    double nt = tr->n;
    for (int j = 0; j < d; j++) {
        rg->mu[j] = tr->sx[j] / nt;
    }
    for (int i = 0; i < d; i++) {
        double raw = tr->g[(size_t)i * d + i] / nt;
        double var = raw - rg->mu[i] * rg->mu[i];
        rg->inv[i] = var > CONST_REL * raw && var > 0 ? 1.0 / sqrt(var) : 0.0;
        active += rg->inv[i] > 0;
    }
    *trace = 0;
    for (int i = 0; i < d; i++) {
        for (int j = 0; j < d; j++) {
            size_t ij = (size_t)i * d + j;
            rg->r[ij] = (tr->g[ij] - nt * rg->mu[i] * rg->mu[j]) * rg->inv[i] * rg->inv[j];
        }
        *trace += rg->r[(size_t)i * d + i];
    }
    for (int c = 0; c < q; c++) {
        rg->my[c] = tr->sy[c] / nt;
        double raw = tr->yy[c] / nt;
        double var = raw - rg->my[c] * rg->my[c];
        rg->ysd[c] = var > 0 ? sqrt(var) : 0;
        rg->yinv[c] = var > CONST_REL * raw && var > 0 ? 1.0 / rg->ysd[c] : 0.0;
    }
    /* Z^T T of the training part */
    for (int i = 0; i < d; i++) {
        for (int c = 0; c < q; c++) {
            size_t ic = (size_t)i * q + c;
            rg->b[ic] = (tr->c[ic] - nt * rg->mu[i] * rg->my[c]) * rg->inv[i] * rg->yinv[c];
        }
    }
    return active;
}

/* the held-out part in the training part's standardization: A = Z'^T Z' into rg->a,
 * Z'^T T' into rg->bt, and the sums of squares about the training means into rg->tt */
static void standardize_test(Ridge *rg, const Moments *te) {
    int d = rg->d, q = rg->q;
    double nf = te->n;
    const double *mu = rg->mu, *my = rg->my, *s = te->sx;
    for (int i = 0; i < d; i++) {
        for (int j = 0; j < d; j++) {
            size_t ij = (size_t)i * d + j;
            double v = te->g[ij] - s[i] * mu[j] - mu[i] * s[j] + nf * mu[i] * mu[j];
            rg->a[ij] = v * rg->inv[i] * rg->inv[j];
        }
        for (int c = 0; c < q; c++) {
            size_t ic = (size_t)i * q + c;
            double v = te->c[ic] - s[i] * my[c] - mu[i] * te->sy[c] + nf * mu[i] * my[c];
            rg->bt[ic] = v * rg->inv[i] * rg->yinv[c];
        }
    }
    for (int c = 0; c < q; c++) {
        rg->tt[c] = te->yy[c] - 2 * my[c] * te->sy[c] + nf * my[c] * my[c];
    }
}

/* adds the held-out squared error of every penalty and target to sse [lambdas, q] and the
 * held-out sums of squares to sst [q] (NULL: not wanted) */
static int fit_score(Ridge *rg, const Moments *tr, const Moments *te, const double *lambdas,
                     double *sse, double *sst) {
    int d = rg->d, q = rg->q;
    double trace;
    int active = standardize(rg, tr, &trace);
    int rc = an_eigh(rg->r, rg->l, d); /* rows of rg->r: eigenvectors V */
    if (rc) {
        return rc;
    }
    const double *v = rg->r;
    standardize_test(rg, te);
    /* P = V Z^T T; A~ = V A V^T; b~ = V Z'^T T' */
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, d, q, d, 1.0, v, d, rg->b, q, 0.0, rg->p,
                q);
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, d, d, d, 1.0, v, d, rg->a, d, 0.0,
                rg->tmp, d);
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, d, d, d, 1.0, rg->tmp, d, v, d, 0.0,
                rg->at, d);
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, d, q, d, 1.0, v, d, rg->bt, q, 0.0,
                rg->btv, q);
    double scale = active > 0 ? trace / active : 1.0;
    for (int li = 0; li < AN_RIDGE_LAMBDAS; li++) {
        double lam = lambdas[li] * scale;
        for (int k = 0; k < d; k++) {
            double s = 1.0 / ((rg->l[k] > 0 ? rg->l[k] : 0) + lam);
            for (int c = 0; c < q; c++) {
                rg->m[(size_t)k * q + c] = rg->p[(size_t)k * q + c] * s;
            }
        }
        cblas_dsymm(CblasRowMajor, CblasLeft, CblasUpper, d, q, 1.0, rg->at, d, rg->m, q, 0.0,
                    rg->am, q);
        double *out = sse + (size_t)li * q;
        for (int c = 0; c < q; c++) {
            double s1 = 0, s2 = 0;
            for (int k = 0; k < d; k++) {
                size_t kc = (size_t)k * q + c;
                s1 += rg->m[kc] * rg->btv[kc];
                s2 += rg->m[kc] * rg->am[kc];
            }
            double e = rg->tt[c] - rg->ysd[c] * rg->ysd[c] * (2 * s1 - s2);
            out[c] += rg->yinv[c] > 0 ? (e > 0 ? e : 0) : rg->tt[c];
        }
    }
    for (int c = 0; sst && c < q; c++) {
        sst[c] += rg->tt[c];
    }
    return 0;
}

/* ---- nested cross-validation over one set of fold moments ---- */

/* index of the penalty with the least summed error over columns [c0, c1); the larger penalty
 * on a tie */
static int choose_lambda(const double *sse, int q, int c0, int c1) {
    int best = AN_RIDGE_LAMBDAS - 1;
    double best_e = INFINITY;
    for (int li = AN_RIDGE_LAMBDAS - 1; li >= 0; li--) {
        double e = 0;
        for (int c = c0; c < c1; c++) {
            e += sse[(size_t)li * q + c];
        }
        if (e < best_e) {
            best_e = e;
            best = li;
        }
    }
    return best;
}

static int cross_validate(Ridge *rg, const Moments *folds, const AnRidgeTargets *t,
                          const double *lambdas, double *r2_col, double *r2_var,
                          double *lambda_fold) {
    int q = rg->q, k = rg->k, nv = t->n_vars;
    double *sse_tot = calloc((size_t)q * 2, sizeof *sse_tot);
    int *chosen = malloc((size_t)nv * sizeof *chosen);
    if (!sse_tot || !chosen) {
        free(sse_tot);
        free(chosen);
        return AG_ENOMEM;
    }
    double *sst_tot = sse_tot + q;
    size_t grid = (size_t)AN_RIDGE_LAMBDAS * q;
    int rc = 0;
    /* the total, then each training part as the total minus its held-out fold */
    Moments *total = &rg->total;
    moments_sub(total, &folds[0], NULL, rg->d, q);
    for (int f = 1; f < k; f++) {
        moments_add(total, &folds[f], rg->d, q);
    }
    for (int f = 0; f < k && rc == 0; f++) {
        moments_sub(&rg->train, total, &folds[f], rg->d, q);
        memset(rg->sse_in, 0, grid * sizeof *rg->sse_in);
        memset(rg->sst_in, 0, (size_t)q * sizeof *rg->sst_in);
        /* inner folds: the other outer folds, each held out from the training part in turn */
        for (int j = 0; j < k && rc == 0; j++) {
            if (j != f) {
                moments_sub(&rg->inner, &rg->train, &folds[j], rg->d, q);
                rc = fit_score(rg, &rg->inner, &folds[j], lambdas, rg->sse_in, rg->sst_in);
            }
        }
        for (int v = 0; v < nv; v++) {
            chosen[v] = choose_lambda(rg->sse_in, q, t->var_offset[v], t->var_offset[v + 1]);
        }
        /* refit on the whole training part, score the held-out fold at the chosen penalties */
        memset(rg->sse_out, 0, grid * sizeof *rg->sse_out);
        rc = rc ? rc : fit_score(rg, &rg->train, &folds[f], lambdas, rg->sse_out, sst_tot);
        for (int v = 0; v < nv && rc == 0; v++) {
            for (int c = t->var_offset[v]; c < t->var_offset[v + 1]; c++) {
                sse_tot[c] += rg->sse_out[(size_t)chosen[v] * q + c];
            }
            if (lambda_fold) {
                lambda_fold[(size_t)f * nv + v] = lambdas[chosen[v]];
            }
        }
    }
    for (int c = 0; c < q && rc == 0; c++) {
        r2_col[c] = sst_tot[c] > 0 ? 1.0 - sse_tot[c] / sst_tot[c] : NAN;
    }
    for (int v = 0; v < nv && rc == 0; v++) {
        double e = 0, s = 0;
        for (int c = t->var_offset[v]; c < t->var_offset[v + 1]; c++) {
            e += sst_tot[c] > 0 ? sse_tot[c] : 0;
            s += sst_tot[c] > 0 ? sst_tot[c] : 0;
        }
        r2_var[v] = s > 0 ? 1.0 - e / s : NAN;
    }
    free(sse_tot);
    free(chosen);
    return rc;
}

/* ---- set-up ---- */

static void ridge_free(Ridge *rg) {
    free(rg->real);
    free(rg->pool);
    free(rg->scratch);
}

static int ridge_alloc(Ridge *rg, int d, int q, int k) {
    memset(rg, 0, sizeof *rg);
    rg->d = d;
    rg->q = q;
    rg->k = k;
    size_t ms = moments_size(d, q), dd = (size_t)d * d, dq = (size_t)d * q;
    size_t grid = (size_t)AN_RIDGE_LAMBDAS * q;
    rg->real = calloc((size_t)2 * k, sizeof *rg->real);
    rg->pool = calloc(ms * (size_t)(2 * k + 3), sizeof *rg->pool);
    rg->scratch =
        malloc((3 * (size_t)d + 5 * (size_t)q + 4 * dd + 6 * dq + 2 * grid) * sizeof(double));
    if (!rg->real || !rg->pool || !rg->scratch) {
        ridge_free(rg);
        return AG_ENOMEM;
    }
    rg->shuf = rg->real + k;
    for (int f = 0; f < 2 * k; f++) {
        moments_bind(&rg->real[f], rg->pool + (size_t)f * ms, d, q);
    }
    moments_bind(&rg->total, rg->pool + (size_t)(2 * k) * ms, d, q);
    moments_bind(&rg->train, rg->pool + (size_t)(2 * k + 1) * ms, d, q);
    moments_bind(&rg->inner, rg->pool + (size_t)(2 * k + 2) * ms, d, q);
    /* the scratch of one fit, carved from one block */
    double *p = rg->scratch;
    double **vec_d[] = {&rg->mu, &rg->inv, &rg->l};
    for (int i = 0; i < 3; i++) {
        *vec_d[i] = p;
        p += d;
    }
    double **vec_q[] = {&rg->my, &rg->ysd, &rg->yinv, &rg->tt, &rg->sst_in};
    for (int i = 0; i < 5; i++) {
        *vec_q[i] = p;
        p += q;
    }
    double **mat_dd[] = {&rg->r, &rg->a, &rg->tmp, &rg->at};
    for (int i = 0; i < 4; i++) {
        *mat_dd[i] = p;
        p += dd;
    }
    double **mat_dq[] = {&rg->b, &rg->p, &rg->bt, &rg->btv, &rg->m, &rg->am};
    for (int i = 0; i < 6; i++) {
        *mat_dq[i] = p;
        p += dq;
    }
    rg->sse_in = p;
    rg->sse_out = p + grid;
    return 0;
}

static int check_input(int64_t n, int d, const AnEpisodes *ep, const AnRidgeTargets *t,
                       const AnRidgeOptions *opt, char *err, size_t err_sz) {
    if (opt->folds < AN_RIDGE_FOLDS_MIN || opt->folds > AN_RIDGE_FOLDS_MAX) {
        return ag_errorf(err, err_sz, AG_ERANGE,
                         "decoding needs %d to %d folds (the inner cross-validation uses the "
                         "other folds), got %d",
                         AN_RIDGE_FOLDS_MIN, AN_RIDGE_FOLDS_MAX, opt->folds);
    }
    if (ep->n < opt->folds) {
        return ag_errorf(err, err_sz, AG_ERANGE,
                         "decoding with %d folds needs at least %d episodes, the recording has %d",
                         opt->folds, opt->folds, ep->n);
    }
    if (d < 1 || t->q < 1 || t->n_vars < 1 || t->var_offset[0] != 0 ||
        t->var_offset[t->n_vars] != t->q) {
        return ag_errorf(err, err_sz, AG_EINVAL, "decoding needs features and targets");
    }
    int64_t row = 0;
    for (int e = 0; e < ep->n; e++) {
        if (ep->start[e] != row || ep->len[e] < 1) {
            return ag_errorf(err, err_sz, AG_EINVAL, "episode %d is not contiguous", e);
        }
        row += ep->len[e];
    }
    if (row != n) {
        return ag_errorf(err, err_sz, AG_EINVAL, "the episodes hold %lld rows, the data %lld",
                         (long long)row, (long long)n);
    }
    return 0;
}

void an_ridge_result_free(AnRidgeResult *res) {
    free(res->r2_col);
    free(res->lambda);
    free(res->fold_of_episode);
    memset(res, 0, sizeof *res);
}

int an_ridge_decode(AnRidgeResult *res, const float *x, int64_t n, int d, const AnEpisodes *ep,
                    const AnRidgeTargets *t, const AnRidgeOptions *opt, char *err, size_t err_sz) {
    memset(res, 0, sizeof *res);
    int rc = check_input(n, d, ep, t, opt, err, err_sz);
    if (rc) {
        return rc;
    }
    int q = t->q, nv = t->n_vars, k = opt->folds;
    res->q = q;
    res->n_vars = nv;
    res->folds = k;
    for (int li = 0; li < AN_RIDGE_LAMBDAS; li++) {
        double e = LAMBDA_LOG_MIN + (LAMBDA_LOG_MAX - LAMBDA_LOG_MIN) * li / (AN_RIDGE_LAMBDAS - 1);
        res->lambdas[li] = pow(10.0, e);
    }
    res->r2_col = malloc((2 * (size_t)q + 2 * (size_t)nv) * sizeof(double));
    res->lambda = malloc(((size_t)nv + (size_t)k * nv) * sizeof(double));
    res->fold_of_episode = malloc((size_t)ep->n * 2 * sizeof(int));
    Ridge rg;
    if (!res->r2_col || !res->lambda || !res->fold_of_episode || ridge_alloc(&rg, d, q, k)) {
        an_ridge_result_free(res);
        return ag_errorf(err, err_sz, AG_ENOMEM, "decoding: out of memory (%d units)", d);
    }
    res->r2_col_shuffled = res->r2_col + q;
    res->r2 = res->r2_col_shuffled + q;
    res->r2_shuffled = res->r2 + nv;
    res->lambda_fold = res->lambda + nv;
    res->label_episode = res->fold_of_episode + ep->n;
    for (int i = 0; i < 2 * q + 2 * nv; i++) {
        res->r2_col[i] = NAN;
    }
    /* folds: episodes shuffled and dealt round-robin; the control: a random cyclic permutation
     * (Sattolo), so that no episode keeps its own labels */
    int *order = res->fold_of_episode, *perm = res->label_episode;
    AgRng rng;
    ag_rng_seed(&rng, opt->seed, RNG_FOLDS);
    for (int e = 0; e < ep->n; e++) {
        order[e] = e;
        perm[e] = e;
    }
    ag_rng_shuffle(&rng, order, ep->n);
    int *fold = malloc((size_t)ep->n * sizeof *fold);
    if (!fold) {
        ridge_free(&rg);
        an_ridge_result_free(res);
        return ag_errorf(err, err_sz, AG_ENOMEM, "decoding: out of memory");
    }
    for (int i = 0; i < ep->n; i++) {
        fold[order[i]] = i % k;
    }
    memcpy(res->fold_of_episode, fold, (size_t)ep->n * sizeof *fold);
    free(fold);
    if (opt->shuffled) {
        ag_rng_seed(&rng, opt->seed, RNG_PERMUTE);
        for (int i = ep->n - 1; i > 0; i--) {
            int j = (int)ag_rng_below(&rng, (uint64_t)i);
            int tmp = perm[i];
            perm[i] = perm[j];
            perm[j] = tmp;
        }
    }
    rc = accumulate(&rg, x, n, ep, t, res->fold_of_episode, perm);
    rc = rc ? rc
            : cross_validate(&rg, rg.real, t, res->lambdas, res->r2_col, res->r2, res->lambda_fold);
    if (rc == 0 && opt->shuffled) {
        rc = cross_validate(&rg, rg.shuf, t, res->lambdas, res->r2_col_shuffled, res->r2_shuffled,
                            NULL);
    }
    for (int v = 0; v < nv && rc == 0; v++) {
        double s = 0;
        for (int f = 0; f < k; f++) {
            s += log(res->lambda_fold[(size_t)f * nv + v]);
        }
        res->lambda[v] = isnan(res->r2[v]) ? NAN : exp(s / k);
    }
    ridge_free(&rg);
    if (rc) {
        an_ridge_result_free(res);
        return ag_errorf(err, err_sz, rc,
                         rc == AG_ENOMEM ? "decoding: out of memory"
                                         : "decoding: the eigendecomposition did not converge");
    }
    return 0;
}
