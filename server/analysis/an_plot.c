/* Drawing primitives over cairo (an_plot.h): canvas, text, axes, lines, colour maps, PNG. */
#include "an_plot.h"

#include "ag_buf.h"
#include "ag_error.h"
#include "ag_fs.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#define FONT        "sans-serif"
#define TICK_SIZE   11.0
#define LABEL_SIZE  13.0
#define TITLE_SIZE  14.0
#define TICK_LENGTH 4.0

/* ---- canvas ---- */

int an_plot_begin(AnPlot *p, int width, int height) {
    memset(p, 0, sizeof *p);
    p->surface = cairo_image_surface_create(CAIRO_FORMAT_RGB24, width, height);
    if (cairo_surface_status(p->surface) != CAIRO_STATUS_SUCCESS) {
        cairo_surface_destroy(p->surface);
        p->surface = NULL;
        return AG_ENOMEM;
    }
    p->cr = cairo_create(p->surface);
    p->width = width;
    p->height = height;
    cairo_set_source_rgb(p->cr, 1, 1, 1);
    cairo_paint(p->cr);
    cairo_select_font_face(p->cr, FONT, CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);
    cairo_set_line_join(p->cr, CAIRO_LINE_JOIN_ROUND);
    return 0;
}

void an_plot_end(AnPlot *p) {
    if (p->cr) {
        cairo_destroy(p->cr);
    }
    if (p->surface) {
        cairo_surface_destroy(p->surface);
    }
    memset(p, 0, sizeof *p);
}

static cairo_status_t png_append(void *closure, const unsigned char *data, unsigned int length) {
    return ag_buf_append(closure, data, length) ? CAIRO_STATUS_WRITE_ERROR : CAIRO_STATUS_SUCCESS;
}

int an_plot_save(AnPlot *p, const char *path, char *err, size_t err_sz) {
    AgBuf png;
    int rc = ag_buf_init(&png, 1 << 16, AN_PLOT_PNG_MAX);
    if (rc == 0) {
        cairo_surface_flush(p->surface);
        if (cairo_status(p->cr) != CAIRO_STATUS_SUCCESS ||
            cairo_surface_write_to_png_stream(p->surface, png_append, &png) !=
                CAIRO_STATUS_SUCCESS) {
            rc = ag_errorf(err, err_sz, AG_EIO, "%s: cannot draw or encode the figure", path);
        } else {
            rc = ag_fs_write_atomic(path, png.data, png.len, err, err_sz);
        }
    } else {
        rc = ag_errorf(err, err_sz, rc, "%s: out of memory", path);
    }
    ag_buf_free(&png);
    an_plot_end(p);
    return rc;
}

/* ---- text ---- */

void an_plot_text(AnPlot *p, double x, double y, double size, double ax, double ay, double angle,
                  const char *text) {
    cairo_t *cr = p->cr;
    cairo_text_extents_t te;
    cairo_font_extents_t fe;
    cairo_set_font_size(cr, size);
    cairo_text_extents(cr, text, &te);
    cairo_font_extents(cr, &fe);
    cairo_save(cr);
    cairo_translate(cr, x, y);
    cairo_rotate(cr, -angle);
    /* anchor on the advance width and the font's ascent, so labels line up */
    double h = fe.ascent + fe.descent;
    cairo_move_to(cr, -ax * te.x_advance, -ay * h + fe.ascent);
    cairo_set_source_rgb(cr, 0.1, 0.1, 0.1);
    cairo_show_text(cr, text);
    cairo_restore(cr);
}

double an_plot_text_width(AnPlot *p, double size, const char *text) {
    cairo_text_extents_t te;
    cairo_set_font_size(p->cr, size);
    cairo_text_extents(p->cr, text, &te);
    return te.x_advance;
}

void an_plot_format(char *out, size_t out_sz, double v) {
    double a = fabs(v);
    if (v == 0) {
        snprintf(out, out_sz, "0");
    } else if (a >= 1e-3 && a < 1e5) {
        snprintf(out, out_sz, "%.4g", v);
    } else {
        snprintf(out, out_sz, "%.0e", v);
    }
}

/* ---- axes ---- */

double an_axes_x(const AnAxes *a, double v) {
    double span = a->x1 - a->x0;
    return a->left + (span != 0 ? (v - a->x0) / span : 0.5) * a->width;
}

