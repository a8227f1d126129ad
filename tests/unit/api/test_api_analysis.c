/* Tests of server/api/api_analysis.c through api_handle(), without any network: an analysis job
 * queued with its complete spec, every refusal of bad input with its JSON path (checkpoint,
 * episodes, folds, types, names, unknown keys, a job that is not a training run), token scopes,
 * a run's analyses, the result files by name (path-safe names, content types, downloads), and
 * the routes in the OpenAPI document. */
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
static char runs[] = "/tmp/angora-api-an-XXXXXX";
static char err[512];
static int64_t run_id;

typedef struct Res {
    int status;
    json_t *json;
    char header[256];
    char type[128];
    char file[1024]; /* the file served, "" for a body */
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
    snprintf(r.type, sizeof(r.type), "%s", resp.content_type ? resp.content_type : "");
    snprintf(r.file, sizeof(r.file), "%s", resp.file_path ? resp.file_path : "");
    api_response_free(&resp);
    return r;
}

static const char *field_of(const Res *r) {
    return json_string_value(json_object_get(r->json, "field"));
}

static const char *detail_of(const Res *r) {
    return json_string_value(json_object_get(r->json, "detail"));
}

/* a file (and its folders) with some text */
static void file_put(const char *dir, const char *name, const char *text) {
    char path[1200], folder[1200];
    FILE *f;
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    snprintf(folder, sizeof(folder), "%s", path);
    *strrchr(folder, '/') = '\0';
    ck_assert_int_eq(ag_fs_mkdir_p(folder, 0700, err, sizeof(err)), 0);
    f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    fclose(f);
}

static void add_token(char *out, const char *scope) {
    char hash[65];
    ck_assert_int_eq(api_token_generate(out, err, sizeof(err)), 0);
    ck_assert_int_eq(api_sha256_hex(out, API_TOKEN_LEN, hash), 0);
    ck_assert_int_eq(store_token_add(store, hash, scope, scope, NULL, err, sizeof(err)), 0);
}

