/* Classic control tasks in plain C with the equations, constants, limits, rewards, initial
 * states and episode limits of Gymnasium's classic_control versions: CartPole-v1, Acrobot-v1,
 * Pendulum-v1 and MountainCarContinuous-v0, plus CartPoleNoVel and PendulumNoVel, which hide the
 * velocities so that only a policy with memory can solve them. Each observes one sensation,
 * "state". States are doubles where Gymnasium uses float64; observations are floats.
 *
 * One difference by design: the batch clips box actions to their bounds before the task sees
 * them, so MountainCarContinuous's action penalty uses the clipped force (Gymnasium squares the
 * raw action).
 */
#include "classic.h"

#include "ag_error.h"
#include "ag_json.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define CLASSIC_PI 3.14159265358979323846

/* ---- shared helpers ---- */

static int classic_json_error(const AgJsonErr *je, char *err, size_t err_sz) {
    char msg[AG_JSON_PATH_MAX + AG_JSON_REASON_MAX];
    ag_json_err_format(je, msg, sizeof msg);
    return ag_errorf(err, err_sz, AG_ESPEC, "%s", msg);
}

/* a task without options still refuses every key it is given */
static int classic_options_none(const json_t *options, char *err, size_t err_sz) {
    static const char *const allowed[] = {NULL};
    AgJsonErr je;
    if (options && ag_json_check_keys(options, ENV_OPTIONS_PATH, allowed, &je) != AG_OK) {
        return classic_json_error(&je, err, err_sz);
    }
    return AG_OK;
}

static void classic_spec_vector(EnvSpec *spec, int obs_n, int max_steps, double dt) {
    memset(spec, 0, sizeof *spec);
    env_spec_add_sensation(spec, "state", obs_n, 1, 1, 0);
    spec->max_episode_steps = max_steps;
    spec->control_dt = dt;
}

static void classic_spec_discrete(EnvSpec *spec, int choices) {
    spec->action_kind = ENV_ACTION_DISCRETE;
    spec->action_dim = 1;
    spec->action_choices[0] = choices;
}

static void classic_spec_box(EnvSpec *spec, float low, float high) {
    spec->action_kind = ENV_ACTION_BOX;
    spec->action_dim = 1;
    spec->action_low[0] = low;
    spec->action_high[0] = high;
}

static void classic_task_free(EnvTask *task) {
    free(task->shared);
    task->shared = NULL;
}

/* ---- CartPole-v1 (Barto, Sutton and Anderson; explicit Euler, tau 0.02) ---- */

typedef struct EnvCartPole {
    double x, x_dot, theta, theta_dot;
} EnvCartPole;

#define CARTPOLE_GRAVITY   9.8
#define CARTPOLE_MASSCART  1.0
#define CARTPOLE_MASSPOLE  0.1
#define CARTPOLE_LENGTH    0.5 /* half the pole's length */
#define CARTPOLE_FORCE_MAG 10.0
#define CARTPOLE_TAU       0.02
#define CARTPOLE_X_LIMIT   2.4
#define CARTPOLE_MAX_STEPS 500

static int env_cartpole_task_create(EnvTask *task, const json_t *options, char *err,
                                    size_t err_sz) {
    int rc = classic_options_none(options, err, err_sz);
    if (rc != AG_OK) {
        return rc;
    }
    classic_spec_vector(&task->spec, 4, CARTPOLE_MAX_STEPS, CARTPOLE_TAU);
    classic_spec_discrete(&task->spec, 2);
    return AG_OK;
}

static int env_cartpole_novel_task_create(EnvTask *task, const json_t *options, char *err,
                                          size_t err_sz) {
    int rc = classic_options_none(options, err, err_sz);
    if (rc != AG_OK) {
        return rc;
    }
    classic_spec_vector(&task->spec, 2, CARTPOLE_MAX_STEPS, CARTPOLE_TAU);
    classic_spec_discrete(&task->spec, 2);
    return AG_OK;
}

