/* The PPO trainer: creation, collection, update and cross-rank merging (see rl_ppo.h). */
#include "rl_ppo_int.h"

#include "ag_error.h"
#include "ag_log.h"
#include "ag_time.h"
#include "nn_ckpt.h"
#include "rl_gae.h"
#include "rl_seq.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* the trainer's own streams are drawn from the run seed mixed with these, apart from the
 * environments' streams */
#define RL_SEED_INIT    0x1a2b3c4d5e6f7081ull
#define RL_SEED_SAMPLE  0x2b3c4d5e6f708192ull
#define RL_SEED_SHUFFLE 0x3c4d5e6f708192a3ull

/* the alignment of every array carved from the trainer's block (a cache line) */
#define RL_BUF_ALIGN 64

static int rl_dist_from_spec(NnDist *dist, const AgSpec *spec, const EnvSpec *es, char *err,
                             size_t err_sz) {
    AgPolicyKind kind = spec->policy;
    if (es->action_kind == ENV_ACTION_BOX) {
        if (kind == AG_POLICY_AUTO) {
            kind = AG_POLICY_BETA;
        }
        NnDistKind dk;
        switch (kind) {
        case AG_POLICY_GAUSSIAN:
            dk = NN_DIST_GAUSSIAN;
            break;
        case AG_POLICY_BETA:
            dk = NN_DIST_BETA;
            break;
        case AG_POLICY_MULTICATEGORICAL:
            dk = NN_DIST_MULTICATEGORICAL;
            break;
        default:
            return ag_errorf(err, err_sz, AG_ESPEC,
                             "policy: %s needs a discrete action space, task %s has a box",
                             ag_spec_policy_name(kind), spec->task);
        }
        return nn_dist_init_box(dist, dk, es->action_dim, es->action_low, es->action_high,
                                spec->bins, err, err_sz);
    }
    if (kind == AG_POLICY_AUTO) {
        kind = es->action_kind == ENV_ACTION_DISCRETE ? AG_POLICY_CATEGORICAL
                                                      : AG_POLICY_MULTICATEGORICAL;
    }
    if (es->action_kind == ENV_ACTION_DISCRETE && kind == AG_POLICY_CATEGORICAL) {
        return nn_dist_init_discrete(dist, 1, es->action_choices, err, err_sz);
    }
    if (es->action_kind == ENV_ACTION_MULTI_DISCRETE && kind == AG_POLICY_MULTICATEGORICAL) {
        return nn_dist_init_discrete(dist, es->action_dim, es->action_choices, err, err_sz);
    }
    return ag_errorf(err, err_sz, AG_ESPEC, "policy: %s does not fit the %s action space of %s",
                     ag_spec_policy_name(kind),
                     es->action_kind == ENV_ACTION_DISCRETE ? "discrete" : "multi-discrete",
                     spec->task);
}

static void rl_io_from_env(NnIoSpec *io, const EnvSpec *es, const NnDist *dist) {
    memset(io, 0, sizeof *io);
    io->num_inputs = es->num_sensations;
    for (int i = 0; i < es->num_sensations && i < NN_MAX_INPUTS; i++) {
        const EnvSensation *s = &es->sensations[i];
        NnInputSpec *in = &io->inputs[i];
        snprintf(in->name, sizeof in->name, "%s", s->name);
        memcpy(in->shape, s->shape, sizeof in->shape);
        in->size = s->size;
        in->offset = s->offset;
        in->critic_only = s->critic_only;
        snprintf(in->view, sizeof in->view, "%s", s->view);
    }
    io->obs_size = es->obs_size;
    io->policy_outputs = nn_dist_head_outputs(dist);
    io->logstd_dim = nn_dist_logstd_dim(dist);
}

/* broadcasts the parameters (and Adam state) of rank 0 */
static int rl_bcast_params(RlTrainer *t, int with_adam) {
    int rc = MPI_Bcast(nn_model_params(t->model), (int)t->num_params, MPI_FLOAT, 0, t->comm);
    if (rc == MPI_SUCCESS && with_adam) {
        rc = MPI_Bcast(t->adam.m, (int)t->num_params, MPI_FLOAT, 0, t->comm);
        if (rc == MPI_SUCCESS) {
            rc = MPI_Bcast(t->adam.v, (int)t->num_params, MPI_FLOAT, 0, t->comm);
        }
        if (rc == MPI_SUCCESS) {
            rc = MPI_Bcast(&t->adam.step, 1, MPI_INT64_T, 0, t->comm);
        }
    }
    return rc == MPI_SUCCESS ? 0 : AG_EMPI;
}

int rl_trainer_bcast_params(RlTrainer *t) {
    return rl_bcast_params(t, 1);
}

/* The steps of rl_trainer_create, in order; each returns 0 or an AG_E* code with its message
 * in err, and leaves what it made for rl_trainer_destroy. */

/* E, H, L and the other sizes from the spec and the model; a recurrent model learns from
 * chunks of tbptt steps, so the horizon must be whole chunks */
