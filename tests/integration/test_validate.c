/* Integration: the truth at submit time. With the real trainer, specs that only the engine can
 * refuse (an unknown model, a model with a bad key, a policy that does not fit the task's
 * actions, bad task options) are refused with a 422 naming their JSON path, alike at validate
 * and at submit, and nothing is queued. With the test double, a run that fails on its input
 * (exit 2) is not retried and its own message becomes the experiment's error. */
#include "itest.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct BadSpec {
    const char *member; /* added to the base spec */
    const char *path;   /* the field of the 422 */
} BadSpec;

static const BadSpec bad_specs[] = {
    {"\"model\":\"no_such_model\"", "model"},
    {"\"model\":{\"bogus\":1}", "model.bogus"},
    {"\"policy\":\"gaussian\"", "policy"},
    {"\"task_options\":{\"bogus\":1}", "task_options.bogus"},
    {"\"task_options\":{\"max_episode_steps\":-1}", "task_options.max_episode_steps"},
};

/* a 422 whose field is path */
static void expect_422(const Daemon *d, const char *route, const char *body, const char *path) {
    HttpResult r;
    const char *field;
    itest_http(d, "POST", route, "", body, strlen(body), &r);
    ck_assert_msg(r.status == 422, "%s %s: status %ld (%s)", route, body, r.status,
                  r.body ? r.body : "");
    field = json_string_value(json_object_get(r.json, "field"));
    ck_assert_msg(field && !strcmp(field, path), "%s %s: field %s, expected %s", route, body,
                  field ? field : "null", path);
    ck_assert_str_eq(json_string_value(json_object_get(r.json, "code")), "AG_ESPEC");
    itest_http_free(&r);
}

START_TEST(test_engine_checks_at_submit) {
    const char *trainer = getenv("ITEST_TRAINER");
    const char *good = "{\"task\":\"CartPole\",\"budget\":{\"env_steps\":4096}}";
    Daemon d;
    HttpResult r;
    char body[512], wrapped[600], path[128];
    ck_assert_msg(trainer && *trainer, "ITEST_TRAINER is not set");
    itest_daemon_init(&d);
    itest_daemon_start(&d, trainer, NULL);
    for (size_t i = 0; i < ITEST_COUNT(bad_specs); i++) {
        const BadSpec *b = &bad_specs[i];
        snprintf(body, sizeof(body), "{\"task\":\"CartPole\",\"budget\":{\"env_steps\":4096},%s}",
                 b->member);
        snprintf(wrapped, sizeof(wrapped), "{\"spec\":%s,\"priority\":1}", body);
        snprintf(path, sizeof(path), "spec.%s", b->path);
        expect_422(&d, "/api/v1/validate", body, b->path);
        expect_422(&d, "/api/v1/experiments", body, b->path);
        /* the second time from the cache, the same answer */
        expect_422(&d, "/api/v1/validate", body, b->path);
        expect_422(&d, "/api/v1/experiments", wrapped, path);
    }
    /* a good spec still passes */
    itest_http(&d, "POST", "/api/v1/validate", "", good, strlen(good), &r);
    ck_assert_msg(r.status == 200, "validate: %ld %s", r.status, r.body ? r.body : "");
    itest_http_free(&r);
    /* nothing was queued */
    itest_http(&d, "GET", "/api/v1/experiments", "", NULL, 0, &r);
    ck_assert_int_eq(r.status, 200);
    ck_assert_int_eq(json_array_size(json_object_get(r.json, "items")), 0);
    itest_http_free(&r);
    ck_assert_int_eq(itest_daemon_stop(&d, NULL), 0);
    itest_daemon_cleanup(&d);
}
END_TEST

START_TEST(test_input_failure_not_retried) {
    Daemon d;
    json_t *o;
    const char *error;
    long long id;
    itest_daemon_init(&d);
    itest_daemon_start(&d, itest_fake_trainer(), NULL);
    id = itest_submit(
        &d, "{\"task\":\"CartPole\",\"notes\":\"fake:iters=5,sleep=0.02,crash=input\"}", 0);
    o = itest_wait_state(&d, id, "failed", 30);
    ck_assert_int_eq(json_integer_value(json_object_get(o, "attempts")), 1);
    error = json_string_value(json_object_get(o, "error"));
    ck_assert_msg(error && !strcmp(error, "task_options.bogus: unknown key"), "error: %s",
                  error ? error : "null");
    json_decref(o);
    ck_assert_int_eq(itest_daemon_stop(&d, NULL), 0);
    itest_daemon_cleanup(&d);
}
END_TEST

int main(void) {
    const TTest *tests[] = {test_engine_checks_at_submit, test_input_failure_not_retried};
    return itest_run_tests("integration_validate", 200, tests, ITEST_COUNT(tests));
}
