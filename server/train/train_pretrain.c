/* Vision pretraining (train_pretrain.h): an encoder and a small head trained with Adam to read
 * the block's pose from the dataset's images, with a held-out split, one metrics row per epoch
 * and checkpoints. */
#include "train_pretrain.h"
#include "train_run.h"

#include "ag_error.h"
#include "ag_fs.h"
#include "ag_json.h"
#include "ag_pretrain.h"
#include "ag_rundir.h"
#include "ag_time.h"
#include "an_h5.h"
#include "nn_ckpt.h"
#include "nn_model.h"
#include "nn_optim.h"
#include "nn_pose.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PRETRAIN_DATA_MAX_BYTES ((size_t)8 << 30) /* images held in memory */

typedef struct PretrainSpec {
    AgPretrainSpec given; /* keys, types and ranges checked (ag_pretrain.h) */
    json_t *model;        /* the description with shared mode forced (new reference) */
} PretrainSpec;

/* an encoder of the `pathways` preset, the dense head of its trunk, no core, one network */
static json_t *pretrain_default_model(void) {
    return json_pack("{s:s, s:n, s:b}", "preset", "pathways", "core", "shared", 1);
}

static int pretrain_spec_read(const json_t *spec, PretrainSpec *s, AgJsonErr *e) {
    memset(s, 0, sizeof *s);
    int rc = ag_pretrain_spec_read(spec, &s->given, e);
    if (rc < 0) {
        return rc;
    }
    const json_t *m = s->given.model;
    if (!m) {
        s->model = pretrain_default_model();
    } else if (json_is_string(m)) {
        s->model = json_pack("{s:O, s:b}", "preset", m, "shared", 1);
    } else {
        s->model = json_deep_copy(m);
        json_object_set_new(s->model, "shared", json_true());
    }
    return 0;
}

/* ---- the dataset in memory ---- */

typedef struct PretrainData {
    int64_t n;
    int size;      /* image side */
    int64_t cols;  /* floats of an image */
    float *images; /* (n, cols) */
    float *labels; /* (n, 7): position (m), quaternion */
    char task[64];
} PretrainData;

static int data_read_var(const AnH5File *f, const char *name, int64_t cols, float *out,
                         int64_t stride, char *err, size_t err_sz) {
    int idx = an_h5_find(f, AN_H5_VARIABLE, name);
    if (idx < 0 || f->variables[idx].cols != cols) {
        return ag_errorf(err, err_sz, AG_EFORMAT, "%s: no dataset /variables/%s of %lld columns",
                         f->path, name, (long long)cols);
    }
    if (stride == cols) { /* the rows as they lie in the file */
        return an_h5_read_rows(f, AN_H5_VARIABLE, idx, 0, f->steps, out, err, err_sz);
    }
    float *rows = malloc(sizeof(float) * (size_t)(f->steps * cols));
    if (!rows) {
        return ag_errorf(err, err_sz, AG_ENOMEM, "out of memory reading %s", name);
    }
    int rc = an_h5_read_rows(f, AN_H5_VARIABLE, idx, 0, f->steps, rows, err, err_sz);
    for (int64_t i = 0; rc == 0 && i < f->steps; i++) {
        memcpy(out + i * stride, rows + i * cols, sizeof(float) * (size_t)cols);
    }
    free(rows);
    return rc;
}

/* the dataset at path into d; header_only: its size and shape, every label checked to be there,
 * but no image read (a check, not a run) */
