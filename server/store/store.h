/* angorad's storage: one SQLite database in the daemon's data directory (WAL, busy timeout,
 * BEGIN IMMEDIATE for every write so writers never deadlock), the migration runner, and typed
 * access to experiments, metric rows, tokens and events.
 *
 * DESIGN
 * One connection guarded by a mutex serves the HTTP threads and the scheduler; every public
 * function takes the mutex, so a function is one atomic unit (a write is one transaction).
 * Metric rows and the byte offset they were read up to are committed together, which makes
 * ingestion exactly-once across crashes. Older rows of a run are kept by key in compact blocks,
 * sealed in that same transaction (store_blocks.c); every row still reads back byte for byte. */
#ifndef STORE_H
#define STORE_H

#include "ag_buf.h"

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

typedef struct Store Store;

#define STORE_STATE_MAX     16
#define STORE_PATH_MAX      512
#define STORE_SLURM_JOB_MAX 32

/* opens (creating) the database file; ":memory:" works for tests */
int store_open(const char *path, Store **out, char *err, size_t err_sz);
void store_close(Store *s);

/* Applies the numbered NNN_name.sql files of dir above the current version, each in its own
 * transaction recorded in schema_migrations; target 0 means all. A database newer than the
 * newest file is refused with AG_EVERSION. *applied (may be NULL) counts applied files. */
int store_migrate(Store *s, const char *dir, int target, int *applied, char *err, size_t err_sz);
/* highest applied migration (0 for an empty database) */
int store_schema_version(Store *s, int *version, char *err, size_t err_sz);
/* newest migration number found in dir */
int store_migrations_latest(const char *dir, int *version, char *err, size_t err_sz);
/* PRAGMA integrity_check; AG_EDB with its first message when not "ok" */
int store_integrity_check(Store *s, char *err, size_t err_sz);

/* Write generations, for answers kept in memory (the API's response cache and its ETags): a
 * counter that goes up after every write committed through s, and one per experiment that goes
 * up after every commit that wrote its row (ingestion, roll-up, state, tags, deletion...) or
 * cannot say which experiments it wrote. Both are counted up once the commit is visible to every
 * connection, so an answer read after loading a generation is at least as new as it: if the
 * generation is still the same later, so is the answer. Neither goes back, nor repeats a value
 * within the life of s. The daemon's own "alive" marks (store_life_alive) change no answer and
 * count for neither. */
uint64_t store_generation(Store *s);
uint64_t store_run_generation(Store *s, int64_t id);
/* What a page of the experiment list shows changes with a commit that store_list_generation
 * counts, or with a commit of one of its own experiments, unless the page is sorted by return
 * or progress: a commit that only adds a run's metric rows (or its roll-up) counts for that run
 * alone. So a page read after loading the list generation and every run's generation (into
 * gens, STORE_GEN_SLOTS of them) is the same while the sum of the list generation and its
 * items' generations is. */
#define STORE_GEN_SLOTS 4096
uint64_t store_list_generation(Store *s);
void store_run_generations_load(Store *s, uint64_t gens[STORE_GEN_SLOTS]);
/* the generation of run id in gens (from store_run_generations_load) */
uint64_t store_run_generation_in(const uint64_t gens[STORE_GEN_SLOTS], int64_t id);

/* ---- experiments ---- */

typedef struct StoreExpNew {
    const char *name;
    const char *task;
    const char *spec_json; /* complete spec (defaults filled) */
    const char *tags_json; /* JSON array of strings; NULL for [] */
    const char *notes;     /* NULL for "" */
    const char *kind;      /* "train", "evaluate", "analysis" or "pretrain"; NULL for train */
    int64_t parent_id;     /* the run a job evaluates or analyses, 0 for none */
    int priority;
    int ranks;
    const char *executor; /* "local" or "slurm"; NULL for local */
} StoreExpNew;

/* inserts a queued experiment with run_dir = runs_root/<id> in the same transaction */
int store_exp_insert(Store *s, const StoreExpNew *e, const char *runs_root, int64_t *id, char *err,
                     size_t err_sz);
