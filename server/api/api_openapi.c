/* The OpenAPI 3 document of the REST API, built once from the route table (paths, methods,
 * summaries, scopes, path and list parameters), and the route that serves it. */
#include "api_int.h"

#include "ag_error.h"

#include <stdio.h>
#include <string.h>

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

/* the body of an analysis job's submission */
static json_t *openapi_analysis_body(void) {
    json_t *names = json_pack("{s:s,s:{s:s,s:s},s:i}", "type", "array", "items", "type", "string",
                              "pattern", "^[A-Za-z0-9_.][A-Za-z0-9_.-]{0,99}$", "maxItems", 64);
    json_t *props = json_pack(
        "{s:{s:s,s:s},s:{s:s,s:i,s:i,s:i},s:{s:s,s:i,s:i,s:s},s:{s:s,s:b},s:O,s:O}", "checkpoint",
        "type", "string", "description",
        "best, last or a checkpoint file of the run (default best when the run has one, else "
        "last)",
        "episodes", "type", "integer", "minimum", 3, "maximum", 1000, "default", 20, "folds",
        "type", "integer", "minimum", 3, "maximum", 20, "description",
        "cross-validation folds of whole episodes (default 5, at most the episodes)",
        "deterministic", "type", "boolean", "default", 0, "variables", names, "layers", names);
    json_decref(names);
    return json_pack("{s:b,s:{s:{s:{s:s,s:b,s:o}}}}", "required", 0, "content", "application/json",
                     "schema", "type", "object", "additionalProperties", 0, "properties", props);
}

json_t *api_openapi_build(void) {
    json_t *doc, *paths = json_object();
    doc = json_pack("{s:s,s:{s:s,s:s,s:s},s:{s:{s:{s:s,s:s}}},s:[{s:[]}]}", "openapi", "3.0.3",
                    "info", "title", "angorad", "version", ANGORA_VERSION, "description",
                    "Experiment queue, metrics and run files of angora; errors are "
                    "application/problem+json",
                    "components", "securitySchemes", "bearer", "type", "http", "scheme", "bearer",
                    "security", "bearer");
    for (size_t i = 0; i < api_route_count; i++) {
        const ApiRoute *r = &api_route_table[i];
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
        if (r->fn == api_h_exp_list) {
            openapi_list_params(params);
        }
        if (r->fn == api_h_analysis_submit) {
            json_object_set_new(op, "requestBody", openapi_analysis_body());
            json_object_set_new(json_object_get(op, "responses"), "201",
                                json_pack("{s:s}", "description", "the queued job"));
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