static void env_cartpole_init(EnvCartPole *s, AgRng *rng) {
    s->x = ag_rng_uniform_range(rng, -0.05, 0.05);
    s->x_dot = ag_rng_uniform_range(rng, -0.05, 0.05);
    s->theta = ag_rng_uniform_range(rng, -0.05, 0.05);
    s->theta_dot = ag_rng_uniform_range(rng, -0.05, 0.05);
}

/* one step of the dynamics in Gymnasium's operation order; returns 1 when the episode ends */
static int env_cartpole_advance(EnvCartPole *s, float action) {
    const double total_mass = CARTPOLE_MASSPOLE + CARTPOLE_MASSCART;
    const double polemass_length = CARTPOLE_MASSPOLE * CARTPOLE_LENGTH;
    const double theta_limit = 12 * 2 * CLASSIC_PI / 360;
    double force = action >= 0.5f ? CARTPOLE_FORCE_MAG : -CARTPOLE_FORCE_MAG;
    double costheta = cos(s->theta);
    double sintheta = sin(s->theta);
    double temp = (force + polemass_length * (s->theta_dot * s->theta_dot) * sintheta) / total_mass;
    double thetaacc =
        (CARTPOLE_GRAVITY * sintheta - costheta * temp) /
        (CARTPOLE_LENGTH * (4.0 / 3.0 - CARTPOLE_MASSPOLE * (costheta * costheta) / total_mass));
    double xacc = temp - polemass_length * thetaacc * costheta / total_mass;
    s->x = s->x + CARTPOLE_TAU * s->x_dot;
    s->x_dot = s->x_dot + CARTPOLE_TAU * xacc;
    s->theta = s->theta + CARTPOLE_TAU * s->theta_dot;
    s->theta_dot = s->theta_dot + CARTPOLE_TAU * thetaacc;
    return s->x < -CARTPOLE_X_LIMIT || s->x > CARTPOLE_X_LIMIT || s->theta < -theta_limit ||
           s->theta > theta_limit;
}

static void env_cartpole_obs(const EnvCartPole *s, float *obs) {
    obs[0] = (float)s->x;
    obs[1] = (float)s->x_dot;
    obs[2] = (float)s->theta;
    obs[3] = (float)s->theta_dot;
}

static void env_cartpole_novel_obs(const EnvCartPole *s, float *obs) {
    obs[0] = (float)s->x;
    obs[1] = (float)s->theta;
}

static void env_cartpole_reset(const EnvTask *task, void *state, AgRng *rng, float *obs) {
    (void)task;
    env_cartpole_init(state, rng);
    env_cartpole_obs(state, obs);
}

static void env_cartpole_novel_reset(const EnvTask *task, void *state, AgRng *rng, float *obs) {
    (void)task;
    env_cartpole_init(state, rng);
    env_cartpole_novel_obs(state, obs);
}

static void env_cartpole_step(const EnvTask *task, void *state, AgRng *rng, const float *action,
                              float *obs, EnvStep *out) {
    (void)task;
    (void)rng;
    out->terminated = (uint8_t)env_cartpole_advance(state, action[0]);
    out->reward = 1.0f; /* the terminating step is rewarded too */
    env_cartpole_obs(state, obs);
}

static void env_cartpole_novel_step(const EnvTask *task, void *state, AgRng *rng,
                                    const float *action, float *obs, EnvStep *out) {
    (void)task;
    (void)rng;
    out->terminated = (uint8_t)env_cartpole_advance(state, action[0]);
    out->reward = 1.0f;
    env_cartpole_novel_obs(state, obs);
}

/* the task variables: named as MuJoCo's InvertedPendulum names them (mj_runtime.h), the pole a
 * hinge and the cart a slide */
