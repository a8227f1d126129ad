/* The anthropomorphic hand tasks (AngoraPy rules, docs/tasks.md): HandReach (fingertips to
 * target positions taken from reachable poses), HandFreeReach (thumb meets one chosen finger)
 * and HandBlock (in-hand reorientation of a coloured cube to random goal orientations; its
 * physics profile, resets, goals and rules are in mj_hand_block.c).
 *
 * DESIGN
 * - Models: hand_reach.xml and hand_block.xml, both including hand.xml (24 hinges, 20 position
 *   actuators, 17 touch sensors, 5 fingertip sites). The model's first 24 joints are the hand.
 * - Actions are 20 values in [-1, 1] (or bin indices when discrete_bins > 0, mapped onto
 *   [-1, 1]); absolute control sets ctrl = centre + a * range / 2, relative control sets
 *   ctrl = current actuator position + a * range / 2, clipped to the range. The current
 *   position is read from qpos (joint, or sum of the coupled joints for tendon actuators), not
 *   from mjData's derived fields, so that a restored snapshot steps identically.
 * - Observation: the switched-on sensations in the order proprioception (joint positions and
 *   velocities), touch (log(1 + normal force) per sensor), vision (HandBlock only: object
 *   position and quaternion, or a (3, S, S) image from the palm camera rendered offscreen by
 *   mj_render.c), goal, asymmetric (critic only).
 * - Episode rules live in the state (goal, steps since the last goal, consecutive goals), so a
 *   snapshot of the simulation plus this state resumes exactly.
 */
#include "mj_hand.h"
#include "mj_runtime.h"
#include "mj_tasks.h"

#include "ag_error.h"
#include "ag_json.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- actuators ---- */

static double hand_act_position(const EnvMjHandShared *sh, const mjData *d, int a) {
    double p = 0;
    for (int k = 0; k < sh->act_nqpos[a]; k++) {
        p += d->qpos[sh->act_qpos[a][k]];
    }
    return p;
}

static double hand_clip(double v, double lo, double hi) {
    return v < lo ? lo : (v > hi ? hi : v);
}

static void hand_apply_action(const EnvMjHandShared *sh, mjData *d, const float *action) {
    for (int a = 0; a < HAND_NACT; a++) {
        double u = action[a];
        if (sh->discrete_bins > 0) {
            u = -1.0 + 2.0 * u / (double)(sh->discrete_bins - 1);
        }
        double half = 0.5 * (sh->act_hi[a] - sh->act_lo[a]);
        double base =
            sh->relative ? hand_act_position(sh, d, a) : 0.5 * (sh->act_hi[a] + sh->act_lo[a]);
        d->ctrl[a] = hand_clip(base + u * half, sh->act_lo[a], sh->act_hi[a]);
    }
}

void env_mj_hand_hold_pose(const EnvMjHandShared *sh, mjData *d) {
    for (int a = 0; a < HAND_NACT; a++) {
        d->ctrl[a] = hand_clip(hand_act_position(sh, d, a), sh->act_lo[a], sh->act_hi[a]);
    }
}

/* sets the hand joints to what the actuator targets ask for (coupled joints share equally) */
static void hand_pose_from_ctrl(const EnvMjHandShared *sh, mjData *d, const double *ctrl) {
    for (int a = 0; a < HAND_NACT; a++) {
        for (int k = 0; k < sh->act_nqpos[a]; k++) {
            d->qpos[sh->act_qpos[a][k]] = ctrl[a] / sh->act_nqpos[a];
        }
    }
}

/* ---- observations ---- */

static const double *hand_tip(const EnvMjHandShared *sh, const mjData *d, int i) {
    return d->site_xpos + 3 * sh->tip_site[i];
}

static double hand_dist3(const double *a, const double *b) {
    double dx = a[0] - b[0], dy = a[1] - b[1], dz = a[2] - b[2];
    return sqrt(dx * dx + dy * dy + dz * dz);
}

static double hand_reach_dist(const EnvMjHandShared *sh, const EnvMjHandState *st) {
    double s = 0;
    for (int i = 0; i < HAND_NTIP; i++) {
        for (int k = 0; k < 3; k++) {
            double v = hand_tip(sh, st->d, i)[k] - st->goal[3 * i + k];
            s += v * v;
        }
    }
    return sqrt(s);
}

/* reach success: every fingertip within HAND_SUCCESS_DIST of its own target */
static int hand_reach_all_tips_close(const EnvMjHandShared *sh, const EnvMjHandState *st) {
    for (int i = 0; i < HAND_NTIP; i++) {
        if (hand_dist3(hand_tip(sh, st->d, i), st->goal + 3 * i) >= HAND_SUCCESS_DIST) {
            return 0;
        }
    }
    return 1;
}

/* the palm camera's images of n scenes into img[i]; a failed render leaves black images (the
 * policy sees nothing rather than stale pixels) */
static void hand_render_images(const EnvMjHandShared *sh, mjData *const *d, float *const *img,
                               int n) {
    if (env_mj_render_batch(sh->renderer, sh->m, d, n, img) != 0) {
        size_t bytes = sizeof(float) * 3 * (size_t)sh->image_size * (size_t)sh->image_size;
        for (int i = 0; i < n; i++) {
            memset(img[i], 0, bytes);
        }
    }
}

