/* What the scheduler's files share (sched.c: queue, executor, outcomes, recovery; sched_job.c:
 * analysis jobs run as two chained steps): the Sched and Slot structs and the helpers both use;
 * not a public interface. */
#ifndef SCHED_INT_H
#define SCHED_INT_H

#include "daemon.h"

#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define SCHED_SLOTS_MAX 256
#define SCHED_ARGS_MAX  32
/* wall time one call of sched_rollup may spend rolling up rows of earlier runs */
#define SCHED_ROLLUP_BUDGET_S 0.25

/* what a slot runs: angora-train on a spec, an evaluation, or an analysis job's steps */
typedef enum SlotKind { SLOT_TRAIN = 0, SLOT_EVALUATE, SLOT_ANALYSIS } SlotKind;

/* an analysis job's steps, in the order they run in one slot */
typedef enum SlotStep { STEP_RECORDING = 0, STEP_ANALYZING } SlotStep;

typedef struct Slot {
    int used;
    int64_t id;
    pid_t pid;
    long long start;
    int ranks;
    int adopted; /* not our child: no exit status, watched through /proc */
    SlotKind kind;
    SlotStep step;        /* analysis jobs: the step running now */
    long long log_offset; /* analysis jobs: worker.log's size when the step started, -1 unknown */
    double term_at;       /* when SIGTERM went out, 0 if not yet */
    int killed;
    int shutdown; /* stopped by the daemon itself: back to the queue, no attempt counted */
} Slot;

struct Sched {
    SchedConfig cfg;
    char trainer[PATH_MAX];
    char analyzer[PATH_MAX];
    char mpirun[PATH_MAX];
    char hostfile[PATH_MAX];
    Store *store;
    Ingest *ingest;
    SchedStateHook hook;
    void *hook_ctx;
    Slot slots[SCHED_SLOTS_MAX];
    StoreRun queue[SCHED_SLOTS_MAX];
};

/* ---- sched.c ---- */

/* the slot kind of a stored kind ("train", "evaluate", "analysis") */
SlotKind sched_slot_kind(const char *kind);
/* journals an event and logs it */
void sched_event(Sched *s, int64_t id, const char *kind, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* records a state and tells the hook (the live stream) */
void sched_set_state(Sched *s, int64_t id, const char *state, const char *error);
/* a failed attempt: queued again (retried from retry_from) until the attempts are used up */
void sched_run_crashed(Sched *s, int64_t id, const char *why, const char *retry_from);
/* "exit code 1", "killed by signal 9 (Killed)", or the worker died while angorad was away */
void sched_describe_status(int status, int known, char *out, size_t out_sz);
/* starts argv in run_dir the way every worker starts: its own session, one BLAS thread,
 * stdin from /dev/null, stderr (and stdout unless out_path is set) appended to worker.log */
int sched_spawn_argv(const char *run_dir, const char *const *argv, const char *out_path, pid_t *pid,
                     char *err, size_t err_sz);

/* ---- sched_job.c ---- */

/* starts the step an analysis job needs next (the recording, or the analysis when a complete
 * recording is there from an earlier attempt) into slot: pid, step, log offset */
int sched_job_spawn(Sched *s, Slot *slot, const StoreRun *r, char *err, size_t err_sz);
/* after the job is marked running: records the step's phase and process, journals it */
void sched_job_started(Sched *s, const Slot *slot);
/* a step's process ended (status known, or judged by its files when adopted): the next step in
 * the same slot, success, a retry, or failure with the step's message; frees the slot unless
 * the job goes on */
void sched_job_ended(Sched *s, Slot *slot, int status, int known);

#endif
