/* Experiments in angorad's store: submission, one experiment's record (the listings are in
 * store_exp_list.c), what the scheduler reads and writes of a run, user requests (cancel, pause,
 * resume), deletion and annotations. */
#include "store_int.h"

#include "ag_error.h"
#include "ag_time.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* binds id to ?1 of a statement selecting that experiment and steps it: 0 with the row ready,
 * AG_ENOTFOUND when there is none, AG_EDB ("what: ...") when the step fails */
static int exp_row_step(Store *s, sqlite3_stmt *st, int64_t id, const char *what, char *err,
                        size_t err_sz) {
    int step;
    sqlite3_bind_int64(st, 1, id);
    step = sqlite3_step(st);
    if (step == SQLITE_ROW) {
        return 0;
    }
    if (step == SQLITE_DONE) {
        return ag_errorf(err, err_sz, AG_ENOTFOUND, "no experiment %lld", (long long)id);
    }
    return store_db_fail(s, err, err_sz, what);
}

int store_exp_insert(Store *s, const StoreExpNew *e, const char *runs_root, int64_t *id, char *err,
                     size_t err_sz) {
    sqlite3_stmt *st = NULL;
    int rc = 0;
    char dir[STORE_PATH_MAX];
    pthread_mutex_lock(&s->mu);
    rc = store_db_begin(s, err, err_sz);
    if (rc) {
        goto out;
    }
    rc = store_db_prepare(
        s,
        "INSERT INTO experiments (name, task, spec, priority, ranks, tags, notes, kind,"
        " parent_id, submitted_at, executor) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
        &st, err, err_sz);
    if (rc) {
        goto end;
    }
    sqlite3_bind_text(st, 1, e->name ? e->name : "", -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, e->task ? e->task : "", -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, e->spec_json ? e->spec_json : "{}", -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 4, e->priority);
    sqlite3_bind_int(st, 5, e->ranks > 0 ? e->ranks : 1);
    sqlite3_bind_text(st, 6, e->tags_json ? e->tags_json : "[]", -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 7, e->notes ? e->notes : "", -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 8, e->kind ? e->kind : "train", -1, SQLITE_STATIC);
    if (e->parent_id > 0) {
        sqlite3_bind_int64(st, 9, e->parent_id);
    } else {
        sqlite3_bind_null(st, 9);
    }
    sqlite3_bind_double(st, 10, ag_time_wall());
    sqlite3_bind_text(st, 11, e->executor ? e->executor : "local", -1, SQLITE_STATIC);
    if (sqlite3_step(st) != SQLITE_DONE) {
        rc = store_db_fail(s, err, err_sz, "insert experiment");
        goto end;
    }
    *id = sqlite3_last_insert_rowid(s->db);
    sqlite3_finalize(st);
    st = NULL;
    if (snprintf(dir, sizeof(dir), "%s/%lld", runs_root, (long long)*id) >= (int)sizeof(dir)) {
        rc = ag_errorf(err, err_sz, AG_ETOOBIG, "run directory path too long");
        goto end;
    }
    rc = store_db_prepare(
        s,
        "UPDATE experiments SET run_dir = ?,"
        " budget_env_steps = json_extract(spec, '$.budget.env_steps') WHERE id = ?",
        &st, err, err_sz);
    if (rc) {
        goto end;
    }
    sqlite3_bind_text(st, 1, dir, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, *id);
    if (sqlite3_step(st) != SQLITE_DONE) {
        rc = store_db_fail(s, err, err_sz, "set run directory");
    }
end:
    sqlite3_finalize(st);
    rc = store_db_end(s, rc, err, err_sz);
out:
    pthread_mutex_unlock(&s->mu);
    return rc;
}

