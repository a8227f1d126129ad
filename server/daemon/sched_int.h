/* What the scheduler's files share (sched.c: queue, local executor, outcomes, recovery;
 * sched_job.c: analysis jobs run as two chained steps; sched_slurm.c: the Slurm executor): the
 * Sched and Slot structs and the helpers they use; not a public interface.
 *
 * DESIGN
 * A slot holds one run and the executor that runs it. The scheduler's passes (starting, watching,
 * requests, recovery) ask each slot's executor: the local one starts a process in its own session
 * and signals its group; the Slurm one submits a batch job and asks Slurm about it. Outcomes meet
 * again in sched_run_ended, so an exit code means the same on either. */
#ifndef SCHED_INT_H
#define SCHED_INT_H

#include "daemon.h"
#include "slurm.h"

#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define SCHED_SLOTS_MAX 256
#define SCHED_ARGS_MAX  32
/* wall time one call of sched_rollup may spend rolling up rows of earlier runs */
#define SCHED_ROLLUP_BUDGET_S 0.25
/* how often the daemon marks its life alive (store_life_alive), and how much later than the last
 * mark a run gone with the daemon may have written last: the mark's period and a stalled loop */
#define SCHED_ALIVE_PERIOD_S 5.0
#define SCHED_ALIVE_SLACK_S  (2.0 * SCHED_ALIVE_PERIOD_S)

/* what a slot runs: angora-train on a spec, an evaluation, an analysis job's steps, or a vision
 * pretraining (angora-train --pretrain) */
typedef enum SlotKind { SLOT_TRAIN = 0, SLOT_EVALUATE, SLOT_ANALYSIS, SLOT_PRETRAIN } SlotKind;

/* an analysis job's steps, in the order they run in one slot */
typedef enum SlotStep { STEP_RECORDING = 0, STEP_ANALYZING } SlotStep;

/* who runs a slot's worker */
typedef enum SlotExecutor { EXEC_LOCAL = 0, EXEC_SLURM } SlotExecutor;

typedef struct Slot {
    int used;
    SlotExecutor exec;
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
    /* found gone at start, stopped together with the daemon's previous life (sched_recover.c):
     * back to the queue, no attempt counted, unless its files show it failed on its own */
    int with_daemon;
    /* Slurm: the job, its state and restarts as last seen, when it was last asked, and since
     * when it has looked lost (a requeue may still follow) */
    char job[SLURM_JOB_LEN];
    char slurm_state[SLURM_STATE_LEN];
    char slurm_reason[SLURM_REASON_LEN];
    char slurm_nodes[SLURM_NODES_LEN];
    int restarts;
    double polled_at;
    double lost_at;
} Slot;

struct Sched {
    SchedConfig cfg;
    char trainer[PATH_MAX];
    char analyzer[PATH_MAX];
    char mpirun[PATH_MAX];
    char hostfile[PATH_MAX];
    char slurm_bin[PATH_MAX];
    char slurm_mpi[64];
    AgExecutor slurm_defaults; /* partition, account, time limit of the configuration */
    Store *store;
    Ingest *ingest;
    SchedStateHook hook;
    void *hook_ctx;
    int64_t life_id;    /* this life of the daemon in the store, 0 when not recorded */
    StoreLife previous; /* how the previous life ended (known 0: not recorded) */
    Slot slots[SCHED_SLOTS_MAX];
    StoreRun queue[SCHED_SLOTS_MAX];
};

/* ---- sched.c ---- */

/* the slot kind of a stored kind ("train", "evaluate", "analysis", "pretrain") */
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

/* a free slot, zeroed and marked used; NULL when all are taken */
Slot *sched_slot_new(Sched *s);
/* writes the stored spec to the run directory as AG_RUN_SUBMITTED */
int sched_write_spec(Sched *s, int64_t id, const char *run_dir, char *err, size_t err_sz);
/* stores every complete new metric line of the run */
void sched_drain(Sched *s, int64_t id, const char *run_dir);
/* a worker ended (status known, or judged by its files): success, pause, cancel, requeue or
 * failure, decided by the run's request and exit; frees the slot */
void sched_run_ended(Sched *s, Slot *slot, int status, int known);

/* a run stopped from outside, not by its own failure (the daemon's shutdown, the end of the
 * daemon's previous life, exit 3 on a signal): journaled as event with why and where it resumes
 * from, then queued again without an attempt counted */
void sched_run_requeue(Sched *s, int64_t id, SlotKind kind, const char *run_dir, const char *event,
                       const char *why);

/* why a run stopped from outside is requeued: with_daemon, gone with the daemon's previous life;
 * else exit 3 on a signal, seen (known) or read from its status file */
void sched_describe_interrupted(const Sched *s, int with_daemon, int known, char *out,
                                size_t out_sz);

/* ---- sched_recover.c ---- */

/* the exit a worker that ended unseen shows in its files during its current attempt (written
 * after its last "started" event): AG_EXIT_USAGE or AG_EXIT_ERROR (error.json, status "failed"),
 * AG_EXIT_INTERRUPTED (status "interrupted"), -1 when they show none */
int sched_files_exit(Sched *s, int64_t id, const char *run_dir);
/* an adopted worker is gone without an exit status: slot->with_daemon as recovery would have
 * judged it had it been gone at the start (rule 2 of sched_recover.c's DESIGN note) */
void sched_adopted_gone(Sched *s, Slot *slot);
/* where a requeued run of kind goes on from, for its event: "checkpoints/last.ckpt", ... */
void sched_resume_point(SlotKind kind, const char *run_dir, char *out, size_t out_sz);

/* ---- sched_slurm.c ---- */

/* submits run r as a Slurm batch job into slot (job id set). AG_BUSY when the controller could
 * not be reached (the run stays queued); any other error fails the run with err */
int sched_slurm_submit(Sched *s, Slot *slot, const StoreRun *r, char *err, size_t err_sz);
/* acts on the run's cancel/pause request (scancel) and follows the job's state (scontrol, then
 * sacct once the controller has forgotten it); an ended job's outcome goes to sched_run_ended */
void sched_slurm_watch(Sched *s, Slot *slot);
/* cancels a job whose run was removed or could not be recorded */
void sched_slurm_cancel(Sched *s, const char *job);

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
