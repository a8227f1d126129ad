/* Integration of analysis jobs: angorad with the real angora-train and angora-analyze records and
 * analyses a tiny CartPole LSTM and serves every result (analysis.json, each CSV and PNG it
 * lists, the HDF5 recording) over the API; bad input is refused at submit with its JSON path,
 * and a variable the recording lacks fails the job at once with the analyzer's message. With the
 * test doubles: cancel during the recording, and a job adopted by a daemon killed and started
 * again. */
#include "itest.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* a thousand steps of the small LSTM: a second of training, recordings of a few hundred steps */
static const char *spec_lstm =
    "{\"task\":\"CartPole\",\"name\":\"analysis-e2e\",\"model\":\"simple_lstm\",\"seed\":2,"
    "\"ppo\":{\"envs_per_rank\":2,\"horizon\":64,\"minibatch\":64,\"epochs\":1},"
    "\"budget\":{\"env_steps\":1024},\"eval\":{\"every\":0}}";
/* the test double of angora-train: two quick iterations */
static const char *spec_fake = "{\"task\":\"CartPole\",\"name\":\"fake\","
                               "\"notes\":\"fake:iters=2,sleep=0.01\"}";

static const char *env_or_fail(const char *name) {
    const char *v = getenv(name);
    ck_assert_msg(v && *v, "%s is not set", name);
    return v;
}

/* POST an analysis request on experiment id: the result (caller frees) */
static void analysis_post(const Daemon *d, long long id, const char *body, HttpResult *r) {
    char path[128];
    snprintf(path, sizeof(path), "/api/v1/experiments/%lld/analyses", id);
    itest_http(d, "POST", path, "", body, strlen(body), r);
}

/* queues an analysis and returns the job's id */
static long long analysis_queue(const Daemon *d, long long id, const char *body) {
    HttpResult r;
    long long job;
    analysis_post(d, id, body, &r);
    ck_assert_msg(r.status == 201, "%ld: %s", r.status, r.body ? r.body : "");
    job = json_integer_value(json_object_get(r.json, "id"));
    itest_http_free(&r);
    return job;
}

/* GET path: status and content type checked, the result kept in r */
static void get_ok(const Daemon *d, const char *path, const char *type, HttpResult *r) {
    itest_http(d, "GET", path, "", NULL, 0, r);
    ck_assert_msg(r->status == 200, "%s: %ld %s", path, r->status, r->body ? r->body : "");
    ck_assert_msg(!strncmp(r->content_type, type, strlen(type)), "%s: %s", path, r->content_type);
}

static int has_event(const Daemon *d, long long id, const char *kind) {
    HttpResult r;
    char path[128], needle[64];
    int found;
    snprintf(path, sizeof(path), "/api/v1/experiments/%lld/events", id);
    snprintf(needle, sizeof(needle), "\"kind\":\"%s\"", kind);
    itest_http(d, "GET", path, "", NULL, 0, &r);
    found = r.body && strstr(r.body, needle) != NULL;
    itest_http_free(&r);
    return found;
}

