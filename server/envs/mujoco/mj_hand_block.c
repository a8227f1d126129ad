/* The block tasks of the hand (docs/tasks.md): the physics profile, resets from settled scenes,
 * goals, the goal curriculum and the episode rules of in-hand reorientation, shared by the task
 * ladder HandBlockRotateZ, HandBlockRotateParallel and HandBlock. The rest of the hand tasks
 * (options, observations, actions, the classes) is mj_hand.c.
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
 * - Goals. HandBlock: uniform over all orientations (Shoemake's uniform quaternion).
 *   HandBlockRotateZ: the reset's face up, turned about the vertical by a uniform angle.
 *   HandBlockRotateParallel: one of the cube's 24 axis-aligned orientations turned about the
 *   vertical by a uniform angle (Gymnasium's RotateParallel: every face up equally likely).
 * - Curriculum (per environment, so that it lives in the environment's state, is saved with it
 *   in checkpoints and never needs a lock): the largest goal angle grows by `step` when at least
 *   `threshold` of the last `window` episodes reached `goals` goals; the window then starts
 *   again. Below pi a goal is drawn from the task's distribution restricted to the rotations
 *   within the largest angle of the previous goal (of the start orientation for the first) and
 *   farther than the success tolerance from the block, so that no goal is reached for free; at
 *   pi the goals are the task's own. Full orientations draw the restricted rotation directly
 *   (uniform axis, angle by the inverse of the Haar distribution truncated to the largest angle),
 *   the others by rejection.
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
static const char *const hand_start_pose_names[] = {"straight", "cupped", NULL};

/* the cupped start pose (rad): the four fingers bent at the knuckle and curled so that their
 * tips stand over the block's far top edge (about 6 cm from its centre, against 14-15 cm
 * straight), the thumb opposed as in Gymnasium-Robotics' initial pose of the block tasks, the
 * wrist straight. Gymnasium's own finger angles leave the tips 10 cm from the block on this hand,
 * and its tilted wrist makes the block slide off the palm at rest. */
static const struct {
    const char *joint;
    double q;
} hand_cupped_pose[] = {
    {"FFJ3", 0.143},  {"FFJ2", 1.1},    {"FFJ1", 0.9},   {"FFJ0", 0.6},    {"MFJ3", 0.000},
    {"MFJ2", 1.1},    {"MFJ1", 0.9},    {"MFJ0", 0.6},   {"RFJ3", 0.000},  {"RFJ2", 1.1},
    {"RFJ1", 0.9},    {"RFJ0", 0.6},    {"LFJ4", 0.053}, {"LFJ3", -0.136}, {"LFJ2", 1.1},
    {"LFJ1", 0.9},    {"LFJ0", 0.6},    {"THJ4", 0.004}, {"THJ3", 0.551},  {"THJ2", -0.015},
    {"THJ1", -0.002}, {"THJ0", -0.789},
};
static const char *const hand_curriculum_keys[] = {"initial_angle", "final_angle", "step", "window",
                                                   "threshold",     "goals",       NULL};

#define HAND_CURRICULUM_PATH ENV_OPTIONS_PATH ".curriculum"
/* rejection draws of a restricted goal before the last candidate is kept (never reached in
 * practice: the smallest acceptance, a 0.5 rad parallel window, is about 1 %) */
#define HAND_GOAL_TRIES 100000

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

