/* The task interface. A task class (EnvClass) declares its sensations, action space, episode
 * limit and metrics; an EnvTask is one configured instance shared by all environments of a rank
 * (for MuJoCo tasks it holds the compiled model); an EnvBatch steps many environments of one
 * task as a batch, writing observations, rewards and flags straight into slices of the
 * trainer's buffers, with one RNG stream per environment and no allocation after creation.
 *
 * DESIGN
 * - Observation layout: each environment's observation is one float vector of spec.obs_size,
 *   the concatenation of its sensations in declaration order (sensations[i].offset). Images are
 *   (C, H, W) in that order, values in [0, 1].
 * - Actions are floats for every kind: box actions are values (the batch clips them to the
 *   bounds before the task sees them); discrete actions are whole-number indices.
 * - Episode ends: a task sets `terminated` (a true end: fall, drop, goal) or `truncated` (its own
 *   time-out); the batch also truncates at spec.max_episode_steps. On any end the batch copies
 *   the last observation to final_obs (so the trainer can bootstrap truncations from its value),
 *   collects the episode's metrics, resets the environment and writes the first observation of
 *   the next episode to obs.
 * - The two flags are independent, as in Gymnasium (TimeLimit): a step that terminates on the
 *   step the limit is reached reports both terminated = 1 and truncated = 1. A consumer must read
 *   such a step as a termination: the episode ended for real, so nothing is bootstrapped from
 *   final_obs (the trainer bootstraps only where truncated && !terminated).
 * - A step that reports `unstable` (NaN state, simulator warning) ends the episode as
 *   terminated (its state is not trustworthy to bootstrap from; the task's own truncation is
 *   dropped, the batch's limit still applies) and is counted in the statistics; the environment
 *   is reset and the run goes on.
 * - Rewards written by the batch are the task's raw rewards; normalisation is the trainer's.
 */
#ifndef ENV_H
#define ENV_H

#include "ag_rng.h"

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#define ENV_NAME_MAX       32
#define ENV_VIEW_MAX       64
#define ENV_MAX_SENSATIONS 8
#define ENV_MAX_METRICS    8
#define ENV_MAX_ACTION_DIM 64

typedef enum EnvActionKind {
    ENV_ACTION_BOX = 0,       /* action_dim floats within [action_low, action_high] */
    ENV_ACTION_DISCRETE,      /* one index in [0, action_choices[0]) */
    ENV_ACTION_MULTI_DISCRETE /* action_dim indices, each in [0, action_choices[i]) */
} EnvActionKind;

typedef struct EnvSensation {
    char name[ENV_NAME_MAX]; /* proprioception, touch, vision, goal, asymmetric, state, ... */
    int shape[3];            /* (n, 1, 1) for vectors, (C, H, W) for images */
    int size;                /* product of shape */
    int offset;              /* first float of this sensation in the observation vector */
    int critic_only;         /* seen only by the value network (asymmetric critic) */
    /* an image's camera, e.g. "palm_cam, fovy 45": what a model trained on other pictures (a
     * pretrained encoder) must agree with; "" for vectors */
    char view[ENV_VIEW_MAX];
} EnvSensation;

typedef struct EnvSpec {
    int num_sensations;
    EnvSensation sensations[ENV_MAX_SENSATIONS];
    int obs_size; /* sum of sensation sizes */
    EnvActionKind action_kind;
    int action_dim; /* box dimensions, 1 for discrete, sub-actions for multi-discrete */
    int action_choices[ENV_MAX_ACTION_DIM];
    float action_low[ENV_MAX_ACTION_DIM];
    float action_high[ENV_MAX_ACTION_DIM];
    int max_episode_steps; /* the batch truncates here; 0 = no limit */
    double control_dt;     /* seconds of simulated time per step; 0 when not physical */
    int num_metrics;       /* task metrics reported per finished episode */
    char metric_names[ENV_MAX_METRICS][ENV_NAME_MAX]; /* e.g. success, consecutive_goals */
} EnvSpec;

/* Task variables: named quantities of an environment's state that a task exposes for
 * activation recordings (joint angles and velocities, fingertip and object poses, the goal,
 * success and goal counters), as one float row of EnvTaskVars.size values, variable after
 * variable. */
