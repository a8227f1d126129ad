/* Tests of the recurrent kernels (server/nn/nn_rnn.c): finite-difference gradient checks of LSTM
 * and GRU over T > 1 steps with a non-zero initial state, a reset inside a sequence and a loss
 * on the final state; a reset must make the rest of a sequence equal a fresh run from zero
 * state; the single-step functions must reproduce the sequence forward bit for bit; backward
 * accumulates. Their speed is measured by bench_nn. */
#include "ag_rng.h"
#include "nn_layers.h"
#include "nn_gradcheck.h"

#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static double max_abs_diff(const float *a, const float *b, size_t n) {
    double m = 0.0;
    for (size_t i = 0; i < n; i++) {
        m = fmax(m, fabs((double)a[i] - (double)b[i]));
    }
    return m;
}

/* ---- a recurrent case shared by the LSTM and GRU tests ---- */

typedef struct RnnCase {
    int lstm; /* 1 LSTM, 0 GRU */
    int B, T, C, H;
    float *inp, *h0, *c0, *w_ih, *w_hh, *b1, *b2; /* b1: LSTM bias or GRU b_ih; b2: GRU b_hh */
    uint8_t *reset;
    float *out, *hT, *cT, *cache;
    float *r, *rh, *rc; /* loss weights of out, final h, final c */
} RnnCase;

static int gates(const RnnCase *k) {
    return k->lstm ? 4 : 3;
}

static void rnn_case_init(RnnCase *k, int lstm, int B, int T, int C, int H) {
    memset(k, 0, sizeof *k);
    k->lstm = lstm;
    k->B = B;
    k->T = T;
    k->C = C;
    k->H = H;
    int G = gates(k);
    size_t BT = (size_t)B * T;
    k->inp = alloc_floats(BT * C);
    k->h0 = alloc_floats((size_t)B * H);
    k->c0 = alloc_floats((size_t)B * H);
    k->w_ih = alloc_floats((size_t)G * H * C);
    k->w_hh = alloc_floats((size_t)G * H * H);
    k->b1 = alloc_floats((size_t)G * H);
    k->b2 = alloc_floats((size_t)G * H);
    k->reset = calloc(BT, 1);
    ck_assert_ptr_nonnull(k->reset);
    k->out = alloc_floats(BT * H);
    k->hT = alloc_floats((size_t)B * H);
    k->cT = alloc_floats((size_t)B * H);
    k->cache = alloc_floats(lstm ? nn_lstm_cache_size(B, T, H) : nn_gru_cache_size(B, T, H));
    k->r = alloc_floats(BT * H);
    k->rh = alloc_floats((size_t)B * H);
    k->rc = alloc_floats((size_t)B * H);
    fill_normal(k->inp, BT * C, 1.0);
    fill_normal(k->h0, (size_t)B * H, 0.5);
    fill_normal(k->c0, (size_t)B * H, 0.5);
    fill_normal(k->w_ih, (size_t)G * H * C, 0.5);
    fill_normal(k->w_hh, (size_t)G * H * H, 0.5);
    fill_normal(k->b1, (size_t)G * H, 0.3);
    fill_normal(k->b2, (size_t)G * H, 0.3);
    fill_normal(k->r, BT * H, 1.0);
    fill_normal(k->rh, (size_t)B * H, 1.0);
    fill_normal(k->rc, (size_t)B * H, 1.0);
}

static void rnn_case_free(RnnCase *k) {
    free(k->inp);
    free(k->h0);
    free(k->c0);
    free(k->w_ih);
    free(k->w_hh);
    free(k->b1);
    free(k->b2);
    free(k->reset);
    free(k->out);
    free(k->hT);
    free(k->cT);
    free(k->cache);
    free(k->r);
    free(k->rh);
    free(k->rc);
}

