/* Parts of angorad behind its main: configuration, metrics ingestion and the scheduler that
 * starts, watches, stops and recovers angora-train processes (and the two steps of analysis
 * jobs: angora-train's recording, then angora-analyze).
 *
 * DESIGN
 * main runs one loop ("cron") of periodic jobs, each with its own period, as valkey's serverCron
 * does: sched_watch reaps workers and acts on cancel/pause requests found in the database
 * (tick_seconds), sched_ingest reads new metric lines of every live run (ingest_seconds), and
 * sched_start_queued starts queued runs while cores are free (queue_seconds). The HTTP threads
 * only write the database; the loop reads it. Runs live in their own sessions, so angorad can die
 * and come back without touching them. */
#ifndef DAEMON_H
#define DAEMON_H

#include "store.h"

#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* ---- configuration (config.c) ---- */

typedef enum DaemonShutdown {
    DAEMON_SHUTDOWN_LEAVE = 0,
    DAEMON_SHUTDOWN_CHECKPOINT
} DaemonShutdown;

typedef struct DaemonConfig {
    char data_dir[PATH_MAX]; /* database, token, runs/ */
    char bind[64];
    int port;
    char port_file[PATH_MAX]; /* the bound port is written here when set */
    int stream_port;          /* websocket; -2 = HTTP port + 1 (free with port 0), -1 = off */
    char trainer[PATH_MAX];
    char analyzer[PATH_MAX]; /* angora-analyze, the second step of analysis jobs */
    char mpirun[PATH_MAX];
    char hostfile[PATH_MAX];
    int max_cores;
    int max_attempts;
    double grace_s;    /* SIGTERM to SIGKILL */
    double tick_s;     /* watching runs: reaping, cancel/pause requests */
    double ingest_s;   /* reading new metric lines */
    int ingest_events; /* also read them as soon as inotify says a run wrote one */
    double queue_s;    /* starting queued runs */
    DaemonShutdown shutdown;
    char log_level[16];
    unsigned max_connections;
    unsigned connection_timeout_s;
    unsigned http_threads;
    int http_nice;              /* added to the HTTP threads' nice value (0 to 19) */
    unsigned response_cache_mb; /* kept list and series answers, MiB; 0 keeps none */
    int integrity_check;        /* full PRAGMA integrity_check at start */
    /* where runs go by default (specs may say otherwise), and their run directories: "" is
     * data_dir/runs; with Slurm, a folder every node sees at the same path */
    int slurm_default;
    char run_root[PATH_MAX];
    /* the Slurm executor: defaults of the options a spec may set, the folder of sbatch,
     * squeue, scontrol, sacct, scancel and srun ("" searches PATH), srun's --mpi plugin, and
     * how often each job's state is asked */
    char slurm_partition[64];
    char slurm_account[64];
    char slurm_time_limit[32];
    char slurm_bin[PATH_MAX];
    char slurm_mpi[64];
    double slurm_poll_s;
} DaemonConfig;

/* defaults: data dir $XDG_DATA_HOME/angora or ~/.local/share/angora, 127.0.0.1:7878, cores =
 * online CPUs, 3 attempts, 10 s grace, leave runs on shutdown */
void daemon_config_defaults(DaemonConfig *c, const char *default_trainer);
/* "key = value" lines, '#' comments; unknown keys and bad values fail naming file:line */
int daemon_config_load(DaemonConfig *c, const char *path, char *err, size_t err_sz);
/* one setting by name (config file keys; the command line uses --key-with-dashes) */
int daemon_config_set(DaemonConfig *c, const char *key, const char *value, char *err,
                      size_t err_sz);

/* ---- ingestion (ingest.c) ---- */

typedef struct Ingest Ingest;

typedef void (*IngestNotifyFn)(void *ctx, uint64_t rows);

/* called for every committed row, in seq order per experiment (the live stream's feed) */
typedef void (*IngestRowHook)(void *ctx, int64_t exp_id, int64_t seq, const char *row, size_t len);

