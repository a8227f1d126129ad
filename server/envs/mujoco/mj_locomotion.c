/* The Gymnasium-v4 locomotion and control benchmarks on MuJoCo: InvertedPendulum,
 * InvertedDoublePendulum, Reacher, Swimmer, Hopper, HalfCheetah, Walker2d, Ant and Humanoid.
 * Physics come from the MJCF files in server/envs/models; frame skip, observations, rewards,
 * termination rules, reset noise and episode limits follow the v4 versions (docs/tasks.md).
 *
 * DESIGN
 * - One descriptor per task; one class per task built from it; one code path with a switch on
 *   the kind for observations, rewards and termination.
 * - Positions that enter a velocity reward (x before the step) are kept in the environment
 *   state rather than re-read from mjData, so that a snapshot restores them exactly: derived
 *   quantities in mjData after mj_step belong to the start of the last substep (as in
 *   Gymnasium), and a restored state recomputes them at the end.
 */
#include "mj_runtime.h"
#include "mj_tasks.h"

#include "ag_error.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef enum EnvMjLocoKind {
    MJ_LOCO_INVERTED_PENDULUM,
    MJ_LOCO_INVERTED_DOUBLE_PENDULUM,
    MJ_LOCO_REACHER,
    MJ_LOCO_SWIMMER,
    MJ_LOCO_HOPPER,
    MJ_LOCO_HALF_CHEETAH,
    MJ_LOCO_WALKER2D,
    MJ_LOCO_ANT,
    MJ_LOCO_HUMANOID
} EnvMjLocoKind;

typedef struct EnvMjLocoDesc {
    EnvMjLocoKind kind;
    const char *file;
    int frame_skip;
    int max_steps;
} EnvMjLocoDesc;

typedef struct EnvMjLocoShared {
    mjModel *m;
    const EnvMjLocoDesc *desc;
    double dt;          /* control step: timestep * frame_skip */
    int tip_site;       /* InvertedDoublePendulum */
    int fingertip_body; /* Reacher */
    int target_body;    /* Reacher */
    int torso_body;     /* Ant */
    double total_mass;  /* Humanoid */
} EnvMjLocoShared;

typedef struct EnvMjLocoState {
    mjData *d;
    double prev_xy[2]; /* Ant, Humanoid: body position entering the forward reward */
    double tip_vec[3]; /* Reacher: fingertip - target as last observed, scored by the next step */
} EnvMjLocoState;

static const EnvMjLocoDesc mj_loco_descs[] = {
    [MJ_LOCO_INVERTED_PENDULUM] = {MJ_LOCO_INVERTED_PENDULUM, "inverted_pendulum.xml", 2, 1000},
    [MJ_LOCO_INVERTED_DOUBLE_PENDULUM] = {MJ_LOCO_INVERTED_DOUBLE_PENDULUM,
                                          "inverted_double_pendulum.xml", 5, 1000},
    [MJ_LOCO_REACHER] = {MJ_LOCO_REACHER, "reacher.xml", 2, 50},
    [MJ_LOCO_SWIMMER] = {MJ_LOCO_SWIMMER, "swimmer.xml", 4, 1000},
    [MJ_LOCO_HOPPER] = {MJ_LOCO_HOPPER, "hopper.xml", 4, 1000},
    [MJ_LOCO_HALF_CHEETAH] = {MJ_LOCO_HALF_CHEETAH, "half_cheetah.xml", 5, 1000},
    [MJ_LOCO_WALKER2D] = {MJ_LOCO_WALKER2D, "walker2d.xml", 4, 1000},
    [MJ_LOCO_ANT] = {MJ_LOCO_ANT, "ant.xml", 5, 1000},
    [MJ_LOCO_HUMANOID] = {MJ_LOCO_HUMANOID, "humanoid.xml", 5, 1000},
};

