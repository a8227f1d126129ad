/* Tests of server/store/store_blocks.c: rows sealed into blocks come back byte for byte (every
 * kind of value, any key order, text the blocks would not write the same way), in seq order
 * across chunks and tail, paged (also a whole chunk a page); series and counts include them; a
 * resumed run's file read again keeps its sealed rows and a rewind into them replaces them exactly
 * once; migration 010 converts a database filled at the old schema in place, keeping every row; an
 * ended run's last rows are sealed too; deleting a run takes its blocks; compact lines are
 * checked value by value and keep their text exactly when a value would be written otherwise. */
#include "store.h"
#include "store_test_db.h"

#include "ag_error.h"

#include <check.h>
#include <jansson.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_ROWS 3000

static char mig_dir[1024];
static char db[700];
static char err[512];

static void setup(void) {
    store_test_db_new(mig_dir, sizeof(mig_dir), db, sizeof(db));
}

static void teardown(void) {
    store_test_db_remove(db);
}

static Store *open_db(int target) {
    Store *s = NULL;
    ck_assert_msg(store_open(db, &s, err, sizeof(err)) == 0, "%s", err);
    ck_assert_msg(store_migrate(s, mig_dir, target, NULL, err, sizeof(err)) == 0, "%s", err);
    return s;
}

static int64_t new_run(Store *s) {
    StoreExpNew e = {.name = "r", .task = "CartPole", .spec_json = "{}", .ranks = 1};
    int64_t id = 0;
    ck_assert_int_eq(store_exp_insert(s, &e, "/tmp/runs", &id, err, sizeof(err)), 0);
    return id;
}

static long long sql_int(const char *sql) {
    sqlite3 *h = NULL;
    sqlite3_stmt *st = NULL;
    long long v = -1;
    ck_assert_int_eq(sqlite3_open(db, &h), SQLITE_OK);
    ck_assert_msg(sqlite3_prepare_v2(h, sql, -1, &st, NULL) == SQLITE_OK, "%s", sqlite3_errmsg(h));
    if (sqlite3_step(st) == SQLITE_ROW) {
        v = sqlite3_column_int64(st, 0);
    }
    sqlite3_finalize(st);
    sqlite3_close(h);
    return v;
}

/* the line of iteration i of an attempt: most as the trainer writes them, some not (spaces,
 * %.3f, an upper-case exponent, a repeated key), with strings, nulls, booleans, nested values,
 * keys in another order and keys on some rows only */
static char *line_of(long i, int attempt) {
    char buf[1024];
    switch (i % 50) {
    case 3:
        snprintf(buf, sizeof(buf), "{\"iteration\": %ld, \"loss\": %.3f}", i, i * 0.25);
        break;
    case 7:
        snprintf(buf, sizeof(buf), "{\"iteration\":%ld,\"loss\":1E5,\"loss\":%ld}", i, i);
        break;
    case 11:
        snprintf(buf, sizeof(buf),
                 "{\"loss\":%.17g,\"iteration\":%ld,\"note\":\"caf\\u00e9 \\\"q\\\"\\n\","
                 "\"flag\":true,\"off\":false,\"gap\":null,\"deep\":{\"a\":[1,2.5,{}]}}",
                 i * 0.1, i);
        break;
    default: {
        json_t *o = json_object();
        char *t;
        json_object_set_new(o, "iteration", json_integer(i));
        json_object_set_new(o, "env_steps", json_integer(i * 2048));
        json_object_set_new(o, "return_mean", json_real(i * 0.8 + attempt));
        json_object_set_new(o, "wall_s", json_real(i * 1.25));
        json_object_set_new(o, "loss", json_real(1.0 / (double)(i + 3)));
        json_object_set_new(o, "big", json_integer(9007199254740993LL + i));
        json_object_set_new(o, "tiny", json_real(i % 2 ? 1e-5 : -0.0));
        if (i % 10 == 0) {
            json_object_set_new(o, "eval_return", json_real(i * 3.0));
        }
        if (i % 13 == 0) {
            json_object_set_new(o, "gap", json_null());
        }
        t = json_dumps(o, JSON_COMPACT);
        json_decref(o);
        return t;
    }
    }
    return strdup(buf);
}

