/* Tests of server/store/store.c: migrations (empty database, every earlier version, the table
 * rebuild of 009, newer database refused, broken files, the page size of a new file), experiments
 * and their state changes, exactly-once metric ingestion with rewinds, series, tokens and events.
 */
#include "store.h"

#include "ag_error.h"
#include "ag_fs.h"

#include <check.h>
#include <dirent.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

static char mig_dir[1024];
static char err[512];

static void setup(void) {
    ck_assert_int_eq(ag_fs_data_path("migrations", mig_dir, sizeof(mig_dir)), 0);
}

static Store *open_migrated(void) {
    Store *s = NULL;
    ck_assert_int_eq(store_open(":memory:", &s, err, sizeof(err)), 0);
    ck_assert_msg(store_migrate(s, mig_dir, 0, NULL, err, sizeof(err)) == 0, "%s", err);
    return s;
}

/* the migration files numbered up to version (a number may be missing while another branch
 * holds it) */
static int migrations_upto(int version) {
    DIR *d = opendir(mig_dir);
    struct dirent *de;
    int n = 0;
    ck_assert_ptr_nonnull(d);
    while ((de = readdir(d)) != NULL) {
        size_t len = strlen(de->d_name);
        int v = atoi(de->d_name);
        n += de->d_name[0] >= '0' && de->d_name[0] <= '9' && len > 4 &&
             !strcmp(de->d_name + len - 4, ".sql") && v > 0 && v <= version;
    }
    closedir(d);
    return n;
}

static void write_text(const char *path, const char *text) {
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    fclose(f);
}

START_TEST(test_migrate_empty) {
    Store *s = NULL;
    int latest = 0, v = -1, applied = 0;
    ck_assert_int_eq(store_migrations_latest(mig_dir, &latest, err, sizeof(err)), 0);
    ck_assert_int_ge(latest, 2);
    ck_assert_int_eq(store_open(":memory:", &s, err, sizeof(err)), 0);
    ck_assert_int_eq(store_schema_version(s, &v, err, sizeof(err)), 0);
    ck_assert_int_eq(v, 0);
    ck_assert_int_eq(store_migrate(s, mig_dir, 0, &applied, err, sizeof(err)), 0);
    ck_assert_int_eq(applied, migrations_upto(latest));
    ck_assert_int_eq(store_schema_version(s, &v, err, sizeof(err)), 0);
    ck_assert_int_eq(v, latest);
    /* a second run applies nothing */
    ck_assert_int_eq(store_migrate(s, mig_dir, 0, &applied, err, sizeof(err)), 0);
    ck_assert_int_eq(applied, 0);
    ck_assert_int_eq(store_integrity_check(s, err, sizeof(err)), 0);
    store_close(s);
}
END_TEST

/* a database left at each earlier version, holding data, upgrades to the newest */
START_TEST(test_migrate_each_earlier_version) {
    int latest = 0;
    ck_assert_int_eq(store_migrations_latest(mig_dir, &latest, err, sizeof(err)), 0);
    for (int from = 1; from < latest; from++) {
        if (migrations_upto(from) == migrations_upto(from - 1)) {
            continue; /* no migration of that number */
        }
        char path[] = "/tmp/angora-store-XXXXXX";
        char db[600];
        Store *s = NULL;
        int v = 0, applied = 0, fd = mkstemp(path);
        json_t *keys = NULL, *exp = NULL;
        ck_assert_int_ge(fd, 0);
        close(fd);
        unlink(path);
        snprintf(db, sizeof(db), "%s.db", path);
        ck_assert_int_eq(store_open(db, &s, err, sizeof(err)), 0);
        ck_assert_int_eq(store_migrate(s, mig_dir, from, &applied, err, sizeof(err)), 0);
        ck_assert_int_eq(applied, migrations_upto(from));
        store_close(s);
        /* data written by plain SQL, as an angorad of that version would have (from version 2
         * on it also recorded the metric keys, from version 4 the list summary) */
        {
            char cmd[1400];
            snprintf(cmd, sizeof(cmd),
                     "sqlite3 %s \"INSERT INTO experiments (name, task, spec, submitted_at) VALUES"
                     " ('old', 'cartpole', '{\\\"budget\\\":{\\\"env_steps\\\":5000}}', 1);"
                     " INSERT INTO metrics (exp_id, seq, iteration,"
                     " row) VALUES (1, 1, 1, '{\\\"iteration\\\":1,\\\"return_mean\\\":2.5}');"
                     " UPDATE experiments SET last_seq = 1;%s%s\"",
                     db,
                     from >= 2 ? " INSERT INTO metric_keys VALUES (1, 'iteration'),"
                                 " (1, 'return_mean');"
                               : "",
                     from >= 4 ? " UPDATE experiments SET budget_env_steps = 5000,"
                                 " latest_iteration = 1, latest_return = 2.5;"
                               : "");
            ck_assert_int_eq(system(cmd), 0);
        }
        ck_assert_int_eq(store_open(db, &s, err, sizeof(err)), 0);
        ck_assert_msg(store_migrate(s, mig_dir, 0, &applied, err, sizeof(err)) == 0, "%s", err);
        ck_assert_int_eq(applied, migrations_upto(latest) - migrations_upto(from));
        ck_assert_int_eq(store_schema_version(s, &v, err, sizeof(err)), 0);
        ck_assert_int_eq(v, latest);
        ck_assert_int_eq(store_exp_get_json(s, 1, &exp, err, sizeof(err)), 0);
        ck_assert_str_eq(json_string_value(json_object_get(exp, "name")), "old");
        ck_assert_str_eq(json_string_value(json_object_get(exp, "kind")), "train");
        /* the list summary is back-filled from the spec and the newest row */
        ck_assert_int_eq(json_integer_value(json_object_get(exp, "budget_env_steps")), 5000);
        ck_assert_int_eq(json_integer_value(json_object_get(exp, "latest_iteration")), 1);
        ck_assert(json_real_value(json_object_get(exp, "latest_return")) == 2.5);
        ck_assert(json_is_null(json_object_get(exp, "latest_task_metric")));
        /* metric keys are back-filled from the stored rows */
        ck_assert_int_eq(store_metric_keys(s, 1, &keys, err, sizeof(err)), 0);
        ck_assert_int_eq(json_array_size(keys), 2);
        ck_assert_str_eq(json_string_value(json_array_get(keys, 0)), "iteration");
        ck_assert_int_eq(store_integrity_check(s, err, sizeof(err)), 0);
        json_decref(keys);
        json_decref(exp);
        store_close(s);
        unlink(db);
        {
            char side[700];
            snprintf(side, sizeof(side), "%s-wal", db);
            unlink(side);
            snprintf(side, sizeof(side), "%s-shm", db);
            unlink(side);
        }
    }
}
END_TEST

