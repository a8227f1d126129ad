/* Tests of server/store/store_idset.c: ag_in_ids answers membership of a bound set of ids (the
 * first, the last, between, outside, an empty set), refuses a call without a set, and
 * store_idset_read reads ascending ids up to its maximum, refusing ids out of order. */
#include "store.h"
#include "store_int.h"
#include "store_test_db.h"

#include <check.h>
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
    StoreIdSet set = {ids, 10, 10}, empty = {NULL, 0, 0};
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

static Suite *store_idset_suite(void) {
    Suite *su = suite_create("store_idset");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_membership);
    tcase_add_test(tc, test_read);
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
