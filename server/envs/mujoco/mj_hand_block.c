/* The block tasks of the hand (docs/tasks.md): the physics profile, resets from settled scenes,
 * goals and the episode rules of in-hand reorientation. The rest of the hand tasks (options,
 * observations, actions, the classes) is mj_hand.c.
 *
 * DESIGN
 * - Physics profiles. "fast" (default) runs the model as hand_block.xml sets it: 8 ms substeps,
 *   a sparse constraint Jacobian and the explicit contact pairs of the block with the hand
 *   (collision="predefined", no broad phase). "legacy" is the setting before it, for
 *   comparisons: 4 ms substeps, the Jacobian MuJoCo picks (dense for this model) and broad-phase
 *   contacts filtered by contype/conaffinity (the same pairs), settling on every reset.
 * - Fast resets. A reset used to settle the scene for 100 ms (25 substeps) every time. Now
 *   task creation settles one scene per face up (the block unturned, centred) and keeps a
 *   snapshot with the palm's frame. A reset restores one (no mj_resetData: it clears a 480 KB
 *   arena), turns the block about the palm's normal through its centre by the random turn and
 *   shifts it by the random offset in the palm's plane (a cube lying flat on the palm stays flat
 *   under both), then runs BLOCK_PLACE_SETTLE substeps. The random draws are the legacy ones in
 *   the legacy order (face, turn, offset x, offset y, goal), so a seed still fixes the episode.
 * - The random turn's contact with the little finger's metacarpal (the only other geom a resting
 *   block touches) is what the last substeps settle; tests check resets against the legacy ones.
 */
#include "mj_hand.h"
#include "mj_runtime.h"

#include "ag_error.h"
#include "ag_json.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* one face up per entry: the block's orientation before its turn about the vertical */
static const double hand_block_faces[BLOCK_FACES][4] = {
    {1, 0, 0, 0}, {0.70710678, 0.70710678, 0, 0}, {0.70710678, -0.70710678, 0, 0},
    {0, 1, 0, 0}, {0.70710678, 0, 0.70710678, 0}, {0.70710678, 0, -0.70710678, 0},
};

static const char *const hand_physics_names[] = {"fast", "legacy", NULL};

/* ---- quaternions ---- */

double env_mj_hand_rot_dist(const double *qa, const double *qb) {
    double inv[4], rel[4];
    mju_negQuat(inv, qb);
    mju_mulQuat(rel, qa, inv);
    double n = sqrt(rel[0] * rel[0] + rel[1] * rel[1] + rel[2] * rel[2] + rel[3] * rel[3]);
    double w = fabs(rel[0]) / (n > 0 ? n : 1.0);
    return 2.0 * acos(w > 1.0 ? 1.0 : w);
}

static void hand_random_axis_quat(AgRng *rng, double angle, double *q) {
    double ax[3], n;
    do {
        for (int i = 0; i < 3; i++) {
            ax[i] = ag_rng_normal(rng);
        }
        n = sqrt(ax[0] * ax[0] + ax[1] * ax[1] + ax[2] * ax[2]);
    } while (n < 1e-9);
    for (int i = 0; i < 3; i++) {
        ax[i] /= n;
    }
    mju_axisAngle2Quat(q, ax, angle);
}

/* ---- options and set-up ---- */

int env_mj_hand_block_options_read(EnvMjHandShared *sh, const json_t *options, char *err,
                                   size_t err_sz) {
    AgJsonErr je;
    int physics = HAND_PHYSICS_FAST;
    long long substeps = 0;
    if (ag_json_get_enum(options, ENV_OPTIONS_PATH, "physics", hand_physics_names,
                         HAND_PHYSICS_FAST, &physics, &je) != 0 ||
        ag_json_get_int(options, ENV_OPTIONS_PATH, "substeps", 0, 0, 80, &substeps, &je) != 0) {
        char msg[AG_JSON_PATH_MAX + AG_JSON_REASON_MAX];
        ag_json_err_format(&je, msg, sizeof(msg));
        return ag_errorf(err, err_sz, AG_ESPEC, "%s", msg);
    }
    sh->physics = (EnvMjHandPhysics)physics;
    sh->substeps = (int)substeps;
    return 0;
}

