/* The analysis routes of the REST API: queueing an analysis job on a checkpoint of a training
 * run (refused at once, with the JSON path, when the request cannot be run), a run's analyses,
 * and an analysis job's results: analysis.json, its CSV tables and PNG figures by name, and the
 * HDF5 recording.
 *
 * DESIGN
 * - Everything the daemon can check is checked here, before a job exists: the body's keys and
 *   types, the checkpoint's existence in the run, the episode count against the folds. What
 *   only the recording knows (the names of its layers and variables) is angora-analyze's to
 *   refuse; the job then fails at once with its message (docs/analysis.md).
 * - The job's spec is stored complete (checkpoint file, episodes, folds, deterministic,
 *   variables, layers), so the scheduler and a reader of the experiment see exactly what runs. */
#include "api_int.h"

#include "ag_error.h"
#include "ag_rundir.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ANALYSIS_EPISODES_MIN     3 /* the fewest folds of cross-validation over episodes */
#define ANALYSIS_EPISODES_MAX     1000
#define ANALYSIS_EPISODES_DEFAULT 20
#define ANALYSIS_FOLDS_MIN        3
#define ANALYSIS_FOLDS_MAX        20
#define ANALYSIS_FOLDS_DEFAULT    5
#define ANALYSIS_NAMES_MAX        64  /* variables or layers */
#define ANALYSIS_NAME_LEN         100 /* bytes of one name */

/* ---- submitting ---- */

/* "best", "last" or a file name: the checkpoint file it means, or AG_ESPEC */
static int checkpoint_file(const char *given, char *file, size_t file_sz, ApiErr *e) {
    if (!strcmp(given, "best") || !strcmp(given, "last")) {
        snprintf(file, file_sz, "%s", !strcmp(given, "best") ? AG_RUN_CKPT_BEST : AG_RUN_CKPT_LAST);
        return 0;
    }
    if (!api_file_name_ok(given, ".ckpt")) {
        return api_fail(e, AG_ESPEC, "checkpoint",
                        "checkpoint: best, last or a checkpoint file name like iter-100.ckpt, "
                        "got \"%.100s\"",
                        given);
    }
    snprintf(file, file_sz, "%s", given);
    return 0;
}

/* body[key]: absent or null for none, else an array of distinct names of API_NAME_CHARS (as
 * layer and variable names are); a new array in *out */
static int names_get(const json_t *body, const char *key, json_t **out, ApiErr *e) {
    const json_t *arr = json_object_get(body, key);
    json_t *v;
    size_t i;
    *out = json_array();
    if (!arr || json_is_null(arr)) {
        return 0;
    }
    if (!json_is_array(arr)) {
        return api_fail(e, AG_ESPEC, key, "%s: must be an array of names, got %s", key,
                        json_is_object(arr)   ? "an object"
                        : json_is_string(arr) ? "a string"
                                              : "a scalar");
    }
    if (json_array_size(arr) > ANALYSIS_NAMES_MAX) {
        return api_fail(e, AG_ESPEC, key, "%s: at most %d names, got %zu", key, ANALYSIS_NAMES_MAX,
                        json_array_size(arr));
    }
    json_array_foreach(arr, i, v) {
        char path[AG_JSON_PATH_MAX];
        const char *name = json_string_value(v);
        ag_json_path_index(path, sizeof(path), key, i);
        if (!name) {
            return api_fail(e, AG_ESPEC, path, "%s: must be a name (a string)", path);
        }
        if (!*name || strlen(name) > ANALYSIS_NAME_LEN || name[0] == '-' ||
            name[strspn(name, API_NAME_CHARS)] != '\0') {
            return api_fail(e, AG_ESPEC, path,
                            "%s: a name of 1 to %d letters, digits and _ . - (not starting with "
                            "-), got \"%.100s\"",
                            path, ANALYSIS_NAME_LEN, name);
        }
        for (size_t k = 0; k < i; k++) {
            if (!strcmp(json_string_value(json_array_get(arr, k)), name)) {
                return api_fail(e, AG_ESPEC, path, "%s: \"%s\" is named twice", path, name);
            }
        }
        json_array_append_new(*out, json_string(name));
    }
    return 0;
}

