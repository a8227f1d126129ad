/* Tests of angoractl's executor options and lines (client/ctl_executor.c): --executor and the
 * Slurm options over a spec's executor, their refusal with the option or JSON path named, and
 * show's executor, Slurm job, state with its pending reason, and nodes. */
#include "ctl.h"

#include "ag_error.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char err[512];

/* submit SPEC.json with the given options (NULL-terminated) applied to doc */
static int apply(json_t *doc, const char *const *words) {
    char *argv[32];
    int argc = 0;
    CtlArgs a;
    argv[argc++] = (char *)"angoractl";
    argv[argc++] = (char *)"submit";
    argv[argc++] = (char *)"spec.json";
    for (int i = 0; words[i]; i++) {
        argv[argc++] = (char *)words[i];
    }
    argv[argc] = NULL;
    ck_assert_int_eq(ctl_args_parse(argc, argv, &a, err, sizeof(err)), 0);
    return ctl_executor_apply(&a, doc, err, sizeof(err));
}

static const char *member(json_t *doc, const char *key) {
    return json_string_value(json_object_get(json_object_get(doc, "executor"), key));
}

START_TEST(test_no_option_leaves_the_spec) {
    json_t *doc = json_pack("{s:s}", "task", "CartPole");
    const char *none[] = {NULL};
    ck_assert_int_eq(apply(doc, none), 0);
    ck_assert_ptr_null(json_object_get(doc, "executor"));
    json_decref(doc);
}
END_TEST

START_TEST(test_partition_implies_slurm) {
    json_t *doc = json_pack("{s:s}", "task", "CartPole");
    const char *words[] = {"--partition", "debug", "--time-limit", "1:00:00", NULL};
    ck_assert_int_eq(apply(doc, words), 0);
    ck_assert_str_eq(member(doc, "kind"), "slurm");
    ck_assert_str_eq(member(doc, "partition"), "debug");
    ck_assert_str_eq(member(doc, "time_limit"), "1:00:00");
    json_decref(doc);
}
END_TEST

START_TEST(test_options_refine_the_specs_slurm_executor) {
    json_t *doc = json_pack("{s:s,s:{s:s,s:s,s:[s]}}", "task", "CartPole", "executor", "kind",
                            "slurm", "account", "lab", "extra", "--qos=long");
    const char *words[] = {"--executor", "slurm", "--partition", "gpu", NULL};
    ck_assert_int_eq(apply(doc, words), 0);
    ck_assert_str_eq(member(doc, "account"), "lab");
    ck_assert_str_eq(member(doc, "partition"), "gpu");
    json_decref(doc);
    /* --executor local replaces a Slurm executor whole */
    doc = json_pack("{s:s,s:{s:s,s:s}}", "task", "CartPole", "executor", "kind", "slurm",
                    "partition", "debug");
    const char *local[] = {"--executor", "local", NULL};
    ck_assert_int_eq(apply(doc, local), 0);
    ck_assert_str_eq(member(doc, "kind"), "local");
    ck_assert_ptr_null(member(doc, "partition"));
    json_decref(doc);
}
END_TEST

START_TEST(test_bad_options) {
    json_t *doc = json_pack("{s:s}", "task", "CartPole");
    const char *kind[] = {"--executor", "pbs", NULL};
    const char *mixed[] = {"--executor", "local", "--partition", "debug", NULL};
    const char *hostile[] = {"--partition", "$(touch /tmp/x)", NULL};
    const char *limit[] = {"--time-limit", "2 hours", NULL};
    ck_assert_int_eq(apply(doc, kind), AG_ESPEC);
    ck_assert_ptr_nonnull(strstr(err, "--executor"));
    ck_assert_int_eq(apply(doc, mixed), AG_ESPEC);
    ck_assert_ptr_nonnull(strstr(err, "--executor slurm"));
    ck_assert_int_eq(apply(doc, hostile), AG_ESPEC);
    ck_assert_ptr_nonnull(strstr(err, "executor.partition"));
    /* each case on the spec as it was (the one before left its executor there) */
    json_object_del(doc, "executor");
    ck_assert_int_eq(apply(doc, limit), AG_ESPEC);
    ck_assert_ptr_nonnull(strstr(err, "executor.time_limit"));
    json_decref(doc);
}
END_TEST

/* show's executor lines of exp */
static char *show(json_t *exp) {
    char *text = NULL;
    size_t len = 0;
    CtlCtx x;
    memset(&x, 0, sizeof x);
    x.out = open_memstream(&text, &len);
    ck_assert_ptr_nonnull(x.out);
    ctl_executor_show(&x, exp);
    fclose(x.out);
    return text;
}

START_TEST(test_show) {
    json_t *exp = json_pack("{s:s,s:s,s:s,s:s,s:n}", "executor", "slurm", "slurm_job_id", "42",
                            "slurm_state", "PENDING", "slurm_reason", "Resources", "slurm_nodes");
    char *text = show(exp);
    ck_assert_ptr_nonnull(strstr(text, "executor       slurm\n"));
    ck_assert_ptr_nonnull(strstr(text, "slurm job      42\n"));
    ck_assert_ptr_nonnull(strstr(text, "slurm state    PENDING (Resources)\n"));
    ck_assert_ptr_nonnull(strstr(text, "nodes          -\n"));
    free(text);
    json_decref(exp);
    exp = json_pack("{s:s}", "executor", "local");
    text = show(exp);
    ck_assert_str_eq(text, "executor       local\n");
    free(text);
    json_decref(exp);
}
END_TEST

int main(void) {
    Suite *s = suite_create("ctl_executor");
    TCase *tc = tcase_create("core");
    SRunner *sr;
    int failed;
    tcase_add_test(tc, test_no_option_leaves_the_spec);
    tcase_add_test(tc, test_partition_implies_slurm);
    tcase_add_test(tc, test_options_refine_the_specs_slurm_executor);
    tcase_add_test(tc, test_bad_options);
    tcase_add_test(tc, test_show);
    suite_add_tcase(s, tc);
    sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
