/* Tests of the MuJoCo locomotion and control tasks (mj_locomotion.c): model sizes, seeded
 * determinism, reset noise, Gymnasium-v4 reward terms and termination rules on scripted states,
 * unstable simulation, snapshots and option checking. */
#include "mj_runtime.h"
#include "mj_tasks.h"

#include "ag_error.h"

#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct LocoEnv {
    EnvTask task;
    void *state;
    AgRng rng;
    float *obs;
} LocoEnv;

/* the first field of every MuJoCo environment state is its mjData */
static mjData *loco_data(const LocoEnv *e) {
    return *(mjData *const *)e->state;
}

static mjModel *loco_model(const LocoEnv *e) {
    return *(mjModel *const *)e->task.shared;
}

static void loco_open(LocoEnv *e, const EnvClass *cls, uint64_t seed) {
    char err[256] = "";
    memset(e, 0, sizeof(*e));
    e->task.cls = cls;
    int rc = cls->task_create(&e->task, NULL, err, sizeof(err));
    ck_assert_msg(rc == 0, "%s: %s", cls->name, err);
    e->state = calloc(1, cls->state_size);
    ck_assert_ptr_nonnull(e->state);
    ck_assert_int_eq(cls->env_create(&e->task, e->state, err, sizeof(err)), 0);
    e->obs = calloc((size_t)e->task.spec.obs_size, sizeof(float));
    ag_rng_seed(&e->rng, seed, 0);
    cls->reset(&e->task, e->state, &e->rng, e->obs);
}

static void loco_close(LocoEnv *e) {
    e->task.cls->env_destroy(&e->task, e->state);
    e->task.cls->task_destroy(&e->task);
    free(e->state);
    free(e->obs);
}

static EnvStep loco_step(LocoEnv *e, const float *action) {
    EnvStep st;
    e->task.cls->step(&e->task, e->state, &e->rng, action, e->obs, &st);
    return st;
}

static void loco_random_action(LocoEnv *e, AgRng *rng, float *a) {
    for (int i = 0; i < e->task.spec.action_dim; i++) {
        a[i] = (float)ag_rng_uniform_range(rng, e->task.spec.action_low[i],
                                           e->task.spec.action_high[i]);
    }
}

typedef struct LocoExpect {
    const EnvClass *cls;
    int nq, nv, nu, obs, max_steps;
    double dt;
} LocoExpect;

static const LocoExpect *loco_expect(int i) {
    static LocoExpect table[9];
    static int init;
    if (!init) {
        LocoExpect t[9] = {
            {&env_mj_inverted_pendulum_class, 2, 2, 1, 4, 1000, 0.04},
            {&env_mj_inverted_double_pendulum_class, 3, 3, 1, 11, 1000, 0.05},
            {&env_mj_reacher_class, 4, 4, 2, 11, 50, 0.02},
            {&env_mj_swimmer_class, 5, 5, 2, 8, 1000, 0.04},
            {&env_mj_hopper_class, 6, 6, 3, 11, 1000, 0.008},
            {&env_mj_half_cheetah_class, 9, 9, 6, 17, 1000, 0.05},
            {&env_mj_walker2d_class, 9, 9, 6, 17, 1000, 0.008},
            {&env_mj_ant_class, 15, 14, 8, 27, 1000, 0.05},
            {&env_mj_humanoid_class, 24, 23, 17, 376, 1000, 0.015},
        };
        memcpy(table, t, sizeof(t));
        init = 1;
    }
    return &table[i];
}

