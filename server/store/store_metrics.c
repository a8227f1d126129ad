/* Metric rows in angorad's store: exactly-once ingestion of metrics.jsonl batches with their
 * byte offset, rewinds to a checkpoint, the list summary of a run, and the reads of keys, series
 * and rows. */
#include "store_int.h"

#include "ag_error.h"
#include "ag_time.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int set_offset_locked(Store *s, int64_t id, int64_t offset, int64_t last_seq, char *err,
                             size_t err_sz) {
    sqlite3_stmt *st = NULL;
    int rc;
    rc = store_stmt_get(s,
                        "UPDATE experiments SET ingest_offset = ?, last_seq = max(last_seq, ?)"
                        " WHERE id = ?",
                        &st, err, err_sz);
    if (rc) {
        return rc;
    }
    sqlite3_bind_int64(st, 1, offset);
    sqlite3_bind_int64(st, 2, last_seq);
    sqlite3_bind_int64(st, 3, id);
    rc = store_exec_update(s, st, "store offset", err, err_sz);
    store_stmt_put(s, st);
    return rc;
}

int store_metrics_set_offset(Store *s, int64_t id, int64_t offset, char *err, size_t err_sz) {
    int rc;
    pthread_mutex_lock(&s->mu);
    rc = store_db_begin(s, err, err_sz);
    if (rc == 0) {
        store_gen_mark_progress(s);
        rc = store_db_end(s, set_offset_locked(s, id, offset, 0, err, err_sz), err, err_sz);
    }
    pthread_mutex_unlock(&s->mu);
    return rc;
}

static int bind_number(sqlite3_stmt *st, int idx, const StoreCell *v, int integer) {
    if (integer && v && v->kind == STORE_CELL_INT) {
        return sqlite3_bind_int64(st, idx, v->i);
    }
    if (store_cell_is_number(v)) {
        return sqlite3_bind_double(st, idx, store_cell_number(v));
    }
    return sqlite3_bind_null(st, idx);
}

/* the values of a row the list summary reads; absent ones NULL-kind cells */
typedef struct SummaryCells {
    StoreCell iteration, env_steps, return_mean;
} SummaryCells;

static StoreCell cell_or_absent(const StoreCell *v) {
    return v ? *v : (StoreCell){.kind = STORE_CELL_ABSENT};
}

/* newest stored iteration and seq of a run, inside the transaction */
static int run_tail_locked(Store *s, int64_t id, int64_t *last_seq, int64_t *last_iter,
                           int *has_iter, int64_t *rollup_seq, char *err, size_t err_sz) {
    sqlite3_stmt *st = NULL;
    int rc = 0;
    rc = store_stmt_get(s,
                        "SELECT last_seq, (SELECT max(v) FROM (SELECT max(iteration) AS v FROM"
                        " metrics WHERE exp_id = ?1 UNION ALL SELECT max(max_iter) FROM"
                        " metric_chunks WHERE exp_id = ?1)), rollup_seq FROM experiments WHERE"
                        " id = ?1",
                        &st, err, err_sz);
    if (rc) {
        return rc;
    }
    sqlite3_bind_int64(st, 1, id);
    if (sqlite3_step(st) == SQLITE_ROW) {
        *last_seq = sqlite3_column_int64(st, 0);
        *has_iter = sqlite3_column_type(st, 1) != SQLITE_NULL;
        *last_iter = sqlite3_column_int64(st, 1);
        *rollup_seq = sqlite3_column_int64(st, 2);
    } else {
        rc = ag_errorf(err, err_sz, AG_ENOTFOUND, "no experiment %lld", (long long)id);
    }
    store_stmt_put(s, st);
    return rc;
}

/* the list summary of a run from its newest row; a task metric missing from the newest rows
 * keeps the last one seen (task_key NULL) */
