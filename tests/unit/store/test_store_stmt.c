/* Tests of the statements kept prepared per connection (store_stmt_get / store_stmt_put in
 * server/store/store.c): a statement handed out is not finalized by the preparing of others
 * while its caller still steps it (a list page read its items' rows with two more statements
 * while its own was running: past STORE_STMT_CACHE page variants, that preparing finalized the
 * page's statement under it), also through a list page itself; a nested get of a held
 * statement's text gets one of its own; and a connection whose every statement is in use says
 * so. */
#include "store.h"
#include "store_int.h"

#include "ag_buf.h"
#include "ag_error.h"
#include "ag_fs.h"

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

/* a get of a held statement's text (a nested caller) is given a statement of its own, and the
 * holder's goes on where it was; the nested one is finalized when given back, and the kept one
 * is handed out again once its holder gives it back */
START_TEST(test_nested_get_of_a_held_statement) {
    Store *s = NULL;
    sqlite3_stmt *outer = NULL, *inner = NULL, *again = NULL;
    ck_assert_msg(store_open(":memory:", &s, err, sizeof(err)) == 0, "%s", err);
    ck_assert_msg(store_stmt_get(s, COUNT_SQL, &outer, err, sizeof(err)) == 0, "%s", err);
    for (int x = 1; x <= 3; x++) {
        ck_assert_int_eq(sqlite3_step(outer), SQLITE_ROW);
        ck_assert_int_eq(sqlite3_column_int(outer, 0), x);
    }
    ck_assert_msg(store_stmt_get(s, COUNT_SQL, &inner, err, sizeof(err)) == 0, "%s", err);
    ck_assert_ptr_ne(inner, outer);
    ck_assert_int_eq(sqlite3_step(inner), SQLITE_ROW);
    ck_assert_int_eq(sqlite3_column_int(inner, 0), 1);
    store_stmt_put(s, inner);
    ck_assert_ptr_null(s->stmts_unkept[0]);
    /* the holder's place was kept */
    ck_assert_int_eq(sqlite3_step(outer), SQLITE_ROW);
    ck_assert_int_eq(sqlite3_column_int(outer, 0), 4);
    store_stmt_put(s, outer);
    ck_assert_msg(store_stmt_get(s, COUNT_SQL, &again, err, sizeof(err)) == 0, "%s", err);
    ck_assert_ptr_eq(again, outer);
    store_stmt_put(s, again);
    store_close(s);
}
END_TEST

/* with every kept statement held, more are handed out unkept, up to STORE_STMT_UNKEPT; past
 * that the connection says every statement is in use, and a statement given back makes room */
START_TEST(test_every_statement_in_use_is_an_error) {
    Store *s = NULL;
    sqlite3_stmt *held[STORE_STMT_CACHE], *unkept[STORE_STMT_UNKEPT], *more = NULL;
    char sql[64];
    ck_assert_msg(store_open(":memory:", &s, err, sizeof(err)) == 0, "%s", err);
    for (int i = 0; i < STORE_STMT_CACHE; i++) {
        snprintf(sql, sizeof(sql), "SELECT %d", i);
        ck_assert_msg(store_stmt_get(s, sql, &held[i], err, sizeof(err)) == 0, "%s", err);
    }
    for (int i = 0; i < STORE_STMT_UNKEPT; i++) {
        /* new texts, and the text of a held one */
        snprintf(sql, sizeof(sql), i == 3 ? "SELECT 3" : "SELECT 'more %d'", i);
        ck_assert_msg(store_stmt_get(s, sql, &unkept[i], err, sizeof(err)) == 0, "%s", err);
        for (int j = 0; j < STORE_STMT_CACHE; j++) {
            ck_assert_ptr_ne(unkept[i], held[j]);
        }
    }
    ck_assert_int_eq(sqlite3_step(unkept[3]), SQLITE_ROW);
    ck_assert_int_eq(sqlite3_column_int(unkept[3], 0), 3);
    ck_assert_int_eq(store_stmt_get(s, "SELECT 'one more'", &more, err, sizeof(err)), AG_EDB);
    ck_assert_ptr_nonnull(strstr(err, "in use"));
    store_stmt_put(s, unkept[5]);
    ck_assert_msg(store_stmt_get(s, "SELECT 'one more'", &more, err, sizeof(err)) == 0, "%s", err);
    ck_assert_int_eq(sqlite3_step(more), SQLITE_ROW);
    ck_assert_str_eq((const char *)sqlite3_column_text(more, 0), "one more");
    ck_assert_int_eq(sqlite3_step(held[0]), SQLITE_ROW);
    ck_assert_int_eq(sqlite3_column_int(held[0], 0), 0);
    store_stmt_put(s, more);
    for (int i = 0; i < STORE_STMT_UNKEPT; i++) {
        if (i != 5) {
            store_stmt_put(s, unkept[i]);
        }
    }
    for (int i = 0; i < STORE_STMT_UNKEPT; i++) {
        ck_assert_ptr_null(s->stmts_unkept[i]);
    }
    /* a kept slot given back is reused for a new text */
    store_stmt_put(s, held[7]);
    ck_assert_msg(store_stmt_get(s, "SELECT 'kept'", &more, err, sizeof(err)) == 0, "%s", err);
    ck_assert_ptr_null(s->stmts_unkept[0]);
    store_stmt_put(s, more);
    for (int i = 0; i < STORE_STMT_CACHE; i++) {
        if (i != 7) {
            store_stmt_put(s, held[i]);
        }
    }
    store_close(s);
}
END_TEST

