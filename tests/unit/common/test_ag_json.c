/* Tests of the JSON helpers (common/ag_json.c): paths in every message, integers versus reals,
 * inclusive bounds, enums, unknown keys, parse errors with line and column, and file loading
 * with its size limit. */
#include "ag_error.h"
#include "ag_json.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static json_t *doc_parse(const char *text) {
    AgJsonErr e;
    json_t *doc = ag_json_parse(text, strlen(text), &e);
    ck_assert_msg(doc != NULL, "%s: %s", text, e.reason);
    return doc;
}

START_TEST(test_paths) {
    char p[AG_JSON_PATH_MAX];
    ag_json_path_key(p, sizeof p, "", "ppo");
    ck_assert_str_eq(p, "ppo");
    ag_json_path_key(p, sizeof p, NULL, "ppo");
    ck_assert_str_eq(p, "ppo");
    ag_json_path_key(p, sizeof p, "ppo", "lr");
    ck_assert_str_eq(p, "ppo.lr");
    ag_json_path_index(p, sizeof p, "model.layers", 2);
    ck_assert_str_eq(p, "model.layers[2]");
    ag_json_path_key(p, sizeof p, "model.layers[2]", "units");
    ck_assert_str_eq(p, "model.layers[2].units");
    /* truncated, never overflowing */
    char small[6];
    ag_json_path_key(small, sizeof small, "abcdef", "ghi");
    ck_assert_str_eq(small, "abcde");
}
END_TEST

START_TEST(test_fail_and_format) {
    AgJsonErr e;
    ck_assert_int_eq(ag_json_fail(&e, "ppo.lr", "must be %s", "positive"), AG_ESPEC);
    ck_assert_str_eq(e.path, "ppo.lr");
    ck_assert_str_eq(e.reason, "must be positive");
    char out[128];
    ag_json_err_format(&e, out, sizeof out);
    ck_assert_str_eq(out, "ppo.lr: must be positive");
    ck_assert_int_eq(ag_json_fail(&e, NULL, "bad document"), AG_ESPEC);
    ck_assert_str_eq(e.path, "");
    ag_json_err_format(&e, out, sizeof out);
    ck_assert_str_eq(out, "bad document");
    ck_assert_int_eq(ag_json_fail(NULL, "x", "no struct"), AG_ESPEC);
}
END_TEST

START_TEST(test_get_int) {
    json_t *o = doc_parse("{\"a\": 5, \"r\": 8.0, \"f\": 8.5, \"s\": \"8\", \"n\": null, "
                          "\"big\": 1e300, \"neg\": -3, \"b\": true}");
    AgJsonErr e;
    long long v = 99;
    ck_assert_int_eq(ag_json_get_int(o, "ppo", "a", 1, 0, 10, &v, &e), AG_OK);
    ck_assert_int_eq(v, 5);
    /* a whole real is an integer */
    ck_assert_int_eq(ag_json_get_int(o, "ppo", "r", 1, 0, 10, &v, &e), AG_OK);
    ck_assert_int_eq(v, 8);
    /* absent and null give the default (which is not range-checked away) */
    ck_assert_int_eq(ag_json_get_int(o, "ppo", "missing", 7, 0, 10, &v, &e), AG_OK);
    ck_assert_int_eq(v, 7);
    ck_assert_int_eq(ag_json_get_int(o, "ppo", "n", 6, 0, 10, &v, &e), AG_OK);
    ck_assert_int_eq(v, 6);
    /* a fraction, a string, a boolean, a huge real: refused with the path, v untouched */
    v = 99;
    ck_assert_int_eq(ag_json_get_int(o, "ppo", "f", 1, 0, 10, &v, &e), AG_ESPEC);
    ck_assert_str_eq(e.path, "ppo.f");
    ck_assert_ptr_nonnull(strstr(e.reason, "integer"));
    ck_assert_ptr_nonnull(strstr(e.reason, "8.5"));
    ck_assert_int_eq(ag_json_get_int(o, "ppo", "s", 1, 0, 10, &v, &e), AG_ESPEC);
    ck_assert_str_eq(e.path, "ppo.s");
    ck_assert_ptr_nonnull(strstr(e.reason, "a string"));
    ck_assert_int_eq(ag_json_get_int(o, "", "b", 1, 0, 10, &v, &e), AG_ESPEC);
    ck_assert_str_eq(e.path, "b");
    ck_assert_ptr_nonnull(strstr(e.reason, "a boolean"));
    ck_assert_int_eq(ag_json_get_int(o, "", "big", 1, 0, 10, &v, &e), AG_ESPEC);
    ck_assert_str_eq(e.path, "big");
    ck_assert_int_eq(v, 99);
    /* bounds are inclusive */
    ck_assert_int_eq(ag_json_get_int(o, "", "a", 1, 5, 5, &v, &e), AG_OK);
    ck_assert_int_eq(ag_json_get_int(o, "", "a", 1, 6, 10, &v, &e), AG_ESPEC);
    ck_assert_str_eq(e.reason, "must be between 6 and 10, got 5");
    ck_assert_int_eq(ag_json_get_int(o, "", "a", 1, 0, 4, &v, &e), AG_ESPEC);
    ck_assert_int_eq(ag_json_get_int(o, "x", "neg", 1, -3, 0, &v, &e), AG_OK);
    ck_assert_int_eq(v, -3);
    /* a default outside the bounds is a programming error and reported too */
    ck_assert_int_eq(ag_json_get_int(o, "", "missing", 50, 0, 10, &v, &e), AG_ESPEC);
    ck_assert_str_eq(e.path, "missing");
    json_decref(o);
}
END_TEST

