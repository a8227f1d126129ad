/* Benchmark of angorad at a research group's scale (not a test): fills a data directory with
 * 10,000 experiments and 10^7 metric rows of 30 numeric keys (one run of 10^6 rows, one of 80,
 * the rest about 900 each), then measures with 16 HTTP clients the experiment list under every
 * sort and filter the API offers (limit 100, following the next cursors), metric series of a
 * column key and of a non-column key on the 10^6-row run and of the 80-row run (1000 points),
 * ingestion rows/s while the list is under that load, bytes per metric row and restart-to-ready
 * with and without the integrity check.
 *
 * The fill is a bulk loader with the daemon's own schema and code: it inserts experiments with
 * store_exp_insert and hands batches of 1000 generated metrics.jsonl lines to
 * store_metrics_ingest, the call the daemon's ingestion makes after reading a file (only the file
 * read is skipped). The ingestion-under-load figure goes through the whole path: a
 * metrics.jsonl file read by ingest_run while angorad serves the clients on the same database.
 *
 * usage: bench_scale ANGORAD TRAINER [options]
 *   --dir DIR        data directory (kept); filled unless it already holds a filled database
 *   --rows N         metric rows in all (default 10000000)
 *   --big N          rows of the big run (default 1000000)
 *   --exps N         experiments (default 10000)
 *   --seconds S      per measured endpoint (default 5)
 *   --clients N      HTTP clients (default 16, at most 64)
 *   --ingest-rows N  rows ingested by ingest_run under load (default 200000); the list's
 *                    clients keep going until that ingestion is done
 *   --rows-from FILE fill with the rows of a trainer's metrics.jsonl (its first 100,000 lines)
 *                    instead of generated ones, replayed cyclically in every run with iteration,
 *                    env_steps, wall_s and cpu_s going on as in one long run (bench_rows.h)
 *   --rows-rounded   with --rows-from: every real rounded as angora-train now writes it
 *                    (ag_metric_round), the file as the current trainer would have written it
 *   --fill-only      stop after filling
 * SIGINT or SIGTERM during the fill stops it after the current batch: the run being filled ends
 * there, the database stays as filled so far, and a later run with the same --dir measures it
 *   --lists-only     measure only the list endpoints (no ingestion under load, no series)
 *   --series-only    measure only the series endpoints and the series mix (no ingestion
 *                    under load, no list; with --cache-mb 0 every answer is read from the
 *                    database)
 *   --reads          measure the list and series endpoints and the mixes of distinct queries
 *                    (no ingestion under load)
 *   --cache-mb N     angorad's response_cache_mb (default: angorad's own, but 0 when the
 *                    ingestion under load runs: it writes through a connection of its own,
 *                    whose commits angorad's write generations do not see)
 *   --mix-parts      --reads, and after the list mix the same mix held to each of its filters,
 *                    then to each of its sorts (where the mix's cost is)
 *   --compare-cache R  --reads R times with the response cache off (response_cache_mb 0), then
 *                    on (--cache-mb or the default), alternately, each on a fresh angorad
 * Each endpoint's row gives the share of answers angorad's response cache gave (hits over hits
 * and misses, from its Prometheus counters). The mixes ask a different query each time: the
 * list under a random sort, order, filter and page size, following next_cursor for a few pages;
 * the series of a random key of those the 10^6-row run holds (its generated or real rows) over
 * iteration or env_steps at 500, 1000 or 2000 points. A series answer with no points counts as
 * an error, and the exit status is 1 when any request failed.
 * (ANGORA_DATA_DIR must point at the migrations, as in the build tree's share/angora) */
#include "bench_rows.h"
#include "bench_util.h"
#include "daemon.h"
#include "store.h"

#include "ag_error.h"
#include "ag_fs.h"
#include "ag_time.h"

#include <curl/curl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_CLIENTS   64
#define BATCH_ROWS    1000
#define SMALL_ROWS    80
#define LINE_MAX_B    8192
#define REAL_ROWS_MAX 100000

typedef struct Options {
    const char *angorad;
    const char *trainer;
    char dir[512];
    long long rows, big, exps;
    double seconds;
    int clients;
    long long ingest_rows;
    int fill_only;
    int lists_only;
    int mix_parts;
    int series_only;
    int reads;
    int compare_rounds;
    const char *rows_from;
    int rows_rounded;
    char cache_mb[16];  /* "" for angorad's default */
    char http_nice[16]; /* "" for angorad's default */
} Options;

static Options opt = {.rows = 10000000,
                      .big = 1000000,
                      .exps = 10000,
                      .seconds = 5,
                      .clients = 16,
                      .ingest_rows = 200000};
static char token[128];
static int port;
static pid_t daemon_pid;
static volatile sig_atomic_t fill_stop; /* set by SIGINT or SIGTERM during the fill */

static void on_fill_signal(int sig) {
    (void)sig;
    fill_stop = 1;
}

/* CPU seconds (user + system) angorad has used so far */
static double daemon_cpu_s(void) {
    return bench_process_cpu_s(daemon_pid);
}

