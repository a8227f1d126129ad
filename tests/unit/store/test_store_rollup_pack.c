/* Tests of server/store/store_rollup_pack.c: packing a run's finished buckets leaves every
 * series as it was (all levels, a column key, a key of the row alone, a key missing from rows,
 * an x key missing from whole buckets) and deletes the bucket rows packed; ingestion after it
 * goes on in rows and packs again; a rewind drops the packs; migration 017 on a database of
 * schema 16 keeps its buckets readable and the daemon's call packs them; a pack whose bytes are
 * not entries is refused with its place named; an experiment's deletion takes its packs. */
#include "store.h"
#include "store_int.h"
#include "store_test_db.h"

#include "ag_error.h"

#include <check.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char mig_dir[1024];
static char err[512];
static char db_path[256];

static void setup(void) {
    store_test_db_new(mig_dir, sizeof(mig_dir), db_path, sizeof(db_path));
}

static void teardown(void) {
    store_test_db_remove(db_path);
}

static Store *open_at(int version) {
    Store *s = NULL;
    ck_assert_msg(store_open(db_path, &s, err, sizeof(err)) == 0, "%s", err);
    ck_assert_msg(store_migrate(s, mig_dir, version, NULL, err, sizeof(err)) == 0, "%s", err);
    return s;
}

static int64_t new_run(Store *s) {
    StoreExpNew e = {.name = "r", .task = "CartPole", .spec_json = "{}", .ranks = 1};
    int64_t id = 0;
    ck_assert_int_eq(store_exp_insert(s, &e, "/tmp/runs", &id, err, sizeof(err)), 0);
    return id;
}

static double noise(long i) {
    return (double)((i * 7919) % 1009) / 13.0 - 30.0;
}

/* iterations from..to in batches of 1000; "odd" on odd iterations only, "sparse" in the first
 * 20,000 iterations and from 50,001 to 50,300 only; attempt changes the rows (a resume) */
static void ingest_attempt(Store *s, int64_t id, long from, long to, int attempt) {
    static char text[1 << 20];
    const char *lines[1000];
    size_t lens[1000];
    for (long i = from; i <= to;) {
        size_t used = 0, n = 0;
        for (; i <= to && n < 1000; i++, n++) {
            int sparse = i <= 20000 || (i > 50000 && i <= 50300);
            int len = snprintf(text + used, sizeof(text) - used,
                               "{\"iteration\":%ld,\"return_mean\":%.3f,\"noise\":%.17g%s%s,"
                               "\"attempt\":%d}",
                               i, (double)i * 0.5 + attempt, noise(i), i % 2 ? ",\"odd\":1.5" : "",
                               sparse ? ",\"sparse\":0.25" : "", attempt);
            lines[n] = text + used;
            lens[n] = (size_t)len;
            used += (size_t)len;
        }
        ck_assert_msg(store_metrics_ingest(s, id, lines, lens, n, (int64_t)i * 100, NULL, NULL, err,
                                           sizeof(err)) == 0,
                      "%s", err);
    }
}

static int64_t count_of(const char *query) {
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    int64_t n = -1;
    ck_assert_int_eq(sqlite3_open(db_path, &db), SQLITE_OK);
    ck_assert_msg(sqlite3_prepare_v2(db, query, -1, &st, NULL) == SQLITE_OK, "%s",
                  sqlite3_errmsg(db));
    if (sqlite3_step(st) == SQLITE_ROW) {
        n = sqlite3_column_int64(st, 0);
    }
    sqlite3_finalize(st);
    sqlite3_close(db);
    return n;
}

static void sql(const char *text) {
    sqlite3 *db = NULL;
    ck_assert_int_eq(sqlite3_open(db_path, &db), SQLITE_OK);
    ck_assert_msg(sqlite3_exec(db, text, NULL, NULL, NULL) == SQLITE_OK, "%s", sqlite3_errmsg(db));
    sqlite3_close(db);
}

/* the series asked of a run: x key, y key, points (widths 256, 1024 and 4096 at 90,000 rows) */
typedef struct Ask {
    const char *x, *y;
    size_t points;
} Ask;
static const Ask asks[] = {{NULL, "noise", 400},      {NULL, "noise", 100},
                           {NULL, "noise", 30},       {NULL, "odd", 400},
                           {NULL, "return_mean", 80}, {"sparse", "noise", 400},
                           {"noise", "sparse", 100},  {"return_mean", "odd", 30}};
