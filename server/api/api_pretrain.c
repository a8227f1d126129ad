/* The pretrain route of the REST API: queueing a vision pretraining job (angora-train --pretrain,
 * docs/training.md "Vision pretraining"), refused at once, with the JSON path, when it cannot
 * run; and what a pretrain job's answer adds, the path of the encoder checkpoint it produces.
 *
 * DESIGN
 * - The body is a pretraining spec, bare (priority from ?priority=) or wrapped as {"spec",
 *   "name", "priority"}, the way POST /experiments takes an experiment spec.
 * - The spec is read by the same code as the trainer's (common/ag_pretrain.h): every key, type
 *   and range is checked here. The dataset must be an absolute path (the job runs in its run
 *   directory) to a readable HDF5 file. Then the trainer checks what needs the engine
 *   (`angora-train --pretrain-check`: the dataset's variables and size, the model built for
 *   its images), and its refusal is answered with its path. A trainer that gives no verdict
 *   leaves the job to fail at once with the trainer's message when it runs.
 * - The stored spec is complete (defaults filled in), so a reader sees exactly what runs. */
#include "api_int.h"

#include "ag_error.h"
#include "ag_pretrain.h"
#include "ag_rundir.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define PRETRAIN_PRIORITY_MAX 1000
#define PRETRAIN_NAME_MAX     128
#define PRETRAIN_TASK         "pretrain"

/* an HDF5 file starts with this signature at byte 0 (or after a user block of 512, 1024, ...
 * bytes, which the dataset writer never adds) */
static const unsigned char hdf5_signature[8] = {0x89, 'H', 'D', 'F', '\r', '\n', 0x1a, '\n'};

