/* Adam over a flat parameter block and global gradient-norm clipping; the learning rate of each
 * step is the caller's (ag_spec_lr_at). The moments live in one block each, the same layout as
 * the params. */
#ifndef NN_OPTIM_H
#define NN_OPTIM_H

#include <stddef.h>
#include <stdint.h>

typedef struct NnAdam {
    size_t n;
    float *m;
    float *v;
    int64_t step;
    float beta1, beta2, eps;
} NnAdam;

int nn_adam_init(NnAdam *adam, size_t n, float beta1, float beta2, float eps);
void nn_adam_free(NnAdam *adam);
void nn_adam_step(NnAdam *adam, float *params, const float *grads, float lr);

/* L2 norm of the gradient block */
float nn_grad_norm(const float *grads, size_t n);
/* scales grads so that their global norm is at most max_norm (> 0); returns the norm before */
float nn_grad_clip(float *grads, size_t n, float max_norm);
/* nn_grad_clip with max_norm <= 0 only measures; a non-finite norm (NaN or infinite gradients)
 * zeroes the whole block and is returned, so the caller can count the bad step */

#endif
