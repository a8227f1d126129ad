/* Metric rows sealed into compact blocks: the newest rows of a run stay as JSON text in the
 * metrics table (the tail); once the tail holds more than STORE_CHUNK_ROWS rows, all of it but
 * the newest row is sealed, in the transaction that added the rows, into chunks of at most
 * STORE_CHUNK_ROWS rows: one blob per key with its values (store_block.c), the chunk's layout
 * (seqs and key order) and, for any row whose text the blocks would not give back byte for byte,
 * that text. Reads merge the chunks with the tail; a rewind into sealed rows puts them back into
 * the tail first. */
#include "store_block.h"
#include "store_int.h"

#include "ag_error.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct Chunk {
    int64_t first_seq, last_seq;
    StoreLayout layout;
    size_t nkeys;
    int64_t *key_ids;
    char **key_json;       /* the key as JSON text, quoted */
    size_t *key_len;       /* strlen of key_json, 0 until a row text needs it */
    StoreCell **cols;      /* per key, a cell per row */
    unsigned char **blobs; /* what the cells' texts point into */
    size_t **list_cols;    /* per key list of the layout, the column of each key */
    char **texts;          /* per row: the stored text when the blocks do not give it back */
    int iter_col;          /* the column of "iteration", or -1 */
} Chunk;

static void chunk_free(Chunk *c) {
    for (size_t k = 0; k < c->nkeys; k++) {
        free(c->key_json ? c->key_json[k] : NULL);
        free(c->cols ? c->cols[k] : NULL);
        free(c->blobs ? c->blobs[k] : NULL);
    }
    for (size_t i = 0; c->list_cols && i < c->layout.nlists; i++) {
        free(c->list_cols[i]);
    }
    for (size_t r = 0; c->texts && r < c->layout.nrows; r++) {
        free(c->texts[r]);
    }
    free(c->key_ids);
    free(c->key_json);
    free(c->key_len);
    free(c->cols);
    free(c->blobs);
    free(c->list_cols);
    free(c->texts);
    store_layout_free(&c->layout);
    memset(c, 0, sizeof(*c));
    c->iter_col = -1;
}

static char *key_json_text(const char *key) {
    json_t *k = json_string(key);
    char *t = k ? json_dumps(k, JSON_ENCODE_ANY | JSON_COMPACT) : NULL;
    json_decref(k);
    return t;
}

/* the columns of the keys the layout names, in order of first use, with their list maps */
static int chunk_columns(Chunk *c) {
    size_t cap = 0;
    for (size_t i = 0; i < c->layout.nlists; i++) {
        cap += c->layout.list_len[i];
    }
    c->key_ids = calloc(cap + 1, sizeof(*c->key_ids));
    c->key_json = calloc(cap + 1, sizeof(*c->key_json));
    c->key_len = calloc(cap + 1, sizeof(*c->key_len));
    c->cols = calloc(cap + 1, sizeof(*c->cols));
    c->blobs = calloc(cap + 1, sizeof(*c->blobs));
    c->list_cols = calloc(c->layout.nlists + 1, sizeof(*c->list_cols));
    c->texts = calloc(c->layout.nrows + 1, sizeof(*c->texts));
    if (!c->key_ids || !c->key_json || !c->key_len || !c->cols || !c->blobs || !c->list_cols ||
        !c->texts) {
        return AG_ENOMEM;
    }
    for (size_t i = 0; i < c->layout.nlists; i++) {
        c->list_cols[i] = calloc(c->layout.list_len[i] + 1, sizeof(**c->list_cols));
        if (!c->list_cols[i]) {
            return AG_ENOMEM;
        }
        for (size_t j = 0; j < c->layout.list_len[i]; j++) {
            size_t k = 0;
            while (k < c->nkeys && c->key_ids[k] != c->layout.lists[i][j]) {
                k++;
            }
            if (k == c->nkeys) {
                c->key_ids[c->nkeys++] = c->layout.lists[i][j];
            }
            c->list_cols[i][j] = k;
        }
    }
    return 0;
}

/* the text of row r as the trainer writes it (or its stored text) */
static int chunk_row_text(Chunk *c, size_t r, AgBuf *b) {
    size_t li = c->layout.row_list[r];
    int rc;
    ag_buf_reset(b);
    if (c->texts[r]) {
        return ag_buf_append_str(b, c->texts[r]);
    }
    rc = ag_buf_append(b, "{", 1);
    for (size_t j = 0; rc == 0 && j < c->layout.list_len[li]; j++) {
        size_t k = c->list_cols[li][j], klen = c->key_len[k];
        char *p;
        if (klen == 0) {
            klen = c->key_len[k] = strlen(c->key_json[k]);
        }
        /* the separator, key and colon in one step: a backlog writes tens of millions */
        rc = ag_buf_reserve(b, klen + 2);
        if (rc) {
            break;
        }
        p = b->data + b->len;
        if (j > 0) {
            *p++ = ',';
        }
        memcpy(p, c->key_json[k], klen);
        p[klen] = ':';
        b->len = (size_t)(p + klen + 1 - b->data);
        rc = store_cell_write(b, &c->cols[k][r]);
    }
    return rc ? rc : ag_buf_append(b, "}", 1);
}

