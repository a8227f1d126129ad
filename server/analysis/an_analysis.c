/* One analysis of a recording (an_analysis.h): options checked against the file, layers and
 * variables selected, targets loaded, conditions binned, then every analysis run layer by
 * layer. */
#include "an_analysis.h"

#include "an_stats.h"

#include "ag_error.h"
#include "ag_log.h"
#include "ag_time.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define STR_(x) #x
#define STR(x)  STR_(x)

void an_options_default(AnOptions *opt) {
    memset(opt, 0, sizeof *opt);
    opt->folds = AN_FOLDS_DEFAULT;
    opt->rsa_bins = AN_RSA_BINS_DEFAULT;
    opt->max_lag = AN_TIMESCALE_MAX_LAG;
    opt->figures = 1;
}

/* ---- selections ---- */

/* "a, b, c" of the known names of a kind, cut to fit out */
static void known_names(const AnH5File *f, AnH5Kind kind, char *out, size_t out_sz) {
    const AnH5Dataset *d = kind == AN_H5_LAYER ? f->layers : f->variables;
    int n = kind == AN_H5_LAYER ? f->n_layers : f->n_variables;
    size_t len = 0;
    out[0] = '\0';
    for (int i = 0; i < n && len + 8 < out_sz; i++) {
        int w = snprintf(out + len, out_sz - len, "%s%s", i ? ", " : "", d[i].name);
        len += w > 0 ? (size_t)w : 0;
    }
    if (len >= out_sz - 1 && out_sz > 4) {
        strcpy(out + out_sz - 4, "...");
    }
    if (n == 0) {
        snprintf(out, out_sz, "none");
    }
}

/* the datasets named in list (comma-separated; NULL: all, in file order) as indices */
static int select_names(const AnH5File *f, AnH5Kind kind, const char *list, int **out, int *count,
                        char *err, size_t err_sz) {
    int total = kind == AN_H5_LAYER ? f->n_layers : f->n_variables;
    const char *what = kind == AN_H5_LAYER ? "layer" : "variable";
    *out = malloc(sizeof(int) * (size_t)(total > 0 ? total : 1));
    *count = 0;
    if (!*out) {
        return ag_errorf(err, err_sz, AG_ENOMEM, "out of memory");
    }
    if (!list) {
        for (int i = 0; i < total; i++) {
            (*out)[(*count)++] = i;
        }
        return 0;
    }
    char *copy = strdup(list), *save = NULL;
    int rc = copy ? 0 : ag_errorf(err, err_sz, AG_ENOMEM, "out of memory");
    for (char *tok = copy ? strtok_r(copy, ",", &save) : NULL; tok && rc == 0;
         tok = strtok_r(NULL, ",", &save)) {
        while (*tok == ' ') {
            tok++;
        }
        size_t len = strlen(tok);
        while (len > 0 && tok[len - 1] == ' ') {
            tok[--len] = '\0';
        }
        if (len == 0) {
            continue;
        }
        int idx = an_h5_find(f, kind, tok);
        if (idx < 0) {
            char known[768];
            known_names(f, kind, known, sizeof known);
            rc = ag_errorf(err, err_sz, AG_ENOTFOUND, "%s: unknown %s '%s'; the file has: %s",
                           f->path, what, tok, known);
            break;
        }
        int dup = 0;
        for (int i = 0; i < *count; i++) {
            dup |= (*out)[i] == idx;
        }
        if (!dup) {
            (*out)[(*count)++] = idx;
        }
    }
    free(copy);
    if (rc == 0 && *count == 0) {
        rc = ag_errorf(err, err_sz, AG_EINVAL, "no %s named in '%s'", what, list);
    }
    return rc;
}

