/* Run directory, metrics lines, status file and metrics truncation (see train_run.h). */
#include "train_run.h"

#include "ag_buf.h"
#include "ag_error.h"
#include "ag_rundir.h"
#include "ag_fs.h"
#include "ag_metric_precision.h"
#include "ag_time.h"

#include <cblas.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#define TRAIN_METRICS_MAX ((size_t)1 << 30)

int train_path(char *out, size_t out_sz, const char *dir, const char *name) {
    int n = snprintf(out, out_sz, "%s/%s", dir, name);
    return (n < 0 || (size_t)n >= out_sz) ? AG_ETOOBIG : 0;
}

int train_rundir_prepare(const char *dir, int resume, char *err, size_t err_sz) {
    char path[TRAIN_PATH_MAX];
    int rc = ag_fs_mkdir_p(dir, 0755, err, err_sz);
    if (rc) {
        return rc;
    }
    if (train_path(path, sizeof path, dir, AG_RUN_CHECKPOINTS)) {
        return ag_errorf(err, err_sz, AG_ETOOBIG, "run directory path too long");
    }
    rc = ag_fs_mkdir_p(path, 0755, err, err_sz);
    if (rc) {
        return rc;
    }
    if (access(dir, W_OK) != 0 || access(path, W_OK) != 0) {
        return ag_errorf(err, err_sz, AG_EIO, "run directory %s is not writable: %s", dir,
                         strerror(errno));
    }
    train_path(path, sizeof path, dir, AG_RUN_METRICS);
    struct stat sb;
    if (!resume && stat(path, &sb) == 0 && sb.st_size > 0) {
        return ag_errorf(err, err_sz, AG_EEXISTS,
                         "run directory %s already holds a run (metrics.jsonl); use --resume "
                         "or another directory",
                         dir);
    }
    return 0;
}

int train_metrics_truncate(const char *path, int64_t iteration, double *last_wall_s,
                           double *last_cpu_s, char *err, size_t err_sz) {
    char *data = NULL;
    size_t len = 0;
    *last_wall_s = 0.0;
    *last_cpu_s = 0.0;
    if (!ag_fs_exists(path)) {
        return 0;
    }
    int rc = ag_fs_read_file(path, TRAIN_METRICS_MAX, &data, &len, err, err_sz);
    if (rc) {
        return rc;
    }
    AgBuf out;
    rc = ag_buf_init(&out, len, len + 1);
    if (rc) {
        free(data);
        return ag_errorf(err, err_sz, rc, "out of memory");
    }
    char *line = data;
    while (line < data + len) {
        char *nl = memchr(line, '\n', (size_t)(data + len - line));
        size_t n = nl ? (size_t)(nl - line) : (size_t)(data + len - line);
        json_error_t je;
        json_t *o = json_loadb(line, n, 0, &je);
        /* a torn last line (crash mid-write) is dropped with the rest */
        if (!o) {
            break;
        }
        json_int_t it = json_integer_value(json_object_get(o, "iteration"));
        double w = json_number_value(json_object_get(o, "wall_s"));
        const json_t *cpu = json_object_get(o, "cpu_s");
        double c = json_is_number(cpu) ? json_number_value(cpu) : NAN;
        json_decref(o);
        if (it > iteration) {
            break;
        }
        ag_buf_append(&out, line, n);
        ag_buf_append(&out, "\n", 1);
        *last_wall_s = w;
        *last_cpu_s = c;
        line += n + (nl ? 1 : 0);
    }
    rc = ag_fs_write_atomic(path, out.data, out.len, err, err_sz);
    ag_buf_free(&out);
    free(data);
    return rc;
}

/* a real as the metrics record it: at its key's precision (ag_metric_precision.h), null when
 * it is not finite */
static void real_set(json_t *o, const char *key, double v) {
    json_object_set_new(o, key, isfinite(v) ? json_real(ag_metric_round(key, v)) : json_null());
}

/* the key a task metric is reported under: success -> success_rate, other -> <name>_mean */
static void metric_key(char *key, size_t key_sz, const char *prefix, const char *name) {
    if (strcmp(name, "success") == 0) {
        snprintf(key, key_sz, "%ssuccess_rate", prefix);
    } else {
        snprintf(key, key_sz, "%s%s_mean", prefix, name);
    }
}

json_t *train_metrics_json(const RlIterStats *st, double wall_s, double cpu_s, double iter_s,
                           const RlEvalResult *eval) {
    json_t *o = json_object();
    if (!o) {
        return NULL;
    }
    const RlTimings *t = &st->time;
    json_object_set_new(o, "iteration", json_integer(st->iteration));
    json_object_set_new(o, "env_steps", json_integer(st->env_steps));
    real_set(o, "wall_s", wall_s);
    if (isfinite(cpu_s)) {
        real_set(o, "cpu_s", cpu_s);
    }
    real_set(o, "return_mean", st->return_mean);
    real_set(o, "return_std", st->return_std);
    real_set(o, "episode_length_mean", st->episode_length_mean);
    json_object_set_new(o, "episodes", json_integer(st->episodes));
    real_set(o, "policy_loss", st->policy_loss);
    real_set(o, "value_loss", st->value_loss);
    real_set(o, "entropy", st->entropy);
    real_set(o, "approx_kl", st->approx_kl);
    real_set(o, "clip_fraction", st->clip_fraction);
    real_set(o, "explained_variance", st->explained_variance);
    real_set(o, "lr", st->lr);
    real_set(o, "grad_norm", st->grad_norm);
    json_object_set_new(o, "epochs", json_integer(st->epochs));
    json_object_set_new(o, "unstable_episodes", json_integer(st->unstable));
    for (int m = 0; m < st->num_metrics; m++) {
        char key[ENV_NAME_MAX + 16];
        metric_key(key, sizeof key, "", st->metric_names[m]);
        real_set(o, key, st->metrics[m]);
    }
    if (eval && isfinite(eval->mean)) {
        real_set(o, "eval_return", eval->mean);
        real_set(o, "eval_return_std", eval->std);
        for (int m = 0; m < eval->num_metrics; m++) {
            char key[ENV_NAME_MAX + 16];
            metric_key(key, sizeof key, "eval_", eval->metric_names[m]);
            real_set(o, key, eval->metrics[m]);
        }
    }
    real_set(o, "sps", iter_s > 0 ? (double)st->env_steps_iter / iter_s : NAN);
    real_set(o, "collect_s", t->collect);
    real_set(o, "update_s", t->update);
    real_set(o, "env_s", t->env);
    real_set(o, "inference_s", t->inference);
    real_set(o, "forward_s", t->forward);
    real_set(o, "backward_s", t->backward);
    real_set(o, "allreduce_s", t->allreduce);
    real_set(o, "optimizer_s", t->optimizer);
    return o;
}

