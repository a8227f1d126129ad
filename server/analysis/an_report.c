/* The analysis as files (an_report.h): CSV tables and analysis.json, each written atomically. */
#include "an_report.h"

#include "ag_buf.h"
#include "ag_error.h"
#include "ag_fs.h"
#include "ag_time.h"

#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef ANGORA_VERSION
#define ANGORA_VERSION "0"
#endif

#define TABLE_MAX  (256 << 20) /* bytes of one CSV table */
#define OUT_FORMAT "angora-analysis"

/* ---- files ---- */

static int out_path(const AnAnalysis *a, const char *name, char *path, size_t sz, char *err,
                    size_t err_sz) {
    if ((size_t)snprintf(path, sz, "%s/%s", a->opt.out_dir, name) >= sz) {
        return ag_errorf(err, err_sz, AG_ETOOBIG, "%s/%s: path too long", a->opt.out_dir, name);
    }
    return 0;
}

int an_report_begin(const AnAnalysis *a, char *err, size_t err_sz) {
    char path[PATH_MAX];
    int rc = ag_fs_mkdir_p(a->opt.out_dir, 0755, err, err_sz);
    rc = rc ? rc : out_path(a, AN_REPORT_JSON, path, sizeof path, err, err_sz);
    if (rc == 0 && unlink(path) != 0 && errno != ENOENT) {
        rc = ag_errorf(err, err_sz, AG_EIO, "%s: cannot remove the previous analysis: %s", path,
                       strerror(errno));
    }
    return rc;
}

static int write_output(AnAnalysis *a, const char *name, const char *data, size_t len, char *err,
                        size_t err_sz) {
    char path[PATH_MAX];
    int rc = out_path(a, name, path, sizeof path, err, err_sz);
    rc = rc ? rc : ag_fs_write_atomic(path, data, len, err, err_sz);
    if (rc == 0 && an_analysis_add_output(a, name)) {
        rc = ag_errorf(err, err_sz, AG_ENOMEM, "too many outputs");
    }
    return rc;
}

/* ---- CSV ---- */

/* a text field, quoted when it holds a comma, a quote or a line break (RFC 4180) */
static int csv_text(AgBuf *b, const char *s) {
    if (!strpbrk(s, ",\"\n\r")) {
        return ag_buf_append_str(b, s);
    }
    int rc = ag_buf_append_str(b, "\"");
    for (const char *c = s; *c && rc == 0; c++) {
        rc = ag_buf_append(b, *c == '"' ? "\"\"" : c, *c == '"' ? 2 : 1);
    }
    return rc ? rc : ag_buf_append_str(b, "\"");
}

/* ",value" (empty for NaN) */
static int csv_num(AgBuf *b, double v) {
    return isfinite(v) ? ag_buf_printf(b, ",%.10g", v) : ag_buf_append_str(b, ",");
}

static int table_decoding(const AnAnalysis *a, AgBuf *b) {
    int rc = ag_buf_append_str(b, "layer,variable,r2,r2_shuffled,lambda\n");
    for (int l = 0; l < a->n_layers && rc == 0; l++) {
        const AnLayerResult *r = &a->layers[l];
        for (int v = 0; r->decoded && v < a->n_vars && rc == 0; v++) {
            rc = csv_text(b, r->info->name) || ag_buf_append_str(b, ",") ||
                 csv_text(b, a->file->variables[a->var_index[v]].name) ||
                 csv_num(b, r->ridge.r2[v]) || csv_num(b, r->ridge.r2_shuffled[v]) ||
                 csv_num(b, r->ridge.lambda[v]) || ag_buf_append_str(b, "\n");
        }
    }
    return rc;
}

