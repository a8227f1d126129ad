/* End-to-end tests of angoractl's failures and their exit codes against a real angorad: daemon
 * down (5), missing, bad or revoked token (4), unknown ids (3), invalid specs caught locally and
 * specs the server refuses (6), bad command lines and configuration (2), and --help (0). */
#include "ctl_itest.h"

#include <check.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static Daemon d;

#define CTL(r, ...) ctl_itest_run(r, "--data-dir", d.dir, __VA_ARGS__, (const char *)NULL)

static void start(void) {
    ctl_itest_start(&d, NULL);
}

static void stop(void) {
    itest_daemon_finish(&d);
}

static const char *path_in(const char *name) {
    return itest_path(&d, name);
}

START_TEST(test_daemon_down) {
    CtlRun r;
    char url[64];
    start();
    snprintf(url, sizeof(url), "http://127.0.0.1:%d", d.port);
    itest_daemon_stop(&d, NULL);
    /* the port file is still there: the client tries it and says it cannot connect */
    static const char *const cmds[][3] = {{"ls", NULL, NULL},      {"show", "1", NULL},
                                          {"version", NULL, NULL}, {"tasks", NULL, NULL},
                                          {"watch", "1", NULL},    {"logs", "1", "-f"}};
    for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
        const char *args[8] = {"--data-dir", d.dir, cmds[i][0], cmds[i][1], cmds[i][2], NULL};
        ctl_itest_runv(&r, args);
        ASSERT_CODE(&r, 5);
        ASSERT_ERR(&r, "cannot reach angorad at ");
        ASSERT_ERR(&r, url);
        ctl_itest_free(&r);
    }
    ctl_itest_write(path_in("s.json"), "{\"task\":\"CartPole\"}");
    CTL(&r, "submit", path_in("s.json"));
    ASSERT_CODE(&r, 5);
    ctl_itest_free(&r);
    CTL(&r, "download", "1", "-o", path_in("x.ckpt"));
    ASSERT_CODE(&r, 5);
    ctl_itest_free(&r);
    itest_daemon_cleanup(&d);
}
END_TEST

START_TEST(test_tokens) {
    CtlRun r;
    char url[64];
    start();
    snprintf(url, sizeof(url), "http://127.0.0.1:%d", d.port);
    /* wrong token */
    CTL(&r, "--token", "ang_0000000000000000000000000000000000000000000000000000000000000000",
        "ls");
    ASSERT_CODE(&r, 4);
    ASSERT_ERR(&r, "unknown or revoked token");
    ASSERT_ERR(&r, "the token came from --token");
    ctl_itest_free(&r);
    CTL(&r, "--token", "nonsense", "show", "1");
    ASSERT_CODE(&r, 4);
    ctl_itest_free(&r);
    /* no token anywhere: the message says where it looked */
    ctl_itest_run(&r, "--url", url, "ls", NULL);
    ASSERT_CODE(&r, 4);
    ASSERT_ERR(&r, "no token found");
    ctl_itest_free(&r);
    /* health needs no token, but everything the client does does */
    ctl_itest_run(&r, "--url", url, "version", NULL);
    ASSERT_CODE(&r, 4);
    ctl_itest_free(&r);
    /* a token file that is not there */
    CTL(&r, "--token-file", path_in("nope"), "ls");
    ASSERT_CODE(&r, 2);
    ASSERT_ERR(&r, "nope");
    ctl_itest_free(&r);
    stop();
}
END_TEST

START_TEST(test_unknown_ids) {
    CtlRun r;
    static const char *const cmds[][4] = {
        {"show", "424242", NULL, NULL},        {"cancel", "424242", NULL, NULL},
        {"pause", "424242", NULL, NULL},       {"resume", "424242", NULL, NULL},
        {"rm", "424242", "--yes", NULL},       {"logs", "424242", NULL, NULL},
        {"metrics", "424242", NULL, NULL},     {"metrics", "424242", "--keys", NULL},
        {"metrics", "424242", "--csv", NULL},  {"watch", "424242", NULL, NULL},
        {"checkpoints", "424242", NULL, NULL}, {"evaluate", "424242", NULL, NULL},
        {"logs", "424242", "-f", NULL}};
    start();
    for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
        const char *args[8] = {"--data-dir", d.dir, cmds[i][0], cmds[i][1], cmds[i][2], NULL};
        ctl_itest_runv(&r, args);
        ck_assert_msg(r.code == 3, "%s %s: exit %d (%s)", cmds[i][0], cmds[i][2] ? cmds[i][2] : "",
                      r.code, r.err);
        ASSERT_ERR(&r, "424242");
        ctl_itest_free(&r);
    }
    CTL(&r, "download", "424242", "-o", path_in("x"));
    ASSERT_CODE(&r, 3);
    ctl_itest_free(&r);
    /* ids that are not ids are usage errors, caught before any request */
    CTL(&r, "show", "-1");
    ASSERT_CODE(&r, 2);
    ctl_itest_free(&r);
    CTL(&r, "cancel", "abc");
    ASSERT_CODE(&r, 2);
    ASSERT_ERR(&r, "positive integer");
    ctl_itest_free(&r);
    stop();
}
END_TEST

