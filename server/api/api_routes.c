/* The core of angorad's REST API: the Api state and its life cycle, the route table that drives
 * dispatch, token scopes and the OpenAPI document, bearer-token authentication, api_handle(),
 * the response/argument/body helpers every handler uses and the service handlers (health,
 * info, Prometheus). The other handlers live in a file named for what they serve. */
#include "api_int.h"

#include "ag_buf.h"
#include "ag_error.h"
#include "ag_parse.h"
#include "ag_time.h"

#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

/* ---- responses ---- */

void api_resp_json(ApiResponse *resp, int status, json_t *doc) {
    resp->status = status;
    resp->content_type = "application/json";
    resp->body = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
    resp->body_len = resp->body ? strlen(resp->body) : 0;
    json_decref(doc);
    if (!resp->body) {
        resp->status = 500;
        resp->content_type = "text/plain";
    }
}

void api_resp_created(ApiResponse *resp, int64_t id, json_t *doc) {
    snprintf(resp->header, sizeof(resp->header), "Location: " API_PREFIX "/experiments/%lld",
             (long long)id);
    api_resp_json(resp, 201, doc);
}

void api_resp_problem(ApiResponse *resp, int status, int code, const char *detail,
                      const char *field) {
    free(resp->body);
    resp->status = status;
    resp->content_type = "application/problem+json";
    resp->body = api_problem_body(status, code, detail, field);
    resp->body_len = resp->body ? strlen(resp->body) : 0;
    resp->detail = ag_error_name(code);
}

int api_fail(ApiErr *e, int code, const char *field, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->detail, sizeof(e->detail), fmt, ap);
    va_end(ap);
    snprintf(e->field, sizeof(e->field), "%s", field ? field : "");
    return code;
}

void api_response_free(ApiResponse *resp) {
    free(resp->body);
    free(resp->file_path);
    resp->body = NULL;
    resp->file_path = NULL;
}

int api_store_fail(ApiErr *e, int rc, const char *msg) {
    return api_fail(e, rc, NULL, "%s", msg);
}

int api_resp_store(ApiResponse *resp, ApiErr *e, int rc, const char *msg, const char *key,
                   json_t *doc) {
    if (rc) {
        json_decref(doc);
        return api_store_fail(e, rc, msg);
    }
    api_resp_json(resp, 200, key ? json_pack("{s:o}", key, doc) : doc);
    return 0;
}

/* ---- query arguments ---- */

const char *api_arg(const ApiRequest *req, const char *name) {
    return req->arg ? req->arg(req->arg_ctx, name) : NULL;
}

/* an integer argument in [min, max] or def when absent */
int api_arg_int(const ApiRequest *req, const char *name, long long def, long long min,
                long long max, long long *out, ApiErr *e) {
    const char *v = api_arg(req, name);
    long long x;
    if (!v) {
        *out = def;
        return 0;
    }
    int rc = ag_parse_int(v, min, max, &x);
    if (rc == AG_EINVAL) {
        return api_fail(e, AG_EINVAL, name, "%s must be an integer, got \"%.64s\"", name, v);
    }
    if (rc) {
        return api_fail(e, AG_EINVAL, name, "%s must be in [%lld, %lld], got %lld", name, min, max,
                        x);
    }
    *out = x;
    return 0;
}

/* ---- body ---- */

int api_body_json(const ApiRequest *req, json_t **out, ApiErr *e) {
    AgJsonErr je = {0};
    *out = NULL;
    if (!req->body || req->body_len == 0) {
        return api_fail(e, AG_EJSON, NULL, "a JSON request body is required");
    }
    *out = ag_json_parse(req->body, req->body_len, &je);
    if (!*out && je.path[0]) {
        /* well-formed, a value out of range: 422 at its path */
        return api_spec_fail(e, &je, "");
    }
    if (!*out) {
        return api_fail(e, AG_EJSON, NULL, "%s", je.reason);
    }
    return 0;
}