/* statements of the reads below are kept prepared on the connection (store_stmt_get): a
 * backlog reads thousands of chunks, each of them 30-odd lookups */
static int key_name_locked(Store *s, int64_t key_id, char **json_text, char *err, size_t err_sz) {
    sqlite3_stmt *st = NULL;
    int rc = store_stmt_get(s, "SELECT key FROM metric_key_ids WHERE id = ?", &st, err, err_sz);
    if (rc) {
        return rc;
    }
    sqlite3_bind_int64(st, 1, key_id);
    if (sqlite3_step(st) == SQLITE_ROW) {
        *json_text = key_json_text((const char *)sqlite3_column_text(st, 0));
        rc = *json_text ? 0 : ag_errorf(err, err_sz, AG_ENOMEM, "out of memory");
    } else {
        rc = ag_errorf(err, err_sz, AG_EDB, "metric key %lld is not numbered", (long long)key_id);
    }
    store_stmt_put(s, st);
    return rc;
}

/* one sealed chunk of run id, decoded */
static int chunk_load_locked(Store *s, int64_t id, int64_t first_seq, Chunk *c, char *err,
                             size_t err_sz) {
    sqlite3_stmt *st = NULL;
    int rc, n_text = 0;
    memset(c, 0, sizeof(*c));
    c->iter_col = -1;
    rc = store_stmt_get(s,
                        "SELECT last_seq, n_text, layout FROM metric_chunks WHERE exp_id = ? AND"
                        " first_seq = ?",
                        &st, err, err_sz);
    if (rc) {
        return rc;
    }
    sqlite3_bind_int64(st, 1, id);
    sqlite3_bind_int64(st, 2, first_seq);
    if (sqlite3_step(st) != SQLITE_ROW) {
        store_stmt_put(s, st);
        return ag_errorf(err, err_sz, AG_ENOTFOUND, "no chunk at seq %lld", (long long)first_seq);
    }
    c->first_seq = first_seq;
    c->last_seq = sqlite3_column_int64(st, 0);
    n_text = sqlite3_column_int(st, 1);
    rc = store_layout_decode(sqlite3_column_blob(st, 2), (size_t)sqlite3_column_bytes(st, 2),
                             &c->layout);
    store_stmt_put(s, st);
    st = NULL;
    if (rc) {
        return ag_errorf(err, err_sz, rc, "chunk at seq %lld: bad layout", (long long)first_seq);
    }
    rc = chunk_columns(c);
    if (rc) {
        return ag_errorf(err, err_sz, rc, "out of memory");
    }
    rc = store_stmt_get(s,
                        "SELECT data FROM metric_blocks WHERE exp_id = ? AND key_id = ? AND"
                        " first_seq = ?",
                        &st, err, err_sz);
    for (size_t k = 0; rc == 0 && k < c->nkeys; k++) {
        size_t len;
        sqlite3_reset(st);
        sqlite3_bind_int64(st, 1, id);
        sqlite3_bind_int64(st, 2, c->key_ids[k]);
        sqlite3_bind_int64(st, 3, first_seq);
        if (sqlite3_step(st) != SQLITE_ROW) {
            rc = ag_errorf(err, err_sz, AG_EDB, "chunk at seq %lld misses the block of key %lld",
                           (long long)first_seq, (long long)c->key_ids[k]);
            break;
        }
        len = (size_t)sqlite3_column_bytes(st, 0);
        c->blobs[k] = malloc(len + 1);
        c->cols[k] = calloc(c->layout.nrows + 1, sizeof(StoreCell));
        if (!c->blobs[k] || !c->cols[k]) {
            rc = ag_errorf(err, err_sz, AG_ENOMEM, "out of memory");
            break;
        }
        if (len > 0) {
            memcpy(c->blobs[k], sqlite3_column_blob(st, 0), len);
        }
        if (store_block_decode(c->blobs[k], len, c->layout.nrows, c->cols[k]) != 0) {
            rc = ag_errorf(err, err_sz, AG_EFORMAT, "chunk at seq %lld: bad block of key %lld",
                           (long long)first_seq, (long long)c->key_ids[k]);
        }
        rc = rc ? rc : key_name_locked(s, c->key_ids[k], &c->key_json[k], err, err_sz);
        if (rc == 0 && !strcmp(c->key_json[k], "\"iteration\"")) {
            c->iter_col = (int)k;
        }
    }
    store_stmt_put(s, st);
    st = NULL;
    if (rc == 0 && n_text > 0) {
        rc = store_db_prepare(s,
                              "SELECT seq, row FROM metric_row_text WHERE exp_id = ? AND seq"
                              " BETWEEN ? AND ?",
                              &st, err, err_sz);
        if (rc == 0) {
            sqlite3_bind_int64(st, 1, id);
            sqlite3_bind_int64(st, 2, c->first_seq);
            sqlite3_bind_int64(st, 3, c->last_seq);
            size_t r = 0;
            while (rc == 0 && sqlite3_step(st) == SQLITE_ROW) {
                int64_t seq = sqlite3_column_int64(st, 0);
                while (r < c->layout.nrows && c->layout.seqs[r] < seq) {
                    r++;
                }
                if (r < c->layout.nrows && c->layout.seqs[r] == seq) {
                    c->texts[r] = strdup((const char *)sqlite3_column_text(st, 1));
                    rc = c->texts[r] ? 0 : ag_errorf(err, err_sz, AG_ENOMEM, "out of memory");
                }
            }
        }
        sqlite3_finalize(st);
    }
    if (rc) {
        chunk_free(c);
    }
    return rc;
}

