/* The task catalogue of the REST API: what `angora-train --list-tasks` prints, cached for the
 * daemon's life (a failure is retried after a minute), the lookup of a task in it and the route
 * that serves it with the spec presets and their defaults. */
#include "api_int.h"

#include "ag_rundir.h"

#include "ag_buf.h"
#include "ag_log.h"
#include "ag_spec.h"
#include "ag_time.h"

#include <string.h>
#include <sys/wait.h>

#define API_CATALOGUE_MAX       (4u << 20)
#define API_CATALOGUE_TIMEOUT_S 30.0

/* ---- the task catalogue ---- */

/* runs `trainer --list-tasks` and parses its output; NULL when it cannot */
static json_t *catalogue_load(const char *trainer) {
    const char *const argv[] = {trainer, AG_TRAIN_LIST_TASKS, NULL};
    char err[256];
    json_t *doc = NULL;
    int status = 0;
    AgBuf out;
    if (!trainer || !*trainer) {
        return NULL;
    }
    ag_buf_init(&out, 0, API_CATALOGUE_MAX);
    if (api_child_output(argv, API_CATALOGUE_TIMEOUT_S, &out, &status, err, sizeof err) != 0) {
        ag_log_warn("api: %s", err);
    } else if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
        doc = json_loadb(out.data ? out.data : "", out.len, 0, NULL);
    } else {
        ag_log_warn("api: %s --list-tasks failed (status %d)", trainer, status);
    }
    ag_buf_free(&out);
    return doc;
}

/* the cached catalogue (new reference) or NULL; a failure is retried after a minute */
json_t *api_catalogue_get(Api *api) {
    json_t *doc;
    pthread_mutex_lock(&api->cat_mu);
    if (!api->catalogue && (api->catalogue_at == 0 || ag_time_now() - api->catalogue_at > 60)) {
        api->catalogue = catalogue_load(api->trainer);
        api->catalogue_at = ag_time_now();
    }
    doc = json_incref(api->catalogue);
    pthread_mutex_unlock(&api->cat_mu);
    return doc;
}

/* the catalogue may be a list of tasks (objects with "name" or strings), an object keyed by
 * task name, or either one under "tasks" */
const json_t *api_catalogue_task(const json_t *cat, const char *task) {
    size_t i;
    json_t *v;
    if (json_is_object(cat) && json_object_get(cat, "tasks")) {
        return api_catalogue_task(json_object_get(cat, "tasks"), task);
    }
    if (json_is_object(cat)) {
        return json_object_get(cat, task);
    }
    json_array_foreach(cat, i, v) {
        const char *name = json_is_string(v) ? json_string_value(v)
                                             : json_string_value(json_object_get(v, "name"));
        if (name && !strcmp(name, task)) {
            return v;
        }
    }
    return NULL;
}

int api_catalogue_has(const json_t *cat, const char *task) {
    return api_catalogue_task(cat, task) != NULL;
}

int api_h_catalogue(Api *api, const ApiRequest *req, const ApiParams *p, ApiResponse *resp,
                    ApiErr *e) {
    json_t *o = json_object(), *defaults = json_object(), *presets = json_array();
    json_t *cat = api_catalogue_get(api);
    (void)req;
    (void)p;
    (void)e;
    for (int i = 0; ag_spec_preset_names[i]; i++) {
        json_array_append_new(presets, json_string(ag_spec_preset_names[i]));
        json_object_set_new(defaults, ag_spec_preset_names[i],
                            ag_spec_defaults_json(ag_spec_preset_names[i]));
    }
    json_object_set_new(o, "tasks", cat ? cat : json_null());
    json_object_set_new(o, "presets", presets);
    json_object_set_new(o, "defaults", defaults);
    api_resp_json(resp, 200, o);
    return 0;
}
