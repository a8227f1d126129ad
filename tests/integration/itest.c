/* Helpers of the daemon's integration tests (see itest.h). */
#include "itest.h"

#include <check.h>
#include <curl/curl.h>
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

double itest_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

void itest_sleep(double s) {
    struct timespec ts = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

const char *itest_angorad(void) {
    const char *p = getenv("ITEST_ANGORAD");
    ck_assert_msg(p && *p, "ITEST_ANGORAD is not set");
    return p;
}

const char *itest_fake_trainer(void) {
    const char *p = getenv("ITEST_FAKE_TRAINER");
    ck_assert_msg(p && *p, "ITEST_FAKE_TRAINER is not set");
    return p;
}

const char *itest_fake_analyzer(void) {
    const char *p = getenv("ITEST_FAKE_ANALYZER");
    ck_assert_msg(p && *p, "ITEST_FAKE_ANALYZER is not set");
    return p;
}

void itest_daemon_init(Daemon *d) {
    memset(d, 0, sizeof(*d));
    snprintf(d->dir, sizeof(d->dir), "/tmp/angorad-itest-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(d->dir));
}

static int read_small(const char *path, char *out, size_t out_sz) {
    FILE *f = fopen(path, "r");
    size_t n;
    if (!f) {
        return -1;
    }
    n = fread(out, 1, out_sz - 1, f);
    fclose(f);
    out[n] = '\0';
    while (n > 0 && (out[n - 1] == '\n' || out[n - 1] == ' ')) {
        out[--n] = '\0';
    }
    return n > 0 ? 0 : -1;
}

void itest_daemon_start(Daemon *d, const char *trainer, const char *const *extra) {
    char port_file[300], token_file[300], log_file[300], text[64];
    const char *argv[64];
    int argc = 0;
    double t0;
    snprintf(port_file, sizeof(port_file), "%s/port", d->dir);
    snprintf(token_file, sizeof(token_file), "%s/token", d->dir);
    snprintf(log_file, sizeof(log_file), "%s/angorad.log", d->dir);
    unlink(port_file);
    argv[argc++] = itest_angorad();
    argv[argc++] = "--data-dir";
    argv[argc++] = d->dir;
    argv[argc++] = "--port";
    argv[argc++] = "0";
    argv[argc++] = "--port-file";
    argv[argc++] = port_file;
    argv[argc++] = "--trainer";
    argv[argc++] = trainer;
    argv[argc++] = "--tick-seconds";
    argv[argc++] = "0.05";
    argv[argc++] = "--log-level";
    argv[argc++] = "debug";
    for (int i = 0; extra && extra[i] && argc < 62; i++) {
        argv[argc++] = extra[i];
    }
    argv[argc] = NULL;
    d->pid = fork();
    ck_assert_int_ge(d->pid, 0);
    if (d->pid == 0) {
        FILE *log = freopen(log_file, "a", stderr);
        (void)log;
        execv(argv[0], (char *const *)argv);
        _exit(127);
    }
    t0 = itest_now();
    while (itest_now() - t0 < 20) {
        int status;
        if (read_small(port_file, text, sizeof(text)) == 0) {
            break;
        }
        ck_assert_msg(waitpid(d->pid, &status, WNOHANG) == 0, "angorad exited at start (see %s)",
                      log_file);
        itest_sleep(0.02);
    }
    ck_assert_msg(read_small(port_file, text, sizeof(text)) == 0, "angorad did not start");
    d->port = atoi(text);
    ck_assert_int_gt(d->port, 0);
    ck_assert_int_eq(read_small(token_file, d->token, sizeof(d->token)), 0);
}

int itest_daemon_stop(Daemon *d, double *seconds) {
    int status = -1;
    double t0 = itest_now();
    if (d->pid <= 0) {
        return -1;
    }
    kill(d->pid, SIGTERM);
    while (itest_now() - t0 < 30) {
        pid_t w = waitpid(d->pid, &status, WNOHANG);
        if (w == d->pid) {
            break;
        }
        itest_sleep(0.01);
    }
    if (seconds) {
        *seconds = itest_now() - t0;
    }
    d->pid = 0;
    return status;
}

void itest_daemon_kill9(Daemon *d) {
    int status;
    if (d->pid <= 0) {
        return;
    }
    kill(d->pid, SIGKILL);
    waitpid(d->pid, &status, 0);
    d->pid = 0;
}

/* workers of this test's data directory that outlived it (runs are left running when angorad
 * stops): found by their --run-dir under our unique directory, stopped by process group */
static void kill_workers(const Daemon *d) {
    char needle[300];
    DIR *proc = opendir("/proc");
    struct dirent *de;
    snprintf(needle, sizeof(needle), "%s/runs/", d->dir);
    while (proc && (de = readdir(proc)) != NULL) {
        char path[300], cmd[4096];
        FILE *f;
        size_t n;
        int pid = atoi(de->d_name);
        if (pid <= 1) {
            continue;
        }
        snprintf(path, sizeof(path), "/proc/%d/cmdline", pid);
        f = fopen(path, "r");
        if (!f) {
            continue;
        }
        n = fread(cmd, 1, sizeof(cmd) - 1, f);
        fclose(f);
        for (size_t i = 0; i < n; i++) {
            if (cmd[i] == '\0') {
                cmd[i] = ' ';
            }
        }
        cmd[n] = '\0';
        if (strstr(cmd, needle)) {
            kill(-pid, SIGKILL);
            kill(pid, SIGKILL);
        }
    }
    if (proc) {
        closedir(proc);
    }
}

void itest_daemon_cleanup(Daemon *d) {
    char cmd[400];
    if (d->pid > 0) {
        itest_daemon_kill9(d);
    }
    kill_workers(d);
    if (getenv("ITEST_KEEP")) {
        return;
    }
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", d->dir);
    if (system(cmd) != 0) {
        fprintf(stderr, "could not remove %s\n", d->dir);
    }
}

static size_t on_body(char *ptr, size_t size, size_t nmemb, void *ud) {
    HttpResult *r = ud;
    size_t n = size * nmemb;
    char *nb = realloc(r->body, r->len + n + 1);
    if (!nb) {
        return 0;
    }
    r->body = nb;
    memcpy(r->body + r->len, ptr, n);
    r->len += n;
    r->body[r->len] = '\0';
    return n;
}

typedef struct Upload {
    const char *data;
    size_t len, off;
} Upload;

static size_t on_read(char *buf, size_t size, size_t nmemb, void *ud) {
    Upload *u = ud;
    size_t n = size * nmemb;
    if (n > u->len - u->off) {
        n = u->len - u->off;
    }
    memcpy(buf, u->data + u->off, n);
    u->off += n;
    return n;
}

void itest_http_raw(const Daemon *d, const char *method, const char *path, const char *auth_header,
                    const char *body, size_t body_len, int chunked, HttpResult *r) {
    CURL *c = curl_easy_init();
    struct curl_slist *hdrs = NULL;
    char url[4096], auth[512];
    char *ct = NULL;
    Upload up = {body, body_len, 0};
    CURLcode cc;
    memset(r, 0, sizeof(*r));
    ck_assert_ptr_nonnull(c);
    snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", d->port, path);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_PATH_AS_IS, 1L);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, r);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 30L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    if (!strcmp(method, "HEAD")) {
        curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
    }
    if (auth_header) {
        snprintf(auth, sizeof(auth), "Authorization: %s", auth_header);
        hdrs = curl_slist_append(hdrs, auth);
    }
    if (body) {
        hdrs = curl_slist_append(hdrs, "Content-Type: application/json");
        if (chunked) {
            hdrs = curl_slist_append(hdrs, "Transfer-Encoding: chunked");
            curl_easy_setopt(c, CURLOPT_POST, 1L);
            curl_easy_setopt(c, CURLOPT_READFUNCTION, on_read);
            curl_easy_setopt(c, CURLOPT_READDATA, &up);
        } else {
            curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
            curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body_len);
        }
        curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    }
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
    cc = curl_easy_perform(c);
    /* a server may answer 413 and close before reading the whole upload */
    ck_assert_msg(cc == CURLE_OK || cc == CURLE_SEND_ERROR || cc == CURLE_RECV_ERROR, "%s %s: %s",
                  method, path, curl_easy_strerror(cc));
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
    if (curl_easy_getinfo(c, CURLINFO_CONTENT_TYPE, &ct) == CURLE_OK && ct) {
        snprintf(r->content_type, sizeof(r->content_type), "%s", ct);
    }
    if (r->body) {
        r->json = json_loadb(r->body, r->len, 0, NULL);
    }
    curl_slist_free_all(hdrs);
    curl_easy_cleanup(c);
}

