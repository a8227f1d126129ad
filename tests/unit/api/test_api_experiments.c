/* Tests of server/api/api_experiments.c: the pace fields added to every experiment the API
 * returns (steps_per_s, duration_s, eta_s) from its stored fields, for running, finished,
 * queued and paused runs, and null where a value cannot be known; and the same members written
 * as text after a listed item (api_exp_pace_text), byte for byte what the objects give. */
#include "api_int.h"

#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static json_t *exp_make(const char *state, double started, double finished, long long steps,
                        double wall, long long budget) {
    json_t *o = json_pack("{s:s,s:I}", "state", state, "budget_env_steps", (json_int_t)budget);
    json_object_set_new(o, "started_at", started > 0 ? json_real(started) : json_null());
    json_object_set_new(o, "finished_at", finished > 0 ? json_real(finished) : json_null());
    json_object_set_new(o, "latest_env_steps", steps >= 0 ? json_integer(steps) : json_null());
    json_object_set_new(o, "latest_wall_s", wall >= 0 ? json_real(wall) : json_null());
    return o;
}

static double num(const json_t *o, const char *key) {
    json_t *v = json_object_get(o, key);
    ck_assert_msg(v != NULL, "%s missing", key);
    return json_is_null(v) ? NAN : json_number_value(v);
}

START_TEST(test_running) {
    /* 30,000 of 100,000 steps in 60 s of the trainer's time: 500 steps/s, 140 s to go */
    json_t *o = exp_make("running", 1000.0, 0, 30000, 60.0, 100000);
    api_exp_progress_add(o, 1090.0);
    ck_assert_double_eq_tol(num(o, "steps_per_s"), 500.0, 1e-9);
    ck_assert_double_eq_tol(num(o, "eta_s"), 140.0, 1e-9);
    /* duration is the wall clock since the start, queueing and restarts included */
    ck_assert_double_eq_tol(num(o, "duration_s"), 90.0, 1e-9);
    json_decref(o);
    /* past the budget (the last iteration overshoots): nothing left */
    o = exp_make("running", 1000.0, 0, 102400, 100.0, 100000);
    api_exp_progress_add(o, 1100.0);
    ck_assert_double_eq_tol(num(o, "eta_s"), 0.0, 1e-12);
    json_decref(o);
    /* a stale finished_at (a resumed run) does not freeze the duration */
    o = exp_make("running", 1000.0, 1050.0, 1000, 1.0, 2000);
    api_exp_progress_add(o, 1200.0);
    ck_assert_double_eq_tol(num(o, "duration_s"), 200.0, 1e-9);
    json_decref(o);
}
END_TEST

START_TEST(test_not_running) {
    /* finished: a duration and a rate, but no ETA */
    json_t *o = exp_make("succeeded", 1000.0, 1250.0, 100000, 200.0, 100000);
    api_exp_progress_add(o, 5000.0);
    ck_assert_double_eq_tol(num(o, "duration_s"), 250.0, 1e-9);
    ck_assert_double_eq_tol(num(o, "steps_per_s"), 500.0, 1e-9);
    ck_assert(isnan(num(o, "eta_s")));
    json_decref(o);
    /* queued: nothing known yet */
    o = exp_make("queued", 0, 0, -1, -1, 100000);
    api_exp_progress_add(o, 5000.0);
    ck_assert(isnan(num(o, "steps_per_s")));
    ck_assert(isnan(num(o, "duration_s")));
    ck_assert(isnan(num(o, "eta_s")));
    json_decref(o);
    /* paused: the rate so far, but it is heading nowhere until resumed */
    o = exp_make("paused", 1000.0, 1100.0, 5000, 10.0, 100000);
    api_exp_progress_add(o, 5000.0);
    ck_assert_double_eq_tol(num(o, "steps_per_s"), 500.0, 1e-9);
    ck_assert(isnan(num(o, "eta_s")));
    json_decref(o);
}
END_TEST