static int table_pca(const AnAnalysis *a, AgBuf *b) {
    int rc = ag_buf_append_str(b, "layer,component,eigenvalue,fraction,cumulative,"
                                  "participation_ratio\n");
    for (int l = 0; l < a->n_layers && rc == 0; l++) {
        const AnPcaResult *p = &a->layers[l].pca;
        double cum = 0;
        for (int k = 0; a->layers[l].has_pca && k < p->d && rc == 0; k++) {
            cum += p->fraction[k];
            rc = csv_text(b, a->layers[l].info->name) || ag_buf_printf(b, ",%d", k + 1) ||
                 csv_num(b, p->eigenvalues[k]) || csv_num(b, p->fraction[k]) || csv_num(b, cum) ||
                 csv_num(b, p->participation_ratio) || ag_buf_append_str(b, "\n");
        }
    }
    return rc;
}

static int table_timescales(const AnAnalysis *a, AgBuf *b) {
    int rc = ag_buf_append_str(b, "layer,unit,tau,capped\n");
    for (int l = 0; l < a->n_layers && rc == 0; l++) {
        const AnTimescaleResult *t = &a->layers[l].ts;
        for (int j = 0; j < t->d && rc == 0; j++) {
            rc = csv_text(b, a->layers[l].info->name) || ag_buf_printf(b, ",%d", j) ||
                 csv_num(b, t->tau[j]) || ag_buf_printf(b, ",%d\n", t->capped[j]);
        }
    }
    return rc;
}

static int table_rdm_similarity(const AnAnalysis *a, AgBuf *b) {
    int L = a->n_layers, rc = ag_buf_append_str(b, "a,b,spearman\n");
    for (int i = 0; i < L && rc == 0; i++) {
        for (int j = 0; j < L && rc == 0; j++) {
            rc = csv_text(b, a->layers[i].info->name) || ag_buf_append_str(b, ",") ||
                 csv_text(b, a->layers[j].info->name) || csv_num(b, a->rdm_similarity[i * L + j]) ||
                 ag_buf_append_str(b, "\n");
        }
    }
    char user[PATH_MAX + 8];
    snprintf(user, sizeof user, "user:%s", a->opt.rdm ? a->opt.rdm : "");
    for (int i = 0; a->user_rdm && i < L && rc == 0; i++) {
        rc = csv_text(b, a->layers[i].info->name) || ag_buf_append_str(b, ",") ||
             csv_text(b, user) || csv_num(b, a->user_similarity[i]) || ag_buf_append_str(b, "\n");
    }
    return rc;
}

int an_report_tables(AnAnalysis *a, char *err, size_t err_sz) {
    struct {
        const char *name;
        int (*fill)(const AnAnalysis *, AgBuf *);
        int wanted;
    } tables[] = {{"decoding.csv", table_decoding, a->n_vars > 0},
                  {"pca.csv", table_pca, 1},
                  {"timescales.csv", table_timescales, 1},
                  {"rdm_similarity.csv", table_rdm_similarity, a->rsa_var >= 0}};
    AgBuf b;
    int rc = ag_buf_init(&b, 1 << 16, TABLE_MAX);
    for (size_t i = 0; i < sizeof tables / sizeof tables[0] && rc == 0; i++) {
        if (!tables[i].wanted) {
            continue;
        }
        ag_buf_reset(&b);
        if (tables[i].fill(a, &b)) {
            rc = ag_errorf(err, err_sz, AG_ETOOBIG, "%s: more than %d bytes", tables[i].name,
                           TABLE_MAX);
            break;
        }
        rc = write_output(a, tables[i].name, b.data, b.len, err, err_sz);
    }
    ag_buf_free(&b);
    return rc == AG_ENOMEM ? ag_errorf(err, err_sz, rc, "out of memory") : rc;
}

/* ---- JSON ---- */

static json_t *jnum(double v) {
    return isfinite(v) ? json_real(v) : json_null();
}

static json_t *jarray(const double *v, int64_t n) {
    json_t *arr = json_array();
    for (int64_t i = 0; arr && i < n; i++) {
        json_array_append_new(arr, jnum(v[i]));
    }
    return arr;
}

