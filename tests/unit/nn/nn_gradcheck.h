/* Shared by the layer test suites: random fills and the finite-difference gradient check.
 * Each suite is one translation unit, so the helpers are static and `rng` is per suite. */
#ifndef NN_GRADCHECK_H
#define NN_GRADCHECK_H

#include "ag_rng.h"

#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#define GRAD_EPS   1e-3
#define GRAD_TOL   1e-2
#define GRAD_FLOOR 1e-1 /* denominator floor: gradients below it are compared absolutely */

static AgRng rng;

static void fill_normal(float *x, size_t n, double scale) {
    for (size_t i = 0; i < n; i++) {
        x[i] = (float)(scale * ag_rng_normal(&rng));
    }
}

static float *alloc_floats(size_t n) {
    float *p = calloc(n ? n : 1, sizeof(float));
    ck_assert_ptr_nonnull(p);
    return p;
}

static double dot(const float *a, const float *b, size_t n) {
    double s = 0.0;
    for (size_t i = 0; i < n; i++) {
        s += (double)a[i] * (double)b[i];
    }
    return s;
}

/* the scalar loss of a test case as a function of its current inputs and parameters */
typedef double (*LossFn)(void *ctx);

/* central differences of loss with steps of +-eps over every step-th entry of x (all of them
 * for step 1; large images take a sample), compared with the analytic gradient g; prints and
 * returns the max relative error (denominator floored at GRAD_FLOOR) */
static double grad_check_every(const char *what, float *x, const float *g, size_t n, size_t step,
                               double eps, LossFn loss, void *ctx) {
    double max_err = 0.0;
    size_t checked = 0;
    for (size_t i = 0; i < n; i += step, checked++) {
        float keep = x[i];
        /* divide by the step the float input really took */
        float xp = (float)(keep + eps), xm = (float)(keep - eps);
        x[i] = xp;
        double lp = loss(ctx);
        x[i] = xm;
        double lm = loss(ctx);
        x[i] = keep;
        double num = (lp - lm) / ((double)xp - (double)xm);
        double den = fmax(fmax(fabs(num), fabs((double)g[i])), GRAD_FLOOR);
        double err = fabs(num - (double)g[i]) / den;
        if (err > max_err) {
            max_err = err;
        }
    }
    printf("grad check %-28s max rel err %.3e over %zu of %zu entries\n", what, max_err, checked,
           n);
    ck_assert_msg(max_err < GRAD_TOL, "%s: max rel err %g >= %g", what, max_err, GRAD_TOL);
    return max_err;
}

/* the check over every entry of x */
static double grad_check(const char *what, float *x, const float *g, size_t n, LossFn loss,
                         void *ctx) {
    return grad_check_every(what, x, g, n, 1, GRAD_EPS, loss, ctx);
}

#endif