static void hand_observe(const EnvMjHandShared *sh, const EnvMjHandState *st, float *obs) {
    const mjData *d = st->d;
    if (sh->off_proprio >= 0) {
        float *o = obs + sh->off_proprio;
        for (int j = 0; j < HAND_NJOINT; j++) {
            o[j] = (float)d->qpos[sh->jnt_qpos[j]];
            o[HAND_NJOINT + j] = (float)d->qvel[sh->jnt_dof[j]];
        }
    }
    if (sh->off_tips >= 0) {
        for (int i = 0; i < HAND_NTIP; i++) {
            for (int c = 0; c < 3; c++) {
                obs[sh->off_tips + 3 * i + c] = (float)hand_tip(sh, d, i)[c];
            }
        }
    }
    if (sh->off_touch >= 0) {
        for (int i = 0; i < sh->ntouch; i++) {
            obs[sh->off_touch + i] = (float)log1p(d->sensordata[sh->touch_adr[i]]);
        }
    }
    if (sh->off_vision >= 0 && sh->vision == HAND_VISION_POSE) {
        for (int i = 0; i < 7; i++) {
            obs[sh->off_vision + i] = (float)d->qpos[sh->obj_qpos + i];
        }
    }
    if (sh->off_vision >= 0 && sh->vision == HAND_VISION_PIXELS && !st->defer_images) {
        mjData *one = (mjData *)d;
        float *img = obs + sh->off_vision;
        hand_render_images(sh, &one, &img, 1);
    }
    if (sh->off_goal >= 0) {
        float *o = obs + sh->off_goal;
        if (sh->kind == HAND_REACH) {
            for (int i = 0; i < 3 * HAND_NTIP; i++) {
                o[i] = (float)st->goal[i];
            }
        } else if (sh->kind == HAND_FREE_REACH) {
            for (int i = 0; i < HAND_NTIP; i++) {
                o[i] = i == st->target_finger ? 1.0f : 0.0f;
            }
        } else if (sh->goal_relative) {
            /* goal_frame "relative": the turn q_goal q_block^-1 that takes the block to the
             * goal, in the world's frame, its sign chosen so that w >= 0 (q and -q are one turn) */
            double inv[4], rel[4];
            mju_negQuat(inv, d->qpos + sh->obj_qpos + 3);
            mju_mulQuat(rel, st->goal, inv);
            double sign = rel[0] < 0 ? -1.0 : 1.0;
            for (int i = 0; i < 4; i++) {
                o[i] = (float)(sign * rel[i]);
            }
        } else {
            for (int i = 0; i < 4; i++) {
                o[i] = (float)st->goal[i];
            }
        }
    }
    if (sh->off_asym >= 0) {
        float *o = obs + sh->off_asym;
        int k = 0;
        if (sh->kind == HAND_BLOCK) {
            for (int i = 0; i < 6; i++) {
                o[k++] = (float)d->qvel[sh->obj_dof + i];
            }
        }
        for (int i = 0; i < HAND_NTIP; i++) {
            for (int c = 0; c < 3; c++) {
                o[k++] = (float)hand_tip(sh, d, i)[c];
            }
        }
        if (sh->kind == HAND_REACH) {
            for (int i = 0; i < 3 * HAND_NTIP; i++) {
                o[k++] = (float)(st->goal[i] - hand_tip(sh, d, i / 3)[i % 3]);
            }
        } else if (sh->kind == HAND_FREE_REACH) {
            const double *th = hand_tip(sh, d, HAND_THUMB);
            const double *f = hand_tip(sh, d, st->target_finger);
            for (int c = 0; c < 3; c++) {
                o[k++] = (float)(f[c] - th[c]);
            }
        } else {
            double inv[4], rel[4];
            mju_negQuat(inv, d->qpos + sh->obj_qpos + 3);
            mju_mulQuat(rel, st->goal, inv);
            for (int i = 0; i < 4; i++) {
                o[k++] = (float)rel[i];
            }
        }
    }
}

/* ---- task creation ---- */

static const char *const hand_control_names[] = {"relative", "absolute", NULL};
static const char *const hand_vision_names[] = {"none", "pose", "pixels", NULL};
static const char *const hand_finger_names[] = {"index",  "middle", "ring",
                                                "little", "random", NULL};

