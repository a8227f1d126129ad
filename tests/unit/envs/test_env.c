/* Tests of the task interface (server/envs/env.c and the catalogue in env_registry.c): task
 * creation and its errors, seeding, action checks, auto-reset with final observations,
 * truncation, unstable steps, statistics, snapshots (plain and through class hooks), the spec
 * as JSON and the catalogue description. A scripted test class makes every outcome exact. */
#include "ag_error.h"
#include "env.h"

#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- a scripted task class ---- */

typedef struct FakeShared {
    int term_at;       /* step of an episode that terminates (0 = never) */
    int unstable_at;   /* step that reports unstable */
    int nan_obs_at;    /* step that writes a NaN observation without saying so */
    int nan_reward_at; /* step that returns a NaN reward */
} FakeShared;

typedef struct FakeState {
    int64_t t;      /* steps in this episode */
    int64_t resets; /* resets of this environment */
    float seen[4];  /* the last action the task saw */
    double noise;   /* last RNG draw */
} FakeState;

static int fake_env_created;
static int fake_env_destroyed;
static int fake_env_fail_at = -1;

static void fake_obs(const FakeState *s, float *obs) {
    obs[0] = (float)s->t;
    obs[1] = (float)s->noise;
    obs[2] = (float)s->resets;
}

static void fake_reset(const EnvTask *task, void *state, AgRng *rng, float *obs) {
    (void)task;
    FakeState *s = state;
    s->t = 0;
    s->resets++;
    s->noise = ag_rng_uniform(rng);
    fake_obs(s, obs);
}

static void fake_step(const EnvTask *task, void *state, AgRng *rng, const float *action, float *obs,
                      EnvStep *out) {
    const FakeShared *sh = task->shared;
    FakeState *s = state;
    s->t++;
    memcpy(s->seen, action, (size_t)task->spec.action_dim * sizeof *action);
    s->noise = ag_rng_uniform(rng);
    fake_obs(s, obs);
    out->reward = (float)s->t;
    out->terminated = sh->term_at > 0 && s->t == sh->term_at;
    out->unstable = sh->unstable_at > 0 && s->t == sh->unstable_at;
    if (sh->nan_obs_at > 0 && s->t == sh->nan_obs_at) {
        obs[1] = NAN;
    }
    if (sh->nan_reward_at > 0 && s->t == sh->nan_reward_at) {
        out->reward = NAN;
    }
}

static void fake_metrics(const EnvTask *task, const void *state, float *metrics) {
    (void)task;
    const FakeState *s = state;
    metrics[0] = (float)s->t;
    metrics[1] = 1.0f;
}

static int fake_env_create(const EnvTask *task, void *state, char *err, size_t err_sz) {
    (void)task;
    (void)state;
    if (fake_env_created == fake_env_fail_at) {
        return ag_errorf(err, err_sz, AG_ENOMEM, "fake env %d refused", fake_env_created);
    }
    fake_env_created++;
    return AG_OK;
}

static void fake_env_destroy(const EnvTask *task, void *state) {
    (void)task;
    (void)state;
    fake_env_destroyed++;
}

/* snapshot hooks that store only t, resets and noise (24 bytes) */
static size_t fake_snapshot_size(const EnvTask *task) {
    (void)task;
    return 3 * sizeof(double);
}

static void fake_snapshot_save(const EnvTask *task, const void *state, void *dst) {
    (void)task;
    const FakeState *s = state;
    double v[3] = {(double)s->t, (double)s->resets, s->noise};
    memcpy(dst, v, sizeof v);
}

static void fake_snapshot_load(const EnvTask *task, void *state, const void *src) {
    (void)task;
    FakeState *s = state;
    double v[3];
    memcpy(v, src, sizeof v);
    s->t = (int64_t)v[0];
    s->resets = (int64_t)v[1];
    s->noise = v[2];
}

static const EnvClass fake_class = {
    .name = "Fake",
    .summary = "scripted",
    .state_size = sizeof(FakeState),
    .reset = fake_reset,
    .step = fake_step,
    .episode_metrics = fake_metrics,
};

static const EnvClass fake_hooks_class = {
    .name = "FakeHooks",
    .summary = "scripted with hooks",
    .state_size = sizeof(FakeState),
    .env_create = fake_env_create,
    .env_destroy = fake_env_destroy,
    .reset = fake_reset,
    .step = fake_step,
    .episode_metrics = fake_metrics,
    .snapshot_size = fake_snapshot_size,
    .snapshot_save = fake_snapshot_save,
    .snapshot_load = fake_snapshot_load,
};

static void fake_task_init(EnvTask *task, const EnvClass *cls, FakeShared *sh, EnvActionKind kind,
                           int max_steps) {
    memset(task, 0, sizeof *task);
    task->cls = cls;
    task->shared = sh;
    ck_assert_int_eq(env_spec_add_sensation(&task->spec, "state", 3, 1, 1, 0), AG_OK);
    task->spec.action_kind = kind;
    task->spec.action_dim = kind == ENV_ACTION_DISCRETE ? 1 : 2;
    for (int d = 0; d < task->spec.action_dim; d++) {
        task->spec.action_choices[d] = 3 + d;
        task->spec.action_low[d] = -1.0f - (float)d;
        task->spec.action_high[d] = 1.0f + (float)d;
    }
    task->spec.max_episode_steps = max_steps;
    ck_assert_int_eq(env_spec_add_metric(&task->spec, "length"), AG_OK);
    ck_assert_int_eq(env_spec_add_metric(&task->spec, "one"), AG_OK);
}

/* one batch with its buffers */
typedef struct Rig {
    EnvBatch batch;
    float *obs, *final_obs, *rewards, *actions;
    uint8_t *term, *trunc;
    int n, obs_size, action_dim;
} Rig;

