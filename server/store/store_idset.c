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
    set->ids = NULL;
    set->n = set->cap = 0;
}
