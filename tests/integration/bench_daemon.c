/* Benchmark of angorad (not a test): fills a data directory with 10,000 experiments and about
 * 1M metric rows through the ingestion path (rows/s), measures restart-to-ready time of angorad
 * on that database, starts two trainings, and measures requests/s and latency percentiles of
 * the experiment list and metrics series endpoints while they run.
 *
 * usage: bench_daemon ANGORAD TRAINER [seconds-per-endpoint] [client-threads]
 * (ANGORA_DATA_DIR must point at the migrations, as in the build tree's share/angora) */
#include "bench_util.h"
#include "daemon.h"
#include "store.h"

#include "ag_error.h"
#include "ag_fs.h"
#include "ag_time.h"

#include <curl/curl.h>
#include <jansson.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define N_EXP      10000
#define ROWS_SMALL 90
#define ROWS_BIG   100000

static char dir[] = "/tmp/angorad-bench-XXXXXX";
static char token[128];
static int port;
static const char *angorad_path;

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static void write_metrics(const char *run_dir, int rows) {
    char path[800];
    FILE *f;
    ag_fs_mkdir_p(run_dir, 0755, NULL, 0);
    snprintf(path, sizeof(path), "%s/metrics.jsonl", run_dir);
    f = fopen(path, "w");
    for (int i = 1; i <= rows; i++) {
        fprintf(f,
                "{\"iteration\":%d,\"env_steps\":%d,\"wall_s\":%.3f,\"return_mean\":%.4f,"
                "\"return_std\":%.4f,\"policy_loss\":%.5f,\"value_loss\":%.5f,\"entropy\":%.4f,"
                "\"approx_kl\":%.6f,\"lr\":0.0003,\"sps\":%d}\n",
                i, i * 2048, i * 0.8, 10.0 + i * 0.5, 3.0 + (i % 7), -0.01 * (i % 5), 0.5 / i,
                0.69 - i * 1e-6, 0.001 * (i % 3), 2500 + i % 100);
    }
    fclose(f);
}

/* fills the database through ingestion and returns rows/s */
static double populate(void) {
    char db[600], mig[600], runs[600], run_dir[700], err[512];
    Store *s = NULL;
    Ingest *in = NULL;
    double t_ingest = 0;
    size_t total = 0;
    snprintf(db, sizeof(db), "%s/angorad.db", dir);
    snprintf(runs, sizeof(runs), "%s/runs", dir);
    ag_fs_data_path("migrations", mig, sizeof(mig));
    if (store_open(db, &s, err, sizeof(err)) || store_migrate(s, mig, 0, NULL, err, sizeof(err)) ||
        ingest_create(&in, s, err, sizeof(err))) {
        fprintf(stderr, "bench: %s\n", err);
        exit(1);
    }
    for (int i = 0; i < N_EXP; i++) {
        StoreExpNew e = {.name = "bench",
                         .task = i % 3 ? "CartPole" : "Pendulum",
                         .spec_json = "{\"task\":\"CartPole\"}",
                         .tags_json = i % 10 ? "[\"bench\"]" : "[\"bench\",\"best\"]",
                         .ranks = 1};
        int64_t id;
        size_t rows = 0;
        double t0;
        store_exp_insert(s, &e, runs, &id, err, sizeof(err));
        snprintf(run_dir, sizeof(run_dir), "%s/%lld", runs, (long long)id);
        write_metrics(run_dir, i == 0 ? ROWS_BIG : ROWS_SMALL);
        t0 = ag_time_now();
        if (ingest_run(in, id, run_dir, &rows, err, sizeof(err)) != 0) {
            fprintf(stderr, "bench: %s\n", err);
            exit(1);
        }
        t_ingest += ag_time_now() - t0;
        total += rows;
        store_run_set_state(s, id, "succeeded", NULL, NULL, 0);
    }
    printf("populated: %d experiments, %zu metric rows; ingestion %.0f rows/s (%.2f s)\n", N_EXP,
           total, (double)total / t_ingest, t_ingest);
    ingest_destroy(in);
    store_close(s);
    return (double)total / t_ingest;
}

/* angorad on the bench's directory; port and token for the clients */
static pid_t start_daemon(const char *trainer, const char *integrity, double *ready_s) {
    BenchDaemon d;
    bench_daemon_start(angorad_path, trainer, dir, "2", integrity, &d);
    *ready_s = d.ready_s;
    port = d.port;
    snprintf(token, sizeof(token), "%s", d.token);
    return d.pid;
}

static void stop_daemon(pid_t pid) {
    BenchDaemon d = {.pid = pid};
    bench_daemon_stop(&d);
}

static size_t sink(char *p, size_t size, size_t n, void *ud) {
    (void)p;
    *(size_t *)ud += size * n;
    return size * n;
}

typedef struct Load {
    int kind; /* 0 list, 1 series small, 2 series big */
    double seconds;
    unsigned seed;
    double *lat;
    size_t n, cap;
    size_t errors;
} Load;

