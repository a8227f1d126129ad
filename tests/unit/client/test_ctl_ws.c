/* Tests of angoractl's websocket client (client/ctl_ws.c) against angorad's stream server
 * (server/stream) running in-process over a temporary store: every row once and in order from a
 * since_seq, backlog then live rows, the end of a run, a tick that stops early, and clear errors
 * for a refused token, an unknown experiment, a closed port and an https address. */
#include "ctl.h"
#include "stream.h"

#include "ag_error.h"
#include "ag_fs.h"

#include <check.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define TOKEN "ang_0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

static char tmp_dir[256], err[1024];
static Store *store;
static Stream *stream;
static int64_t offset, iteration;

static void hash_hex(const char *text, char out[65]) {
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned md_len = 0;
    ck_assert(EVP_Digest(text, strlen(text), md, &md_len, EVP_sha256(), NULL));
    for (unsigned i = 0; i < 32; i++) {
        snprintf(out + 2 * i, 3, "%02x", md[i]);
    }
}

static void setup(void) {
    char mig[1024], db[512], hash[65];
    StreamConfig cfg = {0};
    snprintf(tmp_dir, sizeof(tmp_dir), "/tmp/angoractl-ws-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(tmp_dir));
    snprintf(db, sizeof(db), "%s/angora.db", tmp_dir);
    ck_assert_int_eq(ag_fs_data_path("migrations", mig, sizeof(mig)), 0);
    ck_assert_msg(store_open(db, &store, err, sizeof(err)) == 0, "%s", err);
    ck_assert_msg(store_migrate(store, mig, 0, NULL, err, sizeof(err)) == 0, "%s", err);
    hash_hex(TOKEN, hash);
    ck_assert_int_eq(store_token_add(store, hash, "read", "test", NULL, err, sizeof(err)), 0);
    ck_assert_msg(stream_create(&stream, &cfg, store, err, sizeof(err)) == 0, "%s", err);
    offset = 0;
    iteration = 0;
}

static void teardown(void) {
    char cmd[300];
    stream_destroy(stream);
    store_close(store);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmp_dir);
    ck_assert_int_eq(system(cmd), 0);
}

static int64_t exp_new(void) {
    StoreExpNew e = {.name = "ws", .task = "CartPole", .spec_json = "{\"task\":\"CartPole\"}"};
    int64_t id = 0;
    ck_assert_msg(store_exp_insert(store, &e, tmp_dir, &id, err, sizeof(err)) == 0, "%s", err);
    ck_assert_int_eq(store_run_started(store, id, 1, 1, 1, err, sizeof(err)), 0);
    return id;
}

/* stores n rows as ingestion does, then publishes them */
static void rows_add(int64_t id, int n) {
    char text[16][128];
    const char *lines[16];
    size_t lens[16], added = 0;
    int64_t first = 0;
    ck_assert_int_le(n, 16);
    for (int i = 0; i < n; i++) {
        iteration++;
        lens[i] = (size_t)snprintf(text[i], sizeof(text[i]),
                                   "{\"iteration\":%lld,\"env_steps\":%lld,\"return_mean\":%.1f}",
                                   (long long)iteration, (long long)iteration * 100,
                                   (double)iteration * 2);
        lines[i] = text[i];
        offset += (int64_t)lens[i] + 1;
    }
    ck_assert_msg(store_metrics_ingest(store, id, lines, lens, (size_t)n, offset, &added, &first,
                                       err, sizeof(err)) == 0,
                  "%s", err);
    ck_assert_uint_eq(added, (size_t)n);
    for (int i = 0; i < n; i++) {
        stream_publish_row(stream, id, first + i, text[i], lens[i]);
    }
}

static void finish(int64_t id, const char *state) {
    ck_assert_int_eq(store_run_set_state(store, id, state, NULL, err, sizeof(err)), 0);
    stream_publish_state(stream, id, state, NULL);
}

/* what the handlers saw */
typedef struct Seen {
    int64_t seqs[256];
    long long iters[256];
    int n;
    char state[32];
    int states;
    int ticks;
    int stop_after_ticks;
} Seen;

static void on_row(void *ud, int64_t seq, json_t *row) {
    Seen *s = ud;
    ck_assert_int_lt(s->n, 256);
    s->seqs[s->n] = seq;
    s->iters[s->n] = json_integer_value(json_object_get(row, "iteration"));
    s->n++;
}

static int on_state(void *ud, const char *state) {
    Seen *s = ud;
    snprintf(s->state, sizeof(s->state), "%s", state);
    s->states++;
    return !strcmp(state, "succeeded") || !strcmp(state, "failed") || !strcmp(state, "cancelled");
}

static int on_tick(void *ud) {
    Seen *s = ud;
    s->ticks++;
    return s->stop_after_ticks > 0 && s->ticks >= s->stop_after_ticks;
}

static const CtlWsHandlers handlers = {on_row, on_state, NULL, on_tick};

static void config(CtlConfig *c, const char *token) {
    memset(c, 0, sizeof(*c));
    snprintf(c->url, sizeof(c->url), "http://127.0.0.1:7878");
    snprintf(c->token, sizeof(c->token), "%s", token);
    c->timeout_s = 10;
}

typedef struct Producer {
    int64_t id;
    pthread_t thread;
} Producer;

