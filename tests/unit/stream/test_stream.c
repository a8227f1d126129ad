/* Tests of server/stream/stream.c, driven by libwebsockets clients on loopback: rows exactly
 * once and in order, reconnect with since_seq (backlog from the store), resync, a full publish
 * queue healing from the store, tokens refused at the upgrade, malformed and oversized
 * messages, keepalive pings and hang-up, and (tag "integration") 200 subscribers with one
 * stalled client closed with 4008. */
#include "stream_test_util.h"

#include "ag_error.h"
#include "ag_fs.h"
#include "ag_time.h"

#include <arpa/inet.h>
#include <check.h>
#include <dirent.h>
#include <jansson.h>
#include <libwebsockets.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* ---- tests ---- */

/* subscribed before the run starts: every row once, in order, then the final state */
START_TEST(test_rows_in_order) {
    StreamConfig cfg = small_config();
    Stream *s = server_start(&cfg);
    int64_t exp = exp_new();
    StreamStats st;
    Tc *c;
    clients_start(stream_port(s));
    c = tc_subscribed(exp, 0, TC_AUTH_HEADER);
    ck_assert_int_eq(store_run_started(store, exp, 4242, 1, 1, err, sizeof(err)), 0);
    stream_publish_state(s, exp, "running", NULL);
    for (int i = 0; i < 30; i++) {
        rows_add(s, exp, 10, 40);
    }
    ck_assert_int_eq(store_run_set_state(store, exp, "succeeded", NULL, err, sizeof(err)), 0);
    stream_publish_state(s, exp, "succeeded", "finished");
    ck_assert(tc_wait(c, has_seq, exp_seq(exp, 300), 20));
    ck_assert(tc_wait(c, has_state, exp, 5));
    pthread_mutex_lock(&tmu);
    ck_assert_int_eq(c->rows[exp], 300);
    ck_assert_int_eq(c->last_seq[exp], 300);
    ck_assert_int_eq(c->bad_order, 0);
    ck_assert_int_eq(c->errors, 0);
    pthread_mutex_unlock(&tmu);
    ag_time_sleep(0.1); /* nothing more may come */
    pthread_mutex_lock(&tmu);
    ck_assert_int_eq(c->total_rows, 300);
    pthread_mutex_unlock(&tmu);
    stream_stats_get(s, &st);
    ck_assert_uint_eq(st.rows_published, 300);
    ck_assert_uint_eq(st.clients, 1);
    ck_assert_uint_eq(st.slow_closed, 0);
    clients_stop();
    stream_destroy(s);
}
END_TEST

/* disconnect mid-run, reconnect with the last seq: the backlog fills the gap exactly */
START_TEST(test_reconnect_since_seq) {
    StreamConfig cfg = small_config();
    Stream *s = server_start(&cfg);
    int64_t exp = exp_new(), seen;
    int first_rows;
    Tc *a, *b;
    StreamStats st;
    clients_start(stream_port(s));
    a = tc_subscribed(exp, 0, TC_AUTH_QUERY);
    for (int i = 0; i < 10; i++) {
        rows_add(s, exp, 10, 40);
    }
    ck_assert(tc_wait(a, has_seq, exp_seq(exp, 40), 10));
    tc_close(a);
    ck_assert(tc_wait(a, is_done, 0, 10));
    pthread_mutex_lock(&tmu);
    seen = a->last_seq[exp];
    first_rows = a->rows[exp];
    ck_assert_int_eq(a->bad_order, 0);
    pthread_mutex_unlock(&tmu);
    ck_assert_int_eq(first_rows, seen);
    /* the run goes on while nobody listens */
    for (int i = 0; i < 10; i++) {
        rows_add(s, exp, 10, 40);
    }
    b = tc_connect(TC_AUTH_HEADER);
    ck_assert(tc_wait(b, is_open, 0, 10));
    {
        char msg[200];
        snprintf(msg, sizeof(msg),
                 "{\"type\":\"subscribe\",\"experiments\":[{\"id\":%lld,\"since_seq\":%lld}]}",
                 (long long)exp, (long long)seen);
        pthread_mutex_lock(&tmu);
        b->last_seq[exp] = seen;
        pthread_mutex_unlock(&tmu);
        tc_send(b, msg);
    }
    /* rows keep coming during the backlog read */
    for (int i = 0; i < 10; i++) {
        rows_add(s, exp, 10, 40);
    }
    ck_assert(tc_wait(b, has_seq, exp_seq(exp, 300), 20));
    ag_time_sleep(0.1);
    pthread_mutex_lock(&tmu);
    ck_assert_int_eq(b->bad_order, 0);
    ck_assert_int_eq(first_rows + b->rows[exp], 300);
    ck_assert_int_eq(b->live[exp], 1);
    pthread_mutex_unlock(&tmu);
    stream_stats_get(s, &st);
    ck_assert_uint_ge(st.backlog_rows, (uint64_t)(200 - seen));
    clients_stop();
    stream_destroy(s);
}
END_TEST

