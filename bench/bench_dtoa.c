/* What writing a real as text costs (docs/benchmarks/scale.md, "Reals written in one pass"):
 * nanoseconds a real for ag_json_text_real_format (the JSON of series answers, stream backlogs
 * and the sealing's check), ag_dtoa_g17 (printf's %.17g) and snprintf itself, over a million
 * reals of three kinds:
 * - random: 53 random bits scaled by 10^-3 to 10^3, full precision as bench_scale's generated
 *   rows;
 * - rounded: the same rounded to 6 significant digits, as angora-train writes most metrics;
 * - whole: whole numbers under 10^7 written as reals (iterations, steps).
 *
 *   bench_dtoa [--rounds R]
 *
 * Each figure is the best of R rounds (default 20), since the machine may be shared; run the
 * program of two builds one after the other to compare them. Prints a Markdown table. */
#include "ag_dtoa.h"
#include "ag_json_text.h"
#include "ag_time.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define N_REALS (1 << 20)

static uint64_t next_bits(uint64_t *x) {
    *x ^= *x << 13;
    *x ^= *x >> 7;
    *x ^= *x << 17;
    return *x;
}

typedef size_t (*Writer)(double v, char *out);

static size_t write_json(double v, char *out) {
    return ag_json_text_real_format(v, out);
}

static size_t write_g17(double v, char *out) {
    return (size_t)ag_dtoa_g17(v, out);
}

static size_t write_printf(double v, char *out) {
    return (size_t)snprintf(out, AG_DTOA_MAX, "%.17g", v);
}

/* the best of rounds, in ns a real; the bytes written are summed so that no call is dropped */
static double time_writer(Writer w, const double *v, int rounds, size_t *bytes) {
    char out[AG_DTOA_MAX + 2];
    double best = INFINITY;
    for (int r = 0; r < rounds; r++) {
        double t0 = ag_time_now();
        for (int i = 0; i < N_REALS; i++) {
            *bytes += w(v[i], out);
        }
        double ns = (ag_time_now() - t0) / N_REALS * 1e9;
        best = ns < best ? ns : best;
    }
    return best;
}

int main(int argc, char **argv) {
    static const char *const kinds[] = {"random", "rounded", "whole"};
    static const struct {
        const char *name;
        Writer w;
    } writers[] = {{"ag_json_text_real_format", write_json},
                   {"ag_dtoa_g17", write_g17},
                   {"snprintf %.17g", write_printf}};
    int rounds = 20;
    uint64_t x = 88172645463325252ULL;
    size_t bytes = 0;
    double *v[3];
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--rounds") && i + 1 < argc && atoi(argv[i + 1]) > 0) {
            rounds = atoi(argv[++i]);
        } else {
            fprintf(stderr, "usage: bench_dtoa [--rounds R]\n");
            return 2;
        }
    }
    for (int k = 0; k < 3; k++) {
        v[k] = malloc(N_REALS * sizeof(double));
        if (!v[k]) {
            fprintf(stderr, "bench_dtoa: out of memory\n");
            return 1;
        }
    }
    for (int i = 0; i < N_REALS; i++) {
        uint64_t b = next_bits(&x);
        double r = ldexp((double)((b >> 11) | 1), -53) * pow(10, (int)(b % 7) - 3);
        double scale = pow(10, 5 - floor(log10(r)));
        v[0][i] = r;
        v[1][i] = round(r * scale) / scale;
        v[2][i] = (double)(b % 10000000u);
    }
    printf("| writer | ns a real: random | rounded | whole |\n|---|---|---|---|\n");
    for (size_t w = 0; w < sizeof(writers) / sizeof(writers[0]); w++) {
        printf("| %s", writers[w].name);
        for (int k = 0; k < 3; k++) {
            printf(" | %.1f", time_writer(writers[w].w, v[k], rounds, &bytes));
        }
        printf(" |\n");
    }
    printf("\n(%zu bytes written; reals: %s, %s, %s)\n", bytes, kinds[0], kinds[1], kinds[2]);
    for (int k = 0; k < 3; k++) {
        free(v[k]);
    }
    return 0;
}