static int rl_trainer_sizes_set(RlTrainer *t, char *err, size_t err_sz) {
    const AgPpoConfig *pc = &t->spec.ppo;
    t->E = pc->envs_per_rank;
    t->H = pc->horizon;
    t->L = nn_model_is_recurrent(t->model) ? pc->tbptt : 1;
    if (t->L < 1 || t->H % t->L != 0) {
        return ag_errorf(err, err_sz, AG_ESPEC,
                         "ppo.horizon: must be a multiple of ppo.tbptt (%d) for a recurrent "
                         "model, got %d",
                         t->L, t->H);
    }
    t->O = t->task.spec.obs_size;
    t->P = t->dist.num_params;
    t->A = t->dist.action_dim;
    t->S = nn_model_state_size(t->model);
    t->U = t->E * t->H / t->L;
    t->num_params = nn_model_num_params(t->model);
    t->total_iterations = ag_spec_iterations(&t->spec);
    t->loss_cfg = (RlLossConfig){.clip = (float)pc->clip,
                                 .value_clip = (float)pc->value_clip,
                                 .c_value = (float)pc->c_value,
                                 .c_entropy = (float)pc->c_entropy};
    return 0;
}

/* the task, the action distribution that fits its action space, and the network */
static int rl_trainer_model_create(RlTrainer *t, char *err, size_t err_sz) {
    int rc = env_task_create(&t->task, t->spec.task, t->spec.task_options, err, err_sz);
    if (rc) {
        return rc;
    }
    t->task_ok = 1;
    const EnvSpec *es = &t->task.spec;
    rc = rl_dist_from_spec(&t->dist, &t->spec, es, err, err_sz);
    if (rc) {
        return rc;
    }
    NnIoSpec io;
    rl_io_from_env(&io, es, &t->dist);
    t->model = nn_model_create(t->spec.model, &io, err, err_sz);
    if (!t->model) {
        return AG_ESPEC;
    }
    return rl_trainer_sizes_set(t, err, err_sz);
}

/* this rank's environments: streams rank * E .. rank * E + E - 1 of the run's seed */
static int rl_trainer_envs_create(RlTrainer *t, char *err, size_t err_sz) {
    int rc = env_batch_create(&t->envs, &t->task, t->E, t->spec.seed, (uint64_t)t->rank * t->E, err,
                              err_sz);
    if (rc) {
        return rc;
    }
    t->envs_ok = 1;
    return 0;
}

/* Adam, and the gradient averaging over ranks (ANGORA_GRAD_AVERAGE chooses how) */
static int rl_trainer_optimizer_create(RlTrainer *t, char *err, size_t err_sz) {
    int rc = nn_adam_init(&t->adam, t->num_params, 0.9f, 0.999f, (float)t->spec.ppo.adam_eps);
    if (rc) {
        return ag_errorf(err, err_sz, rc, "optimizer: out of memory");
    }
    t->adam_ok = 1;
    RlGradKind grad_kind;
    const char *grad_env = getenv("ANGORA_GRAD_AVERAGE");
    if (rl_grad_kind_parse(grad_env, &grad_kind)) {
        return ag_errorf(err, err_sz, AG_EINVAL,
                         "ANGORA_GRAD_AVERAGE: expected auto, mpi or shared, got \"%s\"", grad_env);
    }
    rc = rl_grad_create(&t->grad, t->comm, t->num_params, grad_kind, err, err_sz);
    if (rc) {
        return rc;
    }
    if (t->nranks > 1 && t->rank == 0) {
        ag_log_info("gradient averaging over %d ranks: %s", t->nranks,
                    rl_grad_kind_name(rl_grad_kind(t->grad)));
    }
    return 0;
}

/* whether a frozen encoder's features are cached (ANGORA_ENCODER_CACHE: on, the default, or
 * off to run its pathway in every epoch again, for comparison), and so the width F of a stored
 * observation */
static int rl_trainer_features_choose(RlTrainer *t, char *err, size_t err_sz) {
    const char *cache = getenv("ANGORA_ENCODER_CACHE");
    if (cache && *cache && strcmp(cache, "on") != 0 && strcmp(cache, "off") != 0) {
        return ag_errorf(err, err_sz, AG_EINVAL,
                         "ANGORA_ENCODER_CACHE: expected on or off, got \"%s\"", cache);
    }
    int input = nn_model_feature_input(t->model);
    t->cache_features = input >= 0 && !(cache && strcmp(cache, "off") == 0);
    t->F = t->cache_features ? nn_model_feature_row_size(t->model) : t->O;
    return 0;
}

/* the minibatch plan and the network's workspaces sized for it: spec.minibatch transitions
 * over all ranks, so minibatch / ranks here, in whole sequences */
static int rl_trainer_workspaces_create(RlTrainer *t, char *err, size_t err_sz) {
    double units_per_mb = (double)t->spec.ppo.minibatch / t->nranks / t->L;
    t->num_mb = rl_minibatch_count(t->U, units_per_mb);
    t->MB = (t->U + t->num_mb - 1) / t->num_mb;
    t->step_ctx = nn_step_ctx_create(t->model, t->E);
    t->train_ctx = t->cache_features ? nn_train_ctx_create_features(t->model, t->MB, t->L)
                                     : nn_train_ctx_create(t->model, t->MB, t->L);
    if (!t->step_ctx || !t->train_ctx) {
        return ag_errorf(err, err_sz, AG_ENOMEM, "network workspace: out of memory");
    }
    int input = nn_model_feature_input(t->model);
    if (input >= 0 && t->rank == 0) {
        const NnInputSpec *in = &nn_model_io(t->model)->inputs[input];
        double mb = 1.0 / (1 << 20), row = (double)t->E * t->H * sizeof(float) * mb;
        ag_log_info("frozen encoder: %s; per rank, rollout observations %.1f MB (%d floats a "
                    "step, %.1f MB with the %d floats of %s), training workspace %.1f MB",
                    t->cache_features ? "its features are stored while collecting"
                                      : "not cached (ANGORA_ENCODER_CACHE=off), its pathway runs "
                                        "in every epoch",
                    row * t->F, t->F, row * t->O, in->size, in->name,
                    (double)nn_train_ctx_bytes(t->train_ctx) * mb);
    }
    return 0;
}