/* "NAME[:COLUMN]" (COLUMN a number from 0 or one of the variable's dim_names) */
static int parse_rsa_variable(AnAnalysis *a, const char *spec, char *err, size_t err_sz) {
    const AnH5File *f = a->file;
    a->rsa_var = an_h5_find(f, AN_H5_VARIABLE, spec);
    a->rsa_col = 0;
    if (a->rsa_var >= 0) {
        return 0;
    }
    const char *colon = strrchr(spec, ':');
    char name[AN_H5_NAME_MAX];
    size_t len = colon ? (size_t)(colon - spec) : 0;
    if (colon && len < sizeof name) {
        memcpy(name, spec, len);
        name[len] = '\0';
        a->rsa_var = an_h5_find(f, AN_H5_VARIABLE, name);
    }
    if (a->rsa_var < 0) {
        char known[768];
        known_names(f, AN_H5_VARIABLE, known, sizeof known);
        return ag_errorf(err, err_sz, AG_ENOTFOUND,
                         "%s: unknown variable '%.*s' for --rsa-variable; the file has: %s",
                         f->path, (int)(colon ? len : strlen(spec)), spec, known);
    }
    const AnH5Dataset *v = &f->variables[a->rsa_var];
    char *end;
    long col = strtol(colon + 1, &end, 10);
    if (colon[1] == '\0' || *end != '\0') {
        col = -1;
        for (int i = 0; i < v->n_dim_names; i++) {
            col = strcmp(v->dim_names[i], colon + 1) == 0 ? i : col;
        }
    }
    if (col < 0 || col >= v->cols) {
        return ag_errorf(err, err_sz, AG_ERANGE,
                         "--rsa-variable %s: %s has columns 0..%lld (or its dim_names)", spec,
                         v->name, (long long)v->cols - 1);
    }
    a->rsa_col = (int)col;
    return 0;
}

/* ---- the analysed rows ---- */

static int set_rows(AnAnalysis *a, char *err, size_t err_sz) {
    const AnH5File *f = a->file;
    a->n = a->opt.max_steps > 0 && a->opt.max_steps < f->steps ? a->opt.max_steps : f->steps;
    if (a->n < 2) {
        return ag_errorf(err, err_sz, AG_ERANGE, "%s: %lld steps to analyse; at least 2 needed",
                         f->path, (long long)a->n);
    }
    a->ep_len = malloc(sizeof(int64_t) * (size_t)f->episodes);
    if (!a->ep_len) {
        return ag_errorf(err, err_sz, AG_ENOMEM, "out of memory");
    }
    int e = 0;
    for (; e < f->episodes && f->episode_start[e] < a->n; e++) {
        int64_t end = f->episode_start[e] + f->episode_len[e];
        a->ep_len[e] = (end < a->n ? end : a->n) - f->episode_start[e];
    }
    a->ep.n = e;
    a->ep.start = f->episode_start;
    a->ep.len = a->ep_len;
    if (a->opt.episode < 0 || a->opt.episode >= e) {
        return ag_errorf(err, err_sz, AG_ERANGE,
                         "--episode %d: the analysed steps hold episodes "
                         "0..%d",
                         a->opt.episode, e - 1);
    }
    return 0;
}

/* reads column col of a variable over the analysed rows (all columns: col -1) into out as
 * float64, with stride columns between rows */
static int read_variable(AnAnalysis *a, int var, int col, double *out, int stride, char *err,
                         size_t err_sz) {
    int64_t cols = a->file->variables[var].cols;
    float *buf = malloc(sizeof(float) * (size_t)a->n * (size_t)cols);
    if (!buf) {
        return ag_errorf(err, err_sz, AG_ENOMEM, "out of memory");
    }
    int rc = an_h5_read_rows(a->file, AN_H5_VARIABLE, var, 0, a->n, buf, err, err_sz);
    for (int64_t i = 0; i < a->n && rc == 0; i++) {
        for (int64_t c = 0; c < cols; c++) {
            if (col < 0) {
                out[i * stride + c] = buf[i * cols + c];
            } else if (c == col) {
                out[i * stride] = buf[i * cols + c];
            }
        }
    }
    free(buf);
    return rc;
}

