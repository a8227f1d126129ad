/* PPO clipped surrogate, value and entropy terms with their gradients (see rl_loss.h). */
#include "rl_loss.h"

#include <math.h>

void rl_ppo_loss(const RlLossConfig *cfg, int n, const float *logp, const float *logp_old,
                 const float *adv, const float *entropy, const float *value, const float *value_old,
                 const float *ret, float *d_logp, float *d_entropy, float *d_value,
                 RlLossStats *st) {
    double pl = 0.0, vl = 0.0, ent = 0.0, kl = 0.0, cf = 0.0;
    double inv_n = 1.0 / n;
    double eps = cfg->clip;
    for (int i = 0; i < n; i++) {
        double log_ratio = (double)logp[i] - logp_old[i];
        double ratio = exp(log_ratio);
        double a = adv[i];
        double s1 = ratio * a;
        double rc = ratio < 1.0 - eps ? 1.0 - eps : (ratio > 1.0 + eps ? 1.0 + eps : ratio);
        double s2 = rc * a;
        /* the clipped branch has no gradient only when it is the smaller one and clipping is
         * active; otherwise the gradient is that of ratio * A */
        double dl;
        if (s1 <= s2) {
            pl -= s1;
            dl = -a * ratio;
        } else {
            pl -= s2;
            dl = (rc == ratio) ? -a * ratio : 0.0;
        }
        d_logp[i] = (float)(dl * inv_n);
        kl += (ratio - 1.0) - log_ratio;
        cf += fabs(ratio - 1.0) > eps ? 1.0 : 0.0;

        double err = (double)value[i] - ret[i];
        double dv = err;
        double vterm = 0.5 * err * err;
        if (cfg->value_clip > 0.0f) {
            double diff = (double)value[i] - value_old[i];
            double vc = cfg->value_clip;
            double dc = diff < -vc ? -vc : (diff > vc ? vc : diff);
            double err_c = (double)value_old[i] + dc - ret[i];
            double cterm = 0.5 * err_c * err_c;
            if (cterm > vterm) {
                vterm = cterm;
                dv = (dc == diff) ? err_c : 0.0;
            }
        }
        vl += vterm;
        d_value[i] = (float)(cfg->c_value * dv * inv_n);
        ent += entropy[i];
        d_entropy[i] = (float)(-cfg->c_entropy * inv_n);
    }
    if (st) {
        st->policy_loss += pl * inv_n;
        st->value_loss += vl * inv_n;
        st->entropy += ent * inv_n;
        st->approx_kl += kl * inv_n;
        st->clip_fraction += cf * inv_n;
        st->loss += (pl + cfg->c_value * vl - cfg->c_entropy * ent) * inv_n;
        st->batches++;
    }
}

double rl_explained_variance(double count, double sum_ret, double sum_ret2, double sum_err,
                             double sum_err2) {
    if (count < 2.0) {
        return NAN;
    }
    double var_ret = sum_ret2 / count - (sum_ret / count) * (sum_ret / count);
    double var_err = sum_err2 / count - (sum_err / count) * (sum_err / count);
    if (var_ret <= 1e-12) {
        return NAN;
    }
    return 1.0 - var_err / var_ret;
}
