/* End-to-end tests of angoractl's analysis commands against a running angorad with the test
 * doubles of angora-train and angora-analyze: analyze (the job's id, --wait with its phases and
 * the best layer per variable, --json), bad input refused by the server (exit 6) and a job that
 * fails (exit 1 with the analyzer's message), download --analysis into a folder with and without
 * --h5, and its usage errors. */
#include "ctl_itest.h"

#include <check.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static Daemon d;

#define CTL(r, ...) ctl_itest_run(r, "--data-dir", d.dir, __VA_ARGS__, (const char *)NULL)

static const char *spec_quick = "{\"task\":\"CartPole\",\"name\":\"quick\","
                                "\"notes\":\"fake:iters=2,sleep=0.01\"}";

/* a daemon with both test doubles and a finished training run; its id as text in ids */
static long long start(char *ids, size_t ids_sz) {
    const char *extra[] = {"--analyzer", itest_fake_analyzer(), NULL};
    long long id;
    ctl_itest_start(&d, extra);
    id = itest_submit(&d, spec_quick, 0);
    json_decref(itest_wait_state(&d, id, "succeeded", 60));
    snprintf(ids, ids_sz, "%lld", id);
    return id;
}

static int file_has(const char *path, const char *text) {
    char buf[4096] = "";
    FILE *f = fopen(path, "r");
    size_t n;
    if (!f) {
        return 0;
    }
    n = fread(buf, 1, sizeof(buf) - 1, f);
    buf[n] = '\0';
    fclose(f);
    return strstr(buf, text) != NULL;
}

START_TEST(test_analyze) {
    CtlRun r;
    char ids[32], job[32];
    json_t *o;
    start(ids, sizeof(ids));

    /* queued: the job's id alone on stdout, what was queued on stderr */
    CTL(&r, "analyze", ids, "--episodes", "6");
    ASSERT_CODE(&r, 0);
    ck_assert_msg(strspn(r.out, "0123456789") == strlen(r.out) - 1, "%s", r.out);
    snprintf(job, sizeof(job), "%.*s", (int)strlen(r.out) - 1, r.out);
    ck_assert_msg(strstr(r.err, "queued analysis") && strstr(r.err, "6 episodes"), "%s", r.err);
    ctl_itest_free(&r);
    json_decref(itest_wait_state(&d, atoll(job), "succeeded", 60));
    CTL(&r, "show", job);
    ASSERT_CODE(&r, 0);
    ck_assert_msg(strstr(r.out, "analysis") && strstr(r.out, "phase          done"), "%s", r.out);
    ctl_itest_free(&r);

    /* --wait: the phases on stderr, the best layer of each variable on stdout */
    CTL(&r, "analyze", ids, "--ckpt", "last", "--episodes", "4", "--deterministic", "--variables",
        "action,obs.state", "--wait", "--interval", "0.1");
    ASSERT_CODE(&r, 0);
    ck_assert_msg(strstr(r.err, ": succeeded done"), "%s", r.err);
    ck_assert_msg(strstr(r.out, "last.ckpt, 4 episodes"), "%s", r.out);
    ck_assert_msg(strstr(r.out, "VARIABLE   BEST LAYER        R2  R2 SHUFFLED"), "%s", r.out);
    /* the test double's R^2 fall with each result: the first layer is best for both */
    ck_assert_msg(strstr(r.out, "action     policy.core.h  0.830"), "%s", r.out);
    ck_assert_msg(strstr(r.out, "obs.state  policy.core.h  0.760"), "%s", r.out);
    ck_assert_ptr_nonnull(strstr(r.out, "--analysis"));
    ctl_itest_free(&r);
    CTL(&r, "--json", "analyze", ids, "--episodes", "3", "--wait", "--interval", "0.1");
    ASSERT_CODE(&r, 0);
    o = json_loads(r.out, 0, NULL);
    ck_assert_ptr_nonnull(o);
    ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(o, "spec"), "folds")), 3);
    ck_assert_str_eq(
        json_string_value(json_object_get(json_array_get(json_object_get(o, "best"), 1), "layer")),
        "policy.core.h");
    json_decref(o);
    ctl_itest_free(&r);

    /* refused by the server, with the field: exit 6 */
    CTL(&r, "analyze", ids, "--episodes", "0");
    ASSERT_CODE(&r, 6);
    ck_assert_msg(strstr(r.err, "episodes"), "%s", r.err);
    ctl_itest_free(&r);
    CTL(&r, "analyze", ids, "--ckpt", "best");
    ASSERT_CODE(&r, 6);
    ck_assert_msg(strstr(r.err, "no checkpoint best.ckpt (it has: last.ckpt)"), "%s", r.err);
    ctl_itest_free(&r);
    CTL(&r, "analyze", "999");
    ASSERT_CODE(&r, 3);
    ctl_itest_free(&r);
    CTL(&r, "analyze", ids, "--episodes", "many");
    ASSERT_CODE(&r, 2);
    ctl_itest_free(&r);
    /* the job fails: exit 1 and the analyzer's message */
    CTL(&r, "analyze", ids, "--variables", "speed", "--wait", "--interval", "0.1");
    ASSERT_CODE(&r, 1);
    ck_assert_msg(strstr(r.err, "failed: analysis failed (exit code 2): fake-analyzer:") &&
                      strstr(r.err, "unknown variable 'speed'"),
                  "%s", r.err);
    ctl_itest_free(&r);
    itest_daemon_finish(&d);
}
END_TEST