/* rows of a [rows, cols] matrix as arrays */
static json_t *jmatrix(const double *v, int64_t rows, int64_t cols) {
    json_t *arr = json_array();
    for (int64_t i = 0; arr && i < rows; i++) {
        json_array_append_new(arr, jarray(v + i * cols, cols));
    }
    return arr;
}

static json_t *jints(const int *v, int n) {
    json_t *arr = json_array();
    for (int i = 0; arr && i < n; i++) {
        json_array_append_new(arr, json_integer(v[i]));
    }
    return arr;
}

static json_t *json_input(const AnAnalysis *a) {
    const AnH5File *f = a->file;
    char real[PATH_MAX], when[32] = "", seed[32];
    /* a uint64 seed as text: JSON readers lose integers beyond 2^53 */
    snprintf(seed, sizeof seed, "%llu", (unsigned long long)f->seed);
    struct stat st;
    long long bytes = -1;
    if (stat(f->path, &st) == 0) {
        bytes = (long long)st.st_size;
        ag_time_iso8601((double)st.st_mtime, when, sizeof when);
    }
    return json_pack("{s:s, s:I, s:s, s:i, s:s, s:s, s:s, s:s, s:s, s:i, s:I, s:i, s:b}", "path",
                     realpath(f->path, real) ? real : f->path, "bytes", (json_int_t)bytes,
                     "modified", when, "format_version", f->format_version, "task", f->task,
                     "checkpoint", f->checkpoint, "checkpoint_sha256", f->checkpoint_sha256,
                     "created", f->created, "seed", seed, "episodes", f->episodes, "steps",
                     (json_int_t)f->steps, "deterministic", f->deterministic, "complete", 1);
}

static json_t *json_options(const AnAnalysis *a) {
    const AnOptions *o = &a->opt;
    json_t *layers = json_array(), *vars = json_array();
    for (int l = 0; l < a->n_layers; l++) {
        json_array_append_new(layers, json_string(a->layers[l].info->name));
    }
    for (int v = 0; v < a->n_vars; v++) {
        json_array_append_new(vars, json_string(a->file->variables[a->var_index[v]].name));
    }
    char seed[32];
    snprintf(seed, sizeof seed, "%llu", (unsigned long long)o->seed);
    return json_pack("{s:o, s:o, s:i, s:s, s:i, s:I, s:s?, s:i, s:s?, s:i, s:b}", "layers", layers,
                     "variables", vars, "folds", o->folds, "seed", seed, "episode", o->episode,
                     "max_steps", (json_int_t)o->max_steps, "rsa_variable", o->rsa_variable,
                     "rsa_bins", o->rsa_bins, "rdm", o->rdm, "max_lag", o->max_lag, "figures",
                     o->figures);
}

static json_t *json_datasets(const AnAnalysis *a) {
    json_t *layers = json_array(), *vars = json_array();
    for (int l = 0; l < a->n_layers; l++) {
        const AnLayerResult *r = &a->layers[l];
        const AnH5Dataset *d = r->info;
        /* a pooled feature map also says what was averaged; null for other layers */
        json_t *map = d->map_shape_rank > 0 ? jints(d->map_shape, d->map_shape_rank) : NULL;
        json_t *o = json_pack("{s:s, s:I, s:s, s:s, s:o, s:b, s:o?, s:f, s:s?}", "name", d->name,
                              "units", (json_int_t)d->cols, "type", d->type, "net", d->net, "shape",
                              jints(d->shape, d->shape_rank), "pooled", d->pooled, "map_shape", map,
                              "seconds", r->seconds, "skipped", r->skipped);
        json_array_append_new(layers, o);
    }
    for (int v = 0; v < a->n_vars; v++) {
        const AnH5Dataset *d = &a->file->variables[a->var_index[v]];
        json_t *names = json_array();
        for (int i = 0; i < d->n_dim_names; i++) {
            json_array_append_new(names, json_string(d->dim_names[i]));
        }
        json_array_append_new(vars, json_pack("{s:s, s:I, s:s, s:s, s:o}", "name", d->name,
                                              "columns", (json_int_t)d->cols, "group", d->group,
                                              "units", d->units, "dim_names", names));
    }
    return json_pack("{s:o, s:o}", "layers", layers, "variables", vars);
}