int api_spec_fail(ApiErr *e, const AgJsonErr *je, const char *prefix) {
    char path[AG_JSON_PATH_MAX];
    if (prefix && *prefix) {
        ag_json_path_key(path, sizeof(path), prefix, je->path);
    } else {
        snprintf(path, sizeof(path), "%s", je->path);
    }
    if (prefix && *prefix && !je->path[0]) {
        snprintf(path, sizeof(path), "%s", prefix);
    }
    return api_fail(e, AG_ESPEC, path, "%s%s%s", path, *path ? ": " : "", je->reason);
}

/* ---- life cycle ---- */

int api_create(Api **out, const ApiConfig *cfg, Store *store, char *err, size_t err_sz) {
    Api *api = calloc(1, sizeof(*api));
    json_t *doc;
    *out = NULL;
    if (!api) {
        return ag_errorf(err, err_sz, AG_ENOMEM, "out of memory");
    }
    api->cfg = *cfg;
    api->store = store;
    if (!api->cfg.bind_addr) {
        api->cfg.bind_addr = "127.0.0.1";
    }
    if (!api->cfg.max_body) {
        api->cfg.max_body = API_MAX_BODY_DEFAULT;
    }
    if (!api->cfg.max_connections) {
        api->cfg.max_connections = 256;
    }
    if (!api->cfg.connection_timeout_s) {
        api->cfg.connection_timeout_s = 30;
    }
    if (!api->cfg.threads) {
        api->cfg.threads = 4;
    }
    snprintf(api->web_dir, sizeof(api->web_dir), "%s",
             cfg->web_dir && access(cfg->web_dir, R_OK) == 0 ? cfg->web_dir : "");
    snprintf(api->runs_root, sizeof(api->runs_root), "%s", cfg->runs_root ? cfg->runs_root : "");
    snprintf(api->trainer, sizeof(api->trainer), "%s", cfg->trainer ? cfg->trainer : "");
    api->cfg.web_dir = api->web_dir;
    api->cfg.runs_root = api->runs_root;
    api->cfg.trainer = api->trainer;
    api->started = ag_time_now();
    pthread_mutex_init(&api->cat_mu, NULL);
    pthread_mutex_init(&api->check_mu, NULL);
    pthread_mutex_init(&api->rate_mu, NULL);
    for (int i = 0; i < 60; i++) {
        api->rate_sec[i] = -1000;
    }
    /* generations restart with the daemon; the time of this start tells the ETags apart */
    api->etag_epoch = (uint64_t)(ag_time_wall() * 1e6);
    if (api_cache_create(&api->cache, cfg->response_cache_bytes)) {
        api_destroy(api);
        return ag_errorf(err, err_sz, AG_ENOMEM, "out of memory");
    }
    doc = api_openapi_build(err, err_sz);
    if (!doc) {
        api_destroy(api);
        return AG_EINVAL;
    }
    api->openapi = json_dumps(doc, JSON_INDENT(1));
    json_decref(doc);
    if (!api->openapi) {
        api_destroy(api);
        return ag_errorf(err, err_sz, AG_ENOMEM, "out of memory");
    }
    *out = api;
    return 0;
}

void api_destroy(Api *api) {
    if (!api) {
        return;
    }
    api_http_destroy(api);
    api_cache_destroy(api->cache);
    json_decref(api->catalogue);
    free(api->openapi);
    pthread_mutex_destroy(&api->cat_mu);
    api_check_cache_free(api);
    pthread_mutex_destroy(&api->check_mu);
    pthread_mutex_destroy(&api->rate_mu);
    free(api);
}

void api_set_state_hook(Api *api, ApiStateHook fn, void *ctx) {
    api->state_hook = fn;
    api->state_hook_ctx = ctx;
}

void api_set_ws_port(Api *api, int port) {
    atomic_store(&api->ws_port, port);
}

void api_note_ingested(Api *api, uint64_t rows) {
    long long sec = (long long)ag_time_now();
    int i = (int)(sec % 60);
    atomic_fetch_add(&api->ingested, rows);
    pthread_mutex_lock(&api->rate_mu);
    if (api->rate_sec[i] != sec) {
        api->rate_sec[i] = sec;
        api->rate_rows[i] = 0;
    }
    api->rate_rows[i] += rows;
    pthread_mutex_unlock(&api->rate_mu);
}