/* settles the scene with the block face f up, unturned and centred, from the straight hand
 * holding its pose, for `n` substeps (the legacy reset without its random draws) */
static int hand_block_settle(const EnvMjHandShared *sh, mjData *d, int f, int n) {
    mjModel *m = sh->m;
    mj_resetData(m, d);
    double *q = d->qpos + sh->obj_qpos;
    mju_copy3(q, m->qpos0 + sh->obj_qpos);
    mju_copy4(q + 3, hand_block_faces[f]);
    for (int j = 0; j < HAND_NJOINT; j++) {
        d->qpos[sh->jnt_qpos[j]] = sh->rest[j];
    }
    env_mj_set_state(m, d, NULL, NULL);
    env_mj_hand_hold_pose(sh, d);
    return env_mj_step(m, d, n);
}

static int hand_block_cache_build(EnvMjHandShared *sh, char *err, size_t err_sz) {
    mjModel *m = sh->m;
    mjData *d = NULL;
    int rc = env_mj_data_create(m, &d, err, err_sz);
    if (rc != 0) {
        return rc;
    }
    size_t count = env_mj_snapshot_count(m);
    int n = (int)lround(BLOCK_SETTLE_TIME / m->opt.timestep);
    for (int f = 0; f < BLOCK_FACES && rc == 0; f++) {
        EnvMjHandSettled *s = &sh->settled[f];
        s->snap = malloc(sizeof(double) * count);
        if (s->snap == NULL) {
            rc = ag_errorf(err, err_sz, AG_ENOMEM, "out of memory");
            break;
        }
        if (hand_block_settle(sh, d, f, n) != 0 || env_mj_forward(m, d) != 0) {
            rc = ag_errorf(err, err_sz, AG_ESIM, "the block scene does not settle (face %d)", f);
            break;
        }
        env_mj_snapshot_save(m, d, s->snap);
        /* xmat is row-major: its columns are the palm's axes */
        const double *r = d->xmat + 9 * sh->palm_body;
        for (int k = 0; k < 3; k++) {
            s->palm_x[k] = r[3 * k];
            s->palm_y[k] = r[3 * k + 1];
            s->palm_z[k] = r[3 * k + 2];
        }
    }
    mj_deleteData(d);
    return rc;
}

int env_mj_hand_block_setup(EnvMjHandShared *sh, char *err, size_t err_sz) {
    mjModel *m = sh->m;
    int legacy = sh->physics == HAND_PHYSICS_LEGACY;
    if (sh->substeps == 0) {
        sh->substeps = legacy ? BLOCK_LEGACY_STEPS : BLOCK_SUBSTEPS;
    }
    m->opt.timestep = HAND_BLOCK_DT / sh->substeps;
    if (legacy) {
        m->opt.jacobian = mjJAC_AUTO;
        m->opt.collision = mjCOL_DYNAMIC;
        return 0;
    }
    return hand_block_cache_build(sh, err, err_sz);
}

void env_mj_hand_block_teardown(EnvMjHandShared *sh) {
    for (int f = 0; f < BLOCK_FACES; f++) {
        free(sh->settled[f].snap);
        sh->settled[f].snap = NULL;
    }
}

/* ---- goals ---- */

static void hand_block_goal_sample(const EnvMjHandShared *sh, EnvMjHandState *st, AgRng *rng) {
    hand_random_axis_quat(rng, ag_rng_uniform_range(rng, -mjPI, mjPI), st->goal);
    mju_copy4(st->d->mocap_quat + 4 * sh->goal_mocap, st->goal);
}

/* ---- resets ---- */

/* the random part of a block reset, drawn in the legacy order */
typedef struct HandBlockPlace {
    int face;
    double turn;      /* about the vertical (the palm's normal), rad */
    double offset[2]; /* in the palm's plane, m */
} HandBlockPlace;

static void hand_block_place_draw(AgRng *rng, HandBlockPlace *p) {
    p->face = (int)ag_rng_below(rng, BLOCK_FACES);
    p->turn = ag_rng_uniform_range(rng, -mjPI, mjPI);
    p->offset[0] = ag_rng_uniform_range(rng, -0.003, 0.003);
    p->offset[1] = ag_rng_uniform_range(rng, -0.003, 0.003);
}

/* legacy: the block placed on the straight hand, then 100 ms of settling (BLOCK_SETTLE substeps
 * of 4 ms) */
