/* The Slurm executor of angorad's scheduler: each attempt of a run is a batch job (script in the
 * run directory, sbatch --parsable), followed by its job id with scontrol and, once the
 * controller has forgotten it, sacct (accounting, then the job completion log). Cancel is
 * scancel; pause is scancel -b -s TERM (the trainer checkpoints and exits "interrupted"); a job
 * that Slurm requeues goes on from its checkpoint and its metrics are read again from the start,
 * so repeated iterations replace the stored ones.
 *
 * DESIGN
 * - Slurm's commands run as child programs with a deadline; their output is read whole. A
 *   controller that does not answer changes nothing: a queued run stays queued, a running one
 *   keeps its state until Slurm says otherwise.
 * - A job that ended NODE_FAIL or PREEMPTED may still be requeued by Slurm a moment later; the
 *   scheduler waits SLURM_LOST_SETTLE_S before it retries the run itself.
 * - The job's exit code goes to sched_run_ended as a wait status, so success, pause, cancel and
 *   failure mean what they mean for local runs; TIMEOUT is "time limit" and never retried. */
#include "sched_int.h"

#include "ag_error.h"
#include "ag_fs.h"
#include "ag_log.h"
#include "ag_rundir.h"
#include "ag_spawn.h"
#include "ag_time.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define SLURM_OUTPUT_MAX    (64 * 1024)
#define SLURM_COMMAND_S     30.0
#define SLURM_LOST_SETTLE_S 5.0
#define SLURM_SCRIPT_MAX    (32 * 1024)

/* the path of one of Slurm's programs: in slurm_bin when configured, else searched in PATH (a
 * path too long is cut, and exec then says it is not there) */
static void slurm_program(const Sched *s, const char *name, char *out, size_t out_sz) {
    int n = s->slurm_bin[0] ? snprintf(out, out_sz, "%s/%s", s->slurm_bin, name)
                            : snprintf(out, out_sz, "%s", name);
    if (n < 0 || (size_t)n >= out_sz) {
        ag_log_warn("the path of %s in %s is too long", name, s->slurm_bin);
    }
}

/* runs argv, its stdout and stderr into out (NUL-terminated, cut at out_sz - 1), within
 * SLURM_COMMAND_S; *exit_code is the exit code (-1 when killed or not started) */
static int slurm_command(const char *const *argv, char *out, size_t out_sz, int *exit_code,
                         char *err, size_t err_sz) {
    int fds[2], rc, status = 0;
    size_t len = 0;
    pid_t pid;
    double t0 = ag_time_now();
    out[0] = '\0';
    *exit_code = -1;
    if (pipe2(fds, O_CLOEXEC) != 0) {
        return ag_errorf(err, err_sz, AG_EIO, "pipe: %s", strerror(errno));
    }
    AgSpawn sp = {
        .argv = argv, .stdin_fd = -1, .stdout_fd = fds[1], .stderr_fd = fds[1], .new_session = 1};
    rc = ag_spawn(&sp, &pid, err, err_sz);
    close(fds[1]);
    if (rc) {
        close(fds[0]);
        return rc;
    }
    for (;;) {
        struct pollfd pfd = {.fd = fds[0], .events = POLLIN};
        double left = SLURM_COMMAND_S - (ag_time_now() - t0);
        char buf[4096];
        ssize_t n;
        if (left <= 0) {
            kill(-pid, SIGKILL);
            break;
        }
        if (poll(&pfd, 1, (int)(left * 1000) + 1) < 0 && errno != EINTR) {
            break;
        }
        n = read(fds[0], buf, sizeof buf);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            break;
        }
        /* keep what fits, read on so the program never blocks on a full pipe */
        if (len + 1 < out_sz) {
            size_t take = (size_t)n < out_sz - 1 - len ? (size_t)n : out_sz - 1 - len;
            memcpy(out + len, buf, take);
            len += take;
            out[len] = '\0';
        }
    }
    close(fds[0]);
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    if (WIFEXITED(status)) {
        *exit_code = WEXITSTATUS(status);
    }
    if (*exit_code < 0) {
        return ag_errorf(err, err_sz, AG_ETIMEOUT, "%s did not answer within %.0f s", argv[0],
                         SLURM_COMMAND_S);
    }
    return AG_OK;
}

