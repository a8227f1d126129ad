/* Tests of server/store/store_exp_list.c: the page written as JSON text is byte for byte the
 * jansson dump of the page of objects, over experiments with nulls, Unicode, escapes and bytes
 * that are not UTF-8 in their text, every state, big integers and reals, tags in and out of
 * jansson's compact form, under every sort, both orders, the filters and following pages; and
 * the members a caller appends land inside each item. */
#include "store.h"
#include "store_int.h"
#include "exp_list_fixture.h"
#include "store_test_db.h"

#include "ag_error.h"

#include <check.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char err[512];

/* appends two members, so the test sees where a caller's members go */
static int tail_members(AgBuf *out, const StoreExpPace *p, void *ctx) {
    (void)ctx;
    return ag_buf_printf(out, ",\"running\":%d,\"budget\":%.17g", p->running, p->budget_env_steps);
}

START_TEST(test_text_equals_objects) {
    static const char *const sorts[] = {"submitted", "name",     "task",   "state",   "priority",
                                        "started",   "finished", "return", "progress"};
    char mig[1024], db[1024];
    Store *s = NULL;
    store_test_db_new(mig, sizeof(mig), db, sizeof(db));
    ck_assert_int_eq(store_open(db, &s, err, sizeof(err)), 0);
    ck_assert_msg(store_migrate(s, mig, 0, NULL, err, sizeof(err)) == 0, "%s", err);
    fill(s, db);
    /* every item kept before the hand edits below, which the text path must then see */
    compare_listing(s, (StoreExpFilter){.limit = 100});
    fill_odd(db);
    for (size_t i = 0; i < sizeof(sorts) / sizeof(sorts[0]); i++) {
        for (int asc = 0; asc < 2; asc++) {
            for (int limit = 1; limit <= 100; limit += 6) {
                StoreExpFilter f = {.sort = sorts[i], .ascending = asc, .limit = limit};
                compare_listing(s, f);
            }
        }
    }
    {
        StoreExpFilter f = {.state = "failed", .limit = 4};
        compare_listing(s, f);
        f = (StoreExpFilter){.task = "Ant", .state = "succeeded", .sort = "return", .limit = 3};
        compare_listing(s, f);
        /* tags that are not JSON (fill_odd) hide only their own experiment from a tag */
        f = (StoreExpFilter){.tag = "best", .limit = 5};
        compare_listing(s, f);
        f = (StoreExpFilter){.tag = "best", .sort = "return", .ascending = 1, .limit = 3};
        compare_listing(s, f);
        f = (StoreExpFilter){.q = "RUN-77", .sort = "name", .limit = 2};
        compare_listing(s, f);
        f = (StoreExpFilter){.q = "nothing matches", .limit = 2};
        compare_listing(s, f);
    }
    store_close(s);
    store_test_db_remove(db);
}
END_TEST

START_TEST(test_text_caller_members_and_errors) {
    char mig[1024], db[1024], next[STORE_CURSOR_MAX];
    Store *s = NULL;
    StoreExpFilter f = {.limit = 2};
    AgBuf out;
    store_test_db_new(mig, sizeof(mig), db, sizeof(db));
    ck_assert_int_eq(store_open(db, &s, err, sizeof(err)), 0);
    ck_assert_msg(store_migrate(s, mig, 0, NULL, err, sizeof(err)) == 0, "%s", err);
    add_exp(s, "a", "Ant", NULL, NULL, 0);
    add_exp(s, "b", "Ant", NULL, NULL, 0);
    add_exp(s, "c", "Ant", NULL, NULL, 0);
    ck_assert_int_eq(ag_buf_init(&out, 0, 1 << 20), 0);
    ck_assert_int_eq(ag_buf_append_str(&out, "{\"items\":"), 0);
    ck_assert_msg(store_exp_list_page_text(s, &f, &out, tail_members, NULL, next, sizeof(next), err,
                                           sizeof(err)) == 0,
                  "%s", err);
    ck_assert_str_eq(next, "2");
    {
        json_t *doc = json_loads(out.data + strlen("{\"items\":"), 0, NULL), *it;
        ck_assert_ptr_nonnull(doc);
        ck_assert_int_eq(json_array_size(doc), 2);
        it = json_array_get(doc, 0);
        ck_assert_int_eq(json_integer_value(json_object_get(it, "id")), 3);
        ck_assert_int_eq(json_integer_value(json_object_get(it, "running")), 0);
        ck_assert(json_number_value(json_object_get(it, "budget")) == 100000);
        ck_assert(json_is_null(json_object_get(it, "latest_wall_s")));
        json_decref(doc);
    }
    /* a bad cursor or sort leaves the buffer as it was */
    {
        size_t len = out.len;
        f.sort = "return";
        f.after = "zz";
        ck_assert_int_eq(
            store_exp_list_page_text(s, &f, &out, NULL, NULL, next, sizeof(next), err, sizeof(err)),
            AG_EINVAL);
        f.sort = "bogus";
        f.after = NULL;
        ck_assert_int_eq(
            store_exp_list_page_text(s, &f, &out, NULL, NULL, next, sizeof(next), err, sizeof(err)),
            AG_EINVAL);
        ck_assert_uint_eq(out.len, len);
    }
    /* a page past the buffer's maximum fails cleanly, the buffer unchanged */
    {
        AgBuf small;
        f = (StoreExpFilter){.limit = 3};
        ck_assert_int_eq(ag_buf_init(&small, 0, 300), 0);
        ck_assert_int_eq(ag_buf_append_str(&small, "x"), 0);
        ck_assert_int_eq(store_exp_list_page_text(s, &f, &small, NULL, NULL, next, sizeof(next),
                                                  err, sizeof(err)),
                         AG_ETOOBIG);
        ck_assert_str_eq(small.data, "x");
        ag_buf_free(&small);
    }
    ag_buf_free(&out);
    store_close(s);
    store_test_db_remove(db);
}
END_TEST

