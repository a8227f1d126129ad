/* Policy distributions over actions: diagonal Gaussian, Beta, Categorical and
 * Multi-categorical, batched over n samples. Sampling, the deterministic action, log-probability,
 * entropy, their analytic gradients with respect to the raw head outputs, and the mapping of raw
 * actions onto environment actions. Nothing here allocates; the per-sample arithmetic runs in
 * double and is stored as float.
 *
 * DESIGN
 * - Gaussian: params [mean(A), log_std(A)]; raw actions are the unbounded samples, so the
 *   log-probability is that of the sample and clipping happens only in nn_dist_to_env.
 * - Beta: params [pre_alpha(A), pre_beta(A)], alpha = softplus(pre_alpha) + 1 (the same for
 *   beta), so both exceed 1 and the density is unimodal and bounded. Raw actions are x in (0, 1),
 *   kept inside [NN_DIST_BETA_EPS, 1 - NN_DIST_BETA_EPS] so log x and log(1 - x) stay finite.
 *   The deterministic action is the mode (alpha - 1) / (alpha + beta - 2), computed as
 *   softplus(a) / (softplus(a) + softplus(b)): it is defined for every parameter value (both
 *   terms are positive), it is the single most likely action, and for a peaked policy it lies
 *   next to the mean alpha / (alpha + beta) that AngoraPy evaluates with. Log-probability
 *   and entropy are those of x on (0, 1); the affine map onto [low, high] only adds a
 *   constant, which cancels in probability ratios and has no gradient.
 * - Categorical: logits; raw action is the index stored as a float. A stable log-softmax
 *   (subtract the max) gives log-probabilities; the mode is the argmax.
 * - Multi-categorical: one categorical per dimension over consecutive logit groups; log-prob
 *   and entropy are sums over dimensions. For a box space, bin k of a dimension maps onto
 *   low + k (high - low) / (bins - 1), so the first and last bins hit the bounds exactly.
 */
#include "nn_dist.h"

#include "ag_error.h"

#include <math.h>
#include <string.h>

#define NN_DIST_BETA_EPS 1e-6
#define NN_DIST_LOG_2PI  1.8378770664093454836

/* ---- special functions ---- */

/* psi(x) and psi'(x) for x > 0 together, since the backward pass needs both at the same
 * points: shift x up to 6 or more with psi(x) = psi(x + 1) - 1/x and
 * psi'(x) = psi'(x + 1) + 1/x^2, then the asymptotic (Bernoulli) series, whose first omitted
 * terms at x = 6 are below 1e-12. Either output may be NULL. */
static void polygamma01(double x, double *psi, double *psi1) {
    double acc0 = 0.0, acc1 = 0.0;
    while (x < 6.0) {
        double inv = 1.0 / x;
        acc0 -= inv;
        acc1 += inv * inv;
        x += 1.0;
    }
    double inv = 1.0 / x, r = inv * inv;
    if (psi) {
        /* log x - 1/(2x) - sum B_2k / (2k x^2k) */
        double series =
            r * (1.0 / 12 -
                 r * (1.0 / 120 -
                      r * (1.0 / 252 -
                           r * (1.0 / 240 - r * (1.0 / 132 - r * (691.0 / 32760 - r / 12))))));
        *psi = acc0 + log(x) - 0.5 * inv - series;
    }
    if (psi1) {
        /* 1/x + 1/(2x^2) + sum B_2k / x^(2k+1) */
        double series =
            inv *
            (1.0 +
             r * (1.0 / 6 -
                  r * (1.0 / 30 -
                       r * (1.0 / 42 -
                            r * (1.0 / 30 - r * (5.0 / 66 - r * (691.0 / 2730 - r * 7.0 / 6)))))));
        *psi1 = acc1 + series + 0.5 * r;
    }
}

/* psi(x) (order 0) or psi'(x) (order 1) for every real x: NaN at the poles, the non-positive
 * integers, and reflection for the other x <= 0 */