/* the request checked against the run: the complete spec of the job (a new object) */
static int analysis_spec(const json_t *body, const json_t *parent, const char *run_dir,
                         json_t **spec, ApiErr *e) {
    static const char *const keys[] = {"checkpoint", "episodes", "folds", "deterministic",
                                       "variables",  "layers",   NULL};
    AgJsonErr je = {0};
    char given[128], file[128];
    long long episodes, folds;
    int det = 0, rc;
    json_t *variables = NULL, *layers = NULL;
    *spec = NULL;
    if (ag_json_expect_object(body, "", &je) || ag_json_check_keys(body, "", keys, &je) ||
        ag_json_get_string(body, "", "checkpoint",
                           api_checkpoint_exists(run_dir, AG_RUN_CKPT_BEST) ? "best" : "last",
                           given, sizeof(given), &je) ||
        ag_json_get_int(body, "", "episodes", ANALYSIS_EPISODES_DEFAULT, ANALYSIS_EPISODES_MIN,
                        ANALYSIS_EPISODES_MAX, &episodes, &je) ||
        ag_json_get_int(body, "", "folds", ANALYSIS_FOLDS_DEFAULT, ANALYSIS_FOLDS_MIN,
                        ANALYSIS_FOLDS_MAX, &folds, &je) ||
        ag_json_get_bool(body, "", "deterministic", 0, &det, &je)) {
        return api_spec_fail(e, &je, "");
    }
    /* without folds, as many as the episodes allow up to the default */
    if (!json_object_get(body, "folds") || json_is_null(json_object_get(body, "folds"))) {
        folds = episodes < ANALYSIS_FOLDS_DEFAULT ? episodes : ANALYSIS_FOLDS_DEFAULT;
    } else if (folds > episodes) {
        return api_fail(e, AG_ESPEC, "folds",
                        "folds: %lld folds of whole episodes need at least %lld episodes, got "
                        "%lld",
                        folds, folds, episodes);
    }
    if ((rc = checkpoint_file(given, file, sizeof(file), e)) != 0) {
        return rc;
    }
    if ((rc = api_checkpoint_check(run_dir, json_integer_value(json_object_get(parent, "id")), file,
                                   e)) != 0) {
        return rc;
    }
    if ((rc = names_get(body, "variables", &variables, e)) != 0 ||
        (rc = names_get(body, "layers", &layers, e)) != 0) {
        json_decref(variables);
        json_decref(layers);
        return rc;
    }
    *spec = json_pack("{s:s,s:s,s:I,s:I,s:b,s:o,s:o,s:O}", "task",
                      json_string_value(json_object_get(parent, "task")), "checkpoint", file,
                      "episodes", (json_int_t)episodes, "folds", (json_int_t)folds, "deterministic",
                      det, "variables", variables, "layers", layers, "parent",
                      json_object_get(parent, "id"));
    return *spec ? 0 : api_fail(e, AG_ENOMEM, NULL, "out of memory");
}

int api_h_analysis_submit(Api *api, const ApiRequest *req, const ApiParams *p, ApiResponse *resp,
                          ApiErr *e) {
    json_t *body = NULL, *parent = NULL, *spec = NULL;
    char msg[512], name[200];
    StoreRun run;
    int rc;
    if (req->body_len > 0) {
        if ((rc = api_body_json(req, &body, e)) != 0) {
            return rc;
        }
    } else {
        body = json_object();
    }
    rc = store_exp_get_json(api->store, p->id, &parent, msg, sizeof(msg));
    if (rc == 0) {
        rc = store_run_get(api->store, p->id, &run, msg, sizeof(msg));
    }
    if (rc) {
        rc = api_store_fail(e, rc, msg);
        goto out;
    }
    if (strcmp(run.kind, "train") != 0) {
        rc = api_fail(e, AG_ESTATE, "id",
                      "experiment %lld is an %s job, not a training run: analyses are of a "
                      "training run's checkpoints",
                      (long long)p->id, run.kind);
        goto out;
    }
    if ((rc = analysis_spec(body, parent, run.run_dir, &spec, e)) != 0) {
        goto out;
    }
    snprintf(name, sizeof(name), "analysis of %lld (%s)", (long long)p->id,
             json_string_value(json_object_get(spec, "checkpoint")));
    rc = api_job_queue(api, parent, "analysis", name, spec, resp, e);
out:
    json_decref(spec);
    json_decref(parent);
    json_decref(body);
    return rc;
}

