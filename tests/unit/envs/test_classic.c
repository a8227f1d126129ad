/* Tests of the classic control tasks (server/envs/classic.c) against Gymnasium: one step from a
 * known state gives the numbers of Gymnasium's own step functions (worked out with its code in
 * float64), terminations at the angle, position, height and goal thresholds, rewards, start
 * distributions, episode limits, options, the no-velocity variants and long-run sanity. */
#include "ag_error.h"
#include "env.h"

#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PI 3.14159265358979323846

/* a batch of one task with its buffers */
typedef struct Rig {
    EnvTask task;
    EnvBatch batch;
    float obs[4096], final_obs[4096], rewards[512], actions[512];
    uint8_t term[512], trunc[512];
} Rig;

static Rig *rig_open(const char *name, const json_t *options, int n, uint64_t seed) {
    char err[256];
    Rig *r = calloc(1, sizeof *r);
    ck_assert_ptr_nonnull(r);
    int rc = env_task_create(&r->task, name, options, err, sizeof err);
    ck_assert_msg(rc == AG_OK, "%s: %s", name, err);
    ck_assert_int_le(n * r->task.spec.obs_size, 4096);
    rc = env_batch_create(&r->batch, &r->task, n, seed, 0, err, sizeof err);
    ck_assert_msg(rc == AG_OK, "%s: %s", name, err);
    env_batch_reset(&r->batch, r->obs);
    return r;
}

static void rig_step(Rig *r) {
    env_batch_step(&r->batch, r->actions, r->obs, r->rewards, r->term, r->trunc, r->final_obs);
}

static void rig_close(Rig *r) {
    env_batch_destroy(&r->batch);
    env_task_destroy(&r->task);
    free(r);
}

/* environment 0's state starts with these doubles in every classic task */
static void rig_set(Rig *r, const double *v, int n) {
    memcpy(r->batch.states, v, (size_t)n * sizeof *v);
}

static double rig_get(const Rig *r, int k) {
    double v;
    memcpy(&v, r->batch.states + (size_t)k * sizeof v, sizeof v);
    return v;
}

static void assert_near(double got, double want, double tol, const char *what) {
    ck_assert_msg(fabs(got - want) <= tol, "%s: got %.17g, want %.17g", what, got, want);
}

/* ---- specs and options ---- */

START_TEST(test_specs) {
    static const struct {
        const char *name;
        int obs, kind, choices, max_steps;
        float low, high;
        double dt;
        int metrics;
    } want[] = {
        {"CartPole", 4, ENV_ACTION_DISCRETE, 2, 500, 0, 0, 0.02, 0},
        {"CartPoleNoVel", 2, ENV_ACTION_DISCRETE, 2, 500, 0, 0, 0.02, 0},
        {"Acrobot", 6, ENV_ACTION_DISCRETE, 3, 500, 0, 0, 0.2, 1},
        {"Pendulum", 3, ENV_ACTION_BOX, 0, 200, -2, 2, 0.05, 0},
        {"PendulumNoVel", 2, ENV_ACTION_BOX, 0, 200, -2, 2, 0.05, 0},
        {"MountainCarContinuous", 2, ENV_ACTION_BOX, 0, 999, -1, 1, 0.0, 1},
    };
    for (size_t k = 0; k < sizeof want / sizeof want[0]; k++) {
        EnvTask t;
        char err[256];
        ck_assert_int_eq(env_task_create(&t, want[k].name, NULL, err, sizeof err), AG_OK);
        const EnvSpec *s = &t.spec;
        ck_assert_int_eq(s->num_sensations, 1);
        ck_assert_str_eq(s->sensations[0].name, "state");
        ck_assert_int_eq(s->sensations[0].shape[0], want[k].obs);
        ck_assert_int_eq(s->obs_size, want[k].obs);
        ck_assert_int_eq((int)s->action_kind, want[k].kind);
        ck_assert_int_eq(s->action_dim, 1);
        if (want[k].kind == ENV_ACTION_DISCRETE) {
            ck_assert_int_eq(s->action_choices[0], want[k].choices);
        } else {
            ck_assert_float_eq(s->action_low[0], want[k].low);
            ck_assert_float_eq(s->action_high[0], want[k].high);
        }
        ck_assert_int_eq(s->max_episode_steps, want[k].max_steps);
        assert_near(s->control_dt, want[k].dt, 1e-15, want[k].name);
        ck_assert_int_eq(s->num_metrics, want[k].metrics);
        if (want[k].metrics) {
            ck_assert_str_eq(s->metric_names[0], "success");
        }
        env_task_destroy(&t);
    }
}
END_TEST

