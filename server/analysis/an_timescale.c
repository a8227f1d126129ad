/* Autocorrelation time constants per unit and per layer (an_timescale.h). */
#include "an_timescale.h"

#include "ag_error.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

void an_timescale_result_free(AnTimescaleResult *res) {
    free(res->tau);
    free(res->capped);
    memset(res, 0, sizeof *res);
}

/* means, variances (divided by n) and which units are constant (min == max) */
static void unit_moments(const float *x, int64_t n, int d, double *mean, double *var,
                         unsigned char *constant) {
    an_col_mean(mean, x, n, d);
    memset(var, 0, (size_t)d * sizeof *var);
    for (int j = 0; j < d; j++) {
        constant[j] = 1;
    }
    for (int64_t i = 0; i < n; i++) {
        const float *row = x + i * d;
        for (int j = 0; j < d; j++) {
            double c = (double)row[j] - mean[j];
            var[j] += c * c;
            constant[j] &= row[j] == x[j];
        }
    }
    for (int j = 0; j < d; j++) {
        var[j] /= (double)n;
    }
}

/* adds sum over pairs (t, t + lag) within every episode of (x_t - m)(x_{t+lag} - m) to acc [d];
 * returns the number of pairs */
static int64_t lag_products(double *acc, const float *x, int d, const AnEpisodes *ep,
                            const double *mean, int lag) {
    int64_t pairs = 0;
    for (int e = 0; e < ep->n; e++) {
        for (int64_t t = 0; t + lag < ep->len[e]; t++) {
            const float *a = x + (ep->start[e] + t) * d, *b = a + (int64_t)lag * d;
            for (int j = 0; j < d; j++) {
                acc[j] += ((double)a[j] - mean[j]) * ((double)b[j] - mean[j]);
            }
            pairs++;
        }
    }
    return pairs;
}

int an_timescale_fit(AnTimescaleResult *res, const float *x, int64_t n, int d, const AnEpisodes *ep,
                     int max_lag, char *err, size_t err_sz) {
    memset(res, 0, sizeof *res);
    int64_t longest = 0, rows = 0;
    for (int e = 0; e < ep->n; e++) {
        longest = ep->len[e] > longest ? ep->len[e] : longest;
        rows += ep->len[e];
    }
    if (d < 1 || n < 2 || rows != n || max_lag < 1 || longest < 2) {
        return ag_errorf(err, err_sz, AG_EINVAL,
                         "timescales need episodes of at least 2 steps covering the rows and a "
                         "positive longest lag");
    }
    int lags = max_lag < longest - 1 ? max_lag : (int)(longest - 1);
    res->tau = malloc((size_t)d * sizeof *res->tau);
    res->capped = calloc((size_t)d, 2);
    double *mean = malloc((size_t)d * 4 * sizeof *mean);
    if (!res->tau || !res->capped || !mean) {
        free(mean);
        an_timescale_result_free(res);
        return ag_errorf(err, err_sz, AG_ENOMEM, "timescales: out of memory");
    }
    double *var = mean + d, *acc = var + d, *prev = acc + d;
    unsigned char *constant = res->capped + d;
    res->d = d;
    res->max_lag = lags;
    unit_moments(x, n, d, mean, var, constant);
    int open = 0;
    for (int j = 0; j < d; j++) {
        res->tau[j] = constant[j] || !(var[j] > 0) ? NAN : -1.0;
        res->n_zero_variance += isnan(res->tau[j]);
        open += !isnan(res->tau[j]);
        prev[j] = 1.0;
    }
    /* lag by lag until every unit has fallen below 1/e */
    const double level = exp(-1.0);
    for (int lag = 1; lag <= lags && open > 0; lag++) {
        memset(acc, 0, (size_t)d * sizeof *acc);
        int64_t pairs = lag_products(acc, x, d, ep, mean, lag);
        for (int j = 0; j < d; j++) {
            if (res->tau[j] != -1.0) {
                continue;
            }
            double r = acc[j] / (double)pairs / var[j];
            if (r < level) {
                res->tau[j] = (lag - 1) + (prev[j] - level) / (prev[j] - r);
                open--;
            }
            prev[j] = r;
        }
    }
    int valid = 0;
    for (int j = 0; j < d; j++) {
        if (res->tau[j] == -1.0) {
            res->tau[j] = lags;
            res->capped[j] = 1;
            res->n_capped++;
        }
        if (!isnan(res->tau[j])) {
            acc[valid++] = res->tau[j];
        }
    }
    res->median = an_median(acc, valid);
    free(mean);
    return 0;
}
