/* Tests of server/store/store_exp_list.c: the page written as JSON text is byte for byte the
 * jansson dump of the page of objects, over experiments with nulls, Unicode, escapes and bytes
 * that are not UTF-8 in their text, every state, big integers and reals, tags in and out of
 * jansson's compact form, under every sort, both orders, the filters and following pages; and
 * the members a caller appends land inside each item. */
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

static void exec_sql(sqlite3 *db, const char *sql) {
    char *msg = NULL;
    ck_assert_msg(sqlite3_exec(db, sql, NULL, NULL, &msg) == SQLITE_OK, "%s: %s", sql,
                  msg ? msg : "");
}

static int64_t add_exp(Store *s, const char *name, const char *task, const char *tags,
                       const char *notes, int priority) {
    StoreExpNew e = {.name = name,
                     .task = task,
                     .spec_json = "{\"budget\":{\"env_steps\":100000}}",
                     .tags_json = tags,
                     .notes = notes,
                     .priority = priority};
    int64_t id = 0;
    ck_assert_msg(store_exp_insert(s, &e, "/runs", &id, err, sizeof(err)) == 0, "%s", err);
    return id;
}

static void ingest1(Store *s, int64_t id, const char *line) {
    size_t len = strlen(line);
    ck_assert_msg(store_metrics_ingest(s, id, &line, &len, 1, (int64_t)len, NULL, NULL, err,
                                       sizeof(err)) == 0,
                  "%s", err);
}

/* a varied set: what the API can store and what only an older daemon or a hand edit could */
static void fill(Store *s, const char *db_path) {
    static const char *const names[] = {
        "plain",
        "quote \" and backslash \\",
        "tab\tnewline\ncr\r",
        "ctl \x01\x1f\x7f",
        "caf\xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x98\x80",
        "slash / <b>",
        "",
        "run-77",
        "Run-770",
    };
    static const char *const tags[] = {
        "[]", "[\"best\"]", "[\"a\",\"best\",\"caf\xc3\xa9\"]", "[\"q\\\"\\\\\\n\\u001F\"]", NULL,
    };
    static const char *const states[] = {"queued",    "running", "paused",
                                         "succeeded", "failed",  "cancelled"};
    sqlite3 *db = NULL;
    char sql[512];
    int n = 0;
    for (int i = 0; i < 9; i++) {
        for (int j = 0; j < 5; j++) {
            int64_t id = add_exp(s, names[i], j % 2 ? "Ant" : "HandBlock", tags[j],
                                 j == 3 ? "notes \"x\"\n\xc3\xa9" : NULL, (i * 7 + j) % 5 - 2);
            if ((i + j) % 3 == 0) {
                char line[256];
                snprintf(line, sizeof(line),
                         "{\"iteration\":%d,\"env_steps\":%d,\"return_mean\":%.17g,"
                         "\"wall_s\":%s}",
                         i + 1, (i + 1) * 1000 + j, (i - 4) * 0.1 + j / 3.0,
                         j % 2 ? "12" : "3.0000000000000004");
                ingest1(s, id, line);
            }
            n++;
        }
    }
    ck_assert_int_eq(sqlite3_open(db_path, &db), SQLITE_OK);
    sqlite3_busy_timeout(db, 5000);
    for (int id = 1; id <= n; id++) {
        snprintf(sql, sizeof(sql),
                 "UPDATE experiments SET state = '%s', started_at = %s, finished_at = %s,"
                 " error = %s, latest_return = %s, latest_env_steps = %s WHERE id = %d",
                 states[id % 6], id % 4 ? "1764900000.123456" : "NULL",
                 id % 6 >= 3 ? "1764900123.5 + id / 7.0" : "NULL",
                 id % 6 == 4 ? "'boom: \"x\" \\ \x01'" : "NULL",
                 id % 5 == 0   ? "NULL"
                 : id % 5 == 1 ? "-1e-7"
                 : id % 5 == 2 ? "1e300"
                 : id % 5 == 3 ? "9007199254740993"
                               : "0.1 * id",
                 id % 7 == 0 ? "9223372036854775807" : "id * 1000 + 0.5", id);
        exec_sql(db, sql);
    }
    sqlite3_close(db);
}