static void hand_block_reset_legacy(const EnvMjHandShared *sh, EnvMjHandState *st,
                                    const HandBlockPlace *p, AgRng *rng) {
    mjModel *m = sh->m;
    mjData *d = st->d;
    mj_resetData(m, d);
    double yaw[4], z[3] = {0, 0, 1};
    mju_axisAngle2Quat(yaw, z, p->turn);
    double *q = d->qpos + sh->obj_qpos;
    q[0] = m->qpos0[sh->obj_qpos] + p->offset[0];
    q[1] = m->qpos0[sh->obj_qpos + 1] + p->offset[1];
    q[2] = m->qpos0[sh->obj_qpos + 2];
    mju_mulQuat(q + 3, yaw, hand_block_faces[p->face]);
    hand_block_goal_sample(sh, st, rng);
    for (int j = 0; j < HAND_NJOINT; j++) {
        d->qpos[sh->jnt_qpos[j]] = sh->rest[j];
    }
    env_mj_set_state(m, d, NULL, NULL);
    env_mj_hand_hold_pose(sh, d);
    env_mj_step(m, d, (int)lround(BLOCK_SETTLE_TIME / m->opt.timestep));
}

/* fast: the settled scene of the face, the block turned and shifted on the palm */
static void hand_block_reset_fast(const EnvMjHandShared *sh, EnvMjHandState *st,
                                  const HandBlockPlace *p, AgRng *rng) {
    const EnvMjHandSettled *s = &sh->settled[p->face];
    mjData *d = st->d;
    env_mj_snapshot_restore(sh->m, d, s->snap);
    double turn[4], q[4], v[3];
    mju_axisAngle2Quat(turn, s->palm_z, p->turn);
    double *pos = d->qpos + sh->obj_qpos;
    for (int k = 0; k < 3; k++) {
        pos[k] += p->offset[0] * s->palm_x[k] + p->offset[1] * s->palm_y[k];
    }
    mju_mulQuat(q, turn, pos + 3);
    mju_normalize4(q);
    mju_copy4(pos + 3, q);
    /* the free joint's linear velocity is in the world frame (turned with the block), its
     * angular velocity in the block's own frame (unchanged) */
    mju_rotVecQuat(v, d->qvel + sh->obj_dof, turn);
    mju_copy3(d->qvel + sh->obj_dof, v);
    hand_block_goal_sample(sh, st, rng);
    env_mj_step(sh->m, d, BLOCK_PLACE_SETTLE);
}

void env_mj_hand_block_reset(const EnvMjHandShared *sh, EnvMjHandState *st, AgRng *rng) {
    HandBlockPlace p;
    hand_block_place_draw(rng, &p);
    if (sh->physics == HAND_PHYSICS_LEGACY) {
        hand_block_reset_legacy(sh, st, &p, rng);
    } else {
        hand_block_reset_fast(sh, st, &p, rng);
    }
    st->prev_dist = env_mj_hand_rot_dist(st->d->qpos + sh->obj_qpos + 3, st->goal);
}

/* ---- rules ---- */

double env_mj_hand_block_rules(const EnvMjHandShared *sh, EnvMjHandState *st, AgRng *rng,
                               EnvStep *out) {
    const mjData *d = st->d;
    double dist = env_mj_hand_rot_dist(d->qpos + sh->obj_qpos + 3, st->goal);
    double reward = st->prev_dist - dist;
    if (d->qpos[sh->obj_qpos + 2] < sh->drop_z) {
        reward -= BLOCK_DROP_PENALTY;
        out->terminated = 1;
    } else if (dist < BLOCK_SUCCESS_ROT) {
        reward += BLOCK_GOAL_BONUS;
        st->consecutive_goals++;
        st->steps_since_goal = 0;
        if (st->consecutive_goals >= BLOCK_MAX_GOALS) {
            out->terminated = 1;
        } else {
            hand_block_goal_sample(sh, st, rng);
            dist = env_mj_hand_rot_dist(d->qpos + sh->obj_qpos + 3, st->goal);
        }
    } else if (++st->steps_since_goal >= BLOCK_GOAL_TIMEOUT) {
        out->truncated = 1;
    }
    st->prev_dist = dist;
    return reward;
}