static double polygamma(int order, double x) {
    if (isnan(x)) {
        return x;
    }
    if (x <= 0.0) {
        if (x == floor(x)) {
            return NAN;
        }
        if (order == 0) {
            /* reflection: psi(1 - x) - psi(x) = pi / tan(pi x) */
            return polygamma(0, 1.0 - x) - M_PI / tan(M_PI * x);
        }
        /* reflection: psi1(1 - x) + psi1(x) = pi^2 / sin^2(pi x) */
        double s = sin(M_PI * x);
        return -polygamma(1, 1.0 - x) + M_PI * M_PI / (s * s);
    }
    double v;
    polygamma01(x, order == 0 ? &v : NULL, order == 0 ? NULL : &v);
    return v;
}

double nn_dist_digamma(double x) {
    return polygamma(0, x);
}

double nn_dist_trigamma(double x) {
    return polygamma(1, x);
}

/* softplus without overflow, log(1 + e^a), accurate relative to its (possibly tiny) value */
static double softplus(double a) {
    return fmax(a, 0.0) + log1p(exp(-fabs(a)));
}

/* 1 + softplus(a), the Beta's alpha or beta: only absolute accuracy matters once 1 is added,
 * so log(1 + e) (to 1e-16) stands in for log1p, which costs several times as much */
static double beta_shape(double a) {
    return 1.0 + (a > 0.0 ? a : 0.0) + log(1.0 + exp(-fabs(a)));
}

/* beta_shape(a) and its derivative sigmoid(a) from one exponential */
static double beta_shape_grad(double a, double *sig) {
    double e = exp(-fabs(a));
    *sig = a >= 0.0 ? 1.0 / (1.0 + e) : e / (1.0 + e);
    return 1.0 + (a > 0.0 ? a : 0.0) + log(1.0 + e);
}

static double beta_clamp(double x) {
    if (!(x >= NN_DIST_BETA_EPS)) { /* also catches NaN */
        return NN_DIST_BETA_EPS;
    }
    if (x > 1.0 - NN_DIST_BETA_EPS) {
        return 1.0 - NN_DIST_BETA_EPS;
    }
    return x;
}

/* raw index (a float) -> valid bin index */
static int index_clamp(float raw, int bins) {
    if (!(raw >= 0.0f)) {
        return 0;
    }
    if (raw >= (float)(bins - 1)) {
        return bins - 1;
    }
    return (int)(raw + 0.5f);
}

/* ---- categorical over one logit group (the building block of both discrete kinds) ---- */

static double cat_max(const float *logits, int bins) {
    double m = logits[0];
    for (int k = 1; k < bins; k++) {
        if (logits[k] > m) {
            m = logits[k];
        }
    }
    return m;
}

/* log-sum-exp with the max subtracted */
static double cat_logsumexp(const float *logits, int bins) {
    double m = cat_max(logits, bins);
    double s = 0.0;
    for (int k = 0; k < bins; k++) {
        s += exp(logits[k] - m);
    }
    return m + log(s);
}

/* log-sum-exp and entropy in one pass: with e_k = exp(l_k - m) and s = sum e_k,
 * H = log s - sum e_k (l_k - m) / s */
static double cat_entropy_lse(const float *logits, int bins, double *lse) {
    double m = cat_max(logits, bins);
    double s = 0.0, t = 0.0;
    for (int k = 0; k < bins; k++) {
        double d = logits[k] - m;
        double e = exp(d);
        s += e;
        t += e * d;
    }
    double log_s = log(s);
    if (lse) {
        *lse = m + log_s;
    }
    return log_s - t / s;
}

static int cat_sample(const float *logits, int bins, AgRng *rng) {
    double m = cat_max(logits, bins);
    double s = 0.0;
    for (int k = 0; k < bins; k++) {
        s += exp(logits[k] - m);
    }
    double u = ag_rng_uniform(rng) * s;
    double acc = 0.0;
    int last = 0;
    for (int k = 0; k < bins; k++) {
        double e = exp(logits[k] - m);
        acc += e;
        if (u < acc) {
            return k;
        }
        if (e > 0.0) {
            last = k;
        }
    }
    /* rounding left u above the running sum: the last bin with mass */
    return last;
}

