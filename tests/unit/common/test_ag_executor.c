/* Tests of the executor part of a spec (common/ag_executor.c): a full Slurm executor and its
 * round trip through JSON, the default (absent), a table of bad executors each with the exact
 * JSON path it must name, time limits and names, and the executor inside a whole spec. */
#include "ag_error.h"
#include "ag_executor.h"
#include "ag_spec.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int parse_text(const char *text, AgExecutor *x, AgJsonErr *e) {
    json_t *v = json_loads(text, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
    int rc;
    ck_assert_msg(v != NULL, "test JSON %s", text);
    memset(e, 0, sizeof *e);
    rc = ag_executor_parse(v, "executor", x, e);
    json_decref(v);
    return rc;
}

START_TEST(test_slurm_full_round_trip) {
    AgExecutor x, y;
    AgJsonErr e;
    json_t *j;
    const char *text = "{\"kind\":\"slurm\",\"partition\":\"gpu-long.2\",\"account\":\"lab_1\","
                       "\"time_limit\":\"1-12:00:00\",\"mem\":\"16G\",\"nodes\":2,"
                       "\"cpus_per_task\":4,\"extra\":[\"--qos=long\",\"--exclusive\"]}";
    ck_assert_int_eq(parse_text(text, &x, &e), AG_OK);
    ck_assert_int_eq(x.kind, AG_EXECUTOR_SLURM);
    ck_assert_str_eq(x.partition, "gpu-long.2");
    ck_assert_str_eq(x.account, "lab_1");
    ck_assert_str_eq(x.time_limit, "1-12:00:00");
    ck_assert_str_eq(x.mem, "16G");
    ck_assert_int_eq(x.nodes, 2);
    ck_assert_int_eq(x.cpus_per_task, 4);
    ck_assert_int_eq(x.num_extra, 2);
    ck_assert_str_eq(x.extra[1], "--exclusive");
    j = ag_executor_to_json(&x);
    ck_assert_ptr_nonnull(j);
    memset(&e, 0, sizeof e);
    ck_assert_int_eq(ag_executor_parse(j, "executor", &y, &e), AG_OK);
    ck_assert_int_eq(memcmp(&x, &y, sizeof x), 0);
    json_decref(j);
}
END_TEST

START_TEST(test_default_and_local) {
    AgExecutor x;
    AgJsonErr e;
    json_t *j;
    ck_assert_int_eq(ag_executor_parse(NULL, "executor", &x, &e), AG_OK);
    ck_assert_int_eq(x.kind, AG_EXECUTOR_DEFAULT);
    ck_assert_ptr_null(ag_executor_to_json(&x));
    ck_assert_int_eq(parse_text("{\"kind\":\"local\"}", &x, &e), AG_OK);
    ck_assert_int_eq(x.kind, AG_EXECUTOR_LOCAL);
    j = ag_executor_to_json(&x);
    ck_assert_str_eq(json_string_value(json_object_get(j, "kind")), "local");
    ck_assert_int_eq(json_object_size(j), 1);
    json_decref(j);
    ck_assert_int_eq(ag_executor_kind_parse("slurm"), AG_EXECUTOR_SLURM);
    ck_assert_int_eq(ag_executor_kind_parse("local"), AG_EXECUTOR_LOCAL);
    ck_assert_int_eq(ag_executor_kind_parse("pbs"), -1);
    ck_assert_str_eq(ag_executor_kind_name(AG_EXECUTOR_SLURM), "slurm");
}
END_TEST

/* each bad executor and the path its error must name */
static const struct {
    const char *json;
    const char *path;
} bad[] = {
    {"[]", "executor"},
    {"\"slurm\"", "executor"},
    {"{}", "executor.kind"},
    {"{\"kind\":\"pbs\"}", "executor.kind"},
    {"{\"kind\":7}", "executor.kind"},
    {"{\"kind\":\"slurm\",\"queue\":\"x\"}", "executor.queue"},
    {"{\"kind\":\"local\",\"partition\":\"x\"}", "executor.partition"},
    {"{\"kind\":\"slurm\",\"partition\":\"a b\"}", "executor.partition"},
    {"{\"kind\":\"slurm\",\"partition\":\"$(touch /tmp/x)\"}", "executor.partition"},
    {"{\"kind\":\"slurm\",\"partition\":\"\"}", "executor.partition"},
    {"{\"kind\":\"slurm\",\"partition\":3}", "executor.partition"},
    {"{\"kind\":\"slurm\",\"account\":\"a;b\"}", "executor.account"},
    {"{\"kind\":\"slurm\",\"time_limit\":\"1h\"}", "executor.time_limit"},
    {"{\"kind\":\"slurm\",\"time_limit\":\"1:2:3:4\"}", "executor.time_limit"},
    {"{\"kind\":\"slurm\",\"time_limit\":\"-1\"}", "executor.time_limit"},
    {"{\"kind\":\"slurm\",\"time_limit\":\"1-\"}", "executor.time_limit"},
    {"{\"kind\":\"slurm\",\"time_limit\":\"1::2\"}", "executor.time_limit"},
    {"{\"kind\":\"slurm\",\"mem\":\"lots\"}", "executor.mem"},
    {"{\"kind\":\"slurm\",\"mem\":\"4GB\"}", "executor.mem"},
    {"{\"kind\":\"slurm\",\"nodes\":0}", "executor.nodes"},
    {"{\"kind\":\"slurm\",\"nodes\":1.5}", "executor.nodes"},
    {"{\"kind\":\"slurm\",\"cpus_per_task\":-1}", "executor.cpus_per_task"},
    {"{\"kind\":\"slurm\",\"extra\":\"--qos=x\"}", "executor.extra"},
    {"{\"kind\":\"slurm\",\"extra\":[\"qos=x\"]}", "executor.extra[0]"},
    {"{\"kind\":\"slurm\",\"extra\":[\"--qos=x\",\"--wrap=rm -rf /\"]}", "executor.extra[1]"},
    {"{\"kind\":\"slurm\",\"extra\":[\"--output=/etc/x\"]}", "executor.extra[0]"},
    {"{\"kind\":\"slurm\",\"extra\":[\"--ok\\nnext\"]}", "executor.extra[0]"},
    {"{\"kind\":\"slurm\",\"extra\":[\"--a\\u0000b\"]}", "executor.extra[0]"},
    {"{\"kind\":\"slurm\",\"extra\":[1]}", "executor.extra[0]"},
    {"{\"kind\":\"slurm\",\"extra\":[\"--1\",\"--2\",\"--3\",\"--4\",\"--5\",\"--6\",\"--7\","
     "\"--8\",\"--9\",\"--10\",\"--11\",\"--12\",\"--13\",\"--14\",\"--15\",\"--16\",\"--17\"]}",
     "executor.extra"},
};

