/* Ingestion's cost as a run grows: one run of N rows ingested through store_metrics_ingest in
 * 1000-row batches (as bench_scale fills), with the rows per CPU second of the ingesting thread
 * printed for each window of W rows, so that the first rows of a run (10^3 already stored) and
 * its rows at 10^6 compare in one process on one database.
 *
 * usage: bench_ingest_long DIR [--rows N] [--window W] [--pack] [--rows-from FILE
 *                           [--rows-rounded]]
 *   --pack  after each batch, store_metrics_rollup_pack as angorad's periodic roll-up call does
 *           (its CPU counted with the ingestion's)
 *   DIR must not hold a database yet; the generated rows are bench_scale's (30 keys, random
 *   full-precision reals), --rows-from replays a trainer's metrics.jsonl as bench_scale does.
 * (ANGORA_DATA_DIR must point at the migrations, as in the build tree's share/angora) */
#include "bench_rows.h"
#include "bench_util.h"
#include "store.h"

#include "ag_fs.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define BATCH_ROWS 1000
#define LINE_MAX_B 8192

static double thread_cpu_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void die(const char *what, const char *why) {
    fprintf(stderr, "bench_ingest_long: %s: %s\n", what, why);
    exit(1);
}

int main(int argc, char **argv) {
    long long rows = 1100000, window = 50000;
    const char *rows_from = NULL;
    int rounded = 0, pack = 0;
    char db[700], mig[600], err[512];
    char *buf = malloc((size_t)BATCH_ROWS * LINE_MAX_B);
    const char *lines[BATCH_ROWS];
    size_t lens[BATCH_ROWS];
    BenchRows real = {0};
    StoreExpNew x = {.name = "long", .task = "CartPole", .spec_json = "{}", .ranks = 1};
    Store *s = NULL;
    int64_t id = 0;
    unsigned seed = 7;
    long long off = 0, done = 0;
    double cpu = 0;
    if (argc < 2 || !buf) {
        die("usage", "bench_ingest_long DIR [--rows N] [--window W] [--pack] [--rows-from FILE "
                     "[--rows-rounded]]");
    }
    for (int i = 2; i < argc; i++) {
        if (!strcmp(argv[i], "--rows-rounded")) {
            rounded = 1;
        } else if (!strcmp(argv[i], "--pack")) {
            pack = 1;
        } else if (i + 1 < argc && !strcmp(argv[i], "--rows")) {
            rows = atoll(argv[++i]);
        } else if (i + 1 < argc && !strcmp(argv[i], "--window")) {
            window = atoll(argv[++i]);
        } else if (i + 1 < argc && !strcmp(argv[i], "--rows-from")) {
            rows_from = argv[++i];
        } else {
            die(argv[i], "unknown option");
        }
    }
    if (rows < 1 || window < BATCH_ROWS || window % BATCH_ROWS) {
        die("options", "need rows > 0 and a window of a multiple of 1000 rows");
    }
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (rows_from) {
        bench_rows_load(rows_from, 100000, rounded, &real);
    }
    ag_fs_mkdir_p(argv[1], 0755, NULL, 0);
    snprintf(db, sizeof(db), "%s/angorad.db", argv[1]);
    ag_fs_data_path("migrations", mig, sizeof(mig));
    if (store_open(db, &s, err, sizeof(err)) || store_migrate(s, mig, 0, NULL, err, sizeof(err)) ||
        store_exp_insert(s, &x, argv[1], &id, err, sizeof(err))) {
        die("open database", err);
    }
    printf("| rows stored before the window | rows per CPU second of the window |\n|---|---|\n");
    for (long long i = 0; i < rows; i += BATCH_ROWS) {
        int m = (int)(rows - i < BATCH_ROWS ? rows - i : BATCH_ROWS);
        size_t used = 0, added = 0;
        double c1;
        for (int j = 0; j < m; j++) {
            int len = rows_from ? bench_rows_line(&real, buf + used, LINE_MAX_B, i + j + 1)
                                : bench_metrics_line(buf + used, LINE_MAX_B, i + j + 1, &seed);
            lines[j] = buf + used;
            lens[j] = (size_t)len - 1;
            used += (size_t)len;
            off += len;
        }
        c1 = thread_cpu_s();
        if (store_metrics_ingest(s, id, lines, lens, (size_t)m, off, &added, NULL, err,
                                 sizeof(err))) {
            die("ingest", err);
        }
        if (pack) {
            int64_t packs = 0;
            if (store_metrics_rollup_pack(s, 1.0, &packs, err, sizeof(err))) {
                die("pack", err);
            }
        }
        cpu += thread_cpu_s() - c1;
        done += (long long)added;
        if ((i + m) % window == 0) {
            printf("| %lld | %.0f |\n", i + m - window, (double)window / cpu);
            cpu = 0;
        }
    }
    store_close(s);
    bench_rows_free(&real);
    free(buf);
    printf("%lld rows stored\n", done);
    return 0;
}
