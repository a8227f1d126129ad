/* Tests of the model graph (server/nn/nn_model.c): gradients of whole models against finite
 * differences (pathways + LSTM, feed-forward MLP, shared GRU with max-pooling), shared versus
 * separate networks, critic-only inputs, reset masks inside sequences, step inference against
 * the training forward, no allocation while stepping, initialisation, preset parameter counts
 * and description round trips. */
#include "ag_error.h"
#include "ag_rng.h"
#include "nn_model.h"
#include "nn_test_models.h"

#include <check.h>
#include <signal.h>
#include <jansson.h>
#include <malloc.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---- helpers ---- */

static NnIoSpec io_vector(int n, int policy_outputs, int logstd) {
    NnIoSpec io;
    memset(&io, 0, sizeof io);
    io_add(&io, "proprioception", n, 1, 1, 0);
    io.policy_outputs = policy_outputs;
    io.logstd_dim = logstd;
    return io;
}

static NnModel *model_from_text(const char *text, const NnIoSpec *io) {
    json_error_t jerr;
    json_t *desc = json_loads(text, JSON_DECODE_ANY, &jerr);
    ck_assert_msg(desc != NULL, "test description does not parse: %s", jerr.text);
    char err[512] = "";
    NnModel *m = nn_model_create(desc, io, err, sizeof err);
    json_decref(desc);
    ck_assert_msg(m != NULL, "model: %s", err);
    return m;
}

static void fill_uniform(float *x, size_t n, AgRng *rng, float a) {
    for (size_t i = 0; i < n; i++) {
        x[i] = (float)ag_rng_uniform_range(rng, -a, a);
    }
}

static int tensor_find(const NnModel *m, const char *name) {
    for (int i = 0; i < nn_model_num_tensors(m); i++) {
        if (strcmp(nn_model_tensor_name(m, i), name) == 0) {
            return i;
        }
    }
    return -1;
}

static float *falloc(size_t n) {
    float *p = calloc(n ? n : 1, sizeof(float));
    ck_assert_ptr_nonnull(p);
    return p;
}

/* L = sum(wp * policy) + sum(wv * value), accumulated in double */
static double loss_eval(NnModel *m, NnTrainCtx *ctx, int B, int T, const float *obs,
                        const float *state0, const uint8_t *reset, const float *wp, const float *wv,
                        float *pol, float *val) {
    const NnIoSpec *io = nn_model_io(m);
    int W = io->policy_outputs + io->logstd_dim, rows = B * T;
    nn_model_forward(m, ctx, B, obs, state0, reset, pol, val);
    double L = 0;
    for (int i = 0; i < rows * W; i++) {
        L += (double)wp[i] * pol[i];
    }
    for (int i = 0; i < rows; i++) {
        L += (double)wv[i] * val[i];
    }
    return L;
}

/* compares the backward gradients of up to per_tensor sampled entries of every tensor (whose
 * name does not contain `skip`) with central differences; returns the max relative error */
static double grad_check(NnModel *m, int B, int T, const float *obs, const float *state0,
                         const uint8_t *reset, int per_tensor, const char *skip, int *checked) {
    const NnIoSpec *io = nn_model_io(m);
    int W = io->policy_outputs + io->logstd_dim, rows = B * T;
    size_t np = nn_model_num_params(m);
    NnTrainCtx *ctx = nn_train_ctx_create(m, B, T);
    ck_assert_ptr_nonnull(ctx);
    float *pol = falloc((size_t)rows * W), *val = falloc((size_t)rows);
    float *wp = falloc((size_t)rows * W), *wv = falloc((size_t)rows);
    float *grad = falloc(np);
    AgRng rng;
    ag_rng_seed(&rng, 99, 1);
    fill_uniform(wp, (size_t)rows * W, &rng, 1.0f);
    fill_uniform(wv, (size_t)rows, &rng, 1.0f);

    nn_model_zero_grad(m);
    loss_eval(m, ctx, B, T, obs, state0, reset, wp, wv, pol, val);
    nn_model_backward(m, ctx, wp, wv);
    memcpy(grad, nn_model_grads(m), np * sizeof(float));

    float *P = nn_model_params(m);
    double max_err = 0;
    const char *worst = "";
    *checked = 0;
    for (int t = 0; t < nn_model_num_tensors(m); t++) {
        const char *name = nn_model_tensor_name(m, t);
        if (skip && strstr(name, skip)) {
            continue;
        }
        size_t off = nn_model_tensor_offset(m, t), size = nn_model_tensor_size(m, t);
        int count = size < (size_t)per_tensor ? (int)size : per_tensor;
        for (int k = 0; k < count; k++) {
            size_t idx = off + (count == (int)size ? (size_t)k : ag_rng_below(&rng, size));
            float p0 = P[idx];
            float eps = 1e-2f;
            P[idx] = p0 + eps;
            float hi = P[idx];
            double Lp = loss_eval(m, ctx, B, T, obs, state0, reset, wp, wv, pol, val);
            P[idx] = p0 - eps;
            float lo = P[idx];
            double Lm = loss_eval(m, ctx, B, T, obs, state0, reset, wp, wv, pol, val);
            P[idx] = p0;
            double num = (Lp - Lm) / ((double)hi - (double)lo);
            double err = fabs(num - grad[idx]) / (fabs(num) + fabs(grad[idx]) + 1e-2);
            if (err > max_err) {
                max_err = err;
                worst = name;
            }
            (*checked)++;
        }
    }
    printf("  grad check: %d entries of %zu params, max relative error %.3g (%s)\n", *checked, np,
           max_err, worst);
    free(pol);
    free(val);
    free(wp);
    free(wv);
    free(grad);
    nn_train_ctx_destroy(ctx);
    return max_err;
}

