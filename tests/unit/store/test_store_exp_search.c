/* Tests of server/store/store_exp_search.c: the experiments a name search (q) reads by id hold
 * every name the LIKE matches, whichever of the search's trigrams are read (the rare ones and
 * their intersection, the AND of all when every one is common), and names that hold those
 * trigrams without the search are candidates that only the LIKE leaves out of the page; a common
 * trigram is not read again while a connection remembers it, which changes no answer. */
#include "store.h"
#include "store_int.h"
#include "store_test_db.h"

#include "ag_buf.h"
#include "ag_error.h"

#include <check.h>
#include <jansson.h>
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

static void add_exp(Store *s, const char *name) {
    StoreExpNew e = {.name = name, .task = "Ant", .spec_json = "{}"};
    int64_t id = 0;
    ck_assert_msg(store_exp_insert(s, &e, "/runs", &id, err, sizeof(err)) == 0, "%s", err);
}

/* ids (ascending, space-separated) of the rows of sql with its ?1 bound to text */
static void ids_of_sql(sqlite3 *h, const char *sql, const char *text, char *out, size_t out_sz) {
    sqlite3_stmt *st = NULL;
    size_t n = 0;
    ck_assert_msg(sqlite3_prepare_v2(h, sql, -1, &st, NULL) == SQLITE_OK, "%s", sqlite3_errmsg(h));
    sqlite3_bind_text(st, 1, text, -1, SQLITE_STATIC);
    out[0] = '\0';
    while (sqlite3_step(st) == SQLITE_ROW) {
        n += (size_t)snprintf(out + n, out_sz - n, "%lld ", (long long)sqlite3_column_int64(st, 0));
        ck_assert_uint_lt(n, out_sz);
    }
    sqlite3_finalize(st);
}

/* the ids the LIKE over every name matches, as the list's q= tests it (ASCII case folded) */
static void ids_of_like(sqlite3 *h, const char *q, char *out, size_t out_sz) {
    ids_of_sql(h,
               "SELECT id FROM experiments WHERE name LIKE '%' || ?1 || '%' ESCAPE '\\'"
               " ORDER BY id",
               q, out, out_sz);
}

/* how the candidates of a search were given */
enum { CAND_SCAN = 0, CAND_IDS = 1, CAND_SET = 2 };

/* the candidates of q as ascending ids, space-separated: read by id (CAND_IDS, fewer than
 * EXP_Q_FEW), a set tested entry by entry (CAND_SET) or none, the search scanning (CAND_SCAN) */
static int candidates_of(Store *s, const char *q, char *out, size_t out_sz) {
    Store *r = store_reader_lock(s);
    char *ids = NULL;
    StoreIdSet set = {0};
    int rc = store_exp_q_candidates(r, q, &ids, &set, err, sizeof(err));
    json_t *doc, *v;
    size_t i, n = 0;
    pthread_mutex_unlock(&r->mu);
    ck_assert_msg(rc == 0, "%s", err);
    out[0] = '\0';
    ck_assert(!(ids && set.n));
    if (set.n) {
        ck_assert_uint_ge(set.n, EXP_Q_FEW);
        ck_assert_uint_lt(set.n, EXP_Q_MANY);
        for (i = 0; i < set.n; i++) {
            ck_assert(i == 0 || set.ids[i] > set.ids[i - 1]);
            n += (size_t)snprintf(out + n, out_sz - n, "%lld ", (long long)set.ids[i]);
            ck_assert_uint_lt(n, out_sz);
        }
        store_idset_free(&set);
        return CAND_SET;
    }
    if (!ids) {
        return CAND_SCAN;
    }
    doc = json_loads(ids, 0, NULL);
    ck_assert(json_is_array(doc));
    ck_assert_uint_lt(json_array_size(doc), EXP_Q_FEW);
    json_array_foreach(doc, i, v) {
        ck_assert(i == 0 || json_integer_value(v) > json_integer_value(json_array_get(doc, i - 1)));
        n += (size_t)snprintf(out + n, out_sz - n, "%lld ", (long long)json_integer_value(v));
        ck_assert_uint_lt(n, out_sz);
    }
    json_decref(doc);
    free(ids);
    return CAND_IDS;
}

