/* The experiment commands of angoractl (submit, ls, show, the actions, rm, checkpoints,
 * download, evaluate) and the table of every command: each reads its arguments, calls angorad's
 * REST API under /api/v1 and prints a table or JSON; errors become the documented exit codes.
 * The helpers they share are in ctl_util.c; logs and metrics in ctl_metrics.c, watch in
 * ctl_watch.c, the server's tasks, tokens and version in ctl_server.c. */
#include "ctl.h"

#include "ag_buf.h"
#include "ag_dtoa.h"
#include "ag_error.h"
#include "ag_rundir.h"
#include "ag_fs.h"
#include "ag_json.h"
#include "ag_spec.h"
#include "ag_time.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#define SPEC_FILE_MAX (4u << 20)

/* ---- submit ---- */

/* standard input, which may be a pipe, up to SPEC_FILE_MAX bytes */
static int stdin_read(char **text, size_t *len, char *err, size_t err_sz) {
    AgBuf b;
    char chunk[4096];
    size_t n;
    if (ag_buf_init(&b, 0, SPEC_FILE_MAX) != 0) {
        return ag_errorf(err, err_sz, AG_ENOMEM, "out of memory");
    }
    while ((n = fread(chunk, 1, sizeof(chunk), stdin)) > 0) {
        if (ag_buf_append(&b, chunk, n) != 0) {
            ag_buf_free(&b);
            return ag_errorf(err, err_sz, AG_ETOOBIG, "larger than %u MiB", SPEC_FILE_MAX >> 20);
        }
    }
    if (ferror(stdin)) {
        ag_buf_free(&b);
        return ag_errorf(err, err_sz, AG_EIO, "cannot read standard input");
    }
    *len = b.len;
    *text = ag_buf_steal(&b);
    if (!*text) {
        *text = calloc(1, 1);
    }
    return *text ? 0 : ag_errorf(err, err_sz, AG_ENOMEM, "out of memory");
}

int ctl_spec_load(const char *path, const char *name, const char *const *tags, int ntags,
                  json_t **doc_out, char *err, size_t err_sz) {
    char *text = NULL, msg[512];
    size_t len = 0;
    json_t *doc = NULL, *arr;
    AgJsonErr je = {0};
    AgSpec spec;
    int rc = 0;
    *doc_out = NULL;
    if (!strcmp(path, "-")) {
        rc = stdin_read(&text, &len, msg, sizeof(msg));
    } else if (!ag_fs_exists(path)) {
        return ag_errorf(err, err_sz, AG_EINVAL, "%s: no such file", path);
    } else {
        rc = ag_fs_read_file(path, SPEC_FILE_MAX, &text, &len, msg, sizeof(msg));
    }
    if (rc) {
        return ag_errorf(err, err_sz, AG_EINVAL, "%s: %s", path, msg);
    }
    doc = ag_json_parse(text, len, &je);
    free(text);
    if (!doc) {
        return ag_errorf(err, err_sz, AG_EJSON, "%s: %s", path, je.reason);
    }
    if (!json_is_object(doc)) {
        rc = ag_errorf(err, err_sz, AG_ESPEC, "%s: the spec must be a JSON object", path);
        goto out;
    }
    if (name && json_object_set_new(doc, "name", json_string(name)) != 0) {
        rc = ag_errorf(err, err_sz, AG_ESPEC, "%s: --name must be UTF-8 text", path);
        goto out;
    }
    if (ntags > 0) {
        arr = json_object_get(doc, "tags");
        if (arr && !json_is_array(arr)) {
            rc = ag_errorf(err, err_sz, AG_ESPEC, "%s: tags: expected an array of strings", path);
            goto out;
        }
        if (!arr) {
            arr = json_array();
            json_object_set_new(doc, "tags", arr);
        }
        for (int i = 0; i < ntags; i++) {
            size_t k;
            json_t *v;
            int dup = 0;
            json_array_foreach(arr, k, v) dup |=
                json_is_string(v) && !strcmp(json_string_value(v), tags[i]);
            if (!dup) {
                json_array_append_new(arr, json_string(tags[i]));
            }
        }
    }
    /* the same validation the server applies, so errors come before any network */
    rc = ag_spec_parse(doc, &spec, &je);
    if (rc) {
        ag_json_err_format(&je, msg, sizeof(msg));
        rc = ag_errorf(err, err_sz, rc, "%s: %s", path, msg);
        goto out;
    }
    ag_spec_free(&spec);
    *doc_out = json_incref(doc);
out:
    json_decref(doc);
    return rc;
}

