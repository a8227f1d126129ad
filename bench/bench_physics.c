/* Raw physics throughput of every MuJoCo task: one environment on one core stepped with
 * uniformly random actions (resetting at episode ends), reported as environment (control)
 * steps per second and physics substeps per second. Rates are per second of the thread's CPU
 * time (so that other programs sharing the machine do not distort them); the wall-clock rate is
 * shown as well. bench/run.sh runs it; docs/benchmarks.md shows the results.
 *
 *   bench_physics [--seconds S] [--task NAME] [--options JSON] [--baseline JSON] [--rounds N]
 *
 * --baseline measures every task a second time with other options in the same run (for
 * example HandBlock's {"physics": "legacy"}), in alternating rounds, and adds a table of the
 * speed-up; each row is the best of --rounds rounds (default 1, or 3 with --baseline).
 */
#include "env.h"
#include "mj_runtime.h"
#include "mj_tasks.h"

#include "ag_error.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double bench_clock(clockid_t id) {
    struct timespec ts;
    clock_gettime(id, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static const EnvClass *const bench_classes[] = {
    &env_mj_inverted_pendulum_class,
    &env_mj_inverted_double_pendulum_class,
    &env_mj_reacher_class,
    &env_mj_swimmer_class,
    &env_mj_hopper_class,
    &env_mj_half_cheetah_class,
    &env_mj_walker2d_class,
    &env_mj_ant_class,
    &env_mj_humanoid_class,
    &env_mj_hand_reach_class,
    &env_mj_hand_free_reach_class,
    &env_mj_hand_block_class,
    &env_mj_hand_block_z_class,
    &env_mj_hand_block_parallel_class,
};

typedef struct BenchResult {
    double sps;      /* env steps per CPU second */
    double substeps; /* per env step */
    double wall_sps;
    long episodes, unstable;
} BenchResult;

static int bench_run(const EnvClass *cls, double seconds, const json_t *options, BenchResult *res) {
    char err[512] = "";
    EnvTask task;
    memset(&task, 0, sizeof(task));
    task.cls = cls;
    int rc = cls->task_create(&task, options, err, sizeof(err));
    if (rc != 0) {
        fprintf(stderr, "%s: %s\n", cls->name, err);
        return rc;
    }
    void *state = calloc(1, cls->state_size);
    float *obs = calloc((size_t)task.spec.obs_size, sizeof(float));
    if (state == NULL || obs == NULL) {
        rc = AG_ENOMEM;
        goto out;
    }
    if (cls->env_create && (rc = cls->env_create(&task, state, err, sizeof(err))) != 0) {
        fprintf(stderr, "%s: %s\n", cls->name, err);
        goto out;
    }
    AgRng rng, arng;
    ag_rng_seed(&rng, 1, 0);
    ag_rng_seed(&arng, 2, 0);
    float action[ENV_MAX_ACTION_DIM];
    long steps = 0, episodes = 0, unstable = 0;
    int t = 0;
    cls->reset(&task, state, &rng, obs);
    double t0 = bench_clock(CLOCK_THREAD_CPUTIME_ID), t1 = t0;
    double w0 = bench_clock(CLOCK_MONOTONIC);
    while (t1 - t0 < seconds) {
        for (int k = 0; k < 256; k++) {
            for (int i = 0; i < task.spec.action_dim; i++) {
                action[i] = (float)ag_rng_uniform_range(&arng, task.spec.action_low[i],
                                                        task.spec.action_high[i]);
            }
            EnvStep out;
            cls->step(&task, state, &rng, action, obs, &out);
            steps++;
            t++;
            unstable += out.unstable;
            if (out.terminated || out.truncated || t >= task.spec.max_episode_steps) {
                cls->reset(&task, state, &rng, obs);
                episodes++;
                t = 0;
            }
        }
        t1 = bench_clock(CLOCK_THREAD_CPUTIME_ID);
    }
    double wall = bench_clock(CLOCK_MONOTONIC) - w0;
    double control_dt = task.spec.control_dt > 0 ? task.spec.control_dt : 0;
    /* substeps per control step from the spec's control step and the model's timestep */
    const mjModel *m = *(mjModel *const *)task.shared;
    res->sps = (double)steps / (t1 - t0);
    res->substeps = control_dt / m->opt.timestep;
    res->wall_sps = (double)steps / wall;
    res->episodes = episodes;
    res->unstable = unstable;
    cls->env_destroy(&task, state);
out:
    free(state);
    free(obs);
    cls->task_destroy(&task);
    return rc;
}

static void bench_row(const char *name, const char *suffix, const BenchResult *r) {
    printf("| %s%s | %.0f | %d | %.0f | %.1f | %.0f | %ld | %ld |\n", name, suffix, r->sps,
           (int)lround(r->substeps), r->sps * r->substeps, 1e6 / r->sps, r->wall_sps, r->episodes,
           r->unstable);
    fflush(stdout);
}

/* the best of `rounds` runs, alternating with the baseline's when there is one */
static int bench_task(const EnvClass *cls, double seconds, int rounds, const json_t *options,
                      const json_t *baseline, BenchResult *best, BenchResult *best_base) {
    memset(best, 0, sizeof(*best));
    memset(best_base, 0, sizeof(*best_base));
    for (int r = 0; r < rounds; r++) {
        BenchResult one;
        if (bench_run(cls, seconds, options, &one) != 0) {
            return 1;
        }
        if (one.sps > best->sps) {
            *best = one;
        }
        if (baseline == NULL) {
            continue;
        }
        if (bench_run(cls, seconds, baseline, &one) != 0) {
            return 1;
        }
        if (one.sps > best_base->sps) {
            *best_base = one;
        }
    }
    return 0;
}

static json_t *bench_json_arg(const char *flag, const char *text) {
    json_error_t je;
    json_t *o = json_loads(text, 0, &je);
    if (!json_is_object(o)) {
        fprintf(stderr, "%s: not a JSON object (%s)\n", flag, je.text);
        json_decref(o);
        return NULL;
    }
    return o;
}

int main(int argc, char **argv) {
    double seconds = 3.0;
    int rounds = 0;
    const char *only = NULL;
    const char *options_text = "{}", *baseline_text = NULL;
    json_t *options = NULL, *baseline = NULL;
    int rc = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--seconds") == 0 && i + 1 < argc) {
            seconds = atof(argv[++i]);
        } else if (strcmp(argv[i], "--task") == 0 && i + 1 < argc) {
            only = argv[++i];
        } else if (strcmp(argv[i], "--rounds") == 0 && i + 1 < argc) {
            rounds = atoi(argv[++i]);
        } else if (strcmp(argv[i], "--options") == 0 && i + 1 < argc) {
            options_text = argv[++i];
        } else if (strcmp(argv[i], "--baseline") == 0 && i + 1 < argc) {
            baseline_text = argv[++i];
        } else {
            fprintf(stderr,
                    "usage: %s [--seconds S] [--task NAME] [--options JSON] [--baseline JSON] "
                    "[--rounds N]\n",
                    argv[0]);
            rc = 2;
            goto out;
        }
    }
    if ((strcmp(options_text, "{}") != 0 &&
         (options = bench_json_arg("--options", options_text)) == NULL) ||
        (baseline_text != NULL &&
         (baseline = bench_json_arg("--baseline", baseline_text)) == NULL)) {
        rc = 2;
        goto out;
    }
    if (!(seconds > 0) || rounds < 0 || rounds > 100) {
        fprintf(stderr, "--seconds must be positive and --rounds within 1..100\n");
        rc = 2;
        goto out;
    }
    if (rounds == 0) {
        rounds = baseline ? 3 : 1;
    }
    printf(
        "| task | env steps/s | substeps | physics steps/s | us/step | wall env steps/s | episodes "
        "| unstable |\n");
    printf("|---|---|---|---|---|---|---|---|\n");
    int found = 0;
    size_t nclasses = sizeof(bench_classes) / sizeof(bench_classes[0]);
    BenchResult best[sizeof(bench_classes) / sizeof(bench_classes[0])];
    BenchResult base[sizeof(bench_classes) / sizeof(bench_classes[0])];
    int ran[sizeof(bench_classes) / sizeof(bench_classes[0])] = {0};
    for (size_t i = 0; i < nclasses; i++) {
        if (only && strcmp(only, bench_classes[i]->name) != 0) {
            continue;
        }
        found = 1;
        if (bench_task(bench_classes[i], seconds, rounds, options, baseline, &best[i], &base[i]) !=
            0) {
            rc = 1;
            continue;
        }
        ran[i] = 1;
        bench_row(bench_classes[i]->name, "", &best[i]);
        if (baseline) {
            bench_row(bench_classes[i]->name, " [baseline]", &base[i]);
        }
    }
    if (baseline) {
        printf("\n| task | options | baseline options | env steps/s | baseline env steps/s | "
               "speed-up |\n");
        printf("|---|---|---|---|---|---|\n");
        for (size_t i = 0; i < nclasses; i++) {
            if (ran[i]) {
                printf("| %s | `%s` | `%s` | %.0f | %.0f | %.2f |\n", bench_classes[i]->name,
                       options_text, baseline_text, best[i].sps, base[i].sps,
                       best[i].sps / base[i].sps);
            }
        }
    }
    if (!found) {
        fprintf(stderr, "unknown task %s\n", only);
        rc = 2;
    }
out:
    json_decref(options);
    json_decref(baseline);
    return rc;
}