int store_exp_get_json(Store *s, int64_t id, json_t **out, char *err, size_t err_sz) {
    sqlite3_stmt *st = NULL;
    int rc = 0;
    *out = NULL;
    s = store_reader_lock(s);
    rc = store_db_prepare(
        s,
        "SELECT " EXP_COLUMNS ", spec, ingest_offset, " PROGRESS_EXPR
        " AS progress, " LATEST_WALL_EXPR " AS latest_wall_s, "
        "(SELECT count(*) FROM metrics WHERE exp_id = e.id) + (SELECT coalesce(sum(nrows), 0)"
        " FROM metric_chunks WHERE exp_id = e.id) AS metric_rows, "
        "(SELECT max(v) FROM (SELECT max(iteration) AS v FROM metrics WHERE exp_id = e.id UNION"
        " ALL SELECT max(max_iter) FROM metric_chunks WHERE exp_id = e.id)) AS last_iteration "
        "FROM experiments AS e WHERE id = ?",
        &st, err, err_sz);
    if (rc) {
        goto out;
    }
    rc = exp_row_step(s, st, id, "get experiment", err, err_sz);
    if (rc == 0) {
        *out = store_row_to_json(st);
    }
out:
    sqlite3_finalize(st);
    pthread_mutex_unlock(&s->mu);
    return rc;
}

#define RUN_COLUMNS                                                                                \
    "id, state, kind, coalesce(request, ''), priority, ranks, attempts, coalesce(pid, 0),"         \
    " coalesce(pid_start, 0), coalesce(request_at, 0), coalesce(parent_id, 0), ingest_offset,"     \
    " last_seq, coalesce(run_dir, ''), coalesce(phase, ''), executor, coalesce(slurm_job_id, '')," \
    " slurm_restarts"

static void run_from_row(sqlite3_stmt *st, StoreRun *r) {
    memset(r, 0, sizeof(*r));
    r->id = sqlite3_column_int64(st, 0);
    snprintf(r->state, sizeof(r->state), "%s", sqlite3_column_text(st, 1));
    snprintf(r->kind, sizeof(r->kind), "%s", sqlite3_column_text(st, 2));
    snprintf(r->request, sizeof(r->request), "%s", sqlite3_column_text(st, 3));
    r->priority = sqlite3_column_int(st, 4);
    r->ranks = sqlite3_column_int(st, 5);
    r->attempts = sqlite3_column_int(st, 6);
    r->pid = sqlite3_column_int(st, 7);
    r->pid_start = sqlite3_column_int64(st, 8);
    r->request_at = sqlite3_column_double(st, 9);
    r->parent_id = sqlite3_column_int64(st, 10);
    r->ingest_offset = sqlite3_column_int64(st, 11);
    r->last_seq = sqlite3_column_int64(st, 12);
    snprintf(r->run_dir, sizeof(r->run_dir), "%s", sqlite3_column_text(st, 13));
    snprintf(r->phase, sizeof(r->phase), "%s", sqlite3_column_text(st, 14));
    snprintf(r->executor, sizeof(r->executor), "%s", sqlite3_column_text(st, 15));
    snprintf(r->slurm_job, sizeof(r->slurm_job), "%s", sqlite3_column_text(st, 16));
    r->slurm_restarts = sqlite3_column_int(st, 17);
}

int store_run_get(Store *s, int64_t id, StoreRun *out, char *err, size_t err_sz) {
    sqlite3_stmt *st = NULL;
    int rc = 0;
    pthread_mutex_lock(&s->mu);
    rc = store_db_prepare(s, "SELECT " RUN_COLUMNS " FROM experiments WHERE id = ?", &st, err,
                          err_sz);
    if (rc) {
        goto out;
    }
    rc = exp_row_step(s, st, id, "get run", err, err_sz);
    if (rc == 0) {
        run_from_row(st, out);
    }
out:
    sqlite3_finalize(st);
    pthread_mutex_unlock(&s->mu);
    return rc;
}

int store_runs_in_state(Store *s, const char *state, StoreRun *out, int max, int *n, char *err,
                        size_t err_sz) {
    sqlite3_stmt *st = NULL;
    int rc = 0, step, count = 0;
    pthread_mutex_lock(&s->mu);
    rc = store_db_prepare(s,
                          "SELECT " RUN_COLUMNS " FROM experiments WHERE state = ?"
                          " ORDER BY priority DESC, id LIMIT ?",
                          &st, err, err_sz);
    if (rc) {
        goto out;
    }
    sqlite3_bind_text(st, 1, state, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 2, max);
    while ((step = sqlite3_step(st)) == SQLITE_ROW && count < max) {
        run_from_row(st, &out[count++]);
    }
    if (step != SQLITE_ROW && step != SQLITE_DONE) {
        rc = store_db_fail(s, err, err_sz, "list runs");
    }
out:
    sqlite3_finalize(st);
    pthread_mutex_unlock(&s->mu);
    *n = count;
    return rc;
}

