/* Tests of server/nn/nn_optim.c: Adam against a hand computation and on a quadratic, its
 * argument checks, gradient norms and global-norm clipping (learning-rate schedules: ag_spec). */
#include "nn_optim.h"

#include "ag_error.h"

#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

START_TEST(test_adam_init_errors) {
    NnAdam a;
    ck_assert_int_eq(nn_adam_init(&a, 0, 0.9f, 0.999f, 1e-5f), AG_EINVAL);
    ck_assert_ptr_null(a.m);
    ck_assert_int_eq(nn_adam_init(&a, 4, 1.0f, 0.999f, 1e-5f), AG_EINVAL);
    ck_assert_int_eq(nn_adam_init(&a, 4, -0.1f, 0.999f, 1e-5f), AG_EINVAL);
    ck_assert_int_eq(nn_adam_init(&a, 4, 0.9f, 1.5f, 1e-5f), AG_EINVAL);
    ck_assert_int_eq(nn_adam_init(&a, 4, NAN, 0.999f, 1e-5f), AG_EINVAL);
    ck_assert_int_eq(nn_adam_init(&a, 4, 0.9f, 0.999f, 0.0f), AG_EINVAL);
    ck_assert_int_eq(nn_adam_init(&a, 4, 0.9f, 0.999f, -1e-8f), AG_EINVAL);
    ck_assert_int_eq(nn_adam_init(&a, 4, 0.9f, 0.999f, INFINITY), AG_EINVAL);
    ck_assert_int_eq(nn_adam_init(NULL, 4, 0.9f, 0.999f, 1e-5f), AG_EINVAL);

    ck_assert_int_eq(nn_adam_init(&a, 4, 0.9f, 0.999f, 1e-5f), 0);
    ck_assert_uint_eq(a.n, 4);
    ck_assert_int_eq(a.step, 0);
    for (int i = 0; i < 4; i++) {
        ck_assert_float_eq(a.m[i], 0.0f);
        ck_assert_float_eq(a.v[i], 0.0f);
    }
    nn_adam_free(&a);
    ck_assert_ptr_null(a.m);
    nn_adam_free(&a); /* twice is harmless */
    nn_adam_free(NULL);
}
END_TEST

START_TEST(test_adam_first_step_by_hand) {
    /* step 1: m_hat = g and v_hat = g^2, so each param moves by lr * g / (|g| + eps) */
    NnAdam a;
    ck_assert_int_eq(nn_adam_init(&a, 3, 0.9f, 0.999f, 1e-8f), 0);
    float p[3] = {1.0f, -2.0f, 0.5f};
    const float g[3] = {0.1f, -0.3f, 0.0f};
    nn_adam_step(&a, p, g, 0.01f);
    ck_assert_int_eq(a.step, 1);
    ck_assert_double_eq_tol(p[0], 1.0 - 0.01 * 0.1 / (0.1 + 1e-8), 1e-7);
    ck_assert_double_eq_tol(p[1], -2.0 + 0.01 * 0.3 / (0.3 + 1e-8), 1e-7);
    ck_assert_float_eq(p[2], 0.5f);
    /* the moments use the float betas: (1 - b1) g and (1 - b2) g^2 */
    ck_assert_double_eq_tol(a.m[0], (1.0 - (double)0.9f) * 0.1f, 1e-9);
    ck_assert_double_eq_tol(a.v[1], (1.0 - (double)0.999f) * 0.3f * 0.3f, 1e-11);

    /* a large eps damps small gradients: lr * g / (|g| + eps) */
    NnAdam b;
    ck_assert_int_eq(nn_adam_init(&b, 1, 0.9f, 0.999f, 1.0f), 0);
    float q = 0.0f;
    const float gq = 0.5f;
    nn_adam_step(&b, &q, &gq, 0.1f);
    ck_assert_double_eq_tol(q, -0.1 * 0.5 / 1.5, 1e-7);
    nn_adam_free(&a);
    nn_adam_free(&b);
}
END_TEST