/* 009 rebuilds the experiments table for the 'pretrain' kind: a database of 008 keeps every
 * column (Slurm's, the roll-up's, an analysis job's phase and parent), its metric rows, its
 * indexes and its id counter, and accepts the new kind only after it */
static int sql_ok(const char *db, const char *sql) {
    char cmd[2048];
    snprintf(cmd, sizeof(cmd), "sqlite3 %s \"%s\" >/dev/null 2>&1", db, sql);
    return system(cmd) == 0;
}

START_TEST(test_migrate_009_pretrain_kind) {
    char path[] = "/tmp/angora-store-XXXXXX", db[600], side[700];
    Store *s = NULL;
    StoreRun r;
    StoreExpNew n = {0};
    json_t *exp = NULL, *keys = NULL;
    int64_t id = 0;
    int applied = 0, fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    close(fd);
    unlink(path);
    snprintf(db, sizeof(db), "%s.db", path);
    ck_assert_int_eq(store_open(db, &s, err, sizeof(err)), 0);
    ck_assert_int_eq(store_migrate(s, mig_dir, 8, &applied, err, sizeof(err)), 0);
    store_close(s);
    ck_assert(
        sql_ok(db, "INSERT INTO experiments (name, task, spec, submitted_at, executor,"
                   " slurm_job_id, slurm_restarts, last_seq, rollup_seq, tags)"
                   " VALUES ('run', 'HandBlock', '{}', 1, 'slurm', '42', 2, 1, 1, '[\\\"a\\\"]');"
                   " INSERT INTO experiments (name, task, spec, submitted_at, kind, parent_id,"
                   " phase, state) VALUES ('an', 'HandBlock', '{}', 2, 'analysis', 1, 'done',"
                   " 'succeeded');"
                   " INSERT INTO experiments (name, task, spec, submitted_at) VALUES"
                   " ('gone', 'CartPole', '{}', 3); DELETE FROM experiments WHERE id = 3;"
                   " INSERT INTO metrics (exp_id, seq, iteration, row) VALUES (1, 1, 1,"
                   " '{\\\"iteration\\\":1}'); INSERT INTO metric_keys VALUES (1, 'iteration');"));
    /* the old CHECK refuses the kind */
    ck_assert(!sql_ok(db, "INSERT INTO experiments (name, task, spec, submitted_at, kind) VALUES"
                          " ('p', 'pretrain', '{}', 4, 'pretrain')"));

    ck_assert_int_eq(store_open(db, &s, err, sizeof(err)), 0);
    ck_assert_msg(store_migrate(s, mig_dir, 0, &applied, err, sizeof(err)) == 0, "%s", err);
    ck_assert_int_ge(applied, 1);
    ck_assert_int_eq(store_run_get(s, 1, &r, err, sizeof(err)), 0);
    ck_assert_str_eq(r.executor, "slurm");
    ck_assert_str_eq(r.slurm_job, "42");
    ck_assert_int_eq(r.slurm_restarts, 2);
    ck_assert_int_eq(r.last_seq, 1);
    ck_assert_int_eq(store_run_get(s, 2, &r, err, sizeof(err)), 0);
    ck_assert_str_eq(r.kind, "analysis");
    ck_assert_str_eq(r.phase, "done");
    ck_assert_int_eq(r.parent_id, 1);
    ck_assert_str_eq(r.state, "succeeded");
    ck_assert_int_eq(store_exp_get_json(s, 1, &exp, err, sizeof(err)), 0);
    ck_assert_str_eq(json_string_value(json_array_get(json_object_get(exp, "tags"), 0)), "a");
    json_decref(exp);
    ck_assert_int_eq(store_metric_keys(s, 1, &keys, err, sizeof(err)), 0);
    ck_assert_int_eq(json_array_size(keys), 1);
    json_decref(keys);
    ck_assert_int_eq(store_integrity_check(s, err, sizeof(err)), 0);

    /* the new kind, with the next id (3 was deleted and is not given out again) */
    n.name = "enc";
    n.task = "pretrain";
    n.spec_json = "{\"data\":\"/d.h5\"}";
    n.kind = "pretrain";
    n.ranks = 1;
    ck_assert_msg(store_exp_insert(s, &n, "/tmp/runs", &id, err, sizeof(err)) == 0, "%s", err);
    ck_assert_int_eq(id, 4);
    ck_assert_int_eq(store_run_get(s, 4, &r, err, sizeof(err)), 0);
    ck_assert_str_eq(r.kind, "pretrain");
    store_close(s);
    /* other kinds are still refused; every index is there again (39 since migration 018) */
    ck_assert(!sql_ok(db, "INSERT INTO experiments (name, task, spec, submitted_at, kind) VALUES"
                          " ('p', 'x', '{}', 4, 'bogus')"));
    ck_assert(sql_ok(db, "SELECT CASE WHEN count(*) = 39 THEN 1 ELSE abs(-9223372036854775808)"
                         " END FROM sqlite_master WHERE type = 'index' AND tbl_name = 'experiments'"
                         " AND name LIKE 'experiments_%'"));
    unlink(db);
    snprintf(side, sizeof(side), "%s-wal", db);
    unlink(side);
    snprintf(side, sizeof(side), "%s-shm", db);
    unlink(side);
}
END_TEST

/* a page size the database has: non-zero exit (an integer overflow) when it is not */
static int page_size_is(const char *db, int bytes) {
    char q[256];
    snprintf(q, sizeof(q),
             "SELECT CASE WHEN page_size = %d THEN 1 ELSE abs(-9223372036854775808) END FROM"
             " pragma_page_size()",
             bytes);
    return sql_ok(db, q);
}

/* a new database gets pages of 16 KB; one that exists keeps its own */
START_TEST(test_page_size_of_new_and_existing) {
    char path[] = "/tmp/angora-store-XXXXXX", db[600], side[700];
    Store *s = NULL;
    ck_assert_ptr_nonnull(mkdtemp(path));
    for (int existing = 0; existing < 2; existing++) {
        snprintf(db, sizeof(db), "%s/%s.db", path, existing ? "old" : "new");
        if (existing) {
            ck_assert(sql_ok(db, "PRAGMA page_size=4096; CREATE TABLE before_us (x);"));
        }
        ck_assert_int_eq(store_open(db, &s, err, sizeof(err)), 0);
        ck_assert_msg(store_migrate(s, mig_dir, 0, NULL, err, sizeof(err)) == 0, "%s", err);
        ck_assert_int_eq(store_integrity_check(s, err, sizeof(err)), 0);
        store_close(s);
        ck_assert(page_size_is(db, existing ? 4096 : 16384));
        ck_assert(!page_size_is(db, existing ? 16384 : 4096));
        unlink(db);
        snprintf(side, sizeof(side), "%s-wal", db);
        unlink(side);
        snprintf(side, sizeof(side), "%s-shm", db);
        unlink(side);
    }
    rmdir(path);
}
END_TEST

