/* The Slurm executor's text: the batch script of an attempt, sbatch's arguments, and what
 * sbatch, scontrol and sacct print, read back. Nothing here runs a program (sched_slurm.c does),
 * so all of it is tested without a cluster.
 *
 * DESIGN
 * - No user string reaches a shell: options go to sbatch as separate arguments, and the script
 *   holds paths only (run directory, trainer, srun), each in single quotes with every quote in it
 *   escaped. A name such as $(touch /tmp/x) is never in the script at all.
 * - The script decides --resume when it starts, from the files of the run directory, so a job
 *   that Slurm requeues (node failure, preemption, scontrol requeue) goes on from its last
 *   checkpoint like any restart.
 * - A job's state falls into one of a few outcomes (SlurmOutcome) that the scheduler maps onto
 *   the experiment's states. */
#ifndef SLURM_H
#define SLURM_H

#include "ag_executor.h"

#include <stddef.h>
#include <stdint.h>

#define SLURM_ARGS_MAX   48
#define SLURM_OPT_LEN    192
#define SLURM_STATE_LEN  32
#define SLURM_REASON_LEN 128
#define SLURM_NODES_LEN  256
#define SLURM_JOB_LEN    32

/* in single quotes for sh, every ' as '\''; AG_ETOOBIG when it does not fit out_sz */
int slurm_shell_quote(const char *in, char *out, size_t out_sz);

/* what the batch script of one attempt runs */
typedef struct SlurmScript {
    int64_t id;
    int attempt;
    const char *run_dir;
    const char *trainer;
    int ranks;           /* > 1: srun starts them inside the allocation */
    const char *srun;    /* srun's path or name */
    const char *scancel; /* scancel's, to pass a pause's TERM to the ranks */
    const char *mpi;     /* srun --mpi plugin */
} SlurmScript;

/* the script's text (sh); AG_ETOOBIG when it does not fit */
int slurm_script_text(const SlurmScript *sc, char *out, size_t out_sz, char *err, size_t err_sz);

/* sbatch's command line for a script, argv NULL-terminated; the strings live in the struct */
typedef struct SlurmSbatch {
    const char *argv[SLURM_ARGS_MAX];
    char opts[SLURM_ARGS_MAX][SLURM_OPT_LEN];
} SlurmSbatch;

/* sbatch --parsable with the job's name (angora-ID), folder, output (worker.log, appended),
 * requeue on node failure, ranks as tasks, and the executor's options, then the script */
int slurm_sbatch_argv(SlurmSbatch *b, const char *sbatch, const AgExecutor *x, int ranks,
                      int64_t id, const char *run_dir, const char *script, char *err,
                      size_t err_sz);

/* the job id of sbatch --parsable's output ("123" or "123;cluster"); AG_EFORMAT otherwise */
int slurm_parse_job_id(const char *text, char *out, size_t out_sz);

/* what Slurm says of a job */
typedef struct SlurmJobInfo {
    char state[SLURM_STATE_LEN];   /* JobState, e.g. PENDING, RUNNING, COMPLETED, TIMEOUT */
    char reason[SLURM_REASON_LEN]; /* why it waits or ended; "" for None */
    char nodes[SLURM_NODES_LEN];   /* "" while it has none */
    int restarts;                  /* requeues so far */
    int exit_code;                 /* of the batch script (ExitCode=code:signal) */
    int exit_signal;
} SlurmJobInfo;

/* scontrol show job -o ID (one line of Key=Value pairs); AG_ENOTFOUND without a JobState (the
 * controller no longer knows the job), AG_EFORMAT for a malformed ExitCode */
int slurm_parse_scontrol(const char *text, SlurmJobInfo *out);
/* sacct -n -P -o jobid,state,exitcode (also with -c): the line of job_id itself (not its
 * steps); AG_ENOTFOUND when there is none */
int slurm_parse_sacct(const char *text, const char *job_id, SlurmJobInfo *out);

typedef enum SlurmOutcome {
    SLURM_ACTIVE = 0, /* waiting, running, completing or requeued: watch on */
    SLURM_EXITED,     /* COMPLETED or FAILED: the exit code says what happened */
    SLURM_TIMEOUT,    /* TIMEOUT, DEADLINE: stopped at its time limit, not retried */
    SLURM_CANCELLED,  /* CANCELLED */
    SLURM_LOST, /* NODE_FAIL, PREEMPTED, BOOT_FAIL, OUT_OF_MEMORY: retry from the checkpoint */
} SlurmOutcome;

/* the outcome of a JobState ("CANCELLED by 0" counts as CANCELLED); unknown states are
 * SLURM_ACTIVE, so nothing is decided on a state this code has not heard of */
SlurmOutcome slurm_state_outcome(const char *state);

#endif