int ingest_create(Ingest **out, Store *store, char *err, size_t err_sz);
void ingest_destroy(Ingest *in);
void ingest_set_notify(Ingest *in, IngestNotifyFn fn, void *ctx);
void ingest_set_row_hook(Ingest *in, IngestRowHook fn, void *ctx);
/* stores every complete new line of run_dir/metrics.jsonl from the stored offset on */
int ingest_run(Ingest *in, int64_t exp_id, const char *run_dir, size_t *rows, char *err,
               size_t err_sz);

/* ---- scheduler and executor (sched.c) ---- */

typedef struct Sched Sched;

typedef struct SchedConfig {
    const char *trainer;
    /* the Slurm executor (see DaemonConfig); partition, account, time limit are defaults */
    const char *slurm_partition;
    const char *slurm_account;
    const char *slurm_time_limit;
    const char *slurm_bin;
    const char *slurm_mpi;
    double slurm_poll_s;
    const char *analyzer; /* NULL or "" for angora-analyze in PATH */
    const char *mpirun;
    const char *hostfile; /* NULL or "" for none */
    int max_cores;
    int max_attempts;
    double grace_s;
} SchedConfig;

/* called after every state change the scheduler records (reason may be NULL) */
typedef void (*SchedStateHook)(void *ctx, int64_t exp_id, const char *state, const char *reason);

int sched_create(Sched **out, const SchedConfig *cfg, Store *store, Ingest *ingest, char *err,
                 size_t err_sz);
void sched_destroy(Sched *s);
void sched_set_state_hook(Sched *s, SchedStateHook fn, void *ctx);
/* this life of the daemon in the store and how the previous one ended (store_life_begin; NULL or
 * never called: not known), before sched_recover, which judges runs gone meanwhile by it */
void sched_set_lives(Sched *s, int64_t life_id, const StoreLife *previous);
/* at start: runs the database says are running are adopted when their process is still the
 * same (pid + start time), otherwise drained and judged by what they left (sched_recover.c):
 * succeeded, failed or retried (an attempt counted), or requeued from their checkpoint without
 * an attempt when they were stopped together with the daemon's previous life */
int sched_recover(Sched *s, int *adopted, int *requeued, char *err, size_t err_sz);
/* the cron's "alive" mark of this life (every SCHED_ALIVE_PERIOD_S) */
void sched_mark_alive(Sched *s);
double sched_alive_period(void);
/* one pass of reaping, requests, ingestion and starting */
/* the periodic jobs of the daemon's cron: reap workers and act on requests; ingest the metrics of
 * live runs; start queued runs while cores are free; roll up the rows of runs whose roll-up is
 * behind (a bounded slice of time per call) */
void sched_watch(Sched *s);
void sched_ingest(Sched *s);
void sched_start_queued(Sched *s);
void sched_rollup(Sched *s);
/* the run directories of the live runs that write metric lines (at most max), for the watcher
 * that wakes ingestion */
int sched_metric_dirs(Sched *s, char (*dirs)[PATH_MAX], int max);
/* all three in that order */
int sched_tick(Sched *s);
/* cores in use and live workers */
int sched_cores_used(const Sched *s);
int sched_live(const Sched *s);
/* asks every worker to checkpoint and stop, waits up to timeout_s, leaves them queued */
int sched_checkpoint_all(Sched *s, double timeout_s);

/* start time of a process in clock ticks since boot (/proc/PID/stat field 22); -1 if gone */
long long sched_proc_start_time(pid_t pid);

/* ---- analysis jobs (sched_job.c) ---- */

/* The message a failed step left in its output (text, len bytes of worker.log): the last line
 * that starts with "program:" (how angora-train and angora-analyze say why they stop), else the
 * last non-empty line; trimmed, cut to out_sz - 1 bytes, "" when there is none. */
void sched_log_message(const char *text, size_t len, const char *program, char *out, size_t out_sz);

#endif
