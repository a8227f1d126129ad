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

#include <cblas.h>
#include <string.h>

/* O3 vectorises the elementwise loops in -O2 builds too; without trapping math the clamps
 * if-convert */
#if defined(__GNUC__) && !defined(__clang__)
#define NN_HOT __attribute__((optimize("O3", "no-trapping-math")))
#else
#define NN_HOT
#endif
/* the cell loops get an AVX2+FMA clone picked at load time (as tanh/sigmoid in nn_layers.c);
 * the step functions use the same clone as the sequence forward, so they still agree bitwise */
#if defined(__x86_64__) && defined(__linux__) && defined(__GNUC__) && !defined(__clang__) &&       \
    !defined(__SANITIZE_ADDRESS__)
#define NN_VEC __attribute__((target_clones("arch=x86-64-v3", "default")))
#else
#define NN_VEC
#endif

static void rows_fill(float *dst, const float *row, size_t rows, int n) {
    for (size_t r = 0; r < rows; r++) {
        memcpy(dst + r * (size_t)n, row, (size_t)n * sizeof(float));
    }
}

NN_HOT static void colsum_accumulate(float *dst, const float *src, size_t rows, int n) {
    for (size_t r = 0; r < rows; r++) {
        const float *row = src + r * (size_t)n;
        for (int j = 0; j < n; j++) {
            dst[j] += row[j];
        }
    }
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
    size_t hbytes = (size_t)H * sizeof(float);
    if (BT == 0 || H <= 0) {
        return;
    }

    /* input projection of every row at once, on top of the bias */
    rows_fill(gates, bias, BT, 4 * H);
    if (C > 0) {
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)BT, 4 * H, C, 1.0f, inp, C, w_ih,
                    C, 1.0f, gates, 4 * H);
    }

    for (int t = 0; t < T; t++) {
        /* the state entering step t: zeros after a reset or without an initial state */
        for (int b = 0; b < B; b++) {
            size_t r = (size_t)b * T + t;
            float *hp = hprev + r * H, *cp = cprev + r * H;
            if ((reset && reset[r]) || (t == 0 && !h0)) {
                memset(hp, 0, hbytes);
            } else {
                memcpy(hp, t == 0 ? h0 + (size_t)b * H : out + (r - 1) * H, hbytes);
            }
            if ((reset && reset[r]) || (t == 0 && !c0)) {
                memset(cp, 0, hbytes);
            } else {
                memcpy(cp, t == 0 ? c0 + (size_t)b * H : cs + (r - 1) * H, hbytes);
            }
        }
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, B, 4 * H, H, 1.0f,
                    hprev + (size_t)t * H, T * H, w_hh, H, 1.0f, gates + (size_t)t * G4,
                    (int)((size_t)T * G4));
        for (int b = 0; b < B; b++) {
            size_t r = (size_t)b * T + t;
            lstm_cell(out + r * H, cs + r * H, tcs + r * H, gates + r * G4, cprev + r * H, H);
        }
    }
    for (int b = 0; b < B; b++) {
        size_t r = (size_t)b * T + (T - 1);
        if (h_final) {
            memcpy(h_final + (size_t)b * H, out + r * H, hbytes);
        }
        if (c_final) {
            memcpy(c_final + (size_t)b * H, cs + r * H, hbytes);
        }
    }
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
    size_t hbytes = (size_t)H * sizeof(float);
    (void)cs;
    if (BT == 0 || H <= 0) {
        return;
    }

    if (dh_final) {
        memcpy(dh, dh_final, (size_t)B * hbytes);
    } else {
        memset(dh, 0, (size_t)B * hbytes);
    }
    if (dc_final) {
        memcpy(dc, dc_final, (size_t)B * hbytes);
    } else {
        memset(dc, 0, (size_t)B * hbytes);
    }

    for (int t = T - 1; t >= 0; t--) {
        for (int b = 0; b < B; b++) {
            size_t r = (size_t)b * T + t;
            float *dhb = dh + (size_t)b * H;
            const float *dy = dout + r * H;
            for (int j = 0; j < H; j++) {
                dhb[j] += dy[j];
            }
            lstm_cell_backward(dgates + r * G4, dc + (size_t)b * H, dhb, gates + r * G4,
                               tcs + r * H, cprev + r * H, H);
        }
        if (t == 0) {
            break;
        }
        /* gradient of h_{t-1} through the recurrent weights; none across a reset */
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, B, H, 4 * H, 1.0f,
                    dgates + (size_t)t * G4, (int)((size_t)T * G4), w_hh, H, 0.0f, dh, H);
        if (reset) {
            for (int b = 0; b < B; b++) {
                if (reset[(size_t)b * T + t]) {
                    memset(dh + (size_t)b * H, 0, hbytes);
                    memset(dc + (size_t)b * H, 0, hbytes);
                }
            }
        }
    }

    /* parameter and input gradients over all rows at once */
    if (dinp && C > 0) {
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)BT, C, 4 * H, 1.0f, dgates,
                    4 * H, w_ih, C, 1.0f, dinp, C);
    }
    if (C > 0) {
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, 4 * H, C, (int)BT, 1.0f, dgates, 4 * H,
                    inp, C, 1.0f, dw_ih, C);
    }
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, 4 * H, H, (int)BT, 1.0f, dgates, 4 * H,
                hprev, H, 1.0f, dw_hh, H);
    colsum_accumulate(dbias, dgates, BT, 4 * H);
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
    rows_fill(gates, bias, (size_t)B, 4 * H);
    if (C > 0) {
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, B, 4 * H, C, 1.0f, x, C, w_ih, C, 1.0f,
                    gates, 4 * H);
    }
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, B, 4 * H, H, 1.0f, h_in, H, w_hh, H, 1.0f,
                gates, 4 * H);
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
    size_t hbytes = (size_t)H * sizeof(float);
    if (BT == 0 || H <= 0) {
        return;
    }

    rows_fill(xg, b_ih, BT, 3 * H);
    if (C > 0) {
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)BT, 3 * H, C, 1.0f, inp, C, w_ih,
                    C, 1.0f, xg, 3 * H);
    }
    rows_fill(hp, b_hh, BT, 3 * H);

    for (int t = 0; t < T; t++) {
        for (int b = 0; b < B; b++) {
            size_t r = (size_t)b * T + t;
            float *hpr = hprev + r * H;
            if ((reset && reset[r]) || (t == 0 && !h0)) {
                memset(hpr, 0, hbytes);
            } else {
                memcpy(hpr, t == 0 ? h0 + (size_t)b * H : out + (r - 1) * H, hbytes);
            }
        }
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, B, 3 * H, H, 1.0f,
                    hprev + (size_t)t * H, T * H, w_hh, H, 1.0f, hp + (size_t)t * G3,
                    (int)((size_t)T * G3));
        for (int b = 0; b < B; b++) {
            size_t r = (size_t)b * T + t;
            gru_cell(out + r * H, xg + r * G3, hp + r * G3, hprev + r * H, H);
        }
    }
    if (h_final) {
        for (int b = 0; b < B; b++) {
            memcpy(h_final + (size_t)b * H, out + ((size_t)b * T + (T - 1)) * H, hbytes);
        }
    }
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
    size_t hbytes = (size_t)H * sizeof(float);
    if (BT == 0 || H <= 0) {
        return;
    }

    if (dh_final) {
        memcpy(dh, dh_final, (size_t)B * hbytes);
    } else {
        memset(dh, 0, (size_t)B * hbytes);
    }

    for (int t = T - 1; t >= 0; t--) {
        for (int b = 0; b < B; b++) {
            size_t r = (size_t)b * T + t;
            float *dhb = dh + (size_t)b * H;
            const float *dy = dout + r * H;
            for (int j = 0; j < H; j++) {
                dhb[j] += dy[j];
            }
            gru_cell_backward(dxg + r * G3, dhp + r * G3, dhb, gates + r * G3, hp + r * G3,
                              hprev + r * H, H);
        }
        if (t == 0) {
            break;
        }
        /* add the path through the recurrent weights; nothing crosses a reset */
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, B, H, 3 * H, 1.0f,
                    dhp + (size_t)t * G3, (int)((size_t)T * G3), w_hh, H, 1.0f, dh, H);
        if (reset) {
            for (int b = 0; b < B; b++) {
                if (reset[(size_t)b * T + t]) {
                    memset(dh + (size_t)b * H, 0, hbytes);
                }
            }
        }
    }

    if (dinp && C > 0) {
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)BT, C, 3 * H, 1.0f, dxg, 3 * H,
                    w_ih, C, 1.0f, dinp, C);
    }
    if (C > 0) {
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, 3 * H, C, (int)BT, 1.0f, dxg, 3 * H,
                    inp, C, 1.0f, dw_ih, C);
    }
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, 3 * H, H, (int)BT, 1.0f, dhp, 3 * H, hprev,
                H, 1.0f, dw_hh, H);
    colsum_accumulate(db_ih, dxg, BT, 3 * H);
    colsum_accumulate(db_hh, dhp, BT, 3 * H);
}

void nn_gru_step(float *h_out, float *scratch, const float *x, const float *h_in, const float *w_ih,
                 const float *w_hh, const float *b_ih, const float *b_hh, int B, int C, int H) {
    size_t G3 = 3u * (size_t)H;
    float *xg = scratch;
    float *hp = xg + (size_t)B * G3;
    if (B <= 0 || H <= 0) {
        return;
    }
    rows_fill(xg, b_ih, (size_t)B, 3 * H);
    if (C > 0) {
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, B, 3 * H, C, 1.0f, x, C, w_ih, C, 1.0f,
                    xg, 3 * H);
    }
    rows_fill(hp, b_hh, (size_t)B, 3 * H);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, B, 3 * H, H, 1.0f, h_in, H, w_hh, H, 1.0f,
                hp, 3 * H);
    for (int b = 0; b < B; b++) {
        gru_cell(h_out + (size_t)b * H, xg + (size_t)b * G3, hp + (size_t)b * G3,
                 h_in + (size_t)b * H, H);
    }
}
