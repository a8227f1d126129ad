/* Analysis jobs in angorad's scheduler: two chained steps in one slot, angora-train recording a
 * checkpoint's activity over fresh episodes (activations.h5), then angora-analyze writing its
 * tables and figures (analysis/). The job's phase (recording, analyzing, done) is stored with
 * the process of the step, so a restarted daemon adopts either step.
 *
 * DESIGN
 * - A step's outcome is its exit code, or, for a step adopted after a restart (no exit status),
 *   the file it writes last: activations.h5 appears only complete (the recorder renames it from
 *   .part), analysis/analysis.json is written last by the analyzer.
 * - A complete recording is never made twice: a retried, paused or requeued job whose recording
 *   is there starts with the analysis.
 * - A failing step fails the job with the step's own message, the last line it wrote to
 *   worker.log. Exit code 2 (bad input: an unknown variable, too few episodes for the folds) and
 *   a program that cannot be executed fail at once; other failures are retried like crashes. */
#include "sched_int.h"

#include "ag_error.h"
#include "ag_fs.h"
#include "ag_json.h"
#include "ag_log.h"
#include "ag_rundir.h"
#include "ag_spawn.h"
#include "ag_time.h"

#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* how much of the end of worker.log is searched for a step's message */
#define JOB_LOG_TAIL  (16 * 1024)
#define JOB_NAMES_MAX 4096

static const char *const step_names[] = {"recording", "analyzing"};
static const char *const step_what[] = {"recording", "analysis"};

void sched_log_message(const char *text, size_t len, const char *program, char *out,
                       size_t out_sz) {
    size_t plen = program ? strlen(program) : 0, end = len;
    const char *fallback = NULL;
    size_t fallback_len = 0;
    if (!out_sz) {
        return;
    }
    out[0] = '\0';
    /* lines from the last one back */
    while (end > 0) {
        size_t start = end, n;
        const char *line;
        while (start > 0 && text[start - 1] != '\n') {
            start--;
        }
        line = text + start;
        n = end - start;
        while (n > 0 && (line[n - 1] == '\r' || line[n - 1] == ' ' || line[n - 1] == '\t')) {
            n--;
        }
        while (n > 0 && (line[0] == ' ' || line[0] == '\t')) {
            line++;
            n--;
        }
        if (n > 0) {
            if (plen && n > plen && !strncmp(line, program, plen) && line[plen] == ':') {
                fallback = line;
                fallback_len = n;
                break;
            }
            if (!fallback) {
                fallback = line;
                fallback_len = n;
            }
        }
        end = start > 0 ? start - 1 : 0;
    }
    if (fallback) {
        size_t n = fallback_len < out_sz - 1 ? fallback_len : out_sz - 1;
        memcpy(out, fallback, n);
        out[n] = '\0';
    }
}

