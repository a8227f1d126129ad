/* Integration of pretrain jobs: angorad with the real angora-train pretrains an encoder on a tiny
 * rendered dataset, ingests one metric row per epoch and answers with the path of the encoder
 * checkpoint, which a training spec then names as model.encoder.checkpoint; a running job is
 * cancelled, and paused and resumed (the trainer stops on SIGTERM, no SIGKILL needed, and the
 * resumed job goes on from its checkpoint, every epoch's row once); one stopped by angorad's
 * shutdown goes on from its checkpoint after the restart, and so does one whose trainer is
 * killed (a retry); a job that ends while angorad is down is judged by its summary after the
 * restart, its rows ingested once; bad input is refused at submit
 * with its JSON path and nothing is queued, also what only the trainer's check can judge (a
 * model description, the split of the dataset); a dataset gone before the job starts fails it at
 * once with the trainer's message. */
#include "itest.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *env_or_fail(const char *name) {
    const char *v = getenv(name);
    ck_assert_msg(v && *v, "%s is not set", name);
    return v;
}

/* a dataset of n 16x16 images rendered by the real trainer into the daemon's directory */
static void dataset_make(const Daemon *d, int n, char *out, size_t out_sz) {
    char spec_path[512], cmd[2048];
    FILE *f;
    snprintf(spec_path, sizeof spec_path, "%s", itest_path(d, "data.json"));
    snprintf(out, out_sz, "%s", itest_path(d, "d.h5"));
    f = fopen(spec_path, "w");
    ck_assert_ptr_nonnull(f);
    fprintf(f, "{\"samples\": %d, \"image_size\": 16, \"seed\": 2}\n", n);
    fclose(f);
    snprintf(cmd, sizeof cmd,
             "ASAN_OPTIONS=fast_unwind_on_malloc=1:detect_leaks=0 '%s' "
             "--pretrain-data '%s' --out '%s' >/dev/null",
             env_or_fail("ITEST_TRAINER"), spec_path, out);
    ck_assert_int_eq(system(cmd), 0);
}

static void pretrain_post(const Daemon *d, const char *body, size_t len, HttpResult *r) {
    itest_http(d, "POST", "/api/v1/pretrain", "", body, len, r);
}