START_TEST(test_record_analyze_serve) {
    const char *extra[] = {"--analyzer", env_or_fail("ITEST_ANALYZER"), NULL};
    Daemon d;
    HttpResult r;
    char path[256];
    long long run, job;
    json_t *o, *outputs, *v;
    size_t i, n_layers;
    struct stat sb;
    itest_daemon_init(&d);
    itest_daemon_start(&d, env_or_fail("ITEST_TRAINER"), extra);
    run = itest_submit(&d, spec_lstm, 0);
    json_decref(itest_wait_state(&d, run, "succeeded", 120));

    job = analysis_queue(&d, run,
                         "{\"checkpoint\":\"last\",\"episodes\":4,\"deterministic\":true,"
                         "\"variables\":[\"obs.state\",\"action\"]}");
    o = itest_wait_state(&d, job, "succeeded", 180);
    ck_assert_str_eq(json_string_value(json_object_get(o, "kind")), "analysis");
    ck_assert_str_eq(json_string_value(json_object_get(o, "phase")), "done");
    ck_assert_int_eq(json_integer_value(json_object_get(o, "parent_id")), run);
    ck_assert_int_eq(json_integer_value(json_object_get(o, "attempts")), 0);
    json_decref(o);
    ck_assert(has_event(&d, job, "recording"));
    ck_assert(has_event(&d, job, "analyzing"));

    /* the run lists it */
    snprintf(path, sizeof(path), "/api/v1/experiments/%lld/analyses", run);
    get_ok(&d, path, "application/json", &r);
    ck_assert_int_eq(json_array_size(json_object_get(r.json, "items")), 1);
    itest_http_free(&r);

    /* analysis.json: the recording's identity, the options asked for, every decoded pair */
    snprintf(path, sizeof(path), "/api/v1/experiments/%lld/analysis", job);
    get_ok(&d, path, "application/json", &r);
    ck_assert_str_eq(json_string_value(json_object_get(r.json, "format")), "angora-analysis");
    o = json_object_get(r.json, "input");
    ck_assert_str_eq(json_string_value(json_object_get(o, "task")), "CartPole");
    ck_assert_int_eq(json_integer_value(json_object_get(o, "episodes")), 4);
    ck_assert_int_eq(json_integer_value(json_object_get(o, "deterministic")), 1);
    ck_assert_ptr_nonnull(strstr(json_string_value(json_object_get(o, "checkpoint")), "last.ckpt"));
    o = json_object_get(r.json, "options");
    ck_assert_int_eq(json_integer_value(json_object_get(o, "folds")), 4);
    ck_assert_int_eq(json_array_size(json_object_get(o, "variables")), 2);
    n_layers = json_array_size(json_object_get(o, "layers"));
    ck_assert_uint_ge(n_layers, 8); /* the LSTM's gates, cell and output, and the trunks */
    ck_assert_uint_eq(
        json_array_size(json_object_get(json_object_get(r.json, "decoding"), "results")),
        2 * n_layers);

    /* every file it lists is served, with its type */
    outputs = json_object_get(r.json, "outputs");
    ck_assert_uint_ge(json_array_size(outputs), 8);
    json_array_foreach(outputs, i, v) {
        const char *name = json_string_value(v);
        size_t len = strlen(name);
        HttpResult f;
        if (len > 4 && !strcmp(name + len - 4, ".csv")) {
            snprintf(path, sizeof(path), "/api/v1/experiments/%lld/analysis/tables/%s", job, name);
            get_ok(&d, path, "text/csv", &f);
            ck_assert_msg(f.len > 10 && strchr(f.body, '\n'), "%s", name);
        } else if (len > 4 && !strcmp(name + len - 4, ".png")) {
            snprintf(path, sizeof(path), "/api/v1/experiments/%lld/analysis/figures/%s", job, name);
            get_ok(&d, path, "image/png", &f);
            ck_assert_msg(f.len > 100 && !memcmp(f.body, "\x89PNG\r\n\x1a\n", 8), "%s", name);
        } else {
            ck_assert_str_eq(name, "analysis.json");
            continue;
        }
        itest_http_free(&f);
    }
    itest_http_free(&r);
    snprintf(path, sizeof(path), "/api/v1/experiments/%lld/analysis/tables/decoding.csv", job);
    get_ok(&d, path, "text/csv", &r);
    ck_assert(!strncmp(r.body, "layer,variable,r2,r2_shuffled,lambda\n", 37));
    itest_http_free(&r);

    /* the recording, byte for byte the run directory's file */
    snprintf(path, sizeof(path), "/api/v1/experiments/%lld/analysis/recording", job);
    get_ok(&d, path, "application/x-hdf5", &r);
    ck_assert(!memcmp(r.body, "\x89HDF\r\n\x1a\n", 8));
    snprintf(path, sizeof(path), "runs/%lld/activations.h5", job);
    ck_assert_int_eq(stat(itest_path(&d, path), &sb), 0);
    ck_assert_uint_eq(r.len, (size_t)sb.st_size);
    itest_http_free(&r);
    snprintf(path, sizeof(path), "runs/%lld/recording.json", job);
    ck_assert_int_eq(stat(itest_path(&d, path), &sb), 0);

    /* a variable the recording does not have: the analyzer's own message, no retry */
    job = analysis_queue(&d, run, "{\"episodes\":3,\"variables\":[\"speed\"]}");
    o = itest_wait_state(&d, job, "failed", 120);
    ck_assert_msg(
        strstr(json_string_value(json_object_get(o, "error")),
               "analysis failed (exit code 2): angora-analyze: ") &&
            strstr(json_string_value(json_object_get(o, "error")), "unknown variable 'speed'"),
        "%s", json_string_value(json_object_get(o, "error")));
    ck_assert_int_eq(json_integer_value(json_object_get(o, "attempts")), 0);
    json_decref(o);
    itest_daemon_finish(&d);
}
END_TEST