static int summary_update_locked(Store *s, int64_t id, const SummaryCells *row,
                                 const char *task_key, double task_metric, char *err,
                                 size_t err_sz) {
    sqlite3_stmt *st = NULL;
    int rc = store_stmt_get(s,
                            "UPDATE experiments SET latest_iteration = ?1, latest_env_steps = ?2,"
                            " latest_return = ?3, latest_task_metric = CASE WHEN ?5 IS NULL THEN"
                            " latest_task_metric ELSE ?4 END, latest_task_key = coalesce(?5,"
                            " latest_task_key) WHERE id = ?6",
                            &st, err, err_sz);
    if (rc) {
        return rc;
    }
    bind_number(st, 1, &row->iteration, 1);
    bind_number(st, 2, &row->env_steps, 1);
    bind_number(st, 3, &row->return_mean, 0);
    sqlite3_bind_double(st, 4, task_metric);
    if (task_key) {
        sqlite3_bind_text(st, 5, task_key, -1, SQLITE_STATIC);
    }
    sqlite3_bind_int64(st, 6, id);
    rc = store_exec_update(s, st, "update list summary", err, err_sz);
    store_stmt_put(s, st);
    return rc;
}

#define KEY_CACHE 64

/* keys already recorded in this batch (rows of one run share their keys): 1 if k is among
 * them, else remembers it and returns 0; rows list their keys in the same order, so the search
 * starts after the last key found (*hint) */
static int key_seen(char (*seen)[64], int *nseen, int *hint, const char *k) {
    for (int j = 0; j < *nseen; j++) {
        int i = (*hint + j) % *nseen;
        if (!strcmp(seen[i], k)) {
            *hint = i + 1;
            return 1;
        }
    }
    if (*nseen < KEY_CACHE && strlen(k) < 64) {
        memcpy(seen[(*nseen)++], k, strlen(k) + 1);
    }
    return 0;
}

/* writes rows of a batch to the tail and releases them */
static int tail_write(Store *s, sqlite3_stmt *ins, int64_t id, StoreTailRow *rows, size_t n,
                      char *err, size_t err_sz) {
    int rc = 0;
    for (size_t i = 0; i < n; i++) {
        if (rc == 0) {
            sqlite3_bind_int64(ins, 1, id);
            sqlite3_bind_int64(ins, 2, rows[i].seq);
            bind_number(ins, 3, store_row_get(rows[i].row, "iteration"), 1);
            bind_number(ins, 4, store_row_get(rows[i].row, "env_steps"), 1);
            bind_number(ins, 5, store_row_get(rows[i].row, "return_mean"), 0);
            bind_number(ins, 6, store_row_get(rows[i].row, "wall_s"), 0);
            sqlite3_bind_text(ins, 7, rows[i].text, (int)rows[i].len, SQLITE_STATIC);
            if (sqlite3_step(ins) != SQLITE_DONE) {
                rc = store_db_fail(s, err, err_sz, "insert metric row");
            }
            sqlite3_reset(ins);
        }
        store_row_free(rows[i].row);
        rows[i].row = NULL;
    }
    return rc;
}

int store_metrics_ingest(Store *s, int64_t id, const char *const *lines, const size_t *lens,
                         size_t n, int64_t new_offset, size_t *rows_added, int64_t *first_seq,
                         char *err, size_t err_sz) {
    return store_metrics_ingest_seqs(s, id, lines, lens, n, new_offset, NULL, rows_added, first_seq,
                                     err, err_sz);
}

