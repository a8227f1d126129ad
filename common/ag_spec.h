/* The experiment spec: one JSON document describes an experiment (task, model, policy, PPO,
 * normalisation, budget, ranks, seed, checkpoints, evaluation). Parsing applies a preset and the
 * documented defaults (docs/spec.md) and validates every value, naming the JSON path of the
 * first bad one. The same code serves angoractl (local check), angorad and angora-train.
 *
 * Task names and option contents are checked by the server against its task catalogue; here the
 * task is a non-empty name and task_options an object. The model is a preset name or a full
 * description object, checked in depth when the network is built (server/nn). */
#ifndef AG_SPEC_H
#define AG_SPEC_H

#include "ag_executor.h"
#include "ag_json.h"

#include <stdint.h>

#define AG_SPEC_NAME_MAX 128
#define AG_SPEC_TASK_MAX 64
#define AG_SPEC_TAGS_MAX 16
#define AG_SPEC_PATH_MAX 1024

typedef enum AgPolicyKind {
    AG_POLICY_AUTO = 0, /* categorical for discrete actions, beta for bounded boxes */
    AG_POLICY_GAUSSIAN,
    AG_POLICY_BETA,
    AG_POLICY_CATEGORICAL,
    AG_POLICY_MULTICATEGORICAL
} AgPolicyKind;

typedef enum AgLrSchedule { AG_LR_CONSTANT = 0, AG_LR_LINEAR, AG_LR_EXPONENTIAL } AgLrSchedule;

typedef struct AgPpoConfig {
    int envs_per_rank; /* environments stepped as one batch on each rank */
    int horizon;       /* steps per environment per cycle */
    int epochs;
    int minibatch; /* transitions per minibatch, over all ranks */
    double lr;
    AgLrSchedule lr_schedule;
    double lr_decay; /* exponential: lr * lr_decay^cycle */
    double lr_final; /* linear: from lr to lr * lr_final over the budget */
    double clip;
    double c_entropy;
    double c_value;
    double gae_lambda;
    double gamma;
    double grad_clip;  /* global norm; 0 disables */
    double value_clip; /* 0 disables value clipping */
    int tbptt;         /* sequence length for recurrent policies */
    double target_kl;  /* 0 disables the early stop */
    double adam_eps;
    int normalize_advantages;
} AgPpoConfig;

typedef struct AgNormalizeConfig {
    int observations;
    int rewards;
    double clip_obs;
    double clip_reward;
} AgNormalizeConfig;

typedef struct AgEvalConfig {
    int every; /* iterations between evaluations; 0 disables */
    int episodes;
    int deterministic;
} AgEvalConfig;

/* A fresh run may start from another run's policy (docs/spec.md, "init"): the weights of both
 * networks and the observation and return normalisers of a training checkpoint whose model is
 * this run's, possibly of another task with the same observations and actions. A resumed run
 * continues from its own checkpoint and no longer reads this file. */
typedef struct AgSpecInit {
    char checkpoint[AG_SPEC_PATH_MAX]; /* "" when the run starts from fresh weights */
    char sha256[65];                   /* the file's SHA-256 in hex; "" when not given */
} AgSpecInit;

typedef struct AgSpec {
    char name[AG_SPEC_NAME_MAX];
    char task[AG_SPEC_TASK_MAX];
    char preset[32];      /* "default", "locomotion", "hand" or "" */
    json_t *task_options; /* owned; an object (empty when absent) */
    json_t *model;        /* owned; a string (preset name) or an object */
    AgPolicyKind policy;
    int bins; /* multicategorical bins per action dimension */
    AgPpoConfig ppo;
    AgNormalizeConfig normalize;
    int64_t budget_env_steps;
    int ranks;
    uint64_t seed;
    int checkpoint_every; /* iterations between numbered checkpoints; 0 = only last/best */
    AgEvalConfig eval;
    int num_tags;
    char tags[AG_SPEC_TAGS_MAX][64];
    char notes[1024];
    AgExecutor executor; /* where the daemon runs it; kind AG_EXECUTOR_DEFAULT when absent */
    AgSpecInit init;
} AgSpec;

/* parses and validates; on failure returns AG_ESPEC (AG_ENOMEM when out of memory) with e
 * filled and leaves out empty */
int ag_spec_parse(const json_t *doc, AgSpec *out, AgJsonErr *e);
/* the complete spec with every default filled in (new reference) */
json_t *ag_spec_to_json(const AgSpec *spec);
void ag_spec_free(AgSpec *spec);
/* deep copy */
int ag_spec_copy(AgSpec *dst, const AgSpec *src);
/* the documented defaults as a JSON object (for the catalogue and docs) */
json_t *ag_spec_defaults_json(const char *preset);
/* names of the PPO presets, NULL-terminated */
extern const char *const ag_spec_preset_names[];

/* iterations needed to reach the budget: ceil(budget / (ranks * envs * horizon)) */
int64_t ag_spec_iterations(const AgSpec *spec);

/* parses JSON text then the spec: AG_EJSON (e has line and column) or AG_ESPEC */
int ag_spec_parse_text(const char *text, size_t len, AgSpec *out, AgJsonErr *e);
/* transitions collected per iteration over all ranks: ranks * envs_per_rank * horizon */
int64_t ag_spec_batch_size(const AgSpec *spec);
/* learning rate of PPO iteration (cycle) `iteration`, 0-based, by the spec's schedule:
 * constant lr; linear from lr to lr * lr_final over ag_spec_iterations; exponential
 * lr * lr_decay^iteration */
double ag_spec_lr_at(const AgSpec *spec, int64_t iteration);
/* "auto", "gaussian", ...; "?" when out of range */
const char *ag_spec_policy_name(AgPolicyKind kind);
/* "constant", "linear", "exponential"; "?" when out of range */
const char *ag_spec_lr_schedule_name(AgLrSchedule schedule);

#endif
