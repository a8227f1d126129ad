/* The experiment spec: presets, parsing with range and cross-field checks, and the resolved
 * spec as JSON. Every key, default and range is documented in docs/spec.md; keep the two in
 * step.
 *
 * DESIGN
 * - A preset is a complete table of defaults; parsing reads every key with the preset's value
 *   as its default, so explicit keys always win and absent ones are filled in.
 * - ag_spec_to_json emits every key, so parsing its output gives back the same spec. Defaults
 *   that depend on other keys (name from task, tbptt from the model name) resolve to values
 *   that parse the same way when given explicitly, which keeps that round trip exact.
 * - Errors name the JSON path of the first bad value; members are checked for unknown keys
 *   before their values so a typo is reported as such. */
#include "ag_spec.h"

#include "ag_model.h"

#include "ag_error.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

/* bounds (docs/spec.md lists the same numbers) */
#define SPEC_SEED_MAX        9007199254740991LL /* 2^53 - 1: exact in every JSON reader */
#define SPEC_BUDGET_MAX      1000000000000LL
#define SPEC_RANKS_MAX       1024
#define SPEC_ENVS_MAX        4096
#define SPEC_HORIZON_MAX     100000
#define SPEC_EPOCHS_MAX      1000
#define SPEC_TBPTT_MAX       1024
#define SPEC_BINS_MIN        2
#define SPEC_BINS_MAX        255
#define SPEC_PERIOD_MAX      1000000
#define SPEC_EPISODES_MAX    10000
#define SPEC_MODEL_NAME_MAX  64
#define SPEC_TAG_LEN         64
#define SPEC_RECURRENT_TBPTT 16

static const char *const policy_names[] = {"auto",        "gaussian",         "beta",
                                           "categorical", "multicategorical", NULL};
static const char *const schedule_names[] = {"constant", "linear", "exponential", NULL};

const char *const ag_spec_preset_names[] = {"default", "locomotion", "hand", NULL};

static const char *const top_keys[] = {
    "name",  "task", "task_options",     "model", "policy", "ppo",  "normalize", "budget",
    "ranks", "seed", "checkpoint_every", "eval",  "preset", "tags", "notes",     "executor",
    "init",  NULL};
static const char *const ppo_keys[] = {"envs_per_rank",
                                       "horizon",
                                       "epochs",
                                       "minibatch",
                                       "lr",
                                       "lr_schedule",
                                       "lr_decay",
                                       "lr_final",
                                       "clip",
                                       "c_entropy",
                                       "c_value",
                                       "gae_lambda",
                                       "gamma",
                                       "grad_clip",
                                       "value_clip",
                                       "tbptt",
                                       "target_kl",
                                       "adam_eps",
                                       "normalize_advantages",
                                       NULL};
static const char *const normalize_keys[] = {"observations", "rewards", "clip_obs", "clip_reward",
                                             NULL};
static const char *const budget_keys[] = {"env_steps", NULL};
static const char *const eval_keys[] = {"every", "episodes", "deterministic", NULL};
static const char *const policy_keys[] = {"distribution", "bins", NULL};

typedef struct SpecPreset {
    const char *model;
    AgPolicyKind policy;
    int bins;
    AgPpoConfig ppo;
    /* tbptt when not given and the model preset's name says it is recurrent */
    int recurrent_tbptt;
    AgNormalizeConfig normalize;
    int64_t budget_env_steps;
    int ranks;
    uint64_t seed;
    int checkpoint_every;
    AgEvalConfig eval;
} SpecPreset;

/* Sized for a 2-core machine: one rank steps a batch of environments; a PPO iteration collects
 * a few thousand transitions so that an iteration takes seconds, not minutes. */
