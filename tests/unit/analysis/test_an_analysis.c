/* Tests of one analysis (an_analysis.c): options and names checked against the file before any
 * work, each refusal marked as bad input and naming the fault; the max_steps cut; the RSA
 * variable as NAME, NAME:COLUMN or NAME:DIM_NAME; the results equal the analyses called
 * directly on the same rows; layers too wide for D x D work skip decoding and PCA only. */
#include "an_analysis.h"

#include "an_test_util.h"

#include "ag_error.h"

#include <check.h>
#include <math.h>
#include <string.h>

static char dir[64], rec[128], err[1024];

static void setup(void) {
    ck_assert_ptr_nonnull(an_test_tmpdir(dir, sizeof dir, "analysis"));
    snprintf(rec, sizeof rec, "%s/planted.h5", dir);
    ck_assert_int_eq(an_test_write_planted(rec, 8, 100, 4, err, sizeof err), 0);
}

static void teardown(void) {
    an_test_rmdir(dir);
}

static AnOptions options(void) {
    AnOptions o;
    an_options_default(&o);
    o.input = rec;
    o.out_dir = dir;
    return o;
}

/* an_analysis_open refuses o with code, as bad input, naming `what` */
static void expect_refusal(const AnOptions *o, int code, const char *what) {
    AnAnalysis *a = (AnAnalysis *)1;
    int bad = 0;
    int rc = an_analysis_open(&a, o, &bad, err, sizeof err);
    printf("%s\n", err);
    ck_assert_int_eq(rc, code);
    ck_assert_int_eq(bad, 1);
    ck_assert_ptr_null(a);
    ck_assert_msg(strstr(err, what) != NULL, "'%s' lacks '%s'", err, what);
}

START_TEST(test_refusals) {
    AnOptions o = options();
    o.layers = "policy.core.h,policy.core.z";
    expect_refusal(&o, AG_ENOTFOUND,
                   "unknown layer 'policy.core.z'; the file has: policy.core.c, policy.core.h, "
                   "value.trunk.0.dense");
    o = options();
    o.variables = " target , nothing";
    expect_refusal(&o, AG_ENOTFOUND, "unknown variable 'nothing'; the file has: other, phase");
    o = options();
    o.folds = 9;
    expect_refusal(&o, AG_ERANGE, "decoding with 9 folds needs at least 9 episodes");
    o.folds = 2;
    expect_refusal(&o, AG_ERANGE, "--folds 2");
    o = options();
    o.episode = 8;
    expect_refusal(&o, AG_ERANGE, "--episode 8: the analysed steps hold episodes 0..7");
    o.episode = 3;
    o.max_steps = 250; /* episodes 0, 1 and half of 2 */
    expect_refusal(&o, AG_ERANGE, "--episode 3: the analysed steps hold episodes 0..2");
    o = options();
    o.rsa_variable = "target:z";
    expect_refusal(&o, AG_ERANGE, "target has columns 0..1 (or its dim_names)");
    o.rsa_variable = "speed";
    expect_refusal(&o, AG_ENOTFOUND, "unknown variable 'speed' for --rsa-variable");
    o = options();
    o.rsa_bins = 1;
    expect_refusal(&o, AG_ERANGE, "--rsa-bins 1");
    o = options();
    char missing[160];
    snprintf(missing, sizeof missing, "%s/none.h5", dir);
    o.input = missing;
    expect_refusal(&o, AG_ENOTFOUND, "none.h5");
}
END_TEST

START_TEST(test_rows_and_rsa_variable) {
    AnOptions o = options();
    o.max_steps = 250;
    o.folds = 3;
    o.rsa_variable = "target:y";
    AnAnalysis *a;
    int bad;
    ck_assert_msg(an_analysis_open(&a, &o, &bad, err, sizeof err) == 0, "%s", err);
    ck_assert_int_eq(a->n, 250);
    ck_assert_int_eq(a->ep.n, 3);
    ck_assert_int_eq(a->ep.len[2], 50);
    ck_assert_int_eq(a->n_vars, 3);
    ck_assert_int_eq(a->q, 4);
    ck_assert_int_eq(a->var_offset[2], 2); /* other, phase, then target's 2 columns */
    ck_assert_int_eq(a->rsa_col, 1);
    ck_assert_str_eq(a->file->variables[a->rsa_var].name, "target");
    /* the targets are the recorded values */
    float buf[2];
    ck_assert_int_eq(an_h5_read_rows(a->file, AN_H5_VARIABLE, 2, 7, 1, buf, err, sizeof err), 0);
    ck_assert_double_eq(a->y[7 * 4 + 2], buf[0]);
    ck_assert_double_eq(a->y[7 * 4 + 3], buf[1]);
    an_analysis_free(a);
    o.rsa_variable = "phase";
    ck_assert_int_eq(an_analysis_open(&a, &o, &bad, err, sizeof err), 0);
    ck_assert_int_eq(a->rsa_col, 0);
    ck_assert_int_eq(a->bins.k, 8);
    an_analysis_free(a);
    o.rsa_variable = "target:0";
    ck_assert_int_eq(an_analysis_open(&a, &o, &bad, err, sizeof err), 0);
    ck_assert_int_eq(a->rsa_col, 0);
    an_analysis_free(a);
}
END_TEST

