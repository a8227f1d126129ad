/* The executor part of an experiment spec: parsing with a check of every value, and its JSON
 * form (ag_executor.h). */
#include "ag_executor.h"

#include "ag_error.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#define EXECUTOR_NODES_MAX 100000
#define EXECUTOR_CPUS_MAX  4096

static const char *const kind_names[] = {"local", "slurm", NULL};
static const char *const slurm_keys[] = {"kind",  "partition",     "time_limit", "account", "extra",
                                         "nodes", "cpus_per_task", "mem",        NULL};
static const char *const local_keys[] = {"kind", NULL};
/* options angorad sets itself on every job: a second value would break tracking or logs */
static const char *const extra_reserved[] = {
    "--wrap",   "--output",  "--error",      "--chdir",  "--parsable",  "--open-mode",
    "--ntasks", "--requeue", "--no-requeue", "--export", "--job-name",  "-o",
    "-e",       "-D",        "-n",           "-J",       "--test-only", NULL};

const char *ag_executor_kind_name(AgExecutorKind kind) {
    switch (kind) {
    case AG_EXECUTOR_LOCAL:
        return "local";
    case AG_EXECUTOR_SLURM:
        return "slurm";
    case AG_EXECUTOR_DEFAULT:
        break;
    }
    return "default";
}

int ag_executor_kind_parse(const char *name) {
    for (int i = 0; kind_names[i]; i++) {
        if (!strcmp(name, kind_names[i])) {
            return i + 1;
        }
    }
    return -1;
}

int ag_executor_name_valid(const char *s) {
    size_t n = strlen(s);
    if (n == 0 || n >= AG_EXECUTOR_NAME_MAX) {
        return 0;
    }
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (!isalnum(c) && c != '_' && c != '-' && c != '.') {
            return 0;
        }
    }
    return 1;
}

/* up to max_fields numbers of 1 to 6 digits separated by ':'; *fields receives their count */
static int digits_fields(const char *s, int max_fields, int *fields) {
    int n = 0, len = 0;
    for (;; s++) {
        if (isdigit((unsigned char)*s)) {
            if (++len > 6) {
                return 0;
            }
        } else if ((*s == ':' || !*s) && len > 0) {
            n++;
            len = 0;
            if (!*s) {
                break;
            }
            if (n >= max_fields) {
                return 0;
            }
        } else {
            return 0;
        }
    }
    *fields = n;
    return 1;
}

int ag_executor_time_limit_valid(const char *s) {
    const char *dash = strchr(s, '-');
    int fields = 0;
    if (!*s || strlen(s) >= AG_EXECUTOR_VALUE_MAX) {
        return 0;
    }
    if (!dash) {
        /* M, M:S, H:M:S */
        return digits_fields(s, 3, &fields);
    }
    /* D-H, D-H:M, D-H:M:S */
    for (const char *p = s; p < dash; p++) {
        if (!isdigit((unsigned char)*p)) {
            return 0;
        }
    }
    return dash > s && dash - s <= 4 && digits_fields(dash + 1, 3, &fields);
}

/* a memory size: digits with an optional unit K, M, G or T */
static int mem_valid(const char *s) {
    size_t n = strlen(s), digits = 0;
    while (digits < n && isdigit((unsigned char)s[digits])) {
        digits++;
    }
    if (digits == 0 || digits > 12) {
        return 0;
    }
    return digits == n || (digits + 1 == n && strchr("KMGTkmgt", s[digits]));
}

static int text_printable(const char *s) {
    for (; *s; s++) {
        if ((unsigned char)*s < 0x20 || *s == 0x7f) {
            return 0;
        }
    }
    return 1;
}

static int extra_is_reserved(const char *opt) {
    size_t n = strcspn(opt, "=");
    for (int i = 0; extra_reserved[i]; i++) {
        if (strlen(extra_reserved[i]) == n && !strncmp(opt, extra_reserved[i], n)) {
            return 1;
        }
    }
    return 0;
}

static int parse_extra(const json_t *arr, const char *base, AgExecutor *out, AgJsonErr *e) {
    char path[AG_JSON_PATH_MAX];
    ag_json_path_key(path, sizeof path, base, "extra");
    if (!arr || json_is_null(arr)) {
        return AG_OK;
    }
    if (!json_is_array(arr)) {
        return ag_json_fail(e, path, "must be an array of sbatch options such as \"--qos=long\"");
    }
    if (json_array_size(arr) > AG_EXECUTOR_EXTRA_MAX) {
        return ag_json_fail(e, path, "has %zu options, at most %d are allowed",
                            json_array_size(arr), AG_EXECUTOR_EXTRA_MAX);
    }
    for (size_t i = 0; i < json_array_size(arr); i++) {
        const json_t *v = json_array_get(arr, i);
        char ipath[AG_JSON_PATH_MAX];
        const char *s = json_string_value(v);
        ag_json_path_index(ipath, sizeof ipath, path, i);
        if (!s || strlen(s) != json_string_length(v) || strlen(s) < 3 ||
            strlen(s) >= AG_EXECUTOR_EXTRA_LEN || strncmp(s, "--", 2) || !text_printable(s)) {
            return ag_json_fail(e, ipath,
                                "must be one sbatch option starting with \"--\" (3 to %d "
                                "printable characters), such as \"--qos=long\"",
                                AG_EXECUTOR_EXTRA_LEN - 1);
        }
        if (extra_is_reserved(s)) {
            return ag_json_fail(e, ipath, "%.*s is set by angorad itself", (int)strcspn(s, "="), s);
        }
        snprintf(out->extra[out->num_extra++], AG_EXECUTOR_EXTRA_LEN, "%s", s);
    }
    return AG_OK;
}

