/* API tokens in angorad's store: only their hashes are kept, with a scope (read or full), a
 * name and their creation and revocation times. */
#include "store_int.h"

#include "ag_error.h"
#include "ag_time.h"

#include <stdio.h>
#include <string.h>

int store_token_add(Store *s, const char *hash_hex, const char *scope, const char *name,
                    int64_t *id, char *err, size_t err_sz) {
    sqlite3_stmt *st = NULL;
    int rc;
    if (strcmp(scope, "read") != 0 && strcmp(scope, "full") != 0) {
        return ag_errorf(err, err_sz, AG_EINVAL, "scope must be read or full");
    }
    pthread_mutex_lock(&s->mu);
    rc = store_db_prepare(s, "INSERT INTO tokens (hash, scope, name, created_at) VALUES (?,?,?,?)",
                          &st, err, err_sz);
    if (rc == 0) {
        sqlite3_bind_text(st, 1, hash_hex, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, scope, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 3, name ? name : "", -1, SQLITE_STATIC);
        sqlite3_bind_double(st, 4, ag_time_wall());
        if (sqlite3_step(st) != SQLITE_DONE) {
            rc = store_db_fail(s, err, err_sz, "add token");
        } else if (id) {
            *id = sqlite3_last_insert_rowid(s->db);
        }
    }
    sqlite3_finalize(st);
    pthread_mutex_unlock(&s->mu);
    return rc;
}

int store_token_lookup(Store *s, const char *hash_hex, char *scope, size_t scope_sz, char *err,
                       size_t err_sz) {
    sqlite3_stmt *st = NULL;
    int rc, step;
    s = store_reader_lock(s);
    /* kept prepared: every request asks it (parsing it was 4.5 % of an uncached series' CPU) */
    rc = store_stmt_get(s, "SELECT scope FROM tokens WHERE hash = ? AND revoked_at IS NULL", &st,
                        err, err_sz);
    if (rc == 0) {
        sqlite3_bind_text(st, 1, hash_hex, -1, SQLITE_STATIC);
        step = sqlite3_step(st);
        if (step == SQLITE_ROW) {
            snprintf(scope, scope_sz, "%s", sqlite3_column_text(st, 0));
        } else if (step == SQLITE_DONE) {
            rc = ag_errorf(err, err_sz, AG_ENOTFOUND, "unknown or revoked token");
        } else {
            rc = store_db_fail(s, err, err_sz, "look up token");
        }
        store_stmt_put(s, st);
    }
    pthread_mutex_unlock(&s->mu);
    return rc;
}

int store_token_revoke(Store *s, int64_t id, char *err, size_t err_sz) {
    sqlite3_stmt *st = NULL;
    int rc = store_update_prepare(
        s, "UPDATE tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL", &st, err,
        err_sz);
    if (rc) {
        return rc;
    }
    sqlite3_bind_double(st, 1, ag_time_wall());
    sqlite3_bind_int64(st, 2, id);
    rc = store_update_finish(s, st, "revoke token", err, err_sz);
    if (rc == AG_ENOTFOUND) {
        ag_errorf(err, err_sz, rc, "no live token %lld", (long long)id);
    }
    return rc;
}

int store_token_list(Store *s, json_t **out, char *err, size_t err_sz) {
    sqlite3_stmt *st = NULL;
    json_t *arr = json_array();
    int rc;
    *out = NULL;
    s = store_reader_lock(s);
    rc = store_db_prepare(s,
                          "SELECT id, name, scope, created_at, revoked_at FROM tokens ORDER BY id",
                          &st, err, err_sz);
    if (rc == 0) {
        store_rows_append_json(st, arr);
    }
    return store_reader_done(s, st, rc, arr, out);
}
