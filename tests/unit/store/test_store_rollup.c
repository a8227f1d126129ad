/* Tests of server/store/store_rollup.c: the buckets ingestion keeps equal the min, max and last
 * of the stored rows, bucket by bucket, for a column key and a key of the row JSON alone; a
 * rewind drops them and the catch-up rebuilds them; a database whose runs were never rolled up
 * (an earlier version) is caught up from its rows; migration 011 drops the levels finer than 256
 * rows; bad keys and unknown runs are refused. */
#include "store.h"

#include "ag_error.h"
#include "ag_fs.h"

#include <check.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char mig_dir[1024];
static char err[512];
static char db_path[64];

static void setup(void) {
    int fd;
    ck_assert_int_eq(ag_fs_data_path("migrations", mig_dir, sizeof(mig_dir)), 0);
    snprintf(db_path, sizeof(db_path), "/tmp/angora-rollup-XXXXXX");
    fd = mkstemp(db_path);
    ck_assert_int_ge(fd, 0);
    close(fd);
}

static void teardown(void) {
    char side[128];
    unlink(db_path);
    snprintf(side, sizeof(side), "%s-wal", db_path);
    unlink(side);
    snprintf(side, sizeof(side), "%s-shm", db_path);
    unlink(side);
}

static Store *open_file(void) {
    Store *s = NULL;
    ck_assert_msg(store_open(db_path, &s, err, sizeof(err)) == 0, "%s", err);
    ck_assert_msg(store_migrate(s, mig_dir, 0, NULL, err, sizeof(err)) == 0, "%s", err);
    return s;
}

static int64_t new_run(Store *s) {
    StoreExpNew e = {.name = "r", .task = "CartPole", .spec_json = "{}", .ranks = 1};
    int64_t id = 0;
    ck_assert_int_eq(store_exp_insert(s, &e, "/tmp/runs", &id, err, sizeof(err)), 0);
    return id;
}

/* the value of key "noise" of iteration i: no order, so min and max differ from first and last */
static double noise(long i) {
    return (double)((i * 7919) % 1009) / 13.0 - 30.0;
}

/* rows of iterations from..to in batches of batch lines; key "odd" only on odd iterations; rows
 * of another attempt differ (a resumed run's rows replace the stored ones only where they differ)
 */
static void ingest_attempt(Store *s, int64_t id, long from, long to, int batch, int attempt) {
    static char text[1 << 20];
    const char *lines[4096];
    size_t lens[4096];
    for (long i = from; i <= to;) {
        size_t used = 0, n = 0;
        for (; i <= to && n < (size_t)batch; i++, n++) {
            int len = snprintf(text + used, sizeof(text) - used,
                               "{\"iteration\":%ld,\"return_mean\":%.3f,\"noise\":%.17g%s,"
                               "\"name\":\"text is not rolled up\",\"attempt\":%d}",
                               i, (double)i * 0.5, noise(i), i % 2 ? ",\"odd\":1.5" : "", attempt);
            lines[n] = text + used;
            lens[n] = (size_t)len;
            used += (size_t)len;
        }
        ck_assert_msg(store_metrics_ingest(s, id, lines, lens, n, (int64_t)i * 100, NULL, NULL, err,
                                           sizeof(err)) == 0,
                      "%s", err);
    }
}

static void ingest(Store *s, int64_t id, long from, long to, int batch) {
    ingest_attempt(s, id, from, to, batch, 1);
}

typedef struct Rows {
    int64_t seq[20000];
    double x[20000], y[20000];
    int has_y[20000];
    size_t n;
    const char *key;
} Rows;

static int collect(void *ctx, int64_t seq, const char *row, size_t len) {
    Rows *r = ctx;
    json_t *o = json_loadb(row, len, 0, NULL), *y = json_object_get(o, r->key);
    ck_assert_uint_lt(r->n, 20000);
    r->seq[r->n] = seq;
    r->x[r->n] = json_number_value(json_object_get(o, "iteration"));
    r->has_y[r->n] = json_is_number(y);
    r->y[r->n] = json_number_value(y);
    r->n++;
    json_decref(o);
    return 0;
}

