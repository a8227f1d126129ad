/* Tests of client/ctl_pretrain.c: reading a pretraining spec file before it is sent (the shared
 * checks with their JSON path, a relative dataset path made absolute, files that cannot be
 * read or parsed). */
#include "ctl.h"

#include "ag_error.h"

#include <check.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char g_dir[] = "/tmp/angora-ctl-pretrain-XXXXXX";

static void write_file(const char *path, const char *text) {
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    fclose(f);
}

START_TEST(test_load) {
    char spec[PATH_MAX], data[PATH_MAX], err[512] = "", old[PATH_MAX];
    json_t *doc = NULL;
    snprintf(spec, sizeof spec, "%s/pre.json", g_dir);
    snprintf(data, sizeof data, "%s/d.h5", g_dir);
    write_file(data, "x");

    /* a relative path to a file that is here: sent as an absolute one */
    write_file(spec, "{\"data\": \"d.h5\", \"epochs\": 2}");
    ck_assert_ptr_nonnull(getcwd(old, sizeof old));
    ck_assert_int_eq(chdir(g_dir), 0);
    ck_assert_msg(ctl_pretrain_spec_load(spec, &doc, err, sizeof err) == 0, "%s", err);
    ck_assert_int_eq(chdir(old), 0);
    ck_assert_str_eq(json_string_value(json_object_get(doc, "data")), data);
    ck_assert_int_eq(json_integer_value(json_object_get(doc, "epochs")), 2);
    json_decref(doc);

    /* an absolute one, or one that is not here, is sent as written (the server judges it) */
    write_file(spec, "{\"data\": \"/elsewhere/d.h5\"}");
    ck_assert_int_eq(ctl_pretrain_spec_load(spec, &doc, err, sizeof err), 0);
    ck_assert_str_eq(json_string_value(json_object_get(doc, "data")), "/elsewhere/d.h5");
    json_decref(doc);
}
END_TEST

START_TEST(test_refusals) {
    char spec[PATH_MAX], err[512];
    json_t *doc = (json_t *)1;
    snprintf(spec, sizeof spec, "%s/bad.json", g_dir);
    write_file(spec, "{\"data\": \"d.h5\", \"batch_size\": 0}");
    ck_assert_int_eq(ctl_pretrain_spec_load(spec, &doc, err, sizeof err), AG_ESPEC);
    ck_assert_ptr_null(doc);
    ck_assert_msg(strstr(err, "batch_size") && strstr(err, "bad.json"), "%s", err);
    write_file(spec, "{\"data\": \"d.h5\", \"colour\": 1}");
    ck_assert_int_eq(ctl_pretrain_spec_load(spec, &doc, err, sizeof err), AG_ESPEC);
    ck_assert_msg(strstr(err, "colour"), "%s", err);
    write_file(spec, "{\"data\": ");
    ck_assert_int_eq(ctl_pretrain_spec_load(spec, &doc, err, sizeof err), AG_EJSON);
    snprintf(spec, sizeof spec, "%s/none.json", g_dir);
    ck_assert_int_eq(ctl_pretrain_spec_load(spec, &doc, err, sizeof err), AG_EINVAL);
    ck_assert_msg(strstr(err, "no such file"), "%s", err);
}
END_TEST

int main(void) {
    if (!mkdtemp(g_dir)) {
        perror("mkdtemp");
        return EXIT_FAILURE;
    }
    Suite *s = suite_create("ctl_pretrain");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_load);
    tcase_add_test(tc, test_refusals);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", g_dir);
    if (system(cmd) != 0) {
        failed++;
    }
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
