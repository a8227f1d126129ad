/* The vision pretraining spec (ag_pretrain.h): its keys, types, ranges and defaults. */
#include "ag_pretrain.h"

#include "ag_model.h"

#include <math.h>
#include <stdint.h>
#include <string.h>

int ag_pretrain_spec_read(const json_t *spec, AgPretrainSpec *s, AgJsonErr *e) {
    static const char *const keys[] = {
        "data",        "model",          "epochs",          "batch_size", "learning_rate",
        "holdout",     "position_scale", "rotation_weight", "seed",       "time_limit_s",
        "lr_schedule", "lr_min",         "rotation",        NULL};
    static const char *const schedules[] = {"constant", "cosine", NULL};
    static const char *const rotations[] = {"quaternion", "6d", NULL};
    int rc;
    memset(s, 0, sizeof *s);
    if ((rc = ag_json_expect_object(spec, "", e)) < 0 ||
        (rc = ag_json_check_keys(spec, "", keys, e)) < 0) {
        return rc;
    }
    const json_t *data = json_object_get(spec, "data");
    if (!json_is_string(data)) {
        return ag_json_fail(e, "data", "%s (the dataset, FILE.h5 of --pretrain-data)",
                            data ? "must be a file name" : "missing");
    }
    if ((rc = ag_json_get_string(spec, "", "data", NULL, s->data, sizeof s->data, e)) < 0) {
        return rc;
    }
    if (!s->data[0]) {
        return ag_json_fail(e, "data", "must be a file name, got \"\"");
    }
    if ((rc = ag_json_get_int(spec, "", "epochs", 20, 1, 1000000, &s->epochs, e)) < 0 ||
        (rc = ag_json_get_int(spec, "", "batch_size", 32, 1, 4096, &s->batch_size, e)) < 0 ||
        (rc = ag_json_get_double(spec, "", "learning_rate", 1e-3, 1e-7, 1.0, &s->learning_rate,
                                 e)) < 0 ||
        (rc = ag_json_get_double(spec, "", "holdout", 0.1, 0.01, 0.9, &s->holdout, e)) < 0 ||
        (rc = ag_json_get_double(spec, "", "position_scale", 0.01, 1e-4, 1.0, &s->position_scale,
                                 e)) < 0 ||
        (rc = ag_json_get_double(spec, "", "rotation_weight", 1.0, 0.0, 1000.0, &s->rotation_weight,
                                 e)) < 0 ||
        (rc = ag_json_get_int(spec, "", "seed", 1, 0, INT64_MAX, &s->seed, e)) < 0 ||
        (rc = ag_json_get_double(spec, "", "time_limit_s", 0.0, 0.0, 1e7, &s->time_limit_s, e)) <
            0) {
        return rc;
    }
    int schedule = 0;
    if ((rc = ag_json_get_enum(spec, "", "lr_schedule", schedules, AG_PRETRAIN_LR_CONSTANT,
                               &schedule, e)) < 0 ||
        (rc = ag_json_get_double(spec, "", "lr_min", 0.0, 0.0, 1.0, &s->lr_min, e)) < 0) {
        return rc;
    }
    s->lr_schedule = (AgPretrainLrSchedule)schedule;
    int rotation = 0;
    if ((rc = ag_json_get_enum(spec, "", "rotation", rotations, AG_PRETRAIN_ROT_QUATERNION,
                               &rotation, e)) < 0) {
        return rc;
    }
    s->rotation = (AgPretrainRotation)rotation;
    if (s->lr_schedule == AG_PRETRAIN_LR_CONSTANT && s->lr_min != 0.0) {
        return ag_json_fail(e, "lr_min",
                            "is the end of the cosine schedule; with \"lr_schedule\": "
                            "\"constant\" leave it out");
    }
    if (s->lr_min > s->learning_rate) {
        return ag_json_fail(e, "lr_min", "%g is above learning_rate %g (the schedule decays)",
                            s->lr_min, s->learning_rate);
    }
    const json_t *m = json_object_get(spec, "model");
    if (m && !json_is_null(m) && !json_is_string(m) && !json_is_object(m)) {
        return ag_json_fail(e, "model", "must be a preset name or a model description");
    }
    if (json_is_string(m) && !ag_model_preset_find(json_string_value(m), NULL)) {
        return ag_json_fail(e, "model", "unknown preset \"%.64s\"", json_string_value(m));
    }
    /* one image in, one pose out: a recurrent core has nothing to remember */
    if (m && ag_model_is_recurrent(m)) {
        return ag_json_fail(e, "model.core",
                            "pretraining reads single images, the model needs no core (\"core\": "
                            "null)");
    }
    s->model = m && !json_is_null(m) ? m : NULL;
    return 0;
}

json_t *ag_pretrain_spec_to_json(const AgPretrainSpec *s) {
    return json_pack(
        "{s:s, s:O, s:I, s:I, s:f, s:f, s:f, s:f, s:I, s:f, s:s, s:f, s:s}", "data", s->data,
        "model", s->model ? s->model : json_null(), "epochs", (json_int_t)s->epochs, "batch_size",
        (json_int_t)s->batch_size, "learning_rate", s->learning_rate, "holdout", s->holdout,
        "position_scale", s->position_scale, "rotation_weight", s->rotation_weight, "seed",
        (json_int_t)s->seed, "time_limit_s", s->time_limit_s, "lr_schedule",
        s->lr_schedule == AG_PRETRAIN_LR_COSINE ? "cosine" : "constant", "lr_min", s->lr_min,
        "rotation", s->rotation == AG_PRETRAIN_ROT_6D ? "6d" : "quaternion");
}

double ag_pretrain_lr(const AgPretrainSpec *s, long long step, long long total_steps) {
    if (s->lr_schedule != AG_PRETRAIN_LR_COSINE || total_steps <= 1) {
        return s->learning_rate;
    }
    /* the first step takes learning_rate, the last lr_min */
    double t =
        (double)(step < total_steps - 1 ? step : total_steps - 1) / (double)(total_steps - 1);
    return s->lr_min + 0.5 * (s->learning_rate - s->lr_min) * (1.0 + cos(M_PI * t));
}
