/* angora-analyze end to end: a planted recording analysed into a folder whose files exist, parse
 * and carry the planted results (decoding R^2, the control near 0, the AR(1) timescale, RDMs and
 * a user's RDM equal to a layer's); then bad input, each with exit 2 and a message naming the
 * fault. ITEST_ANALYZE names the program. */
#include "an_itest.h"

#include "an_test_util.h"

#include <check.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum { E = 12, L = 150 };

static char dir[64], rec[128], out[128];

static const char *analyze(void) {
    const char *exe = getenv("ITEST_ANALYZE");
    ck_assert_msg(exe && *exe, "ITEST_ANALYZE is not set");
    return exe;
}

static void setup(void) {
    char err[512];
    snprintf(dir, sizeof dir, "/tmp/angora-analyze-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(rec, sizeof rec, "%s/planted.h5", dir);
    snprintf(out, sizeof out, "%s/out", dir);
    ck_assert_msg(an_test_write_planted(rec, E, L, 5, err, sizeof err) == 0, "%s", err);
}

static void teardown(void) {
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    ck_assert_int_eq(system(cmd), 0);
}

/* the value of column `col` in the CSV row whose first two fields are a and b */
static double csv_value(const char *text, const char *a, const char *b, int col) {
    char key[1024];
    snprintf(key, sizeof key, "\n%s,%s,", a, b);
    const char *row = strstr(text, key);
    ck_assert_msg(row != NULL, "no row %s,%s", a, b);
    row++;
    for (int i = 0; i < col; i++) {
        row = strchr(row, ',') + 1;
    }
    return strtod(row, NULL);
}

static json_t *load_json(const char *name) {
    char path[256];
    snprintf(path, sizeof path, "%s/%s", out, name);
    json_error_t e;
    json_t *j = json_load_file(path, 0, &e);
    ck_assert_msg(j != NULL, "%s: %s", path, e.text);
    return j;
}

static void expect_png(const char *name) {
    char path[256];
    size_t len = 0;
    snprintf(path, sizeof path, "%s/%s", out, name);
    char *png = an_itest_slurp(path, &len);
    ck_assert_msg(png != NULL, "%s is missing", path);
    ck_assert_msg(len > 1000 && memcmp(png, "\x89PNG\r\n\x1a\n", 8) == 0, "%s is no PNG", path);
    free(png);
}

START_TEST(test_planted_end_to_end) {
    /* the RDM of the layers is compared with a user's copy of policy.core.h's: run once to get
     * it, then again with --rdm */
    AnRun r;
    const char *argv1[] = {analyze(), rec, "--out", out, "--rsa-variable", "phase", NULL};
    an_itest_run(&r, dir, argv1);
    ck_assert_msg(r.status == 0, "exit %d: %s", r.status, r.err);
    an_itest_run_free(&r);
    json_t *j = load_json("analysis.json");
    json_t *rdms = json_object_get(json_object_get(j, "rsa"), "rdms");
    /* layers in name order: policy.core.c, policy.core.h, value.trunk.0.dense */
    ck_assert_int_eq(json_array_size(rdms), 3);
    json_t *m = json_object_get(json_array_get(rdms, 1), "rdm");
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(rdms, 1), "layer")),
                     "policy.core.h");
    char csv[256];
    snprintf(csv, sizeof csv, "%s/user_rdm.csv", dir);
    FILE *f = fopen(csv, "w");
    for (size_t i = 0; i < json_array_size(m); i++) {
        json_t *row = json_array_get(m, i);
        for (size_t k = 0; k < json_array_size(row); k++) {
            fprintf(f, "%.17g%s", json_real_value(json_array_get(row, k)),
                    k + 1 < json_array_size(row) ? "," : "\n");
        }
    }
    fclose(f);
    json_decref(j);

    const char *argv2[] = {analyze(), rec,      "--out", out, "--rsa-variable", "phase", "--rdm",
                           csv,       "--seed", "7",     NULL};
    an_itest_run(&r, dir, argv2);
    ck_assert_msg(r.status == 0, "exit %d: %s", r.status, r.err);
    ck_assert_ptr_nonnull(strstr(r.out, "analysis.json"));
    an_itest_run_free(&r);

    /* decoding.csv: the planted R^2 (tolerance as in the unit tests: bias (1 - R^2) d / n_train
     * plus 4 standard errors 2 sqrt(R^2)(1 - R^2)/sqrt(n), about 0.07 here), the control and an
     * unrelated variable near 0 */
    char path[256];
    snprintf(path, sizeof path, "%s/decoding.csv", out);
    char *dec = an_itest_slurp(path, NULL);
    ck_assert_ptr_nonnull(dec);
    ck_assert(strncmp(dec, "layer,variable,r2,r2_shuffled,lambda\n", 37) == 0);
    double r2 = csv_value(dec, "policy.core.h", "target", 2);
    double r2s = csv_value(dec, "policy.core.h", "target", 3);
    double n = E * L, d = 16, pred = AN_PLANTED_R2_TARGET;
    double tol = (1 - pred) * d / (0.8 * n - d - 1) + 4 * 2 * sqrt(pred) * (1 - pred) / sqrt(n);
    printf("planted: r2 %.3f (predicted %.3f +- %.3f), control %.4f\n", r2, pred, tol, r2s);
    ck_assert_double_eq_tol(r2, pred, tol);
    ck_assert_double_lt(fabs(r2s), 0.05);
    ck_assert_double_lt(fabs(csv_value(dec, "policy.core.h", "other", 2)), 0.05);
    ck_assert_double_lt(fabs(csv_value(dec, "value.trunk.0.dense", "target", 2)), 0.05);
    free(dec);

    /* analysis.json: identity, options, results */
    j = load_json("analysis.json");
    ck_assert_str_eq(json_string_value(json_object_get(j, "format")), "angora-analysis");
    json_t *input = json_object_get(j, "input");
    ck_assert_str_eq(json_string_value(json_object_get(input, "task")), "Planted");
    ck_assert_int_eq(json_integer_value(json_object_get(input, "steps")), E * L);
    ck_assert_str_eq(json_string_value(json_object_get(json_object_get(j, "options"), "seed")),
                     "7");
    /* the AR(1) layer's median timescale: -1/ln 0.9 = 9.49 steps (sd of each unit's about 0.5
     * at 1800 steps; the median of four within 1.5) */
    json_t *ts = json_object_get(json_object_get(j, "timescales"), "results");
    double median = NAN;
    for (size_t i = 0; i < json_array_size(ts); i++) {
        json_t *o = json_array_get(ts, i);
        if (strcmp(json_string_value(json_object_get(o, "layer")), "policy.core.c") == 0) {
            median = json_real_value(json_object_get(o, "median"));
        }
    }
    printf("AR(1) layer: median tau %.2f (expected %.2f)\n", median, -1 / log(AN_PLANTED_PHI));
    ck_assert_double_eq_tol(median, -1 / log(AN_PLANTED_PHI), 1.5);
    /* the user's RDM is policy.core.h's: Spearman 1 */
    json_t *user = json_object_get(json_object_get(j, "rsa"), "user");
    double s1 = json_real_value(json_array_get(json_object_get(user, "spearman"), 1));
    ck_assert_double_eq_tol(s1, 1.0, 1e-9);
    /* every listed output exists; analysis.json is listed last */
    json_t *outputs = json_object_get(j, "outputs");
    ck_assert_int_ge(json_array_size(outputs), 12);
    for (size_t i = 0; i < json_array_size(outputs); i++) {
        snprintf(path, sizeof path, "%s/%s", out, json_string_value(json_array_get(outputs, i)));
        ck_assert_msg(access(path, R_OK) == 0, "%s is missing", path);
    }
    ck_assert_str_eq(json_string_value(json_array_get(outputs, json_array_size(outputs) - 1)),
                     "analysis.json");
    json_decref(j);
    const char *pngs[] = {"decoding.png",   "pca_spectra.png",       "pca_trajectories.png",
                          "timescales.png", "rdm_policy.core.h.png", "rdm_value.trunk.0.dense.png"};
    for (size_t i = 0; i < sizeof pngs / sizeof pngs[0]; i++) {
        expect_png(pngs[i]);
    }
    /* the tables parse: a header and rows of the same width */
    const char *tables[] = {"pca.csv", "timescales.csv", "rdm_similarity.csv"};
    for (size_t i = 0; i < 3; i++) {
        snprintf(path, sizeof path, "%s/%s", out, tables[i]);
        char *t = an_itest_slurp(path, NULL);
        ck_assert_ptr_nonnull(t);
        int commas = -1, lines = 0;
        for (char *line = strtok(t, "\n"); line; line = strtok(NULL, "\n"), lines++) {
            int c = 0;
            for (char *p = line; *p; p++) {
                c += *p == ',';
            }
            ck_assert_msg(commas < 0 || c == commas, "%s line %d", tables[i], lines + 1);
            commas = c;
        }
        ck_assert_int_gt(lines, 1);
        free(t);
    }
    /* a self-comparison of every layer's RDM is 1 */
    snprintf(path, sizeof path, "%s/rdm_similarity.csv", out);
    char *sim = an_itest_slurp(path, NULL);
    ck_assert_double_eq_tol(csv_value(sim, "policy.core.c", "policy.core.c", 2), 1.0, 1e-12);
    char user_label[300];
    snprintf(user_label, sizeof user_label, "user:%s", csv);
    ck_assert_double_eq_tol(csv_value(sim, "policy.core.h", user_label, 2), 1.0, 1e-9);
    free(sim);
}
END_TEST