/* ---- sealing ---- */

typedef struct KeyIds {
    char names[STORE_ROLLUP_KEYS][64];
    int64_t ids[STORE_ROLLUP_KEYS];
    int n;
    int hint; /* rows of a run share their key order: where the next key is looked for first */
    sqlite3_stmt *ins, *sel;
} KeyIds;

static int key_id_locked(Store *s, KeyIds *kc, const char *key, int64_t *id, char *err,
                         size_t err_sz) {
    int rc = 0;
    for (int j = 0; j < kc->n; j++) {
        int i = (kc->hint + j) % kc->n;
        if (!strcmp(kc->names[i], key)) {
            *id = kc->ids[i];
            kc->hint = i + 1;
            return 0;
        }
    }
    if (!kc->ins) {
        rc = store_stmt_get(s, "INSERT OR IGNORE INTO metric_key_ids (key) VALUES (?)", &kc->ins,
                            err, err_sz);
        rc = rc ? rc
                : store_stmt_get(s, "SELECT id FROM metric_key_ids WHERE key = ?", &kc->sel, err,
                                 err_sz);
        if (rc) {
            return rc;
        }
    }
    sqlite3_reset(kc->ins);
    sqlite3_bind_text(kc->ins, 1, key, -1, SQLITE_STATIC);
    if (sqlite3_step(kc->ins) != SQLITE_DONE) {
        return store_db_fail(s, err, err_sz, "number a metric key");
    }
    sqlite3_reset(kc->sel);
    sqlite3_bind_text(kc->sel, 1, key, -1, SQLITE_STATIC);
    if (sqlite3_step(kc->sel) != SQLITE_ROW) {
        return store_db_fail(s, err, err_sz, "number a metric key");
    }
    *id = sqlite3_column_int64(kc->sel, 0);
    if (kc->n < STORE_ROLLUP_KEYS && strlen(key) < sizeof(kc->names[0])) {
        snprintf(kc->names[kc->n], sizeof(kc->names[0]), "%s", key);
        kc->ids[kc->n++] = *id;
    }
    return 0;
}

/* StoreTailRow (store_int.h): a row of the tail, or of a batch not written yet */
typedef StoreTailRow TailRow;

/* the layout of rows (lists of key ids, shared where rows have the same keys in the same order) */
static int layout_build_locked(Store *s, KeyIds *kc, TailRow *rows, size_t n, StoreLayout *l,
                               char *err, size_t err_sz) {
    int rc = 0;
    int64_t *ids = NULL;
    size_t cap = 64;
    memset(l, 0, sizeof(*l));
    l->nrows = n;
    l->seqs = calloc(n + 1, sizeof(*l->seqs));
    l->row_list = calloc(n + 1, sizeof(*l->row_list));
    l->lists = calloc(n + 1, sizeof(*l->lists));
    l->list_len = calloc(n + 1, sizeof(*l->list_len));
    ids = calloc(cap, sizeof(*ids));
    if (!l->seqs || !l->row_list || !l->lists || !l->list_len || !ids) {
        free(ids);
        return ag_errorf(err, err_sz, AG_ENOMEM, "out of memory");
    }
    for (size_t r = 0; rc == 0 && r < n; r++) {
        size_t m = 0, li;
        l->seqs[r] = rows[r].seq;
        if (rows[r].row && rows[r].row->n > cap) {
            int64_t *more = realloc(ids, rows[r].row->n * sizeof(*ids));
            if (!more) {
                rc = ag_errorf(err, err_sz, AG_ENOMEM, "out of memory");
                break;
            }
            ids = more;
            cap = rows[r].row->n;
        }
        for (size_t f = 0; rows[r].row && f < rows[r].row->n; f++) {
            rc = rc ? rc : key_id_locked(s, kc, rows[r].row->fields[f].key, &ids[m++], err, err_sz);
        }
        for (li = 0; li < l->nlists; li++) {
            if (l->list_len[li] == m && !memcmp(l->lists[li], ids, m * sizeof(*ids))) {
                break;
            }
        }
        if (rc == 0 && li == l->nlists) {
            l->lists[li] = malloc((m + 1) * sizeof(*ids));
            if (!l->lists[li]) {
                rc = ag_errorf(err, err_sz, AG_ENOMEM, "out of memory");
                break;
            }
            memcpy(l->lists[li], ids, m * sizeof(*ids));
            l->list_len[li] = m;
            l->nlists++;
        }
        l->row_list[r] = li;
    }
    free(ids);
    return rc;
}

/* whether the blocks give a compact row's line back (StoreRow in store_int.h): the keys are
 * written as they are and in the row's order, so only the values' texts can differ; checked on
 * each value instead of writing the whole row again */
