/* Helpers shared by the analysis suites (and the end-to-end tests): synthetic data with planted
 * structure (equal-length episodes, a layer = A v + noise with known A and noise level),
 * recordings written with the library's writer (one with known values, one with planted
 * results), and temporary folders. Assertions are Check's, so use them inside tests only. */
#ifndef AN_TEST_UTIL_H
#define AN_TEST_UTIL_H

#include "an_h5.h"
#include "an_stats.h"

#include "ag_rng.h"

#include <check.h>

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* E episodes of L steps each: the table lives in the caller's arrays */
static inline AnEpisodes an_test_episodes(int64_t *start, int64_t *len, int e, int64_t l) {
    for (int i = 0; i < e; i++) {
        start[i] = (int64_t)i * l;
        len[i] = l;
    }
    AnEpisodes ep = {.n = e, .start = start, .len = len};
    return ep;
}

/* v [n, k] standard normal, independent across steps */
static inline void an_test_normal(double *v, int64_t count, AgRng *rng) {
    for (int64_t i = 0; i < count; i++) {
        v[i] = ag_rng_normal(rng);
    }
}

/* A [d, k] with orthogonal columns of the given norms: column c is norm[c] times a unit vector
 * on its own block of d / k units (disjoint supports are orthogonal) */
static inline void an_test_planted_map(double *a, int d, int k, const double *norm) {
    memset(a, 0, (size_t)d * k * sizeof *a);
    int block = d / k;
    for (int c = 0; c < k; c++) {
        for (int j = c * block; j < (c + 1) * block; j++) {
            a[j * k + c] = norm[c] / sqrt((double)block);
        }
    }
}

/* x [n, d] = v [n, k] A^T + sigma * noise */
static inline void an_test_planted_layer(float *x, const double *v, const double *a, int64_t n,
                                         int d, int k, double sigma, AgRng *rng) {
    for (int64_t i = 0; i < n; i++) {
        for (int j = 0; j < d; j++) {
            double s = 0;
            for (int c = 0; c < k; c++) {
                s += a[j * k + c] * v[i * k + c];
            }
            x[i * d + j] = (float)(s + sigma * ag_rng_normal(rng));
        }
    }
}

/* ---- a small recording with known values (an_test_write_small) ----
 * layers:    policy.core.h [N, 4] (lstm_h, policy, shape [4]) = 0.5 row + col
 *            value.trunk.0.dense [N, 3] (dense, value, shape [3]) = -row + 0.25 col
 * variables: obs.goal [N, 2] (task, "m", dim_names x y) = row % 7 + 0.1 col
 *            reward [N, 1] (task, "") = 0.01 row
 * E episodes of L steps; root attributes as in an_test_meta. */
static inline double an_test_value(int which, int64_t row, int col) {
    switch (which) {
    case 0:
        return 0.5 * (double)row + col;
    case 1:
        return -(double)row + 0.25 * col;
    case 2:
        return (double)(row % 7) + 0.1 * col;
    default:
        return 0.01 * (double)row;
    }
}

static inline AnH5Meta an_test_meta(void) {
    AnH5Meta m = {.spec = "{\"task\": \"HandReach\"}",
                  .model = "{\"preset\": \"wider_lstm\"}",
                  .task = "HandReach",
                  .checkpoint = "/runs/7/checkpoints/best.ckpt",
                  .checkpoint_sha256 = "ab12",
                  .created = "2026-01-02T03:04:05Z",
                  .deterministic = 1,
                  .seed = 18446744073709551615ull};
    return m;
}

static inline int an_test_write_small(const char *path, int e, int l, char *err, size_t err_sz) {
    int64_t n = (int64_t)e * l;
    static const char *const names[4] = {"policy.core.h", "value.trunk.0.dense", "obs.goal",
                                         "reward"};
    static const int cols[4] = {4, 3, 2, 1};
    float *data = malloc(sizeof(float) * (size_t)(n > 0 ? n : 1) * 4);
    int32_t *idx = malloc(sizeof(int32_t) * (size_t)(n > 0 ? n : 1) * 2);
    AnH5Meta meta = an_test_meta();
    AnH5Writer *w = NULL;
    int rc = an_h5_writer_create(&w, path, &meta, err, err_sz);
    for (int64_t i = 0; i < n; i++) {
        idx[i] = (int32_t)(i / l);
        idx[n + i] = (int32_t)(i % l);
    }
    rc = rc ? rc : an_h5_writer_append_index(w, idx, idx + n, n, err, err_sz);
    for (int k = 0; k < 4 && rc == 0; k++) {
        for (int64_t i = 0; i < n; i++) {
            for (int c = 0; c < cols[k]; c++) {
                data[i * cols[k] + c] = (float)an_test_value(k, i, c);
            }
        }
        if (k < 2) {
            int32_t shape[1] = {cols[k]};
            AnH5LayerInfo li = {.type = k == 0 ? "lstm_h" : "dense",
                                .net = k == 0 ? "policy" : "value",
                                .shape = shape,
                                .shape_rank = 1};
            rc = an_h5_writer_write_layer(w, names[k], data, n, cols[k], &li, err, err_sz);
        } else {
            static const char *const dims[2] = {"x", "y"};
            AnH5VariableInfo vi = {.group = "task",
                                   .units = k == 2 ? "m" : "",
                                   .dim_names = k == 2 ? dims : NULL,
                                   .n_dim_names = k == 2 ? 2 : 0};
            rc = an_h5_writer_write_variable(w, names[k], data, n, cols[k], &vi, err, err_sz);
        }
    }
    if (rc == 0) {
        rc = an_h5_writer_finish(w, err, err_sz);
    } else if (w) {
        an_h5_writer_abort(w);
    }
    free(data);
    free(idx);
    return rc;
}