/* a string member that must pass valid() when given; absent leaves "" */
static int get_checked(const json_t *v, const char *base, const char *key,
                       int (*valid)(const char *), const char *what, char *out, size_t out_sz,
                       AgJsonErr *e) {
    char path[AG_JSON_PATH_MAX];
    int rc = ag_json_get_string(v, base, key, NULL, out, out_sz, e);
    if (rc) {
        return rc;
    }
    if (json_object_get(v, key) && !valid(out)) {
        ag_json_path_key(path, sizeof path, base, key);
        return ag_json_fail(e, path, "must be %s, got \"%s\"", what, out);
    }
    return AG_OK;
}

int ag_executor_parse(const json_t *v, const char *path, AgExecutor *out, AgJsonErr *e) {
    long long nodes = 0, cpus = 0;
    int kind = 0, rc;
    memset(out, 0, sizeof *out);
    if (!v || json_is_null(v)) {
        return AG_OK;
    }
    if ((rc = ag_json_expect_object(v, path, e)) != 0) {
        return rc;
    }
    if (!json_object_get(v, "kind")) {
        char kpath[AG_JSON_PATH_MAX];
        ag_json_path_key(kpath, sizeof kpath, path, "kind");
        return ag_json_fail(e, kpath, "is required: \"local\" or \"slurm\"");
    }
    if ((rc = ag_json_get_enum(v, path, "kind", kind_names, 0, &kind, e)) != 0) {
        return rc;
    }
    out->kind = (AgExecutorKind)(kind + 1);
    /* a typo, or a Slurm setting on a local run, is named before any value is read */
    rc = ag_json_check_keys(v, path, slurm_keys, e);
    if (rc == AG_OK && out->kind != AG_EXECUTOR_SLURM) {
        rc = ag_json_check_keys(v, path, local_keys, e);
        if (rc && e) {
            size_t used = strlen(e->reason);
            snprintf(e->reason + used, sizeof e->reason - used,
                     " (a Slurm setting; this executor is local)");
        }
    }
    if (rc) {
        return rc;
    }
    if (out->kind != AG_EXECUTOR_SLURM) {
        return AG_OK;
    }
    if ((rc = get_checked(v, path, "partition", ag_executor_name_valid,
                          "a partition name (letters, digits, '_', '-', '.')", out->partition,
                          sizeof out->partition, e)) ||
        (rc = get_checked(v, path, "account", ag_executor_name_valid,
                          "an account name (letters, digits, '_', '-', '.')", out->account,
                          sizeof out->account, e)) ||
        (rc = get_checked(v, path, "time_limit", ag_executor_time_limit_valid,
                          "a Slurm time limit (M, M:S, H:M:S, D-H, D-H:M or D-H:M:S)",
                          out->time_limit, sizeof out->time_limit, e)) ||
        (rc = get_checked(v, path, "mem", mem_valid,
                          "a memory size per node (a number with an optional K, M, G or T)",
                          out->mem, sizeof out->mem, e)) ||
        (rc = ag_json_get_int(v, path, "nodes", 0, json_object_get(v, "nodes") ? 1 : 0,
                              EXECUTOR_NODES_MAX, &nodes, e)) ||
        (rc = ag_json_get_int(v, path, "cpus_per_task", 0,
                              json_object_get(v, "cpus_per_task") ? 1 : 0, EXECUTOR_CPUS_MAX, &cpus,
                              e)) ||
        (rc = parse_extra(json_object_get(v, "extra"), path, out, e))) {
        return rc;
    }
    out->nodes = (int)nodes;
    out->cpus_per_task = (int)cpus;
    return AG_OK;
}

json_t *ag_executor_to_json(const AgExecutor *x) {
    json_t *o, *extra;
    if (x->kind == AG_EXECUTOR_DEFAULT) {
        return NULL;
    }
    o = json_object();
    if (!o || json_object_set_new(o, "kind", json_string(ag_executor_kind_name(x->kind)))) {
        json_decref(o);
        return NULL;
    }
    if (x->kind != AG_EXECUTOR_SLURM) {
        return o;
    }
    const struct {
        const char *key;
        const char *value;
    } strings[] = {{"partition", x->partition},
                   {"account", x->account},
                   {"time_limit", x->time_limit},
                   {"mem", x->mem}};
    int ok = 1;
    for (size_t i = 0; i < sizeof strings / sizeof strings[0]; i++) {
        if (strings[i].value[0]) {
            ok &= !json_object_set_new(o, strings[i].key, json_string(strings[i].value));
        }
    }
    if (x->nodes > 0) {
        ok &= !json_object_set_new(o, "nodes", json_integer(x->nodes));
    }
    if (x->cpus_per_task > 0) {
        ok &= !json_object_set_new(o, "cpus_per_task", json_integer(x->cpus_per_task));
    }
    extra = json_array();
    for (int i = 0; extra && i < x->num_extra; i++) {
        ok &= !json_array_append_new(extra, json_string(x->extra[i]));
    }
    ok &= extra && !json_object_set_new(o, "extra", extra);
    if (!ok) {
        json_decref(o);
        return NULL;
    }
    return o;
}
