/* The scheduler and local executor of angorad: starts queued runs by priority then submission
 * order while cores are free, runs each angora-train (or mpirun -np R angora-train) in its own
 * session with one BLAS thread per rank, turns cancel/pause requests into SIGTERM then SIGKILL,
 * retries crashed workers from their checkpoint, and requeues without an attempt the runs stopped
 * from outside (the daemon's shutdown, exit 3 on a signal, the end of the daemon's previous life:
 * sched_recover.c re-adopts or judges runs after a restart). Analysis jobs take a slot like any
 * run; their steps are in sched_job.c. Pretrain jobs (angora-train --pretrain) run like training
 * and resume from their checkpoint as training does. Runs for the Slurm executor are handed to
 * sched_slurm.c, and take no local cores. */
#include "sched_int.h"

#include "ag_error.h"
#include "ag_rundir.h"
#include "ag_spawn.h"
#include "ag_fs.h"
#include "ag_json.h"
#include "ag_log.h"
#include "ag_time.h"

#include <errno.h>
#include <pthread.h>
#include <fcntl.h>
#include <jansson.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

long long sched_proc_start_time(pid_t pid) {
    char path[64], buf[1024], *p;
    FILE *f;
    size_t n;
    long long start = -1;
    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    f = fopen(path, "r");
    if (!f) {
        return -1;
    }
    n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    /* the command name may hold spaces and parentheses: fields resume after the last ')' */
    p = strrchr(buf, ')');
    if (!p) {
        return -1;
    }
    p++;
    /* p is at field 3 (state); start time is field 22 */
    for (int field = 3; field < 22 && p; field++) {
        p = strchr(p + 1, ' ');
    }
    if (p) {
        start = strtoll(p + 1, NULL, 10);
    }
    /* a zombie is as good as gone */
    {
        char *st = strrchr(buf, ')');
        if (st && st[1] == ' ' && (st[2] == 'Z' || st[2] == 'X')) {
            return -1;
        }
    }
    return start;
}

int sched_create(Sched **out, const SchedConfig *cfg, Store *store, Ingest *ingest, char *err,
                 size_t err_sz) {
    Sched *s = calloc(1, sizeof(*s));
    *out = NULL;
    if (!s) {
        return ag_errorf(err, err_sz, AG_ENOMEM, "out of memory");
    }
    s->cfg = *cfg;
    snprintf(s->trainer, sizeof(s->trainer), "%s", cfg->trainer ? cfg->trainer : "");
    snprintf(s->analyzer, sizeof(s->analyzer), "%s",
             cfg->analyzer && *cfg->analyzer ? cfg->analyzer : "angora-analyze");
    snprintf(s->mpirun, sizeof(s->mpirun), "%s", cfg->mpirun ? cfg->mpirun : "mpirun");
    snprintf(s->hostfile, sizeof(s->hostfile), "%s", cfg->hostfile ? cfg->hostfile : "");
    snprintf(s->slurm_bin, sizeof(s->slurm_bin), "%s", cfg->slurm_bin ? cfg->slurm_bin : "");
    snprintf(s->slurm_mpi, sizeof(s->slurm_mpi), "%s",
             cfg->slurm_mpi && *cfg->slurm_mpi ? cfg->slurm_mpi : "pmix");
    s->slurm_defaults.kind = AG_EXECUTOR_SLURM;
    snprintf(s->slurm_defaults.partition, sizeof(s->slurm_defaults.partition), "%s",
             cfg->slurm_partition ? cfg->slurm_partition : "");
    snprintf(s->slurm_defaults.account, sizeof(s->slurm_defaults.account), "%s",
             cfg->slurm_account ? cfg->slurm_account : "");
    snprintf(s->slurm_defaults.time_limit, sizeof(s->slurm_defaults.time_limit), "%s",
             cfg->slurm_time_limit ? cfg->slurm_time_limit : "");
    if (s->cfg.slurm_poll_s <= 0) {
        s->cfg.slurm_poll_s = 2.0;
    }
    if (s->cfg.max_cores < 1) {
        s->cfg.max_cores = 1;
    }
    if (s->cfg.max_attempts < 1) {
        s->cfg.max_attempts = 1;
    }
    s->store = store;
    s->ingest = ingest;
    *out = s;
    return 0;
}

void sched_destroy(Sched *s) {
    free(s);
}

int sched_cores_used(const Sched *s) {
    int used = 0;
    for (int i = 0; i < SCHED_SLOTS_MAX; i++) {
        if (s->slots[i].used && s->slots[i].exec == EXEC_LOCAL) {
            used += s->slots[i].ranks;
        }
    }
    return used;
}

int sched_live(const Sched *s) {
    int n = 0;
    for (int i = 0; i < SCHED_SLOTS_MAX; i++) {
        n += s->slots[i].used;
    }
    return n;
}