/* mean rows per second over the last minute */
static double ingest_rate(Api *api) {
    long long now = (long long)ag_time_now();
    uint64_t total = 0;
    pthread_mutex_lock(&api->rate_mu);
    for (int i = 0; i < 60; i++) {
        if (now - api->rate_sec[i] < 60) {
            total += api->rate_rows[i];
        }
    }
    pthread_mutex_unlock(&api->rate_mu);
    return (double)total / 60.0;
}

void api_note_request(Api *api, int status) {
    if (status >= 100 && status < 600) {
        atomic_fetch_add(&api->requests[status], 1);
    }
}

/* ---- handlers: service ---- */

int api_h_health(Api *api, const ApiRequest *req, const ApiParams *p, ApiResponse *resp,
                 ApiErr *e) {
    int version = 0;
    char msg[256];
    (void)req;
    (void)p;
    if (store_schema_version(api->store, &version, msg, sizeof(msg)) != 0) {
        return api_fail(e, AG_EBUSY, NULL, "database unavailable: %s", msg);
    }
    api_resp_json(resp, 200,
                  json_pack("{s:s,s:s,s:i,s:f}", "status", "ok", "version", ANGORA_VERSION,
                            "schema", version, "uptime_s", ag_time_now() - api->started));
    return 0;
}

int api_h_info(Api *api, const ApiRequest *req, const ApiParams *p, ApiResponse *resp, ApiErr *e) {
    json_t *o;
    int ws = atomic_load(&api->ws_port);
    (void)req;
    (void)p;
    (void)e;
    o = json_pack("{s:s,s:i,s:i,s:s,s:b}", "version", ANGORA_VERSION, "port", api_port(api),
                  "max_cores", api->cfg.max_cores, "api", API_PREFIX, "dashboard",
                  api->web_dir[0] != '\0');
    json_object_set_new(o, "websocket_port", ws > 0 ? json_integer(ws) : json_null());
    api_resp_json(resp, 200, o);
    return 0;
}

