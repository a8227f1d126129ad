/* Tests of the image kernels (server/nn/nn_conv.c): conv2d against a naive convolution and by
 * finite differences (stride 2 padding 1, stride 1 without and with padding, K 4 stride 3, 1x1
 * kernels; images grouped into one product, full and partial groups; 64x64 at strides 1 and 2
 * and 96x96 at stride 8, the layers of pathways_downsampled at their sizes, with the backward
 * pass also against written-out sums), group and scratch sizes, output-size checks with bad
 * dimensions, max-pool values, argmax routing and gradient (also at 32 channels of 32x32), and the
 * spatial softmax's coordinates, probabilities and gradient. */
#include "ag_rng.h"
#include "nn_layers.h"
#include "nn_gradcheck.h"

#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- conv2d ---- */

typedef struct ConvCase {
    int B, C, H, W, OC, K, stride, pad, OH, OW;
    float *inp, *w, *bias, *out, *r, *scratch;
} ConvCase;

static void conv_case_init(ConvCase *k, int B, int C, int H, int W, int OC, int K, int stride,
                           int pad) {
    *k = (ConvCase){.B = B, .C = C, .H = H, .W = W, .OC = OC, .K = K, .stride = stride, .pad = pad};
    k->OH = nn_conv2d_out_dim(H, K, stride, pad);
    k->OW = nn_conv2d_out_dim(W, K, stride, pad);
    ck_assert_int_gt(k->OH, 0);
    ck_assert_int_gt(k->OW, 0);
    size_t ni = (size_t)B * C * H * W, nw = (size_t)OC * C * K * K;
    size_t no = (size_t)B * OC * k->OH * k->OW;
    k->inp = alloc_floats(ni);
    k->w = alloc_floats(nw);
    k->bias = alloc_floats(OC);
    k->out = alloc_floats(no);
    k->r = alloc_floats(no);
    k->scratch = alloc_floats(nn_conv2d_scratch_size(C, H, W, OC, K, stride, pad));
    /* modest activations keep float rounding in the outputs well below the tolerance */
    fill_normal(k->inp, ni, 0.5);
    fill_normal(k->w, nw, 0.5);
    fill_normal(k->bias, OC, 0.2);
    fill_normal(k->r, no, 1.0);
}

static void conv_case_free(ConvCase *k) {
    free(k->inp);
    free(k->w);
    free(k->bias);
    free(k->out);
    free(k->r);
    free(k->scratch);
}

static double conv_loss(void *p) {
    ConvCase *k = p;
    nn_conv2d_forward(k->out, k->scratch, k->inp, k->w, k->bias, k->B, k->C, k->H, k->W, k->OC,
                      k->K, k->stride, k->pad);
    return dot(k->out, k->r, (size_t)k->B * k->OC * k->OH * k->OW);
}

/* the convolution written out tap by tap, in double: out (B,OC,OH,OW) and, for loss = <out, r>,
 * the gradients dinp, dw and db (each may be NULL) */
static void conv_naive(const ConvCase *k, double *out, double *dinp, double *dw, double *db) {
    for (int b = 0; b < k->B; b++) {
        for (int o = 0; o < k->OC; o++) {
            for (int oy = 0; oy < k->OH; oy++) {
                for (int ox = 0; ox < k->OW; ox++) {
                    size_t oi = (size_t)((b * k->OC + o) * k->OH + oy) * k->OW + ox;
                    double s = k->bias[o], g = k->r[oi];
                    for (int c = 0; c < k->C; c++) {
                        for (int ky = 0; ky < k->K; ky++) {
                            for (int kx = 0; kx < k->K; kx++) {
                                int iy = oy * k->stride - k->pad + ky;
                                int ix = ox * k->stride - k->pad + kx;
                                if (iy < 0 || iy >= k->H || ix < 0 || ix >= k->W) {
                                    continue;
                                }
                                size_t wi = (size_t)((o * k->C + c) * k->K + ky) * k->K + kx;
                                size_t ii = (size_t)((b * k->C + c) * k->H + iy) * k->W + ix;
                                s += (double)k->w[wi] * k->inp[ii];
                                if (dw) {
                                    dw[wi] += g * k->inp[ii];
                                }
                                if (dinp) {
                                    dinp[ii] += g * k->w[wi];
                                }
                            }
                        }
                    }
                    if (out) {
                        out[oi] = s;
                    }
                    if (db) {
                        db[o] += g;
                    }
                }
            }
        }
    }
}

