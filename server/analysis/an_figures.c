/* The analysis figures (an_figures.h): heatmap, spectra, trajectories, RDMs, timescale
 * histograms, and the routine that draws all of an analysis. */
#include "an_figures.h"

#include "an_plot.h"
#include "an_stats.h"

#include "ag_error.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TEXT        12.0
#define SMALL       10.5
#define TITLE       15.0
#define PANEL_W     380
#define PANEL_H     330
#define HEADER      44
#define PATH_MAX_AN 4096

/* ---- helpers ---- */

/* the plotting box of panel i in a grid of cols panels under a header */
static AnAxes panel_axes(int i, int cols) {
    AnAxes a = {0};
    a.left = (i % cols) * PANEL_W + 70;
    a.top = HEADER + (i / cols) * PANEL_H + 44;
    a.width = PANEL_W - 70 - 24;
    a.height = PANEL_H - 44 - 56;
    return a;
}

/* text shrunk to fit a width */
static void text_fit(AnPlot *p, double x, double y, double size, double max_w, double ax, double ay,
                     const char *text) {
    double w = an_plot_text_width(p, size, text);
    if (w > max_w && w > 0) {
        size = fmax(7.0, size * max_w / w);
    }
    an_plot_text(p, x, y, size, ax, ay, 0, text);
}

static void fill_rect(AnPlot *p, double x, double y, double w, double h, const double rgb[3]) {
    cairo_set_source_rgb(p->cr, rgb[0], rgb[1], rgb[2]);
    cairo_rectangle(p->cr, x, y, w, h);
    cairo_fill(p->cr);
}

static void range_of(const double *v, int64_t n, int stride, double *lo, double *hi) {
    *lo = INFINITY;
    *hi = -INFINITY;
    for (int64_t i = 0; i < n; i++) {
        double x = v[i * stride];
        if (isfinite(x)) {
            *lo = fmin(*lo, x);
            *hi = fmax(*hi, x);
        }
    }
    if (!(*hi >= *lo)) {
        *lo = 0;
        *hi = 1;
    }
    if (*hi - *lo < 1e-12 * (1 + fabs(*hi))) {
        *lo -= 0.5;
        *hi += 0.5;
    }
}

/* ---- decoding heatmap ---- */

