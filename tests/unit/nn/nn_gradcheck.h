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

/* central differences of loss over every entry of x, compared with the analytic gradient g;
 * prints and returns the max relative error (denominator floored at GRAD_FLOOR) */
static double grad_check(const char *what, float *x, const float *g, size_t n, LossFn loss,
                         void *ctx) {
    double max_err = 0.0;
    for (size_t i = 0; i < n; i++) {
        float keep = x[i];
        /* divide by the step the float input really took */
        float xp = (float)(keep + GRAD_EPS), xm = (float)(keep - GRAD_EPS);
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
    printf("grad check %-28s max rel err %.3e over %zu entries\n", what, max_err, n);
    ck_assert_msg(max_err < GRAD_TOL, "%s: max rel err %g >= %g", what, max_err, GRAD_TOL);
    return max_err;
}

#endif
