/* Tests of server/api/api_cache.c: the response cache on its own (keys, generations, the least
 * recently used going first within the byte budget, answers too big to keep, holes filled at
 * each answer, ETag lists), and through api_handle() on a database file (WAL, reader connections
 * as in the daemon): a list or series read again at once after every kind of write that can
 * change it gives the new data, never the kept answer; a repeated read is a hit with the same
 * bytes; ETags give 304 until a write; a running experiment's pace is computed at each answer;
 * and a reader racing a writer never sees fewer rows than were acknowledged. */
#include "api.h"
#include "api_int.h"

#include "ag_error.h"
#include "ag_fs.h"

#include <check.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char err[512];

/* ---- the cache on its own ---- */

static int fill_x(AgBuf *out, const StoreExpPace *p, void *ctx) {
    (void)ctx;
    return ag_buf_printf(out, "<%g>", p->latest_wall_s);
}

static int get(ApiCache *c, const char *key, uint64_t gen, char **body) {
    size_t len;
    return api_cache_get(c, key, strlen(key), gen, NULL, fill_x, NULL, body, &len, NULL, NULL,
                         NULL);
}

static void put(ApiCache *c, const char *key, uint64_t gen, const char *body) {
    api_cache_put(c, key, strlen(key), gen, body, strlen(body), NULL, 0, NULL, 0);
}

START_TEST(test_generations) {
    ApiCache *c;
    ApiCacheStats st;
    char *body = NULL;
    ck_assert_int_eq(api_cache_create(&c, 1 << 20), 0);
    ck_assert_int_eq(get(c, "a", 1, &body), 0);
    put(c, "a", 1, "one");
    ck_assert_int_eq(get(c, "a", 1, &body), 1);
    ck_assert_str_eq(body, "one");
    free(body);
    /* another key, or the same at another generation, is not that answer */
    ck_assert_int_eq(get(c, "b", 1, &body), 0);
    ck_assert_int_eq(get(c, "a", 2, &body), 0);
    api_cache_stats(c, &st);
    ck_assert_uint_eq(st.hits, 1);
    ck_assert_uint_eq(st.misses, 3);
    /* the stale entry went when it was met */
    ck_assert_uint_eq(st.entries, 0);
    ck_assert_uint_eq(st.bytes, 0);
    /* a reader of an older generation does not replace a newer answer */
    put(c, "a", 5, "five");
    put(c, "a", 4, "four");
    ck_assert_int_eq(get(c, "a", 5, &body), 1);
    ck_assert_str_eq(body, "five");
    free(body);
    put(c, "a", 6, "six");
    ck_assert_int_eq(get(c, "a", 6, &body), 1);
    ck_assert_str_eq(body, "six");
    free(body);
    api_cache_stats(c, &st);
    ck_assert_uint_eq(st.entries, 1);
    api_cache_destroy(c);
}
END_TEST

START_TEST(test_budget) {
    ApiCache *c;
    ApiCacheStats st;
    char *body = NULL, big[2048], key[16];
    /* room for about 14 entries of 1 KB (each also counts its bookkeeping) */
    ck_assert_int_eq(api_cache_create(&c, 16 * 1024), 0);
    memset(big, 'x', 1000);
    big[1000] = '\0';
    for (int i = 0; i < 20; i++) {
        snprintf(key, sizeof(key), "k%d", i);
        put(c, key, 1, big);
        /* k0 is read each time: the most recently used, never the one to go */
        ck_assert_int_eq(get(c, "k0", 1, &body), 1);
        free(body);
    }
    api_cache_stats(c, &st);
    ck_assert_uint_le(st.bytes, 16 * 1024);
    ck_assert_uint_ge(st.entries, 12);
    ck_assert_uint_lt(st.entries, 20);
    ck_assert_uint_eq(st.evictions, 20 - st.entries);
    ck_assert_int_eq(get(c, "k19", 1, &body), 1); /* the newest stayed */
    free(body);
    ck_assert_int_eq(get(c, "k1", 1, &body), 0); /* the oldest unused went */
    /* an answer above an eighth of the budget is not kept, and pushes nothing out */
    memset(big, 'y', 2000);
    big[2000] = '\0';
    put(c, "huge", 1, big);
    ck_assert_int_eq(get(c, "huge", 1, &body), 0);
    ck_assert_int_eq(get(c, "k19", 1, &body), 1);
    free(body);
    api_cache_destroy(c);
    /* a budget of 0 keeps nothing */
    ck_assert_int_eq(api_cache_create(&c, 0), 0);
    put(c, "a", 1, "one");
    ck_assert_int_eq(get(c, "a", 1, &body), 0);
    api_cache_stats(c, &st);
    ck_assert_uint_eq(st.entries, 0);
    api_cache_destroy(c);
}
END_TEST

