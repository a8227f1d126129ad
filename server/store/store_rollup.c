/* Roll-ups of metric rows in angorad's store: the min, max and last value of every numeric key
 * over buckets of 256, 1024, 4096 and 16384 consecutive sequence numbers, kept by
 * ingestion in the transaction that inserts the rows, so that a downsampled series of any key
 * reads about a thousand bucket rows instead of parsing every row's JSON (as Prometheus and
 * VictoriaMetrics keep roll-ups).
 *
 * DESIGN
 * experiments.rollup_seq says up to which seq the buckets of a run are complete. Ingestion rolls
 * up a batch only when the run was complete before it; a rewind (rows replaced after a resume)
 * drops the run's buckets and sets rollup_seq back to 0. Runs behind (databases from before the
 * roll-ups, rewinds) are brought up to date from their stored rows by
 * store_metrics_rollup_catchup, a chunk per transaction, which the daemon calls periodically.
 * Series read buckets only for a complete run; otherwise the rows.
 *
 * No level finer than 256 rows: buckets of 16 and 64 (migrations 007 to 010) were 2.4 of the 2.6
 * bucket rows a row of 30 keys, a third of the database and most of the start-up integrity
 * check's time; a run too short for points / 2 buckets of 256 rows (under 128,000 rows for 1000
 * points) is read from its sealed blocks instead (migration 011). */
#include "store_int.h"

#include "ag_error.h"
#include "ag_time.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const int64_t store_rollup_widths[STORE_ROLLUP_LEVELS] = {256, 1024, 4096, 16384};

#define BUCKET_UPSERT_HEAD                                                                         \
    "INSERT INTO metric_buckets (exp_id, key_id, width, bucket, n, vmin, vmax, vlast) VALUES "
/* a bucket already in the table (an earlier batch's open one) is merged; rows of one statement
 * are applied in order, as separate statements would be */
#define BUCKET_UPSERT_TAIL                                                                         \
    " ON CONFLICT DO UPDATE SET n = n + excluded.n, vmin = min(vmin, excluded.vmin),"              \
    " vmax = max(vmax, excluded.vmax), vlast = excluded.vlast"

int store_rollup_begin_locked(Store *s, StoreRollup *r, int64_t exp_id, char *err, size_t err_sz) {
    char sql[sizeof(BUCKET_UPSERT_HEAD) + sizeof(BUCKET_UPSERT_TAIL) +
             STORE_ROLLUP_WRITE_ROWS * sizeof(",(?,?,?,?,?,?,?,?)")];
    size_t n = 0;
    int rc;
    memset(r, 0, sizeof(*r));
    r->s = s;
    r->exp_id = exp_id;
    rc = store_stmt_get(s, BUCKET_UPSERT_HEAD "(?,?,?,?,?,?,?,?)" BUCKET_UPSERT_TAIL, &r->upsert,
                        err, err_sz);
    /* finished buckets go in statements of many rows: one statement per row was most of the
     * roll-up's time */
    if (rc == 0 && !s->bucket_upsert_many) {
        n += (size_t)snprintf(sql + n, sizeof(sql) - n, "%s", BUCKET_UPSERT_HEAD);
        for (int i = 0; i < STORE_ROLLUP_WRITE_ROWS; i++) {
            n += (size_t)snprintf(sql + n, sizeof(sql) - n, "%s(?,?,?,?,?,?,?,?)", i ? "," : "");
        }
        snprintf(sql + n, sizeof(sql) - n, "%s", BUCKET_UPSERT_TAIL);
        rc = store_db_prepare(s, sql, &s->bucket_upsert_many, err, err_sz);
    }
    r->upsert_many = s->bucket_upsert_many;
    if (rc == 0) {
        rc = store_stmt_get(s,
                            "INSERT INTO metric_key_ids (key) VALUES (?1) ON CONFLICT DO"
                            " UPDATE SET key = key RETURNING id",
                            &r->key_id, err, err_sz);
    }
    return rc;
}

static void bucket_bind(sqlite3_stmt *st, int at, int64_t exp_id, const StoreRollupBucket *b) {
    sqlite3_bind_int64(st, at + 1, exp_id);
    sqlite3_bind_int64(st, at + 2, b->key_id);
    sqlite3_bind_int64(st, at + 3, b->width);
    sqlite3_bind_int64(st, at + 4, b->bucket);
    sqlite3_bind_int64(st, at + 5, b->n);
    sqlite3_bind_double(st, at + 6, b->vmin);
    sqlite3_bind_double(st, at + 7, b->vmax);
    sqlite3_bind_double(st, at + 8, b->vlast);
}

