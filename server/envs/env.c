/* The task interface: configured tasks, batch stepping with action checks, truncation,
 * final observations and auto-reset, episode statistics, snapshots and the spec as JSON.
 *
 * DESIGN
 * - A batch owns one contiguous block of environment states, one RNG stream per environment and
 *   per-environment episode counters; env_batch_step never allocates.
 * - Actions are checked once here, so task step functions may trust them: box values are clipped
 *   into a scratch action, discrete indices are rounded and clamped. Anything that needed fixing
 *   beyond box clipping (NaN, fractional or out-of-range index) is a caller bug and is counted.
 * - Bad numbers (unstable flag, non-finite reward or observation) end the episode as terminated,
 *   are counted and sanitised (zeros in final_obs, zero reward), and the environment is reset.
 * - Rendered images (tasks with images_defer / images_render): a step first steps every
 *   environment, then draws all their images in one call, then checks, counts and resets; the
 *   environments that were reset get their first images in a second call. Software rendering
 *   has a fixed cost per call that this shares (mj_render.h).
 * - Snapshot layout: a header (magic, version, task name, counts, sizes), the batch statistics,
 *   then per environment its RNG, episode step count, episode return and state snapshot.
 */
#include "env.h"

#include "ag_error.h"
#include "ag_json.h"
#include "ag_log.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ENV_SNAPSHOT_MAGIC   0x41474542u /* "AGEB" */
#define ENV_SNAPSHOT_VERSION 1u

typedef struct EnvSnapshotHeader {
    uint32_t magic;
    uint32_t version;
    char task[ENV_NAME_MAX];
    uint32_t num_envs;
    uint32_t obs_size;
    uint64_t env_bytes; /* bytes of one environment's state snapshot */
} EnvSnapshotHeader;

/* per-environment record before the state bytes */
typedef struct EnvSnapshotEnv {
    AgRng rng;
    int64_t episode_steps;
    double episode_return;
} EnvSnapshotEnv;

/* ---- spec helpers ---- */

int env_spec_add_sensation(EnvSpec *spec, const char *name, int c, int h, int w, int critic_only) {
    if (spec->num_sensations >= ENV_MAX_SENSATIONS) {
        return AG_ETOOBIG;
    }
    if (name == NULL || name[0] == '\0' || strlen(name) >= ENV_NAME_MAX) {
        return AG_EINVAL;
    }
    if (c < 1 || h < 1 || w < 1 || (long long)c * h * w > (1 << 24)) {
        return AG_EINVAL;
    }
    EnvSensation *s = &spec->sensations[spec->num_sensations++];
    memset(s, 0, sizeof *s);
    strcpy(s->name, name);
    s->shape[0] = c;
    s->shape[1] = h;
    s->shape[2] = w;
    s->size = c * h * w;
    s->offset = spec->obs_size;
    s->critic_only = critic_only ? 1 : 0;
    spec->obs_size += s->size;
    return AG_OK;
}

int env_sensation_is_image(const EnvSensation *s) {
    return s->shape[1] > 1 || s->shape[2] > 1;
}

int env_spec_add_metric(EnvSpec *spec, const char *name) {
    if (spec->num_metrics >= ENV_MAX_METRICS) {
        return AG_ETOOBIG;
    }
    if (name == NULL || name[0] == '\0' || strlen(name) >= ENV_NAME_MAX) {
        return AG_EINVAL;
    }
    strcpy(spec->metric_names[spec->num_metrics++], name);
    return AG_OK;
}

EnvTaskVar *env_task_vars_add(EnvTaskVars *vars, const char *name, int dim, const char *units) {
    if (units == NULL) {
        units = "";
    }
    if (vars->count >= ENV_MAX_TASK_VARS || name == NULL || name[0] == '\0' ||
        strlen(name) >= ENV_NAME_MAX || strlen(units) >= ENV_NAME_MAX || dim < 1 ||
        dim > (1 << 20)) {
        return NULL;
    }
    EnvTaskVar *v = &vars->vars[vars->count++];
    memset(v, 0, sizeof *v);
    strcpy(v->name, name);
    strcpy(v->units, units);
    v->dim = dim;
    v->offset = vars->size;
    vars->size += dim;
    return v;
}

