/* The MuJoCo runtime: loading, guarded stepping, instability checks, snapshots and the joint
 * task variables (see mj_runtime.h for the design). */
#include "mj_runtime.h"

#include "ag_error.h"
#include "ag_fs.h"
#include "ag_log.h"

#include <math.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

/* where the current guarded call wants to land when MuJoCo reports an error */
static _Thread_local jmp_buf *env_mj_guard;
static _Thread_local char env_mj_last_error[256];
static atomic_long env_mj_errors;
static atomic_long env_mj_warnings;
static pthread_once_t env_mj_once = PTHREAD_ONCE_INIT;

static void env_mj_error_handler(const char *msg) {
    atomic_fetch_add(&env_mj_errors, 1);
    snprintf(env_mj_last_error, sizeof(env_mj_last_error), "%s", msg);
    if (env_mj_guard != NULL) {
        longjmp(*env_mj_guard, 1);
    }
    /* outside a guard (loading, allocation) the caller checks its result */
    ag_log_error("mujoco: %s", msg);
}

static void env_mj_warning_handler(const char *msg) {
    /* the counters in mjData carry the information; keep the log quiet after a few */
    long n = atomic_fetch_add(&env_mj_warnings, 1);
    if (n < 5) {
        ag_log_debug("mujoco warning: %s", msg);
    }
}

static void env_mj_handlers_install_once(void) {
    mju_user_error = env_mj_error_handler;
    mju_user_warning = env_mj_warning_handler;
}

void env_mj_handlers_install(void) {
    pthread_once(&env_mj_once, env_mj_handlers_install_once);
}

long env_mj_error_count(void) {
    return atomic_load(&env_mj_errors);
}

int env_mj_model_load_path(const char *path, mjModel **out, char *err, size_t err_sz) {
    char load_err[512] = "";
    *out = NULL;
    env_mj_handlers_install();
    if (!ag_fs_exists(path)) {
        return ag_errorf(err, err_sz, AG_ENOTFOUND, "model file %s not found", path);
    }
    mjModel *m = mj_loadXML(path, NULL, load_err, (int)sizeof(load_err));
    if (m == NULL) {
        return ag_errorf(err, err_sz, AG_EFORMAT, "cannot load model %s: %s", path, load_err);
    }
    *out = m;
    return 0;
}

int env_mj_model_load(const char *file, mjModel **out, char *err, size_t err_sz) {
    char rel[256], path[4096];
    snprintf(rel, sizeof(rel), "models/%s", file);
    if (ag_fs_data_path(rel, path, sizeof(path)) != 0) {
        return ag_errorf(err, err_sz, AG_ETOOBIG, "model path for %s too long", file);
    }
    return env_mj_model_load_path(path, out, err, err_sz);
}

typedef struct EnvMjMakeData {
    mjModel *m;
    mjData *d;
} EnvMjMakeData;

static void env_mj_make_data(void *arg) {
    EnvMjMakeData *a = arg;
    a->d = mj_makeData(a->m);
}

int env_mj_data_create(mjModel *m, mjData **out, char *err, size_t err_sz) {
    /* allocation failures inside mj_makeData are MuJoCo errors: catch them */
    EnvMjMakeData a = {m, NULL};
    *out = NULL;
    if (env_mj_guarded(env_mj_make_data, &a) != 0 || a.d == NULL) {
        return ag_errorf(err, err_sz, AG_ENOMEM, "cannot allocate simulation data: %s",
                         env_mj_last_error[0] ? env_mj_last_error : "out of memory");
    }
    *out = a.d;
    return 0;
}

int env_mj_step(mjModel *m, mjData *d, int substeps) {
    jmp_buf here;
    jmp_buf *volatile saved = env_mj_guard;
    if (setjmp(here) != 0) {
        env_mj_guard = saved;
        return AG_ESIM;
    }
    env_mj_guard = &here;
    for (int i = 0; i < substeps; i++) {
        mj_step(m, d);
    }
    env_mj_guard = saved;
    return env_mj_unstable(m, d) ? AG_ESIM : 0;
}

