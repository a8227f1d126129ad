/* What the files of server/store share (store.c, store_experiments.c, store_exp_list.c,
 * store_exp_search.c, store_idset.c, store_metrics.c, store_tokens.c, store_events.c, store_jobs.c,
 * store_rollup.c, store_blocks.c): the Store struct, the statement and transaction helpers and rows
 * as JSON; not a public interface.
 *
 * A public function locks s->mu for a write (store_db_begin / store_db_end around it when it
 * writes more than one statement) or store_reader_lock for a read, and unlocks what it locked
 * before returning. Helpers named *_locked expect that lock held. */
#ifndef STORE_INT_H
#define STORE_INT_H

#include "store.h"
#include "store_block.h"
#include "store_exp_items.h"

#include <jansson.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#define STORE_READERS 3
/* how long a connection waits for another one's lock */
#define STORE_BUSY_MS 5000
/* prepared statements a connection keeps (store_stmt_get): the list's variants in use at once */
#define STORE_STMT_CACHE 32
/* statements handed out beside the kept ones: a nested use of a kept statement's text while it is
 * held, or every kept one held */
#define STORE_STMT_UNKEPT 8
/* generations of runs (store_gen.c): a run's counter is slot id % STORE_GEN_SLOTS (store.h), so
 * two runs may share one (a write to either then counts as a write to both) */
/* experiments a transaction can name before its commit counts as a write to every run */
#define STORE_GEN_TOUCHED 16

/* id sets of the list's tag and name filters a connection keeps (store_idset.c): the tags and
 * searches in use at once */
#define STORE_IDSETS_KEPT 8

typedef struct StoreIdSet {
    int64_t *ids; /* ascending */
    size_t n, cap;
    /* the same ids as bits from bits_lo on, when store_idset_map built them; else NULL */
    uint64_t *bits;
    int64_t bits_lo;
    size_t bits_words;
} StoreIdSet;
/* a set kept for its filter: "t" and the tag, or "q" and the search */
typedef struct StoreIdSetKept {
    char *key; /* NULL: an empty slot */
    int64_t version;
    uint64_t used; /* idsets_tick at its last use */
    StoreIdSet set;
} StoreIdSetKept;

/* trigrams of name searches (store_exp_search.c) a connection found on EXP_Q_MANY names or more */
#define STORE_Q_COMMON 64
typedef struct StoreQCommon {
    char trigram[13]; /* "" for an empty slot */
    double at;        /* when it was found so (ag_time_now) */
} StoreQCommon;

typedef struct StoreStmtSlot {
    char *sql;
    sqlite3_stmt *st;
    int leased; /* handed out by store_stmt_get, not yet given back: not to be replaced */
} StoreStmtSlot;

typedef struct StoreCheckpointer StoreCheckpointer;

struct Store {
    sqlite3 *db;
    pthread_mutex_t mu;
    /* read-only connections for the HTTP threads (file databases only): in WAL mode they read
     * the last commit while the scheduler writes, instead of queueing behind it */
    Store *readers[STORE_READERS];
    int nreaders;
    unsigned next_reader;
    /* statements kept prepared on this connection, used under its mu; the oldest is replaced */
    StoreStmtSlot stmts[STORE_STMT_CACHE];
    unsigned stmt_next;
    /* handed out and not kept: finalized when given back */
    sqlite3_stmt *stmts_unkept[STORE_STMT_UNKEPT];
    /* the roll-up's many-row upsert, kept from batch to batch: its text takes long to parse */
    sqlite3_stmt *bucket_upsert_many;
    /* write generations (store_gen.c, the writer connection only): counted up after every
     * commit, so that an answer computed from the database can be kept until the next one */
    int gen_wal;                   /* the database is in WAL mode: commits end in the WAL hook */
    uint64_t gen_wal_inline;       /* checkpoints the WAL hook did itself (store_ckpt.c) */
    _Atomic uint64_t gen_commits;  /* every commit */
    _Atomic uint64_t gen_runs_all; /* commits that may have changed any run */
    _Atomic uint64_t gen_list;     /* commits that may have changed any list page */
    int gen_progress; /* the open transaction only adds rows (roll-up) of the runs it names */
    int gen_unseen;   /* the open transaction writes nothing any answer shows */
    int gen_commit_unseen;
    int gen_commit_progress;                /* gen_progress of the commit being counted */
    _Atomic uint64_t *gen_run;              /* STORE_GEN_SLOTS counters, commits per run slot */
    int64_t gen_touched[STORE_GEN_TOUCHED]; /* experiments rows the open transaction wrote */
    int gen_ntouched;                       /* STORE_GEN_TOUCHED + 1: too many to name */
    /* the list's kept item texts (store_exp_items.h), of the main connection, shared by its
     * readers; NULL on a reader */
    StoreExpItems *exp_items;
    /* the sealing of ended runs (store_metrics_seal_finished, one caller at a time): the list
     * generation at its last search that found nothing, when that was, and the searches run */
    /* WAL checkpoints on their own thread (store_ckpt.c); NULL: in the WAL hook */
    StoreCheckpointer *ckpt;
    int seal_idle_known;
    uint64_t seal_idle_gen;
    double seal_idle_at;
    uint64_t seal_searches;
    /* the name search's common trigrams, not read again for a while, and the trigrams it read
     * (store_exp_search.c), used under mu */
    StoreQCommon q_common[STORE_Q_COMMON];
    uint64_t q_trigram_reads;
    /* the id sets of tags and name searches read lately, valid while the list filter version
     * (migration 019) stays what it was at their read (store_idset.c), used under mu */
    StoreIdSetKept idsets_kept[STORE_IDSETS_KEPT];
    uint64_t idsets_tick;
    uint64_t idsets_hits;
};