/* the ids of every page of q under sort (following the cursors) in the pages' order, through
 * the objects path (the LIKE on every name: the reference) or the text path (the candidates) */
static void ids_of_sorted_pages(Store *s, const char *q, const char *sort, int asc, int objects,
                                char *out, size_t out_sz) {
    StoreExpFilter f = {.q = q, .limit = 7, .ascending = asc, .sort = sort};
    char next[STORE_CURSOR_MAX], after[STORE_CURSOR_MAX];
    size_t n = 0;
    out[0] = '\0';
    for (;;) {
        json_t *doc = NULL, *it;
        size_t i;
        if (objects) {
            ck_assert_msg(store_exp_list_page(s, &f, &doc, next, sizeof(next), err, sizeof(err)) ==
                              0,
                          "%s", err);
        } else {
            AgBuf page;
            ck_assert_int_eq(ag_buf_init(&page, 0, 1 << 22), 0);
            ck_assert_msg(store_exp_list_page_text(s, &f, &page, NULL, NULL, next, sizeof(next),
                                                   err, sizeof(err)) == 0,
                          "%s", err);
            doc = json_loads(page.data, 0, NULL);
            ag_buf_free(&page);
        }
        ck_assert(json_is_array(doc));
        json_array_foreach(doc, i, it) {
            n += (size_t)snprintf(out + n, out_sz - n, "%lld ",
                                  (long long)json_integer_value(json_object_get(it, "id")));
            ck_assert_uint_lt(n, out_sz);
        }
        json_decref(doc);
        if (!next[0]) {
            return;
        }
        snprintf(after, sizeof(after), "%s", next);
        f.after = after;
    }
}

/* the ids of the list's pages for q (submitted order, following the cursors), ascending */
static void ids_of_pages(Store *s, const char *q, char *out, size_t out_sz) {
    ids_of_sorted_pages(s, q, "submitted", 1, 0, out, out_sz);
}

/* every id of want (space-separated) is in have */
static int ids_within(const char *want, const char *have) {
    char pad[32800];
    snprintf(pad, sizeof(pad), " %s", have);
    for (const char *w = want; *w;) {
        char id[32];
        int len = 0;
        ck_assert_int_eq(sscanf(w, "%30s%n", id + 1, &len), 1);
        id[0] = ' ';
        strcat(id, " ");
        if (!strstr(pad, id)) {
            return 0;
        }
        w += len;
        while (*w == ' ') {
            w++;
        }
    }
    return 1;
}

/* 2,100 names sharing the trigrams of "common-" (each on EXP_Q_MANY names or more: common),
 * "common-0" to "common-2099" in id order, the searched ones, and decoys that hold every trigram
 * of a search without holding the search */
static void fill(Store *s, const char *db) {
    static const char *const names[] = {
        "run-77",
        "Run-770",
        "xrun-7",
        "salmon-7 and run-77",
        "MON-77 upper",
        "lemon-7",
        "n-7 -77 apart",
        "caf\xc3\xa9-mon-77",
        "\"quoted\" mon-77",
    };
    sqlite3 *h = NULL;
    add_exp(s, "common-0");
    ck_assert_int_eq(sqlite3_open(db, &h), SQLITE_OK);
    sqlite3_busy_timeout(h, 5000);
    exec_sql(h, "CREATE TEMP TABLE one AS SELECT * FROM experiments WHERE id = 1;"
                "UPDATE one SET id = NULL;"
                "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 2099)"
                " INSERT INTO experiments SELECT one.* FROM one, n;"
                "UPDATE experiments SET name = 'common-' || (id - 1) WHERE id > 1;");
    sqlite3_close(h);
    ck_assert_int_eq(EXP_Q_MANY, 2048);
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        add_exp(s, names[i]);
    }
}

/* a new database at the latest migration, filled by fill, opened by the store and, when h is
 * given, by a connection of the test's own */