/* the observation and return normalisers; the pixels of image sensations pass through the
 * observation normaliser as the environment made them (in [0, 1], as a pretrained encoder saw
 * them), outside its statistics */
static int rl_trainer_normalisers_create(RlTrainer *t, char *err, size_t err_sz) {
    if (rl_stat_init(&t->obs_stat, t->O) || rl_stat_init(&t->obs_synced, t->O) ||
        rl_stat_init(&t->obs_delta, t->O) || rl_stat_init(&t->ret_stat, 1) ||
        rl_stat_init(&t->ret_synced, 1) || rl_stat_init(&t->ret_delta, 1)) {
        return ag_errorf(err, err_sz, AG_ENOMEM, "normaliser: out of memory");
    }
    const EnvSpec *es = &t->task.spec;
    for (int i = 0; i < es->num_sensations; i++) {
        const EnvSensation *s = &es->sensations[i];
        if (env_sensation_is_image(s) &&
            (rl_stat_pass_through(&t->obs_stat, s->offset, s->size) ||
             rl_stat_pass_through(&t->obs_synced, s->offset, s->size) ||
             rl_stat_pass_through(&t->obs_delta, s->offset, s->size))) {
            return ag_errorf(err, err_sz, AG_ENOMEM, "normaliser: out of memory");
        }
    }
    return 0;
}

/* the bytes one array takes in the block: whole aligned units, at least one, so every array
 * starts aligned and has a pointer of its own inside the block */
static size_t rl_buf_span(size_t bytes) {
    size_t n = bytes > 0 ? bytes : 1;
    return (n + RL_BUF_ALIGN - 1) & ~(size_t)(RL_BUF_ALIGN - 1);
}

/* lays the arrays of RL_TRAINER_BUFFERS out one after the other from base, or with base NULL
 * only counts; the bytes they take */
static size_t rl_trainer_buffers_layout(RlTrainer *t, unsigned char *base) {
    /* the sizes RL_TRAINER_BUFFERS is written in */
    const size_t E = (size_t)t->E, H = (size_t)t->H, L = (size_t)t->L, O = (size_t)t->O;
    const size_t F = (size_t)t->F;
    const size_t P = (size_t)t->P, A = (size_t)t->A, U = (size_t)t->U, MB = (size_t)t->MB;
    const size_t S = (size_t)(t->S > 0 ? t->S : 1);
    const size_t G = (size_t)t->nranks * rl_stat_packed_len(&t->obs_stat) + 8;
    size_t used = 0;
#define RL_BUF_CARVE(type, field, d0, d1, d2)                                                      \
    t->field = base ? (type *)(void *)(base + used) : NULL;                                        \
    used += rl_buf_span((d0) * (d1) * (d2) * sizeof(type));
    RL_TRAINER_BUFFERS(RL_BUF_CARVE)
#undef RL_BUF_CARVE
    return used;
}

/* every array of RL_TRAINER_BUFFERS from one zeroed block (after the normalisers, on whose
 * packed size G depends) */
static int rl_trainer_buffers_create(RlTrainer *t, char *err, size_t err_sz) {
    size_t total = rl_trainer_buffers_layout(t, NULL);
    t->buffers = aligned_alloc(RL_BUF_ALIGN, total);
    if (!t->buffers) {
        return ag_errorf(err, err_sz, AG_ENOMEM, "rollout buffers: out of memory");
    }
    memset(t->buffers, 0, total);
    rl_trainer_buffers_layout(t, t->buffers);
    return 0;
}

/* the same start on every rank: rank 0's initial weights, then this rank's streams and the
 * first observations of its environments */
static int rl_trainer_start(RlTrainer *t, char *err, size_t err_sz) {
    AgRng init_rng;
    ag_rng_seed(&init_rng, t->spec.seed ^ RL_SEED_INIT, 0);
    if (t->rank == 0) {
        nn_model_init_params(t->model, &init_rng);
    }
    int rc = rl_bcast_params(t, 0);
    if (rc) {
        return ag_errorf(err, err_sz, rc, "broadcast of the initial weights failed");
    }
    ag_rng_seed(&t->rng_sample, t->spec.seed ^ RL_SEED_SAMPLE, (uint64_t)t->rank);
    ag_rng_seed(&t->rng_shuffle, t->spec.seed ^ RL_SEED_SHUFFLE, (uint64_t)t->rank);
    env_batch_reset(&t->envs, t->obs_raw);
    for (int e = 0; e < t->E; e++) {
        t->pending_reset[e] = 1; /* first step of the first episode: zero state */
    }
    return 0;
}

/* a step of rl_trainer_create (see above) */
typedef int (*RlCreateStep)(RlTrainer *t, char *err, size_t err_sz);

/* the steps in their order: each needs what the ones before it made */
static const RlCreateStep rl_create_steps[] = {
    rl_trainer_model_create,
    rl_trainer_envs_create,
    rl_trainer_optimizer_create,
    rl_trainer_features_choose, /* the width of the stored observations */
    rl_trainer_workspaces_create,
    rl_trainer_normalisers_create,
    rl_trainer_buffers_create,
    rl_trainer_start,
};

