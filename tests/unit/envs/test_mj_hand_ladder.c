/* Tests of the block task ladder (mj_hand_block.c): HandBlockRotateZ, HandBlockRotateParallel and
 * HandBlock in the catalogue; each one's goals (face kept and a vertical turn; an axis-aligned
 * face up and a vertical turn; uniform on SO(3) by a Kolmogorov-Smirnov bound on the angle);
 * success within the tolerance, a new goal at once, a drop's -20; the goal curriculum's options,
 * goals, growth, metric and snapshots; the goal sensation's frame. */
#include "mj_hand_test_util.h"

#include "ag_error.h"

#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static const EnvClass *const ladder[3] = {
    &env_mj_hand_block_z_class, &env_mj_hand_block_parallel_class, &env_mj_hand_block_class};

/* the world's vertical in the block's frame for orientation q (the third row of its matrix) */
static void ladder_up(const double *q, double *up) {
    double r[9];
    mju_quat2Mat(r, q);
    mju_copy3(up, r + 6);
}

/* 1 when v is one of +-x, +-y, +-z, and which one (0..5) */
static int ladder_axis(const double *v, int *which) {
    for (int k = 0; k < 3; k++) {
        if (fabs(fabs(v[k]) - 1.0) < 1e-9 && fabs(v[(k + 1) % 3]) < 1e-9 &&
            fabs(v[(k + 2) % 3]) < 1e-9) {
            *which = 2 * k + (v[k] < 0);
            return 1;
        }
    }
    return 0;
}

/* the face up of the block now, rounded to the nearest axis */
static int ladder_block_face_up(const HandEnv *e) {
    double up[3];
    ladder_up(e->st->d->qpos + e->sh->obj_qpos + 3, up);
    int best = 0;
    for (int k = 1; k < 3; k++) {
        best = fabs(up[k]) > fabs(up[best]) ? k : best;
    }
    return 2 * best + (up[best] < 0);
}

/* the Kolmogorov-Smirnov distance of sorted samples x[n] from the distribution cdf */
static double ladder_ks(double *x, int n, double (*cdf)(double, const double *), const double *p);

