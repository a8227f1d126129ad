/* Tests of the tables and analysis.json (an_report.c): the folder is made and a stale
 * analysis.json removed first; every table has its header and one row per result, a missing
 * value is an empty field (null in JSON), names with commas or quotes are quoted; analysis.json
 * holds the input's identity, the options and the results, and lists every output with itself
 * last; a recording without variables gives no decoding table. */
#include "an_report.h"

#include "an_test_util.h"

#include <check.h>
#include <jansson.h>
#include <math.h>
#include <string.h>
#include <unistd.h>

static char dir[64], rec[128], out[160], path[256], err[512];

static void setup(void) {
    ck_assert_ptr_nonnull(an_test_tmpdir(dir, sizeof dir, "report"));
    snprintf(rec, sizeof rec, "%s/planted.h5", dir);
    snprintf(out, sizeof out, "%s/a/b/out", dir);
    ck_assert_int_eq(an_test_write_planted(rec, 6, 60, 3, err, sizeof err), 0);
}

static void teardown(void) {
    an_test_rmdir(dir);
}

static AnAnalysis *analyse(const char *file) {
    AnOptions opt;
    an_options_default(&opt);
    opt.input = file;
    opt.out_dir = out;
    opt.folds = 3;
    opt.figures = 0;
    AnAnalysis *a;
    int bad;
    ck_assert_msg(an_analysis_open(&a, &opt, &bad, err, sizeof err) == 0, "%s", err);
    ck_assert_int_eq(an_analysis_run(a, err, sizeof err), 0);
    return a;
}