static json_t *json_decoding(const AnAnalysis *a) {
    json_t *results = json_array(), *folds = NULL, *labels = NULL;
    const double *grid = NULL;
    for (int l = 0; l < a->n_layers; l++) {
        const AnLayerResult *r = &a->layers[l];
        if (!r->decoded) {
            continue;
        }
        const AnRidgeResult *d = &r->ridge;
        if (!folds) {
            folds = jints(d->fold_of_episode, a->ep.n);
            labels = jints(d->label_episode, a->ep.n);
            grid = d->lambdas;
        }
        for (int v = 0; v < a->n_vars; v++) {
            int c0 = a->var_offset[v], nc = a->var_offset[v + 1] - c0;
            json_t *lf = json_array();
            for (int f = 0; f < d->folds; f++) {
                json_array_append_new(lf, jnum(d->lambda_fold[f * a->n_vars + v]));
            }
            json_array_append_new(
                results,
                json_pack("{s:s, s:s, s:o, s:o, s:o, s:o, s:o, s:o}", "layer", r->info->name,
                          "variable", a->file->variables[a->var_index[v]].name, "r2",
                          jnum(d->r2[v]), "r2_shuffled", jnum(d->r2_shuffled[v]), "lambda",
                          jnum(d->lambda[v]), "lambda_folds", lf, "r2_columns",
                          jarray(d->r2_col + c0, nc), "r2_shuffled_columns",
                          jarray(d->r2_col_shuffled + c0, nc)));
        }
    }
    if (!folds) {
        json_decref(results);
        return json_null();
    }
    return json_pack("{s:i, s:i, s:o, s:s, s:o, s:o, s:o}", "folds", a->opt.folds, "inner_folds",
                     a->opt.folds - 1, "lambda_grid", jarray(grid, AN_RIDGE_LAMBDAS),
                     "lambda_scale",
                     "relative to the mean eigenvalue of the standardized Gram "
                     "matrix",
                     "fold_of_episode", folds, "control_label_episode", labels, "results", results);
}

static json_t *json_pca(const AnAnalysis *a) {
    json_t *arr = json_array();
    for (int l = 0; l < a->n_layers; l++) {
        const AnLayerResult *r = &a->layers[l];
        if (!r->has_pca) {
            continue;
        }
        const AnPcaResult *p = &r->pca;
        json_t *traj = json_pack("{s:i, s:I, s:o}", "episode", a->opt.episode, "steps",
                                 (json_int_t)r->trajectory_len, "components",
                                 jmatrix(r->trajectory, r->trajectory_len, p->keep));
        json_array_append_new(
            arr, json_pack("{s:s, s:o, s:o, s:o, s:o, s:o}", "layer", r->info->name,
                           "participation_ratio", jnum(p->participation_ratio), "total_variance",
                           jnum(p->total_variance), "eigenvalues", jarray(p->eigenvalues, p->d),
                           "fractions", jarray(p->fraction, p->d), "trajectory", traj));
    }
    return arr;
}