START_TEST(test_models_load_with_expected_sizes) {
    const LocoExpect *x = loco_expect(_i);
    LocoEnv e;
    loco_open(&e, x->cls, 1);
    const mjModel *m = loco_model(&e);
    ck_assert_int_eq(m->nq, x->nq);
    ck_assert_int_eq(m->nv, x->nv);
    ck_assert_int_eq(m->nu, x->nu);
    ck_assert_int_eq(e.task.spec.obs_size, x->obs);
    ck_assert_int_eq(e.task.spec.num_sensations, 1);
    ck_assert_str_eq(e.task.spec.sensations[0].name, "state");
    ck_assert_int_eq(e.task.spec.action_dim, x->nu);
    ck_assert_int_eq(e.task.spec.action_kind, ENV_ACTION_BOX);
    ck_assert_int_eq(e.task.spec.max_episode_steps, x->max_steps);
    ck_assert_double_eq_tol(e.task.spec.control_dt, x->dt, 1e-12);
    for (int i = 0; i < x->obs; i++) {
        ck_assert(isfinite(e.obs[i]));
    }
    /* random actions for a while: finite observations, no crash */
    AgRng arng;
    ag_rng_seed(&arng, 5, 1);
    float a[ENV_MAX_ACTION_DIM];
    for (int t = 0; t < 50; t++) {
        loco_random_action(&e, &arng, a);
        EnvStep st = loco_step(&e, a);
        ck_assert(isfinite(st.reward));
        ck_assert_int_eq(st.unstable, 0);
        if (st.terminated) {
            x->cls->reset(&e.task, e.state, &e.rng, e.obs);
        }
    }
    loco_close(&e);
}
END_TEST

START_TEST(test_same_seed_same_trajectory) {
    const LocoExpect *x = loco_expect(_i);
    LocoEnv a, b;
    loco_open(&a, x->cls, 42);
    loco_open(&b, x->cls, 42);
    AgRng r1, r2;
    ag_rng_seed(&r1, 9, 3);
    ag_rng_seed(&r2, 9, 3);
    float act1[ENV_MAX_ACTION_DIM], act2[ENV_MAX_ACTION_DIM];
    ck_assert_mem_eq(a.obs, b.obs, sizeof(float) * (size_t)x->obs);
    for (int t = 0; t < 40; t++) {
        loco_random_action(&a, &r1, act1);
        loco_random_action(&b, &r2, act2);
        EnvStep s1 = loco_step(&a, act1), s2 = loco_step(&b, act2);
        ck_assert(s1.reward == s2.reward);
        ck_assert_int_eq(s1.terminated, s2.terminated);
        ck_assert_mem_eq(a.obs, b.obs, sizeof(float) * (size_t)x->obs);
    }
    /* another seed starts elsewhere */
    LocoEnv c;
    loco_open(&c, x->cls, 43);
    LocoEnv d;
    loco_open(&d, x->cls, 42);
    ck_assert(memcmp(c.obs, d.obs, sizeof(float) * (size_t)x->obs) != 0);
    loco_close(&a);
    loco_close(&b);
    loco_close(&c);
    loco_close(&d);
}
END_TEST

START_TEST(test_reset_noise_bounds) {
    LocoEnv e;
    loco_open(&e, &env_mj_hopper_class, 7);
    const mjModel *m = loco_model(&e);
    const mjData *d = loco_data(&e);
    int moved = 0;
    for (int i = 0; i < m->nq; i++) {
        ck_assert(fabs(d->qpos[i] - m->qpos0[i]) <= 5e-3);
        moved += d->qpos[i] != m->qpos0[i];
    }
    for (int i = 0; i < m->nv; i++) {
        ck_assert(fabs(d->qvel[i]) <= 5e-3);
    }
    ck_assert_int_eq(moved, m->nq);
    ck_assert_double_eq_tol(d->qpos[1], 1.25, 5e-3); /* rootz is the height */
    loco_close(&e);
}
END_TEST

/* writes a state and recomputes, as a scripted situation */
static void loco_set(LocoEnv *e, const double *qpos, const double *qvel) {
    ck_assert_int_eq(env_mj_set_state(loco_model(e), loco_data(e), qpos, qvel), 0);
}