Slot *sched_slot_new(Sched *s) {
    for (int i = 0; i < SCHED_SLOTS_MAX; i++) {
        if (!s->slots[i].used) {
            memset(&s->slots[i], 0, sizeof(s->slots[i]));
            s->slots[i].used = 1;
            return &s->slots[i];
        }
    }
    return NULL;
}

SlotKind sched_slot_kind(const char *kind) {
    return !strcmp(kind, "evaluate")   ? SLOT_EVALUATE
           : !strcmp(kind, "analysis") ? SLOT_ANALYSIS
           : !strcmp(kind, "pretrain") ? SLOT_PRETRAIN
                                       : SLOT_TRAIN;
}

void sched_event(Sched *s, int64_t id, const char *kind, const char *fmt, ...) {
    char detail[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(detail, sizeof(detail), fmt, ap);
    va_end(ap);
    ag_log_info("experiment %lld: %s%s%s", (long long)id, kind, detail[0] ? ": " : "", detail);
    store_event_add(s->store, id, kind, detail);
}

void sched_set_state(Sched *s, int64_t id, const char *state, const char *error) {
    char msg[256];
    if (store_run_set_state(s->store, id, state, error, msg, sizeof(msg)) != 0) {
        ag_log_warn("experiment %lld: %s", (long long)id, msg);
        return;
    }
    if (s->hook) {
        s->hook(s->hook_ctx, id, state, error);
    }
}

void sched_set_state_hook(Sched *s, SchedStateHook fn, void *ctx) {
    s->hook = fn;
    s->hook_ctx = ctx;
}

void sched_drain(Sched *s, int64_t id, const char *run_dir) {
    char msg[512];
    if (ingest_run(s->ingest, id, run_dir, NULL, msg, sizeof(msg)) != 0) {
        ag_log_warn("experiment %lld: ingestion: %s", (long long)id, msg);
    }
}

/* ---- starting a worker ---- */

int sched_write_spec(Sched *s, int64_t id, const char *run_dir, char *err, size_t err_sz) {
    json_t *o = NULL, *spec;
    char path[PATH_MAX], *text;
    int rc = store_exp_get_json(s->store, id, &o, err, err_sz);
    if (rc) {
        return rc;
    }
    spec = json_object_get(o, "spec");
    text = spec ? json_dumps(spec, JSON_INDENT(2) | JSON_SORT_KEYS) : NULL;
    if (!text) {
        json_decref(o);
        return ag_errorf(err, err_sz, AG_EFORMAT, "stored spec is not JSON");
    }
    snprintf(path, sizeof(path), "%s/" AG_RUN_SUBMITTED, run_dir);
    rc = ag_fs_write_atomic(path, text, strlen(text), err, err_sz);
    free(text);
    json_decref(o);
    return rc;
}

/* evaluate jobs: the checkpoint, episode count and mode from their spec */
static int eval_args(Sched *s, const StoreRun *r, char *ckpt, size_t ckpt_sz, char *episodes,
                     size_t ep_sz, int *det, int *record, char *err, size_t err_sz) {
    json_t *o = NULL, *spec;
    StoreRun parent;
    int rc = store_exp_get_json(s->store, r->id, &o, err, err_sz);
    if (rc) {
        return rc;
    }
    spec = json_object_get(o, "spec");
    rc = store_run_get(s->store, r->parent_id, &parent, err, err_sz);
    if (rc == 0) {
        snprintf(ckpt, ckpt_sz, "%s/" AG_RUN_CHECKPOINTS "/%s", parent.run_dir,
                 json_string_value(json_object_get(spec, "checkpoint"))
                     ? json_string_value(json_object_get(spec, "checkpoint"))
                     : AG_RUN_CKPT_LAST);
        snprintf(episodes, ep_sz, "%lld",
                 (long long)json_integer_value(json_object_get(spec, "episodes")));
        *det = json_is_true(json_object_get(spec, "deterministic"));
        *record = json_is_true(json_object_get(spec, "record"));
        if (access(ckpt, R_OK) != 0) {
            rc = ag_errorf(err, err_sz, AG_ENOTFOUND, "no checkpoint %s to evaluate", ckpt);
        }
    }
    json_decref(o);
    return rc;
}

/* a pretrain job: angora-train --pretrain on the stored spec, its summary (stdout) into
 * AG_RUN_PRETRAIN_SUMMARY. An attempt after one that left a checkpoint resumes from it: the
 * trainer cuts metrics.jsonl back to the checkpoint's epoch, so the file is read again from the
 * start and the repeated epochs replace the stored rows. Without a checkpoint (stopped before its
 * first minibatch) the earlier curve is removed and the job starts over. */
static int spawn_pretrain(Sched *s, const StoreRun *r, pid_t *pid_out, char *err, size_t err_sz) {
    char spec_path[PATH_MAX], out_path[PATH_MAX], metrics[PATH_MAX], ckpt[PATH_MAX];
    const char *argv[SCHED_ARGS_MAX];
    int argc = 0, rc;
    snprintf(spec_path, sizeof(spec_path), "%s/" AG_RUN_SUBMITTED, r->run_dir);
    snprintf(out_path, sizeof(out_path), "%s/" AG_RUN_PRETRAIN_SUMMARY, r->run_dir);
    snprintf(metrics, sizeof(metrics), "%s/" AG_RUN_METRICS, r->run_dir);
    snprintf(ckpt, sizeof(ckpt), "%s/" AG_RUN_CHECKPOINTS "/" AG_RUN_CKPT_LAST, r->run_dir);
    int resume = ag_fs_exists(ckpt);
    if ((rc = ag_fs_mkdir_p(r->run_dir, 0700, err, err_sz)) != 0 ||
        (rc = sched_write_spec(s, r->id, r->run_dir, err, err_sz)) != 0) {
        return rc;
    }
    if (access(s->trainer, X_OK) != 0) {
        return ag_errorf(err, err_sz, AG_ENOTFOUND, "trainer %s is not executable", s->trainer);
    }
    if (resume) {
        if ((rc = store_metrics_set_offset(s->store, r->id, 0, err, err_sz)) != 0) {
            return rc;
        }
    } else if (ag_fs_exists(metrics)) {
        if (unlink(metrics) != 0) {
            return ag_errorf(err, err_sz, AG_EIO, "cannot remove %s: %s", metrics, strerror(errno));
        }
        if ((rc = store_metrics_set_offset(s->store, r->id, 0, err, err_sz)) != 0) {
            return rc;
        }
    }
    argv[argc++] = s->trainer;
    argv[argc++] = AG_TRAIN_PRETRAIN;
    argv[argc++] = spec_path;
    argv[argc++] = AG_TRAIN_RUN_DIR;
    argv[argc++] = r->run_dir;
    argv[argc++] = AG_TRAIN_QUIET;
    if (resume) {
        argv[argc++] = AG_TRAIN_RESUME;
    }
    argv[argc] = NULL;
    return sched_spawn_argv(r->run_dir, argv, out_path, pid_out, err, err_sz);
}

/* whether a pretrain job that ended while angorad was away finished: its summary is written
 * only then */
static int pretrain_summary_written(const char *run_dir) {
    char path[PATH_MAX], msg[256];
    json_t *o;
    int ok;
    snprintf(path, sizeof(path), "%s/" AG_RUN_PRETRAIN_SUMMARY, run_dir);
    o = ag_json_load_file(path, 1u << 16, msg, sizeof(msg));
    ok = json_is_integer(json_object_get(o, "epochs"));
    json_decref(o);
    return ok;
}

static int spawn(Sched *s, const StoreRun *r, pid_t *pid_out, char *err, size_t err_sz) {
    char spec_path[PATH_MAX], out_path[PATH_MAX], np[16];
    char ckpt[PATH_MAX], episodes[32], video[PATH_MAX], traj[PATH_MAX];
    const char *argv[SCHED_ARGS_MAX];
    int argc = 0, det = 0, record = 0, rc, resume, evaluate = !strcmp(r->kind, "evaluate");
    rc = ag_fs_mkdir_p(r->run_dir, 0700, err, err_sz);
    if (rc) {
        return rc;
    }
    snprintf(spec_path, sizeof(spec_path), "%s/" AG_RUN_SUBMITTED, r->run_dir);
    snprintf(out_path, sizeof(out_path), "%s/" AG_RUN_EVALUATION AG_RUN_PARTIAL_SUFFIX, r->run_dir);
    if (evaluate) {
        rc = eval_args(s, r, ckpt, sizeof(ckpt), episodes, sizeof(episodes), &det, &record, err,
                       err_sz);
    } else {
        rc = sched_write_spec(s, r->id, r->run_dir, err, err_sz);
    }
    if (rc) {
        return rc;
    }
    if (access(s->trainer, X_OK) != 0) {
        return ag_errorf(err, err_sz, AG_ENOTFOUND, "trainer %s is not executable", s->trainer);
    }
    /* a run that ran before continues from its checkpoint (or starts over without one):
     * angora-train then cuts metrics.jsonl back to the checkpoint, so it is read again from
     * the start and repeated iterations replace the stored ones */
    {
        char ck[PATH_MAX], metrics[PATH_MAX];
        snprintf(ck, sizeof(ck), "%s/" AG_RUN_CHECKPOINTS "/" AG_RUN_CKPT_LAST, r->run_dir);
        snprintf(metrics, sizeof(metrics), "%s/" AG_RUN_METRICS, r->run_dir);
        resume = !evaluate && (ag_fs_exists(ck) || ag_fs_exists(metrics));
        if (resume && (rc = store_metrics_set_offset(s->store, r->id, 0, err, err_sz)) != 0) {
            return rc;
        }
    }
    if (r->ranks > 1) {
        snprintf(np, sizeof(np), "%d", r->ranks);
        argv[argc++] = s->mpirun;
        argv[argc++] = "-np";
        argv[argc++] = np;
        if (geteuid() == 0) {
            argv[argc++] = "--allow-run-as-root";
        }
        if (s->hostfile[0]) {
            argv[argc++] = "--hostfile";
            argv[argc++] = s->hostfile;
        } else {
            argv[argc++] = "--oversubscribe";
        }
        /* one BLAS thread per rank, on every host */
        argv[argc++] = "-x";
        argv[argc++] = "OPENBLAS_NUM_THREADS";
    }
    argv[argc++] = s->trainer;
    if (evaluate) {
        argv[argc++] = AG_TRAIN_EVALUATE;
        argv[argc++] = ckpt;
        argv[argc++] = AG_TRAIN_EPISODES;
        argv[argc++] = episodes;
        if (det) {
            argv[argc++] = AG_TRAIN_DETERMINISTIC;
        }
        if (record) {
            /* angora-train writes both files whole or not at all (FILE.part, then rename) */
            snprintf(video, sizeof(video), "%s/" AG_RUN_EVAL_VIDEO, r->run_dir);
            snprintf(traj, sizeof(traj), "%s/" AG_RUN_EVAL_TRAJECTORY, r->run_dir);
            argv[argc++] = AG_TRAIN_RECORD;
            argv[argc++] = video;
            argv[argc++] = AG_TRAIN_TRAJECTORY;
            argv[argc++] = traj;
        }
    } else {
        argv[argc++] = spec_path;
        argv[argc++] = AG_TRAIN_RUN_DIR;
        argv[argc++] = r->run_dir;
        if (resume) {
            argv[argc++] = AG_TRAIN_RESUME;
        }
    }
    argv[argc] = NULL;
    /* stdout is the log, or the evaluation's result; stderr the log */
    return sched_spawn_argv(r->run_dir, argv, evaluate ? out_path : NULL, pid_out, err, err_sz);
}

int sched_spawn_argv(const char *run_dir, const char *const *argv, const char *out_path, pid_t *pid,
                     char *err, size_t err_sz) {
    char log_path[PATH_MAX];
    int logfd, outfd, rc;
    snprintf(log_path, sizeof(log_path), "%s/" AG_RUN_WORKER_LOG, run_dir);
    logfd = open(log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    outfd = out_path ? open(out_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600) : logfd;
    if (logfd < 0 || outfd < 0) {
        rc = ag_errorf(err, err_sz, AG_EIO, "cannot open %s: %s", logfd < 0 ? log_path : out_path,
                       strerror(errno));
    } else {
        /* own session and process group: signals to angorad (or its death) do not reach it,
         * and cancelling reaches every rank; one BLAS thread per process */
        static const char *const env_set[] = {"OPENBLAS_NUM_THREADS=1", NULL};
        AgSpawn sp = {.argv = argv,
                      .env_set = env_set,
                      .cwd = run_dir,
                      .stdin_fd = -1,
                      .stdout_fd = outfd,
                      .stderr_fd = logfd,
                      .new_session = 1};
        rc = ag_spawn(&sp, pid, err, err_sz);
    }
    if (outfd >= 0 && outfd != logfd) {
        close(outfd);
    }
    if (logfd >= 0) {
        close(logfd);
    }
    return rc;
}

/* a run for the Slurm executor: submitted, recorded with its job id */
static int start_slurm(Sched *s, Slot *slot, const StoreRun *r) {
    char msg[512];
    int rc;
    slot->exec = EXEC_SLURM;
    slot->ranks = r->ranks;
    rc = sched_slurm_submit(s, slot, r, msg, sizeof(msg));
    if (rc == AG_EBUSY) {
        /* the controller did not answer: the run waits in the queue for the next pass */
        slot->used = 0;
        ag_log_warn("experiment %lld: not submitted yet: %s", (long long)r->id, msg);
        return rc;
    }
    if (rc) {
        slot->used = 0;
        sched_event(s, r->id, "failed", "cannot submit to Slurm: %s", msg);
        sched_set_state(s, r->id, "failed", msg);
        return rc;
    }
    rc = store_run_submitted(s->store, r->id, slot->job, r->attempts, msg, sizeof(msg));
    if (rc) {
        /* the run was deleted or changed under us: the job must not run unwatched */
        slot->used = 0;
        sched_slurm_cancel(s, slot->job);
        ag_log_warn("experiment %lld: %s", (long long)r->id, msg);
        return rc;
    }
    sched_event(s, r->id, "submitted", "Slurm job %s, %d rank(s), attempt %d", slot->job, r->ranks,
                r->attempts + 1);
    if (s->hook) {
        s->hook(s->hook_ctx, r->id, "running", "PENDING");
    }
    return 0;
}

static int start_run(Sched *s, const StoreRun *r) {
    char msg[512];
    pid_t pid = 0;
    long long start;
    Slot *slot = sched_slot_new(s);
    int rc;
    if (!slot) {
        return AG_EBUSY;
    }
    slot->kind = sched_slot_kind(r->kind);
    slot->id = r->id;
    if (!strcmp(r->executor, "slurm") && slot->kind == SLOT_TRAIN) {
        return start_slurm(s, slot, r);
    }
    if (slot->kind == SLOT_ANALYSIS) {
        rc = sched_job_spawn(s, slot, r, msg, sizeof(msg));
        pid = slot->pid;
    } else if (slot->kind == SLOT_PRETRAIN) {
        rc = spawn_pretrain(s, r, &pid, msg, sizeof(msg));
    } else {
        rc = spawn(s, r, &pid, msg, sizeof(msg));
    }
    if (rc) {
        slot->used = 0;
        sched_event(s, r->id, "failed", "cannot start: %s", msg);
        sched_set_state(s, r->id, "failed", msg);
        return rc;
    }
    start = sched_proc_start_time(pid);
    slot->pid = pid;
    slot->start = start;
    slot->ranks = r->ranks;
    rc = store_run_started(s->store, r->id, (int)pid, start, r->attempts, msg, sizeof(msg));
    if (rc) {
        /* the run was cancelled, paused or deleted while its worker started: stop the worker
         * again and forget it, leaving the state the request set */
        kill(-pid, SIGKILL);
        while (waitpid(pid, NULL, 0) < 0 && errno == EINTR) {
        }
        slot->used = 0;
        ag_log_warn("experiment %lld: %s", (long long)r->id, msg);
        return rc;
    }
    sched_event(s, r->id, "started", "pid %d, %d rank(s), attempt %d", (int)pid, r->ranks,
                r->attempts + 1);
    if (s->hook) {
        s->hook(s->hook_ctx, r->id, "running", NULL);
    }
    if (slot->kind == SLOT_ANALYSIS) {
        sched_job_started(s, slot);
    }
    return 0;
}

/* ---- outcomes ---- */

/* what status.json says about a finished run: 1 success, 0 otherwise */
static int status_file_succeeded(const char *run_dir) {
    char path[PATH_MAX], msg[256];
    json_t *o;
    const char *st;
    int ok = 0;
    snprintf(path, sizeof(path), "%s/" AG_RUN_STATUS, run_dir);
    o = ag_json_load_file(path, 1u << 20, msg, sizeof(msg));
    if (!o) {
        return 0;
    }
    st = json_string_value(json_object_get(o, "state"));
    if (!st) {
        st = json_string_value(json_object_get(o, "status"));
    }
    if (st && (!strcmp(st, "succeeded") || !strcmp(st, "done") || !strcmp(st, "finished") ||
               !strcmp(st, "completed") || !strcmp(st, "stopped"))) {
        ok = 1;
    }
    json_decref(o);
    return ok;
}

void sched_describe_status(int status, int known, char *out, size_t out_sz) {
    if (!known) {
        snprintf(out, out_sz, "the worker died while angorad was away");
    } else if (WIFEXITED(status)) {
        snprintf(out, out_sz, "exit code %d", WEXITSTATUS(status));
    } else if (WIFSIGNALED(status)) {
        snprintf(out, out_sz, "killed by signal %d (%s)", WTERMSIG(status),
                 strsignal(WTERMSIG(status)));
    } else {
        snprintf(out, out_sz, "status %d", status);
    }
}

/* the message of the run directory's error file, when the worker wrote one (1 or 0) */
static int error_file_message(const char *run_dir, char *out, size_t out_sz) {
    char path[PATH_MAX], msg[256];
    json_t *o;
    const char *m;
    int ok = 0;
    snprintf(path, sizeof(path), "%s/" AG_RUN_ERROR, run_dir);
    o = ag_json_load_file(path, 1u << 16, msg, sizeof(msg));
    m = o ? json_string_value(json_object_get(o, "message")) : NULL;
    if (m && *m) {
        snprintf(out, out_sz, "%s", m);
        ok = 1;
    }
    json_decref(o);
    return ok;
}

/* a worker that ended badly: bad input (AG_EXIT_USAGE) or a program that cannot run fails the
 * experiment at once, with the worker's own message when it left one; anything else is
 * retried from retry_from */
static void run_failed(Sched *s, int64_t id, const char *run_dir, int code, const char *why,
                       const char *retry_from) {
    char reason[512];
    if ((code == AG_EXIT_USAGE || code == AG_EXIT_ERROR) &&
        error_file_message(run_dir, reason, sizeof(reason))) {
        why = reason;
    }
    if (code == AG_EXIT_USAGE || code == AG_SPAWN_EXEC_FAILED) {
        char msg[512];
        int attempts = 0;
        if (store_run_add_attempt(s->store, id, &attempts, msg, sizeof(msg)) != 0) {
            ag_log_warn("experiment %lld: %s", (long long)id, msg);
        }
        sched_event(s, id, "failed", "%s", why);
        sched_set_state(s, id, "failed", why);
        return;
    }
    sched_run_crashed(s, id, why, retry_from);
}

void sched_run_crashed(Sched *s, int64_t id, const char *why, const char *retry_from) {
    char msg[512], reason[600];
    int attempts = 0;
    if (store_run_add_attempt(s->store, id, &attempts, msg, sizeof(msg)) != 0) {
        ag_log_warn("experiment %lld: %s", (long long)id, msg);
        return;
    }
    if (attempts >= s->cfg.max_attempts) {
        snprintf(reason, sizeof(reason), "%s (attempt %d of %d); giving up", why, attempts,
                 s->cfg.max_attempts);
        sched_event(s, id, "failed", "%s", reason);
        sched_set_state(s, id, "failed", reason);
        return;
    }
    snprintf(reason, sizeof(reason), "%s (attempt %d of %d); retrying from %s", why, attempts,
             s->cfg.max_attempts, retry_from);
    sched_event(s, id, "retry", "%s", reason);
    sched_set_state(s, id, "queued", reason);
}

void sched_run_requeue(Sched *s, int64_t id, SlotKind kind, const char *run_dir, const char *event,
                       const char *why) {
    char from[PATH_MAX];
    sched_resume_point(kind, run_dir, from, sizeof(from));
    sched_event(s, id, event, "%s; resuming from %s", why, from);
    sched_set_state(s, id, "queued", NULL);
}

void sched_describe_interrupted(const Sched *s, int with_daemon, int known, char *out,
                                size_t out_sz) {
    const StoreLife *prev = &s->previous;
    char when[40];
    if (with_daemon) {
        snprintf(out, out_sz, "stopped with angorad's previous life (pid %d, last seen alive %s)",
                 prev->pid, ag_time_iso8601(prev->alive_at, when, (int)sizeof(when)));
    } else if (known) {
        snprintf(out, out_sz,
                 "exit code %d: stopped by a signal angorad did not send, after its "
                 "checkpoint",
                 AG_EXIT_INTERRUPTED);
    } else {
        snprintf(out, out_sz, "stopped by a signal while angorad was away, after its checkpoint");
    }
}

void sched_run_ended(Sched *s, Slot *slot, int status, int known) {
    StoreRun r;
    char msg[512], why[256];
    int64_t id = slot->id;
    int code = known && WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    int shutdown = slot->shutdown;
    int evaluate = slot->kind == SLOT_EVALUATE;
    int interrupted;
    SlotKind slot_kind = slot->kind;
    if (slot->kind == SLOT_ANALYSIS) {
        sched_job_ended(s, slot, status, known);
        return;
    }
    slot->used = 0;
    if (store_run_get(s->store, id, &r, msg, sizeof(msg)) != 0) {
        ag_log_info("experiment %lld ended after it was removed", (long long)id);
        return;
    }
    /* everything it wrote is stored before the state changes */
    sched_drain(s, id, r.run_dir);
    sched_describe_status(status, known, why, sizeof(why));
    if (!known) {
        code = sched_files_exit(s, id, r.run_dir);
    }
    /* stopped from outside, not failed: the daemon's previous life ended with it (and it showed
     * no exit of its own), or it exited 3 on a signal the daemon did not send */
    interrupted = (slot->with_daemon && code < 0) || code == AG_EXIT_INTERRUPTED;
    if (evaluate) {
        char tmp[PATH_MAX], fin[PATH_MAX];
        snprintf(tmp, sizeof(tmp), "%s/" AG_RUN_EVALUATION AG_RUN_PARTIAL_SUFFIX, r.run_dir);
        snprintf(fin, sizeof(fin), "%s/" AG_RUN_EVALUATION, r.run_dir);
        if (code == 0 && rename(tmp, fin) == 0) {
            sched_event(s, id, "succeeded", "evaluation written");
            sched_set_state(s, id, "succeeded", NULL);
        } else if (!strcmp(r.request, "cancel")) {
            sched_set_state(s, id, "cancelled", "cancelled by request");
        } else if (shutdown) {
            sched_run_requeue(s, id, slot_kind, r.run_dir, "requeued",
                              "stopped for the daemon's shutdown");
        } else if (interrupted) {
            sched_describe_interrupted(s, slot->with_daemon && code < 0, known, why, sizeof(why));
            sched_run_requeue(s, id, slot_kind, r.run_dir, "interrupted", why);
        } else {
            run_failed(s, id, r.run_dir, code, why, "the last checkpoint");
        }
        return;
    }
    if (!strcmp(r.request, "cancel")) {
        sched_event(s, id, "cancelled", "%s", why);
        sched_set_state(s, id, "cancelled", "cancelled by request");
    } else if (code == 0 ||
               (!known && (slot_kind == SLOT_PRETRAIN ? pretrain_summary_written(r.run_dir)
                                                      : status_file_succeeded(r.run_dir)))) {
        sched_event(s, id, "succeeded", "%s", known ? why : "finished while angorad was away");
        sched_set_state(s, id, "succeeded", NULL);
    } else if (!strcmp(r.request, "pause")) {
        sched_event(s, id, "paused", "%s", why);
        sched_set_state(s, id, "paused", NULL);
    } else if (shutdown) {
        char stop[300];
        snprintf(stop, sizeof(stop), "stopped for the daemon's shutdown (%s)", why);
        sched_run_requeue(s, id, slot_kind, r.run_dir, "requeued", stop);
    } else if (interrupted) {
        sched_describe_interrupted(s, slot->with_daemon && code < 0, known, why, sizeof(why));
        sched_run_requeue(s, id, slot_kind, r.run_dir, "interrupted", why);
    } else {
        run_failed(s, id, r.run_dir, code, why, "the last checkpoint");
    }
}

/* ---- the pass ---- */

static void reap(Sched *s) {
    for (int i = 0; i < SCHED_SLOTS_MAX; i++) {
        Slot *slot = &s->slots[i];
        int status = 0;
        if (!slot->used) {
            continue;
        }
        if (slot->exec == EXEC_SLURM) {
            sched_slurm_watch(s, slot);
        } else if (!slot->adopted) {
            pid_t w = waitpid(slot->pid, &status, WNOHANG);
            if (w == slot->pid) {
                sched_run_ended(s, slot, status, 1);
            } else if (w < 0 && errno == ECHILD) {
                sched_run_ended(s, slot, 0, 0);
            }
        } else if (sched_proc_start_time(slot->pid) != slot->start) {
            sched_adopted_gone(s, slot);
            sched_run_ended(s, slot, 0, 0);
        }
    }
}

/* SIGTERM to a local run. A run of several ranks gets it at its ranks, not at mpirun: mpirun
 * answers a SIGTERM by killing its ranks (SIGTERM, then SIGKILL odls_base_sigkill_timeout later,
 * 1 s by default), too soon for a rank to finish its iteration and write its checkpoint; and the
 * ranks sit in process groups of their own, so only their session reaches them. Once they have
 * exited, mpirun exits with their status. Before the ranks exist, mpirun itself is told. */
static void sched_local_term(const Slot *slot) {
    if (slot->ranks > 1 && ag_spawn_signal_session(slot->pid, SIGTERM, slot->pid) > 0) {
        return;
    }
    kill(-slot->pid, SIGTERM);
}

static void act_on_requests(Sched *s) {
    double now = ag_time_now();
    for (int i = 0; i < SCHED_SLOTS_MAX; i++) {
        Slot *slot = &s->slots[i];
        StoreRun r;
        char msg[512];
        if (!slot->used || slot->exec == EXEC_SLURM) {
            continue;
        }
        if (!slot->term_at) {
            if (store_run_get(s->store, slot->id, &r, msg, sizeof(msg)) != 0) {
                /* deleted while running cannot happen (only finished ones); be safe */
                r.request[0] = 'c';
                r.request[1] = '\0';
            }
            if (!r.request[0]) {
                continue;
            }
            /* SIGTERM asks angora-train to checkpoint and exit */
            sched_local_term(slot);
            slot->term_at = now;
            ag_log_info("experiment %lld: %s requested; SIGTERM to group %d", (long long)slot->id,
                        r.request, (int)slot->pid);
        } else if (!slot->killed && now - slot->term_at > s->cfg.grace_s) {
            kill(-slot->pid, SIGKILL);
            ag_spawn_signal_session(slot->pid, SIGKILL, 0);
            slot->killed = 1;
            sched_event(s, slot->id, "killed", "no exit %.1f s after SIGTERM; SIGKILL",
                        s->cfg.grace_s);
        }
    }
}

/* the slots whose workers write metric lines */
static int slot_writes_metrics(const Slot *slot) {
    return slot->used && (slot->kind == SLOT_TRAIN || slot->kind == SLOT_PRETRAIN);
}

static void ingest_live(Sched *s) {
    for (int i = 0; i < SCHED_SLOTS_MAX; i++) {
        StoreRun r;
        char msg[512];
        if (!slot_writes_metrics(&s->slots[i])) {
            continue;
        }
        if (store_run_get(s->store, s->slots[i].id, &r, msg, sizeof(msg)) == 0) {
            sched_drain(s, r.id, r.run_dir);
        }
    }
}

static void start_queued(Sched *s) {
    int n = 0, free_cores = s->cfg.max_cores - sched_cores_used(s);
    char msg[512];
    if (store_runs_in_state(s->store, "queued", s->queue, SCHED_SLOTS_MAX, &n, msg, sizeof(msg)) !=
        0) {
        ag_log_warn("scheduler: %s", msg);
        return;
    }
    for (int i = 0; i < n; i++) {
        const StoreRun *r = &s->queue[i];
        if (!strcmp(r->executor, "slurm") && sched_slot_kind(r->kind) == SLOT_TRAIN) {
            /* Slurm finds the cores; a submission failure fails only this run */
            if (start_run(s, r) == AG_EBUSY) {
                break;
            }
            continue;
        }
        if (r->ranks > s->cfg.max_cores) {
            char why[128];
            snprintf(why, sizeof(why), "needs %d cores; this daemon has %d", r->ranks,
                     s->cfg.max_cores);
            sched_event(s, r->id, "failed", "%s", why);
            sched_set_state(s, r->id, "failed", why);
            continue;
        }
        /* strict order: a big run at the head is not overtaken (it would starve) */
        if (r->ranks > free_cores) {
            break;
        }
        if (start_run(s, r) == 0) {
            free_cores -= r->ranks;
        }
    }
}

void sched_watch(Sched *s) {
    reap(s);
    act_on_requests(s);
}

void sched_ingest(Sched *s) {
    ingest_live(s);
}

int sched_metric_dirs(Sched *s, char (*dirs)[PATH_MAX], int max) {
    int n = 0;
    for (int i = 0; i < SCHED_SLOTS_MAX && n < max; i++) {
        StoreRun r;
        char msg[512];
        if (slot_writes_metrics(&s->slots[i]) &&
            store_run_get(s->store, s->slots[i].id, &r, msg, sizeof(msg)) == 0 && r.run_dir[0]) {
            snprintf(dirs[n++], PATH_MAX, "%s", r.run_dir);
        }
    }
    return n;
}

/* runs whose roll-up is behind (a database of an earlier version, a rewind) are rolled up from
 * their rows a little at a time, so the loop stays responsive */
void sched_rollup(Sched *s) {
    int64_t rows = 0;
    char msg[512];
    if (store_metrics_rollup_catchup(s->store, SCHED_ROLLUP_BUDGET_S, &rows, msg, sizeof(msg))) {
        ag_log_warn("roll-up: %s", msg);
    } else if (rows > 0) {
        ag_log_debug("roll-up: %lld row(s) of earlier runs", (long long)rows);
    }
    /* finished buckets packed 64 to a row, so that series read few rows */
    if (store_metrics_rollup_pack(s->store, SCHED_ROLLUP_BUDGET_S, &rows, msg, sizeof(msg))) {
        ag_log_warn("roll-up packs: %s", msg);
    } else if (rows > 0) {
        ag_log_debug("roll-up: %lld pack(s) of finished buckets", (long long)rows);
    }
    /* an ended run's last rows (fewer than a chunk) are sealed too */
    if (store_metrics_seal_finished(s->store, SCHED_ROLLUP_BUDGET_S, &rows, msg, sizeof(msg))) {
        ag_log_warn("sealing ended runs: %s", msg);
    } else if (rows > 0) {
        ag_log_debug("sealed the rows of %lld ended run(s)", (long long)rows);
    }
}

void sched_start_queued(Sched *s) {
    start_queued(s);
}

int sched_tick(Sched *s) {
    sched_watch(s);
    sched_ingest(s);
    sched_start_queued(s);
    return 0;
}

int sched_checkpoint_all(Sched *s, double timeout_s) {
    double t0 = ag_time_now();
    /* Slurm jobs go on without the daemon and are adopted again at its next start */
    for (int i = 0; i < SCHED_SLOTS_MAX; i++) {
        if (s->slots[i].used && s->slots[i].exec == EXEC_LOCAL) {
            s->slots[i].shutdown = 1;
            sched_local_term(&s->slots[i]);
        }
    }
    while (sched_cores_used(s) > 0 && ag_time_now() - t0 < timeout_s) {
        reap(s);
        ag_time_sleep(0.05);
    }
    return sched_cores_used(s) ? AG_ETIMEOUT : 0;
}