static int pretrain_data_load(PretrainData *d, const char *path, int header_only, char *err,
                              size_t err_sz) {
    AnH5File *f = NULL;
    memset(d, 0, sizeof *d);
    int rc = an_h5_open(&f, path, err, err_sz);
    if (rc != 0) {
        return rc;
    }
    int idx = an_h5_find(f, AN_H5_VARIABLE, "image");
    int64_t cols = idx >= 0 ? f->variables[idx].cols : 0;
    int size = (int)lround(sqrt((double)cols / 3.0));
    if (idx < 0 || size < 1 || 3LL * size * size != cols) {
        rc = ag_errorf(err, err_sz, AG_EFORMAT,
                       "%s: no dataset /variables/image of square RGB images (is it a file of "
                       "angora-train --pretrain-data?)",
                       path);
        goto out;
    }
    if (f->steps < 2 || (size_t)(f->steps * cols) > PRETRAIN_DATA_MAX_BYTES / sizeof(float)) {
        rc = ag_errorf(err, err_sz, AG_EFORMAT, "%s: %lld images; pretraining needs 2 to %zu", path,
                       (long long)f->steps, PRETRAIN_DATA_MAX_BYTES / sizeof(float) / (size_t)cols);
        goto out;
    }
    d->n = f->steps;
    d->size = size;
    d->cols = cols;
    snprintf(d->task, sizeof d->task, "%s", f->task);
    if (header_only) {
        static const char *const names[] = {"block_position", "block_quaternion"};
        static const int64_t widths[] = {3, 4};
        for (int k = 0; k < 2 && rc == 0; k++) {
            int v = an_h5_find(f, AN_H5_VARIABLE, names[k]);
            if (v < 0 || f->variables[v].cols != widths[k]) {
                rc = ag_errorf(err, err_sz, AG_EFORMAT,
                               "%s: no dataset /variables/%s of %lld columns", path, names[k],
                               (long long)widths[k]);
            }
        }
        goto out;
    }
    d->images = malloc(sizeof(float) * (size_t)(d->n * cols));
    d->labels = malloc(sizeof(float) * (size_t)(d->n * NN_POSE_DIM));
    if (!d->images || !d->labels) {
        rc = ag_errorf(err, err_sz, AG_ENOMEM, "out of memory for %lld images", (long long)d->n);
        goto out;
    }
    if ((rc = data_read_var(f, "image", cols, d->images, cols, err, err_sz)) != 0 ||
        (rc = data_read_var(f, "block_position", 3, d->labels, NN_POSE_DIM, err, err_sz)) != 0 ||
        (rc = data_read_var(f, "block_quaternion", 4, d->labels + 3, NN_POSE_DIM, err, err_sz)) !=
            0) {
        goto out;
    }
out:
    an_h5_close(f);
    return rc;
}

static void pretrain_data_free(PretrainData *d) {
    free(d->images);
    free(d->labels);
    memset(d, 0, sizeof *d);
}

/* ---- the run ---- */

typedef struct Pretrain {
    PretrainSpec spec;
    const volatile sig_atomic_t *stop; /* set by a signal: end after this minibatch */
    PretrainData data;
    NnModel *model;
    NnAdam adam;
    NnTrainCtx *ctx;
    int64_t n_train, n_hold;
    double mean[3];    /* position mean of the training split, m */
    float *batch_obs;  /* (batch, cols) */
    float *batch_tgt;  /* (batch, 7), positions normalised */
    float *out, *dout; /* (batch, 7) */
    float *value;      /* (batch) */
    double *angles;    /* (n_hold) */
    int *order;        /* (n_train) */
    FILE *metrics;
    char dir[TRAIN_PATH_MAX];
    double best;
    double grad_norm_sum;     /* of the epoch's steps */
    int64_t steps, bad_steps; /* of the epoch; bad: a non-finite gradient, skipped */
} Pretrain;

/* rows idx[0..B) of the dataset into the batch buffers, positions normalised */
static void pretrain_gather(Pretrain *p, const int *idx, int64_t first, int B) {
    for (int b = 0; b < B; b++) {
        int64_t i = idx ? idx[b] : first + b;
        memcpy(p->batch_obs + (size_t)b * p->data.cols, p->data.images + i * p->data.cols,
               sizeof(float) * (size_t)p->data.cols);
        const float *l = p->data.labels + i * NN_POSE_DIM;
        float *t = p->batch_tgt + (size_t)b * NN_POSE_DIM;
        for (int k = 0; k < 3; k++) {
            t[k] = (float)((l[k] - p->mean[k]) / p->spec.given.position_scale);
        }
        memcpy(t + 3, l + 3, 4 * sizeof(float));
    }
}

