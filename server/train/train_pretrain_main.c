/* The command lines of vision pretraining: angora-train --pretrain-data SPEC --out FILE.h5,
 * angora-train --pretrain SPEC --run-dir DIR [--resume] and angora-train --pretrain-check SPEC
 * (train_pretrain.h), their summaries on stdout and
 * their exit codes (ag_rundir.h). */
#include "train_pretrain.h"
#include "train_run.h"

#include "ag_error.h"
#include "ag_fs.h"
#include "ag_json.h"
#include "ag_rundir.h"

#include <stdio.h>
#include <stdlib.h>

#define PRETRAIN_SPEC_MAX_BYTES (1 << 20)

static int exit_code(int rc) {
    if (rc == AG_EINTERRUPTED) {
        return AG_EXIT_INTERRUPTED;
    }
    return rc == AG_ESPEC || rc == AG_EINVAL || rc == AG_EEXISTS ? AG_EXIT_USAGE : AG_EXIT_ERROR;
}

static void summary_print(json_t *o) {
    char *line = o ? json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    if (line) {
        printf("%s\n", line);
    }
    free(line);
    json_decref(o);
    fflush(stdout);
}

int train_pretrain_data_main(const char *spec_path, const char *out) {
    char err[1024] = "", path[AG_JSON_PATH_MAX] = "";
    json_t *spec = ag_json_load_file(spec_path, PRETRAIN_SPEC_MAX_BYTES, err, sizeof err);
    if (!spec) {
        fprintf(stderr, "angora-train: %s\n", err);
        return AG_EXIT_USAGE;
    }
    TrainPretrainDataResult res;
    int rc = train_pretrain_data(spec, out, &res, path, sizeof path, err, sizeof err);
    json_decref(spec);
    if (rc != 0) {
        fprintf(stderr, "angora-train: dataset %s not written: %s\n", out, err);
        return exit_code(rc);
    }
    summary_print(json_pack("{s:s, s:I, s:i, s:f}", "file", out, "samples", (json_int_t)res.samples,
                            "image_size", res.image_size, "seconds", res.seconds));
    return AG_EXIT_DONE;
}

int train_pretrain_main(const char *spec_path, const char *run_dir,
                        const TrainPretrainOptions *opt) {
    char err[1024] = "", path[AG_JSON_PATH_MAX] = "", why[256];
    json_t *spec = ag_json_load_file(spec_path, PRETRAIN_SPEC_MAX_BYTES, err, sizeof err);
    if (!spec) {
        fprintf(stderr, "angora-train: %s\n", err);
        return AG_EXIT_USAGE;
    }
    TrainPretrainResult res;
    int rc = train_pretrain_run(spec, run_dir, opt, &res, path, sizeof path, err, sizeof err);
    json_decref(spec);
    if (rc == AG_EINTERRUPTED && !(opt->stop && *opt->stop)) {
        /* --stop-after: a stop asked for, as training's */
        fprintf(stderr,
                "angora-train: pretraining %s (--stop-after); checkpoints/last.ckpt holds where "
                "it stood (--resume goes on)\n",
                err);
        return AG_EXIT_DONE;
    }
    if (rc == AG_EINTERRUPTED) {
        fprintf(stderr,
                "angora-train: pretraining %s; checkpoints/last.ckpt holds where it stood "
                "(--resume goes on)\n",
                err);
        return exit_code(rc);
    }
    if (rc != 0) {
        fprintf(stderr, "angora-train: pretraining failed: %s\n", err);
        /* the reason goes beside the run's files (a spec refused before the directory was
         * prepared makes it); another run's directory is left alone */
        if (rc != AG_EEXISTS && ag_fs_mkdir_p(run_dir, 0755, why, sizeof why) == 0) {
            train_error_write(run_dir, err, path, exit_code(rc) == AG_EXIT_USAGE, why, sizeof why);
        }
        return exit_code(rc);
    }
    summary_print(json_pack("{s:s, s:i, s:f, s:f, s:f, s:f}", "run_dir", run_dir, "epochs",
                            res.epochs, "seconds", res.seconds, "holdout_loss", res.holdout_loss,
                            "holdout_position_rmse_mm", res.holdout_position_rmse_mm,
                            "holdout_rotation_median_deg", res.holdout_rotation_median_deg));
    return AG_EXIT_DONE;
}

int train_pretrain_check_main(const char *spec_path) {
    char err[1024] = "", path[AG_JSON_PATH_MAX] = "";
    json_t *spec = ag_json_load_file(spec_path, PRETRAIN_SPEC_MAX_BYTES, err, sizeof err);
    int rc = spec ? train_pretrain_check(spec, path, sizeof path, err, sizeof err) : AG_ESPEC;
    json_decref(spec);
    summary_print(json_pack("{s:b, s:o, s:o}", "valid", rc == 0, "message",
                            rc == 0 ? json_null() : json_string(err), "path",
                            rc == 0 || !path[0] ? json_null() : json_string(path)));
    return rc == 0 ? AG_EXIT_DONE : AG_EXIT_USAGE;
}

int train_pretrain_evaluate_main(const char *ckpt, const char *data) {
    char err[1024] = "";
    TrainPretrainEval res;
    int rc = train_pretrain_evaluate(ckpt, data, &res, err, sizeof err);
    if (rc != 0) {
        fprintf(stderr, "angora-train: cannot evaluate the encoder: %s\n", err);
        return rc == AG_ESPEC || rc == AG_EINVAL ? AG_EXIT_USAGE : AG_EXIT_ERROR;
    }
    summary_print(json_pack("{s:s, s:s, s:I, s:i, s:f, s:f, s:f, s:f}", "checkpoint", ckpt, "data",
                            data, "images", (json_int_t)res.images, "image_size", res.image_size,
                            "loss", res.loss, "position_rmse_mm", res.position_rmse_mm,
                            "rotation_median_deg", res.rotation_median_deg, "rotation_mean_deg",
                            res.rotation_mean_deg));
    return AG_EXIT_DONE;
}