int rl_trainer_create(RlTrainer **out, const AgSpec *spec, MPI_Comm comm, char *err,
                      size_t err_sz) {
    *out = NULL;
    RlTrainer *t = calloc(1, sizeof *t);
    if (!t) {
        return ag_errorf(err, err_sz, AG_ENOMEM, "out of memory");
    }
    if (ag_spec_copy(&t->spec, spec)) {
        free(t);
        return ag_errorf(err, err_sz, AG_ENOMEM, "out of memory");
    }
    t->comm = comm;
    MPI_Comm_rank(comm, &t->rank);
    MPI_Comm_size(comm, &t->nranks);
    t->spec.ranks = t->nranks;
    t->best_eval = NAN;

    int rc = 0;
    for (size_t i = 0; i < sizeof rl_create_steps / sizeof rl_create_steps[0] && !rc; i++) {
        rc = rl_create_steps[i](t, err, err_sz);
    }
    if (rc) {
        rl_trainer_destroy(t);
        return rc;
    }
    *out = t;
    return 0;
}

int rl_trainer_check(const AgSpec *spec, char *path, size_t path_sz, char *err, size_t err_sz) {
    RlTrainer *t = calloc(1, sizeof *t);
    const char *where = "";
    NnIoSpec io;
    int rc;
    snprintf(path, path_sz, "%s", "");
    if (!t || ag_spec_copy(&t->spec, spec)) {
        free(t);
        return ag_errorf(err, err_sz, AG_ENOMEM, "out of memory");
    }
    t->nranks = 1;
    /* the task with its options */
    where = json_object_size(t->spec.task_options) ? "task_options" : "task";
    rc = env_task_create(&t->task, t->spec.task, t->spec.task_options, err, err_sz);
    if (rc) {
        goto out;
    }
    t->task_ok = 1;
    /* the action distribution against the task's action space */
    where = "policy";
    rc = rl_dist_from_spec(&t->dist, &t->spec, &t->task.spec, err, err_sz);
    if (rc) {
        goto out;
    }
    /* the network against the observation and action spaces */
    where = "model";
    rl_io_from_env(&io, &t->task.spec, &t->dist);
    t->model = nn_model_create(t->spec.model, &io, err, err_sz);
    if (!t->model) {
        rc = AG_ESPEC;
        goto out;
    }
    where = "ppo.horizon";
    rc = rl_trainer_sizes_set(t, err, err_sz);
    if (rc) {
        goto out;
    }
    /* the policy a fresh run starts from: read as the run would read it */
    if (t->spec.init.checkpoint[0]) {
        where = "init.checkpoint";
        rc = rl_trainer_normalisers_create(t, err, err_sz);
        if (rc) {
            goto out;
        }
        size_t olen = rl_stat_packed_len(&t->obs_stat);
        double *stats = calloc(olen + 3, sizeof(double));
        rc = stats ? rl_trainer_init_read(t, stats, err, err_sz)
                   : ag_errorf(err, err_sz, AG_ENOMEM, "out of memory");
        free(stats);
        if (rc) {
            goto out;
        }
    }
    /* one environment: options read when an episode starts */
    where = json_object_size(t->spec.task_options) ? "task_options" : "task";
    rc = env_batch_create(&t->envs, &t->task, 1, t->spec.seed, 0, err, err_sz);
    t->envs_ok = rc == 0;
out:
    if (rc) {
        /* "model.bogus: unknown key" names a deeper path under the part at fault */
        const char *colon = strstr(err, ": ");
        size_t n = strlen(where);
        if (colon && !strncmp(err, where, n) && strchr(".[:", err[n]) &&
            !memchr(err, ' ', (size_t)(colon - err))) {
            snprintf(path, path_sz, "%.*s", (int)(colon - err), err);
        } else {
            snprintf(path, path_sz, "%s", where);
        }
    }
    rl_trainer_destroy(t);
    return rc;
}

void rl_trainer_destroy(RlTrainer *t) {
    if (!t) {
        return;
    }
    free(t->buffers);
    rl_stat_free(&t->obs_stat);
    rl_stat_free(&t->obs_synced);
    rl_stat_free(&t->obs_delta);
    rl_stat_free(&t->ret_stat);
    rl_stat_free(&t->ret_synced);
    rl_stat_free(&t->ret_delta);
    if (t->train_ctx) {
        nn_train_ctx_destroy(t->train_ctx);
    }
    if (t->step_ctx) {
        nn_step_ctx_destroy(t->step_ctx);
    }
    rl_grad_destroy(t->grad);
    if (t->adam_ok) {
        nn_adam_free(&t->adam);
    }
    if (t->model) {
        nn_model_destroy(t->model);
    }
    if (t->envs_ok) {
        env_batch_destroy(&t->envs);
    }
    if (t->task_ok) {
        env_task_destroy(&t->task);
    }
    ag_spec_free(&t->spec);
    free(t);
}

/* normalises E observations for the policy; with update, they enter the statistics first */
static void rl_obs_prepare(RlTrainer *t, const float *raw, float *out, int n, int update) {
    if (!t->spec.normalize.observations) {
        memcpy(out, raw, (size_t)n * t->O * sizeof *out);
        return;
    }
    if (update) {
        rl_stat_update(&t->obs_stat, raw, n);
        rl_stat_update(&t->obs_delta, raw, n);
    }
    rl_stat_normalize(&t->obs_stat, raw, out, n, (float)t->spec.normalize.clip_obs);
}

