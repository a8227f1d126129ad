/* Integration: a table of bad requests (malformed JSON, wrong types, out-of-range values,
 * unknown ids and routes, oversized bodies, traversal strings, missing or wrong tokens, a
 * read-only token writing), each answered with the right status and a problem+json body with
 * its stable code, while the daemon keeps serving (health checked after every one). */
#include "itest.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { AUTH_OWN, AUTH_NONE, AUTH_READ, AUTH_RAW };

typedef struct BadCase {
    const char *method;
    const char *path;
    int auth;
    const char *raw_auth; /* AUTH_RAW: the whole Authorization value */
    const char *body;     /* "@big" for a 2 MiB body, "@bigchunked" for the same chunked */
    int status;
    const char *code;
    const char *field; /* NULL: not checked; "" must be null */
} BadCase;

static const BadCase cases[] = {
    /* tokens */
    {"GET", "/api/v1/experiments", AUTH_NONE, NULL, NULL, 401, "AG_EAUTH", ""},
    {"GET", "/metrics", AUTH_NONE, NULL, NULL, 401, "AG_EAUTH", ""},
    {"GET", "/api/v1/info", AUTH_NONE, NULL, NULL, 401, "AG_EAUTH", ""},
    {"GET", "/api/v1/catalogue", AUTH_NONE, NULL, NULL, 401, "AG_EAUTH", ""},
    {"GET", "/api/v1/nonexistent", AUTH_NONE, NULL, NULL, 401, "AG_EAUTH", ""},
    {"GET", "/api/v1/experiments", AUTH_RAW,
     "Bearer ang_0000000000000000000000000000000000000000000000000000000000000000", NULL, 401,
     "AG_EAUTH", ""},
    {"GET", "/api/v1/experiments", AUTH_RAW, "Basic dXNlcjpwYXNz", NULL, 401, "AG_EAUTH", ""},
    {"GET", "/api/v1/experiments", AUTH_RAW, "Bearer", NULL, 401, "AG_EAUTH", ""},
    {"GET", "/api/v1/experiments", AUTH_RAW, "Bearer short", NULL, 401, "AG_EAUTH", ""},
    {"GET", "/api/v1/experiments", AUTH_RAW, "Bearer ' OR 1=1 --", NULL, 401, "AG_EAUTH", ""},
    {"POST", "/api/v1/experiments", AUTH_READ, NULL, "{\"task\":\"CartPole\"}", 403,
     "AG_EFORBIDDEN", ""},
    {"DELETE", "/api/v1/experiments/1", AUTH_READ, NULL, NULL, 403, "AG_EFORBIDDEN", ""},
    {"POST", "/api/v1/experiments/1/cancel", AUTH_READ, NULL, NULL, 403, "AG_EFORBIDDEN", ""},
    {"PUT", "/api/v1/experiments/1/tags", AUTH_READ, NULL, "{\"tags\":[]}", 403, "AG_EFORBIDDEN",
     ""},
    {"GET", "/api/v1/tokens", AUTH_READ, NULL, NULL, 403, "AG_EFORBIDDEN", ""},
    {"POST", "/api/v1/tokens", AUTH_READ, NULL, "{\"name\":\"x\",\"scope\":\"full\"}", 403,
     "AG_EFORBIDDEN", ""},
    /* malformed JSON */
    {"POST", "/api/v1/experiments", AUTH_OWN, NULL, "{", 400, "AG_EJSON", ""},
    {"POST", "/api/v1/experiments", AUTH_OWN, NULL, "", 400, "AG_EJSON", ""},
    {"POST", "/api/v1/experiments", AUTH_OWN, NULL, "null", 400, "AG_EJSON", ""},
    {"POST", "/api/v1/experiments", AUTH_OWN, NULL, "{\"task\":\"CartPole\"} x", 400, "AG_EJSON",
     ""},
    {"POST", "/api/v1/experiments", AUTH_OWN, NULL, "{\"task\":\"a\",\"task\":\"b\"}", 400,
     "AG_EJSON", ""},
    {"POST", "/api/v1/experiments", AUTH_OWN, NULL, "{\"task\":\"CartPole\\x\"}", 400, "AG_EJSON",
     ""},
    {"POST", "/api/v1/validate", AUTH_OWN, NULL, "[1,2", 400, "AG_EJSON", ""},
    /* wrong types and out-of-range values name the JSON path */
    {"POST", "/api/v1/experiments", AUTH_OWN, NULL, "[1,2]", 422, "AG_ESPEC", ""},
    {"POST", "/api/v1/experiments", AUTH_OWN, NULL, "{\"task\":5}", 422, "AG_ESPEC", "task"},
    /* an escaped NUL is well-formed JSON: refused at the value that holds it */
    {"POST", "/api/v1/experiments", AUTH_OWN, NULL,
     "{\"task\":\"CartPole\",\"tags\":[\"a\\u0000b\"]}", 422, "AG_ESPEC", "tags[0]"},
    {"POST", "/api/v1/experiments", AUTH_OWN, NULL, "{\"task\":\"CartPole\",\"ranks\":\"two\"}",
     422, "AG_ESPEC", "ranks"},
    {"POST", "/api/v1/experiments", AUTH_OWN, NULL, "{\"task\":\"CartPole\",\"ranks\":0}", 422,
     "AG_ESPEC", "ranks"},
    {"POST", "/api/v1/experiments", AUTH_OWN, NULL, "{\"task\":\"CartPole\",\"ranks\":99999}", 422,
     "AG_ESPEC", "ranks"},
    {"POST", "/api/v1/experiments", AUTH_OWN, NULL, "{\"task\":\"CartPole\",\"ranks\":64}", 422,
     "AG_ESPEC", "ranks"},
    {"POST", "/api/v1/experiments", AUTH_OWN, NULL, "{\"task\":\"NoSuchTask\"}", 422, "AG_ESPEC",
     "task"},
    {"POST", "/api/v1/experiments", AUTH_OWN, NULL, "{\"task\":\"CartPole\",\"ppo\":{\"lr\":-1}}",
     422, "AG_ESPEC", "ppo.lr"},
    {"POST", "/api/v1/experiments", AUTH_OWN, NULL, "{\"task\":\"CartPole\",\"ppo\":{\"bogus\":1}}",
     422, "AG_ESPEC", "ppo.bogus"},
    {"POST", "/api/v1/experiments", AUTH_OWN, NULL,
     "{\"task\":\"CartPole\",\"budget\":{\"env_steps\":0}}", 422, "AG_ESPEC", "budget.env_steps"},
    {"POST", "/api/v1/experiments", AUTH_OWN, NULL, "{\"task\":\"CartPole\",\"seed\":1.5}", 422,
     "AG_ESPEC", "seed"},
    {"POST", "/api/v1/experiments", AUTH_OWN, NULL,
     "{\"spec\":{\"task\":\"CartPole\"},\"priority\":\"high\"}", 422, "AG_ESPEC", "priority"},
    {"POST", "/api/v1/experiments", AUTH_OWN, NULL,
     "{\"spec\":{\"task\":\"CartPole\"},\"priority\":5000}", 422, "AG_ESPEC", "priority"},
    {"POST", "/api/v1/experiments", AUTH_OWN, NULL, "{\"spec\":5}", 422, "AG_ESPEC", "spec"},
    {"POST", "/api/v1/experiments", AUTH_OWN, NULL,
     "{\"spec\":{\"task\":\"CartPole\"},\"extra\":1}", 422, "AG_ESPEC", "extra"},
    {"POST", "/api/v1/experiments", AUTH_OWN, NULL, "{\"spec\":{\"task\":7}}", 422, "AG_ESPEC",
     "spec.task"},
    {"POST", "/api/v1/validate", AUTH_OWN, NULL, "{\"task\":\"CartPole\",\"seed\":-1}", 422,
     "AG_ESPEC", "seed"},
    {"PUT", "/api/v1/experiments/1/tags", AUTH_OWN, NULL, "{\"tags\":\"x\"}", 422, "AG_ESPEC",
     "tags"},
    {"PUT", "/api/v1/experiments/1/tags", AUTH_OWN, NULL, "{\"tags\":[1]}", 422, "AG_ESPEC",
     "tags[0]"},
    {"PUT", "/api/v1/experiments/1/tags", AUTH_OWN, NULL, "{\"tags\":[],\"x\":1}", 422, "AG_ESPEC",
     "x"},
    /* integers beyond 64 bits are values out of range, at their path */
    {"POST", "/api/v1/validate", AUTH_OWN, NULL,
     "{\"task\":\"CartPole\",\"seed\":9223372036854775808}", 422, "AG_ESPEC", "seed"},
    {"POST", "/api/v1/experiments", AUTH_OWN, NULL,
     "{\"task\":\"CartPole\",\"budget\":{\"env_steps\":18446744073709551616}}", 422, "AG_ESPEC",
     "budget.env_steps"},
    {"POST", "/api/v1/validate", AUTH_OWN, NULL,
     "{\"spec\":{\"task\":\"CartPole\",\"seed\":-9223372036854775809}}", 422, "AG_ESPEC",
     "spec.seed"},
    {"PUT", "/api/v1/experiments/1/notes", AUTH_OWN, NULL, "{\"notes\":5}", 422, "AG_ESPEC",
     "notes"},
    {"POST", "/api/v1/tokens", AUTH_OWN, NULL, "{\"name\":\"x\",\"scope\":\"root\"}", 422,
     "AG_ESPEC", "scope"},
    {"POST", "/api/v1/tokens", AUTH_OWN, NULL, "{}", 422, "AG_ESPEC", "name"},
    {"POST", "/api/v1/experiments/1/evaluate", AUTH_OWN, NULL, "{\"episodes\":0}", 422, "AG_ESPEC",
     "episodes"},
    {"POST", "/api/v1/experiments/1/evaluate", AUTH_OWN, NULL, "{\"checkpoint\":\"../x.ckpt\"}",
     422, "AG_ESPEC", "checkpoint"},
    {"POST", "/api/v1/experiments/1/evaluate", AUTH_OWN, NULL, "{\"record\":1}", 422, "AG_ESPEC",
     "record"},
    {"GET", "/api/v1/experiments/424242/evaluation/video", AUTH_OWN, NULL, NULL, 404,
     "AG_ENOTFOUND", ""},
    {"GET", "/api/v1/experiments/1/evaluation/trajectory", AUTH_NONE, NULL, NULL, 401, "AG_EAUTH",
     ""},
    /* query arguments */
    {"GET", "/api/v1/experiments?limit=0", AUTH_OWN, NULL, NULL, 400, "AG_EINVAL", "limit"},
    {"GET", "/api/v1/experiments?limit=abc", AUTH_OWN, NULL, NULL, 400, "AG_EINVAL", "limit"},
    {"GET", "/api/v1/experiments?limit=100000", AUTH_OWN, NULL, NULL, 400, "AG_EINVAL", "limit"},
    {"GET", "/api/v1/experiments?state=bogus", AUTH_OWN, NULL, NULL, 400, "AG_EINVAL", "state"},
    {"GET", "/api/v1/experiments?cursor=-5", AUTH_OWN, NULL, NULL, 400, "AG_EINVAL", "cursor"},
    {"GET", "/api/v1/experiments/1/metrics/series", AUTH_OWN, NULL, NULL, 400, "AG_EINVAL", "key"},
    {"GET", "/api/v1/experiments/1/metrics/series?key=a%22b", AUTH_OWN, NULL, NULL, 400,
     "AG_EINVAL", "key"},
    {"GET", "/api/v1/experiments/1/metrics/series?key=return_mean&points=1", AUTH_OWN, NULL, NULL,
     400, "AG_EINVAL", "points"},
    {"GET", "/api/v1/experiments/1/metrics/export?format=xml", AUTH_OWN, NULL, NULL, 400,
     "AG_EINVAL", "format"},
    {"GET", "/api/v1/experiments/1/log?file=/etc/passwd", AUTH_OWN, NULL, NULL, 400, "AG_EINVAL",
     "file"},
    {"GET", "/api/v1/experiments/1/log?tail=0", AUTH_OWN, NULL, NULL, 400, "AG_EINVAL", "tail"},
    /* unknown ids and routes */
    {"GET", "/api/v1/experiments/999999", AUTH_OWN, NULL, NULL, 404, "AG_ENOTFOUND", ""},
    {"GET", "/api/v1/experiments/abc", AUTH_OWN, NULL, NULL, 400, "AG_EINVAL", "id"},
    {"GET", "/api/v1/experiments/0", AUTH_OWN, NULL, NULL, 400, "AG_EINVAL", "id"},
    {"GET", "/api/v1/experiments/99999999999999999999999", AUTH_OWN, NULL, NULL, 400, "AG_EINVAL",
     "id"},
    {"POST", "/api/v1/experiments/999999/cancel", AUTH_OWN, NULL, NULL, 404, "AG_ENOTFOUND", ""},
    {"DELETE", "/api/v1/experiments/999999", AUTH_OWN, NULL, NULL, 404, "AG_ENOTFOUND", ""},
    {"GET", "/api/v1/experiments/999999/metrics/keys", AUTH_OWN, NULL, NULL, 404, "AG_ENOTFOUND",
     ""},
    {"GET", "/api/v1/experiments/1/checkpoints/nope.ckpt", AUTH_OWN, NULL, NULL, 404,
     "AG_ENOTFOUND", "name"},
    {"GET", "/api/v1/experiments/1/checkpoints/..%2F..%2Fspec.json", AUTH_OWN, NULL, NULL, 404,
     "AG_ENOTFOUND", ""},
    {"GET", "/api/v1/experiments/1/checkpoints/spec.json", AUTH_OWN, NULL, NULL, 400, "AG_EINVAL",
     "name"},
    {"DELETE", "/api/v1/tokens/999999", AUTH_OWN, NULL, NULL, 404, "AG_ENOTFOUND", ""},
    /* a NUL byte anywhere in the decoded path or query is refused, never routed by its prefix */
    {"GET", "/api/v1/experiments/1%00", AUTH_OWN, NULL, NULL, 400, "AG_EINVAL", ""},
    {"GET", "/api/v1/experiments/1/log?file=worker%00", AUTH_OWN, NULL, NULL, 400, "AG_EINVAL", ""},
    {"GET", "/index.html%00.js", AUTH_NONE, NULL, NULL, 400, "AG_EINVAL", ""},
    {"GET", "/api/v1/experiments?q=a%00b", AUTH_OWN, NULL, NULL, 400, "AG_EINVAL", ""},
    {"DELETE", "/api/v1/experiments/1%00", AUTH_OWN, NULL, NULL, 400, "AG_EINVAL", ""},
    {"GET", "/api/v1/nonexistent", AUTH_OWN, NULL, NULL, 404, "AG_ENOTFOUND", ""},
    {"PATCH", "/api/v1/experiments", AUTH_OWN, NULL, NULL, 405, "AG_EUNSUPPORTED", ""},
    {"POST", "/api/v1/health", AUTH_OWN, NULL, NULL, 405, "AG_EUNSUPPORTED", ""},
    /* states */
    {"POST", "/api/v1/experiments/1/resume", AUTH_OWN, NULL, NULL, 409, "AG_ESTATE", ""},
    {"DELETE", "/api/v1/experiments/1", AUTH_OWN, NULL, NULL, 409, "AG_ESTATE", ""},
    /* oversized bodies */
    {"POST", "/api/v1/experiments", AUTH_OWN, NULL, "@big", 413, "AG_ETOOBIG", ""},
    {"POST", "/api/v1/experiments", AUTH_OWN, NULL, "@bigchunked", 413, "AG_ETOOBIG", ""},
    {"POST", "/api/v1/validate", AUTH_NONE, NULL, "@big", 413, "AG_ETOOBIG", ""},
    /* traversal out of the dashboard folder in every encoding */
    {"GET", "/../../../../etc/passwd", AUTH_NONE, NULL, NULL, 403, "AG_EFORBIDDEN", "path"},
    {"GET", "/%2e%2e/%2e%2e/%2e%2e/etc/passwd", AUTH_NONE, NULL, NULL, 403, "AG_EFORBIDDEN",
     "path"},
    {"GET", "/%2e%2e%2f%2e%2e%2fetc%2fpasswd", AUTH_NONE, NULL, NULL, 403, "AG_EFORBIDDEN", "path"},
    {"GET", "/%252e%252e%252f%252e%252e%252fetc%252fpasswd", AUTH_NONE, NULL, NULL, 403,
     "AG_EFORBIDDEN", "path"},
    {"GET", "/..%5c..%5cetc%5cpasswd", AUTH_NONE, NULL, NULL, 403, "AG_EFORBIDDEN", "path"},
    {"GET", "/..\\..\\etc\\passwd", AUTH_NONE, NULL, NULL, 403, "AG_EFORBIDDEN", "path"},
    {"GET", "//etc/passwd", AUTH_NONE, NULL, NULL, 403, "AG_EFORBIDDEN", "path"},
    {"GET", "/index.html/../../../etc/passwd", AUTH_NONE, NULL, NULL, 403, "AG_EFORBIDDEN", "path"},
    {"GET", "/C:/Windows/win.ini", AUTH_NONE, NULL, NULL, 403, "AG_EFORBIDDEN", "path"},
    {"GET", "/.%2e/.%2e/etc/passwd", AUTH_NONE, NULL, NULL, 403, "AG_EFORBIDDEN", "path"},
    {"GET", "/no-such-file.js", AUTH_NONE, NULL, NULL, 404, "AG_ENOTFOUND", "path"},
    {"DELETE", "/index.html", AUTH_NONE, NULL, NULL, 405, "AG_EUNSUPPORTED", ""},
};