static int cmd_submit(CtlCtx *x) {
    const char *tags[AG_SPEC_TAGS_MAX + 1];
    int ntags = 0, code;
    long long priority;
    char err[1024];
    json_t *doc = NULL, *body = NULL;
    char *text = NULL;
    CtlResponse r;
    int dry = ctl_args_has(x->args, "dry-run");
    if (ctl_args_get_int(x->args, "priority", 0, -1000, 1000, &priority, err, sizeof(err))) {
        return ctl_say(x, CTL_EXIT_USAGE, "%s", err);
    }
    while (ctl_args_nth(x->args, "tag", ntags)) {
        if (ntags == AG_SPEC_TAGS_MAX) {
            return ctl_say(x, CTL_EXIT_USAGE, "--tag: at most %d tags", AG_SPEC_TAGS_MAX);
        }
        tags[ntags] = ctl_args_nth(x->args, "tag", ntags);
        ntags++;
    }
    code = ctl_spec_load(x->args->pos[0], ctl_args_get(x->args, "name"), tags, ntags, &doc, err,
                         sizeof(err));
    if (code == 0) {
        code = ctl_executor_apply(x->args, doc, err, sizeof(err));
    }
    if (code) {
        json_decref(doc);
        return ctl_say(x, ctl_exit_of_error(code), "%s", err);
    }
    body = json_pack("{s:O,s:I}", "spec", doc, "priority", (json_int_t)priority);
    text = body ? ag_dtoa_json_dumps(body, 0) : NULL;
    json_decref(body);
    if (!text) {
        json_decref(doc);
        return ctl_say(x, CTL_EXIT_OTHER, "out of memory");
    }
    code = ctl_api_call(x, "POST", dry ? "/api/v1/validate" : "/api/v1/experiments", text, &r);
    free(text);
    if (code == CTL_EXIT_REJECTED) {
        ctl_task_hint(x, json_string_value(json_object_get(doc, "task")));
    }
    json_decref(doc);
    if (code) {
        return code;
    }
    if (x->args->json) {
        ctl_body_print(x, &r);
    } else if (dry) {
        fprintf(x->out, "valid: %lld iterations, priority %lld\n",
                (long long)json_integer_value(json_object_get(r.json, "iterations")),
                (long long)json_integer_value(json_object_get(r.json, "priority")));
    } else {
        fprintf(x->out, "submitted experiment %lld \"%s\" (%s)\n",
                (long long)json_integer_value(json_object_get(r.json, "id")),
                ctl_jstr(r.json, "name"), ctl_jstr(r.json, "state"));
    }
    ctl_response_free(&r);
    return 0;
}

/* ---- ls ---- */

