/* Tests of the local part of angoractl's commands (client/ctl_cmd.c): reading a spec for submit,
 * applying --name and --tag, and validating it with the shared spec code so that errors name the
 * file and the JSON path before anything is sent. The commands' network side is tested end to
 * end in tests/integration/client. */
#include "ctl.h"

#include "ag_error.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char dir[128], err[1024];

static const char *spec_file(const char *name, const char *text) {
    static char path[256];
    FILE *f;
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    fclose(f);
    return path;
}

static void setup(void) {
    snprintf(dir, sizeof(dir), "/tmp/angoractl-cmd-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
}

static void teardown(void) {
    char cmd[200];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    ck_assert_int_eq(system(cmd), 0);
}

START_TEST(test_valid_spec) {
    json_t *doc = NULL;
    const char *p = spec_file("ok.json", "{\"task\": \"CartPole\", \"name\": \"n\"}");
    ck_assert_int_eq(ctl_spec_load(p, NULL, NULL, 0, &doc, err, sizeof(err)), 0);
    ck_assert_ptr_nonnull(doc);
    /* sent as written: the server fills in the defaults */
    ck_assert_str_eq(json_string_value(json_object_get(doc, "name")), "n");
    ck_assert_ptr_null(json_object_get(doc, "ppo"));
    json_decref(doc);
}
END_TEST

START_TEST(test_overrides) {
    json_t *doc = NULL, *tags;
    const char *t[] = {"b", "c", "b"};
    const char *p = spec_file("ok.json", "{\"task\": \"CartPole\", \"tags\": [\"a\", \"b\"]}");
    ck_assert_int_eq(ctl_spec_load(p, "renamed", t, 3, &doc, err, sizeof(err)), 0);
    ck_assert_str_eq(json_string_value(json_object_get(doc, "name")), "renamed");
    tags = json_object_get(doc, "tags");
    /* appended, without duplicates */
    ck_assert_uint_eq(json_array_size(tags), 3);
    ck_assert_str_eq(json_string_value(json_array_get(tags, 2)), "c");
    json_decref(doc);
    p = spec_file("notags.json", "{\"task\": \"CartPole\"}");
    ck_assert_int_eq(ctl_spec_load(p, NULL, t, 1, &doc, err, sizeof(err)), 0);
    ck_assert_uint_eq(json_array_size(json_object_get(doc, "tags")), 1);
    json_decref(doc);
}
END_TEST

static void expect_fail(const char *text, int code, const char *needle) {
    json_t *doc = (json_t *)1;
    const char *p = spec_file("bad.json", text);
    ck_assert_int_eq(ctl_spec_load(p, NULL, NULL, 0, &doc, err, sizeof(err)), code);
    ck_assert_ptr_null(doc);
    ck_assert_msg(strstr(err, needle) != NULL, "\"%s\" not in \"%s\"", needle, err);
    ck_assert_msg(strstr(err, "bad.json") != NULL, "no file name in \"%s\"", err);
}

START_TEST(test_invalid) {
    expect_fail("{\"task\": \"CartPole\", \"ppo\": {\"lr\": \"fast\"}}", AG_ESPEC, "ppo.lr");
    expect_fail("{\"task\": \"CartPole\", \"ppo\": {\"gamma\": 2}}", AG_ESPEC, "ppo.gamma");
    expect_fail("{\"task\": \"CartPole\", \"bogus\": 1}", AG_ESPEC, "bogus");
    expect_fail("{\"name\": \"no task\"}", AG_ESPEC, "task");
    expect_fail("{\"task\": \"CartPole\",\n \"ranks\": }", AG_EJSON, "line 2");
    expect_fail("", AG_EJSON, "bad.json");
    expect_fail("[]", AG_ESPEC, "JSON object");
    expect_fail("{\"task\": \"CartPole\", \"tags\": \"a\"}", AG_ESPEC, "tags");
}
END_TEST

START_TEST(test_tags_not_array_with_override) {
    json_t *doc = NULL;
    const char *t[] = {"x"};
    const char *p = spec_file("bad.json", "{\"task\": \"CartPole\", \"tags\": 3}");
    ck_assert_int_eq(ctl_spec_load(p, NULL, t, 1, &doc, err, sizeof(err)), AG_ESPEC);
    ck_assert_ptr_nonnull(strstr(err, "tags: expected an array"));
}
END_TEST

START_TEST(test_missing_file) {
    json_t *doc = NULL;
    char path[256];
    snprintf(path, sizeof(path), "%s/none.json", dir);
    ck_assert_int_eq(ctl_spec_load(path, NULL, NULL, 0, &doc, err, sizeof(err)), AG_EINVAL);
    ck_assert_ptr_nonnull(strstr(err, "none.json: no such file"));
    /* a directory is not a spec */
    ck_assert_int_eq(ctl_spec_load(dir, NULL, NULL, 0, &doc, err, sizeof(err)), AG_EINVAL);
    ck_assert_ptr_null(doc);
}
END_TEST

/* "-" reads standard input, which may be a pipe */
START_TEST(test_stdin) {
    json_t *doc = NULL;
    int fds[2];
    const char *text = "{\"task\": \"Pendulum\"}";
    ck_assert_int_eq(pipe(fds), 0);
    ck_assert_int_eq(write(fds[1], text, strlen(text)), (int)strlen(text));
    close(fds[1]);
    ck_assert_int_eq(dup2(fds[0], 0), 0);
    ck_assert_int_eq(ctl_spec_load("-", NULL, NULL, 0, &doc, err, sizeof(err)), 0);
    ck_assert_str_eq(json_string_value(json_object_get(doc, "task")), "Pendulum");
    json_decref(doc);
    /* now empty */
    ck_assert_int_eq(ctl_spec_load("-", NULL, NULL, 0, &doc, err, sizeof(err)), AG_EJSON);
    ck_assert_ptr_nonnull(strstr(err, "-: "));
}
END_TEST

static Suite *cmd_suite(void) {
    Suite *s = suite_create("ctl_cmd");
    TCase *tc = tcase_create("spec");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_valid_spec);
    tcase_add_test(tc, test_overrides);
    tcase_add_test(tc, test_invalid);
    tcase_add_test(tc, test_tags_not_array_with_override);
    tcase_add_test(tc, test_missing_file);
    tcase_add_test(tc, test_stdin);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) {
    SRunner *sr = srunner_create(cmd_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
