/* The HDF5 writer against an independent reader: a recording written with an_h5 is read back
 * by Debian's python3-h5py (check_h5py.py), which checks names, shapes, types, attributes,
 * storage filters and values. ITEST_PYTHON names the interpreter, ITEST_CHECK_H5PY the script. */
#include "an_itest.h"

#include "an_test_util.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

START_TEST(test_h5py_reads_what_we_write) {
    const char *python = getenv("ITEST_PYTHON"), *script = getenv("ITEST_CHECK_H5PY");
    ck_assert_msg(python && script, "ITEST_PYTHON and ITEST_CHECK_H5PY must be set");
    char dir[64], path[128], err[512];
    ck_assert_ptr_nonnull(an_test_tmpdir(dir, sizeof dir, "h5py"));
    snprintf(path, sizeof path, "%s/rec.h5", dir);
    ck_assert_msg(an_test_write_small(path, 4, 1500, err, sizeof err) == 0, "%s", err);
    /* h5py must be there: say how to get it rather than fail obscurely */
    AnRun r;
    const char *probe[] = {python, "-c", "import h5py", NULL};
    an_itest_run(&r, dir, probe);
    ck_assert_msg(r.status == 0,
                  "%s cannot import h5py (install python3-h5py: "
                  "deploy/install-deps.sh): %s",
                  python, r.err);
    an_itest_run_free(&r);
    const char *argv[] = {python, script, path, "4", "1500", NULL};
    an_itest_run(&r, dir, argv);
    printf("%s", r.out);
    ck_assert_msg(r.status == 0, "check_h5py.py failed: %s", r.err);
    an_itest_run_free(&r);
    an_test_rmdir(dir);
}
END_TEST

static Suite *h5py_suite(void) {
    Suite *s = suite_create("analysis_h5py");
    TCase *tc = tcase_create("independent_reader");
    tcase_add_test(tc, test_h5py_reads_what_we_write);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) {
    SRunner *sr = srunner_create(h5py_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