static int mj_loco_obs_size(const mjModel *m, EnvMjLocoKind kind) {
    switch (kind) {
    case MJ_LOCO_INVERTED_PENDULUM:
        return m->nq + m->nv;
    case MJ_LOCO_INVERTED_DOUBLE_PENDULUM:
        return 1 + 2 * (m->nq - 1) + 2 * m->nv;
    case MJ_LOCO_REACHER:
        return 11;
    case MJ_LOCO_SWIMMER:
    case MJ_LOCO_HOPPER:
    case MJ_LOCO_HALF_CHEETAH:
    case MJ_LOCO_WALKER2D:
        /* the root x (and for the swimmer y) position is left out */
        return (kind == MJ_LOCO_SWIMMER ? m->nq - 2 : m->nq - 1) + m->nv;
    case MJ_LOCO_ANT:
        return m->nq - 2 + m->nv;
    case MJ_LOCO_HUMANOID:
        return m->nq - 2 + m->nv + 10 * m->nbody + 6 * m->nbody + m->nv + 6 * m->nbody;
    }
    return 0;
}

static void mj_loco_humanoid_com(const EnvMjLocoShared *sh, const mjData *d, double xy[2]) {
    const mjModel *m = sh->m;
    double sx = 0, sy = 0;
    for (int b = 0; b < m->nbody; b++) {
        sx += m->body_mass[b] * d->xipos[3 * b];
        sy += m->body_mass[b] * d->xipos[3 * b + 1];
    }
    xy[0] = sx / sh->total_mass;
    xy[1] = sy / sh->total_mass;
}

/* the position whose change is the forward velocity */
static void mj_loco_position(const EnvMjLocoShared *sh, const mjData *d, double xy[2]) {
    switch (sh->desc->kind) {
    case MJ_LOCO_ANT:
        xy[0] = d->xpos[3 * sh->torso_body];
        xy[1] = d->xpos[3 * sh->torso_body + 1];
        break;
    case MJ_LOCO_HUMANOID:
        mj_loco_humanoid_com(sh, d, xy);
        break;
    default:
        xy[0] = d->qpos[0];
        xy[1] = sh->m->nq > 1 ? d->qpos[1] : 0.0;
        break;
    }
}

static float mj_loco_clip(double v, double lim) {
    return (float)(v < -lim ? -lim : (v > lim ? lim : v));
}

/* remembers what the next step scores against; derived quantities are read here once */
static void mj_loco_remember(const EnvMjLocoShared *sh, const mjData *d, EnvMjLocoState *st) {
    mj_loco_position(sh, d, st->prev_xy);
    if (sh->desc->kind == MJ_LOCO_REACHER) {
        const double *tip = d->xpos + 3 * sh->fingertip_body;
        const double *tgt = d->xpos + 3 * sh->target_body;
        for (int i = 0; i < 3; i++) {
            st->tip_vec[i] = tip[i] - tgt[i];
        }
    }
}