static Store *filled_store(char *db, size_t db_sz, sqlite3 **h) {
    char mig[1024];
    Store *s = NULL;
    store_test_db_new(mig, sizeof(mig), db, db_sz);
    ck_assert_int_eq(store_open(db, &s, err, sizeof(err)), 0);
    ck_assert_msg(store_migrate(s, mig, 0, NULL, err, sizeof(err)) == 0, "%s", err);
    fill(s, db);
    if (h) {
        ck_assert_int_eq(sqlite3_open(db, h), SQLITE_OK);
        sqlite3_busy_timeout(*h, 5000);
    }
    return s;
}

static const char *const searches[] = {
    "mon-77", "MON-7", "run-77",     "un-7",        "n-7 -77", "common-1", "common",
    "mon-2",  "-77",   "\"quoted\"", "caf\xc3\xa9", "zzz",     "ab",
};

/* the candidates hold every match of the LIKE; the pages list exactly the LIKE's matches, though
 * the candidates of "mon-77" hold decoys (the LIKE leaves them out); its candidates are the
 * intersection of its rare trigrams' names, the common ones left out */
START_TEST(test_candidates_hold_every_match) {
    char db[1024], like[32768], cand[32768], pages[32768], want[32768];
    Store *s = NULL;
    sqlite3 *h = NULL;
    s = filled_store(db, sizeof(db), &h);
    for (int pass = 0; pass < 2; pass++) {
        for (size_t i = 0; i < sizeof(searches) / sizeof(searches[0]); i++) {
            ids_of_like(h, searches[i], like, sizeof(like));
            if (candidates_of(s, searches[i], cand, sizeof(cand))) {
                ck_assert_msg(ids_within(like, cand), "q=%s\nlike %s\ncandidates %s", searches[i],
                              like, cand);
            }
            ids_of_pages(s, searches[i], pages, sizeof(pages));
            ck_assert_msg(!strcmp(pages, like), "q=%s\nlike  %s\npages %s", searches[i], like,
                          pages);
        }
        /* names rewritten by another connection: "mon" and "on-" on a few names only now */
        exec_sql(h, "UPDATE experiments SET name = 'renamed ' || id WHERE name LIKE 'common-%'"
                    " AND id > 3");
    }
    /* the decoys are candidates (mon and on- were on 2,100 names when read: left out, the names
     * of n-7 and -77 intersected): only the LIKE keeps them off the page */
    ck_assert(candidates_of(s, "mon-77", cand, sizeof(cand)));
    ids_of_sql(h,
               "SELECT id FROM experiments WHERE lower(name) LIKE '%n-7%' AND"
               " lower(name) LIKE '%-77%' ORDER BY id",
               "", want, sizeof(want));
    ck_assert_str_eq(cand, want);
    ids_of_like(h, "mon-77", like, sizeof(like));
    ck_assert_str_ne(cand, like);
    ids_of_pages(s, "mon-77", pages, sizeof(pages));
    ck_assert_str_eq(pages, like);
    sqlite3_close(h);
    store_close(s);
    store_test_db_remove(db);
}
END_TEST

/* A trigram found on EXP_Q_MANY names or more is not read again by the next searches (the
 * counter of reads moves by the rare ones only), the intersection of the rare ones is what is
 * read by id (under EXP_Q_FEW) or tested as a set (up to EXP_Q_MANY), and a search of common
 * trigrams only asks their AND; once they turned rare (renames), the remembered ones still give
 * the LIKE's answer. */