int api_h_prometheus(Api *api, const ApiRequest *req, const ApiParams *p, ApiResponse *resp,
                     ApiErr *e) {
    ApiCacheStats cs;
    AgBuf b;
    json_t *counts = NULL, *v;
    const char *k;
    char msg[256];
    (void)req;
    (void)p;
    if (store_exp_counts(api->store, &counts, msg, sizeof(msg)) != 0) {
        return api_fail(e, AG_EDB, NULL, "%s", msg);
    }
    ag_buf_init(&b, 4096, 1u << 20);
    ag_buf_printf(&b,
                  "# HELP angora_queue_length Experiments waiting to run.\n"
                  "# TYPE angora_queue_length gauge\nangora_queue_length %lld\n",
                  (long long)json_integer_value(json_object_get(counts, "queued")));
    ag_buf_printf(&b, "# HELP angora_experiments Experiments by state.\n"
                      "# TYPE angora_experiments gauge\n");
    json_object_foreach(counts, k, v) {
        ag_buf_printf(&b, "angora_experiments{state=\"%s\"} %lld\n", k,
                      (long long)json_integer_value(v));
    }
    ag_buf_printf(&b,
                  "# HELP angora_metric_rows_ingested_total Metric rows stored since start.\n"
                  "# TYPE angora_metric_rows_ingested_total counter\n"
                  "angora_metric_rows_ingested_total %llu\n",
                  (unsigned long long)atomic_load(&api->ingested));
    ag_buf_printf(&b,
                  "# HELP angora_ingest_rows_per_second Metric rows stored per second, last "
                  "minute.\n# TYPE angora_ingest_rows_per_second gauge\n"
                  "angora_ingest_rows_per_second %.3f\n",
                  ingest_rate(api));
    ag_buf_printf(&b, "# HELP angora_http_requests_total Requests answered, by status.\n"
                      "# TYPE angora_http_requests_total counter\n");
    for (int s = 100; s < 600; s++) {
        uint_fast64_t n = atomic_load(&api->requests[s]);
        if (n) {
            ag_buf_printf(&b, "angora_http_requests_total{code=\"%d\"} %llu\n", s,
                          (unsigned long long)n);
        }
    }
    api_cache_stats(api->cache, &cs);
    ag_buf_printf(&b,
                  "# HELP angora_response_cache_hits_total List and series answers given from "
                  "the response cache.\n# TYPE angora_response_cache_hits_total counter\n"
                  "angora_response_cache_hits_total %llu\n"
                  "# HELP angora_response_cache_misses_total List and series answers read from "
                  "the database.\n# TYPE angora_response_cache_misses_total counter\n"
                  "angora_response_cache_misses_total %llu\n"
                  "# HELP angora_response_cache_evictions_total Answers dropped to stay within "
                  "the budget.\n# TYPE angora_response_cache_evictions_total counter\n"
                  "angora_response_cache_evictions_total %llu\n"
                  "# HELP angora_response_cache_bytes Memory the kept answers hold.\n"
                  "# TYPE angora_response_cache_bytes gauge\nangora_response_cache_bytes %llu\n"
                  "# HELP angora_response_cache_entries Answers kept.\n"
                  "# TYPE angora_response_cache_entries gauge\n"
                  "angora_response_cache_entries %llu\n",
                  (unsigned long long)cs.hits, (unsigned long long)cs.misses,
                  (unsigned long long)cs.evictions, (unsigned long long)cs.bytes,
                  (unsigned long long)cs.entries);
    ag_buf_printf(&b,
                  "# HELP angora_uptime_seconds Seconds since angorad started.\n"
                  "# TYPE angora_uptime_seconds gauge\nangora_uptime_seconds %.3f\n",
                  ag_time_now() - api->started);
    json_decref(counts);
    resp->status = 200;
    resp->content_type = "text/plain; version=0.0.4; charset=utf-8";
    resp->body_len = b.len;
    resp->body = ag_buf_steal(&b);
    return 0;
}

/* ---- the route table ---- */

