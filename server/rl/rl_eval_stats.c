/* Means, stds and 95% intervals over evaluation episodes (see rl_eval_stats.h). */
#include "rl_eval_stats.h"

#include <math.h>

double rl_t95(int df) {
    /* exact to 6 decimals (numerical integration of the t density) */
    static const double table[] = {12.706205, 4.302653, 3.182446, 2.776445, 2.570582, 2.446912,
                                   2.364624,  2.306004, 2.262157, 2.228139, 2.200985, 2.178813,
                                   2.160369,  2.144787, 2.131450, 2.119905, 2.109816, 2.100922,
                                   2.093024,  2.085963, 2.079614, 2.073873, 2.068658, 2.063899,
                                   2.059539,  2.055529, 2.051831, 2.048407, 2.045230, 2.042272};
    if (df < 1) {
        return NAN;
    }
    if (df <= 30) {
        return table[df - 1];
    }
    /* Cornish-Fisher expansion of t around the normal quantile (Abramowitz and Stegun 26.7.5):
     * its first four terms agree with the integrated quantile to 6 decimals from df = 20 on, so
     * 100 episodes get 1.984217, not the old coarse 1.980 */
    const double z = RL_Z95, z2 = z * z, n = df;
    const double g1 = (z2 + 1.0) * z / 4.0;
    const double g2 = ((5.0 * z2 + 16.0) * z2 + 3.0) * z / 96.0;
    const double g3 = (((3.0 * z2 + 19.0) * z2 + 17.0) * z2 - 15.0) * z / 384.0;
    const double g4 =
        ((((79.0 * z2 + 776.0) * z2 + 1482.0) * z2 - 1920.0) * z2 - 945.0) * z / 92160.0;
    return z + g1 / n + g2 / (n * n) + g3 / (n * n * n) + g4 / (n * n * n * n);
}

void rl_wilson95(int successes, int n, double *low, double *high) {
    const double z2 = RL_Z95 * RL_Z95;
    double p = (double)successes / n;
    double denom = 1.0 + z2 / n;
    double centre = (p + z2 / (2.0 * n)) / denom;
    double half = RL_Z95 / denom * sqrt(p * (1.0 - p) / n + z2 / (4.0 * n * (double)n));
    /* at 0 or n successes one end is exactly 0 or 1, not a rounding away from it */
    *low = successes == 0 ? 0.0 : centre - half;
    *high = successes == n ? 1.0 : centre + half;
}

void rl_eval_summarize_t(const double *values, int n, RlEvalSummary *out) {
    double mean = 0.0, var = 0.0;
    for (int k = 0; k < n; k++) {
        mean += values[k];
    }
    mean /= n;
    for (int k = 0; k < n; k++) {
        var += (values[k] - mean) * (values[k] - mean);
    }
    var = n > 1 ? var / (n - 1) : 0.0;
    out->mean = mean;
    out->std = sqrt(var);
    double half = n > 1 ? rl_t95(n - 1) * out->std / sqrt((double)n) : NAN;
    out->low = mean - half;
    out->high = mean + half;
    out->wilson = 0;
}

void rl_eval_summarize(const double *values, int n, RlEvalSummary *out) {
    rl_eval_summarize_t(values, n, out);
    int successes = 0;
    for (int k = 0; k < n; k++) {
        if (values[k] != 0.0 && values[k] != 1.0) {
            return;
        }
        successes += values[k] == 1.0;
    }
    out->wilson = 1;
    if (n > 1) {
        rl_wilson95(successes, n, &out->low, &out->high);
    }
}