static void rig_open(Rig *r, const EnvTask *task, int n, uint64_t seed, uint64_t stream_base) {
    char err[256];
    memset(r, 0, sizeof *r);
    int rc = env_batch_create(&r->batch, task, n, seed, stream_base, err, sizeof err);
    ck_assert_msg(rc == AG_OK, "batch: %s", err);
    r->n = n;
    r->obs_size = task->spec.obs_size;
    r->action_dim = task->spec.action_dim;
    r->obs = calloc((size_t)n * (size_t)r->obs_size, sizeof(float));
    r->final_obs = calloc((size_t)n * (size_t)r->obs_size, sizeof(float));
    r->rewards = calloc((size_t)n, sizeof(float));
    r->actions = calloc((size_t)n * (size_t)r->action_dim, sizeof(float));
    r->term = calloc((size_t)n, 1);
    r->trunc = calloc((size_t)n, 1);
    ck_assert(r->obs && r->final_obs && r->rewards && r->actions && r->term && r->trunc);
    env_batch_reset(&r->batch, r->obs);
}

static void rig_step(Rig *r) {
    env_batch_step(&r->batch, r->actions, r->obs, r->rewards, r->term, r->trunc, r->final_obs);
}

static void rig_close(Rig *r) {
    env_batch_destroy(&r->batch);
    free(r->obs);
    free(r->final_obs);
    free(r->rewards);
    free(r->actions);
    free(r->term);
    free(r->trunc);
}

/* ---- tasks and the catalogue ---- */

START_TEST(test_registry_lookup) {
    ck_assert_int_ge(env_registry_count(), 6);
    ck_assert_ptr_null(env_registry_at(-1));
    ck_assert_ptr_null(env_registry_at(env_registry_count()));
    ck_assert_ptr_null(env_registry_find("NoSuchTask"));
    ck_assert_ptr_null(env_registry_find(NULL));
    const char *classic[] = {"CartPole", "CartPoleNoVel", "Acrobot",
                             "Pendulum", "PendulumNoVel", "MountainCarContinuous"};
    for (size_t k = 0; k < sizeof classic / sizeof classic[0]; k++) {
        const EnvClass *cls = env_registry_find(classic[k]);
        ck_assert_ptr_nonnull(cls);
        ck_assert_str_eq(cls->name, classic[k]);
    }
    /* names are unique and every class has the required hooks */
    for (int i = 0; i < env_registry_count(); i++) {
        const EnvClass *a = env_registry_at(i);
        ck_assert(a->task_create && a->reset && a->step && a->summary && a->state_size > 0);
        ck_assert_ptr_eq(env_registry_find(a->name), a);
        for (int j = i + 1; j < env_registry_count(); j++) {
            ck_assert_str_ne(a->name, env_registry_at(j)->name);
        }
    }
}
END_TEST

START_TEST(test_unknown_task_lists_known) {
    EnvTask task;
    char err[512] = "";
    ck_assert_int_eq(env_task_create(&task, "CartPol", NULL, err, sizeof err), AG_ENOTFOUND);
    ck_assert_msg(strstr(err, "unknown task 'CartPol'") != NULL, "%s", err);
    ck_assert_msg(strstr(err, "CartPole") && strstr(err, "Pendulum") &&
                      strstr(err, "MountainCarContinuous"),
                  "%s", err);
    ck_assert_ptr_null(task.cls);
    ck_assert_int_eq(env_task_create(&task, NULL, NULL, err, sizeof err), AG_ENOTFOUND);
}
END_TEST

START_TEST(test_task_options_errors) {
    EnvTask task;
    char err[512] = "";
    json_t *arr = json_array();
    ck_assert_int_eq(env_task_create(&task, "CartPole", arr, err, sizeof err), AG_ESPEC);
    ck_assert_msg(strstr(err, "task_options") && strstr(err, "object"), "%s", err);
    json_decref(arr);

    json_t *o = json_pack("{si}", "foo", 1);
    ck_assert_int_eq(env_task_create(&task, "CartPole", o, err, sizeof err), AG_ESPEC);
    ck_assert_msg(strstr(err, "task_options.foo") && strstr(err, "unknown key"), "%s", err);
    json_decref(o);

    o = json_pack("{ss}", "max_episode_steps", "many");
    ck_assert_int_eq(env_task_create(&task, "CartPole", o, err, sizeof err), AG_ESPEC);
    ck_assert_msg(strstr(err, "task_options.max_episode_steps") && strstr(err, "integer"), "%s",
                  err);
    json_decref(o);

    o = json_pack("{si}", "max_episode_steps", -3);
    ck_assert_int_eq(env_task_create(&task, "Pendulum", o, err, sizeof err), AG_ESPEC);
    ck_assert_msg(strstr(err, "max_episode_steps") && strstr(err, "between"), "%s", err);
    json_decref(o);

    o = json_pack("{sf}", "max_episode_steps", 2.5);
    ck_assert_int_eq(env_task_create(&task, "Pendulum", o, err, sizeof err), AG_ESPEC);
    json_decref(o);
}
END_TEST

START_TEST(test_task_max_steps_override) {
    EnvTask task;
    char err[256];
    json_t *o = json_pack("{si}", "max_episode_steps", 7);
    ck_assert_int_eq(env_task_create(&task, "CartPole", o, err, sizeof err), AG_OK);
    ck_assert_int_eq(task.spec.max_episode_steps, 7);
    /* the caller's options are not modified */
    ck_assert_ptr_nonnull(json_object_get(o, "max_episode_steps"));
    json_decref(o);
    env_task_destroy(&task);
    ck_assert_ptr_null(task.cls);
    env_task_destroy(&task); /* twice is harmless */

    ck_assert_int_eq(env_task_create(&task, "CartPole", NULL, err, sizeof err), AG_OK);
    ck_assert_int_eq(task.spec.max_episode_steps, 500);
    env_task_destroy(&task);

    /* null means the default, as elsewhere in specs */
    o = json_pack("{sn}", "max_episode_steps");
    ck_assert_int_eq(env_task_create(&task, "CartPole", o, err, sizeof err), AG_OK);
    ck_assert_int_eq(task.spec.max_episode_steps, 500);
    json_decref(o);
    env_task_destroy(&task);

    json_t *empty = json_object();
    ck_assert_int_eq(env_task_create(&task, "Pendulum", empty, err, sizeof err), AG_OK);
    ck_assert_int_eq(task.spec.max_episode_steps, 200);
    env_task_destroy(&task);
    json_decref(empty);
}
END_TEST

