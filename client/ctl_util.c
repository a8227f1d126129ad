/* The helpers angoractl's commands share: messages on stderr, one API call with its error
 * reporting, the experiment id and seconds arguments, fetching an experiment and waiting for
 * it to end, downloading a file whole, and the small printers (JSON, a response body, a tag
 * list). ctl_cmd.c, ctl_watch.c and ctl_analysis.c use them. */
#include "ctl.h"

#include "ag_dtoa.h"
#include "ag_error.h"
#include "ag_json.h"
#include "ag_rundir.h"
#include "ag_time.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- messages and requests ---- */

/* one line on x->err: "angoractl: <prefix>message", or with --json a JSON object */
static void say_line(CtlCtx *x, const char *kind, const char *prefix, json_t *extra,
                     const char *fmt, va_list ap) {
    char msg[2048];
    vsnprintf(msg, sizeof(msg), fmt, ap);
    if (x->args && x->args->json) {
        json_t *o = extra ? extra : json_object();
        json_object_set_new(o, "message", json_string(msg));
        ctl_json_error_print(x->err, kind, o);
        return;
    }
    json_decref(extra);
    fprintf(x->err, "angoractl: %s%s\n", prefix, msg);
}

int ctl_say(CtlCtx *x, int code, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    say_line(x, "error", "",
             json_pack("{s:i,s:s}", "exit_code", code, "exit_name", ctl_exit_name(code)), fmt, ap);
    va_end(ap);
    return code;
}

void ctl_note(CtlCtx *x, const char *kind, const char *fmt, ...) {
    char prefix[32];
    va_list ap;
    snprintf(prefix, sizeof(prefix), "%s: ", kind);
    va_start(ap, fmt);
    say_line(x, kind, strcmp(kind, "warning") ? "" : prefix, NULL, fmt, ap);
    va_end(ap);
}

void ctl_json_error_print(FILE *f, const char *kind, json_t *body) {
    json_t *o = json_pack("{s:o}", kind, body);
    char *text = o ? ag_dtoa_json_dumps(o, 0) : NULL;
    fprintf(f, "%s\n", text ? text : "{\"error\":{\"message\":\"out of memory\"}}");
    free(text);
    json_decref(o);
}

int ctl_answer_fail(CtlCtx *x, CtlResponse *r) {
    char msg[1024];
    int code = ctl_exit_of_status(r->status);
    ctl_problem_format(r->status, r->body, r->len, msg, sizeof(msg));
    if (x->args && x->args->json) {
        /* the server's problem document goes along as it came */
        json_t *o = json_pack("{s:s,s:i,s:s,s:I}", "message", msg, "exit_code", code, "exit_name",
                              ctl_exit_name(code), "status", (json_int_t)r->status);
        if (r->json) {
            json_object_set(o, "problem", r->json);
        }
        ctl_json_error_print(x->err, "error", o);
    } else {
        ctl_say(x, code, "%s", msg);
    }
    if (r->status == 401 && !x->cfg.token[0]) {
        ctl_note(x, "hint",
                 "no token found: use --token, ANGORA_TOKEN, --token-file, the config file or "
                 "--data-dir (looked for %s/token)",
                 x->cfg.data_dir);
    } else if (r->status == 401) {
        ctl_note(x, "hint", "the token came from %s", x->cfg.token_source);
    }
    ctl_response_free(r);
    return code;
}

int ctl_api_call(CtlCtx *x, const char *method, const char *path, const char *body,
                 CtlResponse *r) {
    char err[1024];
    int rc =
        ctl_http_request(&x->cfg, method, path, body, body ? strlen(body) : 0, r, err, sizeof(err));
    if (rc) {
        return ctl_say(x, rc == AG_EIO ? CTL_EXIT_UNREACHABLE : CTL_EXIT_OTHER, "%s", err);
    }
    if (r->status >= 200 && r->status < 300) {
        return 0;
    }
    return ctl_answer_fail(x, r);
}

