/* Tests of server/daemon/ingest.c: complete lines only, offsets kept in the store, a file that
 * shrank re-read from the start (the rows it still holds keep their seq, only rewound ones are
 * replaced and sent), a missing file, and the committed rows handed to the live
 * stream's hook in seq order. */
#include "daemon.h"

#include "ag_error.h"
#include "ag_fs.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char err[512];
static Store *store;
static Ingest *in;
static char dir[] = "/tmp/angora-ingest-XXXXXX";
static int64_t id;

static void setup(void) {
    char mig[1024];
    StoreExpNew e = {.name = "x", .task = "CartPole", .spec_json = "{}", .ranks = 1};
    ck_assert_int_eq(ag_fs_data_path("migrations", mig, sizeof(mig)), 0);
    ck_assert_int_eq(store_open(":memory:", &store, err, sizeof(err)), 0);
    ck_assert_int_eq(store_migrate(store, mig, 0, NULL, err, sizeof(err)), 0);
    snprintf(dir, sizeof(dir), "/tmp/angora-ingest-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
    ck_assert_int_eq(store_exp_insert(store, &e, dir, &id, err, sizeof(err)), 0);
    ck_assert_int_eq(ingest_create(&in, store, err, sizeof(err)), 0);
}

static void teardown(void) {
    char cmd[128];
    ingest_destroy(in);
    store_close(store);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    ck_assert_int_eq(system(cmd), 0);
}

static void append(const char *text, const char *mode) {
    char path[256];
    FILE *f;
    snprintf(path, sizeof(path), "%s/metrics.jsonl", dir);
    f = fopen(path, mode);
    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    fclose(f);
}

typedef struct Hooked {
    int n;
    int64_t seqs[16];
    char rows[16][64];
} Hooked;

static void on_hook(void *ctx, int64_t exp_id, int64_t seq, const char *row, size_t len) {
    Hooked *h = ctx;
    ck_assert_int_eq(exp_id, id);
    h->seqs[h->n] = seq;
    snprintf(h->rows[h->n], sizeof(h->rows[0]), "%.*s", (int)len, row);
    h->n++;
}

static int collect_stored(void *ctx, int64_t seq, const char *row, size_t len) {
    on_hook(ctx, id, seq, row, len);
    return 0;
}

static uint64_t notified;
static void on_notify(void *ctx, uint64_t rows) {
    (void)ctx;
    notified += rows;
}

START_TEST(test_complete_lines_only) {
    size_t rows = 0;
    StoreRun r;
    Hooked h = {0};
    ingest_set_notify(in, on_notify, NULL);
    ingest_set_row_hook(in, on_hook, &h);
    notified = 0;
    /* no file yet: nothing, no error */
    ck_assert_int_eq(ingest_run(in, id, dir, &rows, err, sizeof(err)), 0);
    ck_assert_uint_eq(rows, 0);
    append("{\"iteration\":1}\n{\"iteration\":2}\n{\"iterat", "w");
    ck_assert_int_eq(ingest_run(in, id, dir, &rows, err, sizeof(err)), 0);
    ck_assert_uint_eq(rows, 2);
    ck_assert_int_eq(store_run_get(store, id, &r, err, sizeof(err)), 0);
    ck_assert_int_eq(r.ingest_offset, 32);
    /* the partial line completes later */
    append("ion\":3}\n", "a");
    ck_assert_int_eq(ingest_run(in, id, dir, &rows, err, sizeof(err)), 0);
    ck_assert_uint_eq(rows, 1);
    ck_assert_int_eq(ingest_run(in, id, dir, &rows, err, sizeof(err)), 0);
    ck_assert_uint_eq(rows, 0);
    ck_assert_int_eq(store_run_get(store, id, &r, err, sizeof(err)), 0);
    ck_assert_int_eq(r.last_seq, 3);
    ck_assert_uint_eq(notified, 3);
    /* the hook had each row once, in order, the partial line only once complete */
    ck_assert_int_eq(h.n, 3);
    ck_assert_int_eq(h.seqs[2], 3);
    ck_assert_str_eq(h.rows[2], "{\"iteration\":3}");
}
END_TEST

/* the hook (the live stream's feed) gets each committed row with its exact seq; lines that
 * are not JSON objects are neither stored nor passed on */
START_TEST(test_row_hook_exact_seqs) {
    size_t rows = 0;
    Hooked h = {0};
    ingest_set_row_hook(in, on_hook, &h);
    append("{\"iteration\":1}\n{broken\n[1,2]\n{\"iteration\":2}\n", "w");
    ck_assert_int_eq(ingest_run(in, id, dir, &rows, err, sizeof(err)), 0);
    ck_assert_uint_eq(rows, 2);
    ck_assert_int_eq(h.n, 2);
    ck_assert_int_eq(h.seqs[0], 1);
    ck_assert_int_eq(h.seqs[1], 2);
    ck_assert_str_eq(h.rows[1], "{\"iteration\":2}");
}
END_TEST

START_TEST(test_shrunk_file_reread) {
    size_t rows = 0;
    Hooked h = {0};
    StoreRun r;
    ingest_set_row_hook(in, on_hook, &h);
    append("{\"iteration\":1}\n{\"iteration\":2}\n{\"iteration\":3}\n{\"iteration\":4}\n"
           "{\"iteration\":5}\n{\"iteration\":6}\n",
           "w");
    ck_assert_int_eq(ingest_run(in, id, dir, &rows, err, sizeof(err)), 0);
    ck_assert_uint_eq(rows, 6);
    ck_assert_int_eq(h.n, 6);
    /* the run resumed from iteration 2: the file was cut back and grows again */
    append("{\"iteration\":1}\n{\"iteration\":2}\n{\"iteration\":3,\"x\":1}\n", "w");
    ck_assert_int_eq(ingest_run(in, id, dir, &rows, err, sizeof(err)), 0);
    ck_assert_uint_eq(rows, 1);
    ck_assert_int_eq(store_run_get(store, id, &r, err, sizeof(err)), 0);
    ck_assert_int_eq(r.ingest_offset, 54);
    ck_assert_int_eq(r.last_seq, 7);
    /* only the rewound row reaches the stream, with the next seq; iterations 1 and 2 are the
     * stored rows and are not sent again */
    ck_assert_int_eq(h.n, 7);
    ck_assert_int_eq(h.seqs[6], 7);
    ck_assert_str_eq(h.rows[6], "{\"iteration\":3,\"x\":1}");
    {
        json_t *o = NULL;
        ck_assert_int_eq(store_exp_get_json(store, id, &o, err, sizeof(err)), 0);
        ck_assert_int_eq(json_integer_value(json_object_get(o, "metric_rows")), 3);
        ck_assert_int_eq(json_integer_value(json_object_get(o, "last_iteration")), 3);
        json_decref(o);
    }
    /* the rows before the checkpoint keep their seq: the series is 1, 2, 7 */
    {
        Hooked stored = {0};
        ck_assert_int_eq(
            store_metric_rows(store, id, 0, 0, collect_stored, &stored, err, sizeof(err)), 0);
        ck_assert_int_eq(stored.n, 3);
        ck_assert_int_eq(stored.seqs[0], 1);
        ck_assert_int_eq(stored.seqs[1], 2);
        ck_assert_int_eq(stored.seqs[2], 7);
    }
    /* an unknown experiment fails */
    ck_assert_int_eq(ingest_run(in, 999, dir, &rows, err, sizeof(err)), AG_ENOTFOUND);
}
END_TEST

int main(void) {
    Suite *s = suite_create("daemon_ingest");
    TCase *tc = tcase_create("core");
    SRunner *sr;
    int failed;
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_complete_lines_only);
    tcase_add_test(tc, test_shrunk_file_reread);
    tcase_add_test(tc, test_row_hook_exact_seqs);
    suite_add_tcase(s, tc);
    sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