START_TEST(test_migrate_refuses_newer_database) {
    Store *s = open_migrated();
    {
        char dir[] = "/tmp/angora-mig-XXXXXX";
        char file[1200];
        int v = 0;
        ck_assert_ptr_nonnull(mkdtemp(dir));
        /* a directory knowing only migration 1 sees the full database as newer */
        snprintf(file, sizeof(file), "%s/001_only.sql", dir);
        write_text(file, "CREATE TABLE t (x);");
        ck_assert_int_eq(store_migrate(s, dir, 0, NULL, err, sizeof(err)), AG_EVERSION);
        ck_assert_ptr_nonnull(strstr(err, "newer than this angorad knows"));
        ck_assert_int_eq(store_schema_version(s, &v, err, sizeof(err)), 0);
        ck_assert_int_ge(v, 2);
        unlink(file);
        rmdir(dir);
    }
    store_close(s);
}
END_TEST

START_TEST(test_migrate_bad_dirs) {
    Store *s = NULL;
    char dir[] = "/tmp/angora-mig-XXXXXX";
    char a[1200], b[1200];
    int v = -1;
    ck_assert_int_eq(store_open(":memory:", &s, err, sizeof(err)), 0);
    ck_assert_int_eq(store_migrate(s, "/nonexistent/migrations", 0, NULL, err, sizeof(err)),
                     AG_EIO);
    ck_assert_ptr_nonnull(mkdtemp(dir));
    ck_assert_int_eq(store_migrate(s, dir, 0, NULL, err, sizeof(err)), AG_ENOTFOUND);
    /* two files with one number */
    snprintf(a, sizeof(a), "%s/001_a.sql", dir);
    snprintf(b, sizeof(b), "%s/1_b.sql", dir);
    write_text(a, "CREATE TABLE a (x);");
    write_text(b, "CREATE TABLE b (x);");
    ck_assert_int_eq(store_migrate(s, dir, 0, NULL, err, sizeof(err)), AG_EFORMAT);
    ck_assert_ptr_nonnull(strstr(err, "two migrations numbered 1"));
    unlink(b);
    /* a broken second file is rolled back whole and leaves version 1 */
    snprintf(b, sizeof(b), "%s/002_broken.sql", dir);
    write_text(b, "CREATE TABLE c (x); THIS IS NOT SQL;");
    ck_assert_int_eq(store_migrate(s, dir, 0, NULL, err, sizeof(err)), AG_EDB);
    ck_assert_ptr_nonnull(strstr(err, "002_broken.sql"));
    ck_assert_int_eq(store_schema_version(s, &v, err, sizeof(err)), 0);
    ck_assert_int_eq(v, 1);
    unlink(a);
    unlink(b);
    rmdir(dir);
    store_close(s);
    ck_assert_int_eq(store_open("", &s, err, sizeof(err)), AG_EINVAL);
    ck_assert_int_eq(store_open("/nonexistent/dir/x.db", &s, err, sizeof(err)), AG_EDB);
}
END_TEST

static int64_t add_exp(Store *s, const char *name, const char *task, int priority, int ranks,
                       const char *tags) {
    StoreExpNew e = {.name = name,
                     .task = task,
                     .spec_json = "{\"task\":\"x\"}",
                     .tags_json = tags,
                     .priority = priority,
                     .ranks = ranks};
    int64_t id = 0;
    ck_assert_msg(store_exp_insert(s, &e, "/runs", &id, err, sizeof(err)) == 0, "%s", err);
    return id;
}

START_TEST(test_experiments_crud_and_list) {
    Store *s = open_migrated();
    json_t *o = NULL, *arr = NULL;
    int64_t next = 0, ids[5];
    StoreExpFilter f = {0};
    StoreRun runs[8];
    int n = 0;
    ids[0] = add_exp(s, "a", "cartpole", 0, 1, "[\"x\"]");
    ids[1] = add_exp(s, "b", "pendulum", 5, 2, "[\"y\",\"x\"]");
    ids[2] = add_exp(s, "c", "cartpole", 5, 1, NULL);
    ids[3] = add_exp(s, "d", "cartpole", -1, 1, "[]");
    ids[4] = add_exp(s, "e", "hand", 0, 1, "[\"y\"]");
    ck_assert_int_eq(store_exp_get_json(s, ids[1], &o, err, sizeof(err)), 0);
    ck_assert_str_eq(json_string_value(json_object_get(o, "state")), "queued");
    ck_assert_str_eq(json_string_value(json_object_get(o, "run_dir")), "/runs/2");
    ck_assert_int_eq(json_integer_value(json_object_get(o, "ranks")), 2);
    ck_assert(json_is_object(json_object_get(o, "spec")));
    ck_assert(json_is_array(json_object_get(o, "tags")));
    json_decref(o);
    ck_assert_int_eq(store_exp_get_json(s, 999, &o, err, sizeof(err)), AG_ENOTFOUND);

    /* queue order: priority, then submission */
    ck_assert_int_eq(store_runs_in_state(s, "queued", runs, 8, &n, err, sizeof(err)), 0);
    ck_assert_int_eq(n, 5);
    ck_assert_int_eq(runs[0].id, ids[1]);
    ck_assert_int_eq(runs[1].id, ids[2]);
    ck_assert_int_eq(runs[2].id, ids[0]);
    ck_assert_int_eq(runs[3].id, ids[4]);
    ck_assert_int_eq(runs[4].id, ids[3]);

    /* filters */
    f.task = "cartpole";
    ck_assert_int_eq(store_exp_list_json(s, &f, &arr, &next, err, sizeof(err)), 0);
    ck_assert_int_eq(json_array_size(arr), 3);
    json_decref(arr);
    f.task = NULL;
    f.tag = "x";
    ck_assert_int_eq(store_exp_list_json(s, &f, &arr, &next, err, sizeof(err)), 0);
    ck_assert_int_eq(json_array_size(arr), 2);
    ck_assert_ptr_null(json_object_get(json_array_get(arr, 0), "spec"));
    json_decref(arr);
    /* cursor pagination: 2 + 2 + 1, newest first, no overlap */
    f.tag = NULL;
    f.limit = 2;
    ck_assert_int_eq(store_exp_list_json(s, &f, &arr, &next, err, sizeof(err)), 0);
    ck_assert_int_eq(json_array_size(arr), 2);
    ck_assert_int_eq(json_integer_value(json_object_get(json_array_get(arr, 0), "id")), ids[4]);
    ck_assert_int_eq(next, ids[3]);
    json_decref(arr);
    f.cursor = next;
    ck_assert_int_eq(store_exp_list_json(s, &f, &arr, &next, err, sizeof(err)), 0);
    ck_assert_int_eq(json_integer_value(json_object_get(json_array_get(arr, 0), "id")), ids[2]);
    json_decref(arr);
    f.cursor = next;
    ck_assert_int_eq(store_exp_list_json(s, &f, &arr, &next, err, sizeof(err)), 0);
    ck_assert_int_eq(json_array_size(arr), 1);
    ck_assert_int_eq(next, 0);
    json_decref(arr);

    /* annotate */
    ck_assert_int_eq(store_exp_annotate(s, ids[0], "[\"z\"]", "hello", err, sizeof(err)), 0);
    ck_assert_int_eq(store_exp_get_json(s, ids[0], &o, err, sizeof(err)), 0);
    ck_assert_str_eq(json_string_value(json_array_get(json_object_get(o, "tags"), 0)), "z");
    ck_assert_str_eq(json_string_value(json_object_get(o, "notes")), "hello");
    json_decref(o);
    ck_assert_int_eq(store_exp_annotate(s, 999, NULL, "x", err, sizeof(err)), AG_ENOTFOUND);
    store_close(s);
}
END_TEST