START_TEST(test_options_refused) {
    static const char *const names[] = {"CartPole", "CartPoleNoVel", "Acrobot",
                                        "Pendulum", "PendulumNoVel", "MountainCarContinuous"};
    json_t *o = json_pack("{sb}", "render", 1);
    for (size_t k = 0; k < sizeof names / sizeof names[0]; k++) {
        EnvTask t;
        char err[256] = "";
        ck_assert_int_eq(env_task_create(&t, names[k], o, err, sizeof err), AG_ESPEC);
        ck_assert_msg(strstr(err, "task_options.render") && strstr(err, "unknown key"), "%s: %s",
                      names[k], err);
    }
    json_decref(o);

    EnvTask t;
    char err[256] = "";
    o = json_pack("{ss}", "g", "strong");
    ck_assert_int_eq(env_task_create(&t, "Pendulum", o, err, sizeof err), AG_ESPEC);
    ck_assert_msg(strstr(err, "task_options.g") && strstr(err, "number"), "%s", err);
    json_decref(o);
    o = json_pack("{sf}", "g", -1.0);
    ck_assert_int_eq(env_task_create(&t, "PendulumNoVel", o, err, sizeof err), AG_ESPEC);
    ck_assert_msg(strstr(err, "task_options.g") && strstr(err, "between"), "%s", err);
    json_decref(o);
    o = json_pack("{sf}", "goal_velocity", 0.5);
    ck_assert_int_eq(env_task_create(&t, "MountainCarContinuous", o, err, sizeof err), AG_ESPEC);
    ck_assert_msg(strstr(err, "task_options.goal_velocity"), "%s", err);
    json_decref(o);
}
END_TEST

/* ---- CartPole ---- */

START_TEST(test_cartpole_step_reference) {
    /* Gymnasium CartPoleEnv.step from (0.01, -0.02, 0.03, 0.04) */
    static const double start[4] = {0.01, -0.02, 0.03, 0.04};
    static const double push_right[4] = {0.0096000000000000009, 0.17467919574755525,
                                         0.030799999999999998, -0.24306871796000809};
    static const double push_left[4] = {0.0096000000000000009, -0.21553901710278936,
                                        0.030799999999999998, 0.34199522377603914};
    for (int a = 0; a < 2; a++) {
        Rig *r = rig_open("CartPole", NULL, 1, 1);
        rig_set(r, start, 4);
        r->actions[0] = (float)a;
        rig_step(r);
        const double *want = a ? push_right : push_left;
        for (int k = 0; k < 4; k++) {
            assert_near(rig_get(r, k), want[k], 1e-15, "cartpole state");
            ck_assert_float_eq(r->obs[k], (float)want[k]);
        }
        ck_assert_float_eq(r->rewards[0], 1.0f);
        ck_assert_int_eq(r->term[0], 0);
        ck_assert_int_eq(r->trunc[0], 0);
        rig_close(r);
    }
}
END_TEST

/* the task variables are the state, pole (hinge) then cart (slide), in both variants */
START_TEST(test_cartpole_task_vars) {
    static const double start[4] = {0.01, -0.02, 0.03, 0.04};
    static const char *const names[4] = {"joint_angles", "joint_velocities", "slide_positions",
                                         "slide_velocities"};
    static const int order[4] = {2, 3, 0, 1};
    const char *tasks[2] = {"CartPole", "CartPoleNoVel"};
    for (int t = 0; t < 2; t++) {
        Rig *r = rig_open(tasks[t], NULL, 1, 1);
        EnvTaskVars v;
        env_task_vars_describe(&r->task, &v);
        ck_assert_int_eq(v.count, 4);
        ck_assert_int_eq(v.size, 4);
        rig_set(r, start, 4);
        float out[4];
        r->task.cls->task_variables(&r->task, r->batch.states, out);
        for (int k = 0; k < 4; k++) {
            ck_assert_str_eq(v.vars[k].name, names[k]);
            ck_assert_str_eq(v.vars[k].dim_names[0], k < 2 ? "pole" : "cart");
            ck_assert_float_eq(out[k], (float)start[order[k]]);
        }
        rig_close(r);
    }
}
END_TEST

