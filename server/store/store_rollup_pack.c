/* Roll-up buckets packed 64 to a row (migration 017): a series of 1000 points reads about 16
 * rows of each key instead of about 1000 bucket rows, which were most of its cost (SQLite's
 * per-row work: stepping, the record's header, five columns).
 *
 * DESIGN
 * A pack holds the finished buckets 64p .. 64p + 63 of one key at one level, as a blob of
 * STORE_PACK_ENTRY bytes an entry (its bucket's offset in the pack, n, min, max, last; little
 * endian), in bucket order; a bucket the key has no row in has no entry. A pack is written only
 * when all its buckets are finished (the run's rollup_seq is past its last row), by the same
 * periodic call that catches roll-ups up, in one transaction that also deletes the bucket rows
 * it holds: a reader's snapshot sees each bucket once, in a pack or as a row, and the packs
 * before the rows. Ingestion goes on writing bucket rows as before: a finished bucket is never
 * merged into again (rows after rollup_seq fall in later buckets; a rewind drops the packs with
 * the buckets). experiments.packed_seq is the rollup_seq up to which a run is packed; a run is
 * due when the two are in different spans of the finest level's pack (64 x 256 rows), since
 * every coarser pack ends at such a boundary too. Databases of earlier versions are packed by
 * the daemon after the migration, a run per transaction, as roll-ups were caught up. */
#include "store_int.h"

#include "ag_error.h"
#include "ag_time.h"

#include <stdlib.h>
#include <string.h>

/* bucket rows packed in one transaction at most (rounded up to a whole pack) */
#define PACK_ROWS_MAX 1024
/* a run is due (16384 = 64 buckets x 256 rows, the finest level's pack); the partial index
 * experiments_packs_due of migration 017 is on this expression */
#define PACKS_DUE_WHERE "packed_seq / 16384 < rollup_seq / 16384"

static void put_le64(unsigned char *p, uint64_t v) {
    for (int i = 0; i < 8; i++) {
        p[i] = (unsigned char)(v >> (8 * i));
    }
}

static uint64_t get_le64(const unsigned char *p) {
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--) {
        v = v << 8 | p[i];
    }
    return v;
}

static void put_real(unsigned char *p, double x) {
    uint64_t u;
    memcpy(&u, &x, sizeof(u));
    put_le64(p, u);
}

static double get_real(const unsigned char *p) {
    uint64_t u = get_le64(p);
    double x;
    memcpy(&x, &u, sizeof(x));
    return x;
}

void store_pack_entry_put(unsigned char *p, int offset, int64_t n, double vmin, double vmax,
                          double vlast) {
    p[0] = (unsigned char)offset;
    p[1] = (unsigned char)n;
    p[2] = (unsigned char)(n >> 8);
    p[3] = (unsigned char)(n >> 16);
    p[4] = (unsigned char)(n >> 24);
    put_real(p + 5, vmin);
    put_real(p + 13, vmax);
    put_real(p + 21, vlast);
}

/* grows kb to hold at least kb->n + more buckets */
static int key_buckets_grow(StoreKeyBuckets *kb, size_t more) {
    size_t cap = kb->cap ? kb->cap : 1024;
    int64_t *b, *n;
    double *mn, *mx, *ls;
    if (kb->n + more <= kb->cap) {
        return 0;
    }
    while (cap < kb->n + more) {
        cap *= 2;
    }
    b = realloc(kb->bucket, cap * sizeof(*b));
    kb->bucket = b ? b : kb->bucket;
    n = b ? realloc(kb->rows, cap * sizeof(*n)) : NULL;
    kb->rows = n ? n : kb->rows;
    mn = n ? realloc(kb->vmin, cap * sizeof(*mn)) : NULL;
    kb->vmin = mn ? mn : kb->vmin;
    mx = mn ? realloc(kb->vmax, cap * sizeof(*mx)) : NULL;
    kb->vmax = mx ? mx : kb->vmax;
    ls = mx ? realloc(kb->vlast, cap * sizeof(*ls)) : NULL;
    kb->vlast = ls ? ls : kb->vlast;
    if (!ls) {
        return AG_ENOMEM;
    }
    kb->cap = cap;
    return 0;
}

void store_key_buckets_free(StoreKeyBuckets *kb) {
    free(kb->bucket);
    free(kb->rows);
    free(kb->vmin);
    free(kb->vmax);
    free(kb->vlast);
    memset(kb, 0, sizeof(*kb));
}