/* the columns of an experiment in the listing and in store_exp_get_json, in answer order */
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

/* A sorted set of experiment ids a statement tests entries against with ag_in_ids(?N, id), the
 * set bound by sqlite3_bind_pointer(st, N, set, STORE_IDSET_TYPE, NULL) (store_idset.c) */
#define STORE_IDSET_TYPE "angora_idset"
/* makes ag_in_ids known to the connection; an SQLite result code */
int store_idset_register(sqlite3 *db);
/* the ids sql gives (one column, ascending, its ?1 bound to text) into set, at most max of them;
 * r locked */
int store_idset_read(Store *r, const char *sql, const char *text, size_t max, StoreIdSet *set,
                     char *err, size_t err_sz);
void store_idset_free(StoreIdSet *set);
/* gives set a bitmap of its ids for ag_in_ids (a bit test instead of a binary search) when they
 * span at most 64 ids per id held, so the map is no larger than the ids; without memory, none */
void store_idset_map(StoreIdSet *set);
/* the list filter version (migration 019) into *version, or -1 when the schema has none (then
 * nothing is kept); r locked */
int store_filter_version(Store *r, int64_t *version, char *err, size_t err_sz);
/* a copy of the set kept for (kind, text) at version into *set, *hit 1; *hit 0 when none is;
 * r locked */
int store_idset_kept_get(Store *r, char kind, const char *text, int64_t version, StoreIdSet *set,
                         int *hit, char *err, size_t err_sz);
/* keeps a copy of set for (kind, text) at version in place of the least recently used; a set that
 * cannot be copied is not kept; r locked */
void store_idset_keep(Store *r, char kind, const char *text, int64_t version,
                      const StoreIdSet *set);
void store_idsets_kept_free(Store *r);

/* How the list's name search (q) is read (store_exp_search.c): the ids of the experiments whose
 * names may hold q (a superset of the LIKE's matches, from the trigram index of migration 015):
 * fewer than EXP_Q_FEW of them as a JSON array in *ids_json (read by id), else fewer than
 * EXP_Q_MANY in *set (tested with ag_in_ids; with set NULL, as the JSON array too); neither (no
 * q, under 3 characters, not UTF-8, too common): the page scans its order testing the LIKE. r
 * locked; the caller frees *ids_json and *set. */
#define EXP_Q_FEW  256
#define EXP_Q_MANY 2048
int store_exp_q_candidates(Store *r, const char *q, char **ids_json, StoreIdSet *set, char *err,
                           size_t err_sz);

/* sets the hooks that count write generations on the writer connection (store_gen.c) */
int store_gen_init(Store *s, char *err, size_t err_sz);
/* marks the open transaction (write lock held) as one that only adds metric rows, their roll-up
 * or blocks, and updates the progress columns (last_seq, ingest_offset, latest_*, rollup_seq)
 * of the runs whose experiments rows it writes: its commit counts for those runs, not for every
 * list page */
