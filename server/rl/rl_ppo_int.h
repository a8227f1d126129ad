/* The trainer's state, shared by the files of server/rl (rl_ppo.c, rl_eval.c); not a public
 * interface. Shapes: E envs per rank, H horizon, L tbptt (1 for feed-forward models), O floats
 * per observation, F floats per stored observation (O, or with a frozen encoder's features
 * cached the model's feature row, nn_model.h), P policy outputs per sample, A raw action floats, S
 * recurrent state floats per environment, U = E*H/L sequences per rollout. */
#ifndef RL_PPO_INT_H
#define RL_PPO_INT_H

#include "nn_dist.h"
#include "nn_optim.h"
#include "rl_loss.h"
#include "rl_norm.h"
#include "rl_grad.h"
#include "rl_ppo.h"

/* Every array of the trainer, carved from one block at create (each 64-byte aligned and
 * zeroed) and freed with it: X(type, field, d0, d1, d2) is an array of shape (d0, d1, d2),
 * trailing 1s left out of the comments. Sizes as above, with S at least 1 (a feed-forward
 * model still gets valid state pointers), MB the most sequences in a minibatch and G the
 * doubles of the normaliser merge (nranks packed statistics and a margin). Adding an array is
 * one line here.
 * Kept apart, because other objects own them and size them: the normalisers' statistics
 * (rl_norm), the model's parameters, gradients and workspaces (nn), Adam's moments, the
 * gradient window shared between ranks (rl_grad), the environments. */
#define RL_TRAINER_BUFFERS(X)                                                                      \
    X(double, ret_run, E, 1, 1) /* running discounted return */                                    \
    X(double, gather, G, 1, 1)  /* scratch for the merge */                                        \
    /* the live state between steps */                                                             \
    X(float, obs_raw, E, O, 1)         /* next observations as the environments gave them */       \
    X(float, state, E, S, 1)           /* recurrent state */                                       \
    X(uint8_t, pending_reset, E, 1, 1) /* the next step starts a new episode */                    \
    /* rollout buffers, (E, H, ...) env-major */                                                   \
    X(float, buf_obs, E, H, F) /* normalised; feature rows when cached */                          \
    X(float, buf_raw, E, H, A) /* raw actions */                                                   \
    X(float, buf_logp, E, H, 1)                                                                    \
    X(float, buf_value, E, H, 1)                                                                   \
    X(float, buf_reward, E, H, 1) /* scaled, truncations bootstrapped */                           \
    X(uint8_t, buf_done, E, H, 1)                                                                  \
    X(uint8_t, buf_reset, E, H, 1)                                                                 \
    X(float, buf_adv, E, H, 1)                                                                     \
    X(float, buf_ret, E, H, 1)                                                                     \
    X(float, buf_state0, U, S, 1) /* the state before each chunk's first step */                   \
    /* per-step scratch */                                                                         \
    X(float, obs_norm, E, O, 1)                                                                    \
    X(float, pol_out, E, P, 1)                                                                     \
    X(float, val_out, E, 1, 1)                                                                     \
    X(float, raw_step, E, A, 1)                                                                    \
    X(float, logp_step, E, 1, 1)                                                                   \
    X(float, env_act, E, A, 1)                                                                     \
    X(float, rew_step, E, 1, 1)                                                                    \
    X(uint8_t, term_step, E, 1, 1)                                                                 \
    X(uint8_t, trunc_step, E, 1, 1)                                                                \
    X(uint8_t, done_step, E, 1, 1)                                                                 \
    X(float, final_obs, E, O, 1)                                                                   \
    X(float, fin_obs, E, O, 1) /* compact normalised final observations of truncated envs */       \
    X(float, fin_state, E, S, 1)                                                                   \
    X(float, fin_val, E, 1, 1)                                                                     \
    X(int, fin_idx, E, 1, 1)                                                                       \
    X(float, last_val, E, 1, 1)                                                                    \
    /* minibatch buffers for up to MB sequences of L steps */                                      \
    X(int, perm, U, 1, 1)                                                                          \
    X(float, mb_obs, MB, L, F)                                                                     \
    X(float, mb_state0, MB, S, 1)                                                                  \
    X(float, mb_raw, MB, L, A)                                                                     \
    X(float, mb_logp_old, MB, L, 1)                                                                \
    X(float, mb_adv, MB, L, 1)                                                                     \
    X(float, mb_ret, MB, L, 1)                                                                     \
    X(float, mb_vold, MB, L, 1)                                                                    \
    X(uint8_t, mb_reset, MB, L, 1)                                                                 \
    X(float, mb_pol, MB, L, P)                                                                     \
    X(float, mb_val, MB, L, 1)                                                                     \
    X(float, mb_logp, MB, L, 1)                                                                    \
    X(float, mb_ent, MB, L, 1)                                                                     \
    X(float, mb_dlogp, MB, L, 1)                                                                   \
    X(float, mb_dent, MB, L, 1)                                                                    \
    X(float, mb_dval, MB, L, 1)                                                                    \
    X(float, mb_dpol, MB, L, P)

struct RlTrainer {
    AgSpec spec; /* own copy, ranks = communicator size */
    MPI_Comm comm;
    int rank, nranks;
    int E, H, L, O, P, A, S, U;
    int F;
    /* a frozen encoder's features are computed once per step while collecting and stored in
     * buf_obs in place of its input (ANGORA_ENCODER_CACHE=off stores the observations) */
    int cache_features;
    int64_t total_iterations;
    int64_t iteration;
    int64_t env_steps;
    double best_eval;

    EnvTask task;
    int task_ok;
    EnvBatch envs;
    int envs_ok;
    NnModel *model;
    NnDist dist;
    NnAdam adam;
    int adam_ok;
    RlGrad *grad; /* the minibatch gradient's mean over ranks */
    NnStepCtx *step_ctx;
    NnTrainCtx *train_ctx;
    size_t num_params;
    RlLossConfig loss_cfg;

    /* normalisers: obs_stat is what normalises; obs_synced the merged statistic at the last
     * sync; obs_delta this rank's samples since */
    RlRunningStat obs_stat, obs_synced, obs_delta;
    RlRunningStat ret_stat, ret_synced, ret_delta;

    AgRng rng_sample, rng_shuffle;

    int MB;     /* most sequences in one minibatch */
    int num_mb; /* minibatches per epoch */

    /* the arrays of RL_TRAINER_BUFFERS and the one block they point into */
#define RL_TRAINER_FIELD(type, field, d0, d1, d2) type *field;
    RL_TRAINER_BUFFERS(RL_TRAINER_FIELD)
#undef RL_TRAINER_FIELD
    void *buffers;
};

/* broadcasts rank 0's parameters and Adam state to every rank */
int rl_trainer_bcast_params(RlTrainer *t);
/* rank 0's part of rl_trainer_init_from, alone (rl_trainer_check uses it): reads and checks
 * t->spec.init.checkpoint, loads its parameters into t's model and its packed observation
 * statistics, then the 3 return statistics, into stats */
int rl_trainer_init_read(RlTrainer *t, double *stats, char *err, size_t err_sz);

/* the collection phase of rl_trainer_iterate alone (tests check what it stores) */
void rl_trainer_collect(RlTrainer *t, RlTimings *tm);

#endif
