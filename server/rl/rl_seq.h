/* Bookkeeping of rollout rows for training: recurrent sequences (chunks of tbptt steps of one
 * environment, contiguous in the env-major buffers), the reset mask where an episode ended
 * inside a chunk, minibatch splits and the gather of a minibatch into training buffers.
 *
 * DESIGN: with horizon T divisible by the chunk length L, chunk c of environment e covers rows
 * e*T + c*L .. e*T + c*L + L - 1, so sequence s is simply rows s*L .. s*L + L - 1. Feed-forward
 * models use L = 1 (every transition is its own sequence). No row is ever dropped: every
 * transition belongs to exactly one sequence and each sequence to exactly one minibatch per
 * epoch. */
#ifndef RL_SEQ_H
#define RL_SEQ_H

#include <stddef.h>
#include <stdint.h>

/* reset (num_envs, T): reset[e,t] = 1 when step t of env e starts a new episode, i.e. when
 * dones[e,t-1] is set, or for t = 0 when first_reset[e] is (the previous rollout ended there) */
void rl_seq_reset_mask(uint8_t *reset, const uint8_t *dones, const uint8_t *first_reset,
                       int num_envs, int T);

/* minibatch k of `count` over `total` units: the units [*start, *start + *size); sizes differ by
 * at most one and together cover every unit */
void rl_minibatch_range(int total, int count, int k, int *start, int *size);

/* how many minibatches: round(total_units / units_per_batch), at least 1 */
int rl_minibatch_count(int total_units, double units_per_batch);

/* copies whole sequences: for each of the n sequence ids in idx, the L rows of `row_floats`
 * floats of src to consecutive rows of dst */
void rl_seq_gather_f(float *dst, const float *src, const int *idx, int n, int L, size_t row_floats);
void rl_seq_gather_u8(uint8_t *dst, const uint8_t *src, const int *idx, int n, int L);

#endif
