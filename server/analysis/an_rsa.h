/* Representational similarity: conditions made by binning one task variable into quantile bins,
 * a representational dissimilarity matrix (RDM) per layer over the conditions' mean activity
 * patterns, RDMs compared by Spearman correlation, and a user's RDM read from CSV or HDF5.
 *
 * DESIGN
 * - Bins: the K - 1 inner quantiles of the variable over all analysed steps are the edges; a
 *   step goes to the bin of the number of edges at or below its value. Ties make equal edges,
 *   and bins left empty are dropped, so a variable with few distinct values (a flag, a count)
 *   gives fewer, honest bins: K is the number of non-empty bins.
 * - RDM[a][b] = 1 - Pearson correlation (across units) of the mean activity patterns of
 *   conditions a and b; symmetric with a zero diagonal. A constant pattern correlates 0.
 * - Two RDMs are compared by the Spearman correlation of their upper triangles (K(K-1)/2
 *   entries, ties ranked by their average), which asks only that the orders of dissimilarity
 *   agree. */
#ifndef AN_RSA_H
#define AN_RSA_H

#include <stddef.h>
#include <stdint.h>

#define AN_RSA_BINS_DEFAULT 8
#define AN_RSA_BINS_MAX     256
#define AN_RSA_CSV_MAX      (16 << 20) /* bytes of a user's CSV RDM */

typedef struct AnRsaBins {
    int k;           /* non-empty bins */
    int *bin;        /* [n] the bin of every step */
    int64_t *count;  /* [k] steps per bin */
    double *lo, *hi; /* [k] the smallest and largest value in each bin */
} AnRsaBins;

/* quantile bins of v [n] (k_requested of them before ties and empty bins are dropped);
 * fails when fewer than 2 bins remain */
int an_rsa_bins(AnRsaBins *b, const double *v, int64_t n, int k_requested, char *err,
                size_t err_sz);
void an_rsa_bins_free(AnRsaBins *b);

/* rdm [k, k] of x [n, d] over the bins' conditions; returns 0 or AG_ENOMEM */
int an_rsa_rdm(double *rdm, const float *x, int64_t n, int d, const AnRsaBins *b);
/* Spearman correlation of the upper triangles of two [k, k] RDMs; NaN when out of memory */
double an_rsa_compare(const double *a, const double *b, int k);

/* A user's RDM: HDF5 (dataset /rdm) when the file is HDF5, else CSV (k rows of k numbers,
 * separated by commas, semicolons or blanks; lines starting with '#' and empty lines skipped).
 * Refuses a matrix that is not square, not k x k, not finite or not symmetric, naming the file
 * and what is wrong. *rdm is malloc'd [k, k]. */
int an_rsa_load_rdm(double **rdm, const char *path, int k, char *err, size_t err_sz);

#endif
