/* The words bash completion offers for angoractl (client/angoractl-completion.bash asks for
 * them): commands and options come from the command table, so completion never drifts from the
 * parser; experiment ids, task names and checkpoint names come from the server. A failure to
 * reach it prints nothing: completion must never spill errors into the user's prompt line. */
#include "ctl.h"

#include <string.h>

#define COMPLETE_IDS_LIMIT 200

static void options_print(FILE *f, const CtlOptDef *defs) {
    for (const CtlOptDef *d = defs; d && d->name; d++) {
        fprintf(f, "--%s\n", d->name);
    }
}

/* GET path quietly; the parsed answer (new reference) or NULL */
static json_t *quiet_get(CtlCtx *x, const char *path) {
    CtlResponse r;
    char err[256];
    json_t *doc = NULL;
    if (ctl_http_request(&x->cfg, "GET", path, NULL, 0, &r, err, sizeof(err)) == 0 &&
        r.status == 200) {
        doc = json_incref(r.json);
    }
    ctl_response_free(&r);
    return doc;
}

static void ids_print(CtlCtx *x) {
    char path[96];
    json_t *doc, *v;
    size_t i;
    snprintf(path, sizeof(path), "/api/v1/experiments?limit=%d", COMPLETE_IDS_LIMIT);
    doc = quiet_get(x, path);
    json_array_foreach(json_object_get(doc, "items"), i, v) {
        fprintf(x->out, "%lld\n", (long long)json_integer_value(json_object_get(v, "id")));
    }
    json_decref(doc);
}

static void tasks_print(CtlCtx *x) {
    json_t *doc = quiet_get(x, "/api/v1/catalogue"), *names = ctl_task_names(doc), *v;
    size_t i;
    json_array_foreach(names, i, v) {
        fprintf(x->out, "%s\n", json_string_value(v));
    }
    json_decref(names);
    json_decref(doc);
}

static void checkpoints_print(CtlCtx *x, const char *id_text) {
    char path[96], err[128];
    int64_t id;
    json_t *doc, *v;
    size_t i;
    if (ctl_parse_id(id_text, "id", &id, err, sizeof(err)) != 0) {
        return;
    }
    snprintf(path, sizeof(path), "/api/v1/experiments/%lld/checkpoints", (long long)id);
    doc = quiet_get(x, path);
    json_array_foreach(json_object_get(doc, "items"), i, v) {
        fprintf(x->out, "%s\n", ctl_jstr(v, "name"));
    }
    json_decref(doc);
}

int ctl_complete(CtlCtx *x, int argc, const char *const *argv) {
    const char *what = argc > 0 ? argv[0] : "";
    if (!strcmp(what, "commands")) {
        for (const CtlCommandDef *c = ctl_commands; c->name; c++) {
            if (!CTL_COMMAND_HIDDEN(c)) {
                fprintf(x->out, "%s\n", c->name);
            }
        }
    } else if (!strcmp(what, "options")) {
        const CtlCommandDef *c = argc > 1 ? ctl_command_find(argv[1]) : NULL;
        options_print(x->out, c ? c->opts : NULL);
        options_print(x->out, ctl_global_opts);
    } else if (!strcmp(what, "takes-id")) {
        /* exit 0 when the command's first argument is an experiment (or job) id */
        const CtlCommandDef *c = argc > 1 ? ctl_command_find(argv[1]) : NULL;
        return c && !strcmp(c->synopsis, "ID") ? CTL_EXIT_OK : CTL_EXIT_OTHER;
    } else if (!strcmp(what, "ids")) {
        ids_print(x);
    } else if (!strcmp(what, "tasks")) {
        tasks_print(x);
    } else if (!strcmp(what, "checkpoints") && argc > 1) {
        checkpoints_print(x, argv[1]);
    } else if (!strcmp(what, "states")) {
        fputs("queued\nrunning\npaused\nsucceeded\nfailed\ncancelled\n", x->out);
    } else {
        return CTL_EXIT_USAGE;
    }
    return CTL_EXIT_OK;
}