static void conv_naive_check(ConvCase *k) {
    size_t no = (size_t)k->B * k->OC * k->OH * k->OW;
    double *ref = calloc(no, sizeof(double));
    ck_assert_ptr_nonnull(ref);
    conv_loss(k);
    conv_naive(k, ref, NULL, NULL, NULL);
    double max_diff = 0.0;
    for (size_t i = 0; i < no; i++) {
        max_diff = fmax(max_diff, fabs(k->out[i] - ref[i]));
    }
    free(ref);
    printf("conv2d K=%d stride=%d pad=%d vs naive: max abs diff %.3e\n", k->K, k->stride, k->pad,
           max_diff);
    ck_assert(max_diff < 1e-5);
}

/* finite differences over every step-th input and every weight and bias, with steps of eps,
 * then accumulation and no input gradient when dinp is NULL */
static void conv_grad_every(ConvCase *k, const char *tag, size_t step, double eps) {
    size_t ni = (size_t)k->B * k->C * k->H * k->W, nw = (size_t)k->OC * k->C * k->K * k->K;
    float *dinp = alloc_floats(ni), *dw = alloc_floats(nw), *db = alloc_floats(k->OC);
    conv_loss(k);
    nn_conv2d_backward(dinp, dw, db, k->scratch, k->r, k->inp, k->w, k->B, k->C, k->H, k->W, k->OC,
                       k->K, k->stride, k->pad);
    char what[64];
    snprintf(what, sizeof what, "conv2d %s dinp", tag);
    grad_check_every(what, k->inp, dinp, ni, step, eps, conv_loss, k);
    snprintf(what, sizeof what, "conv2d %s dweight", tag);
    grad_check_every(what, k->w, dw, nw, 1, eps, conv_loss, k);
    snprintf(what, sizeof what, "conv2d %s dbias", tag);
    grad_check_every(what, k->bias, db, (size_t)k->OC, 1, eps, conv_loss, k);

    float *dw2 = alloc_floats(nw);
    memcpy(dw2, dw, nw * sizeof(float));
    nn_conv2d_backward(NULL, dw2, NULL, k->scratch, k->r, k->inp, k->w, k->B, k->C, k->H, k->W,
                       k->OC, k->K, k->stride, k->pad);
    for (size_t i = 0; i < nw; i++) {
        ck_assert_float_eq_tol(dw2[i], 2.0f * dw[i], 1e-4f * fmaxf(1.0f, fabsf(dw[i])));
    }
    free(dw2);
    free(dinp);
    free(dw);
    free(db);
}

static void conv_grad(ConvCase *k, const char *tag) {
    conv_grad_every(k, tag, 1, GRAD_EPS);
}

/* The loss is linear in every input, weight and bias, so a central difference is exact at any
 * step: on large images a long one keeps the float rounding of the thousands of outputs a
 * weight moves at once out of the quotient, and every step-th input is checked. */
#define CONV_LINEAR_EPS 0.05

static void conv_grad_sampled(ConvCase *k, const char *tag, size_t step) {
    conv_grad_every(k, tag, step, CONV_LINEAR_EPS);
}

START_TEST(test_conv2d_stride2_pad1) {
    ConvCase k;
    conv_case_init(&k, 2, 3, 7, 6, 4, 3, 2, 1);
    ck_assert_int_eq(k.OH, 4);
    ck_assert_int_eq(k.OW, 3);
    conv_naive_check(&k);
    conv_grad(&k, "s2p1");
    conv_case_free(&k);
}
END_TEST

START_TEST(test_conv2d_stride1_valid) {
    ConvCase k;
    conv_case_init(&k, 2, 2, 6, 5, 3, 3, 1, 0);
    ck_assert_int_eq(k.OH, 4);
    ck_assert_int_eq(k.OW, 3);
    conv_naive_check(&k);
    conv_grad(&k, "s1p0");
    /* without a bias the output is the pure convolution */
    float *with = alloc_floats((size_t)k.B * k.OC * k.OH * k.OW);
    conv_loss(&k);
    memcpy(with, k.out, (size_t)k.B * k.OC * k.OH * k.OW * sizeof(float));
    nn_conv2d_forward(k.out, k.scratch, k.inp, k.w, NULL, k.B, k.C, k.H, k.W, k.OC, k.K, 1, 0);
    ck_assert_float_eq_tol(with[0] - k.out[0], k.bias[0], 1e-5f);
    free(with);
    conv_case_free(&k);
}
END_TEST

