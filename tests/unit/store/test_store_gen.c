/* Tests of server/store/store_gen.c: the write generations go up with every committed write,
 * overall and for the experiment written (submission, state changes, tags, ingestion, deletion),
 * for every run when a commit names no experiment, not for reads, failed writes or other runs'
 * writes; the list generation, which a run's metric rows leave alone; on a database file (WAL,
 * where the counting happens after the commit) and in memory;
 * and the WAL is still checkpointed with the hook in place of SQLite's own, on the store's
 * checkpoint thread (store_ckpt.c) unless it grows past its bound. */
#include "store_int.h"
#include "store_test_db.h"

#include "ag_error.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char err[512];

static int64_t exp_add(Store *s, const char *name) {
    StoreExpNew e = {.name = name, .task = "CartPole", .spec_json = "{}"};
    int64_t id = 0;
    ck_assert_int_eq(store_exp_insert(s, &e, "/tmp/runs", &id, err, sizeof(err)), 0);
    return id;
}

static void ingest_one(Store *s, int64_t id, int iteration) {
    char line[64];
    const char *l = line;
    size_t len;
    snprintf(line, sizeof(line), "{\"iteration\":%d,\"return_mean\":1}", iteration);
    len = strlen(line);
    ck_assert_int_eq(
        store_metrics_ingest(s, id, &l, &len, 1, iteration * 40, NULL, NULL, err, sizeof(err)), 0);
}

static void check_counts(Store *s) {
    int64_t a, b;
    uint64_t g, ga, gb;
    json_t *doc = NULL;
    char state[STORE_STATE_MAX];
    a = exp_add(s, "a");
    b = exp_add(s, "b");
    ck_assert_int_ne(a % STORE_GEN_SLOTS, b % STORE_GEN_SLOTS);
    g = store_generation(s);
    ga = store_run_generation(s, a);
    gb = store_run_generation(s, b);
    /* reads change nothing */
    ck_assert_int_eq(store_exp_get_json(s, a, &doc, err, sizeof(err)), 0);
    json_decref(doc);
    ck_assert_uint_eq(store_generation(s), g);
    ck_assert_uint_eq(store_run_generation(s, a), ga);
    /* a row of a: a's generation and the overall one, not b's */
    ingest_one(s, a, 1);
    ck_assert_uint_gt(store_generation(s), g);
    ck_assert_uint_gt(store_run_generation(s, a), ga);
    ck_assert_uint_eq(store_run_generation(s, b), gb);
    /* a state change, tags, a cancel of b: b's */
    ga = store_run_generation(s, a);
    ck_assert_int_eq(store_run_started(s, b, 1, 1, 1, err, sizeof(err)), 0);
    ck_assert_uint_gt(store_run_generation(s, b), gb);
    gb = store_run_generation(s, b);
    ck_assert_int_eq(store_exp_annotate(s, b, "[\"x\"]", NULL, err, sizeof(err)), 0);
    ck_assert_uint_gt(store_run_generation(s, b), gb);
    gb = store_run_generation(s, b);
    ck_assert_int_eq(store_exp_cancel(s, b, state, err, sizeof(err)), 0);
    ck_assert_uint_gt(store_run_generation(s, b), gb);
    ck_assert_uint_eq(store_run_generation(s, a), ga);
    /* a write that fails (resume of a run that is not paused) counts nothing */
    g = store_generation(s);
    ck_assert_int_eq(store_exp_resume(s, a, state, err, sizeof(err)), AG_ESTATE);
    ck_assert_uint_eq(store_generation(s), g);
    /* an event names no experiment row: every run's generation */
    ga = store_run_generation(s, a);
    gb = store_run_generation(s, b);
    ck_assert_int_eq(store_event_add(s, a, "note", "x"), 0);
    ck_assert_uint_gt(store_run_generation(s, a), ga);
    ck_assert_uint_gt(store_run_generation(s, b), gb);
    /* the deletion of a finished run */
    ck_assert_int_eq(store_run_set_state(s, a, "succeeded", NULL, err, sizeof(err)), 0);
    ga = store_run_generation(s, a);
    {
        char dir[STORE_PATH_MAX];
        ck_assert_int_eq(store_exp_delete(s, a, dir, sizeof(dir), err, sizeof(err)), 0);
    }
    ck_assert_uint_gt(store_run_generation(s, a), ga);
    /* another run of a's slot shares its counter: a write to either counts for both */
    ga = store_run_generation(s, a);
    ck_assert_uint_eq(store_run_generation(s, a + STORE_GEN_SLOTS), ga);
}