int env_mj_forward(mjModel *m, mjData *d) {
    jmp_buf here;
    jmp_buf *volatile saved = env_mj_guard;
    if (setjmp(here) != 0) {
        env_mj_guard = saved;
        return AG_ESIM;
    }
    env_mj_guard = &here;
    mj_forward(m, d);
    env_mj_guard = saved;
    return 0;
}

int env_mj_guarded(void (*fn)(void *), void *arg) {
    jmp_buf here;
    jmp_buf *volatile saved = env_mj_guard;
    env_mj_handlers_install();
    if (setjmp(here) != 0) {
        env_mj_guard = saved;
        return AG_ESIM;
    }
    env_mj_guard = &here;
    fn(arg);
    env_mj_guard = saved;
    return 0;
}

static int env_mj_finite(const mjtNum *v, int n) {
    for (int i = 0; i < n; i++) {
        if (!isfinite(v[i])) {
            return 0;
        }
    }
    return 1;
}

int env_mj_unstable(const mjModel *m, const mjData *d) {
    static const int bad[] = {mjWARN_BADQPOS, mjWARN_BADQVEL, mjWARN_BADQACC, mjWARN_BADCTRL};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (d->warning[bad[i]].number > 0) {
            return 1;
        }
    }
    return !env_mj_finite(d->qpos, m->nq) || !env_mj_finite(d->qvel, m->nv) ||
           !env_mj_finite(d->act, m->na);
}

int env_mj_set_state(mjModel *m, mjData *d, const mjtNum *qpos, const mjtNum *qvel) {
    if (qpos != NULL) {
        mju_copy(d->qpos, qpos, m->nq);
    }
    if (qvel != NULL) {
        mju_copy(d->qvel, qvel, m->nv);
    }
    memset(d->warning, 0, sizeof(d->warning));
    return env_mj_forward(m, d);
}

size_t env_mj_snapshot_count(const mjModel *m) {
    return 1 + (size_t)m->nq + 2 * (size_t)m->nv + (size_t)m->na + (size_t)m->nu +
           7 * (size_t)m->nmocap;
}

/* snapshots sit inside larger checkpoint blobs at any byte offset: copies, never double loads */
static unsigned char *snap_put(unsigned char *p, const double *src, size_t n) {
    memcpy(p, src, sizeof(double) * n);
    return p + sizeof(double) * n;
}

static const unsigned char *snap_get(const unsigned char *p, double *dst, size_t n) {
    memcpy(dst, p, sizeof(double) * n);
    return p + sizeof(double) * n;
}

void env_mj_snapshot_save(const mjModel *m, const mjData *d, void *dst) {
    unsigned char *p = dst;
    p = snap_put(p, &d->time, 1);
    p = snap_put(p, d->qpos, (size_t)m->nq);
    p = snap_put(p, d->qvel, (size_t)m->nv);
    p = snap_put(p, d->act, (size_t)m->na);
    p = snap_put(p, d->ctrl, (size_t)m->nu);
    p = snap_put(p, d->qacc_warmstart, (size_t)m->nv);
    p = snap_put(p, d->mocap_pos, 3 * (size_t)m->nmocap);
    snap_put(p, d->mocap_quat, 4 * (size_t)m->nmocap);
}

/* copies every snapshot field but the warm start into d; returns where the warm start is */
static const unsigned char *snap_copy_in(const mjModel *m, mjData *d, const void *src) {
    const unsigned char *p = src;
    p = snap_get(p, &d->time, 1);
    p = snap_get(p, d->qpos, (size_t)m->nq);
    p = snap_get(p, d->qvel, (size_t)m->nv);
    p = snap_get(p, d->act, (size_t)m->na);
    p = snap_get(p, d->ctrl, (size_t)m->nu);
    const unsigned char *warm = p;
    p += sizeof(double) * (size_t)m->nv;
    p = snap_get(p, d->mocap_pos, 3 * (size_t)m->nmocap);
    snap_get(p, d->mocap_quat, 4 * (size_t)m->nmocap);
    return warm;
}

