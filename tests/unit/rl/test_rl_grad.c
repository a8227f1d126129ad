/* Tests of gradient averaging over ranks: the mean is exact and the same bits on every rank,
 * for the shared-memory window and for MPI_Allreduce, over many steps in which ranks arrive in
 * a different order; the choice of method and its limits. The suite runs alone
 * (unit_rl_grad) and under mpiexec with 2 and 3 ranks (unit_rl_grad_2ranks, _3ranks). */
#define _POSIX_C_SOURCE 200809L
#include "rl_grad.h"
#include "rl_test_util.h"

#include "ag_error.h"

#include <check.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int world_rank(void) {
    int r = 0;
    MPI_Comm_rank(MPI_COMM_WORLD, &r);
    return r;
}

static int world_size(void) {
    int n = 1;
    MPI_Comm_size(MPI_COMM_WORLD, &n);
    return n;
}

/* what rank r contributes at element i of step s: exact in float, different per rank */
static float contribution(int r, size_t i, int s) {
    return (float)((int)(i % 97) - 48 + 13 * r + 7 * s) * 0.0625f + (float)r * 1e-3f;
}

/* the mean as the window computes it: a sum in rank order, then a scale */
static float expected_mean(int nranks, size_t i, int s) {
    float sum = contribution(0, i, s);
    for (int r = 1; r < nranks; r++) {
        sum += contribution(r, i, s);
    }
    return sum * (1.0f / (float)nranks);
}

/* every rank holds the same bits: the smallest and largest checksum agree */
static void assert_same_on_all_ranks(const float *v, size_t n) {
    uint64_t h = 1469598103934665603ull;
    const unsigned char *b = (const unsigned char *)v;
    for (size_t i = 0; i < n * sizeof *v; i++) {
        h = (h ^ b[i]) * 1099511628211ull;
    }
    unsigned long long lo = h, hi = h;
    MPI_Allreduce(MPI_IN_PLACE, &lo, 1, MPI_UNSIGNED_LONG_LONG, MPI_MIN, MPI_COMM_WORLD);
    MPI_Allreduce(MPI_IN_PLACE, &hi, 1, MPI_UNSIGNED_LONG_LONG, MPI_MAX, MPI_COMM_WORLD);
    ck_assert_msg(lo == hi, "the ranks hold different means");
}

static void short_nap(long ns) {
    struct timespec ts = {0, ns};
    nanosleep(&ts, NULL);
}

/* steps means of n floats with the given method, ranks arriving in turns; checks every one */
static void run_steps(RlGradKind want, size_t n, int steps) {
    int rank = world_rank(), nranks = world_size();
    char err[256] = "";
    RlGrad *g = NULL;
    ck_assert_msg(rl_grad_create(&g, MPI_COMM_WORLD, n, want, err, sizeof err) == 0, "%s", err);
    float *v = malloc(n * sizeof *v);
    ck_assert_ptr_nonnull(v);
    for (int s = 0; s < steps; s++) {
        for (size_t i = 0; i < n; i++) {
            v[i] = contribution(rank, i, s);
        }
        /* a different rank is late at each step, so that every rank both waits and is waited
         * for, and a fast rank runs into the next bank while a slow one still reads */
        if (nranks > 1 && s % nranks == rank && s % 3 == 0) {
            short_nap(200000);
        }
        ck_assert_msg(rl_grad_mean(g, v, err, sizeof err) == 0, "%s", err);
        /* one assertion per step: Check records every assertion it passes */
        size_t bad = n;
        for (size_t i = 0; i < n && bad == n; i++) {
            float want_v = expected_mean(nranks, i, s);
            /* MPI may add in another order at 3 ranks; the window never does */
            int same = rl_grad_kind(g) == RL_GRAD_MPI && nranks > 2 ? fabsf(v[i] - want_v) <= 1e-4f
                                                                    : v[i] == want_v;
            if (!same) {
                bad = i;
            }
        }
        ck_assert_msg(bad == n, "step %d element %zu: %g, expected %g", s, bad,
                      bad < n ? (double)v[bad] : 0.0,
                      bad < n ? (double)expected_mean(nranks, bad, s) : 0.0);
        assert_same_on_all_ranks(v, n);
    }
    free(v);
    rl_grad_destroy(g);
}

START_TEST(test_shared_mean_exact_over_many_steps) {
    run_steps(RL_GRAD_AUTO, 10541, 300);
}
END_TEST

START_TEST(test_mpi_mean_exact_over_many_steps) {
    run_steps(RL_GRAD_MPI, 10541, 100);
}
END_TEST

START_TEST(test_odd_and_tiny_sizes) {
    /* sizes that are not whole cache lines, and a single float */
    run_steps(RL_GRAD_AUTO, 1, 20);
    run_steps(RL_GRAD_AUTO, 17, 20);
    run_steps(RL_GRAD_SHARED, 1000003, 3);
}
END_TEST