#define ENV_MAX_TASK_VARS 16
#define ENV_MAX_VAR_DIMS  64 /* dimensions that can be named one by one */

typedef struct EnvTaskVar {
    char name[ENV_NAME_MAX];  /* joint_angles, fingertip_positions, object_quaternion, ... */
    char units[ENV_NAME_MAX]; /* "rad", "rad/s", "m", "m/s", "" (none) */
    int dim;
    int offset; /* first float of this variable in the row */
    /* optional names of the dimensions (all NULL or dim <= ENV_MAX_VAR_DIMS of them); the
     * strings belong to the task and live as long as it does */
    const char *dim_names[ENV_MAX_VAR_DIMS];
} EnvTaskVar;

typedef struct EnvTaskVars {
    int count;
    int size; /* floats of one row */
    EnvTaskVar vars[ENV_MAX_TASK_VARS];
} EnvTaskVars;

/* what one step of one environment produced, besides its observation */
typedef struct EnvStep {
    float reward;
    uint8_t terminated;
    uint8_t truncated;
    uint8_t unstable;
} EnvStep;

typedef struct EnvTask EnvTask;

/* MuJoCo's model and data, named without including MuJoCo (tasks in plain C have neither) */
struct mjModel_;
struct mjData_;

typedef struct EnvClass {
    const char *name;
    const char *summary; /* one line for the catalogue */
    size_t state_size;   /* bytes of one environment's state */
    /* reads options (already an object; unknown keys must be refused with a message naming
     * them), fills task->spec and task->shared */
    int (*task_create)(EnvTask *task, const json_t *options, char *err, size_t err_sz);
    void (*task_destroy)(EnvTask *task);
    /* optional: per-environment set-up beyond zeroed state (e.g. allocating mjData) */
    int (*env_create)(const EnvTask *task, void *state, char *err, size_t err_sz);
    void (*env_destroy)(const EnvTask *task, void *state);
    void (*reset)(const EnvTask *task, void *state, AgRng *rng, float *obs);
    void (*step)(const EnvTask *task, void *state, AgRng *rng, const float *action, float *obs,
                 EnvStep *out);
    /* optional: writes spec.num_metrics values for the episode that just ended */
    void (*episode_metrics)(const EnvTask *task, const void *state, float *metrics);
    /* optional snapshot of an environment for checkpoints; when NULL the state is plain data
     * and is copied as state_size bytes */
    size_t (*snapshot_size)(const EnvTask *task);
    void (*snapshot_save)(const EnvTask *task, const void *state, void *dst);
    void (*snapshot_load)(const EnvTask *task, void *state, const void *src);
    /* optional: the default options as a JSON object, for the catalogue (new reference) */
    json_t *(*default_options)(void);
    /* optional, together: the task variables (see EnvTaskVars), described once per task with
     * env_task_vars_add, and written for one environment as of its current state (the state the
     * policy acts in) into vars->size floats */
    void (*task_variables_describe)(const EnvTask *task, EnvTaskVars *vars);
    void (*task_variables)(const EnvTask *task, const void *state, float *out);
    /* optional, together: rendered images drawn for many environments in one call. After
     * images_defer(task, state, 1) an environment's step and reset leave its image sensations
     * unwritten, and images_render(task, states, obs, n) writes them for n environments at once
     * (obs[i] is environment i's observation). An EnvBatch defers every environment it creates
     * and renders all images of a step in one call; step and reset called directly render
     * their own. */
    void (*images_defer)(const EnvTask *task, void *state, int on);
    void (*images_render)(const EnvTask *task, void *const *states, float *const *obs, int n);
    /* set by MuJoCo tasks only, and what marks one: the task's compiled model and one
     * environment's simulation data (recording, rendering, physics benchmarks) */
    struct mjModel_ *(*mj_model)(const EnvTask *task);
    struct mjData_ *(*mj_data)(const EnvTask *task, const void *state);
} EnvClass;

struct EnvTask {
    const EnvClass *cls;
    EnvSpec spec;
    void *shared; /* the class's constant data (compiled model, options) */
};