START_TEST(test_state_changes) {
    Store *s = open_migrated();
    char st[STORE_STATE_MAX], dir[STORE_PATH_MAX];
    StoreRun r;
    json_t *counts = NULL;
    int64_t a = add_exp(s, "a", "t", 0, 1, NULL), b = add_exp(s, "b", "t", 0, 1, NULL);
    /* queued: pause -> paused, resume -> queued, cancel -> cancelled */
    ck_assert_int_eq(store_exp_pause(s, a, st, err, sizeof(err)), 0);
    ck_assert_str_eq(st, "paused");
    ck_assert_int_eq(store_exp_pause(s, a, st, err, sizeof(err)), AG_ESTATE);
    ck_assert_int_eq(store_exp_resume(s, a, st, err, sizeof(err)), 0);
    ck_assert_str_eq(st, "queued");
    ck_assert_int_eq(store_exp_resume(s, a, st, err, sizeof(err)), AG_ESTATE);
    ck_assert_ptr_nonnull(strstr(err, "it is queued"));
    ck_assert_int_eq(store_exp_delete(s, a, dir, sizeof(dir), err, sizeof(err)), AG_ESTATE);
    ck_assert_int_eq(store_exp_cancel(s, a, st, err, sizeof(err)), 0);
    ck_assert_str_eq(st, "cancelled");
    ck_assert_int_eq(store_exp_cancel(s, a, st, err, sizeof(err)), AG_ESTATE);
    ck_assert_int_eq(store_exp_cancel(s, 999, st, err, sizeof(err)), AG_ENOTFOUND);
    /* a worker that was starting when the run was cancelled does not make it run again */
    ck_assert_int_eq(store_run_started(s, a, 4241, 776, 1, err, sizeof(err)), AG_ENOTFOUND);
    ck_assert_int_eq(store_run_get(s, a, &r, err, sizeof(err)), 0);
    ck_assert_str_eq(r.state, "cancelled");
    ck_assert_int_eq(r.pid, 0);
    /* running: requests are recorded for the scheduler */
    ck_assert_int_eq(store_run_started(s, b, 4242, 777, 1, err, sizeof(err)), 0);
    ck_assert_int_eq(store_run_get(s, b, &r, err, sizeof(err)), 0);
    ck_assert_str_eq(r.state, "running");
    ck_assert_int_eq(r.pid, 4242);
    ck_assert_int_eq(r.pid_start, 777);
    ck_assert_int_eq(r.attempts, 1);
    ck_assert_int_eq(store_exp_pause(s, b, st, err, sizeof(err)), 0);
    ck_assert_str_eq(st, "running");
    ck_assert_int_eq(store_run_get(s, b, &r, err, sizeof(err)), 0);
    ck_assert_str_eq(r.request, "pause");
    ck_assert_int_eq(store_exp_cancel(s, b, st, err, sizeof(err)), 0);
    ck_assert_int_eq(store_run_get(s, b, &r, err, sizeof(err)), 0);
    ck_assert_str_eq(r.request, "cancel");
    ck_assert_int_eq(store_run_set_state(s, b, "cancelled", "cancelled by user", err, sizeof(err)),
                     0);
    ck_assert_int_eq(store_run_get(s, b, &r, err, sizeof(err)), 0);
    ck_assert_str_eq(r.request, "");
    ck_assert_int_eq(r.pid, 0);
    ck_assert_int_eq(store_run_set_state(s, b, "running", NULL, err, sizeof(err)), AG_EINVAL);
    ck_assert_int_eq(store_run_set_state(s, b, "bogus", NULL, err, sizeof(err)), AG_EINVAL);
    ck_assert_int_eq(store_exp_counts(s, &counts, err, sizeof(err)), 0);
    ck_assert_int_eq(json_integer_value(json_object_get(counts, "cancelled")), 2);
    ck_assert_int_eq(json_integer_value(json_object_get(counts, "running")), 0);
    json_decref(counts);
    /* finished ones can be deleted, with their rows */
    ck_assert_int_eq(store_exp_delete(s, b, dir, sizeof(dir), err, sizeof(err)), 0);
    ck_assert_str_eq(dir, "/runs/2");
    ck_assert_int_eq(store_run_get(s, b, &r, err, sizeof(err)), AG_ENOTFOUND);
    store_close(s);
}
END_TEST

static int collect_rows(void *ctx, int64_t seq, const char *row, size_t len) {
    json_t *arr = ctx;
    json_t *o = json_loadb(row, len, 0, NULL);
    json_object_set_new(o, "_seq", json_integer(seq));
    json_array_append_new(arr, o);
    return 0;
}

