/* Tests of server/store/store_jobs.c and of the migration that made analysis jobs possible
 * (005_analysis.sql): a database filled at schema 4 keeps every row, id counter, metric row and
 * foreign key through the rebuild of its experiments table; a run's jobs by kind; the phase of
 * a running analysis job. */
#include "store.h"
#include "store_test_db.h"

#include "ag_error.h"
#include "ag_fs.h"

#include <check.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char mig_dir[1024];
static char err[512];
static char db[600];

static void setup(void) {
    store_test_db_new(mig_dir, sizeof(mig_dir), db, sizeof(db));
}

static void teardown(void) {
    store_test_db_remove(db);
}

/* runs SQL on the database file directly, as an angorad of an older version would have */
static void sql_exec(const char *sql) {
    sqlite3 *h = NULL;
    char *msg = NULL;
    ck_assert_int_eq(sqlite3_open(db, &h), SQLITE_OK);
    ck_assert_msg(sqlite3_exec(h, sql, NULL, NULL, &msg) == SQLITE_OK, "%s: %s", sql,
                  msg ? msg : "?");
    sqlite3_close(h);
}

/* one integer from a query on the file */
static long long sql_int(const char *sql) {
    sqlite3 *h = NULL;
    sqlite3_stmt *st = NULL;
    long long v = -1;
    ck_assert_int_eq(sqlite3_open(db, &h), SQLITE_OK);
    ck_assert_msg(sqlite3_prepare_v2(h, sql, -1, &st, NULL) == SQLITE_OK, "%s", sql);
    if (sqlite3_step(st) == SQLITE_ROW) {
        v = sqlite3_column_int64(st, 0);
    }
    sqlite3_finalize(st);
    sqlite3_close(h);
    return v;
}

/* the text of every experiment row in the columns schema 4 had */
static char *experiments_dump(void) {
    sqlite3 *h = NULL;
    sqlite3_stmt *st = NULL;
    size_t cap = 1 << 16, len = 0;
    char *out = calloc(1, cap);
    ck_assert_int_eq(sqlite3_open(db, &h), SQLITE_OK);
    ck_assert_int_eq(
        sqlite3_prepare_v2(h,
                           "SELECT id, name, task, spec, state, priority, submitted_at, started_at,"
                           " finished_at, ranks, attempts, error, run_dir, pid, pid_start, tags,"
                           " notes, ingest_offset, last_seq, request, request_at, kind, parent_id,"
                           " budget_env_steps, latest_iteration, latest_env_steps, latest_return,"
                           " latest_task_metric, latest_task_key FROM experiments ORDER BY id",
                           -1, &st, NULL),
        SQLITE_OK);
    while (sqlite3_step(st) == SQLITE_ROW) {
        for (int i = 0; i < sqlite3_column_count(st); i++) {
            const unsigned char *t = sqlite3_column_text(st, i);
            len += (size_t)snprintf(out + len, cap - len, "%s|", t ? (const char *)t : "NULL");
            ck_assert_uint_lt(len, cap);
        }
        out[len++] = '\n';
    }
    sqlite3_finalize(st);
    sqlite3_close(h);
    return out;
}

