/* How long a metric line that a run writes takes to be stored and visible through the API, with
 * ingestion woken by inotify events and with the tick alone (the default 0.2 s), in one run.
 *
 * For each setting: angorad on a fresh data directory with the fake trainer, one run that stays
 * quiet (its first iteration sleeps an hour), and the bench appends rows to that run's
 * metrics.jsonl itself at irregular intervals, polling the experiment until its metric_rows
 * counts the new row. The latency includes one poll (the bench polls every 0.5 ms).
 *
 * usage: bench_ingest_latency ANGORAD FAKE_TRAINER [ROWS] */
#include "bench_util.h"

#include "ag_time.h"

#include <curl/curl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static json_t *request(CURL *c, const BenchDaemon *d, const char *method, const char *path,
                       const char *body) {
    char url[256], auth[200];
    struct curl_slist *h = NULL;
    BenchBody b = {0};
    json_t *o;
    snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", d->port, path);
    snprintf(auth, sizeof(auth), "Authorization: Bearer %s", d->token);
    h = curl_slist_append(h, auth);
    curl_easy_reset(c);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    if (body) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    }
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, bench_body_put);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
    if (curl_easy_perform(c) != CURLE_OK || !b.text) {
        fprintf(stderr, "bench: %s %s failed\n", method, path);
        exit(1);
    }
    curl_slist_free_all(h);
    o = json_loads(b.text, 0, NULL);
    free(b.text);
    if (!o) {
        fprintf(stderr, "bench: %s %s: not JSON\n", method, path);
        exit(1);
    }
    return o;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* the experiment's field as a number, polled */
static long long field(CURL *c, const BenchDaemon *d, long long id, const char *key) {
    char path[96];
    snprintf(path, sizeof(path), "/api/v1/experiments/%lld", id);
    json_t *o = request(c, d, "GET", path, NULL);
    long long v = json_integer_value(json_object_get(o, key));
    json_decref(o);
    return v;
}

static void measure(const char *angorad, const char *trainer, const char *events, int rows) {
    char dir[] = "/tmp/angorad-latency-XXXXXX", metrics[128], cmd[160];
    const char *extra[] = {"--ingest-events", events, "--log-level", "warn", NULL};
    BenchDaemon d;
    CURL *c = curl_easy_init();
    double *lat = calloc((size_t)rows, sizeof(double));
    unsigned seed = 7;
    if (!mkdtemp(dir) || !c || !lat) {
        fprintf(stderr, "bench: set-up failed\n");
        exit(1);
    }
    bench_daemon_start_with(angorad, trainer, dir, extra, &d);
    json_t *o = request(c, &d, "POST", "/api/v1/experiments",
                        "{\"task\":\"CartPole\",\"notes\":\"fake:iters=2,sleep=3600\"}");
    long long id = json_integer_value(json_object_get(o, "id"));
    json_decref(o);
    double t0 = ag_time_now();
    for (;;) {
        char path[96];
        snprintf(path, sizeof(path), "/api/v1/experiments/%lld", id);
        o = request(c, &d, "GET", path, NULL);
        int running = !strcmp(json_string_value(json_object_get(o, "state")) ?: "", "running");
        json_decref(o);
        if (running) {
            break;
        }
        if (ag_time_now() - t0 > 60) {
            fprintf(stderr, "bench: the run did not start in 60 s\n");
            exit(1);
        }
        ag_time_sleep(0.01);
    }
    ag_time_sleep(0.5); /* the fake trainer has made its run directory and empty metrics file */
    snprintf(metrics, sizeof(metrics), "%s/runs/%lld/metrics.jsonl", dir, id);
    for (int i = 0; i < rows; i++) {
        /* irregular gaps, so that writes do not fall in step with the tick */
        ag_time_sleep(0.05 + 0.1 * (double)(rand_r(&seed) % 1000) / 1000.0);
        FILE *f = fopen(metrics, "a");
        if (!f) {
            fprintf(stderr, "bench: cannot append to %s\n", metrics);
            exit(1);
        }
        fprintf(f, "{\"iteration\":%d,\"env_steps\":%d,\"return_mean\":%d.5}\n", i + 1,
                1000 * (i + 1), i);
        fclose(f);
        double written = ag_time_now();
        while (field(c, &d, id, "metric_rows") < i + 1) {
            if (ag_time_now() - written > 30) {
                fprintf(stderr, "bench: row %d not ingested in 30 s\n", i + 1);
                exit(1);
            }
            ag_time_sleep(0.0005);
        }
        lat[i] = ag_time_now() - written;
    }
    qsort(lat, (size_t)rows, sizeof(double), cmp_double);
    printf("ingest_events=%-3s rows %d  latency ms: p50 %.1f  p90 %.1f  p99 %.1f  max %.1f\n",
           events, rows, 1e3 * lat[rows / 2], 1e3 * lat[rows * 9 / 10], 1e3 * lat[rows * 99 / 100],
           1e3 * lat[rows - 1]);
    fflush(stdout);
    char cancel[96];
    snprintf(cancel, sizeof(cancel), "/api/v1/experiments/%lld/cancel", id);
    json_decref(request(c, &d, "POST", cancel, NULL));
    bench_daemon_stop(&d);
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    if (system(cmd) != 0) {
        fprintf(stderr, "bench: could not remove %s\n", dir);
    }
    curl_easy_cleanup(c);
    free(lat);
}

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: bench_ingest_latency ANGORAD FAKE_TRAINER [ROWS]\n");
        return 2;
    }
    int rows = argc > 3 ? atoi(argv[3]) : 200;
    if (rows < 10 || rows > 100000) {
        fprintf(stderr, "bench: ROWS must be in 10..100000\n");
        return 2;
    }
    curl_global_init(CURL_GLOBAL_DEFAULT);
    measure(argv[1], argv[2], "yes", rows);
    measure(argv[1], argv[2], "no", rows);
    curl_global_cleanup();
    return 0;
}
