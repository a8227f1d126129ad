/* Rendering throughput of the block tasks' `pixels` sensation: frames per second of CPU time
 * (one core; the process's CPU time, so that other programs sharing the machine do not distort
 * it) of the palm camera, three ways in alternating rounds of the same run:
 *   before:  one scene per call at the model's full detail (how the sensation rendered before);
 *   coarse:  one scene per call, primitives tessellated for the image size;
 *   tiled:   coarse, T scenes of the batch (--tiles, default 64) tiled into one framebuffer
 *            and read back once per pass;
 * then the whole batch step (physics and the task's own pixels) in environment steps per CPU
 * second. The
 * scenes are those of a batch stepped with uniformly random actions. bench/run.sh runs it;
 * docs/benchmarks.md shows the results.
 *
 *   bench_render [--task NAME] [--size S] [--envs N[,N...]] [--tiles T] [--seconds S]
 *                [--rounds R]
 */
#include "env.h"
#include "mj_hand.h"
#include "mj_render.h"

#include "ag_error.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define BENCH_MAX_ENVS   256
#define BENCH_MAX_COUNTS 8

static double bench_cpu(void) {
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

typedef struct BenchRender {
    EnvTask task;
    EnvBatch batch;
    float *obs, *rewards, *final_obs, *actions;
    uint8_t *terminated, *truncated;
    AgRng action_rng;
} BenchRender;

static void bench_actions(BenchRender *b) {
    const EnvSpec *spec = &b->task.spec;
    for (int i = 0; i < b->batch.num_envs; i++) {
        for (int k = 0; k < spec->action_dim; k++) {
            b->actions[i * spec->action_dim + k] = (float)ag_rng_uniform_range(
                &b->action_rng, spec->action_low[k], spec->action_high[k]);
        }
    }
}

static void bench_step(BenchRender *b) {
    bench_actions(b);
    env_batch_step(&b->batch, b->actions, b->obs, b->rewards, b->terminated, b->truncated,
                   b->final_obs);
}

static int bench_open(BenchRender *b, const char *task, int size, int envs) {
    char err[512] = "";
    memset(b, 0, sizeof(*b));
    json_t *options = json_pack("{s:s, s:i}", "vision", "pixels", "image_size", size);
    int rc = env_task_create(&b->task, task, options, err, sizeof(err));
    json_decref(options);
    if (rc == 0) {
        rc = env_batch_create(&b->batch, &b->task, envs, 1, 0, err, sizeof(err));
    }
    if (rc != 0) {
        fprintf(stderr, "%s: %s\n", task, err);
        return rc;
    }
    const EnvSpec *spec = &b->task.spec;
    b->obs = calloc((size_t)envs * (size_t)spec->obs_size, sizeof(float));
    b->final_obs = calloc((size_t)envs * (size_t)spec->obs_size, sizeof(float));
    b->rewards = calloc((size_t)envs, sizeof(float));
    b->actions = calloc((size_t)envs * (size_t)spec->action_dim, sizeof(float));
    b->terminated = calloc((size_t)envs, 1);
    b->truncated = calloc((size_t)envs, 1);
    if (!b->obs || !b->final_obs || !b->rewards || !b->actions || !b->terminated || !b->truncated) {
        return AG_ENOMEM;
    }
    ag_rng_seed(&b->action_rng, 2, 0);
    env_batch_reset(&b->batch, b->obs);
    return 0;
}

static void bench_close(BenchRender *b) {
    free(b->obs);
    free(b->final_obs);
    free(b->rewards);
    free(b->actions);
    free(b->terminated);
    free(b->truncated);
    env_batch_destroy(&b->batch);
    env_task_destroy(&b->task);
}

/* frames per CPU second of rendering the batch's current scenes with r, all in one call or one
 * by one; the scenes move on (a batch step, not timed) between renders */
static double bench_frames(BenchRender *b, EnvMjRenderer *r, int batched, double seconds) {
    const EnvMjHandShared *sh = b->task.shared;
    int n = b->batch.num_envs;
    mjData *d[BENCH_MAX_ENVS];
    float *img[BENCH_MAX_ENVS];
    double spent = 0;
    long frames = 0;
    while (spent < seconds) {
        bench_step(b);
        for (int i = 0; i < n; i++) {
            const EnvMjHandState *st =
                (const EnvMjHandState *)(b->batch.states + (size_t)i * sizeof(EnvMjHandState));
            d[i] = st->d;
            img[i] = b->obs + (size_t)i * (size_t)b->task.spec.obs_size + sh->off_vision;
        }
        double t0 = bench_cpu();
        if (batched) {
            env_mj_render_batch(r, sh->m, d, n, img);
        } else {
            for (int i = 0; i < n; i++) {
                env_mj_render(r, sh->m, d[i], img[i]);
            }
        }
        spent += bench_cpu() - t0;
        frames += n;
    }
    return (double)frames / spent;
}

/* how far the coarse images are from the full-detail ones over the batch's current scenes: the
 * mean absolute difference per value and the share of values more than 0.1 apart */
static void bench_detail_diff(BenchRender *b, EnvMjRenderer *full, EnvMjRenderer *coarse,
                              double *mean, double *share) {
    const EnvMjHandShared *sh = b->task.shared;
    size_t n = 3 * (size_t)sh->image_size * (size_t)sh->image_size;
    float *a = malloc(sizeof(float) * n), *c = malloc(sizeof(float) * n);
    double sum = 0;
    long far = 0, count = 0;
    for (int i = 0; a && c && i < b->batch.num_envs; i++) {
        const EnvMjHandState *st =
            (const EnvMjHandState *)(b->batch.states + (size_t)i * sizeof(EnvMjHandState));
        env_mj_render(full, sh->m, st->d, a);
        env_mj_render(coarse, sh->m, st->d, c);
        for (size_t k = 0; k < n; k++) {
            double d = fabs((double)a[k] - (double)c[k]);
            sum += d;
            far += d > 0.1;
            count++;
        }
    }
    *mean = count ? sum / (double)count : 0;
    *share = count ? (double)far / (double)count : 0;
    free(a);
    free(c);
}

/* environment steps per CPU second of the whole batch step (physics and tiled rendering) */
static double bench_steps(BenchRender *b, double seconds) {
    long steps = 0;
    double t0 = bench_cpu(), t1 = t0;
    while (t1 - t0 < seconds) {
        bench_step(b);
        steps += b->batch.num_envs;
        t1 = bench_cpu();
    }
    return (double)steps / (t1 - t0);
}

static int bench_parse_counts(const char *s, int *counts) {
    int n = 0;
    char *end = NULL;
    while (*s != '\0' && n < BENCH_MAX_COUNTS) {
        long v = strtol(s, &end, 10);
        if (end == s || v < 1 || v > BENCH_MAX_ENVS || (*end != ',' && *end != '\0')) {
            return 0;
        }
        counts[n++] = (int)v;
        s = *end == ',' ? end + 1 : end;
    }
    return *s == '\0' ? n : 0;
}

int main(int argc, char **argv) {
    const char *task = "HandBlock";
    int size = 64, rounds = 3, tiles = 64;
    double seconds = 2.0;
    int counts[BENCH_MAX_COUNTS] = {8, 64};
    int ncounts = 2;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--task") == 0 && i + 1 < argc) {
            task = argv[++i];
        } else if (strcmp(argv[i], "--size") == 0 && i + 1 < argc) {
            size = atoi(argv[++i]);
        } else if (strcmp(argv[i], "--seconds") == 0 && i + 1 < argc) {
            seconds = atof(argv[++i]);
        } else if (strcmp(argv[i], "--tiles") == 0 && i + 1 < argc) {
            tiles = atoi(argv[++i]);
        } else if (strcmp(argv[i], "--rounds") == 0 && i + 1 < argc) {
            rounds = atoi(argv[++i]);
        } else if (strcmp(argv[i], "--envs") == 0 && i + 1 < argc) {
            ncounts = bench_parse_counts(argv[++i], counts);
        } else {
            ncounts = 0;
            break;
        }
    }
    if (ncounts == 0 || size < 8 || seconds <= 0 || rounds < 1 || tiles < 1 ||
        tiles > ENV_MJ_RENDER_MAX_TILES) {
        fprintf(stderr,
                "usage: bench_render [--task NAME] [--size S] [--envs N[,N...]] "
                "[--tiles T] [--seconds S] [--rounds R]  (envs 1..%d)\n",
                BENCH_MAX_ENVS);
        return 2;
    }
    printf("%s, %dx%d pixels, best of %d rounds of %.1f s process CPU time each\n\n", task, size,
           size, rounds, seconds);
    printf("| envs | before: full detail, one per call (frames/s) | coarse, one per call | coarse, "
           "%d tiles per pass | coarse one per call / before | batch step with pixels (env "
           "steps/s) | coarse vs full detail: mean abs difference, values > 0.1 apart |\n"
           "|---|---|---|---|---|---|---|\n",
           tiles);
    for (int c = 0; c < ncounts; c++) {
        BenchRender b;
        if (bench_open(&b, task, size, counts[c]) != 0) {
            bench_close(&b);
            return 1;
        }
        const EnvMjHandShared *sh = b.task.shared;
        char err[256] = "";
        EnvMjRenderOptions before_opts = {.tiles = 1, .full_detail = 1};
        EnvMjRenderOptions coarse_opts = {.tiles = 1, .full_detail = 0};
        EnvMjRenderOptions tiled_opts = {.tiles = tiles, .full_detail = 0};
        EnvMjRenderer *before = NULL, *coarse = NULL, *tiled_r = NULL;
        if (env_mj_renderer_create(sh->m, HAND_CAMERA, size, size, &before_opts, &before, err,
                                   sizeof(err)) != 0 ||
            env_mj_renderer_create(sh->m, HAND_CAMERA, size, size, &coarse_opts, &coarse, err,
                                   sizeof(err)) != 0 ||
            env_mj_renderer_create(sh->m, HAND_CAMERA, size, size, &tiled_opts, &tiled_r, err,
                                   sizeof(err)) != 0) {
            fprintf(stderr, "%s\n", err);
            env_mj_renderer_destroy(before);
            env_mj_renderer_destroy(coarse);
            env_mj_renderer_destroy(tiled_r);
            bench_close(&b);
            return 1;
        }
        double full = 0, single = 0, tiled = 0, steps = 0;
        for (int r = 0; r < rounds; r++) {
            double f = bench_frames(&b, before, 0, seconds);
            double s = bench_frames(&b, coarse, 0, seconds);
            double t = bench_frames(&b, tiled_r, 1, seconds);
            double e = bench_steps(&b, seconds);
            full = f > full ? f : full;
            single = s > single ? s : single;
            tiled = t > tiled ? t : tiled;
            steps = e > steps ? e : steps;
        }
        double mean = 0, share = 0;
        bench_detail_diff(&b, before, coarse, &mean, &share);
        printf("| %d | %.0f | %.0f | %.0f | %.1f | %.0f | %.4f, %.2f %% |\n", counts[c], full,
               single, tiled, single / full, steps, mean, 100.0 * share);
        fflush(stdout);
        env_mj_renderer_destroy(before);
        env_mj_renderer_destroy(coarse);
        env_mj_renderer_destroy(tiled_r);
        bench_close(&b);
    }
    return 0;
}
