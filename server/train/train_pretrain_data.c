/* The vision-pretraining dataset (train_pretrain.h): scenes of a block task drawn by
 * env_mj_hand_pose_sample, written through the analysis library's HDF5 writer. */
#include "train_pretrain.h"

#include "ag_error.h"
#include "ag_json.h"
#include "ag_time.h"
#include "an_h5.h"
#include "env.h"
#include "mj_hand.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct DataSpec {
    char task[ENV_NAME_MAX];
    long long samples, image_size, seed;
    double camera_fovy;
    EnvMjHandPoseOptions pose;
} DataSpec;

static int data_spec_read(const json_t *spec, DataSpec *d, AgJsonErr *e) {
    static const char *const keys[] = {"task",        "samples",      "image_size",  "seed",
                                       "hand_spread", "block_offset", "camera_fovy", NULL};
    int rc;
    if ((rc = ag_json_expect_object(spec, "", e)) < 0 ||
        (rc = ag_json_check_keys(spec, "", keys, e)) < 0 ||
        (rc = ag_json_get_string(spec, "", "task", "HandBlock", d->task, sizeof d->task, e)) < 0 ||
        (rc = ag_json_get_int(spec, "", "samples", 1000, 1, TRAIN_PRETRAIN_MAX_SAMPLES, &d->samples,
                              e)) < 0 ||
        (rc = ag_json_get_int(spec, "", "image_size", 64, 8, 256, &d->image_size, e)) < 0 ||
        (rc = ag_json_get_int(spec, "", "seed", 1, 0, INT64_MAX, &d->seed, e)) < 0 ||
        (rc = ag_json_get_double(spec, "", "hand_spread", 0.5, 0.0, 1.0, &d->pose.hand_spread, e)) <
            0 ||
        (rc = ag_json_get_double(spec, "", "block_offset", 0.02, 0.0, 0.1, &d->pose.block_offset,
                                 e)) < 0 ||
        (rc = ag_json_get_double(spec, "", "camera_fovy", HAND_CAMERA_FOVY, 10.0, 120.0,
                                 &d->camera_fovy, e)) < 0) {
        return rc;
    }
    return 0;
}

typedef struct DataFile {
    AnH5Writer *w;
    AnH5Series *image, *position, *quaternion, *tips;
} DataFile;

static const char *const xyz_dims[] = {"x", "y", "z"};
static const char *const quat_dims[] = {"w", "x", "y", "z"};

static int data_file_open(DataFile *f, const char *out, const DataSpec *d, const char *spec_text,
                          const char *view, char *err, size_t err_sz) {
    AnH5Meta meta = {.spec = spec_text, .task = d->task, .seed = (uint64_t)d->seed};
    int64_t s = d->image_size;
    int32_t shape[3] = {3, (int32_t)s, (int32_t)s};
    AnH5VariableInfo image = {.group = "sensation", .units = ""};
    AnH5VariableInfo position = {
        .group = "task", .units = "m", .dim_names = xyz_dims, .n_dim_names = 3};
    AnH5VariableInfo quaternion = {
        .group = "task", .units = "", .dim_names = quat_dims, .n_dim_names = 4};
    AnH5VariableInfo tips = {.group = "task", .units = "m"};
    int rc;
    if ((rc = an_h5_writer_create(&f->w, out, &meta, err, err_sz)) != 0 ||
        (rc = an_h5_writer_add_variable(f->w, "image", 3 * s * s, &image, &f->image, err,
                                        err_sz)) != 0 ||
        (rc = an_h5_series_attr_int(f->image, "image_size", (int32_t)s, err, err_sz)) != 0 ||
        (rc = an_h5_series_attr_ints(f->image, "shape", shape, 3, err, err_sz)) != 0 ||
        (rc = an_h5_series_attr_string(f->image, "view", view, err, err_sz)) != 0 ||
        (rc = an_h5_writer_add_variable(f->w, "block_position", 3, &position, &f->position, err,
                                        err_sz)) != 0 ||
        (rc = an_h5_writer_add_variable(f->w, "block_quaternion", 4, &quaternion, &f->quaternion,
                                        err, err_sz)) != 0 ||
        (rc = an_h5_writer_add_variable(f->w, "fingertip_positions", 3 * HAND_NTIP, &tips, &f->tips,
                                        err, err_sz)) != 0) {
        return rc;
    }
    return 0;
}