static int cmd_ls(CtlCtx *x) {
    static const char *const heads[] = {"ID",       "NAME",     "TASK",   "KIND",
                                        "STATE",    "PROGRESS", "RETURN", "STEPS/S",
                                        "DURATION", "ETA",      "TAGS"};
    static const char *const filters[] = {"state", "task", "tag"};
    long long limit, cursor;
    char err[512], path[2048], esc[600];
    json_t *all = json_array(), *next = json_null();
    int all_pages = ctl_args_has(x->args, "all"), code = 0;
    CtlTable t;
    size_t i;
    json_t *v;
    if (ctl_args_get_int(x->args, "limit", 100, 1, 1000, &limit, err, sizeof(err)) ||
        ctl_args_get_int(x->args, "cursor", 0, 0, INT64_MAX, &cursor, err, sizeof(err))) {
        json_decref(all);
        return ctl_say(x, CTL_EXIT_USAGE, "%s", err);
    }
    for (;;) {
        CtlResponse r;
        size_t pos = (size_t)snprintf(path, sizeof(path), "/api/v1/experiments?limit=%lld", limit);
        if (cursor > 0) {
            pos += (size_t)snprintf(path + pos, sizeof(path) - pos, "&cursor=%lld", cursor);
        }
        for (int f = 0; f < 3; f++) {
            const char *val = ctl_args_get(x->args, filters[f]);
            if (!val) {
                continue;
            }
            ctl_url_escape(val, esc, sizeof(esc));
            pos += (size_t)snprintf(path + pos, sizeof(path) - pos, "&%s=%s", filters[f], esc);
        }
        code = ctl_api_call(x, "GET", path, NULL, &r);
        if (code) {
            goto out;
        }
        json_array_extend(all, json_object_get(r.json, "items"));
        json_decref(next);
        next = json_incref(json_object_get(r.json, "next_cursor"));
        if (!next) {
            next = json_null();
        }
        ctl_response_free(&r);
        if (!all_pages || !json_is_integer(next)) {
            break;
        }
        cursor = json_integer_value(next);
    }
    if (x->args->json) {
        json_t *o = json_pack("{s:O,s:O}", "items", all, "next_cursor", next);
        ctl_json_print(x, o);
        json_decref(o);
        goto out;
    }
    ctl_table_init(&t, 11, heads);
    t.right[5] = 1;
    json_array_foreach(all, i, v) {
        char id[32], tags[256];
        CtlPace p;
        const char *cells[11] = {id,
                                 ctl_jstr(v, "name"),
                                 ctl_jstr(v, "task"),
                                 ctl_jstr(v, "kind"),
                                 ctl_jstr(v, "state"),
                                 p.progress,
                                 p.ret,
                                 p.rate,
                                 p.duration,
                                 p.eta,
                                 tags};
        snprintf(id, sizeof(id), "%lld", (long long)json_integer_value(json_object_get(v, "id")));
        ctl_tags_text(json_object_get(v, "tags"), tags, sizeof(tags));
        ctl_pace_format(v, &p);
        ctl_table_add(&t, cells);
    }
    ctl_table_print(&t, x->out);
    ctl_table_free(&t);
    if (json_array_size(all) == 0 && ctl_args_get(x->args, "task")) {
        ctl_task_hint(x, ctl_args_get(x->args, "task"));
    }
    if (json_is_integer(next)) {
        fprintf(x->err, "angoractl: more experiments: --cursor %lld\n",
                (long long)json_integer_value(next));
    }
out:
    json_decref(next);
    json_decref(all);
    return code;
}

/* ---- show and the simple actions ---- */