void env_task_vars_describe(const EnvTask *task, EnvTaskVars *vars) {
    memset(vars, 0, sizeof *vars);
    if (task->cls->task_variables_describe && task->cls->task_variables) {
        task->cls->task_variables_describe(task, vars);
    }
}

/* a class that fills its spec inconsistently is a bug; refuse it before anything steps */
static int env_spec_check(const EnvSpec *spec, const char *name, char *err, size_t err_sz) {
    if (spec->num_sensations < 1 || spec->num_sensations > ENV_MAX_SENSATIONS) {
        return ag_errorf(err, err_sz, AG_EINVAL, "task %s: %d sensations", name,
                         spec->num_sensations);
    }
    int offset = 0;
    for (int i = 0; i < spec->num_sensations; i++) {
        const EnvSensation *s = &spec->sensations[i];
        if (s->offset != offset || s->size != s->shape[0] * s->shape[1] * s->shape[2] ||
            s->size < 1) {
            return ag_errorf(err, err_sz, AG_EINVAL, "task %s: sensation %d has a bad layout", name,
                             i);
        }
        offset += s->size;
    }
    if (offset != spec->obs_size) {
        return ag_errorf(err, err_sz, AG_EINVAL, "task %s: obs_size %d, sensations sum to %d", name,
                         spec->obs_size, offset);
    }
    if (spec->action_dim < 1 || spec->action_dim > ENV_MAX_ACTION_DIM) {
        return ag_errorf(err, err_sz, AG_EINVAL, "task %s: action_dim %d", name, spec->action_dim);
    }
    if (spec->action_kind == ENV_ACTION_DISCRETE && spec->action_dim != 1) {
        return ag_errorf(err, err_sz, AG_EINVAL, "task %s: discrete action_dim must be 1", name);
    }
    for (int d = 0; d < spec->action_dim; d++) {
        if (spec->action_kind == ENV_ACTION_BOX) {
            if (!(spec->action_low[d] <= spec->action_high[d])) {
                return ag_errorf(err, err_sz, AG_EINVAL, "task %s: action bounds %d", name, d);
            }
        } else if (spec->action_kind == ENV_ACTION_DISCRETE ||
                   spec->action_kind == ENV_ACTION_MULTI_DISCRETE) {
            if (spec->action_choices[d] < 1) {
                return ag_errorf(err, err_sz, AG_EINVAL, "task %s: action choices %d", name, d);
            }
        } else {
            return ag_errorf(err, err_sz, AG_EINVAL, "task %s: action kind %d", name,
                             (int)spec->action_kind);
        }
    }
    if (spec->max_episode_steps < 0 || spec->num_metrics < 0 ||
        spec->num_metrics > ENV_MAX_METRICS) {
        return ag_errorf(err, err_sz, AG_EINVAL, "task %s: bad limits", name);
    }
    return AG_OK;
}

/* ---- tasks ---- */