START_TEST(test_cartpole_termination) {
    const double limit = 12 * 2 * PI / 360; /* 0.20943951023931953 */
    static const struct {
        double s[4];
        int terminated;
    } cases[] = {
        {{0.0, 0.0, 0.2094, 0.05}, 1},   /* theta 0.2104 > limit */
        {{0.0, 0.0, 0.2094, 0.0}, 0},    /* theta stays just inside */
        {{0.0, 0.0, -0.2094, -0.05}, 1}, /* the other side */
        {{2.399, 0.1, 0.0, 0.0}, 1},     /* x 2.401 */
        {{-2.399, -0.1, 0.0, 0.0}, 1},   /* x -2.401 */
        {{2.39, 0.1, 0.0, 0.0}, 0},      /* x 2.392 */
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        Rig *r = rig_open("CartPole", NULL, 1, 1);
        rig_set(r, cases[k].s, 4);
        r->actions[0] = 1.0f;
        rig_step(r);
        ck_assert_msg(r->term[0] == cases[k].terminated, "case %zu", k);
        ck_assert_float_eq(r->rewards[0], 1.0f); /* the failing step earns 1 too */
        if (cases[k].terminated) {
            /* the last observation is beyond a threshold, the fresh one near zero */
            ck_assert(fabsf(r->final_obs[0]) > 2.4f || fabsf(r->final_obs[2]) > (float)limit);
            for (int i = 0; i < 4; i++) {
                ck_assert(fabsf(r->obs[i]) <= 0.05f);
            }
        }
        rig_close(r);
    }
}
END_TEST

START_TEST(test_cartpole_reset_distribution) {
    Rig *r = rig_open("CartPole", NULL, 500, 7);
    double mean[4] = {0}, lo = 1, hi = -1;
    for (int i = 0; i < 500; i++) {
        for (int k = 0; k < 4; k++) {
            float v = r->obs[i * 4 + k];
            ck_assert(v >= -0.05f && v <= 0.05f);
            mean[k] += v / 500.0;
            lo = fmin(lo, v);
            hi = fmax(hi, v);
        }
    }
    for (int k = 0; k < 4; k++) {
        ck_assert_msg(fabs(mean[k]) < 0.006, "mean %d = %g", k, mean[k]);
    }
    ck_assert(lo < -0.048 && hi > 0.048); /* uniform over the whole range */
    rig_close(r);
}
END_TEST

START_TEST(test_cartpole_random_policy_length) {
    /* uniformly random pushes keep the pole up for about 22 steps on average */
    Rig *r = rig_open("CartPole", NULL, 64, 11);
    uint64_t x = 0x9e3779b97f4a7c15ull;
    for (int t = 0; t < 1000; t++) {
        for (int i = 0; i < 64; i++) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            r->actions[i] = (float)(x & 1);
        }
        rig_step(r);
    }
    EnvBatchStats st;
    env_batch_stats_take(&r->batch, &st);
    double mean_len = st.length_sum / (double)st.episodes;
    ck_assert_msg(mean_len > 17.0 && mean_len < 28.0, "mean length %g", mean_len);
    /* reward 1 per step: the return equals the length */
    ck_assert_double_eq(st.return_sum, st.length_sum);
    rig_close(r);
}
END_TEST

START_TEST(test_cartpole_truncates_at_500) {
    /* a simple balancing controller: push toward where the pole is falling */
    Rig *r = rig_open("CartPole", NULL, 4, 3);
    for (int t = 1; t <= 500; t++) {
        for (int i = 0; i < 4; i++) {
            const float *o = r->obs + i * 4;
            r->actions[i] = (o[2] + 0.5f * o[3] + 0.01f * o[0] + 0.1f * o[1]) > 0 ? 1.0f : 0.0f;
        }
        rig_step(r);
        for (int i = 0; i < 4; i++) {
            ck_assert_msg(!r->term[i], "env %d fell at step %d", i, t);
            ck_assert_int_eq(r->trunc[i], t == 500);
        }
    }
    EnvBatchStats st;
    env_batch_stats_take(&r->batch, &st);
    ck_assert_int_eq(st.episodes, 4);
    ck_assert_double_eq(st.return_sum, 2000.0);
    rig_close(r);
}
END_TEST

START_TEST(test_cartpole_novel_matches_full) {
    Rig *full = rig_open("CartPole", NULL, 8, 21);
    Rig *novel = rig_open("CartPoleNoVel", NULL, 8, 21);
    for (int t = 0; t < 400; t++) {
        for (int i = 0; i < 8; i++) {
            ck_assert_float_eq(novel->obs[i * 2 + 0], full->obs[i * 4 + 0]);
            ck_assert_float_eq(novel->obs[i * 2 + 1], full->obs[i * 4 + 2]);
            full->actions[i] = novel->actions[i] = (float)((t / 3 + i) % 2);
        }
        rig_step(full);
        rig_step(novel);
        ck_assert_int_eq(memcmp(full->term, novel->term, 8), 0);
        ck_assert_int_eq(memcmp(full->rewards, novel->rewards, 8 * sizeof(float)), 0);
    }
    rig_close(full);
    rig_close(novel);
}
END_TEST

