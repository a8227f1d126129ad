/* Seedable random streams (xoshiro256**, seeded through splitmix64). Each environment, rank and
 * purpose gets its own stream from (seed, stream id), so results never depend on call order
 * across streams. The state is plain data: copy it to checkpoint it. */
#ifndef AG_RNG_H
#define AG_RNG_H

#include <stdint.h>

typedef struct AgRng {
    uint64_t s[4];
    double spare_normal; /* second Box-Muller variate */
    int has_spare;
    int pad_;
} AgRng;

void ag_rng_seed(AgRng *rng, uint64_t seed, uint64_t stream);
uint64_t ag_rng_u64(AgRng *rng);
/* uniform in [0, 1) with 53 random bits */
double ag_rng_uniform(AgRng *rng);
/* uniform in [lo, hi) */
double ag_rng_uniform_range(AgRng *rng, double lo, double hi);
/* uniform integer in [0, n), n > 0, unbiased */
uint64_t ag_rng_below(AgRng *rng, uint64_t n);
/* standard normal */
double ag_rng_normal(AgRng *rng);
/* Gamma(shape, 1), shape > 0 (Marsaglia-Tsang) */
double ag_rng_gamma(AgRng *rng, double shape);
/* Beta(a, b), a, b > 0 */
double ag_rng_beta(AgRng *rng, double a, double b);
/* index drawn with the given unnormalised non-negative weights */
int ag_rng_categorical(AgRng *rng, const float *probs, int n);
/* Fisher-Yates shuffle of an index array */
void ag_rng_shuffle(AgRng *rng, int *items, int n);

#endif
