/* Tests of server/api/api_routes.c through api_handle(), without any network: authentication and
 * scopes, routing (404, 405 with Allow, bad ids), submission with validation errors naming the
 * JSON path, the experiment actions, metrics endpoints, tokens, the OpenAPI document covering
 * every route, and Prometheus text. */
#include "api.h"
#include "api_int.h"

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
static char runs[] = "/tmp/angora-runs-XXXXXX";
static char err[512];

static void add_token(char *out, const char *scope) {
    char hash[65];
    ck_assert_int_eq(api_token_generate(out, err, sizeof(err)), 0);
    ck_assert_int_eq(api_sha256_hex(out, API_TOKEN_LEN, hash), 0);
    ck_assert_int_eq(store_token_add(store, hash, scope, scope, NULL, err, sizeof(err)), 0);
}

static void setup(void) {
    char mig[1024];
    ApiConfig cfg;
    ck_assert_int_eq(ag_fs_data_path("migrations", mig, sizeof(mig)), 0);
    ck_assert_int_eq(store_open(":memory:", &store, err, sizeof(err)), 0);
    ck_assert_int_eq(store_migrate(store, mig, 0, NULL, err, sizeof(err)), 0);
    snprintf(runs, sizeof(runs), "/tmp/angora-runs-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(runs));
    memset(&cfg, 0, sizeof(cfg));
    cfg.runs_root = runs;
    cfg.max_cores = 4;
    cfg.trainer = ""; /* no catalogue: task names are not checked */
    ck_assert_int_eq(api_create(&api, &cfg, store, err, sizeof(err)), 0);
    add_token(token, "full");
    add_token(read_token, "read");
}

static void teardown(void) {
    char cmd[128];
    api_destroy(api);
    store_close(store);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", runs);
    ck_assert_int_eq(system(cmd), 0);
}

/* query string "a=1&b=2" for the argument lookup */
static const char *query_lookup(void *ctx, const char *name) {
    /* a ring, so that the values of several arguments stay valid together as with libmicrohttpd */
    static char ring[8][1024];
    static unsigned next;
    char *value = ring[next++ % 8];
    const char *q = ctx;
    size_t n = strlen(name);
    while (q && *q) {
        const char *amp = strchr(q, '&');
        size_t len = amp ? (size_t)(amp - q) : strlen(q);
        if (len > n && !strncmp(q, name, n) && q[n] == '=') {
            snprintf(value, sizeof(ring[0]), "%.*s", (int)(len - n - 1), q + n + 1);
            return value;
        }
        q = amp ? amp + 1 : NULL;
    }
    return NULL;
}

typedef struct Res {
    int status;
    json_t *json;
    char header[256];
    char *body;
} Res;

static Res call(const char *method, const char *path_query, const char *tok, const char *body) {
    char path[512], auth[128];
    const char *q;
    ApiRequest req;
    ApiResponse resp;
    Res r;
    memset(&req, 0, sizeof(req));
    memset(&r, 0, sizeof(r));
    snprintf(path, sizeof(path), "%s", path_query);
    q = strchr(path_query, '?');
    if (q) {
        path[q - path_query] = '\0';
    }
    req.method = method;
    req.path = path;
    if (tok) {
        snprintf(auth, sizeof(auth), "Bearer %s", tok);
        req.authorization = auth;
    }
    req.body = body;
    req.body_len = body ? strlen(body) : 0;
    req.arg = query_lookup;
    req.arg_ctx = q ? (void *)(q + 1) : NULL;
    api_handle(api, &req, &resp);
    r.status = resp.status;
    r.json = resp.body ? json_loadb(resp.body, resp.body_len, 0, NULL) : NULL;
    snprintf(r.header, sizeof(r.header), "%s", resp.header);
    r.body = resp.body ? strdup(resp.body) : NULL;
    api_response_free(&resp);
    return r;
}

static void res_free(Res *r) {
    json_decref(r->json);
    free(r->body);
}

static const char *code_of(const Res *r) {
    return json_string_value(json_object_get(r->json, "code"));
}

START_TEST(test_auth_and_routing) {
    Res r = call("GET", "/api/v1/health", NULL, NULL);
    ck_assert_int_eq(r.status, 200);
    res_free(&r);
    r = call("GET", "/api/v1/experiments", NULL, NULL);
    ck_assert_int_eq(r.status, 401);
    ck_assert_str_eq(code_of(&r), "AG_EAUTH");
    ck_assert_str_eq(r.header, "WWW-Authenticate: Bearer realm=\"angora\"");
    res_free(&r);
    r = call("GET", "/api/v1/experiments", "ang_nope", NULL);
    ck_assert_int_eq(r.status, 401);
    res_free(&r);
    r = call("GET", "/api/v1/experiments", read_token, NULL);
    ck_assert_int_eq(r.status, 200);
    ck_assert(json_is_array(json_object_get(r.json, "items")));
    ck_assert(json_is_null(json_object_get(r.json, "next_cursor")));
    res_free(&r);
    r = call("GET", "/api/v1/experiments/", token, NULL);
    ck_assert_int_eq(r.status, 200);
    res_free(&r);
    r = call("POST", "/api/v1/experiments", read_token, "{\"task\":\"CartPole\"}");
    ck_assert_int_eq(r.status, 403);
    ck_assert_str_eq(code_of(&r), "AG_EFORBIDDEN");
    res_free(&r);
    r = call("GET", "/api/v1/nothing", token, NULL);
    ck_assert_int_eq(r.status, 404);
    res_free(&r);
    r = call("PUT", "/api/v1/experiments/3", token, NULL);
    ck_assert_int_eq(r.status, 405);
    ck_assert_str_eq(r.header, "Allow: GET, DELETE");
    res_free(&r);
    r = call("GET", "/api/v1/experiments/-3", token, NULL);
    ck_assert_int_eq(r.status, 400);
    ck_assert_str_eq(json_string_value(json_object_get(r.json, "field")), "id");
    res_free(&r);
    r = call("GET", "/api/v1/experiments/12abc", token, NULL);
    ck_assert_int_eq(r.status, 400);
    res_free(&r);
    /* no dashboard configured */
    r = call("GET", "/index.html", NULL, NULL);
    ck_assert_int_eq(r.status, 404);
    res_free(&r);
}
END_TEST

/* the executor of a submission */
START_TEST(test_submit_executor) {
    Res r;
    /* checked with its path; a Slurm run may ask for more ranks than this machine
     * has (Slurm finds them), and is stored as Slurm's */
    r = call("POST", "/api/v1/experiments", token,
             "{\"spec\":{\"task\":\"CartPole\",\"executor\":{\"kind\":\"slurm\","
             "\"partition\":\"$(touch /tmp/x)\"}}}");
    ck_assert_int_eq(r.status, 422);
    ck_assert_str_eq(json_string_value(json_object_get(r.json, "field")),
                     "spec.executor.partition");
    res_free(&r);
    r = call("POST", "/api/v1/experiments", token,
             "{\"task\":\"CartPole\",\"executor\":{\"kind\":\"slurm\",\"extra\":[\"--wrap=x\"]}}");
    ck_assert_int_eq(r.status, 422);
    ck_assert_str_eq(json_string_value(json_object_get(r.json, "field")), "executor.extra[0]");
    res_free(&r);
    r = call("POST", "/api/v1/experiments", token,
             "{\"task\":\"CartPole\",\"ranks\":5,\"executor\":{\"kind\":\"slurm\","
             "\"partition\":\"debug\"}}");
    ck_assert_int_eq(r.status, 201);
    ck_assert_str_eq(json_string_value(json_object_get(r.json, "executor")), "slurm");
    ck_assert_str_eq(
        json_string_value(json_object_get(
            json_object_get(json_object_get(r.json, "spec"), "executor"), "partition")),
        "debug");
    res_free(&r);
    r = call("POST", "/api/v1/experiments", token, "{\"task\":\"CartPole\"}");
    ck_assert_str_eq(json_string_value(json_object_get(r.json, "executor")), "local");
    res_free(&r);
}
END_TEST

START_TEST(test_submit_and_actions) {
    Res r = call("POST", "/api/v1/experiments", token,
                 "{\"spec\":{\"task\":\"CartPole\",\"tags\":[\"a\"]},\"priority\":7}");
    long long id;
    char path[128];
    ck_assert_int_eq(r.status, 201);
    id = json_integer_value(json_object_get(r.json, "id"));
    ck_assert_str_eq(json_string_value(json_object_get(r.json, "state")), "queued");
    ck_assert_int_eq(json_integer_value(json_object_get(r.json, "priority")), 7);
    /* the stored spec is complete (defaults filled in) */
    ck_assert(json_is_object(json_object_get(json_object_get(r.json, "spec"), "ppo")));
    ck_assert_str_eq(json_string_value(json_array_get(json_object_get(r.json, "tags"), 0)), "a");
    snprintf(path, sizeof(path), "Location: /api/v1/experiments/%lld", id);
    ck_assert_str_eq(r.header, path);
    res_free(&r);
    /* bare spec with priority from the query */
    r = call("POST", "/api/v1/experiments?priority=-2", token, "{\"task\":\"CartPole\"}");
    ck_assert_int_eq(r.status, 201);
    ck_assert_int_eq(json_integer_value(json_object_get(r.json, "priority")), -2);
    res_free(&r);
    r = call("POST", "/api/v1/experiments?priority=x", token, "{\"task\":\"CartPole\"}");
    ck_assert_int_eq(r.status, 400);
    res_free(&r);
    /* validation errors name the path */
    r = call("POST", "/api/v1/experiments", token,
             "{\"spec\":{\"task\":\"CartPole\",\"ppo\":{\"gamma\":2}}}");
    ck_assert_int_eq(r.status, 422);
    ck_assert_str_eq(json_string_value(json_object_get(r.json, "field")), "spec.ppo.gamma");
    res_free(&r);
    r = call("POST", "/api/v1/experiments", token, "{\"task\":\"CartPole\",\"ranks\":5}");
    ck_assert_int_eq(r.status, 422);
    ck_assert_str_eq(json_string_value(json_object_get(r.json, "field")), "ranks");
    res_free(&r);
    r = call("POST", "/api/v1/validate", read_token, "{\"task\":\"CartPole\"}");
    ck_assert_int_eq(r.status, 200);
    ck_assert(json_integer_value(json_object_get(r.json, "iterations")) > 0);
    res_free(&r);

    /* pause/resume/cancel of a queued experiment act at once */
    snprintf(path, sizeof(path), "/api/v1/experiments/%lld/pause", id);
    r = call("POST", path, token, NULL);
    ck_assert_int_eq(r.status, 200);
    ck_assert_str_eq(json_string_value(json_object_get(r.json, "state")), "paused");
    res_free(&r);
    snprintf(path, sizeof(path), "/api/v1/experiments/%lld/resume", id);
    r = call("POST", path, token, NULL);
    ck_assert_str_eq(json_string_value(json_object_get(r.json, "state")), "queued");
    res_free(&r);
    snprintf(path, sizeof(path), "/api/v1/experiments/%lld", id);
    r = call("DELETE", path, token, NULL);
    ck_assert_int_eq(r.status, 409);
    ck_assert_str_eq(code_of(&r), "AG_ESTATE");
    res_free(&r);
    snprintf(path, sizeof(path), "/api/v1/experiments/%lld/cancel", id);
    r = call("POST", path, token, NULL);
    ck_assert_str_eq(json_string_value(json_object_get(r.json, "state")), "cancelled");
    res_free(&r);
    snprintf(path, sizeof(path), "/api/v1/experiments/%lld", id);
    r = call("DELETE", path, token, NULL);
    ck_assert_int_eq(r.status, 200);
    res_free(&r);
    r = call("GET", path, token, NULL);
    ck_assert_int_eq(r.status, 404);
    res_free(&r);
    /* pagination over the list */
    for (int i = 0; i < 4; i++) {
        r = call("POST", "/api/v1/experiments", token, "{\"task\":\"CartPole\"}");
        res_free(&r);
    }
    r = call("GET", "/api/v1/experiments?limit=3", token, NULL);
    ck_assert_int_eq(json_array_size(json_object_get(r.json, "items")), 3);
    ck_assert(json_is_integer(json_object_get(r.json, "next_cursor")));
    snprintf(path, sizeof(path), "/api/v1/experiments?limit=3&cursor=%lld",
             (long long)json_integer_value(json_object_get(r.json, "next_cursor")));
    res_free(&r);
    r = call("GET", path, token, NULL);
    ck_assert_int_eq(json_array_size(json_object_get(r.json, "items")), 2);
    ck_assert(json_is_null(json_object_get(r.json, "next_cursor")));
    res_free(&r);
}
END_TEST

START_TEST(test_list_search_sort) {
    static const char *const names[] = {"Walker-a", "walker-b", "runner", "WALKER-c", "hopper"};
    char path[512], cursor[256];
    int64_t first = 0;
    Res r;
    size_t seen = 0;
    int pages = 0;
    for (int i = 0; i < 5; i++) {
        char body[160];
        snprintf(body, sizeof(body),
                 "{\"task\":\"CartPole\",\"name\":\"%s\",\"budget\":{\"env_steps\":%d}}", names[i],
                 (i + 1) * 1000);
        r = call("POST", "/api/v1/experiments", token, body);
        ck_assert_int_eq(r.status, 201);
        if (i == 0) {
            first = json_integer_value(json_object_get(r.json, "id"));
        }
        res_free(&r);
    }
    /* one row gives the list its latest values and progress */
    {
        const char *line = "{\"iteration\":3,\"env_steps\":500,\"return_mean\":12.5,"
                           "\"success_rate\":0.5}";
        size_t len = strlen(line);
        ck_assert_int_eq(
            store_metrics_ingest(store, first, &line, &len, 1, 10, NULL, NULL, err, sizeof(err)),
            0);
    }
    r = call("GET", "/api/v1/experiments?q=WALKER&sort=name&order=asc", read_token, NULL);
    ck_assert_int_eq(r.status, 200);
    {
        json_t *items = json_object_get(r.json, "items");
        ck_assert_int_eq(json_array_size(items), 3);
        ck_assert_str_eq(json_string_value(json_object_get(json_array_get(items, 0), "name")),
                         "Walker-a");
        ck_assert_str_eq(json_string_value(json_object_get(json_array_get(items, 2), "name")),
                         "WALKER-c");
        ck_assert_int_eq(
            json_integer_value(json_object_get(json_array_get(items, 0), "budget_env_steps")),
            1000);
        ck_assert_int_eq(
            json_integer_value(json_object_get(json_array_get(items, 0), "latest_iteration")), 3);
        ck_assert(json_real_value(json_object_get(json_array_get(items, 0), "progress")) == 0.5);
        ck_assert(json_real_value(
                      json_object_get(json_array_get(items, 0), "latest_task_metric")) == 0.5);
        ck_assert_ptr_null(json_object_get(json_array_get(items, 0), "spec"));
    }
    res_free(&r);
    /* pages of 2 by name, descending: string cursors, all five once */
    cursor[0] = '\0';
    do {
        json_t *items, *nc;
        snprintf(path, sizeof(path), "/api/v1/experiments?sort=name&order=desc&limit=2%s%s",
                 cursor[0] ? "&cursor=" : "", cursor);
        r = call("GET", path, read_token, NULL);
        ck_assert_int_eq(r.status, 200);
        items = json_object_get(r.json, "items");
        if (seen == 0) {
            ck_assert_str_eq(json_string_value(json_object_get(json_array_get(items, 0), "name")),
                             "WALKER-c");
        }
        seen += json_array_size(items);
        nc = json_object_get(r.json, "next_cursor");
        ck_assert(json_is_string(nc) || json_is_null(nc));
        snprintf(cursor, sizeof(cursor), "%s", json_is_string(nc) ? json_string_value(nc) : "");
        res_free(&r);
        pages++;
    } while (cursor[0] && pages < 10);
    ck_assert_uint_eq(seen, 5);
    ck_assert_int_eq(pages, 3);
    /* the default order (submitted) keeps integer cursors; asc too */
    r = call("GET", "/api/v1/experiments?sort=submitted&order=asc&limit=2", read_token, NULL);
    ck_assert_int_eq(json_integer_value(json_object_get(
                         json_array_get(json_object_get(r.json, "items"), 0), "id")),
                     first);
    ck_assert(json_is_integer(json_object_get(r.json, "next_cursor")));
    res_free(&r);
    r = call("GET", "/api/v1/experiments?sort=progress&limit=1", read_token, NULL);
    ck_assert_int_eq(json_integer_value(json_object_get(
                         json_array_get(json_object_get(r.json, "items"), 0), "id")),
                     first);
    res_free(&r);

    /* the OpenAPI document names the list parameters and the sort keys */
    r = call("GET", "/api/v1/openapi.json", read_token, NULL);
    {
        json_t *params = json_object_get(
            json_object_get(
                json_object_get(json_object_get(r.json, "paths"), "/api/v1/experiments"), "get"),
            "parameters");
        json_t *pv;
        size_t i;
        int found = 0;
        json_array_foreach(params, i, pv) {
            const char *pn = json_string_value(json_object_get(pv, "name"));
            if (pn && !strcmp(pn, "sort")) {
                json_t *en = json_object_get(json_object_get(pv, "schema"), "enum");
                ck_assert_int_eq(json_array_size(en), 9);
                ck_assert_str_eq(json_string_value(json_array_get(en, 8)), "progress");
                found |= 1;
            }
            if (pn && (!strcmp(pn, "q") || !strcmp(pn, "order") || !strcmp(pn, "cursor"))) {
                found |= 2;
            }
        }
        ck_assert_int_eq(found, 3);
    }
    res_free(&r);
    /* parent lists the jobs of one experiment */
    snprintf(path, sizeof(path), "/api/v1/experiments?parent=%lld", (long long)first);
    r = call("GET", path, read_token, NULL);
    ck_assert_int_eq(r.status, 200);
    ck_assert_int_eq(json_array_size(json_object_get(r.json, "items")), 0);
    res_free(&r);
    {
        StoreExpNew ev = {
            .name = "eval", .task = "CartPole", .kind = "evaluate", .parent_id = first};
        int64_t eid = 0;
        ck_assert_int_eq(store_exp_insert(store, &ev, runs, &eid, err, sizeof(err)), 0);
        r = call("GET", path, read_token, NULL);
        ck_assert_int_eq(json_array_size(json_object_get(r.json, "items")), 1);
        ck_assert_int_eq(json_integer_value(json_object_get(
                             json_array_get(json_object_get(r.json, "items"), 0), "id")),
                         eid);
        res_free(&r);
    }
    /* bad values: 422 problem naming the parameter */
    {
        static const char *const bad[][2] = {
            {"/api/v1/experiments?sort=colour", "sort"},
            {"/api/v1/experiments?sort=", "sort"},
            {"/api/v1/experiments?order=up", "order"},
            {"/api/v1/experiments?q=a\tb", "q"},
            {"/api/v1/experiments?sort=name&cursor=zz", "cursor"},
            {"/api/v1/experiments?sort=name&cursor=12", "cursor"},
            {"/api/v1/experiments?sort=name&cursor=5b5d", "cursor"},
            {"/api/v1/experiments?parent=0", "parent"},
            {"/api/v1/experiments?parent=x", "parent"},
        };
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
            r = call("GET", bad[i][0], read_token, NULL);
            ck_assert_msg(r.status == 422, "%s gave %d", bad[i][0], r.status);
            ck_assert_str_eq(code_of(&r), "AG_EINVAL");
            ck_assert_str_eq(json_string_value(json_object_get(r.json, "field")), bad[i][1]);
            res_free(&r);
        }
        /* q longer than 128 bytes */
        memset(path, 0, sizeof(path));
        snprintf(path, sizeof(path), "/api/v1/experiments?q=");
        memset(path + strlen(path), 'x', 129);
        r = call("GET", path, read_token, NULL);
        ck_assert_int_eq(r.status, 422);
        ck_assert_str_eq(json_string_value(json_object_get(r.json, "field")), "q");
        res_free(&r);
        /* a cursor of one order does not page another */
        r = call("GET", "/api/v1/experiments?sort=task&limit=1", read_token, NULL);
        snprintf(path, sizeof(path), "/api/v1/experiments?sort=task&order=desc&cursor=%s",
                 json_string_value(json_object_get(r.json, "next_cursor")));
        res_free(&r);
        r = call("GET", path, read_token, NULL);
        ck_assert_int_eq(r.status, 422);
        res_free(&r);
    }
}
END_TEST