START_TEST(test_hopper_health_rules) {
    LocoEnv e;
    loco_open(&e, &env_mj_hopper_class, 1);
    const mjModel *m = loco_model(&e);
    float zero[3] = {0, 0, 0};
    double q[6];
    double v[6] = {0};
    /* healthy standing: not terminated, healthy reward 1 */
    memcpy(q, m->qpos0, sizeof(q));
    loco_set(&e, q, v);
    EnvStep st = loco_step(&e, zero);
    ck_assert_int_eq(st.terminated, 0);
    /* z below 0.7 ends the episode */
    memcpy(q, m->qpos0, sizeof(q));
    q[1] = 0.6;
    loco_set(&e, q, v);
    st = loco_step(&e, zero);
    ck_assert_int_eq(st.terminated, 1);
    /* torso angle beyond 0.2 rad */
    memcpy(q, m->qpos0, sizeof(q));
    q[2] = 0.3;
    loco_set(&e, q, v);
    st = loco_step(&e, zero);
    ck_assert_int_eq(st.terminated, 1);
    /* a joint velocity beyond 100 */
    memcpy(q, m->qpos0, sizeof(q));
    double fast[6] = {0, 0, 0, 0, 0, 0};
    fast[5] = 5000.0;
    loco_set(&e, q, fast);
    st = loco_step(&e, zero);
    ck_assert_int_eq(st.terminated, 1);
    loco_close(&e);
}
END_TEST

START_TEST(test_hopper_reward_terms) {
    LocoEnv e;
    loco_open(&e, &env_mj_hopper_class, 1);
    const mjData *d = loco_data(&e);
    double x0 = d->qpos[0];
    float a[3] = {0.5f, -0.25f, 1.0f};
    EnvStep st = loco_step(&e, a);
    double vx = (d->qpos[0] - x0) / 0.008;
    double ctrl = 1e-3 * (0.25 + 0.0625 + 1.0);
    ck_assert_double_eq_tol(st.reward, vx + 1.0 - ctrl, 1e-4);
    loco_close(&e);
}
END_TEST

START_TEST(test_half_cheetah_forward_reward_is_dx_dt) {
    LocoEnv e;
    loco_open(&e, &env_mj_half_cheetah_class, 3);
    const mjModel *m = loco_model(&e);
    const mjData *d = loco_data(&e);
    /* push it forward so that dx is clearly non-zero */
    double q[9], v[9] = {2.0, 0, 0, 0, 0, 0, 0, 0, 0};
    memcpy(q, m->qpos0, sizeof(q));
    loco_set(&e, q, v);
    float zero[6] = {0};
    double x0 = d->qpos[0];
    EnvStep st = loco_step(&e, zero);
    double dx = d->qpos[0] - x0;
    ck_assert(dx > 0.01);
    ck_assert_double_eq_tol(st.reward, dx / 0.05, 1e-4);
    ck_assert_int_eq(st.terminated, 0); /* HalfCheetah never terminates */
    /* control cost 0.1 * |a|^2 */
    float a[6] = {1, 1, 1, 1, 1, 1};
    x0 = d->qpos[0];
    st = loco_step(&e, a);
    dx = d->qpos[0] - x0;
    ck_assert_double_eq_tol(st.reward, dx / 0.05 - 0.6, 1e-4);
    loco_close(&e);
}
END_TEST

START_TEST(test_walker_ant_humanoid_health) {
    float zero[17] = {0};
    double q[24], v[23] = {0};
    /* Walker2d: z must stay in (0.8, 2.0) */
    LocoEnv e;
    loco_open(&e, &env_mj_walker2d_class, 1);
    memcpy(q, loco_model(&e)->qpos0, sizeof(double) * 9);
    loco_set(&e, q, v);
    ck_assert_int_eq(loco_step(&e, zero).terminated, 0);
    q[1] = 0.7;
    loco_set(&e, q, v);
    ck_assert_int_eq(loco_step(&e, zero).terminated, 1);
    memcpy(q, loco_model(&e)->qpos0, sizeof(double) * 9);
    q[2] = 1.2;
    loco_set(&e, q, v);
    ck_assert_int_eq(loco_step(&e, zero).terminated, 1);
    loco_close(&e);

    /* Ant: torso z in [0.2, 1.0] */
    loco_open(&e, &env_mj_ant_class, 1);
    memcpy(q, loco_model(&e)->qpos0, sizeof(double) * 15);
    q[2] = 0.75;
    loco_set(&e, q, v);
    ck_assert_int_eq(loco_step(&e, zero).terminated, 0);
    q[2] = 1.3;
    loco_set(&e, q, v);
    ck_assert_int_eq(loco_step(&e, zero).terminated, 1);
    loco_close(&e);

    /* Humanoid: torso z in (1.0, 2.0); healthy reward 5 */
    loco_open(&e, &env_mj_humanoid_class, 1);
    memcpy(q, loco_model(&e)->qpos0, sizeof(double) * 24);
    loco_set(&e, q, v);
    EnvStep st = loco_step(&e, zero);
    ck_assert_int_eq(st.terminated, 0);
    ck_assert(fabs(st.reward - 5.0) < 1.0);
    q[2] = 0.8;
    loco_set(&e, q, v);
    ck_assert_int_eq(loco_step(&e, zero).terminated, 1);
    loco_close(&e);
}
END_TEST