static char *read_out(const char *name) {
    snprintf(path, sizeof path, "%s/%s", out, name);
    FILE *f = fopen(path, "rb");
    ck_assert_msg(f != NULL, "%s is missing", path);
    static char buf[1 << 20];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

static int count_lines(const char *s) {
    int n = 0;
    for (; *s; s++) {
        n += *s == '\n';
    }
    return n;
}

START_TEST(test_tables) {
    AnAnalysis *a = analyse(rec);
    /* a stale analysis.json from an earlier run goes before anything is written */
    ck_assert_int_eq(an_report_begin(a, err, sizeof err), 0);
    snprintf(path, sizeof path, "%s/analysis.json", out);
    FILE *f = fopen(path, "w");
    fputs("{}", f);
    fclose(f);
    ck_assert_int_eq(an_report_begin(a, err, sizeof err), 0);
    ck_assert_int_ne(access(path, F_OK), 0);
    /* a value that does not exist is an empty field */
    a->layers[0].ridge.r2_shuffled[0] = NAN;
    ck_assert_int_eq(an_report_tables(a, err, sizeof err), 0);
    ck_assert_int_eq(a->n_outputs, 4);
    char *t = read_out("decoding.csv");
    ck_assert(strncmp(t, "layer,variable,r2,r2_shuffled,lambda\n", 37) == 0);
    ck_assert_int_eq(count_lines(t), 1 + 3 * 3);
    /* policy.core.c is first, other its first variable */
    ck_assert_ptr_nonnull(strstr(t, "\npolicy.core.c,other,"));
    char *row = strstr(t, "\npolicy.core.c,other,") + 1;
    ck_assert_ptr_nonnull(strstr(row, ",,"));
    t = read_out("pca.csv");
    ck_assert_int_eq(count_lines(t), 1 + 4 + 16 + 6);
    ck_assert_ptr_nonnull(strstr(t, "\npolicy.core.h,16,"));
    t = read_out("timescales.csv");
    ck_assert(strncmp(t, "layer,unit,tau,capped\n", 22) == 0);
    ck_assert_int_eq(count_lines(t), 1 + 4 + 16 + 6);
    t = read_out("rdm_similarity.csv");
    ck_assert_int_eq(count_lines(t), 1 + 9);
    ck_assert_ptr_nonnull(strstr(t, "\npolicy.core.h,policy.core.h,1\n"));
    an_analysis_free(a);
}
END_TEST

START_TEST(test_json) {
    AnAnalysis *a = analyse(rec);
    ck_assert_int_eq(an_report_begin(a, err, sizeof err), 0);
    a->layers[1].ridge.r2[0] = NAN;
    ck_assert_int_eq(an_report_tables(a, err, sizeof err), 0);
    ck_assert_int_eq(an_report_json(a, err, sizeof err), 0);
    snprintf(path, sizeof path, "%s/analysis.json", out);
    json_error_t e;
    json_t *j = json_load_file(path, 0, &e);
    ck_assert_msg(j != NULL, "%s", e.text);
    ck_assert_str_eq(json_string_value(json_object_get(j, "format")), "angora-analysis");
    json_t *input = json_object_get(j, "input");
    ck_assert_str_eq(json_string_value(json_object_get(input, "task")), "Planted");
    ck_assert_str_eq(json_string_value(json_object_get(input, "seed")), "3");
    ck_assert_int_eq(json_integer_value(json_object_get(input, "episodes")), 6);
    ck_assert_int_gt(json_integer_value(json_object_get(input, "bytes")), 1000);
    ck_assert_ptr_nonnull(strstr(json_string_value(json_object_get(input, "path")), "planted.h5"));
    json_t *opts = json_object_get(j, "options");
    ck_assert_int_eq(json_integer_value(json_object_get(opts, "folds")), 3);
    ck_assert_int_eq(json_array_size(json_object_get(opts, "variables")), 3);
    json_t *dec = json_object_get(j, "decoding");
    ck_assert_int_eq(json_integer_value(json_object_get(dec, "inner_folds")), 2);
    ck_assert_int_eq(json_array_size(json_object_get(dec, "lambda_grid")), AN_RIDGE_LAMBDAS);
    ck_assert_int_eq(json_array_size(json_object_get(dec, "fold_of_episode")), 6);
    json_t *results = json_object_get(dec, "results");
    ck_assert_int_eq(json_array_size(results), 9);
    /* the value made NaN above (policy.core.h, other) is null */
    json_t *r3 = json_array_get(results, 3);
    ck_assert_str_eq(json_string_value(json_object_get(r3, "layer")), "policy.core.h");
    ck_assert(json_is_null(json_object_get(r3, "r2")));
    ck_assert_int_eq(json_array_size(json_object_get(json_array_get(results, 5), "r2_columns")), 2);
    json_t *pca = json_array_get(json_object_get(j, "pca"), 1);
    ck_assert_int_eq(json_array_size(json_object_get(pca, "eigenvalues")), 16);
    json_t *traj = json_object_get(pca, "trajectory");
    ck_assert_int_eq(json_integer_value(json_object_get(traj, "steps")), 60);
    ck_assert_int_eq(json_array_size(json_array_get(json_object_get(traj, "components"), 0)), 3);
    json_t *rsa = json_object_get(j, "rsa");
    ck_assert_str_eq(json_string_value(json_object_get(rsa, "variable")), "other");
    ck_assert_int_eq(json_array_size(json_object_get(rsa, "bins")), 8);
    ck_assert(json_is_null(json_object_get(rsa, "user")));
    json_t *ts = json_object_get(json_object_get(j, "timescales"), "results");
    ck_assert_int_eq(json_array_size(ts), 3);
    /* the outputs: four tables and analysis.json, last */
    json_t *outputs = json_object_get(j, "outputs");
    ck_assert_int_eq(json_array_size(outputs), 5);
    ck_assert_str_eq(json_string_value(json_array_get(outputs, 4)), "analysis.json");
    json_decref(j);
    an_analysis_free(a);
}
END_TEST

START_TEST(test_quoting_and_no_variables) {
    /* a layer whose name needs quoting, no variables at all */
    char odd[128];
    snprintf(odd, sizeof odd, "%s/odd.h5", dir);
    AnH5Writer *w;
    ck_assert_int_eq(an_h5_writer_create(&w, odd, NULL, err, sizeof err), 0);
    int32_t ep[40], st[40];
    float x[40 * 2];
    for (int i = 0; i < 40; i++) {
        ep[i] = i / 10;
        st[i] = i % 10;
        x[2 * i] = (float)(i % 3);
        x[2 * i + 1] = (float)((i * 7) % 5);
    }
    ck_assert_int_eq(an_h5_writer_append_index(w, ep, st, 40, err, sizeof err), 0);
    ck_assert_int_eq(an_h5_writer_write_layer(w, "odd,\"name\"", x, 40, 2, NULL, err, sizeof err),
                     0);
    ck_assert_int_eq(an_h5_writer_finish(w, err, sizeof err), 0);
    AnAnalysis *a = analyse(odd);
    ck_assert_int_eq(an_report_begin(a, err, sizeof err), 0);
    ck_assert_int_eq(an_report_tables(a, err, sizeof err), 0);
    ck_assert_int_eq(an_report_json(a, err, sizeof err), 0);
    snprintf(path, sizeof path, "%s/decoding.csv", out);
    ck_assert_int_ne(access(path, F_OK), 0);
    char *t = read_out("pca.csv");
    ck_assert_ptr_nonnull(strstr(t, "\n\"odd,\"\"name\"\"\",1,"));
    json_error_t e;
    snprintf(path, sizeof path, "%s/analysis.json", out);
    json_t *j = json_load_file(path, 0, &e);
    ck_assert_ptr_nonnull(j);
    ck_assert(json_is_null(json_object_get(j, "decoding")));
    ck_assert(json_is_null(json_object_get(j, "rsa")));
    json_decref(j);
    an_analysis_free(a);
}
END_TEST

static Suite *report_suite(void) {
    Suite *s = suite_create("an_report");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_tables);
    tcase_add_test(tc, test_json);
    tcase_add_test(tc, test_quoting_and_no_variables);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) {
    SRunner *sr = srunner_create(report_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
