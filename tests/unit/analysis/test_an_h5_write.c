/* Tests of the recording writer (an_h5_write.c): a file written and read back (root attributes,
 * index, layers and variables with their attributes, values), the storage layout (chunked,
 * shuffled, deflated), growth by appends, NAME.part renamed only when complete, and refused
 * mistakes (rows that do not match, an index out of order, duplicate or bad names). */
#include "an_h5.h"

#include "an_test_util.h"

#include "ag_error.h"

#include <check.h>
#include <hdf5.h>
#include <string.h>
#include <unistd.h>

static char dir[64], path[128], part[160];

static void setup(void) {
    ck_assert_ptr_nonnull(an_test_tmpdir(dir, sizeof dir, "h5w"));
    snprintf(path, sizeof path, "%s/rec.h5", dir);
    snprintf(part, sizeof part, "%s.part", path);
}

static void teardown(void) {
    an_test_rmdir(dir);
}

START_TEST(test_write_read_back) {
    char err[512];
    ck_assert_int_eq(an_test_write_small(path, 3, 5, err, sizeof err), 0);
    ck_assert_int_eq(access(path, F_OK), 0);
    ck_assert_int_ne(access(part, F_OK), 0);
    AnH5File *f;
    ck_assert_msg(an_h5_open(&f, path, err, sizeof err) == 0, "%s", err);
    ck_assert_str_eq(f->task, "HandReach");
    ck_assert_str_eq(f->spec, "{\"task\": \"HandReach\"}");
    ck_assert_str_eq(f->model, "{\"preset\": \"wider_lstm\"}");
    ck_assert_str_eq(f->checkpoint, "/runs/7/checkpoints/best.ckpt");
    ck_assert_str_eq(f->checkpoint_sha256, "ab12");
    ck_assert_str_eq(f->created, "2026-01-02T03:04:05Z");
    ck_assert_int_eq(f->format_version, 1);
    ck_assert_int_eq(f->deterministic, 1);
    ck_assert_uint_eq(f->seed, 18446744073709551615ull);
    ck_assert_int_eq(f->episodes, 3);
    ck_assert_int_eq(f->steps, 15);
    for (int e = 0; e < 3; e++) {
        ck_assert_int_eq(f->episode_start[e], 5 * e);
        ck_assert_int_eq(f->episode_len[e], 5);
    }
    /* name order: policy.core.h before value.trunk.0.dense, obs.goal before reward */
    ck_assert_int_eq(f->n_layers, 2);
    ck_assert_int_eq(f->n_variables, 2);
    ck_assert_str_eq(f->layers[0].name, "policy.core.h");
    ck_assert_str_eq(f->layers[0].type, "lstm_h");
    ck_assert_str_eq(f->layers[0].net, "policy");
    ck_assert_int_eq(f->layers[0].cols, 4);
    ck_assert_int_eq(f->layers[0].shape_rank, 1);
    ck_assert_int_eq(f->layers[0].shape[0], 4);
    ck_assert_int_eq(f->layers[0].pooled, 0);
    ck_assert_str_eq(f->layers[1].net, "value");
    ck_assert_str_eq(f->variables[0].name, "obs.goal");
    ck_assert_str_eq(f->variables[0].group, "task");
    ck_assert_str_eq(f->variables[0].units, "m");
    ck_assert_int_eq(f->variables[0].n_dim_names, 2);
    ck_assert_str_eq(f->variables[0].dim_names[1], "y");
    ck_assert_int_eq(f->variables[1].n_dim_names, 0);
    ck_assert_int_eq(an_h5_find(f, AN_H5_VARIABLE, "reward"), 1);
    ck_assert_int_eq(an_h5_find(f, AN_H5_LAYER, "reward"), -1);
    /* values, whole and a row range */
    float buf[15 * 4];
    ck_assert_int_eq(an_h5_read_rows(f, AN_H5_LAYER, 0, 0, 15, buf, err, sizeof err), 0);
    for (int i = 0; i < 15; i++) {
        for (int c = 0; c < 4; c++) {
            ck_assert_float_eq(buf[i * 4 + c], (float)an_test_value(0, i, c));
        }
    }
    ck_assert_int_eq(an_h5_read_rows(f, AN_H5_VARIABLE, 0, 6, 3, buf, err, sizeof err), 0);
    ck_assert_float_eq(buf[0], (float)an_test_value(2, 6, 0));
    ck_assert_float_eq(buf[5], (float)an_test_value(2, 8, 1));
    ck_assert_int_eq(an_h5_read_rows(f, AN_H5_VARIABLE, 0, 14, 2, buf, err, sizeof err), AG_ERANGE);
    an_h5_close(f);
}
END_TEST

