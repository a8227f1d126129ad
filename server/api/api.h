/* angorad's REST API under /api/v1: a route table of handlers over the store, served over HTTP
 * by libmicrohttpd, plus the static dashboard files and the bearer-token security.
 *
 * DESIGN
 * api_handle() turns one ApiRequest into one ApiResponse without any network: the HTTP layer
 * (api_http.c) only copies a request in and a response out, and the unit tests call
 * api_handle() directly. Handlers never talk to the scheduler: a submit inserts a queued row,
 * a cancel records a request, and the scheduler acts on the database at its next tick. Errors
 * are application/problem+json {type, title, status, detail, code, field}. */
#ifndef API_H
#define API_H

#include "ag_buf.h"
#include "store.h"

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#define API_PREFIX           "/api/v1"
#define API_MAX_BODY_DEFAULT (1u << 20)
#define API_TOKEN_PREFIX     "ang_"
/* "ang_" + 64 hex digits */
#define API_TOKEN_LEN 68

typedef struct ApiConfig {
    const char *bind_addr;         /* numeric IPv4 or IPv6 address; "127.0.0.1" by default */
    int port;                      /* 0 picks a free port (see api_port) */
    unsigned max_connections;      /* concurrent connections */
    unsigned connection_timeout_s; /* idle connections are closed after this */
    unsigned threads;              /* HTTP worker threads */
    size_t max_body;               /* larger request bodies get 413 */
    const char *web_dir;           /* dashboard files; NULL or missing disables them */
    const char *runs_root;         /* run directories are runs_root/<id> */
    const char *trainer;           /* angora-train, asked for the task catalogue */
    int max_cores;                 /* a local submission needing more ranks is refused */
    int slurm_default;             /* runs without an executor in their spec go to Slurm */
    size_t response_cache_bytes;   /* memory for kept list and series answers; 0 keeps none */
    /* added to each HTTP thread's nice value, so that on busy cores ingestion and the trainings
     * come first; 0 leaves the threads as they are */
    int threads_nice;
} ApiConfig;

typedef struct Api Api;

/* a request as the HTTP layer hands it over */
typedef struct ApiRequest {
    const char *method;
    const char *path;          /* decoded, without the query string */
    const char *authorization; /* the Authorization header or NULL */
    const char *if_none_match; /* the If-None-Match header or NULL */
    const char *body;
    size_t body_len;
    /* query argument lookup (NULL when absent) */
    const char *(*arg)(void *ctx, const char *name);
    void *arg_ctx;
} ApiRequest;

typedef struct ApiResponse {
    int status;
    const char *content_type; /* static string */
    char *body;               /* malloc'd, may be NULL */
    size_t body_len;
    char *file_path;    /* when set the body is this file (malloc'd path) */
    char header[256];   /* one extra "Name: value" header or "" */
    char etag[96];      /* the ETag of the answer or "": then it may be revalidated */
    const char *detail; /* static code name for the request log */
} ApiResponse;

int api_create(Api **out, const ApiConfig *cfg, Store *store, char *err, size_t err_sz);
void api_destroy(Api *api);
/* answers one request; the response is always filled (api_response_free afterwards) */
void api_handle(Api *api, const ApiRequest *req, ApiResponse *resp);
void api_response_free(ApiResponse *resp);

/* HTTP serving (api_http.c) */
int api_listen(Api *api, char *err, size_t err_sz);
/* the bound port, after api_listen */
int api_port(const Api *api);
/* stops accepting new connections; in-flight requests finish */
void api_quiesce(Api *api);
/* stops serving (api_destroy does it too) */
void api_stop(Api *api);

/* hooks for the rest of the daemon */
void api_set_ws_port(Api *api, int port);
/* called after every state change a request makes (submit, cancel/pause of a queued run,
 * resume), for the live stream; reason may be NULL */
typedef void (*ApiStateHook)(void *ctx, int64_t exp_id, const char *state, const char *reason);
void api_set_state_hook(Api *api, ApiStateHook fn, void *ctx);
void api_note_ingested(Api *api, uint64_t rows);
void api_note_request(Api *api, int status);

/* ---- helpers (api_util.c) ---- */

/* SHA-256 of data as 64 lowercase hex digits + NUL */
int api_sha256_hex(const void *data, size_t len, char out[65]);
/* a new random token "ang_<64 hex>" */
int api_token_generate(char out[API_TOKEN_LEN + 1], char *err, size_t err_sz);
/* On start: if token_path holds a live token it is kept; otherwise a new full-scope token is
 * created, stored hashed and written to token_path with mode 0600. *created tells which. */
int api_token_bootstrap(Store *store, const char *token_path, int *created, char *err,
                        size_t err_sz);
/* maps a URL path (already %-decoded once) to a file under web_dir: traversal in any form
 * ("..", "%2e%2e" decoded or not, backslashes, absolute or drive paths, NUL) is AG_EFORBIDDEN,
 * a missing file AG_ENOTFOUND; "/" and directories map to index.html */
int api_static_resolve(const char *web_dir, const char *url_path, char *out, size_t out_sz);
/* content type of a file name by extension */
const char *api_mime_type(const char *path);
/* Downsamples n points to at most max_points: the points are cut into buckets of equal count,
 * each bucket giving its x, min, max and last y; the first and last points are kept as their
 * own buckets. Returns {"x":[..],"min":[..],"max":[..],"last":[..]} (new reference). */
json_t *api_downsample(const double *xs, const double *ys, size_t n, size_t max_points);
/* the same over n buckets already rolled up (their x, min, max and last): merged buckets take
 * the min of their mins, the max of their maxes and the last of their lasts */
json_t *api_downsample_buckets(const double *xs, const double *mins, const double *maxs,
                               const double *lasts, size_t n, size_t max_points);
/* the same written as JSON text after out's content: byte for byte json_dumps(JSON_COMPACT) of
 * api_downsample_buckets's object without its closing brace, for an answer that adds members;
 * 0 or an AgBuf error (out left as it was) */
int api_downsample_buckets_text(AgBuf *out, const double *xs, const double *mins,
                                const double *maxs, const double *lasts, size_t n,
                                size_t max_points);
/* a problem+json body (new string) */
char *api_problem_body(int status, int code, const char *detail, const char *field);
/* HTTP status of an AG_E* code */
int api_status_of(int code);

#endif
