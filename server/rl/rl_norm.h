/* Running statistics for normalisation: per-feature mean and variance over every sample seen,
 * updated a batch at a time and merged across ranks with the parallel formula of Chan et al.,
 * so merging two partial statistics equals one pass over all their samples.
 *
 * Observation normalisation uses one RlRunningStat of obs_size features; reward normalisation
 * keeps one of a single feature over the running discounted return of each environment
 * (gamma = the run's own discount) and divides rewards by its standard deviation.
 *
 * The packed form (count, mean[dim], m2[dim]) as doubles is what travels between ranks and into
 * checkpoints.
 *
 * Features marked with rl_stat_pass_through (the pixels of image sensations, already in [0, 1]
 * and what a pretrained vision encoder was trained on) leave rl_stat_normalize as they came in,
 * unclipped. Updates and merges skip them, so their mean and m2 keep whatever they held (zeros,
 * or what an older checkpoint stored) and the packed form keeps its size. */
#ifndef RL_NORM_H
#define RL_NORM_H

#include <stddef.h>

#define RL_NORM_EPS 1e-8

/* features [first, end) that are standardised (pass = 0) or passed through (pass = 1) */
typedef struct RlStatRun {
    int first, end, pass;
} RlStatRun;

typedef struct RlRunningStat {
    int dim;
    double count;
    double *mean;  /* (dim) */
    double *m2;    /* (dim) sum of squared deviations */
    double *bmean; /* (dim) scratch for a batch */
    double *bm2;   /* (dim) scratch for a batch */
    int num_runs;
    RlStatRun *runs; /* (num_runs) covering [0, dim) in order; one standardised run at init */
} RlRunningStat;

int rl_stat_init(RlRunningStat *s, int dim);
void rl_stat_free(RlRunningStat *s);
/* features [first, first + count) pass through normalisation and are left out of the
 * statistics from now on; AG_EINVAL outside [0, dim), AG_ENOMEM */
int rl_stat_pass_through(RlRunningStat *s, int first, int count);
/* whether feature i passes through */
int rl_stat_is_pass_through(const RlRunningStat *s, int i);
void rl_stat_clear(RlRunningStat *s);
void rl_stat_copy(RlRunningStat *dst, const RlRunningStat *src);
/* x is (n, dim) floats */
void rl_stat_update(RlRunningStat *s, const float *x, int n);
/* s := merge(s, other) */
void rl_stat_merge(RlRunningStat *s, const RlRunningStat *other);
/* population variance of feature i (0 with fewer than two samples) */
double rl_stat_var(const RlRunningStat *s, int i);
/* doubles of the packed form: 1 + 2 * dim */
size_t rl_stat_packed_len(const RlRunningStat *s);
void rl_stat_pack(const RlRunningStat *s, double *out);
/* merges a packed statistic into s */
void rl_stat_merge_packed(RlRunningStat *s, const double *in);
void rl_stat_unpack(RlRunningStat *s, const double *in);

/* out = clip((x - mean) / sqrt(var + eps), -clip, clip), out = x for pass-through features; x and
 * out (n, dim); may alias */
void rl_stat_normalize(const RlRunningStat *s, const float *x, float *out, int n, float clip);

/* Reward scaling by the std of the discounted return. ret_run (n) is each environment's running
 * discounted return; dones (n) clears it after the step. rewards are scaled in place and
 * clipped to +-clip. update = 0 leaves the statistics alone (evaluation); delta (may be NULL)
 * receives the same new samples as ret_stat (this rank's share for the cross-rank merge). */
void rl_reward_scale(RlRunningStat *ret_stat, RlRunningStat *delta, double *ret_run, float *rewards,
                     const unsigned char *dones, int n, double gamma, float clip, int update);

#endif