/* ---- Acrobot ---- */

START_TEST(test_acrobot_step_reference) {
    /* Gymnasium AcrobotEnv.step (book dynamics, rk4 over 0.2 s) from (0.05, -0.03, 0.02, 0.01) */
    static const double start[4] = {0.05, -0.03, 0.02, 0.01};
    static const double want[3][4] = {
        {0.060487724678205332, -0.054539985093977963, 0.08185570403465979, -0.24927319984543655},
        {0.047227743833418538, -0.02025946833616004, -0.046780434736391846, 0.085173319504877415},
        {0.033964268077167063, 0.014028356136744108, -0.17546465025153701, 0.41971560226526911},
    };
    for (int a = 0; a < 3; a++) {
        Rig *r = rig_open("Acrobot", NULL, 1, 1);
        rig_set(r, start, 4);
        r->actions[0] = (float)a;
        rig_step(r);
        for (int k = 0; k < 4; k++) {
            assert_near(rig_get(r, k), want[a][k], 1e-13, "acrobot state");
        }
        ck_assert_float_eq_tol(r->obs[0], (float)cos(want[a][0]), 1e-7f);
        ck_assert_float_eq_tol(r->obs[1], (float)sin(want[a][0]), 1e-7f);
        ck_assert_float_eq_tol(r->obs[2], (float)cos(want[a][1]), 1e-7f);
        ck_assert_float_eq_tol(r->obs[3], (float)sin(want[a][1]), 1e-7f);
        ck_assert_float_eq_tol(r->obs[4], (float)want[a][2], 1e-7f);
        ck_assert_float_eq_tol(r->obs[5], (float)want[a][3], 1e-7f);
        ck_assert_float_eq(r->rewards[0], -1.0f);
        ck_assert_int_eq(r->term[0], 0);
        rig_close(r);
    }
}
END_TEST

START_TEST(test_acrobot_reaches_height) {
    /* from (3.0, 0.1, 1.0, -2.0) with +1 torque theta1 wraps past pi and the tip is up:
     * Gymnasium gives (-3.106408569725482, -0.25958908899903255, ...) and terminates */
    static const double start[4] = {3.0, 0.1, 1.0, -2.0};
    Rig *r = rig_open("Acrobot", NULL, 1, 1);
    rig_set(r, start, 4);
    r->actions[0] = 2.0f;
    rig_step(r);
    ck_assert_int_eq(r->term[0], 1);
    ck_assert_int_eq(r->trunc[0], 0);
    ck_assert_float_eq(r->rewards[0], 0.0f);
    ck_assert_float_eq_tol(r->final_obs[0], (float)cos(-3.106408569725482), 1e-6f);
    ck_assert_float_eq_tol(r->final_obs[1], (float)sin(-3.106408569725482), 1e-6f);
    ck_assert_float_eq_tol(r->final_obs[4], 0.81389424465718729f, 1e-6f);
    ck_assert_float_eq_tol(r->final_obs[5], -1.6811089603726206f, 1e-6f);
    /* the height rule itself: -cos(t1) - cos(t1 + t2) > 1 */
    double t1 = -3.106408569725482, t2 = -0.25958908899903255;
    ck_assert(-cos(t1) - cos(t1 + t2) > 1.0);
    EnvBatchStats st;
    env_batch_stats_take(&r->batch, &st);
    ck_assert_int_eq(st.episodes, 1);
    ck_assert_double_eq(st.metric_sums[0], 1.0);
    ck_assert_double_eq(st.return_sum, 0.0);
    rig_close(r);
}
END_TEST