/* CPU seconds the calling thread has used */
static double thread_cpu_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static long long rows_of(long long e) {
    long long rest = opt.rows - opt.big - SMALL_ROWS, others = opt.exps - 2;
    if (e == 0) {
        return opt.big;
    }
    if (e == 1) {
        return SMALL_ROWS;
    }
    /* the rest spread evenly, the remainder over the first ones */
    return rest / others + ((e - 2) < rest % others ? 1 : 0);
}

static void die(const char *what, const char *err) {
    fprintf(stderr, "bench_scale: %s: %s\n", what, err);
    exit(1);
}

static void open_store(Store **s) {
    char db[700], mig[600], err[512];
    snprintf(db, sizeof(db), "%s/angorad.db", opt.dir);
    ag_fs_data_path("migrations", mig, sizeof(mig));
    if (store_open(db, s, err, sizeof(err)) || store_migrate(*s, mig, 0, NULL, err, sizeof(err))) {
        die("open database", err);
    }
}

/* a spec of realistic length (the list must not read it, but it sits in every row) */
static void spec_text(char *out, size_t sz, const char *task, long long e) {
    snprintf(out, sz,
             "{\"task\":\"%s\",\"name\":\"run-%lld\",\"seed\":%lld,\"budget\":{\"env_steps\":"
             "%lld},\"model\":{\"kind\":\"lstm\",\"hidden\":[256,256],\"recurrent\":128,"
             "\"activation\":\"tanh\"},\"ppo\":{\"lr\":0.0003,\"gamma\":0.99,\"lambda\":0.95,"
             "\"clip\":0.2,\"epochs\":10,\"minibatches\":32,\"horizon\":2048,\"entropy\":0.01,"
             "\"value_coef\":0.5,\"max_grad_norm\":0.5,\"target_kl\":0.02},\"envs\":16,"
             "\"eval\":{\"every\":10,\"episodes\":8,\"deterministic\":true},"
             "\"checkpoint_every\":100,\"notes\":\"%0400d\"}",
             task, e, e, 2048LL * (rows_of(e) + 100), 0);
}

static long long file_size(const char *name) {
    char path[700];
    struct stat sb;
    snprintf(path, sizeof(path), "%s/%s", opt.dir, name);
    return stat(path, &sb) == 0 ? (long long)sb.st_size : 0;
}

