/* Tests of the block tasks' physics and resets (mj_hand_block.c): the model's contact pairs and
 * solver settings, the fast physics against the legacy one (same contacts and solution, the
 * block resting on the palm, a scripted finger motion rolling it the same way), resets from the
 * settled scenes (cheap, deterministic, drawn like the legacy ones) and the physics options. */
#include "mj_hand_test_util.h"

#include "ag_error.h"

#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* The rest test steps 1,000,000 physics substeps for its 1,000 resets: about 18 s, in any
 * build (MuJoCo is not instrumented). Sanitizer builds, which run the unit suites on every
 * change, use 200 resets (about 4 s) so that the suite stays within a few seconds. */
#if defined(__SANITIZE_ADDRESS__)
#define HAND_TEST_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define HAND_TEST_SANITIZED 1
#endif
#endif
#ifndef HAND_TEST_SANITIZED
#define HAND_TEST_SANITIZED 0
#endif

/* the absolute action that holds actuator a at the reset's rest pose */
static float hand_rest_action(const EnvMjHandShared *sh, int a) {
    double rest = 0;
    for (int k = 0; k < sh->act_nqpos[a]; k++) {
        for (int j = 0; j < HAND_NJOINT; j++) {
            if (sh->jnt_qpos[j] == sh->act_qpos[a][k]) {
                rest += sh->rest[j];
            }
        }
    }
    double half = 0.5 * (sh->act_hi[a] - sh->act_lo[a]);
    double centre = 0.5 * (sh->act_hi[a] + sh->act_lo[a]);
    return (float)((rest - centre) / half);
}

static double hand_dist3(const double *a, const double *b) {
    return sqrt((a[0] - b[0]) * (a[0] - b[0]) + (a[1] - b[1]) * (a[1] - b[1]) +
                (a[2] - b[2]) * (a[2] - b[2]));
}

/* copies a's whole simulation and episode state into b (the tasks may differ in physics) */
static void hand_copy_state(HandEnv *a, HandEnv *b) {
    size_t n = a->task.cls->snapshot_size(&a->task);
    ck_assert_uint_eq(n, b->task.cls->snapshot_size(&b->task));
    void *snap = malloc(n);
    a->task.cls->snapshot_save(&a->task, a->st, snap);
    b->task.cls->snapshot_load(&b->task, b->st, snap);
    free(snap);
    b->rng = a->rng;
}

START_TEST(test_block_model_settings) {
    char err[256] = "";
    mjModel *m = NULL;
    ck_assert_int_eq(env_mj_model_load("hand_block.xml", &m, err, sizeof(err)), 0);
    ck_assert_double_eq_tol(m->opt.timestep, 0.008, 1e-12);
    ck_assert_int_eq(m->opt.jacobian, mjJAC_SPARSE);
    ck_assert_int_eq(m->opt.collision, mjCOL_PAIR);
    ck_assert_int_eq(m->opt.cone, mjCONE_PYRAMIDAL);
    ck_assert_int_eq(m->opt.solver, mjSOL_NEWTON);
    /* the explicit pairs are exactly the pairs contype/conaffinity let collide (what the legacy
     * broad phase finds), with the contact settings the geoms mix to */
    int allowed = 0;
    for (int g1 = 0; g1 < m->ngeom; g1++) {
        for (int g2 = g1 + 1; g2 < m->ngeom; g2++) {
            int filter = (m->geom_contype[g1] & m->geom_conaffinity[g2]) ||
                         (m->geom_contype[g2] & m->geom_conaffinity[g1]);
            int b1 = m->geom_bodyid[g1], b2 = m->geom_bodyid[g2];
            if (!filter || b1 == b2) {
                continue;
            }
            allowed++;
            int found = -1;
            for (int p = 0; p < m->npair; p++) {
                if ((m->pair_geom1[p] == g1 && m->pair_geom2[p] == g2) ||
                    (m->pair_geom1[p] == g2 && m->pair_geom2[p] == g1)) {
                    found = p;
                }
            }
            ck_assert_msg(found >= 0, "no pair for %s - %s", mj_id2name(m, mjOBJ_GEOM, g1),
                          mj_id2name(m, mjOBJ_GEOM, g2));
            ck_assert_int_eq(m->pair_dim[found], m->geom_condim[g1]);
            ck_assert_double_eq(m->pair_friction[5 * found], m->geom_friction[3 * g1]);
            ck_assert_double_eq(m->pair_friction[5 * found + 2], m->geom_friction[3 * g1 + 1]);
            ck_assert_double_eq(m->pair_friction[5 * found + 3], m->geom_friction[3 * g1 + 2]);
            for (int k = 0; k < mjNREF; k++) {
                ck_assert_double_eq(m->pair_solref[mjNREF * found + k],
                                    m->geom_solref[mjNREF * g1 + k]);
            }
            for (int k = 0; k < mjNIMP; k++) {
                ck_assert_double_eq(m->pair_solimp[mjNIMP * found + k],
                                    m->geom_solimp[mjNIMP * g1 + k]);
            }
        }
    }
    ck_assert_int_eq(allowed, m->npair);
    ck_assert_int_eq(m->npair, 19); /* the cube against every hand geom */
    mj_deleteModel(m);
}
END_TEST