START_TEST(test_adam_matches_reference_over_steps) {
    /* Kingma and Ba's Algorithm 1 written out in double over changing gradients and lr */
    enum { N = 11, STEPS = 50 }; /* blocks of four and a tail */
    const double b1 = 0.8, b2 = 0.99, eps = 1e-5;
    NnAdam a;
    ck_assert_int_eq(nn_adam_init(&a, N, (float)b1, (float)b2, (float)eps), 0);
    float p[N];
    double pr[N], m[N] = {0}, v[N] = {0};
    for (int i = 0; i < N; i++) {
        p[i] = (float)(0.3 * i - 0.5);
        pr[i] = p[i];
    }
    double worst = 0.0;
    for (int t = 1; t <= STEPS; t++) {
        float g[N];
        double lr = 0.01 * (1.0 + 0.5 * sin(t));
        for (int i = 0; i < N; i++) {
            g[i] = (float)(sin(0.7 * t + i) * pow(10.0, i % 5 - 2));
            m[i] = b1 * m[i] + (1 - b1) * g[i];
            v[i] = b2 * v[i] + (1 - b2) * (double)g[i] * g[i];
            double mh = m[i] / (1 - pow(b1, t)), vh = v[i] / (1 - pow(b2, t));
            pr[i] -= lr * mh / (sqrt(vh) + eps);
        }
        nn_adam_step(&a, p, g, (float)lr);
        for (int i = 0; i < N; i++) {
            worst = fmax(worst, fabs(p[i] - pr[i]));
        }
    }
    printf("adam vs double reference over %d steps: max difference %.3e\n", STEPS, worst);
    ck_assert_int_eq(a.step, STEPS);
    ck_assert_double_lt(worst, 1e-5);
    nn_adam_free(&a);
}
END_TEST

START_TEST(test_adam_block_and_tail_agree) {
    /* a 7-vector runs four elements in a block and three in the tail; seven 1-vectors run the
     * tail path only: every bit must agree */
    enum { N = 7, STEPS = 20 };
    NnAdam whole, single[N];
    ck_assert_int_eq(nn_adam_init(&whole, N, 0.9f, 0.999f, 1e-5f), 0);
    float pw[N], ps[N];
    for (int i = 0; i < N; i++) {
        ck_assert_int_eq(nn_adam_init(&single[i], 1, 0.9f, 0.999f, 1e-5f), 0);
        pw[i] = ps[i] = 0.1f * (float)i;
    }
    for (int t = 0; t < STEPS; t++) {
        float g[N];
        for (int i = 0; i < N; i++) {
            g[i] = (float)cos(1.3 * t + 0.7 * i);
        }
        nn_adam_step(&whole, pw, g, 3e-3f);
        for (int i = 0; i < N; i++) {
            nn_adam_step(&single[i], &ps[i], &g[i], 3e-3f);
        }
    }
    ck_assert_mem_eq(pw, ps, sizeof pw);
    for (int i = 0; i < N; i++) {
        ck_assert_mem_eq(&whole.m[i], single[i].m, sizeof(float));
        ck_assert_mem_eq(&whole.v[i], single[i].v, sizeof(float));
        nn_adam_free(&single[i]);
    }
    nn_adam_free(&whole);
}
END_TEST

START_TEST(test_adam_converges_on_quadratic) {
    /* f(x) = sum c_i (x_i - t_i)^2, condition number 1000 */
    enum { N = 8, STEPS = 3000 };
    const double c[N] = {0.01, 0.05, 0.1, 0.5, 1.0, 2.0, 5.0, 10.0};
    const double target[N] = {1.0, -2.0, 0.5, 3.0, -1.5, 0.0, 2.5, -0.25};
    NnAdam a;
    ck_assert_int_eq(nn_adam_init(&a, N, 0.9f, 0.999f, 1e-8f), 0);
    float x[N] = {0}, g[N];
    double f0 = 0.0, f = 0.0;
    for (int i = 0; i < N; i++) {
        f0 += c[i] * target[i] * target[i];
    }
    for (int t = 0; t < STEPS; t++) {
        for (int i = 0; i < N; i++) {
            g[i] = (float)(2.0 * c[i] * (x[i] - target[i]));
        }
        /* linear decay from 0.05 to 0.0005, as a PPO run's schedule (ag_spec_lr_at) would */
        nn_adam_step(&a, x, g, 0.05f * (1.0f - 0.99f * (float)t / (float)STEPS));
    }
    double worst = 0.0;
    for (int i = 0; i < N; i++) {
        f += c[i] * (x[i] - target[i]) * (x[i] - target[i]);
        worst = fmax(worst, fabs(x[i] - target[i]));
    }
    printf("adam on a quadratic: f %.3e -> %.3e, max |x - target| %.3e\n", f0, f, worst);
    ck_assert_double_lt(worst, 1e-2);
    ck_assert_double_lt(f, 1e-6 * f0);
    nn_adam_free(&a);
}
END_TEST