/* the last non-empty line of a program's output, for a message */
static void last_line(const char *text, char *out, size_t out_sz) {
    size_t end = strlen(text), start;
    while (end > 0 && (text[end - 1] == '\n' || text[end - 1] == ' ' || text[end - 1] == '\r')) {
        end--;
    }
    start = end;
    while (start > 0 && text[start - 1] != '\n') {
        start--;
    }
    snprintf(out, out_sz, "%.*s", (int)(end - start), text + start);
}

/* what the controller says when it cannot be reached (as opposed to refusing the job) */
static int slurm_unreachable(const char *text) {
    return strstr(text, "Unable to contact slurm controller") || strstr(text, "Socket timed out") ||
           strstr(text, "Connection refused") || strstr(text, "Zero Bytes were transmitted");
}

/* the executor of run id: the configuration's defaults under the spec's own settings */
static int slurm_executor(Sched *s, int64_t id, AgExecutor *x, char *err, size_t err_sz) {
    json_t *o = NULL;
    AgExecutor spec;
    AgJsonErr je = {0};
    int rc = store_exp_get_json(s->store, id, &o, err, err_sz);
    if (rc) {
        return rc;
    }
    rc = ag_executor_parse(json_object_get(json_object_get(o, "spec"), "executor"), "executor",
                           &spec, &je);
    json_decref(o);
    if (rc) {
        char msg[300];
        ag_json_err_format(&je, msg, sizeof msg);
        return ag_errorf(err, err_sz, AG_ESPEC, "stored spec: %s", msg);
    }
    *x = s->slurm_defaults;
    if (spec.kind != AG_EXECUTOR_SLURM) {
        return AG_OK;
    }
    if (spec.partition[0]) {
        snprintf(x->partition, sizeof x->partition, "%s", spec.partition);
    }
    if (spec.account[0]) {
        snprintf(x->account, sizeof x->account, "%s", spec.account);
    }
    if (spec.time_limit[0]) {
        snprintf(x->time_limit, sizeof x->time_limit, "%s", spec.time_limit);
    }
    snprintf(x->mem, sizeof x->mem, "%s", spec.mem);
    x->nodes = spec.nodes;
    x->cpus_per_task = spec.cpus_per_task;
    x->num_extra = spec.num_extra;
    memcpy(x->extra, spec.extra, sizeof x->extra);
    return AG_OK;
}

/* the attempt's batch script, mode 0700, in the run directory */
static int slurm_write_script(Sched *s, const StoreRun *r, char *path, size_t path_sz, char *err,
                              size_t err_sz) {
    char srun[PATH_MAX], scancel[PATH_MAX], *text = malloc(SLURM_SCRIPT_MAX);
    SlurmScript sc = {.id = r->id,
                      .attempt = r->attempts + 1,
                      .run_dir = r->run_dir,
                      .trainer = s->trainer,
                      .ranks = r->ranks,
                      .srun = srun,
                      .scancel = scancel,
                      .mpi = s->slurm_mpi};
    int fd, rc;
    if (!text) {
        return ag_errorf(err, err_sz, AG_ENOMEM, "out of memory");
    }
    slurm_program(s, "srun", srun, sizeof srun);
    slurm_program(s, "scancel", scancel, sizeof scancel);
    snprintf(path, path_sz, "%s/slurm-%d.sh", r->run_dir, r->attempts + 1);
    rc = slurm_script_text(&sc, text, SLURM_SCRIPT_MAX, err, err_sz);
    if (rc == 0) {
        /* a script left by an earlier daemon is replaced, never trusted */
        unlink(path);
        fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0700);
        if (fd < 0 || fchmod(fd, 0700) != 0 ||
            write(fd, text, strlen(text)) != (ssize_t)strlen(text)) {
            rc = ag_errorf(err, err_sz, AG_EIO, "cannot write %s: %s", path, strerror(errno));
        }
        if (fd >= 0 && close(fd) != 0 && rc == 0) {
            rc = ag_errorf(err, err_sz, AG_EIO, "cannot write %s: %s", path, strerror(errno));
        }
    }
    free(text);
    return rc;
}