static int load_targets(AnAnalysis *a, char *err, size_t err_sz) {
    a->var_offset = malloc(sizeof(int) * (size_t)(a->n_vars + 1));
    if (!a->var_offset) {
        return ag_errorf(err, err_sz, AG_ENOMEM, "out of memory");
    }
    a->var_offset[0] = 0;
    for (int v = 0; v < a->n_vars; v++) {
        a->var_offset[v + 1] = a->var_offset[v] + (int)a->file->variables[a->var_index[v]].cols;
    }
    a->q = a->var_offset[a->n_vars];
    if (a->q == 0) {
        return 0;
    }
    a->y = malloc(sizeof(double) * (size_t)a->n * (size_t)a->q);
    if (!a->y) {
        return ag_errorf(err, err_sz, AG_ENOMEM, "out of memory for %lld x %d targets",
                         (long long)a->n, a->q);
    }
    int rc = 0;
    for (int v = 0; v < a->n_vars && rc == 0; v++) {
        rc = read_variable(a, a->var_index[v], -1, a->y + a->var_offset[v], a->q, err, err_sz);
    }
    return rc;
}

static int setup_rsa(AnAnalysis *a, char *err, size_t err_sz) {
    a->rsa_var = -1;
    if (a->opt.rsa_variable) {
        int rc = parse_rsa_variable(a, a->opt.rsa_variable, err, err_sz);
        if (rc) {
            return rc;
        }
    } else if (a->n_vars > 0) {
        a->rsa_var = a->var_index[0];
        a->rsa_col = 0;
    } else {
        if (a->opt.rdm) {
            return ag_errorf(err, err_sz, AG_EINVAL,
                             "--rdm needs a variable to make the conditions, and %s has none",
                             a->file->path);
        }
        return 0;
    }
    double *v = malloc(sizeof(double) * (size_t)a->n);
    if (!v) {
        return ag_errorf(err, err_sz, AG_ENOMEM, "out of memory");
    }
    int rc = read_variable(a, a->rsa_var, a->rsa_col, v, 1, err, err_sz);
    rc = rc ? rc : an_rsa_bins(&a->bins, v, a->n, a->opt.rsa_bins, err, err_sz);
    free(v);
    if (rc == 0 && a->opt.rdm) {
        rc = an_rsa_load_rdm(&a->user_rdm, a->opt.rdm, a->bins.k, err, err_sz);
    }
    return rc;
}

/* ---- open ---- */

static int check_options(const AnOptions *o, char *err, size_t err_sz) {
    if (o->folds < AN_RIDGE_FOLDS_MIN || o->folds > AN_RIDGE_FOLDS_MAX) {
        return ag_errorf(err, err_sz, AG_ERANGE,
                         "--folds %d: %d to %d (the inner cross-validation "
                         "uses the other folds)",
                         o->folds, AN_RIDGE_FOLDS_MIN, AN_RIDGE_FOLDS_MAX);
    }
    if (o->rsa_bins < 2 || o->rsa_bins > AN_RSA_BINS_MAX) {
        return ag_errorf(err, err_sz, AG_ERANGE, "--rsa-bins %d: 2 to %d", o->rsa_bins,
                         AN_RSA_BINS_MAX);
    }
    if (o->max_lag < 1 || o->max_steps < 0) {
        return ag_errorf(err, err_sz, AG_ERANGE, "--max-lag and --max-steps must be positive");
    }
    return 0;
}

