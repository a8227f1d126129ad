/* One analysis of a recording: the options, the selected layers and variables, the analysed rows,
 * and every result, layer by layer. angora-analyze (analyze_main.c) runs it as: an_analysis_open
 * (validate the file and every option before any heavy work), an_analysis_run (decoding, PCA,
 * RSA and timescales per layer, then the RDM comparisons), an_report_* (tables and
 * analysis.json) and an_figures_write.
 *
 * DESIGN
 * - One layer's activity is in memory at a time ([N, D] float32); the task variables selected
 *   for decoding are held side by side as float64 targets [N, Q].
 * - The analysed rows are the first max_steps of the recording (all by default): whole episodes,
 *   the last one cut at the limit.
 * - Decoding and PCA work on D x D matrices, so layers wider than AN_GRAM_UNITS_MAX units skip
 *   them (the reason is recorded); RSA and timescales run on any width.
 * - Progress and skips go to the log (ag_log: info and warn); the program sets its level.
 * - Bad input (a missing file, an unknown name, an impossible option, a user RDM that does not
 *   fit) is found by an_analysis_open and marked as such, so the program can exit with the
 *   usage code; what fails later is a runtime error. */
#ifndef AN_ANALYSIS_H
#define AN_ANALYSIS_H

#include "an_h5.h"
#include "an_pca.h"
#include "an_ridge.h"
#include "an_rsa.h"
#include "an_timescale.h"

#include <stddef.h>
#include <stdint.h>

#define AN_GRAM_UNITS_MAX 2048
#define AN_FOLDS_DEFAULT  5
#define AN_OUTPUTS_MAX    512

typedef struct AnOptions {
    const char *input, *out_dir;
    const char *variables, *layers; /* comma-separated names; NULL: every one in the file */
    int folds;                      /* AN_FOLDS_DEFAULT */
    uint64_t seed;
    int episode;              /* the episode whose PCA trajectory is drawn */
    int64_t max_steps;        /* 0: every step */
    const char *rsa_variable; /* NAME[:COLUMN]; NULL: the first variable's first column */
    int rsa_bins;             /* AN_RSA_BINS_DEFAULT */
    const char *rdm;          /* a user's RDM (CSV or HDF5), or NULL */
    int max_lag;              /* AN_TIMESCALE_MAX_LAG */
    int figures;              /* draw the PNG figures */
} AnOptions;

typedef struct AnLayerResult {
    const AnH5Dataset *info;
    int decoded; /* ridge holds results */
    AnRidgeResult ridge;
    int has_pca; /* pca and trajectory hold results */
    AnPcaResult pca;
    double *trajectory; /* [trajectory_len, pca.keep] */
    int64_t trajectory_len;
    double *rdm; /* [rsa_k, rsa_k], or NULL */
    AnTimescaleResult ts;
    const char *skipped; /* why decoding and PCA were skipped, or NULL */
    double seconds;      /* time spent on this layer */
} AnLayerResult;

typedef struct AnAnalysis {
    AnOptions opt;
    AnH5File *file;
    /* the analysed rows and their episodes */
    int64_t n;
    AnEpisodes ep;
    int64_t *ep_len; /* the episodes' lengths after the max_steps cut */
    /* layers and variables, in the order asked for (file order by default) */
    int n_layers, n_vars;
    int *layer_index, *var_index; /* into file->layers, file->variables */
    int *var_offset;              /* [n_vars + 1] columns of each variable in y */
    int q;
    double *y; /* [n, q] */
    /* RSA: the binning variable, its column, the conditions, a user's RDM */
    int rsa_var, rsa_col; /* file variable index and column; -1 when no RSA */
    AnRsaBins bins;
    double *user_rdm;              /* [k, k] or NULL */
    AnLayerResult *layers;         /* [n_layers] */
    double *rdm_similarity;        /* [n_layers, n_layers] Spearman, NaN without RDMs */
    double *user_similarity;       /* [n_layers] or NULL */
    char *outputs[AN_OUTPUTS_MAX]; /* files written, relative to out_dir */
    int n_outputs;
    double seconds; /* the whole run */
} AnAnalysis;

/* defaults for every option */
void an_options_default(AnOptions *opt);
/* opens the recording and checks the options against it; *bad_input is 1 when the failure is
 * the user's input (usage exit), 0 for a runtime failure */
int an_analysis_open(AnAnalysis **a, const AnOptions *opt, int *bad_input, char *err,
                     size_t err_sz);
/* runs every analysis on every selected layer */
int an_analysis_run(AnAnalysis *a, char *err, size_t err_sz);
/* records a written output file (relative name) for analysis.json */
int an_analysis_add_output(AnAnalysis *a, const char *name);
void an_analysis_free(AnAnalysis *a);

#endif