/* the file name of a program path */
static const char *program_name(const char *path) {
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

/* the message of the step that wrote worker.log from offset on (-1: its last part) */
static void step_message(const Sched *s, const Slot *slot, const char *run_dir, char *out,
                         size_t out_sz) {
    char path[PATH_MAX], *buf = NULL;
    long long start = slot->log_offset > 0 ? slot->log_offset : 0;
    struct stat sb;
    FILE *f;
    size_t n = 0;
    out[0] = '\0';
    snprintf(path, sizeof(path), "%s/" AG_RUN_WORKER_LOG, run_dir);
    f = fopen(path, "rb");
    if (!f) {
        return;
    }
    if (fstat(fileno(f), &sb) == 0 && sb.st_size > start) {
        if (sb.st_size - start > JOB_LOG_TAIL) {
            start = sb.st_size - JOB_LOG_TAIL;
        }
        buf = malloc((size_t)(sb.st_size - start));
        if (buf && fseeko(f, start, SEEK_SET) == 0) {
            n = fread(buf, 1, (size_t)(sb.st_size - start), f);
        }
    }
    fclose(f);
    if (buf) {
        sched_log_message(buf, n,
                          program_name(slot->step == STEP_RECORDING ? s->trainer : s->analyzer),
                          out, out_sz);
    }
    free(buf);
}

/* "RUN/NAME" */
static void run_file(char *out, size_t out_sz, const char *run_dir, const char *name) {
    snprintf(out, out_sz, "%s/%s", run_dir, name);
}

/* the file a step writes last, so its presence means the step finished */
static int step_output_exists(const char *run_dir, SlotStep step) {
    char path[PATH_MAX];
    run_file(path, sizeof(path), run_dir,
             step == STEP_RECORDING ? AG_RUN_ACTIVATIONS
                                    : AG_RUN_ANALYSIS "/" AG_RUN_ANALYSIS_JSON);
    return ag_fs_exists(path);
}

/* what a step leaves half-written when it is stopped (the next attempt would replace it) */
static void job_remove_partials(const char *run_dir) {
    char path[PATH_MAX];
    run_file(path, sizeof(path), run_dir, AG_RUN_ACTIVATIONS AG_RUN_PARTIAL_SUFFIX);
    unlink(path);
    run_file(path, sizeof(path), run_dir, AG_RUN_RECORDING AG_RUN_PARTIAL_SUFFIX);
    unlink(path);
}

/* an analysis job's settings, from its stored spec (checked when it was submitted) */
typedef struct JobArgs {
    char ckpt[PATH_MAX];
    char episodes[24];
    char folds[24];
    int deterministic;
    char variables[JOB_NAMES_MAX];
    char layers[JOB_NAMES_MAX];
} JobArgs;

static int job_args(Sched *s, const StoreRun *r, SlotStep step, JobArgs *a, char *err,
                    size_t err_sz) {
    json_t *o = NULL, *spec;
    StoreRun parent;
    const char *ckpt;
    int rc = store_exp_get_json(s->store, r->id, &o, err, err_sz);
    if (rc) {
        return rc;
    }
    spec = json_object_get(o, "spec");
    ckpt = json_string_value(json_object_get(spec, "checkpoint"));
    snprintf(a->episodes, sizeof(a->episodes), "%lld",
             (long long)json_integer_value(json_object_get(spec, "episodes")));
    snprintf(a->folds, sizeof(a->folds), "%lld",
             (long long)json_integer_value(json_object_get(spec, "folds")));
    a->deterministic = json_is_true(json_object_get(spec, "deterministic"));
    if (ag_json_strings_join(json_object_get(spec, "variables"), ",", a->variables,
                             sizeof(a->variables)) ||
        ag_json_strings_join(json_object_get(spec, "layers"), ",", a->layers, sizeof(a->layers))) {
        rc = ag_errorf(err, err_sz, AG_ETOOBIG, "the job's variables or layers are too long");
    }
    /* the checkpoint is read by the recording only: the run may be gone by the analysis */
    if (rc == 0 && step == STEP_RECORDING) {
        if (r->parent_id <= 0 || !ckpt) {
            rc = ag_errorf(err, err_sz, AG_ENOTFOUND, "the analysed run was deleted");
        } else if ((rc = store_run_get(s->store, r->parent_id, &parent, err, err_sz)) == 0) {
            snprintf(a->ckpt, sizeof(a->ckpt), "%s/" AG_RUN_CHECKPOINTS "/%s", parent.run_dir,
                     ckpt);
            if (access(a->ckpt, R_OK) != 0) {
                rc = ag_errorf(err, err_sz, AG_ENOTFOUND, "no checkpoint %s to record", a->ckpt);
            }
        }
    }
    json_decref(o);
    return rc;
}

/* a program given as a path must be executable; a bare name is searched in PATH by exec */
static int program_check(const char *path, const char *what, char *err, size_t err_sz) {
    if (strchr(path, '/') && access(path, X_OK) != 0) {
        return ag_errorf(err, err_sz, AG_ENOTFOUND, "%s %s is not executable", what, path);
    }
    return 0;
}

/* starts one step of job r into slot */
static int job_spawn_step(Sched *s, Slot *slot, const StoreRun *r, SlotStep step, char *err,
                          size_t err_sz) {
    JobArgs a;
    char h5[PATH_MAX], out[PATH_MAX], summary[PATH_MAX], path[PATH_MAX];
    const char *argv[SCHED_ARGS_MAX];
    struct stat sb;
    pid_t pid = 0;
    int argc = 0, rc;
    if ((rc = ag_fs_mkdir_p(r->run_dir, 0700, err, err_sz)) != 0 ||
        (rc = job_args(s, r, step, &a, err, err_sz)) != 0 ||
        (rc = program_check(step == STEP_RECORDING ? s->trainer : s->analyzer,
                            step == STEP_RECORDING ? "trainer" : "analyzer", err, err_sz)) != 0) {
        return rc;
    }
    run_file(h5, sizeof(h5), r->run_dir, AG_RUN_ACTIVATIONS);
    run_file(out, sizeof(out), r->run_dir, AG_RUN_ANALYSIS);
    run_file(summary, sizeof(summary), r->run_dir, AG_RUN_RECORDING AG_RUN_PARTIAL_SUFFIX);
    if (step == STEP_RECORDING) {
        argv[argc++] = s->trainer;
        argv[argc++] = AG_TRAIN_RECORD_ACTIVATIONS;
        argv[argc++] = a.ckpt;
        argv[argc++] = AG_TRAIN_OUT;
        argv[argc++] = h5;
        argv[argc++] = AG_TRAIN_EPISODES;
        argv[argc++] = a.episodes;
        if (a.deterministic) {
            argv[argc++] = AG_TRAIN_DETERMINISTIC;
        }
    } else {
        /* a result of an earlier attempt must not pass for this one's */
        run_file(path, sizeof(path), r->run_dir, AG_RUN_ANALYSIS "/" AG_RUN_ANALYSIS_JSON);
        unlink(path);
        argv[argc++] = s->analyzer;
        argv[argc++] = h5;
        argv[argc++] = AG_ANALYZE_OUT;
        argv[argc++] = out;
        argv[argc++] = AG_ANALYZE_FOLDS;
        argv[argc++] = a.folds;
        if (a.variables[0]) {
            argv[argc++] = AG_ANALYZE_VARIABLES;
            argv[argc++] = a.variables;
        }
        if (a.layers[0]) {
            argv[argc++] = AG_ANALYZE_LAYERS;
            argv[argc++] = a.layers;
        }
    }
    argv[argc] = NULL;
    /* the step's own output starts here in worker.log */
    run_file(path, sizeof(path), r->run_dir, AG_RUN_WORKER_LOG);
    slot->log_offset = stat(path, &sb) == 0 ? (long long)sb.st_size : 0;
    /* the recorder prints its summary on stdout */
    rc = sched_spawn_argv(r->run_dir, argv, step == STEP_RECORDING ? summary : NULL, &pid, err,
                          err_sz);
    if (rc == 0) {
        slot->pid = pid;
        slot->start = sched_proc_start_time(pid);
        slot->step = step;
        slot->adopted = 0;
        slot->term_at = 0;
        slot->killed = 0;
    }
    return rc;
}

int sched_job_spawn(Sched *s, Slot *slot, const StoreRun *r, char *err, size_t err_sz) {
    SlotStep step =
        step_output_exists(r->run_dir, STEP_RECORDING) ? STEP_ANALYZING : STEP_RECORDING;
    return job_spawn_step(s, slot, r, step, err, err_sz);
}

/* stores the phase of the slot's step and journals it */
static void job_phase(Sched *s, const Slot *slot, const char *detail) {
    char msg[256];
    const char *phase = step_names[slot->step];
    if (store_run_phase(s->store, slot->id, phase, (int)slot->pid, slot->start, msg, sizeof(msg)) !=
        0) {
        sched_event(s, slot->id, "warning", "cannot record phase %s: %s", phase, msg);
    }
    sched_event(s, slot->id, phase, "pid %d%s", (int)slot->pid, detail);
}

void sched_job_started(Sched *s, const Slot *slot) {
    job_phase(s, slot,
              slot->step == STEP_ANALYZING ? " (the recording of an earlier attempt is complete)"
                                           : "");
}

/* the recorder's summary (its stdout) is kept when the recording is complete */
static void recording_summary_keep(const char *run_dir) {
    char tmp[PATH_MAX], fin[PATH_MAX];
    run_file(tmp, sizeof(tmp), run_dir, AG_RUN_RECORDING AG_RUN_PARTIAL_SUFFIX);
    run_file(fin, sizeof(fin), run_dir, AG_RUN_RECORDING);
    if (ag_fs_exists(tmp)) {
        rename(tmp, fin);
    }
}

/* the recording is complete: the analysis starts in the same slot */
static void job_next_step(Sched *s, Slot *slot, const StoreRun *r) {
    char msg[512];
    if (job_spawn_step(s, slot, r, STEP_ANALYZING, msg, sizeof(msg)) != 0) {
        slot->used = 0;
        sched_event(s, r->id, "failed", "cannot start the analysis: %s", msg);
        sched_set_state(s, r->id, "failed", msg);
        return;
    }
    job_phase(s, slot, "");
    if (s->hook) {
        s->hook(s->hook_ctx, r->id, "running", step_names[STEP_ANALYZING]);
    }
}

/* a step that did not finish: the job fails with the step's message, or is retried */
static void job_step_failed(Sched *s, const Slot *slot, const StoreRun *r, int status, int known) {
    char why[256], msg[512], reason[1024];
    int code = known && WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    sched_describe_status(status, known, why, sizeof(why));
    step_message(s, slot, r->run_dir, msg, sizeof(msg));
    snprintf(reason, sizeof(reason), "%s failed (%s)%s%s", step_what[slot->step], why,
             msg[0] ? ": " : "", msg);
    job_remove_partials(r->run_dir);
    /* bad input, or a program that cannot run: the same again would fail the same way */
    if (code == AG_EXIT_USAGE || code == AG_SPAWN_EXEC_FAILED) {
        sched_event(s, r->id, "failed", "%s", reason);
        sched_set_state(s, r->id, "failed", reason);
        return;
    }
    sched_run_crashed(s, r->id, reason, "the last completed step");
}

void sched_job_ended(Sched *s, Slot *slot, int status, int known) {
    StoreRun r;
    char msg[512];
    int64_t id = slot->id;
    int ok;
    if (store_run_get(s->store, id, &r, msg, sizeof(msg)) != 0) {
        slot->used = 0;
        ag_log_info("analysis job %lld ended after it was removed", (long long)id);
        return;
    }
    ok = known ? WIFEXITED(status) && WEXITSTATUS(status) == 0
               : step_output_exists(r.run_dir, slot->step);
    if (ok && slot->step == STEP_RECORDING) {
        recording_summary_keep(r.run_dir);
    }
    if (!strcmp(r.request, "cancel")) {
        slot->used = 0;
        job_remove_partials(r.run_dir);
        sched_event(s, id, "cancelled", "during the %s", step_what[slot->step]);
        sched_set_state(s, id, "cancelled", "cancelled by request");
    } else if (ok && slot->step == STEP_ANALYZING) {
        slot->used = 0;
        if (store_run_phase(s->store, id, "done", 0, 0, msg, sizeof(msg)) != 0) {
            sched_event(s, id, "warning", "cannot record phase done: %s", msg);
        }
        sched_event(s, id, "succeeded", "analysis written to " AG_RUN_ANALYSIS "/");
        sched_set_state(s, id, "succeeded", NULL);
    } else if (!strcmp(r.request, "pause")) {
        slot->used = 0;
        sched_event(s, id, "paused", "during the %s", step_what[slot->step]);
        sched_set_state(s, id, "paused", NULL);
    } else if (slot->shutdown) {
        slot->used = 0;
        sched_run_requeue(s, id, SLOT_ANALYSIS, r.run_dir, "requeued",
                          "stopped for the daemon's shutdown");
    } else if (ok) {
        job_next_step(s, slot, &r);
    } else if (slot->with_daemon) {
        char why[200];
        slot->used = 0;
        sched_describe_interrupted(s, 1, 0, why, sizeof(why));
        sched_run_requeue(s, id, SLOT_ANALYSIS, r.run_dir, "interrupted", why);
    } else {
        slot->used = 0;
        job_step_failed(s, slot, &r, status, known);
    }
}