START_TEST(test_migration_keeps_a_filled_database) {
    Store *s = NULL;
    char *before, *after;
    int applied = 0, v = 0;
    int64_t id = 0;
    json_t *o = NULL;
    StoreExpNew e = {.name = "analysis of 1",
                     .task = "CartPole",
                     .spec_json = "{}",
                     .kind = "analysis",
                     .parent_id = 1};
    char run_dir[STORE_PATH_MAX];
    ck_assert_int_eq(store_open(db, &s, err, sizeof(err)), 0);
    ck_assert_int_eq(store_migrate(s, mig_dir, 4, &applied, err, sizeof(err)), 0);
    ck_assert_int_eq(applied, 4);
    store_close(s);
    /* a training run with rows and keys, a second one, an evaluation of the first, a run since
     * deleted (its id must never come back), events; then the list summary as ingestion sets it */
    sql_exec("PRAGMA foreign_keys=ON;"
             "INSERT INTO experiments (name, task, spec, submitted_at, tags, notes, state,"
             " attempts, run_dir, ingest_offset, last_seq) VALUES"
             " ('one', 'CartPole', '{\"budget\":{\"env_steps\":100}}', 1.5, '[\"a\"]', 'n',"
             " 'succeeded', 1, '/runs/1', 120, 2),"
             " ('two', 'Pendulum', '{}', 2.5, '[]', '', 'running', 2, '/runs/2', 0, 0),"
             " ('gone', 'CartPole', '{}', 3.5, '[]', '', 'failed', 3, '/runs/3', 0, 0);"
             "INSERT INTO experiments (name, task, spec, submitted_at, kind, parent_id, state)"
             " VALUES ('evaluation of 1', 'CartPole', '{\"episodes\":3}', 4.5, 'evaluate', 1,"
             " 'queued');"
             "DELETE FROM experiments WHERE id = 3;"
             "INSERT INTO metrics (exp_id, seq, iteration, env_steps, return_mean, row) VALUES"
             " (1, 1, 1, 50, 1.5, '{\"iteration\":1}'), (1, 2, 2, 100, 2.5, '{\"iteration\":2}'),"
             " (2, 1, 1, 10, 0.5, '{\"iteration\":1}');"
             "INSERT INTO metric_keys VALUES (1, 'iteration'), (1, 'return_mean'),"
             " (2, 'iteration');"
             "INSERT INTO events (exp_id, at, kind, detail) VALUES (1, 1, 'started', 'x');"
             "UPDATE experiments SET budget_env_steps = 100, latest_iteration = 2,"
             " latest_env_steps = 100, latest_return = 2.5 WHERE id = 1;"
             "UPDATE experiments SET latest_iteration = 1, latest_env_steps = 10,"
             " latest_return = 0.5 WHERE id = 2;");
    before = experiments_dump();
    ck_assert_int_eq(store_open(db, &s, err, sizeof(err)), 0);
    ck_assert_msg(store_migrate(s, mig_dir, 0, &applied, err, sizeof(err)) == 0, "%s", err);
    ck_assert_int_ge(applied, 1);
    ck_assert_int_eq(store_schema_version(s, &v, err, sizeof(err)), 0);
    ck_assert_int_ge(v, 5);
    ck_assert_int_eq(store_integrity_check(s, err, sizeof(err)), 0);
    /* every row and column as it was, the rows and keys of the runs too */
    after = experiments_dump();
    ck_assert_str_eq(after, before);
    ck_assert_int_eq(sql_int("SELECT count(*) FROM metrics"), 3);
    ck_assert_int_eq(sql_int("SELECT count(*) FROM metric_keys"), 3);
    ck_assert_int_eq(sql_int("SELECT count(*) FROM events"), 1);
    ck_assert_int_eq(sql_int("SELECT count(*) FROM experiments WHERE phase IS NOT NULL"), 0);
    /* the indexes are back, and the rebuild left nothing behind */
    ck_assert_int_eq(sql_int("SELECT count(*) FROM sqlite_master WHERE type = 'index' AND name IN"
                             " ('experiments_queue', 'experiments_submitted', 'experiments_name',"
                             " 'experiments_parent')"),
                     4);
    ck_assert_int_eq(sql_int("SELECT count(*) FROM sqlite_master WHERE name LIKE '%_new'"), 0);
    ck_assert_int_eq(sql_int("SELECT count(*) FROM pragma_foreign_key_check"), 0);
    /* an analysis job is a kind the table takes now; its id follows the deleted run's */
    ck_assert_msg(store_exp_insert(s, &e, "/runs", &id, err, sizeof(err)) == 0, "%s", err);
    ck_assert_int_eq(id, 5);
    ck_assert_int_eq(store_exp_get_json(s, id, &o, err, sizeof(err)), 0);
    ck_assert_str_eq(json_string_value(json_object_get(o, "kind")), "analysis");
    ck_assert(json_is_null(json_object_get(o, "phase")));
    json_decref(o);
    /* foreign keys are enforced again: deleting a run still takes its rows with it */
    ck_assert_int_eq(store_exp_delete(s, 1, run_dir, sizeof(run_dir), err, sizeof(err)), 0);
    ck_assert_str_eq(run_dir, "/runs/1");
    ck_assert_int_eq(sql_int("SELECT count(*) FROM metrics WHERE exp_id = 1"), 0);
    ck_assert_int_eq(sql_int("SELECT count(*) FROM metric_keys WHERE exp_id = 1"), 0);
    ck_assert_int_eq(sql_int("SELECT count(*) FROM metrics WHERE exp_id = 2"), 1);
    ck_assert_int_eq(sql_int("SELECT count(*) FROM experiments WHERE parent_id = 1"), 0);
    store_close(s);
    /* other kinds and phases are still refused by the table itself */
    {
        sqlite3 *h = NULL;
        ck_assert_int_eq(sqlite3_open(db, &h), SQLITE_OK);
        ck_assert_int_ne(sqlite3_exec(h,
                                      "INSERT INTO experiments (name, task, spec, submitted_at,"
                                      " kind) VALUES ('x', 'y', '{}', 1, 'bogus')",
                                      NULL, NULL, NULL),
                         SQLITE_OK);
        ck_assert_int_ne(sqlite3_exec(h, "UPDATE experiments SET phase = 'resting' WHERE id = 5",
                                      NULL, NULL, NULL),
                         SQLITE_OK);
        sqlite3_close(h);
    }
    free(before);
    free(after);
}
END_TEST

