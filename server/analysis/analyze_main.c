/* angora-analyze: decoding, PCA, RSA and timescales of a recorded network's activity, from an
 * activation recording (HDF5) to tables, figures and analysis.json in an output folder.
 *
 *   angora-analyze FILE.h5 --out DIR [--variables a,b] [--layers x,y] [--folds K] [--seed S]
 *                  [--episode E] [--max-steps N] [--rsa-variable NAME[:COLUMN]] [--rsa-bins K]
 *                  [--rdm FILE] [--max-lag L] [--no-figures] [--quiet]
 *
 * Exit status as angora-train's: 0 done, 1 runtime error, 2 usage or bad input (the file, a
 * name, an option, a user RDM). docs/analysis.md has the details. */
#include "an_analysis.h"
#include "an_figures.h"
#include "an_report.h"

#include "ag_log.h"
#include "ag_rundir.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void usage(FILE *f) {
    fprintf(f, "usage: angora-analyze FILE.h5 --out DIR [--variables a,b] [--layers x,y] "
               "[--folds K]\n"
               "                      [--seed S] [--episode E] [--max-steps N]\n"
               "                      [--rsa-variable NAME[:COLUMN]] [--rsa-bins K] [--rdm "
               "FILE]\n"
               "                      [--max-lag L] [--no-figures] [--quiet]\n");
}

/* a whole number in [min, max] */
static int parse_count(const char *opt, const char *v, long long min, long long max,
                       long long *out) {
    char *end;
    long long n = strtoll(v, &end, 10);
    if (*v == '\0' || *end != '\0' || n < min || n > max) {
        fprintf(stderr, "angora-analyze: %s needs a whole number from %lld to %lld, got '%s'\n",
                opt, min, max, v);
        return -1;
    }
    *out = n;
    return 0;
}

static int parse_args(int argc, char **argv, AnOptions *o, int *quiet) {
    an_options_default(o);
    *quiet = 0;
    for (int i = 1; i < argc; i++) {
        const char *s = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        long long n = 0;
        int rc = 0;
        if (strcmp(s, "--no-figures") == 0) {
            o->figures = 0;
            continue;
        }
        if (strcmp(s, "--quiet") == 0) {
            *quiet = 1;
            continue;
        }
        if (strncmp(s, "--", 2) != 0) {
            if (o->input) {
                fprintf(stderr, "angora-analyze: unexpected argument %s\n", s);
                return -1;
            }
            o->input = s;
            continue;
        }
        if (!v) {
            fprintf(stderr, "angora-analyze: unknown option %s (or its value is missing)\n", s);
            return -1;
        }
        i++;
        if (strcmp(s, "--out") == 0) {
            o->out_dir = v;
        } else if (strcmp(s, "--variables") == 0) {
            o->variables = v;
        } else if (strcmp(s, "--layers") == 0) {
            o->layers = v;
        } else if (strcmp(s, "--rsa-variable") == 0) {
            o->rsa_variable = v;
        } else if (strcmp(s, "--rdm") == 0) {
            o->rdm = v;
        } else if (strcmp(s, "--folds") == 0) {
            rc = parse_count(s, v, AN_RIDGE_FOLDS_MIN, AN_RIDGE_FOLDS_MAX, &n);
            o->folds = (int)n;
        } else if (strcmp(s, "--seed") == 0) {
            char *end;
            o->seed = strtoull(v, &end, 10);
            rc = *v == '\0' || *end != '\0' || *v == '-' ? -1 : 0;
            if (rc) {
                fprintf(stderr, "angora-analyze: --seed needs a whole number >= 0, got '%s'\n", v);
            }
        } else if (strcmp(s, "--episode") == 0) {
            rc = parse_count(s, v, 0, 1 << 30, &n);
            o->episode = (int)n;
        } else if (strcmp(s, "--max-steps") == 0) {
            rc = parse_count(s, v, 2, (long long)1 << 50, &n);
            o->max_steps = n;
        } else if (strcmp(s, "--rsa-bins") == 0) {
            rc = parse_count(s, v, 2, AN_RSA_BINS_MAX, &n);
            o->rsa_bins = (int)n;
        } else if (strcmp(s, "--max-lag") == 0) {
            rc = parse_count(s, v, 1, 1 << 20, &n);
            o->max_lag = (int)n;
        } else {
            fprintf(stderr, "angora-analyze: unknown option %s\n", s);
            return -1;
        }
        if (rc) {
            return -1;
        }
    }
    if (!o->input || !o->out_dir) {
        fprintf(stderr, "angora-analyze: %s is required\n", o->input ? "--out DIR" : "a FILE.h5");
        return -1;
    }
    return 0;
}

int main(int argc, char **argv) {
    AnOptions opt;
    int quiet;
    if (argc == 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        usage(stdout);
        return AG_EXIT_DONE;
    }
    if (parse_args(argc, argv, &opt, &quiet)) {
        usage(stderr);
        return AG_EXIT_USAGE;
    }
    ag_log_set_level(quiet ? AG_LOG_WARN : AG_LOG_INFO);
    char err[2048] = "";
    int bad_input = 0, code = AG_EXIT_ERROR;
    AnAnalysis *a = NULL;
    /* everything the user gave is checked before the first heavy step */
    if (an_analysis_open(&a, &opt, &bad_input, err, sizeof err)) {
        fprintf(stderr, "angora-analyze: %s\n", err);
        return bad_input ? AG_EXIT_USAGE : AG_EXIT_ERROR;
    }
    if (an_report_begin(a, err, sizeof err)) {
        /* an output folder that cannot be made is bad input, as a run directory is */
        code = AG_EXIT_USAGE;
        goto fail;
    }
    if (an_analysis_run(a, err, sizeof err) || an_report_tables(a, err, sizeof err) ||
        (opt.figures && an_figures_write(a, err, sizeof err)) ||
        an_report_json(a, err, sizeof err)) {
        goto fail;
    }
    printf("angora-analyze: %d layers, %d variables, %lld steps in %d episodes: %s/%s (%.1f s)\n",
           a->n_layers, a->n_vars, (long long)a->n, a->ep.n, opt.out_dir, AN_REPORT_JSON,
           a->seconds);
    an_analysis_free(a);
    return AG_EXIT_DONE;
fail:
    fprintf(stderr, "angora-analyze: %s\n", err);
    an_analysis_free(a);
    return code;
}