/* names of a listing, in its order, joined by '|' */
static void names_of(Store *s, const char *q, char *out, size_t out_sz) {
    StoreExpFilter f = {.q = q, .limit = 100};
    char next[STORE_CURSOR_MAX];
    json_t *page = NULL, *it;
    size_t i, n = 0;
    ck_assert_msg(store_exp_list_page(s, &f, &page, next, sizeof(next), err, sizeof(err)) == 0,
                  "%s", err);
    out[0] = '\0';
    json_array_foreach(page, i, it) {
        n += (size_t)snprintf(out + n, out_sz - n, "%s%s", i ? "|" : "",
                              json_string_value(json_object_get(it, "name")));
    }
    json_decref(page);
}

START_TEST(test_search_is_literal_and_folds_ascii) {
    char mig[1024], db[1024], got[512];
    Store *s = NULL;
    store_test_db_new(mig, sizeof(mig), db, sizeof(db));
    ck_assert_int_eq(store_open(db, &s, err, sizeof(err)), 0);
    ck_assert_msg(store_migrate(s, mig, 0, NULL, err, sizeof(err)) == 0, "%s", err);
    add_exp(s, "a%b", "Ant", NULL, NULL, 0);
    add_exp(s, "a_b", "Ant", NULL, NULL, 0);
    add_exp(s, "axb", "Ant", NULL, NULL, 0);
    add_exp(s, "A\\B", "Ant", NULL, NULL, 0);
    add_exp(s, "Caf\xc3\x89", "Ant", NULL, NULL, 0);
    names_of(s, "%", got, sizeof(got));
    ck_assert_str_eq(got, "a%b");
    names_of(s, "_", got, sizeof(got));
    ck_assert_str_eq(got, "a_b");
    names_of(s, "\\", got, sizeof(got));
    ck_assert_str_eq(got, "A\\B");
    names_of(s, "X", got, sizeof(got));
    ck_assert_str_eq(got, "axb");
    names_of(s, "a\\b", got, sizeof(got));
    ck_assert_str_eq(got, "A\\B");
    names_of(s, "B", got, sizeof(got));
    ck_assert_str_eq(got, "A\\B|axb|a_b|a%b");
    /* as lower() did: ASCII letters fold, others are compared as they are */
    names_of(s, "CAF\xc3\x89", got, sizeof(got));
    ck_assert_str_eq(got, "Caf\xc3\x89");
    names_of(s, "caf\xc3\xa9", got, sizeof(got));
    ck_assert_str_eq(got, "");
    store_close(s);
    store_test_db_remove(db);
}
END_TEST

/* the ids a tag lists in the submitted order, newest first, joined by '|' */
static void ids_of_tag(Store *s, const char *tag, char *out, size_t out_sz) {
    StoreExpFilter f = {.tag = tag, .limit = 1000};
    char next[STORE_CURSOR_MAX];
    json_t *page = NULL, *it;
    size_t i, n = 0;
    ck_assert_msg(store_exp_list_page(s, &f, &page, next, sizeof(next), err, sizeof(err)) == 0,
                  "%s", err);
    out[0] = '\0';
    json_array_foreach(page, i, it) {
        n += (size_t)snprintf(out + n, out_sz - n, "%s%lld", i ? "|" : "",
                              (long long)json_integer_value(json_object_get(it, "id")));
        ck_assert_uint_lt(n, out_sz);
    }
    json_decref(page);
}

