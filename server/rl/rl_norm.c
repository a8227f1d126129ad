/* Running mean/variance with Chan et al.'s parallel merge, and reward scaling (see rl_norm.h). */
#include "rl_norm.h"

#include "ag_error.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

int rl_stat_init(RlRunningStat *s, int dim) {
    memset(s, 0, sizeof *s);
    if (dim <= 0) {
        return AG_EINVAL;
    }
    double *block = calloc((size_t)dim * 4, sizeof *block);
    RlStatRun *runs = malloc(sizeof *runs);
    if (!block || !runs) {
        free(block);
        free(runs);
        return AG_ENOMEM;
    }
    runs[0] = (RlStatRun){.first = 0, .end = dim, .pass = 0};
    s->num_runs = 1;
    s->runs = runs;
    s->dim = dim;
    s->mean = block;
    s->m2 = block + dim;
    s->bmean = block + 2 * (size_t)dim;
    s->bm2 = block + 3 * (size_t)dim;
    return 0;
}

void rl_stat_free(RlRunningStat *s) {
    free(s->mean);
    free(s->runs);
    memset(s, 0, sizeof *s);
}

int rl_stat_is_pass_through(const RlRunningStat *s, int i) {
    for (int k = 0; k < s->num_runs; k++) {
        if (i >= s->runs[k].first && i < s->runs[k].end) {
            return s->runs[k].pass;
        }
    }
    return 0;
}

int rl_stat_pass_through(RlRunningStat *s, int first, int count) {
    if (first < 0 || count < 0 || count > s->dim - first) {
        return AG_EINVAL;
    }
    /* a flag per feature, then the runs of equal flags again */
    unsigned char *pass = malloc((size_t)s->dim);
    if (!pass) {
        return AG_ENOMEM;
    }
    for (int k = 0; k < s->num_runs; k++) {
        memset(pass + s->runs[k].first, s->runs[k].pass,
               (size_t)(s->runs[k].end - s->runs[k].first));
    }
    memset(pass + first, 1, (size_t)count);
    int n = 1;
    for (int i = 1; i < s->dim; i++) {
        n += pass[i] != pass[i - 1];
    }
    RlStatRun *runs = malloc((size_t)n * sizeof *runs);
    if (!runs) {
        free(pass);
        return AG_ENOMEM;
    }
    int k = 0;
    runs[0] = (RlStatRun){.first = 0, .end = 1, .pass = pass[0]};
    for (int i = 1; i < s->dim; i++) {
        if (pass[i] != pass[i - 1]) {
            runs[++k] = (RlStatRun){.first = i, .end = i + 1, .pass = pass[i]};
        } else {
            runs[k].end = i + 1;
        }
    }
    free(pass);
    free(s->runs);
    s->runs = runs;
    s->num_runs = n;
    return 0;
}

void rl_stat_clear(RlRunningStat *s) {
    s->count = 0.0;
    memset(s->mean, 0, (size_t)s->dim * sizeof *s->mean);
    memset(s->m2, 0, (size_t)s->dim * sizeof *s->m2);
}

void rl_stat_copy(RlRunningStat *dst, const RlRunningStat *src) {
    dst->count = src->count;
    memcpy(dst->mean, src->mean, (size_t)src->dim * sizeof *src->mean);
    memcpy(dst->m2, src->m2, (size_t)src->dim * sizeof *src->m2);
}

/* merges (nb, bmean, bm2) into s */
static void stat_merge_raw(RlRunningStat *s, double nb, const double *bmean, const double *bm2) {
    if (nb <= 0.0) {
        return;
    }
    double na = s->count;
    double n = na + nb;
    for (int k = 0; k < s->num_runs; k++) {
        if (s->runs[k].pass) {
            continue;
        }
        for (int i = s->runs[k].first; i < s->runs[k].end; i++) {
            double delta = bmean[i] - s->mean[i];
            s->mean[i] += delta * nb / n;
            s->m2[i] += bm2[i] + delta * delta * na * nb / n;
        }
    }
    s->count = n;
}

