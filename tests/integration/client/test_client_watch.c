/* End-to-end tests of angoractl's live commands against a real angorad: watch follows a run from
 * the queue to its end, sees every metric row exactly once and in order, and prints a final
 * summary (exit 0 for a success, 1 for a failure); logs -f follows the log until the run ends. */
#include "ctl_itest.h"

#include <check.h>
#include <errno.h>
#include <jansson.h>
#include <pty.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static Daemon d;

#define CTL(r, ...) ctl_itest_run(r, "--data-dir", d.dir, __VA_ARGS__, (const char *)NULL)

static void start_with(const char *const *extra) {
    ctl_itest_start(&d, extra);
}

static void start(void) {
    start_with(NULL);
}

static void stop(void) {
    itest_daemon_finish(&d);
}

static long long submit(const char *spec) {
    char path[400];
    CtlRun r;
    long long id;
    snprintf(path, sizeof(path), "%s/spec.json", d.dir);
    ctl_itest_write(path, spec);
    CTL(&r, "submit", path);
    ASSERT_CODE(&r, 0);
    id = ctl_itest_submitted_id(&r);
    ctl_itest_free(&r);
    return id;
}

START_TEST(test_watch_to_success) {
    CtlRun r;
    char ids[32];
    long long id;
    start();
    /* angorad streams: watch must follow it over the websocket */
    CTL(&r, "version");
    ASSERT_CODE(&r, 0);
    ck_assert_msg(strstr(r.out, "(websocket port none)") == NULL, "no stream: %s", r.out);
    ctl_itest_free(&r);
    id = submit("{\"task\":\"CartPole\",\"name\":\"watched\",\"budget\":{\"env_steps\":15000},"
                "\"notes\":\"fake:iters=15,sleep=0.1\"}");
    snprintf(ids, sizeof(ids), "%lld", id);
    /* started while the run is queued or just starting: it must follow it to the end */
    CTL(&r, "watch", ids, "--interval", "0.1");
    ASSERT_CODE(&r, 0);
    ck_assert_ptr_nonnull(strstr(r.out, "watching experiment"));
    /* over the websocket when angorad serves one: no fallback to polling */
    ck_assert_msg(strstr(r.err, "polling instead") == NULL, "%s", r.err);
    ck_assert_ptr_nonnull(strstr(r.out, "budget 15000 steps"));
    ck_assert_ptr_nonnull(strstr(r.out, "state running"));
    ck_assert_ptr_nonnull(strstr(r.out, "state succeeded"));
    /* progress lines with a bar, then the summary */
    ck_assert_ptr_nonnull(strstr(r.out, "[####################] 100.0%"));
    {
        char expect[128];
        snprintf(expect, sizeof(expect), "experiment %lld succeeded after 15 metric rows", id);
        ck_assert_msg(strstr(r.out, expect) != NULL, "no summary in %s", r.out);
    }
    ck_assert_ptr_nonnull(
        strstr(r.out, "final: iteration 15  steps 15000/15000  return_mean 150.2 (best 150.2)"));
    ctl_itest_free(&r);

    /* --json: every row once, in order, then the end event */
    CTL(&r, "watch", ids, "--json");
    ASSERT_CODE(&r, 0);
    {
        char *save = NULL, *line = strtok_r(r.out, "\n", &save);
        long long last_seq = 0, rows = 0, last_iter = 0;
        int ended = 0;
        for (; line; line = strtok_r(NULL, "\n", &save)) {
            json_t *ev = json_loads(line, 0, NULL);
            const char *kind;
            ck_assert_msg(ev != NULL, "not JSON: %s", line);
            kind = json_string_value(json_object_get(ev, "event"));
            ck_assert_ptr_nonnull(kind);
            ck_assert_msg(!ended, "output after the end event");
            if (!strcmp(kind, "row")) {
                long long seq = json_integer_value(json_object_get(ev, "seq"));
                long long it =
                    json_integer_value(json_object_get(json_object_get(ev, "row"), "iteration"));
                ck_assert_int_gt(seq, last_seq);
                ck_assert_int_eq(it, last_iter + 1);
                last_seq = seq;
                last_iter = it;
                rows++;
            } else if (!strcmp(kind, "end")) {
                ended = 1;
                ck_assert_int_eq(json_integer_value(json_object_get(ev, "rows")), 15);
                ck_assert_str_eq(
                    json_string_value(json_object_get(json_object_get(ev, "experiment"), "state")),
                    "succeeded");
            } else {
                ck_assert_str_eq(kind, "state");
            }
            json_decref(ev);
        }
        ck_assert_int_eq(rows, 15);
        ck_assert(ended);
    }
    ctl_itest_free(&r);
    stop();
}
END_TEST