int an_figure_heatmap(const char *path, const char *title, const char *const *rows, int n_rows,
                      const char *const *cols, int n_cols, const double *values, char *err,
                      size_t err_sz) {
    const double cw = 66, ch = 30;
    AnPlot p;
    /* measure the labels on a scratch canvas */
    if (an_plot_begin(&p, 8, 8)) {
        return ag_errorf(err, err_sz, AG_ENOMEM, "%s: out of memory", path);
    }
    double row_w = 0, col_w = 0;
    for (int i = 0; i < n_rows; i++) {
        row_w = fmax(row_w, an_plot_text_width(&p, TEXT, rows[i]));
    }
    for (int j = 0; j < n_cols; j++) {
        col_w = fmax(col_w, an_plot_text_width(&p, TEXT, cols[j]));
    }
    double title_w = an_plot_text_width(&p, TITLE, title);
    an_plot_end(&p);
    double left = row_w + 24, top = 58 + col_w + 12;
    double grid_w = n_cols * cw, grid_h = n_rows * ch;
    double bar_h = fmax(grid_h, 160);
    int width = (int)fmax(left + grid_w + 110, title_w + 40);
    int height = (int)(top + fmax(grid_h, bar_h) + 30);
    if (an_plot_begin(&p, width, height)) {
        return ag_errorf(err, err_sz, AG_ENOMEM, "%s: out of memory", path);
    }
    an_plot_text(&p, width / 2.0, 12, TITLE, 0.5, 0, 0, title);
    char text[32];
    for (int i = 0; i < n_rows; i++) {
        an_plot_text(&p, left - 8, top + (i + 0.5) * ch, TEXT, 1, 0.5, 0, rows[i]);
        for (int j = 0; j < n_cols; j++) {
            double v = values[i * n_cols + j], rgb[3] = {0.82, 0.82, 0.82};
            if (isfinite(v)) {
                an_plot_viridis(v, rgb);
            }
            fill_rect(&p, left + j * cw, top + i * ch, cw - 1, ch - 1, rgb);
            /* the value in the cell, light on dark colours */
            double lum = 0.3 * rgb[0] + 0.59 * rgb[1] + 0.11 * rgb[2];
            /* two decimals; -0.004 shows as 0.00, not -0.00 */
            snprintf(text, sizeof text, isfinite(v) ? "%.2f" : "n/a", fabs(v) < 0.005 ? 0.0 : v);
            cairo_font_extents_t fe;
            cairo_set_font_size(p.cr, SMALL);
            cairo_font_extents(p.cr, &fe);
            double tw = an_plot_text_width(&p, SMALL, text);
            cairo_set_source_rgb(p.cr, lum < 0.5 ? 1 : 0.1, lum < 0.5 ? 1 : 0.1,
                                 lum < 0.5 ? 1 : 0.1);
            cairo_move_to(p.cr, left + (j + 0.5) * cw - tw / 2,
                          top + (i + 0.5) * ch + (fe.ascent - fe.descent) / 2);
            cairo_show_text(p.cr, text);
        }
    }
    for (int j = 0; j < n_cols; j++) {
        an_plot_text(&p, left + (j + 0.5) * cw, top - 6, TEXT, 0, 0.5, M_PI / 2, cols[j]);
    }
    /* axis titles: the layers down the left, the variables across the top */
    an_plot_text(&p, left - 8, top - 6, TEXT + 1, 1, 1, 0, "layer");
    an_plot_text(&p, left + grid_w / 2, 36, TEXT + 1, 0.5, 0, 0, "variable");
    an_plot_colorbar(&p, left + grid_w + 20, top, 18, bar_h, 0, 1, "out-of-fold R\u00b2");
    return an_plot_save(&p, path, err, err_sz);
}

/* ---- PCA ---- */

int an_figure_spectra(const char *path, const char *const *names, const double *const *fractions,
                      const int *d, int n, char *err, size_t err_sz) {
    int m = 1;
    double lo = 1;
    for (int l = 0; l < n; l++) {
        int shown = d[l] < 50 ? d[l] : 50;
        m = shown > m ? shown : m;
        for (int k = 0; k < shown; k++) {
            lo = fractions[l][k] > 0 ? fmin(lo, fractions[l][k]) : lo;
        }
    }
    AnPlot p;
    int width = 900, height = 520 + (n > 18 ? (n - 18) * 16 : 0);
    if (an_plot_begin(&p, width, height)) {
        return ag_errorf(err, err_sz, AG_ENOMEM, "%s: out of memory", path);
    }
    AnAxes a = {.left = 80, .top = 50, .width = 520, .height = 400, .log_y = 1};
    a.x0 = 0.5;
    a.x1 = m + 0.5;
    a.y0 = pow(10, floor(log10(lo)));
    a.y1 = 1.0;
    an_plot_axes(&p, &a, "PCA: explained variance per component", "component",
                 "fraction of variance");
    double x[50];
    for (int k = 0; k < 50; k++) {
        x[k] = k + 1;
    }
    for (int l = 0; l < n; l++) {
        double rgb[3];
        an_plot_palette(l, rgb);
        an_plot_line(&p, &a, x, fractions[l], d[l] < 50 ? d[l] : 50, rgb, 2.0);
        /* the legend at the right */
        double y = a.top + 8 + l * 16;
        cairo_set_source_rgb(p.cr, rgb[0], rgb[1], rgb[2]);
        cairo_set_line_width(p.cr, 3);
        cairo_move_to(p.cr, a.left + a.width + 20, y);
        cairo_line_to(p.cr, a.left + a.width + 40, y);
        cairo_stroke(p.cr);
        text_fit(&p, a.left + a.width + 46, y, SMALL, width - (a.left + a.width + 52), 0, 0.5,
                 names[l]);
    }
    return an_plot_save(&p, path, err, err_sz);
}

