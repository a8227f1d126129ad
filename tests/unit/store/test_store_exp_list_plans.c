/* Tests of the plans of server/store/store_exp_list.c's pages: each filter and order a range of
 * an index read in the page's order, never a sort of every match, and the migrations that made
 * those indexes keep every page byte for byte. */
#include "exp_list_fixture.h"
#include "store.h"
#include "store_int.h"
#include "store_test_db.h"

#include "ag_error.h"

#include <check.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char err[512];

/* A tag under the submitted order, with or without a cursor, is a range of the tag index read in
 * the page's order (no sort); under the other orders a tag on few experiments is a search of
 * that index, one on more a set of ids each entry of the order's index is tested against,
 * without a lookup of the tag (no sort of every match). Never a parse of the JSON text. Every
 * path lists each experiment of the tag once, the set's as the row-by-row test's. */
START_TEST(test_tag_plan_searches_index) {
    static const char *const sorts[] = {"submitted", "name",     "task",   "state",   "priority",
                                        "started",   "finished", "return", "progress"};
    char mig[1024], db[1024], plan[4096];
    Store *s = NULL;
    sqlite3 *h = NULL;
    store_test_db_new(mig, sizeof(mig), db, sizeof(db));
    ck_assert_int_eq(store_open(db, &s, err, sizeof(err)), 0);
    ck_assert_msg(store_migrate(s, mig, 0, NULL, err, sizeof(err)) == 0, "%s", err);
    /* 300 with "bench" (over the 256 of a few), 30 of them also "best" */
    for (int i = 0; i < 300; i++) {
        add_exp(s, i % 2 ? "odd" : "even", "Ant", i % 10 ? "[\"bench\"]" : "[\"bench\",\"best\"]",
                NULL, 0);
    }
    ck_assert_int_eq(sqlite3_open(db, &h), SQLITE_OK);
    for (size_t i = 0; i < sizeof(sorts) / sizeof(sorts[0]); i++) {
        for (int asc = 0; asc < 2; asc++) {
            StoreExpFilter f = {.sort = sorts[i], .ascending = asc, .tag = "best", .limit = 7};
            plan_of(s, h, f, plan, sizeof(plan));
            ck_assert_msg(strstr(plan, "USING COVERING INDEX experiment_tags_tag (tag=?"),
                          "sort=%s asc=%d: %s", sorts[i], asc, plan);
            ck_assert_msg(!strstr(plan, "SCAN t") && !strstr(plan, "SCAN experiment_tags") &&
                              !strstr(plan, "json_each"),
                          "sort=%s asc=%d: %s", sorts[i], asc, plan);
            ck_assert_int_eq(listed_count(s, f), 30);
            f.tag = "bench";
            plan_of(s, h, f, plan, sizeof(plan));
            ck_assert_msg(!strstr(plan, "TEMP B-TREE") && !strstr(plan, "json_each"),
                          "sort=%s asc=%d: %s", sorts[i], asc, plan);
            ck_assert_msg(
                i == 0 ? strstr(plan, "USING COVERING INDEX experiment_tags_tag (tag=?") != NULL
                       : !strstr(plan, "experiment_tags") && !strstr(plan, " t "),
                "sort=%s asc=%d: %s", sorts[i], asc, plan);
            ck_assert_int_eq(listed_count(s, f), 300);
            compare_listing(s, f);
        }
    }
    {
        StoreExpFilter f = {.tag = "bench", .cursor = 100, .limit = 7};
        plan_of(s, h, f, plan, sizeof(plan));
        ck_assert_msg(strstr(plan, "SEARCH t USING COVERING INDEX experiment_tags_tag (tag=? AND "
                                   "exp_id<?)") &&
                          !strstr(plan, "TEMP B-TREE"),
                      "%s", plan);
    }
    sqlite3_close(h);
    store_close(s);
    store_test_db_remove(db);
}
END_TEST

/* migrations 016 on, on a database of 015: the index a page under a sort and both filters reads
 * carries task and state, so that the page is read in order (no sort) and the filters are tested
 * from the index entry; the pages are the same bytes with the same cursors as before */
