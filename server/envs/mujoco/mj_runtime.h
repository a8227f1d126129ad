/* The MuJoCo runtime shared by every MuJoCo task: model loading from the data directory, error
 * and warning handlers that never end the process, guarded stepping with frame skip, detection
 * of unstable simulation, snapshots of the simulation state, and the joint task variables.
 *
 * DESIGN
 * - One mjModel per task (EnvTask.shared) is shared read-only by all environments of a rank;
 *   each environment owns one mjData. MuJoCo 2.2.2 functions take a non-const mjModel, so the
 *   model pointer is kept non-const but never written after loading.
 * - mju_error would call exit(); the installed handler long-jumps back to the guarded call
 *   (env_mj_step, env_mj_forward) which then reports AG_ESIM, so a broken simulation ends the
 *   episode as unstable instead of the run.
 * - A step is unstable when a state is not finite or MuJoCo counted a bad qpos/qvel/qacc/ctrl
 *   warning (it then silently resets the data itself, which must not pass for physics).
 * - A snapshot is a flat array of doubles: time, qpos, qvel, act, ctrl, qacc_warmstart,
 *   mocap_pos, mocap_quat, at any byte alignment (it is copied, never loaded as doubles in
 *   place). Loading one and stepping continues bit-identically.
 */
#ifndef MJ_RUNTIME_H
#define MJ_RUNTIME_H

#include "env.h"

#include <mujoco/mujoco.h>
#include <stddef.h>

/* installs the error and warning handlers (idempotent, thread-safe) */
void env_mj_handlers_install(void);

/* loads models/<file> from the data directory (ANGORA_DATA_DIR overrides) */
int env_mj_model_load(const char *file, mjModel **out, char *err, size_t err_sz);
/* loads an MJCF file by its path */
int env_mj_model_load_path(const char *path, mjModel **out, char *err, size_t err_sz);

int env_mj_data_create(mjModel *m, mjData **out, char *err, size_t err_sz);

/* steps `substeps` times under the error guard; 0, or AG_ESIM when MuJoCo failed or the state
 * became unstable */
int env_mj_step(mjModel *m, mjData *d, int substeps);
/* mj_forward under the error guard; 0 or AG_ESIM */
int env_mj_forward(mjModel *m, mjData *d);
/* 1 when qpos/qvel/act are not finite or a bad-number warning was counted since the reset */
int env_mj_unstable(const mjModel *m, const mjData *d);
/* number of MuJoCo errors caught by the guard since the process started */
long env_mj_error_count(void);

/* sets qpos/qvel (either may be NULL to keep the current values), clears warnings, forward */
int env_mj_set_state(mjModel *m, mjData *d, const mjtNum *qpos, const mjtNum *qvel);

/* number of doubles in a snapshot */
size_t env_mj_snapshot_count(const mjModel *m);
void env_mj_snapshot_save(const mjModel *m, const mjData *d, void *dst);
/* restores and recomputes derived quantities (of the state as saved); 0 or AG_ESIM */
int env_mj_snapshot_load(mjModel *m, mjData *d, const void *src);
/* restores the state only, for hot paths (resets from a cached state): no mj_resetData (which
 * clears the whole arena) and no forward, so derived quantities stay stale until the next step.
 * Stepping afterwards is bit-identical to stepping after env_mj_snapshot_load as long as the
 * task never writes mjData's inputs outside the snapshot (qfrc_applied, xfrc_applied, ...). */
void env_mj_snapshot_restore(const mjModel *m, mjData *d, const void *src);

/* runs fn(arg) with MuJoCo errors caught; 0, or AG_ESIM when MuJoCo raised one */
int env_mj_guarded(void (*fn)(void *), void *arg);

/* id of a named object or -1 */
int env_mj_id(const mjModel *m, int type, const char *name);

/* EnvClass.mj_model and .mj_data of every MuJoCo task: each keeps its mjModel first in its
 * shared data (EnvTask.shared) and its mjData first in each environment's state */
mjModel *env_mj_task_model(const EnvTask *task);
mjData *env_mj_task_data(const EnvTask *task, const void *state);

/* Task variables (env.h) every MuJoCo task can give, usable as its class's hooks: the angles and
 * velocities of the model's hinge joints ("joint_angles" rad, "joint_velocities" rad/s) and the
 * positions and velocities of its slide joints ("slide_positions" m, "slide_velocities" m/s),
 * each dimension named after its joint; free and ball joints are left out. A task with more to
 * say describes these first and appends its own after them. */
void env_mj_task_vars_describe(const EnvTask *task, EnvTaskVars *vars);
void env_mj_task_vars(const EnvTask *task, const void *state, float *out);
/* env_mj_task_vars's row for one mjData; returns the floats written */
int env_mj_joint_vars(const mjModel *m, const mjData *d, float *out);

#endif