START_TEST(test_physics_options) {
    HandEnv e;
    hand_open(&e, &env_mj_hand_block_class, NULL, 1);
    ck_assert_int_eq(e.sh->physics, HAND_PHYSICS_FAST);
    ck_assert_int_eq(e.sh->substeps, 10);
    ck_assert_double_eq_tol(e.sh->m->opt.timestep, 0.008, 1e-12);
    ck_assert_double_eq_tol(e.task.spec.control_dt, 0.08, 1e-12);
    hand_close(&e);
    hand_open(&e, &env_mj_hand_block_class, "{\"physics\": \"legacy\"}", 1);
    ck_assert_int_eq(e.sh->substeps, 20);
    ck_assert_double_eq_tol(e.sh->m->opt.timestep, 0.004, 1e-12);
    ck_assert_int_eq(e.sh->m->opt.collision, mjCOL_DYNAMIC);
    ck_assert_int_eq(e.sh->m->opt.jacobian, mjJAC_AUTO);
    ck_assert_double_eq_tol(e.task.spec.control_dt, 0.08, 1e-12);
    hand_close(&e);
    hand_open(&e, &env_mj_hand_block_class, "{\"substeps\": 12}", 1);
    ck_assert_double_eq_tol(e.sh->m->opt.timestep, 0.08 / 12, 1e-12);
    ck_assert_double_eq_tol(e.task.spec.control_dt, 0.08, 1e-12);
    hand_close(&e);
    static const char *const bad[] = {"{\"physics\": \"quick\"}", "{\"physics\": 1}",
                                      "{\"substeps\": -1}", "{\"substeps\": 81}",
                                      "{\"substeps\": 2.5}"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char err[256] = "";
        HandEnv x;
        int rc = hand_open_opts(&x, &env_mj_hand_block_class, bad[i], 1, err, sizeof(err));
        ck_assert_msg(rc == AG_ESPEC, "%s: rc %d (%s)", bad[i], rc, err);
        ck_assert_msg(strstr(err, i < 2 ? "task_options.physics" : "task_options.substeps"),
                      "%s: %s", bad[i], err);
    }
    /* the reach tasks have neither option */
    char err[256] = "";
    HandEnv x;
    ck_assert_int_eq(
        hand_open_opts(&x, &env_mj_hand_reach_class, "{\"substeps\": 5}", 1, err, sizeof(err)),
        AG_ESPEC);
}
END_TEST

START_TEST(test_pairs_and_sparse_solve_like_broad_phase) {
    /* from the same state at the same timestep, the fast model (explicit pairs, sparse
     * Jacobian) and the legacy one (broad phase, dense Jacobian) step alike: the same contacts,
     * the same solution up to rounding */
    HandEnv f, l;
    hand_open(&f, &env_mj_hand_block_class, "{\"asymmetric\": true}", 3);
    hand_open(&l, &env_mj_hand_block_class,
              "{\"asymmetric\": true, \"physics\": \"legacy\", \"substeps\": 10}", 4);
    hand_copy_state(&f, &l);
    AgRng r;
    ag_rng_seed(&r, 7, 0);
    float act[20];
    double worst = 0;
    for (int t = 0; t < 25; t++) {
        for (int i = 0; i < 20; i++) {
            act[i] = (float)ag_rng_uniform_range(&r, -0.5, 0.5);
        }
        EnvStep a = hand_step(&f, act), b = hand_step(&l, act);
        ck_assert_int_eq(a.terminated, b.terminated);
        ck_assert_int_eq(f.st->d->ncon, l.st->d->ncon);
        for (int i = 0; i < f.task.spec.obs_size; i++) {
            double d = fabs(f.obs[i] - l.obs[i]);
            worst = d > worst ? d : worst;
        }
        if (a.terminated) {
            break;
        }
    }
    ck_assert_msg(worst < 1e-4, "largest observation difference %g", worst);
    hand_close(&f);
    hand_close(&l);
}
END_TEST