static void nap(double s) {
    struct timespec ts = {0, (long)(s * 1e9)};
    nanosleep(&ts, NULL);
}

/* live rows while the client follows, then the end of the run */
static void *produce(void *arg) {
    Producer *p = arg;
    nap(0.3);
    for (int b = 0; b < 5; b++) {
        rows_add(p->id, 3);
        nap(0.05);
    }
    finish(p->id, "succeeded");
    return NULL;
}

START_TEST(test_backlog_then_live_to_the_end) {
    CtlConfig c;
    Seen seen;
    Producer p;
    int64_t id = exp_new();
    memset(&seen, 0, sizeof(seen));
    rows_add(id, 5);
    config(&c, TOKEN);
    p.id = id;
    ck_assert_int_eq(pthread_create(&p.thread, NULL, produce, &p), 0);
    ck_assert_msg(
        ctl_ws_follow(&c, stream_port(stream), id, 0, &handlers, &seen, 0.1, err, sizeof(err)) == 0,
        "%s", err);
    pthread_join(p.thread, NULL);
    /* 5 from the store, 15 live, each once and in order */
    ck_assert_int_eq(seen.n, 20);
    for (int i = 0; i < seen.n; i++) {
        ck_assert_int_eq(seen.seqs[i], i + 1);
        ck_assert_int_eq(seen.iters[i], i + 1);
    }
    ck_assert_str_eq(seen.state, "succeeded");
    ck_assert_int_ge(seen.ticks, 2);
}
END_TEST

START_TEST(test_since_seq_of_an_ended_run) {
    CtlConfig c;
    Seen seen;
    int64_t id = exp_new();
    memset(&seen, 0, sizeof(seen));
    rows_add(id, 10);
    finish(id, "failed");
    config(&c, TOKEN);
    /* an ended run: the rows after since_seq, then it returns */
    ck_assert_msg(
        ctl_ws_follow(&c, stream_port(stream), id, 4, &handlers, &seen, 0.1, err, sizeof(err)) == 0,
        "%s", err);
    ck_assert_int_eq(seen.n, 6);
    ck_assert_int_eq(seen.seqs[0], 5);
    ck_assert_int_eq(seen.seqs[5], 10);
    ck_assert_str_eq(seen.state, "failed");
}
END_TEST

START_TEST(test_tick_stops) {
    CtlConfig c;
    Seen seen;
    int64_t id = exp_new();
    memset(&seen, 0, sizeof(seen));
    seen.stop_after_ticks = 3;
    rows_add(id, 2);
    config(&c, TOKEN);
    ck_assert_msg(
        ctl_ws_follow(&c, stream_port(stream), id, 0, &handlers, &seen, 0.1, err, sizeof(err)) == 0,
        "%s", err);
    ck_assert_int_eq(seen.ticks, 3);
    ck_assert_int_eq(seen.n, 2);
    ck_assert_str_eq(seen.state, "running");
}
END_TEST

START_TEST(test_errors) {
    CtlConfig c;
    Seen seen;
    int64_t id = exp_new();
    int port;
    memset(&seen, 0, sizeof(seen));
    /* a token the server does not know: the upgrade is refused */
    config(&c, "ang_ffff456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef");
    ck_assert_int_eq(
        ctl_ws_follow(&c, stream_port(stream), id, 0, &handlers, &seen, 0.1, err, sizeof(err)),
        AG_EIO);
    ck_assert_ptr_nonnull(strstr(err, "websocket"));
    ck_assert_int_eq(seen.n, 0);
    /* no token at all */
    config(&c, "");
    ck_assert_int_eq(
        ctl_ws_follow(&c, stream_port(stream), id, 0, &handlers, &seen, 0.1, err, sizeof(err)),
        AG_EIO);
    /* an unknown experiment */
    config(&c, TOKEN);
    ck_assert_int_eq(
        ctl_ws_follow(&c, stream_port(stream), 9999, 0, &handlers, &seen, 0.1, err, sizeof(err)),
        AG_ENOTFOUND);
    ck_assert_ptr_nonnull(strstr(err, "AG_ENOTFOUND"));
    /* nobody listening */
    port = stream_port(stream);
    stream_destroy(stream);
    stream = NULL;
    ck_assert_int_eq(ctl_ws_follow(&c, port, id, 0, &handlers, &seen, 0.1, err, sizeof(err)),
                     AG_EIO);
    ck_assert_ptr_nonnull(strstr(err, "cannot connect"));
    /* bad arguments */
    ck_assert_int_eq(ctl_ws_follow(&c, 0, id, 0, &handlers, &seen, 0.1, err, sizeof(err)),
                     AG_EINVAL);
    snprintf(c.url, sizeof(c.url), "https://127.0.0.1:7878");
    ck_assert_int_eq(ctl_ws_follow(&c, port, id, 0, &handlers, &seen, 0.1, err, sizeof(err)),
                     AG_EUNSUPPORTED);
}
END_TEST

static Suite *ws_suite(void) {
    Suite *s = suite_create("ctl_ws");
    TCase *tc = tcase_create("ws");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_backlog_then_live_to_the_end);
    tcase_add_test(tc, test_since_seq_of_an_ended_run);
    tcase_add_test(tc, test_tick_stops);
    tcase_add_test(tc, test_errors);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) {
    SRunner *sr = srunner_create(ws_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