START_TEST(test_metrics_endpoints) {
    const char *lines[] = {"{\"iteration\":1,\"return_mean\":1}",
                           "{\"iteration\":2,\"return_mean\":3}",
                           "{\"iteration\":3,\"return_mean\":2}"};
    size_t lens[3] = {strlen(lines[0]), strlen(lines[1]), strlen(lines[2])};
    Res r = call("POST", "/api/v1/experiments", token, "{\"task\":\"CartPole\"}");
    long long id = json_integer_value(json_object_get(r.json, "id"));
    char path[160];
    res_free(&r);
    ck_assert_int_eq(
        store_metrics_ingest(store, id, lines, lens, 3, 100, NULL, NULL, err, sizeof(err)), 0);
    snprintf(path, sizeof(path), "/api/v1/experiments/%lld/metrics/keys", id);
    r = call("GET", path, read_token, NULL);
    ck_assert_int_eq(json_array_size(json_object_get(r.json, "keys")), 2);
    res_free(&r);
    snprintf(path, sizeof(path), "/api/v1/experiments/%lld/metrics/series?key=return_mean", id);
    r = call("GET", path, read_token, NULL);
    ck_assert_int_eq(r.status, 200);
    ck_assert_int_eq(json_array_size(json_object_get(r.json, "last")), 3);
    ck_assert_double_eq(json_real_value(json_array_get(json_object_get(r.json, "last"), 1)), 3);
    ck_assert_int_eq(json_integer_value(json_object_get(r.json, "rollup_width")), 0);
    res_free(&r);
    /* a run long enough for points / 2 buckets of 256 rows is read from the roll-up: 320 rows, 3
     * points -> buckets 1-256 and 257-320, row 320 without the key */
    {
        static char text[320][64];
        const char *more[320];
        size_t mlens[320];
        long long id2;
        for (int i = 0; i < 320; i++) {
            if (i == 319) {
                snprintf(text[i], sizeof(text[i]), "{\"iteration\":320}");
            } else {
                snprintf(text[i], sizeof(text[i]), "{\"iteration\":%d,\"return_mean\":%d}", i + 1,
                         i == 4 ? -4 : i + 1);
            }
            more[i] = text[i];
            mlens[i] = strlen(text[i]);
        }
        r = call("POST", "/api/v1/experiments", token, "{\"task\":\"CartPole\"}");
        id2 = json_integer_value(json_object_get(r.json, "id"));
        res_free(&r);
        ck_assert_int_eq(
            store_metrics_ingest(store, id2, more, mlens, 320, 100, NULL, NULL, err, sizeof(err)),
            0);
        snprintf(path, sizeof(path),
                 "/api/v1/experiments/%lld/metrics/series?key=return_mean&points=3", id2);
        r = call("GET", path, read_token, NULL);
        ck_assert_int_eq(r.status, 200);
        ck_assert_int_eq(json_integer_value(json_object_get(r.json, "rollup_width")), 256);
        ck_assert_int_eq(json_integer_value(json_object_get(r.json, "source_points")), 319);
        ck_assert_int_eq(json_array_size(json_object_get(r.json, "x")), 2);
        ck_assert_double_eq(json_real_value(json_array_get(json_object_get(r.json, "min"), 0)), -4);
        ck_assert_double_eq(json_real_value(json_array_get(json_object_get(r.json, "max"), 0)),
                            256);
        ck_assert_double_eq(json_real_value(json_array_get(json_object_get(r.json, "last"), 0)),
                            256);
        ck_assert_double_eq(json_real_value(json_array_get(json_object_get(r.json, "x"), 0)), 256);
        ck_assert_double_eq(json_real_value(json_array_get(json_object_get(r.json, "min"), 1)),
                            257);
        ck_assert_double_eq(json_real_value(json_array_get(json_object_get(r.json, "last"), 1)),
                            319);
        ck_assert_double_eq(json_real_value(json_array_get(json_object_get(r.json, "x"), 1)), 320);
        res_free(&r);
        /* out of the queue the rest of this test counts */
        ck_assert_int_eq(store_exp_cancel(store, id2, NULL, err, sizeof(err)), 0);
    }
    r = call("GET", "/api/v1/experiments/98765/metrics/series?key=return_mean", read_token, NULL);
    ck_assert_int_eq(r.status, 404);
    res_free(&r);
    snprintf(path, sizeof(path), "/api/v1/experiments/%lld/metrics/export?after_seq=1&limit=1", id);
    r = call("GET", path, read_token, NULL);
    ck_assert_int_eq(json_array_size(json_object_get(r.json, "rows")), 1);
    ck_assert_int_eq(json_integer_value(json_object_get(
                         json_array_get(json_object_get(r.json, "rows"), 0), "seq")),
                     2);
    res_free(&r);
    snprintf(path, sizeof(path), "/api/v1/experiments/%lld/metrics/export?format=csv", id);
    r = call("GET", path, read_token, NULL);
    ck_assert_str_eq(r.body, "seq,iteration,return_mean\n1,1,1\n2,2,3\n3,3,2\n");
    res_free(&r);
    /* no run directory yet: empty checkpoint list, no log */
    snprintf(path, sizeof(path), "/api/v1/experiments/%lld/checkpoints", id);
    r = call("GET", path, read_token, NULL);
    ck_assert_int_eq(r.status, 200);
    ck_assert_int_eq(json_array_size(json_object_get(r.json, "items")), 0);
    res_free(&r);
    snprintf(path, sizeof(path), "/api/v1/experiments/%lld/log", id);
    r = call("GET", path, read_token, NULL);
    ck_assert_int_eq(r.status, 404);
    res_free(&r);
    /* Prometheus text */
    api_note_ingested(api, 120);
    r = call("GET", "/metrics", read_token, NULL);
    ck_assert_ptr_nonnull(strstr(r.body, "angora_metric_rows_ingested_total 120\n"));
    ck_assert_ptr_nonnull(strstr(r.body, "angora_ingest_rows_per_second 2.000\n"));
    ck_assert_int_eq(r.status, 200);
    ck_assert_ptr_nonnull(strstr(r.body, "angora_queue_length 1\n"));
    ck_assert_ptr_nonnull(strstr(r.body, "# TYPE angora_experiments gauge"));
    res_free(&r);
}
END_TEST