START_TEST(test_block_rests_on_palm) {
    /* zero action (relative control: hold where the hand is) for 100 control steps (8 s): the
     * block stays on the palm in at least 99 % of random resets; 1,000 resets in plain builds,
     * 200 under sanitizers (see HAND_TEST_SANITIZED) */
    const int resets = HAND_TEST_SANITIZED ? 200 : 1000;
    HandEnv e;
    hand_open(&e, &env_mj_hand_block_class, NULL, 2024);
    float zero[20] = {0};
    int dropped = 0;
    for (int r = 0; r < resets; r++) {
        e.task.cls->reset(&e.task, e.st, &e.rng, e.obs);
        for (int t = 0; t < 100; t++) {
            EnvStep s = hand_step(&e, zero);
            ck_assert_int_eq(s.unstable, 0);
            if (s.terminated) {
                dropped++;
                break;
            }
        }
    }
    ck_assert_msg(dropped * 100 <= resets, "%d of %d resets dropped the block", dropped, resets);
    hand_close(&e);
}
END_TEST

/* the scripted finger motion: the little finger cups (LFJ4), bends at the knuckle (LFJ2) and
 * curls its distal joints (LFJ1 + LFJ0) over the block, ramped over 2 s from the rest pose and
 * held for 1.2 s, every other actuator holding the rest pose (absolute control) */
static void hand_script_roll(HandEnv *e) {
    const EnvMjHandShared *sh = e->sh;
    static const char *const moved[3] = {"A_LFJ4", "A_LFJ2", "A_LFJ1"};
    static const double by[3] = {0.6, 1.47, 1.5};
    float a[20];
    for (int t = 0; t < 40; t++) {
        double s = t < 25 ? t / 24.0 : 1.0;
        for (int i = 0; i < 20; i++) {
            a[i] = hand_rest_action(sh, i);
            for (int k = 0; k < 3; k++) {
                if (strcmp(mj_id2name(sh->m, mjOBJ_ACTUATOR, i), moved[k]) == 0) {
                    a[i] += (float)(s * by[k] / (0.5 * (sh->act_hi[i] - sh->act_lo[i])));
                }
            }
            a[i] = a[i] > 1.0f ? 1.0f : a[i];
        }
        ck_assert_int_eq(hand_step(e, a).terminated, 0);
    }
}

