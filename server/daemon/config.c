/* angorad's configuration: defaults, the "key = value" config file and single settings from the
 * command line, each value checked with a message naming where it came from. */
#include "daemon.h"

#include "ag_error.h"
#include "ag_executor.h"
#include "ag_log.h"
#include "ag_parse.h"

#include <ctype.h>
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void daemon_config_defaults(DaemonConfig *c, const char *default_trainer) {
    const char *xdg = getenv("XDG_DATA_HOME"), *home = getenv("HOME");
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    memset(c, 0, sizeof(*c));
    if (xdg && *xdg) {
        snprintf(c->data_dir, sizeof(c->data_dir), "%s/angora", xdg);
    } else {
        snprintf(c->data_dir, sizeof(c->data_dir), "%s/.local/share/angora",
                 home && *home ? home : "/tmp");
    }
    snprintf(c->bind, sizeof(c->bind), "127.0.0.1");
    c->port = 7878;
    c->stream_port = -2;
    snprintf(c->trainer, sizeof(c->trainer), "%s", default_trainer ? default_trainer : "");
    /* angorad's main sets the analyzer installed next to it */
    snprintf(c->analyzer, sizeof(c->analyzer), "angora-analyze");
    snprintf(c->mpirun, sizeof(c->mpirun), "mpirun");
    c->max_cores = cpus > 0 ? (int)cpus : 1;
    c->max_attempts = 3;
    c->grace_s = 10;
    c->tick_s = 0.2;
    c->ingest_s = 0.2;
    c->queue_s = 0.2;
    c->shutdown = DAEMON_SHUTDOWN_LEAVE;
    snprintf(c->log_level, sizeof(c->log_level), "info");
    c->max_connections = 256;
    c->connection_timeout_s = 30;
    c->http_threads = 4;
    c->http_nice = 10;
    c->response_cache_mb = 64;
    c->integrity_check = 1;
    c->ingest_events = 1;
    snprintf(c->slurm_mpi, sizeof(c->slurm_mpi), "pmix");
    c->slurm_poll_s = 2.0;
}

static int parse_long(const char *key, const char *v, long min, long max, long *out, char *err,
                      size_t err_sz) {
    long long x;
    int rc = ag_parse_int(v, min, max, &x);
    if (rc == AG_EINVAL) {
        return ag_errorf(err, err_sz, AG_EINVAL, "%s: expected an integer, got \"%s\"", key, v);
    }
    if (rc) {
        return ag_errorf(err, err_sz, AG_ERANGE, "%s: must be in [%ld, %ld], got %lld", key, min,
                         max, x);
    }
    *out = (long)x;
    return 0;
}

static int parse_double(const char *key, const char *v, double min, double max, double *out,
                        char *err, size_t err_sz) {
    char *end;
    double x;
    errno = 0;
    x = strtod(v, &end);
    if (!*v || *end || errno || x != x) {
        return ag_errorf(err, err_sz, AG_EINVAL, "%s: expected a number, got \"%s\"", key, v);
    }
    if (x < min || x > max) {
        return ag_errorf(err, err_sz, AG_ERANGE, "%s: must be in [%g, %g], got %g", key, min, max,
                         x);
    }
    *out = x;
    return 0;
}

static int copy_str(const char *key, const char *v, char *dst, size_t dst_sz, char *err,
                    size_t err_sz) {
    if (strlen(v) >= dst_sz) {
        return ag_errorf(err, err_sz, AG_ETOOBIG, "%s: value too long", key);
    }
    memcpy(dst, v, strlen(v) + 1);
    return 0;
}

/* the settings that are a string, a number of one type in a range, by field */
typedef enum ConfigKind { CONFIG_STR, CONFIG_INT, CONFIG_UNSIGNED, CONFIG_DOUBLE } ConfigKind;

typedef struct ConfigKey {
    const char *key;
    ConfigKind kind;
    size_t offset; /* of the field in DaemonConfig */
    size_t size;   /* of the field (the buffer of a string) */
    double min, max;
} ConfigKey;

#define CONFIG_FIELD(f) offsetof(DaemonConfig, f), sizeof(((DaemonConfig *)0)->f)