/* each bad request: status, the JSON path named */
static void refused(const Daemon *d, long long id, const char *body, long status,
                    const char *field) {
    HttpResult r;
    analysis_post(d, id, body, &r);
    ck_assert_msg(r.status == status, "%s: %ld %s", body, r.status, r.body ? r.body : "");
    if (field) {
        ck_assert_msg(json_string_value(json_object_get(r.json, "field")) &&
                          !strcmp(json_string_value(json_object_get(r.json, "field")), field),
                      "%s: %s", body, r.body);
    }
    itest_http_free(&r);
}

START_TEST(test_bad_input_refused) {
    const char *extra[] = {"--analyzer", itest_fake_analyzer(), NULL};
    Daemon d;
    HttpResult r;
    char path[128];
    long long run, job;
    itest_daemon_init(&d);
    itest_daemon_start(&d, itest_fake_trainer(), extra);
    run = itest_submit(&d, spec_fake, 0);
    json_decref(itest_wait_state(&d, run, "succeeded", 30));
    refused(&d, run, "{\"checkpoint\":\"best\"}", 422, "checkpoint"); /* never evaluated */
    refused(&d, run, "{\"checkpoint\":\"iter-3.ckpt\"}", 422, "checkpoint");
    refused(&d, run, "{\"checkpoint\":\"../../token\"}", 422, "checkpoint");
    refused(&d, run, "{\"episodes\":0}", 422, "episodes");
    refused(&d, run, "{\"episodes\":1001}", 422, "episodes");
    refused(&d, run, "{\"episodes\":true}", 422, "episodes");
    refused(&d, run, "{\"episodes\":5,\"folds\":6}", 422, "folds");
    refused(&d, run, "{\"deterministic\":1}", 422, "deterministic");
    refused(&d, run, "{\"layers\":{\"a\":1}}", 422, "layers");
    refused(&d, run, "{\"layers\":[\"ok\",\"no/slash\"]}", 422, "layers[1]");
    refused(&d, run, "{\"seed\":3}", 422, "seed");
    refused(&d, run, "not json", 400, NULL);
    refused(&d, 999, "{}", 404, NULL);
    /* a read-only token may list, not submit */
    {
        const char *body = "{\"name\":\"ro\",\"scope\":\"read\"}";
        itest_http(&d, "POST", "/api/v1/tokens", "", body, strlen(body), &r);
    }
    ck_assert_int_eq(r.status, 201);
    {
        char ro[128];
        HttpResult w;
        snprintf(ro, sizeof(ro), "%s", json_string_value(json_object_get(r.json, "token")));
        snprintf(path, sizeof(path), "/api/v1/experiments/%lld/analyses", run);
        itest_http(&d, "POST", path, ro, "{}", 2, &w);
        ck_assert_int_eq(w.status, 403);
        itest_http_free(&w);
        itest_http(&d, "GET", path, ro, NULL, 0, &w);
        ck_assert_int_eq(w.status, 200);
        ck_assert_int_eq(json_array_size(json_object_get(w.json, "items")), 0);
        itest_http_free(&w);
    }
    itest_http_free(&r);
    /* a job is not a training run */
    job = analysis_queue(&d, run, "{}");
    refused(&d, job, "{}", 409, "id");
    json_decref(itest_wait_state(&d, job, "succeeded", 30));
    itest_daemon_finish(&d);
}
END_TEST