static const SpecPreset spec_preset_default = {
    .model = "simple",
    .policy = AG_POLICY_AUTO,
    .bins = 11,
    .ppo = {.envs_per_rank = 8,
            .horizon = 256,
            .epochs = 4,
            .minibatch = 256,
            .lr = 3e-4,
            .lr_schedule = AG_LR_CONSTANT,
            .lr_decay = 0.999,
            .lr_final = 0.0,
            .clip = 0.2,
            .c_entropy = 0.01,
            .c_value = 0.5,
            .gae_lambda = 0.95,
            .gamma = 0.99,
            .grad_clip = 0.5,
            .value_clip = 0.0,
            .tbptt = 1,
            .target_kl = 0.0,
            .adam_eps = 1e-5,
            .normalize_advantages = 1},
    .recurrent_tbptt = SPEC_RECURRENT_TBPTT,
    .normalize = {.observations = 1, .rewards = 1, .clip_obs = 10.0, .clip_reward = 10.0},
    .budget_env_steps = 1000000,
    .ranks = 1,
    .seed = 0,
    .checkpoint_every = 0,
    .eval = {.every = 10, .episodes = 10, .deterministic = 1},
};

/* the other presets say only how they differ from the default */

/* more epochs over smaller minibatches, a decaying learning rate and no entropy bonus */
static void spec_preset_locomotion(SpecPreset *p) {
    p->ppo.epochs = 10;
    p->ppo.minibatch = 64;
    p->ppo.lr_schedule = AG_LR_LINEAR;
    p->ppo.c_entropy = 0.0;
}

/* a recurrent model with a bounded action distribution, many environments and a long budget;
 * the model is sized so that training keeps up with the physics (docs/model.md) */
static void spec_preset_hand(SpecPreset *p) {
    p->model = "hand_lstm";
    p->policy = AG_POLICY_BETA;
    p->ppo.envs_per_rank = 32;
    p->ppo.epochs = 2;
    p->ppo.minibatch = 2048;
    p->ppo.lr_schedule = AG_LR_EXPONENTIAL;
    p->ppo.c_value = 1.0;
    p->ppo.gamma = 0.998;
    p->ppo.tbptt = 16;
    p->budget_env_steps = 20000000;
    p->checkpoint_every = 100;
    p->eval.every = 20;
}

/* in the order of ag_spec_preset_names; NULL for the default itself */
static void (*const spec_preset_adjust[])(SpecPreset *) = {NULL, spec_preset_locomotion,
                                                           spec_preset_hand};
_Static_assert(sizeof spec_preset_adjust / sizeof spec_preset_adjust[0] ==
                   sizeof ag_spec_preset_names / sizeof ag_spec_preset_names[0] - 1,
               "one adjust function per preset name");

/* the preset at index (of ag_spec_preset_names) into *out, built from the default */
static void spec_preset_get(int index, SpecPreset *out) {
    *out = spec_preset_default;
    if (spec_preset_adjust[index]) {
        spec_preset_adjust[index](out);
    }
}

/* the index of the preset called name, -1 when there is none */
static int spec_preset_find(const char *name) {
    for (int i = 0; ag_spec_preset_names[i]; i++) {
        if (strcmp(ag_spec_preset_names[i], name) == 0) {
            return i;
        }
    }
    return -1;
}

const char *ag_spec_policy_name(AgPolicyKind kind) {
    if ((int)kind < 0 || (int)kind > AG_POLICY_MULTICATEGORICAL) {
        return "?";
    }
    return policy_names[kind];
}

const char *ag_spec_lr_schedule_name(AgLrSchedule schedule) {
    if ((int)schedule < 0 || (int)schedule > AG_LR_EXPONENTIAL) {
        return "?";
    }
    return schedule_names[schedule];
}

/* ---- readers with the spec's conventions ---- */

static int get_int(const json_t *obj, const char *base, const char *key, long long def,
                   long long min, long long max, int *out, AgJsonErr *e) {
    long long v;
    int rc = ag_json_get_int(obj, base, key, def, min, max, &v, e);
    if (rc == AG_OK) {
        *out = (int)v;
    }
    return rc;
}

/* a number in (0, max]: zero is refused with its own message */
static int get_positive(const json_t *obj, const char *base, const char *key, double def,
                        double max, double *out, AgJsonErr *e) {
    int rc = ag_json_get_double(obj, base, key, def, 0.0, max, out, e);
    if (rc == AG_OK && *out <= 0.0) {
        char path[AG_JSON_PATH_MAX];
        ag_json_path_key(path, sizeof path, base, key);
        return ag_json_fail(e, path, "must be greater than 0 and at most %g, got %g", max, *out);
    }
    return rc;
}

static int text_is_printable(const char *s) {
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p < 0x20 || *p == 0x7f) {
            return 0;
        }
    }
    return 1;
}