static long long pretrain_queue(const Daemon *d, const char *body, json_t **answer) {
    HttpResult r;
    long long id;
    pretrain_post(d, body, strlen(body), &r);
    ck_assert_msg(r.status == 201, "%ld: %s", r.status, r.body ? r.body : "");
    id = json_integer_value(json_object_get(r.json, "id"));
    if (answer) {
        *answer = json_incref(r.json);
    }
    itest_http_free(&r);
    return id;
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

/* how many times the trainer said it resumed, in the job's worker.log */
static int resumes_logged(const char *run_dir) {
    char path[600], line[1024];
    int n = 0;
    snprintf(path, sizeof path, "%s/worker.log", run_dir);
    FILE *f = fopen(path, "r");
    if (!f) {
        return 0;
    }
    while (fgets(line, sizeof line, f)) {
        n += strstr(line, "pretraining resumed from checkpoints/last.ckpt after epoch") != NULL;
    }
    fclose(f);
    return n;
}

/* waits until the trainer has logged n resumes; the epoch the last one went on after */
static long long wait_resumes(const char *run_dir, int n) {
    char path[600], line[1024];
    long long epoch = -1;
    for (double t0 = itest_now(); resumes_logged(run_dir) < n; itest_sleep(0.1)) {
        ck_assert_msg(itest_now() - t0 < 30, "no resume logged in %s/worker.log", run_dir);
    }
    snprintf(path, sizeof path, "%s/worker.log", run_dir);
    FILE *f = fopen(path, "r");
    ck_assert_ptr_nonnull(f);
    while (fgets(line, sizeof line, f)) {
        const char *at = strstr(line, "after epoch ");
        if (at && strstr(line, "pretraining resumed")) {
            epoch = atoll(at + strlen("after epoch "));
        }
    }
    fclose(f);
    return epoch;
}

/* the rows are epochs 1..n, each once, and there are at least `least` */
static void assert_epochs_once(const Daemon *d, long long id, size_t least) {
    size_t n = 0;
    long long *its = itest_iterations(d, id, &n);
    ck_assert_uint_ge(n, least);
    for (size_t i = 0; i < n; i++) {
        ck_assert_int_eq(its[i], (long long)i + 1);
    }
    free(its);
}

/* the pid of the job's newest trainer, from its last "started" event */
static pid_t trainer_pid(const Daemon *d, long long id) {
    HttpResult r;
    char path[128];
    const char *at, *last = NULL;
    snprintf(path, sizeof(path), "/api/v1/experiments/%lld/events", id);
    itest_http(d, "GET", path, "", NULL, 0, &r);
    for (at = r.body; at && (at = strstr(at, "\"pid ")) != NULL; at++) {
        last = at;
    }
    ck_assert_ptr_nonnull(last);
    pid_t pid = (pid_t)atol(last + strlen("\"pid "));
    itest_http_free(&r);
    ck_assert_int_gt(pid, 0);
    return pid;
}

START_TEST(test_pretrain_runs_and_serves) {
    Daemon d;
    HttpResult r;
    char data[512], body[1024], path[256], spec[2048];
    long long id;
    json_t *o;
    const char *ckpt;
    struct stat sb;
    itest_daemon_init(&d);
    itest_daemon_start(&d, env_or_fail("ITEST_TRAINER"), NULL);
    dataset_make(&d, 24, data, sizeof data);

    snprintf(body, sizeof body,
             "{\"spec\": {\"data\": \"%s\", \"epochs\": 3, \"batch_size\": 8}, \"name\": \"enc\","
             " \"priority\": 3}",
             data);
    id = pretrain_queue(&d, body, &o);
    ck_assert_str_eq(json_string_value(json_object_get(o, "kind")), "pretrain");
    ck_assert_str_eq(json_string_value(json_object_get(o, "name")), "enc");
    ck_assert_int_eq(json_integer_value(json_object_get(o, "priority")), 3);
    /* the stored spec is complete: the defaults are filled in */
    ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(o, "spec"), "epochs")), 3);
    ck_assert(json_real_value(json_object_get(json_object_get(o, "spec"), "holdout")) == 0.1);
    ckpt = json_string_value(json_object_get(o, "encoder_checkpoint"));
    ck_assert_ptr_nonnull(ckpt);
    ck_assert_ptr_nonnull(strstr(ckpt, "/checkpoints/best.ckpt"));
    json_decref(o);

    o = itest_wait_state(&d, id, "succeeded", 60);
    ck_assert_int_eq(json_integer_value(json_object_get(o, "attempts")), 0);
    ck_assert_int_eq(json_integer_value(json_object_get(o, "latest_iteration")), 3);
    ckpt = json_string_value(json_object_get(o, "encoder_checkpoint"));
    ck_assert_msg(ckpt && stat(ckpt, &sb) == 0 && sb.st_size > 0, "no encoder checkpoint %s",
                  ckpt ? ckpt : "(none)");
    /* the learning curve: one row per epoch, with the held-out errors */
    itest_assert_rows_exact(&d, id, 3);
    snprintf(path, sizeof path, "/api/v1/experiments/%lld/metrics/keys", id);
    itest_http(&d, "GET", path, "", NULL, 0, &r);
    ck_assert_int_eq(r.status, 200);
    ck_assert_ptr_nonnull(strstr(r.body, "\"holdout_position_rmse_mm\""));
    ck_assert_ptr_nonnull(strstr(r.body, "\"holdout_rotation_median_deg\""));
    ck_assert_ptr_nonnull(strstr(r.body, "\"train_loss\""));
    itest_http_free(&r);
    snprintf(path, sizeof path, "/api/v1/experiments/%lld/checkpoints", id);
    itest_http(&d, "GET", path, "", NULL, 0, &r);
    ck_assert_int_eq(r.status, 200);
    ck_assert_ptr_nonnull(strstr(r.body, "best.ckpt"));
    itest_http_free(&r);
    ck_assert(has_event(&d, id, "succeeded"));

    /* the encoder, by the path the answer gave, in a training spec the trainer accepts */
    snprintf(spec, sizeof spec,
             "{\"task\": \"HandBlock\", \"seed\": 1, \"task_options\": {\"vision\": \"pixels\","
             " \"image_size\": 16}, \"model\": {\"preset\": \"pathways\", \"encoder\":"
             " {\"checkpoint\": \"%s\", \"freeze\": true}}, \"ppo\": {\"envs_per_rank\": 2,"
             " \"horizon\": 16, \"minibatch\": 32, \"epochs\": 1}, \"budget\": {\"env_steps\": 64},"
             " \"eval\": {\"every\": 0}}",
             ckpt);
    itest_http(&d, "POST", "/api/v1/validate", "", spec, strlen(spec), &r);
    ck_assert_msg(r.status == 200, "%ld: %s", r.status, r.body ? r.body : "");
    itest_http_free(&r);
    json_decref(o);
    itest_daemon_finish(&d);
}
END_TEST