static void env_cartpole_vars_describe(const EnvTask *task, EnvTaskVars *vars) {
    static const char *const pole = "pole", *const cart = "cart";
    (void)task;
    EnvTaskVar *v[4] = {env_task_vars_add(vars, "joint_angles", 1, "rad"),
                        env_task_vars_add(vars, "joint_velocities", 1, "rad/s"),
                        env_task_vars_add(vars, "slide_positions", 1, "m"),
                        env_task_vars_add(vars, "slide_velocities", 1, "m/s")};
    for (int i = 0; i < 4; i++) {
        if (v[i]) {
            v[i]->dim_names[0] = i < 2 ? pole : cart;
        }
    }
}

static void env_cartpole_vars(const EnvTask *task, const void *state, float *out) {
    const EnvCartPole *s = state;
    (void)task;
    out[0] = (float)s->theta;
    out[1] = (float)s->theta_dot;
    out[2] = (float)s->x;
    out[3] = (float)s->x_dot;
}

const EnvClass env_cartpole_class = {
    .name = "CartPole",
    .summary = "Balance a pole on a cart by pushing it left or right (Gymnasium CartPole-v1)",
    .state_size = sizeof(EnvCartPole),
    .task_create = env_cartpole_task_create,
    .reset = env_cartpole_reset,
    .step = env_cartpole_step,
    .task_variables_describe = env_cartpole_vars_describe,
    .task_variables = env_cartpole_vars,
};

const EnvClass env_cartpole_novel_class = {
    .name = "CartPoleNoVel",
    .summary = "CartPole-v1 seeing only cart position and pole angle: needs memory",
    .state_size = sizeof(EnvCartPole),
    .task_create = env_cartpole_novel_task_create,
    .reset = env_cartpole_novel_reset,
    .step = env_cartpole_novel_step,
    .task_variables_describe = env_cartpole_vars_describe,
    .task_variables = env_cartpole_vars,
};

/* ---- Acrobot-v1 (Sutton and Barto's book dynamics, one RK4 step of 0.2 s) ---- */

typedef struct EnvAcrobot {
    double s[4]; /* theta1, theta2, dtheta1, dtheta2 */
    int reached; /* the tip rose above the line */
    int pad_;
} EnvAcrobot;

#define ACROBOT_DT        0.2
#define ACROBOT_MAX_STEPS 500
#define ACROBOT_MAX_VEL_1 (4 * CLASSIC_PI)
#define ACROBOT_MAX_VEL_2 (9 * CLASSIC_PI)

static int env_acrobot_task_create(EnvTask *task, const json_t *options, char *err, size_t err_sz) {
    int rc = classic_options_none(options, err, err_sz);
    if (rc != AG_OK) {
        return rc;
    }
    classic_spec_vector(&task->spec, 6, ACROBOT_MAX_STEPS, ACROBOT_DT);
    classic_spec_discrete(&task->spec, 3);
    env_spec_add_metric(&task->spec, "success");
    return AG_OK;
}

/* time derivative of (theta1, theta2, dtheta1, dtheta2) under torque a */
static void env_acrobot_dsdt(const double *s, double a, double *ds) {
    const double m1 = 1.0, m2 = 1.0, l1 = 1.0, lc1 = 0.5, lc2 = 0.5, i1 = 1.0, i2 = 1.0;
    const double g = 9.8;
    double theta1 = s[0], theta2 = s[1], dtheta1 = s[2], dtheta2 = s[3];
    double cos2 = cos(theta2), sin2 = sin(theta2);
    double d1 = m1 * (lc1 * lc1) + m2 * (l1 * l1 + lc2 * lc2 + 2 * l1 * lc2 * cos2) + i1 + i2;
    double d2 = m2 * (lc2 * lc2 + l1 * lc2 * cos2) + i2;
    double phi2 = m2 * lc2 * g * cos(theta1 + theta2 - CLASSIC_PI / 2.0);
    double phi1 = -m2 * l1 * lc2 * (dtheta2 * dtheta2) * sin2 -
                  2 * m2 * l1 * lc2 * dtheta2 * dtheta1 * sin2 +
                  (m1 * lc1 + m2 * l1) * g * cos(theta1 - CLASSIC_PI / 2) + phi2;
    double ddtheta2 = (a + d2 / d1 * phi1 - m2 * l1 * lc2 * (dtheta1 * dtheta1) * sin2 - phi2) /
                      (m2 * (lc2 * lc2) + i2 - (d2 * d2) / d1);
    double ddtheta1 = -(d2 * ddtheta2 + phi1) / d1;
    ds[0] = dtheta1;
    ds[1] = dtheta2;
    ds[2] = ddtheta1;
    ds[3] = ddtheta2;
}

