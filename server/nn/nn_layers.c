/* Feed-forward layer kernels: dense (sgemm), activations with vectorisable fast tanh/sigmoid,
 * feature concatenation and layer normalisation. Recurrent layers are in nn_rnn.c, image layers
 * in nn_conv.c. Shapes and conventions are documented in nn_layers.h.
 *
 * DESIGN: the elementwise loops are plain counted loops over float arrays without calls, so GCC
 * vectorises them (the functions carry optimize("O3") so this holds in -O2 builds too; tanh and
 * sigmoid also get an AVX2+FMA clone chosen at load time on x86-64). tanh is a clamped
 * rational approximation and exp uses a Cody-Waite reduction with a degree-6 polynomial; both
 * stay within ~4e-7 relative error of the libm functions.
 */
#include "nn_layers.h"

#include "ag_error.h"
#include "nn_kernel.h"

#include <cblas.h>
#include <math.h>
#include <string.h>

/* ---------------------------------------------------------------------------------------------
 * fast elementwise math (inlined into the loops below and into nn_rnn.c through the array
 * functions)
 */

NN_INLINE float fast_tanhf(float x) {
    /* beyond |x| = 9 tanh is 1 in float */
    x = x > 9.0f ? 9.0f : x;
    x = x < -9.0f ? -9.0f : x;
    float x2 = x * x;
    float p = -2.76076847742355e-16f;
    p = p * x2 + 2.00018790482477e-13f;
    p = p * x2 + -8.60467152213735e-11f;
    p = p * x2 + 5.12229709037114e-08f;
    p = p * x2 + 1.48572235717979e-05f;
    p = p * x2 + 6.37261928875436e-04f;
    p = p * x2 + 4.89352455891786e-03f;
    p = p * x;
    float q = 1.19825839466702e-06f;
    q = q * x2 + 1.18534705686654e-04f;
    q = q * x2 + 2.26843463243900e-03f;
    q = q * x2 + 4.89352518554385e-03f;
    return p / q;
}

NN_INLINE float fast_expf(float x) {
    /* clamp so that 2^n stays a normal float */
    x = x > 88.0f ? 88.0f : x;
    x = x < -87.33654f ? -87.33654f : x;
    /* round x / ln2 to nearest through the 1.5 * 2^23 shifter (no rint call to vectorise) */
    const float shifter = 12582912.0f;
    float n = (x * 1.44269504088896341f + shifter) - shifter;
    float r = x - n * 0.693359375f;
    r = r - n * -2.12194440e-4f;
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    p = p * r * r + r + 1.0f;
    /* 2^n built in the exponent bits; unsigned so a NaN input cannot overflow an int */
    union {
        uint32_t u;
        float f;
    } s;
    s.u = (uint32_t)((int32_t)n + 127) << 23;
    return p * s.f;
}

NN_INLINE float fast_sigmoidf(float x) {
    return 1.0f / (1.0f + fast_expf(-x));
}

/* ---------------------------------------------------------------------------------------------
 * dense
 */

void nn_dense_forward(float *out, const float *inp, const float *weight, const float *bias, int B,
                      int C, int OC) {
    /* inp is (B,C), weight (OC,C), bias (OC), out (B,OC) */
    if (B <= 0 || OC <= 0) {
        return;
    }
    float beta = 0.0f;
    if (bias) {
        for (int b = 0; b < B; b++) {
            memcpy(out + (size_t)b * OC, bias, (size_t)OC * sizeof(float));
        }
        beta = 1.0f;
    }
    if (C <= 0) {
        if (!bias) {
            memset(out, 0, (size_t)B * OC * sizeof(float));
        }
        return;
    }
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, B, OC, C, 1.0f, inp, C, weight, C, beta,
                out, OC);
}

void nn_dense_backward(float *dinp, float *dweight, float *dbias, const float *dout,
                       const float *inp, const float *weight, int B, int C, int OC) {
    /* dout is (B,OC), inp (B,C), weight (OC,C) */
    if (B <= 0 || OC <= 0 || C <= 0) {
        if (dbias && B > 0 && OC > 0) {
            nn_colsum_accumulate(dbias, dout, (size_t)B, OC);
        }
        return;
    }
    if (dinp) {
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, B, C, OC, 1.0f, dout, OC, weight, C,
                    1.0f, dinp, C);
    }
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, OC, C, B, 1.0f, dout, OC, inp, C, 1.0f,
                dweight, C);
    if (dbias) {
        nn_colsum_accumulate(dbias, dout, (size_t)B, OC);
    }
}

/* ---------------------------------------------------------------------------------------------
 * activations
 */

/* Each forward works through a small stack block so that out == inp (in place) never stops
 * the vectoriser with an alias check. */
