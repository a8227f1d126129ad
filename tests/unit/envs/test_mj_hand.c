/* Tests of the hand model and its tasks (mj_hand.c): model structure, options and spec, settled
 * resets, determinism, HandReach success from the goal's own pose, HandFreeReach reward terms,
 * HandBlock goals, time-out, drop and goal limit, control modes, instability and snapshots, and
 * pixels rendered by a batch equal to pixels each environment renders itself. */
#include "mj_hand_test_util.h"
#include "mj_render.h"

#include "ag_error.h"

#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

START_TEST(test_hand_model_structure) {
    char err[256] = "";
    mjModel *m = NULL;
    ck_assert_int_eq(env_mj_model_load("hand.xml", &m, err, sizeof(err)), 0);
    int hinges = 0;
    for (int j = 0; j < m->njnt; j++) {
        hinges += m->jnt_type[j] == mjJNT_HINGE;
    }
    ck_assert_int_eq(hinges, 24);
    ck_assert_int_eq(m->njnt, 24);
    ck_assert_int_eq(m->nu, 20);
    /* a touch sensor on every phalanx (3 per finger and thumb), the little finger's metacarpal
     * and the palm */
    int touch = 0;
    for (int s = 0; s < m->nsensor; s++) {
        touch += m->sensor_type[s] == mjSENS_TOUCH;
    }
    ck_assert_int_eq(touch, 17);
    static const char *const phalanges[] = {"ff", "mf", "rf", "lf", "th"};
    static const char *const parts[] = {"proximal", "middle", "distal"};
    for (int f = 0; f < 5; f++) {
        for (int p = 0; p < 3; p++) {
            char name[64];
            snprintf(name, sizeof(name), "touch_%s%s", phalanges[f], parts[p]);
            ck_assert_msg(mj_name2id(m, mjOBJ_SENSOR, name) >= 0, "no sensor %s", name);
        }
    }
    ck_assert_int_ge(mj_name2id(m, mjOBJ_SENSOR, "touch_palm"), 0);
    static const char *const tips[] = {"S_fftip", "S_mftip", "S_rftip", "S_lftip", "S_thtip"};
    for (int i = 0; i < 5; i++) {
        ck_assert_int_ge(mj_name2id(m, mjOBJ_SITE, tips[i]), 0);
    }
    ck_assert_int_ge(mj_name2id(m, mjOBJ_CAMERA, "palm_cam"), 0);
    /* the two distal joints of each long finger share one actuator through a tendon */
    int tendon_acts = 0;
    for (int a = 0; a < m->nu; a++) {
        ck_assert_int_eq(m->actuator_gaintype[a], mjGAIN_FIXED); /* position servo */
        if (m->actuator_trntype[a] == mjTRN_TENDON) {
            int t = m->actuator_trnid[2 * a];
            ck_assert_int_eq(m->tendon_num[t], 2);
            tendon_acts++;
        }
    }
    ck_assert_int_eq(tendon_acts, 4);
    /* primitives only, and the hand never collides with itself */
    for (int g = 0; g < m->ngeom; g++) {
        ck_assert(m->geom_type[g] == mjGEOM_CAPSULE || m->geom_type[g] == mjGEOM_BOX ||
                  m->geom_type[g] == mjGEOM_SPHERE);
        ck_assert_int_eq(m->geom_contype[g] & m->geom_conaffinity[g], 0);
    }
    mj_deleteModel(m);
}
END_TEST

START_TEST(test_block_scene_structure) {
    char err[256] = "";
    mjModel *m = NULL;
    ck_assert_int_eq(env_mj_model_load("hand_block.xml", &m, err, sizeof(err)), 0);
    int obj = mj_name2id(m, mjOBJ_BODY, "object");
    int goal = mj_name2id(m, mjOBJ_BODY, "goal");
    ck_assert_int_ge(obj, 0);
    ck_assert_int_ge(goal, 0);
    ck_assert_int_ge(m->body_mocapid[goal], 0);
    int cube = mj_name2id(m, mjOBJ_GEOM, "object");
    ck_assert_int_eq(m->geom_type[cube], mjGEOM_BOX);
    ck_assert_double_eq_tol(m->geom_size[3 * cube], 0.025, 1e-9);
    /* the goal collides with nothing; the cube's six faces have six different colours */
    int faces = 0;
    float colours[16][4];
    for (int g = 0; g < m->ngeom; g++) {
        if (m->geom_bodyid[g] == goal) {
            ck_assert(m->geom_contype[g] == 0 && m->geom_conaffinity[g] == 0);
        }
        if (m->geom_bodyid[g] == obj && g != cube) {
            for (int k = 0; k < faces; k++) {
                ck_assert(memcmp(colours[k], m->geom_rgba + 4 * g, sizeof(colours[k])) != 0);
            }
            memcpy(colours[faces++], m->geom_rgba + 4 * g, sizeof(colours[0]));
        }
    }
    ck_assert_int_eq(faces, 6);
    mj_deleteModel(m);
}
END_TEST