static double env_acrobot_wrap(double x, double m, double big) {
    double diff = big - m;
    while (x > big) {
        x = x - diff;
    }
    while (x < m) {
        x = x + diff;
    }
    return x;
}

static double env_acrobot_bound(double x, double m, double big) {
    return x < m ? m : (x > big ? big : x);
}

static void env_acrobot_obs(const EnvAcrobot *st, float *obs) {
    obs[0] = (float)cos(st->s[0]);
    obs[1] = (float)sin(st->s[0]);
    obs[2] = (float)cos(st->s[1]);
    obs[3] = (float)sin(st->s[1]);
    obs[4] = (float)st->s[2];
    obs[5] = (float)st->s[3];
}

static void env_acrobot_reset(const EnvTask *task, void *state, AgRng *rng, float *obs) {
    (void)task;
    EnvAcrobot *st = state;
    /* Gymnasium draws the start state in float32 */
    for (int k = 0; k < 4; k++) {
        st->s[k] = (double)(float)ag_rng_uniform_range(rng, -0.1, 0.1);
    }
    st->reached = 0;
    env_acrobot_obs(st, obs);
}

static void env_acrobot_step(const EnvTask *task, void *state, AgRng *rng, const float *action,
                             float *obs, EnvStep *out) {
    (void)task;
    (void)rng;
    EnvAcrobot *st = state;
    int idx = (int)action[0];
    double torque = idx <= 0 ? -1.0 : (idx == 1 ? 0.0 : 1.0);
    const double dt = ACROBOT_DT, dt2 = ACROBOT_DT / 2.0;
    double k1[4], k2[4], k3[4], k4[4], y[4];

    env_acrobot_dsdt(st->s, torque, k1);
    for (int k = 0; k < 4; k++) {
        y[k] = st->s[k] + dt2 * k1[k];
    }
    env_acrobot_dsdt(y, torque, k2);
    for (int k = 0; k < 4; k++) {
        y[k] = st->s[k] + dt2 * k2[k];
    }
    env_acrobot_dsdt(y, torque, k3);
    for (int k = 0; k < 4; k++) {
        y[k] = st->s[k] + dt * k3[k];
    }
    env_acrobot_dsdt(y, torque, k4);
    for (int k = 0; k < 4; k++) {
        y[k] = st->s[k] + dt / 6.0 * (k1[k] + 2 * k2[k] + 2 * k3[k] + k4[k]);
    }

    if (!(isfinite(y[0]) && isfinite(y[1]) && isfinite(y[2]) && isfinite(y[3]))) {
        out->unstable = 1;
        out->reward = -1.0f;
        env_acrobot_obs(st, obs);
        return;
    }
    st->s[0] = env_acrobot_wrap(y[0], -CLASSIC_PI, CLASSIC_PI);
    st->s[1] = env_acrobot_wrap(y[1], -CLASSIC_PI, CLASSIC_PI);
    st->s[2] = env_acrobot_bound(y[2], -ACROBOT_MAX_VEL_1, ACROBOT_MAX_VEL_1);
    st->s[3] = env_acrobot_bound(y[3], -ACROBOT_MAX_VEL_2, ACROBOT_MAX_VEL_2);

    int done = -cos(st->s[0]) - cos(st->s[1] + st->s[0]) > 1.0;
    st->reached = done;
    out->terminated = (uint8_t)done;
    out->reward = done ? 0.0f : -1.0f;
    env_acrobot_obs(st, obs);
}