/* the experiment as a JSON object (spec and tags parsed); AG_ENOTFOUND if absent */
int store_exp_get_json(Store *s, int64_t id, json_t **out, char *err, size_t err_sz);

typedef struct StoreExpFilter {
    const char *state; /* NULL for any */
    const char *task;
    const char *tag;
    int64_t cursor; /* list ids below this (newest first); 0 starts at the newest */
    int limit;      /* 1..1000 */
    /* store_exp_list_page only: */
    const char *q;     /* case-insensitive substring of the name; NULL for any */
    const char *sort;  /* a STORE_EXP_SORTS name; NULL for "submitted" */
    int ascending;     /* 0 lists newest/largest first */
    const char *after; /* next cursor of the previous page of the same sort and order */
    int64_t parent_id; /* jobs of this experiment (evaluations); 0 for any */
} StoreExpFilter;

/* the sort keys of store_exp_list_page; empty values (never started, no metrics) come last */
#define STORE_EXP_SORTS                                                                            \
    "submitted, name, task, state, priority, started, finished, return, progress"
#define STORE_CURSOR_MAX 1024
/* 1 if sort is one of STORE_EXP_SORTS */
int store_exp_sort_known(const char *sort);
/* the default order of a sort key: 1 ascending (name, task, state), 0 descending (the others,
 * newest or largest first; NULL is "submitted") */
int store_exp_sort_ascending(const char *sort);

/* a JSON array of experiments without their spec; *next is the cursor of the next page or 0 */
int store_exp_list_json(Store *s, const StoreExpFilter *f, json_t **out, int64_t *next, char *err,
                        size_t err_sz);
/* one page of experiments filtered, searched and sorted (ties broken by id in the same order),
 * each with its budget_env_steps and the latest_* values of its newest metric row. next receives
 * the opaque cursor of the following page ("" on the last one): a decimal id for "submitted",
 * else a hex token bound to the sort and order. A malformed cursor or unknown sort gives
 * AG_EINVAL. */
int store_exp_list_page(Store *s, const StoreExpFilter *f, json_t **out, char *next, size_t next_sz,
                        char *err, size_t err_sz);

/* the SELECT that store_exp_list_page would run for f now (its parameters unbound) into sql,
 * for an EXPLAIN QUERY PLAN; AG_EINVAL as store_exp_list_page for a bad sort or cursor */
int store_exp_list_page_sql(Store *s, const StoreExpFilter *f, char *sql, size_t sql_sz, char *err,
                            size_t err_sz);
/* the trigrams of list searches (q=) read from the index of names, on every connection: a
 * trigram found on many names is not read again for a while (store_exp_search.c) */
uint64_t store_exp_q_trigram_reads(Store *s);
/* the pages whose tag or name search took its ids from a set kept since an earlier page, on every
 * connection (store_idset.c) */
uint64_t store_idset_kept_hits(Store *s);

/* what the API derives a listed experiment's steps/s, duration and ETA from: its values as
 * json_number_value reads them in the item (0 for null or anything but a finite number) */
typedef struct StoreExpPace {
    int64_t id;  /* the experiment */
    int running; /* state is "running" */
    double latest_env_steps;
    double latest_wall_s;
    double budget_env_steps;
    double started_at;
    double finished_at;
} StoreExpPace;
/* appends the last members of a listed item (",\"key\":value"...) before its '}'; 0 or an
 * AgBuf error */
typedef int (*StoreExpItemFn)(AgBuf *out, const StoreExpPace *p, void *ctx);
/* store_exp_list_page written as JSON text: the array of items appended to out, each member for
 * member and byte for byte what json_dumps(JSON_COMPACT) of store_exp_list_page's object gives,
 * followed by what fn (may be NULL) appends. On failure out is left as it was. */
int store_exp_list_page_text(Store *s, const StoreExpFilter *f, AgBuf *out, StoreExpItemFn fn,
                             void *ctx, char *next, size_t next_sz, char *err, size_t err_sz);