static json_t *json_rsa(const AnAnalysis *a) {
    if (a->rsa_var < 0) {
        return json_null();
    }
    int k = a->bins.k, L = a->n_layers;
    json_t *bins = json_array(), *rdms = json_array(), *names = json_array();
    for (int i = 0; i < k; i++) {
        json_array_append_new(bins,
                              json_pack("{s:f, s:f, s:I}", "lo", a->bins.lo[i], "hi", a->bins.hi[i],
                                        "steps", (json_int_t)a->bins.count[i]));
    }
    for (int l = 0; l < L; l++) {
        json_array_append_new(names, json_string(a->layers[l].info->name));
        if (a->layers[l].rdm) {
            json_array_append_new(rdms, json_pack("{s:s, s:o}", "layer", a->layers[l].info->name,
                                                  "rdm", jmatrix(a->layers[l].rdm, k, k)));
        }
    }
    json_t *user = json_null();
    if (a->user_rdm) {
        user =
            json_pack("{s:s, s:o}", "path", a->opt.rdm, "spearman", jarray(a->user_similarity, L));
    }
    return json_pack("{s:s, s:i, s:i, s:s, s:o, s:o, s:{s:o, s:o}, s:o}", "variable",
                     a->file->variables[a->rsa_var].name, "column", a->rsa_col, "bins_requested",
                     a->opt.rsa_bins, "dissimilarity", "1 - Pearson r of condition means", "bins",
                     bins, "rdms", rdms, "similarity", "layers", names, "spearman",
                     jmatrix(a->rdm_similarity, L, L), "user", user);
}

static json_t *json_timescales(const AnAnalysis *a) {
    json_t *arr = json_array();
    int max_lag = 0;
    for (int l = 0; l < a->n_layers; l++) {
        const AnTimescaleResult *t = &a->layers[l].ts;
        if (t->d == 0) {
            continue;
        }
        max_lag = t->max_lag;
        json_array_append_new(arr, json_pack("{s:s, s:o, s:i, s:i, s:i, s:o}", "layer",
                                             a->layers[l].info->name, "median", jnum(t->median),
                                             "units", t->d, "zero_variance", t->n_zero_variance,
                                             "capped", t->n_capped, "tau", jarray(t->tau, t->d)));
    }
    return json_pack("{s:i, s:s, s:o}", "max_lag", max_lag, "definition",
                     "lag where the within-episode autocorrelation first falls below 1/e",
                     "results", arr);
}

int an_report_json(AnAnalysis *a, char *err, size_t err_sz) {
    char now[32];
    ag_time_iso8601(ag_time_wall(), now, sizeof now);
    if (an_analysis_add_output(a, AN_REPORT_JSON)) {
        return ag_errorf(err, err_sz, AG_ENOMEM, "too many outputs");
    }
    json_t *outputs = json_array();
    for (int i = 0; i < a->n_outputs; i++) {
        json_array_append_new(outputs, json_string(a->outputs[i]));
    }
    json_t *input = json_input(a);
    json_t *root = json_pack(
        "{s:s, s:i, s:s, s:s, s:f, s:o, s:o, s:{s:I, s:i}, s:o, s:o, s:o, s:o, s:o, s:o}", "format",
        OUT_FORMAT, "format_version", 1, "program", "angora-analyze " ANGORA_VERSION, "created",
        now, "seconds", a->seconds, "input", input, "options", json_options(a), "analysed", "steps",
        (json_int_t)a->n, "episodes", a->ep.n, "datasets", json_datasets(a), "decoding",
        json_decoding(a), "pca", json_pca(a), "rsa", json_rsa(a), "timescales", json_timescales(a),
        "outputs", outputs);
    char *text = root ? json_dumps(root, JSON_INDENT(1) | JSON_REAL_PRECISION(10)) : NULL;
    json_decref(root);
    if (!text) {
        a->n_outputs--;
        free(a->outputs[a->n_outputs]);
        return ag_errorf(err, err_sz, AG_ENOMEM, "analysis.json: cannot build the document");
    }
    /* with a final line break, as text files end */
    size_t len = strlen(text);
    char *grown = realloc(text, len + 2);
    if (!grown) {
        free(text);
        return ag_errorf(err, err_sz, AG_ENOMEM, "analysis.json: out of memory");
    }
    grown[len] = '\n';
    grown[len + 1] = '\0';
    char path[PATH_MAX];
    int rc = out_path(a, AN_REPORT_JSON, path, sizeof path, err, err_sz);
    rc = rc ? rc : ag_fs_write_atomic(path, grown, len + 1, err, err_sz);
    free(grown);
    return rc;
}