/* since_seq ahead of the store: resync, then the whole series; -1: only new rows */
START_TEST(test_resync_and_live_only) {
    StreamConfig cfg = small_config();
    Stream *s = server_start(&cfg);
    int64_t exp = exp_new();
    Tc *a, *b;
    clients_start(stream_port(s));
    rows_add(s, exp, 50, 20);
    a = tc_connect(TC_AUTH_HEADER);
    ck_assert(tc_wait(a, is_open, 0, 10));
    ck_assert_int_eq(exp, 1);
    tc_send(a, "{\"type\":\"subscribe\",\"experiments\":[{\"id\":1,\"since_seq\":999}]}");
    ck_assert(tc_wait(a, has_seq, exp_seq(exp, 50), 10));
    b = tc_subscribed(exp, -1, TC_AUTH_HEADER);
    pthread_mutex_lock(&tmu);
    ck_assert_int_eq(a->resyncs, 1);
    ck_assert_int_eq(a->rows[exp], 50);
    ck_assert_int_eq(a->bad_order, 0);
    ck_assert_int_eq(b->rows[exp], 0);
    b->last_seq[exp] = 50;
    pthread_mutex_unlock(&tmu);
    rows_add(s, exp, 5, 20);
    ck_assert(tc_wait(b, has_seq, exp_seq(exp, 55), 10));
    ck_assert(tc_wait(a, has_seq, exp_seq(exp, 55), 10));
    pthread_mutex_lock(&tmu);
    ck_assert_int_eq(b->rows[exp], 5);
    ck_assert_int_eq(b->bad_order, 0);
    ck_assert_int_eq(a->rows[exp], 55);
    pthread_mutex_unlock(&tmu);
    clients_stop();
    stream_destroy(s);
}
END_TEST

/* "all" follows every experiment and its state changes; unsubscribing stops it; a server
 * shutting down closes with 1001 */
static int rows_at_least2(const Tc *c, int64_t a) {
    return c->rows[a >> 32] >= (a & 0xffffffff);
}

START_TEST(test_subscribe_all_unsubscribe_shutdown) {
    StreamConfig cfg = small_config();
    Stream *s = server_start(&cfg);
    int64_t e1 = exp_new(), e2 = exp_new();
    Tc *c;
    clients_start(stream_port(s));
    rows_add(s, e1, 5, 10); /* before subscribing: not sent to an "all" subscriber */
    c = tc_connect(TC_AUTH_HEADER);
    ck_assert(tc_wait(c, is_open, 0, 10));
    tc_send(c, "{\"type\":\"subscribe\",\"all\":true}");
    ck_assert(tc_wait(c, has_subscribed, 1, 5));
    pthread_mutex_lock(&tmu);
    c->last_seq[e1] = 5; /* "all" starts with the rows published from now on */
    pthread_mutex_unlock(&tmu);
    rows_add(s, e1, 7, 10);
    rows_add(s, e2, 9, 10);
    ck_assert(tc_wait(c, rows_at_least2, exp_seq(e1, 7), 10));
    ck_assert(tc_wait(c, rows_at_least2, exp_seq(e2, 9), 10));
    ck_assert_int_eq(store_run_set_state(store, e2, "succeeded", NULL, err, sizeof(err)), 0);
    stream_publish_state(s, e2, "succeeded", "done");
    ck_assert(tc_wait(c, has_state, e2, 5));
    pthread_mutex_lock(&tmu);
    ck_assert_int_eq(c->rows[e1], 7);
    ck_assert_int_eq(c->last_seq[e1], 12);
    ck_assert_int_eq(c->last_seq[e2], 9);
    pthread_mutex_unlock(&tmu);
    tc_send(c, "{\"type\":\"unsubscribe\",\"all\":true}");
    tc_send(c, "{\"type\":\"ping\"}");
    ck_assert(tc_wait(c, has_pongs, 1, 5));
    rows_add(s, e1, 3, 10);
    tc_send(c, "{\"type\":\"ping\"}");
    ck_assert(tc_wait(c, has_pongs, 2, 5));
    ag_time_sleep(0.05);
    pthread_mutex_lock(&tmu);
    ck_assert_int_eq(c->rows[e1], 7);
    ck_assert_int_eq(c->bad_order, 0);
    pthread_mutex_unlock(&tmu);
    stream_destroy(s);
    ck_assert(tc_wait(c, is_done, 0, 5));
    ck_assert_int_eq(c->close_code, STREAM_CLOSE_GOING_AWAY);
    clients_stop();
}
END_TEST

