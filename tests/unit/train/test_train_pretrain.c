/* Tests of vision pretraining (server/train/train_pretrain*.c): the dataset's file (datasets,
 * attributes, labels that are poses, the same file from the same seed), a small pretraining run
 * that learns (its held-out position error falls well below predicting the mean), its metrics
 * and checkpoints, bad specs refused with their JSON path, and resume: a run stopped and resumed
 * ends as one straight run to the bit, and a resume of another run is refused; an encoder scored on
 * another dataset (--pretrain-evaluate). */
#include "train_pretrain.h"

#include "ag_error.h"
#include "an_h5.h"
#include "nn_ckpt.h"

#include <check.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char g_dir[256];
static const TrainPretrainOptions quiet_run = {.quiet = 1};

static void setup(void) {
    snprintf(g_dir, sizeof g_dir, "/tmp/angora-pretrain-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(g_dir));
}

static void teardown(void) {
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", g_dir);
    ck_assert_int_eq(system(cmd), 0);
}

static json_t *jparse(const char *text) {
    json_error_t je;
    json_t *j = json_loads(text, 0, &je);
    ck_assert_msg(j != NULL, "%s: %s", text, je.text);
    return j;
}

static void data_make(const char *spec_text, const char *out) {
    json_t *spec = jparse(spec_text);
    TrainPretrainDataResult res;
    char path[128], err[1024];
    int rc = train_pretrain_data(spec, out, &res, path, sizeof path, err, sizeof err);
    ck_assert_msg(rc == 0, "%s", err);
    json_decref(spec);
}

static float *read_all(const AnH5File *f, const char *name, int64_t cols) {
    int idx = an_h5_find(f, AN_H5_VARIABLE, name);
    ck_assert_int_ge(idx, 0);
    ck_assert_int_eq(f->variables[idx].cols, cols);
    float *v = malloc(sizeof(float) * (size_t)(f->steps * cols));
    char err[512];
    ck_assert_int_eq(an_h5_read_rows(f, AN_H5_VARIABLE, idx, 0, f->steps, v, err, sizeof err), 0);
    return v;
}

START_TEST(test_dataset_file) {
    char a[320], b[320], err[512];
    snprintf(a, sizeof a, "%s/a.h5", g_dir);
    snprintf(b, sizeof b, "%s/b.h5", g_dir);
    const char *spec = "{\"task\": \"HandBlockRotateZ\", \"samples\": 12, \"image_size\": 12, "
                       "\"seed\": 4, \"block_offset\": 0.01}";
    data_make(spec, a);
    data_make(spec, b);
    AnH5File *f = NULL, *g = NULL;
    ck_assert_msg(an_h5_open(&f, a, err, sizeof err) == 0, "%s", err);
    ck_assert_int_eq(an_h5_open(&g, b, err, sizeof err), 0);
    ck_assert_int_eq(f->steps, 12);
    ck_assert_str_eq(f->task, "HandBlockRotateZ");
    ck_assert_uint_eq(f->seed, 4);
    ck_assert_ptr_nonnull(strstr(f->spec, "\"samples\":12"));
    /* the camera the images are from, as the task names its pixels' view */
    ck_assert_str_eq(f->variables[an_h5_find(f, AN_H5_VARIABLE, "image")].view,
                     "palm_cam, fovy 45");
    float *img = read_all(f, "image", 3 * 12 * 12), *img2 = read_all(g, "image", 3 * 12 * 12);
    float *pos = read_all(f, "block_position", 3), *quat = read_all(f, "block_quaternion", 4);
    float *pos2 = read_all(g, "block_position", 3);
    float *tips = read_all(f, "fingertip_positions", 15);
    /* images in [0, 1], not blank; unit quaternions; the block near the palm (reset place
     * within 3 cm of the palm's centre plus the 1 cm offset); the fingertips on the hand */
    double sum = 0;
    for (int64_t i = 0; i < 12 * 3 * 12 * 12; i++) {
        ck_assert(img[i] >= 0.0f && img[i] <= 1.0f);
        sum += img[i];
    }
    ck_assert(sum > 0.05 * 12 * 3 * 12 * 12);
    for (int i = 0; i < 12; i++) {
        double n = 0;
        for (int k = 0; k < 4; k++) {
            n += (double)quat[4 * i + k] * quat[4 * i + k];
        }
        ck_assert_double_eq_tol(n, 1.0, 1e-5);
        ck_assert(fabs(pos[3 * i] - 0.075) < 0.06 && fabs(pos[3 * i + 1]) < 0.06 &&
                  pos[3 * i + 2] > 0.05 && pos[3 * i + 2] < 0.3);
        for (int k = 0; k < 15; k++) {
            ck_assert(isfinite(tips[15 * i + k]) && fabs(tips[15 * i + k]) < 0.5);
        }
    }
    /* scenes differ from one another; the same seed gives the same file */
    ck_assert(memcmp(pos, pos + 3, 3 * sizeof(float)) != 0);
    ck_assert(memcmp(pos, pos2, 12 * 3 * sizeof(float)) == 0);
    ck_assert(memcmp(img, img2, sizeof(float) * 12 * 3 * 12 * 12) == 0);
    free(img);
    free(img2);
    free(pos);
    free(pos2);
    free(quat);
    free(tips);
    an_h5_close(f);
    an_h5_close(g);
}
END_TEST

static void data_refused(const char *spec_text, const char *want_path, const char *words) {
    char out[320], path[128], err[1024];
    snprintf(out, sizeof out, "%s/bad.h5", g_dir);
    json_t *spec = jparse(spec_text);
    TrainPretrainDataResult res;
    int rc = train_pretrain_data(spec, out, &res, path, sizeof path, err, sizeof err);
    json_decref(spec);
    ck_assert_msg(rc == AG_ESPEC, "%s: rc %d (%s)", spec_text, rc, err);
    ck_assert_msg(strcmp(path, want_path) == 0, "%s: path %s, want %s", spec_text, path, want_path);
    ck_assert_msg(strstr(err, words) != NULL, "%s: %s", spec_text, err);
    ck_assert(access(out, F_OK) != 0);
}

START_TEST(test_dataset_refusals) {
    data_refused("{\"samples\": 0}", "samples", "samples");
    data_refused("{\"image_size\": 4}", "image_size", "image_size");
    data_refused("{\"hand_spread\": 2}", "hand_spread", "hand_spread");
    data_refused("{\"camera_fovy\": 150}", "camera_fovy", "camera_fovy");
    data_refused("{\"camera_fovy\": \"narrow\"}", "camera_fovy", "camera_fovy");
    data_refused("{\"colour\": 1}", "colour", "unknown");
    data_refused("{\"task\": \"CartPole\"}", "task", "no block");
    data_refused("{\"task\": \"Nope\"}", "task", "unknown task");
}
END_TEST

/* the metrics rows of a run */
static json_t *metrics_read(const char *run) {
    char p[400];
    snprintf(p, sizeof p, "%s/metrics.jsonl", run);
    FILE *f = fopen(p, "r");
    ck_assert_ptr_nonnull(f);
    json_t *rows = json_array();
    char line[4096];
    while (fgets(line, sizeof line, f)) {
        json_array_append_new(rows, jparse(line));
    }
    fclose(f);
    return rows;
}

/* status.json of a run: its state and epochs ("iteration" of "total_iterations") */
static void status_assert(const char *run, const char *state, int epoch, int epochs) {
    char p[400];
    snprintf(p, sizeof p, "%s/status.json", run);
    FILE *f = fopen(p, "r");
    ck_assert_msg(f != NULL, "no %s", p);
    json_t *o = json_loadf(f, 0, NULL);
    fclose(f);
    ck_assert_ptr_nonnull(o);
    ck_assert_str_eq(json_string_value(json_object_get(o, "state")), state);
    ck_assert_int_eq(json_integer_value(json_object_get(o, "iteration")), epoch);
    ck_assert_int_eq(json_integer_value(json_object_get(o, "total_iterations")), epochs);
    json_decref(o);
}

/* the held-out position RMSE, in mm, of predicting the training split's mean position: 240
 * images, the last 24 held out */
static double mean_baseline_mm(const char *data) {
    char err[1024];
    AnH5File *f = NULL;
    ck_assert_int_eq(an_h5_open(&f, data, err, sizeof err), 0);
    float *pos = read_all(f, "block_position", 3);
    an_h5_close(f);
    double mean[3] = {0, 0, 0}, sq = 0;
    for (int i = 0; i < 216; i++) {
        for (int k = 0; k < 3; k++) {
            mean[k] += pos[3 * i + k] / 216.0;
        }
    }
    for (int i = 216; i < 240; i++) {
        for (int k = 0; k < 3; k++) {
            sq += (pos[3 * i + k] - mean[k]) * (pos[3 * i + k] - mean[k]);
        }
    }
    free(pos);
    return 1000.0 * sqrt(sq / 24.0);
}

/* the tiny pretraining of the learning tests: 240 images of 16x16, a still hand, the block
 * within 2 cm, 12 epochs, spec members `extra` added; its run in run, its data in data, and the
 * held-out RMSE of predicting the mean position (mm) returned */
static double tiny_pretraining(const char *extra, char *data, size_t data_sz, char *run,
                               size_t run_sz) {
    char spec[800], path[128], err[1024];
    snprintf(data, data_sz, "%s/d.h5", g_dir);
    snprintf(run, run_sz, "%s/run", g_dir);
    data_make("{\"samples\": 240, \"image_size\": 16, \"seed\": 5, \"hand_spread\": 0}", data);
    snprintf(spec, sizeof spec,
             "{\"data\": \"%s\", \"epochs\": 12, \"batch_size\": 16, \"learning_rate\": 0.003%s}",
             data, extra);
    json_t *s = jparse(spec);
    TrainPretrainResult res;
    int rc = train_pretrain_run(s, run, &quiet_run, &res, path, sizeof path, err, sizeof err);
    json_decref(s);
    ck_assert_msg(rc == 0, "%s (at %s)", err, path);
    ck_assert_int_eq(res.epochs, 12);
    status_assert(run, "done", 12, 12);
    return mean_baseline_mm(data);
}

/* A tiny dataset (16x16, a still hand, the block within 2 cm) learns in seconds: the held-out
 * position RMSE falls below 75 % of the RMSE of predicting the training mean (about 20 mm) */
START_TEST(test_pretrain_learns) {
    char data[320], run[320], spec[800], path[128], err[1024];
    double baseline_mm = tiny_pretraining("", data, sizeof data, run, sizeof run);
    snprintf(spec, sizeof spec,
             "{\"data\": \"%s\", \"epochs\": 12, \"batch_size\": 16, \"learning_rate\": 0.003}",
             data);
    json_t *s;
    TrainPretrainResult res;

    /* one row per epoch; the best held-out error is well below the baseline */
    json_t *rows = metrics_read(run);
    ck_assert_uint_eq(json_array_size(rows), 12);
    double best = INFINITY;
    for (size_t i = 0; i < 12; i++) {
        json_t *r = json_array_get(rows, i);
        ck_assert_int_eq(json_integer_value(json_object_get(r, "iteration")), (json_int_t)i + 1);
        double mm = json_real_value(json_object_get(r, "holdout_position_rmse_mm"));
        ck_assert(isfinite(json_real_value(json_object_get(r, "holdout_rotation_median_deg"))));
        ck_assert(json_real_value(json_object_get(r, "grad_norm")) > 0.0);
        ck_assert_int_eq(json_integer_value(json_object_get(r, "bad_steps")), 0);
        best = mm < best ? mm : best;
    }
    json_decref(rows);
    printf("pretraining: held-out position RMSE %.2f mm at best, predicting the mean %.2f mm\n",
           best, baseline_mm);
    ck_assert_msg(best < 0.75 * baseline_mm, "best %.2f mm, baseline %.2f mm", best, baseline_mm);

    /* checkpoints with the encoder's own section */
    const char *names[] = {"last.ckpt", "best.ckpt"};
    for (int i = 0; i < 2; i++) {
        char p[400];
        snprintf(p, sizeof p, "%s/checkpoints/%s", run, names[i]);
        NnCkpt *ck = nn_ckpt_read(p, err, sizeof err);
        ck_assert_msg(ck != NULL, "%s", err);
        uint64_t n = 0;
        const char *own = nn_ckpt_section(ck, TRAIN_PRETRAIN_SECTION, &n);
        ck_assert_ptr_nonnull(own);
        json_t *o = json_loadb(own, n, 0, NULL);
        ck_assert_int_eq(json_integer_value(json_object_get(o, "image_size")), 16);
        ck_assert_str_eq(json_string_value(json_object_get(o, "input")), "vision");
        json_decref(o);
        nn_ckpt_free(ck);
    }
    /* a second run into the same directory is refused: nothing is overwritten */
    s = jparse(spec);
    ck_assert_int_eq(
        train_pretrain_run(s, run, &quiet_run, &res, path, sizeof path, err, sizeof err),
        AG_EEXISTS);
    json_decref(s);
}
END_TEST

static void run_refused(const char *spec_text, const char *want_path) {
    char run[320], path[128], err[1024];
    snprintf(run, sizeof run, "%s/bad-run", g_dir);
    json_t *spec = jparse(spec_text);
    TrainPretrainResult res;
    int rc = train_pretrain_run(spec, run, &quiet_run, &res, path, sizeof path, err, sizeof err);
    json_decref(spec);
    ck_assert_msg(rc == AG_ESPEC, "%s: rc %d (%s)", spec_text, rc, err);
    ck_assert_msg(strcmp(path, want_path) == 0, "%s: path %s, want %s (%s)", spec_text, path,
                  want_path, err);
}

START_TEST(test_pretrain_refusals) {
    char data[320], spec[600];
    snprintf(data, sizeof data, "%s/d.h5", g_dir);
    data_make("{\"samples\": 4, \"image_size\": 8}", data);
    run_refused("{}", "data");
    run_refused("{\"data\": \"/nonexistent/d.h5\"}", "data");
    snprintf(spec, sizeof spec, "{\"data\": \"%s\", \"epochs\": 0}", data);
    run_refused(spec, "epochs");
    snprintf(spec, sizeof spec, "{\"data\": \"%s\", \"model\": \"simple_lstm\"}", data);
    run_refused(spec, "model.core");
    snprintf(spec, sizeof spec, "{\"data\": \"%s\", \"model\": {\"trunk\": 3}}", data);
    run_refused(spec, "model");
    snprintf(spec, sizeof spec, "{\"data\": \"%s\", \"holdout\": 0.9}", data);
    /* 4 images: a 90 % held-out split leaves none to train on */
    run_refused(spec, "holdout");
}
END_TEST

/* a stop flag (a signal to angora-train) set before the first minibatch ends the run with
 * AG_EINTERRUPTED (the exit code that says so) and nothing to keep: no row, no checkpoint, and
 * a resume is refused for want of one */
START_TEST(test_pretrain_stop) {
    char data[320], run[320], spec[600], path[128] = "", err[1024] = "", file[400];
    snprintf(data, sizeof data, "%s/d.h5", g_dir);
    snprintf(run, sizeof run, "%s/stopped", g_dir);
    data_make("{\"samples\": 8, \"image_size\": 8}", data);
    snprintf(spec, sizeof spec, "{\"data\": \"%s\", \"epochs\": 5, \"batch_size\": 2}", data);
    json_t *s = jparse(spec);
    volatile sig_atomic_t stop = 1;
    TrainPretrainOptions opt = {.quiet = 1, .stop = &stop};
    TrainPretrainResult res;
    int rc = train_pretrain_run(s, run, &opt, &res, path, sizeof path, err, sizeof err);
    ck_assert_msg(rc == AG_EINTERRUPTED, "rc %d (%s)", rc, err);
    ck_assert_int_eq(res.epochs, 0);
    /* a signal's stop, told apart from --stop-after's and from a failure */
    status_assert(run, "interrupted", 0, 5);
    json_t *rows = metrics_read(run);
    ck_assert_uint_eq(json_array_size(rows), 0);
    json_decref(rows);
    snprintf(file, sizeof file, "%s/checkpoints/last.ckpt", run);
    ck_assert_int_ne(access(file, F_OK), 0);
    opt.stop = NULL;
    opt.resume = 1;
    rc = train_pretrain_run(s, run, &opt, &res, path, sizeof path, err, sizeof err);
    json_decref(s);
    ck_assert_msg(rc == AG_EINVAL && strstr(err, "no checkpoint"), "rc %d (%s)", rc, err);
}
END_TEST

/* ---- resume ---- */

/* the run of spec_text into run with opt: its return code */
static int run_with(const char *spec_text, const char *run, const TrainPretrainOptions *opt,
                    char *path, size_t path_sz, char *err, size_t err_sz) {
    json_t *spec = jparse(spec_text);
    TrainPretrainResult res;
    int rc = train_pretrain_run(spec, run, opt, &res, path, path_sz, err, err_sz);
    json_decref(spec);
    return rc;
}

/* the rows of a run without their wall times (the one column a stop may change) */
static json_t *rows_but_wall(const char *run) {
    json_t *rows = metrics_read(run);
    size_t i;
    json_t *r;
    json_array_foreach(rows, i, r) {
        ck_assert(json_is_real(json_object_get(r, "wall_s")));
        json_object_del(r, "wall_s");
    }
    return rows;
}

/* the sections of two checkpoints that training moves: weights and Adam's state */
static void ckpt_assert_same_training(const char *a, const char *b) {
    static const char *const names[] = {"params", "adam.m", "adam.v", "adam.state"};
    char err[512];
    NnCkpt *x = nn_ckpt_read(a, err, sizeof err), *y = nn_ckpt_read(b, err, sizeof err);
    ck_assert_ptr_nonnull(x);
    ck_assert_ptr_nonnull(y);
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        uint64_t nx = 0, ny = 0;
        const void *dx = nn_ckpt_section(x, names[i], &nx), *dy = nn_ckpt_section(y, names[i], &ny);
        ck_assert_ptr_nonnull(dx);
        ck_assert_ptr_nonnull(dy);
        ck_assert_uint_eq(nx, ny);
        ck_assert_msg(memcmp(dx, dy, (size_t)nx) == 0, "%s and %s differ in %s", a, b, names[i]);
    }
    nn_ckpt_free(x);
    nn_ckpt_free(y);
}