int an_figure_trajectories(const char *path, const char *const *names,
                           const double *const *trajectory, const int64_t *len, const int *keep,
                           int n, int episode, char *err, size_t err_sz) {
    int cols, rows;
    an_plot_grid(n, &cols, &rows);
    AnPlot p;
    if (an_plot_begin(&p, cols * PANEL_W, HEADER + rows * PANEL_H)) {
        return ag_errorf(err, err_sz, AG_ENOMEM, "%s: out of memory", path);
    }
    char title[160];
    snprintf(title, sizeof title, "PCA trajectories of episode %d (colour: time, dark to light)",
             episode);
    an_plot_text(&p, cols * PANEL_W / 2.0, 12, TITLE, 0.5, 0, 0, title);
    for (int l = 0; l < n; l++) {
        AnAxes a = panel_axes(l, cols);
        const double *t = trajectory[l];
        int k = keep[l];
        if (k < 2) {
            an_plot_axes(&p, &a, NULL, "PC1", "(one unit)");
            text_fit(&p, a.left + a.width / 2, a.top - 8, TEXT, a.width, 0.5, 1, names[l]);
            continue;
        }
        range_of(t, len[l], k, &a.x0, &a.x1);
        range_of(t + 1, len[l], k, &a.y0, &a.y1);
        an_plot_axes(&p, &a, NULL, "PC1", "PC2");
        text_fit(&p, a.left + a.width / 2, a.top - 8, TEXT, a.width, 0.5, 1, names[l]);
        cairo_set_line_width(p.cr, 1.6);
        for (int64_t i = 1; i < len[l]; i++) {
            double rgb[3];
            an_plot_viridis((double)i / (double)(len[l] > 1 ? len[l] - 1 : 1), rgb);
            cairo_set_source_rgb(p.cr, rgb[0], rgb[1], rgb[2]);
            cairo_move_to(p.cr, an_axes_x(&a, t[(i - 1) * k]), an_axes_y(&a, t[(i - 1) * k + 1]));
            cairo_line_to(p.cr, an_axes_x(&a, t[i * k]), an_axes_y(&a, t[i * k + 1]));
            cairo_stroke(p.cr);
        }
        /* the start as a dot, the end as a square */
        cairo_set_source_rgb(p.cr, 0.1, 0.1, 0.1);
        cairo_arc(p.cr, an_axes_x(&a, t[0]), an_axes_y(&a, t[1]), 3.5, 0, 2 * M_PI);
        cairo_fill(p.cr);
        int64_t e = len[l] - 1;
        cairo_rectangle(p.cr, an_axes_x(&a, t[e * k]) - 3.5, an_axes_y(&a, t[e * k + 1]) - 3.5, 7,
                        7);
        cairo_fill(p.cr);
    }
    return an_plot_save(&p, path, err, err_sz);
}

/* ---- RSA ---- */