static void fill(void) {
    static const char *const tasks[] = {"CartPole", "Pendulum", "HandReach", "HandBlock", "Ant"};
    static const char *const states[] = {"succeeded", "failed", "cancelled", "succeeded"};
    char runs[700], err[512], spec[2048], name[64];
    char *buf = malloc((size_t)BATCH_ROWS * LINE_MAX_B);
    const char *lines[BATCH_ROWS];
    size_t lens[BATCH_ROWS];
    long long total = 0, next_progress = 1000000, e = 0;
    double t0 = ag_time_now(), t_ingest = 0, cpu_ingest = 0;
    Store *s = NULL;
    unsigned seed = 7;
    BenchRows real = {0};
    if (opt.rows_from) {
        bench_rows_load(opt.rows_from, REAL_ROWS_MAX, opt.rows_rounded, &real);
        printf("fill: rows of %s (%zu lines, reals %s%s), replayed cyclically\n", opt.rows_from,
               real.n, real.shortest ? "in their shortest form" : "as jansson writes them",
               opt.rows_rounded ? ", rounded as angora-train writes them" : "");
    }
    signal(SIGINT, on_fill_signal);
    signal(SIGTERM, on_fill_signal);
    open_store(&s);
    snprintf(runs, sizeof(runs), "%s/runs", opt.dir);
    for (e = 0; e < opt.exps && !fill_stop; e++) {
        const char *task = tasks[e % 5];
        StoreExpNew x = {.name = name,
                         .task = task,
                         .spec_json = spec,
                         .tags_json = e % 10 ? "[\"bench\"]" : "[\"bench\",\"best\"]",
                         .ranks = 1,
                         .priority = (int)(e % 3)};
        int64_t id;
        long long n = rows_of(e), off = 0;
        snprintf(name, sizeof(name), "%s-run-%lld", task, e);
        spec_text(spec, sizeof(spec), task, e);
        if (store_exp_insert(s, &x, runs, &id, err, sizeof(err))) {
            die("insert experiment", err);
        }
        for (long long i = 0; i < n && !fill_stop; i += BATCH_ROWS) {
            int m = (int)(n - i < BATCH_ROWS ? n - i : BATCH_ROWS);
            size_t used = 0, added = 0;
            double t1, c1;
            for (int j = 0; j < m; j++) {
                int len = opt.rows_from
                              ? bench_rows_line(&real, buf + used, LINE_MAX_B, i + j + 1)
                              : bench_metrics_line(buf + used, LINE_MAX_B, i + j + 1, &seed);
                lines[j] = buf + used;
                lens[j] = (size_t)len - 1; /* without the newline, as ingestion hands them */
                used += (size_t)len;
                off += len;
            }
            t1 = ag_time_now();
            c1 = thread_cpu_s();
            if (store_metrics_ingest(s, id, lines, lens, (size_t)m, off, &added, NULL, err,
                                     sizeof(err))) {
                die("ingest", err);
            }
            t_ingest += ag_time_now() - t1;
            cpu_ingest += thread_cpu_s() - c1;
            total += (long long)added;
            if (total >= next_progress) {
                double wall = ag_time_now() - t0;
                printf("fill: %lld rows, experiment %lld of %lld, %.0f s, %.0f rows/s, %.0f per "
                       "ingest CPU second\n",
                       total, e + 1, opt.exps, wall, (double)total / wall,
                       (double)total / cpu_ingest);
                next_progress += 1000000;
            }
        }
        /* every run but the big one has finished; started and finished times for those sorts */
        store_run_started(s, id, 0, 0, 1, NULL, 0);
        store_run_set_state(s, id, e == 0 ? "succeeded" : states[e % 4], NULL, NULL, 0);
        if (e % 1000 == 0) {
            printf("fill: %lld experiments, %lld rows, %.0f s\n", e + 1, total, ag_time_now() - t0);
        }
    }
    signal(SIGINT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    if (fill_stop) {
        printf("fill: stopped by a signal, the run of experiment %lld ended where it was\n", e);
    }
    printf("fill: %lld experiments, %lld metric rows in %.1f s (store_metrics_ingest %.0f "
           "rows/s, %.0f per CPU second)\n",
           e, total, ag_time_now() - t0, (double)total / t_ingest, (double)total / cpu_ingest);
    free(buf);
    store_close(s);
    bench_rows_free(&real);
    printf("fill: database %lld bytes, %.1f a metric row\n", file_size("angorad.db"),
           (double)file_size("angorad.db") / (double)total);
}

/* angorad on the bench's directory; port and token for the clients */
static pid_t start_daemon(const char *integrity, const char *cache_mb, double *ready_s) {
    const char *extra[8] = {"--max-cores", "1", "--integrity-check", integrity, NULL};
    int n = 4;
    if (opt.http_nice[0]) {
        extra[n++] = "--http-nice";
        extra[n++] = opt.http_nice;
    }
    if (cache_mb[0]) {
        extra[n++] = "--response-cache-mb";
        extra[n++] = cache_mb;
    }
    BenchDaemon d;
    bench_daemon_start_with(opt.angorad, opt.trainer, opt.dir, extra, &d);
    *ready_s = d.ready_s;
    /* on a loaded machine the wall time is mostly waiting for a core; the CPU compares */
    printf("start: integrity check %s, ready in %.3f s, angorad CPU %.3f s\n", integrity, d.ready_s,
           bench_process_cpu_s(d.pid));
    port = d.port;
    snprintf(token, sizeof(token), "%s", d.token);
    return d.pid;
}

static void stop_daemon(pid_t pid) {
    BenchDaemon d = {.pid = pid};
    bench_daemon_stop(&d);
}

typedef struct Body {
    char *p;
    size_t n, cap;
} Body;

static size_t body_put(char *p, size_t size, size_t n, void *ud) {
    Body *b = ud;
    size_t len = size * n;
    if (b->n + len + 1 > b->cap) {
        size_t cap = (b->n + len + 1) * 2;
        char *q = realloc(b->p, cap);
        if (!q) {
            return 0;
        }
        b->p = q;
        b->cap = cap;
    }
    memcpy(b->p + b->n, p, len);
    b->n += len;
    b->p[b->n] = '\0';
    return len;
}

/* what one measured endpoint asks: a fixed URL tail, and whether to follow next_cursor */
typedef enum EndpointMix { MIX_NONE = 0, MIX_LIST, MIX_SERIES } EndpointMix;
typedef struct Endpoint {
    const char *name;
    const char *path; /* after /api/v1/ */
    int follow;       /* append &cursor=<next_cursor of the previous answer> */
    EndpointMix mix;  /* a new query for each request instead of path */
} Endpoint;

/* the list mix held to one filter or one sort (1 + its index in mix_query's tables; 0 any) */
static int mix_held_filter, mix_held_sort;

/* the series mix's keys: those stored in the big run, whichever rows filled it (a trainer's
 * file has other keys than the generated rows; a key the run lacks answers an empty series) */
#define MIX_KEYS_MAX 256
static char mix_keys[MIX_KEYS_MAX][72];
static int n_mix_keys;

static void load_mix_keys(void) {
    Store *s = NULL;
    json_t *keys = NULL, *k;
    size_t i;
    char err[256];
    open_store(&s);
    if (store_metric_keys(s, 1, &keys, err, sizeof(err))) {
        die("keys of the big run", err);
    }
    store_close(s);
    n_mix_keys = 0;
    json_array_foreach(keys, i, k) {
        const char *name = json_string_value(k);
        if (name && n_mix_keys < MIX_KEYS_MAX && strlen(name) < sizeof(mix_keys[0])) {
            snprintf(mix_keys[n_mix_keys++], sizeof(mix_keys[0]), "%s", name);
        }
    }
    json_decref(keys);
    if (n_mix_keys == 0) {
        die("keys of the big run", "experiment 1 has no numeric metric keys");
    }
    printf("series mix: the %d numeric keys of the big run\n", n_mix_keys);
}

/* the next query of a mix into url (after /api/v1/); *pages counts down the pages of a list
 * query still to follow with cursor */
static const char *const mix_sorts[] = {"submitted", "name",     "task",   "state",   "priority",
                                        "started",   "finished", "return", "progress"};
static const char *const mix_filters[] = {
    "",          "&state=failed", "&state=succeeded",          "&task=HandBlock",
    "&task=Ant", "&tag=best",     "&task=Ant&state=succeeded", "&q=run-7"};
enum { MIX_SORTS = 9, MIX_FILTERS = 8 };

static void mix_query(EndpointMix mix, unsigned *seed, char *query, size_t sz, int *pages) {
    static const int limits[] = {25, 50, 100};
    static const int points[] = {500, 1000, 2000};
    int sort, asc, limit, filter;
    if (mix == MIX_SERIES) {
        snprintf(query, sz, "experiments/1/metrics/series?key=%s&points=%d%s",
                 mix_keys[rand_r(seed) % (unsigned)n_mix_keys], points[rand_r(seed) % 3],
                 rand_r(seed) % 2 ? "&x=env_steps" : "");
        return;
    }
    /* drawn in the same order whatever is held, so a held part asks what the whole mix would */
    sort = rand_r(seed) % MIX_SORTS;
    asc = rand_r(seed) % 2;
    limit = limits[rand_r(seed) % 3];
    filter = rand_r(seed) % MIX_FILTERS;
    sort = mix_held_sort ? mix_held_sort - 1 : sort;
    filter = mix_held_filter ? mix_held_filter - 1 : filter;
    snprintf(query, sz, "experiments?sort=%s&order=%s&limit=%d%s", mix_sorts[sort],
             asc ? "asc" : "desc", limit, mix_filters[filter]);
    *pages = 1 + rand_r(seed) % 5;
}

/* set while the ingestion thread runs: the clients of this endpoint go on until it is done, so
 * the load lasts as long as the ingestion measured */
static atomic_int ingesting;
static const Endpoint *load_while_ingesting;

typedef struct Client {
    const Endpoint *ep;
    double seconds;
    double *lat;
    size_t n, cap, errors;
} Client;

/* the next_cursor of a list answer (a number or a hex string), "" at the end */
static void next_cursor(const char *body, char *out, size_t sz) {
    const char *p = body ? strstr(body, "\"next_cursor\":") : NULL;
    size_t n = 0;
    out[0] = '\0';
    if (!p) {
        return;
    }
    p += strlen("\"next_cursor\":");
    if (*p == '"') {
        p++;
    }
    while (p[n] && p[n] != '"' && p[n] != ',' && p[n] != '}' && n + 1 < sz) {
        n++;
    }
    if (n == 4 && !strncmp(p, "null", 4)) {
        return;
    }
    memcpy(out, p, n);
    out[n] = '\0';
}

static void *client_thread(void *arg) {
    Client *c = arg;
    CURL *h = curl_easy_init();
    struct curl_slist *hdr = NULL;
    char auth[200], url[3000], cursor[1200] = "", query[512] = "";
    unsigned seed = (unsigned)(uintptr_t)c * 2654435761u;
    int pages = 0;
    Body body = {0};
    double t_end = ag_time_now() + c->seconds;
    snprintf(auth, sizeof(auth), "Authorization: Bearer %s", token);
    hdr = curl_slist_append(hdr, auth);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdr);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, body_put);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &body);
    curl_easy_setopt(h, CURLOPT_TIMEOUT, 10L);
    while ((ag_time_now() < t_end || (c->ep == load_while_ingesting && atomic_load(&ingesting))) &&
           c->n < c->cap) {
        long status = 0;
        double t0;
        int follow = c->ep->follow;
        if (c->ep->mix) {
            /* a new query when the pages of the last one are done */
            if (pages <= 0 || !cursor[0]) {
                mix_query(c->ep->mix, &seed, query, sizeof(query), &pages);
                cursor[0] = '\0';
            }
            pages--;
            follow = c->ep->mix == MIX_LIST;
        }
        snprintf(url, sizeof(url), "http://127.0.0.1:%d/api/v1/%s%s%s", port,
                 c->ep->mix ? query : c->ep->path, follow && cursor[0] ? "&cursor=" : "",
                 follow ? cursor : "");
        curl_easy_setopt(h, CURLOPT_URL, url);
        body.n = 0;
        t0 = ag_time_now();
        if (curl_easy_perform(h) != CURLE_OK ||
            (curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status), status != 200)) {
            c->errors++;
            cursor[0] = '\0';
        } else if (c->ep->follow || c->ep->mix == MIX_LIST) {
            next_cursor(body.p, cursor, sizeof(cursor));
        } else if (body.p && strstr(body.p, "\"source_points\":0,")) {
            /* every measured series is of a stored key: an empty one would measure nothing */
            c->errors++;
        }
        c->lat[c->n++] = ag_time_now() - t0;
    }
    free(body.p);
    curl_slist_free_all(hdr);
    curl_easy_cleanup(h);
    return NULL;
}

