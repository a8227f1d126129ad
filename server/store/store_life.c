/* The lives of angorad in its store (migration 013): each start begins one, the running daemon
 * marks it alive every few seconds, and a clean shutdown marks it stopped as its last write. The
 * next start reads how the previous life ended before it begins its own, so the scheduler can
 * tell runs stopped together with the daemon from runs that died on their own. */
#include "store_int.h"

#include "ag_error.h"

#include <string.h>

static int life_read_newest_locked(Store *s, StoreLife *life, char *err, size_t err_sz) {
    sqlite3_stmt *st = NULL;
    int rc = store_db_prepare(s,
                              "SELECT id, pid, started_at, alive_at, stopped_at FROM daemon_lives"
                              " ORDER BY id DESC LIMIT 1",
                              &st, err, err_sz);
    memset(life, 0, sizeof(*life));
    if (rc) {
        return rc;
    }
    switch (sqlite3_step(st)) {
    case SQLITE_ROW:
        life->known = 1;
        life->id = sqlite3_column_int64(st, 0);
        life->pid = sqlite3_column_int(st, 1);
        life->started_at = sqlite3_column_double(st, 2);
        life->alive_at = sqlite3_column_double(st, 3);
        life->stopped = sqlite3_column_type(st, 4) != SQLITE_NULL;
        life->stopped_at = life->stopped ? sqlite3_column_double(st, 4) : 0.0;
        break;
    case SQLITE_DONE:
        break;
    default:
        rc = store_db_fail(s, err, err_sz, "read the previous life");
    }
    sqlite3_finalize(st);
    return rc;
}

static int life_insert_locked(Store *s, int pid, double now, int64_t *id, char *err,
                              size_t err_sz) {
    sqlite3_stmt *st = NULL;
    int rc = store_db_prepare(
        s, "INSERT INTO daemon_lives (pid, started_at, alive_at) VALUES (?,?,?)", &st, err, err_sz);
    if (rc) {
        return rc;
    }
    sqlite3_bind_int(st, 1, pid);
    sqlite3_bind_double(st, 2, now);
    sqlite3_bind_double(st, 3, now);
    if (sqlite3_step(st) != SQLITE_DONE) {
        rc = store_db_fail(s, err, err_sz, "record this life");
    } else {
        *id = sqlite3_last_insert_rowid(s->db);
    }
    sqlite3_finalize(st);
    return rc;
}

static int life_forget_old_locked(Store *s, int64_t newest, char *err, size_t err_sz) {
    sqlite3_stmt *st = NULL;
    int rc = store_db_prepare(s, "DELETE FROM daemon_lives WHERE id <= ?", &st, err, err_sz);
    if (rc) {
        return rc;
    }
    sqlite3_bind_int64(st, 1, newest - STORE_LIVES_KEPT);
    if (sqlite3_step(st) != SQLITE_DONE) {
        rc = store_db_fail(s, err, err_sz, "forget old lives");
    }
    sqlite3_finalize(st);
    return rc;
}

int store_life_begin(Store *s, int pid, double now, StoreLife *previous, int64_t *id, char *err,
                     size_t err_sz) {
    int rc;
    *id = 0;
    pthread_mutex_lock(&s->mu);
    rc = store_db_begin(s, err, err_sz);
    if (rc == 0) {
        rc = life_read_newest_locked(s, previous, err, err_sz);
        if (rc == 0) {
            rc = life_insert_locked(s, pid, now, id, err, err_sz);
        }
        if (rc == 0) {
            rc = life_forget_old_locked(s, *id, err, err_sz);
        }
        rc = store_db_end(s, rc, err, err_sz);
    }
    pthread_mutex_unlock(&s->mu);
    if (rc) {
        *id = 0;
    }
    return rc;
}

/* one column of life id set to now */
static int life_mark(Store *s, const char *sql, int unseen, int64_t id, double now, char *err,
                     size_t err_sz) {
    sqlite3_stmt *st = NULL;
    int rc;
    pthread_mutex_lock(&s->mu);
    rc = store_db_prepare(s, sql, &st, err, err_sz);
    if (rc == 0) {
        sqlite3_bind_double(st, 1, now);
        sqlite3_bind_int64(st, 2, id);
        if (unseen) {
            store_gen_mark_unseen(s);
        }
        int stepped = sqlite3_step(st);
        /* a mark that did not commit must not pass to the next write */
        s->gen_unseen = 0;
        if (stepped != SQLITE_DONE) {
            rc = store_db_fail(s, err, err_sz, "mark this life");
        } else if (sqlite3_changes(s->db) == 0) {
            rc = ag_errorf(err, err_sz, AG_ENOTFOUND, "no life %lld of angorad recorded",
                           (long long)id);
        }
    }
    sqlite3_finalize(st);
    pthread_mutex_unlock(&s->mu);
    return rc;
}

int store_life_alive(Store *s, int64_t id, double now, char *err, size_t err_sz) {
    return life_mark(s, "UPDATE daemon_lives SET alive_at = ? WHERE id = ?", 1, id, now, err,
                     err_sz);
}

int store_life_stopped(Store *s, int64_t id, double now, char *err, size_t err_sz) {
    return life_mark(s,
                     "UPDATE daemon_lives SET alive_at = max(alive_at, ?1), stopped_at = ?1"
                     " WHERE id = ?2",
                     0, id, now, err, err_sz);
}
