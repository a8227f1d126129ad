/* Real metrics rows replayed for the benchmarks' fills (see bench_rows.h). */
#include "bench_rows.h"

#include "ag_dtoa.h"
#include "ag_metric_precision.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ROW_TEXT_MAX 8192

static void rows_fail(const char *path, size_t line, const char *what) {
    fprintf(stderr, "bench: %s:%zu: %s\n", path, line, what);
    exit(1);
}

static char *row_text(const json_t *row, int shortest) {
    return shortest ? ag_dtoa_json_dumps(row, 0) : json_dumps(row, JSON_COMPACT);
}

/* every real of row at the precision the trainer writes it */
static void row_round(json_t *row) {
    const char *key;
    json_t *v;
    json_object_foreach(row, key, v) {
        if (json_is_real(v)) {
            json_real_set(v, ag_metric_round(key, json_real_value(v)));
        }
    }
}

static double real_or_nan(const json_t *row, const char *key) {
    const json_t *v = json_object_get(row, key);
    return json_is_real(v) ? json_real_value(v) : NAN;
}

/* what one cycle adds to a counter: the span of the file and one mean step more */
static double cycle_of(double first, double last, size_t n) {
    return (last - first) * (double)n / (double)(n - 1);
}

void bench_rows_load(const char *path, size_t max_rows, int round, BenchRows *r) {
    FILE *f = fopen(path, "r");
    char *line = malloc(ROW_TEXT_MAX);
    memset(r, 0, sizeof(*r));
    if (!f || !line) {
        rows_fail(path, 0, "cannot read");
    }
    r->rows = calloc(max_rows, sizeof(*r->rows));
    r->iteration = calloc(max_rows, sizeof(*r->iteration));
    r->env_steps = calloc(max_rows, sizeof(*r->env_steps));
    r->wall_s = calloc(max_rows, sizeof(*r->wall_s));
    r->cpu_s = calloc(max_rows, sizeof(*r->cpu_s));
    r->rounded = round;
    r->wall_on_grid = r->cpu_on_grid = 1;
    while (r->n < max_rows && fgets(line, ROW_TEXT_MAX, f)) {
        size_t len = strcspn(line, "\n"), at = r->n + 1;
        json_error_t jerr;
        json_t *row = json_loadb(line, len, 0, &jerr);
        char *text;
        line[len] = '\0';
        if (!json_is_object(row) || !json_is_integer(json_object_get(row, "iteration")) ||
            !json_is_integer(json_object_get(row, "env_steps")) ||
            !json_is_real(json_object_get(row, "wall_s"))) {
            rows_fail(path, at, "not a metrics row (integer iteration and env_steps, real wall_s)");
        }
        /* the form of the first line is the file's; the replay writes its rows that way */
        if (r->n == 0) {
            text = json_dumps(row, JSON_COMPACT);
            r->shortest = strcmp(text, line) != 0;
            free(text);
        }
        text = row_text(row, r->shortest);
        if (!text || strcmp(text, line) != 0) {
            rows_fail(path, at,
                      "not written as the first line is (jansson's %.17g or the shortest form)");
        }
        free(text);
        r->iteration[r->n] = json_integer_value(json_object_get(row, "iteration"));
        r->env_steps[r->n] = json_integer_value(json_object_get(row, "env_steps"));
        r->wall_s[r->n] = real_or_nan(row, "wall_s");
        r->cpu_s[r->n] = real_or_nan(row, "cpu_s");
        r->wall_on_grid &= ag_metric_round("wall_s", r->wall_s[r->n]) == r->wall_s[r->n];
        r->cpu_on_grid &=
            isnan(r->cpu_s[r->n]) || ag_metric_round("cpu_s", r->cpu_s[r->n]) == r->cpu_s[r->n];
        if (round) {
            row_round(row);
        }
        r->rows[r->n++] = row;
    }
    fclose(f);
    free(line);
    if (r->n < 2) {
        rows_fail(path, r->n, "fewer than 2 rows");
    }
    r->iteration_cycle = r->iteration[r->n - 1] - r->iteration[0] + 1;
    r->env_steps_cycle =
        (long long)llround(cycle_of((double)r->env_steps[0], (double)r->env_steps[r->n - 1], r->n));
    r->wall_cycle = cycle_of(r->wall_s[0], r->wall_s[r->n - 1], r->n);
    r->cpu_cycle = cycle_of(r->cpu_s[0], r->cpu_s[r->n - 1], r->n);
}

/* a renumbered real: at the trainer's precision when the replay rounds or the file already was */
static void real_renumber(json_t *row, const char *key, double v, int on_grid, int rounded) {
    if (isnan(v)) {
        return;
    }
    json_object_set_new(row, key, json_real(on_grid || rounded ? ag_metric_round(key, v) : v));
}

int bench_rows_line(BenchRows *r, char *out, size_t sz, long long i) {
    size_t j = (size_t)((i - 1) % (long long)r->n);
    long long cycle = (i - 1) / (long long)r->n;
    json_t *row = r->rows[j];
    char *text;
    int n;
    double c = (double)cycle + 1.0 / (double)r->n;
    /* a run from its start: iteration 1 and one mean step of the counters, then on */
    json_object_set_new(
        row, "iteration",
        json_integer(r->iteration[j] - r->iteration[0] + 1 + cycle * r->iteration_cycle));
    json_object_set_new(row, "env_steps",
                        json_integer(r->env_steps[j] - r->env_steps[0] +
                                     (long long)llround(c * (double)r->env_steps_cycle)));
    real_renumber(row, "wall_s", r->wall_s[j] - r->wall_s[0] + c * r->wall_cycle, r->wall_on_grid,
                  r->rounded);
    real_renumber(row, "cpu_s", r->cpu_s[j] - r->cpu_s[0] + c * r->cpu_cycle, r->cpu_on_grid,
                  r->rounded);
    text = row_text(row, r->shortest);
    if (!text) {
        rows_fail("replay", j + 1, "cannot write the row");
    }
    n = snprintf(out, sz, "%s\n", text);
    free(text);
    if (n < 0 || (size_t)n >= sz) {
        rows_fail("replay", j + 1, "row too long");
    }
    return n;
}

void bench_rows_free(BenchRows *r) {
    for (size_t j = 0; j < r->n; j++) {
        json_decref(r->rows[j]);
    }
    free(r->rows);
    free(r->iteration);
    free(r->env_steps);
    free(r->wall_s);
    free(r->cpu_s);
    memset(r, 0, sizeof(*r));
}
