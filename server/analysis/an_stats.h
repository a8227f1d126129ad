/* Numerical helpers the analyses share: the episode table of a recording, column moments, Gram
 * matrices accumulated in float64 with BLAS, the symmetric eigendecomposition (LAPACK dsyevd
 * from OpenBLAS), ranks with ties, Pearson and Spearman correlation.
 *
 * Matrices are row-major: x [n, d] holds row i at x + i * d. */
#ifndef AN_STATS_H
#define AN_STATS_H

#include <stdint.h>

/* the episodes of the analysed rows: episode e is rows [start[e], start[e] + len[e]), in order */
typedef struct AnEpisodes {
    int n;
    const int64_t *start, *len;
} AnEpisodes;

/* column means of x [n, d] in float64 */
void an_col_mean(double *mean, const float *x, int64_t n, int d);
/* out [rows, d] = x [rows, d] - mean, in float64 */
void an_center_rows(double *out, const float *x, int64_t rows, int d, const double *mean);
/* g [d, d] += x^T x for x [rows, d]; only the upper triangle (row <= column) is updated */
void an_gram_add(double *g, const double *x, int64_t rows, int d);
/* copies the upper triangle of a [d, d] into the lower one */
void an_symmetrize(double *a, int d);
/* Centred covariance of x [n, d] (divided by n), in float64, and the column means: blocks of
 * rows centred and accumulated with dsyrk. Returns 0, or AG_ENOMEM. */
int an_covariance(double *cov, double *mean, const float *x, int64_t n, int d);

/* Eigendecomposition of the symmetric a [d, d]: eigenvalues ascending into w [d], and row k of a
 * then holds the unit eigenvector of w[k]. Returns 0, AG_ENOMEM, or AG_ERANGE when LAPACK does
 * not converge. */
int an_eigh(double *a, double *w, int d);

/* ranks 1..n of v with ties given their average rank */
int an_ranks(double *rank, const double *v, int n);
/* Pearson correlation of a and b; 0 when either is constant */
double an_pearson(const double *a, const double *b, int n);
/* Spearman correlation (Pearson of the average ranks); NaN when out of memory */
double an_spearman(const double *a, const double *b, int n);
/* the median of v (reordered in place); NaN for n == 0 */
double an_median(double *v, int n);

#endif
