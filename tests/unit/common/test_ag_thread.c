/* Tests of common/ag_thread.c: a thread's nice value is its own, raised by the asked amount and
 * clamped at 19, the other threads left as they were. */
#include "ag_thread.h"

#include <check.h>
#include <pthread.h>
#include <stdlib.h>

typedef struct Raise {
    int delta, before, after, rc;
} Raise;

static void *raise_in_thread(void *arg) {
    Raise *r = arg;
    r->before = ag_thread_nice();
    r->rc = ag_thread_nice_add(r->delta);
    r->after = ag_thread_nice();
    return NULL;
}

static Raise raise_on_new_thread(int delta) {
    pthread_t t;
    Raise r = {.delta = delta};
    ck_assert_int_eq(pthread_create(&t, NULL, raise_in_thread, &r), 0);
    ck_assert_int_eq(pthread_join(t, NULL), 0);
    return r;
}

static int clamp19(int nice) {
    return nice > 19 ? 19 : nice;
}

START_TEST(test_raise_is_per_thread) {
    int mine = ag_thread_nice();
    Raise r = raise_on_new_thread(3);
    ck_assert_int_eq(r.rc, 0);
    /* a new thread starts at its creator's value */
    ck_assert_int_eq(r.before, mine);
    ck_assert_int_eq(r.after, clamp19(mine + 3));
    ck_assert_int_eq(ag_thread_nice(), mine);
    /* past 19 is clamped, not refused */
    r = raise_on_new_thread(40);
    ck_assert_int_eq(r.rc, 0);
    ck_assert_int_eq(r.after, 19);
    ck_assert_int_eq(ag_thread_nice(), mine);
}
END_TEST

START_TEST(test_zero_and_negative_change_nothing) {
    Raise r = raise_on_new_thread(0);
    ck_assert_int_eq(r.rc, 0);
    ck_assert_int_eq(r.after, r.before);
    r = raise_on_new_thread(-5);
    ck_assert_int_eq(r.rc, 0);
    ck_assert_int_eq(r.after, r.before);
}
END_TEST

int main(void) {
    Suite *su = suite_create("ag_thread");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_raise_is_per_thread);
    tcase_add_test(tc, test_zero_and_negative_change_nothing);
    suite_add_tcase(su, tc);
    SRunner *sr = srunner_create(su);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