START_TEST(test_results_equal_direct_calls) {
    AnOptions o = options();
    o.layers = "policy.core.h";
    o.variables = "target";
    o.seed = 12;
    AnAnalysis *a;
    int bad;
    ck_assert_int_eq(an_analysis_open(&a, &o, &bad, err, sizeof err), 0);
    ck_assert_int_eq(an_analysis_run(a, err, sizeof err), 0);
    const AnLayerResult *r = &a->layers[0];
    ck_assert(r->decoded && r->has_pca && r->rdm && r->ts.d == 16);
    ck_assert_ptr_null(r->skipped);
    /* the same rows through the analyses directly */
    int64_t n = a->n;
    float *x = malloc(sizeof(float) * (size_t)n * 16);
    ck_assert_int_eq(
        an_h5_read_rows(a->file, AN_H5_LAYER, a->layer_index[0], 0, n, x, err, sizeof err), 0);
    AnRidgeTargets t = {.y = a->y, .q = 2, .n_vars = 1, .var_offset = a->var_offset};
    AnRidgeOptions ro = {.folds = 5, .seed = 12, .shuffled = 1};
    AnRidgeResult direct;
    ck_assert_int_eq(an_ridge_decode(&direct, x, n, 16, &a->ep, &t, &ro, err, sizeof err), 0);
    ck_assert_double_eq(direct.r2[0], r->ridge.r2[0]);
    ck_assert_double_eq(direct.r2_shuffled[0], r->ridge.r2_shuffled[0]);
    printf("policy.core.h -> target: r2 %.3f (planted %.2f), control %.4f\n", r->ridge.r2[0],
           AN_PLANTED_R2_TARGET, r->ridge.r2_shuffled[0]);
    ck_assert_double_eq_tol(r->ridge.r2[0], AN_PLANTED_R2_TARGET, 0.08);
    an_ridge_result_free(&direct);
    /* the trajectory is episode 0's 100 steps on the top components */
    ck_assert_int_eq(r->trajectory_len, 100);
    double p[3];
    an_pca_project(p, &r->pca, x, 1);
    ck_assert_double_eq(p[0], r->trajectory[0]);
    /* an RDM compares with itself as 1 */
    ck_assert_double_eq_tol(a->rdm_similarity[0], 1.0, 1e-12);
    free(x);
    an_analysis_free(a);
}
END_TEST

START_TEST(test_wide_layer_skips_gram_work) {
    /* AN_GRAM_UNITS_MAX + 1 units: decoding and PCA skipped, RSA and timescales done */
    enum { D = AN_GRAM_UNITS_MAX + 1, E = 4, L = 6, N = E * L };
    char wide[128];
    snprintf(wide, sizeof wide, "%s/wide.h5", dir);
    AnH5Writer *w;
    ck_assert_int_eq(an_h5_writer_create(&w, wide, NULL, err, sizeof err), 0);
    int32_t ep[N], st[N];
    float *x = malloc(sizeof(float) * N * D), v[N];
    AgRng rng;
    ag_rng_seed(&rng, 1, 0);
    for (int i = 0; i < N; i++) {
        ep[i] = i / L;
        st[i] = i % L;
        v[i] = (float)ag_rng_normal(&rng);
        for (int j = 0; j < D; j++) {
            x[i * D + j] = (float)ag_rng_normal(&rng);
        }
    }
    ck_assert_int_eq(an_h5_writer_append_index(w, ep, st, N, err, sizeof err), 0);
    ck_assert_int_eq(an_h5_writer_write_layer(w, "wide", x, N, D, NULL, err, sizeof err), 0);
    ck_assert_int_eq(an_h5_writer_write_variable(w, "v", v, N, 1, NULL, err, sizeof err), 0);
    ck_assert_int_eq(an_h5_writer_finish(w, err, sizeof err), 0);
    free(x);
    AnOptions o = options();
    o.input = wide;
    o.folds = 3;
    o.rsa_bins = 3;
    AnAnalysis *a;
    int bad;
    ck_assert_msg(an_analysis_open(&a, &o, &bad, err, sizeof err) == 0, "%s", err);
    ck_assert_int_eq(an_analysis_run(a, err, sizeof err), 0);
    const AnLayerResult *r = &a->layers[0];
    ck_assert_ptr_nonnull(r->skipped);
    ck_assert_ptr_nonnull(strstr(r->skipped, "2048"));
    ck_assert(!r->decoded && !r->has_pca);
    ck_assert_ptr_nonnull(r->rdm);
    ck_assert_int_eq(r->ts.d, D);
    an_analysis_free(a);
}
END_TEST

static Suite *analysis_suite(void) {
    Suite *s = suite_create("an_analysis");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_refusals);
    tcase_add_test(tc, test_rows_and_rsa_variable);
    tcase_add_test(tc, test_results_equal_direct_calls);
    tcase_add_test(tc, test_wide_layer_skips_gram_work);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) {
    SRunner *sr = srunner_create(analysis_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