/* spaces, %.3f, a repeated key, an escape jansson writes as UTF-8 */
static int non_canonical(long i) {
    return i % 50 == 3 || i % 50 == 7 || i % 50 == 11;
}

static void ingest_lines(Store *s, int64_t id, long from, long to, int batch, int attempt) {
    for (long i = from; i <= to;) {
        char *lines[1024];
        size_t lens[1024], n = 0;
        for (; i <= to && n < (size_t)batch; i++, n++) {
            lines[n] = line_of(i, attempt);
            lens[n] = strlen(lines[n]);
        }
        ck_assert_msg(store_metrics_ingest(s, id, (const char *const *)lines, lens, n,
                                           (int64_t)i * 100, NULL, NULL, err, sizeof(err)) == 0,
                      "%s", err);
        for (size_t k = 0; k < n; k++) {
            free(lines[k]);
        }
    }
}

typedef struct Rows {
    int64_t seq[MAX_ROWS];
    char *text[MAX_ROWS];
    size_t n;
} Rows;

static int collect(void *ctx, int64_t seq, const char *row, size_t len) {
    Rows *r = ctx;
    ck_assert_uint_lt(r->n, MAX_ROWS);
    r->seq[r->n] = seq;
    r->text[r->n] = strndup(row, len);
    ck_assert_uint_eq(strlen(r->text[r->n]), len);
    r->n++;
    return 0;
}

static void rows_free(Rows *r) {
    for (size_t k = 0; k < r->n; k++) {
        free(r->text[k]);
    }
    r->n = 0;
}

static Rows rows;

/* the run's rows are the lines of iterations from..to of the attempt, byte for byte (left in
 * rows) */
static void check_rows(Store *s, int64_t id, long from, long to, int attempt) {
    rows_free(&rows);
    ck_assert_int_eq(store_metric_rows(s, id, 0, 0, collect, &rows, err, sizeof(err)), 0);
    ck_assert_uint_eq(rows.n, (size_t)(to - from + 1));
    for (long i = from; i <= to; i++) {
        char *want = line_of(i, attempt);
        ck_assert_str_eq(rows.text[i - from], want);
        free(want);
    }
}

/* the last seq of the chunk holding seq (0 when it is in the tail) */
static int64_t chunk_end(int64_t id, int64_t seq) {
    char sql[200];
    snprintf(sql, sizeof(sql),
             "SELECT last_seq FROM metric_chunks WHERE exp_id = %lld AND first_seq <= %lld AND"
             " last_seq >= %lld",
             (long long)id, (long long)seq, (long long)seq);
    return sql_int(sql) < 0 ? 0 : sql_int(sql);
}

/* pages of store_metric_rows_paged (1000 rows, all but the newest sealed): at least the rows
 * asked for, then to the end of their chunk, and together every row once, byte for byte as
 * store_metric_rows gives them */