START_TEST(test_conv2d_shapes) {
    /* stride 1 with padding, a stride that does not divide the input, a 1x1 kernel and an
     * input smaller than the padded kernel on one axis */
    const int cases[][8] = {
        /* B, C, H, W, OC, K, stride, pad */
        {2, 2, 5, 6, 3, 3, 1, 2},
        {1, 3, 9, 8, 2, 4, 3, 1},
        {2, 4, 3, 5, 5, 1, 1, 0},
        {1, 2, 2, 7, 2, 3, 2, 1},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const int *c = cases[i];
        ConvCase k;
        conv_case_init(&k, c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]);
        conv_naive_check(&k);
        if (i == 0) {
            conv_grad(&k, "s1p2");
        }
        if (i == 1) {
            conv_grad(&k, "k4s3p1");
        }
        conv_case_free(&k);
    }
}
END_TEST

/* the backward pass against sums written out: dbias, dweight and dinp of loss = <out, r> */
static void conv_naive_backward_check(ConvCase *k) {
    size_t ni = (size_t)k->B * k->C * k->H * k->W, nw = (size_t)k->OC * k->C * k->K * k->K;
    float *dinp = alloc_floats(ni), *dw = alloc_floats(nw), *db = alloc_floats(k->OC);
    double *ni_ref = calloc(ni, sizeof(double)), *nw_ref = calloc(nw, sizeof(double));
    double *nb_ref = calloc((size_t)k->OC, sizeof(double));
    ck_assert(ni_ref && nw_ref && nb_ref);
    nn_conv2d_backward(dinp, dw, db, k->scratch, k->r, k->inp, k->w, k->B, k->C, k->H, k->W, k->OC,
                       k->K, k->stride, k->pad);
    conv_naive(k, NULL, ni_ref, nw_ref, nb_ref);
    double max_rel = 0.0;
    for (size_t i = 0; i < ni; i++) {
        max_rel = fmax(max_rel, fabs(dinp[i] - ni_ref[i]) / fmax(1.0, fabs(ni_ref[i])));
    }
    for (size_t i = 0; i < nw; i++) {
        max_rel = fmax(max_rel, fabs(dw[i] - nw_ref[i]) / fmax(1.0, fabs(nw_ref[i])));
    }
    for (int o = 0; o < k->OC; o++) {
        max_rel = fmax(max_rel, fabs(db[o] - nb_ref[o]) / fmax(1.0, fabs(nb_ref[o])));
    }
    printf("conv2d backward B=%d %dx%d K=%d stride=%d pad=%d vs naive: max rel diff %.3e\n", k->B,
           k->H, k->W, k->K, k->stride, k->pad, max_rel);
    ck_assert(max_rel < 1e-4);
    free(dinp);
    free(dw);
    free(db);
    free(ni_ref);
    free(nw_ref);
    free(nb_ref);
}

/* one case {B, C, H, W, OC, K, stride, pad}: forward and backward against the written-out
 * sums, finite differences over every step-th input */
static void conv_case_run(const int *c, const char *tag, size_t step) {
    ConvCase k;
    conv_case_init(&k, c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]);
    conv_naive_check(&k);
    conv_naive_backward_check(&k);
    conv_grad_sampled(&k, tag, step);
    conv_case_free(&k);
}

START_TEST(test_conv2d_grouped) {
    /* small outputs group many images into one product: 70 images of 4x4 make full groups and
     * a partial one; 16x16 makes groups of 2, the last holding one image */
    const int many[8] = {70, 1, 4, 4, 2, 3, 1, 1}, pairs[8] = {3, 2, 16, 16, 3, 3, 1, 1};
    ck_assert_int_gt(nn_conv2d_group(4 * 4), 1);
    ck_assert_int_ne(70 % nn_conv2d_group(4 * 4), 0);
    ck_assert_int_eq(nn_conv2d_group(16 * 16), 2);
    conv_case_run(many, "group 4x4", 1);
    conv_case_run(pairs, "group 2+1", 7);
}
END_TEST

START_TEST(test_conv2d_image_sizes) {
    /* the sizes the pixels sensation renders: 64x64 at stride 1 ("same") and stride 2, 96x96
     * in 8x8 patches (stride 8: 12x12 outputs, groups of 4 with one image left over) */
    const int same64[8] = {2, 3, 64, 64, 4, 3, 1, 1}, half64[8] = {3, 3, 64, 64, 4, 3, 2, 1};
    const int patches96[8] = {5, 3, 96, 96, 3, 8, 8, 0};
    ck_assert_int_eq(nn_conv2d_group(12 * 12), 4);
    conv_case_run(same64, "64x64 s1", 211);
    conv_case_run(half64, "64x64 s2", 211);
    conv_case_run(patches96, "96x96 k8 s8", 211);
}
END_TEST