/* angorad's response cache counters (hits, misses) from its Prometheus text; 0 when absent */
static void cache_counters(double *hits, double *misses) {
    CURL *h = curl_easy_init();
    struct curl_slist *hdr = NULL;
    char auth[200], url[200];
    Body b = {0};
    const char *p;
    *hits = *misses = 0;
    snprintf(auth, sizeof(auth), "Authorization: Bearer %s", token);
    hdr = curl_slist_append(hdr, auth);
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/metrics", port);
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdr);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, body_put);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &b);
    if (curl_easy_perform(h) == CURLE_OK && b.p) {
        if ((p = strstr(b.p, "\nangora_response_cache_hits_total "))) {
            *hits = atof(p + strlen("\nangora_response_cache_hits_total "));
        }
        if ((p = strstr(b.p, "\nangora_response_cache_misses_total "))) {
            *misses = atof(p + strlen("\nangora_response_cache_misses_total "));
        }
    }
    free(b.p);
    curl_slist_free_all(hdr);
    curl_easy_cleanup(h);
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* requests of every endpoint that failed or answered an empty series: the exit status */
static size_t requests_failed;

/* opt.clients clients on one endpoint for opt.seconds; prints one table row */
static void measure(const Endpoint *ep) {
    pthread_t th[MAX_CLIENTS];
    Client cl[MAX_CLIENTS];
    size_t total = 0, errors = 0, k = 0;
    double t0, wall, *all, cpu0, cpu, hits0, misses0, hits1, misses1;
    cache_counters(&hits0, &misses0);
    t0 = ag_time_now();
    cpu0 = daemon_cpu_s();
    for (int i = 0; i < opt.clients; i++) {
        cl[i] = (Client){.ep = ep, .seconds = opt.seconds, .cap = 1000000};
        cl[i].lat = malloc(cl[i].cap * sizeof(double));
        pthread_create(&th[i], NULL, client_thread, &cl[i]);
    }
    for (int i = 0; i < opt.clients; i++) {
        pthread_join(th[i], NULL);
        total += cl[i].n;
        errors += cl[i].errors;
    }
    wall = ag_time_now() - t0;
    cpu = daemon_cpu_s() - cpu0;
    requests_failed += errors;
    cache_counters(&hits1, &misses1);
    hits1 -= hits0;
    misses1 -= misses0;
    all = malloc((total + 1) * sizeof(double));
    for (int i = 0; i < opt.clients; i++) {
        memcpy(all + k, cl[i].lat, cl[i].n * sizeof(double));
        k += cl[i].n;
        free(cl[i].lat);
    }
    qsort(all, total, sizeof(double), cmp_double);
    if (total == 0) {
        all[0] = 0;
    }
    printf("| %s | %.0f | %.2f | %.2f | %.2f | %.3f | %zu | %zu | %.1f %% |\n", ep->name,
           (double)total / wall, 1e3 * all[total / 2],
           1e3 * all[total ? (size_t)((double)total * 0.99) : 0], 1e3 * all[total ? total - 1 : 0],
           total ? 1e3 * cpu / (double)total : 0.0, total, errors,
           hits1 + misses1 > 0 ? 100.0 * hits1 / (hits1 + misses1) : 0.0);
    free(all);
}