START_TEST(test_pretrain_cancel) {
    Daemon d;
    HttpResult r;
    char data[512], body[1024], path[128];
    long long id;
    json_t *o;
    itest_daemon_init(&d);
    itest_daemon_start(&d, env_or_fail("ITEST_TRAINER"), NULL);
    dataset_make(&d, 24, data, sizeof data);
    snprintf(body, sizeof body, "{\"data\": \"%s\", \"epochs\": 1000000, \"batch_size\": 1}", data);
    id = pretrain_queue(&d, body, NULL);
    json_decref(itest_wait_state(&d, id, "running", 30));
    itest_wait_rows(&d, id, 1, 30);
    snprintf(path, sizeof path, "/api/v1/experiments/%lld/cancel", id);
    itest_http(&d, "POST", path, "", NULL, 0, &r);
    ck_assert_msg(r.status == 200 || r.status == 202, "%ld: %s", r.status, r.body ? r.body : "");
    itest_http_free(&r);
    o = itest_wait_state(&d, id, "cancelled", 30);
    ck_assert_str_eq(json_string_value(json_object_get(o, "error")), "cancelled by request");
    json_decref(o);
    /* the trainer stopped on SIGTERM between minibatches */
    ck_assert(!has_event(&d, id, "killed"));
    itest_daemon_finish(&d);
}
END_TEST

/* pause stops the trainer on SIGTERM (it writes its checkpoint at the minibatch); resume goes on
 * from that checkpoint, not from the first epoch, and the stored curve is read again: every
 * epoch once */
START_TEST(test_pretrain_pause_resume) {
    Daemon d;
    HttpResult r;
    char data[512], body[1024], path[128], run_dir[512];
    long long id;
    json_t *o;
    itest_daemon_init(&d);
    itest_daemon_start(&d, env_or_fail("ITEST_TRAINER"), NULL);
    dataset_make(&d, 24, data, sizeof data);
    snprintf(body, sizeof body, "{\"data\": \"%s\", \"epochs\": 1000000, \"batch_size\": 1}", data);
    id = pretrain_queue(&d, body, &o);
    snprintf(run_dir, sizeof run_dir, "%s", json_string_value(json_object_get(o, "run_dir")));
    json_decref(o);
    itest_wait_rows(&d, id, 3, 30);
    snprintf(path, sizeof path, "/api/v1/experiments/%lld/pause", id);
    itest_http(&d, "POST", path, "", NULL, 0, &r);
    ck_assert_msg(r.status == 200 || r.status == 202, "%ld: %s", r.status, r.body ? r.body : "");
    itest_http_free(&r);
    json_decref(itest_wait_state(&d, id, "paused", 30));
    ck_assert(!has_event(&d, id, "killed"));
    snprintf(path, sizeof path, "/api/v1/experiments/%lld/resume", id);
    itest_http(&d, "POST", path, "", NULL, 0, &r);
    ck_assert_int_eq(r.status, 200);
    itest_http_free(&r);
    json_decref(itest_wait_state(&d, id, "running", 30));
    /* it went on after the epochs it had scored, and its curve goes on: iterations 1..n, each
     * once (the rows read again replace the stored ones) */
    long long after = wait_resumes(run_dir, 1);
    ck_assert_int_ge(after, 3);
    itest_wait_rows(&d, id, after + 2, 30);
    assert_epochs_once(&d, id, (size_t)after + 2);
    snprintf(path, sizeof path, "/api/v1/experiments/%lld/cancel", id);
    itest_http(&d, "POST", path, "", NULL, 0, &r);
    itest_http_free(&r);
    o = itest_wait_state(&d, id, "cancelled", 30);
    json_decref(o);
    itest_daemon_finish(&d);
}
END_TEST

/* angorad's shutdown (on_shutdown = checkpoint) stops a pretraining (SIGTERM: its checkpoint
 * written) and requeues it; the restarted daemon starts it again with --resume, and it goes on
 * from there. When the daemon and the trainer are both killed outright (the machine's processes
 * ended between sessions), the next start requeues it from its last checkpoint too, without
 * counting an attempt. Every epoch's row is stored once. */