START_TEST(test_bad_executor_names_its_path) {
    AgExecutor x;
    AgJsonErr e;
    int rc = parse_text(bad[_i].json, &x, &e);
    ck_assert_msg(rc == AG_ESPEC, "%s accepted", bad[_i].json);
    ck_assert_msg(!strcmp(e.path, bad[_i].path), "%s: path %s (%s), expected %s", bad[_i].json,
                  e.path, e.reason, bad[_i].path);
    ck_assert_str_ne(e.reason, "");
}
END_TEST

START_TEST(test_time_limits_and_names) {
    const char *good[] = {"30", "30:00", "2:30:00", "1-0", "1-12", "1-12:30", "1-12:30:15"};
    const char *bad_limits[] = {"", "a", "1:", ":1", "1-2-3", "12345-1", "1:2:3:4", "1 0"};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        ck_assert_msg(ag_executor_time_limit_valid(good[i]), "%s refused", good[i]);
    }
    for (size_t i = 0; i < sizeof bad_limits / sizeof bad_limits[0]; i++) {
        ck_assert_msg(!ag_executor_time_limit_valid(bad_limits[i]), "%s accepted", bad_limits[i]);
    }
    ck_assert(ag_executor_name_valid("debug"));
    ck_assert(!ag_executor_name_valid(""));
    ck_assert(!ag_executor_name_valid("a'b"));
    ck_assert(!ag_executor_name_valid(
        "0123456789012345678901234567890123456789012345678901234567890123"));
}
END_TEST

START_TEST(test_in_a_spec) {
    AgSpec s, t;
    AgJsonErr e;
    json_t *j;
    char *text;
    const char *with = "{\"task\":\"CartPole\",\"executor\":{\"kind\":\"slurm\","
                       "\"partition\":\"debug\",\"time_limit\":\"10\"}}";
    ck_assert_int_eq(ag_spec_parse_text(with, strlen(with), &s, &e), AG_OK);
    ck_assert_int_eq(s.executor.kind, AG_EXECUTOR_SLURM);
    j = ag_spec_to_json(&s);
    ck_assert_str_eq(
        json_string_value(json_object_get(json_object_get(j, "executor"), "partition")), "debug");
    text = json_dumps(j, JSON_COMPACT);
    ck_assert_int_eq(ag_spec_parse_text(text, strlen(text), &t, &e), AG_OK);
    ck_assert_int_eq(memcmp(&s.executor, &t.executor, sizeof s.executor), 0);
    free(text);
    json_decref(j);
    ag_spec_free(&s);
    ag_spec_free(&t);
    /* without one, the resolved spec has none (older specs read back unchanged) */
    const char *without = "{\"task\":\"CartPole\"}";
    ck_assert_int_eq(ag_spec_parse_text(without, strlen(without), &s, &e), AG_OK);
    j = ag_spec_to_json(&s);
    ck_assert_ptr_null(json_object_get(j, "executor"));
    json_decref(j);
    ag_spec_free(&s);
    /* a bad value names its path within the spec */
    const char *bad_mem = "{\"task\":\"CartPole\",\"executor\":{\"kind\":\"slurm\",\"mem\":\"x\"}}";
    ck_assert_int_eq(ag_spec_parse_text(bad_mem, strlen(bad_mem), &s, &e), AG_ESPEC);
    ck_assert_str_eq(e.path, "executor.mem");
}
END_TEST

int main(void) {
    Suite *s = suite_create("ag_executor");
    TCase *tc = tcase_create("core");
    SRunner *sr;
    int failed;
    tcase_add_test(tc, test_slurm_full_round_trip);
    tcase_add_test(tc, test_default_and_local);
    tcase_add_loop_test(tc, test_bad_executor_names_its_path, 0, (int)(sizeof bad / sizeof bad[0]));
    tcase_add_test(tc, test_time_limits_and_names);
    tcase_add_test(tc, test_in_a_spec);
    suite_add_tcase(s, tc);
    sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