/* collects H steps of every environment into the rollout buffers */
void rl_trainer_collect(RlTrainer *t, RlTimings *tm) {
    const int E = t->E, H = t->H, O = t->O, A = t->A, S = t->S, L = t->L, F = t->F;
    const float gamma = (float)t->spec.ppo.gamma;
    double t0 = ag_time_now();
    for (int step = 0; step < H; step++) {
        rl_obs_prepare(t, t->obs_raw, t->obs_norm, E, 1);
        /* recurrent state: zero where a new episode starts, remember it at chunk starts */
        if (S > 0) {
            for (int e = 0; e < E; e++) {
                if (t->pending_reset[e]) {
                    memset(t->state + (size_t)e * S, 0, (size_t)S * sizeof(float));
                }
                if (step % L == 0) {
                    size_t seq = ((size_t)e * H + step) / L;
                    memcpy(t->buf_state0 + seq * S, t->state + (size_t)e * S,
                           (size_t)S * sizeof(float));
                }
            }
        }
        double ti = ag_time_now();
        nn_model_step(t->model, t->step_ctx, E, t->obs_norm, t->state, t->state, t->pol_out,
                      t->val_out);
        if (t->cache_features) {
            /* the frozen encoder's output stored in place of its image: computed here once, read
             * back by every epoch of the update */
            nn_model_step_feature_rows(t->model, t->step_ctx, E, t->obs_norm,
                                       t->buf_obs + (size_t)step * F, (size_t)H * F);
        }
        tm->inference += ag_time_now() - ti;
        nn_dist_sample(&t->dist, E, t->pol_out, &t->rng_sample, t->raw_step);
        nn_dist_log_prob(&t->dist, E, t->pol_out, t->raw_step, t->logp_step);
        nn_dist_to_env(&t->dist, E, t->raw_step, t->env_act);
        for (int e = 0; e < E; e++) {
            size_t row = (size_t)e * H + step;
            if (!t->cache_features) {
                memcpy(t->buf_obs + row * O, t->obs_norm + (size_t)e * O,
                       (size_t)O * sizeof(float));
            }
            memcpy(t->buf_raw + row * A, t->raw_step + (size_t)e * A, (size_t)A * sizeof(float));
            t->buf_logp[row] = t->logp_step[e];
            t->buf_value[row] = t->val_out[e];
            t->buf_reset[row] = t->pending_reset[e];
        }
        double te = ag_time_now();
        env_batch_step(&t->envs, t->env_act, t->obs_raw, t->rew_step, t->term_step, t->trunc_step,
                       t->final_obs);
        tm->env += ag_time_now() - te;
        for (int e = 0; e < E; e++) {
            t->done_step[e] = t->term_step[e] | t->trunc_step[e];
        }
        if (t->spec.normalize.rewards) {
            rl_reward_scale(&t->ret_stat, &t->ret_delta, t->ret_run, t->rew_step, t->done_step, E,
                            t->spec.ppo.gamma, (float)t->spec.normalize.clip_reward, 1);
        }
        /* truncated episodes: bootstrap from the value of their final observation, with the
         * recurrent state that saw the episode (not yet zeroed) */
        int n_tr = 0;
        for (int e = 0; e < E; e++) {
            if (t->trunc_step[e] && !t->term_step[e]) {
                t->fin_idx[n_tr] = e;
                memcpy(t->fin_obs + (size_t)n_tr * O, t->final_obs + (size_t)e * O,
                       (size_t)O * sizeof(float));
                if (S > 0) {
                    memcpy(t->fin_state + (size_t)n_tr * S, t->state + (size_t)e * S,
                           (size_t)S * sizeof(float));
                }
                n_tr++;
            }
        }
        if (n_tr > 0) {
            rl_obs_prepare(t, t->fin_obs, t->fin_obs, n_tr, 0);
            ti = ag_time_now();
            nn_model_step(t->model, t->step_ctx, n_tr, t->fin_obs, t->fin_state, NULL, NULL,
                          t->fin_val);
            tm->inference += ag_time_now() - ti;
            for (int k = 0; k < n_tr; k++) {
                t->rew_step[t->fin_idx[k]] += gamma * t->fin_val[k];
            }
        }
        for (int e = 0; e < E; e++) {
            size_t row = (size_t)e * H + step;
            t->buf_reward[row] = t->rew_step[e];
            t->buf_done[row] = t->done_step[e];
            t->pending_reset[e] = t->done_step[e];
        }
    }
    /* bootstrap values of the observations after the last step */
    rl_obs_prepare(t, t->obs_raw, t->obs_norm, E, 0);
    if (S > 0) {
        memcpy(t->fin_state, t->state, (size_t)E * S * sizeof(float));
        for (int e = 0; e < E; e++) {
            if (t->pending_reset[e]) {
                memset(t->fin_state + (size_t)e * S, 0, (size_t)S * sizeof(float));
            }
        }
    }
    double ti = ag_time_now();
    nn_model_step(t->model, t->step_ctx, E, t->obs_norm, t->fin_state, NULL, NULL, t->last_val);
    tm->inference += ag_time_now() - ti;
    tm->collect += ag_time_now() - t0;
}

/* merges every rank's new normaliser samples into the shared statistics, in rank order */
static int rl_stat_sync(RlTrainer *t, RlRunningStat *stat, RlRunningStat *synced,
                        RlRunningStat *delta) {
    size_t len = rl_stat_packed_len(delta);
    if (t->nranks == 1) {
        rl_stat_merge(synced, delta);
    } else {
        /* each rank packs into its own slot; allgather in place */
        rl_stat_pack(delta, t->gather + (size_t)t->rank * len);
        if (MPI_Allgather(MPI_IN_PLACE, 0, MPI_DATATYPE_NULL, t->gather, (int)len, MPI_DOUBLE,
                          t->comm) != MPI_SUCCESS) {
            return AG_EMPI;
        }
        for (int r = 0; r < t->nranks; r++) {
            rl_stat_merge_packed(synced, t->gather + (size_t)r * len);
        }
    }
    rl_stat_copy(stat, synced);
    rl_stat_clear(delta);
    return 0;
}