double an_axes_y(const AnAxes *a, double v) {
    double lo = a->y0, hi = a->y1;
    if (a->log_y) {
        v = log10(v > 0 ? v : 1e-300);
        lo = log10(lo);
        hi = log10(hi);
    }
    double span = hi - lo;
    return a->top + a->height - (span != 0 ? (v - lo) / span : 0.5) * a->height;
}

int an_plot_ticks(double lo, double hi, int max_ticks, double *ticks) {
    if (!(hi > lo) || max_ticks < 2) {
        ticks[0] = lo;
        return 1;
    }
    double raw = (hi - lo) / (max_ticks - 1), mag = pow(10, floor(log10(raw)));
    double step = mag;
    const double mult[3] = {2, 5, 10};
    for (int i = 0; i < 3 && step < raw; i++) {
        step = mult[i] * mag;
    }
    int n = 0;
    for (double t = ceil(lo / step - 1e-9) * step; t <= hi + 1e-9 * step && n < max_ticks;
         t += step) {
        ticks[n++] = fabs(t) < 1e-12 * step ? 0 : t;
    }
    return n;
}

void an_plot_axes(AnPlot *p, const AnAxes *a, const char *title, const char *xlabel,
                  const char *ylabel) {
    cairo_t *cr = p->cr;
    cairo_set_source_rgb(cr, 0.2, 0.2, 0.2);
    cairo_set_line_width(cr, 1.0);
    cairo_rectangle(cr, a->left + 0.5, a->top + 0.5, a->width, a->height);
    cairo_stroke(cr);
    double ticks[16];
    char label[32];
    int n = an_plot_ticks(a->x0, a->x1, 7, ticks);
    for (int i = 0; i < n; i++) {
        double x = an_axes_x(a, ticks[i]);
        cairo_set_source_rgb(cr, 0.2, 0.2, 0.2);
        cairo_move_to(cr, x, a->top + a->height);
        cairo_line_to(cr, x, a->top + a->height + TICK_LENGTH);
        cairo_stroke(cr);
        an_plot_format(label, sizeof label, ticks[i]);
        an_plot_text(p, x, a->top + a->height + TICK_LENGTH + 2, TICK_SIZE, 0.5, 0, 0, label);
    }
    /* y: decades on a log axis, nice numbers otherwise */
    if (a->log_y) {
        n = 0;
        for (double e = ceil(log10(a->y0)); e <= floor(log10(a->y1)) && n < 16; e++) {
            ticks[n++] = pow(10, e);
        }
    } else {
        n = an_plot_ticks(a->y0, a->y1, 6, ticks);
    }
    double widest = 0;
    for (int i = 0; i < n; i++) {
        double y = an_axes_y(a, ticks[i]);
        cairo_set_source_rgb(cr, 0.2, 0.2, 0.2);
        cairo_move_to(cr, a->left - TICK_LENGTH, y);
        cairo_line_to(cr, a->left, y);
        cairo_stroke(cr);
        an_plot_format(label, sizeof label, ticks[i]);
        double w = an_plot_text_width(p, TICK_SIZE, label);
        widest = w > widest ? w : widest;
        an_plot_text(p, a->left - TICK_LENGTH - 3, y, TICK_SIZE, 1, 0.5, 0, label);
    }
    if (xlabel) {
        an_plot_text(p, a->left + a->width / 2, a->top + a->height + TICK_LENGTH + 18, LABEL_SIZE,
                     0.5, 0, 0, xlabel);
    }
    if (ylabel) {
        an_plot_text(p, a->left - TICK_LENGTH - widest - 10, a->top + a->height / 2, LABEL_SIZE,
                     0.5, 1, M_PI / 2, ylabel);
    }
    if (title) {
        an_plot_text(p, a->left + a->width / 2, a->top - 8, TITLE_SIZE, 0.5, 1, 0, title);
    }
}

