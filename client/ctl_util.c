/* The helpers angoractl's commands share: messages on stderr, one API call with its error
 * reporting, the experiment id and seconds arguments, fetching an experiment, and the small
 * printers (JSON, a response body, a tag list). ctl_cmd.c and ctl_watch.c both use them. */
#include "ctl.h"

#include "ag_error.h"
#include "ag_json.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

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
