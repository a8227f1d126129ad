/* Tests of checkpoints (server/nn/nn_ckpt.c): the CRC-32, the container's round trip and its
 * refusals (missing file, not a checkpoint, other version, truncated, corrupted, bad sections),
 * and the model level: params + Adam moments + step + the trainer's own section restored bit for
 * bit, and a checkpoint of another model refused with a message saying what differs. */
#include "ag_error.h"
#include "ag_rng.h"
#include "nn_ckpt.h"
#include "nn_model.h"
#include "nn_optim.h"

#include <check.h>
#include <dirent.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char dir[256];

static void dir_setup(void) {
    snprintf(dir, sizeof dir, "/tmp/angora_ckpt_test.XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
}

/* the tests leave only plain files in the directory */
static void dir_teardown(void) {
    DIR *d = opendir(dir);
    ck_assert_ptr_nonnull(d);
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) {
            char p[600];
            snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
            ck_assert_int_eq(unlink(p), 0);
        }
    }
    closedir(d);
    ck_assert_int_eq(rmdir(dir), 0);
}

static void path_in(char *out, size_t n, const char *name) {
    snprintf(out, n, "%s/%s", dir, name);
}

static unsigned char *file_read(const char *path, long *len) {
    FILE *f = fopen(path, "rb");
    ck_assert_ptr_nonnull(f);
    fseek(f, 0, SEEK_END);
    *len = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *b = malloc((size_t)*len + 1);
    ck_assert_uint_eq(fread(b, 1, (size_t)*len, f), (size_t)*len);
    fclose(f);
    return b;
}

static void file_write(const char *path, const unsigned char *b, long len) {
    FILE *f = fopen(path, "wb");
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(fwrite(b, 1, (size_t)len, f), (size_t)len);
    fclose(f);
}

static NnIoSpec io_make(int obs) {
    NnIoSpec io;
    memset(&io, 0, sizeof io);
    snprintf(io.inputs[0].name, sizeof io.inputs[0].name, "proprioception");
    io.inputs[0].shape[0] = obs;
    io.inputs[0].shape[1] = 1;
    io.inputs[0].shape[2] = 1;
    io.inputs[0].size = obs;
    io.num_inputs = 1;
    io.obs_size = obs;
    io.policy_outputs = 3;
    io.logstd_dim = 3;
    return io;
}

/* a preset on obs inputs whose camera is view ("" for none, as models before views existed) */
static NnModel *model_make_view(const char *preset, int obs, const char *view) {
    NnIoSpec io = io_make(obs);
    snprintf(io.inputs[0].view, NN_VIEW_MAX, "%s", view);
    json_t *d = json_string(preset);
    char err[256];
    NnModel *m = nn_model_create(d, &io, err, sizeof err);
    json_decref(d);
    ck_assert_msg(m != NULL, "%s", err);
    return m;
}

static NnModel *model_make(const char *preset, int obs) {
    return model_make_view(preset, obs, "");
}

/* ---- container ---- */

START_TEST(test_crc32_known_value) {
    ck_assert_uint_eq(nn_crc32(0, "123456789", 9), 0xCBF43926u);
    ck_assert_uint_eq(nn_crc32(0, "", 0), 0);
    /* incremental equals one pass */
    ck_assert_uint_eq(nn_crc32(nn_crc32(0, "1234", 4), "56789", 5), 0xCBF43926u);
}
END_TEST

static const char trainer_state[] = "{\"cycle\": 12, \"best\": 3.5}";

/* writes three sections and returns the file's path in out */
static void write_sample(char *out, size_t n) {
    path_in(out, n, "sample.ckpt");
    float data[100];
    for (int i = 0; i < 100; i++) {
        data[i] = (float)i * 0.25f;
    }
    NnCkptSection s[3] = {{"numbers", data, sizeof data},
                          {"trainer", trainer_state, sizeof trainer_state},
                          {"empty", NULL, 0}};
    char err[256] = "";
    ck_assert_msg(nn_ckpt_write(out, s, 3, err, sizeof err) == AG_OK, "%s", err);
}