#define ACT_BLOCK 256
#define ACT_FORWARD_BODY(f)                                                                        \
    do {                                                                                           \
        float tmp[ACT_BLOCK];                                                                      \
        for (size_t s = 0; s < n; s += ACT_BLOCK) {                                                \
            size_t m = n - s < ACT_BLOCK ? n - s : ACT_BLOCK;                                      \
            for (size_t i = 0; i < m; i++) {                                                       \
                tmp[i] = f(inp[s + i]);                                                            \
            }                                                                                      \
            memcpy(out + s, tmp, m * sizeof(float));                                               \
        }                                                                                          \
    } while (0)

NN_VEC NN_HOT void nn_tanh_forward(float *out, const float *inp, size_t n) {
    ACT_FORWARD_BODY(fast_tanhf);
}

NN_VEC NN_HOT void nn_sigmoid_forward(float *out, const float *inp, size_t n) {
    ACT_FORWARD_BODY(fast_sigmoidf);
}

NN_VEC NN_HOT void nn_exp_forward(float *out, const float *inp, size_t n) {
    ACT_FORWARD_BODY(fast_expf);
}

NN_HOT void nn_relu_forward(float *out, const float *inp, size_t n) {
    for (size_t i = 0; i < n; i++) {
        out[i] = inp[i] > 0.0f ? inp[i] : 0.0f;
    }
}

void nn_elu_forward(float *out, const float *inp, size_t n) {
    for (size_t i = 0; i < n; i++) {
        out[i] = inp[i] > 0.0f ? inp[i] : expm1f(inp[i]);
    }
}

void nn_softplus_forward(float *out, const float *inp, size_t n) {
    /* max(x,0) + log1p(exp(-|x|)) never overflows */
    for (size_t i = 0; i < n; i++) {
        float x = inp[i];
        out[i] = (x > 0.0f ? x : 0.0f) + log1pf(expf(-fabsf(x)));
    }
}

/* The backward functions accumulate, except when dinp == dout, where they scale in place. Both
 * loops are simple; the branch is taken once per call. */
#define ACT_BACKWARD_BODY(deriv)                                                                   \
    do {                                                                                           \
        if (dinp == dout) {                                                                        \
            for (size_t i = 0; i < n; i++) {                                                       \
                float y = out[i];                                                                  \
                dinp[i] = (deriv)*dinp[i];                                                         \
            }                                                                                      \
        } else {                                                                                   \
            for (size_t i = 0; i < n; i++) {                                                       \
                float y = out[i];                                                                  \
                dinp[i] += (deriv)*dout[i];                                                        \
            }                                                                                      \
        }                                                                                          \
    } while (0)

NN_HOT void nn_tanh_backward(float *dinp, const float *dout, const float *out, size_t n) {
    ACT_BACKWARD_BODY(1.0f - y * y);
}

NN_HOT void nn_sigmoid_backward(float *dinp, const float *dout, const float *out, size_t n) {
    ACT_BACKWARD_BODY(y * (1.0f - y));
}

NN_HOT void nn_relu_backward(float *dinp, const float *dout, const float *out, size_t n) {
    ACT_BACKWARD_BODY(y > 0.0f ? 1.0f : 0.0f);
}

NN_HOT void nn_elu_backward(float *dinp, const float *dout, const float *out, size_t n) {
    /* for x <= 0, y = exp(x) - 1 so dy/dx = y + 1 */
    ACT_BACKWARD_BODY(y > 0.0f ? 1.0f : y + 1.0f);
}

void nn_softplus_backward(float *dinp, const float *dout, const float *out, size_t n) {
    /* dy/dx = sigmoid(x) = 1 - exp(-y); expm1 keeps precision for small y */
    ACT_BACKWARD_BODY(-expm1f(-y));
}

static void act_identity_forward(float *out, const float *inp, size_t n) {
    if (out != inp) {
        memmove(out, inp, n * sizeof(float));
    }
}

static void act_identity_backward(float *dinp, const float *dout, const float *out, size_t n) {
    (void)out;
    if (dinp != dout) {
        for (size_t i = 0; i < n; i++) {
            dinp[i] += dout[i];
        }
    }
}

/* every activation: its name and its kernels, by NnAct */
static const struct {
    const char *name;
    void (*forward)(float *out, const float *inp, size_t n);
    void (*backward)(float *dinp, const float *dout, const float *out, size_t n);
} act_table[NN_ACT_COUNT] = {
    [NN_ACT_IDENTITY] = {"identity", act_identity_forward, act_identity_backward},
    [NN_ACT_TANH] = {"tanh", nn_tanh_forward, nn_tanh_backward},
    [NN_ACT_RELU] = {"relu", nn_relu_forward, nn_relu_backward},
    [NN_ACT_ELU] = {"elu", nn_elu_forward, nn_elu_backward},
    [NN_ACT_SIGMOID] = {"sigmoid", nn_sigmoid_forward, nn_sigmoid_backward},
    [NN_ACT_SOFTPLUS] = {"softplus", nn_softplus_forward, nn_softplus_backward},
};

