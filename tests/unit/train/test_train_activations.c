/* Tests of the activation recorder (server/train/train_activations.c) on real trainers, reading
 * the files back with the HDF5 library: every dataset of the layout with one row per step in
 * episode order, the episodes those of a plain evaluation, layer outputs that satisfy the LSTM's
 * equations, task variables that agree with the observation, waves narrowed to fit the staging
 * memory, feature maps averaged over space (--pool-conv), and bad files refused without a trace.
 * Two cases: "record" (CartPole) and "pixels" (HandBlock seen through an 8x8 camera), run as
 * separate CTest tests because rendering under ASan needs other sanitizer options. */
#include "train_activations.h"

#include "../rl/rl_test_util.h"
#include "ag_error.h"
#include "rl_ppo.h"

#include <check.h>
#include <hdf5.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char g_dir[256], g_path[300];

static void setup(void) {
    snprintf(g_dir, sizeof g_dir, "/tmp/angora-train-act-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(g_dir));
    snprintf(g_path, sizeof g_path, "%s/rec.h5", g_dir);
}

static void teardown(void) {
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", g_dir);
    ck_assert_int_eq(system(cmd), 0);
}

static RlTrainer *make(const char *text, json_t **spec_json) {
    AgSpec spec;
    rl_test_spec(&spec, text);
    char err[512] = "";
    RlTrainer *t = NULL;
    ck_assert_msg(rl_trainer_create(&t, &spec, MPI_COMM_WORLD, err, sizeof err) == 0, "%s", err);
    *spec_json = ag_spec_to_json(&spec);
    ag_spec_free(&spec);
    return t;
}

static void record(RlTrainer *t, const json_t *spec, const char *path, int episodes, int det,
                   int pool, TrainActResult *res) {
    char err[512] = "";
    TrainActOpts o = {.out = path,
                      .spec = spec,
                      .episodes = episodes,
                      .deterministic = det,
                      .pool_conv = pool,
                      .seed = 99};
    int rc = train_activations_record(t, &o, res, err, sizeof err);
    ck_assert_msg(rc == 0, "recording: %s", err);
    ck_assert_int_eq(access(path, F_OK), 0);
}

/* ---- reading back ---- */

/* a dataset's values as floats (int32 converted), with its rows and columns */
static float *read_set(hid_t f, const char *name, hsize_t *rows, hsize_t *cols) {
    hid_t d = H5Dopen2(f, name, H5P_DEFAULT);
    ck_assert_msg(d >= 0, "no dataset %s", name);
    hid_t s = H5Dget_space(d);
    hsize_t dims[2] = {0, 1};
    int rank = H5Sget_simple_extent_ndims(s);
    H5Sget_simple_extent_dims(s, dims, NULL);
    float *v = malloc((size_t)(dims[0] * dims[1] + 1) * sizeof(float));
    ck_assert_int_ge(H5Dread(d, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, v), 0);
    H5Sclose(s);
    H5Dclose(d);
    *rows = dims[0];
    *cols = rank == 2 ? dims[1] : 1;
    return v;
}

static long long read_attr_int(hid_t f, const char *obj, const char *name) {
    hid_t a = H5Aopen_by_name(f, obj, name, H5P_DEFAULT, H5P_DEFAULT);
    ck_assert_msg(a >= 0, "no attribute %s of %s", name, obj);
    long long v = 0;
    H5Aread(a, H5T_NATIVE_LLONG, &v);
    H5Aclose(a);
    return v;
}

static void read_attr_str(hid_t f, const char *obj, const char *name, char *out, size_t out_sz) {
    hid_t a = H5Aopen_by_name(f, obj, name, H5P_DEFAULT, H5P_DEFAULT);
    ck_assert_msg(a >= 0, "no attribute %s of %s", name, obj);
    hid_t t = H5Aget_type(a);
    char *v = NULL;
    ck_assert_int_ge(H5Aread(a, t, &v), 0);
    snprintf(out, out_sz, "%s", v);
    H5free_memory(v);
    H5Tclose(t);
    H5Aclose(a);
}

/* ---- CartPole ---- */

START_TEST(test_record_cartpole_lstm) {
    json_t *spec;
    RlTrainer *t = make("{\"task\": \"CartPole\", \"model\": \"simple_lstm\", \"seed\": 5,"
                        " \"ppo\": {\"envs_per_rank\": 2, \"horizon\": 32, \"tbptt\": 8,"
                        " \"minibatch\": 32}}",
                        &spec);
    TrainActResult res;
    record(t, spec, g_path, 5, 0, 0, &res);
    /* the episodes of a plain evaluation with the same seed */
    RlEvalResult plain;
    char err[512];
    ck_assert(rl_trainer_evaluate(t, 5, 0, 99, &plain, err, sizeof err) == 0);
    ck_assert_double_eq(res.eval.mean, plain.mean);
    ck_assert_int_eq(res.steps, (int64_t)llround(plain.length_mean * 5));
    ck_assert_int_eq(res.wave, 5);

    hid_t f = H5Fopen(g_path, H5F_ACC_RDONLY, H5P_DEFAULT);
    ck_assert_int_ge(f, 0);
    char text[256];
    read_attr_str(f, "/", "format", text, sizeof text);
    ck_assert_str_eq(text, TRAIN_ACT_FORMAT);
    read_attr_str(f, "/", "task", text, sizeof text);
    ck_assert_str_eq(text, "CartPole");
    ck_assert_int_eq(read_attr_int(f, "/", "format_version"), 1);
    ck_assert_int_eq(read_attr_int(f, "/", "complete"), 1);
    ck_assert_int_eq(read_attr_int(f, "/", "steps"), res.steps);
    ck_assert_int_eq(read_attr_int(f, "/", "episodes"), 5);
    ck_assert_int_eq(read_attr_int(f, "/", "seed"), 99);

    /* one row per step, episode after episode */
    hsize_t N, c, n2, c2;
    float *ep = read_set(f, "/index/episode", &N, &c);
    float *st = read_set(f, "/index/step", &n2, &c2);
    float *done = read_set(f, "/variables/done", &n2, &c2);
    float *reward = read_set(f, "/variables/reward", &n2, &c2);
    ck_assert_uint_eq(N, (hsize_t)res.steps);
    double ret = 0;
    for (hsize_t i = 0; i < N; i++) {
        int first = i == 0 || ep[i] != ep[i - 1];
        ck_assert_float_eq(st[i], first ? 0.0f : st[i - 1] + 1.0f);
        ck_assert(i == 0 || ep[i] == ep[i - 1] || ep[i] == ep[i - 1] + 1.0f);
        ck_assert_float_eq(done[i], i + 1 == N || ep[i + 1] != ep[i] ? 1.0f : 0.0f);
        ret += reward[i];
    }
    ck_assert_float_eq(ep[N - 1], 4.0f);
    ck_assert_double_eq_tol(ret / 5, plain.mean, 1e-9);

    /* every probe, with its attributes */
    const NnModel *m = rl_trainer_model(t);
    for (int k = 0; k < nn_model_num_probes(m); k++) {
        char name[160];
        snprintf(name, sizeof name, "/layers/%s", nn_model_probe(m, k)->name);
        float *v = read_set(f, name, &n2, &c2);
        ck_assert_uint_eq(n2, N);
        ck_assert_uint_eq(c2, (hsize_t)nn_model_probe(m, k)->size);
        read_attr_str(f, name, "type", text, sizeof text);
        ck_assert_str_eq(text, nn_model_probe(m, k)->type);
        ck_assert_int_eq(read_attr_int(f, name, "pooled"), 0);
        free(v);
    }
    /* h = o * tanh(c) row by row */
    float *h = read_set(f, "/layers/policy.core.h", &n2, &c2);
    float *cc = read_set(f, "/layers/policy.core.c", &n2, &c2);
    float *o = read_set(f, "/layers/policy.core.gate_o", &n2, &c2);
    for (hsize_t j = 0; j < N * 64; j++) {
        ck_assert_double_eq_tol(h[j], o[j] * tanh(cc[j]), 1e-6);
    }
    /* the pole's angle is the observation's third value; the value is finite */
    float *obs = read_set(f, "/variables/obs.state", &n2, &c2);
    ck_assert_uint_eq(c2, 4);
    float *angle = read_set(f, "/variables/joint_angles", &n2, &c2);
    float *value = read_set(f, "/variables/value", &n2, &c2);
    float *params = read_set(f, "/variables/policy.params", &n2, &c2);
    ck_assert_uint_eq(c2, 2);
    float *act = read_set(f, "/variables/action", &n2, &c2);
    for (hsize_t i = 0; i < N; i++) {
        ck_assert_float_eq(angle[i], obs[i * 4 + 2]);
        ck_assert(isfinite(value[i]));
        ck_assert(act[i] == 0.0f || act[i] == 1.0f);
    }
    read_attr_str(f, "/variables/policy.params", "distribution", text, sizeof text);
    ck_assert_str_eq(text, "categorical");
    read_attr_str(f, "/variables/joint_angles", "units", text, sizeof text);
    ck_assert_str_eq(text, "rad");
    read_attr_str(f, "/variables/obs.state", "group", text, sizeof text);
    ck_assert_str_eq(text, "sensation");
    H5Fclose(f);
    float *all[] = {ep, st, done, reward, h, cc, o, obs, angle, value, params, act};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) {
        free(all[i]);
    }
    json_decref(spec);
    rl_trainer_destroy(t);
}
END_TEST