int an_figure_rdm(const char *path, const char *layer, const double *rdm, int k, const double *lo,
                  const double *hi, const char *variable, char *err, size_t err_sz) {
    char(*labels)[48] = malloc(sizeof *labels * (size_t)k);
    AnPlot p;
    if (!labels || an_plot_begin(&p, 8, 8)) {
        free(labels);
        return ag_errorf(err, err_sz, AG_ENOMEM, "%s: out of memory", path);
    }
    double label_w = 0, vmax = 0;
    for (int i = 0; i < k; i++) {
        snprintf(labels[i], sizeof labels[i], "%.3g to %.3g", lo[i], hi[i]);
        label_w = fmax(label_w, an_plot_text_width(&p, SMALL, labels[i]));
        for (int j = 0; j < k; j++) {
            vmax = fmax(vmax, rdm[i * k + j]);
        }
    }
    an_plot_end(&p);
    double cell = fmax(12, fmin(48, 420.0 / k)), side = cell * k;
    double left = label_w + 60, top = 64;
    int width = (int)(left + side + 120), height = (int)(top + side + label_w + 56);
    width = width < 560 ? 560 : width;
    if (an_plot_begin(&p, width, height)) {
        free(labels);
        return ag_errorf(err, err_sz, AG_ENOMEM, "%s: out of memory", path);
    }
    char title[AN_H5_NAME_MAX + 64];
    snprintf(title, sizeof title, "RDM of %s (1 - Pearson r)", layer);
    text_fit(&p, width / 2.0, 10, TITLE, width - 20, 0.5, 0, title);
    snprintf(title, sizeof title, "conditions: quantile bins of %s", variable);
    text_fit(&p, width / 2.0, 32, TEXT, width - 20, 0.5, 0, title);
    double scale = vmax > 0 ? vmax : 1;
    for (int i = 0; i < k; i++) {
        for (int j = 0; j < k; j++) {
            double rgb[3];
            an_plot_viridis(rdm[i * k + j] / scale, rgb);
            fill_rect(&p, left + j * cell, top + i * cell, cell, cell, rgb);
        }
        an_plot_text(&p, left - 6, top + (i + 0.5) * cell, SMALL, 1, 0.5, 0, labels[i]);
        an_plot_text(&p, left + (i + 0.5) * cell, top + side + 6, SMALL, 1, 0.5, M_PI / 2,
                     labels[i]);
    }
    an_plot_text(&p, 14, top + side / 2, TEXT, 0.5, 0, M_PI / 2, variable);
    an_plot_text(&p, left + side / 2, top + side + label_w + 14, TEXT, 0.5, 0, 0, variable);
    an_plot_colorbar(&p, left + side + 20, top, 18, side, 0, scale, "1 - r");
    free(labels);
    return an_plot_save(&p, path, err, err_sz);
}

/* ---- timescales ---- */

int an_figure_timescales(const char *path, const char *const *names, const double *const *tau,
                         const int *d, int n, int max_lag, char *err, size_t err_sz) {
    int cols, rows;
    an_plot_grid(n, &cols, &rows);
    AnPlot p;
    if (an_plot_begin(&p, cols * PANEL_W, HEADER + rows * PANEL_H)) {
        return ag_errorf(err, err_sz, AG_ENOMEM, "%s: out of memory", path);
    }
    an_plot_text(&p, cols * PANEL_W / 2.0, 12, TITLE, 0.5, 0, 0,
                 "Autocorrelation time constants of the units (lag to 1/e)");
    /* 25 bins up to the largest tau (10 % beyond it), at most max_lag */
    double top_tau = 0;
    for (int l = 0; l < n; l++) {
        for (int j = 0; j < d[l]; j++) {
            top_tau = isfinite(tau[l][j]) ? fmax(top_tau, tau[l][j]) : top_tau;
        }
    }
    double span = fmin(fmax(ceil(top_tau * 1.1), 1.0), (double)(max_lag > 0 ? max_lag : 1));
    const int bins = 25;
    double width = span / bins;
    double *finite = malloc(sizeof(double) * (size_t)(d[0] > 0 ? d[0] : 1));
    for (int l = 0; l < n; l++) {
        int count[25] = {0}, most = 1, valid = 0;
        double *grown = realloc(finite, sizeof(double) * (size_t)(d[l] > 0 ? d[l] : 1));
        if (!grown) {
            free(finite);
            an_plot_end(&p);
            return ag_errorf(err, err_sz, AG_ENOMEM, "%s: out of memory", path);
        }
        finite = grown;
        for (int j = 0; j < d[l]; j++) {
            if (isfinite(tau[l][j])) {
                finite[valid++] = tau[l][j];
                int b = (int)(tau[l][j] / width);
                b = b < 0 ? 0 : b >= bins ? bins - 1 : b; /* capped units in the last */
                most = ++count[b] > most ? count[b] : most;
            }
        }
        AnAxes a = panel_axes(l, cols);
        a.x0 = 0;
        a.x1 = bins * width;
        a.y0 = 0;
        a.y1 = most * 1.15;
        double rgb[3];
        an_plot_palette(l, rgb);
        for (int b = 0; b < bins; b++) {
            double x0 = an_axes_x(&a, b * width), x1 = an_axes_x(&a, (b + 1) * width);
            double y = an_axes_y(&a, count[b]);
            fill_rect(&p, x0 + 0.5, y, x1 - x0 - 1, a.top + a.height - y, rgb);
        }
        an_plot_axes(&p, &a, NULL, "tau (steps)", "units");
        text_fit(&p, a.left + a.width / 2, a.top - 8, TEXT, a.width, 0.5, 1, names[l]);
        /* the median as a dashed line, with the counts beside it */
        double median = an_median(finite, valid);
        char note[96];
        snprintf(note, sizeof note, "median %.3g; %d of %d units constant", median, d[l] - valid,
                 d[l]);
        if (isfinite(median)) {
            double x = an_axes_x(&a, median), dash = 4;
            cairo_set_source_rgb(p.cr, 0.1, 0.1, 0.1);
            cairo_set_line_width(p.cr, 1.2);
            cairo_set_dash(p.cr, &dash, 1, 0);
            cairo_move_to(p.cr, x, a.top);
            cairo_line_to(p.cr, x, a.top + a.height);
            cairo_stroke(p.cr);
            cairo_set_dash(p.cr, NULL, 0, 0);
        }
        an_plot_text(&p, a.left + a.width - 4, a.top + 4, SMALL, 1, 0, 0, note);
    }
    free(finite);
    return an_plot_save(&p, path, err, err_sz);
}