/* what the scheduler needs of a run */
typedef struct StoreRun {
    int64_t id;
    char state[STORE_STATE_MAX];
    char kind[STORE_STATE_MAX];
    char request[STORE_STATE_MAX]; /* "", "cancel" or "pause" */
    int priority;
    int ranks;
    int attempts;
    int pid;
    long long pid_start;
    double request_at;
    int64_t parent_id;
    int64_t ingest_offset;
    int64_t last_seq;
    char run_dir[STORE_PATH_MAX];
    char phase[STORE_STATE_MAX]; /* an analysis job's step: "", "recording", "analyzing", "done" */
    char executor[STORE_STATE_MAX];      /* "local" or "slurm", decided when it was submitted */
    char slurm_job[STORE_SLURM_JOB_MAX]; /* the Slurm job of the current attempt, "" for none */
    int slurm_restarts;                  /* requeues of that job seen so far */
} StoreRun;

int store_run_get(Store *s, int64_t id, StoreRun *out, char *err, size_t err_sz);
/* runs in a state ordered by priority (high first) then id; at most max, count in *n */
int store_runs_in_state(Store *s, const char *state, StoreRun *out, int max, int *n, char *err,
                        size_t err_sz);
/* queued -> running with the worker's pid; attempts is the new count. AG_ENOTFOUND when the
 * run is no longer queued (a cancel or pause, or a delete, came while its worker started) */
int store_run_started(Store *s, int64_t id, int pid, long long pid_start, int attempts, char *err,
                      size_t err_sz);
/* -> state ("succeeded", "failed", "cancelled", "paused" or "queued"); clears pid and request;
 * error may be NULL; terminal states set finished_at */
int store_run_set_state(Store *s, int64_t id, const char *state, const char *error, char *err,
                        size_t err_sz);

/* counts one failed attempt of a run; *attempts receives the new count */
int store_run_add_attempt(Store *s, int64_t id, int *attempts, char *err, size_t err_sz);

/* user requests: cancel/pause act at once on queued or paused runs and are recorded for the
 * scheduler on running ones; resume moves paused back to queued. AG_ESTATE when not allowed,
 * AG_ENOTFOUND for an unknown id. *new_state (may be NULL) receives the state afterwards. */
int store_exp_cancel(Store *s, int64_t id, char *new_state, char *err, size_t err_sz);
int store_exp_pause(Store *s, int64_t id, char *new_state, char *err, size_t err_sz);
int store_exp_resume(Store *s, int64_t id, char *new_state, char *err, size_t err_sz);
/* deletes a finished experiment and its rows; run_dir receives its directory (to remove) */
int store_exp_delete(Store *s, int64_t id, char *run_dir, size_t run_dir_sz, char *err,
                     size_t err_sz);
/* replaces tags (JSON array text) and/or notes (NULL leaves a field unchanged) */
int store_exp_annotate(Store *s, int64_t id, const char *tags_json, const char *notes, char *err,
                       size_t err_sz);
/* experiments per state as {"queued": n, ...} (every state present) */
int store_exp_counts(Store *s, json_t **out, char *err, size_t err_sz);

/* ---- jobs of a run: evaluations and analyses (store_jobs.c) ---- */

/* the step a running analysis job is in ("recording", "analyzing", "done") and the process of
 * that step (pid 0 clears it); AG_ENOTFOUND unless the job exists and is running */
int store_run_phase(Store *s, int64_t id, const char *phase, int pid, long long pid_start,
                    char *err, size_t err_sz);
/* the jobs of kind (NULL for every kind) whose parent is parent_id, newest first, at most limit
 * (1..1000): {id, name, kind, state, phase, spec, attempts, error, submitted_at, started_at,
 * finished_at} each, the spec parsed */
int store_jobs_json(Store *s, int64_t parent_id, const char *kind, int limit, json_t **out,
                    char *err, size_t err_sz);

/* ---- runs on Slurm (store_slurm.c) ---- */