/* the "curriculum" option: absent or null (off), or an object of the spec's fields */
static int hand_curriculum_read(EnvMjHandCurriculumSpec *c, const json_t *options, AgJsonErr *je) {
    const json_t *o = json_object_get(options, "curriculum");
    long long window = 0, goals = 0;
    memset(c, 0, sizeof(*c));
    if (o == NULL || json_is_null(o)) {
        return 0;
    }
    int rc;
    if ((rc = ag_json_expect_object(o, HAND_CURRICULUM_PATH, je)) != 0 ||
        (rc = ag_json_check_keys(o, HAND_CURRICULUM_PATH, hand_curriculum_keys, je)) != 0 ||
        (rc = ag_json_get_double(o, HAND_CURRICULUM_PATH, "initial_angle", 0.6, 0.5, mjPI,
                                 &c->initial_angle, je)) != 0 ||
        (rc = ag_json_get_double(o, HAND_CURRICULUM_PATH, "final_angle", mjPI, 0.5, mjPI,
                                 &c->final_angle, je)) != 0 ||
        (rc = ag_json_get_double(o, HAND_CURRICULUM_PATH, "step", 0.2, 0.01, mjPI, &c->step, je)) !=
            0 ||
        (rc = ag_json_get_int(o, HAND_CURRICULUM_PATH, "window", 50, 1, CURRICULUM_WINDOW, &window,
                              je)) != 0 ||
        (rc = ag_json_get_double(o, HAND_CURRICULUM_PATH, "threshold", 0.5, 0.01, 1.0,
                                 &c->threshold, je)) != 0 ||
        (rc = ag_json_get_int(o, HAND_CURRICULUM_PATH, "goals", 1, 1, BLOCK_MAX_GOALS, &goals,
                              je)) != 0) {
        return rc;
    }
    if (c->final_angle < c->initial_angle) {
        return ag_json_fail(je, HAND_CURRICULUM_PATH ".final_angle",
                            "must be at least initial_angle (%g), got %g", c->initial_angle,
                            c->final_angle);
    }
    c->on = 1;
    c->window = (int)window;
    c->goals = (int)goals;
    return 0;
}

static const char *const hand_goal_frame_names[] = {"absolute", "relative", NULL};

int env_mj_hand_block_options_read(EnvMjHandShared *sh, const json_t *options, char *err,
                                   size_t err_sz) {
    AgJsonErr je;
    int physics = HAND_PHYSICS_FAST, start_pose = 0, goal_frame = 0;
    long long substeps = 0;
    if (ag_json_get_enum(options, ENV_OPTIONS_PATH, "physics", hand_physics_names,
                         HAND_PHYSICS_FAST, &physics, &je) != 0 ||
        ag_json_get_enum(options, ENV_OPTIONS_PATH, "start_pose", hand_start_pose_names, 0,
                         &start_pose, &je) != 0 ||
        ag_json_get_int(options, ENV_OPTIONS_PATH, "substeps", 0, 0, 80, &substeps, &je) != 0 ||
        ag_json_get_double(options, ENV_OPTIONS_PATH, "rotation_bonus", 0.0, 0.0, 10.0,
                           &sh->rotation_bonus, &je) != 0 ||
        ag_json_get_double(options, ENV_OPTIONS_PATH, "goal_bonus", BLOCK_GOAL_BONUS, 0.0,
                           BLOCK_REWARD_TERM_MAX, &sh->goal_bonus, &je) != 0 ||
        ag_json_get_double(options, ENV_OPTIONS_PATH, "drop_penalty", BLOCK_DROP_PENALTY, 0.0,
                           BLOCK_REWARD_TERM_MAX, &sh->drop_penalty, &je) != 0 ||
        ag_json_get_enum(options, ENV_OPTIONS_PATH, "goal_frame", hand_goal_frame_names, 0,
                         &goal_frame, &je) != 0 ||
        hand_curriculum_read(&sh->curriculum, options, &je) != 0) {
        char msg[AG_JSON_PATH_MAX + AG_JSON_REASON_MAX];
        ag_json_err_format(&je, msg, sizeof(msg));
        return ag_errorf(err, err_sz, AG_ESPEC, "%s", msg);
    }
    sh->physics = (EnvMjHandPhysics)physics;
    sh->substeps = (int)substeps;
    sh->start_cupped = start_pose == 1;
    sh->goal_relative = goal_frame == 1;
    return 0;
}

