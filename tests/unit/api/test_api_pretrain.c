/* Tests of server/api/api_pretrain.c through api_handle(), without any network or trainer: a
 * pretrain job queued with its complete spec (bare, or wrapped with a name and a priority) and
 * the path of its encoder checkpoint in every answer about it; the dataset checks (absolute,
 * there, a regular file, an HDF5 signature at 0 or after a user block); refusals with their JSON
 * path and nothing stored; a read-only token refused; the route in the OpenAPI document. */
#include "api.h"

#include "ag_error.h"
#include "ag_fs.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static Store *store;
static Api *api;
static char token[API_TOKEN_LEN + 1], read_token[API_TOKEN_LEN + 1];
static char runs[] = "/tmp/angora-api-pre-XXXXXX";
static char data[600], text_file[600], blocked[600];
static char err[512];

typedef struct Res {
    int status;
    json_t *json;
    char header[256];
} Res;

static Res call(const char *method, const char *path, const char *tok, const char *body) {
    char auth[128];
    ApiRequest req;
    ApiResponse resp;
    Res r;
    memset(&req, 0, sizeof(req));
    memset(&r, 0, sizeof(r));
    req.method = method;
    req.path = path;
    if (tok) {
        snprintf(auth, sizeof(auth), "Bearer %s", tok);
        req.authorization = auth;
    }
    req.body = body;
    req.body_len = body ? strlen(body) : 0;
    api_handle(api, &req, &resp);
    r.status = resp.status;
    r.json = resp.body ? json_loadb(resp.body, resp.body_len, 0, NULL) : NULL;
    snprintf(r.header, sizeof(r.header), "%s", resp.header);
    api_response_free(&resp);
    return r;
}

static void bytes_put(const char *path, const void *bytes, size_t n) {
    FILE *f = fopen(path, "wb");
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(fwrite(bytes, 1, n, f), n);
    fclose(f);
}

static void add_token(char *out, const char *scope) {
    char hash[65];
    ck_assert_int_eq(api_token_generate(out, err, sizeof(err)), 0);
    ck_assert_int_eq(api_sha256_hex(out, API_TOKEN_LEN, hash), 0);
    ck_assert_int_eq(store_token_add(store, hash, scope, scope, NULL, err, sizeof(err)), 0);
}

