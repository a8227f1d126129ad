/* Tests of the recording writer (an_h5_write.c): a file written and read back (root attributes,
 * index, layers and variables with their attributes, values), the storage layout (chunked,
 * shuffled, deflated), growth by appends in pieces across chunk boundaries, rows wider than a
 * chunk, the attributes a recorder adds (strings, integers, arrays, a pooled map's shape),
 * NAME.part renamed only when complete, and the failures: mistakes refused (rows that do not
 * match, an index out of order, duplicate or bad names), a folder that does not exist and a full
 * disk (a file size limit), none leaving a file behind. */
#include "an_h5.h"

#include "an_test_util.h"

#include "ag_error.h"

#include <check.h>
#include <hdf5.h>
#include <signal.h>
#include <string.h>
#include <sys/resource.h>
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

/* ---- reading back with the HDF5 library ---- */

/* the rank of a dataset and its rows per chunk */
static int chunk_rows(hid_t file, const char *name, hsize_t *rows) {
    hid_t d = H5Dopen2(file, name, H5P_DEFAULT);
    ck_assert_msg(d >= 0, "no dataset %s", name);
    hid_t dcpl = H5Dget_create_plist(d);
    hsize_t chunk[2] = {0, 0};
    int rank = H5Pget_chunk(dcpl, 2, chunk);
    *rows = chunk[0];
    H5Pclose(dcpl);
    H5Dclose(d);
    return rank;
}

static void read_all(hid_t file, const char *name, hid_t type, void *out) {
    hid_t d = H5Dopen2(file, name, H5P_DEFAULT);
    ck_assert_msg(d >= 0, "no dataset %s", name);
    ck_assert_int_ge(H5Dread(d, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, out), 0);
    H5Dclose(d);
}

/* a variable-length UTF-8 string attribute */
static void check_attr_string(hid_t file, const char *obj, const char *name, const char *want) {
    hid_t a = H5Aopen_by_name(file, obj, name, H5P_DEFAULT, H5P_DEFAULT);
    ck_assert_msg(a >= 0, "no attribute %s of %s", name, obj);
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
    w = (AnH5Writer *)1;
    ck_assert_int_eq(an_h5_writer_create(&w, bad, NULL, err, sizeof err), AG_EIO);
    ck_assert_ptr_null(w);
    ck_assert_msg(strstr(err, "missing/rec.h5.part: cannot create the file: No such file"), "%s",
                  err);
}
END_TEST

/* 10000 rows in uneven pieces across chunks of 4096, beside a dataset written whole (whole
 * chunks straight from the caller's rows) and the index, read back as written */
START_TEST(test_appends_across_chunks) {
    char err[512];
    AnH5Writer *w;
    AnH5Series *piecewise;
    ck_assert_int_eq(an_h5_writer_create(&w, path, NULL, err, sizeof err), 0);
    ck_assert_int_eq(
        an_h5_writer_add_layer(w, "policy.trunk.0.dense", 3, NULL, &piecewise, err, sizeof err), 0);
    enum { N = 10000 };
    float *x = malloc((size_t)N * 3 * sizeof(float)), *whole = malloc(N * sizeof(float));
    int32_t *ep = malloc(N * sizeof(int32_t)), *st = malloc(N * sizeof(int32_t));
    for (int i = 0; i < N; i++) {
        for (int c = 0; c < 3; c++) {
            x[i * 3 + c] = (float)i + 0.25f * (float)c;
        }
        whole[i] = -(float)i;
        ep[i] = i / 1000;
        st[i] = i % 1000;
    }
    ck_assert_int_eq(an_h5_writer_write_variable(w, "value", whole, N, 1, NULL, err, sizeof err),
                     0);
    int done = 0, piece = 1;
    while (done < N) {
        int m = piece < N - done ? piece : N - done;
        ck_assert_int_eq(an_h5_series_append(piecewise, x + (size_t)done * 3, m, err, sizeof err),
                         0);
        ck_assert_int_eq(an_h5_writer_append_index(w, ep + done, st + done, m, err, sizeof err), 0);
        done += m;
        piece = piece * 3 + 1;
    }
    ck_assert_msg(an_h5_writer_finish(w, err, sizeof err) == 0, "%s", err);

    hid_t file = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    ck_assert_int_ge(file, 0);
    hsize_t rows;
    ck_assert_int_eq(chunk_rows(file, "/layers/policy.trunk.0.dense", &rows), 2);
    ck_assert_uint_eq(rows, AN_H5_CHUNK_ROWS);
    ck_assert_int_eq(chunk_rows(file, "/index/step", &rows), 1);
    ck_assert_uint_eq(rows, AN_H5_CHUNK_ROWS);
    float *xr = malloc((size_t)N * 3 * sizeof(float)), *wr = malloc(N * sizeof(float));
    int32_t *sr = malloc(N * sizeof(int32_t));
    read_all(file, "/layers/policy.trunk.0.dense", H5T_NATIVE_FLOAT, xr);
    read_all(file, "/variables/value", H5T_NATIVE_FLOAT, wr);
    read_all(file, "/index/step", H5T_NATIVE_INT32, sr);
    ck_assert_mem_eq(xr, x, (size_t)N * 3 * sizeof(float));
    ck_assert_mem_eq(wr, whole, N * sizeof(float));
    ck_assert_mem_eq(sr, st, N * sizeof(int32_t));
    H5Fclose(file);
    AnH5File *f;
    ck_assert_msg(an_h5_open(&f, path, err, sizeof err) == 0, "%s", err);
    ck_assert_int_eq(f->episodes, 10);
    ck_assert_int_eq(f->steps, N);
    an_h5_close(f);
    free(x);
    free(whole);
    free(ep);
    free(st);
    free(xr);
    free(wr);
    free(sr);
}
END_TEST

