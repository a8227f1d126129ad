/* Video frames and replayable trajectories of MuJoCo task episodes (see mj_record.h). Every
 * MuJoCo task gives its model and data through EnvClass.mj_model / .mj_data, which is what lets
 * one recorder serve all of them. */
#include "mj_record.h"

#include "mj_runtime.h"

#include "ag_error.h"

#include <string.h>

int env_mj_task_is_mujoco(const EnvTask *task) {
    return task != NULL && task->cls != NULL && task->shared != NULL && task->cls->mj_model != NULL;
}

static mjModel *env_mj_record_model(const EnvTask *task) {
    return task->cls->mj_model(task);
}

int env_mj_recorder_create(const EnvTask *task, int width, int height, EnvMjRenderer **out,
                           char *err, size_t err_sz) {
    *out = NULL;
    if (!env_mj_task_is_mujoco(task)) {
        return ag_errorf(err, err_sz, AG_EUNSUPPORTED, "task %s is not a MuJoCo task",
                         task && task->cls ? task->cls->name : "(none)");
    }
    mjModel *m = env_mj_record_model(task);
    const char *camera = NULL;
    if (env_mj_id(m, mjOBJ_CAMERA, "track") >= 0) {
        camera = "track";
    } else if (env_mj_id(m, mjOBJ_CAMERA, "palm_cam") >= 0) {
        camera = "palm_cam";
    }
    return env_mj_renderer_create(m, camera, width, height, NULL, out, err, err_sz);
}

int env_mj_record_frame(const EnvTask *task, EnvMjRenderer *r, const void *state,
                        unsigned char *rgb) {
    if (!env_mj_task_is_mujoco(task) || r == NULL || state == NULL) {
        return AG_EINVAL;
    }
    return env_mj_render_rgb(r, env_mj_record_model(task), task->cls->mj_data(task, state), rgb);
}

static json_t *env_mj_record_vec(const mjtNum *v, int n) {
    json_t *a = json_array();
    for (int i = 0; i < n && a != NULL; i++) {
        json_array_append_new(a, json_real(v[i]));
    }
    return a;
}

static json_t *env_mj_record_fvec(const float *v, int n) {
    json_t *a = json_array();
    for (int i = 0; i < n && a != NULL; i++) {
        json_array_append_new(a, json_real(v[i]));
    }
    return a;
}

json_t *env_mj_record_scene(const EnvTask *task) {
    static const char *const types[] = {"plane",     "hfield",   "sphere", "capsule",
                                        "ellipsoid", "cylinder", "box",    "mesh"};
    if (!env_mj_task_is_mujoco(task)) {
        return NULL;
    }
    const mjModel *m = env_mj_record_model(task);
    json_t *bodies = json_array();
    for (int b = 0; b < m->nbody; b++) {
        const char *name = mj_id2name(m, mjOBJ_BODY, b);
        json_t *geoms = json_array();
        for (int g = m->body_geomadr[b]; g >= 0 && g < m->body_geomadr[b] + m->body_geomnum[b];
             g++) {
            int t = m->geom_type[g];
            json_array_append_new(geoms,
                                  json_pack("{s:s, s:o, s:o, s:o, s:o}", "type",
                                            t >= 0 && t < 8 ? types[t] : "other", "size",
                                            env_mj_record_vec(m->geom_size + 3 * g, 3), "pos",
                                            env_mj_record_vec(m->geom_pos + 3 * g, 3), "quat",
                                            env_mj_record_vec(m->geom_quat + 4 * g, 4), "rgba",
                                            env_mj_record_fvec(m->geom_rgba + 4 * g, 4)));
        }
        json_array_append_new(bodies, json_pack("{s:s, s:i, s:o}", "name", name ? name : "",
                                                "parent", m->body_parentid[b], "geoms", geoms));
    }
    return json_pack("{s:s, s:f, s:o}", "model", task->cls->name, "timestep", task->spec.control_dt,
                     "bodies", bodies);
}

json_t *env_mj_record_poses(const EnvTask *task, const void *state) {
    if (!env_mj_task_is_mujoco(task) || state == NULL) {
        return NULL;
    }
    const mjModel *m = env_mj_record_model(task);
    const mjData *d = task->cls->mj_data(task, state);
    json_t *poses = json_array();
    for (int b = 0; b < m->nbody; b++) {
        mjtNum p[7];
        mju_copy3(p, d->xpos + 3 * b);
        mju_copy4(p + 3, d->xquat + 4 * b);
        json_array_append_new(poses, env_mj_record_vec(p, 7));
    }
    return json_pack("{s:f, s:o}", "t", d->time, "poses", poses);
}