/* ---- all figures of an analysis ---- */

/* out_dir/name into path, and the name recorded as an output */
static int output_path(AnAnalysis *a, const char *name, char *path, size_t sz, char *err,
                       size_t err_sz) {
    if ((size_t)snprintf(path, sz, "%s/%s", a->opt.out_dir, name) >= sz) {
        return ag_errorf(err, err_sz, AG_ETOOBIG, "%s/%s: path too long", a->opt.out_dir, name);
    }
    return 0;
}

static int save_and_record(AnAnalysis *a, const char *name, int rc, char *err, size_t err_sz) {
    if (rc == 0 && an_analysis_add_output(a, name)) {
        rc = ag_errorf(err, err_sz, AG_ENOMEM, "too many outputs");
    }
    return rc;
}

/* "rdm_<layer>.png" with every character outside [A-Za-z0-9._-] made '_' */
static void rdm_name(char *out, size_t sz, const char *layer) {
    snprintf(out, sz, "rdm_%s", layer);
    for (char *c = out; *c; c++) {
        int ok = (*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') ||
                 *c == '.' || *c == '_' || *c == '-';
        *c = ok ? *c : '_';
    }
    size_t len = strlen(out);
    snprintf(out + len, sz - len, ".png");
}

static int draw_decoding(AnAnalysis *a, const char **names, char *path, char *err, size_t err_sz) {
    int L = 0, V = a->n_vars;
    const char **rows = names, **cols = names + a->n_layers;
    double *values = malloc(sizeof(double) * (size_t)(a->n_layers * V > 0 ? a->n_layers * V : 1));
    if (!values) {
        return ag_errorf(err, err_sz, AG_ENOMEM, "out of memory");
    }
    for (int l = 0; l < a->n_layers; l++) {
        if (a->layers[l].decoded) {
            rows[L] = a->layers[l].info->name;
            memcpy(values + (size_t)L * V, a->layers[l].ridge.r2, sizeof(double) * (size_t)V);
            L++;
        }
    }
    for (int v = 0; v < V; v++) {
        cols[v] = a->file->variables[a->var_index[v]].name;
    }
    int rc = 0;
    if (L > 0) {
        rc = output_path(a, "decoding.png", path, PATH_MAX_AN, err, err_sz);
        rc = rc ? rc
                : an_figure_heatmap(path, "Decoding: out-of-fold R\u00b2 (ridge, nested CV)", rows,
                                    L, cols, V, values, err, err_sz);
        rc = save_and_record(a, "decoding.png", rc, err, err_sz);
    }
    free(values);
    return rc;
}

int an_figures_write(AnAnalysis *a, char *err, size_t err_sz) {
    int L = a->n_layers, n = 0, rc = 0;
    const char **names = malloc(sizeof(char *) * (size_t)(2 * L + a->n_vars + 1));
    const double **arrays = malloc(sizeof(double *) * (size_t)(L + 1));
    int *ints = malloc(sizeof(int) * 2 * (size_t)(L + 1));
    int64_t *lens = malloc(sizeof(int64_t) * (size_t)(L + 1));
    char *path = malloc(PATH_MAX_AN);
    if (!names || !arrays || !ints || !lens || !path) {
        rc = ag_errorf(err, err_sz, AG_ENOMEM, "out of memory");
        goto out;
    }
    rc = draw_decoding(a, names + L, path, err, err_sz);
    /* PCA: the layers that have it */
    for (int l = 0; l < L && rc == 0; l++) {
        const AnLayerResult *r = &a->layers[l];
        if (r->has_pca) {
            names[n] = r->info->name;
            arrays[n] = r->pca.fraction;
            ints[n] = r->pca.d;
            n++;
        }
    }
    if (n > 0 && rc == 0) {
        rc = output_path(a, "pca_spectra.png", path, PATH_MAX_AN, err, err_sz);
        rc = rc ? rc : an_figure_spectra(path, names, arrays, ints, n, err, err_sz);
        rc = save_and_record(a, "pca_spectra.png", rc, err, err_sz);
        n = 0;
        for (int l = 0; l < L; l++) {
            const AnLayerResult *r = &a->layers[l];
            if (r->has_pca) {
                arrays[n] = r->trajectory;
                lens[n] = r->trajectory_len;
                ints[n++] = r->pca.keep;
            }
        }
        rc = rc ? rc : output_path(a, "pca_trajectories.png", path, PATH_MAX_AN, err, err_sz);
        rc = rc ? rc
                : an_figure_trajectories(path, names, arrays, lens, ints, n, a->opt.episode, err,
                                         err_sz);
        rc = save_and_record(a, "pca_trajectories.png", rc, err, err_sz);
    }
    /* one RDM per layer */
    char variable[AN_H5_NAME_MAX + 32], name[AN_H5_NAME_MAX + 16];
    if (a->rsa_var >= 0) {
        snprintf(variable, sizeof variable, "%s[%d]", a->file->variables[a->rsa_var].name,
                 a->rsa_col);
    }
    for (int l = 0; l < L && rc == 0; l++) {
        const AnLayerResult *r = &a->layers[l];
        if (r->rdm) {
            rdm_name(name, sizeof name, r->info->name);
            rc = output_path(a, name, path, PATH_MAX_AN, err, err_sz);
            rc = rc ? rc
                    : an_figure_rdm(path, r->info->name, r->rdm, a->bins.k, a->bins.lo, a->bins.hi,
                                    variable, err, err_sz);
            rc = save_and_record(a, name, rc, err, err_sz);
        }
    }
    /* timescales of the layers that have them */
    n = 0;
    int max_lag = 1;
    for (int l = 0; l < L && rc == 0; l++) {
        const AnLayerResult *r = &a->layers[l];
        if (r->ts.d > 0) {
            names[n] = r->info->name;
            arrays[n] = r->ts.tau;
            ints[n++] = r->ts.d;
            max_lag = r->ts.max_lag > max_lag ? r->ts.max_lag : max_lag;
        }
    }
    if (n > 0 && rc == 0) {
        rc = output_path(a, "timescales.png", path, PATH_MAX_AN, err, err_sz);
        rc = rc ? rc : an_figure_timescales(path, names, arrays, ints, n, max_lag, err, err_sz);
        rc = save_and_record(a, "timescales.png", rc, err, err_sz);
    }
out:
    free(names);
    free(arrays);
    free(ints);
    free(lens);
    free(path);
    return rc;
}