/* A run stopped at an epoch's end and again in the middle of one, then resumed to its end,
 * writes the same rows (wall time aside) and ends with the same weights and Adam state, to the
 * bit, as one run straight through; the cosine schedule's rates are in the rows, falling to
 * lr_min at the last minibatch */
START_TEST(test_pretrain_resume_same_as_straight) {
    char data[320], straight[320], stopped[320], spec[800], path[128] = "", err[1024] = "";
    char a[400], b[400];
    snprintf(data, sizeof data, "%s/d.h5", g_dir);
    snprintf(straight, sizeof straight, "%s/straight", g_dir);
    snprintf(stopped, sizeof stopped, "%s/stopped", g_dir);
    data_make("{\"samples\": 24, \"image_size\": 8, \"seed\": 3}", data);
    /* 21 training images in minibatches of 4: 6 per epoch, the last of 1 */
    snprintf(spec, sizeof spec,
             "{\"data\": \"%s\", \"epochs\": 3, \"batch_size\": 4, \"learning_rate\": 0.003, "
             "\"lr_schedule\": \"cosine\", \"lr_min\": 0.0001}",
             data);
    ck_assert_msg(run_with(spec, straight, &quiet_run, path, sizeof path, err, sizeof err) == 0,
                  "%s", err);

    /* 6 minibatches: the end of epoch 1, stopped before epoch 2 is shuffled */
    TrainPretrainOptions opt = {.quiet = 1, .stop_after = 6};
    int rc = run_with(spec, stopped, &opt, path, sizeof path, err, sizeof err);
    ck_assert_msg(rc == AG_EINTERRUPTED, "rc %d (%s)", rc, err);
    json_t *rows = metrics_read(stopped);
    ck_assert_uint_eq(json_array_size(rows), 1);
    json_decref(rows);
    /* 8 more: epoch 3 after 2 of its minibatches */
    opt.resume = 1;
    opt.stop_after = 8;
    rc = run_with(spec, stopped, &opt, path, sizeof path, err, sizeof err);
    ck_assert_msg(rc == AG_EINTERRUPTED, "rc %d (%s)", rc, err);
    rows = metrics_read(stopped);
    ck_assert_uint_eq(json_array_size(rows), 2);
    json_decref(rows);
    status_assert(stopped, "stopped", 2, 3);
    /* a row past the checkpoint (written before a crash could write its checkpoint) is dropped
     * on resume, not kept twice */
    snprintf(a, sizeof a, "%s/metrics.jsonl", stopped);
    FILE *f = fopen(a, "a");
    ck_assert_ptr_nonnull(f);
    fputs("{\"iteration\": 3, \"wall_s\": 1.0}\n", f);
    fclose(f);
    opt.stop_after = 0;
    rc = run_with(spec, stopped, &opt, path, sizeof path, err, sizeof err);
    ck_assert_msg(rc == 0, "rc %d (%s)", rc, err);
    status_assert(stopped, "done", 3, 3);

    json_t *want = rows_but_wall(straight), *got = rows_but_wall(stopped);
    ck_assert_uint_eq(json_array_size(want), 3);
    ck_assert_msg(json_equal(want, got), "the resumed run's rows differ from the straight run's");
    /* the schedule: falling over the run, lr_min at its last minibatch */
    double lr1 = json_real_value(json_object_get(json_array_get(want, 0), "lr"));
    double lr3 = json_real_value(json_object_get(json_array_get(want, 2), "lr"));
    ck_assert(lr1 < 0.003 && lr1 > lr3);
    ck_assert_double_eq(lr3, 0.0001);
    json_decref(want);
    json_decref(got);
    const char *names[] = {"last.ckpt", "best.ckpt"};
    for (int i = 0; i < 2; i++) {
        snprintf(a, sizeof a, "%s/checkpoints/%s", straight, names[i]);
        snprintf(b, sizeof b, "%s/checkpoints/%s", stopped, names[i]);
        ckpt_assert_same_training(a, b);
    }

    /* a finished run resumed has nothing to do: its rows stay as they are */
    rc = run_with(spec, stopped, &opt, path, sizeof path, err, sizeof err);
    ck_assert_msg(rc == 0, "rc %d (%s)", rc, err);
    rows = metrics_read(stopped);
    ck_assert_uint_eq(json_array_size(rows), 3);
    json_decref(rows);
}
END_TEST

