/* Helpers shared by the analysis suites: synthetic recordings with planted structure (equal-length
 * episodes, a layer = A v + noise with known A and noise level) and temporary folders. */
#ifndef AN_TEST_UTIL_H
#define AN_TEST_UTIL_H

#include "an_h5.h"
#include "an_stats.h"

#include "ag_rng.h"

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
