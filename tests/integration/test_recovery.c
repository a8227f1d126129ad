/* Integration: angorad killed with SIGKILL mid-run comes back, re-adopts the live worker and
 * stores every row exactly once; a worker stopped together with angorad (the machine stopped) is
 * requeued from its checkpoint without an attempt, however often; one that outlived angorad and
 * died, or failed on its own, is charged; exit 3 on an outside SIGTERM is not; SIGTERM with
 * on_shutdown=checkpoint stops runs into the queue, with the default (leave) they keep training
 * across the restart. The database passes integrity_check after. */
#include "itest.h"

#include <check.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *spec40 = "{\"task\":\"CartPole\",\"notes\":\"fake:iters=40,sleep=0.05\"}";
/* long enough that its rows are sealed into blocks (chunks of 256) while it runs */
static const char *spec1200 = "{\"task\":\"CartPole\",\"notes\":\"fake:iters=1200,sleep=0.004\"}";

static int has_event(const Daemon *d, long long id, const char *kind) {
    HttpResult r;
    char path[128], needle[64];
    int found;
    snprintf(path, sizeof(path), "/api/v1/experiments/%lld/events", id);
    snprintf(needle, sizeof(needle), "\"kind\":\"%s\"", kind);
    itest_http(d, "GET", path, "", NULL, 0, &r);
    found = r.body && strstr(r.body, needle) != NULL;
    itest_http_free(&r);
    return found;
}

static void assert_integrity(const Daemon *d) {
    char path[300];
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    snprintf(path, sizeof(path), "%s/angorad.db", d->dir);
    ck_assert_int_eq(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    ck_assert_int_eq(sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &st, NULL), SQLITE_OK);
    ck_assert_int_eq(sqlite3_step(st), SQLITE_ROW);
    ck_assert_str_eq((const char *)sqlite3_column_text(st, 0), "ok");
    sqlite3_finalize(st);
    sqlite3_close(db);
}