static void check_paged(Store *s, int64_t id) {
    static Rows all, page;
    int64_t after = 0;
    size_t n = 0;
    rows_free(&all);
    ck_assert_int_eq(store_metric_rows(s, id, 0, 0, collect, &all, err, sizeof(err)), 0);
    ck_assert_uint_eq(all.n, 1000);
    /* from the middle of a chunk: the rest of the chunk where the 20th row is */
    ck_assert_int_gt(chunk_end(id, 270), 270);
    ck_assert_int_eq(store_metric_rows_paged(s, id, 250, 20, collect, &page, err, sizeof(err)), 0);
    ck_assert_int_eq(page.seq[0], 251);
    ck_assert_int_eq(page.seq[page.n - 1], chunk_end(id, 270));
    rows_free(&page);
    /* the tail alone: what there is, fewer than asked */
    ck_assert_int_eq(store_metric_rows_paged(s, id, 995, 20, collect, &page, err, sizeof(err)), 0);
    ck_assert_uint_eq(page.n, 5);
    rows_free(&page);
    /* page by page from the start */
    for (;;) {
        ck_assert_int_eq(
            store_metric_rows_paged(s, id, after, 16, collect, &page, err, sizeof(err)), 0);
        for (size_t k = 0; k < page.n; k++, n++) {
            ck_assert_uint_lt(n, all.n);
            ck_assert_int_eq(page.seq[k], all.seq[n]);
            ck_assert_str_eq(page.text[k], all.text[n]);
        }
        if (page.n < 16) {
            break;
        }
        after = page.seq[page.n - 1];
        /* a page ends where a chunk does, or in the tail */
        ck_assert(chunk_end(id, after) == after || chunk_end(id, after) == 0);
        ck_assert_uint_le(page.n, 16 + 255);
        rows_free(&page);
    }
    ck_assert_uint_eq(n, 1000);
    rows_free(&page);
    rows_free(&all);
}

START_TEST(test_rows_byte_for_byte) {
    Store *s = open_db(0);
    int64_t id = new_run(s), count = 0;
    json_t *exp = NULL;
    double *xs = NULL, *ys = NULL;
    size_t n = 0, canonical_loss = 0;
    /* batches of every size: one row, a few, more than a chunk */
    ingest_lines(s, id, 1, 1, 1, 1);
    ingest_lines(s, id, 2, 300, 7, 1);
    ingest_lines(s, id, 301, 1000, 700, 1);
    check_rows(s, id, 1, 1000, 1);
    for (size_t k = 0; k < rows.n; k++) {
        ck_assert_int_eq(rows.seq[k], (int64_t)k + 1);
    }
    /* sealed: the tail holds the newest row only, the chunks the rest, and only the rows the
     * blocks would write otherwise keep their text */
    ck_assert_int_eq(sql_int("SELECT count(*) FROM metrics"), 1);
    ck_assert_int_eq(sql_int("SELECT sum(nrows) FROM metric_chunks"), 999);
    ck_assert_int_ge(sql_int("SELECT count(*) FROM metric_chunks"), 4);
    {
        long expect = 0;
        for (long i = 1; i < 1000; i++) {
            expect += non_canonical(i);
        }
        ck_assert_int_eq(sql_int("SELECT count(*) FROM metric_row_text"), expect);
    }
    /* pages across a chunk's end and into the tail */
    rows_free(&rows);
    ck_assert_int_eq(store_metric_rows(s, id, 250, 20, collect, &rows, err, sizeof(err)), 0);
    ck_assert_uint_eq(rows.n, 20);
    ck_assert_int_eq(rows.seq[0], 251);
    ck_assert_int_eq(rows.seq[19], 270);
    rows_free(&rows);
    ck_assert_int_eq(store_metric_rows(s, id, 995, 0, collect, &rows, err, sizeof(err)), 0);
    ck_assert_uint_eq(rows.n, 5);
    ck_assert_int_eq(rows.seq[4], 1000);
    check_paged(s, id);
    /* counts and the run's own figures include the sealed rows */
    ck_assert_int_eq(store_metric_count(s, &count, err, sizeof(err)), 0);
    ck_assert_int_eq(count, 1000);
    ck_assert_int_eq(store_exp_get_json(s, id, &exp, err, sizeof(err)), 0);
    ck_assert_int_eq(json_integer_value(json_object_get(exp, "metric_rows")), 1000);
    ck_assert_int_eq(json_integer_value(json_object_get(exp, "last_iteration")), 1000);
    ck_assert(json_real_value(json_object_get(exp, "latest_wall_s")) == 1000 * 1.25);
    json_decref(exp);
    /* a series of a key on some rows only, of a key not in a column, of a column key */
    ck_assert_int_eq(
        store_metric_series(s, id, NULL, "eval_return", &xs, &ys, &n, err, sizeof(err)), 0);
    ck_assert_uint_eq(n, 100);
    for (size_t k = 0; k < n; k++) {
        ck_assert(xs[k] == (double)(k + 1) * 10 && ys[k] == xs[k] * 3.0);
    }
    free(xs);
    free(ys);
    ck_assert_int_eq(
        store_metric_series(s, id, "env_steps", "loss", &xs, &ys, &n, err, sizeof(err)), 0);
    for (long i = 1; i <= 1000; i++) {
        canonical_loss += i % 50 != 3 && i % 50 != 7 && i % 50 != 11;
    }
    ck_assert_uint_eq(n, canonical_loss);
    ck_assert(xs[0] == 2048 && ys[0] == 1.0 / 4);
    free(xs);
    free(ys);
    ck_assert_int_eq(store_metric_series(s, id, NULL, "loss", &xs, &ys, &n, err, sizeof(err)), 0);
    ck_assert_uint_eq(n, 1000); /* every row has a number there (the repeated key: its last) */
    ck_assert(xs[6] == 7 && ys[6] == 7);
    free(xs);
    free(ys);
    rows_free(&rows);
    store_close(s);
}
END_TEST