const ApiRoute api_route_table[] = {
    {"GET", "/api/v1/health", api_h_health, SCOPE_NONE, "getHealth",
     "Liveness and database check (no token)"},
    {"GET", "/metrics", api_h_prometheus, SCOPE_READ, "getPrometheusMetrics",
     "Prometheus text metrics"},
    {"GET", "/api/v1/openapi.json", api_h_openapi, SCOPE_NONE, "getOpenApi",
     "This OpenAPI document (no token)"},
    {"GET", "/api/v1/info", api_h_info, SCOPE_READ, "getInfo",
     "Version, ports (websocket when present), cores"},
    {"GET", "/api/v1/catalogue", api_h_catalogue, SCOPE_READ, "getCatalogue",
     "Tasks, presets and spec defaults"},
    {"POST", "/api/v1/validate", api_h_validate, SCOPE_READ, "validateSubmission",
     "Dry-run validation of a submission"},
    {"GET", "/api/v1/experiments", api_h_exp_list, SCOPE_READ, "listExperiments",
     "List experiments: filters state, task, tag, parent, q (name substring); sort "
     "(" STORE_EXP_SORTS "), order (asc|desc), limit, cursor (next_cursor of the previous page)"},
    {"POST", "/api/v1/experiments", api_h_exp_submit, SCOPE_FULL, "submitExperiment",
     "Submit an experiment"},
    {"GET", "/api/v1/experiments/{id}", api_h_exp_get, SCOPE_READ, "getExperiment",
     "One experiment with its spec"},
    {"DELETE", "/api/v1/experiments/{id}", api_h_exp_delete, SCOPE_FULL, "deleteExperiment",
     "Delete a finished experiment, its rows and run directory"},
    {"POST", "/api/v1/experiments/{id}/cancel", api_h_exp_cancel, SCOPE_FULL, "cancelExperiment",
     "Cancel"},
    {"POST", "/api/v1/experiments/{id}/pause", api_h_exp_pause, SCOPE_FULL, "pauseExperiment",
     "Pause (checkpoint and stop)"},
    {"POST", "/api/v1/experiments/{id}/resume", api_h_exp_resume, SCOPE_FULL, "resumeExperiment",
     "Resume a paused experiment"},
    {"PUT", "/api/v1/experiments/{id}/tags", api_h_exp_tags, SCOPE_FULL, "setTags",
     "Replace the tags"},
    {"PUT", "/api/v1/experiments/{id}/notes", api_h_exp_notes, SCOPE_FULL, "setNotes",
     "Replace the notes"},
    {"GET", "/api/v1/experiments/{id}/events", api_h_exp_events, SCOPE_READ, "listEvents",
     "Journal of the run"},
    {"GET", "/api/v1/experiments/{id}/metrics/keys", api_h_metric_keys, SCOPE_READ,
     "listMetricKeys", "Numeric metric keys of the run"},
    {"GET", "/api/v1/experiments/{id}/metrics/series", api_h_metric_series, SCOPE_READ,
     "getMetricSeries", "Downsampled series (key, x, points)"},
    {"GET", "/api/v1/experiments/{id}/metrics/export", api_h_metric_export, SCOPE_READ,
     "exportMetrics", "All rows as CSV or JSON (format, after_seq, limit)"},
    {"GET", "/api/v1/experiments/{id}/checkpoints", api_h_checkpoints, SCOPE_READ,
     "listCheckpoints", "Checkpoint list"},
    {"GET", "/api/v1/experiments/{id}/checkpoints/{name}", api_h_checkpoint_get, SCOPE_READ,
     "getCheckpoint", "Download a checkpoint"},
    {"GET", "/api/v1/experiments/{id}/log", api_h_log, SCOPE_READ, "getLog",
     "Log tail or range (file, tail, offset, length)"},
    {"POST", "/api/v1/experiments/{id}/evaluate", api_h_evaluate, SCOPE_FULL, "queueEvaluation",
     "Queue an evaluation of a checkpoint"},
    {"GET", "/api/v1/experiments/{id}/evaluation", api_h_evaluation_result, SCOPE_READ,
     "getEvaluation", "Result of an evaluation job"},
    {"GET", "/api/v1/experiments/{id}/evaluation/video", api_h_evaluation_video, SCOPE_READ,
     "getEvaluationVideo", "MP4 video of the recorded episode of an evaluation job (record: true)"},
    {"GET", "/api/v1/experiments/{id}/evaluation/trajectory", api_h_evaluation_trajectory,
     SCOPE_READ, "getEvaluationTrajectory",
     "Replayable trajectory (JSON) of the recorded episode of an evaluation job (record: true)"},
    {"POST", "/api/v1/experiments/{id}/analyses", api_h_analysis_submit, SCOPE_FULL,
     "queueAnalysis",
     "Queue an analysis job of a checkpoint: its activity recorded over fresh episodes, then "
     "decoding, PCA, RSA and timescales (docs/analysis.md)"},
    {"GET", "/api/v1/experiments/{id}/analyses", api_h_analysis_list, SCOPE_READ, "listAnalyses",
     "The analysis jobs of a training run, newest first"},
    {"GET", "/api/v1/experiments/{id}/analysis", api_h_analysis_result, SCOPE_READ, "getAnalysis",
     "analysis.json of an analysis job"},
    {"GET", "/api/v1/experiments/{id}/analysis/tables/{name}", api_h_analysis_table, SCOPE_READ,
     "getAnalysisTable",
     "A CSV table of an analysis job (decoding.csv, pca.csv, timescales.csv, "
     "rdm_similarity.csv)"},
    {"GET", "/api/v1/experiments/{id}/analysis/figures/{name}", api_h_analysis_figure, SCOPE_READ,
     "getAnalysisFigure", "A PNG figure of an analysis job (decoding.png, ...)"},
    {"GET", "/api/v1/experiments/{id}/analysis/recording", api_h_analysis_recording, SCOPE_READ,
     "getAnalysisRecording", "The HDF5 recording of an analysis job (activations.h5)"},
    {"POST", "/api/v1/pretrain", api_h_pretrain_submit, SCOPE_FULL, "queuePretrain",
     "Queue a vision pretraining job: an encoder trained to read the block's pose from a "
     "dataset's images (docs/training.md, Vision pretraining)"},
    {"GET", "/api/v1/tokens", api_h_tokens_list, SCOPE_FULL, "listTokens",
     "List tokens (never their values)"},
    {"POST", "/api/v1/tokens", api_h_tokens_create, SCOPE_FULL, "createToken",
     "Create a token (read or full)"},
    {"DELETE", "/api/v1/tokens/{id}", api_h_tokens_revoke, SCOPE_FULL, "revokeToken",
     "Revoke a token"},
};
const size_t api_route_count = sizeof(api_route_table) / sizeof(api_route_table[0]);