void itest_http(const Daemon *d, const char *method, const char *path, const char *token,
                const char *body, size_t body_len, HttpResult *r) {
    char auth[256];
    if (token && !*token) {
        token = d->token;
    }
    if (token) {
        snprintf(auth, sizeof(auth), "Bearer %s", token);
    }
    itest_http_raw(d, method, path, token ? auth : NULL, body, body ? body_len : 0, 0, r);
}

void itest_http_free(HttpResult *r) {
    free(r->body);
    json_decref(r->json);
    memset(r, 0, sizeof(*r));
}

long long itest_submit(const Daemon *d, const char *spec_json, int priority) {
    HttpResult r;
    char *body = NULL;
    long long id;
    ck_assert_int_gt(asprintf(&body, "{\"spec\":%s,\"priority\":%d}", spec_json, priority), 0);
    itest_http(d, "POST", "/api/v1/experiments", "", body, strlen(body), &r);
    ck_assert_msg(r.status == 201, "submit: %ld %s", r.status, r.body ? r.body : "");
    id = json_integer_value(json_object_get(r.json, "id"));
    ck_assert_int_gt(id, 0);
    itest_http_free(&r);
    free(body);
    return id;
}

json_t *itest_get(const Daemon *d, long long id) {
    HttpResult r;
    char path[128];
    json_t *o;
    snprintf(path, sizeof(path), "/api/v1/experiments/%lld", id);
    itest_http(d, "GET", path, "", NULL, 0, &r);
    ck_assert_msg(r.status == 200, "get %lld: %ld", id, r.status);
    o = json_incref(r.json);
    itest_http_free(&r);
    return o;
}

