/* Checks the nine locomotion models in server/envs/models against the facts of Gymnasium's v4
 * asset files (gymnasium/envs/mujoco/assets, as shipped with the v4 environments) compiled by
 * MuJoCo 2.2.2: sizes, body count, timestep, integrator and solver, total mass, actuator gears
 * and control ranges, joint limits. Every number is compared exactly (==): the values below are
 * the doubles the compiler produces from Gymnasium's files, where angles written in degrees are
 * converted as the compiler converts them (DEG). Loaded this way, Gymnasium's files and ours
 * compile to the same model and simulate the same, bit for bit (docs/tasks.md). */
#include "mj_runtime.h"

#include <check.h>
#include <stdlib.h>

/* degrees to radians as MuJoCo's compiler does it for angle="degree" */
#define DEG(x) ((x) * (mjPI / 180.0))

typedef struct ModelFacts {
    const char *file;
    int nq, nv, nu;
    int nbody; /* world included */
    int njnt;
    double timestep;
    int integrator, solver, iterations;
    double total_mass;       /* mj_getTotalmass */
    const double *gear;      /* nu: first gear component of each motor */
    const double *ctrl;      /* nu x 2: control range, every motor ctrllimited */
    const int *limited;      /* njnt */
    const double *jnt_range; /* njnt x 2: 0 0 for unlimited joints */
} ModelFacts;

static const double ip_gear[] = {100};
static const double ip_ctrl[] = {-3, 3};
static const int ip_limited[] = {1, 1};
static const double ip_range[] = {-1, 1, DEG(-90), DEG(90)};

static const double idp_gear[] = {500};
static const double idp_ctrl[] = {-1, 1};
static const int idp_limited[] = {1, 0, 0};
static const double idp_range[] = {-1, 1, 0, 0, 0, 0};

static const double reacher_gear[] = {200, 200};
static const double reacher_ctrl[] = {-1, 1, -1, 1};
static const int reacher_limited[] = {0, 1, 1, 1};
static const double reacher_range[] = {0, 0, -3, 3, -0.27, 0.27, -0.27, 0.27};

static const double swimmer_gear[] = {150, 150};
static const double swimmer_ctrl[] = {-1, 1, -1, 1};
static const int swimmer_limited[] = {0, 0, 0, 1, 1};
static const double swimmer_range[] = {0, 0, 0, 0, 0, 0, DEG(-100), DEG(100), DEG(-100), DEG(100)};

/* Hopper and Walker2d: rootx, rootz, rooty, then thigh, leg, foot (each leg) */
static const double hopper_gear[] = {200, 200, 200};
static const double hopper_ctrl[] = {-1, 1, -1, 1, -1, 1};
static const int hopper_limited[] = {0, 0, 0, 1, 1, 1};
static const double hopper_range[] = {0,         0, 0,         0, 0,        0,
                                      DEG(-150), 0, DEG(-150), 0, DEG(-45), DEG(45)};

static const double cheetah_gear[] = {120, 90, 60, 120, 60, 30};
static const double cheetah_ctrl[] = {-1, 1, -1, 1, -1, 1, -1, 1, -1, 1, -1, 1};
static const int cheetah_limited[] = {0, 0, 0, 1, 1, 1, 1, 1, 1};
static const double cheetah_range[] = {0,     0,    0,     0,  0,   0,    -0.52, 1.05, -0.785,
                                       0.785, -0.4, 0.785, -1, 0.7, -1.2, 0.87,  -0.5, 0.5};

static const double walker_gear[] = {100, 100, 100, 100, 100, 100};
static const double walker_ctrl[] = {-1, 1, -1, 1, -1, 1, -1, 1, -1, 1, -1, 1};
static const int walker_limited[] = {0, 0, 0, 1, 1, 1, 1, 1, 1};
static const double walker_range[] = {0,         0, 0,         0, 0,        0,
                                      DEG(-150), 0, DEG(-150), 0, DEG(-45), DEG(45),
                                      DEG(-150), 0, DEG(-150), 0, DEG(-45), DEG(45)};

/* Ant: the free root, then hip and ankle of legs 1..4; motors in Gymnasium's order 4, 1, 2, 3 */
static const double ant_gear[] = {150, 150, 150, 150, 150, 150, 150, 150};
static const double ant_ctrl[] = {-1, 1, -1, 1, -1, 1, -1, 1, -1, 1, -1, 1, -1, 1, -1, 1};
static const int ant_limited[] = {0, 1, 1, 1, 1, 1, 1, 1, 1};
static const double ant_range[] = {0,        0,        DEG(-30), DEG(30),  DEG(30),  DEG(70),
                                   DEG(-30), DEG(30),  DEG(-70), DEG(-30), DEG(-30), DEG(30),
                                   DEG(-70), DEG(-30), DEG(-30), DEG(30),  DEG(30),  DEG(70)};

