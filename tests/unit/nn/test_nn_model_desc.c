/* Tests of the model description (server/nn/nn_model_desc.c): every kind of bad description and
 * bad input spec is refused with a message naming the JSON path, nothing crashes; presets, preset
 * overrides, layer shorthand and shape inference through pathways. */
#include "ag_error.h"
#include "nn_model.h"
#include "nn_test_models.h"

#include <check.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static NnIoSpec io_small_senses(void) {
    NnIoSpec io;
    memset(&io, 0, sizeof io);
    io_add(&io, "vision", 3, 8, 8, 0);
    io_add(&io, "proprioception", 6, 1, 1, 0);
    io_add(&io, "goal", 3, 1, 1, 0);
    io_add(&io, "asymmetric", 5, 1, 1, 1);
    io.policy_outputs = 2;
    io.logstd_dim = 2;
    return io;
}

/* the description text must be refused with a message that starts with `path` and contains
 * `words` */
static void expect_refused(const char *text, const char *path, const char *words) {
    NnIoSpec io = io_small_senses();
    json_error_t jerr;
    json_t *d = json_loads(text, JSON_DECODE_ANY, &jerr);
    ck_assert_msg(d != NULL, "test text does not parse: %s", text);
    char err[512] = "";
    NnModel *m = nn_model_create(d, &io, err, sizeof err);
    json_decref(d);
    ck_assert_msg(m == NULL, "accepted: %s", text);
    ck_assert_msg(strncmp(err, path, strlen(path)) == 0 && strstr(err, words) != NULL,
                  "for %s\n  got \"%s\"\n  expected \"%s: ...%s...\"", text, err, path, words);
}

START_TEST(test_unknown_layer_type) {
    expect_refused("{\"trunk\": [{\"type\": \"dense\", \"units\": 4}, {\"type\": \"swish\"}]}",
                   "model.trunk[1].type", "unknown layer type");
    expect_refused("{\"trunk\": [\"swish\"]}", "model.trunk[0]", "unknown layer type");
    expect_refused("{\"post\": [{\"units\": 4}]}", "model.post[0].type", "missing");
    expect_refused("{\"trunk\": [\"dense\"]}", "model.trunk[0]", "needs an object");
    expect_refused("{\"trunk\": [5]}", "model.trunk[0]", "must be an object or a layer name");
    expect_refused("{\"trunk\": [{\"type\": 7}]}", "model.trunk[0].type",
                   "must be a string naming the layer type");
}
END_TEST

START_TEST(test_unknown_key) {
    expect_refused(
        "{\"trunk\": [], \"colour\": \"red\"}", "model.colour",
        "unknown key (allowed: inputs, trunk, core, post, shared, preset, hidden_gain, encoder)");
    expect_refused("{\"trunk\": [{\"type\": \"dense\", \"units\": 4, \"bias\": false}]}",
                   "model.trunk[0].bias", "unknown key");
    expect_refused("{\"core\": {\"type\": \"lstm\", \"units\": 4, \"layers\": 2}}",
                   "model.core.layers", "unknown key");
    expect_refused("{\"inputs\": {\"goal\": {\"pathway\": [], \"extra\": 1}}}",
                   "model.inputs.goal.extra", "unknown key");
    expect_refused("{\"trunk\": [{\"type\": \"tanh\", \"units\": 3}]}", "model.trunk[0].units",
                   "unknown key");
}
END_TEST