START_TEST(test_pretrain_resumes_after_restart_and_crash) {
    static const char *const ckpt_on_shutdown[] = {"--on-shutdown", "checkpoint", NULL};
    Daemon d;
    HttpResult r;
    char data[512], body[1024], path[128], run_dir[512];
    long long id, after;
    json_t *o;
    itest_daemon_init(&d);
    itest_daemon_start(&d, env_or_fail("ITEST_TRAINER"), ckpt_on_shutdown);
    dataset_make(&d, 24, data, sizeof data);
    snprintf(body, sizeof body, "{\"data\": \"%s\", \"epochs\": 1000000, \"batch_size\": 1}", data);
    id = pretrain_queue(&d, body, &o);
    snprintf(run_dir, sizeof run_dir, "%s", json_string_value(json_object_get(o, "run_dir")));
    json_decref(o);
    itest_wait_rows(&d, id, 2, 30);

    ck_assert_int_eq(itest_daemon_stop(&d, NULL), 0);
    itest_daemon_start(&d, env_or_fail("ITEST_TRAINER"), ckpt_on_shutdown);
    json_decref(itest_wait_state(&d, id, "running", 30));
    ck_assert(has_event(&d, id, "requeued"));
    after = wait_resumes(run_dir, 1);
    ck_assert_int_ge(after, 2);
    itest_wait_rows(&d, id, after + 2, 30);
    assert_epochs_once(&d, id, (size_t)after + 2);

    /* daemon and trainer die without a word (the machine stopped): the next start requeues it as
     * interrupted, without an attempt, and it goes on from its last checkpoint */
    pid_t pid = trainer_pid(&d, id);
    itest_daemon_kill9(&d);
    ck_assert_int_eq(kill(-pid, SIGKILL), 0);
    itest_daemon_start(&d, env_or_fail("ITEST_TRAINER"), ckpt_on_shutdown);
    for (double t0 = itest_now(); !has_event(&d, id, "interrupted"); itest_sleep(0.1)) {
        ck_assert_msg(itest_now() - t0 < 30, "not requeued after the machine stopped");
    }
    ck_assert(!has_event(&d, id, "retry"));
    o = itest_get(&d, id);
    ck_assert_int_eq(json_integer_value(json_object_get(o, "attempts")), 0);
    json_decref(o);
    long long again = wait_resumes(run_dir, 2);
    ck_assert_int_ge(again, after + 2);
    itest_wait_rows(&d, id, again + 2, 30);
    assert_epochs_once(&d, id, (size_t)again + 2);

    snprintf(path, sizeof path, "/api/v1/experiments/%lld/cancel", id);
    itest_http(&d, "POST", path, "", NULL, 0, &r);
    itest_http_free(&r);
    json_decref(itest_wait_state(&d, id, "cancelled", 30));
    itest_daemon_finish(&d);
}
END_TEST

/* a pretraining that ends while angorad is down: the restarted daemon judges it by its summary
 * (succeeded, no retry) and ingests the rest of its curve exactly once */
START_TEST(test_pretrain_ends_while_daemon_away) {
    Daemon d;
    char data[512], body[1024], summary[600];
    long long id;
    json_t *o;
    double t0;
    struct stat sb;
    itest_daemon_init(&d);
    itest_daemon_start(&d, env_or_fail("ITEST_TRAINER"), NULL);
    dataset_make(&d, 24, data, sizeof data);
    snprintf(body, sizeof body, "{\"data\": \"%s\", \"epochs\": 150, \"batch_size\": 1}", data);
    id = pretrain_queue(&d, body, &o);
    snprintf(summary, sizeof summary, "%s/pretrain.json",
             json_string_value(json_object_get(o, "run_dir")));
    json_decref(o);
    itest_wait_rows(&d, id, 2, 30);
    itest_daemon_kill9(&d);
    for (t0 = itest_now(); !(stat(summary, &sb) == 0 && sb.st_size > 0); itest_sleep(0.1)) {
        ck_assert_msg(itest_now() - t0 < 90, "the pretraining did not finish");
    }
    itest_daemon_start(&d, env_or_fail("ITEST_TRAINER"), NULL);
    o = itest_wait_state(&d, id, "succeeded", 30);
    ck_assert_int_eq(json_integer_value(json_object_get(o, "attempts")), 0);
    json_decref(o);
    itest_assert_rows_exact(&d, id, 150);
    itest_daemon_finish(&d);
}
END_TEST