static int cmd_show(CtlCtx *x) {
    int64_t id;
    json_t *o = NULL, *spec;
    char buf[512];
    CtlPace pace;
    int code = ctl_id_arg(x, &id);
    if (code || (code = ctl_exp_get(x, id, &o))) {
        return code;
    }
    if (x->args->json) {
        ctl_json_print(x, o);
        json_decref(o);
        return 0;
    }
    spec = json_object_get(o, "spec");
    ctl_format_json(json_object_get(o, "id"), buf, sizeof(buf));
    ctl_kv(x, "id", buf);
    ctl_kv(x, "name", ctl_jstr(o, "name"));
    ctl_kv(x, "task", ctl_jstr(o, "task"));
    ctl_kv(x, "kind", ctl_jstr(o, "kind"));
    ctl_kv(x, "state", ctl_jstr(o, "state"));
    if (*ctl_jstr(o, "phase")) {
        ctl_kv(x, "phase", ctl_jstr(o, "phase"));
    }
    ctl_format_json(json_object_get(o, "request"), buf, sizeof(buf));
    if (strcmp(buf, "-") && *buf) {
        ctl_kv(x, "request", buf);
    }
    ctl_format_json(json_object_get(o, "priority"), buf, sizeof(buf));
    ctl_kv(x, "priority", buf);
    ctl_format_json(json_object_get(o, "ranks"), buf, sizeof(buf));
    ctl_kv(x, "ranks", buf);
    ctl_format_json(json_object_get(o, "attempts"), buf, sizeof(buf));
    ctl_kv(x, "attempts", buf);
    ctl_format_time(json_number_value(json_object_get(o, "submitted_at")), buf, sizeof(buf));
    ctl_kv(x, "submitted", buf);
    ctl_format_time(json_number_value(json_object_get(o, "started_at")), buf, sizeof(buf));
    ctl_kv(x, "started", buf);
    ctl_format_time(json_number_value(json_object_get(o, "finished_at")), buf, sizeof(buf));
    ctl_kv(x, "finished", buf);
    ctl_pace_format(o, &pace);
    ctl_kv(x, "duration", pace.duration);
    /* exact step counts here; ls abbreviates them */
    {
        long long steps = json_integer_value(json_object_get(o, "latest_env_steps"));
        long long budget =
            json_integer_value(json_object_get(json_object_get(spec, "budget"), "env_steps"));
        if (budget > 0) {
            snprintf(buf, sizeof(buf), "%lld of %lld env steps (%.1f%%)", steps, budget,
                     100.0 * (double)steps / (double)budget);
        } else {
            snprintf(buf, sizeof(buf), "%lld env steps", steps);
        }
        ctl_kv(x, "progress", buf);
    }
    ctl_kv(x, "return", pace.ret);
    ctl_kv(x, "steps/s", pace.rate);
    ctl_kv(x, "eta", pace.eta);
    ctl_format_json(json_object_get(o, "metric_rows"), buf, sizeof(buf));
    ctl_kv(x, "metric rows", buf);
    ctl_format_json(json_object_get(o, "last_iteration"), buf, sizeof(buf));
    ctl_kv(x, "iteration", buf);
    ctl_tags_text(json_object_get(o, "tags"), buf, sizeof(buf));
    ctl_kv(x, "tags", buf);
    ctl_kv(x, "notes", ctl_jstr(o, "notes"));
    ctl_kv(x, "error", ctl_jstr(o, "error"));
    ctl_kv(x, "run dir", ctl_jstr(o, "run_dir"));
    if (*ctl_jstr(o, "encoder_checkpoint")) {
        ctl_kv(x, "encoder", ctl_jstr(o, "encoder_checkpoint"));
    }
    ctl_executor_show(x, o);
    json_decref(o);
    return 0;
}

/* the experiment id argument, then method on /api/v1/experiments/<id>[/sub] (sub "" for none):
 * 0 with r filled on a 2xx answer, else the exit code */
static int exp_call(CtlCtx *x, const char *method, const char *sub, int64_t *id, CtlResponse *r) {
    char path[128];
    int code = ctl_id_arg(x, id);
    if (code) {
        return code;
    }
    snprintf(path, sizeof(path), "/api/v1/experiments/%lld%s%s", (long long)*id, *sub ? "/" : "",
             sub);
    return ctl_api_call(x, method, path, NULL, r);
}

static int cmd_action(CtlCtx *x, const char *action, const char *done) {
    int64_t id;
    CtlResponse r;
    int code = exp_call(x, "POST", action, &id, &r);
    if (code) {
        return code;
    }
    if (x->args->json) {
        ctl_body_print(x, &r);
    } else if (r.status == 202) {
        fprintf(x->out, "experiment %lld: %s requested; the scheduler acts on it shortly\n",
                (long long)id, action);
    } else {
        fprintf(x->out, "experiment %lld: %s (state %s)\n", (long long)id, done,
                ctl_jstr(r.json, "state"));
    }
    ctl_response_free(&r);
    return 0;
}

/* "delete experiment 12 ...? [y/N]" on stderr, the answer from stdin: 0 on yes, else the exit
 * code after saying why */
