/* Tests of the trainer: recurrent collection and training see the same hidden states, stored
 * rollouts are consistent, reruns are deterministic, CartPole learns, bad specs are refused, a
 * frozen encoder's features are stored while collecting and the update does not run its pathway
 * again (and learns what it would have learnt running it), and a frozen vision encoder sees the
 * pixels as rendered, not standardised.
 * The "core" case runs alone and again under `mpiexec -np 2` (unit_rl_ppo_2ranks): the
 * expectations scale with the rank count, and the statistics merged across ranks are checked
 * there. The "pixels" case renders and runs alone (unit_rl_ppo_pixels). */
#include "rl_ppo_int.h"
#include "rl_test_util.h"
#include "../nn/nn_test_encoder.h"

#include "ag_error.h"
#include "nn_ckpt.h"

#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int nranks(void) {
    int n = 1;
    MPI_Comm_size(MPI_COMM_WORLD, &n);
    return n;
}

static const char *SPEC_LSTM =
    "{\"task\": \"CartPoleNoVel\", \"model\": \"simple_lstm\", \"policy\": \"categorical\","
    " \"ppo\": {\"envs_per_rank\": 4, \"horizon\": 64, \"tbptt\": 8, \"minibatch\": 64,"
    " \"epochs\": 2}, \"budget\": {\"env_steps\": 4096}, \"seed\": 3}";

static const char *SPEC_FF =
    "{\"task\": \"CartPole\", \"model\": \"simple\", \"policy\": \"categorical\","
    " \"ppo\": {\"envs_per_rank\": 4, \"horizon\": 64, \"minibatch\": 64, \"epochs\": 2},"
    " \"budget\": {\"env_steps\": 4096}, \"seed\": 5}";

START_TEST(test_recurrent_chunks_replay_collection) {
    /* after collection, running each stored sequence through the training forward pass with
     * its stored initial state and reset mask gives back the collection's log-probabilities and
     * values to float32 rounding (the two paths use sgemm at other shapes, so BLAS may sum in
     * another order): hidden states are handled identically, including episode ends inside a
     * chunk */
    AgSpec spec;
    rl_test_spec(&spec, SPEC_LSTM);
    char err[512] = "";
    RlTrainer *t = NULL;
    ck_assert_msg(rl_trainer_create(&t, &spec, MPI_COMM_WORLD, err, sizeof err) == 0, "%s", err);
    ck_assert_int_eq(t->L, 8);
    ck_assert_int_gt(t->S, 0);
    RlTimings tm = {0};
    rl_trainer_collect(t, &tm);
    rl_trainer_collect(t, &tm); /* the second rollout starts with carried-over states */
    int inner_resets = 0, chunk_start_resets = 0;
    for (int r = 0; r < t->E * t->H; r++) {
        if (t->buf_reset[r]) {
            if (r % t->L) {
                inner_resets++;
            } else {
                chunk_start_resets++;
            }
        }
        /* a reset follows exactly the steps that ended an episode */
        if (r % t->H) {
            ck_assert_int_eq(t->buf_reset[r], t->buf_done[r - 1]);
        }
    }
    ck_assert_int_gt(inner_resets, 0);
    NnTrainCtx *ctx = nn_train_ctx_create(t->model, t->U, t->L);
    ck_assert_ptr_nonnull(ctx);
    size_t n = (size_t)t->E * t->H;
    float *pol = malloc(n * t->P * sizeof *pol), *val = malloc(n * sizeof *val);
    float *logp = malloc(n * sizeof *logp);
    nn_model_forward(t->model, ctx, t->U, t->buf_obs, t->buf_state0, t->buf_reset, pol, val);
    nn_dist_log_prob(&t->dist, (int)n, pol, t->buf_raw, logp);
    double max_lp = 0, max_v = 0;
    for (size_t i = 0; i < n; i++) {
        max_lp = fmax(max_lp, fabs(logp[i] - t->buf_logp[i]));
        max_v = fmax(max_v, fabs(val[i] - t->buf_value[i]));
    }
    printf("recurrent replay: %d resets inside chunks, %d at chunk starts, max |dlogp| %.3g, "
           "max |dv| %.3g\n",
           inner_resets, chunk_start_resets, max_lp, max_v);
    ck_assert_double_lt(max_lp, 1e-4);
    ck_assert_double_lt(max_v, 1e-4);
    /* without the reset mask the replay differs: the mask matters */
    nn_model_forward(t->model, ctx, t->U, t->buf_obs, t->buf_state0, NULL, pol, val);
    double diff = 0;
    for (size_t i = 0; i < n; i++) {
        diff = fmax(diff, fabs(val[i] - t->buf_value[i]));
    }
    ck_assert_double_gt(diff, 1e-4);
    free(pol);
    free(val);
    free(logp);
    nn_train_ctx_destroy(ctx);
    rl_trainer_destroy(t);
    ag_spec_free(&spec);
}
END_TEST