START_TEST(test_acrobot_limits_and_reset) {
    Rig *r = rig_open("Acrobot", NULL, 200, 5);
    for (int i = 0; i < 200; i++) {
        const float *o = r->obs + i * 6;
        /* start angles and speeds within +-0.1, drawn in float32 */
        ck_assert(fabsf(o[4]) <= 0.1f && fabsf(o[5]) <= 0.1f);
        ck_assert(o[0] >= cosf(0.1f) - 1e-6f && o[2] >= cosf(0.1f) - 1e-6f);
    }
    for (int k = 0; k < 4; k++) {
        double v = rig_get(r, k);
        ck_assert(v == (double)(float)v);
    }
    /* speeds are bounded at 4 pi and 9 pi, angles wrapped to [-pi, pi] */
    static const double fast[4] = {3.1, -3.1, 12.5, 28.2};
    rig_set(r, fast, 4);
    for (int i = 0; i < 200; i++) {
        r->actions[i] = 2.0f;
    }
    for (int t = 0; t < 30; t++) {
        rig_step(r);
        if (r->term[0]) {
            break;
        }
        ck_assert(fabs(rig_get(r, 0)) <= PI && fabs(rig_get(r, 1)) <= PI);
        ck_assert(fabs(rig_get(r, 2)) <= 4 * PI && fabs(rig_get(r, 3)) <= 9 * PI);
    }
    rig_close(r);
}
END_TEST

START_TEST(test_acrobot_truncates_at_500) {
    /* doing nothing never raises the tip: 500 steps of -1 then truncation */
    Rig *r = rig_open("Acrobot", NULL, 2, 9);
    for (int t = 1; t <= 500; t++) {
        r->actions[0] = r->actions[1] = 1.0f;
        rig_step(r);
        ck_assert_int_eq(r->term[0], 0);
        ck_assert_int_eq(r->trunc[0], t == 500);
    }
    EnvBatchStats st;
    env_batch_stats_take(&r->batch, &st);
    ck_assert_int_eq(st.episodes, 2);
    ck_assert_double_eq(st.return_sum, -1000.0);
    ck_assert_double_eq(st.metric_sums[0], 0.0);
    rig_close(r);
}
END_TEST

/* ---- Pendulum ---- */

START_TEST(test_pendulum_step_reference) {
    static const double start[2] = {2.5, -1.5};
    Rig *r = rig_open("Pendulum", NULL, 1, 1);
    rig_set(r, start, 2);
    r->actions[0] = 1.25f;
    rig_step(r);
    /* cost 2.5^2 + 0.1 * 1.5^2 + 0.001 * 1.25^2 = 6.4765625 */
    assert_near(rig_get(r, 0), 2.4568177054038984, 1e-15, "th");
    assert_near(rig_get(r, 1), -0.86364589192203256, 1e-15, "thdot");
    ck_assert_float_eq(r->rewards[0], -6.4765625f);
    ck_assert_float_eq(r->obs[0], (float)cos(2.4568177054038984));
    ck_assert_float_eq(r->obs[1], (float)sin(2.4568177054038984));
    ck_assert_float_eq(r->obs[2], (float)-0.86364589192203256);
    ck_assert_int_eq(r->term[0], 0);
    rig_close(r);

    /* the angle in the cost is normalised to [-pi, pi), the speed clipped at 8; the action is
     * clipped to 2 by the batch */
    static const double spin[2] = {4.0, 7.9};
    r = rig_open("Pendulum", NULL, 1, 1);
    rig_set(r, spin, 2);
    r->actions[0] = 5.0f;
    rig_step(r);
    assert_near(rig_get(r, 0), 4.3816199064259527, 1e-15, "th");
    assert_near(rig_get(r, 1), 7.6323981285190543, 1e-15, "thdot");
    ck_assert_float_eq(r->rewards[0], (float)-11.457935146920741);
    /* at th = pi / 2 torque 2 would give 7.9 + (15 + 6) 0.05 = 8.95: clipped to 8 */
    static const double top[2] = {PI / 2, 7.9};
    rig_set(r, top, 2);
    rig_step(r);
    assert_near(rig_get(r, 1), 8.0, 0.0, "thdot clipped");
    rig_close(r);
}
END_TEST

START_TEST(test_pendulum_gravity_option) {
    static const double start[2] = {2.5, -1.5};
    json_t *o = json_pack("{sf}", "g", 9.81);
    Rig *r = rig_open("Pendulum", o, 1, 1);
    json_decref(o);
    rig_set(r, start, 2);
    r->actions[0] = 1.25f;
    rig_step(r);
    assert_near(rig_get(r, 0), 2.4563912940012242, 1e-15, "th");
    assert_near(rig_get(r, 1), -0.87217411997551397, 1e-15, "thdot");
    rig_close(r);
}
END_TEST