static int text_is_identifier(const char *s) {
    for (const char *p = s; *p; p++) {
        char c = *p;
        int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                 c == '_' || c == '-' || c == '.';
        if (!ok) {
            return 0;
        }
    }
    return 1;
}

/* ---- sections ---- */

static int spec_parse_policy(const json_t *doc, const SpecPreset *p, AgSpec *out, AgJsonErr *e) {
    const json_t *v = json_object_get(doc, "policy");
    int kind = (int)p->policy;
    int rc = AG_OK;
    out->bins = p->bins;
    if (!v || json_is_null(v)) {
        /* preset values */
    } else if (json_is_string(v)) {
        rc = ag_json_get_enum(doc, "", "policy", policy_names, kind, &kind, e);
    } else if (json_is_object(v)) {
        rc = ag_json_check_keys(v, "policy", policy_keys, e);
        if (!rc) {
            rc = ag_json_get_enum(v, "policy", "distribution", policy_names, kind, &kind, e);
        }
        if (!rc) {
            rc = get_int(v, "policy", "bins", p->bins, SPEC_BINS_MIN, SPEC_BINS_MAX, &out->bins, e);
        }
    } else {
        rc = ag_json_fail(e, "policy",
                          "must be a distribution name (auto, gaussian, beta, categorical, "
                          "multicategorical) or an object {\"distribution\", \"bins\"}");
    }
    out->policy = (AgPolicyKind)kind;
    return rc;
}

/* The section readers: s is the section's object, NULL when absent (every value is then the
 * preset's); spec_parse_section has checked it for unknown keys. */
typedef int (*SpecSectionRead)(const json_t *s, const SpecPreset *p, AgSpec *out, AgJsonErr *e);

static int spec_read_ppo(const json_t *s, const SpecPreset *p, AgSpec *out, AgJsonErr *e) {
    int rc;
    const AgPpoConfig *d = &p->ppo;
    AgPpoConfig *c = &out->ppo;
    const char *b = "ppo";
    int lr_schedule = (int)d->lr_schedule;
    int tbptt_default = ag_model_is_recurrent(out->model) ? p->recurrent_tbptt : d->tbptt;
    if ((rc = get_int(s, b, "envs_per_rank", d->envs_per_rank, 1, SPEC_ENVS_MAX, &c->envs_per_rank,
                      e)) ||
        (rc = get_int(s, b, "horizon", d->horizon, 1, SPEC_HORIZON_MAX, &c->horizon, e)) ||
        (rc = get_int(s, b, "epochs", d->epochs, 1, SPEC_EPOCHS_MAX, &c->epochs, e)) ||
        (rc = get_int(s, b, "minibatch", d->minibatch, 1, INT32_MAX, &c->minibatch, e)) ||
        (rc = get_positive(s, b, "lr", d->lr, 1.0, &c->lr, e)) ||
        (rc =
             ag_json_get_enum(s, b, "lr_schedule", schedule_names, lr_schedule, &lr_schedule, e)) ||
        (rc = get_positive(s, b, "lr_decay", d->lr_decay, 1.0, &c->lr_decay, e)) ||
        (rc = ag_json_get_double(s, b, "lr_final", d->lr_final, 0.0, 1.0, &c->lr_final, e)) ||
        (rc = get_positive(s, b, "clip", d->clip, 1.0, &c->clip, e)) ||
        (rc = ag_json_get_double(s, b, "c_entropy", d->c_entropy, 0.0, 1.0, &c->c_entropy, e)) ||
        (rc = ag_json_get_double(s, b, "c_value", d->c_value, 0.0, 100.0, &c->c_value, e)) ||
        (rc = ag_json_get_double(s, b, "gae_lambda", d->gae_lambda, 0.0, 1.0, &c->gae_lambda, e)) ||
        (rc = ag_json_get_double(s, b, "gamma", d->gamma, 0.0, 1.0, &c->gamma, e)) ||
        (rc = ag_json_get_double(s, b, "grad_clip", d->grad_clip, 0.0, 1e6, &c->grad_clip, e)) ||
        (rc = ag_json_get_double(s, b, "value_clip", d->value_clip, 0.0, 1e6, &c->value_clip, e)) ||
        (rc = get_int(s, b, "tbptt", tbptt_default, 1, SPEC_TBPTT_MAX, &c->tbptt, e)) ||
        (rc = ag_json_get_double(s, b, "target_kl", d->target_kl, 0.0, 10.0, &c->target_kl, e)) ||
        (rc = ag_json_get_double(s, b, "adam_eps", d->adam_eps, 1e-12, 1.0, &c->adam_eps, e)) ||
        (rc = ag_json_get_bool(s, b, "normalize_advantages", d->normalize_advantages,
                               &c->normalize_advantages, e))) {
        return rc;
    }
    c->lr_schedule = (AgLrSchedule)lr_schedule;
    return AG_OK;
}