static void ingest(Store *s, int64_t id, const char **lines, size_t n, int64_t off, size_t *added) {
    size_t lens[16];
    for (size_t i = 0; i < n; i++) {
        lens[i] = strlen(lines[i]);
    }
    ck_assert_msg(store_metrics_ingest(s, id, lines, lens, n, off, added, NULL, err, sizeof(err)) ==
                      0,
                  "%s", err);
}

START_TEST(test_metrics_ingest) {
    Store *s = open_migrated();
    int64_t id = add_exp(s, "a", "t", 0, 1, NULL), count = 0;
    const char *batch1[] = {"{\"iteration\":1,\"env_steps\":100,\"return_mean\":1.5}",
                            "{\"iteration\":2,\"env_steps\":200,\"return_mean\":2.5}", "not json",
                            "{\"iteration\":3,\"env_steps\":300,\"return_mean\":3.5}"};
    /* the run resumed from iteration 2's checkpoint and repeats iteration 3 */
    const char *batch2[] = {"{\"iteration\":3,\"env_steps\":300,\"return_mean\":9.5}",
                            "{\"iteration\":4,\"env_steps\":400,\"return_mean\":4.5,\"x\":1}"};
    size_t added = 0, n = 0;
    StoreRun r;
    json_t *keys = NULL, *rows = json_array(), *events = NULL;
    double *xs = NULL, *ys = NULL;
    ingest(s, id, batch1, 4, 120, &added);
    ck_assert_uint_eq(added, 3);
    ck_assert_int_eq(store_run_get(s, id, &r, err, sizeof(err)), 0);
    ck_assert_int_eq(r.ingest_offset, 120);
    ck_assert_int_eq(r.last_seq, 3);
    ck_assert_int_eq(store_event_list(s, id, 10, &events, err, sizeof(err)), 0);
    ck_assert_int_eq(json_array_size(events), 1);
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(events, 0), "kind")),
                     "ingest-skipped");
    json_decref(events);
    ingest(s, id, batch2, 2, 200, &added);
    ck_assert_uint_eq(added, 2);
    ck_assert_int_eq(store_metric_rows(s, id, 0, 0, collect_rows, rows, err, sizeof(err)), 0);
    ck_assert_int_eq(json_array_size(rows), 4);
    for (int i = 0; i < 4; i++) {
        ck_assert_int_eq(
            json_integer_value(json_object_get(json_array_get(rows, (size_t)i), "iteration")),
            i + 1);
    }
    ck_assert_double_eq(json_real_value(json_object_get(json_array_get(rows, 2), "return_mean")),
                        9.5);
    /* sequence numbers only grow */
    ck_assert_int_eq(json_integer_value(json_object_get(json_array_get(rows, 3), "_seq")), 5);
    json_decref(rows);
    ck_assert_int_eq(store_metric_count(s, &count, err, sizeof(err)), 0);
    ck_assert_int_eq(count, 4);
    ck_assert_int_eq(store_metric_keys(s, id, &keys, err, sizeof(err)), 0);
    ck_assert_int_eq(json_array_size(keys), 4);
    ck_assert_str_eq(json_string_value(json_array_get(keys, 3)), "x");
    json_decref(keys);
    ck_assert_int_eq(
        store_metric_series(s, id, NULL, "return_mean", &xs, &ys, &n, err, sizeof(err)), 0);
    ck_assert_uint_eq(n, 4);
    ck_assert_double_eq(xs[0], 1);
    ck_assert_double_eq(ys[3], 4.5);
    free(xs);
    free(ys);
    ck_assert_int_eq(store_metric_series(s, id, "env_steps", "x", &xs, &ys, &n, err, sizeof(err)),
                     0);
    ck_assert_uint_eq(n, 1);
    ck_assert_double_eq(xs[0], 400);
    free(xs);
    free(ys);
    ck_assert_int_eq(store_metric_series(s, id, NULL, "a\"b", &xs, &ys, &n, err, sizeof(err)),
                     AG_EINVAL);
    /* unknown experiment: nothing stored */
    ck_assert_int_eq(
        store_metrics_ingest(s, 999, batch2, (size_t[]){5, 5}, 2, 10, NULL, NULL, err, sizeof(err)),
        AG_ENOTFOUND);
    ck_assert_int_eq(store_metric_count(s, &count, err, sizeof(err)), 0);
    ck_assert_int_eq(count, 4);
    ck_assert_int_eq(store_metrics_set_offset(s, id, 0, err, sizeof(err)), 0);
    ck_assert_int_eq(store_run_get(s, id, &r, err, sizeof(err)), 0);
    ck_assert_int_eq(r.ingest_offset, 0);
    ck_assert_int_eq(r.last_seq, 5);
    /* paused and resumed at iteration 4: the file is read again from the start; the rows it
     * holds are the stored ones and keep their seq, nothing new is numbered */
    {
        const char *again[] = {batch1[0], batch1[1], batch2[0], batch2[1]};
        int64_t seqs[4] = {-1, -1, -1, -1};
        size_t lens[4];
        for (int i = 0; i < 4; i++) {
            lens[i] = strlen(again[i]);
        }
        ck_assert_int_eq(store_metrics_ingest_seqs(s, id, again, lens, 4, 200, seqs, &added, NULL,
                                                   err, sizeof(err)),
                         0);
        ck_assert_uint_eq(added, 0);
        for (int i = 0; i < 4; i++) {
            ck_assert_int_eq(seqs[i], 0);
        }
        rows = json_array();
        ck_assert_int_eq(store_metric_rows(s, id, 0, 0, collect_rows, rows, err, sizeof(err)), 0);
        ck_assert_int_eq(json_array_size(rows), 4);
        ck_assert_int_eq(json_integer_value(json_object_get(json_array_get(rows, 0), "_seq")), 1);
        ck_assert_int_eq(json_integer_value(json_object_get(json_array_get(rows, 3), "_seq")), 5);
        json_decref(rows);
        ck_assert_int_eq(store_run_get(s, id, &r, err, sizeof(err)), 0);
        ck_assert_int_eq(r.last_seq, 5);
        ck_assert_int_eq(r.ingest_offset, 200);
    }
    store_close(s);
}
END_TEST

