/* Evaluation episodes: fresh environments, the frozen observation normaliser, the policy's mode
 * (deterministic) or samples, and a summary with 95% confidence intervals of the return and of
 * every task metric (rl_eval_stats.h); with
 * an observer, every step of every episode shown to it as well (activation recordings).
 * Each episode runs on its own one-environment batch so that exactly `episodes` first episodes
 * are counted (no bias towards short episodes), while the network still steps every running
 * episode of a wave in one call. */
#include "rl_eval_stats.h"
#include "rl_ppo_int.h"

#include "ag_error.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define RL_EVAL_MAX_STEPS 100000 /* for tasks without an episode limit */

static const char *rl_dist_name(NnDistKind kind) {
    switch (kind) {
    case NN_DIST_GAUSSIAN:
        return "gaussian";
    case NN_DIST_BETA:
        return "beta";
    case NN_DIST_CATEGORICAL:
        return "categorical";
    default:
        return "multicategorical";
    }
}

int rl_trainer_evaluate(RlTrainer *t, int episodes, int deterministic, uint64_t seed,
                        RlEvalResult *res, char *err, size_t err_sz) {
    return rl_trainer_evaluate_observed(t, episodes, deterministic, seed, NULL, res, err, err_sz);
}

int rl_trainer_evaluate_observed(RlTrainer *t, int episodes, int deterministic, uint64_t seed,
                                 const RlEvalObserver *observer, RlEvalResult *res, char *err,
                                 size_t err_sz) {
    int rc = 0;
    memset(res, 0, sizeof *res);
    if (episodes < 1) {
        return ag_errorf(err, err_sz, AG_EINVAL, "episodes must be at least 1, got %d", episodes);
    }
    const EnvSpec *es = &t->task.spec;
    const int O = t->O, P = t->P, A = t->A, S = t->S;
    const int wave = observer && observer->wave > 0 && observer->wave < RL_EVAL_WAVE
                         ? observer->wave
                         : RL_EVAL_WAVE;
    const int W = episodes < wave ? episodes : wave;
    EnvBatch *b = calloc((size_t)W, sizeof *b);
    int *made = calloc((size_t)W, sizeof *made);
    uint8_t *active = calloc((size_t)W, sizeof *active);
    int *steps = calloc((size_t)W, sizeof *steps);
    float *obs = calloc((size_t)W * O, sizeof *obs);
    float *nobs = calloc((size_t)W * O, sizeof *nobs);
    float *state = calloc((size_t)W * (S > 0 ? S : 1), sizeof *state);
    float *pol = calloc((size_t)W * P, sizeof *pol);
    float *raw = calloc((size_t)W * A, sizeof *raw);
    float *act = calloc((size_t)W * A, sizeof *act);
    double *returns = calloc((size_t)episodes, sizeof *returns);
    /* (num_metrics, episodes): each episode's metric values */
    const int M = es->num_metrics;
    double *metric_values = calloc((size_t)episodes * (M > 0 ? M : 1), sizeof *metric_values);
    /* what an observer sees besides the above */
    float *value = calloc((size_t)W, sizeof *value);
    float *reward = calloc((size_t)W, sizeof *reward);
    uint8_t *done = calloc((size_t)W, sizeof *done);
    NnStepCtx *ctx = nn_step_ctx_create(t->model, W);
    if (!b || !made || !active || !steps || !obs || !nobs || !state || !pol || !raw || !act ||
        !returns || !metric_values || !value || !reward || !done || !ctx) {
        rc = ag_errorf(err, err_sz, AG_ENOMEM, "evaluation: out of memory");
        goto out;
    }
    AgRng rng;
    ag_rng_seed(&rng, seed, UINT64_C(0xe7a1));
    double len_sum = 0.0;
    RlEvalStep view = {.active = active,
                       .step = steps,
                       .task = &t->task,
                       .envs = b,
                       .obs_size = O,
                       .policy_size = P,
                       .action_size = A,
                       .distribution = rl_dist_name(t->dist.kind),
                       .obs = obs,
                       .policy = pol,
                       .raw = raw,
                       .action = act,
                       .value = value,
                       .reward = reward,
                       .done = done};
    for (int first = 0; first < episodes; first += W) {
        int w = episodes - first < W ? episodes - first : W;
        for (int i = 0; i < w; i++) {
            rc = env_batch_create(&b[i], &t->task, 1, seed, (uint64_t)(first + i), err, err_sz);
            if (rc) {
                goto out;
            }
            made[i] = 1;
            env_batch_reset(&b[i], obs + (size_t)i * O);
            active[i] = 1;
            steps[i] = 0;
        }
        memset(state, 0, (size_t)W * (S > 0 ? S : 1) * sizeof *state);
        int running = w;
        while (running > 0) {
            if (t->spec.normalize.observations) {
                rl_stat_normalize(&t->obs_stat, obs, nobs, w, (float)t->spec.normalize.clip_obs);
            } else {
                memcpy(nobs, obs, (size_t)w * O * sizeof *obs);
            }
            /* an observer also gets the value and the probes, which leave the policy's outputs
             * as they are */
            if (observer) {
                nn_model_step_probed(t->model, ctx, w, nobs, state, state, pol, value,
                                     observer->probes);
            } else {
                nn_model_step(t->model, ctx, w, nobs, state, state, pol, NULL);
            }
            if (deterministic) {
                nn_dist_mode(&t->dist, w, pol, raw);
            } else {
                nn_dist_sample(&t->dist, w, pol, &rng, raw);
            }
            nn_dist_to_env(&t->dist, w, raw, act);
            view.n = w;
            view.first = first;
            if (observer && observer->on_act &&
                (rc = observer->on_act(observer->user, &view, err, err_sz)) != 0) {
                goto out;
            }
            memset(reward, 0, (size_t)w * sizeof *reward);
            memset(done, 0, (size_t)w);
            for (int i = 0; i < w; i++) {
                if (!active[i]) {
                    continue;
                }
                uint8_t term, trunc;
                env_batch_step(&b[i], act + (size_t)i * A, obs + (size_t)i * O, &reward[i], &term,
                               &trunc, NULL);
                if (!term && !trunc && steps[i] + 1 < RL_EVAL_MAX_STEPS) {
                    continue;
                }
                done[i] = 1;
                EnvBatchStats st;
                env_batch_stats_take(&b[i], &st);
                int k = first + i;
                if (st.episodes == 0) {
                    /* stopped by the step cap: its return and metrics stay 0 */
                    len_sum += steps[i] + 1;
                } else {
                    returns[k] = st.return_sum;
                    len_sum += st.length_sum;
                    res->unstable += st.unstable;
                    for (int m = 0; m < M; m++) {
                        metric_values[(size_t)m * episodes + k] = st.metric_sums[m];
                    }
                }
            }
            if (observer && observer->on_result &&
                (rc = observer->on_result(observer->user, &view, err, err_sz)) != 0) {
                goto out;
            }
            /* only now: the observer saw which rows took this step */
            for (int i = 0; i < w; i++) {
                if (active[i]) {
                    steps[i]++;
                    active[i] = !done[i];
                    running -= done[i];
                }
            }
        }
        for (int i = 0; i < w; i++) {
            env_batch_destroy(&b[i]);
            made[i] = 0;
        }
    }
    RlEvalSummary sum;
    rl_eval_summarize_t(returns, episodes, &sum);
    res->episodes = episodes;
    res->deterministic = deterministic;
    res->mean = sum.mean;
    res->std = sum.std;
    res->ci95_low = sum.low;
    res->ci95_high = sum.high;
    res->length_mean = len_sum / episodes;
    res->num_metrics = M;
    for (int m = 0; m < M; m++) {
        snprintf(res->metric_names[m], sizeof res->metric_names[m], "%s", es->metric_names[m]);
        rl_eval_summarize(metric_values + (size_t)m * episodes, episodes, &sum);
        res->metrics[m] = sum.mean;
        res->metrics_std[m] = sum.std;
        res->metrics_ci95_low[m] = sum.low;
        res->metrics_ci95_high[m] = sum.high;
    }
out:
    for (int i = 0; b && made && i < W; i++) {
        if (made[i]) {
            env_batch_destroy(&b[i]);
        }
    }
    if (ctx) {
        nn_step_ctx_destroy(ctx);
    }
    free(b);
    free(made);
    free(active);
    free(steps);
    free(obs);
    free(nobs);
    free(state);
    free(pol);
    free(raw);
    free(act);
    free(returns);
    free(metric_values);
    free(value);
    free(reward);
    free(done);
    return rc;
}