static int rm_confirm(CtlCtx *x, int64_t id) {
    json_t *o = NULL;
    char answer[16], rows[32];
    int code = ctl_exp_get(x, id, &o);
    if (code) {
        return code;
    }
    ctl_format_json(json_object_get(o, "metric_rows"), rows, sizeof(rows));
    fprintf(x->err,
            "delete experiment %lld \"%s\" (%s, %s metric rows) and its run directory %s? [y/N] ",
            (long long)id, ctl_jstr(o, "name"), ctl_jstr(o, "state"), rows,
            *ctl_jstr(o, "run_dir") ? ctl_jstr(o, "run_dir") : "-");
    fflush(x->err);
    json_decref(o);
    if (!fgets(answer, sizeof(answer), stdin)) {
        answer[0] = '\0';
    }
    answer[strcspn(answer, "\r\n")] = '\0';
    if (!strcasecmp(answer, "y") || !strcasecmp(answer, "yes")) {
        return 0;
    }
    return ctl_say(x, CTL_EXIT_OTHER, "experiment %lld not deleted", (long long)id);
}

static int cmd_rm(CtlCtx *x) {
    int64_t id;
    CtlResponse r;
    char path[96];
    int code = ctl_id_arg(x, &id);
    if (code) {
        return code;
    }
    /* a person at a terminal is asked; a script must say --yes */
    if (!ctl_args_has(x->args, "yes")) {
        if (!isatty(STDIN_FILENO)) {
            return ctl_say(x, CTL_EXIT_USAGE,
                           "rm: standard input is not a terminal, so there is no one to ask: "
                           "add --yes to delete experiment %lld",
                           (long long)id);
        }
        if ((code = rm_confirm(x, id)) != 0) {
            return code;
        }
    }
    snprintf(path, sizeof(path), "/api/v1/experiments/%lld", (long long)id);
    if ((code = ctl_api_call(x, "DELETE", path, NULL, &r)) != 0) {
        return code;
    }
    if (x->args->json) {
        ctl_body_print(x, &r);
    } else {
        fprintf(x->out, "experiment %lld deleted\n", (long long)id);
    }
    ctl_response_free(&r);
    return 0;
}

/* ---- checkpoints, download ---- */

static int cmd_checkpoints(CtlCtx *x) {
    static const char *const heads[] = {"NAME", "SIZE", "MODIFIED"};
    int64_t id;
    CtlResponse r;
    CtlTable t;
    size_t i;
    json_t *v;
    int code = exp_call(x, "GET", "checkpoints", &id, &r);
    if (code) {
        return code;
    }
    if (x->args->json) {
        ctl_body_print(x, &r);
        ctl_response_free(&r);
        return 0;
    }
    ctl_table_init(&t, 3, heads);
    t.right[1] = 1;
    json_array_foreach(json_object_get(r.json, "items"), i, v) {
        char size[32], when[32];
        const char *cells[3] = {ctl_jstr(v, "name"), size, when};
        ctl_format_bytes(json_number_value(json_object_get(v, "size")), size, sizeof(size));
        ctl_format_time(json_number_value(json_object_get(v, "modified")), when, sizeof(when));
        ctl_table_add(&t, cells);
    }
    ctl_table_print(&t, x->out);
    ctl_table_free(&t);
    ctl_response_free(&r);
    return 0;
}

