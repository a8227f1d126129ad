/* Integration: one experiment through angorad from submission to deletion (metric rows, series,
 * export, checkpoints, log, events, tags, notes, evaluation job), token scopes, the service
 * endpoints, and a clean SIGTERM exit. */
#include "itest.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *spec12 = "{\"task\":\"CartPole\",\"name\":\"life\",\"tags\":[\"smoke\"],"
                            "\"notes\":\"fake:iters=12,sleep=0.03\"}";

static void get_ok(const Daemon *d, const char *path, HttpResult *r) {
    itest_http(d, "GET", path, "", NULL, 0, r);
    ck_assert_msg(r->status == 200, "GET %s: %ld %s", path, r->status, r->body ? r->body : "");
}

START_TEST(test_lifecycle) {
    Daemon d;
    HttpResult r;
    char path[512], body[256];
    long long id, eval_id;
    json_t *o, *v;
    struct stat sb;
    double secs = 0;
    size_t i;
    int status, found;
    itest_daemon_init(&d);
    itest_daemon_start(&d, itest_fake_trainer(), NULL);

    /* the token file is private */
    snprintf(path, sizeof(path), "%s/token", d.dir);
    ck_assert_int_eq(stat(path, &sb), 0);
    ck_assert_int_eq(sb.st_mode & 0777, 0600);

    /* health without a token; everything else with one */
    itest_http(&d, "GET", "/api/v1/health", NULL, NULL, 0, &r);
    ck_assert_int_eq(r.status, 200);
    ck_assert_str_eq(json_string_value(json_object_get(r.json, "status")), "ok");
    itest_http_free(&r);

    id = itest_submit(&d, spec12, 0);
    o = itest_wait_state(&d, id, "succeeded", 30);
    ck_assert_int_eq(json_integer_value(json_object_get(o, "metric_rows")), 12);
    ck_assert_int_eq(json_integer_value(json_object_get(o, "last_iteration")), 12);
    ck_assert_int_eq(json_integer_value(json_object_get(o, "attempts")), 0);
    ck_assert(json_is_number(json_object_get(o, "finished_at")));
    ck_assert_str_eq(json_string_value(json_object_get(o, "name")), "life");
    json_decref(o);
    itest_assert_rows_exact(&d, id, 12);

    /* metric keys and a downsampled series keeping the first and last points */
    snprintf(path, sizeof(path), "/api/v1/experiments/%lld/metrics/keys", id);
    get_ok(&d, path, &r);
    found = 0;
    json_array_foreach(json_object_get(r.json, "keys"), i, v) found +=
        !strcmp(json_string_value(v), "return_mean");
    ck_assert_int_eq(found, 1);
    itest_http_free(&r);
    snprintf(path, sizeof(path), "/api/v1/experiments/%lld/metrics/series?key=return_mean&points=4",
             id);
    get_ok(&d, path, &r);
    ck_assert_int_eq(json_array_size(json_object_get(r.json, "x")), 4);
    ck_assert_double_eq(json_real_value(json_array_get(json_object_get(r.json, "x"), 0)), 1);
    ck_assert_double_eq(json_real_value(json_array_get(json_object_get(r.json, "x"), 3)), 12);
    ck_assert_double_eq(json_real_value(json_array_get(json_object_get(r.json, "last"), 3)),
                        120.25);
    /* a middle bucket spans several points: min below max */
    ck_assert(json_real_value(json_array_get(json_object_get(r.json, "min"), 1)) <
              json_real_value(json_array_get(json_object_get(r.json, "max"), 1)));
    ck_assert_int_eq(json_integer_value(json_object_get(r.json, "source_points")), 12);
    itest_http_free(&r);
    snprintf(path, sizeof(path),
             "/api/v1/experiments/%lld/metrics/series?key=return_mean&x=env_steps", id);
    get_ok(&d, path, &r);
    ck_assert_int_eq(json_array_size(json_object_get(r.json, "x")), 12);
    ck_assert_double_eq(json_real_value(json_array_get(json_object_get(r.json, "x"), 11)), 12000);
    itest_http_free(&r);

    /* CSV export: header then one line per row */
    snprintf(path, sizeof(path), "/api/v1/experiments/%lld/metrics/export?format=csv", id);
    get_ok(&d, path, &r);
    ck_assert_ptr_nonnull(strstr(r.content_type, "text/csv"));
    ck_assert(strncmp(r.body, "seq,", 4) == 0);
    {
        int lines = 0;
        for (char *p = r.body; *p; p++) {
            lines += *p == '\n';
        }
        ck_assert_int_eq(lines, 13);
    }
    itest_http_free(&r);

    /* checkpoints, download, log, events */
    snprintf(path, sizeof(path), "/api/v1/experiments/%lld/checkpoints", id);
    get_ok(&d, path, &r);
    ck_assert_str_eq(json_string_value(json_object_get(
                         json_array_get(json_object_get(r.json, "items"), 0), "name")),
                     "last.ckpt");
    itest_http_free(&r);
    snprintf(path, sizeof(path), "/api/v1/experiments/%lld/checkpoints/last.ckpt", id);
    get_ok(&d, path, &r);
    ck_assert_str_eq(r.body, "12\n");
    itest_http_free(&r);
    snprintf(path, sizeof(path), "/api/v1/experiments/%lld/log?tail=5", id);
    get_ok(&d, path, &r);
    ck_assert_str_eq(r.body, "done\n");
    itest_http_free(&r);
    snprintf(path, sizeof(path), "/api/v1/experiments/%lld/log?offset=0&length=12", id);
    get_ok(&d, path, &r);
    ck_assert_str_eq(r.body, "fake trainer");
    itest_http_free(&r);
    snprintf(path, sizeof(path), "/api/v1/experiments/%lld/events", id);
    get_ok(&d, path, &r);
    ck_assert_ptr_nonnull(strstr(r.body, "\"started\""));
    ck_assert_ptr_nonnull(strstr(r.body, "\"succeeded\""));
    itest_http_free(&r);

    /* tags and notes; the tag filter of the list */
    snprintf(path, sizeof(path), "/api/v1/experiments/%lld/tags", id);
    snprintf(body, sizeof(body), "{\"tags\":[\"best\",\"cartpole\"]}");
    itest_http(&d, "PUT", path, "", body, strlen(body), &r);
    ck_assert_int_eq(r.status, 200);
    itest_http_free(&r);
    snprintf(path, sizeof(path), "/api/v1/experiments/%lld/notes", id);
    snprintf(body, sizeof(body), "{\"notes\":\"keep this one\"}");
    itest_http(&d, "PUT", path, "", body, strlen(body), &r);
    ck_assert_int_eq(r.status, 200);
    ck_assert_str_eq(json_string_value(json_object_get(r.json, "notes")), "keep this one");
    itest_http_free(&r);
    get_ok(&d, "/api/v1/experiments?tag=best", &r);
    ck_assert_int_eq(json_array_size(json_object_get(r.json, "items")), 1);
    itest_http_free(&r);
    get_ok(&d, "/api/v1/experiments?tag=smoke", &r);
    ck_assert_int_eq(json_array_size(json_object_get(r.json, "items")), 0);
    itest_http_free(&r);
    get_ok(&d, "/api/v1/experiments?state=succeeded&task=CartPole", &r);
    ck_assert_int_eq(json_array_size(json_object_get(r.json, "items")), 1);
    itest_http_free(&r);

    /* an evaluation job of the last checkpoint */
    snprintf(path, sizeof(path), "/api/v1/experiments/%lld/evaluate", id);
    snprintf(body, sizeof(body), "{\"episodes\":3}");
    itest_http(&d, "POST", path, "", body, strlen(body), &r);
    ck_assert_int_eq(r.status, 201);
    eval_id = json_integer_value(json_object_get(r.json, "id"));
    ck_assert_str_eq(json_string_value(json_object_get(r.json, "kind")), "evaluate");
    itest_http_free(&r);
    json_decref(itest_wait_state(&d, eval_id, "succeeded", 20));
    snprintf(path, sizeof(path), "/api/v1/experiments/%lld/evaluation", eval_id);
    get_ok(&d, path, &r);
    ck_assert_int_eq(json_integer_value(json_object_get(r.json, "episodes")), 3);
    ck_assert_double_eq(json_real_value(json_object_get(r.json, "mean")), 42.0);
    itest_http_free(&r);

    /* service endpoints */
    get_ok(&d, "/metrics", &r);
    ck_assert_ptr_nonnull(strstr(r.body, "angora_metric_rows_ingested_total 12\n"));
    ck_assert_ptr_nonnull(strstr(r.body, "angora_experiments{state=\"succeeded\"} 2\n"));
    ck_assert_ptr_nonnull(strstr(r.body, "angora_queue_length 0\n"));
    ck_assert_ptr_nonnull(strstr(r.body, "angora_http_requests_total{code=\"200\"}"));
    itest_http_free(&r);
    get_ok(&d, "/api/v1/openapi.json", &r);
    ck_assert_ptr_nonnull(json_object_get(json_object_get(r.json, "paths"),
                                          "/api/v1/experiments/{id}/metrics/series"));
    ck_assert_ptr_nonnull(json_object_get(
        json_object_get(json_object_get(r.json, "paths"), "/api/v1/experiments"), "post"));
    itest_http_free(&r);
    get_ok(&d, "/api/v1/info", &r);
    /* the websocket stream listens on its own free port when it is built in */
    ck_assert(json_is_null(json_object_get(r.json, "websocket_port")) ||
              (json_integer_value(json_object_get(r.json, "websocket_port")) > 0 &&
               json_integer_value(json_object_get(r.json, "websocket_port")) != d.port));
    ck_assert_int_eq(json_integer_value(json_object_get(r.json, "port")), d.port);
    itest_http_free(&r);
    get_ok(&d, "/api/v1/catalogue", &r);
    ck_assert_str_eq(json_string_value(json_object_get(
                         json_array_get(json_object_get(r.json, "tasks"), 0), "name")),
                     "CartPole");
    ck_assert(json_is_object(json_object_get(json_object_get(r.json, "defaults"), "hand")));
    itest_http_free(&r);
    snprintf(body, sizeof(body), "{\"task\":\"CartPole\",\"ranks\":1}");
    itest_http(&d, "POST", "/api/v1/validate", "", body, strlen(body), &r);
    ck_assert_int_eq(r.status, 200);
    ck_assert(json_is_true(json_object_get(r.json, "valid")));
    ck_assert(json_is_object(json_object_get(json_object_get(r.json, "spec"), "ppo")));
    itest_http_free(&r);

    /* tokens: a read-only one reads but cannot write; revoked it is refused */
    {
        char tok[128];
        long long tid;
        snprintf(body, sizeof(body), "{\"name\":\"viewer\",\"scope\":\"read\"}");
        itest_http(&d, "POST", "/api/v1/tokens", "", body, strlen(body), &r);
        ck_assert_int_eq(r.status, 201);
        snprintf(tok, sizeof(tok), "%s", json_string_value(json_object_get(r.json, "token")));
        tid = json_integer_value(json_object_get(r.json, "id"));
        itest_http_free(&r);
        itest_http(&d, "GET", "/api/v1/experiments", tok, NULL, 0, &r);
        ck_assert_int_eq(r.status, 200);
        itest_http_free(&r);
        itest_http(&d, "POST", "/api/v1/experiments", tok, spec12, strlen(spec12), &r);
        ck_assert_int_eq(r.status, 403);
        itest_http_free(&r);
        get_ok(&d, "/api/v1/tokens", &r);
        ck_assert_int_eq(json_array_size(json_object_get(r.json, "items")), 2);
        ck_assert_ptr_null(strstr(r.body, tok));
        itest_http_free(&r);
        snprintf(path, sizeof(path), "/api/v1/tokens/%lld", tid);
        itest_http(&d, "DELETE", path, "", NULL, 0, &r);
        ck_assert_int_eq(r.status, 200);
        itest_http_free(&r);
        itest_http(&d, "GET", "/api/v1/experiments", tok, NULL, 0, &r);
        ck_assert_int_eq(r.status, 401);
        itest_http_free(&r);
    }

    /* deleting a finished experiment removes it and its run directory */
    snprintf(path, sizeof(path), "/api/v1/experiments/%lld", id);
    itest_http(&d, "DELETE", path, "", NULL, 0, &r);
    ck_assert_int_eq(r.status, 200);
    itest_http_free(&r);
    itest_http(&d, "GET", path, "", NULL, 0, &r);
    ck_assert_int_eq(r.status, 404);
    itest_http_free(&r);
    snprintf(path, sizeof(path), "%s/runs/%lld", d.dir, id);
    ck_assert_int_ne(access(path, F_OK), 0);

    /* SIGTERM: a clean exit within seconds */
    status = itest_daemon_stop(&d, &secs);
    ck_assert(WIFEXITED(status));
    ck_assert_int_eq(WEXITSTATUS(status), 0);
    ck_assert_msg(secs < 5, "exit took %.2f s", secs);
    itest_daemon_cleanup(&d);
}
END_TEST