/* ingestion through ingest_run (file read, parse, store) of a new run while the list is under
 * load: the run and its metrics.jsonl are made first, the thread only ingests */
typedef struct IngestLoad {
    long long rows;
    int64_t id;
    char run_dir[800];
    double rows_per_s;
    double rows_per_cpu_s; /* per CPU second of the ingesting thread: what a loaded machine's
                            * wall clock hides */
} IngestLoad;

static void ingest_prepare(IngestLoad *il) {
    char runs[700], path[900], err[512], spec[2048], line[LINE_MAX_B];
    Store *s = NULL;
    StoreExpNew x = {
        .name = "ingest-under-load", .task = "CartPole", .spec_json = spec, .ranks = 1};
    unsigned seed = 11;
    FILE *f;
    open_store(&s);
    spec_text(spec, sizeof(spec), "CartPole", 2);
    snprintf(runs, sizeof(runs), "%s/runs", opt.dir);
    if (store_exp_insert(s, &x, runs, &il->id, err, sizeof(err))) {
        die("insert", err);
    }
    /* paused: the scheduler neither starts it nor ingests it, the bench alone does */
    if (store_exp_pause(s, il->id, NULL, err, sizeof(err))) {
        die("pause", err);
    }
    store_close(s);
    snprintf(il->run_dir, sizeof(il->run_dir), "%s/%lld", runs, (long long)il->id);
    ag_fs_mkdir_p(il->run_dir, 0755, NULL, 0);
    snprintf(path, sizeof(path), "%s/metrics.jsonl", il->run_dir);
    f = fopen(path, "w");
    for (long long i = 1; f && i <= il->rows; i++) {
        bench_metrics_line(line, sizeof(line), i, &seed);
        fputs(line, f);
    }
    if (!f || fclose(f)) {
        die("write", path);
    }
}

