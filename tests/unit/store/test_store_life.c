/* Tests of server/store/store_life.c: the lives of angorad (a first start knows no previous life,
 * a clean stop and an unclean end are told apart by the next start, with the last "alive" mark),
 * old lives forgotten, "alive" marks that move no generation, migration 013 on a database of 012
 * with data in it, and the time of an experiment's newest event of a kind (store_events.c). */
#include "store.h"
#include "store_test_db.h"

#include "ag_error.h"
#include "ag_fs.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>

static char err[512];

static Store *open_migrated(void) {
    char mig[1024];
    Store *s = NULL;
    ck_assert_int_eq(ag_fs_data_path("migrations", mig, sizeof(mig)), 0);
    ck_assert_int_eq(store_open(":memory:", &s, err, sizeof(err)), 0);
    ck_assert_msg(store_migrate(s, mig, 0, NULL, err, sizeof(err)) == 0, "%s", err);
    return s;
}

START_TEST(test_first_life_then_clean_stop) {
    Store *s = open_migrated();
    StoreLife prev;
    int64_t id = 0, next = 0;
    ck_assert_int_eq(store_life_begin(s, 100, 1000.0, &prev, &id, err, sizeof(err)), 0);
    ck_assert_int_eq(prev.known, 0);
    ck_assert_int_gt(id, 0);
    ck_assert_int_eq(store_life_alive(s, id, 1005.0, err, sizeof(err)), 0);
    ck_assert_int_eq(store_life_stopped(s, id, 1007.5, err, sizeof(err)), 0);
    ck_assert_int_eq(store_life_begin(s, 200, 2000.0, &prev, &next, err, sizeof(err)), 0);
    ck_assert_int_eq(prev.known, 1);
    ck_assert_int_eq(prev.id, id);
    ck_assert_int_eq(prev.pid, 100);
    ck_assert(prev.started_at == 1000.0);
    ck_assert_int_eq(prev.stopped, 1);
    ck_assert(prev.stopped_at == 1007.5);
    ck_assert(prev.alive_at == 1007.5);
    ck_assert_int_gt(next, id);
    store_close(s);
}
END_TEST

START_TEST(test_unclean_end_keeps_last_alive_mark) {
    Store *s = open_migrated();
    StoreLife prev;
    int64_t id = 0, next = 0;
    ck_assert_int_eq(store_life_begin(s, 100, 1000.0, &prev, &id, err, sizeof(err)), 0);
    ck_assert_int_eq(store_life_alive(s, id, 1005.0, err, sizeof(err)), 0);
    ck_assert_int_eq(store_life_alive(s, id, 1010.0, err, sizeof(err)), 0);
    /* killed here: no stop recorded */
    ck_assert_int_eq(store_life_begin(s, 200, 3000.0, &prev, &next, err, sizeof(err)), 0);
    ck_assert_int_eq(prev.known, 1);
    ck_assert_int_eq(prev.stopped, 0);
    ck_assert(prev.alive_at == 1010.0);
    /* the life that failed to start is the next start's previous one, unclean */
    ck_assert_int_eq(store_life_begin(s, 300, 4000.0, &prev, &id, err, sizeof(err)), 0);
    ck_assert_int_eq(prev.id, next);
    ck_assert_int_eq(prev.stopped, 0);
    ck_assert(prev.alive_at == 3000.0);
    store_close(s);
}
END_TEST

START_TEST(test_unknown_life_refused) {
    Store *s = open_migrated();
    ck_assert_int_eq(store_life_alive(s, 42, 1.0, err, sizeof(err)), AG_ENOTFOUND);
    ck_assert_int_eq(store_life_stopped(s, 42, 1.0, err, sizeof(err)), AG_ENOTFOUND);
    store_close(s);
}
END_TEST

START_TEST(test_old_lives_forgotten) {
    char mig[1024], db[600], cmd[800], out[32] = "";
    Store *s = NULL;
    StoreLife prev;
    int64_t id = 0;
    FILE *p;
    store_test_db_new(mig, sizeof(mig), db, sizeof(db));
    ck_assert_int_eq(store_open(db, &s, err, sizeof(err)), 0);
    ck_assert_msg(store_migrate(s, mig, 0, NULL, err, sizeof(err)) == 0, "%s", err);
    for (int i = 0; i < 3 * STORE_LIVES_KEPT; i++) {
        ck_assert_int_eq(store_life_begin(s, i, 10.0 * i, &prev, &id, err, sizeof(err)), 0);
        ck_assert_int_eq(prev.known, i > 0);
        ck_assert_int_eq(prev.pid, i > 0 ? i - 1 : 0);
    }
    store_close(s);
    snprintf(cmd, sizeof(cmd), "sqlite3 %s \"SELECT count(*), min(pid) FROM daemon_lives\"", db);
    p = popen(cmd, "r");
    ck_assert_ptr_nonnull(p);
    ck_assert_ptr_nonnull(fgets(out, sizeof(out), p));
    pclose(p);
    snprintf(cmd, sizeof(cmd), "%d|%d\n", STORE_LIVES_KEPT, 2 * STORE_LIVES_KEPT);
    ck_assert_str_eq(out, cmd);
    store_test_db_remove(db);
}
END_TEST

