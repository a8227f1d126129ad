/* End-to-end tests of angoractl's commands against a running angorad with the test double of
 * angora-train: submit (with --name, --tag, --priority, --dry-run), ls with filters and pages,
 * show, metrics (table, --keys, --csv, --json), logs, checkpoints, download, evaluate, pause,
 * resume, cancel, rm, tasks, token create/list/revoke and version, each with its exit code. The
 * daemon is found through its data directory (token and port files). */
#include "ctl_itest.h"

#include <check.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static Daemon d;

#define CTL(r, ...) ctl_itest_run(r, "--data-dir", d.dir, __VA_ARGS__, (const char *)NULL)

static const char *spec_quick = "{\"task\":\"CartPole\",\"name\":\"quick\",\"tags\":[\"base\"],"
                                "\"budget\":{\"env_steps\":6000},"
                                "\"notes\":\"fake:iters=6,sleep=0.02\"}";
static const char *spec_long = "{\"task\":\"CartPole\",\"name\":\"long\","
                               "\"notes\":\"fake:iters=400,sleep=0.05\"}";

static void start(void) {
    ctl_itest_start(&d, NULL);
}

static void stop(void) {
    itest_daemon_finish(&d);
}

static const char *path_in(const char *name) {
    return itest_path(&d, name);
}

static json_t *out_json(const CtlRun *r) {
    return ctl_itest_json(r->out, "stdout");
}