/* the tag rows follow every write of the tags' text: submit, PUT tags (annotate), notes alone,
 * a hand edit, a delete; duplicates count once and a text that is not JSON hides only its own
 * experiment */
START_TEST(test_tag_rows_follow_writes) {
    char mig[1024], db[1024], got[256];
    Store *s = NULL;
    int64_t a, b, c;
    store_test_db_new(mig, sizeof(mig), db, sizeof(db));
    ck_assert_int_eq(store_open(db, &s, err, sizeof(err)), 0);
    ck_assert_msg(store_migrate(s, mig, 0, NULL, err, sizeof(err)) == 0, "%s", err);
    a = add_exp(s, "a", "Ant", "[\"best\",\"x\",\"best\"]", NULL, 0);
    b = add_exp(s, "b", "Ant", "[\"x\"]", NULL, 0);
    c = add_exp(s, "c", "Ant", NULL, NULL, 0);
    ck_assert_int_eq(sql_int(db, "SELECT count(*) FROM experiment_tags"), 3);
    ids_of_tag(s, "best", got, sizeof(got));
    ck_assert_str_eq(got, "1");
    ids_of_tag(s, "x", got, sizeof(got));
    ck_assert_str_eq(got, "2|1");
    ids_of_tag(s, "bes", got, sizeof(got));
    ck_assert_str_eq(got, "");

    ck_assert_int_eq(store_exp_annotate(s, b, "[\"best\"]", NULL, err, sizeof(err)), 0);
    ck_assert_int_eq(store_exp_annotate(s, a, NULL, "notes only", err, sizeof(err)), 0);
    ck_assert_int_eq(store_exp_annotate(s, c, "[\"caf\xc3\xa9\",\"x\"]", NULL, err, sizeof(err)),
                     0);
    ids_of_tag(s, "best", got, sizeof(got));
    ck_assert_str_eq(got, "2|1");
    ids_of_tag(s, "x", got, sizeof(got));
    ck_assert_str_eq(got, "3|1");
    ids_of_tag(s, "caf\xc3\xa9", got, sizeof(got));
    ck_assert_str_eq(got, "3");

    /* a hand edit leaving a text that is not JSON: the others still list (and 2 finished, so
     * that it can be deleted) */
    {
        sqlite3 *h = NULL;
        ck_assert_int_eq(sqlite3_open(db, &h), SQLITE_OK);
        sqlite3_busy_timeout(h, 5000);
        exec_sql(h, "UPDATE experiments SET tags = '[\"best\",' WHERE id = 1");
        exec_sql(h, "UPDATE experiments SET state = 'succeeded' WHERE id = 2");
        sqlite3_close(h);
    }
    ids_of_tag(s, "best", got, sizeof(got));
    ck_assert_str_eq(got, "2");
    ids_of_tag(s, "x", got, sizeof(got));
    ck_assert_str_eq(got, "3");

    ck_assert_int_eq(store_exp_delete(s, b, NULL, 0, err, sizeof(err)), 0);
    ids_of_tag(s, "best", got, sizeof(got));
    ck_assert_str_eq(got, "");
    ck_assert_int_eq(sql_int(db, "SELECT count(*) FROM experiment_tags WHERE exp_id = 2"), 0);
    ck_assert_int_eq(sql_int(db, "SELECT count(*) FROM experiment_tags"), 2);
    store_close(s);
    store_test_db_remove(db);
}
END_TEST

/* migration 012 on a database of 011: the rows of every experiment's JSON tags (text values
 * only, as json_each's value = tag matched), none for a text that is not JSON, and the triggers
 * in place for the writes after it */
