/* angorad: the long-running service of angora. main reads as a sequence: configuration, data
 * directory, database and migrations, tokens, HTTP, scheduler recovery, then the cron loop until
 * SIGTERM/SIGINT. */
#include "api.h"
#include "daemon.h"
#ifdef ANGORAD_HAVE_STREAM
#include "stream.h"
#endif

#include "ag_error.h"
#include "ag_fs.h"
#include "ag_log.h"
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
            "  --mpirun PATH         mpirun for runs with several ranks\n"
            "  --hostfile FILE       MPI hostfile\n"
            "  --max-cores N         cores the runs may use together\n"
            "  --max-attempts N      starts of a crashing run before it fails\n"
            "  --grace-seconds S     SIGTERM to SIGKILL on cancel\n"
            "  --tick-seconds S      scheduler period\n"
            "  --on-shutdown MODE    leave (default) or checkpoint the runs on SIGTERM\n"
            "  --integrity-check yes|no  full database check at start (default yes)\n"
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
        {"mpirun", required_argument, NULL, 0},
        {"hostfile", required_argument, NULL, 0},
        {"max-cores", required_argument, NULL, 0},
        {"max-attempts", required_argument, NULL, 0},
        {"grace-seconds", required_argument, NULL, 0},
        {"tick-seconds", required_argument, NULL, 0},
        {"on-shutdown", required_argument, NULL, 0},
        {"integrity-check", required_argument, NULL, 0},
        {"log-level", required_argument, NULL, 0},
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

#ifdef ANGORAD_HAVE_STREAM
/* the live stream hears of every committed row and every state change */
static void publish_row(void *ctx, int64_t exp_id, int64_t seq, const char *row, size_t len) {
    stream_publish_row(ctx, exp_id, seq, row, len);
}

static void publish_state(void *ctx, int64_t exp_id, const char *state, const char *reason) {
    stream_publish_state(ctx, exp_id, state, reason);
}
#endif