START_TEST(test_get_int_limits) {
    json_t *o = doc_parse("{\"max\": 9223372036854775807, \"min\": -9223372036854775808}");
    AgJsonErr e;
    long long v;
    ck_assert_int_eq(ag_json_get_int(o, "", "max", 0, 0, 9223372036854775807LL, &v, &e), AG_OK);
    ck_assert(v == 9223372036854775807LL);
    ck_assert_int_eq(ag_json_get_int(o, "", "min", 0, -9223372036854775807LL - 1, 0, &v, &e),
                     AG_OK);
    ck_assert(v == -9223372036854775807LL - 1);
    json_decref(o);
}
END_TEST

START_TEST(test_get_double) {
    json_t *o = doc_parse("{\"i\": 3, \"r\": 0.25, \"s\": \"0.1\", \"b\": false, \"n\": null}");
    AgJsonErr e;
    double v = -1;
    ck_assert_int_eq(ag_json_get_double(o, "ppo", "i", 0, 0, 10, &v, &e), AG_OK);
    ck_assert_double_eq(v, 3.0); /* integers are numbers */
    ck_assert_int_eq(ag_json_get_double(o, "ppo", "r", 0, 0, 1, &v, &e), AG_OK);
    ck_assert_double_eq(v, 0.25);
    ck_assert_int_eq(ag_json_get_double(o, "ppo", "n", 0.5, 0, 1, &v, &e), AG_OK);
    ck_assert_double_eq(v, 0.5);
    ck_assert_int_eq(ag_json_get_double(o, "ppo", "absent", 0.75, 0, 1, &v, &e), AG_OK);
    ck_assert_double_eq(v, 0.75);
    v = -1;
    ck_assert_int_eq(ag_json_get_double(o, "ppo", "s", 0, 0, 1, &v, &e), AG_ESPEC);
    ck_assert_str_eq(e.path, "ppo.s");
    ck_assert_ptr_nonnull(strstr(e.reason, "number"));
    ck_assert_int_eq(ag_json_get_double(o, "ppo", "b", 0, 0, 1, &v, &e), AG_ESPEC);
    ck_assert_str_eq(e.path, "ppo.b");
    ck_assert_double_eq(v, -1);
    /* inclusive bounds */
    ck_assert_int_eq(ag_json_get_double(o, "", "r", 0, 0.25, 0.25, &v, &e), AG_OK);
    ck_assert_int_eq(ag_json_get_double(o, "", "r", 0, 0.3, 1, &v, &e), AG_ESPEC);
    ck_assert_str_eq(e.path, "r");
    ck_assert_ptr_nonnull(strstr(e.reason, "between 0.3 and 1"));
    ck_assert_int_eq(ag_json_get_double(o, "", "i", 0, 0, 2.5, &v, &e), AG_ESPEC);
    json_decref(o);
}
END_TEST