int env_mj_snapshot_load(mjModel *m, mjData *d, const void *src) {
    mj_resetData(m, d);
    snap_copy_in(m, d, src);
    int rc = env_mj_forward(m, d);
    /* forward may touch the warm start and, with a sparse Jacobian, normalises free joints'
     * quaternions in qpos in place: the saved state is what the next step must see */
    snap_get(snap_copy_in(m, d, src), d->qacc_warmstart, (size_t)m->nv);
    return rc;
}

void env_mj_snapshot_restore(const mjModel *m, mjData *d, const void *src) {
    snap_get(snap_copy_in(m, d, src), d->qacc_warmstart, (size_t)m->nv);
    memset(d->warning, 0, sizeof(d->warning));
}

int env_mj_id(const mjModel *m, int type, const char *name) {
    return mj_name2id(m, type, name);
}

mjModel *env_mj_task_model(const EnvTask *task) {
    return *(mjModel *const *)task->shared;
}

mjData *env_mj_task_data(const EnvTask *task, const void *state) {
    (void)task;
    return *(mjData *const *)state;
}

/* ---- task variables ---- */

static int env_mj_joint_count(const mjModel *m, int type) {
    int n = 0;
    for (int j = 0; j < m->njnt; j++) {
        n += m->jnt_type[j] == type;
    }
    return n;
}

static void env_mj_joint_names(const mjModel *m, int type, EnvTaskVar *v) {
    int k = 0;
    if (v->dim > ENV_MAX_VAR_DIMS) {
        return;
    }
    for (int j = 0; j < m->njnt; j++) {
        if (m->jnt_type[j] == type) {
            v->dim_names[k++] = m->names + m->name_jntadr[j];
        }
    }
}

void env_mj_task_vars_describe(const EnvTask *task, EnvTaskVars *vars) {
    static const struct {
        int type;
        const char *pos, *vel, *pos_units, *vel_units;
    } kinds[] = {{mjJNT_HINGE, "joint_angles", "joint_velocities", "rad", "rad/s"},
                 {mjJNT_SLIDE, "slide_positions", "slide_velocities", "m", "m/s"}};
    const mjModel *m = env_mj_task_model(task);
    for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++) {
        int n = env_mj_joint_count(m, kinds[k].type);
        if (n == 0) {
            continue;
        }
        EnvTaskVar *pos = env_task_vars_add(vars, kinds[k].pos, n, kinds[k].pos_units);
        EnvTaskVar *vel = env_task_vars_add(vars, kinds[k].vel, n, kinds[k].vel_units);
        if (pos && vel) {
            env_mj_joint_names(m, kinds[k].type, pos);
            env_mj_joint_names(m, kinds[k].type, vel);
        }
    }
}

/* writes the variables described above, in their order; returns the floats written */
static int env_mj_joint_write(const mjModel *m, const mjData *d, int type, float *out) {
    int n = env_mj_joint_count(m, type), k = 0;
    for (int j = 0; j < m->njnt; j++) {
        if (m->jnt_type[j] == type) {
            out[k] = (float)d->qpos[m->jnt_qposadr[j]];
            out[n + k] = (float)d->qvel[m->jnt_dofadr[j]];
            k++;
        }
    }
    return 2 * n;
}

int env_mj_joint_vars(const mjModel *m, const mjData *d, float *out) {
    int n = env_mj_joint_write(m, d, mjJNT_HINGE, out);
    return n + env_mj_joint_write(m, d, mjJNT_SLIDE, out + n);
}

void env_mj_task_vars(const EnvTask *task, const void *state, float *out) {
    env_mj_joint_vars(env_mj_task_model(task), env_mj_task_data(task, state), out);
}
