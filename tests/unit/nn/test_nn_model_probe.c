/* Tests of the model's probes (server/nn/nn_model_probe.c and the probed step of
 * nn_model_run.c): the probe table's names, types and shapes; the probed step gives the plain
 * step's outputs bit for bit; each dense probe is its weights applied to the probe before it;
 * LSTM and GRU probes satisfy the cell equations; networks a step skips leave their probes
 * alone; and the probed step allocates nothing. */
#include "ag_rng.h"
#include "nn_model.h"
#include "nn_test_models.h"

#include <check.h>
#include <jansson.h>
#include <malloc.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- helpers ---- */

static NnIoSpec io_vector(int n) {
    NnIoSpec io;
    memset(&io, 0, sizeof io);
    io_add(&io, "proprioception", n, 1, 1, 0);
    io.policy_outputs = 3;
    io.logstd_dim = 3;
    return io;
}

static NnModel *model_make(const char *text, const NnIoSpec *io, uint64_t seed) {
    json_error_t jerr;
    json_t *desc = json_loads(text, JSON_DECODE_ANY, &jerr);
    ck_assert_msg(desc != NULL, "test description does not parse: %s", jerr.text);
    char err[512] = "";
    NnModel *m = nn_model_create(desc, io, err, sizeof err);
    json_decref(desc);
    ck_assert_msg(m != NULL, "model: %s", err);
    AgRng rng;
    ag_rng_seed(&rng, seed, 7);
    float *p = nn_model_params(m);
    for (size_t i = 0; i < nn_model_num_params(m); i++) {
        p[i] = (float)ag_rng_uniform_range(&rng, -0.4, 0.4);
    }
    return m;
}

static float *falloc(size_t n) {
    float *p = calloc(n ? n : 1, sizeof(float));
    ck_assert_ptr_nonnull(p);
    return p;
}

static int probe_find(const NnModel *m, const char *name) {
    for (int k = 0; k < nn_model_num_probes(m); k++) {
        if (strcmp(nn_model_probe(m, k)->name, name) == 0) {
            return k;
        }
    }
    return -1;
}

static const float *tensor_find(const NnModel *m, const char *name) {
    for (int i = 0; i < nn_model_num_tensors(m); i++) {
        if (strcmp(nn_model_tensor_name(m, i), name) == 0) {
            return nn_model_params_const(m) + nn_model_tensor_offset(m, i);
        }
    }
    return NULL;
}

/* one buffer of (n, size) per probe, filled with a sentinel */
static float **probes_alloc(const NnModel *m, int n) {
    int P = nn_model_num_probes(m);
    float **b = calloc((size_t)P + 1, sizeof *b);
    ck_assert_ptr_nonnull(b);
    for (int k = 0; k < P; k++) {
        size_t len = (size_t)n * nn_model_probe(m, k)->size;
        b[k] = falloc(len);
        for (size_t j = 0; j < len; j++) {
            b[k][j] = 12345.0f;
        }
    }
    return b;
}

static void probes_free(const NnModel *m, float **b) {
    for (int k = 0; k < nn_model_num_probes(m); k++) {
        free(b[k]);
    }
    free(b);
}

/* ---- the table ---- */