/* a text page whose items are read again (their rows changed) while its statement is the next
 * one to replace: what bench_scale's list mix met at random past STORE_STMT_CACHE variants */
START_TEST(test_list_page_reads_items_under_its_statement) {
    char mig_dir[1024], next[STORE_CURSOR_MAX];
    Store *s = NULL;
    StoreExpFilter by_name = {.limit = 10, .sort = "name"}, by_task = {.limit = 10, .sort = "task"};
    AgBuf out;
    int64_t ids[3];
    unsigned page_slot;
    ck_assert_int_eq(ag_buf_init(&out, 0, 1 << 20), 0);
    ck_assert_int_eq(ag_fs_data_path("migrations", mig_dir, sizeof(mig_dir)), 0);
    ck_assert_msg(store_open(":memory:", &s, err, sizeof(err)) == 0, "%s", err);
    ck_assert_msg(store_migrate(s, mig_dir, 0, NULL, err, sizeof(err)) == 0, "%s", err);
    for (int i = 0; i < 3; i++) {
        char name[32];
        StoreExpNew e = {.name = name, .task = "Ant", .spec_json = "{}"};
        snprintf(name, sizeof(name), "run-%d", i);
        ck_assert_msg(store_exp_insert(s, &e, "/runs", &ids[i], err, sizeof(err)) == 0, "%s", err);
    }
    /* the item statements are prepared (and the items kept) by a page of another sort */
    ck_assert_msg(store_exp_list_page_text(s, &by_name, &out, NULL, NULL, next, sizeof(next), err,
                                           sizeof(err)) == 0,
                  "%s", err);
    page_slot = s->stmt_next % STORE_STMT_CACHE;
    ag_buf_reset(&out);
    ck_assert_msg(store_exp_list_page_text(s, &by_task, &out, NULL, NULL, next, sizeof(next), err,
                                           sizeof(err)) == 0,
                  "%s", err);
    ck_assert_uint_eq(s->stmt_next % STORE_STMT_CACHE, (page_slot + 1) % STORE_STMT_CACHE);
    /* other statements replace every slot but the sort=task page's, which is the next one */
    churn(s, 0, STORE_STMT_CACHE - 1);
    ck_assert_uint_eq(s->stmt_next % STORE_STMT_CACHE, page_slot);
    for (int i = 0; i < 3; i++) {
        ck_assert_msg(store_exp_annotate(s, ids[i], "[\"x\"]", "changed", err, sizeof(err)) == 0,
                      "%s", err);
    }
    ag_buf_reset(&out);
    ck_assert_msg(store_exp_list_page_text(s, &by_task, &out, NULL, NULL, next, sizeof(next), err,
                                           sizeof(err)) == 0,
                  "%s", err);
    /* every item, each as its row is now */
    for (int i = 0; i < 3; i++) {
        char name[32];
        snprintf(name, sizeof(name), "\"run-%d\"", i);
        ck_assert_msg(strstr(out.data, name), "%s not in %s", name, out.data);
    }
    {
        int changed = 0;
        for (const char *p = out.data; (p = strstr(p, "\"changed\"")) != NULL; p++) {
            changed++;
        }
        ck_assert_int_eq(changed, 3);
    }
    ag_buf_free(&out);
    store_close(s);
}
END_TEST

static Suite *store_stmt_suite(void) {
    Suite *su = suite_create("store_stmt");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_held_statement_survives_others);
    tcase_add_test(tc, test_nested_get_of_a_held_statement);
    tcase_add_test(tc, test_every_statement_in_use_is_an_error);
    tcase_add_test(tc, test_list_page_reads_items_under_its_statement);
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