/* The steps of rl_trainer_iterate after collection, in order. */

/* sums over the batch of every rank, for the advantages' normalisation and the value
 * function's explained variance; ERR is the value error ret - value */
enum {
    BATCH_ADV,
    BATCH_ADV_SQ,
    BATCH_RET,
    BATCH_RET_SQ,
    BATCH_ERR,
    BATCH_ERR_SQ,
    BATCH_N, /* transitions */
    BATCH_SUMS
};

/* GAE over this rank's rollout, then with the whole batch's sums the explained variance and
 * (when asked) advantages normalised to mean 0 and deviation 1 over all ranks alike */
static int rl_advantages_compute(RlTrainer *t, RlIterStats *st, char *err, size_t err_sz) {
    const AgPpoConfig *pc = &t->spec.ppo;
    const size_t N = (size_t)t->E * t->H;
    rl_gae_compute(t->buf_adv, t->buf_ret, t->buf_reward, t->buf_value, t->buf_done, t->last_val,
                   t->E, t->H, (float)pc->gamma, (float)pc->gae_lambda);
    double sums[BATCH_SUMS] = {0};
    for (size_t i = 0; i < N; i++) {
        double a = t->buf_adv[i], r = t->buf_ret[i], err_v = r - t->buf_value[i];
        sums[BATCH_ADV] += a;
        sums[BATCH_ADV_SQ] += a * a;
        sums[BATCH_RET] += r;
        sums[BATCH_RET_SQ] += r * r;
        sums[BATCH_ERR] += err_v;
        sums[BATCH_ERR_SQ] += err_v * err_v;
    }
    sums[BATCH_N] = (double)N;
    if (t->nranks > 1 && MPI_Allreduce(MPI_IN_PLACE, sums, BATCH_SUMS, MPI_DOUBLE, MPI_SUM,
                                       t->comm) != MPI_SUCCESS) {
        return ag_errorf(err, err_sz, AG_EMPI, "allreduce of the batch statistics failed");
    }
    st->explained_variance = rl_explained_variance(
        sums[BATCH_N], sums[BATCH_RET], sums[BATCH_RET_SQ], sums[BATCH_ERR], sums[BATCH_ERR_SQ]);
    if (pc->normalize_advantages) {
        double mean = sums[BATCH_ADV] / sums[BATCH_N];
        double var = sums[BATCH_ADV_SQ] / sums[BATCH_N] - mean * mean;
        double inv = 1.0 / (sqrt(var > 0 ? var : 0) + 1e-8);
        for (size_t i = 0; i < N; i++) {
            t->buf_adv[i] = (float)((t->buf_adv[i] - mean) * inv);
        }
    }
    return 0;
}

/* what the update adds up for the iteration's statistics (this rank) */
typedef struct RlUpdateSums {
    RlLossStats loss; /* the minibatches' means, summed */
    double grad_norm; /* summed over minibatches */
    int minibatches, epochs;
} RlUpdateSums;

/* one minibatch of B sequences (rollout sequence indexes idx): gathered, forward, PPO loss,
 * backward, the gradient averaged over ranks, clipped, one Adam step; the minibatch's KL is
 * added to *kl_epoch */
static int rl_minibatch_update(RlTrainer *t, const int *idx, int B, double lr, RlUpdateSums *u,
                               double *kl_epoch, RlTimings *tm, char *err, size_t err_sz) {
    const AgPpoConfig *pc = &t->spec.ppo;
    const int F = t->F, A = t->A, S = t->S, L = t->L, P = t->P;
    float *grads = nn_model_grads(t->model);
    int n = B * L;
    double t0 = ag_time_now();
    rl_seq_gather_f(t->mb_obs, t->buf_obs, idx, B, L, (size_t)F);
    rl_seq_gather_f(t->mb_raw, t->buf_raw, idx, B, L, (size_t)A);
    rl_seq_gather_f(t->mb_logp_old, t->buf_logp, idx, B, L, 1);
    rl_seq_gather_f(t->mb_adv, t->buf_adv, idx, B, L, 1);
    rl_seq_gather_f(t->mb_ret, t->buf_ret, idx, B, L, 1);
    rl_seq_gather_f(t->mb_vold, t->buf_value, idx, B, L, 1);
    if (S > 0) {
        rl_seq_gather_f(t->mb_state0, t->buf_state0, idx, B, 1, (size_t)S);
        rl_seq_gather_u8(t->mb_reset, t->buf_reset, idx, B, L);
    }
    if (t->cache_features) {
        nn_model_forward_features(t->model, t->train_ctx, B, t->mb_obs, S > 0 ? t->mb_state0 : NULL,
                                  S > 0 ? t->mb_reset : NULL, t->mb_pol, t->mb_val);
    } else {
        nn_model_forward(t->model, t->train_ctx, B, t->mb_obs, S > 0 ? t->mb_state0 : NULL,
                         S > 0 ? t->mb_reset : NULL, t->mb_pol, t->mb_val);
    }
    nn_dist_log_prob(&t->dist, n, t->mb_pol, t->mb_raw, t->mb_logp);
    nn_dist_entropy(&t->dist, n, t->mb_pol, t->mb_ent);
    double t1 = ag_time_now();
    tm->forward += t1 - t0;
    double kl_before = u->loss.approx_kl;
    rl_ppo_loss(&t->loss_cfg, n, t->mb_logp, t->mb_logp_old, t->mb_adv, t->mb_ent, t->mb_val,
                t->mb_vold, t->mb_ret, t->mb_dlogp, t->mb_dent, t->mb_dval, &u->loss);
    *kl_epoch += u->loss.approx_kl - kl_before;
    memset(t->mb_dpol, 0, (size_t)n * P * sizeof(float));
    nn_dist_backward(&t->dist, n, t->mb_pol, t->mb_raw, t->mb_dlogp, t->mb_dent, t->mb_dpol);
    nn_model_zero_grad(t->model);
    nn_model_backward(t->model, t->train_ctx, t->mb_dpol, t->mb_dval);
    double t2 = ag_time_now();
    tm->backward += t2 - t1;
    /* the one flat gradient block averaged over ranks */
    int rc = rl_grad_mean(t->grad, grads, err, err_sz);
    if (rc) {
        return rc;
    }
    double t3 = ag_time_now();
    tm->allreduce += t3 - t2;
    float gn = pc->grad_clip > 0 ? nn_grad_clip(grads, t->num_params, (float)pc->grad_clip)
                                 : nn_grad_norm(grads, t->num_params);
    u->grad_norm += gn;
    nn_adam_step(&t->adam, nn_model_params(t->model), grads, (float)lr);
    tm->optimizer += ag_time_now() - t3;
    return 0;
}