START_TEST(test_task_no_limit) {
    /* max_episode_steps 0 removes the limit: a balanced pole runs past 500 steps */
    EnvTask task;
    char err[256];
    json_t *o = json_pack("{si}", "max_episode_steps", 0);
    ck_assert_int_eq(env_task_create(&task, "CartPole", o, err, sizeof err), AG_OK);
    json_decref(o);
    ck_assert_int_eq(task.spec.max_episode_steps, 0);
    Rig r;
    rig_open(&r, &task, 2, 3, 0);
    for (int t = 0; t < 700; t++) {
        for (int i = 0; i < 2; i++) {
            const float *ob = r.obs + i * 4;
            r.actions[i] = (ob[2] + 0.5f * ob[3] + 0.01f * ob[0] + 0.1f * ob[1]) > 0 ? 1.0f : 0.0f;
        }
        rig_step(&r);
        ck_assert_int_eq(r.term[0] | r.trunc[0] | r.term[1] | r.trunc[1], 0);
    }
    ck_assert_int_eq(r.batch.episode_steps[0], 700);
    rig_close(&r);
    env_task_destroy(&task);
}
END_TEST

START_TEST(test_spec_helpers) {
    EnvSpec spec;
    memset(&spec, 0, sizeof spec);
    ck_assert_int_eq(env_spec_add_sensation(&spec, "vision", 3, 8, 6, 0), AG_OK);
    ck_assert_int_eq(env_spec_add_sensation(&spec, "touch", 5, 1, 1, 1), AG_OK);
    ck_assert_int_eq(spec.sensations[0].size, 144);
    ck_assert_int_eq(spec.sensations[1].offset, 144);
    ck_assert_int_eq(spec.sensations[1].critic_only, 1);
    ck_assert_int_eq(spec.obs_size, 149);
    ck_assert(env_sensation_is_image(&spec.sensations[0]));
    ck_assert(!env_sensation_is_image(&spec.sensations[1]));
    ck_assert_int_eq(env_spec_add_sensation(&spec, "bad", 0, 1, 1, 0), AG_EINVAL);
    ck_assert_int_eq(env_spec_add_sensation(&spec, "", 1, 1, 1, 0), AG_EINVAL);
    ck_assert_int_eq(
        env_spec_add_sensation(&spec, "a_name_that_is_far_too_long_to_fit", 1, 1, 1, 0), AG_EINVAL);
    for (int i = 2; i < ENV_MAX_SENSATIONS; i++) {
        ck_assert_int_eq(env_spec_add_sensation(&spec, "x", 1, 1, 1, 0), AG_OK);
    }
    ck_assert_int_eq(env_spec_add_sensation(&spec, "x", 1, 1, 1, 0), AG_ETOOBIG);
    ck_assert_int_eq(spec.num_sensations, ENV_MAX_SENSATIONS);
    for (int i = 0; i < ENV_MAX_METRICS; i++) {
        ck_assert_int_eq(env_spec_add_metric(&spec, "m"), AG_OK);
    }
    ck_assert_int_eq(env_spec_add_metric(&spec, "m"), AG_ETOOBIG);
    EnvSpec fresh;
    memset(&fresh, 0, sizeof fresh);
    ck_assert_int_eq(env_spec_add_metric(&fresh, ""), AG_EINVAL);
    ck_assert_int_eq(env_spec_add_metric(&fresh, NULL), AG_EINVAL);
    ck_assert_int_eq(fresh.num_metrics, 0);
}
END_TEST

START_TEST(test_task_vars_helpers) {
    EnvTaskVars v;
    memset(&v, 0, sizeof v);
    EnvTaskVar *a = env_task_vars_add(&v, "joint_angles", 3, "rad");
    ck_assert_ptr_nonnull(a);
    EnvTaskVar *b = env_task_vars_add(&v, "success", 1, NULL);
    ck_assert_ptr_nonnull(b);
    ck_assert_str_eq(b->units, "");
    ck_assert_int_eq(b->offset, 3);
    ck_assert_int_eq(v.size, 4);
    ck_assert_ptr_null(env_task_vars_add(&v, "", 1, ""));
    ck_assert_ptr_null(env_task_vars_add(&v, "x", 0, ""));
    ck_assert_ptr_null(env_task_vars_add(&v, "a_name_that_is_far_too_long_to_fit", 1, ""));
    for (int i = 2; i < ENV_MAX_TASK_VARS; i++) {
        ck_assert_ptr_nonnull(env_task_vars_add(&v, "x", 1, ""));
    }
    ck_assert_ptr_null(env_task_vars_add(&v, "x", 1, ""));
    ck_assert_int_eq(v.count, ENV_MAX_TASK_VARS);
    /* a task without the hook has none */
    EnvTask task;
    char err[256];
    ck_assert_int_eq(env_task_create(&task, "Pendulum", NULL, err, sizeof err), AG_OK);
    env_task_vars_describe(&task, &v);
    ck_assert_int_eq(v.count, 0);
    ck_assert_int_eq(v.size, 0);
    env_task_destroy(&task);
}
END_TEST

