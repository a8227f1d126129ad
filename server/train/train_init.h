/* A run that starts from another run's policy (spec "init", docs/spec.md): the step of
 * angora-train between resuming and opening the run's outputs. */
#ifndef TRAIN_INIT_H
#define TRAIN_INIT_H

#include "ag_spec.h"
#include "rl_ppo.h"

#include <stddef.h>

/* A fresh run whose spec names init.checkpoint starts from that policy (rl_trainer_init_from),
 * refused when the file's SHA-256 is not the spec's init.sha256; the hash is then recorded in
 * spec (and so in spec.json) and in the trainer's checkpoints. A resumed run (resumed = 1)
 * continues from its own last.ckpt in run_dir and does not read init.checkpoint: spec gets the
 * hash its checkpoint recorded, so a spec given again without one (as angorad's) loses nothing.
 * Nothing to do without init.checkpoint. Collective. */
int train_init_start(RlTrainer *t, AgSpec *spec, const char *run_dir, int resumed, char *err,
                     size_t err_sz);

/* --check's part: a spec that gives init.sha256 names a file with that hash (rl_trainer_check
 * has checked what the file holds). 0, or an AG_E* code with the message in err and the spec's
 * key at fault in path. */
int train_init_verify(const AgSpec *spec, char *path, size_t path_sz, char *err, size_t err_sz);

#endif