int store_run_started(Store *s, int64_t id, int pid, long long pid_start, int attempts, char *err,
                      size_t err_sz) {
    sqlite3_stmt *st = NULL;
    int rc = store_update_prepare(
        s,
        "UPDATE experiments SET state = 'running', pid = ?, pid_start = ?, attempts = ?,"
        " started_at = coalesce(started_at, ?), error = NULL WHERE id = ? AND state = 'queued'",
        &st, err, err_sz);
    if (rc) {
        return rc;
    }
    sqlite3_bind_int(st, 1, pid);
    sqlite3_bind_int64(st, 2, pid_start);
    sqlite3_bind_int(st, 3, attempts);
    sqlite3_bind_double(st, 4, ag_time_wall());
    sqlite3_bind_int64(st, 5, id);
    return store_update_finish(s, st, "mark started (cancelled, paused or deleted meanwhile?)", err,
                               err_sz);
}

int store_run_add_attempt(Store *s, int64_t id, int *attempts, char *err, size_t err_sz) {
    sqlite3_stmt *st = NULL;
    int rc;
    pthread_mutex_lock(&s->mu);
    rc = store_db_prepare(
        s, "UPDATE experiments SET attempts = attempts + 1 WHERE id = ? RETURNING attempts", &st,
        err, err_sz);
    if (rc == 0) {
        sqlite3_bind_int64(st, 1, id);
        if (sqlite3_step(st) == SQLITE_ROW) {
            *attempts = sqlite3_column_int(st, 0);
            /* stepped to its end, the statement commits in sqlite3_step, where SQLite runs the
             * WAL hook that counts the write generations (store_gen.c), not in finalize */
            while (sqlite3_step(st) == SQLITE_ROW) {
            }
        } else {
            rc = ag_errorf(err, err_sz, AG_ENOTFOUND, "no experiment %lld", (long long)id);
        }
    }
    sqlite3_finalize(st);
    pthread_mutex_unlock(&s->mu);
    return rc;
}

static int state_is_terminal(const char *state) {
    return !strcmp(state, "succeeded") || !strcmp(state, "failed") || !strcmp(state, "cancelled");
}

static int state_is_known(const char *state) {
    return state_is_terminal(state) || !strcmp(state, "queued") || !strcmp(state, "running") ||
           !strcmp(state, "paused");
}

int store_run_set_state(Store *s, int64_t id, const char *state, const char *error, char *err,
                        size_t err_sz) {
    sqlite3_stmt *st = NULL;
    int rc;
    if (!state_is_known(state) || !strcmp(state, "running")) {
        return ag_errorf(err, err_sz, AG_EINVAL, "bad target state %s", state);
    }
    rc = store_update_prepare(s,
                              "UPDATE experiments SET state = ?, error = ?, pid = NULL,"
                              " pid_start = NULL, request = NULL, request_at = NULL,"
                              " finished_at = ? WHERE id = ?",
                              &st, err, err_sz);
    if (rc) {
        return rc;
    }
    sqlite3_bind_text(st, 1, state, -1, SQLITE_STATIC);
    if (error) {
        sqlite3_bind_text(st, 2, error, -1, SQLITE_STATIC);
    } else {
        sqlite3_bind_null(st, 2);
    }
    if (state_is_terminal(state)) {
        sqlite3_bind_double(st, 3, ag_time_wall());
    } else {
        sqlite3_bind_null(st, 3);
    }
    sqlite3_bind_int64(st, 4, id);
    return store_update_finish(s, st, "set state", err, err_sz);
}

/* current state of id inside an open transaction */
static int state_locked(Store *s, int64_t id, char *state, size_t state_sz, char *err,
                        size_t err_sz) {
    sqlite3_stmt *st = NULL;
    int rc;
    if (sqlite3_prepare_v2(s->db, "SELECT state FROM experiments WHERE id = ?", -1, &st, NULL) !=
        SQLITE_OK) {
        return store_db_fail(s, err, err_sz, "read state");
    }
    rc = exp_row_step(s, st, id, "read state", err, err_sz);
    if (rc == 0) {
        snprintf(state, state_sz, "%s", sqlite3_column_text(st, 0));
    }
    sqlite3_finalize(st);
    return rc;
}