START_TEST(test_pendulum_rules) {
    LocoEnv e;
    loco_open(&e, &env_mj_inverted_pendulum_class, 1);
    float zero[1] = {0};
    double q[2] = {0, 0.1}, v[2] = {0, 0};
    loco_set(&e, q, v);
    EnvStep st = loco_step(&e, zero);
    ck_assert_int_eq(st.terminated, 0);
    ck_assert(st.reward == 1.0f);
    q[1] = 0.5;
    loco_set(&e, q, v);
    ck_assert_int_eq(loco_step(&e, zero).terminated, 1);
    loco_close(&e);

    /* double pendulum: upright gives about 10 - (1.2 - 2)^2; tip below 1 ends it */
    loco_open(&e, &env_mj_inverted_double_pendulum_class, 1);
    double q3[3] = {0, 0, 0}, v3[3] = {0, 0, 0};
    loco_set(&e, q3, v3);
    st = loco_step(&e, zero);
    ck_assert_int_eq(st.terminated, 0);
    ck_assert_double_eq_tol(st.reward, 10.0 - 0.8 * 0.8, 0.05);
    q3[1] = 1.2;
    loco_set(&e, q3, v3);
    ck_assert_int_eq(loco_step(&e, zero).terminated, 1);
    loco_close(&e);
}
END_TEST

START_TEST(test_reacher_reward_and_goal) {
    LocoEnv e;
    loco_open(&e, &env_mj_reacher_class, 11);
    const mjModel *m = loco_model(&e);
    const mjData *d = loco_data(&e);
    /* goal inside the 0.2 disc, goal velocity zero */
    double gx = d->qpos[2], gy = d->qpos[3];
    ck_assert(sqrt(gx * gx + gy * gy) < 0.2);
    ck_assert(d->qvel[2] == 0 && d->qvel[3] == 0);
    /* reward = -|fingertip - target| (before the step) - |a|^2 */
    int tip = mj_name2id(m, mjOBJ_BODY, "fingertip"), tgt = mj_name2id(m, mjOBJ_BODY, "target");
    double dist = 0;
    for (int i = 0; i < 3; i++) {
        double dd = d->xpos[3 * tip + i] - d->xpos[3 * tgt + i];
        dist += dd * dd;
    }
    dist = sqrt(dist);
    ck_assert_double_eq_tol(e.obs[8], d->xpos[3 * tip] - d->xpos[3 * tgt], 1e-6);
    float a[2] = {0.5f, -0.5f};
    EnvStep st = loco_step(&e, a);
    ck_assert_double_eq_tol(st.reward, -dist - 0.5, 1e-5);
    loco_close(&e);
}
END_TEST

START_TEST(test_unstable_is_reported) {
    LocoEnv e;
    loco_open(&e, &env_mj_hopper_class, 1);
    mjData *d = loco_data(&e);
    d->qvel[3] = NAN;
    float zero[3] = {0};
    EnvStep st = loco_step(&e, zero);
    ck_assert_int_eq(st.unstable, 1);
    ck_assert_int_eq(st.terminated, 1);
    for (int i = 0; i < e.task.spec.obs_size; i++) {
        ck_assert(isfinite(e.obs[i]));
    }
    /* a reset brings back a valid state */
    e.task.cls->reset(&e.task, e.state, &e.rng, e.obs);
    st = loco_step(&e, zero);
    ck_assert_int_eq(st.unstable, 0);
    ck_assert(isfinite(st.reward));
    loco_close(&e);
}
END_TEST