static const ConfigKey config_keys[] = {
    {"data_dir", CONFIG_STR, CONFIG_FIELD(data_dir), 0, 0},
    {"bind", CONFIG_STR, CONFIG_FIELD(bind), 0, 0},
    {"port_file", CONFIG_STR, CONFIG_FIELD(port_file), 0, 0},
    {"trainer", CONFIG_STR, CONFIG_FIELD(trainer), 0, 0},
    {"analyzer", CONFIG_STR, CONFIG_FIELD(analyzer), 0, 0},
    {"mpirun", CONFIG_STR, CONFIG_FIELD(mpirun), 0, 0},
    {"hostfile", CONFIG_STR, CONFIG_FIELD(hostfile), 0, 0},
    {"port", CONFIG_INT, CONFIG_FIELD(port), 0, 65535},
    {"stream_port", CONFIG_INT, CONFIG_FIELD(stream_port), -2, 65535},
    {"max_cores", CONFIG_INT, CONFIG_FIELD(max_cores), 1, 4096},
    {"max_attempts", CONFIG_INT, CONFIG_FIELD(max_attempts), 1, 100},
    {"grace_seconds", CONFIG_DOUBLE, CONFIG_FIELD(grace_s), 0, 3600},
    {"tick_seconds", CONFIG_DOUBLE, CONFIG_FIELD(tick_s), 0.01, 10},
    {"ingest_seconds", CONFIG_DOUBLE, CONFIG_FIELD(ingest_s), 0.01, 10},
    {"queue_seconds", CONFIG_DOUBLE, CONFIG_FIELD(queue_s), 0.01, 60},
    {"max_connections", CONFIG_UNSIGNED, CONFIG_FIELD(max_connections), 1, 65536},
    {"connection_timeout", CONFIG_UNSIGNED, CONFIG_FIELD(connection_timeout_s), 1, 3600},
    {"http_threads", CONFIG_UNSIGNED, CONFIG_FIELD(http_threads), 1, 64},
    {"http_nice", CONFIG_INT, CONFIG_FIELD(http_nice), 0, 19},
    {"response_cache_mb", CONFIG_UNSIGNED, CONFIG_FIELD(response_cache_mb), 0, 4096},
    {"run_root", CONFIG_STR, CONFIG_FIELD(run_root), 0, 0},
    {"slurm_bin", CONFIG_STR, CONFIG_FIELD(slurm_bin), 0, 0},
    {"slurm_poll_seconds", CONFIG_DOUBLE, CONFIG_FIELD(slurm_poll_s), 0.05, 600},
};

/* the Slurm settings checked like the spec's executor checks them */
static int config_set_slurm(DaemonConfig *c, const char *key, const char *v, char *err,
                            size_t err_sz) {
    if (!strcmp(key, "executor")) {
        int kind = ag_executor_kind_parse(v);
        if (kind < 0) {
            return ag_errorf(err, err_sz, AG_EINVAL, "executor: local or slurm, got \"%s\"", v);
        }
        c->slurm_default = kind == AG_EXECUTOR_SLURM;
        return 0;
    }
    if (!strcmp(key, "slurm_partition") || !strcmp(key, "slurm_account") ||
        !strcmp(key, "slurm_mpi")) {
        if (*v && !ag_executor_name_valid(v)) {
            return ag_errorf(err, err_sz, AG_EINVAL,
                             "%s: letters, digits, '_', '-' and '.' only, got \"%s\"", key, v);
        }
        return copy_str(key, v,
                        !strcmp(key, "slurm_partition") ? c->slurm_partition
                        : !strcmp(key, "slurm_account") ? c->slurm_account
                                                        : c->slurm_mpi,
                        sizeof(c->slurm_partition), err, err_sz);
    }
    if (!strcmp(key, "slurm_time_limit")) {
        if (*v && !ag_executor_time_limit_valid(v)) {
            return ag_errorf(err, err_sz, AG_EINVAL,
                             "slurm_time_limit: M, M:S, H:M:S, D-H, D-H:M or D-H:M:S, got \"%s\"",
                             v);
        }
        return copy_str(key, v, c->slurm_time_limit, sizeof(c->slurm_time_limit), err, err_sz);
    }
    return AG_ENOTFOUND;
}

