/* Tests of the parts of angoractl's watch that need no server (client/ctl_watch.c): the bounded
 * learning curve (every point kept until full, then halved with a growing stride, the best value
 * of all points) and the status line with and without budget, success and consecutive goals.
 * The command itself is tested end to end in tests/integration/client/test_client_watch.c. */
#include "ctl.h"

#include "ag_error.h"

#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

START_TEST(test_series_until_full) {
    CtlSeries s;
    ck_assert_int_eq(ctl_series_init(&s, 8), 0);
    ck_assert(isnan(s.best));
    for (int i = 0; i < 8; i++) {
        ctl_series_add(&s, i);
    }
    ck_assert_uint_eq(s.n, 8);
    ck_assert_uint_eq(s.stride, 1);
    for (int i = 0; i < 8; i++) {
        ck_assert(s.ys[i] == i);
    }
    ck_assert(s.best == 7);
    ck_assert_int_eq(s.seen, 8);
    ctl_series_free(&s);
    ck_assert_ptr_null(s.ys);
}
END_TEST

START_TEST(test_series_decimates) {
    CtlSeries s;
    ck_assert_int_eq(ctl_series_init(&s, 8), 0);
    for (int i = 0; i < 9; i++) {
        ctl_series_add(&s, i);
    }
    /* full at 8: the odd points 1,3,5,7 stay, then 8 */
    ck_assert_uint_eq(s.stride, 2);
    ck_assert_uint_eq(s.n, 5);
    ck_assert(s.ys[0] == 1 && s.ys[3] == 7 && s.ys[4] == 8);
    /* from now on every second point: 10, 12, 14 fill it again */
    for (int i = 9; i < 15; i++) {
        ctl_series_add(&s, i);
    }
    ck_assert_uint_eq(s.n, 8);
    ck_assert(s.ys[5] == 10 && s.ys[7] == 14);
    /* a long run stays bounded, spread over its whole length, and keeps its best */
    for (int i = 15; i < 100000; i++) {
        ctl_series_add(&s, i == 500 ? 1e9 : (double)i);
    }
    ck_assert_uint_le(s.n, 8);
    ck_assert_uint_ge(s.n, 4);
    ck_assert(s.ys[s.n - 1] > 50000);
    ck_assert(s.ys[0] < 50000);
    ck_assert(s.best == 1e9);
    ck_assert_int_eq(s.seen, 100000);
    /* NaN points are kept as gaps but never become the best */
    ctl_series_reset(&s);
    ctl_series_add(&s, NAN);
    ck_assert_uint_eq(s.n, 1);
    ck_assert(isnan(s.best));
    ctl_series_add(&s, -3);
    ck_assert(s.best == -3);
    ctl_series_free(&s);
}
END_TEST

START_TEST(test_series_best_of_losses_is_lowest) {
    ck_assert(ctl_metric_lower_is_better("holdout_loss"));
    ck_assert(ctl_metric_lower_is_better("value_loss"));
    ck_assert(ctl_metric_lower_is_better("holdout_position_rmse_mm"));
    ck_assert(ctl_metric_lower_is_better("holdout_rotation_median_deg"));
    ck_assert(ctl_metric_lower_is_better("approx_kl"));
    ck_assert(!ctl_metric_lower_is_better("return_mean"));
    ck_assert(!ctl_metric_lower_is_better("success_rate"));
    ck_assert(!ctl_metric_lower_is_better("consecutive_goals_mean"));
    ck_assert(!ctl_metric_lower_is_better(NULL));
    CtlSeries s;
    ck_assert_int_eq(ctl_series_init(&s, 8), 0);
    s.lower_is_better = 1;
    const double ys[] = {1.5, 0.7, NAN, 0.9, 0.4, 2.0};
    for (size_t i = 0; i < sizeof ys / sizeof ys[0]; i++) {
        ctl_series_add(&s, ys[i]);
    }
    ck_assert(s.best == 0.4);
    /* a reset keeps which way is better */
    ctl_series_reset(&s);
    ctl_series_add(&s, 3.0);
    ctl_series_add(&s, 5.0);
    ck_assert(s.best == 3.0);
    ctl_series_free(&s);
}
END_TEST

