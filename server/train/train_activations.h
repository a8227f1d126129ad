/* Activation recordings (angora-train --record-activations, docs/recording.md): N evaluation
 * episodes of a checkpoint with, at every step, the output of every layer of the model (its
 * probes, nn_model.h), the sensations, the action, the action distribution's parameters, the
 * value, the reward, the episode's end and the task's variables (env.h), written as HDF5 in the
 * layout "angora-activations" version 1 through train_h5.h.
 *
 * DESIGN
 * - The episodes are those of rl_trainer_evaluate_observed (rl_ppo.h): waves of episodes step
 *   together, and rows must reach the file in episode order. The oldest running episode streams
 *   straight to the file; the others' rows wait in per-episode staging buffers until their turn,
 *   so a wave holds at most TRAIN_ACT_STAGE_BYTES of waiting rows (the wave is narrowed to fit).
 * - A staged row is the file's row: every dataset's values side by side (index values as
 *   int32 bit patterns), so the file receives each row with one copy per dataset.
 * - The task variables are read before the environment steps, from the state the policy acted
 *   in: the same instant as the observation and the layer outputs of that row. */
#ifndef TRAIN_ACTIVATIONS_H
#define TRAIN_ACTIVATIONS_H

#include "rl_ppo.h"

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#define TRAIN_ACT_FORMAT      "angora-activations"
#define TRAIN_ACT_VERSION     1
#define TRAIN_ACT_STAGE_BYTES ((size_t)512 << 20)
/* the default evaluation seed of a recording is the run's seed mixed with this, which no
 * training environment (the run's seed) or periodic evaluation (another mix) uses */
#define TRAIN_ACT_SEED_MIX 0xd1b54a32d192ed03ull

typedef struct TrainActOpts {
    const char *out;        /* FILE.h5: written as FILE.h5.part, renamed when complete */
    const char *checkpoint; /* recorded with its SHA-256; NULL for none */
    const json_t *spec;     /* the resolved spec of the run that made the policy */
    int episodes;           /* at least 1 */
    int deterministic;      /* the distribution's mode instead of samples */
    int pool_conv;          /* feature maps averaged over space: C values a step, not C*H*W */
    uint64_t seed;          /* the evaluation seed */
} TrainActOpts;

typedef struct TrainActResult {
    int64_t steps; /* rows of every dataset */
    int datasets;
    int wave;             /* episodes run at once */
    RlEvalResult eval;    /* the evaluation summary of the recorded episodes */
    double seconds;       /* the whole recording */
    double write_seconds; /* inside the HDF5 writer: compression and disk */
} TrainActResult;

/* records o->episodes episodes of t's policy into o->out. Errors: AG_EINVAL for bad options,
 * AG_EIO (and others) when the file cannot be written; FILE.h5 then does not exist. */
int train_activations_record(RlTrainer *t, const TrainActOpts *o, TrainActResult *res, char *err,
                             size_t err_sz);

/* the hex SHA-256 of a file's bytes */
int train_sha256_file(const char *path, char hex[65], char *err, size_t err_sz);

#endif