START_TEST(test_bad_request_table) {
    const size_t n = sizeof(cases) / sizeof(cases[0]);
    Daemon d;
    HttpResult r;
    char read_token[128], auth[256];
    char *big;
    size_t big_len = (2u << 20) + 17;
    long long id;
    ck_assert_uint_ge(n, 50);
    itest_daemon_init(&d);
    {
        const char *const extra[] = {"--max-cores", "2", NULL};
        itest_daemon_start(&d, itest_fake_trainer(), extra);
    }
    /* experiment 1 keeps running through the whole table */
    id = itest_submit(&d, "{\"task\":\"CartPole\",\"notes\":\"fake:iters=100000,sleep=0.2\"}", 0);
    ck_assert_int_eq(id, 1);
    json_decref(itest_wait_state(&d, id, "running", 10));
    {
        const char *tb = "{\"name\":\"ro\",\"scope\":\"read\"}";
        itest_http(&d, "POST", "/api/v1/tokens", "", tb, strlen(tb), &r);
    }
    ck_assert_int_eq(r.status, 201);
    snprintf(read_token, sizeof(read_token), "%s",
             json_string_value(json_object_get(r.json, "token")));
    itest_http_free(&r);
    big = malloc(big_len + 1);
    ck_assert_ptr_nonnull(big);
    memset(big, ' ', big_len);
    big[0] = '{';
    big[big_len - 1] = '}';
    big[big_len] = '\0';

    for (size_t i = 0; i < n; i++) {
        const BadCase *c = &cases[i];
        const char *hdr = NULL, *body = c->body;
        size_t body_len = body ? strlen(body) : 0;
        int chunked = 0;
        json_t *field;
        if (c->auth == AUTH_OWN || c->auth == AUTH_READ) {
            snprintf(auth, sizeof(auth), "Bearer %s", c->auth == AUTH_OWN ? d.token : read_token);
            hdr = auth;
        } else if (c->auth == AUTH_RAW) {
            hdr = c->raw_auth;
        }
        if (body && body[0] == '@') {
            chunked = !strcmp(body, "@bigchunked");
            body = big;
            body_len = big_len;
        }
        itest_http_raw(&d, c->method, c->path, hdr, body, body_len, chunked, &r);
        ck_assert_msg(r.status == c->status, "case %zu %s %s: status %ld, expected %d (%s)", i,
                      c->method, c->path, r.status, c->status, r.body ? r.body : "");
        ck_assert_msg(strstr(r.content_type, "application/problem+json") != NULL,
                      "case %zu %s %s: content type %s", i, c->method, c->path, r.content_type);
        ck_assert_msg(r.json != NULL, "case %zu: body is not JSON", i);
        ck_assert_int_eq(json_integer_value(json_object_get(r.json, "status")), c->status);
        ck_assert_msg(!strcmp(json_string_value(json_object_get(r.json, "code")), c->code),
                      "case %zu %s %s: code %s, expected %s", i, c->method, c->path,
                      json_string_value(json_object_get(r.json, "code")), c->code);
        ck_assert(json_is_string(json_object_get(r.json, "type")));
        ck_assert(json_is_string(json_object_get(r.json, "title")));
        ck_assert(json_is_string(json_object_get(r.json, "detail")));
        field = json_object_get(r.json, "field");
        if (c->field && !c->field[0]) {
            ck_assert_msg(json_is_null(field), "case %zu: field should be null", i);
        } else if (c->field) {
            ck_assert_msg(json_is_string(field) && !strcmp(json_string_value(field), c->field),
                          "case %zu %s %s: field %s, expected %s", i, c->method, c->path,
                          json_is_string(field) ? json_string_value(field) : "null", c->field);
        }
        itest_http_free(&r);
        /* still serving */
        itest_http(&d, "GET", "/api/v1/health", NULL, NULL, 0, &r);
        ck_assert_msg(r.status == 200, "health after case %zu: %ld", i, r.status);
        itest_http_free(&r);
    }
    free(big);
    /* and the run went on undisturbed */
    {
        json_t *o = itest_get(&d, id);
        ck_assert_str_eq(itest_state(o), "running");
        json_decref(o);
    }
    /* nothing bad was stored: still one experiment */
    itest_http(&d, "GET", "/api/v1/experiments", "", NULL, 0, &r);
    ck_assert_int_eq(json_array_size(json_object_get(r.json, "items")), 1);
    itest_http_free(&r);
    ck_assert_int_eq(itest_daemon_stop(&d, NULL), 0);
    itest_daemon_cleanup(&d);
}
END_TEST

int main(void) {
    const TTest *tests[] = {test_bad_request_table};
    return itest_run_tests("integration_bad_requests", 200, tests, ITEST_COUNT(tests));
}