void an_plot_line(AnPlot *p, const AnAxes *a, const double *x, const double *y, int n,
                  const double rgb[3], double width) {
    cairo_t *cr = p->cr;
    cairo_save(cr);
    cairo_rectangle(cr, a->left, a->top, a->width + 1, a->height + 1);
    cairo_clip(cr);
    cairo_set_source_rgb(cr, rgb[0], rgb[1], rgb[2]);
    cairo_set_line_width(cr, width);
    int drawing = 0;
    for (int i = 0; i < n; i++) {
        int ok = isfinite(x[i]) && isfinite(y[i]) && (!a->log_y || y[i] > 0);
        if (!ok) {
            drawing = 0;
            continue;
        }
        double px = an_axes_x(a, x[i]), py = an_axes_y(a, y[i]);
        if (drawing) {
            cairo_line_to(cr, px, py);
        } else {
            cairo_move_to(cr, px, py);
            drawing = 1;
        }
    }
    cairo_stroke(cr);
    cairo_restore(cr);
}

/* ---- colours ---- */

void an_plot_viridis(double t, double rgb[3]) {
    /* viridis sampled at 9 points, interpolated linearly */
    static const double v[9][3] = {
        {0.267, 0.005, 0.329}, {0.283, 0.141, 0.458}, {0.254, 0.265, 0.530},
        {0.207, 0.372, 0.553}, {0.164, 0.471, 0.558}, {0.128, 0.567, 0.551},
        {0.135, 0.659, 0.518}, {0.478, 0.821, 0.318}, {0.993, 0.906, 0.144}};
    t = isfinite(t) ? (t < 0 ? 0 : t > 1 ? 1 : t) : 0;
    double s = t * 8;
    int i = s >= 8 ? 7 : (int)s;
    double f = s - i;
    for (int c = 0; c < 3; c++) {
        rgb[c] = v[i][c] + f * (v[i + 1][c] - v[i][c]);
    }
}

void an_plot_palette(int i, double rgb[3]) {
    static const double pal[10][3] = {
        {0.122, 0.467, 0.706}, {1.000, 0.498, 0.055}, {0.173, 0.627, 0.173}, {0.839, 0.153, 0.157},
        {0.580, 0.404, 0.741}, {0.549, 0.337, 0.294}, {0.890, 0.467, 0.761}, {0.498, 0.498, 0.498},
        {0.737, 0.741, 0.133}, {0.090, 0.745, 0.812}};
    const double *c = pal[(i % 10 + 10) % 10];
    rgb[0] = c[0];
    rgb[1] = c[1];
    rgb[2] = c[2];
}

void an_plot_colorbar(AnPlot *p, double left, double top, double width, double height, double v0,
                      double v1, const char *label) {
    cairo_t *cr = p->cr;
    int steps = (int)height;
    for (int i = 0; i < steps; i++) {
        double rgb[3];
        an_plot_viridis(1.0 - (double)i / (steps > 1 ? steps - 1 : 1), rgb);
        cairo_set_source_rgb(cr, rgb[0], rgb[1], rgb[2]);
        cairo_rectangle(cr, left, top + i, width, 1.5);
        cairo_fill(cr);
    }
    cairo_set_source_rgb(cr, 0.2, 0.2, 0.2);
    cairo_set_line_width(cr, 1.0);
    cairo_rectangle(cr, left + 0.5, top + 0.5, width, height);
    cairo_stroke(cr);
    double ticks[16];
    char text[32];
    int n = an_plot_ticks(v0, v1, 6, ticks);
    double widest = 0;
    for (int i = 0; i < n; i++) {
        double y = top + height - (v1 > v0 ? (ticks[i] - v0) / (v1 - v0) : 0) * height;
        cairo_move_to(cr, left + width, y);
        cairo_line_to(cr, left + width + TICK_LENGTH, y);
        cairo_stroke(cr);
        an_plot_format(text, sizeof text, ticks[i]);
        widest = fmax(widest, an_plot_text_width(p, TICK_SIZE, text));
        an_plot_text(p, left + width + TICK_LENGTH + 3, y, TICK_SIZE, 0, 0.5, 0, text);
    }
    if (label) {
        an_plot_text(p, left + width + TICK_LENGTH + widest + 8, top + height / 2, LABEL_SIZE, 0.5,
                     0, M_PI / 2, label);
    }
}

void an_plot_grid(int n, int *cols, int *rows) {
    int c = 1;
    while (c * c < n) {
        c++;
    }
    *cols = n > 0 ? c : 1;
    *rows = n > 0 ? (n + c - 1) / c : 1;
}