int ctl_exp_get(CtlCtx *x, int64_t id, json_t **out) {
    char path[96];
    CtlResponse r;
    int code;
    snprintf(path, sizeof(path), "/api/v1/experiments/%lld", (long long)id);
    code = ctl_api_call(x, "GET", path, NULL, &r);
    if (code) {
        return code;
    }
    *out = json_incref(r.json);
    ctl_response_free(&r);
    if (!*out) {
        return ctl_say(x, CTL_EXIT_OTHER, "the server's answer is not JSON");
    }
    return 0;
}

int ctl_exp_wait(CtlCtx *x, int64_t id, double interval, CtlPollFn on_poll, void *ud,
                 json_t **out) {
    json_t *exp = NULL;
    int code;
    *out = NULL;
    for (;;) {
        if ((code = ctl_exp_get(x, id, &exp)) != 0) {
            return code;
        }
        if (on_poll) {
            on_poll(x, exp, ud);
        }
        if (ctl_state_final(ctl_jstr(exp, "state"))) {
            break;
        }
        json_decref(exp);
        ag_time_sleep(interval);
    }
    *out = exp;
    return 0;
}

int ctl_job_queue(CtlCtx *x, int64_t id, const char *sub, char *body, CtlResponse *r,
                  int64_t *job) {
    char path[160];
    int code;
    snprintf(path, sizeof(path), "/api/v1/experiments/%lld/%s", (long long)id, sub);
    code = ctl_api_call(x, "POST", path, body, r);
    free(body);
    if (code == 0) {
        *job = json_integer_value(json_object_get(r->json, "id"));
    }
    return code;
}

int ctl_download_file(CtlCtx *x, const char *path, const char *dest) {
    char part[CTL_PATH_MAX + 8], err[1024];
    CtlResponse r;
    FILE *f;
    int rc, code = 0, to_stdout = !strcmp(dest, "-");
    if (snprintf(part, sizeof(part), "%s" AG_RUN_PARTIAL_SUFFIX, dest) >= (int)sizeof(part)) {
        return ctl_say(x, CTL_EXIT_USAGE, "download: output path too long");
    }
    f = to_stdout ? x->out : fopen(part, "wb");
    if (!f) {
        return ctl_say(x, CTL_EXIT_OTHER, "cannot write %s: %s", part, strerror(errno));
    }
    rc = ctl_http_download(&x->cfg, path, f, &r, err, sizeof(err));
    if (!to_stdout && fclose(f) != 0 && rc == 0) {
        rc = ag_errorf(err, sizeof(err), AG_EIO, "cannot write %s: %s", part, strerror(errno));
    }
    if (rc == 0 && (r.status < 200 || r.status >= 300)) {
        code = ctl_answer_fail(x, &r);
    } else if (rc) {
        code = ctl_say(x, rc == AG_EIO && r.status == 0 ? CTL_EXIT_UNREACHABLE : CTL_EXIT_OTHER,
                       "%s", err);
    } else if (!to_stdout && rename(part, dest) != 0) {
        code =
            ctl_say(x, CTL_EXIT_OTHER, "cannot rename %s to %s: %s", part, dest, strerror(errno));
    }
    if (code && !to_stdout) {
        unlink(part);
    }
    ctl_response_free(&r);
    return code;
}

void ctl_url_escape(const char *s, char *out, size_t out_sz) {
    static const char hex[] = "0123456789ABCDEF";
    size_t pos = 0;
    for (; *s && pos + 4 < out_sz; s++) {
        unsigned char c = (unsigned char)*s;
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
            c == '-' || c == '_' || c == '.' || c == '~') {
            out[pos++] = (char)c;
        } else {
            out[pos++] = '%';
            out[pos++] = hex[c >> 4];
            out[pos++] = hex[c & 15];
        }
    }
    out[pos] = '\0';
}

/* ---- arguments ---- */

int ctl_id_arg(CtlCtx *x, int64_t *id) {
    char err[256];
    if (ctl_parse_id(x->args->pos[0], "the experiment id", id, err, sizeof(err))) {
        return ctl_say(x, CTL_EXIT_USAGE, "%s", err);
    }
    return 0;
}

