/* The jobs of a run in angorad's store: evaluations and analyses are experiments of their own
 * kind with the run as their parent. Here: the step a running analysis job is in, and a run's
 * jobs of one kind with their specs. */
#include "store_int.h"

#include "ag_error.h"

int store_run_phase(Store *s, int64_t id, const char *phase, int pid, long long pid_start,
                    char *err, size_t err_sz) {
    sqlite3_stmt *st = NULL;
    int rc = store_update_prepare(s,
                                  "UPDATE experiments SET phase = ?, pid = ?, pid_start = ?"
                                  " WHERE id = ? AND state = 'running'",
                                  &st, err, err_sz);
    if (rc) {
        return rc;
    }
    sqlite3_bind_text(st, 1, phase, -1, SQLITE_STATIC);
    if (pid > 0) {
        sqlite3_bind_int(st, 2, pid);
        sqlite3_bind_int64(st, 3, pid_start);
    }
    sqlite3_bind_int64(st, 4, id);
    return store_update_finish(s, st, "set phase", err, err_sz);
}

int store_jobs_json(Store *s, int64_t parent_id, const char *kind, int limit, json_t **out,
                    char *err, size_t err_sz) {
    sqlite3_stmt *st = NULL;
    json_t *arr = json_array();
    int rc;
    *out = NULL;
    if (!arr) {
        return ag_errorf(err, err_sz, AG_ENOMEM, "out of memory");
    }
    s = store_reader_lock(s);
    rc = store_db_prepare(s,
                          "SELECT id, name, kind, state, phase, spec, attempts, error,"
                          " submitted_at, started_at, finished_at FROM experiments"
                          " WHERE parent_id = ?1 AND (?2 IS NULL OR kind = ?2)"
                          " ORDER BY id DESC LIMIT ?3",
                          &st, err, err_sz);
    if (rc == 0) {
        sqlite3_bind_int64(st, 1, parent_id);
        if (kind) {
            sqlite3_bind_text(st, 2, kind, -1, SQLITE_STATIC);
        }
        sqlite3_bind_int(st, 3, limit > 0 && limit <= 1000 ? limit : 1000);
        store_rows_append_json(st, arr);
    }
    return store_reader_done(s, st, rc, arr, out);
}
