/* The run-file routes of the REST API: checkpoints (list and download), the training and
 * worker logs, and evaluation jobs (queueing one, checked against the run's checkpoints and the
 * task's abilities; its result, video and trajectory); and the helpers every route serving a
 * run's files uses (api_analysis.c too). */
#include "api_int.h"

#include "ag_error.h"
#include "ag_rundir.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define API_LOG_TAIL_MAX (4u << 20)

/* ---- handlers: run files ---- */

int api_run_dir(Api *api, int64_t id, char *dir, size_t dir_sz, ApiErr *e) {
    StoreRun r;
    char msg[512];
    int rc = store_run_get(api->store, id, &r, msg, sizeof(msg));
    if (rc) {
        return api_store_fail(e, rc, msg);
    }
    snprintf(dir, dir_sz, "%s", r.run_dir);
    return 0;
}

int api_resp_file(ApiResponse *resp, const char *path, const char *type, int64_t id,
                  const char *download, ApiErr *e) {
    struct stat sb;
    if (stat(path, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        return AG_ENOTFOUND;
    }
    resp->status = 200;
    resp->content_type = type;
    resp->file_path = strdup(path);
    if (download) {
        snprintf(resp->header, sizeof(resp->header),
                 "Content-Disposition: attachment; filename=\"experiment-%lld-%s\"", (long long)id,
                 download);
    }
    return resp->file_path ? 0 : api_fail(e, AG_ENOMEM, NULL, "out of memory");
}

int api_h_checkpoints(Api *api, const ApiRequest *req, const ApiParams *p, ApiResponse *resp,
                      ApiErr *e) {
    char dir[STORE_PATH_MAX], path[PATH_MAX + 300];
    json_t *items = json_array();
    DIR *d;
    struct dirent *de;
    int rc = api_run_dir(api, p->id, dir, sizeof(dir), e);
    (void)req;
    if (rc) {
        json_decref(items);
        return rc;
    }
    snprintf(path, sizeof(path), "%s/" AG_RUN_CHECKPOINTS, dir);
    d = opendir(path);
    while (d && (de = readdir(d)) != NULL) {
        struct stat sb;
        size_t len = strlen(de->d_name);
        char file[PATH_MAX + 600];
        if (de->d_name[0] == '.' || len < 6 || strcmp(de->d_name + len - 5, ".ckpt") != 0) {
            continue;
        }
        snprintf(file, sizeof(file), "%s/%s", path, de->d_name);
        if (stat(file, &sb) != 0 || !S_ISREG(sb.st_mode)) {
            continue;
        }
        json_array_append_new(items,
                              json_pack("{s:s,s:I,s:f}", "name", de->d_name, "size",
                                        (json_int_t)sb.st_size, "modified", (double)sb.st_mtime));
    }
    if (d) {
        closedir(d);
    }
    api_resp_json(resp, 200, json_pack("{s:o}", "items", items));
    return 0;
}

int api_file_name_ok(const char *n, const char *ext) {
    size_t len = strlen(n), el = strlen(ext);
    if (len <= el || len > 100 || n[0] == '.' || strcmp(n + len - el, ext) != 0) {
        return 0;
    }
    return n[strspn(n, API_NAME_CHARS)] == '\0';
}

int api_h_checkpoint_get(Api *api, const ApiRequest *req, const ApiParams *p, ApiResponse *resp,
                         ApiErr *e) {
    char dir[STORE_PATH_MAX], path[PATH_MAX];
    int rc;
    (void)req;
    if (!api_file_name_ok(p->name, ".ckpt")) {
        return api_fail(e, AG_EINVAL, "name", "a checkpoint name is [A-Za-z0-9_.-]+.ckpt");
    }
    rc = api_run_dir(api, p->id, dir, sizeof(dir), e);
    if (rc) {
        return rc;
    }
    snprintf(path, sizeof(path), "%s/" AG_RUN_CHECKPOINTS "/%s", dir, p->name);
    rc = api_resp_file(resp, path, "application/octet-stream", p->id, p->name, e);
    if (rc == AG_ENOTFOUND) {
        return api_fail(e, AG_ENOTFOUND, "name", "experiment %lld has no checkpoint %s",
                        (long long)p->id, p->name);
    }
    return rc;
}

int api_h_log(Api *api, const ApiRequest *req, const ApiParams *p, ApiResponse *resp, ApiErr *e) {
    const char *which = api_arg(req, "file");
    char dir[STORE_PATH_MAX], path[PATH_MAX];
    long long tail, offset, length;
    struct stat sb;
    FILE *f;
    size_t n;
    int rc;
    if (which && strcmp(which, "train") != 0 && strcmp(which, "worker") != 0) {
        return api_fail(e, AG_EINVAL, "file", "file must be train (train.log) or worker (output)");
    }
    if ((rc = api_arg_int(req, "tail", 65536, 1, API_LOG_TAIL_MAX, &tail, e)) ||
        (rc = api_arg_int(req, "offset", -1, 0, INT64_MAX, &offset, e)) ||
        (rc = api_arg_int(req, "length", 65536, 1, API_LOG_TAIL_MAX, &length, e)) ||
        (rc = api_run_dir(api, p->id, dir, sizeof(dir), e))) {
        return rc;
    }
    snprintf(path, sizeof(path), "%s/%s", dir,
             which && !strcmp(which, "worker") ? AG_RUN_WORKER_LOG : AG_RUN_TRAIN_LOG);
    f = fopen(path, "rb");
    if (!f || fstat(fileno(f), &sb) != 0) {
        if (f) {
            fclose(f);
        }
        return api_fail(e, AG_ENOTFOUND, "file", "experiment %lld has no log yet",
                        (long long)p->id);
    }
    if (offset < 0) {
        offset = sb.st_size > tail ? sb.st_size - tail : 0;
        length = sb.st_size - offset;
    }
    if (offset > sb.st_size) {
        offset = sb.st_size;
    }
    if (offset + length > sb.st_size) {
        length = sb.st_size - offset;
    }
    resp->body = malloc((size_t)length + 1);
    if (!resp->body) {
        fclose(f);
        return api_fail(e, AG_ENOMEM, NULL, "out of memory");
    }
    fseeko(f, offset, SEEK_SET);
    n = fread(resp->body, 1, (size_t)length, f);
    fclose(f);
    resp->body[n] = '\0';
    resp->body_len = n;
    resp->status = 200;
    resp->content_type = "text/plain; charset=utf-8";
    snprintf(resp->header, sizeof(resp->header), "X-Log-Range: %lld-%lld/%lld", offset,
             offset + (long long)n, (long long)sb.st_size);
    return 0;
}

int api_checkpoint_exists(const char *run_dir, const char *file) {
    char path[PATH_MAX];
    struct stat sb;
    snprintf(path, sizeof(path), "%s/" AG_RUN_CHECKPOINTS "/%s", run_dir, file);
    return stat(path, &sb) == 0 && S_ISREG(sb.st_mode);
}

/* the .ckpt files of a run directory as "a, b" (for a message); 0 when there is none */
static int checkpoints_text(const char *run_dir, char *out, size_t out_sz) {
    char path[PATH_MAX];
    DIR *d;
    struct dirent *de;
    size_t pos = 0;
    int count = 0;
    out[0] = '\0';
    snprintf(path, sizeof(path), "%s/" AG_RUN_CHECKPOINTS, run_dir);
    d = opendir(path);
    while (d && (de = readdir(d)) != NULL) {
        int n;
        if (!api_file_name_ok(de->d_name, ".ckpt")) {
            continue;
        }
        count++;
        n = snprintf(out + pos, out_sz - pos, "%s%s", pos ? ", " : "", de->d_name);
        if (n < 0 || (size_t)n >= out_sz - pos) {
            break;
        }
        pos += (size_t)n;
    }
    if (d) {
        closedir(d);
    }
    return count;
}

int api_checkpoint_check(const char *run_dir, int64_t id, const char *file, ApiErr *e) {
    char have[512];
    if (api_checkpoint_exists(run_dir, file)) {
        return 0;
    }
    if (!checkpoints_text(run_dir, have, sizeof(have))) {
        return api_fail(e, AG_ESTATE, "checkpoint",
                        "experiment %lld has no checkpoint yet (a run writes last.ckpt after its "
                        "first iteration)",
                        (long long)id);
    }
    return api_fail(e, AG_ESPEC, "checkpoint",
                    "checkpoint: experiment %lld has no checkpoint %s (it has: %s)", (long long)id,
                    file, have);
}

/* a recording needs pictures: refused when the catalogue says the task draws none */
static int record_check(Api *api, const char *task, ApiErr *e) {
    json_t *cat = api_catalogue_get(api);
    const json_t *entry = api_catalogue_task(cat, task);
    int rc = 0;
    if (json_is_false(json_object_get(entry, "renders"))) {
        rc = api_fail(e, AG_ESPEC, "record",
                      "record: task %s draws no pictures (only MuJoCo tasks can be recorded); "
                      "evaluate it without record",
                      task);
    }
    json_decref(cat);
    return rc;
}

int api_h_evaluate(Api *api, const ApiRequest *req, const ApiParams *p, ApiResponse *resp,
                   ApiErr *e) {
    static const char *const keys[] = {"episodes", "checkpoint", "deterministic", "record", NULL};
    json_t *doc = NULL, *parent = NULL, *spec = NULL;
    AgJsonErr je = {0};
    long long episodes = 10;
    int det = 1, record = 0;
    char ckpt[128], msg[512], name[160];
    int rc;
    if (req->body_len > 0) {
        rc = api_body_json(req, &doc, e);
        if (rc) {
            return rc;
        }
    } else {
        doc = json_object();
    }
    if (ag_json_expect_object(doc, "", &je) || ag_json_check_keys(doc, "", keys, &je) ||
        ag_json_get_int(doc, "", "episodes", 10, 1, 10000, &episodes, &je) ||
        ag_json_get_string(doc, "", "checkpoint", AG_RUN_CKPT_LAST, ckpt, sizeof(ckpt), &je) ||
        ag_json_get_bool(doc, "", "deterministic", 1, &det, &je) ||
        ag_json_get_bool(doc, "", "record", 0, &record, &je)) {
        rc = api_spec_fail(e, &je, "");
        goto out;
    }
    if (!api_file_name_ok(ckpt, ".ckpt")) {
        rc = api_fail(e, AG_ESPEC, "checkpoint", "checkpoint: a name like last.ckpt");
        goto out;
    }
    rc = store_exp_get_json(api->store, p->id, &parent, msg, sizeof(msg));
    if (rc) {
        rc = api_store_fail(e, rc, msg);
        goto out;
    }
    if (strcmp(json_string_value(json_object_get(parent, "kind")), "train") != 0) {
        rc = api_fail(e, AG_ESTATE, "id", "experiment %lld is a %s job, not a training run",
                      (long long)p->id, json_string_value(json_object_get(parent, "kind")));
        goto out;
    }
    /* what the job would find out only when it runs */
    if ((rc = api_checkpoint_check(json_string_value(json_object_get(parent, "run_dir")), p->id,
                                   ckpt, e)) != 0 ||
        (record &&
         (rc = record_check(api, json_string_value(json_object_get(parent, "task")), e)) != 0)) {
        goto out;
    }
    spec = json_pack("{s:s,s:s,s:I,s:b,s:b,s:I}", "task",
                     json_string_value(json_object_get(parent, "task")), "checkpoint", ckpt,
                     "episodes", (json_int_t)episodes, "deterministic", det, "record", record,
                     "parent", (json_int_t)p->id);
    snprintf(name, sizeof(name), "evaluation of %lld", (long long)p->id);
    rc = api_job_queue(api, parent, "evaluate", name, spec, resp, e);
out:
    json_decref(spec);
    json_decref(parent);
    json_decref(doc);
    return rc;
}

int api_job_queue(Api *api, const json_t *parent, const char *kind, const char *name,
                  const json_t *spec, ApiResponse *resp, ApiErr *e) {
    StoreExpNew n = {0};
    json_t *o = NULL;
    char msg[512], *spec_text = spec ? json_dumps(spec, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    int64_t id = 0;
    int rc;
    if (!spec_text) {
        return api_fail(e, AG_ENOMEM, NULL, "out of memory");
    }
    n.name = name;
    n.task = json_string_value(json_object_get(parent, "task"));
    n.spec_json = spec_text;
    n.kind = kind;
    n.parent_id = json_integer_value(json_object_get(parent, "id"));
    n.priority = (int)json_integer_value(json_object_get(parent, "priority"));
    n.ranks = 1;
    rc = store_exp_insert(api->store, &n, api->runs_root, &id, msg, sizeof(msg));
    if (rc == 0) {
        rc = api_exp_fetch(api, id, &o, msg, sizeof(msg));
    }
    free(spec_text);
    if (rc) {
        return api_store_fail(e, rc, msg);
    }
    api_resp_created(resp, id, o);
    return 0;
}

int api_h_evaluation_result(Api *api, const ApiRequest *req, const ApiParams *p, ApiResponse *resp,
                            ApiErr *e) {
    char dir[STORE_PATH_MAX], path[PATH_MAX];
    int rc = api_run_dir(api, p->id, dir, sizeof(dir), e);
    (void)req;
    if (rc) {
        return rc;
    }
    snprintf(path, sizeof(path), "%s/" AG_RUN_EVALUATION, dir);
    if (access(path, R_OK) != 0) {
        return api_fail(e, AG_ENOTFOUND, NULL, "experiment %lld has no evaluation result",
                        (long long)p->id);
    }
    resp->status = 200;
    resp->content_type = "application/json";
    resp->file_path = strdup(path);
    return resp->file_path ? 0 : api_fail(e, AG_ENOMEM, NULL, "out of memory");
}

/* a recording written by a `"record": true` evaluation job into its run directory */
static int evaluation_file(Api *api, const ApiParams *p, const char *file, const char *what,
                           const char *type, ApiResponse *resp, ApiErr *e) {
    char dir[STORE_PATH_MAX], path[PATH_MAX];
    int rc = api_run_dir(api, p->id, dir, sizeof(dir), e);
    if (rc) {
        return rc;
    }
    snprintf(path, sizeof(path), "%s/%s", dir, file);
    rc = api_resp_file(resp, path, type, p->id, file, e);
    if (rc == AG_ENOTFOUND) {
        return api_fail(
            e, AG_ENOTFOUND, NULL,
            "experiment %lld has no evaluation %s (only finished evaluation jobs queued "
            "with \"record\": true on a MuJoCo task have one)",
            (long long)p->id, what);
    }
    return rc;
}

int api_h_evaluation_video(Api *api, const ApiRequest *req, const ApiParams *p, ApiResponse *resp,
                           ApiErr *e) {
    (void)req;
    return evaluation_file(api, p, AG_RUN_EVAL_VIDEO, "video", "video/mp4", resp, e);
}

int api_h_evaluation_trajectory(Api *api, const ApiRequest *req, const ApiParams *p,
                                ApiResponse *resp, ApiErr *e) {
    (void)req;
    return evaluation_file(api, p, AG_RUN_EVAL_TRAJECTORY, "trajectory", "application/json", resp,
                           e);
}
