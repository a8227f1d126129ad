/* Helpers of the REST API: token hashing and creation, the first-start token file, safe mapping
 * of URL paths to dashboard files, downsampling of metric series and problem+json bodies. */
#include "api.h"

#include "ag_error.h"
#include "ag_fs.h"
#include "ag_json_text.h"
#include "ag_log.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

int api_sha256_hex(const void *data, size_t len, char out[65]) {
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int md_len = 0;
    static const char hex[] = "0123456789abcdef";
    if (!EVP_Digest(data, len, md, &md_len, EVP_sha256(), NULL) || md_len != 32) {
        out[0] = '\0';
        return AG_EIO;
    }
    for (unsigned i = 0; i < 32; i++) {
        out[2 * i] = hex[md[i] >> 4];
        out[2 * i + 1] = hex[md[i] & 15];
    }
    out[64] = '\0';
    return 0;
}

int api_token_generate(char out[API_TOKEN_LEN + 1], char *err, size_t err_sz) {
    unsigned char raw[32];
    static const char hex[] = "0123456789abcdef";
    size_t got = 0;
    while (got < sizeof(raw)) {
        ssize_t r = getrandom(raw + got, sizeof(raw) - got, 0);
        if (r < 0 && errno == EINTR) {
            continue;
        }
        if (r <= 0) {
            return ag_errorf(err, err_sz, AG_EIO, "getrandom: %s", strerror(errno));
        }
        got += (size_t)r;
    }
    memcpy(out, API_TOKEN_PREFIX, 4);
    for (size_t i = 0; i < sizeof(raw); i++) {
        out[4 + 2 * i] = hex[raw[i] >> 4];
        out[4 + 2 * i + 1] = hex[raw[i] & 15];
    }
    out[API_TOKEN_LEN] = '\0';
    return 0;
}

/* writes the token file so that only its owner can ever read it, even half-written */
static int token_file_write(const char *path, const char *token, char *err, size_t err_sz) {
    char tmp[PATH_MAX];
    int fd, rc = 0;
    size_t len = strlen(token);
    if (snprintf(tmp, sizeof(tmp), "%s.tmp.%d", path, (int)getpid()) >= (int)sizeof(tmp)) {
        return ag_errorf(err, err_sz, AG_ETOOBIG, "token path too long");
    }
    unlink(tmp);
    fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) {
        return ag_errorf(err, err_sz, AG_EIO, "cannot create %s: %s", tmp, strerror(errno));
    }
    if (fchmod(fd, 0600) != 0 || write(fd, token, len) != (ssize_t)len || write(fd, "\n", 1) != 1 ||
        fsync(fd) != 0) {
        rc = ag_errorf(err, err_sz, AG_EIO, "cannot write %s: %s", tmp, strerror(errno));
    }
    close(fd);
    if (rc == 0 && rename(tmp, path) != 0) {
        rc = ag_errorf(err, err_sz, AG_EIO, "cannot rename %s: %s", tmp, strerror(errno));
    }
    if (rc) {
        unlink(tmp);
    }
    return rc;
}

int api_token_bootstrap(Store *store, const char *token_path, int *created, char *err,
                        size_t err_sz) {
    char *text = NULL, token[API_TOKEN_LEN + 1], hash[65], scope[8], msg[256];
    size_t len = 0;
    int rc;
    *created = 0;
    if (ag_fs_read_file(token_path, 256, &text, &len, msg, sizeof(msg)) == 0) {
        while (len > 0 &&
               (text[len - 1] == '\n' || text[len - 1] == '\r' || text[len - 1] == ' ')) {
            text[--len] = '\0';
        }
        if (len == API_TOKEN_LEN && api_sha256_hex(text, len, hash) == 0 &&
            store_token_lookup(store, hash, scope, sizeof(scope), msg, sizeof(msg)) == 0) {
            free(text);
            return 0;
        }
        ag_log_warn("token file %s holds no live token; writing a new one", token_path);
    }
    free(text);
    rc = api_token_generate(token, err, err_sz);
    if (rc == 0) {
        rc = api_sha256_hex(token, API_TOKEN_LEN, hash);
    }
    if (rc == 0) {
        rc = store_token_add(store, hash, "full", "first start", NULL, err, err_sz);
    }
    if (rc == 0) {
        rc = token_file_write(token_path, token, err, err_sz);
    }
    if (rc == 0) {
        *created = 1;
    }
    memset(token, 0, sizeof(token));
    return rc;
}

