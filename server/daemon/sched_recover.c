/* Recovery at angorad's start: runs the database calls running are adopted when their process is
 * still the same, followed again by their Slurm job id, or judged when they are gone. And what
 * recovery needs of the daemon's own lives: the previous one (how it ended) and the marks that
 * say this one is alive.
 *
 * DESIGN
 * A run whose process is gone when angorad starts again left no exit status the daemon saw. What
 * it left decides, in this order:
 * 1. Its files show it ended on its own during its current attempt (written after the attempt's
 *    "started" event): a summary or status "done" is a success; error.json or status "failed"
 *    is its own failure, judged like that exit code (charged, or failed at once for bad input);
 *    status "interrupted" (exit 3) means a signal stopped it after its checkpoint, which is no
 *    failure of the run: it is requeued without charging an attempt.
 * 2. Otherwise (it was killed without a word: SIGKILL, a crash by signal, power loss) it was
 *    stopped together with angorad when angorad's previous life ended uncleanly (no clean
 *    shutdown recorded: kill -9, the machine or container stopped) and the run wrote nothing
 *    after that life's last "alive" mark (SCHED_ALIVE_SLACK_S allowed for the mark's period).
 *    Such a run is "interrupted": requeued from its last checkpoint without charging an attempt,
 *    so a long training may span any number of sittings. A worker killed with the machine but
 *    still on its way out when angorad starts is adopted, and judged by this rule when it goes
 *    (sched_adopted_gone).
 * 3. Anything else is charged as a crash, as an exit of unknown status always was: a run that
 *    outlived angorad (written after its last mark, or left running by a clean shutdown) and
 *    then vanished without a word may have crashed on its own, and nothing tells that from a
 *    stop. A database from before the daemon recorded its lives has no previous life, and its
 *    runs are charged too.
 * A run the daemon sees end while it lives is judged by its exit status (sched.c): exit 3 that
 * the daemon did not ask for is requeued without an attempt, any other failure is charged. */
#include "sched_int.h"

#include "ag_error.h"
#include "ag_json.h"
#include "ag_log.h"
#include "ag_rundir.h"
#include "ag_time.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

void sched_set_lives(Sched *s, int64_t life_id, const StoreLife *previous) {
    s->life_id = life_id;
    if (previous) {
        s->previous = *previous;
    } else {
        memset(&s->previous, 0, sizeof(s->previous));
    }
}

double sched_alive_period(void) {
    return SCHED_ALIVE_PERIOD_S;
}

void sched_mark_alive(Sched *s) {
    char msg[256];
    if (s->life_id > 0 &&
        store_life_alive(s->store, s->life_id, ag_time_wall(), msg, sizeof(msg)) != 0) {
        ag_log_warn("cannot mark this life alive: %s", msg);
    }
}

/* how far a file's time may lag the wall clock (a few kernel ticks) */
#define FILE_CLOCK_SLACK_S 0.05

/* when run_dir/name was last written (s since the epoch), 0 when it is not there */
static double file_mtime(const char *run_dir, const char *name) {
    char path[PATH_MAX];
    struct stat st;
    if (snprintf(path, sizeof(path), "%s/%s", run_dir, name) >= (int)sizeof(path) ||
        stat(path, &st) != 0) {
        return 0.0;
    }
    return (double)st.st_mtim.tv_sec + (double)st.st_mtim.tv_nsec * 1e-9;
}

/* the last time the worker wrote any of the files it writes while it works */
static double run_last_write(const char *run_dir) {
    static const char *const written[] = {AG_RUN_STATUS,
                                          AG_RUN_METRICS,
                                          AG_RUN_TRAIN_LOG,
                                          AG_RUN_WORKER_LOG,
                                          AG_RUN_ERROR,
                                          AG_RUN_CHECKPOINTS "/" AG_RUN_CKPT_LAST,
                                          AG_RUN_ACTIVATIONS AG_RUN_PARTIAL_SUFFIX};
    double last = 0.0;
    for (size_t i = 0; i < sizeof(written) / sizeof(written[0]); i++) {
        double t = file_mtime(run_dir, written[i]);
        last = t > last ? t : last;
    }
    return last;
}

/* the string at key of a JSON file of the run directory into out ("" when there is none) */
static void json_file_string(const char *run_dir, const char *name, const char *key, char *out,
                             size_t out_sz) {
    char path[PATH_MAX], msg[256];
    json_t *o;
    out[0] = '\0';
    snprintf(path, sizeof(path), "%s/%s", run_dir, name);
    o = ag_json_load_file(path, 1u << 20, msg, sizeof(msg));
    if (o && json_string_value(json_object_get(o, key))) {
        snprintf(out, out_sz, "%s", json_string_value(json_object_get(o, key)));
    }
    json_decref(o);
}

