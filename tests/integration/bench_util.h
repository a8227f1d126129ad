/* What the angorad benchmarks (bench_daemon, bench_scale, bench_stream) share: starting angorad on
 * a data directory and timing how long it takes to be ready, stopping it, and the metrics lines of
 * the big fills. Failures end the
 * benchmark (exit 1) with a message: a benchmark has no one to hand an error to. */
#ifndef BENCH_UTIL_H
#define BENCH_UTIL_H

#include <stddef.h>
#include <sys/types.h>

typedef struct BenchDaemon {
    pid_t pid;
    int port;
    char token[128]; /* the full-scope token angorad wrote on its first start */
    double ready_s;  /* fork to port file written */
} BenchDaemon;

/* starts angorad on dir (port 0, port file dir/port, log dir/angorad.log) with the given
 * trainer, --max-cores and --integrity-check (yes|no); waits at most 600 s for it */
void bench_daemon_start(const char *angorad, const char *trainer, const char *dir,
                        const char *max_cores, const char *integrity, BenchDaemon *d);
/* the same with any further options (NULL-terminated) */
void bench_daemon_start_with(const char *angorad, const char *trainer, const char *dir,
                             const char *const *extra, BenchDaemon *d);
/* SIGTERM, then waits for it */
void bench_daemon_stop(BenchDaemon *d);

/* keys of a bench_metrics_line: the four the store keeps as columns and 26 others */
#define BENCH_METRIC_KEYS 30
/* CPU seconds (user + system) process pid has used so far, 0 if it cannot be read: the cost of
 * a request on any machine, where requests/s on this one also measure the clients and the rest */
double bench_process_cpu_s(pid_t pid);

/* an HTTP answer's body as it arrives: a libcurl CURLOPT_WRITEFUNCTION with a BenchBody as its
 * CURLOPT_WRITEDATA; text stays NUL-terminated, the caller frees it */
typedef struct BenchBody {
    char *text;
    size_t len;
} BenchBody;
size_t bench_body_put(char *p, size_t size, size_t n, void *body);

/* the name of key k (0 <= k < BENCH_METRIC_KEYS) of a bench_metrics_line */
const char *bench_metric_key(int k);
/* one metrics.jsonl line of iteration i (newline included) with BENCH_METRIC_KEYS numeric keys,
 * written as the trainer writes them (%.17g); returns its length */
int bench_metrics_line(char *out, size_t sz, long long i, unsigned *seed);

#endif
