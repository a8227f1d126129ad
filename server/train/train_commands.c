/* angora-train's commands that need no run directory (train_commands.h). */
#include "train_commands.h"

#include "train_activations.h"
#include "train_init.h"
#include "train_record.h"

#include "ag_error.h"
#include "ag_fs.h"
#include "ag_json.h"
#include "ag_rundir.h"
#include "ag_spec.h"
#include "env.h"
#include "mj_record.h"
#include "rl_ppo.h"

#include <jansson.h>
#include <mpi.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

/* a summary on stdout (and freed) */
static void json_print(json_t *o) {
    json_dumpf(o, stdout, JSON_INDENT(2) | JSON_SORT_KEYS);
    fputc('\n', stdout);
    json_decref(o);
}

/* the seed as an exact decimal string: a 64-bit unsigned number is more than a JSON integer
 * (json_int_t, signed) holds, and more than a double keeps exactly */
static json_t *json_seed(uint64_t seed) {
    char text[24];
    snprintf(text, sizeof text, "%llu", (unsigned long long)seed);
    return json_string(text);
}

int train_cmd_list_tasks(void) {
    json_t *cat = env_registry_describe();
    if (!cat) {
        fprintf(stderr, "angora-train: could not describe the task catalogue\n");
        return AG_EXIT_ERROR;
    }
    json_print(cat);
    return AG_EXIT_DONE;
}

/* a trainer of one environment around a checkpoint's policy (--evaluate, --record-activations):
 * *spec gets the checkpoint's spec (free it either way), *stored (unless NULL) that spec as JSON
 * as the run resolved it. 0, or the exit status after saying why on stderr. */
static int policy_open(const char *ckpt, const char *task_options, AgSpec *spec, json_t **stored,
                       RlTrainer **t) {
    char err[1024] = "";
    *t = NULL;
    if (rl_ckpt_read_spec(ckpt, spec, err, sizeof err)) {
        fprintf(stderr, "angora-train: %s\n", err);
        return AG_EXIT_USAGE;
    }
    if (task_options) {
        /* merged key by key; the task then checks the result, and the checkpoint's policy must
         * still fit its observation and action spaces */
        json_error_t je;
        json_t *o = json_loads(task_options, JSON_REJECT_DUPLICATES, &je);
        if (!json_is_object(o)) {
            fprintf(stderr, "angora-train: %s: a JSON object is needed%s%s\n",
                    AG_TRAIN_TASK_OPTIONS, o ? "" : ": ", o ? "" : je.text);
            json_decref(o);
            return AG_EXIT_USAGE;
        }
        json_object_update(spec->task_options, o);
        json_decref(o);
    }
    if (stored) {
        *stored = ag_spec_to_json(spec);
    }
    /* one environment per rank is enough: evaluation builds its own */
    spec->ppo.envs_per_rank = 1;
    spec->ppo.minibatch = spec->ppo.horizon;
    if (rl_trainer_create(t, spec, MPI_COMM_SELF, err, sizeof err) ||
        rl_trainer_load_policy(*t, ckpt, err, sizeof err)) {
        fprintf(stderr, "angora-train: %s\n", err);
        return AG_EXIT_USAGE;
    }
    return 0;
}

int train_cmd_evaluate(const TrainArgs *a) {
    char err[1024] = "";
    AgSpec spec;
    RlTrainer *t = NULL;
    RlEvalResult res;
    int code = policy_open(a->evaluate, a->task_options, &spec, NULL, &t);
    if (code) {
        goto out;
    }
    code = AG_EXIT_USAGE;
    uint64_t seed = a->have_seed ? a->seed : spec.seed ^ TRAIN_EVAL_SEED_MIX;
    json_t *recording = NULL;
    if (a->record || a->trajectory) {
        /* recorded first: a missing ffmpeg fails before a long evaluation */
        TrainRecordOpts ro = {.video = a->record,
                              .trajectory = a->trajectory,
                              .width = a->record_width,
                              .height = a->record_height};
        int rc = train_record_episode(t, &ro, a->deterministic, seed, &recording, err, sizeof err);
        if (rc) {
            fprintf(stderr, "angora-train: recording failed: %s\n", err);
            /* asking for what the task cannot give (pictures, a size beyond its buffer) is
             * bad input; a missing or failing ffmpeg is a runtime error */
            int bad_input = rc == AG_ERANGE ||
                            (rc == AG_EUNSUPPORTED && !env_mj_task_is_mujoco(rl_trainer_task(t)));
            code = bad_input ? AG_EXIT_USAGE : AG_EXIT_ERROR;
            goto out;
        }
    }
    if (rl_trainer_evaluate(t, a->episodes, a->deterministic, seed, &res, err, sizeof err)) {
        fprintf(stderr, "angora-train: evaluation failed: %s\n", err);
        json_decref(recording);
        code = AG_EXIT_ERROR;
        goto out;
    }
    json_t *o = rl_eval_to_json(&res);
    if (recording) {
        json_object_set_new(o, "recording", recording);
    }
    json_object_set_new(o, "checkpoint", json_string(a->evaluate));
    json_object_set_new(o, "task", json_string(spec.task));
    json_object_set(o, "task_options", spec.task_options);
    json_object_set_new(o, "iteration", json_integer(rl_trainer_iteration(t)));
    json_object_set_new(o, "env_steps", json_integer(rl_trainer_env_steps(t)));
    json_object_set_new(o, "seed", json_seed(seed));
    json_print(o);
    code = AG_EXIT_DONE;
out:
    rl_trainer_destroy(t);
    ag_spec_free(&spec);
    return code;
}

