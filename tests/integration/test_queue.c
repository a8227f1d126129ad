/* Integration: the queue order (priority, then submission) and the core limit with several
 * runs, including a two-rank run started through mpirun that takes both cores. */
#include "itest.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* cores used by running experiments, from the list endpoint */
static int cores_running(const Daemon *d) {
    HttpResult r;
    json_t *v;
    size_t i;
    int cores = 0;
    itest_http(d, "GET", "/api/v1/experiments?state=running", "", NULL, 0, &r);
    ck_assert_int_eq(r.status, 200);
    json_array_foreach(json_object_get(r.json, "items"), i, v) cores +=
        (int)json_integer_value(json_object_get(v, "ranks"));
    itest_http_free(&r);
    return cores;
}

static double started_at(const Daemon *d, long long id) {
    json_t *o = itest_get(d, id);
    double t = json_number_value(json_object_get(o, "started_at"));
    json_decref(o);
    return t;
}

START_TEST(test_priority_order_one_core) {
    const char *const extra[] = {"--max-cores", "1", NULL};
    const char *long_run = "{\"task\":\"CartPole\",\"notes\":\"fake:iters=10,sleep=0.05\"}";
    const char *short_run = "{\"task\":\"CartPole\",\"notes\":\"fake:iters=3,sleep=0.03\"}";
    Daemon d;
    long long a, b, c, e;
    double t0;
    int all_done = 0;
    itest_daemon_init(&d);
    itest_daemon_start(&d, itest_fake_trainer(), extra);
    a = itest_submit(&d, long_run, 0);
    json_decref(itest_wait_state(&d, a, "running", 10));
    b = itest_submit(&d, short_run, 0);
    c = itest_submit(&d, short_run, 5);
    e = itest_submit(&d, short_run, 0);
    /* never more than the one core in use while the queue drains */
    t0 = itest_now();
    while (itest_now() - t0 < 60 && !all_done) {
        json_t *o;
        ck_assert_int_le(cores_running(&d), 1);
        o = itest_get(&d, e);
        all_done = !strcmp(itest_state(o), "succeeded");
        json_decref(o);
        itest_sleep(0.03);
    }
    ck_assert_msg(all_done, "queue did not drain");
    json_decref(itest_wait_state(&d, a, "succeeded", 5));
    json_decref(itest_wait_state(&d, b, "succeeded", 5));
    json_decref(itest_wait_state(&d, c, "succeeded", 5));
    /* c (priority 5) overtook b and e; b ran before e (submission order) */
    ck_assert(started_at(&d, a) < started_at(&d, c));
    ck_assert(started_at(&d, c) < started_at(&d, b));
    ck_assert(started_at(&d, b) < started_at(&d, e));
    itest_assert_rows_exact(&d, c, 3);
    ck_assert_int_eq(itest_daemon_stop(&d, NULL), 0);
    itest_daemon_cleanup(&d);
}
END_TEST

