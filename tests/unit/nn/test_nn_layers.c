/* Tests of the feed-forward layer kernels (server/nn/nn_layers.c): dense against a naive loop,
 * finite-difference gradient checks of dense, every activation, concat and layer norm (input and
 * parameter gradients), accumulation semantics, the accuracy of the fast tanh/sigmoid/exp, the
 * activation name parser. */
#include "ag_error.h"
#include "ag_rng.h"
#include "nn_layers.h"
#include "nn_gradcheck.h"

#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---- dense ---- */

typedef struct DenseCase {
    int B, C, OC;
    float *inp, *w, *bias, *out, *r;
} DenseCase;

static double dense_loss(void *p) {
    DenseCase *d = p;
    nn_dense_forward(d->out, d->inp, d->w, d->bias, d->B, d->C, d->OC);
    return dot(d->out, d->r, (size_t)d->B * d->OC);
}

START_TEST(test_dense_forward_naive) {
    int B = 7, C = 5, OC = 3;
    float *inp = alloc_floats((size_t)B * C), *w = alloc_floats((size_t)OC * C);
    float *bias = alloc_floats(OC), *out = alloc_floats((size_t)B * OC);
    fill_normal(inp, (size_t)B * C, 1.0);
    fill_normal(w, (size_t)OC * C, 1.0);
    fill_normal(bias, OC, 1.0);
    for (int with_bias = 0; with_bias < 2; with_bias++) {
        /* garbage in out must not leak through */
        for (int i = 0; i < B * OC; i++) {
            out[i] = 1e6f;
        }
        nn_dense_forward(out, inp, w, with_bias ? bias : NULL, B, C, OC);
        for (int b = 0; b < B; b++) {
            for (int o = 0; o < OC; o++) {
                double s = with_bias ? bias[o] : 0.0;
                for (int c = 0; c < C; c++) {
                    s += (double)inp[b * C + c] * w[o * C + c];
                }
                ck_assert_double_eq_tol(out[b * OC + o], s, 1e-5);
            }
        }
    }
    free(inp);
    free(w);
    free(bias);
    free(out);
}
END_TEST

START_TEST(test_dense_grad) {
    DenseCase d = {.B = 4, .C = 6, .OC = 5};
    size_t ni = (size_t)d.B * d.C, nw = (size_t)d.OC * d.C, no = (size_t)d.B * d.OC;
    d.inp = alloc_floats(ni);
    d.w = alloc_floats(nw);
    d.bias = alloc_floats(d.OC);
    d.out = alloc_floats(no);
    d.r = alloc_floats(no);
    fill_normal(d.inp, ni, 1.0);
    fill_normal(d.w, nw, 0.5);
    fill_normal(d.bias, d.OC, 0.5);
    fill_normal(d.r, no, 1.0);
    float *dinp = alloc_floats(ni), *dw = alloc_floats(nw), *db = alloc_floats(d.OC);
    dense_loss(&d);
    nn_dense_backward(dinp, dw, db, d.r, d.inp, d.w, d.B, d.C, d.OC);
    grad_check("dense dinp", d.inp, dinp, ni, dense_loss, &d);
    grad_check("dense dweight", d.w, dw, nw, dense_loss, &d);
    grad_check("dense dbias", d.bias, db, d.OC, dense_loss, &d);

    /* a second backward accumulates; without dinp the input gradient is untouched */
    float *dw2 = alloc_floats(nw);
    memcpy(dw2, dw, nw * sizeof(float));
    float db0 = db[0], dinp0 = dinp[0];
    nn_dense_backward(NULL, dw2, db, d.r, d.inp, d.w, d.B, d.C, d.OC);
    for (size_t i = 0; i < nw; i++) {
        ck_assert_float_eq_tol(dw2[i], 2.0f * dw[i], 1e-5f);
    }
    ck_assert_float_eq_tol(db[0], 2.0f * db0, 1e-5f);
    ck_assert_float_eq(dinp[0], dinp0);
    free(dw2);
    free(dinp);
    free(dw);
    free(db);
    free(d.inp);
    free(d.w);
    free(d.bias);
    free(d.out);
    free(d.r);
}
END_TEST

/* ---- activations ---- */

typedef struct ActCase {
    NnAct act;
    size_t n;
    float *x, *y, *r;
} ActCase;

static double act_loss(void *p) {
    ActCase *a = p;
    nn_act_forward(a->y, a->x, a->n, a->act);
    return dot(a->y, a->r, a->n);
}

