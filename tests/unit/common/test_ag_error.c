/* Tests of the error table (common/ag_error.c): every code has its name and message from the
 * X-macro table, codes are distinct and negative, unknown codes are named as such, and
 * ag_errorf formats and passes the code through. */
#include "ag_error.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

typedef struct ErrorRow {
    int code;
    const char *name;
    const char *message;
} ErrorRow;

static const ErrorRow error_rows[] = {
#define ROW(name, value, msg) {AG_E##name, "AG_E" #name, msg},
    AG_ERROR_MAP(ROW)
#undef ROW
};

#define NUM_ERRORS ((int)(sizeof error_rows / sizeof error_rows[0]))

START_TEST(test_every_code_named) {
    const ErrorRow *r = &error_rows[_i];
    ck_assert_int_lt(r->code, 0);
    ck_assert_str_eq(ag_error_name(r->code), r->name);
    ck_assert_str_eq(ag_error_message(r->code), r->message);
    ck_assert_int_gt((int)strlen(r->message), 0);
    /* distinct from every other code, in value, name and message */
    for (int j = 0; j < NUM_ERRORS; j++) {
        if (j == _i) {
            continue;
        }
        ck_assert_int_ne(error_rows[j].code, r->code);
        ck_assert_str_ne(error_rows[j].name, r->name);
        ck_assert_str_ne(error_rows[j].message, r->message);
    }
}
END_TEST

START_TEST(test_known_values) {
    /* codes cross process boundaries (exit codes, API responses): their values are fixed */
    ck_assert_int_eq(NUM_ERRORS, 26);
    ck_assert_int_eq(AG_ENOMEM, -1);
    ck_assert_int_eq(AG_EINVAL, -2);
    ck_assert_int_eq(AG_EJSON, -3);
    ck_assert_int_eq(AG_ESPEC, -4);
    ck_assert_int_eq(AG_ENOTFOUND, -6);
    ck_assert_int_eq(AG_ETOOBIG, -9);
    ck_assert_int_eq(AG_EPROTOCOL, -26);
    ck_assert_str_eq(ag_error_name(AG_ENOTFOUND), "AG_ENOTFOUND");
    ck_assert_str_eq(ag_error_message(AG_ENOTFOUND), "not found");
    ck_assert_str_eq(ag_error_message(AG_ESPEC), "invalid experiment spec");
}
END_TEST

START_TEST(test_ok_and_unknown) {
    ck_assert_int_eq(AG_OK, 0);
    ck_assert_str_eq(ag_error_name(AG_OK), "AG_OK");
    ck_assert_str_eq(ag_error_message(AG_OK), "success");
    const int unknown[] = {1, 42, -27, -1000, 2147483647, -2147483647 - 1};
    for (size_t i = 0; i < sizeof unknown / sizeof unknown[0]; i++) {
        ck_assert_str_eq(ag_error_name(unknown[i]), "AG_EUNKNOWN");
        ck_assert_str_eq(ag_error_message(unknown[i]), "unknown error");
    }
}
END_TEST

START_TEST(test_errorf) {
    char err[64];
    ck_assert_int_eq(ag_errorf(err, sizeof err, AG_EIO, "%s: %d", "file.txt", 5), AG_EIO);
    ck_assert_str_eq(err, "file.txt: 5");
    /* truncated to the buffer, still terminated */
    char small[8];
    ck_assert_int_eq(ag_errorf(small, sizeof small, AG_ERANGE, "%s", "0123456789"), AG_ERANGE);
    ck_assert_str_eq(small, "0123456");
    /* no buffer: only the code */
    ck_assert_int_eq(ag_errorf(NULL, 0, AG_ENOMEM, "ignored %d", 1), AG_ENOMEM);
    err[0] = 'x';
    ck_assert_int_eq(ag_errorf(err, 0, AG_EINVAL, "ignored"), AG_EINVAL);
    ck_assert_int_eq(err[0], 'x');
    /* success passes through too */
    ck_assert_int_eq(ag_errorf(err, sizeof err, AG_OK, "fine"), AG_OK);
    ck_assert_str_eq(err, "fine");
}
END_TEST

static Suite *error_suite(void) {
    Suite *s = suite_create("ag_error");
    TCase *tc = tcase_create("error");
    tcase_add_loop_test(tc, test_every_code_named, 0, NUM_ERRORS);
    tcase_add_test(tc, test_known_values);
    tcase_add_test(tc, test_ok_and_unknown);
    tcase_add_test(tc, test_errorf);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) {
    SRunner *sr = srunner_create(error_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
