/* The precision a metrics.jsonl value carries: what angora-train records for each key, rounded
 * to what its measurement holds, so that the digits past that are not stored (docs/training.md,
 * "Precision of the metrics").
 *
 * DESIGN
 * The text stays jansson's %.17g, the form the daemon's store gives back byte for byte from the
 * bits of each double; what shrinks is the number of meaningful bits, which its block coding
 * pays for (a value rounded to float32 has 29 trailing zero bits, a timing on a 2^-20 s grid
 * about 20). The rule is by key, so a reader (a benchmark replaying an older file) applies the
 * same rounding the trainer does:
 *   - timings (wall_s, cpu_s and the phase seconds): to a grid of 2^-20 s (0.95 us), finer than
 *     what clock_gettime's readings around them mean;
 *   - sps: to a grid of 2^-10 steps/s, finer than what a timing of 1 us gives it;
 *   - lr, and the ratios of counts (episode_length_mean, clip_fraction): kept as they are;
 *   - every other real (returns, losses, entropy, KL, explained variance, gradient norm, task
 *     metrics and the evaluation's): rounded to float32, the precision of the network, rewards
 *     and task metrics they are computed from; values outside float32's normal range (and 0,
 *     NaN, infinities) are kept as they are. */
#ifndef AG_METRIC_PRECISION_H
#define AG_METRIC_PRECISION_H

typedef enum AgMetricKind {
    AG_METRIC_EXACT = 0, /* kept as it is */
    AG_METRIC_TIME,      /* seconds on a 2^-20 s grid */
    AG_METRIC_RATE,      /* steps per second on a 2^-10 grid */
    AG_METRIC_FLOAT32    /* rounded to the nearest float32 */
} AgMetricKind;

/* the kind of a metrics.jsonl key (AG_METRIC_FLOAT32 for any key not named in the rule) */
AgMetricKind ag_metric_kind(const char *key);

/* v rounded as its kind says */
double ag_metric_round_kind(AgMetricKind kind, double v);

/* v rounded as key's kind says: what angora-train writes for it */
double ag_metric_round(const char *key, double v);

#endif
