/* angorad: the long-running service of angora. main reads as a sequence: configuration, data
 * directory, database and migrations, tokens, HTTP, live stream, scheduler recovery, then the
 * cron loop until SIGTERM/SIGINT, then shutdown. */
#include "api.h"
#include "daemon.h"
#include "run_watch.h"
#include "stream.h"

#include "ag_error.h"
#include "ag_fs.h"
#include "ag_log.h"
#include "ag_rundir.h"
#include "ag_time.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef ANGORAD_DEFAULT_TRAINER
#define ANGORAD_DEFAULT_TRAINER "angora-train"
#endif
#ifndef ANGORAD_DEFAULT_ANALYZER
#define ANGORAD_DEFAULT_ANALYZER "angora-analyze"
#endif

/* run directories watched for metric lines at most (the scheduler's slots) */
#define DAEMON_WATCH_MAX 256

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig) {
    (void)sig;
    stop_requested = 1;
}

static void usage(FILE *f) {
    fprintf(f,
            "usage: angorad [options]\n"
            "  --config FILE         key = value settings (see angorad.conf.example)\n"
            "  --data-dir DIR        database, token and run directories\n"
            "  --bind ADDR           listen address (default 127.0.0.1)\n"
            "  --port N              listen port (0 picks a free one; default 7878)\n"
            "  --port-file FILE      write the bound port here once listening\n"
            "  --stream-port N       websocket port (default HTTP port + 1, free with --port 0;\n"
            "                        -1 disables the stream)\n"
            "  --trainer PATH        angora-train to run\n"
            "  --analyzer PATH       angora-analyze to run (second step of analysis jobs)\n"
            "  --mpirun PATH         mpirun for runs with several ranks\n"
            "  --hostfile FILE       MPI hostfile\n"
            "  --max-cores N         cores the runs may use together\n"
            "  --max-attempts N      starts of a crashing run before it fails\n"
            "  --grace-seconds S     SIGTERM to SIGKILL on cancel\n"
            "  --tick-seconds S      period of watching runs (exits, cancel/pause)\n"
            "  --ingest-seconds S    period of reading new metric lines\n"
            "  --ingest-events yes|no  also read them as soon as a run writes one (inotify;\n"
            "                        default yes)\n"
            "  --queue-seconds S     period of starting queued runs\n"
            "  --on-shutdown MODE    leave (default) or checkpoint the runs on SIGTERM\n"
            "  --integrity-check yes|no  full database check at start (default yes)\n"
            "  --run-root DIR        run directories (default DATA_DIR/runs; shared with Slurm)\n"
            "  --executor KIND       local (default) or slurm, for specs that do not say\n"
            "  --slurm-partition P, --slurm-account A, --slurm-time-limit T\n"
            "                        defaults of Slurm jobs (a spec's executor overrides them)\n"
            "  --slurm-bin DIR       folder of sbatch, squeue, scontrol, sacct, scancel\n"
            "  --slurm-mpi PLUGIN    srun --mpi for runs with several ranks (default pmix)\n"
            "  --slurm-poll-seconds S  how often each Slurm job's state is asked (default 2)\n"
            "  --response-cache-mb N  memory for kept list and series answers (0 to 4096 MiB,\n"
            "                        default 64; 0 keeps none)\n"
            "  --http-nice N         added to the HTTP threads' nice value, so that ingestion\n"
            "                        and trainings come first on busy cores (0 to 19, default 10)\n"
            "  --log-level LEVEL     debug, info, warn, error\n"
            "  --help, --version\n");
}