static void setup(void) {
    char mig[1024];
    ApiConfig cfg;
    StoreExpNew e = {.name = "run", .task = "CartPole", .spec_json = "{\"task\":\"CartPole\"}"};
    StoreRun r;
    ck_assert_int_eq(ag_fs_data_path("migrations", mig, sizeof(mig)), 0);
    ck_assert_int_eq(store_open(":memory:", &store, err, sizeof(err)), 0);
    ck_assert_int_eq(store_migrate(store, mig, 0, NULL, err, sizeof(err)), 0);
    snprintf(runs, sizeof(runs), "/tmp/angora-api-an-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(runs));
    memset(&cfg, 0, sizeof(cfg));
    cfg.runs_root = runs;
    cfg.max_cores = 4;
    cfg.trainer = "";
    ck_assert_int_eq(api_create(&api, &cfg, store, err, sizeof(err)), 0);
    add_token(token, "full");
    add_token(read_token, "read");
    /* a training run with three checkpoints */
    ck_assert_int_eq(store_exp_insert(store, &e, runs, &run_id, err, sizeof(err)), 0);
    ck_assert_int_eq(store_run_get(store, run_id, &r, err, sizeof(err)), 0);
    file_put(r.run_dir, "checkpoints/last.ckpt", "x");
    file_put(r.run_dir, "checkpoints/best.ckpt", "x");
    file_put(r.run_dir, "checkpoints/iter-10.ckpt", "x");
}

static void teardown(void) {
    char cmd[128];
    api_destroy(api);
    store_close(store);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", runs);
    ck_assert_int_eq(system(cmd), 0);
}

static Res submit(const char *body) {
    char path[96];
    snprintf(path, sizeof(path), "/api/v1/experiments/%lld/analyses", (long long)run_id);
    return call("POST", path, token, body);
}

START_TEST(test_submit_stores_the_complete_spec) {
    Res r = submit(NULL);
    json_t *spec;
    char loc[96];
    int64_t id;
    ck_assert_int_eq(r.status, 201);
    id = json_integer_value(json_object_get(r.json, "id"));
    snprintf(loc, sizeof(loc), "Location: /api/v1/experiments/%lld", (long long)id);
    ck_assert_str_eq(r.header, loc);
    ck_assert_str_eq(json_string_value(json_object_get(r.json, "kind")), "analysis");
    ck_assert_str_eq(json_string_value(json_object_get(r.json, "state")), "queued");
    ck_assert_int_eq(json_integer_value(json_object_get(r.json, "parent_id")), run_id);
    spec = json_object_get(r.json, "spec");
    /* defaults: the best checkpoint when there is one, 20 episodes, 5 folds, actions sampled
     * (as angora-train records without --deterministic) */
    ck_assert_str_eq(json_string_value(json_object_get(spec, "checkpoint")), "best.ckpt");
    ck_assert_int_eq(json_integer_value(json_object_get(spec, "episodes")), 20);
    ck_assert_int_eq(json_integer_value(json_object_get(spec, "folds")), 5);
    ck_assert(json_is_false(json_object_get(spec, "deterministic")));
    ck_assert_int_eq(json_array_size(json_object_get(spec, "variables")), 0);
    ck_assert_str_eq(json_string_value(json_object_get(spec, "task")), "CartPole");
    json_decref(r.json);

    r = submit("{\"checkpoint\":\"last\",\"episodes\":4,\"deterministic\":true,"
               "\"variables\":[\"obs.goal\",\"action\"],\"layers\":[\"policy.core.h\"]}");
    ck_assert_int_eq(r.status, 201);
    spec = json_object_get(r.json, "spec");
    ck_assert_str_eq(json_string_value(json_object_get(spec, "checkpoint")), "last.ckpt");
    /* fewer episodes than the default folds: as many folds as episodes */
    ck_assert_int_eq(json_integer_value(json_object_get(spec, "folds")), 4);
    ck_assert(json_is_true(json_object_get(spec, "deterministic")));
    ck_assert_str_eq(json_string_value(json_array_get(json_object_get(spec, "variables"), 1)),
                     "action");
    ck_assert_str_eq(json_string_value(json_array_get(json_object_get(spec, "layers"), 0)),
                     "policy.core.h");
    ck_assert_str_eq(json_string_value(json_object_get(r.json, "name")),
                     "analysis of 1 (last.ckpt)");
    json_decref(r.json);
    r = submit("{\"checkpoint\":\"iter-10.ckpt\",\"episodes\":12,\"folds\":3}");
    ck_assert_int_eq(r.status, 201);
    json_decref(r.json);

    /* the run's analyses, newest first, for a read-only token too */
    {
        char path[96];
        snprintf(path, sizeof(path), "/api/v1/experiments/%lld/analyses", (long long)run_id);
        r = call("GET", path, read_token, NULL);
        ck_assert_int_eq(r.status, 200);
        ck_assert_int_eq(json_array_size(json_object_get(r.json, "items")), 3);
        spec = json_object_get(json_array_get(json_object_get(r.json, "items"), 0), "spec");
        ck_assert_str_eq(json_string_value(json_object_get(spec, "checkpoint")), "iter-10.ckpt");
        json_decref(r.json);
        /* submitting needs a full token */
        r = call("POST", path, read_token, "{}");
        ck_assert_int_eq(r.status, 403);
        json_decref(r.json);
    }
    r = call("GET", "/api/v1/experiments/99/analyses", token, NULL);
    ck_assert_int_eq(r.status, 404);
    json_decref(r.json);
}
END_TEST

/* each bad request: its status, the JSON path named, a word of the message */
static void refused(const char *body, int status, const char *field, const char *word) {
    Res r = submit(body);
    ck_assert_msg(r.status == status, "%s: %d", body, r.status);
    if (field) {
        ck_assert_msg(field_of(&r) && !strcmp(field_of(&r), field), "%s: field %s", body,
                      field_of(&r) ? field_of(&r) : "null");
    }
    ck_assert_msg(strstr(detail_of(&r), word), "%s: %s", body, detail_of(&r));
    json_decref(r.json);
}

START_TEST(test_bad_input_refused_with_its_path) {
    Res r;
    char path[96];
    int64_t job;
    refused("{\"checkpoint\":\"nope.ckpt\"}", 422, "checkpoint", "it has: ");
    refused("{\"checkpoint\":\"../secret.ckpt\"}", 422, "checkpoint", "best, last");
    refused("{\"checkpoint\":\"last.txt\"}", 422, "checkpoint", "best, last");
    refused("{\"checkpoint\":3}", 422, "checkpoint", "string");
    refused("{\"episodes\":0}", 422, "episodes", "between 3 and 1000");
    refused("{\"episodes\":1001}", 422, "episodes", "between 3 and 1000");
    refused("{\"episodes\":\"5\"}", 422, "episodes", "integer");
    refused("{\"episodes\":4.5}", 422, "episodes", "integer");
    refused("{\"episodes\":4,\"folds\":5}", 422, "folds", "at least 5 episodes");
    refused("{\"folds\":2}", 422, "folds", "between 3 and 20");
    refused("{\"deterministic\":\"yes\"}", 422, "deterministic", "true or false");
    refused("{\"variables\":\"obs.goal\"}", 422, "variables", "array of names");
    refused("{\"variables\":[\"obs.goal\",3]}", 422, "variables[1]", "a string");
    refused("{\"layers\":[\"a\",\"b\",\"a\"]}", 422, "layers[2]", "named twice");
    refused("{\"layers\":[\"-x\"]}", 422, "layers[0]", "not starting with -");
    refused("{\"layers\":[\"policy core\"]}", 422, "layers[0]", "letters, digits");
    refused("{\"layers\":[\"\"]}", 422, "layers[0]", "letters, digits");
    refused("{\"speed\":1}", 422, "speed", "speed");
    refused("[1]", 422, NULL, "object");
    refused("{\"episodes\":", 400, NULL, "");
    /* an experiment that is not a training run has no checkpoints to analyse */
    r = submit("{}");
    job = json_integer_value(json_object_get(r.json, "id"));
    json_decref(r.json);
    snprintf(path, sizeof(path), "/api/v1/experiments/%lld/analyses", (long long)job);
    r = call("POST", path, token, "{}");
    ck_assert_int_eq(r.status, 409);
    ck_assert_str_eq(field_of(&r), "id");
    ck_assert_ptr_nonnull(strstr(detail_of(&r), "not a training run"));
    json_decref(r.json);
    r = call("POST", "/api/v1/experiments/99/analyses", token, "{}");
    ck_assert_int_eq(r.status, 404);
    json_decref(r.json);
    /* nothing refused became a job */
    snprintf(path, sizeof(path), "/api/v1/experiments/%lld/analyses", (long long)run_id);
    r = call("GET", path, token, NULL);
    ck_assert_int_eq(json_array_size(json_object_get(r.json, "items")), 1);
    json_decref(r.json);
}
END_TEST

START_TEST(test_result_files) {
    Res r = submit("{}");
    int64_t job = json_integer_value(json_object_get(r.json, "id"));
    StoreRun jr;
    char path[160], want[1200];
    json_decref(r.json);
    ck_assert_int_eq(store_run_get(store, job, &jr, err, sizeof(err)), 0);
    /* nothing before the job has run */
    snprintf(path, sizeof(path), "/api/v1/experiments/%lld/analysis", (long long)job);
    r = call("GET", path, read_token, NULL);
    ck_assert_int_eq(r.status, 404);
    ck_assert_ptr_nonnull(strstr(detail_of(&r), "analysis.json"));
    json_decref(r.json);
    file_put(jr.run_dir, "activations.h5", "h5");
    file_put(jr.run_dir, "analysis/analysis.json", "{}");
    file_put(jr.run_dir, "analysis/decoding.csv", "layer,variable\n");
    file_put(jr.run_dir, "analysis/rdm_policy.core.h.png", "png");
    file_put(jr.run_dir, "analysis/notes.txt", "no");

    r = call("GET", path, read_token, NULL);
    ck_assert_int_eq(r.status, 200);
    ck_assert_str_eq(r.type, "application/json");
    snprintf(want, sizeof(want), "%s/analysis/analysis.json", jr.run_dir);
    ck_assert_str_eq(r.file, want);
    snprintf(path, sizeof(path), "/api/v1/experiments/%lld/analysis/tables/decoding.csv",
             (long long)job);
    r = call("GET", path, read_token, NULL);
    ck_assert_int_eq(r.status, 200);
    ck_assert_str_eq(r.type, "text/csv; charset=utf-8");
    ck_assert_ptr_nonnull(strstr(r.header, "attachment; filename=\"experiment-"));
    ck_assert_ptr_nonnull(strstr(r.header, "-decoding.csv\""));
    snprintf(path, sizeof(path), "/api/v1/experiments/%lld/analysis/figures/rdm_policy.core.h.png",
             (long long)job);
    r = call("GET", path, read_token, NULL);
    ck_assert_int_eq(r.status, 200);
    ck_assert_str_eq(r.type, "image/png");
    snprintf(path, sizeof(path), "/api/v1/experiments/%lld/analysis/recording", (long long)job);
    r = call("GET", path, read_token, NULL);
    ck_assert_int_eq(r.status, 200);
    ck_assert_str_eq(r.type, "application/x-hdf5");
    snprintf(want, sizeof(want), "%s/activations.h5", jr.run_dir);
    ck_assert_str_eq(r.file, want);

    /* names: the right extension, no leading dot, no other characters; missing ones 404 */
    {
        static const char *const bad[] = {"notes.txt", ".hidden.csv", "a%20b.csv", "decoding.png",
                                          NULL};
        for (int i = 0; bad[i]; i++) {
            snprintf(path, sizeof(path), "/api/v1/experiments/%lld/analysis/tables/%s",
                     (long long)job, bad[i]);
            r = call("GET", path, read_token, NULL);
            ck_assert_msg(r.status == 400, "%s: %d", bad[i], r.status);
            ck_assert_str_eq(field_of(&r), "name");
            json_decref(r.json);
        }
    }
    snprintf(path, sizeof(path), "/api/v1/experiments/%lld/analysis/figures/decoding.csv",
             (long long)job);
    r = call("GET", path, read_token, NULL);
    ck_assert_int_eq(r.status, 400);
    json_decref(r.json);
    snprintf(path, sizeof(path), "/api/v1/experiments/%lld/analysis/figures/pca.png",
             (long long)job);
    r = call("GET", path, read_token, NULL);
    ck_assert_int_eq(r.status, 404);
    ck_assert_str_eq(field_of(&r), "name");
    json_decref(r.json);
    /* a segment that is not one name is not a route */
    snprintf(path, sizeof(path), "/api/v1/experiments/%lld/analysis/tables/../activations.h5",
             (long long)job);
    r = call("GET", path, read_token, NULL);
    ck_assert_int_eq(r.status, 404);
    json_decref(r.json);
    /* the training run has no result of its own: pointed at its analyses */
    snprintf(path, sizeof(path), "/api/v1/experiments/%lld/analysis", (long long)run_id);
    r = call("GET", path, read_token, NULL);
    ck_assert_int_eq(r.status, 404);
    ck_assert_str_eq(field_of(&r), "id");
    ck_assert_ptr_nonnull(strstr(detail_of(&r), "/analyses"));
    json_decref(r.json);
}
END_TEST

START_TEST(test_openapi_lists_the_routes) {
    Res r = call("GET", "/api/v1/openapi.json", read_token, NULL);
    json_t *paths, *post;
    static const char *const routes[] = {"/api/v1/experiments/{id}/analyses",
                                         "/api/v1/experiments/{id}/analysis",
                                         "/api/v1/experiments/{id}/analysis/tables/{name}",
                                         "/api/v1/experiments/{id}/analysis/figures/{name}",
                                         "/api/v1/experiments/{id}/analysis/recording",
                                         NULL};
    ck_assert_int_eq(r.status, 200);
    paths = json_object_get(r.json, "paths");
    for (int i = 0; routes[i]; i++) {
        ck_assert_msg(json_object_get(json_object_get(paths, routes[i]), "get") != NULL,
                      "%s missing", routes[i]);
    }
    post = json_object_get(json_object_get(paths, "/api/v1/experiments/{id}/analyses"), "post");
    ck_assert_ptr_nonnull(post);
    ck_assert_str_eq(json_string_value(json_object_get(post, "x-scope")), "full");
    {
        json_t *ref = json_object_get(
            json_object_get(json_object_get(json_object_get(post, "requestBody"), "content"),
                            "application/json"),
            "schema");
        json_t *schema = json_object_get(
            json_object_get(json_object_get(r.json, "components"), "schemas"), "AnalysisBody");
        ck_assert_str_eq(json_string_value(json_object_get(ref, "$ref")),
                         "#/components/schemas/AnalysisBody");
        ck_assert(json_is_false(json_object_get(schema, "additionalProperties")));
        ck_assert_int_eq(
            json_integer_value(json_object_get(
                json_object_get(json_object_get(schema, "properties"), "episodes"), "maximum")),
            1000);
    }
    json_decref(r.json);
}
END_TEST

int main(void) {
    Suite *s = suite_create("api_analysis");
    TCase *tc = tcase_create("core");
    SRunner *sr;
    int failed;
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_submit_stores_the_complete_spec);
    tcase_add_test(tc, test_bad_input_refused_with_its_path);
    tcase_add_test(tc, test_result_files);
    tcase_add_test(tc, test_openapi_lists_the_routes);
    suite_add_tcase(s, tc);
    sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