START_TEST(test_pendulum_reset_and_limit) {
    Rig *r = rig_open("Pendulum", NULL, 300, 13);
    double lo = 10, hi = -10;
    for (int i = 0; i < 300; i++) {
        const float *o = r->obs + i * 3;
        ck_assert_float_eq_tol(o[0] * o[0] + o[1] * o[1], 1.0f, 1e-5f);
        ck_assert(o[2] >= -1.0f && o[2] <= 1.0f);
        double th = atan2(o[1], o[0]);
        lo = fmin(lo, th);
        hi = fmax(hi, th);
    }
    ck_assert(lo < -2.8 && hi > 2.8); /* start angles cover the circle */
    /* never terminates; truncates at 200 with rewards within [-16.2736044, 0] */
    for (int t = 1; t <= 200; t++) {
        for (int i = 0; i < 300; i++) {
            r->actions[i] = (float)((i % 5) - 2);
        }
        rig_step(r);
        for (int i = 0; i < 300; i++) {
            ck_assert_int_eq(r->term[i], 0);
            ck_assert_int_eq(r->trunc[i], t == 200);
            ck_assert(r->rewards[i] <= 0.0f && r->rewards[i] >= -16.2736044f);
        }
    }
    EnvBatchStats st;
    env_batch_stats_take(&r->batch, &st);
    ck_assert_int_eq(st.episodes, 300);
    /* weak constant torques: mean return of this policy lies far below -500 */
    double mean = st.return_sum / 300.0;
    ck_assert_msg(mean < -500.0 && mean > -3300.0, "mean return %g", mean);
    rig_close(r);
}
END_TEST

START_TEST(test_pendulum_novel_matches_full) {
    Rig *full = rig_open("Pendulum", NULL, 8, 4);
    Rig *novel = rig_open("PendulumNoVel", NULL, 8, 4);
    for (int t = 0; t < 250; t++) {
        for (int i = 0; i < 8; i++) {
            ck_assert_float_eq(novel->obs[i * 2 + 0], full->obs[i * 3 + 0]);
            ck_assert_float_eq(novel->obs[i * 2 + 1], full->obs[i * 3 + 1]);
            full->actions[i] = novel->actions[i] = sinf((float)(t + i));
        }
        rig_step(full);
        rig_step(novel);
        ck_assert_int_eq(memcmp(full->rewards, novel->rewards, 8 * sizeof(float)), 0);
        ck_assert_int_eq(memcmp(full->trunc, novel->trunc, 8), 0);
    }
    rig_close(full);
    rig_close(novel);
}
END_TEST

/* ---- MountainCarContinuous ---- */

START_TEST(test_mountain_car_step_reference) {
    static const double start[2] = {-0.5, 0.0};
    Rig *r = rig_open("MountainCarContinuous", NULL, 1, 1);
    rig_set(r, start, 2);
    r->actions[0] = 0.7f;
    rig_step(r);
    /* Gymnasium stores the state in float32 after a step */
    ck_assert_double_eq(rig_get(r, 0), -0.4991268515586853);
    ck_assert_double_eq(rig_get(r, 1), 0.00087315699784085155);
    ck_assert_float_eq_tol(r->rewards[0], -0.048999998331069966f, 1e-7f);
    ck_assert_float_eq(r->obs[0], -0.4991268515586853f);
    ck_assert_int_eq(r->term[0], 0);
    rig_close(r);
}
END_TEST

START_TEST(test_mountain_car_goal_and_wall) {
    static const double near_goal[2] = {0.44, 0.02};
    Rig *r = rig_open("MountainCarContinuous", NULL, 1, 1);
    rig_set(r, near_goal, 2);
    r->actions[0] = 0.5f;
    rig_step(r);
    ck_assert_int_eq(r->term[0], 1);
    ck_assert_float_eq_tol(r->rewards[0], 99.975f, 1e-4f);
    ck_assert_float_eq(r->final_obs[0], 0.4601295590400696f);
    ck_assert_float_eq(r->final_obs[1], 0.02012956142425537f);
    ck_assert(r->obs[0] >= -0.6f && r->obs[0] <= -0.4f && r->obs[1] == 0.0f);
    EnvBatchStats st;
    env_batch_stats_take(&r->batch, &st);
    ck_assert_double_eq(st.metric_sums[0], 1.0);

    /* the left wall is inelastic */
    static const double wall[2] = {-1.19, -0.05};
    rig_set(r, wall, 2);
    r->actions[0] = -1.0f;
    rig_step(r);
    ck_assert_int_eq(r->term[0], 0);
    ck_assert_float_eq(r->obs[0], -1.2f);
    ck_assert_float_eq(r->obs[1], 0.0f);
    ck_assert_float_eq_tol(r->rewards[0], -0.1f, 1e-7f);
    rig_close(r);

    /* a goal velocity above the arriving speed holds the episode open */
    json_t *o = json_pack("{sf}", "goal_velocity", 0.05);
    r = rig_open("MountainCarContinuous", o, 1, 1);
    json_decref(o);
    rig_set(r, near_goal, 2);
    r->actions[0] = 0.5f;
    rig_step(r);
    ck_assert_int_eq(r->term[0], 0);
    ck_assert_float_eq_tol(r->rewards[0], -0.025f, 1e-7f);
    rig_close(r);
}
END_TEST

