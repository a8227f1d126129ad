/* Adam over a flat parameter block and global gradient-norm clipping (the learning rate of each
 * step comes from the spec: ag_spec_lr_at).
 *
 * DESIGN: the update is Kingma and Ba's Algorithm 1 with bias-corrected moments,
 *   m = b1 m + (1 - b1) g,  v = b2 v + (1 - b2) g^2,
 *   p -= lr * (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps),
 * so eps acts on the corrected second moment (as in PyTorch). The two moment blocks are
 * allocated once at init; a step touches no memory beyond them, the params and the grads.
 */
#include "nn_optim.h"

#include "ag_error.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

int nn_adam_init(NnAdam *adam, size_t n, float beta1, float beta2, float eps) {
    if (!adam) {
        return AG_EINVAL;
    }
    adam->n = 0;
    adam->m = NULL;
    adam->v = NULL;
    adam->step = 0;
    /* the negated comparisons also refuse NaN */
    if (n == 0 || !(beta1 >= 0.0f && beta1 < 1.0f) || !(beta2 >= 0.0f && beta2 < 1.0f) ||
        !(eps > 0.0f) || !isfinite(eps)) {
        return AG_EINVAL;
    }
    adam->m = calloc(n, sizeof *adam->m);
    adam->v = calloc(n, sizeof *adam->v);
    if (!adam->m || !adam->v) {
        nn_adam_free(adam);
        return AG_ENOMEM;
    }
    adam->n = n;
    adam->beta1 = beta1;
    adam->beta2 = beta2;
    adam->eps = eps;
    return 0;
}

void nn_adam_free(NnAdam *adam) {
    if (!adam) {
        return;
    }
    free(adam->m);
    free(adam->v);
    adam->m = NULL;
    adam->v = NULL;
    adam->n = 0;
    adam->step = 0;
}

void nn_adam_step(NnAdam *adam, float *params, const float *grads, float lr) {
    adam->step++;
    /* corrections in double: b2^t stays accurate for long runs */
    double c1 = 1.0 - pow(adam->beta1, (double)adam->step);
    double c2 = 1.0 - pow(adam->beta2, (double)adam->step);
    float step_size = (float)(lr / c1);
    float inv_sqrt_c2 = (float)(1.0 / sqrt(c2));
    float b1 = adam->beta1, b2 = adam->beta2, eps = adam->eps;
    float *m = adam->m, *v = adam->v;
    size_t n = adam->n, i = 0;
#if defined(__SSE2__)
    /* four at a time: the compiler keeps sqrtf scalar because of errno; the operations and their
     * order are those of the scalar loop below, so both give the same bits */
    const __m128 vb1 = _mm_set1_ps(b1), vb1c = _mm_set1_ps(1.0f - b1);
    const __m128 vb2 = _mm_set1_ps(b2), vb2c = _mm_set1_ps(1.0f - b2);
    const __m128 vstep = _mm_set1_ps(step_size), vinv = _mm_set1_ps(inv_sqrt_c2);
    const __m128 veps = _mm_set1_ps(eps);
    for (; i + 4 <= n; i += 4) {
        __m128 g = _mm_loadu_ps(grads + i);
        __m128 mi = _mm_add_ps(_mm_mul_ps(vb1, _mm_loadu_ps(m + i)), _mm_mul_ps(vb1c, g));
        __m128 vi =
            _mm_add_ps(_mm_mul_ps(vb2, _mm_loadu_ps(v + i)), _mm_mul_ps(_mm_mul_ps(vb2c, g), g));
        _mm_storeu_ps(m + i, mi);
        _mm_storeu_ps(v + i, vi);
        __m128 den = _mm_add_ps(_mm_mul_ps(_mm_sqrt_ps(vi), vinv), veps);
        __m128 p = _mm_sub_ps(_mm_loadu_ps(params + i), _mm_div_ps(_mm_mul_ps(vstep, mi), den));
        _mm_storeu_ps(params + i, p);
    }
#endif
    for (; i < n; i++) {
        float g = grads[i];
        m[i] = b1 * m[i] + (1.0f - b1) * g;
        v[i] = b2 * v[i] + (1.0f - b2) * g * g;
        params[i] -= step_size * m[i] / (sqrtf(v[i]) * inv_sqrt_c2 + eps);
    }
}

float nn_grad_norm(const float *grads, size_t n) {
    /* four partial sums keep the adds independent */
    double s0 = 0.0, s1 = 0.0, s2 = 0.0, s3 = 0.0;
    size_t i = 0;
    for (; i + 4 <= n; i += 4) {
        s0 += (double)grads[i] * grads[i];
        s1 += (double)grads[i + 1] * grads[i + 1];
        s2 += (double)grads[i + 2] * grads[i + 2];
        s3 += (double)grads[i + 3] * grads[i + 3];
    }
    for (; i < n; i++) {
        s0 += (double)grads[i] * grads[i];
    }
    return (float)sqrt((s0 + s1) + (s2 + s3));
}

float nn_grad_clip(float *grads, size_t n, float max_norm) {
    float norm = nn_grad_norm(grads, n);
    if (!isfinite(norm)) {
        /* a NaN or infinite gradient would poison Adam's moments for good: the block is zeroed
         * and the norm returned, so the caller can count the bad step and go on */
        memset(grads, 0, n * sizeof *grads);
        return norm;
    }
    /* max_norm <= 0 disables the scaling */
    if (!(max_norm > 0.0f) || norm <= max_norm) {
        return norm;
    }
    float scale = (float)((double)max_norm / norm);
    for (size_t i = 0; i < n; i++) {
        grads[i] *= scale;
    }
    return norm;
}
