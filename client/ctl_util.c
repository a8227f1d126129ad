/* The helpers angoractl's commands share: messages on stderr, one API call with its error
 * reporting, the experiment id and seconds arguments, fetching an experiment and waiting for
 * it to end, downloading a file whole, and the small printers (JSON, a response body, a tag
 * list). ctl_cmd.c, ctl_watch.c and ctl_analysis.c use them. */
#include "ctl.h"

#include "ag_error.h"
#include "ag_json.h"
#include "ag_rundir.h"
#include "ag_time.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- messages and requests ---- */

int ctl_say(CtlCtx *x, int code, const char *fmt, ...) {
    va_list ap;
    fputs("angoractl: ", x->err);
    va_start(ap, fmt);
    vfprintf(x->err, fmt, ap);
    va_end(ap);
    fputc('\n', x->err);
    return code;
}

int ctl_answer_fail(CtlCtx *x, CtlResponse *r) {
    char msg[1024];
    int code = ctl_exit_of_status(r->status);
    ctl_problem_format(r->status, r->body, r->len, msg, sizeof(msg));
    ctl_say(x, code, "%s", msg);
    if (r->status == 401 && !x->cfg.token[0]) {
        fprintf(x->err,
                "angoractl: no token found: use --token, ANGORA_TOKEN, --token-file, the config "
                "file or --data-dir (looked for %s/token)\n",
                x->cfg.data_dir);
    } else if (r->status == 401) {
        fprintf(x->err, "angoractl: the token came from %s\n", x->cfg.token_source);
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
    json_dumpf(doc, x->out, JSON_INDENT(2) | JSON_ENCODE_ANY);
    fputc('\n', x->out);
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

void ctl_kv(CtlCtx *x, const char *key, const char *value) {
    fprintf(x->out, "%-14s %s\n", key, value && *value ? value : "-");
}