int store_metrics_ingest_seqs(Store *s, int64_t id, const char *const *lines, const size_t *lens,
                              size_t n, int64_t new_offset, int64_t *seqs, size_t *rows_added,
                              int64_t *first_seq, char *err, size_t err_sz) {
    sqlite3_stmt *ins = NULL, *rew = NULL, *key = NULL, *same = NULL;
    SummaryCells newest; /* of the last row inserted, for the list summary */
    int has_newest = 0;
    double task_metric = 0;
    const char *task_key = NULL;
    int64_t seq = 0, last_iter = 0, rollup_seq = -1;
    int has_iter = 0, rc, nseen = 0, hint = 0, rewound = 0, has_sealed = 0;
    int64_t sealed_iter = 0; /* the largest iteration of the run's sealed rows */
    StoreBlocksCache sealed = {0};
    StoreRollup *rollup = NULL; /* set while the run's buckets are complete */
    /* rows of this batch not written yet: those sealed at the end never go through the tail */
    StoreTailRow *pending = NULL;
    size_t npending = 0, consumed = 0;
    char seen[KEY_CACHE][64];
    size_t added = 0, bad = 0;
    if (rows_added) {
        *rows_added = 0;
    }
    pthread_mutex_lock(&s->mu);
    rc = store_db_begin(s, err, err_sz);
    if (rc) {
        goto out;
    }
    /* rows of this run only: pages of the list that do not show it stay as they are */
    store_gen_mark_progress(s);
    rc = run_tail_locked(s, id, &seq, &last_iter, &has_iter, &rollup_seq, err, err_sz);
    if (rc == 0 && store_blocks_max_iter_locked(s, id, &sealed_iter, &has_sealed) != 0) {
        rc = store_db_fail(s, err, err_sz, "read sealed rows");
    }
    if (rc) {
        goto end;
    }
    /* a run behind on its roll-up is caught up from its rows (store_metrics_rollup_catchup) */
    if (rollup_seq == seq) {
        rollup = malloc(sizeof(*rollup));
        if (!rollup) {
            rc = ag_errorf(err, err_sz, AG_ENOMEM, "out of memory");
            goto end;
        }
        rc = store_rollup_begin_locked(s, rollup, id, err, err_sz);
        if (rc) {
            goto end;
        }
    }
    if (first_seq) {
        *first_seq = seq + 1;
    }
    pending = malloc((n + 1) * sizeof(*pending));
    if (!pending) {
        rc = ag_errorf(err, err_sz, AG_ENOMEM, "out of memory");
        goto end;
    }
    /* kept prepared on the connection: parsing the batch's statements again each time cost
     * about as much as inserting its rows' tail */
    rc = store_stmt_get(s,
                        "INSERT INTO metrics (exp_id, seq, iteration, env_steps, return_mean,"
                        " wall_s, row) VALUES (?,?,?,?,?,?,?)",
                        &ins, err, err_sz);
    if (rc == 0) {
        rc = store_stmt_get(s, "DELETE FROM metrics WHERE exp_id = ? AND iteration >= ?", &rew, err,
                            err_sz);
    }
    if (rc == 0) {
        rc = store_stmt_get(s, "INSERT OR IGNORE INTO metric_keys (exp_id, key) VALUES (?, ?)",
                            &key, err, err_sz);
    }
    if (rc == 0) {
        rc = store_stmt_get(s,
                            "SELECT 1 FROM metrics WHERE exp_id = ? AND iteration = ? AND"
                            " row = ? LIMIT 1",
                            &same, err, err_sz);
    }
    if (rc) {
        goto end;
    }
    for (size_t i = 0; i < n; i++) {
        StoreRow *row = store_row_parse(lines[i], lens[i]);
        const StoreCell *it;
        int64_t iter = 0;
        int is_iter;
        if (seqs) {
            seqs[i] = 0;
        }
        if (!row) {
            bad++;
            continue;
        }
        it = store_row_get(row, "iteration");
        is_iter = it && it->kind == STORE_CELL_INT;
        iter = is_iter ? it->i : 0;
        if (is_iter && has_iter && iter <= last_iter) {
            /* the checks below read the tail: the batch's earlier rows go there first */
            rc = tail_write(s, ins, id, pending, npending, err, err_sz);
            npending = 0;
            if (rc) {
                store_row_free(row);
                goto end;
            }
        }
        if (is_iter && has_iter && iter <= last_iter) {
            /* a resumed run's file is read again from the start: the rows up to its checkpoint
             * are the stored ones, byte for byte, and keep their seq (nothing is re-sent) */
            int stored;
            sqlite3_bind_int64(same, 1, id);
            sqlite3_bind_int64(same, 2, iter);
            sqlite3_bind_text(same, 3, lines[i], (int)lens[i], SQLITE_STATIC);
            stored = sqlite3_step(same) == SQLITE_ROW;
            sqlite3_reset(same);
            if (!stored && has_sealed && iter <= sealed_iter) {
                rc = store_blocks_row_stored_locked(s, &sealed, id, iter, lines[i], lens[i],
                                                    &stored, err, err_sz);
                if (rc) {
                    store_row_free(row);
                    goto end;
                }
            }
            if (stored) {
                store_row_free(row);
                continue;
            }
        }
        if (is_iter) {
            /* a resumed run repeats the iterations after its checkpoint: newest data wins */
            if (has_iter && iter <= last_iter) {
                /* sealed rows from that iteration on go back to the tail to be replaced */
                if (has_sealed && iter <= sealed_iter) {
                    store_blocks_cache_free(&sealed);
                    rc = store_blocks_unseal_locked(s, id, iter, err, err_sz);
                    if (rc == 0 &&
                        store_blocks_max_iter_locked(s, id, &sealed_iter, &has_sealed) != 0) {
                        rc = store_db_fail(s, err, err_sz, "read sealed rows");
                    }
                    if (rc) {
                        store_row_free(row);
                        goto end;
                    }
                }
                sqlite3_bind_int64(rew, 1, id);
                sqlite3_bind_int64(rew, 2, iter);
                if (sqlite3_step(rew) != SQLITE_DONE) {
                    rc = store_db_fail(s, err, err_sz, "rewind metrics");
                }
                sqlite3_reset(rew);
                rewound = 1;
            }
            last_iter = iter;
            has_iter = 1;
        }
        seq++;
        pending[npending++] =
            (StoreTailRow){.seq = seq, .text = lines[i], .len = lens[i], .row = row};
        if (rc == 0 && rollup && !rewound) {
            rc = store_rollup_add(rollup, seq, row, err, err_sz);
        }
        for (size_t f = 0; f < row->n; f++) {
            const char *k = row->fields[f].key;
            if (rc || !store_cell_is_number(&row->fields[f].cell) ||
                key_seen(seen, &nseen, &hint, k)) {
                continue;
            }
            sqlite3_bind_int64(key, 1, id);
            sqlite3_bind_text(key, 2, k, -1, SQLITE_STATIC);
            if (sqlite3_step(key) != SQLITE_DONE) {
                rc = store_db_fail(s, err, err_sz, "insert metric key");
            }
            sqlite3_reset(key);
        }
        if (rc) {
            /* the row is pending: freed with the others */
            goto end;
        }
        {
            const StoreCell *sr = store_row_get(row, "success_rate");
            const StoreCell *cg = store_row_get(row, "consecutive_goals_mean");
            if (store_cell_is_number(sr) || store_cell_is_number(cg)) {
                task_key = store_cell_is_number(sr) ? "success_rate" : "consecutive_goals_mean";
                task_metric = store_cell_number(store_cell_is_number(sr) ? sr : cg);
            }
        }
        newest.iteration = cell_or_absent(it);
        newest.env_steps = cell_or_absent(store_row_get(row, "env_steps"));
        newest.return_mean = cell_or_absent(store_row_get(row, "return_mean"));
        has_newest = 1;
        if (seqs) {
            seqs[i] = seq;
        }
        added++;
    }
    /* full chunks are sealed straight from the batch, the rest goes to the tail */
    rc = store_blocks_seal_locked(s, id, pending, npending, STORE_CHUNK_ROWS, &consumed, err,
                                  err_sz);
    if (rc == 0) {
        for (size_t q = 0; q < consumed; q++) {
            store_row_free(pending[q].row);
            pending[q].row = NULL;
        }
        rc = tail_write(s, ins, id, pending + consumed, npending - consumed, err, err_sz);
        npending = 0;
    }
    if (rc == 0 && has_newest) {
        rc = summary_update_locked(s, id, &newest, task_key, task_metric, err, err_sz);
    }
    if (rc == 0) {
        rc = set_offset_locked(s, id, new_offset, seq, err, err_sz);
    }
    /* replaced rows leave stale buckets: the run is rolled up again from its rows */
    if (rc == 0 && rewound) {
        if (rollup) {
            store_rollup_abandon(rollup);
        }
        rc = store_rollup_drop_locked(s, id, err, err_sz);
    } else if (rollup) {
        rc = store_rollup_end_locked(rollup, seq, rc, err, err_sz);
    }
    free(rollup);
    rollup = NULL;
    if (rc == 0 && bad > 0) {
        char detail[96];
        sqlite3_stmt *ev = NULL;
        snprintf(detail, sizeof(detail), "%zu metrics line(s) were not JSON objects", bad);
        /* a journal entry that cannot be written does not hold up the rows */
        if (store_event_prepare(s, id, "ingest-skipped", detail, &ev) == 0) {
            sqlite3_step(ev);
        }
        sqlite3_finalize(ev);
    }
end:
    for (size_t q = 0; pending && q < npending; q++) {
        store_row_free(pending[q].row);
    }
    free(pending);
    store_blocks_cache_free(&sealed);
    if (rollup) {
        store_rollup_abandon(rollup);
        free(rollup);
    }
    store_stmt_put(s, ins);
    store_stmt_put(s, rew);
    store_stmt_put(s, key);
    store_stmt_put(s, same);
    rc = store_db_end(s, rc, err, err_sz);
out:
    pthread_mutex_unlock(&s->mu);
    if (rc == 0 && rows_added) {
        *rows_added = added;
    }
    return rc;
}