static int exec_sql_id(Store *s, const char *sql, int64_t id, char *err, size_t err_sz) {
    sqlite3_stmt *st = NULL;
    int rc = 0;
    if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK) {
        return store_db_fail(s, err, err_sz, "update");
    }
    sqlite3_bind_int64(st, 1, id);
    sqlite3_bind_double(st, 2, ag_time_wall());
    if (sqlite3_step(st) != SQLITE_DONE) {
        rc = store_db_fail(s, err, err_sz, "update");
    }
    sqlite3_finalize(st);
    return rc;
}

/* a step on one experiment, given its current state, inside the transaction of exp_with_state */
typedef int (*ExpStateFn)(Store *s, int64_t id, const char *state, void *ctx, char *err,
                          size_t err_sz);

/* runs fn in a write transaction on experiment id, given its state: committed when fn returns
 * 0, else rolled back */
static int exp_with_state(Store *s, int64_t id, ExpStateFn fn, void *ctx, char *err,
                          size_t err_sz) {
    char state[STORE_STATE_MAX] = "";
    int rc;
    pthread_mutex_lock(&s->mu);
    rc = store_db_begin(s, err, err_sz);
    if (rc == 0) {
        rc = state_locked(s, id, state, sizeof(state), err, err_sz);
        if (rc == 0) {
            rc = fn(s, id, state, ctx, err, err_sz);
        }
        rc = store_db_end(s, rc, err, err_sz);
    }
    pthread_mutex_unlock(&s->mu);
    return rc;
}

enum { REQ_CANCEL, REQ_PAUSE, REQ_RESUME };

typedef struct ExpRequest {
    int req;
    char *new_state; /* may be NULL */
} ExpRequest;

static int exp_request_locked(Store *s, int64_t id, const char *state, void *ctx, char *err,
                              size_t err_sz) {
    const ExpRequest *r = ctx;
    const char *sql = NULL, *result = NULL;
    int rc;
    if (r->req == REQ_CANCEL && (!strcmp(state, "queued") || !strcmp(state, "paused"))) {
        sql = "UPDATE experiments SET state = 'cancelled', finished_at = ?2 WHERE id = ?1";
        result = "cancelled";
    } else if (r->req == REQ_CANCEL && !strcmp(state, "running")) {
        sql = "UPDATE experiments SET request = 'cancel', request_at = ?2 WHERE id = ?1";
        result = "running";
    } else if (r->req == REQ_PAUSE && !strcmp(state, "queued")) {
        sql = "UPDATE experiments SET state = 'paused', request_at = ?2 WHERE id = ?1";
        result = "paused";
    } else if (r->req == REQ_PAUSE && !strcmp(state, "running")) {
        sql = "UPDATE experiments SET request = 'pause', request_at = ?2 WHERE id = ?1"
              " AND request IS NULL";
        result = "running";
    } else if (r->req == REQ_RESUME && !strcmp(state, "paused")) {
        sql = "UPDATE experiments SET state = 'queued', request = NULL, request_at = ?2"
              " WHERE id = ?1";
        result = "queued";
    } else {
        static const char *const verbs[] = {"cancel", "pause", "resume"};
        return ag_errorf(err, err_sz, AG_ESTATE, "cannot %s experiment %lld: it is %s",
                         verbs[r->req], (long long)id, state);
    }
    rc = exec_sql_id(s, sql, id, err, err_sz);
    if (rc == 0 && r->new_state) {
        snprintf(r->new_state, STORE_STATE_MAX, "%s", result);
    }
    return rc;
}

static int exp_request(Store *s, int64_t id, int req, char *new_state, char *err, size_t err_sz) {
    ExpRequest r = {req, new_state};
    return exp_with_state(s, id, exp_request_locked, &r, err, err_sz);
}

int store_exp_cancel(Store *s, int64_t id, char *new_state, char *err, size_t err_sz) {
    return exp_request(s, id, REQ_CANCEL, new_state, err, err_sz);
}

