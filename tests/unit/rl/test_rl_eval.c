/* Tests of evaluation: exactly N episodes, deterministic repeats, the confidence intervals of the
 * return and of the task metrics, the normaliser frozen, JSON summary, bad arguments, and the
 * observer of every step. */
#include "rl_ppo_int.h"
#include "rl_test_util.h"

#include "ag_error.h"

#include <check.h>
#include <math.h>
#include <stdlib.h>
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
    /* t interval around the mean: t95(39) = 2.022691 */
    ck_assert_double_eq_tol(a.ci95_high - a.mean, 2.022691 * a.std / sqrt(40.0), 1e-5 * a.std);
    ck_assert_double_eq_tol(a.mean - a.ci95_low, a.ci95_high - a.mean, 1e-9);
    ck_assert_int_eq(c.deterministic, 0);
    json_t *j = rl_eval_to_json(&a);
    ck_assert_ptr_nonnull(j);
    ck_assert_double_eq(json_real_value(json_object_get(j, "mean")), a.mean);
    ck_assert_int_eq(json_array_size(json_object_get(j, "ci95")), 2);
    ck_assert(json_is_object(json_object_get(j, "metrics")));
    /* CartPole has no task metric: the metric summaries are there, empty */
    ck_assert_int_eq(json_object_size(json_object_get(j, "metrics_std")), 0);
    ck_assert_int_eq(json_object_size(json_object_get(j, "metrics_ci95")), 0);
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

/* the 95% Wilson interval written out: p = k/n, z = 1.959964 */
static void wilson_by_hand(int k, int n, double *low, double *high) {
    const double z = 1.959964, p = (double)k / n;
    double denom = 1 + z * z / n;
    double centre = (p + z * z / (2.0 * n)) / denom;
    double half = z / denom * sqrt(p * (1 - p) / n + z * z / (4.0 * n * n));
    *low = centre - half;
    *high = centre + half;
}

START_TEST(test_eval_metric_intervals) {
    /* Acrobot's metric `success` is 0 or 1 per episode: its interval is Wilson's */
    RlTrainer *t = make("{\"task\": \"Acrobot\", \"policy\": \"categorical\", \"ppo\":"
                        " {\"envs_per_rank\": 2, \"horizon\": 32, \"minibatch\": 32}}");
    char err[512] = "";
    RlEvalResult a;
    ck_assert(rl_trainer_evaluate(t, 20, 0, 9, &a, err, sizeof err) == 0);
    ck_assert_int_eq(a.num_metrics, 1);
    ck_assert_str_eq(a.metric_names[0], "success");
    int k = (int)lround(a.metrics[0] * 20);
    ck_assert_double_eq_tol(a.metrics[0], k / 20.0, 1e-12);
    double low, high;
    wilson_by_hand(k, 20, &low, &high);
    ck_assert_double_eq_tol(a.metrics_ci95_low[0], low, 1e-6);
    ck_assert_double_eq_tol(a.metrics_ci95_high[0], high, 1e-6);
    ck_assert(a.metrics_ci95_high[0] > a.metrics[0]); /* never the point of a t rule on 0s */
    ck_assert_double_eq_tol(a.metrics_std[0], sqrt(20.0 / 19.0 * (k / 20.0) * (1 - k / 20.0)),
                            1e-9);
    json_t *j = rl_eval_to_json(&a);
    ck_assert_ptr_nonnull(j);
    json_t *ci = json_object_get(json_object_get(j, "metrics_ci95"), "success");
    ck_assert_int_eq(json_array_size(ci), 2);
    ck_assert_double_eq(json_real_value(json_array_get(ci, 0)), a.metrics_ci95_low[0]);
    ck_assert_double_eq(json_real_value(json_array_get(ci, 1)), a.metrics_ci95_high[0]);
    ck_assert_double_eq(
        json_real_value(json_object_get(json_object_get(j, "metrics_std"), "success")),
        a.metrics_std[0]);
    json_decref(j);
    /* one episode: no interval, printed as nulls in valid JSON */
    ck_assert(rl_trainer_evaluate(t, 1, 1, 9, &a, err, sizeof err) == 0);
    ck_assert(isnan(a.metrics_ci95_low[0]) && isnan(a.metrics_ci95_high[0]));
    j = rl_eval_to_json(&a);
    char *text = json_dumps(j, 0);
    json_decref(j);
    ck_assert_ptr_nonnull(text);
    json_error_t je;
    j = json_loads(text, 0, &je);
    free(text);
    ck_assert_msg(j != NULL, "%s", je.text);
    ci = json_object_get(json_object_get(j, "metrics_ci95"), "success");
    ck_assert(json_is_null(json_array_get(ci, 0)) && json_is_null(json_array_get(ci, 1)));
    ci = json_object_get(j, "ci95");
    ck_assert(json_is_null(json_array_get(ci, 0)) && json_is_null(json_array_get(ci, 1)));
    ck_assert(json_is_number(json_object_get(json_object_get(j, "metrics_std"), "success")));
    json_decref(j);
    rl_trainer_destroy(t);
}
END_TEST