START_TEST(test_mismatched_sizes) {
    expect_refused("{\"inputs\": {\"goal\": {\"pathway\": [{\"type\": \"conv2d\", \"filters\": 4, "
                   "\"kernel\": 3}]}}}",
                   "model.inputs.goal.pathway[0]", "needs an image input, got a vector of 3");
    expect_refused("{\"trunk\": [{\"type\": \"maxpool\", \"size\": 2}]}", "model.trunk[0]",
                   "needs an image");
    expect_refused("{\"inputs\": {\"vision\": {\"pathway\": [\"flatten\", \"spatial_softmax\"]}}}",
                   "model.inputs.vision.pathway[1]", "needs an image");
    expect_refused("{\"inputs\": {\"nose\": {\"pathway\": [\"tanh\"]}}}", "model.inputs.nose",
                   "no input of this name");
    expect_refused("{\"inputs\": {\"vision\": {\"pathway\": [{\"type\": \"conv2d\", \"filters\": "
                   "4, \"kernel\": 9}]}}}",
                   "model.inputs.vision.pathway[0]", "larger than the 8x8 image");
    expect_refused("{\"inputs\": {\"vision\": {\"pathway\": [{\"type\": \"conv2d\", \"filters\": "
                   "4, \"kernel\": 5, \"stride\": 2}, {\"type\": \"conv2d\", \"filters\": 4, "
                   "\"kernel\": 3}]}}}",
                   "model.inputs.vision.pathway[1]", "larger than the 2x2 image");
    expect_refused("{\"inputs\": {\"vision\": {\"pathway\": [{\"type\": \"maxpool\", \"size\": "
                   "16}]}}}",
                   "model.inputs.vision.pathway[0]", "larger than the 8x8 image");
    expect_refused("{\"inputs\": {\"vision\": {\"pathway\": [{\"type\": \"conv2d\", \"filters\": "
                   "4, \"kernel\": 4, \"padding\": \"same\"}]}}}",
                   "model.inputs.vision.pathway[0]", "odd kernel");
}
END_TEST

START_TEST(test_missing_values) {
    expect_refused("{\"trunk\": [{\"type\": \"dense\"}]}", "model.trunk[0].units", "missing");
    expect_refused("{\"core\": {\"units\": 8}}", "model.core.type", "missing");
    expect_refused("{\"core\": {\"type\": \"gru\"}}", "model.core.units", "missing");
    expect_refused("{\"inputs\": {\"vision\": {\"pathway\": [{\"type\": \"conv2d\", \"kernel\": "
                   "3}]}}}",
                   "model.inputs.vision.pathway[0].filters", "missing");
}
END_TEST

START_TEST(test_out_of_range) {
    expect_refused("{\"trunk\": [{\"type\": \"dense\", \"units\": -4}]}", "model.trunk[0].units",
                   "between 1 and 16384");
    expect_refused("{\"trunk\": [{\"type\": \"dense\", \"units\": 0}]}", "model.trunk[0].units",
                   "between 1 and 16384");
    expect_refused("{\"trunk\": [{\"type\": \"dense\", \"units\": 1000000}]}",
                   "model.trunk[0].units", "between 1 and 16384");
    expect_refused("{\"core\": {\"type\": \"lstm\", \"units\": 99999}}", "model.core.units",
                   "between 1 and 16384");
    expect_refused("{\"inputs\": {\"vision\": {\"pathway\": [{\"type\": \"conv2d\", \"filters\": "
                   "5000, \"kernel\": 3}]}}}",
                   "model.inputs.vision.pathway[0].filters", "between 1 and 4096");
    expect_refused("{\"inputs\": {\"vision\": {\"pathway\": [{\"type\": \"conv2d\", \"filters\": "
                   "4, \"kernel\": 3, \"stride\": 0}]}}}",
                   "model.inputs.vision.pathway[0].stride", "between");
    expect_refused("{\"hidden_gain\": -1}", "model.hidden_gain", "between");
    /* too many layers */
    char text[2048] = "{\"trunk\": [";
    for (int i = 0; i < 33; i++) {
        strcat(text, i ? ", \"tanh\"" : "\"tanh\"");
    }
    strcat(text, "]}");
    expect_refused(text, "model.trunk", "at most 32 layers");
    /* every size in range, the whole too large: refused before allocating */
    expect_refused("{\"trunk\": [{\"type\": \"dense\", \"units\": 16384}, {\"type\": \"dense\", "
                   "\"units\": 16384}, {\"type\": \"dense\", \"units\": 16384}, {\"type\": "
                   "\"dense\", \"units\": 16384}]}",
                   "model", "parameters, more than the limit");
}
END_TEST