static void setup(void) {
    static const unsigned char sig[16] = {0x89, 'H', 'D', 'F', '\r', '\n', 0x1a, '\n'};
    unsigned char block[528] = {0};
    char mig[1024];
    ApiConfig cfg;
    ck_assert_int_eq(ag_fs_data_path("migrations", mig, sizeof(mig)), 0);
    ck_assert_int_eq(store_open(":memory:", &store, err, sizeof(err)), 0);
    ck_assert_int_eq(store_migrate(store, mig, 0, NULL, err, sizeof(err)), 0);
    snprintf(runs, sizeof(runs), "/tmp/angora-api-pre-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(runs));
    memset(&cfg, 0, sizeof(cfg));
    cfg.runs_root = runs;
    cfg.max_cores = 4;
    cfg.trainer = "";
    ck_assert_int_eq(api_create(&api, &cfg, store, err, sizeof(err)), 0);
    add_token(token, "full");
    add_token(read_token, "read");
    /* an HDF5 signature, one after a user block of 512 bytes, and a file of text */
    snprintf(data, sizeof data, "%s/d.h5", runs);
    bytes_put(data, sig, sizeof sig);
    memcpy(block + 512, sig, 8);
    snprintf(blocked, sizeof blocked, "%s/ub.h5", runs);
    bytes_put(blocked, block, sizeof block);
    snprintf(text_file, sizeof text_file, "%s/d.txt", runs);
    bytes_put(text_file, "not an HDF5 file at all", 23);
}

static void teardown(void) {
    char cmd[128];
    api_destroy(api);
    store_close(store);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", runs);
    ck_assert_int_eq(system(cmd), 0);
}

static Res submit(const char *fmt, const char *file) {
    char body[2048];
    snprintf(body, sizeof body, fmt, file);
    return call("POST", "/api/v1/pretrain", token, body);
}

START_TEST(test_queued_with_complete_spec) {
    Res r = submit("{\"data\": \"%s\", \"epochs\": 4}", data);
    const json_t *spec;
    char want[700];
    int64_t id;
    ck_assert_msg(r.status == 201, "%d", r.status);
    id = json_integer_value(json_object_get(r.json, "id"));
    ck_assert_ptr_nonnull(strstr(r.header, "/api/v1/experiments/"));
    ck_assert_str_eq(json_string_value(json_object_get(r.json, "kind")), "pretrain");
    ck_assert_str_eq(json_string_value(json_object_get(r.json, "state")), "queued");
    ck_assert_str_eq(json_string_value(json_object_get(r.json, "name")), "pretrain on d.h5");
    spec = json_object_get(r.json, "spec");
    ck_assert_str_eq(json_string_value(json_object_get(spec, "data")), data);
    ck_assert_int_eq(json_integer_value(json_object_get(spec, "epochs")), 4);
    ck_assert_int_eq(json_integer_value(json_object_get(spec, "batch_size")), 32);
    ck_assert(json_is_null(json_object_get(spec, "model")));
    ck_assert_str_eq(json_string_value(json_object_get(spec, "lr_schedule")), "constant");
    snprintf(want, sizeof want, "%s/%lld/checkpoints/best.ckpt", runs, (long long)id);
    ck_assert_str_eq(json_string_value(json_object_get(r.json, "encoder_checkpoint")), want);
    json_decref(r.json);

    /* every answer about it carries the encoder's path; a training run's does not */
    {
        char path[64];
        snprintf(path, sizeof path, "/api/v1/experiments/%lld", (long long)id);
        r = call("GET", path, token, NULL);
        ck_assert_int_eq(r.status, 200);
        ck_assert_str_eq(json_string_value(json_object_get(r.json, "encoder_checkpoint")), want);
        json_decref(r.json);
    }

    /* wrapped: a name and a priority; a user block before the signature is fine */
    r = submit(
        "{\"spec\": {\"data\": \"%s\", \"model\": {\"preset\": \"pathways\", \"core\": null}},"
        " \"name\": \"enc 1\", \"priority\": -5}",
        blocked);
    ck_assert_msg(r.status == 201, "%d", r.status);
    ck_assert_str_eq(json_string_value(json_object_get(r.json, "name")), "enc 1");
    ck_assert_int_eq(json_integer_value(json_object_get(r.json, "priority")), -5);
    ck_assert(json_is_object(json_object_get(json_object_get(r.json, "spec"), "model")));
    json_decref(r.json);
}
END_TEST

typedef struct Bad {
    const char *fmt; /* %s: a file */
    const char *file;
    int status;
    const char *field; /* NULL: none */
} Bad;

START_TEST(test_refusals_store_nothing) {
    const Bad cases[] = {
        {"{\"data\": \"%s\", \"epochs\": -1}", data, 422, "epochs"},
        {"{\"data\": \"%s\", \"rotation_weight\": \"x\"}", data, 422, "rotation_weight"},
        {"{\"data\": \"%s\", \"extra\": 1}", data, 422, "extra"},
        {"{\"data\": \"%s\", \"model\": [1]}", data, 422, "model"},
        {"{\"data\": \"%s\"}", "relative/d.h5", 422, "data"},
        {"{\"data\": \"%s\"}", text_file, 422, "data"},
        {"{\"data\": \"%s\"}", runs, 422, "data"}, /* a folder */
        {"{\"spec\": {\"data\": \"%s/none.h5\"}}", runs, 422, "spec.data"},
        {"{\"spec\": {\"data\": \"%s\", \"holdout\": 0}}", data, 422, "spec.holdout"},
        {"{\"data\": \"%s\", \"lr_schedule\": \"step\"}", data, 422, "lr_schedule"},
        {"{\"spec\": {\"data\": \"%s\", \"rotation\": \"matrix\"}}", data, 422, "spec.rotation"},
        {"{\"spec\": {\"data\": \"%s\", \"lr_schedule\": \"cosine\", \"lr_min\": 0.5}}", data, 422,
         "spec.lr_min"},
        {"{\"spec\": {\"data\": \"%s\"}, \"name\": \"\"}", data, 422, "name"},
        {"{\"spec\": {\"data\": \"%s\"}, \"priority\": 1.5}", data, 422, "priority"},
        {"{\"spec\": 3, \"x\": \"%s\"}", data, 422, "x"},
        {"{\"spec\": 3}%s", "", 422, "spec"},
        {"\"%s\"", data, 400, NULL}, /* not an object or array: not a document */
        {"{%s", "", 400, NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        Res r = submit(cases[i].fmt, cases[i].file);
        const char *field = json_string_value(json_object_get(r.json, "field"));
        ck_assert_msg(r.status == cases[i].status, "case %zu: %d", i, r.status);
        if (cases[i].field) {
            ck_assert_msg(field && !strcmp(field, cases[i].field), "case %zu: field %s, want %s", i,
                          field ? field : "null", cases[i].field);
        } else {
            ck_assert_msg(!field, "case %zu: field %s", i, field);
        }
        json_decref(r.json);
    }
    /* a read-only token may not queue */
    {
        char body[700];
        Res r;
        snprintf(body, sizeof body, "{\"data\": \"%s\"}", data);
        r = call("POST", "/api/v1/pretrain", read_token, body);
        ck_assert_int_eq(r.status, 403);
        json_decref(r.json);
    }
    {
        Res r = call("GET", "/api/v1/experiments", token, NULL);
        ck_assert_int_eq(r.status, 200);
        ck_assert_uint_eq(json_array_size(json_object_get(r.json, "items")), 0);
        json_decref(r.json);
    }
}
END_TEST

START_TEST(test_openapi_documents_route) {
    Res r = call("GET", "/api/v1/openapi.json", NULL, NULL);
    const json_t *op;
    ck_assert_int_eq(r.status, 200);
    op = json_object_get(json_object_get(json_object_get(r.json, "paths"), "/api/v1/pretrain"),
                         "post");
    ck_assert_ptr_nonnull(op);
    ck_assert_str_eq(json_string_value(json_object_get(op, "operationId")), "queuePretrain");
    ck_assert_ptr_nonnull(json_object_get(
        json_object_get(json_object_get(json_object_get(r.json, "components"), "schemas"),
                        "Experiment"),
        "properties"));
    json_decref(r.json);
}
END_TEST

int main(void) {
    Suite *s = suite_create("api_pretrain");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_queued_with_complete_spec);
    tcase_add_test(tc, test_refusals_store_nothing);
    tcase_add_test(tc, test_openapi_documents_route);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
