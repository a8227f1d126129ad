/* Generalised advantage estimation over env-major rollouts, and the bootstrap that turns a
 * time-limit truncation into a reward with the value of the final observation.
 *
 * DESIGN: rows are (env, t), env-major, horizon T per environment. dones[row] = 1 when the
 * episode ended after that step (terminated or truncated); the step that follows belongs to a
 * new episode, so nothing flows back across it. A truncation has already been folded into the
 * reward (rl_reward_bootstrap), a termination has not, which is the whole difference between
 * them here. */
#ifndef RL_GAE_H
#define RL_GAE_H

#include <stdint.h>

/* rewards[i] += gamma * final_values[i] where truncated[i] && !terminated[i] (n entries) */
void rl_reward_bootstrap(float *rewards, const uint8_t *terminated, const uint8_t *truncated,
                         const float *final_values, float gamma, int n);

/* adv, ret, rewards, values, dones are (num_envs, T); last_values (num_envs) is the value of the
 * observation after the last step of each environment. ret = adv + values. */
void rl_gae_compute(float *adv, float *ret, const float *rewards, const float *values,
                    const uint8_t *dones, const float *last_values, int num_envs, int T,
                    float gamma, float lambda);

#endif