static json_t *rl_json_num(double v) {
    return isfinite(v) ? json_real(v) : json_null();
}

/* [low, high], nulls where there is no interval */
static json_t *rl_json_interval(double low, double high) {
    json_t *ci = json_array();
    if (ci) {
        json_array_append_new(ci, rl_json_num(low));
        json_array_append_new(ci, rl_json_num(high));
    }
    return ci;
}

json_t *rl_eval_to_json(const RlEvalResult *res) {
    json_t *o = json_object();
    json_t *m = json_object();
    json_t *m_std = json_object();
    json_t *m_ci = json_object();
    if (!o || !m || !m_std || !m_ci) {
        json_decref(o);
        json_decref(m);
        json_decref(m_std);
        json_decref(m_ci);
        return NULL;
    }
    json_object_set_new(o, "episodes", json_integer(res->episodes));
    json_object_set_new(o, "deterministic", json_boolean(res->deterministic));
    json_object_set_new(o, "mean", rl_json_num(res->mean));
    json_object_set_new(o, "std", rl_json_num(res->std));
    json_object_set_new(o, "ci95", rl_json_interval(res->ci95_low, res->ci95_high));
    json_object_set_new(o, "episode_length_mean", rl_json_num(res->length_mean));
    json_object_set_new(o, "unstable_episodes", json_integer(res->unstable));
    for (int k = 0; k < res->num_metrics; k++) {
        const char *name = res->metric_names[k];
        json_object_set_new(m, name, rl_json_num(res->metrics[k]));
        json_object_set_new(m_std, name, rl_json_num(res->metrics_std[k]));
        json_object_set_new(m_ci, name,
                            rl_json_interval(res->metrics_ci95_low[k], res->metrics_ci95_high[k]));
    }
    json_object_set_new(o, "metrics", m);
    json_object_set_new(o, "metrics_std", m_std);
    json_object_set_new(o, "metrics_ci95", m_ci);
    return o;
}