int an_analysis_open(AnAnalysis **out, const AnOptions *opt, int *bad_input, char *err,
                     size_t err_sz) {
    *out = NULL;
    *bad_input = 1;
    int rc = check_options(opt, err, err_sz);
    if (rc) {
        return rc;
    }
    AnAnalysis *a = calloc(1, sizeof *a);
    if (!a) {
        *bad_input = 0;
        return ag_errorf(err, err_sz, AG_ENOMEM, "out of memory");
    }
    a->opt = *opt;
    a->rsa_var = -1;
    rc = an_h5_open(&a->file, opt->input, err, err_sz);
    rc = rc ? rc : set_rows(a, err, err_sz);
    rc = rc ? rc
            : select_names(a->file, AN_H5_LAYER, opt->layers, &a->layer_index, &a->n_layers, err,
                           err_sz);
    if (rc == 0 && a->n_layers == 0) {
        rc = ag_errorf(err, err_sz, AG_EFORMAT, "%s: no layers recorded", opt->input);
    }
    rc = rc ? rc
            : select_names(a->file, AN_H5_VARIABLE, opt->variables, &a->var_index, &a->n_vars, err,
                           err_sz);
    if (rc == 0 && a->n_vars > 0 && a->ep.n < opt->folds) {
        rc = ag_errorf(err, err_sz, AG_ERANGE,
                       "decoding with %d folds needs at least %d episodes, %s has %d (fewer "
                       "--folds, or more episodes)",
                       opt->folds, opt->folds, opt->input, a->ep.n);
    }
    rc = rc ? rc : load_targets(a, err, err_sz);
    rc = rc ? rc : setup_rsa(a, err, err_sz);
    if (rc == 0) {
        a->layers = calloc((size_t)a->n_layers, sizeof *a->layers);
        a->rdm_similarity = malloc(sizeof(double) * (size_t)a->n_layers * (size_t)a->n_layers);
        a->user_similarity = malloc(sizeof(double) * (size_t)a->n_layers);
        if (!a->layers || !a->rdm_similarity || !a->user_similarity) {
            rc = ag_errorf(err, err_sz, AG_ENOMEM, "out of memory");
        }
    }
    if (rc) {
        /* what the user gave is at fault, unless memory ran out */
        *bad_input = rc != AG_ENOMEM;
        an_analysis_free(a);
        return rc;
    }
    for (int l = 0; l < a->n_layers; l++) {
        a->layers[l].info = &a->file->layers[a->layer_index[l]];
    }
    *bad_input = 0;
    *out = a;
    return 0;
}

/* ---- run ---- */

static int run_layer(AnAnalysis *a, AnLayerResult *r, const float *x, char *err, size_t err_sz) {
    int d = (int)r->info->cols, rc = 0;
    double t0 = ag_time_now();
    if (d > AN_GRAM_UNITS_MAX) {
        r->skipped = "wider than " STR(AN_GRAM_UNITS_MAX) " units: decoding and PCA skipped";
        ag_log_warn("%s: %d units, %s", r->info->name, d, r->skipped);
    }
    if (!r->skipped && a->n_vars > 0) {
        AnRidgeTargets t = {.y = a->y, .q = a->q, .n_vars = a->n_vars, .var_offset = a->var_offset};
        AnRidgeOptions ro = {.folds = a->opt.folds, .seed = a->opt.seed, .shuffled = 1};
        rc = an_ridge_decode(&r->ridge, x, a->n, d, &a->ep, &t, &ro, err, err_sz);
        r->decoded = rc == 0;
    }
    if (rc == 0 && !r->skipped) {
        rc = an_pca_fit(&r->pca, x, a->n, d, err, err_sz);
        int64_t start = a->ep.start[a->opt.episode], len = a->ep.len[a->opt.episode];
        r->trajectory = rc ? NULL : malloc(sizeof(double) * (size_t)len * AN_PCA_KEEP);
        if (rc == 0 && !r->trajectory) {
            rc = ag_errorf(err, err_sz, AG_ENOMEM, "out of memory");
        }
        if (rc == 0) {
            an_pca_project(r->trajectory, &r->pca, x + start * d, len);
            r->trajectory_len = len;
            r->has_pca = 1;
        }
    }
    if (rc == 0 && a->rsa_var >= 0) {
        r->rdm = malloc(sizeof(double) * (size_t)a->bins.k * (size_t)a->bins.k);
        rc = r->rdm ? an_rsa_rdm(r->rdm, x, a->n, d, &a->bins) : AG_ENOMEM;
        if (rc) {
            rc = ag_errorf(err, err_sz, rc, "RSA: out of memory");
        }
    }
    if (rc == 0) {
        rc = an_timescale_fit(&r->ts, x, a->n, d, &a->ep, a->opt.max_lag, err, err_sz);
        if (rc == AG_EINVAL) {
            /* episodes of one step have no lags: no timescales, not a failure */
            ag_log_warn("%s: %s", r->info->name, err);
            rc = 0;
        }
    }
    r->seconds = ag_time_now() - t0;
    return rc;
}