START_TEST(test_container_round_trip) {
    char path[300];
    write_sample(path, sizeof path);
    char err[256] = "";
    NnCkpt *c = nn_ckpt_read(path, err, sizeof err);
    ck_assert_msg(c != NULL, "%s", err);
    uint64_t size = 0;
    const float *nums = nn_ckpt_section(c, "numbers", &size);
    ck_assert_ptr_nonnull(nums);
    ck_assert_uint_eq(size, 400);
    for (int i = 0; i < 100; i++) {
        ck_assert_float_eq(nums[i], (float)i * 0.25f);
    }
    const char *t = nn_ckpt_section(c, "trainer", &size);
    ck_assert_uint_eq(size, sizeof trainer_state);
    ck_assert_str_eq(t, trainer_state);
    ck_assert_ptr_nonnull(nn_ckpt_section(c, "empty", &size));
    ck_assert_uint_eq(size, 0);
    size = 7;
    ck_assert_ptr_null(nn_ckpt_section(c, "absent", &size));
    ck_assert_uint_eq(size, 0);
    nn_ckpt_free(c);
    nn_ckpt_free(NULL);
    /* no temp file is left next to it */
    char tmp[320];
    snprintf(tmp, sizeof tmp, "%s.tmp.%d", path, (int)getpid());
    ck_assert_int_ne(access(tmp, F_OK), 0);
}
END_TEST

/* opens path expecting code, with `words` in the message */
static void expect_open_fails(const char *path, int code, const char *words) {
    char err[512] = "";
    NnCkpt *c = NULL;
    int rc = nn_ckpt_open(&c, path, err, sizeof err);
    ck_assert_ptr_null(c);
    ck_assert_msg(rc == code, "got %s (%s), expected %s", ag_error_name(rc), err,
                  ag_error_name(code));
    ck_assert_msg(strstr(err, words) != NULL, "message \"%s\" lacks \"%s\"", err, words);
    /* the plain reader fails the same way */
    char err2[512] = "";
    ck_assert_ptr_null(nn_ckpt_read(path, err2, sizeof err2));
    ck_assert_str_eq(err, err2);
}

START_TEST(test_missing_file) {
    char path[300];
    path_in(path, sizeof path, "nothing-here.ckpt");
    expect_open_fails(path, AG_ENOTFOUND, "nothing-here.ckpt");
}
END_TEST

START_TEST(test_truncated) {
    char path[300];
    write_sample(path, sizeof path);
    long len;
    unsigned char *b = file_read(path, &len);
    /* cut inside the data, inside the header, and just the CRC */
    long cuts[] = {len - 50, 20, len - 1};
    for (size_t i = 0; i < 3; i++) {
        file_write(path, b, cuts[i]);
        expect_open_fails(path, AG_ETRUNCATED, "truncated");
    }
    free(b);
}
END_TEST

START_TEST(test_flipped_byte) {
    char path[300];
    write_sample(path, sizeof path);
    long len;
    unsigned char *b = file_read(path, &len);
    /* a flipped bit in the data, in the section table, and in the CRC itself */
    long at[] = {len / 2, 30, len - 2};
    for (size_t i = 0; i < 3; i++) {
        b[at[i]] ^= 0x10;
        file_write(path, b, len);
        expect_open_fails(path, AG_ECHECKSUM, "corrupted");
        b[at[i]] ^= 0x10;
    }
    /* bytes appended after the CRC */
    unsigned char *longer = calloc(1, (size_t)len + 8);
    memcpy(longer, b, (size_t)len);
    file_write(path, longer, len + 8);
    expect_open_fails(path, AG_ECHECKSUM, "corrupted");
    free(longer);
    /* restored, it reads again */
    file_write(path, b, len);
    char err[256];
    NnCkpt *c = nn_ckpt_read(path, err, sizeof err);
    ck_assert_ptr_nonnull(c);
    nn_ckpt_free(c);
    free(b);
}
END_TEST

START_TEST(test_wrong_magic) {
    char path[300];
    write_sample(path, sizeof path);
    long len;
    unsigned char *b = file_read(path, &len);
    b[0] = 'X';
    file_write(path, b, len);
    expect_open_fails(path, AG_EFORMAT, "not a checkpoint");
    /* a text file, an empty file */
    file_write(path, (const unsigned char *)"{\"hello\": 1}\n", 13);
    expect_open_fails(path, AG_EFORMAT, "not a checkpoint");
    file_write(path, b, 0);
    expect_open_fails(path, AG_EFORMAT, "not a checkpoint");
    free(b);
}
END_TEST