static int spec_read_normalize(const json_t *s, const SpecPreset *p, AgSpec *out, AgJsonErr *e) {
    int rc;
    const AgNormalizeConfig *d = &p->normalize;
    AgNormalizeConfig *c = &out->normalize;
    const char *b = "normalize";
    if ((rc = ag_json_get_bool(s, b, "observations", d->observations, &c->observations, e)) ||
        (rc = ag_json_get_bool(s, b, "rewards", d->rewards, &c->rewards, e)) ||
        (rc = get_positive(s, b, "clip_obs", d->clip_obs, 1e6, &c->clip_obs, e)) ||
        (rc = get_positive(s, b, "clip_reward", d->clip_reward, 1e6, &c->clip_reward, e))) {
        return rc;
    }
    return AG_OK;
}

static int spec_read_budget(const json_t *s, const SpecPreset *p, AgSpec *out, AgJsonErr *e) {
    long long env_steps;
    int rc = ag_json_get_int(s, "budget", "env_steps", p->budget_env_steps, 1, SPEC_BUDGET_MAX,
                             &env_steps, e);
    if (rc == AG_OK) {
        out->budget_env_steps = env_steps;
    }
    return rc;
}

static int spec_read_eval(const json_t *s, const SpecPreset *p, AgSpec *out, AgJsonErr *e) {
    int rc;
    const AgEvalConfig *d = &p->eval;
    AgEvalConfig *c = &out->eval;
    if ((rc = get_int(s, "eval", "every", d->every, 0, SPEC_PERIOD_MAX, &c->every, e)) ||
        (rc = get_int(s, "eval", "episodes", d->episodes, 1, SPEC_EPISODES_MAX, &c->episodes, e)) ||
        (rc = ag_json_get_bool(s, "eval", "deterministic", d->deterministic, &c->deterministic,
                               e))) {
        return rc;
    }
    return AG_OK;
}

/* the member key as an object (absent or null: no object, the reader gives the defaults),
 * checked for unknown keys, then read */
static int spec_parse_section(const json_t *doc, const char *key, const char *const *allowed,
                              SpecSectionRead read, const SpecPreset *p, AgSpec *out,
                              AgJsonErr *e) {
    const json_t *v = json_object_get(doc, key);
    if (!v || json_is_null(v)) {
        return read(NULL, p, out, e);
    }
    int rc = ag_json_expect_object(v, key, e);
    if (rc) {
        return rc;
    }
    rc = ag_json_check_keys(v, key, allowed, e);
    if (rc) {
        return rc;
    }
    return read(v, p, out, e);
}

/* {"checkpoint": path[, "sha256": hex]}: what the file holds is checked when the trainer is
 * built (rl_trainer_check), which can read it */
static int spec_parse_init(const json_t *doc, AgSpec *out, AgJsonErr *e) {
    static const char *const keys[] = {"checkpoint", "sha256", NULL};
    const json_t *v = json_object_get(doc, "init");
    AgSpecInit *in = &out->init;
    int rc;
    if (!v || json_is_null(v)) {
        return AG_OK;
    }
    if ((rc = ag_json_expect_object(v, "init", e)) ||
        (rc = ag_json_check_keys(v, "init", keys, e))) {
        return rc;
    }
    if (!json_object_get(v, "checkpoint")) {
        return ag_json_fail(e, "init.checkpoint",
                            "missing (the training checkpoint to start from)");
    }
    if ((rc = ag_json_get_string(v, "init", "checkpoint", NULL, in->checkpoint,
                                 sizeof in->checkpoint, e)) ||
        (rc = ag_json_get_string(v, "init", "sha256", NULL, in->sha256, sizeof in->sha256, e))) {
        return rc;
    }
    if (!in->checkpoint[0] || !text_is_printable(in->checkpoint)) {
        return ag_json_fail(e, "init.checkpoint",
                            "must be a non-empty path without control characters");
    }
    size_t n = strlen(in->sha256);
    if (json_object_get(v, "sha256") && (n != 64 || strspn(in->sha256, "0123456789abcdef") != n)) {
        return ag_json_fail(e, "init.sha256", "must be 64 lowercase hexadecimal digits, got \"%s\"",
                            in->sha256);
    }
    return AG_OK;
}