START_TEST(test_many_entries) {
    ApiCache *c;
    ApiCacheStats st;
    char key[32], val[32], *body = NULL;
    /* enough entries to grow the table several times; each is found again with its own body */
    ck_assert_int_eq(api_cache_create(&c, 64 << 20), 0);
    for (int i = 0; i < 5000; i++) {
        snprintf(key, sizeof(key), "key %d", i);
        snprintf(val, sizeof(val), "value %d", i);
        put(c, key, (uint64_t)i, val);
    }
    for (int i = 0; i < 5000; i++) {
        snprintf(key, sizeof(key), "key %d", i);
        snprintf(val, sizeof(val), "value %d", i);
        ck_assert_int_eq(get(c, key, (uint64_t)i, &body), 1);
        ck_assert_str_eq(body, val);
        free(body);
    }
    api_cache_stats(c, &st);
    ck_assert_uint_eq(st.entries, 5000);
    api_cache_destroy(c);
}
END_TEST

START_TEST(test_holes) {
    ApiCache *c;
    ApiCacheHole holes[2];
    char *body = NULL;
    size_t len, n = 9;
    memset(holes, 0, sizeof(holes));
    holes[0].at = 1;
    holes[0].pace.latest_wall_s = 2.5;
    holes[1].at = 3;
    holes[1].pace.latest_wall_s = 7;
    ck_assert_int_eq(api_cache_create(&c, 1 << 20), 0);
    api_cache_put(c, "k", 1, 1, "abcd", 4, holes, 2, NULL, 0);
    ck_assert_int_eq(api_cache_get(c, "k", 1, 1, NULL, fill_x, NULL, &body, &len, &n, NULL, NULL),
                     1);
    ck_assert_str_eq(body, "a<2.5>bc<7>d");
    ck_assert_uint_eq(len, strlen("a<2.5>bc<7>d"));
    ck_assert_uint_eq(n, 2);
    free(body);
    /* without a function to fill them, a template is no answer */
    ck_assert_int_eq(api_cache_get(c, "k", 1, 1, NULL, NULL, NULL, &body, &len, &n, NULL, NULL), 0);
    api_cache_destroy(c);
}
END_TEST

/* an entry kept with ids is valid while the sum of their generations is */
static uint64_t sum_gens(void *ctx, const int64_t *ids, size_t n) {
    const uint64_t *gens = ctx;
    uint64_t g = gens[0];
    for (size_t i = 0; i < n; i++) {
        g += gens[ids[i]];
    }
    return g;
}

START_TEST(test_generation_of_ids) {
    ApiCache *c;
    uint64_t gens[8] = {10, 1, 1, 1, 1, 1, 1, 1}, kept = 0, hash = 0;
    const int64_t ids[2] = {2, 5};
    ApiCacheGen g = {sum_gens, gens};
    char *body = NULL;
    size_t len;
    ck_assert_int_eq(api_cache_create(&c, 1 << 20), 0);
    api_cache_put(c, "page", 4, 12, "p", 1, NULL, 0, ids, 2);
    ck_assert_int_eq(
        api_cache_get(c, "page", 4, 0, &g, NULL, NULL, &body, &len, NULL, &kept, &hash), 1);
    ck_assert_uint_eq(kept, 12);
    ck_assert_uint_eq(hash, api_cache_hash((const char *)ids, sizeof(ids)));
    free(body);
    /* another run's generation: still valid */
    gens[3]++;
    ck_assert_int_eq(api_cache_get(c, "page", 4, 0, &g, NULL, NULL, &body, &len, NULL, NULL, NULL),
                     1);
    free(body);
    /* one of its own, or the list's: no longer */
    gens[5]++;
    ck_assert_int_eq(api_cache_get(c, "page", 4, 0, &g, NULL, NULL, &body, &len, NULL, NULL, NULL),
                     0);
    api_cache_put(c, "page", 4, 13, "q", 1, NULL, 0, ids, 2);
    gens[0]++;
    ck_assert_int_eq(api_cache_get(c, "page", 4, 0, &g, NULL, NULL, &body, &len, NULL, NULL, NULL),
                     0);
    api_cache_destroy(c);
}
END_TEST

