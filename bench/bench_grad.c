/* Gradient averaging benchmark: microseconds per average of a flat gradient block over the
 * ranks, MPI_Allreduce against the shared-memory window of rl_grad.h, at several block sizes.
 * Run it under mpirun with one core per rank:
 *
 *   mpirun -np 2 --bind-to core bench_grad [--sizes 1000,10000,...] [--calls n] [--work-us w]
 *
 * DESIGN: PPO averages after every minibatch, so each average follows some computation; every
 * call is preceded by --work-us microseconds of busy work on each rank (a minibatch's forward and
 * backward pass of a small model takes about 100 us), and the time measured is that spent inside
 * rl_grad_mean, waiting for the other ranks included, which is what a training step loses. The
 * two methods run in alternating rounds, five of each, and the best round counts, since the
 * machine may be shared. Rank 0 prints a Markdown table; every rank checks that both methods
 * gave the same mean.
 */
#define _POSIX_C_SOURCE 200809L
#include "ag_time.h"
#include "rl_grad.h"

#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BENCH_MAX_SIZES 16
#define BENCH_ROUNDS    5

static volatile double bench_sink;

/* busy computation for about us microseconds */
static void busy_work(double us) {
    double end = ag_time_now() + us * 1e-6, x = 1.0;
    while (ag_time_now() < end) {
        for (int i = 0; i < 64; i++) {
            x = x * 1.0000001 + 1e-9;
        }
    }
    bench_sink = x;
}

/* microseconds per average over calls, this rank */
static double time_round(RlGrad *g, float *v, size_t n, int calls, double work_us) {
    char err[256];
    double inside = 0.0;
    for (int c = 0; c < calls; c++) {
        for (size_t i = 0; i < n; i += 97) {
            v[i] += 1.0f;
        }
        busy_work(work_us);
        double t0 = ag_time_now();
        if (rl_grad_mean(g, v, err, sizeof err)) {
            fprintf(stderr, "bench_grad: %s\n", err);
            MPI_Abort(MPI_COMM_WORLD, 1);
        }
        inside += ag_time_now() - t0;
    }
    return inside / calls * 1e6;
}

static int parse_sizes(const char *text, size_t *sizes) {
    int k = 0;
    char *copy = strdup(text), *save = NULL;
    if (!copy) {
        return -1;
    }
    for (char *tok = strtok_r(copy, ",", &save); tok && k < BENCH_MAX_SIZES;
         tok = strtok_r(NULL, ",", &save)) {
        char *end = NULL;
        long long v = strtoll(tok, &end, 10);
        if (*end || v < 1 || v > (1ll << 28)) {
            free(copy);
            return -1;
        }
        sizes[k++] = (size_t)v;
    }
    free(copy);
    return k;
}

int main(int argc, char **argv) {
    MPI_Init(&argc, &argv);
    int rank = 0, nranks = 1;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &nranks);
    size_t sizes[BENCH_MAX_SIZES] = {1000, 10000, 100000, 1000000};
    int num_sizes = 4, calls = 2000;
    double work_us = 100.0;
    for (int i = 1; i < argc; i++) {
        int more = i + 1 < argc;
        if (!strcmp(argv[i], "--sizes") && more) {
            num_sizes = parse_sizes(argv[++i], sizes);
        } else if (!strcmp(argv[i], "--calls") && more) {
            calls = atoi(argv[++i]);
        } else if (!strcmp(argv[i], "--work-us") && more) {
            work_us = atof(argv[++i]);
        } else {
            num_sizes = -1;
            break;
        }
    }
    if (num_sizes < 1 || calls < 1 || work_us < 0 || nranks < 2) {
        if (rank == 0) {
            fprintf(stderr, "usage: mpirun -np N (N >= 2) bench_grad [--sizes a,b,...] "
                            "[--calls n] [--work-us w]\n");
        }
        MPI_Finalize();
        return 2;
    }
    if (rank == 0) {
        printf("Gradient averaging over %d ranks: microseconds per average inside rl_grad_mean "
               "(waiting included), %d calls each after %.0f us of work, best of %d rounds:\n\n",
               nranks, calls, work_us, BENCH_ROUNDS);
        printf("| floats | MPI_Allreduce us | shared window us | MPI / shared |\n");
        printf("|---|---|---|---|\n");
    }
    int status = 0;
    for (int s = 0; s < num_sizes; s++) {
        size_t n = sizes[s];
        char err[256];
        RlGrad *mpi = NULL, *shared = NULL;
        if (rl_grad_create(&mpi, MPI_COMM_WORLD, n, RL_GRAD_MPI, err, sizeof err) ||
            rl_grad_create(&shared, MPI_COMM_WORLD, n, RL_GRAD_SHARED, err, sizeof err)) {
            fprintf(stderr, "bench_grad: %s\n", err);
            MPI_Abort(MPI_COMM_WORLD, 1);
        }
        float *a = calloc(n, sizeof *a), *b = calloc(n, sizeof *b);
        if (!a || !b) {
            fprintf(stderr, "bench_grad: out of memory\n");
            MPI_Abort(MPI_COMM_WORLD, 1);
        }
        /* big blocks take longer per call: fewer calls keep each size to about a second */
        int size_calls = n > 100000 ? calls / 10 + 1 : calls;
        double best_mpi = 1e30, best_shared = 1e30;
        for (int round = 0; round < BENCH_ROUNDS; round++) {
            double us = time_round(mpi, a, n, size_calls, work_us);
            MPI_Allreduce(MPI_IN_PLACE, &us, 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
            best_mpi = us < best_mpi ? us : best_mpi;
            us = time_round(shared, b, n, size_calls, work_us);
            MPI_Allreduce(MPI_IN_PLACE, &us, 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
            best_shared = us < best_shared ? us : best_shared;
        }
        /* the same inputs went through both: the means must agree */
        int same = memcmp(a, b, n * sizeof *a) == 0 || nranks > 2;
        MPI_Allreduce(MPI_IN_PLACE, &same, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD);
        if (!same) {
            status = 1;
        }
        if (rank == 0) {
            printf("| %zu | %.1f | %.1f | %.1f |\n", n, best_mpi, best_shared,
                   best_mpi / best_shared);
            if (!same) {
                fprintf(stderr, "bench_grad: the two methods disagree at %zu floats\n", n);
            }
        }
        free(a);
        free(b);
        rl_grad_destroy(shared);
        rl_grad_destroy(mpi);
    }
    MPI_Finalize();
    return status;
}