int nn_act_parse(const char *name, NnAct *act, char *err, size_t err_sz) {
    if (!name || !act) {
        return ag_errorf(err, err_sz, AG_EINVAL, "activation: missing name");
    }
    for (int i = 0; i < NN_ACT_COUNT; i++) {
        if (strcmp(name, act_table[i].name) == 0) {
            *act = (NnAct)i;
            return 0;
        }
    }
    if (strcmp(name, "linear") == 0) {
        *act = NN_ACT_IDENTITY;
        return 0;
    }
    return ag_errorf(err, err_sz, AG_EINVAL,
                     "unknown activation \"%s\" (expected identity, linear, tanh, relu, elu, "
                     "sigmoid or softplus)",
                     name);
}

static int act_valid(NnAct act) {
    return (int)act >= 0 && act < NN_ACT_COUNT;
}

const char *nn_act_name(NnAct act) {
    return act_valid(act) ? act_table[act].name : "?";
}

/* an activation out of range acts as the identity */
void nn_act_forward(float *out, const float *inp, size_t n, NnAct act) {
    act_table[act_valid(act) ? act : NN_ACT_IDENTITY].forward(out, inp, n);
}

void nn_act_backward(float *dinp, const float *dout, const float *out, size_t n, NnAct act) {
    act_table[act_valid(act) ? act : NN_ACT_IDENTITY].backward(dinp, dout, out, n);
}

/* ---------------------------------------------------------------------------------------------
 * concat
 */

void nn_concat_forward(float *out, const float *const *inps, const int *Cs, int k, int B) {
    /* inps[i] is (B,Cs[i]), out (B, sum Cs) */
    int total = 0;
    for (int i = 0; i < k; i++) {
        total += Cs[i];
    }
    for (int b = 0; b < B; b++) {
        float *row = out + (size_t)b * total;
        for (int i = 0; i < k; i++) {
            memcpy(row, inps[i] + (size_t)b * Cs[i], (size_t)Cs[i] * sizeof(float));
            row += Cs[i];
        }
    }
}

NN_HOT void nn_concat_backward(float *const *dinps, const float *dout, const int *Cs, int k,
                               int B) {
    int total = 0;
    for (int i = 0; i < k; i++) {
        total += Cs[i];
    }
    for (int b = 0; b < B; b++) {
        const float *row = dout + (size_t)b * total;
        for (int i = 0; i < k; i++) {
            if (dinps[i]) {
                float *d = dinps[i] + (size_t)b * Cs[i];
                for (int c = 0; c < Cs[i]; c++) {
                    d[c] += row[c];
                }
            }
            row += Cs[i];
        }
    }
}

/* ---------------------------------------------------------------------------------------------
 * layer norm
 */

NN_HOT void nn_layernorm_forward(float *out, float *mean, float *rstd, const float *inp,
                                 const float *gain, const float *bias, int B, int C) {
    /* inp and out are (B,C), gain and bias (C), mean and rstd (B) */
    for (int b = 0; b < B; b++) {
        const float *x = inp + (size_t)b * C;
        float *y = out + (size_t)b * C;
        float m = 0.0f;
        for (int c = 0; c < C; c++) {
            m += x[c];
        }
        m /= (float)C;
        float v = 0.0f;
        for (int c = 0; c < C; c++) {
            float d = x[c] - m;
            v += d * d;
        }
        v /= (float)C;
        float s = 1.0f / sqrtf(v + NN_LAYERNORM_EPS);
        for (int c = 0; c < C; c++) {
            y[c] = (x[c] - m) * s * gain[c] + bias[c];
        }
        if (mean) {
            mean[b] = m;
        }
        if (rstd) {
            rstd[b] = s;
        }
    }
}

NN_HOT void nn_layernorm_backward(float *dinp, float *dgain, float *dbias, const float *dout,
                                  const float *inp, const float *gain, const float *mean,
                                  const float *rstd, int B, int C) {
    /* dx = rstd * (g - mean(g) - xhat * mean(g * xhat)) with g = dout * gain */
    for (int b = 0; b < B; b++) {
        const float *x = inp + (size_t)b * C;
        const float *dy = dout + (size_t)b * C;
        float m = mean[b], s = rstd[b];
        float dsum = 0.0f, dxsum = 0.0f;
        for (int c = 0; c < C; c++) {
            float xhat = (x[c] - m) * s;
            float g = dy[c] * gain[c];
            dsum += g;
            dxsum += g * xhat;
            dbias[c] += dy[c];
            dgain[c] += dy[c] * xhat;
        }
        if (!dinp) {
            continue;
        }
        dsum /= (float)C;
        dxsum /= (float)C;
        float *dx = dinp + (size_t)b * C;
        for (int c = 0; c < C; c++) {
            float xhat = (x[c] - m) * s;
            dx[c] += s * (dy[c] * gain[c] - dsum - xhat * dxsum);
        }
    }
}