/* what only an older daemon or a hand edit leaves: tags with spaces or escapes jansson writes
 * otherwise, not JSON, not an array; text that is not UTF-8; other types in number columns; an
 * infinite real */
static void fill_odd(const char *db_path) {
    sqlite3 *db = NULL;
    ck_assert_int_eq(sqlite3_open(db_path, &db), SQLITE_OK);
    sqlite3_busy_timeout(db, 5000);
    exec_sql(db, "UPDATE experiments SET tags = '[ \"a\" , \"b\" ]' WHERE id = 1");
    exec_sql(db, "UPDATE experiments SET tags = '[\"\\/\\u00e9\\u001f\"]' WHERE id = 2");
    exec_sql(db, "UPDATE experiments SET tags = 'not json' WHERE id = 3");
    exec_sql(db, "UPDATE experiments SET tags = '{\"k\":[1,2.50,true,null]}' WHERE id = 4");
    exec_sql(
        db,
        "UPDATE experiments SET tags = '[\"x\",1]', notes = CAST(X'C328' AS TEXT) WHERE id = 5");
    exec_sql(db, "UPDATE experiments SET tags = '', name = CAST(X'FF61' AS TEXT) WHERE id = 6");
    exec_sql(db, "UPDATE experiments SET tags = '[\"a\\u0000b\"]' WHERE id = 7");
    exec_sql(db, "UPDATE experiments SET tags = '[\"\\ud83d\\ude00\"]' WHERE id = 8");
    exec_sql(db, "UPDATE experiments SET latest_return = 9e999, pid = -9223372036854775807 - 1,"
                 " notes = CAST(X'610062' AS TEXT) WHERE id = 9");
    exec_sql(db, "UPDATE experiments SET latest_env_steps = 'many', budget_env_steps = 2.5,"
                 " slurm_reason = X'0102' WHERE id = 10");
    exec_sql(db, "UPDATE experiments SET latest_task_metric = -0.0, latest_iteration = 0"
                 " WHERE id = 11");
    sqlite3_close(db);
}

/* appends two members, so the test sees where a caller's members go */
static int tail_members(AgBuf *out, const StoreExpPace *p, void *ctx) {
    (void)ctx;
    return ag_buf_printf(out, ",\"running\":%d,\"budget\":%.17g", p->running, p->budget_env_steps);
}

/* every page of one listing through both paths: the same text, the same cursors */
static void compare_listing(Store *s, StoreExpFilter f) {
    char next_old[STORE_CURSOR_MAX], next_new[STORE_CURSOR_MAX], after[STORE_CURSOR_MAX];
    int pages = 0;
    for (;;) {
        json_t *page = NULL;
        char *want;
        AgBuf got;
        ck_assert_int_eq(ag_buf_init(&got, 0, 1 << 20), 0);
        ck_assert_msg(
            store_exp_list_page(s, &f, &page, next_old, sizeof(next_old), err, sizeof(err)) == 0,
            "%s", err);
        ck_assert_msg(store_exp_list_page_text(s, &f, &got, NULL, NULL, next_new, sizeof(next_new),
                                               err, sizeof(err)) == 0,
                      "%s", err);
        want = json_dumps(page, JSON_COMPACT);
        ck_assert_ptr_nonnull(want);
        if (strcmp(want, got.data) != 0) {
            size_t at = 0;
            while (want[at] && want[at] == got.data[at]) {
                at++;
            }
            at = at > 80 ? at - 80 : 0;
            ck_abort_msg("sort=%s asc=%d page %d differs at byte %zu:\nwant %.200s\ngot  %.200s",
                         f.sort ? f.sort : "submitted", f.ascending, pages, at, want + at,
                         got.data + at);
        }
        ck_assert_str_eq(next_old, next_new);
        free(want);
        json_decref(page);
        ag_buf_free(&got);
        pages++;
        if (!next_new[0]) {
            break;
        }
        snprintf(after, sizeof(after), "%s", next_new);
        f.after = after;
        f.cursor = 0;
    }
    ck_assert_int_ge(pages, 1);
}