static void resume_refused(const char *spec_text, const char *run, int want_rc,
                           const char *want_path, const char *words) {
    char path[128] = "", err[1024] = "";
    TrainPretrainOptions opt = {.quiet = 1, .resume = 1};
    int rc = run_with(spec_text, run, &opt, path, sizeof path, err, sizeof err);
    ck_assert_msg(rc == want_rc, "%s: rc %d, want %d (%s)", spec_text, rc, want_rc, err);
    ck_assert_msg(!strcmp(path, want_path), "%s: path %s, want %s (%s)", spec_text, path, want_path,
                  err);
    ck_assert_msg(strstr(err, words) != NULL, "%s: %s", spec_text, err);
}

/* a resume without a checkpoint, or with one of another spec or dataset, is refused before the
 * run directory changes; time_limit_s may change */
START_TEST(test_pretrain_resume_refusals) {
    char data[320], run[320], spec[800], other[800], path[128] = "", err[1024] = "", m[400];
    snprintf(data, sizeof data, "%s/d.h5", g_dir);
    snprintf(run, sizeof run, "%s/run", g_dir);
    data_make("{\"samples\": 12, \"image_size\": 8, \"seed\": 3}", data);
    snprintf(spec, sizeof spec, "{\"data\": \"%s\", \"epochs\": 4, \"batch_size\": 4}", data);

    resume_refused(spec, run, AG_EINVAL, "", "no checkpoint");
    TrainPretrainOptions opt = {.quiet = 1, .stop_after = 5};
    ck_assert_int_eq(run_with(spec, run, &opt, path, sizeof path, err, sizeof err),
                     AG_EINTERRUPTED);
    snprintf(m, sizeof m, "%s/metrics.jsonl", run);
    struct stat before, after;
    ck_assert_int_eq(stat(m, &before), 0);

    snprintf(other, sizeof other, "{\"data\": \"%s\", \"epochs\": 4, \"batch_size\": 3}", data);
    resume_refused(other, run, AG_ESPEC, "batch_size", "another spec");
    snprintf(other, sizeof other,
             "{\"data\": \"%s\", \"epochs\": 4, \"batch_size\": 4, \"lr_schedule\": \"cosine\"}",
             data);
    resume_refused(other, run, AG_ESPEC, "lr_schedule", "another spec");
    snprintf(other, sizeof other,
             "{\"data\": \"%s\", \"epochs\": 4, \"batch_size\": 4, \"rotation\": \"6d\"}", data);
    resume_refused(other, run, AG_ESPEC, "rotation", "another spec");
    /* the same path, other images: the labels tell */
    data_make("{\"samples\": 12, \"image_size\": 8, \"seed\": 4}", data);
    resume_refused(spec, run, AG_ESPEC, "data", "another dataset");
    /* the same scenes (the same labels) through another lens */
    data_make("{\"samples\": 12, \"image_size\": 8, \"seed\": 3, \"camera_fovy\": 30}", data);
    resume_refused(spec, run, AG_ESPEC, "data", "another camera");
    data_make("{\"samples\": 12, \"image_size\": 8, \"seed\": 3}", data);
    /* a checkpoint that is not one of pretraining's */
    char ck[400], junk[400];
    snprintf(ck, sizeof ck, "%s/checkpoints/last.ckpt", run);
    snprintf(junk, sizeof junk, "%s/junk", g_dir);
    ck_assert_int_eq(rename(ck, junk), 0);
    FILE *f = fopen(ck, "w");
    ck_assert_ptr_nonnull(f);
    fputs("not a checkpoint at all, only text\n", f);
    fclose(f);
    resume_refused(spec, run, AG_EINVAL, "", "");
    ck_assert_int_eq(rename(junk, ck), 0);
    ck_assert_int_eq(stat(m, &after), 0);
    ck_assert_int_eq(before.st_size, after.st_size);

    /* another time limit is no other run */
    snprintf(other, sizeof other,
             "{\"data\": \"%s\", \"epochs\": 4, \"batch_size\": 4, \"time_limit_s\": 3600}", data);
    opt.resume = 1;
    opt.stop_after = 0;
    ck_assert_msg(run_with(other, run, &opt, path, sizeof path, err, sizeof err) == 0, "%s", err);
    json_t *rows = metrics_read(run);
    ck_assert_uint_eq(json_array_size(rows), 4);
    json_decref(rows);
}
END_TEST

