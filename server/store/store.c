/* SQLite storage of angorad, its core: connection set-up, the statement and transaction helpers
 * the other files of server/store share (store_int.h), migrations and rows as JSON (see store.h
 * for the design). */
#include "store_int.h"

#include "ag_error.h"
#include "ag_fs.h"
#include "ag_time.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define STORE_MIGRATION_MAX 1024
#define STORE_SQL_MAX       (4u << 20)
/* bytes of the database file a reader maps (SQLite caps it at its compile-time maximum) */
#define STORE_READER_MMAP "17179869184"
/* bytes a page of a new database (see store_open) */
#define STORE_PAGE_SIZE "16384"

int store_db_fail(Store *s, char *err, size_t err_sz, const char *what) {
    return ag_errorf(err, err_sz, AG_EDB, "%s: %s", what, sqlite3_errmsg(s->db));
}

int store_db_exec(Store *s, const char *sql, char *err, size_t err_sz) {
    char *msg = NULL;
    if (sqlite3_exec(s->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
        int rc = ag_errorf(err, err_sz, AG_EDB, "%s", msg ? msg : "sqlite error");
        sqlite3_free(msg);
        return rc;
    }
    return 0;
}

int store_db_prepare(Store *s, const char *sql, sqlite3_stmt **st, char *err, size_t err_sz) {
    if (sqlite3_prepare_v3(s->db, sql, -1, SQLITE_PREPARE_PERSISTENT, st, NULL) != SQLITE_OK) {
        return store_db_fail(s, err, err_sz, "prepare");
    }
    return 0;
}

/* a statement of sql not kept: finalized by store_stmt_put */
static int stmt_get_unkept(Store *s, const char *sql, sqlite3_stmt **st, char *err, size_t err_sz) {
    for (int i = 0; i < STORE_STMT_UNKEPT; i++) {
        if (!s->stmts_unkept[i]) {
            if (store_db_prepare(s, sql, st, err, err_sz)) {
                return AG_EDB;
            }
            s->stmts_unkept[i] = *st;
            return 0;
        }
    }
    return ag_errorf(err, err_sz, AG_EDB, "every statement of the connection is in use");
}

int store_stmt_get(Store *s, const char *sql, sqlite3_stmt **st, char *err, size_t err_sz) {
    StoreStmtSlot *slot = NULL;
    char *copy;
    for (int i = 0; i < STORE_STMT_CACHE; i++) {
        if (s->stmts[i].sql && !strcmp(s->stmts[i].sql, sql)) {
            if (s->stmts[i].leased) {
                /* its holder is still stepping it: resetting it here would lose its place */
                return stmt_get_unkept(s, sql, st, err, err_sz);
            }
            s->stmts[i].leased = 1;
            *st = s->stmts[i].st;
            return 0;
        }
    }
    /* the oldest slot not handed out: a statement a caller still steps (a page's, while its
     * items are read) must not be finalized under it */
    for (int i = 0; i < STORE_STMT_CACHE && !slot; i++) {
        StoreStmtSlot *c = &s->stmts[s->stmt_next++ % STORE_STMT_CACHE];
        slot = c->leased ? NULL : c;
    }
    if (!slot) {
        return stmt_get_unkept(s, sql, st, err, err_sz);
    }
    copy = strdup(sql);
    if (!copy) {
        return ag_errorf(err, err_sz, AG_ENOMEM, "out of memory");
    }
    if (store_db_prepare(s, sql, st, err, err_sz)) {
        free(copy);
        return AG_EDB;
    }
    sqlite3_finalize(slot->st);
    free(slot->sql);
    slot->sql = copy;
    slot->st = *st;
    slot->leased = 1;
    return 0;
}

void store_stmt_put(Store *s, sqlite3_stmt *st) {
    if (!st) {
        return;
    }
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    for (int i = 0; i < STORE_STMT_CACHE; i++) {
        if (s->stmts[i].st == st) {
            s->stmts[i].leased = 0;
            return;
        }
    }
    for (int i = 0; i < STORE_STMT_UNKEPT; i++) {
        if (s->stmts_unkept[i] == st) {
            sqlite3_finalize(st);
            s->stmts_unkept[i] = NULL;
            return;
        }
    }
}

/* BEGIN IMMEDIATE takes the write lock up front: two writers wait (busy timeout), never
 * deadlock on a lock upgrade */
int store_db_begin(Store *s, char *err, size_t err_sz) {
    return store_db_exec(s, "BEGIN IMMEDIATE", err, err_sz);
}

int store_db_end(Store *s, int rc, char *err, size_t err_sz) {
    if (rc == 0) {
        return store_db_exec(s, "COMMIT", err, err_sz);
    }
    sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
    return rc;
}

/* runs one bound update; AG_ENOTFOUND when it changed nothing */
int store_exec_update(Store *s, sqlite3_stmt *st, const char *what, char *err, size_t err_sz) {
    if (sqlite3_step(st) != SQLITE_DONE) {
        return store_db_fail(s, err, err_sz, what);
    }
    if (sqlite3_changes(s->db) == 0) {
        return ag_errorf(err, err_sz, AG_ENOTFOUND, "%s: no such experiment", what);
    }
    return 0;
}

int store_update_prepare(Store *s, const char *sql, sqlite3_stmt **st, char *err, size_t err_sz) {
    int rc;
    pthread_mutex_lock(&s->mu);
    rc = store_db_prepare(s, sql, st, err, err_sz);
    if (rc) {
        pthread_mutex_unlock(&s->mu);
    }
    return rc;
}

int store_update_finish(Store *s, sqlite3_stmt *st, const char *what, char *err, size_t err_sz) {
    int rc = store_exec_update(s, st, what, err, err_sz);
    sqlite3_finalize(st);
    pthread_mutex_unlock(&s->mu);
    return rc;
}

/* what a reader connection needs beside ag_in_ids: the query planner stability guarantee.
 * Without it SQLite prepares again, at its next step, a statement whose LIKE has a bound pattern
 * each time the pattern is bound (in case a prefix could use an index): every page of a name
 * search was planned anew. The store's patterns start with '%', and it keeps no statistics
 * (no ANALYZE) whose use depends on bound values, so no plan is lost. Only the readers: on the
 * writer it made the WAL of a run of large commits outgrow what test_store_gen allows (its
 * checkpoints restarted the WAL less often; not understood yet). An SQLite result code. */
static int store_reader_setup(sqlite3 *db) {
    int rc = store_idset_register(db);
    if (rc == SQLITE_OK) {
        rc = sqlite3_db_config(db, SQLITE_DBCONFIG_ENABLE_QPSG, 1, (int *)NULL);
    }
    return rc;
}

int store_open(const char *path, Store **out, char *err, size_t err_sz) {
    int rc = 0;
    Store *s = NULL;
    *out = NULL;
    if (!path || !*path) {
        return ag_errorf(err, err_sz, AG_EINVAL, "database path is empty");
    }
    s = calloc(1, sizeof(*s));
    if (!s) {
        return ag_errorf(err, err_sz, AG_ENOMEM, "out of memory");
    }
    pthread_mutex_init(&s->mu, NULL);
    if (sqlite3_open_v2(path, &s->db,
                        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX,
                        NULL) != SQLITE_OK) {
        rc = ag_errorf(err, err_sz, AG_EDB, "cannot open database %s: %s", path,
                       s->db ? sqlite3_errmsg(s->db) : "out of memory");
        goto out;
    }
    sqlite3_busy_timeout(s->db, STORE_BUSY_MS);
    if (store_idset_register(s->db) != SQLITE_OK) {
        rc = store_db_fail(s, err, err_sz, "register ag_in_ids");
        goto out;
    }
    /* pages of 16 KB for a new database (an existing one keeps its size until a VACUUM): the
     * sealed blobs of metric values are 1-2 KB each, two to a 4 KB page with a fifth of it left
     * empty, nine to a 16 KB page. WAL lets readers go on while the scheduler writes; NORMAL
     * sync is durable across a process crash (kill -9), which is what the daemon must survive */
    rc = store_db_exec(s,
                       "PRAGMA page_size=" STORE_PAGE_SIZE "; PRAGMA journal_mode=WAL;"
                       " PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;"
                       "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY,"
                       " name TEXT NOT NULL, applied_at REAL NOT NULL);",
                       err, err_sz);
    if (rc == 0) {
        rc = store_gen_init(s, err, err_sz);
    }
    if (rc == 0 && !(s->exp_items = store_exp_items_new(STORE_EXP_ITEMS_DEFAULT))) {
        rc = ag_errorf(err, err_sz, AG_ENOMEM, "out of memory");
    }
    if (rc == 0 && s->gen_wal && strcmp(path, ":memory:") != 0 && strncmp(path, "file:", 5) != 0 &&
        store_ckpt_start(s, path, err, err_sz) != 0) {
        /* an optimisation too: without the thread the WAL hook checkpoints */
        err[0] = '\0';
    }
    if (rc == 0 && strcmp(path, ":memory:") != 0 && strncmp(path, "file:", 5) != 0) {
        for (int i = 0; i < STORE_READERS; i++) {
            Store *r = calloc(1, sizeof(*r));
            if (!r) {
                break;
            }
            pthread_mutex_init(&r->mu, NULL);
            if (sqlite3_open_v2(path, &r->db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, NULL) !=
                    SQLITE_OK ||
                sqlite3_exec(r->db, "PRAGMA query_only=1", NULL, NULL, NULL) != SQLITE_OK ||
                store_reader_setup(r->db) != SQLITE_OK) {
                /* readers are an optimisation: without them everything uses the main one */
                store_close(r);
                break;
            }
            sqlite3_busy_timeout(r->db, STORE_BUSY_MS);
            /* in WAL mode a reader drops its page cache whenever another connection has
             * committed, which ingestion does all the time: mapped, its pages are read again
             * without a copy each (a list page reads about a hundred) */
            sqlite3_exec(r->db, "PRAGMA mmap_size=" STORE_READER_MMAP, NULL, NULL, NULL);
            s->readers[s->nreaders++] = r;
        }
    }
out:
    if (rc) {
        store_close(s);
        return rc;
    }
    *out = s;
    return 0;
}

/* a connection for a read-only call, locked: a free reader, else the next one in turn, else
 * the main connection; the caller unlocks the returned store's mu */
Store *store_reader_lock(Store *s) {
    Store *r;
    if (s->nreaders == 0) {
        pthread_mutex_lock(&s->mu);
        return s;
    }
    for (int i = 0; i < s->nreaders; i++) {
        if (pthread_mutex_trylock(&s->readers[i]->mu) == 0) {
            return s->readers[i];
        }
    }
    r = s->readers[__atomic_fetch_add(&s->next_reader, 1, __ATOMIC_RELAXED) %
                   (unsigned)s->nreaders];
    pthread_mutex_lock(&r->mu);
    return r;
}

int store_reader_any_experiment(Store *s, const char *where_sql) {
    char sql[256];
    sqlite3_stmt *st = NULL;
    int any = 1;
    snprintf(sql, sizeof sql, "SELECT EXISTS (SELECT 1 FROM experiments WHERE %s)", where_sql);
    Store *r = store_reader_lock(s);
    if (sqlite3_prepare_v2(r->db, sql, -1, &st, NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW) {
        any = sqlite3_column_int(st, 0);
    }
    sqlite3_finalize(st);
    pthread_mutex_unlock(&r->mu);
    return any;
}

void store_close(Store *s) {
    if (!s) {
        return;
    }
    store_ckpt_stop(s);
    for (int i = 0; i < s->nreaders; i++) {
        store_close(s->readers[i]);
    }
    for (int i = 0; i < STORE_STMT_CACHE; i++) {
        sqlite3_finalize(s->stmts[i].st);
        free(s->stmts[i].sql);
    }
    for (int i = 0; i < STORE_STMT_UNKEPT; i++) {
        sqlite3_finalize(s->stmts_unkept[i]);
    }
    sqlite3_finalize(s->bucket_upsert_many);
    if (s->db) {
        sqlite3_close_v2(s->db);
    }
    store_gen_free(s);
    store_idsets_kept_free(s);
    store_exp_items_free(s->exp_items);
    pthread_mutex_destroy(&s->mu);
    free(s);
}

/* ---- migrations ---- */

typedef struct Migration {
    int version;
    char name[256];
} Migration;

static int migration_cmp(const void *a, const void *b) {
    const Migration *x = a, *y = b;
    return (x->version > y->version) - (x->version < y->version);
}

/* NNN_name.sql files of dir, sorted; duplicates are an error */
static int migrations_scan(const char *dir, Migration *list, int max, int *n, char *err,
                           size_t err_sz) {
    DIR *d = opendir(dir);
    struct dirent *de;
    int count = 0;
    if (!d) {
        return ag_errorf(err, err_sz, AG_EIO, "cannot read migrations directory %s", dir);
    }
    while ((de = readdir(d)) != NULL) {
        const char *nm = de->d_name;
        size_t len = strlen(nm);
        char *end;
        long v;
        if (nm[0] < '0' || nm[0] > '9' || len < 5 || strcmp(nm + len - 4, ".sql") != 0) {
            continue;
        }
        v = strtol(nm, &end, 10);
        if (*end != '_' || v <= 0 || v > 1000000 || len >= sizeof(list[0].name)) {
            continue;
        }
        if (count == max) {
            closedir(d);
            return ag_errorf(err, err_sz, AG_ETOOBIG, "more than %d migrations in %s", max, dir);
        }
        list[count].version = (int)v;
        snprintf(list[count].name, sizeof(list[count].name), "%s", nm);
        count++;
    }
    closedir(d);
    qsort(list, (size_t)count, sizeof(*list), migration_cmp);
    for (int i = 1; i < count; i++) {
        if (list[i].version == list[i - 1].version) {
            return ag_errorf(err, err_sz, AG_EFORMAT, "two migrations numbered %d in %s: %s, %s",
                             list[i].version, dir, list[i - 1].name, list[i].name);
        }
    }
    *n = count;
    return 0;
}

int store_migrations_latest(const char *dir, int *version, char *err, size_t err_sz) {
    static Migration list[STORE_MIGRATION_MAX];
    static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
    int n = 0, rc;
    pthread_mutex_lock(&mu);
    rc = migrations_scan(dir, list, STORE_MIGRATION_MAX, &n, err, err_sz);
    *version = (rc == 0 && n > 0) ? list[n - 1].version : 0;
    pthread_mutex_unlock(&mu);
    return rc;
}

static int schema_version_locked(Store *s, int *version, char *err, size_t err_sz) {
    sqlite3_stmt *st = NULL;
    int rc = 0;
    *version = 0;
    if (sqlite3_prepare_v2(s->db, "SELECT coalesce(max(version), 0) FROM schema_migrations", -1,
                           &st, NULL) != SQLITE_OK) {
        return store_db_fail(s, err, err_sz, "schema version");
    }
    if (sqlite3_step(st) == SQLITE_ROW) {
        *version = sqlite3_column_int(st, 0);
    } else {
        rc = store_db_fail(s, err, err_sz, "schema version");
    }
    sqlite3_finalize(st);
    return rc;
}

int store_schema_version(Store *s, int *version, char *err, size_t err_sz) {
    int rc;
    pthread_mutex_lock(&s->mu);
    rc = schema_version_locked(s, version, err, err_sz);
    pthread_mutex_unlock(&s->mu);
    return rc;
}

/* the line of a migration that rebuilds a table: SQLite's procedure needs foreign key
 * enforcement off (dropping the old table must not cascade), and that pragma is a no-op inside a
 * transaction, so the runner sets it around the migration's transaction */
#define STORE_MIGRATION_FK_OFF "-- pragma: foreign_keys=off"

/* PRAGMA foreign_key_check: AG_EDB naming the first violation */
static int foreign_keys_check(Store *s, const char *name, char *err, size_t err_sz) {
    sqlite3_stmt *st = NULL;
    int rc = 0, step;
    if (sqlite3_prepare_v2(s->db, "PRAGMA foreign_key_check", -1, &st, NULL) != SQLITE_OK) {
        return store_db_fail(s, err, err_sz, "foreign key check");
    }
    step = sqlite3_step(st);
    if (step == SQLITE_ROW) {
        rc = ag_errorf(err, err_sz, AG_EDB,
                       "migration %s failed: row %lld of %s refers to a missing row of %s", name,
                       (long long)sqlite3_column_int64(st, 1), sqlite3_column_text(st, 0),
                       sqlite3_column_text(st, 2));
    } else if (step != SQLITE_DONE) {
        rc = store_db_fail(s, err, err_sz, "foreign key check");
    }
    sqlite3_finalize(st);
    return rc;
}

/* what a migration needs done in C after its SQL, in the same transaction */
static const struct {
    int version;
    int (*step)(Store *s, char *err, size_t err_sz);
} migration_steps[] = {{10, store_blocks_convert_locked}};

static int migration_step(Store *s, const Migration *m, char *err, size_t err_sz) {
    for (size_t i = 0; i < sizeof(migration_steps) / sizeof(migration_steps[0]); i++) {
        if (migration_steps[i].version == m->version) {
            return migration_steps[i].step(s, err, err_sz);
        }
    }
    return 0;
}

static int migration_apply(Store *s, const char *dir, const Migration *m, char *err,
                           size_t err_sz) {
    char path[1024], *sql = NULL, msg[512];
    size_t len;
    sqlite3_stmt *st = NULL;
    int rc, fk_off = 0;
    if (snprintf(path, sizeof(path), "%s/%s", dir, m->name) >= (int)sizeof(path)) {
        return ag_errorf(err, err_sz, AG_ETOOBIG, "migration path too long");
    }
    rc = ag_fs_read_file(path, STORE_SQL_MAX, &sql, &len, msg, sizeof(msg));
    if (rc) {
        return ag_errorf(err, err_sz, rc, "%s", msg);
    }
    fk_off = strstr(sql, STORE_MIGRATION_FK_OFF) != NULL;
    if (fk_off && (rc = store_db_exec(s, "PRAGMA foreign_keys=OFF", err, err_sz)) != 0) {
        goto out;
    }
    rc = store_db_begin(s, err, err_sz);
    if (rc) {
        goto out;
    }
    rc = store_db_exec(s, sql, msg, sizeof(msg));
    if (rc == 0) {
        rc = migration_step(s, m, msg, sizeof(msg));
    }
    if (rc) {
        ag_errorf(err, err_sz, rc, "migration %s failed: %s", m->name, msg);
        goto end;
    }
    if (fk_off && (rc = foreign_keys_check(s, m->name, err, err_sz)) != 0) {
        goto end;
    }
    if (sqlite3_prepare_v2(
            s->db, "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?,?,?)", -1,
            &st, NULL) != SQLITE_OK) {
        rc = store_db_fail(s, err, err_sz, "record migration");
        goto end;
    }
    sqlite3_bind_int(st, 1, m->version);
    sqlite3_bind_text(st, 2, m->name, -1, SQLITE_STATIC);
    sqlite3_bind_double(st, 3, ag_time_wall());
    if (sqlite3_step(st) != SQLITE_DONE) {
        rc = store_db_fail(s, err, err_sz, "record migration");
    }
    sqlite3_finalize(st);
end:
    rc = store_db_end(s, rc, err, err_sz);
out:
    if (fk_off) {
        sqlite3_exec(s->db, "PRAGMA foreign_keys=ON", NULL, NULL, NULL);
    }
    free(sql);
    return rc;
}

int store_migrate(Store *s, const char *dir, int target, int *applied, char *err, size_t err_sz) {
    static Migration list[STORE_MIGRATION_MAX];
    static pthread_mutex_t scan_mu = PTHREAD_MUTEX_INITIALIZER;
    int n = 0, current = 0, rc, count = 0;
    if (applied) {
        *applied = 0;
    }
    pthread_mutex_lock(&scan_mu);
    pthread_mutex_lock(&s->mu);
    rc = migrations_scan(dir, list, STORE_MIGRATION_MAX, &n, err, err_sz);
    if (rc) {
        goto out;
    }
    if (n == 0) {
        rc = ag_errorf(err, err_sz, AG_ENOTFOUND, "no migrations (NNN_name.sql) in %s", dir);
        goto out;
    }
    rc = schema_version_locked(s, &current, err, err_sz);
    if (rc) {
        goto out;
    }
    if (current > list[n - 1].version) {
        rc = ag_errorf(err, err_sz, AG_EVERSION,
                       "database schema version %d is newer than this angorad knows (%d, from "
                       "%s): upgrade angorad or use another data directory",
                       current, list[n - 1].version, dir);
        goto out;
    }
    for (int i = 0; i < n; i++) {
        if (list[i].version <= current) {
            continue;
        }
        if (target > 0 && list[i].version > target) {
            break;
        }
        rc = migration_apply(s, dir, &list[i], err, err_sz);
        if (rc) {
            goto out;
        }
        count++;
    }
out:
    pthread_mutex_unlock(&s->mu);
    pthread_mutex_unlock(&scan_mu);
    if (applied) {
        *applied = count;
    }
    return rc;
}

int store_integrity_check(Store *s, char *err, size_t err_sz) {
    sqlite3_stmt *st = NULL;
    int rc = 0;
    pthread_mutex_lock(&s->mu);
    if (sqlite3_prepare_v2(s->db, "PRAGMA integrity_check", -1, &st, NULL) != SQLITE_OK) {
        rc = store_db_fail(s, err, err_sz, "integrity check");
        goto out;
    }
    if (sqlite3_step(st) != SQLITE_ROW) {
        rc = store_db_fail(s, err, err_sz, "integrity check");
        goto out;
    }
    if (strcmp((const char *)sqlite3_column_text(st, 0), "ok") != 0) {
        rc = ag_errorf(err, err_sz, AG_EDB, "integrity check: %s", sqlite3_column_text(st, 0));
    }
out:
    sqlite3_finalize(st);
    pthread_mutex_unlock(&s->mu);
    return rc;
}

/* ---- rows as JSON ---- */

json_t *store_column_to_json(sqlite3_stmt *st, int i) {
    switch (sqlite3_column_type(st, i)) {
    case SQLITE_INTEGER:
        return json_integer(sqlite3_column_int64(st, i));
    case SQLITE_FLOAT:
        return json_real(sqlite3_column_double(st, i));
    case SQLITE_TEXT:
        return json_string((const char *)sqlite3_column_text(st, i));
    default:
        return json_null();
    }
}

/* one result row as an object; columns holding JSON text (spec, tags, row) are parsed */
json_t *store_row_to_json(sqlite3_stmt *st) {
    json_t *o = json_object();
    int n = sqlite3_column_count(st);
    for (int i = 0; o && i < n; i++) {
        const char *name = sqlite3_column_name(st, i);
        json_t *v = NULL;
        if (sqlite3_column_type(st, i) == SQLITE_TEXT &&
            (!strcmp(name, "spec") || !strcmp(name, "tags") || !strcmp(name, "row"))) {
            v = json_loads((const char *)sqlite3_column_text(st, i), 0, NULL);
        }
        if (!v) {
            v = store_column_to_json(st, i);
        }
        json_object_set_new(o, name, v ? v : json_null());
    }
    return o;
}

void store_rows_append_json(sqlite3_stmt *st, json_t *arr) {
    while (sqlite3_step(st) == SQLITE_ROW) {
        json_array_append_new(arr, store_row_to_json(st));
    }
}

int store_reader_done(Store *r, sqlite3_stmt *st, int rc, json_t *doc, json_t **out) {
    sqlite3_finalize(st);
    pthread_mutex_unlock(&r->mu);
    if (rc) {
        json_decref(doc);
        return rc;
    }
    *out = doc;
    return 0;
}
