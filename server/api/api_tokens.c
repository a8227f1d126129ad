/* The token routes of the REST API: list (never the values), create and revoke. The token
 * itself is shown once, when it is created; the store keeps its SHA-256 only. */
#include "api_int.h"

#include "ag_error.h"

#include <string.h>

/* ---- handlers: tokens ---- */

int api_h_tokens_list(Api *api, const ApiRequest *req, const ApiParams *p, ApiResponse *resp,
                      ApiErr *e) {
    json_t *items = NULL;
    char msg[512];
    int rc = store_token_list(api->store, &items, msg, sizeof(msg));
    (void)req;
    (void)p;
    return api_resp_store(resp, e, rc, msg, "items", items);
}

int api_h_tokens_create(Api *api, const ApiRequest *req, const ApiParams *p, ApiResponse *resp,
                        ApiErr *e) {
    static const char *const keys[] = {"name", "scope", NULL};
    static const char *const scopes[] = {"read", "full", NULL};
    json_t *doc = NULL;
    AgJsonErr je = {0};
    char name[64], token[API_TOKEN_LEN + 1], hash[65], msg[512];
    int scope = 0, rc;
    int64_t id = 0;
    (void)p;
    rc = api_body_json(req, &doc, e);
    if (rc) {
        return rc;
    }
    if (ag_json_expect_object(doc, "", &je) || ag_json_check_keys(doc, "", keys, &je) ||
        ag_json_get_string(doc, "", "name", "", name, sizeof(name), &je) ||
        ag_json_get_enum(doc, "", "scope", scopes, 0, &scope, &je)) {
        rc = api_spec_fail(e, &je, "");
        goto out;
    }
    if (!name[0]) {
        rc = api_fail(e, AG_ESPEC, "name", "name: required, a label for the token");
        goto out;
    }
    if ((rc = api_token_generate(token, msg, sizeof(msg))) ||
        (rc = api_sha256_hex(token, API_TOKEN_LEN, hash)) ||
        (rc = store_token_add(api->store, hash, scopes[scope], name, &id, msg, sizeof(msg)))) {
        rc = api_store_fail(e, rc, msg);
        goto out;
    }
    /* the only time the token is ever shown */
    api_resp_json(resp, 201,
                  json_pack("{s:I,s:s,s:s,s:s}", "id", (json_int_t)id, "name", name, "scope",
                            scopes[scope], "token", token));
    memset(token, 0, sizeof(token));
out:
    json_decref(doc);
    return rc;
}

int api_h_tokens_revoke(Api *api, const ApiRequest *req, const ApiParams *p, ApiResponse *resp,
                        ApiErr *e) {
    char msg[512];
    int rc = store_token_revoke(api->store, p->id, msg, sizeof(msg));
    (void)req;
    if (rc) {
        return api_store_fail(e, rc, msg);
    }
    api_resp_json(resp, 200, json_pack("{s:I,s:b}", "id", (json_int_t)p->id, "revoked", 1));
    return 0;
}
