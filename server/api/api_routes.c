/* The REST routes of angorad: one table drives dispatch, authentication scopes and the OpenAPI
 * document; each handler reads the store and the run directories and fills one response. */
#include "api.h"

#include "ag_buf.h"
#include "ag_error.h"
#include "ag_json.h"
#include "ag_log.h"
#include "ag_spec.h"
#include "ag_time.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define API_EXPORT_MAX    (256u << 20)
#define API_LOG_TAIL_MAX  (4u << 20)
#define API_CATALOGUE_MAX (4u << 20)
#define API_PRIORITY_MAX  1000
#define API_NOTES_MAX     4096

typedef enum ApiScope { SCOPE_NONE = 0, SCOPE_READ, SCOPE_FULL } ApiScope;

/* what a handler reports when it fails: the status comes from the code */
typedef struct ApiErr {
    char detail[512];
    char field[AG_JSON_PATH_MAX];
} ApiErr;

typedef struct ApiParams {
    int64_t id;
    char name[128];
} ApiParams;

typedef int (*ApiHandler)(Api *api, const ApiRequest *req, const ApiParams *p, ApiResponse *resp,
                          ApiErr *e);

typedef struct ApiRoute {
    const char *method;
    const char *pattern; /* "/api/v1/experiments/{id}/log" */
    ApiHandler fn;
    ApiScope scope;
    const char *summary;
} ApiRoute;

struct Api {
    ApiConfig cfg;
    Store *store;
    char web_dir[PATH_MAX];
    char runs_root[PATH_MAX];
    char trainer[PATH_MAX];
    double started;
    atomic_int ws_port;
    atomic_uint_fast64_t ingested;
    /* rows ingested per wall-clock second over the last minute, for the rate gauge */
    pthread_mutex_t rate_mu;
    uint64_t rate_rows[60];
    long long rate_sec[60];
    atomic_uint_fast64_t requests[600];
    pthread_mutex_t cat_mu;
    json_t *catalogue; /* cached output of `angora-train --list-tasks` */
    double catalogue_at;
    char *openapi;
    ApiStateHook state_hook;
    void *state_hook_ctx;
    void *http; /* api_http.c */
};

/* the HTTP layer lives in api_http.c */
void api_http_destroy(Api *api);
void *api_http_get(const Api *api);
void api_http_set(Api *api, void *http);

void *api_http_get(const Api *api) {
    return api->http;
}

void api_http_set(Api *api, void *http) {
    api->http = http;
}

const ApiConfig *api_config(const Api *api);
const ApiConfig *api_config(const Api *api) {
    return &api->cfg;
}

static double ingest_rate(Api *api);

/* ---- responses ---- */