START_TEST(test_conv2d_reduced_pathway) {
    /* the layers of the reduced vision pathway (pathways_downsampled): 64x64 images into 32 filters
     * at stride 2, and the second convolution over 32 channels after the max-pool, at 16x16
     * (64 and 128 images give 16x16 and 32x32 there) */
    const int first[8] = {2, 3, 64, 64, 32, 3, 2, 1};
    const int second16[8] = {2, 32, 16, 16, 4, 3, 1, 1}, second32[8] = {1, 32, 32, 32, 4, 3, 1, 1};
    conv_case_run(first, "64x64 s2 32 filters", 97);
    conv_case_run(second16, "32 channels 16x16 s1", 13);
    conv_case_run(second32, "32 channels 32x32 s1", 53);
}
END_TEST

START_TEST(test_conv2d_dims) {
    ck_assert_int_eq(nn_conv2d_out_dim(64, 8, 4, 0), 15);
    ck_assert_int_eq(nn_conv2d_out_dim(7, 3, 2, 1), 4);
    ck_assert_int_eq(nn_conv2d_out_dim(3, 3, 1, 0), 1);
    /* kernel larger than the padded input, and nonsense parameters */
    ck_assert_int_le(nn_conv2d_out_dim(2, 5, 1, 1), 0);
    ck_assert_int_le(nn_conv2d_out_dim(8, 3, 0, 0), 0);
    ck_assert_int_le(nn_conv2d_out_dim(8, 0, 1, 0), 0);
    ck_assert_int_le(nn_conv2d_out_dim(8, 3, 1, -1), 0);
    ck_assert_int_le(nn_conv2d_out_dim(0, 1, 1, 0), 0);
    /* one position groups the most images; 64x64 at stride 1 works one image at a time */
    ck_assert_int_eq(nn_conv2d_group(1), NN_CONV_GROUP_MAX);
    ck_assert_int_eq(nn_conv2d_group(4096), 1);
    ck_assert_int_eq(nn_conv2d_group(NN_CONV_GROUP_COLS), 1);
    ck_assert_int_eq(nn_conv2d_group(NN_CONV_GROUP_COLS / 2), 2);
    ck_assert_int_eq(nn_conv2d_group(NN_CONV_GROUP_COLS / 2 + 1), 2);
    ck_assert_int_eq(nn_conv2d_group(0), 1);
    size_t g = (size_t)nn_conv2d_group(12);
    ck_assert_uint_eq(g, (NN_CONV_GROUP_COLS + 11) / 12);
    ck_assert_uint_eq(nn_conv2d_scratch_size(3, 7, 6, 5, 3, 2, 1),
                      (2u * 27 + 1) * g * 12 + 5u * g * 12 + 5u * 28);
    ck_assert_uint_eq(nn_conv2d_scratch_size(3, 64, 64, 5, 3, 1, 1),
                      (2u * 27 + 1) * 4096 + 5u * 28);
    ck_assert_uint_eq(nn_conv2d_scratch_size(3, 2, 2, 5, 5, 1, 0), 0);
    ck_assert_uint_eq(nn_conv2d_scratch_size(3, 7, 6, 0, 3, 2, 1), 0);
}
END_TEST

/* ---- max-pool ---- */

typedef struct PoolCase {
    int B, C, H, W, size;
    float *inp, *out, *r;
    int32_t *argmax;
} PoolCase;

static double pool_loss(void *p) {
    PoolCase *k = p;
    nn_maxpool_forward(k->out, k->argmax, k->inp, k->B, k->C, k->H, k->W, k->size);
    return dot(k->out, k->r, (size_t)k->B * k->C * (k->H / k->size) * (k->W / k->size));
}