START_TEST(test_submit_show_ls) {
    CtlRun r;
    long long id, id2;
    json_t *o;
    start();
    ctl_itest_write(path_in("quick.json"), spec_quick);
    /* a dry run validates on the server and queues nothing */
    CTL(&r, "submit", path_in("quick.json"), "--dry-run");
    ASSERT_CODE(&r, 0);
    ck_assert_msg(strstr(r.out, "valid: ") && strstr(r.out, " iterations, priority 0"), "%s",
                  r.out);
    ctl_itest_free(&r);
    CTL(&r, "ls", "--json");
    ASSERT_CODE(&r, 0);
    o = out_json(&r);
    ck_assert_uint_eq(json_array_size(json_object_get(o, "items")), 0);
    json_decref(o);
    ctl_itest_free(&r);

    CTL(&r, "submit", path_in("quick.json"), "--name", "renamed", "--tag", "extra", "--priority",
        "7");
    ASSERT_CODE(&r, 0);
    id = ctl_itest_submitted_id(&r);
    ck_assert_ptr_nonnull(strstr(r.out, "\"renamed\" (queued)"));
    ctl_itest_free(&r);
    CTL(&r, "show", "--json", "x");
    ASSERT_CODE(&r, 2);
    ctl_itest_free(&r);
    {
        char ids[32];
        snprintf(ids, sizeof(ids), "%lld", id);
        CTL(&r, "show", ids, "--json");
        ASSERT_CODE(&r, 0);
        o = out_json(&r);
        ck_assert_str_eq(json_string_value(json_object_get(o, "name")), "renamed");
        ck_assert_int_eq(json_integer_value(json_object_get(o, "priority")), 7);
        ck_assert_uint_eq(json_array_size(json_object_get(o, "tags")), 2);
        ck_assert_str_eq(json_string_value(json_array_get(json_object_get(o, "tags"), 1)), "extra");
        json_decref(o);
        ctl_itest_free(&r);
        json_decref(itest_wait_state(&d, id, "succeeded", 60));
        CTL(&r, "show", ids);
        ASSERT_CODE(&r, 0);
        ck_assert_ptr_nonnull(strstr(r.out, "state          succeeded"));
        ck_assert_ptr_nonnull(strstr(r.out, "metric rows    6"));
        ck_assert_ptr_nonnull(strstr(r.out, "tags           base,extra"));
        /* its pace: the fake trainer's last row is 6000 env steps at wall_s 6.5 (923 steps/s),
         * return 60.25; a finished run has a duration and no ETA */
        ck_assert_ptr_nonnull(strstr(r.out, "progress       6000 of 6000 env steps (100.0%)"));
        ck_assert_ptr_nonnull(strstr(r.out, "return         60.25\n"));
        ck_assert_ptr_nonnull(strstr(r.out, "steps/s        923\n"));
        ck_assert_ptr_nonnull(strstr(r.out, "eta            -\n"));
        ck_assert_ptr_null(strstr(r.out, "duration       -"));
        ctl_itest_free(&r);
        CTL(&r, "show", ids, "--json");
        ASSERT_CODE(&r, 0);
        o = out_json(&r);
        ck_assert_double_eq_tol(json_number_value(json_object_get(o, "steps_per_s")), 6000 / 6.5,
                                1e-9);
        ck_assert_double_eq_tol(json_number_value(json_object_get(o, "latest_wall_s")), 6.5, 1e-12);
        ck_assert(json_is_null(json_object_get(o, "eta_s")));
        ck_assert(json_number_value(json_object_get(o, "duration_s")) > 0);
        json_decref(o);
        ctl_itest_free(&r);
    }
    /* a second experiment, its spec from standard input */
    ctl_itest_stdin(path_in("quick.json"));
    CTL(&r, "submit", "-", "--name", "second");
    ASSERT_CODE(&r, 0);
    id2 = ctl_itest_submitted_id(&r);
    ck_assert_int_gt(id2, id);
    ctl_itest_free(&r);
    CTL(&r, "ls");
    ASSERT_CODE(&r, 0);
    ck_assert_ptr_nonnull(strstr(r.out, "ID  NAME"));
    ck_assert_ptr_nonnull(strstr(r.out, "PROGRESS  RETURN  STEPS/S  DURATION  ETA  TAGS"));
    ck_assert_ptr_nonnull(strstr(r.out, "renamed"));
    ck_assert_ptr_nonnull(strstr(r.out, "second"));
    /* newest first */
    ck_assert(strstr(r.out, "second") < strstr(r.out, "renamed"));
    /* the finished run's pace on its line */
    {
        const char *line = strstr(r.out, "renamed");
        const char *end = strchr(line, '\n');
        char text[512];
        snprintf(text, sizeof(text), "%.*s", (int)(end - line), line);
        ck_assert_msg(strstr(text, "  succeeded  6k/6k 100%  ") && strstr(text, "  60.25  ") &&
                          strstr(text, "  923  ") && strstr(text, "  -  "),
                      "%s", text);
    }
    ctl_itest_free(&r);
    /* filters */
    CTL(&r, "ls", "--tag", "extra", "--json");
    ASSERT_CODE(&r, 0);
    o = out_json(&r);
    ck_assert_uint_eq(json_array_size(json_object_get(o, "items")), 1);
    json_decref(o);
    ctl_itest_free(&r);
    CTL(&r, "ls", "--state", "succeeded", "--task", "CartPole", "--json");
    ASSERT_CODE(&r, 0);
    o = out_json(&r);
    ck_assert_uint_ge(json_array_size(json_object_get(o, "items")), 1);
    json_decref(o);
    ctl_itest_free(&r);
    CTL(&r, "ls", "--task", "Nothing");
    ASSERT_CODE(&r, 0);
    ck_assert_int_eq(ctl_itest_count(r.out, "\n"), 1); /* the header only */
    ck_assert_ptr_nonnull(strstr(r.err, "no task \"Nothing\" (angoractl tasks lists them)"));
    ctl_itest_free(&r);
    /* a mistyped task name: the closest one is offered */
    CTL(&r, "ls", "--task", "Cartpole");
    ASSERT_CODE(&r, 0);
    ck_assert_ptr_nonnull(strstr(r.err, "no task \"Cartpole\": did you mean \"CartPole\"?"));
    ctl_itest_free(&r);
    CTL(&r, "ls", "--state", "sleeping");
    ASSERT_CODE(&r, 6);
    ck_assert_ptr_nonnull(strstr(r.err, "state must be"));
    ctl_itest_free(&r);
    /* pages */
    CTL(&r, "ls", "--limit", "1");
    ASSERT_CODE(&r, 0);
    ck_assert_ptr_nonnull(strstr(r.out, "second"));
    ck_assert_ptr_null(strstr(r.out, "renamed"));
    ck_assert_ptr_nonnull(strstr(r.err, "more experiments: --cursor"));
    ctl_itest_free(&r);
    CTL(&r, "ls", "--limit", "1", "--all", "--json");
    ASSERT_CODE(&r, 0);
    o = out_json(&r);
    ck_assert_uint_eq(json_array_size(json_object_get(o, "items")), 2);
    ck_assert(json_is_null(json_object_get(o, "next_cursor")));
    json_decref(o);
    ctl_itest_free(&r);
    stop();
}
END_TEST