/* command line: the config file first (wherever it appears), then each option over it */
static int parse_args(DaemonConfig *c, int argc, char **argv, char *err, size_t err_sz) {
    static const struct option opts[] = {
        {"config", required_argument, NULL, 'c'},
        {"data-dir", required_argument, NULL, 0},
        {"bind", required_argument, NULL, 0},
        {"port", required_argument, NULL, 0},
        {"port-file", required_argument, NULL, 0},
        {"stream-port", required_argument, NULL, 0},
        {"trainer", required_argument, NULL, 0},
        {"analyzer", required_argument, NULL, 0},
        {"mpirun", required_argument, NULL, 0},
        {"hostfile", required_argument, NULL, 0},
        {"max-cores", required_argument, NULL, 0},
        {"max-attempts", required_argument, NULL, 0},
        {"grace-seconds", required_argument, NULL, 0},
        {"tick-seconds", required_argument, NULL, 0},
        {"ingest-seconds", required_argument, NULL, 0},
        {"ingest-events", required_argument, NULL, 0},
        {"queue-seconds", required_argument, NULL, 0},
        {"on-shutdown", required_argument, NULL, 0},
        {"integrity-check", required_argument, NULL, 0},
        {"log-level", required_argument, NULL, 0},
        {"run-root", required_argument, NULL, 0},
        {"executor", required_argument, NULL, 0},
        {"slurm-partition", required_argument, NULL, 0},
        {"slurm-account", required_argument, NULL, 0},
        {"slurm-time-limit", required_argument, NULL, 0},
        {"slurm-bin", required_argument, NULL, 0},
        {"slurm-mpi", required_argument, NULL, 0},
        {"slurm-poll-seconds", required_argument, NULL, 0},
        {"response-cache-mb", required_argument, NULL, 0},
        {"http-nice", required_argument, NULL, 0},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},
        {NULL, 0, NULL, 0},
    };
    int idx, ch, rc;
    for (int pass = 0; pass < 2; pass++) {
        optind = 1;
        opterr = 0;
        while ((ch = getopt_long(argc, argv, ":c:hV", opts, &idx)) != -1) {
            char key[64];
            if (ch == 'h') {
                usage(stdout);
                return 1;
            }
            if (ch == 'V') {
                printf("angorad %s\n", ANGORA_VERSION);
                return 1;
            }
            if (ch == '?') {
                return ag_errorf(err, err_sz, AG_EINVAL, "unknown option %s", argv[optind - 1]);
            }
            if (ch == ':') {
                return ag_errorf(err, err_sz, AG_EINVAL, "option %s needs a value",
                                 argv[optind - 1]);
            }
            if (ch == 'c') {
                if (pass == 0 && (rc = daemon_config_load(c, optarg, err, err_sz)) != 0) {
                    return rc;
                }
                continue;
            }
            if (pass == 0) {
                continue;
            }
            snprintf(key, sizeof(key), "%s", opts[idx].name);
            for (char *p = key; *p; p++) {
                if (*p == '-') {
                    *p = '_';
                }
            }
            rc = daemon_config_set(c, key, optarg, err, err_sz);
            if (rc) {
                return rc;
            }
        }
        if (optind < argc) {
            return ag_errorf(err, err_sz, AG_EINVAL, "unexpected argument %s", argv[optind]);
        }
    }
    return 0;
}

/* one daemon per data directory */
static int lock_data_dir(const char *dir, int *fd_out, char *err, size_t err_sz) {
    char path[PATH_MAX + 32], pid[32];
    int fd;
    snprintf(path, sizeof(path), "%s/angorad.lock", dir);
    fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) {
        return ag_errorf(err, err_sz, AG_EIO, "cannot open %s: %s", path, strerror(errno));
    }
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        close(fd);
        return ag_errorf(err, err_sz, AG_EBUSY, "another angorad uses %s", dir);
    }
    snprintf(pid, sizeof(pid), "%d\n", (int)getpid());
    if (ftruncate(fd, 0) != 0 || write(fd, pid, strlen(pid)) < 0) {
        ag_log_warn("cannot write %s", path);
    }
    *fd_out = fd;
    return 0;
}

static void note_ingested(void *ctx, uint64_t rows) {
    api_note_ingested(ctx, rows);
}