START_TEST(test_get_bool) {
    json_t *o = doc_parse("{\"t\": true, \"f\": false, \"i\": 1, \"s\": \"true\"}");
    AgJsonErr e;
    int v = -1;
    ck_assert_int_eq(ag_json_get_bool(o, "n", "t", 0, &v, &e), AG_OK);
    ck_assert_int_eq(v, 1);
    ck_assert_int_eq(ag_json_get_bool(o, "n", "f", 1, &v, &e), AG_OK);
    ck_assert_int_eq(v, 0);
    ck_assert_int_eq(ag_json_get_bool(o, "n", "absent", 1, &v, &e), AG_OK);
    ck_assert_int_eq(v, 1);
    ck_assert_int_eq(ag_json_get_bool(o, "n", "i", 0, &v, &e), AG_ESPEC);
    ck_assert_str_eq(e.path, "n.i");
    ck_assert_ptr_nonnull(strstr(e.reason, "true or false"));
    ck_assert_int_eq(ag_json_get_bool(o, "", "s", 0, &v, &e), AG_ESPEC);
    ck_assert_str_eq(e.path, "s");
    json_decref(o);
}
END_TEST

START_TEST(test_get_string) {
    json_t *o = doc_parse("{\"s\": \"hello\", \"i\": 4}");
    /* the parser refuses \u0000, but documents built in code can hold one */
    json_object_set_new(o, "z", json_stringn("a\0b", 3));
    AgJsonErr e;
    char out[6];
    ck_assert_int_eq(ag_json_get_string(o, "", "s", NULL, out, sizeof out, &e), AG_OK);
    ck_assert_str_eq(out, "hello");
    ck_assert_int_eq(ag_json_get_string(o, "", "absent", "dflt", out, sizeof out, &e), AG_OK);
    ck_assert_str_eq(out, "dflt");
    ck_assert_int_eq(ag_json_get_string(o, "", "absent", NULL, out, sizeof out, &e), AG_OK);
    ck_assert_str_eq(out, "");
    /* too long for the buffer: refused, not truncated */
    char tiny[5];
    strcpy(tiny, "keep");
    ck_assert_int_eq(ag_json_get_string(o, "meta", "s", NULL, tiny, sizeof tiny, &e), AG_ESPEC);
    ck_assert_str_eq(e.path, "meta.s");
    ck_assert_ptr_nonnull(strstr(e.reason, "at most 4"));
    ck_assert_str_eq(tiny, "keep");
    ck_assert_int_eq(ag_json_get_string(o, "meta", "i", NULL, out, sizeof out, &e), AG_ESPEC);
    ck_assert_str_eq(e.path, "meta.i");
    ck_assert_ptr_nonnull(strstr(e.reason, "string"));
    /* an embedded NUL would silently cut the value */
    ck_assert_int_eq(ag_json_get_string(o, "", "z", NULL, out, sizeof out, &e), AG_ESPEC);
    ck_assert_str_eq(e.path, "z");
    ck_assert_ptr_nonnull(strstr(e.reason, "NUL"));
    json_decref(o);
}
END_TEST

static const char *const colours[] = {"red", "green", "blue", NULL};

START_TEST(test_get_enum) {
    json_t *o = doc_parse("{\"c\": \"blue\", \"bad\": \"purple\", \"num\": 2, \"up\": \"RED\"}");
    AgJsonErr e;
    int v = -1;
    ck_assert_int_eq(ag_json_get_enum(o, "paint", "c", colours, 0, &v, &e), AG_OK);
    ck_assert_int_eq(v, 2);
    ck_assert_int_eq(ag_json_get_enum(o, "paint", "absent", colours, 1, &v, &e), AG_OK);
    ck_assert_int_eq(v, 1);
    v = -1;
    ck_assert_int_eq(ag_json_get_enum(o, "paint", "bad", colours, 0, &v, &e), AG_ESPEC);
    ck_assert_str_eq(e.path, "paint.bad");
    /* the message lists what is allowed and what was given */
    ck_assert_ptr_nonnull(strstr(e.reason, "red, green, blue"));
    ck_assert_ptr_nonnull(strstr(e.reason, "\"purple\""));
    ck_assert_int_eq(v, -1);
    ck_assert_int_eq(ag_json_get_enum(o, "", "num", colours, 0, &v, &e), AG_ESPEC);
    ck_assert_str_eq(e.path, "num");
    ck_assert_ptr_nonnull(strstr(e.reason, "an integer"));
    /* names are case-sensitive */
    ck_assert_int_eq(ag_json_get_enum(o, "", "up", colours, 0, &v, &e), AG_ESPEC);
    json_decref(o);
}
END_TEST