/* a stored row that was never published (the ingest ring may skip one) comes from the store */
START_TEST(test_gap_filled_from_store) {
    StreamConfig cfg = small_config();
    Stream *s = server_start(&cfg);
    int64_t exp = exp_new();
    StreamStats st;
    Tc *c;
    clients_start(stream_port(s));
    c = tc_subscribed(exp, 0, TC_AUTH_HEADER);
    skip_seq = 5;
    rows_add(s, exp, 10, 20);
    ck_assert(tc_wait(c, has_seq, exp_seq(exp, 10), 10));
    ag_time_sleep(0.05);
    pthread_mutex_lock(&tmu);
    ck_assert_int_eq(c->rows[exp], 10);
    ck_assert_int_eq(c->bad_order, 0);
    pthread_mutex_unlock(&tmu);
    stream_stats_get(s, &st);
    ck_assert_uint_eq(st.queue_overflows, 0);
    ck_assert_uint_ge(st.backlog_rows, 1);
    clients_stop();
    stream_destroy(s);
}
END_TEST

/* a publish queue too small to hold a burst: publishers never block and subscribers still get
 * every row once, from the store */
START_TEST(test_queue_overflow_heals) {
    StreamConfig cfg = small_config();
    Stream *s;
    int64_t exp = exp_new();
    StreamStats st;
    Tc *c;
    cfg.queue_bytes = 4096;
    s = server_start(&cfg);
    clients_start(stream_port(s));
    c = tc_subscribed(exp, 0, TC_AUTH_HEADER);
    for (int i = 0; i < 40; i++) {
        rows_add(s, exp, 50, 200);
    }
    ck_assert(tc_wait(c, has_seq, exp_seq(exp, 2000), 30));
    ag_time_sleep(0.1);
    stream_stats_get(s, &st);
    ck_assert_uint_gt(st.queue_overflows, 0);
    ck_assert_uint_gt(st.backlog_rows, 0);
    pthread_mutex_lock(&tmu);
    ck_assert_int_eq(c->rows[exp], 2000);
    ck_assert_int_eq(c->bad_order, 0);
    pthread_mutex_unlock(&tmu);
    clients_stop();
    stream_destroy(s);
}
END_TEST