#define NASKS (sizeof(asks) / sizeof(asks[0]))

static void series_of(Store *s, int64_t id, StoreSeries *out) {
    for (size_t a = 0; a < NASKS; a++) {
        ck_assert_msg(store_metric_series_points(s, id, asks[a].x, asks[a].y, asks[a].points,
                                                 &out[a], err, sizeof(err)) == 0,
                      "%s", err);
        ck_assert_int_gt(out[a].width, 0);
    }
}

/* every series of b is the same as a's, value for value */
static void series_same(StoreSeries *a, StoreSeries *b) {
    for (size_t k = 0; k < NASKS; k++) {
        ck_assert_int_eq(a[k].width, b[k].width);
        ck_assert_uint_eq(a[k].n, b[k].n);
        ck_assert_int_eq(a[k].rows, b[k].rows);
        for (size_t i = 0; i < a[k].n; i++) {
            ck_assert_msg(a[k].x[i] == b[k].x[i] && a[k].vmin[i] == b[k].vmin[i] &&
                              a[k].vmax[i] == b[k].vmax[i] && a[k].vlast[i] == b[k].vlast[i],
                          "ask %zu point %zu differs", k, i);
        }
        store_series_free(&a[k]);
        store_series_free(&b[k]);
    }
}

/* the same run ingested into a second database and never packed: what every series must be */
static void series_unpacked(long to, StoreSeries *out) {
    char other[256], keep[256];
    Store *s;
    snprintf(keep, sizeof(keep), "%s", db_path);
    store_test_db_new(mig_dir, sizeof(mig_dir), other, sizeof(other));
    snprintf(db_path, sizeof(db_path), "%s", other);
    s = open_at(0);
    ingest_attempt(s, new_run(s), 1, to, 1);
    series_of(s, 1, out);
    store_close(s);
    store_test_db_remove(other);
    snprintf(db_path, sizeof(db_path), "%s", keep);
}

START_TEST(test_packs_keep_every_series) {
    Store *s = open_at(0);
    int64_t id = new_run(s), packs = 0, rows_before;
    StoreSeries want[NASKS], got[NASKS];
    ingest_attempt(s, id, 1, 70000, 1);
    rows_before = count_of("SELECT count(*) FROM metric_buckets");
    ck_assert_int_eq(store_metrics_rollup_pack(s, 10.0, &packs, err, sizeof(err)), 0);
    /* 70,000 rows: 4 packs of 256-row buckets (16,384 rows each) and 1 of 1024-row buckets
     * (65,536) of each of the 5 keys in every row; "sparse" has buckets in packs 0, 1 and 3 of
     * 256 and in pack 0 of 1024 */
    ck_assert_int_eq(packs, 4 * 5 + 3 + 5 + 1);
    ck_assert_int_eq(count_of("SELECT count(*) FROM metric_bucket_packs"), packs);
    ck_assert_int_eq(count_of("SELECT count(*) FROM metric_buckets WHERE width = 256 AND bucket <"
                              " 256"),
                     0);
    ck_assert_int_lt(count_of("SELECT count(*) FROM metric_buckets"), rows_before);
    ck_assert_int_eq(count_of("SELECT packed_seq FROM experiments"), 70000);
    /* nothing more is due */
    ck_assert_int_eq(store_metrics_rollup_pack(s, 10.0, &packs, err, sizeof(err)), 0);
    ck_assert_int_eq(packs, 0);
    /* ingestion goes on in bucket rows, merging into the open ones, and is packed again */
    ingest_attempt(s, id, 70001, 90000, 1);
    series_of(s, id, got);
    series_unpacked(90000, want);
    series_same(want, got);
    ck_assert_int_eq(store_metrics_rollup_pack(s, 10.0, &packs, err, sizeof(err)), 0);
    ck_assert_int_eq(packs, 5); /* the fifth pack of 256 of each key */
    series_of(s, id, got);
    series_unpacked(90000, want);
    series_same(want, got);
    store_close(s);
}
END_TEST