static void random_params(NnModel *m, uint64_t seed) {
    AgRng rng;
    ag_rng_seed(&rng, seed, 7);
    fill_uniform(nn_model_params(m), nn_model_num_params(m), &rng, 0.4f);
}

/* ---- gradients against finite differences ---- */

START_TEST(test_gradcheck_pathways_lstm) {
    NnIoSpec io = io_senses();
    NnModel *m = model_from_text(PATHWAYS_LSTM, &io);
    random_params(m, 1);
    int B = 2, T = 4;
    AgRng rng;
    ag_rng_seed(&rng, 5, 0);
    float *obs = falloc((size_t)B * T * io.obs_size);
    fill_uniform(obs, (size_t)B * T * io.obs_size, &rng, 1.0f);
    float *state0 = falloc((size_t)B * nn_model_state_size(m));
    fill_uniform(state0, (size_t)B * nn_model_state_size(m), &rng, 0.5f);
    uint8_t reset[8] = {0, 0, 0, 0, 0, 0, 1, 0}; /* sequence 1 restarts at t = 2 */
    int checked = 0;
    double err = grad_check(m, B, T, obs, state0, reset, 16, NULL, &checked);
    ck_assert_int_gt(checked, 300);
    ck_assert_msg(err < 1e-2, "max relative gradient error %g", err);
    free(obs);
    free(state0);
    nn_model_destroy(m);
}
END_TEST

START_TEST(test_gradcheck_simple_feedforward) {
    NnIoSpec io = io_vector(5, 2, 2);
    json_t *desc = json_string("simple");
    char err[256];
    NnModel *m = nn_model_create(desc, &io, err, sizeof err);
    json_decref(desc);
    ck_assert_msg(m != NULL, "%s", err);
    ck_assert_int_eq(nn_model_is_recurrent(m), 0);
    random_params(m, 2);
    AgRng rng;
    ag_rng_seed(&rng, 6, 0);
    float obs[3 * 5];
    fill_uniform(obs, 15, &rng, 1.0f);
    int checked = 0;
    double e = grad_check(m, 3, 1, obs, NULL, NULL, 40, NULL, &checked);
    ck_assert_int_gt(checked, 300);
    ck_assert_msg(e < 1e-2, "max relative gradient error %g", e);
    nn_model_destroy(m);
}
END_TEST

START_TEST(test_gradcheck_shared_gru_maxpool) {
    NnIoSpec io = io_senses();
    NnModel *m = model_from_text(SHARED_GRU, &io);
    random_params(m, 3);
    int B = 3, T = 3;
    AgRng rng;
    ag_rng_seed(&rng, 8, 0);
    float *obs = falloc((size_t)B * T * io.obs_size);
    fill_uniform(obs, (size_t)B * T * io.obs_size, &rng, 1.0f);
    uint8_t reset[9] = {0, 1, 0, 0, 0, 0, 0, 0, 1};
    int checked = 0;
    /* the convolution in front of the max-pool is left out: a finite step can move a window's
     * maximum, a kink the analytic gradient rightly ignores */
    double e = grad_check(m, B, T, obs, NULL, reset, 16, "in.vision.0.", &checked);
    ck_assert_int_gt(checked, 100);
    ck_assert_msg(e < 1e-2, "max relative gradient error %g", e);
    free(obs);
    nn_model_destroy(m);
}
END_TEST

/* ---- structure ---- */

static int grads_nonzero(const NnModel *m, const char *prefix) {
    const float *G = nn_model_grads((NnModel *)m);
    int nonzero = 0;
    for (int t = 0; t < nn_model_num_tensors(m); t++) {
        if (strncmp(nn_model_tensor_name(m, t), prefix, strlen(prefix)) != 0) {
            continue;
        }
        size_t off = nn_model_tensor_offset(m, t);
        for (size_t i = 0; i < nn_model_tensor_size(m, t); i++) {
            nonzero += G[off + i] != 0.0f;
        }
    }
    return nonzero;
}