int env_task_create(EnvTask *task, const char *name, const json_t *options, char *err,
                    size_t err_sz) {
    int rc = AG_OK;
    json_t *rest = NULL;
    memset(task, 0, sizeof *task);

    const EnvClass *cls = env_registry_find(name);
    if (cls == NULL) {
        char known[512];
        size_t len = 0;
        known[0] = '\0';
        for (int i = 0; i < env_registry_count() && len < sizeof known; i++) {
            int n = snprintf(known + len, sizeof known - len, "%s%s", i ? ", " : "",
                             env_registry_at(i)->name);
            if (n < 0) {
                break;
            }
            len += (size_t)n;
        }
        return ag_errorf(err, err_sz, AG_ENOTFOUND, "unknown task '%s'; known tasks: %s",
                         name ? name : "(null)", known);
    }

    /* the class sees an object without the options every task shares */
    AgJsonErr je;
    long long max_steps = -1;
    if (options != NULL) {
        if (ag_json_expect_object(options, ENV_OPTIONS_PATH, &je) != AG_OK) {
            char msg[AG_JSON_PATH_MAX + AG_JSON_REASON_MAX];
            ag_json_err_format(&je, msg, sizeof msg);
            return ag_errorf(err, err_sz, AG_ESPEC, "%s", msg);
        }
        rest = json_copy((json_t *)options);
    } else {
        rest = json_object();
    }
    if (rest == NULL) {
        return ag_errorf(err, err_sz, AG_ENOMEM, "out of memory copying task options");
    }
    const json_t *limit = json_object_get(rest, ENV_OPTION_MAX_EPISODE_STEPS);
    if (limit != NULL) {
        /* null keeps the class's limit, like an absent member */
        if (!json_is_null(limit) &&
            ag_json_get_int(rest, ENV_OPTIONS_PATH, ENV_OPTION_MAX_EPISODE_STEPS, 0, 0,
                            1000000000LL, &max_steps, &je) != AG_OK) {
            char msg[AG_JSON_PATH_MAX + AG_JSON_REASON_MAX];
            ag_json_err_format(&je, msg, sizeof msg);
            rc = ag_errorf(err, err_sz, AG_ESPEC, "%s", msg);
            goto out;
        }
        json_object_del(rest, ENV_OPTION_MAX_EPISODE_STEPS);
    }

    task->cls = cls;
    rc = cls->task_create(task, rest, err, err_sz);
    if (rc != AG_OK) {
        memset(task, 0, sizeof *task);
        goto out;
    }
    if (max_steps >= 0) {
        task->spec.max_episode_steps = (int)max_steps;
    }
    rc = env_spec_check(&task->spec, cls->name, err, err_sz);
    if (rc != AG_OK) {
        env_task_destroy(task);
    }
out:
    json_decref(rest);
    return rc;
}

void env_task_destroy(EnvTask *task) {
    if (task == NULL || task->cls == NULL) {
        return;
    }
    if (task->cls->task_destroy) {
        task->cls->task_destroy(task);
    }
    memset(task, 0, sizeof *task);
}

/* ---- batches ---- */

static size_t env_state_bytes(const EnvTask *task) {
    if (task->cls->snapshot_size) {
        return task->cls->snapshot_size(task);
    }
    return task->cls->state_size;
}

/* destroys the first created environments, frees the batch's buffers and zeroes it */
static void env_batch_release(EnvBatch *batch, int created) {
    const EnvClass *cls = batch->task->cls;
    if (cls->env_destroy && batch->states) {
        for (int i = 0; i < created; i++) {
            cls->env_destroy(batch->task, batch->states + (size_t)i * cls->state_size);
        }
    }
    free(batch->states);
    free(batch->rngs);
    free(batch->episode_steps);
    free(batch->episode_returns);
    free(batch->clipped_action);
    free(batch->image_states);
    free(batch->step_out);
    free(batch->image_obs);
    memset(batch, 0, sizeof *batch);
}

int env_batch_create(EnvBatch *batch, const EnvTask *task, int num_envs, uint64_t seed,
                     uint64_t stream_base, char *err, size_t err_sz) {
    int rc = AG_OK;
    int created = 0;
    memset(batch, 0, sizeof *batch);
    if (task == NULL || task->cls == NULL) {
        return ag_errorf(err, err_sz, AG_EINVAL, "batch needs a created task");
    }
    if (num_envs < 1 || num_envs > ENV_BATCH_MAX_ENVS) {
        return ag_errorf(err, err_sz, AG_ERANGE, "num_envs must be between 1 and %d, got %d",
                         ENV_BATCH_MAX_ENVS, num_envs);
    }
    const EnvClass *cls = task->cls;
    size_t state_size = cls->state_size ? cls->state_size : 1;

    batch->task = task;
    batch->num_envs = num_envs;
    batch->states = calloc((size_t)num_envs, state_size);
    batch->rngs = calloc((size_t)num_envs, sizeof *batch->rngs);
    batch->episode_steps = calloc((size_t)num_envs, sizeof *batch->episode_steps);
    batch->episode_returns = calloc((size_t)num_envs, sizeof *batch->episode_returns);
    batch->clipped_action = calloc(ENV_MAX_ACTION_DIM, sizeof *batch->clipped_action);
    batch->image_states = calloc((size_t)num_envs, sizeof *batch->image_states);
    batch->image_obs = calloc((size_t)num_envs, sizeof *batch->image_obs);
    batch->step_out = calloc((size_t)num_envs, sizeof *batch->step_out);
    if (!batch->states || !batch->rngs || !batch->episode_steps || !batch->episode_returns ||
        !batch->clipped_action || !batch->image_states || !batch->image_obs || !batch->step_out) {
        rc = ag_errorf(err, err_sz, AG_ENOMEM, "out of memory for %d environments of %s", num_envs,
                       cls->name);
        goto out;
    }
    for (int i = 0; i < num_envs; i++) {
        ag_rng_seed(&batch->rngs[i], seed, stream_base + (uint64_t)i);
        if (cls->env_create) {
            rc = cls->env_create(task, batch->states + (size_t)i * cls->state_size, err, err_sz);
            if (rc != AG_OK) {
                goto out;
            }
        }
        created++;
        if (cls->images_defer && cls->images_render) {
            cls->images_defer(task, batch->states + (size_t)i * cls->state_size, 1);
        }
    }
out:
    if (rc != AG_OK) {
        env_batch_release(batch, created);
    }
    return rc;
}