START_TEST(test_rewind_drops_packs) {
    Store *s = open_at(0);
    int64_t id = new_run(s), packs = 0, rolled = 0;
    StoreSeries want[NASKS], got[NASKS];
    ingest_attempt(s, id, 1, 90000, 1);
    ck_assert_int_eq(store_metrics_rollup_pack(s, 10.0, &packs, err, sizeof(err)), 0);
    ck_assert_int_gt(packs, 0);
    /* resumed from iteration 40,001 with other rows: packs and buckets go, the catch-up
     * rebuilds the buckets and the next call packs them */
    ingest_attempt(s, id, 40001, 90000, 2);
    ck_assert_int_eq(count_of("SELECT count(*) FROM metric_bucket_packs"), 0);
    ck_assert_int_eq(count_of("SELECT packed_seq FROM experiments"), 0);
    ck_assert_int_eq(store_metrics_rollup_catchup(s, 30.0, &rolled, err, sizeof(err)), 0);
    ck_assert_int_eq(store_metrics_rollup_pack(s, 10.0, &packs, err, sizeof(err)), 0);
    ck_assert_int_gt(packs, 0);
    series_of(s, id, got);
    store_close(s);
    /* the same rows in a database that never packed */
    {
        char other[256], keep[256];
        snprintf(keep, sizeof(keep), "%s", db_path);
        store_test_db_new(mig_dir, sizeof(mig_dir), other, sizeof(other));
        snprintf(db_path, sizeof(db_path), "%s", other);
        s = open_at(0);
        id = new_run(s);
        ingest_attempt(s, id, 1, 90000, 1);
        ingest_attempt(s, id, 40001, 90000, 2);
        ck_assert_int_eq(store_metrics_rollup_catchup(s, 30.0, &rolled, err, sizeof(err)), 0);
        series_of(s, id, want);
        store_close(s);
        store_test_db_remove(other);
        snprintf(db_path, sizeof(db_path), "%s", keep);
    }
    series_same(want, got);
}
END_TEST

/* migration 017 on a database of schema 16: its bucket rows stay and give the series a database
 * of schema 17 gives, the daemon's call packs them, and the series are still the same */
START_TEST(test_migration_017_packs_old_database) {
    Store *s = open_at(16);
    int64_t id = new_run(s), packs = 0, version;
    StoreSeries before[NASKS], after[NASKS];
    ingest_attempt(s, id, 1, 90000, 1);
    store_close(s);
    ck_assert_int_eq(count_of("SELECT count(*) FROM sqlite_master WHERE name ="
                              " 'metric_bucket_packs'"),
                     0);
    series_unpacked(90000, before);
    s = open_at(0);
    version = count_of("SELECT max(version) FROM schema_migrations");
    ck_assert_int_ge(version, 17);
    ck_assert_int_eq(count_of("SELECT count(*) FROM metric_bucket_packs"), 0);
    ck_assert_int_eq(count_of("SELECT packed_seq FROM experiments"), 0);
    series_of(s, id, after);
    series_same(before, after);
    /* a transaction at a time (no budget: one): about 1024 bucket rows, whole packs, in key
     * order (iteration, return_mean: 6 packs each; noise: 4 of its 6), the run not yet marked;
     * half packed, the series are the same */
    ck_assert_int_eq(store_metrics_rollup_pack(s, 0.0, &packs, err, sizeof(err)), 0);
    ck_assert_int_eq(packs, 16);
    ck_assert_int_eq(count_of("SELECT packed_seq FROM experiments"), 0);
    series_of(s, id, after);
    series_unpacked(90000, before);
    series_same(before, after);
    series_of(s, id, before);
    ck_assert_int_eq(store_metrics_rollup_pack(s, 10.0, &packs, err, sizeof(err)), 0);
    ck_assert_int_eq(packs, 5 * 5 + 3 + 5 + 1 - 16);
    ck_assert_int_eq(count_of("SELECT packed_seq FROM experiments"), 90000);
    series_of(s, id, after);
    series_same(before, after);
    store_close(s);
}
END_TEST

/* a pack whose bytes are not entries, or whose offsets do not rise: the series fails and says
 * which pack; nothing is read past it */