START_TEST(test_file_database) {
    char mig[1024], db[640];
    Store *s;
    store_test_db_new(mig, sizeof(mig), db, sizeof(db));
    ck_assert_int_eq(store_open(db, &s, err, sizeof(err)), 0);
    ck_assert_int_eq(store_migrate(s, mig, 0, NULL, err, sizeof(err)), 0);
    ck_assert_int_eq(s->gen_wal, 1);
    check_counts(s);
    store_close(s);
    store_test_db_remove(db);
}
END_TEST

START_TEST(test_memory_database) {
    char mig[1024], db[640];
    Store *s;
    store_test_db_new(mig, sizeof(mig), db, sizeof(db));
    ck_assert_int_eq(store_open(":memory:", &s, err, sizeof(err)), 0);
    ck_assert_int_eq(store_migrate(s, mig, 0, NULL, err, sizeof(err)), 0);
    ck_assert_int_eq(s->gen_wal, 0);
    check_counts(s);
    store_close(s);
}
END_TEST

/* the list generation: a run's metric rows and its roll-up count for that run only; anything else
 * (a state, tags, an event, a deletion) for every list page. A transaction marked as progress
 * that wrote nothing does not pass its mark to the next one. */
static void check_list_generation(Store *s) {
    int64_t a = exp_add(s, "a"), b = exp_add(s, "b"), rolled = 0;
    uint64_t l = store_list_generation(s), ga = store_run_generation(s, a);
    uint64_t gens[STORE_GEN_SLOTS];
    ingest_one(s, a, 1);
    ck_assert_uint_eq(store_list_generation(s), l);
    ck_assert_uint_gt(store_run_generation(s, a), ga);
    store_run_generations_load(s, gens);
    ck_assert_uint_eq(store_run_generation_in(gens, a), store_run_generation(s, a));
    ck_assert_uint_eq(store_run_generation_in(gens, b), store_run_generation(s, b));
    ck_assert_int_eq(store_metrics_set_offset(s, a, 999, err, sizeof(err)), 0);
    ck_assert_uint_eq(store_list_generation(s), l);
    /* the roll-up's catch-up finds nothing to do: an empty transaction marked as progress */
    ck_assert_int_eq(store_metrics_rollup_catchup(s, 1.0, &rolled, err, sizeof(err)), 0);
    ck_assert_int_eq(rolled, 0);
    ck_assert_int_eq(store_run_started(s, b, 1, 1, 1, err, sizeof(err)), 0);
    ck_assert_uint_gt(store_list_generation(s), l);
    l = store_list_generation(s);
    ck_assert_int_eq(store_exp_annotate(s, a, "[\"t\"]", NULL, err, sizeof(err)), 0);
    ck_assert_uint_gt(store_list_generation(s), l);
    l = store_list_generation(s);
    ck_assert_int_eq(store_event_add(s, a, "note", "x"), 0);
    ck_assert_uint_gt(store_list_generation(s), l);
    l = store_list_generation(s);
    {
        int attempts = 0;
        ck_assert_int_eq(store_run_add_attempt(s, b, &attempts, err, sizeof(err)), 0);
        ck_assert_int_eq(attempts, 2);
    }
    ck_assert_uint_gt(store_list_generation(s), l);
}

START_TEST(test_list_generation) {
    char mig[1024], db[640];
    Store *s;
    store_test_db_new(mig, sizeof(mig), db, sizeof(db));
    ck_assert_int_eq(store_open(db, &s, err, sizeof(err)), 0);
    ck_assert_int_eq(store_migrate(s, mig, 0, NULL, err, sizeof(err)), 0);
    check_list_generation(s);
    store_close(s);
    store_test_db_remove(db);
    ck_assert_int_eq(store_open(":memory:", &s, err, sizeof(err)), 0);
    ck_assert_int_eq(store_migrate(s, mig, 0, NULL, err, sizeof(err)), 0);
    check_list_generation(s);
    store_close(s);
}
END_TEST

