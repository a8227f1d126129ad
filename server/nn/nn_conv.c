/* Image layer kernels: conv2d through im2col + sgemm (col2im for the input gradient), max-pool
 * with saved argmax, and spatial softmax to expected feature-point coordinates. Shapes and
 * conventions are documented in nn_layers.h.
 *
 * DESIGN: conv2d works one image at a time with a column matrix of C*K*K rows and OH*OW
 * columns, so out_b (OC, OH*OW) = weight (OC, C*K*K) @ col is one sgemm with no transposes and
 * the output lands directly in (B,OC,OH,OW). Backward rebuilds the column matrix instead of
 * keeping it, trading a cheap copy for B times less memory.
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

size_t nn_conv2d_scratch_size(int C, int H, int W, int K, int stride, int pad) {
    int OH = nn_conv2d_out_dim(H, K, stride, pad), OW = nn_conv2d_out_dim(W, K, stride, pad);
    if (OH <= 0 || OW <= 0 || C <= 0) {
        return 0;
    }
    return 2u * (size_t)C * K * K * (size_t)OH * OW;
}

/* the output columns [lo, hi) whose input column ox*stride - pad + kx lies inside [0, W), so
 * the copy loops below run without a bounds test per element */
static void valid_cols(int *lo, int *hi, int W, int OW, int kx, int stride, int pad) {
    int first = pad - kx <= 0 ? 0 : (pad - kx + stride - 1) / stride;
    int last = W - 1 + pad - kx < 0 ? 0 : (W - 1 + pad - kx) / stride + 1;
    *hi = last < OW ? last : OW;
    *lo = first < *hi ? first : *hi;
}

/* col (C*K*K, OH*OW) from one image (C,H,W); zeros where the window hangs over the padding */
NN_HOT static void im2col(float *col, const float *img, int C, int H, int W, int K, int stride,
                          int pad, int OH, int OW) {
    for (int c = 0; c < C; c++) {
        for (int ky = 0; ky < K; ky++) {
            for (int kx = 0; kx < K; kx++) {
                float *row = col + ((size_t)(c * K + ky) * K + kx) * OH * OW;
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

/* img (C,H,W) += the column matrix folded back (overlapping windows add up) */
NN_HOT static void col2im(float *img, const float *col, int C, int H, int W, int K, int stride,
                          int pad, int OH, int OW) {
    for (int c = 0; c < C; c++) {
        for (int ky = 0; ky < K; ky++) {
            for (int kx = 0; kx < K; kx++) {
                const float *row = col + ((size_t)(c * K + ky) * K + kx) * OH * OW;
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

void nn_conv2d_forward(float *out, float *scratch, const float *inp, const float *weight,
                       const float *bias, int B, int C, int H, int W, int OC, int K, int stride,
                       int pad) {
    /* inp is (B,C,H,W), weight (OC,C*K*K), out (B,OC,OH,OW) */
    int OH = nn_conv2d_out_dim(H, K, stride, pad), OW = nn_conv2d_out_dim(W, K, stride, pad);
    if (OH <= 0 || OW <= 0 || B <= 0 || OC <= 0 || C <= 0) {
        return;
    }
    int CKK = C * K * K, P = OH * OW;
    float *col = scratch;
    for (int b = 0; b < B; b++) {
        float *ob = out + (size_t)b * OC * P;
        im2col(col, inp + (size_t)b * C * H * W, C, H, W, K, stride, pad, OH, OW);
        if (bias) {
            for (int o = 0; o < OC; o++) {
                float *row = ob + (size_t)o * P;
                for (int p = 0; p < P; p++) {
                    row[p] = bias[o];
                }
            }
        }
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, OC, P, CKK, 1.0f, weight, CKK, col,
                    P, bias ? 1.0f : 0.0f, ob, P);
    }
}

void nn_conv2d_backward(float *dinp, float *dweight, float *dbias, float *scratch,
                        const float *dout, const float *inp, const float *weight, int B, int C,
                        int H, int W, int OC, int K, int stride, int pad) {
    int OH = nn_conv2d_out_dim(H, K, stride, pad), OW = nn_conv2d_out_dim(W, K, stride, pad);
    if (OH <= 0 || OW <= 0 || B <= 0 || OC <= 0 || C <= 0) {
        return;
    }
    int CKK = C * K * K, P = OH * OW;
    float *col = scratch;
    float *dcol = scratch + (size_t)CKK * P;
    for (int b = 0; b < B; b++) {
        const float *db = dout + (size_t)b * OC * P;
        im2col(col, inp + (size_t)b * C * H * W, C, H, W, K, stride, pad, OH, OW);
        /* dweight (OC,CKK) += dout_b (OC,P) @ col^T */
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, OC, CKK, P, 1.0f, db, P, col, P, 1.0f,
                    dweight, CKK);
        if (dbias) {
            for (int o = 0; o < OC; o++) {
                const float *row = db + (size_t)o * P;
                float s = 0.0f;
                for (int p = 0; p < P; p++) {
                    s += row[p];
                }
                dbias[o] += s;
            }
        }
        if (dinp) {
            /* dcol (CKK,P) = weight^T @ dout_b, folded back onto the image */
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, CKK, P, OC, 1.0f, weight, CKK, db,
                        P, 0.0f, dcol, P);
            col2im(dinp + (size_t)b * C * H * W, dcol, C, H, W, K, stride, pad, OH, OW);
        }
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