/* matches path against pattern; fills p; *bad_id is set when {id} is not a positive integer */
static int route_match(const char *pattern, const char *path, ApiParams *p, int *bad_id) {
    const char *a = pattern, *b = path;
    while (*a && *b) {
        if (*a == '{') {
            const char *aend = strchr(a, '}'), *bend = strchr(b, '/');
            size_t len = bend ? (size_t)(bend - b) : strlen(b);
            if (!aend || len == 0) {
                return 0;
            }
            if (!strncmp(a, "{id}", 4)) {
                char num[24];
                long long v = 0;
                if (len >= sizeof(num)) {
                    *bad_id = 1;
                } else {
                    memcpy(num, b, len);
                    num[len] = '\0';
                    if (num[0] == '+' || num[0] == '-' ||
                        ag_parse_int(num, 1, LLONG_MAX, &v) != AG_OK) {
                        *bad_id = 1;
                    }
                }
                p->id = v;
            } else {
                if (len >= sizeof(p->name)) {
                    return 0;
                }
                memcpy(p->name, b, len);
                p->name[len] = '\0';
            }
            a = aend + 1;
            b += len;
            continue;
        }
        if (*a != *b) {
            return 0;
        }
        a++;
        b++;
    }
    /* a trailing slash is the same resource */
    if (*b == '/' && b[1] == '\0') {
        b++;
    }
    return *a == '\0' && *b == '\0';
}

/* a route anyone may read (SCOPE_NONE): its path, whatever the method */
static int public_route(const char *path) {
    for (size_t i = 0; i < api_route_count; i++) {
        ApiParams p;
        int bad_id = 0;
        memset(&p, 0, sizeof(p));
        if (api_route_table[i].scope == SCOPE_NONE &&
            route_match(api_route_table[i].pattern, path, &p, &bad_id)) {
            return 1;
        }
    }
    return 0;
}

static int authenticate(Api *api, const ApiRequest *req, ApiScope *scope, ApiErr *e) {
    const char *h = req->authorization, *tok;
    char hash[65], s[8], msg[256];
    size_t len;
    if (!h || !*h) {
        return api_fail(e, AG_EAUTH, NULL, "an Authorization: Bearer <token> header is required");
    }
    if (strncasecmp(h, "Bearer ", 7) != 0) {
        return api_fail(e, AG_EAUTH, NULL, "the Authorization header must be \"Bearer <token>\"");
    }
    tok = h + 7;
    while (*tok == ' ') {
        tok++;
    }
    len = strlen(tok);
    while (len > 0 && tok[len - 1] == ' ') {
        len--;
    }
    if (len != API_TOKEN_LEN || strncmp(tok, API_TOKEN_PREFIX, 4) != 0 ||
        api_sha256_hex(tok, len, hash) != 0 ||
        store_token_lookup(api->store, hash, s, sizeof(s), msg, sizeof(msg)) != 0) {
        return api_fail(e, AG_EAUTH, NULL, "unknown or revoked token");
    }
    *scope = !strcmp(s, "full") ? SCOPE_FULL : SCOPE_READ;
    return 0;
}

