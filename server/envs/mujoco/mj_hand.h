/* The hand tasks' constants and per-task / per-environment data (mj_hand.c, and mj_hand_block.c
 * for the block tasks), visible so that tests and tools can inspect and script an episode (set a
 * goal, read the consecutive goals). */
#ifndef MJ_HAND_H
#define MJ_HAND_H

#include "env.h"
#include "mj_render.h"

#include <mujoco/mujoco.h>
#include <stdint.h>

#define HAND_NJOINT        24
#define HAND_NACT          20
#define HAND_NTIP          5
#define HAND_MAX_TOUCH     24
#define HAND_THUMB         4
#define HAND_REACH_DT      0.02
#define HAND_BLOCK_DT      0.08
#define HAND_REACH_STEPS   100
#define HAND_SUCCESS_DIST  0.02
#define HAND_SUCCESS_BONUS 0.1
#define HAND_AUX_RADIUS    0.06015
#define HAND_AUX_WEIGHT    0.01
#define BLOCK_SUCCESS_ROT  0.4
#define BLOCK_GOAL_BONUS   5.0
#define BLOCK_DROP_PENALTY 20.0
/* the largest goal_bonus or drop_penalty a spec may ask (IsaacGym's goal bonus is 250) */
#define BLOCK_REWARD_TERM_MAX 1000.0
/* the shaping term's offset: rotation_bonus / (d + 0.1) is at most 10 x rotation_bonus */
#define BLOCK_ROTATION_BONUS_EPS 0.1
#define BLOCK_GOAL_TIMEOUT       100
#define BLOCK_MAX_GOALS          50
#define HAND_REACH_SETTLE        20  /* substeps after a reset */
#define BLOCK_SETTLE             25  /* legacy physics: 4 ms substeps after a reset */
#define BLOCK_SETTLE_TIME        0.1 /* s: the settling of a reset, whatever the timestep */
#define BLOCK_PLACE_SETTLE       2   /* substeps after placing the block on a settled hand */
#define BLOCK_FACES              6
#define BLOCK_SUBSTEPS           10   /* fast physics: 8 ms substeps per 80 ms control step */
#define BLOCK_LEGACY_STEPS       20   /* legacy physics: 4 ms */
#define HAND_IMAGE_SIZE          64   /* default pixels side */
#define BLOCK_PARALLEL           24   /* axis-aligned orientations of the cube */
#define CURRICULUM_WINDOW        1024 /* most episodes a curriculum window holds */
#define HAND_CAMERA              "palm_cam"
#define HAND_CAMERA_FOVY         45.0 /* degrees: palm_cam's fovy in hand.xml */
/* the geom group of the goal markers (the goal cube, the fingertip targets): drawn in videos,
 * left out of the palm camera's pixels, since the goal is an input of its own and a second cube
 * in the same colours would be a distractor in the picture of the block */
#define HAND_GOAL_GEOM_GROUP 2
/* images per read-back of a batch: one, because with Mesa's llvmpipe (OSMesa) every tiling
 * measured (2 to 64 tiles of 64x64) drew fewer frames per CPU second than one scene per call
 * (bench_render --tiles, docs/benchmarks.md); a renderer whose per-call cost is high (a GPU)
 * would raise it */
#define HAND_RENDER_TILES 1

typedef enum EnvMjHandKind { HAND_REACH, HAND_FREE_REACH, HAND_BLOCK } EnvMjHandKind;

typedef enum EnvMjHandVision {
    HAND_VISION_NONE,
    HAND_VISION_POSE,
    HAND_VISION_PIXELS
} EnvMjHandVision;

/* HandBlock physics: fast (the model's solver and contact pairs, resets from settled states) or
 * legacy (4 ms substeps, dense Jacobian, broad-phase contacts, settling on every reset) */
typedef enum EnvMjHandPhysics { HAND_PHYSICS_FAST, HAND_PHYSICS_LEGACY } EnvMjHandPhysics;

/* The block tasks' goals: HandBlock (uniform over all orientations), HandBlockRotateZ (turns
 * about the vertical that keep the reset's face up), HandBlockRotateParallel (a face up, any of
 * six, turned about the vertical) */
typedef enum EnvMjHandGoals { HAND_GOALS_FULL, HAND_GOALS_Z, HAND_GOALS_PARALLEL } EnvMjHandGoals;