START_TEST(test_snapshot_round_trip) {
    const LocoExpect *x = loco_expect(_i);
    LocoEnv a, b;
    loco_open(&a, x->cls, 5);
    loco_open(&b, x->cls, 99);
    AgRng ar;
    ag_rng_seed(&ar, 1, 2);
    float act[ENV_MAX_ACTION_DIM];
    for (int t = 0; t < 15; t++) {
        loco_random_action(&a, &ar, act);
        if (loco_step(&a, act).terminated) {
            x->cls->reset(&a.task, a.state, &a.rng, a.obs);
        }
    }
    size_t n = x->cls->snapshot_size(&a.task);
    /* at an offset no double may sit at, as inside a checkpoint blob */
    unsigned char *buf = malloc(n + 8);
    void *snap = buf + 4;
    x->cls->snapshot_save(&a.task, a.state, snap);
    x->cls->snapshot_load(&b.task, b.state, snap);
    AgRng ar2 = ar;
    for (int t = 0; t < 30; t++) {
        loco_random_action(&a, &ar, act);
        EnvStep s1 = loco_step(&a, act);
        loco_random_action(&b, &ar2, act);
        EnvStep s2 = loco_step(&b, act);
        ck_assert_msg(s1.reward == s2.reward, "%s step %d: %.9g vs %.9g", x->cls->name, t,
                      s1.reward, s2.reward);
        ck_assert_mem_eq(a.obs, b.obs, sizeof(float) * (size_t)x->obs);
        if (s1.terminated) {
            break;
        }
    }
    ck_assert_mem_eq(loco_data(&a)->qpos, loco_data(&b)->qpos,
                     sizeof(double) * (size_t)loco_model(&a)->nq);
    free(buf);
    loco_close(&a);
    loco_close(&b);
}
END_TEST

/* the joint task variables of every MuJoCo task (mj_runtime.c), on Hopper: four hinges and two
 * slides, named after their joints, read from the simulation */
START_TEST(test_hopper_task_vars) {
    LocoEnv e;
    loco_open(&e, &env_mj_hopper_class, 3);
    EnvTaskVars v;
    env_task_vars_describe(&e.task, &v);
    ck_assert_int_eq(v.count, 4);
    ck_assert_str_eq(v.vars[0].name, "joint_angles");
    ck_assert_str_eq(v.vars[0].units, "rad");
    ck_assert_int_eq(v.vars[0].dim, 4);
    ck_assert_str_eq(v.vars[0].dim_names[0], "rooty");
    ck_assert_str_eq(v.vars[0].dim_names[3], "foot_joint");
    ck_assert_str_eq(v.vars[1].name, "joint_velocities");
    ck_assert_str_eq(v.vars[2].name, "slide_positions");
    ck_assert_str_eq(v.vars[2].dim_names[1], "rootz");
    ck_assert_str_eq(v.vars[3].units, "m/s");
    ck_assert_int_eq(v.size, 12);
    float out[12];
    e.task.cls->task_variables(&e.task, e.state, out);
    const mjData *d = loco_data(&e);
    /* qpos: rootx, rootz, rooty, thigh, leg, foot */
    for (int j = 0; j < 4; j++) {
        ck_assert_float_eq(out[j], (float)d->qpos[2 + j]);
        ck_assert_float_eq(out[4 + j], (float)d->qvel[2 + j]);
    }
    ck_assert_float_eq(out[8], (float)d->qpos[0]);
    ck_assert_float_eq(out[9], (float)d->qpos[1]);
    ck_assert_float_eq(out[11], (float)d->qvel[1]);
    loco_close(&e);
}
END_TEST