START_TEST(test_tokens) {
    Store *s = open_migrated();
    char scope[8];
    int64_t id = 0;
    json_t *list = NULL;
    ck_assert_int_eq(store_token_add(s, "abc", "full", "admin", &id, err, sizeof(err)), 0);
    ck_assert_int_eq(store_token_add(s, "def", "read", "viewer", NULL, err, sizeof(err)), 0);
    ck_assert_int_eq(store_token_add(s, "abc", "read", "dup", NULL, err, sizeof(err)), AG_EDB);
    ck_assert_int_eq(store_token_add(s, "ghi", "root", "x", NULL, err, sizeof(err)), AG_EINVAL);
    ck_assert_int_eq(store_token_lookup(s, "abc", scope, sizeof(scope), err, sizeof(err)), 0);
    ck_assert_str_eq(scope, "full");
    ck_assert_int_eq(store_token_lookup(s, "def", scope, sizeof(scope), err, sizeof(err)), 0);
    ck_assert_str_eq(scope, "read");
    ck_assert_int_eq(store_token_lookup(s, "zzz", scope, sizeof(scope), err, sizeof(err)),
                     AG_ENOTFOUND);
    ck_assert_int_eq(store_token_revoke(s, id, err, sizeof(err)), 0);
    ck_assert_int_eq(store_token_revoke(s, id, err, sizeof(err)), AG_ENOTFOUND);
    ck_assert_int_eq(store_token_lookup(s, "abc", scope, sizeof(scope), err, sizeof(err)),
                     AG_ENOTFOUND);
    ck_assert_int_eq(store_token_list(s, &list, err, sizeof(err)), 0);
    ck_assert_int_eq(json_array_size(list), 2);
    /* hashes never leave the store */
    ck_assert_ptr_null(json_object_get(json_array_get(list, 0), "hash"));
    ck_assert(json_is_number(json_object_get(json_array_get(list, 0), "revoked_at")));
    json_decref(list);
    store_close(s);
}
END_TEST

typedef struct Writer {
    Store *s;
    int64_t id;
    int rounds;
    int failures;
} Writer;

static void *writer_main(void *arg) {
    Writer *w = arg;
    char e[256], line[64];
    for (int i = 1; i <= w->rounds; i++) {
        const char *lines[1] = {line};
        size_t lens[1];
        snprintf(line, sizeof(line), "{\"iteration\":%d,\"return_mean\":%d}", i, i);
        lens[0] = strlen(line);
        if (store_metrics_ingest(w->s, w->id, lines, lens, 1, i * 40, NULL, NULL, e, sizeof(e))) {
            w->failures++;
        }
    }
    return NULL;
}

/* a file database: reads (served by the read-only connections) go on while rows are written,
 * always see a consistent prefix, and see every write once it is committed */
START_TEST(test_concurrent_readers) {
    char path[] = "/tmp/angora-store-rd-XXXXXX", db[600];
    Store *s = NULL;
    Writer w = {0};
    pthread_t th;
    int fd = mkstemp(path), reads = 0;
    double *xs = NULL, *ys = NULL;
    size_t n = 0, last = 0;
    ck_assert_int_ge(fd, 0);
    close(fd);
    unlink(path);
    snprintf(db, sizeof(db), "%s.db", path);
    ck_assert_int_eq(store_open(db, &s, err, sizeof(err)), 0);
    ck_assert_int_eq(store_migrate(s, mig_dir, 0, NULL, err, sizeof(err)), 0);
    w.s = s;
    w.id = add_exp(s, "rw", "t", 0, 1, NULL);
    w.rounds = 300;
    ck_assert_int_eq(pthread_create(&th, NULL, writer_main, &w), 0);
    for (int i = 0; i < 200; i++) {
        json_t *arr = NULL, *o = NULL;
        int64_t next = 0;
        StoreExpFilter f = {.limit = 10};
        ck_assert_int_eq(store_exp_list_json(s, &f, &arr, &next, err, sizeof(err)), 0);
        ck_assert_int_eq(json_array_size(arr), 1);
        json_decref(arr);
        ck_assert_int_eq(store_exp_get_json(s, w.id, &o, err, sizeof(err)), 0);
        json_decref(o);
        ck_assert_int_eq(
            store_metric_series(s, w.id, NULL, "return_mean", &xs, &ys, &n, err, sizeof(err)), 0);
        /* never fewer rows than before, and always 1..n */
        ck_assert_uint_ge(n, last);
        for (size_t k = 0; k < n; k++) {
            ck_assert_double_eq(xs[k], (double)(k + 1));
        }
        last = n;
        free(xs);
        free(ys);
        reads++;
    }
    pthread_join(th, NULL);
    ck_assert_int_eq(w.failures, 0);
    ck_assert_int_eq(
        store_metric_series(s, w.id, NULL, "return_mean", &xs, &ys, &n, err, sizeof(err)), 0);
    ck_assert_uint_eq(n, 300);
    free(xs);
    free(ys);
    ck_assert_int_eq(reads, 200);
    ck_assert_int_eq(store_integrity_check(s, err, sizeof(err)), 0);
    store_close(s);
    unlink(db);
    {
        char side[700];
        snprintf(side, sizeof(side), "%s-wal", db);
        unlink(side);
        snprintf(side, sizeof(side), "%s-shm", db);
        unlink(side);
    }
}
END_TEST

static int64_t add_named(Store *s, const char *name, const char *task, int priority,
                         long long budget) {
    char spec[128];
    StoreExpNew e = {.name = name, .task = task, .spec_json = spec, .priority = priority};
    int64_t id = 0;
    snprintf(spec, sizeof(spec), "{\"task\":\"%s\",\"budget\":{\"env_steps\":%lld}}", task, budget);
    ck_assert_msg(store_exp_insert(s, &e, "/runs", &id, err, sizeof(err)) == 0, "%s", err);
    return id;
}

static void ingest1(Store *s, int64_t id, const char *line, int64_t offset) {
    size_t len = strlen(line);
    ck_assert_msg(
        store_metrics_ingest(s, id, &line, &len, 1, offset, NULL, NULL, err, sizeof(err)) == 0,
        "%s", err);
}

/* the value a sort key orders by, from a listed item (NULL when empty) */
static const json_t *sort_value(const json_t *it, const char *sort) {
    static const char *const keys[][2] = {{"submitted", "id"},
                                          {"name", "name"},
                                          {"task", "task"},
                                          {"state", "state"},
                                          {"priority", "priority"},
                                          {"started", "started_at"},
                                          {"finished", "finished_at"},
                                          {"return", "latest_return"},
                                          {"progress", "progress"}};
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
        if (!strcmp(keys[i][0], sort)) {
            const json_t *v = json_object_get(it, keys[i][1]);
            return json_is_null(v) ? NULL : v;
        }
    }
    ck_abort_msg("unknown sort %s", sort);
    return NULL;
}