START_TEST(test_invalid_specs) {
    CtlRun r;
    start();
    /* caught locally, naming the JSON path */
    ctl_itest_write(path_in("lr.json"), "{\"task\":\"CartPole\",\"ppo\":{\"lr\":-1}}");
    CTL(&r, "submit", path_in("lr.json"));
    ASSERT_CODE(&r, 6);
    ASSERT_ERR(&r, "ppo.lr");
    ASSERT_ERR(&r, "lr.json");
    ctl_itest_free(&r);
    ctl_itest_write(path_in("key.json"), "{\"task\":\"CartPole\",\"ppo\":{\"speed\":3}}");
    CTL(&r, "submit", path_in("key.json"));
    ASSERT_CODE(&r, 6);
    ASSERT_ERR(&r, "ppo.speed");
    ctl_itest_free(&r);
    ctl_itest_write(path_in("broken.json"), "{\"task\":\n  \"CartPole\",,}");
    CTL(&r, "submit", path_in("broken.json"));
    ASSERT_CODE(&r, 6);
    ASSERT_ERR(&r, "line 2");
    ctl_itest_free(&r);
    ctl_itest_write(path_in("array.json"), "[1]");
    CTL(&r, "submit", path_in("array.json"));
    ASSERT_CODE(&r, 6);
    ctl_itest_free(&r);
    ctl_itest_write(path_in("ok.json"), "{\"task\":\"CartPole\"}");
    CTL(&r, "submit", path_in("ok.json"), "--tag", "");
    ASSERT_CODE(&r, 6);
    ASSERT_ERR(&r, "tags[0]");
    ctl_itest_free(&r);
    CTL(&r, "submit", path_in("ok.json"), "--priority", "5000");
    ASSERT_CODE(&r, 2);
    ctl_itest_free(&r);
    CTL(&r, "submit", path_in("missing.json"));
    ASSERT_CODE(&r, 2);
    ASSERT_ERR(&r, "no such file");
    ctl_itest_free(&r);
    /* valid locally, refused by the server: it knows its tasks */
    ctl_itest_write(path_in("task.json"), "{\"task\":\"NoSuchTask\"}");
    CTL(&r, "submit", path_in("task.json"));
    ASSERT_CODE(&r, 6);
    ASSERT_ERR(&r, "unknown task");
    ctl_itest_free(&r);
    CTL(&r, "submit", path_in("task.json"), "--dry-run");
    ASSERT_CODE(&r, 6);
    ctl_itest_free(&r);
    /* nothing was queued */
    CTL(&r, "ls");
    ASSERT_CODE(&r, 0);
    ck_assert_int_eq(ctl_itest_count(r.out, "\n"), 1);
    ctl_itest_free(&r);
    stop();
}
END_TEST

START_TEST(test_usage) {
    CtlRun r;
    start();
    {
        const char *none[1] = {NULL};
        ctl_itest_runv(&r, none);
    }
    ASSERT_CODE(&r, 2);
    ASSERT_ERR(&r, "usage: angoractl");
    ctl_itest_free(&r);
    CTL(&r, "launch");
    ASSERT_CODE(&r, 2);
    ASSERT_ERR(&r, "unknown command");
    ctl_itest_free(&r);
    CTL(&r, "ls", "--frob");
    ASSERT_CODE(&r, 2);
    ctl_itest_free(&r);
    CTL(&r, "show");
    ASSERT_CODE(&r, 2);
    ctl_itest_free(&r);
    CTL(&r, "--url", "localhost", "ls");
    ASSERT_CODE(&r, 2);
    ASSERT_ERR(&r, "http://");
    ctl_itest_free(&r);
    CTL(&r, "--timeout", "never", "ls");
    ASSERT_CODE(&r, 2);
    ctl_itest_free(&r);
    ctl_itest_write(path_in("bad.json"), "{\"url\": 12}");
    CTL(&r, "--config", path_in("bad.json"), "ls");
    ASSERT_CODE(&r, 2);
    ASSERT_ERR(&r, "url");
    ctl_itest_free(&r);
    CTL(&r, "watch", "1", "--interval", "0");
    ASSERT_CODE(&r, 2);
    ctl_itest_free(&r);
    /* help for every command, exit 0, on stdout */
    CTL(&r, "--help");
    ASSERT_CODE(&r, 0);
    ck_assert_ptr_nonnull(strstr(r.out, "Exit codes"));
    ctl_itest_free(&r);
    CTL(&r, "metrics", "--help");
    ASSERT_CODE(&r, 0);
    ck_assert_ptr_nonnull(strstr(r.out, "--csv"));
    ctl_itest_free(&r);
    CTL(&r, "--version");
    ASSERT_CODE(&r, 0);
    ck_assert_str_eq(r.out, "angoractl 0.1.0\n");
    ctl_itest_free(&r);
    stop();
}
END_TEST