static void mj_loco_observe(const EnvMjLocoShared *sh, const mjData *d, const EnvMjLocoState *st,
                            float *obs) {
    const mjModel *m = sh->m;
    int k = 0;
    switch (sh->desc->kind) {
    case MJ_LOCO_INVERTED_PENDULUM:
        for (int i = 0; i < m->nq; i++) {
            obs[k++] = (float)d->qpos[i];
        }
        for (int i = 0; i < m->nv; i++) {
            obs[k++] = (float)d->qvel[i];
        }
        break;
    case MJ_LOCO_INVERTED_DOUBLE_PENDULUM:
        obs[k++] = (float)d->qpos[0];
        for (int i = 1; i < m->nq; i++) {
            obs[k++] = (float)sin(d->qpos[i]);
        }
        for (int i = 1; i < m->nq; i++) {
            obs[k++] = (float)cos(d->qpos[i]);
        }
        for (int i = 0; i < m->nv; i++) {
            obs[k++] = mj_loco_clip(d->qvel[i], 10.0);
        }
        for (int i = 0; i < m->nv; i++) {
            obs[k++] = mj_loco_clip(d->qfrc_constraint[i], 10.0);
        }
        break;
    case MJ_LOCO_REACHER: {
        /* fingertip - target comes from the state (see mj_loco_remember) */
        for (int i = 0; i < 2; i++) {
            obs[k++] = (float)cos(d->qpos[i]);
        }
        for (int i = 0; i < 2; i++) {
            obs[k++] = (float)sin(d->qpos[i]);
        }
        obs[k++] = (float)d->qpos[2];
        obs[k++] = (float)d->qpos[3];
        obs[k++] = (float)d->qvel[0];
        obs[k++] = (float)d->qvel[1];
        for (int i = 0; i < 3; i++) {
            obs[k++] = (float)st->tip_vec[i];
        }
        break;
    }
    case MJ_LOCO_SWIMMER:
    case MJ_LOCO_HALF_CHEETAH:
    case MJ_LOCO_ANT: {
        int skip = sh->desc->kind == MJ_LOCO_HALF_CHEETAH ? 1 : 2;
        for (int i = skip; i < m->nq; i++) {
            obs[k++] = (float)d->qpos[i];
        }
        for (int i = 0; i < m->nv; i++) {
            obs[k++] = (float)d->qvel[i];
        }
        break;
    }
    case MJ_LOCO_HOPPER:
    case MJ_LOCO_WALKER2D:
        for (int i = 1; i < m->nq; i++) {
            obs[k++] = (float)d->qpos[i];
        }
        for (int i = 0; i < m->nv; i++) {
            obs[k++] = mj_loco_clip(d->qvel[i], 10.0);
        }
        break;
    case MJ_LOCO_HUMANOID:
        for (int i = 2; i < m->nq; i++) {
            obs[k++] = (float)d->qpos[i];
        }
        for (int i = 0; i < m->nv; i++) {
            obs[k++] = (float)d->qvel[i];
        }
        for (int i = 0; i < 10 * m->nbody; i++) {
            obs[k++] = (float)d->cinert[i];
        }
        for (int i = 0; i < 6 * m->nbody; i++) {
            obs[k++] = (float)d->cvel[i];
        }
        for (int i = 0; i < m->nv; i++) {
            obs[k++] = (float)d->qfrc_actuator[i];
        }
        for (int i = 0; i < 6 * m->nbody; i++) {
            obs[k++] = (float)d->cfrc_ext[i];
        }
        break;
    }
}

/* Gymnasium's health rules (Hopper, Walker2d, Ant, Humanoid); others are always healthy */
static int mj_loco_healthy(const EnvMjLocoShared *sh, const mjData *d) {
    const mjModel *m = sh->m;
    switch (sh->desc->kind) {
    case MJ_LOCO_HOPPER: {
        double z = d->qpos[1], angle = d->qpos[2];
        /* state vector (qpos, qvel) without its first two entries within (-100, 100) */
        for (int i = 2; i < m->nq + m->nv; i++) {
            double v = i < m->nq ? d->qpos[i] : d->qvel[i - m->nq];
            if (!(v > -100.0 && v < 100.0)) {
                return 0;
            }
        }
        return z > 0.7 && angle > -0.2 && angle < 0.2;
    }
    case MJ_LOCO_WALKER2D: {
        double z = d->qpos[1], angle = d->qpos[2];
        return z > 0.8 && z < 2.0 && angle > -1.0 && angle < 1.0;
    }
    case MJ_LOCO_ANT:
        for (int i = 0; i < m->nq; i++) {
            if (!isfinite(d->qpos[i])) {
                return 0;
            }
        }
        for (int i = 0; i < m->nv; i++) {
            if (!isfinite(d->qvel[i])) {
                return 0;
            }
        }
        return d->qpos[2] >= 0.2 && d->qpos[2] <= 1.0;
    case MJ_LOCO_HUMANOID:
        return d->qpos[2] > 1.0 && d->qpos[2] < 2.0;
    default:
        return 1;
    }
}