static void rnn_forward(RnnCase *k) {
    if (k->lstm) {
        nn_lstm_forward(k->out, k->hT, k->cT, k->cache, k->inp, k->h0, k->c0, k->reset, k->w_ih,
                        k->w_hh, k->b1, k->B, k->T, k->C, k->H);
    } else {
        nn_gru_forward(k->out, k->hT, k->cache, k->inp, k->h0, k->reset, k->w_ih, k->w_hh, k->b1,
                       k->b2, k->B, k->T, k->C, k->H);
    }
}

/* sum(out * r) + sum(h_T * rh) (+ sum(c_T * rc) for the LSTM) */
static double rnn_loss(void *p) {
    RnnCase *k = p;
    rnn_forward(k);
    size_t BH = (size_t)k->B * k->H;
    double l = dot(k->out, k->r, (size_t)k->B * k->T * k->H) + dot(k->hT, k->rh, BH);
    if (k->lstm) {
        l += dot(k->cT, k->rc, BH);
    }
    return l;
}

static void rnn_grad_check(int lstm) {
    RnnCase k;
    rnn_case_init(&k, lstm, 3, 5, 4, 3);
    /* sequence 1 restarts at step 2, sequence 2 at step 0 (ignoring its h0) */
    k.reset[1 * k.T + 2] = 1;
    k.reset[2 * k.T + 0] = 1;
    int G = gates(&k);
    size_t BT = (size_t)k.B * k.T;
    float *dinp = alloc_floats(BT * k.C), *dw_ih = alloc_floats((size_t)G * k.H * k.C);
    float *dw_hh = alloc_floats((size_t)G * k.H * k.H), *db1 = alloc_floats((size_t)G * k.H);
    float *db2 = alloc_floats((size_t)G * k.H);
    float *scratch = alloc_floats(lstm ? nn_lstm_backward_scratch_size(k.B, k.T, k.H)
                                       : nn_gru_backward_scratch_size(k.B, k.T, k.H));
    rnn_loss(&k);
    if (lstm) {
        nn_lstm_backward(dinp, dw_ih, dw_hh, db1, k.r, k.rh, k.rc, k.inp, k.reset, k.w_ih, k.w_hh,
                         k.cache, scratch, k.B, k.T, k.C, k.H);
    } else {
        nn_gru_backward(dinp, dw_ih, dw_hh, db1, db2, k.r, k.rh, k.inp, k.reset, k.w_ih, k.w_hh,
                        k.cache, scratch, k.B, k.T, k.C, k.H);
    }
    const char *name = lstm ? "lstm" : "gru";
    char what[64];
    snprintf(what, sizeof what, "%s dinp", name);
    grad_check(what, k.inp, dinp, BT * k.C, rnn_loss, &k);
    snprintf(what, sizeof what, "%s dw_ih", name);
    grad_check(what, k.w_ih, dw_ih, (size_t)G * k.H * k.C, rnn_loss, &k);
    snprintf(what, sizeof what, "%s dw_hh", name);
    grad_check(what, k.w_hh, dw_hh, (size_t)G * k.H * k.H, rnn_loss, &k);
    snprintf(what, sizeof what, "%s %s", name, lstm ? "dbias" : "db_ih");
    grad_check(what, k.b1, db1, (size_t)G * k.H, rnn_loss, &k);
    if (!lstm) {
        grad_check("gru db_hh", k.b2, db2, (size_t)G * k.H, rnn_loss, &k);
    }

    /* the inputs of sequence 1 before its reset do not reach the outputs after it: with a loss
     * only on steps >= 2 of sequence 1 their gradient is exactly zero */
    memset(k.r, 0, BT * k.H * sizeof(float));
    memset(dinp, 0, BT * k.C * sizeof(float));
    for (int t = 2; t < k.T; t++) {
        for (int j = 0; j < k.H; j++) {
            k.r[(1 * k.T + t) * k.H + j] = 1.0f;
        }
    }
    rnn_loss(&k);
    if (lstm) {
        nn_lstm_backward(dinp, dw_ih, dw_hh, db1, k.r, NULL, NULL, k.inp, k.reset, k.w_ih, k.w_hh,
                         k.cache, scratch, k.B, k.T, k.C, k.H);
    } else {
        nn_gru_backward(dinp, dw_ih, dw_hh, db1, db2, k.r, NULL, k.inp, k.reset, k.w_ih, k.w_hh,
                        k.cache, scratch, k.B, k.T, k.C, k.H);
    }
    for (int t = 0; t < 2; t++) {
        for (int c = 0; c < k.C; c++) {
            ck_assert_float_eq(dinp[(1 * k.T + t) * k.C + c], 0.0f);
        }
    }
    double after = 0.0;
    for (int c = 0; c < k.C; c++) {
        after += fabs(dinp[(1 * k.T + 2) * k.C + c]);
    }
    ck_assert(after > 0.0);
    /* the other sequences get no gradient at all */
    for (size_t i = 0; i < (size_t)k.T * k.C; i++) {
        ck_assert_float_eq(dinp[i], 0.0f);
        ck_assert_float_eq(dinp[2 * (size_t)k.T * k.C + i], 0.0f);
    }
    free(dinp);
    free(dw_ih);
    free(dw_hh);
    free(db1);
    free(db2);
    free(scratch);
    rnn_case_free(&k);
}