START_TEST(test_tag_rows_migrated_from_011) {
    char mig[1024], db[1024], got[256];
    Store *s = NULL;
    int applied = 0;
    store_test_db_new(mig, sizeof(mig), db, sizeof(db));
    ck_assert_int_eq(store_open(db, &s, err, sizeof(err)), 0);
    ck_assert_msg(store_migrate(s, mig, 11, NULL, err, sizeof(err)) == 0, "%s", err);
    add_exp(s, "a", "Ant", "[\"best\",\"x\"]", NULL, 0);
    add_exp(s, "b", "Ant", "[\"best\",\"best\"]", NULL, 0);
    add_exp(s, "c", "Ant", NULL, NULL, 0);
    add_exp(s, "d", "Ant", NULL, NULL, 0);
    add_exp(s, "e", "Ant", NULL, NULL, 0);
    add_exp(s, "f", "Ant", NULL, NULL, 0);
    add_exp(s, "g", "Ant", NULL, NULL, 0);
    store_close(s);
    {
        sqlite3 *h = NULL;
        ck_assert_int_eq(sqlite3_open(db, &h), SQLITE_OK);
        exec_sql(h, "UPDATE experiments SET tags = 'not json' WHERE id = 3");
        exec_sql(h, "UPDATE experiments SET tags = '[\"best\",1,null,[\"x\"]]' WHERE id = 4");
        exec_sql(h, "UPDATE experiments SET tags = '{\"k\":\"best\",\"n\":2}' WHERE id = 5");
        exec_sql(h, "UPDATE experiments SET tags = '\"x\"' WHERE id = 6");
        exec_sql(h, "UPDATE experiments SET tags = '' WHERE id = 7");
        ck_assert_int_ne(sqlite3_exec(h, "SELECT 1 FROM experiment_tags", NULL, NULL, NULL),
                         SQLITE_OK);
        sqlite3_close(h);
    }
    ck_assert_int_eq(store_open(db, &s, err, sizeof(err)), 0);
    ck_assert_msg(store_migrate(s, mig, 12, &applied, err, sizeof(err)) == 0, "%s", err);
    ck_assert_int_eq(applied, 1);
    ck_assert_int_eq(sql_int(db, "SELECT count(*) FROM experiment_tags"), 6);
    ids_of_tag(s, "best", got, sizeof(got));
    ck_assert_str_eq(got, "5|4|2|1");
    ids_of_tag(s, "x", got, sizeof(got));
    ck_assert_str_eq(got, "6|1");
    ids_of_tag(s, "1", got, sizeof(got));
    ck_assert_str_eq(got, "");
    ck_assert_int_eq(store_exp_annotate(s, 3, "[\"x\"]", NULL, err, sizeof(err)), 0);
    ids_of_tag(s, "x", got, sizeof(got));
    ck_assert_str_eq(got, "6|3|1");
    ck_assert_int_eq(store_integrity_check(s, err, sizeof(err)), 0);
    store_close(s);
    store_test_db_remove(db);
}
END_TEST

/* Following the cursors of every order through pages of 7 lists the experiments in the order a
 * sort of the whole table gives (ties by id), each once: the keyset pages against an ORDER BY
 * written here, over orders with many ties (state, task, priority) and NULLs, without a filter
 * and under the state and task filters (tested from the order's index, migration 016), alone and
 * combined */
START_TEST(test_pages_follow_the_whole_order) {
    static const struct {
        const char *sort, *desc_expr, *asc_expr;
    } orders[] = {
        {"submitted", "id", "id"},
        {"name", "name COLLATE NOCASE", "name COLLATE NOCASE"},
        {"task", "task", "task"},
        {"state", "state", "state"},
        {"priority", "priority", "priority"},
        {"started", "coalesce(started_at, -1e308)", "coalesce(started_at, 1e308)"},
        {"finished", "coalesce(finished_at, -1e308)", "coalesce(finished_at, 1e308)"},
        {"return", "coalesce(latest_return, -1e308)", "coalesce(latest_return, 1e308)"},
        {"progress",
         "coalesce(CASE WHEN budget_env_steps > 0 THEN CAST(latest_env_steps AS REAL) /"
         " budget_env_steps END, -1e308)",
         "coalesce(CASE WHEN budget_env_steps > 0 THEN CAST(latest_env_steps AS REAL) /"
         " budget_env_steps END, 1e308)"},
    };
    char mig[1024], db[1024];
    Store *s = NULL;
    sqlite3 *h = NULL;
    store_test_db_new(mig, sizeof(mig), db, sizeof(db));
    ck_assert_int_eq(store_open(db, &s, err, sizeof(err)), 0);
    ck_assert_msg(store_migrate(s, mig, 0, NULL, err, sizeof(err)) == 0, "%s", err);
    fill(s, db);
    ck_assert_int_eq(sqlite3_open(db, &h), SQLITE_OK);
    for (size_t i = 0; i < sizeof(orders) / sizeof(orders[0]) * 4 * 2; i++) {
        int asc = (int)(i % 2), filter = (int)(i / 2 % 4);
        size_t o = i / 8;
        const char *state = filter & 1 ? "succeeded" : NULL, *task = filter & 2 ? "Ant" : NULL;
        {
            StoreExpFilter f = {
                .sort = orders[o].sort, .ascending = asc, .limit = 7, .state = state, .task = task};
            char sql[768], want[2048] = "", got[2048] = "", next[STORE_CURSOR_MAX],
                           after[STORE_CURSOR_MAX];
            size_t nw = 0, ng = 0;
            sqlite3_stmt *st = NULL;
            snprintf(sql, sizeof(sql),
                     "SELECT id FROM experiments WHERE (?1 IS NULL OR state = ?1) AND"
                     " (?2 IS NULL OR task = ?2) ORDER BY %s %s, id %s",
                     asc ? orders[o].asc_expr : orders[o].desc_expr, asc ? "ASC" : "DESC",
                     asc ? "ASC" : "DESC");
            ck_assert_msg(sqlite3_prepare_v2(h, sql, -1, &st, NULL) == SQLITE_OK, "%s",
                          sqlite3_errmsg(h));
            sqlite3_bind_text(st, 1, state, -1, SQLITE_STATIC);
            sqlite3_bind_text(st, 2, task, -1, SQLITE_STATIC);
            while (sqlite3_step(st) == SQLITE_ROW) {
                nw += (size_t)snprintf(want + nw, sizeof(want) - nw, "%lld ",
                                       (long long)sqlite3_column_int64(st, 0));
            }
            sqlite3_finalize(st);
            for (;;) {
                json_t *page = NULL, *it;
                size_t k;
                ck_assert_msg(
                    store_exp_list_page(s, &f, &page, next, sizeof(next), err, sizeof(err)) == 0,
                    "%s", err);
                json_array_foreach(page, k, it) {
                    ng +=
                        (size_t)snprintf(got + ng, sizeof(got) - ng, "%lld ",
                                         (long long)json_integer_value(json_object_get(it, "id")));
                }
                json_decref(page);
                if (!next[0]) {
                    break;
                }
                snprintf(after, sizeof(after), "%s", next);
                f.after = after;
            }
            ck_assert_msg(!strcmp(want, got), "sort=%s asc=%d state=%s task=%s\nwant %s\ngot  %s",
                          f.sort, asc, state ? state : "any", task ? task : "any", want, got);
            ck_assert_int_gt(nw, 0);
            f.after = NULL;
            compare_listing(s, f);
        }
    }
    sqlite3_close(h);
    store_close(s);
    store_test_db_remove(db);
}
END_TEST