START_TEST(test_etag_matches) {
    ApiRequest req;
    memset(&req, 0, sizeof(req));
    ck_assert_int_eq(api_etag_matches(&req, "\"a-1\""), 0);
    req.if_none_match = "\"a-1\"";
    ck_assert_int_eq(api_etag_matches(&req, "\"a-1\""), 1);
    ck_assert_int_eq(api_etag_matches(&req, "\"a-2\""), 0);
    req.if_none_match = "\"x\", W/\"a-1\" ,\"y\"";
    ck_assert_int_eq(api_etag_matches(&req, "\"a-1\""), 1);
    ck_assert_int_eq(api_etag_matches(&req, "\"y\""), 1);
    ck_assert_int_eq(api_etag_matches(&req, "\"x\""), 1);
    req.if_none_match = "*";
    ck_assert_int_eq(api_etag_matches(&req, "\"a-1\""), 0);
    req.if_none_match = "\"a-1";
    ck_assert_int_eq(api_etag_matches(&req, "\"a-1\""), 0);
    req.if_none_match = "";
    ck_assert_int_eq(api_etag_matches(&req, "\"a-1\""), 0);
}
END_TEST

/* ---- through api_handle on a database file ---- */

static Store *store;
static Api *api;
static char token[API_TOKEN_LEN + 1];
static char runs[] = "/tmp/angora-cache-runs-XXXXXX";
static char db[] = "/tmp/angora-cache-db-XXXXXX";