static int spec_parse_tags(const json_t *doc, AgSpec *out, AgJsonErr *e) {
    const json_t *tags = json_object_get(doc, "tags");
    if (!tags || json_is_null(tags)) {
        return AG_OK;
    }
    if (!json_is_array(tags)) {
        return ag_json_fail(e, "tags", "must be an array of strings");
    }
    if (json_array_size(tags) > AG_SPEC_TAGS_MAX) {
        return ag_json_fail(e, "tags", "has %zu tags, at most %d are allowed",
                            json_array_size(tags), AG_SPEC_TAGS_MAX);
    }
    for (size_t i = 0; i < json_array_size(tags); i++) {
        const json_t *t = json_array_get(tags, i);
        char path[AG_JSON_PATH_MAX];
        ag_json_path_index(path, sizeof path, "tags", i);
        if (!json_is_string(t)) {
            return ag_json_fail(e, path, "must be a string");
        }
        const char *s = json_string_value(t);
        size_t len = json_string_length(t);
        if (len == 0 || len >= SPEC_TAG_LEN || strlen(s) != len || !text_is_printable(s)) {
            return ag_json_fail(e, path, "must be 1 to %d printable characters, got %zu characters",
                                SPEC_TAG_LEN - 1, len);
        }
        for (int j = 0; j < out->num_tags; j++) {
            if (strcmp(out->tags[j], s) == 0) {
                return ag_json_fail(e, path, "repeats the tag \"%s\"", s);
            }
        }
        memcpy(out->tags[out->num_tags], s, len + 1);
        out->num_tags++;
    }
    return AG_OK;
}

static int spec_parse_model(const json_t *doc, const SpecPreset *p, AgSpec *out, AgJsonErr *e) {
    const json_t *v = json_object_get(doc, "model");
    if (!v || json_is_null(v)) {
        out->model = json_string(p->model);
    } else if (json_is_string(v)) {
        const char *s = json_string_value(v);
        size_t len = json_string_length(v);
        if (len == 0 || len >= SPEC_MODEL_NAME_MAX || strlen(s) != len || !text_is_identifier(s)) {
            return ag_json_fail(e, "model",
                                "a model preset name must be 1 to %d letters, digits, '_', '-' "
                                "or '.'",
                                SPEC_MODEL_NAME_MAX - 1);
        }
        out->model = json_string(s);
    } else if (json_is_object(v)) {
        out->model = json_deep_copy(v);
    } else {
        return ag_json_fail(e, "model",
                            "must be a model preset name (e.g. \"simple\", \"wider_lstm\") or a "
                            "description object");
    }
    if (!out->model) {
        ag_json_fail(e, "model", "out of memory");
        return AG_ENOMEM;
    }
    return AG_OK;
}

static int spec_parse_task(const json_t *doc, AgSpec *out, AgJsonErr *e) {
    const json_t *v = json_object_get(doc, "task");
    if (!v || json_is_null(v)) {
        return ag_json_fail(e, "task", "is required (the name of a task, e.g. \"CartPole\")");
    }
    int rc = ag_json_get_string(doc, "", "task", NULL, out->task, sizeof out->task, e);
    if (rc) {
        return rc;
    }
    if (!out->task[0] || !text_is_identifier(out->task)) {
        return ag_json_fail(e, "task",
                            "must be a non-empty name of letters, digits, '_', '-' "
                            "or '.'");
    }
    v = json_object_get(doc, "task_options");
    if (!v || json_is_null(v)) {
        out->task_options = json_object();
    } else {
        rc = ag_json_expect_object(v, "task_options", e);
        if (rc) {
            return rc;
        }
        out->task_options = json_deep_copy(v);
    }
    if (!out->task_options) {
        ag_json_fail(e, "task_options", "out of memory");
        return AG_ENOMEM;
    }
    return AG_OK;
}