START_TEST(test_spec_to_json) {
    EnvTask task;
    char err[256];
    ck_assert_int_eq(env_task_create(&task, "Pendulum", NULL, err, sizeof err), AG_OK);
    json_t *j = env_spec_to_json(&task.spec);
    ck_assert_ptr_nonnull(j);
    json_t *sens = json_object_get(j, "sensations");
    ck_assert_int_eq(json_array_size(sens), 1);
    json_t *s0 = json_array_get(sens, 0);
    ck_assert_str_eq(json_string_value(json_object_get(s0, "name")), "state");
    json_t *shape = json_object_get(s0, "shape");
    ck_assert_int_eq(json_integer_value(json_array_get(shape, 0)), 3);
    ck_assert_int_eq(json_integer_value(json_array_get(shape, 1)), 1);
    ck_assert_int_eq(json_integer_value(json_array_get(shape, 2)), 1);
    ck_assert_int_eq(json_integer_value(json_object_get(j, "obs_size")), 3);
    json_t *act = json_object_get(j, "action");
    ck_assert_str_eq(json_string_value(json_object_get(act, "kind")), "box");
    ck_assert_double_eq(json_real_value(json_array_get(json_object_get(act, "low"), 0)), -2.0);
    ck_assert_double_eq(json_real_value(json_array_get(json_object_get(act, "high"), 0)), 2.0);
    ck_assert_int_eq(json_integer_value(json_object_get(j, "max_episode_steps")), 200);
    ck_assert_double_eq_tol(json_real_value(json_object_get(j, "control_dt")), 0.05, 1e-12);
    ck_assert(json_is_array(json_object_get(j, "metrics")));
    json_decref(j);
    env_task_destroy(&task);

    ck_assert_int_eq(env_task_create(&task, "Acrobot", NULL, err, sizeof err), AG_OK);
    j = env_spec_to_json(&task.spec);
    act = json_object_get(j, "action");
    ck_assert_str_eq(json_string_value(json_object_get(act, "kind")), "discrete");
    ck_assert_int_eq(json_integer_value(json_array_get(json_object_get(act, "choices"), 0)), 3);
    ck_assert_ptr_null(json_object_get(act, "low"));
    ck_assert_str_eq(json_string_value(json_array_get(json_object_get(j, "metrics"), 0)),
                     "success");
    json_decref(j);
    env_task_destroy(&task);
}
END_TEST

START_TEST(test_registry_describe) {
    json_t *all = env_registry_describe();
    ck_assert_ptr_nonnull(all);
    ck_assert(json_is_array(all));
    ck_assert_int_eq((int)json_array_size(all), env_registry_count());
    int seen_cartpole = 0, seen_pendulum = 0, renders = 0;
    size_t i;
    json_t *e;
    json_array_foreach(all, i, e) {
        const char *name = json_string_value(json_object_get(e, "name"));
        ck_assert_ptr_nonnull(name);
        ck_assert(json_is_string(json_object_get(e, "summary")));
        /* whether it draws pictures (a MuJoCo scene), for recordings */
        ck_assert(json_is_boolean(json_object_get(e, "renders")));
        renders += json_is_true(json_object_get(e, "renders"));
        if (!strcmp(name, "CartPole") || !strcmp(name, "Pendulum")) {
            ck_assert_msg(json_is_false(json_object_get(e, "renders")), "%s renders", name);
        }
        if (!strcmp(name, "Hopper") || !strcmp(name, "HandReach")) {
            ck_assert_msg(json_is_true(json_object_get(e, "renders")), "%s does not render", name);
        }
        if (json_object_get(e, "error")) {
            continue; /* a task whose data is missing here is listed with its reason */
        }
        ck_assert(json_is_array(json_object_get(e, "sensations")));
        ck_assert(json_is_object(json_object_get(e, "action")));
        ck_assert(json_is_integer(json_object_get(e, "max_episode_steps")));
        ck_assert(json_is_real(json_object_get(e, "control_dt")));
        ck_assert(json_is_array(json_object_get(e, "metrics")));
        json_t *opts = json_object_get(e, "default_options");
        ck_assert(json_is_object(opts));
        ck_assert_int_eq(json_integer_value(json_object_get(opts, "max_episode_steps")),
                         json_integer_value(json_object_get(e, "max_episode_steps")));
        if (strcmp(name, "CartPole") == 0) {
            seen_cartpole = 1;
            json_t *act = json_object_get(e, "action");
            ck_assert_str_eq(json_string_value(json_object_get(act, "kind")), "discrete");
            ck_assert_int_eq(json_integer_value(json_array_get(json_object_get(act, "choices"), 0)),
                             2);
            ck_assert_int_eq(json_integer_value(json_object_get(e, "max_episode_steps")), 500);
        }
        if (strcmp(name, "Pendulum") == 0) {
            seen_pendulum = 1;
            ck_assert_double_eq(json_real_value(json_object_get(opts, "g")), 10.0);
            /* the default options are accepted as options */
            EnvTask task;
            char err[256];
            ck_assert_int_eq(env_task_create(&task, name, opts, err, sizeof err), AG_OK);
            env_task_destroy(&task);
        }
    }
    ck_assert(seen_cartpole && seen_pendulum);
    ck_assert_int_gt(renders, 0);
    json_decref(all);
}
END_TEST

/* ---- batches ---- */

START_TEST(test_batch_create_errors) {
    EnvTask task;
    EnvBatch batch;
    char err[256] = "";
    FakeShared sh = {0};
    fake_task_init(&task, &fake_class, &sh, ENV_ACTION_BOX, 0);
    ck_assert_int_eq(env_batch_create(&batch, &task, 0, 1, 0, err, sizeof err), AG_ERANGE);
    ck_assert_msg(strstr(err, "num_envs") != NULL, "%s", err);
    ck_assert_int_eq(env_batch_create(&batch, &task, ENV_BATCH_MAX_ENVS + 1, 1, 0, err, sizeof err),
                     AG_ERANGE);
    ck_assert_int_eq(env_batch_create(&batch, NULL, 4, 1, 0, err, sizeof err), AG_EINVAL);
    env_batch_destroy(&batch); /* a failed create leaves nothing to free */
}
END_TEST