static void setup(void) {
    char mig[1024], hash[65], path[128];
    ApiConfig cfg;
    int fd;
    snprintf(db, sizeof(db), "/tmp/angora-cache-db-XXXXXX");
    fd = mkstemp(db);
    ck_assert_int_ge(fd, 0);
    close(fd);
    unlink(db);
    snprintf(path, sizeof(path), "%s", db);
    ck_assert_int_eq(ag_fs_data_path("migrations", mig, sizeof(mig)), 0);
    ck_assert_int_eq(store_open(path, &store, err, sizeof(err)), 0);
    ck_assert_int_eq(store_migrate(store, mig, 0, NULL, err, sizeof(err)), 0);
    snprintf(runs, sizeof(runs), "/tmp/angora-cache-runs-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(runs));
    memset(&cfg, 0, sizeof(cfg));
    cfg.runs_root = runs;
    cfg.max_cores = 4;
    cfg.trainer = "";
    cfg.response_cache_bytes = 16 << 20;
    ck_assert_int_eq(api_create(&api, &cfg, store, err, sizeof(err)), 0);
    ck_assert_int_eq(api_token_generate(token, err, sizeof(err)), 0);
    ck_assert_int_eq(api_sha256_hex(token, API_TOKEN_LEN, hash), 0);
    ck_assert_int_eq(store_token_add(store, hash, "full", "full", NULL, err, sizeof(err)), 0);
}

static void teardown(void) {
    char cmd[256];
    api_destroy(api);
    store_close(store);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s' '%s' '%s-wal' '%s-shm'", runs, db, db, db);
    ck_assert_int_eq(system(cmd), 0);
}

static const char *query_lookup(void *ctx, const char *name) {
    static __thread char ring[8][1024];
    static __thread unsigned next;
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
    char *body;
    char etag[96];
} Res;

static Res call_inm(const char *method, const char *path_query, const char *body, const char *inm) {
    char path[512], auth[128];
    const char *q = strchr(path_query, '?');
    ApiRequest req;
    ApiResponse resp;
    Res r;
    memset(&req, 0, sizeof(req));
    memset(&r, 0, sizeof(r));
    snprintf(path, sizeof(path), "%s", path_query);
    if (q) {
        path[q - path_query] = '\0';
    }
    snprintf(auth, sizeof(auth), "Bearer %s", token);
    req.method = method;
    req.path = path;
    req.authorization = auth;
    req.if_none_match = inm;
    req.body = body;
    req.body_len = body ? strlen(body) : 0;
    req.arg = query_lookup;
    req.arg_ctx = q ? (void *)(q + 1) : NULL;
    api_handle(api, &req, &resp);
    r.status = resp.status;
    r.json = resp.body ? json_loadb(resp.body, resp.body_len, 0, NULL) : NULL;
    r.body = resp.body ? strndup(resp.body, resp.body_len) : NULL;
    snprintf(r.etag, sizeof(r.etag), "%s", resp.etag);
    api_response_free(&resp);
    return r;
}

static Res call(const char *method, const char *path_query, const char *body) {
    return call_inm(method, path_query, body, NULL);
}

static void res_free(Res *r) {
    json_decref(r->json);
    free(r->body);
}

static uint64_t hits(void) {
    ApiCacheStats st;
    api_cache_stats(api->cache, &st);
    return st.hits;
}

static long long submit(const char *body) {
    Res r = call("POST", "/api/v1/experiments", body);
    long long id;
    ck_assert_int_eq(r.status, 201);
    id = json_integer_value(json_object_get(r.json, "id"));
    res_free(&r);
    return id;
}

/* the listed item of id on the default page (NULL when absent); a new reference */
static json_t *listed(const char *query, long long id) {
    Res r = call("GET", query, NULL);
    json_t *v, *out = NULL;
    size_t i;
    ck_assert_int_eq(r.status, 200);
    json_array_foreach(json_object_get(r.json, "items"), i, v) {
        if (json_integer_value(json_object_get(v, "id")) == id) {
            out = json_incref(v);
        }
    }
    res_free(&r);
    return out;
}

static const char *field(json_t *item, const char *key) {
    const char *s = json_string_value(json_object_get(item, key));
    return s ? s : "";
}

/* reads the default page twice (the second a hit with the same bytes): the kept answer exists
 * before each write of the tests below */
/* the page without what depends on the time of the answer (a running item's duration, ETA) */
static json_t *timeless(json_t *page) {
    json_t *v;
    size_t i;
    json_array_foreach(json_object_get(page, "items"), i, v) {
        json_object_del(v, "duration_s");
        json_object_del(v, "eta_s");
    }
    return page;
}

static void list_warm(void) {
    Res a = call("GET", "/api/v1/experiments", NULL), b;
    uint64_t h = hits();
    b = call("GET", "/api/v1/experiments", NULL);
    ck_assert_int_eq(a.status, 200);
    ck_assert_msg(json_equal(timeless(a.json), timeless(b.json)), "a kept page differs");
    ck_assert_uint_eq(hits(), h + 1);
    res_free(&a);
    res_free(&b);
}

static void ingest(long long id, const char *const *lines, size_t n, int64_t offset) {
    size_t lens[64];
    ck_assert_uint_le(n, 64);
    for (size_t i = 0; i < n; i++) {
        lens[i] = strlen(lines[i]);
    }
    ck_assert_int_eq(
        store_metrics_ingest(store, id, lines, lens, n, offset, NULL, NULL, err, sizeof(err)), 0);
}

START_TEST(test_list_after_writes) {
    long long a, b, c;
    json_t *it;
    char path[160];
    list_warm();
    /* a submission */
    a = submit("{\"task\":\"CartPole\",\"name\":\"first\"}");
    it = listed("/api/v1/experiments", a);
    ck_assert_ptr_nonnull(it);
    ck_assert_str_eq(field(it, "state"), "queued");
    json_decref(it);
    b = submit("{\"task\":\"CartPole\",\"name\":\"second\"}");
    c = submit("{\"task\":\"CartPole\",\"name\":\"third\"}");
    /* tags and notes */
    list_warm();
    snprintf(path, sizeof(path), "/api/v1/experiments/%lld/tags", a);
    res_free((Res[]){call("PUT", path, "{\"tags\":[\"best\"]}")});
    it = listed("/api/v1/experiments?tag=best", a);
    ck_assert_ptr_nonnull(it);
    json_decref(it);
    it = listed("/api/v1/experiments", a);
    ck_assert_str_eq(json_string_value(json_array_get(json_object_get(it, "tags"), 0)), "best");
    json_decref(it);
    list_warm();
    snprintf(path, sizeof(path), "/api/v1/experiments/%lld/notes", a);
    res_free((Res[]){call("PUT", path, "{\"notes\":\"looks good\"}")});
    it = listed("/api/v1/experiments", a);
    ck_assert_str_eq(field(it, "notes"), "looks good");
    json_decref(it);
    /* the user's state changes: cancel, pause, resume */
    list_warm();
    snprintf(path, sizeof(path), "/api/v1/experiments/%lld/pause", b);
    res_free((Res[]){call("POST", path, NULL)});
    it = listed("/api/v1/experiments", b);
    ck_assert_str_eq(field(it, "state"), "paused");
    json_decref(it);
    list_warm();
    snprintf(path, sizeof(path), "/api/v1/experiments/%lld/resume", b);
    res_free((Res[]){call("POST", path, NULL)});
    it = listed("/api/v1/experiments", b);
    ck_assert_str_eq(field(it, "state"), "queued");
    json_decref(it);
    list_warm();
    snprintf(path, sizeof(path), "/api/v1/experiments/%lld/cancel", c);
    res_free((Res[]){call("POST", path, NULL)});
    it = listed("/api/v1/experiments?state=cancelled", c);
    ck_assert_str_eq(field(it, "state"), "cancelled");
    json_decref(it);
    /* the scheduler's: started, then finished */
    list_warm();
    ck_assert_int_eq(store_run_started(store, a, 4242, 1, 1, err, sizeof(err)), 0);
    it = listed("/api/v1/experiments", a);
    ck_assert_str_eq(field(it, "state"), "running");
    json_decref(it);
    /* ingestion of the run's rows: its latest values */
    list_warm();
    {
        const char *rows[] = {"{\"iteration\":1,\"env_steps\":100,\"return_mean\":5,\"wall_s\":1}"};
        ingest(a, rows, 1, 64);
    }
    it = listed("/api/v1/experiments?sort=return", a);
    ck_assert_double_eq(json_number_value(json_object_get(it, "latest_return")), 5);
    json_decref(it);
    list_warm();
    ck_assert_int_eq(store_run_set_state(store, a, "succeeded", NULL, err, sizeof(err)), 0);
    it = listed("/api/v1/experiments", a);
    ck_assert_str_eq(field(it, "state"), "succeeded");
    json_decref(it);
    /* a deletion */
    list_warm();
    snprintf(path, sizeof(path), "/api/v1/experiments/%lld", c);
    {
        Res r = call("DELETE", path, NULL);
        ck_assert_int_lt(r.status, 300);
        res_free(&r);
    }
    it = listed("/api/v1/experiments", c);
    ck_assert_ptr_null(it);
}
END_TEST

/* a training's metric rows leave the pages that do not show it kept; the pages that show it, and
 * those sorted by return or progress, are read again */
START_TEST(test_list_after_rows_of_a_run) {
    long long a = submit("{\"task\":\"CartPole\",\"name\":\"a\"}"),
              b = submit("{\"task\":\"CartPole\",\"name\":\"b\"}");
    const char *ra[] = {"{\"iteration\":1,\"env_steps\":10,\"return_mean\":10,\"wall_s\":1}"};
    const char *rb[] = {"{\"iteration\":1,\"env_steps\":10,\"return_mean\":5,\"wall_s\":1}",
                        "{\"iteration\":2,\"env_steps\":20,\"return_mean\":50,\"wall_s\":2}",
                        "{\"iteration\":3,\"env_steps\":30,\"return_mean\":60,\"wall_s\":3}"};
    char path[96];
    uint64_t h;
    json_t *it;
    Res r;
    ingest(a, ra, 1, 60);
    ingest(b, rb, 1, 60);
    /* the page of a alone (b is newer, so name order puts a first) */
    snprintf(path, sizeof(path), "/api/v1/experiments?sort=name&limit=1");
    it = listed(path, a);
    ck_assert_ptr_nonnull(it);
    json_decref(it);
    it = listed("/api/v1/experiments?sort=return&limit=1", a);
    ck_assert_ptr_nonnull(it); /* 10 against 5 */
    json_decref(it);
    /* b's rows: a's page stays kept */
    ingest(b, rb + 1, 1, 120);
    h = hits();
    it = listed(path, a);
    ck_assert_ptr_nonnull(it);
    ck_assert_uint_eq(hits(), h + 1);
    json_decref(it);
    /* b's own page and the return order are read again, with b's new values */
    it = listed("/api/v1/experiments?sort=name&limit=2", b);
    ck_assert_double_eq(json_number_value(json_object_get(it, "latest_return")), 50);
    json_decref(it);
    it = listed("/api/v1/experiments?sort=return&limit=1", b);
    ck_assert_ptr_nonnull(it); /* 50 against 10: b leads now */
    json_decref(it);
    /* a state change of b changes every page */
    ck_assert_int_eq(store_run_started(store, b, 4242, 1, 1, err, sizeof(err)), 0);
    h = hits();
    r = call("GET", path, NULL);
    ck_assert_uint_eq(hits(), h);
    res_free(&r);
    /* the ETag of a kept page: 304 until b's rows reach it (it shows b now) */
    snprintf(path, sizeof(path), "/api/v1/experiments?sort=name&limit=2&state=running");
    r = call("GET", path, NULL);
    res_free(&r);
    r = call("GET", "/api/v1/experiments?sort=name&limit=1", NULL);
    ck_assert_int_gt(strlen(r.etag), 2);
    {
        char tag[96];
        snprintf(tag, sizeof(tag), "%s", r.etag);
        res_free(&r);
        ingest(b, rb + 2, 1, 180);
        r = call_inm("GET", "/api/v1/experiments?sort=name&limit=1", NULL, tag);
        ck_assert_int_eq(r.status, 304); /* a's page: b's rows do not change it */
        res_free(&r);
        ck_assert_int_eq(store_run_set_state(store, b, "failed", NULL, err, sizeof(err)), 0);
        r = call_inm("GET", "/api/v1/experiments?sort=name&limit=1", NULL, tag);
        ck_assert_int_eq(r.status, 200);
        res_free(&r);
    }
}
END_TEST

static Res series(long long id, const char *query) {
    char path[200];
    snprintf(path, sizeof(path), "/api/v1/experiments/%lld/metrics/series?%s", id, query);
    return call("GET", path, NULL);
}

static double series_last(long long id, const char *query, long long *rows) {
    Res r = series(id, query);
    json_t *last = json_object_get(r.json, "last");
    double v;
    ck_assert_int_eq(r.status, 200);
    v = json_number_value(json_array_get(last, json_array_size(last) - 1));
    *rows = json_integer_value(json_object_get(r.json, "source_points"));
    res_free(&r);
    return v;
}

START_TEST(test_series_after_writes) {
    long long a = submit("{\"task\":\"CartPole\"}"), b = submit("{\"task\":\"CartPole\"}"), rows;
    const char *first[] = {"{\"iteration\":1,\"return_mean\":1,\"entropy\":0.5}",
                           "{\"iteration\":2,\"return_mean\":2,\"entropy\":0.4}",
                           "{\"iteration\":3,\"return_mean\":3,\"entropy\":0.3}"};
    const char *more[] = {"{\"iteration\":4,\"return_mean\":9,\"entropy\":0.2}"};
    const char *rewind[] = {"{\"iteration\":2,\"return_mean\":-7,\"entropy\":0.9}"};
    const char *other[] = {"{\"iteration\":1,\"return_mean\":100}"};
    uint64_t h;
    Res r, s;
    ingest(a, first, 3, 100);
    /* read twice: the second is a hit with the same bytes */
    h = hits();
    r = series(a, "key=entropy");
    s = series(a, "key=entropy");
    ck_assert_msg(!strcmp(r.body, s.body), "a kept series differs");
    ck_assert_uint_eq(hits(), h + 1);
    res_free(&r);
    res_free(&s);
    ck_assert_double_eq(series_last(a, "key=return_mean", &rows), 3);
    /* another run's rows leave this run's answers where they are */
    h = hits();
    ingest(b, other, 1, 30);
    ck_assert_double_eq(series_last(a, "key=return_mean", &rows), 3);
    ck_assert_uint_eq(hits(), h + 1);
    ck_assert_double_eq(series_last(b, "key=return_mean", &rows), 100);
    /* new rows of the run, read at once */
    ingest(a, more, 1, 140);
    ck_assert_double_eq(series_last(a, "key=return_mean", &rows), 9);
    ck_assert_int_eq(rows, 4);
    ck_assert_double_eq(series_last(a, "key=entropy", &rows), 0.2);
    /* a rewind to a checkpoint replaces rows */
    ingest(a, rewind, 1, 50);
    ck_assert_double_eq(series_last(a, "key=return_mean", &rows), -7);
    ck_assert_int_eq(rows, 2);
    /* the run ends and its rows are sealed: the same series */
    ck_assert_int_eq(store_run_set_state(store, a, "succeeded", NULL, err, sizeof(err)), 0);
    {
        int64_t sealed = 0;
        ck_assert_int_eq(store_metrics_seal_finished(store, 5, &sealed, err, sizeof(err)), 0);
    }
    ck_assert_double_eq(series_last(a, "key=return_mean", &rows), -7);
    /* deleted: 404, not the kept answer */
    {
        char path[96];
        snprintf(path, sizeof(path), "/api/v1/experiments/%lld", a);
        r = call("DELETE", path, NULL);
        ck_assert_int_lt(r.status, 300);
        res_free(&r);
    }
    r = series(a, "key=return_mean");
    ck_assert_int_eq(r.status, 404);
    res_free(&r);
}
END_TEST

START_TEST(test_etags) {
    long long a = submit("{\"task\":\"CartPole\"}");
    const char *rows[] = {"{\"iteration\":1,\"return_mean\":1}"};
    const char *more[] = {"{\"iteration\":2,\"return_mean\":2}"};
    char tag[96], path[128];
    Res r;
    ingest(a, rows, 1, 40);
    snprintf(path, sizeof(path), "/api/v1/experiments/%lld/metrics/series?key=return_mean", a);
    r = call("GET", path, NULL);
    ck_assert_int_eq(r.status, 200);
    ck_assert_int_gt(strlen(r.etag), 2);
    snprintf(tag, sizeof(tag), "%s", r.etag);
    res_free(&r);
    /* still current: 304 without a body */
    r = call_inm("GET", path, NULL, tag);
    ck_assert_int_eq(r.status, 304);
    ck_assert_ptr_null(r.body);
    ck_assert_str_eq(r.etag, tag);
    res_free(&r);
    /* another query does not answer to that tag */
    r = call_inm("GET", "/api/v1/experiments", NULL, tag);
    ck_assert_int_eq(r.status, 200);
    res_free(&r);
    /* a write of the run: the whole new answer, with a new tag */
    ingest(a, more, 1, 80);
    r = call_inm("GET", path, NULL, tag);
    ck_assert_int_eq(r.status, 200);
    ck_assert_str_ne(r.etag, tag);
    ck_assert_int_eq(json_array_size(json_object_get(r.json, "last")), 2);
    res_free(&r);
    /* the list: a tag while nothing on the page runs */
    r = call("GET", "/api/v1/experiments", NULL);
    ck_assert_int_gt(strlen(r.etag), 2);
    snprintf(tag, sizeof(tag), "%s", r.etag);
    res_free(&r);
    r = call_inm("GET", "/api/v1/experiments", NULL, tag);
    ck_assert_int_eq(r.status, 304);
    res_free(&r);
    r = call_inm("GET", "/api/v1/experiments", NULL, "W/\"other\", " /* a list */);
    ck_assert_int_eq(r.status, 200);
    res_free(&r);
    /* a state change: 200 again; and no tag while an item runs */
    ck_assert_int_eq(store_run_started(store, a, 4242, 1, 1, err, sizeof(err)), 0);
    r = call_inm("GET", "/api/v1/experiments", NULL, tag);
    ck_assert_int_eq(r.status, 200);
    ck_assert_str_eq(r.etag, "");
    res_free(&r);
}
END_TEST

START_TEST(test_running_pace_at_each_answer) {
    long long a = submit("{\"task\":\"CartPole\"}");
    const char *rows[] = {"{\"iteration\":1,\"env_steps\":100,\"wall_s\":1}"};
    double d1, d2;
    uint64_t h;
    json_t *it;
    ck_assert_int_eq(store_run_started(store, a, 4242, 1, 1, err, sizeof(err)), 0);
    ingest(a, rows, 1, 40);
    it = listed("/api/v1/experiments", a);
    d1 = json_number_value(json_object_get(it, "duration_s"));
    json_decref(it);
    usleep(20000);
    h = hits();
    it = listed("/api/v1/experiments", a);
    /* from the cache, yet the duration of a running run is that of this answer */
    ck_assert_uint_eq(hits(), h + 1);
    d2 = json_number_value(json_object_get(it, "duration_s"));
    ck_assert(json_is_real(json_object_get(it, "eta_s")) ||
              json_is_null(json_object_get(it, "eta_s")));
    ck_assert_double_eq_tol(json_number_value(json_object_get(it, "steps_per_s")), 100, 1e-9);
    json_decref(it);
    ck_assert_double_gt(d2, d1 + 0.015);
}
END_TEST

/* a writer acknowledges rows one at a time while a reader asks for the series: every answer has
 * at least the rows acknowledged before it was asked for */
static atomic_long acked;
static long long race_id;

static void *race_writer(void *arg) {
    char line[96];
    (void)arg;
    for (int i = 1; i <= 300; i++) {
        const char *l = line;
        size_t len;
        snprintf(line, sizeof(line), "{\"iteration\":%d,\"return_mean\":%d}", i, i);
        len = strlen(line);
        if (store_metrics_ingest(store, race_id, &l, &len, 1, (int64_t)i * 40, NULL, NULL, NULL,
                                 0) != 0) {
            break;
        }
        atomic_store(&acked, i);
    }
    atomic_store(&acked, 1000000);
    return NULL;
}

START_TEST(test_reader_racing_writer) {
    pthread_t w;
    long checks = 0;
    race_id = submit("{\"task\":\"CartPole\"}");
    atomic_store(&acked, 0);
    ck_assert_int_eq(pthread_create(&w, NULL, race_writer, NULL), 0);
    for (;;) {
        long before = atomic_load(&acked), rows_seen;
        long long rows;
        if (before == 1000000) {
            break;
        }
        uint64_t h = hits();
        series_last(race_id, "key=return_mean&points=1000", &rows);
        rows_seen = (long)rows;
        ck_assert_msg(rows_seen >= before, "%ld rows after %ld were acknowledged (%s)", rows_seen,
                      before, hits() > h ? "a kept answer" : "read from the database");
        checks++;
    }
    pthread_join(w, NULL);
    ck_assert_int_gt(checks, 0);
}
END_TEST

static Suite *suite(void) {
    Suite *s = suite_create("api_cache");
    TCase *tc = tcase_create("cache");
    TCase *api_tc = tcase_create("api");
    tcase_add_test(tc, test_generations);
    tcase_add_test(tc, test_budget);
    tcase_add_test(tc, test_many_entries);
    tcase_add_test(tc, test_holes);
    tcase_add_test(tc, test_generation_of_ids);
    tcase_add_test(tc, test_etag_matches);
    suite_add_tcase(s, tc);
    tcase_add_checked_fixture(api_tc, setup, teardown);
    tcase_set_timeout(api_tc, 60);
    tcase_add_test(api_tc, test_list_after_writes);
    tcase_add_test(api_tc, test_list_after_rows_of_a_run);
    tcase_add_test(api_tc, test_series_after_writes);
    tcase_add_test(api_tc, test_etags);
    tcase_add_test(api_tc, test_running_pace_at_each_answer);
    tcase_add_test(api_tc, test_reader_racing_writer);
    suite_add_tcase(s, api_tc);
    return s;
}

int main(void) {
    SRunner *sr = srunner_create(suite());
    int failed;
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