START_TEST(test_other_version) {
    char path[300];
    write_sample(path, sizeof path);
    long len;
    unsigned char *b = file_read(path, &len);
    b[8] = 7; /* version 7, with a valid CRC so that only the version is wrong */
    uint32_t crc = nn_crc32(0, b, (size_t)len - 4);
    for (int i = 0; i < 4; i++) {
        b[len - 4 + i] = (unsigned char)(crc >> (8 * i));
    }
    file_write(path, b, len);
    expect_open_fails(path, AG_EVERSION, "version 7");
    free(b);
}
END_TEST

START_TEST(test_bad_section_table) {
    char path[300];
    write_sample(path, sizeof path);
    long len;
    unsigned char *b = file_read(path, &len);
    /* first section's size made huge, CRC recomputed: the table is checked against the file */
    b[24 + 40 + 5] = 0x7f;
    uint32_t crc = nn_crc32(0, b, (size_t)len - 4);
    for (int i = 0; i < 4; i++) {
        b[len - 4 + i] = (unsigned char)(crc >> (8 * i));
    }
    file_write(path, b, len);
    expect_open_fails(path, AG_EFORMAT, "section table");
    free(b);
}
END_TEST

START_TEST(test_write_refusals) {
    char path[300], err[256];
    path_in(path, sizeof path, "w.ckpt");
    int x = 1;
    NnCkptSection dup[2] = {{"a", &x, 4}, {"a", &x, 4}};
    ck_assert_int_eq(nn_ckpt_write(path, dup, 2, err, sizeof err), AG_EINVAL);
    ck_assert_ptr_nonnull(strstr(err, "twice"));
    NnCkptSection noname[1] = {{"", &x, 4}};
    ck_assert_int_eq(nn_ckpt_write(path, noname, 1, err, sizeof err), AG_EINVAL);
    NnCkptSection nodata[1] = {{"a", NULL, 4}};
    ck_assert_int_eq(nn_ckpt_write(path, nodata, 1, err, sizeof err), AG_EINVAL);
    ck_assert_int_eq(nn_ckpt_write(path, NULL, -1, err, sizeof err), AG_EINVAL);
    ck_assert_int_ne(access(path, F_OK), 0);
    /* a directory that does not exist */
    char bad[320];
    snprintf(bad, sizeof bad, "%s/no/such/dir/x.ckpt", dir);
    NnCkptSection ok[1] = {{"a", &x, 4}};
    ck_assert_int_lt(nn_ckpt_write(bad, ok, 1, err, sizeof err), 0);
    /* zero sections is a valid, empty checkpoint */
    ck_assert_int_eq(nn_ckpt_write(path, NULL, 0, err, sizeof err), AG_OK);
    NnCkpt *c = nn_ckpt_read(path, err, sizeof err);
    ck_assert_ptr_nonnull(c);
    ck_assert_ptr_null(nn_ckpt_section(c, "a", NULL));
    nn_ckpt_free(c);
}
END_TEST

/* ---- model level ---- */

static void fill(float *x, size_t n, AgRng *rng) {
    for (size_t i = 0; i < n; i++) {
        x[i] = (float)ag_rng_normal(rng);
    }
}

/* saves model + adam + a trainer section to path */
static void save_model(const char *path, NnModel *m, NnAdam *adam) {
    NnCkptSection s[8];
    int n = 0;
    char *text = NULL;
    ck_assert_int_eq(nn_ckpt_model_sections(m, adam, s, &n, &text), AG_OK);
    ck_assert_int_eq(n, adam ? 5 : 2);
    snprintf(s[n].name, sizeof s[n].name, "trainer");
    s[n].data = trainer_state;
    s[n].size = sizeof trainer_state;
    n++;
    char err[256] = "";
    ck_assert_msg(nn_ckpt_write(path, s, n, err, sizeof err) == AG_OK, "%s", err);
    free(text);
}

