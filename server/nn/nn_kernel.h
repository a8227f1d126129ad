/* Internal to the layer kernels (nn_layers.c, nn_rnn.c, nn_conv.c): the attributes that make
 * their elementwise loops vectorise, and the small loops more than one of them needs. */
#ifndef NN_KERNEL_H
#define NN_KERNEL_H

#include <stddef.h>

/* O3 vectorises the elementwise loops in -O2 builds too; without trapping math the clamps
 * if-convert */
#if defined(__GNUC__) && !defined(__clang__)
#define NN_HOT __attribute__((optimize("O3", "no-trapping-math")))
#else
#define NN_HOT
#endif
#define NN_INLINE __attribute__((always_inline)) NN_HOT static inline
/* tanh, sigmoid and the recurrent cells dominate small minibatches: they get an AVX2+FMA clone
 * picked at load time */
#if defined(__x86_64__) && defined(__linux__) && defined(__GNUC__) && !defined(__clang__) &&       \
    !defined(__SANITIZE_ADDRESS__)
#define NN_VEC __attribute__((target_clones("arch=x86-64-v3", "default")))
#else
#define NN_VEC
#endif

/* dst (n) += column sums of src (rows,n); rows outer so the inner loop vectorises */
NN_HOT static inline void nn_colsum_accumulate(float *dst, const float *src, size_t rows, int n) {
    for (size_t r = 0; r < rows; r++) {
        const float *row = src + r * (size_t)n;
        for (int j = 0; j < n; j++) {
            dst[j] += row[j];
        }
    }
}

#endif