/* writes the finished buckets held back, in the order they finished */
static int buckets_flush(StoreRollup *r, char *err, size_t err_sz) {
    int rc = 0;
    if (r->npending == STORE_ROLLUP_WRITE_ROWS) {
        for (int i = 0; i < r->npending; i++) {
            bucket_bind(r->upsert_many, 8 * i, r->exp_id, &r->pending[i]);
        }
        if (sqlite3_step(r->upsert_many) != SQLITE_DONE) {
            rc = store_db_fail(r->s, err, err_sz, "write metric buckets");
        }
        sqlite3_reset(r->upsert_many);
    } else {
        for (int i = 0; rc == 0 && i < r->npending; i++) {
            bucket_bind(r->upsert, 0, r->exp_id, &r->pending[i]);
            if (sqlite3_step(r->upsert) != SQLITE_DONE) {
                rc = store_db_fail(r->s, err, err_sz, "write metric bucket");
            }
            sqlite3_reset(r->upsert);
        }
    }
    r->npending = 0;
    return rc;
}

/* one finished bucket, merged with what the table holds of it when written */
static int bucket_write(StoreRollup *r, const StoreRollupKey *k, int level, char *err,
                        size_t err_sz) {
    const StoreRollupAgg *a = &k->agg[level];
    if (a->n == 0) {
        return 0;
    }
    r->pending[r->npending++] = (StoreRollupBucket){.key_id = k->id,
                                                    .width = store_rollup_widths[level],
                                                    .bucket = a->bucket,
                                                    .n = a->n,
                                                    .vmin = a->vmin,
                                                    .vmax = a->vmax,
                                                    .vlast = a->vlast};
    return r->npending == STORE_ROLLUP_WRITE_ROWS ? buckets_flush(r, err, err_sz) : 0;
}

/* the key's slot in this roll-up, its id read (or given) from metric_key_ids on first sight;
 * NULL when the roll-up holds STORE_ROLLUP_KEYS keys already (a run of more keys than that
 * has the rest in its rows only, and their series are read from the rows) */
static StoreRollupKey *key_slot(StoreRollup *r, const char *name, int *rc, char *err,
                                size_t err_sz) {
    StoreRollupKey *k;
    size_t len;
    /* rows of a run list their keys in the same order: the slot after the last one found is
     * almost always the one */
    for (int j = 0; j < r->nkeys; j++) {
        int i = (r->hint + j) % r->nkeys;
        if (!strcmp(r->keys[i].name, name)) {
            r->hint = i + 1;
            return &r->keys[i];
        }
    }
    len = strlen(name);
    if (r->nkeys == STORE_ROLLUP_KEYS || len >= sizeof(r->keys[0].name)) {
        return NULL;
    }
    k = &r->keys[r->nkeys];
    memset(k, 0, sizeof(*k));
    memcpy(k->name, name, len + 1);
    sqlite3_bind_text(r->key_id, 1, name, -1, SQLITE_STATIC);
    if (sqlite3_step(r->key_id) == SQLITE_ROW) {
        k->id = sqlite3_column_int64(r->key_id, 0);
    } else {
        *rc = store_db_fail(r->s, err, err_sz, "metric key id");
    }
    sqlite3_reset(r->key_id);
    if (*rc) {
        return NULL;
    }
    r->nkeys++;
    r->hint = r->nkeys;
    return k;
}

int store_rollup_add(StoreRollup *r, int64_t seq, const StoreRow *row, char *err, size_t err_sz) {
    int rc = 0;
    for (size_t f = 0; f < row->n; f++) {
        const StoreCell *v = &row->fields[f].cell;
        StoreRollupKey *k;
        double x;
        if (!store_cell_is_number(v)) {
            continue;
        }
        k = key_slot(r, row->fields[f].key, &rc, err, err_sz);
        if (rc) {
            return rc;
        }
        if (!k) {
            continue;
        }
        x = store_cell_number(v);
        for (int l = 0; l < STORE_ROLLUP_LEVELS; l++) {
            StoreRollupAgg *a = &k->agg[l];
            int64_t b = (seq - 1) / store_rollup_widths[l];
            if (a->n > 0 && a->bucket != b) {
                if ((rc = bucket_write(r, k, l, err, err_sz)) != 0) {
                    return rc;
                }
                a->n = 0;
            }
            if (a->n == 0) {
                a->bucket = b;
                a->vmin = a->vmax = x;
            } else {
                a->vmin = x < a->vmin ? x : a->vmin;
                a->vmax = x > a->vmax ? x : a->vmax;
            }
            a->vlast = x;
            a->n++;
        }
    }
    return 0;
}