START_TEST(test_wrong_types) {
    expect_refused("{\"trunk\": [{\"type\": \"dense\", \"units\": \"64\"}]}",
                   "model.trunk[0].units", "must be an integer");
    expect_refused("{\"trunk\": [{\"type\": \"dense\", \"units\": 6.5}]}", "model.trunk[0].units",
                   "must be an integer");
    expect_refused("{\"trunk\": {\"type\": \"dense\"}}", "model.trunk", "must be an array");
    expect_refused("{\"shared\": \"yes\"}", "model.shared", "true or false");
    expect_refused("{\"core\": [\"lstm\"]}", "model.core", "must be an object");
    expect_refused("{\"core\": {\"type\": \"transformer\", \"units\": 8}}", "model.core.type",
                   "must be one of none, lstm, gru");
    expect_refused("{\"inputs\": [\"vision\"]}", "model.inputs", "must be an object");
    expect_refused("{\"inputs\": {\"goal\": 3}}", "model.inputs.goal", "must be an object");
    expect_refused("{\"inputs\": {\"vision\": {\"pathway\": [{\"type\": \"conv2d\", \"filters\": "
                   "4, \"kernel\": 3, \"padding\": 1}]}}}",
                   "model.inputs.vision.pathway[0].padding", "valid, same");
    expect_refused("42", "model", "preset name or an object");
    expect_refused("[\"simple\"]", "model", "preset name or an object");
    expect_refused("\"enormous\"", "model", "unknown preset \"enormous\"");
    expect_refused("{\"preset\": \"simple\", \"shared\": 3}", "model.shared", "true or false");
    expect_refused("{\"preset\": 7}", "model.preset", "preset name");
    expect_refused("{\"preset\": \"tiny\"}", "model.preset", "unknown preset");
}
END_TEST

START_TEST(test_huge_activation) {
    NnIoSpec io;
    memset(&io, 0, sizeof io);
    io_add(&io, "vision", 1, 2000, 2000, 0);
    io.policy_outputs = 2;
    json_error_t jerr;
    json_t *d = json_loads("{\"inputs\": {\"vision\": {\"pathway\": [{\"type\": \"conv2d\", "
                           "\"filters\": 8, \"kernel\": 1}]}}}",
                           0, &jerr);
    char err[256] = "";
    ck_assert_ptr_null(nn_model_create(d, &io, err, sizeof err));
    json_decref(d);
    ck_assert_msg(strstr(err, "model.inputs.vision.pathway[0]: output of 8 x 2000 x 2000"), "%s",
                  err);
}
END_TEST

static void expect_io_refused(const NnIoSpec *io, const char *words) {
    json_t *d = json_string("simple");
    char err[512] = "";
    NnModel *m = nn_model_create(d, io, err, sizeof err);
    json_decref(d);
    ck_assert_ptr_null(m);
    ck_assert_msg(strstr(err, words) != NULL, "got \"%s\", expected \"%s\"", err, words);
}

START_TEST(test_bad_io) {
    NnIoSpec io;
    memset(&io, 0, sizeof io);
    io.policy_outputs = 2;
    expect_io_refused(&io, "needs 1 to 8 inputs");
    io_add(&io, "asymmetric", 4, 1, 1, 1);
    expect_io_refused(&io, "every input is critic_only");
    io = io_small_senses();
    io.inputs[1].size = 99;
    expect_io_refused(&io, "input proprioception has shape");
    io = io_small_senses();
    io.inputs[2].offset = io.obs_size;
    expect_io_refused(&io, "input goal");
    io = io_small_senses();
    snprintf(io.inputs[2].name, sizeof io.inputs[2].name, "vision");
    expect_io_refused(&io, "given twice");
    io = io_small_senses();
    io.policy_outputs = 0;
    expect_io_refused(&io, "bad sizes");
    char err[64];
    json_t *d = json_string("simple");
    ck_assert_ptr_null(nn_model_create(d, NULL, err, sizeof err));
    json_decref(d);
    io = io_small_senses();
    ck_assert_ptr_null(nn_model_create(NULL, &io, err, sizeof err));
    ck_assert_ptr_nonnull(strstr(err, "model"));
}
END_TEST