START_TEST(test_two_cores_with_mpi_run) {
    const char *const extra[] = {"--max-cores", "2", NULL};
    const char *two = "{\"task\":\"CartPole\",\"ranks\":2,\"notes\":\"fake:iters=8,sleep=0.1\"}";
    const char *one = "{\"task\":\"CartPole\",\"notes\":\"fake:iters=3,sleep=0.03\"}";
    const char *three = "{\"task\":\"CartPole\",\"ranks\":3}";
    Daemon d;
    HttpResult r;
    long long big, small1, small2;
    json_t *o;
    double t0;
    int saw_pair = 0;
    if (access("/usr/bin/mpirun", X_OK) != 0) {
        return;
    }
    itest_daemon_init(&d);
    itest_daemon_start(&d, itest_fake_trainer(), extra);
    /* more ranks than cores is refused at submission */
    itest_http(&d, "POST", "/api/v1/experiments", "", three, strlen(three), &r);
    ck_assert_int_eq(r.status, 422);
    ck_assert_str_eq(json_string_value(json_object_get(r.json, "field")), "ranks");
    itest_http_free(&r);

    big = itest_submit(&d, two, 0);
    small1 = itest_submit(&d, one, 0);
    small2 = itest_submit(&d, one, 0);
    o = itest_wait_state(&d, big, "running", 10);
    json_decref(o);
    /* while the two-rank run holds both cores nothing else starts */
    t0 = itest_now();
    for (;;) {
        json_t *b = itest_get(&d, big);
        int running = !strcmp(itest_state(b), "running");
        json_decref(b);
        ck_assert_int_le(cores_running(&d), 2);
        if (!running) {
            break;
        }
        o = itest_get(&d, small1);
        ck_assert_str_eq(itest_state(o), "queued");
        json_decref(o);
        ck_assert(itest_now() - t0 < 60);
        itest_sleep(0.05);
    }
    json_decref(itest_wait_state(&d, big, "succeeded", 10));
    itest_assert_rows_exact(&d, big, 8);
    /* then the two one-rank runs share the cores */
    t0 = itest_now();
    while (itest_now() - t0 < 30) {
        json_t *x = itest_get(&d, small1), *y = itest_get(&d, small2);
        if (!strcmp(itest_state(x), "running") && !strcmp(itest_state(y), "running")) {
            saw_pair = 1;
        }
        if (!strcmp(itest_state(y), "succeeded") && !strcmp(itest_state(x), "succeeded")) {
            json_decref(x);
            json_decref(y);
            break;
        }
        json_decref(x);
        json_decref(y);
        itest_sleep(0.01);
    }
    json_decref(itest_wait_state(&d, small2, "succeeded", 1));
    /* both started before either finished: they ran side by side */
    {
        json_t *x = itest_get(&d, small1), *y = itest_get(&d, small2);
        double s2 = json_number_value(json_object_get(y, "started_at"));
        double f1 = json_number_value(json_object_get(x, "finished_at"));
        ck_assert_msg(saw_pair || s2 < f1, "the one-rank runs did not run together");
        json_decref(x);
        json_decref(y);
    }
    ck_assert_int_eq(itest_daemon_stop(&d, NULL), 0);
    itest_daemon_cleanup(&d);
}
END_TEST

/* a pause of a two-rank run under mpirun: its ranks finish their iteration (2 s here, longer than
 * the 1 s mpirun leaves between its own SIGTERM and SIGKILL) and write their checkpoint */
START_TEST(test_pause_of_mpi_run_lets_ranks_checkpoint) {
    const char *const extra[] = {"--max-cores", "2", NULL};
    const char *two = "{\"task\":\"CartPole\",\"ranks\":2,\"notes\":\"fake:iters=20,sleep=2\"}";
    Daemon d;
    char path[400], log[8192] = "";
    if (access("/usr/bin/mpirun", X_OK) != 0) {
        return;
    }
    itest_daemon_init(&d);
    itest_daemon_start(&d, itest_fake_trainer(), extra);
    long long id = itest_submit(&d, two, 0);
    itest_wait_rows(&d, id, 1, 60);
    HttpResult r;
    snprintf(path, sizeof(path), "/api/v1/experiments/%lld/pause", id);
    itest_http(&d, "POST", path, "", NULL, 0, &r);
    ck_assert_int_eq(r.status, 202);
    itest_http_free(&r);
    json_t *o = itest_wait_state(&d, id, "paused", 60);
    ck_assert_int_eq(json_integer_value(json_object_get(o, "attempts")), 0);
    json_decref(o);
    snprintf(path, sizeof(path), "%s/runs/%lld/train.log", d.dir, id);
    FILE *f = fopen(path, "r");
    ck_assert_ptr_nonnull(f);
    size_t n = fread(log, 1, sizeof(log) - 1, f);
    log[n] = '\0';
    fclose(f);
    ck_assert_msg(strstr(log, "interrupted at iteration") != NULL,
                  "the ranks were killed before they checkpointed: %s", log);
    /* and it goes on from there */
    snprintf(path, sizeof(path), "/api/v1/experiments/%lld/resume", id);
    itest_http(&d, "POST", path, "", NULL, 0, &r);
    ck_assert_int_eq(r.status, 200);
    itest_http_free(&r);
    json_decref(itest_wait_state(&d, id, "running", 60));
    snprintf(path, sizeof(path), "/api/v1/experiments/%lld/cancel", id);
    itest_http(&d, "POST", path, "", NULL, 0, &r);
    itest_http_free(&r);
    json_decref(itest_wait_state(&d, id, "cancelled", 60));
    itest_daemon_finish(&d);
}
END_TEST

int main(void) {
    const TTest *tests[] = {test_priority_order_one_core, test_two_cores_with_mpi_run,
                            test_pause_of_mpi_run_lets_ranks_checkpoint};
    return itest_run_tests("integration_queue", 200, tests, ITEST_COUNT(tests));
}
