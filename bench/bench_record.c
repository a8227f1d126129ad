/* Activation recording benchmark: what angora-train --record-activations costs next to a plain
 * evaluation of the same episodes, per environment step, with the `simple` model on CartPole and
 * Hopper (docs/benchmarks.md, Activation recording):
 *
 *   bench_record [--episodes N] [--rounds R] [--dir DIR] [--task NAME]...
 *
 * DESIGN: both sides run the same deterministic episodes of one policy (random weights: the
 * cost of a step does not depend on them; deterministic episodes do not depend on the wave).
 * The recording's time is split into collection (probes, staging, task variables: what the
 * evaluation loop pays) and the HDF5 writer (compression and disk), which the writer's callers
 * time separately. The two sides run in alternating rounds and the best round of each counts,
 * since the machine may be shared. Prints a Markdown table; the file goes to DIR (default /tmp)
 * and is removed.
 */
#include "ag_time.h"
#include "rl_ppo.h"
#include "train_activations.h"

#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define BENCH_MAX_TASKS 8

typedef struct BenchFigures {
    double eval_s, value_s, probe_s, collect_s, write_s, record_s;
    int64_t steps;
    double file_mb;
    int layers, datasets;
} BenchFigures;

static RlTrainer *bench_trainer(const char *task, json_t **spec_json) {
    char text[512], err[512] = "";
    snprintf(text, sizeof text,
             "{\"task\": \"%s\", \"model\": \"simple\", \"seed\": 11, \"ppo\": {\"envs_per_rank\":"
             " 1, \"horizon\": 64, \"minibatch\": 64}}",
             task);
    AgSpec spec;
    AgJsonErr je;
    RlTrainer *t = NULL;
    if (ag_spec_parse_text(text, strlen(text), &spec, &je) != 0 ||
        rl_trainer_create(&t, &spec, MPI_COMM_SELF, err, sizeof err) != 0) {
        fprintf(stderr, "bench_record: %s: %s\n", task, err[0] ? err : je.reason);
        exit(1);
    }
    *spec_json = ag_spec_to_json(&spec);
    ag_spec_free(&spec);
    return t;
}

static void bench_task(const char *task, int episodes, int rounds, const char *dir,
                       BenchFigures *best) {
    json_t *spec;
    RlTrainer *t = bench_trainer(task, &spec);
    char path[1024], err[512] = "";
    snprintf(path, sizeof path, "%s/bench_record-%d.h5", dir, (int)getpid());
    memset(best, 0, sizeof *best);
    const NnModel *m = rl_trainer_model(t);
    float **probes = calloc((size_t)nn_model_num_probes(m) + 1, sizeof *probes);
    for (int k = 0; probes && k < nn_model_num_probes(m); k++) {
        probes[k] = malloc((size_t)RL_EVAL_WAVE * nn_model_probe(m, k)->size * sizeof(float));
        if (!probes[k]) {
            exit(1);
        }
    }
    if (!probes) {
        exit(1);
    }
    for (int r = 0; r < rounds; r++) {
        RlEvalResult ev;
        double t0 = ag_time_now();
        if (rl_trainer_evaluate(t, episodes, 1, 5, &ev, err, sizeof err) != 0) {
            fprintf(stderr, "bench_record: evaluation: %s\n", err);
            exit(1);
        }
        double eval_s = ag_time_now() - t0;
        /* the same episodes with the value network as well, then with the probes as well: where
         * the recording's time goes */
        RlEvalObserver bare = {0};
        t0 = ag_time_now();
        rl_trainer_evaluate_observed(t, episodes, 1, 5, &bare, &ev, err, sizeof err);
        double value_s = ag_time_now() - t0;
        bare.probes = probes;
        t0 = ag_time_now();
        rl_trainer_evaluate_observed(t, episodes, 1, 5, &bare, &ev, err, sizeof err);
        double probe_s = ag_time_now() - t0;
        TrainActOpts o = {
            .out = path, .spec = spec, .episodes = episodes, .deterministic = 1, .seed = 5};
        TrainActResult res;
        if (train_activations_record(t, &o, &res, err, sizeof err) != 0) {
            fprintf(stderr, "bench_record: recording: %s\n", err);
            exit(1);
        }
        if ((int64_t)(ev.length_mean * episodes + 0.5) != res.steps) {
            fprintf(stderr, "bench_record: the recording took other episodes\n");
            exit(1);
        }
        struct stat sb;
        double mb = stat(path, &sb) == 0 ? (double)sb.st_size / 1e6 : 0.0;
        unlink(path);
        double collect_s = res.seconds - res.write_seconds;
        if (r == 0 || eval_s < best->eval_s) {
            best->eval_s = eval_s;
        }
        if (r == 0 || value_s < best->value_s) {
            best->value_s = value_s;
        }
        if (r == 0 || probe_s < best->probe_s) {
            best->probe_s = probe_s;
        }
        if (r == 0 || collect_s < best->collect_s) {
            best->collect_s = collect_s;
        }
        if (r == 0 || res.write_seconds < best->write_s) {
            best->write_s = res.write_seconds;
        }
        if (r == 0 || res.seconds < best->record_s) {
            best->record_s = res.seconds;
        }
        best->steps = res.steps;
        best->file_mb = mb;
        best->datasets = res.datasets;
        best->layers = nn_model_num_probes(rl_trainer_model(t));
    }
    for (int k = 0; k < nn_model_num_probes(m); k++) {
        free(probes[k]);
    }
    free(probes);
    json_decref(spec);
    rl_trainer_destroy(t);
}

