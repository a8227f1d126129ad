/* The OpenAPI 3.1 document of the REST API and the route that serves it (without a token).
 *
 * DESIGN
 * The document is put together once, at start, from two halves that must agree:
 * - the route table (api_routes.c): every path, method, operationId, summary and token scope,
 *   so no route can be served without being documented;
 * - openapi.json (compiled in): the component schemas of every body and response, and per
 *   operationId its query parameters, request body and own status codes.
 * The builder adds what follows from the table: the path parameters, the security, and the
 * problem responses every route of a kind can give (400 for a NUL byte in the path or query or
 * a bad id, 401 without a token, 403 for a read-only token on a writing route, 404 for an
 * unknown id or file, 5XX). An operation of the table missing from openapi.json, or one of
 * openapi.json no route serves, fails the build of the document and with it the daemon's start
 * (and the unit tests). */
#include "api_int.h"

#include "ag_error.h"

#include <stdio.h>
#include <string.h>

/* a reference to one of openapi.json's shared responses */
static json_t *response_ref(const char *name) {
    char ref[96];
    snprintf(ref, sizeof(ref), "#/components/responses/%s", name);
    return json_pack("{s:s}", "$ref", ref);
}

/* sets responses[code] unless openapi.json gives that code its own meaning */
static void response_default(json_t *responses, const char *code, const char *name) {
    if (!json_object_get(responses, code)) {
        json_object_set_new(responses, code, response_ref(name));
    }
}

/* the parameters of pattern's path segments, then the operation's own */
static json_t *operation_params(const char *pattern, const json_t *own) {
    json_t *params = json_array();
    if (strstr(pattern, "{id}")) {
        json_array_append_new(params, json_pack("{s:s,s:s,s:b,s:s,s:{s:s,s:i}}", "name", "id", "in",
                                                "path", "required", 1, "description",
                                                strstr(pattern, "/tokens/") ? "the token's id"
                                                                            : "the experiment's id",
                                                "schema", "type", "integer", "minimum", 1));
    }
    if (strstr(pattern, "{name}")) {
        json_array_append_new(params,
                              json_pack("{s:s,s:s,s:b,s:s,s:{s:s,s:s}}", "name", "name", "in",
                                        "path", "required", 1, "description",
                                        "a file name of the run ([A-Za-z0-9_.-], no leading dot, "
                                        "the route's extension)",
                                        "schema", "type", "string", "pattern",
                                        "^[A-Za-z0-9_-][A-Za-z0-9_.-]{0,99}$"));
    }
    json_array_extend(params, json_object_get(own, "parameters"));
    return params;
}

/* one operation: openapi.json's part for r completed from the route table */
static json_t *operation_build(const ApiRoute *r, const json_t *own) {
    json_t *op = json_deep_copy(own), *responses;
    if (!op) {
        return NULL;
    }
    json_object_set_new(op, "operationId", json_string(r->operation_id));
    json_object_set_new(op, "summary", json_string(r->summary));
    json_object_set_new(op, "parameters", operation_params(r->pattern, own));
    responses = json_object_get(op, "responses");
    /* any request: a NUL byte in its path or query; with {id}: an id that is not one */
    response_default(responses, "400", "BadRequest");
    if (r->scope != SCOPE_NONE) {
        response_default(responses, "401", "Unauthorized");
    } else {
        json_object_set_new(op, "security", json_array());
    }
    if (r->scope == SCOPE_FULL) {
        response_default(responses, "403", "Forbidden");
        json_object_set_new(op, "x-scope", json_string("full"));
    }
    if (strstr(r->pattern, "{id}") || strstr(r->pattern, "{name}")) {
        response_default(responses, "404", "NotFound");
    }
    response_default(responses, "5XX", "Error");
    return op;
}

/* the method as an OpenAPI path item key ("get") */
static void method_key(const char *method, char *out, size_t out_sz) {
    size_t k;
    for (k = 0; method[k] && k + 1 < out_sz; k++) {
        out[k] = (char)(method[k] - 'A' + 'a');
    }
    out[k] = '\0';
}

json_t *api_openapi_build(char *err, size_t err_sz) {
    json_error_t je;
    json_t *tpl = json_loads(api_openapi_template, 0, &je), *doc = NULL, *ops, *paths, *used;
    const char *name;
    json_t *v;
    if (!tpl) {
        ag_errorf(err, err_sz, AG_EJSON, "openapi.json: line %d: %s", je.line, je.text);
        return NULL;
    }
    ops = json_object_get(tpl, "operations");
    paths = json_object();
    used = json_object();
    for (size_t i = 0; i < api_route_count; i++) {
        const ApiRoute *r = &api_route_table[i];
        json_t *own = json_object_get(ops, r->operation_id), *item, *op;
        char method[8];
        if (!own || json_object_get(used, r->operation_id)) {
            ag_errorf(err, err_sz, AG_EINVAL, "openapi.json: %s operation %s for %s %s",
                      own ? "a second route of the" : "no", r->operation_id, r->method, r->pattern);
            goto fail;
        }
        json_object_set_new(used, r->operation_id, json_true());
        item = json_object_get(paths, r->pattern);
        if (!item) {
            item = json_object();
            json_object_set_new(paths, r->pattern, item);
        }
        op = operation_build(r, own);
        if (!op) {
            ag_errorf(err, err_sz, AG_ENOMEM, "out of memory");
            goto fail;
        }
        method_key(r->method, method, sizeof(method));
        json_object_set_new(item, method, op);
    }
    json_object_foreach(ops, name, v) {
        if (!json_object_get(used, name)) {
            ag_errorf(err, err_sz, AG_EINVAL, "openapi.json: operation %s has no route", name);
            goto fail;
        }
    }
    doc = json_pack(
        "{s:s,s:{s:s,s:s,s:s,s:{s:s,s:s}},s:[{s:s,s:s,s:{s:{s:s},s:{s:s}}}],s:[{s:[]}],s:O,s:o}",
        "openapi", "3.1.0", "info", "title", "angorad", "version", ANGORA_VERSION, "description",
        "Experiment queue, metrics and run files of angora (docs/api.md). Every error is an "
        "application/problem+json object whose field names the JSON path or argument at fault.",
        "license", "name", "MIT", "identifier", "MIT", "servers", "url", "http://{host}:{port}",
        "description", "an angorad (bind and port of angorad.conf)", "variables", "host", "default",
        "127.0.0.1", "port", "default", "7878", "security", "bearer", "components",
        json_object_get(tpl, "components"), "paths", paths);
    paths = NULL;
    if (doc) {
        json_object_set_new(json_object_get(doc, "components"), "securitySchemes",
                            json_pack("{s:{s:s,s:s,s:s}}", "bearer", "type", "http", "scheme",
                                      "bearer", "description", "ang_<64 hex digits>"));
    } else {
        ag_errorf(err, err_sz, AG_ENOMEM, "out of memory");
    }
fail:
    json_decref(paths);
    json_decref(used);
    json_decref(tpl);
    return doc;
}

int api_h_openapi(Api *api, const ApiRequest *req, const ApiParams *p, ApiResponse *resp,
                  ApiErr *e) {
    (void)req;
    (void)p;
    if (!api->openapi) {
        return api_fail(e, AG_ENOMEM, NULL, "no OpenAPI document");
    }
    resp->status = 200;
    resp->content_type = "application/json";
    resp->body = strdup(api->openapi);
    resp->body_len = resp->body ? strlen(resp->body) : 0;
    return 0;
}
