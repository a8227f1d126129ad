/* Tests of evaluation: exactly N episodes, deterministic repeats, the confidence interval, the
 * normaliser frozen, JSON summary, bad arguments. */
#include "rl_ppo_int.h"
#include "rl_test_util.h"

#include "ag_error.h"

#include <check.h>
#include <math.h>
#include <string.h>

static RlTrainer *make(const char *text) {
    AgSpec spec;
    rl_test_spec(&spec, text);
    char err[512] = "";
    RlTrainer *t = NULL;
    ck_assert_msg(rl_trainer_create(&t, &spec, MPI_COMM_WORLD, err, sizeof err) == 0, "%s", err);
    ag_spec_free(&spec);
    return t;
}

START_TEST(test_eval_deterministic_repeat) {
    RlTrainer *t = make("{\"task\": \"CartPole\", \"policy\": \"categorical\", \"ppo\":"
                        " {\"envs_per_rank\": 4, \"horizon\": 64, \"minibatch\": 64}}");
    char err[512] = "";
    RlIterStats st;
    ck_assert(rl_trainer_iterate(t, &st, err, sizeof err) == 0);
    double count = t->obs_stat.count;
    RlEvalResult a, b, c;
    ck_assert(rl_trainer_evaluate(t, 40, 1, 77, &a, err, sizeof err) == 0);
    ck_assert(rl_trainer_evaluate(t, 40, 1, 77, &b, err, sizeof err) == 0);
    ck_assert(rl_trainer_evaluate(t, 40, 0, 77, &c, err, sizeof err) == 0);
    ck_assert_double_eq(t->obs_stat.count, count); /* frozen */
    ck_assert_int_eq(a.episodes, 40);
    ck_assert_double_eq(a.mean, b.mean);
    ck_assert_double_eq(a.std, b.std);
    ck_assert(a.mean >= 8 && a.mean <= 500);
    /* CartPole returns equal lengths */
    ck_assert_double_eq_tol(a.mean, a.length_mean, 1e-9);
    /* t interval around the mean: 2.023 * std / sqrt(40) */
    ck_assert_double_eq_tol(a.ci95_high - a.mean, 2.000 * a.std / sqrt(40.0), 1e-9);
    ck_assert_double_eq_tol(a.mean - a.ci95_low, a.ci95_high - a.mean, 1e-9);
    ck_assert_int_eq(c.deterministic, 0);
    json_t *j = rl_eval_to_json(&a);
    ck_assert_ptr_nonnull(j);
    ck_assert_double_eq(json_real_value(json_object_get(j, "mean")), a.mean);
    ck_assert_int_eq(json_array_size(json_object_get(j, "ci95")), 2);
    ck_assert(json_is_object(json_object_get(j, "metrics")));
    json_decref(j);
    ck_assert_int_eq(rl_trainer_evaluate(t, 0, 1, 77, &a, err, sizeof err), AG_EINVAL);
    rl_trainer_destroy(t);
}
END_TEST

START_TEST(test_eval_single_episode_and_recurrent) {
    RlTrainer *t = make("{\"task\": \"PendulumNoVel\", \"model\": \"simple_lstm\", \"ppo\":"
                        " {\"envs_per_rank\": 2, \"horizon\": 32, \"tbptt\": 8, \"minibatch\":"
                        " 32}}");
    char err[512] = "";
    RlEvalResult a;
    ck_assert(rl_trainer_evaluate(t, 1, 1, 5, &a, err, sizeof err) == 0);
    ck_assert_int_eq(a.episodes, 1);
    ck_assert_double_eq(a.length_mean, 200); /* Pendulum episodes end by time limit */
    ck_assert(a.mean < 0);
    ck_assert(isnan(a.ci95_low)); /* no interval from one episode */
    /* more episodes than one wave */
    ck_assert(rl_trainer_evaluate(t, 35, 1, 5, &a, err, sizeof err) == 0);
    ck_assert_int_eq(a.episodes, 35);
    rl_trainer_destroy(t);
}
END_TEST

static Suite *eval_suite(void) {
    Suite *s = suite_create("rl_eval");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_eval_deterministic_repeat);
    tcase_add_test(tc, test_eval_single_episode_and_recurrent);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) {
    return rl_test_run_suite(eval_suite());
}