START_TEST(test_table_simple_lstm) {
    NnIoSpec io = io_vector(5);
    NnModel *m = model_make("\"simple_lstm\"", &io, 1);
    static const char *const want[][2] = {
        {"policy.trunk.0.dense", "dense"},   {"policy.trunk.1.tanh", "tanh"},
        {"policy.core.h", "lstm_h"},         {"policy.core.c", "lstm_c"},
        {"policy.core.gate_i", "lstm_gate"}, {"policy.core.gate_f", "lstm_gate"},
        {"policy.core.gate_g", "lstm_gate"}, {"policy.core.gate_o", "lstm_gate"},
        {"value.trunk.0.dense", "dense"},    {"value.trunk.1.tanh", "tanh"},
        {"value.core.h", "lstm_h"},          {"value.core.c", "lstm_c"},
        {"value.core.gate_i", "lstm_gate"},  {"value.core.gate_f", "lstm_gate"},
        {"value.core.gate_g", "lstm_gate"},  {"value.core.gate_o", "lstm_gate"},
    };
    int n = (int)(sizeof want / sizeof want[0]);
    ck_assert_int_eq(nn_model_num_probes(m), n);
    for (int k = 0; k < n; k++) {
        const NnProbe *p = nn_model_probe(m, k);
        ck_assert_str_eq(p->name, want[k][0]);
        ck_assert_str_eq(p->type, want[k][1]);
        ck_assert_str_eq(p->net, k < n / 2 ? "policy" : "value");
        ck_assert_int_eq(p->rank, 1);
        ck_assert_int_eq(p->shape[0], 64);
        ck_assert_int_eq(p->size, 64);
    }
    ck_assert_ptr_null(nn_model_probe(m, n));
    ck_assert_ptr_null(nn_model_probe(m, -1));
    nn_model_destroy(m);
}
END_TEST

START_TEST(test_table_pathways_and_shared) {
    NnIoSpec io = io_senses();
    NnModel *m = model_make(PATHWAYS_LSTM, &io, 2);
    /* feature maps keep their (C, H, W) shape */
    const NnProbe *p = nn_model_probe(m, probe_find(m, "policy.in.vision.0.conv2d"));
    ck_assert_ptr_nonnull(p);
    ck_assert_str_eq(p->type, "conv2d");
    ck_assert_int_eq(p->rank, 3);
    ck_assert_int_eq(p->shape[0], 4);
    ck_assert_int_eq(p->shape[1], 8);
    ck_assert_int_eq(p->shape[2], 8);
    ck_assert_int_eq(p->size, 256);
    p = nn_model_probe(m, probe_find(m, "policy.in.vision.2.conv2d"));
    ck_assert_int_eq(p->shape[1], 3);
    ck_assert_int_eq(nn_model_probe(m, probe_find(m, "policy.in.vision.3.tanh"))->rank, 3);
    p = nn_model_probe(m, probe_find(m, "policy.in.vision.4.spatial_softmax"));
    ck_assert_int_eq(p->rank, 1);
    ck_assert_int_eq(p->size, 8);
    /* the critic-only input has a pathway in the value network only */
    ck_assert_int_ge(probe_find(m, "value.in.asymmetric.1.softplus"), 0);
    ck_assert_int_lt(probe_find(m, "policy.in.asymmetric.0.dense"), 0);
    ck_assert_int_ge(probe_find(m, "policy.in.proprioception.1.layernorm"), 0);
    ck_assert_int_ge(probe_find(m, "value.post.1.elu"), 0);
    ck_assert_int_lt(probe_find(m, "policy.in.goal.0.dense"), 0);
    nn_model_destroy(m);

    m = model_make(SHARED_GRU, &io, 3);
    ck_assert_str_eq(nn_model_probe(m, probe_find(m, "shared.core.h"))->type, "gru_h");
    ck_assert_str_eq(nn_model_probe(m, probe_find(m, "shared.core.gate_z"))->type, "gru_gate");
    ck_assert_str_eq(nn_model_probe(m, probe_find(m, "value.in.asymmetric.0.dense"))->net, "value");
    ck_assert_str_eq(nn_model_probe(m, probe_find(m, "shared.in.vision.1.maxpool"))->net, "shared");
    /* flatten has no probe of its own */
    ck_assert_int_lt(probe_find(m, "shared.in.vision.2.flatten"), 0);
    ck_assert_int_ge(probe_find(m, "shared.in.vision.3.dense"), 0);
    ck_assert_int_lt(probe_find(m, "shared.core.c"), 0);
    nn_model_destroy(m);
}
END_TEST

/* ---- the probed step ---- */

/* steps a model twice from the same state, plain and probed, over a few steps with changing
 * observations: every output agrees bit for bit; returns the probes of the last step and the
 * state entering it */