void env_batch_destroy(EnvBatch *batch) {
    if (batch == NULL || batch->task == NULL) {
        return;
    }
    env_batch_release(batch, batch->num_envs);
}

/* the images the environments listed in batch->image_states / image_obs deferred, in one call */
static void env_batch_images_render(EnvBatch *batch, int n) {
    const EnvClass *cls = batch->task->cls;
    if (n > 0 && cls->images_defer && cls->images_render) {
        cls->images_render(batch->task, batch->image_states, batch->image_obs, n);
    }
}

void env_batch_reset(EnvBatch *batch, float *obs) {
    const EnvTask *task = batch->task;
    const EnvClass *cls = task->cls;
    int obs_size = task->spec.obs_size;
    for (int i = 0; i < batch->num_envs; i++) {
        void *state = batch->states + (size_t)i * cls->state_size;
        cls->reset(task, state, &batch->rngs[i], obs + (size_t)i * obs_size);
        batch->episode_steps[i] = 0;
        batch->episode_returns[i] = 0.0;
        batch->image_states[i] = state;
        batch->image_obs[i] = obs + (size_t)i * obs_size;
    }
    env_batch_images_render(batch, batch->num_envs);
}

/* writes the action the task will see into dst; returns how many values needed fixing beyond
 * box clipping */
static int env_action_check(const EnvSpec *spec, const float *src, float *dst) {
    int bad = 0;
    if (spec->action_kind == ENV_ACTION_BOX) {
        for (int d = 0; d < spec->action_dim; d++) {
            float v = src[d];
            float lo = spec->action_low[d], hi = spec->action_high[d];
            if (v != v) {
                /* NaN: the middle of the range is the least surprising stand-in */
                v = 0.5f * (lo + hi);
                bad++;
            }
            dst[d] = v < lo ? lo : (v > hi ? hi : v);
        }
        return bad;
    }
    for (int d = 0; d < spec->action_dim; d++) {
        float v = src[d];
        float top = (float)(spec->action_choices[d] - 1);
        if (v >= 0.0f && v <= top && v == (float)(int)v) {
            dst[d] = v;
            continue;
        }
        bad++;
        if (v != v) {
            v = 0.0f;
        }
        v = v < 0.0f ? 0.0f : (v > top ? top : v);
        dst[d] = (float)(int)(v + 0.5f);
    }
    return bad;
}

static int env_floats_finite(const float *v, int n) {
    /* a sum is NaN or infinite as soon as one term is; the exact check runs only then */
    float acc = 0.0f;
    for (int k = 0; k < n; k++) {
        acc += v[k] * 0.0f;
    }
    return acc == 0.0f;
}