START_TEST(test_check_keys) {
    static const char *const allowed[] = {"lr", "gamma", NULL};
    json_t *o = doc_parse("{\"lr\": 1, \"gamma\": 0.9}");
    AgJsonErr e;
    ck_assert_int_eq(ag_json_check_keys(o, "ppo", allowed, &e), AG_OK);
    json_decref(o);
    o = doc_parse("{\"lr\": 1, \"gama\": 0.9}");
    ck_assert_int_eq(ag_json_check_keys(o, "ppo", allowed, &e), AG_ESPEC);
    ck_assert_str_eq(e.path, "ppo.gama");
    ck_assert_str_eq(e.reason, "unknown key");
    ck_assert_int_eq(ag_json_check_keys(o, "", allowed, &e), AG_ESPEC);
    ck_assert_str_eq(e.path, "gama");
    json_decref(o);
    o = doc_parse("{}");
    ck_assert_int_eq(ag_json_check_keys(o, "ppo", allowed, &e), AG_OK);
    json_decref(o);
}
END_TEST

START_TEST(test_expect_object) {
    AgJsonErr e;
    json_t *o = json_object();
    json_t *a = json_array();
    ck_assert_int_eq(ag_json_expect_object(o, "ppo", &e), AG_OK);
    ck_assert_int_eq(ag_json_expect_object(a, "ppo", &e), AG_ESPEC);
    ck_assert_str_eq(e.path, "ppo");
    ck_assert_ptr_nonnull(strstr(e.reason, "an array"));
    ck_assert_int_eq(ag_json_expect_object(NULL, "eval", &e), AG_ESPEC);
    ck_assert_str_eq(e.path, "eval");
    ck_assert_ptr_nonnull(strstr(e.reason, "nothing"));
    json_decref(o);
    json_decref(a);
}
END_TEST

START_TEST(test_parse_errors) {
    AgJsonErr e;
    const char *text = "{\n  \"a\": 1,\n  \"b\": tru\n}";
    memset(&e, 'x', sizeof e);
    ck_assert_ptr_null(ag_json_parse(text, strlen(text), &e));
    ck_assert_str_eq(e.path, "");
    ck_assert_ptr_nonnull(strstr(e.reason, "line 3"));
    ck_assert_ptr_nonnull(strstr(e.reason, "column"));
    /* duplicate keys are refused */
    text = "{\"a\": 1, \"a\": 2}";
    ck_assert_ptr_null(ag_json_parse(text, strlen(text), &e));
    ck_assert_ptr_nonnull(strstr(e.reason, "duplicate"));
    /* trailing garbage, empty input, truncated input */
    text = "{} x";
    ck_assert_ptr_null(ag_json_parse(text, strlen(text), &e));
    ck_assert_ptr_null(ag_json_parse("", 0, &e));
    ck_assert_ptr_null(ag_json_parse("{\"a\": [1, 2", 11, &e));
    ck_assert_ptr_nonnull(strstr(e.reason, "line 1"));
    /* the length is honoured: the text need not be terminated */
    json_t *doc = ag_json_parse("[1]garbage", 3, &e);
    ck_assert_ptr_nonnull(doc);
    ck_assert_int_eq(json_array_size(doc), 1);
    json_decref(doc);
    ck_assert_ptr_null(ag_json_parse("{", 1, NULL));
}
END_TEST

START_TEST(test_parse_escaped_nul) {
    AgJsonErr e;
    /* an escaped NUL in a string value: refused at its path, not as malformed text */
    const char *text = "{\"name\": \"ab\\u0000cd\"}";
    ck_assert_ptr_null(ag_json_parse(text, strlen(text), &e));
    ck_assert_str_eq(e.path, "name");
    ck_assert_ptr_nonnull(strstr(e.reason, "NUL"));
    text = "{\"tags\": [\"ok\", \"\\u0000\"], \"task_options\": {\"x\": 1}}";
    ck_assert_ptr_null(ag_json_parse(text, strlen(text), &e));
    ck_assert_str_eq(e.path, "tags[1]");
    /* in a key, or a bare string, there is no value path: malformed, with jansson's reason */
    text = "{\"a\\u0000b\": 1}";
    ck_assert_ptr_null(ag_json_parse(text, strlen(text), &e));
    ck_assert_str_eq(e.path, "");
    ck_assert_ptr_nonnull(strstr(e.reason, "malformed JSON"));
    text = "\"\\u0000\"";
    ck_assert_ptr_null(ag_json_parse(text, strlen(text), &e));
    ck_assert_str_eq(e.path, "");
}
END_TEST

