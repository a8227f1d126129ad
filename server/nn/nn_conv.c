/* Image layer kernels: conv2d through im2col + sgemm (col2im for the input gradient), max-pool
 * with saved argmax, and spatial softmax to expected feature-point coordinates. Shapes and
 * conventions are documented in nn_layers.h.
 *
 * DESIGN: conv2d works on groups of G images with a column matrix of C*K*K rows and G*OH*OW
 * columns (image g's columns at g*OH*OW), so out (OC, G*OH*OW) = weight (OC, C*K*K) @ col is
 * one sgemm with no transposes. G is nn_conv2d_group(OH*OW): 1 when one image alone gives the
 * product enough columns (at 64x64, stride 1, 4,096), more as images shrink (a 16x16 output
 * groups 2, a 4x4 one 32), so that no layer runs as a loop of small products. With G = 1 the output
 * lands directly in (B,OC,OH,OW); a larger group goes through a staging matrix (OC, G*OH*OW) and
 * one copy (OC*OH*OW floats per image against C*K*K times as many multiply-adds). The bias rides in
 * the products as an extra weight column against a row of ones under the column matrix, in
 * both directions, so no pass over the output adds it or sums its gradient: for a first layer
 * (C*K*K = 27) those passes cost about as much as the product. Backward rebuilds the column
 * matrix instead of keeping it, trading a cheap copy for B/G times less memory.
 */
#include "nn_layers.h"

#include "nn_kernel.h"

#include <cblas.h>
#include <float.h>
#include <math.h>
#include <string.h>

int nn_conv2d_out_dim(int in, int K, int stride, int pad) {
    if (in <= 0 || K <= 0 || stride <= 0 || pad < 0 || in + 2 * pad < K) {
        return 0;
    }
    return (in + 2 * pad - K) / stride + 1;
}

int nn_conv2d_group(int P) {
    if (P <= 0) {
        return 1;
    }
    int g = (NN_CONV_GROUP_COLS + P - 1) / P;
    return g > NN_CONV_GROUP_MAX ? NN_CONV_GROUP_MAX : g;
}

size_t nn_conv2d_scratch_size(int C, int H, int W, int OC, int K, int stride, int pad) {
    int OH = nn_conv2d_out_dim(H, K, stride, pad), OW = nn_conv2d_out_dim(W, K, stride, pad);
    if (OH <= 0 || OW <= 0 || C <= 0 || OC <= 0) {
        return 0;
    }
    size_t P = (size_t)OH * OW, G = (size_t)nn_conv2d_group((int)P), CKK = (size_t)C * K * K;
    size_t staging = G > 1 ? (size_t)OC * G * P : 0;
    return (2u * CKK + 1u) * G * P + staging + (size_t)OC * (CKK + 1u);
}

/* the output columns [lo, hi) whose input column ox*stride - pad + kx lies inside [0, W), so
 * the copy loops below run without a bounds test per element */
static void valid_cols(int *lo, int *hi, int W, int OW, int kx, int stride, int pad) {
    int first = pad - kx <= 0 ? 0 : (pad - kx + stride - 1) / stride;
    int last = W - 1 + pad - kx < 0 ? 0 : (W - 1 + pad - kx) / stride + 1;
    *hi = last < OW ? last : OW;
    *lo = first < *hi ? first : *hi;
}

/* col (C*K*K, OH*OW), rows ld floats apart, from one image (C,H,W); zeros where the window
 * hangs over the padding */