void env_batch_step(EnvBatch *batch, const float *actions, float *obs, float *rewards,
                    uint8_t *terminated, uint8_t *truncated, float *final_obs) {
    const EnvTask *task = batch->task;
    const EnvClass *cls = task->cls;
    const EnvSpec *spec = &task->spec;
    const int obs_size = spec->obs_size;
    const int action_dim = spec->action_dim;
    const int max_steps = spec->max_episode_steps;
    EnvBatchStats *stats = &batch->stats;
    float *act = batch->clipped_action;

    EnvStep *steps_out = batch->step_out;
    /* first every step, then every deferred image in one call, then the bookkeeping (which
     * reads whole observations) */
    for (int i = 0; i < batch->num_envs; i++) {
        void *state = batch->states + (size_t)i * cls->state_size;
        int bad = env_action_check(spec, actions + (size_t)i * action_dim, act);
        if (bad) {
            stats->invalid_actions += bad;
        }
        memset(&steps_out[i], 0, sizeof steps_out[i]);
        cls->step(task, state, &batch->rngs[i], act, obs + (size_t)i * obs_size, &steps_out[i]);
        batch->image_states[i] = state;
        batch->image_obs[i] = obs + (size_t)i * obs_size;
    }
    env_batch_images_render(batch, batch->num_envs);

    int resets = 0;
    for (int i = 0; i < batch->num_envs; i++) {
        void *state = batch->states + (size_t)i * cls->state_size;
        float *o = obs + (size_t)i * obs_size;
        EnvStep st = steps_out[i];

        /* bad numbers end the episode as unstable rather than poisoning the trainer */
        if (!st.unstable && (!isfinite(st.reward) || !env_floats_finite(o, obs_size))) {
            st.unstable = 1;
        }
        if (st.unstable) {
            if (!isfinite(st.reward)) {
                st.reward = 0.0f;
            }
            for (int k = 0; k < obs_size; k++) {
                if (!isfinite(o[k])) {
                    o[k] = 0.0f;
                }
            }
            st.terminated = 1;
            st.truncated = 0;
            stats->unstable++;
            /* warn on the 1st, 2nd, 4th, 8th, ... occurrence so a bad run cannot flood logs */
            if ((stats->unstable & (stats->unstable - 1)) == 0) {
                ag_log_warn("task %s: unstable step in environment %d (%lld since last take)",
                            cls->name, i, (long long)stats->unstable);
            }
        }

        int steps = ++batch->episode_steps[i];
        batch->episode_returns[i] += st.reward;
        /* the limit truncates every episode that reaches it, one that also terminates on that
         * step included: both flags, as Gymnasium's TimeLimit reports them (see env.h) */
        if (max_steps > 0 && steps >= max_steps) {
            st.truncated = 1;
        }
        rewards[i] = st.reward;
        terminated[i] = st.terminated ? 1 : 0;
        truncated[i] = st.truncated ? 1 : 0;

        if (st.terminated || st.truncated) {
            double ret = batch->episode_returns[i];
            if (final_obs) {
                memcpy(final_obs + (size_t)i * obs_size, o, (size_t)obs_size * sizeof *o);
            }
            stats->episodes++;
            stats->return_sum += ret;
            stats->return_sq_sum += ret * ret;
            stats->length_sum += steps;
            if (cls->episode_metrics && spec->num_metrics > 0) {
                float m[ENV_MAX_METRICS] = {0};
                cls->episode_metrics(task, state, m);
                for (int k = 0; k < spec->num_metrics; k++) {
                    stats->metric_sums[k] += isfinite(m[k]) ? m[k] : 0.0f;
                }
            }
            cls->reset(task, state, &batch->rngs[i], o);
            batch->episode_steps[i] = 0;
            batch->episode_returns[i] = 0.0;
            batch->image_states[resets] = state;
            batch->image_obs[resets] = o;
            resets++;
        }
    }
    env_batch_images_render(batch, resets);
    stats->steps += batch->num_envs;
}

void env_batch_stats_take(EnvBatch *batch, EnvBatchStats *out) {
    *out = batch->stats;
    memset(&batch->stats, 0, sizeof batch->stats);
}

/* ---- snapshots ---- */

size_t env_batch_snapshot_size(const EnvBatch *batch) {
    size_t per_env = sizeof(EnvSnapshotEnv) + env_state_bytes(batch->task);
    return sizeof(EnvSnapshotHeader) + sizeof(EnvBatchStats) + (size_t)batch->num_envs * per_env;
}