START_TEST(test_rollout_buffers_consistent) {
    /* feed-forward: the stored values are the value network's output on the stored
     * (normalised) observations, and observations stay within the clip */
    AgSpec spec;
    rl_test_spec(&spec, SPEC_FF);
    char err[512] = "";
    RlTrainer *t = NULL;
    ck_assert_msg(rl_trainer_create(&t, &spec, MPI_COMM_WORLD, err, sizeof err) == 0, "%s", err);
    ck_assert_int_eq(t->L, 1);
    ck_assert_int_eq(t->S, 0);
    RlTimings tm = {0};
    rl_trainer_collect(t, &tm);
    size_t n = (size_t)t->E * t->H;
    NnStepCtx *ctx = nn_step_ctx_create(t->model, (int)n);
    float *val = malloc(n * sizeof *val);
    nn_model_step(t->model, ctx, (int)n, t->buf_obs, NULL, NULL, NULL, val);
    int dones = 0;
    for (size_t i = 0; i < n; i++) {
        ck_assert_float_eq_tol(val[i], t->buf_value[i], 1e-5f);
        dones += t->buf_done[i];
        for (int k = 0; k < t->O; k++) {
            ck_assert(fabsf(t->buf_obs[i * t->O + k]) <= 10.0f);
        }
    }
    ck_assert_int_gt(dones, 0);
    /* the normaliser saw every observation the policy acted on */
    ck_assert_double_eq(t->obs_stat.count, (double)n);
    ck_assert_double_gt(tm.collect, 0.0);
    free(val);
    nn_step_ctx_destroy(ctx);
    rl_trainer_destroy(t);
    ag_spec_free(&spec);
}
END_TEST

START_TEST(test_truncation_bootstrapped_termination_not) {
    /* CartPole cut after 5 steps: every episode of the first rollout ends by truncation at
     * t = 4, 9, 14, ... and only those rewards carry gamma * V(final observation); every other
     * reward (including a fall, which terminates) stays the raw 1 */
    AgSpec spec;
    rl_test_spec(&spec, "{\"task\": \"CartPole\", \"task_options\": {\"max_episode_steps\": 5},"
                        " \"policy\": \"categorical\", \"normalize\": {\"rewards\": false},"
                        " \"ppo\": {\"envs_per_rank\": 3, \"horizon\": 40, \"minibatch\": 40,"
                        " \"gamma\": 0.5}}");
    char err[512] = "";
    RlTrainer *t = NULL;
    ck_assert_msg(rl_trainer_create(&t, &spec, MPI_COMM_WORLD, err, sizeof err) == 0, "%s", err);
    RlTimings tm = {0};
    rl_trainer_collect(t, &tm);
    for (int e = 0; e < t->E; e++) {
        for (int s = 0; s < t->H; s++) {
            size_t row = (size_t)e * t->H + s;
            if (s % 5 == 4) {
                ck_assert_int_eq(t->buf_done[row], 1);
                ck_assert_msg(t->buf_reward[row] != 1.0f, "row %zu not bootstrapped", row);
                /* the bootstrap is gamma times a value of the untrained network */
                ck_assert(fabsf(t->buf_reward[row] - 1.0f) < 0.5f * 10.0f);
            } else {
                ck_assert_int_eq(t->buf_done[row], 0);
                ck_assert_float_eq(t->buf_reward[row], 1.0f);
            }
        }
    }
    rl_trainer_destroy(t);
    ag_spec_free(&spec);
}
END_TEST