/* a small downloaded file as a string (NULL when missing) */
static char *read_small(const char *path) {
    FILE *f = fopen(path, "r");
    char *buf;
    size_t n;
    if (!f) {
        return NULL;
    }
    buf = calloc(1, 4096);
    n = buf ? fread(buf, 1, 4095, f) : 0;
    (void)n;
    fclose(f);
    return buf;
}

START_TEST(test_run_files) {
    CtlRun r;
    long long id;
    char ids[32], *data = NULL;
    json_t *o;
    FILE *f;
    start();
    ctl_itest_write(path_in("quick.json"), spec_quick);
    CTL(&r, "submit", path_in("quick.json"));
    ASSERT_CODE(&r, 0);
    id = ctl_itest_submitted_id(&r);
    ctl_itest_free(&r);
    snprintf(ids, sizeof(ids), "%lld", id);
    json_decref(itest_wait_state(&d, id, "succeeded", 60));
    itest_wait_rows(&d, id, 6, 30);

    /* metrics: a table of the rows, the keys, CSV and JSON */
    CTL(&r, "metrics", ids);
    ASSERT_CODE(&r, 0);
    ck_assert_ptr_nonnull(strstr(r.out, "seq  iteration  env_steps  return_mean"));
    ck_assert_int_eq(ctl_itest_count(r.out, "\n"), 7);
    ck_assert_ptr_nonnull(strstr(r.out, "60.25"));
    ctl_itest_free(&r);
    /* --key: iteration and env_steps come first, whatever the order asked */
    CTL(&r, "metrics", ids, "--key", "loss", "--key", "iteration");
    ASSERT_CODE(&r, 0);
    ck_assert_ptr_nonnull(strstr(r.out, "seq  iteration  env_steps  loss\n"));
    ck_assert_str_eq(r.err, "");
    ctl_itest_free(&r);
    /* CSV honours --key, floats in their shortest exact form, seq last; an unknown key is left
     * out with a warning naming the closest */
    CTL(&r, "metrics", ids, "--csv", "--key", "return_mean", "--key", "los");
    ASSERT_CODE(&r, 0);
    ck_assert_msg(!strncmp(r.out, "iteration,env_steps,return_mean,seq\n1,1000,10.25,1\n",
                           strlen("iteration,env_steps,return_mean,seq\n1,1000,10.25,1\n")),
                  "%s", r.out);
    ck_assert_ptr_nonnull(strstr(r.out, "\n6,6000,60.25,6\n"));
    ck_assert_msg(strstr(r.err, "angoractl: warning: experiment ") &&
                      strstr(r.err, " has no metric \"los\" (did you mean loss?); left out"),
                  "%s", r.err);
    ctl_itest_free(&r);
    CTL(&r, "metrics", ids, "--csv", "--key", "loss");
    ASSERT_CODE(&r, 0);
    ck_assert_ptr_nonnull(strstr(r.out, "iteration,env_steps,loss,seq\n1,1000,0.1,1\n"));
    ctl_itest_free(&r);
    /* JSON with --key keeps only those keys */
    CTL(&r, "metrics", ids, "--json", "--key", "loss");
    ASSERT_CODE(&r, 0);
    o = out_json(&r);
    {
        json_t *row = json_object_get(json_array_get(json_object_get(o, "rows"), 0), "row");
        ck_assert_uint_eq(json_object_size(row), 3);
        ck_assert_double_eq_tol(json_number_value(json_object_get(row, "loss")), 0.1, 1e-15);
        ck_assert_ptr_null(json_object_get(row, "return_mean"));
    }
    ck_assert_ptr_nonnull(strstr(r.out, "\"loss\": 0.1\n"));
    json_decref(o);
    ctl_itest_free(&r);
    CTL(&r, "metrics", ids, "--keys");
    ASSERT_CODE(&r, 0);
    ck_assert_ptr_nonnull(strstr(r.out, "return_mean\n"));
    ck_assert_ptr_nonnull(strstr(r.out, "env_steps\n"));
    ctl_itest_free(&r);
    CTL(&r, "metrics", ids, "--csv");
    ASSERT_CODE(&r, 0);
    ck_assert_msg(strncmp(r.out, "iteration,env_steps,", 20) == 0, "%s", r.out);
    ck_assert_ptr_nonnull(strstr(r.out, ",loss,"));
    ck_assert_ptr_nonnull(strstr(r.out, ",return_mean,"));
    ck_assert_int_eq(ctl_itest_count(r.out, "\n"), 7);
    ctl_itest_free(&r);
    CTL(&r, "metrics", ids, "--json", "--after-seq", "0", "--limit", "4");
    ASSERT_CODE(&r, 0);
    o = out_json(&r);
    ck_assert_uint_eq(json_array_size(json_object_get(o, "rows")), 4);
    json_decref(o);
    ctl_itest_free(&r);
    CTL(&r, "metrics", ids, "--keys", "--csv");
    ASSERT_CODE(&r, 2);
    ctl_itest_free(&r);

    /* logs */
    CTL(&r, "logs", ids);
    ASSERT_CODE(&r, 0);
    ck_assert_ptr_nonnull(strstr(r.out, "fake trainer pid"));
    ck_assert_ptr_nonnull(strstr(r.out, "done\n"));
    ctl_itest_free(&r);
    CTL(&r, "logs", ids, "--json");
    ASSERT_CODE(&r, 0);
    o = out_json(&r);
    ck_assert_str_eq(json_string_value(json_object_get(o, "file")), "train");
    ck_assert_ptr_nonnull(strstr(json_string_value(json_object_get(o, "text")), "done\n"));
    ck_assert(strncmp(json_string_value(json_object_get(o, "range")), "0-", 2) == 0);
    json_decref(o);
    ctl_itest_free(&r);
    CTL(&r, "logs", ids, "--worker");
    ASSERT_CODE(&r, 0);
    ctl_itest_free(&r);
    CTL(&r, "logs", ids, "--tail", "5");
    ASSERT_CODE(&r, 0);
    ck_assert_str_eq(r.out, "done\n");
    ctl_itest_free(&r);

    /* checkpoints and download */
    CTL(&r, "checkpoints", ids);
    ASSERT_CODE(&r, 0);
    ck_assert_ptr_nonnull(strstr(r.out, "NAME"));
    ck_assert_ptr_nonnull(strstr(r.out, "last.ckpt"));
    ck_assert_ptr_nonnull(strstr(r.out, "2 B"));
    ctl_itest_free(&r);
    CTL(&r, "checkpoints", ids, "--json");
    ASSERT_CODE(&r, 0);
    o = out_json(&r);
    ck_assert_uint_eq(json_array_size(json_object_get(o, "items")), 1);
    json_decref(o);
    ctl_itest_free(&r);
    CTL(&r, "download", ids, "-o", path_in("got.ckpt"));
    ASSERT_CODE(&r, 0);
    f = fopen(path_in("got.ckpt"), "r");
    ck_assert_ptr_nonnull(f);
    data = calloc(1, 64);
    ck_assert_uint_eq(fread(data, 1, 63, f), 2);
    fclose(f);
    ck_assert_str_eq(data, "6\n");
    free(data);
    ck_assert_int_eq(access(path_in("got.ckpt.part"), F_OK), -1);
    ctl_itest_free(&r);
    CTL(&r, "download", ids, "--checkpoint", "last.ckpt", "-o", "-");
    ASSERT_CODE(&r, 0);
    ck_assert_str_eq(r.out, "6\n");
    ctl_itest_free(&r);
    CTL(&r, "download", ids, "--checkpoint", "none.ckpt", "-o", path_in("none.ckpt"));
    ASSERT_CODE(&r, 3);
    ck_assert_ptr_nonnull(strstr(r.err, "no checkpoint none.ckpt"));
    /* nothing is left behind */
    ck_assert_int_eq(access(path_in("none.ckpt"), F_OK), -1);
    ck_assert_int_eq(access(path_in("none.ckpt.part"), F_OK), -1);
    ctl_itest_free(&r);
    CTL(&r, "download", ids, "--checkpoint", "../etc/passwd", "-o", path_in("x"));
    ck_assert_int_ne(r.code, 0);
    ctl_itest_free(&r);
    CTL(&r, "download", ids);
    ASSERT_CODE(&r, 2);
    ck_assert_ptr_nonnull(strstr(r.err, "-o FILE is required"));
    ctl_itest_free(&r);

    /* evaluate: waits for the job and prints its result */
    CTL(&r, "evaluate", ids, "--episodes", "3");
    ASSERT_CODE(&r, 0);
    ck_assert_ptr_nonnull(strstr(r.out, "return 42 +- 1 over 3 episodes"));
    ck_assert_ptr_nonnull(strstr(r.out, "95% CI of the return [40.5, 43.5]"));
    ck_assert_ptr_nonnull(
        strstr(r.out, "success 0.75 +- 0.5\n  95% CI of the success [0.25, 0.95]"));
    ctl_itest_free(&r);
    CTL(&r, "evaluate", ids, "--no-wait", "--json");
    ASSERT_CODE(&r, 0);
    o = out_json(&r);
    ck_assert_str_eq(json_string_value(json_object_get(o, "kind")), "evaluate");
    json_decref(o);
    ctl_itest_free(&r);
    CTL(&r, "evaluate", ids, "--episodes", "0");
    ASSERT_CODE(&r, 2);
    ctl_itest_free(&r);
    /* --record: the job records an episode; download fetches the video and the trajectory */
    CTL(&r, "evaluate", ids, "--record", "--json");
    ASSERT_CODE(&r, 0);
    o = out_json(&r);
    ck_assert(json_is_object(json_object_get(o, "recording")));
    {
        long long eval_id = json_integer_value(json_object_get(o, "evaluation_id"));
        char eids[32], want[64], *text;
        json_decref(o);
        ctl_itest_free(&r);
        ck_assert_int_gt(eval_id, 0);
        snprintf(eids, sizeof(eids), "%lld", eval_id);
        CTL(&r, "download", eids, "--video", "-o", path_in("eval.mp4"));
        ASSERT_CODE(&r, 0);
        ctl_itest_free(&r);
        text = read_small(path_in("eval.mp4"));
        ck_assert_ptr_nonnull(text);
        ck_assert_ptr_nonnull(strstr(text, "fake video of"));
        free(text);
        CTL(&r, "download", eids, "--trajectory", "-o", path_in("eval.json"), "--json");
        ASSERT_CODE(&r, 0);
        o = out_json(&r);
        ck_assert_str_eq(json_string_value(json_object_get(o, "recording")), "trajectory");
        json_decref(o);
        ctl_itest_free(&r);
        text = read_small(path_in("eval.json"));
        ck_assert_ptr_nonnull(text);
        ck_assert_ptr_nonnull(strstr(text, "\"steps\""));
        free(text);
        /* the training run itself has no recording: not found, nothing left behind */
        CTL(&r, "download", ids, "--video", "-o", path_in("none.mp4"));
        ASSERT_CODE(&r, 3);
        ck_assert_ptr_nonnull(strstr(r.err, "no evaluation video"));
        ck_assert_int_eq(access(path_in("none.mp4"), F_OK), -1);
        ck_assert_int_eq(access(path_in("none.mp4.part"), F_OK), -1);
        ctl_itest_free(&r);
        CTL(&r, "download", eids, "--video", "--checkpoint", "last.ckpt", "-o", path_in("x"));
        ASSERT_CODE(&r, 2);
        ctl_itest_free(&r);
        /* the human-readable result says how to fetch the recording */
        CTL(&r, "evaluate", ids, "--record");
        ASSERT_CODE(&r, 0);
        snprintf(want, sizeof(want), "--video -o FILE.mp4");
        ck_assert_ptr_nonnull(strstr(r.out, want));
        ctl_itest_free(&r);
    }

    stop();
}
END_TEST

