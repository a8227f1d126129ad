/* The commands of angoractl: each reads its arguments, calls angorad's REST API under /api/v1
 * and prints a table or JSON; errors become the documented exit codes. The helpers they share
 * are in ctl_util.c, the watch command in ctl_watch.c. */
#include "ctl.h"

#include "ag_buf.h"
#include "ag_error.h"
#include "ag_rundir.h"
#include "ag_fs.h"
#include "ag_json.h"
#include "ag_spec.h"
#include "ag_time.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SPEC_FILE_MAX (4u << 20)
#define LOG_CHUNK     (4u << 20)

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
    text = body ? json_dumps(body, JSON_COMPACT) : NULL;
    json_decref(body);
    json_decref(doc);
    if (!text) {
        return ctl_say(x, CTL_EXIT_OTHER, "out of memory");
    }
    code = ctl_api_call(x, "POST", dry ? "/api/v1/validate" : "/api/v1/experiments", text, &r);
    free(text);
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
    static const char *const heads[] = {"ID",    "NAME",     "TASK",      "KIND",
                                        "STATE", "PRIORITY", "SUBMITTED", "TAGS"};
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
    ctl_table_init(&t, 8, heads);
    json_array_foreach(all, i, v) {
        char id[32], prio[32], when[32], tags[256];
        const char *cells[8];
        snprintf(id, sizeof(id), "%lld", (long long)json_integer_value(json_object_get(v, "id")));
        snprintf(prio, sizeof(prio), "%lld",
                 (long long)json_integer_value(json_object_get(v, "priority")));
        ctl_format_time(json_number_value(json_object_get(v, "submitted_at")), when, sizeof(when));
        ctl_tags_text(json_object_get(v, "tags"), tags, sizeof(tags));
        cells[0] = id;
        cells[1] = ctl_jstr(v, "name");
        cells[2] = ctl_jstr(v, "task");
        cells[3] = ctl_jstr(v, "kind");
        cells[4] = ctl_jstr(v, "state");
        cells[5] = prio;
        cells[6] = when;
        cells[7] = tags;
        ctl_table_add(&t, cells);
    }
    ctl_table_print(&t, x->out);
    ctl_table_free(&t);
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
    double started, finished;
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
    started = json_number_value(json_object_get(o, "started_at"));
    finished = json_number_value(json_object_get(o, "finished_at"));
    ctl_format_time(started, buf, sizeof(buf));
    ctl_kv(x, "started", buf);
    ctl_format_time(finished, buf, sizeof(buf));
    ctl_kv(x, "finished", buf);
    if (started > 0 && finished >= started) {
        ctl_format_duration(finished - started, buf, sizeof(buf));
        ctl_kv(x, "duration", buf);
    }
    ctl_format_json(json_object_get(json_object_get(spec, "budget"), "env_steps"), buf,
                    sizeof(buf));
    ctl_kv(x, "budget", buf);
    ctl_format_json(json_object_get(o, "metric_rows"), buf, sizeof(buf));
    ctl_kv(x, "metric rows", buf);
    ctl_format_json(json_object_get(o, "last_iteration"), buf, sizeof(buf));
    ctl_kv(x, "iteration", buf);
    ctl_tags_text(json_object_get(o, "tags"), buf, sizeof(buf));
    ctl_kv(x, "tags", buf);
    ctl_kv(x, "notes", ctl_jstr(o, "notes"));
    ctl_kv(x, "error", ctl_jstr(o, "error"));
    ctl_kv(x, "run dir", ctl_jstr(o, "run_dir"));
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