/* the live stream hears of every committed row and every state change */
static void publish_row(void *ctx, int64_t exp_id, int64_t seq, const char *row, size_t len) {
    stream_publish_row(ctx, exp_id, seq, row, len);
}

static void publish_state(void *ctx, int64_t exp_id, const char *state, const char *reason) {
    stream_publish_state(ctx, exp_id, state, reason);
}

/* everything main starts, in the order it starts them; torn down in reverse */
typedef struct Daemon {
    DaemonConfig cfg;
    char runs[PATH_MAX + 32];
    int lock_fd;
    Store *store;
    Api *api;
    Stream *stream;
    Ingest *ingest;
    Sched *sched;
    RunWatch *watch; /* NULL: ingestion by its tick alone */
    int64_t life_id; /* this life in the store: marked alive, and stopped by a clean shutdown */
    int adopted, requeued;
} Daemon;

/* the data directory and runs/ are the owner's alone, even when they existed with wider modes */
static int tighten_dir(const char *dir, char *err, size_t err_sz) {
    struct stat st;
    if (stat(dir, &st) != 0) {
        return ag_errorf(err, err_sz, AG_EIO, "cannot stat %s: %s", dir, strerror(errno));
    }
    if ((st.st_mode & 077) && chmod(dir, st.st_mode & 0700) != 0) {
        return ag_errorf(err, err_sz, AG_EIO,
                         "%s is open to other users (mode %03o) and cannot be made private: %s",
                         dir, (unsigned)(st.st_mode & 0777), strerror(errno));
    }
    if (st.st_mode & 077) {
        ag_log_warn("%s was mode %03o; now 0700 (specs, metrics and checkpoints are private)", dir,
                    (unsigned)(st.st_mode & 0777));
    }
    return 0;
}

/* data directory: created if missing, runs/ below it (or the configured run root), both
 * private, locked against a second daemon */
static int daemon_open_data_dir(Daemon *d, char *err, size_t err_sz) {
    int rc;
    if (d->cfg.run_root[0]) {
        snprintf(d->runs, sizeof(d->runs), "%s", d->cfg.run_root);
    } else {
        snprintf(d->runs, sizeof(d->runs), "%s/runs", d->cfg.data_dir);
    }
    if (ag_fs_mkdir_p(d->cfg.data_dir, 0700, err, err_sz) != 0 ||
        ag_fs_mkdir_p(d->runs, 0700, err, err_sz) != 0) {
        return AG_EIO;
    }
    if ((rc = tighten_dir(d->cfg.data_dir, err, err_sz)) != 0 ||
        (rc = tighten_dir(d->runs, err, err_sz)) != 0) {
        return rc;
    }
    return lock_data_dir(d->cfg.data_dir, &d->lock_fd, err, err_sz);
}

/* database, migrations to the newest schema, the optional integrity check */
static int daemon_open_store(Daemon *d, char *err, size_t err_sz) {
    char path[PATH_MAX + 32], mig[PATH_MAX];
    int version = 0, rc;
    snprintf(path, sizeof(path), "%s/angorad.db", d->cfg.data_dir);
    if (ag_fs_data_path("migrations", mig, sizeof(mig)) != 0) {
        return ag_errorf(err, err_sz, AG_ETOOBIG, "data directory path too long");
    }
    if ((rc = store_open(path, &d->store, err, err_sz)) != 0 ||
        (rc = store_migrate(d->store, mig, 0, NULL, err, err_sz)) != 0 ||
        (rc = store_schema_version(d->store, &version, err, err_sz)) != 0) {
        return rc;
    }
    if (d->cfg.integrity_check && (rc = store_integrity_check(d->store, err, err_sz)) != 0) {
        size_t used = strnlen(err, err_sz);
        snprintf(err + used, err_sz - used, " (restore a backup or move %s away)", path);
        return rc;
    }
    ag_log_info("database %s at schema version %d", path, version);
    return 0;
}