START_TEST(test_shared_vs_separate) {
    NnIoSpec io = io_senses();
    NnModel *sep = model_from_text(PATHWAYS_LSTM, &io);
    json_error_t jerr;
    json_t *d = json_loads(PATHWAYS_LSTM, 0, &jerr);
    json_object_set_new(d, "shared", json_true());
    char err[256];
    NnModel *sh = nn_model_create(d, &io, err, sizeof err);
    json_decref(d);
    ck_assert_msg(sh != NULL, "%s", err);
    random_params(sep, 4);
    random_params(sh, 4);

    /* separate: two cores' state; shared: one */
    ck_assert_int_eq(nn_model_state_size(sep), 2 * 2 * 6);
    ck_assert_int_eq(nn_model_state_size(sh), 2 * 6);
    ck_assert_uint_lt(nn_model_num_params(sh), nn_model_num_params(sep));
    ck_assert_int_ge(tensor_find(sep, "policy.core.w_ih"), 0);
    ck_assert_int_ge(tensor_find(sep, "value.core.w_ih"), 0);
    ck_assert_int_ge(tensor_find(sh, "shared.core.w_hh"), 0);
    ck_assert_int_lt(tensor_find(sh, "value.core.w_hh"), 0);
    /* the critic-only input feeds only the value side */
    ck_assert_int_lt(tensor_find(sep, "policy.in.asymmetric.0.w"), 0);
    ck_assert_int_ge(tensor_find(sep, "value.in.asymmetric.0.w"), 0);
    ck_assert_int_ge(tensor_find(sh, "value.in.asymmetric.0.w"), 0);
    ck_assert_int_lt(tensor_find(sh, "shared.in.asymmetric.0.w"), 0);

    int B = 2, T = 3, rows = B * T, W = io.policy_outputs + io.logstd_dim;
    AgRng rng;
    ag_rng_seed(&rng, 9, 0);
    float *obs = falloc((size_t)rows * io.obs_size), *obs2 = falloc((size_t)rows * io.obs_size);
    fill_uniform(obs, (size_t)rows * io.obs_size, &rng, 1.0f);
    memcpy(obs2, obs, (size_t)rows * io.obs_size * sizeof(float));
    int asym = io.inputs[4].offset;
    for (int r = 0; r < rows; r++) {
        for (int j = 0; j < 5; j++) {
            obs2[r * io.obs_size + asym + j] += 0.5f;
        }
    }
    float *dp = falloc((size_t)rows * W), *dv = falloc((size_t)rows);
    fill_uniform(dp, (size_t)rows * W, &rng, 1.0f);
    fill_uniform(dv, (size_t)rows, &rng, 1.0f);
    NnModel *models[2] = {sep, sh};
    for (int k = 0; k < 2; k++) {
        NnModel *m = models[k];
        NnTrainCtx *ctx = nn_train_ctx_create(m, B, T);
        float *p1 = falloc((size_t)rows * W), *v1 = falloc(rows);
        float *p2 = falloc((size_t)rows * W), *v2 = falloc(rows);
        nn_model_forward(m, ctx, B, obs, NULL, NULL, p1, v1);
        nn_model_forward(m, ctx, B, obs2, NULL, NULL, p2, v2);
        ck_assert_int_eq(memcmp(p1, p2, (size_t)rows * W * sizeof(float)), 0);
        ck_assert_int_ne(memcmp(v1, v2, (size_t)rows * sizeof(float)), 0);

        /* the value loss alone */
        nn_model_zero_grad(m);
        nn_model_forward(m, ctx, B, obs, NULL, NULL, p1, v1);
        nn_model_backward(m, ctx, NULL, dv);
        ck_assert_int_eq(grads_nonzero(m, "policy."), 0);
        ck_assert_int_gt(grads_nonzero(m, "value."), 0);
        if (k == 0) {
            ck_assert_int_eq(grads_nonzero(m, "shared."), 0);
        } else {
            ck_assert_int_gt(grads_nonzero(m, "shared.core."), 0);
            ck_assert_int_gt(grads_nonzero(m, "shared.in.vision."), 0);
        }
        /* the policy loss alone */
        nn_model_zero_grad(m);
        nn_model_backward(m, ctx, dp, NULL);
        ck_assert_int_eq(grads_nonzero(m, "value."), 0);
        ck_assert_int_gt(grads_nonzero(m, k == 0 ? "policy.core." : "shared.core."), 0);
        ck_assert_int_gt(grads_nonzero(m, "policy.head."), 0);
        ck_assert_int_gt(grads_nonzero(m, "policy.logstd"), 0);
        /* the log-std is appended to every row */
        const float *P = nn_model_params_const(m);
        size_t ls = nn_model_tensor_offset(m, tensor_find(m, "policy.logstd"));
        for (int r = 0; r < rows; r++) {
            for (int j = 0; j < io.logstd_dim; j++) {
                ck_assert_float_eq(p1[r * W + io.policy_outputs + j], P[ls + j]);
            }
        }
        free(p1);
        free(v1);
        free(p2);
        free(v2);
        nn_train_ctx_destroy(ctx);
    }
    free(obs);
    free(obs2);
    free(dp);
    free(dv);
    nn_model_destroy(sep);
    nn_model_destroy(sh);
}
END_TEST

/* ---- sequences ---- */

