/* Tests of the statements kept prepared per connection (store_stmt_get / store_stmt_put in
 * server/store/store.c): a statement handed out is not finalized by the preparing of others
 * while its caller still steps it (a list page read its items' rows with two more statements
 * while its own was running: past STORE_STMT_CACHE page variants, that preparing finalized the
 * page's statement under it), and a connection whose every kept statement is in use says so. */
#include "store.h"
#include "store_int.h"

#include "ag_error.h"

#include <check.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char err[512];

#define COUNT_SQL                                                                                  \
    "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 100) SELECT x FROM " \
    "c"

/* prepares and gives back n statements of distinct texts, as many page variants would */
static void churn(Store *s, int from, int n) {
    for (int i = from; i < from + n; i++) {
        char sql[64];
        sqlite3_stmt *st = NULL;
        snprintf(sql, sizeof(sql), "SELECT %d", i);
        ck_assert_msg(store_stmt_get(s, sql, &st, err, sizeof(err)) == 0, "%s", err);
        ck_assert_int_eq(sqlite3_step(st), SQLITE_ROW);
        ck_assert_int_eq(sqlite3_column_int(st, 0), i);
        store_stmt_put(s, st);
    }
}

START_TEST(test_held_statement_survives_others) {
    Store *s = NULL;
    sqlite3_stmt *held = NULL, *again = NULL;
    ck_assert_msg(store_open(":memory:", &s, err, sizeof(err)) == 0, "%s", err);
    churn(s, 0, STORE_STMT_CACHE / 2); /* the next slot to replace is not the first */
    ck_assert_msg(store_stmt_get(s, COUNT_SQL, &held, err, sizeof(err)) == 0, "%s", err);
    ck_assert_int_eq(sqlite3_step(held), SQLITE_ROW);
    ck_assert_int_eq(sqlite3_column_int(held, 0), 1);
    /* every slot is replaced at least twice over while held is running */
    churn(s, 1000, 3 * STORE_STMT_CACHE);
    ck_assert_int_eq(sqlite3_step(held), SQLITE_ROW);
    ck_assert_int_eq(sqlite3_column_int(held, 0), 2);
    store_stmt_put(s, held);
    ck_assert_msg(store_stmt_get(s, COUNT_SQL, &again, err, sizeof(err)) == 0, "%s", err);
    ck_assert_ptr_eq(again, held);
    ck_assert_int_eq(sqlite3_step(again), SQLITE_ROW);
    ck_assert_int_eq(sqlite3_column_int(again, 0), 1); /* given back reset */
    store_stmt_put(s, again);
    store_close(s);
}
END_TEST

START_TEST(test_every_statement_in_use_is_an_error) {
    Store *s = NULL;
    sqlite3_stmt *held[STORE_STMT_CACHE], *more = NULL;
    char sql[64];
    ck_assert_msg(store_open(":memory:", &s, err, sizeof(err)) == 0, "%s", err);
    for (int i = 0; i < STORE_STMT_CACHE; i++) {
        snprintf(sql, sizeof(sql), "SELECT %d", i);
        ck_assert_msg(store_stmt_get(s, sql, &held[i], err, sizeof(err)) == 0, "%s", err);
    }
    ck_assert_int_eq(store_stmt_get(s, "SELECT 'one more'", &more, err, sizeof(err)), AG_EDB);
    ck_assert_ptr_nonnull(strstr(err, "in use"));
    /* a statement already kept is still handed out */
    ck_assert_msg(store_stmt_get(s, "SELECT 3", &more, err, sizeof(err)) == 0, "%s", err);
    ck_assert_ptr_eq(more, held[3]);
    store_stmt_put(s, held[7]);
    ck_assert_msg(store_stmt_get(s, "SELECT 'one more'", &more, err, sizeof(err)) == 0, "%s", err);
    ck_assert_int_eq(sqlite3_step(more), SQLITE_ROW);
    ck_assert_str_eq((const char *)sqlite3_column_text(more, 0), "one more");
    ck_assert_int_eq(sqlite3_step(held[0]), SQLITE_ROW);
    ck_assert_int_eq(sqlite3_column_int(held[0], 0), 0);
    store_stmt_put(s, more);
    for (int i = 0; i < STORE_STMT_CACHE; i++) {
        store_stmt_put(s, held[i]);
    }
    store_close(s);
}
END_TEST

static Suite *store_stmt_suite(void) {
    Suite *su = suite_create("store_stmt");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_held_statement_survives_others);
    tcase_add_test(tc, test_every_statement_in_use_is_an_error);
    suite_add_tcase(su, tc);
    return su;
}

int main(void) {
    SRunner *sr = srunner_create(store_stmt_suite());
    int failed;
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