/* queued -> running as Slurm job job_id (state PENDING until seen otherwise);
 * attempts is the new count. AG_ENOTFOUND when the run is no longer queued. */
int store_run_submitted(Store *s, int64_t id, const char *job_id, int attempts, char *err,
                        size_t err_sz);
/* what Slurm last said of the run's job: its state, pending reason and nodes (NULL or "" for
 * none) and its restart count */
int store_run_slurm_seen(Store *s, int64_t id, const char *state, const char *reason,
                         const char *nodes, int restarts, char *err, size_t err_sz);

/* ---- metrics ---- */

/* one batch of complete metrics.jsonl lines read up to new_offset: parses each row, assigns
 * sequence numbers after last_seq and commits rows and offset together. A row whose iteration
 * is not above the newest stored one is either the stored row of that iteration, byte for byte
 * (a resumed run's file read again from the start: skipped, it keeps its seq), or means the run
 * rewound to a checkpoint: the stored rows from that iteration on are replaced. Lines that are not
 * JSON objects are skipped and journaled. *rows_added (may be NULL) counts inserted rows; first_seq
 * (may be NULL) the first new seq. */
int store_metrics_ingest(Store *s, int64_t id, const char *const *lines, const size_t *lens,
                         size_t n, int64_t new_offset, size_t *rows_added, int64_t *first_seq,
                         char *err, size_t err_sz);
/* the same, also giving each line's sequence number in seqs[i] (0 for a skipped line) */
int store_metrics_ingest_seqs(Store *s, int64_t id, const char *const *lines, const size_t *lens,
                              size_t n, int64_t new_offset, int64_t *seqs, size_t *rows_added,
                              int64_t *first_seq, char *err, size_t err_sz);
/* sets the stored offset alone (a file that shrank is re-read from 0) */
int store_metrics_set_offset(Store *s, int64_t id, int64_t offset, char *err, size_t err_sz);
/* numeric keys seen in a run's rows, sorted */
int store_metric_keys(Store *s, int64_t id, json_t **out, char *err, size_t err_sz);
/* (x, y) pairs of key y over key x (NULL x: "iteration") ordered by seq; rows lacking y are
 * skipped; *xs and *ys are malloc'd */
int store_metric_series(Store *s, int64_t id, const char *xkey, const char *ykey, double **xs,
                        double **ys, size_t *n, char *err, size_t err_sz);
/* A series for a chart: key y over key x (NULL x: "iteration") as buckets of x (the x of the
 * bucket's last row), min, max and last y. A run whose roll-up is complete and long enough that
 * its finest roll-up level has points / 2 buckets or more is read from the coarsest level that
 * has that many (store_rollup.c); other runs, and keys without buckets, give one bucket per row
 * (min = max = last = y), rows lacking x or y skipped. rows counts the rows the series covers. */
typedef struct StoreSeries {
    double *x, *vmin, *vmax, *vlast; /* n each */
    size_t n;
    int64_t rows;
    int64_t width; /* rows per bucket read from the roll-up; 0 when read from the rows */
} StoreSeries;
int store_metric_series_points(Store *s, int64_t id, const char *xkey, const char *ykey,
                               size_t points, StoreSeries *out, char *err, size_t err_sz);
void store_series_free(StoreSeries *ser);
/* rolls up the stored rows of runs whose roll-up is behind (databases of earlier versions,
 * rewinds), one chunk per transaction, until none is behind or budget_s has passed; *rows
 * counts the rows rolled up */
int store_metrics_rollup_catchup(Store *s, double budget_s, int64_t *rows, char *err,
                                 size_t err_sz);
/* packs the finished roll-up buckets of runs whose packs are behind (ingestion, databases of
 * earlier versions), one run per transaction, until none is behind or budget_s has passed;
 * *packs counts the packs written */
int store_metrics_rollup_pack(Store *s, double budget_s, int64_t *packs, char *err, size_t err_sz);
/* seals into blocks the rows an ended run (succeeded, failed, cancelled) still keeps as text,
 * all but its newest, one run per transaction, until none is left or budget_s has passed; *runs
 * counts the runs sealed */