START_TEST(test_act_grad) {
    /* _i runs over every activation */
    ActCase a = {.act = (NnAct)_i, .n = 64};
    a.x = alloc_floats(a.n);
    a.y = alloc_floats(a.n);
    a.r = alloc_floats(a.n);
    fill_normal(a.x, a.n, 2.0);
    fill_normal(a.r, a.n, 1.0);
    /* keep away from the kinks of relu and elu */
    for (size_t i = 0; i < a.n; i++) {
        if (fabsf(a.x[i]) < 0.05f) {
            a.x[i] = a.x[i] < 0.0f ? -0.05f : 0.05f;
        }
    }
    float *dx = alloc_floats(a.n);
    act_loss(&a);
    nn_act_backward(dx, a.r, a.y, a.n, a.act);
    char what[64];
    snprintf(what, sizeof what, "act %s", nn_act_name(a.act));
    grad_check(what, a.x, dx, a.n, act_loss, &a);
    act_loss(&a); /* a.y again at the unperturbed input */

    /* accumulation: a second call adds the same again */
    float *dx2 = alloc_floats(a.n);
    memcpy(dx2, dx, a.n * sizeof(float));
    nn_act_backward(dx2, a.r, a.y, a.n, a.act);
    for (size_t i = 0; i < a.n; i++) {
        ck_assert_float_eq_tol(dx2[i], 2.0f * dx[i], 1e-6f);
    }

    /* in place: forward on its input, backward on its own gradient (then it scales) */
    float *xi = alloc_floats(a.n);
    memcpy(xi, a.x, a.n * sizeof(float));
    nn_act_forward(xi, xi, a.n, a.act);
    ck_assert_mem_eq(xi, a.y, a.n * sizeof(float));
    memcpy(dx2, a.r, a.n * sizeof(float));
    nn_act_backward(dx2, dx2, a.y, a.n, a.act);
    for (size_t i = 0; i < a.n; i++) {
        ck_assert_float_eq(dx2[i], dx[i]);
    }
    free(xi);
    free(dx2);
    free(dx);
    free(a.x);
    free(a.y);
    free(a.r);
}
END_TEST

static double ref_act(NnAct act, double x) {
    switch (act) {
    case NN_ACT_TANH:
        return tanh(x);
    case NN_ACT_RELU:
        return x > 0 ? x : 0;
    case NN_ACT_ELU:
        return x > 0 ? x : expm1(x);
    case NN_ACT_SIGMOID:
        return 1.0 / (1.0 + exp(-x));
    case NN_ACT_SOFTPLUS:
        return log1p(exp(-fabs(x))) + fmax(x, 0.0);
    default:
        return x;
    }
}

START_TEST(test_act_accuracy) {
    /* every activation against double-precision libm over [-20, 20] and tiny arguments */
    size_t n = 40001 + 200;
    float *x = alloc_floats(n), *y = alloc_floats(n);
    for (size_t i = 0; i < 40001; i++) {
        x[i] = (float)(-20.0 + 1e-3 * (double)i);
    }
    for (size_t i = 0; i < 200; i++) {
        x[40001 + i] = (float)((i % 2 ? -1.0 : 1.0) * pow(10.0, -8.0 + 0.03 * (double)i));
    }
    for (int a = 0; a < NN_ACT_COUNT; a++) {
        nn_act_forward(y, x, n, (NnAct)a);
        double max_rel = 0.0;
        for (size_t i = 0; i < n; i++) {
            double ref = ref_act((NnAct)a, x[i]);
            double den = fabs(ref) > 1e-30 ? fabs(ref) : 1e-30;
            double rel = fabs((double)y[i] - ref) / den;
            /* elu near 0 from below loses relative precision in exp(x)-1: compare absolutely */
            if (a == NN_ACT_ELU) {
                rel = fabs((double)y[i] - ref) / fmax(fabs(ref), 1e-3);
            }
            if (rel > max_rel) {
                max_rel = rel;
            }
        }
        printf("activation %-8s max rel err vs libm %.3e\n", nn_act_name((NnAct)a), max_rel);
        ck_assert_msg(max_rel < 2e-6, "%s: rel err %g", nn_act_name((NnAct)a), max_rel);
    }
    /* saturation: no NaN or overflow far outside */
    float big[4] = {-1e4f, 1e4f, -100.0f, 100.0f}, out[4];
    nn_tanh_forward(out, big, 4);
    ck_assert_float_eq(out[0], -1.0f);
    ck_assert_float_eq(out[1], 1.0f);
    nn_sigmoid_forward(out, big, 4);
    ck_assert(out[0] >= 0.0f && out[0] < 1e-30f);
    ck_assert_float_eq(out[1], 1.0f);
    nn_softplus_forward(out, big, 4);
    ck_assert_float_eq(out[1], 1e4f);
    ck_assert(out[0] >= 0.0f && out[0] < 1e-30f);
    free(x);
    free(y);
}
END_TEST

