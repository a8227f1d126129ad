/* Benchmark of angorad's websocket stream at issue 19's scale (not a test): a subscriber resuming
 * with since_seq on a run of 10^6 metric rows (30 numeric keys, about 900 bytes each) reads its
 * backlog while other subscribers follow a live run. It measures the backlog in rows/s from the
 * subscribe message to "live", and the delay of the live rows to the other subscribers (row
 * written to metrics.jsonl -> frame received) while the backlog is sent and in a quiet window
 * before it.
 *
 * The fill is bench_scale's bulk loader: store_metrics_ingest, the call ingestion makes once it
 * has read a file, with generated metrics.jsonl lines in batches of 1000, into a data directory
 * kept for later runs. Then, for each angorad given (--old first, so that one run prints both
 * side by side): angorad starts on that directory with the fake trainer and ingestion woken by
 * inotify; one run stays quiet (its first iteration sleeps an hour) while the bench appends rows
 * to its metrics.jsonl at --rate rows/s, each carrying the time it was written; --subs clients
 * follow that run; after --quiet seconds one more client subscribes to the big run with
 * since_seq 0 and reads until "live", then another with since_seq at the middle of the run.
 * Every client checks that each row comes once and in seq order. Clients are plain sockets
 * speaking RFC 6455, one thread each; they find "seq" and "t" in a row's text without parsing
 * the rest. Besides angorad's CPU, the CPU of its stream service thread ("angora-stream", which
 * writes to every client) and of its backlog reader ("angora-backlog", where there is one) are
 * read from /proc during each backlog.
 *
 * usage: bench_stream ANGORAD FAKE_TRAINER [--old ANGORAD] [--dir DIR] [--rows N] [--subs N]
 *                     [--rate R] [--quiet S]
 * (ANGORA_DATA_DIR must point at the migrations, as in the build tree's share/angora) */
#include "bench_util.h"
#include "store.h"

#include "ag_fs.h"
#include "ag_time.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <dirent.h>
#include <errno.h>
#include <jansson.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define BATCH_ROWS 1000
#define LINE_MAX_B 2048
#define MAX_SUBS   32
#define BIG_RUN_ID 1 /* the fill's only experiment */

typedef struct Options {
    const char *angorad;
    const char *old_angorad;
    const char *trainer;
    char dir[512];
    long long rows;
    int subs;
    double rate;
    double quiet;
} Options;

static Options opt = {.rows = 1000000, .subs = 4, .rate = 200, .quiet = 3};

static void die(const char *what, const char *detail) {
    fprintf(stderr, "bench_stream: %s: %s\n", what, detail);
    exit(1);
}

/* ---- the fill ---- */

static void open_store(Store **s) {
    char db[700], mig[600], err[512];
    snprintf(db, sizeof(db), "%s/angorad.db", opt.dir);
    ag_fs_data_path("migrations", mig, sizeof(mig));
    if (store_open(db, s, err, sizeof(err)) || store_migrate(*s, mig, 0, NULL, err, sizeof(err))) {
        die("open database", err);
    }
}