static int cmd_download(CtlCtx *x) {
    int64_t id;
    const char *name = ctl_args_get(x->args, "checkpoint");
    const char *dest = ctl_args_get(x->args, "output");
    const char *recording = ctl_args_has(x->args, "video")        ? "video"
                            : ctl_args_has(x->args, "trajectory") ? "trajectory"
                                                                  : NULL;
    char path[512], esc[400];
    int code = ctl_id_arg(x, &id), to_stdout;
    if (code) {
        return code;
    }
    if (ctl_args_has(x->args, "analysis")) {
        return ctl_cmd_download_analysis(x);
    }
    if (!dest || !*dest) {
        return ctl_say(x, CTL_EXIT_USAGE, "download: -o FILE is required ('-' for stdout)");
    }
    if (recording &&
        (name || (ctl_args_has(x->args, "video") && ctl_args_has(x->args, "trajectory")))) {
        return ctl_say(x, CTL_EXIT_USAGE,
                       "download: one of --checkpoint, --video and --trajectory at a time");
    }
    to_stdout = !strcmp(dest, "-");
    if (recording) {
        snprintf(path, sizeof(path), "/api/v1/experiments/%lld/evaluation/%s", (long long)id,
                 recording);
    } else {
        ctl_url_escape(name ? name : AG_RUN_CKPT_LAST, esc, sizeof(esc));
        snprintf(path, sizeof(path), "/api/v1/experiments/%lld/checkpoints/%s", (long long)id, esc);
    }
    code = ctl_download_file(x, path, dest);
    if (code == 0 && !to_stdout && !x->args->json) {
        fprintf(x->err, "angoractl: wrote %s\n", dest);
    }
    if (code == 0 && !to_stdout && x->args->json) {
        json_t *o = recording ? json_pack("{s:I,s:s,s:s}", "id", (json_int_t)id, "recording",
                                          recording, "file", dest)
                              : json_pack("{s:I,s:s,s:s}", "id", (json_int_t)id, "checkpoint",
                                          name ? name : AG_RUN_CKPT_LAST, "file", dest);
        ctl_json_print(x, o);
        json_decref(o);
    }
    return code;
}

/* ---- evaluate ---- */

/* "  95% CI of the <what> [low, high]" of an evaluation's quantity; nothing when the interval is
 * null (one episode) or absent (an older trainer) */
static void ctl_eval_interval_print(CtlCtx *x, const char *what, const json_t *ci) {
    if (!json_is_array(ci) || json_array_size(ci) != 2 || !json_is_number(json_array_get(ci, 0)) ||
        !json_is_number(json_array_get(ci, 1))) {
        return;
    }
    char lo[64], hi[64];
    ctl_format_json(json_array_get(ci, 0), lo, sizeof(lo));
    ctl_format_json(json_array_get(ci, 1), hi, sizeof(hi));
    fprintf(x->out, "  95%% CI of the %s [%s, %s]\n", what, lo, hi);
}

