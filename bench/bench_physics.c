/* Raw physics throughput of every MuJoCo task: one environment on one core stepped with
 * uniformly random actions (resetting at episode ends), reported as environment (control)
 * steps per second and physics substeps per second. Rates are per second of the thread's CPU
 * time (so that other programs sharing the machine do not distort them); the wall-clock rate is
 * shown as well. bench/run.sh runs it; docs/benchmarks.md shows the results.
 *
 *   bench_physics [--seconds S] [--task NAME] [--options JSON]
 */
#include "env.h"
#include "mj_runtime.h"

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

static int bench_run(const EnvClass *cls, double seconds, const json_t *options) {
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
    double sps = (double)steps / (t1 - t0);
    double substeps = task.spec.control_dt > 0 ? task.spec.control_dt : 0;
    /* substeps per control step from the spec's control step and the model's timestep */
    const mjModel *m = cls->mj_model(&task);
    double sub = substeps / m->opt.timestep;
    printf("| %s | %.0f | %d | %.0f | %.1f | %.0f | %ld | %ld |\n", cls->name, sps,
           (int)lround(sub), sps * sub, 1e6 / sps, (double)steps / wall, episodes, unstable);
    fflush(stdout);
    cls->env_destroy(&task, state);
out:
    free(state);
    free(obs);
    cls->task_destroy(&task);
    return rc;
}

int main(int argc, char **argv) {
    double seconds = 3.0;
    const char *only = NULL;
    json_t *options = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--seconds") == 0 && i + 1 < argc) {
            seconds = atof(argv[++i]);
        } else if (strcmp(argv[i], "--task") == 0 && i + 1 < argc) {
            only = argv[++i];
        } else if (strcmp(argv[i], "--options") == 0 && i + 1 < argc) {
            json_error_t je;
            json_decref(options);
            options = json_loads(argv[++i], 0, &je);
            if (!json_is_object(options)) {
                fprintf(stderr, "--options: not a JSON object (%s)\n", je.text);
                json_decref(options);
                return 2;
            }
        } else {
            fprintf(stderr, "usage: %s [--seconds S] [--task NAME] [--options JSON]\n", argv[0]);
            json_decref(options);
            return 2;
        }
    }
    if (!(seconds > 0)) {
        fprintf(stderr, "--seconds must be positive\n");
        return 2;
    }
    printf(
        "| task | env steps/s | substeps | physics steps/s | us/step | wall env steps/s | episodes "
        "| unstable |\n");
    printf("|---|---|---|---|---|---|---|---|\n");
    int rc = 0, found = 0;
    /* every MuJoCo task of the catalogue */
    for (int i = 0; i < env_registry_count(); i++) {
        const EnvClass *cls = env_registry_at(i);
        if (!cls->mj_model || (only && strcmp(only, cls->name) != 0)) {
            continue;
        }
        found = 1;
        if (bench_run(cls, seconds, options) != 0) {
            rc = 1;
        }
    }
    json_decref(options);
    if (!found) {
        fprintf(stderr, "unknown task %s\n", only);
        return 2;
    }
    return rc;
}
