/* Averaging of a flat gradient block over the ranks, once per minibatch.
 *
 * PPO takes hundreds of small optimizer steps per iteration (the locomotion preset: 640 at two
 * ranks), so the latency of one average matters more than its bandwidth. Ranks that share one
 * machine therefore share a memory window: each copies its gradient into its own slot and
 * raises its arrival counter; every rank waits for the others' counters and sums all slots in
 * rank order itself, so all ranks hold the same bits without a second message. The slots come
 * in two banks used in turn, which makes one arrival per step enough: a rank that has arrived
 * at step k+1 has finished reading step k. Ranks spread over several machines, a block too
 * large for it to pay, or RL_GRAD_MPI select MPI_Allreduce.
 *
 * DESIGN
 * - rl_grad_create and rl_grad_mean are collective over the communicator; every rank calls
 *   rl_grad_mean the same number of times with blocks of the same length.
 * - A waiting rank spins briefly, then yields its core, and checks about once a second that
 *   the ranks it waits for still exist, so a dead peer ends the wait with an error instead of a
 *   hang.
 */
#ifndef RL_GRAD_H
#define RL_GRAD_H

#include <mpi.h>
#include <stddef.h>

typedef enum RlGradKind {
    RL_GRAD_AUTO = 0, /* shared memory for blocks up to RL_GRAD_AUTO_SHARED_FLOATS on one
                         machine, else MPI */
    RL_GRAD_MPI,      /* MPI_Allreduce */
    RL_GRAD_SHARED,   /* shared memory; rl_grad_create fails where it is impossible */
    RL_GRAD_SINGLE    /* one rank: nothing to average (what rl_grad_kind reports) */
} RlGradKind;

typedef struct RlGrad RlGrad;

/* the largest window rl_grad_create uses before falling back to MPI (two banks, all ranks) */
#define RL_GRAD_SHARED_MAX_BYTES ((size_t)256 << 20)
/* the largest block RL_GRAD_AUTO averages in shared memory: every rank reads every slot, which
 * beats MPI's message latency on small blocks and draws level with its pipelined reduction on
 * large ones (bench_grad over 2 ranks: 6.8 against 13.7 us at 10,000 floats, 127 against 166 us
 * at 262,144, 522 against 504 us at 1,000,000) */
#define RL_GRAD_AUTO_SHARED_FLOATS ((size_t)1 << 18)

/* "auto", "mpi" or "shared" (the trainer reads it from ANGORA_GRAD_AVERAGE); -1 otherwise */
int rl_grad_kind_parse(const char *name, RlGradKind *out);

/* collective; n floats per block. Returns 0 or an AgErrorCode with err filled. */
int rl_grad_create(RlGrad **out, MPI_Comm comm, size_t n, RlGradKind want, char *err,
                   size_t err_sz);
/* replaces grads (n floats) by the mean over the ranks; the same bits on every rank */
int rl_grad_mean(RlGrad *g, float *grads, char *err, size_t err_sz);
/* the method chosen (RL_GRAD_SINGLE, RL_GRAD_MPI or RL_GRAD_SHARED) */
RlGradKind rl_grad_kind(const RlGrad *g);
const char *rl_grad_kind_name(RlGradKind kind);
void rl_grad_destroy(RlGrad *g);

#endif