/* one pass over the training split in shuffled minibatches; the mean loss */
static NnPoseLoss pretrain_epoch(Pretrain *p, AgRng *rng) {
    NnPoseLoss sum = {0, 0, 0};
    ag_rng_shuffle(rng, p->order, (int)p->n_train);
    float *params = nn_model_params(p->model);
    float *grads = nn_model_grads(p->model);
    p->grad_norm_sum = 0;
    p->steps = p->bad_steps = 0;
    for (int64_t first = 0; first < p->n_train; first += p->spec.given.batch_size) {
        if (p->stop && *p->stop) {
            break;
        }
        int B = (int)(p->n_train - first < p->spec.given.batch_size ? p->n_train - first
                                                                    : p->spec.given.batch_size);
        pretrain_gather(p, p->order + first, 0, B);
        nn_model_zero_grad(p->model);
        nn_model_forward(p->model, p->ctx, B, p->batch_obs, NULL, NULL, p->out, p->value);
        NnPoseLoss l =
            nn_pose_loss(p->dout, p->out, p->batch_tgt, B, 1.0, p->spec.given.rotation_weight);
        nn_model_backward(p->model, p->ctx, p->dout, NULL);
        /* a non-finite gradient is zeroed (the step changes nothing new) and counted */
        float norm = nn_grad_clip(grads, nn_model_num_params(p->model), 0.0f);
        if (isfinite(norm)) {
            p->grad_norm_sum += norm;
        } else {
            p->bad_steps++;
        }
        p->steps++;
        nn_adam_step(&p->adam, params, grads, (float)p->spec.given.learning_rate);
        sum.loss += l.loss * B;
        sum.position_mse += l.position_mse * B;
        sum.rotation += l.rotation * B;
    }
    sum.loss /= (double)p->n_train;
    sum.position_mse /= (double)p->n_train;
    sum.rotation /= (double)p->n_train;
    return sum;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

typedef struct HoldoutScore {
    double loss, position_rmse_mm, rotation_median_deg, rotation_mean_deg;
} HoldoutScore;

/* the held-out split: mean loss, position RMSE in mm and rotation errors in degrees */
static HoldoutScore pretrain_holdout(Pretrain *p) {
    HoldoutScore s = {0, 0, 0, 0};
    double sq = 0;
    int64_t base = p->n_train;
    for (int64_t first = 0; first < p->n_hold; first += p->spec.given.batch_size) {
        int B = (int)(p->n_hold - first < p->spec.given.batch_size ? p->n_hold - first
                                                                   : p->spec.given.batch_size);
        pretrain_gather(p, NULL, base + first, B);
        nn_model_forward(p->model, p->ctx, B, p->batch_obs, NULL, NULL, p->out, p->value);
        s.loss +=
            nn_pose_loss(NULL, p->out, p->batch_tgt, B, 1.0, p->spec.given.rotation_weight).loss *
            B;
        for (int b = 0; b < B; b++) {
            const float *o = p->out + b * NN_POSE_DIM, *t = p->batch_tgt + b * NN_POSE_DIM;
            for (int k = 0; k < 3; k++) {
                double e = ((double)o[k] - t[k]) * p->spec.given.position_scale;
                sq += e * e;
            }
            double a = nn_pose_angle(t + 3, o + 3) * 180.0 / M_PI;
            p->angles[first + b] = a;
            s.rotation_mean_deg += a;
        }
    }
    s.loss /= (double)p->n_hold;
    s.position_rmse_mm = 1000.0 * sqrt(sq / (double)p->n_hold);
    s.rotation_mean_deg /= (double)p->n_hold;
    qsort(p->angles, (size_t)p->n_hold, sizeof(double), cmp_double);
    int64_t h = p->n_hold;
    s.rotation_median_deg =
        h % 2 ? p->angles[h / 2] : 0.5 * (p->angles[h / 2 - 1] + p->angles[h / 2]);
    return s;
}

/* the checkpoint's own section: what a model loading this encoder must agree with */
static char *pretrain_section_text(const Pretrain *p, int64_t epoch, const HoldoutScore *s) {
    json_t *o = json_pack("{s:s, s:s, s:s, s:i, s:[f,f,f], s:f, s:I, s:f, s:f}", "kind",
                          "vision-encoder", "input", TRAIN_PRETRAIN_INPUT, "task", p->data.task,
                          "image_size", p->data.size, "position_mean", p->mean[0], p->mean[1],
                          p->mean[2], "position_scale", p->spec.given.position_scale, "epoch",
                          (json_int_t)epoch, "holdout_position_rmse_mm", s->position_rmse_mm,
                          "holdout_rotation_median_deg", s->rotation_median_deg);
    char *text = o ? json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    json_decref(o);
    return text;
}

static int pretrain_checkpoint(Pretrain *p, const char *name, int64_t epoch, const HoldoutScore *s,
                               char *err, size_t err_sz) {
    NnCkptSection sections[8];
    int n = 0;
    char *desc = NULL, *own = pretrain_section_text(p, epoch, s);
    char path[TRAIN_PATH_MAX], rel[64];
    snprintf(rel, sizeof rel, "%s/%s", AG_RUN_CHECKPOINTS, name);
    int rc = own ? train_path(path, sizeof path, p->dir, rel) : AG_ENOMEM;
    if (rc == 0) {
        rc = nn_ckpt_model_sections(p->model, &p->adam, sections, &n, &desc);
    }
    if (rc == 0) {
        memset(&sections[n], 0, sizeof sections[n]);
        snprintf(sections[n].name, sizeof sections[n].name, "%s", TRAIN_PRETRAIN_SECTION);
        sections[n].data = own;
        sections[n].size = strlen(own);
        rc = nn_ckpt_write(path, sections, n + 1, err, err_sz);
    } else {
        ag_errorf(err, err_sz, rc, "cannot build the checkpoint %s", name);
    }
    free(desc);
    free(own);
    return rc;
}

static int pretrain_metrics_row(Pretrain *p, int64_t epoch, double wall, const NnPoseLoss *train,
                                const HoldoutScore *s) {
    json_t *o = json_pack(
        "{s:I, s:f, s:I, s:f, s:f, s:f, s:f, s:f, s:f, s:f, s:f}", "iteration", (json_int_t)epoch,
        "wall_s", wall, "samples", (json_int_t)(epoch * p->n_train), "lr",
        p->spec.given.learning_rate, "train_loss", train->loss, "train_position_mse",
        train->position_mse, "train_rotation", train->rotation, "holdout_loss", s->loss,
        "holdout_position_rmse_mm", s->position_rmse_mm, "holdout_rotation_median_deg",
        s->rotation_median_deg, "holdout_rotation_mean_deg", s->rotation_mean_deg);
    if (o) {
        int64_t good = p->steps - p->bad_steps;
        json_object_set_new(o, "grad_norm", json_real(good ? p->grad_norm_sum / good : 0.0));
        json_object_set_new(o, "bad_steps", json_integer(p->bad_steps));
    }
    int ok = o && json_dumpf(o, p->metrics, JSON_COMPACT) == 0 && fputc('\n', p->metrics) != EOF &&
             fflush(p->metrics) == 0;
    json_decref(o);
    return ok ? 0 : AG_EIO;
}

/* the dataset (whole, or its header only), the split and the model: everything a run checks
 * before it writes anything. AG_ESPEC with the JSON path for what the spec or dataset gets wrong */
static int pretrain_prepare(Pretrain *p, int header_only, char *path, size_t path_sz, char *err,
                            size_t err_sz) {
    int rc;
    if ((rc = pretrain_data_load(&p->data, p->spec.given.data, header_only, err, err_sz)) != 0) {
        snprintf(path, path_sz, "data");
        return rc == AG_ENOMEM ? rc : AG_ESPEC;
    }
    p->n_hold = (int64_t)ceil(p->spec.given.holdout * (double)p->data.n);
    p->n_train = p->data.n - p->n_hold;
    if (p->n_train < 1 || p->n_train > INT32_MAX) {
        snprintf(path, path_sz, "holdout");
        return ag_errorf(err, err_sz, AG_ESPEC, "holdout: leaves %lld of %lld images to train on",
                         (long long)p->n_train, (long long)p->data.n);
    }
    NnIoSpec io = {.num_inputs = 1, .obs_size = (int)p->data.cols, .policy_outputs = NN_POSE_DIM};
    NnInputSpec *in = &io.inputs[0];
    snprintf(in->name, sizeof in->name, "%s", TRAIN_PRETRAIN_INPUT);
    in->shape[0] = 3;
    in->shape[1] = in->shape[2] = p->data.size;
    in->size = (int)p->data.cols;
    p->model = nn_model_create(p->spec.model, &io, err, err_sz);
    if (!p->model) {
        snprintf(path, path_sz, "model");
        return AG_ESPEC;
    }
    if (nn_model_is_recurrent(p->model)) {
        snprintf(path, path_sz, "model.core");
        return ag_errorf(err, err_sz, AG_ESPEC,
                         "model.core: pretraining reads single images, the model needs no core");
    }
    return 0;
}

static int pretrain_open(Pretrain *p, const char *run_dir, char *path, size_t path_sz, char *err,
                         size_t err_sz) {
    int rc = pretrain_prepare(p, 0, path, path_sz, err, err_sz);
    if (rc != 0) {
        return rc;
    }
    AgRng rng;
    ag_rng_seed(&rng, (uint64_t)p->spec.given.seed, 1);
    nn_model_init_params(p->model, &rng);
    int B = (int)p->spec.given.batch_size;
    p->ctx = nn_train_ctx_create(p->model, B, 1);
    p->batch_obs = malloc(sizeof(float) * (size_t)B * (size_t)p->data.cols);
    p->batch_tgt = malloc(sizeof(float) * (size_t)B * NN_POSE_DIM);
    p->out = malloc(sizeof(float) * (size_t)B * NN_POSE_DIM);
    p->dout = malloc(sizeof(float) * (size_t)B * NN_POSE_DIM);
    p->value = malloc(sizeof(float) * (size_t)B);
    p->angles = malloc(sizeof(double) * (size_t)p->n_hold);
    p->order = malloc(sizeof(int) * (size_t)p->n_train);
    if (!p->ctx || !p->batch_obs || !p->batch_tgt || !p->out || !p->dout || !p->value ||
        !p->angles || !p->order ||
        nn_adam_init(&p->adam, nn_model_num_params(p->model), 0.9f, 0.999f, 1e-8f) != 0) {
        return ag_errorf(err, err_sz, AG_ENOMEM, "out of memory for the model's buffers");
    }
    for (int64_t i = 0; i < p->n_train; i++) {
        p->order[i] = (int)i;
        for (int k = 0; k < 3; k++) {
            p->mean[k] += p->data.labels[i * NN_POSE_DIM + k] / (double)p->n_train;
        }
    }

    /* the run directory: a fresh one, the spec as resolved, the metrics file */
    char file[TRAIN_PATH_MAX];
    snprintf(p->dir, sizeof p->dir, "%s", run_dir);
    if ((rc = train_rundir_prepare(run_dir, 0, err, err_sz)) == AG_EEXISTS) {
        /* pretraining has no resume: only another directory helps */
        return ag_errorf(err, err_sz, rc, "run directory %s already holds a run; use another",
                         run_dir);
    }
    if (rc != 0 || (rc = train_path(file, sizeof file, run_dir, AG_RUN_METRICS)) != 0) {
        return rc;
    }
    p->metrics = fopen(file, "w");
    if (!p->metrics) {
        return ag_errorf(err, err_sz, AG_EIO, "cannot write %s", file);
    }
    return 0;
}

static int pretrain_write_spec(const Pretrain *p, char *err, size_t err_sz) {
    char file[TRAIN_PATH_MAX];
    json_t *o = json_pack(
        "{s:s, s:o, s:I, s:I, s:f, s:f, s:f, s:f, s:I, s:f, s:s, s:i, s:I, s:I}", "data",
        p->spec.given.data, "model", nn_model_describe(p->model), "epochs",
        (json_int_t)p->spec.given.epochs, "batch_size", (json_int_t)p->spec.given.batch_size,
        "learning_rate", p->spec.given.learning_rate, "holdout", p->spec.given.holdout,
        "position_scale", p->spec.given.position_scale, "rotation_weight",
        p->spec.given.rotation_weight, "seed", (json_int_t)p->spec.given.seed, "time_limit_s",
        p->spec.given.time_limit_s, "task", p->data.task, "image_size", p->data.size,
        "train_images", (json_int_t)p->n_train, "holdout_images", (json_int_t)p->n_hold);
    char *text = o ? json_dumps(o, JSON_INDENT(2) | JSON_SORT_KEYS) : NULL;
    json_decref(o);
    int rc = text ? train_path(file, sizeof file, p->dir, AG_RUN_SPEC) : AG_ENOMEM;
    if (rc == 0) {
        rc = ag_fs_write_atomic(file, text, strlen(text), err, err_sz);
    }
    free(text);
    return rc;
}

static void pretrain_close(Pretrain *p) {
    if (p->metrics) {
        fclose(p->metrics);
    }
    nn_adam_free(&p->adam);
    nn_train_ctx_destroy(p->ctx);
    nn_model_destroy(p->model);
    free(p->batch_obs);
    free(p->batch_tgt);
    free(p->out);
    free(p->dout);
    free(p->value);
    free(p->angles);
    free(p->order);
    pretrain_data_free(&p->data);
    json_decref(p->spec.model);
}

int train_pretrain_run(const json_t *spec, const char *run_dir, int quiet,
                       const volatile sig_atomic_t *stop, TrainPretrainResult *res, char *path,
                       size_t path_sz, char *err, size_t err_sz) {
    Pretrain *p = calloc(1, sizeof *p);
    AgJsonErr je = {{0}, {0}};
    memset(res, 0, sizeof *res);
    path[0] = '\0';
    if (!p) {
        return ag_errorf(err, err_sz, AG_ENOMEM, "out of memory");
    }
    double t0 = ag_time_now();
    int rc = pretrain_spec_read(spec, &p->spec, &je);
    if (rc < 0) {
        ag_json_err_format(&je, err, err_sz);
        snprintf(path, path_sz, "%s", je.path);
        rc = AG_ESPEC;
        goto out;
    }
    p->stop = stop;
    if ((rc = pretrain_open(p, run_dir, path, path_sz, err, err_sz)) != 0 ||
        (rc = pretrain_write_spec(p, err, err_sz)) != 0) {
        goto out;
    }

    AgRng rng;
    ag_rng_seed(&rng, (uint64_t)p->spec.given.seed, 2);
    p->best = INFINITY;
    for (int64_t epoch = 1; epoch <= p->spec.given.epochs; epoch++) {
        NnPoseLoss train = pretrain_epoch(p, &rng);
        /* an epoch cut short is not scored: the last row and checkpoint are of a whole one */
        if (stop && *stop) {
            rc = ag_errorf(err, err_sz, AG_EINTERRUPTED, "stopped by a signal in epoch %lld",
                           (long long)epoch);
            goto out;
        }
        HoldoutScore s = pretrain_holdout(p);
        double wall = ag_time_now() - t0;
        if (pretrain_metrics_row(p, epoch, wall, &train, &s) != 0) {
            rc = ag_errorf(err, err_sz, AG_EIO, "cannot write %s", AG_RUN_METRICS);
            goto out;
        }
        if (!quiet) {
            printf("epoch %lld  train loss %.4f  held-out loss %.4f  position %.2f mm  rotation "
                   "%.1f deg (median)  %.1f s\n",
                   (long long)epoch, train.loss, s.loss, s.position_rmse_mm, s.rotation_median_deg,
                   wall);
            fflush(stdout);
        }
        if ((rc = pretrain_checkpoint(p, AG_RUN_CKPT_LAST, epoch, &s, err, err_sz)) != 0) {
            goto out;
        }
        if (s.loss < p->best) {
            p->best = s.loss;
            if ((rc = pretrain_checkpoint(p, AG_RUN_CKPT_BEST, epoch, &s, err, err_sz)) != 0) {
                goto out;
            }
        }
        res->epochs = (int)epoch;
        res->holdout_loss = s.loss;
        res->holdout_position_rmse_mm = s.position_rmse_mm;
        res->holdout_rotation_median_deg = s.rotation_median_deg;
        if (p->spec.given.time_limit_s > 0 && wall >= p->spec.given.time_limit_s) {
            break;
        }
    }
out:
    res->seconds = ag_time_now() - t0;
    pretrain_close(p);
    free(p);
    return rc;
}

int train_pretrain_check(const json_t *spec, char *path, size_t path_sz, char *err, size_t err_sz) {
    Pretrain *p = calloc(1, sizeof *p);
    AgJsonErr je = {{0}, {0}};
    int rc;
    path[0] = '\0';
    if (!p) {
        return ag_errorf(err, err_sz, AG_ENOMEM, "out of memory");
    }
    if (pretrain_spec_read(spec, &p->spec, &je) < 0) {
        ag_json_err_format(&je, err, err_sz);
        snprintf(path, path_sz, "%s", je.path);
        rc = AG_ESPEC;
    } else {
        rc = pretrain_prepare(p, 1, path, path_sz, err, err_sz);
    }
    pretrain_close(p);
    free(p);
    return rc;
}