START_TEST(test_unknowable) {
    /* running without a metric row, with a zero wall time, or with no budget */
    json_t *o = exp_make("running", 1000.0, 0, -1, -1, 100000);
    api_exp_progress_add(o, 1010.0);
    ck_assert(isnan(num(o, "steps_per_s")));
    ck_assert(isnan(num(o, "eta_s")));
    ck_assert_double_eq_tol(num(o, "duration_s"), 10.0, 1e-9);
    json_decref(o);
    o = exp_make("running", 1000.0, 0, 5000, 0.0, 100000);
    api_exp_progress_add(o, 1010.0);
    ck_assert(isnan(num(o, "steps_per_s")));
    ck_assert(isnan(num(o, "eta_s")));
    json_decref(o);
    o = exp_make("running", 1000.0, 0, 5000, 10.0, 0);
    api_exp_progress_add(o, 1010.0);
    ck_assert_double_eq_tol(num(o, "steps_per_s"), 500.0, 1e-9);
    ck_assert(isnan(num(o, "eta_s")));
    json_decref(o);
    /* an object without any of the fields gets nulls, not garbage */
    o = json_object();
    api_exp_progress_add(o, 1010.0);
    ck_assert(isnan(num(o, "steps_per_s")));
    ck_assert(isnan(num(o, "duration_s")));
    ck_assert(isnan(num(o, "eta_s")));
    json_decref(o);
}
END_TEST

/* the text members against the object's, for one pace and time */
static void expect_pace_text(const StoreExpPace *p, double now) {
    json_t *o = json_object(), *k;
    char *want;
    AgBuf b;
    /* the object as the store gives it, then the three members the answer adds */
    json_object_set_new(o, "state", json_string(p->running ? "running" : "succeeded"));
    json_object_set_new(o, "latest_env_steps", json_real(p->latest_env_steps));
    json_object_set_new(o, "latest_wall_s", json_real(p->latest_wall_s));
    json_object_set_new(o, "budget_env_steps", json_real(p->budget_env_steps));
    json_object_set_new(o, "started_at", json_real(p->started_at));
    json_object_set_new(o, "finished_at", json_real(p->finished_at));
    api_exp_progress_add(o, now);
    k = json_object();
    json_object_set(k, "x", json_null());
    if (json_object_get(o, "steps_per_s")) {
        json_object_set(k, "steps_per_s", json_object_get(o, "steps_per_s"));
    }
    if (json_object_get(o, "duration_s")) {
        json_object_set(k, "duration_s", json_object_get(o, "duration_s"));
    }
    if (json_object_get(o, "eta_s")) {
        json_object_set(k, "eta_s", json_object_get(o, "eta_s"));
    }
    want = json_dumps(k, JSON_COMPACT);
    ck_assert_int_eq(ag_buf_init(&b, 0, 4096), 0);
    ck_assert_int_eq(ag_buf_append_str(&b, "{\"x\":null"), 0);
    ck_assert_int_eq(api_exp_pace_text(&b, p, &now), 0);
    ck_assert_int_eq(ag_buf_append_str(&b, "}"), 0);
    ck_assert_msg(!strcmp(b.data, want), "got %s, want %s", b.data, want);
    ag_buf_free(&b);
    free(want);
    json_decref(k);
    json_decref(o);
}

START_TEST(test_pace_text_as_objects) {
    static const double steps[] = {0, 1, 30000, 123456.5, 1e12, -5, 2e300};
    static const double walls[] = {0, 1e-9, 60.0, 3.0000000000000004, 1e-300};
    static const double budgets[] = {0, 100000, 30000, 1e15};
    static const double starts[] = {0, 1764900000.123456, 2000};
    static const double ends[] = {0, 1764900123.5, 1000};
    for (int running = 0; running < 2; running++) {
        for (size_t a = 0; a < sizeof(steps) / sizeof(steps[0]); a++) {
            for (size_t b = 0; b < sizeof(walls) / sizeof(walls[0]); b++) {
                for (size_t c = 0; c < sizeof(budgets) / sizeof(budgets[0]); c++) {
                    for (size_t d = 0; d < sizeof(starts) / sizeof(starts[0]); d++) {
                        for (size_t e = 0; e < sizeof(ends) / sizeof(ends[0]); e++) {
                            StoreExpPace p = {.running = running,
                                              .latest_env_steps = steps[a],
                                              .latest_wall_s = walls[b],
                                              .budget_env_steps = budgets[c],
                                              .started_at = starts[d],
                                              .finished_at = ends[e]};
                            expect_pace_text(&p, 1764900200.25);
                            expect_pace_text(&p, 1500.0);
                        }
                    }
                }
            }
        }
    }
}
END_TEST

static Suite *experiments_suite(void) {
    Suite *s = suite_create("api_experiments");
    TCase *tc = tcase_create("progress");
    tcase_add_test(tc, test_running);
    tcase_add_test(tc, test_not_running);
    tcase_add_test(tc, test_unknowable);
    tcase_add_test(tc, test_pace_text_as_objects);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) {
    SRunner *sr = srunner_create(experiments_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