static void env_acrobot_metrics(const EnvTask *task, const void *state, float *metrics) {
    (void)task;
    metrics[0] = (float)((const EnvAcrobot *)state)->reached;
}

const EnvClass env_acrobot_class = {
    .name = "Acrobot",
    .summary = "Swing the tip of a two-link chain above a line by torque on the middle joint "
               "(Gymnasium Acrobot-v1)",
    .state_size = sizeof(EnvAcrobot),
    .task_create = env_acrobot_task_create,
    .reset = env_acrobot_reset,
    .step = env_acrobot_step,
    .episode_metrics = env_acrobot_metrics,
};

/* ---- Pendulum-v1 (semi-implicit Euler, dt 0.05) ---- */

typedef struct EnvPendulum {
    double th, thdot;
} EnvPendulum;

typedef struct EnvPendulumShared {
    double g;
} EnvPendulumShared;

#define PENDULUM_MAX_SPEED  8.0
#define PENDULUM_MAX_TORQUE 2.0
#define PENDULUM_DT         0.05
#define PENDULUM_MASS       1.0
#define PENDULUM_LENGTH     1.0
#define PENDULUM_G          10.0
#define PENDULUM_MAX_STEPS  200

static int env_pendulum_create_common(EnvTask *task, const json_t *options, int obs_n, char *err,
                                      size_t err_sz) {
    static const char *const allowed[] = {"g", NULL};
    AgJsonErr je;
    double g = PENDULUM_G;
    if (options) {
        if (ag_json_check_keys(options, ENV_OPTIONS_PATH, allowed, &je) != AG_OK ||
            ag_json_get_double(options, ENV_OPTIONS_PATH, "g", PENDULUM_G, 0.0, 100.0, &g, &je) !=
                AG_OK) {
            return classic_json_error(&je, err, err_sz);
        }
    }
    EnvPendulumShared *sh = malloc(sizeof *sh);
    if (sh == NULL) {
        return ag_errorf(err, err_sz, AG_ENOMEM, "out of memory");
    }
    sh->g = g;
    task->shared = sh;
    classic_spec_vector(&task->spec, obs_n, PENDULUM_MAX_STEPS, PENDULUM_DT);
    classic_spec_box(&task->spec, (float)-PENDULUM_MAX_TORQUE, (float)PENDULUM_MAX_TORQUE);
    return AG_OK;
}

static int env_pendulum_task_create(EnvTask *task, const json_t *options, char *err,
                                    size_t err_sz) {
    return env_pendulum_create_common(task, options, 3, err, err_sz);
}

static int env_pendulum_novel_task_create(EnvTask *task, const json_t *options, char *err,
                                          size_t err_sz) {
    return env_pendulum_create_common(task, options, 2, err, err_sz);
}

static json_t *env_pendulum_default_options(void) {
    return json_pack("{sf}", "g", PENDULUM_G);
}

/* ((x + pi) mod 2 pi) - pi with the sign of the divisor, as numpy's remainder */
static double env_pendulum_angle_normalize(double x) {
    double m = fmod(x + CLASSIC_PI, 2 * CLASSIC_PI);
    if (m != 0.0 && m < 0.0) {
        m += 2 * CLASSIC_PI;
    }
    return m - CLASSIC_PI;
}

static void env_pendulum_init(EnvPendulum *s, AgRng *rng) {
    s->th = ag_rng_uniform_range(rng, -CLASSIC_PI, CLASSIC_PI);
    s->thdot = ag_rng_uniform_range(rng, -1.0, 1.0);
}