/* the cupped start pose into sh->rest, each joint kept 0.05 rad inside its limits */
static int hand_block_cupped_rest(EnvMjHandShared *sh, char *err, size_t err_sz) {
    const mjModel *m = sh->m;
    for (size_t i = 0; i < sizeof(hand_cupped_pose) / sizeof(hand_cupped_pose[0]); i++) {
        int id = mj_name2id(m, mjOBJ_JOINT, hand_cupped_pose[i].joint);
        int j = 0;
        while (j < HAND_NJOINT && (id < 0 || sh->jnt_qpos[j] != m->jnt_qposadr[id])) {
            j++;
        }
        if (j == HAND_NJOINT) {
            return ag_errorf(err, err_sz, AG_EFORMAT, "hand model has no hinge %s",
                             hand_cupped_pose[i].joint);
        }
        double lo = m->jnt_range[2 * id] + 0.05, hi = m->jnt_range[2 * id + 1] - 0.05;
        double q = hand_cupped_pose[i].q;
        sh->rest[j] = m->jnt_limited[id] ? (q < lo ? lo : q > hi ? hi : q) : q;
    }
    return 0;
}

/* the 24 rotations that map the cube's axes onto the world's (signed permutation matrices of
 * determinant +1) */
static void hand_block_parallel_fill(EnvMjHandShared *sh) {
    static const int perms[6][3] = {{0, 1, 2}, {0, 2, 1}, {1, 0, 2},
                                    {1, 2, 0}, {2, 0, 1}, {2, 1, 0}};
    int n = 0;
    for (int p = 0; p < 6; p++) {
        for (int signs = 0; signs < 8; signs++) {
            double r[9] = {0};
            for (int i = 0; i < 3; i++) {
                r[3 * i + perms[p][i]] = (signs >> i) & 1 ? -1.0 : 1.0;
            }
            double det = r[0] * (r[4] * r[8] - r[5] * r[7]) - r[1] * (r[3] * r[8] - r[5] * r[6]) +
                         r[2] * (r[3] * r[7] - r[4] * r[6]);
            if (det > 0) {
                mju_mat2Quat(sh->parallel[n++], r);
            }
        }
    }
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
    hand_block_parallel_fill(sh);
    if (sh->start_cupped) {
        int rc = hand_block_cupped_rest(sh, err, err_sz);
        if (rc != 0) {
            return rc;
        }
    }
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

/* Shoemake's uniform random rotation: uniform on the unit quaternions, so on SO(3) */
void env_mj_hand_quat_uniform(AgRng *rng, double *q) {
    double u1 = ag_rng_uniform(rng), u2 = 2 * mjPI * ag_rng_uniform(rng);
    double u3 = 2 * mjPI * ag_rng_uniform(rng);
    double a = sqrt(1.0 - u1), b = sqrt(u1);
    q[0] = a * sin(u2);
    q[1] = a * cos(u2);
    q[2] = b * sin(u3);
    q[3] = b * cos(u3);
}

/* q = (turn about the world's vertical by angle) * base */
static void hand_quat_turn_z(double angle, const double *base, double *q) {
    static const double z[3] = {0, 0, 1};
    double turn[4];
    mju_axisAngle2Quat(turn, z, angle);
    mju_mulQuat(q, turn, base);
    mju_normalize4(q);
}

/* a draw from the task's own goal distribution */
static void hand_goal_draw(const EnvMjHandShared *sh, const EnvMjHandState *st, AgRng *rng,
                           double *q) {
    switch (sh->goals) {
    case HAND_GOALS_FULL:
        env_mj_hand_quat_uniform(rng, q);
        break;
    case HAND_GOALS_Z:
        hand_quat_turn_z(ag_rng_uniform_range(rng, -mjPI, mjPI), hand_block_faces[st->face], q);
        break;
    case HAND_GOALS_PARALLEL: {
        int k = (int)ag_rng_below(rng, BLOCK_PARALLEL);
        hand_quat_turn_z(ag_rng_uniform_range(rng, -mjPI, mjPI), sh->parallel[k], q);
        break;
    }
    }
}

/* a rotation angle in [0, max] from the Haar measure truncated to it: density (1 - cos a) on
 * [0, max], by inverting its distribution (a - sin a) / (max - sin max) by bisection */
static double hand_haar_angle(AgRng *rng, double max) {
    double target = ag_rng_uniform(rng) * (max - sin(max));
    double lo = 0, hi = max;
    for (int i = 0; i < 60; i++) {
        double mid = 0.5 * (lo + hi);
        if (mid - sin(mid) < target) {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    return 0.5 * (lo + hi);
}

/* a draw restricted to the curriculum: within `max` of ref (exactly, for full orientations) */
static void hand_goal_draw_near(const EnvMjHandShared *sh, const EnvMjHandState *st, AgRng *rng,
                                const double *ref, double max, double *q) {
    if (sh->goals == HAND_GOALS_FULL) {
        double delta[4];
        hand_random_axis_quat(rng, hand_haar_angle(rng, max), delta);
        mju_mulQuat(q, delta, ref);
        mju_normalize4(q);
    } else if (sh->goals == HAND_GOALS_Z) {
        hand_quat_turn_z(ag_rng_uniform_range(rng, -max, max), ref, q);
    } else {
        hand_goal_draw(sh, st, rng, q);
    }
}

void env_mj_hand_block_goal_sample(const EnvMjHandShared *sh, EnvMjHandState *st, AgRng *rng,
                                   const double *ref, const double *current) {
    double max = st->curriculum.max_angle, q[4];
    if (!sh->curriculum.on || max >= mjPI) {
        hand_goal_draw(sh, st, rng, q);
    } else {
        for (int i = 0; i < HAND_GOAL_TRIES; i++) {
            hand_goal_draw_near(sh, st, rng, ref, max, q);
            if (env_mj_hand_rot_dist(q, ref) <= max + 1e-12 &&
                env_mj_hand_rot_dist(q, current) >= BLOCK_SUCCESS_ROT) {
                break;
            }
        }
    }
    mju_copy4(st->goal, q);
    mju_copy4(st->d->mocap_quat + 4 * sh->goal_mocap, q);
}

/* ---- curriculum ---- */

void env_mj_hand_block_env_init(const EnvMjHandShared *sh, EnvMjHandState *st) {
    memset(&st->curriculum, 0, sizeof(st->curriculum));
    st->curriculum.max_angle = sh->curriculum.on ? sh->curriculum.initial_angle : mjPI;
}

/* counts the episode that just ended; promotes when the window's success rate is reached */
static void hand_curriculum_count(const EnvMjHandCurriculumSpec *spec, EnvMjHandCurriculum *c,
                                  int success) {
    uint64_t *word = &c->ring[c->pos / 64], bit = UINT64_C(1) << (c->pos % 64);
    if (c->count == spec->window) {
        c->successes -= (*word & bit) != 0;
    } else {
        c->count++;
    }
    *word = success ? *word | bit : *word & ~bit;
    c->successes += success;
    c->pos = (c->pos + 1) % spec->window;
    if (c->count == spec->window && c->successes >= spec->threshold * spec->window &&
        c->max_angle < spec->final_angle) {
        double next = c->max_angle + spec->step;
        double max_angle = next < spec->final_angle ? next : spec->final_angle;
        memset(c, 0, sizeof(*c));
        c->max_angle = max_angle;
        c->in_episode = 1;
    }
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

/* the first goal of an episode: the start orientation is the reference (the unsettled one,
 * exactly on the task's set of orientations) */
static void hand_block_first_goal(const EnvMjHandShared *sh, EnvMjHandState *st,
                                  const HandBlockPlace *p, AgRng *rng) {
    double start[4];
    hand_quat_turn_z(p->turn, hand_block_faces[p->face], start);
    env_mj_hand_block_goal_sample(sh, st, rng, start, st->d->qpos + sh->obj_qpos + 3);
}

/* legacy: the block placed on the straight hand, then 100 ms of settling (BLOCK_SETTLE substeps
 * of 4 ms) */
static void hand_block_reset_legacy(const EnvMjHandShared *sh, EnvMjHandState *st,
                                    const HandBlockPlace *p, AgRng *rng) {
    mjModel *m = sh->m;
    mjData *d = st->d;
    mj_resetData(m, d);
    double *q = d->qpos + sh->obj_qpos;
    q[0] = m->qpos0[sh->obj_qpos] + p->offset[0];
    q[1] = m->qpos0[sh->obj_qpos + 1] + p->offset[1];
    q[2] = m->qpos0[sh->obj_qpos + 2];
    hand_quat_turn_z(p->turn, hand_block_faces[p->face], q + 3);
    hand_block_first_goal(sh, st, p, rng);
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
    hand_block_first_goal(sh, st, p, rng);
    env_mj_step(sh->m, d, BLOCK_PLACE_SETTLE);
}

void env_mj_hand_block_reset(const EnvMjHandShared *sh, EnvMjHandState *st, AgRng *rng) {
    /* the episode that ended, before its counters are cleared */
    if (sh->curriculum.on && st->curriculum.in_episode) {
        hand_curriculum_count(&sh->curriculum, &st->curriculum,
                              st->consecutive_goals >= sh->curriculum.goals);
    }
    st->curriculum.in_episode = 1;
    st->prev_dist = 0;
    st->steps_since_goal = 0;
    st->consecutive_goals = 0;
    HandBlockPlace p;
    hand_block_place_draw(rng, &p);
    st->face = p.face;
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
        reward -= sh->drop_penalty;
        out->terminated = 1;
    } else if (dist < BLOCK_SUCCESS_ROT) {
        reward += sh->goal_bonus;
        st->consecutive_goals++;
        st->steps_since_goal = 0;
        if (st->consecutive_goals >= BLOCK_MAX_GOALS) {
            out->terminated = 1;
        } else {
            double prev[4];
            mju_copy4(prev, st->goal);
            env_mj_hand_block_goal_sample(sh, st, rng, prev, d->qpos + sh->obj_qpos + 3);
            dist = env_mj_hand_rot_dist(d->qpos + sh->obj_qpos + 3, st->goal);
        }
    } else if (++st->steps_since_goal >= BLOCK_GOAL_TIMEOUT) {
        out->truncated = 1;
    }
    /* optional shaping (IsaacGym's rotation term): a bonus that grows near the goal, which the
     * decrease of the distance alone gives almost nothing for; off in the headline task */
    if (sh->rotation_bonus > 0 && !out->terminated) {
        reward += sh->rotation_bonus / (dist + BLOCK_ROTATION_BONUS_EPS);
    }
    st->prev_dist = dist;
    return reward;
}

/* ---- snapshots: the variables of the block variants ---- */

size_t env_mj_hand_block_snapshot_size(const EnvMjHandShared *sh) {
    /* plain HandBlock keeps the snapshot layout it always had */
    return (sh->goals == HAND_GOALS_Z ? sizeof(double) : 0) +
           (sh->curriculum.on ? sizeof(EnvMjHandCurriculum) : 0);
}

void env_mj_hand_block_snapshot_save(const EnvMjHandShared *sh, const EnvMjHandState *st,
                                     unsigned char *dst) {
    if (sh->goals == HAND_GOALS_Z) {
        double face = st->face;
        memcpy(dst, &face, sizeof(face));
        dst += sizeof(face);
    }
    if (sh->curriculum.on) {
        memcpy(dst, &st->curriculum, sizeof(st->curriculum));
    }
}

void env_mj_hand_block_snapshot_load(const EnvMjHandShared *sh, EnvMjHandState *st,
                                     const unsigned char *src) {
    if (sh->goals == HAND_GOALS_Z) {
        double face;
        memcpy(&face, src, sizeof(face));
        st->face = (int)face;
        src += sizeof(face);
    }
    if (sh->curriculum.on) {
        memcpy(&st->curriculum, src, sizeof(st->curriculum));
    }
}
