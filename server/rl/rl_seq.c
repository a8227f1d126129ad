/* Recurrent chunks, reset masks and minibatches (see rl_seq.h). */
#include "rl_seq.h"

#include <math.h>
#include <string.h>

void rl_seq_reset_mask(uint8_t *reset, const uint8_t *dones, const uint8_t *first_reset,
                       int num_envs, int T) {
    for (int e = 0; e < num_envs; e++) {
        const uint8_t *d = dones + (size_t)e * T;
        uint8_t *r = reset + (size_t)e * T;
        r[0] = first_reset ? (first_reset[e] ? 1 : 0) : 0;
        for (int t = 1; t < T; t++) {
            r[t] = d[t - 1] ? 1 : 0;
        }
    }
}

void rl_minibatch_range(int total, int count, int k, int *start, int *size) {
    int base = total / count;
    int extra = total % count;
    /* the first `extra` minibatches take one more unit */
    *start = k * base + (k < extra ? k : extra);
    *size = base + (k < extra ? 1 : 0);
}

int rl_minibatch_count(int total_units, double units_per_batch) {
    if (units_per_batch <= 0.0) {
        return 1;
    }
    int count = (int)lround(total_units / units_per_batch);
    if (count < 1) {
        count = 1;
    }
    if (count > total_units) {
        count = total_units;
    }
    return count;
}

void rl_seq_gather_f(float *dst, const float *src, const int *idx, int n, int L,
                     size_t row_floats) {
    size_t block = (size_t)L * row_floats;
    /* feed-forward minibatches gather single floats and short rows: a call to memcpy per
     * row would cost more than the copy */
    if (block == 1) {
        for (int i = 0; i < n; i++) {
            dst[i] = src[idx[i]];
        }
    } else if (block <= 16) {
        for (int i = 0; i < n; i++) {
            const float *s = src + (size_t)idx[i] * block;
            float *d = dst + (size_t)i * block;
            for (size_t k = 0; k < block; k++) {
                d[k] = s[k];
            }
        }
    } else {
        for (int i = 0; i < n; i++) {
            memcpy(dst + (size_t)i * block, src + (size_t)idx[i] * block, block * sizeof *dst);
        }
    }
}

void rl_seq_gather_u8(uint8_t *dst, const uint8_t *src, const int *idx, int n, int L) {
    for (int i = 0; i < n; i++) {
        memcpy(dst + (size_t)i * L, src + (size_t)idx[i] * L, (size_t)L);
    }
}