int main(int argc, char **argv) {
    const char *tasks[BENCH_MAX_TASKS] = {"CartPole", "Hopper"};
    int ntasks = 0, episodes = 200, rounds = 5;
    const char *dir = "/tmp";
    for (int i = 1; i < argc; i++) {
        int more = i + 1 < argc;
        if (strcmp(argv[i], "--episodes") == 0 && more) {
            episodes = atoi(argv[++i]);
        } else if (strcmp(argv[i], "--rounds") == 0 && more) {
            rounds = atoi(argv[++i]);
        } else if (strcmp(argv[i], "--dir") == 0 && more) {
            dir = argv[++i];
        } else if (strcmp(argv[i], "--task") == 0 && more && ntasks < BENCH_MAX_TASKS) {
            tasks[ntasks++] = argv[++i];
        } else {
            fprintf(stderr, "usage: %s [--episodes N] [--rounds R] [--dir DIR] [--task NAME]...\n",
                    argv[0]);
            return 2;
        }
    }
    if (episodes < 1 || rounds < 1) {
        fprintf(stderr, "bench_record: --episodes and --rounds must be positive\n");
        return 2;
    }
    ntasks = ntasks ? ntasks : 2;
    MPI_Init(&argc, &argv);
    printf("| task | steps | layers | datasets | evaluation us/step | + value network | + probes | "
           "recording us/step (collection) | slowdown | writer us/step (compression + disk) | "
           "with the writer | file MB |\n");
    printf("|---|---|---|---|---|---|---|---|---|---|---|---|\n");
    for (int k = 0; k < ntasks; k++) {
        BenchFigures b;
        bench_task(tasks[k], episodes, rounds, dir, &b);
        double n = (double)b.steps;
        printf("| %s | %lld | %d | %d | %.2f | %.2f | %.2f | %.2f | %+.1f %% | %.2f | %+.1f %% | "
               "%.2f |\n",
               tasks[k], (long long)b.steps, b.layers, b.datasets, b.eval_s / n * 1e6,
               b.value_s / n * 1e6, b.probe_s / n * 1e6, b.collect_s / n * 1e6,
               (b.collect_s / b.eval_s - 1.0) * 100.0, b.write_s / n * 1e6,
               (b.record_s / b.eval_s - 1.0) * 100.0, b.file_mb);
        fflush(stdout);
    }
    MPI_Finalize();
    return 0;
}