/* the series read from the roll-up equals min, max and last computed from the stored rows in
 * buckets of ser.width seqs; returns the width */
static int64_t check_against_rows(Store *s, int64_t id, const char *key, size_t points) {
    static Rows rows;
    StoreSeries ser;
    size_t b = 0;
    int64_t total = 0;
    memset(&rows, 0, sizeof(rows));
    rows.key = key;
    ck_assert_int_eq(store_metric_rows(s, id, 0, 0, collect, &rows, err, sizeof(err)), 0);
    ck_assert_msg(store_metric_series_points(s, id, NULL, key, points, &ser, err, sizeof(err)) == 0,
                  "%s", err);
    ck_assert_int_gt(ser.width, 0);
    for (size_t i = 0; i < rows.n;) {
        int64_t bucket = (rows.seq[i] - 1) / ser.width;
        double mn = 0, mx = 0, last = 0, xlast = 0;
        int64_t n = 0;
        for (; i < rows.n && (rows.seq[i] - 1) / ser.width == bucket; i++) {
            xlast = rows.x[i];
            if (!rows.has_y[i]) {
                continue;
            }
            mn = n == 0 || rows.y[i] < mn ? rows.y[i] : mn;
            mx = n == 0 || rows.y[i] > mx ? rows.y[i] : mx;
            last = rows.y[i];
            n++;
        }
        if (n == 0) {
            continue;
        }
        ck_assert_uint_lt(b, ser.n);
        ck_assert_msg(ser.vmin[b] == mn && ser.vmax[b] == mx && ser.vlast[b] == last,
                      "%s bucket %lld: %g %g %g, rows say %g %g %g", key, (long long)bucket,
                      ser.vmin[b], ser.vmax[b], ser.vlast[b], mn, mx, last);
        ck_assert(ser.x[b] == xlast);
        total += n;
        b++;
    }
    ck_assert_uint_eq(b, ser.n);
    ck_assert_int_eq(ser.rows, total);
    store_series_free(&ser);
    return rows.n > 0 ? rows.seq[rows.n - 1] : 0;
}

static void sql(const char *text) {
    sqlite3 *db = NULL;
    ck_assert_int_eq(sqlite3_open(db_path, &db), SQLITE_OK);
    ck_assert_msg(sqlite3_exec(db, text, NULL, NULL, NULL) == SQLITE_OK, "%s", sqlite3_errmsg(db));
    sqlite3_close(db);
}

START_TEST(test_buckets_equal_rows) {
    Store *s = open_file();
    int64_t id = new_run(s);
    StoreSeries ser;
    /* batches that end inside buckets: the next batch merges into the stored bucket */
    ingest(s, id, 1, 5000, 333);
    check_against_rows(s, id, "return_mean", 10);
    check_against_rows(s, id, "noise", 10);
    check_against_rows(s, id, "odd", 10);
    check_against_rows(s, id, "noise", 30);
    /* the coarsest level of at least points / 2 buckets: 5000 rows, 10 points -> 1024 rows each;
     * 30 points -> the finest, 256 */
    ck_assert_int_eq(store_metric_series_points(s, id, NULL, "noise", 10, &ser, err, sizeof(err)),
                     0);
    ck_assert_int_eq(ser.width, 1024);
    ck_assert_uint_eq(ser.n, 5);
    store_series_free(&ser);
    ck_assert_int_eq(store_metric_series_points(s, id, NULL, "noise", 30, &ser, err, sizeof(err)),
                     0);
    ck_assert_int_eq(ser.width, 256);
    ck_assert_uint_eq(ser.n, 20);
    store_series_free(&ser);
    /* no level finer than 256: 300 points of 5000 rows (150 buckets of 256 needed, 20 there) are
     * read from the rows */
    ck_assert_int_eq(store_metric_series_points(s, id, NULL, "noise", 300, &ser, err, sizeof(err)),
                     0);
    ck_assert_int_eq(ser.width, 0);
    ck_assert_uint_eq(ser.n, 5000);
    store_series_free(&ser);
    /* a run too short for points / 2 buckets of 256 is read from its rows, one bucket per row */
    ck_assert_int_eq(
        store_metric_series_points(s, id, "return_mean", "noise", 5000, &ser, err, sizeof(err)), 0);
    ck_assert_int_eq(ser.width, 0);
    ck_assert_uint_eq(ser.n, 5000);
    ck_assert(ser.x[9] == 5.0 && ser.vmin[9] == noise(10) && ser.vmax[9] == noise(10));
    store_series_free(&ser);
    store_close(s);
}
END_TEST