int rl_trainer_run_episode(RlTrainer *t, int deterministic, uint64_t seed, uint64_t stream,
                           RlEpisodeHook hook, void *user, double *ret, int *length, char *err,
                           size_t err_sz) {
    int rc = 0, made = 0;
    const int O = t->O, P = t->P, A = t->A, S = t->S;
    EnvBatch b;
    float *obs = calloc((size_t)O, sizeof *obs);
    float *nobs = calloc((size_t)O, sizeof *nobs);
    float *state = calloc((size_t)(S > 0 ? S : 1), sizeof *state);
    float *pol = calloc((size_t)P, sizeof *pol);
    float *raw = calloc((size_t)A, sizeof *raw);
    float *act = calloc((size_t)A, sizeof *act);
    NnStepCtx *ctx = nn_step_ctx_create(t->model, 1);
    *ret = 0.0;
    *length = 0;
    if (!obs || !nobs || !state || !pol || !raw || !act || !ctx) {
        rc = ag_errorf(err, err_sz, AG_ENOMEM, "episode: out of memory");
        goto out;
    }
    rc = env_batch_create(&b, &t->task, 1, seed, stream, err, err_sz);
    if (rc) {
        goto out;
    }
    made = 1;
    /* the same sampling stream as rl_trainer_evaluate, so a one-episode evaluation and the
     * recorded episode are the same episode */
    AgRng rng;
    ag_rng_seed(&rng, seed, UINT64_C(0xe7a1));
    env_batch_reset(&b, obs);
    for (int step = 0; step < RL_EVAL_MAX_STEPS; step++) {
        if (hook && (rc = hook(user, &t->task, b.states, obs, step, err, err_sz)) != 0) {
            goto out;
        }
        if (t->spec.normalize.observations) {
            rl_stat_normalize(&t->obs_stat, obs, nobs, 1, (float)t->spec.normalize.clip_obs);
        } else {
            memcpy(nobs, obs, (size_t)O * sizeof *obs);
        }
        nn_model_step(t->model, ctx, 1, nobs, state, state, pol, NULL);
        if (deterministic) {
            nn_dist_mode(&t->dist, 1, pol, raw);
        } else {
            nn_dist_sample(&t->dist, 1, pol, &rng, raw);
        }
        nn_dist_to_env(&t->dist, 1, raw, act);
        float r;
        uint8_t term, trunc;
        env_batch_step(&b, act, obs, &r, &term, &trunc, NULL);
        *ret += r;
        *length = step + 1;
        if (term || trunc) {
            break;
        }
    }
out:
    if (made) {
        env_batch_destroy(&b);
    }
    if (ctx) {
        nn_step_ctx_destroy(ctx);
    }
    free(obs);
    free(nobs);
    free(state);
    free(pol);
    free(raw);
    free(act);
    return rc;
}