START_TEST(test_watch_failure_and_chart_key) {
    CtlRun r;
    char ids[32];
    long long id;
    start();
    id = submit("{\"task\":\"CartPole\",\"name\":\"doomed\","
                "\"notes\":\"fake:iters=10,sleep=0.02,crash=always\"}");
    snprintf(ids, sizeof(ids), "%lld", id);
    CTL(&r, "watch", ids, "--interval", "0.1", "--key", "loss", "--poll");
    ASSERT_CODE(&r, 1);
    ck_assert_ptr_nonnull(strstr(r.out, "failed after"));
    ck_assert_ptr_nonnull(strstr(r.out, "loss 0.1"));
    ck_assert_ptr_nonnull(strstr(r.out, "error: "));
    ctl_itest_free(&r);
    /* the trainer's own output tells why */
    CTL(&r, "logs", ids, "--worker");
    ASSERT_CODE(&r, 0);
    ck_assert_ptr_nonnull(strstr(r.out, "simulated crash"));
    ctl_itest_free(&r);
    stop();
}
END_TEST

START_TEST(test_watch_gives_up) {
    CtlRun r;
    char ids[32];
    long long id;
    start();
    id = submit("{\"task\":\"CartPole\",\"notes\":\"fake:iters=400,sleep=0.05\"}");
    snprintf(ids, sizeof(ids), "%lld", id);
    CTL(&r, "watch", ids, "--interval", "0.1", "--timeout-run", "1");
    ASSERT_CODE(&r, 1);
    ck_assert_ptr_nonnull(strstr(r.err, "still running after 1 s"));
    ctl_itest_free(&r);
    CTL(&r, "cancel", ids);
    ASSERT_CODE(&r, 0);
    ctl_itest_free(&r);
    /* a cancelled run ends the watch with exit 1 */
    json_decref(itest_wait_state(&d, id, "cancelled", 30));
    CTL(&r, "watch", ids);
    ASSERT_CODE(&r, 1);
    ck_assert_ptr_nonnull(strstr(r.out, "cancelled after"));
    ctl_itest_free(&r);
    stop();
}
END_TEST

START_TEST(test_logs_follow) {
    CtlRun r;
    char ids[32];
    long long id;
    start();
    id = submit("{\"task\":\"CartPole\",\"notes\":\"fake:iters=10,sleep=0.1\"}");
    snprintf(ids, sizeof(ids), "%lld", id);
    /* may start before the log exists; returns when the run has ended, with the whole log */
    CTL(&r, "logs", ids, "-f", "--interval", "0.1");
    ASSERT_CODE(&r, 0);
    ck_assert_ptr_nonnull(strstr(r.out, "fake trainer pid"));
    ck_assert_ptr_nonnull(strstr(r.out, "done\n"));
    ck_assert_int_eq(ctl_itest_count(r.out, "fake trainer pid"), 1);
    ctl_itest_free(&r);
    stop();
}
END_TEST