START_TEST(test_download_analysis) {
    CtlRun r;
    char ids[32], job[32], dir[600], file[700];
    long long id = start(ids, sizeof(ids));
    HttpResult h;
    char path[128];
    json_t *o;
    snprintf(path, sizeof(path), "/api/v1/experiments/%lld/analyses", id);
    itest_http(&d, "POST", path, "", "{}", 2, &h);
    ck_assert_int_eq(h.status, 201);
    snprintf(job, sizeof(job), "%lld",
             (long long)json_integer_value(json_object_get(h.json, "id")));
    itest_http_free(&h);
    json_decref(itest_wait_state(&d, atoll(job), "succeeded", 60));

    snprintf(dir, sizeof(dir), "%s", itest_path(&d, "results"));
    CTL(&r, "download", job, "--analysis", "-o", dir);
    ASSERT_CODE(&r, 0);
    ck_assert_msg(strstr(r.err, "wrote 4 files to"), "%s", r.err);
    ctl_itest_free(&r);
    snprintf(file, sizeof(file), "%s/analysis.json", dir);
    ck_assert(file_has(file, "\"format\":\"angora-analysis\""));
    snprintf(file, sizeof(file), "%s/decoding.csv", dir);
    ck_assert(file_has(file, "layer,variable,r2,r2_shuffled,lambda\n"));
    snprintf(file, sizeof(file), "%s/decoding.png", dir);
    ck_assert(file_has(file, "fake figure"));
    snprintf(file, sizeof(file), "%s/activations.h5", dir);
    ck_assert_int_eq(access(file, F_OK), -1);
    snprintf(file, sizeof(file), "%s/decoding.csv.part", dir);
    ck_assert_int_eq(access(file, F_OK), -1);
    /* --h5 adds the recording; --json says what was written */
    CTL(&r, "--json", "download", job, "--analysis", "-o", dir, "--h5");
    ASSERT_CODE(&r, 0);
    o = json_loads(r.out, 0, NULL);
    ck_assert_ptr_nonnull(o);
    ck_assert_uint_eq(json_array_size(json_object_get(o, "files")), 5);
    json_decref(o);
    ctl_itest_free(&r);
    snprintf(file, sizeof(file), "%s/activations.h5", dir);
    ck_assert(file_has(file, "episodes=20"));
    /* the default folder is analysis-ID in the working directory */
    ck_assert_int_eq(chdir(d.dir), 0);
    CTL(&r, "download", job, "--analysis");
    ASSERT_CODE(&r, 0);
    ctl_itest_free(&r);
    snprintf(file, sizeof(file), "analysis-%s/pca.csv", job);
    ck_assert_int_eq(access(file, F_OK), 0);

    /* not an analysis job, or not one folder: refused */
    CTL(&r, "download", ids, "--analysis", "-o", dir);
    ASSERT_CODE(&r, 3);
    ck_assert_msg(strstr(r.err, "is a training run, not an analysis job"), "%s", r.err);
    ctl_itest_free(&r);
    CTL(&r, "download", job, "--analysis", "-o", "-");
    ASSERT_CODE(&r, 2);
    ctl_itest_free(&r);
    CTL(&r, "download", job, "--analysis", "--checkpoint", "last.ckpt");
    ASSERT_CODE(&r, 2);
    ctl_itest_free(&r);
    itest_daemon_finish(&d);
}
END_TEST

int main(void) {
    const TTest *tests[] = {test_analyze, test_download_analysis};
    return itest_run_tests("integration_client_analysis", 200, tests, ITEST_COUNT(tests));
}