static void check_reset_mask(const char *desc_text) {
    NnIoSpec io = io_senses();
    NnModel *m = model_from_text(desc_text, &io);
    random_params(m, 10);
    int B = 2, T = 6, S = nn_model_state_size(m), O = io.obs_size;
    int W = io.policy_outputs + io.logstd_dim;
    AgRng rng;
    ag_rng_seed(&rng, 11, 0);
    float *obs = falloc((size_t)B * T * O), *state0 = falloc((size_t)B * S);
    fill_uniform(obs, (size_t)B * T * O, &rng, 1.0f);
    fill_uniform(state0, (size_t)B * S, &rng, 0.5f);
    uint8_t reset[12] = {0};
    reset[0 * T + 3] = 1; /* sequence 0: a new episode from t = 3 */

    NnTrainCtx *ctx = nn_train_ctx_create(m, B, T);
    float *pol = falloc((size_t)B * T * W), *val = falloc((size_t)B * T);
    float *pol_nr = falloc((size_t)B * T * W), *val_nr = falloc((size_t)B * T);
    nn_model_forward(m, ctx, B, obs, state0, NULL, pol_nr, val_nr);
    nn_model_forward(m, ctx, B, obs, state0, reset, pol, val);

    /* the tail of sequence 0 equals a fresh sequence from zero state */
    NnTrainCtx *tail = nn_train_ctx_create(m, 1, 3);
    float tp[3 * 6], tv[3];
    nn_model_forward(m, tail, 1, obs + 3 * O, NULL, NULL, tp, tv);
    double max_diff = 0;
    for (int t = 0; t < 3; t++) {
        max_diff = fmax(max_diff, fabs(tv[t] - val[3 + t]));
        for (int j = 0; j < W; j++) {
            max_diff = fmax(max_diff, fabs(tp[t * W + j] - pol[(3 + t) * W + j]));
        }
    }
    ck_assert_msg(max_diff < 1e-6, "reset tail differs by %g", max_diff);
    /* before the reset, and the other sequence, are untouched by it */
    ck_assert_int_eq(memcmp(pol, pol_nr, (size_t)3 * W * sizeof(float)), 0);
    ck_assert_int_eq(memcmp(val + T, val_nr + T, (size_t)T * sizeof(float)), 0);
    /* and without the reset the tail does depend on the carried state */
    double carried = 0;
    for (int t = 3; t < 6; t++) {
        carried = fmax(carried, fabs(val_nr[t] - val[t]));
    }
    ck_assert_msg(carried > 1e-4, "the reset changed nothing (%g)", carried);
    free(obs);
    free(state0);
    free(pol);
    free(val);
    free(pol_nr);
    free(val_nr);
    nn_train_ctx_destroy(ctx);
    nn_train_ctx_destroy(tail);
    nn_model_destroy(m);
}

START_TEST(test_reset_mask_lstm) {
    check_reset_mask(PATHWAYS_LSTM);
}
END_TEST

START_TEST(test_reset_mask_gru) {
    check_reset_mask(SHARED_GRU);
}
END_TEST

/* stepping vs the sequence forward: 64 float32 epsilons of each value (at least of 1) */
#define SEQ_REL_TOL (64.0 * FLT_EPSILON)

static double relative_difference(float a, float b) {
    return fabs((double)a - (double)b) / fmax(1.0, fabs((double)a));
}

/* step inference against the training forward: at T = 1 (the same sgemm shapes, so the same
 * bits on any CPU) and along a sequence (the same up to rounding) */