START_TEST(test_maxpool) {
    /* H = 5 leaves a remainder row that the pool drops */
    PoolCase k = {.B = 2, .C = 3, .H = 5, .W = 4, .size = 2};
    int OH = 2, OW = 2;
    size_t ni = (size_t)k.B * k.C * k.H * k.W, no = (size_t)k.B * k.C * OH * OW;
    k.inp = alloc_floats(ni);
    k.out = alloc_floats(no);
    k.r = alloc_floats(no);
    k.argmax = calloc(no, sizeof(int32_t));
    ck_assert_ptr_nonnull(k.argmax);
    /* distinct values spaced well beyond the finite-difference step, so no ties */
    for (size_t i = 0; i < ni; i++) {
        k.inp[i] = (float)((i * 37) % ni) * 0.01f;
    }
    fill_normal(k.r, no, 1.0);
    pool_loss(&k);
    for (size_t bc = 0; bc < (size_t)k.B * k.C; bc++) {
        for (int oy = 0; oy < OH; oy++) {
            for (int ox = 0; ox < OW; ox++) {
                float best = -1e30f;
                for (int ky = 0; ky < 2; ky++) {
                    for (int kx = 0; kx < 2; kx++) {
                        best =
                            fmaxf(best, k.inp[bc * k.H * k.W + (oy * 2 + ky) * k.W + ox * 2 + kx]);
                    }
                }
                size_t o = bc * OH * OW + oy * OW + ox;
                ck_assert_float_eq(k.out[o], best);
                ck_assert_float_eq(k.inp[bc * k.H * k.W + k.argmax[o]], best);
            }
        }
    }
    float *dinp = alloc_floats(ni);
    nn_maxpool_backward(dinp, k.r, k.argmax, k.B, k.C, k.H, k.W, k.size);
    grad_check("maxpool dinp", k.inp, dinp, ni, pool_loss, &k);
    /* the dropped last row gets no gradient */
    for (size_t bc = 0; bc < (size_t)k.B * k.C; bc++) {
        for (int x = 0; x < k.W; x++) {
            ck_assert_float_eq(dinp[bc * k.H * k.W + 4 * k.W + x], 0.0f);
        }
    }
    /* inference without argmax gives the same output */
    float *out2 = alloc_floats(no);
    nn_maxpool_forward(out2, NULL, k.inp, k.B, k.C, k.H, k.W, k.size);
    ck_assert_mem_eq(out2, k.out, no * sizeof(float));
    free(out2);
    free(dinp);
    free(k.inp);
    free(k.out);
    free(k.r);
    free(k.argmax);
}
END_TEST

START_TEST(test_maxpool_reduced_pathway) {
    /* the reduced vision pathway's pool: 32 channels of 32x32 (a 64x64 image after the stride-2
     * convolution) into 16x16; values distinct and spaced beyond the step, so no ties */
    PoolCase k = {.B = 2, .C = 32, .H = 32, .W = 32, .size = 2};
    size_t ni = (size_t)k.B * k.C * k.H * k.W, no = ni / 4;
    k.inp = alloc_floats(ni);
    k.out = alloc_floats(no);
    k.r = alloc_floats(no);
    k.argmax = calloc(no, sizeof(int32_t));
    ck_assert_ptr_nonnull(k.argmax);
    for (size_t i = 0; i < ni; i++) {
        k.inp[i] = (float)((i * 37) % ni) * 0.01f;
    }
    fill_normal(k.r, no, 1.0);
    pool_loss(&k);
    float *dinp = alloc_floats(ni);
    nn_maxpool_backward(dinp, k.r, k.argmax, k.B, k.C, k.H, k.W, k.size);
    grad_check_every("maxpool 32x32 dinp", k.inp, dinp, ni, 7, GRAD_EPS, pool_loss, &k);
    /* every output's gradient lands on one input of its own window */
    size_t routed = 0;
    for (size_t i = 0; i < ni; i++) {
        routed += dinp[i] != 0.0f;
    }
    ck_assert_uint_eq(routed, no);
    free(dinp);
    free(k.inp);
    free(k.out);
    free(k.r);
    free(k.argmax);
}
END_TEST

/* ---- spatial softmax ---- */

typedef struct SsmCase {
    int B, C, H, W;
    float *inp, *probs, *out, *r;
} SsmCase;

static double ssm_loss(void *p) {
    SsmCase *k = p;
    nn_spatial_softmax_forward(k->out, k->probs, k->inp, k->B, k->C, k->H, k->W);
    return dot(k->out, k->r, (size_t)k->B * 2 * k->C);
}

