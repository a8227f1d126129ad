/* Recording of one evaluation episode of a checkpoint (angora-train --evaluate with --record
 * and/or --trajectory): an MP4 video rendered offscreen and encoded by ffmpeg, and a compact
 * JSON trajectory a dashboard can replay. docs/training.md describes both files. */
#ifndef TRAIN_RECORD_H
#define TRAIN_RECORD_H

#include "rl_ppo.h"

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#define TRAIN_RECORD_WIDTH  640
#define TRAIN_RECORD_HEIGHT 480

typedef struct TrainRecordOpts {
    const char *video;      /* FILE.mp4 or NULL */
    const char *trajectory; /* FILE.json or NULL */
    int width, height;      /* video size (even); 0 for the default */
    const char *ffmpeg;     /* program to run; NULL: $ANGORA_FFMPEG, else "ffmpeg" on PATH */
} TrainRecordOpts;

/* parses "WxH" (both even, 16..4096); 0 or AG_EINVAL */
int train_record_parse_size(const char *s, int *width, int *height, char *err, size_t err_sz);

/* runs evaluation episode 0 (seed as for --evaluate) and writes the files asked for; each
 * appears only complete (written under FILE.part, then renamed). *summary gets {"return",
 * "length", "video", "trajectory", "width", "height", "fps"} (new reference).
 * AG_EUNSUPPORTED: --record for a task that is not a MuJoCo task, or rendering impossible;
 * AG_ENOTFOUND: ffmpeg missing; AG_EIO: ffmpeg failed or a file could not be written. */
int train_record_episode(RlTrainer *t, const TrainRecordOpts *o, int deterministic, uint64_t seed,
                         json_t **summary, char *err, size_t err_sz);

#endif
