/* angoractl's commands about the server rather than one experiment: the task catalogue
 * (tasks), API tokens (token) and versions (version). */
#include "ctl.h"

#include "ag_error.h"

#include <stdlib.h>
#include <string.h>

/* ---- tasks ---- */

/* the list of task entries of a catalogue: a list of tasks (objects with "name" or strings) or an
 * object keyed by task name, either one maybe under "tasks" */
static const json_t *catalogue_tasks(const json_t *cat) {
    if (json_is_object(cat) && json_object_get(cat, "tasks")) {
        return catalogue_tasks(json_object_get(cat, "tasks"));
    }
    return json_is_array(cat) || json_is_object(cat) ? cat : NULL;
}

json_t *ctl_task_names(const json_t *catalogue) {
    const json_t *tasks = catalogue_tasks(catalogue);
    json_t *names = json_array(), *v;
    const char *k;
    size_t i;
    if (json_is_object(tasks)) {
        json_object_foreach((json_t *)tasks, k, v) {
            json_array_append_new(names, json_string(k));
        }
    } else {
        json_array_foreach(tasks, i, v) {
            const char *name = json_is_string(v) ? json_string_value(v) : ctl_jstr(v, "name");
            if (*name) {
                json_array_append_new(names, json_string(name));
            }
        }
    }
    return names;
}

void ctl_task_hint(CtlCtx *x, const char *task) {
    CtlResponse r;
    char err[256];
    json_t *names;
    const char *near;
    if (!task ||
        ctl_http_request(&x->cfg, "GET", "/api/v1/catalogue", NULL, 0, &r, err, sizeof(err)) != 0) {
        return;
    }
    names = r.status == 200 ? ctl_task_names(r.json) : NULL;
    if (json_array_size(names) > 0) {
        size_t i;
        json_t *v;
        int known = 0;
        json_array_foreach(names, i, v) {
            known |= !strcmp(json_string_value(v), task);
        }
        near = known ? NULL : ctl_suggest_json(task, names);
        if (near) {
            ctl_note(x, "hint", "no task \"%s\": did you mean \"%s\"?", task, near);
        } else if (!known) {
            ctl_note(x, "hint", "no task \"%s\" (angoractl tasks lists them)", task);
        }
    }
    json_decref(names);
    ctl_response_free(&r);
}

/* "discrete 3" or "continuous 20" from a task's "action" */
static void action_text(const json_t *action, char *out, size_t out_sz) {
    const char *kind = ctl_jstr(action, "kind");
    json_t *choices = json_object_get(action, "choices");
    if (!strcmp(kind, "discrete") && json_array_size(choices) == 1) {
        snprintf(out, out_sz, "discrete %lld",
                 (long long)json_integer_value(json_array_get(choices, 0)));
    } else if (!strcmp(kind, "discrete") && json_array_size(choices) > 1) {
        char *list = json_dumps(choices, JSON_COMPACT);
        snprintf(out, out_sz, "discrete %s", list ? list : "?");
        free(list);
    } else if (*kind) {
        snprintf(out, out_sz, "%s %lld", kind,
                 (long long)json_integer_value(json_object_get(action, "dim")));
    } else {
        snprintf(out, out_sz, "-");
    }
}

/* one task as a row: name, observation size, actions, episode steps, metrics, summary */
static void task_row(CtlTable *t, const char *name, const json_t *info) {
    char obs[32], act[96], steps[32], metrics[256];
    const char *cells[6] = {name, obs, act, steps, metrics, ctl_jstr(info, "summary")};
    ctl_format_json(json_object_get(info, "obs_size"), obs, sizeof(obs));
    action_text(json_object_get(info, "action"), act, sizeof(act));
    ctl_format_json(json_object_get(info, "max_episode_steps"), steps, sizeof(steps));
    ctl_tags_text(json_object_get(info, "metrics"), metrics, sizeof(metrics));
    ctl_table_add(t, cells);
}

int ctl_cmd_tasks(CtlCtx *x) {
    static const char *const heads[] = {"TASK", "OBS", "ACTIONS", "STEPS", "METRICS", "SUMMARY"};
    CtlResponse r;
    CtlTable t;
    const json_t *tasks;
    json_t *v;
    const char *k;
    size_t i;
    int code = ctl_api_call(x, "GET", "/api/v1/catalogue", NULL, &r);
    if (code) {
        return code;
    }
    tasks = catalogue_tasks(r.json);
    if (!tasks) {
        ctl_response_free(&r);
        return ctl_say(x, CTL_EXIT_OTHER,
                       "the server could not list its tasks (is its trainer installed?)");
    }
    if (x->args->json) {
        ctl_json_print(x, tasks);
        ctl_response_free(&r);
        return 0;
    }
    ctl_table_init(&t, 6, heads);
    t.max_width = 72;
    if (json_is_object(tasks)) {
        json_object_foreach((json_t *)tasks, k, v) {
            task_row(&t, k, json_is_object(v) ? v : NULL);
        }
    } else {
        json_array_foreach(tasks, i, v) {
            task_row(&t, json_is_string(v) ? json_string_value(v) : ctl_jstr(v, "name"),
                     json_is_object(v) ? v : NULL);
        }
    }
    ctl_table_print(&t, x->out);
    ctl_table_free(&t);
    ctl_response_free(&r);
    return 0;
}

/* ---- token ---- */

int ctl_cmd_token(CtlCtx *x) {
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

int ctl_cmd_version(CtlCtx *x) {
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