void store_gen_mark_progress(Store *s);
/* marks the open transaction (write lock held) as one whose writes no answer shows (the daemon's
 * alive marks): its commit moves no generation, so kept answers stay valid */
void store_gen_mark_unseen(Store *s);
void store_gen_free(Store *s);

/* the checkpoint thread of a file database in WAL mode (store_ckpt.c): started by store_open,
 * woken by the WAL hook (1; 0 when there is none and the hook must checkpoint itself), stopped
 * and joined by store_close */
int store_ckpt_start(Store *s, const char *path, char *err, size_t err_sz);
int store_ckpt_request(Store *s);
void store_ckpt_stop(Store *s);
/* 1 while a checkpoint is asked for or under way */
int store_ckpt_busy(Store *s);
/* holds the thread's checkpoints back (1) or lets them go on (0): the tests' stand-in for a
 * thread that cannot keep up */
void store_ckpt_pause(Store *s, int paused);

/* AG_EDB with "what: " and SQLite's last message */
int store_db_fail(Store *s, char *err, size_t err_sz, const char *what);
/* runs SQL text without results (one or more statements) */
int store_db_exec(Store *s, const char *sql, char *err, size_t err_sz);
/* a persistent prepared statement; the caller finalizes it */
int store_db_prepare(Store *s, const char *sql, sqlite3_stmt **st, char *err, size_t err_sz);
/* a statement of sql kept prepared on this connection (under its mu): prepared once, then
 * reused; the caller gives it back to the same connection with store_stmt_put (reset, bindings
 * cleared), never finalizes it. Until then it is not replaced by another one, and a get of the
 * same text meanwhile (a nested caller) is given a statement of its own, prepared for it and
 * finalized when given back, as is a get while every kept statement is held: a caller may hold
 * STORE_STMT_CACHE + STORE_STMT_UNKEPT at once (past that AG_EDB) */
int store_stmt_get(Store *s, const char *sql, sqlite3_stmt **st, char *err, size_t err_sz);
void store_stmt_put(Store *s, sqlite3_stmt *st);
/* BEGIN IMMEDIATE; store_db_end commits when rc is 0, else rolls back, and returns its rc */
int store_db_begin(Store *s, char *err, size_t err_sz);
int store_db_end(Store *s, int rc, char *err, size_t err_sz);
/* runs one bound update; AG_ENOTFOUND when it changed nothing */
int store_exec_update(Store *s, sqlite3_stmt *st, const char *what, char *err, size_t err_sz);

/* a one-statement update under the write lock: store_update_prepare locks s->mu and prepares
 * sql (unlocking again when that fails); the caller binds, then store_update_finish runs it as
 * store_exec_update, finalizes it and unlocks */
int store_update_prepare(Store *s, const char *sql, sqlite3_stmt **st, char *err, size_t err_sz);
int store_update_finish(Store *s, sqlite3_stmt *st, const char *what, char *err, size_t err_sz);

/* a connection for a read-only call, locked: a free reader, else the next one in turn, else
 * the main connection; the caller unlocks the returned store's mu */
Store *store_reader_lock(Store *s);
/* 1 if some experiment matches where_sql (a WHERE clause over experiments), read on a reader
 * connection so that a periodic call takes the write lock only when there is work; 1 too when
 * the read fails, so that the caller's own query under the write lock decides */
int store_reader_any_experiment(Store *s, const char *where_sql);
/* ends a read that builds doc: finalizes st and unlocks r (from store_reader_lock), then gives
 * doc to *out when rc is 0 or frees it; returns rc */
int store_reader_done(Store *r, sqlite3_stmt *st, int rc, json_t *doc, json_t **out);

/* column i of the current row: integer, real, string or null */
json_t *store_column_to_json(sqlite3_stmt *st, int i);
/* one result row as an object; columns holding JSON text (spec, tags, row) are parsed */
json_t *store_row_to_json(sqlite3_stmt *st);
/* appends each remaining row of st to arr as store_row_to_json gives it */
void store_rows_append_json(sqlite3_stmt *st, json_t *arr);

/* the INSERT of one event into the journal, bound and ready to step (exp_id 0: the daemon);
 * under the caller's lock, inside its transaction if one is open */