/* rows of a run held in sealed chunks */
static long long sealed_rows(const Daemon *d, long long id) {
    char path[300];
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    long long n = -1;
    snprintf(path, sizeof(path), "%s/angorad.db", d->dir);
    ck_assert_int_eq(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    ck_assert_int_eq(sqlite3_prepare_v2(db,
                                        "SELECT coalesce(sum(nrows), 0) FROM metric_chunks WHERE"
                                        " exp_id = ?",
                                        -1, &st, NULL),
                     SQLITE_OK);
    sqlite3_bind_int64(st, 1, id);
    if (sqlite3_step(st) == SQLITE_ROW) {
        n = sqlite3_column_int64(st, 0);
    }
    sqlite3_finalize(st);
    sqlite3_close(db);
    return n;
}

static int worker_pid(const Daemon *d, long long id) {
    json_t *o = itest_get(d, id);
    int pid = (int)json_integer_value(json_object_get(o, "pid"));
    json_decref(o);
    return pid;
}

/* a daemon with the fake trainer, spec submitted and running until it has written rows rows;
 * its worker's pid in *pid */
static long long worker_started(Daemon *d, const char *spec, int rows, int *pid) {
    long long id;
    itest_daemon_init(d);
    itest_daemon_start(d, itest_fake_trainer(), NULL);
    id = itest_submit(d, spec, 0);
    itest_wait_rows(d, id, rows, 30);
    *pid = worker_pid(d, id);
    return id;
}

/* the run ends succeeded after attempts charged attempts, with each of its rows stored once, and
 * the daemon stops cleanly on an intact database */
static void assert_succeeds_and_finish(Daemon *d, long long id, int attempts, int rows) {
    json_t *o = itest_wait_state(d, id, "succeeded", 60);
    ck_assert_int_eq(json_integer_value(json_object_get(o, "attempts")), attempts);
    json_decref(o);
    itest_assert_rows_exact(d, id, rows);
    ck_assert_int_eq(itest_daemon_stop(d, NULL), 0);
    assert_integrity(d);
    itest_daemon_cleanup(d);
}

START_TEST(test_daemon_kill9_adopts_live_run) {
    Daemon d;
    long long id;
    int pid;
    itest_daemon_init(&d);
    itest_daemon_start(&d, itest_fake_trainer(), NULL);
    id = itest_submit(&d, spec40, 0);
    itest_wait_rows(&d, id, 5, 20);
    pid = worker_pid(&d, id);
    itest_daemon_kill9(&d);
    /* training goes on without the daemon */
    itest_sleep(0.5);
    ck_assert_int_eq(kill(pid, 0), 0);
    itest_daemon_start(&d, itest_fake_trainer(), NULL);
    ck_assert(has_event(&d, id, "adopted"));
    json_decref(itest_wait_state(&d, id, "succeeded", 30));
    itest_assert_rows_exact(&d, id, 40);
    ck_assert_int_eq(itest_daemon_stop(&d, NULL), 0);
    assert_integrity(&d);
    itest_daemon_cleanup(&d);
}
END_TEST

START_TEST(test_daemon_kill9_repeatedly) {
    Daemon d;
    long long id;
    itest_daemon_init(&d);
    itest_daemon_start(&d, itest_fake_trainer(), NULL);
    id = itest_submit(&d, spec40, 0);
    /* three kills at arbitrary moments of ingestion */
    for (int k = 0; k < 3; k++) {
        itest_wait_rows(&d, id, 3 + 8 * k, 20);
        itest_sleep(0.013 * (k + 1));
        itest_daemon_kill9(&d);
        itest_sleep(0.2);
        itest_daemon_start(&d, itest_fake_trainer(), NULL);
    }
    json_decref(itest_wait_state(&d, id, "succeeded", 30));
    itest_assert_rows_exact(&d, id, 40);
    ck_assert_int_eq(itest_daemon_stop(&d, NULL), 0);
    assert_integrity(&d);
    itest_daemon_cleanup(&d);
}
END_TEST

/* kills while rows are sealed, then a worker that dies while angorad is down: it is resumed from
 * its checkpoint, and its file is read again against the sealed rows */
START_TEST(test_daemon_kill9_sealed_rows) {
    Daemon d;
    long long id;
    int pid;
    itest_daemon_init(&d);
    itest_daemon_start(&d, itest_fake_trainer(), NULL);
    id = itest_submit(&d, spec1200, 0);
    for (int k = 0; k < 3; k++) {
        itest_wait_rows(&d, id, 257 + 250 * k, 90);
        itest_sleep(0.011 * (k + 1));
        itest_daemon_kill9(&d);
        itest_sleep(0.2);
        itest_daemon_start(&d, itest_fake_trainer(), NULL);
    }
    itest_wait_rows(&d, id, 1000, 90);
    pid = worker_pid(&d, id);
    itest_daemon_kill9(&d);
    ck_assert_int_gt(pid, 0);
    kill(pid, SIGKILL);
    itest_sleep(0.3);
    itest_daemon_start(&d, itest_fake_trainer(), NULL);
    json_decref(itest_wait_state(&d, id, "succeeded", 120));
    itest_assert_rows_exact(&d, id, 1200);
    ck_assert_int_eq(itest_daemon_stop(&d, NULL), 0);
    assert_integrity(&d);
    ck_assert_int_ge(sealed_rows(&d, id), 1024);
    itest_daemon_cleanup(&d);
}
END_TEST

/* how many events of kind the experiment has */
static int count_events(const Daemon *d, long long id, const char *kind) {
    HttpResult r;
    char path[128], needle[64];
    int n = 0;
    snprintf(path, sizeof(path), "/api/v1/experiments/%lld/events?limit=1000", id);
    snprintf(needle, sizeof(needle), "\"kind\":\"%s\"", kind);
    itest_http(d, "GET", path, "", NULL, 0, &r);
    for (const char *p = r.body; p && (p = strstr(p, needle)) != NULL; p += strlen(needle)) {
        n++;
    }
    itest_http_free(&r);
    return n;
}

static long long attempts_of(const Daemon *d, long long id) {
    json_t *o = itest_get(d, id);
    long long n = json_integer_value(json_object_get(o, "attempts"));
    json_decref(o);
    return n;
}

/* lines of the run's train.log that contain text */
static int train_log_count(const Daemon *d, long long id, const char *text) {
    char path[600], line[512];
    json_t *o = itest_get(d, id);
    FILE *f;
    int n = 0;
    snprintf(path, sizeof(path), "%s/train.log", json_string_value(json_object_get(o, "run_dir")));
    json_decref(o);
    f = fopen(path, "r");
    while (f && fgets(line, sizeof(line), f)) {
        n += strstr(line, text) != NULL;
    }
    if (f) {
        fclose(f);
    }
    return n;
}

/* whether an event's detail of the experiment contains text */
static int events_mention(const Daemon *d, long long id, const char *text) {
    HttpResult r;
    char path[128];
    int found;
    snprintf(path, sizeof(path), "/api/v1/experiments/%lld/events?limit=1000", id);
    itest_http(d, "GET", path, "", NULL, 0, &r);
    found = r.body && strstr(r.body, text) != NULL;
    itest_http_free(&r);
    return found;
}

/* the machine (or container) stops: angorad and the worker's whole process group end at once,
 * without a word */
static void machine_stop(Daemon *d, long long id) {
    int pid = worker_pid(d, id);
    ck_assert_int_gt(pid, 0);
    itest_daemon_kill9(d);
    ck_assert_int_eq(kill(-pid, SIGKILL), 0);
}

/* a long run over five sittings: each stop of the machine requeues it as interrupted, with no
 * attempt counted (more stops than max_attempts), and it goes on with --resume from its
 * checkpoint every time, to the end, every row stored once */
START_TEST(test_machine_stops_do_not_count_attempts) {
    const char *const two[] = {"--max-attempts", "2", NULL};
    static const char *spec = "{\"task\":\"CartPole\",\"notes\":\"fake:iters=80,sleep=0.05\"}";
    Daemon d;
    long long id;
    json_t *o;
    itest_daemon_init(&d);
    itest_daemon_start(&d, itest_fake_trainer(), two);
    id = itest_submit(&d, spec, 0);
    for (int k = 0; k < 4; k++) {
        itest_wait_rows(&d, id, 8 + 12 * k, 30);
        machine_stop(&d, id);
        itest_sleep(0.2);
        itest_daemon_start(&d, itest_fake_trainer(), two);
        ck_assert_int_eq(count_events(&d, id, "interrupted"), k + 1);
        ck_assert_int_eq(attempts_of(&d, id), 0);
        json_decref(itest_wait_state(&d, id, "running", 10));
    }
    o = itest_wait_state(&d, id, "succeeded", 60);
    ck_assert_int_eq(json_integer_value(json_object_get(o, "attempts")), 0);
    json_decref(o);
    ck_assert_int_eq(count_events(&d, id, "retry"), 0);
    ck_assert(events_mention(&d, id, "stopped with angorad's previous life (pid "));
    ck_assert(events_mention(&d, id, "resuming from checkpoints/last.ckpt"));
    /* four times resumed from its checkpoint, not started over */
    ck_assert_int_eq(train_log_count(&d, id, "resumed at iteration"), 4);
    itest_assert_rows_exact(&d, id, 80);
    ck_assert_int_eq(itest_daemon_stop(&d, NULL), 0);
    assert_integrity(&d);
    itest_daemon_cleanup(&d);
}
END_TEST

/* a worker that outlives angorad (it writes on well after the daemon's last "alive" mark) and
 * then dies without a word may have crashed on its own: it is charged an attempt */
START_TEST(test_worker_died_after_daemon) {
    static const char *spec = "{\"task\":\"CartPole\",\"notes\":\"fake:iters=300,sleep=0.05\"}";
    Daemon d;
    int pid;
    long long id = worker_started(&d, spec, 6, &pid);
    itest_daemon_kill9(&d);
    /* longer than the daemon's mark period and slack (SCHED_ALIVE_SLACK_S, 10 s) */
    itest_sleep(11.5);
    ck_assert_int_eq(kill(-pid, SIGKILL), 0);
    itest_sleep(0.3);
    itest_daemon_start(&d, itest_fake_trainer(), NULL);
    ck_assert(has_event(&d, id, "retry"));
    ck_assert_int_eq(count_events(&d, id, "interrupted"), 0);
    assert_succeeds_and_finish(&d, id, 1, 300);
}
END_TEST

/* a worker killed with the machine but still on its way out when angorad starts again (a large
 * process exits slowly on a loaded machine) is adopted; when it goes, having written nothing
 * since the previous life's last mark, it is judged as stopped with that life: interrupted, no
 * attempt charged. SIGSTOP holds it there for as long as the test needs. */
START_TEST(test_worker_adopted_while_exiting) {
    static const char *spec = "{\"task\":\"CartPole\",\"notes\":\"fake:iters=80,sleep=0.05\"}";
    Daemon d;
    int pid;
    long long id = worker_started(&d, spec, 8, &pid);
    ck_assert_int_eq(kill(-pid, SIGSTOP), 0);
    itest_daemon_kill9(&d);
    itest_daemon_start(&d, itest_fake_trainer(), NULL);
    ck_assert(has_event(&d, id, "adopted"));
    ck_assert_int_eq(kill(-pid, SIGKILL), 0);
    for (double t0 = itest_now(); !has_event(&d, id, "interrupted"); itest_sleep(0.05)) {
        ck_assert_msg(itest_now() - t0 < 20, "not requeued as interrupted");
    }
    ck_assert_int_eq(count_events(&d, id, "retry"), 0);
    ck_assert(events_mention(&d, id, "stopped with angorad's previous life (pid "));
    assert_succeeds_and_finish(&d, id, 0, 80);
}
END_TEST

/* a worker that fails on its own (status "failed") while angorad is away is charged although
 * the daemon was killed: its own exit wins; then, failing with the daemon watching, it gives up
 * after max_attempts */
START_TEST(test_worker_failed_while_daemon_away) {
    static const char *spec =
        "{\"task\":\"CartPole\",\"notes\":\"fake:iters=5,sleep=0.5,crash=always\"}";
    Daemon d;
    long long id;
    json_t *o;
    itest_daemon_init(&d);
    itest_daemon_start(&d, itest_fake_trainer(), NULL);
    id = itest_submit(&d, spec, 0);
    json_decref(itest_wait_state(&d, id, "running", 10));
    itest_daemon_kill9(&d);
    /* it crashes at its second iteration, about 1 s after it started */
    itest_sleep(1.6);
    itest_daemon_start(&d, itest_fake_trainer(), NULL);
    ck_assert_int_eq(count_events(&d, id, "interrupted"), 0);
    ck_assert_int_eq(count_events(&d, id, "retry"), 1);
    o = itest_wait_state(&d, id, "failed", 30);
    ck_assert_int_eq(json_integer_value(json_object_get(o, "attempts")), 3);
    ck_assert_msg(strstr(json_string_value(json_object_get(o, "error")), "giving up"), "%s",
                  json_string_value(json_object_get(o, "error")));
    json_decref(o);
    ck_assert_int_eq(itest_daemon_stop(&d, NULL), 0);
    itest_daemon_cleanup(&d);
}
END_TEST

/* a SIGTERM angorad did not send (an orderly shutdown of the machine reaches the workers too):
 * the worker checkpoints and exits 3, and is requeued without an attempt */
START_TEST(test_worker_interrupted_from_outside) {
    Daemon d;
    long long id;
    json_t *o;
    itest_daemon_init(&d);
    itest_daemon_start(&d, itest_fake_trainer(), NULL);
    id = itest_submit(&d, spec40, 0);
    itest_wait_rows(&d, id, 5, 20);
    ck_assert_int_eq(kill(-worker_pid(&d, id), SIGTERM), 0);
    for (double t0 = itest_now(); !has_event(&d, id, "interrupted"); itest_sleep(0.05)) {
        ck_assert_msg(itest_now() - t0 < 10, "not requeued after exit 3");
    }
    o = itest_wait_state(&d, id, "succeeded", 30);
    ck_assert_int_eq(json_integer_value(json_object_get(o, "attempts")), 0);
    json_decref(o);
    ck_assert_int_eq(train_log_count(&d, id, "resumed at iteration"), 1);
    itest_assert_rows_exact(&d, id, 40);
    ck_assert_int_eq(itest_daemon_stop(&d, NULL), 0);
    itest_daemon_cleanup(&d);
}
END_TEST

START_TEST(test_sigterm_checkpoint_and_leave) {
    const char *const ckpt[] = {"--on-shutdown", "checkpoint", NULL};
    Daemon d;
    long long id;
    int status, pid;
    double secs = 0;
    json_t *o;
    itest_daemon_init(&d);
    /* checkpoint: the run stops with the daemon and waits in the queue */
    itest_daemon_start(&d, itest_fake_trainer(), ckpt);
    id = itest_submit(&d, spec40, 0);
    itest_wait_rows(&d, id, 4, 20);
    pid = worker_pid(&d, id);
    status = itest_daemon_stop(&d, &secs);
    ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    ck_assert_msg(secs < 5, "shutdown took %.2f s", secs);
    itest_sleep(0.2);
    ck_assert_int_ne(kill(pid, 0), 0);
    /* leave (the default): the restarted daemon resumes it; then it survives a SIGTERM */
    itest_daemon_start(&d, itest_fake_trainer(), NULL);
    o = itest_wait_state(&d, id, "running", 10);
    json_decref(o);
    ck_assert(has_event(&d, id, "requeued"));
    itest_sleep(0.3);
    pid = worker_pid(&d, id);
    status = itest_daemon_stop(&d, &secs);
    ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    ck_assert_msg(secs < 5, "shutdown took %.2f s", secs);
    ck_assert_int_eq(kill(pid, 0), 0);
    itest_daemon_start(&d, itest_fake_trainer(), NULL);
    o = itest_wait_state(&d, id, "succeeded", 30);
    ck_assert_int_eq(json_integer_value(json_object_get(o, "attempts")), 0);
    json_decref(o);
    itest_assert_rows_exact(&d, id, 40);
    ck_assert_int_eq(itest_daemon_stop(&d, NULL), 0);
    assert_integrity(&d);
    itest_daemon_cleanup(&d);
}
END_TEST

START_TEST(test_second_daemon_refused) {
    Daemon d, twin;
    char cmd[600];
    itest_daemon_init(&d);
    itest_daemon_start(&d, itest_fake_trainer(), NULL);
    /* one daemon per data directory */
    memset(&twin, 0, sizeof(twin));
    snprintf(cmd, sizeof(cmd), "%s --data-dir %s --port 0 2>/dev/null", itest_angorad(), d.dir);
    ck_assert_int_ne(system(cmd), 0);
    ck_assert_int_eq(itest_daemon_stop(&d, NULL), 0);
    itest_daemon_cleanup(&d);
}
END_TEST

/* a database from a newer angorad is refused with a clear message, and left untouched */
START_TEST(test_newer_database_refused) {
    Daemon d;
    char path[400], cmd[1200], log[4096];
    sqlite3 *db = NULL;
    FILE *f;
    size_t n;
    itest_daemon_init(&d);
    snprintf(path, sizeof(path), "%s/angorad.db", d.dir);
    ck_assert_int_eq(sqlite3_open(path, &db), SQLITE_OK);
    ck_assert_int_eq(sqlite3_exec(db,
                                  "CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, "
                                  "name TEXT NOT NULL, applied_at REAL NOT NULL); INSERT INTO "
                                  "schema_migrations VALUES (999, '999_future.sql', 0);",
                                  NULL, NULL, NULL),
                     SQLITE_OK);
    sqlite3_close(db);
    snprintf(cmd, sizeof(cmd), "%s --data-dir %s --port 0 2>%s/err.log", itest_angorad(), d.dir,
             d.dir);
    ck_assert_int_ne(system(cmd), 0);
    snprintf(path, sizeof(path), "%s/err.log", d.dir);
    f = fopen(path, "r");
    ck_assert_ptr_nonnull(f);
    n = fread(log, 1, sizeof(log) - 1, f);
    fclose(f);
    log[n] = '\0';
    ck_assert_msg(strstr(log, "schema version 999 is newer than this angorad knows"), "%s", log);
    itest_daemon_cleanup(&d);
}
END_TEST

int main(void) {
    const TTest *tests[] = {
        test_daemon_kill9_adopts_live_run,    test_daemon_kill9_repeatedly,
        test_daemon_kill9_sealed_rows,        test_machine_stops_do_not_count_attempts,
        test_worker_died_after_daemon,        test_worker_adopted_while_exiting,
        test_worker_failed_while_daemon_away, test_worker_interrupted_from_outside,
        test_sigterm_checkpoint_and_leave,    test_second_daemon_refused,
        test_newer_database_refused};
    return itest_run_tests("integration_recovery", 200, tests, ITEST_COUNT(tests));
}
