/* Numerical helpers shared by the analyses (an_stats.h): moments, Gram matrices, the symmetric
 * eigendecomposition, ranks and correlations. */
#include "an_stats.h"

#include "ag_error.h"

#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* rows centred and multiplied at a time: big enough for dsyrk to run at full speed */
#define BLOCK_ROWS 512

/* LAPACK's divide-and-conquer symmetric eigensolver (part of OpenBLAS); declared here as no
 * LAPACKE header is needed */
void dsyevd_(const char *jobz, const char *uplo, const int *n, double *a, const int *lda, double *w,
             double *work, const int *lwork, int *iwork, const int *liwork, int *info);

void an_col_mean(double *mean, const float *x, int64_t n, int d) {
    memset(mean, 0, (size_t)d * sizeof *mean);
    for (int64_t i = 0; i < n; i++) {
        const float *row = x + i * d;
        for (int j = 0; j < d; j++) {
            mean[j] += row[j];
        }
    }
    for (int j = 0; j < d && n > 0; j++) {
        mean[j] /= (double)n;
    }
}

void an_center_rows(double *out, const float *x, int64_t rows, int d, const double *mean) {
    for (int64_t i = 0; i < rows; i++) {
        const float *src = x + i * d;
        double *dst = out + i * d;
        for (int j = 0; j < d; j++) {
            dst[j] = (double)src[j] - mean[j];
        }
    }
}

void an_gram_add(double *g, const double *x, int64_t rows, int d) {
    if (rows > 0) {
        cblas_dsyrk(CblasRowMajor, CblasUpper, CblasTrans, d, (int)rows, 1.0, x, d, 1.0, g, d);
    }
}

void an_symmetrize(double *a, int d) {
    for (int i = 0; i < d; i++) {
        for (int j = i + 1; j < d; j++) {
            a[(int64_t)j * d + i] = a[(int64_t)i * d + j];
        }
    }
}

int an_covariance(double *cov, double *mean, const float *x, int64_t n, int d) {
    double *block = malloc((size_t)BLOCK_ROWS * (size_t)d * sizeof *block);
    if (!block) {
        return AG_ENOMEM;
    }
    an_col_mean(mean, x, n, d);
    memset(cov, 0, (size_t)d * (size_t)d * sizeof *cov);
    for (int64_t i = 0; i < n; i += BLOCK_ROWS) {
        int64_t rows = n - i < BLOCK_ROWS ? n - i : BLOCK_ROWS;
        an_center_rows(block, x + i * d, rows, d, mean);
        an_gram_add(cov, block, rows, d);
    }
    an_symmetrize(cov, d);
    for (int64_t k = 0; k < (int64_t)d * d && n > 0; k++) {
        cov[k] /= (double)n;
    }
    free(block);
    return 0;
}

int an_eigh(double *a, double *w, int d) {
    if (d <= 0) {
        return 0;
    }
    int info = 0, lwork = -1, liwork = -1, iquery = 0;
    double query = 0;
    /* column-major "lower" of a symmetric matrix is row-major "upper": either reads the same */
    dsyevd_("V", "L", &d, a, &d, w, &query, &lwork, &iquery, &liwork, &info);
    if (info != 0) {
        return AG_ERANGE;
    }
    lwork = (int)query;
    liwork = iquery;
    double *work = malloc((size_t)lwork * sizeof *work);
    int *iwork = malloc((size_t)liwork * sizeof *iwork);
    int rc = 0;
    if (!work || !iwork) {
        rc = AG_ENOMEM;
    } else {
        /* eigenvectors come back as columns (column-major): row-major rows */
        dsyevd_("V", "L", &d, a, &d, w, work, &lwork, iwork, &liwork, &info);
        rc = info == 0 ? 0 : AG_ERANGE;
    }
    free(work);
    free(iwork);
    return rc;
}

typedef struct Ranked {
    double v;
    int i;
} Ranked;

static int cmp_ranked(const void *a, const void *b) {
    const Ranked *x = a, *y = b;
    if (x->v < y->v) {
        return -1;
    }
    if (x->v > y->v) {
        return 1;
    }
    return x->i - y->i;
}

int an_ranks(double *rank, const double *v, int n) {
    Ranked *r = malloc((size_t)(n > 0 ? n : 1) * sizeof *r);
    if (!r) {
        return AG_ENOMEM;
    }
    for (int i = 0; i < n; i++) {
        r[i].v = v[i];
        r[i].i = i;
    }
    qsort(r, (size_t)n, sizeof *r, cmp_ranked);
    for (int i = 0; i < n;) {
        int j = i + 1;
        while (j < n && r[j].v == r[i].v) {
            j++;
        }
        /* positions i..j-1 share the average of ranks i+1..j */
        double avg = 0.5 * (double)(i + 1 + j);
        for (int k = i; k < j; k++) {
            rank[r[k].i] = avg;
        }
        i = j;
    }
    free(r);
    return 0;
}

double an_pearson(const double *a, const double *b, int n) {
    double ma = 0, mb = 0;
    for (int i = 0; i < n; i++) {
        ma += a[i];
        mb += b[i];
    }
    ma /= n > 0 ? n : 1;
    mb /= n > 0 ? n : 1;
    double sab = 0, saa = 0, sbb = 0;
    for (int i = 0; i < n; i++) {
        sab += (a[i] - ma) * (b[i] - mb);
        saa += (a[i] - ma) * (a[i] - ma);
        sbb += (b[i] - mb) * (b[i] - mb);
    }
    if (saa <= 0 || sbb <= 0) {
        return 0;
    }
    double r = sab / sqrt(saa * sbb);
    return r > 1 ? 1 : r < -1 ? -1 : r;
}

double an_spearman(const double *a, const double *b, int n) {
    double *ra = malloc((size_t)(n > 0 ? n : 1) * 2 * sizeof *ra);
    if (!ra || an_ranks(ra, a, n) || an_ranks(ra + n, b, n)) {
        free(ra);
        return NAN;
    }
    double r = an_pearson(ra, ra + n, n);
    free(ra);
    return r;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

double an_median(double *v, int n) {
    if (n <= 0) {
        return NAN;
    }
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}