/* a daemon without its websocket stream: watch polls the REST series, same output */
START_TEST(test_watch_without_stream) {
    static const char *const no_stream[] = {"--stream-port", "-1", NULL};
    CtlRun r;
    char ids[32];
    long long id;
    start_with(no_stream);
    CTL(&r, "version");
    ASSERT_CODE(&r, 0);
    ck_assert_ptr_nonnull(strstr(r.out, "(websocket port none)"));
    ctl_itest_free(&r);
    id = submit("{\"task\":\"CartPole\",\"budget\":{\"env_steps\":16000},"
                "\"notes\":\"fake:iters=8,sleep=0.05,eval=3\"}");
    snprintf(ids, sizeof(ids), "%lld", id);
    CTL(&r, "watch", ids, "--interval", "0.1");
    ASSERT_CODE(&r, 0);
    ck_assert_msg(strstr(r.err, "polling instead") == NULL, "%s", r.err);
    ck_assert_ptr_nonnull(strstr(r.out, "succeeded after 8 metric rows"));
    ck_assert_ptr_nonnull(strstr(r.out, "[##########----------]  50.0%"));
    /* steps/s, ETA and the latest evaluation: the last row is 8000 steps at wall_s 8.5
     * (941 steps/s), 8000 steps to go (8.5 s); evaluations came at iterations 3 and 6 */
    ck_assert_msg(strstr(r.out, "pace: 941 steps/s  ETA 8.5s  eval 106.5 (iteration 6)\n"), "%s",
                  r.out);
    /* every update line carries the pace */
    ck_assert_int_ge(ctl_itest_count(r.out, " steps/s  ETA "), 2);
    ctl_itest_free(&r);
    stop();
}
END_TEST

/* runs angoractl on a pseudo-terminal (80x30) and returns everything it drew */
static char *run_on_tty(const char *const *args, int *code) {
    const char *argv[32];
    int argc = 0;
    argv[argc++] = "--data-dir";
    argv[argc++] = d.dir;
    for (int i = 0; args[i] && argc < 31; i++) {
        argv[argc++] = args[i];
    }
    argv[argc] = NULL;
    return ctl_itest_run_tty(argv, NULL, NULL, code);
}

/* on a terminal: redrawn screens with the bar, the status line and the chart, then the summary */
START_TEST(test_watch_on_a_terminal) {
    char ids[32], *out, *last;
    long long id;
    int code = -1;
    start();
    id = submit("{\"task\":\"CartPole\",\"name\":\"tty\",\"budget\":{\"env_steps\":12000},"
                "\"notes\":\"fake:iters=12,sleep=0.08\"}");
    snprintf(ids, sizeof(ids), "%lld", id);
    {
        const char *args[] = {"watch", ids, "--interval", "0.1", NULL};
        out = run_on_tty(args, &code);
    }
    ck_assert_msg(code == 0, "exit %d: %s", code, out);
    /* several screens, each cleared first */
    ck_assert_int_ge(ctl_itest_count(out, "\033[H\033[2J"), 3);
    last = out;
    for (char *p = strstr(out, "\033[H\033[2J"); p; p = strstr(p + 1, "\033[H\033[2J")) {
        last = p;
    }
    /* the last screen: finished, full bar across the terminal, a 12-row chart of 12 points */
    ck_assert_ptr_nonnull(strstr(last, "\"tty\" (CartPole): succeeded"));
    ck_assert_ptr_nonnull(strstr(last, "######################################] 100.0%"));
    ck_assert_ptr_nonnull(strstr(last, "iteration 12  steps 12000/12000  return_mean 120.2"));
    /* the pace under it: 12000 steps at wall_s 12.5, nothing left, no evaluation */
    ck_assert_ptr_nonnull(strstr(last, "960 steps/s  ETA 0.0s  eval -"));
    ck_assert_ptr_nonnull(strstr(last, "     120.2 |"));
    ck_assert_ptr_nonnull(strstr(last, "     10.25 |*"));
    ck_assert_ptr_nonnull(strstr(last, "return_mean over 12 rows"));
    ck_assert_int_eq(ctl_itest_count(last, " |"), 12);
    ck_assert_ptr_nonnull(strstr(last, "succeeded after 12 metric rows"));
    free(out);
    stop();
}
END_TEST

static Suite *watch_suite(void) {
    Suite *s = suite_create("client_watch");
    TCase *tc = tcase_create("watch");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_watch_to_success);
    tcase_add_test(tc, test_watch_failure_and_chart_key);
    tcase_add_test(tc, test_watch_gives_up);
    tcase_add_test(tc, test_logs_follow);
    tcase_add_test(tc, test_watch_without_stream);
    tcase_add_test(tc, test_watch_on_a_terminal);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) {
    return itest_run_suite(watch_suite());
}
