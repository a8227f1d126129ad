/* angoractl's analysis commands: analyze queues an analysis job on a checkpoint of a run (and
 * with --wait follows its phases and prints the best layer for each variable), download
 * --analysis fetches a finished job's analysis.json, CSV tables and PNG figures (and with --h5
 * its recording) into a folder. */
#include "ctl.h"

#include "ag_error.h"
#include "ag_fs.h"
#include "ag_json.h"
#include "ag_rundir.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- what a result says ---- */

json_t *ctl_analysis_best(const json_t *doc) {
    const json_t *results = json_object_get(json_object_get(doc, "decoding"), "results");
    json_t *best, *res;
    size_t i;
    if (!json_is_array(results)) {
        return NULL;
    }
    best = json_array();
    json_array_foreach(results, i, res) {
        const char *var = json_string_value(json_object_get(res, "variable"));
        const json_t *r2 = json_object_get(res, "r2");
        json_t *row = NULL, *v;
        size_t k;
        if (!var) {
            continue;
        }
        json_array_foreach(best, k, v) {
            if (!strcmp(json_string_value(json_object_get(v, "variable")), var)) {
                row = v;
                break;
            }
        }
        if (!row) {
            row = json_pack("{s:s,s:n,s:n,s:n}", "variable", var, "layer", "r2", "r2_shuffled");
            json_array_append_new(best, row);
        }
        /* the highest R^2 wins; a layer without one (a constant column) never does */
        if (json_is_number(r2) &&
            (!json_is_number(json_object_get(row, "r2")) ||
             json_number_value(r2) > json_number_value(json_object_get(row, "r2")))) {
            json_object_set(row, "layer", json_object_get(res, "layer"));
            json_object_set(row, "r2", (json_t *)r2);
            json_object_set(row, "r2_shuffled",
                            json_object_get(res, "r2_shuffled")
                                ? json_object_get(res, "r2_shuffled")
                                : json_null());
        }
    }
    return best;
}