START_TEST(test_exp_accuracy) {
    /* the fast exp against libm over its useful range, in place */
    size_t n = 16001;
    float *x = alloc_floats(n), *y = alloc_floats(n);
    for (size_t i = 0; i < n; i++) {
        x[i] = (float)(-80.0 + 0.01 * (double)i);
    }
    memcpy(y, x, n * sizeof(float));
    nn_exp_forward(y, y, n);
    double max_rel = 0.0;
    for (size_t i = 0; i < n; i++) {
        max_rel = fmax(max_rel, fabs((double)y[i] - exp((double)x[i])) / exp((double)x[i]));
    }
    printf("exp max rel err vs libm %.3e over [-80, 80]\n", max_rel);
    ck_assert_msg(max_rel < 2e-6, "exp rel err %g", max_rel);
    /* far outside it clamps to finite, positive values */
    float ext[3] = {-1e4f, 1e4f, 0.0f}, out[3];
    nn_exp_forward(out, ext, 3);
    ck_assert(out[0] > 0.0f && out[0] < 1e-37f);
    ck_assert(isfinite(out[1]) && out[1] > 1e38f);
    ck_assert_float_eq_tol(out[2], 1.0f, 1e-7f);
    free(x);
    free(y);
}
END_TEST

START_TEST(test_act_parse) {
    NnAct act = NN_ACT_COUNT;
    char err[160] = "";
    for (int a = 0; a < NN_ACT_COUNT; a++) {
        ck_assert_int_eq(nn_act_parse(nn_act_name((NnAct)a), &act, err, sizeof err), 0);
        ck_assert_int_eq(act, a);
    }
    ck_assert_int_eq(nn_act_parse("linear", &act, err, sizeof err), 0);
    ck_assert_int_eq(act, NN_ACT_IDENTITY);
    ck_assert_int_eq(nn_act_parse("swish", &act, err, sizeof err), AG_EINVAL);
    ck_assert_ptr_nonnull(strstr(err, "swish"));
    ck_assert_ptr_nonnull(strstr(err, "tanh"));
    ck_assert_int_eq(nn_act_parse("", &act, err, sizeof err), AG_EINVAL);
    ck_assert_int_eq(nn_act_parse("Tanh", &act, err, sizeof err), AG_EINVAL);
    ck_assert_int_eq(nn_act_parse(NULL, &act, err, sizeof err), AG_EINVAL);
    ck_assert_str_eq(nn_act_name(NN_ACT_COUNT), "?");
    ck_assert_str_eq(nn_act_name((NnAct)-1), "?");
}
END_TEST

/* ---- concat ---- */

typedef struct ConcatCase {
    int B, k, Cs[3];
    float *in[3], *out, *r;
} ConcatCase;

static double concat_loss(void *p) {
    ConcatCase *c = p;
    const float *ins[3] = {c->in[0], c->in[1], c->in[2]};
    nn_concat_forward(c->out, ins, c->Cs, c->k, c->B);
    return dot(c->out, c->r, (size_t)c->B * (c->Cs[0] + c->Cs[1] + c->Cs[2]));
}

START_TEST(test_concat) {
    ConcatCase c = {.B = 3, .k = 3, .Cs = {2, 4, 1}};
    int total = 7;
    for (int i = 0; i < 3; i++) {
        c.in[i] = alloc_floats((size_t)c.B * c.Cs[i]);
        fill_normal(c.in[i], (size_t)c.B * c.Cs[i], 1.0);
    }
    c.out = alloc_floats((size_t)c.B * total);
    c.r = alloc_floats((size_t)c.B * total);
    fill_normal(c.r, (size_t)c.B * total, 1.0);
    concat_loss(&c);
    /* layout: row b is [in0[b] | in1[b] | in2[b]] */
    ck_assert_float_eq(c.out[1 * total + 0], c.in[0][1 * 2 + 0]);
    ck_assert_float_eq(c.out[1 * total + 2 + 3], c.in[1][1 * 4 + 3]);
    ck_assert_float_eq(c.out[2 * total + 6], c.in[2][2]);

    float *d[3];
    for (int i = 0; i < 3; i++) {
        d[i] = alloc_floats((size_t)c.B * c.Cs[i]);
    }
    float *skip[3] = {d[0], NULL, d[2]};
    nn_concat_backward(skip, c.r, c.Cs, c.k, c.B);
    ck_assert_float_eq(d[1][0], 0.0f);
    nn_concat_backward(d, c.r, c.Cs, c.k, c.B);
    ck_assert_float_eq_tol(d[0][0], 2.0f * c.r[0], 1e-7f);
    /* d[0] and d[2] hold twice the gradient now, d[1] once */
    for (int i = 0; i < 3; i += 2) {
        for (int j = 0; j < c.B * c.Cs[i]; j++) {
            d[i][j] *= 0.5f;
        }
    }
    grad_check("concat dinp0", c.in[0], d[0], (size_t)c.B * c.Cs[0], concat_loss, &c);
    grad_check("concat dinp1", c.in[1], d[1], (size_t)c.B * c.Cs[1], concat_loss, &c);
    grad_check("concat dinp2", c.in[2], d[2], (size_t)c.B * c.Cs[2], concat_loss, &c);
    for (int i = 0; i < 3; i++) {
        free(c.in[i]);
        free(d[i]);
    }
    free(c.out);
    free(c.r);
}
END_TEST