/* <0, 0, >0 as a comes before b in the listing: empty values last, ties by id */
static int item_cmp(const json_t *a, const json_t *b, const char *sort, int asc) {
    const json_t *va = sort_value(a, sort), *vb = sort_value(b, sort);
    int c = 0;
    if (!va || !vb) {
        c = (va == NULL) - (vb == NULL);
        if (c) {
            return c;
        }
    } else if (json_is_string(va)) {
        c = strcasecmp(json_string_value(va), json_string_value(vb));
    } else {
        double x = json_number_value(va), y = json_number_value(vb);
        c = (x > y) - (x < y);
    }
    if (c == 0) {
        json_int_t ia = json_integer_value(json_object_get(a, "id"));
        json_int_t ib = json_integer_value(json_object_get(b, "id"));
        c = (ia > ib) - (ia < ib);
    }
    return asc ? c : -c;
}

START_TEST(test_list_sort_search_pages) {
    static const char *const sorts[] = {"submitted", "name",     "task",   "state",   "priority",
                                        "started",   "finished", "return", "progress"};
    Store *s = open_migrated();
    StoreExpFilter f = {0};
    json_t *all = NULL, *page = NULL, *o = NULL;
    char next[STORE_CURSOR_MAX], cur[STORE_CURSOR_MAX];
    int64_t ids[9];
    /* names with case and ties, budgets, states and metrics so every key has ties and gaps */
    ids[0] = add_named(s, "Alpha-run", "CartPole", 0, 1000);
    ids[1] = add_named(s, "beta", "Pendulum", 3, 2000);
    ids[2] = add_named(s, "ALPHA-two", "CartPole", 3, 1000);
    ids[3] = add_named(s, "gamma", "HandReach", -1, 4000);
    ids[4] = add_named(s, "beta", "CartPole", 0, 1000);
    ids[5] = add_named(s, "delta", "Pendulum", 0, 2000);
    ids[6] = add_named(s, "alpha", "HandReach", 1, 4000);
    ids[7] = add_named(s, "epsilon", "CartPole", 0, 1000);
    ids[8] = add_named(s, "zeta", "CartPole", 0, 1000);
    ck_assert_int_eq(store_run_started(s, ids[0], 100, 1, 1, err, sizeof(err)), 0);
    ck_assert_int_eq(store_run_started(s, ids[2], 101, 1, 1, err, sizeof(err)), 0);
    ck_assert_int_eq(store_run_started(s, ids[3], 102, 1, 1, err, sizeof(err)), 0);
    ck_assert_int_eq(store_run_started(s, ids[6], 103, 1, 1, err, sizeof(err)), 0);
    ck_assert_int_eq(store_run_set_state(s, ids[2], "succeeded", NULL, err, sizeof(err)), 0);
    ck_assert_int_eq(store_run_set_state(s, ids[3], "failed", "boom", err, sizeof(err)), 0);
    ingest1(s, ids[0], "{\"iteration\":1,\"env_steps\":500,\"return_mean\":10.0}", 10);
    ingest1(s, ids[2], "{\"iteration\":4,\"env_steps\":1000,\"return_mean\":10.0}", 10);
    ingest1(s, ids[3],
            "{\"iteration\":2,\"env_steps\":1000,\"return_mean\":-3.5,"
            "\"consecutive_goals_mean\":1.5}",
            10);
    ingest1(s, ids[6],
            "{\"iteration\":1,\"env_steps\":400,\"return_mean\":7,\"success_rate\":0.25}", 10);
    /* a later row without the task metric keeps the last one; the other values follow it */
    ingest1(s, ids[6], "{\"iteration\":2,\"env_steps\":800,\"return_mean\":8}", 20);
    ck_assert_int_eq(store_exp_get_json(s, ids[6], &o, err, sizeof(err)), 0);
    ck_assert_int_eq(json_integer_value(json_object_get(o, "budget_env_steps")), 4000);
    ck_assert_int_eq(json_integer_value(json_object_get(o, "latest_iteration")), 2);
    ck_assert_int_eq(json_integer_value(json_object_get(o, "latest_env_steps")), 800);
    ck_assert(json_number_value(json_object_get(o, "latest_return")) == 8.0);
    ck_assert(json_real_value(json_object_get(o, "latest_task_metric")) == 0.25);
    ck_assert_str_eq(json_string_value(json_object_get(o, "latest_task_key")), "success_rate");
    json_decref(o);
    ck_assert_int_eq(store_exp_get_json(s, ids[3], &o, err, sizeof(err)), 0);
    ck_assert(json_real_value(json_object_get(o, "latest_task_metric")) == 1.5);
    ck_assert_str_eq(json_string_value(json_object_get(o, "latest_task_key")),
                     "consecutive_goals_mean");
    json_decref(o);

    for (size_t si = 0; si < sizeof(sorts) / sizeof(sorts[0]); si++) {
        for (int asc = 0; asc < 2; asc++) {
            size_t seen = 0;
            int pages = 0;
            memset(&f, 0, sizeof(f));
            f.sort = sorts[si];
            f.ascending = asc;
            f.limit = 1000;
            ck_assert_msg(store_exp_list_page(s, &f, &all, next, sizeof(next), err, sizeof(err)) ==
                              0,
                          "%s", err);
            ck_assert_int_eq(json_array_size(all), 9);
            ck_assert_str_eq(next, "");
            for (size_t i = 1; i < json_array_size(all); i++) {
                ck_assert_msg(item_cmp(json_array_get(all, i - 1), json_array_get(all, i),
                                       sorts[si], asc) < 0,
                              "sort %s asc=%d out of order at %zu", sorts[si], asc, i);
            }
            /* pages of 2 walk the same order without gaps or repeats */
            f.limit = 2;
            cur[0] = '\0';
            do {
                f.after = cur[0] ? cur : NULL;
                ck_assert_msg(
                    store_exp_list_page(s, &f, &page, next, sizeof(next), err, sizeof(err)) == 0,
                    "%s", err);
                for (size_t i = 0; i < json_array_size(page); i++, seen++) {
                    ck_assert_int_eq(
                        json_integer_value(json_object_get(json_array_get(page, i), "id")),
                        json_integer_value(json_object_get(json_array_get(all, seen), "id")));
                }
                json_decref(page);
                snprintf(cur, sizeof(cur), "%s", next);
                pages++;
            } while (next[0] && pages < 20);
            ck_assert_uint_eq(seen, 9);
            ck_assert_int_eq(pages, 5);
            json_decref(all);
        }
    }

    /* specific orders */
    memset(&f, 0, sizeof(f));
    f.sort = "progress";
    f.limit = 3;
    ck_assert_int_eq(store_exp_list_page(s, &f, &all, next, sizeof(next), err, sizeof(err)), 0);
    ck_assert_int_eq(json_integer_value(json_object_get(json_array_get(all, 0), "id")), ids[2]);
    ck_assert(json_real_value(json_object_get(json_array_get(all, 0), "progress")) == 1.0);
    ck_assert_int_eq(json_integer_value(json_object_get(json_array_get(all, 1), "id")), ids[0]);
    ck_assert_int_eq(json_integer_value(json_object_get(json_array_get(all, 2), "id")), ids[3]);
    json_decref(all);
    /* a cursor given out before empty values had an order value ([sort, order, null, id] of a
     * row without a return) still pages on from that row: by return, the 5 runs without one
     * come after the 4 with one, newest first */
    {
        char text[64], hex[STORE_CURSOR_MAX];
        size_t len;
        memset(&f, 0, sizeof(f));
        f.sort = "return";
        f.limit = 1000;
        ck_assert_int_eq(store_exp_list_page(s, &f, &all, next, sizeof(next), err, sizeof(err)), 0);
        ck_assert(json_is_null(json_object_get(json_array_get(all, 5), "latest_return")));
        len = (size_t)snprintf(
            text, sizeof(text), "[\"return\",\"desc\",null,%lld]",
            (long long)json_integer_value(json_object_get(json_array_get(all, 5), "id")));
        for (size_t i = 0; i < len; i++) {
            snprintf(hex + 2 * i, 3, "%02x", (unsigned char)text[i]);
        }
        f.after = hex;
        ck_assert_int_eq(store_exp_list_page(s, &f, &page, next, sizeof(next), err, sizeof(err)),
                         0);
        ck_assert_int_eq(json_array_size(page), 3);
        for (size_t i = 0; i < 3; i++) {
            ck_assert_int_eq(json_integer_value(json_object_get(json_array_get(page, i), "id")),
                             json_integer_value(json_object_get(json_array_get(all, 6 + i), "id")));
        }
        json_decref(page);
        json_decref(all);
    }
    /* a new run inserted between pages does not shift the walk (keyset, not offsets) */
    f.sort = "name";
    f.ascending = 1;
    f.limit = 3;
    f.after = NULL;
    ck_assert_int_eq(store_exp_list_page(s, &f, &page, next, sizeof(next), err, sizeof(err)), 0);
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(page, 0), "name")), "alpha");
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(page, 2), "name")),
                     "ALPHA-two");
    json_decref(page);
    add_named(s, "aardvark", "CartPole", 0, 1000);
    snprintf(cur, sizeof(cur), "%s", next);
    f.after = cur;
    ck_assert_int_eq(store_exp_list_page(s, &f, &page, next, sizeof(next), err, sizeof(err)), 0);
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(page, 0), "name")), "beta");
    ck_assert_int_eq(json_integer_value(json_object_get(json_array_get(page, 0), "id")), ids[1]);
    json_decref(page);

    /* search: case-insensitive substring, combined with filters and sorts */
    memset(&f, 0, sizeof(f));
    f.q = "aLpHa";
    f.limit = 100;
    ck_assert_int_eq(store_exp_list_page(s, &f, &page, next, sizeof(next), err, sizeof(err)), 0);
    ck_assert_int_eq(json_array_size(page), 3);
    json_decref(page);
    f.task = "CartPole";
    ck_assert_int_eq(store_exp_list_page(s, &f, &page, next, sizeof(next), err, sizeof(err)), 0);
    ck_assert_int_eq(json_array_size(page), 2);
    json_decref(page);
    f.task = NULL;
    f.q = "%"; /* no wildcard meaning */
    ck_assert_int_eq(store_exp_list_page(s, &f, &page, next, sizeof(next), err, sizeof(err)), 0);
    ck_assert_int_eq(json_array_size(page), 0);
    json_decref(page);

    /* bad sorts and cursors */
    memset(&f, 0, sizeof(f));
    f.sort = "colour";
    ck_assert_int_eq(store_exp_list_page(s, &f, &page, next, sizeof(next), err, sizeof(err)),
                     AG_EINVAL);
    ck_assert_ptr_nonnull(strstr(err, "sort"));
    ck_assert(!store_exp_sort_known("colour") && store_exp_sort_known("return"));
    ck_assert(store_exp_sort_ascending("name") && store_exp_sort_ascending("state"));
    ck_assert(!store_exp_sort_ascending("return") && !store_exp_sort_ascending(NULL));
    f.sort = "name";
    f.after = "zz";
    ck_assert_int_eq(store_exp_list_page(s, &f, &page, next, sizeof(next), err, sizeof(err)),
                     AG_EINVAL);
    f.after = "5b5d"; /* hex of [] */
    ck_assert_int_eq(store_exp_list_page(s, &f, &page, next, sizeof(next), err, sizeof(err)),
                     AG_EINVAL);
    /* a cursor of another sort is refused */
    f.sort = "task";
    f.after = NULL;
    f.limit = 2;
    ck_assert_int_eq(store_exp_list_page(s, &f, &page, next, sizeof(next), err, sizeof(err)), 0);
    json_decref(page);
    snprintf(cur, sizeof(cur), "%s", next);
    f.sort = "name";
    f.after = cur;
    ck_assert_int_eq(store_exp_list_page(s, &f, &page, next, sizeof(next), err, sizeof(err)),
                     AG_EINVAL);
    f.sort = "task";
    f.ascending = 1;
    ck_assert_int_eq(store_exp_list_page(s, &f, &page, next, sizeof(next), err, sizeof(err)),
                     AG_EINVAL);
    f.sort = "submitted";
    f.after = "abc";
    ck_assert_int_eq(store_exp_list_page(s, &f, &page, next, sizeof(next), err, sizeof(err)),
                     AG_EINVAL);
    store_close(s);
}
END_TEST

static Suite *store_suite(void) {
    Suite *s = suite_create("store");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, setup, NULL);
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_migrate_empty);
    tcase_add_test(tc, test_migrate_each_earlier_version);
    tcase_add_test(tc, test_migrate_009_pretrain_kind);
    tcase_add_test(tc, test_migrate_refuses_newer_database);
    tcase_add_test(tc, test_page_size_of_new_and_existing);
    tcase_add_test(tc, test_migrate_bad_dirs);
    tcase_add_test(tc, test_experiments_crud_and_list);
    tcase_add_test(tc, test_state_changes);
    tcase_add_test(tc, test_metrics_ingest);
    tcase_add_test(tc, test_list_sort_search_pages);
    tcase_add_test(tc, test_tokens);
    tcase_add_test(tc, test_concurrent_readers);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) {
    SRunner *sr = srunner_create(store_suite());
    int failed;
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
