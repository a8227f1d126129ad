/* angoractl's pretrain command: checks a vision pretraining spec locally with the code the
 * server and the trainer use (common/ag_pretrain.h), queues it as a pretrain job, and with
 * --wait follows it and prints its last held-out errors and the encoder checkpoint to name as
 * model.encoder.checkpoint in a training spec. */
#include "ctl.h"

#include "ag_dtoa.h"
#include "ag_error.h"
#include "ag_fs.h"
#include "ag_json.h"
#include "ag_pretrain.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PRETRAIN_SPEC_FILE_MAX (1 << 20)

int ctl_pretrain_spec_load(const char *path, json_t **doc_out, char *err, size_t err_sz) {
    char *text = NULL, msg[512], abs[PATH_MAX];
    size_t len = 0;
    AgJsonErr je = {0};
    AgPretrainSpec ps;
    json_t *doc;
    int rc;
    *doc_out = NULL;
    if (!ag_fs_exists(path)) {
        return ag_errorf(err, err_sz, AG_EINVAL, "%s: no such file", path);
    }
    if ((rc = ag_fs_read_file(path, PRETRAIN_SPEC_FILE_MAX, &text, &len, msg, sizeof msg)) != 0) {
        return ag_errorf(err, err_sz, AG_EINVAL, "%s: %s", path, msg);
    }
    doc = ag_json_parse(text, len, &je);
    free(text);
    if (!doc) {
        return ag_errorf(err, err_sz, AG_EJSON, "%s: %s", path, je.reason);
    }
    if (ag_pretrain_spec_read(doc, &ps, &je) != 0) {
        char what[AG_JSON_PATH_MAX + AG_JSON_REASON_MAX + 4];
        ag_json_err_format(&je, what, sizeof what);
        json_decref(doc);
        return ag_errorf(err, err_sz, AG_ESPEC, "%s: %s", path, what);
    }
    /* the job runs in its own directory: a dataset named from here is sent by its full path */
    if (ps.data[0] != '/' && realpath(ps.data, abs)) {
        json_object_set_new(doc, "data", json_string(abs));
    }
    *doc_out = doc;
    return 0;
}

/* the newest metric row of job id (a new reference), or NULL */
static json_t *last_row(CtlCtx *x, const json_t *exp) {
    char path[160];
    CtlResponse r;
    long long last = json_integer_value(json_object_get(exp, "last_seq"));
    json_t *row;
    snprintf(path, sizeof path,
             "/api/v1/experiments/%lld/metrics/export?format=json&after_seq=%lld",
             (long long)json_integer_value(json_object_get(exp, "id")), last > 0 ? last - 1 : 0);
    if (ctl_api_call(x, "GET", path, NULL, &r) != 0) {
        return NULL;
    }
    row = json_array_get(json_object_get(r.json, "rows"), 0);
    row = row ? json_incref(json_object_get(row, "row") ? json_object_get(row, "row") : row) : NULL;
    ctl_response_free(&r);
    return row;
}

static void epoch_show(CtlCtx *x, const json_t *exp, void *ud) {
    long long *shown = ud, epoch = json_integer_value(json_object_get(exp, "latest_iteration"));
    if (!x->args->json && epoch > *shown) {
        fprintf(x->err, "angoractl: pretrain %lld: epoch %lld\n",
                (long long)json_integer_value(json_object_get(exp, "id")), epoch);
        *shown = epoch;
    }
}

int ctl_cmd_pretrain(CtlCtx *x) {
    char err[1024], *text;
    long long priority, shown = 0;
    double interval;
    const char *name = ctl_args_get(x->args, "name");
    json_t *doc = NULL, *body, *exp = NULL, *row;
    CtlResponse r;
    int64_t id;
    int code;
    if (ctl_args_get_int(x->args, "priority", 0, -1000, 1000, &priority, err, sizeof err)) {
        return ctl_say(x, CTL_EXIT_USAGE, "%s", err);
    }
    if ((code = ctl_seconds_opt(x, "interval", 1, 0.05, 3600, &interval)) != 0) {
        return code;
    }
    if ((code = ctl_pretrain_spec_load(x->args->pos[0], &doc, err, sizeof err)) != 0) {
        return ctl_say(x, ctl_exit_of_error(code), "%s", err);
    }
    body = json_pack("{s:o,s:I}", "spec", doc, "priority", (json_int_t)priority);
    if (body && name) {
        json_object_set_new(body, "name", json_string(name));
    }
    text = body ? ag_dtoa_json_dumps(body, 0) : NULL;
    json_decref(body);
    if (!text) {
        return ctl_say(x, CTL_EXIT_OTHER, "out of memory");
    }
    code = ctl_api_call(x, "POST", "/api/v1/pretrain", text, &r);
    free(text);
    if (code) {
        return code;
    }
    id = json_integer_value(json_object_get(r.json, "id"));
    if (!ctl_args_has(x->args, "wait")) {
        if (x->args->json) {
            ctl_body_print(x, &r);
        } else {
            fprintf(x->out, "%lld\n", (long long)id);
            fprintf(x->err, "angoractl: queued pretrain %lld \"%s\"; its encoder: %s\n",
                    (long long)id, ctl_jstr(r.json, "name"),
                    ctl_jstr(r.json, "encoder_checkpoint"));
        }
        ctl_response_free(&r);
        return 0;
    }
    ctl_response_free(&r);
    if ((code = ctl_exp_wait(x, id, interval, epoch_show, &shown, &exp)) != 0) {
        return code;
    }
    if (strcmp(ctl_jstr(exp, "state"), "succeeded") != 0) {
        code = ctl_say(x, CTL_EXIT_OTHER, "pretrain %lld %s: %s", (long long)id,
                       ctl_jstr(exp, "state"),
                       *ctl_jstr(exp, "error") ? ctl_jstr(exp, "error") : "no result");
        json_decref(exp);
        return code;
    }
    row = last_row(x, exp);
    if (x->args->json) {
        json_t *o = json_pack("{s:I,s:s,s:s,s:O}", "id", (json_int_t)id, "state", "succeeded",
                              "encoder_checkpoint", ctl_jstr(exp, "encoder_checkpoint"), "last_row",
                              row ? row : json_null());
        ctl_json_print(x, o);
        json_decref(o);
    } else {
        char mm[64] = "-", deg[64] = "-";
        ctl_format_json(json_object_get(row, "holdout_position_rmse_mm"), mm, sizeof mm);
        ctl_format_json(json_object_get(row, "holdout_rotation_median_deg"), deg, sizeof deg);
        fprintf(x->out,
                "pretrain %lld succeeded: %lld epochs, held-out position RMSE %s mm, median "
                "rotation error %s deg\n",
                (long long)id, (long long)json_integer_value(json_object_get(row, "iteration")), mm,
                deg);
        fprintf(x->out, "encoder: %s\n", ctl_jstr(exp, "encoder_checkpoint"));
    }
    json_decref(row);
    json_decref(exp);
    return 0;
}