/* runs angora-analyze with args, expecting exit `code` and `what` in its stderr */
static void expect_refusal(int code, const char *what, const char *const *args) {
    const char *argv[24] = {analyze()};
    int n = 1;
    for (int i = 0; args[i] && n < 23; i++) {
        argv[n++] = args[i];
    }
    argv[n] = NULL;
    AnRun r;
    an_itest_run(&r, dir, argv);
    printf("exit %d: %s", r.status, r.err);
    ck_assert_int_eq(r.status, code);
    ck_assert_msg(strstr(r.err, what) != NULL, "stderr '%s' lacks '%s'", r.err, what);
    an_itest_run_free(&r);
}

START_TEST(test_bad_input) {
    char missing[160], text[160], bad_rdm[160], small_rdm[160], file_dir[200];
    snprintf(missing, sizeof missing, "%s/none.h5", dir);
    snprintf(text, sizeof text, "%s/text.h5", dir);
    snprintf(bad_rdm, sizeof bad_rdm, "%s/asym.csv", dir);
    snprintf(small_rdm, sizeof small_rdm, "%s/small.csv", dir);
    snprintf(file_dir, sizeof file_dir, "%s/out", text);
    FILE *f = fopen(text, "w");
    fputs("hello\n", f);
    fclose(f);
    f = fopen(bad_rdm, "w");
    fputs("0,1,2\n1,0,3\n2,5,0\n", f);
    fclose(f);
    f = fopen(small_rdm, "w");
    fputs("0,1\n1,0\n", f);
    fclose(f);

    expect_refusal(2, "none.h5", (const char *[]){missing, "--out", out, NULL});
    expect_refusal(2, "not an HDF5 file", (const char *[]){text, "--out", out, NULL});
    expect_refusal(2, "unknown option --bogus",
                   (const char *[]){rec, "--out", out, "--bogus", "1", NULL});
    expect_refusal(2, "--out DIR is required", (const char *[]){rec, NULL});
    expect_refusal(2, "--folds needs a whole number",
                   (const char *[]){rec, "--out", out, "--folds", "two", NULL});
    expect_refusal(2, "unknown variable 'speed'; the file has: other, phase, target",
                   (const char *[]){rec, "--out", out, "--variables", "target,speed", NULL});
    expect_refusal(2, "unknown layer 'policy.core.x'",
                   (const char *[]){rec, "--out", out, "--layers", "policy.core.x", NULL});
    expect_refusal(2, "unknown variable 'nope' for --rsa-variable",
                   (const char *[]){rec, "--out", out, "--rsa-variable", "nope:1", NULL});
    expect_refusal(2, "target has columns 0..1",
                   (const char *[]){rec, "--out", out, "--rsa-variable", "target:2", NULL});
    expect_refusal(2, "not symmetric",
                   (const char *[]){rec, "--out", out, "--rsa-bins", "3", "--rdm", bad_rdm, NULL});
    expect_refusal(2, "but the layers' RDMs are 8 x 8",
                   (const char *[]){rec, "--out", out, "--rdm", small_rdm, NULL});
    expect_refusal(2, "needs at least 13 episodes, ",
                   (const char *[]){rec, "--out", out, "--folds", "13", NULL});
    expect_refusal(2, "--episode 12: the analysed steps hold episodes 0..11",
                   (const char *[]){rec, "--out", out, "--episode", "12", NULL});
    expect_refusal(2, "text.h5/out", (const char *[]){rec, "--out", file_dir, NULL});
    /* nothing was written for any of them */
    ck_assert_int_ne(access(out, F_OK), 0);
    /* --help is no error */
    AnRun r;
    const char *help[] = {analyze(), "--help", NULL};
    an_itest_run(&r, dir, help);
    ck_assert_int_eq(r.status, 0);
    ck_assert_ptr_nonnull(strstr(r.out, "usage: angora-analyze"));
    an_itest_run_free(&r);
}
END_TEST