/* what the observer test saw */
typedef struct Seen {
    int acts, results, stop_at;
    int next_step[64]; /* per episode */
    int ended[64];
    double returns[64];
    int probe_h;
    float **probes;
    const RlTrainer *t;
} Seen;

static int seen_act(void *user, const RlEvalStep *s, char *err, size_t err_sz) {
    Seen *v = user;
    int H = nn_model_probe(v->t->model, v->probe_h)->size;
    for (int i = 0; i < s->n; i++) {
        if (!s->active[i]) {
            continue;
        }
        int e = s->first + i;
        ck_assert_int_eq(s->step[i], v->next_step[e]);
        ck_assert_int_eq(v->ended[e], 0);
        /* the probes were written for this row (they start as NaN) */
        for (int j = 0; j < H; j++) {
            ck_assert(isfinite(v->probes[v->probe_h][(size_t)i * H + j]));
        }
        ck_assert(isfinite(s->value[i]));
        v->acts++;
    }
    ck_assert_int_eq(s->obs_size, 2); /* PendulumNoVel: cos and sin of the angle */
    if (v->acts >= v->stop_at) {
        snprintf(err, err_sz, "stop");
        return AG_EIO;
    }
    return 0;
}

static int seen_result(void *user, const RlEvalStep *s, char *err, size_t err_sz) {
    Seen *v = user;
    (void)err;
    (void)err_sz;
    for (int i = 0; i < s->n; i++) {
        if (!s->active[i]) {
            continue;
        }
        int e = s->first + i;
        v->next_step[e]++;
        v->returns[e] += s->reward[i];
        v->ended[e] = s->done[i];
        v->results++;
    }
    return 0;
}

START_TEST(test_eval_observed) {
    RlTrainer *t = make("{\"task\": \"PendulumNoVel\", \"model\": \"simple_lstm\", \"ppo\":"
                        " {\"envs_per_rank\": 2, \"horizon\": 32, \"tbptt\": 8, \"minibatch\":"
                        " 32}, \"task_options\": {\"max_episode_steps\": 30}}");
    char err[512] = "";
    int P = nn_model_num_probes(t->model);
    Seen *v = calloc(1, sizeof *v);
    v->probes = calloc((size_t)P, sizeof *v->probes);
    for (int k = 0; k < P; k++) {
        size_t len = (size_t)RL_EVAL_WAVE * nn_model_probe(t->model, k)->size;
        v->probes[k] = malloc(len * sizeof(float));
        for (size_t j = 0; j < len; j++) {
            v->probes[k][j] = NAN;
        }
    }
    for (int k = 0; k < P; k++) {
        if (strcmp(nn_model_probe(t->model, k)->name, "policy.core.h") == 0) {
            v->probe_h = k;
        }
    }
    v->t = t;
    v->stop_at = 1 << 30;
    RlEvalObserver ob = {
        .probes = v->probes, .on_act = seen_act, .on_result = seen_result, .user = v};
    /* the same episodes as a plain evaluation, across two waves */
    RlEvalResult a, b;
    ck_assert(rl_trainer_evaluate(t, 40, 0, 5, &a, err, sizeof err) == 0);
    ck_assert(rl_trainer_evaluate_observed(t, 40, 0, 5, &ob, &b, err, sizeof err) == 0);
    ck_assert_double_eq(a.mean, b.mean);
    ck_assert_int_eq(v->acts, 40 * 30);
    ck_assert_int_eq(v->results, 40 * 30);
    double sum = 0;
    for (int e = 0; e < 40; e++) {
        ck_assert_int_eq(v->next_step[e], 30);
        ck_assert_int_eq(v->ended[e], 1);
        sum += v->returns[e];
    }
    ck_assert_double_eq_tol(sum / 40, b.mean, 1e-3);
    /* an observer's error stops the evaluation with its code */
    memset(v->next_step, 0, sizeof v->next_step);
    memset(v->ended, 0, sizeof v->ended);
    v->acts = 0;
    v->stop_at = 7;
    ck_assert_int_eq(rl_trainer_evaluate_observed(t, 3, 1, 5, &ob, &b, err, sizeof err), AG_EIO);
    ck_assert_str_eq(err, "stop");
    for (int k = 0; k < P; k++) {
        free(v->probes[k]);
    }
    free(v->probes);
    free(v);
    rl_trainer_destroy(t);
}
END_TEST

static Suite *eval_suite(void) {
    Suite *s = suite_create("rl_eval");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_eval_deterministic_repeat);
    tcase_add_test(tc, test_eval_single_episode_and_recurrent);
    tcase_add_test(tc, test_eval_metric_intervals);
    tcase_add_test(tc, test_eval_observed);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) {
    return rl_test_run_suite(eval_suite());
}
