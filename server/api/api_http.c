/* HTTP serving of the API with libmicrohttpd: binds the configured address, reads request bodies
 * up to the limit (413 beyond it), hands each request to api_handle() and sends its response
 * (bodies from memory, files from their descriptor). Connection count and idle time are capped. */
#include "api_int.h"

#include "ag_buf.h"
#include "ag_error.h"
#include "ag_log.h"
#include "ag_thread.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

struct ApiHttp {
    struct MHD_Daemon *daemon;
    int port;
    MHD_socket quiesced; /* the listening socket MHD_quiesce_daemon handed back, or invalid */
};

typedef struct ReqState {
    AgBuf body;
    int too_big;
} ReqState;

/* per connection: whether decoding the current request's path or query made a NUL byte */
typedef struct ConnState {
    int saw_nul;
} ConnState;

static void on_connection(void *cls, struct MHD_Connection *c, void **socket_context,
                          enum MHD_ConnectionNotificationCode code) {
    (void)cls;
    (void)c;
    if (code == MHD_CONNECTION_NOTIFY_STARTED) {
        *socket_context = calloc(1, sizeof(ConnState));
    } else {
        free(*socket_context);
        *socket_context = NULL;
    }
}

static ConnState *conn_state(struct MHD_Connection *c) {
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    return ci ? ci->socket_context : NULL;
}

static int hex_value(char ch) {
    if (ch >= '0' && ch <= '9') {
        return ch - '0';
    }
    if (ch >= 'a' && ch <= 'f') {
        return ch - 'a' + 10;
    }
    if (ch >= 'A' && ch <= 'F') {
        return ch - 'A' + 10;
    }
    return -1;
}

/* percent-decoding of the path and every query key and value, in place. A decoded NUL would cut
 * the C string short and route the request by its prefix ("/experiments/1%00" as 1), so the
 * connection is marked and the request refused with 400. Malformed escapes stay as they are. */
static size_t unescape(void *cls, struct MHD_Connection *c, char *s) {
    char *out = s;
    (void)cls;
    for (const char *in = s; *in; in++) {
        int hi, lo;
        if (in[0] == '%' && (hi = hex_value(in[1])) >= 0 && (lo = hex_value(in[2])) >= 0) {
            char byte = (char)(hi * 16 + lo);
            if (byte == '\0') {
                ConnState *cs = conn_state(c);
                if (cs) {
                    cs->saw_nul = 1;
                }
                byte = '?';
            }
            *out++ = byte;
            in += 2;
        } else {
            *out++ = *in;
        }
    }
    *out = '\0';
    return (size_t)(out - s);
}

static const char *query_arg(void *ctx, const char *name) {
    return MHD_lookup_connection_value(ctx, MHD_GET_ARGUMENT_KIND, name);
}

static enum MHD_Result send_response(struct MHD_Connection *c, ApiResponse *resp) {
    struct MHD_Response *r = NULL;
    enum MHD_Result ok;
    if (resp->file_path) {
        int fd = open(resp->file_path, O_RDONLY | O_CLOEXEC);
        struct stat sb;
        if (fd >= 0 && fstat(fd, &sb) == 0) {
            r = MHD_create_response_from_fd((uint64_t)sb.st_size, fd);
            if (!r) {
                close(fd);
            }
        } else {
            if (fd >= 0) {
                close(fd);
            }
            free(resp->body);
            resp->body = api_problem_body(404, AG_ENOTFOUND, "file vanished", NULL);
            resp->body_len = resp->body ? strlen(resp->body) : 0;
            resp->status = 404;
            resp->content_type = "application/problem+json";
            resp->header[0] = '\0';
        }
    }
    if (!r) {
        r = MHD_create_response_from_buffer(resp->body_len, resp->body ? resp->body : (void *)"",
                                            resp->body ? MHD_RESPMEM_MUST_FREE
                                                       : MHD_RESPMEM_PERSISTENT);
        if (r) {
            resp->body = NULL; /* MHD frees it */
        }
    }
    if (!r) {
        return MHD_NO;
    }
    if (resp->content_type) {
        MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, resp->content_type);
    }
    MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
    /* an answer with a validator may be kept by the client, which asks again each time with
     * If-None-Match (304 while it is current); the others are not kept anywhere */
    if (resp->etag[0]) {
        MHD_add_response_header(r, MHD_HTTP_HEADER_ETAG, resp->etag);
        MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "private, no-cache");
        /* a kept answer is reused only under the token it was given to */
        MHD_add_response_header(r, MHD_HTTP_HEADER_VARY, "Authorization");
    } else {
        MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    }
    if (resp->header[0]) {
        char *colon = strchr(resp->header, ':');
        if (colon) {
            *colon = '\0';
            MHD_add_response_header(r, resp->header, colon + 1 + (colon[1] == ' '));
        }
    }
    ok = MHD_queue_response(c, (unsigned)resp->status, r);
    MHD_destroy_response(r);
    return ok;
}