int train_cmd_record_activations(const TrainArgs *a) {
    char err[1024] = "";
    AgSpec spec;
    json_t *stored = NULL;
    RlTrainer *t = NULL;
    int code = policy_open(a->activations, a->task_options, &spec, &stored, &t);
    if (code) {
        goto out;
    }
    code = AG_EXIT_USAGE;
    uint64_t seed = a->have_seed ? a->seed : spec.seed ^ TRAIN_ACT_SEED_MIX;
    if (seed == spec.seed || seed == (spec.seed ^ TRAIN_EVAL_SEED_MIX)) {
        fprintf(stderr,
                "angora-train: --seed %llu gives the %s episodes of the run; a recording needs "
                "fresh ones (leave --seed out for the default)\n",
                (unsigned long long)seed, seed == spec.seed ? "training" : "periodic evaluation");
        goto out;
    }
    TrainActOpts o = {.out = a->out,
                      .checkpoint = a->activations,
                      .spec = stored,
                      .episodes = a->episodes,
                      .deterministic = a->deterministic,
                      .pool_conv = a->pool_conv,
                      .seed = seed};
    TrainActResult res;
    int rc = train_activations_record(t, &o, &res, err, sizeof err);
    if (rc) {
        fprintf(stderr, "angora-train: recording activations failed: %s\n", err);
        code = rc == AG_EINVAL ? AG_EXIT_USAGE : AG_EXIT_ERROR;
        goto out;
    }
    json_t *j = rl_eval_to_json(&res.eval);
    json_object_set_new(j, "file", json_string(a->out));
    json_object_set_new(j, "checkpoint", json_string(a->activations));
    json_object_set_new(j, "task", json_string(spec.task));
    json_object_set_new(j, "seed", json_seed(seed));
    json_object_set_new(j, "steps", json_integer(res.steps));
    json_object_set_new(j, "datasets", json_integer(res.datasets));
    json_object_set_new(j, "wave", json_integer(res.wave));
    json_object_set_new(j, "seconds", json_real(res.seconds));
    json_object_set_new(j, "write_seconds", json_real(res.write_seconds));
    json_print(j);
    code = AG_EXIT_DONE;
out:
    json_decref(stored);
    rl_trainer_destroy(t);
    ag_spec_free(&spec);
    return code;
}

int train_cmd_check(const TrainArgs *a) {
    char *text = NULL, msg[1024] = "", path[AG_JSON_PATH_MAX] = "";
    size_t n = 0;
    AgSpec spec;
    AgJsonErr je = {0};
    int valid = 0;
    if (ag_fs_read_file(a->check, TRAIN_SPEC_MAX_BYTES, &text, &n, msg, sizeof msg) == 0) {
        if (ag_spec_parse_text(text, n, &spec, &je) != 0) {
            ag_json_err_format(&je, msg, sizeof msg);
            snprintf(path, sizeof path, "%s", je.path);
        } else {
            valid = rl_trainer_check(&spec, path, sizeof path, msg, sizeof msg) == 0 &&
                    train_init_verify(&spec, path, sizeof path, msg, sizeof msg) == 0;
            ag_spec_free(&spec);
        }
    }
    free(text);
    json_t *o = json_pack("{s:b,s:o,s:o}", "valid", valid, "message",
                          valid ? json_null() : json_string(msg), "path",
                          valid || !path[0] ? json_null() : json_string(path));
    char *line = o ? json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    json_decref(o);
    printf("%s\n", line ? line : "{\"valid\":false,\"message\":\"out of memory\",\"path\":null}");
    free(line);
    fflush(stdout);
    return valid ? AG_EXIT_DONE : AG_EXIT_USAGE;
}