static int hand_options_read(EnvMjHandShared *sh, const json_t *options, char *err, size_t err_sz) {
    static const char *const keys_reach[] = {"control", "proprioception", "fingertips",    "touch",
                                             "goal",    "asymmetric",     "discrete_bins", NULL};
    static const char *const keys_free[] = {"control",       "proprioception", "fingertips",
                                            "touch",         "goal",           "asymmetric",
                                            "discrete_bins", "finger",         NULL};
    static const char *const keys_block[] = {
        "control",      "proprioception", "fingertips",     "touch",      "goal",
        "asymmetric",   "discrete_bins",  "vision",         "image_size", "physics",
        "substeps",     "curriculum",     "rotation_bonus", "start_pose", "goal_bonus",
        "drop_penalty", "camera_fovy",    "goal_frame",     NULL};
    const char *const *keys = sh->kind == HAND_REACH        ? keys_reach
                              : sh->kind == HAND_FREE_REACH ? keys_free
                                                            : keys_block;
    json_t *empty = NULL;
    AgJsonErr je;
    int rc = 0, control = 0, vision = sh->kind == HAND_BLOCK ? HAND_VISION_POSE : 0;
    int finger = 4;
    long long bins = 0, image = HAND_IMAGE_SIZE;
    if (options == NULL) {
        options = empty = json_object();
    }
    if ((rc = ag_json_check_keys(options, ENV_OPTIONS_PATH, keys, &je)) != 0 ||
        (rc = ag_json_get_enum(options, ENV_OPTIONS_PATH, "control", hand_control_names, 0,
                               &control, &je)) != 0 ||
        (rc = ag_json_get_bool(options, ENV_OPTIONS_PATH, "proprioception", 1, &sh->use_proprio,
                               &je)) != 0 ||
        (rc = ag_json_get_bool(options, ENV_OPTIONS_PATH, "fingertips", 0, &sh->use_fingertips,
                               &je)) != 0 ||
        (rc = ag_json_get_bool(options, ENV_OPTIONS_PATH, "touch", 1, &sh->use_touch, &je)) != 0 ||
        (rc = ag_json_get_bool(options, ENV_OPTIONS_PATH, "goal", 1, &sh->use_goal, &je)) != 0 ||
        (rc = ag_json_get_bool(options, ENV_OPTIONS_PATH, "asymmetric", 0, &sh->asymmetric, &je)) !=
            0 ||
        (rc = ag_json_get_int(options, ENV_OPTIONS_PATH, "discrete_bins", 0, 0, 101, &bins, &je)) !=
            0 ||
        (sh->kind == HAND_BLOCK &&
         (rc = ag_json_get_enum(options, ENV_OPTIONS_PATH, "vision", hand_vision_names,
                                HAND_VISION_POSE, &vision, &je)) != 0) ||
        (sh->kind == HAND_BLOCK &&
         (rc = ag_json_get_int(options, ENV_OPTIONS_PATH, "image_size", HAND_IMAGE_SIZE, 8, 256,
                               &image, &je)) != 0) ||
        (sh->kind == HAND_BLOCK &&
         (rc = ag_json_get_double(options, ENV_OPTIONS_PATH, "camera_fovy", HAND_CAMERA_FOVY, 10.0,
                                  120.0, &sh->camera_fovy, &je)) != 0) ||
        (sh->kind == HAND_FREE_REACH &&
         (rc = ag_json_get_enum(options, ENV_OPTIONS_PATH, "finger", hand_finger_names, 4, &finger,
                                &je)) != 0)) {
        char msg[AG_JSON_PATH_MAX + AG_JSON_REASON_MAX];
        ag_json_err_format(&je, msg, sizeof(msg));
        rc = ag_errorf(err, err_sz, AG_ESPEC, "%s", msg);
        goto out;
    }
    if (sh->kind == HAND_BLOCK && (rc = env_mj_hand_block_options_read(sh, options, err, err_sz))) {
        goto out;
    }
    if (bins == 1) {
        rc = ag_errorf(err, err_sz, AG_ESPEC,
                       "%s.discrete_bins: needs at least 2 bins (0 for continuous actions)",
                       ENV_OPTIONS_PATH);
        goto out;
    }
    sh->relative = control == 0;
    sh->vision = (EnvMjHandVision)vision;
    sh->finger = finger == 4 ? -1 : finger;
    sh->discrete_bins = (int)bins;
    sh->image_size = (int)image;
out:
    json_decref(empty);
    return rc;
}