START_TEST(test_filter_columns_migrated_from_015) {
    static const char *const sorts[] = {"name",    "task",     "state",  "priority",
                                        "started", "finished", "return", "progress"};
    char mig[1024], db[1024], plan[4096], index[128];
    char *before[sizeof(sorts) / sizeof(sorts[0])][2];
    Store *s = NULL;
    sqlite3 *h = NULL;
    int applied = 0;
    s = filled_at(15, mig, sizeof(mig), db, sizeof(db));
    ck_assert_int_eq(sqlite3_open(db, &h), SQLITE_OK);
    for (size_t i = 0; i < sizeof(sorts) / sizeof(sorts[0]); i++) {
        for (int asc = 0; asc < 2; asc++) {
            StoreExpFilter f = {.sort = sorts[i],
                                .ascending = asc,
                                .task = "Ant",
                                .state = "succeeded",
                                .limit = 2};
            before[i][asc] = listing_text(s, f);
            plan_of(s, h, f, plan, sizeof(plan));
            ck_assert_msg(plan_index(plan, index), "%s", plan);
            ck_assert(!index_has_column(h, index, "task") || !index_has_column(h, index, "state"));
        }
    }
    /* a new connection: EXPLAIN opens no transaction, so an open one would plan on the old
     * schema */
    sqlite3_close(h);
    ck_assert_msg(store_migrate(s, mig, 0, &applied, err, sizeof(err)) == 0, "%s", err);
    ck_assert_int_ge(applied, 1);
    ck_assert_int_eq(sqlite3_open(db, &h), SQLITE_OK);
    for (size_t i = 0; i < sizeof(sorts) / sizeof(sorts[0]); i++) {
        for (int asc = 0; asc < 2; asc++) {
            StoreExpFilter f = {.sort = sorts[i],
                                .ascending = asc,
                                .task = "Ant",
                                .state = "succeeded",
                                .limit = 2};
            char *after = listing_text(s, f);
            ck_assert_str_eq(after, before[i][asc]);
            free(after);
            free(before[i][asc]);
            plan_of(s, h, f, plan, sizeof(plan));
            ck_assert_msg(plan_index(plan, index) && !strstr(plan, "TEMP B-TREE"),
                          "sort=%s asc=%d: %s", sorts[i], asc, plan);
            ck_assert_msg(index_has_column(h, index, "task") && index_has_column(h, index, "state"),
                          "sort=%s asc=%d: %s", sorts[i], asc, index);
            compare_listing(s, f);
        }
    }
    ck_assert_int_eq(sql_int(db, "SELECT count(*) FROM experiments"), 45);
    ck_assert_int_eq(store_integrity_check(s, err, sizeof(err)), 0);
    sqlite3_close(h);
    store_close(s);
    store_test_db_remove(db);
}
END_TEST

/* the filters a page of migration 018's test is listed under */
typedef struct FilterCase {
    const char *task, *state, *searched;
} FilterCase;

/* migration 018 on a database of 017: a page under a sort and a task or state filter is a range
 * of an index that starts with the filter's column and holds the order after it (the plan
 * searches by the filter, no sort), the page after a cursor as well; with both filters the task
 * is searched and the state tested from the entry, but both are searched under sort=task and
 * sort=state, whose order is constant within the match.
 * Every page is the same bytes with the same cursors as at 017, and the listing through the
 * objects path agrees. */
