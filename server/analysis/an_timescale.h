/* Timescales: how long each unit's activity stays correlated with itself, from its
 * autocorrelation within episodes pooled over episodes.
 *
 * DESIGN
 * - For unit j with overall mean m and variance c0 (over all analysed steps), the
 *   autocorrelation at lag k is r(k) = [sum over episodes and t of (x_t - m)(x_{t+k} - m) /
 *   number of such pairs] / c0, pairs never crossing an episode boundary.
 * - The time constant tau is the lag where r first falls below 1/e, interpolated linearly
 *   between the integer lags around the crossing (r(0) = 1). For an AR(1) process with
 *   coefficient phi, r(k) = phi^k and tau = -1 / ln(phi).
 * - Lags go up to max_lag, or to the longest episode's length - 1 if that is shorter; a unit
 *   that never falls below 1/e gets tau = that longest lag and is counted as capped (its tau is
 *   a lower bound). Units with zero variance (constant) have no tau and are counted.
 * - The layer's timescale is the median tau over the units with variance, capped ones included.
 * - All units are done together, lag by lag, so the inner loop runs along a row; the loop ends
 *   early once every unit has crossed. */
#ifndef AN_TIMESCALE_H
#define AN_TIMESCALE_H

#include "an_stats.h"

#include <stddef.h>
#include <stdint.h>

#define AN_TIMESCALE_MAX_LAG 100 /* default longest lag, in steps */

typedef struct AnTimescaleResult {
    int d;
    int max_lag;           /* the longest lag considered */
    double *tau;           /* [d] steps; NaN for a unit with zero variance */
    unsigned char *capped; /* [d] 1: never fell below 1/e within max_lag */
    int n_zero_variance;   /* units excluded */
    int n_capped;
    double median; /* over units with variance; NaN when there are none */
} AnTimescaleResult;

/* time constants of every unit of x [n, d] over the episodes ep (which cover the n rows);
 * res is zeroed first (free with an_timescale_result_free, also after a failure) */
int an_timescale_fit(AnTimescaleResult *res, const float *x, int64_t n, int d, const AnEpisodes *ep,
                     int max_lag, char *err, size_t err_sz);
void an_timescale_result_free(AnTimescaleResult *res);

#endif
