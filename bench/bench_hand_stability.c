/* Stability and solver figures of HandBlock's physics (docs/tasks.md, "HandBlock physics"): for
 * each setting given, one Markdown row of
 *   - resets: the largest block and hand joint speeds right after a reset;
 *   - rest: zero action (relative control) for 100 control steps after each of N resets: drops
 *     and the deepest contact penetration (max and 99th percentile over substeps);
 *   - held: the hand held at the reset's targets for 16 s (N / 10 resets): over the last 8 s,
 *     a static equilibrium, the largest rise of the total energy above its value at 8 s (a
 *     numerical energy gain; <= 0 when there is none) and the block's creep;
 *   - random: 20,000 control steps of uniformly random relative actions (reset on a drop and
 *     every 100 steps): penetration (max, 99.9th, 99th percentile), block speed, unstable steps.
 * With --solver, a second table times the Newton solver's iteration limit, tolerance and the
 * friction cone on 400 states visited under random actions, and gives the block's state after
 * one control step against a tight reference solve (100 iterations, tolerance 1e-12).
 *
 *   bench_hand_stability [--resets N] [--solver] [OPTIONS_JSON ...]   (default: legacy and fast)
 */
#include "env.h"
#include "mj_hand.h"
#include "mj_runtime.h"
#include "mj_tasks.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define STAB_MAX_SAMPLES   4000000
#define STAB_RANDOM_STEPS  20000
#define STAB_SOLVER_STATES 400

typedef struct StabEnv {
    EnvTask task;
    EnvMjHandShared *sh;
    EnvMjHandState *st;
    float *obs;
    AgRng rng;
} StabEnv;

/* the deepest penetration of every substep, for percentiles */
typedef struct StabPen {
    double *v;
    long n;
} StabPen;

