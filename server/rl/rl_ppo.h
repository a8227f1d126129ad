/* The PPO trainer of one rank: a batch of environments stepped together, one network call per
 * step for all of them, preallocated env-major rollout buffers, GAE with truncation bootstrap,
 * whole-batch advantage normalisation across ranks, clipped PPO updates over epochs x shuffled
 * minibatches with one average of the flat gradient block per minibatch (rl_grad.h),
 * observation and reward normalisation, and checkpoints that let a run continue
 * bit-identically.
 *
 * DESIGN
 * - Collective calls: rl_trainer_create, rl_trainer_iterate, rl_trainer_save and
 *   rl_trainer_load must be called by every rank of the communicator in the same order.
 *   rl_trainer_evaluate is local (rank 0 evaluates; the others wait at the next collective).
 * - Buffers are (env, t) env-major: a recurrent chunk of tbptt steps of one environment is a
 *   contiguous block of rows (rl_seq.h). Nothing is allocated after rl_trainer_create in the
 *   collect or update loops.
 * - A frozen encoder (model.encoder) runs once per step, while collecting: the rollout buffer
 *   stores its output in place of its input (feature rows, nn_model.h) and every epoch of the
 *   update reads that back instead of running it again. ANGORA_ENCODER_CACHE=off stores the
 *   observations and runs the encoder in the update, as any other pathway.
 * - The observation normaliser is updated with every observation the policy acts on (reset
 *   observations included) while collecting; each rank's new samples are merged across ranks
 *   at the end of every iteration in rank order, so all ranks hold the same statistics.
 *   Image sensations' pixels pass through it unchanged and stay out of its statistics, so
 *   every pathway that reads them (a pretrained encoder's too) sees the rendered [0, 1] values.
 * - Streams: environment i of rank r uses stream r * envs_per_rank + i of the run's seed;
 *   the trainer's sampling and shuffling streams are per rank; initial weights come from
 *   rank 0. Same seed and rank count: same metrics.
 */
#ifndef RL_PPO_H
#define RL_PPO_H

#include "ag_spec.h"
#include "env.h"
#include "nn_model.h"

#include <jansson.h>
#include <mpi.h>
#include <stdint.h>

/* seconds spent per phase during one iteration (this rank) */
typedef struct RlTimings {
    double collect;   /* the whole collection, inference and environments included */
    double env;       /* env_batch_step */
    double inference; /* nn_model_step during collection (bootstrap values included) */
    double update;    /* the whole update phase */
    double forward;   /* nn_model_forward + log-prob/entropy */
    double backward;  /* loss, nn_dist_backward, nn_model_backward */
    double allreduce; /* gradient averaging */
    double optimizer; /* clipping + Adam */
} RlTimings;

/* the learning metrics of one iteration, the same on every rank */
typedef struct RlIterStats {
    int64_t iteration;      /* 1-based: the number of iterations done */
    int64_t env_steps;      /* over all ranks, since the start of the run */
    int64_t env_steps_iter; /* over all ranks, during this iteration */
    int64_t episodes;       /* episodes that ended during this iteration, all ranks */
    double return_mean, return_std, episode_length_mean; /* NaN without episodes */
    int64_t unstable;
    int num_metrics;
    char metric_names[ENV_MAX_METRICS][ENV_NAME_MAX];
    double metrics[ENV_MAX_METRICS]; /* task metric means per episode (NaN without episodes) */
    double policy_loss, value_loss, entropy, approx_kl, clip_fraction, explained_variance;
    double lr, grad_norm;
    int epochs; /* epochs run (fewer than configured after a KL early stop) */
    int minibatches;
    RlTimings time;
} RlIterStats;

/* An episode stopped by the evaluation's step cap (tasks without an episode limit) counts with
 * return 0 and every metric 0. Intervals: rl_eval_stats.h. */
typedef struct RlEvalResult {
    int episodes;
    double mean, std, ci95_low, ci95_high;
    double length_mean;
    int64_t unstable;
    int num_metrics;
    char metric_names[ENV_MAX_METRICS][ENV_NAME_MAX];
    double metrics[ENV_MAX_METRICS]; /* means over episodes */
    double metrics_std[ENV_MAX_METRICS];
    /* t interval, or Wilson's for a metric whose every episode value is 0 or 1 */
    double metrics_ci95_low[ENV_MAX_METRICS], metrics_ci95_high[ENV_MAX_METRICS];
    int deterministic;
} RlEvalResult;

typedef struct RlTrainer RlTrainer;

/* builds task, environments, model, distribution, optimizer and buffers for this rank; the
 * rank count is the communicator's size (spec->ranks is not consulted). Initial weights are
 * drawn on rank 0 and broadcast. */
int rl_trainer_create(RlTrainer **out, const AgSpec *spec, MPI_Comm comm, char *err, size_t err_sz);
void rl_trainer_destroy(RlTrainer *t);
/* what rl_trainer_create would refuse in spec, without MPI or buffers: the task and its
 * options, the distribution against the action space, the model against the observation and
 * action spaces, the sizes, one environment. 0, or an AG_E* code with the message in err and
 * the spec's JSON path of the part at fault in path ("task_options", "policy", "model"). */
int rl_trainer_check(const AgSpec *spec, char *path, size_t path_sz, char *err, size_t err_sz);

/* one PPO cycle: collect envs_per_rank x horizon steps on each rank, then update */
int rl_trainer_iterate(RlTrainer *t, RlIterStats *st, char *err, size_t err_sz);