int sched_slurm_submit(Sched *s, Slot *slot, const StoreRun *r, char *err, size_t err_sz) {
    char script[PATH_MAX], sbatch[PATH_MAX], ck[PATH_MAX], metrics[PATH_MAX], msg[512];
    char *out = NULL;
    AgExecutor x;
    SlurmSbatch b;
    int rc, code = -1;
    if ((rc = ag_fs_mkdir_p(r->run_dir, 0700, err, err_sz)) != 0 ||
        (rc = sched_write_spec(s, r->id, r->run_dir, err, err_sz)) != 0 ||
        (rc = slurm_executor(s, r->id, &x, err, err_sz)) != 0) {
        return rc;
    }
    if (access(s->trainer, X_OK) != 0) {
        return ag_errorf(err, err_sz, AG_ENOTFOUND, "trainer %s is not executable", s->trainer);
    }
    /* a run that ran before: the trainer cuts metrics.jsonl back to its checkpoint, which is
     * then read again from the start (as for local runs) */
    snprintf(ck, sizeof ck, "%s/" AG_RUN_CHECKPOINTS "/" AG_RUN_CKPT_LAST, r->run_dir);
    snprintf(metrics, sizeof metrics, "%s/" AG_RUN_METRICS, r->run_dir);
    if ((ag_fs_exists(ck) || ag_fs_exists(metrics)) &&
        (rc = store_metrics_set_offset(s->store, r->id, 0, err, err_sz)) != 0) {
        return rc;
    }
    if ((rc = slurm_write_script(s, r, script, sizeof script, err, err_sz)) != 0) {
        return rc;
    }
    slurm_program(s, "sbatch", sbatch, sizeof sbatch);
    if ((rc = slurm_sbatch_argv(&b, sbatch, &x, r->ranks, r->id, r->run_dir, script, err,
                                err_sz)) != 0) {
        return rc;
    }
    out = malloc(SLURM_OUTPUT_MAX);
    if (!out) {
        return ag_errorf(err, err_sz, AG_ENOMEM, "out of memory");
    }
    rc = slurm_command(b.argv, out, SLURM_OUTPUT_MAX, &code, err, err_sz);
    if (rc == AG_OK && code != 0) {
        last_line(out, msg, sizeof msg);
        if (code == AG_SPAWN_EXEC_FAILED) {
            rc = ag_errorf(err, err_sz, AG_ENOTFOUND, "%s", msg[0] ? msg : "sbatch not found");
        } else {
            rc = ag_errorf(err, err_sz, slurm_unreachable(out) ? AG_EBUSY : AG_ECHILD,
                           "sbatch failed: %s", msg[0] ? msg : "no message");
        }
    } else if (rc == AG_ETIMEOUT) {
        rc = AG_EBUSY;
    } else if (rc == AG_OK && slurm_parse_job_id(out, slot->job, sizeof slot->job) != 0) {
        last_line(out, msg, sizeof msg);
        rc = ag_errorf(err, err_sz, AG_EFORMAT, "sbatch printed no job id: %s", msg);
    }
    free(out);
    if (rc == AG_OK) {
        slot->restarts = 0;
        slot->polled_at = 0;
        snprintf(slot->slurm_state, sizeof slot->slurm_state, "PENDING");
    }
    return rc;
}

/* scancel with options before the job id (NULL-terminated, may be empty) */
static void slurm_scancel(Sched *s, const char *job, const char *opt1, const char *opt2) {
    char prog[PATH_MAX], out[1024], msg[512];
    const char *argv[6];
    int argc = 0, code = -1;
    slurm_program(s, "scancel", prog, sizeof prog);
    argv[argc++] = prog;
    if (opt1) {
        argv[argc++] = opt1;
    }
    if (opt2) {
        argv[argc++] = opt2;
    }
    argv[argc++] = job;
    argv[argc] = NULL;
    if (slurm_command(argv, out, sizeof out, &code, msg, sizeof msg) != 0 || code != 0) {
        last_line(out, msg + strlen(msg), sizeof msg - strlen(msg));
        ag_log_warn("scancel %s%s%s %s: %s", opt1 ? opt1 : "", opt2 ? " " : "", opt2 ? opt2 : "",
                    job, msg);
    }
}

