/* Tests of angoractl's exit codes (client/ctl_exit.c): every documented code from HTTP statuses
 * and local errors, their names, and problem+json bodies read as one line. */
#include "ctl.h"

#include "ag_error.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

START_TEST(test_documented_values) {
    /* scripts rely on these numbers: they are in the man page */
    ck_assert_int_eq(CTL_EXIT_OK, 0);
    ck_assert_int_eq(CTL_EXIT_OTHER, 1);
    ck_assert_int_eq(CTL_EXIT_USAGE, 2);
    ck_assert_int_eq(CTL_EXIT_NOTFOUND, 3);
    ck_assert_int_eq(CTL_EXIT_AUTH, 4);
    ck_assert_int_eq(CTL_EXIT_UNREACHABLE, 5);
    ck_assert_int_eq(CTL_EXIT_REJECTED, 6);
}
END_TEST

START_TEST(test_of_status) {
    ck_assert_int_eq(ctl_exit_of_status(200), CTL_EXIT_OK);
    ck_assert_int_eq(ctl_exit_of_status(201), CTL_EXIT_OK);
    ck_assert_int_eq(ctl_exit_of_status(202), CTL_EXIT_OK);
    ck_assert_int_eq(ctl_exit_of_status(404), CTL_EXIT_NOTFOUND);
    ck_assert_int_eq(ctl_exit_of_status(401), CTL_EXIT_AUTH);
    ck_assert_int_eq(ctl_exit_of_status(403), CTL_EXIT_AUTH);
    ck_assert_int_eq(ctl_exit_of_status(400), CTL_EXIT_REJECTED);
    ck_assert_int_eq(ctl_exit_of_status(409), CTL_EXIT_REJECTED);
    ck_assert_int_eq(ctl_exit_of_status(413), CTL_EXIT_REJECTED);
    ck_assert_int_eq(ctl_exit_of_status(422), CTL_EXIT_REJECTED);
    ck_assert_int_eq(ctl_exit_of_status(405), CTL_EXIT_OTHER);
    ck_assert_int_eq(ctl_exit_of_status(500), CTL_EXIT_OTHER);
    ck_assert_int_eq(ctl_exit_of_status(503), CTL_EXIT_OTHER);
    ck_assert_int_eq(ctl_exit_of_status(0), CTL_EXIT_OTHER);
    ck_assert_int_eq(ctl_exit_of_status(302), CTL_EXIT_OTHER);
}
END_TEST

START_TEST(test_of_error) {
    ck_assert_int_eq(ctl_exit_of_error(0), CTL_EXIT_OK);
    ck_assert_int_eq(ctl_exit_of_error(AG_EINVAL), CTL_EXIT_USAGE);
    ck_assert_int_eq(ctl_exit_of_error(AG_ESPEC), CTL_EXIT_REJECTED);
    ck_assert_int_eq(ctl_exit_of_error(AG_EJSON), CTL_EXIT_REJECTED);
    ck_assert_int_eq(ctl_exit_of_error(AG_ENOTFOUND), CTL_EXIT_NOTFOUND);
    ck_assert_int_eq(ctl_exit_of_error(AG_EAUTH), CTL_EXIT_AUTH);
    ck_assert_int_eq(ctl_exit_of_error(AG_EFORBIDDEN), CTL_EXIT_AUTH);
    ck_assert_int_eq(ctl_exit_of_error(AG_EIO), CTL_EXIT_OTHER);
    ck_assert_int_eq(ctl_exit_of_error(AG_ENOMEM), CTL_EXIT_OTHER);
}
END_TEST

START_TEST(test_names) {
    ck_assert_str_eq(ctl_exit_name(0), "ok");
    ck_assert_str_eq(ctl_exit_name(2), "usage error");
    ck_assert_str_eq(ctl_exit_name(3), "not found");
    ck_assert_str_eq(ctl_exit_name(4), "authentication");
    ck_assert_str_eq(ctl_exit_name(5), "server unreachable");
    ck_assert_str_eq(ctl_exit_name(6), "rejected");
    ck_assert_str_eq(ctl_exit_name(1), "error");
    ck_assert_str_eq(ctl_exit_name(99), "error");
}
END_TEST

START_TEST(test_problem_format) {
    char out[512];
    const char *p1 = "{\"type\":\"urn:angora:problem:notfound\",\"title\":\"Not Found\","
                     "\"status\":404,\"detail\":\"no experiment 99\",\"code\":\"AG_ENOTFOUND\","
                     "\"field\":null}";
    const char *p2 = "{\"title\":\"Unprocessable Entity\",\"status\":422,"
                     "\"detail\":\"spec.ppo.lr: must be in (0, 1]\",\"field\":\"spec.ppo.lr\"}";
    const char *p3 = "{\"title\":\"Bad Request\",\"detail\":\"must be an integer\","
                     "\"field\":\"limit\"}";
    ctl_problem_format(404, p1, strlen(p1), out, sizeof(out));
    ck_assert_str_eq(out, "Not Found: no experiment 99");
    /* a detail that starts with its field is not repeated */
    ctl_problem_format(422, p2, strlen(p2), out, sizeof(out));
    ck_assert_str_eq(out, "Unprocessable Entity: spec.ppo.lr: must be in (0, 1]");
    ctl_problem_format(400, p3, strlen(p3), out, sizeof(out));
    ck_assert_str_eq(out, "Bad Request: must be an integer (field limit)");
    ctl_problem_format(502, "<html>\nbad gateway</html>", 25, out, sizeof(out));
    ck_assert_str_eq(out, "HTTP 502: <html> bad gateway</html>");
    ctl_problem_format(500, NULL, 0, out, sizeof(out));
    ck_assert_str_eq(out, "HTTP 500");
    ctl_problem_format(500, "{}", 2, out, sizeof(out));
    ck_assert_str_eq(out, "HTTP 500");
    /* a small buffer is cut, never overrun */
    ctl_problem_format(404, p1, strlen(p1), out, 8);
    ck_assert_str_eq(out, "Not Fou");
}
END_TEST

static Suite *exit_suite(void) {
    Suite *s = suite_create("ctl_exit");
    TCase *tc = tcase_create("exit");
    tcase_add_test(tc, test_documented_values);
    tcase_add_test(tc, test_of_status);
    tcase_add_test(tc, test_of_error);
    tcase_add_test(tc, test_names);
    tcase_add_test(tc, test_problem_format);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) {
    SRunner *sr = srunner_create(exit_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
