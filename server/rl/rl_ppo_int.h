/* The trainer's state, shared by the files of server/rl (rl_ppo.c, rl_eval.c); not a public
 * interface. Shapes: E envs per rank, H horizon, L tbptt (1 for feed-forward models), O floats
 * per observation, P policy outputs per sample, A raw action floats, S recurrent state floats
 * per environment, U = E*H/L sequences per rollout. */
#ifndef RL_PPO_INT_H
#define RL_PPO_INT_H

#include "nn_dist.h"
#include "nn_optim.h"
#include "rl_loss.h"
#include "rl_norm.h"
#include "rl_grad.h"
#include "rl_ppo.h"

struct RlTrainer {
    AgSpec spec; /* own copy, ranks = communicator size */
    MPI_Comm comm;
    int rank, nranks;
    int E, H, L, O, P, A, S, U;
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
    double *ret_run; /* (E) running discounted return */
    double *gather;  /* (nranks * packed) scratch for the merge */

    AgRng rng_sample, rng_shuffle;

    /* the live state between steps */
    float *obs_raw;         /* (E, O) next observations as the environments gave them */
    float *state;           /* (E, S) recurrent state */
    uint8_t *pending_reset; /* (E) the next step starts a new episode */

    /* rollout buffers, (E, H, ...) env-major */
    float *buf_obs;    /* (E, H, O) normalised */
    float *buf_raw;    /* (E, H, A) raw actions */
    float *buf_logp;   /* (E, H) */
    float *buf_value;  /* (E, H) */
    float *buf_reward; /* (E, H) scaled, truncations bootstrapped */
    uint8_t *buf_done; /* (E, H) */
    uint8_t *buf_reset;
    float *buf_adv;    /* (E, H) */
    float *buf_ret;    /* (E, H) */
    float *buf_state0; /* (U, S) the state before each chunk's first step */

    /* per-step scratch */
    float *obs_norm;  /* (E, O) */
    float *pol_out;   /* (E, P) */
    float *val_out;   /* (E) */
    float *raw_step;  /* (E, A) */
    float *logp_step; /* (E) */
    float *env_act;   /* (E, A) */
    float *rew_step;  /* (E) */
    uint8_t *term_step, *trunc_step, *done_step;
    float *final_obs; /* (E, O) */
    float *fin_obs;   /* (E, O) compact normalised final observations of truncated envs */
    float *fin_state; /* (E, S) */
    float *fin_val;   /* (E) */
    int *fin_idx;     /* (E) */
    float *last_val;  /* (E) */

    /* minibatch buffers for up to MB sequences of L steps */
    int MB;     /* most sequences in one minibatch */
    int num_mb; /* minibatches per epoch */
    int *perm;  /* (U) */
    float *mb_obs, *mb_state0, *mb_raw, *mb_logp_old, *mb_adv, *mb_ret, *mb_vold;
    uint8_t *mb_reset;
    float *mb_pol, *mb_val, *mb_logp, *mb_ent, *mb_dlogp, *mb_dent, *mb_dval, *mb_dpol;
};

/* broadcasts rank 0's parameters and Adam state to every rank */
int rl_trainer_bcast_params(RlTrainer *t);

/* the collection phase of rl_trainer_iterate alone (tests check what it stores) */
void rl_trainer_collect(RlTrainer *t, RlTimings *tm);

#endif