int store_exp_pause(Store *s, int64_t id, char *new_state, char *err, size_t err_sz) {
    return exp_request(s, id, REQ_PAUSE, new_state, err, err_sz);
}

int store_exp_resume(Store *s, int64_t id, char *new_state, char *err, size_t err_sz) {
    return exp_request(s, id, REQ_RESUME, new_state, err, err_sz);
}

typedef struct ExpDeleted {
    char *run_dir;
    size_t run_dir_sz;
} ExpDeleted;

static int exp_delete_locked(Store *s, int64_t id, const char *state, void *ctx, char *err,
                             size_t err_sz) {
    const ExpDeleted *d = ctx;
    sqlite3_stmt *st = NULL;
    int rc;
    if (!state_is_terminal(state)) {
        return ag_errorf(err, err_sz, AG_ESTATE,
                         "experiment %lld is %s: only finished ones can be deleted", (long long)id,
                         state);
    }
    if (sqlite3_prepare_v2(s->db, "SELECT coalesce(run_dir, '') FROM experiments WHERE id = ?", -1,
                           &st, NULL) != SQLITE_OK) {
        return store_db_fail(s, err, err_sz, "delete");
    }
    sqlite3_bind_int64(st, 1, id);
    if (sqlite3_step(st) == SQLITE_ROW && d->run_dir_sz) {
        snprintf(d->run_dir, d->run_dir_sz, "%s", sqlite3_column_text(st, 0));
    }
    sqlite3_finalize(st);
    /* evaluations of this run lose their parent link, not their results */
    rc = exec_sql_id(s, "UPDATE experiments SET parent_id = NULL WHERE parent_id = ?1 AND ?2 >= 0",
                     id, err, err_sz);
    if (rc == 0) {
        rc = exec_sql_id(s, "DELETE FROM events WHERE exp_id = ?1 AND ?2 >= 0", id, err, err_sz);
    }
    if (rc == 0) {
        rc = exec_sql_id(s, "DELETE FROM experiments WHERE id = ?1 AND ?2 >= 0", id, err, err_sz);
    }
    return rc;
}

int store_exp_delete(Store *s, int64_t id, char *run_dir, size_t run_dir_sz, char *err,
                     size_t err_sz) {
    ExpDeleted d = {run_dir, run_dir_sz};
    if (run_dir_sz) {
        run_dir[0] = '\0';
    }
    return exp_with_state(s, id, exp_delete_locked, &d, err, err_sz);
}

int store_exp_annotate(Store *s, int64_t id, const char *tags_json, const char *notes, char *err,
                       size_t err_sz) {
    sqlite3_stmt *st = NULL;
    int rc = store_update_prepare(s,
                                  "UPDATE experiments SET tags = coalesce(?, tags),"
                                  " notes = coalesce(?, notes) WHERE id = ?",
                                  &st, err, err_sz);
    if (rc) {
        return rc;
    }
    if (tags_json) {
        sqlite3_bind_text(st, 1, tags_json, -1, SQLITE_STATIC);
    }
    if (notes) {
        sqlite3_bind_text(st, 2, notes, -1, SQLITE_STATIC);
    }
    sqlite3_bind_int64(st, 3, id);
    return store_update_finish(s, st, "annotate", err, err_sz);
}

int store_exp_counts(Store *s, json_t **out, char *err, size_t err_sz) {
    static const char *const states[] = {"queued",    "running", "paused",
                                         "succeeded", "failed",  "cancelled"};
    sqlite3_stmt *st = NULL;
    json_t *o = json_object();
    int rc = 0;
    *out = NULL;
    for (size_t i = 0; i < sizeof(states) / sizeof(states[0]); i++) {
        json_object_set_new(o, states[i], json_integer(0));
    }
    s = store_reader_lock(s);
    rc = store_db_prepare(s, "SELECT state, count(*) FROM experiments GROUP BY state", &st, err,
                          err_sz);
    if (rc == 0) {
        while (sqlite3_step(st) == SQLITE_ROW) {
            json_object_set_new(o, (const char *)sqlite3_column_text(st, 0),
                                json_integer(sqlite3_column_int64(st, 1)));
        }
    }
    return store_reader_done(s, st, rc, o, out);
}