START_TEST(test_spatial_softmax) {
    SsmCase k = {.B = 2, .C = 3, .H = 4, .W = 5};
    size_t ni = (size_t)k.B * k.C * k.H * k.W;
    k.inp = alloc_floats(ni);
    k.probs = alloc_floats(ni);
    k.out = alloc_floats((size_t)k.B * 2 * k.C);
    k.r = alloc_floats((size_t)k.B * 2 * k.C);

    /* channel 0: flat -> centre (0,0); channel 1: a sharp peak at the top right corner (x = 1,
     * y = -1); channel 2: a peak at row 2, column 1 */
    size_t P = (size_t)k.H * k.W;
    for (size_t i = 0; i < P; i++) {
        k.inp[1 * P + i] = -50.0f;
        k.inp[2 * P + i] = -50.0f;
    }
    k.inp[1 * P + 0 * k.W + 4] = 50.0f;
    k.inp[2 * P + 2 * k.W + 1] = 50.0f;
    ssm_loss(&k);
    ck_assert_float_eq_tol(k.out[0], 0.0f, 1e-6f);
    ck_assert_float_eq_tol(k.out[1], 0.0f, 1e-6f);
    ck_assert_float_eq_tol(k.out[2], 1.0f, 1e-5f);
    ck_assert_float_eq_tol(k.out[3], -1.0f, 1e-5f);
    ck_assert_float_eq_tol(k.out[4], -1.0f + 2.0f * 1 / 4, 1e-5f);
    ck_assert_float_eq_tol(k.out[5], -1.0f + 2.0f * 2 / 3, 1e-5f);
    /* probabilities sum to one per channel; a constant shift of the logits changes nothing */
    for (int c = 0; c < k.C; c++) {
        double s = 0.0;
        for (size_t i = 0; i < P; i++) {
            s += k.probs[c * P + i];
        }
        ck_assert_double_eq_tol(s, 1.0, 1e-5);
    }

    fill_normal(k.inp, ni, 1.0);
    fill_normal(k.r, (size_t)k.B * 2 * k.C, 1.0);
    ssm_loss(&k);
    float before = k.out[7];
    for (size_t i = 0; i < P; i++) {
        k.inp[(size_t)1 * k.C * P + P + i] += 3.0f; /* b = 1, c = 1 */
    }
    ssm_loss(&k);
    ck_assert_float_eq_tol(k.out[7], before, 1e-5f);
    for (int i = 0; i < 2 * k.B * k.C; i++) {
        ck_assert(k.out[i] >= -1.0f && k.out[i] <= 1.0f);
    }

    float *dinp = alloc_floats(ni);
    nn_spatial_softmax_backward(dinp, k.r, k.probs, k.B, k.C, k.H, k.W);
    grad_check("spatial softmax dinp", k.inp, dinp, ni, ssm_loss, &k);
    free(dinp);
    free(k.inp);
    free(k.probs);
    free(k.out);
    free(k.r);
}
END_TEST

START_TEST(test_spatial_softmax_degenerate) {
    /* a 1 x W strip: y is 0 for every position */
    float inp[4] = {0.0f, 1.0f, 2.0f, 3.0f}, probs[4], out[2];
    nn_spatial_softmax_forward(out, probs, inp, 1, 1, 1, 4);
    ck_assert_float_eq(out[1], 0.0f);
    ck_assert(out[0] > 0.0f && out[0] < 1.0f);
    /* large logits do not overflow */
    float big[4] = {1e4f, -1e4f, 0.0f, 3e4f};
    nn_spatial_softmax_forward(out, probs, big, 1, 1, 2, 2);
    ck_assert(isfinite(out[0]) && isfinite(out[1]));
    ck_assert_float_eq_tol(out[0], 1.0f, 1e-6f);
    ck_assert_float_eq_tol(out[1], 1.0f, 1e-6f);
}
END_TEST

static Suite *conv_suite(void) {
    Suite *s = suite_create("nn_conv");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_conv2d_stride2_pad1);
    tcase_add_test(tc, test_conv2d_stride1_valid);
    tcase_add_test(tc, test_conv2d_shapes);
    tcase_add_test(tc, test_conv2d_grouped);
    tcase_add_test(tc, test_conv2d_image_sizes);
    tcase_add_test(tc, test_conv2d_reduced_pathway);
    tcase_add_test(tc, test_conv2d_dims);
    tcase_add_test(tc, test_maxpool);
    tcase_add_test(tc, test_maxpool_reduced_pathway);
    tcase_add_test(tc, test_spatial_softmax);
    tcase_add_test(tc, test_spatial_softmax_degenerate);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) {
    ag_rng_seed(&rng, 99, 0);
    SRunner *sr = srunner_create(conv_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
