/* angoractl's client of angorad's websocket stream (libwebsockets): one connection, one
 * subscription with since_seq, rows and state changes handed to callbacks as they arrive.
 * Serviced on the caller's thread; a tick callback lets the caller redraw and give up. */
#include "ctl.h"

#include "ag_buf.h"
#include "ag_error.h"
#include "ag_time.h"

#include <libwebsockets.h>
#include <stdio.h>
#include <string.h>

#define WS_MSG_MAX        (16u << 20)
#define WS_CONNECT_WAIT_S 10.0
#define WS_PROTOCOL       "angora-stream"
#define WS_PATH           "/api/v1/stream"

typedef struct WsConn {
    const CtlConfig *cfg;
    const CtlWsHandlers *h;
    void *ud;
    int64_t exp_id;
    int64_t since_seq;
    struct lws *wsi;
    int state; /* 0 connecting, 1 open, 2 closed, -1 failed */
    int subscribed_sent;
    int final; /* the run has ended */
    int live;  /* the backlog has been sent */
    int stop;
    int rc;
    int close_code;
    AgBuf rx;
    char err[512];
    struct lws_context *ctx;
    lws_sorted_usec_list_t sul; /* wakes the service loop */
} WsConn;

#define WS_WAKE_US (50 * LWS_US_PER_MS)

/* lws_service waits for the next event; this timer makes one every 50 ms so the loop can tick */
static void ws_wake(lws_sorted_usec_list_t *sul) {
    WsConn *c = lws_container_of(sul, WsConn, sul);
    lws_sul_schedule(c->ctx, 0, &c->sul, ws_wake, WS_WAKE_US);
}

static void ws_fail(WsConn *c, int rc, const char *fmt, const char *detail) {
    if (c->rc) {
        return;
    }
    c->rc = rc;
    snprintf(c->err, sizeof(c->err), fmt, detail ? detail : "");
    c->stop = 1;
}

static void ws_message(WsConn *c, const char *text, size_t len) {
    json_t *m = json_loadb(text, len, 0, NULL);
    const char *type = json_string_value(json_object_get(m, "type"));
    int64_t exp = json_integer_value(json_object_get(m, "exp"));
    if (!type) {
        ws_fail(c, AG_EPROTOCOL, "websocket: a message without a type%s", NULL);
    } else if (!strcmp(type, "row") && exp == c->exp_id) {
        json_t *row = json_object_get(m, "row");
        int64_t seq = json_integer_value(json_object_get(m, "seq"));
        /* rows come in seq order; an old one would be a duplicate */
        if (seq > c->since_seq && json_is_object(row)) {
            c->since_seq = seq;
            c->h->on_row(c->ud, seq, row);
        }
    } else if ((!strcmp(type, "state") || !strcmp(type, "subscribed")) && exp == c->exp_id) {
        const char *st = json_string_value(json_object_get(m, "state"));
        if (st) {
            c->final = c->h->on_state(c->ud, st);
        }
    } else if (!strcmp(type, "live") && exp == c->exp_id) {
        c->live = 1;
    } else if (!strcmp(type, "resync") && exp == c->exp_id) {
        c->since_seq = 0;
        if (c->h->on_resync) {
            c->h->on_resync(c->ud);
        }
    } else if (!strcmp(type, "error")) {
        const char *code = json_string_value(json_object_get(m, "code"));
        const char *msg = json_string_value(json_object_get(m, "message"));
        char detail[400];
        snprintf(detail, sizeof(detail), "%s (%s)", msg ? msg : "?", code ? code : "?");
        ws_fail(c, code && !strcmp(code, "AG_ENOTFOUND") ? AG_ENOTFOUND : AG_EPROTOCOL,
                "websocket: %s", detail);
    }
    json_decref(m);
    /* an ended run is done once its backlog has arrived */
    if (c->final && c->live) {
        c->stop = 1;
    }
}

static int ws_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                       size_t len) {
    WsConn *c = user;
    switch (reason) {
    case LWS_CALLBACK_CLIENT_APPEND_HANDSHAKE_HEADER: {
        unsigned char **p = in, *end = *p + len;
        char auth[CTL_TOKEN_MAX + 16];
        if (!c->cfg->token[0]) {
            return 0;
        }
        snprintf(auth, sizeof(auth), "Bearer %s", c->cfg->token);
        return lws_add_http_header_by_token(wsi, WSI_TOKEN_HTTP_AUTHORIZATION,
                                            (const unsigned char *)auth, (int)strlen(auth), p, end)
                   ? -1
                   : 0;
    }
    case LWS_CALLBACK_CLIENT_ESTABLISHED:
        c->state = 1;
        lws_callback_on_writable(wsi);
        return 0;
    case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
        c->state = -1;
        c->wsi = NULL;
        ws_fail(c, AG_EIO, "websocket: cannot connect: %s",
                in && len ? (const char *)in : "connection failed");
        return 0;
    case LWS_CALLBACK_WS_PEER_INITIATED_CLOSE:
        if (len >= 2) {
            c->close_code = ((const unsigned char *)in)[0] << 8 | ((const unsigned char *)in)[1];
        }
        return 0;
    case LWS_CALLBACK_CLIENT_CLOSED:
        c->state = 2;
        c->wsi = NULL;
        if (!c->stop) {
            char code[32];
            snprintf(code, sizeof(code), "%d", c->close_code);
            ws_fail(c, AG_EIO, "websocket: closed by the server (code %s)", code);
        }
        return 0;
    case LWS_CALLBACK_CLIENT_RECEIVE:
        if (ag_buf_append(&c->rx, in, len) != 0) {
            ws_fail(c, AG_ETOOBIG, "websocket: a message larger than 16 MiB%s", NULL);
            return -1;
        }
        if (lws_is_final_fragment(wsi) && !lws_remaining_packet_payload(wsi)) {
            ws_message(c, c->rx.data, c->rx.len);
            ag_buf_reset(&c->rx);
        }
        return 0;
    case LWS_CALLBACK_CLIENT_WRITEABLE: {
        unsigned char buf[LWS_PRE + 256];
        int n;
        if (c->stop) {
            lws_close_reason(wsi, LWS_CLOSE_STATUS_NORMAL, NULL, 0);
            return -1;
        }
        if (c->subscribed_sent) {
            return 0;
        }
        n = snprintf((char *)buf + LWS_PRE, sizeof(buf) - LWS_PRE,
                     "{\"type\":\"subscribe\",\"experiments\":[{\"id\":%lld,\"since_seq\":%lld}]}",
                     (long long)c->exp_id, (long long)c->since_seq);
        c->subscribed_sent = 1;
        if (lws_write(wsi, buf + LWS_PRE, (size_t)n, LWS_WRITE_TEXT) < n) {
            return -1;
        }
        return 0;
    }
    default:
        return 0;
    }
}