START_TEST(test_filter_orders_migrated_from_017) {
    static const char *const sorts[] = {"name",    "task",     "state",  "priority",
                                        "started", "finished", "return", "progress"};
    static const FilterCase filters[] = {{"Ant", NULL, "(task=?"},
                                         {NULL, "succeeded", "(state=?"},
                                         {"HandBlock", "failed", "(task=?"}};
    enum { N_SORTS = sizeof(sorts) / sizeof(sorts[0]), N_FILTERS = 3 };
    char mig[1024], db[1024], plan[4096], index[128], next[STORE_CURSOR_MAX];
    char *before[N_SORTS][2][N_FILTERS];
    Store *s = NULL;
    sqlite3 *h = NULL;
    int applied = 0;
    s = filled_at(17, mig, sizeof(mig), db, sizeof(db));
    for (int i = 0; i < N_SORTS; i++) {
        for (int asc = 0; asc < 2; asc++) {
            for (int j = 0; j < N_FILTERS; j++) {
                StoreExpFilter f = {.sort = sorts[i],
                                    .ascending = asc,
                                    .task = filters[j].task,
                                    .state = filters[j].state,
                                    .limit = 2};
                before[i][asc][j] = listing_text(s, f);
            }
        }
    }
    ck_assert_msg(store_migrate(s, mig, 18, &applied, err, sizeof(err)) == 0, "%s", err);
    ck_assert_int_eq(applied, 1);
    ck_assert_int_eq(sqlite3_open(db, &h), SQLITE_OK);
    for (int i = 0; i < N_SORTS; i++) {
        for (int asc = 0; asc < 2; asc++) {
            for (int j = 0; j < N_FILTERS; j++) {
                StoreExpFilter f = {.sort = sorts[i],
                                    .ascending = asc,
                                    .task = filters[j].task,
                                    .state = filters[j].state,
                                    .limit = 2};
                const char *searched = filters[j].searched;
                char *after = listing_text(s, f);
                ck_assert_str_eq(after, before[i][asc][j]);
                free(after);
                free(before[i][asc][j]);
                if (f.task && f.state &&
                    (!strcmp(sorts[i], "task") || !strcmp(sorts[i], "state"))) {
                    searched = "=? AND ";
                }
                plan_of(s, h, f, plan, sizeof(plan));
                ck_assert_msg(strstr(plan, searched) && !strstr(plan, "TEMP B-TREE") &&
                                  plan_index(plan, index),
                              "sort=%s asc=%d task=%s state=%s: %s", sorts[i], asc,
                              f.task ? f.task : "-", f.state ? f.state : "-", plan);
                ck_assert(index_has_column(h, index, "task") &&
                          index_has_column(h, index, "state"));
                /* the page after a cursor: each part a range of the same index */
                {
                    json_t *page = NULL;
                    ck_assert_msg(store_exp_list_page(s, &f, &page, next, sizeof(next), err,
                                                      sizeof(err)) == 0,
                                  "%s", err);
                    json_decref(page);
                    ck_assert_msg(next[0], "sort=%s: one page only", sorts[i]);
                    f.after = next;
                    plan_of(s, h, f, plan, sizeof(plan));
                    ck_assert_msg(strstr(plan, searched) && !strstr(plan, "TEMP B-TREE"),
                                  "after a cursor, sort=%s asc=%d: %s", sorts[i], asc, plan);
                    f.after = NULL;
                }
                compare_listing(s, f);
            }
        }
    }
    /* a tag beside the task keeps the order's own index with both tested on each entry */
    {
        StoreExpFilter f = {.sort = "return", .task = "Ant", .tag = "best", .limit = 2};
        plan_of(s, h, f, plan, sizeof(plan));
        ck_assert_msg(!strstr(plan, "(task=?"), "%s", plan);
        compare_listing(s, f);
    }
    ck_assert_int_eq(sql_int(db, "SELECT count(*) FROM experiments"), 45);
    ck_assert_int_eq(store_integrity_check(s, err, sizeof(err)), 0);
    sqlite3_close(h);
    store_close(s);
    store_test_db_remove(db);
}
END_TEST

/* the VM steps SQLite takes to read the page f would run now, run on h with f's filters and
 * cursor bound as the store binds them (a white-box copy of the cursor's hex JSON) */