/* one scene's row of every dataset, and its index entry (episode i, step 0) */
static int data_file_append(DataFile *f, int64_t i, const float *img, const float *labels,
                            char *err, size_t err_sz) {
    int32_t episode = (int32_t)i, step = 0;
    int rc;
    if ((rc = an_h5_series_append(f->image, img, 1, err, err_sz)) != 0 ||
        (rc = an_h5_series_append(f->position, labels + HAND_POSE_POSITION, 1, err, err_sz)) != 0 ||
        (rc = an_h5_series_append(f->quaternion, labels + HAND_POSE_QUAT, 1, err, err_sz)) != 0 ||
        (rc = an_h5_series_append(f->tips, labels + HAND_POSE_TIPS, 1, err, err_sz)) != 0 ||
        (rc = an_h5_writer_append_index(f->w, &episode, &step, 1, err, err_sz)) != 0) {
        return rc;
    }
    return 0;
}

int train_pretrain_data(const json_t *spec, const char *out, TrainPretrainDataResult *res,
                        char *path, size_t path_sz, char *err, size_t err_sz) {
    DataSpec d;
    AgJsonErr je = {{0}, {0}};
    EnvTask task = {0};
    void *state = NULL;
    int env_made = 0;
    float *img = NULL;
    char *spec_text = NULL;
    DataFile f = {0};
    double t0 = ag_time_now();
    memset(res, 0, sizeof *res);
    path[0] = '\0';
    int rc = data_spec_read(spec, &d, &je);
    if (rc < 0) {
        ag_json_err_format(&je, err, err_sz);
        snprintf(path, path_sz, "%s", je.path);
        return AG_ESPEC;
    }

    /* the task as training sees it, rendering pixels of the asked size */
    const EnvClass *cls = env_registry_find(d.task);
    if (cls && (rc = env_mj_hand_pose_check(cls, err, err_sz)) != 0) {
        snprintf(path, path_sz, "task");
        return AG_ESPEC;
    }
    json_t *options = json_pack("{s:s, s:I, s:f}", "vision", "pixels", "image_size", d.image_size,
                                "camera_fovy", d.camera_fovy);
    rc = env_task_create(&task, d.task, options, err, err_sz);
    json_decref(options);
    if (rc != 0) {
        snprintf(path, path_sz, "task");
        rc = AG_ESPEC;
        goto out;
    }
    state = calloc(1, task.cls->state_size);
    img = malloc(sizeof(float) * 3 * (size_t)(d.image_size * d.image_size));
    spec_text = json_dumps(spec, JSON_COMPACT | JSON_SORT_KEYS);
    if (!state || !img || !spec_text) {
        rc = ag_errorf(err, err_sz, AG_ENOMEM, "out of memory");
        goto out;
    }
    if ((rc = task.cls->env_create(&task, state, err, err_sz)) != 0) {
        goto out;
    }
    env_made = 1;
    const EnvSensation *vision = NULL;
    for (int i = 0; i < task.spec.num_sensations; i++) {
        if (strcmp(task.spec.sensations[i].name, "vision") == 0) {
            vision = &task.spec.sensations[i];
        }
    }
    if ((rc = data_file_open(&f, out, &d, spec_text, vision ? vision->view : "", err, err_sz)) !=
        0) {
        goto out;
    }

    /* one stream for the whole dataset: the file is a function of the spec */
    AgRng rng;
    ag_rng_seed(&rng, (uint64_t)d.seed, 0);
    for (int64_t i = 0; i < d.samples; i++) {
        float labels[HAND_POSE_LABELS];
        if ((rc = env_mj_hand_pose_sample(&task, state, &rng, &d.pose, img, labels)) != 0) {
            rc = ag_errorf(err, err_sz, rc, "rendering scene %lld failed", (long long)i);
            goto out;
        }
        if ((rc = data_file_append(&f, i, img, labels, err, err_sz)) != 0) {
            goto out;
        }
    }
    rc = an_h5_writer_finish(f.w, err, err_sz);
    f.w = NULL; /* finished or removed */
    res->samples = d.samples;
    res->image_size = (int)d.image_size;
out:
    an_h5_writer_abort(f.w);
    if (env_made) {
        task.cls->env_destroy(&task, state);
    }
    if (task.cls) {
        env_task_destroy(&task);
    }
    free(state);
    free(img);
    free(spec_text);
    res->seconds = ag_time_now() - t0;
    return rc;
}