typedef struct BadCase {
    const char *body; /* %s: the dataset's path */
    long status;
    const char *field; /* "" must be null */
} BadCase;

START_TEST(test_pretrain_bad_input) {
    static const BadCase cases[] = {
        {"{", 400, ""},
        {"[]", 422, ""},
        {"{\"epochs\": 2}", 422, "data"},
        {"{\"data\": 3}", 422, "data"},
        {"{\"data\": \"%s\", \"epochs\": \"2\"}", 422, "epochs"},
        {"{\"data\": \"%s\", \"epochs\": 1.5}", 422, "epochs"},
        {"{\"data\": \"%s\", \"epochs\": 0}", 422, "epochs"},
        {"{\"data\": \"%s\", \"batch_size\": 100000}", 422, "batch_size"},
        {"{\"data\": \"%s\", \"holdout\": 2}", 422, "holdout"},
        {"{\"data\": \"%s\", \"learning_rate\": -1}", 422, "learning_rate"},
        {"{\"data\": \"%s\", \"epochz\": 2}", 422, "epochz"},
        {"{\"data\": \"%s\", \"model\": 5}", 422, "model"},
        {"{\"data\": \"%s\", \"model\": \"simple_lstm\"}", 422, "model.core"},
        {"{\"data\": \"/nonexistent/d.h5\"}", 422, "data"},
        {"{\"data\": \"d.h5\"}", 422, "data"},
        {"{\"data\": \"%s.txt\"}", 422, "data"},
        /* an escaped NUL: refused at the value that holds it */
        {"{\"data\": \"%s\\u0000x\"}", 422, "data"},
        {"{\"spec\": {\"data\": \"%s\", \"seed\": -1}}", 422, "spec.seed"},
        {"{\"spec\": {\"data\": \"/nonexistent/d.h5\"}}", 422, "spec.data"},
        {"{\"spec\": {\"data\": \"%s\"}, \"priority\": 5000}", 422, "priority"},
        {"{\"spec\": {\"data\": \"%s\"}, \"name\": \"a\\nb\"}", 422, "name"},
        {"{\"spec\": {\"data\": \"%s\"}, \"name\": 7}", 422, "name"},
        {"{\"spec\": {\"data\": \"%s\"}, \"owner\": \"x\"}", 422, "owner"},
        {"{\"spec\": [], \"name\": \"x\"}", 422, "spec"},
    };
    Daemon d;
    HttpResult r;
    char data[512], body[1024], txt[600];
    FILE *f;
    itest_daemon_init(&d);
    itest_daemon_start(&d, env_or_fail("ITEST_TRAINER"), NULL);
    dataset_make(&d, 8, data, sizeof data);
    /* a file that is there but is no HDF5 file */
    snprintf(txt, sizeof txt, "%s.txt", data);
    f = fopen(txt, "w");
    ck_assert_ptr_nonnull(f);
    fputs("not a dataset, but long enough to hold a signature\n", f);
    fclose(f);
    for (size_t i = 0; i < ITEST_COUNT(cases); i++) {
        const BadCase *c = &cases[i];
        json_t *field;
        snprintf(body, sizeof body, c->body, data);
        pretrain_post(&d, body, strlen(body), &r);
        ck_assert_msg(r.status == c->status, "%s: %ld, want %ld (%s)", body, r.status, c->status,
                      r.body ? r.body : "");
        ck_assert_msg(r.json != NULL, "%s: no problem body", body);
        field = json_object_get(r.json, "field");
        if (!*c->field) {
            ck_assert_msg(json_is_null(field), "%s: field %s, want null", body,
                          json_string_value(field));
        } else {
            ck_assert_msg(json_is_string(field) && !strcmp(json_string_value(field), c->field),
                          "%s: field %s, want %s (%s)", body,
                          json_is_string(field) ? json_string_value(field) : "null", c->field,
                          r.body);
        }
        itest_http_free(&r);
    }
    /* a NUL byte in the body itself */
    {
        char raw[600];
        int n = snprintf(raw, sizeof raw, "{\"data\": \"%s\"}", data);
        raw[12] = '\0'; /* inside the path */
        pretrain_post(&d, raw, (size_t)n, &r);
        ck_assert_msg(r.status == 400, "NUL byte: %ld (%s)", r.status, r.body ? r.body : "");
        itest_http_free(&r);
    }
    /* nothing was queued */
    itest_http(&d, "GET", "/api/v1/experiments", "", NULL, 0, &r);
    ck_assert_int_eq(r.status, 200);
    ck_assert_uint_eq(json_array_size(json_object_get(r.json, "items")), 0);
    itest_http_free(&r);
    itest_daemon_finish(&d);
}
END_TEST