static void fill(void) {
    char runs[700], err[512], *buf = malloc((size_t)BATCH_ROWS * LINE_MAX_B);
    const char *lines[BATCH_ROWS];
    size_t lens[BATCH_ROWS];
    StoreExpNew x = {.name = "stream-backlog",
                     .task = "CartPole",
                     .spec_json = "{\"task\":\"CartPole\"}",
                     .ranks = 1};
    long long off = 0;
    int64_t id;
    unsigned seed = 7;
    double t0 = ag_time_now();
    Store *s = NULL;
    open_store(&s);
    snprintf(runs, sizeof(runs), "%s/runs", opt.dir);
    if (!buf || store_exp_insert(s, &x, runs, &id, err, sizeof(err))) {
        die("insert experiment", buf ? err : "out of memory");
    }
    if (id != BIG_RUN_ID) {
        die("fill", "the data directory already holds experiments");
    }
    for (long long i = 0; i < opt.rows; i += BATCH_ROWS) {
        int m = (int)(opt.rows - i < BATCH_ROWS ? opt.rows - i : BATCH_ROWS);
        size_t used = 0, added = 0;
        for (int j = 0; j < m; j++) {
            int len = bench_metrics_line(buf + used, LINE_MAX_B, i + j + 1, &seed);
            lines[j] = buf + used;
            lens[j] = (size_t)len - 1; /* without the newline, as ingestion hands them */
            used += (size_t)len;
            off += len;
        }
        if (store_metrics_ingest(s, id, lines, lens, (size_t)m, off, &added, NULL, err,
                                 sizeof(err))) {
            die("ingest", err);
        }
        if ((i / BATCH_ROWS) % 100 == 99) {
            printf("fill: %lld rows, %.0f s\n", i + m, ag_time_now() - t0);
        }
    }
    store_run_started(s, id, 0, 0, 1, NULL, 0);
    store_run_set_state(s, id, "succeeded", NULL, NULL, 0);
    printf("fill: %lld rows in %.1f s\n", opt.rows, ag_time_now() - t0);
    free(buf);
    store_close(s);
}

/* the big run's stored rows (the fill's or an earlier run's) */
static long long big_run_rows(void) {
    StoreRun run;
    char err[256];
    Store *s = NULL;
    open_store(&s);
    if (store_run_get(s, BIG_RUN_ID, &run, err, sizeof(err))) {
        die("the big run", err);
    }
    store_close(s);
    return (long long)run.last_seq;
}

/* CPU seconds the threads of pid named name (their comm) have used so far */
static double threads_cpu_s(pid_t pid, const char *name) {
    char dir[64], path[400], text[1024], *p;
    double sum = 0;
    struct dirent *e;
    DIR *d;
    snprintf(dir, sizeof(dir), "/proc/%d/task", (int)pid);
    d = opendir(dir);
    if (!d) {
        return 0;
    }
    while ((e = readdir(d)) != NULL) {
        unsigned long long ut = 0, st = 0;
        size_t n;
        FILE *f;
        if (e->d_name[0] == '.') {
            continue;
        }
        snprintf(path, sizeof(path), "%s/%s/comm", dir, e->d_name);
        f = fopen(path, "r");
        n = f ? fread(text, 1, sizeof(text) - 1, f) : 0;
        if (f) {
            fclose(f);
        }
        text[n] = '\0';
        text[strcspn(text, "\n")] = '\0';
        if (strcmp(text, name) != 0) {
            continue;
        }
        snprintf(path, sizeof(path), "%s/%s/stat", dir, e->d_name);
        f = fopen(path, "r");
        n = f ? fread(text, 1, sizeof(text) - 1, f) : 0;
        if (f) {
            fclose(f);
        }
        text[n] = '\0';
        /* fields 14 and 15, counted after the command name in parentheses */
        p = strrchr(text, ')');
        if (p &&
            sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) == 2) {
            sum += (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
        }
    }
    closedir(d);
    return sum;
}

/* ---- REST ---- */

static json_t *request(const BenchDaemon *d, const char *method, const char *path,
                       const char *body) {
    char url[256], auth[200];
    struct curl_slist *h = NULL;
    CURL *c = curl_easy_init();
    BenchBody b = {0};
    json_t *o;
    snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", d->port, path);
    snprintf(auth, sizeof(auth), "Authorization: Bearer %s", d->token);
    h = curl_slist_append(h, auth);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    if (body) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    }
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, bench_body_put);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
    if (curl_easy_perform(c) != CURLE_OK || !b.text) {
        die(method, path);
    }
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
    o = json_loads(b.text, 0, NULL);
    free(b.text);
    if (!o) {
        die(path, "the answer is not JSON");
    }
    return o;
}

/* ---- a websocket client on a plain socket (RFC 6455) ---- */

typedef struct Ws {
    int fd;
    unsigned char *buf;
    size_t cap, start, end;
} Ws;

static int send_all(int fd, const void *p, size_t n) {
    const char *c = p;
    while (n > 0) {
        ssize_t k = send(fd, c, n, MSG_NOSIGNAL);
        if (k <= 0) {
            if (k < 0 && errno == EINTR) {
                continue;
            }
            return -1;
        }
        c += k;
        n -= (size_t)k;
    }
    return 0;
}

