/* The state of one pretraining run, shared by its loop (train_pretrain.c) and its checkpoints
 * (train_pretrain_ckpt.c). Not for other modules: they see train_pretrain.h.
 *
 * DESIGN
 * - PretrainProgress is everything that moves during a run besides the weights and Adam's
 *   moments: a checkpoint holds it whole, so a resumed run takes the same minibatches in the
 *   same order with the same learning rates and writes the same rows as one never stopped.
 * - A run stops only at a minibatch boundary; `batch` says how far into the epoch under way it
 *   got (0 at an epoch's end), and the epoch's shuffled order is kept with it. */
#ifndef TRAIN_PRETRAIN_INT_H
#define TRAIN_PRETRAIN_INT_H

#include "train_pretrain.h"
#include "train_run.h"

#include "ag_pretrain.h"
#include "ag_rng.h"
#include "nn_model.h"
#include "nn_optim.h"
#include "nn_pose.h"

#include <stdio.h>

typedef struct PretrainSpec {
    AgPretrainSpec given; /* keys, types and ranges checked (ag_pretrain.h) */
    json_t *model;        /* the description with shared mode forced (new reference) */
} PretrainSpec;

typedef struct PretrainData {
    int64_t n;
    int size;      /* image side */
    int64_t cols;  /* floats of an image */
    float *images; /* (n, cols) */
    float *labels; /* (n, 7): position (m), quaternion */
    char task[64];
    char view[NN_VIEW_MAX]; /* the camera the images were drawn from; "" when not recorded */
} PretrainData;

typedef struct HoldoutScore {
    double loss, position_rmse_mm, rotation_median_deg, rotation_mean_deg;
} HoldoutScore;

typedef struct PretrainProgress {
    int64_t epoch;            /* epochs completed: scored, their rows written */
    int64_t batch;            /* minibatches done of the epoch under way (0: none) */
    AgRng rng;                /* the shuffle's stream, after the epoch under way was shuffled */
    double best;              /* lowest held-out loss so far (INFINITY before the first) */
    double wall_s;            /* the curve's wall time, summed over the run's processes */
    NnPoseLoss sum;           /* of the epoch under way, each minibatch's loss times its size */
    double grad_norm_sum;     /* of the epoch's finite steps */
    int64_t steps, bad_steps; /* of the epoch; bad: a non-finite gradient, zeroed */
    double lr;                /* of the last minibatch */
    HoldoutScore last;        /* of epoch `epoch` (all zero before the first) */
} PretrainProgress;

typedef struct Pretrain {
    PretrainSpec spec;
    const volatile sig_atomic_t *stop; /* set by a signal: end after this minibatch */
    int64_t stop_after;                /* > 0: end after this many minibatches of this process */
    int64_t steps_here;                /* minibatches done by this process */
    PretrainData data;
    NnModel *model;
    NnAdam adam;
    NnTrainCtx *ctx;
    int64_t n_train, n_hold;
    int64_t batches;   /* minibatches of an epoch */
    double mean[3];    /* position mean of the training split, m */
    float *batch_obs;  /* (batch, cols) */
    float *batch_tgt;  /* (batch, 7), positions normalised */
    float *out, *dout; /* (batch, 7) */
    float *value;      /* (batch) */
    double *angles;    /* (n_hold) */
    int *order;        /* (n_train): the epoch's shuffled order */
    FILE *metrics;
    char dir[TRAIN_PATH_MAX];
    PretrainProgress prog;
} Pretrain;

/* checkpoints/<name> of the run as it stands: the model and Adam's state (nn_ckpt.h), the
 * encoder's section TRAIN_PRETRAIN_SECTION, and what a resume needs: the run's identity (its
 * spec but time_limit_s, its dataset's size and labels), the progress and the shuffled order */
int pretrain_checkpoint(const Pretrain *p, const char *name, char *err, size_t err_sz);

/* restores weights, Adam, progress and order from DIR/checkpoints/last.ckpt of a run made with
 * the same spec (time_limit_s aside) on the same dataset. AG_EINVAL when there is none, AG_ESPEC
 * with the JSON path of the first key that differs (or "data" for another dataset), another
 * code for a file that cannot be read */
int pretrain_resume_load(Pretrain *p, char *path, size_t path_sz, char *err, size_t err_sz);

/* what evaluating a pretrained encoder needs from its checkpoint `file` (a run's last.ckpt or
 * best.ckpt): the run's identity ({"spec", "images", "image_size", "task", "labels_crc32"[,
 * "view"]}, a new reference) and the training split's mean position. AG_EINVAL for a file that is
 * not a pretraining's checkpoint, another code when it cannot be read */
int pretrain_checkpoint_read(const char *file, json_t **identity, double mean[3], char *err,
                             size_t err_sz);

#endif
