/* Tests of server/api/api_http.c: serving on loopback with a free port, the body limit (413 from
 * the declared length and from a chunked upload), bad bind addresses and a port in use, and the
 * validator headers: ETag and Cache-Control on a list answer, 304 for its If-None-Match. */
#include "api.h"

#include "ag_error.h"
#include "ag_fs.h"

#include <arpa/inet.h>
#include <check.h>
#include <curl/curl.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char err[512];

static size_t sink(char *p, size_t size, size_t n, void *ud) {
    (void)p;
    (void)ud;
    return size * n;
}

static long http_post(int port, const char *path, const char *body, size_t len, int chunked) {
    CURL *c = curl_easy_init();
    struct curl_slist *h = NULL;
    char url[256];
    long status = 0;
    snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", port, path);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, sink);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 10L);
    if (body) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
        if (chunked) {
            h = curl_slist_append(h, "Transfer-Encoding: chunked");
        }
        curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    }
    curl_easy_perform(c);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
    return status;
}

static Store *open_store(void) {
    char mig[1024];
    Store *s = NULL;
    ck_assert_int_eq(ag_fs_data_path("migrations", mig, sizeof(mig)), 0);
    ck_assert_int_eq(store_open(":memory:", &s, err, sizeof(err)), 0);
    ck_assert_int_eq(store_migrate(s, mig, 0, NULL, err, sizeof(err)), 0);
    return s;
}

/* 0 when a TCP connection to 127.0.0.1:port is made, else connect's errno */
static int connect_errno(int port) {
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    int fd = socket(AF_INET, SOCK_STREAM, 0), rc;
    ck_assert_int_ge(fd, 0);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    rc = connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0 ? 0 : errno;
    close(fd);
    return rc;
}

START_TEST(test_serve_and_limits) {
    Store *s = open_store();
    Api *api = NULL, *twin = NULL;
    ApiConfig cfg;
    char *big;
    size_t big_len = 3000;
    int port;
    memset(&cfg, 0, sizeof(cfg));
    cfg.runs_root = "/tmp";
    cfg.max_body = 1024;
    ck_assert_int_eq(api_create(&api, &cfg, s, err, sizeof(err)), 0);
    ck_assert_int_eq(api_listen(api, err, sizeof(err)), 0);
    port = api_port(api);
    ck_assert_int_gt(port, 0);
    ck_assert_int_eq(api_listen(api, err, sizeof(err)), AG_ESTATE);
    ck_assert_int_eq(http_post(port, "/api/v1/health", NULL, 0, 0), 200);
    big = malloc(big_len);
    memset(big, 'x', big_len);
    ck_assert_int_eq(http_post(port, "/api/v1/validate", big, big_len, 0), 413);
    ck_assert_int_eq(http_post(port, "/api/v1/validate", big, big_len, 1), 413);
    /* a body under the limit reaches the handler (which wants a token) */
    ck_assert_int_eq(http_post(port, "/api/v1/validate", big, 100, 0), 401);
    free(big);
    /* the same port twice fails cleanly */
    cfg.port = port;
    ck_assert_int_eq(api_create(&twin, &cfg, s, err, sizeof(err)), 0);
    ck_assert_int_eq(api_listen(twin, err, sizeof(err)), AG_EIO);
    ck_assert_ptr_nonnull(strstr(err, "cannot listen"));
    api_destroy(twin);
    /* quiesced: a new connection is refused by the kernel at once (not left waiting in the
     * backlog), though the listening socket stays open until the daemon has stopped */
    api_quiesce(api);
    ck_assert_int_eq(connect_errno(port), ECONNREFUSED);
    api_stop(api);
    api_destroy(api);
    store_close(s);
}
END_TEST

/* the header lines curl hands over, kept whole */
static size_t keep_header(char *p, size_t size, size_t n, void *ud) {
    char *out = ud;
    size_t len = strlen(out), add = size * n;
    if (len + add < 4096) {
        memcpy(out + len, p, add);
        out[len + add] = '\0';
    }
    return size * n;
}

/* a GET with the token and If-None-Match (may be NULL); the status, and the headers in hdr */
static long http_get(int port, const char *path, const char *token, const char *inm, char *hdr) {
    CURL *c = curl_easy_init();
    struct curl_slist *h = NULL;
    char url[256], line[256];
    long status = 0;
    hdr[0] = '\0';
    snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", port, path);
    snprintf(line, sizeof(line), "Authorization: Bearer %s", token);
    h = curl_slist_append(h, line);
    if (inm) {
        snprintf(line, sizeof(line), "If-None-Match: %s", inm);
        h = curl_slist_append(h, line);
    }
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, sink);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, keep_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, hdr);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 10L);
    curl_easy_perform(c);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
    return status;
}

