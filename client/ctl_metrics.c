/* angoractl's view of a run's output: its log (logs, -f follows it) and its metric rows
 * (metrics: a table, CSV or JSON of the chosen keys, iteration and env_steps first). */
#include "ctl.h"

#include "ag_dtoa.h"
#include "ag_error.h"
#include "ag_time.h"

#include <stdlib.h>
#include <string.h>

#define LOG_CHUNK (4u << 20)

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

int ctl_cmd_logs(CtlCtx *x) {
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

static const char *const default_cols[] = {"return_mean",
                                           "success_rate",
                                           "consecutive_goals_mean",
                                           "episode_length_mean",
                                           "policy_loss",
                                           "value_loss",
                                           "entropy",
                                           "sps",
                                           NULL};

/* the columns every view starts with */
static const char *const lead_cols[] = {"iteration", "env_steps"};

static int is_lead(const char *key) {
    return !strcmp(key, lead_cols[0]) || !strcmp(key, lead_cols[1]);
}

static int array_has(const json_t *arr, const char *s) {
    size_t i;
    json_t *v;
    json_array_foreach(arr, i, v) {
        if (json_is_string(v) && !strcmp(json_string_value(v), s)) {
            return 1;
        }
    }
    return 0;
}

/* The columns to show (a new array): iteration and env_steps, then the --key keys the run has
 * (an unknown one is left out with a warning naming the closest known key), else the defaults
 * the run has (table) or every key it has (CSV, JSON). known is the run's metric keys. */
static json_t *metric_columns(CtlCtx *x, int64_t id, const json_t *known, int every) {
    json_t *cols = json_array(), *v;
    const char *k;
    size_t i;
    for (size_t c = 0; c < 2; c++) {
        json_array_append_new(cols, json_string(lead_cols[c]));
    }
    if (ctl_args_has(x->args, "key")) {
        for (int n = 0; (k = ctl_args_nth(x->args, "key", n)) != NULL; n++) {
            if (is_lead(k) || array_has(cols, k)) {
                continue;
            }
            if (!array_has(known, k)) {
                const char *near = ctl_suggest_json(k, known);
                fprintf(
                    x->err,
                    "angoractl: warning: experiment %lld has no metric \"%s\"%s%s%s; left out\n",
                    (long long)id, k, near ? " (did you mean " : "", near ? near : "",
                    near ? "?)" : "");
                continue;
            }
            json_array_append_new(cols, json_string(k));
        }
    } else if (every) {
        json_array_foreach(known, i, v) {
            if (json_is_string(v) && !is_lead(json_string_value(v))) {
                json_array_append(cols, v);
            }
        }
    } else {
        for (int n = 0; default_cols[n]; n++) {
            if (array_has(known, default_cols[n])) {
                json_array_append_new(cols, json_string(default_cols[n]));
            }
        }
    }
    return cols;
}

/* a CSV field: numbers in their shortest exact form, text quoted when it must be */
static void csv_field(FILE *f, const json_t *v) {
    char num[AG_DTOA_MAX];
    if (json_is_integer(v)) {
        fprintf(f, "%lld", (long long)json_integer_value(v));
    } else if (json_is_real(v)) {
        ag_dtoa_format(json_real_value(v), num, sizeof(num));
        fputs(num, f);
    } else if (json_is_boolean(v)) {
        fputs(json_is_true(v) ? "true" : "false", f);
    } else if (json_is_string(v)) {
        const char *s = json_string_value(v);
        if (strpbrk(s, ",\"\r\n")) {
            fputc('"', f);
            for (; *s; s++) {
                if (*s == '"') {
                    fputc('"', f);
                }
                fputc(*s, f);
            }
            fputc('"', f);
        } else {
            fputs(s, f);
        }
    }
}

/* iteration, env_steps, the chosen keys, then seq (for --after-seq) */
static void metrics_csv(CtlCtx *x, const json_t *rows, const json_t *cols) {
    size_t i, c;
    json_t *v, *col;
    json_array_foreach(cols, c, col) {
        fprintf(x->out, "%s%s", c ? "," : "", json_string_value(col));
    }
    fputs(",seq\n", x->out);
    json_array_foreach(rows, i, v) {
        json_t *row = json_object_get(v, "row");
        json_array_foreach(cols, c, col) {
            if (c) {
                fputc(',', x->out);
            }
            csv_field(x->out, json_object_get(row, json_string_value(col)));
        }
        fputc(',', x->out);
        csv_field(x->out, json_object_get(v, "seq"));
        fputc('\n', x->out);
    }
}

/* the rows with only the chosen keys, as the export's JSON */
static void metrics_json(CtlCtx *x, int64_t id, const json_t *rows, const json_t *cols) {
    json_t *out = json_array(), *v, *col;
    json_t *doc = json_pack("{s:I,s:o}", "id", (json_int_t)id, "rows", out);
    size_t i, c;
    json_array_foreach(rows, i, v) {
        json_t *row = json_object_get(v, "row"), *kept = json_object();
        json_array_foreach(cols, c, col) {
            json_t *val = json_object_get(row, json_string_value(col));
            if (val) {
                json_object_set(kept, json_string_value(col), val);
            }
        }
        json_array_append_new(
            out, json_pack("{s:O,s:o}", "seq", json_object_get(v, "seq"), "row", kept));
    }
    ctl_json_print(x, doc);
    json_decref(doc);
}

static void metrics_table(CtlCtx *x, const json_t *rows, const json_t *cols) {
    const char *heads[CTL_TABLE_MAX_COLS];
    int ncols = 1;
    size_t i, c;
    json_t *v, *col;
    CtlTable t;
    heads[0] = "seq";
    json_array_foreach(cols, c, col) {
        if (ncols == CTL_TABLE_MAX_COLS) {
            fprintf(x->err,
                    "angoractl: warning: a table shows at most %d columns; use --csv for more\n",
                    CTL_TABLE_MAX_COLS - 1);
            break;
        }
        heads[ncols++] = json_string_value(col);
    }
    ctl_table_init(&t, ncols, heads);
    json_array_foreach(rows, i, v) {
        char cells[CTL_TABLE_MAX_COLS][64];
        const char *ptrs[CTL_TABLE_MAX_COLS];
        json_t *row = json_object_get(v, "row");
        ctl_format_json(json_object_get(v, "seq"), cells[0], sizeof(cells[0]));
        ptrs[0] = cells[0];
        for (int n = 1; n < ncols; n++) {
            ctl_format_json(json_object_get(row, heads[n]), cells[n], sizeof(cells[n]));
            ptrs[n] = cells[n];
        }
        ctl_table_add(&t, ptrs);
    }
    ctl_table_print(&t, x->out);
    ctl_table_free(&t);
}

int ctl_cmd_metrics(CtlCtx *x) {
    int64_t id;
    long long after, limit;
    char path[256], err[256];
    CtlResponse r, keys;
    json_t *cols;
    int csv = ctl_args_has(x->args, "csv");
    int code = ctl_id_arg(x, &id);
    if (code) {
        return code;
    }
    if (ctl_args_get_int(x->args, "after-seq", 0, 0, INT64_MAX, &after, err, sizeof(err)) ||
        ctl_args_get_int(x->args, "limit", 0, 0, 10000000, &limit, err, sizeof(err))) {
        return ctl_say(x, CTL_EXIT_USAGE, "%s", err);
    }
    if (ctl_args_has(x->args, "keys") && csv) {
        return ctl_say(x, CTL_EXIT_USAGE, "metrics: --keys and --csv exclude each other");
    }
    snprintf(path, sizeof(path), "/api/v1/experiments/%lld/metrics/keys", (long long)id);
    if ((code = ctl_api_call(x, "GET", path, NULL, &keys))) {
        return code;
    }
    if (ctl_args_has(x->args, "keys")) {
        size_t i;
        json_t *v;
        if (x->args->json) {
            ctl_body_print(x, &keys);
        } else {
            json_array_foreach(json_object_get(keys.json, "keys"), i, v) {
                fprintf(x->out, "%s\n", json_string_value(v));
            }
        }
        ctl_response_free(&keys);
        return 0;
    }
    snprintf(path, sizeof(path),
             "/api/v1/experiments/%lld/metrics/export?format=json&after_seq=%lld&limit=%lld",
             (long long)id, after, limit);
    if ((code = ctl_api_call(x, "GET", path, NULL, &r))) {
        ctl_response_free(&keys);
        return code;
    }
    cols = metric_columns(x, id, json_object_get(keys.json, "keys"), csv || x->args->json);
    if (csv) {
        metrics_csv(x, json_object_get(r.json, "rows"), cols);
    } else if (x->args->json) {
        metrics_json(x, id, json_object_get(r.json, "rows"), cols);
    } else {
        metrics_table(x, json_object_get(r.json, "rows"), cols);
    }
    json_decref(cols);
    ctl_response_free(&keys);
    ctl_response_free(&r);
    return 0;
}