NN_HOT static void im2col(float *col, size_t ld, const float *img, int C, int H, int W, int K,
                          int stride, int pad, int OH, int OW) {
    for (int c = 0; c < C; c++) {
        for (int ky = 0; ky < K; ky++) {
            for (int kx = 0; kx < K; kx++) {
                float *row = col + ((size_t)(c * K + ky) * K + kx) * ld;
                int lo, hi;
                valid_cols(&lo, &hi, W, OW, kx, stride, pad);
                for (int oy = 0; oy < OH; oy++) {
                    int iy = oy * stride - pad + ky;
                    float *dst = row + (size_t)oy * OW;
                    if (iy < 0 || iy >= H) {
                        memset(dst, 0, (size_t)OW * sizeof(float));
                        continue;
                    }
                    /* output column ox reads input column ox * stride + off */
                    const float *src = img + ((size_t)c * H + iy) * W;
                    int off = kx - pad;
                    for (int ox = 0; ox < lo; ox++) {
                        dst[ox] = 0.0f;
                    }
                    if (stride == 1) {
                        memcpy(dst + lo, src + lo + off, (size_t)(hi - lo) * sizeof(float));
                    } else {
                        for (int ox = lo; ox < hi; ox++) {
                            dst[ox] = src[ox * stride + off];
                        }
                    }
                    for (int ox = hi; ox < OW; ox++) {
                        dst[ox] = 0.0f;
                    }
                }
            }
        }
    }
}

/* col (C*K*K, g*OH*OW) from g images (g,C,H,W): image i's columns start at i*OH*OW */
static void im2col_group(float *col, const float *imgs, int g, int C, int H, int W, int K,
                         int stride, int pad, int OH, int OW) {
    size_t P = (size_t)OH * OW, ld = (size_t)g * P;
    for (int i = 0; i < g; i++) {
        im2col(col + (size_t)i * P, ld, imgs + (size_t)i * C * H * W, C, H, W, K, stride, pad, OH,
               OW);
    }
}

/* img (C,H,W) += the column matrix (rows ld floats apart) folded back (overlapping windows add
 * up) */
NN_HOT static void col2im(float *img, const float *col, size_t ld, int C, int H, int W, int K,
                          int stride, int pad, int OH, int OW) {
    for (int c = 0; c < C; c++) {
        for (int ky = 0; ky < K; ky++) {
            for (int kx = 0; kx < K; kx++) {
                const float *row = col + ((size_t)(c * K + ky) * K + kx) * ld;
                int lo, hi;
                valid_cols(&lo, &hi, W, OW, kx, stride, pad);
                for (int oy = 0; oy < OH; oy++) {
                    int iy = oy * stride - pad + ky;
                    if (iy < 0 || iy >= H) {
                        continue;
                    }
                    const float *src = row + (size_t)oy * OW;
                    float *dst = img + ((size_t)c * H + iy) * W;
                    int off = kx - pad;
                    for (int ox = lo; ox < hi; ox++) {
                        dst[ox * stride + off] += src[ox];
                    }
                }
            }
        }
    }
}

/* Scratch layout (nn_conv2d_scratch_size): the column matrix (C*K*K + 1 rows of G*P: the last
 * row all ones, so that the bias rides in the product), its gradient (C*K*K rows), the staged
 * output of a group (OC rows of G*P, groups of more than one image only) and the weight with
 * the bias as an extra column (OC, C*K*K + 1). */
typedef struct ConvScratch {
    float *col, *dcol, *staging, *wb;
} ConvScratch;

static ConvScratch conv_scratch(float *scratch, int CKK, int OC, int G, int P) {
    size_t cols = (size_t)G * P;
    ConvScratch c;
    c.col = scratch;
    c.dcol = c.col + (size_t)(CKK + 1) * cols;
    c.staging = c.dcol + (size_t)CKK * cols;
    c.wb = c.staging + (G > 1 ? (size_t)OC * cols : 0);
    return c;
}

/* the row of ones under the group's column matrix (rows ld floats apart) */
static void conv_ones_row(float *col, size_t ld, int CKK) {
    float *row = col + (size_t)CKK * ld;
    for (size_t p = 0; p < ld; p++) {
        row[p] = 1.0f;
    }
}

/* wb (OC, CKK + 1) = [w | b] */
static void conv_pack_bias(float *wb, const float *w, const float *b, int OC, int CKK) {
    for (int o = 0; o < OC; o++) {
        memcpy(wb + (size_t)o * (CKK + 1), w + (size_t)o * CKK, (size_t)CKK * sizeof(float));
        wb[(size_t)o * (CKK + 1) + CKK] = b[o];
    }
}

