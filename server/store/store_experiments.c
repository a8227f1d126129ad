/* Experiments in angorad's store: submission, the sorted and paged listings with their cursors,
 * what the scheduler reads and writes of a run, user requests (cancel, pause, resume), deletion
 * and annotations. */
#include "store_int.h"

#include "ag_error.h"
#include "ag_time.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EXP_COLUMNS                                                                                \
    "id, name, task, kind, parent_id, state, priority, ranks, attempts, submitted_at, "            \
    "started_at, finished_at, error, run_dir, pid, tags, notes, last_seq, request, "               \
    "budget_env_steps, latest_iteration, latest_env_steps, latest_return, latest_task_metric, "    \
    "latest_task_key, phase, executor, slurm_job_id, slurm_state, slurm_reason, slurm_nodes"

#define PROGRESS_EXPR                                                                              \
    "(CASE WHEN budget_env_steps > 0 THEN CAST(latest_env_steps AS REAL) / budget_env_steps END)"
/* the trainer's wall time at its latest metric row (it goes on across resumes): with
 * latest_env_steps it gives the run's steps/s (one lookup in the (exp_id, seq) key) */
#define LATEST_WALL_EXPR                                                                           \
    "(SELECT wall_s FROM metrics WHERE exp_id = e.id ORDER BY seq DESC LIMIT 1)"

/* latest_wall_s of each experiment of a page, looked up once the page is chosen: in the
 * listing's own SELECT, SQLite would compute it for every row it sorts, not only the page's */
static int page_wall_add(Store *s, json_t *page, char *err, size_t err_sz) {
    sqlite3_stmt *st = NULL;
    size_t i;
    json_t *o;
    int rc = store_db_prepare(
        s, "SELECT wall_s FROM metrics WHERE exp_id = ?1 ORDER BY seq DESC LIMIT 1", &st, err,
        err_sz);
    if (rc) {
        return rc;
    }
    json_array_foreach(page, i, o) {
        sqlite3_reset(st);
        sqlite3_bind_int64(st, 1, json_integer_value(json_object_get(o, "id")));
        json_object_set_new(o, "latest_wall_s",
                            sqlite3_step(st) == SQLITE_ROW ? store_column_to_json(st, 0)
                                                           : json_null());
    }
    sqlite3_finalize(st);
    return 0;
}

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

/* a sort key: its SQL expression, how a cursor value binds, its default direction, and whether
 * it can be NULL (never started, no metrics yet) */
typedef struct ExpSort {
    const char *name;
    const char *expr;
    int kind; /* 0 integer (id), 1 text, 2 integer, 3 real */
    int ascending;
    int nullable;
} ExpSort;

static const ExpSort exp_sorts[] = {
    {"submitted", "id", 0, 0, 0},
    {"name", "(name COLLATE NOCASE)", 1, 1, 0},
    {"task", "task", 1, 1, 0},
    {"state", "state", 1, 1, 0},
    {"priority", "priority", 2, 0, 0},
    {"started", "started_at", 3, 0, 1},
    {"finished", "finished_at", 3, 0, 1},
    {"return", "latest_return", 3, 0, 1},
    {"progress", PROGRESS_EXPR, 3, 0, 1},
};

/* What a page is ordered by: the key itself, or for a nullable one the key with NULL as the
 * value that sorts last in the page's direction, so that empty values come last either way and
 * the order is one index (migration 008 makes these expressions) read forwards or backwards:
 * no sort of the whole table per page, and the keyset condition is a range of that index. */
#define EXP_NULL_LAST_DESC "-1e308"
#define EXP_NULL_LAST_ASC  "1e308"

static void exp_sort_order_expr(const ExpSort *k, int asc, char *out, size_t out_sz) {
    if (k->nullable) {
        snprintf(out, out_sz, "coalesce(%s, %s)", k->expr,
                 asc ? EXP_NULL_LAST_ASC : EXP_NULL_LAST_DESC);
    } else {
        snprintf(out, out_sz, "%s", k->expr);
    }
}

static const ExpSort *exp_sort_find(const char *name) {
    for (size_t i = 0; i < sizeof(exp_sorts) / sizeof(exp_sorts[0]); i++) {
        if (!strcmp(exp_sorts[i].name, name ? name : "submitted")) {
            return &exp_sorts[i];
        }
    }
    return NULL;
}

int store_exp_sort_known(const char *sort) {
    return sort && exp_sort_find(sort) != NULL;
}

int store_exp_sort_ascending(const char *sort) {
    const ExpSort *k = exp_sort_find(sort);
    return k ? k->ascending : 0;
}

/* A cursor of a sorted listing is the hex text of [sort, order, value, id] of the last row
 * shown: opaque to clients, checked against the sort it is used with. */