START_TEST(test_batch_env_create_failure_cleans_up) {
    EnvTask task;
    EnvBatch batch;
    char err[256] = "";
    FakeShared sh = {0};
    fake_task_init(&task, &fake_hooks_class, &sh, ENV_ACTION_BOX, 0);
    fake_env_created = fake_env_destroyed = 0;
    fake_env_fail_at = 3;
    ck_assert_int_eq(env_batch_create(&batch, &task, 5, 1, 0, err, sizeof err), AG_ENOMEM);
    ck_assert_msg(strstr(err, "fake env 3 refused") != NULL, "%s", err);
    ck_assert_int_eq(fake_env_destroyed, 3);
    ck_assert_ptr_null(batch.states);

    fake_env_created = fake_env_destroyed = 0;
    fake_env_fail_at = -1;
    ck_assert_int_eq(env_batch_create(&batch, &task, 5, 1, 0, err, sizeof err), AG_OK);
    ck_assert_int_eq(fake_env_created, 5);
    env_batch_destroy(&batch);
    ck_assert_int_eq(fake_env_destroyed, 5);
}
END_TEST

START_TEST(test_batch_seeding) {
    EnvTask task;
    char err[256];
    ck_assert_int_eq(env_task_create(&task, "CartPole", NULL, err, sizeof err), AG_OK);
    Rig a, b, c, d;
    rig_open(&a, &task, 4, 42, 0);
    rig_open(&b, &task, 4, 42, 0);
    rig_open(&c, &task, 4, 42, 1);
    rig_open(&d, &task, 4, 43, 0);
    /* same seed, same start; each environment its own start; streams shift with the base */
    ck_assert_int_eq(memcmp(a.obs, b.obs, 16 * sizeof(float)), 0);
    ck_assert_int_ne(memcmp(a.obs, a.obs + 4, 4 * sizeof(float)), 0);
    ck_assert_int_eq(memcmp(a.obs + 4, c.obs, 12 * sizeof(float)), 0);
    ck_assert_int_ne(memcmp(a.obs, d.obs, 4 * sizeof(float)), 0);
    /* same seed, same actions: same trajectory through resets */
    for (int t = 0; t < 300; t++) {
        for (int i = 0; i < 4; i++) {
            a.actions[i] = b.actions[i] = (float)((t * 7 + i * 3) % 5 < 2);
        }
        rig_step(&a);
        rig_step(&b);
        ck_assert_int_eq(memcmp(a.obs, b.obs, 16 * sizeof(float)), 0);
        ck_assert_int_eq(memcmp(a.term, b.term, 4), 0);
    }
    rig_close(&a);
    rig_close(&b);
    rig_close(&c);
    rig_close(&d);
    env_task_destroy(&task);
}
END_TEST

START_TEST(test_batch_reset_clears_episodes) {
    EnvTask task;
    FakeShared sh = {0};
    fake_task_init(&task, &fake_class, &sh, ENV_ACTION_BOX, 0);
    Rig r;
    rig_open(&r, &task, 2, 1, 0);
    for (int t = 0; t < 5; t++) {
        rig_step(&r);
    }
    ck_assert_int_eq(r.batch.episode_steps[1], 5);
    ck_assert_double_eq(r.batch.episode_returns[1], 15.0);
    env_batch_reset(&r.batch, r.obs);
    ck_assert_int_eq(r.batch.episode_steps[1], 0);
    ck_assert_double_eq(r.batch.episode_returns[1], 0.0);
    ck_assert_float_eq(r.obs[3 + 0], 0.0f);
    ck_assert_float_eq(r.obs[3 + 2], 2.0f); /* the second reset of environment 1 */
    /* an explicit reset is not an episode end */
    EnvBatchStats st;
    env_batch_stats_take(&r.batch, &st);
    ck_assert_int_eq(st.episodes, 0);
    ck_assert_int_eq(st.steps, 10);
    rig_close(&r);
}
END_TEST

START_TEST(test_batch_box_actions_clipped) {
    EnvTask task;
    FakeShared sh = {0};
    fake_task_init(&task, &fake_class, &sh, ENV_ACTION_BOX, 0);
    Rig r;
    rig_open(&r, &task, 2, 1, 0);
    /* bounds: dim 0 [-1, 1], dim 1 [-2, 2] */
    float acts[4] = {-5.0f, 1.5f, 0.25f, NAN};
    memcpy(r.actions, acts, sizeof acts);
    rig_step(&r);
    const FakeState *s0 = (const FakeState *)r.batch.states;
    const FakeState *s1 = (const FakeState *)(r.batch.states + sizeof(FakeState));
    ck_assert_float_eq(s0->seen[0], -1.0f);
    ck_assert_float_eq(s0->seen[1], 1.5f);
    ck_assert_float_eq(s1->seen[0], 0.25f);
    ck_assert_float_eq(s1->seen[1], 0.0f); /* NaN becomes the middle of the range */
    /* the caller's actions are untouched; only the NaN counts as invalid */
    ck_assert_float_eq(r.actions[0], -5.0f);
    EnvBatchStats st;
    env_batch_stats_take(&r.batch, &st);
    ck_assert_int_eq(st.invalid_actions, 1);
    ck_assert_int_eq(st.steps, 2);
    rig_close(&r);
}
END_TEST