static double mj_loco_sq_sum(const float *a, int n) {
    double s = 0;
    for (int i = 0; i < n; i++) {
        s += (double)a[i] * (double)a[i];
    }
    return s;
}

static int mj_loco_task_create(EnvTask *task, const json_t *options, char *err, size_t err_sz,
                               const EnvMjLocoDesc *desc) {
    int rc = 0;
    EnvMjLocoShared *sh = NULL;
    if (options != NULL && json_object_size(options) > 0) {
        const char *key = json_object_iter_key(json_object_iter((json_t *)options));
        return ag_errorf(err, err_sz, AG_ESPEC, "options.%s: unknown option (%s takes none)", key,
                         task->cls->name);
    }
    sh = calloc(1, sizeof(*sh));
    if (sh == NULL) {
        return ag_errorf(err, err_sz, AG_ENOMEM, "out of memory");
    }
    sh->desc = desc;
    rc = env_mj_model_load(desc->file, &sh->m, err, err_sz);
    if (rc != 0) {
        goto out;
    }
    const mjModel *m = sh->m;
    sh->dt = m->opt.timestep * desc->frame_skip;
    sh->tip_site = env_mj_id(m, mjOBJ_SITE, "tip");
    sh->fingertip_body = env_mj_id(m, mjOBJ_BODY, "fingertip");
    sh->target_body = env_mj_id(m, mjOBJ_BODY, "target");
    sh->torso_body = env_mj_id(m, mjOBJ_BODY, "torso");
    for (int b = 0; b < m->nbody; b++) {
        sh->total_mass += m->body_mass[b];
    }
    if ((desc->kind == MJ_LOCO_INVERTED_DOUBLE_PENDULUM && sh->tip_site < 0) ||
        (desc->kind == MJ_LOCO_REACHER && (sh->fingertip_body < 0 || sh->target_body < 0)) ||
        (desc->kind == MJ_LOCO_ANT && sh->torso_body < 0) || m->nu > ENV_MAX_ACTION_DIM) {
        rc = ag_errorf(err, err_sz, AG_EFORMAT, "model %s lacks a part the task needs", desc->file);
        goto out;
    }

    EnvSpec *s = &task->spec;
    memset(s, 0, sizeof(*s));
    s->num_sensations = 1;
    snprintf(s->sensations[0].name, ENV_NAME_MAX, "state");
    s->sensations[0].size = mj_loco_obs_size(m, desc->kind);
    s->sensations[0].shape[0] = s->sensations[0].size;
    s->sensations[0].shape[1] = 1;
    s->sensations[0].shape[2] = 1;
    s->obs_size = s->sensations[0].size;
    s->action_kind = ENV_ACTION_BOX;
    s->action_dim = m->nu;
    for (int i = 0; i < m->nu; i++) {
        s->action_low[i] = (float)m->actuator_ctrlrange[2 * i];
        s->action_high[i] = (float)m->actuator_ctrlrange[2 * i + 1];
    }
    s->max_episode_steps = desc->max_steps;
    s->control_dt = sh->dt;
    s->num_metrics = 0;
    task->shared = sh;
    sh = NULL;
out:
    if (sh != NULL) {
        if (sh->m != NULL) {
            mj_deleteModel(sh->m);
        }
        free(sh);
    }
    return rc;
}

static void mj_loco_task_destroy(EnvTask *task) {
    EnvMjLocoShared *sh = task->shared;
    if (sh == NULL) {
        return;
    }
    mj_deleteModel(sh->m);
    free(sh);
    task->shared = NULL;
}

static int mj_loco_env_create(const EnvTask *task, void *state, char *err, size_t err_sz) {
    const EnvMjLocoShared *sh = task->shared;
    EnvMjLocoState *st = state;
    return env_mj_data_create(sh->m, &st->d, err, err_sz);
}

