/* Tests of the file helpers (common/ag_fs.c): atomic writes replace the content and leave no
 * temporary file, bounded reads, missing files, mkdir -p, and the data directory. */
#include "ag_error.h"
#include "ag_fs.h"

#include <check.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define TEST_DATA_DIR "/tmp/angora-test-data-dir"

static char tmp_dir[64];

static void setup(void) {
    snprintf(tmp_dir, sizeof tmp_dir, "/tmp/ag_fs_test.XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(tmp_dir));
}

static void remove_tree(const char *path) {
    DIR *d = opendir(path);
    if (!d) {
        unlink(path);
        return;
    }
    struct dirent *ent;
    while ((ent = readdir(d)) != NULL) {
        if (strcmp(ent->d_name, ".") == 0 || strcmp(ent->d_name, "..") == 0) {
            continue;
        }
        char child[512];
        snprintf(child, sizeof child, "%s/%s", path, ent->d_name);
        remove_tree(child);
    }
    closedir(d);
    rmdir(path);
}

static void teardown(void) {
    remove_tree(tmp_dir);
}

static void path_in(char *out, size_t out_sz, const char *name) {
    snprintf(out, out_sz, "%s/%s", tmp_dir, name);
}

static int count_entries(const char *dir) {
    DIR *d = opendir(dir);
    ck_assert_ptr_nonnull(d);
    int n = 0;
    struct dirent *ent;
    while ((ent = readdir(d)) != NULL) {
        n += ent->d_name[0] != '.';
    }
    closedir(d);
    return n;
}

START_TEST(test_write_read) {
    char path[256], err[256];
    path_in(path, sizeof path, "a.txt");
    ck_assert_int_eq(ag_fs_exists(path), 0);
    ck_assert_int_eq(ag_fs_write_atomic(path, "hello world", 11, err, sizeof err), AG_OK);
    ck_assert_int_eq(ag_fs_exists(path), 1);
    ck_assert_int_eq(ag_fs_is_dir(path), 0);
    char *data = NULL;
    size_t len = 0;
    ck_assert_int_eq(ag_fs_read_file(path, 1024, &data, &len, err, sizeof err), AG_OK);
    ck_assert_uint_eq(len, 11);
    ck_assert_str_eq(data, "hello world"); /* NUL-terminated */
    free(data);
}
END_TEST

START_TEST(test_atomic_replace) {
    char path[256], err[256];
    path_in(path, sizeof path, "ckpt.bin");
    char big[4096];
    memset(big, 'A', sizeof big);
    ck_assert_int_eq(ag_fs_write_atomic(path, big, sizeof big, err, sizeof err), AG_OK);
    /* a shorter new content replaces all of the old one */
    ck_assert_int_eq(ag_fs_write_atomic(path, "new", 3, err, sizeof err), AG_OK);
    char *data;
    size_t len;
    ck_assert_int_eq(ag_fs_read_file(path, 1 << 20, &data, &len, err, sizeof err), AG_OK);
    ck_assert_uint_eq(len, 3);
    ck_assert_str_eq(data, "new");
    free(data);
    /* binary content with NULs, and an empty file */
    const char bin[] = {1, 0, 2, 0, 3};
    ck_assert_int_eq(ag_fs_write_atomic(path, bin, sizeof bin, err, sizeof err), AG_OK);
    ck_assert_int_eq(ag_fs_read_file(path, 1 << 20, &data, &len, err, sizeof err), AG_OK);
    ck_assert_uint_eq(len, 5);
    ck_assert_int_eq(memcmp(data, bin, 5), 0);
    free(data);
    ck_assert_int_eq(ag_fs_write_atomic(path, "", 0, err, sizeof err), AG_OK);
    ck_assert_int_eq(ag_fs_read_file(path, 1 << 20, &data, &len, err, sizeof err), AG_OK);
    ck_assert_uint_eq(len, 0);
    ck_assert_str_eq(data, "");
    free(data);
    /* no temporary file is left behind */
    ck_assert_int_eq(count_entries(tmp_dir), 1);
    /* the new file is a new inode: a reader holding the old one keeps the old content */
    struct stat before, after;
    ck_assert_int_eq(stat(path, &before), 0);
    FILE *old = fopen(path, "r");
    ck_assert_ptr_nonnull(old);
    ck_assert_int_eq(ag_fs_write_atomic(path, "v2", 2, err, sizeof err), AG_OK);
    ck_assert_int_eq(stat(path, &after), 0);
    ck_assert(before.st_ino != after.st_ino);
    char line[8] = "";
    ck_assert_ptr_null(fgets(line, sizeof line, old)); /* the old, empty file */
    fclose(old);
}
END_TEST

START_TEST(test_write_errors) {
    char path[256], err[256];
    path_in(path, sizeof path, "no/such/dir/file");
    err[0] = '\0';
    ck_assert_int_eq(ag_fs_write_atomic(path, "x", 1, err, sizeof err), AG_EIO);
    ck_assert_ptr_nonnull(strstr(err, "no/such/dir"));
    /* replacing a directory fails cleanly and removes the temporary file */
    path_in(path, sizeof path, "adir");
    ck_assert_int_eq(mkdir(path, 0755), 0);
    char inner[300];
    snprintf(inner, sizeof inner, "%s/keep", path);
    ck_assert_int_eq(ag_fs_write_atomic(inner, "k", 1, err, sizeof err), AG_OK);
    ck_assert_int_eq(ag_fs_write_atomic(path, "x", 1, err, sizeof err), AG_EIO);
    ck_assert_int_eq(count_entries(tmp_dir), 1);
    ck_assert_int_eq(ag_fs_is_dir(path), 1);
    /* a path too long for the temporary name */
    char longp[5000];
    memset(longp, 'a', sizeof longp - 1);
    longp[sizeof longp - 1] = '\0';
    ck_assert_int_eq(ag_fs_write_atomic(longp, "x", 1, err, sizeof err), AG_ETOOBIG);
}
END_TEST

START_TEST(test_read_limit) {
    char path[256], err[256];
    path_in(path, sizeof path, "hundred");
    char buf[100];
    memset(buf, 'x', sizeof buf);
    ck_assert_int_eq(ag_fs_write_atomic(path, buf, sizeof buf, err, sizeof err), AG_OK);
    char *data = (char *)1;
    size_t len = 7;
    ck_assert_int_eq(ag_fs_read_file(path, 99, &data, &len, err, sizeof err), AG_ETOOBIG);
    ck_assert_ptr_null(data);
    ck_assert_uint_eq(len, 0);
    ck_assert_ptr_nonnull(strstr(err, "limit"));
    /* exactly at the limit is fine */
    ck_assert_int_eq(ag_fs_read_file(path, 100, &data, &len, err, sizeof err), AG_OK);
    ck_assert_uint_eq(len, 100);
    free(data);
}
END_TEST

START_TEST(test_read_errors) {
    char path[256], err[256];
    char *data = (char *)1;
    size_t len = 7;
    path_in(path, sizeof path, "missing.json");
    ck_assert_int_eq(ag_fs_read_file(path, 100, &data, &len, err, sizeof err), AG_ENOTFOUND);
    ck_assert_ptr_null(data);
    ck_assert_ptr_nonnull(strstr(err, "missing.json"));
    /* a directory is not a file */
    ck_assert_int_eq(ag_fs_read_file(tmp_dir, 100, &data, &len, err, sizeof err), AG_EIO);
    ck_assert_ptr_nonnull(strstr(err, "regular file"));
    /* no message buffer is fine */
    ck_assert_int_eq(ag_fs_read_file(path, 100, &data, &len, NULL, 0), AG_ENOTFOUND);
}
END_TEST

START_TEST(test_mkdir_p) {
    char path[256], err[256];
    path_in(path, sizeof path, "a/b/c/d");
    ck_assert_int_eq(ag_fs_mkdir_p(path, 0, err, sizeof err), AG_OK);
    ck_assert_int_eq(ag_fs_is_dir(path), 1);
    struct stat st;
    ck_assert_int_eq(stat(path, &st), 0);
    ck_assert_int_eq(st.st_mode & 0700, 0700);
    /* existing directories are fine, with or without a trailing slash */
    ck_assert_int_eq(ag_fs_mkdir_p(path, 0, err, sizeof err), AG_OK);
    path_in(path, sizeof path, "a/b/");
    ck_assert_int_eq(ag_fs_mkdir_p(path, 0, err, sizeof err), AG_OK);
    /* an explicit mode */
    path_in(path, sizeof path, "a/private");
    ck_assert_int_eq(ag_fs_mkdir_p(path, 0700, err, sizeof err), AG_OK);
    ck_assert_int_eq(stat(path, &st), 0);
    ck_assert_int_eq(st.st_mode & 0077, 0);
    /* a file in the way */
    path_in(path, sizeof path, "a/file");
    ck_assert_int_eq(ag_fs_write_atomic(path, "x", 1, err, sizeof err), AG_OK);
    ck_assert_int_eq(ag_fs_mkdir_p(path, 0, err, sizeof err), AG_EIO);
    ck_assert_ptr_nonnull(strstr(err, "not a directory"));
    path_in(path, sizeof path, "a/file/sub");
    ck_assert_int_eq(ag_fs_mkdir_p(path, 0, err, sizeof err), AG_EIO);
    /* no path at all */
    ck_assert_int_eq(ag_fs_mkdir_p("", 0, err, sizeof err), AG_EINVAL);
}
END_TEST

START_TEST(test_data_dir) {
    /* main() sets ANGORA_DATA_DIR before the first lookup */
    ck_assert_str_eq(ag_fs_data_dir(), TEST_DATA_DIR);
    ck_assert_ptr_eq(ag_fs_data_dir(), ag_fs_data_dir());
    char out[256];
    ck_assert_int_eq(ag_fs_data_path("models/hand.xml", out, sizeof out), AG_OK);
    ck_assert_str_eq(out, TEST_DATA_DIR "/models/hand.xml");
    char small[16];
    ck_assert_int_eq(ag_fs_data_path("models/hand.xml", small, sizeof small), AG_ETOOBIG);
    ck_assert_int_eq(ag_fs_exists("/definitely/not/here"), 0);
    ck_assert_int_eq(ag_fs_is_dir("/"), 1);
}
END_TEST

static Suite *fs_suite(void) {
    Suite *s = suite_create("ag_fs");
    TCase *tc = tcase_create("fs");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_write_read);
    tcase_add_test(tc, test_atomic_replace);
    tcase_add_test(tc, test_write_errors);
    tcase_add_test(tc, test_read_limit);
    tcase_add_test(tc, test_read_errors);
    tcase_add_test(tc, test_mkdir_p);
    tcase_add_test(tc, test_data_dir);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) {
    setenv("ANGORA_DATA_DIR", TEST_DATA_DIR, 1);
    SRunner *sr = srunner_create(fs_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