static int hand_model_index(EnvMjHandShared *sh, char *err, size_t err_sz) {
    static const char *const tips[HAND_NTIP] = {"S_fftip", "S_mftip", "S_rftip", "S_lftip",
                                                "S_thtip"};
    const mjModel *m = sh->m;
    int nh = 0;
    for (int j = 0; j < m->njnt && nh < HAND_NJOINT; j++) {
        if (m->jnt_type[j] == mjJNT_HINGE) {
            sh->jnt_qpos[nh] = m->jnt_qposadr[j];
            sh->jnt_dof[nh] = m->jnt_dofadr[j];
            /* resting on a limit would keep a constraint active for nothing */
            sh->rest[nh] = m->jnt_limited[j] ? hand_clip(0.0, m->jnt_range[2 * j] + 0.1,
                                                         m->jnt_range[2 * j + 1] - 0.1)
                                             : 0.0;
            nh++;
        }
    }
    if (nh != HAND_NJOINT || m->nu != HAND_NACT) {
        return ag_errorf(err, err_sz, AG_EFORMAT, "hand model has %d hinges and %d actuators", nh,
                         m->nu);
    }
    for (int a = 0; a < HAND_NACT; a++) {
        int id = m->actuator_trnid[2 * a];
        sh->act_lo[a] = m->actuator_ctrlrange[2 * a];
        sh->act_hi[a] = m->actuator_ctrlrange[2 * a + 1];
        sh->act_nqpos[a] = 0;
        if (m->actuator_trntype[a] == mjTRN_JOINT) {
            sh->act_qpos[a][0] = m->jnt_qposadr[id];
            sh->act_nqpos[a] = 1;
        } else if (m->actuator_trntype[a] == mjTRN_TENDON) {
            int adr = m->tendon_adr[id], num = m->tendon_num[id];
            if (num != 2) {
                return ag_errorf(err, err_sz, AG_EFORMAT, "actuated tendon %d couples %d joints",
                                 id, num);
            }
            for (int k = 0; k < 2; k++) {
                sh->act_qpos[a][k] = m->jnt_qposadr[m->wrap_objid[adr + k]];
            }
            sh->act_nqpos[a] = 2;
        } else {
            return ag_errorf(err, err_sz, AG_EFORMAT, "actuator %d has an unknown transmission", a);
        }
    }
    for (int i = 0; i < HAND_NTIP; i++) {
        sh->tip_site[i] = env_mj_id(m, mjOBJ_SITE, tips[i]);
        if (sh->tip_site[i] < 0) {
            return ag_errorf(err, err_sz, AG_EFORMAT, "hand model lacks the site %s", tips[i]);
        }
    }
    sh->ntouch = 0;
    for (int s = 0; s < m->nsensor && sh->ntouch < HAND_MAX_TOUCH; s++) {
        if (m->sensor_type[s] == mjSENS_TOUCH) {
            sh->touch_adr[sh->ntouch++] = m->sensor_adr[s];
        }
    }
    if (sh->ntouch == 0) {
        return ag_errorf(err, err_sz, AG_EFORMAT, "hand model has no touch sensors");
    }
    sh->obj_qpos = sh->obj_dof = -1;
    sh->goal_mocap = -1;
    if (sh->kind == HAND_BLOCK) {
        int j = env_mj_id(m, mjOBJ_JOINT, "object:joint");
        int g = env_mj_id(m, mjOBJ_BODY, "goal");
        int palm = env_mj_id(m, mjOBJ_BODY, "palm");
        if (j < 0 || m->jnt_type[j] != mjJNT_FREE || g < 0 || m->body_mocapid[g] < 0 || palm < 0) {
            return ag_errorf(err, err_sz, AG_EFORMAT, "block scene lacks object, goal or palm");
        }
        sh->obj_qpos = m->jnt_qposadr[j];
        sh->obj_dof = m->jnt_dofadr[j];
        sh->goal_mocap = m->body_mocapid[g];
        sh->palm_body = palm;
        /* the palm's height in the initial pose */
        mjData *d = mj_makeData(sh->m);
        if (d == NULL) {
            return ag_errorf(err, err_sz, AG_ENOMEM, "out of memory");
        }
        mj_kinematics(sh->m, d);
        sh->drop_z = d->xpos[3 * palm + 2];
        mj_deleteData(d);
    } else {
        int g = env_mj_id(m, mjOBJ_BODY, "target0");
        if (g >= 0 && m->body_mocapid[g] >= 0) {
            sh->goal_mocap = m->body_mocapid[g];
        }
    }
    return 0;
}

static void hand_spec_fill(EnvMjHandShared *sh, EnvSpec *s) {
    memset(s, 0, sizeof(*s));
    int goal_size = sh->kind == HAND_REACH        ? 3 * HAND_NTIP
                    : sh->kind == HAND_FREE_REACH ? HAND_NTIP
                                                  : 4;
    int asym_size = sh->kind == HAND_REACH        ? 6 * HAND_NTIP
                    : sh->kind == HAND_FREE_REACH ? 3 * HAND_NTIP + 3
                                                  : 6 + 3 * HAND_NTIP + 4;
    sh->off_proprio = sh->off_tips = sh->off_touch = sh->off_vision = sh->off_goal = -1;
    sh->off_asym = -1;
    if (sh->use_proprio) {
        sh->off_proprio = s->obs_size;
        env_spec_add_sensation(s, "proprioception", 2 * HAND_NJOINT, 1, 1, 0);
    }
    if (sh->use_fingertips) {
        sh->off_tips = s->obs_size;
        env_spec_add_sensation(s, "fingertips", 3 * HAND_NTIP, 1, 1, 0);
    }
    if (sh->use_touch) {
        sh->off_touch = s->obs_size;
        env_spec_add_sensation(s, "touch", sh->ntouch, 1, 1, 0);
    }
    if (sh->vision == HAND_VISION_POSE) {
        sh->off_vision = s->obs_size;
        env_spec_add_sensation(s, "vision", 7, 1, 1, 0);
    } else if (sh->vision == HAND_VISION_PIXELS) {
        sh->off_vision = s->obs_size;
        env_spec_add_sensation(s, "vision", 3, sh->image_size, sh->image_size, 0);
        snprintf(s->sensations[s->num_sensations - 1].view, ENV_VIEW_MAX, "%s, fovy %g",
                 HAND_CAMERA, sh->camera_fovy);
    }
    if (sh->use_goal) {
        sh->off_goal = s->obs_size;
        env_spec_add_sensation(s, "goal", goal_size, 1, 1, 0);
    }
    if (sh->asymmetric) {
        sh->off_asym = s->obs_size;
        env_spec_add_sensation(s, "asymmetric", asym_size, 1, 1, 1);
    }
    s->action_dim = HAND_NACT;
    if (sh->discrete_bins > 0) {
        s->action_kind = ENV_ACTION_MULTI_DISCRETE;
        for (int a = 0; a < HAND_NACT; a++) {
            s->action_choices[a] = sh->discrete_bins;
            s->action_low[a] = 0;
            s->action_high[a] = (float)(sh->discrete_bins - 1);
        }
    } else {
        s->action_kind = ENV_ACTION_BOX;
        for (int a = 0; a < HAND_NACT; a++) {
            s->action_low[a] = -1.0f;
            s->action_high[a] = 1.0f;
        }
    }
    if (sh->kind == HAND_BLOCK) {
        s->max_episode_steps = BLOCK_MAX_GOALS * BLOCK_GOAL_TIMEOUT;
        s->control_dt = HAND_BLOCK_DT;
        env_spec_add_metric(s, "consecutive_goals");
        if (sh->curriculum.on) {
            env_spec_add_metric(s, "curriculum_max_angle");
        }
    } else {
        s->max_episode_steps = HAND_REACH_STEPS;
        s->control_dt = HAND_REACH_DT;
        env_spec_add_metric(s, "success");
    }
}