static int cat_argmax(const float *logits, int bins) {
    int best = 0;
    for (int k = 1; k < bins; k++) {
        if (logits[k] > logits[best]) {
            best = k;
        }
    }
    return best;
}

/* d_logits += g_logp * (onehot(idx) - p) + g_ent * (-p (log p + H)) */
static void cat_backward(const float *logits, int bins, int idx, double g_logp, double g_ent,
                         float *d_logits) {
    double lse;
    double h = cat_entropy_lse(logits, bins, &lse);
    for (int k = 0; k < bins; k++) {
        double lp = logits[k] - lse;
        double p = exp(lp);
        double g = g_logp * ((k == idx ? 1.0 : 0.0) - p) - g_ent * p * (lp + h);
        d_logits[k] += (float)g;
    }
}

/* logit groups of a discrete distribution: categorical has one group of bins[0] */
static int group_count(const NnDist *dist) {
    return dist->kind == NN_DIST_CATEGORICAL ? 1 : dist->action_dim;
}

/* ---- set-up ---- */

int nn_dist_init_box(NnDist *dist, NnDistKind kind, int action_dim, const float *low,
                     const float *high, int bins, char *err, size_t err_sz) {
    if (!dist) {
        return ag_errorf(err, err_sz, AG_EINVAL, "distribution: NULL");
    }
    memset(dist, 0, sizeof *dist);
    if (kind != NN_DIST_GAUSSIAN && kind != NN_DIST_BETA && kind != NN_DIST_MULTICATEGORICAL) {
        return ag_errorf(err, err_sz, AG_EINVAL,
                         "distribution: a box action space needs gaussian, beta or "
                         "multicategorical (got kind %d)",
                         (int)kind);
    }
    if (action_dim < 1 || action_dim > NN_DIST_MAX_DIM) {
        return ag_errorf(err, err_sz, AG_ERANGE,
                         "distribution: action dimension %d outside [1, %d]", action_dim,
                         NN_DIST_MAX_DIM);
    }
    if (!low || !high) {
        return ag_errorf(err, err_sz, AG_EINVAL, "distribution: box bounds missing");
    }
    if (kind == NN_DIST_MULTICATEGORICAL && (bins < 2 || bins > NN_DIST_MAX_BINS)) {
        return ag_errorf(err, err_sz, AG_ERANGE,
                         "distribution: multicategorical bins %d outside [2, %d]", bins,
                         NN_DIST_MAX_BINS);
    }
    for (int i = 0; i < action_dim; i++) {
        /* a gaussian only clips, so it accepts infinite bounds; the others scale onto them */
        int finite_needed = kind != NN_DIST_GAUSSIAN;
        if (isnan(low[i]) || isnan(high[i]) || !(low[i] < high[i]) ||
            (finite_needed && (!isfinite(low[i]) || !isfinite(high[i])))) {
            return ag_errorf(err, err_sz, AG_ERANGE,
                             "distribution: bounds of action %d are [%g, %g]; need %slow < high", i,
                             (double)low[i], (double)high[i], finite_needed ? "finite " : "");
        }
        dist->low[i] = low[i];
        dist->high[i] = high[i];
    }
    dist->kind = kind;
    dist->action_dim = action_dim;
    if (kind == NN_DIST_MULTICATEGORICAL) {
        for (int i = 0; i < action_dim; i++) {
            dist->bins[i] = bins;
        }
        dist->num_params = action_dim * bins;
    } else {
        dist->num_params = 2 * action_dim;
    }
    dist->env_is_index = 0;
    return 0;
}

