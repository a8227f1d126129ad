/* Gradient averaging over ranks: a shared-memory window on one machine, MPI elsewhere (see
 * rl_grad.h). */
#define _POSIX_C_SOURCE 200809L
#include "rl_grad.h"

#include "ag_error.h"
#include "ag_time.h"

#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define RL_GRAD_RELAX() _mm_pause()
#else
#define RL_GRAD_RELAX() ((void)0)
#endif

/* busy polls before a waiting rank starts to yield its core: a few microseconds, about the
 * spread of two ranks finishing the same minibatch */
#define RL_GRAD_SPINS 4096
/* one cache line per arrival counter, so that ranks do not write into each other's lines */
#define RL_GRAD_LINE 64

struct RlGrad {
    RlGradKind kind;
    MPI_Comm comm;
    int rank, nranks;
    size_t n;
    /* shared memory */
    MPI_Comm node;
    MPI_Win win;
    int win_ok;
    unsigned char *base; /* counters, then bank 0 slots, then bank 1 slots */
    size_t stride;       /* floats per slot, a whole number of cache lines */
    uint64_t step;
    pid_t *pids; /* (nranks) to tell a dead peer from a slow one */
};

int rl_grad_kind_parse(const char *name, RlGradKind *out) {
    if (!name || !*name || !strcmp(name, "auto")) {
        *out = RL_GRAD_AUTO;
    } else if (!strcmp(name, "mpi")) {
        *out = RL_GRAD_MPI;
    } else if (!strcmp(name, "shared")) {
        *out = RL_GRAD_SHARED;
    } else {
        return -1;
    }
    return 0;
}

const char *rl_grad_kind_name(RlGradKind kind) {
    switch (kind) {
    case RL_GRAD_MPI:
        return "mpi";
    case RL_GRAD_SHARED:
        return "shared";
    case RL_GRAD_SINGLE:
        return "single";
    default:
        return "auto";
    }
}

RlGradKind rl_grad_kind(const RlGrad *g) {
    return g->kind;
}

static _Atomic uint64_t *rl_grad_counter(const RlGrad *g, int r) {
    return (_Atomic uint64_t *)(void *)(g->base + (size_t)r * RL_GRAD_LINE);
}

static float *rl_grad_slot(const RlGrad *g, int bank, int r) {
    float *slots = (float *)(void *)(g->base + (size_t)g->nranks * RL_GRAD_LINE);
    return slots + ((size_t)bank * g->nranks + r) * g->stride;
}

/* sets up the window; 0 on every rank or an error on every rank */
static int rl_grad_shared_init(RlGrad *g, char *err, size_t err_sz) {
    int node_size = 0;
    if (MPI_Comm_split_type(g->comm, MPI_COMM_TYPE_SHARED, g->rank, MPI_INFO_NULL, &g->node) !=
        MPI_SUCCESS) {
        return ag_errorf(err, err_sz, AG_EMPI, "gradient averaging: cannot group the ranks");
    }
    MPI_Comm_size(g->node, &node_size);
    /* the same answer on every rank: all ranks share this machine or none holds them all */
    if (node_size != g->nranks) {
        return ag_errorf(err, err_sz, AG_EUNSUPPORTED,
                         "gradient averaging: the %d ranks are not all on one machine", g->nranks);
    }
    const size_t line_floats = RL_GRAD_LINE / sizeof(float);
    g->stride = (g->n + line_floats - 1) / line_floats * line_floats;
    size_t bytes =
        (size_t)g->nranks * RL_GRAD_LINE + 2 * (size_t)g->nranks * g->stride * sizeof(float);
    if (bytes > RL_GRAD_SHARED_MAX_BYTES) {
        return ag_errorf(err, err_sz, AG_ETOOBIG,
                         "gradient averaging: %zu bytes of shared memory are more than %zu", bytes,
                         RL_GRAD_SHARED_MAX_BYTES);
    }
    g->pids = calloc((size_t)g->nranks, sizeof *g->pids);
    int ok = g->pids != NULL;
    /* a window that cannot be had (a small /dev/shm) is a reason to fall back, not to abort */
    MPI_Comm_set_errhandler(g->node, MPI_ERRORS_RETURN);
    void *mine = NULL;
    if (MPI_Win_allocate_shared(g->rank == 0 ? (MPI_Aint)bytes : 0, 1, MPI_INFO_NULL, g->node,
                                &mine, &g->win) == MPI_SUCCESS) {
        g->win_ok = 1;
        MPI_Aint size = 0;
        int disp = 0;
        void *base = NULL;
        ok = ok && MPI_Win_shared_query(g->win, 0, &size, &disp, &base) == MPI_SUCCESS &&
             (size_t)size >= bytes && base != NULL;
        g->base = base;
    } else {
        ok = 0;
    }
    int all_ok = ok;
    MPI_Allreduce(MPI_IN_PLACE, &all_ok, 1, MPI_INT, MPI_MIN, g->comm);
    if (!all_ok) {
        /* freeing is collective over ranks that may not all hold the window: leave it to
         * MPI_Finalize */
        g->win_ok = 0;
        g->base = NULL;
        return ag_errorf(err, err_sz, AG_EMPI,
                         "gradient averaging: no shared-memory window of %zu bytes", bytes);
    }
    MPI_Win_lock_all(MPI_MODE_NOCHECK, g->win);
    if (g->rank == 0) {
        for (int r = 0; r < g->nranks; r++) {
            atomic_init(rl_grad_counter(g, r), 0);
        }
    }
    pid_t self = getpid();
    MPI_Allgather(&self, (int)sizeof self, MPI_BYTE, g->pids, (int)sizeof self, MPI_BYTE, g->comm);
    MPI_Win_sync(g->win);
    MPI_Barrier(g->node);
    return 0;
}

