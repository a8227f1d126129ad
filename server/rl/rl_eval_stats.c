/* Means, stds and 95% intervals over evaluation episodes (see rl_eval_stats.h). */
#include "rl_eval_stats.h"

#include <math.h>

double rl_t95(int df) {
    static const double table[] = {12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306,
                                   2.262,  2.228, 2.201, 2.179, 2.160, 2.145, 2.131, 2.120,
                                   2.110,  2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064,
                                   2.060,  2.056, 2.052, 2.048, 2.045, 2.042};
    if (df < 1) {
        return NAN;
    }
    if (df <= 30) {
        return table[df - 1];
    }
    return df <= 60 ? 2.000 : (df <= 120 ? 1.980 : 1.960);
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