static int compact_row_same(const TailRow *t) {
    char buf[STORE_CELL_NUMBER_TEXT_MAX];
    for (size_t j = 0; j < t->row->n; j++) {
        const StoreField *f = &t->row->fields[j];
        int len = store_cell_number_text(&f->cell, buf);
        if (len < 0 || (uint32_t)len != f->value_len ||
            memcmp(buf, t->text + f->value_at, f->value_len) != 0) {
            return 0;
        }
    }
    return 1;
}

/* seals rows (seq order, already read from the tail) as one chunk and deletes them from the
 * tail */
static int chunk_seal_locked(Store *s, KeyIds *kc, int64_t id, TailRow *rows, size_t n, char *err,
                             size_t err_sz) {
    Chunk c;
    AgBuf blob, text;
    sqlite3_stmt *ins = NULL, *txt = NULL, *chunk = NULL, *del = NULL;
    int64_t min_iter = 0, max_iter = 0;
    int has_iter = 0, n_text = 0, rc;
    StoreCell *cells = NULL;
    memset(&c, 0, sizeof(c));
    c.iter_col = -1;
    if (ag_buf_init(&blob, 4096, 1u << 30) || ag_buf_init(&text, 1024, 1u << 30)) {
        ag_buf_free(&blob);
        return ag_errorf(err, err_sz, AG_ENOMEM, "out of memory");
    }
    rc = layout_build_locked(s, kc, rows, n, &c.layout, err, err_sz);
    if (rc == 0 && chunk_columns(&c) != 0) {
        rc = ag_errorf(err, err_sz, AG_ENOMEM, "out of memory");
    }
    c.first_seq = rows[0].seq;
    c.last_seq = rows[n - 1].seq;
    if (rc == 0) {
        rc = store_stmt_get(s,
                            "INSERT INTO metric_blocks (exp_id, key_id, first_seq, data) VALUES"
                            " (?, ?, ?, ?)",
                            &ins, err, err_sz);
    }
    /* the cells of every key, row by row in each row's own key order */
    if (rc == 0) {
        cells = calloc(c.nkeys * n + 1, sizeof(*cells));
        rc = cells ? 0 : ag_errorf(err, err_sz, AG_ENOMEM, "out of memory");
    }
    for (size_t r = 0; rc == 0 && r < n; r++) {
        size_t li = c.layout.row_list[r];
        for (size_t j = 0; rows[r].row && j < rows[r].row->n; j++) {
            const StoreField *f = &rows[r].row->fields[j];
            StoreCell *cell = &cells[c.list_cols[li][j] * n + r];
            *cell = f->cell; /* a JSON cell's text stays the row's */
            if (cell->kind == STORE_CELL_INT && !strcmp(f->key, "iteration")) {
                min_iter = has_iter && min_iter < cell->i ? min_iter : cell->i;
                max_iter = has_iter && max_iter > cell->i ? max_iter : cell->i;
                has_iter = 1;
            }
        }
    }
    /* each key's cells are encoded and stored; the text check below prints the cells the
     * encoder was given (its blobs decode to exactly those: test_store_block.c) */
    for (size_t k = 0; rc == 0 && k < c.nkeys; k++) {
        const char *name = NULL;
        for (int i = 0; i < kc->n && !name; i++) {
            name = kc->ids[i] == c.key_ids[k] ? kc->names[i] : NULL;
        }
        if (name) {
            c.key_json[k] = key_json_text(name);
            rc = c.key_json[k] ? 0 : ag_errorf(err, err_sz, AG_ENOMEM, "out of memory");
        } else {
            rc = key_name_locked(s, c.key_ids[k], &c.key_json[k], err, err_sz);
        }
        ag_buf_reset(&blob);
        rc = rc ? rc : store_block_encode(cells + k * n, n, &blob);
        if (rc) {
            break;
        }
        sqlite3_reset(ins);
        sqlite3_bind_int64(ins, 1, id);
        sqlite3_bind_int64(ins, 2, c.key_ids[k]);
        sqlite3_bind_int64(ins, 3, c.first_seq);
        sqlite3_bind_blob(ins, 4, blob.data, (int)blob.len, SQLITE_STATIC);
        if (sqlite3_step(ins) != SQLITE_DONE) {
            rc = store_db_fail(s, err, err_sz, "store a metric block");
            break;
        }
        c.cols[k] = cells + k * n;
    }
    if (rc == 0) {
        rc = store_stmt_get(s, "INSERT INTO metric_row_text (exp_id, seq, row) VALUES (?, ?, ?)",
                            &txt, err, err_sz);
    }
    /* a row the blocks would not give back byte for byte keeps its text */
    for (size_t r = 0; rc == 0 && r < n; r++) {
        if (rows[r].row && rows[r].row->compact) {
            if (compact_row_same(&rows[r])) {
                continue;
            }
        } else {
            rc = chunk_row_text(&c, r, &text);
            if (rc == 0 && rows[r].row && text.len == rows[r].len &&
                !memcmp(text.data, rows[r].text, text.len)) {
                continue;
            }
        }
        sqlite3_reset(txt);
        sqlite3_bind_int64(txt, 1, id);
        sqlite3_bind_int64(txt, 2, rows[r].seq);
        sqlite3_bind_text(txt, 3, rows[r].text, (int)rows[r].len, SQLITE_STATIC);
        rc = sqlite3_step(txt) == SQLITE_DONE ? 0
                                              : store_db_fail(s, err, err_sz, "store a row text");
        n_text++;
    }
    ag_buf_reset(&blob);
    rc = rc ? rc : store_layout_encode(&c.layout, &blob);
    if (rc == 0) {
        rc = store_stmt_get(s,
                            "INSERT INTO metric_chunks (exp_id, first_seq, last_seq, nrows,"
                            " min_iter, max_iter, n_text, layout) VALUES (?,?,?,?,?,?,?,?)",
                            &chunk, err, err_sz);
    }
    if (rc == 0) {
        sqlite3_bind_int64(chunk, 1, id);
        sqlite3_bind_int64(chunk, 2, c.first_seq);
        sqlite3_bind_int64(chunk, 3, c.last_seq);
        sqlite3_bind_int64(chunk, 4, (int64_t)n);
        if (has_iter) {
            sqlite3_bind_int64(chunk, 5, min_iter);
            sqlite3_bind_int64(chunk, 6, max_iter);
        }
        sqlite3_bind_int(chunk, 7, n_text);
        sqlite3_bind_blob(chunk, 8, blob.data, (int)blob.len, SQLITE_STATIC);
        if (sqlite3_step(chunk) != SQLITE_DONE) {
            rc = store_db_fail(s, err, err_sz, "store a metric chunk");
        }
    }
    if (rc == 0) {
        rc = store_stmt_get(s, "DELETE FROM metrics WHERE exp_id = ? AND seq <= ?", &del, err,
                            err_sz);
    }
    if (rc == 0) {
        sqlite3_bind_int64(del, 1, id);
        sqlite3_bind_int64(del, 2, c.last_seq);
        if (sqlite3_step(del) != SQLITE_DONE) {
            rc = store_db_fail(s, err, err_sz, "delete sealed rows");
        }
    }
    store_stmt_put(s, ins);
    store_stmt_put(s, txt);
    store_stmt_put(s, chunk);
    store_stmt_put(s, del);
    ag_buf_free(&blob);
    ag_buf_free(&text);
    /* the columns are the cells' own (chunk_free would free them one by one) */
    for (size_t k = 0; c.cols && k < c.nkeys; k++) {
        c.cols[k] = NULL;
    }
    free(cells);
    chunk_free(&c);
    return rc;
}