START_TEST(test_presets_and_overrides) {
    NnIoSpec io = io_small_senses();
    int count = 0;
    for (int i = 0; nn_model_preset_names[i]; i++) {
        count++;
    }
    ck_assert_int_eq(count, 13);
    /* the hand presets: a 256-256 feed-forward net, and a 128-unit LSTM after a 256-unit dense
     * layer (h and c of both networks' cores in the state) */
    {
        char herr[256] = "";
        json_t *ff = json_string("hand_ff"), *rec = json_string("hand_lstm");
        NnModel *mf = nn_model_create(ff, &io, herr, sizeof herr);
        ck_assert_msg(mf != NULL, "%s", herr);
        NnModel *mr = nn_model_create(rec, &io, herr, sizeof herr);
        ck_assert_msg(mr != NULL, "%s", herr);
        ck_assert_int_eq(nn_model_state_size(mf), 0);
        ck_assert_int_eq(nn_model_state_size(mr), 2 * 2 * 128);
        ck_assert(nn_model_is_recurrent(mr));
        nn_model_destroy(mf);
        nn_model_destroy(mr);
        json_decref(ff);
        json_decref(rec);
    }
    /* a preset with a member replaced */
    json_t *d = json_pack("{s:s, s:b}", "preset", "simple_gru", "shared", 1);
    char err[256] = "";
    NnModel *m = nn_model_create(d, &io, err, sizeof err);
    json_decref(d);
    ck_assert_msg(m != NULL, "%s", err);
    json_t *full = nn_model_describe(m);
    ck_assert(json_is_true(json_object_get(full, "shared")));
    ck_assert_str_eq(json_string_value(json_object_get(json_object_get(full, "core"), "type")),
                     "gru");
    ck_assert_ptr_null(json_object_get(full, "preset"));
    ck_assert_int_eq(nn_model_state_size(m), 64);
    json_decref(full);
    nn_model_destroy(m);
    /* an empty description: inputs straight into the heads */
    d = json_object();
    m = nn_model_create(d, &io, err, sizeof err);
    json_decref(d);
    ck_assert_msg(m != NULL, "%s", err);
    /* policy head sees 192 + 6 + 3 inputs, value head also the 5 critic-only ones */
    ck_assert_uint_eq(nn_model_num_params(m), (201 * 2 + 2) + 2 + (206 + 1));
    ck_assert_int_eq(nn_model_is_recurrent(m), 0);
    nn_model_destroy(m);
    /* shorthand and object forms of a layer are the same layer */
    json_error_t jerr;
    json_t *a =
        json_loads("{\"trunk\": [\"tanh\", {\"type\": \"dense\", \"units\": 3}]}", 0, &jerr);
    json_t *b = json_loads(
        "{\"trunk\": [{\"type\": \"tanh\"}, {\"type\": \"dense\", \"units\": 3}], \"core\": null}",
        0, &jerr);
    NnModel *ma = nn_model_create(a, &io, err, sizeof err);
    NnModel *mb = nn_model_create(b, &io, err, sizeof err);
    ck_assert_ptr_nonnull(ma);
    ck_assert_ptr_nonnull(mb);
    json_t *da = nn_model_describe(ma), *db = nn_model_describe(mb);
    ck_assert(json_equal(da, db));
    json_decref(a);
    json_decref(b);
    json_decref(da);
    json_decref(db);
    nn_model_destroy(ma);
    nn_model_destroy(mb);
}
END_TEST

START_TEST(test_conv_shapes) {
    /* 8x8 -> conv k3 valid 6x6 -> maxpool 2 3x3 -> conv k3 s1 same 3x3 -> spatial softmax 2*5 */
    NnIoSpec io = io_small_senses();
    json_error_t jerr;
    json_t *d = json_loads(
        "{\"inputs\": {\"vision\": {\"pathway\": [{\"type\": \"conv2d\", \"filters\": 4, "
        "\"kernel\": 3}, \"relu\", {\"type\": \"maxpool\", \"size\": 2}, {\"type\": \"conv2d\", "
        "\"filters\": 5, \"kernel\": 3, \"padding\": \"same\"}, \"spatial_softmax\"]}},"
        " \"shared\": true}",
        0, &jerr);
    ck_assert_ptr_nonnull(d);
    char err[256] = "";
    NnModel *m = nn_model_create(d, &io, err, sizeof err);
    json_decref(d);
    ck_assert_msg(m != NULL, "%s", err);
    size_t conv = (4 * 27 + 4) + (5 * 36 + 5);
    size_t feat = 10 + 6 + 3; /* spatial softmax, proprioception, goal */
    size_t expect = conv + (feat * 2 + 2) + 2 + ((feat + 5) + 1);
    ck_assert_uint_eq(nn_model_num_params(m), expect);
    /* multiply-adds: conv1 4*27 per 36 outputs, conv2 5*36 per 9 outputs, heads */
    ck_assert_double_eq(nn_model_forward_flops(m),
                        4.0 * 27 * 36 + 5.0 * 36 * 9 + feat * 2 + (feat + 5));
    nn_model_destroy(m);
}
END_TEST