/* one setting of the table into its field; an integer that fails to parse leaves 0 there */
static int config_set_field(DaemonConfig *c, const ConfigKey *k, const char *v, char *err,
                            size_t err_sz) {
    char *field = (char *)c + k->offset;
    long l = 0;
    int rc;
    switch (k->kind) {
    case CONFIG_STR:
        return copy_str(k->key, v, field, k->size, err, err_sz);
    case CONFIG_DOUBLE:
        return parse_double(k->key, v, k->min, k->max, (double *)(void *)field, err, err_sz);
    case CONFIG_INT:
        rc = parse_long(k->key, v, (long)k->min, (long)k->max, &l, err, err_sz);
        *(int *)(void *)field = (int)l;
        return rc;
    case CONFIG_UNSIGNED:
        rc = parse_long(k->key, v, (long)k->min, (long)k->max, &l, err, err_sz);
        *(unsigned *)(void *)field = (unsigned)l;
        return rc;
    }
    return AG_EINVAL;
}

int daemon_config_set(DaemonConfig *c, const char *key, const char *v, char *err, size_t err_sz) {
    for (size_t i = 0; i < sizeof config_keys / sizeof config_keys[0]; i++) {
        if (!strcmp(key, config_keys[i].key)) {
            return config_set_field(c, &config_keys[i], v, err, err_sz);
        }
    }
    int rc = config_set_slurm(c, key, v, err, err_sz);
    if (rc != AG_ENOTFOUND) {
        return rc;
    }
    if (!strcmp(key, "ingest_events")) {
        if (strcmp(v, "yes") && strcmp(v, "no")) {
            return ag_errorf(err, err_sz, AG_EINVAL, "ingest_events: yes or no, got \"%s\"", v);
        }
        c->ingest_events = !strcmp(v, "yes");
        return 0;
    }
    if (!strcmp(key, "integrity_check")) {
        if (strcmp(v, "yes") && strcmp(v, "no")) {
            return ag_errorf(err, err_sz, AG_EINVAL, "integrity_check: yes or no, got \"%s\"", v);
        }
        c->integrity_check = !strcmp(v, "yes");
        return 0;
    }
    if (!strcmp(key, "on_shutdown")) {
        if (!strcmp(v, "leave")) {
            c->shutdown = DAEMON_SHUTDOWN_LEAVE;
        } else if (!strcmp(v, "checkpoint")) {
            c->shutdown = DAEMON_SHUTDOWN_CHECKPOINT;
        } else {
            return ag_errorf(err, err_sz, AG_EINVAL, "on_shutdown: leave or checkpoint, got \"%s\"",
                             v);
        }
        return 0;
    }
    if (!strcmp(key, "log_level")) {
        if (ag_log_level_parse(v) < 0) {
            return ag_errorf(err, err_sz, AG_EINVAL,
                             "log_level: debug, info, warn, error or off, got \"%s\"", v);
        }
        return copy_str(key, v, c->log_level, sizeof(c->log_level), err, err_sz);
    }
    return ag_errorf(err, err_sz, AG_EINVAL, "unknown setting \"%s\"", key);
}

static char *trim(char *s) {
    char *end;
    while (isspace((unsigned char)*s)) {
        s++;
    }
    end = s + strlen(s);
    while (end > s && isspace((unsigned char)end[-1])) {
        *--end = '\0';
    }
    return s;
}

int daemon_config_load(DaemonConfig *c, const char *path, char *err, size_t err_sz) {
    FILE *f = fopen(path, "r");
    char line[2048], msg[512];
    int lineno = 0, rc = 0;
    if (!f) {
        return ag_errorf(err, err_sz, AG_EIO, "cannot read config %s: %s", path, strerror(errno));
    }
    while (fgets(line, sizeof(line), f)) {
        char *s, *eq, *key, *val;
        lineno++;
        if (!strchr(line, '\n') && !feof(f)) {
            rc = ag_errorf(err, err_sz, AG_ETOOBIG, "%s:%d: line too long", path, lineno);
            break;
        }
        s = trim(line);
        if (!*s || *s == '#') {
            continue;
        }
        eq = strchr(s, '=');
        if (!eq) {
            rc = ag_errorf(err, err_sz, AG_EINVAL, "%s:%d: expected key = value", path, lineno);
            break;
        }
        *eq = '\0';
        key = trim(s);
        val = trim(eq + 1);
        /* optional quotes around values with spaces */
        if (strlen(val) >= 2 && val[0] == '"' && val[strlen(val) - 1] == '"') {
            val[strlen(val) - 1] = '\0';
            val++;
        }
        rc = daemon_config_set(c, key, val, msg, sizeof(msg));
        if (rc) {
            ag_errorf(err, err_sz, rc, "%s:%d: %s", path, lineno, msg);
            break;
        }
    }
    fclose(f);
    return rc;
}
