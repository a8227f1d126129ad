/* Internal to server/api: the Api state, the route table's types and the helpers the route
 * files share (api_routes.c, api_experiments.c, api_check.c, api_metrics.c, api_files.c,
 * api_analysis.c, api_pretrain.c, api_tokens.c, api_catalogue.c, api_openapi.c, api_http.c);
 * not a public interface.
 *
 * DESIGN
 * Every handler has the ApiHandler signature and is listed once in the route table
 * (api_routes.c), which drives dispatch, the token scope and the OpenAPI document. A handler
 * either fills resp and returns 0, or returns an AG_E* code with the detail and the offending
 * field in ApiErr; api_handle() turns that into a problem+json response. */
#ifndef API_INT_H
#define API_INT_H

#include "api.h"

#include "ag_buf.h"
#include "ag_json.h"

#include <jansson.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

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

/* a cached verdict of `angora-train --check` (api_check.c) */
#define API_CHECK_HASH  32 /* SHA-256 of the canonical spec text */
#define API_CHECK_CACHE 64
typedef struct ApiCheck {
    unsigned char hash[API_CHECK_HASH];
    json_t *verdict; /* NULL: an empty entry */
} ApiCheck;

/* a route handler (a function type: the handlers below are declared through it) */
typedef int ApiHandler(Api *api, const ApiRequest *req, const ApiParams *p, ApiResponse *resp,
                       ApiErr *e);

typedef struct ApiRoute {
    const char *method;
    const char *pattern; /* "/api/v1/experiments/{id}/log" */
    ApiHandler *fn;
    ApiScope scope;
    const char *operation_id; /* the OpenAPI operationId, its key in openapi.json */
    const char *summary;
} ApiRoute;

/* the HTTP server state (api_http.c) */
typedef struct ApiHttp ApiHttp;

/* ---- the response cache of the read routes (api_cache.c) ---- */

typedef struct ApiCache ApiCache;
/* a part of a kept answer that depends on the time it is given: the pace of a running
 * experiment, written at byte at of the body by the route's function */
typedef struct ApiCacheHole {
    size_t at;
    StoreExpPace pace;
} ApiCacheHole;
/* writes one hole (api_exp_pace_text) */
typedef int (*ApiCacheFillFn)(AgBuf *out, const StoreExpPace *pace, void *ctx);
typedef struct ApiCacheStats {
    uint64_t hits, misses, evictions, entries, bytes, budget;
} ApiCacheStats;

/* a cache holding at most budget bytes (0: keeps nothing, every lookup misses) */
int api_cache_create(ApiCache **out, size_t budget);
void api_cache_destroy(ApiCache *c);
/* the generation of an entry computed from the ids it was kept with (a list page) */
typedef struct ApiCacheGen {
    uint64_t (*fn)(void *ctx, const int64_t *ids, size_t nids);
    void *ctx;
} ApiCacheGen;
/* 1 with a new copy of the answer kept for key in *body when it is valid at generation gen, or
 * for an entry kept with ids at g's generation of them (g may be NULL): its holes filled by fill
 * with ctx; *nholes, *kept_gen and *ids_hash (each may be NULL) its holes, generation and the
 * hash of its ids (0 for none); else 0, an entry of
 * another generation dropped */
int api_cache_get(ApiCache *c, const char *key, size_t key_len, uint64_t gen, const ApiCacheGen *g,
                  ApiCacheFillFn fill, void *ctx, char **body, size_t *body_len, size_t *nholes,
                  uint64_t *kept_gen, uint64_t *ids_hash);
/* 1 when key is kept: the generation it was kept at, the one it would need now and the hash
 * of its ids (0 for none) */
int api_cache_gen(ApiCache *c, const char *key, size_t key_len, uint64_t gen, const ApiCacheGen *g,
                  uint64_t *kept, uint64_t *now, uint64_t *ids_hash);
/* keeps a copy of body (a template when nholes > 0, holes in increasing order) for key at gen,
 * with the ids its generation is computed from (NULL: gen as it is); the least recently used
 * entries make room; nothing when it does not fit an eighth of the budget or memory is short, or
 * when a newer generation's answer is already kept */
void api_cache_put(ApiCache *c, const char *key, size_t key_len, uint64_t gen, const char *body,
                   size_t body_len, const ApiCacheHole *holes, size_t nholes, const int64_t *ids,
                   size_t nids);
/* tmpl with its holes filled, as a new buffer */
int api_cache_assemble(const char *tmpl, size_t len, const ApiCacheHole *holes, size_t nholes,
                       ApiCacheFillFn fill, void *ctx, char **body, size_t *body_len);
