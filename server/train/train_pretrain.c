/* Vision pretraining (train_pretrain.h): an encoder and a small head trained with Adam to read
 * the block's pose from the dataset's images, with a held-out split, one metrics row per epoch
 * and checkpoints. */
#include "train_pretrain_int.h"
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
#include <unistd.h>

#define PRETRAIN_DATA_MAX_BYTES ((size_t)8 << 30) /* images held in memory */

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
    snprintf(d->view, sizeof d->view, "%s", f->variables[idx].view);
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

/* a SIGKILL loses at most this much of a long epoch: last.ckpt is written at least this often */
#define PRETRAIN_CKPT_PERIOD_S 300.0

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

/* the training split in shuffled minibatches, from where the epoch under way stands to its end
 * or until the stop flag is seen; the epoch's sums gather in p->prog. 1 when the epoch was
 * completed, 0 when it was stopped, or an error code of a periodic checkpoint. */
static int pretrain_epoch(Pretrain *p, double wall_at, double t0, char *err, size_t err_sz) {
    PretrainProgress *g = &p->prog;
    const AgPretrainSpec *sp = &p->spec.given;
    float *params = nn_model_params(p->model);
    float *grads = nn_model_grads(p->model);
    const int64_t total = sp->epochs * p->batches;
    double last_ckpt = ag_time_now();
    for (; g->batch < p->batches; g->batch++) {
        double now = ag_time_now();
        if ((p->stop && *p->stop) || (p->stop_after > 0 && p->steps_here >= p->stop_after)) {
            return 0;
        }
        /* a safe point: the minibatches before this one are all in the state */
        if (now - last_ckpt >= PRETRAIN_CKPT_PERIOD_S) {
            g->wall_s = wall_at + (now - t0);
            int rc = pretrain_checkpoint(p, AG_RUN_CKPT_LAST, err, err_sz);
            if (rc != 0) {
                return rc;
            }
            last_ckpt = now;
        }
        /* shuffled at the first minibatch, not before: a state at minibatch 0 is unshuffled */
        if (g->batch == 0) {
            ag_rng_shuffle(&g->rng, p->order, (int)p->n_train);
            memset(&g->sum, 0, sizeof g->sum);
            g->grad_norm_sum = 0;
            g->steps = g->bad_steps = 0;
        }
        int64_t first = g->batch * sp->batch_size;
        int B = (int)(p->n_train - first < sp->batch_size ? p->n_train - first : sp->batch_size);
        pretrain_gather(p, p->order + first, 0, B);
        nn_model_zero_grad(p->model);
        nn_model_forward(p->model, p->ctx, B, p->batch_obs, NULL, NULL, p->out, p->value);
        NnPoseLoss l = nn_pose_loss((NnPoseRotation)sp->rotation, p->dout, p->out, p->batch_tgt, B,
                                    1.0, sp->rotation_weight);
        nn_model_backward(p->model, p->ctx, p->dout, NULL);
        /* a non-finite gradient is zeroed (the step changes nothing new) and counted */
        float norm = nn_grad_clip(grads, nn_model_num_params(p->model), 0.0f);
        if (isfinite(norm)) {
            g->grad_norm_sum += norm;
        } else {
            g->bad_steps++;
        }
        g->steps++;
        p->steps_here++;
        /* the step's rate from its index in the whole run, so a resume takes the same ones */
        g->lr = ag_pretrain_lr(sp, g->epoch * p->batches + g->batch, total);
        nn_adam_step(&p->adam, params, grads, (float)g->lr);
        g->sum.loss += l.loss * B;
        g->sum.position_mse += l.position_mse * B;
        g->sum.rotation += l.rotation * B;
    }
    return 1;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* the held-out split: mean loss, position RMSE in mm and rotation errors in degrees */
static HoldoutScore pretrain_holdout(Pretrain *p) {
    HoldoutScore s = {0, 0, 0, 0};
    double sq = 0;
    int64_t base = p->n_train;
    const NnPoseRotation rot = (NnPoseRotation)p->spec.given.rotation;
    const int W = nn_pose_output_dim(rot);
    for (int64_t first = 0; first < p->n_hold; first += p->spec.given.batch_size) {
        int B = (int)(p->n_hold - first < p->spec.given.batch_size ? p->n_hold - first
                                                                   : p->spec.given.batch_size);
        pretrain_gather(p, NULL, base + first, B);
        nn_model_forward(p->model, p->ctx, B, p->batch_obs, NULL, NULL, p->out, p->value);
        s.loss +=
            nn_pose_loss(rot, NULL, p->out, p->batch_tgt, B, 1.0, p->spec.given.rotation_weight)
                .loss *
            B;
        for (int b = 0; b < B; b++) {
            const float *o = p->out + b * W, *t = p->batch_tgt + b * NN_POSE_DIM;
            for (int k = 0; k < 3; k++) {
                double e = ((double)o[k] - t[k]) * p->spec.given.position_scale;
                sq += e * e;
            }
            double a = nn_pose_angle(rot, t + 3, o + 3) * 180.0 / M_PI;
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

/* the row of epoch p->prog.epoch, just scored: its training means and held-out figures; lr is
 * the rate of its last minibatch */
static int pretrain_metrics_row(Pretrain *p, const HoldoutScore *s) {
    const PretrainProgress *g = &p->prog;
    const double n = (double)p->n_train;
    json_t *o = json_pack(
        "{s:I, s:f, s:I, s:f, s:f, s:f, s:f, s:f, s:f, s:f, s:f}", "iteration",
        (json_int_t)g->epoch, "wall_s", g->wall_s, "samples", (json_int_t)(g->epoch * p->n_train),
        "lr", g->lr, "train_loss", g->sum.loss / n, "train_position_mse", g->sum.position_mse / n,
        "train_rotation", g->sum.rotation / n, "holdout_loss", s->loss, "holdout_position_rmse_mm",
        s->position_rmse_mm, "holdout_rotation_median_deg", s->rotation_median_deg,
        "holdout_rotation_mean_deg", s->rotation_mean_deg);
    if (o) {
        int64_t good = g->steps - g->bad_steps;
        json_object_set_new(o, "grad_norm", json_real(good ? g->grad_norm_sum / good : 0.0));
        json_object_set_new(o, "bad_steps", json_integer(g->bad_steps));
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
    NnIoSpec io = {.num_inputs = 1,
                   .obs_size = (int)p->data.cols,
                   .policy_outputs = nn_pose_output_dim((NnPoseRotation)p->spec.given.rotation)};
    NnInputSpec *in = &io.inputs[0];
    snprintf(in->name, sizeof in->name, "%s", TRAIN_PRETRAIN_INPUT);
    in->shape[0] = 3;
    in->shape[1] = in->shape[2] = p->data.size;
    in->size = (int)p->data.cols;
    snprintf(in->view, sizeof in->view, "%s", p->data.view);
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

/* the minibatch buffers of training and scoring, and the held-out split's angles */
static int pretrain_buffers_alloc(Pretrain *p, char *err, size_t err_sz) {
    int B = (int)p->spec.given.batch_size;
    p->ctx = nn_train_ctx_create(p->model, B, 1);
    p->batch_obs = malloc(sizeof(float) * (size_t)B * (size_t)p->data.cols);
    p->batch_tgt = malloc(sizeof(float) * (size_t)B * NN_POSE_DIM);
    p->out = malloc(sizeof(float) * (size_t)B * NN_POSE_OUT_MAX);
    p->dout = malloc(sizeof(float) * (size_t)B * NN_POSE_OUT_MAX);
    p->value = malloc(sizeof(float) * (size_t)B);
    p->angles = malloc(sizeof(double) * (size_t)p->n_hold);
    if (!p->ctx || !p->batch_obs || !p->batch_tgt || !p->out || !p->dout || !p->value ||
        !p->angles) {
        return ag_errorf(err, err_sz, AG_ENOMEM, "out of memory for the model's buffers");
    }
    return 0;
}

/* the run's buffers, its start (fresh, or the state of last.ckpt on resume) and its directory:
 * the metrics file opened for appending, cut back to the epochs the state has scored */
static int pretrain_open(Pretrain *p, const char *run_dir, int resume, char *path, size_t path_sz,
                         char *err, size_t err_sz) {
    int rc = pretrain_prepare(p, 0, path, path_sz, err, err_sz);
    if (rc != 0) {
        return rc;
    }
    AgRng rng;
    ag_rng_seed(&rng, (uint64_t)p->spec.given.seed, 1);
    nn_model_init_params(p->model, &rng);
    int B = (int)p->spec.given.batch_size;
    p->order = malloc(sizeof(int) * (size_t)p->n_train);
    if ((rc = pretrain_buffers_alloc(p, err, err_sz)) != 0) {
        return rc;
    }
    if (!p->order ||
        nn_adam_init(&p->adam, nn_model_num_params(p->model), 0.9f, 0.999f, 1e-8f) != 0) {
        return ag_errorf(err, err_sz, AG_ENOMEM, "out of memory for the model's buffers");
    }
    p->batches = (p->n_train + B - 1) / B;
    for (int64_t i = 0; i < p->n_train; i++) {
        p->order[i] = (int)i;
        for (int k = 0; k < 3; k++) {
            p->mean[k] += p->data.labels[i * NN_POSE_DIM + k] / (double)p->n_train;
        }
    }
    ag_rng_seed(&p->prog.rng, (uint64_t)p->spec.given.seed, 2);
    p->prog.best = INFINITY;
    snprintf(p->dir, sizeof p->dir, "%s", run_dir);
    if (resume && (rc = pretrain_resume_load(p, path, path_sz, err, err_sz)) != 0) {
        return rc;
    }

    /* the run directory: a fresh one, or the resumed one with its curve cut back */
    char file[TRAIN_PATH_MAX];
    double wall_kept, cpu_kept;
    if ((rc = train_rundir_prepare(run_dir, resume, err, err_sz)) == AG_EEXISTS) {
        return ag_errorf(err, err_sz, rc,
                         "run directory %s already holds a run; use another, or --resume it",
                         run_dir);
    }
    if (rc != 0 || (rc = train_path(file, sizeof file, run_dir, AG_RUN_ERROR)) != 0) {
        return rc;
    }
    unlink(file); /* an earlier attempt's reason for failing no longer holds */
    if ((rc = train_path(file, sizeof file, run_dir, AG_RUN_METRICS)) != 0 ||
        (rc = train_metrics_truncate(file, p->prog.epoch, &wall_kept, &cpu_kept, err, err_sz)) !=
            0) {
        return rc;
    }
    p->metrics = fopen(file, resume ? "a" : "w");
    if (!p->metrics) {
        return ag_errorf(err, err_sz, AG_EIO, "cannot write %s", file);
    }
    return 0;
}

static int pretrain_write_spec(const Pretrain *p, char *err, size_t err_sz) {
    char file[TRAIN_PATH_MAX];
    json_t *o = json_pack(
        "{s:s, s:o, s:I, s:I, s:f, s:f, s:f, s:f, s:I, s:f, s:s, s:i, s:I, s:I, s:s, s:f, s:s}",
        "data", p->spec.given.data, "model", nn_model_describe(p->model), "epochs",
        (json_int_t)p->spec.given.epochs, "batch_size", (json_int_t)p->spec.given.batch_size,
        "learning_rate", p->spec.given.learning_rate, "holdout", p->spec.given.holdout,
        "position_scale", p->spec.given.position_scale, "rotation_weight",
        p->spec.given.rotation_weight, "seed", (json_int_t)p->spec.given.seed, "time_limit_s",
        p->spec.given.time_limit_s, "task", p->data.task, "image_size", p->data.size,
        "train_images", (json_int_t)p->n_train, "holdout_images", (json_int_t)p->n_hold,
        "lr_schedule", p->spec.given.lr_schedule == AG_PRETRAIN_LR_COSINE ? "cosine" : "constant",
        "lr_min", p->spec.given.lr_min, "rotation",
        p->spec.given.rotation == AG_PRETRAIN_ROT_6D ? "6d" : "quaternion");
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

/* whether the run has nothing left to do: every epoch done, or the time limit passed at an
 * epoch's end (a resume with a higher time_limit_s goes on) */
static int pretrain_finished(const Pretrain *p) {
    const PretrainProgress *g = &p->prog;
    return g->epoch >= p->spec.given.epochs ||
           (g->batch == 0 && g->epoch > 0 && p->spec.given.time_limit_s > 0 &&
            g->wall_s >= p->spec.given.time_limit_s);
}

/* the end of epoch p->prog.epoch + 1: its score, row and checkpoints (best.ckpt before
 * last.ckpt, so a resume from last.ckpt never skips a best one) */
static int pretrain_epoch_end(Pretrain *p, int quiet, double wall_at, double t_train, char *err,
                              size_t err_sz) {
    PretrainProgress *g = &p->prog;
    HoldoutScore s = pretrain_holdout(p);
    g->wall_s = wall_at + (ag_time_now() - t_train);
    g->epoch++;
    g->batch = 0;
    g->last = s;
    if (pretrain_metrics_row(p, &s) != 0) {
        return ag_errorf(err, err_sz, AG_EIO, "cannot write %s", AG_RUN_METRICS);
    }
    if (!quiet) {
        printf("epoch %lld  train loss %.4f  held-out loss %.4f  position %.2f mm  rotation "
               "%.1f deg (median)  lr %.3g  %.1f s\n",
               (long long)g->epoch, g->sum.loss / (double)p->n_train, s.loss, s.position_rmse_mm,
               s.rotation_median_deg, g->lr, g->wall_s);
        fflush(stdout);
    }
    int rc = 0;
    if (s.loss < g->best) {
        g->best = s.loss;
        rc = pretrain_checkpoint(p, AG_RUN_CKPT_BEST, err, err_sz);
    }
    return rc ? rc : pretrain_checkpoint(p, AG_RUN_CKPT_LAST, err, err_sz);
}

/* status.json as training writes it (the daemon reads how a job it did not see end stopped):
 * epochs for iterations; "failed" with the message, "interrupted" on a signal, "stopped" at
 * --stop-after */
static void pretrain_status(const Pretrain *p, const char *run_dir, const char *state,
                            const char *message) {
    char why[256];
    if (train_status_write(run_dir, state, p->prog.epoch, p->spec.given.epochs, 1, message, why,
                           sizeof why) != 0) {
        fprintf(stderr, "angora-train: %s\n", why);
    }
}

int train_pretrain_run(const json_t *spec, const char *run_dir, const TrainPretrainOptions *opt,
                       TrainPretrainResult *res, char *path, size_t path_sz, char *err,
                       size_t err_sz) {
    Pretrain *p = calloc(1, sizeof *p);
    AgJsonErr je = {{0}, {0}};
    memset(res, 0, sizeof *res);
    path[0] = '\0';
    if (!p) {
        return ag_errorf(err, err_sz, AG_ENOMEM, "out of memory");
    }
    double t0 = ag_time_now();
    int opened = 0;
    int rc = pretrain_spec_read(spec, &p->spec, &je);
    if (rc < 0) {
        ag_json_err_format(&je, err, err_sz);
        snprintf(path, path_sz, "%s", je.path);
        rc = AG_ESPEC;
        goto out;
    }
    p->stop = opt->stop;
    p->stop_after = opt->stop_after;
    if ((rc = pretrain_open(p, run_dir, opt->resume, path, path_sz, err, err_sz)) != 0) {
        goto out;
    }
    opened = 1;
    if ((rc = pretrain_write_spec(p, err, err_sz)) != 0) {
        goto out;
    }
    pretrain_status(p, run_dir, "running", NULL);
    if (opt->resume) {
        /* on stderr, the worker's log: stdout is the summary */
        fprintf(stderr,
                "angora-train: pretraining resumed from %s/%s after epoch %lld and %lld of the "
                "next one's %lld minibatches\n",
                AG_RUN_CHECKPOINTS, AG_RUN_CKPT_LAST, (long long)p->prog.epoch,
                (long long)p->prog.batch, (long long)p->batches);
    }
    /* the curve's clock goes on from where the checkpoint left it */
    const double wall_at = p->prog.wall_s, t_train = ag_time_now();
    while (!pretrain_finished(p)) {
        rc = pretrain_epoch(p, wall_at, t_train, err, err_sz);
        p->prog.wall_s = wall_at + (ag_time_now() - t_train);
        if (rc < 0) {
            goto out;
        }
        if (rc == 0) {
            /* stopped at a minibatch boundary: the state there, unless nothing was done */
            int64_t at = p->prog.epoch + 1, done = p->prog.batch;
            rc = at > 1 || done > 0 ? pretrain_checkpoint(p, AG_RUN_CKPT_LAST, err, err_sz) : 0;
            if (rc == 0) {
                rc = ag_errorf(err, err_sz, AG_EINTERRUPTED,
                               "stopped in epoch %lld after %lld of its %lld "
                               "minibatches",
                               (long long)at, (long long)done, (long long)p->batches);
            }
            goto out;
        }
        if ((rc = pretrain_epoch_end(p, opt->quiet, wall_at, t_train, err, err_sz)) != 0) {
            goto out;
        }
        pretrain_status(p, run_dir, "running", NULL);
    }
out:
    if (opened) {
        int signalled = opt->stop && *opt->stop;
        pretrain_status(p, run_dir,
                        rc == 0                 ? "done"
                        : rc != AG_EINTERRUPTED ? "failed"
                        : signalled             ? "interrupted"
                                                : "stopped",
                        rc != 0 && rc != AG_EINTERRUPTED ? err : NULL);
    }
    res->epochs = (int)p->prog.epoch;
    res->holdout_loss = p->prog.last.loss;
    res->holdout_position_rmse_mm = p->prog.last.position_rmse_mm;
    res->holdout_rotation_median_deg = p->prog.last.rotation_median_deg;
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

/* ---- an encoder scored on another dataset ---- */

/* the dataset against what the encoder was trained on: the same task, image size and camera */
static int evaluate_data_matches(const json_t *id, const PretrainData *d, const char *ckpt,
                                 const char *data, char *err, size_t err_sz) {
    const char *task = json_string_value(json_object_get(id, "task"));
    const char *view = json_string_value(json_object_get(id, "view"));
    json_int_t size = json_integer_value(json_object_get(id, "image_size"));
    if (!task || strcmp(task, d->task) != 0) {
        return ag_errorf(err, err_sz, AG_ESPEC,
                         "%s holds scenes of %s; the encoder of %s was trained on %s", data,
                         d->task, ckpt, task ? task : "(unknown)");
    }
    if (size != d->size) {
        return ag_errorf(err, err_sz, AG_ESPEC,
                         "%s holds %dx%d images; the encoder of %s was trained on %lldx%lld", data,
                         d->size, d->size, ckpt, (long long)size, (long long)size);
    }
    if (strcmp(view ? view : "", d->view) != 0) {
        return ag_errorf(err, err_sz, AG_ESPEC,
                         "%s holds pictures from %s; the encoder of %s was trained on pictures "
                         "from %s (task option camera_fovy?)",
                         data, d->view[0] ? d->view : "an unrecorded camera", ckpt,
                         view ? view : "an unrecorded camera");
    }
    return 0;
}

int train_pretrain_evaluate(const char *ckpt, const char *data, TrainPretrainEval *res, char *err,
                            size_t err_sz) {
    Pretrain *p = calloc(1, sizeof *p);
    json_t *id = NULL, *spec = NULL;
    NnCkpt *ck = NULL;
    AgJsonErr je = {{0}, {0}};
    char path[AG_JSON_PATH_MAX];
    memset(res, 0, sizeof *res);
    if (!p) {
        return ag_errorf(err, err_sz, AG_ENOMEM, "out of memory");
    }
    int rc = pretrain_checkpoint_read(ckpt, &id, p->mean, err, err_sz);
    if (rc != 0) {
        goto out;
    }
    /* the run's own spec, on the images given */
    spec = json_deep_copy(json_object_get(id, "spec"));
    if (!spec || json_object_set_new(spec, "data", json_string(data)) != 0) {
        rc = ag_errorf(err, err_sz, AG_ENOMEM, "out of memory");
        goto out;
    }
    if (pretrain_spec_read(spec, &p->spec, &je) < 0) {
        rc = ag_errorf(err, err_sz, AG_EINVAL, "%s: its spec is unreadable (%s: %s)", ckpt, je.path,
                       je.reason);
        goto out;
    }
    if ((rc = pretrain_prepare(p, 0, path, sizeof path, err, err_sz)) != 0 ||
        (rc = evaluate_data_matches(id, &p->data, ckpt, data, err, err_sz)) != 0 ||
        (rc = nn_ckpt_open(&ck, ckpt, err, err_sz)) != 0 ||
        (rc = nn_ckpt_model_load(ck, p->model, NULL, err, err_sz)) != 0) {
        goto out;
    }
    /* every image is scored: the split is the whole file */
    p->n_train = 0;
    p->n_hold = p->data.n;
    if ((rc = pretrain_buffers_alloc(p, err, err_sz)) != 0) {
        goto out;
    }
    HoldoutScore s = pretrain_holdout(p);
    res->images = p->data.n;
    res->image_size = p->data.size;
    res->loss = s.loss;
    res->position_rmse_mm = s.position_rmse_mm;
    res->rotation_median_deg = s.rotation_median_deg;
    res->rotation_mean_deg = s.rotation_mean_deg;
out:
    nn_ckpt_free(ck);
    json_decref(spec);
    json_decref(id);
    pretrain_close(p);
    free(p);
    return rc;
}
