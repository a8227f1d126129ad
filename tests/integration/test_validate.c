/* Integration: the truth at submit time. With the real trainer, specs that only the engine can
 * refuse (an unknown model, a model with a bad key, a policy that does not fit the task's
 * actions, bad task options) are refused with a 422 naming their JSON path, alike at validate
 * and at submit, and nothing is queued. With the test double, a run that fails on its input
 * (exit 2) is not retried and its own message becomes the experiment's error. Evaluations and
 * analyses are checked against the run's checkpoints, and recordings against the task's ability
 * to draw, when they are asked for. A policy to start from (spec init) is read at every check. */
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

/* a problem answer: its status, field and a piece of its message */
static void expect_problem(const Daemon *d, const char *route, const char *body, long status,
                           const char *field, const char *words) {
    HttpResult r;
    const char *f, *detail;
    itest_http(d, "POST", route, "", body, strlen(body), &r);
    ck_assert_msg(r.status == status, "%s %s: status %ld (%s)", route, body, r.status,
                  r.body ? r.body : "");
    f = json_string_value(json_object_get(r.json, "field"));
    detail = json_string_value(json_object_get(r.json, "detail"));
    ck_assert_msg(f && !strcmp(f, field), "%s %s: field %s", route, body, f ? f : "null");
    ck_assert_msg(detail && strstr(detail, words), "%s %s: %s", route, body,
                  detail ? detail : "null");
    itest_http_free(&r);
}

/* the number of jobs (evaluations and analyses) of run id */
static size_t jobs_of(const Daemon *d, long long id) {
    HttpResult r;
    char path[128];
    size_t n;
    snprintf(path, sizeof(path), "/api/v1/experiments?parent=%lld", id);
    itest_http(d, "GET", path, "", NULL, 0, &r);
    ck_assert_int_eq(r.status, 200);
    n = json_array_size(json_object_get(r.json, "items"));
    itest_http_free(&r);
    return n;
}

/* evaluations and analyses are checked against the run's checkpoints and the task's abilities
 * when they are asked for, not when they run */
START_TEST(test_jobs_checked_at_submit) {
    const char *trainer = getenv("ITEST_TRAINER");
    const char *tiny = "{\"task\":\"CartPole\",\"seed\":4,\"ppo\":{\"envs_per_rank\":2,"
                       "\"horizon\":64,\"minibatch\":64,\"epochs\":1},\"budget\":{\"env_steps\":"
                       "256},\"eval\":{\"every\":0}}";
    Daemon d;
    HttpResult r;
    char route[128], analyses[128];
    const char *long_run = "{\"task\":\"CartPole\",\"budget\":{\"env_steps\":100000000}}";
    static const char *const one_core[] = {"--max-cores", "1", NULL};
    long long done, idle, busy;
    ck_assert_msg(trainer && *trainer, "ITEST_TRAINER is not set");
    itest_daemon_init(&d);
    itest_daemon_start(&d, trainer, one_core);
    done = itest_submit(&d, tiny, 0);
    json_decref(itest_wait_state(&d, done, "succeeded", 120));
    snprintf(route, sizeof(route), "/api/v1/experiments/%lld/evaluate", done);
    snprintf(analyses, sizeof(analyses), "/api/v1/experiments/%lld/analyses", done);
    /* a checkpoint the run does not have: 422 naming it and the ones it has */
    expect_problem(&d, route, "{\"checkpoint\":\"nope.ckpt\"}", 422, "checkpoint",
                   "has no checkpoint nope.ckpt (it has: ");
    expect_problem(&d, route, "{\"checkpoint\":\"nope.ckpt\"}", 422, "checkpoint", "last.ckpt");
    expect_problem(&d, analyses, "{\"checkpoint\":\"nope.ckpt\"}", 422, "checkpoint",
                   "has no checkpoint nope.ckpt");
    /* CartPole draws no pictures: a recording of it is refused, a plain evaluation is not */
    expect_problem(&d, route, "{\"record\":true}", 422, "record", "draws no pictures");
    ck_assert_uint_eq(jobs_of(&d, done), 0);
    itest_http(&d, "POST", route, "", "{\"episodes\":1}", 14, &r);
    ck_assert_msg(r.status == 201, "%ld %s", r.status, r.body ? r.body : "");
    itest_http_free(&r);
    /* a run without any checkpoint: one core, taken by a long run, keeps it queued; paused
     * there, it never starts. 409 saying so. */
    busy = itest_submit(&d, long_run, 0);
    json_decref(itest_wait_state(&d, busy, "running", 20));
    idle = itest_submit(&d, tiny, 0);
    snprintf(route, sizeof(route), "/api/v1/experiments/%lld/pause", idle);
    itest_http(&d, "POST", route, "", "", 0, &r);
    ck_assert_int_eq(r.status, 200);
    ck_assert_str_eq(itest_state(r.json), "paused");
    itest_http_free(&r);
    snprintf(route, sizeof(route), "/api/v1/experiments/%lld/evaluate", idle);
    snprintf(analyses, sizeof(analyses), "/api/v1/experiments/%lld/analyses", idle);
    expect_problem(&d, route, "{}", 409, "checkpoint", "has no checkpoint yet");
    expect_problem(&d, analyses, "{}", 409, "checkpoint", "has no checkpoint yet");
    ck_assert_uint_eq(jobs_of(&d, idle), 0);
    snprintf(route, sizeof(route), "/api/v1/experiments/%lld/cancel", busy);
    itest_http(&d, "POST", route, "", "", 0, &r);
    itest_http_free(&r);
    json_decref(itest_wait_state(&d, busy, "cancelled", 30));
    ck_assert_int_eq(itest_daemon_stop(&d, NULL), 0);
    itest_daemon_cleanup(&d);
}
END_TEST