START_TEST(test_rewind_drops_and_catchup_rebuilds) {
    Store *s = open_file();
    int64_t id = new_run(s), rolled = 0;
    StoreSeries ser;
    ingest(s, id, 1, 3000, 500);
    /* the run resumed from iteration 2001: rows from there on are replaced */
    ingest_attempt(s, id, 2001, 2600, 500, 2);
    ck_assert_int_eq(store_metric_series_points(s, id, NULL, "noise", 10, &ser, err, sizeof(err)),
                     0);
    ck_assert_int_eq(ser.width, 0); /* behind: read from the rows */
    ck_assert_uint_eq(ser.n, 2600);
    store_series_free(&ser);
    /* rows ingested while behind are left to the catch-up too */
    ingest_attempt(s, id, 2601, 2700, 100, 2);
    ck_assert_int_eq(store_metrics_rollup_catchup(s, 10.0, &rolled, err, sizeof(err)), 0);
    ck_assert_int_eq(rolled, 2700);
    check_against_rows(s, id, "noise", 10);
    check_against_rows(s, id, "odd", 10);
    /* nothing is behind any more */
    ck_assert_int_eq(store_metrics_rollup_catchup(s, 10.0, &rolled, err, sizeof(err)), 0);
    ck_assert_int_eq(rolled, 0);
    /* and ingestion keeps it from here */
    ingest_attempt(s, id, 2701, 4000, 250, 2);
    check_against_rows(s, id, "noise", 10);
    store_close(s);
}
END_TEST

START_TEST(test_catchup_of_runs_never_rolled_up) {
    Store *s = open_file();
    int64_t a = new_run(s), b = new_run(s), rolled = 0;
    ingest(s, a, 1, 9000, 1000);
    ingest(s, b, 1, 700, 100);
    store_close(s);
    /* what a database of an earlier version holds after migration 007: rows, no buckets (the
     * key numbers stay: the sealed blocks of migration 010 are filed under them) */
    sql("DELETE FROM metric_buckets; UPDATE experiments SET rollup_seq = 0;");
    s = open_file();
    /* in slices: a short budget still makes progress, a chunk at a time */
    ck_assert_int_eq(store_metrics_rollup_catchup(s, 0.0, &rolled, err, sizeof(err)), 0);
    ck_assert_int_eq(rolled, 4096);
    ck_assert_int_eq(store_metrics_rollup_catchup(s, 10.0, &rolled, err, sizeof(err)), 0);
    ck_assert_int_eq(rolled, 9000 - 4096 + 700);
    check_against_rows(s, a, "noise", 10);
    check_against_rows(s, a, "return_mean", 60);
    check_against_rows(s, b, "odd", 3);
    store_close(s);
}
END_TEST

START_TEST(test_series_bad_input) {
    Store *s = open_file();
    int64_t id = new_run(s);
    StoreSeries ser;
    ingest(s, id, 1, 100, 100);
    ck_assert_int_eq(store_metric_series_points(s, 999, NULL, "noise", 10, &ser, err, sizeof(err)),
                     AG_ENOTFOUND);
    ck_assert_int_eq(store_metric_series_points(s, id, NULL, "a\"b", 10, &ser, err, sizeof(err)),
                     AG_EINVAL);
    ck_assert_int_eq(store_metric_series_points(s, id, "x\"", "noise", 10, &ser, err, sizeof(err)),
                     AG_EINVAL);
    /* a key without buckets (no row has it, or a run of more keys than are rolled up) is
     * looked for in the rows: an empty series here */
    ck_assert_int_eq(store_metric_series_points(s, id, NULL, "absent", 10, &ser, err, sizeof(err)),
                     0);
    ck_assert_uint_eq(ser.n, 0);
    ck_assert_int_eq(ser.width, 0);
    store_series_free(&ser);
    ck_assert_int_eq(
        store_metric_series_points(s, id, NULL, "absent", 1000, &ser, err, sizeof(err)), 0);
    ck_assert_uint_eq(ser.n, 0);
    ck_assert_int_eq(ser.width, 0);
    store_series_free(&ser);
    store_close(s);
}
END_TEST