START_TEST(test_scripted_roll_same_in_both) {
    /* the little finger rolls the block by 0.2-0.3 rad; from the same start, 8 ms x 10 and the
     * legacy 4 ms x 20 end within 0.06 rad of each other and turned about the same axis */
    static const uint64_t seeds[] = {1, 4, 5};
    for (size_t i = 0; i < sizeof(seeds) / sizeof(seeds[0]); i++) {
        HandEnv f, l;
        hand_open(&l, &env_mj_hand_block_class,
                  "{\"control\": \"absolute\", \"physics\": \"legacy\"}", seeds[i]);
        hand_open(&f, &env_mj_hand_block_class, "{\"control\": \"absolute\"}", seeds[i]);
        hand_copy_state(&l, &f);
        double q0[4], qf[4], ql[4];
        mju_copy4(q0, l.st->d->qpos + l.sh->obj_qpos + 3);
        hand_script_roll(&f);
        hand_script_roll(&l);
        mju_copy4(qf, f.st->d->qpos + f.sh->obj_qpos + 3);
        mju_copy4(ql, l.st->d->qpos + l.sh->obj_qpos + 3);
        double tf = env_mj_hand_rot_dist(qf, q0), tl = env_mj_hand_rot_dist(ql, q0);
        double apart = env_mj_hand_rot_dist(qf, ql);
        ck_assert_msg(tf > 0.15 && tl > 0.15, "seed %d: rolled %g and %g rad", (int)seeds[i], tf,
                      tl);
        ck_assert_msg(apart < 0.06, "seed %d: rolled %g and %g rad, %g apart", (int)seeds[i], tf,
                      tl, apart);
        /* the turn's axes: q = turn * q0 */
        double inv[4], rf[4], rl[4], af[3], al[3], angle;
        mju_negQuat(inv, q0);
        mju_mulQuat(rf, qf, inv);
        mju_mulQuat(rl, ql, inv);
        mju_quat2Vel(af, rf, 1.0);
        mju_quat2Vel(al, rl, 1.0);
        angle = mju_dot3(af, al) / (mju_norm3(af) * mju_norm3(al));
        ck_assert_msg(angle > 0.95, "seed %d: axes at cos %g", (int)seeds[i], angle);
        /* and the block stays where it was rolled, on the palm */
        ck_assert(hand_dist3(f.st->d->qpos + f.sh->obj_qpos, l.st->d->qpos + l.sh->obj_qpos) <
                  0.005);
        hand_close(&f);
        hand_close(&l);
    }
}
END_TEST

START_TEST(test_fast_resets_like_legacy) {
    /* the same seed draws the same face, turn, offset and goal; the settled scene from the
     * cache matches the legacy settling closely */
    for (uint64_t seed = 1; seed <= 24; seed++) {
        HandEnv f, l;
        hand_open(&f, &env_mj_hand_block_class, NULL, seed);
        hand_open(&l, &env_mj_hand_block_class, "{\"physics\": \"legacy\"}", seed);
        const mjData *df = f.st->d, *dl = l.st->d;
        ck_assert_mem_eq(f.st->goal, l.st->goal, 4 * sizeof(double));
        for (int i = 0; i < 4; i++) {
            ck_assert_double_eq_tol(df->mocap_quat[4 * f.sh->goal_mocap + i], f.st->goal[i], 1e-12);
        }
        const double *pf = df->qpos + f.sh->obj_qpos, *pl = dl->qpos + l.sh->obj_qpos;
        double moved = hand_dist3(pf, pl), turned = env_mj_hand_rot_dist(pf + 3, pl + 3);
        ck_assert_msg(moved < 0.001 && turned < 0.02, "seed %d: %g m, %g rad apart", (int)seed,
                      moved, turned);
        for (int j = 0; j < HAND_NJOINT; j++) {
            ck_assert(fabs(df->qpos[f.sh->jnt_qpos[j]] - dl->qpos[l.sh->jnt_qpos[j]]) < 0.01);
        }
        for (int i = 0; i < 6; i++) {
            ck_assert(fabs(df->qvel[f.sh->obj_dof + i]) < 0.2);
        }
        ck_assert_double_eq_tol(f.st->prev_dist, env_mj_hand_rot_dist(pf + 3, f.st->goal), 1e-12);
        hand_close(&f);
        hand_close(&l);
    }
}
END_TEST

START_TEST(test_fast_resets_independent_of_history) {
    /* a reset restores the whole state: after a long random episode it gives exactly what it
     * gives in a fresh environment with the same random stream */
    HandEnv a, b;
    hand_open(&a, &env_mj_hand_block_class, "{\"asymmetric\": true}", 31);
    hand_open(&b, &env_mj_hand_block_class, "{\"asymmetric\": true}", 32);
    AgRng r;
    ag_rng_seed(&r, 5, 5);
    float act[20];
    for (int t = 0; t < 60; t++) {
        for (int i = 0; i < 20; i++) {
            act[i] = (float)ag_rng_uniform_range(&r, -1, 1);
        }
        hand_step(&a, act);
    }
    ag_rng_seed(&a.rng, 77, 0);
    ag_rng_seed(&b.rng, 77, 0);
    a.task.cls->reset(&a.task, a.st, &a.rng, a.obs);
    b.task.cls->reset(&b.task, b.st, &b.rng, b.obs);
    size_t n = sizeof(float) * (size_t)a.task.spec.obs_size;
    ck_assert_mem_eq(a.obs, b.obs, n);
    for (int t = 0; t < 10; t++) {
        for (int i = 0; i < 20; i++) {
            act[i] = (float)ag_rng_uniform_range(&r, -1, 1);
        }
        EnvStep s1 = hand_step(&a, act), s2 = hand_step(&b, act);
        ck_assert(s1.reward == s2.reward);
        ck_assert_mem_eq(a.obs, b.obs, n);
    }
    hand_close(&a);
    hand_close(&b);
}
END_TEST