int ctl_analysis_file_path(int64_t id, const char *name, char *out, size_t out_sz) {
    size_t len = strlen(name);
    const char *kind = NULL;
    if (!len || len > 100 || name[0] == '.' ||
        name[strspn(name, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-")]) {
        return AG_EINVAL;
    }
    if (!strcmp(name, AG_RUN_ANALYSIS_JSON)) {
        snprintf(out, out_sz, "/api/v1/experiments/%lld/analysis", (long long)id);
        return 0;
    }
    if (len > 4 && !strcmp(name + len - 4, ".csv")) {
        kind = "tables";
    } else if (len > 4 && !strcmp(name + len - 4, ".png")) {
        kind = "figures";
    } else {
        return AG_EINVAL;
    }
    snprintf(out, out_sz, "/api/v1/experiments/%lld/analysis/%s/%s", (long long)id, kind, name);
    return 0;
}

/* ---- analyze ---- */

/* "a,b" as a JSON array of the non-empty names */
static json_t *names_split(const char *list) {
    json_t *arr = json_array();
    const char *p = list;
    while (p && *p) {
        const char *comma = strchr(p, ',');
        size_t n = comma ? (size_t)(comma - p) : strlen(p);
        if (n > 0) {
            json_array_append_new(arr, json_stringn(p, n));
        }
        p = comma ? comma + 1 : NULL;
    }
    return arr;
}

/* the request body of the command line */
static int analyze_body(CtlCtx *x, char **text) {
    long long episodes, folds;
    char err[256];
    json_t *body = json_object();
    const char *ckpt = ctl_args_get(x->args, "ckpt");
    *text = NULL;
    if (ctl_args_get_int(x->args, "episodes", -1, 0, 1000000, &episodes, err, sizeof(err)) ||
        ctl_args_get_int(x->args, "folds", -1, 0, 1000000, &folds, err, sizeof(err))) {
        json_decref(body);
        return ctl_say(x, CTL_EXIT_USAGE, "%s", err);
    }
    /* what is not given is the server's default; the server checks the ranges */
    if (ckpt) {
        json_object_set_new(body, "checkpoint", json_string(ckpt));
    }
    if (episodes >= 0) {
        json_object_set_new(body, "episodes", json_integer(episodes));
    }
    if (folds >= 0) {
        json_object_set_new(body, "folds", json_integer(folds));
    }
    json_object_set_new(body, "deterministic",
                        json_boolean(ctl_args_has(x->args, "deterministic")));
    if (ctl_args_get(x->args, "variables")) {
        json_object_set_new(body, "variables", names_split(ctl_args_get(x->args, "variables")));
    }
    if (ctl_args_get(x->args, "layers")) {
        json_object_set_new(body, "layers", names_split(ctl_args_get(x->args, "layers")));
    }
    *text = json_dumps(body, JSON_COMPACT);
    json_decref(body);
    return *text ? 0 : ctl_say(x, CTL_EXIT_OTHER, "out of memory");
}

/* each new phase of the job on stderr */
static void phase_show(CtlCtx *x, const json_t *exp, void *ud) {
    char *last = ud;
    const char *phase = ctl_jstr(exp, "phase"), *state = ctl_jstr(exp, "state");
    char now[64];
    snprintf(now, sizeof(now), "%s%s%s", state, *phase ? " " : "", phase);
    if (strcmp(now, last) != 0 && !x->args->json) {
        fprintf(x->err, "angoractl: analysis %lld: %s\n",
                (long long)json_integer_value(json_object_get(exp, "id")), now);
    }
    snprintf(last, 64, "%s", now);
}

/* an R^2 with three decimals, "-" when there is none */
static void r2_text(const json_t *v, char *out, size_t out_sz) {
    if (json_is_number(v)) {
        snprintf(out, out_sz, "%.3f", json_number_value(v));
    } else {
        snprintf(out, out_sz, "-");
    }
}

/* the best layer of every variable, as a table */
static void best_print(CtlCtx *x, const json_t *best) {
    static const char *const heads[] = {"VARIABLE", "BEST LAYER", "R2", "R2 SHUFFLED"};
    CtlTable t;
    const json_t *row;
    size_t i;
    ctl_table_init(&t, 4, heads);
    json_array_foreach(best, i, row) {
        char r2[32], sh[32];
        const char *cells[4];
        r2_text(json_object_get(row, "r2"), r2, sizeof(r2));
        r2_text(json_object_get(row, "r2_shuffled"), sh, sizeof(sh));
        cells[0] = ctl_jstr(row, "variable");
        cells[1] = *ctl_jstr(row, "layer") ? ctl_jstr(row, "layer") : "-";
        cells[2] = r2;
        cells[3] = sh;
        ctl_table_add(&t, cells);
    }
    ctl_table_print(&t, x->out);
    ctl_table_free(&t);
}

/* a finished job's result: the best layers, or the whole summary as JSON */
static int analyze_result(CtlCtx *x, int64_t job, const json_t *exp) {
    char path[128];
    CtlResponse r;
    json_t *best;
    const json_t *spec = json_object_get(exp, "spec");
    int code;
    snprintf(path, sizeof(path), "/api/v1/experiments/%lld/analysis", (long long)job);
    if ((code = ctl_api_call(x, "GET", path, NULL, &r)) != 0) {
        return code;
    }
    best = ctl_analysis_best(r.json);
    if (!best) {
        ctl_response_free(&r);
        return ctl_say(x, CTL_EXIT_OTHER, "analysis %lld: no decoding results", (long long)job);
    }
    if (x->args->json) {
        json_t *o = json_pack("{s:I,s:O,s:O,s:o}", "id", (json_int_t)job, "spec", spec, "analysed",
                              json_object_get(r.json, "analysed"), "best", best);
        ctl_json_print(x, o);
        json_decref(o);
    } else {
        fprintf(x->out, "analysis %lld of experiment %lld: %s, %lld episodes, %lld steps\n",
                (long long)job, (long long)json_integer_value(json_object_get(exp, "parent_id")),
                ctl_jstr(spec, "checkpoint"),
                (long long)json_integer_value(
                    json_object_get(json_object_get(r.json, "analysed"), "episodes")),
                (long long)json_integer_value(
                    json_object_get(json_object_get(r.json, "analysed"), "steps")));
        best_print(x, best);
        fprintf(x->out, "everything: angoractl download %lld --analysis [-o DIR] [--h5]\n",
                (long long)job);
        json_decref(best);
    }
    ctl_response_free(&r);
    return 0;
}

int ctl_cmd_analyze(CtlCtx *x) {
    int64_t id, job;
    double interval;
    char *body = NULL, last[64] = "";
    CtlResponse r;
    json_t *exp = NULL;
    int code = ctl_id_arg(x, &id);
    if (code || (code = ctl_seconds_opt(x, "interval", 1, 0.05, 3600, &interval)) != 0 ||
        (code = analyze_body(x, &body)) != 0) {
        return code;
    }
    if ((code = ctl_job_queue(x, id, "analyses", body, &r, &job)) != 0) {
        return code;
    }
    if (!ctl_args_has(x->args, "wait")) {
        if (x->args->json) {
            ctl_body_print(x, &r);
        } else {
            fprintf(x->out, "%lld\n", (long long)job);
            fprintf(x->err,
                    "angoractl: queued analysis %lld of experiment %lld (%s, %lld episodes)\n",
                    (long long)job, (long long)id,
                    ctl_jstr(json_object_get(r.json, "spec"), "checkpoint"),
                    (long long)json_integer_value(
                        json_object_get(json_object_get(r.json, "spec"), "episodes")));
        }
        ctl_response_free(&r);
        return 0;
    }
    ctl_response_free(&r);
    if ((code = ctl_exp_wait(x, job, interval, phase_show, last, &exp)) != 0) {
        return code;
    }
    if (strcmp(ctl_jstr(exp, "state"), "succeeded") != 0) {
        code = ctl_say(x, CTL_EXIT_OTHER, "analysis %lld %s: %s", (long long)job,
                       ctl_jstr(exp, "state"),
                       *ctl_jstr(exp, "error") ? ctl_jstr(exp, "error") : "no result");
    } else {
        code = analyze_result(x, job, exp);
    }
    json_decref(exp);
    return code;
}

/* ---- download --analysis ---- */

int ctl_cmd_download_analysis(CtlCtx *x) {
    int64_t id;
    char dir[CTL_PATH_MAX], dest[CTL_PATH_MAX + 128], path[256], err[512];
    const char *out = ctl_args_get(x->args, "output");
    CtlResponse r;
    json_t *outputs, *files, *v;
    size_t i;
    int code = ctl_id_arg(x, &id), rc;
    if (code) {
        return code;
    }
    if (ctl_args_has(x->args, "checkpoint") || ctl_args_has(x->args, "video") ||
        ctl_args_has(x->args, "trajectory")) {
        return ctl_say(x, CTL_EXIT_USAGE,
                       "download: --analysis fetches a folder; not with --checkpoint, --video or "
                       "--trajectory");
    }
    if (out && !strcmp(out, "-")) {
        return ctl_say(x, CTL_EXIT_USAGE, "download: --analysis writes a folder (-o DIR), not '-'");
    }
    snprintf(dir, sizeof(dir), "%s", out && *out ? out : "");
    if (!dir[0]) {
        snprintf(dir, sizeof(dir), "analysis-%lld", (long long)id);
    }
    /* analysis.json lists every file of the set */
    snprintf(path, sizeof(path), "/api/v1/experiments/%lld/analysis", (long long)id);
    if ((code = ctl_api_call(x, "GET", path, NULL, &r)) != 0) {
        return code;
    }
    outputs = json_object_get(r.json, "outputs");
    if (!json_is_array(outputs)) {
        ctl_response_free(&r);
        return ctl_say(x, CTL_EXIT_OTHER, "analysis %lld: analysis.json lists no outputs",
                       (long long)id);
    }
    if ((rc = ag_fs_mkdir_p(dir, 0755, err, sizeof(err))) != 0) {
        ctl_response_free(&r);
        return ctl_say(x, CTL_EXIT_OTHER, "%s", err);
    }
    files = json_array();
    json_array_foreach(outputs, i, v) {
        const char *name = json_string_value(v);
        if (!name || ctl_analysis_file_path(id, name, path, sizeof(path)) != 0) {
            continue; /* not one of the kinds served: left out */
        }
        snprintf(dest, sizeof(dest), "%s/%s", dir, name);
        if ((code = ctl_download_file(x, path, dest)) != 0) {
            break;
        }
        json_array_append_new(files, json_string(name));
    }
    if (code == 0 && ctl_args_has(x->args, "h5")) {
        snprintf(path, sizeof(path), "/api/v1/experiments/%lld/analysis/recording", (long long)id);
        snprintf(dest, sizeof(dest), "%s/" AG_RUN_ACTIVATIONS, dir);
        if ((code = ctl_download_file(x, path, dest)) == 0) {
            json_array_append_new(files, json_string(AG_RUN_ACTIVATIONS));
        }
    }
    if (code == 0 && x->args->json) {
        json_t *o = json_pack("{s:I,s:s,s:O}", "id", (json_int_t)id, "dir", dir, "files", files);
        ctl_json_print(x, o);
        json_decref(o);
    } else if (code == 0) {
        fprintf(x->err, "angoractl: wrote %zu files to %s\n", json_array_size(files), dir);
    }
    json_decref(files);
    ctl_response_free(&r);
    return code;
}
