/* GAE(lambda) and the truncation bootstrap (see rl_gae.h). */
#include "rl_gae.h"

#include <stddef.h>

void rl_reward_bootstrap(float *rewards, const uint8_t *terminated, const uint8_t *truncated,
                         const float *final_values, float gamma, int n) {
    for (int i = 0; i < n; i++) {
        if (truncated[i] && !terminated[i]) {
            rewards[i] += gamma * final_values[i];
        }
    }
}

void rl_gae_compute(float *adv, float *ret, const float *rewards, const float *values,
                    const uint8_t *dones, const float *last_values, int num_envs, int T,
                    float gamma, float lambda) {
    for (int e = 0; e < num_envs; e++) {
        const float *r = rewards + (size_t)e * T;
        const float *v = values + (size_t)e * T;
        const uint8_t *d = dones + (size_t)e * T;
        float *a = adv + (size_t)e * T;
        float *g = ret + (size_t)e * T;
        /* accumulate in double: long horizons with gamma*lambda near 1 */
        double next_adv = 0.0;
        double next_value = last_values[e];
        for (int t = T - 1; t >= 0; t--) {
            double live = d[t] ? 0.0 : 1.0;
            double delta = (double)r[t] + gamma * next_value * live - v[t];
            next_adv = delta + (double)gamma * lambda * live * next_adv;
            a[t] = (float)next_adv;
            g[t] = (float)(next_adv + v[t]);
            next_value = v[t];
        }
    }
}