static int cmd_evaluate(CtlCtx *x) {
    int64_t id, child;
    long long episodes;
    double interval;
    char path[160], err[256], *text;
    json_t *body, *exp = NULL;
    CtlResponse r;
    int code = ctl_id_arg(x, &id);
    if (code) {
        return code;
    }
    if (ctl_args_get_int(x->args, "episodes", 10, 1, 10000, &episodes, err, sizeof(err))) {
        return ctl_say(x, CTL_EXIT_USAGE, "%s", err);
    }
    if ((code = ctl_seconds_opt(x, "interval", 0.5, 0.05, 3600, &interval))) {
        return code;
    }
    body = json_pack("{s:I,s:s,s:b}", "episodes", (json_int_t)episodes, "checkpoint",
                     ctl_args_get(x->args, "checkpoint") ? ctl_args_get(x->args, "checkpoint")
                                                         : AG_RUN_CKPT_LAST,
                     "deterministic", !ctl_args_has(x->args, "stochastic"));
    /* one episode also goes to a video and a trajectory in the evaluation's run directory */
    if (ctl_args_has(x->args, "record")) {
        json_object_set_new(body, "record", json_true());
    }
    text = json_dumps(body, JSON_COMPACT);
    json_decref(body);
    if ((code = ctl_job_queue(x, id, "evaluate", text, &r, &child)) != 0) {
        return code;
    }
    if (ctl_args_has(x->args, "no-wait")) {
        if (x->args->json) {
            ctl_body_print(x, &r);
        } else {
            fprintf(x->out, "queued evaluation %lld of experiment %lld\n", (long long)child,
                    (long long)id);
        }
        ctl_response_free(&r);
        return 0;
    }
    ctl_response_free(&r);
    if (!x->args->json) {
        fprintf(x->err, "angoractl: evaluation %lld of experiment %lld queued, waiting\n",
                (long long)child, (long long)id);
    }
    if ((code = ctl_exp_wait(x, child, interval, NULL, NULL, &exp)) != 0) {
        return code;
    }
    if (strcmp(ctl_jstr(exp, "state"), "succeeded") != 0) {
        code = ctl_say(x, CTL_EXIT_OTHER, "evaluation %lld %s: %s", (long long)child,
                       ctl_jstr(exp, "state"),
                       *ctl_jstr(exp, "error") ? ctl_jstr(exp, "error") : "no result");
        json_decref(exp);
        return code;
    }
    json_decref(exp);
    snprintf(path, sizeof(path), "/api/v1/experiments/%lld/evaluation", (long long)child);
    if ((code = ctl_api_call(x, "GET", path, NULL, &r))) {
        return code;
    }
    if (x->args->json) {
        json_object_set_new(r.json, "evaluation_id", json_integer(child));
        ctl_body_print(x, &r);
    } else {
        char mean[64], sd[64], eps[64];
        ctl_format_json(json_object_get(r.json, "mean"), mean, sizeof(mean));
        ctl_format_json(json_object_get(r.json, "std"), sd, sizeof(sd));
        ctl_format_json(json_object_get(r.json, "episodes"), eps, sizeof(eps));
        fprintf(x->out, "evaluation %lld of experiment %lld: return %s +- %s over %s episodes\n",
                (long long)child, (long long)id, mean, sd, eps);
        ctl_eval_interval_print(x, "return", json_object_get(r.json, "ci95"));
        /* the task's metrics (success, consecutive goals), each with its own interval */
        const char *name;
        json_t *value;
        json_object_foreach(json_object_get(r.json, "metrics"), name, value) {
            char m[64], msd[64];
            ctl_format_json(value, m, sizeof(m));
            ctl_format_json(json_object_get(json_object_get(r.json, "metrics_std"), name), msd,
                            sizeof(msd));
            fprintf(x->out, "%s %s +- %s\n", name, m, msd);
            ctl_eval_interval_print(x, name,
                                    json_object_get(json_object_get(r.json, "metrics_ci95"), name));
        }
        if (json_is_object(json_object_get(r.json, "recording"))) {
            fprintf(x->out,
                    "recording: angoractl download %lld --video -o FILE.mp4 (or --trajectory "
                    "-o FILE.json)\n",
                    (long long)child);
        }
    }
    ctl_response_free(&r);
    return 0;
}

/* every command by name; the actions (run NULL) share cmd_action with the word they print */
static int cmd_complete(CtlCtx *x) {
    return ctl_complete(x, x->args->npos, x->args->pos);
}

static const struct {
    const char *name;
    int (*run)(CtlCtx *x);
    const char *done;
} commands[] = {{"submit", cmd_submit, NULL},
                {"ls", cmd_ls, NULL},
                {"show", cmd_show, NULL},
                {"cancel", NULL, "cancelled"},
                {"pause", NULL, "paused"},
                {"resume", NULL, "resumed"},
                {"rm", cmd_rm, NULL},
                {"logs", ctl_cmd_logs, NULL},
                {"metrics", ctl_cmd_metrics, NULL},
                {"watch", ctl_cmd_watch, NULL},
                {"checkpoints", cmd_checkpoints, NULL},
                {"download", cmd_download, NULL},
                {"evaluate", cmd_evaluate, NULL},
                {"analyze", ctl_cmd_analyze, NULL},
                {"pretrain", ctl_cmd_pretrain, NULL},
                {"tasks", ctl_cmd_tasks, NULL},
                {"token", ctl_cmd_token, NULL},
                {"version", ctl_cmd_version, NULL},
                {"__complete", cmd_complete, NULL}};

int ctl_run(CtlCtx *x) {
    const char *name = x->args->cmd->name;
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
        if (!strcmp(name, commands[i].name)) {
            return commands[i].run ? commands[i].run(x) : cmd_action(x, name, commands[i].done);
        }
    }
    return ctl_say(x, CTL_EXIT_USAGE, "unknown command %s", name);
}
