/* Runs on Slurm in angorad's store: the job an attempt was submitted as, and what Slurm last
 * reported of it (state, pending reason, nodes, restarts), so that a restarted daemon re-adopts
 * the job by its id and users see where their run is. */
#include "store_int.h"

#include "ag_time.h"

int store_run_submitted(Store *s, int64_t id, const char *job_id, int attempts, char *err,
                        size_t err_sz) {
    sqlite3_stmt *st = NULL;
    int rc = store_update_prepare(
        s,
        "UPDATE experiments SET state = 'running', slurm_job_id = ?,"
        " slurm_state = 'PENDING', slurm_reason = NULL, slurm_nodes = NULL, slurm_restarts = 0,"
        " pid = NULL, pid_start = NULL, attempts = ?, started_at = coalesce(started_at, ?),"
        " error = NULL WHERE id = ? AND state = 'queued'",
        &st, err, err_sz);
    if (rc) {
        return rc;
    }
    sqlite3_bind_text(st, 1, job_id, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 2, attempts);
    sqlite3_bind_double(st, 3, ag_time_wall());
    sqlite3_bind_int64(st, 4, id);
    return store_update_finish(s, st, "mark submitted", err, err_sz);
}

static void bind_text_or_null(sqlite3_stmt *st, int i, const char *v) {
    if (v && *v) {
        sqlite3_bind_text(st, i, v, -1, SQLITE_STATIC);
    } else {
        sqlite3_bind_null(st, i);
    }
}

int store_run_slurm_seen(Store *s, int64_t id, const char *state, const char *reason,
                         const char *nodes, int restarts, char *err, size_t err_sz) {
    sqlite3_stmt *st = NULL;
    int rc = store_update_prepare(s,
                                  "UPDATE experiments SET slurm_state = ?, slurm_reason = ?,"
                                  " slurm_nodes = coalesce(?, slurm_nodes), slurm_restarts = ?"
                                  " WHERE id = ?",
                                  &st, err, err_sz);
    if (rc) {
        return rc;
    }
    bind_text_or_null(st, 1, state);
    bind_text_or_null(st, 2, reason);
    bind_text_or_null(st, 3, nodes);
    sqlite3_bind_int(st, 4, restarts);
    sqlite3_bind_int64(st, 5, id);
    return store_update_finish(s, st, "record Slurm state", err, err_sz);
}