int store_metric_keys(Store *s, int64_t id, json_t **out, char *err, size_t err_sz) {
    sqlite3_stmt *st = NULL;
    json_t *arr = json_array();
    int rc;
    *out = NULL;
    s = store_reader_lock(s);
    rc = store_db_prepare(s, "SELECT key FROM metric_keys WHERE exp_id = ? ORDER BY key", &st, err,
                          err_sz);
    if (rc == 0) {
        sqlite3_bind_int64(st, 1, id);
        while (sqlite3_step(st) == SQLITE_ROW) {
            json_array_append_new(arr, json_string((const char *)sqlite3_column_text(st, 0)));
        }
    }
    return store_reader_done(s, st, rc, arr, out);
}

/* the column holding a metric key, or NULL when it lives in the row JSON only */
static const char *metric_column(const char *key) {
    static const char *const columns[] = {"iteration", "env_steps", "return_mean", "wall_s", NULL};
    for (int i = 0; columns[i]; i++) {
        if (!strcmp(key, columns[i])) {
            return columns[i];
        }
    }
    return NULL;
}

typedef struct Pairs {
    double *x, *y;
    size_t n, cap;
} Pairs;

static int pairs_add(void *ctx, double x, double y) {
    Pairs *p = ctx;
    if (p->n == p->cap) {
        size_t ncap = p->cap ? p->cap * 2 : 256;
        double *nx = realloc(p->x, ncap * sizeof(*nx)), *ny;
        if (!nx) {
            return AG_ENOMEM;
        }
        p->x = nx;
        ny = realloc(p->y, ncap * sizeof(*ny));
        if (!ny) {
            return AG_ENOMEM;
        }
        p->y = ny;
        p->cap = ncap;
    }
    p->x[p->n] = x;
    p->y[p->n] = y;
    p->n++;
    return 0;
}