START_TEST(test_batch_discrete_actions_checked) {
    EnvTask task;
    FakeShared sh = {0};
    fake_task_init(&task, &fake_class, &sh, ENV_ACTION_DISCRETE, 0); /* 3 choices */
    Rig r;
    rig_open(&r, &task, 6, 1, 0);
    float acts[6] = {0.0f, 2.0f, 7.0f, -1.0f, 1.4f, NAN};
    float want[6] = {0.0f, 2.0f, 2.0f, 0.0f, 1.0f, 0.0f};
    memcpy(r.actions, acts, sizeof acts);
    rig_step(&r);
    for (int i = 0; i < 6; i++) {
        const FakeState *s = (const FakeState *)(r.batch.states + (size_t)i * sizeof(FakeState));
        ck_assert_msg(s->seen[0] == want[i], "env %d saw %g, want %g", i, s->seen[0], want[i]);
    }
    EnvBatchStats st;
    env_batch_stats_take(&r.batch, &st);
    ck_assert_int_eq(st.invalid_actions, 4);
    rig_close(&r);

    /* multi-discrete: dim 0 has 3 choices, dim 1 has 4 */
    task.spec.action_kind = ENV_ACTION_MULTI_DISCRETE;
    task.spec.action_dim = 2;
    task.spec.action_choices[1] = 4;
    rig_open(&r, &task, 1, 1, 0);
    r.actions[0] = 2.0f;
    r.actions[1] = 9.0f;
    rig_step(&r);
    const FakeState *s = (const FakeState *)r.batch.states;
    ck_assert_float_eq(s->seen[0], 2.0f);
    ck_assert_float_eq(s->seen[1], 3.0f);
    env_batch_stats_take(&r.batch, &st);
    ck_assert_int_eq(st.invalid_actions, 1);
    rig_close(&r);
}
END_TEST

START_TEST(test_batch_terminate_auto_reset) {
    EnvTask task;
    FakeShared sh = {.term_at = 3};
    fake_task_init(&task, &fake_class, &sh, ENV_ACTION_BOX, 0);
    Rig r;
    rig_open(&r, &task, 2, 5, 0);
    for (int t = 1; t <= 3; t++) {
        memset(r.final_obs, 0xff, 6 * sizeof(float));
        rig_step(&r);
        ck_assert_float_eq(r.rewards[0], (float)t);
        if (t < 3) {
            ck_assert_int_eq(r.term[0], 0);
            ck_assert_int_eq(r.trunc[0], 0);
            ck_assert_float_eq(r.obs[0], (float)t);
            /* rows of environments that go on are not written */
            uint32_t bits;
            memcpy(&bits, r.final_obs, sizeof bits);
            ck_assert_uint_eq(bits, 0xffffffffu);
        }
    }
    for (int i = 0; i < 2; i++) {
        ck_assert_int_eq(r.term[i], 1);
        ck_assert_int_eq(r.trunc[i], 0);
        /* final_obs holds the last observation, obs the first of the next episode */
        ck_assert_float_eq(r.final_obs[i * 3 + 0], 3.0f);
        ck_assert_float_eq(r.final_obs[i * 3 + 2], 1.0f);
        ck_assert_float_eq(r.obs[i * 3 + 0], 0.0f);
        ck_assert_float_eq(r.obs[i * 3 + 2], 2.0f);
        ck_assert_int_eq(r.batch.episode_steps[i], 0);
        ck_assert_double_eq(r.batch.episode_returns[i], 0.0);
    }
    rig_step(&r);
    ck_assert_int_eq(r.term[0], 0);
    ck_assert_float_eq(r.obs[0], 1.0f);
    rig_close(&r);
}
END_TEST

START_TEST(test_batch_limit_and_termination_together) {
    EnvTask task;
    FakeShared sh = {.term_at = 3};
    fake_task_init(&task, &fake_class, &sh, ENV_ACTION_BOX, 3);
    Rig r;
    rig_open(&r, &task, 1, 5, 0);
    /* the step that terminates on the limit: both flags, one episode, one reset */
    for (int t = 1; t <= 3; t++) {
        rig_step(&r);
        ck_assert_int_eq(r.term[0], t == 3);
        ck_assert_int_eq(r.trunc[0], t == 3);
    }
    ck_assert_float_eq(r.final_obs[0], 3.0f);
    ck_assert_float_eq(r.obs[2], 2.0f);
    EnvBatchStats st;
    env_batch_stats_take(&r.batch, &st);
    ck_assert_int_eq(st.episodes, 1);
    ck_assert_double_eq(st.length_sum, 3.0);
    ck_assert_double_eq(st.return_sum, 6.0);
    rig_close(&r);

    /* an unstable step is a termination; on the limit's step also a truncation */
    sh = (FakeShared){.unstable_at = 2};
    for (int limit = 2; limit <= 5; limit += 3) {
        fake_task_init(&task, &fake_class, &sh, ENV_ACTION_BOX, limit);
        rig_open(&r, &task, 1, 5, 0);
        rig_step(&r);
        rig_step(&r);
        ck_assert_int_eq(r.term[0], 1);
        ck_assert_int_eq(r.trunc[0], limit == 2);
        rig_close(&r);
    }
}
END_TEST

START_TEST(test_batch_truncation) {
    EnvTask task;
    FakeShared sh = {.term_at = 4};
    fake_task_init(&task, &fake_class, &sh, ENV_ACTION_BOX, 4);
    Rig r;
    rig_open(&r, &task, 1, 5, 0);
    /* a termination on the limit's step reports both flags, as Gymnasium's TimeLimit does */
    for (int t = 0; t < 4; t++) {
        rig_step(&r);
    }
    ck_assert_int_eq(r.term[0], 1);
    ck_assert_int_eq(r.trunc[0], 1);
    rig_close(&r);

    sh.term_at = 0;
    fake_task_init(&task, &fake_class, &sh, ENV_ACTION_BOX, 4);
    rig_open(&r, &task, 1, 5, 0);
    for (int t = 1; t <= 9; t++) {
        rig_step(&r);
        ck_assert_int_eq(r.term[0], 0);
        ck_assert_int_eq(r.trunc[0], t == 4 || t == 8);
        if (t == 4) {
            ck_assert_float_eq(r.final_obs[0], 4.0f);
        }
    }
    EnvBatchStats st;
    env_batch_stats_take(&r.batch, &st);
    ck_assert_int_eq(st.episodes, 2);
    ck_assert_double_eq(st.length_sum, 8.0);
    rig_close(&r);
}
END_TEST