START_TEST(test_common_trigrams_not_read_again) {
    char db[1024], like[32768], cand[32768], pages[32768], want[32768];
    Store *s = NULL;
    sqlite3 *h = NULL;
    uint64_t reads;
    s = filled_store(db, sizeof(db), &h);
    reads = store_exp_q_trigram_reads(s);
    /* mon, on-, n-1, -12: the first two on 2,100 names, n-1 on 1,111 (1, 10-19, 100-199,
     * 1000-1999), -12 on 111 (12, 120-129, 1200-1299): their intersection, read by id */
    ck_assert_int_eq(candidates_of(s, "mon-12", cand, sizeof(cand)), CAND_IDS);
    ck_assert_uint_eq(store_exp_q_trigram_reads(s), reads + 4);
    ids_of_like(h, "mon-12", like, sizeof(like));
    ck_assert_str_eq(cand, like);
    /* new tags: the candidates kept for the search are read again, its common trigrams not */
    exec_sql(h, "UPDATE experiments SET tags = '[\"t\"]' WHERE id = 1");
    ck_assert_int_eq(candidates_of(s, "mon-12", cand, sizeof(cand)), CAND_IDS);
    ck_assert_uint_eq(store_exp_q_trigram_reads(s), reads + 6);
    ck_assert_str_eq(cand, like);
    /* n-1 alone beside the common ones: 1,111 candidates, a set, the LIKE's matches */
    ck_assert_int_eq(candidates_of(s, "mon-1", cand, sizeof(cand)), CAND_SET);
    ids_of_like(h, "mon-1", like, sizeof(like));
    ck_assert_str_eq(cand, like);
    /* the set's pages under every sort are the LIKE's, in the same order */
    {
        static const char *const sorts[] = {"submitted", "name",   "task",    "state",
                                            "priority",  "return", "progress"};
        for (size_t i = 0; i < sizeof(sorts) / sizeof(sorts[0]); i++) {
            for (int asc = 0; asc < 2; asc++) {
                ids_of_sorted_pages(s, "mon-1", sorts[i], asc, 1, want, sizeof(want));
                ids_of_sorted_pages(s, "mon-1", sorts[i], asc, 0, pages, sizeof(pages));
                ck_assert_msg(!strcmp(pages, want) && strlen(want) > 4000, "sort=%s asc=%d",
                              sorts[i], asc);
            }
        }
    }
    /* every trigram common: their AND, 2,100 names, scans */
    ck_assert_int_eq(candidates_of(s, "common", cand, sizeof(cand)), CAND_SCAN);
    /* an empty intersection stops the reads */
    reads = store_exp_q_trigram_reads(s);
    ck_assert(candidates_of(s, "zzz-12", cand, sizeof(cand)));
    ck_assert_str_eq(cand, "");
    ck_assert_uint_eq(store_exp_q_trigram_reads(s), reads + 1);
    /* mon and on- remembered as common, though now on few names: the AND of the search's
     * trigrams when all are remembered, the rare ones otherwise; the pages as the LIKE */
    exec_sql(h, "UPDATE experiments SET name = 'renamed ' || id WHERE name LIKE 'common-%'"
                " AND id > 5");
    ck_assert(candidates_of(s, "mon", cand, sizeof(cand)));
    ids_of_like(h, "mon", like, sizeof(like));
    ids_of_sql(h, "SELECT id FROM experiments WHERE lower(name) LIKE '%mon%' ORDER BY id", "", want,
               sizeof(want));
    ck_assert_str_eq(cand, want);
    for (size_t i = 0; i < sizeof(searches) / sizeof(searches[0]); i++) {
        ids_of_like(h, searches[i], like, sizeof(like));
        ids_of_pages(s, searches[i], pages, sizeof(pages));
        ck_assert_msg(!strcmp(pages, like), "q=%s\nlike  %s\npages %s", searches[i], like, pages);
    }
    sqlite3_close(h);
    store_close(s);
    store_test_db_remove(db);
}
END_TEST

/* A search's candidates are kept while no name or tags change: the same search again reads no
 * trigram and gives the same ids (a set, or fewer than EXP_Q_FEW by id), and a name that comes
 * to match (a hand edit) is a candidate and listed at once. */