/* pattern with {id} as 1 and {name} as name */
static void fill_pattern(const char *pattern, const char *name, char *out, size_t out_sz) {
    size_t o = 0;
    for (const char *c = pattern; *c && o + 1 < out_sz;) {
        const char *with = !strncmp(c, "{id}", 4) ? "1" : !strncmp(c, "{name}", 6) ? name : NULL;
        if (with) {
            o += (size_t)snprintf(out + o, out_sz - o, "%s", with);
            c = strchr(c, '}') + 1;
        } else {
            out[o++] = *c++;
        }
    }
    out[o < out_sz ? o : out_sz - 1] = '\0';
}

START_TEST(test_openapi_and_tokens) {
    Res r = call("GET", "/api/v1/openapi.json", read_token, NULL);
    json_t *paths;
    const char *routes[] = {"/api/v1/health",
                            "/metrics",
                            "/api/v1/experiments",
                            "/api/v1/experiments/{id}",
                            "/api/v1/experiments/{id}/cancel",
                            "/api/v1/experiments/{id}/pause",
                            "/api/v1/experiments/{id}/resume",
                            "/api/v1/experiments/{id}/tags",
                            "/api/v1/experiments/{id}/notes",
                            "/api/v1/experiments/{id}/metrics/keys",
                            "/api/v1/experiments/{id}/metrics/series",
                            "/api/v1/experiments/{id}/metrics/export",
                            "/api/v1/experiments/{id}/checkpoints",
                            "/api/v1/experiments/{id}/checkpoints/{name}",
                            "/api/v1/experiments/{id}/log",
                            "/api/v1/experiments/{id}/evaluate",
                            "/api/v1/experiments/{id}/evaluation/video",
                            "/api/v1/experiments/{id}/evaluation/trajectory",
                            "/api/v1/catalogue",
                            "/api/v1/validate",
                            "/api/v1/tokens",
                            "/api/v1/tokens/{id}",
                            NULL};
    long long tid;
    char path[64], tok[128];
    ck_assert_int_eq(r.status, 200);
    ck_assert_str_eq(json_string_value(json_object_get(r.json, "openapi")), "3.1.0");
    ck_assert_int_ge(json_array_size(json_object_get(r.json, "servers")), 1);
    paths = json_object_get(r.json, "paths");
    for (int i = 0; routes[i]; i++) {
        ck_assert_msg(json_object_get(paths, routes[i]) != NULL, "%s missing", routes[i]);
    }
    /* health and the document are the routes without security */
    ck_assert_int_eq(
        json_array_size(json_object_get(
            json_object_get(json_object_get(paths, "/api/v1/health"), "get"), "security")),
        0);
    ck_assert_int_eq(
        json_array_size(json_object_get(
            json_object_get(json_object_get(paths, "/api/v1/openapi.json"), "get"), "security")),
        0);
    /* every operation: a URL-safe operationId, its real success code, a schema per JSON
     * answer; submit answers 201 */
    {
        const char *pk, *mk;
        json_t *item, *op;
        json_object_foreach(paths, pk, item) {
            json_object_foreach(item, mk, op) {
                const char *opid = json_string_value(json_object_get(op, "operationId"));
                json_t *responses = json_object_get(op, "responses");
                ck_assert_msg(opid && opid[strspn(opid, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmno"
                                                        "pqrstuvwxyz0123456789")] == '\0',
                              "%s %s: operationId %s", mk, pk, opid ? opid : "(none)");
                ck_assert_msg(json_object_get(responses, "200") ||
                                  json_object_get(responses, "201"),
                              "%s %s: no success response", mk, pk);
                ck_assert_msg(json_object_get(responses, "4XX") == NULL, "%s %s: 4XX", mk, pk);
                {
                    const char *code, *media;
                    json_t *answer, *m;
                    json_object_foreach(responses, code, answer) {
                        json_object_foreach(json_object_get(answer, "content"), media, m) {
                            ck_assert_msg(json_object_get(m, "schema"), "%s %s %s %s: no schema",
                                          mk, pk, code, media);
                        }
                        ck_assert_msg(json_object_get(answer, "$ref") ||
                                          json_object_get(answer, "content"),
                                      "%s %s %s: no content", mk, pk, code);
                    }
                }
            }
        }
        op = json_object_get(json_object_get(paths, "/api/v1/experiments"), "post");
        ck_assert_ptr_nonnull(json_object_get(json_object_get(op, "responses"), "201"));
        ck_assert_ptr_null(json_object_get(json_object_get(op, "responses"), "200"));
        ck_assert_ptr_nonnull(json_object_get(op, "requestBody"));
        ck_assert_ptr_nonnull(json_object_get(
            json_object_get(json_object_get(r.json, "components"), "schemas"), "Experiment"));
    }
    res_free(&r);
    /* the document needs no token; every other API route does */
    r = call("GET", "/api/v1/openapi.json", NULL, NULL);
    ck_assert_int_eq(r.status, 200);
    ck_assert_str_eq(json_string_value(json_object_get(r.json, "openapi")), "3.1.0");
    res_free(&r);
    for (size_t i = 0; i < api_route_count; i++) {
        const ApiRoute *rt = &api_route_table[i];
        char p[160];
        const char *name = strstr(rt->pattern, "/tables/")    ? "a.csv"
                           : strstr(rt->pattern, "/figures/") ? "a.png"
                                                              : "last.ckpt";
        if (rt->scope == SCOPE_NONE) {
            continue;
        }
        fill_pattern(rt->pattern, name, p, sizeof(p));
        r = call(rt->method, p, NULL, NULL);
        ck_assert_msg(r.status == 401, "%s %s without a token: %d", rt->method, p, r.status);
        res_free(&r);
    }
    r = call("POST", "/api/v1/tokens", token, "{\"name\":\"ci\",\"scope\":\"read\"}");
    ck_assert_int_eq(r.status, 201);
    tid = json_integer_value(json_object_get(r.json, "id"));
    snprintf(tok, sizeof(tok), "%s", json_string_value(json_object_get(r.json, "token")));
    res_free(&r);
    r = call("GET", "/api/v1/info", tok, NULL);
    ck_assert_int_eq(r.status, 200);
    res_free(&r);
    snprintf(path, sizeof(path), "/api/v1/tokens/%lld", tid);
    r = call("DELETE", path, tok, NULL);
    ck_assert_int_eq(r.status, 403);
    res_free(&r);
    r = call("DELETE", path, token, NULL);
    ck_assert_int_eq(r.status, 200);
    res_free(&r);
    r = call("GET", "/api/v1/info", tok, NULL);
    ck_assert_int_eq(r.status, 401);
    res_free(&r);
    api_set_ws_port(api, 9001);
    r = call("GET", "/api/v1/info", token, NULL);
    ck_assert_int_eq(json_integer_value(json_object_get(r.json, "websocket_port")), 9001);
    res_free(&r);
}
END_TEST

int main(void) {
    Suite *s = suite_create("api_routes");
    TCase *tc = tcase_create("core");
    SRunner *sr;
    int failed;
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_auth_and_routing);
    tcase_add_test(tc, test_submit_and_actions);
    tcase_add_test(tc, test_submit_executor);
    tcase_add_test(tc, test_list_search_sort);
    tcase_add_test(tc, test_metrics_endpoints);
    tcase_add_test(tc, test_openapi_and_tokens);
    suite_add_tcase(s, tc);
    sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