/* a masked frame, as a client must send them */
static int ws_send(Ws *w, int opcode, const char *payload, size_t n) {
    unsigned char hdr[14], mask[4] = {0x12, 0x34, 0x56, 0x78}, *out;
    size_t h = 0;
    int rc;
    hdr[h++] = (unsigned char)(0x80 | opcode);
    if (n < 126) {
        hdr[h++] = (unsigned char)(0x80 | n);
    } else {
        hdr[h++] = 0x80 | 126;
        hdr[h++] = (unsigned char)(n >> 8);
        hdr[h++] = (unsigned char)n;
    }
    memcpy(hdr + h, mask, 4);
    h += 4;
    out = malloc(h + n);
    if (!out || n >= 65536) {
        free(out);
        return -1;
    }
    memcpy(out, hdr, h);
    for (size_t i = 0; i < n; i++) {
        out[h + i] = (unsigned char)payload[i] ^ mask[i & 3];
    }
    rc = send_all(w->fd, out, h + n);
    free(out);
    return rc;
}

static int ws_open(Ws *w, int port, const char *token) {
    struct sockaddr_in a;
    char req[512];
    int one = 1;
    memset(w, 0, sizeof(*w));
    w->cap = 4 << 20;
    w->buf = malloc(w->cap);
    w->fd = socket(AF_INET, SOCK_STREAM, 0);
    if (!w->buf || w->fd < 0) {
        return -1;
    }
    setsockopt(w->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(w->fd, (struct sockaddr *)&a, sizeof(a)) != 0) {
        return -1;
    }
    snprintf(req, sizeof(req),
             "GET /api/v1/stream HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
             "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
             "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: angora-stream\r\n"
             "Authorization: Bearer %s\r\n\r\n",
             token);
    if (send_all(w->fd, req, strlen(req))) {
        return -1;
    }
    /* the 101 answer, up to its blank line; frames may follow in the same read */
    for (;;) {
        ssize_t k = recv(w->fd, w->buf + w->end, w->cap - w->end - 1, 0);
        unsigned char *eoh;
        if (k <= 0) {
            return -1;
        }
        w->end += (size_t)k;
        w->buf[w->end] = '\0';
        eoh = (unsigned char *)strstr((char *)w->buf, "\r\n\r\n");
        if (eoh) {
            if (strncmp((char *)w->buf, "HTTP/1.1 101", 12) != 0) {
                return -1;
            }
            w->start = (size_t)(eoh + 4 - w->buf);
            return 0;
        }
    }
}

/* the next frame; payload valid until the next call. -1 when the connection ends */
static int ws_frame(Ws *w, int *opcode, const char **payload, size_t *len) {
    for (;;) {
        size_t have = w->end - w->start, h = 2, n;
        const unsigned char *p = w->buf + w->start;
        ssize_t k;
        if (have >= 2) {
            n = p[1] & 0x7f;
            if (n == 126) {
                h = 4;
                n = have >= 4 ? (size_t)p[2] << 8 | p[3] : 0;
            } else if (n == 127) {
                h = 10;
                n = 0;
                for (int i = 0; have >= 10 && i < 8; i++) {
                    n = n << 8 | p[2 + i];
                }
            }
            if (have >= h && have >= h + n) {
                *opcode = p[0] & 0x0f;
                *payload = (const char *)p + h;
                *len = n;
                w->start += h + n;
                return 0;
            }
            if (h + n > w->cap / 2) {
                return -1; /* the server never sends frames this big */
            }
        }
        if (w->start > 0 && w->cap - w->end < w->cap / 2) {
            memmove(w->buf, w->buf + w->start, have);
            w->start = 0;
            w->end = have;
        }
        k = recv(w->fd, w->buf + w->end, w->cap - w->end, 0);
        if (k <= 0) {
            if (k < 0 && errno == EINTR) {
                continue;
            }
            return -1;
        }
        w->end += (size_t)k;
    }
}