int api_static_resolve(const char *web_dir, const char *url_path, char *out, size_t out_sz) {
    char joined[PATH_MAX], real_root[PATH_MAX], real_file[PATH_MAX];
    const char *rel, *p;
    struct stat sb;
    size_t root_len;
    if (!web_dir || !url_path || url_path[0] != '/') {
        return AG_EFORBIDDEN;
    }
    /* anything still encoded was encoded twice; backslashes, colons (drive letters, streams) and
     * empty segments (absolute paths after the first slash) have no business in a web path */
    for (p = url_path; *p; p++) {
        unsigned char c = (unsigned char)*p;
        if (c == '%' || c == '\\' || c == ':' || c < 0x20 || c == 0x7f) {
            return AG_EFORBIDDEN;
        }
    }
    if (strstr(url_path, "//")) {
        return AG_EFORBIDDEN;
    }
    /* no "." or ".." segment at all */
    for (p = url_path; p && *p; p = strchr(p + 1, '/')) {
        const char *seg = p + 1, *end = strchr(seg, '/');
        size_t n = end ? (size_t)(end - seg) : strlen(seg);
        if ((n == 1 && seg[0] == '.') || (n == 2 && seg[0] == '.' && seg[1] == '.')) {
            return AG_EFORBIDDEN;
        }
    }
    rel = url_path + 1;
    if (snprintf(joined, sizeof(joined), "%s/%s", web_dir, rel) >= (int)sizeof(joined)) {
        return AG_EFORBIDDEN;
    }
    /* a symbolic link inside the web folder must not lead out of it either */
    if (!realpath(web_dir, real_root) || !realpath(joined, real_file)) {
        return AG_ENOTFOUND;
    }
    root_len = strlen(real_root);
    if (strncmp(real_file, real_root, root_len) != 0 ||
        (real_file[root_len] != '/' && real_file[root_len] != '\0')) {
        return AG_EFORBIDDEN;
    }
    if (stat(real_file, &sb) == 0 && S_ISDIR(sb.st_mode)) {
        size_t jl = strlen(real_file);
        if (snprintf(real_file + jl, sizeof(real_file) - jl, "/index.html") >=
            (int)(sizeof(real_file) - jl)) {
            return AG_EFORBIDDEN;
        }
        memcpy(joined, real_file, strlen(real_file) + 1);
        if (!realpath(joined, real_file)) {
            return AG_ENOTFOUND;
        }
        if (strncmp(real_file, real_root, root_len) != 0 || real_file[root_len] != '/') {
            return AG_EFORBIDDEN;
        }
    }
    if (stat(real_file, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        return AG_ENOTFOUND;
    }
    if (snprintf(out, out_sz, "%s", real_file) >= (int)out_sz) {
        return AG_ETOOBIG;
    }
    return 0;
}

const char *api_mime_type(const char *path) {
    static const char *const map[][2] = {
        {".html", "text/html; charset=utf-8"},
        {".js", "text/javascript; charset=utf-8"},
        {".mjs", "text/javascript; charset=utf-8"},
        {".css", "text/css; charset=utf-8"},
        {".json", "application/json"},
        {".svg", "image/svg+xml"},
        {".png", "image/png"},
        {".ico", "image/x-icon"},
        {".txt", "text/plain; charset=utf-8"},
        {".map", "application/json"},
        {".woff2", "font/woff2"},
        {".mp4", "video/mp4"},
    };
    const char *dot = strrchr(path, '.');
    if (dot && !strchr(dot, '/')) {
        for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
            if (!strcmp(dot, map[i][0])) {
                return map[i][1];
            }
        }
    }
    return "application/octet-stream";
}

/* the buckets of a downsampled series, merged into out (at most max(max_points, 3) each); their
 * count */
static size_t downsample_merge(const double *xs, const double *mins, const double *maxs,
                               const double *lasts, size_t n, size_t max_points, double *ox,
                               double *omin, double *omax, double *olast) {
    size_t inner, buckets, k = 0;
    if (max_points < 3) {
        max_points = 3;
    }
    if (n <= max_points) {
        /* an empty series may come without its arrays */
        if (n > 0) {
            memcpy(ox, xs, n * sizeof(*xs));
            memcpy(omin, mins, n * sizeof(*xs));
            memcpy(omax, maxs, n * sizeof(*xs));
            memcpy(olast, lasts, n * sizeof(*xs));
        }
        return n;
    }
    /* first and last points stand alone; the n - 2 between share max_points - 2 buckets */
    ox[k] = xs[0], omin[k] = mins[0], omax[k] = maxs[0], olast[k++] = lasts[0];
    inner = n - 2;
    buckets = max_points - 2;
    for (size_t b = 0; b < buckets; b++) {
        size_t lo = 1 + b * inner / buckets, hi = 1 + (b + 1) * inner / buckets;
        double mn = mins[lo], mx = maxs[lo];
        for (size_t i = lo + 1; i < hi; i++) {
            if (mins[i] < mn) {
                mn = mins[i];
            }
            if (maxs[i] > mx) {
                mx = maxs[i];
            }
        }
        ox[k] = xs[hi - 1], omin[k] = mn, omax[k] = mx, olast[k++] = lasts[hi - 1];
    }
    ox[k] = xs[n - 1], omin[k] = mins[n - 1], omax[k] = maxs[n - 1], olast[k++] = lasts[n - 1];
    return k;
}

/* room for the merged buckets of n points at most max_points: four arrays in one block */
static double *downsample_alloc(size_t n, size_t max_points) {
    size_t m = n < max_points ? n : max_points;
    return malloc((m < 3 ? 3 : m) * 4 * sizeof(double));
}