static void assert_mode(const Daemon *d, const char *name, unsigned mode) {
    struct stat sb;
    char path[512];
    snprintf(path, sizeof(path), "%s/%s", d->dir, name);
    ck_assert_msg(stat(path, &sb) == 0, "%s missing", path);
    ck_assert_msg((sb.st_mode & 0777) == mode, "%s is %03o, not %03o", name,
                  (unsigned)(sb.st_mode & 0777), mode);
}

/* the data directory, the database and every run file are the owner's alone, even when the data
 * directory existed with wider modes */
START_TEST(test_private_files) {
    Daemon d;
    char path[512];
    itest_daemon_init(&d);
    ck_assert_int_eq(chmod(d.dir, 0755), 0);
    snprintf(path, sizeof(path), "%s/runs", d.dir);
    ck_assert_int_eq(mkdir(path, 0755), 0);
    ck_assert_int_eq(chmod(path, 0755), 0);
    itest_daemon_start(&d, itest_fake_trainer(), NULL);
    assert_mode(&d, ".", 0700);
    assert_mode(&d, "runs", 0700);
    assert_mode(&d, "angorad.db", 0600);
    assert_mode(&d, "token", 0600);
    long long id = itest_submit(&d, "{\"task\":\"CartPole\",\"notes\":\"fake:iters=3\"}", 0);
    json_decref(itest_wait_state(&d, id, "succeeded", 30));
    const char *files[] = {"", "/submitted.json", "/worker.log", "/metrics.jsonl"};
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        snprintf(path, sizeof(path), "runs/%lld%s", id, files[i]);
        assert_mode(&d, path, i == 0 ? 0700 : 0600);
    }
    itest_daemon_finish(&d);
}
END_TEST

int main(void) {
    const TTest *tests[] = {test_lifecycle, test_private_files};
    return itest_run_tests("integration_lifecycle", 200, tests, ITEST_COUNT(tests));
}
