/* Tests of a pretrained encoder in a model (server/nn/nn_model_encoder.c): its weights copied
 * into every network's pathway at init; frozen, they stay bit for bit through training steps
 * and the pathway's backward pass never runs (counted), while a fine-tuned one changes; a
 * frozen one's output taken from feature rows gives the training forward and backward of the
 * observations without running its pathway (counted); and the refusals, each naming the JSON path:
 * a missing checkpoint, a checkpoint that is no encoder's, images of another size, other pathway
 * layers (among them the two pathways presets' layouts), bad members of model.encoder. */
#include "ag_error.h"
#include "ag_rng.h"
#include "nn_ckpt.h"
#include "nn_model.h"
#include "nn_optim.h"
#include "nn_test_encoder.h"

#include <check.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define IMG 8

static char dir[256], enc_path[300], plain_path[300];

static const char *const pathway_json =
    "[{\"type\": \"conv2d\", \"filters\": 4, \"kernel\": 3, \"padding\": \"same\"}, \"relu\", "
    "\"spatial_softmax\"]";

static json_t *json_text(const char *fmt, const char *a, const char *b) {
    char text[2048];
    snprintf(text, sizeof text, fmt, a, b);
    json_error_t je;
    json_t *j = json_loads(text, 0, &je);
    ck_assert_msg(j != NULL, "%s: %s", text, je.text);
    return j;
}

static void io_image(NnIoSpec *io, int size, int with_proprio, int outputs, int logstd) {
    memset(io, 0, sizeof *io);
    io->num_inputs = with_proprio ? 2 : 1;
    snprintf(io->inputs[0].name, NN_NAME_MAX, "vision");
    io->inputs[0].shape[0] = 3;
    io->inputs[0].shape[1] = io->inputs[0].shape[2] = size;
    io->inputs[0].size = 3 * size * size;
    io->obs_size = io->inputs[0].size;
    if (with_proprio) {
        NnInputSpec *p = &io->inputs[1];
        snprintf(p->name, NN_NAME_MAX, "proprioception");
        p->shape[0] = 4;
        p->shape[1] = p->shape[2] = 1;
        p->size = 4;
        p->offset = io->obs_size;
        io->obs_size += 4;
    }
    io->policy_outputs = outputs;
    io->logstd_dim = logstd;
}

/* a checkpoint as angora-train --pretrain writes it (with its "pretrain" section or without),
 * of the pictures of camera view ("" for none recorded) */
static void encoder_write(const char *path, int with_section, const char *view) {
    NnIoSpec io;
    io_image(&io, IMG, 0, 7, 0);
    snprintf(io.inputs[0].view, NN_VIEW_MAX, "%s", view);
    char desc[1024];
    snprintf(desc, sizeof desc,
             "{\"inputs\": {\"vision\": {\"pathway\": %s}}, \"trunk\": [{\"type\": "
             "\"dense\", \"units\": 8}, \"tanh\"], \"shared\": true}",
             pathway_json);
    encoder_ckpt_save(desc, &io, 11,
                      with_section ? "{\"input\": \"vision\", \"image_size\": 8}" : NULL, path);
}

