/* Decoding: cross-validated ridge regression of task variables from one layer's activity, with
 * the penalty chosen by nested cross-validation, and a shuffled-label control.
 *
 * DESIGN
 * - Folds are made of whole episodes (shuffled with the seed, dealt round-robin), never of time
 *   steps: neighbouring steps are alike, and a split inside an episode would leak.
 * - Everything is computed from per-fold sufficient statistics in float64: row count, sums,
 *   the Gram matrix X^T X, X^T Y (one gemm for all targets at once), and the targets' sums and
 *   squares. The training part of a fold is the total minus the held-out fold, so one pass over
 *   the data serves every fold, penalty and target. Rows are shifted by the overall means
 *   first, which keeps the subtraction of the means exact enough.
 * - Per training part: features and targets standardized on that part only (constant features
 *   drop out), an intercept (the training means), and one symmetric eigendecomposition
 *   R = V L V^T of the standardized Gram matrix. For every penalty and target the weights are
 *   W = V (L + lambda)^-1 V^T Z^T T, and the held-out squared error follows from the held-out
 *   fold's own statistics (t^T t - 2 w^T Z'^T t + w^T Z'^T Z' w) without predicting a row.
 * - Penalties: a log grid relative to the mean eigenvalue of R (1e-4 .. 1e4, half decades).
 *   Nested cross-validation: for outer fold f, the other K - 1 folds serve as inner folds (each
 *   held out in turn from the training part); the penalty with the least inner squared error,
 *   summed over a variable's columns, is chosen per variable, then the training part is refit
 *   and the held-out fold scored. Hence K >= 3.
 * - R^2 is out of fold: 1 - sum of squared errors / sum of squares about the training mean,
 *   both summed over the outer folds. A variable's R^2 is the variance-weighted mean over its
 *   columns (their errors and sums of squares added). Constant columns have no R^2 (NaN).
 * - Shuffled-label control: the episodes' labels are permuted (a random cyclic permutation, so no
 *   episode keeps its own), each episode's activity paired with another episode's labels step
 *   by step and cut to the shorter of the two; the same pipeline then runs on these pairs. */
#ifndef AN_RIDGE_H
#define AN_RIDGE_H

#include "an_stats.h"

#include <stddef.h>
#include <stdint.h>

#define AN_RIDGE_FOLDS_MIN 3
#define AN_RIDGE_FOLDS_MAX 20
#define AN_RIDGE_LAMBDAS   17 /* 1e-4 .. 1e4 in half decades */

typedef struct AnRidgeOptions {
    int folds;     /* K, AN_RIDGE_FOLDS_MIN..AN_RIDGE_FOLDS_MAX */
    uint64_t seed; /* fold assignment and the control's permutation */
    int shuffled;  /* also run the shuffled-label control */
} AnRidgeOptions;

/* targets: y [n, q] holds n_vars variables side by side; variable v is columns
 * [var_offset[v], var_offset[v + 1]) */
typedef struct AnRidgeTargets {
    const double *y;
    int q, n_vars;
    const int *var_offset; /* n_vars + 1 */
} AnRidgeTargets;

typedef struct AnRidgeResult {
    int q, n_vars, folds;
    double lambdas[AN_RIDGE_LAMBDAS]; /* the grid, relative to the mean eigenvalue */
    double *r2_col, *r2_col_shuffled; /* [q] */
    double *r2, *r2_shuffled;         /* [n_vars] */
    /* chosen penalty (relative): geometric mean over the outer folds, and per fold [folds,
     * n_vars]; NaN for a variable without variance */
    double *lambda, *lambda_fold;
    int *fold_of_episode; /* [episodes] */
    int *label_episode;   /* [episodes]: whose labels the control pairs with each episode */
} AnRidgeResult;

/* Decodes every target from x [n, d] (the rows of ep, in order). Refuses fewer episodes than
 * folds, a folds value out of range, and rows that do not match the episodes. res is filled
 * (free with an_ridge_result_free, also after a failure). */
int an_ridge_decode(AnRidgeResult *res, const float *x, int64_t n, int d, const AnEpisodes *ep,
                    const AnRidgeTargets *t, const AnRidgeOptions *opt, char *err, size_t err_sz);
void an_ridge_result_free(AnRidgeResult *res);

#endif
