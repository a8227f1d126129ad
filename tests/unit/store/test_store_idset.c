/* Tests of server/store/store_idset.c: ag_in_ids answers membership of a bound set of ids (the
 * first, the last, between, outside, an empty set), refuses a call without a set, and
 * store_idset_read reads ascending ids up to its maximum, refusing ids out of order. Sets kept
 * between pages are given back only at the list filter version they were read at, which moves
 * with every write of a name or tags and no other. */
#include "exp_list_fixture.h"
#include "store.h"
#include "store_int.h"
#include "store_test_db.h"

#include <check.h>
#include <stdint.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char err[512];

/* ag_in_ids(set, id) on an in-memory connection; -1 when the call fails */
static int in_ids(sqlite3 *db, const StoreIdSet *set, int64_t id) {
    sqlite3_stmt *st = NULL;
    int v = -1;
    ck_assert_int_eq(sqlite3_prepare_v2(db, "SELECT ag_in_ids(?1, ?2)", -1, &st, NULL), SQLITE_OK);
    if (set) {
        sqlite3_bind_pointer(st, 1, (void *)set, STORE_IDSET_TYPE, NULL);
    }
    sqlite3_bind_int64(st, 2, id);
    if (sqlite3_step(st) == SQLITE_ROW) {
        v = sqlite3_column_int(st, 0);
    }
    sqlite3_finalize(st);
    return v;
}

START_TEST(test_membership) {
    int64_t ids[] = {2, 3, 5, 8, 13, 21, 34, 55, 89, 144};
    StoreIdSet set = {.ids = ids, .n = 10, .cap = 10}, empty = {0};
    sqlite3 *db = NULL;
    ck_assert_int_eq(sqlite3_open(":memory:", &db), SQLITE_OK);
    ck_assert_int_eq(store_idset_register(db), SQLITE_OK);
    for (int64_t id = -1; id <= 150; id++) {
        int want = 0;
        for (int i = 0; i < 10; i++) {
            want |= ids[i] == id;
        }
        ck_assert_msg(in_ids(db, &set, id) == want, "id %lld", (long long)id);
    }
    ck_assert_int_eq(in_ids(db, &empty, 2), 0);
    /* the same answers from the bitmap, which a sparse set does not get */
    store_idset_map(&set);
    ck_assert_ptr_nonnull(set.bits);
    ck_assert_uint_eq(set.bits_words, 3);
    for (int64_t id = -200; id <= 400; id++) {
        int want = 0;
        for (int i = 0; i < 10; i++) {
            want |= ids[i] == id;
        }
        ck_assert_msg(in_ids(db, &set, id) == want, "mapped, id %lld", (long long)id);
    }
    ck_assert_int_eq(in_ids(db, &set, INT64_MIN), 0);
    ck_assert_int_eq(in_ids(db, &set, INT64_MAX), 0);
    free(set.bits);
    {
        int64_t far[] = {1, 1000000};
        StoreIdSet sparse = {.ids = far, .n = 2, .cap = 2};
        store_idset_map(&sparse);
        ck_assert_ptr_null(sparse.bits);
        ck_assert_int_eq(in_ids(db, &sparse, 1000000), 1);
        ck_assert_int_eq(in_ids(db, &sparse, 999999), 0);
        store_idset_map(&empty);
        ck_assert_ptr_null(empty.bits);
    }
    /* without a set bound, or with another kind of pointer: an error, never an answer */
    ck_assert_int_eq(in_ids(db, NULL, 2), -1);
    ck_assert_str_eq(sqlite3_errmsg(db), "ag_in_ids needs a bound id set");
    {
        sqlite3_stmt *st = NULL;
        ck_assert_int_eq(sqlite3_prepare_v2(db, "SELECT ag_in_ids(?1, 2)", -1, &st, NULL),
                         SQLITE_OK);
        sqlite3_bind_pointer(st, 1, &set, "another_type", NULL);
        ck_assert_int_eq(sqlite3_step(st), SQLITE_ERROR);
        sqlite3_finalize(st);
    }
    sqlite3_close(db);
}
END_TEST

