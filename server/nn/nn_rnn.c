/* Recurrent layer kernels: LSTM and GRU over (B,T,C) batch-major sequences with per-step reset
 * masks, truncated backpropagation through time, and single-step inference functions.
 * Gate orders and weight layouts are documented in nn_layers.h.
 *
 * DESIGN: the forward pass projects all B*T input rows with one sgemm into the cache, then runs
 * one sgemm per step for the recurrent part on strided rows (lda = T*H). The state entering
 * each step is copied into the cache (zeros after a reset), so backward needs no special cases
 * beyond stopping the carried gradient at a reset, and the weight gradients take one sgemm each
 * over all B*T rows. The step functions share the cell code with the sequence forward and call
 * sgemm with the same shapes as a T = 1 forward, so their results are bit-identical to it.
 */
#include "nn_layers.h"

#include "nn_kernel.h"

#include <cblas.h>
#include <string.h>

static void rows_fill(float *dst, const float *row, size_t rows, int n) {
    for (size_t r = 0; r < rows; r++) {
        memcpy(dst + r * (size_t)n, row, (size_t)n * sizeof(float));
    }
}

/* ---------------------------------------------------------------------------------------------
 * steps shared by the LSTM and the GRU (G is the width of the gate block, 4H or 3H)
 */

/* dst (rows,G) = the bias, plus x (rows,C) projected through w_ih (G,C) */
static void rnn_input_project(float *dst, const float *x, const float *w_ih, const float *bias,
                              size_t rows, int C, int G) {
    rows_fill(dst, bias, rows, G);
    if (C > 0) {
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)rows, G, C, 1.0f, x, C, w_ih, C,
                    1.0f, dst, G);
    }
}

/* dst (B,G), rows ldd apart, += h (B,H), rows ldh apart, projected through w_hh (G,H) */
static void rnn_recurrent_project(float *dst, int ldd, const float *h, int ldh, const float *w_hh,
                                  int B, int G, int H) {
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, B, G, H, 1.0f, h, ldh, w_hh, H, 1.0f, dst,
                ldd);
}

/* the state (H) entering step t of sequence b: zeros after a reset or at t = 0 without an
 * initial state init (B,H), else init's row at t = 0 and the state seq (B,T,H) left at t - 1 */
static void rnn_state_in(float *dst, const float *init, const float *seq, const uint8_t *reset,
                         int b, int t, int T, int H) {
    size_t r = (size_t)b * T + t, hbytes = (size_t)H * sizeof(float);
    if ((reset && reset[r]) || (t == 0 && !init)) {
        memset(dst, 0, hbytes);
    } else {
        memcpy(dst, t == 0 ? init + (size_t)b * H : seq + (r - 1) * H, hbytes);
    }
}

/* dst (B,H) = the states seq (B,T,H) left at the last step; nothing when dst is NULL */
static void rnn_state_final(float *dst, const float *seq, int B, int T, int H) {
    if (!dst) {
        return;
    }
    for (int b = 0; b < B; b++) {
        memcpy(dst + (size_t)b * H, seq + ((size_t)b * T + (T - 1)) * H, (size_t)H * sizeof(float));
    }
}

/* the carried gradient d (B,H) starts as the final state's gradient, zeros without one */
static void rnn_grad_init(float *d, const float *d_final, int B, int H) {
    size_t bytes = (size_t)B * H * sizeof(float);
    if (d_final) {
        memcpy(d, d_final, bytes);
    } else {
        memset(d, 0, bytes);
    }
}

/* the carried gradient d (B,H) += dout (B,T,H) at step t, the gradient of the step's output */
NN_HOT static void rnn_grad_add_output(float *restrict d, const float *restrict dout, int B, int T,
                                       int t, int H) {
    for (int b = 0; b < B; b++) {
        float *db = d + (size_t)b * H;
        const float *dy = dout + ((size_t)b * T + t) * H;
        for (int j = 0; j < H; j++) {
            db[j] += dy[j];
        }
    }
}