int main(int argc, char **argv) {
    DaemonConfig cfg;
    char err[1024], path[PATH_MAX + 32], runs[PATH_MAX + 32], mig[PATH_MAX], web[PATH_MAX];
    char trainer[PATH_MAX];
    Store *store = NULL;
    Api *api = NULL;
    Ingest *ingest = NULL;
    Sched *sched = NULL;
#ifdef ANGORAD_HAVE_STREAM
    Stream *stream = NULL;
#endif
    ApiConfig acfg;
    SchedConfig scfg;
    struct sigaction sa;
    int rc, lock_fd = -1, created = 0, adopted = 0, requeued = 0, status = 1, version = 0;
    double t_start = ag_time_now();

    /* configuration */
    snprintf(trainer, sizeof(trainer), "%s", ANGORAD_DEFAULT_TRAINER);
    daemon_config_defaults(&cfg, trainer);
    rc = parse_args(&cfg, argc, argv, err, sizeof(err));
    if (rc == 1) {
        return 0;
    }
    if (rc) {
        fprintf(stderr, "angorad: %s\n", err);
        usage(stderr);
        return 2;
    }
    ag_log_set_level((AgLogLevel)ag_log_level_parse(cfg.log_level));
    ag_log_set_tag("angorad");

    /* data directory */
    snprintf(runs, sizeof(runs), "%s/runs", cfg.data_dir);
    if (ag_fs_mkdir_p(cfg.data_dir, 0700, err, sizeof(err)) != 0 ||
        ag_fs_mkdir_p(runs, 0755, err, sizeof(err)) != 0) {
        ag_log_error("%s", err);
        return 1;
    }
    if (lock_data_dir(cfg.data_dir, &lock_fd, err, sizeof(err)) != 0) {
        ag_log_error("%s", err);
        return 1;
    }

    /* database and migrations */
    snprintf(path, sizeof(path), "%s/angorad.db", cfg.data_dir);
    if (ag_fs_data_path("migrations", mig, sizeof(mig)) != 0) {
        ag_log_error("data directory path too long");
        goto out;
    }
    if (store_open(path, &store, err, sizeof(err)) != 0 ||
        store_migrate(store, mig, 0, NULL, err, sizeof(err)) != 0 ||
        store_schema_version(store, &version, err, sizeof(err)) != 0) {
        ag_log_error("%s", err);
        goto out;
    }
    if (cfg.integrity_check && store_integrity_check(store, err, sizeof(err)) != 0) {
        ag_log_error("%s (restore a backup or move %s away)", err, path);
        goto out;
    }
    ag_log_info("database %s at schema version %d", path, version);

    /* tokens */
    snprintf(path, sizeof(path), "%s/token", cfg.data_dir);
    if (api_token_bootstrap(store, path, &created, err, sizeof(err)) != 0) {
        ag_log_error("%s", err);
        goto out;
    }
    if (created) {
        ag_log_info("new full-access token written to %s (mode 0600)", path);
    }

    /* http */
    if (ag_fs_data_path("web", web, sizeof(web)) != 0) {
        web[0] = '\0';
    }
    memset(&acfg, 0, sizeof(acfg));
    acfg.bind_addr = cfg.bind;
    acfg.port = cfg.port;
    acfg.max_connections = cfg.max_connections;
    acfg.connection_timeout_s = cfg.connection_timeout_s;
    acfg.threads = cfg.http_threads;
    acfg.max_body = API_MAX_BODY_DEFAULT;
    acfg.web_dir = web;
    acfg.runs_root = runs;
    acfg.trainer = cfg.trainer;
    acfg.max_cores = cfg.max_cores;
    if (api_create(&api, &acfg, store, err, sizeof(err)) != 0 ||
        api_listen(api, err, sizeof(err)) != 0) {
        ag_log_error("%s", err);
        goto out;
    }

#ifdef ANGORAD_HAVE_STREAM
    /* websocket stream: next to the HTTP port (a free one when that was chosen freely) */
    if (cfg.stream_port != -1) {
        StreamConfig sc;
        memset(&sc, 0, sizeof(sc));
        sc.bind = cfg.bind;
        sc.port = cfg.stream_port >= 0 ? cfg.stream_port : (cfg.port ? cfg.port + 1 : 0);
        if (stream_create(&stream, &sc, store, err, sizeof(err)) != 0) {
            ag_log_error("%s", err);
            goto out;
        }
        api_set_ws_port(api, stream_port(stream));
        api_set_state_hook(api, publish_state, stream);
    }
#endif

    /* scheduler, after recovering the runs of an earlier life */
    memset(&scfg, 0, sizeof(scfg));
    scfg.trainer = cfg.trainer;
    scfg.mpirun = cfg.mpirun;
    scfg.hostfile = cfg.hostfile;
    scfg.max_cores = cfg.max_cores;
    scfg.max_attempts = cfg.max_attempts;
    scfg.grace_s = cfg.grace_s;
    if (ingest_create(&ingest, store, err, sizeof(err)) != 0 ||
        sched_create(&sched, &scfg, store, ingest, err, sizeof(err)) != 0) {
        ag_log_error("%s", err);
        goto out;
    }
    ingest_set_notify(ingest, note_ingested, api);
#ifdef ANGORAD_HAVE_STREAM
    if (stream) {
        ingest_set_row_hook(ingest, publish_row, stream);
        sched_set_state_hook(sched, publish_state, stream);
    }
#endif
    if (sched_recover(sched, &adopted, &requeued, err, sizeof(err)) != 0) {
        ag_log_error("%s", err);
        goto out;
    }

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    if (cfg.port_file[0]) {
        char text[16];
        snprintf(text, sizeof(text), "%d\n", api_port(api));
        if (ag_fs_write_atomic(cfg.port_file, text, strlen(text), err, sizeof(err)) != 0) {
            ag_log_warn("%s", err);
        }
    }
    ag_log_info("ready on http://%s:%d in %.3f s (%d run(s) adopted, %d recovered; %d cores, "
                "trainer %s)",
                cfg.bind, api_port(api), ag_time_now() - t_start, adopted, requeued, cfg.max_cores,
                cfg.trainer);

    /* cron */
    while (!stop_requested) {
        sched_tick(sched);
        ag_time_sleep(cfg.tick_s);
    }

    /* shutdown: no new requests, then the runs as configured */
    ag_log_info("stopping");
    api_quiesce(api);
    if (cfg.shutdown == DAEMON_SHUTDOWN_CHECKPOINT && sched_live(sched) > 0) {
        ag_log_info("asking %d run(s) to checkpoint", sched_live(sched));
        if (sched_checkpoint_all(sched, cfg.grace_s) != 0) {
            ag_log_warn("some runs did not stop within %.1f s; they are left running", cfg.grace_s);
        }
    } else if (sched_live(sched) > 0) {
        sched_tick(sched);
        ag_log_info("leaving %d run(s) running; the next start adopts them", sched_live(sched));
    }
    status = 0;
out:
    api_destroy(api);
#ifdef ANGORAD_HAVE_STREAM
    stream_destroy(stream);
#endif
    sched_destroy(sched);
    ingest_destroy(ingest);
    store_close(store);
    if (lock_fd >= 0) {
        close(lock_fd);
    }
    return status;
}