int store_series_rows_locked(Store *s, int64_t id, const char *xkey, const char *ykey, double **xs,
                             double **ys, size_t *n, char *err, size_t err_sz) {
    sqlite3_stmt *st = NULL;
    char xpath[160], ypath[160], sql[256];
    Pairs p = {0};
    int rc = 0, step;
    *xs = *ys = NULL;
    *n = 0;
    if (!xkey) {
        xkey = "iteration";
    }
    /* keys go in as quoted JSON path members, so any name is literal */
    if (strchr(xkey, '"') || strchr(ykey, '"') ||
        snprintf(xpath, sizeof(xpath), "$.\"%s\"", xkey) >= (int)sizeof(xpath) ||
        snprintf(ypath, sizeof(ypath), "$.\"%s\"", ykey) >= (int)sizeof(ypath)) {
        return ag_errorf(err, err_sz, AG_EINVAL, "bad metric key");
    }
    /* the sealed rows from the blocks of the two keys, then the tail */
    rc = store_blocks_series_locked(s, id, xkey, ykey, pairs_add, &p, err, err_sz);
    if (rc == AG_ENOMEM) {
        ag_errorf(err, err_sz, rc, "out of memory");
    }
    if (rc) {
        goto out;
    }
    /* the main keys have their own columns: no JSON parsing per row for them */
    snprintf(sql, sizeof(sql), "SELECT %s, %s FROM metrics WHERE exp_id = ?3 ORDER BY seq",
             metric_column(xkey) ? metric_column(xkey) : "json_extract(row, ?1)",
             metric_column(ykey) ? metric_column(ykey) : "json_extract(row, ?2)");
    rc = store_db_prepare(s, sql, &st, err, err_sz);
    if (rc) {
        goto out;
    }
    sqlite3_bind_text(st, 1, xpath, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, ypath, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, id);
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        int tx = sqlite3_column_type(st, 0), ty = sqlite3_column_type(st, 1);
        if ((ty != SQLITE_INTEGER && ty != SQLITE_FLOAT) ||
            (tx != SQLITE_INTEGER && tx != SQLITE_FLOAT)) {
            continue;
        }
        if (pairs_add(&p, sqlite3_column_double(st, 0), sqlite3_column_double(st, 1)) != 0) {
            rc = ag_errorf(err, err_sz, AG_ENOMEM, "out of memory");
            goto out;
        }
    }
    if (step != SQLITE_DONE) {
        rc = store_db_fail(s, err, err_sz, "read series");
    }
