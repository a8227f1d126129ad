/* Policy distributions over actions, batched over n samples. Each works on the raw parameter
 * rows the policy head produces and on "raw" actions (what the log-probability is of); the
 * environment's action is derived from the raw one by nn_dist_to_env.
 *
 *   gaussian:         params mean (A), log_std (A); raw action an unbounded sample;
 *                     env action the raw one clipped to [low, high]
 *   beta:             params pre-alpha (A), pre-beta (A) with alpha = softplus + 1; raw action
 *                     x in (0, 1); env action low + x (high - low)
 *   categorical:      params logits (n); raw action and env action the index
 *   multicategorical: params logits (sum of bins); raw action an index per dimension; env
 *                     action low + k (high - low) / (bins - 1) for a box, the index for a
 *                     multi-discrete space
 */
#ifndef NN_DIST_H
#define NN_DIST_H

#include "ag_rng.h"

#include <stddef.h>

#define NN_DIST_MAX_DIM 64
/* most bins (choices) of one categorical dimension */
#define NN_DIST_MAX_BINS 4096

typedef enum NnDistKind {
    NN_DIST_GAUSSIAN = 0,
    NN_DIST_BETA,
    NN_DIST_CATEGORICAL,
    NN_DIST_MULTICATEGORICAL
} NnDistKind;

typedef struct NnDist {
    NnDistKind kind;
    int action_dim;            /* raw action floats per sample */
    int num_params;            /* parameter floats per sample */
    int bins[NN_DIST_MAX_DIM]; /* categorical: bins[0] = n; multicategorical: per dim */
    float low[NN_DIST_MAX_DIM];
    float high[NN_DIST_MAX_DIM];
    int env_is_index; /* env action is the index itself (discrete spaces) */
} NnDist;

/* box spaces: gaussian, beta or multicategorical (bins per dim, mapped onto [low, high]) */
int nn_dist_init_box(NnDist *dist, NnDistKind kind, int action_dim, const float *low,
                     const float *high, int bins, char *err, size_t err_sz);
/* discrete spaces: categorical (dims = 1) or multicategorical (choices per dim) */
int nn_dist_init_discrete(NnDist *dist, int dims, const int *choices, char *err, size_t err_sz);
/* how many raw outputs the policy head must produce, and the log-std size (gaussian only) */
int nn_dist_head_outputs(const NnDist *dist);
int nn_dist_logstd_dim(const NnDist *dist);

/* params (n, num_params) -> raw (n, action_dim) */
void nn_dist_sample(const NnDist *dist, int n, const float *params, AgRng *rng, float *raw);
/* the deterministic action: mean (gaussian), mode clipped into (0,1) for beta... see .c */
void nn_dist_mode(const NnDist *dist, int n, const float *params, float *raw);
/* log-probability of raw under params -> logp (n) */
void nn_dist_log_prob(const NnDist *dist, int n, const float *params, const float *raw,
                      float *logp);
/* entropy -> ent (n) */
void nn_dist_entropy(const NnDist *dist, int n, const float *params, float *ent);
/* d_params (n, num_params) += d/dparams [ d_logp[i] * logp_i + d_ent[i] * ent_i ];
 * d_logp or d_ent may be NULL */
void nn_dist_backward(const NnDist *dist, int n, const float *params, const float *raw,
                      const float *d_logp, const float *d_ent, float *d_params);
/* raw (n, action_dim) -> env actions (n, action_dim) */
void nn_dist_to_env(const NnDist *dist, int n, const float *raw, float *env_action);

/* digamma psi(x) = d/dx log Gamma(x) and trigamma psi'(x) in double precision: for x > 0 the
 * error is below 1e-12 relative to max(1, |value|); NaN at the poles 0, -1, -2, ... */
double nn_dist_digamma(double x);
double nn_dist_trigamma(double x);

#endif