static void ws_close(Ws *w) {
    if (w->fd >= 0) {
        close(w->fd);
    }
    free(w->buf);
    w->fd = -1;
    w->buf = NULL;
}

/* a number after key in a message's text (the text goes on after it, with ',' or '}') */
static const char *after_key(const char *p, size_t n, const char *key) {
    size_t k = strlen(key);
    for (size_t i = 0; i + k < n; i++) {
        if (p[i] == key[0] && !memcmp(p + i, key, k)) {
            return p + i + k;
        }
    }
    return NULL;
}

/* ---- subscribers ---- */

typedef struct Sub {
    pthread_t th;
    Ws ws;
    int port;
    const char *token;
    int64_t exp, since;
    int until_live; /* stop at "live" (the backlog reader) */
    /* what arrived */
    int64_t last_seq, rows, bad_order;
    double t_subscribe, t_live, cpu_s;
    int ended;
    /* live rows: when written (their "t") and received */
    double *t_write, *t_recv;
    size_t n, cap;
} Sub;

static double thread_cpu_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void sub_row(Sub *s, const char *p, size_t n, double now) {
    const char *seq_at = after_key(p, n, "\"seq\":"), *t_at;
    int64_t seq = seq_at ? strtoll(seq_at, NULL, 10) : -1;
    if (seq != s->last_seq + 1) {
        s->bad_order++;
    }
    s->last_seq = seq;
    s->rows++;
    if (s->cap && s->n < s->cap && (t_at = after_key(p, n, "\"t\":"))) {
        s->t_write[s->n] = strtod(t_at, NULL);
        s->t_recv[s->n++] = now;
    }
}

static void *sub_thread(void *arg) {
    Sub *s = arg;
    char msg[200];
    double cpu0 = thread_cpu_s();
    int opcode;
    const char *p;
    size_t n;
    snprintf(msg, sizeof(msg),
             "{\"type\":\"subscribe\",\"experiments\":[{\"id\":%lld,\"since_seq\":%lld}]}",
             (long long)s->exp, (long long)s->since);
    s->last_seq = s->since;
    s->t_subscribe = ag_time_now();
    if (ws_send(&s->ws, 1, msg, strlen(msg))) {
        die("subscribe", "send failed");
    }
    while (ws_frame(&s->ws, &opcode, &p, &n) == 0) {
        double now = ag_time_now();
        if (opcode == 9) {
            ws_send(&s->ws, 10, p, n); /* a ping: pong, or the server hangs up */
            continue;
        }
        if (opcode == 8) {
            break;
        }
        if (opcode != 1) {
            continue;
        }
        if (n > 13 && !memcmp(p, "{\"type\":\"row\"", 13)) {
            sub_row(s, p, n, now);
        } else if (n > 14 && !memcmp(p, "{\"type\":\"live\"", 14)) {
            s->t_live = now;
            if (s->until_live) {
                break;
            }
        } else if (n > 15 && !memcmp(p, "{\"type\":\"error\"", 15)) {
            fprintf(stderr, "bench_stream: the server says %.*s\n", (int)n, p);
        }
    }
    s->cpu_s = thread_cpu_s() - cpu0;
    s->ended = 1;
    return NULL;
}

static void sub_start(Sub *s, int port, const char *token, int64_t exp, int64_t since,
                      int until_live, size_t cap) {
    memset(s, 0, sizeof(*s));
    s->exp = exp;
    s->since = since;
    s->until_live = until_live;
    s->cap = cap;
    if (cap) {
        s->t_write = calloc(cap, sizeof(double));
        s->t_recv = calloc(cap, sizeof(double));
    }
    if (ws_open(&s->ws, port, token)) {
        die("websocket", "cannot connect to the stream");
    }
    pthread_create(&s->th, NULL, sub_thread, s);
}

static void sub_stop(Sub *s) {
    shutdown(s->ws.fd, SHUT_RDWR);
    pthread_join(s->th, NULL);
    ws_close(&s->ws);
}

/* ---- the live run's writer ---- */

typedef struct Writer {
    pthread_t th;
    char path[700];
    double rate;
    atomic_int stop;
    atomic_llong written;
} Writer;