/* the palm camera's field of view: a task option, so that the block can fill more of a small
 * picture; the model is the task's own copy */
static int hand_camera_set(EnvMjHandShared *sh, char *err, size_t err_sz) {
    int cam = mj_name2id(sh->m, mjOBJ_CAMERA, HAND_CAMERA);
    if (cam < 0) {
        return ag_errorf(err, err_sz, AG_EFORMAT, "hand model has no camera %s", HAND_CAMERA);
    }
    sh->m->cam_fovy[cam] = sh->camera_fovy;
    return 0;
}

static int hand_task_create(EnvTask *task, const json_t *options, char *err, size_t err_sz,
                            EnvMjHandKind kind, EnvMjHandGoals goals) {
    int rc = 0;
    EnvMjHandShared *sh = calloc(1, sizeof(*sh));
    if (sh == NULL) {
        return ag_errorf(err, err_sz, AG_ENOMEM, "out of memory");
    }
    sh->kind = kind;
    sh->goals = goals;
    if ((rc = hand_options_read(sh, options, err, err_sz)) != 0) {
        goto out;
    }
    rc = env_mj_model_load(kind == HAND_BLOCK ? "hand_block.xml" : "hand_reach.xml", &sh->m, err,
                           err_sz);
    if (rc != 0) {
        goto out;
    }
    if ((rc = hand_model_index(sh, err, err_sz)) != 0) {
        goto out;
    }
    if (sh->vision == HAND_VISION_PIXELS && (rc = hand_camera_set(sh, err, err_sz)) != 0) {
        goto out;
    }
    EnvMjRenderOptions render = {.tiles = HAND_RENDER_TILES,
                                 .full_detail = 0,
                                 .hidden_geom_groups = 1u << HAND_GOAL_GEOM_GROUP};
    if (sh->vision == HAND_VISION_PIXELS &&
        (rc = env_mj_renderer_create(sh->m, HAND_CAMERA, sh->image_size, sh->image_size, &render,
                                     &sh->renderer, err, err_sz)) != 0) {
        goto out;
    }
    if (kind == HAND_BLOCK) {
        if ((rc = env_mj_hand_block_setup(sh, err, err_sz)) != 0) {
            goto out;
        }
    } else {
        sh->substeps = (int)lround(HAND_REACH_DT / sh->m->opt.timestep);
    }
    if (sh->substeps < 1) {
        rc = ag_errorf(err, err_sz, AG_EFORMAT, "model timestep %g too long", sh->m->opt.timestep);
        goto out;
    }
    hand_spec_fill(sh, &task->spec);
    task->spec.control_dt = sh->substeps * sh->m->opt.timestep;
    task->shared = sh;
    sh = NULL;
out:
    if (sh != NULL) {
        env_mj_hand_block_teardown(sh);
        env_mj_renderer_destroy(sh->renderer);
        if (sh->m != NULL) {
            mj_deleteModel(sh->m);
        }
        free(sh);
    }
    return rc;
}

static void hand_task_destroy(EnvTask *task) {
    EnvMjHandShared *sh = task->shared;
    if (sh == NULL) {
        return;
    }
    env_mj_hand_block_teardown(sh);
    env_mj_renderer_destroy(sh->renderer);
    mj_deleteModel(sh->m);
    free(sh);
    task->shared = NULL;
}

static int hand_env_create(const EnvTask *task, void *state, char *err, size_t err_sz) {
    const EnvMjHandShared *sh = task->shared;
    EnvMjHandState *st = state;
    if (sh->kind == HAND_BLOCK) {
        env_mj_hand_block_env_init(sh, st);
    }
    return env_mj_data_create(sh->m, &st->d, err, err_sz);
}

static void hand_env_destroy(const EnvTask *task, void *state) {
    (void)task;
    EnvMjHandState *st = state;
    if (st->d != NULL) {
        mj_deleteData(st->d);
    }
    st->d = NULL;
}

static void hand_images_defer(const EnvTask *task, void *state, int on) {
    (void)task;
    ((EnvMjHandState *)state)->defer_images = on ? 1 : 0;
}

/* the tiled batch of the pixels a deferring step or reset left out; nothing for other vision */
static void hand_images_render(const EnvTask *task, void *const *states, float *const *obs, int n) {
    const EnvMjHandShared *sh = task->shared;
    if (sh->vision != HAND_VISION_PIXELS) {
        return;
    }
    /* HAND_RENDER_TILES at a time: the scenes and image pointers of one pass */
    mjData *d[HAND_RENDER_TILES];
    float *img[HAND_RENDER_TILES];
    for (int first = 0; first < n; first += HAND_RENDER_TILES) {
        int count = n - first < HAND_RENDER_TILES ? n - first : HAND_RENDER_TILES;
        for (int i = 0; i < count; i++) {
            d[i] = ((EnvMjHandState *)states[first + i])->d;
            img[i] = obs[first + i] + sh->off_vision;
        }
        hand_render_images(sh, d, img, count);
    }
}