START_TEST(test_storage_layout) {
    char err[512];
    ck_assert_int_eq(an_test_write_small(path, 2, 10, err, sizeof err), 0);
    hid_t file = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    hid_t d = H5Dopen2(file, "/layers/policy.core.h", H5P_DEFAULT);
    hid_t dcpl = H5Dget_create_plist(d);
    ck_assert_int_eq(H5Pget_layout(dcpl), H5D_CHUNKED);
    hsize_t chunk[2];
    ck_assert_int_eq(H5Pget_chunk(dcpl, 2, chunk), 2);
    ck_assert_uint_eq(chunk[0], 4096);
    ck_assert_uint_eq(chunk[1], 4);
    /* shuffle, then deflate at level 4 */
    ck_assert_int_eq(H5Pget_nfilters(dcpl), 2);
    unsigned flags, level = 0;
    size_t n = 1;
    char name[64];
    ck_assert_int_eq(H5Pget_filter2(dcpl, 0, &flags, &(size_t){0}, NULL, sizeof name, name, NULL),
                     H5Z_FILTER_SHUFFLE);
    ck_assert_int_eq(H5Pget_filter2(dcpl, 1, &flags, &n, &level, sizeof name, name, NULL),
                     H5Z_FILTER_DEFLATE);
    ck_assert_uint_eq(level, 4);
    hid_t t = H5Dget_type(d);
    ck_assert(H5Tequal(t, H5T_IEEE_F32LE) > 0);
    H5Tclose(t);
    H5Pclose(dcpl);
    H5Dclose(d);
    d = H5Dopen2(file, "/index/episode", H5P_DEFAULT);
    t = H5Dget_type(d);
    ck_assert(H5Tequal(t, H5T_STD_I32LE) > 0);
    H5Tclose(t);
    H5Dclose(d);
    H5Fclose(file);
}
END_TEST

START_TEST(test_grows_by_appends) {
    /* a recorder's way: datasets first, then rows episode by episode */
    char err[512];
    AnH5Writer *w;
    ck_assert_int_eq(an_h5_writer_create(&w, path, NULL, err, sizeof err), 0);
    ck_assert_int_eq(access(part, F_OK), 0);
    AnH5Series *layer, *var;
    ck_assert_int_eq(an_h5_writer_add_layer(w, "policy.core.c", 2, NULL, &layer, err, sizeof err),
                     0);
    ck_assert_int_eq(an_h5_writer_add_variable(w, "value", 1, NULL, &var, err, sizeof err), 0);
    for (int e = 0; e < 4; e++) {
        int len = 3 + e;
        for (int t = 0; t < len; t++) {
            int32_t ep = e, st = t;
            float row[2] = {(float)e, (float)t}, v = (float)(e * 100 + t);
            ck_assert_int_eq(an_h5_writer_append_index(w, &ep, &st, 1, err, sizeof err), 0);
            ck_assert_int_eq(an_h5_series_append(layer, row, 1, err, sizeof err), 0);
            ck_assert_int_eq(an_h5_series_append(var, &v, 1, err, sizeof err), 0);
        }
    }
    ck_assert_int_eq(an_h5_writer_finish(w, err, sizeof err), 0);
    AnH5File *f;
    ck_assert_msg(an_h5_open(&f, path, err, sizeof err) == 0, "%s", err);
    ck_assert_int_eq(f->episodes, 4);
    ck_assert_int_eq(f->steps, 3 + 4 + 5 + 6);
    ck_assert_int_eq(f->episode_start[3], 12);
    ck_assert_int_eq(f->episode_len[3], 6);
    /* defaults: no strings, shape [cols] */
    ck_assert_str_eq(f->task, "");
    ck_assert_int_eq(f->layers[0].shape_rank, 1);
    ck_assert_int_eq(f->layers[0].shape[0], 2);
    ck_assert_int_eq(f->created[4], '-');
    float v[18];
    ck_assert_int_eq(an_h5_read_rows(f, AN_H5_VARIABLE, 0, 0, 18, v, err, sizeof err), 0);
    ck_assert_float_eq(v[12], 300.0f);
    ck_assert_float_eq(v[17], 305.0f);
    an_h5_close(f);
}
END_TEST