void rl_stat_update(RlRunningStat *s, const float *x, int n) {
    if (n <= 0) {
        return;
    }
    int d = s->dim;
    /* the batch's own mean and squared deviations, then one merge; pass-through runs are
     * skipped (the merge leaves them alone too) */
    for (int k = 0; k < s->num_runs; k++) {
        const RlStatRun *run = &s->runs[k];
        if (run->pass) {
            continue;
        }
        size_t len = (size_t)(run->end - run->first);
        memset(s->bmean + run->first, 0, len * sizeof *s->bmean);
        memset(s->bm2 + run->first, 0, len * sizeof *s->bm2);
        for (int r = 0; r < n; r++) {
            for (int i = run->first; i < run->end; i++) {
                s->bmean[i] += x[(size_t)r * d + i];
            }
        }
        for (int i = run->first; i < run->end; i++) {
            s->bmean[i] /= n;
        }
        for (int r = 0; r < n; r++) {
            for (int i = run->first; i < run->end; i++) {
                double dev = x[(size_t)r * d + i] - s->bmean[i];
                s->bm2[i] += dev * dev;
            }
        }
    }
    stat_merge_raw(s, (double)n, s->bmean, s->bm2);
}

void rl_stat_merge(RlRunningStat *s, const RlRunningStat *other) {
    stat_merge_raw(s, other->count, other->mean, other->m2);
}

double rl_stat_var(const RlRunningStat *s, int i) {
    return s->count > 1.0 ? s->m2[i] / s->count : 0.0;
}

size_t rl_stat_packed_len(const RlRunningStat *s) {
    return 1 + 2 * (size_t)s->dim;
}

void rl_stat_pack(const RlRunningStat *s, double *out) {
    out[0] = s->count;
    memcpy(out + 1, s->mean, (size_t)s->dim * sizeof *out);
    memcpy(out + 1 + s->dim, s->m2, (size_t)s->dim * sizeof *out);
}

void rl_stat_merge_packed(RlRunningStat *s, const double *in) {
    stat_merge_raw(s, in[0], in + 1, in + 1 + s->dim);
}

void rl_stat_unpack(RlRunningStat *s, const double *in) {
    s->count = in[0];
    memcpy(s->mean, in + 1, (size_t)s->dim * sizeof *s->mean);
    memcpy(s->m2, in + 1 + s->dim, (size_t)s->dim * sizeof *s->m2);
}

void rl_stat_normalize(const RlRunningStat *s, const float *x, float *out, int n, float clip) {
    int d = s->dim;
    for (int k = 0; k < s->num_runs; k++) {
        const RlStatRun *run = &s->runs[k];
        if (run->pass) {
            if (out != x) {
                size_t len = (size_t)(run->end - run->first) * sizeof *out;
                for (int r = 0; r < n; r++) {
                    memcpy(out + (size_t)r * d + run->first, x + (size_t)r * d + run->first, len);
                }
            }
            continue;
        }
        for (int i = run->first; i < run->end; i++) {
            double mean = s->mean[i];
            double inv = 1.0 / sqrt(rl_stat_var(s, i) + RL_NORM_EPS);
            for (int r = 0; r < n; r++) {
                size_t j = (size_t)r * d + i;
                double v = (x[j] - mean) * inv;
                v = v > clip ? clip : (v < -clip ? -clip : v);
                out[j] = (float)v;
            }
        }
    }
}

void rl_reward_scale(RlRunningStat *ret_stat, RlRunningStat *delta, double *ret_run, float *rewards,
                     const unsigned char *dones, int n, double gamma, float clip, int update) {
    if (update) {
        /* one merge of the n returns; the statistic is one feature */
        double bmean = 0.0, bm2 = 0.0;
        for (int i = 0; i < n; i++) {
            ret_run[i] = ret_run[i] * gamma + rewards[i];
            bmean += ret_run[i];
        }
        bmean /= n;
        for (int i = 0; i < n; i++) {
            bm2 += (ret_run[i] - bmean) * (ret_run[i] - bmean);
        }
        stat_merge_raw(ret_stat, (double)n, &bmean, &bm2);
        if (delta) {
            stat_merge_raw(delta, (double)n, &bmean, &bm2);
        }
    }
    double inv = 1.0 / sqrt(rl_stat_var(ret_stat, 0) + RL_NORM_EPS);
    for (int i = 0; i < n; i++) {
        double v = rewards[i] * inv;
        v = v > clip ? clip : (v < -clip ? -clip : v);
        rewards[i] = (float)v;
        if (dones[i]) {
            ret_run[i] = 0.0;
        }
    }
}