int store_event_prepare(Store *s, int64_t exp_id, const char *kind, const char *detail,
                        sqlite3_stmt **st);

/* the (x, y) rows of store_metric_series on a locked connection */
int store_series_rows_locked(Store *s, int64_t id, const char *xkey, const char *ykey, double **xs,
                             double **ys, size_t *n, char *err, size_t err_sz);

/* the rows of store_metric_rows on a locked connection: the sealed ones, then the tail; with
 * whole_chunks those of store_metric_rows_paged */
int store_rows_each_locked(Store *s, int64_t id, int64_t after_seq, int64_t limit, int whole_chunks,
                           StoreRowFn fn, void *ctx, char *err, size_t err_sz);

/* ---- metrics lines parsed (store_rowparse.c) ---- */

/* one key of a metrics row and its value */
typedef struct StoreField {
    const char *key; /* inside the row's allocation */
    StoreCell cell;  /* a STORE_CELL_JSON cell's text is inside the row's allocation too */
    /* compact rows: where the value's text is in the line, and its length */
    uint32_t value_at, value_len;
} StoreField;

/* a metrics line that is a JSON object, as its fields in the object's order: one allocation */
typedef struct StoreRow {
    size_t n;
    /* the line is exactly {"key":value,...} over these fields, keys written as they are (no
     * escapes), values integers and reals: it is the row's text as the blocks write it again
     * if and only if each value's text is store_cell_number_text of its cell */
    int compact;
    StoreField fields[];
} StoreRow;

/* the object json_loadb(text, len, 0, ...) reads, as fields (a real, integer, null, true or
 * false cell, else the value's compact JSON text); NULL when the text is not a JSON object.
 * Flat objects of plain keys and numbers (what trainers write) are read without jansson. */
StoreRow *store_row_parse(const char *text, size_t len);
void store_row_free(StoreRow *row);
/* the value of key, or NULL when the row has none */
const StoreCell *store_row_get(const StoreRow *row, const char *key);
/* an integer or real cell as a double */
double store_cell_number(const StoreCell *cell);

static inline int store_cell_is_number(const StoreCell *cell) {
    return cell && (cell->kind == STORE_CELL_INT || cell->kind == STORE_CELL_REAL);
}

/* ---- roll-ups of metric rows (store_rollup.c) ---- */

#define STORE_ROLLUP_LEVELS 4
#define STORE_ROLLUP_KEYS   128
/* rows per bucket at each level: 256, 1024, 4096, 16384 */
extern const int64_t store_rollup_widths[STORE_ROLLUP_LEVELS];

/* the open bucket of one key at one level */
typedef struct StoreRollupAgg {
    int64_t bucket;
    int64_t n;
    double vmin, vmax, vlast;
} StoreRollupAgg;

typedef struct StoreRollupKey {
    char name[64];
    int64_t id; /* metric_key_ids.id */
    StoreRollupAgg agg[STORE_ROLLUP_LEVELS];
} StoreRollupKey;

/* finished buckets written by one statement of that many rows */
#define STORE_ROLLUP_WRITE_ROWS 64

/* a finished bucket waiting for its statement */
typedef struct StoreRollupBucket {
    int64_t key_id, width, bucket, n;
    double vmin, vmax, vlast;
} StoreRollupBucket;

/* the roll-up of rows of one run being written in one transaction */
typedef struct StoreRollup {
    Store *s;
    int64_t exp_id;
    sqlite3_stmt *upsert, *upsert_many, *key_id;
    StoreRollupBucket pending[STORE_ROLLUP_WRITE_ROWS];
    int npending;
    int nkeys;
    int hint; /* where the next key of a row is looked for first */
    StoreRollupKey keys[STORE_ROLLUP_KEYS];
} StoreRollup;

/* starts a roll-up of rows of exp_id (write lock and transaction held) */
int store_rollup_begin_locked(Store *s, StoreRollup *r, int64_t exp_id, char *err, size_t err_sz);
/* adds the numeric keys of one row, in seq order */
int store_rollup_add(StoreRollup *r, int64_t seq, const StoreRow *row, char *err, size_t err_sz);
/* when rc is 0 writes the open buckets and sets the run's rollup_seq; always releases r; returns
 * the first error */