out:
    sqlite3_finalize(st);
    if (rc) {
        free(p.x);
        free(p.y);
        return rc;
    }
    *xs = p.x;
    *ys = p.y;
    *n = p.n;
    return 0;
}

int store_metric_series(Store *s, int64_t id, const char *xkey, const char *ykey, double **xs,
                        double **ys, size_t *n, char *err, size_t err_sz) {
    Store *r = store_reader_lock(s);
    int began = sqlite3_get_autocommit(r->db) &&
                sqlite3_exec(r->db, "BEGIN", NULL, NULL, NULL) == SQLITE_OK;
    int rc = store_series_rows_locked(r, id, xkey, ykey, xs, ys, n, err, err_sz);
    if (began) {
        sqlite3_exec(r->db, "COMMIT", NULL, NULL, NULL);
    }
    pthread_mutex_unlock(&r->mu);
    return rc;
}

int store_rows_each_locked(Store *s, int64_t id, int64_t after_seq, int64_t limit, int whole_chunks,
                           StoreRowFn fn, void *ctx, char *err, size_t err_sz) {
    sqlite3_stmt *st = NULL;
    int64_t left = limit > 0 ? limit : -1, last = after_seq;
    int rc, step;
    /* sealed rows first: every one of them is older than the tail */
    rc = store_blocks_rows_locked(s, id, after_seq, &left, &last, whole_chunks, fn, ctx, err,
                                  err_sz);
    if (rc || left == 0) {
        return rc;
    }
    rc = store_stmt_get(s,
                        "SELECT seq, row FROM metrics WHERE exp_id = ? AND seq > ? ORDER BY seq"
                        " LIMIT ?",
                        &st, err, err_sz);
    if (rc) {
        return rc;
    }
    sqlite3_bind_int64(st, 1, id);
    sqlite3_bind_int64(st, 2, last);
    sqlite3_bind_int64(st, 3, left);
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        rc = fn(ctx, sqlite3_column_int64(st, 0), (const char *)sqlite3_column_text(st, 1),
                (size_t)sqlite3_column_bytes(st, 1));
        if (rc) {
            goto out;
        }
    }
    if (step != SQLITE_DONE) {
        rc = store_db_fail(s, err, err_sz, "read rows");
    }
out:
    store_stmt_put(s, st);
    return rc;
}

static int rows_read(Store *s, int64_t id, int64_t after_seq, int64_t limit, int whole_chunks,
                     StoreRowFn fn, void *ctx, char *err, size_t err_sz) {
    Store *r = store_reader_lock(s);
    /* one read transaction: a seal committed between the blocks and the tail would hide rows */
    int began = sqlite3_get_autocommit(r->db) &&
                sqlite3_exec(r->db, "BEGIN", NULL, NULL, NULL) == SQLITE_OK;
    int rc = store_rows_each_locked(r, id, after_seq, limit, whole_chunks, fn, ctx, err, err_sz);
    if (began) {
        sqlite3_exec(r->db, "COMMIT", NULL, NULL, NULL);
    }
    pthread_mutex_unlock(&r->mu);
    return rc;
}

int store_metric_rows(Store *s, int64_t id, int64_t after_seq, int64_t limit, StoreRowFn fn,
                      void *ctx, char *err, size_t err_sz) {
    return rows_read(s, id, after_seq, limit, 0, fn, ctx, err, err_sz);
}

int store_metric_rows_paged(Store *s, int64_t id, int64_t after_seq, int64_t min_rows,
                            StoreRowFn fn, void *ctx, char *err, size_t err_sz) {
    return rows_read(s, id, after_seq, min_rows > 0 ? min_rows : 1, 1, fn, ctx, err, err_sz);
}

int store_metric_count(Store *s, int64_t *n, char *err, size_t err_sz) {
    sqlite3_stmt *st = NULL;
    int rc;
    *n = 0;
    s = store_reader_lock(s);
    rc = store_db_prepare(s,
                          "SELECT (SELECT count(*) FROM metrics) + (SELECT coalesce(sum(nrows), 0)"
                          " FROM metric_chunks)",
                          &st, err, err_sz);
    if (rc == 0 && sqlite3_step(st) == SQLITE_ROW) {
        *n = sqlite3_column_int64(st, 0);
    }
    sqlite3_finalize(st);
    pthread_mutex_unlock(&s->mu);
    return rc;
}