START_TEST(test_batch_stats) {
    EnvTask task;
    FakeShared sh = {.term_at = 3};
    fake_task_init(&task, &fake_class, &sh, ENV_ACTION_BOX, 0);
    Rig r;
    rig_open(&r, &task, 3, 5, 0);
    for (int t = 0; t < 7; t++) {
        rig_step(&r);
    }
    /* 3 environments x 2 finished episodes of return 1 + 2 + 3 = 6 */
    EnvBatchStats st;
    env_batch_stats_take(&r.batch, &st);
    ck_assert_int_eq(st.episodes, 6);
    ck_assert_double_eq(st.return_sum, 36.0);
    ck_assert_double_eq(st.return_sq_sum, 216.0);
    ck_assert_double_eq(st.length_sum, 18.0);
    ck_assert_double_eq(st.metric_sums[0], 18.0);
    ck_assert_double_eq(st.metric_sums[1], 6.0);
    ck_assert_int_eq(st.steps, 21);
    ck_assert_int_eq(st.unstable, 0);
    /* taking clears */
    env_batch_stats_take(&r.batch, &st);
    ck_assert_int_eq(st.episodes, 0);
    ck_assert_int_eq(st.steps, 0);
    ck_assert_double_eq(st.return_sum, 0.0);
    /* the episode in progress (1 step) carries on */
    rig_step(&r);
    rig_step(&r);
    env_batch_stats_take(&r.batch, &st);
    ck_assert_int_eq(st.episodes, 3);
    ck_assert_double_eq(st.return_sum, 18.0);
    rig_close(&r);
}
END_TEST

START_TEST(test_batch_unstable) {
    EnvTask task;
    FakeShared sh = {.unstable_at = 2};
    fake_task_init(&task, &fake_class, &sh, ENV_ACTION_BOX, 0);
    Rig r;
    rig_open(&r, &task, 1, 5, 0);
    rig_step(&r);
    rig_step(&r);
    ck_assert_int_eq(r.term[0], 1);
    ck_assert_int_eq(r.trunc[0], 0);
    ck_assert_float_eq(r.obs[0], 0.0f); /* reset */
    EnvBatchStats st;
    env_batch_stats_take(&r.batch, &st);
    ck_assert_int_eq(st.unstable, 1);
    ck_assert_int_eq(st.episodes, 1);
    ck_assert_double_eq(st.return_sum, 3.0);
    rig_close(&r);

    /* a NaN observation nobody flagged is caught the same way and zeroed in final_obs */
    sh.unstable_at = 0;
    sh.nan_obs_at = 2;
    rig_open(&r, &task, 1, 5, 0);
    rig_step(&r);
    rig_step(&r);
    ck_assert_int_eq(r.term[0], 1);
    ck_assert(isfinite(r.final_obs[1]));
    ck_assert_float_eq(r.final_obs[1], 0.0f);
    ck_assert_float_eq(r.final_obs[0], 2.0f);
    env_batch_stats_take(&r.batch, &st);
    ck_assert_int_eq(st.unstable, 1);
    rig_close(&r);

    /* a NaN reward likewise ends the episode and counts as zero */
    sh.nan_obs_at = 0;
    sh.nan_reward_at = 3;
    rig_open(&r, &task, 1, 5, 0);
    for (int t = 0; t < 3; t++) {
        rig_step(&r);
    }
    ck_assert_int_eq(r.term[0], 1);
    ck_assert_float_eq(r.rewards[0], 0.0f);
    env_batch_stats_take(&r.batch, &st);
    ck_assert_int_eq(st.unstable, 1);
    ck_assert_int_eq(st.episodes, 1);
    ck_assert_double_eq(st.return_sum, 3.0);
    rig_close(&r);
}
END_TEST

START_TEST(test_batch_final_obs_optional) {
    EnvTask task;
    FakeShared sh = {.term_at = 1};
    fake_task_init(&task, &fake_class, &sh, ENV_ACTION_BOX, 0);
    Rig r;
    rig_open(&r, &task, 2, 5, 0);
    env_batch_step(&r.batch, r.actions, r.obs, r.rewards, r.term, r.trunc, NULL);
    ck_assert_int_eq(r.term[0], 1);
    ck_assert_float_eq(r.obs[0], 0.0f);
    rig_close(&r);
}
END_TEST

/* runs n steps of a CartPole rig with a fixed action pattern, recording observations */
static void cartpole_run(Rig *r, int t0, int n, float *trace) {
    for (int t = 0; t < n; t++) {
        for (int i = 0; i < r->n; i++) {
            r->actions[i] = (float)(((t0 + t) * 5 + i) % 3 == 0);
        }
        rig_step(r);
        memcpy(trace + (size_t)t * r->n * 4, r->obs, (size_t)r->n * 4 * sizeof(float));
    }
}

START_TEST(test_snapshot_plain_round_trip) {
    EnvTask task;
    char err[256];
    ck_assert_int_eq(env_task_create(&task, "CartPole", NULL, err, sizeof err), AG_OK);
    Rig a, b;
    rig_open(&a, &task, 4, 9, 100);
    float *trace1 = calloc(60 * 16, sizeof(float));
    float *trace2 = calloc(60 * 16, sizeof(float));
    float *trace3 = calloc(60 * 16, sizeof(float));
    cartpole_run(&a, 0, 37, trace1);
    size_t size = env_batch_snapshot_size(&a.batch);
    unsigned char *snap = malloc(size);
    env_batch_snapshot_save(&a.batch, snap);
    cartpole_run(&a, 37, 60, trace1);
    EnvBatchStats s1;
    env_batch_stats_take(&a.batch, &s1);

    /* back into the same batch: a bit-identical continuation */
    ck_assert_int_eq(env_batch_snapshot_load(&a.batch, snap, size), AG_OK);
    cartpole_run(&a, 37, 60, trace2);
    EnvBatchStats s2;
    env_batch_stats_take(&a.batch, &s2);
    ck_assert_int_eq(memcmp(trace1, trace2, 60 * 16 * sizeof(float)), 0);
    ck_assert_int_eq(memcmp(&s1, &s2, sizeof s1), 0);
    ck_assert_int_gt(s1.episodes, 0);

    /* into a fresh batch with another seed: the snapshot decides everything */
    rig_open(&b, &task, 4, 12345, 0);
    ck_assert_int_eq(env_batch_snapshot_load(&b.batch, snap, size), AG_OK);
    cartpole_run(&b, 37, 60, trace3);
    ck_assert_int_eq(memcmp(trace1, trace3, 60 * 16 * sizeof(float)), 0);

    free(trace1);
    free(trace2);
    free(trace3);
    free(snap);
    rig_close(&a);
    rig_close(&b);
    env_task_destroy(&task);
}
END_TEST