/* checks that involve several fields, once every field is known */
static int spec_check_cross(const AgSpec *s, AgJsonErr *e) {
    int64_t batch = ag_spec_batch_size(s);
    if ((int64_t)s->ppo.minibatch > batch) {
        return ag_json_fail(e, "ppo.minibatch",
                            "is %d but one iteration collects only %lld transitions "
                            "(ranks %d x envs_per_rank %d x horizon %d)",
                            s->ppo.minibatch, (long long)batch, s->ranks, s->ppo.envs_per_rank,
                            s->ppo.horizon);
    }
    if (s->ppo.tbptt > 1) {
        /* recurrent training cuts each environment's rollout into tbptt-step sequences */
        if (s->ppo.horizon % s->ppo.tbptt != 0) {
            return ag_json_fail(e, "ppo.horizon",
                                "must be a multiple of ppo.tbptt (%d) for recurrent training, "
                                "got %d",
                                s->ppo.tbptt, s->ppo.horizon);
        }
        if (s->ppo.minibatch % s->ppo.tbptt != 0) {
            return ag_json_fail(e, "ppo.minibatch",
                                "must be a multiple of ppo.tbptt (%d) for recurrent training, "
                                "got %d",
                                s->ppo.tbptt, s->ppo.minibatch);
        }
    }
    return AG_OK;
}

int ag_spec_parse(const json_t *doc, AgSpec *out, AgJsonErr *e) {
    int rc;
    long long seed = 0;
    memset(out, 0, sizeof *out);
    if (!json_is_object(doc)) {
        rc = ag_json_fail(e, "", "an experiment spec must be a JSON object");
        goto out;
    }
    rc = ag_json_check_keys(doc, "", top_keys, e);
    if (rc) {
        goto out;
    }

    /* the preset first: it gives every other key its default */
    int preset_index = 0;
    rc = ag_json_get_enum(doc, "", "preset", ag_spec_preset_names, 0, &preset_index, e);
    if (rc) {
        goto out;
    }
    SpecPreset preset;
    spec_preset_get(preset_index, &preset);
    const SpecPreset *p = &preset;
    snprintf(out->preset, sizeof out->preset, "%s", ag_spec_preset_names[preset_index]);

    rc = spec_parse_task(doc, out, e);
    if (rc) {
        goto out;
    }
    rc = ag_json_get_string(doc, "", "name", out->task, out->name, sizeof out->name, e);
    if (rc) {
        goto out;
    }
    if (!out->name[0] || !text_is_printable(out->name)) {
        rc = ag_json_fail(e, "name", "must be non-empty and without control characters");
        goto out;
    }
    if ((rc = spec_parse_model(doc, p, out, e)) || (rc = spec_parse_policy(doc, p, out, e)) ||
        (rc = spec_parse_section(doc, "ppo", ppo_keys, spec_read_ppo, p, out, e)) ||
        (rc = spec_parse_section(doc, "normalize", normalize_keys, spec_read_normalize, p, out,
                                 e)) ||
        (rc = spec_parse_section(doc, "budget", budget_keys, spec_read_budget, p, out, e)) ||
        (rc = get_int(doc, "", "ranks", p->ranks, 1, SPEC_RANKS_MAX, &out->ranks, e)) ||
        (rc = ag_json_get_int(doc, "", "seed", (long long)p->seed, 0, SPEC_SEED_MAX, &seed, e)) ||
        (rc = get_int(doc, "", "checkpoint_every", p->checkpoint_every, 0, SPEC_PERIOD_MAX,
                      &out->checkpoint_every, e)) ||
        (rc = spec_parse_section(doc, "eval", eval_keys, spec_read_eval, p, out, e)) ||
        (rc = spec_parse_tags(doc, out, e)) ||
        (rc = ag_json_get_string(doc, "", "notes", NULL, out->notes, sizeof out->notes, e)) ||
        (rc = ag_executor_parse(json_object_get(doc, "executor"), "executor", &out->executor, e)) ||
        (rc = spec_parse_init(doc, out, e))) {
        goto out;
    }
    out->seed = (uint64_t)seed;
    rc = spec_check_cross(out, e);
out:
    if (rc) {
        ag_spec_free(out);
    }
    return rc;
}