/* runs a shell command, failing the test unless it exits 0 */
static void sh(const char *cmd) {
    int rc = system(cmd);
    ck_assert_msg(rc == 0, "%s: status %d", cmd, rc);
}

/* a spec's policy to start from is read at every check, never from the cache: a missing file,
 * then the same spec once the file is there, then a file that is not a checkpoint */
START_TEST(test_init_checked_at_submit) {
    const char *trainer = getenv("ITEST_TRAINER");
    const char *tiny = "{\"task\":\"CartPole\",\"seed\":4,\"ppo\":{\"envs_per_rank\":2,"
                       "\"horizon\":64,\"minibatch\":64,\"epochs\":1},\"budget\":{\"env_steps\":"
                       "256},\"eval\":{\"every\":0}";
    static const char *const one_core[] = {"--max-cores", "1", NULL};
    Daemon d;
    HttpResult r;
    char dir[256], from[300], real[300], body[1024], cmd[4096];
    ck_assert_msg(trainer && *trainer, "ITEST_TRAINER is not set");
    itest_daemon_init(&d);
    itest_daemon_start(&d, trainer, one_core);
    snprintf(dir, sizeof(dir), "%s", itest_path(&d, "init"));
    snprintf(from, sizeof(from), "%s/from.ckpt", dir);
    snprintf(real, sizeof(real), "%s/run/checkpoints/last.ckpt", dir);
    snprintf(cmd, sizeof(cmd),
             "mkdir -p '%s' && echo '%s}' > '%s/tiny.json' && '%s' '%s/tiny.json' "
             "--run-dir '%s/run' --quiet",
             dir, tiny, dir, trainer, dir, dir);
    sh(cmd);
    snprintf(body, sizeof(body), "%s,\"init\":{\"checkpoint\":\"%s\"}}", tiny, from);
    expect_problem(&d, "/api/v1/validate", body, 422, "init.checkpoint", "from.ckpt");
    snprintf(cmd, sizeof(cmd), "cp '%s' '%s'", real, from);
    sh(cmd);
    itest_http(&d, "POST", "/api/v1/validate", "", body, strlen(body), &r);
    ck_assert_msg(r.status == 200, "validate once the file is there: %ld %s", r.status,
                  r.body ? r.body : "");
    itest_http_free(&r);
    snprintf(cmd, sizeof(cmd), "echo 'not a checkpoint' > '%s'", from);
    sh(cmd);
    expect_problem(&d, "/api/v1/validate", body, 422, "init.checkpoint", "from.ckpt");
    expect_problem(&d, "/api/v1/experiments", body, 422, "init.checkpoint", "from.ckpt");
    /* the real file again: the run starts from it and finishes */
    snprintf(cmd, sizeof(cmd), "cp '%s' '%s'", real, from);
    sh(cmd);
    long long id = itest_submit(&d, body, 0);
    json_decref(itest_wait_state(&d, id, "succeeded", 120));
    ck_assert_int_eq(itest_daemon_stop(&d, NULL), 0);
    itest_daemon_cleanup(&d);
}
END_TEST

int main(void) {
    const TTest *tests[] = {test_engine_checks_at_submit, test_input_failure_not_retried,
                            test_jobs_checked_at_submit, test_init_checked_at_submit};
    return itest_run_tests("integration_validate", 200, tests, ITEST_COUNT(tests));
}