static int cursor_encode(const ExpSort *k, int asc, sqlite3_stmt *st, int vcol, int64_t id,
                         char *out, size_t out_sz) {
    json_t *v, *doc;
    char *text;
    size_t len, i;
    static const char hex[] = "0123456789abcdef";
    v = store_column_to_json(st, vcol);
    doc =
        json_pack("[s,s,o,I]", k->name, asc ? "asc" : "desc", v ? v : json_null(), (json_int_t)id);
    text = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
    json_decref(doc);
    if (!text) {
        return AG_ENOMEM;
    }
    len = strlen(text);
    if (2 * len + 1 > out_sz) {
        free(text);
        return AG_ETOOBIG;
    }
    for (i = 0; i < len; i++) {
        out[2 * i] = hex[(unsigned char)text[i] >> 4];
        out[2 * i + 1] = hex[(unsigned char)text[i] & 15];
    }
    out[2 * len] = '\0';
    free(text);
    return 0;
}

static int hex_digit(char c) {
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    return -1;
}

/* the [sort, order, value, id] of a cursor as a new array; NULL when it is not one of ours */
static json_t *cursor_decode(const char *c, const ExpSort *k, int asc) {
    size_t len = strlen(c), i;
    char buf[STORE_CURSOR_MAX / 2 + 1];
    json_t *doc, *v;
    if (len == 0 || len % 2 || len > STORE_CURSOR_MAX) {
        return NULL;
    }
    for (i = 0; i < len / 2; i++) {
        int hi = hex_digit(c[2 * i]), lo = hex_digit(c[2 * i + 1]);
        if (hi < 0 || lo < 0) {
            return NULL;
        }
        buf[i] = (char)(hi << 4 | lo);
    }
    doc = json_loadb(buf, len / 2, 0, NULL);
    if (!json_is_array(doc) || json_array_size(doc) != 4 ||
        !json_is_string(json_array_get(doc, 0)) ||
        strcmp(json_string_value(json_array_get(doc, 0)), k->name) ||
        !json_is_string(json_array_get(doc, 1)) ||
        strcmp(json_string_value(json_array_get(doc, 1)), asc ? "asc" : "desc") ||
        !json_is_integer(json_array_get(doc, 3)) ||
        json_integer_value(json_array_get(doc, 3)) < 1) {
        goto bad;
    }
    v = json_array_get(doc, 2);
    if (json_is_null(v) || (k->kind == 1 && json_is_string(v)) ||
        (k->kind == 2 && json_is_integer(v)) || (k->kind == 3 && json_is_number(v))) {
        return doc;
    }
bad:
    json_decref(doc);
    return NULL;
}

/* a decimal id cursor ("submitted" order), or -1 */
static int64_t cursor_id(const char *c) {
    char *end;
    long long x;
    if (!c || !*c || *c < '0' || *c > '9') {
        return -1;
    }
    x = strtoll(c, &end, 10);
    return *end || x < 0 ? -1 : (int64_t)x;
}