/* lines without spaces of plain keys and numbers are checked value by value when sealed: a
 * value the blocks write otherwise (a short real, "1e5", "-0", a trailing zero) keeps the
 * row's text, keys of any printable character ('/' among them) are written as they are */
START_TEST(test_compact_rows_checked_value_by_value) {
    /* six written otherwise by the blocks, then four written as they are */
    static const char *const odd[] = {"0.1",  "1e5", "-0",     "1.50", "2.0e0",
                                      "1E+2", "0.5", "100000", "-0.0", "7.0"};
    const size_t nodd = sizeof(odd) / sizeof(odd[0]);
    Store *s = open_db(0);
    int64_t id = new_run(s);
    char *lines[600], key[128];
    size_t lens[600], n = 0, k = 0;
    /* every printable character but the quote and the backslash, in keys */
    for (int c = 0x20; c < 0x7f; c++) {
        if (c != '"' && c != '\\') {
            key[k++] = (char)c;
        }
    }
    key[k] = '\0';
    for (long i = 1; i <= 600; i++, n++) {
        char buf[512];
        const char *v = i <= (long)nodd ? odd[i - 1] : "0.25";
        snprintf(buf, sizeof(buf), "{\"iteration\":%ld,\"%s\":%s,\"a/b\":%.17g}", i,
                 i % 2 ? key : "x", v, (double)i / 3.0 + 0.5);
        lines[n] = strdup(buf);
        lens[n] = strlen(buf);
    }
    ck_assert_msg(store_metrics_ingest(s, id, (const char *const *)lines, lens, n, 1, NULL, NULL,
                                       err, sizeof(err)) == 0,
                  "%s", err);
    ck_assert_int_eq(sql_int("SELECT count(*) FROM metrics"), 1);
    ck_assert_int_eq(sql_int("SELECT count(*) FROM metric_row_text"), 6);
    rows_free(&rows);
    ck_assert_int_eq(store_metric_rows(s, id, 0, 0, collect, &rows, err, sizeof(err)), 0);
    ck_assert_uint_eq(rows.n, n);
    for (size_t r = 0; r < n; r++) {
        ck_assert_str_eq(rows.text[r], lines[r]);
        free(lines[r]);
    }
    rows_free(&rows);
    store_close(s);
}
END_TEST