START_TEST(test_read) {
    char mig[1024], db[1024];
    Store *s = NULL;
    StoreIdSet set = {0};
    store_test_db_new(mig, sizeof(mig), db, sizeof(db));
    ck_assert_int_eq(store_open(db, &s, err, sizeof(err)), 0);
    ck_assert_int_eq(store_db_exec(s,
                                   "CREATE TABLE t (id INTEGER PRIMARY KEY, g TEXT);"
                                   "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n"
                                   " WHERE i < 700) INSERT INTO t SELECT 3 * i, 'a' FROM n;",
                                   err, sizeof(err)),
                     0);
    pthread_mutex_lock(&s->mu);
    /* every id, across the set's growth, in order */
    ck_assert_msg(store_idset_read(s, "SELECT id FROM t WHERE g = ?1 ORDER BY id", "a", 1000, &set,
                                   err, sizeof(err)) == 0,
                  "%s", err);
    ck_assert_uint_eq(set.n, 700);
    for (size_t i = 0; i < set.n; i++) {
        ck_assert_int_eq(set.ids[i], 3 * (int64_t)(i + 1));
    }
    /* at most max, read again into the same set */
    ck_assert_int_eq(store_idset_read(s, "SELECT id FROM t WHERE g = ?1 ORDER BY id", "a", 256,
                                      &set, err, sizeof(err)),
                     0);
    ck_assert_uint_eq(set.n, 256);
    ck_assert_int_eq(set.ids[255], 768);
    ck_assert_int_eq(store_idset_read(s, "SELECT id FROM t WHERE g = ?1 ORDER BY id", "b", 256,
                                      &set, err, sizeof(err)),
                     0);
    ck_assert_uint_eq(set.n, 0);
    /* out of order: refused, as binary search would miss ids */
    ck_assert_int_ne(store_idset_read(s, "SELECT id FROM t WHERE g = ?1 ORDER BY id DESC", "a",
                                      1000, &set, err, sizeof(err)),
                     0);
    ck_assert_msg(strstr(err, "ascending"), "%s", err);
    /* a statement that cannot be prepared */
    ck_assert_int_ne(
        store_idset_read(s, "SELECT id FROM nowhere WHERE g = ?1", "a", 10, &set, err, sizeof(err)),
        0);
    pthread_mutex_unlock(&s->mu);
    store_idset_free(&set);
    ck_assert_ptr_null(set.ids);
    store_close(s);
    store_test_db_remove(db);
}
END_TEST

/* the list filter version as a reader sees it */
static int64_t filter_version(Store *s) {
    Store *r = store_reader_lock(s);
    int64_t v = -2;
    int rc = store_filter_version(r, &v, err, sizeof(err));
    pthread_mutex_unlock(&r->mu);
    ck_assert_msg(rc == 0, "%s", err);
    return v;
}

/* 1 when a set is kept for (kind, text) at version v, its ids then in *got */
static int kept(Store *s, char kind, const char *text, int64_t v, StoreIdSet *got) {
    Store *r = store_reader_lock(s);
    int hit = -1;
    int rc = store_idset_kept_get(r, kind, text, v, got, &hit, err, sizeof(err));
    pthread_mutex_unlock(&r->mu);
    ck_assert_msg(rc == 0, "%s", err);
    return hit;
}

static void keep(Store *s, char kind, const char *text, int64_t v, const StoreIdSet *set) {
    Store *r = store_reader_lock(s);
    store_idset_keep(r, kind, text, v, set);
    pthread_mutex_unlock(&r->mu);
}

START_TEST(test_filter_version_moves_with_names_and_tags) {
    char mig[1024], db[1024];
    Store *s = NULL;
    sqlite3 *h = NULL;
    int64_t a, v;
    store_test_db_new(mig, sizeof(mig), db, sizeof(db));
    ck_assert_int_eq(store_open(db, &s, err, sizeof(err)), 0);
    /* before migration 019 there is none, and nothing is kept */
    ck_assert_int_eq(filter_version(s), -1);
    ck_assert_msg(store_migrate(s, mig, 0, NULL, err, sizeof(err)) == 0, "%s", err);
    v = filter_version(s);
    ck_assert_int_ge(v, 1);
    a = add_exp(s, "a", "Ant", "[\"best\"]", NULL, 0);
    ck_assert_int_gt(filter_version(s), v);
    v = filter_version(s);
    /* notes, the state, metrics and the same tags again: no move */
    ck_assert_int_eq(store_exp_annotate(s, a, NULL, "notes", err, sizeof(err)), 0);
    ck_assert_int_eq(store_exp_annotate(s, a, "[\"best\"]", NULL, err, sizeof(err)), 0);
    ingest1(s, a, "{\"iteration\":1,\"env_steps\":10,\"return_mean\":1.5}");
    ck_assert_int_eq(sqlite3_open(db, &h), SQLITE_OK);
    sqlite3_busy_timeout(h, 5000);
    exec_sql(h, "UPDATE experiments SET state = 'failed', priority = 3");
    ck_assert_int_eq(filter_version(s), v);
    /* new tags, a rename (a hand edit), another experiment, a deletion: each moves it */
    ck_assert_int_eq(store_exp_annotate(s, a, "[\"best\",\"x\"]", NULL, err, sizeof(err)), 0);
    ck_assert_int_gt(filter_version(s), v);
    v = filter_version(s);
    exec_sql(h, "UPDATE experiments SET name = 'renamed'");
    ck_assert_int_gt(filter_version(s), v);
    v = filter_version(s);
    copy_exp(h, a, 3);
    ck_assert_int_gt(filter_version(s), v);
    v = filter_version(s);
    ck_assert_int_eq(store_exp_delete(s, a, NULL, 0, err, sizeof(err)), 0);
    ck_assert_int_gt(filter_version(s), v);
    sqlite3_close(h);
    store_close(s);
    store_test_db_remove(db);
}
END_TEST

