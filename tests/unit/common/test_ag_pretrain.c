/* Tests of common/ag_pretrain.c: the pretraining spec's defaults, and the JSON path of each kind
 * of bad value (unknown key, wrong type, out of range, NUL bytes, a recurrent model, a learning
 * rate schedule it does not know or whose end is wrong), and the schedule's rates. */
#include "ag_pretrain.h"

#include "ag_error.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

static json_t *jparse(const char *text) {
    json_error_t je;
    json_t *v = json_loads(text, JSON_DECODE_ANY | JSON_ALLOW_NUL, &je);
    ck_assert_msg(v != NULL, "%s: %s", text, je.text);
    return v;
}

START_TEST(test_defaults) {
    AgPretrainSpec s;
    AgJsonErr e = {{0}, {0}};
    json_t *spec = jparse("{\"data\": \"/d/x.h5\"}");
    ck_assert_int_eq(ag_pretrain_spec_read(spec, &s, &e), 0);
    ck_assert_str_eq(s.data, "/d/x.h5");
    ck_assert_int_eq(s.epochs, 20);
    ck_assert_int_eq(s.batch_size, 32);
    ck_assert_double_eq(s.learning_rate, 1e-3);
    ck_assert_double_eq(s.holdout, 0.1);
    ck_assert_ptr_null(s.model);
    ck_assert_int_eq(s.lr_schedule, AG_PRETRAIN_LR_CONSTANT);
    ck_assert_double_eq(s.lr_min, 0.0);
    json_t *full = ag_pretrain_spec_to_json(&s);
    ck_assert_int_eq(json_integer_value(json_object_get(full, "epochs")), 20);
    ck_assert_str_eq(json_string_value(json_object_get(full, "lr_schedule")), "constant");
    ck_assert_double_eq(json_real_value(json_object_get(full, "lr_min")), 0.0);
    ck_assert_int_eq(s.rotation, AG_PRETRAIN_ROT_QUATERNION);
    ck_assert_str_eq(json_string_value(json_object_get(full, "rotation")), "quaternion");
    ck_assert(json_is_null(json_object_get(full, "model")));
    json_decref(full);
    json_decref(spec);

    spec = jparse("{\"data\": \"d.h5\", \"model\": {\"preset\": \"pathways\", \"core\": null}, "
                  "\"epochs\": 3}");
    ck_assert_int_eq(ag_pretrain_spec_read(spec, &s, &e), 0);
    ck_assert(json_is_object(s.model));
    ck_assert_int_eq(s.epochs, 3);
    json_decref(spec);

    spec = jparse("{\"data\": \"d.h5\", \"rotation\": \"6d\"}");
    ck_assert_int_eq(ag_pretrain_spec_read(spec, &s, &e), 0);
    ck_assert_int_eq(s.rotation, AG_PRETRAIN_ROT_6D);
    full = ag_pretrain_spec_to_json(&s);
    ck_assert_str_eq(json_string_value(json_object_get(full, "rotation")), "6d");
    json_decref(full);
    json_decref(spec);
}
END_TEST

static void refused(const char *text, const char *want_path) {
    AgPretrainSpec s;
    AgJsonErr e = {{0}, {0}};
    json_t *spec = jparse(text);
    int rc = ag_pretrain_spec_read(spec, &s, &e);
    json_decref(spec);
    ck_assert_msg(rc == AG_ESPEC, "%s: accepted", text);
    ck_assert_msg(!strcmp(e.path, want_path), "%s: path \"%s\", want \"%s\" (%s)", text, e.path,
                  want_path, e.reason);
    ck_assert(e.reason[0]);
}