/* ---- goals ---- */

/* a reachable fingertip configuration: random actuator targets, forward kinematics */
static void hand_reach_goal_sample(const EnvMjHandShared *sh, EnvMjHandState *st, AgRng *rng) {
    mjData *d = st->d;
    for (int a = 0; a < HAND_NACT; a++) {
        st->goal_ctrl[a] = ag_rng_uniform_range(rng, sh->act_lo[a], sh->act_hi[a]);
    }
    hand_pose_from_ctrl(sh, d, st->goal_ctrl);
    mj_kinematics(sh->m, d);
    for (int i = 0; i < HAND_NTIP; i++) {
        for (int k = 0; k < 3; k++) {
            st->goal[3 * i + k] = hand_tip(sh, d, i)[k];
        }
    }
    if (sh->goal_mocap >= 0) {
        for (int i = 0; i < HAND_NTIP && sh->goal_mocap + i < sh->m->nmocap; i++) {
            mju_copy3(d->mocap_pos + 3 * (sh->goal_mocap + i), st->goal + 3 * i);
        }
    }
}

/* ---- reset and step ---- */

static void hand_reset(const EnvTask *task, void *state, AgRng *rng, float *obs) {
    const EnvMjHandShared *sh = task->shared;
    mjModel *m = sh->m;
    EnvMjHandState *st = state;
    mjData *d = st->d;
    if (sh->kind == HAND_BLOCK) {
        /* the block reset keeps the curriculum and counts the episode that ended */
        env_mj_hand_block_reset(sh, st, rng);
        hand_observe(sh, st, obs);
        return;
    }
    int defer_images = st->defer_images;
    memset(st, 0, sizeof(*st));
    st->d = d;
    st->defer_images = defer_images;
    mj_resetData(m, d);
    if (sh->kind == HAND_REACH) {
        hand_reach_goal_sample(sh, st, rng);
        mju_copy(d->qpos, m->qpos0, m->nq);
    } else {
        st->target_finger = sh->finger >= 0 ? sh->finger : (int)ag_rng_below(rng, 4);
    }
    for (int j = 0; j < HAND_NJOINT; j++) {
        d->qpos[sh->jnt_qpos[j]] = sh->rest[j];
    }
    /* settle: let the hand come to rest while holding the initial pose */
    env_mj_set_state(m, d, NULL, NULL);
    env_mj_hand_hold_pose(sh, d);
    env_mj_step(m, d, HAND_REACH_SETTLE);
    hand_observe(sh, st, obs);
}

static void hand_step(const EnvTask *task, void *state, AgRng *rng, const float *action, float *obs,
                      EnvStep *out) {
    const EnvMjHandShared *sh = task->shared;
    mjModel *m = sh->m;
    EnvMjHandState *st = state;
    mjData *d = st->d;
    double reward = 0;

    memset(out, 0, sizeof(*out));
    hand_apply_action(sh, d, action);
    if (env_mj_step(m, d, sh->substeps) != 0) {
        memset(obs, 0, sizeof(float) * (size_t)task->spec.obs_size);
        out->unstable = 1;
        out->terminated = 1;
        return;
    }
    switch (sh->kind) {
    case HAND_REACH: {
        double dist = hand_reach_dist(sh, st);
        st->success = hand_reach_all_tips_close(sh, st);
        reward = -dist + HAND_SUCCESS_BONUS * st->success;
        break;
    }
    case HAND_FREE_REACH: {
        const double *th = hand_tip(sh, d, HAND_THUMB);
        double dist = hand_dist3(th, hand_tip(sh, d, st->target_finger));
        st->success = dist < HAND_SUCCESS_DIST;
        reward = -dist + HAND_SUCCESS_BONUS * st->success;
        /* other fingertips near the thumb are penalised */
        for (int i = 0; i < HAND_THUMB; i++) {
            if (i == st->target_finger) {
                continue;
            }
            double di = hand_dist3(th, hand_tip(sh, d, i));
            reward -=
                HAND_AUX_WEIGHT * (HAND_AUX_RADIUS - (di < HAND_AUX_RADIUS ? di : HAND_AUX_RADIUS));
        }
        break;
    }
    case HAND_BLOCK:
        reward = env_mj_hand_block_rules(sh, st, rng, out);
        break;
    }
    out->reward = (float)reward;
    hand_observe(sh, st, obs);
}

static void hand_episode_metrics(const EnvTask *task, const void *state, float *metrics) {
    const EnvMjHandShared *sh = task->shared;
    const EnvMjHandState *st = state;
    metrics[0] = sh->kind == HAND_BLOCK ? (float)st->consecutive_goals : (float)st->success;
    if (sh->kind == HAND_BLOCK && sh->curriculum.on) {
        metrics[1] = (float)st->curriculum.max_angle;
    }
}

/* ---- snapshots: the task variables, then the simulation ---- */