static void *load_thread(void *arg) {
    Load *l = arg;
    CURL *c = curl_easy_init();
    struct curl_slist *h = NULL;
    char auth[200], url[300];
    double t_end = ag_time_now() + l->seconds;
    snprintf(auth, sizeof(auth), "Authorization: Bearer %s", token);
    h = curl_slist_append(h, auth);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    while (ag_time_now() < t_end && l->n < l->cap) {
        size_t bytes = 0;
        long status = 0;
        double t0;
        int r = rand_r(&l->seed);
        if (l->kind == 0) {
            snprintf(url, sizeof(url),
                     "http://127.0.0.1:%d/api/v1/experiments?limit=50&cursor=%d%s", port,
                     2 + r % N_EXP, r % 4 == 0 ? "&tag=best" : "");
        } else {
            snprintf(url, sizeof(url),
                     "http://127.0.0.1:%d/api/v1/experiments/%d/metrics/series?key=return_mean",
                     port, l->kind == 2 ? 1 : 2 + r % (N_EXP - 1));
        }
        curl_easy_setopt(c, CURLOPT_URL, url);
        curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, sink);
        curl_easy_setopt(c, CURLOPT_WRITEDATA, &bytes);
        t0 = ag_time_now();
        if (curl_easy_perform(c) != CURLE_OK ||
            (curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status), status != 200)) {
            l->errors++;
        }
        l->lat[l->n++] = ag_time_now() - t0;
    }
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
    return NULL;
}

static void run_load(const char *name, int kind, double seconds, int threads) {
    pthread_t th[16];
    Load loads[16];
    double *all;
    size_t total = 0, errors = 0, k = 0;
    double t0 = ag_time_now(), wall;
    for (int i = 0; i < threads; i++) {
        loads[i] = (Load){.kind = kind, .seconds = seconds, .seed = 17u + (unsigned)i};
        loads[i].cap = 2000000;
        loads[i].lat = malloc(loads[i].cap * sizeof(double));
        pthread_create(&th[i], NULL, load_thread, &loads[i]);
    }
    for (int i = 0; i < threads; i++) {
        pthread_join(th[i], NULL);
        total += loads[i].n;
        errors += loads[i].errors;
    }
    wall = ag_time_now() - t0;
    all = malloc((total + 1) * sizeof(double));
    for (int i = 0; i < threads; i++) {
        memcpy(all + k, loads[i].lat, loads[i].n * sizeof(double));
        k += loads[i].n;
        free(loads[i].lat);
    }
    qsort(all, total, sizeof(double), cmp_double);
    printf("%-34s %8.0f req/s  p50 %7.2f ms  p99 %7.2f ms  max %7.2f ms  (%zu requests, %zu "
           "errors, %d clients)\n",
           name, (double)total / wall, 1e3 * all[total / 2], 1e3 * all[(size_t)(total * 0.99)],
           1e3 * all[total - 1], total, errors, threads);
    free(all);
}

static void submit_training(const char *spec) {
    CURL *c = curl_easy_init();
    struct curl_slist *h = NULL;
    char auth[200], url[200];
    size_t bytes = 0;
    long status = 0;
    snprintf(auth, sizeof(auth), "Authorization: Bearer %s", token);
    h = curl_slist_append(h, auth);
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/api/v1/experiments", port);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, spec);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, sink);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &bytes);
    curl_easy_perform(c);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    if (status != 201) {
        fprintf(stderr, "bench: submit answered %ld\n", status);
    }
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
}

int main(int argc, char **argv) {
    const char *trainer;
    double seconds = argc > 3 ? atof(argv[3]) : 10, ready;
    int threads = argc > 4 ? atoi(argv[4]) : 4;
    pid_t pid;
    const char *train_spec = "{\"task\":\"CartPole\",\"name\":\"bench-load\","
                             "\"budget\":{\"env_steps\":100000000},"
                             "\"notes\":\"fake:iters=100000,sleep=0.05\"}";
    if (argc < 3) {
        fprintf(stderr, "usage: bench_daemon ANGORAD TRAINER [seconds] [threads]\n");
        return 2;
    }
    angorad_path = argv[1];
    trainer = argv[2];
    if (threads < 1 || threads > 16) {
        threads = 4;
    }
    if (!mkdtemp(dir)) {
        return 1;
    }
    setvbuf(stdout, NULL, _IOLBF, 0);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    populate();

    pid = start_daemon(trainer, "yes", &ready);
    printf("restart-to-ready with integrity_check: %.3f s\n", ready);
    stop_daemon(pid);
    pid = start_daemon(trainer, "no", &ready);
    printf("restart-to-ready without integrity_check: %.3f s\n", ready);

    submit_training(train_spec);
    submit_training(train_spec);
    ag_time_sleep(3);
    {
        char db[600], err[256];
        Store *st = NULL;
        StoreRun runs[8];
        int n = 0;
        snprintf(db, sizeof(db), "%s/angorad.db", dir);
        if (store_open(db, &st, err, sizeof(err)) == 0) {
            store_runs_in_state(st, "running", runs, 8, &n, err, sizeof(err));
        }
        store_close(st);
        printf("trainings running during the load: %d (trainer %s)\n", n, trainer);
    }
    run_load("GET experiments (limit 50, cursor)", 0, seconds, threads);
    run_load("GET series (90 rows)", 1, seconds, threads);
    run_load("GET series (100k rows -> 1000)", 2, seconds, threads);
    stop_daemon(pid);
    /* the two trainings were left running (on_shutdown = leave): stop them by their ids */
    {
        char db[600], err[256], cmd[700];
        Store *st = NULL;
        StoreRun runs[8];
        int n = 0;
        snprintf(db, sizeof(db), "%s/angorad.db", dir);
        if (store_open(db, &st, err, sizeof(err)) == 0 &&
            store_runs_in_state(st, "running", runs, 8, &n, err, sizeof(err)) == 0) {
            for (int i = 0; i < n; i++) {
                if (runs[i].pid > 1) {
                    kill(-runs[i].pid, SIGTERM);
                }
            }
        }
        store_close(st);
        ag_time_sleep(1);
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
        if (system(cmd) != 0) {
            fprintf(stderr, "bench: cleanup of %s failed\n", dir);
        }
    }
    curl_global_cleanup();
    return 0;
}