START_TEST(test_snapshot_load_errors) {
    EnvTask cp, novel;
    char err[256];
    ck_assert_int_eq(env_task_create(&cp, "CartPole", NULL, err, sizeof err), AG_OK);
    ck_assert_int_eq(env_task_create(&novel, "CartPoleNoVel", NULL, err, sizeof err), AG_OK);
    Rig a, b, c;
    rig_open(&a, &cp, 3, 1, 0);
    rig_open(&b, &cp, 2, 1, 0);
    rig_open(&c, &novel, 3, 1, 0);
    size_t size = env_batch_snapshot_size(&a.batch);
    unsigned char *snap = malloc(size + 8);
    env_batch_snapshot_save(&a.batch, snap);
    unsigned char *orig = malloc(size);
    memcpy(orig, a.batch.states, 3 * sizeof(double) * 4);

    ck_assert_int_eq(env_batch_snapshot_load(&a.batch, snap, size - 1), AG_ETRUNCATED);
    ck_assert_int_eq(env_batch_snapshot_load(&a.batch, snap, 10), AG_ETRUNCATED);
    ck_assert_int_eq(env_batch_snapshot_load(&a.batch, NULL, size), AG_ETRUNCATED);
    ck_assert_int_eq(env_batch_snapshot_load(&a.batch, snap, size + 8), AG_EFORMAT);
    ck_assert_int_eq(env_batch_snapshot_load(&b.batch, snap, size), AG_EMISMATCH);
    ck_assert_int_eq(env_batch_snapshot_load(&c.batch, snap, size), AG_EMISMATCH);
    snap[0] ^= 0x5a;
    ck_assert_int_eq(env_batch_snapshot_load(&a.batch, snap, size), AG_EFORMAT);
    snap[0] ^= 0x5a;
    snap[4] ^= 0x01; /* version */
    ck_assert_int_eq(env_batch_snapshot_load(&a.batch, snap, size), AG_EVERSION);
    snap[4] ^= 0x01;
    /* failed loads leave the batch as it was */
    ck_assert_int_eq(memcmp(orig, a.batch.states, 3 * sizeof(double) * 4), 0);
    ck_assert_int_eq(env_batch_snapshot_load(&a.batch, snap, size), AG_OK);

    free(snap);
    free(orig);
    rig_close(&a);
    rig_close(&b);
    rig_close(&c);
    env_task_destroy(&cp);
    env_task_destroy(&novel);
}
END_TEST

START_TEST(test_snapshot_class_hooks) {
    EnvTask task;
    FakeShared sh = {.term_at = 5};
    fake_task_init(&task, &fake_hooks_class, &sh, ENV_ACTION_BOX, 0);
    fake_env_fail_at = -1;
    Rig a, b;
    rig_open(&a, &task, 2, 3, 0);
    for (int t = 0; t < 7; t++) {
        rig_step(&a);
    }
    size_t size = env_batch_snapshot_size(&a.batch);
    /* the class's own size is used, not state_size */
    size_t size_plain_hdr = size - 2 * fake_snapshot_size(&task);
    ck_assert_uint_gt(size_plain_hdr, 0);
    unsigned char *snap = malloc(size);
    env_batch_snapshot_save(&a.batch, snap);
    float want[6];
    rig_step(&a);
    memcpy(want, a.obs, sizeof want);

    rig_open(&b, &task, 2, 99, 0);
    ck_assert_int_eq(env_batch_snapshot_load(&b.batch, snap, size), AG_OK);
    ck_assert_int_eq(b.batch.episode_steps[0], 2);
    rig_step(&b);
    ck_assert_int_eq(memcmp(want, b.obs, sizeof want), 0);
    free(snap);
    rig_close(&a);
    rig_close(&b);
}
END_TEST

static Suite *env_suite(void) {
    Suite *s = suite_create("env");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_registry_lookup);
    tcase_add_test(tc, test_unknown_task_lists_known);
    tcase_add_test(tc, test_task_options_errors);
    tcase_add_test(tc, test_task_max_steps_override);
    tcase_add_test(tc, test_task_no_limit);
    tcase_add_test(tc, test_spec_helpers);
    tcase_add_test(tc, test_task_vars_helpers);
    tcase_add_test(tc, test_spec_to_json);
    tcase_add_test(tc, test_registry_describe);
    tcase_add_test(tc, test_batch_create_errors);
    tcase_add_test(tc, test_batch_env_create_failure_cleans_up);
    tcase_add_test(tc, test_batch_seeding);
    tcase_add_test(tc, test_batch_reset_clears_episodes);
    tcase_add_test(tc, test_batch_box_actions_clipped);
    tcase_add_test(tc, test_batch_discrete_actions_checked);
    tcase_add_test(tc, test_batch_terminate_auto_reset);
    tcase_add_test(tc, test_batch_truncation);
    tcase_add_test(tc, test_batch_limit_and_termination_together);
    tcase_add_test(tc, test_batch_stats);
    tcase_add_test(tc, test_batch_unstable);
    tcase_add_test(tc, test_batch_final_obs_optional);
    tcase_add_test(tc, test_snapshot_plain_round_trip);
    tcase_add_test(tc, test_snapshot_load_errors);
    tcase_add_test(tc, test_snapshot_class_hooks);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) {
    SRunner *sr = srunner_create(env_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