/* without an episode limit the staging estimate narrows the wave; rows still come in episode
 * order, and deterministic episodes are a plain evaluation's */
START_TEST(test_record_narrow_wave) {
    json_t *spec;
    RlTrainer *t = make("{\"task\": \"CartPole\", \"task_options\": {\"max_episode_steps\": 0},"
                        " \"ppo\": {\"envs_per_rank\": 2, \"horizon\": 32, \"minibatch\": 32}}",
                        &spec);
    TrainActResult res;
    record(t, spec, g_path, 11, 1, 0, &res);
    ck_assert_int_gt(res.wave, 1);
    ck_assert_int_lt(res.wave, 11);
    RlEvalResult plain;
    char err[512];
    ck_assert(rl_trainer_evaluate(t, 11, 1, 99, &plain, err, sizeof err) == 0);
    ck_assert_double_eq(res.eval.mean, plain.mean);
    hid_t f = H5Fopen(g_path, H5F_ACC_RDONLY, H5P_DEFAULT);
    hsize_t N, c;
    float *ep = read_set(f, "/index/episode", &N, &c);
    for (hsize_t i = 1; i < N; i++) {
        ck_assert(ep[i] == ep[i - 1] || ep[i] == ep[i - 1] + 1.0f);
    }
    ck_assert_float_eq(ep[N - 1], 10.0f);
    H5Fclose(f);
    free(ep);
    json_decref(spec);
    rl_trainer_destroy(t);
}
END_TEST