int ag_spec_parse_text(const char *text, size_t len, AgSpec *out, AgJsonErr *e) {
    memset(out, 0, sizeof *out);
    json_t *doc = ag_json_parse(text, len, e);
    if (!doc) {
        return AG_EJSON;
    }
    int rc = ag_spec_parse(doc, out, e);
    json_decref(doc);
    return rc;
}

void ag_spec_free(AgSpec *spec) {
    if (!spec) {
        return;
    }
    json_decref(spec->task_options);
    json_decref(spec->model);
    memset(spec, 0, sizeof *spec);
}

int ag_spec_copy(AgSpec *dst, const AgSpec *src) {
    memcpy(dst, src, sizeof *dst);
    dst->task_options = src->task_options ? json_deep_copy(src->task_options) : NULL;
    dst->model = src->model ? json_deep_copy(src->model) : NULL;
    if ((src->task_options && !dst->task_options) || (src->model && !dst->model)) {
        ag_spec_free(dst);
        return AG_ENOMEM;
    }
    return AG_OK;
}

int64_t ag_spec_batch_size(const AgSpec *spec) {
    return (int64_t)spec->ranks * spec->ppo.envs_per_rank * spec->ppo.horizon;
}

int64_t ag_spec_iterations(const AgSpec *spec) {
    int64_t batch = ag_spec_batch_size(spec);
    if (batch <= 0 || spec->budget_env_steps <= 0) {
        return 0;
    }
    return (spec->budget_env_steps + batch - 1) / batch;
}

double ag_spec_lr_at(const AgSpec *spec, int64_t iteration) {
    const AgPpoConfig *c = &spec->ppo;
    if (iteration < 0) {
        iteration = 0;
    }
    switch (c->lr_schedule) {
    case AG_LR_LINEAR: {
        int64_t n = ag_spec_iterations(spec);
        double frac = n > 0 ? (double)iteration / (double)n : 0.0;
        if (frac > 1.0) {
            frac = 1.0;
        }
        return c->lr * (1.0 - frac * (1.0 - c->lr_final));
    }
    case AG_LR_EXPONENTIAL:
        return c->lr * pow(c->lr_decay, (double)iteration);
    case AG_LR_CONSTANT:
    default:
        return c->lr;
    }
}

/* ---- JSON out ---- */

/* sets obj[key] = v (stolen); remembers a failure in *ok */
static void put(json_t *obj, const char *key, json_t *v, int *ok) {
    if (!v || json_object_set_new(obj, key, v) != 0) {
        *ok = 0;
    }
}