int store_rollup_end_locked(StoreRollup *r, int64_t rollup_seq, int rc, char *err, size_t err_sz) {
    sqlite3_stmt *st = NULL;
    for (int i = 0; rc == 0 && i < r->nkeys; i++) {
        for (int l = 0; rc == 0 && l < STORE_ROLLUP_LEVELS; l++) {
            rc = bucket_write(r, &r->keys[i], l, err, err_sz);
        }
    }
    if (rc == 0) {
        rc = buckets_flush(r, err, err_sz);
    }
    if (rc == 0) {
        rc = store_stmt_get(r->s, "UPDATE experiments SET rollup_seq = ? WHERE id = ?", &st, err,
                            err_sz);
    }
    if (rc == 0) {
        sqlite3_bind_int64(st, 1, rollup_seq);
        sqlite3_bind_int64(st, 2, r->exp_id);
        rc = store_exec_update(r->s, st, "record roll-up", err, err_sz);
    }
    store_stmt_put(r->s, st);
    store_rollup_abandon(r);
    return rc;
}

void store_rollup_abandon(StoreRollup *r) {
    /* the statements belong to the store (store_close finalizes them) */
    store_stmt_put(r->s, r->upsert);
    if (r->upsert_many) {
        sqlite3_reset(r->upsert_many);
        sqlite3_clear_bindings(r->upsert_many);
    }
    store_stmt_put(r->s, r->key_id);
    r->upsert = r->upsert_many = r->key_id = NULL;
    r->npending = 0;
}

int store_rollup_drop_locked(Store *s, int64_t exp_id, char *err, size_t err_sz) {
    sqlite3_stmt *st = NULL;
    int rc = 0;
    static const char *const drops[] = {"DELETE FROM metric_buckets WHERE exp_id = ?1",
                                        "DELETE FROM metric_bucket_packs WHERE exp_id = ?1"};
    for (int i = 0; rc == 0 && i < 2; i++) {
        rc = store_db_prepare(s, drops[i], &st, err, err_sz);
        if (rc == 0) {
            sqlite3_bind_int64(st, 1, exp_id);
            if (sqlite3_step(st) != SQLITE_DONE) {
                rc = store_db_fail(s, err, err_sz, "drop metric buckets");
            }
        }
        sqlite3_finalize(st);
        st = NULL;
    }
    if (rc == 0) {
        rc = store_db_prepare(s,
                              "UPDATE experiments SET rollup_seq = 0, packed_seq = 0 WHERE id = ?",
                              &st, err, err_sz);
    }
    if (rc == 0) {
        sqlite3_bind_int64(st, 1, exp_id);
        rc = store_exec_update(s, st, "reset roll-up", err, err_sz);
    }
    sqlite3_finalize(st);
    return rc;
}

typedef struct CatchupRows {
    StoreRollup *r;
    int64_t seq, count;
    char *err;
    size_t err_sz;
} CatchupRows;

static int catchup_row(void *ctx, int64_t seq, const char *text, size_t len) {
    CatchupRows *c = ctx;
    StoreRow *row = store_row_parse(text, len);
    int rc = 0;
    c->seq = seq;
    if (row) {
        rc = store_rollup_add(c->r, seq, row, c->err, c->err_sz);
    }
    store_row_free(row);
    c->count++;
    return rc;
}

/* one chunk of the run that is furthest behind: rows after its rollup_seq, at most chunk of
 * them, rolled up in one write transaction; *rows counts them (0: nothing was behind) */