START_TEST(test_record_refusals) {
    json_t *spec;
    RlTrainer *t = make("{\"task\": \"CartPole\", \"ppo\": {\"envs_per_rank\": 2, \"horizon\": 32,"
                        " \"minibatch\": 32}}",
                        &spec);
    char err[512] = "", path[400];
    TrainActResult res;
    snprintf(path, sizeof path, "%s/none/rec.h5", g_dir);
    TrainActOpts o = {.out = path, .spec = spec, .episodes = 2, .seed = 1};
    ck_assert_int_eq(train_activations_record(t, &o, &res, err, sizeof err), AG_EIO);
    ck_assert_ptr_nonnull(strstr(err, "No such file"));
    o.out = g_path;
    o.episodes = 0;
    ck_assert_int_eq(train_activations_record(t, &o, &res, err, sizeof err), AG_EINVAL);
    /* a checkpoint that cannot be read is refused before anything is written */
    o.episodes = 1;
    o.checkpoint = path;
    ck_assert_int_eq(train_activations_record(t, &o, &res, err, sizeof err), AG_EIO);
    ck_assert_int_ne(access(g_path, F_OK), 0);
    char part[320];
    snprintf(part, sizeof part, "%s.part", g_path);
    ck_assert_int_ne(access(part, F_OK), 0);
    /* the hash of a known file */
    char hex[65];
    FILE *fp = fopen(g_path, "w");
    fputs("abc", fp);
    fclose(fp);
    ck_assert_int_eq(train_sha256_file(g_path, hex, err, sizeof err), 0);
    ck_assert_str_eq(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    json_decref(spec);
    rl_trainer_destroy(t);
}
END_TEST

/* ---- pixels ---- */

/* feature maps averaged over space are the means of the full maps of the same episodes */
START_TEST(test_record_pooled_pixels) {
    json_t *spec;
    RlTrainer *t = make("{\"task\": \"HandBlock\", \"model\": \"pathways\", \"preset\": \"hand\","
                        " \"task_options\": {\"vision\": \"pixels\", \"image_size\": 8,"
                        " \"max_episode_steps\": 3},"
                        " \"ppo\": {\"envs_per_rank\": 1, \"horizon\": 16, \"minibatch\": 16,"
                        " \"tbptt\": 8}}",
                        &spec);
    char pooled[320];
    snprintf(pooled, sizeof pooled, "%s/pooled.h5", g_dir);
    TrainActResult a, b;
    record(t, spec, g_path, 2, 1, 0, &a);
    record(t, spec, pooled, 2, 1, 1, &b);
    ck_assert_int_eq(a.steps, b.steps);
    hid_t fa = H5Fopen(g_path, H5F_ACC_RDONLY, H5P_DEFAULT);
    hid_t fb = H5Fopen(pooled, H5F_ACC_RDONLY, H5P_DEFAULT);
    const char *name = "/layers/policy.in.vision.0.conv2d";
    hsize_t N, C, NP, CP;
    float *full = read_set(fa, name, &N, &C);
    float *mean = read_set(fb, name, &NP, &CP);
    ck_assert_uint_eq(N, NP);
    ck_assert_uint_eq(C, 32 * 8 * 8);
    ck_assert_uint_eq(CP, 32);
    ck_assert_int_eq(read_attr_int(fb, name, "pooled"), 1);
    ck_assert_int_eq(read_attr_int(fa, name, "pooled"), 0);
    for (hsize_t i = 0; i < N; i++) {
        for (int ch = 0; ch < 32; ch++) {
            double s = 0;
            for (int k = 0; k < 64; k++) {
                s += full[i * C + (hsize_t)ch * 64 + k];
            }
            ck_assert_double_eq_tol(mean[i * CP + ch], s / 64, 1e-5);
        }
    }
    /* the camera image and the block's pose are recorded too */
    hsize_t n2, c2;
    float *img = read_set(fa, "/variables/obs.vision", &n2, &c2);
    ck_assert_uint_eq(c2, 3 * 8 * 8);
    char view[64];
    read_attr_str(fa, "/variables/obs.vision", "view", view, sizeof view);
    ck_assert_str_eq(view, "palm_cam, fovy 45");
    float *quat = read_set(fa, "/variables/object_quaternion", &n2, &c2);
    ck_assert_uint_eq(c2, 4);
    ck_assert_uint_eq(n2, N);
    H5Fclose(fa);
    H5Fclose(fb);
    free(full);
    free(mean);
    free(img);
    free(quat);
    json_decref(spec);
    rl_trainer_destroy(t);
}
END_TEST

static Suite *activations_suite(void) {
    Suite *s = suite_create("train_activations");
    TCase *tc = tcase_create("record");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, test_record_cartpole_lstm);
    tcase_add_test(tc, test_record_narrow_wave);
    tcase_add_test(tc, test_record_refusals);
    suite_add_tcase(s, tc);
    TCase *px = tcase_create("pixels");
    tcase_add_checked_fixture(px, setup, teardown);
    tcase_set_timeout(px, 300);
    tcase_add_test(px, test_record_pooled_pixels);
    suite_add_tcase(s, px);
    return s;
}

int main(void) {
    return rl_test_run_suite(activations_suite());
}