int sched_files_exit(Sched *s, int64_t id, const char *run_dir) {
    char msg[256], value[64];
    double since = 0.0;
    /* files older than the current attempt's start are an earlier attempt's */
    if (store_event_last_at(s->store, id, "started", &since, msg, sizeof(msg)) != 0) {
        since = 0.0;
    }
    /* a file's time comes from the kernel's coarse clock, up to a tick (4-10 ms) behind the
     * wall clock that stamped the event: a file written just after the start can look older */
    since -= FILE_CLOCK_SLACK_S;
    double error_at = file_mtime(run_dir, AG_RUN_ERROR),
           status_at = file_mtime(run_dir, AG_RUN_STATUS);
    if (error_at > 0.0 && error_at >= since) {
        json_file_string(run_dir, AG_RUN_ERROR, "class", value, sizeof(value));
        return !strcmp(value, "input") ? AG_EXIT_USAGE : AG_EXIT_ERROR;
    }
    if (status_at > 0.0 && status_at >= since) {
        json_file_string(run_dir, AG_RUN_STATUS, "state", value, sizeof(value));
        if (!strcmp(value, "interrupted")) {
            return AG_EXIT_INTERRUPTED;
        }
        if (!strcmp(value, "failed")) {
            return AG_EXIT_ERROR;
        }
    }
    return -1;
}

void sched_resume_point(SlotKind kind, const char *run_dir, char *out, size_t out_sz) {
    if ((kind == SLOT_TRAIN || kind == SLOT_PRETRAIN) &&
        file_mtime(run_dir, AG_RUN_CHECKPOINTS "/" AG_RUN_CKPT_LAST) > 0.0) {
        snprintf(out, out_sz, "%s", AG_RUN_CHECKPOINTS "/" AG_RUN_CKPT_LAST);
    } else if (kind == SLOT_ANALYSIS && file_mtime(run_dir, AG_RUN_ACTIVATIONS) > 0.0) {
        snprintf(out, out_sz, "its complete recording (%s)", AG_RUN_ACTIVATIONS);
    } else if (kind == SLOT_TRAIN || kind == SLOT_PRETRAIN) {
        snprintf(out, out_sz, "the start (no checkpoint yet)");
    } else {
        snprintf(out, out_sz, "the start");
    }
}

/* rule 2 of the DESIGN note: gone together with angorad's previous life */
static int vanished_with_daemon(const Sched *s, const StoreRun *r) {
    const StoreLife *prev = &s->previous;
    return prev->known && !prev->stopped &&
           run_last_write(r->run_dir) <= prev->alive_at + SCHED_ALIVE_SLACK_S;
}

void sched_adopted_gone(Sched *s, Slot *slot) {
    StoreRun r;
    char msg[256];
    /* a worker killed with the machine may still be on its way out when angorad starts again
     * (a large process takes a while to exit on a loaded machine), and is adopted: if it wrote
     * nothing after the previous life's last mark, it was stopped with that life all the same */
    if (slot->exec != EXEC_SLURM && !slot->with_daemon &&
        store_run_get(s->store, slot->id, &r, msg, sizeof(msg)) == 0) {
        slot->with_daemon = vanished_with_daemon(s, &r);
    }
}

int sched_recover(Sched *s, int *adopted, int *requeued, char *err, size_t err_sz) {
    int n = 0, rc;
    *adopted = *requeued = 0;
    rc = store_runs_in_state(s->store, "running", s->queue, SCHED_SLOTS_MAX, &n, err, err_sz);
    if (rc) {
        return rc;
    }
    for (int i = 0; i < n; i++) {
        const StoreRun *r = &s->queue[i];
        long long start = r->pid > 0 ? sched_proc_start_time(r->pid) : -1;
        Slot *slot;
        if (!strcmp(r->executor, "slurm") && r->slurm_job[0] && (slot = sched_slot_new(s))) {
            /* the job is Slurm's: followed again by its id, whatever it did meanwhile */
            slot->exec = EXEC_SLURM;
            slot->id = r->id;
            slot->ranks = r->ranks;
            slot->kind = SLOT_TRAIN;
            slot->restarts = r->slurm_restarts;
            snprintf(slot->job, sizeof(slot->job), "%s", r->slurm_job);
            sched_event(s, r->id, "adopted", "Slurm job %s", r->slurm_job);
            (*adopted)++;
            continue;
        }
        if (start >= 0 && start == r->pid_start && (slot = sched_slot_new(s)) != NULL) {
            slot->id = r->id;
            slot->pid = r->pid;
            slot->start = start;
            slot->ranks = r->ranks;
            slot->adopted = 1;
            slot->kind = sched_slot_kind(r->kind);
            slot->step = !strcmp(r->phase, "analyzing") ? STEP_ANALYZING : STEP_RECORDING;
            slot->log_offset = -1;
            sched_event(s, r->id, "adopted", "pid %d still running", r->pid);
            (*adopted)++;
            continue;
        }
        /* gone while angorad was away: keep what it wrote, then decide by what it left */
        {
            Slot tmp;
            memset(&tmp, 0, sizeof(tmp));
            slot = sched_slot_new(s);
            if (!slot) {
                slot = &tmp;
            }
            slot->id = r->id;
            slot->pid = r->pid;
            slot->ranks = r->ranks;
            slot->adopted = 1;
            slot->kind = sched_slot_kind(r->kind);
            slot->step = !strcmp(r->phase, "analyzing") ? STEP_ANALYZING : STEP_RECORDING;
            slot->log_offset = -1;
            slot->with_daemon = vanished_with_daemon(s, r);
            sched_run_ended(s, slot, 0, 0);
            (*requeued)++;
        }
    }
    return 0;
}