/* the goal curriculum of the block tasks (option "curriculum"; docs/tasks.md) */
typedef struct EnvMjHandCurriculumSpec {
    int on;
    double initial_angle; /* the largest goal angle at the start, rad */
    double final_angle;   /* where it stops growing, rad */
    double step;          /* growth per promotion, rad */
    int window;           /* episodes whose success rate is judged */
    double threshold;     /* success rate that promotes */
    int goals;            /* goals an episode must reach to count as a success */
} EnvMjHandCurriculumSpec;

/* one environment's curriculum: the largest goal angle now and the outcomes of the episodes at
 * this angle, the last `window` in a ring of bits; fixed-width fields, saved as bytes */
typedef struct EnvMjHandCurriculum {
    double max_angle;
    int32_t in_episode; /* an episode started since the environment was created */
    int32_t count;      /* outcomes in the ring (at most window) */
    int32_t pos;        /* where the next outcome goes */
    int32_t successes;  /* among them */
    uint64_t ring[CURRICULUM_WINDOW / 64];
} EnvMjHandCurriculum;

/* one settled scene of the fast block reset: the snapshot and the palm's frame */
typedef struct EnvMjHandSettled {
    double *snap;     /* env_mj_snapshot_count(m) doubles */
    double palm_x[3]; /* the palm's axes in the world: the block is turned about palm_z */
    double palm_y[3];
    double palm_z[3];
} EnvMjHandSettled;

typedef struct EnvMjHandShared {
    mjModel *m;
    EnvMjHandKind kind;
    int relative;
    int use_proprio, use_touch, use_goal, asymmetric;
    int use_fingertips; /* the actor sees the fingertip positions (like Gymnasium's achieved_goal)
                         */
    EnvMjHandVision vision;
    int finger; /* HandFreeReach: 0..3, or -1 for a random finger per episode */
    int discrete_bins;
    int image_size;          /* vision = pixels: square image side */
    double camera_fovy;      /* vision = pixels: palm_cam's vertical field of view, degrees */
    EnvMjRenderer *renderer; /* vision = pixels */
    int substeps;
    int jnt_qpos[HAND_NJOINT], jnt_dof[HAND_NJOINT];
    double rest[HAND_NJOINT]; /* initial pose: straight, 0.1 rad inside any limit at zero, or
                               * the block tasks' cupped start pose */
    int start_cupped;         /* block: start_pose "cupped" */
    /* per actuator: the qpos entries whose sum is its position */
    int act_qpos[HAND_NACT][2];
    int act_nqpos[HAND_NACT];
    double act_lo[HAND_NACT], act_hi[HAND_NACT];
    int tip_site[HAND_NTIP];
    int touch_adr[HAND_MAX_TOUCH], ntouch;
    int obj_qpos, obj_dof; /* HandBlock */
    int goal_mocap;        /* HandBlock goal cube, or first reach target marker */
    double drop_z;         /* HandBlock: the palm's height */
    int palm_body;         /* HandBlock */
    EnvMjHandPhysics physics;
    double rotation_bonus; /* block: w of the shaping term w / (d + 0.1) per step; 0 = off */
    double goal_bonus;     /* block: reward per goal reached (Dactyl's 5) */
    double drop_penalty;   /* block: paid once when the block falls (Dactyl's 20) */
    int goal_relative;     /* block: the goal sensation is the turn from the block to the goal */
    EnvMjHandSettled settled[BLOCK_FACES]; /* HandBlock fast physics: one per face up */
    EnvMjHandGoals goals;
    EnvMjHandCurriculumSpec curriculum;
    double parallel[BLOCK_PARALLEL][4]; /* the cube's axis-aligned orientations */
    int off_proprio, off_tips, off_touch, off_vision, off_goal, off_asym; /* -1 when off */
} EnvMjHandShared;

typedef struct EnvMjHandState {
    mjData *d;
    double goal[3 * HAND_NTIP];     /* reach: fingertip targets; block: quaternion */
    double goal_ctrl[HAND_NACT];    /* reach: the actuator targets that produced the goal */
    int target_finger;              /* free reach */
    int success;                    /* reach: at the last step */
    double prev_dist;               /* block: rotation distance after the last step */
    int steps_since_goal;           /* block */
    int consecutive_goals;          /* block */
    int face;                       /* block: the face up at the reset (0..BLOCK_FACES-1) */
    EnvMjHandCurriculum curriculum; /* block with a curriculum: kept across resets */
    int defer_images;               /* step and reset leave the pixels to images_render */
} EnvMjHandState;

