/* Checkpoints of a pretraining run (train_pretrain_int.h): what they hold besides the model, and
 * the resume that reads them back.
 *
 * DESIGN
 * - Sections besides the model's: "pretrain" (JSON, for a model that loads the encoder),
 *   "pretrain.run" (JSON: the spec as read but time_limit_s, the dataset's image count, image
 *   size, task and the CRC-32 of its labels), "pretrain.state" (the progress, little-endian
 *   fixed-width fields after a version, so that every double comes back to the bit, infinities
 *   and NaNs included) and "pretrain.order" (int32 per training image).
 * - A resume refuses a checkpoint of another spec or dataset rather than train on with a mix:
 *   the message names the first key that differs. */
#include "train_pretrain_int.h"

#include "ag_error.h"
#include "ag_fs.h"
#include "ag_rundir.h"
#include "nn_ckpt.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define SECTION_RUN   "pretrain.run"
#define SECTION_STATE "pretrain.state"
#define SECTION_ORDER "pretrain.order"
#define STATE_VERSION 1u
#define STATE_FIELDS  26 /* 8-byte fields after the version */

/* ---- the progress as bytes ---- */

static void put_u64(unsigned char *b, uint64_t v) {
    for (int i = 0; i < 8; i++) {
        b[i] = (unsigned char)(v >> (8 * i));
    }
}

static uint64_t get_u64(const unsigned char *b) {
    uint64_t v = 0;
    for (int i = 0; i < 8; i++) {
        v |= (uint64_t)b[i] << (8 * i);
    }
    return v;
}

static uint64_t bits_of(double x) {
    uint64_t v;
    memcpy(&v, &x, sizeof v);
    return v;
}

static double double_of(uint64_t v) {
    double x;
    memcpy(&x, &v, sizeof x);
    return x;
}

/* the fields in their order; encode and decode walk the same list */
typedef struct StateField {
    int is_double;
    void *at;
} StateField;

static int state_fields(PretrainProgress *g, StateField *f) {
    int n = 0;
    f[n++] = (StateField){0, &g->epoch};
    f[n++] = (StateField){0, &g->batch};
    for (int i = 0; i < 4; i++) {
        f[n++] = (StateField){0, &g->rng.s[i]};
    }
    f[n++] = (StateField){1, &g->rng.spare_normal};
    f[n++] = (StateField){1, &g->best};
    f[n++] = (StateField){1, &g->wall_s};
    f[n++] = (StateField){1, &g->sum.loss};
    f[n++] = (StateField){1, &g->sum.position_mse};
    f[n++] = (StateField){1, &g->sum.rotation};
    f[n++] = (StateField){1, &g->grad_norm_sum};
    f[n++] = (StateField){0, &g->steps};
    f[n++] = (StateField){0, &g->bad_steps};
    f[n++] = (StateField){1, &g->lr};
    f[n++] = (StateField){1, &g->last.loss};
    f[n++] = (StateField){1, &g->last.position_rmse_mm};
    f[n++] = (StateField){1, &g->last.rotation_median_deg};
    f[n++] = (StateField){1, &g->last.rotation_mean_deg};
    return n; /* has_spare travels apart: it is an int */
}

static void state_encode(const PretrainProgress *prog, unsigned char *b) {
    PretrainProgress g = *prog;
    StateField f[STATE_FIELDS];
    int n = state_fields(&g, f);
    put_u64(b, STATE_VERSION);
    for (int i = 0; i < n; i++) {
        put_u64(b + 8 * (i + 1),
                f[i].is_double ? bits_of(*(double *)f[i].at) : *(uint64_t *)f[i].at);
    }
    put_u64(b + 8 * (n + 1), (uint64_t)g.rng.has_spare);
    for (int i = n + 2; i <= STATE_FIELDS; i++) {
        put_u64(b + 8 * i, 0);
    }
}