int store_pack_decode(int64_t pack, const unsigned char *blob, size_t len, StoreKeyBuckets *kb) {
    size_t count = len / STORE_PACK_ENTRY;
    if (len % STORE_PACK_ENTRY != 0 || count > STORE_PACK_BUCKETS) {
        return AG_EINVAL;
    }
    if (key_buckets_grow(kb, count)) {
        return AG_ENOMEM;
    }
    for (size_t i = 0; i < count; i++) {
        const unsigned char *p = blob + i * STORE_PACK_ENTRY;
        size_t k = kb->n;
        if (p[0] >= STORE_PACK_BUCKETS ||
            (k > 0 && kb->bucket[k - 1] >= pack * STORE_PACK_BUCKETS + p[0])) {
            return AG_EINVAL; /* offsets out of range or out of order */
        }
        kb->bucket[k] = pack * STORE_PACK_BUCKETS + p[0];
        kb->rows[k] = (int64_t)((uint32_t)p[1] | (uint32_t)p[2] << 8 | (uint32_t)p[3] << 16 |
                                (uint32_t)p[4] << 24);
        kb->vmin[k] = get_real(p + 5);
        kb->vmax[k] = get_real(p + 13);
        kb->vlast[k] = get_real(p + 21);
        kb->n++;
    }
    return 0;
}

#define PACKS_OF_KEY_SQL                                                                           \
    "SELECT pack, buckets FROM metric_bucket_packs WHERE exp_id = ?1 AND key_id = ?2 AND width ="  \
    " ?3 ORDER BY pack"
#define BUCKET_ROWS_OF_KEY_SQL                                                                     \
    "SELECT bucket, n, vmin, vmax, vlast FROM metric_buckets WHERE exp_id = ?1 AND key_id = ?2"    \
    " AND width = ?3 ORDER BY bucket"

int store_key_buckets_read_locked(Store *s, int64_t id, const char *key, int64_t width,
                                  StoreKeyBuckets *kb, char *err, size_t err_sz) {
    sqlite3_stmt *st = NULL;
    int64_t key_id = 0;
    int rc, step;
    rc = store_stmt_get(s, "SELECT id FROM metric_key_ids WHERE key = ?1", &st, err, err_sz);
    if (rc) {
        return rc;
    }
    sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
    if ((step = sqlite3_step(st)) == SQLITE_ROW) {
        key_id = sqlite3_column_int64(st, 0);
    } else if (step != SQLITE_DONE) {
        rc = store_db_fail(s, err, err_sz, "read metric key id");
    }
    store_stmt_put(s, st);
    if (rc || key_id == 0) {
        return rc; /* a key never seen has no bucket */
    }
    /* the packed buckets first: they precede every bucket still kept as a row */
    rc = store_stmt_get(s, PACKS_OF_KEY_SQL, &st, err, err_sz);
    if (rc) {
        return rc;
    }
    sqlite3_bind_int64(st, 1, id);
    sqlite3_bind_int64(st, 2, key_id);
    sqlite3_bind_int64(st, 3, width);
    while (rc == 0 && (step = sqlite3_step(st)) == SQLITE_ROW) {
        int64_t pack = sqlite3_column_int64(st, 0);
        const unsigned char *blob = sqlite3_column_blob(st, 1);
        size_t len = (size_t)sqlite3_column_bytes(st, 1);
        rc = store_pack_decode(pack, blob, len, kb);
        if (rc) {
            rc = ag_errorf(err, err_sz, rc == AG_ENOMEM ? AG_ENOMEM : AG_EIO,
                           "metric bucket pack %lld of run %lld, key %s, width %lld: %zu bytes"
                           " are not an ordered list of bucket entries",
                           (long long)pack, (long long)id, key, (long long)width, len);
        }
    }
    if (rc == 0 && step != SQLITE_DONE) {
        rc = store_db_fail(s, err, err_sz, "read metric bucket packs");
    }
    store_stmt_put(s, st);
    if (rc) {
        return rc;
    }
    rc = store_stmt_get(s, BUCKET_ROWS_OF_KEY_SQL, &st, err, err_sz);
    if (rc) {
        return rc;
    }
    sqlite3_bind_int64(st, 1, id);
    sqlite3_bind_int64(st, 2, key_id);
    sqlite3_bind_int64(st, 3, width);
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        size_t k = kb->n;
        if (key_buckets_grow(kb, 1)) {
            rc = ag_errorf(err, err_sz, AG_ENOMEM, "out of memory");
            break;
        }
        kb->bucket[k] = sqlite3_column_int64(st, 0);
        kb->rows[k] = sqlite3_column_int64(st, 1);
        kb->vmin[k] = sqlite3_column_double(st, 2);
        kb->vmax[k] = sqlite3_column_double(st, 3);
        kb->vlast[k] = sqlite3_column_double(st, 4);
        kb->n++;
    }
    if (rc == 0 && step != SQLITE_DONE) {
        rc = store_db_fail(s, err, err_sz, "read metric buckets");
    }
    store_stmt_put(s, st);
    return rc;
}