START_TEST(test_reread_and_rewind_into_sealed_rows) {
    Store *s = open_db(0);
    int64_t id = new_run(s);
    ingest_lines(s, id, 1, 1000, 500, 1);
    /* a resumed run's file read again from its start: the sealed rows up to the checkpoint are
     * the stored ones and are kept with their seqs; the rows after it differ and replace the
     * stored ones from iteration 601 on, each once */
    ingest_lines(s, id, 1, 600, 250, 1);
    check_rows(s, id, 1, 1000, 1);
    ingest_lines(s, id, 601, 700, 64, 2);
    rows_free(&rows);
    ck_assert_int_eq(store_metric_rows(s, id, 0, 0, collect, &rows, err, sizeof(err)), 0);
    ck_assert_uint_eq(rows.n, 700);
    for (long i = 1; i <= 700; i++) {
        char *want = line_of(i, i <= 600 ? 1 : 2);
        ck_assert_str_eq(rows.text[i - 1], want);
        ck_assert_int_eq(rows.seq[i - 1], i <= 600 ? i : 1000 + (i - 600));
        free(want);
    }
    ck_assert_int_eq(sql_int("SELECT count(*) FROM metrics") +
                         sql_int("SELECT coalesce(sum(nrows), 0) FROM metric_chunks"),
                     700);
    /* the run goes on and is sealed again */
    ingest_lines(s, id, 701, 1500, 400, 2);
    ck_assert_int_eq(sql_int("SELECT count(*) FROM metrics"), 1);
    rows_free(&rows);
    ck_assert_int_eq(store_metric_rows(s, id, 0, 0, collect, &rows, err, sizeof(err)), 0);
    ck_assert_uint_eq(rows.n, 1500);
    for (size_t k = 1; k < rows.n; k++) {
        ck_assert_int_gt(rows.seq[k], rows.seq[k - 1]);
    }
    rows_free(&rows);
    store_close(s);
}
END_TEST

/* a database of migration 8 filled as angorad wrote it then (rows as JSON text), upgraded */
START_TEST(test_migration_seals_old_rows) {
    Store *s = open_db(8);
    int64_t a = new_run(s), b = new_run(s), rolled = 0, count = 0;
    long rows_a = 1200, rows_b = 100;
    StoreSeries ser;
    store_close(s);
    {
        sqlite3 *h = NULL;
        sqlite3_stmt *st = NULL;
        ck_assert_int_eq(sqlite3_open(db, &h), SQLITE_OK);
        sqlite3_exec(h, "BEGIN", NULL, NULL, NULL);
        ck_assert_int_eq(sqlite3_prepare_v2(h,
                                            "INSERT INTO metrics (exp_id, seq, iteration,"
                                            " env_steps, return_mean, wall_s, row) VALUES (?, ?,"
                                            " ?, NULL, NULL, NULL, ?)",
                                            -1, &st, NULL),
                         SQLITE_OK);
        for (int run = 0; run < 2; run++) {
            for (long i = 1; i <= (run ? rows_b : rows_a); i++) {
                char *line = line_of(i, 1);
                sqlite3_reset(st);
                sqlite3_bind_int64(st, 1, run ? b : a);
                sqlite3_bind_int64(st, 2, i);
                sqlite3_bind_int64(st, 3, i);
                sqlite3_bind_text(st, 4, line, -1, SQLITE_TRANSIENT);
                ck_assert_int_eq(sqlite3_step(st), SQLITE_DONE);
                free(line);
            }
        }
        sqlite3_finalize(st);
        ck_assert_int_eq(sqlite3_exec(h,
                                      "UPDATE experiments SET last_seq = 1200, rollup_seq = 0"
                                      " WHERE id = 1; UPDATE experiments SET last_seq = 100,"
                                      " rollup_seq = 0 WHERE id = 2; COMMIT",
                                      NULL, NULL, NULL),
                         SQLITE_OK);
        sqlite3_close(h);
    }
    s = open_db(0);
    ck_assert_int_eq(store_integrity_check(s, err, sizeof(err)), 0);
    /* the long run is sealed but for its newest row, the short one is left as it was */
    ck_assert_int_eq(sql_int("SELECT count(*) FROM metrics WHERE exp_id = 1"), 1);
    ck_assert_int_eq(sql_int("SELECT count(*) FROM metrics WHERE exp_id = 2"), 100);
    check_rows(s, a, 1, rows_a, 1);
    for (size_t k = 0; k < rows.n; k++) {
        ck_assert_int_eq(rows.seq[k], (int64_t)k + 1);
    }
    check_rows(s, b, 1, rows_b, 1);
    ck_assert_int_eq(store_metric_count(s, &count, err, sizeof(err)), 0);
    ck_assert_int_eq(count, rows_a + rows_b);
    /* the roll-up is caught up from the sealed rows and agrees with them */
    ck_assert_int_eq(store_metrics_rollup_catchup(s, 10.0, &rolled, err, sizeof(err)), 0);
    ck_assert_int_eq(rolled, rows_a + rows_b);
    ck_assert_int_eq(
        store_metric_series_points(s, a, NULL, "eval_return", 10, &ser, err, sizeof(err)), 0);
    ck_assert_int_gt(ser.width, 0);
    ck_assert(ser.vlast[ser.n - 1] == 1200 * 3.0);
    store_series_free(&ser);
    /* ingestion goes on after the converted rows */
    ingest_lines(s, a, 1201, 1300, 100, 1);
    check_rows(s, a, 1, 1300, 1);
    ck_assert_int_eq(rows.seq[1299], 1300);
    rows_free(&rows);
    store_close(s);
}
END_TEST

