/* Vision pretraining (docs/training.md, "Vision pretraining"): a dataset of rendered block-task
 * scenes labelled with the block's pose (angora-train --pretrain-data), and the training of a
 * vision encoder on it (angora-train --pretrain).
 *
 * DESIGN
 * - The dataset is an HDF5 file written through the analysis library's writer (an_h5.h), in its
 *   layout: every image is a one-step "episode"; /variables/image is float32 [N, 3*S*S] (values
 *   in [0, 1], (C, H, W) per row), /variables/block_position [N, 3] (m, world frame),
 *   /variables/block_quaternion [N, 4] (w x y z), /variables/fingertip_positions [N, 15] (m).
 *   The root carries the task, the seed, the dataset spec (`spec`) and N (`steps`); the image
 *   dataset carries `image_size` and its `shape` [3, S, S].
 * - The model is an NnModel with one input, "vision" (3, S, S), shared mode (one network), no
 *   core, and a policy head of 7 outputs read as a pose (nn_pose.h). Its vision pathway is the
 *   encoder; its trunk is the small dense head. The value head exists and is never trained.
 * - Positions are learnt as (p - mean) / position_scale, mean over the training split; the
 *   checkpoint's "pretrain" section keeps the mean, the scale, the task and the image size.
 * - The held-out split is the last `holdout` fraction of the file (scenes are drawn
 *   independently, so any contiguous block is a fair sample).
 * - A run resumes from its last.ckpt to the bit (train_pretrain_int.h): weights, Adam, the
 * shuffle's RNG and order, the epoch's place and sums, the best held-out loss and the curve's
 * clock. */
#ifndef TRAIN_PRETRAIN_H
#define TRAIN_PRETRAIN_H

#include <jansson.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#define TRAIN_PRETRAIN_INPUT       "vision"
#define TRAIN_PRETRAIN_SECTION     "pretrain"
#define TRAIN_PRETRAIN_MAX_SAMPLES 1000000

typedef struct TrainPretrainDataResult {
    int64_t samples;
    int image_size;
    double seconds;
} TrainPretrainDataResult;

/* renders the dataset described by spec ({"task", "samples", "image_size", "seed",
 * "hand_spread", "block_offset"}) into out (written as out.part, renamed when complete).
 * AG_ESPEC with the JSON path in path for a bad spec; other codes for runtime failures. */
int train_pretrain_data(const json_t *spec, const char *out, TrainPretrainDataResult *res,
                        char *path, size_t path_sz, char *err, size_t err_sz);

typedef struct TrainPretrainResult {
    int epochs;
    double seconds;
    double holdout_position_rmse_mm;
    double holdout_rotation_median_deg;
    double holdout_loss;
} TrainPretrainResult;

/* trains an encoder as spec says (ag_pretrain.h; paths in "data" are as given) into run_dir:
 * metrics.jsonl (one row per epoch), checkpoints/last.ckpt (at every epoch's end, at least every
 * few minutes within one, and when stopped) and best.ckpt. AG_ESPEC with the JSON path for a
 * bad spec or dataset. opt->stop is polled between minibatches: once it is set (or
 * opt->stop_after minibatches are done) the run writes last.ckpt at that minibatch and ends with
 * AG_EINTERRUPTED. opt->resume: go on from run_dir's last.ckpt (AG_EINVAL without one, AG_ESPEC
 * with the path of what differs for one of another spec or dataset); the metrics rows after its
 * epoch are dropped, and the run goes on as one never stopped would, to the bit. */
typedef struct TrainPretrainOptions {
    int resume;                        /* go on from run_dir's checkpoints/last.ckpt */
    int quiet;                         /* no progress lines on stdout */
    const volatile sig_atomic_t *stop; /* may be NULL */
    int64_t stop_after; /* > 0: stop as a signal would after this many minibatches of this call */
} TrainPretrainOptions;

int train_pretrain_run(const json_t *spec, const char *run_dir, const TrainPretrainOptions *opt,
                       TrainPretrainResult *res, char *path, size_t path_sz, char *err,
                       size_t err_sz);

/* what a run checks before it writes anything, without training: the spec, the dataset's header
 * (its images not read) and the model built for its image size. 0, or AG_ESPEC with the JSON path
 * (another code when the check itself cannot run) */
int train_pretrain_check(const json_t *spec, char *path, size_t path_sz, char *err, size_t err_sz);

typedef struct TrainPretrainEval {
    int64_t images;
    int image_size;
    double loss, position_rmse_mm, rotation_median_deg, rotation_mean_deg;
} TrainPretrainEval;

/* scores the encoder of a pretraining's checkpoint on every image of the dataset `data` (a file
 * of --pretrain-data; rendered with a seed the encoder never saw, a test set), with the figures of
 * the held-out split. AG_ESPEC with the reason for a dataset of another task, image size or
 * camera; AG_EINVAL for a checkpoint that is not a pretraining's */
int train_pretrain_evaluate(const char *ckpt, const char *data, TrainPretrainEval *res, char *err,
                            size_t err_sz);

/* the command lines (train_pretrain_main.c): the summary on stdout, the reason on stderr (and in
 * DIR/error.json for a run), an exit code of ag_rundir.h */
int train_pretrain_data_main(const char *spec_path, const char *out);
int train_pretrain_main(const char *spec_path, const char *run_dir,
                        const TrainPretrainOptions *opt);
/* angora-train --pretrain-check SPEC: the verdict of train_pretrain_check as one line on stdout,
 * {"valid", "message", "path"} as --check gives it; AG_EXIT_DONE or AG_EXIT_USAGE */
int train_pretrain_check_main(const char *spec_path);
/* angora-train --pretrain-evaluate CHECKPOINT --data FILE.h5: the figures as one JSON line */
int train_pretrain_evaluate_main(const char *ckpt, const char *data);

#endif