static float **step_both(NnModel *m, const NnIoSpec *io, int n, int steps, float **obs_out,
                         float **state_prev_out) {
    int S = nn_model_state_size(m), W = io->policy_outputs + io->logstd_dim;
    NnStepCtx *a = nn_step_ctx_create(m, n), *b = nn_step_ctx_create(m, n);
    size_t srow = (size_t)n * (S > 0 ? S : 1);
    float *obs = falloc((size_t)n * io->obs_size), *sa = falloc(srow), *sb = falloc(srow);
    float *prev = falloc(srow);
    float *pa = falloc((size_t)n * W), *pb = falloc((size_t)n * W);
    float *va = falloc((size_t)n), *vb = falloc((size_t)n);
    float **probes = probes_alloc(m, n);
    AgRng rng;
    ag_rng_seed(&rng, 11, 0);
    for (int t = 0; t < steps; t++) {
        for (size_t j = 0; j < (size_t)n * io->obs_size; j++) {
            obs[j] = (float)ag_rng_uniform_range(&rng, -1.0, 1.0);
        }
        memcpy(prev, sb, srow * sizeof(float));
        nn_model_step(m, a, n, obs, sa, sa, pa, va);
        nn_model_step_probed(m, b, n, obs, sb, sb, pb, vb, probes);
        ck_assert_int_eq(memcmp(pa, pb, (size_t)n * W * sizeof(float)), 0);
        ck_assert_int_eq(memcmp(va, vb, (size_t)n * sizeof(float)), 0);
        ck_assert_int_eq(memcmp(sa, sb, srow * sizeof(float)), 0);
    }
    nn_step_ctx_destroy(a);
    nn_step_ctx_destroy(b);
    free(sa);
    free(sb);
    free(pa);
    free(pb);
    free(va);
    free(vb);
    *obs_out = obs;
    *state_prev_out = prev;
    return probes;
}

/* every dense probe is W x + b of its input: the probe before it in the same chain, the
 * input's observation slice for a pathway's first layer, the core's h for the post chain's
 * first layer, the observation for the first trunk layer of a model without pathways */
static void check_dense_probes(const NnModel *m, const NnIoSpec *io, float **probes,
                               const float *obs, int n) {
    int checked = 0;
    for (int k = 0; k < nn_model_num_probes(m); k++) {
        const NnProbe *p = nn_model_probe(m, k);
        if (strcmp(p->type, "dense") != 0) {
            continue;
        }
        char base[NN_PROBE_NAME_MAX], wname[NN_PROBE_NAME_MAX + 4], bname[NN_PROBE_NAME_MAX + 4];
        snprintf(base, sizeof base, "%s", p->name);
        *strrchr(base, '.') = '\0'; /* "<chain>.<k>" */
        const char *dot = strrchr(base, '.');
        int layer = atoi(dot + 1);
        snprintf(wname, sizeof wname, "%s.w", base);
        snprintf(bname, sizeof bname, "%s.b", base);
        const float *w = tensor_find(m, wname), *bias = tensor_find(m, bname);
        ck_assert_msg(w && bias, "no weights for %s", p->name);
        const float *x = NULL;
        int C = 0, stride = 0;
        if (layer > 0) {
            x = probes[k - 1];
            C = stride = nn_model_probe(m, k - 1)->size;
        } else if (strstr(p->name, ".post.0.")) {
            char h[NN_PROBE_NAME_MAX];
            snprintf(h, sizeof h, "%s.core.h", p->net);
            int kh = probe_find(m, h);
            x = probes[kh];
            C = stride = nn_model_probe(m, kh)->size;
        } else if (strstr(p->name, ".in.")) {
            for (int i = 0; i < io->num_inputs; i++) {
                char prefix[NN_PROBE_NAME_MAX];
                snprintf(prefix, sizeof prefix, "%s.in.%s.0", p->net, io->inputs[i].name);
                if (strcmp(base, prefix) == 0) {
                    x = obs + io->inputs[i].offset;
                    C = io->inputs[i].size;
                    stride = io->obs_size;
                }
            }
        } else if (io->num_inputs == 1) {
            x = obs;
            C = stride = io->obs_size;
        }
        if (!x) {
            continue; /* a merged input: covered by the other checks */
        }
        for (int r = 0; r < n; r++) {
            for (int o = 0; o < p->size; o++) {
                double s = bias[o], mag = fabs(bias[o]);
                for (int c = 0; c < C; c++) {
                    s += (double)w[(size_t)o * C + c] * x[(size_t)r * stride + c];
                    mag += fabs((double)w[(size_t)o * C + c] * x[(size_t)r * stride + c]);
                }
                double got = probes[k][(size_t)r * p->size + o];
                ck_assert_msg(fabs(got - s) <= 1e-5 * (mag + 1.0), "%s[%d][%d]: %g, expected %g",
                              p->name, r, o, got, s);
            }
        }
        checked++;
    }
    ck_assert_int_gt(checked, 0);
}