/* a migration that rebuilds a table but leaves a dangling reference is rolled back whole */
START_TEST(test_rebuild_checks_foreign_keys) {
    char dir[] = "/tmp/angora-mig-XXXXXX", path[600];
    Store *s = NULL;
    FILE *f;
    int v = -1;
    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/001_a.sql", dir);
    f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs("CREATE TABLE p (id INTEGER PRIMARY KEY);"
          "CREATE TABLE c (p_id INTEGER REFERENCES p (id));",
          f);
    fclose(f);
    snprintf(path, sizeof(path), "%s/002_b.sql", dir);
    f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs("-- pragma: foreign_keys=off\nINSERT INTO c VALUES (7);", f);
    fclose(f);
    ck_assert_int_eq(store_open(db, &s, err, sizeof(err)), 0);
    ck_assert_int_eq(store_migrate(s, dir, 0, NULL, err, sizeof(err)), AG_EDB);
    ck_assert_msg(strstr(err, "002_b.sql") && strstr(err, "refers to a missing row"), "%s", err);
    ck_assert_int_eq(store_schema_version(s, &v, err, sizeof(err)), 0);
    ck_assert_int_eq(v, 1);
    store_close(s);
    ck_assert_int_eq(sql_int("SELECT count(*) FROM c"), 0);
    unlink(path);
    snprintf(path, sizeof(path), "%s/001_a.sql", dir);
    unlink(path);
    rmdir(dir);
}
END_TEST