/* host of "http://host:port"; IPv6 brackets removed */
static int url_host(const char *url, char *host, size_t host_sz, char *err, size_t err_sz) {
    const char *h, *end;
    size_t n;
    if (strncmp(url, "http://", 7) != 0) {
        return ag_errorf(err, err_sz, AG_EUNSUPPORTED,
                         "websocket: only plain http addresses are supported");
    }
    h = url + 7;
    if (*h == '[') {
        h++;
        end = strchr(h, ']');
    } else {
        end = h + strcspn(h, ":/");
    }
    n = end ? (size_t)(end - h) : 0;
    if (n == 0 || n >= host_sz) {
        return ag_errorf(err, err_sz, AG_EINVAL, "websocket: no host in %s", url);
    }
    memcpy(host, h, n);
    host[n] = '\0';
    return 0;
}

int ctl_ws_follow(const CtlConfig *cfg, int port, int64_t exp_id, int64_t since_seq,
                  const CtlWsHandlers *h, void *ud, double tick_s, char *err, size_t err_sz) {
    static const struct lws_protocols protocols[] = {
        {WS_PROTOCOL, ws_callback, 0, 65536, 0, NULL, 0}, {NULL, NULL, 0, 0, 0, NULL, 0}};
    struct lws_context_creation_info info;
    struct lws_client_connect_info ci;
    struct lws_context *ctx = NULL;
    char host[256];
    WsConn c;
    double t0 = ag_time_now(), next_tick;
    int rc;
    if (port <= 0 || port > 65535) {
        return ag_errorf(err, err_sz, AG_EINVAL, "websocket: bad port %d", port);
    }
    rc = url_host(cfg->url, host, sizeof(host), err, err_sz);
    if (rc) {
        return rc;
    }
    memset(&c, 0, sizeof(c));
    c.cfg = cfg;
    c.h = h;
    c.ud = ud;
    c.exp_id = exp_id;
    c.since_seq = since_seq;
    if (ag_buf_init(&c.rx, 0, WS_MSG_MAX) != 0) {
        return ag_errorf(err, err_sz, AG_ENOMEM, "out of memory");
    }
    lws_set_log_level(0, NULL);
    memset(&info, 0, sizeof(info));
    info.port = CONTEXT_PORT_NO_LISTEN;
    info.protocols = protocols;
    info.fd_limit_per_thread = 16;
    ctx = lws_create_context(&info);
    if (!ctx) {
        rc = ag_errorf(err, err_sz, AG_ENOMEM, "websocket: cannot create a context");
        goto out;
    }
    c.ctx = ctx;
    lws_sul_schedule(ctx, 0, &c.sul, ws_wake, WS_WAKE_US);
    memset(&ci, 0, sizeof(ci));
    ci.context = ctx;
    ci.address = host;
    ci.port = port;
    ci.path = WS_PATH;
    ci.host = host;
    ci.origin = host;
    ci.protocol = WS_PROTOCOL;
    ci.userdata = &c;
    ci.pwsi = &c.wsi;
    if (!lws_client_connect_via_info(&ci) && !c.rc) {
        ws_fail(&c, AG_EIO, "websocket: cannot connect to %s", host);
    }
    next_tick = ag_time_now() + tick_s;
    while (!c.stop) {
        lws_service(ctx, 0);
        if (c.state == 0 && ag_time_now() - t0 > WS_CONNECT_WAIT_S) {
            ws_fail(&c, AG_ETIMEOUT, "websocket: no connection after 10 s%s", NULL);
        }
        if (!c.stop && ag_time_now() >= next_tick) {
            next_tick = ag_time_now() + tick_s;
            if (h->on_tick && h->on_tick(ud)) {
                c.stop = 1;
            }
        }
    }
    /* a clean close when we end it ourselves */
    if (c.wsi && c.state == 1) {
        double t1 = ag_time_now();
        lws_callback_on_writable(c.wsi);
        while (c.wsi && ag_time_now() - t1 < 1.0) {
            lws_service(ctx, 0);
        }
    }
    rc = c.rc;
    if (rc) {
        snprintf(err, err_sz, "%s", c.err);
    }
out:
    if (ctx) {
        lws_sul_cancel(&c.sul);
        lws_context_destroy(ctx);
    }
    ag_buf_free(&c.rx);
    return rc;
}
