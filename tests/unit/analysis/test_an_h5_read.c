/* Tests of the recording reader (an_h5_read.c): every refusal names the file and the fault
 * (missing file, not HDF5, wrong format, wrong version, incomplete, truncated, row counts that
 * disagree, an index out of order, datasets of the wrong shape), fixed-length string attributes
 * as other tools write them are accepted, and any HDF5 file's 2-D dataset can be read. Valid
 * files come from the writer and are then damaged with the HDF5 library directly. */
#include "an_h5.h"

#include "an_test_util.h"

#include "ag_error.h"

#include <check.h>
#include <hdf5.h>
#include <string.h>
#include <unistd.h>

static char dir[64], path[128], err[1024];

static void setup(void) {
    ck_assert_ptr_nonnull(an_test_tmpdir(dir, sizeof dir, "h5r"));
    snprintf(path, sizeof path, "%s/rec.h5", dir);
    ck_assert_int_eq(an_test_write_small(path, 3, 4, err, sizeof err), 0);
}

static void teardown(void) {
    an_test_rmdir(dir);
}

/* opens path expecting code and a message that names the file and holds `what` */
static void expect_refusal(int code, const char *what) {
    AnH5File *f = (AnH5File *)1;
    int rc = an_h5_open(&f, path, err, sizeof err);
    printf("%s\n", err);
    ck_assert_int_eq(rc, code);
    ck_assert_ptr_null(f);
    ck_assert_ptr_nonnull(strstr(err, path));
    ck_assert_msg(strstr(err, what) != NULL, "'%s' lacks '%s'", err, what);
}

static hid_t open_rw(void) {
    hid_t f = H5Fopen(path, H5F_ACC_RDWR, H5P_DEFAULT);
    ck_assert_int_ge(f, 0);
    return f;
}

static void set_string_attr(hid_t loc, const char *name, const char *value, int fixed) {
    if (H5Aexists(loc, name) > 0) {
        H5Adelete(loc, name);
    }
    hid_t t = H5Tcopy(H5T_C_S1);
    H5Tset_size(t, fixed ? strlen(value) + 1 : H5T_VARIABLE);
    hid_t s = H5Screate(H5S_SCALAR);
    hid_t a = H5Acreate2(loc, name, t, s, H5P_DEFAULT, H5P_DEFAULT);
    ck_assert_int_ge(fixed ? H5Awrite(a, t, value) : H5Awrite(a, t, &value), 0);
    H5Aclose(a);
    H5Sclose(s);
    H5Tclose(t);
}

static void set_int_attr(hid_t loc, const char *name, int value) {
    if (H5Aexists(loc, name) > 0) {
        H5Adelete(loc, name);
    }
    hid_t s = H5Screate(H5S_SCALAR);
    hid_t a = H5Acreate2(loc, name, H5T_STD_I32LE, s, H5P_DEFAULT, H5P_DEFAULT);
    ck_assert_int_ge(H5Awrite(a, H5T_NATIVE_INT, &value), 0);
    H5Aclose(a);
    H5Sclose(s);
}