START_TEST(test_refuses_mistakes) {
    char err[512];
    AnH5Writer *w;
    ck_assert_int_eq(an_h5_writer_create(&w, path, NULL, err, sizeof err), 0);
    AnH5Series *s;
    ck_assert_int_eq(an_h5_writer_add_layer(w, "a/b", 2, NULL, &s, err, sizeof err), AG_EINVAL);
    ck_assert_int_eq(an_h5_writer_add_layer(w, "", 2, NULL, &s, err, sizeof err), AG_EINVAL);
    ck_assert_int_eq(an_h5_writer_add_layer(w, "x", 0, NULL, &s, err, sizeof err), AG_EINVAL);
    ck_assert_int_eq(an_h5_writer_add_layer(w, "x", 2, NULL, &s, err, sizeof err), 0);
    ck_assert_int_eq(an_h5_writer_add_layer(w, "x", 2, NULL, &s, err, sizeof err), AG_EEXISTS);
    const char *const names[1] = {"only"};
    AnH5VariableInfo vi = {.dim_names = names, .n_dim_names = 1};
    ck_assert_int_eq(an_h5_writer_add_variable(w, "v", 2, &vi, &s, err, sizeof err), AG_EINVAL);
    /* the index must start at episode 0, step 0 and go on in order */
    int32_t ep[3] = {0, 0, 2}, st[3] = {0, 1, 0};
    ck_assert_int_eq(an_h5_writer_append_index(w, ep, st, 3, err, sizeof err), AG_EINVAL);
    ck_assert_ptr_nonnull(strstr(err, "index row 2"));
    ck_assert_int_eq(an_h5_writer_append_index(w, ep, st, 2, err, sizeof err), 0);
    /* x has no rows while the index has 2: finish refuses, removes the .part, frees w */
    ck_assert_int_eq(an_h5_writer_finish(w, err, sizeof err), AG_EMISMATCH);
    ck_assert_ptr_nonnull(strstr(err, "/layers/x has 0 rows, the index 2"));
    ck_assert_int_ne(access(part, F_OK), 0);
    ck_assert_int_ne(access(path, F_OK), 0);
    /* abort leaves nothing either */
    ck_assert_int_eq(an_h5_writer_create(&w, path, NULL, err, sizeof err), 0);
    an_h5_writer_abort(w);
    ck_assert_int_ne(access(part, F_OK), 0);
    /* a folder that does not exist */
    char bad[200];
    snprintf(bad, sizeof bad, "%s/missing/rec.h5", dir);
    ck_assert_int_eq(an_h5_writer_create(&w, bad, NULL, err, sizeof err), AG_EIO);
    ck_assert_ptr_nonnull(strstr(err, "missing/rec.h5.part"));
}
END_TEST

static Suite *h5_write_suite(void) {
    Suite *s = suite_create("an_h5_write");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_write_read_back);
    tcase_add_test(tc, test_storage_layout);
    tcase_add_test(tc, test_grows_by_appends);
    tcase_add_test(tc, test_refuses_mistakes);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) {
    SRunner *sr = srunner_create(h5_write_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