/* no gradient crosses a reset: zeros for the carried gradient d (B,H) of every sequence reset
 * at step t */
static void rnn_grad_cut(float *d, const uint8_t *reset, int B, int T, int t, int H) {
    if (!reset) {
        return;
    }
    for (int b = 0; b < B; b++) {
        if (reset[(size_t)b * T + t]) {
            memset(d + (size_t)b * H, 0, (size_t)H * sizeof(float));
        }
    }
}

/* over all BT rows at once: dinp (BT,C) and dw_ih (G,C) from dx (BT,G), the gradient of the
 * input projection; dw_hh (G,H) from dr (BT,G), the gradient of the recurrent projection, and
 * the states hprev (BT,H) that entered it */
static void rnn_weight_grads(float *dinp, float *dw_ih, float *dw_hh, const float *dx,
                             const float *dr, const float *inp, const float *hprev,
                             const float *w_ih, size_t BT, int C, int G, int H) {
    if (dinp && C > 0) {
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)BT, C, G, 1.0f, dx, G, w_ih, C,
                    1.0f, dinp, C);
    }
    if (C > 0) {
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, G, C, (int)BT, 1.0f, dx, G, inp, C,
                    1.0f, dw_ih, C);
    }
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, G, H, (int)BT, 1.0f, dr, G, hprev, H, 1.0f,
                dw_hh, H);
}

/* ---------------------------------------------------------------------------------------------
 * LSTM
 */

size_t nn_lstm_cache_size(int B, int T, int H) {
    return (size_t)B * (size_t)T * 8u * (size_t)H;
}

size_t nn_lstm_backward_scratch_size(int B, int T, int H) {
    return (size_t)B * (size_t)T * 4u * (size_t)H + 2u * (size_t)B * (size_t)H;
}

size_t nn_lstm_step_scratch_size(int B, int H) {
    return (size_t)B * 4u * (size_t)H;
}

/* gates (4H) holds the pre-activations a_i,a_f,a_g,a_o and is activated in place; cprev (H) the
 * state entering the step; writes c (H), tanh(c) into tc (H) (may alias h) and h (H). c may
 * alias cprev. */
NN_VEC NN_HOT static void lstm_cell(float *h, float *c, float *tc, float *gates, const float *cprev,
                                    int H) {
    float *gi = gates, *gf = gates + H, *gg = gates + 2 * H, *go = gates + 3 * H;
    nn_sigmoid_forward(gates, gates, 2 * (size_t)H);
    nn_tanh_forward(gg, gg, (size_t)H);
    nn_sigmoid_forward(go, go, (size_t)H);
    for (int j = 0; j < H; j++) {
        c[j] = gf[j] * cprev[j] + gi[j] * gg[j];
    }
    nn_tanh_forward(tc, c, (size_t)H);
    for (int j = 0; j < H; j++) {
        h[j] = go[j] * tc[j];
    }
}

void nn_lstm_forward(float *out, float *h_final, float *c_final, float *cache, const float *inp,
                     const float *h0, const float *c0, const uint8_t *reset, const float *w_ih,
                     const float *w_hh, const float *bias, int B, int T, int C, int H) {
    /* inp is (B,T,C), out (B,T,H); cache blocks are (B,T,4H), then four (B,T,H) */
    size_t BT = (size_t)B * T, G4 = 4u * (size_t)H;
    float *gates = cache;
    float *cs = gates + BT * G4;
    float *tcs = cs + BT * H;
    float *hprev = tcs + BT * H;
    float *cprev = hprev + BT * H;
    if (BT == 0 || H <= 0) {
        return;
    }

    /* input projection of every row at once, on top of the bias */
    rnn_input_project(gates, inp, w_ih, bias, BT, C, 4 * H);

    for (int t = 0; t < T; t++) {
        for (int b = 0; b < B; b++) {
            size_t r = (size_t)b * T + t;
            rnn_state_in(hprev + r * H, h0, out, reset, b, t, T, H);
            rnn_state_in(cprev + r * H, c0, cs, reset, b, t, T, H);
        }
        rnn_recurrent_project(gates + (size_t)t * G4, (int)((size_t)T * G4), hprev + (size_t)t * H,
                              T * H, w_hh, B, 4 * H, H);
        for (int b = 0; b < B; b++) {
            size_t r = (size_t)b * T + t;
            lstm_cell(out + r * H, cs + r * H, tcs + r * H, gates + r * G4, cprev + r * H, H);
        }
    }
    rnn_state_final(h_final, out, B, T, H);
    rnn_state_final(c_final, cs, B, T, H);
}