/* the attributes a recorder adds to its datasets, and a pooled map's shape, read back */
START_TEST(test_recorder_attributes) {
    char err[512];
    AnH5Writer *w;
    AnH5Series *conv, *obs;
    ck_assert_int_eq(an_h5_writer_create(&w, path, NULL, err, sizeof err), 0);
    int32_t channels = 32, map[3] = {32, 8, 8};
    AnH5LayerInfo li = {.type = "conv2d",
                        .net = "policy",
                        .shape = &channels,
                        .shape_rank = 1,
                        .pooled = 1,
                        .map_shape = map,
                        .map_shape_rank = 3};
    ck_assert_int_eq(
        an_h5_writer_add_layer(w, "policy.in.vision.0.conv2d", 32, &li, &conv, err, sizeof err), 0);
    const char *const xyz[3] = {"x", "y", "z"};
    AnH5VariableInfo vi = {.group = "sensation", .dim_names = xyz, .n_dim_names = 3};
    ck_assert_int_eq(an_h5_writer_add_variable(w, "obs.goal", 3, &vi, &obs, err, sizeof err), 0);
    int32_t shape[1] = {3};
    ck_assert_int_eq(an_h5_series_attr_ints(obs, "shape", shape, 1, err, sizeof err), 0);
    ck_assert_int_eq(an_h5_series_attr_int(obs, "critic_only", 1, err, sizeof err), 0);
    ck_assert_int_eq(an_h5_series_attr_string(obs, "units", "m/s \xc2\xb1", err, sizeof err), 0);
    ck_assert_int_eq(an_h5_series_attr_string(obs, "note", "first", err, sizeof err), 0);
    ck_assert_int_eq(an_h5_series_attr_string(obs, "note", "replaced", err, sizeof err), 0);
    ck_assert_int_eq(an_h5_series_attr_ints(obs, "shape", shape, 0, err, sizeof err), AG_EINVAL);
    float row[32] = {0};
    int32_t e = 0, t = 0;
    ck_assert_int_eq(an_h5_writer_append_index(w, &e, &t, 1, err, sizeof err), 0);
    ck_assert_int_eq(an_h5_series_append(conv, row, 1, err, sizeof err), 0);
    ck_assert_int_eq(an_h5_series_append(obs, row, 1, err, sizeof err), 0);
    ck_assert_msg(an_h5_writer_finish(w, err, sizeof err) == 0, "%s", err);

    hid_t file = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    check_attr_string(file, "/variables/obs.goal", "units", "m/s \xc2\xb1");
    check_attr_string(file, "/variables/obs.goal", "note", "replaced");
    int32_t v = 0;
    hid_t a = H5Aopen_by_name(file, "/variables/obs.goal", "critic_only", H5P_DEFAULT, H5P_DEFAULT);
    ck_assert_int_ge(H5Aread(a, H5T_NATIVE_INT32, &v), 0);
    ck_assert_int_eq(v, 1);
    H5Aclose(a);
    H5Fclose(file);
    /* the reader takes [C] with map_shape [C, H, W] */
    AnH5File *f;
    ck_assert_msg(an_h5_open(&f, path, err, sizeof err) == 0, "%s", err);
    const AnH5Dataset *d = &f->layers[0];
    ck_assert_int_eq(d->pooled, 1);
    ck_assert_int_eq(d->shape_rank, 1);
    ck_assert_int_eq(d->shape[0], 32);
    ck_assert_int_eq(d->map_shape_rank, 3);
    ck_assert_int_eq(d->map_shape[2], 8);
    ck_assert_int_eq(f->variables[0].n_dim_names, 3);
    ck_assert_str_eq(f->variables[0].dim_names[2], "z");
    ck_assert_str_eq(f->variables[0].units, "m/s \xc2\xb1");
    an_h5_close(f);
}
END_TEST

