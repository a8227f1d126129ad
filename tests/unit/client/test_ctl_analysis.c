/* Tests of client/ctl_analysis.c's pure parts: the best layer of every variable of an
 * analysis.json (ties, missing and null R^2, the order of the variables) and the API path of
 * each kind of output file (names that are not plain names are refused). */
#include "ctl.h"

#include "ag_error.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

static const json_t *row_of(const json_t *best, const char *variable) {
    const json_t *v;
    size_t i;
    json_array_foreach(best, i, v) {
        if (!strcmp(json_string_value(json_object_get(v, "variable")), variable)) {
            return v;
        }
    }
    return NULL;
}

START_TEST(test_best_layer_per_variable) {
    json_t *doc =
        json_loads("{\"decoding\":{\"results\":["
                   "{\"layer\":\"a\",\"variable\":\"goal\",\"r2\":0.5,\"r2_shuffled\":0.01},"
                   "{\"layer\":\"a\",\"variable\":\"speed\",\"r2\":null,\"r2_shuffled\":null},"
                   "{\"layer\":\"a\",\"variable\":\"phase\",\"r2\":0.2,\"r2_shuffled\":0.19},"
                   "{\"layer\":\"b\",\"variable\":\"goal\",\"r2\":0.9,\"r2_shuffled\":-0.02},"
                   "{\"layer\":\"b\",\"variable\":\"speed\",\"r2\":null},"
                   "{\"layer\":\"b\",\"variable\":\"phase\",\"r2\":0.2,\"r2_shuffled\":0.3},"
                   "{\"layer\":\"c\",\"variable\":\"goal\",\"r2\":-0.5}]}}",
                   0, NULL);
    json_t *best = ctl_analysis_best(doc);
    const json_t *row;
    ck_assert_ptr_nonnull(best);
    ck_assert_int_eq(json_array_size(best), 3);
    /* the variables in the order they first appear */
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(best, 0), "variable")),
                     "goal");
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(best, 2), "variable")),
                     "phase");
    row = row_of(best, "goal");
    ck_assert_str_eq(json_string_value(json_object_get(row, "layer")), "b");
    ck_assert(json_real_value(json_object_get(row, "r2")) == 0.9);
    ck_assert(json_real_value(json_object_get(row, "r2_shuffled")) == -0.02);
    /* a variable no layer decodes (no R^2 anywhere) has no best layer */
    row = row_of(best, "speed");
    ck_assert(json_is_null(json_object_get(row, "layer")));
    ck_assert(json_is_null(json_object_get(row, "r2")));
    /* on a tie the first layer stays */
    row = row_of(best, "phase");
    ck_assert_str_eq(json_string_value(json_object_get(row, "layer")), "a");
    ck_assert(json_real_value(json_object_get(row, "r2_shuffled")) == 0.19);
    json_decref(best);
    json_decref(doc);
    /* no decoding section: nothing to say */
    doc = json_loads("{\"pca\":[]}", 0, NULL);
    ck_assert_ptr_null(ctl_analysis_best(doc));
    json_decref(doc);
    ck_assert_ptr_null(ctl_analysis_best(NULL));
    /* an empty result list: an empty answer */
    doc = json_loads("{\"decoding\":{\"results\":[]}}", 0, NULL);
    best = ctl_analysis_best(doc);
    ck_assert_int_eq(json_array_size(best), 0);
    json_decref(best);
    json_decref(doc);
}
END_TEST

START_TEST(test_file_paths) {
    char path[256];
    ck_assert_int_eq(ctl_analysis_file_path(7, "analysis.json", path, sizeof(path)), 0);
    ck_assert_str_eq(path, "/api/v1/experiments/7/analysis");
    ck_assert_int_eq(ctl_analysis_file_path(7, "decoding.csv", path, sizeof(path)), 0);
    ck_assert_str_eq(path, "/api/v1/experiments/7/analysis/tables/decoding.csv");
    ck_assert_int_eq(ctl_analysis_file_path(7, "rdm_policy.core.h.png", path, sizeof(path)), 0);
    ck_assert_str_eq(path, "/api/v1/experiments/7/analysis/figures/rdm_policy.core.h.png");
    /* anything else is not fetched: other kinds, folders, hidden or odd names */
    static const char *const bad[] = {"notes.txt", "../x.csv", "sub/a.png", ".csv",   ".a.png",
                                      "a b.csv",   "",         ".png",      "x.json", NULL};
    for (int i = 0; bad[i]; i++) {
        ck_assert_msg(ctl_analysis_file_path(7, bad[i], path, sizeof(path)) == AG_EINVAL, "%s",
                      bad[i]);
    }
}
END_TEST

int main(void) {
    Suite *s = suite_create("client_ctl_analysis");
    TCase *tc = tcase_create("core");
    SRunner *sr;
    int failed;
    tcase_add_test(tc, test_best_layer_per_variable);
    tcase_add_test(tc, test_file_paths);
    suite_add_tcase(s, tc);
    sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