START_TEST(test_grad_norm) {
    const float g[2] = {3.0f, -4.0f};
    ck_assert_float_eq_tol(nn_grad_norm(g, 2), 5.0f, 1e-6f);
    ck_assert_float_eq(nn_grad_norm(g, 0), 0.0f);
    /* lengths around the four-wide partial sums: sqrt(1 + 4 + ... + n^2) */
    const float ramp[9] = {1, 2, 3, 4, 5, 6, 7, 8, 9};
    for (int n = 1; n <= 9; n++) {
        ck_assert_float_eq_tol(nn_grad_norm(ramp, (size_t)n), sqrt(n * (n + 1) * (2 * n + 1) / 6.0),
                               1e-5f);
    }
    /* a million small terms: accumulated in double, so no drift */
    enum { N = 1000000 };
    float *big = malloc(sizeof(float) * N);
    ck_assert_ptr_nonnull(big);
    for (int i = 0; i < N; i++) {
        big[i] = 1e-3f;
    }
    ck_assert_float_eq_tol(nn_grad_norm(big, N), 1.0f, 1e-5f);
    free(big);
}
END_TEST

START_TEST(test_grad_clip) {
    float g[3] = {3.0f, 0.0f, -4.0f};
    float before = nn_grad_clip(g, 3, 1.0f);
    ck_assert_float_eq_tol(before, 5.0f, 1e-6f);
    ck_assert_float_eq_tol(nn_grad_norm(g, 3), 1.0f, 1e-6f);
    /* direction kept */
    ck_assert_float_eq_tol(g[0], 0.6f, 1e-6f);
    ck_assert_float_eq_tol(g[2], -0.8f, 1e-6f);

    /* below the limit: untouched */
    float h[2] = {0.3f, 0.4f};
    ck_assert_float_eq_tol(nn_grad_clip(h, 2, 0.5f + 1e-6f), 0.5f, 1e-6f);
    ck_assert_float_eq(h[0], 0.3f);
    ck_assert_float_eq(h[1], 0.4f);

    /* max_norm 0 disables clipping */
    float k[2] = {30.0f, 40.0f};
    ck_assert_float_eq_tol(nn_grad_clip(k, 2, 0.0f), 50.0f, 1e-4f);
    ck_assert_float_eq(k[0], 30.0f);

    /* a non-finite norm is reported and the block zeroed, so Adam's moments stay finite */
    float bad[2] = {NAN, 1.0f};
    ck_assert(isnan(nn_grad_clip(bad, 2, 0.5f)));
    ck_assert_float_eq(bad[0], 0.0f);
    ck_assert_float_eq(bad[1], 0.0f);
    float inf[3] = {INFINITY, 1.0f, -2.0f};
    ck_assert(isinf(nn_grad_clip(inf, 3, 0.0f)));
    ck_assert_float_eq(inf[0], 0.0f);
    ck_assert_float_eq(inf[2], 0.0f);
    NnAdam a;
    ck_assert_int_eq(nn_adam_init(&a, 3, 0.9f, 0.999f, 1e-5f), 0);
    float p[3] = {1.0f, 2.0f, 3.0f};
    nn_adam_step(&a, p, inf, 1e-3f);
    for (int i = 0; i < 3; i++) {
        ck_assert(isfinite(p[i]) && isfinite(a.m[i]) && isfinite(a.v[i]));
    }
    nn_adam_free(&a);
}
END_TEST

static Suite *nn_optim_suite(void) {
    Suite *s = suite_create("nn_optim");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_adam_init_errors);
    tcase_add_test(tc, test_adam_first_step_by_hand);
    tcase_add_test(tc, test_adam_matches_reference_over_steps);
    tcase_add_test(tc, test_adam_block_and_tail_agree);
    tcase_add_test(tc, test_adam_converges_on_quadratic);
    tcase_add_test(tc, test_grad_norm);
    tcase_add_test(tc, test_grad_clip);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) {
    SRunner *sr = srunner_create(nn_optim_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