/* the rotation as two 3-vectors: the model predicts 9 numbers, the run's spec and checkpoint
 * say so, it learns the position as the quaternion form does, and its rotation errors are
 * angles (the loss's gradient is checked in test_nn_pose.c; on 216 images of 16x16 neither form
 * learns the rotation much in 12 epochs) */
START_TEST(test_pretrain_six_d_learns) {
    char data[320], run[320], err[1024], p[400];
    double baseline_mm =
        tiny_pretraining(", \"rotation\": \"6d\"", data, sizeof data, run, sizeof run);
    json_t *rows = metrics_read(run);
    ck_assert_uint_eq(json_array_size(rows), 12);
    double best_mm = INFINITY, first_deg = 0, last_deg = 0;
    for (size_t i = 0; i < 12; i++) {
        json_t *r = json_array_get(rows, i);
        double mm = json_real_value(json_object_get(r, "holdout_position_rmse_mm"));
        double deg = json_real_value(json_object_get(r, "holdout_rotation_median_deg"));
        ck_assert(isfinite(deg) && deg >= 0.0 && deg <= 180.0);
        first_deg = i == 0 ? deg : first_deg;
        last_deg = deg;
        best_mm = mm < best_mm ? mm : best_mm;
    }
    json_decref(rows);
    printf("6D pretraining: held-out position RMSE %.2f mm at best (the mean %.2f mm), median "
           "rotation error %.1f deg at epoch 1, %.1f at 12\n",
           best_mm, baseline_mm, first_deg, last_deg);
    ck_assert_msg(best_mm < 0.75 * baseline_mm, "best %.2f mm, baseline %.2f mm", best_mm,
                  baseline_mm);
    /* the run's spec and the checkpoint's model */
    snprintf(p, sizeof p, "%s/spec.json", run);
    json_t *written = json_load_file(p, 0, NULL);
    ck_assert_ptr_nonnull(written);
    ck_assert_str_eq(json_string_value(json_object_get(written, "rotation")), "6d");
    json_decref(written);
    snprintf(p, sizeof p, "%s/checkpoints/last.ckpt", run);
    NnCkpt *ck = nn_ckpt_read(p, err, sizeof err);
    ck_assert_msg(ck != NULL, "%s", err);
    uint64_t n = 0;
    const char *model = nn_ckpt_section(ck, "model", &n);
    ck_assert_ptr_nonnull(model);
    json_t *m = json_loadb(model, n, 0, NULL);
    ck_assert_int_eq(
        json_integer_value(json_object_get(json_object_get(m, "io"), "policy_outputs")), 9);
    json_decref(m);
    nn_ckpt_free(ck);
}
END_TEST