int store_blocks_seal_locked(Store *s, int64_t id, const StoreTailRow *pending, size_t npending,
                             int64_t over, size_t *consumed, char *err, size_t err_sz) {
    sqlite3_stmt *cnt = NULL, *rd = NULL;
    KeyIds kc = {0};
    TailRow rows[STORE_CHUNK_ROWS];
    int64_t tail = 0, left;
    size_t used = 0;
    int rc = store_stmt_get(s, "SELECT count(*) FROM metrics WHERE exp_id = ?", &cnt, err, err_sz);
    if (consumed) {
        *consumed = 0;
    }
    if (rc) {
        return rc;
    }
    sqlite3_bind_int64(cnt, 1, id);
    if (sqlite3_step(cnt) == SQLITE_ROW) {
        tail = sqlite3_column_int64(cnt, 0);
    }
    store_stmt_put(s, cnt);
    if (tail + (int64_t)npending <= over) {
        return 0;
    }
    rc = store_stmt_get(s, "SELECT seq, row FROM metrics WHERE exp_id = ? ORDER BY seq LIMIT ?",
                        &rd, err, err_sz);
    /* all but the newest row: it stays in the tail for the list's latest values */
    left = tail + (int64_t)npending - 1;
    while (rc == 0 && left > 0) {
        size_t n = 0, from_tail;
        int64_t want = left < STORE_CHUNK_ROWS ? left : STORE_CHUNK_ROWS;
        /* the stored tail first (older), then the batch's rows */
        sqlite3_reset(rd);
        sqlite3_bind_int64(rd, 1, id);
        sqlite3_bind_int64(rd, 2, want);
        while (tail > 0 && n < (size_t)want && sqlite3_step(rd) == SQLITE_ROW) {
            const char *t = (const char *)sqlite3_column_text(rd, 1);
            size_t len = (size_t)sqlite3_column_bytes(rd, 1);
            char *copy = malloc(len + 1);
            if (!copy) {
                rc = ag_errorf(err, err_sz, AG_ENOMEM, "out of memory");
                break;
            }
            memcpy(copy, t ? t : "", len + 1);
            rows[n].seq = sqlite3_column_int64(rd, 0);
            rows[n].text = copy;
            rows[n].len = len;
            rows[n].row = store_row_parse(copy, len);
            n++;
        }
        sqlite3_reset(rd);
        from_tail = n;
        while (rc == 0 && n < (size_t)want && used < npending) {
            rows[n] = pending[used++];
            n++;
        }
        if (rc == 0 && n > 0) {
            rc = chunk_seal_locked(s, &kc, id, rows, n, err, err_sz);
        }
        for (size_t r = 0; r < from_tail; r++) {
            free((char *)rows[r].text);
            store_row_free(rows[r].row);
        }
        if (n == 0) {
            break;
        }
        tail -= (int64_t)from_tail;
        left -= (int64_t)n;
    }
    store_stmt_put(s, rd);
    store_stmt_put(s, kc.ins);
    store_stmt_put(s, kc.sel);
    if (rc == 0 && consumed) {
        *consumed = used;
    }
    return rc;
}