json_t *api_downsample(const double *xs, const double *ys, size_t n, size_t max_points) {
    return api_downsample_buckets(xs, ys, ys, ys, n, max_points);
}

json_t *api_downsample_buckets(const double *xs, const double *mins, const double *maxs,
                               const double *lasts, size_t n, size_t max_points) {
    static const char *const names[4] = {"x", "min", "max", "last"};
    json_t *o = json_pack("{s:[],s:[],s:[],s:[]}", "x", "min", "max", "last");
    double *v = downsample_alloc(n, max_points);
    size_t m, stride;
    if (!o || !v) {
        json_decref(o);
        free(v);
        return NULL;
    }
    stride = (n < max_points ? n : max_points) < 3 ? 3 : (n < max_points ? n : max_points);
    m = downsample_merge(xs, mins, maxs, lasts, n, max_points, v, v + stride, v + 2 * stride,
                         v + 3 * stride);
    for (int a = 0; a < 4; a++) {
        json_t *arr = json_object_get(o, names[a]);
        for (size_t i = 0; i < m; i++) {
            /* json_real refuses NaN and infinities: they are left out, as they always were */
            json_array_append_new(arr, json_real(v[(size_t)a * stride + i]));
        }
    }
    free(v);
    return o;
}

int api_downsample_buckets_text(AgBuf *out, const double *xs, const double *mins,
                                const double *maxs, const double *lasts, size_t n,
                                size_t max_points) {
    static const char *const heads[4] = {"{\"x\":[", "],\"min\":[", "],\"max\":[", "],\"last\":["};
    double *v = downsample_alloc(n, max_points);
    size_t m, stride, len0 = out->len;
    int rc = 0;
    if (!v) {
        return AG_ENOMEM;
    }
    stride = (n < max_points ? n : max_points) < 3 ? 3 : (n < max_points ? n : max_points);
    m = downsample_merge(xs, mins, maxs, lasts, n, max_points, v, v + stride, v + 2 * stride,
                         v + 3 * stride);
    for (int a = 0; rc == 0 && a < 4; a++) {
        int first = 1;
        rc = ag_buf_append_str(out, heads[a]);
        for (size_t i = 0; rc == 0 && i < m; i++) {
            double x = v[(size_t)a * stride + i];
            char num[AG_JSON_TEXT_REAL_MAX];
            size_t len;
            if (!isfinite(x)) {
                continue; /* as api_downsample_buckets leaves them out */
            }
            len = ag_json_text_real_format(x, num);
            rc = ag_buf_reserve(out, len + 1);
            if (rc == 0) {
                if (!first) {
                    out->data[out->len++] = ',';
                }
                memcpy(out->data + out->len, num, len);
                out->len += len;
                out->data[out->len] = '\0';
                first = 0;
            }
        }
    }
    if (rc == 0) {
        rc = ag_buf_append_str(out, "]");
    }
    if (rc) {
        out->len = len0;
        if (out->data) {
            out->data[len0] = '\0';
        }
    }
    free(v);
    return rc;
}

int api_status_of(int code) {
    switch (code) {
    case AG_EINVAL:
    case AG_EJSON:
    case AG_ERANGE:
        return 400;
    case AG_EAUTH:
        return 401;
    case AG_EFORBIDDEN:
        return 403;
    case AG_ENOTFOUND:
        return 404;
    case AG_EUNSUPPORTED:
        return 405;
    case AG_EEXISTS:
    case AG_ESTATE:
        return 409;
    case AG_ETOOBIG:
        return 413;
    case AG_ESPEC:
        return 422;
    case AG_EBUSY:
        return 503;
    case AG_ETIMEOUT:
        return 504;
    default:
        return 500;
    }
}

static const char *status_title(int status) {
    switch (status) {
    case 400:
        return "Bad Request";
    case 401:
        return "Unauthorized";
    case 403:
        return "Forbidden";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 409:
        return "Conflict";
    case 413:
        return "Content Too Large";
    case 415:
        return "Unsupported Media Type";
    case 422:
        return "Unprocessable Content";
    case 503:
        return "Service Unavailable";
    case 504:
        return "Gateway Timeout";
    default:
        return "Internal Server Error";
    }
}

char *api_problem_body(int status, int code, const char *detail, const char *field) {
    char type[96];
    const char *name = ag_error_name(code);
    json_t *o;
    char *text;
    /* stable machine-readable type from the error code: "AG_ENOTFOUND" -> ".../notfound" */
    snprintf(type, sizeof(type), "urn:angora:problem:%s",
             strncmp(name, "AG_E", 4) == 0 ? name + 4 : name);
    for (char *c = type; *c; c++) {
        if (*c >= 'A' && *c <= 'Z') {
            *c = (char)(*c - 'A' + 'a');
        }
    }
    o = json_pack("{s:s,s:s,s:i,s:s,s:s}", "type", type, "title", status_title(status), "status",
                  status, "detail", detail ? detail : ag_error_message(code), "code", name);
    if (!o) {
        return NULL;
    }
    json_object_set_new(o, "field", field && *field ? json_string(field) : json_null());
    text = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    return text;
}