static void check_step_matches(const char *desc_text, int n, int T) {
    NnIoSpec io = io_senses();
    NnModel *m = model_from_text(desc_text, &io);
    random_params(m, 12);
    int S = nn_model_state_size(m), O = io.obs_size, W = io.policy_outputs + io.logstd_dim;
    AgRng rng;
    ag_rng_seed(&rng, 13, 0);
    float *obs = falloc((size_t)n * T * O), *state0 = falloc((size_t)n * S);
    fill_uniform(obs, (size_t)n * T * O, &rng, 1.0f);
    fill_uniform(state0, (size_t)n * S, &rng, 0.5f);

    /* T = 1: bit-identical */
    NnTrainCtx *one = nn_train_ctx_create(m, n, 1);
    NnStepCtx *step = nn_step_ctx_create(m, n);
    ck_assert_ptr_nonnull(step);
    float *obs0 = falloc((size_t)n * O);
    for (int b = 0; b < n; b++) {
        memcpy(obs0 + (size_t)b * O, obs + (size_t)b * T * O, (size_t)O * sizeof(float));
    }
    float *tp = falloc((size_t)n * T * W), *tv = falloc((size_t)n * T);
    float *sp = falloc((size_t)n * W), *sv = falloc((size_t)n);
    float *state = falloc((size_t)n * S), *state_new = falloc((size_t)n * S);
    nn_model_forward(m, one, n, obs0, state0, NULL, tp, tv);
    memcpy(state, state0, (size_t)n * S * sizeof(float));
    nn_model_step(m, step, n, obs0, state, state_new, sp, sv);
    ck_assert_int_eq(memcmp(tp, sp, (size_t)n * W * sizeof(float)), 0);
    ck_assert_int_eq(memcmp(tv, sv, (size_t)n * sizeof(float)), 0);
    /* the state advanced; a NULL state_out leaves it alone and gives the same outputs */
    ck_assert_int_ne(memcmp(state, state_new, (size_t)n * S * sizeof(float)), 0);
    float *sv2 = falloc((size_t)n);
    nn_model_step(m, step, n, obs0, state, NULL, NULL, sv2);
    ck_assert_int_eq(memcmp(sv, sv2, (size_t)n * sizeof(float)), 0);
    ck_assert_int_eq(memcmp(state, state0, (size_t)n * S * sizeof(float)), 0);
    /* policy only, in place: the same policy and the same new state */
    nn_model_step(m, step, n, obs0, state, state, sp, sv);
    ck_assert_int_eq(memcmp(state, state_new, (size_t)n * S * sizeof(float)), 0);
    ck_assert_int_eq(memcmp(tp, sp, (size_t)n * W * sizeof(float)), 0);

    /* no state in means zero state, as a NULL state0 does in training */
    nn_model_forward(m, one, n, obs0, NULL, NULL, tp, tv);
    nn_model_step(m, step, n, obs0, NULL, NULL, sp, sv);
    ck_assert_int_eq(memcmp(tp, sp, (size_t)n * W * sizeof(float)), 0);
    ck_assert_int_eq(memcmp(tv, sv, (size_t)n * sizeof(float)), 0);

    /* along a sequence, stepping carries the state as the training forward does. The sequence
     * forward projects all n*T input rows with one sgemm and stepping n rows at a time; OpenBLAS
     * picks its kernel (and so its summation order) by CPU and shape, so the two agree to float32
     * rounding, not to the bit: within SEQ_REL_TOL of each value (a wrong state or gate is off
     * by orders of magnitude more) */
    NnTrainCtx *seq = nn_train_ctx_create(m, n, T);
    nn_model_forward(m, seq, n, obs, state0, NULL, tp, tv);
    memcpy(state, state0, (size_t)n * S * sizeof(float));
    float *obs_t = falloc((size_t)n * O);
    double max_diff = 0, max_rel = 0;
    int identical = 1;
    for (int t = 0; t < T; t++) {
        for (int b = 0; b < n; b++) {
            memcpy(obs_t + (size_t)b * O, obs + ((size_t)b * T + t) * O, (size_t)O * sizeof(float));
        }
        nn_model_step(m, step, n, obs_t, state, state, sp, sv);
        for (int b = 0; b < n; b++) {
            const float *tpr = tp + ((size_t)b * T + t) * W;
            identical &= memcmp(tpr, sp + (size_t)b * W, (size_t)W * sizeof(float)) == 0;
            identical &= tv[b * T + t] == sv[b];
            max_diff = fmax(max_diff, fabs(tv[b * T + t] - sv[b]));
            max_rel = fmax(max_rel, relative_difference(tv[b * T + t], sv[b]));
            for (int j = 0; j < W; j++) {
                max_diff = fmax(max_diff, fabs(tpr[j] - sp[(size_t)b * W + j]));
                max_rel = fmax(max_rel, relative_difference(tpr[j], sp[(size_t)b * W + j]));
            }
        }
    }
    printf("  step vs sequence forward (n %d, T %d): %s, max difference %g (%.2f float32 eps "
           "relative)\n",
           n, T, identical ? "bit-identical" : "not bit-identical", max_diff,
           max_rel / FLT_EPSILON);
    ck_assert_msg(max_rel <= SEQ_REL_TOL,
                  "stepping differs from the sequence forward by %g (relative %g > %g)", max_diff,
                  max_rel, SEQ_REL_TOL);
    free(obs);
    free(obs0);
    free(obs_t);
    free(state0);
    free(state);
    free(state_new);
    free(tp);
    free(tv);
    free(sp);
    free(sv);
    free(sv2);
    nn_train_ctx_destroy(one);
    nn_train_ctx_destroy(seq);
    nn_step_ctx_destroy(step);
    nn_model_destroy(m);
}

START_TEST(test_step_matches_train_lstm) {
    check_step_matches(PATHWAYS_LSTM, 5, 4);
}
END_TEST

START_TEST(test_step_matches_train_gru_shared) {
    check_step_matches(SHARED_GRU, 3, 5);
}
END_TEST

START_TEST(test_step_feedforward_no_alloc) {
    NnIoSpec io = io_vector(24, 4, 4);
    json_t *desc = json_string("simple");
    char err[256];
    NnModel *m = nn_model_create(desc, &io, err, sizeof err);
    json_decref(desc);
    ck_assert_ptr_nonnull(m);
    AgRng rng;
    ag_rng_seed(&rng, 1, 0);
    nn_model_init_params(m, &rng);
    int n = 64;
    NnStepCtx *step = nn_step_ctx_create(m, n);
    float *obs = falloc((size_t)n * io.obs_size), *pol = falloc((size_t)n * 8), *val = falloc(n);
    fill_uniform(obs, (size_t)n * io.obs_size, &rng, 1.0f);
    nn_model_step(m, step, n, obs, NULL, NULL, pol, val); /* warm-up */

    /* the same train forward gives the same numbers */
    NnTrainCtx *ctx = nn_train_ctx_create(m, n, 1);
    float *pol2 = falloc((size_t)n * 8), *val2 = falloc(n);
    nn_model_forward(m, ctx, n, obs, NULL, NULL, pol2, val2);
    ck_assert_int_eq(memcmp(pol, pol2, (size_t)n * 8 * sizeof(float)), 0);
    ck_assert_int_eq(memcmp(val, val2, (size_t)n * sizeof(float)), 0);

    /* stepping allocates nothing (its speed is measured by bench_nn, not here) */
    struct mallinfo2 before = mallinfo2();
    for (int i = 0; i < 200; i++) {
        nn_model_step(m, step, n, obs, NULL, NULL, pol, val);
    }
    struct mallinfo2 after = mallinfo2();
    ck_assert_uint_eq(before.uordblks, after.uordblks);
    ck_assert_uint_eq(before.hblkhd, after.hblkhd);
    free(obs);
    free(pol);
    free(val);
    free(pol2);
    free(val2);
    nn_train_ctx_destroy(ctx);
    nn_step_ctx_destroy(step);
    nn_model_destroy(m);
}
END_TEST

