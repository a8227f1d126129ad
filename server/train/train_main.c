/* angora-train: one experiment from a JSON spec to metrics and checkpoints, alone or under
 * mpirun with R ranks; also evaluates a checkpoint and lists the task catalogue.
 *
 *   angora-train SPEC.json --run-dir DIR [--resume] [--quiet] [--stop-after N]
 *   angora-train --run-dir DIR --resume            (the spec is DIR/spec.json)
 *   angora-train --evaluate CHECKPOINT [--episodes N] [--deterministic] [--seed S]
 *                [--record FILE.mp4] [--trajectory FILE.json] [--record-size WxH]
 *   angora-train --record-activations CHECKPOINT --out FILE.h5 [--episodes N] [--deterministic]
 *                [--seed S] [--pool-conv]
 *   angora-train --pretrain-data SPEC.json --out FILE.h5
 *   angora-train --pretrain SPEC.json --run-dir DIR [--resume] [--quiet] [--stop-after N]
 *   angora-train --pretrain-evaluate CHECKPOINT --data FILE.h5
 *   angora-train --list-tasks
 *   angora-train --check SPEC.json  (prints a verdict; no run directory)
 *   angora-train --help
 *
 * Exit status: 0 done (or stopped by --stop-after), 1 runtime error, 2 usage or bad input
 * (spec, task, run directory, checkpoint), 3 interrupted by SIGTERM/SIGINT after writing
 * checkpoints/last.ckpt. A training run that fails with 1 or 2 says why in DIR/error.json.
 * docs/training.md has the details. */
#include "train_commands.h"
#include "train_pretrain.h"
#include "train_record.h"
#include "train_init.h"
#include "train_run.h"

#include "ag_error.h"
#include "ag_rundir.h"
#include "ag_fs.h"
#include "ag_log.h"
#include "ag_spec.h"
#include "ag_time.h"
#include "rl_ppo.h"

#include <cblas.h>
#include <math.h>
#include <mpi.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/lsan_interface.h>
#endif

#define LAST_CKPT_PERIOD_S 60.0
#define STATUS_PERIOD_S    5.0

static volatile sig_atomic_t g_stop;

static void on_signal(int sig) {
    (void)sig;
    g_stop = 1;
}

static void usage(FILE *f) {
    fprintf(f,
            "usage: angora-train SPEC.json --run-dir DIR [--resume] [--quiet] "
            "[--stop-after N]\n"
            "       angora-train --run-dir DIR --resume\n"
            "       angora-train --evaluate CHECKPOINT [--episodes N] [--deterministic] "
            "[--seed S]\n"
            "                    [--record FILE.mp4] [--trajectory FILE.json] "
            "[--record-size WxH]\n"
            "                    [--task-options JSON]\n"
            "       angora-train --record-activations CHECKPOINT --out FILE.h5 [--episodes N]\n"
            "                    [--deterministic] [--seed S] [--pool-conv] [--task-options JSON]\n"
            "       angora-train --pretrain-data SPEC.json --out FILE.h5\n"
            "       angora-train --pretrain SPEC.json --run-dir DIR [--resume] [--quiet] "
            "[--stop-after N]\n"
            "       angora-train --pretrain-check SPEC.json\n"
            "       angora-train --pretrain-evaluate CHECKPOINT --data FILE.h5\n"
            "       angora-train --list-tasks\n"
            "       angora-train --check SPEC.json\n"
            "       angora-train --help\n");
}