START_TEST(test_selection_and_limits) {
    /* two layers, one variable, the first 5 episodes and a half, no figures */
    AnRun r;
    const char *argv[] = {analyze(),     rec,        "--out",
                          out,           "--layers", "value.trunk.0.dense, policy.core.h",
                          "--variables", "target",   "--max-steps",
                          "825",         "--folds",  "5",
                          "--episode",   "5",        "--no-figures",
                          "--quiet",     NULL};
    an_itest_run(&r, dir, argv);
    ck_assert_msg(r.status == 0, "exit %d: %s", r.status, r.err);
    ck_assert_str_eq(r.err, "");
    an_itest_run_free(&r);
    json_t *j = load_json("analysis.json");
    json_t *analysed = json_object_get(j, "analysed");
    ck_assert_int_eq(json_integer_value(json_object_get(analysed, "steps")), 825);
    ck_assert_int_eq(json_integer_value(json_object_get(analysed, "episodes")), 6);
    json_t *layers = json_object_get(json_object_get(j, "options"), "layers");
    ck_assert_int_eq(json_array_size(layers), 2);
    ck_assert_str_eq(json_string_value(json_array_get(layers, 0)), "value.trunk.0.dense");
    /* the cut last episode is the trajectory's: 825 - 5 * 150 = 75 steps */
    json_t *pca = json_object_get(j, "pca");
    json_t *traj = json_object_get(json_array_get(pca, 0), "trajectory");
    ck_assert_int_eq(json_integer_value(json_object_get(traj, "steps")), 75);
    /* RSA defaults to the first variable's first column: target[0] */
    ck_assert_str_eq(json_string_value(json_object_get(json_object_get(j, "rsa"), "variable")),
                     "target");
    json_t *outputs = json_object_get(j, "outputs");
    for (size_t i = 0; i < json_array_size(outputs); i++) {
        ck_assert_ptr_null(strstr(json_string_value(json_array_get(outputs, i)), ".png"));
    }
    json_decref(j);
}
END_TEST

static Suite *cli_suite(void) {
    Suite *s = suite_create("analyze_cli");
    TCase *tc = tcase_create("end_to_end");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_planted_end_to_end);
    tcase_add_test(tc, test_bad_input);
    tcase_add_test(tc, test_selection_and_limits);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) {
    SRunner *sr = srunner_create(cli_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
