/* Tests of angoractl's HTTP layer (client/ctl_http.c) against a small scripted server on
 * loopback: the bearer token and JSON body are sent, JSON answers are parsed and others kept as
 * text, the X-Log-Range header is read, downloads stream 2xx bodies to a file and keep error
 * bodies, and a closed port is reported as unreachable. */
#include "ctl.h"

#include "ag_error.h"

#include <arpa/inet.h>
#include <check.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

typedef struct Server {
    int fd;
    int port;
    const char *reply; /* the whole HTTP response */
    char request[8192];
    size_t request_len;
    pthread_t thread;
} Server;

/* answers one connection with s->reply after reading the request head and body */
static void *serve_one(void *ud) {
    Server *s = ud;
    int c = accept(s->fd, NULL, NULL);
    size_t want = 0;
    if (c < 0) {
        return NULL;
    }
    for (;;) {
        ssize_t n = read(c, s->request + s->request_len, sizeof(s->request) - 1 - s->request_len);
        char *end;
        if (n <= 0) {
            break;
        }
        s->request_len += (size_t)n;
        s->request[s->request_len] = '\0';
        end = strstr(s->request, "\r\n\r\n");
        if (end) {
            const char *cl = strstr(s->request, "Content-Length: ");
            want = (size_t)(end + 4 - s->request) + (cl ? (size_t)atoi(cl + 16) : 0);
            if (s->request_len >= want) {
                break;
            }
        }
    }
    if (write(c, s->reply, strlen(s->reply)) < 0) {
        perror("write");
    }
    close(c);
    return NULL;
}

