/* Population structure of one layer: principal components of its activity over all analysed
 * steps, the explained-variance spectrum, the participation ratio and projections onto the
 * leading components (an episode's trajectory).
 *
 * DESIGN: the covariance (divided by N, in float64) is eigendecomposed whole (dsyevd), so the
 * spectrum is exact and complete; a layer of D units costs N D^2 for the covariance and about
 * 9 D^3 for the eigendecomposition. The participation ratio (sum l)^2 / sum l^2 counts the
 * dimensions the variance spreads over: 1 for a single direction, D for isotropic activity.
 * Each component's sign is fixed so that its largest entry is positive, which makes the
 * trajectories reproducible. */
#ifndef AN_PCA_H
#define AN_PCA_H

#include <stddef.h>
#include <stdint.h>

#define AN_PCA_KEEP 3 /* components kept for projections */

typedef struct AnPcaResult {
    int d;
    double *eigenvalues;        /* [d] variances along the components, descending */
    double *fraction;           /* [d] share of the total variance */
    double total_variance;      /* sum of the eigenvalues (the trace of the covariance) */
    double participation_ratio; /* (sum l)^2 / sum l^2; 0 when the layer has no variance */
    int keep;                   /* min(AN_PCA_KEEP, d) */
    double *components;         /* [keep, d] unit vectors, rows */
    double *mean;               /* [d] */
} AnPcaResult;

/* PCA of x [n, d]; res is zeroed first (free with an_pca_result_free, also after a failure) */
int an_pca_fit(AnPcaResult *res, const float *x, int64_t n, int d, char *err, size_t err_sz);
/* out [n, res->keep] = (x [n, d] - mean) projected onto the kept components */
void an_pca_project(double *out, const AnPcaResult *res, const float *x, int64_t n);
void an_pca_result_free(AnPcaResult *res);

#endif
