/* The activation recorder (see train_activations.h): the plan of datasets from the model's probes,
 * the task's sensations and variables; the rows staged per episode and handed to the recording
 * writer (an_h5.h) in episode order; the file's attributes. */
#include "train_activations.h"

#include "ag_error.h"
#include "ag_time.h"
#include "an_h5.h"

#include <jansson.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ACT_DEFAULT_MAX_STEPS 100000 /* an episode without a limit, for staging estimates */

typedef enum ActSrc {
    ACT_INDEX = 0, /* the episode and the step, as int32 bit patterns */
    ACT_PROBE,
    ACT_OBS,
    ACT_ACTION,
    ACT_POLICY,
    ACT_VALUE,
    ACT_REWARD,
    ACT_DONE,
    ACT_TASK
} ActSrc;

/* the name and group of the variables from ACT_ACTION to ACT_DONE, in that order */
static const char *const act_agent_vars[][2] = {{"action", "action"},
                                                {"policy.params", "agent"},
                                                {"value", "agent"},
                                                {"reward", "task"},
                                                {"done", "task"}};

/* one dataset: where its values come from and where they sit in a staged row */
typedef struct ActCol {
    ActSrc src;
    int index;       /* probe, sensation or task variable */
    int off;         /* first value in a row */
    int cols;        /* values per row */
    int hw;          /* > 1: a feature map averaged over hw positions per channel */
    int size;        /* the source's values per row (a probe's, before averaging) */
    AnH5Series *set; /* NULL for the index, which the writer keeps */
} ActCol;

/* one episode of the wave: rows waiting for their turn */
typedef struct ActSlot {
    float *rows;
    size_t n, cap;
    int ended;
} ActSlot;

typedef struct ActRec {
    const NnModel *model;
    const EnvTask *task;
    EnvTaskVars vars;
    AnH5Writer *h5;
    int ncols;
    ActCol *cols;
    int R;        /* values per row */
    int task_off; /* first task variable in a row; -1 for none */
    int reward_off, done_off;
    int policy_size, action_size;
    AnH5Series *policy_set; /* gets the distribution's name at the first step */
    int wave;
    float **probes; /* per probe (wave, size) */
    ActSlot *slots; /* (wave) */
    int head;       /* the episode whose rows go straight to the file */
    int64_t steps;
    double write_s;
} ActRec;

/* ---- the plan ---- */

static ActCol *col_add(ActRec *r, ActSrc src, int index, int cols) {
    ActCol *c = &r->cols[r->ncols++];
    c->src = src;
    c->index = index;
    c->off = r->R;
    c->cols = cols;
    c->hw = 1;
    c->size = cols;
    r->R += cols;
    return c;
}

/* every dataset and its place in a row; the count first (cols NULL) */
static int act_plan(ActRec *r, int pool_conv) {
    const EnvSpec *es = &r->task->spec;
    r->ncols = 0;
    r->R = 0;
    col_add(r, ACT_INDEX, 0, 2);
    for (int k = 0; k < nn_model_num_probes(r->model); k++) {
        const NnProbe *p = nn_model_probe(r->model, k);
        int pool = pool_conv && p->rank == 3;
        ActCol *c = col_add(r, ACT_PROBE, k, pool ? p->shape[0] : p->size);
        c->hw = pool ? p->shape[1] * p->shape[2] : 1;
        c->size = p->size;
    }
    for (int i = 0; i < es->num_sensations; i++) {
        col_add(r, ACT_OBS, i, es->sensations[i].size);
    }
    col_add(r, ACT_ACTION, 0, r->action_size);
    col_add(r, ACT_POLICY, 0, r->policy_size);
    col_add(r, ACT_VALUE, 0, 1);
    r->reward_off = col_add(r, ACT_REWARD, 0, 1)->off;
    r->done_off = col_add(r, ACT_DONE, 0, 1)->off;
    /* the task's variables side by side, as the task writes them */
    r->task_off = r->vars.count ? r->R : -1;
    for (int v = 0; v < r->vars.count; v++) {
        col_add(r, ACT_TASK, v, r->vars.vars[v].dim);
    }
    return r->ncols;
}

