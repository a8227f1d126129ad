/* Integration with the real trainer: angorad runs angora-train on a short CartPole spec; the
 * run succeeds and its metric rows are complete (iterations 1..N, N from the budget). */
#include "itest.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

START_TEST(test_cartpole_real_trainer) {
    const char *trainer = getenv("ITEST_TRAINER");
    /* 5 iterations of 4 environments x 128 steps */
    const char *spec = "{\"task\":\"CartPole\",\"name\":\"cartpole-e2e\",\"seed\":1,"
                       "\"ppo\":{\"envs_per_rank\":4,\"horizon\":128,\"minibatch\":128},"
                       "\"budget\":{\"env_steps\":2560}}";
    Daemon d;
    HttpResult r;
    char path[256];
    long long id;
    json_t *o;
    double secs;
    ck_assert_msg(trainer && *trainer, "ITEST_TRAINER is not set");
    itest_daemon_init(&d);
    itest_daemon_start(&d, trainer, NULL);
    /* the catalogue comes from angora-train --list-tasks */
    itest_http(&d, "GET", "/api/v1/catalogue", "", NULL, 0, &r);
    ck_assert_int_eq(r.status, 200);
    ck_assert_msg(!json_is_null(json_object_get(r.json, "tasks")), "no task catalogue");
    ck_assert_ptr_nonnull(strstr(r.body, "CartPole"));
    itest_http_free(&r);

    id = itest_submit(&d, spec, 0);
    o = itest_wait_state(&d, id, "succeeded", 240);
    json_decref(o);
    itest_assert_rows_exact(&d, id, 5);
    snprintf(path, sizeof(path), "/api/v1/experiments/%lld/checkpoints", id);
    itest_http(&d, "GET", path, "", NULL, 0, &r);
    ck_assert_int_eq(r.status, 200);
    ck_assert_ptr_nonnull(strstr(r.body, "last.ckpt"));
    itest_http_free(&r);
    snprintf(path, sizeof(path),
             "/api/v1/experiments/%lld/metrics/series?key=return_mean&points=1000", id);
    itest_http(&d, "GET", path, "", NULL, 0, &r);
    ck_assert_int_eq(r.status, 200);
    ck_assert_int_eq(json_array_size(json_object_get(r.json, "x")), 5);
    itest_http_free(&r);
    ck_assert_int_eq(itest_daemon_stop(&d, &secs), 0);
    itest_daemon_cleanup(&d);
}
END_TEST

int main(void) {
    const TTest *tests[] = {test_cartpole_real_trainer};
    return itest_run_tests("integration_cartpole", 280, tests, ITEST_COUNT(tests));
}