/* Humanoid: root, abdomen z y x, right hip x z y, knee, left hip x z y, knee, right shoulder
 * 1 2, elbow, left shoulder 1 2, elbow; motors abdomen y z x, then as the joints */
static const double humanoid_gear[] = {100, 100, 100, 100, 100, 300, 200, 100, 100,
                                       300, 200, 25,  25,  25,  25,  25,  25};
static const double humanoid_ctrl[] = {-0.4, 0.4,  -0.4, 0.4,  -0.4, 0.4,  -0.4, 0.4,  -0.4,
                                       0.4,  -0.4, 0.4,  -0.4, 0.4,  -0.4, 0.4,  -0.4, 0.4,
                                       -0.4, 0.4,  -0.4, 0.4,  -0.4, 0.4,  -0.4, 0.4,  -0.4,
                                       0.4,  -0.4, 0.4,  -0.4, 0.4,  -0.4, 0.4};
static const int humanoid_limited[] = {0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1};
static const double humanoid_range[] = {
    0,        0,        DEG(-45),  DEG(45),   DEG(-75),  DEG(30),   DEG(-35), DEG(35),  DEG(-25),
    DEG(5),   DEG(-60), DEG(35),   DEG(-110), DEG(20),   DEG(-160), DEG(-2),  DEG(-25), DEG(5),
    DEG(-60), DEG(35),  DEG(-110), DEG(20),   DEG(-160), DEG(-2),   DEG(-85), DEG(60),  DEG(-85),
    DEG(60),  DEG(-90), DEG(50),   DEG(-60),  DEG(85),   DEG(-60),  DEG(85),  DEG(-90), DEG(50)};

/* solver: MuJoCo's default (Newton) except the Humanoid's PGS with 50 iterations; total masses
 * come from the geoms (inertiafromgeom; Ant's density 5, HalfCheetah scaled by
 * settotalmass 14) and are the compiler's sums to the last bit */
static const ModelFacts facts[] = {
    {"inverted_pendulum.xml", 2, 2, 1, 3, 2, 0.02, mjINT_RK4, mjSOL_NEWTON, 100, 15.490567153329286,
     ip_gear, ip_ctrl, ip_limited, ip_range},
    {"inverted_double_pendulum.xml", 3, 3, 1, 4, 3, 0.01, mjINT_RK4, mjSOL_NEWTON, 100,
     18.869452675011495, idp_gear, idp_ctrl, idp_limited, idp_range},
    {"reacher.xml", 4, 4, 2, 5, 4, 0.01, mjINT_RK4, mjSOL_NEWTON, 100, 0.07845185174544432,
     reacher_gear, reacher_ctrl, reacher_limited, reacher_range},
    {"swimmer.xml", 5, 5, 2, 4, 5, 0.01, mjINT_RK4, mjSOL_NEWTON, 100, 106.81415022205297,
     swimmer_gear, swimmer_ctrl, swimmer_limited, swimmer_range},
    {"hopper.xml", 6, 6, 3, 5, 6, 0.002, mjINT_RK4, mjSOL_NEWTON, 100, 15.820013405927003,
     hopper_gear, hopper_ctrl, hopper_limited, hopper_range},
    {"half_cheetah.xml", 9, 9, 6, 8, 9, 0.01, mjINT_EULER, mjSOL_NEWTON, 100, 14.000000000000002,
     cheetah_gear, cheetah_ctrl, cheetah_limited, cheetah_range},
    {"walker2d.xml", 9, 9, 6, 8, 9, 0.002, mjINT_RK4, mjSOL_NEWTON, 100, 23.677136632555076,
     walker_gear, walker_ctrl, walker_limited, walker_range},
    {"ant.xml", 15, 14, 8, 14, 9, 0.01, mjINT_RK4, mjSOL_NEWTON, 100, 0.9108800827073915, ant_gear,
     ant_ctrl, ant_limited, ant_range},
    {"humanoid.xml", 24, 23, 17, 14, 18, 0.003, mjINT_RK4, mjSOL_PGS, 50, 42.11603049212989,
     humanoid_gear, humanoid_ctrl, humanoid_limited, humanoid_range},
};