int store_metrics_seal_finished(Store *s, double budget_s, int64_t *runs, char *err, size_t err_sz);
/* how many times store_metrics_seal_finished has searched the tail for ended runs: a search that
 * found nothing is not repeated until a commit the list sees, or a minute has passed */
uint64_t store_metrics_seal_searches(Store *s);
/* WAL checkpoints done by the store's checkpoint thread since it opened (file databases) */
uint64_t store_wal_checkpoints(Store *s);
/* calls fn for each row with seq > after_seq in order, at most limit (0 = all) */
typedef int (*StoreRowFn)(void *ctx, int64_t seq, const char *row_json, size_t len);
int store_metric_rows(Store *s, int64_t id, int64_t after_seq, int64_t limit, StoreRowFn fn,
                      void *ctx, char *err, size_t err_sz);
/* the same for a reader that pages through a long series (the stream's backlog): at least
 * min_rows rows when there are so many, then the rest of the sealed chunk the last of them is in
 * (chunks hold at most 256 rows), so that a page ends where a chunk does and no chunk is decoded
 * twice. Fewer than min_rows (fn never stopping it): the series has no more rows now. fn
 * returning non-zero stops the read, and is returned. */
int store_metric_rows_paged(Store *s, int64_t id, int64_t after_seq, int64_t min_rows,
                            StoreRowFn fn, void *ctx, char *err, size_t err_sz);
/* total metric rows stored */
int store_metric_count(Store *s, int64_t *n, char *err, size_t err_sz);

/* ---- tokens ---- */

int store_token_add(Store *s, const char *hash_hex, const char *scope, const char *name,
                    int64_t *id, char *err, size_t err_sz);
/* scope of a live token with that hash; AG_ENOTFOUND for unknown or revoked ones */
int store_token_lookup(Store *s, const char *hash_hex, char *scope, size_t scope_sz, char *err,
                       size_t err_sz);
int store_token_revoke(Store *s, int64_t id, char *err, size_t err_sz);
int store_token_list(Store *s, json_t **out, char *err, size_t err_sz);

/* ---- the daemon's lives (store_life.c) ---- */

/* how an earlier life of angorad on this database ended, as the next start finds it */
typedef struct StoreLife {
    int known;         /* 0: no life recorded (a database from before migration 013) */
    int64_t id;        /* its row */
    int pid;           /* angorad's pid in that life */
    double started_at; /* wall clock (s since the epoch) */
    double alive_at;   /* the last time it said it was alive */
    int stopped;       /* 1: it shut down cleanly, at stopped_at; 0: it was ended from outside */
    double stopped_at;
} StoreLife;

/* begins a life of angorad (pid) at now: the newest life recorded so far into *previous (known
 * 0 when there is none), then the new one recorded, its row into *id; older lives than the last
 * STORE_LIVES_KEPT are forgotten. One transaction. */
#define STORE_LIVES_KEPT 16
int store_life_begin(Store *s, int pid, double now, StoreLife *previous, int64_t *id, char *err,
                     size_t err_sz);
/* life id is alive at now; commits that only do this change no answer (no generation moves) */
int store_life_alive(Store *s, int64_t id, double now, char *err, size_t err_sz);
/* life id shuts down cleanly at now: the last write of a clean shutdown */
int store_life_stopped(Store *s, int64_t id, double now, char *err, size_t err_sz);

/* ---- events ---- */

/* journals something that happened to an experiment (exp_id 0 for the daemon itself) */
int store_event_add(Store *s, int64_t exp_id, const char *kind, const char *detail);
int store_event_list(Store *s, int64_t exp_id, int limit, json_t **out, char *err, size_t err_sz);
/* when the newest event of that kind was journaled for the experiment; AG_ENOTFOUND if never */
int store_event_last_at(Store *s, int64_t exp_id, const char *kind, double *at, char *err,
                        size_t err_sz);

#endif