static void run_iters(const char *text, int iters, RlIterStats *out) {
    AgSpec spec;
    rl_test_spec(&spec, text);
    char err[512] = "";
    RlTrainer *t = NULL;
    ck_assert_msg(rl_trainer_create(&t, &spec, MPI_COMM_WORLD, err, sizeof err) == 0, "%s", err);
    for (int i = 0; i < iters; i++) {
        ck_assert_msg(rl_trainer_iterate(t, &out[i], err, sizeof err) == 0, "%s", err);
    }
    rl_trainer_destroy(t);
    ag_spec_free(&spec);
}

START_TEST(test_rerun_identical) {
    RlIterStats a[3], b[3];
    run_iters(SPEC_LSTM, 3, a);
    run_iters(SPEC_LSTM, 3, b);
    for (int i = 0; i < 3; i++) {
        ck_assert_int_eq(a[i].iteration, i + 1);
        ck_assert_int_eq(a[i].env_steps, (i + 1) * 4 * 64 * nranks());
        ck_assert_double_eq(a[i].policy_loss, b[i].policy_loss);
        ck_assert_double_eq(a[i].value_loss, b[i].value_loss);
        ck_assert_double_eq(a[i].entropy, b[i].entropy);
        ck_assert_double_eq(a[i].approx_kl, b[i].approx_kl);
        ck_assert_double_eq(a[i].grad_norm, b[i].grad_norm);
        ck_assert_int_eq(a[i].episodes, b[i].episodes);
        ck_assert(isfinite(a[i].policy_loss) && isfinite(a[i].grad_norm));
        ck_assert_int_eq(a[i].epochs, 2);
        /* 256 transitions per rank in minibatches of 64 / ranks */
        ck_assert_int_eq(a[i].minibatches, 2 * 4 * nranks());
    }
    /* another seed gives other numbers */
    char other[1024];
    snprintf(other, sizeof other, "%s", SPEC_LSTM);
    char *p = strstr(other, "\"seed\": 3");
    p[8] = '4';
    run_iters(other, 1, b);
    ck_assert(a[0].policy_loss != b[0].policy_loss);
}
END_TEST

START_TEST(test_cartpole_improves) {
    /* a short run must lift CartPole's return well above random play (about 22) */
    const char *text =
        "{\"task\": \"CartPole\", \"model\": \"simple\", \"policy\": \"categorical\","
        " \"ppo\": {\"envs_per_rank\": 8, \"horizon\": 128, \"minibatch\": 256, \"epochs\": 4,"
        " \"lr\": 0.001, \"c_entropy\": 0}, \"budget\": {\"env_steps\": 40960}, \"seed\": 2}";
    AgSpec spec;
    rl_test_spec(&spec, text);
    char err[512] = "";
    RlTrainer *t = NULL;
    ck_assert_msg(rl_trainer_create(&t, &spec, MPI_COMM_WORLD, err, sizeof err) == 0, "%s", err);
    int iters = (int)rl_trainer_total_iterations(t);
    ck_assert_int_eq(iters, 40 / nranks());
    RlIterStats st, first = {0};
    double best = 0;
    for (int i = 0; i < iters; i++) {
        ck_assert(rl_trainer_iterate(t, &st, err, sizeof err) == 0);
        if (i == 0) {
            first = st;
        }
        if (isfinite(st.return_mean)) {
            best = fmax(best, st.return_mean);
        }
    }
    printf("cartpole: first return %.1f, best %.1f after %lld steps\n", first.return_mean, best,
           (long long)st.env_steps);
    ck_assert_double_lt(first.return_mean, 60);
    ck_assert_double_gt(best, 200);
    ck_assert_double_gt(st.explained_variance, -10);
    rl_trainer_destroy(t);
    ag_spec_free(&spec);
}
END_TEST

static int create_err(const char *text, char *err, size_t err_sz) {
    AgSpec spec;
    rl_test_spec(&spec, text);
    RlTrainer *t = NULL;
    int rc = rl_trainer_create(&t, &spec, MPI_COMM_WORLD, err, err_sz);
    ck_assert_ptr_null(t);
    ag_spec_free(&spec);
    return rc;
}