/* ---- shared by mj_hand.c and mj_hand_block.c ---- */

/* holds the current pose: each actuator's target is where it is */
void env_mj_hand_hold_pose(const EnvMjHandShared *sh, mjData *d);
/* a rotation drawn uniformly on SO(3) (Shoemake), as a unit quaternion (w, x, y, z) */
void env_mj_hand_quat_uniform(AgRng *rng, double *q);
/* the rotation angle between two unit quaternions, in [0, pi] */
double env_mj_hand_rot_dist(const double *qa, const double *qb);

/* the block tasks' options "physics", "substeps" and "curriculum" (after the common ones) */
int env_mj_hand_block_options_read(EnvMjHandShared *sh, const json_t *options, char *err,
                                   size_t err_sz);
/* sets the physics profile's timestep and solver settings on the model and, for fast physics,
 * settles one scene per face up; fills sh->substeps */
int env_mj_hand_block_setup(EnvMjHandShared *sh, char *err, size_t err_sz);
void env_mj_hand_block_teardown(EnvMjHandShared *sh);
/* the curriculum's starting state of a new environment */
void env_mj_hand_block_env_init(const EnvMjHandShared *sh, EnvMjHandState *st);
/* counts the episode that ended (curriculum), places the block (random face up, turn and
 * offset), draws a goal, settles */
void env_mj_hand_block_reset(const EnvMjHandShared *sh, EnvMjHandState *st, AgRng *rng);
/* draws the next goal into st->goal (and the goal cube): from the task's distribution or, under
 * a curriculum below pi, within the largest angle of `ref` (the previous goal, or the start)
 * and farther than the success tolerance from `current` (the block now) */
void env_mj_hand_block_goal_sample(const EnvMjHandShared *sh, EnvMjHandState *st, AgRng *rng,
                                   const double *ref, const double *current);
/* bytes of the block tasks' own variables in a snapshot (face, curriculum), and their copies */
size_t env_mj_hand_block_snapshot_size(const EnvMjHandShared *sh);
void env_mj_hand_block_snapshot_save(const EnvMjHandShared *sh, const EnvMjHandState *st,
                                     unsigned char *dst);
void env_mj_hand_block_snapshot_load(const EnvMjHandShared *sh, EnvMjHandState *st,
                                     const unsigned char *src);
/* the block rules after a physics step: reward; sets out->terminated / truncated */
double env_mj_hand_block_rules(const EnvMjHandShared *sh, EnvMjHandState *st, AgRng *rng,
                               EnvStep *out);

/* ---- random scenes for vision pretraining (mj_hand_pose.c) ---- */

/* floats of a scene's labels: the block's position (3, m, world frame) and quaternion (4,
 * w x y z), then the fingertip positions (5 x 3, m) */
#define HAND_POSE_LABELS   22
#define HAND_POSE_POSITION 0
#define HAND_POSE_QUAT     3
#define HAND_POSE_TIPS     7

typedef struct EnvMjHandPoseOptions {
    double hand_spread;  /* 0..1: each joint from its rest value towards a uniform draw in its
                          * range, by this fraction */
    double block_offset; /* m: the block moves up to this far along each axis from where a task
                          * reset put it on the palm */
} EnvMjHandPoseOptions;

/* 0 when tasks of class c have a block to label; AG_EINVAL with the reason otherwise */
int env_mj_hand_pose_check(const EnvClass *c, char *err, size_t err_sz);
/* draws one scene into environment state `state` of task (checked above): a task reset, a
 * random hand pose, the block moved and turned uniformly at random, the goal cube turned at
 * random; renders the palm camera's image into img (3 x size x size floats) and writes the
 * labels (HAND_POSE_LABELS floats); 0, AG_EINVAL when the task renders no pixels, or AG_ESIM
 * when rendering failed */
int env_mj_hand_pose_sample(const EnvTask *task, void *state, AgRng *rng,
                            const EnvMjHandPoseOptions *o, float *img, float *labels);

#endif
