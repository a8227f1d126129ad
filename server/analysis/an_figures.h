/* The analysis figures as PNG (drawn with an_plot over cairo): the decoding R^2 heatmap (layer x
 * variable), PCA spectra, PCA trajectories, one RDM per layer, and timescale histograms. Each
 * figure function takes plain arrays, so it can be drawn and tested alone; an_figures_write
 * draws all of an analysis into its output folder. Every figure has a title, axis labels and,
 * where colour carries a value, a colour bar. */
#ifndef AN_FIGURES_H
#define AN_FIGURES_H

#include "an_analysis.h"

#include <stddef.h>
#include <stdint.h>

/* values [n_rows, n_cols]; NaN cells are grey; the colour scale is 0..1 (negatives at 0) */
int an_figure_heatmap(const char *path, const char *title, const char *const *rows, int n_rows,
                      const char *const *cols, int n_cols, const double *values, char *err,
                      size_t err_sz);
/* explained-variance fraction per component (log scale), one line per layer */
int an_figure_spectra(const char *path, const char *const *names, const double *const *fractions,
                      const int *d, int n, char *err, size_t err_sz);
/* one panel per layer: the trajectory [len, keep] on PC1 x PC2, coloured by time */
int an_figure_trajectories(const char *path, const char *const *names,
                           const double *const *trajectory, const int64_t *len, const int *keep,
                           int n, int episode, char *err, size_t err_sz);
/* an RDM [k, k] with its conditions labelled by their value ranges lo..hi */
int an_figure_rdm(const char *path, const char *layer, const double *rdm, int k, const double *lo,
                  const double *hi, const char *variable, char *err, size_t err_sz);
/* one panel per layer: a histogram of the units' tau (NaN skipped) over 0..max_lag */
int an_figure_timescales(const char *path, const char *const *names, const double *const *tau,
                         const int *d, int n, int max_lag, char *err, size_t err_sz);

/* every figure of a into its out_dir (registered as outputs) */
int an_figures_write(AnAnalysis *a, char *err, size_t err_sz);

#endif