START_TEST(test_bad_specs_refused) {
    char err[512] = "";
    ck_assert_int_ne(create_err("{\"task\": \"NoSuchTask\"}", err, sizeof err), 0);
    ck_assert_msg(strstr(err, "NoSuchTask") != NULL, "message: %s", err);
    err[0] = '\0';
    ck_assert_int_eq(
        create_err("{\"task\": \"CartPole\", \"policy\": \"gaussian\"}", err, sizeof err),
        AG_ESPEC);
    ck_assert_msg(strstr(err, "policy") != NULL, "message: %s", err);
    err[0] = '\0';
    ck_assert_int_eq(
        create_err("{\"task\": \"Pendulum\", \"policy\": \"categorical\"}", err, sizeof err),
        AG_ESPEC);
    err[0] = '\0';
    ck_assert_int_ne(
        create_err("{\"task\": \"CartPole\", \"task_options\": {\"bogus\": 1}}", err, sizeof err),
        0);
    ck_assert_msg(strstr(err, "bogus") != NULL, "message: %s", err);
    err[0] = '\0';
    ck_assert_int_ne(
        create_err("{\"task\": \"CartPole\", \"model\": \"no_such_model\"}", err, sizeof err), 0);
    ck_assert_msg(err[0] != '\0', "no message");
}
END_TEST

START_TEST(test_check_names_the_path) {
    static const struct {
        const char *member, *path;
    } bad[] = {
        {"\"model\": \"no_such_model\"", "model"},
        {"\"model\": {\"bogus\": 1}", "model.bogus"},
        {"\"policy\": \"gaussian\"", "policy"},
        {"\"task_options\": {\"bogus\": 1}", "task_options.bogus"},
        {"\"task_options\": {\"max_episode_steps\": -1}", "task_options.max_episode_steps"},
    };
    char text[256], path[AG_JSON_PATH_MAX], err[512];
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        snprintf(text, sizeof text, "{\"task\": \"CartPole\", %s}", bad[i].member);
        err[0] = '\0';
        ck_assert_int_ne(rl_test_check_spec(text, path, sizeof path, err, sizeof err), 0);
        ck_assert_msg(!strcmp(path, bad[i].path), "%s: path %s, expected %s (%s)", text, path,
                      bad[i].path, err);
        ck_assert_msg(err[0] != '\0', "%s: no message", text);
    }
    ck_assert_int_eq(
        rl_test_check_spec("{\"task\": \"CartPole\"}", path, sizeof path, err, sizeof err), 0);
    ck_assert_str_eq(path, "");
}
END_TEST

START_TEST(test_gaussian_and_beta_box) {
    /* continuous actions through both box distributions: an iteration runs and stays finite */
    const char *kinds[2] = {"gaussian", "beta"};
    for (int k = 0; k < 2; k++) {
        char text[512];
        snprintf(text, sizeof text,
                 "{\"task\": \"Pendulum\", \"policy\": \"%s\", \"ppo\": {\"envs_per_rank\": 2,"
                 " \"horizon\": 200, \"minibatch\": 100, \"value_clip\": 0.2,"
                 " \"target_kl\": 1e-9}, \"budget\": {\"env_steps\": 800}}",
                 kinds[k]);
        AgSpec spec;
        rl_test_spec(&spec, text);
        char err[512] = "";
        RlTrainer *t = NULL;
        ck_assert_msg(rl_trainer_create(&t, &spec, MPI_COMM_WORLD, err, sizeof err) == 0, "%s",
                      err);
        RlIterStats st;
        for (int i = 0; i < 2; i++) {
            ck_assert(rl_trainer_iterate(t, &st, err, sizeof err) == 0);
            ck_assert(isfinite(st.policy_loss) && isfinite(st.value_loss));
            ck_assert_int_eq(st.episodes, 2 * nranks()); /* 200-step episodes, truncated */
            /* the tiny target_kl stops after the first epoch */
            ck_assert_int_eq(st.epochs, 1);
        }
        rl_trainer_destroy(t);
        ag_spec_free(&spec);
    }
}
END_TEST

