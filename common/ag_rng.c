/* xoshiro256** generator with splitmix64 seeding, and the samplers the distributions need. */
#include "ag_rng.h"

#include <math.h>
#include <string.h>

static uint64_t splitmix64(uint64_t *x) {
    uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static inline uint64_t rotl(uint64_t x, int k) {
    return (x << k) | (x >> (64 - k));
}

void ag_rng_seed(AgRng *rng, uint64_t seed, uint64_t stream) {
    memset(rng, 0, sizeof *rng);
    /* mix the stream id through its own splitmix so nearby streams are unrelated */
    uint64_t mix = stream;
    uint64_t x = seed ^ splitmix64(&mix);
    for (int i = 0; i < 4; i++) {
        rng->s[i] = splitmix64(&x);
    }
    if (!(rng->s[0] | rng->s[1] | rng->s[2] | rng->s[3])) {
        rng->s[0] = 1;
    }
}

uint64_t ag_rng_u64(AgRng *rng) {
    uint64_t *s = rng->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

double ag_rng_uniform(AgRng *rng) {
    return (double)(ag_rng_u64(rng) >> 11) * 0x1.0p-53;
}

double ag_rng_uniform_range(AgRng *rng, double lo, double hi) {
    return lo + (hi - lo) * ag_rng_uniform(rng);
}

uint64_t ag_rng_below(AgRng *rng, uint64_t n) {
    /* rejection keeps every value equally likely */
    uint64_t limit = UINT64_MAX - UINT64_MAX % n;
    uint64_t x;
    do {
        x = ag_rng_u64(rng);
    } while (x >= limit);
    return x % n;
}

double ag_rng_normal(AgRng *rng) {
    if (rng->has_spare) {
        rng->has_spare = 0;
        return rng->spare_normal;
    }
    double u1;
    do {
        u1 = ag_rng_uniform(rng);
    } while (u1 <= 0.0);
    double u2 = ag_rng_uniform(rng);
    double r = sqrt(-2.0 * log(u1));
    double theta = 2.0 * M_PI * u2;
    rng->spare_normal = r * sin(theta);
    rng->has_spare = 1;
    return r * cos(theta);
}

double ag_rng_gamma(AgRng *rng, double shape) {
    if (shape < 1.0) {
        /* boost: Gamma(a) = Gamma(a + 1) * U^(1/a) */
        double u;
        do {
            u = ag_rng_uniform(rng);
        } while (u <= 0.0);
        return ag_rng_gamma(rng, shape + 1.0) * pow(u, 1.0 / shape);
    }
    double d = shape - 1.0 / 3.0;
    double c = 1.0 / sqrt(9.0 * d);
    for (;;) {
        double x, v;
        do {
            x = ag_rng_normal(rng);
            v = 1.0 + c * x;
        } while (v <= 0.0);
        v = v * v * v;
        double u = ag_rng_uniform(rng);
        if (u < 1.0 - 0.0331 * x * x * x * x) {
            return d * v;
        }
        if (u > 0.0 && log(u) < 0.5 * x * x + d * (1.0 - v + log(v))) {
            return d * v;
        }
    }
}

double ag_rng_beta(AgRng *rng, double a, double b) {
    double x = ag_rng_gamma(rng, a);
    double y = ag_rng_gamma(rng, b);
    double sum = x + y;
    if (sum <= 0.0) {
        return 0.5;
    }
    return x / sum;
}

int ag_rng_categorical(AgRng *rng, const float *probs, int n) {
    double total = 0.0;
    for (int i = 0; i < n; i++) {
        total += probs[i];
    }
    double u = ag_rng_uniform(rng) * total;
    double acc = 0.0;
    for (int i = 0; i < n; i++) {
        acc += probs[i];
        if (u < acc) {
            return i;
        }
    }
    /* rounding: the last index with non-zero weight */
    for (int i = n - 1; i >= 0; i--) {
        if (probs[i] > 0) {
            return i;
        }
    }
    return n - 1;
}

void ag_rng_shuffle(AgRng *rng, int *items, int n) {
    for (int i = n - 1; i > 0; i--) {
        int j = (int)ag_rng_below(rng, (uint64_t)i + 1);
        int t = items[i];
        items[i] = items[j];
        items[j] = t;
    }
}