/* rewrites a pretraining checkpoint as a build before the choice of rotation form wrote it: its
 * run identity without "rotation" */
static void checkpoint_without_rotation(const char *file) {
    static const char *const names[] = {"model",        "params",         "adam.m",
                                        "adam.v",       "adam.state",     TRAIN_PRETRAIN_SECTION,
                                        "pretrain.run", "pretrain.state", "pretrain.order"};
    enum { N = sizeof names / sizeof names[0] };
    char err[512];
    NnCkpt *ck = nn_ckpt_read(file, err, sizeof err);
    ck_assert_msg(ck != NULL, "%s", err);
    NnCkptSection sections[N];
    char *run_text = NULL;
    int n = 0;
    for (int i = 0; i < N; i++) {
        uint64_t size = 0;
        const void *data = nn_ckpt_section(ck, names[i], &size);
        ck_assert_msg(data != NULL, "no section %s", names[i]);
        if (!strcmp(names[i], "pretrain.run")) {
            json_t *run = json_loadb(data, size, 0, NULL);
            ck_assert_ptr_nonnull(run);
            ck_assert_int_eq(json_object_del(json_object_get(run, "spec"), "rotation"), 0);
            run_text = json_dumps(run, JSON_COMPACT | JSON_SORT_KEYS);
            json_decref(run);
            data = run_text;
            size = strlen(run_text);
        }
        memset(sections[n].name, 0, sizeof sections[n].name);
        snprintf(sections[n].name, sizeof sections[n].name, "%s", names[i]);
        sections[n].data = data;
        sections[n].size = size;
        n++;
    }
    ck_assert_msg(nn_ckpt_write(file, sections, n, err, sizeof err) == 0, "%s", err);
    free(run_text);
    nn_ckpt_free(ck);
}