/* ---- datasets and attributes ---- */

static int act_layer_set(ActRec *r, ActCol *c, char *err, size_t err_sz) {
    const NnProbe *p = nn_model_probe(r->model, c->index);
    int32_t shape[3] = {p->shape[0], p->shape[1], p->shape[2]};
    int pooled = c->hw > 1;
    /* a pooled map is [C] a step, and map_shape says what was averaged */
    AnH5LayerInfo info = {.type = p->type,
                          .net = p->net,
                          .shape = shape,
                          .shape_rank = pooled ? 1 : p->rank,
                          .pooled = pooled,
                          .map_shape = pooled ? shape : NULL,
                          .map_shape_rank = pooled ? 3 : 0};
    return an_h5_writer_add_layer(r->h5, p->name, c->cols, &info, &c->set, err, err_sz);
}

static int act_variable_set(ActRec *r, ActCol *c, const char *name, const char *group,
                            const char *units, char *err, size_t err_sz) {
    AnH5VariableInfo info = {.group = group, .units = units};
    return an_h5_writer_add_variable(r->h5, name, c->cols, &info, &c->set, err, err_sz);
}

static int act_task_set(ActRec *r, ActCol *c, char *err, size_t err_sz) {
    const EnvTaskVar *v = &r->vars.vars[c->index];
    const char *names[ENV_MAX_VAR_DIMS];
    AnH5VariableInfo info = {.group = "task", .units = v->units};
    if (v->dim <= ENV_MAX_VAR_DIMS && v->dim_names[0]) {
        for (int k = 0; k < v->dim; k++) {
            names[k] = v->dim_names[k] ? v->dim_names[k] : "";
        }
        info.dim_names = names;
        info.n_dim_names = v->dim;
    }
    return an_h5_writer_add_variable(r->h5, v->name, c->cols, &info, &c->set, err, err_sz);
}

static int act_obs_set(ActRec *r, ActCol *c, char *err, size_t err_sz) {
    const EnvSensation *s = &r->task->spec.sensations[c->index];
    char name[ENV_NAME_MAX + 8];
    snprintf(name, sizeof name, "obs.%s", s->name);
    int rc = act_variable_set(r, c, name, "sensation", "", err, err_sz);
    int32_t shape[3] = {s->shape[0], s->shape[1], s->shape[2]};
    int image = s->shape[1] > 1 || s->shape[2] > 1;
    if (!rc) {
        rc = an_h5_series_attr_ints(c->set, "shape", shape, image ? 3 : 1, err, err_sz);
    }
    if (!rc) {
        rc = an_h5_series_attr_int(c->set, "critic_only", s->critic_only, err, err_sz);
    }
    if (!rc && s->view[0]) {
        rc = an_h5_series_attr_string(c->set, "view", s->view, err, err_sz);
    }
    return rc;
}

static int act_sets(ActRec *r, char *err, size_t err_sz) {
    int rc = 0;
    for (int i = 0; i < r->ncols && !rc; i++) {
        ActCol *c = &r->cols[i];
        switch (c->src) {
        case ACT_INDEX:
            break; /* the writer's own */
        case ACT_PROBE:
            rc = act_layer_set(r, c, err, err_sz);
            break;
        case ACT_OBS:
            rc = act_obs_set(r, c, err, err_sz);
            break;
        case ACT_ACTION:
        case ACT_POLICY:
        case ACT_VALUE:
        case ACT_REWARD:
        case ACT_DONE:
            rc = act_variable_set(r, c, act_agent_vars[c->src - ACT_ACTION][0],
                                  act_agent_vars[c->src - ACT_ACTION][1], "", err, err_sz);
            if (c->src == ACT_POLICY) {
                r->policy_set = c->set;
            }
            break;
        case ACT_TASK:
            rc = act_task_set(r, c, err, err_sz);
            break;
        }
    }
    return rc;
}