void api_cache_stats(ApiCache *c, ApiCacheStats *out);
/* FNV-1a of key, for the table and the ETags */
uint64_t api_cache_hash(const char *key, size_t len);

/* The validator of an answer read at generation gen for the normalised query key (and, for a
 * list page, the hash of its items' ids, whose sum of generations gen is; 0 otherwise):
 * "\\"<daemon start>-<gen>-<hash of key>-<ids_hash>\\"" in etag (at least API_ETAG_MAX bytes). The
 * same query at the same generation (of the same items) gets the same answer, so the same tag. */
#define API_ETAG_MAX 96
void api_etag(const Api *api, const char *key, size_t key_len, uint64_t gen, uint64_t ids_hash,
              char *etag);
/* 1 when the request's If-None-Match lists etag (weak or strong, "*" never counts) */
int api_etag_matches(const ApiRequest *req, const char *etag);
/* a 304 Not Modified answer with etag */
void api_resp_not_modified(ApiResponse *resp, const char *etag);

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
    pthread_mutex_t check_mu;
    ApiCheck checks[API_CHECK_CACHE]; /* a ring, check_next the oldest */
    int check_next;
    char *openapi;
    ApiStateHook state_hook;
    void *state_hook_ctx;
    ApiHttp *http;       /* api_http.c */
    ApiCache *cache;     /* answers of the list and series routes (api_cache.c) */
    uint64_t etag_epoch; /* this start of the daemon, in every ETag: generations restart at 0 */
};

/* the characters of a name in a URL (checkpoint files, metric keys) */
#define API_NAME_CHARS "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-"

/* ---- the route table (api_routes.c) ---- */

extern const ApiRoute api_route_table[];
extern const size_t api_route_count;

/* ---- responses, arguments and bodies (api_routes.c) ---- */

/* a JSON response; takes the reference to doc (NULL gives a 500) */
void api_resp_json(ApiResponse *resp, int status, json_t *doc);
/* 201 with the new experiment's Location and doc as the body (doc is consumed) */
void api_resp_created(ApiResponse *resp, int64_t id, json_t *doc);
/* a problem+json response, replacing any body */
void api_resp_problem(ApiResponse *resp, int status, int code, const char *detail,
                      const char *field);