/* a run checkpointed before the rotation form could be chosen predicted quaternions: it resumes
 * under a spec that leaves the form out or names "quaternion", and not under "6d" */
START_TEST(test_pretrain_resume_before_rotation_forms) {
    char data[320], run[320], spec[800], other[800], path[128] = "", err[1024] = "", ck[400];
    snprintf(data, sizeof data, "%s/d.h5", g_dir);
    snprintf(run, sizeof run, "%s/run", g_dir);
    data_make("{\"samples\": 12, \"image_size\": 8, \"seed\": 3}", data);
    snprintf(spec, sizeof spec, "{\"data\": \"%s\", \"epochs\": 3, \"batch_size\": 4}", data);
    TrainPretrainOptions opt = {.quiet = 1, .stop_after = 3};
    ck_assert_int_eq(run_with(spec, run, &opt, path, sizeof path, err, sizeof err),
                     AG_EINTERRUPTED);
    snprintf(ck, sizeof ck, "%s/checkpoints/last.ckpt", run);
    checkpoint_without_rotation(ck);
    snprintf(other, sizeof other,
             "{\"data\": \"%s\", \"epochs\": 3, \"batch_size\": 4, \"rotation\": \"6d\"}", data);
    resume_refused(other, run, AG_ESPEC, "rotation", "another spec");
    snprintf(other, sizeof other,
             "{\"data\": \"%s\", \"epochs\": 3, \"batch_size\": 4, \"rotation\": \"quaternion\"}",
             data);
    opt.resume = 1;
    opt.stop_after = 0;
    ck_assert_msg(run_with(other, run, &opt, path, sizeof path, err, sizeof err) == 0, "%s", err);
    status_assert(run, "done", 3, 3);
}
END_TEST

