/* The precision of each metrics.jsonl key (see ag_metric_precision.h). */
#include "ag_metric_precision.h"

#include <float.h>
#include <math.h>
#include <string.h>

/* 2^-20 s is 0.95 us: a timing keeps every microsecond */
#define TIME_GRID_BITS 20
#define RATE_GRID_BITS 10

static const char *const time_keys[] = {
    "wall_s",      "cpu_s",     "collect_s",  "update_s",    "env_s",
    "inference_s", "forward_s", "backward_s", "allreduce_s", "optimizer_s",
};

/* exact ratios of counts, and a setting */
static const char *const exact_keys[] = {"lr", "episode_length_mean", "clip_fraction"};

static int listed(const char *key, const char *const *keys, size_t n) {
    for (size_t i = 0; i < n; i++) {
        if (strcmp(key, keys[i]) == 0) {
            return 1;
        }
    }
    return 0;
}

AgMetricKind ag_metric_kind(const char *key) {
    if (listed(key, time_keys, sizeof time_keys / sizeof time_keys[0])) {
        return AG_METRIC_TIME;
    }
    if (listed(key, exact_keys, sizeof exact_keys / sizeof exact_keys[0])) {
        return AG_METRIC_EXACT;
    }
    if (strcmp(key, "sps") == 0) {
        return AG_METRIC_RATE;
    }
    return AG_METRIC_FLOAT32;
}

/* v on a grid of 2^-bits (ties to even); from 2^(52 - bits) up every double is on it (and
 * scaling the largest ones up would overflow) */
static double on_grid(double v, int bits) {
    if (fabs(v) >= ldexp(1.0, 52 - bits)) {
        return v;
    }
    return ldexp(nearbyint(ldexp(v, bits)), -bits);
}

double ag_metric_round_kind(AgMetricKind kind, double v) {
    if (!isfinite(v)) {
        return v;
    }
    switch (kind) {
    case AG_METRIC_TIME:
        return on_grid(v, TIME_GRID_BITS);
    case AG_METRIC_RATE:
        return on_grid(v, RATE_GRID_BITS);
    case AG_METRIC_FLOAT32:
        /* float32's subnormals would keep fewer bits than the value had, and past FLT_MAX it
         * has none */
        if (fabs(v) >= FLT_MIN && fabs(v) <= FLT_MAX) {
            return (double)(float)v;
        }
        return v;
    case AG_METRIC_EXACT:
    default:
        return v;
    }
}

double ag_metric_round(const char *key, double v) {
    return ag_metric_round_kind(ag_metric_kind(key), v);
}