START_TEST(test_probed_simple) {
    NnIoSpec io = io_vector(5);
    NnModel *m = model_make("\"simple\"", &io, 4);
    int n = 7;
    float *obs, *prev;
    float **probes = step_both(m, &io, n, 3, &obs, &prev);
    check_dense_probes(m, &io, probes, obs, n);
    /* an activation probe is its function of the probe before it */
    int k = probe_find(m, "value.trunk.3.tanh");
    for (int j = 0; j < n * 64; j++) {
        ck_assert_float_eq_tol(probes[k][j], tanh(probes[k - 1][j]), 1e-6);
    }
    /* every probe was written */
    for (int q = 0; q < nn_model_num_probes(m); q++) {
        ck_assert_float_ne(probes[q][0], 12345.0f);
    }
    probes_free(m, probes);
    free(obs);
    free(prev);
    nn_model_destroy(m);
}
END_TEST

START_TEST(test_probed_lstm_cell) {
    NnIoSpec io = io_senses();
    NnModel *m = model_make(PATHWAYS_LSTM, &io, 5);
    int n = 4, S = nn_model_state_size(m);
    float *obs, *prev;
    float **probes = step_both(m, &io, n, 4, &obs, &prev);
    check_dense_probes(m, &io, probes, obs, n);
    const char *nets[] = {"policy", "value"};
    for (int q = 0; q < 2; q++) {
        char name[64];
        int kh, kc, kg;
        snprintf(name, sizeof name, "%s.core.h", nets[q]);
        kh = probe_find(m, name);
        snprintf(name, sizeof name, "%s.core.c", nets[q]);
        kc = probe_find(m, name);
        snprintf(name, sizeof name, "%s.core.gate_i", nets[q]);
        kg = probe_find(m, name);
        int H = nn_model_probe(m, kh)->size, off = q * 2 * H;
        for (int r = 0; r < n; r++) {
            for (int j = 0; j < H; j++) {
                size_t at = (size_t)r * H + j;
                double i = probes[kg][at], f = probes[kg + 1][at], g = probes[kg + 2][at];
                double o = probes[kg + 3][at], c = probes[kc][at], h = probes[kh][at];
                double cprev = prev[(size_t)r * S + off + H + j];
                ck_assert(i > 0 && i < 1 && f > 0 && f < 1 && o > 0 && o < 1);
                ck_assert(g >= -1 && g <= 1);
                ck_assert_double_eq_tol(h, o * tanh(c), 1e-6);
                ck_assert_double_eq_tol(c, f * cprev + i * g, 1e-6);
            }
        }
    }
    /* the post chain's dense reads h, the elu after it runs in place on the dense output */
    int kd = probe_find(m, "policy.post.0.dense"), ke = probe_find(m, "policy.post.1.elu");
    for (int j = 0; j < n * 7; j++) {
        double x = probes[kd][j];
        ck_assert_double_eq_tol(probes[ke][j], x > 0 ? x : expm1(x), 1e-6);
    }
    probes_free(m, probes);
    free(obs);
    free(prev);
    nn_model_destroy(m);
}
END_TEST