int nn_dist_init_discrete(NnDist *dist, int dims, const int *choices, char *err, size_t err_sz) {
    if (!dist) {
        return ag_errorf(err, err_sz, AG_EINVAL, "distribution: NULL");
    }
    memset(dist, 0, sizeof *dist);
    if (dims < 1 || dims > NN_DIST_MAX_DIM) {
        return ag_errorf(err, err_sz, AG_ERANGE,
                         "distribution: discrete dimensions %d outside [1, %d]", dims,
                         NN_DIST_MAX_DIM);
    }
    if (!choices) {
        return ag_errorf(err, err_sz, AG_EINVAL, "distribution: choice counts missing");
    }
    int total = 0;
    for (int i = 0; i < dims; i++) {
        if (choices[i] < 1 || choices[i] > NN_DIST_MAX_BINS) {
            return ag_errorf(err, err_sz, AG_ERANGE,
                             "distribution: dimension %d has %d choices; need 1 to %d", i,
                             choices[i], NN_DIST_MAX_BINS);
        }
        dist->bins[i] = choices[i];
        total += choices[i];
    }
    dist->kind = dims == 1 ? NN_DIST_CATEGORICAL : NN_DIST_MULTICATEGORICAL;
    dist->action_dim = dims;
    dist->num_params = total;
    dist->env_is_index = 1;
    for (int i = 0; i < dims; i++) {
        dist->low[i] = 0.0f;
        dist->high[i] = (float)(choices[i] - 1);
    }
    return 0;
}

int nn_dist_head_outputs(const NnDist *dist) {
    /* the gaussian's log-std is a model parameter appended after the head */
    return dist->kind == NN_DIST_GAUSSIAN ? dist->action_dim : dist->num_params;
}

int nn_dist_logstd_dim(const NnDist *dist) {
    return dist->kind == NN_DIST_GAUSSIAN ? dist->action_dim : 0;
}

/* ---- sampling and the deterministic action ---- */

/* the Beta's mean from its pre-activations, clipped into (0,1): the deterministic action */
static double beta_mean(double a, double b) {
    double ka = softplus(a);
    double kb = softplus(b);
    /* both underflow only for pre-activations below about -745 */
    double m = ka + kb > 0.0 ? ka / (ka + kb) : 0.5;
    return beta_clamp(m);
}

/* one action per row of params into raw: drawn with rng, or without one (NULL) the
 * deterministic action */
static void dist_act(const NnDist *dist, int n, const float *params, AgRng *rng, float *raw) {
    int A = dist->action_dim;
    int P = dist->num_params;
    for (int s = 0; s < n; s++) {
        const float *p = params + (size_t)s * P;
        float *x = raw + (size_t)s * A;
        switch (dist->kind) {
        case NN_DIST_GAUSSIAN:
            if (!rng) {
                memcpy(x, p, (size_t)A * sizeof *x);
                break;
            }
            for (int i = 0; i < A; i++) {
                x[i] = (float)(p[i] + exp((double)p[A + i]) * ag_rng_normal(rng));
            }
            break;
        case NN_DIST_BETA:
            for (int i = 0; i < A; i++) {
                if (!rng) {
                    x[i] = (float)beta_mean(p[i], p[A + i]);
                    continue;
                }
                double alpha = beta_shape(p[i]);
                double beta = beta_shape(p[A + i]);
                x[i] = (float)beta_clamp(ag_rng_beta(rng, alpha, beta));
            }
            break;
        case NN_DIST_CATEGORICAL:
        case NN_DIST_MULTICATEGORICAL: {
            const float *l = p;
            for (int d = 0; d < group_count(dist); d++) {
                x[d] =
                    (float)(rng ? cat_sample(l, dist->bins[d], rng) : cat_argmax(l, dist->bins[d]));
                l += dist->bins[d];
            }
            break;
        }
        }
    }
}

void nn_dist_sample(const NnDist *dist, int n, const float *params, AgRng *rng, float *raw) {
    dist_act(dist, n, params, rng, raw);
}