static void server_start(Server *s, const char *reply) {
    struct sockaddr_in a;
    socklen_t len = sizeof(a);
    int one = 1;
    memset(s, 0, sizeof(*s));
    s->reply = reply;
    s->fd = socket(AF_INET, SOCK_STREAM, 0);
    ck_assert_int_ge(s->fd, 0);
    setsockopt(s->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ck_assert_int_eq(bind(s->fd, (struct sockaddr *)&a, sizeof(a)), 0);
    ck_assert_int_eq(listen(s->fd, 4), 0);
    ck_assert_int_eq(getsockname(s->fd, (struct sockaddr *)&a, &len), 0);
    s->port = ntohs(a.sin_port);
    ck_assert_int_eq(pthread_create(&s->thread, NULL, serve_one, s), 0);
}

/* a complete response with a correct Content-Length */
static const char *reply_make(const char *status, const char *type, const char *extra,
                              const char *body) {
    static char buf[4][2048];
    static int k;
    k = (k + 1) % 4;
    snprintf(buf[k], sizeof(buf[k]),
             "HTTP/1.1 %s\r\nContent-Type: %s\r\n%sContent-Length: %zu\r\nConnection: "
             "close\r\n\r\n%s",
             status, type, extra, strlen(body), body);
    return buf[k];
}

static void server_stop(Server *s) {
    pthread_join(s->thread, NULL);
    close(s->fd);
}

static void config_for(CtlConfig *c, int port, const char *token) {
    memset(c, 0, sizeof(*c));
    snprintf(c->url, sizeof(c->url), "http://127.0.0.1:%d", port);
    snprintf(c->url_source, sizeof(c->url_source), "test");
    snprintf(c->token, sizeof(c->token), "%s", token);
    c->timeout_s = 10;
}

START_TEST(test_json_request) {
    Server s;
    CtlConfig c;
    CtlResponse r;
    char err[512];
    server_start(&s, reply_make("201 Created", "application/json", "", "{\"id\":7,\"ok\":true}"));
    config_for(&c, s.port, "ang_secret");
    ck_assert_int_eq(
        ctl_http_request(&c, "POST", "/api/v1/experiments", "{\"a\":1}", 7, &r, err, sizeof(err)),
        0);
    server_stop(&s);
    ck_assert_int_eq(r.status, 201);
    ck_assert_str_eq(r.content_type, "application/json");
    ck_assert_ptr_nonnull(r.json);
    ck_assert_int_eq(json_integer_value(json_object_get(r.json, "id")), 7);
    ck_assert_ptr_nonnull(strstr(s.request, "POST /api/v1/experiments HTTP/1.1\r\n"));
    ck_assert_ptr_nonnull(strstr(s.request, "Authorization: Bearer ang_secret\r\n"));
    ck_assert_ptr_nonnull(strstr(s.request, "Content-Type: application/json\r\n"));
    ck_assert_ptr_nonnull(strstr(s.request, "\r\n\r\n{\"a\":1}"));
    ctl_response_free(&r);
    ck_assert_ptr_null(r.body);
}
END_TEST

START_TEST(test_text_and_headers) {
    Server s;
    CtlConfig c;
    CtlResponse r;
    char err[512];
    server_start(&s, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nX-Log-Range: 10-15/15\r\n"
                     "Content-Length: 5\r\nConnection: close\r\n\r\nhello");
    /* no token: no Authorization header at all */
    config_for(&c, s.port, "");
    ck_assert_int_eq(
        ctl_http_request(&c, "GET", "/api/v1/experiments/1/log", NULL, 0, &r, err, sizeof(err)), 0);
    server_stop(&s);
    ck_assert_int_eq(r.status, 200);
    ck_assert_ptr_null(r.json);
    ck_assert_str_eq(r.body, "hello");
    ck_assert_uint_eq(r.len, 5);
    ck_assert_str_eq(r.log_range, "10-15/15");
    ck_assert_ptr_null(strstr(s.request, "Authorization"));
    ctl_response_free(&r);
}
END_TEST

START_TEST(test_problem_answer) {
    Server s;
    CtlConfig c;
    CtlResponse r;
    char err[512];
    const char *reply = reply_make("404 Not Found", "application/problem+json", "",
                                   "{\"title\":\"Not Found\",\"detail\":\"no exp 9\"}");
    server_start(&s, reply);
    config_for(&c, s.port, "t");
    /* an error status is an answer, not a failure */
    ck_assert_int_eq(ctl_http_request(&c, "GET", "/x", NULL, 0, &r, err, sizeof(err)), 0);
    server_stop(&s);
    ck_assert_int_eq(r.status, 404);
    ck_assert_ptr_nonnull(r.json);
    ck_assert_str_eq(json_string_value(json_object_get(r.json, "detail")), "no exp 9");
    ctl_response_free(&r);
}
END_TEST

START_TEST(test_download) {
    Server s;
    CtlConfig c;
    CtlResponse r;
    char err[512], got[64] = "";
    FILE *f = tmpfile();
    server_start(&s, reply_make("200 OK", "application/octet-stream", "", "AB-CD\n"));
    config_for(&c, s.port, "t");
    ck_assert_int_eq(ctl_http_download(&c, "/ckpt", f, &r, err, sizeof(err)), 0);
    server_stop(&s);
    ck_assert_int_eq(r.status, 200);
    /* the body went to the file, not to memory */
    ck_assert_uint_eq(r.len, 0);
    rewind(f);
    ck_assert_uint_eq(fread(got, 1, sizeof(got), f), 6);
    ck_assert_str_eq(got, "AB-CD\n");
    fclose(f);
    ctl_response_free(&r);
    /* an error answer stays in memory and the file stays empty */
    f = tmpfile();
    server_start(&s, reply_make("404 Not Found", "application/problem+json", "", "{}"));
    config_for(&c, s.port, "t");
    ck_assert_int_eq(ctl_http_download(&c, "/ckpt", f, &r, err, sizeof(err)), 0);
    server_stop(&s);
    ck_assert_int_eq(r.status, 404);
    ck_assert_str_eq(r.body, "{}");
    ck_assert_int_eq(ftell(f), 0);
    fclose(f);
    ctl_response_free(&r);
}
END_TEST

START_TEST(test_unreachable) {
    CtlConfig c;
    CtlResponse r;
    char err[512];
    struct sockaddr_in a;
    socklen_t len = sizeof(a);
    int fd = socket(AF_INET, SOCK_STREAM, 0), port;
    /* a port that was free a moment ago and has no listener */
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ck_assert_int_eq(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    getsockname(fd, (struct sockaddr *)&a, &len);
    port = ntohs(a.sin_port);
    close(fd);
    config_for(&c, port, "t");
    ck_assert_int_eq(ctl_http_request(&c, "GET", "/api/v1/info", NULL, 0, &r, err, sizeof(err)),
                     AG_EIO);
    ck_assert_ptr_nonnull(strstr(err, "cannot reach angorad at http://127.0.0.1:"));
    ck_assert_ptr_nonnull(strstr(err, "(from test)"));
    ck_assert_int_eq(r.status, 0);
    ck_assert_ptr_null(r.body);
}
END_TEST

START_TEST(test_broken_answer) {
    Server s;
    CtlConfig c;
    CtlResponse r;
    char err[512];
    /* the connection closes before the promised body */
    server_start(&s, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                     "Content-Length: 100\r\nConnection: close\r\n\r\n{\"a\"");
    config_for(&c, s.port, "t");
    ck_assert_int_eq(ctl_http_request(&c, "GET", "/x", NULL, 0, &r, err, sizeof(err)),
                     AG_EPROTOCOL);
    server_stop(&s);
    ck_assert_ptr_nonnull(strstr(err, "GET /x"));
    ctl_response_free(&r);
}
END_TEST

static Suite *http_suite(void) {
    Suite *s = suite_create("ctl_http");
    TCase *tc = tcase_create("http");
    tcase_add_test(tc, test_json_request);
    tcase_add_test(tc, test_text_and_headers);
    tcase_add_test(tc, test_problem_answer);
    tcase_add_test(tc, test_download);
    tcase_add_test(tc, test_unreachable);
    tcase_add_test(tc, test_broken_answer);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) {
    SRunner *sr = srunner_create(http_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
