/* The analysis as files: CSV tables (decoding.csv, pca.csv, timescales.csv, rdm_similarity.csv)
 * and analysis.json, which holds everything (the input file's identity, the options, every
 * result) and lists the other outputs.
 *
 * DESIGN: every file is written whole to a temporary name and renamed (ag_fs_write_atomic).
 * analysis.json is written last: its presence marks a complete set of outputs, so
 * an_report_begin removes a stale one before anything else is written. Numbers are written with
 * up to 10 significant digits; a value that does not exist (NaN: a constant column, a skipped
 * analysis) is an empty CSV field and a JSON null. */
#ifndef AN_REPORT_H
#define AN_REPORT_H

#include "an_analysis.h"

#include <stddef.h>

#define AN_REPORT_JSON "analysis.json"

/* creates the output folder (and its parents) and removes a previous analysis.json */
int an_report_begin(const AnAnalysis *a, char *err, size_t err_sz);
/* the CSV tables that have content (registered as outputs) */
int an_report_tables(AnAnalysis *a, char *err, size_t err_sz);
/* analysis.json, last */
int an_report_json(AnAnalysis *a, char *err, size_t err_sz);

#endif
