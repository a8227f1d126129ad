/* SQLite storage of angorad: connection set-up, migrations, experiments, metrics, tokens and
 * events (see store.h for the design). */
#include "store.h"

#include "ag_error.h"
#include "ag_fs.h"
#include "ag_log.h"
#include "ag_time.h"

#include <dirent.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define STORE_BUSY_MS       5000
#define STORE_MIGRATION_MAX 1024
#define STORE_SQL_MAX       (4u << 20)

#define STORE_READERS 3

struct Store {
    sqlite3 *db;
    pthread_mutex_t mu;
    /* read-only connections for the HTTP threads (file databases only): in WAL mode they read
     * the last commit while the scheduler writes, instead of queueing behind it */
    Store *readers[STORE_READERS];
    int nreaders;
    unsigned next_reader;
};

static int db_fail(Store *s, char *err, size_t err_sz, const char *what) {
    return ag_errorf(err, err_sz, AG_EDB, "%s: %s", what, sqlite3_errmsg(s->db));
}

static int db_exec(Store *s, const char *sql, char *err, size_t err_sz) {
    char *msg = NULL;
    if (sqlite3_exec(s->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
        int rc = ag_errorf(err, err_sz, AG_EDB, "%s", msg ? msg : "sqlite error");
        sqlite3_free(msg);
        return rc;
    }
    return 0;
}

static int db_prepare(Store *s, const char *sql, sqlite3_stmt **st, char *err, size_t err_sz) {
    if (sqlite3_prepare_v3(s->db, sql, -1, SQLITE_PREPARE_PERSISTENT, st, NULL) != SQLITE_OK) {
        return db_fail(s, err, err_sz, "prepare");
    }
    return 0;
}

/* BEGIN IMMEDIATE takes the write lock up front: two writers wait (busy timeout), never
 * deadlock on a lock upgrade */
static int db_begin(Store *s, char *err, size_t err_sz) {
    return db_exec(s, "BEGIN IMMEDIATE", err, err_sz);
}

static int db_end(Store *s, int rc, char *err, size_t err_sz) {
    if (rc == 0) {
        return db_exec(s, "COMMIT", err, err_sz);
    }
    sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
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
    /* WAL lets readers go on while the scheduler writes; NORMAL sync is durable across a
     * process crash (kill -9), which is what the daemon must survive */
    rc = db_exec(s,
                 "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;"
                 "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY,"
                 " name TEXT NOT NULL, applied_at REAL NOT NULL);",
                 err, err_sz);
    if (rc == 0 && strcmp(path, ":memory:") != 0 && strncmp(path, "file:", 5) != 0) {
        for (int i = 0; i < STORE_READERS; i++) {
            Store *r = calloc(1, sizeof(*r));
            if (!r) {
                break;
            }
            pthread_mutex_init(&r->mu, NULL);
            if (sqlite3_open_v2(path, &r->db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, NULL) !=
                    SQLITE_OK ||
                sqlite3_exec(r->db, "PRAGMA query_only=1", NULL, NULL, NULL) != SQLITE_OK) {
                /* readers are an optimisation: without them everything uses the main one */
                store_close(r);
                break;
            }
            sqlite3_busy_timeout(r->db, STORE_BUSY_MS);
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
static Store *reader_lock(Store *s) {
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

void store_close(Store *s) {
    if (!s) {
        return;
    }
    for (int i = 0; i < s->nreaders; i++) {
        store_close(s->readers[i]);
    }
    if (s->db) {
        sqlite3_close_v2(s->db);
    }
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
        return db_fail(s, err, err_sz, "schema version");
    }
    if (sqlite3_step(st) == SQLITE_ROW) {
        *version = sqlite3_column_int(st, 0);
    } else {
        rc = db_fail(s, err, err_sz, "schema version");
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

static int migration_apply(Store *s, const char *dir, const Migration *m, char *err,
                           size_t err_sz) {
    char path[1024], *sql = NULL, msg[512];
    size_t len;
    sqlite3_stmt *st = NULL;
    int rc;
    if (snprintf(path, sizeof(path), "%s/%s", dir, m->name) >= (int)sizeof(path)) {
        return ag_errorf(err, err_sz, AG_ETOOBIG, "migration path too long");
    }
    rc = ag_fs_read_file(path, STORE_SQL_MAX, &sql, &len, msg, sizeof(msg));
    if (rc) {
        return ag_errorf(err, err_sz, rc, "%s", msg);
    }
    rc = db_begin(s, err, err_sz);
    if (rc) {
        goto out;
    }
    rc = db_exec(s, sql, msg, sizeof(msg));
    if (rc) {
        ag_errorf(err, err_sz, rc, "migration %s failed: %s", m->name, msg);
        goto end;
    }
    if (sqlite3_prepare_v2(
            s->db, "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?,?,?)", -1,
            &st, NULL) != SQLITE_OK) {
        rc = db_fail(s, err, err_sz, "record migration");
        goto end;
    }
    sqlite3_bind_int(st, 1, m->version);
    sqlite3_bind_text(st, 2, m->name, -1, SQLITE_STATIC);
    sqlite3_bind_double(st, 3, ag_time_wall());
    if (sqlite3_step(st) != SQLITE_DONE) {
        rc = db_fail(s, err, err_sz, "record migration");
    }
    sqlite3_finalize(st);
end:
    rc = db_end(s, rc, err, err_sz);
out:
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
        rc = db_fail(s, err, err_sz, "integrity check");
        goto out;
    }
    if (sqlite3_step(st) != SQLITE_ROW) {
        rc = db_fail(s, err, err_sz, "integrity check");
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

/* one result row as an object; columns holding JSON text (spec, tags, row) are parsed */
static json_t *row_to_json(sqlite3_stmt *st) {
    json_t *o = json_object();
    int n = sqlite3_column_count(st);
    for (int i = 0; o && i < n; i++) {
        const char *name = sqlite3_column_name(st, i);
        json_t *v = NULL;
        switch (sqlite3_column_type(st, i)) {
        case SQLITE_INTEGER:
            v = json_integer(sqlite3_column_int64(st, i));
            break;
        case SQLITE_FLOAT:
            v = json_real(sqlite3_column_double(st, i));
            break;
        case SQLITE_TEXT: {
            const char *t = (const char *)sqlite3_column_text(st, i);
            if (!strcmp(name, "spec") || !strcmp(name, "tags") || !strcmp(name, "row")) {
                v = json_loads(t, 0, NULL);
            }
            if (!v) {
                v = json_string(t);
            }
            break;
        }
        default:
            v = json_null();
        }
        json_object_set_new(o, name, v ? v : json_null());
    }
    return o;
}

#define EXP_COLUMNS                                                                                \
    "id, name, task, kind, parent_id, state, priority, ranks, attempts, submitted_at, "            \
    "started_at, finished_at, error, run_dir, pid, tags, notes, last_seq, request, "               \
    "budget_env_steps, latest_iteration, latest_env_steps, latest_return, latest_task_metric, "    \
    "latest_task_key"

/* ---- experiments ---- */

int store_exp_insert(Store *s, const StoreExpNew *e, const char *runs_root, int64_t *id, char *err,
                     size_t err_sz) {
    sqlite3_stmt *st = NULL;
    int rc = 0;
    char dir[STORE_PATH_MAX];
    pthread_mutex_lock(&s->mu);
    rc = db_begin(s, err, err_sz);
    if (rc) {
        goto out;
    }
    rc = db_prepare(s,
                    "INSERT INTO experiments (name, task, spec, priority, ranks, tags, notes, kind,"
                    " parent_id, submitted_at) VALUES (?,?,?,?,?,?,?,?,?,?)",
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
    if (sqlite3_step(st) != SQLITE_DONE) {
        rc = db_fail(s, err, err_sz, "insert experiment");
        goto end;
    }
    *id = sqlite3_last_insert_rowid(s->db);
    sqlite3_finalize(st);
    st = NULL;
    if (snprintf(dir, sizeof(dir), "%s/%lld", runs_root, (long long)*id) >= (int)sizeof(dir)) {
        rc = ag_errorf(err, err_sz, AG_ETOOBIG, "run directory path too long");
        goto end;
    }
    rc = db_prepare(s,
                    "UPDATE experiments SET run_dir = ?,"
                    " budget_env_steps = json_extract(spec, '$.budget.env_steps') WHERE id = ?",
                    &st, err, err_sz);
    if (rc) {
        goto end;
    }
    sqlite3_bind_text(st, 1, dir, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, *id);
    if (sqlite3_step(st) != SQLITE_DONE) {
        rc = db_fail(s, err, err_sz, "set run directory");
    }
end:
    sqlite3_finalize(st);
    rc = db_end(s, rc, err, err_sz);
out:
    pthread_mutex_unlock(&s->mu);
    return rc;
}

int store_exp_get_json(Store *s, int64_t id, json_t **out, char *err, size_t err_sz) {
    sqlite3_stmt *st = NULL;
    int rc = 0, step;
    *out = NULL;
    s = reader_lock(s);
    rc = db_prepare(s,
                    "SELECT " EXP_COLUMNS ", spec, ingest_offset, "
                    "(SELECT count(*) FROM metrics WHERE exp_id = e.id) AS metric_rows, "
                    "(SELECT max(iteration) FROM metrics WHERE exp_id = e.id) AS last_iteration "
                    "FROM experiments AS e WHERE id = ?",
                    &st, err, err_sz);
    if (rc) {
        goto out;
    }
    sqlite3_bind_int64(st, 1, id);
    step = sqlite3_step(st);
    if (step == SQLITE_ROW) {
        *out = row_to_json(st);
    } else if (step == SQLITE_DONE) {
        rc = ag_errorf(err, err_sz, AG_ENOTFOUND, "no experiment %lld", (long long)id);
    } else {
        rc = db_fail(s, err, err_sz, "get experiment");
    }
out:
    sqlite3_finalize(st);
    pthread_mutex_unlock(&s->mu);
    return rc;
}

/* a sort key: its SQL expression, how a cursor value binds, and its default direction */
typedef struct ExpSort {
    const char *name;
    const char *expr;
    int kind; /* 0 integer (id), 1 text, 2 integer, 3 real */
    int ascending;
} ExpSort;

#define PROGRESS_EXPR                                                                              \
    "(CASE WHEN budget_env_steps > 0 THEN CAST(latest_env_steps AS REAL) / budget_env_steps END)"

static const ExpSort exp_sorts[] = {
    {"submitted", "id", 0, 0},
    {"name", "(name COLLATE NOCASE)", 1, 1},
    {"task", "task", 1, 1},
    {"state", "state", 1, 1},
    {"priority", "priority", 2, 0},
    {"started", "started_at", 3, 0},
    {"finished", "finished_at", 3, 0},
    {"return", "latest_return", 3, 0},
    {"progress", PROGRESS_EXPR, 3, 0},
};

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
    switch (sqlite3_column_type(st, vcol)) {
    case SQLITE_NULL:
        v = json_null();
        break;
    case SQLITE_INTEGER:
        v = json_integer(sqlite3_column_int64(st, vcol));
        break;
    case SQLITE_FLOAT:
        v = json_real(sqlite3_column_double(st, vcol));
        break;
    default:
        v = json_string((const char *)sqlite3_column_text(st, vcol));
    }
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
    char sql[2048], where[768];
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
    /* keyset condition: after the last row shown in (value IS NULL, value, id) order */
    if (!has_after) {
        snprintf(where, sizeof(where), "1");
    } else if (k->kind == 0) {
        snprintf(where, sizeof(where), "id %s ?7", cmp);
    } else if (after_null) {
        snprintf(where, sizeof(where), "(%s IS NULL AND id %s ?7)", k->expr, cmp);
    } else {
        snprintf(where, sizeof(where), "(%s IS NULL OR %s %s ?6 OR (%s = ?6 AND id %s ?7))",
                 k->expr, k->expr, cmp, k->expr, cmp);
    }
    snprintf(sql, sizeof(sql),
             "SELECT " EXP_COLUMNS ", " PROGRESS_EXPR " AS progress, %s AS sort_value"
             " FROM experiments AS e WHERE (?1 IS NULL OR state = ?1)"
             " AND (?2 IS NULL OR task = ?2) AND (?3 IS NULL OR EXISTS (SELECT 1 FROM"
             " json_each(e.tags) WHERE value = ?3)) AND (?4 IS NULL OR"
             " instr(lower(name), lower(?4)) > 0) AND (?8 = 0 OR parent_id = ?8) AND %s"
             " ORDER BY %s IS NULL, %s %s, id %s LIMIT ?5",
             k->expr, where, k->expr, k->expr, dir, dir);
    arr = json_array();
    if (!arr) {
        json_decref(cur);
        return ag_errorf(err, err_sz, AG_ENOMEM, "out of memory");
    }
    s = reader_lock(s);
    rc = db_prepare(s, sql, &st, err, err_sz);
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
    if (has_after && k->kind != 0 && !after_null) {
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
    sqlite3_bind_int64(st, 8, f->parent_id > 0 ? f->parent_id : 0);
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        json_t *o;
        if (count == limit) {
            break; /* the extra row: another page exists, next already holds its cursor */
        }
        o = row_to_json(st);
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
        rc = db_fail(s, err, err_sz, "list experiments");
    } else if (step == SQLITE_DONE && next_sz) {
        next[0] = '\0'; /* the page ended the listing */
    }
out:
    sqlite3_finalize(st);
    pthread_mutex_unlock(&s->mu);
    json_decref(cur);
    if (rc) {
        json_decref(arr);
        return rc;
    }
    *out = arr;
    return 0;
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
    " last_seq, coalesce(run_dir, '')"

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
}

int store_run_get(Store *s, int64_t id, StoreRun *out, char *err, size_t err_sz) {
    sqlite3_stmt *st = NULL;
    int rc = 0, step;
    pthread_mutex_lock(&s->mu);
    rc = db_prepare(s, "SELECT " RUN_COLUMNS " FROM experiments WHERE id = ?", &st, err, err_sz);
    if (rc) {
        goto out;
    }
    sqlite3_bind_int64(st, 1, id);
    step = sqlite3_step(st);
    if (step == SQLITE_ROW) {
        run_from_row(st, out);
    } else if (step == SQLITE_DONE) {
        rc = ag_errorf(err, err_sz, AG_ENOTFOUND, "no experiment %lld", (long long)id);
    } else {
        rc = db_fail(s, err, err_sz, "get run");
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
    rc = db_prepare(s,
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
        rc = db_fail(s, err, err_sz, "list runs");
    }
out:
    sqlite3_finalize(st);
    pthread_mutex_unlock(&s->mu);
    *n = count;
    return rc;
}

/* runs one bound update; AG_ENOTFOUND when it changed nothing */
static int exec_update(Store *s, sqlite3_stmt *st, const char *what, char *err, size_t err_sz) {
    if (sqlite3_step(st) != SQLITE_DONE) {
        return db_fail(s, err, err_sz, what);
    }
    if (sqlite3_changes(s->db) == 0) {
        return ag_errorf(err, err_sz, AG_ENOTFOUND, "%s: no such experiment", what);
    }
    return 0;
}

int store_run_started(Store *s, int64_t id, int pid, long long pid_start, int attempts, char *err,
                      size_t err_sz) {
    sqlite3_stmt *st = NULL;
    int rc;
    pthread_mutex_lock(&s->mu);
    rc =
        db_prepare(s,
                   "UPDATE experiments SET state = 'running', pid = ?, pid_start = ?, attempts = ?,"
                   " started_at = coalesce(started_at, ?), error = NULL WHERE id = ?",
                   &st, err, err_sz);
    if (rc == 0) {
        sqlite3_bind_int(st, 1, pid);
        sqlite3_bind_int64(st, 2, pid_start);
        sqlite3_bind_int(st, 3, attempts);
        sqlite3_bind_double(st, 4, ag_time_wall());
        sqlite3_bind_int64(st, 5, id);
        rc = exec_update(s, st, "mark started", err, err_sz);
    }
    sqlite3_finalize(st);
    pthread_mutex_unlock(&s->mu);
    return rc;
}

int store_run_add_attempt(Store *s, int64_t id, int *attempts, char *err, size_t err_sz) {
    sqlite3_stmt *st = NULL;
    int rc;
    pthread_mutex_lock(&s->mu);
    rc = db_prepare(
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
    pthread_mutex_lock(&s->mu);
    rc = db_prepare(s,
                    "UPDATE experiments SET state = ?, error = ?, pid = NULL, pid_start = NULL,"
                    " request = NULL, request_at = NULL, finished_at = ? WHERE id = ?",
                    &st, err, err_sz);
    if (rc == 0) {
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
        rc = exec_update(s, st, "set state", err, err_sz);
    }
    sqlite3_finalize(st);
    pthread_mutex_unlock(&s->mu);
    return rc;
}

/* current state of id inside an open transaction */
static int state_locked(Store *s, int64_t id, char *state, size_t state_sz, char *err,
                        size_t err_sz) {
    sqlite3_stmt *st = NULL;
    int rc = 0, step;
    if (sqlite3_prepare_v2(s->db, "SELECT state FROM experiments WHERE id = ?", -1, &st, NULL) !=
        SQLITE_OK) {
        return db_fail(s, err, err_sz, "read state");
    }
    sqlite3_bind_int64(st, 1, id);
    step = sqlite3_step(st);
    if (step == SQLITE_ROW) {
        snprintf(state, state_sz, "%s", sqlite3_column_text(st, 0));
    } else if (step == SQLITE_DONE) {
        rc = ag_errorf(err, err_sz, AG_ENOTFOUND, "no experiment %lld", (long long)id);
    } else {
        rc = db_fail(s, err, err_sz, "read state");
    }
    sqlite3_finalize(st);
    return rc;
}

static int exec_sql_id(Store *s, const char *sql, int64_t id, char *err, size_t err_sz) {
    sqlite3_stmt *st = NULL;
    int rc = 0;
    if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK) {
        return db_fail(s, err, err_sz, "update");
    }
    sqlite3_bind_int64(st, 1, id);
    sqlite3_bind_double(st, 2, ag_time_wall());
    if (sqlite3_step(st) != SQLITE_DONE) {
        rc = db_fail(s, err, err_sz, "update");
    }
    sqlite3_finalize(st);
    return rc;
}

enum { REQ_CANCEL, REQ_PAUSE, REQ_RESUME };

static int exp_request(Store *s, int64_t id, int req, char *new_state, char *err, size_t err_sz) {
    char state[STORE_STATE_MAX] = "";
    const char *sql = NULL, *result = NULL;
    int rc;
    pthread_mutex_lock(&s->mu);
    rc = db_begin(s, err, err_sz);
    if (rc) {
        goto out;
    }
    rc = state_locked(s, id, state, sizeof(state), err, err_sz);
    if (rc) {
        goto end;
    }
    if (req == REQ_CANCEL && (!strcmp(state, "queued") || !strcmp(state, "paused"))) {
        sql = "UPDATE experiments SET state = 'cancelled', finished_at = ?2 WHERE id = ?1";
        result = "cancelled";
    } else if (req == REQ_CANCEL && !strcmp(state, "running")) {
        sql = "UPDATE experiments SET request = 'cancel', request_at = ?2 WHERE id = ?1";
        result = "running";
    } else if (req == REQ_PAUSE && !strcmp(state, "queued")) {
        sql = "UPDATE experiments SET state = 'paused', request_at = ?2 WHERE id = ?1";
        result = "paused";
    } else if (req == REQ_PAUSE && !strcmp(state, "running")) {
        sql = "UPDATE experiments SET request = 'pause', request_at = ?2 WHERE id = ?1"
              " AND request IS NULL";
        result = "running";
    } else if (req == REQ_RESUME && !strcmp(state, "paused")) {
        sql = "UPDATE experiments SET state = 'queued', request = NULL, request_at = ?2"
              " WHERE id = ?1";
        result = "queued";
    } else {
        static const char *const verbs[] = {"cancel", "pause", "resume"};
        rc = ag_errorf(err, err_sz, AG_ESTATE, "cannot %s experiment %lld: it is %s", verbs[req],
                       (long long)id, state);
        goto end;
    }
    rc = exec_sql_id(s, sql, id, err, err_sz);
    if (rc == 0 && new_state) {
        snprintf(new_state, STORE_STATE_MAX, "%s", result);
    }
end:
    rc = db_end(s, rc, err, err_sz);
out:
    pthread_mutex_unlock(&s->mu);
    return rc;
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

int store_exp_delete(Store *s, int64_t id, char *run_dir, size_t run_dir_sz, char *err,
                     size_t err_sz) {
    char state[STORE_STATE_MAX] = "";
    sqlite3_stmt *st = NULL;
    int rc;
    if (run_dir_sz) {
        run_dir[0] = '\0';
    }
    pthread_mutex_lock(&s->mu);
    rc = db_begin(s, err, err_sz);
    if (rc) {
        goto out;
    }
    rc = state_locked(s, id, state, sizeof(state), err, err_sz);
    if (rc) {
        goto end;
    }
    if (!state_is_terminal(state)) {
        rc = ag_errorf(err, err_sz, AG_ESTATE,
                       "experiment %lld is %s: only finished ones can be deleted", (long long)id,
                       state);
        goto end;
    }
    if (sqlite3_prepare_v2(s->db, "SELECT coalesce(run_dir, '') FROM experiments WHERE id = ?", -1,
                           &st, NULL) != SQLITE_OK) {
        rc = db_fail(s, err, err_sz, "delete");
        goto end;
    }
    sqlite3_bind_int64(st, 1, id);
    if (sqlite3_step(st) == SQLITE_ROW && run_dir_sz) {
        snprintf(run_dir, run_dir_sz, "%s", sqlite3_column_text(st, 0));
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
end:
    rc = db_end(s, rc, err, err_sz);
out:
    pthread_mutex_unlock(&s->mu);
    return rc;
}

int store_exp_annotate(Store *s, int64_t id, const char *tags_json, const char *notes, char *err,
                       size_t err_sz) {
    sqlite3_stmt *st = NULL;
    int rc;
    pthread_mutex_lock(&s->mu);
    rc = db_prepare(s,
                    "UPDATE experiments SET tags = coalesce(?, tags), notes = coalesce(?, notes)"
                    " WHERE id = ?",
                    &st, err, err_sz);
    if (rc == 0) {
        if (tags_json) {
            sqlite3_bind_text(st, 1, tags_json, -1, SQLITE_STATIC);
        }
        if (notes) {
            sqlite3_bind_text(st, 2, notes, -1, SQLITE_STATIC);
        }
        sqlite3_bind_int64(st, 3, id);
        rc = exec_update(s, st, "annotate", err, err_sz);
    }
    sqlite3_finalize(st);
    pthread_mutex_unlock(&s->mu);
    return rc;
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
    s = reader_lock(s);
    rc = db_prepare(s, "SELECT state, count(*) FROM experiments GROUP BY state", &st, err, err_sz);
    if (rc == 0) {
        while (sqlite3_step(st) == SQLITE_ROW) {
            json_object_set_new(o, (const char *)sqlite3_column_text(st, 0),
                                json_integer(sqlite3_column_int64(st, 1)));
        }
    }
    sqlite3_finalize(st);
    pthread_mutex_unlock(&s->mu);
    if (rc) {
        json_decref(o);
        return rc;
    }
    *out = o;
    return 0;
}

/* ---- metrics ---- */

static int set_offset_locked(Store *s, int64_t id, int64_t offset, int64_t last_seq, char *err,
                             size_t err_sz) {
    sqlite3_stmt *st = NULL;
    int rc;
    rc = db_prepare(s,
                    "UPDATE experiments SET ingest_offset = ?, last_seq = max(last_seq, ?)"
                    " WHERE id = ?",
                    &st, err, err_sz);
    if (rc) {
        return rc;
    }
    sqlite3_bind_int64(st, 1, offset);
    sqlite3_bind_int64(st, 2, last_seq);
    sqlite3_bind_int64(st, 3, id);
    rc = exec_update(s, st, "store offset", err, err_sz);
    sqlite3_finalize(st);
    return rc;
}

int store_metrics_set_offset(Store *s, int64_t id, int64_t offset, char *err, size_t err_sz) {
    int rc;
    pthread_mutex_lock(&s->mu);
    rc = db_begin(s, err, err_sz);
    if (rc == 0) {
        rc = db_end(s, set_offset_locked(s, id, offset, 0, err, err_sz), err, err_sz);
    }
    pthread_mutex_unlock(&s->mu);
    return rc;
}

static int bind_number(sqlite3_stmt *st, int idx, const json_t *row, const char *key, int integer) {
    json_t *v = json_object_get(row, key);
    if (integer && json_is_integer(v)) {
        return sqlite3_bind_int64(st, idx, json_integer_value(v));
    }
    if (json_is_number(v)) {
        return sqlite3_bind_double(st, idx, json_number_value(v));
    }
    return sqlite3_bind_null(st, idx);
}

/* newest stored iteration and seq of a run, inside the transaction */
static int run_tail_locked(Store *s, int64_t id, int64_t *last_seq, int64_t *last_iter,
                           int *has_iter, char *err, size_t err_sz) {
    sqlite3_stmt *st = NULL;
    int rc = 0;
    if (sqlite3_prepare_v2(s->db,
                           "SELECT last_seq, (SELECT max(iteration) FROM metrics WHERE exp_id = ?1)"
                           " FROM experiments WHERE id = ?1",
                           -1, &st, NULL) != SQLITE_OK) {
        return db_fail(s, err, err_sz, "read run tail");
    }
    sqlite3_bind_int64(st, 1, id);
    if (sqlite3_step(st) == SQLITE_ROW) {
        *last_seq = sqlite3_column_int64(st, 0);
        *has_iter = sqlite3_column_type(st, 1) != SQLITE_NULL;
        *last_iter = sqlite3_column_int64(st, 1);
    } else {
        rc = ag_errorf(err, err_sz, AG_ENOTFOUND, "no experiment %lld", (long long)id);
    }
    sqlite3_finalize(st);
    return rc;
}

/* the list summary of a run from its newest row; a task metric missing from the newest rows
 * keeps the last one seen (task_key NULL) */
static int summary_update_locked(Store *s, int64_t id, const json_t *row, const char *task_key,
                                 double task_metric, char *err, size_t err_sz) {
    sqlite3_stmt *st = NULL;
    int rc = db_prepare(s,
                        "UPDATE experiments SET latest_iteration = ?1, latest_env_steps = ?2,"
                        " latest_return = ?3, latest_task_metric = CASE WHEN ?5 IS NULL THEN"
                        " latest_task_metric ELSE ?4 END, latest_task_key = coalesce(?5,"
                        " latest_task_key) WHERE id = ?6",
                        &st, err, err_sz);
    if (rc) {
        return rc;
    }
    bind_number(st, 1, row, "iteration", 1);
    bind_number(st, 2, row, "env_steps", 1);
    bind_number(st, 3, row, "return_mean", 0);
    sqlite3_bind_double(st, 4, task_metric);
    if (task_key) {
        sqlite3_bind_text(st, 5, task_key, -1, SQLITE_STATIC);
    }
    sqlite3_bind_int64(st, 6, id);
    rc = exec_update(s, st, "update list summary", err, err_sz);
    sqlite3_finalize(st);
    return rc;
}

#define KEY_CACHE 64

/* keys already recorded in this batch (rows of one run share their keys): 1 if k is among
 * them, else remembers it and returns 0 */
static int key_seen(char (*seen)[64], int *nseen, const char *k) {
    for (int i = 0; i < *nseen; i++) {
        if (!strcmp(seen[i], k)) {
            return 1;
        }
    }
    if (*nseen < KEY_CACHE && strlen(k) < 64) {
        memcpy(seen[(*nseen)++], k, strlen(k) + 1);
    }
    return 0;
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
    sqlite3_stmt *ins = NULL, *rew = NULL, *key = NULL;
    json_t *newest = NULL; /* the last row inserted, for the list summary */
    double task_metric = 0;
    const char *task_key = NULL;
    int64_t seq = 0, last_iter = 0;
    int has_iter = 0, rc, nseen = 0;
    char seen[KEY_CACHE][64];
    size_t added = 0, bad = 0;
    if (rows_added) {
        *rows_added = 0;
    }
    pthread_mutex_lock(&s->mu);
    rc = db_begin(s, err, err_sz);
    if (rc) {
        goto out;
    }
    rc = run_tail_locked(s, id, &seq, &last_iter, &has_iter, err, err_sz);
    if (rc) {
        goto end;
    }
    if (first_seq) {
        *first_seq = seq + 1;
    }
    rc = db_prepare(s,
                    "INSERT INTO metrics (exp_id, seq, iteration, env_steps, return_mean, wall_s,"
                    " row) VALUES (?,?,?,?,?,?,?)",
                    &ins, err, err_sz);
    if (rc == 0) {
        rc = db_prepare(s, "DELETE FROM metrics WHERE exp_id = ? AND iteration >= ?", &rew, err,
                        err_sz);
    }
    if (rc == 0) {
        rc = db_prepare(s, "INSERT OR IGNORE INTO metric_keys (exp_id, key) VALUES (?, ?)", &key,
                        err, err_sz);
    }
    if (rc) {
        goto end;
    }
    for (size_t i = 0; i < n; i++) {
        json_error_t je;
        json_t *row = json_loadb(lines[i], lens[i], 0, &je);
        json_t *it;
        const char *k;
        json_t *v;
        if (seqs) {
            seqs[i] = 0;
        }
        if (!json_is_object(row)) {
            bad++;
            json_decref(row);
            continue;
        }
        it = json_object_get(row, "iteration");
        if (json_is_integer(it)) {
            /* a resumed run repeats the iterations after its checkpoint: newest data wins */
            if (has_iter && json_integer_value(it) <= last_iter) {
                sqlite3_bind_int64(rew, 1, id);
                sqlite3_bind_int64(rew, 2, json_integer_value(it));
                if (sqlite3_step(rew) != SQLITE_DONE) {
                    rc = db_fail(s, err, err_sz, "rewind metrics");
                }
                sqlite3_reset(rew);
            }
            last_iter = json_integer_value(it);
            has_iter = 1;
        }
        seq++;
        sqlite3_bind_int64(ins, 1, id);
        sqlite3_bind_int64(ins, 2, seq);
        bind_number(ins, 3, row, "iteration", 1);
        bind_number(ins, 4, row, "env_steps", 1);
        bind_number(ins, 5, row, "return_mean", 0);
        bind_number(ins, 6, row, "wall_s", 0);
        sqlite3_bind_text(ins, 7, lines[i], (int)lens[i], SQLITE_STATIC);
        if (rc == 0 && sqlite3_step(ins) != SQLITE_DONE) {
            rc = db_fail(s, err, err_sz, "insert metric row");
        }
        sqlite3_reset(ins);
        json_object_foreach(row, k, v) {
            if (rc || !json_is_number(v) || key_seen(seen, &nseen, k)) {
                continue;
            }
            sqlite3_bind_int64(key, 1, id);
            sqlite3_bind_text(key, 2, k, -1, SQLITE_STATIC);
            if (sqlite3_step(key) != SQLITE_DONE) {
                rc = db_fail(s, err, err_sz, "insert metric key");
            }
            sqlite3_reset(key);
        }
        if (rc) {
            json_decref(row);
            goto end;
        }
        {
            json_t *sr = json_object_get(row, "success_rate");
            json_t *cg = json_object_get(row, "consecutive_goals_mean");
            if (json_is_number(sr) || json_is_number(cg)) {
                task_key = json_is_number(sr) ? "success_rate" : "consecutive_goals_mean";
                task_metric = json_number_value(json_is_number(sr) ? sr : cg);
            }
        }
        json_decref(newest);
        newest = row;
        if (seqs) {
            seqs[i] = seq;
        }
        added++;
    }
    if (newest) {
        rc = summary_update_locked(s, id, newest, task_key, task_metric, err, err_sz);
    }
    if (rc == 0) {
        rc = set_offset_locked(s, id, new_offset, seq, err, err_sz);
    }
    if (rc == 0 && bad > 0) {
        char detail[96];
        sqlite3_stmt *ev = NULL;
        snprintf(detail, sizeof(detail), "%zu metrics line(s) were not JSON objects", bad);
        if (sqlite3_prepare_v2(s->db,
                               "INSERT INTO events (exp_id, at, kind, detail) VALUES"
                               " (?, ?, 'ingest-skipped', ?)",
                               -1, &ev, NULL) == SQLITE_OK) {
            sqlite3_bind_int64(ev, 1, id);
            sqlite3_bind_double(ev, 2, ag_time_wall());
            sqlite3_bind_text(ev, 3, detail, -1, SQLITE_STATIC);
            sqlite3_step(ev);
        }
        sqlite3_finalize(ev);
    }
end:
    json_decref(newest);
    sqlite3_finalize(ins);
    sqlite3_finalize(rew);
    sqlite3_finalize(key);
    rc = db_end(s, rc, err, err_sz);
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
    s = reader_lock(s);
    rc = db_prepare(s, "SELECT key FROM metric_keys WHERE exp_id = ? ORDER BY key", &st, err,
                    err_sz);
    if (rc == 0) {
        sqlite3_bind_int64(st, 1, id);
        while (sqlite3_step(st) == SQLITE_ROW) {
            json_array_append_new(arr, json_string((const char *)sqlite3_column_text(st, 0)));
        }
    }
    sqlite3_finalize(st);
    pthread_mutex_unlock(&s->mu);
    if (rc) {
        json_decref(arr);
        return rc;
    }
    *out = arr;
    return 0;
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

int store_metric_series(Store *s, int64_t id, const char *xkey, const char *ykey, double **xs,
                        double **ys, size_t *n, char *err, size_t err_sz) {
    sqlite3_stmt *st = NULL;
    char xpath[160], ypath[160], sql[256];
    size_t cap = 0, count = 0;
    double *x = NULL, *y = NULL;
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
    /* the main keys have their own columns: no JSON parsing per row for them */
    snprintf(sql, sizeof(sql), "SELECT %s, %s FROM metrics WHERE exp_id = ?3 ORDER BY seq",
             metric_column(xkey) ? metric_column(xkey) : "json_extract(row, ?1)",
             metric_column(ykey) ? metric_column(ykey) : "json_extract(row, ?2)");
    s = reader_lock(s);
    rc = db_prepare(s, sql, &st, err, err_sz);
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
        if (count == cap) {
            size_t ncap = cap ? cap * 2 : 256;
            double *nx = realloc(x, ncap * sizeof(*x)), *ny;
            if (!nx) {
                rc = ag_errorf(err, err_sz, AG_ENOMEM, "out of memory");
                goto out;
            }
            x = nx;
            ny = realloc(y, ncap * sizeof(*y));
            if (!ny) {
                rc = ag_errorf(err, err_sz, AG_ENOMEM, "out of memory");
                goto out;
            }
            y = ny;
            cap = ncap;
        }
        x[count] = sqlite3_column_double(st, 0);
        y[count] = sqlite3_column_double(st, 1);
        count++;
    }
    if (step != SQLITE_DONE) {
        rc = db_fail(s, err, err_sz, "read series");
    }
out:
    sqlite3_finalize(st);
    pthread_mutex_unlock(&s->mu);
    if (rc) {
        free(x);
        free(y);
        return rc;
    }
    *xs = x;
    *ys = y;
    *n = count;
    return 0;
}

int store_metric_rows(Store *s, int64_t id, int64_t after_seq, int64_t limit, StoreRowFn fn,
                      void *ctx, char *err, size_t err_sz) {
    sqlite3_stmt *st = NULL;
    int rc, step;
    s = reader_lock(s);
    rc = db_prepare(s,
                    "SELECT seq, row FROM metrics WHERE exp_id = ? AND seq > ? ORDER BY seq"
                    " LIMIT ?",
                    &st, err, err_sz);
    if (rc) {
        goto out;
    }
    sqlite3_bind_int64(st, 1, id);
    sqlite3_bind_int64(st, 2, after_seq);
    sqlite3_bind_int64(st, 3, limit > 0 ? limit : -1);
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        rc = fn(ctx, sqlite3_column_int64(st, 0), (const char *)sqlite3_column_text(st, 1),
                (size_t)sqlite3_column_bytes(st, 1));
        if (rc) {
            goto out;
        }
    }
    if (step != SQLITE_DONE) {
        rc = db_fail(s, err, err_sz, "read rows");
    }
out:
    sqlite3_finalize(st);
    pthread_mutex_unlock(&s->mu);
    return rc;
}

int store_metric_count(Store *s, int64_t *n, char *err, size_t err_sz) {
    sqlite3_stmt *st = NULL;
    int rc;
    *n = 0;
    s = reader_lock(s);
    rc = db_prepare(s, "SELECT count(*) FROM metrics", &st, err, err_sz);
    if (rc == 0 && sqlite3_step(st) == SQLITE_ROW) {
        *n = sqlite3_column_int64(st, 0);
    }
    sqlite3_finalize(st);
    pthread_mutex_unlock(&s->mu);
    return rc;
}

/* ---- tokens ---- */

int store_token_add(Store *s, const char *hash_hex, const char *scope, const char *name,
                    int64_t *id, char *err, size_t err_sz) {
    sqlite3_stmt *st = NULL;
    int rc;
    if (strcmp(scope, "read") != 0 && strcmp(scope, "full") != 0) {
        return ag_errorf(err, err_sz, AG_EINVAL, "scope must be read or full");
    }
    pthread_mutex_lock(&s->mu);
    rc = db_prepare(s, "INSERT INTO tokens (hash, scope, name, created_at) VALUES (?,?,?,?)", &st,
                    err, err_sz);
    if (rc == 0) {
        sqlite3_bind_text(st, 1, hash_hex, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, scope, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 3, name ? name : "", -1, SQLITE_STATIC);
        sqlite3_bind_double(st, 4, ag_time_wall());
        if (sqlite3_step(st) != SQLITE_DONE) {
            rc = db_fail(s, err, err_sz, "add token");
        } else if (id) {
            *id = sqlite3_last_insert_rowid(s->db);
        }
    }
    sqlite3_finalize(st);
    pthread_mutex_unlock(&s->mu);
    return rc;
}

int store_token_lookup(Store *s, const char *hash_hex, char *scope, size_t scope_sz, char *err,
                       size_t err_sz) {
    sqlite3_stmt *st = NULL;
    int rc, step;
    s = reader_lock(s);
    rc = db_prepare(s, "SELECT scope FROM tokens WHERE hash = ? AND revoked_at IS NULL", &st, err,
                    err_sz);
    if (rc == 0) {
        sqlite3_bind_text(st, 1, hash_hex, -1, SQLITE_STATIC);
        step = sqlite3_step(st);
        if (step == SQLITE_ROW) {
            snprintf(scope, scope_sz, "%s", sqlite3_column_text(st, 0));
        } else if (step == SQLITE_DONE) {
            rc = ag_errorf(err, err_sz, AG_ENOTFOUND, "unknown or revoked token");
        } else {
            rc = db_fail(s, err, err_sz, "look up token");
        }
    }
    sqlite3_finalize(st);
    pthread_mutex_unlock(&s->mu);
    return rc;
}

int store_token_revoke(Store *s, int64_t id, char *err, size_t err_sz) {
    sqlite3_stmt *st = NULL;
    int rc;
    pthread_mutex_lock(&s->mu);
    rc = db_prepare(s, "UPDATE tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL", &st,
                    err, err_sz);
    if (rc == 0) {
        sqlite3_bind_double(st, 1, ag_time_wall());
        sqlite3_bind_int64(st, 2, id);
        rc = exec_update(s, st, "revoke token", err, err_sz);
        if (rc == AG_ENOTFOUND) {
            ag_errorf(err, err_sz, rc, "no live token %lld", (long long)id);
        }
    }
    sqlite3_finalize(st);
    pthread_mutex_unlock(&s->mu);
    return rc;
}

int store_token_list(Store *s, json_t **out, char *err, size_t err_sz) {
    sqlite3_stmt *st = NULL;
    json_t *arr = json_array();
    int rc;
    *out = NULL;
    s = reader_lock(s);
    rc = db_prepare(s, "SELECT id, name, scope, created_at, revoked_at FROM tokens ORDER BY id",
                    &st, err, err_sz);
    if (rc == 0) {
        while (sqlite3_step(st) == SQLITE_ROW) {
            json_array_append_new(arr, row_to_json(st));
        }
    }
    sqlite3_finalize(st);
    pthread_mutex_unlock(&s->mu);
    if (rc) {
        json_decref(arr);
        return rc;
    }
    *out = arr;
    return 0;
}

/* ---- events ---- */

int store_event_add(Store *s, int64_t exp_id, const char *kind, const char *detail) {
    sqlite3_stmt *st = NULL;
    int rc;
    pthread_mutex_lock(&s->mu);
    rc = db_prepare(s, "INSERT INTO events (exp_id, at, kind, detail) VALUES (?,?,?,?)", &st, NULL,
                    0);
    if (rc == 0) {
        if (exp_id > 0) {
            sqlite3_bind_int64(st, 1, exp_id);
        }
        sqlite3_bind_double(st, 2, ag_time_wall());
        sqlite3_bind_text(st, 3, kind, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 4, detail ? detail : "", -1, SQLITE_STATIC);
        if (sqlite3_step(st) != SQLITE_DONE) {
            ag_log_warn("store: cannot journal event %s: %s", kind, sqlite3_errmsg(s->db));
            rc = AG_EDB;
        }
    }
    sqlite3_finalize(st);
    pthread_mutex_unlock(&s->mu);
    return rc;
}

int store_event_list(Store *s, int64_t exp_id, int limit, json_t **out, char *err, size_t err_sz) {
    sqlite3_stmt *st = NULL;
    json_t *arr = json_array();
    int rc;
    *out = NULL;
    s = reader_lock(s);
    rc = db_prepare(s,
                    "SELECT * FROM (SELECT id, exp_id, at, kind, detail FROM events WHERE"
                    " exp_id IS ? ORDER BY id DESC LIMIT ?) ORDER BY id",
                    &st, err, err_sz);
    if (rc == 0) {
        if (exp_id > 0) {
            sqlite3_bind_int64(st, 1, exp_id);
        }
        sqlite3_bind_int(st, 2, limit > 0 ? limit : 100);
        while (sqlite3_step(st) == SQLITE_ROW) {
            json_array_append_new(arr, row_to_json(st));
        }
    }
    sqlite3_finalize(st);
    pthread_mutex_unlock(&s->mu);
    if (rc) {
        json_decref(arr);
        return rc;
    }
    *out = arr;
    return 0;
}