/* gradient of one cell: dh (H) the gradient of h_t; dc (H) in: the carried gradient of c_t,
 * out: the gradient of c_{t-1}; writes the pre-activation gradients dg (4H) */
NN_VEC NN_HOT static void lstm_cell_backward(float *restrict dg, float *restrict dc,
                                             const float *restrict dh, const float *restrict gates,
                                             const float *restrict tc, const float *restrict cprev,
                                             int H) {
    const float *gi = gates, *gf = gates + H, *gg = gates + 2 * H, *go = gates + 3 * H;
    float *di = dg, *df = dg + H, *dgg = dg + 2 * H, *dgo = dg + 3 * H;
    for (int j = 0; j < H; j++) {
        float i = gi[j], f = gf[j], g = gg[j], o = go[j], t = tc[j];
        float dct = dc[j] + dh[j] * o * (1.0f - t * t);
        dgo[j] = dh[j] * t * o * (1.0f - o);
        di[j] = dct * g * i * (1.0f - i);
        df[j] = dct * cprev[j] * f * (1.0f - f);
        dgg[j] = dct * i * (1.0f - g * g);
        dc[j] = dct * f;
    }
}

void nn_lstm_backward(float *dinp, float *dw_ih, float *dw_hh, float *dbias, const float *dout,
                      const float *dh_final, const float *dc_final, const float *inp,
                      const uint8_t *reset, const float *w_ih, const float *w_hh,
                      const float *cache, float *scratch, int B, int T, int C, int H) {
    size_t BT = (size_t)B * T, G4 = 4u * (size_t)H;
    const float *gates = cache;
    const float *cs = gates + BT * G4;
    const float *tcs = cs + BT * H;
    const float *hprev = tcs + BT * H;
    const float *cprev = hprev + BT * H;
    float *dgates = scratch;
    float *dh = dgates + BT * G4; /* (B,H) carried gradient of h_t */
    float *dc = dh + (size_t)B * H;
    (void)cs;
    if (BT == 0 || H <= 0) {
        return;
    }

    rnn_grad_init(dh, dh_final, B, H);
    rnn_grad_init(dc, dc_final, B, H);

    for (int t = T - 1; t >= 0; t--) {
        rnn_grad_add_output(dh, dout, B, T, t, H);
        for (int b = 0; b < B; b++) {
            size_t r = (size_t)b * T + t;
            lstm_cell_backward(dgates + r * G4, dc + (size_t)b * H, dh + (size_t)b * H,
                               gates + r * G4, tcs + r * H, cprev + r * H, H);
        }
        if (t == 0) {
            break;
        }
        /* gradient of h_{t-1} through the recurrent weights; none across a reset */
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, B, H, 4 * H, 1.0f,
                    dgates + (size_t)t * G4, (int)((size_t)T * G4), w_hh, H, 0.0f, dh, H);
        rnn_grad_cut(dh, reset, B, T, t, H);
        rnn_grad_cut(dc, reset, B, T, t, H);
    }

    /* parameter and input gradients over all rows at once */
    rnn_weight_grads(dinp, dw_ih, dw_hh, dgates, dgates, inp, hprev, w_ih, BT, C, 4 * H, H);
    nn_colsum_accumulate(dbias, dgates, BT, 4 * H);
}