const char *itest_state(json_t *exp) {
    const char *s = json_string_value(json_object_get(exp, "state"));
    return s ? s : "?";
}

json_t *itest_wait_state(const Daemon *d, long long id, const char *state, double timeout_s) {
    double t0 = itest_now();
    json_t *o = NULL;
    char last[32] = "", error[300] = "";
    while (itest_now() - t0 < timeout_s) {
        o = itest_get(d, id);
        snprintf(last, sizeof(last), "%s", itest_state(o));
        if (!strcmp(last, state)) {
            return o;
        }
        const char *e = json_string_value(json_object_get(o, "error"));
        snprintf(error, sizeof(error), "%s", e ? e : "");
        json_decref(o);
        o = NULL;
        itest_sleep(0.05);
    }
    /* the run's own error says why it went elsewhere */
    ck_abort_msg("experiment %lld: still %s after %.0f s, expected %s%s%s", id, last, timeout_s,
                 state, error[0] ? "; error: " : "", error);
    return NULL;
}

void itest_wait_rows(const Daemon *d, long long id, long long n, double timeout_s) {
    double t0 = itest_now();
    long long have = 0;
    while (itest_now() - t0 < timeout_s) {
        json_t *o = itest_get(d, id);
        have = json_integer_value(json_object_get(o, "metric_rows"));
        json_decref(o);
        if (have >= n) {
            return;
        }
        itest_sleep(0.05);
    }
    ck_abort_msg("experiment %lld: %lld rows after %.0f s, expected %lld", id, have, timeout_s, n);
}

long long *itest_iterations(const Daemon *d, long long id, size_t *n) {
    HttpResult r;
    char path[160];
    json_t *rows, *v;
    size_t i;
    long long *out;
    snprintf(path, sizeof(path), "/api/v1/experiments/%lld/metrics/export?format=json", id);
    itest_http(d, "GET", path, "", NULL, 0, &r);
    ck_assert_int_eq(r.status, 200);
    rows = json_object_get(r.json, "rows");
    ck_assert(json_is_array(rows));
    *n = json_array_size(rows);
    out = calloc(*n + 1, sizeof(*out));
    json_array_foreach(rows, i, v) {
        out[i] = json_integer_value(json_object_get(json_object_get(v, "row"), "iteration"));
    }
    itest_http_free(&r);
    return out;
}

void itest_assert_rows_exact(const Daemon *d, long long id, long long n) {
    size_t count = 0;
    long long *its = itest_iterations(d, id, &count);
    ck_assert_msg((long long)count == n, "experiment %lld: %zu rows, expected %lld", id, count, n);
    for (size_t i = 0; i < count; i++) {
        ck_assert_msg(its[i] == (long long)i + 1, "row %zu has iteration %lld", i, its[i]);
    }
    free(its);
}

const char *itest_path(const Daemon *d, const char *name) {
    static char paths[4][400];
    static int k;
    k = (k + 1) % 4;
    snprintf(paths[k], sizeof paths[k], "%s/%s", d->dir, name);
    return paths[k];
}

void itest_daemon_finish(Daemon *d) {
    itest_daemon_stop(d, NULL);
    itest_daemon_cleanup(d);
}

int itest_run_suite(Suite *s) {
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

int itest_run_tests(const char *suite_name, double timeout_s, const TTest *const *tests, size_t n) {
    Suite *s = suite_create(suite_name);
    TCase *tc = tcase_create(suite_name);
    tcase_set_timeout(tc, timeout_s);
    for (size_t i = 0; i < n; i++) {
        tcase_add_test(tc, tests[i]);
    }
    suite_add_tcase(s, tc);
    return itest_run_suite(s);
}
