/* The PPO objective for one minibatch, its value and its gradient with respect to each sample's
 * log-probability, entropy and value (the trainer passes these on to nn_dist_backward and
 * nn_model_backward).
 *
 *   ratio   = exp(logp - logp_old)
 *   L_pi    = mean(-min(ratio * A, clip(ratio, 1 - eps, 1 + eps) * A))
 *   L_v     = mean(0.5 * (V - R)^2), or with value_clip > 0
 *             mean(0.5 * max((V - R)^2, (V_old + clip(V - V_old, -vc, vc) - R)^2))
 *   L       = L_pi + c_value * L_v - c_entropy * mean(entropy)
 *
 * approx_kl is the low-variance estimator mean((ratio - 1) - log ratio); clip_fraction is the
 * share of samples with |ratio - 1| > eps. */
#ifndef RL_LOSS_H
#define RL_LOSS_H

typedef struct RlLossConfig {
    float clip;
    float value_clip; /* 0: unclipped value loss */
    float c_value;
    float c_entropy;
} RlLossConfig;

/* sums over minibatches; divide by `batches` for means */
typedef struct RlLossStats {
    double policy_loss;
    double value_loss;
    double entropy;
    double approx_kl;
    double clip_fraction;
    double loss;
    int batches;
} RlLossStats;

/* every array has n entries; the d_ outputs are overwritten with dL/d(logp), dL/d(entropy),
 * dL/d(value) (already divided by n); st (if non-NULL) gets this minibatch's means added */
void rl_ppo_loss(const RlLossConfig *cfg, int n, const float *logp, const float *logp_old,
                 const float *adv, const float *entropy, const float *value, const float *value_old,
                 const float *ret, float *d_logp, float *d_entropy, float *d_value,
                 RlLossStats *st);

/* 1 - var(ret - value) / var(ret) from the sums (count, ret, ret^2, err, err^2) */
double rl_explained_variance(double count, double sum_ret, double sum_ret2, double sum_err,
                             double sum_err2);

#endif