static int page_vm_steps(Store *s, sqlite3 *h, StoreExpFilter f) {
    char sql[4096], text[STORE_CURSOR_MAX / 2 + 1];
    sqlite3_stmt *st = NULL;
    int steps;
    ck_assert_msg(store_exp_list_page_sql(s, &f, sql, sizeof(sql), err, sizeof(err)) == 0, "%s",
                  err);
    ck_assert_msg(sqlite3_prepare_v2(h, sql, -1, &st, NULL) == SQLITE_OK, "%s", sqlite3_errmsg(h));
    if (f.state) {
        sqlite3_bind_text(st, 1, f.state, -1, SQLITE_STATIC);
    }
    if (f.task) {
        sqlite3_bind_text(st, 2, f.task, -1, SQLITE_STATIC);
    }
    sqlite3_bind_int(st, 5, f.limit + 1);
    if (f.after) {
        size_t len = strlen(f.after);
        json_t *cur;
        for (size_t i = 0; i < len / 2; i++) {
            unsigned v = 0;
            ck_assert_int_eq(sscanf(f.after + 2 * i, "%2x", &v), 1);
            text[i] = (char)v;
        }
        cur = json_loadb(text, len / 2, 0, NULL);
        ck_assert(json_is_string(json_array_get(cur, 2)));
        sqlite3_bind_text(st, 6, json_string_value(json_array_get(cur, 2)), -1, SQLITE_TRANSIENT);
        sqlite3_bind_int64(st, 7, json_integer_value(json_array_get(cur, 3)));
        json_decref(cur);
    }
    while (sqlite3_step(st) == SQLITE_ROW) {
    }
    steps = sqlite3_stmt_status(st, SQLITE_STMTSTATUS_VM_STEP, 0);
    sqlite3_finalize(st);
    return steps;
}

/* how many experiments paging through f from its first page lists, 700 a page */
static int count_listed(Store *s, StoreExpFilter f) {
    char next[STORE_CURSOR_MAX], after[STORE_CURSOR_MAX];
    int total = 0;
    f.after = NULL;
    f.limit = 700;
    for (;;) {
        json_t *page = NULL;
        ck_assert_msg(store_exp_list_page(s, &f, &page, next, sizeof(next), err, sizeof(err)) == 0,
                      "%s", err);
        total += (int)json_array_size(page);
        json_decref(page);
        if (!next[0]) {
            return total;
        }
        snprintf(after, sizeof(after), "%s", next);
        f.after = after;
    }
}

/* Ordered by the task or state it is filtered by (alone or with the other), a page costs the same
 * few steps however many experiments of the task are in other states, first page and after a
 * cursor: with both filters the page is a range of both (task, state), not the task's range read
 * in state order, which would step over the other states' entries first. 3,000 experiments of
 * one task and state beside 1,500 of each of a state before and after it; a page of 2 reads
 * about 20 rows' worth, not 1,500. */
START_TEST(test_filter_order_pages_are_bounded) {
    static const char *const orders[] = {"task", "state"};
    static const struct {
        const char *task, *state;
        int count;
    } filters[] = {{"Ant", NULL, 6000}, {NULL, "queued", 3001}, {"Ant", "queued", 3000}};
    char mig[1024], db[1024], next[STORE_CURSOR_MAX];
    Store *s = NULL;
    sqlite3 *h = NULL;
    int64_t first;
    store_test_db_new(mig, sizeof(mig), db, sizeof(db));
    ck_assert_int_eq(store_open(db, &s, err, sizeof(err)), 0);
    ck_assert_msg(store_migrate(s, mig, 0, NULL, err, sizeof(err)) == 0, "%s", err);
    first = add_exp(s, "many", "Ant", NULL, NULL, 0);
    add_exp(s, "other", "Hopper", NULL, NULL, 0);
    ck_assert_int_eq(sqlite3_open(db, &h), SQLITE_OK);
    copy_exp(h, first, 5999);
    exec_sql(h, "UPDATE experiments SET state = 'cancelled' WHERE id IN (SELECT id FROM experiments"
                " WHERE task = 'Ant' ORDER BY id LIMIT 1500 OFFSET 3000);"
                "UPDATE experiments SET state = 'succeeded' WHERE id IN (SELECT id FROM experiments"
                " WHERE task = 'Ant' ORDER BY id LIMIT 1500 OFFSET 4500);");
    ck_assert_int_eq(sql_int(db, "SELECT count(*) FROM experiments WHERE task = 'Ant' AND state ="
                                 " 'queued'"),
                     3000);
    for (int i = 0; i < 2; i++) {
        for (int asc = 0; asc < 2; asc++) {
            for (int j = 0; j < 3; j++) {
                StoreExpFilter f = {.sort = orders[i],
                                    .ascending = asc,
                                    .task = filters[j].task,
                                    .state = filters[j].state,
                                    .limit = 2};
                json_t *page = NULL;
                int steps = page_vm_steps(s, h, f);
                ck_assert_msg(steps < 600, "sort=%s asc=%d task=%s state=%s: %d VM steps",
                              orders[i], asc, f.task ? f.task : "-", f.state ? f.state : "-",
                              steps);
                ck_assert_msg(
                    store_exp_list_page(s, &f, &page, next, sizeof(next), err, sizeof(err)) == 0,
                    "%s", err);
                ck_assert_int_eq(json_array_size(page), 2);
                json_decref(page);
                ck_assert(next[0]);
                f.after = next;
                steps = page_vm_steps(s, h, f);
                ck_assert_msg(
                    steps < 600, "after a cursor, sort=%s asc=%d task=%s state=%s: %d VM steps",
                    orders[i], asc, f.task ? f.task : "-", f.state ? f.state : "-", steps);
                ck_assert_int_eq(count_listed(s, f), filters[j].count);
            }
        }
    }
    sqlite3_close(h);
    store_close(s);
    store_test_db_remove(db);
}
END_TEST