/* the KL early stop after an epoch: the same decision on every rank, from the mean over
 * ranks of the epoch's mean KL */
static int rl_kl_stop(const RlTrainer *t, double kl_epoch) {
    double kl = kl_epoch / t->num_mb;
    if (t->nranks > 1) {
        MPI_Allreduce(MPI_IN_PLACE, &kl, 1, MPI_DOUBLE, MPI_SUM, t->comm);
        kl /= t->nranks;
    }
    return kl > t->spec.ppo.target_kl;
}

/* epochs of shuffled minibatches of whole sequences, fewer when the KL passes target_kl */
static int rl_update_epochs(RlTrainer *t, double lr, RlUpdateSums *u, RlTimings *tm, char *err,
                            size_t err_sz) {
    const AgPpoConfig *pc = &t->spec.ppo;
    for (int s = 0; s < t->U; s++) {
        t->perm[s] = s;
    }
    for (int epoch = 0; epoch < pc->epochs; epoch++) {
        ag_rng_shuffle(&t->rng_shuffle, t->perm, t->U);
        double kl_epoch = 0.0;
        for (int k = 0; k < t->num_mb; k++) {
            int start, B;
            rl_minibatch_range(t->U, t->num_mb, k, &start, &B);
            int rc = rl_minibatch_update(t, t->perm + start, B, lr, u, &kl_epoch, tm, err, err_sz);
            if (rc) {
                return rc;
            }
            u->minibatches++;
        }
        u->epochs++;
        if (pc->target_kl > 0 && rl_kl_stop(t, kl_epoch)) {
            break;
        }
    }
    return 0;
}

/* the normalisers' new samples merged across ranks */
static int rl_normalisers_sync(RlTrainer *t, char *err, size_t err_sz) {
    if (t->spec.normalize.observations &&
        rl_stat_sync(t, &t->obs_stat, &t->obs_synced, &t->obs_delta)) {
        return ag_errorf(err, err_sz, AG_EMPI, "observation statistics merge failed");
    }
    if (t->spec.normalize.rewards && rl_stat_sync(t, &t->ret_stat, &t->ret_synced, &t->ret_delta)) {
        return ag_errorf(err, err_sz, AG_EMPI, "return statistics merge failed");
    }
    return 0;
}

/* every rank must now hold the same network and statistics: a checksum proves it */
static int rl_ranks_agree(const RlTrainer *t, char *err, size_t err_sz) {
    if (t->nranks == 1) {
        return 0;
    }
    uint32_t crc = nn_crc32(0, nn_model_params_const(t->model), t->num_params * sizeof(float));
    crc = nn_crc32(crc, t->obs_stat.mean, (size_t)t->O * sizeof(double));
    unsigned long long mm[2] = {crc, ~(unsigned long long)crc};
    if (MPI_Allreduce(MPI_IN_PLACE, mm, 2, MPI_UNSIGNED_LONG_LONG, MPI_MAX, t->comm) !=
        MPI_SUCCESS) {
        return ag_errorf(err, err_sz, AG_EMPI, "allreduce of the state checksum failed");
    }
    if (mm[0] != ~mm[1]) {
        return ag_errorf(err, err_sz, AG_EMPI,
                         "ranks hold different parameters or statistics after iteration %lld",
                         (long long)t->iteration + 1);
    }
    return 0;
}

/* the iteration's sums, reduced over ranks in one call; the task metrics' sums follow
 * STAT_COUNT, one per metric */
enum {
    STAT_EPISODES,
    STAT_RETURN,
    STAT_RETURN_SQ,
    STAT_LENGTH,
    STAT_UNSTABLE,
    STAT_STEPS,
    STAT_POLICY_LOSS,
    STAT_VALUE_LOSS,
    STAT_ENTROPY,
    STAT_APPROX_KL,
    STAT_CLIP_FRACTION,
    STAT_GRAD_NORM,
    STAT_COUNT
};