static void *writer_thread(void *arg) {
    Writer *w = arg;
    double next = ag_time_now();
    for (long long i = 1; !atomic_load(&w->stop); i++) {
        FILE *f;
        double now = ag_time_now();
        if (next > now) {
            ag_time_sleep(next - now);
        }
        next += 1.0 / w->rate;
        f = fopen(w->path, "a");
        if (!f) {
            die("append", w->path);
        }
        fprintf(f, "{\"iteration\":%lld,\"env_steps\":%lld,\"return_mean\":%lld.5,\"t\":%.6f}\n", i,
                2048 * i, i % 500, ag_time_now());
        fclose(f);
        atomic_store(&w->written, i);
    }
    return NULL;
}

/* ---- one angorad measured ---- */

typedef struct Delays {
    size_t n;
    double p50, p99, max; /* ms */
} Delays;

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* the delays of the live rows written between a and b, over every subscriber */
static Delays delays_between(Sub *subs, int nsubs, double a, double b) {
    Delays d = {0};
    size_t cap = 0, k = 0;
    double *all;
    for (int i = 0; i < nsubs; i++) {
        cap += subs[i].n;
    }
    all = malloc((cap + 1) * sizeof(double));
    for (int i = 0; i < nsubs; i++) {
        for (size_t j = 0; j < subs[i].n; j++) {
            if (subs[i].t_write[j] >= a && subs[i].t_write[j] <= b) {
                all[k++] = 1e3 * (subs[i].t_recv[j] - subs[i].t_write[j]);
            }
        }
    }
    qsort(all, k, sizeof(double), cmp_double);
    d.n = k;
    if (k) {
        d.p50 = all[k / 2];
        d.p99 = all[(size_t)((double)k * 0.99)];
        d.max = all[k - 1];
    }
    free(all);
    return d;
}

typedef struct Replay {
    int64_t since;
    long long rows, bad_order;
    double seconds, server_cpu_s, client_cpu_s;
    double stream_cpu_s, backlog_cpu_s; /* angorad's service thread, its backlog reader */
    double t0, t1;
    Delays live;
} Replay;

typedef struct Result {
    Delays quiet;
    double quiet_cpu_per_s; /* angorad's CPU seconds a second with no backlog being read */
    Replay replay[2];
    long long live_rows_written;
    long long live_missing, live_bad_order;
} Result;