static json_t *spec_json_build(const AgSpec *s, int with_identity) {
    int ok = 1;
    json_t *root = json_object();
    json_t *policy = json_object();
    json_t *ppo = json_object();
    json_t *norm = json_object();
    json_t *budget = json_object();
    json_t *eval = json_object();
    json_t *tags = json_array();
    if (!root || !policy || !ppo || !norm || !budget || !eval || !tags) {
        json_decref(root);
        json_decref(policy);
        json_decref(ppo);
        json_decref(norm);
        json_decref(budget);
        json_decref(eval);
        json_decref(tags);
        return NULL;
    }

    put(policy, "distribution", json_string(ag_spec_policy_name(s->policy)), &ok);
    put(policy, "bins", json_integer(s->bins), &ok);

    const AgPpoConfig *c = &s->ppo;
    put(ppo, "envs_per_rank", json_integer(c->envs_per_rank), &ok);
    put(ppo, "horizon", json_integer(c->horizon), &ok);
    put(ppo, "epochs", json_integer(c->epochs), &ok);
    put(ppo, "minibatch", json_integer(c->minibatch), &ok);
    put(ppo, "lr", json_real(c->lr), &ok);
    put(ppo, "lr_schedule", json_string(ag_spec_lr_schedule_name(c->lr_schedule)), &ok);
    put(ppo, "lr_decay", json_real(c->lr_decay), &ok);
    put(ppo, "lr_final", json_real(c->lr_final), &ok);
    put(ppo, "clip", json_real(c->clip), &ok);
    put(ppo, "c_entropy", json_real(c->c_entropy), &ok);
    put(ppo, "c_value", json_real(c->c_value), &ok);
    put(ppo, "gae_lambda", json_real(c->gae_lambda), &ok);
    put(ppo, "gamma", json_real(c->gamma), &ok);
    put(ppo, "grad_clip", json_real(c->grad_clip), &ok);
    put(ppo, "value_clip", json_real(c->value_clip), &ok);
    put(ppo, "tbptt", json_integer(c->tbptt), &ok);
    put(ppo, "target_kl", json_real(c->target_kl), &ok);
    put(ppo, "adam_eps", json_real(c->adam_eps), &ok);
    put(ppo, "normalize_advantages", json_boolean(c->normalize_advantages), &ok);

    put(norm, "observations", json_boolean(s->normalize.observations), &ok);
    put(norm, "rewards", json_boolean(s->normalize.rewards), &ok);
    put(norm, "clip_obs", json_real(s->normalize.clip_obs), &ok);
    put(norm, "clip_reward", json_real(s->normalize.clip_reward), &ok);

    put(budget, "env_steps", json_integer((json_int_t)s->budget_env_steps), &ok);

    put(eval, "every", json_integer(s->eval.every), &ok);
    put(eval, "episodes", json_integer(s->eval.episodes), &ok);
    put(eval, "deterministic", json_boolean(s->eval.deterministic), &ok);

    for (int i = 0; i < s->num_tags && i < AG_SPEC_TAGS_MAX; i++) {
        if (json_array_append_new(tags, json_string(s->tags[i])) != 0) {
            ok = 0;
        }
    }

    if (with_identity) {
        put(root, "name", json_string(s->name), &ok);
        put(root, "task", json_string(s->task), &ok);
    }
    put(root, "task_options", s->task_options ? json_deep_copy(s->task_options) : json_object(),
        &ok);
    put(root, "model", s->model ? json_deep_copy(s->model) : json_string("simple"), &ok);
    put(root, "policy", policy, &ok);
    put(root, "ppo", ppo, &ok);
    put(root, "normalize", norm, &ok);
    put(root, "budget", budget, &ok);
    put(root, "ranks", json_integer(s->ranks), &ok);
    put(root, "seed", json_integer((json_int_t)s->seed), &ok);
    put(root, "checkpoint_every", json_integer(s->checkpoint_every), &ok);
    put(root, "eval", eval, &ok);
    put(root, "preset", json_string(s->preset[0] ? s->preset : "default"), &ok);
    put(root, "tags", tags, &ok);
    put(root, "notes", json_string(s->notes), &ok);
    if (s->executor.kind != AG_EXECUTOR_DEFAULT) {
        put(root, "executor", ag_executor_to_json(&s->executor), &ok);
    }
    if (s->init.checkpoint[0]) {
        json_t *init = json_pack("{s:s}", "checkpoint", s->init.checkpoint);
        if (init && s->init.sha256[0]) {
            json_object_set_new(init, "sha256", json_string(s->init.sha256));
        }
        put(root, "init", init, &ok);
    }
    if (!ok) {
        json_decref(root);
        return NULL;
    }
    return root;
}

json_t *ag_spec_to_json(const AgSpec *spec) {
    return spec_json_build(spec, 1);
}

json_t *ag_spec_defaults_json(const char *preset) {
    int index = spec_preset_find(preset ? preset : "default");
    if (index < 0) {
        return NULL;
    }
    SpecPreset preset_values;
    spec_preset_get(index, &preset_values);
    const SpecPreset *p = &preset_values;
    AgSpec s;
    memset(&s, 0, sizeof s);
    snprintf(s.preset, sizeof s.preset, "%s", ag_spec_preset_names[index]);
    s.model = json_string(p->model);
    s.task_options = json_object();
    if (!s.model || !s.task_options) {
        ag_spec_free(&s);
        return NULL;
    }
    s.policy = p->policy;
    s.bins = p->bins;
    s.ppo = p->ppo;
    s.normalize = p->normalize;
    s.budget_env_steps = p->budget_env_steps;
    s.ranks = p->ranks;
    s.seed = p->seed;
    s.checkpoint_every = p->checkpoint_every;
    s.eval = p->eval;
    /* name and task have no default: the name follows the task, the task is required */
    json_t *out = spec_json_build(&s, 0);
    ag_spec_free(&s);
    return out;
}