/* the first start writes a full-access token file */
static int daemon_open_tokens(Daemon *d, char *err, size_t err_sz) {
    char path[PATH_MAX + 32];
    int created = 0, rc;
    snprintf(path, sizeof(path), "%s/token", d->cfg.data_dir);
    if ((rc = api_token_bootstrap(d->store, path, &created, err, err_sz)) != 0) {
        return rc;
    }
    if (created) {
        ag_log_info("new full-access token written to %s (mode 0600)", path);
    }
    return 0;
}

static int daemon_open_http(Daemon *d, char *err, size_t err_sz) {
    ApiConfig acfg;
    char web[PATH_MAX];
    int rc;
    if (ag_fs_data_path("web", web, sizeof(web)) != 0) {
        web[0] = '\0';
    }
    memset(&acfg, 0, sizeof(acfg));
    acfg.bind_addr = d->cfg.bind;
    acfg.port = d->cfg.port;
    acfg.max_connections = d->cfg.max_connections;
    acfg.connection_timeout_s = d->cfg.connection_timeout_s;
    acfg.threads = d->cfg.http_threads;
    acfg.threads_nice = d->cfg.http_nice;
    acfg.response_cache_bytes = (size_t)d->cfg.response_cache_mb << 20;
    acfg.max_body = API_MAX_BODY_DEFAULT;
    acfg.web_dir = web;
    acfg.runs_root = d->runs;
    acfg.trainer = d->cfg.trainer;
    acfg.max_cores = d->cfg.max_cores;
    acfg.slurm_default = d->cfg.slurm_default;
    if ((rc = api_create(&d->api, &acfg, d->store, err, err_sz)) != 0) {
        return rc;
    }
    return api_listen(d->api, err, err_sz);
}

/* websocket stream: next to the HTTP port (a free one when that was chosen freely) */
static int daemon_open_stream(Daemon *d, char *err, size_t err_sz) {
    StreamConfig sc;
    int rc;
    if (d->cfg.stream_port == -1) {
        return 0;
    }
    memset(&sc, 0, sizeof(sc));
    sc.bind = d->cfg.bind;
    sc.port = d->cfg.stream_port >= 0 ? d->cfg.stream_port : (d->cfg.port ? d->cfg.port + 1 : 0);
    if ((rc = stream_create(&d->stream, &sc, d->store, err, err_sz)) != 0) {
        return rc;
    }
    api_set_ws_port(d->api, stream_port(d->stream));
    api_set_state_hook(d->api, publish_state, d->stream);
    return 0;
}

/* this life recorded, and how the previous one ended told to the scheduler, whose recovery
 * treats runs gone together with an unclean end as interrupted, not crashed */
static int daemon_begin_life(Daemon *d, char *err, size_t err_sz) {
    StoreLife prev;
    char when[40];
    int rc =
        store_life_begin(d->store, (int)getpid(), ag_time_wall(), &prev, &d->life_id, err, err_sz);
    if (rc) {
        return rc;
    }
    if (prev.known && !prev.stopped) {
        ag_log_warn("the previous angorad (pid %d) ended without a clean shutdown; last seen alive "
                    "%s",
                    prev.pid, ag_time_iso8601(prev.alive_at, when, (int)sizeof(when)));
    }
    sched_set_lives(d->sched, d->life_id, &prev);
    return 0;
}