START_TEST(test_window_and_mpi_agree_to_the_bit_at_two_ranks) {
    if (world_size() != 2) {
        return;
    }
    size_t n = 4099;
    float *a = malloc(n * sizeof *a), *b = malloc(n * sizeof *b);
    ck_assert(a && b);
    for (size_t i = 0; i < n; i++) {
        a[i] = b[i] = contribution(world_rank(), i, 5) * 1.37f;
    }
    char err[256] = "";
    RlGrad *shared = NULL, *mpi = NULL;
    ck_assert_msg(rl_grad_create(&shared, MPI_COMM_WORLD, n, RL_GRAD_SHARED, err, sizeof err) == 0,
                  "%s", err);
    ck_assert_msg(rl_grad_create(&mpi, MPI_COMM_WORLD, n, RL_GRAD_MPI, err, sizeof err) == 0, "%s",
                  err);
    ck_assert_int_eq(rl_grad_mean(shared, a, err, sizeof err), 0);
    ck_assert_int_eq(rl_grad_mean(mpi, b, err, sizeof err), 0);
    ck_assert_mem_eq(a, b, n * sizeof *a);
    rl_grad_destroy(shared);
    rl_grad_destroy(mpi);
    free(a);
    free(b);
}
END_TEST

START_TEST(test_kind_chosen) {
    char err[256] = "";
    RlGrad *g = NULL;
    int multi = world_size() > 1;
    ck_assert_int_eq(rl_grad_create(&g, MPI_COMM_WORLD, 100, RL_GRAD_AUTO, err, sizeof err), 0);
    /* every rank of these tests is on this machine */
    ck_assert_int_eq(rl_grad_kind(g), multi ? RL_GRAD_SHARED : RL_GRAD_SINGLE);
    rl_grad_destroy(g);
    ck_assert_int_eq(rl_grad_create(&g, MPI_COMM_WORLD, 100, RL_GRAD_MPI, err, sizeof err), 0);
    ck_assert_int_eq(rl_grad_kind(g), multi ? RL_GRAD_MPI : RL_GRAD_SINGLE);
    rl_grad_destroy(g);
    /* large blocks go to MPI unless shared memory is asked for */
    ck_assert_int_eq(rl_grad_create(&g, MPI_COMM_WORLD, RL_GRAD_AUTO_SHARED_FLOATS + 1,
                                    RL_GRAD_AUTO, err, sizeof err),
                     0);
    ck_assert_int_eq(rl_grad_kind(g), multi ? RL_GRAD_MPI : RL_GRAD_SINGLE);
    rl_grad_destroy(g);
    ck_assert_int_eq(rl_grad_create(&g, MPI_COMM_WORLD, RL_GRAD_AUTO_SHARED_FLOATS + 1,
                                    RL_GRAD_SHARED, err, sizeof err),
                     0);
    ck_assert_int_eq(rl_grad_kind(g), multi ? RL_GRAD_SHARED : RL_GRAD_SINGLE);
    rl_grad_destroy(g);
    ck_assert_str_eq(rl_grad_kind_name(RL_GRAD_SHARED), "shared");
    ck_assert_str_eq(rl_grad_kind_name(RL_GRAD_MPI), "mpi");
}
END_TEST

START_TEST(test_block_too_large_for_the_window) {
    /* more floats than the window may hold: auto falls back to MPI, shared is refused */
    size_t n = RL_GRAD_SHARED_MAX_BYTES / sizeof(float) / 2 + 1;
    char err[256] = "";
    RlGrad *g = NULL;
    ck_assert_int_eq(rl_grad_create(&g, MPI_COMM_WORLD, n, RL_GRAD_AUTO, err, sizeof err), 0);
    ck_assert_int_eq(rl_grad_kind(g), world_size() > 1 ? RL_GRAD_MPI : RL_GRAD_SINGLE);
    rl_grad_destroy(g);
    if (world_size() > 1) {
        g = NULL;
        ck_assert_int_eq(rl_grad_create(&g, MPI_COMM_WORLD, n, RL_GRAD_SHARED, err, sizeof err),
                         AG_ETOOBIG);
        ck_assert_ptr_null(g);
        ck_assert_msg(strstr(err, "shared memory") != NULL, "%s", err);
    }
}
END_TEST

START_TEST(test_kind_names_parsed) {
    RlGradKind k = RL_GRAD_SINGLE;
    ck_assert_int_eq(rl_grad_kind_parse(NULL, &k), 0);
    ck_assert_int_eq(k, RL_GRAD_AUTO);
    ck_assert_int_eq(rl_grad_kind_parse("mpi", &k), 0);
    ck_assert_int_eq(k, RL_GRAD_MPI);
    ck_assert_int_eq(rl_grad_kind_parse("shared", &k), 0);
    ck_assert_int_eq(k, RL_GRAD_SHARED);
    ck_assert_int_eq(rl_grad_kind_parse("", &k), 0);
    ck_assert_int_eq(k, RL_GRAD_AUTO);
    ck_assert_int_eq(rl_grad_kind_parse("Shared", &k), -1);
    ck_assert_int_eq(rl_grad_kind_parse("nccl", &k), -1);
}
END_TEST

static Suite *grad_suite(void) {
    Suite *s = suite_create("rl_grad");
    TCase *tc = tcase_create("mean");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_shared_mean_exact_over_many_steps);
    tcase_add_test(tc, test_mpi_mean_exact_over_many_steps);
    tcase_add_test(tc, test_odd_and_tiny_sizes);
    tcase_add_test(tc, test_window_and_mpi_agree_to_the_bit_at_two_ranks);
    tcase_add_test(tc, test_kind_chosen);
    tcase_add_test(tc, test_block_too_large_for_the_window);
    tcase_add_test(tc, test_kind_names_parsed);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) {
    return rl_test_run_suite(grad_suite());
}
