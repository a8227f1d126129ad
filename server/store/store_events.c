/* The event journal in angorad's store: what happened to an experiment (or to the daemon
 * itself), newest last. */
#include "store_int.h"

#include "ag_error.h"
#include "ag_log.h"
#include "ag_time.h"

int store_event_prepare(Store *s, int64_t exp_id, const char *kind, const char *detail,
                        sqlite3_stmt **st) {
    int rc = store_db_prepare(s, "INSERT INTO events (exp_id, at, kind, detail) VALUES (?,?,?,?)",
                              st, NULL, 0);
    if (rc) {
        return rc;
    }
    if (exp_id > 0) {
        sqlite3_bind_int64(*st, 1, exp_id);
    }
    sqlite3_bind_double(*st, 2, ag_time_wall());
    sqlite3_bind_text(*st, 3, kind, -1, SQLITE_STATIC);
    sqlite3_bind_text(*st, 4, detail ? detail : "", -1, SQLITE_STATIC);
    return 0;
}

int store_event_add(Store *s, int64_t exp_id, const char *kind, const char *detail) {
    sqlite3_stmt *st = NULL;
    int rc;
    pthread_mutex_lock(&s->mu);
    rc = store_event_prepare(s, exp_id, kind, detail, &st);
    if (rc == 0 && sqlite3_step(st) != SQLITE_DONE) {
        ag_log_warn("store: cannot journal event %s: %s", kind, sqlite3_errmsg(s->db));
        rc = AG_EDB;
    }
    sqlite3_finalize(st);
    pthread_mutex_unlock(&s->mu);
    return rc;
}

int store_event_list(Store *s, int64_t exp_id, int limit, json_t **out, char *err, size_t err_sz) {
    sqlite3_stmt *st = NULL;
    json_t *arr = json_array();
    int rc;
    *out = NULL;
    s = store_reader_lock(s);
    rc = store_db_prepare(s,
                          "SELECT * FROM (SELECT id, exp_id, at, kind, detail FROM events WHERE"
                          " exp_id IS ? ORDER BY id DESC LIMIT ?) ORDER BY id",
                          &st, err, err_sz);
    if (rc == 0) {
        if (exp_id > 0) {
            sqlite3_bind_int64(st, 1, exp_id);
        }
        sqlite3_bind_int(st, 2, limit > 0 ? limit : 100);
        store_rows_append_json(st, arr);
    }
    return store_reader_done(s, st, rc, arr, out);
}

int store_event_last_at(Store *s, int64_t exp_id, const char *kind, double *at, char *err,
                        size_t err_sz) {
    sqlite3_stmt *st = NULL;
    int rc;
    *at = 0.0;
    s = store_reader_lock(s);
    rc = store_db_prepare(s,
                          "SELECT at FROM events WHERE exp_id = ? AND kind = ? ORDER BY id DESC"
                          " LIMIT 1",
                          &st, err, err_sz);
    if (rc == 0) {
        sqlite3_bind_int64(st, 1, exp_id);
        sqlite3_bind_text(st, 2, kind, -1, SQLITE_STATIC);
        switch (sqlite3_step(st)) {
        case SQLITE_ROW:
            *at = sqlite3_column_double(st, 0);
            break;
        case SQLITE_DONE:
            rc = ag_errorf(err, err_sz, AG_ENOTFOUND, "experiment %lld has no %s event",
                           (long long)exp_id, kind);
            break;
        default:
            rc = store_db_fail(s, err, err_sz, "read events");
        }
    }
    sqlite3_finalize(st);
    pthread_mutex_unlock(&s->mu);
    return rc;
}