static void mj_loco_env_destroy(const EnvTask *task, void *state) {
    (void)task;
    EnvMjLocoState *st = state;
    if (st->d != NULL) {
        mj_deleteData(st->d);
    }
    st->d = NULL;
}

/* x (n) += noise drawn uniformly from [-s, s], in index order */
static void mj_loco_jitter_uniform(mjtNum *x, int n, double s, AgRng *rng) {
    for (int i = 0; i < n; i++) {
        x[i] += ag_rng_uniform_range(rng, -s, s);
    }
}

/* x (n) += normal noise of standard deviation s, in index order */
static void mj_loco_jitter_normal(mjtNum *x, int n, double s, AgRng *rng) {
    for (int i = 0; i < n; i++) {
        x[i] += s * ag_rng_normal(rng);
    }
}

static void mj_loco_reset(const EnvTask *task, void *state, AgRng *rng, float *obs) {
    const EnvMjLocoShared *sh = task->shared;
    mjModel *m = sh->m;
    EnvMjLocoState *st = state;
    mjData *d = st->d;
    mj_resetData(m, d);
    /* qpos starts at qpos0 and qvel at zero after the reset */
    switch (sh->desc->kind) {
    case MJ_LOCO_INVERTED_PENDULUM:
        mj_loco_jitter_uniform(d->qpos, m->nq, 0.01, rng);
        mj_loco_jitter_uniform(d->qvel, m->nv, 0.01, rng);
        break;
    case MJ_LOCO_INVERTED_DOUBLE_PENDULUM:
    case MJ_LOCO_HALF_CHEETAH:
    case MJ_LOCO_ANT:
        mj_loco_jitter_uniform(d->qpos, m->nq, 0.1, rng);
        mj_loco_jitter_normal(d->qvel, m->nv, 0.1, rng);
        break;
    case MJ_LOCO_REACHER: {
        mj_loco_jitter_uniform(d->qpos, m->nq, 0.1, rng);
        double gx, gy;
        do {
            gx = ag_rng_uniform_range(rng, -0.2, 0.2);
            gy = ag_rng_uniform_range(rng, -0.2, 0.2);
        } while (sqrt(gx * gx + gy * gy) >= 0.2);
        d->qpos[m->nq - 2] = gx;
        d->qpos[m->nq - 1] = gy;
        mj_loco_jitter_uniform(d->qvel, m->nv, 0.005, rng);
        d->qvel[m->nv - 2] = 0;
        d->qvel[m->nv - 1] = 0;
        break;
    }
    case MJ_LOCO_SWIMMER:
    case MJ_LOCO_HOPPER:
    case MJ_LOCO_WALKER2D:
    case MJ_LOCO_HUMANOID: {
        double s = sh->desc->kind == MJ_LOCO_SWIMMER    ? 0.1
                   : sh->desc->kind == MJ_LOCO_HUMANOID ? 1e-2
                                                        : 5e-3;
        mj_loco_jitter_uniform(d->qpos, m->nq, s, rng);
        mj_loco_jitter_uniform(d->qvel, m->nv, s, rng);
        break;
    }
    }
    env_mj_set_state(m, d, NULL, NULL);
    mj_loco_remember(sh, d, st);
    mj_loco_observe(sh, d, st, obs);
}

