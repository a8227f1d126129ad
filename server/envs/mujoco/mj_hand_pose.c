/* Random scenes of the block tasks for vision pretraining (angora-train --pretrain-data): the
 * task's own model, reset and palm camera, with the hand in a random pose and the block at a
 * random pose on and near the palm, labelled with the block's pose and the fingertips.
 *
 * DESIGN
 * - A scene starts from the task's reset, so the block sits where training episodes put it;
 *   it is then moved by up to block_offset along each axis and turned uniformly over SO(3).
 *   Nothing is simulated afterwards: the labels are the pose drawn, exactly, and a block that
 *   overlaps a finger is still a picture of a block there.
 * - The goal cube beside the hand is turned at random as well, so that an encoder cannot learn
 *   the block's orientation from the goal's. */
#include "mj_hand.h"
#include "mj_tasks.h"

#include "ag_error.h"

#include <string.h>

int env_mj_hand_pose_check(const EnvClass *c, char *err, size_t err_sz) {
    if (c != &env_mj_hand_block_class && c != &env_mj_hand_block_z_class &&
        c != &env_mj_hand_block_parallel_class) {
        return ag_errorf(err, err_sz, AG_EINVAL,
                         "task %s has no block to label (use HandBlock, HandBlockRotateZ or "
                         "HandBlockRotateParallel)",
                         c->name);
    }
    return 0;
}

/* each hinge from its rest value towards a uniform draw in its range (or +-1 rad unlimited) */
static void hand_pose_random(const EnvMjHandShared *sh, mjData *d, AgRng *rng, double spread) {
    const mjModel *m = sh->m;
    int nh = 0;
    for (int j = 0; j < m->njnt && nh < HAND_NJOINT; j++) {
        if (m->jnt_type[j] != mjJNT_HINGE) {
            continue;
        }
        double lo = m->jnt_limited[j] ? m->jnt_range[2 * j] : -1.0;
        double hi = m->jnt_limited[j] ? m->jnt_range[2 * j + 1] : 1.0;
        double target = ag_rng_uniform_range(rng, lo, hi);
        d->qpos[sh->jnt_qpos[nh]] = sh->rest[nh] + spread * (target - sh->rest[nh]);
        nh++;
    }
}

int env_mj_hand_pose_sample(const EnvTask *task, void *state, AgRng *rng,
                            const EnvMjHandPoseOptions *o, float *img, float *labels) {
    const EnvMjHandShared *sh = task->shared;
    EnvMjHandState *st = state;
    mjModel *m = sh->m;
    if (sh->vision != HAND_VISION_PIXELS || !sh->renderer) {
        return AG_EINVAL;
    }
    mjData *d = st->d;

    /* the task's reset places the block on the palm; then the hand and the block move */
    env_mj_hand_block_reset(sh, st, rng);
    hand_pose_random(sh, d, rng, o->hand_spread);
    double *obj = d->qpos + sh->obj_qpos;
    for (int k = 0; k < 3; k++) {
        obj[k] += ag_rng_uniform_range(rng, -o->block_offset, o->block_offset);
    }
    env_mj_hand_quat_uniform(rng, obj + 3);
    if (sh->goal_mocap >= 0) {
        env_mj_hand_quat_uniform(rng, d->mocap_quat + 4 * sh->goal_mocap);
    }
    mju_zero(d->qvel, m->nv);
    mj_forward(m, d);

    /* labels as drawn, then the picture */
    for (int k = 0; k < 7; k++) {
        labels[HAND_POSE_POSITION + k] = (float)obj[k];
    }
    for (int i = 0; i < HAND_NTIP; i++) {
        for (int k = 0; k < 3; k++) {
            labels[HAND_POSE_TIPS + 3 * i + k] = (float)d->site_xpos[3 * sh->tip_site[i] + k];
        }
    }
    return env_mj_render(sh->renderer, m, d, img);
}