static int catchup_chunk(Store *s, int chunk, int64_t *rows, char *err, size_t err_sz) {
    sqlite3_stmt *due = NULL;
    StoreRollup r;
    int64_t id = 0, from = 0, seq = 0, count = 0;
    int rc, begun = 0;
    *rows = 0;
    pthread_mutex_lock(&s->mu);
    rc = store_db_begin(s, err, err_sz);
    if (rc) {
        goto out;
    }
    store_gen_mark_progress(s);
    rc = store_db_prepare(s,
                          "SELECT id, rollup_seq FROM experiments WHERE rollup_seq < last_seq"
                          " ORDER BY id LIMIT 1",
                          &due, err, err_sz);
    if (rc == 0 && sqlite3_step(due) == SQLITE_ROW) {
        id = sqlite3_column_int64(due, 0);
        from = sqlite3_column_int64(due, 1);
    }
    if (rc || id == 0) {
        goto end;
    }
    rc = store_rollup_begin_locked(s, &r, id, err, err_sz);
    begun = 1;
    if (rc) {
        goto end;
    }
    {
        CatchupRows cr = {.r = &r, .seq = from, .err = err, .err_sz = err_sz};
        rc = store_rows_each_locked(s, id, from, chunk, 0, catchup_row, &cr, err, err_sz);
        seq = cr.seq;
        count = cr.count;
    }
    /* fewer rows than asked: the run is complete up to its last_seq (rows of a rewind's
     * deleted seqs leave gaps) */
    if (rc == 0 && count < chunk) {
        sqlite3_stmt *ls = NULL;
        rc = store_db_prepare(s, "SELECT last_seq FROM experiments WHERE id = ?", &ls, err, err_sz);
        if (rc == 0) {
            sqlite3_bind_int64(ls, 1, id);
            if (sqlite3_step(ls) == SQLITE_ROW) {
                seq = sqlite3_column_int64(ls, 0);
            }
        }
        sqlite3_finalize(ls);
    }
    rc = store_rollup_end_locked(&r, seq, rc, err, err_sz);
    begun = 0;
    *rows = count > 0 ? count : 1;
end:
    if (begun) {
        store_rollup_abandon(&r);
    }
    sqlite3_finalize(due);
    rc = store_db_end(s, rc, err, err_sz);
out:
    pthread_mutex_unlock(&s->mu);
    return rc;
}

int store_metrics_rollup_catchup(Store *s, double budget_s, int64_t *rows, char *err,
                                 size_t err_sz) {
    double t_end = ag_time_now() + budget_s;
    int rc = 0;
    *rows = 0;
    if (!store_reader_any_experiment(s, "rollup_seq < last_seq")) {
        return 0;
    }
    do {
        int64_t n = 0;
        rc = catchup_chunk(s, 4096, &n, err, err_sz);
        if (rc || n == 0) {
            break;
        }
        *rows += n;
    } while (ag_time_now() < t_end);
    return rc;
}

void store_series_free(StoreSeries *ser) {
    free(ser->x);
    if (ser->vmin != ser->vlast) {
        free(ser->vmin);
        free(ser->vmax);
    }
    free(ser->vlast);
    memset(ser, 0, sizeof(*ser));
}

/* grows the four arrays of out to hold at least n buckets */
static int series_reserve(StoreSeries *out, size_t n) {
    double *p[4] = {out->x, out->vmin, out->vmax, out->vlast};
    for (int i = 0; i < 4; i++) {
        double *q = realloc(p[i], (n ? n : 1) * sizeof(double));
        if (!q) {
            return AG_ENOMEM;
        }
        p[i] = q;
    }
    out->x = p[0];
    out->vmin = p[1];
    out->vmax = p[2];
    out->vlast = p[3];
    return 0;
}

/* The buckets of ykey at one level with the last x of the same bucket: the two keys' buckets
 * read in order (packs, then rows; store_rollup_pack.c) and merged here, about a third of the
 * time of a join that looks up x's bucket for each of y's (EXPLAIN QUERY PLAN: SEARCH x USING
 * PRIMARY KEY per row). Buckets of y without x are left out, as the join left them out. */