static void *ingest_thread(void *arg) {
    IngestLoad *il = arg;
    char err[512];
    Store *s = NULL;
    Ingest *in = NULL;
    size_t rows = 0;
    double t0, cpu0;
    open_store(&s);
    if (ingest_create(&in, s, err, sizeof(err))) {
        die("ingest_create", err);
    }
    t0 = ag_time_now();
    cpu0 = thread_cpu_s();
    if (ingest_run(in, il->id, il->run_dir, &rows, err, sizeof(err))) {
        die("ingest_run", err);
    }
    il->rows_per_s = (double)rows / (ag_time_now() - t0);
    il->rows_per_cpu_s = (double)rows / (thread_cpu_s() - cpu0);
    il->rows = (long long)rows;
    atomic_store(&ingesting, 0);
    ingest_destroy(in);
    store_close(s);
    return NULL;
}

static void submit_training(void) {
    CURL *h = curl_easy_init();
    struct curl_slist *hdr = NULL;
    char auth[200], url[200];
    Body b = {0};
    long status = 0;
    snprintf(auth, sizeof(auth), "Authorization: Bearer %s", token);
    hdr = curl_slist_append(hdr, auth);
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/api/v1/experiments", port);
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdr);
    curl_easy_setopt(h, CURLOPT_POSTFIELDS,
                     "{\"task\":\"CartPole\",\"name\":\"bench-load\","
                     "\"budget\":{\"env_steps\":100000000}}");
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, body_put);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &b);
    curl_easy_perform(h);
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    if (status != 201) {
        fprintf(stderr, "bench_scale: submit answered %ld: %s\n", status, b.p ? b.p : "");
    }
    free(b.p);
    curl_slist_free_all(hdr);
    curl_easy_cleanup(h);
}

/* stops the trainings the bench started (left running by angorad's shutdown) */
static void stop_trainings(void) {
    Store *s = NULL;
    StoreRun runs[8];
    int n = 0;
    char err[256];
    open_store(&s);
    if (store_runs_in_state(s, "running", runs, 8, &n, err, sizeof(err)) == 0) {
        for (int i = 0; i < n; i++) {
            if (runs[i].pid > 1) {
                kill(-runs[i].pid, SIGTERM);
            }
            store_run_set_state(s, runs[i].id, "cancelled", NULL, NULL, 0);
        }
    }
    store_close(s);
}

static long long stored_rows(void) {
    Store *s = NULL;
    int64_t n = 0;
    char err[256];
    open_store(&s);
    store_metric_count(s, &n, err, sizeof(err));
    store_close(s);
    return (long long)n;
}

static void parse_options(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr,
                "usage: bench_scale ANGORAD TRAINER [--dir DIR] [--rows N] [--big N] "
                "[--exps N] [--seconds S] [--clients N] [--ingest-rows N] [--fill-only] "
                "[--rows-from FILE [--rows-rounded]] [--lists-only] [--series-only] [--reads] "
                "[--mix-parts] [--cache-mb N] [--http-nice N] [--compare-cache ROUNDS]\n");
        exit(2);
    }
    /* absolute: angorad starts the trainer from another directory */
    opt.angorad = realpath(argv[1], NULL);
    opt.trainer = realpath(argv[2], NULL);
    if (!opt.angorad || !opt.trainer) {
        die("usage", "ANGORAD and TRAINER must exist");
    }
    for (int i = 3; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--fill-only")) {
            opt.fill_only = 1;
            continue;
        }
        if (!strcmp(a, "--lists-only")) {
            opt.lists_only = 1;
            continue;
        }
        if (!strcmp(a, "--series-only")) {
            opt.series_only = 1;
            continue;
        }
        if (!strcmp(a, "--reads")) {
            opt.reads = 1;
            continue;
        }
        if (!strcmp(a, "--mix-parts")) {
            opt.mix_parts = 1;
            opt.reads = 1;
            continue;
        }
        if (!strcmp(a, "--rows-rounded")) {
            opt.rows_rounded = 1;
            continue;
        }
        if (!v) {
            die(a, "needs a value");
        }
        i++;
        if (!strcmp(a, "--dir")) {
            snprintf(opt.dir, sizeof(opt.dir), "%s", v);
        } else if (!strcmp(a, "--rows")) {
            opt.rows = atoll(v);
        } else if (!strcmp(a, "--big")) {
            opt.big = atoll(v);
        } else if (!strcmp(a, "--exps")) {
            opt.exps = atoll(v);
        } else if (!strcmp(a, "--seconds")) {
            opt.seconds = atof(v);
        } else if (!strcmp(a, "--ingest-rows")) {
            opt.ingest_rows = atoll(v);
        } else if (!strcmp(a, "--clients")) {
            opt.clients = atoi(v);
        } else if (!strcmp(a, "--rows-from")) {
            opt.rows_from = v;
        } else if (!strcmp(a, "--http-nice")) {
            snprintf(opt.http_nice, sizeof(opt.http_nice), "%s", v);
        } else if (!strcmp(a, "--cache-mb")) {
            snprintf(opt.cache_mb, sizeof(opt.cache_mb), "%s", v);
        } else if (!strcmp(a, "--compare-cache")) {
            opt.compare_rounds = atoi(v);
            opt.reads = 1;
        } else {
            die(a, "unknown option");
        }
    }
    /* another connection's writes would leave angorad's kept answers stale */
    if (!opt.reads && !opt.lists_only && !opt.series_only && !opt.cache_mb[0]) {
        snprintf(opt.cache_mb, sizeof(opt.cache_mb), "0");
    }
    if (opt.exps < 3 || opt.big < 1 || opt.rows < opt.big + SMALL_ROWS + opt.exps ||
        opt.clients < 1 || opt.clients > MAX_CLIENTS || opt.seconds <= 0 || opt.ingest_rows < 1) {
        die("options", "need exps >= 3, rows >= big + 80 + exps, 1..64 clients, seconds > 0,"
                       " ingest-rows > 0");
    }
    if (opt.rows_rounded && !opt.rows_from) {
        die("--rows-rounded", "needs --rows-from");
    }
}