/* ingestion and the scheduler, after recovering the runs of an earlier life */
static int daemon_open_sched(Daemon *d, char *err, size_t err_sz) {
    SchedConfig scfg;
    int rc;
    memset(&scfg, 0, sizeof(scfg));
    scfg.trainer = d->cfg.trainer;
    scfg.analyzer = d->cfg.analyzer;
    scfg.mpirun = d->cfg.mpirun;
    scfg.hostfile = d->cfg.hostfile;
    scfg.max_cores = d->cfg.max_cores;
    scfg.max_attempts = d->cfg.max_attempts;
    scfg.grace_s = d->cfg.grace_s;
    scfg.slurm_partition = d->cfg.slurm_partition;
    scfg.slurm_account = d->cfg.slurm_account;
    scfg.slurm_time_limit = d->cfg.slurm_time_limit;
    scfg.slurm_bin = d->cfg.slurm_bin;
    scfg.slurm_mpi = d->cfg.slurm_mpi;
    scfg.slurm_poll_s = d->cfg.slurm_poll_s;
    if ((rc = ingest_create(&d->ingest, d->store, err, err_sz)) != 0 ||
        (rc = sched_create(&d->sched, &scfg, d->store, d->ingest, err, err_sz)) != 0) {
        return rc;
    }
    ingest_set_notify(d->ingest, note_ingested, d->api);
    if (d->cfg.ingest_events) {
        char why[256];
        if (!(d->watch = run_watch_create(AG_RUN_METRICS, why, sizeof(why)))) {
            ag_log_warn("%s; metric lines are read every %.2f s", why, d->cfg.ingest_s);
        }
    }
    if (d->stream) {
        ingest_set_row_hook(d->ingest, publish_row, d->stream);
        sched_set_state_hook(d->sched, publish_state, d->stream);
    }
    if ((rc = daemon_begin_life(d, err, err_sz)) != 0) {
        return rc;
    }
    return sched_recover(d->sched, &d->adopted, &d->requeued, err, err_sz);
}

static void install_signal_handlers(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
}

/* ---- cron: periodic jobs, each with its own period ---- */

typedef struct CronJob {
    const char *name;
    double period_s;
    void (*run)(Sched *s);
    double next_at;
} CronJob;

enum { CRON_WATCH = 0, CRON_INGEST, CRON_START, CRON_ROLLUP, CRON_ALIVE, CRON_JOBS };

/* the live runs' directories become the watched set; only after the jobs that change which runs
 * live */
static void daemon_rewatch(Daemon *d) {
    static char dirs[DAEMON_WATCH_MAX][PATH_MAX];
    const char *names[DAEMON_WATCH_MAX];
    int n = sched_metric_dirs(d->sched, dirs, DAEMON_WATCH_MAX);
    for (int i = 0; i < n; i++) {
        names[i] = dirs[i];
    }
    run_watch_sync(d->watch, names, n);
}

/* runs every job that is due, then sleeps until the next one is (never past a stop request by
 * more than the shortest period); a metric line written by a live run makes ingestion due at
 * once */
static void daemon_cron(Daemon *d) {
    CronJob jobs[CRON_JOBS] = {
        [CRON_WATCH] = {"watch runs", d->cfg.tick_s, sched_watch, 0},
        [CRON_INGEST] = {"ingest metrics", d->cfg.ingest_s, sched_ingest, 0},
        [CRON_START] = {"start queued runs", d->cfg.queue_s, sched_start_queued, 0},
        [CRON_ROLLUP] = {"roll up metrics", d->cfg.ingest_s, sched_rollup, 0},
        [CRON_ALIVE] = {"mark alive", sched_alive_period(), sched_mark_alive, 0},
    };
    while (!stop_requested) {
        double now = ag_time_now(), next = now + 1.0;
        int live_changed = 0;
        for (size_t i = 0; i < CRON_JOBS; i++) {
            if (now >= jobs[i].next_at) {
                jobs[i].run(d->sched);
                jobs[i].next_at = now + jobs[i].period_s;
                live_changed |= i == CRON_WATCH || i == CRON_START;
            }
            next = jobs[i].next_at < next ? jobs[i].next_at : next;
        }
        if (live_changed && d->watch) {
            daemon_rewatch(d);
        }
        if (run_watch_wait(d->watch, next - ag_time_now())) {
            jobs[CRON_INGEST].next_at = 0;
        }
    }
}

