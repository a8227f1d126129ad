/* Write generations of the store (see store.h): counters that go up after each commit of the
 * writer connection, overall and per experiment, counted by SQLite's hooks so that no write path
 * can forget them.
 *
 * DESIGN
 * SQLite's update hook names the rowid of every row a statement writes in a rowid table; the
 * experiments table's rowid is the experiment's id, and every write of a run's metric rows,
 * roll-up or blocks also writes its experiments row (offset, last_seq, rollup_seq), so the
 * transaction's experiments rows name the runs whose answers it can change. A commit that wrote
 * no experiments row (sealing an ended run, an event, a token) or too many to name counts for
 * every run. A transaction marked as progress (store_gen_mark_progress: ingestion, roll-up) that
 * names its runs counts for them and not for the list generation. In WAL mode the WAL hook runs
 * once the commit is visible to other connections (readers), which is when the counters must go up:
 * a reader that loaded the old value may have read the old data. The commit hook counts them up
 * too, before the commit, for databases not in WAL mode (":memory:", one connection under one
 * mutex: no read can come between the count and the commit there). */
#include "store_int.h"

#include "ag_error.h"

#include <stdlib.h>
#include <string.h>

/* what SQLite's own automatic checkpoint does (its default of 1000 pages): setting a WAL hook
 * replaces it */
#define STORE_WAL_CHECKPOINT_PAGES 1000
/* the WAL's bound when commits come faster than the checkpoint thread ends it */
#define STORE_WAL_INLINE_PAGES (3 * STORE_WAL_CHECKPOINT_PAGES)

static void gen_count(Store *s) {
    if (s->gen_commit_unseen && s->gen_ntouched == 0) {
        return;
    }
    atomic_fetch_add(&s->gen_commits, 1);
    if (s->gen_ntouched == 0 || s->gen_ntouched > STORE_GEN_TOUCHED) {
        atomic_fetch_add(&s->gen_list, 1);
        atomic_fetch_add(&s->gen_runs_all, 1);
        return;
    }
    if (!s->gen_commit_progress) {
        atomic_fetch_add(&s->gen_list, 1);
    }
    for (int i = 0; i < s->gen_ntouched; i++) {
        uint64_t slot = (uint64_t)s->gen_touched[i] % STORE_GEN_SLOTS;
        atomic_fetch_add(&s->gen_run[slot], 1);
    }
}

static void on_update(void *ctx, int op, const char *db, const char *table, sqlite3_int64 rowid) {
    Store *s = ctx;
    (void)op;
    (void)db;
    if (strcmp(table, "experiments") != 0 || s->gen_ntouched > STORE_GEN_TOUCHED) {
        return;
    }
    for (int i = 0; i < s->gen_ntouched; i++) {
        if (s->gen_touched[i] == rowid) {
            return;
        }
    }
    if (s->gen_ntouched < STORE_GEN_TOUCHED) {
        s->gen_touched[s->gen_ntouched] = rowid;
    }
    s->gen_ntouched++;
}

static int on_commit(void *ctx) {
    Store *s = ctx;
    /* taken here, where every write transaction ends (one that wrote nothing has no WAL hook):
     * a mark never outlives its transaction */
    s->gen_commit_progress = s->gen_progress;
    s->gen_progress = 0;
    s->gen_commit_unseen = s->gen_unseen;
    s->gen_unseen = 0;
    gen_count(s);
    if (!s->gen_wal) {
        s->gen_ntouched = 0;
    }
    return 0; /* the commit goes on */
}

static void on_rollback(void *ctx) {
    Store *s = ctx;
    s->gen_ntouched = 0;
    s->gen_progress = 0;
    s->gen_commit_progress = 0;
    s->gen_unseen = 0;
    s->gen_commit_unseen = 0;
}

static int on_wal(void *ctx, sqlite3 *db, const char *name, int pages) {
    Store *s = ctx;
    gen_count(s);
    s->gen_ntouched = 0;
    /* the commit does not wait for a checkpoint where the checkpoint thread can take it; but a
     * thread's checkpoint never ends the WAL while commits keep coming (each adds frames it has
     * not copied yet), so past STORE_WAL_INLINE_PAGES the commit checkpoints itself, as SQLite
     * would, and the WAL starts again at the next one */
    if (pages >= STORE_WAL_INLINE_PAGES ||
        (pages >= STORE_WAL_CHECKPOINT_PAGES && !store_ckpt_request(s))) {
        sqlite3_wal_checkpoint_v2(db, name, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
        s->gen_wal_inline++;
    }
    return SQLITE_OK;
}

int store_gen_init(Store *s, char *err, size_t err_sz) {
    sqlite3_stmt *st = NULL;
    s->gen_run = calloc(STORE_GEN_SLOTS, sizeof(*s->gen_run));
    if (!s->gen_run) {
        return ag_errorf(err, err_sz, AG_ENOMEM, "out of memory");
    }
    if (sqlite3_prepare_v2(s->db, "PRAGMA journal_mode", -1, &st, NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW) {
        const char *mode = (const char *)sqlite3_column_text(st, 0);
        s->gen_wal = mode && !strcmp(mode, "wal");
    }
    sqlite3_finalize(st);
    sqlite3_update_hook(s->db, on_update, s);
    sqlite3_commit_hook(s->db, on_commit, s);
    sqlite3_rollback_hook(s->db, on_rollback, s);
    if (s->gen_wal) {
        sqlite3_wal_hook(s->db, on_wal, s);
    }
    return 0;
}

void store_gen_free(Store *s) {
    free(s->gen_run);
    s->gen_run = NULL;
}

void store_gen_mark_progress(Store *s) {
    s->gen_progress = 1;
}

void store_gen_mark_unseen(Store *s) {
    s->gen_unseen = 1;
}

uint64_t store_list_generation(Store *s) {
    return atomic_load(&s->gen_list);
}

void store_run_generations_load(Store *s, uint64_t gens[STORE_GEN_SLOTS]) {
    uint64_t all = atomic_load(&s->gen_runs_all);
    for (int i = 0; i < STORE_GEN_SLOTS; i++) {
        gens[i] = all + atomic_load(&s->gen_run[i]);
    }
}

uint64_t store_run_generation_in(const uint64_t gens[STORE_GEN_SLOTS], int64_t id) {
    return gens[(uint64_t)id % STORE_GEN_SLOTS];
}

uint64_t store_generation(Store *s) {
    return atomic_load(&s->gen_commits);
}

/* both counters only go up, so their sum changes whenever either does */
uint64_t store_run_generation(Store *s, int64_t id) {
    uint64_t slot = (uint64_t)id % STORE_GEN_SLOTS;
    return atomic_load(&s->gen_runs_all) + atomic_load(&s->gen_run[slot]);
}
