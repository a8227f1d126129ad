/* Tests of server/daemon/run_watch.c: a write to the watched file of a watched directory wakes
 * the waiter; other files, unwatched directories and removed directories do not; the watched set
 * follows each sync; without inotify the wait only sleeps. */
#include "run_watch.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* long enough for any loaded machine: a wake-up that is due comes far sooner */
#define WAKE_TIMEOUT_S 10.0
/* how long a wait is given to show that nothing wakes it */
#define QUIET_S 0.2

static char root[64], dir_a[128], dir_b[128];
static char err[256];

static void setup(void) {
    snprintf(root, sizeof(root), "/tmp/angora-run-watch-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(root));
    snprintf(dir_a, sizeof(dir_a), "%s/a", root);
    snprintf(dir_b, sizeof(dir_b), "%s/b", root);
    ck_assert_int_eq(mkdir(dir_a, 0700), 0);
    ck_assert_int_eq(mkdir(dir_b, 0700), 0);
}

static void teardown(void) {
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", root);
    ck_assert_int_eq(system(cmd), 0);
}

static void append(const char *dir, const char *file, const char *line) {
    char path[256];
    snprintf(path, sizeof(path), "%s/%s", dir, file);
    FILE *f = fopen(path, "a");
    ck_assert_ptr_nonnull(f);
    fputs(line, f);
    ck_assert_int_eq(fclose(f), 0);
}

START_TEST(test_write_to_watched_file_wakes) {
    RunWatch *w = run_watch_create("metrics.jsonl", err, sizeof(err));
    ck_assert_msg(w != NULL, "%s", err);
    const char *dirs[] = {dir_a};
    ck_assert_int_eq(run_watch_sync(w, dirs, 1), 1);
    append(dir_a, "metrics.jsonl", "{\"iteration\":1}\n");
    ck_assert_int_eq(run_watch_wait(w, WAKE_TIMEOUT_S), 1);
    /* the events were consumed: nothing new, no wake-up */
    ck_assert_int_eq(run_watch_wait(w, QUIET_S), 0);
    append(dir_a, "metrics.jsonl", "{\"iteration\":2}\n");
    ck_assert_int_eq(run_watch_wait(w, WAKE_TIMEOUT_S), 1);
    run_watch_destroy(w);
}
END_TEST

START_TEST(test_other_files_and_dirs_do_not_wake) {
    RunWatch *w = run_watch_create("metrics.jsonl", err, sizeof(err));
    ck_assert_ptr_nonnull(w);
    const char *dirs[] = {dir_a};
    run_watch_sync(w, dirs, 1);
    append(dir_a, "train.log", "a log line\n");
    append(dir_b, "metrics.jsonl", "{\"iteration\":1}\n");
    ck_assert_int_eq(run_watch_wait(w, QUIET_S), 0);
    run_watch_destroy(w);
}
END_TEST

START_TEST(test_sync_follows_the_live_set) {
    RunWatch *w = run_watch_create("metrics.jsonl", err, sizeof(err));
    ck_assert_ptr_nonnull(w);
    const char *both[] = {dir_a, NULL, "", dir_b, dir_a};
    ck_assert_int_eq(run_watch_sync(w, both, 5), 2);
    ck_assert_int_eq(run_watch_count(w), 2);
    /* a run that ended is no longer watched; the other still wakes the waiter */
    const char *only_b[] = {dir_b};
    ck_assert_int_eq(run_watch_sync(w, only_b, 1), 1);
    append(dir_a, "metrics.jsonl", "{\"iteration\":1}\n");
    ck_assert_int_eq(run_watch_wait(w, QUIET_S), 0);
    append(dir_b, "metrics.jsonl", "{\"iteration\":1}\n");
    ck_assert_int_eq(run_watch_wait(w, WAKE_TIMEOUT_S), 1);
    /* another spelling of a watched directory is the same watch */
    char again[160];
    snprintf(again, sizeof(again), "%s/.", dir_b);
    const char *twice[] = {dir_b, again};
    ck_assert_int_eq(run_watch_sync(w, twice, 2), 1);
    ck_assert_int_eq(run_watch_sync(w, NULL, 0), 0);
    run_watch_destroy(w);
}
END_TEST

START_TEST(test_missing_and_removed_dirs) {
    RunWatch *w = run_watch_create("metrics.jsonl", err, sizeof(err));
    ck_assert_ptr_nonnull(w);
    char missing[160];
    snprintf(missing, sizeof(missing), "%s/never-made", root);
    const char *dirs[] = {missing, dir_a};
    ck_assert_int_eq(run_watch_sync(w, dirs, 2), 1);
    /* a watched directory that is deleted drops out of the set, and a new one at the same path
     * is watched again at the next sync */
    char cmd[192];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir_a);
    ck_assert_int_eq(system(cmd), 0);
    run_watch_wait(w, QUIET_S);
    ck_assert_int_eq(run_watch_count(w), 0);
    ck_assert_int_eq(mkdir(dir_a, 0700), 0);
    ck_assert_int_eq(run_watch_sync(w, dirs, 2), 1);
    append(dir_a, "metrics.jsonl", "{\"iteration\":1}\n");
    ck_assert_int_eq(run_watch_wait(w, WAKE_TIMEOUT_S), 1);
    run_watch_destroy(w);
}
END_TEST

START_TEST(test_created_by_rename_wakes) {
    /* a writer that replaces the file whole (temp file, then rename) is seen too */
    RunWatch *w = run_watch_create("metrics.jsonl", err, sizeof(err));
    ck_assert_ptr_nonnull(w);
    const char *dirs[] = {dir_a};
    run_watch_sync(w, dirs, 1);
    char tmp[192], dst[192];
    snprintf(tmp, sizeof(tmp), "%s/b/metrics.part", root);
    snprintf(dst, sizeof(dst), "%s/metrics.jsonl", dir_a);
    append(dir_b, "metrics.part", "{\"iteration\":1}\n");
    ck_assert_int_eq(rename(tmp, dst), 0);
    ck_assert_int_eq(run_watch_wait(w, WAKE_TIMEOUT_S), 1);
    run_watch_destroy(w);
}
END_TEST

START_TEST(test_bad_names_and_no_watcher) {
    ck_assert_ptr_null(run_watch_create("", err, sizeof(err)));
    ck_assert_ptr_nonnull(strstr(err, "file name"));
    ck_assert_ptr_null(run_watch_create("runs/metrics.jsonl", err, sizeof(err)));
    ck_assert_ptr_null(run_watch_create(NULL, err, sizeof(err)));
    /* without a watcher: every call is harmless, the wait sleeps and never reports a write */
    const char *dirs[] = {dir_a};
    ck_assert_int_eq(run_watch_sync(NULL, dirs, 1), 0);
    ck_assert_int_eq(run_watch_count(NULL), 0);
    ck_assert_int_eq(run_watch_wait(NULL, 0.01), 0);
    ck_assert_int_eq(run_watch_wait(NULL, -1.0), 0);
    run_watch_destroy(NULL);
}
END_TEST

int main(void) {
    Suite *s = suite_create("run_watch");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_write_to_watched_file_wakes);
    tcase_add_test(tc, test_other_files_and_dirs_do_not_wake);
    tcase_add_test(tc, test_sync_follows_the_live_set);
    tcase_add_test(tc, test_missing_and_removed_dirs);
    tcase_add_test(tc, test_created_by_rename_wakes);
    tcase_add_test(tc, test_bad_names_and_no_watcher);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