START_TEST(test_refusals) {
    refused("[]", "");
    refused("{}", "data");
    refused("{\"data\": 3}", "data");
    refused("{\"data\": \"\"}", "data");
    refused("{\"data\": \"a\\u0000b.h5\"}", "data");
    refused("{\"data\": \"d.h5\", \"epoch\": 2}", "epoch");
    refused("{\"data\": \"d.h5\", \"epochs\": 0}", "epochs");
    refused("{\"data\": \"d.h5\", \"epochs\": \"2\"}", "epochs");
    refused("{\"data\": \"d.h5\", \"epochs\": 1.5}", "epochs");
    refused("{\"data\": \"d.h5\", \"batch_size\": 5000}", "batch_size");
    refused("{\"data\": \"d.h5\", \"learning_rate\": 2}", "learning_rate");
    refused("{\"data\": \"d.h5\", \"holdout\": 0.95}", "holdout");
    refused("{\"data\": \"d.h5\", \"seed\": -1}", "seed");
    refused("{\"data\": \"d.h5\", \"time_limit_s\": -1}", "time_limit_s");
    refused("{\"data\": \"d.h5\", \"model\": 3}", "model");
    refused("{\"data\": \"d.h5\", \"model\": \"no_such_preset\"}", "model");
    refused("{\"data\": \"d.h5\", \"model\": \"simple_lstm\"}", "model.core");
    refused("{\"data\": \"d.h5\", \"model\": {\"preset\": \"pathways\"}}", "model.core");
    refused("{\"data\": \"d.h5\", \"lr_schedule\": \"linear\"}", "lr_schedule");
    refused("{\"data\": \"d.h5\", \"lr_schedule\": 1}", "lr_schedule");
    refused("{\"data\": \"d.h5\", \"rotation\": \"euler\"}", "rotation");
    refused("{\"data\": \"d.h5\", \"rotation\": 6}", "rotation");
    refused("{\"data\": \"d.h5\", \"rotation\": \"6D\"}", "rotation");
    refused("{\"data\": \"d.h5\", \"lr_schedule\": \"cosine\", \"lr_min\": -1}", "lr_min");
    /* the cosine's end is above where it starts */
    refused("{\"data\": \"d.h5\", \"lr_schedule\": \"cosine\", \"learning_rate\": 0.001, "
            "\"lr_min\": 0.01}",
            "lr_min");
    /* an end for a schedule that does not move */
    refused("{\"data\": \"d.h5\", \"lr_min\": 0.0001}", "lr_min");
}
END_TEST

/* the rates of the schedules: constant throughout; the cosine from learning_rate at the first
 * minibatch through the mean half way to lr_min at the last, falling all the way, and the same
 * rate for the same step whenever it is asked */
START_TEST(test_lr_schedule) {
    AgPretrainSpec s;
    AgJsonErr e = {{0}, {0}};
    json_t *spec = jparse("{\"data\": \"d.h5\", \"learning_rate\": 0.002}");
    ck_assert_int_eq(ag_pretrain_spec_read(spec, &s, &e), 0);
    ck_assert_double_eq(ag_pretrain_lr(&s, 0, 101), 0.002);
    ck_assert_double_eq(ag_pretrain_lr(&s, 100, 101), 0.002);
    json_decref(spec);

    spec = jparse("{\"data\": \"d.h5\", \"learning_rate\": 0.002, \"lr_schedule\": \"cosine\", "
                  "\"lr_min\": 0.0002}");
    ck_assert_int_eq(ag_pretrain_spec_read(spec, &s, &e), 0);
    ck_assert_int_eq(s.lr_schedule, AG_PRETRAIN_LR_COSINE);
    json_t *full = ag_pretrain_spec_to_json(&s);
    ck_assert_str_eq(json_string_value(json_object_get(full, "lr_schedule")), "cosine");
    json_decref(full);
    ck_assert_double_eq_tol(ag_pretrain_lr(&s, 0, 101), 0.002, 1e-15);
    ck_assert_double_eq_tol(ag_pretrain_lr(&s, 50, 101), 0.0011, 1e-15);
    ck_assert_double_eq_tol(ag_pretrain_lr(&s, 100, 101), 0.0002, 1e-15);
    ck_assert_double_eq_tol(ag_pretrain_lr(&s, 500, 101), 0.0002, 1e-15);
    for (long long t = 1; t < 101; t++) {
        ck_assert(ag_pretrain_lr(&s, t, 101) < ag_pretrain_lr(&s, t - 1, 101));
    }
    ck_assert(ag_pretrain_lr(&s, 37, 101) == ag_pretrain_lr(&s, 37, 101));
    /* a run of one minibatch takes learning_rate */
    ck_assert_double_eq(ag_pretrain_lr(&s, 0, 1), 0.002);
    json_decref(spec);
}
END_TEST

int main(void) {
    Suite *s = suite_create("ag_pretrain");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_defaults);
    tcase_add_test(tc, test_refusals);
    tcase_add_test(tc, test_lr_schedule);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