/* no new requests, then the runs as configured: left running, or checkpointed and queued */
static void daemon_shutdown(Daemon *d) {
    char err[512];
    ag_log_info("stopping");
    api_quiesce(d->api);
    if (d->cfg.shutdown == DAEMON_SHUTDOWN_CHECKPOINT && sched_live(d->sched) > 0) {
        ag_log_info("asking %d run(s) to checkpoint", sched_live(d->sched));
        if (sched_checkpoint_all(d->sched, d->cfg.grace_s) != 0) {
            ag_log_warn("some runs did not stop within %.1f s; they are left running",
                        d->cfg.grace_s);
        }
    } else if (sched_live(d->sched) > 0) {
        sched_tick(d->sched);
        ag_log_info("leaving %d run(s) running; the next start adopts them", sched_live(d->sched));
    }
    /* last: the next start knows this life ended cleanly */
    if (d->life_id > 0 &&
        store_life_stopped(d->store, d->life_id, ag_time_wall(), err, sizeof(err)) != 0) {
        ag_log_warn("%s", err);
    }
}

static void daemon_close(Daemon *d) {
    api_destroy(d->api);
    stream_destroy(d->stream);
    sched_destroy(d->sched);
    ingest_destroy(d->ingest);
    run_watch_destroy(d->watch);
    store_close(d->store);
    if (d->lock_fd >= 0) {
        close(d->lock_fd);
    }
}

static void write_port_file(const Daemon *d) {
    char text[16], err[512];
    if (!d->cfg.port_file[0]) {
        return;
    }
    snprintf(text, sizeof(text), "%d\n", api_port(d->api));
    if (ag_fs_write_atomic(d->cfg.port_file, text, strlen(text), err, sizeof(err)) != 0) {
        ag_log_warn("%s", err);
    }
}

int main(int argc, char **argv) {
    static Daemon d = {.lock_fd = -1};
    char err[1024], trainer[PATH_MAX];
    int rc, status = 1;
    double t_start = ag_time_now();

    /* configuration */
    snprintf(trainer, sizeof(trainer), "%s", ANGORAD_DEFAULT_TRAINER);
    daemon_config_defaults(&d.cfg, trainer);
    snprintf(d.cfg.analyzer, sizeof(d.cfg.analyzer), "%s", ANGORAD_DEFAULT_ANALYZER);
    rc = parse_args(&d.cfg, argc, argv, err, sizeof(err));
    if (rc == 1) {
        return 0;
    }
    if (rc) {
        fprintf(stderr, "angorad: %s\n", err);
        usage(stderr);
        return 2;
    }
    ag_log_set_level((AgLogLevel)ag_log_level_parse(d.cfg.log_level));
    ag_log_set_tag("angorad");
    /* every file angorad and its trainers create (database, WAL, run directories, checkpoints,
     * logs) is readable by its owner only */
    umask(077);

    if (daemon_open_data_dir(&d, err, sizeof(err)) != 0 ||
        daemon_open_store(&d, err, sizeof(err)) != 0 ||
        daemon_open_tokens(&d, err, sizeof(err)) != 0 ||
        daemon_open_http(&d, err, sizeof(err)) != 0 ||
        daemon_open_stream(&d, err, sizeof(err)) != 0 ||
        daemon_open_sched(&d, err, sizeof(err)) != 0) {
        ag_log_error("%s", err);
        goto out;
    }
    install_signal_handlers();
    write_port_file(&d);
    ag_log_info("ready on http://%s:%d in %.3f s (%d run(s) adopted, %d recovered; %d cores, "
                "trainer %s, analyzer %s)",
                d.cfg.bind, api_port(d.api), ag_time_now() - t_start, d.adopted, d.requeued,
                d.cfg.max_cores, d.cfg.trainer, d.cfg.analyzer);

    daemon_cron(&d);
    daemon_shutdown(&d);
    status = 0;
out:
    daemon_close(&d);
    return status;
}
