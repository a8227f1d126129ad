/* Tests of server/store/store_slurm.c and of the migration that added executors
 * (006_executor.sql): a database at schema 5 with a running run converts in place (the run is
 * local, nothing else changes); the executor is chosen at submission; a queued run becomes a
 * Slurm job, what Slurm reports is stored and shown, and a run that is not queued cannot be
 * submitted. */
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

START_TEST(test_migration_converts_in_place) {
    Store *s = NULL;
    sqlite3 *h = NULL;
    StoreRun r;
    int applied = 0, v = 0;
    ck_assert_int_eq(store_open(db, &s, err, sizeof(err)), 0);
    ck_assert_int_eq(store_migrate(s, mig_dir, 5, &applied, err, sizeof(err)), 0);
    store_close(s);
    ck_assert_int_eq(sqlite3_open(db, &h), SQLITE_OK);
    ck_assert_int_eq(sqlite3_exec(h,
                                  "INSERT INTO experiments (name, task, spec, submitted_at, state,"
                                  " run_dir, pid, pid_start, attempts, last_seq) VALUES ('one',"
                                  " 'CartPole', '{}', 1.5, 'running', '/runs/1', 77, 88, 2, 9)",
                                  NULL, NULL, NULL),
                     SQLITE_OK);
    sqlite3_close(h);
    ck_assert_int_eq(store_open(db, &s, err, sizeof(err)), 0);
    ck_assert_msg(store_migrate(s, mig_dir, 6, &applied, err, sizeof(err)) == 0, "%s", err);
    ck_assert_int_eq(applied, 1);
    ck_assert_int_eq(store_schema_version(s, &v, err, sizeof(err)), 0);
    ck_assert_int_eq(v, 6);
    ck_assert_int_eq(store_run_get(s, 1, &r, err, sizeof(err)), 0);
    ck_assert_str_eq(r.executor, "local");
    ck_assert_str_eq(r.slurm_job, "");
    ck_assert_str_eq(r.state, "running");
    ck_assert_int_eq(r.pid, 77);
    ck_assert_int_eq(r.pid_start, 88);
    ck_assert_int_eq(r.attempts, 2);
    ck_assert_int_eq(r.last_seq, 9);
    ck_assert_str_eq(r.run_dir, "/runs/1");
    ck_assert_int_eq(store_integrity_check(s, err, sizeof(err)), 0);
    store_close(s);
}
END_TEST

START_TEST(test_submitted_and_seen) {
    Store *s = NULL;
    StoreRun r;
    json_t *o = NULL;
    int64_t id = 0;
    StoreExpNew e = {
        .name = "$(touch /tmp/x)", .task = "CartPole", .spec_json = "{}", .executor = "slurm"};
    ck_assert_int_eq(store_open(db, &s, err, sizeof(err)), 0);
    ck_assert_int_eq(store_migrate(s, mig_dir, 0, NULL, err, sizeof(err)), 0);
    ck_assert_int_eq(store_exp_insert(s, &e, "/runs", &id, err, sizeof(err)), 0);
    ck_assert_int_eq(store_run_submitted(s, id, "4242", 1, err, sizeof(err)), 0);
    ck_assert_int_eq(store_run_get(s, id, &r, err, sizeof(err)), 0);
    ck_assert_str_eq(r.state, "running");
    ck_assert_str_eq(r.executor, "slurm");
    ck_assert_str_eq(r.slurm_job, "4242");
    ck_assert_int_eq(r.pid, 0);
    ck_assert_int_eq(r.attempts, 1);
    /* running already: a second submission of the same attempt is refused */
    ck_assert_int_eq(store_run_submitted(s, id, "4243", 2, err, sizeof(err)), AG_ENOTFOUND);
    ck_assert_int_eq(store_run_slurm_seen(s, id, "PENDING", "Resources", NULL, 0, err, sizeof(err)),
                     0);
    ck_assert_int_eq(store_exp_get_json(s, id, &o, err, sizeof(err)), 0);
    ck_assert_str_eq(json_string_value(json_object_get(o, "executor")), "slurm");
    ck_assert_str_eq(json_string_value(json_object_get(o, "slurm_job_id")), "4242");
    ck_assert_str_eq(json_string_value(json_object_get(o, "slurm_state")), "PENDING");
    ck_assert_str_eq(json_string_value(json_object_get(o, "slurm_reason")), "Resources");
    ck_assert(json_is_null(json_object_get(o, "slurm_nodes")));
    json_decref(o);
    /* running on a node, then requeued: the nodes stay known while it pends again */
    ck_assert_int_eq(store_run_slurm_seen(s, id, "RUNNING", NULL, "node1", 0, err, sizeof(err)), 0);
    ck_assert_int_eq(store_run_slurm_seen(s, id, "PENDING", "BeginTime", NULL, 1, err, sizeof(err)),
                     0);
    ck_assert_int_eq(store_run_get(s, id, &r, err, sizeof(err)), 0);
    ck_assert_int_eq(r.slurm_restarts, 1);
    ck_assert_int_eq(store_exp_get_json(s, id, &o, err, sizeof(err)), 0);
    ck_assert_str_eq(json_string_value(json_object_get(o, "slurm_nodes")), "node1");
    ck_assert(json_is_null(json_object_get(o, "pid")));
    json_decref(o);
    /* the job id stays with the finished run (the record of where it ran) */
    ck_assert_int_eq(store_run_set_state(s, id, "succeeded", NULL, err, sizeof(err)), 0);
    ck_assert_int_eq(store_run_get(s, id, &r, err, sizeof(err)), 0);
    ck_assert_str_eq(r.slurm_job, "4242");
    /* an unknown run */
    ck_assert_int_eq(store_run_slurm_seen(s, 999, "RUNNING", NULL, NULL, 0, err, sizeof(err)),
                     AG_ENOTFOUND);
    store_close(s);
}
END_TEST

START_TEST(test_executor_chosen_at_submission) {
    Store *s = NULL;
    StoreRun r;
    int64_t a = 0, b = 0;
    StoreExpNew e = {.name = "x", .task = "CartPole", .spec_json = "{}"};
    ck_assert_int_eq(store_open(db, &s, err, sizeof(err)), 0);
    ck_assert_int_eq(store_migrate(s, mig_dir, 0, NULL, err, sizeof(err)), 0);
    ck_assert_int_eq(store_exp_insert(s, &e, "/runs", &a, err, sizeof(err)), 0);
    e.executor = "slurm";
    ck_assert_int_eq(store_exp_insert(s, &e, "/runs", &b, err, sizeof(err)), 0);
    ck_assert_int_eq(store_run_get(s, a, &r, err, sizeof(err)), 0);
    ck_assert_str_eq(r.executor, "local");
    ck_assert_int_eq(store_run_get(s, b, &r, err, sizeof(err)), 0);
    ck_assert_str_eq(r.executor, "slurm");
    /* the table knows no other executor */
    e.executor = "pbs";
    ck_assert_int_eq(store_exp_insert(s, &e, "/runs", &b, err, sizeof(err)), AG_EDB);
    store_close(s);
}
END_TEST

int main(void) {
    Suite *s = suite_create("store_slurm");
    TCase *tc = tcase_create("core");
    SRunner *sr;
    int failed;
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_migration_converts_in_place);
    tcase_add_test(tc, test_submitted_and_seen);
    tcase_add_test(tc, test_executor_chosen_at_submission);
    suite_add_tcase(s, tc);
    sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