/* a run of more numeric keys than are rolled up still has a series of every key */
START_TEST(test_more_keys_than_rolled_up) {
    static char text[40][4096];
    const char *lines[40];
    size_t lens[40];
    Store *s = open_file();
    int64_t id = new_run(s);
    StoreSeries ser;
    for (int i = 0; i < 40; i++) {
        size_t n = (size_t)snprintf(text[i], sizeof(text[i]), "{\"iteration\":%d", i + 1);
        for (int k = 0; k < 140; k++) {
            n += (size_t)snprintf(text[i] + n, sizeof(text[i]) - n, ",\"k%d\":%d", k, i * k);
        }
        n += (size_t)snprintf(text[i] + n, sizeof(text[i]) - n, "}");
        lines[i] = text[i];
        lens[i] = n;
    }
    ck_assert_int_eq(store_metrics_ingest(s, id, lines, lens, 40, 1, NULL, NULL, err, sizeof(err)),
                     0);
    /* k10 is rolled up, k139 is past the limit and read from the rows */
    ck_assert_int_eq(store_metric_series_points(s, id, NULL, "k10", 2, &ser, err, sizeof(err)), 0);
    ck_assert_int_eq(ser.width, 16384);
    ck_assert_int_eq(ser.rows, 40);
    store_series_free(&ser);
    ck_assert_int_eq(store_metric_series_points(s, id, NULL, "k139", 3, &ser, err, sizeof(err)), 0);
    ck_assert_int_eq(ser.width, 0);
    ck_assert_uint_eq(ser.n, 40);
    ck_assert(ser.vlast[39] == 39.0 * 139);
    store_series_free(&ser);
    store_close(s);
}
END_TEST

static int64_t count_of(const char *query) {
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    int64_t n = -1;
    ck_assert_int_eq(sqlite3_open(db_path, &db), SQLITE_OK);
    ck_assert_int_eq(sqlite3_prepare_v2(db, query, -1, &st, NULL), SQLITE_OK);
    if (sqlite3_step(st) == SQLITE_ROW) {
        n = sqlite3_column_int64(st, 0);
    }
    sqlite3_finalize(st);
    sqlite3_close(db);
    return n;
}

/* migration 011 on a database of schema 10, whose buckets include the levels of 16 and 64 rows:
 * those go, the coarser ones and every row stay, and series read the rows where the fine
 * levels were used */
START_TEST(test_migration_drops_fine_levels) {
    Store *s = NULL;
    int64_t id, coarse;
    StoreSeries ser;
    ck_assert_msg(store_open(db_path, &s, err, sizeof(err)) == 0, "%s", err);
    ck_assert_msg(store_migrate(s, mig_dir, 10, NULL, err, sizeof(err)) == 0, "%s", err);
    id = new_run(s);
    ingest(s, id, 1, 3000, 700);
    store_close(s);
    coarse = count_of("SELECT count(*) FROM metric_buckets");
    ck_assert_int_gt(coarse, 0);
    /* what the roll-up of schema 10 kept beside them: buckets of 16 and 64 rows of every key */
    sql("INSERT INTO metric_buckets (exp_id, key_id, width, bucket, n, vmin, vmax, vlast)"
        " SELECT b.exp_id, b.key_id, w.width, b.bucket * 256 / w.width + j.j, w.width, b.vmin,"
        " b.vmax, b.vlast FROM metric_buckets AS b, (SELECT 16 AS width UNION ALL SELECT 64) AS w,"
        " (WITH RECURSIVE c(j) AS (SELECT 0 UNION ALL SELECT j + 1 FROM c WHERE j < 3)"
        " SELECT j FROM c) AS j WHERE b.width = 256");
    ck_assert_int_gt(count_of("SELECT count(*) FROM metric_buckets WHERE width < 256"), 0);
    s = open_file();
    ck_assert_int_eq(count_of("SELECT count(*) FROM metric_buckets WHERE width < 256"), 0);
    ck_assert_int_eq(count_of("SELECT count(*) FROM metric_buckets"), coarse);
    ck_assert_int_ge(count_of("SELECT max(version) FROM schema_migrations"), 11);
    /* 3000 rows, 100 points: read from the buckets of 16 before, from the rows now */
    ck_assert_int_eq(store_metric_series_points(s, id, NULL, "noise", 100, &ser, err, sizeof(err)),
                     0);
    ck_assert_int_eq(ser.width, 0);
    ck_assert_uint_eq(ser.n, 3000);
    ck_assert(ser.vlast[2999] == noise(3000));
    store_series_free(&ser);
    check_against_rows(s, id, "noise", 20);
    check_against_rows(s, id, "odd", 4);
    store_close(s);
}
END_TEST

