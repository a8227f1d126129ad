/* Sets of experiment ids that a page's statement tests index entries against in C: the SQL
 * function ag_in_ids(set, id), with the set bound as a pointer (sqlite3_bind_pointer). Read along
 * an order's index, a test of the entry's id alone needs no row (SQLite defers the row's seek
 * until a column outside the index is needed), so a filter held as such a set costs a binary
 * search per entry instead of a row or a lookup in another table: on 10^4 experiments, a page of
 * 100 testing the entry's id alone read its 1,010 entries in 0.13 ms, one of a tag on 10 % of them
 * 0.46-0.57 ms as an IN list or EXISTS (docs/benchmarks/scale.md). */
#include "store_int.h"

#include "ag_error.h"

#include <stdlib.h>
#include <string.h>

/* ag_in_ids(set, id): 1 when id is in the bound set, 0 when not; an error without a set */
static void in_ids(sqlite3_context *ctx, int argc, sqlite3_value **argv) {
    const StoreIdSet *set = sqlite3_value_pointer(argv[0], STORE_IDSET_TYPE);
    int64_t id;
    size_t lo = 0, hi;
    (void)argc;
    if (!set) {
        sqlite3_result_error(ctx, "ag_in_ids needs a bound id set", -1);
        return;
    }
    id = sqlite3_value_int64(argv[1]);
    if (set->bits) {
        uint64_t at = (uint64_t)id - (uint64_t)set->bits_lo;
        sqlite3_result_int(ctx, id >= set->bits_lo && at / 64 < set->bits_words &&
                                    ((set->bits[at / 64] >> (at % 64)) & 1));
        return;
    }
    hi = set->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (set->ids[mid] < id) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    sqlite3_result_int(ctx, lo < set->n && set->ids[lo] == id);
}

int store_idset_register(sqlite3 *db) {
    return sqlite3_create_function(db, "ag_in_ids", 2, SQLITE_UTF8 | SQLITE_INNOCUOUS, NULL, in_ids,
                                   NULL, NULL);
}

int store_idset_read(Store *r, const char *sql, const char *text, size_t max, StoreIdSet *set,
                     char *err, size_t err_sz) {
    sqlite3_stmt *st = NULL;
    int rc = store_stmt_get(r, sql, &st, err, err_sz), step = SQLITE_DONE;
    set->n = 0;
    free(set->bits);
    set->bits = NULL;
    if (rc) {
        return rc;
    }
    sqlite3_bind_text(st, 1, text, -1, SQLITE_STATIC);
    while (set->n < max && (step = sqlite3_step(st)) == SQLITE_ROW) {
        int64_t id = sqlite3_column_int64(st, 0);
        if (set->n == set->cap) {
            size_t cap = set->cap ? 2 * set->cap : 256;
            int64_t *ids = realloc(set->ids, cap * sizeof(*ids));
            if (!ids) {
                rc = ag_errorf(err, err_sz, AG_ENOMEM, "out of memory");
                break;
            }
            set->ids = ids;
            set->cap = cap;
        }
        if (set->n > 0 && id <= set->ids[set->n - 1]) {
            rc = ag_errorf(err, err_sz, AG_EINVAL, "an id set must be read in ascending order");
            break;
        }
        set->ids[set->n++] = id;
    }
    if (rc == 0 && set->n < max && step != SQLITE_DONE) {
        rc = store_db_fail(r, err, err_sz, "read an id set");
    }
    store_stmt_put(r, st);
    return rc;
}

void store_idset_free(StoreIdSet *set) {
    free(set->ids);
    free(set->bits);
    set->ids = NULL;
    set->bits = NULL;
    set->n = set->cap = set->bits_words = 0;
}

void store_idset_map(StoreIdSet *set) {
    uint64_t span;
    free(set->bits);
    set->bits = NULL;
    set->bits_words = 0;
    if (set->n == 0) {
        return;
    }
    span = (uint64_t)set->ids[set->n - 1] - (uint64_t)set->ids[0];
    if (span / 64 + 1 > set->n) {
        return;
    }
    set->bits = calloc(span / 64 + 1, sizeof(*set->bits));
    if (!set->bits) {
        return;
    }
    set->bits_lo = set->ids[0];
    set->bits_words = span / 64 + 1;
    for (size_t i = 0; i < set->n; i++) {
        uint64_t at = (uint64_t)set->ids[i] - (uint64_t)set->bits_lo;
        set->bits[at / 64] |= (uint64_t)1 << (at % 64);
    }
}

