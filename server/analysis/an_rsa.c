/* Representational similarity (an_rsa.h): quantile bins of a task variable, one RDM per layer
 * over the bins' mean activity patterns, Spearman comparison of RDMs, and users' RDMs from CSV
 * or HDF5. */
#include "an_rsa.h"

#include "an_h5.h"
#include "an_stats.h"

#include "ag_error.h"
#include "ag_fs.h"

#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define SYMMETRY_TOL 1e-6 /* relative to the largest entry */

/* ---- conditions ---- */

void an_rsa_bins_free(AnRsaBins *b) {
    free(b->bin);
    free(b->count);
    memset(b, 0, sizeof *b);
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* number of edges [0, m) at or below v */
static int edges_at_or_below(const double *edges, int m, double v) {
    int lo = 0, hi = m;
    while (lo < hi) {
        int mid = (lo + hi) / 2;
        if (edges[mid] <= v) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return lo;
}

int an_rsa_bins(AnRsaBins *b, const double *v, int64_t n, int k_requested, char *err,
                size_t err_sz) {
    memset(b, 0, sizeof *b);
    if (k_requested < 2 || k_requested > AN_RSA_BINS_MAX) {
        return ag_errorf(err, err_sz, AG_ERANGE, "RSA needs 2 to %d bins, got %d", AN_RSA_BINS_MAX,
                         k_requested);
    }
    if (n < 2) {
        return ag_errorf(err, err_sz, AG_ERANGE, "RSA needs at least 2 steps");
    }
    for (int64_t i = 0; i < n; i++) {
        if (!isfinite(v[i])) {
            return ag_errorf(err, err_sz, AG_ERANGE, "the RSA variable is not finite at step %lld",
                             (long long)i);
        }
    }
    double *sorted = malloc((size_t)(n > 0 ? n : 1) * sizeof *sorted);
    b->bin = malloc((size_t)(n > 0 ? n : 1) * sizeof *b->bin);
    /* counts, lo and hi of k_requested bins in one block (the first k used after compaction) */
    b->count = calloc((size_t)k_requested, sizeof(int64_t) + 2 * sizeof(double));
    if (!sorted || !b->bin || !b->count) {
        free(sorted);
        an_rsa_bins_free(b);
        return ag_errorf(err, err_sz, AG_ENOMEM, "RSA: out of memory");
    }
    b->lo = (double *)(b->count + k_requested);
    b->hi = b->lo + k_requested;
    memcpy(sorted, v, (size_t)n * sizeof *sorted);
    qsort(sorted, (size_t)n, sizeof *sorted, cmp_double);
    /* inner quantiles as edges, ties merged */
    double edges[AN_RSA_BINS_MAX];
    int m = 0;
    for (int i = 1; i < k_requested; i++) {
        double e = sorted[(int64_t)((double)n * i / k_requested)];
        if (m == 0 || e > edges[m - 1]) {
            edges[m++] = e;
        }
    }
    free(sorted);
    int raw_bins = m + 1;
    for (int64_t i = 0; i < n; i++) {
        int k = edges_at_or_below(edges, m, v[i]);
        b->bin[i] = k;
        if (b->count[k] == 0 || v[i] < b->lo[k]) {
            b->lo[k] = v[i];
        }
        if (b->count[k] == 0 || v[i] > b->hi[k]) {
            b->hi[k] = v[i];
        }
        b->count[k]++;
    }
    /* drop empty bins and renumber */
    int map[AN_RSA_BINS_MAX];
    int k = 0;
    for (int i = 0; i < raw_bins; i++) {
        map[i] = b->count[i] > 0 ? k : -1;
        if (b->count[i] > 0) {
            b->count[k] = b->count[i];
            b->lo[k] = b->lo[i];
            b->hi[k] = b->hi[i];
            k++;
        }
    }
    for (int64_t i = 0; i < n; i++) {
        b->bin[i] = map[b->bin[i]];
    }
    b->k = k;
    if (k < 2) {
        an_rsa_bins_free(b);
        return ag_errorf(err, err_sz, AG_ERANGE,
                         "the RSA variable takes a single value over the analysed steps: no "
                         "conditions to compare");
    }
    return 0;
}

/* ---- RDMs ---- */

int an_rsa_rdm(double *rdm, const float *x, int64_t n, int d, const AnRsaBins *b) {
    int k = b->k;
    double *mean = calloc((size_t)k * (size_t)d, sizeof *mean);
    if (!mean) {
        return AG_ENOMEM;
    }
    for (int64_t i = 0; i < n; i++) {
        double *m = mean + (size_t)b->bin[i] * d;
        for (int j = 0; j < d; j++) {
            m[j] += x[i * d + j];
        }
    }
    for (int a = 0; a < k; a++) {
        for (int j = 0; j < d; j++) {
            mean[(size_t)a * d + j] /= (double)b->count[a];
        }
    }
    for (int a = 0; a < k; a++) {
        rdm[(size_t)a * k + a] = 0;
        for (int c = a + 1; c < k; c++) {
            double r = an_pearson(mean + (size_t)a * d, mean + (size_t)c * d, d);
            rdm[(size_t)a * k + c] = rdm[(size_t)c * k + a] = 1.0 - r;
        }
    }
    free(mean);
    return 0;
}

double an_rsa_compare(const double *a, const double *b, int k) {
    int m = k * (k - 1) / 2;
    double *ua = malloc((size_t)(m > 0 ? m : 1) * 2 * sizeof *ua);
    if (!ua) {
        return NAN;
    }
    double *ub = ua + m;
    int p = 0;
    for (int i = 0; i < k; i++) {
        for (int j = i + 1; j < k; j++, p++) {
            ua[p] = a[(size_t)i * k + j];
            ub[p] = b[(size_t)i * k + j];
        }
    }
    double r = an_spearman(ua, ub, m);
    free(ua);
    return r;
}

/* ---- a user's RDM ---- */

/* parses CSV text into *out (malloc'd), *rows x *cols; every row must have *cols numbers */
static int parse_csv(double **out, int *rows, int *cols, char *text, const char *path, char *err,
                     size_t err_sz) {
    int cap = 64, n = 0, line_no = 0;
    double *v = malloc((size_t)cap * sizeof *v);
    *rows = *cols = 0;
    int rc = v ? 0 : ag_errorf(err, err_sz, AG_ENOMEM, "%s: out of memory", path);
    for (char *save = NULL, *line = strtok_r(text, "\n", &save); line && rc == 0;
         line = strtok_r(NULL, "\n", &save)) {
        line_no++;
        char *p = line;
        while (isspace((unsigned char)*p)) {
            p++;
        }
        if (*p == '\0' || *p == '#') {
            continue;
        }
        int in_row = 0;
        while (*p && rc == 0) {
            char *end;
            double x = strtod(p, &end);
            if (end == p) {
                rc = ag_errorf(err, err_sz, AG_EFORMAT, "%s: line %d: '%.20s' is not a number",
                               path, line_no, p);
                break;
            }
            if (n == cap) {
                double *grown = realloc(v, (size_t)cap * 2 * sizeof *v);
                if (!grown) {
                    rc = ag_errorf(err, err_sz, AG_ENOMEM, "%s: out of memory", path);
                    break;
                }
                v = grown;
                cap *= 2;
            }
            v[n++] = x;
            in_row++;
            p = end;
            while (isspace((unsigned char)*p) || *p == ',' || *p == ';') {
                p++;
            }
        }
        if (rc == 0 && *rows > 0 && in_row != *cols) {
            rc = ag_errorf(err, err_sz, AG_EFORMAT,
                           "%s: line %d has %d numbers, the lines before it %d", path, line_no,
                           in_row, *cols);
        }
        *cols = in_row;
        (*rows)++;
    }
    if (rc == 0 && *rows == 0) {
        rc = ag_errorf(err, err_sz, AG_EFORMAT, "%s: no numbers", path);
    }
    if (rc) {
        free(v);
        v = NULL;
    }
    *out = v;
    return rc;
}

/* square, of the expected size, finite and symmetric */
static int check_rdm(const double *m, int64_t rows, int64_t cols, int k, const char *path,
                     char *err, size_t err_sz) {
    if (rows != cols) {
        return ag_errorf(err, err_sz, AG_EFORMAT, "%s: %lld x %lld, but an RDM is square", path,
                         (long long)rows, (long long)cols);
    }
    if (rows != k) {
        return ag_errorf(err, err_sz, AG_EMISMATCH,
                         "%s: %lld x %lld, but the layers' RDMs are %d x %d (one row per "
                         "condition)",
                         path, (long long)rows, (long long)cols, k, k);
    }
    double big = 0;
    for (int64_t i = 0; i < rows * cols; i++) {
        if (!isfinite(m[i])) {
            return ag_errorf(err, err_sz, AG_ERANGE, "%s: entry (%lld, %lld) is not finite", path,
                             (long long)(i / cols + 1), (long long)(i % cols + 1));
        }
        big = fabs(m[i]) > big ? fabs(m[i]) : big;
    }
    for (int i = 0; i < k; i++) {
        for (int j = i + 1; j < k; j++) {
            double a = m[(size_t)i * k + j], b = m[(size_t)j * k + i];
            if (fabs(a - b) > SYMMETRY_TOL * (big > 0 ? big : 1)) {
                return ag_errorf(err, err_sz, AG_ERANGE,
                                 "%s: not symmetric: entry (%d, %d) is %g but (%d, %d) is %g", path,
                                 i + 1, j + 1, a, j + 1, i + 1, b);
            }
        }
    }
    return 0;
}

int an_rsa_load_rdm(double **rdm, const char *path, int k, char *err, size_t err_sz) {
    *rdm = NULL;
    double *m = NULL;
    int64_t rows = 0, cols = 0;
    int rc;
    if (an_h5_is_hdf5(path)) {
        rc = an_h5_read_matrix(&m, &rows, &cols, path, "/rdm", err, err_sz);
    } else {
        char *text = NULL;
        size_t len = 0;
        int r = 0, c = 0;
        rc = ag_fs_read_file(path, AN_RSA_CSV_MAX, &text, &len, err, err_sz);
        rc = rc ? rc : parse_csv(&m, &r, &c, text, path, err, err_sz);
        rows = r;
        cols = c;
        free(text);
    }
    rc = rc ? rc : check_rdm(m, rows, cols, k, path, err, err_sz);
    if (rc) {
        free(m);
        return rc;
    }
    *rdm = m;
    return 0;
}
