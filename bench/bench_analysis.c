/* Decoding cost benchmark: one pass of an_ridge_decode (5-fold nested cross-validation, 17
 * penalties, the shuffled-label control included) over a synthetic recording of 100,000 steps x
 * 512 units with 50 target columns, on one core. The budget is 10 s.
 *
 *   OPENBLAS_NUM_THREADS=1 bench_analysis [--steps N] [--units D] [--targets Q] [--episodes E]
 *                                         [--folds K] [--budget S]
 *
 * DESIGN: the recording is made in memory (layer = A v + noise, so the decoded R^2 is known and
 * printed as a sanity check); reading an HDF5 file is not timed, only the decoding pass that
 * angora-analyze runs per layer. Wall and CPU time are printed as a Markdown table (for
 * bench/throughput.sh); the exit status is 1 when the wall time exceeds the budget. */
#include "an_ridge.h"

#include "ag_rng.h"
#include "ag_time.h"

#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

typedef struct BenchOptions {
    long long steps;
    int units, targets, episodes, folds;
    double budget;
} BenchOptions;

static int parse_args(int argc, char **argv, BenchOptions *o) {
    *o = (BenchOptions){
        .steps = 100000, .units = 512, .targets = 50, .episodes = 100, .folds = 5, .budget = 10.0};
    for (int i = 1; i < argc; i++) {
        if (i + 1 >= argc) {
            fprintf(stderr, "bench_analysis: %s needs a value\n", argv[i]);
            return -1;
        }
        char *end = NULL;
        double v = strtod(argv[i + 1], &end);
        if (*end || v <= 0) {
            fprintf(stderr, "bench_analysis: %s needs a positive number\n", argv[i]);
            return -1;
        }
        if (strcmp(argv[i], "--steps") == 0) {
            o->steps = (long long)v;
        } else if (strcmp(argv[i], "--units") == 0) {
            o->units = (int)v;
        } else if (strcmp(argv[i], "--targets") == 0) {
            o->targets = (int)v;
        } else if (strcmp(argv[i], "--episodes") == 0) {
            o->episodes = (int)v;
        } else if (strcmp(argv[i], "--folds") == 0) {
            o->folds = (int)v;
        } else if (strcmp(argv[i], "--budget") == 0) {
            o->budget = v;
        } else {
            fprintf(stderr, "bench_analysis: unknown option %s\n", argv[i]);
            return -1;
        }
        i++;
    }
    if (o->episodes > o->steps) {
        fprintf(stderr, "bench_analysis: more episodes than steps\n");
        return -1;
    }
    return 0;
}

static double cpu_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* the CPU's name from /proc/cpuinfo */
static void cpu_name(char *out, size_t sz) {
    snprintf(out, sz, "unknown CPU");
    FILE *f = fopen("/proc/cpuinfo", "r");
    char line[512];
    while (f && fgets(line, sizeof line, f)) {
        if (strncmp(line, "model name", 10) == 0 && strchr(line, ':')) {
            snprintf(out, sz, "%s", strchr(line, ':') + 2);
            out[strcspn(out, "\n")] = '\0';
            break;
        }
    }
    if (f) {
        fclose(f);
    }
}

int main(int argc, char **argv) {
    BenchOptions o;
    if (parse_args(argc, argv, &o)) {
        return 2;
    }
    openblas_set_num_threads(1);
    int64_t n = o.steps;
    int d = o.units, q = o.targets, e = o.episodes;
    /* the recording: e episodes of near-equal length; 5 columns per variable */
    int nv = (q + 4) / 5;
    int64_t *start = malloc(sizeof(int64_t) * 2 * (size_t)e);
    int *off = malloc(sizeof(int) * (size_t)(nv + 1));
    double *y = malloc(sizeof(double) * (size_t)n * q);
    float *v = malloc(sizeof(float) * (size_t)n * q), *a = malloc(sizeof(float) * (size_t)d * q);
    float *x = malloc(sizeof(float) * (size_t)n * d);
    if (!start || !off || !y || !v || !a || !x) {
        fprintf(stderr, "bench_analysis: out of memory\n");
        return 1;
    }
    int64_t *len = start + e;
    for (int i = 0; i < e; i++) {
        start[i] = n * i / e;
        len[i] = n * (i + 1) / e - start[i];
    }
    for (int i = 0; i <= nv; i++) {
        off[i] = i * 5 < q ? i * 5 : q;
    }
    AgRng rng;
    ag_rng_seed(&rng, 1, 0);
    for (int64_t i = 0; i < n * q; i++) {
        v[i] = (float)ag_rng_normal(&rng);
        y[i] = v[i];
    }
    /* layer = v A^T + noise: each target spread over all units, signal share about one half */
    for (int64_t i = 0; i < (int64_t)d * q; i++) {
        a[i] = (float)(ag_rng_normal(&rng) / sqrt((double)q));
    }
    for (int64_t i = 0; i < n * d; i++) {
        x[i] = (float)ag_rng_normal(&rng);
    }
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)n, d, q, 1.0f, v, q, a, q, 1.0f, x,
                d);
    free(v);
    free(a);

    char cpu[256];
    cpu_name(cpu, sizeof cpu);
    printf("machine: %s, %ld online CPUs; OpenBLAS %s, %d thread\n", cpu,
           sysconf(_SC_NPROCESSORS_ONLN), openblas_get_config(), openblas_get_num_threads());
    printf("decoding %lld steps x %d units -> %d target columns (%d variables), %d episodes, %d "
           "folds, %d penalties, shuffled-label control\n",
           (long long)n, d, q, nv, e, o.folds, AN_RIDGE_LAMBDAS);

    AnEpisodes ep = {.n = e, .start = start, .len = len};
    AnRidgeTargets t = {.y = y, .q = q, .n_vars = nv, .var_offset = off};
    AnRidgeOptions opt = {.folds = o.folds, .seed = 1, .shuffled = 1};
    AnRidgeResult res;
    char err[256];
    double w0 = ag_time_now(), c0 = cpu_seconds();
    int rc = an_ridge_decode(&res, x, n, d, &ep, &t, &opt, err, sizeof err);
    double wall = ag_time_now() - w0, cpu_s = cpu_seconds() - c0;
    if (rc) {
        fprintf(stderr, "bench_analysis: %s\n", err);
        return 1;
    }
    double r2 = 0, r2s = 0;
    for (int i = 0; i < nv; i++) {
        r2 += res.r2[i] / nv;
        r2s += res.r2_shuffled[i] / nv;
    }
    /* a Markdown table, as bench/throughput.sh includes it */
    printf(
        "\n| steps | units | target columns | episodes | folds | wall s | CPU s | budget s | mean "
        "R^2 | shuffled control | verdict |\n");
    printf("|---|---|---|---|---|---|---|---|---|---|---|\n");
    printf("| %lld | %d | %d | %d | %d | %.2f | %.2f | %.0f | %.3f | %.4f | %s |\n", (long long)n,
           d, q, e, o.folds, wall, cpu_s, o.budget, r2, r2s,
           wall <= o.budget ? "within budget" : "OVER BUDGET");
    an_ridge_result_free(&res);
    free(start);
    free(off);
    free(y);
    free(x);
    return wall <= o.budget ? 0 : 1;
}