/* the upgrade needs a live token, from the header or the query */
START_TEST(test_token_required) {
    StreamConfig cfg = small_config();
    Stream *s = server_start(&cfg);
    StreamStats st;
    Tc *none, *bad, *q, *h;
    int64_t id = 0;
    char hash[65];
    clients_start(stream_port(s));
    none = tc_connect(TC_AUTH_NONE);
    bad = tc_connect(TC_AUTH_BAD);
    q = tc_connect(TC_AUTH_QUERY);
    h = tc_connect(TC_AUTH_HEADER);
    ck_assert(tc_wait(none, is_done, 0, 10));
    ck_assert(tc_wait(bad, is_done, 0, 10));
    ck_assert(tc_wait(q, is_open, 0, 10));
    ck_assert(tc_wait(h, is_open, 0, 10));
    pthread_mutex_lock(&tmu);
    ck_assert_int_eq(none->state, -1);
    ck_assert_int_eq(bad->state, -1);
    ck_assert_int_eq(none->hello + bad->hello, 0);
    pthread_mutex_unlock(&tmu);
    /* a revoked token no longer opens a stream */
    hash_hex(BAD_TOKEN, hash);
    ck_assert_int_eq(store_token_add(store, hash, "full", "later", &id, err, sizeof(err)), 0);
    bad = tc_connect(TC_AUTH_BAD);
    ck_assert(tc_wait(bad, is_open, 0, 10));
    ck_assert_int_eq(store_token_revoke(store, id, err, sizeof(err)), 0);
    bad = tc_connect(TC_AUTH_BAD);
    ck_assert(tc_wait(bad, is_done, 0, 10));
    ck_assert_int_eq(bad->state, -1);
    /* plain HTTP on the stream port is answered with 400 */
    {
        struct sockaddr_in a = {0};
        char resp[512] = "";
        const char *req = "GET /api/v1/stream HTTP/1.1\r\nHost: x\r\n\r\n";
        int fd = socket(AF_INET, SOCK_STREAM, 0);
        a.sin_family = AF_INET;
        a.sin_port = htons((uint16_t)stream_port(s));
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        ck_assert_int_eq(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
        ck_assert_int_eq(write(fd, req, strlen(req)), (ssize_t)strlen(req));
        ck_assert_int_gt(read(fd, resp, sizeof(resp) - 1), 0);
        ck_assert_msg(strstr(resp, " 400 ") != NULL, "%s", resp);
        close(fd);
    }
    stream_stats_get(s, &st);
    ck_assert_uint_eq(st.refused, 3);
    ck_assert_uint_eq(st.accepted, 3);
    clients_stop();
    stream_destroy(s);
}
END_TEST

/* connections over max_clients are refused at the upgrade; a freed slot is usable again */
START_TEST(test_client_limit) {
    StreamConfig cfg = small_config();
    Stream *s;
    StreamStats st;
    Tc *a, *b, *c, *d;
    cfg.max_clients = 2;
    s = server_start(&cfg);
    clients_start(stream_port(s));
    a = tc_connect(TC_AUTH_HEADER);
    b = tc_connect(TC_AUTH_HEADER);
    ck_assert(tc_wait(a, is_open, 0, 10));
    ck_assert(tc_wait(b, is_open, 0, 10));
    c = tc_connect(TC_AUTH_HEADER);
    ck_assert(tc_wait(c, is_done, 0, 10));
    ck_assert_int_eq(c->state, -1);
    tc_close(a);
    ck_assert(tc_wait(a, is_done, 0, 10));
    for (int i = 0; i < 200; i++) {
        stream_stats_get(s, &st);
        if (st.clients == 1) {
            break;
        }
        ag_time_sleep(0.01);
    }
    d = tc_connect(TC_AUTH_HEADER);
    ck_assert(tc_wait(d, is_open, 0, 10));
    stream_stats_get(s, &st);
    ck_assert_uint_eq(st.clients, 2);
    ck_assert_uint_eq(st.accepted, 3);
    ck_assert_uint_eq(st.refused, 1);
    clients_stop();
    stream_destroy(s);
}
END_TEST

/* malformed messages get errors and the connection lives on; an oversized one closes it */
START_TEST(test_malformed_messages) {
    StreamConfig cfg = small_config();
    Stream *s;
    StreamStats st;
    Tc *c;
    char big[9000];
    int64_t exp;
    static const struct {
        const char *msg;
        const char *code;
    } cases[] = {
        {"not json", "AG_EJSON"},
        {"[1,2]", "AG_EPROTOCOL"},
        {"{\"type\":42}", "AG_EPROTOCOL"},
        {"{\"type\":\"launch\"}", "AG_EPROTOCOL"},
        {"{\"type\":\"subscribe\"}", "AG_EINVAL"},
        {"{\"type\":\"subscribe\",\"experiments\":{}}", "AG_EINVAL"},
        {"{\"type\":\"subscribe\",\"experiments\":[{\"id\":\"x\"}]}", "AG_EINVAL"},
        {"{\"type\":\"subscribe\",\"experiments\":[{\"id\":-3}]}", "AG_EINVAL"},
        {"{\"type\":\"subscribe\",\"experiments\":[{\"id\":1,\"since_seq\":-7}]}", "AG_EINVAL"},
        {"{\"type\":\"subscribe\",\"experiments\":[{\"id\":1,\"since_seq\":1.5}]}", "AG_EINVAL"},
        {"{\"type\":\"subscribe\",\"experiments\":[{\"id\":77}]}", "AG_ENOTFOUND"},
        {"{\"type\":\"subscribe\",\"all\":\"yes\"}", "AG_EINVAL"},
        {"{\"type\":\"unsubscribe\",\"experiments\":[\"a\"]}", "AG_EINVAL"},
    };
    cfg.max_msg_bytes = 4096;
    s = server_start(&cfg);
    exp = exp_new();
    clients_start(stream_port(s));
    c = tc_connect(TC_AUTH_HEADER);
    ck_assert(tc_wait(c, is_open, 0, 10));
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        tc_send(c, cases[i].msg);
        ck_assert_msg(tc_wait(c, has_errors, (int64_t)i + 1, 5), "no error for %s", cases[i].msg);
        pthread_mutex_lock(&tmu);
        ck_assert_msg(!strcmp(c->last_error, cases[i].code), "%s: %s, expected %s", cases[i].msg,
                      c->last_error, cases[i].code);
        pthread_mutex_unlock(&tmu);
    }
    tc_send_kind(c, "{\"type\":\"ping\"}", 1);
    ck_assert(tc_wait(c, has_errors, 14, 5));
    ck_assert_str_eq(c->last_error, "AG_EUNSUPPORTED");
    /* still usable */
    tc_send(c, "{\"type\":\"ping\"}");
    ck_assert(tc_wait(c, has_pongs, 1, 5));
    rows_add(s, exp, 3, 10);
    tc_send(c, "{\"type\":\"subscribe\",\"experiments\":[{\"id\":1}]}");
    ck_assert(tc_wait(c, has_seq, exp_seq(exp, 3), 5));
    /* over max_msg_bytes: closed with 1009 */
    memset(big, ' ', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    big[0] = '{';
    big[sizeof(big) - 2] = '}';
    tc_send(c, big);
    ck_assert(tc_wait(c, is_done, 0, 10));
    ck_assert_int_eq(c->close_code, STREAM_CLOSE_TOO_BIG);
    stream_stats_get(s, &st);
    /* all but the unknown experiment, plus the binary and the oversized message */
    ck_assert_uint_eq(st.bad_messages, 12 + 1 + 1);
    clients_stop();
    stream_destroy(s);
}
END_TEST

static int errors_or_done(const Tc *c, int64_t n) {
    return c->errors >= n || is_done(c, 0);
}

/* repeated garbage closes with 1008, invalid UTF-8 with 1007 */
START_TEST(test_abusive_clients_closed) {
    StreamConfig cfg = small_config();
    Stream *s = server_start(&cfg);
    Tc *a, *b;
    clients_start(stream_port(s));
    a = tc_connect(TC_AUTH_HEADER);
    b = tc_connect(TC_AUTH_HEADER);
    ck_assert(tc_wait(a, is_open, 0, 10));
    ck_assert(tc_wait(b, is_open, 0, 10));
    for (int i = 0; i < 32; i++) {
        tc_send(a, "{oops");
        ck_assert(tc_wait(a, errors_or_done, i + 1, 5));
    }
    ck_assert(tc_wait(a, is_done, 0, 10));
    ck_assert_int_eq(a->close_code, STREAM_CLOSE_POLICY);
    tc_send(b, "{\"type\":\"\xff\xfe\"}");
    ck_assert(tc_wait(b, is_done, 0, 10));
    ck_assert_int_eq(b->close_code, 1007);
    clients_stop();
    stream_destroy(s);
}
END_TEST

/* a row larger than the whole send buffer is announced, not sent, and the series goes on */
START_TEST(test_row_larger_than_buffer) {
    StreamConfig cfg = small_config();
    Stream *s;
    int64_t exp = exp_new();
    Tc *live, *late;
    cfg.send_buf_bytes = 8192;
    s = server_start(&cfg);
    clients_start(stream_port(s));
    live = tc_subscribed(exp, 0, TC_AUTH_HEADER);
    rows_add(s, exp, 2, 10);
    rows_add(s, exp, 1, 9000);
    rows_add(s, exp, 2, 10);
    ck_assert(tc_wait(live, has_seq, exp_seq(exp, 5), 10));
    late = tc_subscribed(exp, 0, TC_AUTH_QUERY);
    ck_assert(tc_wait(late, has_seq, exp_seq(exp, 5), 10));
    pthread_mutex_lock(&tmu);
    ck_assert_int_eq(live->rows[exp], 4);
    ck_assert_int_eq(late->rows[exp], 4);
    ck_assert_int_eq(live->errors, 1);
    ck_assert_int_eq(late->errors, 1);
    ck_assert_str_eq(live->last_error, "AG_ETOOBIG");
    ck_assert_int_eq(live->state, 1);
    ck_assert_int_eq(late->state, 1);
    pthread_mutex_unlock(&tmu);
    clients_stop();
    stream_destroy(s);
}
END_TEST

START_TEST(test_keepalive_ping_and_hangup) {
    StreamConfig cfg = small_config();
    Stream *s;
    int fd, saw_ping = 0, closed = 0;
    double t0, t_closed = 0;
    unsigned char buf[4096];
    cfg.ping_interval_s = 1;
    s = server_start(&cfg);
    fd = raw_connect(stream_port(s));
    t0 = ag_time_now();
    while (ag_time_now() - t0 < 10) {
        struct pollfd p = {fd, POLLIN, 0};
        ssize_t n;
        if (poll(&p, 1, 100) <= 0) {
            continue;
        }
        n = read(fd, buf, sizeof(buf));
        if (n <= 0) {
            closed = 1;
            t_closed = ag_time_now() - t0;
            break;
        }
        /* server frames are unmasked; look for a ping opcode at frame starts */
        for (ssize_t i = 0; i + 1 < n; i++) {
            if (buf[i] == 0x89 && buf[i + 1] < 126) {
                saw_ping = 1;
            }
        }
    }
    close(fd);
    ck_assert_msg(saw_ping, "no ping on an idle connection");
    ck_assert_msg(closed, "a connection that never answers pings was not closed");
    ck_assert_double_ge(t_closed, 1.0);
    stream_destroy(s);
}
END_TEST

/* bad configurations and a port already taken are refused with a message */
START_TEST(test_create_errors) {
    StreamConfig cfg = small_config();
    Stream *s = NULL, *s2 = NULL;
    ck_assert_int_eq(stream_create(&s, NULL, store, err, sizeof(err)), AG_EINVAL);
    cfg.port = 70000;
    ck_assert_int_eq(stream_create(&s, &cfg, store, err, sizeof(err)), AG_ERANGE);
    cfg.port = 0;
    cfg.send_buf_bytes = 100;
    ck_assert_int_eq(stream_create(&s, &cfg, store, err, sizeof(err)), AG_ERANGE);
    ck_assert_ptr_null(s);
    cfg = small_config();
    cfg.bind = "not-an-address";
    ck_assert_int_eq(stream_create(&s, &cfg, store, err, sizeof(err)), AG_EINVAL);
    ck_assert_ptr_nonnull(strstr(err, "not-an-address"));
    cfg = small_config();
    s = server_start(&cfg);
    cfg.port = stream_port(s);
    ck_assert_int_eq(stream_create(&s2, &cfg, store, err, sizeof(err)), AG_EIO);
    ck_assert_ptr_nonnull(strstr(err, "cannot listen"));
    ck_assert_ptr_null(s2);
    /* publishing to nothing or with bad ids is harmless */
    stream_publish_row(NULL, 1, 1, "{}", 2);
    stream_publish_row(s, 0, 1, "{}", 2);
    stream_publish_state(s, 1, NULL, NULL);
    stream_destroy(s);
    stream_destroy(NULL);
}
END_TEST

/* 200 subscribers get every row while a stalled one is closed with 4008 */
static int rows_at_least(const Tc *c, int64_t a) {
    return c->rows[a >> 32] >= (a & 0xffffffff);
}

START_TEST(test_fanout_with_stalled_client) {
    enum { N = 200, ROWS = 400 };
    StreamConfig cfg = small_config();
    Stream *s;
    int64_t exp, hog;
    StreamStats st;
    Tc *c[N];
    int stall, texts = 0, code;
    double t0;
    char msg[200];
    cfg.send_buf_bytes = 128 * 1024;
    cfg.max_clients = N + 8;
    s = server_start(&cfg);
    exp = exp_new();
    hog = exp_new();
    clients_start(stream_port(s));
    for (int i = 0; i < N; i++) {
        c[i] = tc_connect(i % 2 ? TC_AUTH_HEADER : TC_AUTH_QUERY);
    }
    /* the stalled client never reads after subscribing */
    stall = raw_connect(stream_port(s));
    for (int i = 0; i < N; i++) {
        ck_assert_msg(tc_wait(c[i], is_open, 0, 30), "client %d did not connect", i);
    }
    snprintf(msg, sizeof(msg), "{\"type\":\"subscribe\",\"experiments\":[{\"id\":%lld}]}",
             (long long)exp);
    for (int i = 0; i < N; i++) {
        tc_send(c[i], msg);
    }
    /* the stalled client also follows a run with large rows */
    snprintf(msg, sizeof(msg),
             "{\"type\":\"subscribe\",\"experiments\":[{\"id\":%lld},{\"id\":%lld}]}",
             (long long)exp, (long long)hog);
    raw_send_text(stall, msg);
    for (int i = 0; i < N; i++) {
        ck_assert(tc_wait(c[i], is_live, exp, 30));
    }
    t0 = ag_time_now();
    for (int r = 0; r < ROWS / 10; r++) {
        rows_add(s, exp, 10, 100);
        rows_add(s, hog, 8, 60000);
    }
    /* the stalled client is closed while the others go on; it then reads again and finds
     * the close code */
    for (int i = 0; i < 600; i++) {
        stream_stats_get(s, &st);
        if (st.slow_closed) {
            break;
        }
        ag_time_sleep(0.05);
    }
    ck_assert_uint_eq(st.slow_closed, 1);
    code = raw_read_to_close(stall, 20, &texts);
    close(stall);
    ck_assert_int_eq(code, STREAM_CLOSE_SLOW);
    ck_assert_int_gt(texts, 3); /* hello, subscribed x2, live x2, then rows until it stalled */
    for (int i = 0; i < N; i++) {
        ck_assert_msg(tc_wait(c[i], rows_at_least, exp_seq(exp, ROWS), 60),
                      "client %d got %d of %d rows", i, c[i]->rows[exp], ROWS);
    }
    printf("fan-out: %d rows to %d subscribers in %.3f s\n", ROWS, N, ag_time_now() - t0);
    stream_stats_get(s, &st);
    ck_assert_uint_eq(st.slow_closed, 1);
    pthread_mutex_lock(&tmu);
    for (int i = 0; i < N; i++) {
        ck_assert_int_eq(c[i]->rows[exp], ROWS);
        ck_assert_int_eq(c[i]->bad_order, 0);
        ck_assert_int_eq(c[i]->state, 1);
    }
    pthread_mutex_unlock(&tmu);
    clients_stop();
    stream_destroy(s);
}
END_TEST

/* ---- benchmark (tag "bench", run by hand: CK_INCLUDE_TAGS=bench) ---- */

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* median and p99 of every latency sample of the given clients, in ms */
static void lat_report(const char *what, Tc **c, int n) {
    size_t total = 0, k = 0;
    double *all;
    for (int i = 0; i < n; i++) {
        total += c[i]->nlat;
    }
    ck_assert_uint_gt(total, 0);
    all = malloc(total * sizeof(double));
    ck_assert_ptr_nonnull(all);
    for (int i = 0; i < n; i++) {
        for (size_t j = 0; j < c[i]->nlat; j++) {
            all[k++] = c[i]->lat[j] * 1e3;
        }
    }
    qsort(all, total, sizeof(double), cmp_double);
    printf("%s: %zu samples, median %.3f ms, p99 %.3f ms, max %.3f ms\n", what, total,
           all[total / 2], all[(size_t)((double)total * 0.99)], all[total - 1]);
    free(all);
}

/* CPU seconds used so far by the threads named name */
static double thread_cpu_s(const char *name) {
    char path[600], comm[64], stat[1024];
    double total = 0;
    long tick = sysconf(_SC_CLK_TCK);
    DIR *d = opendir("/proc/self/task");
    struct dirent *e;
    ck_assert_ptr_nonnull(d);
    while ((e = readdir(d))) {
        FILE *f;
        int match;
        if (e->d_name[0] == '.') {
            continue;
        }
        snprintf(path, sizeof(path), "/proc/self/task/%s/comm", e->d_name);
        if (!(f = fopen(path, "r"))) {
            continue;
        }
        match = fgets(comm, sizeof(comm), f) && !strncmp(comm, name, strlen(name));
        fclose(f);
        snprintf(path, sizeof(path), "/proc/self/task/%s/stat", e->d_name);
        if (match && (f = fopen(path, "r"))) {
            const char *p;
            unsigned long ut = 0, st = 0;
            if (fgets(stat, sizeof(stat), f) && (p = strrchr(stat, ')')) &&
                sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) ==
                    2) {
                total += (double)(ut + st) / (double)tick;
            }
            fclose(f);
        }
    }
    closedir(d);
    return total;
}