/* replaces a dataset with a new one of the given dims (rank 1 or 2), zero-filled */
static void replace_dataset(hid_t f, const char *name, int rank, hsize_t rows, hsize_t cols) {
    if (H5Lexists(f, name, H5P_DEFAULT) > 0) {
        H5Ldelete(f, name, H5P_DEFAULT);
    }
    hsize_t dims[2] = {rows, cols};
    hid_t s = H5Screate_simple(rank, dims, NULL);
    hid_t d = H5Dcreate2(f, name, H5T_IEEE_F32LE, s, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    ck_assert_int_ge(d, 0);
    H5Dclose(d);
    H5Sclose(s);
}

START_TEST(test_missing_and_not_hdf5) {
    snprintf(path, sizeof path, "%s/none.h5", dir);
    expect_refusal(AG_ENOTFOUND, "No such file");
    snprintf(path, sizeof path, "%s/text.h5", dir);
    FILE *t = fopen(path, "w");
    fputs("not hdf5\n", t);
    fclose(t);
    expect_refusal(AG_EFORMAT, "not an HDF5 file");
    snprintf(path, sizeof path, "%s", dir);
    expect_refusal(AG_EFORMAT, "not a regular file");
}
END_TEST

START_TEST(test_wrong_format) {
    hid_t f = open_rw();
    set_string_attr(f, "format", "angora-trajectory", 0);
    H5Fclose(f);
    expect_refusal(AG_EFORMAT, "'angora-trajectory', expected 'angora-activations'");
    f = open_rw();
    H5Adelete(f, "format");
    H5Fclose(f);
    expect_refusal(AG_EFORMAT, "not an activation recording");
    f = open_rw();
    set_int_attr(f, "format", 1);
    H5Fclose(f);
    expect_refusal(AG_EFORMAT, "not an activation recording");
}
END_TEST

START_TEST(test_wrong_version) {
    hid_t f = open_rw();
    set_int_attr(f, "format_version", 2);
    H5Fclose(f);
    expect_refusal(AG_EVERSION, "format_version 2, but this reader reads version 1");
    f = open_rw();
    H5Adelete(f, "format_version");
    H5Fclose(f);
    expect_refusal(AG_EFORMAT, "format_version");
}
END_TEST

START_TEST(test_incomplete) {
    hid_t f = open_rw();
    H5Adelete(f, "complete");
    H5Fclose(f);
    expect_refusal(AG_ETRUNCATED, "incomplete recording");
    f = open_rw();
    set_int_attr(f, "complete", 0);
    H5Fclose(f);
    expect_refusal(AG_ETRUNCATED, "incomplete recording");
}
END_TEST

START_TEST(test_unfinished_part_file) {
    /* a recorder that is still writing (or died): NAME.part without complete */
    AnH5Writer *w;
    char name[160];
    snprintf(name, sizeof name, "%s/live.h5", dir);
    ck_assert_int_eq(an_h5_writer_create(&w, name, NULL, err, sizeof err), 0);
    snprintf(path, sizeof path, "%s/live.h5.part", dir);
    expect_refusal(AG_ETRUNCATED, "incomplete recording");
    an_h5_writer_abort(w);
}
END_TEST

START_TEST(test_truncated) {
    /* enough data that cutting the file loses some of it */
    snprintf(path, sizeof path, "%s/big.h5", dir);
    ck_assert_int_eq(an_test_write_small(path, 20, 500, err, sizeof err), 0);
    FILE *f = fopen(path, "rb");
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fclose(f);
    ck_assert_int_eq(truncate(path, size / 2), 0);
    expect_refusal(AG_ETRUNCATED, "truncated");
}
END_TEST

START_TEST(test_row_counts_disagree) {
    hid_t f = open_rw();
    replace_dataset(f, "/variables/reward", 2, 11, 1);
    H5Fclose(f);
    expect_refusal(AG_EMISMATCH, "/variables/reward has 11 rows, the index 12");
    f = open_rw();
    replace_dataset(f, "/variables/reward", 2, 12, 1);
    hid_t a = H5Aopen(f, "steps", H5P_DEFAULT);
    long long steps = 13;
    H5Awrite(a, H5T_NATIVE_LLONG, &steps);
    H5Aclose(a);
    H5Fclose(f);
    expect_refusal(AG_EMISMATCH, "/index/episode has 12 rows but the file says steps = 13");
}
END_TEST

START_TEST(test_index_out_of_order) {
    hid_t f = open_rw();
    hid_t d = H5Dopen2(f, "/index/step", H5P_DEFAULT);
    int32_t steps[12] = {0, 1, 2, 3, 0, 1, 3, 4, 0, 1, 2, 3};
    H5Dwrite(d, H5T_NATIVE_INT32, H5S_ALL, H5S_ALL, H5P_DEFAULT, steps);
    H5Dclose(d);
    H5Fclose(f);
    expect_refusal(AG_EFORMAT, "index row 6 (episode 1, step 3) breaks the order");
    f = open_rw();
    set_int_attr(f, "episodes", 4);
    d = H5Dopen2(f, "/index/step", H5P_DEFAULT);
    steps[6] = 2;
    steps[7] = 3;
    H5Dwrite(d, H5T_NATIVE_INT32, H5S_ALL, H5S_ALL, H5P_DEFAULT, steps);
    H5Dclose(d);
    H5Fclose(f);
    expect_refusal(AG_EMISMATCH, "the index holds 3 episodes but the file says episodes = 4");
    f = open_rw();
    H5Ldelete(f, "/index/step", H5P_DEFAULT);
    H5Fclose(f);
    expect_refusal(AG_EFORMAT, "/index/step is missing");
}
END_TEST

START_TEST(test_bad_dataset_shapes) {
    hid_t f = open_rw();
    replace_dataset(f, "/layers/policy.core.h", 1, 12, 0);
    H5Fclose(f);
    expect_refusal(AG_EFORMAT, "/layers/policy.core.h must be a 2-D numeric dataset");
    f = open_rw();
    replace_dataset(f, "/layers/policy.core.h", 2, 12, 4);
    hid_t g = H5Gcreate2(f, "/layers/sub", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    H5Gclose(g);
    H5Fclose(f);
    expect_refusal(AG_EFORMAT, "/layers holds something other than datasets");
}
END_TEST

START_TEST(test_fixed_length_strings_accepted) {
    /* MATLAB's h5writeatt writes fixed-length strings */
    hid_t f = open_rw();
    set_string_attr(f, "format", "angora-activations", 1);
    set_string_attr(f, "task", "HandBlock", 1);
    /* a space-padded one (Fortran style) loses its padding */
    H5Adelete(f, "checkpoint");
    hid_t t = H5Tcopy(H5T_C_S1);
    H5Tset_size(t, 12);
    H5Tset_strpad(t, H5T_STR_SPACEPAD);
    hid_t sp = H5Screate(H5S_SCALAR);
    hid_t at = H5Acreate2(f, "checkpoint", t, sp, H5P_DEFAULT, H5P_DEFAULT);
    ck_assert_int_ge(H5Awrite(at, t, "best.ckpt   "), 0);
    H5Aclose(at);
    H5Sclose(sp);
    H5Tclose(t);
    H5Fclose(f);
    AnH5File *h;
    ck_assert_msg(an_h5_open(&h, path, err, sizeof err) == 0, "%s", err);
    ck_assert_str_eq(h->task, "HandBlock");
    ck_assert_str_eq(h->checkpoint, "best.ckpt");
    an_h5_close(h);
}
END_TEST

START_TEST(test_read_matrix) {
    double *m;
    int64_t rows, cols;
    ck_assert_int_eq(an_h5_is_hdf5(path), 1);
    ck_assert_int_eq(
        an_h5_read_matrix(&m, &rows, &cols, path, "/layers/value.trunk.0.dense", err, sizeof err),
        0);
    ck_assert_int_eq(rows, 12);
    ck_assert_int_eq(cols, 3);
    ck_assert_double_eq(m[5 * 3 + 2], an_test_value(1, 5, 2));
    free(m);
    ck_assert_int_eq(an_h5_read_matrix(&m, &rows, &cols, path, "/index/step", err, sizeof err),
                     AG_EFORMAT);
    ck_assert_int_eq(an_h5_read_matrix(&m, &rows, &cols, path, "/nothing", err, sizeof err),
                     AG_ENOTFOUND);
}
END_TEST

static Suite *h5_read_suite(void) {
    Suite *s = suite_create("an_h5_read");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_missing_and_not_hdf5);
    tcase_add_test(tc, test_wrong_format);
    tcase_add_test(tc, test_wrong_version);
    tcase_add_test(tc, test_incomplete);
    tcase_add_test(tc, test_unfinished_part_file);
    tcase_add_test(tc, test_truncated);
    tcase_add_test(tc, test_row_counts_disagree);
    tcase_add_test(tc, test_index_out_of_order);
    tcase_add_test(tc, test_bad_dataset_shapes);
    tcase_add_test(tc, test_fixed_length_strings_accepted);
    tcase_add_test(tc, test_read_matrix);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) {
    SRunner *sr = srunner_create(h5_read_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