START_TEST(test_model_round_trip_bit_exact) {
    NnModel *m = model_make("simple_lstm", 7);
    size_t np = nn_model_num_params(m);
    AgRng rng;
    ag_rng_seed(&rng, 3, 0);
    nn_model_init_params(m, &rng);
    fill(nn_model_params(m), np, &rng); /* every bit pattern should survive, not just init's */
    NnAdam adam;
    ck_assert_int_eq(nn_adam_init(&adam, np, 0.9f, 0.999f, 1e-5f), AG_OK);
    fill(adam.m, np, &rng);
    for (size_t i = 0; i < np; i++) {
        adam.v[i] = (float)ag_rng_uniform(&rng);
    }
    adam.step = 123456789012LL;
    char path[300];
    path_in(path, sizeof path, "model.ckpt");
    save_model(path, m, &adam);

    NnModel *m2 = model_make("simple_lstm", 7);
    NnAdam adam2;
    ck_assert_int_eq(nn_adam_init(&adam2, np, 0.5f, 0.5f, 1.0f), AG_OK);
    char err[512] = "";
    NnCkpt *c = nn_ckpt_read(path, err, sizeof err);
    ck_assert_msg(c != NULL, "%s", err);
    ck_assert_msg(nn_ckpt_model_load(c, m2, &adam2, err, sizeof err) == AG_OK, "%s", err);
    ck_assert_int_eq(memcmp(nn_model_params(m), nn_model_params(m2), np * sizeof(float)), 0);
    ck_assert_int_eq(memcmp(adam.m, adam2.m, np * sizeof(float)), 0);
    ck_assert_int_eq(memcmp(adam.v, adam2.v, np * sizeof(float)), 0);
    ck_assert_int_eq(adam2.step, adam.step);
    ck_assert_float_eq(adam2.beta1, 0.9f);
    ck_assert_float_eq(adam2.beta2, 0.999f);
    ck_assert_float_eq(adam2.eps, 1e-5f);
    /* the trainer's own section comes back as written */
    uint64_t size = 0;
    const char *t = nn_ckpt_section(c, "trainer", &size);
    ck_assert_uint_eq(size, sizeof trainer_state);
    ck_assert_str_eq(t, trainer_state);
    /* the model section is the description, for humans and tools */
    const char *desc = nn_ckpt_section(c, "model", &size);
    ck_assert_ptr_nonnull(desc);
    json_t *j = json_loadb(desc, (size_t)size, 0, NULL);
    ck_assert_ptr_nonnull(j);
    ck_assert_str_eq(json_string_value(json_object_get(
                         json_object_get(json_object_get(j, "description"), "core"), "type")),
                     "lstm");
    json_decref(j);
    /* params only, without touching an optimizer */
    NnModel *m3 = model_make("simple_lstm", 7);
    ck_assert_int_eq(nn_ckpt_model_load(c, m3, NULL, err, sizeof err), AG_OK);
    ck_assert_int_eq(memcmp(nn_model_params(m), nn_model_params(m3), np * sizeof(float)), 0);
    nn_ckpt_free(c);

    /* a checkpoint saved without optimizer state cannot restore one */
    save_model(path, m, NULL);
    c = nn_ckpt_read(path, err, sizeof err);
    ck_assert_ptr_nonnull(c);
    ck_assert_int_eq(nn_ckpt_model_load(c, m2, &adam2, err, sizeof err), AG_ENOTFOUND);
    ck_assert_ptr_nonnull(strstr(err, "optimizer"));
    ck_assert_int_eq(nn_ckpt_model_load(c, m2, NULL, err, sizeof err), AG_OK);
    nn_ckpt_free(c);
    nn_adam_free(&adam);
    nn_adam_free(&adam2);
    nn_model_destroy(m);
    nn_model_destroy(m2);
    nn_model_destroy(m3);
}
END_TEST