/* advances the state and returns the reward of the step */
static float env_pendulum_advance(const EnvTask *task, EnvPendulum *s, float action) {
    const EnvPendulumShared *sh = task->shared;
    const double g = sh->g, m = PENDULUM_MASS, l = PENDULUM_LENGTH, dt = PENDULUM_DT;
    double u = action < -PENDULUM_MAX_TORQUE
                   ? -PENDULUM_MAX_TORQUE
                   : (action > PENDULUM_MAX_TORQUE ? PENDULUM_MAX_TORQUE : (double)action);
    double thn = env_pendulum_angle_normalize(s->th);
    double costs = thn * thn + 0.1 * (s->thdot * s->thdot) + 0.001 * (u * u);
    double newthdot = s->thdot + (3 * g / (2 * l) * sin(s->th) + 3.0 / (m * l * l) * u) * dt;
    newthdot = newthdot < -PENDULUM_MAX_SPEED
                   ? -PENDULUM_MAX_SPEED
                   : (newthdot > PENDULUM_MAX_SPEED ? PENDULUM_MAX_SPEED : newthdot);
    s->th = s->th + newthdot * dt;
    s->thdot = newthdot;
    return (float)-costs;
}

static void env_pendulum_obs(const EnvPendulum *s, float *obs) {
    obs[0] = (float)cos(s->th);
    obs[1] = (float)sin(s->th);
    obs[2] = (float)s->thdot;
}

static void env_pendulum_novel_obs(const EnvPendulum *s, float *obs) {
    obs[0] = (float)cos(s->th);
    obs[1] = (float)sin(s->th);
}

static void env_pendulum_reset(const EnvTask *task, void *state, AgRng *rng, float *obs) {
    (void)task;
    env_pendulum_init(state, rng);
    env_pendulum_obs(state, obs);
}

static void env_pendulum_novel_reset(const EnvTask *task, void *state, AgRng *rng, float *obs) {
    (void)task;
    env_pendulum_init(state, rng);
    env_pendulum_novel_obs(state, obs);
}

static void env_pendulum_step(const EnvTask *task, void *state, AgRng *rng, const float *action,
                              float *obs, EnvStep *out) {
    (void)rng;
    out->reward = env_pendulum_advance(task, state, action[0]);
    env_pendulum_obs(state, obs);
}

static void env_pendulum_novel_step(const EnvTask *task, void *state, AgRng *rng,
                                    const float *action, float *obs, EnvStep *out) {
    (void)rng;
    out->reward = env_pendulum_advance(task, state, action[0]);
    env_pendulum_novel_obs(state, obs);
}

const EnvClass env_pendulum_class = {
    .name = "Pendulum",
    .summary = "Swing up and hold an inverted pendulum with bounded torque (Gymnasium "
               "Pendulum-v1)",
    .state_size = sizeof(EnvPendulum),
    .task_create = env_pendulum_task_create,
    .task_destroy = classic_task_free,
    .reset = env_pendulum_reset,
    .step = env_pendulum_step,
    .default_options = env_pendulum_default_options,
};

const EnvClass env_pendulum_novel_class = {
    .name = "PendulumNoVel",
    .summary = "Pendulum-v1 seeing only the cosine and sine of the angle: needs memory",
    .state_size = sizeof(EnvPendulum),
    .task_create = env_pendulum_novel_task_create,
    .task_destroy = classic_task_free,
    .reset = env_pendulum_novel_reset,
    .step = env_pendulum_novel_step,
    .default_options = env_pendulum_default_options,
};

/* ---- MountainCarContinuous-v0 ---- */

typedef struct EnvMountainCar {
    double position, velocity;
    int reached;
    int pad_;
} EnvMountainCar;

typedef struct EnvMountainCarShared {
    double goal_velocity;
} EnvMountainCarShared;

#define MCAR_MIN_POSITION -1.2
#define MCAR_MAX_POSITION 0.6
#define MCAR_MAX_SPEED    0.07
#define MCAR_GOAL         0.45
#define MCAR_POWER        0.0015
#define MCAR_MAX_STEPS    999