/* per-rank statistics of the episodes that ended since the last take */
typedef struct EnvBatchStats {
    int64_t episodes;
    double return_sum;
    double return_sq_sum;
    double length_sum;
    int64_t unstable; /* episodes ended by an unstable simulation */
    double metric_sums[ENV_MAX_METRICS];
    int64_t steps; /* environment steps taken */
    /* discrete indices out of range or not whole, NaN box values: clamped and counted */
    int64_t invalid_actions;
} EnvBatchStats;

typedef struct EnvBatch {
    const EnvTask *task;
    int num_envs;
    unsigned char *states; /* num_envs * task->cls->state_size */
    AgRng *rngs;           /* one stream per environment */
    int *episode_steps;
    double *episode_returns;
    float *clipped_action; /* scratch: one action */
    /* scratch for images_render: the environments whose images a call draws */
    void **image_states;
    float **image_obs;
    EnvStep *step_out; /* scratch: what each environment's step reported */
    EnvBatchStats stats;
} EnvBatch;

/* the catalogue */
const EnvClass *env_registry_find(const char *name);
int env_registry_count(void);
const EnvClass *env_registry_at(int index);
/* the catalogue as JSON: name, summary, sensations, action space, limits, default options */
json_t *env_registry_describe(void);

/* builds one configured task; options may be NULL for defaults */
int env_task_create(EnvTask *task, const char *name, const json_t *options, char *err,
                    size_t err_sz);
void env_task_destroy(EnvTask *task);
/* the task's spec as JSON (for the catalogue and run metadata; new reference) */
json_t *env_spec_to_json(const EnvSpec *spec);

/* environment i of a batch seeds its stream with (seed, stream_base + i) */
int env_batch_create(EnvBatch *batch, const EnvTask *task, int num_envs, uint64_t seed,
                     uint64_t stream_base, char *err, size_t err_sz);
void env_batch_destroy(EnvBatch *batch);
/* resets every environment; obs is (num_envs, obs_size) */
void env_batch_reset(EnvBatch *batch, float *obs);
/* actions (num_envs, action_dim); obs and final_obs (num_envs, obs_size); rewards (num_envs);
 * terminated/truncated (num_envs). final_obs rows are written only for environments that ended. */
void env_batch_step(EnvBatch *batch, const float *actions, float *obs, float *rewards,
                    uint8_t *terminated, uint8_t *truncated, float *final_obs);
/* hands out and clears the episode statistics */
void env_batch_stats_take(EnvBatch *batch, EnvBatchStats *out);
/* snapshot of every environment (states, RNGs, episode counters) for checkpoints */
size_t env_batch_snapshot_size(const EnvBatch *batch);
void env_batch_snapshot_save(const EnvBatch *batch, void *dst);
int env_batch_snapshot_load(EnvBatch *batch, const void *src, size_t size);

/* Spec building helpers for task classes: append a sensation (shape (c, h, w); (n, 1, 1) for a
 * vector) at the end of the observation, or a metric name. Return AG_ETOOBIG when the spec is
 * full, AG_EINVAL for a bad shape or name. */
int env_spec_add_sensation(EnvSpec *spec, const char *name, int c, int h, int w, int critic_only);
int env_spec_add_metric(EnvSpec *spec, const char *name);
/* whether a sensation is an image (height or width above 1): its values are pixels in [0, 1] */
int env_sensation_is_image(const EnvSensation *s);
/* appends a task variable of dim floats (units may be NULL for none) at the end of the row;
 * the new entry, or NULL when the list is full or the name, units or dim are bad */
EnvTaskVar *env_task_vars_add(EnvTaskVars *vars, const char *name, int dim, const char *units);
/* the task's variables; none (count 0) when its class has no task_variables hook */
void env_task_vars_describe(const EnvTask *task, EnvTaskVars *vars);

/* Options every task accepts, read by env_task_create before the class sees the rest:
 * "max_episode_steps" (integer >= 0, 0 = no limit) overrides the class's episode limit. */
#define ENV_OPTION_MAX_EPISODE_STEPS "max_episode_steps"
/* JSON path base of task options in messages ("task_options.g: must be ..."), as in the spec */
#define ENV_OPTIONS_PATH "task_options"
/* largest batch env_batch_create accepts */
#define ENV_BATCH_MAX_ENVS (1 << 20)

#endif