void sched_slurm_cancel(Sched *s, const char *job) {
    slurm_scancel(s, job, NULL, NULL);
}

/* what Slurm knows of the job: 0 with info, AG_ENOTFOUND when no source knows it, another error
 * when the controller could not be asked (decide nothing then) */
static int slurm_query(Sched *s, const char *job, SlurmJobInfo *info) {
    char prog[PATH_MAX], msg[256], *out = malloc(SLURM_OUTPUT_MAX);
    int code = -1, rc;
    if (!out) {
        return AG_ENOMEM;
    }
    slurm_program(s, "scontrol", prog, sizeof prog);
    {
        const char *argv[] = {prog, "show", "job", "-o", job, NULL};
        rc = slurm_command(argv, out, SLURM_OUTPUT_MAX, &code, msg, sizeof msg);
    }
    if (rc == 0 && code == 0 && slurm_parse_scontrol(out, info) == 0) {
        goto out;
    }
    if (rc != 0 || !strstr(out, "Invalid job id")) {
        ag_log_warn("scontrol show job %s: %s", job, rc ? msg : out);
        rc = rc ? rc : AG_EBUSY;
        goto out;
    }
    /* gone from the controller's memory: accounting, then the job completion log */
    slurm_program(s, "sacct", prog, sizeof prog);
    for (int completion = 0; completion < 2; completion++) {
        const char *argv[] = {
            prog, "-n", "-P", "-o", "jobid,state,exitcode", "-j", job, completion ? "-c" : NULL,
            NULL};
        if (slurm_command(argv, out, SLURM_OUTPUT_MAX, &code, msg, sizeof msg) == 0 && code == 0 &&
            slurm_parse_sacct(out, job, info) == 0) {
            rc = AG_OK;
            goto out;
        }
    }
    rc = AG_ENOTFOUND;
out:
    free(out);
    return rc;
}

/* what Slurm said is stored when it changed; a requeue rewinds ingestion */
static void slurm_seen(Sched *s, Slot *slot, const SlurmJobInfo *info) {
    char msg[256];
    if (info->restarts > slot->restarts) {
        sched_event(s, slot->id, "requeued",
                    "Slurm requeued job %s (restart %d); it goes on from its last checkpoint",
                    slot->job, info->restarts);
        if (store_metrics_set_offset(s->store, slot->id, 0, msg, sizeof msg) != 0) {
            ag_log_warn("experiment %lld: %s", (long long)slot->id, msg);
        }
    }
    if (strcmp(info->state, slot->slurm_state) || strcmp(info->reason, slot->slurm_reason) ||
        strcmp(info->nodes, slot->slurm_nodes) || info->restarts != slot->restarts) {
        if (!strcmp(info->state, "RUNNING") && strcmp(slot->slurm_state, "RUNNING")) {
            sched_event(s, slot->id, "slurm", "job %s running on %s", slot->job,
                        info->nodes[0] ? info->nodes : "?");
        }
        if (store_run_slurm_seen(s->store, slot->id, info->state, info->reason, info->nodes,
                                 info->restarts, msg, sizeof msg) != 0) {
            ag_log_warn("experiment %lld: %s", (long long)slot->id, msg);
        }
        if (s->hook && strcmp(info->state, slot->slurm_state)) {
            s->hook(s->hook_ctx, slot->id, "running", info->state);
        }
    }
    snprintf(slot->slurm_state, sizeof slot->slurm_state, "%s", info->state);
    snprintf(slot->slurm_reason, sizeof slot->slurm_reason, "%s", info->reason);
    snprintf(slot->slurm_nodes, sizeof slot->slurm_nodes, "%s", info->nodes);
    slot->restarts = info->restarts;
}