/* [w | b] (OC, CKK + 1) back into w and b */
static void conv_unpack_bias(float *w, float *b, const float *wb, int OC, int CKK) {
    for (int o = 0; o < OC; o++) {
        memcpy(w + (size_t)o * CKK, wb + (size_t)o * (CKK + 1), (size_t)CKK * sizeof(float));
        b[o] = wb[(size_t)o * (CKK + 1) + CKK];
    }
}

void nn_conv2d_forward(float *out, float *scratch, const float *inp, const float *weight,
                       const float *bias, int B, int C, int H, int W, int OC, int K, int stride,
                       int pad) {
    /* inp is (B,C,H,W), weight (OC,C*K*K), out (B,OC,OH,OW) */
    int OH = nn_conv2d_out_dim(H, K, stride, pad), OW = nn_conv2d_out_dim(W, K, stride, pad);
    if (OH <= 0 || OW <= 0 || B <= 0 || OC <= 0 || C <= 0) {
        return;
    }
    int CKK = C * K * K, P = OH * OW, G = nn_conv2d_group(P);
    size_t img = (size_t)C * H * W, outp = (size_t)OC * P;
    ConvScratch sc = conv_scratch(scratch, CKK, OC, G, P);
    /* with a bias the product is [w | b] @ [col ; 1] */
    const float *wk = weight;
    int KK = CKK;
    if (bias) {
        conv_pack_bias(sc.wb, weight, bias, OC, CKK);
        wk = sc.wb;
        KK = CKK + 1;
    }
    for (int b0 = 0; b0 < B; b0 += G) {
        int g = B - b0 < G ? B - b0 : G;
        size_t ld = (size_t)g * P;
        im2col_group(sc.col, inp + (size_t)b0 * img, g, C, H, W, K, stride, pad, OH, OW);
        if (bias) {
            conv_ones_row(sc.col, ld, CKK);
        }
        /* one image lands straight in its (OC, P) block of the output; a group is staged */
        float *dst = g == 1 ? out + (size_t)b0 * outp : sc.staging;
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, OC, (int)ld, KK, 1.0f, wk, KK,
                    sc.col, (int)ld, 0.0f, dst, (int)ld);
        if (g == 1) {
            continue;
        }
        /* staging (OC, g, P) -> out (g, OC, P) */
        for (int i = 0; i < g; i++) {
            for (int o = 0; o < OC; o++) {
                memcpy(out + (size_t)(b0 + i) * outp + (size_t)o * P,
                       sc.staging + (size_t)o * ld + (size_t)i * P, (size_t)P * sizeof(float));
            }
        }
    }
}

void nn_conv2d_backward(float *dinp, float *dweight, float *dbias, float *scratch,
                        const float *dout, const float *inp, const float *weight, int B, int C,
                        int H, int W, int OC, int K, int stride, int pad) {
    int OH = nn_conv2d_out_dim(H, K, stride, pad), OW = nn_conv2d_out_dim(W, K, stride, pad);
    if (OH <= 0 || OW <= 0 || B <= 0 || OC <= 0 || C <= 0) {
        return;
    }
    int CKK = C * K * K, P = OH * OW, G = nn_conv2d_group(P);
    size_t img = (size_t)C * H * W, outp = (size_t)OC * P;
    ConvScratch sc = conv_scratch(scratch, CKK, OC, G, P);
    /* with a bias gradient, [dw | db] += dout @ [col ; 1]^T accumulates both in one product */
    float *dwk = dweight;
    int KK = CKK;
    if (dbias) {
        conv_pack_bias(sc.wb, dweight, dbias, OC, CKK);
        dwk = sc.wb;
        KK = CKK + 1;
    }
    for (int b0 = 0; b0 < B; b0 += G) {
        int g = B - b0 < G ? B - b0 : G;
        size_t ld = (size_t)g * P;
        im2col_group(sc.col, inp + (size_t)b0 * img, g, C, H, W, K, stride, pad, OH, OW);
        if (dbias) {
            conv_ones_row(sc.col, ld, CKK);
        }
        /* the group's output gradient as one (OC, g*P) matrix: in place for one image, else
         * gathered from (g, OC, P) */
        const float *dg = dout + (size_t)b0 * outp;
        if (g > 1) {
            for (int i = 0; i < g; i++) {
                for (int o = 0; o < OC; o++) {
                    memcpy(sc.staging + (size_t)o * ld + (size_t)i * P,
                           dout + (size_t)(b0 + i) * outp + (size_t)o * P,
                           (size_t)P * sizeof(float));
                }
            }
            dg = sc.staging;
        }
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, OC, KK, (int)ld, 1.0f, dg, (int)ld,
                    sc.col, (int)ld, 1.0f, dwk, KK);
        if (dinp) {
            /* dcol (CKK, g*P) = weight^T @ dout_g, folded back onto each image */
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, CKK, (int)ld, OC, 1.0f, weight,
                        CKK, dg, (int)ld, 0.0f, sc.dcol, (int)ld);
            for (int i = 0; i < g; i++) {
                col2im(dinp + (size_t)(b0 + i) * img, sc.dcol + (size_t)i * P, ld, C, H, W, K,
                       stride, pad, OH, OW);
            }
        }
    }
    if (dbias) {
        conv_unpack_bias(dweight, dbias, sc.wb, OC, CKK);
    }
}