void nn_dist_mode(const NnDist *dist, int n, const float *params, float *raw) {
    dist_act(dist, n, params, NULL, raw);
}

/* ---- log-probability and entropy ---- */

static double beta_log_norm(double alpha, double beta) {
    /* log B(alpha, beta) */
    return lgamma(alpha) + lgamma(beta) - lgamma(alpha + beta);
}

void nn_dist_log_prob(const NnDist *dist, int n, const float *params, const float *raw,
                      float *logp) {
    int A = dist->action_dim;
    int P = dist->num_params;
    for (int s = 0; s < n; s++) {
        const float *p = params + (size_t)s * P;
        const float *x = raw + (size_t)s * A;
        double lp = 0.0;
        switch (dist->kind) {
        case NN_DIST_GAUSSIAN:
            for (int i = 0; i < A; i++) {
                double log_std = p[A + i];
                double z = ((double)x[i] - p[i]) * exp(-log_std);
                lp += -0.5 * z * z - log_std - 0.5 * NN_DIST_LOG_2PI;
            }
            break;
        case NN_DIST_BETA:
            for (int i = 0; i < A; i++) {
                double alpha = beta_shape(p[i]);
                double beta = beta_shape(p[A + i]);
                double xi = beta_clamp(x[i]);
                lp += (alpha - 1.0) * log(xi) + (beta - 1.0) * log(1.0 - xi) -
                      beta_log_norm(alpha, beta);
            }
            break;
        case NN_DIST_CATEGORICAL:
        case NN_DIST_MULTICATEGORICAL: {
            const float *l = p;
            for (int d = 0; d < group_count(dist); d++) {
                int k = index_clamp(x[d], dist->bins[d]);
                lp += l[k] - cat_logsumexp(l, dist->bins[d]);
                l += dist->bins[d];
            }
            break;
        }
        }
        logp[s] = (float)lp;
    }
}

static double beta_entropy(double alpha, double beta) {
    double psi_a, psi_b, psi_ab;
    polygamma01(alpha, &psi_a, NULL);
    polygamma01(beta, &psi_b, NULL);
    polygamma01(alpha + beta, &psi_ab, NULL);
    return beta_log_norm(alpha, beta) - (alpha - 1.0) * psi_a - (beta - 1.0) * psi_b +
           (alpha + beta - 2.0) * psi_ab;
}

void nn_dist_entropy(const NnDist *dist, int n, const float *params, float *ent) {
    int A = dist->action_dim;
    int P = dist->num_params;
    for (int s = 0; s < n; s++) {
        const float *p = params + (size_t)s * P;
        double h = 0.0;
        switch (dist->kind) {
        case NN_DIST_GAUSSIAN:
            for (int i = 0; i < A; i++) {
                h += 0.5 + 0.5 * NN_DIST_LOG_2PI + p[A + i];
            }
            break;
        case NN_DIST_BETA:
            for (int i = 0; i < A; i++) {
                h += beta_entropy(beta_shape(p[i]), beta_shape(p[A + i]));
            }
            break;
        case NN_DIST_CATEGORICAL:
        case NN_DIST_MULTICATEGORICAL: {
            const float *l = p;
            for (int d = 0; d < group_count(dist); d++) {
                h += cat_entropy_lse(l, dist->bins[d], NULL);
                l += dist->bins[d];
            }
            break;
        }
        }
        ent[s] = (float)h;
    }
}

/* ---- gradients ---- */