static void setup(void) {
    snprintf(dir, sizeof dir, "/tmp/angora_encoder_test.XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(enc_path, sizeof enc_path, "%s/encoder.ckpt", dir);
    snprintf(plain_path, sizeof plain_path, "%s/plain.ckpt", dir);
    encoder_write(enc_path, 1, "");
    encoder_write(plain_path, 0, "");
}

static void teardown(void) {
    unlink(enc_path);
    unlink(plain_path);
    ck_assert_int_eq(rmdir(dir), 0);
}

/* a two-input model whose vision pathway, of pictures from camera view, takes the encoder */
static NnModel *model_with_encoder_view(const char *ckpt, const char *freeze, int size,
                                        const char *view, char *err, size_t err_sz) {
    NnIoSpec io;
    io_image(&io, size, 1, 2, 2);
    snprintf(io.inputs[0].view, NN_VIEW_MAX, "%s", view);
    char enc[600];
    snprintf(enc, sizeof enc, "{\"checkpoint\": \"%s\", \"freeze\": %s}", ckpt, freeze);
    json_t *d = json_text("{\"inputs\": {\"vision\": {\"pathway\": %s}, \"proprioception\": "
                          "{\"pathway\": [{\"type\": \"dense\", \"units\": 8}, \"tanh\"]}}, "
                          "\"trunk\": [{\"type\": \"dense\", \"units\": 16}, \"tanh\"], "
                          "\"encoder\": %s}",
                          pathway_json, enc);
    NnModel *m = nn_model_create(d, &io, err, err_sz);
    json_decref(d);
    return m;
}

static NnModel *model_with_encoder(const char *ckpt, const char *freeze, int size, char *err,
                                   size_t err_sz) {
    return model_with_encoder_view(ckpt, freeze, size, "", err, err_sz);
}

/* the values of the tensors of the vision pathway, every network's, in table order */
static size_t vision_values(const NnModel *m, float *out) {
    size_t n = 0;
    const float *p = nn_model_params_const(m);
    for (int t = 0; t < nn_model_num_tensors(m); t++) {
        if (strstr(nn_model_tensor_name(m, t), ".in.vision.")) {
            memcpy(out + n, p + nn_model_tensor_offset(m, t),
                   nn_model_tensor_size(m, t) * sizeof(float));
            n += nn_model_tensor_size(m, t);
        }
    }
    return n;
}

/* steps of Adam on a fixed target through both heads */
static void train_steps(NnModel *m, int steps) {
    const int B = 4;
    const NnIoSpec *io = nn_model_io(m);
    float *obs = malloc(sizeof(float) * B * (size_t)io->obs_size);
    float pol[4 * 4], val[4], dpol[4 * 4], dval[4];
    AgRng rng;
    ag_rng_seed(&rng, 3, 0);
    for (int i = 0; i < B * io->obs_size; i++) {
        obs[i] = (float)ag_rng_uniform(&rng);
    }
    NnAdam adam;
    ck_assert_int_eq(nn_adam_init(&adam, nn_model_num_params(m), 0.9f, 0.999f, 1e-8f), 0);
    NnTrainCtx *ctx = nn_train_ctx_create(m, B, 1);
    for (int s = 0; s < steps; s++) {
        nn_model_zero_grad(m);
        nn_model_forward(m, ctx, B, obs, NULL, NULL, pol, val);
        for (int i = 0; i < B * 4; i++) {
            dpol[i] = pol[i] - 1.0f;
        }
        for (int i = 0; i < B; i++) {
            dval[i] = val[i] + 1.0f;
        }
        nn_model_backward(m, ctx, dpol, dval);
        nn_adam_step(&adam, nn_model_params(m), nn_model_grads(m), 1e-2f);
    }
    nn_train_ctx_destroy(ctx);
    nn_adam_free(&adam);
    free(obs);
}

START_TEST(test_encoder_loaded_into_every_network) {
    char err[1024] = "";
    NnModel *m = model_with_encoder(enc_path, "true", IMG, err, sizeof err);
    ck_assert_msg(m != NULL, "%s", err);
    AgRng rng;
    ag_rng_seed(&rng, 99, 0);
    nn_model_init_params(m, &rng);
    /* the encoder's conv weights: policy and value pathways both hold them */
    NnCkpt *ck = nn_ckpt_read(enc_path, err, sizeof err);
    ck_assert_ptr_nonnull(ck);
    uint64_t size = 0;
    const float *saved = nn_ckpt_section(ck, "params", &size);
    /* the saved model's first tensor is its conv weight "shared.in.vision.0.w" (4 x 27) */
    int found = 0;
    for (int t = 0; t < nn_model_num_tensors(m); t++) {
        const char *name = nn_model_tensor_name(m, t);
        if (strstr(name, ".in.vision.0.w")) {
            ck_assert_uint_eq(nn_model_tensor_size(m, t), 4 * 27);
            ck_assert(memcmp(nn_model_params_const(m) + nn_model_tensor_offset(m, t), saved,
                             4 * 27 * sizeof(float)) == 0);
            found++;
        }
    }
    ck_assert_int_eq(found, 2);
    nn_ckpt_free(ck);
    /* the description names it, and builds the same model again */
    json_t *d = nn_model_describe(m);
    json_t *e = json_object_get(d, "encoder");
    ck_assert_str_eq(json_string_value(json_object_get(e, "checkpoint")), enc_path);
    ck_assert(json_is_true(json_object_get(e, "freeze")));
    ck_assert_str_eq(json_string_value(json_object_get(e, "input")), "vision");
    NnModel *again = nn_model_create(d, nn_model_io(m), err, sizeof err);
    ck_assert_msg(again != NULL, "%s", err);
    ck_assert_uint_eq(nn_model_num_params(again), nn_model_num_params(m));
    nn_model_destroy(again);
    json_decref(d);
    nn_model_destroy(m);
}
END_TEST

/* 5 training steps of a model with the encoder, frozen or not: whether the encoder's values
 * and the whole parameter block changed, and the backward passes of each input's pathway */
typedef struct TrainOutcome {
    int encoder_changed, params_changed;
    int64_t vision_backward, proprio_backward;
} TrainOutcome;

static TrainOutcome train_with_encoder(const char *freeze) {
    char err[1024] = "";
    NnModel *m = model_with_encoder(enc_path, freeze, IMG, err, sizeof err);
    ck_assert_msg(m != NULL, "%s", err);
    AgRng rng;
    ag_rng_seed(&rng, 99, 0);
    nn_model_init_params(m, &rng);
    size_t np = nn_model_num_params(m);
    float *before = malloc(np * sizeof(float)), *after = malloc(np * sizeof(float));
    float *all = malloc(np * sizeof(float));
    size_t nv = vision_values(m, before);
    memcpy(all, nn_model_params_const(m), np * sizeof(float));
    train_steps(m, 5);
    ck_assert_uint_eq(vision_values(m, after), nv);
    ck_assert_uint_gt(nv, 0);
    TrainOutcome o = {memcmp(before, after, nv * sizeof(float)) != 0,
                      memcmp(all, nn_model_params_const(m), np * sizeof(float)) != 0,
                      nn_model_pathway_backward_count(m, 0), nn_model_pathway_backward_count(m, 1)};
    free(before);
    free(after);
    free(all);
    nn_model_destroy(m);
    return o;
}

START_TEST(test_frozen_encoder_unchanged_no_backward) {
    TrainOutcome o = train_with_encoder("true");
    /* bit for bit the loaded values; the pathway was never differentiated, the other input's
     * was (policy and value network, 5 steps), and the rest of the model learnt */
    ck_assert(!o.encoder_changed);
    ck_assert_int_eq(o.vision_backward, 0);
    ck_assert_int_eq(o.proprio_backward, 5 * 2);
    ck_assert(o.params_changed);
}
END_TEST

START_TEST(test_fine_tuned_encoder_changes) {
    TrainOutcome o = train_with_encoder("false");
    ck_assert(o.encoder_changed);
    ck_assert_int_eq(o.vision_backward, 5 * 2);
    ck_assert_int_eq(o.proprio_backward, 5 * 2);
}
END_TEST

/* the largest difference of a and b (n values) relative to max(1, |a|, |b|) */
static double max_rel_diff(const float *a, const float *b, size_t n) {
    double worst = 0.0;
    for (size_t i = 0; i < n; i++) {
        double scale = fmax(1.0, fmax(fabs(a[i]), fabs(b[i])));
        worst = fmax(worst, fabs((double)a[i] - b[i]) / scale);
    }
    return worst;
}

/* One batch through the training forward and backward twice: from the observations, and from
 * the feature rows the inference step made of them. The outputs and every gradient agree; the
 * vision pathway runs (forward, counted) only for the observations when the encoder is frozen. */
static void features_against_observations(const char *freeze) {
    enum { B = 6, W = 4 }; /* W: policy outputs + log-std of io_image(.., 2, 2) */
    char err[1024] = "";
    NnModel *m = model_with_encoder(enc_path, freeze, IMG, err, sizeof err);
    ck_assert_msg(m != NULL, "%s", err);
    AgRng rng;
    ag_rng_seed(&rng, 7, 0);
    nn_model_init_params(m, &rng);
    int frozen = strcmp(freeze, "true") == 0;
    const NnIoSpec *io = nn_model_io(m);
    int O = io->obs_size, R = nn_model_feature_row_size(m);
    /* frozen: the 3x8x8 image (192 floats) becomes the spatial softmax's 4 x (x, y) */
    ck_assert_int_eq(nn_model_feature_input(m), frozen ? 0 : -1);
    ck_assert_int_eq(R, frozen ? 8 + 4 : O);
    size_t np = nn_model_num_params(m);
    float *obs = malloc(sizeof(float) * B * O), *rows = malloc(sizeof(float) * B * R);
    float *grads_obs = malloc(np * sizeof(float));
    float pol[2][B * W], val[2][B], step_pol[B * W], step_val[B], dpol[B * W], dval[B];
    for (int i = 0; i < B * O; i++) {
        obs[i] = (float)ag_rng_uniform(&rng);
    }
    for (int i = 0; i < B * W; i++) {
        dpol[i] = (float)ag_rng_uniform(&rng) - 0.5f;
    }
    for (int i = 0; i < B; i++) {
        dval[i] = (float)ag_rng_uniform(&rng) - 0.5f;
    }
    NnStepCtx *step = nn_step_ctx_create(m, B);
    nn_model_step(m, step, B, obs, NULL, NULL, step_pol, step_val);
    /* a frozen encoder runs once for both networks; the proprioception's pathway twice */
    ck_assert_int_eq(nn_step_ctx_pathway_count(step, 0), frozen ? 1 : 2);
    ck_assert_int_eq(nn_step_ctx_pathway_count(step, 1), 2);
    nn_model_step_feature_rows(m, step, B, obs, rows, (size_t)R);
    /* the proprioception follows the features unchanged */
    for (int r = 0; r < B; r++) {
        ck_assert(memcmp(rows + (size_t)r * R + R - 4, obs + (size_t)r * O + O - 4,
                         4 * sizeof(float)) == 0);
    }
    NnTrainCtx *ctx = nn_train_ctx_create(m, B, 1);
    nn_model_zero_grad(m);
    nn_model_forward(m, ctx, B, obs, NULL, NULL, pol[0], val[0]);
    nn_model_backward(m, ctx, dpol, dval);
    memcpy(grads_obs, nn_model_grads(m), np * sizeof(float));
    ck_assert_int_eq(nn_model_pathway_forward_count(m, 0), 2); /* policy and value network */
    ck_assert_int_eq(nn_model_pathway_forward_count(m, 1), 2);
    nn_model_zero_grad(m);
    nn_model_forward_features(m, ctx, B, rows, NULL, NULL, pol[1], val[1]);
    nn_model_backward(m, ctx, dpol, dval);
    ck_assert_int_eq(nn_model_pathway_forward_count(m, 0), frozen ? 2 : 4);
    ck_assert_int_eq(nn_model_pathway_forward_count(m, 1), 4);
    ck_assert_int_eq(nn_model_pathway_backward_count(m, 0), frozen ? 0 : 4);
    /* a workspace for feature rows alone: smaller by at least the images when frozen, the
     * same pass */
    NnTrainCtx *fctx = nn_train_ctx_create_features(m, B, 1);
    ck_assert_ptr_nonnull(fctx);
    if (frozen) {
        ck_assert_uint_lt(nn_train_ctx_bytes(fctx) + sizeof(float) * B * 192,
                          nn_train_ctx_bytes(ctx));
    } else {
        ck_assert_uint_eq(nn_train_ctx_bytes(fctx), nn_train_ctx_bytes(ctx));
    }
    float *grads_rows = malloc(np * sizeof(float)), fpol[B * W], fval[B];
    memcpy(grads_rows, nn_model_grads(m), np * sizeof(float));
    nn_model_zero_grad(m);
    nn_model_forward_features(m, fctx, B, rows, NULL, NULL, fpol, fval);
    nn_model_backward(m, fctx, dpol, dval);
    ck_assert(memcmp(fpol, pol[1], sizeof fpol) == 0 && memcmp(fval, val[1], sizeof fval) == 0);
    ck_assert(memcmp(grads_rows, nn_model_grads(m), np * sizeof(float)) == 0);
    ck_assert_int_eq(nn_model_pathway_forward_count(m, 0), frozen ? 2 : 6);
    nn_train_ctx_destroy(fctx);
    free(grads_rows);
    double d_pol = max_rel_diff(pol[0], pol[1], B * W), d_val = max_rel_diff(val[0], val[1], B);
    double d_grad = max_rel_diff(grads_obs, nn_model_grads(m), np); /* fctx's, the same */
    double d_step = fmax(max_rel_diff(pol[0], step_pol, B * W), max_rel_diff(val[0], step_val, B));
    printf("feature rows (freeze %s): max relative difference to the observations' pass: "
           "policy %.3g, value %.3g, gradients %.3g (step against training forward %.3g)\n",
           freeze, d_pol, d_val, d_grad, d_step);
    ck_assert(d_pol <= 1e-5 && d_val <= 1e-5 && d_grad <= 1e-5 && d_step <= 1e-5);
    nn_train_ctx_destroy(ctx);
    nn_step_ctx_destroy(step);
    free(obs);
    free(rows);
    free(grads_obs);
    nn_model_destroy(m);
}

START_TEST(test_frozen_features_replace_pathway) {
    features_against_observations("true");
}
END_TEST

START_TEST(test_fine_tuned_feature_rows_are_observations) {
    features_against_observations("false");
}
END_TEST

static void refused(NnModel *m, const char *err, const char *prefix, const char *part) {
    ck_assert_msg(m == NULL, "accepted, expected %s", prefix);
    ck_assert_msg(strncmp(err, prefix, strlen(prefix)) == 0, "message: %s", err);
    ck_assert_msg(strstr(err, part) != NULL, "message: %s (expected %s)", err, part);
}

START_TEST(test_encoder_refusals) {
    char err[1024] = "", missing[400];
    snprintf(missing, sizeof missing, "%s/none.ckpt", dir);
    refused(model_with_encoder(missing, "true", IMG, err, sizeof err), err,
            "model.encoder.checkpoint: ", "none.ckpt");
    refused(model_with_encoder(plain_path, "true", IMG, err, sizeof err), err,
            "model.encoder.checkpoint: ", "not a vision encoder");
    refused(model_with_encoder(enc_path, "true", 16, err, sizeof err), err,
            "model.encoder.checkpoint: ", "3x8x8");
    /* other layers in the pathway */
    NnIoSpec io;
    io_image(&io, IMG, 0, 2, 0);
    char enc[600];
    snprintf(enc, sizeof enc, "{\"checkpoint\": \"%s\"}", enc_path);
    json_t *d = json_text("{\"inputs\": {\"vision\": {\"pathway\": [{\"type\": \"conv2d\", "
                          "\"filters\": 5, \"kernel\": 3}, \"spatial_softmax\"]}}, \"encoder\": "
                          "%s%s}",
                          enc, "");
    refused(nn_model_create(d, &io, err, sizeof err), err,
            "model.inputs.vision.pathway: ", "conv2d");
    json_decref(d);
    /* the members of model.encoder */
    static const struct {
        const char *encoder, *prefix;
    } bad[] = {
        {"{}", "model.encoder.checkpoint: "},
        {"{\"checkpoint\": 3}", "model.encoder.checkpoint: "},
        {"{\"checkpoint\": \"\"}", "model.encoder.checkpoint: "},
        {"{\"checkpoint\": \"x\", \"freeze\": 1}", "model.encoder.freeze: "},
        {"{\"checkpoint\": \"x\", \"input\": \"touch\"}", "model.encoder.input: "},
        {"{\"checkpoint\": \"x\", \"frozen\": true}", "model.encoder"},
        {"[]", "model.encoder"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        d = json_text("{\"inputs\": {\"vision\": {\"pathway\": %s}}, \"encoder\": %s}",
                      pathway_json, bad[i].encoder);
        refused(nn_model_create(d, &io, err, sizeof err), err, bad[i].prefix, "");
        json_decref(d);
    }
    /* an input without a pathway has nothing to load into */
    d = json_text("{\"encoder\": %s%s}", enc, "");
    refused(nn_model_create(d, &io, err, sizeof err), err, "model.encoder.input: ", "pathway");
    json_decref(d);
}
END_TEST

/* an encoder pretrained with a pathways preset's layout on 3xSxS images (as angora-train
 * --pretrain builds it: the preset, no core, shared) */
static void preset_encoder_write(const char *path, const char *preset, int size) {
    NnIoSpec io;
    io_image(&io, size, 0, 7, 0);
    char desc[256];
    snprintf(desc, sizeof desc, "{\"preset\": \"%s\", \"core\": null, \"shared\": true}", preset);
    encoder_ckpt_save(desc, &io, 5, "{\"input\": \"vision\"}", path);
}

/* a pathways preset's model on vision + proprioception with the encoder at ckpt, frozen */
static NnModel *preset_with_encoder(const char *preset, const char *ckpt, int size, char *err,
                                    size_t err_sz) {
    NnIoSpec io;
    io_image(&io, size, 1, 2, 2);
    char enc[600];
    snprintf(enc, sizeof enc, "{\"checkpoint\": \"%s\", \"freeze\": true}", ckpt);
    json_t *d = json_text("{\"preset\": \"%s\", \"encoder\": %s}", preset, enc);
    NnModel *m = nn_model_create(d, &io, err, err_sz);
    json_decref(d);
    return m;
}

START_TEST(test_encoder_layouts_must_match) {
    /* an encoder of each pathways layout at 16x16 loads into a model of its own preset and is
     * refused, naming the pathway, by the other's (the same weights' shapes, other strides) */
    static const char *const presets[2] = {"pathways", "pathways_downsampled"};
    char paths[2][320], err[1024] = "";
    for (int i = 0; i < 2; i++) {
        snprintf(paths[i], sizeof paths[i], "%s/%s.ckpt", dir, presets[i]);
        preset_encoder_write(paths[i], presets[i], 16);
    }
    for (int i = 0; i < 2; i++) {
        NnModel *m = preset_with_encoder(presets[i], paths[i], 16, err, sizeof err);
        ck_assert_msg(m != NULL, "%s: %s", presets[i], err);
        ck_assert_int_ge(nn_model_feature_input(m), 0);
        nn_model_destroy(m);
        refused(preset_with_encoder(presets[1 - i], paths[i], 16, err, sizeof err), err,
                "model.inputs.vision.pathway: ", "must be the encoder's layers");
        ck_assert_msg(strstr(err, i ? "\"stride\":2" : "\"stride\":1") != NULL, "message: %s", err);
        /* and images of another size */
        refused(preset_with_encoder(presets[i], paths[i], 32, err, sizeof err), err,
                "model.encoder.checkpoint: ", "3x16x16");
    }
    for (int i = 0; i < 2; i++) {
        unlink(paths[i]);
    }
}
END_TEST

/* pictures of the same size through another lens are other pictures: refused, naming both */
START_TEST(test_encoder_camera_must_match) {
    char err[1024] = "", path[400];
    snprintf(path, sizeof path, "%s/camera.ckpt", dir);
    encoder_write(path, 1, "palm_cam, fovy 30");
    NnModel *m = model_with_encoder_view(path, "false", IMG, "palm_cam, fovy 30", err, sizeof err);
    ck_assert_msg(m != NULL, "%s", err);
    nn_model_destroy(m);
    refused(model_with_encoder_view(path, "false", IMG, "palm_cam, fovy 45", err, sizeof err), err,
            "model.encoder.checkpoint: ", "camera_fovy");
    ck_assert_msg(strstr(err, "from palm_cam, fovy 30") && strstr(err, "from palm_cam, fovy 45"),
                  "message: %s", err);
    /* a model that does not know its camera cannot vouch for it */
    refused(model_with_encoder_view(path, "false", IMG, "", err, sizeof err), err,
            "model.encoder.checkpoint: ", "an unrecorded camera");
    /* nor an encoder made before cameras were recorded (the fixture's) */
    refused(model_with_encoder_view(enc_path, "false", IMG, "palm_cam, fovy 45", err, sizeof err),
            err, "model.encoder.checkpoint: ", "from an unrecorded camera");
    unlink(path);
}
END_TEST

static Suite *encoder_suite(void) {
    Suite *s = suite_create("nn_model_encoder");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_encoder_loaded_into_every_network);
    tcase_add_test(tc, test_frozen_encoder_unchanged_no_backward);
    tcase_add_test(tc, test_fine_tuned_encoder_changes);
    tcase_add_test(tc, test_frozen_features_replace_pathway);
    tcase_add_test(tc, test_fine_tuned_feature_rows_are_observations);
    tcase_add_test(tc, test_encoder_refusals);
    tcase_add_test(tc, test_encoder_layouts_must_match);
    tcase_add_test(tc, test_encoder_camera_must_match);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) {
    SRunner *sr = srunner_create(encoder_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