START_TEST(test_mountain_car_reset_and_limit) {
    Rig *r = rig_open("MountainCarContinuous", NULL, 100, 17);
    for (int i = 0; i < 100; i++) {
        ck_assert(r->obs[i * 2] >= -0.6f && r->obs[i * 2] <= -0.4f);
        ck_assert_float_eq(r->obs[i * 2 + 1], 0.0f);
    }
    /* no force: the car rocks in the valley and is cut off at 999 steps */
    for (int t = 1; t <= 999; t++) {
        rig_step(r);
        for (int i = 0; i < 100; i++) {
            ck_assert_int_eq(r->term[i], 0);
            ck_assert_int_eq(r->trunc[i], t == 999);
        }
    }
    EnvBatchStats st;
    env_batch_stats_take(&r->batch, &st);
    ck_assert_int_eq(st.episodes, 100);
    ck_assert_double_eq(st.return_sum, 0.0);
    ck_assert_double_eq(st.length_sum, 99900.0);
    rig_close(r);
}
END_TEST

START_TEST(test_mountain_car_energy_pumping_reaches_goal) {
    /* pushing along the velocity pumps energy in and reaches the flag within one episode */
    Rig *r = rig_open("MountainCarContinuous", NULL, 16, 23);
    int reached[16] = {0};
    for (int t = 0; t < 999; t++) {
        for (int i = 0; i < 16; i++) {
            r->actions[i] = r->obs[i * 2 + 1] >= 0.0f ? 1.0f : -1.0f;
        }
        rig_step(r);
        for (int i = 0; i < 16; i++) {
            if (r->term[i]) {
                reached[i] = 1;
                ck_assert(r->rewards[i] > 99.0f);
            }
        }
    }
    for (int i = 0; i < 16; i++) {
        ck_assert_msg(reached[i], "env %d never reached the goal", i);
    }
    rig_close(r);
}
END_TEST

START_TEST(test_multi_step_reference) {
    /* longer runs against Gymnasium's step functions, so errors cannot hide in one step */
    static const double cp_start[4] = {0.01, -0.02, 0.03, 0.04};
    Rig *r = rig_open("CartPole", NULL, 1, 1);
    rig_set(r, cp_start, 4);
    for (int t = 0; t < 50; t++) {
        r->actions[0] = (float)((t + 1) % 2);
        rig_step(r);
        ck_assert_int_eq(r->term[0], 0);
    }
    static const double cp_want[4] = {0.079371956202396246, -0.043534045904477209,
                                      0.10443610973265614, 0.56190625958620133};
    for (int k = 0; k < 4; k++) {
        assert_near(rig_get(r, k), cp_want[k], 1e-13, "cartpole after 50 steps");
    }
    rig_close(r);

    static const double ac_start[4] = {0.05, -0.03, 0.02, 0.01};
    static const int ac_actions[5] = {2, 2, 0, 0, 1};
    r = rig_open("Acrobot", NULL, 1, 1);
    rig_set(r, ac_start, 4);
    for (int t = 0; t < 25; t++) {
        r->actions[0] = (float)ac_actions[t % 5];
        rig_step(r);
        ck_assert_int_eq(r->term[0], 0);
    }
    static const double ac_want[4] = {-0.049687573077596608, 0.013060573033816039,
                                      0.033212860728022112, -0.29456356922833116};
    for (int k = 0; k < 4; k++) {
        assert_near(rig_get(r, k), ac_want[k], 1e-11, "acrobot after 25 steps");
    }
    rig_close(r);

    static const double pe_start[2] = {1.0, 0.0};
    r = rig_open("Pendulum", NULL, 1, 1);
    rig_set(r, pe_start, 2);
    double ret = 0.0;
    for (int t = 0; t < 60; t++) {
        r->actions[0] = (float)(sin(t * 0.3) * 2.5); /* beyond 2 half the time: clipped */
        rig_step(r);
        ret += r->rewards[0];
    }
    assert_near(rig_get(r, 0), 3.6272651062071621, 1e-11, "pendulum th after 60 steps");
    assert_near(rig_get(r, 1), 6.0672525236551076, 1e-11, "pendulum thdot after 60 steps");
    assert_near(ret, -316.64952966467547, 1e-3, "pendulum return over 60 steps");
    rig_close(r);

    static const double mc_start[2] = {-0.5, 0.0};
    r = rig_open("MountainCarContinuous", NULL, 1, 1);
    rig_set(r, mc_start, 2);
    ret = 0.0;
    for (int t = 0; t < 60; t++) {
        r->actions[0] = t % 3 ? (rig_get(r, 1) >= 0.0 ? 1.0f : -1.0f) : 0.3f;
        rig_step(r);
        ck_assert_int_eq(r->term[0], 0);
        ret += r->rewards[0];
    }
    assert_near(rig_get(r, 0), -0.7170182466506958, 1e-9, "car position after 60 steps");
    assert_near(rig_get(r, 1), -0.036014046519994736, 1e-9, "car velocity after 60 steps");
    assert_near(ret, -4.1800000143051168, 1e-5, "car return over 60 steps");
    rig_close(r);
}
END_TEST