#define NFACTS ((int)(sizeof(facts) / sizeof(facts[0])))

START_TEST(test_model_matches_gymnasium) {
    const ModelFacts *f = &facts[_i];
    char err[512] = "";
    mjModel *m = NULL;
    ck_assert_msg(env_mj_model_load(f->file, &m, err, sizeof(err)) == 0, "%s: %s", f->file, err);

    /* sizes */
    ck_assert_msg(m->nq == f->nq && m->nv == f->nv && m->nu == f->nu,
                  "%s: nq %d nv %d nu %d, Gymnasium %d %d %d", f->file, m->nq, m->nv, m->nu, f->nq,
                  f->nv, f->nu);
    ck_assert_msg(m->nbody == f->nbody && m->njnt == f->njnt,
                  "%s: %d bodies %d joints, Gymnasium %d %d", f->file, m->nbody, m->njnt, f->nbody,
                  f->njnt);

    /* simulation options */
    ck_assert_msg(m->opt.timestep == f->timestep, "%s: timestep %.17g, Gymnasium %.17g", f->file,
                  m->opt.timestep, f->timestep);
    ck_assert_msg(m->opt.integrator == f->integrator, "%s: integrator %d, Gymnasium %d", f->file,
                  m->opt.integrator, f->integrator);
    ck_assert_msg(m->opt.solver == f->solver, "%s: solver %d, Gymnasium %d", f->file, m->opt.solver,
                  f->solver);
    ck_assert_msg(m->opt.iterations == f->iterations, "%s: %d iterations, Gymnasium %d", f->file,
                  m->opt.iterations, f->iterations);

    /* mass, to the last bit */
    double mass = mj_getTotalmass(m);
    ck_assert_msg(mass == f->total_mass, "%s: total mass %.17g, Gymnasium %.17g", f->file, mass,
                  f->total_mass);

    /* motors: gear and control range */
    for (int i = 0; i < m->nu; i++) {
        ck_assert_msg(m->actuator_gear[6 * i] == f->gear[i],
                      "%s: motor %d gear %.17g, Gymnasium %g", f->file, i, m->actuator_gear[6 * i],
                      f->gear[i]);
        ck_assert_msg(m->actuator_ctrllimited[i] == 1, "%s: motor %d not ctrllimited", f->file, i);
        for (int k = 0; k < 2; k++) {
            ck_assert_msg(m->actuator_ctrlrange[2 * i + k] == f->ctrl[2 * i + k],
                          "%s: motor %d ctrlrange[%d] %.17g, Gymnasium %.17g", f->file, i, k,
                          m->actuator_ctrlrange[2 * i + k], f->ctrl[2 * i + k]);
        }
    }

    /* joint limits */
    for (int j = 0; j < m->njnt; j++) {
        ck_assert_msg(m->jnt_limited[j] == f->limited[j], "%s: joint %d limited %d, Gymnasium %d",
                      f->file, j, m->jnt_limited[j], f->limited[j]);
        for (int k = 0; k < 2; k++) {
            ck_assert_msg(m->jnt_range[2 * j + k] == f->jnt_range[2 * j + k],
                          "%s: joint %d range[%d] %.17g, Gymnasium %.17g", f->file, j, k,
                          m->jnt_range[2 * j + k], f->jnt_range[2 * j + k]);
        }
    }
    mj_deleteModel(m);
}
END_TEST

START_TEST(test_degree_conversion_is_the_compilers) {
    /* DEG above must give what the compiler gives for angle="degree": these two literals are
     * Hopper's -150 and 45 degree limits as compiled from Gymnasium's file */
    char err[512] = "";
    mjModel *m = NULL;
    ck_assert_int_eq(env_mj_model_load("hopper.xml", &m, err, sizeof(err)), 0);
    ck_assert(m->jnt_range[2 * 3] == -2.6179938779914944);
    ck_assert(m->jnt_range[2 * 5 + 1] == 0.78539816339744828);
    mj_deleteModel(m);
}
END_TEST

static Suite *model_facts_suite(void) {
    Suite *s = suite_create("mj_model_facts");
    TCase *tc = tcase_create("facts");
    tcase_set_timeout(tc, 60);
    tcase_add_loop_test(tc, test_model_matches_gymnasium, 0, NFACTS);
    tcase_add_test(tc, test_degree_conversion_is_the_compilers);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) {
    SRunner *sr = srunner_create(model_facts_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