/* the mean distance of the four fingertips from the block's centre, m */
static double hand_finger_reach(const HandEnv *e) {
    const mjData *d = e->st->d;
    double sum = 0;
    for (int i = 0; i < 4; i++) {
        sum += hand_dist3(d->site_xpos + 3 * e->sh->tip_site[i], d->qpos + e->sh->obj_qpos);
    }
    return sum / 4;
}

START_TEST(test_cupped_start_pose) {
    /* the cupped start brings the fingertips to the block (over its far top edge) and still
     * leaves the block resting on the palm under zero action */
    HandEnv straight, cupped;
    hand_open(&straight, &env_mj_hand_block_class, NULL, 7);
    hand_open(&cupped, &env_mj_hand_block_class, "{\"start_pose\": \"cupped\"}", 7);
    ck_assert_int_eq(straight.sh->start_cupped, 0);
    ck_assert_int_eq(cupped.sh->start_cupped, 1);
    const int resets = 100;
    float zero[20] = {0};
    int dropped = 0;
    for (int r = 0; r < resets; r++) {
        straight.task.cls->reset(&straight.task, straight.st, &straight.rng, straight.obs);
        cupped.task.cls->reset(&cupped.task, cupped.st, &cupped.rng, cupped.obs);
        double far = hand_finger_reach(&straight), near = hand_finger_reach(&cupped);
        ck_assert_msg(far > 0.12 && near < 0.075, "fingertips %.3f m (straight) %.3f m (cupped)",
                      far, near);
        /* the fingers never start inside the block: nothing is pushed at the reset */
        ck_assert_double_lt(
            hand_dist3(cupped.st->d->qvel + cupped.sh->obj_dof, (const double[3]){0, 0, 0}), 0.1);
        for (int t = 0; t < 100; t++) {
            EnvStep s = hand_step(&cupped, zero);
            ck_assert_int_eq(s.unstable, 0);
            if (s.terminated) {
                dropped++;
                break;
            }
        }
    }
    ck_assert_msg(dropped * 100 <= resets, "%d of %d cupped resets dropped the block", dropped,
                  resets);
    hand_close(&straight);
    hand_close(&cupped);
    static const char *const bad[] = {"{\"start_pose\": \"curled\"}", "{\"start_pose\": 1}",
                                      "{\"start_pose\": [\"cupped\"]}"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char err[256] = "";
        HandEnv x;
        int rc = hand_open_opts(&x, &env_mj_hand_block_class, bad[i], 1, err, sizeof(err));
        ck_assert_msg(rc == AG_ESPEC && strstr(err, "task_options.start_pose") != NULL,
                      "%s: rc %d (%s)", bad[i], rc, err);
    }
    /* the reach tasks have no block to start against */
    char err[256] = "";
    HandEnv x;
    ck_assert_int_eq(hand_open_opts(&x, &env_mj_hand_reach_class, "{\"start_pose\": \"cupped\"}", 1,
                                    err, sizeof(err)),
                     AG_ESPEC);
}
END_TEST

static Suite *hand_block_suite(void) {
    Suite *s = suite_create("mj_hand_block");
    TCase *tc = tcase_create("physics");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_block_model_settings);
    tcase_add_test(tc, test_physics_options);
    tcase_add_test(tc, test_pairs_and_sparse_solve_like_broad_phase);
    tcase_add_test(tc, test_block_rests_on_palm);
    tcase_add_test(tc, test_scripted_roll_same_in_both);
    tcase_add_test(tc, test_fast_resets_like_legacy);
    tcase_add_test(tc, test_fast_resets_independent_of_history);
    tcase_add_test(tc, test_cupped_start_pose);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) {
    SRunner *sr = srunner_create(hand_block_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