/* ---- reading ---- */

int api_h_analysis_list(Api *api, const ApiRequest *req, const ApiParams *p, ApiResponse *resp,
                        ApiErr *e) {
    StoreRun run;
    json_t *items = NULL;
    char msg[512];
    int rc = store_run_get(api->store, p->id, &run, msg, sizeof(msg));
    (void)req;
    if (rc == 0) {
        rc = store_jobs_json(api->store, p->id, "analysis", 1000, &items, msg, sizeof(msg));
    }
    return api_resp_store(resp, e, rc, msg, "items", items);
}

/* the run directory of analysis job id; a training run is pointed at its analyses */
static int job_dir(Api *api, int64_t id, char *dir, size_t dir_sz, ApiErr *e) {
    StoreRun r;
    char msg[512];
    int rc = store_run_get(api->store, id, &r, msg, sizeof(msg));
    if (rc) {
        return api_store_fail(e, rc, msg);
    }
    if (strcmp(r.kind, "analysis") != 0) {
        if (!strcmp(r.kind, "train")) {
            return api_fail(e, AG_ENOTFOUND, "id",
                            "experiment %lld is a training run, not an analysis job (its "
                            "analyses: " API_PREFIX "/experiments/%lld/analyses)",
                            (long long)id, (long long)id);
        }
        return api_fail(e, AG_ENOTFOUND, "id", "experiment %lld is not an analysis job",
                        (long long)id);
    }
    snprintf(dir, dir_sz, "%s", r.run_dir);
    return 0;
}

/* RUN/analysis/name (or RUN/name when sub is NULL) as the response */
static int job_file(Api *api, const ApiParams *p, const char *sub, const char *name,
                    const char *type, int download, ApiResponse *resp, ApiErr *e) {
    char dir[STORE_PATH_MAX], path[PATH_MAX];
    int rc = job_dir(api, p->id, dir, sizeof(dir), e);
    if (rc) {
        return rc;
    }
    snprintf(path, sizeof(path), "%s/%s%s%s", dir, sub ? sub : "", sub ? "/" : "", name);
    rc = api_resp_file(resp, path, type, p->id, download ? name : NULL, e);
    if (rc == AG_ENOTFOUND) {
        return api_fail(e, AG_ENOTFOUND, download && sub ? "name" : NULL,
                        "analysis job %lld has no %s (yet: it appears when the %s is done)",
                        (long long)p->id, name, sub ? "analysis" : "recording");
    }
    return rc;
}

int api_h_analysis_result(Api *api, const ApiRequest *req, const ApiParams *p, ApiResponse *resp,
                          ApiErr *e) {
    (void)req;
    return job_file(api, p, AG_RUN_ANALYSIS, AG_RUN_ANALYSIS_JSON, "application/json", 0, resp, e);
}

int api_h_analysis_table(Api *api, const ApiRequest *req, const ApiParams *p, ApiResponse *resp,
                         ApiErr *e) {
    (void)req;
    if (!api_file_name_ok(p->name, ".csv")) {
        return api_fail(e, AG_EINVAL, "name", "a table name is [A-Za-z0-9_.-]+.csv");
    }
    return job_file(api, p, AG_RUN_ANALYSIS, p->name, "text/csv; charset=utf-8", 1, resp, e);
}

int api_h_analysis_figure(Api *api, const ApiRequest *req, const ApiParams *p, ApiResponse *resp,
                          ApiErr *e) {
    (void)req;
    if (!api_file_name_ok(p->name, ".png")) {
        return api_fail(e, AG_EINVAL, "name", "a figure name is [A-Za-z0-9_.-]+.png");
    }
    return job_file(api, p, AG_RUN_ANALYSIS, p->name, "image/png", 1, resp, e);
}

int api_h_analysis_recording(Api *api, const ApiRequest *req, const ApiParams *p, ApiResponse *resp,
                             ApiErr *e) {
    (void)req;
    return job_file(api, p, NULL, AG_RUN_ACTIVATIONS, "application/x-hdf5", 1, resp, e);
}