static void resp_json(ApiResponse *resp, int status, json_t *doc) {
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

static void resp_problem(ApiResponse *resp, int status, int code, const char *detail,
                         const char *field) {
    free(resp->body);
    resp->status = status;
    resp->content_type = "application/problem+json";
    resp->body = api_problem_body(status, code, detail, field);
    resp->body_len = resp->body ? strlen(resp->body) : 0;
    resp->detail = ag_error_name(code);
}

static int fail(ApiErr *e, int code, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int fail(ApiErr *e, int code, const char *field, const char *fmt, ...) {
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

/* ---- query arguments ---- */

static const char *arg(const ApiRequest *req, const char *name) {
    return req->arg ? req->arg(req->arg_ctx, name) : NULL;
}

/* an integer argument in [min, max] or def when absent */
static int arg_int(const ApiRequest *req, const char *name, long long def, long long min,
                   long long max, long long *out, ApiErr *e) {
    const char *v = arg(req, name);
    char *end;
    long long x;
    if (!v) {
        *out = def;
        return 0;
    }
    errno = 0;
    x = strtoll(v, &end, 10);
    if (!*v || *end || errno) {
        return fail(e, AG_EINVAL, name, "%s must be an integer, got \"%.64s\"", name, v);
    }
    if (x < min || x > max) {
        return fail(e, AG_EINVAL, name, "%s must be in [%lld, %lld], got %lld", name, min, max, x);
    }
    *out = x;
    return 0;
}

/* ---- body ---- */

static int body_json(const ApiRequest *req, json_t **out, ApiErr *e) {
    AgJsonErr je = {0};
    *out = NULL;
    if (!req->body || req->body_len == 0) {
        return fail(e, AG_EJSON, NULL, "a JSON request body is required");
    }
    *out = ag_json_parse(req->body, req->body_len, &je);
    if (!*out) {
        return fail(e, AG_EJSON, NULL, "%s", je.reason);
    }
    return 0;
}

static int spec_fail(ApiErr *e, const AgJsonErr *je, const char *prefix) {
    char path[AG_JSON_PATH_MAX];
    if (prefix && *prefix) {
        ag_json_path_key(path, sizeof(path), prefix, je->path);
    } else {
        snprintf(path, sizeof(path), "%s", je->path);
    }
    if (prefix && *prefix && !je->path[0]) {
        snprintf(path, sizeof(path), "%s", prefix);
    }
    return fail(e, AG_ESPEC, path, "%s%s%s", path, *path ? ": " : "", je->reason);
}

/* ---- the task catalogue ---- */

/* runs `trainer --list-tasks` and parses its output; NULL when it cannot */
static json_t *catalogue_load(const char *trainer) {
    int pipefd[2];
    pid_t pid;
    AgBuf out;
    char chunk[4096];
    json_t *doc = NULL;
    int status = 0;
    if (!trainer || !*trainer || pipe(pipefd) != 0) {
        return NULL;
    }
    pid = fork();
    if (pid < 0) {
        close(pipefd[0]);
        close(pipefd[1]);
        return NULL;
    }
    if (pid == 0) {
        int devnull = open("/dev/null", O_RDWR);
        dup2(pipefd[1], 1);
        if (devnull >= 0) {
            dup2(devnull, 0);
            dup2(devnull, 2);
        }
        close(pipefd[0]);
        close(pipefd[1]);
        execl(trainer, trainer, "--list-tasks", (char *)NULL);
        _exit(127);
    }
    close(pipefd[1]);
    ag_buf_init(&out, 0, API_CATALOGUE_MAX);
    for (;;) {
        ssize_t n = read(pipefd[0], chunk, sizeof(chunk));
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0 || ag_buf_append(&out, chunk, (size_t)n) != 0) {
            break;
        }
    }
    close(pipefd[0]);
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
        doc = json_loadb(out.data ? out.data : "", out.len, 0, NULL);
    } else {
        ag_log_warn("api: %s --list-tasks failed (status %d)", trainer, status);
    }
    ag_buf_free(&out);
    return doc;
}

/* the cached catalogue (new reference) or NULL; a failure is retried after a minute */
static json_t *catalogue_get(Api *api) {
    json_t *doc;
    pthread_mutex_lock(&api->cat_mu);
    if (!api->catalogue && (api->catalogue_at == 0 || ag_time_now() - api->catalogue_at > 60)) {
        api->catalogue = catalogue_load(api->trainer);
        api->catalogue_at = ag_time_now();
    }
    doc = json_incref(api->catalogue);
    pthread_mutex_unlock(&api->cat_mu);
    return doc;
}

/* the catalogue may be a list of tasks (objects with "name" or strings), an object keyed by
 * task name, or either one under "tasks" */
static int catalogue_has(const json_t *cat, const char *task) {
    size_t i;
    json_t *v;
    if (json_is_object(cat) && json_object_get(cat, "tasks")) {
        return catalogue_has(json_object_get(cat, "tasks"), task);
    }
    if (json_is_object(cat)) {
        return json_object_get(cat, task) != NULL;
    }
    json_array_foreach(cat, i, v) {
        const char *name = json_is_string(v) ? json_string_value(v)
                                             : json_string_value(json_object_get(v, "name"));
        if (name && !strcmp(name, task)) {
            return 1;
        }
    }
    return 0;
}

/* ---- validation of a submission ---- */

typedef struct Submission {
    AgSpec spec;
    long long priority;
    char *spec_text;
    char *tags_text;
} Submission;

static void submission_free(Submission *s) {
    ag_spec_free(&s->spec);
    free(s->spec_text);
    free(s->tags_text);
}

/* accepts {"spec": {...}, "priority": n} or a bare spec (priority from ?priority=) */
static int submission_parse(Api *api, const ApiRequest *req, Submission *sub, ApiErr *e) {
    static const char *const wrapper_keys[] = {"spec", "priority", NULL};
    json_t *doc = NULL, *spec_doc, *cat = NULL, *full = NULL, *tags;
    const char *prefix = "";
    AgJsonErr je = {0};
    int rc;
    memset(sub, 0, sizeof(*sub));
    rc = body_json(req, &doc, e);
    if (rc) {
        return rc;
    }
    if (!json_is_object(doc)) {
        rc = fail(e, AG_ESPEC, NULL, "the body must be a JSON object (an experiment spec)");
        goto out;
    }
    spec_doc = doc;
    if (json_object_get(doc, "spec")) {
        if (ag_json_check_keys(doc, "", wrapper_keys, &je) ||
            ag_json_get_int(doc, "", "priority", 0, -API_PRIORITY_MAX, API_PRIORITY_MAX,
                            &sub->priority, &je) ||
            ag_json_expect_object(json_object_get(doc, "spec"), "spec", &je)) {
            rc = spec_fail(e, &je, "");
            goto out;
        }
        spec_doc = json_object_get(doc, "spec");
        prefix = "spec";
    } else {
        rc = arg_int(req, "priority", 0, -API_PRIORITY_MAX, API_PRIORITY_MAX, &sub->priority, e);
        if (rc) {
            goto out;
        }
    }
    rc = ag_spec_parse(spec_doc, &sub->spec, &je);
    if (rc) {
        rc = spec_fail(e, &je, prefix);
        goto out;
    }
    if (api->cfg.max_cores > 0 && sub->spec.ranks > api->cfg.max_cores) {
        char path[AG_JSON_PATH_MAX];
        ag_json_path_key(path, sizeof(path), prefix, "ranks");
        rc = fail(e, AG_ESPEC, path, "%s: %d ranks exceed the %d cores this daemon may use", path,
                  sub->spec.ranks, api->cfg.max_cores);
        goto out;
    }
    cat = catalogue_get(api);
    if (cat && !catalogue_has(cat, sub->spec.task)) {
        char path[AG_JSON_PATH_MAX];
        ag_json_path_key(path, sizeof(path), prefix, "task");
        rc = fail(e, AG_ESPEC, path, "%s: unknown task \"%s\" (GET /api/v1/catalogue lists them)",
                  path, sub->spec.task);
        goto out;
    }
    full = ag_spec_to_json(&sub->spec);
    tags = json_array();
    for (int i = 0; tags && i < sub->spec.num_tags; i++) {
        json_array_append_new(tags, json_string(sub->spec.tags[i]));
    }
    sub->spec_text = full ? json_dumps(full, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    sub->tags_text = tags ? json_dumps(tags, JSON_COMPACT) : NULL;
    json_decref(tags);
    if (!sub->spec_text || !sub->tags_text) {
        rc = fail(e, AG_ENOMEM, NULL, "out of memory");
    }
out:
    json_decref(full);
    json_decref(cat);
    json_decref(doc);
    if (rc) {
        submission_free(sub);
    }
    return rc;
}

/* ---- handlers: service ---- */

static int h_health(Api *api, const ApiRequest *req, const ApiParams *p, ApiResponse *resp,
                    ApiErr *e) {
    int version = 0;
    char msg[256];
    (void)req;
    (void)p;
    if (store_schema_version(api->store, &version, msg, sizeof(msg)) != 0) {
        return fail(e, AG_EBUSY, NULL, "database unavailable: %s", msg);
    }
    resp_json(resp, 200,
              json_pack("{s:s,s:s,s:i,s:f}", "status", "ok", "version", ANGORA_VERSION, "schema",
                        version, "uptime_s", ag_time_now() - api->started));
    return 0;
}

static int h_info(Api *api, const ApiRequest *req, const ApiParams *p, ApiResponse *resp,
                  ApiErr *e) {
    json_t *o;
    int ws = atomic_load(&api->ws_port);
    (void)req;
    (void)p;
    (void)e;
    o = json_pack("{s:s,s:i,s:i,s:s,s:b}", "version", ANGORA_VERSION, "port", api_port(api),
                  "max_cores", api->cfg.max_cores, "api", API_PREFIX, "dashboard",
                  api->web_dir[0] != '\0');
    json_object_set_new(o, "websocket_port", ws > 0 ? json_integer(ws) : json_null());
    resp_json(resp, 200, o);
    return 0;
}

static int h_prometheus(Api *api, const ApiRequest *req, const ApiParams *p, ApiResponse *resp,
                        ApiErr *e) {
    AgBuf b;
    json_t *counts = NULL, *v;
    const char *k;
    char msg[256];
    (void)req;
    (void)p;
    if (store_exp_counts(api->store, &counts, msg, sizeof(msg)) != 0) {
        return fail(e, AG_EDB, NULL, "%s", msg);
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

static int h_openapi(Api *api, const ApiRequest *req, const ApiParams *p, ApiResponse *resp,
                     ApiErr *e) {
    (void)req;
    (void)p;
    if (!api->openapi) {
        return fail(e, AG_ENOMEM, NULL, "no OpenAPI document");
    }
    resp->status = 200;
    resp->content_type = "application/json";
    resp->body = strdup(api->openapi);
    resp->body_len = resp->body ? strlen(resp->body) : 0;
    return 0;
}

static int h_catalogue(Api *api, const ApiRequest *req, const ApiParams *p, ApiResponse *resp,
                       ApiErr *e) {
    json_t *o = json_object(), *defaults = json_object(), *presets = json_array();
    json_t *cat = catalogue_get(api);
    (void)req;
    (void)p;
    (void)e;
    for (int i = 0; ag_spec_preset_names[i]; i++) {
        json_array_append_new(presets, json_string(ag_spec_preset_names[i]));
        json_object_set_new(defaults, ag_spec_preset_names[i],
                            ag_spec_defaults_json(ag_spec_preset_names[i]));
    }
    json_object_set_new(o, "tasks", cat ? cat : json_null());
    json_object_set_new(o, "presets", presets);
    json_object_set_new(o, "defaults", defaults);
    resp_json(resp, 200, o);
    return 0;
}

static int h_validate(Api *api, const ApiRequest *req, const ApiParams *p, ApiResponse *resp,
                      ApiErr *e) {
    Submission sub;
    json_t *spec;
    int rc = submission_parse(api, req, &sub, e);
    (void)p;
    if (rc) {
        return rc;
    }
    spec = json_loads(sub.spec_text, 0, NULL);
    resp_json(resp, 200,
              json_pack("{s:b,s:o,s:I,s:I}", "valid", 1, "spec", spec ? spec : json_null(),
                        "iterations", (json_int_t)ag_spec_iterations(&sub.spec), "priority",
                        (json_int_t)sub.priority));
    submission_free(&sub);
    return 0;
}

/* ---- handlers: experiments ---- */

static int store_fail(ApiErr *e, int rc, const char *msg) {
    return fail(e, rc, NULL, "%s", msg);
}

static int h_exp_submit(Api *api, const ApiRequest *req, const ApiParams *p, ApiResponse *resp,
                        ApiErr *e) {
    Submission sub;
    StoreExpNew n = {0};
    int64_t id = 0;
    char msg[512];
    json_t *o = NULL;
    int rc = submission_parse(api, req, &sub, e);
    (void)p;
    if (rc) {
        return rc;
    }
    n.name = sub.spec.name;
    n.task = sub.spec.task;
    n.spec_json = sub.spec_text;
    n.tags_json = sub.tags_text;
    n.notes = sub.spec.notes;
    n.priority = (int)sub.priority;
    n.ranks = sub.spec.ranks;
    rc = store_exp_insert(api->store, &n, api->runs_root, &id, msg, sizeof(msg));
    submission_free(&sub);
    if (rc) {
        return store_fail(e, rc, msg);
    }
    store_event_add(api->store, id, "submitted", NULL);
    if (api->state_hook) {
        api->state_hook(api->state_hook_ctx, id, "queued", NULL);
    }
    rc = store_exp_get_json(api->store, id, &o, msg, sizeof(msg));
    if (rc) {
        return store_fail(e, rc, msg);
    }
    snprintf(resp->header, sizeof(resp->header), "Location: " API_PREFIX "/experiments/%lld",
             (long long)id);
    resp_json(resp, 201, o);
    return 0;
}

static int valid_state(const char *s) {
    static const char *const states[] = {"queued",    "running", "paused",
                                         "succeeded", "failed",  "cancelled"};
    for (size_t i = 0; i < sizeof(states) / sizeof(states[0]); i++) {
        if (!strcmp(s, states[i])) {
            return 1;
        }
    }
    return 0;
}

#define LIST_Q_MAX 128

/* "12", "-5": an optional minus and decimal digits */
static int text_is_integer(const char *c) {
    if (*c == '-') {
        c++;
    }
    return *c && c[strspn(c, "0123456789")] == '\0';
}

/* a 422 problem naming the list parameter that is wrong */
static int list_bad(ApiResponse *resp, const char *field, const char *detail) {
    resp_problem(resp, 422, AG_EINVAL, detail, field);
    return 0;
}

static int h_exp_list(Api *api, const ApiRequest *req, const ApiParams *p, ApiResponse *resp,
                      ApiErr *e) {
    StoreExpFilter f = {0};
    long long limit = 0, cursor = 0, parent = 0;
    json_t *items = NULL;
    char next[STORE_CURSOR_MAX];
    char msg[512];
    const char *order, *c;
    int rc;
    (void)p;
    f.state = arg(req, "state");
    f.task = arg(req, "task");
    f.tag = arg(req, "tag");
    f.q = arg(req, "q");
    f.sort = arg(req, "sort");
    order = arg(req, "order");
    c = arg(req, "cursor");
    if (f.state && !valid_state(f.state)) {
        return fail(e, AG_EINVAL, "state",
                    "state must be queued, running, paused, succeeded, failed or cancelled");
    }
    if (f.q) {
        size_t n = strlen(f.q);
        if (n > LIST_Q_MAX) {
            return list_bad(resp, "q", "q must be at most 128 bytes");
        }
        for (size_t i = 0; i < n; i++) {
            if ((unsigned char)f.q[i] < 0x20 || f.q[i] == 0x7f) {
                return list_bad(resp, "q", "q must not contain control characters");
            }
        }
    }
    if (f.sort && !store_exp_sort_known(f.sort)) {
        return list_bad(resp, "sort", "sort must be one of " STORE_EXP_SORTS);
    }
    if (order && strcmp(order, "asc") && strcmp(order, "desc")) {
        return list_bad(resp, "order", "order must be asc or desc");
    }
    /* names and states read A-Z by default, times and numbers newest/largest first */
    f.ascending = order ? !strcmp(order, "asc") : store_exp_sort_ascending(f.sort);
    if ((rc = arg_int(req, "limit", 100, 1, 1000, &limit, e))) {
        return rc;
    }
    if (arg_int(req, "parent", 0, 1, INT64_MAX, &parent, e)) {
        return list_bad(resp, "parent", e->detail);
    }
    f.parent_id = parent;
    /* a numeric cursor is an id (the submitted order); anything else is a sorted-page token */
    if (c && text_is_integer(c)) {
        if ((rc = arg_int(req, "cursor", 0, 0, INT64_MAX, &cursor, e))) {
            return rc;
        }
        if (f.sort && strcmp(f.sort, "submitted") && cursor) {
            return list_bad(resp, "cursor", "cursor is not one of this listing's pages");
        }
    } else if (c) {
        f.after = c;
    }
    f.limit = (int)limit;
    f.cursor = cursor;
    rc = store_exp_list_page(api->store, &f, &items, next, sizeof(next), msg, sizeof(msg));
    if (rc == AG_EINVAL) {
        return list_bad(resp, "cursor", msg);
    }
    if (rc) {
        return store_fail(e, rc, msg);
    }
    {
        json_t *nc = json_null();
        if (next[0] && (!f.sort || !strcmp(f.sort, "submitted"))) {
            nc = json_integer(strtoll(next, NULL, 10));
        } else if (next[0]) {
            nc = json_string(next);
        }
        resp_json(resp, 200, json_pack("{s:o,s:o}", "items", items, "next_cursor", nc));
    }
    return 0;
}

static int h_exp_get(Api *api, const ApiRequest *req, const ApiParams *p, ApiResponse *resp,
                     ApiErr *e) {
    json_t *o = NULL;
    char msg[512];
    int rc = store_exp_get_json(api->store, p->id, &o, msg, sizeof(msg));
    (void)req;
    if (rc) {
        return store_fail(e, rc, msg);
    }
    resp_json(resp, 200, o);
    return 0;
}

static int remove_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw) {
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static int h_exp_delete(Api *api, const ApiRequest *req, const ApiParams *p, ApiResponse *resp,
                        ApiErr *e) {
    char dir[STORE_PATH_MAX], msg[512];
    size_t root_len = strlen(api->runs_root);
    int rc = store_exp_delete(api->store, p->id, dir, sizeof(dir), msg, sizeof(msg));
    (void)req;
    if (rc) {
        return store_fail(e, rc, msg);
    }
    /* only ever below the runs folder */
    if (dir[0] && strncmp(dir, api->runs_root, root_len) == 0 && dir[root_len] == '/') {
        nftw(dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
    }
    resp_json(resp, 200, json_pack("{s:I,s:b}", "id", (json_int_t)p->id, "deleted", 1));
    return 0;
}

static int exp_action(Api *api, const ApiParams *p, ApiResponse *resp, ApiErr *e,
                      int (*fn)(Store *, int64_t, char *, char *, size_t), const char *what) {
    char state[STORE_STATE_MAX] = "", msg[512];
    json_t *o = NULL;
    int rc = fn(api->store, p->id, state, msg, sizeof(msg));
    if (rc) {
        return store_fail(e, rc, msg);
    }
    store_event_add(api->store, p->id, what, NULL);
    if (api->state_hook && strcmp(state, "running") != 0) {
        api->state_hook(api->state_hook_ctx, p->id, state, NULL);
    }
    rc = store_exp_get_json(api->store, p->id, &o, msg, sizeof(msg));
    if (rc) {
        return store_fail(e, rc, msg);
    }
    /* a running experiment changes when the scheduler has acted: 202 */
    resp_json(resp, strcmp(state, "running") == 0 ? 202 : 200, o);
    return 0;
}

static int h_exp_cancel(Api *api, const ApiRequest *req, const ApiParams *p, ApiResponse *resp,
                        ApiErr *e) {
    (void)req;
    return exp_action(api, p, resp, e, store_exp_cancel, "cancel-requested");
}

static int h_exp_pause(Api *api, const ApiRequest *req, const ApiParams *p, ApiResponse *resp,
                       ApiErr *e) {
    (void)req;
    return exp_action(api, p, resp, e, store_exp_pause, "pause-requested");
}

static int h_exp_resume(Api *api, const ApiRequest *req, const ApiParams *p, ApiResponse *resp,
                        ApiErr *e) {
    (void)req;
    return exp_action(api, p, resp, e, store_exp_resume, "resumed");
}

static int tag_ok(const char *t) {
    size_t n = strlen(t);
    if (n == 0 || n >= 64) {
        return 0;
    }
    for (; *t; t++) {
        if ((unsigned char)*t < 0x20 || *t == 0x7f) {
            return 0;
        }
    }
    return 1;
}

static int h_exp_tags(Api *api, const ApiRequest *req, const ApiParams *p, ApiResponse *resp,
                      ApiErr *e) {
    json_t *doc = NULL, *tags, *v, *o = NULL;
    char path[AG_JSON_PATH_MAX], msg[512], *text = NULL;
    size_t i;
    int rc = body_json(req, &doc, e);
    if (rc) {
        return rc;
    }
    tags = json_is_object(doc) ? json_object_get(doc, "tags") : NULL;
    if (!json_is_array(tags)) {
        rc = fail(e, AG_ESPEC, "tags", "tags: expected {\"tags\": [\"name\", ...]}");
        goto out;
    }
    if (json_array_size(tags) > 16) {
        rc = fail(e, AG_ESPEC, "tags", "tags: at most 16 tags");
        goto out;
    }
    json_array_foreach(tags, i, v) {
        if (!json_is_string(v) || !tag_ok(json_string_value(v))) {
            ag_json_path_index(path, sizeof(path), "tags", i);
            rc = fail(e, AG_ESPEC, path, "%s: a tag is a string of 1 to 63 printable characters",
                      path);
            goto out;
        }
    }
    text = json_dumps(tags, JSON_COMPACT);
    rc = store_exp_annotate(api->store, p->id, text, NULL, msg, sizeof(msg));
    if (rc == 0) {
        rc = store_exp_get_json(api->store, p->id, &o, msg, sizeof(msg));
    }
    if (rc) {
        rc = store_fail(e, rc, msg);
        goto out;
    }
    resp_json(resp, 200, o);
out:
    free(text);
    json_decref(doc);
    return rc;
}

static int h_exp_notes(Api *api, const ApiRequest *req, const ApiParams *p, ApiResponse *resp,
                       ApiErr *e) {
    json_t *doc = NULL, *notes, *o = NULL;
    char msg[512];
    int rc = body_json(req, &doc, e);
    if (rc) {
        return rc;
    }
    notes = json_is_object(doc) ? json_object_get(doc, "notes") : NULL;
    if (!json_is_string(notes)) {
        rc = fail(e, AG_ESPEC, "notes", "notes: expected {\"notes\": \"text\"}");
        goto out;
    }
    if (json_string_length(notes) > API_NOTES_MAX) {
        rc = fail(e, AG_ESPEC, "notes", "notes: at most %d bytes", API_NOTES_MAX);
        goto out;
    }
    rc = store_exp_annotate(api->store, p->id, NULL, json_string_value(notes), msg, sizeof(msg));
    if (rc == 0) {
        rc = store_exp_get_json(api->store, p->id, &o, msg, sizeof(msg));
    }
    if (rc) {
        rc = store_fail(e, rc, msg);
        goto out;
    }
    resp_json(resp, 200, o);
out:
    json_decref(doc);
    return rc;
}

static int h_exp_events(Api *api, const ApiRequest *req, const ApiParams *p, ApiResponse *resp,
                        ApiErr *e) {
    json_t *ev = NULL, *o = NULL;
    long long limit = 100;
    char msg[512];
    int rc = arg_int(req, "limit", 100, 1, 1000, &limit, e);
    if (rc) {
        return rc;
    }
    rc = store_exp_get_json(api->store, p->id, &o, msg, sizeof(msg));
    json_decref(o);
    if (rc == 0) {
        rc = store_event_list(api->store, p->id, (int)limit, &ev, msg, sizeof(msg));
    }
    if (rc) {
        return store_fail(e, rc, msg);
    }
    resp_json(resp, 200, json_pack("{s:o}", "items", ev));
    return 0;
}

/* ---- handlers: metrics ---- */

/* 404 for an unknown experiment */
static int exp_exists(Api *api, int64_t id, ApiErr *e) {
    StoreRun r;
    char msg[512];
    int rc = store_run_get(api->store, id, &r, msg, sizeof(msg));
    return rc ? store_fail(e, rc, msg) : 0;
}

static int key_ok(const char *k) {
    size_t n = strlen(k);
    if (n == 0 || n > 64) {
        return 0;
    }
    for (; *k; k++) {
        if (!((*k >= 'a' && *k <= 'z') || (*k >= 'A' && *k <= 'Z') || (*k >= '0' && *k <= '9') ||
              *k == '_' || *k == '.' || *k == '-' || *k == '/')) {
            return 0;
        }
    }
    return 1;
}

static int h_metric_keys(Api *api, const ApiRequest *req, const ApiParams *p, ApiResponse *resp,
                         ApiErr *e) {
    json_t *keys = NULL;
    char msg[512];
    int rc = exp_exists(api, p->id, e);
    (void)req;
    if (rc) {
        return rc;
    }
    rc = store_metric_keys(api->store, p->id, &keys, msg, sizeof(msg));
    if (rc) {
        return store_fail(e, rc, msg);
    }
    resp_json(resp, 200, json_pack("{s:o}", "keys", keys));
    return 0;
}

static int h_metric_series(Api *api, const ApiRequest *req, const ApiParams *p, ApiResponse *resp,
                           ApiErr *e) {
    const char *key = arg(req, "key"), *x = arg(req, "x");
    long long points;
    double *xs = NULL, *ys = NULL;
    size_t n = 0;
    char msg[512];
    json_t *o;
    int rc;
    if (!key) {
        return fail(e, AG_EINVAL, "key", "the query argument key (a metric name) is required");
    }
    if (!key_ok(key)) {
        return fail(e, AG_EINVAL, "key", "key must be a metric name ([A-Za-z0-9_./-], <= 64)");
    }
    if (x && !key_ok(x)) {
        return fail(e, AG_EINVAL, "x", "x must be a metric name ([A-Za-z0-9_./-], <= 64)");
    }
    if ((rc = arg_int(req, "points", 1000, 3, 100000, &points, e)) ||
        (rc = exp_exists(api, p->id, e))) {
        return rc;
    }
    rc = store_metric_series(api->store, p->id, x, key, &xs, &ys, &n, msg, sizeof(msg));
    if (rc) {
        return store_fail(e, rc, msg);
    }
    o = api_downsample(xs, ys, n, (size_t)points);
    free(xs);
    free(ys);
    if (!o) {
        return fail(e, AG_ENOMEM, NULL, "out of memory");
    }
    json_object_set_new(o, "key", json_string(key));
    json_object_set_new(o, "x_key", json_string(x ? x : "iteration"));
    json_object_set_new(o, "source_points", json_integer((json_int_t)n));
    resp_json(resp, 200, o);
    return 0;
}

typedef struct ExportCtx {
    AgBuf *buf;
    json_t *keys;
    int csv;
    int first;
} ExportCtx;

static int export_row(void *ctx, int64_t seq, const char *row, size_t len) {
    ExportCtx *x = ctx;
    json_t *o, *v;
    size_t i;
    int rc = 0;
    if (!x->csv) {
        rc = ag_buf_printf(x->buf, "%s{\"seq\":%lld,\"row\":", x->first ? "" : ",", (long long)seq);
        if (rc == 0) {
            rc = ag_buf_append(x->buf, row, len);
        }
        if (rc == 0) {
            rc = ag_buf_append(x->buf, "}", 1);
        }
        x->first = 0;
        return rc;
    }
    o = json_loadb(row, len, 0, NULL);
    rc = ag_buf_printf(x->buf, "%lld", (long long)seq);
    json_array_foreach(x->keys, i, v) {
        json_t *val = json_object_get(o, json_string_value(v));
        if (rc) {
            break;
        }
        if (json_is_integer(val)) {
            rc = ag_buf_printf(x->buf, ",%lld", (long long)json_integer_value(val));
        } else if (json_is_real(val)) {
            rc = ag_buf_printf(x->buf, ",%.9g", json_real_value(val));
        } else {
            rc = ag_buf_append(x->buf, ",", 1);
        }
    }
    if (rc == 0) {
        rc = ag_buf_append(x->buf, "\n", 1);
    }
    json_decref(o);
    return rc;
}

static int h_metric_export(Api *api, const ApiRequest *req, const ApiParams *p, ApiResponse *resp,
                           ApiErr *e) {
    const char *format = arg(req, "format");
    long long after = 0, limit = 0;
    AgBuf b;
    ExportCtx x = {0};
    char msg[512];
    size_t i;
    json_t *v;
    int rc;
    if (format && strcmp(format, "csv") != 0 && strcmp(format, "json") != 0) {
        return fail(e, AG_EINVAL, "format", "format must be csv or json");
    }
    if ((rc = arg_int(req, "after_seq", 0, 0, INT64_MAX, &after, e)) ||
        (rc = arg_int(req, "limit", 0, 0, 10000000, &limit, e)) ||
        (rc = exp_exists(api, p->id, e))) {
        return rc;
    }
    x.csv = format && !strcmp(format, "csv");
    x.first = 1;
    x.buf = &b;
    ag_buf_init(&b, 1u << 16, API_EXPORT_MAX);
    if (x.csv) {
        rc = store_metric_keys(api->store, p->id, &x.keys, msg, sizeof(msg));
        if (rc) {
            ag_buf_free(&b);
            return store_fail(e, rc, msg);
        }
        ag_buf_append_str(&b, "seq");
        json_array_foreach(x.keys, i, v) ag_buf_printf(&b, ",%s", json_string_value(v));
        ag_buf_append_str(&b, "\n");
    } else {
        ag_buf_printf(&b, "{\"id\":%lld,\"rows\":[", (long long)p->id);
    }
    rc = store_metric_rows(api->store, p->id, after, limit, export_row, &x, msg, sizeof(msg));
    json_decref(x.keys);
    if (rc == 0 && !x.csv) {
        rc = ag_buf_append_str(&b, "]}");
    }
    if (rc) {
        ag_buf_free(&b);
        if (rc == AG_ETOOBIG) {
            return fail(e, rc, NULL, "the export exceeds %u MiB: page it with after_seq and limit",
                        API_EXPORT_MAX >> 20);
        }
        return store_fail(e, rc, msg);
    }
    resp->status = 200;
    resp->content_type = x.csv ? "text/csv; charset=utf-8" : "application/json";
    if (x.csv) {
        snprintf(resp->header, sizeof(resp->header),
                 "Content-Disposition: attachment; filename=\"experiment-%lld-metrics.csv\"",
                 (long long)p->id);
    }
    resp->body_len = b.len;
    resp->body = ag_buf_steal(&b);
    return 0;
}

/* ---- handlers: run files ---- */

static int run_dir_of(Api *api, int64_t id, char *dir, size_t dir_sz, ApiErr *e) {
    StoreRun r;
    char msg[512];
    int rc = store_run_get(api->store, id, &r, msg, sizeof(msg));
    if (rc) {
        return store_fail(e, rc, msg);
    }
    snprintf(dir, dir_sz, "%s", r.run_dir);
    return 0;
}

static int h_checkpoints(Api *api, const ApiRequest *req, const ApiParams *p, ApiResponse *resp,
                         ApiErr *e) {
    char dir[STORE_PATH_MAX], path[PATH_MAX + 300];
    json_t *items = json_array();
    DIR *d;
    struct dirent *de;
    int rc = run_dir_of(api, p->id, dir, sizeof(dir), e);
    (void)req;
    if (rc) {
        json_decref(items);
        return rc;
    }
    snprintf(path, sizeof(path), "%s/checkpoints", dir);
    d = opendir(path);
    while (d && (de = readdir(d)) != NULL) {
        struct stat sb;
        size_t len = strlen(de->d_name);
        char file[PATH_MAX + 600];
        if (de->d_name[0] == '.' || len < 6 || strcmp(de->d_name + len - 5, ".ckpt") != 0) {
            continue;
        }
        snprintf(file, sizeof(file), "%s/%s", path, de->d_name);
        if (stat(file, &sb) != 0 || !S_ISREG(sb.st_mode)) {
            continue;
        }
        json_array_append_new(items,
                              json_pack("{s:s,s:I,s:f}", "name", de->d_name, "size",
                                        (json_int_t)sb.st_size, "modified", (double)sb.st_mtime));
    }
    if (d) {
        closedir(d);
    }
    resp_json(resp, 200, json_pack("{s:o}", "items", items));
    return 0;
}

static int file_name_ok(const char *n, const char *ext) {
    size_t len = strlen(n), el = strlen(ext);
    if (len <= el || len > 100 || n[0] == '.' || strcmp(n + len - el, ext) != 0) {
        return 0;
    }
    for (; *n; n++) {
        if (!((*n >= 'a' && *n <= 'z') || (*n >= 'A' && *n <= 'Z') || (*n >= '0' && *n <= '9') ||
              *n == '_' || *n == '.' || *n == '-')) {
            return 0;
        }
    }
    return 1;
}

static int h_checkpoint_get(Api *api, const ApiRequest *req, const ApiParams *p, ApiResponse *resp,
                            ApiErr *e) {
    char dir[STORE_PATH_MAX], path[PATH_MAX];
    struct stat sb;
    int rc;
    (void)req;
    if (!file_name_ok(p->name, ".ckpt")) {
        return fail(e, AG_EINVAL, "name", "a checkpoint name is [A-Za-z0-9_.-]+.ckpt");
    }
    rc = run_dir_of(api, p->id, dir, sizeof(dir), e);
    if (rc) {
        return rc;
    }
    snprintf(path, sizeof(path), "%s/checkpoints/%s", dir, p->name);
    if (stat(path, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        return fail(e, AG_ENOTFOUND, "name", "experiment %lld has no checkpoint %s",
                    (long long)p->id, p->name);
    }
    resp->status = 200;
    resp->content_type = "application/octet-stream";
    resp->file_path = strdup(path);
    snprintf(resp->header, sizeof(resp->header),
             "Content-Disposition: attachment; filename=\"experiment-%lld-%s\"", (long long)p->id,
             p->name);
    return resp->file_path ? 0 : fail(e, AG_ENOMEM, NULL, "out of memory");
}

static int h_log(Api *api, const ApiRequest *req, const ApiParams *p, ApiResponse *resp,
                 ApiErr *e) {
    const char *which = arg(req, "file");
    char dir[STORE_PATH_MAX], path[PATH_MAX];
    long long tail, offset, length;
    struct stat sb;
    FILE *f;
    size_t n;
    int rc;
    if (which && strcmp(which, "train") != 0 && strcmp(which, "worker") != 0) {
        return fail(e, AG_EINVAL, "file", "file must be train (train.log) or worker (output)");
    }
    if ((rc = arg_int(req, "tail", 65536, 1, API_LOG_TAIL_MAX, &tail, e)) ||
        (rc = arg_int(req, "offset", -1, 0, INT64_MAX, &offset, e)) ||
        (rc = arg_int(req, "length", 65536, 1, API_LOG_TAIL_MAX, &length, e)) ||
        (rc = run_dir_of(api, p->id, dir, sizeof(dir), e))) {
        return rc;
    }
    snprintf(path, sizeof(path), "%s/%s", dir,
             which && !strcmp(which, "worker") ? "worker.log" : "train.log");
    f = fopen(path, "rb");
    if (!f || fstat(fileno(f), &sb) != 0) {
        if (f) {
            fclose(f);
        }
        return fail(e, AG_ENOTFOUND, "file", "experiment %lld has no log yet", (long long)p->id);
    }
    if (offset < 0) {
        offset = sb.st_size > tail ? sb.st_size - tail : 0;
        length = sb.st_size - offset;
    }
    if (offset > sb.st_size) {
        offset = sb.st_size;
    }
    if (offset + length > sb.st_size) {
        length = sb.st_size - offset;
    }
    resp->body = malloc((size_t)length + 1);
    if (!resp->body) {
        fclose(f);
        return fail(e, AG_ENOMEM, NULL, "out of memory");
    }
    fseeko(f, offset, SEEK_SET);
    n = fread(resp->body, 1, (size_t)length, f);
    fclose(f);
    resp->body[n] = '\0';
    resp->body_len = n;
    resp->status = 200;
    resp->content_type = "text/plain; charset=utf-8";
    snprintf(resp->header, sizeof(resp->header), "X-Log-Range: %lld-%lld/%lld", offset,
             offset + (long long)n, (long long)sb.st_size);
    return 0;
}

static int h_evaluate(Api *api, const ApiRequest *req, const ApiParams *p, ApiResponse *resp,
                      ApiErr *e) {
    static const char *const keys[] = {"episodes", "checkpoint", "deterministic", "record", NULL};
    json_t *doc = NULL, *parent = NULL, *spec = NULL, *o = NULL;
    AgJsonErr je = {0};
    long long episodes = 10;
    int det = 1, record = 0;
    char ckpt[128], msg[512], name[160], *spec_text = NULL;
    StoreExpNew n = {0};
    int64_t id = 0;
    int rc;
    if (req->body_len > 0) {
        rc = body_json(req, &doc, e);
        if (rc) {
            return rc;
        }
    } else {
        doc = json_object();
    }
    if (ag_json_expect_object(doc, "", &je) || ag_json_check_keys(doc, "", keys, &je) ||
        ag_json_get_int(doc, "", "episodes", 10, 1, 10000, &episodes, &je) ||
        ag_json_get_string(doc, "", "checkpoint", "last.ckpt", ckpt, sizeof(ckpt), &je) ||
        ag_json_get_bool(doc, "", "deterministic", 1, &det, &je) ||
        ag_json_get_bool(doc, "", "record", 0, &record, &je)) {
        rc = spec_fail(e, &je, "");
        goto out;
    }
    if (!file_name_ok(ckpt, ".ckpt")) {
        rc = fail(e, AG_ESPEC, "checkpoint", "checkpoint: a name like last.ckpt");
        goto out;
    }
    rc = store_exp_get_json(api->store, p->id, &parent, msg, sizeof(msg));
    if (rc) {
        rc = store_fail(e, rc, msg);
        goto out;
    }
    if (strcmp(json_string_value(json_object_get(parent, "kind")), "train") != 0) {
        rc = fail(e, AG_ESTATE, NULL, "experiment %lld is itself an evaluation", (long long)p->id);
        goto out;
    }
    spec = json_pack("{s:s,s:s,s:I,s:b,s:b,s:I}", "task",
                     json_string_value(json_object_get(parent, "task")), "checkpoint", ckpt,
                     "episodes", (json_int_t)episodes, "deterministic", det, "record", record,
                     "parent", (json_int_t)p->id);
    spec_text = json_dumps(spec, JSON_COMPACT | JSON_SORT_KEYS);
    snprintf(name, sizeof(name), "evaluation of %lld", (long long)p->id);
    n.name = name;
    n.task = json_string_value(json_object_get(parent, "task"));
    n.spec_json = spec_text;
    n.kind = "evaluate";
    n.parent_id = p->id;
    n.priority = (int)json_integer_value(json_object_get(parent, "priority"));
    n.ranks = 1;
    rc = store_exp_insert(api->store, &n, api->runs_root, &id, msg, sizeof(msg));
    if (rc == 0) {
        rc = store_exp_get_json(api->store, id, &o, msg, sizeof(msg));
    }
    if (rc) {
        rc = store_fail(e, rc, msg);
        goto out;
    }
    snprintf(resp->header, sizeof(resp->header), "Location: " API_PREFIX "/experiments/%lld",
             (long long)id);
    resp_json(resp, 201, o);
out:
    free(spec_text);
    json_decref(spec);
    json_decref(parent);
    json_decref(doc);
    return rc;
}

static int h_evaluation_result(Api *api, const ApiRequest *req, const ApiParams *p,
                               ApiResponse *resp, ApiErr *e) {
    char dir[STORE_PATH_MAX], path[PATH_MAX];
    int rc = run_dir_of(api, p->id, dir, sizeof(dir), e);
    (void)req;
    if (rc) {
        return rc;
    }
    snprintf(path, sizeof(path), "%s/evaluation.json", dir);
    if (access(path, R_OK) != 0) {
        return fail(e, AG_ENOTFOUND, NULL, "experiment %lld has no evaluation result",
                    (long long)p->id);
    }
    resp->status = 200;
    resp->content_type = "application/json";
    resp->file_path = strdup(path);
    return resp->file_path ? 0 : fail(e, AG_ENOMEM, NULL, "out of memory");
}

/* a recording written by a `"record": true` evaluation job into its run directory */
static int evaluation_file(Api *api, const ApiParams *p, const char *file, const char *what,
                           const char *type, ApiResponse *resp, ApiErr *e) {
    char dir[STORE_PATH_MAX], path[PATH_MAX];
    struct stat sb;
    int rc = run_dir_of(api, p->id, dir, sizeof(dir), e);
    if (rc) {
        return rc;
    }
    snprintf(path, sizeof(path), "%s/%s", dir, file);
    if (stat(path, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        return fail(e, AG_ENOTFOUND, NULL,
                    "experiment %lld has no evaluation %s (only finished evaluation jobs queued "
                    "with \"record\": true on a MuJoCo task have one)",
                    (long long)p->id, what);
    }
    resp->status = 200;
    resp->content_type = type;
    resp->file_path = strdup(path);
    snprintf(resp->header, sizeof(resp->header),
             "Content-Disposition: attachment; filename=\"experiment-%lld-%s\"", (long long)p->id,
             file);
    return resp->file_path ? 0 : fail(e, AG_ENOMEM, NULL, "out of memory");
}

static int h_evaluation_video(Api *api, const ApiRequest *req, const ApiParams *p,
                              ApiResponse *resp, ApiErr *e) {
    (void)req;
    return evaluation_file(api, p, "evaluation.mp4", "video", "video/mp4", resp, e);
}

static int h_evaluation_trajectory(Api *api, const ApiRequest *req, const ApiParams *p,
                                   ApiResponse *resp, ApiErr *e) {
    (void)req;
    return evaluation_file(api, p, "trajectory.json", "trajectory", "application/json", resp, e);
}

/* ---- handlers: tokens ---- */

static int h_tokens_list(Api *api, const ApiRequest *req, const ApiParams *p, ApiResponse *resp,
                         ApiErr *e) {
    json_t *items = NULL;
    char msg[512];
    int rc = store_token_list(api->store, &items, msg, sizeof(msg));
    (void)req;
    (void)p;
    if (rc) {
        return store_fail(e, rc, msg);
    }
    resp_json(resp, 200, json_pack("{s:o}", "items", items));
    return 0;
}

static int h_tokens_create(Api *api, const ApiRequest *req, const ApiParams *p, ApiResponse *resp,
                           ApiErr *e) {
    static const char *const keys[] = {"name", "scope", NULL};
    static const char *const scopes[] = {"read", "full", NULL};
    json_t *doc = NULL;
    AgJsonErr je = {0};
    char name[64], token[API_TOKEN_LEN + 1], hash[65], msg[512];
    int scope = 0, rc;
    int64_t id = 0;
    (void)p;
    rc = body_json(req, &doc, e);
    if (rc) {
        return rc;
    }
    if (ag_json_expect_object(doc, "", &je) || ag_json_check_keys(doc, "", keys, &je) ||
        ag_json_get_string(doc, "", "name", "", name, sizeof(name), &je) ||
        ag_json_get_enum(doc, "", "scope", scopes, 0, &scope, &je)) {
        rc = spec_fail(e, &je, "");
        goto out;
    }
    if (!name[0]) {
        rc = fail(e, AG_ESPEC, "name", "name: required, a label for the token");
        goto out;
    }
    if ((rc = api_token_generate(token, msg, sizeof(msg))) ||
        (rc = api_sha256_hex(token, API_TOKEN_LEN, hash)) ||
        (rc = store_token_add(api->store, hash, scopes[scope], name, &id, msg, sizeof(msg)))) {
        rc = store_fail(e, rc, msg);
        goto out;
    }
    /* the only time the token is ever shown */
    resp_json(resp, 201,
              json_pack("{s:I,s:s,s:s,s:s}", "id", (json_int_t)id, "name", name, "scope",
                        scopes[scope], "token", token));
    memset(token, 0, sizeof(token));
out:
    json_decref(doc);
    return rc;
}

static int h_tokens_revoke(Api *api, const ApiRequest *req, const ApiParams *p, ApiResponse *resp,
                           ApiErr *e) {
    char msg[512];
    int rc = store_token_revoke(api->store, p->id, msg, sizeof(msg));
    (void)req;
    if (rc) {
        return store_fail(e, rc, msg);
    }
    resp_json(resp, 200, json_pack("{s:I,s:b}", "id", (json_int_t)p->id, "revoked", 1));
    return 0;
}

/* ---- the route table ---- */

static const ApiRoute routes[] = {
    {"GET", "/api/v1/health", h_health, SCOPE_NONE, "Liveness and database check (no token)"},
    {"GET", "/metrics", h_prometheus, SCOPE_READ, "Prometheus text metrics"},
    {"GET", "/api/v1/openapi.json", h_openapi, SCOPE_READ, "This OpenAPI document"},
    {"GET", "/api/v1/info", h_info, SCOPE_READ, "Version, ports (websocket when present), cores"},
    {"GET", "/api/v1/catalogue", h_catalogue, SCOPE_READ, "Tasks, presets and spec defaults"},
    {"POST", "/api/v1/validate", h_validate, SCOPE_READ, "Dry-run validation of a submission"},
    {"GET", "/api/v1/experiments", h_exp_list, SCOPE_READ,
     "List experiments: filters state, task, tag, parent, q (name substring); sort "
     "(" STORE_EXP_SORTS "), order (asc|desc), limit, cursor (next_cursor of the previous page)"},
    {"POST", "/api/v1/experiments", h_exp_submit, SCOPE_FULL, "Submit an experiment"},
    {"GET", "/api/v1/experiments/{id}", h_exp_get, SCOPE_READ, "One experiment with its spec"},
    {"DELETE", "/api/v1/experiments/{id}", h_exp_delete, SCOPE_FULL,
     "Delete a finished experiment, its rows and run directory"},
    {"POST", "/api/v1/experiments/{id}/cancel", h_exp_cancel, SCOPE_FULL, "Cancel"},
    {"POST", "/api/v1/experiments/{id}/pause", h_exp_pause, SCOPE_FULL,
     "Pause (checkpoint and stop)"},
    {"POST", "/api/v1/experiments/{id}/resume", h_exp_resume, SCOPE_FULL,
     "Resume a paused experiment"},
    {"PUT", "/api/v1/experiments/{id}/tags", h_exp_tags, SCOPE_FULL, "Replace the tags"},
    {"PUT", "/api/v1/experiments/{id}/notes", h_exp_notes, SCOPE_FULL, "Replace the notes"},
    {"GET", "/api/v1/experiments/{id}/events", h_exp_events, SCOPE_READ, "Journal of the run"},
    {"GET", "/api/v1/experiments/{id}/metrics/keys", h_metric_keys, SCOPE_READ,
     "Numeric metric keys of the run"},
    {"GET", "/api/v1/experiments/{id}/metrics/series", h_metric_series, SCOPE_READ,
     "Downsampled series (key, x, points)"},
    {"GET", "/api/v1/experiments/{id}/metrics/export", h_metric_export, SCOPE_READ,
     "All rows as CSV or JSON (format, after_seq, limit)"},
    {"GET", "/api/v1/experiments/{id}/checkpoints", h_checkpoints, SCOPE_READ, "Checkpoint list"},
    {"GET", "/api/v1/experiments/{id}/checkpoints/{name}", h_checkpoint_get, SCOPE_READ,
     "Download a checkpoint"},
    {"GET", "/api/v1/experiments/{id}/log", h_log, SCOPE_READ,
     "Log tail or range (file, tail, offset, length)"},
    {"POST", "/api/v1/experiments/{id}/evaluate", h_evaluate, SCOPE_FULL,
     "Queue an evaluation of a checkpoint"},
    {"GET", "/api/v1/experiments/{id}/evaluation", h_evaluation_result, SCOPE_READ,
     "Result of an evaluation job"},
    {"GET", "/api/v1/experiments/{id}/evaluation/video", h_evaluation_video, SCOPE_READ,
     "MP4 video of the recorded episode of an evaluation job (record: true)"},
    {"GET", "/api/v1/experiments/{id}/evaluation/trajectory", h_evaluation_trajectory, SCOPE_READ,
     "Replayable trajectory (JSON) of the recorded episode of an evaluation job (record: true)"},
    {"GET", "/api/v1/tokens", h_tokens_list, SCOPE_FULL, "List tokens (never their values)"},
    {"POST", "/api/v1/tokens", h_tokens_create, SCOPE_FULL, "Create a token (read or full)"},
    {"DELETE", "/api/v1/tokens/{id}", h_tokens_revoke, SCOPE_FULL, "Revoke a token"},
};
#define NROUTES (sizeof(routes) / sizeof(routes[0]))

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
                char num[24], *end;
                long long v;
                if (len >= sizeof(num)) {
                    *bad_id = 1;
                    v = 0;
                } else {
                    memcpy(num, b, len);
                    num[len] = '\0';
                    errno = 0;
                    v = strtoll(num, &end, 10);
                    if (*end || errno || v <= 0 || num[0] == '+' || num[0] == '-') {
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

static int authenticate(Api *api, const ApiRequest *req, ApiScope *scope, ApiErr *e) {
    const char *h = req->authorization, *tok;
    char hash[65], s[8], msg[256];
    size_t len;
    if (!h || !*h) {
        return fail(e, AG_EAUTH, NULL, "an Authorization: Bearer <token> header is required");
    }
    if (strncasecmp(h, "Bearer ", 7) != 0) {
        return fail(e, AG_EAUTH, NULL, "the Authorization header must be \"Bearer <token>\"");
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
        return fail(e, AG_EAUTH, NULL, "unknown or revoked token");
    }
    *scope = !strcmp(s, "full") ? SCOPE_FULL : SCOPE_READ;
    return 0;
}

static void handle_static(Api *api, const ApiRequest *req, ApiResponse *resp) {
    char path[PATH_MAX];
    int rc;
    if (strcmp(req->method, "GET") != 0 && strcmp(req->method, "HEAD") != 0) {
        resp_problem(resp, 405, AG_EUNSUPPORTED, "the dashboard files are read with GET", NULL);
        snprintf(resp->header, sizeof(resp->header), "Allow: GET, HEAD");
        return;
    }
    /* traversal is refused the same way whether or not a dashboard is installed */
    rc = api_static_resolve(api->web_dir, req->path, path, sizeof(path));
    if (rc == AG_EFORBIDDEN) {
        resp_problem(resp, 403, AG_EFORBIDDEN, "path not allowed", "path");
        return;
    }
    if (!api->web_dir[0]) {
        resp_problem(resp, 404, AG_ENOTFOUND, "no dashboard installed", "path");
        return;
    }
    if (rc) {
        resp_problem(resp, 404, AG_ENOTFOUND, "no such file", "path");
        return;
    }
    resp->status = 200;
    resp->content_type = api_mime_type(path);
    resp->file_path = strdup(path);
    if (!resp->file_path) {
        resp_problem(resp, 500, AG_ENOMEM, NULL, NULL);
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
    /* health needs no token; everything else is authenticated before it is even routed */
    if (strcmp(req->path, API_PREFIX "/health") != 0) {
        rc = authenticate(api, req, &scope, &e);
        if (rc) {
            resp_problem(resp, 401, rc, e.detail, NULL);
            snprintf(resp->header, sizeof(resp->header),
                     "WWW-Authenticate: Bearer realm=\"angora\"");
            goto done;
        }
    }
    for (size_t i = 0; i < NROUTES; i++) {
        ApiParams tmp;
        int tmp_bad = 0;
        memset(&tmp, 0, sizeof(tmp));
        if (!route_match(routes[i].pattern, req->path, &tmp, &tmp_bad)) {
            continue;
        }
        if (!strcmp(routes[i].method, req->method) ||
            (!strcmp(req->method, "HEAD") && !strcmp(routes[i].method, "GET"))) {
            hit = &routes[i];
            params = tmp;
            bad_id = tmp_bad;
            break;
        }
        if (strlen(allow) + strlen(routes[i].method) + 3 < sizeof(allow)) {
            snprintf(allow + strlen(allow), sizeof(allow) - strlen(allow), "%s%s",
                     allow[0] ? ", " : "", routes[i].method);
        }
    }
    if (!hit && allow[0]) {
        resp_problem(resp, 405, AG_EUNSUPPORTED, "method not allowed on this resource", NULL);
        snprintf(resp->header, sizeof(resp->header), "Allow: %s", allow);
        goto done;
    }
    if (!hit) {
        resp_problem(resp, 404, AG_ENOTFOUND, "no such API route (see /api/v1/openapi.json)", NULL);
        goto done;
    }
    if (hit->scope == SCOPE_FULL && scope != SCOPE_FULL) {
        resp_problem(resp, 403, AG_EFORBIDDEN, "this token is read-only", NULL);
        goto done;
    }
    if (bad_id) {
        resp_problem(resp, 400, AG_EINVAL, "the id must be a positive integer", "id");
        goto done;
    }
    rc = hit->fn(api, req, &params, resp, &e);
    if (rc) {
        resp_problem(resp, api_status_of(rc), rc, e.detail, e.field);
    }
done:
    api_note_request(api, resp->status);
}

/* ---- OpenAPI ---- */

/* the query parameters of the experiments list */
static void openapi_list_params(json_t *params) {
    json_array_append_new(params,
                          json_pack("{s:s,s:s,s:{s:s,s:[ssssss]}}", "name", "state", "in", "query",
                                    "schema", "type", "string", "enum", "queued", "running",
                                    "paused", "succeeded", "failed", "cancelled"));
    json_array_append_new(params, json_pack("{s:s,s:s,s:{s:s}}", "name", "task", "in", "query",
                                            "schema", "type", "string"));
    json_array_append_new(params, json_pack("{s:s,s:s,s:{s:s}}", "name", "tag", "in", "query",
                                            "schema", "type", "string"));
    json_array_append_new(params,
                          json_pack("{s:s,s:s,s:s,s:{s:s,s:i}}", "name", "parent", "in", "query",
                                    "description", "jobs (evaluations) of this experiment",
                                    "schema", "type", "integer", "minimum", 1));
    json_array_append_new(params, json_pack("{s:s,s:s,s:s,s:{s:s,s:i}}", "name", "q", "in", "query",
                                            "description", "case-insensitive substring of the name",
                                            "schema", "type", "string", "maxLength", 128));
    json_array_append_new(params,
                          json_pack("{s:s,s:s,s:{s:s,s:s,s:[sssssssss]}}", "name", "sort", "in",
                                    "query", "schema", "type", "string", "default", "submitted",
                                    "enum", "submitted", "name", "task", "state", "priority",
                                    "started", "finished", "return", "progress"));
    json_array_append_new(params, json_pack("{s:s,s:s,s:s,s:{s:s,s:[ss]}}", "name", "order", "in",
                                            "query", "description",
                                            "default asc for name, task and state, desc otherwise",
                                            "schema", "type", "string", "enum", "asc", "desc"));
    json_array_append_new(params, json_pack("{s:s,s:s,s:{s:s,s:i,s:i,s:i}}", "name", "limit", "in",
                                            "query", "schema", "type", "integer", "minimum", 1,
                                            "maximum", 1000, "default", 100));
    json_array_append_new(params,
                          json_pack("{s:s,s:s,s:s,s:{s:[{s:s},{s:s}]}}", "name", "cursor", "in",
                                    "query", "description",
                                    "next_cursor of the previous page (an id for the submitted "
                                    "order, else a token)",
                                    "schema", "oneOf", "type", "integer", "type", "string"));
}

static json_t *openapi_build(void) {
    json_t *doc, *paths = json_object();
    doc = json_pack("{s:s,s:{s:s,s:s,s:s},s:{s:{s:{s:s,s:s}}},s:[{s:[]}]}", "openapi", "3.0.3",
                    "info", "title", "angorad", "version", ANGORA_VERSION, "description",
                    "Experiment queue, metrics and run files of angora; errors are "
                    "application/problem+json",
                    "components", "securitySchemes", "bearer", "type", "http", "scheme", "bearer",
                    "security", "bearer");
    for (size_t i = 0; i < NROUTES; i++) {
        const ApiRoute *r = &routes[i];
        json_t *item = json_object_get(paths, r->pattern), *op, *params = json_array();
        char method[8];
        size_t k;
        if (!item) {
            item = json_object();
            json_object_set_new(paths, r->pattern, item);
        }
        for (k = 0; r->method[k] && k < sizeof(method) - 1; k++) {
            method[k] = (char)(r->method[k] - 'A' + 'a');
        }
        method[k] = '\0';
        op = json_pack("{s:s,s:s,s:{s:{s:s},s:{s:s},s:{s:s}}}", "summary", r->summary,
                       "operationId", r->pattern, "responses", "200", "description", "success",
                       "4XX", "description", "problem+json error", "5XX", "description",
                       "problem+json error");
        if (strstr(r->pattern, "{id}")) {
            json_array_append_new(params, json_pack("{s:s,s:s,s:b,s:{s:s,s:i}}", "name", "id", "in",
                                                    "path", "required", 1, "schema", "type",
                                                    "integer", "minimum", 1));
        }
        if (strstr(r->pattern, "{name}")) {
            json_array_append_new(params,
                                  json_pack("{s:s,s:s,s:b,s:{s:s}}", "name", "name", "in", "path",
                                            "required", 1, "schema", "type", "string"));
        }
        if (r->fn == h_exp_list) {
            openapi_list_params(params);
        }
        json_object_set_new(op, "parameters", params);
        if (r->scope == SCOPE_NONE) {
            json_object_set_new(op, "security", json_array());
        }
        if (r->scope == SCOPE_FULL) {
            json_object_set_new(op, "x-scope", json_string("full"));
        }
        {
            char opid[200];
            snprintf(opid, sizeof(opid), "%s %s", r->method, r->pattern);
            json_object_set_new(op, "operationId", json_string(opid));
        }
        json_object_set_new(item, method, op);
    }
    json_object_set_new(doc, "paths", paths);
    return doc;
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
    pthread_mutex_init(&api->rate_mu, NULL);
    for (int i = 0; i < 60; i++) {
        api->rate_sec[i] = -1000;
    }
    doc = openapi_build();
    api->openapi = doc ? json_dumps(doc, JSON_INDENT(1)) : NULL;
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
    json_decref(api->catalogue);
    free(api->openapi);
    pthread_mutex_destroy(&api->cat_mu);
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