/* the check of a spec without a run: the verdicts a run would give before writing anything */
static void check_refused(const char *spec_text, const char *want_path) {
    char path[128] = "", err[1024] = "";
    json_t *spec = jparse(spec_text);
    int rc = train_pretrain_check(spec, path, sizeof path, err, sizeof err);
    json_decref(spec);
    ck_assert_msg(rc == AG_ESPEC, "%s: rc %d (%s)", spec_text, rc, err);
    ck_assert_msg(strcmp(path, want_path) == 0, "%s: path %s, want %s (%s)", spec_text, path,
                  want_path, err);
}

START_TEST(test_pretrain_check) {
    char data[320], spec[600], path[128] = "", err[1024] = "";
    snprintf(data, sizeof data, "%s/d.h5", g_dir);
    data_make("{\"samples\": 4, \"image_size\": 8}", data);
    snprintf(spec, sizeof spec, "{\"data\": \"%s\", \"epochs\": 2}", data);
    json_t *s = jparse(spec);
    ck_assert_msg(train_pretrain_check(s, path, sizeof path, err, sizeof err) == 0, "%s", err);
    json_decref(s);
    check_refused("{\"epochs\": 2}", "data");
    check_refused("{\"data\": \"/nonexistent/d.h5\"}", "data");
    snprintf(spec, sizeof spec, "{\"data\": \"%s\", \"model\": {\"trunk\": 3}}", data);
    check_refused(spec, "model");
    snprintf(spec, sizeof spec, "{\"data\": \"%s\", \"holdout\": 0.9}", data);
    check_refused(spec, "holdout");
    /* a file that is not a dataset */
    char other[400];
    snprintf(other, sizeof other, "%s/other.txt", g_dir);
    FILE *f = fopen(other, "w");
    ck_assert_ptr_nonnull(f);
    fputs("not a dataset\n", f);
    fclose(f);
    snprintf(spec, sizeof spec, "{\"data\": \"%s\"}", other);
    check_refused(spec, "data");
}
END_TEST

static TrainPretrainEval evaluated(const char *ckpt, const char *data) {
    TrainPretrainEval e;
    char err[1024] = "";
    int rc = train_pretrain_evaluate(ckpt, data, &e, err, sizeof err);
    ck_assert_msg(rc == 0, "%s on %s: %s", ckpt, data, err);
    return e;
}

static void evaluate_refused(const char *ckpt, const char *data, int want_rc, const char *want) {
    TrainPretrainEval e;
    char err[1024] = "";
    int rc = train_pretrain_evaluate(ckpt, data, &e, err, sizeof err);
    ck_assert_msg(rc == want_rc, "%s on %s: rc %d, want %d (%s)", ckpt, data, rc, want_rc, err);
    ck_assert_msg(strstr(err, want) != NULL, "message \"%s\" lacks \"%s\"", err, want);
}