int rl_grad_create(RlGrad **out, MPI_Comm comm, size_t n, RlGradKind want, char *err,
                   size_t err_sz) {
    *out = NULL;
    RlGrad *g = calloc(1, sizeof *g);
    if (!g) {
        return ag_errorf(err, err_sz, AG_ENOMEM, "gradient averaging: out of memory");
    }
    g->comm = comm;
    g->n = n;
    g->node = MPI_COMM_NULL;
    MPI_Comm_rank(comm, &g->rank);
    MPI_Comm_size(comm, &g->nranks);
    if (g->nranks == 1) {
        g->kind = RL_GRAD_SINGLE;
    } else if (want == RL_GRAD_MPI || (want == RL_GRAD_AUTO && n > RL_GRAD_AUTO_SHARED_FLOATS)) {
        g->kind = RL_GRAD_MPI;
    } else {
        char why[256];
        int rc = rl_grad_shared_init(g, why, sizeof why);
        if (rc == 0) {
            g->kind = RL_GRAD_SHARED;
        } else if (want == RL_GRAD_SHARED) {
            ag_errorf(err, err_sz, rc, "%s", why);
            rl_grad_destroy(g);
            return rc;
        } else {
            g->kind = RL_GRAD_MPI;
        }
    }
    *out = g;
    return 0;
}

/* waits until rank r has arrived at step; a vanished rank is an error, a slow one is not */
static int rl_grad_wait(const RlGrad *g, int r, uint64_t step, char *err, size_t err_sz) {
    _Atomic uint64_t *counter = rl_grad_counter(g, r);
    unsigned long spins = 0;
    double next_check = 0.0;
    while (atomic_load_explicit(counter, memory_order_acquire) < step) {
        if (++spins < RL_GRAD_SPINS) {
            RL_GRAD_RELAX();
            continue;
        }
        sched_yield();
        if (spins % 1024 == 0) {
            double now = ag_time_now();
            if (next_check == 0.0) {
                next_check = now + 1.0;
            } else if (now >= next_check) {
                if (kill(g->pids[r], 0) != 0 && errno == ESRCH) {
                    return ag_errorf(err, err_sz, AG_EMPI,
                                     "gradient averaging: rank %d (pid %ld) has ended", r,
                                     (long)g->pids[r]);
                }
                next_check = now + 1.0;
            }
        }
    }
    return 0;
}

int rl_grad_mean(RlGrad *g, float *grads, char *err, size_t err_sz) {
    size_t n = g->n;
    float inv = 1.0f / (float)g->nranks;
    if (g->kind == RL_GRAD_SINGLE) {
        return 0;
    }
    if (g->kind == RL_GRAD_MPI) {
        if (MPI_Allreduce(MPI_IN_PLACE, grads, (int)n, MPI_FLOAT, MPI_SUM, g->comm) !=
            MPI_SUCCESS) {
            return ag_errorf(err, err_sz, AG_EMPI, "gradient allreduce failed");
        }
        for (size_t i = 0; i < n; i++) {
            grads[i] *= inv;
        }
        return 0;
    }
    uint64_t step = ++g->step;
    int bank = (int)(step & 1);
    memcpy(rl_grad_slot(g, bank, g->rank), grads, n * sizeof *grads);
    atomic_store_explicit(rl_grad_counter(g, g->rank), step, memory_order_release);
    for (int r = 0; r < g->nranks; r++) {
        if (r != g->rank) {
            int rc = rl_grad_wait(g, r, step, err, err_sz);
            if (rc) {
                return rc;
            }
        }
    }
    /* rank order on every rank: the same sum to the bit everywhere; one pass over the block
     * for two ranks, the scale folded into the last addition */
    const float *first = rl_grad_slot(g, bank, 0);
    for (int r = 1; r < g->nranks; r++) {
        const float *slot = rl_grad_slot(g, bank, r);
        const float *acc = r == 1 ? first : grads;
        if (r == g->nranks - 1) {
            for (size_t i = 0; i < n; i++) {
                grads[i] = (acc[i] + slot[i]) * inv;
            }
        } else {
            for (size_t i = 0; i < n; i++) {
                grads[i] = acc[i] + slot[i];
            }
        }
    }
    return 0;
}

void rl_grad_destroy(RlGrad *g) {
    if (!g) {
        return;
    }
    if (g->win_ok) {
        MPI_Win_unlock_all(g->win);
        MPI_Win_free(&g->win);
    }
    if (g->node != MPI_COMM_NULL) {
        MPI_Comm_free(&g->node);
    }
    free(g->pids);
    free(g);
}
