/* Tests of the HDF5 writer of activation recordings (server/train/train_h5.c): rows appended
 * across chunk boundaries read back as written, 1-D and 2-D datasets, chunking, compression and
 * attributes, the rename at the end, and the failures: datasets of unequal rows, a folder that
 * does not exist, a full disk (a file size limit), and abort; none leaves a file behind. */
#include "train_h5.h"

#include "ag_error.h"

#include <check.h>
#include <hdf5.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

static char g_dir[256], g_path[300], g_part[310];

static void setup(void) {
    snprintf(g_dir, sizeof g_dir, "/tmp/angora-train-h5-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(g_dir));
    snprintf(g_path, sizeof g_path, "%s/rec.h5", g_dir);
    snprintf(g_part, sizeof g_part, "%s.part", g_path);
}

static void teardown(void) {
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", g_dir);
    ck_assert_int_eq(system(cmd), 0);
}

/* ---- reading back with the HDF5 library ---- */

static void read_dims(hid_t f, const char *name, int *rank, hsize_t dims[2], hsize_t chunk[2]) {
    hid_t d = H5Dopen2(f, name, H5P_DEFAULT);
    ck_assert_msg(d >= 0, "no dataset %s", name);
    hid_t s = H5Dget_space(d);
    *rank = H5Sget_simple_extent_ndims(s);
    H5Sget_simple_extent_dims(s, dims, NULL);
    hid_t dcpl = H5Dget_create_plist(d);
    ck_assert_int_eq(H5Pget_chunk(dcpl, 2, chunk), *rank);
    /* shuffle, then deflate at level 4 */
    unsigned flags, cd[4];
    size_t ncd = 4;
    ck_assert_int_eq(H5Pget_nfilters(dcpl), 2);
    ck_assert_int_eq(H5Pget_filter2(dcpl, 0, &flags, &ncd, cd, 0, NULL, NULL), H5Z_FILTER_SHUFFLE);
    ncd = 4;
    ck_assert_int_eq(H5Pget_filter2(dcpl, 1, &flags, &ncd, cd, 0, NULL, NULL), H5Z_FILTER_DEFLATE);
    ck_assert_uint_eq(cd[0], 4);
    H5Pclose(dcpl);
    H5Sclose(s);
    H5Dclose(d);
}

static void read_all(hid_t f, const char *name, hid_t type, void *out) {
    hid_t d = H5Dopen2(f, name, H5P_DEFAULT);
    ck_assert_int_ge(H5Dread(d, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, out), 0);
    H5Dclose(d);
}

static hid_t attr_open(hid_t f, const char *obj, const char *name) {
    hid_t a = H5Aopen_by_name(f, obj, name, H5P_DEFAULT, H5P_DEFAULT);
    ck_assert_msg(a >= 0, "no attribute %s of %s", name, obj);
    return a;
}

static void attr_str(hid_t f, const char *obj, const char *name, const char *want) {
    hid_t a = attr_open(f, obj, name);
    hid_t t = H5Aget_type(a);
    ck_assert(H5Tis_variable_str(t) > 0);
    ck_assert_int_eq(H5Tget_cset(t), H5T_CSET_UTF8);
    char *v = NULL;
    ck_assert_int_ge(H5Aread(a, t, &v), 0);
    ck_assert_str_eq(v, want);
    H5free_memory(v);
    H5Tclose(t);
    H5Aclose(a);
}

static long long attr_int(hid_t f, const char *obj, const char *name, hid_t want_type) {
    hid_t a = attr_open(f, obj, name);
    hid_t t = H5Aget_type(a);
    ck_assert(H5Tequal(t, want_type) > 0);
    long long v = 0;
    ck_assert_int_ge(H5Aread(a, H5T_NATIVE_LLONG, &v), 0);
    H5Tclose(t);
    H5Aclose(a);
    return v;
}

/* ---- tests ---- */

START_TEST(test_write_and_read_back) {
    char err[512] = "";
    TrainH5 *f;
    TrainH5Set *wide, *idx;
    ck_assert_msg(train_h5_create(&f, g_path, err, sizeof err) == 0, "%s", err);
    ck_assert_int_eq(access(g_part, F_OK), 0);
    ck_assert_int_ne(access(g_path, F_OK), 0);
    ck_assert_int_eq(train_h5_dataset(f, "layers", "policy.trunk.0.dense", TRAIN_H5_F32, 3, &wide,
                                      err, sizeof err),
                     0);
    ck_assert_int_eq(train_h5_dataset(f, "index", "step", TRAIN_H5_I32, 0, &idx, err, sizeof err),
                     0);
    /* 10000 rows in uneven pieces, across chunks of 4096 */
    int n = 10000;
    float *x = malloc((size_t)n * 3 * sizeof(float));
    int32_t *k = malloc((size_t)n * sizeof(int32_t));
    for (int i = 0; i < n; i++) {
        for (int c = 0; c < 3; c++) {
            x[i * 3 + c] = (float)i + 0.25f * (float)c;
        }
        k[i] = i % 7;
    }
    int done = 0, piece = 1;
    while (done < n) {
        int m = piece < n - done ? piece : n - done;
        ck_assert_int_eq(train_h5_append(wide, x + (size_t)done * 3, (size_t)m, err, sizeof err),
                         0);
        ck_assert_int_eq(train_h5_append(idx, k + done, (size_t)m, err, sizeof err), 0);
        done += m;
        piece = piece * 3 + 1;
    }
    ck_assert_int_eq(train_h5_rows(wide), n);
    const char *names[3] = {"x", "y", "z"};
    int32_t shape[3] = {3, 1, 1};
    ck_assert_int_eq(train_h5_attr_str(f, NULL, "format", "angora-activations", err, sizeof err),
                     0);
    ck_assert_int_eq(train_h5_attr_str(f, NULL, "format", "replaced", err, sizeof err), 0);
    ck_assert_int_eq(train_h5_attr_i32(f, NULL, "format_version", 1, err, sizeof err), 0);
    ck_assert_int_eq(train_h5_attr_i64(f, NULL, "steps", n, err, sizeof err), 0);
    ck_assert_int_eq(
        train_h5_attr_u64(f, NULL, "seed", UINT64_C(0xfedcba9876543210), err, sizeof err), 0);
    ck_assert_int_eq(train_h5_attr_str(f, wide, "units", "m/s \xc2\xb1", err, sizeof err), 0);
    ck_assert_int_eq(train_h5_attr_strs(f, wide, "dim_names", names, 3, err, sizeof err), 0);
    ck_assert_int_eq(train_h5_attr_i32s(f, wide, "shape", shape, 1, err, sizeof err), 0);
    ck_assert_msg(train_h5_finish(f, err, sizeof err) == 0, "%s", err);
    ck_assert_int_eq(access(g_part, F_OK), -1);

    hid_t h = H5Fopen(g_path, H5F_ACC_RDONLY, H5P_DEFAULT);
    ck_assert_int_ge(h, 0);
    int rank;
    hsize_t dims[2] = {0, 0}, chunk[2] = {0, 0};
    read_dims(h, "/layers/policy.trunk.0.dense", &rank, dims, chunk);
    ck_assert_int_eq(rank, 2);
    ck_assert_uint_eq(dims[0], n);
    ck_assert_uint_eq(dims[1], 3);
    ck_assert_uint_eq(chunk[0], TRAIN_H5_CHUNK_ROWS);
    read_dims(h, "/index/step", &rank, dims, chunk);
    ck_assert_int_eq(rank, 1);
    ck_assert_uint_eq(dims[0], n);
    float *xr = malloc((size_t)n * 3 * sizeof(float));
    int32_t *kr = malloc((size_t)n * sizeof(int32_t));
    read_all(h, "/layers/policy.trunk.0.dense", H5T_NATIVE_FLOAT, xr);
    read_all(h, "/index/step", H5T_NATIVE_INT32, kr);
    ck_assert_mem_eq(xr, x, (size_t)n * 3 * sizeof(float));
    ck_assert_mem_eq(kr, k, (size_t)n * sizeof(int32_t));
    attr_str(h, "/", "format", "replaced");
    ck_assert_int_eq(attr_int(h, "/", "format_version", H5T_STD_I32LE), 1);
    ck_assert_int_eq(attr_int(h, "/", "complete", H5T_STD_I32LE), 1);
    ck_assert_int_eq(attr_int(h, "/", "steps", H5T_STD_I64LE), n);
    hid_t a = attr_open(h, "/", "seed");
    unsigned long long seed = 0;
    H5Aread(a, H5T_NATIVE_ULLONG, &seed);
    H5Aclose(a);
    ck_assert_uint_eq(seed, UINT64_C(0xfedcba9876543210));
    attr_str(h, "/layers/policy.trunk.0.dense", "units", "m/s \xc2\xb1");
    a = attr_open(h, "/layers/policy.trunk.0.dense", "dim_names");
    hid_t t = H5Aget_type(a);
    char *got[3];
    ck_assert_int_ge(H5Aread(a, t, got), 0);
    ck_assert_str_eq(got[2], "z");
    hid_t s = H5Aget_space(a);
    H5Dvlen_reclaim(t, s, H5P_DEFAULT, got);
    H5Sclose(s);
    H5Tclose(t);
    H5Aclose(a);
    H5Fclose(h);
    free(x);
    free(k);
    free(xr);
    free(kr);
}
END_TEST

/* a row of 2 MiB: chunks of one row */
START_TEST(test_wide_rows) {
    char err[512] = "";
    TrainH5 *f;
    TrainH5Set *huge;
    ck_assert_int_eq(train_h5_create(&f, g_path, err, sizeof err), 0);
    ck_assert_int_eq(train_h5_dataset(f, "variables", "obs.vision", TRAIN_H5_F32, 1 << 19, &huge,
                                      err, sizeof err),
                     0);
    float *big = calloc((size_t)1 << 19, sizeof(float));
    for (int i = 0; i < 3; i++) {
        big[i] = (float)i;
        ck_assert_int_eq(train_h5_append(huge, big, 1, err, sizeof err), 0);
    }
    ck_assert_msg(train_h5_finish(f, err, sizeof err) == 0, "%s", err);
    hid_t h = H5Fopen(g_path, H5F_ACC_RDONLY, H5P_DEFAULT);
    int rank;
    hsize_t dims[2], chunk[2];
    read_dims(h, "/variables/obs.vision", &rank, dims, chunk);
    ck_assert_uint_eq(dims[0], 3);
    ck_assert_uint_eq(chunk[0], 1);
    float *back = malloc((size_t)3 << 21);
    read_all(h, "/variables/obs.vision", H5T_NATIVE_FLOAT, back);
    ck_assert_float_eq(back[((size_t)2 << 19) + 2], 2.0f);
    ck_assert_float_eq(back[((size_t)1 << 19) + 2], 0.0f);
    H5Fclose(h);
    free(back);
    free(big);
}
END_TEST

START_TEST(test_unequal_rows_refused) {
    char err[512] = "";
    TrainH5 *f;
    TrainH5Set *a, *b;
    float v[2] = {1, 2};
    ck_assert_int_eq(train_h5_create(&f, g_path, err, sizeof err), 0);
    ck_assert_int_eq(train_h5_dataset(f, "variables", "a", TRAIN_H5_F32, 1, &a, err, sizeof err),
                     0);
    ck_assert_int_eq(train_h5_dataset(f, "variables", "b", TRAIN_H5_F32, 1, &b, err, sizeof err),
                     0);
    ck_assert_int_eq(train_h5_append(a, v, 2, err, sizeof err), 0);
    ck_assert_int_eq(train_h5_append(b, v, 1, err, sizeof err), 0);
    ck_assert_int_eq(train_h5_finish(f, err, sizeof err), AG_ESTATE);
    ck_assert_ptr_nonnull(strstr(err, "variables/b has 1 rows"));
    ck_assert_int_eq(access(g_path, F_OK), -1);
    ck_assert_int_eq(access(g_part, F_OK), -1);
    /* a zero-column dataset is one value a row, a negative one is refused */
    ck_assert_int_eq(train_h5_create(&f, g_path, err, sizeof err), 0);
    ck_assert_int_eq(train_h5_dataset(f, "x", "bad", TRAIN_H5_F32, -1, &a, err, sizeof err),
                     AG_EINVAL);
    train_h5_abort(f);
    ck_assert_int_eq(access(g_part, F_OK), -1);
    train_h5_abort(NULL);
}
END_TEST

START_TEST(test_missing_folder) {
    char err[512] = "", path[400];
    TrainH5 *f = (TrainH5 *)1;
    snprintf(path, sizeof path, "%s/no/such/folder/rec.h5", g_dir);
    ck_assert_int_eq(train_h5_create(&f, path, err, sizeof err), AG_EIO);
    ck_assert_ptr_null(f);
    ck_assert_msg(strstr(err, "cannot create the file") && strstr(err, "No such file"), "%s", err);
}
END_TEST

/* a full disk, as a file size limit: writes fail with EFBIG once the file reaches 64 KiB (this
 * test runs in its own process) */
START_TEST(test_disk_full) {
    char err[512] = "";
    TrainH5 *f;
    TrainH5Set *d;
    signal(SIGXFSZ, SIG_IGN);
    struct rlimit lim = {.rlim_cur = 64 << 10, .rlim_max = RLIM_INFINITY};
    ck_assert_int_eq(setrlimit(RLIMIT_FSIZE, &lim), 0);
    ck_assert_int_eq(train_h5_create(&f, g_path, err, sizeof err), 0);
    ck_assert_int_eq(train_h5_dataset(f, "layers", "x", TRAIN_H5_F32, 64, &d, err, sizeof err), 0);
    float row[64];
    int rc = 0;
    unsigned s = 1;
    for (int i = 0; i < 100000 && rc == 0; i++) {
        for (int c = 0; c < 64; c++) {
            s = s * 1103515245u + 12345u; /* incompressible */
            row[c] = (float)(s >> 8);
        }
        rc = train_h5_append(d, row, 1, err, sizeof err);
    }
    if (rc == 0) {
        rc = train_h5_finish(f, err, sizeof err);
    } else {
        train_h5_abort(f);
    }
    ck_assert_int_eq(rc, AG_EIO);
    ck_assert_msg(strstr(err, "File too large"), "%s", err);
    ck_assert_int_eq(access(g_path, F_OK), -1);
    ck_assert_int_eq(access(g_part, F_OK), -1);
}
END_TEST

static Suite *h5_suite(void) {
    Suite *s = suite_create("train_h5");
    TCase *tc = tcase_create("h5");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_write_and_read_back);
    tcase_add_test(tc, test_wide_rows);
    tcase_add_test(tc, test_unequal_rows_refused);
    tcase_add_test(tc, test_missing_folder);
    tcase_add_test(tc, test_disk_full);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) {
    SRunner *sr = srunner_create(h5_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