/* a kept set comes back as a copy at its own version and kind only, the least recently used of
 * STORE_IDSETS_KEPT goes first, a set kept again for its filter replaces the older one */
START_TEST(test_kept_sets) {
    char mig[1024], db[1024], text[16];
    int64_t ids[] = {4, 9, 16}, more[] = {4, 9, 16, 25};
    StoreIdSet set = {.ids = ids, .n = 3, .cap = 3}, set4 = {.ids = more, .n = 4, .cap = 4},
               got = {0};
    Store *s = NULL;
    store_test_db_new(mig, sizeof(mig), db, sizeof(db));
    ck_assert_int_eq(store_open(db, &s, err, sizeof(err)), 0);
    ck_assert_msg(store_migrate(s, mig, 0, NULL, err, sizeof(err)) == 0, "%s", err);
    ck_assert_int_eq(kept(s, 't', "best", 5, &got), 0);
    keep(s, 't', "best", 5, &set);
    ck_assert_int_eq(kept(s, 't', "best", 5, &got), 1);
    ck_assert_uint_eq(got.n, 3);
    ck_assert(memcmp(got.ids, ids, sizeof(ids)) == 0 && got.ids != ids);
    ck_assert_int_eq(kept(s, 't', "best", 6, &got), 0);
    ck_assert_int_eq(kept(s, 'q', "best", 5, &got), 0);
    ck_assert_int_eq(kept(s, 't', "bes", 5, &got), 0);
    ck_assert_int_eq(kept(s, 't', "best", -1, &got), 0);
    keep(s, 't', "nothing kept", -1, &set);
    ck_assert_int_eq(kept(s, 't', "nothing kept", -1, &got), 0);
    /* the same filter at a newer version: one slot, the new ids */
    keep(s, 't', "best", 6, &set4);
    ck_assert_int_eq(kept(s, 't', "best", 5, &got), 0);
    ck_assert_int_eq(kept(s, 't', "best", 6, &got), 1);
    ck_assert_uint_eq(got.n, 4);
    ck_assert_int_eq(got.ids[3], 25);
    /* seven more filters fill the slots; "best", used since, stays, "q0" goes for the ninth */
    for (int i = 0; i < STORE_IDSETS_KEPT - 1; i++) {
        snprintf(text, sizeof(text), "q%d", i);
        keep(s, 'q', text, 6, &set);
    }
    ck_assert_int_eq(kept(s, 't', "best", 6, &got), 1);
    keep(s, 'q', "ninth", 6, &set);
    ck_assert_int_eq(kept(s, 'q', "q0", 6, &got), 0);
    ck_assert_int_eq(kept(s, 'q', "q1", 6, &got), 1);
    ck_assert_int_eq(kept(s, 'q', "ninth", 6, &got), 1);
    ck_assert_int_eq(kept(s, 't', "best", 6, &got), 1);
    ck_assert_uint_eq(got.n, 4);
    store_idset_free(&got);
    store_close(s);
    store_test_db_remove(db);
}
END_TEST

/* migration 019 on a database filled at 018: every experiment kept, the pages of a tag under a
 * sort the same bytes with the same cursors, and the version moving with the writes after it */
START_TEST(test_filter_version_migrated_from_018) {
    char mig[1024], db[1024];
    StoreExpFilter f = {.sort = "return", .tag = "best", .limit = 3};
    Store *s;
    int applied = 0;
    int64_t count, v;
    char *before, *after;
    s = filled_at(18, mig, sizeof(mig), db, sizeof(db));
    count = sql_int(db, "SELECT count(*) FROM experiments");
    ck_assert_int_gt(count, 0);
    before = listing_text(s, f);
    ck_assert_int_eq(filter_version(s), -1);
    ck_assert_msg(store_migrate(s, mig, 19, &applied, err, sizeof(err)) == 0, "%s", err);
    ck_assert_int_eq(applied, 1);
    ck_assert_int_eq(sql_int(db, "SELECT count(*) FROM experiments"), count);
    v = filter_version(s);
    ck_assert_int_ge(v, 1);
    after = listing_text(s, f);
    ck_assert_str_eq(after, before);
    ck_assert(strstr(after, "\"id\"") != NULL);
    ck_assert_int_eq(store_exp_annotate(s, 1, "[\"best\",\"new\"]", NULL, err, sizeof(err)), 0);
    ck_assert_int_gt(filter_version(s), v);
    free(before);
    free(after);
    store_close(s);
    store_test_db_remove(db);
}
END_TEST

static Suite *store_idset_suite(void) {
    Suite *su = suite_create("store_idset");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_membership);
    tcase_add_test(tc, test_read);
    tcase_add_test(tc, test_filter_version_moves_with_names_and_tags);
    tcase_add_test(tc, test_kept_sets);
    tcase_add_test(tc, test_filter_version_migrated_from_018);
    suite_add_tcase(su, tc);
    return su;
}

int main(void) {
    SRunner *sr = srunner_create(store_idset_suite());
    int failed;
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