/* the episode statistics (taken from the environments) and the update's losses of all ranks
 * into st: per episode, per minibatch of every rank; env_steps_iter is the steps of all ranks */
static int rl_iter_stats_reduce(RlTrainer *t, const RlUpdateSums *u, RlIterStats *st, char *err,
                                size_t err_sz) {
    EnvBatchStats es;
    env_batch_stats_take(&t->envs, &es);
    const EnvSpec *spec = &t->task.spec;
    double red[STAT_COUNT + ENV_MAX_METRICS] = {0};
    red[STAT_EPISODES] = (double)es.episodes;
    red[STAT_RETURN] = es.return_sum;
    red[STAT_RETURN_SQ] = es.return_sq_sum;
    red[STAT_LENGTH] = es.length_sum;
    red[STAT_UNSTABLE] = (double)es.unstable;
    red[STAT_STEPS] = (double)es.steps;
    red[STAT_POLICY_LOSS] = u->loss.policy_loss;
    red[STAT_VALUE_LOSS] = u->loss.value_loss;
    red[STAT_ENTROPY] = u->loss.entropy;
    red[STAT_APPROX_KL] = u->loss.approx_kl;
    red[STAT_CLIP_FRACTION] = u->loss.clip_fraction;
    red[STAT_GRAD_NORM] = u->grad_norm;
    for (int m = 0; m < spec->num_metrics; m++) {
        red[STAT_COUNT + m] = es.metric_sums[m];
    }
    int nred = STAT_COUNT + spec->num_metrics;
    if (t->nranks > 1 &&
        MPI_Allreduce(MPI_IN_PLACE, red, nred, MPI_DOUBLE, MPI_SUM, t->comm) != MPI_SUCCESS) {
        return ag_errorf(err, err_sz, AG_EMPI, "allreduce of the iteration statistics failed");
    }
    double episodes = red[STAT_EPISODES];
    st->env_steps_iter = (int64_t)red[STAT_STEPS];
    st->episodes = (int64_t)episodes;
    st->unstable = (int64_t)red[STAT_UNSTABLE];
    if (episodes > 0) {
        st->return_mean = red[STAT_RETURN] / episodes;
        double var = red[STAT_RETURN_SQ] / episodes - st->return_mean * st->return_mean;
        st->return_std = sqrt(var > 0 ? var : 0);
        st->episode_length_mean = red[STAT_LENGTH] / episodes;
    } else {
        st->return_mean = st->return_std = st->episode_length_mean = NAN;
    }
    st->num_metrics = spec->num_metrics;
    for (int m = 0; m < spec->num_metrics; m++) {
        snprintf(st->metric_names[m], sizeof st->metric_names[m], "%s", spec->metric_names[m]);
        st->metrics[m] = episodes > 0 ? red[STAT_COUNT + m] / episodes : NAN;
    }
    double denom = (double)(u->minibatches > 0 ? u->minibatches : 1) * t->nranks;
    st->policy_loss = red[STAT_POLICY_LOSS] / denom;
    st->value_loss = red[STAT_VALUE_LOSS] / denom;
    st->entropy = red[STAT_ENTROPY] / denom;
    st->approx_kl = red[STAT_APPROX_KL] / denom;
    st->clip_fraction = red[STAT_CLIP_FRACTION] / denom;
    st->grad_norm = red[STAT_GRAD_NORM] / denom;
    st->epochs = u->epochs;
    st->minibatches = u->minibatches;
    return 0;
}

int rl_trainer_iterate(RlTrainer *t, RlIterStats *st, char *err, size_t err_sz) {
    memset(st, 0, sizeof *st);
    RlTimings *tm = &st->time;

    rl_trainer_collect(t, tm);

    /* update */
    double tu = ag_time_now();
    int rc = rl_advantages_compute(t, st, err, err_sz);
    if (rc) {
        return rc;
    }
    double lr = ag_spec_lr_at(&t->spec, t->iteration);
    st->lr = lr;
    RlUpdateSums u;
    memset(&u, 0, sizeof u);
    rc = rl_update_epochs(t, lr, &u, tm, err, err_sz);
    if (rc) {
        return rc;
    }
    tm->update += ag_time_now() - tu;

    /* every rank the same again, then the statistics */
    rc = rl_normalisers_sync(t, err, err_sz);
    if (!rc) {
        rc = rl_ranks_agree(t, err, err_sz);
    }
    if (!rc) {
        rc = rl_iter_stats_reduce(t, &u, st, err, err_sz);
    }
    if (rc) {
        return rc;
    }
    t->iteration++;
    t->env_steps += st->env_steps_iter;
    st->iteration = t->iteration;
    st->env_steps = t->env_steps;
    return 0;
}

int64_t rl_trainer_iteration(const RlTrainer *t) {
    return t->iteration;
}

int64_t rl_trainer_total_iterations(const RlTrainer *t) {
    return t->total_iterations;
}

int64_t rl_trainer_env_steps(const RlTrainer *t) {
    return t->env_steps;
}

NnModel *rl_trainer_model(RlTrainer *t) {
    return t->model;
}

const EnvTask *rl_trainer_task(const RlTrainer *t) {
    return &t->task;
}

int rl_trainer_rank(const RlTrainer *t) {
    return t->rank;
}

double rl_trainer_best_eval(const RlTrainer *t) {
    return t->best_eval;
}

void rl_trainer_set_best_eval(RlTrainer *t, double best) {
    t->best_eval = best;
}