void env_batch_snapshot_save(const EnvBatch *batch, void *dst) {
    const EnvTask *task = batch->task;
    const EnvClass *cls = task->cls;
    unsigned char *p = dst;
    EnvSnapshotHeader h;
    memset(&h, 0, sizeof h);
    h.magic = ENV_SNAPSHOT_MAGIC;
    h.version = ENV_SNAPSHOT_VERSION;
    snprintf(h.task, sizeof h.task, "%s", cls->name);
    h.num_envs = (uint32_t)batch->num_envs;
    h.obs_size = (uint32_t)task->spec.obs_size;
    h.env_bytes = env_state_bytes(task);
    memcpy(p, &h, sizeof h);
    p += sizeof h;
    memcpy(p, &batch->stats, sizeof batch->stats);
    p += sizeof batch->stats;
    for (int i = 0; i < batch->num_envs; i++) {
        const void *state = batch->states + (size_t)i * cls->state_size;
        EnvSnapshotEnv e;
        memset(&e, 0, sizeof e);
        e.rng = batch->rngs[i];
        e.episode_steps = batch->episode_steps[i];
        e.episode_return = batch->episode_returns[i];
        memcpy(p, &e, sizeof e);
        p += sizeof e;
        if (cls->snapshot_save) {
            cls->snapshot_save(task, state, p);
        } else {
            memcpy(p, state, cls->state_size);
        }
        p += h.env_bytes;
    }
}

int env_batch_snapshot_load(EnvBatch *batch, const void *src, size_t size) {
    const EnvTask *task = batch->task;
    const EnvClass *cls = task->cls;
    const unsigned char *p = src;
    EnvSnapshotHeader h;
    if (src == NULL || size < sizeof h) {
        return AG_ETRUNCATED;
    }
    memcpy(&h, p, sizeof h);
    if (h.magic != ENV_SNAPSHOT_MAGIC) {
        return AG_EFORMAT;
    }
    if (h.version != ENV_SNAPSHOT_VERSION) {
        return AG_EVERSION;
    }
    if (strncmp(h.task, cls->name, sizeof h.task) != 0 || h.num_envs != (uint32_t)batch->num_envs ||
        h.obs_size != (uint32_t)task->spec.obs_size || h.env_bytes != env_state_bytes(task)) {
        return AG_EMISMATCH;
    }
    size_t want = env_batch_snapshot_size(batch);
    if (size < want) {
        return AG_ETRUNCATED;
    }
    if (size > want) {
        return AG_EFORMAT;
    }
    p += sizeof h;
    memcpy(&batch->stats, p, sizeof batch->stats);
    p += sizeof batch->stats;
    for (int i = 0; i < batch->num_envs; i++) {
        void *state = batch->states + (size_t)i * cls->state_size;
        EnvSnapshotEnv e;
        memcpy(&e, p, sizeof e);
        p += sizeof e;
        batch->rngs[i] = e.rng;
        batch->episode_steps[i] = (int)e.episode_steps;
        batch->episode_returns[i] = e.episode_return;
        if (cls->snapshot_load) {
            cls->snapshot_load(task, state, p);
        } else {
            memcpy(state, p, cls->state_size);
        }
        p += h.env_bytes;
    }
    return AG_OK;
}

/* ---- JSON ---- */

static const char *env_action_kind_name(EnvActionKind kind) {
    switch (kind) {
    case ENV_ACTION_BOX:
        return "box";
    case ENV_ACTION_DISCRETE:
        return "discrete";
    case ENV_ACTION_MULTI_DISCRETE:
        return "multi_discrete";
    }
    return "unknown";
}

/* json_array_append_new that remembers a failure instead of checking every call */
static void env_json_push(json_t *arr, json_t *v, int *fail) {
    if (v == NULL || json_array_append_new(arr, v) != 0) {
        *fail = 1;
    }
}

static void env_json_set(json_t *obj, const char *key, json_t *v, int *fail) {
    if (v == NULL || json_object_set_new(obj, key, v) != 0) {
        *fail = 1;
    }
}