START_TEST(test_bad_pack_refused) {
    Store *s = open_at(0);
    int64_t id = new_run(s), packs = 0;
    StoreSeries ser;
    StoreKeyBuckets kb = {0};
    unsigned char blob[3 * STORE_PACK_ENTRY];
    ingest_attempt(s, id, 1, 70000, 1);
    ck_assert_int_eq(store_metrics_rollup_pack(s, 10.0, &packs, err, sizeof(err)), 0);
    store_close(s);
    sql("UPDATE metric_bucket_packs SET buckets = substr(buckets, 1, 40) WHERE width = 256 AND"
        " pack = 1 AND key_id = (SELECT id FROM metric_key_ids WHERE key = 'noise')");
    s = open_at(0);
    ck_assert_int_eq(store_metric_series_points(s, id, NULL, "noise", 400, &ser, err, sizeof(err)),
                     AG_EIO);
    ck_assert_msg(strstr(err, "pack 1 of run 1, key noise, width 256: 40 bytes") != NULL, "%s",
                  err);
    /* the other keys are whole */
    ck_assert_int_eq(store_metric_series_points(s, id, NULL, "odd", 400, &ser, err, sizeof(err)),
                     0);
    ck_assert_int_eq(ser.width, 256);
    store_series_free(&ser);
    store_close(s);
    /* the decoder alone: offsets rising within 0..63 only */
    store_pack_entry_put(blob, 3, 256, 1.0, 2.0, 1.5);
    store_pack_entry_put(blob + STORE_PACK_ENTRY, 5, 256, -1.0, 4.0, 0.5);
    store_pack_entry_put(blob + 2 * STORE_PACK_ENTRY, 5, 256, 0.0, 0.0, 0.0);
    ck_assert_int_eq(store_pack_decode(2, blob, 2 * STORE_PACK_ENTRY, &kb), 0);
    ck_assert_uint_eq(kb.n, 2);
    ck_assert_int_eq(kb.bucket[0], 131);
    ck_assert_int_eq(kb.bucket[1], 133);
    ck_assert_int_eq(kb.rows[1], 256);
    ck_assert(kb.vmin[1] == -1.0 && kb.vmax[1] == 4.0 && kb.vlast[1] == 0.5);
    ck_assert_int_eq(store_pack_decode(3, blob, 3 * STORE_PACK_ENTRY, &kb), AG_EINVAL);
    kb.n = 0;
    ck_assert_int_eq(store_pack_decode(2, blob + STORE_PACK_ENTRY, 2 * STORE_PACK_ENTRY, &kb),
                     AG_EINVAL); /* 5 after 5 */
    kb.n = 0;
    store_pack_entry_put(blob, 64, 256, 1.0, 2.0, 1.5);
    ck_assert_int_eq(store_pack_decode(0, blob, STORE_PACK_ENTRY, &kb), AG_EINVAL);
    store_key_buckets_free(&kb);
}
END_TEST

START_TEST(test_delete_takes_packs) {
    Store *s = open_at(0);
    int64_t id = new_run(s), packs = 0;
    char dir[256];
    ingest_attempt(s, id, 1, 20000, 1);
    ck_assert_int_eq(store_metrics_rollup_pack(s, 10.0, &packs, err, sizeof(err)), 0);
    ck_assert_int_gt(count_of("SELECT count(*) FROM metric_bucket_packs"), 0);
    ck_assert_int_eq(store_run_set_state(s, id, "succeeded", NULL, err, sizeof(err)), 0);
    ck_assert_msg(store_exp_delete(s, id, dir, sizeof(dir), err, sizeof(err)) == 0, "%s", err);
    ck_assert_int_eq(count_of("SELECT count(*) FROM metric_bucket_packs"), 0);
    store_close(s);
}
END_TEST

static Suite *suite(void) {
    Suite *s = suite_create("store_rollup_pack");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, test_packs_keep_every_series);
    tcase_add_test(tc, test_rewind_drops_packs);
    tcase_add_test(tc, test_migration_017_packs_old_database);
    tcase_add_test(tc, test_bad_pack_refused);
    tcase_add_test(tc, test_delete_takes_packs);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) {
    SRunner *r = srunner_create(suite());
    int failed;
    srunner_run_all(r, CK_NORMAL);
    failed = srunner_ntests_failed(r);
    srunner_free(r);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