int store_blocks_convert_locked(Store *s, char *err, size_t err_sz) {
    sqlite3_stmt *st = NULL;
    int rc = store_db_prepare(s, "SELECT id FROM experiments ORDER BY id", &st, err, err_sz);
    while (rc == 0 && sqlite3_step(st) == SQLITE_ROW) {
        rc = store_blocks_seal_locked(s, sqlite3_column_int64(st, 0), NULL, 0, STORE_CHUNK_ROWS,
                                      NULL, err, err_sz);
    }
    sqlite3_finalize(st);
    return rc;
}

/* ---- reads ---- */

static double cell_number(const StoreCell *c) {
    return c->kind == STORE_CELL_INT ? (double)c->i : c->d;
}

static int cell_numeric(const StoreCell *c) {
    return c->kind == STORE_CELL_INT || c->kind == STORE_CELL_REAL;
}

int store_blocks_rows_locked(Store *s, int64_t id, int64_t after_seq, int64_t *limit, int64_t *last,
                             int whole_chunks, StoreRowFn fn, void *ctx, char *err, size_t err_sz) {
    sqlite3_stmt *st = NULL;
    AgBuf text;
    int rc = store_stmt_get(s,
                            "SELECT first_seq FROM metric_chunks WHERE exp_id = ? AND last_seq"
                            " > ? ORDER BY first_seq",
                            &st, err, err_sz);
    *last = after_seq;
    if (rc) {
        return rc;
    }
    if (ag_buf_init(&text, 4096, 1u << 30) != 0) {
        store_stmt_put(s, st);
        return ag_errorf(err, err_sz, AG_ENOMEM, "out of memory");
    }
    sqlite3_bind_int64(st, 1, id);
    sqlite3_bind_int64(st, 2, after_seq);
    while (rc == 0 && *limit != 0 && sqlite3_step(st) == SQLITE_ROW) {
        Chunk c;
        rc = chunk_load_locked(s, id, sqlite3_column_int64(st, 0), &c, err, err_sz);
        for (size_t r = 0; rc == 0 && (*limit != 0 || whole_chunks) && r < c.layout.nrows; r++) {
            if (c.layout.seqs[r] <= after_seq) {
                continue;
            }
            rc = chunk_row_text(&c, r, &text);
            rc = rc ? ag_errorf(err, err_sz, rc, "write a sealed row")
                    : fn(ctx, c.layout.seqs[r], text.data, text.len);
            *last = c.layout.seqs[r];
            if (*limit > 0) {
                (*limit)--;
            }
        }
        chunk_free(&c);
    }
    store_stmt_put(s, st);
    ag_buf_free(&text);
    return rc;
}

static int key_id_find_locked(Store *s, const char *key, int64_t *id) {
    sqlite3_stmt *st = NULL;
    int found = 0;
    *id = 0;
    if (sqlite3_prepare_v2(s->db, "SELECT id FROM metric_key_ids WHERE key = ?", -1, &st, NULL) ==
        SQLITE_OK) {
        sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
        if (sqlite3_step(st) == SQLITE_ROW) {
            *id = sqlite3_column_int64(st, 0);
            found = 1;
        }
    }
    sqlite3_finalize(st);
    return found;
}

int store_blocks_series_locked(Store *s, int64_t id, const char *xkey, const char *ykey,
                               StoreSeriesFn fn, void *ctx, char *err, size_t err_sz) {
    sqlite3_stmt *st = NULL;
    int64_t xid, yid;
    StoreCell *xc = NULL, *yc = NULL;
    size_t cap = 0;
    int rc;
    if (!key_id_find_locked(s, xkey, &xid) || !key_id_find_locked(s, ykey, &yid)) {
        return 0;
    }
    rc = store_db_prepare(s,
                          "SELECT c.nrows, x.data, y.data FROM metric_chunks AS c"
                          " JOIN metric_blocks AS x ON x.exp_id = c.exp_id AND x.key_id = ?2 AND"
                          " x.first_seq = c.first_seq"
                          " JOIN metric_blocks AS y ON y.exp_id = c.exp_id AND y.key_id = ?3 AND"
                          " y.first_seq = c.first_seq WHERE c.exp_id = ?1 ORDER BY c.first_seq",
                          &st, err, err_sz);
    if (rc) {
        return rc;
    }
    sqlite3_bind_int64(st, 1, id);
    sqlite3_bind_int64(st, 2, xid);
    sqlite3_bind_int64(st, 3, yid);
    while (rc == 0 && sqlite3_step(st) == SQLITE_ROW) {
        size_t n = (size_t)sqlite3_column_int64(st, 0);
        if (n > cap) {
            StoreCell *nx = realloc(xc, n * sizeof(*xc)), *ny;
            if (nx) {
                xc = nx;
            }
            ny = nx ? realloc(yc, n * sizeof(*yc)) : NULL;
            if (!ny) {
                rc = ag_errorf(err, err_sz, AG_ENOMEM, "out of memory");
                break;
            }
            yc = ny;
            cap = n;
        }
        if (store_block_decode(sqlite3_column_blob(st, 1), (size_t)sqlite3_column_bytes(st, 1), n,
                               xc) != 0 ||
            store_block_decode(sqlite3_column_blob(st, 2), (size_t)sqlite3_column_bytes(st, 2), n,
                               yc) != 0) {
            rc = ag_errorf(err, err_sz, AG_EFORMAT, "a metric block of run %lld does not decode",
                           (long long)id);
            break;
        }
        for (size_t r = 0; rc == 0 && r < n; r++) {
            if (cell_numeric(&xc[r]) && cell_numeric(&yc[r])) {
                rc = fn(ctx, cell_number(&xc[r]), cell_number(&yc[r]));
            }
        }
    }
    sqlite3_finalize(st);
    free(xc);
    free(yc);
    return rc;
}