START_TEST(test_statistics_merged_across_ranks) {
    /* after an iteration every rank's normalisers hold the samples of all ranks, and every
     * rank holds the same parameters and statistics */
    AgSpec spec;
    rl_test_spec(&spec, SPEC_FF);
    char err[512] = "";
    RlTrainer *t = NULL;
    ck_assert_msg(rl_trainer_create(&t, &spec, MPI_COMM_WORLD, err, sizeof err) == 0, "%s", err);
    RlIterStats st;
    for (int it = 1; it <= 2; it++) {
        ck_assert(rl_trainer_iterate(t, &st, err, sizeof err) == 0);
        double n = (double)it * t->E * t->H * nranks();
        ck_assert_double_eq(t->obs_stat.count, n);
        ck_assert_double_eq(t->ret_stat.count, n);
        ck_assert_double_eq(t->obs_delta.count, 0);
        double mine[3] = {t->obs_stat.mean[0], rl_stat_var(&t->obs_stat, 2),
                          (double)nn_model_params(t->model)[t->num_params / 2]};
        double lo[3], hi[3];
        MPI_Allreduce(mine, lo, 3, MPI_DOUBLE, MPI_MIN, MPI_COMM_WORLD);
        MPI_Allreduce(mine, hi, 3, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
        for (int k = 0; k < 3; k++) {
            ck_assert_double_eq(lo[k], hi[k]);
        }
    }
    rl_trainer_destroy(t);
    ag_spec_free(&spec);
}
END_TEST

/* A frozen encoder on CartPole: the "state" input's pathway (dense 8, tanh) loaded from a
 * checkpoint made as angora-train --pretrain makes one. Its output is 8 floats, so here the
 * stored rows grow (4 -> 8 floats); with an image they shrink. */
#define ENC_PATHWAY "[{\"type\": \"dense\", \"units\": 8}, \"tanh\"]"

static void encoder_ckpt_write(const char *path) {
    NnIoSpec io;
    memset(&io, 0, sizeof io);
    io.num_inputs = 1;
    snprintf(io.inputs[0].name, NN_NAME_MAX, "state");
    io.inputs[0].shape[0] = 4;
    io.inputs[0].shape[1] = io.inputs[0].shape[2] = 1;
    io.inputs[0].size = io.obs_size = 4;
    io.policy_outputs = 7;
    encoder_ckpt_save("{\"inputs\": {\"state\": {\"pathway\": " ENC_PATHWAY "}}, \"trunk\": "
                      "[{\"type\": \"dense\", \"units\": 8}, \"tanh\"], \"shared\": true}",
                      &io, 17, "{\"input\": \"state\"}", path);
}

/* a CartPole trainer whose state pathway is the encoder at path, frozen or fine-tuned; with
 * cache "off" in ANGORA_ENCODER_CACHE (NULL: unset) */
static RlTrainer *encoder_trainer(const char *path, int freeze, const char *cache) {
    char text[2048];
    snprintf(text, sizeof text,
             "{\"task\": \"CartPole\", \"policy\": \"categorical\", \"model\": {\"inputs\": "
             "{\"state\": {\"pathway\": " ENC_PATHWAY "}}, \"trunk\": [{\"type\": \"dense\", "
             "\"units\": 16}, \"tanh\"], \"encoder\": {\"checkpoint\": \"%s\", \"freeze\": %s, "
             "\"input\": \"state\"}}, \"ppo\": {\"envs_per_rank\": 4, \"horizon\": 64, "
             "\"minibatch\": 64, \"epochs\": 3}, \"budget\": {\"env_steps\": 4096}, \"seed\": 9}",
             path, freeze ? "true" : "false");
    AgSpec spec;
    rl_test_spec(&spec, text);
    if (cache) {
        setenv("ANGORA_ENCODER_CACHE", cache, 1);
    }
    char err[512] = "";
    RlTrainer *t = NULL;
    int rc = rl_trainer_create(&t, &spec, MPI_COMM_WORLD, err, sizeof err);
    unsetenv("ANGORA_ENCODER_CACHE");
    ck_assert_msg(rc == 0, "%s", err);
    ag_spec_free(&spec);
    return t;
}

/* the values of the encoder's tensors (every network's) */
static size_t encoder_values(RlTrainer *t, float *out) {
    size_t n = 0;
    NnModel *m = t->model;
    for (int k = 0; k < nn_model_num_tensors(m); k++) {
        if (strstr(nn_model_tensor_name(m, k), ".in.state.")) {
            memcpy(out + n, nn_model_params(m) + nn_model_tensor_offset(m, k),
                   nn_model_tensor_size(m, k) * sizeof(float));
            n += nn_model_tensor_size(m, k);
        }
    }
    return n;
}

static void encoder_path(char *path, size_t size) {
    snprintf(path, size, "/tmp/angora_rl_encoder.%ld.ckpt", (long)getpid());
    encoder_ckpt_write(path);
}

START_TEST(test_frozen_encoder_features_cached) {
    /* frozen: the stored rows are feature rows, the update runs the encoder's pathway neither
     * forward nor backward, and its weights stay bit for bit; fine-tuned: the rows are the
     * observations, the update runs the pathway both ways and changes it */
    char path[128];
    encoder_path(path, sizeof path);
    for (int freeze = 0; freeze <= 1; freeze++) {
        RlTrainer *t = encoder_trainer(path, freeze, NULL);
        ck_assert_int_eq(t->cache_features, freeze);
        ck_assert_int_eq(t->F, freeze ? 8 : t->O);
        float before[256], after[256];
        size_t n = encoder_values(t, before);
        ck_assert_uint_eq(n, 2 * (8 * 4 + 8)); /* policy and value pathway */
        RlIterStats st;
        char err[512] = "";
        ck_assert_msg(rl_trainer_iterate(t, &st, err, sizeof err) == 0, "%s", err);
        ck_assert(isfinite(st.policy_loss) && st.minibatches > 0);
        /* collecting ran the encoder once a step for both networks (twice when fine-tuned),
         * and once for the bootstrap values after the last step (no truncations in 64 steps) */
        ck_assert_int_eq(nn_step_ctx_pathway_count(t->step_ctx, 0), (freeze ? 1 : 2) * t->H + 1);
        int64_t fwd = nn_model_pathway_forward_count(t->model, 0);
        int64_t bwd = nn_model_pathway_backward_count(t->model, 0);
        ck_assert_int_eq(fwd, freeze ? 0 : 2 * st.minibatches);
        ck_assert_int_eq(bwd, freeze ? 0 : 2 * st.minibatches);
        ck_assert_uint_eq(encoder_values(t, after), n);
        ck_assert_int_eq(memcmp(before, after, n * sizeof(float)) == 0, freeze);
        rl_trainer_destroy(t);
    }
    unlink(path);
}
END_TEST

START_TEST(test_cached_features_learn_the_same) {
    /* the same run with the features cached and with the encoder run again in every epoch
     * (ANGORA_ENCODER_CACHE=off): the same losses and the same new weights to float rounding
     * (the step and the update multiply at other shapes, so BLAS may sum in another order) */
    char path[128];
    encoder_path(path, sizeof path);
    RlTrainer *a = encoder_trainer(path, 1, NULL);
    RlTrainer *b = encoder_trainer(path, 1, "off");
    ck_assert_int_eq(a->cache_features, 1);
    ck_assert_int_eq(b->cache_features, 0);
    ck_assert_int_eq(b->F, b->O);
    char err[512] = "";
    for (int it = 0; it < 2; it++) {
        RlIterStats sa, sb;
        ck_assert_msg(rl_trainer_iterate(a, &sa, err, sizeof err) == 0, "%s", err);
        ck_assert_msg(rl_trainer_iterate(b, &sb, err, sizeof err) == 0, "%s", err);
        ck_assert_int_eq(sa.minibatches, sb.minibatches);
        double dl = fabs(sa.policy_loss - sb.policy_loss) / fmax(1.0, fabs(sb.policy_loss));
        double dv = fabs(sa.value_loss - sb.value_loss) / fmax(1.0, fabs(sb.value_loss));
        double dp = 0.0;
        const float *pa = nn_model_params_const(a->model), *pb = nn_model_params_const(b->model);
        for (size_t i = 0; i < a->num_params; i++) {
            dp = fmax(dp, fabs((double)pa[i] - pb[i]) / fmax(1.0, fabs(pb[i])));
        }
        printf("iteration %d, cached against recomputed features: relative difference of the "
               "policy loss %.3g, value loss %.3g, weights at most %.3g\n",
               it + 1, dl, dv, dp);
        ck_assert(dl <= 1e-5 && dv <= 1e-5 && dp <= 1e-5);
    }
    ck_assert_int_eq(nn_model_pathway_forward_count(a->model, 0), 0);
    ck_assert_int_gt(nn_model_pathway_forward_count(b->model, 0), 0);
    /* the last rollout's rows: the encoder's output of the observations the other run stored
     * (the same steps), made as the collection makes them, E environments at a time */
    int E = a->E, H = a->H, O = a->O, F = a->F;
    NnStepCtx *step = nn_step_ctx_create(b->model, E);
    float *obs = malloc(sizeof(float) * E * O), *rows = malloc(sizeof(float) * E * F);
    float *pol = malloc(sizeof(float) * E * a->P);
    for (int s = 0; s < H; s++) {
        for (int e = 0; e < E; e++) {
            memcpy(obs + (size_t)e * O, b->buf_obs + ((size_t)e * H + s) * O, O * sizeof(float));
        }
        nn_model_step(b->model, step, E, obs, NULL, NULL, pol, NULL);
        nn_model_step_feature_rows(b->model, step, E, obs, rows, (size_t)F);
        for (int e = 0; e < E; e++) {
            ck_assert(memcmp(rows + (size_t)e * F, a->buf_obs + ((size_t)e * H + s) * F,
                             F * sizeof(float)) == 0);
        }
    }
    nn_step_ctx_destroy(step);
    free(obs);
    free(rows);
    free(pol);
    rl_trainer_destroy(a);
    rl_trainer_destroy(b);
    /* a bad value is refused */
    AgSpec spec;
    rl_test_spec(&spec, SPEC_FF);
    setenv("ANGORA_ENCODER_CACHE", "maybe", 1);
    RlTrainer *t = NULL;
    int rc = rl_trainer_create(&t, &spec, MPI_COMM_WORLD, err, sizeof err);
    unsetenv("ANGORA_ENCODER_CACHE");
    ck_assert_int_eq(rc, AG_EINVAL);
    ck_assert_ptr_null(t);
    ck_assert_msg(strstr(err, "ANGORA_ENCODER_CACHE") != NULL, "%s", err);
    ag_spec_free(&spec);
    unlink(path);
}
END_TEST

/* A frozen vision encoder on HandBlock seen through an 8x8 camera: the `pathways` preset's conv
 * pathway, loaded from a checkpoint made as angora-train --pretrain makes one (which trains it
 * on the rendered pixels, in [0, 1]). */
#define PIX_PATHWAY                                                                                \
    "[{\"type\": \"conv2d\", \"filters\": 32, \"kernel\": 3, \"stride\": 1, \"padding\": "         \
    "\"same\"}, \"relu\", {\"type\": \"conv2d\", \"filters\": 32, \"kernel\": 3, \"stride\": 1, "  \
    "\"padding\": \"same\"}, \"relu\", \"spatial_softmax\"]"

static void pixel_encoder_ckpt_write(const char *path) {
    NnIoSpec io;
    memset(&io, 0, sizeof io);
    io.num_inputs = 1;
    snprintf(io.inputs[0].name, NN_NAME_MAX, "vision");
    io.inputs[0].shape[0] = 3;
    io.inputs[0].shape[1] = io.inputs[0].shape[2] = 8;
    io.inputs[0].size = io.obs_size = 3 * 8 * 8;
    snprintf(io.inputs[0].view, NN_VIEW_MAX, "palm_cam, fovy 45"); /* the task's default camera */
    io.policy_outputs = 7;
    encoder_ckpt_save("{\"inputs\": {\"vision\": {\"pathway\": " PIX_PATHWAY "}}, \"trunk\": "
                      "[{\"type\": \"dense\", \"units\": 8}, \"tanh\"], \"shared\": true}",
                      &io, 23, "{\"input\": \"vision\"}", path);
}

START_TEST(test_pixels_reach_the_encoder_raw) {
    /* observation normalisation passes the image through as rendered and standardises the
     * other sensations; the frozen encoder's features stored while collecting are the encoder's
     * output of the raw image, as it was trained on */
    char path[128];
    snprintf(path, sizeof path, "/tmp/angora_rl_pixel_encoder.%ld.ckpt", (long)getpid());
    pixel_encoder_ckpt_write(path);
    char text[2048];
    snprintf(text, sizeof text,
             "{\"task\": \"HandBlock\", \"task_options\": {\"vision\": \"pixels\", "
             "\"image_size\": 8}, \"model\": {\"preset\": \"pathways\", \"encoder\": "
             "{\"checkpoint\": \"%s\", \"freeze\": true}}, \"ppo\": {\"envs_per_rank\": 2, "
             "\"horizon\": 8, \"tbptt\": 8, \"minibatch\": 16, \"epochs\": 1}, \"budget\": "
             "{\"env_steps\": 1024}, \"seed\": 4}",
             path);
    AgSpec spec;
    rl_test_spec(&spec, text);
    char err[512] = "";
    RlTrainer *t = NULL;
    ck_assert_msg(rl_trainer_create(&t, &spec, MPI_COMM_WORLD, err, sizeof err) == 0, "%s", err);
    ag_spec_free(&spec);
    ck_assert_int_eq(t->cache_features, 1);
    int vin = nn_model_feature_input(t->model);
    ck_assert_int_ge(vin, 0);
    const NnInputSpec *vis = &nn_model_io(t->model)->inputs[vin];
    ck_assert_str_eq(vis->name, "vision");
    ck_assert_int_eq(vis->size, 3 * 8 * 8);
    const int E = t->E, O = t->O, F = t->F, H = t->H, S = t->S;
    const int enc_out = F - (O - vis->size);
    ck_assert_int_eq(enc_out, 2 * 32); /* spatial softmax: x, y per filter */

    /* the first observations, as the environments made them */
    float *raw = malloc(sizeof(float) * E * O), *norm = malloc(sizeof(float) * E * O);
    memcpy(raw, t->obs_raw, sizeof(float) * E * O);
    RlTimings tm = {0};
    rl_trainer_collect(t, &tm);

    /* the trainer's normaliser: pixels as they are and outside its statistics, every other
     * feature standardised by what it has seen */
    ck_assert_double_eq(t->obs_stat.count, (double)E * H); /* this rank's, not yet merged */
    rl_stat_normalize(&t->obs_stat, raw, norm, E, (float)t->spec.normalize.clip_obs);
    int standardised = 0;
    for (int e = 0; e < E; e++) {
        for (int i = 0; i < O; i++) {
            size_t k = (size_t)e * O + i;
            int pixel = i >= vis->offset && i < vis->offset + vis->size;
            ck_assert_int_eq(rl_stat_is_pass_through(&t->obs_stat, i), pixel);
            if (pixel) {
                ck_assert(raw[k] >= 0.0f && raw[k] <= 1.0f);
                ck_assert_float_eq(norm[k], raw[k]);
                ck_assert_double_eq(t->obs_stat.mean[i], 0.0);
                ck_assert_double_eq(t->obs_stat.m2[i], 0.0);
            } else {
                standardised += norm[k] != raw[k];
            }
        }
    }
    ck_assert_int_gt(standardised, E * (O - vis->size) / 2);

    /* the first step's stored features: the encoder run directly on the raw image */
    NnStepCtx *step = nn_step_ctx_create(t->model, E);
    float *state = calloc((size_t)E * (S > 0 ? S : 1), sizeof(float));
    float *rows = malloc(sizeof(float) * E * F), *pol = malloc(sizeof(float) * E * t->P);
    nn_model_step(t->model, step, E, raw, state, state, pol, NULL);
    nn_model_step_feature_rows(t->model, step, E, raw, rows, (size_t)F);
    for (int e = 0; e < E; e++) {
        const float *mine = t->buf_obs + (size_t)e * H * F + vis->offset;
        ck_assert(memcmp(mine, rows + (size_t)e * F + vis->offset, enc_out * sizeof(float)) == 0);
    }
    nn_step_ctx_destroy(step);
    free(state);
    free(rows);
    free(pol);
    free(raw);
    free(norm);
    rl_trainer_destroy(t);
    unlink(path);
}
END_TEST

static Suite *ppo_suite(void) {
    Suite *s = suite_create("rl_ppo");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_recurrent_chunks_replay_collection);
    tcase_add_test(tc, test_rollout_buffers_consistent);
    tcase_add_test(tc, test_truncation_bootstrapped_termination_not);
    tcase_add_test(tc, test_rerun_identical);
    tcase_add_test(tc, test_cartpole_improves);
    tcase_add_test(tc, test_bad_specs_refused);
    tcase_add_test(tc, test_check_names_the_path);
    tcase_add_test(tc, test_gaussian_and_beta_box);
    tcase_add_test(tc, test_statistics_merged_across_ranks);
    tcase_add_test(tc, test_frozen_encoder_features_cached);
    tcase_add_test(tc, test_cached_features_learn_the_same);
    suite_add_tcase(s, tc);
    /* rendering: run apart (unit_rl_ppo_pixels) with the sanitizer options it needs */
    TCase *px = tcase_create("pixels");
    tcase_set_timeout(px, 120);
    tcase_add_test(px, test_pixels_reach_the_encoder_raw);
    suite_add_tcase(s, px);
    return s;
}

int main(void) {
    return rl_test_run_suite(ppo_suite());
}
