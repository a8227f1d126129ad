/* angoractl's HTTP requests over libcurl: bearer token, bounded response bodies, the headers the
 * commands need, and transport failures told apart from answers. */
#include "ctl.h"

#include "ag_buf.h"
#include "ag_error.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define CTL_BODY_MAX (512u << 20)

typedef struct Sink {
    AgBuf buf;
    FILE *file; /* 2xx bodies go here when set */
    long status;
    CURL *curl;
    int failed;
    CtlResponse *r;
} Sink;

static size_t on_body(char *ptr, size_t size, size_t nmemb, void *ud) {
    Sink *s = ud;
    size_t n = size * nmemb;
    if (s->file) {
        long status = 0;
        curl_easy_getinfo(s->curl, CURLINFO_RESPONSE_CODE, &status);
        if (status >= 200 && status < 300) {
            if (fwrite(ptr, 1, n, s->file) != n) {
                s->failed = 1;
                return 0;
            }
            return n;
        }
    }
    if (ag_buf_append(&s->buf, ptr, n) != 0) {
        s->failed = 1;
        return 0;
    }
    return n;
}

static size_t on_header(char *ptr, size_t size, size_t nmemb, void *ud) {
    Sink *s = ud;
    size_t n = size * nmemb;
    static const char name[] = "X-Log-Range:";
    if (n > sizeof(name) - 1 && !strncasecmp(ptr, name, sizeof(name) - 1)) {
        const char *v = ptr + sizeof(name) - 1;
        size_t len = n - (sizeof(name) - 1);
        while (len > 0 && (*v == ' ' || *v == '\t')) {
            v++;
            len--;
        }
        while (len > 0 && (v[len - 1] == '\r' || v[len - 1] == '\n' || v[len - 1] == ' ')) {
            len--;
        }
        if (len >= sizeof(s->r->log_range)) {
            len = sizeof(s->r->log_range) - 1;
        }
        memcpy(s->r->log_range, v, len);
        s->r->log_range[len] = '\0';
    }
    return n;
}

static int perform(const CtlConfig *c, const char *method, const char *path, const char *body,
                   size_t body_len, FILE *file, CtlResponse *r, char *err, size_t err_sz) {
    CURL *curl = NULL;
    struct curl_slist *hdrs = NULL;
    char url[CTL_URL_MAX + 2048], auth[CTL_TOKEN_MAX + 32];
    char *ct = NULL;
    Sink s;
    CURLcode cc;
    int rc = 0;
    memset(r, 0, sizeof(*r));
    memset(&s, 0, sizeof(s));
    s.r = r;
    s.file = file;
    if (snprintf(url, sizeof(url), "%s%s", c->url, path) >= (int)sizeof(url)) {
        return ag_errorf(err, err_sz, AG_ETOOBIG, "request path too long");
    }
    if (ag_buf_init(&s.buf, 0, CTL_BODY_MAX) != 0) {
        return ag_errorf(err, err_sz, AG_ENOMEM, "out of memory");
    }
    curl = curl_easy_init();
    if (!curl) {
        rc = ag_errorf(err, err_sz, AG_ENOMEM, "cannot create an HTTP handle");
        goto out;
    }
    s.curl = curl;
    curl_easy_setopt(curl, CURLOPT_URL, url);
    curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &s);
    curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(curl, CURLOPT_HEADERDATA, &s);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT, 10L);
    curl_easy_setopt(curl, CURLOPT_USERAGENT, "angoractl/" ANGORA_VERSION);
    if (c->timeout_s > 0) {
        curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, (long)(c->timeout_s * 1000.0));
    }
    if (!strcmp(method, "HEAD")) {
        curl_easy_setopt(curl, CURLOPT_NOBODY, 1L);
    }
    if (c->token[0]) {
        snprintf(auth, sizeof(auth), "Authorization: Bearer %s", c->token);
        hdrs = curl_slist_append(hdrs, auth);
    }
    hdrs = curl_slist_append(hdrs, "Accept: application/json, application/problem+json, */*");
    if (body) {
        hdrs = curl_slist_append(hdrs, "Content-Type: application/json");
        curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body_len);
    } else if (!strcmp(method, "POST")) {
        curl_easy_setopt(curl, CURLOPT_POSTFIELDS, "");
        curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)0);
    }
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, hdrs);
    cc = curl_easy_perform(curl);
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &r->status);
    if (s.failed) {
        rc = ag_errorf(err, err_sz, file ? AG_EIO : AG_ETOOBIG,
                       file ? "cannot write the download" : "the response exceeds %u MiB",
                       CTL_BODY_MAX >> 20);
        goto out;
    }
    if (cc != CURLE_OK && r->status == 0) {
        rc = ag_errorf(err, err_sz, AG_EIO, "cannot reach angorad at %s (from %s): %s", c->url,
                       c->url_source, curl_easy_strerror(cc));
        goto out;
    }
    if (cc != CURLE_OK) {
        rc =
            ag_errorf(err, err_sz, AG_EPROTOCOL, "%s %s: %s", method, path, curl_easy_strerror(cc));
        goto out;
    }
    if (curl_easy_getinfo(curl, CURLINFO_CONTENT_TYPE, &ct) == CURLE_OK && ct) {
        snprintf(r->content_type, sizeof(r->content_type), "%s", ct);
    }
    r->len = s.buf.len;
    r->body = ag_buf_steal(&s.buf);
    if (r->body && r->len && strstr(r->content_type, "json")) {
        r->json = json_loadb(r->body, r->len, 0, NULL);
    }
out:
    ag_buf_free(&s.buf);
    curl_slist_free_all(hdrs);
    if (curl) {
        curl_easy_cleanup(curl);
    }
    return rc;
}

int ctl_http_request(const CtlConfig *c, const char *method, const char *path, const char *body,
                     size_t body_len, CtlResponse *r, char *err, size_t err_sz) {
    return perform(c, method, path, body, body_len, NULL, r, err, err_sz);
}

int ctl_http_download(const CtlConfig *c, const char *path, FILE *out, CtlResponse *r, char *err,
                      size_t err_sz) {
    return perform(c, "GET", path, NULL, 0, out, r, err, err_sz);
}

void ctl_response_free(CtlResponse *r) {
    free(r->body);
    json_decref(r->json);
    memset(r, 0, sizeof(*r));
}