START_TEST(test_options_refused) {
    EnvTask t;
    char err[256] = "";
    memset(&t, 0, sizeof(t));
    t.cls = &env_mj_hopper_class;
    json_t *o = json_pack("{s:i}", "speed", 3);
    ck_assert_int_eq(env_mj_hopper_class.task_create(&t, o, err, sizeof(err)), AG_ESPEC);
    ck_assert_msg(strstr(err, "speed") != NULL, "%s", err);
    json_decref(o);
    /* an empty object is fine */
    o = json_object();
    ck_assert_int_eq(env_mj_hopper_class.task_create(&t, o, err, sizeof(err)), 0);
    env_mj_hopper_class.task_destroy(&t);
    json_decref(o);
    json_t *def = env_mj_hopper_class.default_options();
    ck_assert(json_is_object(def));
    json_decref(def);
}
END_TEST

START_TEST(test_through_registry_and_batch) {
    /* every MuJoCo task is in the catalogue and runs in a batch with auto-reset */
    static const char *const names[] = {"InvertedPendulum", "InvertedDoublePendulum",
                                        "Reacher",          "Swimmer",
                                        "Hopper",           "HalfCheetah",
                                        "Walker2d",         "Ant",
                                        "Humanoid",         "HandReach",
                                        "HandFreeReach",    "HandBlock"};
    for (size_t k = 0; k < sizeof(names) / sizeof(names[0]); k++) {
        char err[256] = "";
        EnvTask task;
        ck_assert_msg(env_task_create(&task, names[k], NULL, err, sizeof(err)) == 0, "%s: %s",
                      names[k], err);
        EnvBatch b;
        ck_assert_msg(env_batch_create(&b, &task, 3, 11, 0, err, sizeof(err)) == 0, "%s", err);
        int n = task.spec.obs_size, ad = task.spec.action_dim;
        float *obs = calloc((size_t)(3 * n), sizeof(float));
        float *fin = calloc((size_t)(3 * n), sizeof(float));
        float *act = calloc((size_t)(3 * ad), sizeof(float));
        float rew[3];
        uint8_t term[3], trunc[3];
        env_batch_reset(&b, obs);
        AgRng r;
        ag_rng_seed(&r, 1, 1);
        int steps = k == 2 ? 60 : 30; /* Reacher ends at 50 */
        for (int t = 0; t < steps; t++) {
            for (int i = 0; i < 3 * ad; i++) {
                act[i] = (float)ag_rng_uniform_range(&r, task.spec.action_low[i % ad],
                                                     task.spec.action_high[i % ad]);
            }
            env_batch_step(&b, act, obs, rew, term, trunc, fin);
            for (int i = 0; i < 3 * n; i++) {
                ck_assert(isfinite(obs[i]));
            }
        }
        EnvBatchStats st;
        env_batch_stats_take(&b, &st);
        ck_assert_int_eq(st.steps, 3 * steps);
        ck_assert_int_eq(st.unstable, 0);
        if (k == 2) {
            ck_assert_int_eq(st.episodes, 3); /* the 50-step limit */
        }
        free(obs);
        free(fin);
        free(act);
        env_batch_destroy(&b);
        env_task_destroy(&task);
    }
}
END_TEST

static Suite *loco_suite(void) {
    Suite *s = suite_create("mj_locomotion");
    TCase *tc = tcase_create("locomotion");
    tcase_set_timeout(tc, 60);
    tcase_add_loop_test(tc, test_models_load_with_expected_sizes, 0, 9);
    tcase_add_loop_test(tc, test_same_seed_same_trajectory, 0, 9);
    tcase_add_test(tc, test_reset_noise_bounds);
    tcase_add_test(tc, test_hopper_health_rules);
    tcase_add_test(tc, test_hopper_reward_terms);
    tcase_add_test(tc, test_half_cheetah_forward_reward_is_dx_dt);
    tcase_add_test(tc, test_walker_ant_humanoid_health);
    tcase_add_test(tc, test_pendulum_rules);
    tcase_add_test(tc, test_reacher_reward_and_goal);
    tcase_add_test(tc, test_unstable_is_reported);
    tcase_add_loop_test(tc, test_snapshot_round_trip, 0, 9);
    tcase_add_test(tc, test_options_refused);
    tcase_add_test(tc, test_hopper_task_vars);
    tcase_add_test(tc, test_through_registry_and_batch);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) {
    SRunner *sr = srunner_create(loco_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