/* iterations done so far and the budget in iterations */
int64_t rl_trainer_iteration(const RlTrainer *t);
int64_t rl_trainer_total_iterations(const RlTrainer *t);
int64_t rl_trainer_env_steps(const RlTrainer *t);
NnModel *rl_trainer_model(RlTrainer *t);
const EnvTask *rl_trainer_task(const RlTrainer *t);
int rl_trainer_rank(const RlTrainer *t);
/* the best evaluation return recorded (NaN if none); set by the caller's evaluations */
double rl_trainer_best_eval(const RlTrainer *t);
void rl_trainer_set_best_eval(RlTrainer *t, double best);

/* checkpoint of the whole run state: the resolved spec, model, Adam, normalisers, every rank's
 * environments, RNGs, recurrent states and pending observations, and the iteration. Collective;
 * rank 0 writes the file atomically. */
int rl_trainer_save(RlTrainer *t, const char *path, char *err, size_t err_sz);
/* restores a checkpoint written by rl_trainer_save for the same spec and rank count.
 * Collective; rank 0 reads and sends each rank its part. AG_EMISMATCH when the checkpoint
 * belongs to another model, task or rank count. */
int rl_trainer_load(RlTrainer *t, const char *path, char *err, size_t err_sz);
/* restores only the policy (model parameters and observation normaliser), for evaluation;
 * local (no MPI) */
int rl_trainer_load_policy(RlTrainer *t, const char *path, char *err, size_t err_sz);
/* a fresh run's start from another run's policy (spec init.checkpoint): the model's parameters
 * and the observation and return normalisers of that training checkpoint, whose model must be
 * this one's and whose task may differ if its observations and actions have the same sizes.
 * Adam, the iteration count and the environments stay fresh. sha256 (the file's, or NULL) is
 * recorded in the trainer's spec, and so in its checkpoints. Collective; rank 0 reads. */
int rl_trainer_init_from(RlTrainer *t, const char *sha256, char *err, size_t err_sz);
/* records the init file's hash in the trainer's spec (a resumed run, whose checkpoint had it) */
void rl_trainer_record_init_sha256(RlTrainer *t, const char *sha256);
/* the spec stored in a checkpoint (for evaluating a checkpoint alone) */
int rl_ckpt_read_spec(const char *path, AgSpec *spec, char *err, size_t err_sz);

/* runs `episodes` fresh episodes on separate environments seeded from (seed, episode index),
 * with the frozen observation normaliser; deterministic uses the distribution's mode. Local. */
int rl_trainer_evaluate(RlTrainer *t, int episodes, int deterministic, uint64_t seed,
                        RlEvalResult *res, char *err, size_t err_sz);
/* Evaluation with an observer (activation recordings): the same episodes as rl_trainer_evaluate
 * (same seeds, waves and samples), with the value network and the model's probes computed at
 * every step and shown to the observer. Episodes run in waves of up to RL_EVAL_WAVE; row i of
 * a wave is episode first + i. */
#define RL_EVAL_WAVE 32

typedef struct RlEvalStep {
    int n;                 /* rows of the wave */
    int first;             /* episode index of row 0 */
    const uint8_t *active; /* (n) 1 when the row is a step of a running episode */
    const int *step;       /* (n) the step's index within its episode */
    const EnvTask *task;
    const EnvBatch *envs; /* (n) one batch of one environment per row */
    int obs_size, policy_size, action_size;
    const char *distribution; /* of the policy: "gaussian", "beta", "categorical", ... */
    const float *obs;         /* (n, obs_size) the observations as the task gave them */
    const float *policy;      /* (n, policy_size) the action distribution's parameters */
    const float *raw;         /* (n, action_size) the distribution's sample (or mode) */
    const float *action;      /* (n, action_size) the actions the environments get */
    const float *value;       /* (n) */
    const float *reward;      /* (n) on_result only */
    const uint8_t *done;      /* (n) on_result only: the episode ended with this step */
} RlEvalStep;

typedef struct RlEvalObserver {
    /* most episodes at once, 1..RL_EVAL_WAVE (0: RL_EVAL_WAVE); with fewer than RL_EVAL_WAVE,
     * stochastic episodes differ from rl_trainer_evaluate's (deterministic ones do not) */
    int wave;
    /* nn_model_num_probes buffers of (wave, size) for nn_model_step_probed, or NULL */
    float *const *probes;
    /* after the network acted, before the environments step: envs are in the state the policy
     * saw, probes hold this step's outputs */
    int (*on_act)(void *user, const RlEvalStep *s, char *err, size_t err_sz);
    /* after the environments stepped (envs already in their next state) */
    int (*on_result)(void *user, const RlEvalStep *s, char *err, size_t err_sz);
    void *user;
} RlEvalObserver;

/* rl_trainer_evaluate with an observer; a callback's non-zero return (a negative AG_E* code,
 * message in err) stops the evaluation with that code */
int rl_trainer_evaluate_observed(RlTrainer *t, int episodes, int deterministic, uint64_t seed,
                                 const RlEvalObserver *observer, RlEvalResult *res, char *err,
                                 size_t err_sz);

/* called before each step of an episode run by rl_trainer_run_episode, with the environment
 * about to act (its task class's state) and the observation the policy sees; a non-zero
 * return (a negative AG_E* code, message in err) stops the episode with that code */
typedef int (*RlEpisodeHook)(void *user, const EnvTask *task, const void *env_state,
                             const float *obs, int step, char *err, size_t err_sz);
/* runs one fresh episode on an environment seeded from (seed, stream) like evaluation episode
 * `stream` of rl_trainer_evaluate (the same episode when deterministic, or when it is the only
 * one), calling hook before every step; writes the return and the number of steps. Local. */
int rl_trainer_run_episode(RlTrainer *t, int deterministic, uint64_t seed, uint64_t stream,
                           RlEpisodeHook hook, void *user, double *ret, int *length, char *err,
                           size_t err_sz);
/* the evaluation summary as JSON (new reference) */
json_t *rl_eval_to_json(const RlEvalResult *res);

#endif