START_TEST(test_delete_takes_blocks) {
    Store *s = open_db(0);
    int64_t a = new_run(s), b = new_run(s);
    char run_dir[512];
    ingest_lines(s, a, 1, 600, 600, 1);
    ingest_lines(s, b, 1, 600, 600, 1);
    ck_assert_int_eq(store_run_set_state(s, a, "succeeded", NULL, err, sizeof(err)), 0);
    ck_assert_int_eq(store_exp_delete(s, a, run_dir, sizeof(run_dir), err, sizeof(err)), 0);
    ck_assert_int_eq(sql_int("SELECT count(*) FROM metric_chunks WHERE exp_id = 1"), 0);
    ck_assert_int_eq(sql_int("SELECT count(*) FROM metric_blocks WHERE exp_id = 1"), 0);
    ck_assert_int_eq(sql_int("SELECT count(*) FROM metric_row_text WHERE exp_id = 1"), 0);
    check_rows(s, b, 1, 600, 1);
    rows_free(&rows);
    store_close(s);
}
END_TEST

/* an ended run's last rows, fewer than a chunk, are sealed by the periodic call; a running one's
 * are left to fill their chunk */
START_TEST(test_ended_runs_sealed) {
    Store *s = open_db(0);
    int64_t a = new_run(s), b = new_run(s), runs = -1;
    ingest_lines(s, a, 1, 300, 300, 1); /* 299 sealed, 1 row of text */
    ingest_lines(s, a, 301, 400, 10, 1);
    ingest_lines(s, b, 1, 50, 50, 1);
    ck_assert_int_eq(sql_int("SELECT count(*) FROM metrics WHERE exp_id = 1"), 101);
    ck_assert_int_eq(store_metrics_seal_finished(s, 10.0, &runs, err, sizeof(err)), 0);
    ck_assert_int_eq(runs, 0);
    ck_assert_int_eq(store_run_set_state(s, a, "succeeded", NULL, err, sizeof(err)), 0);
    ck_assert_int_eq(store_metrics_seal_finished(s, 10.0, &runs, err, sizeof(err)), 0);
    ck_assert_int_eq(runs, 1);
    ck_assert_int_eq(sql_int("SELECT count(*) FROM metrics WHERE exp_id = 1"), 1);
    ck_assert_int_eq(sql_int("SELECT count(*) FROM metrics WHERE exp_id = 2"), 50);
    check_rows(s, a, 1, 400, 1);
    for (size_t k = 0; k < rows.n; k++) {
        ck_assert_int_eq(rows.seq[k], (int64_t)k + 1);
    }
    check_rows(s, b, 1, 50, 1);
    ck_assert_int_eq(store_metrics_seal_finished(s, 10.0, &runs, err, sizeof(err)), 0);
    ck_assert_int_eq(runs, 0);
    /* a resumed run's file read again still finds them */
    ingest_lines(s, a, 1, 400, 400, 1);
    check_rows(s, a, 1, 400, 1);
    rows_free(&rows);
    store_close(s);
}
END_TEST