/* ---- initialisation, presets, descriptions ---- */

/* max |W W^T - g^2 I| over the smaller side */
static double orth_error(const float *w, int rows, int cols, double gain) {
    double worst = 0;
    int n = rows <= cols ? rows : cols;
    for (int a = 0; a < n; a++) {
        for (int b = 0; b < n; b++) {
            double dot = 0;
            for (int k = 0; k < (rows <= cols ? cols : rows); k++) {
                dot += rows <= cols ? (double)w[a * cols + k] * w[b * cols + k]
                                    : (double)w[k * cols + a] * w[k * cols + b];
            }
            worst = fmax(worst, fabs(dot - (a == b ? gain * gain : 0.0)));
        }
    }
    return worst / (gain * gain);
}

START_TEST(test_init_params) {
    NnIoSpec io = io_vector(10, 4, 4);
    json_t *desc = json_string("simple_lstm");
    char err[256];
    NnModel *m = nn_model_create(desc, &io, err, sizeof err);
    NnModel *m2 = nn_model_create(desc, &io, err, sizeof err);
    json_decref(desc);
    ck_assert_ptr_nonnull(m);
    AgRng rng, rng2;
    ag_rng_seed(&rng, 42, 0);
    ag_rng_seed(&rng2, 42, 0);
    nn_model_init_params(m, &rng);
    nn_model_init_params(m2, &rng2);
    ck_assert_int_eq(
        memcmp(nn_model_params(m), nn_model_params(m2), nn_model_num_params(m) * sizeof(float)), 0);
    const float *P = nn_model_params_const(m);
    struct {
        const char *name;
        int rows, cols;
        double gain;
    } orth[] = {
        {"policy.trunk.0.w", 64, 10, sqrt(2.0)},
        {"value.trunk.0.w", 64, 10, sqrt(2.0)},
        {"policy.head.w", 4, 64, 0.01},
        {"value.head.w", 1, 64, 1.0},
    };
    for (size_t i = 0; i < sizeof orth / sizeof orth[0]; i++) {
        int t = tensor_find(m, orth[i].name);
        ck_assert_int_ge(t, 0);
        ck_assert_uint_eq(nn_model_tensor_size(m, t), (size_t)orth[i].rows * orth[i].cols);
        double e =
            orth_error(P + nn_model_tensor_offset(m, t), orth[i].rows, orth[i].cols, orth[i].gain);
        ck_assert_msg(e < 1e-5, "%s not orthogonal (%g)", orth[i].name, e);
    }
    /* each LSTM gate block of the recurrent weights is orthogonal */
    int t = tensor_find(m, "policy.core.w_hh");
    for (int g = 0; g < 4; g++) {
        double e = orth_error(P + nn_model_tensor_offset(m, t) + (size_t)g * 64 * 64, 64, 64, 1.0);
        ck_assert_msg(e < 1e-5, "w_hh gate %d not orthogonal (%g)", g, e);
    }
    /* zero biases, forget-gate bias 1, log-std 0 */
    const char *zeros[] = {"policy.trunk.0.b", "value.head.b", "policy.head.b", "policy.logstd"};
    for (size_t i = 0; i < 4; i++) {
        int k = tensor_find(m, zeros[i]);
        ck_assert_int_ge(k, 0);
        for (size_t j = 0; j < nn_model_tensor_size(m, k); j++) {
            ck_assert_float_eq(P[nn_model_tensor_offset(m, k) + j], 0.0f);
        }
    }
    int b = tensor_find(m, "policy.core.b");
    for (int j = 0; j < 256; j++) {
        ck_assert_float_eq(P[nn_model_tensor_offset(m, b) + j], (j >= 64 && j < 128) ? 1.0f : 0.0f);
    }
    /* the tensors tile the block exactly */
    size_t next = 0;
    for (int k = 0; k < nn_model_num_tensors(m); k++) {
        ck_assert_uint_eq(nn_model_tensor_offset(m, k), next);
        next += nn_model_tensor_size(m, k);
    }
    ck_assert_uint_eq(next, nn_model_num_params(m));
    ck_assert_ptr_null(nn_model_tensor_name(m, -1));
    ck_assert_ptr_null(nn_model_tensor_name(m, nn_model_num_tensors(m)));
    nn_model_destroy(m);
    nn_model_destroy(m2);
}
END_TEST

