/* End-to-end tests of angoractl's pretrain command against a running angorad with the real
 * angora-train: pretrain queues a job (its id on stdout, the encoder's path on stderr), --wait
 * follows it and prints the last held-out errors and the encoder checkpoint, --json gives them as
 * JSON; a bad spec is refused locally with its JSON path (exit 6, nothing queued), a dataset
 * the server cannot find is refused by the server (exit 6), and usage errors exit 2. */
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

static const char *trainer(void) {
    const char *v = getenv("ITEST_TRAINER");
    ck_assert_msg(v && *v, "ITEST_TRAINER is not set");
    return v;
}

/* a daemon with the real trainer and a rendered dataset of 24 images; its path in data */
static void start(char *data, size_t data_sz) {
    char cmd[2048], spec[512];
    itest_daemon_init(&d);
    itest_daemon_start(&d, trainer(), NULL);
    ctl_itest_env_init(&d);
    snprintf(spec, sizeof spec, "%s", itest_path(&d, "data.json"));
    snprintf(data, data_sz, "%s", itest_path(&d, "d.h5"));
    ctl_itest_write(spec, "{\"samples\": 24, \"image_size\": 16, \"seed\": 2}");
    snprintf(cmd, sizeof cmd,
             "ASAN_OPTIONS=fast_unwind_on_malloc=1:detect_leaks=0 '%s' --pretrain-data '%s' "
             "--out '%s' >/dev/null",
             trainer(), spec, data);
    ck_assert_int_eq(system(cmd), 0);
}

static long long experiments_count(void) {
    HttpResult r;
    long long n;
    itest_http(&d, "GET", "/api/v1/experiments", "", NULL, 0, &r);
    ck_assert_int_eq(r.status, 200);
    n = (long long)json_array_size(json_object_get(r.json, "items"));
    itest_http_free(&r);
    return n;
}

START_TEST(test_pretrain_command) {
    CtlRun r;
    char data[512], spec_path[512], text[1024], id[32];
    json_t *o;
    struct stat sb;
    start(data, sizeof data);
    snprintf(spec_path, sizeof spec_path, "%s", itest_path(&d, "pre.json"));
    snprintf(text, sizeof text, "{\"data\": \"%s\", \"epochs\": 2, \"batch_size\": 8}", data);
    ctl_itest_write(spec_path, text);

    /* queued: the id alone on stdout, the encoder's path on stderr */
    CTL(&r, "pretrain", spec_path, "--name", "enc", "--priority", "2");
    ASSERT_CODE(&r, 0);
    ck_assert_msg(strspn(r.out, "0123456789") == strlen(r.out) - 1, "%s", r.out);
    snprintf(id, sizeof id, "%.*s", (int)strlen(r.out) - 1, r.out);
    ASSERT_ERR(&r, "queued pretrain");
    ASSERT_ERR(&r, "\"enc\"");
    ASSERT_ERR(&r, "/checkpoints/best.ckpt");
    ctl_itest_free(&r);
    o = itest_wait_state(&d, atoll(id), "succeeded", 60);
    ck_assert_str_eq(json_string_value(json_object_get(o, "kind")), "pretrain");
    ck_assert_int_eq(json_integer_value(json_object_get(o, "priority")), 2);
    json_decref(o);

    /* --wait: the last held-out errors and the encoder on stdout */
    CTL(&r, "pretrain", spec_path, "--wait", "--interval", "0.1");
    ASSERT_CODE(&r, 0);
    ck_assert_msg(strstr(r.out, "succeeded: 2 epochs, held-out position RMSE "), "%s", r.out);
    ck_assert_msg(strstr(r.out, "median rotation error "), "%s", r.out);
    ck_assert_msg(strstr(r.out, "encoder: /") && strstr(r.out, "/checkpoints/best.ckpt\n"), "%s",
                  r.out);
    ctl_itest_free(&r);

    /* --json --wait: one object with the encoder and the last row */
    CTL(&r, "--json", "pretrain", spec_path, "--wait", "--interval", "0.1");
    ASSERT_CODE(&r, 0);
    o = ctl_itest_json(r.out, "stdout");
    ck_assert_str_eq(json_string_value(json_object_get(o, "state")), "succeeded");
    ck_assert_msg(stat(json_string_value(json_object_get(o, "encoder_checkpoint")), &sb) == 0, "%s",
                  r.out);
    ck_assert_int_eq(
        json_integer_value(json_object_get(json_object_get(o, "last_row"), "iteration")), 2);
    ck_assert(json_is_number(
        json_object_get(json_object_get(o, "last_row"), "holdout_position_rmse_mm")));
    json_decref(o);
    ctl_itest_free(&r);
    ck_assert_int_eq(experiments_count(), 3);
    itest_daemon_finish(&d);
}
END_TEST

START_TEST(test_pretrain_refused) {
    CtlRun r;
    char data[512], spec_path[512], text[1024];
    start(data, sizeof data);
    snprintf(spec_path, sizeof spec_path, "%s", itest_path(&d, "bad.json"));

    /* refused here, with the path, before the server is asked */
    snprintf(text, sizeof text, "{\"data\": \"%s\", \"epochs\": 0}", data);
    ctl_itest_write(spec_path, text);
    CTL(&r, "pretrain", spec_path);
    ASSERT_CODE(&r, 6);
    ASSERT_ERR(&r, "epochs");
    ctl_itest_free(&r);
    snprintf(text, sizeof text, "{\"data\": \"%s\", \"model\": \"simple_lstm\"}", data);
    ctl_itest_write(spec_path, text);
    CTL(&r, "pretrain", spec_path);
    ASSERT_CODE(&r, 6);
    ASSERT_ERR(&r, "model.core");
    ctl_itest_free(&r);
    ctl_itest_write(spec_path, "{\"data\": ");
    CTL(&r, "pretrain", spec_path);
    ASSERT_CODE(&r, 6);
    ctl_itest_free(&r);

    /* a dataset the server's machine does not have: the server's refusal */
    ctl_itest_write(spec_path, "{\"data\": \"/nonexistent/d.h5\"}");
    CTL(&r, "pretrain", spec_path);
    ASSERT_CODE(&r, 6);
    ASSERT_ERR(&r, "data");
    ASSERT_ERR(&r, "/nonexistent/d.h5");
    ctl_itest_free(&r);

    /* usage */
    CTL(&r, "pretrain");
    ASSERT_CODE(&r, 2);
    ctl_itest_free(&r);
    CTL(&r, "pretrain", itest_path(&d, "none.json"));
    ck_assert_msg(r.code != 0, "a missing spec file was accepted");
    ctl_itest_free(&r);
    CTL(&r, "pretrain", spec_path, "--priority", "5000");
    ASSERT_CODE(&r, 2);
    ctl_itest_free(&r);
    ck_assert_int_eq(experiments_count(), 0);
    itest_daemon_finish(&d);
}
END_TEST

int main(void) {
    const TTest *tests[] = {test_pretrain_command, test_pretrain_refused};
    return itest_run_tests("integration_client_pretrain", 200, tests, ITEST_COUNT(tests));
}
