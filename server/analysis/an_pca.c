/* PCA of one layer (an_pca.h): covariance in float64, full eigendecomposition, spectrum,
 * participation ratio and projections. */
#include "an_pca.h"

#include "an_stats.h"

#include "ag_error.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

void an_pca_result_free(AnPcaResult *res) {
    free(res->eigenvalues);
    free(res->components);
    memset(res, 0, sizeof *res);
}

int an_pca_fit(AnPcaResult *res, const float *x, int64_t n, int d, char *err, size_t err_sz) {
    memset(res, 0, sizeof *res);
    if (n < 2 || d < 1) {
        return ag_errorf(err, err_sz, AG_EINVAL, "PCA needs at least 2 steps and 1 unit");
    }
    int keep = d < AN_PCA_KEEP ? d : AN_PCA_KEEP;
    double *cov = malloc((size_t)d * (size_t)d * sizeof *cov);
    /* eigenvalues, fractions, mean and the ascending eigenvalues in one block */
    res->eigenvalues = malloc((size_t)d * 4 * sizeof(double));
    res->components = malloc((size_t)keep * (size_t)d * sizeof(double));
    int rc = cov && res->eigenvalues && res->components ? 0 : AG_ENOMEM;
    rc = rc ? rc : an_covariance(cov, res->eigenvalues + 2 * (size_t)d, x, n, d);
    if (rc) {
        free(cov);
        an_pca_result_free(res);
        return ag_errorf(err, err_sz, rc, "PCA: out of memory (%d units)", d);
    }
    res->d = d;
    res->keep = keep;
    res->fraction = res->eigenvalues + d;
    res->mean = res->fraction + d;
    double *w = res->mean + d;
    rc = an_eigh(cov, w, d);
    if (rc) {
        free(cov);
        an_pca_result_free(res);
        return ag_errorf(err, err_sz, rc, "PCA: the eigendecomposition failed");
    }
    /* descending order; rounding can leave tiny negative eigenvalues of a singular covariance */
    double sum = 0, sum2 = 0;
    for (int k = 0; k < d; k++) {
        double l = w[d - 1 - k];
        res->eigenvalues[k] = l > 0 ? l : 0;
        sum += res->eigenvalues[k];
        sum2 += res->eigenvalues[k] * res->eigenvalues[k];
    }
    res->total_variance = sum;
    res->participation_ratio = sum2 > 0 ? sum * sum / sum2 : 0;
    for (int k = 0; k < d; k++) {
        res->fraction[k] = sum > 0 ? res->eigenvalues[k] / sum : 0;
    }
    for (int k = 0; k < keep; k++) {
        const double *v = cov + (size_t)(d - 1 - k) * d;
        int big = 0;
        for (int j = 1; j < d; j++) {
            big = fabs(v[j]) > fabs(v[big]) ? j : big;
        }
        double sign = v[big] < 0 ? -1.0 : 1.0;
        for (int j = 0; j < d; j++) {
            res->components[(size_t)k * d + j] = sign * v[j];
        }
    }
    free(cov);
    return 0;
}

void an_pca_project(double *out, const AnPcaResult *res, const float *x, int64_t n) {
    int d = res->d, keep = res->keep;
    for (int64_t i = 0; i < n; i++) {
        for (int k = 0; k < keep; k++) {
            const double *c = res->components + (size_t)k * d;
            double s = 0;
            for (int j = 0; j < d; j++) {
                s += ((double)x[i * d + j] - res->mean[j]) * c[j];
            }
            out[i * keep + k] = s;
        }
    }
}
