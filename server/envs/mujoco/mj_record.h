/* Recording of MuJoCo task episodes for people to watch: video frames of one environment
 * rendered offscreen, and compact trajectories (the bodies' shapes once, their poses per step)
 * that the dashboard can replay. Works for every task in mj_tasks.h. */
#ifndef MJ_RECORD_H
#define MJ_RECORD_H

#include "env.h"
#include "mj_render.h"

#include <jansson.h>

/* 1 when the task is one of the MuJoCo tasks */
int env_mj_task_is_mujoco(const EnvTask *task);
/* a renderer for the task's scene from its tracking or palm camera (else a free camera) */
int env_mj_recorder_create(const EnvTask *task, int width, int height, EnvMjRenderer **out,
                           char *err, size_t err_sz);
/* renders environment `state` of the task as RGB rows top to bottom (width * height * 3) */
int env_mj_record_frame(const EnvTask *task, EnvMjRenderer *r, const void *state,
                        unsigned char *rgb);
/* the scene once: {"model": name, "timestep": dt, "bodies": [{"name", "parent", "geoms": [{"type",
 * "size", "pos", "quat", "rgba"}]}]} (new reference) */
json_t *env_mj_record_scene(const EnvTask *task);
/* one step: {"t": time, "poses": [[x, y, z, qw, qx, qy, qz] per body]} (new reference) */
json_t *env_mj_record_poses(const EnvTask *task, const void *state);

#endif