START_TEST(test_specs_and_options) {
    HandEnv e;
    hand_open(&e, &env_mj_hand_block_class, NULL, 1);
    ck_assert_int_eq(e.task.spec.obs_size, 48 + 17 + 7 + 4);
    ck_assert_int_eq(hand_sensation(&e, "proprioception")->size, 48);
    ck_assert_int_eq(hand_sensation(&e, "touch")->size, 17);
    ck_assert_int_eq(hand_sensation(&e, "vision")->size, 7);
    ck_assert_int_eq(hand_sensation(&e, "goal")->size, 4);
    ck_assert_ptr_null(hand_sensation(&e, "asymmetric"));
    ck_assert_int_eq(e.task.spec.action_kind, ENV_ACTION_BOX);
    ck_assert_int_eq(e.task.spec.action_dim, 20);
    ck_assert(e.task.spec.action_low[0] == -1.0f && e.task.spec.action_high[19] == 1.0f);
    ck_assert_double_eq_tol(e.task.spec.control_dt, 0.08, 1e-12);
    ck_assert_int_eq(e.task.spec.max_episode_steps, 5000);
    ck_assert_str_eq(e.task.spec.metric_names[0], "consecutive_goals");
    hand_close(&e);

    hand_open(&e, &env_mj_hand_block_class,
              "{\"asymmetric\": true, \"touch\": false, \"vision\": \"none\", "
              "\"discrete_bins\": 11, \"control\": \"absolute\"}",
              1);
    const EnvSensation *as = hand_sensation(&e, "asymmetric");
    ck_assert_ptr_nonnull(as);
    ck_assert_int_eq(as->critic_only, 1);
    ck_assert_int_eq(as->size, 6 + 15 + 4);
    ck_assert_ptr_null(hand_sensation(&e, "touch"));
    ck_assert_ptr_null(hand_sensation(&e, "vision"));
    ck_assert_int_eq(e.task.spec.action_kind, ENV_ACTION_MULTI_DISCRETE);
    ck_assert_int_eq(e.task.spec.action_choices[7], 11);
    /* bin 10 of 11 is the top of the range, bin 5 the centre (absolute control) */
    float a[20];
    for (int i = 0; i < 20; i++) {
        a[i] = i == 0 ? 10.0f : 5.0f;
    }
    hand_step(&e, a);
    ck_assert_double_eq_tol(e.st->d->ctrl[0], e.sh->act_hi[0], 1e-9);
    ck_assert_double_eq_tol(e.st->d->ctrl[3], 0.5 * (e.sh->act_lo[3] + e.sh->act_hi[3]), 1e-9);
    hand_close(&e);

    hand_open(&e, &env_mj_hand_reach_class, NULL, 1);
    ck_assert_int_eq(hand_sensation(&e, "goal")->size, 15);
    ck_assert_ptr_null(hand_sensation(&e, "fingertips"));
    ck_assert_double_eq_tol(e.task.spec.control_dt, 0.02, 1e-12);
    ck_assert_int_eq(e.task.spec.max_episode_steps, 100);
    ck_assert_str_eq(e.task.spec.metric_names[0], "success");
    hand_close(&e);

    /* the fingertips sensation: where the five tips are now, in the actor's observation, and
     * they move with the hand */
    hand_open(&e, &env_mj_hand_reach_class, "{\"fingertips\": true, \"touch\": false}", 1);
    const EnvSensation *tips = hand_sensation(&e, "fingertips");
    ck_assert_ptr_nonnull(tips);
    ck_assert_int_eq(tips->size, 15);
    ck_assert_int_eq(tips->critic_only, 0);
    ck_assert_int_eq(e.task.spec.obs_size, 48 + 15 + 15);
    for (int i = 0; i < 5; i++) {
        for (int c = 0; c < 3; c++) {
            ck_assert_float_eq(e.obs[tips->offset + 3 * i + c],
                               (float)e.st->d->site_xpos[3 * e.sh->tip_site[i] + c]);
        }
    }
    float before = e.obs[tips->offset];
    float bend[20];
    for (int i = 0; i < 20; i++) {
        bend[i] = 1.0f;
    }
    for (int t = 0; t < 10; t++) {
        hand_step(&e, bend);
    }
    ck_assert(fabsf(e.obs[tips->offset] - before) > 1e-3f);
    ck_assert_float_eq(e.obs[tips->offset + 14],
                       (float)e.st->d->site_xpos[3 * e.sh->tip_site[4] + 2]);
    hand_close(&e);

    hand_open(&e, &env_mj_hand_free_reach_class, "{\"finger\": \"ring\"}", 1);
    const EnvSensation *g = hand_sensation(&e, "goal");
    ck_assert_int_eq(g->size, 5);
    for (int i = 0; i < 5; i++) {
        ck_assert(e.obs[g->offset + i] == (i == 2 ? 1.0f : 0.0f));
    }
    hand_close(&e);

    /* bad options: each refused with a message naming the option */
    static const struct {
        const EnvClass *cls;
        const char *opts;
        int rc;
        const char *word;
    } bad[] = {
        {&env_mj_hand_block_class, "{\"colour\": 1}", AG_ESPEC, "colour"},
        {&env_mj_hand_block_class, "{\"control\": \"sideways\"}", AG_ESPEC, "control"},
        {&env_mj_hand_block_class, "{\"touch\": 3}", AG_ESPEC, "touch"},
        {&env_mj_hand_reach_class, "{\"fingertips\": \"yes\"}", AG_ESPEC, "fingertips"},
        {&env_mj_hand_block_class, "{\"discrete_bins\": 1}", AG_ESPEC, "discrete_bins"},
        {&env_mj_hand_block_class, "{\"discrete_bins\": 5000}", AG_ESPEC, "discrete_bins"},
        {&env_mj_hand_block_class, "{\"vision\": \"eyes\"}", AG_ESPEC, "vision"},
        {&env_mj_hand_block_class, "{\"vision\": \"pixels\", \"image_size\": 4}", AG_ESPEC,
         "image_size"},
        {&env_mj_hand_reach_class, "{\"vision\": \"pose\"}", AG_ESPEC, "vision"},
        {&env_mj_hand_block_class, "{\"camera_fovy\": 5}", AG_ESPEC, "camera_fovy"},
        {&env_mj_hand_block_class, "{\"camera_fovy\": \"wide\"}", AG_ESPEC, "camera_fovy"},
        {&env_mj_hand_reach_class, "{\"camera_fovy\": 30}", AG_ESPEC, "camera_fovy"},
        {&env_mj_hand_free_reach_class, "{\"finger\": \"thumb\"}", AG_ESPEC, "finger"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char err[256] = "";
        HandEnv x;
        int rc = hand_open_opts(&x, bad[i].cls, bad[i].opts, 1, err, sizeof(err));
        ck_assert_msg(rc == bad[i].rc, "%s: rc %d (%s)", bad[i].opts, rc, err);
        ck_assert_msg(strstr(err, bad[i].word) != NULL, "%s: %s", bad[i].opts, err);
    }
    json_t *def = env_mj_hand_block_class.default_options();
    ck_assert_str_eq(json_string_value(json_object_get(def, "control")), "relative");
    json_decref(def);
}
END_TEST

static double hand_max_abs(const double *v, int n) {
    double m = 0;
    for (int i = 0; i < n; i++) {
        m = fabs(v[i]) > m ? fabs(v[i]) : m;
    }
    return m;
}

START_TEST(test_resets_are_settled) {
    for (uint64_t seed = 1; seed <= 5; seed++) {
        HandEnv e;
        hand_open(&e, &env_mj_hand_block_class, NULL, seed);
        const mjData *d = e.st->d;
        const double *obj = d->qpos + e.sh->obj_qpos;
        /* the block rests on the palm: above the drop line, barely moving */
        ck_assert(obj[2] > e.sh->drop_z + 0.02);
        ck_assert_msg(hand_max_abs(d->qvel + e.sh->obj_dof, 6) < 0.2, "seed %d: %g", (int)seed,
                      hand_max_abs(d->qvel + e.sh->obj_dof, 6));
        ck_assert(hand_max_abs(d->qvel, 24) < 0.5);
        ck_assert_int_eq(env_mj_unstable(e.sh->m, d), 0);
        /* the goal is a unit quaternion, shown by the goal cube */
        double n = 0;
        for (int i = 0; i < 4; i++) {
            n += e.st->goal[i] * e.st->goal[i];
        }
        ck_assert_double_eq_tol(n, 1.0, 1e-9);
        for (int i = 0; i < 4; i++) {
            ck_assert_double_eq_tol(d->mocap_quat[4 * e.sh->goal_mocap + i], e.st->goal[i], 1e-12);
        }
        /* holding still keeps it on the palm for a second */
        float zero[20] = {0};
        for (int t = 0; t < 12; t++) {
            ck_assert_int_eq(hand_step(&e, zero).terminated, 0);
        }
        ck_assert(obj[2] > e.sh->drop_z + 0.02);
        hand_close(&e);
    }
    HandEnv r;
    hand_open(&r, &env_mj_hand_reach_class, NULL, 3);
    ck_assert(hand_max_abs(r.st->d->qvel, 24) < 0.5);
    for (int i = 0; i < r.task.spec.obs_size; i++) {
        ck_assert(isfinite(r.obs[i]));
    }
    hand_close(&r);
}
END_TEST

START_TEST(test_same_seed_same_trajectory) {
    const EnvClass *classes[] = {&env_mj_hand_block_class, &env_mj_hand_reach_class};
    for (int c = 0; c < 2; c++) {
        HandEnv a, b;
        hand_open(&a, classes[c], NULL, 77);
        hand_open(&b, classes[c], NULL, 77);
        size_t n = sizeof(float) * (size_t)a.task.spec.obs_size;
        ck_assert_mem_eq(a.obs, b.obs, n);
        AgRng r;
        ag_rng_seed(&r, 4, 4);
        float act[20];
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
}
END_TEST

START_TEST(test_reach_goal_pose_succeeds) {
    for (uint64_t seed = 1; seed <= 3; seed++) {
        HandEnv e;
        hand_open(&e, &env_mj_hand_reach_class, "{\"control\": \"absolute\"}", seed);
        /* the goal is reachable: it is where the fingertips are in the goal's joint pose */
        float a[20];
        for (int i = 0; i < 20; i++) {
            double half = 0.5 * (e.sh->act_hi[i] - e.sh->act_lo[i]);
            double centre = 0.5 * (e.sh->act_hi[i] + e.sh->act_lo[i]);
            a[i] = (float)((e.st->goal_ctrl[i] - centre) / half);
        }
        EnvStep st = hand_step(&e, a);
        ck_assert(st.reward < 0);
        ck_assert_int_eq(e.st->success, 0);
        for (int t = 0; t < 40; t++) {
            st = hand_step(&e, a);
        }
        ck_assert_msg(e.st->success == 1, "seed %d: reward %g", (int)seed, st.reward);
        ck_assert(st.reward > 0.1 - HAND_SUCCESS_DIST);
        ck_assert(hand_metric(&e) == 1.0f);
        /* success is per fingertip: every tip 1.5 cm off (3.4 cm over all five together) still
         * counts, one tip 2.5 cm off does not */
        for (int i = 0; i < 5; i++) {
            e.st->goal[3 * i] += 0.015;
        }
        hand_step(&e, a);
        ck_assert_int_eq(e.st->success, 1);
        e.st->goal[0] += 0.01;
        hand_step(&e, a);
        ck_assert_int_eq(e.st->success, 0);
        /* and staying at rest does not reach it */
        HandEnv idle;
        hand_open(&idle, &env_mj_hand_reach_class, "{\"control\": \"relative\"}", seed);
        float zero[20] = {0};
        for (int t = 0; t < 10; t++) {
            hand_step(&idle, zero);
        }
        ck_assert(hand_metric(&idle) == 0.0f);
        hand_close(&idle);
        hand_close(&e);
    }
}
END_TEST

START_TEST(test_free_reach_reward_terms) {
    HandEnv e;
    hand_open(&e, &env_mj_hand_free_reach_class, "{\"finger\": \"middle\"}", 2);
    ck_assert_int_eq(e.st->target_finger, 1);
    float zero[20] = {0};
    EnvStep st = hand_step(&e, zero);
    const mjData *d = e.st->d;
    const double *th = d->site_xpos + 3 * e.sh->tip_site[HAND_THUMB];
    double expect = 0;
    for (int i = 0; i < 4; i++) {
        const double *f = d->site_xpos + 3 * e.sh->tip_site[i];
        double dist = sqrt((f[0] - th[0]) * (f[0] - th[0]) + (f[1] - th[1]) * (f[1] - th[1]) +
                           (f[2] - th[2]) * (f[2] - th[2]));
        if (i == 1) {
            expect -= dist;
        } else if (dist < HAND_AUX_RADIUS) {
            expect -= HAND_AUX_WEIGHT * (HAND_AUX_RADIUS - dist);
        }
    }
    ck_assert_double_eq_tol(st.reward, expect, 1e-5);
    ck_assert_int_eq(e.st->success, 0);
    hand_close(&e);
}
END_TEST

/* distance between the thumb tip and fingertip f in the pose that actuator targets ask for */
static double hand_pose_gap(const EnvMjHandShared *sh, mjData *d, const double *ctrl, int f) {
    for (int a = 0; a < HAND_NACT; a++) {
        for (int k = 0; k < sh->act_nqpos[a]; k++) {
            d->qpos[sh->act_qpos[a][k]] = ctrl[a] / sh->act_nqpos[a];
        }
    }
    mj_kinematics(sh->m, d);
    const double *th = d->site_xpos + 3 * sh->tip_site[HAND_THUMB];
    const double *p = d->site_xpos + 3 * sh->tip_site[f];
    return sqrt((p[0] - th[0]) * (p[0] - th[0]) + (p[1] - th[1]) * (p[1] - th[1]) +
                (p[2] - th[2]) * (p[2] - th[2]));
}

START_TEST(test_thumb_meets_every_finger) {
    /* HandFreeReach is solvable: for each finger some actuator targets (coupled joints equal)
     * bring the thumb tip within the success distance; found by a seeded random descent */
    HandEnv e;
    hand_open(&e, &env_mj_hand_free_reach_class, NULL, 1);
    mjData *d = e.st->d;
    AgRng r;
    ag_rng_seed(&r, 99, 0);
    for (int f = 0; f < 4; f++) {
        double best = 1.0;
        for (int restart = 0; restart < 6 && best >= 0.5 * HAND_SUCCESS_DIST; restart++) {
            double c[HAND_NACT];
            for (int a = 0; a < HAND_NACT; a++) {
                c[a] = ag_rng_uniform_range(&r, e.sh->act_lo[a], e.sh->act_hi[a]);
            }
            double gap = hand_pose_gap(e.sh, d, c, f), step = 0.3;
            for (int it = 0; it < 2000; it++) {
                int a = (int)ag_rng_below(&r, HAND_NACT);
                double old = c[a];
                c[a] +=
                    step * ag_rng_uniform_range(&r, -1, 1) * (e.sh->act_hi[a] - e.sh->act_lo[a]);
                c[a] = c[a] < e.sh->act_lo[a] ? e.sh->act_lo[a] : c[a];
                c[a] = c[a] > e.sh->act_hi[a] ? e.sh->act_hi[a] : c[a];
                double g = hand_pose_gap(e.sh, d, c, f);
                if (g < gap) {
                    gap = g;
                } else {
                    c[a] = old;
                }
                if (it % 500 == 499) {
                    step *= 0.5;
                }
            }
            best = gap < best ? gap : best;
        }
        ck_assert_msg(best < 0.5 * HAND_SUCCESS_DIST, "finger %d: closest %g m", f, best);
    }
    hand_close(&e);
}
END_TEST

START_TEST(test_block_goal_counts_and_redraws) {
    HandEnv e;
    hand_open(&e, &env_mj_hand_block_class, NULL, 5);
    mjData *d = e.st->d;
    /* the block already is at the goal orientation */
    double old_goal[4];
    mju_copy4(e.st->goal, d->qpos + e.sh->obj_qpos + 3);
    mju_copy4(old_goal, e.st->goal);
    e.st->prev_dist = 0;
    float hold[20] = {0}; /* relative control: stay */
    EnvStep st = hand_step(&e, hold);
    ck_assert_int_eq(st.terminated, 0);
    ck_assert(st.reward > 5.0 - 0.4);
    ck_assert_int_eq(e.st->consecutive_goals, 1);
    ck_assert_int_eq(e.st->steps_since_goal, 0);
    ck_assert(memcmp(old_goal, e.st->goal, sizeof(old_goal)) != 0);
    ck_assert_mem_eq(d->mocap_quat + 4 * e.sh->goal_mocap, e.st->goal, 4 * sizeof(double));
    ck_assert(hand_metric(&e) == 1.0f);
    /* the observation shows the new goal */
    const EnvSensation *g = hand_sensation(&e, "goal");
    ck_assert(e.obs[g->offset] == (float)e.st->goal[0]);

    /* the 50th goal ends the episode */
    e.st->consecutive_goals = 49;
    mju_copy4(e.st->goal, d->qpos + e.sh->obj_qpos + 3);
    st = hand_step(&e, hold);
    ck_assert_int_eq(st.terminated, 1);
    ck_assert_int_eq(e.st->consecutive_goals, 50);
    hand_close(&e);
}
END_TEST

START_TEST(test_block_timeout_and_drop) {
    HandEnv e;
    hand_open(&e, &env_mj_hand_block_class, NULL, 6);
    mjData *d = e.st->d;
    /* a goal half a turn away that holding still never reaches: truncated at step 100 */
    double flip[4], x[3] = {1, 0, 0};
    mju_axisAngle2Quat(flip, x, mjPI);
    mju_mulQuat(e.st->goal, d->qpos + e.sh->obj_qpos + 3, flip);
    e.st->prev_dist = mjPI;
    float hold[20] = {0};
    double sum = 0;
    for (int t = 1; t <= 100; t++) {
        EnvStep st = hand_step(&e, hold);
        sum += st.reward;
        ck_assert_int_eq(st.terminated, 0);
        ck_assert_int_eq(st.truncated, t == 100);
    }
    ck_assert(fabs(sum) < 0.5); /* rewards are progress only */
    ck_assert(hand_metric(&e) == 0.0f);

    /* dropped: the block's centre below the palm ends the episode with -20 */
    e.task.cls->reset(&e.task, e.st, &e.rng, e.obs);
    d = e.st->d;
    double q[7];
    mju_copy(q, d->qpos + e.sh->obj_qpos, 7);
    q[0] = 0.3;
    q[2] = e.sh->drop_z - 0.05;
    mju_copy(d->qpos + e.sh->obj_qpos, q, 7);
    EnvStep st = hand_step(&e, hold);
    ck_assert_int_eq(st.terminated, 1);
    ck_assert(st.reward < -19.0 && st.reward > -21.0);
    hand_close(&e);
}
END_TEST

START_TEST(test_control_modes) {
    HandEnv e;
    hand_open(&e, &env_mj_hand_block_class, "{\"control\": \"relative\"}", 8);
    mjData *d = e.st->d;
    /* relative: action 0 targets the current position; +1 adds half the range, clipped */
    double pos[20];
    for (int a = 0; a < 20; a++) {
        pos[a] = 0;
        for (int k = 0; k < e.sh->act_nqpos[a]; k++) {
            pos[a] += d->qpos[e.sh->act_qpos[a][k]];
        }
    }
    float act[20] = {0};
    act[3] = 1.0f;
    hand_step(&e, act);
    for (int a = 0; a < 20; a++) {
        double want = a == 3 ? pos[a] + 0.5 * (e.sh->act_hi[a] - e.sh->act_lo[a]) : pos[a];
        want = want < e.sh->act_lo[a] ? e.sh->act_lo[a] : want;
        want = want > e.sh->act_hi[a] ? e.sh->act_hi[a] : want;
        ck_assert_double_eq_tol(d->ctrl[a], want, 1e-12);
    }
    hand_close(&e);
    hand_open(&e, &env_mj_hand_block_class, "{\"control\": \"absolute\"}", 8);
    memset(act, 0, sizeof(act));
    act[0] = -1.0f;
    hand_step(&e, act);
    ck_assert_double_eq_tol(e.st->d->ctrl[0], e.sh->act_lo[0], 1e-12);
    ck_assert_double_eq_tol(e.st->d->ctrl[1], 0.5 * (e.sh->act_lo[1] + e.sh->act_hi[1]), 1e-12);
    hand_close(&e);
}
END_TEST

START_TEST(test_unstable_is_reported) {
    HandEnv e;
    hand_open(&e, &env_mj_hand_block_class, NULL, 9);
    e.st->d->qvel[5] = NAN;
    float zero[20] = {0};
    EnvStep st = hand_step(&e, zero);
    ck_assert_int_eq(st.unstable, 1);
    ck_assert_int_eq(st.terminated, 1);
    for (int i = 0; i < e.task.spec.obs_size; i++) {
        ck_assert(isfinite(e.obs[i]));
    }
    e.task.cls->reset(&e.task, e.st, &e.rng, e.obs);
    st = hand_step(&e, zero);
    ck_assert_int_eq(st.unstable, 0);
    hand_close(&e);
}
END_TEST

START_TEST(test_snapshot_round_trip) {
    const EnvClass *classes[] = {&env_mj_hand_block_class, &env_mj_hand_reach_class,
                                 &env_mj_hand_free_reach_class};
    for (int c = 0; c < 3; c++) {
        HandEnv a, b;
        hand_open(&a, classes[c], "{\"asymmetric\": true}", 10);
        hand_open(&b, classes[c], "{\"asymmetric\": true}", 11);
        AgRng r;
        ag_rng_seed(&r, 2, 2);
        float act[20];
        for (int t = 0; t < 5; t++) {
            for (int i = 0; i < 20; i++) {
                act[i] = (float)ag_rng_uniform_range(&r, -0.3, 0.3);
            }
            hand_step(&a, act);
        }
        size_t n = classes[c]->snapshot_size(&a.task);
        /* at an offset no double may sit at, as inside a checkpoint blob */
        unsigned char *buf = malloc(n + 8);
        void *snap = buf + 4;
        classes[c]->snapshot_save(&a.task, a.st, snap);
        classes[c]->snapshot_load(&b.task, b.st, snap);
        b.rng = a.rng;
        for (int t = 0; t < 8; t++) {
            for (int i = 0; i < 20; i++) {
                act[i] = (float)ag_rng_uniform_range(&r, -0.3, 0.3);
            }
            EnvStep s1 = hand_step(&a, act), s2 = hand_step(&b, act);
            ck_assert_msg(s1.reward == s2.reward, "%s step %d", classes[c]->name, t);
            ck_assert_mem_eq(a.obs, b.obs, sizeof(float) * (size_t)a.task.spec.obs_size);
        }
        free(buf);
        hand_close(&a);
        hand_close(&b);
    }
}
END_TEST

START_TEST(test_block_pixels) {
    HandEnv e;
    hand_open(&e, &env_mj_hand_block_class, "{\"vision\": \"pixels\", \"image_size\": 48}", 12);
    const EnvSensation *v = hand_sensation(&e, "vision");
    ck_assert_ptr_nonnull(v);
    ck_assert_int_eq(v->shape[0], 3);
    ck_assert_int_eq(v->shape[1], 48);
    ck_assert_int_eq(v->shape[2], 48);
    int n = v->size;
    float *before = malloc(sizeof(float) * (size_t)n);
    float hold[20] = {0};
    hand_step(&e, hold);
    memcpy(before, e.obs + v->offset, sizeof(float) * (size_t)n);
    /* a real picture: values in [0, 1], not blank, several colours */
    double lo = 1, hi = 0;
    for (int i = 0; i < n; i++) {
        ck_assert(before[i] >= 0.0f && before[i] <= 1.0f);
        lo = before[i] < lo ? before[i] : lo;
        hi = before[i] > hi ? before[i] : hi;
    }
    ck_assert(hi - lo > 0.5);
    /* the goal cube is in the palm camera's field of view, and left out of the task's pixels:
     * they are what a renderer hiding the goal's geom group draws of the same state, and differ
     * from what one drawing every default group does */
    EnvMjRenderOptions hide = {.tiles = 1, .hidden_geom_groups = 1u << HAND_GOAL_GEOM_GROUP};
    EnvMjRenderOptions show = {.tiles = 1};
    EnvMjRenderer *hiding = NULL, *showing = NULL;
    char err[256] = "";
    ck_assert_int_eq(
        env_mj_renderer_create(e.sh->m, HAND_CAMERA, 48, 48, &hide, &hiding, err, sizeof(err)), 0);
    ck_assert_int_eq(
        env_mj_renderer_create(e.sh->m, HAND_CAMERA, 48, 48, &show, &showing, err, sizeof(err)), 0);
    float *hidden = malloc(sizeof(float) * (size_t)n), *shown = malloc(sizeof(float) * (size_t)n);
    ck_assert_int_eq(env_mj_render(hiding, e.sh->m, e.st->d, hidden), 0);
    ck_assert_int_eq(env_mj_render(showing, e.sh->m, e.st->d, shown), 0);
    double to_hidden = 0, to_shown = 0;
    for (int i = 0; i < n; i++) {
        to_hidden += fabs(hidden[i] - before[i]);
        to_shown += fabs(shown[i] - before[i]);
    }
    ck_assert_msg(to_hidden == 0.0 && to_shown > 5.0, "pixels vs goal hidden %g, vs shown %g",
                  to_hidden, to_shown);
    free(hidden);
    free(shown);
    env_mj_renderer_destroy(hiding);
    env_mj_renderer_destroy(showing);
    /* the same state renders the same picture */
    hand_step(&e, hold);
    double same = 0;
    for (int i = 0; i < n; i++) {
        same += fabs(e.obs[v->offset + i] - before[i]);
    }
    /* turn the block a quarter about x in place: another face (colour) looks at the camera */
    double *q = e.st->d->qpos + e.sh->obj_qpos + 3, turn[4], x[3] = {1, 0, 0}, r[4];
    mju_axisAngle2Quat(turn, x, 0.5 * mjPI);
    mju_mulQuat(r, turn, q);
    mju_copy4(q, r);
    hand_step(&e, hold);
    double diff = 0;
    for (int i = 0; i < n; i++) {
        diff += fabs(e.obs[v->offset + i] - before[i]);
    }
    ck_assert_msg(diff > 20.0 && diff > 10.0 * same, "diff %g same %g", diff, same);
    free(before);
    hand_close(&e);
}
END_TEST

/* pixels of a strong colour (the block's faces; the hand, palm and background are pale, white or
 * black) */
static int block_colour_pixels(const float *img, int side) {
    int n = 0, plane = side * side;
    for (int i = 0; i < plane; i++) {
        float r = img[i], g = img[plane + i], b = img[2 * plane + i];
        float hi = fmaxf(r, fmaxf(g, b)), lo = fminf(r, fminf(g, b));
        n += hi - lo > 0.5f;
    }
    return n;
}

/* task option camera_fovy: the palm camera's field of view, recorded as the sensation's view */
START_TEST(test_camera_fovy) {
    HandEnv wide, narrow;
    hand_open(&wide, &env_mj_hand_block_class, "{\"vision\": \"pixels\", \"image_size\": 32}", 3);
    hand_open(&narrow, &env_mj_hand_block_class,
              "{\"vision\": \"pixels\", \"image_size\": 32, \"camera_fovy\": 30}", 3);
    /* the default is the model's own camera: hand.xml's, as loaded without pixels */
    HandEnv pose;
    hand_open(&pose, &env_mj_hand_block_class, NULL, 3);
    int cam = mj_name2id(pose.sh->m, mjOBJ_CAMERA, HAND_CAMERA);
    ck_assert_int_ge(cam, 0);
    ck_assert_double_eq(pose.sh->m->cam_fovy[cam], HAND_CAMERA_FOVY);
    hand_close(&pose);
    ck_assert_double_eq(wide.sh->m->cam_fovy[cam], HAND_CAMERA_FOVY);
    ck_assert_str_eq(hand_sensation(&wide, "vision")->view, "palm_cam, fovy 45");
    ck_assert_str_eq(hand_sensation(&narrow, "vision")->view, "palm_cam, fovy 30");
    ck_assert_double_eq(narrow.sh->m->cam_fovy[cam], 30.0);
    /* the same scene (same seed) through a narrower lens: the block fills more of the picture,
     * by about (tan 22.5 / tan 15)^2 = 2.4 in area */
    float hold[20] = {0};
    hand_step(&wide, hold);
    hand_step(&narrow, hold);
    const EnvSensation *v = hand_sensation(&wide, "vision");
    int a = block_colour_pixels(wide.obs + v->offset, 32);
    int b = block_colour_pixels(narrow.obs + v->offset, 32);
    ck_assert_msg(a > 10 && b > 1.6 * a && b < 4 * a, "block pixels: fovy 45 %d, fovy 30 %d", a, b);
    /* vectors have no camera */
    ck_assert_str_eq(hand_sensation(&wide, "proprioception")->view, "");
    hand_close(&wide);
    hand_close(&narrow);
}
END_TEST

/* a batch renders every environment's pixels after all have stepped (images_defer /
 * images_render); its observations, final observations included, are those of the same
 * environments stepped one by one through the class, which render their own */
#define BATCH_ENVS  3
#define BATCH_STEPS 7

START_TEST(test_block_pixels_batch) {
    char err[256] = "";
    json_t *o = json_loads("{\"vision\": \"pixels\", \"image_size\": 24, "
                           "\"max_episode_steps\": 3}",
                           0, NULL);
    EnvTask task;
    ck_assert_msg(env_task_create(&task, "HandBlock", o, err, sizeof(err)) == 0, "%s", err);
    json_decref(o);
    const EnvClass *cls = task.cls;
    size_t n = (size_t)task.spec.obs_size;
    EnvBatch batch;
    ck_assert_int_eq(env_batch_create(&batch, &task, BATCH_ENVS, 5, 0, err, sizeof(err)), 0);
    float *obs = calloc(BATCH_ENVS * n, sizeof(float));
    float *final_obs = calloc(BATCH_ENVS * n, sizeof(float));
    float *one = calloc(BATCH_ENVS * n, sizeof(float));
    float actions[BATCH_ENVS * HAND_NACT], rewards[BATCH_ENVS];
    uint8_t terminated[BATCH_ENVS], truncated[BATCH_ENVS];
    void *states[BATCH_ENVS];
    AgRng rngs[BATCH_ENVS];
    env_batch_reset(&batch, obs);
    for (int i = 0; i < BATCH_ENVS; i++) {
        states[i] = calloc(1, cls->state_size);
        ck_assert_int_eq(cls->env_create(&task, states[i], err, sizeof(err)), 0);
        ag_rng_seed(&rngs[i], 5, (uint64_t)i);
        cls->reset(&task, states[i], &rngs[i], one + i * n);
    }
    ck_assert_mem_eq(obs, one, sizeof(float) * BATCH_ENVS * n);
    int ends = 0;
    for (int t = 0; t < BATCH_STEPS; t++) {
        for (int k = 0; k < BATCH_ENVS * HAND_NACT; k++) {
            actions[k] = (float)sin(0.7 * t + 0.3 * k);
        }
        env_batch_step(&batch, actions, obs, rewards, terminated, truncated, final_obs);
        for (int i = 0; i < BATCH_ENVS; i++) {
            EnvStep st;
            cls->step(&task, states[i], &rngs[i], actions + i * HAND_NACT, one + i * n, &st);
            ck_assert_float_eq(rewards[i], st.reward);
            if (terminated[i] || truncated[i]) {
                ck_assert_mem_eq(final_obs + i * n, one + i * n, sizeof(float) * n);
                cls->reset(&task, states[i], &rngs[i], one + i * n);
                ends++;
            }
            ck_assert_mem_eq(obs + i * n, one + i * n, sizeof(float) * n);
        }
    }
    ck_assert_int_ge(ends, BATCH_ENVS * 2);
    for (int i = 0; i < BATCH_ENVS; i++) {
        cls->env_destroy(&task, states[i]);
        free(states[i]);
    }
    free(obs);
    free(final_obs);
    free(one);
    env_batch_destroy(&batch);
    env_task_destroy(&task);
}
END_TEST

START_TEST(test_block_rests_when_held) {
    /* absolute control holding the rest pose: the block stays put on the palm for 2.4 s */
    for (uint64_t seed = 1; seed <= 3; seed++) {
        HandEnv e;
        hand_open(&e, &env_mj_hand_block_class, "{\"control\": \"absolute\"}", seed);
        float hold[20];
        for (int a = 0; a < 20; a++) {
            double rest = 0;
            for (int k = 0; k < e.sh->act_nqpos[a]; k++) {
                for (int j = 0; j < HAND_NJOINT; j++) {
                    if (e.sh->jnt_qpos[j] == e.sh->act_qpos[a][k]) {
                        rest += e.sh->rest[j];
                    }
                }
            }
            double half = 0.5 * (e.sh->act_hi[a] - e.sh->act_lo[a]);
            double centre = 0.5 * (e.sh->act_hi[a] + e.sh->act_lo[a]);
            hold[a] = (float)((rest - centre) / half);
        }
        const double *obj = e.st->d->qpos + e.sh->obj_qpos;
        double p0[7];
        mju_copy(p0, obj, 7);
        for (int t = 0; t < 30; t++) {
            ck_assert_int_eq(hand_step(&e, hold).terminated, 0);
        }
        double moved =
            sqrt((obj[0] - p0[0]) * (obj[0] - p0[0]) + (obj[1] - p0[1]) * (obj[1] - p0[1]) +
                 (obj[2] - p0[2]) * (obj[2] - p0[2]));
        double inv[4], rel[4];
        mju_negQuat(inv, p0 + 3);
        mju_mulQuat(rel, obj + 3, inv);
        double turned = 2 * acos(fmin(1.0, fabs(rel[0])));
        ck_assert_msg(moved < 0.003 && turned < 0.05, "seed %d: moved %g m, turned %g rad",
                      (int)seed, moved, turned);
        hand_close(&e);
    }
}
END_TEST

START_TEST(test_random_actions_stay_stable) {
    /* full-range random actions (absolute and relative) never break the simulation */
    static const char *const opts[] = {"{\"control\": \"absolute\"}",
                                       "{\"control\": \"relative\"}"};
    for (int o = 0; o < 2; o++) {
        HandEnv e;
        hand_open(&e, &env_mj_hand_block_class, opts[o], 20 + (uint64_t)o);
        AgRng r;
        ag_rng_seed(&r, 8, (uint64_t)o);
        float act[20];
        for (int t = 0; t < 150; t++) {
            for (int i = 0; i < 20; i++) {
                act[i] = (float)ag_rng_uniform_range(&r, -1, 1);
            }
            EnvStep st = hand_step(&e, act);
            ck_assert_int_eq(st.unstable, 0);
            ck_assert(isfinite(st.reward));
            if (st.terminated || st.truncated) {
                e.task.cls->reset(&e.task, e.st, &e.rng, e.obs);
            }
        }
        hand_close(&e);
    }
}
END_TEST

START_TEST(test_batch_resume_is_identical) {
    /* a batch of HandBlock environments saved mid-run and restored into a new batch continues
     * with the same rewards and observations (episode ends and goal draws included) */
    char err[256] = "";
    EnvTask task;
    ck_assert_msg(env_task_create(&task, "HandBlock", NULL, err, sizeof(err)) == 0, "%s", err);
    EnvBatch a, b;
    ck_assert_int_eq(env_batch_create(&a, &task, 2, 5, 0, err, sizeof(err)), 0);
    ck_assert_int_eq(env_batch_create(&b, &task, 2, 6, 0, err, sizeof(err)), 0);
    int n = task.spec.obs_size;
    float *oa = calloc((size_t)(2 * n), sizeof(float)),
          *ob = calloc((size_t)(2 * n), sizeof(float));
    float *fa = calloc((size_t)(2 * n), sizeof(float)),
          *fb = calloc((size_t)(2 * n), sizeof(float));
    float act[40], ra[2], rb[2];
    uint8_t ta[2], tb[2], ua[2], ub[2];
    AgRng r;
    ag_rng_seed(&r, 3, 3);
    env_batch_reset(&a, oa);
    env_batch_reset(&b, ob);
    for (int t = 0; t < 15; t++) {
        for (int i = 0; i < 40; i++) {
            act[i] = (float)ag_rng_uniform_range(&r, -1, 1);
        }
        env_batch_step(&a, act, oa, ra, ta, ua, fa);
    }
    size_t size = env_batch_snapshot_size(&a);
    void *snap = malloc(size);
    env_batch_snapshot_save(&a, snap);
    ck_assert_int_eq(env_batch_snapshot_load(&b, snap, size), 0);
    memcpy(ob, oa, sizeof(float) * (size_t)(2 * n));
    for (int t = 0; t < 40; t++) {
        for (int i = 0; i < 40; i++) {
            act[i] = (float)ag_rng_uniform_range(&r, -1, 1);
        }
        env_batch_step(&a, act, oa, ra, ta, ua, fa);
        env_batch_step(&b, act, ob, rb, tb, ub, fb);
        ck_assert(ra[0] == rb[0] && ra[1] == rb[1]);
        ck_assert(ta[0] == tb[0] && ta[1] == tb[1] && ua[0] == ub[0] && ua[1] == ub[1]);
        ck_assert_mem_eq(oa, ob, sizeof(float) * (size_t)(2 * n));
    }
    free(snap);
    free(oa);
    free(ob);
    free(fa);
    free(fb);
    env_batch_destroy(&a);
    env_batch_destroy(&b);
    env_task_destroy(&task);
}
END_TEST

/* the task variables: names and sizes per task, read from the state they describe */
START_TEST(test_task_vars) {
    static const char *const reach[] = {"joint_angles",   "joint_velocities", "fingertip_positions",
                                        "goal_positions", "success",          NULL};
    static const char *const free_reach[] = {
        "joint_angles",  "joint_velocities", "fingertip_positions",
        "target_finger", "success",          NULL};
    static const char *const block[] = {"joint_angles",
                                        "joint_velocities",
                                        "fingertip_positions",
                                        "object_position",
                                        "object_quaternion",
                                        "object_velocity",
                                        "goal_quaternion",
                                        "goal_distance",
                                        "steps_since_goal",
                                        "consecutive_goals",
                                        NULL};
    const EnvClass *classes[3] = {&env_mj_hand_reach_class, &env_mj_hand_free_reach_class,
                                  &env_mj_hand_block_class};
    const char *const *want[3] = {reach, free_reach, block};
    for (int t = 0; t < 3; t++) {
        HandEnv e;
        hand_open(&e, classes[t], "{\"fingertips\": true}", 9);
        EnvTaskVars v;
        env_task_vars_describe(&e.task, &v);
        int n = 0;
        while (want[t][n]) {
            ck_assert_str_eq(v.vars[n].name, want[t][n]);
            n++;
        }
        ck_assert_int_eq(v.count, n);
        ck_assert_int_eq(v.vars[0].dim, HAND_NJOINT);
        ck_assert_int_eq(v.vars[v.count - 1].offset + v.vars[v.count - 1].dim, v.size);
        float hold[HAND_NACT] = {0};
        hand_step(&e, hold);
        float *out = calloc((size_t)v.size, sizeof(float));
        e.task.cls->task_variables(&e.task, e.st, out);
        const mjData *d = e.st->d;
        for (int j = 0; j < HAND_NJOINT; j++) {
            ck_assert_float_eq(out[j], (float)d->qpos[e.sh->jnt_qpos[j]]);
            ck_assert_float_eq(out[HAND_NJOINT + j], (float)d->qvel[e.sh->jnt_dof[j]]);
        }
        /* the fingertips are what the actor sees */
        const EnvSensation *tips = hand_sensation(&e, "fingertips");
        ck_assert_mem_eq(out + v.vars[2].offset, e.obs + tips->offset, 15 * sizeof(float));
        ck_assert_str_eq(v.vars[2].dim_names[14], "th.z");
        if (t == 0) {
            ck_assert_float_eq(out[v.vars[3].offset + 4], (float)e.st->goal[4]);
            ck_assert_float_eq(out[v.size - 1], (float)e.st->success);
        } else if (t == 1) {
            ck_assert_float_eq(out[v.vars[3].offset], (float)e.st->target_finger);
        } else {
            ck_assert_float_eq(out[v.vars[4].offset + 3], (float)d->qpos[e.sh->obj_qpos + 6]);
            ck_assert_str_eq(v.vars[4].dim_names[0], "w");
            ck_assert_float_eq(out[v.vars[6].offset], (float)e.st->goal[0]);
            ck_assert_float_eq(out[v.vars[7].offset], (float)e.st->prev_dist);
            e.st->consecutive_goals = 7;
            e.task.cls->task_variables(&e.task, e.st, out);
            ck_assert_float_eq(out[v.size - 1], 7.0f);
        }
        free(out);
        hand_close(&e);
    }
}
END_TEST

static Suite *hand_suite(void) {
    Suite *s = suite_create("mj_hand");
    TCase *tc = tcase_create("hand");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_hand_model_structure);
    tcase_add_test(tc, test_block_scene_structure);
    tcase_add_test(tc, test_specs_and_options);
    tcase_add_test(tc, test_resets_are_settled);
    tcase_add_test(tc, test_same_seed_same_trajectory);
    tcase_add_test(tc, test_reach_goal_pose_succeeds);
    tcase_add_test(tc, test_free_reach_reward_terms);
    tcase_add_test(tc, test_thumb_meets_every_finger);
    tcase_add_test(tc, test_block_goal_counts_and_redraws);
    tcase_add_test(tc, test_block_timeout_and_drop);
    tcase_add_test(tc, test_control_modes);
    tcase_add_test(tc, test_unstable_is_reported);
    tcase_add_test(tc, test_snapshot_round_trip);
    tcase_add_test(tc, test_batch_resume_is_identical);
    tcase_add_test(tc, test_block_pixels);
    tcase_add_test(tc, test_camera_fovy);
    tcase_add_test(tc, test_block_pixels_batch);
    tcase_add_test(tc, test_block_rests_when_held);
    tcase_add_test(tc, test_random_actions_stay_stable);
    tcase_add_test(tc, test_task_vars);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) {
    SRunner *sr = srunner_create(hand_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