/* whether the page f would run now reads the name index's candidates by id (1) or tests the
 * entries of its order against them as a set (2); 0 when it scans */
static int page_uses_name_index(Store *s, StoreExpFilter f) {
    char sql[4096];
    ck_assert_msg(store_exp_list_page_sql(s, &f, sql, sizeof(sql), err, sizeof(err)) == 0, "%s",
                  err);
    return strstr(sql, "json_each(?9)") ? 1 : strstr(sql, "ag_in_ids(?11, id)") ? 2 : 0;
}

/* q through the trigram index (migration 015) lists what the LIKE over every name lists (the
 * objects path, which does not use the index): Unicode the index folds and the LIKE does not,
 * the LIKE's own characters, quotes, text that is not UTF-8, searches under 3 characters and
 * ones on more names than are read by id (tested as a set under a sort), under several orders and
 * pages; the names follow renames and deletes by another connection */
START_TEST(test_search_index_lists_what_like_lists) {
    static const char *const names[] = {
        "Caf\xc3\x89-run", "caf\xc3\xa9-RUN",          "say \"hi\" now", "100% a_b\\c",
        "run-77",          "Run-770 \xf0\x9f\x98\x80", "xrun-7",         "ab",
        "\xff\xfe run-77",
    };
    static const char *const searches[] = {
        "run-77", "RUN",  "caf\xc3\xa9", "CAF\xc3\x89",      "\"hi\"", "% a_b\\",    "ab",
        "a",      "un-7", "zzz",         "\xf0\x9f\x98\x80", "common", "\xff\xfe r", "mon-1",
    };
    static const char *const sorts[] = {"submitted", "name", "return"};
    char mig[1024], db[1024];
    Store *s = NULL;
    sqlite3 *h = NULL;
    store_test_db_new(mig, sizeof(mig), db, sizeof(db));
    ck_assert_int_eq(store_open(db, &s, err, sizeof(err)), 0);
    ck_assert_msg(store_migrate(s, mig, 0, NULL, err, sizeof(err)) == 0, "%s", err);
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        add_exp(s, names[i], "Ant", NULL, NULL, 0);
    }
    for (int i = 0; i < 300; i++) {
        char name[32];
        snprintf(name, sizeof(name), "common-%d", i);
        add_exp(s, name, "Ant", NULL, NULL, 0);
    }
    ck_assert_int_eq(sqlite3_open(db, &h), SQLITE_OK);
    sqlite3_busy_timeout(h, 5000);
    for (int pass = 0; pass < 2; pass++) {
        for (size_t i = 0; i < sizeof(searches) / sizeof(searches[0]); i++) {
            for (size_t k = 0; k < sizeof(sorts) / sizeof(sorts[0]); k++) {
                StoreExpFilter f = {.q = searches[i], .sort = sorts[k], .limit = 3};
                compare_listing(s, f);
                f.limit = 100;
                compare_listing(s, f);
            }
        }
        /* names written by hand: the index follows */
        exec_sql(h, "UPDATE experiments SET name = 'renamed run-77' WHERE id = 3");
        exec_sql(h, "UPDATE experiments SET name = CAST(X'FF61' AS TEXT) WHERE id = 5");
        exec_sql(h, "DELETE FROM experiments WHERE id = 6");
    }
    ck_assert_int_eq(page_uses_name_index(s, (StoreExpFilter){.q = "run-77", .limit = 10}), 1);
    ck_assert_int_eq(page_uses_name_index(s, (StoreExpFilter){.q = "mon-1", .sort = "name"}), 1);
    ck_assert(!page_uses_name_index(s, (StoreExpFilter){.q = "ab", .limit = 10}));
    /* on 300 names (EXP_Q_FEW to EXP_Q_MANY): by id under the submitted order, a set under a
     * sort; more common searches scan (test_store_exp_search.c) */
    ck_assert_int_eq(page_uses_name_index(s, (StoreExpFilter){.q = "common", .limit = 10}), 1);
    ck_assert_int_eq(
        page_uses_name_index(s, (StoreExpFilter){.q = "common", .sort = "return", .limit = 10}), 2);
    ck_assert(!page_uses_name_index(s, (StoreExpFilter){.q = "\xff\xfe r", .limit = 10}));
    {
        char longest[257], longer[258];
        memset(longest, 'm', 256);
        longest[256] = '\0';
        memset(longer, 'm', 257);
        longer[257] = '\0';
        ck_assert(page_uses_name_index(s, (StoreExpFilter){.q = longest, .limit = 10}));
        ck_assert(!page_uses_name_index(s, (StoreExpFilter){.q = longer, .limit = 10}));
        compare_listing(s, (StoreExpFilter){.q = longest, .limit = 10});
        compare_listing(s, (StoreExpFilter){.q = longer, .limit = 10});
    }
    ck_assert_int_eq(sql_int(db, "SELECT count(*) FROM experiment_names"),
                     sql_int(db, "SELECT count(*) FROM experiments"));
    sqlite3_close(h);
    store_close(s);
    store_test_db_remove(db);
}
END_TEST