static void mj_loco_step(const EnvTask *task, void *state, AgRng *rng, const float *action,
                         float *obs, EnvStep *out) {
    (void)rng;
    const EnvMjLocoShared *sh = task->shared;
    mjModel *m = sh->m;
    EnvMjLocoState *st = state;
    mjData *d = st->d;
    EnvMjLocoKind kind = sh->desc->kind;
    double reward = 0;

    memset(out, 0, sizeof(*out));
    /* Reacher-v4 scores the state before the action */
    if (kind == MJ_LOCO_REACHER) {
        const double *v = st->tip_vec;
        reward = -sqrt(v[0] * v[0] + v[1] * v[1] + v[2] * v[2]) - mj_loco_sq_sum(action, m->nu);
    }
    /* joint-coordinate positions are state and read now; body positions were remembered */
    double before[2] = {st->prev_xy[0], st->prev_xy[1]};
    if (kind != MJ_LOCO_ANT && kind != MJ_LOCO_HUMANOID) {
        before[0] = d->qpos[0];
        before[1] = m->nq > 1 ? d->qpos[1] : 0.0;
    }
    for (int i = 0; i < m->nu; i++) {
        d->ctrl[i] = action[i];
    }
    if (env_mj_step(m, d, sh->desc->frame_skip) != 0) {
        memset(obs, 0, sizeof(float) * (size_t)task->spec.obs_size);
        out->unstable = 1;
        out->terminated = 1;
        return;
    }
    if (kind == MJ_LOCO_HUMANOID) {
        mj_rnePostConstraint(m, d); /* cfrc_ext is part of the observation */
    }

    mj_loco_remember(sh, d, st);
    double vx = (st->prev_xy[0] - before[0]) / sh->dt;
    double ctrl2 = mj_loco_sq_sum(action, m->nu);

    switch (kind) {
    case MJ_LOCO_INVERTED_PENDULUM:
        reward = 1.0;
        out->terminated = !(fabs(d->qpos[1]) <= 0.2);
        break;
    case MJ_LOCO_INVERTED_DOUBLE_PENDULUM: {
        const double *tip = d->site_xpos + 3 * sh->tip_site;
        double x = tip[0], y = tip[2];
        double v1 = d->qvel[1], v2 = d->qvel[2];
        reward = 10.0 - (0.01 * x * x + (y - 2) * (y - 2)) - (1e-3 * v1 * v1 + 5e-3 * v2 * v2);
        out->terminated = y <= 1.0;
        break;
    }
    case MJ_LOCO_REACHER:
        break;
    case MJ_LOCO_SWIMMER:
        reward = vx - 1e-4 * ctrl2;
        break;
    case MJ_LOCO_HALF_CHEETAH:
        reward = vx - 0.1 * ctrl2;
        break;
    case MJ_LOCO_HOPPER:
    case MJ_LOCO_WALKER2D:
        reward = vx + 1.0 - 1e-3 * ctrl2;
        out->terminated = !mj_loco_healthy(sh, d);
        break;
    case MJ_LOCO_ANT:
        reward = vx + 1.0 - 0.5 * ctrl2;
        out->terminated = !mj_loco_healthy(sh, d);
        break;
    case MJ_LOCO_HUMANOID: {
        double c2 = 0;
        for (int i = 0; i < m->nu; i++) {
            c2 += d->ctrl[i] * d->ctrl[i];
        }
        reward = 1.25 * vx + 5.0 - 0.1 * c2;
        out->terminated = !mj_loco_healthy(sh, d);
        break;
    }
    }
    mj_loco_observe(sh, d, st, obs);
    if (kind == MJ_LOCO_INVERTED_PENDULUM) {
        for (int i = 0; i < task->spec.obs_size; i++) {
            if (!isfinite(obs[i])) {
                out->terminated = 1;
            }
        }
    }
    out->reward = (float)reward;
}

static size_t mj_loco_snapshot_size(const EnvTask *task) {
    const EnvMjLocoShared *sh = task->shared;
    return sizeof(double) * (env_mj_snapshot_count(sh->m) + 5);
}

static void mj_loco_snapshot_save(const EnvTask *task, const void *state, void *dst) {
    const EnvMjLocoShared *sh = task->shared;
    const EnvMjLocoState *st = state;
    double head[5] = {st->prev_xy[0], st->prev_xy[1], st->tip_vec[0], st->tip_vec[1],
                      st->tip_vec[2]};
    memcpy(dst, head, sizeof head);
    env_mj_snapshot_save(sh->m, st->d, (unsigned char *)dst + sizeof head);
}

