/* Tests of the text-to-number reader (common/ag_parse.c): what counts as an integer, the range
 * check and what is left in *out on each result. */
#include "ag_parse.h"

#include "ag_error.h"

#include <check.h>
#include <limits.h>
#include <stdlib.h>

START_TEST(test_accepts) {
    static const struct {
        const char *text;
        long long want;
    } cases[] = {{"0", 0}, {"42", 42}, {"-7", -7}, {"+9", 9}, {" 12", 12}, {"007", 7}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        long long x = -999;
        ck_assert_int_eq(ag_parse_int(cases[i].text, -100, 100, &x), AG_OK);
        ck_assert_int_eq(x, cases[i].want);
    }
    long long x = 0;
    ck_assert_int_eq(ag_parse_int("9223372036854775807", 0, LLONG_MAX, &x), AG_OK);
    ck_assert(x == LLONG_MAX);
}
END_TEST

START_TEST(test_not_an_integer) {
    static const char *const bad[] = {"",    "abc", "12abc", "1.5",
                                      "12 ", "-",   "0x10",  "99999999999999999999"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        long long x = 5;
        ck_assert_msg(ag_parse_int(bad[i], LLONG_MIN, LLONG_MAX, &x) == AG_EINVAL, "\"%s\"",
                      bad[i]);
        ck_assert_int_eq(x, 5); /* untouched */
    }
}
END_TEST

START_TEST(test_range) {
    long long x = 0;
    ck_assert_int_eq(ag_parse_int("1", 1, 3, &x), AG_OK);
    ck_assert_int_eq(ag_parse_int("3", 1, 3, &x), AG_OK);
    /* outside: the value is there for the message */
    ck_assert_int_eq(ag_parse_int("0", 1, 3, &x), AG_ERANGE);
    ck_assert_int_eq(x, 0);
    ck_assert_int_eq(ag_parse_int("4", 1, 3, &x), AG_ERANGE);
    ck_assert_int_eq(x, 4);
    ck_assert_int_eq(ag_parse_int("-3", -2, 65535, &x), AG_ERANGE);
    ck_assert_int_eq(x, -3);
}
END_TEST

static Suite *parse_suite(void) {
    Suite *s = suite_create("ag_parse");
    TCase *tc = tcase_create("int");
    tcase_add_test(tc, test_accepts);
    tcase_add_test(tc, test_not_an_integer);
    tcase_add_test(tc, test_range);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) {
    SRunner *sr = srunner_create(parse_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
