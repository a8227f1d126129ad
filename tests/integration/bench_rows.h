/* Real metrics rows for the benchmarks' fills (bench_scale --rows-from): a trainer's
 * metrics.jsonl replayed cyclically, with iteration, env_steps, wall_s and cpu_s starting as a
 * run starts (iteration 1, one mean step of the others) and going on from cycle to cycle as in
 * one long run. Failures end the benchmark (exit 1) with a message. */
#ifndef BENCH_ROWS_H
#define BENCH_ROWS_H

#include <jansson.h>
#include <stddef.h>

typedef struct BenchRows {
    size_t n;
    json_t **rows;
    long long *iteration, *env_steps; /* each row's own */
    double *wall_s, *cpu_s;           /* each row's own (NAN when absent) */
    long long iteration_cycle, env_steps_cycle;
    double wall_cycle, cpu_cycle; /* what one cycle adds */
    int shortest;                 /* reals written in their shortest form, else jansson's %.17g */
    int rounded;                  /* reals rounded as angora-train rounds them (ag_metric_round) */
    int wall_on_grid,
        cpu_on_grid; /* the file's wall_s / cpu_s already at the trainer's precision */
} BenchRows;

/* reads path (at most max_rows lines, at least 2): flat objects with integer iteration and
 * env_steps and a real wall_s, written either as jansson writes them (what angora-train writes)
 * or with every real in its shortest form (ag_dtoa_json_dumps). round: write every real as
 * ag_metric_round says (the file as the current trainer would have written it) */
void bench_rows_load(const char *path, size_t max_rows, int round, BenchRows *r);

/* row i (1-based) of a run as a metrics.jsonl line (newline included); returns its length */
int bench_rows_line(BenchRows *r, char *out, size_t sz, long long i);

void bench_rows_free(BenchRows *r);

#endif