/* the job ended: its outcome onto the experiment */
static void slurm_ended(Sched *s, Slot *slot, const StoreRun *r, const SlurmJobInfo *info,
                        SlurmOutcome outcome) {
    char why[512];
    int status = info->exit_signal ? (info->exit_signal & 0x7f) : ((info->exit_code & 0xff) << 8);
    if (!strcmp(r->request, "pause") && outcome != SLURM_EXITED) {
        /* cancelled while pending, or its ranks stopped by srun: its exit code says nothing,
         * and the checkpoint (if any) is where it goes on from */
        slot->used = 0;
        sched_drain(s, r->id, r->run_dir);
        sched_event(s, r->id, "paused", "Slurm job %s ended %s", slot->job, info->state);
        sched_set_state(s, r->id, "paused", NULL);
        return;
    }
    if (outcome == SLURM_EXITED || r->request[0]) {
        /* an exit code (or a request to stop) decides as it does for local runs */
        sched_run_ended(s, slot, status, 1);
        return;
    }
    slot->used = 0;
    sched_drain(s, r->id, r->run_dir);
    if (outcome == SLURM_TIMEOUT) {
        snprintf(why, sizeof why, "time limit: Slurm job %s was stopped at its time limit (%s)",
                 slot->job, info->state);
        sched_event(s, r->id, "failed", "%s", why);
        sched_set_state(s, r->id, "failed", why);
    } else if (outcome == SLURM_CANCELLED) {
        snprintf(why, sizeof why, "Slurm job %s was cancelled outside angorad", slot->job);
        sched_event(s, r->id, "cancelled", "%s", why);
        sched_set_state(s, r->id, "cancelled", why);
    } else {
        snprintf(why, sizeof why, "Slurm job %s ended %s%s%s", slot->job, info->state,
                 info->reason[0] ? ": " : "", info->reason);
        sched_run_crashed(s, r->id, why, "the last checkpoint");
    }
}

/* a cancel or pause request: scancel once, then the whole job after the grace period */
static void slurm_request(Sched *s, Slot *slot, const StoreRun *r) {
    double now = ag_time_now();
    if (!slot->term_at) {
        slot->term_at = now;
        if (!strcmp(r->request, "pause") && !strcmp(slot->slurm_state, "RUNNING")) {
            /* TERM to the batch shell, that is the trainer: it checkpoints and exits */
            slurm_scancel(s, slot->job, "-b", "--signal=TERM");
        } else {
            slurm_scancel(s, slot->job, NULL, NULL);
        }
        sched_event(s, slot->id, r->request, "%s requested; scancel of Slurm job %s", r->request,
                    slot->job);
        slot->polled_at = 0; /* ask Slurm at once */
    } else if (!slot->killed && now - slot->term_at > s->cfg.grace_s) {
        slot->killed = 1;
        slurm_scancel(s, slot->job, NULL, NULL);
        sched_event(s, slot->id, "killed", "Slurm job %s still there %.1f s after TERM; scancel",
                    slot->job, s->cfg.grace_s);
    }
}

void sched_slurm_watch(Sched *s, Slot *slot) {
    StoreRun r;
    SlurmJobInfo info;
    SlurmOutcome outcome;
    char msg[512];
    double now = ag_time_now();
    int rc;
    if (store_run_get(s->store, slot->id, &r, msg, sizeof msg) != 0) {
        /* removed under us (cannot happen to a running run): nothing may run unwatched */
        sched_slurm_cancel(s, slot->job);
        slot->used = 0;
        return;
    }
    if (r.request[0]) {
        slurm_request(s, slot, &r);
    }
    if (slot->polled_at && now - slot->polled_at < s->cfg.slurm_poll_s) {
        return;
    }
    slot->polled_at = now;
    rc = slurm_query(s, slot->job, &info);
    if (rc == AG_ENOTFOUND) {
        /* no record anywhere (no accounting, completion log gone): the run's files decide */
        sched_event(s, slot->id, "slurm", "job %s is unknown to Slurm", slot->job);
        sched_run_ended(s, slot, 0, 0);
        return;
    }
    if (rc) {
        return;
    }
    slurm_seen(s, slot, &info);
    outcome = slurm_state_outcome(info.state);
    if (outcome == SLURM_ACTIVE) {
        slot->lost_at = 0;
        return;
    }
    if (outcome == SLURM_LOST && !r.request[0]) {
        /* Slurm may requeue it yet */
        if (!slot->lost_at) {
            slot->lost_at = now;
        }
        if (now - slot->lost_at < SLURM_LOST_SETTLE_S) {
            return;
        }
    }
    slurm_ended(s, slot, &r, &info, outcome);
}