/* what only the engine can judge is refused at submit by the trainer's check, with its path:
 * a model description the network builder refuses, a split that leaves nothing to train on */
START_TEST(test_pretrain_trainer_check) {
    static const BadCase cases[] = {
        {"{\"data\": \"%s\", \"model\": {\"trunk\": 3}}", 422, "model.trunk"},
        {"{\"spec\": {\"data\": \"%s\", \"model\": {\"trunk\": 3}}}", 422, "spec.model.trunk"},
        {"{\"data\": \"%s\", \"holdout\": 0.9}", 422, "holdout"},
    };
    Daemon d;
    HttpResult r;
    char data[512], body[1024];
    itest_daemon_init(&d);
    itest_daemon_start(&d, env_or_fail("ITEST_TRAINER"), NULL);
    dataset_make(&d, 8, data, sizeof data);
    for (size_t i = 0; i < ITEST_COUNT(cases); i++) {
        const json_t *field;
        snprintf(body, sizeof body, cases[i].body, data);
        pretrain_post(&d, body, strlen(body), &r);
        ck_assert_msg(r.status == cases[i].status, "%s: %ld (%s)", body, r.status,
                      r.body ? r.body : "");
        field = json_object_get(r.json, "field");
        ck_assert_msg(json_is_string(field) && !strcmp(json_string_value(field), cases[i].field),
                      "%s: %s", body, r.body);
        itest_http_free(&r);
    }
    itest_http(&d, "GET", "/api/v1/experiments", "", NULL, 0, &r);
    ck_assert_uint_eq(json_array_size(json_object_get(r.json, "items")), 0);
    itest_http_free(&r);
    itest_daemon_finish(&d);
}
END_TEST

/* a dataset gone between submit and start: the job fails at once (no retry) with the trainer's
 * message about it */
START_TEST(test_pretrain_dataset_gone) {
    static const char *const extra[] = {"--max-cores", "1", NULL};
    Daemon d;
    HttpResult r;
    char data[512], copy[600], body[1024], cmd[1300], path[128];
    long long busy, id;
    json_t *o;
    const char *err;
    itest_daemon_init(&d);
    itest_daemon_start(&d, env_or_fail("ITEST_TRAINER"), extra);
    dataset_make(&d, 8, data, sizeof data);
    snprintf(copy, sizeof copy, "%s.copy.h5", data);
    snprintf(cmd, sizeof cmd, "cp '%s' '%s'", data, copy);
    ck_assert_int_eq(system(cmd), 0);
    /* the only core is taken, so the second job waits in the queue */
    snprintf(body, sizeof body, "{\"data\": \"%s\", \"epochs\": 1000000, \"batch_size\": 1}", data);
    busy = pretrain_queue(&d, body, NULL);
    json_decref(itest_wait_state(&d, busy, "running", 30));
    snprintf(body, sizeof body, "{\"data\": \"%s\"}", copy);
    id = pretrain_queue(&d, body, NULL);
    ck_assert_int_eq(unlink(copy), 0);
    snprintf(path, sizeof path, "/api/v1/experiments/%lld/cancel", busy);
    itest_http(&d, "POST", path, "", NULL, 0, &r);
    itest_http_free(&r);
    o = itest_wait_state(&d, id, "failed", 30);
    err = json_string_value(json_object_get(o, "error"));
    ck_assert_msg(err && strstr(err, copy), "error: %s", err ? err : "(none)");
    ck_assert_int_eq(json_integer_value(json_object_get(o, "attempts")), 1);
    json_decref(o);
    itest_daemon_finish(&d);
}
END_TEST

int main(void) {
    const TTest *tests[] = {test_pretrain_runs_and_serves,
                            test_pretrain_cancel,
                            test_pretrain_pause_resume,
                            test_pretrain_ends_while_daemon_away,
                            test_pretrain_resumes_after_restart_and_crash,
                            test_pretrain_bad_input,
                            test_pretrain_trainer_check,
                            test_pretrain_dataset_gone};
    return itest_run_tests("integration_pretrain", 120, tests, ITEST_COUNT(tests));
}