START_TEST(test_probed_gru_shared) {
    NnIoSpec io = io_senses();
    NnModel *m = model_make(SHARED_GRU, &io, 6);
    int n = 3, S = nn_model_state_size(m);
    float *obs, *prev;
    float **probes = step_both(m, &io, n, 4, &obs, &prev);
    check_dense_probes(m, &io, probes, obs, n);
    int kh = probe_find(m, "shared.core.h"), kr = probe_find(m, "shared.core.gate_r");
    int kt = probe_find(m, "shared.post.0.tanh");
    int H = nn_model_probe(m, kh)->size;
    for (int r = 0; r < n; r++) {
        for (int j = 0; j < H; j++) {
            size_t at = (size_t)r * H + j;
            double z = probes[kr + 1][at], nn = probes[kr + 2][at], h = probes[kh][at];
            double hprev = prev[(size_t)r * S + j];
            ck_assert(probes[kr][at] > 0 && probes[kr][at] < 1 && z > 0 && z < 1);
            ck_assert_double_eq_tol(h, (1 - z) * nn + z * hprev, 1e-6);
            /* h was taken before the post tanh overwrote it in place */
            ck_assert_double_eq_tol(probes[kt][at], tanh(h), 1e-6);
        }
    }
    probes_free(m, probes);
    free(obs);
    free(prev);
    nn_model_destroy(m);
}
END_TEST

START_TEST(test_probed_skips_and_no_alloc) {
    NnIoSpec io = io_vector(6);
    NnModel *m = model_make("\"simple_gru\"", &io, 8);
    int n = 16, S = nn_model_state_size(m), W = io.policy_outputs + io.logstd_dim;
    NnStepCtx *ctx = nn_step_ctx_create(m, n);
    float *obs = falloc((size_t)n * io.obs_size), *state = falloc((size_t)n * S);
    float *pol = falloc((size_t)n * W), *val = falloc((size_t)n);
    float **probes = probes_alloc(m, n);
    for (size_t j = 0; j < (size_t)n * io.obs_size; j++) {
        obs[j] = (float)j / 100.0f;
    }
    /* without the value output, the value network's probes stay untouched */
    nn_model_step_probed(m, ctx, n, obs, state, state, pol, NULL, probes);
    int kv = probe_find(m, "value.core.h"), kp = probe_find(m, "policy.core.h");
    ck_assert_float_eq(probes[kv][0], 12345.0f);
    ck_assert_float_ne(probes[kp][0], 12345.0f);
    /* a NULL entry is skipped */
    float *keep = probes[kp];
    probes[kp] = NULL;
    nn_model_step_probed(m, ctx, n, obs, state, state, pol, val, probes);
    probes[kp] = keep;
    ck_assert_float_ne(probes[kv][0], 12345.0f);
    /* stepping with probes allocates nothing */
    struct mallinfo2 before = mallinfo2();
    for (int i = 0; i < 100; i++) {
        nn_model_step_probed(m, ctx, n, obs, state, state, pol, val, probes);
    }
    struct mallinfo2 after = mallinfo2();
    ck_assert_uint_eq(before.uordblks, after.uordblks);
    ck_assert_uint_eq(before.hblkhd, after.hblkhd);
    probes_free(m, probes);
    free(obs);
    free(state);
    free(pol);
    free(val);
    nn_step_ctx_destroy(ctx);
    nn_model_destroy(m);
}
END_TEST

static Suite *probe_suite(void) {
    Suite *s = suite_create("nn_model_probe");
    TCase *tc = tcase_create("probe");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_table_simple_lstm);
    tcase_add_test(tc, test_table_pathways_and_shared);
    tcase_add_test(tc, test_probed_simple);
    tcase_add_test(tc, test_probed_lstm_cell);
    tcase_add_test(tc, test_probed_gru_shared);
    tcase_add_test(tc, test_probed_skips_and_no_alloc);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) {
    SRunner *sr = srunner_create(probe_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