/* more ended runs than one search names (64) are all sealed by one call, each run's rows back */
START_TEST(test_many_ended_runs_sealed) {
    Store *s = open_db(0);
    int64_t ids[100], runs = -1;
    for (int i = 0; i < 100; i++) {
        ids[i] = new_run(s);
        ingest_lines(s, ids[i], 1, 10, 10, 1);
        ck_assert_int_eq(store_run_set_state(s, ids[i], "succeeded", NULL, err, sizeof(err)), 0);
    }
    ck_assert_int_eq(store_metrics_seal_finished(s, 60.0, &runs, err, sizeof(err)), 0);
    ck_assert_int_eq(runs, 100);
    ck_assert_int_eq(sql_int("SELECT count(*) FROM metrics"), 100);
    check_rows(s, ids[0], 1, 10, 1);
    check_rows(s, ids[99], 1, 10, 1);
    rows_free(&rows);
    store_close(s);
}
END_TEST

/* a search that found nothing is not repeated while only progress (a running run's rows) is
 * committed; a run that ends is searched for and sealed at the next call */
START_TEST(test_idle_search_not_repeated) {
    Store *s = open_db(0);
    int64_t a = new_run(s), b = new_run(s), runs = -1;
    uint64_t searches;
    ingest_lines(s, a, 1, 10, 10, 1);
    ck_assert_int_eq(store_run_set_state(s, a, "succeeded", NULL, err, sizeof(err)), 0);
    ck_assert_int_eq(store_metrics_seal_finished(s, 10.0, &runs, err, sizeof(err)), 0);
    ck_assert_int_eq(runs, 1);
    searches = store_metrics_seal_searches(s);
    ck_assert_int_eq(store_metrics_seal_finished(s, 10.0, &runs, err, sizeof(err)), 0);
    ck_assert_int_eq(runs, 0);
    ck_assert_uint_eq(store_metrics_seal_searches(s), searches);
    ingest_lines(s, b, 1, 20, 10, 1);
    ck_assert_int_eq(store_metrics_seal_finished(s, 10.0, &runs, err, sizeof(err)), 0);
    ck_assert_uint_eq(store_metrics_seal_searches(s), searches);
    ck_assert_int_eq(sql_int("SELECT count(*) FROM metrics WHERE exp_id = 2"), 20);
    ck_assert_int_eq(store_run_set_state(s, b, "failed", "x", err, sizeof(err)), 0);
    ck_assert_int_eq(store_metrics_seal_finished(s, 10.0, &runs, err, sizeof(err)), 0);
    ck_assert_int_eq(runs, 1);
    ck_assert_uint_gt(store_metrics_seal_searches(s), searches);
    ck_assert_int_eq(sql_int("SELECT count(*) FROM metrics WHERE exp_id = 2"), 1);
    check_rows(s, b, 1, 20, 1);
    rows_free(&rows);
    store_close(s);
}
END_TEST

/* the statements ingestion keeps prepared from batch to batch start each batch without the
 * previous one's values: a run without iterations or a task metric, ingested after one with them,
 * gets chunks without an iteration range and no task metric of the other run, and its rows back */
