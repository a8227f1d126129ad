/* angoractl's exit codes: how HTTP statuses and local error codes map onto the few documented
 * codes scripts can rely on, and how a problem+json error reads on one line. */
#include "ctl.h"

#include "ag_error.h"

#include <stdio.h>
#include <string.h>

int ctl_exit_of_status(long status) {
    if (status >= 200 && status < 300) {
        return CTL_EXIT_OK;
    }
    switch (status) {
    case 404:
        return CTL_EXIT_NOTFOUND;
    case 401:
    case 403:
        return CTL_EXIT_AUTH;
    case 400:
    case 409:
    case 413:
    case 422:
        return CTL_EXIT_REJECTED;
    default:
        return CTL_EXIT_OTHER;
    }
}

int ctl_exit_of_error(int code) {
    switch (code) {
    case 0:
        return CTL_EXIT_OK;
    case AG_EINVAL:
        return CTL_EXIT_USAGE;
    case AG_ESPEC:
    case AG_EJSON:
        return CTL_EXIT_REJECTED;
    case AG_ENOTFOUND:
        return CTL_EXIT_NOTFOUND;
    case AG_EAUTH:
    case AG_EFORBIDDEN:
        return CTL_EXIT_AUTH;
    default:
        return CTL_EXIT_OTHER;
    }
}

const char *ctl_exit_name(int code) {
    switch (code) {
    case CTL_EXIT_OK:
        return "ok";
    case CTL_EXIT_USAGE:
        return "usage error";
    case CTL_EXIT_NOTFOUND:
        return "not found";
    case CTL_EXIT_AUTH:
        return "authentication";
    case CTL_EXIT_UNREACHABLE:
        return "server unreachable";
    case CTL_EXIT_REJECTED:
        return "rejected";
    default:
        return "error";
    }
}

void ctl_problem_format(long status, const char *body, size_t len, char *out, size_t out_sz) {
    json_t *doc = body && len ? json_loadb(body, len, 0, NULL) : NULL;
    const char *title = json_string_value(json_object_get(doc, "title"));
    const char *detail = json_string_value(json_object_get(doc, "detail"));
    const char *field = json_string_value(json_object_get(doc, "field"));
    if (detail) {
        /* the detail usually starts with the field already ("ppo.lr: ...") */
        int has_field = field && *field && strncmp(detail, field, strlen(field)) != 0;
        snprintf(out, out_sz, "%s: %s%s%s%s", title ? title : "error", detail,
                 has_field ? " (field " : "", has_field ? field : "", has_field ? ")" : "");
    } else if (body && len && !doc) {
        /* not JSON: show the start of the text */
        snprintf(out, out_sz, "HTTP %ld: %.200s", status, body);
        for (char *p = out; *p; p++) {
            if (*p == '\n' || *p == '\r') {
                *p = ' ';
            }
        }
    } else {
        snprintf(out, out_sz, "HTTP %ld", status);
    }
    json_decref(doc);
}