void nn_lstm_step(float *h_out, float *c_out, float *scratch, const float *x, const float *h_in,
                  const float *c_in, const float *w_ih, const float *w_hh, const float *bias, int B,
                  int C, int H) {
    size_t G4 = 4u * (size_t)H;
    float *gates = scratch;
    if (B <= 0 || H <= 0) {
        return;
    }
    /* the same three steps as nn_lstm_forward with T = 1 */
    rnn_input_project(gates, x, w_ih, bias, (size_t)B, C, 4 * H);
    rnn_recurrent_project(gates, 4 * H, h_in, H, w_hh, B, 4 * H, H);
    for (int b = 0; b < B; b++) {
        float *h = h_out + (size_t)b * H;
        /* tanh(c) goes to h, which then becomes o * tanh(c) in place: the scratch keeps all
         * four activated gates for whoever reads them after the step (model probes) */
        lstm_cell(h, c_out + (size_t)b * H, h, gates + (size_t)b * G4, c_in + (size_t)b * H, H);
    }
}

/* ---------------------------------------------------------------------------------------------
 * GRU
 */

size_t nn_gru_cache_size(int B, int T, int H) {
    return (size_t)B * (size_t)T * 7u * (size_t)H;
}

size_t nn_gru_backward_scratch_size(int B, int T, int H) {
    return 2u * (size_t)B * (size_t)T * 3u * (size_t)H + (size_t)B * (size_t)H;
}

size_t nn_gru_step_scratch_size(int B, int H) {
    return 2u * (size_t)B * 3u * (size_t)H;
}

/* xg (3H) holds xp and becomes the gates r,z,n; hp (3H) the recurrent projection with b_hh;
 * hprev (H); writes h (H), which may alias hprev */
NN_VEC NN_HOT static void gru_cell(float *h, float *xg, const float *hp, const float *hprev,
                                   int H) {
    float *gr = xg, *gz = xg + H, *gn = xg + 2 * H;
    for (int j = 0; j < 2 * H; j++) {
        xg[j] += hp[j];
    }
    nn_sigmoid_forward(xg, xg, 2 * (size_t)H);
    for (int j = 0; j < H; j++) {
        gn[j] += gr[j] * hp[2 * H + j];
    }
    nn_tanh_forward(gn, gn, (size_t)H);
    for (int j = 0; j < H; j++) {
        h[j] = (1.0f - gz[j]) * gn[j] + gz[j] * hprev[j];
    }
}

void nn_gru_forward(float *out, float *h_final, float *cache, const float *inp, const float *h0,
                    const uint8_t *reset, const float *w_ih, const float *w_hh, const float *b_ih,
                    const float *b_hh, int B, int T, int C, int H) {
    /* inp is (B,T,C), out (B,T,H); cache blocks (B,T,3H), (B,T,3H), (B,T,H) */
    size_t BT = (size_t)B * T, G3 = 3u * (size_t)H;
    float *xg = cache;
    float *hp = xg + BT * G3;
    float *hprev = hp + BT * G3;
    if (BT == 0 || H <= 0) {
        return;
    }

    rnn_input_project(xg, inp, w_ih, b_ih, BT, C, 3 * H);
    rows_fill(hp, b_hh, BT, 3 * H);

    for (int t = 0; t < T; t++) {
        for (int b = 0; b < B; b++) {
            rnn_state_in(hprev + ((size_t)b * T + t) * H, h0, out, reset, b, t, T, H);
        }
        rnn_recurrent_project(hp + (size_t)t * G3, (int)((size_t)T * G3), hprev + (size_t)t * H,
                              T * H, w_hh, B, 3 * H, H);
        for (int b = 0; b < B; b++) {
            size_t r = (size_t)b * T + t;
            gru_cell(out + r * H, xg + r * G3, hp + r * G3, hprev + r * H, H);
        }
    }
    rnn_state_final(h_final, out, B, T, H);
}

