/* The experiments and checks the tests of server/store/store_exp_list.c share: a varied set of
 * experiments (and what only an older daemon or a hand edit leaves), a listing compared through
 * its two paths, and the query plan of a page. */
#include "exp_list_fixture.h"

#include "store_int.h"
#include "store_test_db.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char err[512];

void exec_sql(sqlite3 *db, const char *sql) {
    char *msg = NULL;
    ck_assert_msg(sqlite3_exec(db, sql, NULL, NULL, &msg) == SQLITE_OK, "%s: %s", sql,
                  msg ? msg : "");
}

int64_t add_exp(Store *s, const char *name, const char *task, const char *tags, const char *notes,
                int priority) {
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

void copy_exp(sqlite3 *h, int64_t id, int copies) {
    char sql[512];
    snprintf(sql, sizeof(sql),
             "CREATE TEMP TABLE one AS SELECT * FROM experiments WHERE id = %lld;"
             "UPDATE one SET id = NULL;"
             "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < %d)"
             " INSERT INTO experiments SELECT one.* FROM one, n;"
             "DROP TABLE one;",
             (long long)id, copies);
    exec_sql(h, sql);
}

void ingest1(Store *s, int64_t id, const char *line) {
    size_t len = strlen(line);
    ck_assert_msg(store_metrics_ingest(s, id, &line, &len, 1, (int64_t)len, NULL, NULL, err,
                                       sizeof(err)) == 0,
                  "%s", err);
}

/* a varied set: what the API can store and what only an older daemon or a hand edit could */
void fill(Store *s, const char *db_path) {
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
void fill_odd(const char *db_path) {
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

Store *filled_at(int version, char *mig, size_t mig_sz, char *db, size_t db_sz) {
    Store *s = NULL;
    store_test_db_new(mig, mig_sz, db, db_sz);
    ck_assert_int_eq(store_open(db, &s, err, sizeof(err)), 0);
    ck_assert_msg(store_migrate(s, mig, version, NULL, err, sizeof(err)) == 0, "%s", err);
    fill(s, db);
    store_close(s);
    fill_odd(db);
    ck_assert_int_eq(store_open(db, &s, err, sizeof(err)), 0);
    return s;
}

/* every page of one listing through both paths: the same text, the same cursors */
void compare_listing(Store *s, StoreExpFilter f) {
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
char *listing_text(Store *s, StoreExpFilter f) {
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

int64_t sql_int(const char *db_path, const char *sql) {
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

/* the plan of the page f would run now, its lines joined by "; " */
void plan_of(Store *s, sqlite3 *h, StoreExpFilter f, char *plan, size_t plan_sz) {
    char sql[4096], q[4200];
    sqlite3_stmt *st = NULL;
    size_t n = 0;
    ck_assert_msg(store_exp_list_page_sql(s, &f, sql, sizeof(sql), err, sizeof(err)) == 0, "%s",
                  err);
    snprintf(q, sizeof(q), "EXPLAIN QUERY PLAN %s", sql);
    ck_assert_int_eq(store_idset_register(h), SQLITE_OK);
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
int listed_count(Store *s, StoreExpFilter f) {
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

/* the index a plan reads experiments by ("USING INDEX name") into name (at most 127 bytes) */
int plan_index(const char *plan, char *name) {
    const char *at = strstr(plan, "USING INDEX ");
    return at && sscanf(at, "USING INDEX %127[a-z_]", name) == 1;
}

/* 1 when the index holds the column */
int index_has_column(sqlite3 *h, const char *index, const char *column) {
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