/* the pathway a preset resolves to for the vision input of io, as compact JSON text */
static char *vision_pathway_text(const char *preset, const NnIoSpec *io, double *flops) {
    json_t *d = json_string(preset);
    char err[256] = "";
    NnModel *m = nn_model_create(d, io, err, sizeof err);
    json_decref(d);
    ck_assert_msg(m != NULL, "%s: %s", preset, err);
    json_t *full = nn_model_describe(m);
    json_t *path =
        json_object_get(json_object_get(json_object_get(full, "inputs"), "vision"), "pathway");
    ck_assert_ptr_nonnull(path);
    char *text = json_dumps(path, JSON_COMPACT | JSON_SORT_KEYS);
    *flops = nn_model_forward_flops(m);
    json_decref(full);
    nn_model_destroy(m);
    return text;
}

START_TEST(test_pathways_layouts) {
    /* `pathways` keeps both convolutions at full resolution, whatever the image size (what
     * checkpoints and specs that name it were made with); pathways_downsampled halves the side with
     * a stride-2 first convolution and again with a max-pool before the second */
    const char *full = "[{\"filters\":32,\"kernel\":3,\"padding\":\"same\",\"stride\":1,\"type\":"
                       "\"conv2d\"},{\"type\":\"relu\"},{\"filters\":32,\"kernel\":3,\"padding\":"
                       "\"same\",\"stride\":1,\"type\":\"conv2d\"},{\"type\":\"relu\"},{\"type\":"
                       "\"spatial_softmax\"}]";
    const char *reduced =
        "[{\"filters\":32,\"kernel\":3,\"padding\":\"same\",\"stride\":2,\"type\":"
        "\"conv2d\"},{\"type\":\"relu\"},{\"size\":2,\"type\":\"maxpool\"},{\"filters\":32,"
        "\"kernel\":3,\"padding\":\"same\",\"stride\":1,\"type\":\"conv2d\"},{\"type\":"
        "\"relu\"},{\"type\":\"spatial_softmax\"}]";
    const int sides[] = {8, 64, 96};
    double conv_full[3], conv_reduced[3];
    for (int i = 0; i < 3; i++) {
        NnIoSpec io;
        memset(&io, 0, sizeof io);
        io_add(&io, "vision", 3, sides[i], sides[i], 0);
        io_add(&io, "proprioception", 6, 1, 1, 0);
        io.policy_outputs = 2;
        io.logstd_dim = 2;
        double flops_full, flops_reduced;
        char *a = vision_pathway_text("pathways", &io, &flops_full);
        char *b = vision_pathway_text("pathways_downsampled", &io, &flops_reduced);
        ck_assert_str_eq(a, full);
        ck_assert_str_eq(b, reduced);
        free(a);
        free(b);
        /* the two differ only in their convolutions' multiply-adds (the same weights, the same
         * 64 features): (27 + 288) * 32 per output position, two networks */
        int s = sides[i], h = (s + 1) / 2, q = h / 2;
        conv_full[i] = 2.0 * 32 * (27.0 * s * s + 288.0 * s * s);
        conv_reduced[i] = 2.0 * 32 * (27.0 * h * h + 288.0 * q * q);
        ck_assert_double_eq_tol(flops_full - flops_reduced, conv_full[i] - conv_reduced[i], 0.5);
    }
    /* at 64x64 the downsampled pathway costs under a twelfth of the full one */
    ck_assert_double_lt(conv_reduced[1] * 12, conv_full[1]);
}
END_TEST

static Suite *desc_suite(void) {
    Suite *s = suite_create("nn_model_desc");
    TCase *tc = tcase_create("desc");
    tcase_add_test(tc, test_unknown_layer_type);
    tcase_add_test(tc, test_unknown_key);
    tcase_add_test(tc, test_mismatched_sizes);
    tcase_add_test(tc, test_missing_values);
    tcase_add_test(tc, test_out_of_range);
    tcase_add_test(tc, test_wrong_types);
    tcase_add_test(tc, test_huge_activation);
    tcase_add_test(tc, test_bad_io);
    tcase_add_test(tc, test_presets_and_overrides);
    tcase_add_test(tc, test_conv_shapes);
    tcase_add_test(tc, test_pathways_layouts);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) {
    SRunner *sr = srunner_create(desc_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