static void compare_rdms(AnAnalysis *a) {
    int L = a->n_layers, k = a->bins.k;
    for (int i = 0; i < L; i++) {
        for (int j = 0; j < L; j++) {
            const double *ri = a->layers[i].rdm, *rj = a->layers[j].rdm;
            a->rdm_similarity[i * L + j] = ri && rj ? an_rsa_compare(ri, rj, k) : NAN;
        }
        a->user_similarity[i] = a->user_rdm && a->layers[i].rdm
                                    ? an_rsa_compare(a->layers[i].rdm, a->user_rdm, k)
                                    : NAN;
    }
}

int an_analysis_run(AnAnalysis *a, char *err, size_t err_sz) {
    double t0 = ag_time_now();
    int rc = 0;
    float *x = NULL;
    for (int l = 0; l < a->n_layers && rc == 0; l++) {
        AnLayerResult *r = &a->layers[l];
        int64_t d = r->info->cols;
        float *grown = realloc(x, sizeof(float) * (size_t)a->n * (size_t)d);
        if (!grown) {
            rc = ag_errorf(err, err_sz, AG_ENOMEM, "%s: out of memory for %lld x %lld",
                           r->info->name, (long long)a->n, (long long)d);
            break;
        }
        x = grown;
        rc = an_h5_read_rows(a->file, AN_H5_LAYER, a->layer_index[l], 0, a->n, x, err, err_sz);
        rc = rc ? rc : run_layer(a, r, x, err, err_sz);
        if (rc == 0) {
            ag_log_info("layer %d/%d %s (%lld units): %.1f s", l + 1, a->n_layers, r->info->name,
                        (long long)d, r->seconds);
        }
    }
    free(x);
    if (rc == 0) {
        compare_rdms(a);
    }
    a->seconds = ag_time_now() - t0;
    return rc;
}

int an_analysis_add_output(AnAnalysis *a, const char *name) {
    if (a->n_outputs == AN_OUTPUTS_MAX) {
        return AG_ETOOBIG;
    }
    char *copy = strdup(name);
    if (!copy) {
        return AG_ENOMEM;
    }
    a->outputs[a->n_outputs++] = copy;
    return 0;
}

void an_analysis_free(AnAnalysis *a) {
    if (!a) {
        return;
    }
    for (int l = 0; a->layers && l < a->n_layers; l++) {
        AnLayerResult *r = &a->layers[l];
        an_ridge_result_free(&r->ridge);
        an_pca_result_free(&r->pca);
        an_timescale_result_free(&r->ts);
        free(r->trajectory);
        free(r->rdm);
    }
    for (int i = 0; i < a->n_outputs; i++) {
        free(a->outputs[i]);
    }
    free(a->layers);
    free(a->rdm_similarity);
    free(a->user_similarity);
    an_rsa_bins_free(&a->bins);
    free(a->user_rdm);
    free(a->y);
    free(a->var_offset);
    free(a->layer_index);
    free(a->var_index);
    free(a->ep_len);
    an_h5_close(a->file);
    free(a);
}