static void measure(const char *angorad, long long big_rows, Result *r) {
    const char *extra[] = {"--ingest-events", "yes", "--log-level", "warn", NULL};
    BenchDaemon d;
    Sub subs[MAX_SUBS];
    Writer w = {.rate = opt.rate};
    size_t cap = (size_t)(opt.rate * 3600);
    double tq0;
    json_t *o;
    long long live_id;
    int port;
    char path[96];
    memset(r, 0, sizeof(*r));
    bench_daemon_start_with(angorad, opt.trainer, opt.dir, extra, &d);
    o = request(&d, "GET", "/api/v1/info", NULL);
    port = (int)json_integer_value(json_object_get(o, "websocket_port"));
    json_decref(o);
    if (port <= 0) {
        die(angorad, "serves no websocket stream");
    }
    o = request(&d, "POST", "/api/v1/experiments",
                "{\"task\":\"CartPole\",\"name\":\"stream-live\","
                "\"notes\":\"fake:iters=2,sleep=3600\"}");
    live_id = json_integer_value(json_object_get(o, "id"));
    json_decref(o);
    snprintf(path, sizeof(path), "/api/v1/experiments/%lld", live_id);
    for (double t0 = ag_time_now();;) {
        o = request(&d, "GET", path, NULL);
        const char *state = json_string_value(json_object_get(o, "state"));
        int running = state && !strcmp(state, "running");
        json_decref(o);
        if (running) {
            break;
        }
        if (ag_time_now() - t0 > 60) {
            die("live run", "did not start in 60 s");
        }
        ag_time_sleep(0.01);
    }
    ag_time_sleep(0.5); /* the fake trainer has made its run directory and empty metrics file */
    snprintf(w.path, sizeof(w.path), "%s/runs/%lld/metrics.jsonl", opt.dir, live_id);

    for (int i = 0; i < opt.subs; i++) {
        sub_start(&subs[i], port, d.token, live_id, 0, 0, cap);
    }
    pthread_create(&w.th, NULL, writer_thread, &w);
    ag_time_sleep(1.0); /* everyone subscribed and live */
    tq0 = ag_time_now();
    r->quiet_cpu_per_s = bench_process_cpu_s(d.pid);
    ag_time_sleep(opt.quiet);
    r->quiet_cpu_per_s = (bench_process_cpu_s(d.pid) - r->quiet_cpu_per_s) / (ag_time_now() - tq0);
    for (int k = 0; k < 2; k++) {
        Replay *p = &r->replay[k];
        Sub b;
        double cpu0, stream0, backlog0;
        p->since = k == 0 ? 0 : big_rows / 2;
        cpu0 = bench_process_cpu_s(d.pid);
        stream0 = threads_cpu_s(d.pid, "angora-stream");
        backlog0 = threads_cpu_s(d.pid, "angora-backlog");
        sub_start(&b, port, d.token, BIG_RUN_ID, p->since, 1, 0);
        pthread_join(b.th, NULL);
        p->server_cpu_s = bench_process_cpu_s(d.pid) - cpu0;
        p->stream_cpu_s = threads_cpu_s(d.pid, "angora-stream") - stream0;
        p->backlog_cpu_s = threads_cpu_s(d.pid, "angora-backlog") - backlog0;
        p->client_cpu_s = b.cpu_s;
        p->rows = b.rows;
        p->bad_order = b.bad_order + (b.last_seq != big_rows) + (b.rows != big_rows - p->since);
        p->t0 = b.t_subscribe;
        p->t1 = b.t_live ? b.t_live : ag_time_now();
        p->seconds = p->t1 - p->t0;
        ws_close(&b.ws);
        ag_time_sleep(1.0);
    }
    atomic_store(&w.stop, 1);
    pthread_join(w.th, NULL);
    r->live_rows_written = atomic_load(&w.written);
    /* every subscriber has every row before they are stopped */
    for (double t0 = ag_time_now(); ag_time_now() - t0 < 20;) {
        int behind = 0;
        for (int i = 0; i < opt.subs; i++) {
            behind += subs[i].last_seq < r->live_rows_written;
        }
        if (!behind) {
            break;
        }
        ag_time_sleep(0.01);
    }
    for (int i = 0; i < opt.subs; i++) {
        sub_stop(&subs[i]);
        r->live_missing += r->live_rows_written - subs[i].rows;
        r->live_bad_order += subs[i].bad_order;
    }
    r->quiet = delays_between(subs, opt.subs, tq0, tq0 + opt.quiet);
    for (int k = 0; k < 2; k++) {
        r->replay[k].live = delays_between(subs, opt.subs, r->replay[k].t0, r->replay[k].t1);
    }
    for (int i = 0; i < opt.subs; i++) {
        free(subs[i].t_write);
        free(subs[i].t_recv);
    }
    snprintf(path, sizeof(path), "/api/v1/experiments/%lld/cancel", live_id);
    json_decref(request(&d, "POST", path, NULL));
    bench_daemon_stop(&d);
}

static void print_result(const char *name, const Result *r) {
    for (int k = 0; k < 2; k++) {
        const Replay *p = &r->replay[k];
        double per_row = p->rows ? 1e6 / (double)p->rows : 0.0;
        printf("| %s | %lld | %lld | %.2f | %.0f | %.2f | %.2f | %.2f | %.2f | %lld | %zu |"
               " %.1f / %.1f / %.1f | %.1f / %.1f / %.1f |\n",
               name, (long long)p->since, p->rows, p->seconds,
               p->seconds > 0 ? (double)p->rows / p->seconds : 0.0, per_row * p->server_cpu_s,
               per_row * p->stream_cpu_s, per_row * p->backlog_cpu_s, per_row * p->client_cpu_s,
               p->bad_order, p->live.n, r->quiet.p50, r->quiet.p99, r->quiet.max, p->live.p50,
               p->live.p99, p->live.max);
    }
}