static int cmd_rm(CtlCtx *x) {
    int64_t id;
    CtlResponse r;
    int code = exp_call(x, "DELETE", "", &id, &r);
    if (code) {
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

/* ---- logs ---- */

/* a piece of log: raw, or with --json one object per piece */
static void log_emit(CtlCtx *x, int64_t id, const char *file, const CtlResponse *r) {
    json_t *o;
    if (!x->args->json) {
        fwrite(r->body ? r->body : "", 1, r->len, x->out);
        fflush(x->out);
        return;
    }
    o = json_pack("{s:I,s:s,s:s,s:s%}", "id", (json_int_t)id, "file", file, "range", r->log_range,
                  "text", r->body ? r->body : "", r->len);
    if (o) {
        json_dumpf(o, x->out, JSON_COMPACT);
        fputc('\n', x->out);
    }
    json_decref(o);
    fflush(x->out);
}

/* end offset from "X-Log-Range: a-b/size" */
static long long log_end(const CtlResponse *r) {
    const char *dash = strchr(r->log_range, '-');
    return dash ? atoll(dash + 1) : -1;
}

/* the last tail bytes of a log while off < 0, else the chunk that starts at off */
static void log_path(char *out, size_t out_sz, int64_t id, const char *file, long long off,
                     long long tail) {
    if (off < 0) {
        snprintf(out, out_sz, "/api/v1/experiments/%lld/log?file=%s&tail=%lld", (long long)id, file,
                 tail);
    } else {
        snprintf(out, out_sz, "/api/v1/experiments/%lld/log?file=%s&offset=%lld&length=%u",
                 (long long)id, file, off, LOG_CHUNK);
    }
}

static int cmd_logs(CtlCtx *x) {
    int64_t id;
    long long tail, off = -1;
    double interval;
    char path[256], err[256];
    const char *file = ctl_args_has(x->args, "worker") ? "worker" : "train";
    int follow = ctl_args_has(x->args, "follow"), code = ctl_id_arg(x, &id);
    if (code) {
        return code;
    }
    if (ctl_args_get_int(x->args, "tail", 65536, 1, 4 << 20, &tail, err, sizeof(err))) {
        return ctl_say(x, CTL_EXIT_USAGE, "%s", err);
    }
    if ((code = ctl_seconds_opt(x, "interval", 1.0, 0.05, 3600, &interval))) {
        return code;
    }
    for (;;) {
        CtlResponse r;
        char msg[512];
        int rc;
        log_path(path, sizeof(path), id, file, off, tail);
        rc = ctl_http_request(&x->cfg, "GET", path, NULL, 0, &r, msg, sizeof(msg));
        if (rc) {
            return ctl_say(x, rc == AG_EIO ? CTL_EXIT_UNREACHABLE : CTL_EXIT_OTHER, "%s", msg);
        }
        if (r.status == 200) {
            long long end = log_end(&r);
            if (r.len > 0 || off < 0) {
                log_emit(x, id, file, &r);
            }
            off = end >= 0 ? end : off + (long long)r.len;
            if (r.len >= LOG_CHUNK) {
                ctl_response_free(&r);
                continue;
            }
        } else if (!(follow && r.status == 404 && r.json &&
                     !strcmp(ctl_jstr(r.json, "field"), "file"))) {
            /* any error but "no log yet" while following */
            return ctl_answer_fail(x, &r);
        }
        ctl_response_free(&r);
        if (!follow) {
            return 0;
        }
        {
            json_t *o = NULL;
            int final;
            if ((code = ctl_exp_get(x, id, &o))) {
                return code;
            }
            final = ctl_state_final(ctl_jstr(o, "state"));
            json_decref(o);
            if (final && off >= 0) {
                /* one more read catches lines written just before the end */
                CtlResponse last;
                log_path(path, sizeof(path), id, file, off, tail);
                if (ctl_http_request(&x->cfg, "GET", path, NULL, 0, &last, msg, sizeof(msg)) == 0 &&
                    last.status == 200 && last.len > 0) {
                    log_emit(x, id, file, &last);
                }
                ctl_response_free(&last);
                return 0;
            }
            if (final) {
                return 0;
            }
        }
        ag_time_sleep(interval);
    }
}

/* ---- metrics ---- */

static const char *const default_cols[] = {"iteration",
                                           "env_steps",
                                           "return_mean",
                                           "success_rate",
                                           "consecutive_goals_mean",
                                           "episode_length_mean",
                                           "policy_loss",
                                           "value_loss",
                                           "entropy",
                                           "sps",
                                           NULL};

static int cmd_metrics(CtlCtx *x) {
    int64_t id;
    long long after, limit;
    char path[256], err[256];
    CtlResponse r;
    int code = ctl_id_arg(x, &id);
    if (code) {
        return code;
    }
    if (ctl_args_get_int(x->args, "after-seq", 0, 0, INT64_MAX, &after, err, sizeof(err)) ||
        ctl_args_get_int(x->args, "limit", 0, 0, 10000000, &limit, err, sizeof(err))) {
        return ctl_say(x, CTL_EXIT_USAGE, "%s", err);
    }
    if (ctl_args_has(x->args, "keys") && ctl_args_has(x->args, "csv")) {
        return ctl_say(x, CTL_EXIT_USAGE, "metrics: --keys and --csv exclude each other");
    }
    if (ctl_args_has(x->args, "keys")) {
        size_t i;
        json_t *v;
        snprintf(path, sizeof(path), "/api/v1/experiments/%lld/metrics/keys", (long long)id);
        if ((code = ctl_api_call(x, "GET", path, NULL, &r))) {
            return code;
        }
        if (x->args->json) {
            ctl_body_print(x, &r);
        } else {
            json_array_foreach(json_object_get(r.json, "keys"), i, v)
                fprintf(x->out, "%s\n", json_string_value(v));
        }
        ctl_response_free(&r);
        return 0;
    }
    snprintf(path, sizeof(path),
             "/api/v1/experiments/%lld/metrics/export?format=%s&after_seq=%lld&limit=%lld",
             (long long)id, ctl_args_has(x->args, "csv") ? "csv" : "json", after, limit);
    if ((code = ctl_api_call(x, "GET", path, NULL, &r))) {
        return code;
    }
    if (ctl_args_has(x->args, "csv") || x->args->json) {
        fwrite(r.body ? r.body : "", 1, r.len, x->out);
        if (x->args->json) {
            fputc('\n', x->out);
        }
    } else {
        const char *cols[CTL_TABLE_MAX_COLS];
        int ncols = 0;
        json_t *rows = json_object_get(r.json, "rows"), *first, *v;
        size_t i;
        CtlTable t;
        first = json_object_get(json_array_get(rows, 0), "row");
        cols[ncols++] = "seq";
        if (ctl_args_has(x->args, "key")) {
            const char *k;
            for (int n = 0; (k = ctl_args_nth(x->args, "key", n)) && ncols < CTL_TABLE_MAX_COLS;
                 n++) {
                cols[ncols++] = k;
            }
        } else {
            for (int n = 0; default_cols[n] && ncols < CTL_TABLE_MAX_COLS; n++) {
                if (!first || json_object_get(first, default_cols[n])) {
                    cols[ncols++] = default_cols[n];
                }
            }
        }
        ctl_table_init(&t, ncols, cols);
        json_array_foreach(rows, i, v) {
            char cells[CTL_TABLE_MAX_COLS][64];
            const char *ptrs[CTL_TABLE_MAX_COLS];
            json_t *row = json_object_get(v, "row");
            ctl_format_json(json_object_get(v, "seq"), cells[0], sizeof(cells[0]));
            ptrs[0] = cells[0];
            for (int c = 1; c < ncols; c++) {
                ctl_format_json(json_object_get(row, cols[c]), cells[c], sizeof(cells[c]));
                ptrs[c] = cells[c];
            }
            ctl_table_add(&t, ptrs);
        }
        ctl_table_print(&t, x->out);
        ctl_table_free(&t);
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

/* ---- tasks ---- */

static void task_row(CtlTable *t, const char *name, const json_t *info) {
    char details[512] = "", val[128];
    size_t pos = 0;
    const char *k;
    json_t *v;
    const char *cells[2];
    json_object_foreach((json_t *)info, k, v) {
        int n;
        if (!strcmp(k, "name")) {
            continue;
        }
        ctl_format_json(v, val, sizeof(val));
        n = snprintf(details + pos, sizeof(details) - pos, "%s%s=%s", pos ? " " : "", k, val);
        if (n < 0 || (size_t)n >= sizeof(details) - pos) {
            break;
        }
        pos += (size_t)n;
    }
    cells[0] = name;
    cells[1] = details;
    ctl_table_add(t, cells);
}

static int cmd_tasks(CtlCtx *x) {
    static const char *const heads[] = {"TASK", "DETAILS"};
    CtlResponse r;
    CtlTable t;
    json_t *tasks, *v;
    const char *k;
    size_t i;
    int code = ctl_api_call(x, "GET", "/api/v1/catalogue", NULL, &r);
    if (code) {
        return code;
    }
    tasks = json_object_get(r.json, "tasks");
    if (json_is_object(tasks) && json_object_get(tasks, "tasks")) {
        tasks = json_object_get(tasks, "tasks");
    }
    if (!tasks || json_is_null(tasks)) {
        ctl_response_free(&r);
        return ctl_say(x, CTL_EXIT_OTHER,
                       "the server could not list its tasks (is its trainer "
                       "installed?)");
    }
    if (x->args->json) {
        ctl_json_print(x, tasks);
        ctl_response_free(&r);
        return 0;
    }
    ctl_table_init(&t, 2, heads);
    t.max_width = 100;
    if (json_is_object(tasks)) {
        json_object_foreach(tasks, k, v) task_row(&t, k, json_is_object(v) ? v : NULL);
    } else {
        json_array_foreach(tasks, i, v) {
            if (json_is_string(v)) {
                task_row(&t, json_string_value(v), NULL);
            } else {
                task_row(&t, ctl_jstr(v, "name"), v);
            }
        }
    }
    ctl_table_print(&t, x->out);
    ctl_table_free(&t);
    ctl_response_free(&r);
    return 0;
}

/* ---- token ---- */

static int cmd_token(CtlCtx *x) {
    const char *sub = x->args->pos[0];
    CtlResponse r;
    char path[96], err[256];
    int code;
    if (!strcmp(sub, "create")) {
        const char *scope = ctl_args_get(x->args, "scope");
        json_t *body;
        char *text;
        if (x->args->npos != 2) {
            return ctl_say(x, CTL_EXIT_USAGE,
                           "usage: angoractl token create NAME [--scope read|full]");
        }
        if (scope && strcmp(scope, "read") != 0 && strcmp(scope, "full") != 0) {
            return ctl_say(x, CTL_EXIT_USAGE, "--scope: read or full, got \"%s\"", scope);
        }
        body = json_pack("{s:s,s:s}", "name", x->args->pos[1], "scope", scope ? scope : "read");
        text = body ? json_dumps(body, JSON_COMPACT) : NULL;
        json_decref(body);
        if (!text) {
            return ctl_say(x, CTL_EXIT_USAGE, "the token name must be UTF-8 text");
        }
        code = ctl_api_call(x, "POST", "/api/v1/tokens", text, &r);
        free(text);
        if (code) {
            return code;
        }
        if (x->args->json) {
            ctl_body_print(x, &r);
        } else {
            fprintf(x->out, "%s\n", ctl_jstr(r.json, "token"));
            fprintf(x->err,
                    "angoractl: token %lld \"%s\" (%s) created; it is shown only this once\n",
                    (long long)json_integer_value(json_object_get(r.json, "id")),
                    ctl_jstr(r.json, "name"), ctl_jstr(r.json, "scope"));
        }
        ctl_response_free(&r);
        return 0;
    }
    if (!strcmp(sub, "list")) {
        static const char *const heads[] = {"ID", "NAME", "SCOPE", "CREATED", "REVOKED"};
        CtlTable t;
        size_t i;
        json_t *v;
        if (x->args->npos != 1) {
            return ctl_say(x, CTL_EXIT_USAGE, "usage: angoractl token list");
        }
        if ((code = ctl_api_call(x, "GET", "/api/v1/tokens", NULL, &r))) {
            return code;
        }
        if (x->args->json) {
            ctl_body_print(x, &r);
            ctl_response_free(&r);
            return 0;
        }
        ctl_table_init(&t, 5, heads);
        json_array_foreach(json_object_get(r.json, "items"), i, v) {
            char id[32], created[32], revoked[32];
            const char *cells[5] = {id, ctl_jstr(v, "name"), ctl_jstr(v, "scope"), created,
                                    revoked};
            ctl_format_json(json_object_get(v, "id"), id, sizeof(id));
            ctl_format_time(json_number_value(json_object_get(v, "created_at")), created,
                            sizeof(created));
            ctl_format_time(json_number_value(json_object_get(v, "revoked_at")), revoked,
                            sizeof(revoked));
            ctl_table_add(&t, cells);
        }
        ctl_table_print(&t, x->out);
        ctl_table_free(&t);
        ctl_response_free(&r);
        return 0;
    }
    if (!strcmp(sub, "revoke")) {
        int64_t id;
        if (x->args->npos != 2) {
            return ctl_say(x, CTL_EXIT_USAGE, "usage: angoractl token revoke TOKEN_ID");
        }
        if (ctl_parse_id(x->args->pos[1], "the token id", &id, err, sizeof(err))) {
            return ctl_say(x, CTL_EXIT_USAGE, "%s", err);
        }
        snprintf(path, sizeof(path), "/api/v1/tokens/%lld", (long long)id);
        if ((code = ctl_api_call(x, "DELETE", path, NULL, &r))) {
            return code;
        }
        if (x->args->json) {
            ctl_body_print(x, &r);
        } else {
            fprintf(x->out, "token %lld revoked\n", (long long)id);
        }
        ctl_response_free(&r);
        return 0;
    }
    return ctl_say(x, CTL_EXIT_USAGE, "token: create, list or revoke, got \"%s\"", sub);
}

/* ---- version ---- */

static int cmd_version(CtlCtx *x) {
    CtlResponse r;
    int code;
    if (!x->args->json) {
        fprintf(x->out, "angoractl %s\n", ANGORA_VERSION);
    }
    code = ctl_api_call(x, "GET", "/api/v1/info", NULL, &r);
    if (code) {
        return code;
    }
    if (x->args->json) {
        json_t *o = json_pack("{s:s,s:O,s:s}", "client", ANGORA_VERSION, "server", r.json, "url",
                              x->cfg.url);
        ctl_json_print(x, o);
        json_decref(o);
    } else {
        char ws[32];
        ctl_format_json(json_object_get(r.json, "websocket_port"), ws, sizeof(ws));
        fprintf(x->out, "angorad %s at %s (websocket port %s)\n", ctl_jstr(r.json, "version"),
                x->cfg.url, strcmp(ws, "-") ? ws : "none");
    }
    ctl_response_free(&r);
    return 0;
}

/* every command by name; the actions (run NULL) share cmd_action with the word they print */
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
                {"logs", cmd_logs, NULL},
                {"metrics", cmd_metrics, NULL},
                {"watch", ctl_cmd_watch, NULL},
                {"checkpoints", cmd_checkpoints, NULL},
                {"download", cmd_download, NULL},
                {"evaluate", cmd_evaluate, NULL},
                {"analyze", ctl_cmd_analyze, NULL},
                {"tasks", cmd_tasks, NULL},
                {"token", cmd_token, NULL},
                {"version", cmd_version, NULL}};

int ctl_run(CtlCtx *x) {
    const char *name = x->args->cmd->name;
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
        if (!strcmp(name, commands[i].name)) {
            return commands[i].run ? commands[i].run(x) : cmd_action(x, name, commands[i].done);
        }
    }
    return ctl_say(x, CTL_EXIT_USAGE, "unknown command %s", name);
}