void nn_dist_backward(const NnDist *dist, int n, const float *params, const float *raw,
                      const float *d_logp, const float *d_ent, float *d_params) {
    int A = dist->action_dim;
    int P = dist->num_params;
    for (int s = 0; s < n; s++) {
        const float *p = params + (size_t)s * P;
        const float *x = raw + (size_t)s * A;
        float *dp = d_params + (size_t)s * P;
        double gl = d_logp ? d_logp[s] : 0.0;
        double ge = d_ent ? d_ent[s] : 0.0;
        switch (dist->kind) {
        case NN_DIST_GAUSSIAN:
            for (int i = 0; i < A; i++) {
                double log_std = p[A + i];
                double inv_std = exp(-log_std);
                double z = ((double)x[i] - p[i]) * inv_std;
                /* d logp / d mean = z / std; d logp / d log_std = z^2 - 1; d H / d log_std = 1 */
                dp[i] += (float)(gl * z * inv_std);
                dp[A + i] += (float)(gl * (z * z - 1.0) + ge);
            }
            break;
        case NN_DIST_BETA:
            for (int i = 0; i < A; i++) {
                double sig_a, sig_b;
                double alpha = beta_shape_grad(p[i], &sig_a);
                double beta = beta_shape_grad(p[A + i], &sig_b);
                double xi = beta_clamp(x[i]);
                /* psi and psi' at alpha, beta and alpha + beta; psi' only for the entropy */
                double psi_a, psi_b, psi_ab, tri_a = 0.0, tri_b = 0.0, tri_ab = 0.0;
                int need_tri = ge != 0.0;
                polygamma01(alpha, &psi_a, need_tri ? &tri_a : NULL);
                polygamma01(beta, &psi_b, need_tri ? &tri_b : NULL);
                polygamma01(alpha + beta, &psi_ab, need_tri ? &tri_ab : NULL);
                /* d logp / d alpha = log x - psi(alpha) + psi(alpha + beta);
                 * d H / d alpha = (alpha + beta - 2) psi'(alpha + beta) - (alpha - 1) psi'(alpha)
                 */
                double d_alpha = gl * (log(xi) - psi_a + psi_ab);
                double d_beta = gl * (log(1.0 - xi) - psi_b + psi_ab);
                if (need_tri) {
                    double t_ab = (alpha + beta - 2.0) * tri_ab;
                    d_alpha += ge * (t_ab - (alpha - 1.0) * tri_a);
                    d_beta += ge * (t_ab - (beta - 1.0) * tri_b);
                }
                /* d softplus(a) / da = sigmoid(a) */
                dp[i] += (float)(d_alpha * sig_a);
                dp[A + i] += (float)(d_beta * sig_b);
            }
            break;
        case NN_DIST_CATEGORICAL:
        case NN_DIST_MULTICATEGORICAL: {
            size_t off = 0;
            for (int d = 0; d < group_count(dist); d++) {
                int bins = dist->bins[d];
                cat_backward(p + off, bins, index_clamp(x[d], bins), gl, ge, dp + off);
                off += (size_t)bins;
            }
            break;
        }
        }
    }
}

/* ---- environment actions ---- */

void nn_dist_to_env(const NnDist *dist, int n, const float *raw, float *env_action) {
    int A = dist->action_dim;
    for (int s = 0; s < n; s++) {
        const float *x = raw + (size_t)s * A;
        float *e = env_action + (size_t)s * A;
        for (int i = 0; i < A; i++) {
            float lo = dist->low[i], hi = dist->high[i];
            double v;
            switch (dist->kind) {
            case NN_DIST_GAUSSIAN:
                v = x[i];
                break;
            case NN_DIST_BETA:
                v = lo + beta_clamp(x[i]) * ((double)hi - lo);
                break;
            case NN_DIST_CATEGORICAL:
            case NN_DIST_MULTICATEGORICAL:
            default: {
                int k = index_clamp(x[i], dist->bins[i]);
                if (dist->env_is_index) {
                    v = k;
                } else {
                    v = lo + k * (((double)hi - lo) / (dist->bins[i] - 1));
                }
                break;
            }
            }
            /* NaN (a diverged policy) becomes the centre so the simulator stays sane */
            if (isnan(v)) {
                v = isfinite(lo) && isfinite(hi) ? 0.5 * ((double)lo + hi) : 0.0;
            }
            e[i] = (float)(v < lo ? lo : (v > hi ? hi : v));
        }
    }
}