/* fills e and returns code */
int api_fail(ApiErr *e, int code, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* api_fail with the message of a store call */
int api_store_fail(ApiErr *e, int rc, const char *msg);
/* the answer to a store call that gave rc and msg: its failure, or 200 with doc, under key when
 * key is set (takes the reference to doc either way) */
int api_resp_store(ApiResponse *resp, ApiErr *e, int rc, const char *msg, const char *key,
                   json_t *doc);
/* a query argument or NULL */
const char *api_arg(const ApiRequest *req, const char *name);
/* an integer argument in [min, max] or def when absent */
int api_arg_int(const ApiRequest *req, const char *name, long long def, long long min,
                long long max, long long *out, ApiErr *e);
/* the request body parsed as JSON (new reference in *out) */
int api_body_json(const ApiRequest *req, json_t **out, ApiErr *e);
/* an AG_ESPEC failure from a JSON check, its path put under prefix */
int api_spec_fail(ApiErr *e, const AgJsonErr *je, const char *prefix);

/* ---- a run's files (api_files.c) ---- */

/* the run directory of experiment id (its failure: 404 for an unknown id) */
int api_run_dir(Api *api, int64_t id, char *dir, size_t dir_sz, ApiErr *e);
/* a file name in a run directory: [A-Za-z0-9_.-]+ ending in ext, at most 100 bytes, no leading
 * dot */
int api_file_name_ok(const char *n, const char *ext);
/* the regular file at path as the response, of type; with download set an attachment named
 * "experiment-ID-DOWNLOAD". AG_ENOTFOUND (e untouched, for the caller's message) when there is
 * no such file. */
int api_resp_file(ApiResponse *resp, const char *path, const char *type, int64_t id,
                  const char *download, ApiErr *e);

/* the run has checkpoints/file */
int api_checkpoint_exists(const char *run_dir, const char *file);
/* 0 when run id has checkpoints/file; else AG_ESTATE (409) when it has no checkpoint at all,
 * AG_ESPEC (422) at "checkpoint" naming the ones it has */
int api_checkpoint_check(const char *run_dir, int64_t id, const char *file, ApiErr *e);

/* queues a job of kind (one rank, the parent's task and priority) on the training run parent
 * (its experiment object) with spec, answered 201 with the job and its Location */
int api_job_queue(Api *api, const json_t *parent, const char *kind, const char *name,
                  const json_t *spec, ApiResponse *resp, ApiErr *e);

/* ---- the task catalogue (api_catalogue.c) ---- */

/* the cached catalogue (new reference) or NULL; a failure is retried after a minute */
/* An experiment's pace from its stored fields, added to exp: steps_per_s (latest_env_steps over
 * latest_wall_s, the trainer's own clock, so queueing and restarts do not count), duration_s
 * (started_at to finished_at, or to now while running) and eta_s (the rest of
 * budget_env_steps at steps_per_s, while running); each null when it cannot be known. */
void api_exp_progress_add(json_t *exp, double now);
/* the same three members written as JSON text after a listed item's stored ones (a
 * StoreExpItemFn; now points at the double api_exp_progress_add would be given) */
int api_exp_pace_text(AgBuf *out, const StoreExpPace *p, void *now);
/* an experiment as every answer gives it: the stored fields and its pace (store_exp_get_json's
 * codes) */
int api_exp_fetch(Api *api, int64_t id, json_t **out, char *msg, size_t msg_sz);

json_t *api_catalogue_get(Api *api);
/* the catalogue's entry of task (borrowed; NULL when it does not list it or cat is NULL) */
const json_t *api_catalogue_task(const json_t *cat, const char *task);
/* whether the catalogue lists task */
int api_catalogue_has(const json_t *cat, const char *task);

/* ---- the trainer's check of a spec (api_check.c) ---- */

/* 0 when `trainer --check` accepts spec_text (the canonical resolved spec), or gives no
 * verdict; else AG_ESPEC with the spec's JSON path under prefix and the trainer's message */
int api_check_spec(Api *api, const char *spec_text, const char *prefix, ApiErr *e);
/* the same for a pretraining spec (`trainer --pretrain-check`): its dataset and model */
int api_check_pretrain(Api *api, const char *spec_text, const char *prefix, ApiErr *e);
/* runs argv (ag_spawn, own session) and collects its stdout into out (created by the caller
 * with its maximum) until it closes it; past timeout_s the child's group is killed
 * (AG_ETIMEOUT). *status is its wait status. 0, or an error code and a message. */
int api_child_output(const char *const *argv, double timeout_s, AgBuf *out, int *status, char *err,
                     size_t err_sz);
/* frees the cached verdicts */
void api_check_cache_free(Api *api);

/* ---- the OpenAPI document (api_openapi.c) ---- */

/* openapi.json, compiled in (openapi_template.c, generated by the build) */
extern const char api_openapi_template[];
/* the document of the route table completed from openapi.json (new reference), or NULL with
 * the reason in err when the two disagree */
json_t *api_openapi_build(char *err, size_t err_sz);

/* ---- HTTP serving (api_http.c) ---- */

/* stops the server and frees its state; nothing when not listening */
void api_http_destroy(Api *api);

/* ---- handlers, by file ---- */

/* api_routes.c: the service */
ApiHandler api_h_health, api_h_info, api_h_prometheus;
/* api_openapi.c */
ApiHandler api_h_openapi;
/* api_catalogue.c */
ApiHandler api_h_catalogue;
/* api_experiments.c */
ApiHandler api_h_validate, api_h_exp_submit, api_h_exp_list, api_h_exp_get, api_h_exp_delete,
    api_h_exp_cancel, api_h_exp_pause, api_h_exp_resume, api_h_exp_tags, api_h_exp_notes,
    api_h_exp_events;
/* api_metrics.c */
ApiHandler api_h_metric_keys, api_h_metric_series, api_h_metric_export;
/* api_files.c */
ApiHandler api_h_checkpoints, api_h_checkpoint_get, api_h_log, api_h_evaluate,
    api_h_evaluation_result, api_h_evaluation_video, api_h_evaluation_trajectory;
/* api_pretrain.c */
ApiHandler api_h_pretrain_submit;
/* what the answer about a pretrain job adds: encoder_checkpoint, the path of the checkpoint to
 * name as model.encoder.checkpoint (nothing for other kinds) */
void api_pretrain_fields_add(json_t *exp);
/* api_analysis.c */
ApiHandler api_h_analysis_submit, api_h_analysis_list, api_h_analysis_result, api_h_analysis_table,
    api_h_analysis_figure, api_h_analysis_recording;
/* api_tokens.c */
ApiHandler api_h_tokens_list, api_h_tokens_create, api_h_tokens_revoke;

#endif