static void handle_static(Api *api, const ApiRequest *req, ApiResponse *resp) {
    char path[PATH_MAX];
    int rc;
    if (strcmp(req->method, "GET") != 0 && strcmp(req->method, "HEAD") != 0) {
        api_resp_problem(resp, 405, AG_EUNSUPPORTED, "the dashboard files are read with GET", NULL);
        snprintf(resp->header, sizeof(resp->header), "Allow: GET, HEAD");
        return;
    }
    /* traversal is refused the same way whether or not a dashboard is installed */
    rc = api_static_resolve(api->web_dir, req->path, path, sizeof(path));
    if (rc == AG_EFORBIDDEN) {
        api_resp_problem(resp, 403, AG_EFORBIDDEN, "path not allowed", "path");
        return;
    }
    if (!api->web_dir[0]) {
        api_resp_problem(resp, 404, AG_ENOTFOUND, "no dashboard installed", "path");
        return;
    }
    if (rc) {
        api_resp_problem(resp, 404, AG_ENOTFOUND, "no such file", "path");
        return;
    }
    resp->status = 200;
    resp->content_type = api_mime_type(path);
    resp->file_path = strdup(path);
    if (!resp->file_path) {
        api_resp_problem(resp, 500, AG_ENOMEM, NULL, NULL);
    }
}

void api_handle(Api *api, const ApiRequest *req, ApiResponse *resp) {
    const ApiRoute *hit = NULL;
    ApiParams params;
    ApiErr e;
    ApiScope scope = SCOPE_NONE;
    char allow[96] = "";
    int is_api, rc, bad_id = 0;
    memset(resp, 0, sizeof(*resp));
    memset(&e, 0, sizeof(e));
    memset(&params, 0, sizeof(params));
    is_api = !strncmp(req->path, "/api/", 5) || !strcmp(req->path, "/api") ||
             !strcmp(req->path, "/metrics");
    if (!is_api) {
        handle_static(api, req, resp);
        goto done;
    }
    /* health and the OpenAPI document need no token; everything else is authenticated before
     * it is even routed */
    if (!public_route(req->path)) {
        rc = authenticate(api, req, &scope, &e);
        if (rc) {
            api_resp_problem(resp, 401, rc, e.detail, NULL);
            snprintf(resp->header, sizeof(resp->header),
                     "WWW-Authenticate: Bearer realm=\"angora\"");
            goto done;
        }
    }
    for (size_t i = 0; i < api_route_count; i++) {
        ApiParams tmp;
        int tmp_bad = 0;
        memset(&tmp, 0, sizeof(tmp));
        if (!route_match(api_route_table[i].pattern, req->path, &tmp, &tmp_bad)) {
            continue;
        }
        if (!strcmp(api_route_table[i].method, req->method) ||
            (!strcmp(req->method, "HEAD") && !strcmp(api_route_table[i].method, "GET"))) {
            hit = &api_route_table[i];
            params = tmp;
            bad_id = tmp_bad;
            break;
        }
        if (strlen(allow) + strlen(api_route_table[i].method) + 3 < sizeof(allow)) {
            snprintf(allow + strlen(allow), sizeof(allow) - strlen(allow), "%s%s",
                     allow[0] ? ", " : "", api_route_table[i].method);
        }
    }
    if (!hit && allow[0]) {
        api_resp_problem(resp, 405, AG_EUNSUPPORTED, "method not allowed on this resource", NULL);
        snprintf(resp->header, sizeof(resp->header), "Allow: %s", allow);
        goto done;
    }
    if (!hit) {
        api_resp_problem(resp, 404, AG_ENOTFOUND, "no such API route (see /api/v1/openapi.json)",
                         NULL);
        goto done;
    }
    if (hit->scope == SCOPE_FULL && scope != SCOPE_FULL) {
        api_resp_problem(resp, 403, AG_EFORBIDDEN, "this token is read-only", NULL);
        goto done;
    }
    if (bad_id) {
        api_resp_problem(resp, 400, AG_EINVAL, "the id must be a positive integer", "id");
        goto done;
    }
    rc = hit->fn(api, req, &params, resp, &e);
    if (rc) {
        api_resp_problem(resp, api_status_of(rc), rc, e.detail, e.field);
    }
done:
    api_note_request(api, resp->status);
}