/* the counts documented in docs/model.md for a 10-float observation, 4 policy outputs and a
 * 4-float log-std */
START_TEST(test_preset_param_counts) {
    static const struct {
        const char *name;
        size_t params;
        int state;
    } expect[] = {
        {"simple", 10057, 0},  {"simple_lstm", 67785, 256},   {"simple_gru", 51657, 128},
        {"deeper", 22377, 0},  {"deeper_lstm", 39017, 128},   {"deeper_gru", 35049, 64},
        {"wider", 1074697, 0}, {"wider_lstm", 6320649, 2048}, {"wider_gru", 4749833, 1024},
    };
    NnIoSpec io = io_vector(10, 4, 4);
    for (size_t i = 0; i < sizeof expect / sizeof expect[0]; i++) {
        json_t *desc = json_string(expect[i].name);
        char err[256] = "";
        NnModel *m = nn_model_create(desc, &io, err, sizeof err);
        json_decref(desc);
        ck_assert_msg(m != NULL, "%s: %s", expect[i].name, err);
        ck_assert_msg(nn_model_num_params(m) == expect[i].params, "%s: %zu params, expected %zu",
                      expect[i].name, nn_model_num_params(m), expect[i].params);
        ck_assert_int_eq(nn_model_state_size(m), expect[i].state);
        ck_assert_int_eq(nn_model_is_recurrent(m), expect[i].state > 0);
        nn_model_destroy(m);
    }
    /* pathways on the sensations of a hand-like task with an 8x8 camera */
    NnIoSpec hand = io_senses();
    json_t *desc = json_string("pathways");
    char err[256] = "";
    NnModel *m = nn_model_create(desc, &hand, err, sizeof err);
    json_decref(desc);
    ck_assert_msg(m != NULL, "%s", err);
    ck_assert_uint_eq(nn_model_num_params(m), 327815);
    ck_assert_int_eq(nn_model_state_size(m), 512);
    ck_assert_int_ge(tensor_find(m, "policy.in.vision.2.w"), 0); /* the second convolution */
    ck_assert_int_lt(tensor_find(m, "policy.in.goal.0.w"), 0);   /* the goal passes through */
    nn_model_destroy(m);
    /* pathways_downsampled: the same weights, at lower resolution */
    desc = json_string("pathways_downsampled");
    m = nn_model_create(desc, &hand, err, sizeof err);
    json_decref(desc);
    ck_assert_msg(m != NULL, "%s", err);
    ck_assert_uint_eq(nn_model_num_params(m), 327815);
    ck_assert_int_eq(nn_model_state_size(m), 512);
    ck_assert_int_ge(tensor_find(m, "policy.in.vision.3.w"), 0); /* the second, after the pool */
    nn_model_destroy(m);
    /* a vector "vision" (an object pose) gets a dense pathway */
    NnIoSpec pose;
    memset(&pose, 0, sizeof pose);
    io_add(&pose, "vision", 7, 1, 1, 0);
    io_add(&pose, "proprioception", 48, 1, 1, 0);
    pose.policy_outputs = 20;
    desc = json_string("pathways");
    m = nn_model_create(desc, &pose, err, sizeof err);
    json_decref(desc);
    ck_assert_msg(m != NULL, "%s", err);
    int t = tensor_find(m, "policy.in.vision.0.w");
    ck_assert_int_ge(t, 0);
    ck_assert_uint_eq(nn_model_tensor_size(m, t), 64 * 7);
    nn_model_destroy(m);
}
END_TEST

START_TEST(test_flops) {
    NnIoSpec io = io_vector(10, 4, 4);
    json_t *desc = json_string("simple");
    char err[256];
    NnModel *m = nn_model_create(desc, &io, err, sizeof err);
    json_decref(desc);
    ck_assert_double_eq(nn_model_forward_flops(m), 2.0 * (10 * 64 + 64 * 64) + 64 * 4 + 64);
    nn_model_destroy(m);
}
END_TEST

START_TEST(test_describe_round_trip) {
    NnIoSpec io = io_senses();
    for (int i = 0; nn_model_preset_names[i]; i++) {
        json_t *desc = json_string(nn_model_preset_names[i]);
        char err[256] = "";
        NnModel *m = nn_model_create(desc, &io, err, sizeof err);
        json_decref(desc);
        ck_assert_msg(m != NULL, "%s: %s", nn_model_preset_names[i], err);
        json_t *full = nn_model_describe(m);
        ck_assert(json_is_object(full));
        NnModel *m2 = nn_model_create(full, &io, err, sizeof err);
        ck_assert_msg(m2 != NULL, "%s described: %s", nn_model_preset_names[i], err);
        ck_assert_uint_eq(nn_model_num_params(m), nn_model_num_params(m2));
        ck_assert_int_eq(nn_model_num_tensors(m), nn_model_num_tensors(m2));
        for (int k = 0; k < nn_model_num_tensors(m); k++) {
            ck_assert_str_eq(nn_model_tensor_name(m, k), nn_model_tensor_name(m2, k));
            ck_assert_uint_eq(nn_model_tensor_offset(m, k), nn_model_tensor_offset(m2, k));
        }
        json_t *again = nn_model_describe(m2);
        ck_assert(json_equal(full, again));
        json_decref(full);
        json_decref(again);
        nn_model_destroy(m);
        nn_model_destroy(m2);
    }
}
END_TEST