START_TEST(test_series_init_errors) {
    CtlSeries s;
    ck_assert_int_eq(ctl_series_init(&s, 0), AG_EINVAL);
    ck_assert_int_eq(ctl_series_init(&s, 7), AG_EINVAL);
    ck_assert_ptr_null(s.ys);
}
END_TEST

START_TEST(test_line) {
    char out[512];
    json_t *row =
        json_pack("{s:i,s:i,s:f}", "iteration", 8, "env_steps", 8000, "return_mean", 80.25);
    ctl_watch_line(row, "return_mean", 90, 10000, out, sizeof(out));
    ck_assert_str_eq(out, "iteration 8  steps 8000/10000  return_mean 80.25 (best 90)");
    ctl_watch_line(row, "return_mean", 80.25, 0, out, sizeof(out));
    ck_assert_str_eq(out, "iteration 8  steps 8000  return_mean 80.25 (best 80.25)");
    /* a hand task reports success and consecutive goals */
    json_object_set_new(row, "success_rate", json_real(0.5));
    json_object_set_new(row, "consecutive_goals_mean", json_real(2.125));
    ctl_watch_line(row, "return_mean", 90, 10000, out, sizeof(out));
    ck_assert_str_eq(out, "iteration 8  steps 8000/10000  return_mean 80.25 (best 90)  success "
                          "0.500  consecutive goals 2.12");
    /* a key the row lacks, and a tiny buffer */
    ctl_watch_line(row, "eval_return", NAN, 10000, out, sizeof(out));
    ck_assert_ptr_nonnull(strstr(out, "eval_return nan (best nan)"));
    ctl_watch_line(row, "return_mean", 90, 10000, out, 12);
    ck_assert_str_eq(out, "iteration 8");
    json_decref(row);
    /* a pretraining's epoch has no environment steps: none shown, nor the budget */
    row = json_pack("{s:i,s:f}", "iteration", 3, "holdout_loss", 0.5);
    ctl_watch_line(row, "holdout_loss", 0.5, 0, out, sizeof(out));
    ck_assert_str_eq(out, "iteration 3  holdout_loss 0.5 (best 0.5)");
    json_decref(row);
}
END_TEST

/* steps/s and ETA from the latest row by the server's rule, and the latest evaluation */
START_TEST(test_pace_line) {
    char out[256];
    json_t *row = json_pack("{s:i,s:i,s:f}", "iteration", 30, "env_steps", 30000, "wall_s", 60.0);
    json_t *eval = json_pack("{s:i,s:f}", "iteration", 25, "eval_return", 95.5);
    ctl_watch_pace_line(row, 100000, eval, out, sizeof(out));
    ck_assert_str_eq(out, "500 steps/s  ETA 2m20s  eval 95.5 (iteration 25)");
    /* no evaluation yet, no budget */
    ctl_watch_pace_line(row, 0, NULL, out, sizeof(out));
    ck_assert_str_eq(out, "500 steps/s  ETA -  eval -");
    /* a row without wall_s: the rate cannot be known */
    json_object_del(row, "wall_s");
    ctl_watch_pace_line(row, 100000, NULL, out, sizeof(out));
    ck_assert_str_eq(out, "- steps/s  ETA -  eval -");
    /* a tiny buffer stays terminated */
    ctl_watch_pace_line(row, 100000, eval, out, 6);
    ck_assert_uint_eq(strlen(out), 5);
    json_decref(row);
    json_decref(eval);
}
END_TEST

static Suite *watch_suite(void) {
    Suite *s = suite_create("ctl_watch");
    TCase *tc = tcase_create("watch");
    tcase_add_test(tc, test_series_until_full);
    tcase_add_test(tc, test_series_decimates);
    tcase_add_test(tc, test_series_init_errors);
    tcase_add_test(tc, test_series_best_of_losses_is_lowest);
    tcase_add_test(tc, test_line);
    tcase_add_test(tc, test_pace_line);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) {
    SRunner *sr = srunner_create(watch_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