/* every page of f as text, each followed by its next cursor */
static char *listing_text(Store *s, StoreExpFilter f) {
    char next[STORE_CURSOR_MAX], after[STORE_CURSOR_MAX];
    AgBuf out;
    ck_assert_int_eq(ag_buf_init(&out, 0, 1 << 20), 0);
    for (;;) {
        ck_assert_msg(store_exp_list_page_text(s, &f, &out, NULL, NULL, next, sizeof(next), err,
                                               sizeof(err)) == 0,
                      "%s", err);
        ck_assert_int_eq(ag_buf_printf(&out, "\n%s\n", next), 0);
        if (!next[0]) {
            return out.data;
        }
        snprintf(after, sizeof(after), "%s", next);
        f.after = after;
    }
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

static int64_t sql_int(const char *db_path, const char *sql) {
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    int64_t v;
    ck_assert_int_eq(sqlite3_open(db_path, &db), SQLITE_OK);
    ck_assert_msg(sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK, "%s: %s", sql,
                  sqlite3_errmsg(db));
    ck_assert_int_eq(sqlite3_step(st), SQLITE_ROW);
    v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(db);
    return v;
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

/* whether the page f would run now reads the name index's candidates */
static int page_uses_name_index(Store *s, StoreExpFilter f) {
    char sql[4096];
    ck_assert_msg(store_exp_list_page_sql(s, &f, sql, sizeof(sql), err, sizeof(err)) == 0, "%s",
                  err);
    return strstr(sql, "json_each(?9)") != NULL;
}

/* q through the trigram index (migration 015) lists what the LIKE over every name lists (the
 * objects path, which does not use the index): Unicode the index folds and the LIKE does not,
 * the LIKE's own characters, quotes, text that is not UTF-8, searches under 3 characters and
 * ones too common for the index, under several orders and pages; the names follow renames and
 * deletes by another connection */
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
    ck_assert(page_uses_name_index(s, (StoreExpFilter){.q = "run-77", .limit = 10}));
    ck_assert(page_uses_name_index(s, (StoreExpFilter){.q = "mon-1", .sort = "name"}));
    ck_assert(!page_uses_name_index(s, (StoreExpFilter){.q = "ab", .limit = 10}));
    ck_assert(!page_uses_name_index(s, (StoreExpFilter){.q = "common", .limit = 10}));
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
    store_test_db_new(mig, sizeof(mig), db, sizeof(db));
    ck_assert_int_eq(store_open(db, &s, err, sizeof(err)), 0);
    ck_assert_msg(store_migrate(s, mig, 14, NULL, err, sizeof(err)) == 0, "%s", err);
    fill(s, db);
    store_close(s);
    fill_odd(db);
    ck_assert_int_eq(store_open(db, &s, err, sizeof(err)), 0);
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

/* the plan of the page f would run now, its lines joined by "; " */
static void plan_of(Store *s, sqlite3 *h, StoreExpFilter f, char *plan, size_t plan_sz) {
    char sql[4096], q[4200];
    sqlite3_stmt *st = NULL;
    size_t n = 0;
    ck_assert_msg(store_exp_list_page_sql(s, &f, sql, sizeof(sql), err, sizeof(err)) == 0, "%s",
                  err);
    snprintf(q, sizeof(q), "EXPLAIN QUERY PLAN %s", sql);
    ck_assert_msg(sqlite3_prepare_v2(h, q, -1, &st, NULL) == SQLITE_OK, "%s", sqlite3_errmsg(h));
    plan[0] = '\0';
    while (sqlite3_step(st) == SQLITE_ROW) {
        n += (size_t)snprintf(plan + n, plan_sz - n, "%s; ",
                              (const char *)sqlite3_column_text(st, 3));
        ck_assert_uint_lt(n, plan_sz);
    }
    sqlite3_finalize(st);
}

/* every experiment of a tag once, paging through f */
static int listed_count(Store *s, StoreExpFilter f) {
    char next[STORE_CURSOR_MAX], after[STORE_CURSOR_MAX];
    int total = 0;
    int64_t seen[400] = {0};
    for (;;) {
        json_t *page = NULL, *it;
        size_t i;
        ck_assert_msg(store_exp_list_page(s, &f, &page, next, sizeof(next), err, sizeof(err)) == 0,
                      "%s", err);
        json_array_foreach(page, i, it) {
            int64_t id = json_integer_value(json_object_get(it, "id"));
            ck_assert(id > 0 && id < 400 && !seen[id]);
            seen[id] = 1;
            total++;
        }
        json_decref(page);
        if (!next[0]) {
            return total;
        }
        snprintf(after, sizeof(after), "%s", next);
        f.after = after;
    }
}

/* A tag under the submitted order, with or without a cursor, is a range of the tag index read in
 * the page's order (no sort); under the other orders a tag on few experiments is a search of
 * that index, one on many a lookup of each row read along the order's index (no sort of every
 * match). Never a parse of the JSON text. Every path lists each experiment of the tag once. */
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
            ck_assert_msg(strstr(plan, i == 0 ? "USING COVERING INDEX experiment_tags_tag (tag=?"
                                              : "SEARCH t USING PRIMARY KEY (exp_id=? AND tag=?)"),
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

/* the index a plan reads experiments by ("USING INDEX name") into name (at most 127 bytes) */
static int plan_index(const char *plan, char *name) {
    const char *at = strstr(plan, "USING INDEX ");
    return at && sscanf(at, "USING INDEX %127[a-z_]", name) == 1;
}

/* 1 when the index holds the column */
static int index_has_column(sqlite3 *h, const char *index, const char *column) {
    char sql[256];
    sqlite3_stmt *st = NULL;
    int found = 0;
    snprintf(sql, sizeof(sql), "SELECT 1 FROM pragma_index_xinfo('%s') WHERE name = '%s'", index,
             column);
    ck_assert_int_eq(sqlite3_prepare_v2(h, sql, -1, &st, NULL), SQLITE_OK);
    found = sqlite3_step(st) == SQLITE_ROW;
    sqlite3_finalize(st);
    return found;
}

/* migration 016 on a database of 015: every order's index carries task and state, so that a page
 * under a sort and those filters reads its order's index (no sort) and tests them from the index
 * entry; the pages are the same bytes with the same cursors as before the migration */
START_TEST(test_filter_columns_migrated_from_015) {
    static const char *const sorts[] = {"name",    "task",     "state",  "priority",
                                        "started", "finished", "return", "progress"};
    char mig[1024], db[1024], plan[4096], index[128];
    char *before[sizeof(sorts) / sizeof(sorts[0])][2];
    Store *s = NULL;
    sqlite3 *h = NULL;
    int applied = 0;
    store_test_db_new(mig, sizeof(mig), db, sizeof(db));
    ck_assert_int_eq(store_open(db, &s, err, sizeof(err)), 0);
    ck_assert_msg(store_migrate(s, mig, 15, NULL, err, sizeof(err)) == 0, "%s", err);
    fill(s, db);
    store_close(s);
    fill_odd(db);
    ck_assert_int_eq(store_open(db, &s, err, sizeof(err)), 0);
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
    ck_assert_msg(store_migrate(s, mig, 16, &applied, err, sizeof(err)) == 0, "%s", err);
    ck_assert_int_eq(applied, 1);
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

static Suite *store_exp_list_suite(void) {
    Suite *su = suite_create("store_exp_list");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_text_equals_objects);
    tcase_add_test(tc, test_text_caller_members_and_errors);
    tcase_add_test(tc, test_search_is_literal_and_folds_ascii);
    tcase_add_test(tc, test_tag_rows_follow_writes);
    tcase_add_test(tc, test_tag_rows_migrated_from_011);
    tcase_add_test(tc, test_tag_plan_searches_index);
    tcase_add_test(tc, test_kept_items_follow_row_versions);
    tcase_add_test(tc, test_row_versions_migrated_from_013);
    tcase_add_test(tc, test_search_index_lists_what_like_lists);
    tcase_add_test(tc, test_name_index_migrated_from_014);
    tcase_add_test(tc, test_pages_follow_the_whole_order);
    tcase_add_test(tc, test_filter_columns_migrated_from_015);
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