static const char table_head[] =
    "| endpoint | req/s | p50 ms | p99 ms | max ms | angorad CPU ms/req | requests | errors | "
    "cache hits |\n|---|---|---|---|---|---|---|---|---|\n";

/* the list mix held to each of its filters, then to each of its sorts: where its cost is */
static void measure_mix_parts(void) {
    char name[96];
    Endpoint part = {name, "", 1, MIX_LIST};
    for (int i = 0; i < MIX_FILTERS + MIX_SORTS; i++) {
        mix_held_filter = i < MIX_FILTERS ? i + 1 : 0;
        mix_held_sort = i < MIX_FILTERS ? 0 : i - MIX_FILTERS + 1;
        if (i < MIX_FILTERS) {
            snprintf(name, sizeof(name), "list mix, filter \"%s\" only",
                     mix_filters[i][0] ? mix_filters[i] + 1 : "none");
        } else {
            snprintf(name, sizeof(name), "list mix, sort=%s only", mix_sorts[i - MIX_FILTERS]);
        }
        measure(&part);
    }
    mix_held_filter = mix_held_sort = 0;
}

/* the read endpoints: every list, the list mix, every series, the series mix */
static const Endpoint series_mix = {
    "series mix (a random key of the big run's, x, 500/1000/2000 points)", "", 0, MIX_SERIES};

static void measure_reads(const Endpoint *lists, size_t nlists, const Endpoint *series,
                          size_t nseries) {
    static const Endpoint list_mix = {"list mix (a random sort, order, filter, limit; 1-5 pages)",
                                      "", 1, MIX_LIST};
    for (size_t i = 0; i < nlists; i++) {
        measure(&lists[i]);
    }
    measure(&list_mix);
    if (opt.mix_parts) {
        measure_mix_parts();
    }
    for (size_t i = 0; i < nseries; i++) {
        measure(&series[i]);
    }
    measure(&series_mix);
}

static int exit_status(void) {
    if (requests_failed > 0) {
        fprintf(stderr, "bench_scale: %zu requests failed or answered an empty series\n",
                requests_failed);
        return 1;
    }
    return 0;
}

