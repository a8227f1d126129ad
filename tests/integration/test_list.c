/* Integration: the experiments list of angorad over HTTP with finished runs of the test trainer:
 * the list summary filled at ingestion (budget, latest iteration, env_steps, return), search by
 * name, every sort in both orders walked page by page through the opaque cursor, and 422
 * problems naming a bad parameter. */
#include "itest.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NRUNS 18

static json_t *get_json(const Daemon *d, const char *path) {
    HttpResult r;
    json_t *o;
    itest_http(d, "GET", path, "", NULL, 0, &r);
    ck_assert_msg(r.status == 200, "GET %s: %ld %s", path, r.status, r.body ? r.body : "");
    o = json_incref(r.json);
    itest_http_free(&r);
    return o;
}

static void wait_all_succeeded(const Daemon *d, double timeout_s) {
    double t0 = itest_now();
    for (;;) {
        json_t *o = get_json(d, "/api/v1/experiments?state=succeeded&limit=1000");
        size_t n = json_array_size(json_object_get(o, "items"));
        json_decref(o);
        if (n == NRUNS) {
            return;
        }
        ck_assert_msg(itest_now() - t0 < timeout_s, "only %zu of %d runs succeeded", n, NRUNS);
        itest_sleep(0.2);
    }
}

START_TEST(test_list) {
    static const char *const sorts[] = {"submitted", "name",     "task",   "state",   "priority",
                                        "started",   "finished", "return", "progress"};
    static const char *const tasks[] = {"CartPole", "Pendulum", "HandReach"};
    Daemon d;
    HttpResult r;
    char path[2048], spec[512];
    long long ids[NRUNS];
    json_t *o, *items, *it;
    itest_daemon_init(&d);
    itest_daemon_start(&d, itest_fake_trainer(), NULL);
    for (int i = 0; i < NRUNS; i++) {
        int iters = 1 + i % 4;
        snprintf(spec, sizeof(spec),
                 "{\"task\":\"%s\",\"name\":\"%s-%02d\",\"budget\":{\"env_steps\":%d},"
                 "\"notes\":\"fake:iters=%d,sleep=0.01\"}",
                 tasks[i % 3], i % 2 ? "Run" : "run", i, 8000, iters);
        ids[i] = itest_submit(&d, spec, i % 5 - 2);
    }
    wait_all_succeeded(&d, 120);

    /* the summary of a run is on its list item */
    snprintf(path, sizeof(path), "/api/v1/experiments?q=run-05");
    o = get_json(&d, path);
    items = json_object_get(o, "items");
    ck_assert_int_eq(json_array_size(items), 1);
    it = json_array_get(items, 0);
    ck_assert_int_eq(json_integer_value(json_object_get(it, "id")), ids[5]);
    ck_assert_int_eq(json_integer_value(json_object_get(it, "budget_env_steps")), 8000);
    ck_assert_int_eq(json_integer_value(json_object_get(it, "latest_iteration")), 2);
    ck_assert_int_eq(json_integer_value(json_object_get(it, "latest_env_steps")), 2000);
    ck_assert(json_number_value(json_object_get(it, "latest_return")) == 20.25);
    ck_assert(json_number_value(json_object_get(it, "progress")) == 0.25);
    json_decref(o);
    /* search is case-insensitive: run-1x and Run-1x */
    o = get_json(&d, "/api/v1/experiments?q=RUN-1&limit=1000");
    ck_assert_int_eq(json_array_size(json_object_get(o, "items")), 8);
    json_decref(o);

    for (size_t si = 0; si < sizeof(sorts) / sizeof(sorts[0]); si++) {
        for (int asc = 0; asc < 2; asc++) {
            json_t *all;
            char cursor[1100] = "";
            size_t seen = 0;
            int pages = 0;
            snprintf(path, sizeof(path), "/api/v1/experiments?sort=%s&order=%s&limit=1000",
                     sorts[si], asc ? "asc" : "desc");
            all = get_json(&d, path);
            ck_assert_int_eq(json_array_size(json_object_get(all, "items")), NRUNS);
            /* numeric keys are monotonic over the whole listing */
            if (!strcmp(sorts[si], "return") || !strcmp(sorts[si], "progress")) {
                const char *key = sorts[si][0] == 'r' ? "latest_return" : "progress";
                json_t *a = json_object_get(all, "items");
                for (size_t i = 1; i < NRUNS; i++) {
                    double x = json_number_value(json_object_get(json_array_get(a, i - 1), key));
                    double y = json_number_value(json_object_get(json_array_get(a, i), key));
                    ck_assert_msg(asc ? x <= y : x >= y, "%s not ordered at %zu", key, i);
                }
            }
            do {
                json_t *page, *nc;
                snprintf(path, sizeof(path), "/api/v1/experiments?sort=%s&order=%s&limit=5%s%s",
                         sorts[si], asc ? "asc" : "desc", cursor[0] ? "&cursor=" : "", cursor);
                page = get_json(&d, path);
                items = json_object_get(page, "items");
                for (size_t i = 0; i < json_array_size(items); i++, seen++) {
                    ck_assert_int_eq(
                        json_integer_value(json_object_get(json_array_get(items, i), "id")),
                        json_integer_value(json_object_get(
                            json_array_get(json_object_get(all, "items"), seen), "id")));
                }
                nc = json_object_get(page, "next_cursor");
                if (json_is_integer(nc)) {
                    snprintf(cursor, sizeof(cursor), "%lld", (long long)json_integer_value(nc));
                } else {
                    snprintf(cursor, sizeof(cursor), "%s",
                             json_is_string(nc) ? json_string_value(nc) : "");
                }
                json_decref(page);
                pages++;
            } while (cursor[0] && pages < 10);
            ck_assert_msg(seen == NRUNS, "sort %s: %zu seen", sorts[si], seen);
            ck_assert_int_eq(pages, 4);
            json_decref(all);
        }
    }

    /* bad values: 422 problem+json naming the parameter */
    {
        static const char *const bad[][2] = {
            {"/api/v1/experiments?sort=colour", "sort"},
            {"/api/v1/experiments?order=sideways", "order"},
            {"/api/v1/experiments?q=a%01b", "q"},
            {"/api/v1/experiments?sort=name&cursor=nothex", "cursor"},
            {"/api/v1/experiments?sort=return&cursor=7", "cursor"},
        };
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
            itest_http(&d, "GET", bad[i][0], "", NULL, 0, &r);
            ck_assert_msg(r.status == 422, "%s: %ld", bad[i][0], r.status);
            ck_assert_str_eq(r.content_type, "application/problem+json");
            ck_assert_str_eq(json_string_value(json_object_get(r.json, "field")), bad[i][1]);
            itest_http_free(&r);
        }
    }
    ck_assert_int_eq(itest_daemon_stop(&d, NULL), 0);
    itest_daemon_cleanup(&d);
}
END_TEST

int main(void) {
    const TTest *tests[] = {test_list};
    return itest_run_tests("list", 200, tests, ITEST_COUNT(tests));
}