/* gradient of one cell: dh (H) in: gradient of h_t, out: its direct part for h_{t-1};
 * writes dxg (3H) and dhp (3H), the gradients of xp and hp */
NN_VEC NN_HOT static void gru_cell_backward(float *restrict dxg, float *restrict dhp,
                                            float *restrict dh, const float *restrict gates,
                                            const float *restrict hp, const float *restrict hprev,
                                            int H) {
    const float *gr = gates, *gz = gates + H, *gn = gates + 2 * H;
    const float *hpn = hp + 2 * H;
    for (int j = 0; j < H; j++) {
        float r = gr[j], z = gz[j], n = gn[j], d = dh[j];
        float dan = d * (1.0f - z) * (1.0f - n * n);
        float dar = dan * hpn[j] * r * (1.0f - r);
        float daz = d * (hprev[j] - n) * z * (1.0f - z);
        dxg[j] = dar;
        dxg[H + j] = daz;
        dxg[2 * H + j] = dan;
        dhp[j] = dar;
        dhp[H + j] = daz;
        dhp[2 * H + j] = dan * r;
        dh[j] = d * z;
    }
}

void nn_gru_backward(float *dinp, float *dw_ih, float *dw_hh, float *db_ih, float *db_hh,
                     const float *dout, const float *dh_final, const float *inp,
                     const uint8_t *reset, const float *w_ih, const float *w_hh, const float *cache,
                     float *scratch, int B, int T, int C, int H) {
    size_t BT = (size_t)B * T, G3 = 3u * (size_t)H;
    const float *gates = cache;
    const float *hp = gates + BT * G3;
    const float *hprev = hp + BT * G3;
    float *dxg = scratch;
    float *dhp = dxg + BT * G3;
    float *dh = dhp + BT * G3;
    if (BT == 0 || H <= 0) {
        return;
    }

    rnn_grad_init(dh, dh_final, B, H);

    for (int t = T - 1; t >= 0; t--) {
        rnn_grad_add_output(dh, dout, B, T, t, H);
        for (int b = 0; b < B; b++) {
            size_t r = (size_t)b * T + t;
            gru_cell_backward(dxg + r * G3, dhp + r * G3, dh + (size_t)b * H, gates + r * G3,
                              hp + r * G3, hprev + r * H, H);
        }
        if (t == 0) {
            break;
        }
        /* add the path through the recurrent weights; nothing crosses a reset */
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, B, H, 3 * H, 1.0f,
                    dhp + (size_t)t * G3, (int)((size_t)T * G3), w_hh, H, 1.0f, dh, H);
        rnn_grad_cut(dh, reset, B, T, t, H);
    }

    rnn_weight_grads(dinp, dw_ih, dw_hh, dxg, dhp, inp, hprev, w_ih, BT, C, 3 * H, H);
    nn_colsum_accumulate(db_ih, dxg, BT, 3 * H);
    nn_colsum_accumulate(db_hh, dhp, BT, 3 * H);
}

void nn_gru_step(float *h_out, float *scratch, const float *x, const float *h_in, const float *w_ih,
                 const float *w_hh, const float *b_ih, const float *b_hh, int B, int C, int H) {
    size_t G3 = 3u * (size_t)H;
    float *xg = scratch;
    float *hp = xg + (size_t)B * G3;
    if (B <= 0 || H <= 0) {
        return;
    }
    rnn_input_project(xg, x, w_ih, b_ih, (size_t)B, C, 3 * H);
    rows_fill(hp, b_hh, (size_t)B, 3 * H);
    rnn_recurrent_project(hp, 3 * H, h_in, H, w_hh, B, 3 * H, H);
    for (int b = 0; b < B; b++) {
        gru_cell(h_out + (size_t)b * H, xg + (size_t)b * G3, hp + (size_t)b * G3,
                 h_in + (size_t)b * H, H);
    }
}