static void lat_alloc(Tc *c, size_t n) {
    pthread_mutex_lock(&tmu);
    c->lat = calloc(n, sizeof(double));
    c->caplat = n;
    pthread_mutex_unlock(&tmu);
}

START_TEST(test_bench_latency_fanout) {
    enum { N = 200, ROWS1 = 2000, ROWS200 = 200, BURST = 2000 };
    StreamConfig cfg = small_config();
    Stream *s;
    int64_t e1, e2, e3;
    Tc *one, *c[N];
    double t0, t1, cpu_srv, cpu_cli;
    cfg.max_clients = N + 8;
    cfg.send_buf_bytes = 1 << 20;
    cfg.backlog_chunk = 256;
    s = server_start(&cfg);
    e1 = exp_new();
    e2 = exp_new();
    e3 = exp_new();
    clients_start(stream_port(s));

    /* one subscriber, one row every 2 ms (each row its own store commit) */
    one = tc_subscribed(e1, 0, TC_AUTH_HEADER);
    lat_alloc(one, ROWS1);
    for (int i = 0; i < ROWS1; i++) {
        rows_add(s, e1, 1, 200);
        ag_time_sleep(0.002);
    }
    ck_assert(tc_wait(one, has_seq, exp_seq(e1, ROWS1), 30));
    lat_report("1 subscriber, commit -> receive", &one, 1);

    /* 200 subscribers, one row every 20 ms */
    for (int i = 0; i < N; i++) {
        c[i] = tc_subscribed(e2, 0, TC_AUTH_HEADER);
    }
    for (int i = 0; i < N; i++) {
        lat_alloc(c[i], ROWS200 + BURST);
    }
    for (int i = 0; i < ROWS200; i++) {
        rows_add(s, e2, 1, 200);
        ag_time_sleep(0.02);
    }
    for (int i = 0; i < N; i++) {
        ck_assert(tc_wait(c[i], has_seq, exp_seq(e2, ROWS200), 30));
    }
    lat_report("200 subscribers, commit -> receive", c, N);

    /* burst: rows as fast as the store takes them, to all 200 */
    for (int i = 0; i < N; i++) {
        char msg[120];
        snprintf(msg, sizeof(msg), "{\"type\":\"subscribe\",\"experiments\":[{\"id\":%lld}]}",
                 (long long)e3);
        tc_send(c[i], msg);
    }
    for (int i = 0; i < N; i++) {
        ck_assert(tc_wait(c[i], is_live, e3, 30));
        pthread_mutex_lock(&tmu);
        c[i]->nlat = 0;
        pthread_mutex_unlock(&tmu);
    }
    cpu_srv = thread_cpu_s("angora-stream");
    cpu_cli = thread_cpu_s("test-clients");
    t0 = ag_time_now();
    for (int i = 0; i < BURST / 50; i++) {
        rows_add(s, e3, 50, 200);
    }
    t1 = ag_time_now();
    for (int i = 0; i < N; i++) {
        ck_assert(tc_wait(c[i], has_seq, exp_seq(e3, BURST), 60));
    }
    printf("burst: %d rows stored in %.3f s; all %d subscribers had them after %.3f s "
           "(%.0f row deliveries/s)\n",
           BURST, t1 - t0, N, ag_time_now() - t0, (double)BURST * N / (ag_time_now() - t0));
    printf("burst CPU: server thread %.2f s, client thread %.2f s\n",
           thread_cpu_s("angora-stream") - cpu_srv, thread_cpu_s("test-clients") - cpu_cli);
    lat_report("burst, 200 subscribers, commit -> receive", c, N);
    clients_stop();
    stream_destroy(s);
}
END_TEST