/* An encoder scored on another file: on the run's whole dataset less its first 216 scenes (the
 * same seed renders the same scenes first), the figures are the run's own held-out ones at its
 * last epoch; on scenes of another seed it has learnt more than the mean; a dataset of another
 * image size or camera, a missing file and a checkpoint that is not a pretraining's are refused */
START_TEST(test_pretrain_evaluate) {
    char data[320], run[320], ckpt[400], prefix[400], fresh[400], err[1024];
    tiny_pretraining("", data, sizeof data, run, sizeof run);
    snprintf(ckpt, sizeof ckpt, "%s/checkpoints/last.ckpt", run);
    snprintf(prefix, sizeof prefix, "%s/first216.h5", g_dir);
    data_make("{\"samples\": 216, \"image_size\": 16, \"seed\": 5, \"hand_spread\": 0}", prefix);
    TrainPretrainEval all = evaluated(ckpt, data), first = evaluated(ckpt, prefix);
    ck_assert_int_eq(all.images, 240);
    ck_assert_int_eq(first.images, 216);
    ck_assert_int_eq(all.image_size, 16);
    /* sums over the file less the sums over its first 216 images: the last 24, held out */
    double hold_sq = all.position_rmse_mm * all.position_rmse_mm * 240.0 -
                     first.position_rmse_mm * first.position_rmse_mm * 216.0;
    double hold_mm = sqrt(hold_sq / 24.0);
    double hold_deg = (all.rotation_mean_deg * 240.0 - first.rotation_mean_deg * 216.0) / 24.0;
    json_t *rows = metrics_read(run);
    json_t *last = json_array_get(rows, json_array_size(rows) - 1);
    double run_mm = json_real_value(json_object_get(last, "holdout_position_rmse_mm"));
    double run_deg = json_real_value(json_object_get(last, "holdout_rotation_mean_deg"));
    json_decref(rows);
    ck_assert_msg(fabs(hold_mm - run_mm) < 1e-3 * run_mm + 1e-6, "held out %.6f mm, run %.6f mm",
                  hold_mm, run_mm);
    ck_assert_msg(fabs(hold_deg - run_deg) < 1e-3 * run_deg + 1e-6,
                  "held out %.6f deg, run %.6f deg", hold_deg, run_deg);

    /* fresh scenes of the same kind: better than predicting their mean (about 20 mm) */
    snprintf(fresh, sizeof fresh, "%s/fresh.h5", g_dir);
    data_make("{\"samples\": 120, \"image_size\": 16, \"seed\": 6, \"hand_spread\": 0}", fresh);
    TrainPretrainEval f = evaluated(ckpt, fresh);
    ck_assert_int_eq(f.images, 120);
    ck_assert_msg(f.position_rmse_mm < 15.0, "fresh scenes: %.2f mm", f.position_rmse_mm);
    ck_assert(isfinite(f.rotation_median_deg) && f.rotation_median_deg <= 180.0);

    /* refusals */
    char other[400];
    snprintf(other, sizeof other, "%s/d8.h5", g_dir);
    data_make("{\"samples\": 4, \"image_size\": 8}", other);
    evaluate_refused(ckpt, other, AG_ESPEC, "holds 8x8 images");
    snprintf(other, sizeof other, "%s/d16-fovy30.h5", g_dir);
    data_make("{\"samples\": 4, \"image_size\": 16, \"camera_fovy\": 30}", other);
    evaluate_refused(ckpt, other, AG_ESPEC, "fovy 30");
    evaluate_refused(ckpt, "/nonexistent/d.h5", AG_ESPEC, "/nonexistent/d.h5");
    snprintf(other, sizeof other, "%s/plain.ckpt", g_dir);
    NnCkptSection sec = {.name = "model", .data = "{}", .size = 2};
    ck_assert_int_eq(nn_ckpt_write(other, &sec, 1, err, sizeof err), 0);
    evaluate_refused(other, data, AG_EINVAL, "not the checkpoint of a vision pretraining");
    snprintf(other, sizeof other, "%s/missing.ckpt", g_dir);
    TrainPretrainEval e;
    ck_assert_int_ne(train_pretrain_evaluate(other, data, &e, err, sizeof err), 0);
}
END_TEST

static Suite *pretrain_suite(void) {
    Suite *s = suite_create("train_pretrain");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 240);
    tcase_add_test(tc, test_dataset_file);
    tcase_add_test(tc, test_dataset_refusals);
    tcase_add_test(tc, test_pretrain_learns);
    tcase_add_test(tc, test_pretrain_refusals);
    tcase_add_test(tc, test_pretrain_stop);
    tcase_add_test(tc, test_pretrain_resume_same_as_straight);
    tcase_add_test(tc, test_pretrain_resume_refusals);
    tcase_add_test(tc, test_pretrain_six_d_learns);
    tcase_add_test(tc, test_pretrain_resume_before_rotation_forms);
    tcase_add_test(tc, test_pretrain_check);
    tcase_add_test(tc, test_pretrain_evaluate);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) {
    SRunner *sr = srunner_create(pretrain_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