/* n commits of about 100 KB of notes each on experiment id (7 pages of 16 KB) */
static void notes_write(Store *s, int64_t id, int n) {
    static char notes[100001];
    for (int i = 0; i < n; i++) {
        /* all of it new: SQLite does not write again the overflow pages of a value that did not
         * change */
        memset(notes, 'a' + i % 26, sizeof(notes) - 1);
        ck_assert_int_eq(store_exp_annotate(s, id, NULL, notes, err, sizeof(err)), 0);
    }
}

static off_t wal_size(const char *db) {
    char wal[700];
    struct stat sb;
    snprintf(wal, sizeof(wal), "%s-wal", db);
    ck_assert_int_eq(stat(wal, &sb), 0);
    return sb.st_size;
}

/* a WAL frame: a 16 KB page and its 24-byte header */
#define FRAME ((off_t)16384 + 24)

/* Without the thread (stopped) the commits checkpoint the WAL past 1000 pages, as SQLite would:
 * 8400 pages written in 1200 commits, and the WAL holds about 1000. With the thread held back
 * (as when it cannot keep up), the commits past 3000 pages checkpoint it themselves. */
START_TEST(test_wal_checkpointed) {
    char mig[1024], db[640];
    Store *s;
    int64_t id;
    for (int thread = 0; thread < 2; thread++) {
        store_test_db_new(mig, sizeof(mig), db, sizeof(db));
        ck_assert_int_eq(store_open(db, &s, err, sizeof(err)), 0);
        ck_assert_int_eq(store_migrate(s, mig, 0, NULL, err, sizeof(err)), 0);
        if (thread) {
            store_ckpt_pause(s, 1);
        } else {
            store_ckpt_stop(s);
        }
        id = exp_add(s, "a");
        notes_write(s, id, 1200);
        ck_assert_uint_ge(s->gen_wal_inline, 1);
        ck_assert_int_lt(wal_size(db), (thread ? 3010 : 1010) * FRAME + 32);
        store_close(s);
        store_test_db_remove(db);
    }
}
END_TEST

/* waits (up to 30 s, not timed) until the checkpoint thread has nothing due or running */
static void ckpt_wait_idle(Store *s) {
    for (int i = 0; i < 3000 && store_ckpt_busy(s); i++) {
        usleep(10000);
    }
    ck_assert(!store_ckpt_busy(s));
}

/* With the thread, a commit below 3000 pages never checkpoints: the thread does, woken by the
 * commits past 1000 pages (waited for, not timed), and the WAL is reused from its start once it
 * has copied all of it: about 2550 pages (350 commits of 7-8), then about 1850 more after a
 * checkpoint of everything, and the file grows no larger than the first of them needed, or the
 * second alone. */
START_TEST(test_wal_checkpointed_by_thread) {
    char mig[1024], db[640];
    Store *s;
    int64_t id;
    off_t first;
    store_test_db_new(mig, sizeof(mig), db, sizeof(db));
    ck_assert_int_eq(store_open(db, &s, err, sizeof(err)), 0);
    ck_assert_int_eq(store_migrate(s, mig, 0, NULL, err, sizeof(err)), 0);
    ck_assert_ptr_nonnull(s->ckpt);
    id = exp_add(s, "a");
    notes_write(s, id, 350);
    ck_assert_uint_eq(s->gen_wal_inline, 0);
    ckpt_wait_idle(s);
    ck_assert_uint_ge(store_wal_checkpoints(s), 1);
    /* on a loaded machine the thread can catch up between two commits, so the WAL may have
     * started again during the 350 and its last frames, under 1000 pages, woke no one: one more
     * checkpoint, with no commit beside it, copies all of it */
    ck_assert(store_ckpt_request(s));
    ckpt_wait_idle(s);
    first = wal_size(db);
    notes_write(s, id, 250);
    ck_assert_uint_eq(s->gen_wal_inline, 0);
    ck_assert_int_le(wal_size(db), first > 1950 * FRAME + 32 ? first : 1950 * FRAME + 32);
    store_close(s);
    store_test_db_remove(db);
}
END_TEST

static Suite *suite(void) {
    Suite *s = suite_create("store_gen");
    TCase *tc = tcase_create("gen");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_file_database);
    tcase_add_test(tc, test_memory_database);
    tcase_add_test(tc, test_list_generation);
    tcase_add_test(tc, test_wal_checkpointed);
    tcase_add_test(tc, test_wal_checkpointed_by_thread);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) {
    SRunner *sr = srunner_create(suite());
    int failed;
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
