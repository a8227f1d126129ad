/* The metric routes of the REST API: the numeric keys of a run, a downsampled series for the
 * charts and the export of every row as CSV or JSON. */
#include "api_int.h"

#include "ag_buf.h"
#include "ag_error.h"
#include "ag_json_text.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define API_EXPORT_MAX (256u << 20)
/* 4 arrays of at most 100,000 reals of at most 24 bytes, and the rest */
#define API_SERIES_MAX (16u << 20)

/* ---- handlers: metrics ---- */

/* 404 for an unknown experiment */
static int exp_exists(Api *api, int64_t id, ApiErr *e) {
    StoreRun r;
    char msg[512];
    int rc = store_run_get(api->store, id, &r, msg, sizeof(msg));
    return rc ? api_store_fail(e, rc, msg) : 0;
}

/* a metric key: 1 to 64 of [A-Za-z0-9_./-] */
static int key_ok(const char *k) {
    size_t n = strlen(k);
    return n > 0 && n <= 64 && k[strspn(k, API_NAME_CHARS "/")] == '\0';
}

int api_h_metric_keys(Api *api, const ApiRequest *req, const ApiParams *p, ApiResponse *resp,
                      ApiErr *e) {
    json_t *keys = NULL;
    char msg[512];
    int rc = exp_exists(api, p->id, e);
    (void)req;
    if (rc) {
        return rc;
    }
    rc = store_metric_keys(api->store, p->id, &keys, msg, sizeof(msg));
    return api_resp_store(resp, e, rc, msg, "keys", keys);
}

int api_h_metric_series(Api *api, const ApiRequest *req, const ApiParams *p, ApiResponse *resp,
                        ApiErr *e) {
    const char *key = api_arg(req, "key"), *x = api_arg(req, "x");
    long long points;
    StoreSeries ser;
    uint64_t gen;
    char qkey[256], etag[API_ETAG_MAX];
    AgBuf body;
    char msg[512];
    int rc;
    if (!key) {
        return api_fail(e, AG_EINVAL, "key", "the query argument key (a metric name) is required");
    }
    if (!key_ok(key)) {
        return api_fail(e, AG_EINVAL, "key", "key must be a metric name ([A-Za-z0-9_./-], <= 64)");
    }
    if (x && !key_ok(x)) {
        return api_fail(e, AG_EINVAL, "x", "x must be a metric name ([A-Za-z0-9_./-], <= 64)");
    }
    if ((rc = api_arg_int(req, "points", 1000, 3, 100000, &points, e))) {
        return rc;
    }
    /* the normalised query; the answer changes only with a write of this run's data */
    snprintf(qkey, sizeof(qkey), "series %lld %lld %zu:%s %s", (long long)p->id, points,
             strlen(key), key, x ? x : "-");
    gen = store_run_generation(api->store, p->id);
    api_etag(api, qkey, strlen(qkey), gen, 0, etag);
    if (api_etag_matches(req, etag)) {
        api_resp_not_modified(resp, etag);
        return 0;
    }
    if (api_cache_get(api->cache, qkey, strlen(qkey), gen, NULL, NULL, NULL, &resp->body,
                      &resp->body_len, NULL, NULL, NULL)) {
        goto answer;
    }
    /* a long run is read from its roll-up (about 2 * points buckets, merged down to points); an
     * unknown experiment is AG_ENOTFOUND from that read, without a lookup on the writer's
     * connection first */
    rc = store_metric_series_points(api->store, p->id, x, key, (size_t)points, &ser, msg,
                                    sizeof(msg));
    if (rc) {
        return api_store_fail(e, rc, msg);
    }
    /* written as text: printing 4,000 reals through an object tree was most of its time */
    rc = ag_buf_init(&body, 100 * (ser.n < (size_t)points ? ser.n : (size_t)points) + 512,
                     API_SERIES_MAX);
    if (rc == 0) {
        rc = api_downsample_buckets_text(&body, ser.x, ser.vmin, ser.vmax, ser.vlast, ser.n,
                                         (size_t)points);
    }
    if (rc == 0) {
        rc = ag_buf_append_str(&body, ",\"key\":");
    }
    if (rc == 0) {
        rc = ag_json_text_string(&body, key, strlen(key));
    }
    if (rc == 0) {
        rc = ag_buf_append_str(&body, ",\"x_key\":");
    }
    if (rc == 0) {
        rc = ag_json_text_string(&body, x ? x : "iteration", strlen(x ? x : "iteration"));
    }
    if (rc == 0) {
        rc = ag_buf_printf(&body, ",\"source_points\":%lld,\"rollup_width\":%lld}",
                           (long long)ser.rows, (long long)ser.width);
    }
    store_series_free(&ser);
    if (rc) {
        ag_buf_free(&body);
        return api_fail(e, AG_ENOMEM, NULL, "out of memory");
    }
    resp->body_len = body.len;
    resp->body = ag_buf_steal(&body);
    api_cache_put(api->cache, qkey, strlen(qkey), gen, resp->body, resp->body_len, NULL, 0, NULL,
                  0);
answer:
    resp->status = 200;
    resp->content_type = "application/json";
    snprintf(resp->etag, sizeof(resp->etag), "%s", etag);
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

int api_h_metric_export(Api *api, const ApiRequest *req, const ApiParams *p, ApiResponse *resp,
                        ApiErr *e) {
    const char *format = api_arg(req, "format");
    long long after = 0, limit = 0;
    AgBuf b;
    ExportCtx x = {0};
    char msg[512];
    size_t i;
    json_t *v;
    int rc;
    if (format && strcmp(format, "csv") != 0 && strcmp(format, "json") != 0) {
        return api_fail(e, AG_EINVAL, "format", "format must be csv or json");
    }
    if ((rc = api_arg_int(req, "after_seq", 0, 0, INT64_MAX, &after, e)) ||
        (rc = api_arg_int(req, "limit", 0, 0, 10000000, &limit, e)) ||
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
            return api_store_fail(e, rc, msg);
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
            return api_fail(e, rc, NULL,
                            "the export exceeds %u MiB: page it with after_seq and limit",
                            API_EXPORT_MAX >> 20);
        }
        return api_store_fail(e, rc, msg);
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