static int series_buckets_locked(Store *s, int64_t id, const char *xkey, const char *ykey,
                                 int64_t width, StoreSeries *out, char *err, size_t err_sz) {
    StoreKeyBuckets xb = {0}, yb = {0};
    size_t i = 0;
    int rc = store_key_buckets_read_locked(s, id, xkey, width, &xb, err, err_sz);
    if (rc == 0) {
        rc = store_key_buckets_read_locked(s, id, ykey, width, &yb, err, err_sz);
    }
    if (rc == 0 && yb.n > 0 && series_reserve(out, yb.n)) {
        rc = ag_errorf(err, err_sz, AG_ENOMEM, "out of memory");
    }
    for (size_t k = 0; rc == 0 && k < yb.n; k++) {
        while (i < xb.n && xb.bucket[i] < yb.bucket[k]) {
            i++;
        }
        if (i == xb.n || xb.bucket[i] != yb.bucket[k]) {
            continue;
        }
        out->x[out->n] = xb.vlast[i];
        out->vmin[out->n] = yb.vmin[k];
        out->vmax[out->n] = yb.vmax[k];
        out->vlast[out->n] = yb.vlast[k];
        out->rows += yb.rows[k];
        out->n++;
    }
    store_key_buckets_free(&xb);
    store_key_buckets_free(&yb);
    return rc;
}

/* BEGIN or COMMIT through a kept statement */
static int series_exec_kept(Store *r, const char *sql, char *err, size_t err_sz) {
    sqlite3_stmt *st = NULL;
    int rc = store_stmt_get(r, sql, &st, err, err_sz);
    if (rc == 0) {
        if (sqlite3_step(st) != SQLITE_DONE) {
            rc = store_db_fail(r, err, err_sz, sql);
        }
        store_stmt_put(r, st);
    }
    return rc;
}

int store_metric_series_points(Store *s, int64_t id, const char *xkey, const char *ykey,
                               size_t points, StoreSeries *out, char *err, size_t err_sz) {
    sqlite3_stmt *st = NULL;
    int64_t last_seq = 0, rollup_seq = -1, width = 0;
    double *ys = NULL;
    Store *r;
    int rc;
    memset(out, 0, sizeof(*out));
    if (!xkey) {
        xkey = "iteration";
    }
    if (strchr(xkey, '"') || strchr(ykey, '"')) {
        return ag_errorf(err, err_sz, AG_EINVAL, "bad metric key");
    }
    r = store_reader_lock(s);
    /* one snapshot for the run's state and the buckets or rows read after it */
    rc = series_exec_kept(r, "BEGIN", err, err_sz);
    if (rc) {
        pthread_mutex_unlock(&r->mu);
        return rc;
    }
    /* statements kept prepared: parsing them was about 3 % of a series' CPU */
    rc = store_stmt_get(r, "SELECT last_seq, rollup_seq FROM experiments WHERE id = ?", &st, err,
                        err_sz);
    if (rc == 0) {
        sqlite3_bind_int64(st, 1, id);
        if (sqlite3_step(st) == SQLITE_ROW) {
            last_seq = sqlite3_column_int64(st, 0);
            rollup_seq = sqlite3_column_int64(st, 1);
        } else {
            rc = ag_errorf(err, err_sz, AG_ENOTFOUND, "no experiment %lld", (long long)id);
        }
        store_stmt_put(r, st);
    }
    /* buckets when the finest level has at least half the points asked for: then the coarsest
     * level that still has them (points / 2 to 2 * points buckets, merged down to points);
     * shorter runs are read from their rows */
    if (rc == 0 && rollup_seq == last_seq &&
        (uint64_t)(last_seq + store_rollup_widths[0] - 1) / (uint64_t)store_rollup_widths[0] >=
            (points + 1) / 2) {
        for (int l = STORE_ROLLUP_LEVELS - 1; l >= 0; l--) {
            width = store_rollup_widths[l];
            if ((uint64_t)((last_seq + width - 1) / width) >= (points + 1) / 2) {
                break;
            }
        }
        out->width = width;
        rc = series_buckets_locked(r, id, xkey, ykey, width, out, err, err_sz);
    }
    /* no bucket: the run never had the key, or it is one past STORE_ROLLUP_KEYS */
    if (rc == 0 && out->width > 0 && out->n == 0) {
        store_series_free(out);
    }
    if (rc == 0 && out->width == 0) {
        rc = store_series_rows_locked(r, id, xkey, ykey, &out->x, &ys, &out->n, err, err_sz);
        out->vmin = out->vmax = out->vlast = ys;
        out->rows = (int64_t)out->n;
    }
    series_exec_kept(r, "COMMIT", NULL, 0);
    pthread_mutex_unlock(&r->mu);
    if (rc) {
        store_series_free(out);
    }
    return rc;
}