/* the first "model name" line of /proc/cpuinfo, or "unknown" */
static const char *cpu_model_name(void) {
    static char model[128];
    if (model[0]) {
        return model;
    }
    snprintf(model, sizeof model, "unknown");
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (!f) {
        return model;
    }
    char line[512];
    while (fgets(line, sizeof line, f)) {
        const char *colon = strchr(line, ':');
        if (strncmp(line, "model name", 10) == 0 && colon) {
            colon++;
            colon += strspn(colon, " \t");
            snprintf(model, sizeof model, "%.*s", (int)strcspn(colon, "\n"), colon);
            break;
        }
    }
    fclose(f);
    return model;
}

void train_host_describe(json_t *o) {
    /* OpenBLAS picks its kernels by CPU, and their rounding differs: two runs agree to the bit
     * only on the same CPU model and BLAS core */
    const char *core = openblas_get_corename();
    json_object_set_new(o, "cpu_model", json_string(cpu_model_name()));
    json_object_set_new(o, "blas_core", json_string(core && core[0] ? core : "unknown"));
}

const char *train_blas_hint_for(const char *core, int avx512, int avx2) {
    static const char *const generic[] = {"Prescott",  "Core2", "Penryn", "Dunnington",
                                          "Nehalem",   "Atom",  "Katmai", "Coppermine",
                                          "Northwood", NULL};
    static char hint[256];
    const char *better = avx512 ? "SkylakeX" : avx2 ? "Haswell" : NULL;
    int is_generic = 0;
    for (int i = 0; core && generic[i]; i++) {
        is_generic |= strcasecmp(core, generic[i]) == 0;
    }
    if (!is_generic || !better) {
        return NULL;
    }
    snprintf(hint, sizeof hint,
             "OpenBLAS chose its %s kernels on a CPU with %s: OPENBLAS_CORETYPE=%s trains about "
             "twice as fast here (its sums round otherwise, so results match only runs with the "
             "same kernels)",
             core, avx512 ? "AVX-512" : "AVX2", better);
    return hint;
}

const char *train_blas_hint(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_cpu_init();
    return train_blas_hint_for(openblas_get_corename(), __builtin_cpu_supports("avx512f"),
                               __builtin_cpu_supports("avx2"));
#else
    return NULL;
#endif
}

int train_status_write(const char *dir, const char *state, int64_t iteration, int64_t total,
                       int ranks, const char *message, char *err, size_t err_sz) {
    static char started[40];
    char path[TRAIN_PATH_MAX], when[40];
    if (!started[0]) {
        ag_time_iso8601(ag_time_wall(), started, (int)sizeof started);
    }
    if (train_path(path, sizeof path, dir, AG_RUN_STATUS)) {
        return ag_errorf(err, err_sz, AG_ETOOBIG, "run directory path too long");
    }
    json_t *o = json_object();
    json_object_set_new(o, "state", json_string(state));
    json_object_set_new(o, "iteration", json_integer(iteration));
    json_object_set_new(o, "total_iterations", json_integer(total));
    json_object_set_new(o, "pid", json_integer((json_int_t)getpid()));
    json_object_set_new(o, "ranks", json_integer(ranks));
    json_object_set_new(o, "updated",
                        json_string(ag_time_iso8601(ag_time_wall(), when, (int)sizeof when)));
    json_object_set_new(o, "started", json_string(started));
    train_host_describe(o);
    if (message) {
        json_object_set_new(o, "message", json_string(message));
    }
    char *text = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(o);
    if (!text) {
        return ag_errorf(err, err_sz, AG_ENOMEM, "out of memory");
    }
    size_t n = strlen(text);
    text[n] = '\0';
    int rc = ag_fs_write_atomic(path, text, n, err, err_sz);
    free(text);
    return rc;
}

int train_error_write(const char *dir, const char *message, const char *path, int input, char *err,
                      size_t err_sz) {
    char file[TRAIN_PATH_MAX];
    json_t *o;
    char *text;
    int rc;
    if (train_path(file, sizeof file, dir, AG_RUN_ERROR)) {
        return ag_errorf(err, err_sz, AG_ETOOBIG, "run directory path too long");
    }
    o = json_pack("{s:s,s:o,s:s}", "message", message && *message ? message : "unknown error",
                  "path", path && *path ? json_string(path) : json_null(), "class",
                  input ? "input" : "runtime");
    text = o ? json_dumps(o, JSON_INDENT(2) | JSON_SORT_KEYS) : NULL;
    json_decref(o);
    if (!text) {
        return ag_errorf(err, err_sz, AG_ENOMEM, "out of memory");
    }
    rc = ag_fs_write_atomic(file, text, strlen(text), err, err_sz);
    free(text);
    return rc;
}