static Suite *stream_suite(void) {
    Suite *s = suite_create("stream");
    TCase *t = tcase_create("unit");
    TCase *f = tcase_create("fanout"), *b;
    tcase_add_checked_fixture(t, store_setup, store_teardown);
    tcase_set_timeout(t, 60);
    tcase_add_test(t, test_rows_in_order);
    tcase_add_test(t, test_reconnect_since_seq);
    tcase_add_test(t, test_resync_and_live_only);
    tcase_add_test(t, test_subscribe_all_unsubscribe_shutdown);
    tcase_add_test(t, test_gap_filled_from_store);
    tcase_add_test(t, test_queue_overflow_heals);
    tcase_add_test(t, test_token_required);
    tcase_add_test(t, test_client_limit);
    tcase_add_test(t, test_malformed_messages);
    tcase_add_test(t, test_abusive_clients_closed);
    tcase_add_test(t, test_row_larger_than_buffer);
    tcase_add_test(t, test_keepalive_ping_and_hangup);
    tcase_add_test(t, test_create_errors);
    suite_add_tcase(s, t);
    tcase_add_checked_fixture(f, store_setup, store_teardown);
    tcase_set_timeout(f, 240);
    tcase_set_tags(f, "integration");
    tcase_add_test(f, test_fanout_with_stalled_client);
    suite_add_tcase(s, f);
    b = tcase_create("bench");
    tcase_add_checked_fixture(b, store_setup, store_teardown);
    tcase_set_timeout(b, 600);
    tcase_set_tags(b, "bench");
    tcase_add_test(b, test_bench_latency_fanout);
    suite_add_tcase(s, b);
    return s;
}

int main(void) {
    SRunner *sr = srunner_create(stream_suite());
    int failed;
    lws_set_log_level(LLL_ERR, NULL);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