static void parse_options(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: bench_stream ANGORAD FAKE_TRAINER [--old ANGORAD] [--dir DIR] "
                        "[--rows N] [--subs N] [--rate R] [--quiet S]\n");
        exit(2);
    }
    /* absolute: angorad starts the trainer from another directory */
    opt.angorad = realpath(argv[1], NULL);
    opt.trainer = realpath(argv[2], NULL);
    if (!opt.angorad || !opt.trainer) {
        die("usage", "ANGORAD and FAKE_TRAINER must exist");
    }
    for (int i = 3; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!v) {
            die(a, "needs a value");
        }
        i++;
        if (!strcmp(a, "--old")) {
            opt.old_angorad = realpath(v, NULL);
            if (!opt.old_angorad) {
                die(a, "no such file");
            }
        } else if (!strcmp(a, "--dir")) {
            snprintf(opt.dir, sizeof(opt.dir), "%s", v);
        } else if (!strcmp(a, "--rows")) {
            opt.rows = atoll(v);
        } else if (!strcmp(a, "--subs")) {
            opt.subs = atoi(v);
        } else if (!strcmp(a, "--rate")) {
            opt.rate = atof(v);
        } else if (!strcmp(a, "--quiet")) {
            opt.quiet = atof(v);
        } else {
            die(a, "unknown option");
        }
    }
    if (opt.rows < 2 || opt.subs < 1 || opt.subs > MAX_SUBS || opt.rate <= 0 || opt.rate > 10000 ||
        opt.quiet <= 0) {
        die("options", "need rows >= 2, 1..32 subscribers, 0 < rate <= 10000, quiet > 0");
    }
}

int main(int argc, char **argv) {
    char db[700], load[128] = "";
    long long big_rows;
    Result old_r, new_r;
    FILE *f;
    parse_options(argc, argv);
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (!opt.dir[0]) {
        snprintf(opt.dir, sizeof(opt.dir), "/tmp/angorad-stream-XXXXXX");
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
    big_rows = big_run_rows();
    curl_global_init(CURL_GLOBAL_DEFAULT);
    if (opt.old_angorad) {
        measure(opt.old_angorad, big_rows, &old_r);
    }
    measure(opt.angorad, big_rows, &new_r);
    f = fopen("/proc/loadavg", "r");
    if (f && fgets(load, sizeof(load), f)) {
        load[strcspn(load, "\n")] = '\0';
    }
    if (f) {
        fclose(f);
    }
    printf("\nbig run: %lld rows; %d live subscribers at %.0f rows/s; load average now %s\n\n",
           big_rows, opt.subs, opt.rate, load);
    printf("| angorad | since_seq | backlog rows | s to live | rows/s | angorad CPU us/row | "
           "stream thread us/row | backlog thread us/row | client CPU us/row | order errors | "
           "live rows during | live delay quiet ms p50 / p99 / max | live delay during ms "
           "p50 / p99 / max |\n"
           "|---|---|---|---|---|---|---|---|---|---|---|---|---|\n");
    if (opt.old_angorad) {
        print_result("old", &old_r);
    }
    print_result("new", &new_r);
    printf("\nlive subscribers: %lld rows written, %lld missing, %lld out of order (new)",
           new_r.live_rows_written, new_r.live_missing, new_r.live_bad_order);
    if (opt.old_angorad) {
        printf("; %lld written, %lld missing, %lld out of order (old)", old_r.live_rows_written,
               old_r.live_missing, old_r.live_bad_order);
    }
    /* the CPU figure per backlog row includes what angorad does anyway (ingesting the live run) */
    printf("\nangorad CPU with no backlog being read: %.0f ms a second (new)",
           1e3 * new_r.quiet_cpu_per_s);
    if (opt.old_angorad) {
        printf(", %.0f ms a second (old)", 1e3 * old_r.quiet_cpu_per_s);
    }
    printf("\n");
    curl_global_cleanup();
    return 0;
}