/* migration 015 on a database of 014: every name indexed, new ones after it too */
START_TEST(test_name_index_migrated_from_014) {
    char mig[1024], db[1024];
    Store *s = NULL;
    int applied = 0;
    s = filled_at(14, mig, sizeof(mig), db, sizeof(db));
    ck_assert_msg(store_migrate(s, mig, 15, &applied, err, sizeof(err)) == 0, "%s", err);
    ck_assert_int_eq(applied, 1);
    ck_assert_int_eq(sql_int(db, "SELECT count(*) FROM experiment_names"), 45);
    add_exp(s, "new run-77", "Ant", NULL, NULL, 0);
    ck_assert(page_uses_name_index(s, (StoreExpFilter){.q = "run-77", .limit = 10}));
    compare_listing(s, (StoreExpFilter){.q = "run-77", .limit = 2});
    compare_listing(s, (StoreExpFilter){.q = "RUN-77", .sort = "name", .limit = 2});
    compare_listing(s, (StoreExpFilter){.q = "caf\xc3\xa9 ", .limit = 2});
    ck_assert_int_eq(store_integrity_check(s, err, sizeof(err)), 0);
    store_close(s);
    store_test_db_remove(db);
}
END_TEST

/* the text of the submitted order's first page of up to 100 */
static char *page_text(Store *s) {
    StoreExpFilter f = {.limit = 100};
    char next[STORE_CURSOR_MAX];
    AgBuf out;
    ck_assert_int_eq(ag_buf_init(&out, 0, 1 << 20), 0);
    ck_assert_msg(store_exp_list_page_text(s, &f, &out, NULL, NULL, next, sizeof(next), err,
                                           sizeof(err)) == 0,
                  "%s", err);
    return out.data;
}

static int64_t row_version(const char *db, int64_t id) {
    char sql[128];
    snprintf(sql, sizeof(sql), "SELECT row_version FROM experiments WHERE id = %lld",
             (long long)id);
    return sql_int(db, sql);
}

/* Items are kept from page to page and written again when their row's version moves: after the
 * daemon's own writes (tags, notes, metric rows with a later wall time, a state change, a delete)
 * and another connection's, the text path gives what the objects path gives. A row changed with
 * its version left alone (the trigger dropped) keeps its old text: the kept one is what answers. */