START_TEST(test_kept_statements_carry_no_values) {
    Store *s = open_db(0);
    int64_t a = new_run(s), b = new_run(s);
    const char *with_task = "{\"success_rate\":0.5,\"loss\":1.25}";
    char *lines[300];
    size_t lens[300];
    ingest_lines(s, a, 1, 300, 300, 1);
    ck_assert_int_eq(sql_int("SELECT count(*) FROM metric_chunks WHERE exp_id = 1 AND min_iter"
                             " IS NOT NULL AND max_iter IS NOT NULL"),
                     2);
    size_t with_len = strlen(with_task);
    ck_assert_msg(store_metrics_ingest(s, a, &with_task, &with_len, 1, 100000, NULL, NULL, err,
                                       sizeof(err)) == 0,
                  "%s", err);
    ck_assert_int_eq(sql_int("SELECT latest_task_key = 'success_rate' FROM experiments WHERE id ="
                             " 1"),
                     1);
    for (int i = 0; i < 300; i++) {
        char text[64];
        snprintf(text, sizeof(text), "{\"loss\":%d.25,\"lr\":0.001}", i);
        lines[i] = strdup(text);
        lens[i] = strlen(text);
    }
    for (int half = 0; half < 2; half++) {
        ck_assert_msg(store_metrics_ingest(s, b, (const char *const *)lines + 150 * half,
                                           lens + 150 * half, 150, 1000 * (half + 1), NULL, NULL,
                                           err, sizeof(err)) == 0,
                      "%s", err);
    }
    ck_assert_int_eq(sql_int("SELECT count(*) FROM metric_chunks WHERE exp_id = 2"), 2);
    ck_assert_int_eq(sql_int("SELECT count(*) FROM metric_chunks WHERE exp_id = 2 AND (min_iter"
                             " IS NOT NULL OR max_iter IS NOT NULL)"),
                     0);
    ck_assert_int_eq(sql_int("SELECT latest_task_key IS NULL AND latest_iteration IS NULL FROM"
                             " experiments WHERE id = 2"),
                     1);
    rows_free(&rows);
    ck_assert_int_eq(store_metric_rows(s, b, 0, 0, collect, &rows, err, sizeof(err)), 0);
    ck_assert_uint_eq(rows.n, 300);
    for (int i = 0; i < 300; i++) {
        ck_assert_int_eq(rows.seq[i], i + 1);
        ck_assert_str_eq(rows.text[i], lines[i]);
        free(lines[i]);
    }
    rows_free(&rows);
    store_close(s);
}
END_TEST

/* a damaged block is an error naming the chunk, not rows made up */
START_TEST(test_damaged_block_is_an_error) {
    Store *s = open_db(0);
    int64_t id = new_run(s);
    ingest_lines(s, id, 1, 400, 400, 1);
    store_close(s);
    {
        sqlite3 *h = NULL;
        ck_assert_int_eq(sqlite3_open(db, &h), SQLITE_OK);
        ck_assert_int_eq(
            sqlite3_exec(h, "UPDATE metric_blocks SET data = x'0102'", NULL, NULL, NULL),
            SQLITE_OK);
        sqlite3_close(h);
    }
    s = open_db(0);
    rows_free(&rows);
    ck_assert_int_eq(store_metric_rows(s, id, 0, 0, collect, &rows, err, sizeof(err)), AG_EFORMAT);
    ck_assert_ptr_nonnull(strstr(err, "bad block"));
    rows_free(&rows);
    store_close(s);
}
END_TEST

static Suite *suite(void) {
    Suite *s = suite_create("store_blocks");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_rows_byte_for_byte);
    tcase_add_test(tc, test_compact_rows_checked_value_by_value);
    tcase_add_test(tc, test_reread_and_rewind_into_sealed_rows);
    tcase_add_test(tc, test_migration_seals_old_rows);
    tcase_add_test(tc, test_delete_takes_blocks);
    tcase_add_test(tc, test_ended_runs_sealed);
    tcase_add_test(tc, test_many_ended_runs_sealed);
    tcase_add_test(tc, test_idle_search_not_repeated);
    tcase_add_test(tc, test_kept_statements_carry_no_values);
    tcase_add_test(tc, test_damaged_block_is_an_error);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) {
    SRunner *sr = srunner_create(suite());
    int failed;
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