int main(int argc, char **argv) {
    static const Endpoint lists[] = {
        {"list (default: submitted)", "experiments?limit=100", 1, MIX_NONE},
        {"list sort=name", "experiments?limit=100&sort=name", 1, MIX_NONE},
        {"list sort=task", "experiments?limit=100&sort=task", 1, MIX_NONE},
        {"list sort=state", "experiments?limit=100&sort=state", 1, MIX_NONE},
        {"list sort=priority", "experiments?limit=100&sort=priority", 1, MIX_NONE},
        {"list sort=started", "experiments?limit=100&sort=started", 1, MIX_NONE},
        {"list sort=finished", "experiments?limit=100&sort=finished", 1, MIX_NONE},
        {"list sort=return", "experiments?limit=100&sort=return", 1, MIX_NONE},
        {"list sort=progress", "experiments?limit=100&sort=progress", 1, MIX_NONE},
        {"list sort=return order=asc", "experiments?limit=100&sort=return&order=asc", 1, MIX_NONE},
        {"list state=failed", "experiments?limit=100&state=failed", 1, MIX_NONE},
        {"list task=HandBlock", "experiments?limit=100&task=HandBlock", 1, MIX_NONE},
        {"list tag=best", "experiments?limit=100&tag=best", 1, MIX_NONE},
        {"list q=run-77", "experiments?limit=100&q=run-77", 1, MIX_NONE},
        {"list task + sort=return", "experiments?limit=100&task=Ant&sort=return", 1, MIX_NONE},
        {"list state + sort=progress", "experiments?limit=100&state=failed&sort=progress", 1,
         MIX_NONE},
        {"list task + state + sort=return",
         "experiments?limit=100&task=Ant&state=succeeded"
         "&sort=return",
         1, MIX_NONE},
    };
    static const Endpoint series[] = {
        {"series return_mean (column), big run, 1000 points",
         "experiments/1/metrics/series?key=return_mean&points=1000", 0, MIX_NONE},
        {"series entropy (not a column), big run, 1000 points",
         "experiments/1/metrics/series?key=entropy&points=1000", 0, MIX_NONE},
        {"series entropy over env_steps, big run",
         "experiments/1/metrics/series?key=entropy&x=env_steps&points=1000", 0, MIX_NONE},
        {"series return_mean, 80-row run", "experiments/2/metrics/series?key=return_mean", 0,
         MIX_NONE},
        {"series entropy, 80-row run", "experiments/2/metrics/series?key=entropy", 0, MIX_NONE},
    };
    char db[700];
    double ready_yes, ready_no;
    long long rows;
    pid_t pid;
    parse_options(argc, argv);
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (!opt.dir[0]) {
        snprintf(opt.dir, sizeof(opt.dir), "/tmp/angorad-scale-XXXXXX");
        if (!mkdtemp(opt.dir)) {
            die("mkdtemp", opt.dir);
        }
    }
    ag_fs_mkdir_p(opt.dir, 0755, NULL, 0);
    snprintf(db, sizeof(db), "%s/angorad.db", opt.dir);
    if (access(db, F_OK) != 0) {
        fill();
    } else {
        printf("fill: reusing %s\n", db);
    }
    if (opt.fill_only) {
        return 0;
    }
    curl_global_init(CURL_GLOBAL_DEFAULT);
    rows = stored_rows();
    load_mix_keys();
    /* a clean start: the WAL checkpointed, so restart reads the database alone */
    pid = start_daemon("yes", opt.cache_mb, &ready_yes);
    stop_daemon(pid);
    pid = start_daemon("yes", opt.cache_mb, &ready_yes);
    stop_daemon(pid);
    pid = start_daemon("no", opt.cache_mb, &ready_no);
    daemon_pid = pid;
    printf("\ndata directory %s: %lld metric rows, database %lld bytes (+ WAL %lld)\n", opt.dir,
           rows, file_size("angorad.db"), file_size("angorad.db-wal"));
    printf("\n| measure | value |\n|---|---|\n");
    printf("| metric rows | %lld |\n", rows);
    printf("| database bytes per metric row (30 numeric keys) | %.0f |\n",
           (double)file_size("angorad.db") / (double)rows);
    printf("| restart-to-ready, integrity check on | %.3f s |\n", ready_yes);
    printf("| restart-to-ready, integrity check off | %.3f s |\n", ready_no);
    submit_training();
    ag_time_sleep(2);
    printf("\n%d clients, %.0f s per endpoint, one training running:\n\n", opt.clients,
           opt.seconds);
    if (opt.compare_rounds > 0) {
        /* the same angorad with its response cache off and on, alternately, each freshly
         * started (the training goes on across the restarts, re-adopted) */
        stop_daemon(pid);
        for (int r = 0; r < opt.compare_rounds; r++) {
            for (int on = 0; on < 2; on++) {
                const char *mb = on ? opt.cache_mb : "0";
                double ready;
                pid = start_daemon("no", mb, &ready);
                daemon_pid = pid;
                ag_time_sleep(1);
                printf("\nround %d, response cache %s (response_cache_mb %s):\n\n", r + 1,
                       on ? "on" : "off", mb[0] ? mb : "default");
                fputs(table_head, stdout);
                measure_reads(lists, sizeof(lists) / sizeof(lists[0]), series,
                              sizeof(series) / sizeof(series[0]));
                stop_daemon(pid);
            }
        }
        stop_trainings();
        curl_global_cleanup();
        return exit_status();
    }
    fputs(table_head, stdout);
    if (opt.reads) {
        measure_reads(lists, sizeof(lists) / sizeof(lists[0]), series,
                      sizeof(series) / sizeof(series[0]));
    } else if (opt.lists_only) {
        for (size_t i = 0; i < sizeof(lists) / sizeof(lists[0]); i++) {
            measure(&lists[i]);
        }
    } else if (opt.series_only) {
        for (size_t i = 0; i < sizeof(series) / sizeof(series[0]); i++) {
            measure(&series[i]);
        }
        measure(&series_mix);
    } else {
        IngestLoad il = {.rows = opt.ingest_rows};
        pthread_t th;
        Endpoint under = {"list (default) while ingesting", "experiments?limit=100", 1, MIX_NONE};
        ingest_prepare(&il);
        load_while_ingesting = &under;
        atomic_store(&ingesting, 1);
        pthread_create(&th, NULL, ingest_thread, &il);
        measure(&under);
        pthread_join(th, NULL);
        for (size_t i = 0; i < sizeof(lists) / sizeof(lists[0]); i++) {
            measure(&lists[i]);
        }
        for (size_t i = 0; i < sizeof(series) / sizeof(series[0]); i++) {
            measure(&series[i]);
        }
        printf("\n| ingestion (ingest_run, %lld rows of 30 keys) while %d clients list | %.0f "
               "rows/s |\n",
               il.rows, opt.clients, il.rows_per_s);
        printf("| the same per CPU second of the ingesting thread | %.0f rows/s |\n",
               il.rows_per_cpu_s);
    }
    stop_daemon(pid);
    stop_trainings();
    curl_global_cleanup();
    return exit_status();
}