START_TEST(test_validators) {
    Store *s = open_store();
    Api *api = NULL;
    ApiConfig cfg;
    char token[API_TOKEN_LEN + 1], hash[65], hdr[4096], tag[96] = "", *p;
    int port;
    memset(&cfg, 0, sizeof(cfg));
    cfg.runs_root = "/tmp";
    cfg.response_cache_bytes = 1 << 20;
    ck_assert_int_eq(api_create(&api, &cfg, s, err, sizeof(err)), 0);
    ck_assert_int_eq(api_token_generate(token, err, sizeof(err)), 0);
    ck_assert_int_eq(api_sha256_hex(token, API_TOKEN_LEN, hash), 0);
    ck_assert_int_eq(store_token_add(s, hash, "read", "read", NULL, err, sizeof(err)), 0);
    ck_assert_int_eq(api_listen(api, err, sizeof(err)), 0);
    port = api_port(api);
    ck_assert_int_eq(http_get(port, "/api/v1/experiments", token, NULL, hdr), 200);
    ck_assert_ptr_nonnull(strstr(hdr, "Cache-Control: private, no-cache"));
    p = strstr(hdr, "ETag: ");
    ck_assert_ptr_nonnull(p);
    snprintf(tag, sizeof(tag), "%.*s", (int)strcspn(p + 6, "\r\n"), p + 6);
    ck_assert_int_gt(strlen(tag), 2);
    ck_assert_int_eq(http_get(port, "/api/v1/experiments", token, tag, hdr), 304);
    ck_assert_ptr_nonnull(strstr(hdr, tag));
    ck_assert_int_eq(http_get(port, "/api/v1/experiments", token, "\"stale\"", hdr), 200);
    /* other answers are not kept */
    ck_assert_int_eq(http_get(port, "/api/v1/experiments/1", token, NULL, hdr), 404);
    ck_assert_ptr_nonnull(strstr(hdr, "Cache-Control: no-store"));
    ck_assert_ptr_null(strstr(hdr, "ETag"));
    api_stop(api);
    api_destroy(api);
    store_close(s);
}
END_TEST

START_TEST(test_bad_addresses) {
    Store *s = open_store();
    Api *api = NULL;
    ApiConfig cfg;
    memset(&cfg, 0, sizeof(cfg));
    cfg.bind_addr = "localhost";
    ck_assert_int_eq(api_create(&api, &cfg, s, err, sizeof(err)), 0);
    ck_assert_int_eq(api_listen(api, err, sizeof(err)), AG_EINVAL);
    ck_assert_ptr_nonnull(strstr(err, "numeric"));
    api_destroy(api);
    cfg.bind_addr = "::1";
    cfg.port = 70000;
    ck_assert_int_eq(api_create(&api, &cfg, s, err, sizeof(err)), 0);
    ck_assert_int_eq(api_listen(api, err, sizeof(err)), AG_ERANGE);
    api_destroy(api);
    store_close(s);
}
END_TEST

static void sleep_ms(int ms) {
    poll(NULL, 0, ms);
}

static int connect_raw(int port) {
    struct sockaddr_in a;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ck_assert_int_eq(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    return fd;
}

/* 1 when the server closed fd within timeout_ms */
static int closed_within(int fd, int timeout_ms) {
    struct pollfd p = {.fd = fd, .events = POLLIN};
    char c;
    if (poll(&p, 1, timeout_ms) <= 0) {
        return 0;
    }
    return recv(fd, &c, 1, 0) <= 0;
}

START_TEST(test_connection_limit_and_timeout) {
    static const char req[] = "GET /api/v1/health HTTP/1.1\r\nHost: x\r\n\r\n";
    Store *s = open_store();
    Api *api = NULL;
    ApiConfig cfg;
    char buf[64];
    struct pollfd p;
    int a, b, c, d, port;
    ssize_t n;
    memset(&cfg, 0, sizeof(cfg));
    cfg.max_connections = 2;
    cfg.connection_timeout_s = 1;
    cfg.threads = 1;
    ck_assert_int_eq(api_create(&api, &cfg, s, err, sizeof(err)), 0);
    ck_assert_int_eq(api_listen(api, err, sizeof(err)), 0);
    port = api_port(api);
    a = connect_raw(port);
    b = connect_raw(port);
    sleep_ms(100);
    /* a third connection is not served while two are open */
    c = connect_raw(port);
    ck_assert_int_eq(send(c, req, sizeof(req) - 1, 0), (ssize_t)(sizeof(req) - 1));
    p = (struct pollfd){.fd = c, .events = POLLIN};
    ck_assert_int_eq(poll(&p, 1, 300), 0);
    /* idle connections are closed after the timeout, which frees the slots */
    ck_assert(closed_within(a, 4000));
    ck_assert(closed_within(b, 4000));
    close(a);
    close(b);
    p = (struct pollfd){.fd = c, .events = POLLIN};
    ck_assert_int_eq(poll(&p, 1, 4000), 1);
    n = recv(c, buf, sizeof(buf) - 1, 0);
    ck_assert_int_gt(n, 12);
    buf[n] = '\0';
    ck_assert(strncmp(buf, "HTTP/1.1 200", 12) == 0);
    close(c);
    d = connect_raw(port);
    ck_assert(closed_within(d, 4000));
    close(d);
    api_destroy(api);
    store_close(s);
}
END_TEST

int main(void) {
    Suite *s = suite_create("api_http");
    TCase *tc = tcase_create("core");
    SRunner *sr;
    int failed;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    tcase_add_test(tc, test_serve_and_limits);
    tcase_add_test(tc, test_bad_addresses);
    tcase_add_test(tc, test_validators);
    tcase_add_test(tc, test_connection_limit_and_timeout);
    suite_add_tcase(s, tc);
    sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    curl_global_cleanup();
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