static int ladder_cmp(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double ladder_ks(double *x, int n, double (*cdf)(double, const double *), const double *p) {
    qsort(x, (size_t)n, sizeof(double), ladder_cmp);
    double d = 0;
    for (int i = 0; i < n; i++) {
        double f = cdf(x[i], p);
        d = fmax(d, fmax(fabs(f - (double)i / n), fabs((double)(i + 1) / n - f)));
    }
    return d;
}

/* the Haar measure's distribution of the rotation angle, restricted to [p[0], p[1]] */
static double ladder_haar_cdf(double a, const double *p) {
    double lo = p[0] - sin(p[0]), hi = p[1] - sin(p[1]);
    return ((a - sin(a)) - lo) / (hi - lo);
}

static double ladder_uniform_cdf(double a, const double *p) {
    return (a - p[0]) / (p[1] - p[0]);
}

START_TEST(test_ladder_in_catalogue) {
    static const char *const names[3] = {"HandBlockRotateZ", "HandBlockRotateParallel",
                                         "HandBlock"};
    for (int i = 0; i < 3; i++) {
        ck_assert_ptr_eq(env_registry_find(names[i]), ladder[i]);
        HandEnv e;
        hand_open(&e, ladder[i], NULL, 1);
        /* the same sensations, rules and limits as HandBlock */
        ck_assert_int_eq(e.task.spec.obs_size, 48 + 17 + 7 + 4);
        ck_assert_int_eq(e.task.spec.max_episode_steps, 5000);
        ck_assert_int_eq(e.task.spec.num_metrics, 1);
        ck_assert_str_eq(e.task.spec.metric_names[0], "consecutive_goals");
        ck_assert_int_eq(e.sh->goals, i == 0   ? HAND_GOALS_Z
                                      : i == 1 ? HAND_GOALS_PARALLEL
                                               : HAND_GOALS_FULL);
        hand_close(&e);
    }
}
END_TEST

START_TEST(test_full_goals_uniform_on_so3) {
    /* 20,000 goals: their angle follows the Haar density (1 - cos a) / pi, whose distribution is
     * (a - sin a) / pi: Kolmogorov-Smirnov distance below the 1 % critical value 1.63 / sqrt(n);
     * and each component's square averages 1/4. The former rule (angle uniform in [0, pi]
     * about a uniform axis) is at distance 1/pi = 0.32 from it. */
    enum { N = 20000 };
    HandEnv e;
    hand_open(&e, &env_mj_hand_block_class, NULL, 3);
    AgRng r;
    ag_rng_seed(&r, 12345, 0);
    static double angles[N];
    double sq[4] = {0}, id[4] = {1, 0, 0, 0};
    for (int i = 0; i < N; i++) {
        env_mj_hand_block_goal_sample(e.sh, e.st, &r, id, id);
        double n = 0;
        for (int k = 0; k < 4; k++) {
            sq[k] += e.st->goal[k] * e.st->goal[k];
            n += e.st->goal[k] * e.st->goal[k];
        }
        ck_assert_double_eq_tol(n, 1.0, 1e-12);
        angles[i] = env_mj_hand_rot_dist(e.st->goal, id);
    }
    const double range[2] = {0, mjPI};
    double d = ladder_ks(angles, N, ladder_haar_cdf, range);
    ck_assert_msg(d < 1.63 / sqrt(N), "KS distance %g", d);
    for (int k = 0; k < 4; k++) {
        ck_assert_msg(fabs(sq[k] / N - 0.25) < 0.01, "component %d: %g", k, sq[k] / N);
    }
    /* the test tells the former rule apart */
    for (int i = 0; i < N; i++) {
        angles[i] = mjPI * ag_rng_uniform(&r);
    }
    ck_assert(ladder_ks(angles, N, ladder_haar_cdf, range) > 0.3);
    hand_close(&e);
}
END_TEST

START_TEST(test_z_goals_keep_the_face_up) {
    /* every goal of an episode has the reset's face up: it differs from the start only by a
     * turn about the vertical, uniform in angle */
    enum { N = 400 };
    HandEnv e;
    hand_open(&e, &env_mj_hand_block_z_class, NULL, 5);
    static double turns[N];
    double up[3];
    int which = -1, faces[6] = {0};
    for (int i = 0; i < N; i++) {
        if (i % 8 == 0) {
            e.task.cls->reset(&e.task, e.st, &e.rng, e.obs);
            faces[e.st->face]++;
        } else {
            double prev[4];
            mju_copy4(prev, e.st->goal);
            env_mj_hand_block_goal_sample(e.sh, e.st, &e.rng, prev, prev);
        }
        ladder_up(e.st->goal, up);
        ck_assert(ladder_axis(up, &which));
        ck_assert_int_eq(which, ladder_block_face_up(&e));
        /* goal = turn(z, a) * block: the relative rotation is about z */
        double inv[4], rel[4];
        mju_negQuat(inv, e.st->d->qpos + e.sh->obj_qpos + 3);
        mju_mulQuat(rel, e.st->goal, inv);
        /* the block sits within 0.01 rad of its face up: the relative turn is about z */
        double axis_xy = sqrt(rel[1] * rel[1] + rel[2] * rel[2]);
        ck_assert_msg(axis_xy < 0.01, "goal %d tilts by %g", i, axis_xy);
        turns[i] = 2 * atan2(rel[3], rel[0]);
        turns[i] = remainder(turns[i], 2 * mjPI);
    }
    for (int f = 0; f < 6; f++) {
        ck_assert_int_gt(faces[f], 0);
    }
    /* the turns between block and goal are uniform on the circle */
    const double range[2] = {-mjPI, mjPI};
    double d = ladder_ks(turns, N, ladder_uniform_cdf, range);
    ck_assert_msg(d < 1.63 / sqrt(N), "KS distance %g", d);
    hand_close(&e);
}
END_TEST

START_TEST(test_parallel_goals_face_up_and_turn) {
    /* goals are one of the 24 axis-aligned orientations turned about the vertical: the world's
     * vertical is a cube axis, and each of the six faces is up about a sixth of the time */
    enum { N = 6000 };
    HandEnv e;
    hand_open(&e, &env_mj_hand_block_parallel_class, NULL, 6);
    int counts[6] = {0}, which = -1;
    double up[3], id[4] = {1, 0, 0, 0};
    for (int i = 0; i < N; i++) {
        env_mj_hand_block_goal_sample(e.sh, e.st, &e.rng, id, id);
        ladder_up(e.st->goal, up);
        ck_assert_msg(ladder_axis(up, &which), "goal %d: up (%g, %g, %g)", i, up[0], up[1], up[2]);
        counts[which]++;
    }
    for (int k = 0; k < 6; k++) {
        ck_assert_msg(fabs((double)counts[k] / N - 1.0 / 6) < 0.02, "face %d: %d", k, counts[k]);
    }
    /* the 24 base orientations are distinct rotations */
    for (int a = 0; a < BLOCK_PARALLEL; a++) {
        for (int b = a + 1; b < BLOCK_PARALLEL; b++) {
            ck_assert(env_mj_hand_rot_dist(e.sh->parallel[a], e.sh->parallel[b]) > 1.0);
        }
    }
    hand_close(&e);
}
END_TEST

/* the block's orientation turned about the world's x axis by angle */
static void ladder_tilted(const HandEnv *e, double angle, double *q) {
    double x[3] = {1, 0, 0}, turn[4];
    mju_axisAngle2Quat(turn, x, angle);
    mju_mulQuat(q, turn, e->st->d->qpos + e->sh->obj_qpos + 3);
}

START_TEST(test_ladder_success_new_goal_and_drop) {
    float hold[20] = {0}; /* relative control: stay */
    for (int c = 0; c < 3; c++) {
        HandEnv e;
        hand_open(&e, ladder[c], NULL, 40 + (uint64_t)c);
        /* a goal 0.45 rad away is not reached by holding still */
        ladder_tilted(&e, 0.45, e.st->goal);
        e.st->prev_dist = 0.45;
        EnvStep s = hand_step(&e, hold);
        ck_assert_int_eq(e.st->consecutive_goals, 0);
        ck_assert(fabs(s.reward) < 0.05);
        /* one 0.3 rad away is (tolerance 0.4): +5 and a new goal at once */
        double old[4];
        ladder_tilted(&e, 0.3, e.st->goal);
        mju_copy4(old, e.st->goal);
        e.st->prev_dist = 0.3;
        s = hand_step(&e, hold);
        ck_assert_int_eq(s.terminated, 0);
        ck_assert_msg(fabs(s.reward - 5.0) < 0.05, "%s: reward %g", ladder[c]->name, s.reward);
        ck_assert_int_eq(e.st->consecutive_goals, 1);
        ck_assert_int_eq(e.st->steps_since_goal, 0);
        ck_assert(env_mj_hand_rot_dist(old, e.st->goal) > 1e-6);
        const EnvSensation *g = hand_sensation(&e, "goal");
        for (int i = 0; i < 4; i++) {
            ck_assert(e.obs[g->offset + i] == (float)e.st->goal[i]);
        }
        /* the new goal is one of the task's */
        double up[3];
        int which;
        ladder_up(e.st->goal, up);
        if (c < 2) {
            ck_assert(ladder_axis(up, &which));
        }
        if (c == 0) {
            ck_assert_int_eq(which, ladder_block_face_up(&e));
        }
        /* dropped: -20 and the end */
        double *q = e.st->d->qpos + e.sh->obj_qpos;
        q[0] = 0.3;
        q[2] = e.sh->drop_z - 0.05;
        s = hand_step(&e, hold);
        ck_assert_int_eq(s.terminated, 1);
        ck_assert(s.reward < -19.0 && s.reward > -21.0);
        hand_close(&e);
    }
}
END_TEST

/* the optional shaping term adds rotation_bonus / (d + 0.1) to each step that does not end the
 * episode, on top of the Dactyl reward; bad values are refused by name */
START_TEST(test_rotation_bonus) {
    float hold[20] = {0};
    HandEnv plain, shaped;
    hand_open(&plain, &env_mj_hand_block_z_class, NULL, 7);
    hand_open(&shaped, &env_mj_hand_block_z_class, "{\"rotation_bonus\": 0.5}", 7);
    ck_assert(shaped.sh->rotation_bonus == 0.5);
    ck_assert(plain.sh->rotation_bonus == 0.0);
    /* the same state and goal, one step each: the difference is the bonus at the new distance */
    ladder_tilted(&plain, 0.9, plain.st->goal);
    ladder_tilted(&shaped, 0.9, shaped.st->goal);
    plain.st->prev_dist = shaped.st->prev_dist = 0.9;
    EnvStep a = hand_step(&plain, hold), b = hand_step(&shaped, hold);
    double d = env_mj_hand_rot_dist(shaped.st->d->qpos + shaped.sh->obj_qpos + 3, shaped.st->goal);
    ck_assert_msg(fabs((b.reward - a.reward) - 0.5 / (d + 0.1)) < 1e-4, "shaped %g plain %g d %g",
                  b.reward, a.reward, d);
    /* no bonus on the step that drops the block */
    double *q = shaped.st->d->qpos + shaped.sh->obj_qpos;
    q[0] = 0.3;
    q[2] = shaped.sh->drop_z - 0.05;
    b = hand_step(&shaped, hold);
    ck_assert_int_eq(b.terminated, 1);
    ck_assert(b.reward < -19.0 && b.reward > -21.0);
    hand_close(&plain);
    hand_close(&shaped);
    /* refused: negative, too large, not a number */
    const char *bad[] = {"{\"rotation_bonus\": -1}", "{\"rotation_bonus\": 11}",
                         "{\"rotation_bonus\": \"big\"}"};
    for (int i = 0; i < 3; i++) {
        char err[256] = "";
        EnvTask t;
        memset(&t, 0, sizeof t);
        t.cls = &env_mj_hand_block_z_class;
        json_error_t je;
        json_t *o = json_loads(bad[i], 0, &je);
        ck_assert_int_eq(t.cls->task_create(&t, o, err, sizeof err), AG_ESPEC);
        ck_assert_msg(strstr(err, "rotation_bonus") != NULL, "%s", err);
        json_decref(o);
    }
}
END_TEST

/* goal_bonus and drop_penalty replace Dactyl's +5 and -20 (kept as defaults); bad values are
 * refused by name */
START_TEST(test_goal_bonus_and_drop_penalty) {
    float hold[20] = {0};
    HandEnv plain, tuned;
    hand_open(&plain, &env_mj_hand_block_z_class, NULL, 7);
    hand_open(&tuned, &env_mj_hand_block_z_class, "{\"goal_bonus\": 50, \"drop_penalty\": 2.5}", 7);
    ck_assert(plain.sh->goal_bonus == 5.0 && plain.sh->drop_penalty == 20.0);
    ck_assert(tuned.sh->goal_bonus == 50.0 && tuned.sh->drop_penalty == 2.5);
    /* the same reachable goal (0.3 rad, tolerance 0.4), one step each: the rewards differ by
     * the bonuses' difference and both count the goal */
    ladder_tilted(&plain, 0.3, plain.st->goal);
    ladder_tilted(&tuned, 0.3, tuned.st->goal);
    plain.st->prev_dist = tuned.st->prev_dist = 0.3;
    EnvStep a = hand_step(&plain, hold), b = hand_step(&tuned, hold);
    ck_assert_int_eq(plain.st->consecutive_goals, 1);
    ck_assert_int_eq(tuned.st->consecutive_goals, 1);
    ck_assert_msg(fabs((b.reward - a.reward) - 45.0) < 1e-6, "tuned %g plain %g", b.reward,
                  a.reward);
    /* a drop pays the penalty asked and ends the episode */
    double *q = tuned.st->d->qpos + tuned.sh->obj_qpos;
    q[0] = 0.3;
    q[2] = tuned.sh->drop_z - 0.05;
    tuned.st->prev_dist = env_mj_hand_rot_dist(q + 3, tuned.st->goal);
    b = hand_step(&tuned, hold);
    ck_assert_int_eq(b.terminated, 1);
    ck_assert_msg(b.reward < -1.5 && b.reward > -3.5, "drop reward %g", b.reward);
    hand_close(&plain);
    hand_close(&tuned);
    const char *bad[] = {"{\"goal_bonus\": -1}", "{\"drop_penalty\": 1001}",
                         "{\"drop_penalty\": \"big\"}", "{\"goal_bonus\": true}"};
    const char *name[] = {"goal_bonus", "drop_penalty", "drop_penalty", "goal_bonus"};
    for (int i = 0; i < 4; i++) {
        char err[256] = "";
        EnvTask t;
        memset(&t, 0, sizeof t);
        t.cls = &env_mj_hand_block_z_class;
        json_error_t je;
        json_t *o = json_loads(bad[i], 0, &je);
        ck_assert_int_eq(t.cls->task_create(&t, o, err, sizeof err), AG_ESPEC);
        ck_assert_msg(strstr(err, name[i]) != NULL, "%s", err);
        json_decref(o);
    }
}
END_TEST

START_TEST(test_curriculum_options) {
    HandEnv e;
    hand_open(&e, &env_mj_hand_block_class, "{\"curriculum\": {}}", 1);
    const EnvMjHandCurriculumSpec *c = &e.sh->curriculum;
    ck_assert_int_eq(c->on, 1);
    ck_assert_double_eq(c->initial_angle, 0.6);
    ck_assert_double_eq(c->final_angle, mjPI);
    ck_assert_double_eq(c->step, 0.2);
    ck_assert_int_eq(c->window, 50);
    ck_assert_double_eq(c->threshold, 0.5);
    ck_assert_int_eq(c->goals, 1);
    ck_assert_int_eq(e.task.spec.num_metrics, 2);
    ck_assert_str_eq(e.task.spec.metric_names[1], "curriculum_max_angle");
    ck_assert_double_eq(e.st->curriculum.max_angle, 0.6);
    hand_close(&e);
    hand_open(&e, &env_mj_hand_block_z_class, "{\"curriculum\": null}", 1);
    ck_assert_int_eq(e.sh->curriculum.on, 0);
    ck_assert_int_eq(e.task.spec.num_metrics, 1);
    hand_close(&e);
    static const struct {
        const char *opts;
        const char *field;
    } bad[] = {
        {"{\"curriculum\": 1}", "task_options.curriculum"},
        {"{\"curriculum\": {\"speed\": 1}}", "task_options.curriculum.speed"},
        {"{\"curriculum\": {\"initial_angle\": 0.3}}", "task_options.curriculum.initial_angle"},
        {"{\"curriculum\": {\"initial_angle\": 4}}", "task_options.curriculum.initial_angle"},
        {"{\"curriculum\": {\"initial_angle\": 1.5, \"final_angle\": 1}}",
         "task_options.curriculum.final_angle"},
        {"{\"curriculum\": {\"step\": 0}}", "task_options.curriculum.step"},
        {"{\"curriculum\": {\"window\": 0}}", "task_options.curriculum.window"},
        {"{\"curriculum\": {\"window\": 1025}}", "task_options.curriculum.window"},
        {"{\"curriculum\": {\"window\": 2.5}}", "task_options.curriculum.window"},
        {"{\"curriculum\": {\"threshold\": 0}}", "task_options.curriculum.threshold"},
        {"{\"curriculum\": {\"threshold\": 1.5}}", "task_options.curriculum.threshold"},
        {"{\"curriculum\": {\"threshold\": \"high\"}}", "task_options.curriculum.threshold"},
        {"{\"curriculum\": {\"goals\": 0}}", "task_options.curriculum.goals"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char err[256] = "";
        HandEnv x;
        int rc = hand_open_opts(&x, &env_mj_hand_block_z_class, bad[i].opts, 1, err, sizeof(err));
        ck_assert_msg(rc == AG_ESPEC, "%s: rc %d (%s)", bad[i].opts, rc, err);
        ck_assert_msg(strncmp(err, bad[i].field, strlen(bad[i].field)) == 0, "%s: %s", bad[i].opts,
                      err);
    }
    /* the reach tasks have no curriculum */
    char err[256] = "";
    HandEnv x;
    ck_assert_int_eq(
        hand_open_opts(&x, &env_mj_hand_reach_class, "{\"curriculum\": {}}", 1, err, sizeof(err)),
        AG_ESPEC);
}
END_TEST

START_TEST(test_curriculum_goals_within_the_angle) {
    /* below pi, goals lie within the largest angle of the reference and farther than the
     * tolerance from the block; full orientations follow the Haar density restricted to
     * [0.4, 0.8] (Kolmogorov-Smirnov), the vertical turns of RotateZ are uniform in +-[0.4, 0.8] */
    enum { N = 4000 };
    static double angles[N];
    for (int c = 0; c < 3; c++) {
        HandEnv e;
        hand_open(&e, ladder[c], "{\"curriculum\": {\"initial_angle\": 0.8}}", 7);
        double ref[4], current[4];
        mju_copy4(ref, e.st->goal); /* on the task's set of goals */
        mju_copy4(current, ref);
        int which;
        for (int i = 0; i < N; i++) {
            env_mj_hand_block_goal_sample(e.sh, e.st, &e.rng, ref, current);
            double a = env_mj_hand_rot_dist(e.st->goal, ref);
            ck_assert_msg(a <= 0.8 + 1e-9 && a >= BLOCK_SUCCESS_ROT, "%s: %g", ladder[c]->name, a);
            double up[3];
            ladder_up(e.st->goal, up);
            if (c < 2) {
                ck_assert(ladder_axis(up, &which));
            }
            angles[i] = a;
        }
        /* full orientations: Haar; the others turn about the vertical: uniform */
        const double range[2] = {BLOCK_SUCCESS_ROT, 0.8};
        double d = ladder_ks(angles, N, c == 2 ? ladder_haar_cdf : ladder_uniform_cdf, range);
        ck_assert_msg(d < 1.63 / sqrt(N), "%s: KS distance %g", ladder[c]->name, d);
        hand_close(&e);
    }
}
END_TEST

/* ends the current episode with `goals` goals reached and starts the next (counting it) */
static void ladder_episode(HandEnv *e, int goals) {
    e->st->consecutive_goals = goals;
    e->task.cls->reset(&e->task, e->st, &e->rng, e->obs);
}

START_TEST(test_curriculum_grows_and_is_reported) {
    HandEnv e;
    hand_open(&e, &env_mj_hand_block_z_class,
              "{\"curriculum\": {\"initial_angle\": 0.6, \"step\": 0.3, \"window\": 4, "
              "\"threshold\": 0.5, \"goals\": 2, \"final_angle\": 1.4}}",
              8);
    float m[ENV_MAX_METRICS];
    /* the window fills first: 3 episodes are not enough, whatever their outcome */
    for (int i = 0; i < 3; i++) {
        ladder_episode(&e, 5);
    }
    ck_assert_double_eq(e.st->curriculum.max_angle, 0.6);
    /* one goal is not a success when two are asked for: 3 of 4 successes promote */
    ladder_episode(&e, 1);
    ck_assert_double_eq_tol(e.st->curriculum.max_angle, 0.9, 1e-12);
    ck_assert_int_eq(e.st->curriculum.count, 0);
    e.task.cls->episode_metrics(&e.task, e.st, m);
    ck_assert_float_eq_tol(m[1], 0.9f, 1e-6f);
    /* a sliding window: failures keep the angle until the last 4 hold 2 successes */
    for (int i = 0; i < 6; i++) {
        ladder_episode(&e, 0);
    }
    ck_assert_double_eq_tol(e.st->curriculum.max_angle, 0.9, 1e-12);
    ladder_episode(&e, 2);
    ck_assert_double_eq_tol(e.st->curriculum.max_angle, 0.9, 1e-12);
    ladder_episode(&e, 3);
    ck_assert_double_eq_tol(e.st->curriculum.max_angle, 1.2, 1e-12);
    /* it stops at final_angle */
    for (int i = 0; i < 8; i++) {
        ladder_episode(&e, 2);
    }
    ck_assert_double_eq_tol(e.st->curriculum.max_angle, 1.4, 1e-12);
    /* the goals follow it */
    ck_assert(env_mj_hand_rot_dist(e.st->goal, e.st->d->qpos + e.sh->obj_qpos + 3) < 1.4 + 0.05);
    hand_close(&e);

    /* reported per episode through a batch: the metric sums the episodes' angles */
    char err[256] = "";
    EnvTask task;
    json_t *o = json_loads("{\"curriculum\": {\"initial_angle\": 0.7}}", 0, NULL);
    ck_assert_msg(env_task_create(&task, "HandBlockRotateParallel", o, err, sizeof(err)) == 0, "%s",
                  err);
    json_decref(o);
    EnvBatch b;
    ck_assert_int_eq(env_batch_create(&b, &task, 2, 3, 0, err, sizeof(err)), 0);
    int n = task.spec.obs_size;
    float *obs = calloc((size_t)(2 * n), sizeof(float)), act[40], r[2];
    uint8_t te[2], tr[2];
    AgRng rng;
    ag_rng_seed(&rng, 9, 0);
    env_batch_reset(&b, obs);
    for (int t = 0; t < 400 && b.stats.episodes < 3; t++) {
        for (int i = 0; i < 40; i++) {
            act[i] = (float)ag_rng_uniform_range(&rng, -1, 1);
        }
        env_batch_step(&b, act, obs, r, te, tr, NULL);
    }
    EnvBatchStats stats;
    env_batch_stats_take(&b, &stats);
    ck_assert_int_gt(stats.episodes, 0);
    ck_assert_double_eq_tol(stats.metric_sums[1], 0.7 * (double)stats.episodes, 1e-4);
    free(obs);
    env_batch_destroy(&b);
    env_task_destroy(&task);
}
END_TEST

START_TEST(test_curriculum_survives_snapshots) {
    /* a batch of RotateZ environments with a grown, half-full curriculum, saved and restored
     * into another batch (what a checkpoint holds): the same curriculum, then the same steps */
    char err[256] = "";
    EnvTask task;
    json_t *o = json_loads("{\"curriculum\": {\"window\": 5, \"step\": 0.25}}", 0, NULL);
    ck_assert_msg(env_task_create(&task, "HandBlockRotateZ", o, err, sizeof(err)) == 0, "%s", err);
    json_decref(o);
    EnvBatch a, b;
    ck_assert_int_eq(env_batch_create(&a, &task, 2, 5, 0, err, sizeof(err)), 0);
    ck_assert_int_eq(env_batch_create(&b, &task, 2, 6, 0, err, sizeof(err)), 0);
    int n = task.spec.obs_size;
    float *oa = calloc((size_t)(2 * n), sizeof(float)),
          *ob = calloc((size_t)(2 * n), sizeof(float));
    env_batch_reset(&a, oa);
    env_batch_reset(&b, ob);
    /* environment 0: promoted once, 3 outcomes in its window; environment 1: a full window of
     * 5 with 2 successes (not enough) */
    EnvMjHandState *s0 = (EnvMjHandState *)a.states;
    EnvMjHandState *s1 = (EnvMjHandState *)(a.states + task.cls->state_size);
    for (int i = 0; i < 8; i++) {
        s0->consecutive_goals = i < 5 ? 3 : i % 2;
        s1->consecutive_goals = i < 6 ? 0 : 1;
        a.task->cls->reset(a.task, s0, &a.rngs[0], oa);
        a.task->cls->reset(a.task, s1, &a.rngs[1], oa + n);
    }
    ck_assert_double_eq_tol(s0->curriculum.max_angle, 0.85, 1e-12);
    ck_assert_int_eq(s0->curriculum.count, 3);
    ck_assert_double_eq_tol(s1->curriculum.max_angle, 0.6, 1e-12);
    ck_assert_int_eq(s1->curriculum.count, 5);
    ck_assert_int_eq(s1->curriculum.successes, 2);
    size_t size = env_batch_snapshot_size(&a);
    void *snap = malloc(size);
    env_batch_snapshot_save(&a, snap);
    ck_assert_int_eq(env_batch_snapshot_load(&b, snap, size), 0);
    for (int i = 0; i < 2; i++) {
        const EnvMjHandState *x = (const EnvMjHandState *)(a.states + i * task.cls->state_size);
        const EnvMjHandState *y = (const EnvMjHandState *)(b.states + i * task.cls->state_size);
        ck_assert_mem_eq(&x->curriculum, &y->curriculum, sizeof(x->curriculum));
        ck_assert_int_eq(x->face, y->face);
    }
    /* both continue alike, episode ends and goal draws included */
    memcpy(ob, oa, sizeof(float) * (size_t)(2 * n));
    AgRng rng;
    ag_rng_seed(&rng, 4, 4);
    float act[40], ra[2], rb[2];
    uint8_t ta[2], tb[2], ua[2], ub[2];
    for (int t = 0; t < 60; t++) {
        for (int i = 0; i < 40; i++) {
            act[i] = (float)ag_rng_uniform_range(&rng, -1, 1);
        }
        env_batch_step(&a, act, oa, ra, ta, ua, NULL);
        env_batch_step(&b, act, ob, rb, tb, ub, NULL);
        ck_assert(ra[0] == rb[0] && ra[1] == rb[1]);
        ck_assert_mem_eq(oa, ob, sizeof(float) * (size_t)(2 * n));
    }
    EnvBatchStats sa, sb;
    env_batch_stats_take(&a, &sa);
    env_batch_stats_take(&b, &sb);
    ck_assert(sa.metric_sums[1] == sb.metric_sums[1]);
    free(snap);
    free(oa);
    free(ob);
    env_batch_destroy(&a);
    env_batch_destroy(&b);
    env_task_destroy(&task);
}
END_TEST

/* goal_frame "relative": the goal sensation is the turn from the block to the goal, the same
 * after a reset and after steps, with w >= 0; "absolute" (the default) the goal itself */
START_TEST(test_goal_frame) {
    float hold[20] = {0};
    HandEnv rel, abs_;
    hand_open(&rel, &env_mj_hand_block_class, "{\"goal_frame\": \"relative\"}", 11);
    hand_open(&abs_, &env_mj_hand_block_class, "{\"goal_frame\": \"absolute\"}", 11);
    const EnvSensation *g = hand_sensation(&rel, "goal");
    ck_assert_ptr_nonnull(g);
    ck_assert_int_eq(g->size, 4);
    ck_assert_int_eq(hand_sensation(&abs_, "goal")->size, 4);
    for (int step = 0; step < 6; step++) {
        const double *qb = rel.st->d->qpos + rel.sh->obj_qpos + 3;
        double inv[4], turn[4];
        mju_negQuat(inv, qb);
        mju_mulQuat(turn, rel.st->goal, inv);
        double sign = turn[0] < 0 ? -1.0 : 1.0, norm = 0;
        const float *o = rel.obs + g->offset;
        for (int i = 0; i < 4; i++) {
            ck_assert_msg(fabs(o[i] - sign * turn[i]) < 1e-6, "step %d: [%d] %g, want %g", step, i,
                          o[i], sign * turn[i]);
            norm += o[i] * o[i];
        }
        ck_assert(o[0] >= 0.0f);
        ck_assert(fabs(norm - 1.0) < 1e-5);
        /* its angle is the distance the reward and the success count */
        double angle = 2.0 * acos(fmin(1.0, o[0]));
        ck_assert_msg(fabs(angle - env_mj_hand_rot_dist(qb, rel.st->goal)) < 1e-3, "%g vs %g",
                      angle, env_mj_hand_rot_dist(qb, rel.st->goal));
        /* the same environment seen absolutely: the goal as drawn */
        const float *a = abs_.obs + hand_sensation(&abs_, "goal")->offset;
        for (int i = 0; i < 4; i++) {
            ck_assert(a[i] == (float)abs_.st->goal[i]);
        }
        /* the same goal written with the other sign: one of the two has w < 0 */
        if (step == 2) {
            for (int i = 0; i < 4; i++) {
                rel.st->goal[i] = -rel.st->goal[i];
                abs_.st->goal[i] = -abs_.st->goal[i];
            }
        }
        hand_step(&rel, hold);
        hand_step(&abs_, hold);
    }
    json_t *def = env_mj_hand_block_class.default_options();
    ck_assert_str_eq(json_string_value(json_object_get(def, "goal_frame")), "absolute");
    json_decref(def);
    /* the other sensations do not change with the frame */
    ck_assert_int_eq(rel.task.spec.obs_size, abs_.task.spec.obs_size);
    hand_close(&rel);
    hand_close(&abs_);
    /* bad values, by name; the reach tasks have no such option */
    char err[256] = "";
    HandEnv bad;
    ck_assert_int_eq(hand_open_opts(&bad, &env_mj_hand_block_z_class, "{\"goal_frame\": \"local\"}",
                                    1, err, sizeof err),
                     AG_ESPEC);
    ck_assert_msg(strstr(err, "goal_frame") && strstr(err, "relative"), "%s", err);
    ck_assert_int_eq(
        hand_open_opts(&bad, &env_mj_hand_block_class, "{\"goal_frame\": 1}", 1, err, sizeof err),
        AG_ESPEC);
    ck_assert_int_eq(hand_open_opts(&bad, &env_mj_hand_reach_class,
                                    "{\"goal_frame\": \"relative\"}", 1, err, sizeof err),
                     AG_ESPEC);
    ck_assert_msg(strstr(err, "goal_frame") && strstr(err, "unknown"), "%s", err);
}
END_TEST

static Suite *ladder_suite(void) {
    Suite *s = suite_create("mj_hand_ladder");
    TCase *tc = tcase_create("ladder");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_ladder_in_catalogue);
    tcase_add_test(tc, test_full_goals_uniform_on_so3);
    tcase_add_test(tc, test_z_goals_keep_the_face_up);
    tcase_add_test(tc, test_parallel_goals_face_up_and_turn);
    tcase_add_test(tc, test_ladder_success_new_goal_and_drop);
    tcase_add_test(tc, test_rotation_bonus);
    tcase_add_test(tc, test_goal_bonus_and_drop_penalty);
    tcase_add_test(tc, test_goal_frame);
    tcase_add_test(tc, test_curriculum_options);
    tcase_add_test(tc, test_curriculum_goals_within_the_angle);
    tcase_add_test(tc, test_curriculum_grows_and_is_reported);
    tcase_add_test(tc, test_curriculum_survives_snapshots);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) {
    SRunner *sr = srunner_create(ladder_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
