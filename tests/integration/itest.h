/* Helpers of the daemon's integration tests: start angorad on loopback with a free port and a
 * temporary data directory, talk to it over HTTP with libcurl, wait for experiment states. */
#ifndef ITEST_H
#define ITEST_H

#include <check.h>
#include <jansson.h>
#include <stddef.h>
#include <sys/types.h>

typedef struct Daemon {
    char dir[256];
    char token[128];
    int port;
    pid_t pid;
} Daemon;

typedef struct HttpResult {
    long status;
    char content_type[128];
    char *body;
    size_t len;
    json_t *json; /* parsed body or NULL */
} HttpResult;

/* paths from the build (ITEST_ANGORAD, ITEST_TRAINER, ITEST_FAKE_TRAINER, ITEST_FAKE_ANALYZER) */
const char *itest_angorad(void);
const char *itest_fake_trainer(void);
const char *itest_fake_analyzer(void);

/* a fresh temporary data directory */
void itest_daemon_init(Daemon *d);
/* starts angorad with extra "--key value" arguments (NULL-terminated) and waits until ready */
void itest_daemon_start(Daemon *d, const char *trainer, const char *const *extra);
/* SIGTERM and wait; returns the exit status and the seconds it took */
int itest_daemon_stop(Daemon *d, double *seconds);
void itest_daemon_kill9(Daemon *d);
void itest_daemon_cleanup(Daemon *d);

/* one request; token NULL sends no Authorization, "" the daemon's own token */
void itest_http(const Daemon *d, const char *method, const char *path, const char *token,
                const char *body, size_t body_len, HttpResult *r);
/* same with full control: raw authorization header (NULL for none), path taken as is,
 * chunked upload */
void itest_http_raw(const Daemon *d, const char *method, const char *path, const char *auth_header,
                    const char *body, size_t body_len, int chunked, HttpResult *r);
void itest_http_free(HttpResult *r);

/* submits a spec (JSON text) with a priority; returns the id */
long long itest_submit(const Daemon *d, const char *spec_json, int priority);
/* the experiment object (new reference) */
json_t *itest_get(const Daemon *d, long long id);
const char *itest_state(json_t *exp);
/* waits until the experiment reaches state (fails the test after timeout_s) */
json_t *itest_wait_state(const Daemon *d, long long id, const char *state, double timeout_s);
/* waits until it has at least n metric rows */
void itest_wait_rows(const Daemon *d, long long id, long long n, double timeout_s);
/* iterations of all stored rows in seq order, count in *n (malloc'd) */
long long *itest_iterations(const Daemon *d, long long id, size_t *n);
/* asserts the rows are exactly iterations 1..n */
void itest_assert_rows_exact(const Daemon *d, long long id, long long n);

/* a path inside the daemon's data directory (one of four rotating buffers) */
const char *itest_path(const Daemon *d, const char *name);
/* stops the daemon (SIGTERM) and removes its data directory */
void itest_daemon_finish(Daemon *d);

/* runs a suite in Check's default (forking) mode; the process exit status */
int itest_run_suite(Suite *s);
/* the tests as one case of one suite, each with timeout_s; the process exit status */
int itest_run_tests(const char *suite_name, double timeout_s, const TTest *const *tests, size_t n);
#define ITEST_COUNT(a) (sizeof(a) / sizeof((a)[0]))

double itest_now(void);
void itest_sleep(double s);

#endif