START_TEST(test_candidate_sets_kept_until_names_change) {
    char db[1024], cand[32768], again[32768], pages[32768];
    Store *s = NULL;
    sqlite3 *h = NULL;
    uint64_t reads, hits;
    s = filled_store(db, sizeof(db), &h);
    ck_assert_int_eq(candidates_of(s, "mon-1", cand, sizeof(cand)), CAND_SET);
    reads = store_exp_q_trigram_reads(s);
    hits = store_idset_kept_hits(s);
    ck_assert_int_eq(candidates_of(s, "mon-1", again, sizeof(again)), CAND_SET);
    ck_assert_str_eq(again, cand);
    ck_assert_uint_eq(store_exp_q_trigram_reads(s), reads);
    ck_assert_uint_eq(store_idset_kept_hits(s), hits + 1);
    ck_assert_int_eq(candidates_of(s, "mon-12", cand, sizeof(cand)), CAND_IDS);
    ck_assert_uint_gt(store_exp_q_trigram_reads(s), reads);
    reads = store_exp_q_trigram_reads(s);
    ck_assert_int_eq(candidates_of(s, "mon-12", again, sizeof(again)), CAND_IDS);
    ck_assert_str_eq(again, cand);
    ck_assert_uint_eq(store_exp_q_trigram_reads(s), reads);
    ck_assert_uint_eq(store_idset_kept_hits(s), hits + 2);
    /* a name that did not hold "n-1" now holds "mon-1" */
    exec_sql(h, "UPDATE experiments SET name = 'Xmon-1' WHERE name = 'common-2000'");
    ck_assert_int_eq(candidates_of(s, "mon-1", cand, sizeof(cand)), CAND_SET);
    ck_assert_msg(strstr(cand, "2001 ") != NULL, "%s", cand);
    ids_of_sorted_pages(s, "mon-1", "return", 0, 0, pages, sizeof(pages));
    ids_of_sorted_pages(s, "mon-1", "return", 0, 1, again, sizeof(again));
    ck_assert_str_eq(pages, again);
    ck_assert_msg(strstr(pages, "2001") != NULL, "%s", pages);
    sqlite3_close(h);
    store_close(s);
    store_test_db_remove(db);
}
END_TEST

/* The page statement of a name search is kept prepared across pages: binding its LIKE pattern
 * does not make SQLite prepare it again (the query planner stability guarantee of every store
 * connection), under a sort (the candidates a set) and under the submitted order (by id). */
START_TEST(test_search_pages_not_prepared_again) {
    static const char *const sorts[] = {"return", "submitted"};
    char db[1024], sql[4096], next[STORE_CURSOR_MAX];
    Store *s = NULL;
    s = filled_store(db, sizeof(db), NULL);
    for (size_t i = 0; i < sizeof(sorts) / sizeof(sorts[0]); i++) {
        StoreExpFilter f = {.q = "mon-1", .sort = sorts[i], .limit = 7};
        sqlite3_stmt *st = NULL;
        Store *r;
        AgBuf page;
        /* the first pages, each bound anew */
        for (int round = 0; round < 4; round++) {
            ck_assert_int_eq(ag_buf_init(&page, 4096, 1 << 20), 0);
            ck_assert_msg(store_exp_list_page_text(s, &f, &page, NULL, NULL, next, sizeof(next),
                                                   err, sizeof(err)) == 0,
                          "%s", err);
            ag_buf_free(&page);
        }
        ck_assert_int_eq(store_exp_list_page_sql(s, &f, sql, sizeof(sql), err, sizeof(err)), 0);
        ck_assert_msg(strstr(sql, "LIKE ?4"), "%s", sql);
        r = store_reader_lock(s);
        ck_assert_int_eq(store_stmt_get(r, sql, &st, err, sizeof(err)), 0);
        ck_assert_int_ge(sqlite3_stmt_status(st, SQLITE_STMTSTATUS_RUN, 0), 4);
        ck_assert_int_eq(sqlite3_stmt_status(st, SQLITE_STMTSTATUS_REPREPARE, 0), 0);
        store_stmt_put(r, st);
        pthread_mutex_unlock(&r->mu);
    }
    store_close(s);
    store_test_db_remove(db);
}
END_TEST

static Suite *store_exp_search_suite(void) {
    Suite *su = suite_create("store_exp_search");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_candidates_hold_every_match);
    tcase_add_test(tc, test_common_trigrams_not_read_again);
    tcase_add_test(tc, test_candidate_sets_kept_until_names_change);
    tcase_add_test(tc, test_search_pages_not_prepared_again);
    suite_add_tcase(su, tc);
    return su;
}

int main(void) {
    SRunner *sr = srunner_create(store_exp_search_suite());
    int failed;
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