void nn_maxpool_forward(float *out, int32_t *argmax, const float *inp, int B, int C, int H, int W,
                        int size) {
    /* inp is (B,C,H,W), out and argmax (B,C,H/size,W/size) */
    if (size <= 0) {
        return;
    }
    int OH = H / size, OW = W / size;
    for (size_t bc = 0; bc < (size_t)B * C; bc++) {
        const float *plane = inp + bc * H * W;
        float *o = out + bc * OH * OW;
        int32_t *am = argmax ? argmax + bc * OH * OW : NULL;
        for (int oy = 0; oy < OH; oy++) {
            for (int ox = 0; ox < OW; ox++) {
                int best = (oy * size) * W + ox * size;
                float v = plane[best];
                for (int ky = 0; ky < size; ky++) {
                    for (int kx = 0; kx < size; kx++) {
                        int idx = (oy * size + ky) * W + ox * size + kx;
                        if (plane[idx] > v) {
                            v = plane[idx];
                            best = idx;
                        }
                    }
                }
                o[oy * OW + ox] = v;
                if (am) {
                    am[oy * OW + ox] = best;
                }
            }
        }
    }
}

void nn_maxpool_backward(float *dinp, const float *dout, const int32_t *argmax, int B, int C, int H,
                         int W, int size) {
    if (size <= 0) {
        return;
    }
    int OH = H / size, OW = W / size;
    for (size_t bc = 0; bc < (size_t)B * C; bc++) {
        float *plane = dinp + bc * H * W;
        const float *d = dout + bc * OH * OW;
        const int32_t *am = argmax + bc * OH * OW;
        for (int p = 0; p < OH * OW; p++) {
            plane[am[p]] += d[p];
        }
    }
}

/* image coordinate of index i along an axis of n positions: -1 at the first, exactly 1 at the
 * last, 0 for a single position */
NN_INLINE float axis_coord(int i, int n) {
    /* branch-free so the loops vectorise: for n = 1 this is 0 / 1 */
    return (float)(2 * i - (n - 1)) / (float)(n > 1 ? n - 1 : 1);
}

/* Reductions keep 8 partial results so that the loops vectorise without reassociating
 * floating point behind the compiler's back (the summation order is fixed here). */
#define LANES 8

NN_HOT static float max_lanes(const float *x, size_t n) {
    float m[LANES];
    for (int l = 0; l < LANES; l++) {
        m[l] = -FLT_MAX;
    }
    size_t k = 0;
    for (; k + LANES <= n; k += LANES) {
        for (int l = 0; l < LANES; l++) {
            m[l] = x[k + l] > m[l] ? x[k + l] : m[l];
        }
    }
    for (; k < n; k++) {
        m[0] = x[k] > m[0] ? x[k] : m[0];
    }
    float r = m[0];
    for (int l = 1; l < LANES; l++) {
        r = m[l] > r ? m[l] : r;
    }
    return r;
}