/* angoractl rm ID on a terminal answering its question with answer: the exit code, with
 * everything the terminal showed in r->out */
static int rm_on_terminal(const char *ids, const char *answer, CtlRun *r) {
    const char *args[] = {"--data-dir", d.dir, "rm", ids, NULL};
    r->out = ctl_itest_run_tty(args, "[y/N]", answer, &r->code);
    r->err = strdup("");
    return r->code;
}

START_TEST(test_control) {
    CtlRun r;
    long long id;
    char ids[32];
    start();
    ctl_itest_write(path_in("long.json"), spec_long);
    CTL(&r, "submit", path_in("long.json"));
    ASSERT_CODE(&r, 0);
    id = ctl_itest_submitted_id(&r);
    ctl_itest_free(&r);
    snprintf(ids, sizeof(ids), "%lld", id);
    json_decref(itest_wait_state(&d, id, "running", 30));
    itest_wait_rows(&d, id, 2, 30);
    /* a running run has an ETA: the rest of its budget at its steps/s, from the same answer */
    CTL(&r, "show", ids, "--json");
    ASSERT_CODE(&r, 0);
    {
        json_t *o = json_loads(r.out, 0, NULL);
        double rate = json_number_value(json_object_get(o, "steps_per_s"));
        double steps = json_number_value(json_object_get(o, "latest_env_steps"));
        double wall = json_number_value(json_object_get(o, "latest_wall_s"));
        double budget = json_number_value(json_object_get(o, "budget_env_steps"));
        ck_assert_ptr_nonnull(o);
        ck_assert(steps > 0 && wall > 0 && budget > steps);
        ck_assert_double_eq_tol(rate, steps / wall, 1e-9);
        ck_assert_double_eq_tol(json_number_value(json_object_get(o, "eta_s")),
                                (budget - steps) / rate, 1e-6);
        ck_assert(json_number_value(json_object_get(o, "duration_s")) >= 0);
        json_decref(o);
    }
    ctl_itest_free(&r);
    CTL(&r, "ls");
    ASSERT_CODE(&r, 0);
    ck_assert_msg(strstr(r.out, "running") && !strstr(strstr(r.out, "running"), "  -  "), "%s",
                  r.out);
    ctl_itest_free(&r);
    /* rm refuses a running experiment */
    CTL(&r, "rm", ids, "--yes");
    ASSERT_CODE(&r, 6);
    ctl_itest_free(&r);
    CTL(&r, "pause", ids);
    ASSERT_CODE(&r, 0);
    ck_assert_ptr_nonnull(strstr(r.out, "pause requested"));
    ctl_itest_free(&r);
    json_decref(itest_wait_state(&d, id, "paused", 30));
    CTL(&r, "resume", ids);
    ASSERT_CODE(&r, 0);
    ck_assert_ptr_nonnull(strstr(r.out, "resumed"));
    ctl_itest_free(&r);
    json_decref(itest_wait_state(&d, id, "running", 30));
    CTL(&r, "cancel", ids, "--json");
    ASSERT_CODE(&r, 0);
    ck_assert_ptr_nonnull(strstr(r.out, "\"id\""));
    ctl_itest_free(&r);
    json_decref(itest_wait_state(&d, id, "cancelled", 30));
    /* a finished experiment cannot be cancelled again: rejected */
    CTL(&r, "cancel", ids);
    ASSERT_CODE(&r, 6);
    ctl_itest_free(&r);
    CTL(&r, "resume", ids);
    ASSERT_CODE(&r, 6);
    ctl_itest_free(&r);
    /* rm from a script (stdin is not a terminal) refuses without --yes, before any request */
    CTL(&r, "rm", ids);
    ASSERT_CODE(&r, 2);
    ck_assert_ptr_nonnull(strstr(r.err, "not a terminal"));
    ck_assert_ptr_nonnull(strstr(r.err, "--yes"));
    ctl_itest_free(&r);
    CTL(&r, "show", ids);
    ASSERT_CODE(&r, 0);
    ctl_itest_free(&r);
    /* on a terminal it asks: "n" keeps it, "y" deletes it */
    ck_assert_int_eq(rm_on_terminal(ids, "n\n", &r), 1);
    ck_assert_msg(strstr(r.out, "delete experiment ") && strstr(r.out, "[y/N]") &&
                      strstr(r.out, "not deleted"),
                  "%s", r.out);
    ctl_itest_free(&r);
    CTL(&r, "show", ids);
    ASSERT_CODE(&r, 0);
    ctl_itest_free(&r);
    ck_assert_int_eq(rm_on_terminal(ids, "y\n", &r), 0);
    ck_assert_msg(strstr(r.out, "\"long\" (cancelled") && strstr(r.out, "deleted"), "%s", r.out);
    ctl_itest_free(&r);
    CTL(&r, "show", ids);
    ASSERT_CODE(&r, 3);
    ctl_itest_free(&r);
    /* --yes deletes without asking */
    ctl_itest_write(path_in("quick.json"), spec_quick);
    CTL(&r, "submit", path_in("quick.json"));
    ASSERT_CODE(&r, 0);
    id = ctl_itest_submitted_id(&r);
    ctl_itest_free(&r);
    snprintf(ids, sizeof(ids), "%lld", id);
    json_decref(itest_wait_state(&d, id, "succeeded", 60));
    CTL(&r, "rm", ids, "--yes");
    ASSERT_CODE(&r, 0);
    ck_assert_ptr_nonnull(strstr(r.out, "deleted"));
    ctl_itest_free(&r);
    CTL(&r, "show", ids);
    ASSERT_CODE(&r, 3);
    ctl_itest_free(&r);
    stop();
}
END_TEST

