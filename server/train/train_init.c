/* Starting a run from another run's policy, with the file's hash on record. */
#include "train_init.h"

#include "ag_error.h"
#include "ag_rundir.h"
#include "train_activations.h"
#include "train_run.h"

#include <mpi.h>
#include <stdio.h>
#include <string.h>

/* the hash a resumed run's checkpoint recorded for the same init file, or "" */
static void train_init_recorded(const AgSpec *spec, const char *run_dir, char sha[65]) {
    char path[TRAIN_PATH_MAX], msg[256];
    AgSpec stored;
    sha[0] = '\0';
    if (train_path(path, sizeof path, run_dir, AG_RUN_CHECKPOINTS "/" AG_RUN_CKPT_LAST) ||
        rl_ckpt_read_spec(path, &stored, msg, sizeof msg)) {
        return;
    }
    if (strcmp(stored.init.checkpoint, spec->init.checkpoint) == 0) {
        snprintf(sha, 65, "%s", stored.init.sha256);
    }
    ag_spec_free(&stored);
}

/* hashes the init file into sha and compares it with the spec's hash, if any */
static int train_init_hash(const AgSpec *spec, char sha[65], char *err, size_t err_sz) {
    int rc = train_sha256_file(spec->init.checkpoint, sha, err, err_sz);
    if (rc) {
        char why[512];
        snprintf(why, sizeof why, "%s", err);
        return ag_errorf(err, err_sz, rc, "init.checkpoint: %s", why);
    }
    if (spec->init.sha256[0] && strcmp(sha, spec->init.sha256) != 0) {
        return ag_errorf(err, err_sz, AG_ECHECKSUM,
                         "init.checkpoint: %s has SHA-256 %s, the spec's init.sha256 is %s",
                         spec->init.checkpoint, sha, spec->init.sha256);
    }
    return 0;
}

int train_init_verify(const AgSpec *spec, char *path, size_t path_sz, char *err, size_t err_sz) {
    char sha[65];
    if (!spec->init.checkpoint[0] || !spec->init.sha256[0]) {
        return 0;
    }
    int rc = train_init_hash(spec, sha, err, err_sz);
    if (rc) {
        snprintf(path, path_sz, "%s", rc == AG_ECHECKSUM ? "init.sha256" : "init.checkpoint");
    }
    return rc;
}

int train_init_start(RlTrainer *t, AgSpec *spec, const char *run_dir, int resumed, char *err,
                     size_t err_sz) {
    char sha[65] = "";
    int rc = 0;
    if (!spec->init.checkpoint[0]) {
        return 0;
    }
    if (resumed) {
        if (rl_trainer_rank(t) == 0 && !spec->init.sha256[0]) {
            train_init_recorded(spec, run_dir, sha);
            snprintf(spec->init.sha256, sizeof spec->init.sha256, "%s", sha);
            rl_trainer_record_init_sha256(t, sha);
        }
        return 0;
    }
    if (rl_trainer_rank(t) == 0) {
        rc = train_init_hash(spec, sha, err, err_sz);
    }
    MPI_Bcast(&rc, 1, MPI_INT, 0, MPI_COMM_WORLD);
    if (rc) {
        if (rl_trainer_rank(t) != 0) {
            ag_errorf(err, err_sz, rc, "init.checkpoint: refused on rank 0");
        }
        return rc;
    }
    rc = rl_trainer_init_from(t, sha, err, err_sz);
    if (rc) {
        char why[512];
        snprintf(why, sizeof why, "%s", err);
        return ag_errorf(err, err_sz, rc, "init.checkpoint: %s", why);
    }
    snprintf(spec->init.sha256, sizeof spec->init.sha256, "%s", sha);
    return 0;
}