int ctl_seconds_opt(CtlCtx *x, const char *name, double def, double min, double max, double *out) {
    const char *v = ctl_args_get(x->args, name);
    char *end;
    if (!v) {
        *out = def;
        return 0;
    }
    errno = 0;
    *out = strtod(v, &end);
    if (!*v || *end || errno || !(*out >= min && *out <= max)) {
        return ctl_say(x, CTL_EXIT_USAGE, "--%s: expected seconds in [%g, %g], got \"%s\"", name,
                       min, max, v);
    }
    return 0;
}

/* ---- reading and printing answers ---- */

const char *ctl_jstr(const json_t *o, const char *key) {
    const char *s = json_string_value(json_object_get(o, key));
    return s ? s : "";
}

int ctl_state_final(const char *s) {
    return !strcmp(s, "succeeded") || !strcmp(s, "failed") || !strcmp(s, "cancelled");
}

void ctl_json_print(CtlCtx *x, const json_t *doc) {
    char *text = ag_dtoa_json_dumps(doc, 2);
    fprintf(x->out, "%s\n", text ? text : "null");
    free(text);
}

void ctl_body_print(CtlCtx *x, const CtlResponse *r) {
    if (r->json) {
        ctl_json_print(x, r->json);
    } else if (r->body) {
        fwrite(r->body, 1, r->len, x->out);
    }
}

void ctl_tags_text(const json_t *tags, char *out, size_t out_sz) {
    ag_json_strings_join(tags, ",", out, out_sz);
}

/* ---- did you mean ---- */

static int same_letter(char a, char b) {
    return tolower((unsigned char)a) == tolower((unsigned char)b);
}

/* edits from a to b: insertions, deletions, substitutions and swaps of neighbours ("kye" is one
 * edit from "key"), letters compared without case; rows i-2, i-1 and i of the table */
static size_t edit_distance(const char *a, const char *b) {
    size_t la = strlen(a), lb = strlen(b);
    size_t rows[3][CTL_SUGGEST_MAX + 1];
    if (la > CTL_SUGGEST_MAX || lb > CTL_SUGGEST_MAX) {
        return (size_t)-1;
    }
    for (size_t j = 0; j <= lb; j++) {
        rows[0][j] = rows[1][j] = j;
    }
    for (size_t i = 1; i <= la; i++) {
        size_t *cur = rows[i % 3], *prev = rows[(i + 2) % 3], *prev2 = rows[(i + 1) % 3];
        cur[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t best = prev[j - 1] + !same_letter(a[i - 1], b[j - 1]);
            if (prev[j] + 1 < best) {
                best = prev[j] + 1;
            }
            if (cur[j - 1] + 1 < best) {
                best = cur[j - 1] + 1;
            }
            if (i > 1 && j > 1 && same_letter(a[i - 1], b[j - 2]) &&
                same_letter(a[i - 2], b[j - 1]) && prev2[j - 2] + 1 < best) {
                best = prev2[j - 2] + 1;
            }
            cur[j] = best;
        }
    }
    return rows[la % 3][lb];
}

const char *ctl_suggest(const char *word, const char *const *cands, size_t n) {
    const char *best = NULL;
    size_t best_d = (size_t)-1, limit = strlen(word) / 3 + 1;
    for (size_t i = 0; i < n; i++) {
        size_t d;
        if (!cands[i] || !strcmp(cands[i], word)) {
            continue;
        }
        d = edit_distance(word, cands[i]);
        if (d <= limit && d < best_d) {
            best = cands[i];
            best_d = d;
        }
    }
    return best;
}

const char *ctl_suggest_json(const char *word, const json_t *names) {
    const char *cands[CTL_SUGGEST_CANDIDATES];
    size_t i, n = 0;
    json_t *v;
    json_array_foreach(names, i, v) {
        if (json_is_string(v) && n < CTL_SUGGEST_CANDIDATES) {
            cands[n++] = json_string_value(v);
        }
    }
    return ctl_suggest(word, cands, n);
}

void ctl_kv(CtlCtx *x, const char *key, const char *value) {
    fprintf(x->out, "%-14s %s\n", key, value && *value ? value : "-");
}