START_TEST(test_tokens_tasks_version) {
    CtlRun r;
    char token[128], url[64], idtext[32];
    json_t *o, *items, *v;
    size_t i;
    long long tid = 0;
    start();
    snprintf(url, sizeof(url), "http://127.0.0.1:%d", d.port);
    CTL(&r, "version");
    ASSERT_CODE(&r, 0);
    ck_assert_ptr_nonnull(strstr(r.out, "angoractl 0.1.0\n"));
    ck_assert_ptr_nonnull(strstr(r.out, "angorad 0.1.0 at http://127.0.0.1:"));
    ctl_itest_free(&r);
    CTL(&r, "version", "--json");
    ASSERT_CODE(&r, 0);
    o = out_json(&r);
    ck_assert_str_eq(json_string_value(json_object_get(o, "client")), "0.1.0");
    ck_assert_str_eq(json_string_value(json_object_get(json_object_get(o, "server"), "version")),
                     "0.1.0");
    json_decref(o);
    ctl_itest_free(&r);
    /* a readable table: one row per task, its spaces and what it is */
    CTL(&r, "tasks");
    ASSERT_CODE(&r, 0);
    ck_assert_ptr_nonnull(
        strstr(r.out, "TASK       OBS  ACTIONS        STEPS  METRICS  SUMMARY\n"));
    ck_assert_ptr_nonnull(
        strstr(r.out, "CartPole     4  discrete 2       500           Balance a pole on a cart\n"));
    ck_assert_ptr_nonnull(strstr(r.out, "Pendulum     -  -                  -"));
    ck_assert_ptr_nonnull(strstr(
        r.out,
        "HandReach   58  continuous 20    100  success  Reach a target with the fingertips"));
    ck_assert_int_eq(ctl_itest_count(r.out, "\n"), 4);
    ctl_itest_free(&r);
    CTL(&r, "tasks", "--json");
    ASSERT_CODE(&r, 0);
    o = out_json(&r);
    ck_assert_uint_eq(json_array_size(o), 3);
    json_decref(o);
    ctl_itest_free(&r);

    /* a read token: it reads but cannot change anything */
    CTL(&r, "token", "create", "reader");
    ASSERT_CODE(&r, 0);
    ck_assert(strncmp(r.out, "ang_", 4) == 0);
    snprintf(token, sizeof(token), "%.68s", r.out);
    ck_assert_ptr_nonnull(strstr(r.err, "shown only this once"));
    ctl_itest_free(&r);
    ctl_itest_run(&r, "--url", url, "--token", token, "ls", NULL);
    ASSERT_CODE(&r, 0);
    ctl_itest_free(&r);
    ctl_itest_write(path_in("quick.json"), spec_quick);
    ctl_itest_run(&r, "--url", url, "--token", token, "submit", path_in("quick.json"), NULL);
    ASSERT_CODE(&r, 4);
    ck_assert_ptr_nonnull(strstr(r.err, "read-only"));
    ctl_itest_free(&r);
    /* the environment works as well as flags */
    setenv("ANGORA_URL", url, 1);
    setenv("ANGORA_TOKEN", token, 1);
    ctl_itest_run(&r, "token", "list", NULL);
    ASSERT_CODE(&r, 4);
    ctl_itest_free(&r);
    unsetenv("ANGORA_URL");
    unsetenv("ANGORA_TOKEN");

    CTL(&r, "token", "list", "--json");
    ASSERT_CODE(&r, 0);
    o = out_json(&r);
    items = json_object_get(o, "items");
    ck_assert_uint_eq(json_array_size(items), 2);
    json_array_foreach(items, i, v) {
        if (!strcmp(json_string_value(json_object_get(v, "name")), "reader")) {
            tid = json_integer_value(json_object_get(v, "id"));
            ck_assert_str_eq(json_string_value(json_object_get(v, "scope")), "read");
        }
    }
    ck_assert_int_gt(tid, 0);
    json_decref(o);
    ctl_itest_free(&r);
    CTL(&r, "token", "list");
    ASSERT_CODE(&r, 0);
    ck_assert_ptr_nonnull(strstr(r.out, "reader"));
    ck_assert_ptr_nonnull(strstr(r.out, "SCOPE"));
    ctl_itest_free(&r);
    snprintf(idtext, sizeof(idtext), "%lld", tid);
    CTL(&r, "token", "revoke", idtext);
    ASSERT_CODE(&r, 0);
    ck_assert_ptr_nonnull(strstr(r.out, "revoked"));
    ctl_itest_free(&r);
    /* the revoked token no longer works */
    ctl_itest_run(&r, "--url", url, "--token", token, "ls", NULL);
    ASSERT_CODE(&r, 4);
    ck_assert_ptr_nonnull(strstr(r.err, "unknown or revoked token"));
    ctl_itest_free(&r);
    CTL(&r, "token", "revoke", "9999");
    ASSERT_CODE(&r, 3);
    ctl_itest_free(&r);
    CTL(&r, "token", "create", "x", "--scope", "admin");
    ASSERT_CODE(&r, 2);
    ctl_itest_free(&r);
    CTL(&r, "token", "create");
    ASSERT_CODE(&r, 2);
    ctl_itest_free(&r);
    CTL(&r, "token", "frob");
    ASSERT_CODE(&r, 2);
    ctl_itest_free(&r);
    /* a full token from the config file */
    CTL(&r, "token", "create", "writer", "--scope", "full", "--json");
    ASSERT_CODE(&r, 0);
    o = out_json(&r);
    {
        char cfg[512];
        snprintf(cfg, sizeof(cfg), "{\"url\": \"%s\", \"token\": \"%s\"}", url,
                 json_string_value(json_object_get(o, "token")));
        ctl_itest_write(path_in("client.json"), cfg);
        /* a config holding a token is used only when it is private */
        ck_assert_int_eq(chmod(path_in("client.json"), 0600), 0);
    }
    json_decref(o);
    ctl_itest_free(&r);
    ctl_itest_run(&r, "--config", path_in("client.json"), "submit", path_in("quick.json"), NULL);
    ASSERT_CODE(&r, 0);
    ctl_itest_free(&r);
    stop();
}
END_TEST

static Suite *commands_suite(void) {
    Suite *s = suite_create("client_commands");
    TCase *tc = tcase_create("commands");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_submit_show_ls);
    tcase_add_test(tc, test_run_files);
    tcase_add_test(tc, test_control);
    tcase_add_test(tc, test_tokens_tasks_version);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) {
    return itest_run_suite(commands_suite());
}