static int parse_args(int argc, char **argv, TrainArgs *a) {
    memset(a, 0, sizeof *a);
    a->episodes = 10;
    for (int i = 1; i < argc; i++) {
        const char *s = argv[i];
        int has_next = i + 1 < argc;
        if (strcmp(s, AG_TRAIN_RUN_DIR) == 0 && has_next) {
            a->run_dir = argv[++i];
        } else if (strcmp(s, AG_TRAIN_RESUME) == 0) {
            a->resume = 1;
        } else if (strcmp(s, AG_TRAIN_QUIET) == 0) {
            a->quiet = 1;
        } else if (strcmp(s, AG_TRAIN_LIST_TASKS) == 0) {
            a->list_tasks = 1;
        } else if (strcmp(s, AG_TRAIN_DETERMINISTIC) == 0) {
            a->deterministic = 1;
        } else if (strcmp(s, AG_TRAIN_CHECK) == 0 && has_next) {
            a->check = argv[++i];
        } else if (strcmp(s, AG_TRAIN_PRETRAIN_DATA) == 0 && has_next) {
            a->pretrain_data = argv[++i];
        } else if (strcmp(s, AG_TRAIN_PRETRAIN) == 0 && has_next) {
            a->pretrain = argv[++i];
        } else if (strcmp(s, AG_TRAIN_PRETRAIN_CHECK) == 0 && has_next) {
            a->pretrain_check = argv[++i];
        } else if (strcmp(s, AG_TRAIN_PRETRAIN_EVALUATE) == 0 && has_next) {
            a->pretrain_evaluate = argv[++i];
        } else if (strcmp(s, AG_TRAIN_DATA) == 0 && has_next) {
            a->data = argv[++i];
        } else if (strcmp(s, AG_TRAIN_EVALUATE) == 0 && has_next) {
            a->evaluate = argv[++i];
        } else if (strcmp(s, AG_TRAIN_RECORD) == 0 && has_next) {
            a->record = argv[++i];
        } else if (strcmp(s, AG_TRAIN_RECORD_ACTIVATIONS) == 0 && has_next) {
            a->activations = argv[++i];
        } else if (strcmp(s, AG_TRAIN_OUT) == 0 && has_next) {
            a->out = argv[++i];
        } else if (strcmp(s, AG_TRAIN_TASK_OPTIONS) == 0 && has_next) {
            a->task_options = argv[++i];
        } else if (strcmp(s, AG_TRAIN_POOL_CONV) == 0) {
            a->pool_conv = 1;
        } else if (strcmp(s, AG_TRAIN_TRAJECTORY) == 0 && has_next) {
            a->trajectory = argv[++i];
        } else if (strcmp(s, AG_TRAIN_RECORD_SIZE) == 0 && has_next) {
            char err[256];
            if (train_record_parse_size(argv[++i], &a->record_width, &a->record_height, err,
                                        sizeof err)) {
                fprintf(stderr, "angora-train: %s\n", err);
                return -1;
            }
        } else if ((strcmp(s, AG_TRAIN_EPISODES) == 0 || strcmp(s, AG_TRAIN_STOP_AFTER) == 0 ||
                    strcmp(s, AG_TRAIN_SEED) == 0) &&
                   has_next) {
            char *end;
            const char *v = argv[++i];
            long long n = strtoll(v, &end, 10);
            if (*v == '\0' || *end != '\0' || n < (strcmp(s, AG_TRAIN_SEED) == 0 ? 0 : 1)) {
                fprintf(stderr, "angora-train: %s needs a positive whole number, got '%s'\n", s, v);
                return -1;
            }
            if (strcmp(s, AG_TRAIN_EPISODES) == 0) {
                if (n > 100000) {
                    fprintf(stderr, "angora-train: --episodes at most 100000\n");
                    return -1;
                }
                a->episodes = (int)n;
            } else if (strcmp(s, AG_TRAIN_STOP_AFTER) == 0) {
                a->stop_after = n;
            } else {
                a->seed = (unsigned long long)n;
                a->have_seed = 1;
            }
        } else if (strcmp(s, "--help") == 0) {
            fprintf(stderr, "angora-train: --help goes alone\n");
            return -1;
        } else if (s[0] == '-' && s[1] == '-') {
            fprintf(stderr, "angora-train: unknown option %s (or its value is missing)\n", s);
            return -1;
        } else if (!a->spec_path) {
            a->spec_path = s;
        } else {
            fprintf(stderr, "angora-train: unexpected argument %s\n", s);
            return -1;
        }
    }
    if ((a->record || a->trajectory || a->record_width) && !a->evaluate) {
        fprintf(stderr, "angora-train: --record, --trajectory and --record-size need --evaluate\n");
        return -1;
    }
    if (a->task_options && !a->evaluate && !a->activations) {
        fprintf(stderr, "angora-train: --task-options needs --evaluate or --record-activations\n");
        return -1;
    }
    if (!a->pretrain_evaluate != !a->data) {
        fprintf(stderr, "angora-train: --pretrain-evaluate CHECKPOINT needs --data FILE.h5, and "
                        "--data goes only with it\n");
        return -1;
    }
    if (a->pretrain_evaluate) {
        if (a->spec_path || a->run_dir || a->resume || a->evaluate || a->activations || a->out ||
            a->check || a->pretrain || a->pretrain_data || a->pretrain_check || a->list_tasks) {
            fprintf(stderr, "angora-train: --pretrain-evaluate CHECKPOINT --data FILE.h5 goes "
                            "alone\n");
            return -1;
        }
        return 0;
    }
    if (a->pretrain_data || a->pretrain) {
        if (a->pretrain_data ? !a->out || a->run_dir || a->pretrain || a->resume || a->stop_after
                             : !a->run_dir || a->out) {
            fprintf(stderr, "angora-train: --pretrain-data needs --out FILE.h5 (and no --resume "
                            "or --stop-after), --pretrain needs --run-dir DIR\n");
            return -1;
        }
        return 0;
    }
    if ((a->out || a->pool_conv) && !a->activations) {
        fprintf(stderr, "angora-train: --out and --pool-conv need --record-activations\n");
        return -1;
    }
    if (a->activations && (a->evaluate || a->out == NULL || a->out[0] == '\0')) {
        fprintf(stderr, "angora-train: --record-activations needs --out FILE.h5 and no "
                        "--evaluate\n");
        return -1;
    }
    if (a->list_tasks || a->evaluate || a->activations || a->check || a->pretrain_check) {
        return 0;
    }
    if (!a->run_dir) {
        fprintf(stderr, "angora-train: --run-dir is required for training\n");
        return -1;
    }
    if (!a->spec_path && !a->resume) {
        fprintf(stderr, "angora-train: a spec file is required (or --resume)\n");
        return -1;
    }
    return 0;
}