/* ---- rewinds ---- */

int store_blocks_max_iter_locked(Store *s, int64_t id, int64_t *max_iter, int *has) {
    sqlite3_stmt *st = NULL;
    *has = 0;
    if (store_stmt_get(s, "SELECT max(max_iter) FROM metric_chunks WHERE exp_id = ?", &st, NULL,
                       0) != 0) {
        return AG_EDB;
    }
    sqlite3_bind_int64(st, 1, id);
    if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL) {
        *has = 1;
        *max_iter = sqlite3_column_int64(st, 0);
    }
    store_stmt_put(s, st);
    return 0;
}

void store_blocks_cache_free(StoreBlocksCache *cache) {
    if (cache->chunk) {
        chunk_free(cache->chunk);
        free(cache->chunk);
    }
    cache->chunk = NULL;
}

int store_blocks_row_stored_locked(Store *s, StoreBlocksCache *cache, int64_t id, int64_t iteration,
                                   const char *line, size_t len, int *stored, char *err,
                                   size_t err_sz) {
    Chunk *c = cache->chunk;
    AgBuf text;
    int rc = 0;
    *stored = 0;
    if (!c || cache->min_iter > iteration || cache->max_iter < iteration) {
        sqlite3_stmt *st = NULL;
        int64_t first = 0;
        store_blocks_cache_free(cache);
        rc = store_db_prepare(s,
                              "SELECT first_seq, min_iter, max_iter FROM metric_chunks WHERE exp_id"
                              " = ? AND max_iter >= ? ORDER BY max_iter LIMIT 1",
                              &st, err, err_sz);
        if (rc) {
            return rc;
        }
        sqlite3_bind_int64(st, 1, id);
        sqlite3_bind_int64(st, 2, iteration);
        if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_int64(st, 1) <= iteration) {
            first = sqlite3_column_int64(st, 0);
            cache->min_iter = sqlite3_column_int64(st, 1);
            cache->max_iter = sqlite3_column_int64(st, 2);
        }
        sqlite3_finalize(st);
        if (first == 0) {
            return 0;
        }
        c = calloc(1, sizeof(*c));
        if (!c) {
            return ag_errorf(err, err_sz, AG_ENOMEM, "out of memory");
        }
        rc = chunk_load_locked(s, id, first, c, err, err_sz);
        if (rc) {
            free(c);
            return rc;
        }
        cache->chunk = c;
    }
    if (c->iter_col < 0 || ag_buf_init(&text, 4096, 1u << 30) != 0) {
        return 0;
    }
    for (size_t r = 0; rc == 0 && r < c->layout.nrows; r++) {
        const StoreCell *it = &c->cols[c->iter_col][r];
        if (it->kind != STORE_CELL_INT || it->i != iteration) {
            continue;
        }
        rc = chunk_row_text(c, r, &text);
        if (rc == 0 && text.len == len && !memcmp(text.data, line, len)) {
            *stored = 1;
            break;
        }
    }
    ag_buf_free(&text);
    return rc ? ag_errorf(err, err_sz, rc, "write a sealed row") : 0;
}

/* a sealed row back into the tail, with its key columns */
static int row_unseal(sqlite3_stmt *ins, int64_t id, const Chunk *c, size_t r, const AgBuf *text) {
    static const char *const columns[] = {"\"iteration\"", "\"env_steps\"", "\"return_mean\"",
                                          "\"wall_s\""};
    sqlite3_reset(ins);
    sqlite3_clear_bindings(ins);
    sqlite3_bind_int64(ins, 1, id);
    sqlite3_bind_int64(ins, 2, c->layout.seqs[r]);
    for (int q = 0; q < 4; q++) {
        for (size_t k = 0; k < c->nkeys; k++) {
            const StoreCell *cell = &c->cols[k][r];
            if (strcmp(c->key_json[k], columns[q]) || !cell_numeric(cell)) {
                continue;
            }
            if (q < 2 && cell->kind == STORE_CELL_INT) {
                sqlite3_bind_int64(ins, 3 + q, cell->i);
            } else {
                sqlite3_bind_double(ins, 3 + q, cell_number(cell));
            }
        }
    }
    sqlite3_bind_text(ins, 7, text->data, (int)text->len, SQLITE_TRANSIENT);
    return sqlite3_step(ins) == SQLITE_DONE ? 0 : AG_EDB;
}