/* the pack being filled while the bucket rows are read in key, width, bucket order */
typedef struct PackFill {
    int64_t key_id, width, pack;
    int count;
    unsigned char blob[STORE_PACK_BUCKETS * STORE_PACK_ENTRY];
} PackFill;

/* writes a filled pack and deletes the bucket rows it holds */
static int pack_write(Store *s, sqlite3_stmt *ins, sqlite3_stmt *del, int64_t id, const PackFill *f,
                      char *err, size_t err_sz) {
    int rc = 0;
    sqlite3_bind_int64(ins, 1, id);
    sqlite3_bind_int64(ins, 2, f->key_id);
    sqlite3_bind_int64(ins, 3, f->width);
    sqlite3_bind_int64(ins, 4, f->pack);
    sqlite3_bind_blob(ins, 5, f->blob, f->count * STORE_PACK_ENTRY, SQLITE_STATIC);
    if (sqlite3_step(ins) != SQLITE_DONE) {
        rc = store_db_fail(s, err, err_sz, "write metric bucket pack");
    }
    sqlite3_reset(ins);
    if (rc == 0) {
        sqlite3_bind_int64(del, 1, id);
        sqlite3_bind_int64(del, 2, f->key_id);
        sqlite3_bind_int64(del, 3, f->width);
        sqlite3_bind_int64(del, 4, f->pack * STORE_PACK_BUCKETS);
        sqlite3_bind_int64(del, 5, f->pack * STORE_PACK_BUCKETS + STORE_PACK_BUCKETS - 1);
        if (sqlite3_step(del) != SQLITE_DONE) {
            rc = store_db_fail(s, err, err_sz, "delete packed metric buckets");
        }
        sqlite3_reset(del);
    }
    return rc;
}

/* Packs finished buckets of run id that are still rows (those below the last whole pack under
 * rollup_seq at each width), whole packs of at most about PACK_ROWS_MAX bucket rows (write lock
 * and transaction held): a run packed for the first time after the migration may hold 10^6
 * bucket rows, which would hold the write lock for seconds. *packs counts the packs written;
 * when the run has no more to pack its packed_seq is set. */