static int state_decode(PretrainProgress *prog, const unsigned char *b) {
    StateField f[STATE_FIELDS];
    int n = state_fields(prog, f);
    if (get_u64(b) != STATE_VERSION) {
        return -1;
    }
    for (int i = 0; i < n; i++) {
        uint64_t v = get_u64(b + 8 * (i + 1));
        if (f[i].is_double) {
            *(double *)f[i].at = double_of(v);
        } else {
            *(uint64_t *)f[i].at = v;
        }
    }
    prog->rng.has_spare = (int)get_u64(b + 8 * (n + 1));
    return 0;
}

/* ---- the sections ---- */

/* what a model loading this encoder must agree with, and the held-out figures of the last
 * scored epoch (none before the first) */
static char *section_encoder_text(const Pretrain *p) {
    json_t *o =
        json_pack("{s:s, s:s, s:s, s:i, s:[f,f,f], s:f, s:I}", "kind", "vision-encoder", "input",
                  TRAIN_PRETRAIN_INPUT, "task", p->data.task, "image_size", p->data.size,
                  "position_mean", p->mean[0], p->mean[1], p->mean[2], "position_scale",
                  p->spec.given.position_scale, "epoch", (json_int_t)p->prog.epoch);
    if (o && p->prog.epoch > 0) {
        json_object_set_new(o, "holdout_position_rmse_mm",
                            json_real(p->prog.last.position_rmse_mm));
        json_object_set_new(o, "holdout_rotation_median_deg",
                            json_real(p->prog.last.rotation_median_deg));
    }
    char *text = o ? json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    json_decref(o);
    return text;
}

/* the run's identity: what a resume must find unchanged */
static json_t *run_identity(const Pretrain *p) {
    json_t *spec = ag_pretrain_spec_to_json(&p->spec.given);
    if (!spec) {
        return NULL;
    }
    /* the one key a resumed run may change: how long this part of it may take */
    json_object_del(spec, "time_limit_s");
    uint32_t crc = nn_crc32(0, p->data.labels, sizeof(float) * (size_t)(p->data.n * NN_POSE_DIM));
    json_t *id = json_pack("{s:o, s:I, s:i, s:s, s:I}", "spec", spec, "images",
                           (json_int_t)p->data.n, "image_size", p->data.size, "task", p->data.task,
                           "labels_crc32", (json_int_t)crc);
    /* the same scenes through another camera have the same labels; absent when not recorded,
     * as in checkpoints from before cameras were */
    if (id && p->data.view[0]) {
        json_object_set_new(id, "view", json_string(p->data.view));
    }
    return id;
}