/* the mark every few seconds must not throw away the API's kept answers; a stop may */
START_TEST(test_alive_mark_moves_no_generation) {
    char mig[1024], db[600];
    Store *s = NULL;
    StoreLife prev;
    int64_t id = 0;
    uint64_t g, list, run;
    store_test_db_new(mig, sizeof(mig), db, sizeof(db));
    ck_assert_int_eq(store_open(db, &s, err, sizeof(err)), 0);
    ck_assert_msg(store_migrate(s, mig, 0, NULL, err, sizeof(err)) == 0, "%s", err);
    ck_assert_int_eq(store_life_begin(s, 1, 1.0, &prev, &id, err, sizeof(err)), 0);
    g = store_generation(s);
    list = store_list_generation(s);
    run = store_run_generation(s, 1);
    for (int i = 0; i < 5; i++) {
        ck_assert_int_eq(store_life_alive(s, id, 2.0 + i, err, sizeof(err)), 0);
    }
    ck_assert_uint_eq(store_generation(s), g);
    ck_assert_uint_eq(store_list_generation(s), list);
    ck_assert_uint_eq(store_run_generation(s, 1), run);
    /* a failed mark leaves nothing behind: the next write counts */
    ck_assert_int_eq(store_life_alive(s, id + 99, 9.0, err, sizeof(err)), AG_ENOTFOUND);
    store_event_add(s, 0, "note", "x");
    ck_assert_uint_gt(store_generation(s), g);
    ck_assert_uint_gt(store_list_generation(s), list);
    store_close(s);
    store_test_db_remove(db);
}
END_TEST

/* 013 on a database an angorad of 012 left (an experiment running, its events): everything
 * stays, and the first start under 013 knows no previous life */
START_TEST(test_migrate_013_in_place) {
    char mig[1024], db[600], cmd[2000];
    Store *s = NULL;
    StoreLife prev;
    StoreRun r;
    int64_t id = 0;
    int applied = 0, version = 0;
    double at = 0;
    store_test_db_new(mig, sizeof(mig), db, sizeof(db));
    ck_assert_int_eq(store_open(db, &s, err, sizeof(err)), 0);
    ck_assert_int_eq(store_migrate(s, mig, 12, &applied, err, sizeof(err)), 0);
    store_close(s);
    snprintf(cmd, sizeof(cmd),
             "sqlite3 %s \"INSERT INTO experiments (name, task, spec, submitted_at, state, pid,"
             " pid_start, attempts) VALUES ('long', 'HandBlock', '{}', 1, 'running', 4242, 77, 1);"
             " INSERT INTO events (exp_id, at, kind, detail) VALUES (1, 5.0, 'started', 'a'),"
             " (1, 9.0, 'retry', 'b'), (1, 12.5, 'started', 'c');\"",
             db);
    ck_assert_int_eq(system(cmd), 0);
    ck_assert_int_eq(store_open(db, &s, err, sizeof(err)), 0);
    ck_assert_msg(store_migrate(s, mig, 0, &applied, err, sizeof(err)) == 0, "%s", err);
    ck_assert_int_ge(applied, 1);
    ck_assert_int_eq(store_schema_version(s, &version, err, sizeof(err)), 0);
    ck_assert_int_ge(version, 13);
    ck_assert_int_eq(store_run_get(s, 1, &r, err, sizeof(err)), 0);
    ck_assert_str_eq(r.state, "running");
    ck_assert_int_eq(r.pid, 4242);
    ck_assert_int_eq(r.attempts, 1);
    ck_assert_int_eq(store_life_begin(s, 7, 100.0, &prev, &id, err, sizeof(err)), 0);
    ck_assert_int_eq(prev.known, 0);
    /* the current attempt began at the newest "started" event */
    ck_assert_int_eq(store_event_last_at(s, 1, "started", &at, err, sizeof(err)), 0);
    ck_assert(at == 12.5);
    ck_assert_int_eq(store_event_last_at(s, 1, "adopted", &at, err, sizeof(err)), AG_ENOTFOUND);
    ck_assert_int_eq(store_integrity_check(s, err, sizeof(err)), 0);
    store_close(s);
    store_test_db_remove(db);
}
END_TEST

int main(void) {
    Suite *s = suite_create("store_life");
    TCase *tc = tcase_create("core");
    SRunner *sr;
    int failed;
    tcase_add_test(tc, test_first_life_then_clean_stop);
    tcase_add_test(tc, test_unclean_end_keeps_last_alive_mark);
    tcase_add_test(tc, test_unknown_life_refused);
    tcase_add_test(tc, test_old_lives_forgotten);
    tcase_add_test(tc, test_alive_mark_moves_no_generation);
    tcase_add_test(tc, test_migrate_013_in_place);
    suite_add_tcase(s, tc);
    sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
