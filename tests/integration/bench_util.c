/* Starting and stopping angorad for the benchmarks, and their metrics lines (see bench_util.h). */
#include "bench_util.h"

#include "ag_time.h"

#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static void bench_fail(const char *what) {
    fprintf(stderr, "bench: %s\n", what);
    exit(1);
}

void bench_daemon_start(const char *angorad, const char *trainer, const char *dir,
                        const char *max_cores, const char *integrity, BenchDaemon *d) {
    const char *extra[] = {"--max-cores", max_cores, "--integrity-check", integrity, NULL};
    bench_daemon_start_with(angorad, trainer, dir, extra, d);
}

void bench_daemon_start_with(const char *angorad, const char *trainer, const char *dir,
                             const char *const *extra, BenchDaemon *d) {
    char port_file[700], text[32], tok_path[700];
    double t0 = ag_time_now();
    FILE *f;
    memset(d, 0, sizeof(*d));
    snprintf(port_file, sizeof(port_file), "%s/port", dir);
    unlink(port_file);
    d->pid = fork();
    if (d->pid == 0) {
        char log[700];
        snprintf(log, sizeof(log), "%s/angorad.log", dir);
        if (!freopen(log, "a", stderr)) {
            _exit(126);
        }
        const char *argv[64] = {angorad,       "--data-dir", dir,         "--port", "0",
                                "--port-file", port_file,    "--trainer", trainer};
        int argc = 9;
        for (int i = 0; extra && extra[i] && argc < 63; i++) {
            argv[argc++] = extra[i];
        }
        argv[argc] = NULL;
        execv(angorad, (char *const *)argv);
        _exit(127);
    }
    for (;;) {
        size_t n = 0;
        f = fopen(port_file, "r");
        if (f) {
            n = fread(text, 1, sizeof(text) - 1, f);
            fclose(f);
            text[n] = '\0';
        }
        if (n > 0) {
            break;
        }
        if (ag_time_now() - t0 > 600) {
            bench_fail("angorad did not start in 600 s");
        }
        ag_time_sleep(0.001);
    }
    d->ready_s = ag_time_now() - t0;
    d->port = atoi(text);
    snprintf(tok_path, sizeof(tok_path), "%s/token", dir);
    f = fopen(tok_path, "r");
    if (!f || !fgets(d->token, sizeof(d->token), f)) {
        bench_fail("angorad wrote no token");
    }
    fclose(f);
    d->token[strcspn(d->token, "\n")] = '\0';
}

void bench_daemon_stop(BenchDaemon *d) {
    int st;
    kill(d->pid, SIGTERM);
    waitpid(d->pid, &st, 0);
}

static const char *const metric_keys[BENCH_METRIC_KEYS] = {
    "iteration",     "env_steps",    "wall_s",        "return_mean",   "return_std",
    "return_min",    "return_max",   "episode_len",   "policy_loss",   "value_loss",
    "entropy",       "approx_kl",    "clip_fraction", "explained_var", "lr",
    "sps",           "grad_norm",    "value_mean",    "adv_mean",      "adv_std",
    "obs_norm_mean", "obs_norm_std", "success_rate",  "goals_mean",    "iter_s",
    "rollout_s",     "update_s",     "eval_return",   "kl_target",     "epochs"};

double bench_process_cpu_s(pid_t pid) {
    char path[64], text[1024], *p;
    unsigned long long ut = 0, st = 0;
    FILE *f;
    size_t n;
    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    f = fopen(path, "r");
    if (!f) {
        return 0;
    }
    n = fread(text, 1, sizeof(text) - 1, f);
    fclose(f);
    text[n] = '\0';
    /* fields 14 and 15, counted after the command name in parentheses */
    p = strrchr(text, ')');
    if (!p ||
        sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2) {
        return 0;
    }
    return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

size_t bench_body_put(char *p, size_t size, size_t n, void *body) {
    BenchBody *b = body;
    char *grown = realloc(b->text, b->len + size * n + 1);
    if (!grown) {
        return 0;
    }
    memcpy(grown + b->len, p, size * n);
    b->len += size * n;
    grown[b->len] = '\0';
    b->text = grown;
    return size * n;
}

const char *bench_metric_key(int k) {
    return metric_keys[k];
}

int bench_metrics_line(char *out, size_t sz, long long i, unsigned *seed) {
    size_t n = 0;
    n += (size_t)snprintf(out + n, sz - n, "{\"iteration\":%lld,\"env_steps\":%lld", i, i * 2048);
    for (int k = 2; k < BENCH_METRIC_KEYS; k++) {
        double noise = (double)rand_r(seed) / RAND_MAX;
        double v = (k == 2) ? (double)i * 0.8 + noise * 0.01
                            : (double)k * (1.0 + log1p((double)i)) + noise;
        n += (size_t)snprintf(out + n, sz - n, ",\"%s\":%.17g", metric_keys[k], v);
    }
    n += (size_t)snprintf(out + n, sz - n, "}\n");
    return (int)n;
}