int train_sha256_file(const char *path, char hex[65], char *err, size_t err_sz) {
    FILE *fp = fopen(path, "rb");
    if (!fp) {
        return ag_errorf(err, err_sz, AG_EIO, "cannot read %s", path);
    }
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    unsigned char buf[1 << 16], sum[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    int ok = md && EVP_DigestInit_ex(md, EVP_sha256(), NULL);
    size_t n;
    while (ok && (n = fread(buf, 1, sizeof buf, fp)) > 0) {
        ok = EVP_DigestUpdate(md, buf, n);
    }
    ok = ok && !ferror(fp) && EVP_DigestFinal_ex(md, sum, &len) && len == 32;
    EVP_MD_CTX_free(md);
    fclose(fp);
    if (!ok) {
        return ag_errorf(err, err_sz, AG_EIO, "cannot hash %s", path);
    }
    for (unsigned i = 0; i < 32; i++) {
        snprintf(hex + 2 * i, 3, "%02x", sum[i]);
    }
    return 0;
}

/* JSON text of j (taking j's reference), or NULL */
static char *act_json_text(json_t *j) {
    char *text = j ? json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    json_decref(j);
    return text;
}

/* the file with the root attributes known before the episodes run (the writer adds episodes,
 * steps and complete at the end) */
static int act_create(ActRec *r, const TrainActOpts *o, char *err, size_t err_sz) {
    char sha[65] = "";
    int rc = o->checkpoint ? train_sha256_file(o->checkpoint, sha, err, err_sz) : 0;
    if (rc) {
        return rc;
    }
    char *spec = act_json_text(json_incref((json_t *)o->spec));
    char *model = act_json_text(nn_model_describe(r->model));
    if (!spec || !model) {
        rc = ag_errorf(err, err_sz, AG_ENOMEM, "recording: cannot describe the %s",
                       spec ? "model" : "spec");
    } else {
        AnH5Meta meta = {.spec = spec,
                         .model = model,
                         .task = r->task->cls->name,
                         .checkpoint = o->checkpoint,
                         .checkpoint_sha256 = sha,
                         .deterministic = o->deterministic != 0,
                         .seed = o->seed};
        rc = an_h5_writer_create(&r->h5, o->out, &meta, err, err_sz);
    }
    free(spec);
    free(model);
    return rc;
}

/* ---- per step ---- */

static float *slot_push(ActSlot *s, int R) {
    if (s->n == s->cap) {
        size_t cap = s->cap ? 2 * s->cap : 16;
        float *rows = realloc(s->rows, cap * (size_t)R * sizeof(float));
        if (!rows) {
            return NULL;
        }
        s->rows = rows;
        s->cap = cap;
    }
    return s->rows + (s->n++) * (size_t)R;
}

/* the mean of each channel's hw values */
static void act_pool(float *dst, const float *map, int channels, int hw) {
    for (int ch = 0; ch < channels; ch++) {
        const float *m = map + (size_t)ch * hw;
        double sum = 0.0;
        for (int k = 0; k < hw; k++) {
            sum += m[k];
        }
        dst[ch] = (float)(sum / hw);
    }
}

/* row i of a wave step, everything but the reward and the episode's end */
static void act_row_fill(ActRec *r, const RlEvalStep *s, int i, float *row) {
    for (int k = 0; k < r->ncols; k++) {
        const ActCol *c = &r->cols[k];
        float *dst = row + c->off;
        int32_t iv;
        switch (c->src) {
        case ACT_INDEX:
            iv = s->first + i;
            memcpy(dst, &iv, sizeof iv);
            iv = s->step[i];
            memcpy(dst + 1, &iv, sizeof iv);
            break;
        case ACT_PROBE: {
            const float *src = r->probes[c->index] + (size_t)i * c->size;
            if (c->hw > 1) {
                act_pool(dst, src, c->cols, c->hw);
            } else {
                memcpy(dst, src, (size_t)c->cols * sizeof(float));
            }
            break;
        }
        case ACT_OBS:
            memcpy(dst,
                   s->obs + (size_t)i * s->obs_size + r->task->spec.sensations[c->index].offset,
                   (size_t)c->cols * sizeof(float));
            break;
        case ACT_ACTION:
            memcpy(dst, s->action + (size_t)i * c->cols, (size_t)c->cols * sizeof(float));
            break;
        case ACT_POLICY:
            memcpy(dst, s->policy + (size_t)i * c->cols, (size_t)c->cols * sizeof(float));
            break;
        case ACT_VALUE:
            *dst = s->value[i];
            break;
        case ACT_REWARD:
        case ACT_DONE:
        case ACT_TASK:
            *dst = 0.0f;
            break;
        }
    }
    if (r->task_off >= 0) {
        r->task->cls->task_variables(r->task, s->envs[i].states, row + r->task_off);
    }
}

static int act_on_act(void *user, const RlEvalStep *s, char *err, size_t err_sz) {
    ActRec *r = user;
    if (s->policy_size != r->policy_size || s->action_size != r->action_size) {
        return ag_errorf(err, err_sz, AG_ESTATE,
                         "recording: %d policy outputs and %d action values, planned %d and %d",
                         s->policy_size, s->action_size, r->policy_size, r->action_size);
    }
    if (r->policy_set) {
        int rc =
            an_h5_series_attr_string(r->policy_set, "distribution", s->distribution, err, err_sz);
        r->policy_set = NULL;
        if (rc) {
            return rc;
        }
    }
    for (int i = 0; i < s->n; i++) {
        if (!s->active[i]) {
            continue;
        }
        float *row = slot_push(&r->slots[i], r->R);
        if (!row) {
            return ag_errorf(err, err_sz, AG_ENOMEM, "recording: out of memory for episode %d",
                             s->first + i);
        }
        act_row_fill(r, s, i, row);
    }
    return 0;
}

/* hands the head episode's rows to the file, and the next episodes' once the head has ended */
static int act_flush(ActRec *r, int first, int n, char *err, size_t err_sz) {
    double t0 = ag_time_now();
    int rc = 0;
    while (!rc && r->head < first + n) {
        ActSlot *sl = &r->slots[r->head - first];
        for (size_t j = 0; j < sl->n && !rc; j++) {
            const float *row = sl->rows + j * (size_t)r->R;
            for (int k = 0; k < r->ncols && !rc; k++) {
                const ActCol *c = &r->cols[k];
                if (c->src == ACT_INDEX) {
                    int32_t index[2];
                    memcpy(index, row + c->off, sizeof index);
                    rc = an_h5_writer_append_index(r->h5, &index[0], &index[1], 1, err, err_sz);
                } else {
                    rc = an_h5_series_append(c->set, row + c->off, 1, err, err_sz);
                }
            }
        }
        r->steps += (int64_t)sl->n;
        sl->n = 0;
        if (!sl->ended) {
            break;
        }
        sl->ended = 0;
        r->head++;
    }
    r->write_s += ag_time_now() - t0;
    return rc;
}

static int act_on_result(void *user, const RlEvalStep *s, char *err, size_t err_sz) {
    ActRec *r = user;
    for (int i = 0; i < s->n; i++) {
        if (!s->active[i]) {
            continue;
        }
        ActSlot *sl = &r->slots[i];
        float *row = sl->rows + (sl->n - 1) * (size_t)r->R;
        row[r->reward_off] = s->reward[i];
        row[r->done_off] = s->done[i] ? 1.0f : 0.0f;
        sl->ended = s->done[i];
    }
    return act_flush(r, s->first, s->n, err, err_sz);
}

/* ---- the recording ---- */

/* the widest wave whose waiting episodes fit TRAIN_ACT_STAGE_BYTES */
static int act_wave(const ActRec *r, int episodes) {
    int max_steps = r->task->spec.max_episode_steps;
    double episode_bytes =
        (double)r->R * sizeof(float) * (max_steps > 0 ? max_steps : ACT_DEFAULT_MAX_STEPS);
    double fit = (double)TRAIN_ACT_STAGE_BYTES / episode_bytes;
    int wave = fit >= RL_EVAL_WAVE ? RL_EVAL_WAVE : (fit < 1 ? 1 : (int)fit);
    return episodes < wave ? episodes : wave;
}

static void act_free(ActRec *r) {
    for (int k = 0; r->probes && k < nn_model_num_probes(r->model); k++) {
        free(r->probes[k]);
    }
    free(r->probes);
    for (int i = 0; r->slots && i < r->wave; i++) {
        free(r->slots[i].rows);
    }
    free(r->slots);
    free(r->cols);
}

/* the plan, the staging and the probe buffers */
static int act_open(ActRec *r, RlTrainer *t, const TrainActOpts *o, char *err, size_t err_sz) {
    const NnIoSpec *io;
    r->model = rl_trainer_model(t);
    r->task = rl_trainer_task(t);
    io = nn_model_io(r->model);
    r->policy_size = io->policy_outputs + io->logstd_dim;
    r->action_size = r->task->spec.action_dim;
    env_task_vars_describe(r->task, &r->vars);
    int n = 1 + nn_model_num_probes(r->model) + r->task->spec.num_sensations + 5 + r->vars.count;
    r->cols = calloc((size_t)n, sizeof *r->cols);
    if (!r->cols) {
        return ag_errorf(err, err_sz, AG_ENOMEM, "recording: out of memory");
    }
    act_plan(r, o->pool_conv);
    r->wave = act_wave(r, o->episodes);
    r->slots = calloc((size_t)r->wave, sizeof *r->slots);
    r->probes = calloc((size_t)nn_model_num_probes(r->model) + 1, sizeof *r->probes);
    int fail = !r->slots || !r->probes;
    for (int k = 0; !fail && k < nn_model_num_probes(r->model); k++) {
        size_t len = (size_t)r->wave * nn_model_probe(r->model, k)->size;
        fail = !(r->probes[k] = malloc(len * sizeof(float)));
    }
    return fail ? ag_errorf(err, err_sz, AG_ENOMEM, "recording: out of memory") : 0;
}

int train_activations_record(RlTrainer *t, const TrainActOpts *o, TrainActResult *res, char *err,
                             size_t err_sz) {
    ActRec r;
    double t0 = ag_time_now();
    memset(&r, 0, sizeof r);
    memset(res, 0, sizeof *res);
    if (o->episodes < 1 || !o->out || !o->spec) {
        return ag_errorf(err, err_sz, AG_EINVAL, "recording: at least one episode and a file");
    }
    int rc = act_open(&r, t, o, err, err_sz);
    /* the file, its attributes and datasets: the writer's time too */
    double w0 = ag_time_now();
    if (!rc) {
        rc = act_create(&r, o, err, err_sz);
    }
    if (!rc) {
        rc = act_sets(&r, err, err_sz);
    }
    r.write_s += ag_time_now() - w0;
    if (!rc) {
        RlEvalObserver ob = {.wave = r.wave,
                             .probes = r.probes,
                             .on_act = act_on_act,
                             .on_result = act_on_result,
                             .user = &r};
        rc = rl_trainer_evaluate_observed(t, o->episodes, o->deterministic, o->seed, &ob,
                                          &res->eval, err, err_sz);
    }
    if (!rc && r.head != o->episodes) {
        rc = ag_errorf(err, err_sz, AG_ESTATE, "recording: %d of %d episodes written", r.head,
                       o->episodes);
    }
    if (!rc) {
        w0 = ag_time_now();
        rc = an_h5_writer_finish(r.h5, err, err_sz);
        r.h5 = NULL; /* finished or removed */
        r.write_s += ag_time_now() - w0;
    }
    an_h5_writer_abort(r.h5);
    res->steps = r.steps;
    res->datasets = r.ncols ? r.ncols + 1 : 0; /* the index column is two datasets */
    res->wave = r.wave;
    res->seconds = ag_time_now() - t0;
    res->write_seconds = r.write_s;
    act_free(&r);
    return rc;
}