/* ---- sets kept between pages ----
 * A page under a sort reads its tag's ids or its search's candidates before its order's index,
 * the same ids for every page while no name or tags change. A connection keeps the last
 * STORE_IDSETS_KEPT sets with the list filter version (migration 019) read before them, and
 * gives one back only while the version is the same. Read before the set, the version can only
 * be older than what the set holds, never newer: a write between the two reads makes the set
 * read again at the next page, as the version has moved by then. */

#define FILTER_VERSION_SQL "SELECT version FROM list_filter_version WHERE one = 1"

int store_filter_version(Store *r, int64_t *version, char *err, size_t err_sz) {
    sqlite3_stmt *st = NULL;
    int rc, step;
    *version = -1;
    rc = store_stmt_get(r, FILTER_VERSION_SQL, &st, err, err_sz);
    if (rc) {
        /* a database before migration 019 (only tests list from one) keeps nothing */
        return strstr(sqlite3_errmsg(r->db), "no such table") ? 0 : rc;
    }
    step = sqlite3_step(st);
    if (step == SQLITE_ROW) {
        *version = sqlite3_column_int64(st, 0);
    } else if (step != SQLITE_DONE) {
        rc = store_db_fail(r, err, err_sz, "read the list filter version");
    }
    store_stmt_put(r, st);
    return rc;
}

static int kept_is(const StoreIdSetKept *k, char kind, const char *text) {
    return k->key && k->key[0] == kind && strcmp(k->key + 1, text) == 0;
}

static int idset_copy(StoreIdSet *dst, const StoreIdSet *src) {
    free(dst->bits);
    dst->bits = NULL;
    dst->bits_words = 0;
    if (dst->cap < src->n) {
        int64_t *ids = realloc(dst->ids, (src->n ? src->n : 1) * sizeof(*ids));
        if (!ids) {
            return AG_ENOMEM;
        }
        dst->ids = ids;
        dst->cap = src->n;
    }
    if (src->n) {
        memcpy(dst->ids, src->ids, src->n * sizeof(*src->ids));
    }
    dst->n = src->n;
    return 0;
}

int store_idset_kept_get(Store *r, char kind, const char *text, int64_t version, StoreIdSet *set,
                         int *hit, char *err, size_t err_sz) {
    *hit = 0;
    if (version < 0) {
        return 0;
    }
    for (int i = 0; i < STORE_IDSETS_KEPT; i++) {
        StoreIdSetKept *k = &r->idsets_kept[i];
        if (kept_is(k, kind, text) && k->version == version) {
            if (idset_copy(set, &k->set) != 0) {
                return ag_errorf(err, err_sz, AG_ENOMEM, "out of memory");
            }
            k->used = ++r->idsets_tick;
            r->idsets_hits++;
            *hit = 1;
            return 0;
        }
    }
    return 0;
}

void store_idset_keep(Store *r, char kind, const char *text, int64_t version,
                      const StoreIdSet *set) {
    StoreIdSetKept *slot = &r->idsets_kept[0];
    size_t len = strlen(text);
    char *key;
    if (version < 0) {
        return;
    }
    for (int i = 0; i < STORE_IDSETS_KEPT; i++) {
        StoreIdSetKept *k = &r->idsets_kept[i];
        if (kept_is(k, kind, text)) {
            slot = k; /* an older version of the same filter */
            break;
        }
        if (k->used < slot->used) {
            slot = k; /* empty slots have used 0 */
        }
    }
    if (!kept_is(slot, kind, text)) {
        key = malloc(len + 2);
        if (!key) {
            return;
        }
        key[0] = kind;
        memcpy(key + 1, text, len + 1);
        free(slot->key);
        slot->key = key;
    }
    if (idset_copy(&slot->set, set) != 0) {
        free(slot->key);
        slot->key = NULL;
        slot->used = 0;
        return;
    }
    slot->version = version;
    slot->used = ++r->idsets_tick;
}

void store_idsets_kept_free(Store *r) {
    for (int i = 0; i < STORE_IDSETS_KEPT; i++) {
        free(r->idsets_kept[i].key);
        store_idset_free(&r->idsets_kept[i].set);
        r->idsets_kept[i].key = NULL;
    }
}

uint64_t store_idset_kept_hits(Store *s) {
    uint64_t n;
    pthread_mutex_lock(&s->mu);
    n = s->idsets_hits;
    pthread_mutex_unlock(&s->mu);
    for (int i = 0; i < s->nreaders; i++) {
        n += store_idset_kept_hits(s->readers[i]);
    }
    return n;
}