START_TEST(test_kept_items_follow_row_versions) {
    char mig[1024], db[1024], run_dir[512], state[STORE_STATE_MAX], *text;
    const char *line1 = "{\"iteration\":1,\"env_steps\":10,\"wall_s\":1.5}";
    const char *line2 = "{\"iteration\":2,\"env_steps\":20,\"wall_s\":7.25}";
    size_t len1 = strlen(line1), len2 = strlen(line2), items, bytes;
    int64_t version;
    Store *s = NULL;
    sqlite3 *h = NULL;
    store_test_db_new(mig, sizeof(mig), db, sizeof(db));
    ck_assert_int_eq(store_open(db, &s, err, sizeof(err)), 0);
    ck_assert_msg(store_migrate(s, mig, 0, NULL, err, sizeof(err)) == 0, "%s", err);
    add_exp(s, "a", "Ant", NULL, NULL, 0);
    add_exp(s, "b", "Ant", "[\"x\"]", NULL, 0);
    add_exp(s, "c", "HandBlock", NULL, NULL, 0);
    ck_assert_int_eq(
        store_metrics_ingest(s, 1, &line1, &len1, 1, (int64_t)len1, NULL, NULL, err, sizeof(err)),
        0);
    compare_listing(s, (StoreExpFilter){.limit = 100});
    store_exp_items_count(s->exp_items, &items, &bytes);
    ck_assert_uint_eq(items, 3);
    version = row_version(db, 2);
    /* the daemon's writes */
    ck_assert_int_eq(store_exp_annotate(s, 2, "[\"y\"]", "new notes", err, sizeof(err)), 0);
    ck_assert_int_eq(row_version(db, 2), version + 1);
    compare_listing(s, (StoreExpFilter){.limit = 100});
    ck_assert_int_eq(store_metrics_ingest(s, 1, &line2, &len2, 1, (int64_t)(len1 + len2), NULL,
                                          NULL, err, sizeof(err)),
                     0);
    text = page_text(s);
    ck_assert_ptr_nonnull(strstr(text, "\"latest_wall_s\":7.25"));
    free(text);
    compare_listing(s, (StoreExpFilter){.sort = "progress", .limit = 2});
    ck_assert_int_eq(store_exp_cancel(s, 3, state, err, sizeof(err)), 0);
    compare_listing(s, (StoreExpFilter){.limit = 100});
    ck_assert_int_eq(store_exp_delete(s, 3, run_dir, sizeof(run_dir), err, sizeof(err)), 0);
    compare_listing(s, (StoreExpFilter){.limit = 100});
    /* another connection's */
    ck_assert_int_eq(sqlite3_open(db, &h), SQLITE_OK);
    sqlite3_busy_timeout(h, 5000);
    exec_sql(h, "UPDATE experiments SET state = 'running', started_at = 1764900000.5 WHERE id = 1");
    compare_listing(s, (StoreExpFilter){.limit = 100});
    compare_listing(s, (StoreExpFilter){.state = "running", .limit = 100});
    /* a change the version does not show is not seen: the kept text answers */
    exec_sql(h, "DROP TRIGGER experiments_row_version");
    exec_sql(h, "UPDATE experiments SET name = 'renamed' WHERE id = 2");
    text = page_text(s);
    ck_assert_ptr_null(strstr(text, "renamed"));
    free(text);
    exec_sql(h, "UPDATE experiments SET row_version = row_version + 1 WHERE id = 2");
    text = page_text(s);
    ck_assert_ptr_nonnull(strstr(text, "\"name\":\"renamed\""));
    free(text);
    sqlite3_close(h);
    store_close(s);
    store_test_db_remove(db);
}
END_TEST

/* migration 014 on a database of 013: every row at version 0, the trigger counting the updates
 * after it, the pages as before */