START_TEST(test_lstm_grad) {
    rnn_grad_check(1);
}
END_TEST

START_TEST(test_gru_grad) {
    rnn_grad_check(0);
}
END_TEST

/* after a reset at step s, outputs equal a fresh run from zero state over steps s.. */
static void rnn_reset_fresh(int lstm) {
    RnnCase k, f;
    int s = 3;
    rnn_case_init(&k, lstm, 2, 7, 5, 4);
    rnn_case_init(&f, lstm, 2, 7 - s, 5, 4);
    k.reset[0 * k.T + s] = 1;
    k.reset[1 * k.T + s] = 1;
    rnn_forward(&k);
    /* the fresh run: the same weights, the tail of the inputs, no initial state */
    int G = gates(&k);
    memcpy(f.w_ih, k.w_ih, (size_t)G * k.H * k.C * sizeof(float));
    memcpy(f.w_hh, k.w_hh, (size_t)G * k.H * k.H * sizeof(float));
    memcpy(f.b1, k.b1, (size_t)G * k.H * sizeof(float));
    memcpy(f.b2, k.b2, (size_t)G * k.H * sizeof(float));
    for (int b = 0; b < k.B; b++) {
        memcpy(f.inp + (size_t)b * f.T * k.C, k.inp + ((size_t)b * k.T + s) * k.C,
               (size_t)f.T * k.C * sizeof(float));
    }
    free(f.h0);
    free(f.c0);
    f.h0 = f.c0 = NULL;
    rnn_forward(&f);
    double diff = 0.0;
    for (int b = 0; b < k.B; b++) {
        diff = fmax(diff, max_abs_diff(f.out + (size_t)b * f.T * k.H,
                                       k.out + ((size_t)b * k.T + s) * k.H, (size_t)f.T * k.H));
    }
    printf("%s: after a reset vs fresh run: max abs diff %.3e\n", lstm ? "lstm" : "gru", diff);
    ck_assert(diff <= 1e-6);
    ck_assert(max_abs_diff(f.hT, k.hT, (size_t)k.B * k.H) <= 1e-6);
    /* and the steps before the reset did depend on h0: zeroing h0 changes them */
    float keep = k.out[0];
    memset(k.h0, 0, (size_t)k.B * k.H * sizeof(float));
    memset(k.c0, 0, (size_t)k.B * k.H * sizeof(float));
    rnn_forward(&k);
    ck_assert(k.out[0] != keep);
    rnn_case_free(&k);
    rnn_case_free(&f);
}

START_TEST(test_lstm_reset_fresh) {
    rnn_reset_fresh(1);
}
END_TEST

START_TEST(test_gru_reset_fresh) {
    rnn_reset_fresh(0);
}
END_TEST

