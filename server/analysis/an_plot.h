/* Drawing primitives for the analysis figures, over cairo: a canvas written to PNG atomically,
 * text, axes with ticks and labels, lines, a perceptually uniform colour map (viridis) with its
 * colour bar, a categorical palette, and the layout of small multiples.
 *
 * DESIGN: an AnAxes maps data to pixels inside a plotting box; everything drawn in data units
 * goes through it, so a figure is a sequence of "axes, then lines or cells". Text is cairo's
 * sans-serif face; sizes are in pixels. The PNG is encoded in memory and written with
 * ag_fs_write_atomic: a reader never finds half a picture. */
#ifndef AN_PLOT_H
#define AN_PLOT_H

#include <cairo.h>
#include <stddef.h>

#define AN_PLOT_PNG_MAX (64 << 20) /* bytes of one PNG */

typedef struct AnPlot {
    cairo_surface_t *surface;
    cairo_t *cr;
    int width, height;
} AnPlot;

typedef struct AnAxes {
    double left, top, width, height; /* the plotting box in pixels */
    double x0, x1, y0, y1;           /* the data range shown */
    int log_y;                       /* y in log10 (y0, y1 > 0) */
} AnAxes;

/* a white canvas; returns 0 or AG_ENOMEM */
int an_plot_begin(AnPlot *p, int width, int height);
/* encodes the canvas as PNG, writes it atomically to path and frees the canvas */
int an_plot_save(AnPlot *p, const char *path, char *err, size_t err_sz);
/* frees the canvas without writing it */
void an_plot_end(AnPlot *p);

/* text anchored at (x, y): ax, ay in [0, 1] place the anchor (0 left/top, 0.5 centre, 1
 * right/bottom); angle in radians, counter-clockwise */
void an_plot_text(AnPlot *p, double x, double y, double size, double ax, double ay, double angle,
                  const char *text);
double an_plot_text_width(AnPlot *p, double size, const char *text);

double an_axes_x(const AnAxes *a, double v);
double an_axes_y(const AnAxes *a, double v);
/* frame, ticks with their values, axis labels and a title above the box */
void an_plot_axes(AnPlot *p, const AnAxes *a, const char *title, const char *xlabel,
                  const char *ylabel);
/* a polyline through (x[i], y[i]) in data units, clipped to the box; non-finite points break it */
void an_plot_line(AnPlot *p, const AnAxes *a, const double *x, const double *y, int n,
                  const double rgb[3], double width);

/* viridis at t in [0, 1] (clamped) */
void an_plot_viridis(double t, double rgb[3]);
/* the i-th colour of a categorical palette (10 colours, repeating) */
void an_plot_palette(int i, double rgb[3]);
/* a vertical colour bar for values v0..v1 with ticks and a label */
void an_plot_colorbar(AnPlot *p, double left, double top, double width, double height, double v0,
                      double v1, const char *label);

/* "nice" tick values (1, 2, 5 x 10^k steps) within [lo, hi]: at most max_ticks into ticks */
int an_plot_ticks(double lo, double hi, int max_ticks, double *ticks);
/* columns and rows of a near-square grid of n panels */
void an_plot_grid(int n, int *cols, int *rows);
/* formats a tick value compactly ("0.25", "1e-05", "300") */
void an_plot_format(char *out, size_t out_sz, double v);

#endif