NN_HOT static float sum_lanes(const float *x, size_t n) {
    float s[LANES] = {0};
    size_t k = 0;
    for (; k + LANES <= n; k += LANES) {
        for (int l = 0; l < LANES; l++) {
            s[l] += x[k + l];
        }
    }
    for (; k < n; k++) {
        s[0] += x[k];
    }
    float r = 0.0f;
    for (int l = 0; l < LANES; l++) {
        r += s[l];
    }
    return r;
}

/* expected coordinates under the probabilities p (H*W) */
NN_HOT static void spatial_expect(float *ex, float *ey, const float *p, int H, int W) {
    float x = 0.0f, y = 0.0f;
    for (int i = 0; i < H; i++) {
        const float *row = p + (size_t)i * W;
        float rs[LANES] = {0}, rx[LANES] = {0};
        int j = 0;
        for (; j + LANES <= W; j += LANES) {
            for (int l = 0; l < LANES; l++) {
                rs[l] += row[j + l];
                rx[l] += row[j + l] * axis_coord(j + l, W);
            }
        }
        for (; j < W; j++) {
            rs[0] += row[j];
            rx[0] += row[j] * axis_coord(j, W);
        }
        float s = 0.0f, sx = 0.0f;
        for (int l = 0; l < LANES; l++) {
            s += rs[l];
            sx += rx[l];
        }
        x += sx;
        y += s * axis_coord(i, H);
    }
    *ex = x;
    *ey = y;
}

/* one (H,W) plane x: its probabilities into p and their expected coordinates into xy (2) */
NN_HOT static void spatial_softmax_plane(float *xy, float *p, const float *x, int H, int W) {
    size_t P = (size_t)H * W;
    /* shift by the max so exp never overflows */
    float m = max_lanes(x, P);
    for (size_t k = 0; k < P; k++) {
        p[k] = x[k] - m;
    }
    nn_exp_forward(p, p, P);
    float inv = 1.0f / sum_lanes(p, P);
    for (size_t k = 0; k < P; k++) {
        p[k] *= inv;
    }
    spatial_expect(&xy[0], &xy[1], p, H, W);
}

/* d (H,W) += the gradient of one plane's logits from dxy (2), the gradient of its coordinates:
 * d out_x / d logit_k = p_k (X_k - x), likewise for y */
NN_HOT static void spatial_softmax_plane_backward(float *d, const float *dxy, const float *p, int H,
                                                  int W) {
    float dx = dxy[0], dy = dxy[1];
    float ex, ey;
    spatial_expect(&ex, &ey, p, H, W);
    for (int i = 0; i < H; i++) {
        const float *prow = p + (size_t)i * W;
        float *drow = d + (size_t)i * W;
        float ty = dy * (axis_coord(i, H) - ey) - dx * ex;
        for (int j = 0; j < W; j++) {
            drow[j] += prow[j] * (dx * axis_coord(j, W) + ty);
        }
    }
}

/* plane bc = b*C + c has its coordinates at out[2*bc], out[2*bc + 1] */
NN_HOT void nn_spatial_softmax_forward(float *out, float *probs, const float *inp, int B, int C,
                                       int H, int W) {
    /* inp is (B,C,H,W), probs (B,C,H*W), out (B,2C) */
    size_t P = (size_t)H * W;
    if (P == 0 || B <= 0 || C <= 0) {
        return;
    }
    for (size_t bc = 0; bc < (size_t)B * C; bc++) {
        spatial_softmax_plane(out + 2 * bc, probs + bc * P, inp + bc * P, H, W);
    }
}

NN_HOT void nn_spatial_softmax_backward(float *dinp, const float *dout, const float *probs, int B,
                                        int C, int H, int W) {
    size_t P = (size_t)H * W;
    if (P == 0 || B <= 0 || C <= 0) {
        return;
    }
    for (size_t bc = 0; bc < (size_t)B * C; bc++) {
        spatial_softmax_plane_backward(dinp + bc * P, dout + 2 * bc, probs + bc * P, H, W);
    }
}