START_TEST(test_other_model_refused) {
    NnModel *m = model_make("simple", 7);
    AgRng rng;
    ag_rng_seed(&rng, 4, 0);
    nn_model_init_params(m, &rng);
    char path[300];
    path_in(path, sizeof path, "simple.ckpt");
    save_model(path, m, NULL);
    char err[512] = "";
    NnCkpt *c = nn_ckpt_read(path, err, sizeof err);
    ck_assert_ptr_nonnull(c);

    /* another architecture, the same architecture on other inputs, another preset size */
    struct {
        const char *preset;
        int obs;
        const char *what;
    } others[] = {
        {"simple_lstm", 7, "description"}, {"simple", 9, "io"}, {"deeper", 7, "description"}};
    for (size_t i = 0; i < 3; i++) {
        NnModel *o = model_make(others[i].preset, others[i].obs);
        float before = nn_model_params(o)[0];
        int rc = nn_ckpt_model_load(c, o, NULL, err, sizeof err);
        ck_assert_msg(rc == AG_EMISMATCH, "%s: %s", others[i].preset, ag_error_name(rc));
        ck_assert_msg(strstr(err, "another model") && strstr(err, others[i].what), "message: %s",
                      err);
        ck_assert_float_eq(nn_model_params(o)[0], before); /* nothing was overwritten */
        nn_model_destroy(o);
    }
    /* an optimizer of the wrong size */
    NnModel *same = model_make("simple", 7);
    NnAdam small;
    ck_assert_int_eq(nn_adam_init(&small, 10, 0.9f, 0.999f, 1e-5f), AG_OK);
    NnCkptSection secs[5];
    int ns = 0;
    char *text = NULL;
    ck_assert_int_eq(nn_ckpt_model_sections(same, &small, secs, &ns, &text), AG_EINVAL);
    ck_assert_int_eq(ns, 0);
    ck_assert_ptr_null(text);
    nn_ckpt_free(c);
    save_model(path, m, NULL);
    c = nn_ckpt_read(path, err, sizeof err);
    ck_assert_int_lt(nn_ckpt_model_load(c, same, &small, err, sizeof err), 0);
    nn_adam_free(&small);
    nn_model_destroy(same);
    nn_ckpt_free(c);

    /* a container without model sections */
    char other[300];
    write_sample(other, sizeof other);
    c = nn_ckpt_read(other, err, sizeof err);
    ck_assert_ptr_nonnull(c);
    ck_assert_int_eq(nn_ckpt_model_load(c, m, NULL, err, sizeof err), AG_EFORMAT);
    ck_assert_ptr_nonnull(strstr(err, "model"));
    nn_ckpt_free(c);
    nn_model_destroy(m);
}
END_TEST

START_TEST(test_view_in_model_section) {
    NnCkptSection s[8];
    int n = 0;
    char *text = NULL;
    /* no camera: no "view" member, so checkpoints written before views were recorded still load */
    NnModel *plain = model_make_view("simple", 7, "");
    ck_assert_int_eq(nn_ckpt_model_sections(plain, NULL, s, &n, &text), AG_OK);
    ck_assert_ptr_null(strstr(text, "\"view\""));
    free(text);
    n = 0;
    NnModel *cam = model_make_view("simple", 7, "palm_cam, fovy 30");
    ck_assert_int_eq(nn_ckpt_model_sections(cam, NULL, s, &n, &text), AG_OK);
    ck_assert_ptr_nonnull(strstr(text, "\"view\":\"palm_cam, fovy 30\""));
    free(text);
    /* a policy of one camera's pictures does not load into the same model seeing another's */
    char path[300], err[512] = "";
    path_in(path, sizeof path, "camera.ckpt");
    save_model(path, cam, NULL);
    NnCkpt *c = nn_ckpt_read(path, err, sizeof err);
    ck_assert_ptr_nonnull(c);
    NnModel *other = model_make_view("simple", 7, "palm_cam, fovy 45");
    ck_assert_int_eq(nn_ckpt_model_load(c, other, NULL, err, sizeof err), AG_EMISMATCH);
    ck_assert_msg(strstr(err, "io") && strstr(err, "fovy 30"), "message: %s", err);
    ck_assert_int_eq(nn_ckpt_model_load(c, plain, NULL, err, sizeof err), AG_EMISMATCH);
    NnModel *same = model_make_view("simple", 7, "palm_cam, fovy 30");
    ck_assert_msg(nn_ckpt_model_load(c, same, NULL, err, sizeof err) == AG_OK, "%s", err);
    nn_ckpt_free(c);
    nn_model_destroy(plain);
    nn_model_destroy(cam);
    nn_model_destroy(other);
    nn_model_destroy(same);
}
END_TEST

static Suite *ckpt_suite(void) {
    Suite *s = suite_create("nn_ckpt");
    TCase *tc = tcase_create("ckpt");
    tcase_add_checked_fixture(tc, dir_setup, dir_teardown);
    tcase_add_test(tc, test_crc32_known_value);
    tcase_add_test(tc, test_container_round_trip);
    tcase_add_test(tc, test_missing_file);
    tcase_add_test(tc, test_truncated);
    tcase_add_test(tc, test_flipped_byte);
    tcase_add_test(tc, test_wrong_magic);
    tcase_add_test(tc, test_other_version);
    tcase_add_test(tc, test_bad_section_table);
    tcase_add_test(tc, test_write_refusals);
    tcase_add_test(tc, test_model_round_trip_bit_exact);
    tcase_add_test(tc, test_other_model_refused);
    tcase_add_test(tc, test_view_in_model_section);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) {
    SRunner *sr = srunner_create(ckpt_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