static enum MHD_Result send_problem(Api *api, struct MHD_Connection *c, int status, int code,
                                    const char *detail) {
    ApiResponse resp;
    memset(&resp, 0, sizeof(resp));
    resp.status = status;
    resp.content_type = "application/problem+json";
    resp.body = api_problem_body(status, code, detail, NULL);
    resp.body_len = resp.body ? strlen(resp.body) : 0;
    api_note_request(api, status);
    return send_response(c, &resp);
}

/* set on an HTTP thread once it has been niced */
static _Thread_local int thread_niced;

/* once per HTTP thread, on its first request: on busy cores the ingesting thread and the
 * trainings then get their share before the readers. A failure leaves the thread as it was:
 * slower ingestion, no wrong answer. */
static void nice_this_thread(int delta) {
    int rc;
    if (thread_niced) {
        return;
    }
    thread_niced = 1;
    rc = ag_thread_nice_add(delta);
    if (rc) {
        ag_log_warn("http: cannot raise a thread's nice value: %s", strerror(rc));
    }
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version, const char *upload,
                                  size_t *upload_size, void **con_cls) {
    Api *api = cls;
    const ApiConfig *cfg = &api->cfg;
    ReqState *rs = *con_cls;
    ApiRequest req;
    ApiResponse resp;
    enum MHD_Result ok;
    (void)version;
    nice_this_thread(cfg->threads_nice);
    if (!rs) {
        const char *cl =
            MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
        rs = calloc(1, sizeof(*rs));
        if (!rs || ag_buf_init(&rs->body, 0, cfg->max_body) != 0) {
            free(rs);
            return MHD_NO;
        }
        *con_cls = rs;
        /* refuse a declared oversize body before reading it */
        if (cl && strtoull(cl, NULL, 10) > cfg->max_body) {
            rs->too_big = 1;
            return send_problem(api, c, 413, AG_ETOOBIG, "request bodies are limited to 1 MiB");
        }
        return MHD_YES;
    }
    if (*upload_size > 0) {
        if (!rs->too_big && ag_buf_append(&rs->body, upload, *upload_size) != 0) {
            rs->too_big = 1;
        }
        *upload_size = 0;
        return MHD_YES;
    }
    if (rs->too_big) {
        return send_problem(api, c, 413, AG_ETOOBIG, "request bodies are limited to 1 MiB");
    }
    ConnState *cs = conn_state(c);
    if (cs && cs->saw_nul) {
        return send_problem(api, c, 400, AG_EINVAL,
                            "a NUL byte (%00) in the path or a query parameter");
    }
    memset(&req, 0, sizeof(req));
    req.method = method;
    req.path = url;
    req.authorization =
        MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
    req.if_none_match =
        MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_IF_NONE_MATCH);
    req.body = rs->body.data;
    req.body_len = rs->body.len;
    req.arg = query_arg;
    req.arg_ctx = c;
    api_handle(api, &req, &resp);
    ag_log_debug("http: %s %s -> %d", method, url, resp.status);
    ok = send_response(c, &resp);
    api_response_free(&resp);
    return ok;
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode toe) {
    ReqState *rs = *con_cls;
    (void)cls;
    (void)c;
    (void)toe;
    if (rs) {
        ag_buf_free(&rs->body);
        free(rs);
    }
    *con_cls = NULL;
    /* the next request on this connection starts clean */
    ConnState *cs = conn_state(c);
    if (cs) {
        cs->saw_nul = 0;
    }
}

