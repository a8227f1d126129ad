/* Tests of the bounded buffer (common/ag_buf.c): growth, the maximum size enforced on every kind
 * of append with the content left unchanged, printf, consume, steal and reset. */
#include "ag_buf.h"
#include "ag_error.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

START_TEST(test_init) {
    AgBuf b;
    ck_assert_int_eq(ag_buf_init(&b, 16, 8), AG_EINVAL);
    ck_assert_ptr_null(b.data);
    ck_assert_int_eq(ag_buf_init(&b, 0, 100), AG_OK);
    ck_assert_ptr_nonnull(b.data);
    ck_assert_str_eq(b.data, "");
    ck_assert_uint_eq(b.len, 0);
    ck_assert_uint_eq(b.max, 100);
    ag_buf_free(&b);
    ck_assert_ptr_null(b.data);
    ck_assert_int_eq(ag_buf_init(&b, 8, 8), AG_OK);
    ck_assert_uint_eq(b.cap, 8);
    ag_buf_free(&b);
}
END_TEST

START_TEST(test_append_grows) {
    AgBuf b;
    ck_assert_int_eq(ag_buf_init(&b, 0, 1 << 20), AG_OK);
    char expect[5000];
    for (int i = 0; i < 1000; i++) {
        ck_assert_int_eq(ag_buf_append(&b, "abcde", 5), AG_OK);
        memcpy(expect + 5 * i, "abcde", 5);
    }
    ck_assert_uint_eq(b.len, 5000);
    ck_assert_uint_ge(b.cap, 5000);
    ck_assert_int_eq(memcmp(b.data, expect, 5000), 0);
    ck_assert_int_eq(b.data[5000], '\0');
    ck_assert_int_eq(ag_buf_append(&b, NULL, 0), AG_OK);
    ck_assert_uint_eq(b.len, 5000);
    ag_buf_free(&b);
}
END_TEST

START_TEST(test_binary_content) {
    AgBuf b;
    ck_assert_int_eq(ag_buf_init(&b, 4, 64), AG_OK);
    const char bytes[] = {'a', '\0', 'b', '\0'};
    ck_assert_int_eq(ag_buf_append(&b, bytes, sizeof bytes), AG_OK);
    ck_assert_uint_eq(b.len, 4);
    ck_assert_int_eq(memcmp(b.data, bytes, 4), 0);
    ck_assert_int_eq(b.data[4], '\0');
    ag_buf_free(&b);
}
END_TEST

START_TEST(test_max_enforced) {
    AgBuf b;
    ck_assert_int_eq(ag_buf_init(&b, 0, 10), AG_OK);
    ck_assert_int_eq(ag_buf_append_str(&b, "0123456"), AG_OK);
    /* past the maximum: refused, content unchanged */
    ck_assert_int_eq(ag_buf_append_str(&b, "7890"), AG_ETOOBIG);
    ck_assert_uint_eq(b.len, 7);
    ck_assert_str_eq(b.data, "0123456");
    ck_assert_int_eq(ag_buf_printf(&b, "%d", 1234), AG_ETOOBIG);
    ck_assert_str_eq(b.data, "0123456");
    ck_assert_int_eq(ag_buf_append(&b, "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", 40),
                     AG_ETOOBIG);
    ck_assert_str_eq(b.data, "0123456");
    /* exactly up to the maximum is fine */
    ck_assert_int_eq(ag_buf_append_str(&b, "789"), AG_OK);
    ck_assert_uint_eq(b.len, 10);
    ck_assert_str_eq(b.data, "0123456789");
    ck_assert_int_eq(ag_buf_append(&b, "x", 1), AG_ETOOBIG);
    ck_assert_int_eq(ag_buf_append(&b, "", 0), AG_OK);
    /* consuming makes room again */
    ag_buf_consume(&b, 4);
    ck_assert_int_eq(ag_buf_append_str(&b, "abcd"), AG_OK);
    ck_assert_str_eq(b.data, "456789abcd");
    /* a huge size does not wrap around */
    ck_assert_int_eq(ag_buf_append(&b, "x", (size_t)-1), AG_ETOOBIG);
    ck_assert_str_eq(b.data, "456789abcd");
    ag_buf_free(&b);

    ck_assert_int_eq(ag_buf_init(&b, 0, 0), AG_OK);
    ck_assert_int_eq(ag_buf_append(&b, "x", 1), AG_ETOOBIG);
    ck_assert_str_eq(b.data, "");
    ag_buf_free(&b);
}
END_TEST

