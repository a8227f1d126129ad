/* Tests of server/api/api_util.c: SHA-256, tokens and the first-start token file, the mapping of
 * URL paths to dashboard files (traversal refused), MIME types, downsampling and problem
 * bodies. */
#include "api.h"

#include "ag_error.h"
#include "ag_fs.h"

#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char err[512];

START_TEST(test_sha256) {
    char hex[65];
    ck_assert_int_eq(api_sha256_hex("abc", 3, hex), 0);
    ck_assert_str_eq(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    ck_assert_int_eq(api_sha256_hex("", 0, hex), 0);
    ck_assert_str_eq(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}
END_TEST

START_TEST(test_token_generate) {
    char a[API_TOKEN_LEN + 1], b[API_TOKEN_LEN + 1];
    ck_assert_int_eq(api_token_generate(a, err, sizeof(err)), 0);
    ck_assert_int_eq(api_token_generate(b, err, sizeof(err)), 0);
    ck_assert_uint_eq(strlen(a), API_TOKEN_LEN);
    ck_assert(strncmp(a, "ang_", 4) == 0);
    ck_assert_str_ne(a, b);
    for (int i = 4; i < API_TOKEN_LEN; i++) {
        ck_assert(strchr("0123456789abcdef", a[i]) != NULL);
    }
}
END_TEST

static Store *open_store(void) {
    char mig[1024];
    Store *s = NULL;
    ck_assert_int_eq(ag_fs_data_path("migrations", mig, sizeof(mig)), 0);
    ck_assert_int_eq(store_open(":memory:", &s, err, sizeof(err)), 0);
    ck_assert_int_eq(store_migrate(s, mig, 0, NULL, err, sizeof(err)), 0);
    return s;
}

START_TEST(test_token_bootstrap) {
    char dir[] = "/tmp/angora-tok-XXXXXX", path[600], hash[65], scope[8], *text = NULL;
    char first[API_TOKEN_LEN + 1];
    size_t len;
    struct stat sb;
    int created = 0;
    Store *s = open_store();
    FILE *f;
    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/token", dir);
    ck_assert_int_eq(api_token_bootstrap(s, path, &created, err, sizeof(err)), 0);
    ck_assert_int_eq(created, 1);
    ck_assert_int_eq(stat(path, &sb), 0);
    ck_assert_int_eq(sb.st_mode & 0777, 0600);
    ck_assert_int_eq(ag_fs_read_file(path, 256, &text, &len, err, sizeof(err)), 0);
    ck_assert_uint_eq(len, API_TOKEN_LEN + 1);
    memcpy(first, text, API_TOKEN_LEN);
    first[API_TOKEN_LEN] = '\0';
    free(text);
    /* stored hashed, as a full token */
    ck_assert_int_eq(api_sha256_hex(first, API_TOKEN_LEN, hash), 0);
    ck_assert_int_eq(store_token_lookup(s, hash, scope, sizeof(scope), err, sizeof(err)), 0);
    ck_assert_str_eq(scope, "full");
    ck_assert_int_eq(store_token_lookup(s, first, scope, sizeof(scope), err, sizeof(err)),
                     AG_ENOTFOUND);
    /* a second start keeps it */
    ck_assert_int_eq(api_token_bootstrap(s, path, &created, err, sizeof(err)), 0);
    ck_assert_int_eq(created, 0);
    /* a file holding garbage (or a revoked token) is replaced */
    f = fopen(path, "w");
    fputs("garbage\n", f);
    fclose(f);
    ck_assert_int_eq(api_token_bootstrap(s, path, &created, err, sizeof(err)), 0);
    ck_assert_int_eq(created, 1);
    ck_assert_int_eq(ag_fs_read_file(path, 256, &text, &len, err, sizeof(err)), 0);
    ck_assert(strncmp(text, first, API_TOKEN_LEN) != 0);
    free(text);
    /* an unwritable place fails with a message */
    ck_assert_int_ne(api_token_bootstrap(s, "/nonexistent/dir/token", &created, err, sizeof(err)),
                     0);
    ck_assert_ptr_nonnull(strstr(err, "/nonexistent/dir/token"));
    unlink(path);
    rmdir(dir);
    store_close(s);
}
END_TEST

START_TEST(test_static_resolve) {
    char dir[] = "/tmp/angora-web-XXXXXX", p[700], out[4096];
    FILE *f;
    static const char *const bad[] = {"/../etc/passwd",
                                      "/a/../../etc/passwd",
                                      "/..",
                                      "/.",
                                      "/./index.html",
                                      "/%2e%2e/etc/passwd",
                                      "/%252e%252e%252f",
                                      "/..\\..\\etc\\passwd",
                                      "/sub\\a.js",
                                      "//etc/passwd",
                                      "/C:/Windows",
                                      "/index.html/../../x",
                                      "relative/path",
                                      "",
                                      "/out",
                                      "/out/passwd",
                                      "/a\x01b",
                                      NULL};
    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(p, sizeof(p), "%s/index.html", dir);
    f = fopen(p, "w");
    fputs("<html></html>", f);
    fclose(f);
    snprintf(p, sizeof(p), "%s/sub", dir);
    mkdir(p, 0755);
    snprintf(p, sizeof(p), "%s/sub/a.js", dir);
    f = fopen(p, "w");
    fputs("x", f);
    fclose(f);
    /* a link leading out of the folder */
    snprintf(p, sizeof(p), "%s/out", dir);
    ck_assert_int_eq(symlink("/etc", p), 0);

    ck_assert_int_eq(api_static_resolve(dir, "/", out, sizeof(out)), 0);
    ck_assert_ptr_nonnull(strstr(out, "/index.html"));
    ck_assert_int_eq(api_static_resolve(dir, "/sub/a.js", out, sizeof(out)), 0);
    ck_assert_ptr_nonnull(strstr(out, "/sub/a.js"));
    ck_assert_int_eq(api_static_resolve(dir, "/sub/", out, sizeof(out)), AG_ENOTFOUND);
    ck_assert_int_eq(api_static_resolve(dir, "/missing.css", out, sizeof(out)), AG_ENOTFOUND);
    for (int i = 0; bad[i]; i++) {
        int rc = api_static_resolve(dir, bad[i], out, sizeof(out));
        ck_assert_msg(rc == AG_EFORBIDDEN, "%s: %d", bad[i], rc);
    }
    ck_assert_int_eq(api_static_resolve(NULL, "/", out, sizeof(out)), AG_EFORBIDDEN);
    snprintf(p, sizeof(p), "rm -rf '%s'", dir);
    ck_assert_int_eq(system(p), 0);
}
END_TEST

START_TEST(test_mime) {
    ck_assert_str_eq(api_mime_type("/x/index.html"), "text/html; charset=utf-8");
    ck_assert_str_eq(api_mime_type("a.js"), "text/javascript; charset=utf-8");
    ck_assert_str_eq(api_mime_type("a.css"), "text/css; charset=utf-8");
    ck_assert_str_eq(api_mime_type("a.svg"), "image/svg+xml");
    ck_assert_str_eq(api_mime_type("noext"), "application/octet-stream");
    ck_assert_str_eq(api_mime_type("dir.d/noext"), "application/octet-stream");
}
END_TEST

START_TEST(test_downsample) {
    double xs[1000], ys[1000];
    json_t *o;
    for (int i = 0; i < 1000; i++) {
        xs[i] = i + 1;
        ys[i] = (i % 10 == 0) ? -5.0 : (double)i;
    }
    /* few points: all kept, min = max = last */
    o = api_downsample(xs, ys, 5, 10);
    ck_assert_uint_eq(json_array_size(json_object_get(o, "x")), 5);
    ck_assert_double_eq(json_real_value(json_array_get(json_object_get(o, "max"), 4)), 4);
    json_decref(o);
    /* 1000 points to 12: first and last alone, 10 buckets of 99.8 points */
    o = api_downsample(xs, ys, 1000, 12);
    ck_assert_uint_eq(json_array_size(json_object_get(o, "x")), 12);
    ck_assert_double_eq(json_real_value(json_array_get(json_object_get(o, "x"), 0)), 1);
    ck_assert_double_eq(json_real_value(json_array_get(json_object_get(o, "last"), 0)), -5);
    ck_assert_double_eq(json_real_value(json_array_get(json_object_get(o, "x"), 11)), 1000);
    ck_assert_double_eq(json_real_value(json_array_get(json_object_get(o, "last"), 11)), 999);
    /* every inner bucket holds a -5 spike and its largest value */
    for (size_t b = 1; b < 11; b++) {
        double mn = json_real_value(json_array_get(json_object_get(o, "min"), b));
        double mx = json_real_value(json_array_get(json_object_get(o, "max"), b));
        double x = json_real_value(json_array_get(json_object_get(o, "x"), b));
        double last = json_real_value(json_array_get(json_object_get(o, "last"), b));
        ck_assert_double_eq(mn, -5);
        ck_assert(mx >= last);
        ck_assert_double_eq(last, ys[(size_t)x - 1]);
    }
    json_decref(o);
    /* a limit below 3 behaves as 3 */
    o = api_downsample(xs, ys, 1000, 1);
    ck_assert_uint_eq(json_array_size(json_object_get(o, "x")), 3);
    json_decref(o);
    o = api_downsample(xs, ys, 0, 10);
    ck_assert_uint_eq(json_array_size(json_object_get(o, "x")), 0);
    json_decref(o);
}
END_TEST

/* rolled-up buckets merge as min of mins, max of maxes and last of lasts */
/* the text of a series is byte for byte the dump of its object, for runs of every length and
 * every number of points, reals of every kind, and the non-finite values the object leaves out */
START_TEST(test_downsample_buckets_text) {
    static double xs[3000], mins[3000], maxs[3000], lasts[3000];
    static const size_t lens[] = {0, 1, 2, 3, 4, 5, 17, 999, 1000, 1001, 2047, 3000};
    static const size_t points[] = {1, 3, 4, 10, 500, 1000, 100000};
    unsigned seed = 3;
    for (size_t i = 0; i < 3000; i++) {
        double r = (double)rand_r(&seed) / RAND_MAX;
        xs[i] = (double)i * 0.5;
        mins[i] = r * 1e-7 - 0.5;
        maxs[i] = (i % 7 == 0) ? (double)(i * 1000) : r * 3e15;
        lasts[i] = (i % 11 == 0) ? -0.0 : r;
    }
    maxs[1500] = INFINITY;
    lasts[2500] = NAN;
    mins[999] = -INFINITY;
    for (size_t a = 0; a < sizeof(lens) / sizeof(lens[0]); a++) {
        for (size_t b = 0; b < sizeof(points) / sizeof(points[0]); b++) {
            json_t *o = api_downsample_buckets(xs, mins, maxs, lasts, lens[a], points[b]);
            char *want = json_dumps(o, JSON_COMPACT);
            AgBuf got;
            ck_assert_int_eq(ag_buf_init(&got, 0, 1u << 26), 0);
            ck_assert_int_eq(ag_buf_append_str(&got, "pre"), 0);
            ck_assert_int_eq(
                api_downsample_buckets_text(&got, xs, mins, maxs, lasts, lens[a], points[b]), 0);
            ck_assert_int_eq(ag_buf_append_str(&got, "}"), 0);
            ck_assert_msg(!strncmp(got.data, "pre", 3) && !strcmp(got.data + 3, want),
                          "%zu points of %zu rows differ", points[b], lens[a]);
            ag_buf_free(&got);
            free(want);
            json_decref(o);
        }
    }
}
END_TEST

START_TEST(test_downsample_buckets) {
    double xs[6] = {1, 2, 3, 4, 5, 6}, mins[6] = {0, -1, 2, -7, 3, 1};
    double maxs[6] = {0, 9, 4, 1, 12, 1}, lasts[6] = {0, 5, 3, 0, 4, 1};
    json_t *o = api_downsample_buckets(xs, mins, maxs, lasts, 6, 4);
    /* first and last alone; 2-3 and 4-5 merged */
    ck_assert_uint_eq(json_array_size(json_object_get(o, "x")), 4);
    ck_assert_double_eq(json_real_value(json_array_get(json_object_get(o, "x"), 1)), 3);
    ck_assert_double_eq(json_real_value(json_array_get(json_object_get(o, "min"), 1)), -1);
    ck_assert_double_eq(json_real_value(json_array_get(json_object_get(o, "max"), 1)), 9);
    ck_assert_double_eq(json_real_value(json_array_get(json_object_get(o, "last"), 1)), 3);
    ck_assert_double_eq(json_real_value(json_array_get(json_object_get(o, "min"), 2)), -7);
    ck_assert_double_eq(json_real_value(json_array_get(json_object_get(o, "max"), 2)), 12);
    ck_assert_double_eq(json_real_value(json_array_get(json_object_get(o, "last"), 2)), 4);
    ck_assert_double_eq(json_real_value(json_array_get(json_object_get(o, "last"), 3)), 1);
    json_decref(o);
}
END_TEST

START_TEST(test_problem) {
    char *body = api_problem_body(422, AG_ESPEC, "ppo.lr: must be > 0", "ppo.lr");
    json_t *o = json_loads(body, 0, NULL);
    ck_assert_ptr_nonnull(o);
    ck_assert_str_eq(json_string_value(json_object_get(o, "type")), "urn:angora:problem:spec");
    ck_assert_str_eq(json_string_value(json_object_get(o, "title")), "Unprocessable Content");
    ck_assert_int_eq(json_integer_value(json_object_get(o, "status")), 422);
    ck_assert_str_eq(json_string_value(json_object_get(o, "code")), "AG_ESPEC");
    ck_assert_str_eq(json_string_value(json_object_get(o, "field")), "ppo.lr");
    ck_assert_str_eq(json_string_value(json_object_get(o, "detail")), "ppo.lr: must be > 0");
    json_decref(o);
    free(body);
    body = api_problem_body(404, AG_ENOTFOUND, NULL, NULL);
    o = json_loads(body, 0, NULL);
    ck_assert(json_is_null(json_object_get(o, "field")));
    ck_assert_str_eq(json_string_value(json_object_get(o, "detail")), "not found");
    json_decref(o);
    free(body);
    ck_assert_int_eq(api_status_of(AG_EAUTH), 401);
    ck_assert_int_eq(api_status_of(AG_EFORBIDDEN), 403);
    ck_assert_int_eq(api_status_of(AG_ENOTFOUND), 404);
    ck_assert_int_eq(api_status_of(AG_ESTATE), 409);
    ck_assert_int_eq(api_status_of(AG_ETOOBIG), 413);
    ck_assert_int_eq(api_status_of(AG_ESPEC), 422);
    ck_assert_int_eq(api_status_of(AG_EJSON), 400);
    ck_assert_int_eq(api_status_of(AG_EDB), 500);
}
END_TEST

int main(void) {
    Suite *s = suite_create("api_util");
    TCase *tc = tcase_create("core");
    SRunner *sr;
    int failed;
    tcase_add_test(tc, test_sha256);
    tcase_add_test(tc, test_token_generate);
    tcase_add_test(tc, test_token_bootstrap);
    tcase_add_test(tc, test_static_resolve);
    tcase_add_test(tc, test_mime);
    tcase_add_test(tc, test_downsample);
    tcase_add_test(tc, test_downsample_buckets);
    tcase_add_test(tc, test_downsample_buckets_text);
    tcase_add_test(tc, test_problem);
    suite_add_tcase(s, tc);
    sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