START_TEST(test_parse_huge_integers) {
    AgJsonErr e;
    /* beyond int64 in a member or an element: refused at its path */
    const char *text = "{\"seed\": 9223372036854775808}";
    ck_assert_ptr_null(ag_json_parse(text, strlen(text), &e));
    ck_assert_str_eq(e.path, "seed");
    ck_assert_ptr_nonnull(strstr(e.reason, "64 bits"));
    text = "{\"budget\": {\"env_steps\": 18446744073709551616}}";
    ck_assert_ptr_null(ag_json_parse(text, strlen(text), &e));
    ck_assert_str_eq(e.path, "budget.env_steps");
    text = "{\"a\": [1, -9223372036854775809]}";
    ck_assert_ptr_null(ag_json_parse(text, strlen(text), &e));
    ck_assert_str_eq(e.path, "a[1]");
    /* the limits themselves are integers */
    text = "[9223372036854775807, -9223372036854775808]";
    json_t *doc = ag_json_parse(text, strlen(text), &e);
    ck_assert_ptr_nonnull(doc);
    json_decref(doc);
    /* a bare number has no path: malformed as before */
    text = "99999999999999999999";
    ck_assert_ptr_null(ag_json_parse(text, strlen(text), &e));
    ck_assert_str_eq(e.path, "");
}
END_TEST

START_TEST(test_strings_join) {
    char out[32];
    json_t *arr = json_pack("[sss]", "obs.goal", "action", "x");
    ck_assert_int_eq(ag_json_strings_join(arr, ",", out, sizeof out), 0);
    ck_assert_str_eq(out, "obs.goal,action,x");
    /* too long: as much as fits */
    ck_assert_int_eq(ag_json_strings_join(arr, ", ", out, 16), AG_ETOOBIG);
    ck_assert_str_eq(out, "obs.goal, actio");
    ck_assert_int_eq(ag_json_strings_join(arr, ",", out, 0), AG_ETOOBIG);
    json_decref(arr);
    /* none: an empty array, or no array */
    arr = json_array();
    ck_assert_int_eq(ag_json_strings_join(arr, ",", out, sizeof out), 0);
    ck_assert_str_eq(out, "");
    json_decref(arr);
    ck_assert_int_eq(ag_json_strings_join(NULL, ",", out, sizeof out), 0);
    ck_assert_str_eq(out, "");
}
END_TEST

START_TEST(test_load_file) {
    char dir[] = "/tmp/ag_json_test.XXXXXX";
    ck_assert_ptr_nonnull(mkdtemp(dir));
    char path[256], err[512];
    snprintf(path, sizeof path, "%s/spec.json", dir);

    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs("{\"task\": \"CartPole\"}\n", f);
    fclose(f);
    json_t *doc = ag_json_load_file(path, 1024, err, sizeof err);
    ck_assert_ptr_nonnull(doc);
    ck_assert_str_eq(json_string_value(json_object_get(doc, "task")), "CartPole");
    json_decref(doc);

    /* over the size limit */
    ck_assert_ptr_null(ag_json_load_file(path, 5, err, sizeof err));
    ck_assert_ptr_nonnull(strstr(err, "limit"));

    /* malformed: the message names the file and the line */
    f = fopen(path, "w");
    fputs("{\n\"task\": }\n", f);
    fclose(f);
    ck_assert_ptr_null(ag_json_load_file(path, 1024, err, sizeof err));
    ck_assert_ptr_nonnull(strstr(err, path));
    ck_assert_ptr_nonnull(strstr(err, "line 2"));

    /* missing */
    unlink(path);
    ck_assert_ptr_null(ag_json_load_file(path, 1024, err, sizeof err));
    ck_assert_ptr_nonnull(strstr(err, path));
    ck_assert_int_eq(rmdir(dir), 0);
}
END_TEST

static Suite *json_suite(void) {
    Suite *s = suite_create("ag_json");
    TCase *tc = tcase_create("json");
    tcase_add_test(tc, test_paths);
    tcase_add_test(tc, test_fail_and_format);
    tcase_add_test(tc, test_get_int);
    tcase_add_test(tc, test_get_int_limits);
    tcase_add_test(tc, test_get_double);
    tcase_add_test(tc, test_get_bool);
    tcase_add_test(tc, test_get_string);
    tcase_add_test(tc, test_get_enum);
    tcase_add_test(tc, test_check_keys);
    tcase_add_test(tc, test_expect_object);
    tcase_add_test(tc, test_parse_errors);
    tcase_add_test(tc, test_parse_huge_integers);
    tcase_add_test(tc, test_parse_escaped_nul);
    tcase_add_test(tc, test_strings_join);
    tcase_add_test(tc, test_load_file);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) {
    SRunner *sr = srunner_create(json_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