/* rank 0 reads the spec text and shares it, so only rank 0 needs the file */
static char *spec_text_share(const TrainArgs *a, int rank, char *err, size_t err_sz) {
    char *text = NULL;
    long long len = -1;
    if (rank == 0) {
        char path[TRAIN_PATH_MAX];
        const char *p = a->spec_path;
        if (!p) {
            train_path(path, sizeof path, a->run_dir, AG_RUN_SPEC);
            p = path;
        }
        size_t n = 0;
        if (ag_fs_read_file(p, TRAIN_SPEC_MAX_BYTES, &text, &n, err, err_sz) == 0) {
            len = (long long)n;
        }
    }
    MPI_Bcast(&len, 1, MPI_LONG_LONG, 0, MPI_COMM_WORLD);
    if (len < 0) {
        return NULL;
    }
    if (rank != 0) {
        text = calloc((size_t)len + 1, 1);
    }
    MPI_Bcast(text, (int)len + 1, MPI_CHAR, 0, MPI_COMM_WORLD);
    return text;
}

/* all ranks agree on one integer (the most severe = largest) */
static int agree_max(int v) {
    MPI_Allreduce(MPI_IN_PLACE, &v, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
    return v;
}

static int save_ckpt(RlTrainer *t, const char *dir, const char *name, char *err, size_t err_sz) {
    char path[TRAIN_PATH_MAX], rel[128];
    snprintf(rel, sizeof rel, AG_RUN_CHECKPOINTS "/%s", name);
    if (train_path(path, sizeof path, dir, rel)) {
        return ag_errorf(err, err_sz, AG_ETOOBIG, "checkpoint path too long");
    }
    return rl_trainer_save(t, path, err, err_sz);
}

/* one training run: what the steps of train() share */
typedef struct TrainRun {
    const TrainArgs *a;
    int rank, nranks;
    AgSpec spec;
    int spec_ok;
    RlTrainer *t;
    FILE *metrics, *log; /* rank 0 only */
    int resumed;
    double wall_offset;              /* wall_s of the last metrics line kept on resume */
    double cpu_offset;               /* its cpu_s (NAN: unknown, so none is written) */
    int64_t total;                   /* the budget in iterations */
    char err[1024];                  /* the last error; a failed run's status message */
    char err_path[AG_JSON_PATH_MAX]; /* the spec's part at fault ("" when none is known) */
} TrainRun;

/* when the loop's timed jobs last ran (seconds of ag_time_now) */
typedef struct TrainClock {
    double start, last_ckpt, last_status;
} TrainClock;

/* The open steps return 0, or the exit status to stop with. Every rank takes every step and
 * every rank fails at the same one (the outcome is agreed, or the same input fails alike). */

/* rank 0 reads the spec, every rank parses the same text; the communicator's size wins over
 * the rank count the spec asks for */
static int train_open_spec(TrainRun *r) {
    char *text = spec_text_share(r->a, r->rank, r->err, sizeof r->err);
    if (!text) {
        if (r->rank == 0) {
            fprintf(stderr, "angora-train: spec: %s\n", r->err);
        }
        return AG_EXIT_USAGE;
    }
    AgJsonErr je;
    int rc = ag_spec_parse_text(text, strlen(text), &r->spec, &je);
    free(text);
    if (rc) {
        if (r->rank == 0) {
            ag_json_err_format(&je, r->err, sizeof r->err);
            snprintf(r->err_path, sizeof r->err_path, "%s", je.path);
            fprintf(stderr, "angora-train: invalid spec: %s\n", r->err);
        }
        return AG_EXIT_USAGE;
    }
    r->spec_ok = 1;
    if (r->spec.ranks != r->nranks && r->rank == 0) {
        fprintf(stderr, "angora-train: spec asks for %d ranks, running with %d\n", r->spec.ranks,
                r->nranks);
    }
    r->spec.ranks = r->nranks;
    return 0;
}

/* the run directory, made and checked by rank 0 (which writes everything) */
static int train_open_rundir(TrainRun *r) {
    int bad = 0;
    if (r->rank == 0 && train_rundir_prepare(r->a->run_dir, r->a->resume, r->err, sizeof r->err)) {
        fprintf(stderr, "angora-train: %s\n", r->err);
        bad = 1;
    }
    return agree_max(bad) ? AG_EXIT_USAGE : 0;
}

static int train_open_trainer(TrainRun *r) {
    int rc = rl_trainer_create(&r->t, &r->spec, MPI_COMM_WORLD, r->err, sizeof r->err);
    if (agree_max(rc != 0)) {
        if (r->rank == 0) {
            char msg[sizeof r->err];
            if (!r->err[0]) {
                snprintf(r->err, sizeof r->err, "could not build the trainer");
            }
            /* which part of the spec: the check builds the same pieces and names it */
            if (rl_trainer_check(&r->spec, r->err_path, sizeof r->err_path, msg, sizeof msg) == 0) {
                r->err_path[0] = '\0';
            }
            fprintf(stderr, "angora-train: %s\n", r->err);
        }
        return AG_EXIT_USAGE;
    }
    r->total = rl_trainer_total_iterations(r->t);
    return 0;
}

/* --resume continues from checkpoints/last.ckpt when rank 0 finds one; without one (stopped
 * before the first checkpoint) the run starts from the beginning */
static int train_open_resume(TrainRun *r) {
    char path[TRAIN_PATH_MAX];
    int have = 0;
    if (!r->a->resume) {
        return 0;
    }
    if (r->rank == 0) {
        train_path(path, sizeof path, r->a->run_dir, AG_RUN_CHECKPOINTS "/" AG_RUN_CKPT_LAST);
        have = ag_fs_exists(path);
    }
    MPI_Bcast(&have, 1, MPI_INT, 0, MPI_COMM_WORLD);
    if (!have) {
        return 0;
    }
    train_path(path, sizeof path, r->a->run_dir, AG_RUN_CHECKPOINTS "/" AG_RUN_CKPT_LAST);
    if (rl_trainer_load(r->t, path, r->err, sizeof r->err)) {
        if (r->rank == 0) {
            fprintf(stderr, "angora-train: cannot resume: %s\n", r->err);
        }
        return AG_EXIT_USAGE;
    }
    r->resumed = 1;
    return 0;
}

/* a fresh run whose spec names init.checkpoint starts from that policy */
static int train_open_init(TrainRun *r) {
    if (train_init_start(r->t, &r->spec, r->a->run_dir, r->resumed, r->err, sizeof r->err)) {
        if (r->rank == 0) {
            snprintf(r->err_path, sizeof r->err_path, "init.checkpoint");
            fprintf(stderr, "angora-train: %s\n", r->err);
        }
        return AG_EXIT_USAGE;
    }
    return 0;
}

/* rank 0 opens what the loop writes: metrics.jsonl cut back to the iteration the run goes on
 * from, the resolved spec.json and train.log. Only now, with everything checked, may the run
 * directory change. */
static int train_open_outputs(TrainRun *r) {
    char path[TRAIN_PATH_MAX];
    char *err = r->err;
    const size_t err_sz = sizeof r->err;
    const char *dir = r->a->run_dir;
    int bad = 0;
    if (r->rank == 0) {
        /* an earlier attempt's reason for failing no longer holds */
        train_path(path, sizeof path, dir, AG_RUN_ERROR);
        unlink(path);
        train_path(path, sizeof path, dir, AG_RUN_METRICS);
        bad = train_metrics_truncate(path, rl_trainer_iteration(r->t), &r->wall_offset,
                                     &r->cpu_offset, err, err_sz) != 0;
        if (!bad) {
            r->metrics = fopen(path, "a");
            bad = r->metrics == NULL;
            if (bad) {
                ag_errorf(err, err_sz, AG_EIO, "cannot open %s", path);
            }
        }
        if (!bad) {
            json_t *sj = ag_spec_to_json(&r->spec);
            char *s = sj ? json_dumps(sj, JSON_INDENT(2) | JSON_SORT_KEYS) : NULL;
            json_decref(sj);
            train_path(path, sizeof path, dir, AG_RUN_SPEC);
            bad = !s || ag_fs_write_atomic(path, s, strlen(s), err, err_sz) != 0;
            free(s);
        }
        train_path(path, sizeof path, dir, AG_RUN_TRAIN_LOG);
        r->log = bad ? NULL : fopen(path, "a");
        if (!bad && !r->log) {
            bad = 1;
            ag_errorf(err, err_sz, AG_EIO, "cannot open %s", path);
        }
        if (bad) {
            fprintf(stderr, "angora-train: run directory: %s\n", err);
        }
    }
    if (agree_max(bad)) {
        return AG_EXIT_ERROR;
    }
    if (r->rank == 0) {
        setvbuf(r->log, NULL, _IOLBF, 0);
        ag_log_set_stream(r->log);
    }
    return 0;
}

typedef int (*TrainOpenStep)(TrainRun *r);

/* the open steps in their order: each needs what the ones before it made */
static const TrainOpenStep train_open_steps[] = {
    train_open_spec,   train_open_rundir, train_open_trainer,
    train_open_resume, train_open_init,   train_open_outputs,
};

static int train_open(TrainRun *r) {
    int code = 0;
    for (size_t i = 0; i < sizeof train_open_steps / sizeof train_open_steps[0] && !code; i++) {
        code = train_open_steps[i](r);
    }
    return code;
}

/* the first lines of train.log and the status "running" */
static void train_announce(TrainRun *r) {
    const AgSpec *spec = &r->spec;
    ag_log_info("angora-train %s: task %s, %d ranks x %d envs x %d steps, %lld iterations%s",
                spec->name, spec->task, r->nranks, spec->ppo.envs_per_rank, spec->ppo.horizon,
                (long long)r->total, r->resumed ? ", resumed" : "");
    if (r->spec.init.checkpoint[0] && !r->resumed) {
        ag_log_info("started from the policy of %s (SHA-256 %s)", r->spec.init.checkpoint,
                    r->spec.init.sha256);
    }
    if (r->resumed) {
        ag_log_info("resumed at iteration %lld", (long long)rl_trainer_iteration(r->t));
    }
    const char *blas_hint = train_blas_hint();
    if (blas_hint) {
        ag_log_warn("%s", blas_hint);
    }
    if (r->rank == 0) {
        train_status_write(r->a->run_dir, "running", rl_trainer_iteration(r->t), r->total,
                           r->nranks, NULL, r->err, sizeof r->err);
    }
}

/* The loop's steps after each iteration `it`; the last iteration of the budget is `last`. */

static int train_eval_due(const AgSpec *spec, int64_t it, int last) {
    return spec->eval.every > 0 && (it % spec->eval.every == 0 || last);
}

/* the deterministic evaluation on separate environments, on rank 0 (a failure is only
 * warned about); every rank learns its return and whether it beats the best so far, which
 * then becomes the trainer's best. *evaluated and *ev are set on rank 0 only. */
static int train_evaluate(TrainRun *r, RlEvalResult *ev, int *evaluated, double *eval_ret) {
    const AgSpec *spec = &r->spec;
    int improved = 0;
    if (r->rank == 0) {
        if (rl_trainer_evaluate(r->t, spec->eval.episodes, spec->eval.deterministic,
                                spec->seed ^ TRAIN_EVAL_SEED_MIX, ev, r->err, sizeof r->err) == 0) {
            *evaluated = 1;
            *eval_ret = ev->mean;
            double best = rl_trainer_best_eval(r->t);
            improved = isnan(best) || ev->mean > best;
        } else {
            ag_log_warn("evaluation failed: %s", r->err);
        }
    }
    double buf[2] = {*eval_ret, (double)improved};
    MPI_Bcast(buf, 2, MPI_DOUBLE, 0, MPI_COMM_WORLD);
    *eval_ret = buf[0];
    improved = buf[1] != 0.0;
    if (improved) {
        rl_trainer_set_best_eval(r->t, *eval_ret);
    }
    return improved;
}

/* one line of metrics.jsonl, flushed (rank 0); a run that cannot record what it learns stops
 * every rank at once */
static void train_metrics_append(TrainRun *r, const RlIterStats *st, double wall, double cpu,
                                 double iter_s, const RlEvalResult *ev) {
    json_t *m = train_metrics_json(st, wall, cpu, iter_s, ev);
    if (!m || json_dumpf(m, r->metrics, JSON_COMPACT) != 0 || fputc('\n', r->metrics) == EOF ||
        fflush(r->metrics) != 0) {
        json_decref(m);
        ag_log_error("cannot write metrics.jsonl");
        fprintf(stderr, "angora-train: cannot write metrics.jsonl\n");
        MPI_Abort(MPI_COMM_WORLD, AG_EXIT_ERROR);
    }
    json_decref(m);
}

/* the progress line on stdout (rank 0, unless --quiet) */
static void train_print_progress(const TrainRun *r, const RlIterStats *st, double iter_s,
                                 double eval_ret) {
    if (r->a->quiet) {
        return;
    }
    printf("iteration %lld/%lld  steps %lld  return %.2f  eval %.2f  sps %.0f\n",
           (long long)st->iteration, (long long)r->total, (long long)st->env_steps, st->return_mean,
           eval_ret, iter_s > 0 ? st->env_steps_iter / iter_s : 0.0);
    fflush(stdout);
}

/* Checkpoints (collective; rank 0 writes): best.ckpt when an evaluation beats the best,
 * iter-N.ckpt every checkpoint_every iterations and kept, last.ckpt (what --resume continues
 * from) whenever one of those periodic ones is written, after the last iteration, on a signal
 * or --stop-after, and at least every LAST_CKPT_PERIOD_S so a crash loses little. */

static int train_checkpoint_best(TrainRun *r) {
    if (save_ckpt(r->t, r->a->run_dir, AG_RUN_CKPT_BEST, r->err, sizeof r->err)) {
        ag_log_error("best checkpoint: %s", r->err);
        return -1;
    }
    return 0;
}

static int train_periodic_due(const AgSpec *spec, int64_t it) {
    return spec->checkpoint_every > 0 && it % spec->checkpoint_every == 0;
}

static int train_checkpoint_periodic(TrainRun *r, int64_t it) {
    char name[64];
    snprintf(name, sizeof name, AG_RUN_CKPT_ITER_FMT, (long long)it);
    if (save_ckpt(r->t, r->a->run_dir, name, r->err, sizeof r->err)) {
        ag_log_error("checkpoint: %s", r->err);
        return -1;
    }
    return 0;
}

/* last.ckpt when `must` (see above) or when LAST_CKPT_PERIOD_S have passed since the last */
static int train_checkpoint_last(TrainRun *r, int must, double now, TrainClock *c) {
    if (!must && now - c->last_ckpt < LAST_CKPT_PERIOD_S) {
        return 0;
    }
    if (save_ckpt(r->t, r->a->run_dir, AG_RUN_CKPT_LAST, r->err, sizeof r->err)) {
        ag_log_error("checkpoint: %s", r->err);
        fprintf(stderr, "angora-train: checkpoint: %s\n", r->err);
        return -1;
    }
    c->last_ckpt = now;
    return 0;
}

/* status.json "running" every STATUS_PERIOD_S (rank 0) */
static void train_status_when_due(TrainRun *r, int64_t it, double now, TrainClock *c) {
    if (r->rank == 0 && now - c->last_status >= STATUS_PERIOD_S) {
        train_status_write(r->a->run_dir, "running", it, r->total, r->nranks, NULL, r->err,
                           sizeof r->err);
        c->last_status = now;
    }
}

/* how the run ended, in train.log and status.json, and its exit status */
static int train_finish(TrainRun *r, int interrupted, int stopped) {
    int code;
    if (interrupted) {
        ag_log_info("interrupted at iteration %lld; checkpoints/last.ckpt written",
                    (long long)rl_trainer_iteration(r->t));
        code = AG_EXIT_INTERRUPTED;
    } else {
        ag_log_info("%s at iteration %lld", stopped ? "stopped" : "done",
                    (long long)rl_trainer_iteration(r->t));
        code = AG_EXIT_DONE;
    }
    if (r->rank == 0) {
        train_status_write(
            r->a->run_dir, interrupted ? "interrupted" : (stopped ? "stopped" : "done"),
            rl_trainer_iteration(r->t), r->total, r->nranks, NULL, r->err, sizeof r->err);
    }
    return code;
}

/* iterations until the budget is spent, a signal arrives on any rank or --stop-after is
 * reached; returns the exit status */
static int train_loop(TrainRun *r) {
    TrainClock c;
    c.start = c.last_ckpt = c.last_status = ag_time_now();
    const double cpu_start = ag_time_cpu();
    int interrupted = 0, stopped = 0;
    while (rl_trainer_iteration(r->t) < r->total) {
        RlIterStats st;
        double t0 = ag_time_now();
        if (rl_trainer_iterate(r->t, &st, r->err, sizeof r->err)) {
            ag_log_error("iteration failed: %s", r->err);
            fprintf(stderr, "angora-train: iteration failed: %s\n", r->err);
            return AG_EXIT_ERROR;
        }
        double iter_s = ag_time_now() - t0;
        int64_t it = st.iteration;
        int last = it >= r->total;

        /* evaluate when due; the best evaluation so far is kept as a checkpoint */
        double eval_ret = NAN;
        int evaluated = 0;
        RlEvalResult ev;
        memset(&ev, 0, sizeof ev);
        if (train_eval_due(&r->spec, it, last)) {
            int improved = train_evaluate(r, &ev, &evaluated, &eval_ret);
            if (improved && train_checkpoint_best(r)) {
                return AG_EXIT_ERROR;
            }
        }

        /* metrics */
        double wall = r->wall_offset + (ag_time_now() - c.start);
        /* core-hours as used, which a shared machine makes less than wall time x ranks */
        double cpu_mine = ag_time_cpu() - cpu_start, cpu_all = 0.0;
        MPI_Reduce(&cpu_mine, &cpu_all, 1, MPI_DOUBLE, MPI_SUM, 0, MPI_COMM_WORLD);
        if (r->rank == 0) {
            train_metrics_append(r, &st, wall, r->cpu_offset + cpu_all, iter_s,
                                 evaluated ? &ev : NULL);
            train_print_progress(r, &st, iter_s, eval_ret);
        }

        /* checkpoints; a signal on any rank stops them all after this iteration */
        int periodic = train_periodic_due(&r->spec, it);
        if (periodic && train_checkpoint_periodic(r, it)) {
            return AG_EXIT_ERROR;
        }
        interrupted = agree_max(g_stop ? 1 : 0);
        stopped = r->a->stop_after > 0 && it >= r->a->stop_after;
        double now = ag_time_now();
        if (train_checkpoint_last(r, last || interrupted || stopped || periodic, now, &c)) {
            return AG_EXIT_ERROR;
        }
        train_status_when_due(r, it, now, &c);
        if (interrupted || stopped) {
            break;
        }
    }
    return train_finish(r, interrupted, stopped);
}

/* what any run leaves: a failed run says so in status.json (rank 0), files are closed */
static void train_close(TrainRun *r, int code) {
    char msg[256];
    if (r->rank == 0 && (code == AG_EXIT_ERROR || code == AG_EXIT_USAGE) && r->a->run_dir &&
        ag_fs_is_dir(r->a->run_dir) &&
        train_error_write(r->a->run_dir, r->err[0] ? r->err : "the run failed", r->err_path,
                          code == AG_EXIT_USAGE, msg, sizeof msg) != 0) {
        fprintf(stderr, "angora-train: %s\n", msg);
    }
    if (r->rank == 0 && code == AG_EXIT_ERROR && r->t && r->a->run_dir) {
        train_status_write(r->a->run_dir, "failed", rl_trainer_iteration(r->t),
                           rl_trainer_total_iterations(r->t), r->nranks, r->err, r->err,
                           sizeof r->err);
    }
    ag_log_set_stream(NULL);
    if (r->metrics) {
        fclose(r->metrics);
    }
    if (r->log) {
        fclose(r->log);
    }
    rl_trainer_destroy(r->t);
    if (r->spec_ok) {
        ag_spec_free(&r->spec);
    }
}

/* a training run: open, loop, close */
static int train(const TrainArgs *a, int rank, int nranks) {
    TrainRun r;
    memset(&r, 0, sizeof r);
    r.a = a;
    r.rank = rank;
    r.nranks = nranks;
    int code = train_open(&r);
    if (code == 0) {
        train_announce(&r);
        code = train_loop(&r);
    }
    train_close(&r, code);
    return code;
}

int main(int argc, char **argv) {
    TrainArgs a;
    int rank = 0, nranks = 1, code;
    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &nranks);
    openblas_set_num_threads(1);
    if (argc == 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        if (rank == 0) {
            usage(stdout);
            printf("\nexit status: 0 done, 1 runtime error, 2 usage or bad input, 3 interrupted "
                   "(checkpoint written); docs/training.md\n");
        }
        MPI_Finalize();
        return AG_EXIT_DONE;
    }
    if (parse_args(argc, argv, &a) != 0) {
        if (rank == 0) {
            usage(stderr);
        }
        MPI_Finalize();
        return AG_EXIT_USAGE;
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    if (nranks > 1) {
        char tag[32];
        snprintf(tag, sizeof tag, "rank %d", rank);
        ag_log_set_tag(tag);
    }
    if (rank != 0) {
        ag_log_set_level(AG_LOG_WARN);
    }
    if (a.list_tasks) {
        code = rank == 0 ? train_cmd_list_tasks() : AG_EXIT_DONE;
    } else if (a.check) {
        code = rank == 0 ? train_cmd_check(&a) : AG_EXIT_DONE;
    } else if (a.pretrain_data) {
        code = rank == 0 ? train_pretrain_data_main(a.pretrain_data, a.out) : AG_EXIT_DONE;
    } else if (a.pretrain_evaluate) {
        code = rank == 0 ? train_pretrain_evaluate_main(a.pretrain_evaluate, a.data) : AG_EXIT_DONE;
    } else if (a.pretrain_check) {
        code = rank == 0 ? train_pretrain_check_main(a.pretrain_check) : AG_EXIT_DONE;
    } else if (a.pretrain) {
        TrainPretrainOptions po = {
            .resume = a.resume, .quiet = a.quiet, .stop = &g_stop, .stop_after = a.stop_after};
        code = rank == 0 ? train_pretrain_main(a.pretrain, a.run_dir, &po) : AG_EXIT_DONE;
    } else if (a.evaluate) {
        code = rank == 0 ? train_cmd_evaluate(&a) : AG_EXIT_DONE;
    } else if (a.activations) {
        code = rank == 0 ? train_cmd_record_activations(&a) : AG_EXIT_DONE;
    } else {
        code = train(&a, rank, nranks);
    }
#if defined(__SANITIZE_ADDRESS__)
    /* checked before MPI_Finalize unloads the MPI plugins, whose allocations would then be
     * unattributable */
    __lsan_do_leak_check();
#endif
    MPI_Finalize();
    return code;
}