START_TEST(test_jobs_and_phase) {
    Store *s = NULL;
    StoreExpNew run = {.name = "run", .task = "CartPole", .spec_json = "{}"};
    StoreExpNew job = {.name = "job", .task = "CartPole", .kind = "analysis"};
    StoreExpNew ev = {.name = "ev", .task = "CartPole", .spec_json = "{}", .kind = "evaluate"};
    int64_t parent = 0, other = 0, a1 = 0, a2 = 0, e1 = 0;
    json_t *arr = NULL, *o = NULL;
    StoreRun r;
    ck_assert_int_eq(store_open(db, &s, err, sizeof(err)), 0);
    ck_assert_int_eq(store_migrate(s, mig_dir, 0, NULL, err, sizeof(err)), 0);
    ck_assert_int_eq(store_exp_insert(s, &run, "/runs", &parent, err, sizeof(err)), 0);
    ck_assert_int_eq(store_exp_insert(s, &run, "/runs", &other, err, sizeof(err)), 0);
    job.parent_id = ev.parent_id = parent;
    job.spec_json = "{\"checkpoint\":\"best.ckpt\",\"episodes\":5}";
    ck_assert_int_eq(store_exp_insert(s, &job, "/runs", &a1, err, sizeof(err)), 0);
    ck_assert_int_eq(store_exp_insert(s, &ev, "/runs", &e1, err, sizeof(err)), 0);
    job.spec_json = "{\"checkpoint\":\"last.ckpt\",\"episodes\":7}";
    ck_assert_int_eq(store_exp_insert(s, &job, "/runs", &a2, err, sizeof(err)), 0);

    /* the analyses of the run, newest first, with their specs; other kinds and runs apart */
    ck_assert_int_eq(store_jobs_json(s, parent, "analysis", 100, &arr, err, sizeof(err)), 0);
    ck_assert_int_eq(json_array_size(arr), 2);
    o = json_array_get(arr, 0);
    ck_assert_int_eq(json_integer_value(json_object_get(o, "id")), a2);
    ck_assert_str_eq(json_string_value(json_object_get(o, "state")), "queued");
    ck_assert(json_is_null(json_object_get(o, "phase")));
    ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(o, "spec"), "episodes")),
                     7);
    ck_assert_int_eq(json_integer_value(json_object_get(json_array_get(arr, 1), "id")), a1);
    json_decref(arr);
    ck_assert_int_eq(store_jobs_json(s, parent, NULL, 100, &arr, err, sizeof(err)), 0);
    ck_assert_int_eq(json_array_size(arr), 3);
    json_decref(arr);
    ck_assert_int_eq(store_jobs_json(s, parent, "analysis", 1, &arr, err, sizeof(err)), 0);
    ck_assert_int_eq(json_array_size(arr), 1);
    json_decref(arr);
    ck_assert_int_eq(store_jobs_json(s, other, "analysis", 100, &arr, err, sizeof(err)), 0);
    ck_assert_int_eq(json_array_size(arr), 0);
    json_decref(arr);

    /* a phase belongs to a running job: queued or absent ones are refused */
    ck_assert_int_eq(store_run_phase(s, a1, "recording", 10, 20, err, sizeof(err)), AG_ENOTFOUND);
    ck_assert_int_eq(store_run_phase(s, 999, "recording", 10, 20, err, sizeof(err)), AG_ENOTFOUND);
    ck_assert_int_eq(store_run_started(s, a1, 10, 20, 0, err, sizeof(err)), 0);
    ck_assert_int_eq(store_run_phase(s, a1, "recording", 10, 20, err, sizeof(err)), 0);
    ck_assert_int_eq(store_run_get(s, a1, &r, err, sizeof(err)), 0);
    ck_assert_str_eq(r.phase, "recording");
    ck_assert_int_eq(r.pid, 10);
    /* the next step's process replaces the first's */
    ck_assert_int_eq(store_run_phase(s, a1, "analyzing", 11, 21, err, sizeof(err)), 0);
    ck_assert_int_eq(store_run_get(s, a1, &r, err, sizeof(err)), 0);
    ck_assert_str_eq(r.phase, "analyzing");
    ck_assert_int_eq(r.pid, 11);
    ck_assert_int_eq(r.pid_start, 21);
    ck_assert_int_eq(store_run_phase(s, a1, "done", 0, 0, err, sizeof(err)), 0);
    ck_assert_int_eq(store_run_set_state(s, a1, "succeeded", NULL, err, sizeof(err)), 0);
    ck_assert_int_eq(store_exp_get_json(s, a1, &o, err, sizeof(err)), 0);
    ck_assert_str_eq(json_string_value(json_object_get(o, "phase")), "done");
    ck_assert_str_eq(json_string_value(json_object_get(o, "state")), "succeeded");
    ck_assert(json_is_null(json_object_get(o, "pid")));
    json_decref(o);
    /* a phase the table does not know is refused */
    ck_assert_int_eq(store_run_started(s, a2, 12, 22, 0, err, sizeof(err)), 0);
    ck_assert_int_eq(store_run_phase(s, a2, "resting", 12, 22, err, sizeof(err)), AG_EDB);
    store_close(s);
}
END_TEST

static Suite *jobs_suite(void) {
    Suite *s = suite_create("store_jobs");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_migration_keeps_a_filled_database);
    tcase_add_test(tc, test_rebuild_checks_foreign_keys);
    tcase_add_test(tc, test_jobs_and_phase);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) {
    SRunner *sr = srunner_create(jobs_suite());
    int failed;
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