int pretrain_checkpoint(const Pretrain *p, const char *name, char *err, size_t err_sz) {
    NnCkptSection sections[10];
    int n = 0;
    unsigned char state[8 * (STATE_FIELDS + 1)];
    char *desc = NULL, *own = section_encoder_text(p), *run_text = NULL;
    json_t *run = run_identity(p);
    char path[TRAIN_PATH_MAX], rel[64];
    run_text = run ? json_dumps(run, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    json_decref(run);
    snprintf(rel, sizeof rel, "%s/%s", AG_RUN_CHECKPOINTS, name);
    int rc = own && run_text ? train_path(path, sizeof path, p->dir, rel) : AG_ENOMEM;
    if (rc == 0) {
        rc = nn_ckpt_model_sections(p->model, &p->adam, sections, &n, &desc);
    }
    if (rc != 0) {
        ag_errorf(err, err_sz, rc, "cannot build the checkpoint %s", name);
        goto out;
    }
    state_encode(&p->prog, state);
    const struct {
        const char *name;
        const void *data;
        size_t size;
    } mine[] = {
        {TRAIN_PRETRAIN_SECTION, own, strlen(own)},
        {SECTION_RUN, run_text, strlen(run_text)},
        {SECTION_STATE, state, sizeof state},
        {SECTION_ORDER, p->order, sizeof(int) * (size_t)p->n_train},
    };
    for (size_t i = 0; i < sizeof mine / sizeof mine[0]; i++, n++) {
        memset(&sections[n], 0, sizeof sections[n]);
        snprintf(sections[n].name, sizeof sections[n].name, "%s", mine[i].name);
        sections[n].data = mine[i].data;
        sections[n].size = mine[i].size;
    }
    rc = nn_ckpt_write(path, sections, n, err, err_sz);
out:
    free(desc);
    free(own);
    free(run_text);
    return rc;
}

/* ---- the resume ---- */

/* the first difference between the run the checkpoint was made for and this one */
static int identity_compare(const json_t *saved, const json_t *mine, const char *file, char *path,
                            size_t path_sz, char *err, size_t err_sz) {
    const json_t *ss = json_object_get(saved, "spec"), *ms = json_object_get(mine, "spec");
    const char *key;
    const json_t *mv;
    json_object_foreach((json_t *)ms, key, mv) {
        const json_t *sv = json_object_get(ss, key);
        /* checkpoints from before the choice of rotation form predicted quaternions */
        if (!sv && !strcmp(key, "rotation") && !strcmp(json_string_value(mv), "quaternion")) {
            continue;
        }
        if (!sv || !json_equal(sv, mv)) {
            char *a = sv ? json_dumps(sv, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
            char *b = json_dumps(mv, JSON_COMPACT | JSON_ENCODE_ANY);
            snprintf(path, path_sz, "%s", key);
            ag_errorf(err, err_sz, AG_ESPEC,
                      "%s: the checkpoint was made with another spec: %s is %.200s there, %.200s "
                      "here (a resume takes the spec it started with; only time_limit_s may "
                      "change)",
                      file, key, a ? a : "absent", b ? b : "?");
            free(a);
            free(b);
            return AG_ESPEC;
        }
    }
    static const char *const data_keys[] = {"images", "image_size", "task", "labels_crc32", "view"};
    for (size_t i = 0; i < sizeof data_keys / sizeof data_keys[0]; i++) {
        const json_t *sv = json_object_get(saved, data_keys[i]);
        const json_t *mine_v = json_object_get(mine, data_keys[i]);
        if (sv != mine_v && (!sv || !json_equal(sv, mine_v))) {
            snprintf(path, path_sz, "data");
            return ag_errorf(err, err_sz, AG_ESPEC,
                             "%s: the checkpoint was made on another dataset (%lld images of "
                             "%lldx%lld there, %lld of %lldx%lld here%s)",
                             file, (long long)json_integer_value(json_object_get(saved, "images")),
                             (long long)json_integer_value(json_object_get(saved, "image_size")),
                             (long long)json_integer_value(json_object_get(saved, "image_size")),
                             (long long)json_integer_value(json_object_get(mine, "images")),
                             (long long)json_integer_value(json_object_get(mine, "image_size")),
                             (long long)json_integer_value(json_object_get(mine, "image_size")),
                             !strcmp(data_keys[i], "labels_crc32") ? ", other labels"
                             : !strcmp(data_keys[i], "view")       ? ", another camera"
                                                                   : "");
        }
    }
    return 0;
}

int pretrain_resume_load(Pretrain *p, char *path, size_t path_sz, char *err, size_t err_sz) {
    char file[TRAIN_PATH_MAX];
    NnCkpt *ck = NULL;
    json_t *saved = NULL, *mine = NULL;
    int rc = train_path(file, sizeof file, p->dir, AG_RUN_CHECKPOINTS "/" AG_RUN_CKPT_LAST);
    if (rc != 0) {
        return ag_errorf(err, err_sz, rc, "run directory name too long");
    }
    if (!ag_fs_exists(file)) {
        snprintf(path, path_sz, "%s", "");
        return ag_errorf(err, err_sz, AG_EINVAL,
                         "cannot resume: no checkpoint %s (a pretraining stopped before its first "
                         "minibatch has nothing to resume; start it again without --resume)",
                         file);
    }
    if ((rc = nn_ckpt_open(&ck, file, err, err_sz)) != 0) {
        goto out;
    }
    uint64_t run_sz = 0, state_sz = 0, order_sz = 0;
    const char *run_text = nn_ckpt_section(ck, SECTION_RUN, &run_sz);
    const unsigned char *state = nn_ckpt_section(ck, SECTION_STATE, &state_sz);
    const void *order = nn_ckpt_section(ck, SECTION_ORDER, &order_sz);
    if (!run_text || !state || !order) {
        rc = ag_errorf(err, err_sz, AG_EINVAL,
                       "cannot resume from %s: it holds no pretraining state (not a checkpoint of "
                       "angora-train --pretrain, or of a version before resumes)",
                       file);
        goto out;
    }
    saved = json_loadb(run_text, (size_t)run_sz, 0, NULL);
    mine = run_identity(p);
    if (!saved || !mine) {
        rc = ag_errorf(err, err_sz, saved ? AG_ENOMEM : AG_EFORMAT,
                       "cannot resume from %s: its run section is unreadable", file);
        goto out;
    }
    if ((rc = identity_compare(saved, mine, file, path, path_sz, err, err_sz)) != 0) {
        goto out;
    }
    PretrainProgress prog;
    memset(&prog, 0, sizeof prog);
    if (state_sz != 8 * (STATE_FIELDS + 1) || state_decode(&prog, state) != 0 ||
        order_sz != sizeof(int) * (size_t)p->n_train || prog.epoch < 0 ||
        prog.epoch > p->spec.given.epochs || prog.batch < 0 || prog.batch >= p->batches) {
        rc =
            ag_errorf(err, err_sz, AG_EFORMAT, "cannot resume from %s: its state is damaged", file);
        goto out;
    }
    if ((rc = nn_ckpt_model_load(ck, p->model, &p->adam, err, err_sz)) != 0) {
        snprintf(path, path_sz, "model");
        rc = AG_ESPEC;
        goto out;
    }
    memcpy(p->order, order, (size_t)order_sz);
    for (int64_t i = 0; i < p->n_train; i++) {
        if (p->order[i] < 0 || p->order[i] >= p->n_train) {
            rc = ag_errorf(err, err_sz, AG_EFORMAT, "cannot resume from %s: its order is damaged",
                           file);
            goto out;
        }
    }
    p->prog = prog;
out:
    /* a checkpoint that cannot serve will not serve on a retry either */
    if (rc != 0 && rc != AG_ESPEC && rc != AG_ENOMEM && rc != AG_EIO) {
        rc = AG_EINVAL;
    }
    json_decref(saved);
    json_decref(mine);
    nn_ckpt_free(ck);
    return rc;
}

int pretrain_checkpoint_read(const char *file, json_t **identity, double mean[3], char *err,
                             size_t err_sz) {
    NnCkpt *ck = NULL;
    json_t *own = NULL;
    *identity = NULL;
    int rc = nn_ckpt_open(&ck, file, err, err_sz);
    if (rc != 0) {
        return rc;
    }
    uint64_t run_sz = 0, own_sz = 0;
    const char *run_text = nn_ckpt_section(ck, SECTION_RUN, &run_sz);
    const char *own_text = nn_ckpt_section(ck, TRAIN_PRETRAIN_SECTION, &own_sz);
    *identity = run_text ? json_loadb(run_text, (size_t)run_sz, 0, NULL) : NULL;
    own = own_text ? json_loadb(own_text, (size_t)own_sz, 0, NULL) : NULL;
    const json_t *m = json_object_get(own, "position_mean");
    if (!json_is_object(json_object_get(*identity, "spec")) || json_array_size(m) != 3) {
        rc = ag_errorf(err, err_sz, AG_EINVAL,
                       "%s is not the checkpoint of a vision pretraining (angora-train --pretrain)",
                       file);
        json_decref(*identity);
        *identity = NULL;
    } else {
        for (int k = 0; k < 3; k++) {
            mean[k] = json_number_value(json_array_get(m, (size_t)k));
        }
    }
    json_decref(own);
    nn_ckpt_free(ck);
    return rc;
}