/* ---- layer norm ---- */

typedef struct LnCase {
    int B, C;
    float *inp, *gain, *bias, *out, *mean, *rstd, *r;
} LnCase;

static double ln_loss(void *p) {
    LnCase *l = p;
    nn_layernorm_forward(l->out, l->mean, l->rstd, l->inp, l->gain, l->bias, l->B, l->C);
    return dot(l->out, l->r, (size_t)l->B * l->C);
}

START_TEST(test_layernorm) {
    LnCase l = {.B = 4, .C = 7};
    size_t n = (size_t)l.B * l.C;
    l.inp = alloc_floats(n);
    l.out = alloc_floats(n);
    l.r = alloc_floats(n);
    l.gain = alloc_floats(l.C);
    l.bias = alloc_floats(l.C);
    l.mean = alloc_floats(l.B);
    l.rstd = alloc_floats(l.B);
    fill_normal(l.inp, n, 2.0);
    for (size_t i = 0; i < n; i++) {
        l.inp[i] += 3.0f;
    }
    fill_normal(l.r, n, 1.0);

    /* unit gain, zero bias: every row has mean 0 and variance 1 */
    for (int c = 0; c < l.C; c++) {
        l.gain[c] = 1.0f;
    }
    ln_loss(&l);
    for (int b = 0; b < l.B; b++) {
        double m = 0, v = 0;
        for (int c = 0; c < l.C; c++) {
            m += l.out[b * l.C + c];
        }
        m /= l.C;
        for (int c = 0; c < l.C; c++) {
            v += (l.out[b * l.C + c] - m) * (l.out[b * l.C + c] - m);
        }
        v /= l.C;
        ck_assert_double_eq_tol(m, 0.0, 1e-6);
        ck_assert_double_eq_tol(v, 1.0, 1e-3);
    }
    /* inference without saving the statistics gives the same output */
    float *out2 = alloc_floats(n);
    nn_layernorm_forward(out2, NULL, NULL, l.inp, l.gain, l.bias, l.B, l.C);
    ck_assert_mem_eq(out2, l.out, n * sizeof(float));

    fill_normal(l.gain, l.C, 1.0);
    fill_normal(l.bias, l.C, 1.0);
    float *dinp = alloc_floats(n), *dg = alloc_floats(l.C), *db = alloc_floats(l.C);
    ln_loss(&l);
    nn_layernorm_backward(dinp, dg, db, l.r, l.inp, l.gain, l.mean, l.rstd, l.B, l.C);
    grad_check("layernorm dinp", l.inp, dinp, n, ln_loss, &l);
    grad_check("layernorm dgain", l.gain, dg, l.C, ln_loss, &l);
    grad_check("layernorm dbias", l.bias, db, l.C, ln_loss, &l);
    free(out2);
    free(dinp);
    free(dg);
    free(db);
    free(l.inp);
    free(l.out);
    free(l.r);
    free(l.gain);
    free(l.bias);
    free(l.mean);
    free(l.rstd);
}
END_TEST

static Suite *layers_suite(void) {
    Suite *s = suite_create("nn_layers");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_dense_forward_naive);
    tcase_add_test(tc, test_dense_grad);
    tcase_add_loop_test(tc, test_act_grad, 0, NN_ACT_COUNT);
    tcase_add_test(tc, test_act_accuracy);
    tcase_add_test(tc, test_exp_accuracy);
    tcase_add_test(tc, test_act_parse);
    tcase_add_test(tc, test_concat);
    tcase_add_test(tc, test_layernorm);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) {
    ag_rng_seed(&rng, 1234, 0);
    SRunner *sr = srunner_create(layers_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