/* backward accumulates, and leaves the forward's cache intact for another backward */
START_TEST(test_backward_accumulates) {
    NnIoSpec io = io_senses();
    NnModel *m = model_from_text(PATHWAYS_LSTM, &io);
    random_params(m, 21);
    int B = 2, T = 3, rows = B * T, W = io.policy_outputs + io.logstd_dim;
    size_t np = nn_model_num_params(m);
    AgRng rng;
    ag_rng_seed(&rng, 22, 0);
    float *obs = falloc((size_t)rows * io.obs_size), *pol = falloc((size_t)rows * W);
    float *val = falloc(rows), *dp = falloc((size_t)rows * W), *dv = falloc(rows);
    fill_uniform(obs, (size_t)rows * io.obs_size, &rng, 1.0f);
    fill_uniform(dp, (size_t)rows * W, &rng, 1.0f);
    fill_uniform(dv, (size_t)rows, &rng, 1.0f);
    NnTrainCtx *ctx = nn_train_ctx_create(m, B, T);
    nn_model_forward(m, ctx, B, obs, NULL, NULL, pol, val);
    nn_model_zero_grad(m);
    nn_model_backward(m, ctx, dp, dv);
    float *once = falloc(np);
    memcpy(once, nn_model_grads(m), np * sizeof(float));
    nn_model_backward(m, ctx, dp, dv);
    const float *G = nn_model_grads(m);
    int nonzero = 0;
    for (size_t i = 0; i < np; i++) {
        /* equal up to rounding: kernels that sum per sample add onto what is there */
        ck_assert_msg(fabsf(G[i] - 2.0f * once[i]) <= 1e-5f * fabsf(once[i]) + 1e-9f,
                      "grad %zu: %g after two passes, %g after one", i, G[i], once[i]);
        nonzero += once[i] != 0.0f;
    }
    ck_assert_int_gt(nonzero, (int)(np * 9 / 10));
    nn_model_zero_grad(m);
    for (size_t i = 0; i < np; i++) {
        ck_assert_float_eq(G[i], 0.0f);
    }
    free(obs);
    free(pol);
    free(val);
    free(dp);
    free(dv);
    free(once);
    nn_train_ctx_destroy(ctx);
    nn_model_destroy(m);
}
END_TEST

START_TEST(test_bad_contexts) {
    NnIoSpec io = io_vector(4, 2, 0);
    json_t *desc = json_string("simple_gru");
    char err[256];
    NnModel *m = nn_model_create(desc, &io, err, sizeof err);
    json_decref(desc);
    ck_assert_ptr_nonnull(m);
    ck_assert_ptr_null(nn_train_ctx_create(m, 0, 4));
    ck_assert_ptr_null(nn_train_ctx_create(m, 4, 0));
    ck_assert_ptr_null(nn_step_ctx_create(m, -1));
    ck_assert_ptr_null(nn_train_ctx_create(NULL, 1, 1));
    nn_train_ctx_destroy(NULL);
    nn_step_ctx_destroy(NULL);
    nn_model_destroy(NULL);
    nn_model_destroy(m);
}
END_TEST

/* a batch larger than the context is a caller bug: it stops the program instead of leaving
 * stale outputs behind */
START_TEST(test_oversized_step_aborts) {
    NnIoSpec io = io_vector(4, 2, 0);
    json_t *desc = json_string("simple");
    char err[256];
    NnModel *m = nn_model_create(desc, &io, err, sizeof err);
    json_decref(desc);
    ck_assert_ptr_nonnull(m);
    NnStepCtx *ctx = nn_step_ctx_create(m, 2);
    float obs[3 * 4] = {0}, pol[3 * 4], val[3];
    nn_model_step(m, ctx, 3, obs, NULL, NULL, pol, val);
}
END_TEST

static Suite *model_suite(void) {
    Suite *s = suite_create("nn_model");
    TCase *tc = tcase_create("model");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_gradcheck_pathways_lstm);
    tcase_add_test(tc, test_gradcheck_simple_feedforward);
    tcase_add_test(tc, test_gradcheck_shared_gru_maxpool);
    tcase_add_test(tc, test_shared_vs_separate);
    tcase_add_test(tc, test_reset_mask_lstm);
    tcase_add_test(tc, test_reset_mask_gru);
    tcase_add_test(tc, test_step_matches_train_lstm);
    tcase_add_test(tc, test_step_matches_train_gru_shared);
    tcase_add_test(tc, test_step_feedforward_no_alloc);
    tcase_add_test(tc, test_init_params);
    tcase_add_test(tc, test_preset_param_counts);
    tcase_add_test(tc, test_flops);
    tcase_add_test(tc, test_describe_round_trip);
    tcase_add_test(tc, test_backward_accumulates);
    tcase_add_test(tc, test_bad_contexts);
    tcase_add_test_raise_signal(tc, test_oversized_step_aborts, SIGABRT);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) {
    SRunner *sr = srunner_create(model_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