#define HAND_SNAP_VARS (3 * HAND_NTIP + HAND_NACT + 5)

static size_t hand_snapshot_size(const EnvTask *task) {
    const EnvMjHandShared *sh = task->shared;
    size_t extra = sh->kind == HAND_BLOCK ? env_mj_hand_block_snapshot_size(sh) : 0;
    return sizeof(double) * (HAND_SNAP_VARS + env_mj_snapshot_count(sh->m)) + extra;
}

static void hand_snapshot_save(const EnvTask *task, const void *state, void *dst) {
    const EnvMjHandShared *sh = task->shared;
    const EnvMjHandState *st = state;
    double head[HAND_SNAP_VARS];
    double *p = head;
    memcpy(p, st->goal, sizeof(st->goal));
    p += 3 * HAND_NTIP;
    memcpy(p, st->goal_ctrl, sizeof(st->goal_ctrl));
    p += HAND_NACT;
    *p++ = st->target_finger;
    *p++ = st->success;
    *p++ = st->prev_dist;
    *p++ = st->steps_since_goal;
    *p++ = st->consecutive_goals;
    /* the blob may sit at any byte offset of a checkpoint */
    memcpy(dst, head, sizeof head);
    unsigned char *rest = (unsigned char *)dst + sizeof head;
    if (sh->kind == HAND_BLOCK) {
        env_mj_hand_block_snapshot_save(sh, st, rest);
        rest += env_mj_hand_block_snapshot_size(sh);
    }
    env_mj_snapshot_save(sh->m, st->d, rest);
}

static void hand_snapshot_load(const EnvTask *task, void *state, const void *src) {
    const EnvMjHandShared *sh = task->shared;
    EnvMjHandState *st = state;
    double head[HAND_SNAP_VARS];
    memcpy(head, src, sizeof head);
    const double *p = head;
    memcpy(st->goal, p, sizeof(st->goal));
    p += 3 * HAND_NTIP;
    memcpy(st->goal_ctrl, p, sizeof(st->goal_ctrl));
    p += HAND_NACT;
    st->target_finger = (int)*p++;
    st->success = (int)*p++;
    st->prev_dist = *p++;
    st->steps_since_goal = (int)*p++;
    st->consecutive_goals = (int)*p++;
    const unsigned char *rest = (const unsigned char *)src + sizeof head;
    if (sh->kind == HAND_BLOCK) {
        env_mj_hand_block_snapshot_load(sh, st, rest);
        rest += env_mj_hand_block_snapshot_size(sh);
    }
    env_mj_snapshot_load(sh->m, st->d, rest);
}

static json_t *hand_reach_defaults(void) {
    return json_pack("{s:s, s:b, s:b, s:b, s:b, s:b, s:i}", "control", "relative", "proprioception",
                     1, "fingertips", 0, "touch", 1, "goal", 1, "asymmetric", 0, "discrete_bins",
                     0);
}

static json_t *hand_free_reach_defaults(void) {
    json_t *o = hand_reach_defaults();
    json_object_set_new(o, "finger", json_string("random"));
    return o;
}

static json_t *hand_block_defaults(void) {
    json_t *o = hand_reach_defaults();
    json_object_set_new(o, "vision", json_string("pose"));
    json_object_set_new(o, "image_size", json_integer(HAND_IMAGE_SIZE));
    json_object_set_new(o, "camera_fovy", json_real(HAND_CAMERA_FOVY));
    json_object_set_new(o, "goal_frame", json_string("absolute"));
    return o;
}

static int hand_reach_create(EnvTask *task, const json_t *options, char *err, size_t err_sz) {
    return hand_task_create(task, options, err, err_sz, HAND_REACH, HAND_GOALS_FULL);
}

static int hand_free_reach_create(EnvTask *task, const json_t *options, char *err, size_t err_sz) {
    return hand_task_create(task, options, err, err_sz, HAND_FREE_REACH, HAND_GOALS_FULL);
}

static int hand_block_create(EnvTask *task, const json_t *options, char *err, size_t err_sz) {
    return hand_task_create(task, options, err, err_sz, HAND_BLOCK, HAND_GOALS_FULL);
}

static int hand_block_z_create(EnvTask *task, const json_t *options, char *err, size_t err_sz) {
    return hand_task_create(task, options, err, err_sz, HAND_BLOCK, HAND_GOALS_Z);
}

static int hand_block_parallel_create(EnvTask *task, const json_t *options, char *err,
                                      size_t err_sz) {
    return hand_task_create(task, options, err, err_sz, HAND_BLOCK, HAND_GOALS_PARALLEL);
}

/* ---- task variables (activation recordings, env.h) ---- */

static const char *const hand_tip_dims[3 * HAND_NTIP] = {"ff.x", "ff.y", "ff.z", "mf.x", "mf.y",
                                                         "mf.z", "rf.x", "rf.y", "rf.z", "lf.x",
                                                         "lf.y", "lf.z", "th.x", "th.y", "th.z"};
static const char *const hand_xyz_dims[3] = {"x", "y", "z"};
static const char *const hand_quat_dims[4] = {"w", "x", "y", "z"};
static const char *const hand_vel_dims[6] = {"vx", "vy", "vz", "wx", "wy", "wz"};

