/* The vision pretraining spec (docs/training.md, "Vision pretraining"): what `angora-train
 * --pretrain SPEC` and angorad's pretrain jobs accept. One reader serves both, so the daemon
 * refuses at submit time, with the JSON path, exactly what the trainer would refuse on reading.
 *
 * DESIGN
 * - Keys, types, ranges and defaults are checked here, and the learning-rate schedule is computed
 *   here (one definition for the trainer and its tests). The model is checked to be absent, a
 *   known preset name or a description object, without a recurrent core; its depth is the
 *   network builder's (server/nn).
 * - The dataset is a file name kept as given; whether it is there is the caller's to check (the
 *   trainer reads it, the daemon refuses a path that is not absolute or not a readable file). */
#ifndef AG_PRETRAIN_H
#define AG_PRETRAIN_H

#include "ag_json.h"

#define AG_PRETRAIN_PATH_MAX 4096

/* how the learning rate moves over the run's minibatches ("lr_schedule") */
typedef enum AgPretrainLrSchedule {
    AG_PRETRAIN_LR_CONSTANT = 0, /* learning_rate throughout */
    AG_PRETRAIN_LR_COSINE,       /* half a cosine from learning_rate down to lr_min */
} AgPretrainLrSchedule;

/* the form of the predicted rotation ("rotation"; server/nn/nn_pose.h, the same values) */
typedef enum AgPretrainRotation {
    AG_PRETRAIN_ROT_QUATERNION = 0, /* 4 numbers, normalised by the loss */
    AG_PRETRAIN_ROT_6D,             /* two 3-vectors, made orthonormal by the loss */
} AgPretrainRotation;

typedef struct AgPretrainSpec {
    char data[AG_PRETRAIN_PATH_MAX]; /* the dataset, FILE.h5 of --pretrain-data */
    const json_t *model;             /* borrowed from the spec: NULL, a preset name or an object */
    long long epochs, batch_size, seed;
    double learning_rate, holdout, position_scale, rotation_weight, time_limit_s;
    AgPretrainLrSchedule lr_schedule;
    double lr_min; /* the cosine's end (0 for the constant schedule) */
    AgPretrainRotation rotation;
} AgPretrainSpec;

/* reads spec into s with the documented defaults; AG_ESPEC with the JSON path in e for the first
 * bad value (an unknown key, a wrong type, a value out of range, no data) */
int ag_pretrain_spec_read(const json_t *spec, AgPretrainSpec *s, AgJsonErr *e);

/* the spec as read, every default filled in (a new object; the model as given, or null) */
json_t *ag_pretrain_spec_to_json(const AgPretrainSpec *s);

/* the learning rate of minibatch `step` (0-based) of a run of `total_steps` minibatches: the
 * schedule's value, computed from the step alone so that a resumed run takes the same rates */
double ag_pretrain_lr(const AgPretrainSpec *s, long long step, long long total_steps);

#endif