/* the one JSON object on stderr of a --json failure */
static json_t *err_json(const CtlRun *r) {
    return ctl_itest_json(r->err, "stderr");
}

/* with --json every failure is JSON on stderr: usage, configuration, HTTP and local errors */
START_TEST(test_json_errors) {
    CtlRun r;
    json_t *doc, *e;
    start();
    /* an HTTP failure carries the status and the server's problem document */
    CTL(&r, "show", "424242", "--json");
    ASSERT_CODE(&r, 3);
    ck_assert_str_eq(r.out, "");
    doc = err_json(&r);
    e = json_object_get(doc, "error");
    ck_assert_int_eq(json_integer_value(json_object_get(e, "exit_code")), 3);
    ck_assert_str_eq(json_string_value(json_object_get(e, "exit_name")), "not found");
    ck_assert_int_eq(json_integer_value(json_object_get(e, "status")), 404);
    ck_assert_ptr_nonnull(strstr(json_string_value(json_object_get(e, "message")), "424242"));
    ck_assert(json_is_object(json_object_get(e, "problem")));
    json_decref(doc);
    ctl_itest_free(&r);
    /* a bad command line, --json before or after the mistake */
    CTL(&r, "--json", "sumbit", "x.json");
    ASSERT_CODE(&r, 2);
    doc = err_json(&r);
    ck_assert_ptr_nonnull(
        strstr(json_string_value(json_object_get(json_object_get(doc, "error"), "message")),
               "did you mean \"submit\""));
    json_decref(doc);
    ctl_itest_free(&r);
    CTL(&r, "ls", "--limit", "0", "--json");
    ASSERT_CODE(&r, 2);
    json_decref(err_json(&r));
    ctl_itest_free(&r);
    ctl_itest_run(&r, "--json", NULL);
    ASSERT_CODE(&r, 2);
    doc = err_json(&r);
    ck_assert_ptr_nonnull(
        strstr(json_string_value(json_object_get(json_object_get(doc, "error"), "message")),
               "no command"));
    json_decref(doc);
    ctl_itest_free(&r);
    /* a bad configuration */
    ctl_itest_run(&r, "--url", "ftp://x", "ls", "--json", NULL);
    ASSERT_CODE(&r, 2);
    doc = err_json(&r);
    ck_assert_int_eq(
        json_integer_value(json_object_get(json_object_get(doc, "error"), "exit_code")), 2);
    json_decref(doc);
    ctl_itest_free(&r);
    /* a spec refused locally */
    ctl_itest_write(path_in("bad.json"), "{\"task\":\"CartPole\",\"ppo\":{\"lr\":-1}}");
    CTL(&r, "submit", path_in("bad.json"), "--json");
    ASSERT_CODE(&r, 6);
    doc = err_json(&r);
    ck_assert_ptr_nonnull(strstr(
        json_string_value(json_object_get(json_object_get(doc, "error"), "message")), "ppo.lr"));
    json_decref(doc);
    ctl_itest_free(&r);
    /* an unreachable server */
    ctl_itest_run(&r, "--url", "http://127.0.0.1:1", "ls", "--json", NULL);
    ASSERT_CODE(&r, 5);
    json_decref(err_json(&r));
    ctl_itest_free(&r);
    stop();
}
END_TEST

/* a task the server does not have: the server's 422, then the closest task name */
START_TEST(test_unknown_task) {
    CtlRun r;
    start();
    ctl_itest_write(path_in("typo.json"),
                    "{\"task\":\"Cartpole\",\"budget\":{\"env_steps\":4096}}");
    CTL(&r, "submit", path_in("typo.json"));
    ASSERT_CODE(&r, 6);
    ASSERT_ERR(&r, "unknown task \"Cartpole\"");
    ASSERT_ERR(&r, "no task \"Cartpole\": did you mean \"CartPole\"?");
    ctl_itest_free(&r);
    CTL(&r, "submit", path_in("typo.json"), "--dry-run");
    ASSERT_CODE(&r, 6);
    ASSERT_ERR(&r, "did you mean \"CartPole\"?");
    ctl_itest_free(&r);
    ctl_itest_write(path_in("far.json"), "{\"task\":\"Zebra\",\"budget\":{\"env_steps\":4096}}");
    CTL(&r, "submit", path_in("far.json"));
    ASSERT_CODE(&r, 6);
    ASSERT_ERR(&r, "no task \"Zebra\" (angoractl tasks lists them)");
    ctl_itest_free(&r);
    stop();
}
END_TEST

static Suite *errors_suite(void) {
    Suite *s = suite_create("client_errors");
    TCase *tc = tcase_create("errors");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_daemon_down);
    tcase_add_test(tc, test_tokens);
    tcase_add_test(tc, test_unknown_ids);
    tcase_add_test(tc, test_invalid_specs);
    tcase_add_test(tc, test_usage);
    tcase_add_test(tc, test_json_errors);
    tcase_add_test(tc, test_unknown_task);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) {
    return itest_run_suite(errors_suite());
}