json_t *env_spec_to_json(const EnvSpec *spec) {
    int fail = 0;
    json_t *root = json_object();
    json_t *sens = json_array();
    json_t *action = json_object();
    json_t *metrics = json_array();
    if (!root || !sens || !action || !metrics) {
        json_decref(root);
        json_decref(sens);
        json_decref(action);
        json_decref(metrics);
        return NULL;
    }
    for (int i = 0; i < spec->num_sensations; i++) {
        const EnvSensation *s = &spec->sensations[i];
        json_t *o = json_object();
        if (o == NULL) {
            fail = 1;
            break;
        }
        env_json_set(o, "name", json_string(s->name), &fail);
        env_json_set(o, "shape", json_pack("[iii]", s->shape[0], s->shape[1], s->shape[2]), &fail);
        env_json_set(o, "size", json_integer(s->size), &fail);
        env_json_set(o, "offset", json_integer(s->offset), &fail);
        env_json_set(o, "critic_only", json_boolean(s->critic_only), &fail);
        env_json_push(sens, o, &fail);
    }
    env_json_set(action, "kind", json_string(env_action_kind_name(spec->action_kind)), &fail);
    env_json_set(action, "dim", json_integer(spec->action_dim), &fail);
    if (spec->action_kind == ENV_ACTION_BOX) {
        json_t *lo = json_array(), *hi = json_array();
        for (int d = 0; d < spec->action_dim && lo && hi; d++) {
            env_json_push(lo, json_real(spec->action_low[d]), &fail);
            env_json_push(hi, json_real(spec->action_high[d]), &fail);
        }
        env_json_set(action, "low", lo, &fail);
        env_json_set(action, "high", hi, &fail);
    } else {
        json_t *ch = json_array();
        for (int d = 0; d < spec->action_dim && ch; d++) {
            env_json_push(ch, json_integer(spec->action_choices[d]), &fail);
        }
        env_json_set(action, "choices", ch, &fail);
    }
    for (int k = 0; k < spec->num_metrics; k++) {
        env_json_push(metrics, json_string(spec->metric_names[k]), &fail);
    }

    env_json_set(root, "sensations", sens, &fail);
    env_json_set(root, "obs_size", json_integer(spec->obs_size), &fail);
    env_json_set(root, "action", action, &fail);
    env_json_set(root, "max_episode_steps", json_integer(spec->max_episode_steps), &fail);
    env_json_set(root, "control_dt", json_real(spec->control_dt), &fail);
    env_json_set(root, "metrics", metrics, &fail);
    if (fail) {
        json_decref(root);
        return NULL;
    }
    return root;
}

json_t *env_registry_describe(void) {
    json_t *all = json_array();
    if (all == NULL) {
        return NULL;
    }
    int fail = 0;
    for (int i = 0; i < env_registry_count() && !fail; i++) {
        const EnvClass *cls = env_registry_at(i);
        json_t *entry = json_object();
        if (entry == NULL) {
            fail = 1;
            break;
        }
        env_json_set(entry, "name", json_string(cls->name), &fail);
        env_json_set(entry, "summary", json_string(cls->summary ? cls->summary : ""), &fail);
        /* a MuJoCo scene draws pictures: evaluations of it may be recorded to video */
        env_json_set(entry, "renders", json_boolean(cls->mj_model != NULL), &fail);
        EnvTask task;
        char err[256];
        if (env_task_create(&task, cls->name, NULL, err, sizeof err) == AG_OK) {
            json_t *spec = env_spec_to_json(&task.spec);
            json_t *opts = cls->default_options ? cls->default_options() : json_object();
            if (spec == NULL || opts == NULL || json_object_update(entry, spec) != 0) {
                fail = 1;
            }
            if (opts) {
                env_json_set(opts, ENV_OPTION_MAX_EPISODE_STEPS,
                             json_integer(task.spec.max_episode_steps), &fail);
            }
            env_json_set(entry, "default_options", opts, &fail);
            json_decref(spec);
            env_task_destroy(&task);
        } else {
            /* a task that cannot be built here (e.g. a missing model file) is still listed */
            env_json_set(entry, "error", json_string(err), &fail);
        }
        env_json_push(all, entry, &fail);
    }
    if (fail) {
        json_decref(all);
        return NULL;
    }
    return all;
}