static double stab_cpu(void) {
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int stab_open(StabEnv *e, const char *options) {
    char err[512] = "";
    json_error_t je;
    json_t *o = json_loads(options, 0, &je);
    memset(e, 0, sizeof(*e));
    int rc = o == NULL ? 2 : env_task_create(&e->task, "HandBlock", o, err, sizeof(err));
    json_decref(o);
    if (rc != 0) {
        fprintf(stderr, "%s: %s\n", options, o == NULL ? je.text : err);
        return rc;
    }
    e->sh = e->task.shared;
    e->st = calloc(1, e->task.cls->state_size);
    e->obs = calloc((size_t)e->task.spec.obs_size, sizeof(float));
    if (e->st == NULL || e->obs == NULL ||
        e->task.cls->env_create(&e->task, e->st, err, sizeof(err)) != 0) {
        fprintf(stderr, "%s: cannot create the environment %s\n", options, err);
        return 1;
    }
    ag_rng_seed(&e->rng, 1, 0);
    return 0;
}

static void stab_close(StabEnv *e) {
    if (e->st != NULL && e->st->d != NULL) {
        e->task.cls->env_destroy(&e->task, e->st);
    }
    free(e->st);
    free(e->obs);
    env_task_destroy(&e->task);
}

static void stab_reset(StabEnv *e) {
    e->task.cls->reset(&e->task, e->st, &e->rng, e->obs);
}

static double stab_act_position(const EnvMjHandShared *sh, const mjData *d, int a) {
    double p = 0;
    for (int k = 0; k < sh->act_nqpos[a]; k++) {
        p += d->qpos[sh->act_qpos[a][k]];
    }
    return p;
}

/* relative control: targets = where the actuators are + u * half the range, clipped */
static void stab_control(const EnvMjHandShared *sh, mjData *d, const double *u) {
    for (int a = 0; a < HAND_NACT; a++) {
        double v = stab_act_position(sh, d, a) + u[a] * 0.5 * (sh->act_hi[a] - sh->act_lo[a]);
        d->ctrl[a] = v < sh->act_lo[a] ? sh->act_lo[a] : (v > sh->act_hi[a] ? sh->act_hi[a] : v);
    }
}

/* one control step substep by substep, recording the deepest penetration of each */
static void stab_substeps(StabEnv *e, StabPen *pen) {
    mjData *d = e->st->d;
    for (int s = 0; s < e->sh->substeps; s++) {
        mj_step(e->sh->m, d);
        double deepest = 0;
        for (int i = 0; i < d->ncon; i++) {
            deepest = -d->contact[i].dist > deepest ? -d->contact[i].dist : deepest;
        }
        if (pen->n < STAB_MAX_SAMPLES) {
            pen->v[pen->n++] = deepest;
        }
    }
}

static int stab_cmp(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double stab_quantile(StabPen *pen, double q) {
    if (pen->n == 0) {
        return 0;
    }
    qsort(pen->v, (size_t)pen->n, sizeof(double), stab_cmp);
    return pen->v[(long)(q * (double)(pen->n - 1))];
}

static double stab_norm3(const double *v) {
    return sqrt(v[0] * v[0] + v[1] * v[1] + v[2] * v[2]);
}

static double stab_max_abs(const double *v, int n) {
    double m = 0;
    for (int i = 0; i < n; i++) {
        m = fabs(v[i]) > m ? fabs(v[i]) : m;
    }
    return m;
}

static int stab_setting(const char *options, int resets, StabPen *pen) {
    StabEnv e;
    if (stab_open(&e, options) != 0) {
        stab_close(&e);
        return 1;
    }
    const EnvMjHandShared *sh = e.sh;
    mjModel *m = sh->m;
    double zero[HAND_NACT] = {0};

    /* resets and rest */
    double reset_block = 0, reset_hand = 0;
    int dropped = 0;
    pen->n = 0;
    for (int r = 0; r < resets; r++) {
        stab_reset(&e);
        mjData *d = e.st->d;
        reset_block = fmax(reset_block, stab_max_abs(d->qvel + sh->obj_dof, 6));
        reset_hand = fmax(reset_hand, stab_max_abs(d->qvel, HAND_NJOINT));
        for (int t = 0; t < 100; t++) {
            stab_control(sh, d, zero);
            stab_substeps(&e, pen);
            if (d->qpos[sh->obj_qpos + 2] < sh->drop_z) {
                dropped++;
                break;
            }
        }
    }
    double rest_max = stab_quantile(pen, 1.0), rest_p99 = stab_quantile(pen, 0.99);

    /* held at the reset's targets: energy over the static last 8 s */
    int held = resets / 10 > 0 ? resets / 10 : 1;
    double rise = -INFINITY, creep = 0, turn = 0;
    m->opt.enableflags |= mjENBL_ENERGY;
    for (int r = 0; r < held; r++) {
        stab_reset(&e);
        mjData *d = e.st->d;
        double e8 = 0, p8[7];
        for (int t = 0; t < 200; t++) {
            stab_substeps(&e, pen);
            mj_forward(m, d);
            double energy = d->energy[0] + d->energy[1];
            if (t == 99) {
                e8 = energy;
                mju_copy(p8, d->qpos + sh->obj_qpos, 7);
            } else if (t > 99) {
                rise = fmax(rise, energy - e8);
            }
        }
        double dp[3];
        mju_sub3(dp, d->qpos + sh->obj_qpos, p8);
        creep = fmax(creep, stab_norm3(dp));
        turn = fmax(turn, env_mj_hand_rot_dist(d->qpos + sh->obj_qpos + 3, p8 + 3));
    }
    m->opt.enableflags &= ~mjENBL_ENERGY;

    /* random relative actions */
    AgRng arng;
    ag_rng_seed(&arng, 2, 0);
    double speed = 0, u[HAND_NACT];
    long unstable = 0;
    pen->n = 0;
    stab_reset(&e);
    for (int t = 1; t <= STAB_RANDOM_STEPS; t++) {
        mjData *d = e.st->d;
        for (int a = 0; a < HAND_NACT; a++) {
            u[a] = ag_rng_uniform_range(&arng, -1, 1);
        }
        stab_control(sh, d, u);
        stab_substeps(&e, pen);
        speed = fmax(speed, stab_norm3(d->qvel + sh->obj_dof));
        int bad = env_mj_unstable(m, d);
        unstable += bad;
        if (bad || d->qpos[sh->obj_qpos + 2] < sh->drop_z || t % 100 == 0) {
            stab_reset(&e);
        }
    }
    printf("| `%s` | %.2f ms x %d | %.3f / %.3f | %d / %d | %.2f / %.3f | %.1e J | %.2f mm, "
           "%.4f rad | %.1f / %.1f / %.1f | %.2f | %ld |\n",
           options, 1e3 * m->opt.timestep, sh->substeps, reset_block, reset_hand, dropped, resets,
           1e3 * rest_max, 1e3 * rest_p99, rise, 1e3 * creep, turn, 1e3 * stab_quantile(pen, 1.0),
           1e3 * stab_quantile(pen, 0.999), 1e3 * stab_quantile(pen, 0.99), speed, unstable);
    fflush(stdout);
    stab_close(&e);
    return 0;
}

/* ---- solver settings ---- */

typedef struct StabSolver {
    int iterations;
    double tolerance;
    int cone;
} StabSolver;

static int stab_solver(void) {
    static const StabSolver cfg[] = {
        {100, 1e-12, mjCONE_PYRAMIDAL}, {20, 1e-8, mjCONE_PYRAMIDAL},  {10, 1e-8, mjCONE_PYRAMIDAL},
        {5, 1e-8, mjCONE_PYRAMIDAL},    {3, 1e-8, mjCONE_PYRAMIDAL},   {20, 1e-4, mjCONE_PYRAMIDAL},
        {20, 1e-6, mjCONE_PYRAMIDAL},   {20, 1e-10, mjCONE_PYRAMIDAL}, {20, 1e-8, mjCONE_ELLIPTIC},
    };
    StabEnv e;
    if (stab_open(&e, "{}") != 0) {
        stab_close(&e);
        return 1;
    }
    const EnvMjHandShared *sh = e.sh;
    mjModel *m = sh->m;
    size_t n = env_mj_snapshot_count(m);
    double *states = malloc(sizeof(double) * n * STAB_SOLVER_STATES);
    double *ref = malloc(sizeof(double) * 13 * STAB_SOLVER_STATES);
    mjData *d = mj_makeData(m);
    if (states == NULL || ref == NULL || d == NULL) {
        fprintf(stderr, "out of memory\n");
        return 1;
    }
    /* states with contacts, visited under random actions */
    AgRng arng;
    ag_rng_seed(&arng, 2, 0);
    double u[HAND_NACT];
    stab_reset(&e);
    for (int k = 0, t = 1; k < STAB_SOLVER_STATES; t++) {
        mjData *ed = e.st->d;
        for (int a = 0; a < HAND_NACT; a++) {
            u[a] = ag_rng_uniform_range(&arng, -1, 1);
        }
        stab_control(sh, ed, u);
        if (t % 3 == 0 && ed->ncon > 0) {
            env_mj_snapshot_save(m, ed, states + n * (size_t)k++);
        }
        env_mj_step(m, ed, sh->substeps);
        if (ed->qpos[sh->obj_qpos + 2] < sh->drop_z || t % 60 == 0) {
            stab_reset(&e);
        }
    }
    printf("\n| iterations | tolerance | cone | us per control step | mean iterations | at the "
           "limit | block position error | block rotation error | block velocity error |\n");
    printf("|---|---|---|---|---|---|---|---|---|\n");
    for (size_t c = 0; c < sizeof(cfg) / sizeof(cfg[0]); c++) {
        m->opt.iterations = cfg[c].iterations;
        m->opt.tolerance = cfg[c].tolerance;
        m->opt.cone = cfg[c].cone;
        double dpos = 0, drot = 0, dvel = 0;
        long iters = 0, capped = 0, solves = 0;
        double t0 = stab_cpu();
        for (int rep = 0; rep < 5; rep++) {
            for (int k = 0; k < STAB_SOLVER_STATES; k++) {
                env_mj_snapshot_restore(m, d, states + n * (size_t)k);
                for (int s = 0; s < sh->substeps; s++) {
                    mj_step(m, d);
                    iters += d->solver_iter;
                    capped += d->solver_iter >= cfg[c].iterations;
                    solves++;
                }
                const double *q = d->qpos + sh->obj_qpos, *v = d->qvel + sh->obj_dof;
                double *r = ref + 13 * k;
                if (c == 0) {
                    mju_copy(r, q, 7);
                    mju_copy(r + 7, v, 6);
                    continue;
                }
                double dp[3];
                mju_sub3(dp, q, r);
                dpos = fmax(dpos, stab_norm3(dp));
                drot = fmax(drot, env_mj_hand_rot_dist(q + 3, r + 3));
                for (int i = 0; i < 6; i++) {
                    dvel = fmax(dvel, fabs(v[i] - r[7 + i]));
                }
            }
        }
        double us = 1e6 * (stab_cpu() - t0) / (5.0 * STAB_SOLVER_STATES);
        printf("| %d | %g | %s | %.1f | %.2f | %.1f %% | %.1e m | %.1e rad | %.1e |\n",
               cfg[c].iterations, cfg[c].tolerance,
               cfg[c].cone == mjCONE_PYRAMIDAL ? "pyramidal" : "elliptic", us,
               (double)iters / (double)solves, 100.0 * (double)capped / (double)solves, dpos, drot,
               dvel);
    }
    mj_deleteData(d);
    free(states);
    free(ref);
    stab_close(&e);
    return 0;
}

int main(int argc, char **argv) {
    int resets = 1000, solver = 0, nset = 0, rc = 0;
    const char *settings[32];
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--resets") == 0 && i + 1 < argc) {
            resets = atoi(argv[++i]);
        } else if (strcmp(argv[i], "--solver") == 0) {
            solver = 1;
        } else if (argv[i][0] == '{' && nset < 32) {
            settings[nset++] = argv[i];
        } else {
            fprintf(stderr, "usage: %s [--resets N] [--solver] [OPTIONS_JSON ...]\n", argv[0]);
            return 2;
        }
    }
    if (resets < 1 || resets > 100000) {
        fprintf(stderr, "--resets must be within 1..100000\n");
        return 2;
    }
    if (nset == 0) {
        settings[nset++] = "{\"physics\": \"legacy\"}";
        settings[nset++] = "{}";
    }
    StabPen pen = {malloc(sizeof(double) * STAB_MAX_SAMPLES), 0};
    if (pen.v == NULL) {
        fprintf(stderr, "out of memory\n");
        return 1;
    }
    printf("| options | physics step | reset: block / hand speed | rest: dropped | rest: "
           "penetration max / p99 (mm) | held: energy rise | held: block creep | random: "
           "penetration max / p99.9 / p99 (mm) | random: block speed (m/s) | unstable |\n");
    printf("|---|---|---|---|---|---|---|---|---|---|\n");
    for (int s = 0; s < nset; s++) {
        rc |= stab_setting(settings[s], resets, &pen);
    }
    free(pen.v);
    if (solver) {
        rc |= stab_solver();
    }
    return rc ? 1 : 0;
}