static int run_pack_locked(Store *s, int64_t id, int64_t rollup_seq, int64_t *packs, char *err,
                           size_t err_sz) {
    static const char due_sql[] =
        "SELECT key_id, width, bucket, n, vmin, vmax, vlast FROM metric_buckets WHERE exp_id = ?1"
        " AND bucket < ?2 / (width * 64) * 64 ORDER BY key_id, width, bucket";
    sqlite3_stmt *rows = NULL, *ins = NULL, *del = NULL, *mark = NULL;
    PackFill f = {.count = 0};
    int64_t read = 0;
    int rc, step, more = 0;
    rc = store_db_prepare(s, due_sql, &rows, err, err_sz);
    if (rc == 0) {
        rc = store_db_prepare(s,
                              "INSERT INTO metric_bucket_packs (exp_id, key_id, width, pack,"
                              " buckets) VALUES (?1, ?2, ?3, ?4, ?5)",
                              &ins, err, err_sz);
    }
    if (rc == 0) {
        rc = store_db_prepare(s,
                              "DELETE FROM metric_buckets WHERE exp_id = ?1 AND key_id = ?2 AND"
                              " width = ?3 AND bucket BETWEEN ?4 AND ?5",
                              &del, err, err_sz);
    }
    if (rc) {
        goto out;
    }
    sqlite3_bind_int64(rows, 1, id);
    sqlite3_bind_int64(rows, 2, rollup_seq);
    while (rc == 0 && (step = sqlite3_step(rows)) == SQLITE_ROW) {
        int64_t key_id = sqlite3_column_int64(rows, 0), width = sqlite3_column_int64(rows, 1);
        int64_t bucket = sqlite3_column_int64(rows, 2), n = sqlite3_column_int64(rows, 3);
        int64_t pack = bucket / STORE_PACK_BUCKETS;
        if (f.count > 0 && (key_id != f.key_id || width != f.width || pack != f.pack)) {
            /* the rows deleted are behind the read: SQLite keeps the reading cursor's place
             * across changes to its table */
            rc = pack_write(s, ins, del, id, &f, err, err_sz);
            *packs += 1;
            f.count = 0;
            if (read >= PACK_ROWS_MAX) {
                more = 1;
                break;
            }
        }
        if (n < 0 || n > UINT32_MAX) {
            rc = ag_errorf(err, err_sz, AG_EIO, "metric bucket %lld of run %lld counts %lld rows",
                           (long long)bucket, (long long)id, (long long)n);
            break;
        }
        f.key_id = key_id;
        f.width = width;
        f.pack = pack;
        store_pack_entry_put(f.blob + (size_t)f.count * STORE_PACK_ENTRY,
                             (int)(bucket - pack * STORE_PACK_BUCKETS), n,
                             sqlite3_column_double(rows, 4), sqlite3_column_double(rows, 5),
                             sqlite3_column_double(rows, 6));
        f.count++;
        read++;
    }
    if (rc == 0 && !more && step != SQLITE_DONE) {
        rc = store_db_fail(s, err, err_sz, "read metric buckets to pack");
    }
    if (rc == 0 && !more && f.count > 0) {
        rc = pack_write(s, ins, del, id, &f, err, err_sz);
        *packs += 1;
    }
    if (rc == 0 && !more) {
        rc = store_db_prepare(s, "UPDATE experiments SET packed_seq = ?1 WHERE id = ?2", &mark, err,
                              err_sz);
        if (rc == 0) {
            sqlite3_bind_int64(mark, 1, rollup_seq);
            sqlite3_bind_int64(mark, 2, id);
            rc = store_exec_update(s, mark, "record packed buckets", err, err_sz);
        }
    }
out:
    sqlite3_finalize(rows);
    sqlite3_finalize(ins);
    sqlite3_finalize(del);
    sqlite3_finalize(mark);
    return rc;
}

/* packs of the first run due, in one transaction; *done 0 when none was due */
static int pack_next_run(Store *s, int64_t *packs, int *done, char *err, size_t err_sz) {
    sqlite3_stmt *due = NULL;
    int64_t id = 0, rollup_seq = 0;
    int rc;
    *done = 0;
    pthread_mutex_lock(&s->mu);
    rc = store_db_begin(s, err, err_sz);
    if (rc) {
        pthread_mutex_unlock(&s->mu);
        return rc;
    }
    store_gen_mark_progress(s);
    rc = store_db_prepare(
        s, "SELECT id, rollup_seq FROM experiments WHERE " PACKS_DUE_WHERE " ORDER BY id LIMIT 1",
        &due, err, err_sz);
    if (rc == 0 && sqlite3_step(due) == SQLITE_ROW) {
        id = sqlite3_column_int64(due, 0);
        rollup_seq = sqlite3_column_int64(due, 1);
    }
    sqlite3_finalize(due);
    if (rc == 0 && id > 0) {
        rc = run_pack_locked(s, id, rollup_seq, packs, err, err_sz);
        *done = 1;
    }
    rc = store_db_end(s, rc, err, err_sz);
    pthread_mutex_unlock(&s->mu);
    return rc;
}

int store_metrics_rollup_pack(Store *s, double budget_s, int64_t *packs, char *err, size_t err_sz) {
    double t_end = ag_time_now() + budget_s;
    int rc = 0, done = 0;
    *packs = 0;
    if (!store_reader_any_experiment(s, PACKS_DUE_WHERE)) {
        return 0;
    }
    /* a transaction at least, however short the budget */
    do {
        rc = pack_next_run(s, packs, &done, err, err_sz);
    } while (rc == 0 && done && ag_time_now() < t_end);
    return rc;
}
