/* angoractl and executors: submit's options that send a run to Slurm (or keep it local) over the
 * spec's "executor", and the lines of show that say where a run executes (ctl.h). */
#include "ctl.h"

#include "ag_error.h"
#include "ag_executor.h"

#include <stdio.h>
#include <string.h>

/* the submit options that set a member of the executor, by member */
static const struct {
    const char *option;
    const char *key;
} slurm_options[] = {
    {"partition", "partition"},
    {"time-limit", "time_limit"},
    {"account", "account"},
};

int ctl_executor_apply(const CtlArgs *a, json_t *doc, char *err, size_t err_sz) {
    const char *kind = ctl_args_get(a, "executor"), *old_kind;
    json_t *x = json_object_get(doc, "executor");
    AgExecutor parsed;
    AgJsonErr je = {0};
    char msg[512];
    int slurm_option = 0, rc;
    for (size_t i = 0; i < sizeof slurm_options / sizeof slurm_options[0]; i++) {
        slurm_option |= ctl_args_get(a, slurm_options[i].option) != NULL;
    }
    if (!kind && !slurm_option) {
        return 0;
    }
    if (kind && strcmp(kind, "local") && strcmp(kind, "slurm")) {
        return ag_errorf(err, err_sz, AG_ESPEC, "--executor: local or slurm, got \"%s\"", kind);
    }
    if (slurm_option && kind && !strcmp(kind, "local")) {
        return ag_errorf(err, err_sz, AG_ESPEC,
                         "--partition, --time-limit and --account are for --executor slurm");
    }
    /* a new kind starts a new executor; Slurm options alone refine the spec's Slurm one */
    old_kind = json_string_value(json_object_get(x, "kind"));
    if (!json_is_object(x) || (kind && (!old_kind || strcmp(kind, old_kind))) ||
        (!kind && (!old_kind || strcmp(old_kind, "slurm")))) {
        x = json_object();
        if (!x || json_object_set_new(doc, "executor", x) != 0) {
            return ag_errorf(err, err_sz, AG_ENOMEM, "out of memory");
        }
    }
    json_object_set_new(x, "kind", json_string(kind ? kind : "slurm"));
    for (size_t i = 0; i < sizeof slurm_options / sizeof slurm_options[0]; i++) {
        const char *v = ctl_args_get(a, slurm_options[i].option);
        if (v && json_object_set_new(x, slurm_options[i].key, json_string(v)) != 0) {
            return ag_errorf(err, err_sz, AG_ESPEC, "--%s must be UTF-8 text",
                             slurm_options[i].option);
        }
    }
    /* the server's check, here, before any network */
    rc = ag_executor_parse(x, "executor", &parsed, &je);
    if (rc) {
        ag_json_err_format(&je, msg, sizeof msg);
        return ag_errorf(err, err_sz, rc, "%s", msg);
    }
    return 0;
}

void ctl_executor_show(CtlCtx *x, const json_t *exp) {
    const char *executor = ctl_jstr(exp, "executor");
    char state[256];
    ctl_kv(x, "executor", *executor ? executor : "local");
    if (strcmp(executor, "slurm")) {
        return;
    }
    ctl_kv(x, "slurm job", ctl_jstr(exp, "slurm_job_id"));
    if (*ctl_jstr(exp, "slurm_reason")) {
        snprintf(state, sizeof state, "%s (%s)", ctl_jstr(exp, "slurm_state"),
                 ctl_jstr(exp, "slurm_reason"));
    } else {
        snprintf(state, sizeof state, "%s", ctl_jstr(exp, "slurm_state"));
    }
    ctl_kv(x, "slurm state", state);
    ctl_kv(x, "nodes", ctl_jstr(exp, "slurm_nodes"));
}