static void hand_vars_name(EnvTaskVar *v, const char *const *names) {
    for (int k = 0; v != NULL && k < v->dim; k++) {
        v->dim_names[k] = names[k];
    }
}

/* the joints (mj_runtime.h) and fingertips, then per task: the targets and success (reach), the
 * chosen finger and success (free reach), the block's pose and velocity, the goal and the goal
 * counters (block) */
static void hand_vars_describe(const EnvTask *task, EnvTaskVars *vars) {
    const EnvMjHandShared *sh = task->shared;
    env_mj_task_vars_describe(task, vars);
    hand_vars_name(env_task_vars_add(vars, "fingertip_positions", 3 * HAND_NTIP, "m"),
                   hand_tip_dims);
    if (sh->kind == HAND_REACH) {
        hand_vars_name(env_task_vars_add(vars, "goal_positions", 3 * HAND_NTIP, "m"),
                       hand_tip_dims);
    } else if (sh->kind == HAND_FREE_REACH) {
        env_task_vars_add(vars, "target_finger", 1, "index");
    } else {
        hand_vars_name(env_task_vars_add(vars, "object_position", 3, "m"), hand_xyz_dims);
        hand_vars_name(env_task_vars_add(vars, "object_quaternion", 4, ""), hand_quat_dims);
        hand_vars_name(env_task_vars_add(vars, "object_velocity", 6, "m/s, rad/s"), hand_vel_dims);
        hand_vars_name(env_task_vars_add(vars, "goal_quaternion", 4, ""), hand_quat_dims);
        env_task_vars_add(vars, "goal_distance", 1, "rad");
        env_task_vars_add(vars, "steps_since_goal", 1, "steps");
        env_task_vars_add(vars, "consecutive_goals", 1, "goals");
        return;
    }
    env_task_vars_add(vars, "success", 1, "");
}

static void hand_vars(const EnvTask *task, const void *state, float *out) {
    const EnvMjHandShared *sh = task->shared;
    const EnvMjHandState *st = state;
    const mjData *d = st->d;
    out += env_mj_joint_vars(sh->m, d, out);
    for (int i = 0; i < HAND_NTIP; i++) {
        for (int c = 0; c < 3; c++) {
            *out++ = (float)hand_tip(sh, d, i)[c];
        }
    }
    if (sh->kind == HAND_REACH) {
        for (int i = 0; i < 3 * HAND_NTIP; i++) {
            *out++ = (float)st->goal[i];
        }
    } else if (sh->kind == HAND_FREE_REACH) {
        *out++ = (float)st->target_finger;
    } else {
        for (int i = 0; i < 7; i++) {
            *out++ = (float)d->qpos[sh->obj_qpos + i];
        }
        for (int i = 0; i < 6; i++) {
            *out++ = (float)d->qvel[sh->obj_dof + i];
        }
        for (int i = 0; i < 4; i++) {
            *out++ = (float)st->goal[i];
        }
        *out++ = (float)st->prev_dist;
        *out++ = (float)st->steps_since_goal;
        *out = (float)st->consecutive_goals;
        return;
    }
    *out = (float)st->success;
}

#define HAND_CLASS(ident, cname, create, defaults, text)                                           \
    const EnvClass env_mj_##ident##_class = {                                                      \
        .name = cname,                                                                             \
        .summary = text,                                                                           \
        .state_size = sizeof(EnvMjHandState),                                                      \
        .task_create = create,                                                                     \
        .task_destroy = hand_task_destroy,                                                         \
        .env_create = hand_env_create,                                                             \
        .env_destroy = hand_env_destroy,                                                           \
        .reset = hand_reset,                                                                       \
        .step = hand_step,                                                                         \
        .episode_metrics = hand_episode_metrics,                                                   \
        .snapshot_size = hand_snapshot_size,                                                       \
        .snapshot_save = hand_snapshot_save,                                                       \
        .snapshot_load = hand_snapshot_load,                                                       \
        .default_options = defaults,                                                               \
        .task_variables_describe = hand_vars_describe,                                             \
        .task_variables = hand_vars,                                                               \
        .images_defer = hand_images_defer,                                                         \
        .images_render = hand_images_render,                                                       \
        .mj_model = env_mj_task_model,                                                             \
        .mj_data = env_mj_task_data,                                                               \
    }

HAND_CLASS(hand_reach, "HandReach", hand_reach_create, hand_reach_defaults,
           "anthropomorphic hand: move all five fingertips to target positions (20 ms, 100 steps)");
HAND_CLASS(hand_free_reach, "HandFreeReach", hand_free_reach_create, hand_free_reach_defaults,
           "anthropomorphic hand: bring the thumb and one chosen fingertip together");
HAND_CLASS(
    hand_block, "HandBlock", hand_block_create, hand_block_defaults,
    "anthropomorphic hand: turn a cube to uniformly random orientations (80 ms, +5 per goal)");
HAND_CLASS(hand_block_z, "HandBlockRotateZ", hand_block_z_create, hand_block_defaults,
           "anthropomorphic hand: turn a cube about the vertical, its face up kept (80 ms, +5 per "
           "goal)");
HAND_CLASS(hand_block_parallel, "HandBlockRotateParallel", hand_block_parallel_create,
           hand_block_defaults,
           "anthropomorphic hand: turn a cube to any face up and a turn about the vertical (80 ms, "
           "+5 per goal)");