/* an x key missing from whole buckets: the series has the buckets where both keys are, with
 * the x of each, as the join of the two keys' buckets in SQL gives them */
START_TEST(test_series_over_sparse_x) {
    Store *s = open_file();
    int64_t id = new_run(s);
    static char text[12000][96];
    const char *lines[12000];
    size_t lens[12000], k = 0;
    StoreSeries ser;
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    for (int i = 1; i <= 12000; i++) {
        /* "sparse" in iterations 1-300 and 8001-8300 only */
        snprintf(text[i - 1], sizeof(text[0]), "{\"iteration\":%d,\"noise\":%.17g%s}", i, noise(i),
                 (i <= 300 || (i > 8000 && i <= 8300)) ? ",\"sparse\":0.5" : "");
        lines[i - 1] = text[i - 1];
        lens[i - 1] = strlen(text[i - 1]);
    }
    ck_assert_int_eq(
        store_metrics_ingest(s, id, lines, lens, 12000, 99999, NULL, NULL, err, sizeof(err)), 0);
    ck_assert_int_eq(
        store_metric_series_points(s, id, "sparse", "noise", 40, &ser, err, sizeof(err)), 0);
    ck_assert_int_eq(ser.width, 256);
    ck_assert_int_eq(sqlite3_open(db_path, &db), SQLITE_OK);
    ck_assert_int_eq(
        sqlite3_prepare_v2(
            db,
            "SELECT x.vlast, y.vmin, y.vmax, y.vlast FROM metric_buckets AS y"
            " JOIN metric_buckets AS x ON x.exp_id = y.exp_id AND x.width = y.width"
            " AND x.bucket = y.bucket AND x.key_id = (SELECT id FROM metric_key_ids WHERE key ="
            " 'sparse') WHERE y.exp_id = ?1 AND y.width = 256"
            " AND y.key_id = (SELECT id FROM metric_key_ids WHERE key = 'noise') ORDER BY y.bucket",
            -1, &st, NULL),
        SQLITE_OK);
    sqlite3_bind_int64(st, 1, id);
    while (sqlite3_step(st) == SQLITE_ROW) {
        ck_assert_uint_lt(k, ser.n);
        ck_assert(ser.x[k] == sqlite3_column_double(st, 0));
        ck_assert(ser.vmin[k] == sqlite3_column_double(st, 1));
        ck_assert(ser.vmax[k] == sqlite3_column_double(st, 2));
        ck_assert(ser.vlast[k] == sqlite3_column_double(st, 3));
        k++;
    }
    sqlite3_finalize(st);
    sqlite3_close(db);
    /* 300 rows in buckets of 256, twice: 2 buckets each, of the run's 47 */
    ck_assert_uint_eq(k, ser.n);
    ck_assert_uint_eq(ser.n, 4);
    store_series_free(&ser);
    store_close(s);
}
END_TEST

static Suite *suite(void) {
    Suite *s = suite_create("store_rollup");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_buckets_equal_rows);
    tcase_add_test(tc, test_rewind_drops_and_catchup_rebuilds);
    tcase_add_test(tc, test_catchup_of_runs_never_rolled_up);
    tcase_add_test(tc, test_series_bad_input);
    tcase_add_test(tc, test_more_keys_than_rolled_up);
    tcase_add_test(tc, test_migration_drops_fine_levels);
    tcase_add_test(tc, test_series_over_sparse_x);
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