static void mj_loco_snapshot_load(const EnvTask *task, void *state, const void *src) {
    const EnvMjLocoShared *sh = task->shared;
    EnvMjLocoState *st = state;
    double head[5];
    memcpy(head, src, sizeof head);
    st->prev_xy[0] = head[0];
    st->prev_xy[1] = head[1];
    memcpy(st->tip_vec, head + 2, sizeof(st->tip_vec));
    env_mj_snapshot_load(sh->m, st->d, (const unsigned char *)src + sizeof head);
}

static json_t *mj_loco_default_options(void) {
    return json_object();
}

#define MJ_LOCO_CLASS(ident, cname, kind, text)                                                    \
    static int mj_loco_create_##ident(EnvTask *task, const json_t *options, char *err,             \
                                      size_t err_sz) {                                             \
        return mj_loco_task_create(task, options, err, err_sz, &mj_loco_descs[kind]);              \
    }                                                                                              \
    const EnvClass env_mj_##ident##_class = {                                                      \
        .name = cname,                                                                             \
        .summary = text,                                                                           \
        .state_size = sizeof(EnvMjLocoState),                                                      \
        .task_create = mj_loco_create_##ident,                                                     \
        .task_destroy = mj_loco_task_destroy,                                                      \
        .env_create = mj_loco_env_create,                                                          \
        .env_destroy = mj_loco_env_destroy,                                                        \
        .reset = mj_loco_reset,                                                                    \
        .step = mj_loco_step,                                                                      \
        .episode_metrics = NULL,                                                                   \
        .snapshot_size = mj_loco_snapshot_size,                                                    \
        .snapshot_save = mj_loco_snapshot_save,                                                    \
        .snapshot_load = mj_loco_snapshot_load,                                                    \
        .default_options = mj_loco_default_options,                                                \
        .task_variables_describe = env_mj_task_vars_describe,                                      \
        .task_variables = env_mj_task_vars,                                                        \
        .mj_model = env_mj_task_model,                                                             \
        .mj_data = env_mj_task_data,                                                               \
    }

MJ_LOCO_CLASS(inverted_pendulum, "InvertedPendulum", MJ_LOCO_INVERTED_PENDULUM,
              "MuJoCo cart-pole: keep one pole upright (Gymnasium v4 rules)");
MJ_LOCO_CLASS(inverted_double_pendulum, "InvertedDoublePendulum", MJ_LOCO_INVERTED_DOUBLE_PENDULUM,
              "MuJoCo cart with two stacked poles: keep the tip high (Gymnasium v4 rules)");
MJ_LOCO_CLASS(reacher, "Reacher", MJ_LOCO_REACHER,
              "two-link arm moves its fingertip to a random target (Gymnasium v4 rules)");
MJ_LOCO_CLASS(swimmer, "Swimmer", MJ_LOCO_SWIMMER,
              "three-link swimmer moves forward in a viscous fluid (Gymnasium v4 rules)");
MJ_LOCO_CLASS(hopper, "Hopper", MJ_LOCO_HOPPER,
              "planar one-legged hopper runs forward without falling (Gymnasium v4 rules)");
MJ_LOCO_CLASS(half_cheetah, "HalfCheetah", MJ_LOCO_HALF_CHEETAH,
              "planar cheetah runs forward as fast as it can (Gymnasium v4 rules)");
MJ_LOCO_CLASS(walker2d, "Walker2d", MJ_LOCO_WALKER2D,
              "planar biped walks forward without falling (Gymnasium v4 rules)");
MJ_LOCO_CLASS(ant, "Ant", MJ_LOCO_ANT,
              "four-legged ant walks forward without flipping (Gymnasium v4 rules)");
MJ_LOCO_CLASS(humanoid, "Humanoid", MJ_LOCO_HUMANOID,
              "3D humanoid walks forward without falling (Gymnasium v4 rules)");