int store_exp_list_page(Store *s, const StoreExpFilter *f, json_t **out, char *next, size_t next_sz,
                        char *err, size_t err_sz) {
    sqlite3_stmt *st = NULL;
    int rc = 0, step, count = 0, vcol = 0;
    int limit = f->limit > 0 && f->limit <= 1000 ? f->limit : 100;
    const ExpSort *k = exp_sort_find(f->sort);
    int asc = f->ascending != 0, has_after = 0, after_null = 0;
    int64_t after_id = 0;
    json_t *arr = NULL, *cur = NULL;
    char sql[2048], where[768], ord[192];
    int n;
    const char *cmp = asc ? ">" : "<", *dir = asc ? "ASC" : "DESC";
    *out = NULL;
    if (next_sz) {
        next[0] = '\0';
    }
    if (!k) {
        return ag_errorf(err, err_sz, AG_EINVAL, "sort must be one of %s", STORE_EXP_SORTS);
    }
    if (k->kind == 0) {
        int64_t c = f->after && *f->after ? cursor_id(f->after) : f->cursor;
        if (c < 0) {
            return ag_errorf(err, err_sz, AG_EINVAL, "cursor is not one of this listing");
        }
        if (c > 0) {
            has_after = 1;
            after_id = c;
        }
    } else if (f->after && *f->after) {
        cur = cursor_decode(f->after, k, asc);
        if (!cur) {
            return ag_errorf(err, err_sz, AG_EINVAL,
                             "cursor is not one of this listing (sort=%s, order=%s)", k->name,
                             asc ? "asc" : "desc");
        }
        has_after = 1;
        after_null = json_is_null(json_array_get(cur, 2));
        after_id = json_integer_value(json_array_get(cur, 3));
    } else if (f->cursor) {
        return ag_errorf(err, err_sz, AG_EINVAL, "an id cursor only pages the submitted order");
    }
    exp_sort_order_expr(k, asc, ord, sizeof(ord));
    /* only the filters asked for, so the planner sees plain conditions; under a sort other than
     * the submitted order, state and task are tested row by row ("+", no index) while the order's
     * index is read, which stops after a page, instead of sorting every match */
    n = snprintf(where, sizeof(where), "1");
    if (f->state) {
        n += snprintf(where + n, sizeof(where) - (size_t)n, " AND %sstate = ?1",
                      k->kind == 0 ? "" : "+");
    }
    if (f->task) {
        n += snprintf(where + n, sizeof(where) - (size_t)n, " AND %stask = ?2",
                      k->kind == 0 ? "" : "+");
    }
    if (f->tag) {
        n += snprintf(where + n, sizeof(where) - (size_t)n,
                      " AND EXISTS (SELECT 1 FROM json_each(e.tags) WHERE value = ?3)");
    }
    if (f->q && *f->q) {
        n += snprintf(where + n, sizeof(where) - (size_t)n,
                      " AND instr(lower(name), lower(?4)) > 0");
    }
    if (f->parent_id > 0) {
        n += snprintf(where + n, sizeof(where) - (size_t)n, " AND parent_id = ?8");
    }
    /* keyset condition: after the last row shown in (order value, id) order */
    if (has_after && k->kind == 0) {
        snprintf(where + n, sizeof(where) - (size_t)n, " AND id %s ?7", cmp);
    } else if (has_after) {
        /* written as a range of the order value (not a row value) so the expression indexes
         * serve it */
        snprintf(where + n, sizeof(where) - (size_t)n, " AND %s %s= ?6 AND (%s %s ?6 OR id %s ?7)",
                 ord, cmp, ord, cmp, cmp);
    }
    snprintf(sql, sizeof(sql),
             "SELECT " EXP_COLUMNS ", " PROGRESS_EXPR " AS progress, %s AS sort_value"
             " FROM experiments AS e WHERE %s ORDER BY %s %s, id %s LIMIT ?5",
             ord, where, ord, dir, dir);
    arr = json_array();
    if (!arr) {
        json_decref(cur);
        return ag_errorf(err, err_sz, AG_ENOMEM, "out of memory");
    }
    s = store_reader_lock(s);
    rc = store_db_prepare(s, sql, &st, err, err_sz);
    if (rc) {
        goto out;
    }
    vcol = sqlite3_column_count(st) - 1;
    if (f->state) {
        sqlite3_bind_text(st, 1, f->state, -1, SQLITE_STATIC);
    }
    if (f->task) {
        sqlite3_bind_text(st, 2, f->task, -1, SQLITE_STATIC);
    }
    if (f->tag) {
        sqlite3_bind_text(st, 3, f->tag, -1, SQLITE_STATIC);
    }
    if (f->q && *f->q) {
        sqlite3_bind_text(st, 4, f->q, -1, SQLITE_STATIC);
    }
    /* one more than asked tells whether another page exists */
    sqlite3_bind_int(st, 5, limit + 1);
    if (has_after && k->kind != 0 && after_null) {
        /* a cursor of a row without a value (written before NULLs had their order value) */
        sqlite3_bind_double(st, 6, asc ? 1e308 : -1e308);
    } else if (has_after && k->kind != 0) {
        json_t *v = json_array_get(cur, 2);
        if (json_is_string(v)) {
            sqlite3_bind_text(st, 6, json_string_value(v), -1, SQLITE_TRANSIENT);
        } else if (json_is_integer(v)) {
            sqlite3_bind_int64(st, 6, json_integer_value(v));
        } else {
            sqlite3_bind_double(st, 6, json_number_value(v));
        }
    }
    if (has_after) {
        sqlite3_bind_int64(st, 7, after_id);
    }
    if (f->parent_id > 0) {
        sqlite3_bind_int64(st, 8, f->parent_id);
    }
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        json_t *o;
        if (count == limit) {
            break; /* the extra row: another page exists, next already holds its cursor */
        }
        o = store_row_to_json(st);
        json_object_del(o, "sort_value");
        json_array_append_new(arr, o);
        count++;
        if (count == limit) {
            int64_t id = sqlite3_column_int64(st, 0);
            if (k->kind == 0) {
                snprintf(next, next_sz, "%lld", (long long)id);
            } else if ((rc = cursor_encode(k, asc, st, vcol, id, next, next_sz)) != 0) {
                rc = ag_errorf(err, err_sz, rc, "cursor does not fit");
                goto out;
            }
        }
    }
    if (step != SQLITE_ROW && step != SQLITE_DONE) {
        rc = store_db_fail(s, err, err_sz, "list experiments");
    } else if (step == SQLITE_DONE && next_sz) {
        next[0] = '\0'; /* the page ended the listing */
    }
    if (rc == 0) {
        rc = page_wall_add(s, arr, err, err_sz);
    }
out:
    json_decref(cur);
    return store_reader_done(s, st, rc, arr, out);
}

int store_exp_list_json(Store *s, const StoreExpFilter *f, json_t **out, int64_t *next, char *err,
                        size_t err_sz) {
    StoreExpFilter g = *f;
    char c[STORE_CURSOR_MAX];
    int rc;
    g.sort = NULL;
    g.ascending = 0;
    g.after = NULL;
    *next = 0;
    rc = store_exp_list_page(s, &g, out, c, sizeof(c), err, err_sz);
    if (rc == 0 && c[0]) {
        *next = cursor_id(c);
    }
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