static void on_mhd_log(void *cls, const char *fmt, va_list ap) {
    char msg[512];
    size_t n;
    (void)cls;
    vsnprintf(msg, sizeof(msg), fmt, ap);
    n = strlen(msg);
    while (n > 0 && msg[n - 1] == '\n') {
        msg[--n] = '\0';
    }
    ag_log_warn("http: %s", msg);
}

int api_listen(Api *api, char *err, size_t err_sz) {
    const ApiConfig *cfg = &api->cfg;
    ApiHttp *h;
    struct sockaddr_in a4;
    struct sockaddr_in6 a6;
    struct sockaddr *sa;
    unsigned flags =
        MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG | MHD_USE_ITC | MHD_USE_AUTO;
    const union MHD_DaemonInfo *info;
    if (api->http) {
        return ag_errorf(err, err_sz, AG_ESTATE, "already listening");
    }
    memset(&a4, 0, sizeof(a4));
    memset(&a6, 0, sizeof(a6));
    if (inet_pton(AF_INET, cfg->bind_addr, &a4.sin_addr) == 1) {
        a4.sin_family = AF_INET;
        a4.sin_port = htons((uint16_t)cfg->port);
        sa = (struct sockaddr *)&a4;
    } else if (inet_pton(AF_INET6, cfg->bind_addr, &a6.sin6_addr) == 1) {
        a6.sin6_family = AF_INET6;
        a6.sin6_port = htons((uint16_t)cfg->port);
        sa = (struct sockaddr *)&a6;
        flags |= MHD_USE_IPv6;
    } else {
        return ag_errorf(err, err_sz, AG_EINVAL, "bind address %s is not a numeric IP address",
                         cfg->bind_addr);
    }
    if (cfg->port < 0 || cfg->port > 65535) {
        return ag_errorf(err, err_sz, AG_ERANGE, "port %d out of range", cfg->port);
    }
    h = calloc(1, sizeof(*h));
    if (!h) {
        return ag_errorf(err, err_sz, AG_ENOMEM, "out of memory");
    }
    h->quiesced = MHD_INVALID_SOCKET;
    h->daemon = MHD_start_daemon(flags, (uint16_t)cfg->port, NULL, NULL, on_request, api,
                                 MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, NULL, MHD_OPTION_SOCK_ADDR,
                                 sa, MHD_OPTION_CONNECTION_LIMIT, (unsigned)cfg->max_connections,
                                 MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)cfg->connection_timeout_s,
                                 MHD_OPTION_NOTIFY_COMPLETED, on_completed, api,
                                 MHD_OPTION_NOTIFY_CONNECTION, on_connection, NULL,
                                 MHD_OPTION_UNESCAPE_CALLBACK, unescape, NULL,
                                 /* one thread needs no pool */
                                 cfg->threads > 1 ? MHD_OPTION_THREAD_POOL_SIZE : MHD_OPTION_END,
                                 (unsigned)cfg->threads, MHD_OPTION_END);
    if (!h->daemon) {
        free(h);
        return ag_errorf(err, err_sz, AG_EIO, "cannot listen on %s:%d (address in use?)",
                         cfg->bind_addr, cfg->port);
    }
    info = MHD_get_daemon_info(h->daemon, MHD_DAEMON_INFO_BIND_PORT);
    h->port = info ? info->port : cfg->port;
    api->http = h;
    return 0;
}

int api_port(const Api *api) {
    const ApiHttp *h = api->http;
    return h ? h->port : 0;
}

void api_quiesce(Api *api) {
    ApiHttp *h = api->http;
    if (h && h->daemon) {
        MHD_socket s = MHD_quiesce_daemon(h->daemon);
        /* MHD's polling thread may still remove the socket from its epoll set: closing it now
         * made that fail and MHD abort ("Failed to remove listen FD from epoll set"). shutdown()
         * refuses new connections at once and keeps the descriptor valid until MHD has stopped. */
        if (s != MHD_INVALID_SOCKET) {
            shutdown(s, SHUT_RDWR);
            h->quiesced = s;
        }
    }
}

void api_stop(Api *api) {
    api_http_destroy(api);
}

void api_http_destroy(Api *api) {
    ApiHttp *h = api->http;
    if (!h) {
        return;
    }
    if (h->daemon) {
        MHD_stop_daemon(h->daemon);
    }
    if (h->quiesced != MHD_INVALID_SOCKET) {
        close(h->quiesced);
    }
    free(h);
    api->http = NULL;
}