START_TEST(test_row_versions_migrated_from_013) {
    char mig[1024], db[1024];
    Store *s = NULL;
    int applied = 0;
    store_test_db_new(mig, sizeof(mig), db, sizeof(db));
    ck_assert_int_eq(store_open(db, &s, err, sizeof(err)), 0);
    ck_assert_msg(store_migrate(s, mig, 13, NULL, err, sizeof(err)) == 0, "%s", err);
    fill(s, db);
    store_close(s);
    fill_odd(db);
    {
        sqlite3 *h = NULL;
        ck_assert_int_eq(sqlite3_open(db, &h), SQLITE_OK);
        ck_assert_int_ne(sqlite3_exec(h, "SELECT row_version FROM experiments", NULL, NULL, NULL),
                         SQLITE_OK);
        sqlite3_close(h);
    }
    ck_assert_int_eq(store_open(db, &s, err, sizeof(err)), 0);
    ck_assert_msg(store_migrate(s, mig, 14, &applied, err, sizeof(err)) == 0, "%s", err);
    ck_assert_int_eq(applied, 1);
    ck_assert_int_eq(sql_int(db, "SELECT count(*) FROM experiments WHERE row_version = 0"),
                     sql_int(db, "SELECT count(*) FROM experiments"));
    ck_assert_int_eq(sql_int(db, "SELECT count(*) FROM experiments"), 45);
    compare_listing(s, (StoreExpFilter){.limit = 7});
    compare_listing(s, (StoreExpFilter){.sort = "name", .ascending = 1, .limit = 7});
    ck_assert_int_eq(store_exp_annotate(s, 3, "[\"z\"]", NULL, err, sizeof(err)), 0);
    ck_assert_int_eq(row_version(db, 3), 1);
    ck_assert_int_eq(store_exp_annotate(s, 3, "[\"w\"]", NULL, err, sizeof(err)), 0);
    ck_assert_int_eq(row_version(db, 3), 2);
    ck_assert_int_eq(row_version(db, 4), 0);
    compare_listing(s, (StoreExpFilter){.limit = 7});
    ck_assert_int_eq(store_integrity_check(s, err, sizeof(err)), 0);
    store_close(s);
    store_test_db_remove(db);
}
END_TEST

/* Under a sort, a tag's ids are read once and kept while no name or tags change: every page
 * after the first takes them from the kept set, notes leave it valid, and a tag added or removed
 * is listed from the next page on, through both paths. */
START_TEST(test_tag_sets_kept_until_tags_change) {
    char mig[1024], db[1024];
    Store *s = NULL;
    sqlite3 *h = NULL;
    int64_t first, other;
    uint64_t hits;
    StoreExpFilter f = {.sort = "return", .tag = "kept", .limit = 50};
    store_test_db_new(mig, sizeof(mig), db, sizeof(db));
    ck_assert_int_eq(store_open(db, &s, err, sizeof(err)), 0);
    ck_assert_msg(store_migrate(s, mig, 0, NULL, err, sizeof(err)) == 0, "%s", err);
    first = add_exp(s, "kept", "Ant", "[\"kept\"]", NULL, 0);
    other = add_exp(s, "other", "Ant", "[\"other\"]", NULL, 0);
    ck_assert_int_eq(sqlite3_open(db, &h), SQLITE_OK);
    sqlite3_busy_timeout(h, 5000);
    copy_exp(h, first, 299);
    sqlite3_close(h);
    /* 300 experiments of the tag: 6 pages of 50, the first reads the set */
    hits = store_idset_kept_hits(s);
    ck_assert_int_eq(listed_count(s, f), 300);
    ck_assert_uint_eq(store_idset_kept_hits(s), hits + 5);
    /* notes leave the set valid: all 6 pages from it */
    ck_assert_int_eq(store_exp_annotate(s, first, NULL, "notes", err, sizeof(err)), 0);
    hits = store_idset_kept_hits(s);
    ck_assert_int_eq(listed_count(s, f), 300);
    ck_assert_uint_eq(store_idset_kept_hits(s), hits + 6);
    /* one more tagged: 7 pages, the first reads the set again */
    ck_assert_int_eq(store_exp_annotate(s, other, "[\"other\",\"kept\"]", NULL, err, sizeof(err)),
                     0);
    hits = store_idset_kept_hits(s);
    ck_assert_int_eq(listed_count(s, f), 301);
    ck_assert_uint_eq(store_idset_kept_hits(s), hits + 6);
    ck_assert_int_eq(store_exp_annotate(s, first, "[]", NULL, err, sizeof(err)), 0);
    ck_assert_int_eq(listed_count(s, f), 300);
    compare_listing(s, f);
    f.ascending = 1;
    compare_listing(s, f);
    store_close(s);
    store_test_db_remove(db);
}
END_TEST

static Suite *store_exp_list_suite(void) {
    Suite *su = suite_create("store_exp_list");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_text_equals_objects);
    tcase_add_test(tc, test_text_caller_members_and_errors);
    tcase_add_test(tc, test_search_is_literal_and_folds_ascii);
    tcase_add_test(tc, test_tag_rows_follow_writes);
    tcase_add_test(tc, test_tag_rows_migrated_from_011);
    tcase_add_test(tc, test_kept_items_follow_row_versions);
    tcase_add_test(tc, test_row_versions_migrated_from_013);
    tcase_add_test(tc, test_search_index_lists_what_like_lists);
    tcase_add_test(tc, test_name_index_migrated_from_014);
    tcase_add_test(tc, test_pages_follow_the_whole_order);
    tcase_add_test(tc, test_tag_sets_kept_until_tags_change);
    suite_add_tcase(su, tc);
    return su;
}

int main(void) {
    SRunner *sr = srunner_create(store_exp_list_suite());
    int failed;
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