START_TEST(test_same_seed_same_trajectory) {
    static const char *const names[] = {"CartPole", "CartPoleNoVel", "Acrobot",
                                        "Pendulum", "PendulumNoVel", "MountainCarContinuous"};
    for (size_t k = 0; k < sizeof names / sizeof names[0]; k++) {
        Rig *a = rig_open(names[k], NULL, 4, 77);
        Rig *b = rig_open(names[k], NULL, 4, 77);
        Rig *c = rig_open(names[k], NULL, 4, 78);
        int n = a->task.spec.obs_size * 4;
        ck_assert_int_ne(memcmp(a->obs, c->obs, (size_t)n * sizeof(float)), 0);
        ck_assert_int_ne(memcmp(a->obs, a->obs + a->task.spec.obs_size,
                                (size_t)a->task.spec.obs_size * sizeof(float)),
                         0);
        for (int t = 0; t < 600; t++) {
            for (int i = 0; i < 4; i++) {
                float v = (float)((t * 13 + i * 5) % 3);
                if (a->task.spec.action_kind == ENV_ACTION_BOX) {
                    v = v - 1.0f;
                } else if (v >= (float)a->task.spec.action_choices[0]) {
                    v = 0.0f;
                }
                a->actions[i] = b->actions[i] = c->actions[i] = v;
            }
            rig_step(a);
            rig_step(b);
            rig_step(c);
            ck_assert_int_eq(memcmp(a->obs, b->obs, (size_t)n * sizeof(float)), 0);
            ck_assert_int_eq(memcmp(a->rewards, b->rewards, 4 * sizeof(float)), 0);
        }
        EnvBatchStats st;
        env_batch_stats_take(&a->batch, &st);
        ck_assert_int_eq(st.invalid_actions, 0);
        rig_close(a);
        rig_close(b);
        rig_close(c);
    }
}
END_TEST

static Suite *classic_suite(void) {
    Suite *s = suite_create("classic");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_specs);
    tcase_add_test(tc, test_options_refused);
    tcase_add_test(tc, test_cartpole_step_reference);
    tcase_add_test(tc, test_cartpole_task_vars);
    tcase_add_test(tc, test_cartpole_termination);
    tcase_add_test(tc, test_cartpole_reset_distribution);
    tcase_add_test(tc, test_cartpole_random_policy_length);
    tcase_add_test(tc, test_cartpole_truncates_at_500);
    tcase_add_test(tc, test_cartpole_novel_matches_full);
    tcase_add_test(tc, test_acrobot_step_reference);
    tcase_add_test(tc, test_acrobot_reaches_height);
    tcase_add_test(tc, test_acrobot_limits_and_reset);
    tcase_add_test(tc, test_acrobot_truncates_at_500);
    tcase_add_test(tc, test_pendulum_step_reference);
    tcase_add_test(tc, test_pendulum_gravity_option);
    tcase_add_test(tc, test_pendulum_reset_and_limit);
    tcase_add_test(tc, test_pendulum_novel_matches_full);
    tcase_add_test(tc, test_mountain_car_step_reference);
    tcase_add_test(tc, test_mountain_car_goal_and_wall);
    tcase_add_test(tc, test_mountain_car_reset_and_limit);
    tcase_add_test(tc, test_mountain_car_energy_pumping_reaches_goal);
    tcase_add_test(tc, test_multi_step_reference);
    tcase_add_test(tc, test_same_seed_same_trajectory);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) {
    SRunner *sr = srunner_create(classic_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