/* The planted recording: E episodes of L steps.
 *   variables: target [N, 2] standard normal, independent across steps; other [N, 1] likewise;
 *              phase [N, 1] = step / L (a clock for the RSA conditions)
 *   layers:    policy.core.h [N, 16]: target through A (orthogonal columns of norms 2 and 1,
 *              each spread over 8 units) + unit noise: R^2 of target's columns 0.8 and 0.5, the
 *              variable's (equal variances) 0.65; other decodes at 0
 *              policy.core.c [N, 4]: AR(1) units, phi = 0.9 (tau = -1/ln 0.9 = 9.49 steps)
 *              value.trunk.0.dense [N, 6]: noise only */
#define AN_PLANTED_R2_TARGET 0.65
#define AN_PLANTED_PHI       0.9
static inline int an_test_write_planted(const char *path, int e, int l, uint64_t seed, char *err,
                                        size_t err_sz) {
    int64_t n = (int64_t)e * l;
    float *target = malloc(sizeof(float) * (size_t)n * 2), *other = malloc(sizeof(float) * n);
    float *phase = malloc(sizeof(float) * n), *h = malloc(sizeof(float) * (size_t)n * 16);
    float *c = malloc(sizeof(float) * (size_t)n * 4), *noise = malloc(sizeof(float) * n * 6);
    int32_t *idx = malloc(sizeof(int32_t) * (size_t)n * 2);
    ck_assert(target && other && phase && h && c && noise && idx);
    AgRng rng;
    ag_rng_seed(&rng, seed, 0);
    double ar[4] = {0};
    for (int64_t i = 0; i < n; i++) {
        int t = (int)(i % l);
        idx[i] = (int32_t)(i / l);
        idx[n + i] = t;
        target[2 * i] = (float)ag_rng_normal(&rng);
        target[2 * i + 1] = (float)ag_rng_normal(&rng);
        other[i] = (float)ag_rng_normal(&rng);
        phase[i] = (float)t / (float)l;
        /* column c of A has norm 2 (c = 0) or 1 (c = 1) over units 8c..8c+7 */
        for (int j = 0; j < 16; j++) {
            double a = (j < 8 ? 2.0 : 1.0) / sqrt(8.0);
            h[i * 16 + j] = (float)(a * target[2 * i + j / 8] + ag_rng_normal(&rng));
        }
        for (int j = 0; j < 4; j++) {
            double stationary = ag_rng_normal(&rng) / sqrt(1 - AN_PLANTED_PHI * AN_PLANTED_PHI);
            ar[j] = t == 0 ? stationary : AN_PLANTED_PHI * ar[j] + ag_rng_normal(&rng);
            c[i * 4 + j] = (float)ar[j];
        }
        for (int j = 0; j < 6; j++) {
            noise[i * 6 + j] = (float)ag_rng_normal(&rng);
        }
    }
    AnH5Meta meta = {.task = "Planted", .checkpoint = "planted.ckpt", .seed = seed};
    AnH5LayerInfo lstm_h = {.type = "lstm_h", .net = "policy"};
    AnH5LayerInfo lstm_c = {.type = "lstm_c", .net = "policy"};
    AnH5LayerInfo dense = {.type = "dense", .net = "value"};
    const char *const xy[2] = {"x", "y"};
    AnH5VariableInfo task = {.group = "task", .units = "", .dim_names = xy, .n_dim_names = 2};
    AnH5VariableInfo plain = {.group = "task", .units = ""};
    AnH5Writer *w;
    int rc = an_h5_writer_create(&w, path, &meta, err, err_sz);
    if (rc == 0) {
        rc = an_h5_writer_append_index(w, idx, idx + n, n, err, err_sz);
        rc = rc ? rc : an_h5_writer_write_variable(w, "target", target, n, 2, &task, err, err_sz);
        rc = rc ? rc : an_h5_writer_write_variable(w, "other", other, n, 1, &plain, err, err_sz);
        rc = rc ? rc : an_h5_writer_write_variable(w, "phase", phase, n, 1, &plain, err, err_sz);
        rc = rc ? rc : an_h5_writer_write_layer(w, "policy.core.h", h, n, 16, &lstm_h, err, err_sz);
        rc = rc ? rc : an_h5_writer_write_layer(w, "policy.core.c", c, n, 4, &lstm_c, err, err_sz);
        rc = rc ? rc
                : an_h5_writer_write_layer(w, "value.trunk.0.dense", noise, n, 6, &dense, err,
                                           err_sz);
        if (rc == 0) {
            rc = an_h5_writer_finish(w, err, err_sz);
        } else {
            an_h5_writer_abort(w);
        }
    }
    free(target);
    free(other);
    free(phase);
    free(h);
    free(c);
    free(noise);
    free(idx);
    return rc;
}

/* a fresh temporary folder (mkdtemp) into buf */
static inline const char *an_test_tmpdir(char *buf, size_t sz, const char *tag) {
    snprintf(buf, sz, "/tmp/angora-%s-XXXXXX", tag);
    return mkdtemp(buf);
}

/* removes a folder and what is in it (one level, as the tests write) */
static inline void an_test_rmdir(const char *dir) {
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) {
        fprintf(stderr, "could not remove %s\n", dir);
    }
}

#endif