/* runs that have ended and keep more than their newest row as text, read on a reader connection
 * first so the periodic call takes the write lock only when there are some; up to
 * SEAL_SEARCH_IDS a search, since the search reads the whole tail */
#define SEAL_SEARCH_IDS 64
static const char *const FINISHED_TAILS_SQL =
    "SELECT m.exp_id FROM metrics AS m JOIN experiments AS e ON e.id = m.exp_id WHERE e.state IN"
    " ('succeeded', 'failed', 'cancelled') GROUP BY m.exp_id HAVING count(*) > 1 LIMIT 64";
/* one run's answer to the same question, asked again under the write lock (the reader may be a
 * commit behind) */
static const char *const FINISHED_TAIL_SQL =
    "SELECT (SELECT state IN ('succeeded', 'failed', 'cancelled') FROM experiments WHERE id = ?1)"
    " AND (SELECT count(*) FROM (SELECT 1 FROM metrics WHERE exp_id = ?1 LIMIT 2)) = 2";

/* a search finding nothing is trusted while the list generation stays (an ended run's state,
 * and anything else not marked as progress, moves it) and at most this long, for rows that reach
 * an ended run in a progress commit */
#define SEAL_RECHECK_S 60.0

static int finished_tails(Store *s, int64_t *ids, int max) {
    sqlite3_stmt *st = NULL;
    int n = 0;
    if (sqlite3_prepare_v2(s->db, FINISHED_TAILS_SQL, -1, &st, NULL) == SQLITE_OK) {
        while (n < max && sqlite3_step(st) == SQLITE_ROW) {
            ids[n++] = sqlite3_column_int64(st, 0);
        }
    }
    sqlite3_finalize(st);
    return n;
}

static int finished_tail_is(Store *s, int64_t id) {
    sqlite3_stmt *st = NULL;
    char msg[256];
    int yes = 0;
    if (store_stmt_get(s, FINISHED_TAIL_SQL, &st, msg, sizeof(msg)) == 0) {
        sqlite3_bind_int64(st, 1, id);
        yes = sqlite3_step(st) == SQLITE_ROW && sqlite3_column_int(st, 0) == 1;
        store_stmt_put(s, st);
    }
    return yes;
}

static int seal_one(Store *s, int64_t id, int *sealed, char *err, size_t err_sz) {
    int rc;
    *sealed = 0;
    pthread_mutex_lock(&s->mu);
    rc = store_db_begin(s, err, err_sz);
    if (rc == 0) {
        if (finished_tail_is(s, id)) {
            rc = store_blocks_seal_locked(s, id, NULL, 0, 1, NULL, err, err_sz);
            *sealed = rc == 0;
        }
        rc = store_db_end(s, rc, err, err_sz);
    }
    pthread_mutex_unlock(&s->mu);
    return rc;
}

int store_metrics_seal_finished(Store *s, double budget_s, int64_t *runs, char *err,
                                size_t err_sz) {
    double now = ag_time_now(), t_end = now + budget_s;
    int64_t ids[SEAL_SEARCH_IDS];
    int rc = 0;
    *runs = 0;
    for (;;) {
        /* loaded before the search: a commit after it is seen by the next call */
        uint64_t gen = store_list_generation(s);
        int n, sealed;
        if (s->seal_idle_known && gen == s->seal_idle_gen &&
            now - s->seal_idle_at < SEAL_RECHECK_S) {
            return 0;
        }
        Store *r = store_reader_lock(s);
        n = finished_tails(r, ids, SEAL_SEARCH_IDS);
        pthread_mutex_unlock(&r->mu);
        s->seal_searches++;
        if (n == 0) {
            s->seal_idle_known = 1;
            s->seal_idle_gen = gen;
            s->seal_idle_at = now;
            return 0;
        }
        s->seal_idle_known = 0;
        for (int i = 0; i < n; i++) {
            if ((rc = seal_one(s, ids[i], &sealed, err, err_sz)) != 0) {
                return rc;
            }
            *runs += sealed;
            if (ag_time_now() >= t_end) {
                return 0;
            }
        }
        now = ag_time_now();
    }
}

uint64_t store_metrics_seal_searches(Store *s) {
    return s->seal_searches;
}