/* stepping B environments through T steps with the step function gives the sequence forward */
static void rnn_step_matches(int lstm) {
    RnnCase k;
    rnn_case_init(&k, lstm, 5, 6, 7, 8);
    int B = k.B, T = k.T, C = k.C, H = k.H;
    k.reset[2 * T + 4] = 1;
    rnn_forward(&k);
    float *h = alloc_floats((size_t)B * H), *c = alloc_floats((size_t)B * H);
    float *x = alloc_floats((size_t)B * C);
    float *scratch =
        alloc_floats(lstm ? nn_lstm_step_scratch_size(B, H) : nn_gru_step_scratch_size(B, H));
    memcpy(h, k.h0, (size_t)B * H * sizeof(float));
    memcpy(c, k.c0, (size_t)B * H * sizeof(float));
    double diff = 0.0;
    for (int t = 0; t < T; t++) {
        for (int b = 0; b < B; b++) {
            memcpy(x + (size_t)b * C, k.inp + ((size_t)b * T + t) * C, (size_t)C * sizeof(float));
            if (k.reset[(size_t)b * T + t]) {
                memset(h + (size_t)b * H, 0, (size_t)H * sizeof(float));
                memset(c + (size_t)b * H, 0, (size_t)H * sizeof(float));
            }
        }
        /* in place: the new state overwrites the old */
        if (lstm) {
            nn_lstm_step(h, c, scratch, x, h, c, k.w_ih, k.w_hh, k.b1, B, C, H);
        } else {
            nn_gru_step(h, scratch, x, h, k.w_ih, k.w_hh, k.b1, k.b2, B, C, H);
        }
        for (int b = 0; b < B; b++) {
            diff = fmax(
                diff, max_abs_diff(h + (size_t)b * H, k.out + ((size_t)b * T + t) * H, (size_t)H));
        }
    }
    printf("%s: step vs sequence over %d steps: max abs diff %.3e\n", lstm ? "lstm" : "gru", T,
           diff);
    /* over several steps the input projection of the sequence runs as one larger sgemm, which
     * BLAS may round differently, so only T = 1 below is promised bit for bit */
    ck_assert(diff <= 1e-6);
    ck_assert(max_abs_diff(h, k.hT, (size_t)B * H) <= 1e-6);
    if (lstm) {
        ck_assert(max_abs_diff(c, k.cT, (size_t)B * H) <= 1e-6);
    }

    /* one step equals a T = 1 sequence forward bit for bit */
    RnnCase one;
    rnn_case_init(&one, lstm, B, 1, C, H);
    if (lstm) {
        nn_lstm_step(h, c, scratch, one.inp, one.h0, one.c0, one.w_ih, one.w_hh, one.b1, B, C, H);
    } else {
        nn_gru_step(h, scratch, one.inp, one.h0, one.w_ih, one.w_hh, one.b1, one.b2, B, C, H);
    }
    rnn_forward(&one);
    ck_assert_mem_eq(h, one.out, (size_t)B * H * sizeof(float));
    if (lstm) {
        ck_assert_mem_eq(c, one.cT, (size_t)B * H * sizeof(float));
    }
    rnn_case_free(&one);
    free(h);
    free(c);
    free(x);
    free(scratch);
    rnn_case_free(&k);
}

START_TEST(test_lstm_step_matches) {
    rnn_step_matches(1);
}
END_TEST

START_TEST(test_gru_step_matches) {
    rnn_step_matches(0);
}
END_TEST