/* a row of 2 MiB: chunks of one row */
START_TEST(test_wide_rows) {
    char err[512];
    AnH5Writer *w;
    AnH5Series *huge;
    enum { COLS = 1 << 19 };
    ck_assert_int_eq(an_h5_writer_create(&w, path, NULL, err, sizeof err), 0);
    ck_assert_int_eq(an_h5_writer_add_variable(w, "obs.vision", COLS, NULL, &huge, err, sizeof err),
                     0);
    float *big = calloc(COLS, sizeof(float));
    for (int i = 0; i < 3; i++) {
        int32_t e = 0, t = i;
        big[i] = (float)i;
        ck_assert_int_eq(an_h5_writer_append_index(w, &e, &t, 1, err, sizeof err), 0);
        ck_assert_int_eq(an_h5_series_append(huge, big, 1, err, sizeof err), 0);
    }
    ck_assert_msg(an_h5_writer_finish(w, err, sizeof err) == 0, "%s", err);
    hid_t file = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    hsize_t rows;
    ck_assert_int_eq(chunk_rows(file, "/variables/obs.vision", &rows), 2);
    ck_assert_uint_eq(rows, 1);
    float *back = malloc((size_t)3 * COLS * sizeof(float));
    read_all(file, "/variables/obs.vision", H5T_NATIVE_FLOAT, back);
    ck_assert_float_eq(back[(size_t)2 * COLS + 2], 2.0f);
    ck_assert_float_eq(back[(size_t)1 * COLS + 2], 0.0f);
    H5Fclose(file);
    free(back);
    free(big);
}
END_TEST

/* rows still held back count: a dataset one row short of the index is refused at finish */
START_TEST(test_unequal_rows_refused) {
    char err[512];
    AnH5Writer *w;
    AnH5Series *a, *b;
    float v[2] = {1, 2};
    int32_t ep[2] = {0, 0}, st[2] = {0, 1};
    ck_assert_int_eq(an_h5_writer_create(&w, path, NULL, err, sizeof err), 0);
    ck_assert_int_eq(an_h5_writer_add_variable(w, "a", 1, NULL, &a, err, sizeof err), 0);
    ck_assert_int_eq(an_h5_writer_add_variable(w, "b", 1, NULL, &b, err, sizeof err), 0);
    ck_assert_int_eq(an_h5_writer_append_index(w, ep, st, 2, err, sizeof err), 0);
    ck_assert_int_eq(an_h5_series_append(a, v, 2, err, sizeof err), 0);
    ck_assert_int_eq(an_h5_series_append(b, v, 1, err, sizeof err), 0);
    ck_assert_int_eq(an_h5_writer_finish(w, err, sizeof err), AG_EMISMATCH);
    ck_assert_msg(strstr(err, "rec.h5.part: /variables/b has 1 rows, the index 2"), "%s", err);
    ck_assert_int_ne(access(path, F_OK), 0);
    ck_assert_int_ne(access(part, F_OK), 0);
    an_h5_writer_abort(NULL);
}
END_TEST

/* a full disk, as a file size limit: writes fail with EFBIG once the file reaches 64 KiB (this
 * test runs in its own process); the close that fails with it must not crash the exit */
START_TEST(test_disk_full) {
    char err[512] = "";
    AnH5Writer *w;
    AnH5Series *d;
    signal(SIGXFSZ, SIG_IGN);
    struct rlimit lim = {.rlim_cur = 64 << 10, .rlim_max = RLIM_INFINITY};
    ck_assert_int_eq(setrlimit(RLIMIT_FSIZE, &lim), 0);
    ck_assert_int_eq(an_h5_writer_create(&w, path, NULL, err, sizeof err), 0);
    ck_assert_int_eq(an_h5_writer_add_layer(w, "x", 64, NULL, &d, err, sizeof err), 0);
    float row[64];
    int rc = 0;
    unsigned s = 1;
    for (int i = 0; i < 100000 && rc == 0; i++) {
        for (int c = 0; c < 64; c++) {
            s = s * 1103515245u + 12345u; /* incompressible */
            row[c] = (float)(s >> 8);
        }
        int32_t e = 0, t = i;
        rc = an_h5_writer_append_index(w, &e, &t, 1, err, sizeof err);
        rc = rc ? rc : an_h5_series_append(d, row, 1, err, sizeof err);
    }
    if (rc == 0) {
        rc = an_h5_writer_finish(w, err, sizeof err);
    } else {
        an_h5_writer_abort(w);
    }
    ck_assert_int_eq(rc, AG_EIO);
    ck_assert_msg(strstr(err, "rec.h5.part: cannot") && strstr(err, "File too large"), "%s", err);
    ck_assert_int_ne(access(path, F_OK), 0);
    ck_assert_int_ne(access(part, F_OK), 0);
}
END_TEST

static Suite *h5_write_suite(void) {
    Suite *s = suite_create("an_h5_write");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_write_read_back);
    tcase_add_test(tc, test_storage_layout);
    tcase_add_test(tc, test_grows_by_appends);
    tcase_add_test(tc, test_refuses_mistakes);
    tcase_add_test(tc, test_appends_across_chunks);
    tcase_add_test(tc, test_recorder_attributes);
    tcase_add_test(tc, test_wide_rows);
    tcase_add_test(tc, test_unequal_rows_refused);
    tcase_add_test(tc, test_disk_full);
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