/* an extra checkpoint in the run whose text tells the test double what to do */
static void checkpoint_put(const Daemon *d, long long run, const char *name, const char *text) {
    char rel[128];
    FILE *f;
    snprintf(rel, sizeof(rel), "runs/%lld/checkpoints/%s", run, name);
    f = fopen(itest_path(d, rel), "w");
    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    fclose(f);
}

/* waits until the job is in phase */
static void wait_phase(const Daemon *d, long long id, const char *phase, double timeout_s) {
    double t0 = itest_now();
    while (itest_now() - t0 < timeout_s) {
        json_t *o = itest_get(d, id);
        const char *p = json_string_value(json_object_get(o, "phase"));
        int hit = p && !strcmp(p, phase);
        json_decref(o);
        if (hit) {
            return;
        }
        itest_sleep(0.05);
    }
    ck_abort_msg("job %lld never reached phase %s", id, phase);
}

START_TEST(test_cancel_and_restart) {
    const char *extra[] = {"--analyzer", itest_fake_analyzer(), "--grace-seconds", "2", NULL};
    Daemon d;
    HttpResult r;
    char path[128];
    long long run, slow, job;
    struct stat sb;
    itest_daemon_init(&d);
    itest_daemon_start(&d, itest_fake_trainer(), extra);
    run = itest_submit(&d, spec_fake, 0);
    json_decref(itest_wait_state(&d, run, "succeeded", 30));
    checkpoint_put(&d, run, "slow.ckpt", "2\nrecord:sleep=60\n");
    checkpoint_put(&d, run, "short.ckpt", "2\nrecord:sleep=2\nanalyze:sleep=1\n");

    /* cancelled while recording: stopped at once, nothing half-written left */
    slow = analysis_queue(&d, run, "{\"checkpoint\":\"slow.ckpt\"}");
    json_decref(itest_wait_state(&d, slow, "running", 30));
    wait_phase(&d, slow, "recording", 10);
    snprintf(path, sizeof(path), "/api/v1/experiments/%lld/cancel", slow);
    itest_http(&d, "POST", path, "", NULL, 0, &r);
    ck_assert_int_eq(r.status, 202);
    itest_http_free(&r);
    json_decref(itest_wait_state(&d, slow, "cancelled", 10));
    snprintf(path, sizeof(path), "runs/%lld/activations.h5", slow);
    ck_assert_int_ne(stat(itest_path(&d, path), &sb), 0);
    snprintf(path, sizeof(path), "runs/%lld/activations.h5.part", slow);
    ck_assert_int_ne(stat(itest_path(&d, path), &sb), 0);
    snprintf(path, sizeof(path), "/api/v1/experiments/%lld/analysis", slow);
    itest_http(&d, "GET", path, "", NULL, 0, &r);
    ck_assert_int_eq(r.status, 404);
    itest_http_free(&r);

    /* the daemon dies during the recording and comes back: the job is adopted and finishes */
    job = analysis_queue(&d, run, "{\"checkpoint\":\"short.ckpt\"}");
    wait_phase(&d, job, "recording", 20);
    itest_daemon_kill9(&d);
    itest_daemon_start(&d, itest_fake_trainer(), extra);
    ck_assert(has_event(&d, job, "adopted"));
    json_decref(itest_wait_state(&d, job, "succeeded", 30));
    ck_assert(has_event(&d, job, "analyzing"));
    snprintf(path, sizeof(path), "/api/v1/experiments/%lld/analysis", job);
    itest_http(&d, "GET", path, "", NULL, 0, &r);
    ck_assert_int_eq(r.status, 200);
    ck_assert_str_eq(json_string_value(json_object_get(r.json, "format")), "angora-analysis");
    itest_http_free(&r);
    itest_daemon_finish(&d);
}
END_TEST

int main(void) {
    const TTest *tests[] = {test_record_analyze_serve, test_bad_input_refused,
                            test_cancel_and_restart};
    return itest_run_tests("integration_analysis", 280, tests, ITEST_COUNT(tests));
}