START_TEST(test_printf) {
    AgBuf b;
    ck_assert_int_eq(ag_buf_init(&b, 2, 4096), AG_OK);
    ck_assert_int_eq(ag_buf_printf(&b, "%s=%d", "lr", 3), AG_OK);
    ck_assert_int_eq(ag_buf_printf(&b, ", %.2f", 0.125), AG_OK);
    ck_assert_str_eq(b.data, "lr=3, 0.12");
    ck_assert_uint_eq(b.len, strlen("lr=3, 0.12"));
    ck_assert_int_eq(ag_buf_printf(&b, "%s", ""), AG_OK);
    ck_assert_uint_eq(b.len, 10);
    /* a long line grows the buffer in one go */
    char big[2001];
    memset(big, 'z', 2000);
    big[2000] = '\0';
    ck_assert_int_eq(ag_buf_printf(&b, "[%s]", big), AG_OK);
    ck_assert_uint_eq(b.len, 10 + 2002);
    ck_assert_int_eq(b.data[10], '[');
    ck_assert_int_eq(b.data[b.len - 1], ']');
    ck_assert_int_eq(b.data[b.len], '\0');
    ag_buf_free(&b);
}
END_TEST

START_TEST(test_consume) {
    AgBuf b;
    ck_assert_int_eq(ag_buf_init(&b, 0, 64), AG_OK);
    ck_assert_int_eq(ag_buf_append_str(&b, "line1\nline2\n"), AG_OK);
    ag_buf_consume(&b, 6);
    ck_assert_str_eq(b.data, "line2\n");
    ck_assert_uint_eq(b.len, 6);
    ag_buf_consume(&b, 0);
    ck_assert_str_eq(b.data, "line2\n");
    ag_buf_consume(&b, 100); /* more than there is: empty */
    ck_assert_uint_eq(b.len, 0);
    ck_assert_str_eq(b.data, "");
    ck_assert_int_eq(ag_buf_append_str(&b, "ab"), AG_OK);
    ag_buf_consume(&b, 2);
    ck_assert_uint_eq(b.len, 0);
    ck_assert_str_eq(b.data, "");
    ag_buf_free(&b);
}
END_TEST

START_TEST(test_reset_keeps_allocation) {
    AgBuf b;
    ck_assert_int_eq(ag_buf_init(&b, 0, 1024), AG_OK);
    ck_assert_int_eq(ag_buf_printf(&b, "%0500d", 7), AG_OK);
    size_t cap = b.cap;
    char *data = b.data;
    ag_buf_reset(&b);
    ck_assert_uint_eq(b.len, 0);
    ck_assert_str_eq(b.data, "");
    ck_assert_ptr_eq(b.data, data);
    ck_assert_uint_eq(b.cap, cap);
    ck_assert_int_eq(ag_buf_printf(&b, "%0500d", 8), AG_OK);
    ck_assert_ptr_eq(b.data, data); /* no new allocation for the same size */
    ag_buf_free(&b);
}
END_TEST

START_TEST(test_steal) {
    AgBuf b;
    ck_assert_int_eq(ag_buf_init(&b, 0, 64), AG_OK);
    ck_assert_int_eq(ag_buf_append_str(&b, "hello"), AG_OK);
    char *s = ag_buf_steal(&b);
    ck_assert_str_eq(s, "hello");
    ck_assert_ptr_null(b.data);
    ck_assert_uint_eq(b.len, 0);
    ck_assert_uint_eq(b.cap, 0);
    free(s);
    /* stealing an emptied buffer gives an empty string, never NULL */
    s = ag_buf_steal(&b);
    ck_assert_ptr_nonnull(s);
    ck_assert_str_eq(s, "");
    free(s);
    /* the buffer is usable again and keeps its maximum */
    ck_assert_int_eq(ag_buf_append_str(&b, "again"), AG_OK);
    ck_assert_str_eq(b.data, "again");
    ck_assert_int_eq(ag_buf_printf(&b, "%070d", 0), AG_ETOOBIG);
    ck_assert_str_eq(b.data, "again");
    ag_buf_consume(&b, 5);
    ag_buf_free(&b);
    ag_buf_free(&b); /* a freed buffer can be freed again */
}
END_TEST

static Suite *buf_suite(void) {
    Suite *s = suite_create("ag_buf");
    TCase *tc = tcase_create("buf");
    tcase_add_test(tc, test_init);
    tcase_add_test(tc, test_append_grows);
    tcase_add_test(tc, test_binary_content);
    tcase_add_test(tc, test_max_enforced);
    tcase_add_test(tc, test_printf);
    tcase_add_test(tc, test_consume);
    tcase_add_test(tc, test_reset_keeps_allocation);
    tcase_add_test(tc, test_steal);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) {
    SRunner *sr = srunner_create(buf_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