/* A tag on more than the id set holds (2,048) is tested on each entry of the order's index by a
 * lookup of the tag, as dense as it is a page stops after a few entries a row; it lists every
 * experiment of the tag once, as the set and the row-by-row paths agree on a tag below that. */
START_TEST(test_tag_dense_is_tested_per_entry) {
    static const char *const sorts[] = {"name", "state", "return", "progress"};
    char mig[1024], db[1024], plan[4096];
    Store *s = NULL;
    sqlite3 *h = NULL;
    int64_t first;
    store_test_db_new(mig, sizeof(mig), db, sizeof(db));
    ck_assert_int_eq(store_open(db, &s, err, sizeof(err)), 0);
    ck_assert_msg(store_migrate(s, mig, 0, NULL, err, sizeof(err)) == 0, "%s", err);
    first = add_exp(s, "dense", "Ant", "[\"dense\"]", NULL, 0);
    add_exp(s, "other", "Ant", "[\"other\"]", NULL, 0);
    ck_assert_int_eq(sqlite3_open(db, &h), SQLITE_OK);
    copy_exp(h, first, 2099);
    ck_assert_int_eq(sql_int(db, "SELECT count(*) FROM experiment_tags WHERE tag = 'dense'"), 2100);
    for (size_t i = 0; i < sizeof(sorts) / sizeof(sorts[0]); i++) {
        for (int asc = 0; asc < 2; asc++) {
            StoreExpFilter f = {.sort = sorts[i], .ascending = asc, .tag = "dense", .limit = 7};
            plan_of(s, h, f, plan, sizeof(plan));
            ck_assert_msg(strstr(plan, "SEARCH t USING PRIMARY KEY (exp_id=? AND tag=?)") &&
                              !strstr(plan, "TEMP B-TREE"),
                          "sort=%s asc=%d: %s", sorts[i], asc, plan);
            ck_assert_int_eq(count_listed(s, f), 2100);
        }
    }
    sqlite3_close(h);
    store_close(s);
    store_test_db_remove(db);
}
END_TEST

static Suite *store_exp_list_plans_suite(void) {
    Suite *su = suite_create("store_exp_list_plans");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_tag_plan_searches_index);
    tcase_add_test(tc, test_filter_columns_migrated_from_015);
    tcase_add_test(tc, test_filter_orders_migrated_from_017);
    tcase_add_test(tc, test_filter_order_pages_are_bounded);
    tcase_add_test(tc, test_tag_dense_is_tested_per_entry);
    suite_add_tcase(su, tc);
    return su;
}

int main(void) {
    SRunner *sr = srunner_create(store_exp_list_plans_suite());
    int failed;
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