/* the dataset of the spec: an absolute path to a readable HDF5 file, or AG_ESPEC at path */
static int dataset_check(const char *file, const char *path, ApiErr *e) {
    struct stat sb;
    unsigned char head[sizeof hdf5_signature];
    int fd, ok = 0;
    if (file[0] != '/') {
        return api_fail(e, AG_ESPEC, path,
                        "%s: must be an absolute path (the job runs in its own run directory), "
                        "got \"%.200s\"",
                        path, file);
    }
    if (stat(file, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        return api_fail(e, AG_ESPEC, path,
                        "%s: no dataset file %.300s on the daemon's machine (make one with "
                        "angora-train --pretrain-data)",
                        path, file);
    }
    fd = open(file, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        return api_fail(e, AG_ESPEC, path, "%s: the daemon cannot read %.300s", path, file);
    }
    for (off_t at = 0; !ok && at <= 4096 && at + (off_t)sizeof head <= sb.st_size;
         at = at ? at * 2 : 512) {
        ok = pread(fd, head, sizeof head, at) == (ssize_t)sizeof head &&
             memcmp(head, hdf5_signature, sizeof head) == 0;
    }
    close(fd);
    if (!ok) {
        return api_fail(e, AG_ESPEC, path,
                        "%s: %.300s is not an HDF5 file (a dataset of angora-train "
                        "--pretrain-data)",
                        path, file);
    }
    return 0;
}

/* a job name: 1 to PRETRAIN_NAME_MAX bytes, no control characters */
static int name_check(const char *name, ApiErr *e) {
    size_t n = strlen(name);
    if (n == 0 || n > PRETRAIN_NAME_MAX) {
        return api_fail(e, AG_ESPEC, "name", "name: 1 to %d bytes, got %zu", PRETRAIN_NAME_MAX, n);
    }
    for (size_t i = 0; i < n; i++) {
        if ((unsigned char)name[i] < 0x20 || name[i] == 0x7f) {
            return api_fail(e, AG_ESPEC, "name", "name: must not contain control characters");
        }
    }
    return 0;
}

typedef struct PretrainSubmission {
    char name[PRETRAIN_NAME_MAX + 1];
    long long priority;
    json_t *spec; /* complete, defaults filled in */
} PretrainSubmission;

static int pretrain_parse(Api *api, const ApiRequest *req, PretrainSubmission *sub, ApiErr *e) {
    static const char *const wrapper_keys[] = {"spec", "name", "priority", NULL};
    json_t *doc = NULL;
    const json_t *spec_doc;
    const char *prefix = "";
    AgJsonErr je = {0};
    AgPretrainSpec ps;
    char data_path[AG_JSON_PATH_MAX];
    int rc = api_body_json(req, &doc, e);
    memset(sub, 0, sizeof *sub);
    if (rc) {
        return rc;
    }
    if (!json_is_object(doc)) {
        rc = api_fail(e, AG_ESPEC, NULL, "the body must be a JSON object (a pretraining spec)");
        goto out;
    }
    spec_doc = doc;
    if (json_object_get(doc, "spec")) {
        if (ag_json_check_keys(doc, "", wrapper_keys, &je) ||
            ag_json_get_int(doc, "", "priority", 0, -PRETRAIN_PRIORITY_MAX, PRETRAIN_PRIORITY_MAX,
                            &sub->priority, &je) ||
            ag_json_get_string(doc, "", "name", "", sub->name, sizeof sub->name, &je) ||
            ag_json_expect_object(json_object_get(doc, "spec"), "spec", &je)) {
            rc = api_spec_fail(e, &je, "");
            goto out;
        }
        if (json_is_string(json_object_get(doc, "name"))) {
            if ((rc = name_check(sub->name, e)) != 0) {
                goto out;
            }
        }
        spec_doc = json_object_get(doc, "spec");
        prefix = "spec";
    } else if ((rc = api_arg_int(req, "priority", 0, -PRETRAIN_PRIORITY_MAX, PRETRAIN_PRIORITY_MAX,
                                 &sub->priority, e)) != 0) {
        goto out;
    }
    if (ag_pretrain_spec_read(spec_doc, &ps, &je)) {
        rc = api_spec_fail(e, &je, prefix);
        goto out;
    }
    ag_json_path_key(data_path, sizeof data_path, prefix, "data");
    if ((rc = dataset_check(ps.data, data_path, e)) != 0) {
        goto out;
    }
    if (!sub->name[0]) {
        const char *base = strrchr(ps.data, '/');
        snprintf(sub->name, sizeof sub->name, "pretrain on %.100s", base ? base + 1 : ps.data);
    }
    sub->spec = ag_pretrain_spec_to_json(&ps);
    if (!sub->spec) {
        rc = api_fail(e, AG_ENOMEM, NULL, "out of memory");
        goto out;
    }
    /* what only the engine can tell: the dataset's contents, the model for its image size */
    {
        char *text = json_dumps(sub->spec, JSON_COMPACT | JSON_SORT_KEYS);
        rc = text ? api_check_pretrain(api, text, prefix, e)
                  : api_fail(e, AG_ENOMEM, NULL, "out of memory");
        free(text);
    }
    if (rc) {
        json_decref(sub->spec);
        sub->spec = NULL;
    }
out:
    json_decref(doc);
    return rc;
}

int api_h_pretrain_submit(Api *api, const ApiRequest *req, const ApiParams *p, ApiResponse *resp,
                          ApiErr *e) {
    PretrainSubmission sub;
    StoreExpNew n = {0};
    int64_t id = 0;
    char msg[512], *spec_text = NULL;
    json_t *o = NULL;
    int rc = pretrain_parse(api, req, &sub, e);
    (void)p;
    if (rc) {
        return rc;
    }
    spec_text = json_dumps(sub.spec, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(sub.spec);
    if (!spec_text) {
        return api_fail(e, AG_ENOMEM, NULL, "out of memory");
    }
    n.name = sub.name;
    n.task = PRETRAIN_TASK;
    n.spec_json = spec_text;
    n.kind = "pretrain";
    n.priority = (int)sub.priority;
    n.ranks = 1;
    n.executor = "local";
    rc = store_exp_insert(api->store, &n, api->runs_root, &id, msg, sizeof(msg));
    free(spec_text);
    if (rc) {
        return api_store_fail(e, rc, msg);
    }
    store_event_add(api->store, id, "submitted", NULL);
    if (api->state_hook) {
        api->state_hook(api->state_hook_ctx, id, "queued", NULL);
    }
    rc = api_exp_fetch(api, id, &o, msg, sizeof(msg));
    if (rc) {
        return api_store_fail(e, rc, msg);
    }
    api_resp_created(resp, id, o);
    return 0;
}

void api_pretrain_fields_add(json_t *exp) {
    const char *kind = json_string_value(json_object_get(exp, "kind"));
    const char *run_dir = json_string_value(json_object_get(exp, "run_dir"));
    char path[PATH_MAX];
    if (!kind || strcmp(kind, "pretrain") != 0 || !run_dir) {
        return;
    }
    /* the checkpoint of the lowest held-out loss, there from the first epoch on */
    snprintf(path, sizeof path, "%s/" AG_RUN_CHECKPOINTS "/" AG_RUN_CKPT_BEST, run_dir);
    json_object_set_new(exp, "encoder_checkpoint", json_string(path));
}