static int env_mountain_car_task_create(EnvTask *task, const json_t *options, char *err,
                                        size_t err_sz) {
    static const char *const allowed[] = {"goal_velocity", NULL};
    AgJsonErr je;
    double goal_velocity = 0.0;
    if (options) {
        if (ag_json_check_keys(options, ENV_OPTIONS_PATH, allowed, &je) != AG_OK ||
            ag_json_get_double(options, ENV_OPTIONS_PATH, "goal_velocity", 0.0, -MCAR_MAX_SPEED,
                               MCAR_MAX_SPEED, &goal_velocity, &je) != AG_OK) {
            return classic_json_error(&je, err, err_sz);
        }
    }
    EnvMountainCarShared *sh = malloc(sizeof *sh);
    if (sh == NULL) {
        return ag_errorf(err, err_sz, AG_ENOMEM, "out of memory");
    }
    sh->goal_velocity = goal_velocity;
    task->shared = sh;
    classic_spec_vector(&task->spec, 2, MCAR_MAX_STEPS, 0.0);
    classic_spec_box(&task->spec, -1.0f, 1.0f);
    env_spec_add_metric(&task->spec, "success");
    return AG_OK;
}

static json_t *env_mountain_car_default_options(void) {
    return json_pack("{sf}", "goal_velocity", 0.0);
}

static void env_mountain_car_obs(const EnvMountainCar *s, float *obs) {
    obs[0] = (float)s->position;
    obs[1] = (float)s->velocity;
}

static void env_mountain_car_reset(const EnvTask *task, void *state, AgRng *rng, float *obs) {
    (void)task;
    EnvMountainCar *s = state;
    s->position = ag_rng_uniform_range(rng, -0.6, -0.4);
    s->velocity = 0.0;
    s->reached = 0;
    env_mountain_car_obs(s, obs);
}

static void env_mountain_car_step(const EnvTask *task, void *state, AgRng *rng, const float *action,
                                  float *obs, EnvStep *out) {
    (void)rng;
    const EnvMountainCarShared *sh = task->shared;
    EnvMountainCar *s = state;
    double a = action[0];
    double force = a < -1.0 ? -1.0 : (a > 1.0 ? 1.0 : a);
    double position = s->position, velocity = s->velocity;

    velocity += force * MCAR_POWER - 0.0025 * cos(3 * position);
    if (velocity > MCAR_MAX_SPEED) {
        velocity = MCAR_MAX_SPEED;
    }
    if (velocity < -MCAR_MAX_SPEED) {
        velocity = -MCAR_MAX_SPEED;
    }
    position += velocity;
    if (position > MCAR_MAX_POSITION) {
        position = MCAR_MAX_POSITION;
    }
    if (position < MCAR_MIN_POSITION) {
        position = MCAR_MIN_POSITION;
    }
    if (position == MCAR_MIN_POSITION && velocity < 0) {
        velocity = 0;
    }

    int done = position >= MCAR_GOAL && velocity >= sh->goal_velocity;
    double reward = done ? 100.0 : 0.0;
    reward -= (a * a) * 0.1;
    /* Gymnasium keeps this state in float32 between steps */
    s->position = (double)(float)position;
    s->velocity = (double)(float)velocity;
    s->reached = done;
    out->terminated = (uint8_t)done;
    out->reward = (float)reward;
    env_mountain_car_obs(s, obs);
}

static void env_mountain_car_metrics(const EnvTask *task, const void *state, float *metrics) {
    (void)task;
    metrics[0] = (float)((const EnvMountainCar *)state)->reached;
}

const EnvClass env_mountain_car_continuous_class = {
    .name = "MountainCarContinuous",
    .summary = "Drive an underpowered car up a hill with a continuous force (Gymnasium "
               "MountainCarContinuous-v0)",
    .state_size = sizeof(EnvMountainCar),
    .task_create = env_mountain_car_task_create,
    .task_destroy = classic_task_free,
    .reset = env_mountain_car_reset,
    .step = env_mountain_car_step,
    .episode_metrics = env_mountain_car_metrics,
    .default_options = env_mountain_car_default_options,
};