int store_rollup_end_locked(StoreRollup *r, int64_t rollup_seq, int rc, char *err, size_t err_sz);
/* releases r without writing */
void store_rollup_abandon(StoreRollup *r);
/* deletes the run's buckets and their packs and sets its rollup_seq and packed_seq to 0 (after
 * a rewind) */
int store_rollup_drop_locked(Store *s, int64_t exp_id, char *err, size_t err_sz);

/* ---- roll-up buckets packed 64 to a row (store_rollup_pack.c) ---- */

#define STORE_PACK_BUCKETS 64
/* an entry: the bucket's offset in its pack (1 byte), n (4), min, max, last (8 each) */
#define STORE_PACK_ENTRY 29

/* one key's buckets at one level, in bucket order */
typedef struct StoreKeyBuckets {
    int64_t *bucket, *rows; /* rows: n of the bucket */
    double *vmin, *vmax, *vlast;
    size_t n, cap;
} StoreKeyBuckets;
/* appends the buckets of key at width of run id, from its packs and then its bucket rows (a read
 * transaction held); an unknown key gives none */
int store_key_buckets_read_locked(Store *s, int64_t id, const char *key, int64_t width,
                                  StoreKeyBuckets *kb, char *err, size_t err_sz);
void store_key_buckets_free(StoreKeyBuckets *kb);
/* writes one entry of a pack at p (STORE_PACK_ENTRY bytes) */
void store_pack_entry_put(unsigned char *p, int offset, int64_t n, double vmin, double vmax,
                          double vlast);
/* appends the entries of pack's blob to kb; AG_EINVAL when the blob is not whole entries with
 * offsets rising within the pack, AG_ENOMEM */
int store_pack_decode(int64_t pack, const unsigned char *blob, size_t len, StoreKeyBuckets *kb);

/* ---- metric rows sealed into blocks (store_blocks.c) ---- */

/* rows per sealed chunk at most */
#define STORE_CHUNK_ROWS 256

/* a row to seal: text and its fields (NULL when the text is not an object) */
typedef struct StoreTailRow {
    int64_t seq;
    const char *text;
    size_t len;
    StoreRow *row;
} StoreTailRow;
/* when the run's tail and the npending rows of a batch after it (not written to the tail) hold
 * more than over rows, seals all of them but the newest into chunks, oldest first;
 * *consumed (may be NULL) receives how many of the pending rows were sealed: the caller writes
 * the others to the tail (write lock and transaction held) */
int store_blocks_seal_locked(Store *s, int64_t id, const StoreTailRow *pending, size_t npending,
                             int64_t over, size_t *consumed, char *err, size_t err_sz);
/* migration 010: seals the tail of every run */
int store_blocks_convert_locked(Store *s, char *err, size_t err_sz);
/* the sealed rows after after_seq in seq order, at most *limit of them (-1: all; counted down to
 * 0), or with whole_chunks the rest of the chunk where *limit reaches 0 too; *last receives the
 * seq of the last one given (after_seq when none) */
int store_blocks_rows_locked(Store *s, int64_t id, int64_t after_seq, int64_t *limit, int64_t *last,
                             int whole_chunks, StoreRowFn fn, void *ctx, char *err, size_t err_sz);
/* each sealed row where both keys are numbers, in seq order */
typedef int (*StoreSeriesFn)(void *ctx, double x, double y);
int store_blocks_series_locked(Store *s, int64_t id, const char *xkey, const char *ykey,
                               StoreSeriesFn fn, void *ctx, char *err, size_t err_sz);
/* the largest iteration among the run's sealed rows (*has 0 when none) */
int store_blocks_max_iter_locked(Store *s, int64_t id, int64_t *max_iter, int *has);
/* the last chunk decoded by store_blocks_row_stored_locked, for a file read again in order */
typedef struct StoreBlocksCache {
    struct Chunk *chunk;
    int64_t min_iter, max_iter;
} StoreBlocksCache;
void store_blocks_cache_free(StoreBlocksCache *cache);
/* *stored 1 when a sealed row of this iteration has exactly this text */
int store_blocks_row_stored_locked(Store *s, StoreBlocksCache *cache, int64_t id, int64_t iteration,
                                   const char *line, size_t len, int *stored, char *err,
                                   size_t err_sz);
/* puts the chunks holding iteration or later ones back into the tail (before a rewind) */
int store_blocks_unseal_locked(Store *s, int64_t id, int64_t iteration, char *err, size_t err_sz);

#endif