/* backward adds to what the gradients hold; NULL dinp skips the input gradient */
static void rnn_accumulates(int lstm) {
    RnnCase k;
    rnn_case_init(&k, lstm, 2, 3, 3, 2);
    int G = gates(&k);
    size_t nw = (size_t)G * k.H * k.C, nh = (size_t)G * k.H * k.H, nb = (size_t)G * k.H;
    float *w1 = alloc_floats(nw), *w2 = alloc_floats(nw), *h1 = alloc_floats(nh);
    float *h2 = alloc_floats(nh), *b1 = alloc_floats(nb), *b2 = alloc_floats(nb);
    float *g1 = alloc_floats(nb), *g2 = alloc_floats(nb);
    float *scratch = alloc_floats(lstm ? nn_lstm_backward_scratch_size(k.B, k.T, k.H)
                                       : nn_gru_backward_scratch_size(k.B, k.T, k.H));
    rnn_forward(&k);
    for (int rep = 0; rep < 3; rep++) {
        /* once into (w1, h1, b1, g1), twice into (w2, h2, b2, g2) */
        int into2 = rep > 0;
        if (lstm) {
            nn_lstm_backward(NULL, into2 ? w2 : w1, into2 ? h2 : h1, into2 ? b2 : b1, k.r, NULL,
                             NULL, k.inp, k.reset, k.w_ih, k.w_hh, k.cache, scratch, k.B, k.T, k.C,
                             k.H);
        } else {
            nn_gru_backward(NULL, into2 ? w2 : w1, into2 ? h2 : h1, into2 ? b2 : b1,
                            into2 ? g2 : g1, k.r, NULL, k.inp, k.reset, k.w_ih, k.w_hh, k.cache,
                            scratch, k.B, k.T, k.C, k.H);
        }
    }
    for (size_t i = 0; i < nw; i++) {
        ck_assert_float_eq_tol(w2[i], 2.0f * w1[i], 1e-5f);
    }
    for (size_t i = 0; i < nh; i++) {
        ck_assert_float_eq_tol(h2[i], 2.0f * h1[i], 1e-5f);
    }
    for (size_t i = 0; i < nb; i++) {
        ck_assert_float_eq_tol(b2[i], 2.0f * b1[i], 1e-5f);
        ck_assert_float_eq_tol(g2[i], 2.0f * g1[i], 1e-5f);
    }
    free(w1);
    free(w2);
    free(h1);
    free(h2);
    free(b1);
    free(b2);
    free(g1);
    free(g2);
    free(scratch);
    rnn_case_free(&k);
}

START_TEST(test_lstm_accumulates) {
    rnn_accumulates(1);
}
END_TEST

START_TEST(test_gru_accumulates) {
    rnn_accumulates(0);
}
END_TEST

START_TEST(test_sizes) {
    ck_assert_uint_eq(nn_lstm_cache_size(3, 5, 7), 3u * 5 * 8 * 7);
    ck_assert_uint_eq(nn_lstm_backward_scratch_size(3, 5, 7), 3u * 5 * 4 * 7 + 2u * 3 * 7);
    ck_assert_uint_eq(nn_lstm_step_scratch_size(3, 7), 3u * 4 * 7);
    ck_assert_uint_eq(nn_gru_cache_size(3, 5, 7), 3u * 5 * 7 * 7);
    ck_assert_uint_eq(nn_gru_backward_scratch_size(3, 5, 7), 2u * 3 * 5 * 3 * 7 + 3u * 7);
    ck_assert_uint_eq(nn_gru_step_scratch_size(3, 7), 2u * 3 * 3 * 7);
    /* sizes do not overflow int for large batches */
    ck_assert_uint_eq(nn_lstm_cache_size(4096, 256, 1024), (size_t)4096 * 256 * 8 * 1024);
}
END_TEST

static Suite *rnn_suite(void) {
    Suite *s = suite_create("nn_rnn");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_lstm_grad);
    tcase_add_test(tc, test_gru_grad);
    tcase_add_test(tc, test_lstm_reset_fresh);
    tcase_add_test(tc, test_gru_reset_fresh);
    tcase_add_test(tc, test_lstm_step_matches);
    tcase_add_test(tc, test_gru_step_matches);
    tcase_add_test(tc, test_lstm_accumulates);
    tcase_add_test(tc, test_gru_accumulates);
    tcase_add_test(tc, test_sizes);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) {
    ag_rng_seed(&rng, 4321, 0);
    SRunner *sr = srunner_create(rnn_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