int store_blocks_unseal_locked(Store *s, int64_t id, int64_t iteration, char *err, size_t err_sz) {
    sqlite3_stmt *st = NULL, *ins = NULL, *del = NULL, *delb = NULL, *delt = NULL;
    int64_t from = -1, *firsts = NULL;
    size_t nfirst = 0, capfirst = 0;
    AgBuf text;
    int rc = store_db_prepare(s,
                              "SELECT min(first_seq) FROM metric_chunks WHERE exp_id = ? AND"
                              " max_iter >= ?",
                              &st, err, err_sz);
    if (rc) {
        return rc;
    }
    sqlite3_bind_int64(st, 1, id);
    sqlite3_bind_int64(st, 2, iteration);
    if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL) {
        from = sqlite3_column_int64(st, 0);
    }
    sqlite3_finalize(st);
    st = NULL;
    if (from < 0) {
        return 0;
    }
    if (ag_buf_init(&text, 4096, 1u << 30) != 0) {
        return ag_errorf(err, err_sz, AG_ENOMEM, "out of memory");
    }
    rc = store_db_prepare(s,
                          "SELECT first_seq FROM metric_chunks WHERE exp_id = ? AND first_seq >= ?"
                          " ORDER BY first_seq",
                          &st, err, err_sz);
    rc = rc ? rc
            : store_db_prepare(s,
                               "INSERT INTO metrics (exp_id, seq, iteration, env_steps,"
                               " return_mean, wall_s, row) VALUES (?1,?2,?3,?4,?5,?6,?7)",
                               &ins, err, err_sz);
    rc = rc ? rc
            : store_db_prepare(s, "DELETE FROM metric_chunks WHERE exp_id = ? AND first_seq = ?",
                               &del, err, err_sz);
    rc = rc ? rc
            : store_db_prepare(s,
                               "DELETE FROM metric_blocks WHERE exp_id = ? AND key_id = ? AND"
                               " first_seq = ?",
                               &delb, err, err_sz);
    rc = rc ? rc
            : store_db_prepare(s,
                               "DELETE FROM metric_row_text WHERE exp_id = ? AND seq BETWEEN ? AND"
                               " ?",
                               &delt, err, err_sz);
    if (rc == 0) {
        sqlite3_bind_int64(st, 1, id);
        sqlite3_bind_int64(st, 2, from);
    }
    /* the chunks are listed before any is deleted */
    while (rc == 0 && sqlite3_step(st) == SQLITE_ROW) {
        if (nfirst == capfirst) {
            int64_t *more = realloc(firsts, (capfirst * 2 + 16) * sizeof(*firsts));
            if (!more) {
                rc = ag_errorf(err, err_sz, AG_ENOMEM, "out of memory");
                break;
            }
            firsts = more;
            capfirst = capfirst * 2 + 16;
        }
        firsts[nfirst++] = sqlite3_column_int64(st, 0);
    }
    for (size_t f = 0; rc == 0 && f < nfirst; f++) {
        Chunk c;
        rc = chunk_load_locked(s, id, firsts[f], &c, err, err_sz);
        if (rc) {
            break;
        }
        for (size_t r = 0; rc == 0 && r < c.layout.nrows; r++) {
            rc = chunk_row_text(&c, r, &text);
            if (rc == 0 && row_unseal(ins, id, &c, r, &text) != 0) {
                rc = store_db_fail(s, err, err_sz, "put a sealed row back");
            }
        }
        for (size_t k = 0; rc == 0 && k < c.nkeys; k++) {
            sqlite3_reset(delb);
            sqlite3_bind_int64(delb, 1, id);
            sqlite3_bind_int64(delb, 2, c.key_ids[k]);
            sqlite3_bind_int64(delb, 3, c.first_seq);
            rc = sqlite3_step(delb) == SQLITE_DONE ? 0 : store_db_fail(s, err, err_sz, "unseal");
        }
        if (rc == 0) {
            sqlite3_reset(delt);
            sqlite3_bind_int64(delt, 1, id);
            sqlite3_bind_int64(delt, 2, c.first_seq);
            sqlite3_bind_int64(delt, 3, c.last_seq);
            sqlite3_reset(del);
            sqlite3_bind_int64(del, 1, id);
            sqlite3_bind_int64(del, 2, c.first_seq);
            if (sqlite3_step(delt) != SQLITE_DONE || sqlite3_step(del) != SQLITE_DONE) {
                rc = store_db_fail(s, err, err_sz, "unseal");
            }
        }
        chunk_free(&c);
    }
    sqlite3_finalize(st);
    sqlite3_finalize(ins);
    sqlite3_finalize(del);
    sqlite3_finalize(delb);
    sqlite3_finalize(delt);
    ag_buf_free(&text);
    free(firsts);
    return rc;
}
