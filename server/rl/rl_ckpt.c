/* Trainer checkpoints: the resolved spec, the model and Adam (nn_ckpt), the normalisers, the
 * iteration, and one section per rank with its environments, RNG streams, recurrent states,
 * pending observations and running returns, so a resumed run continues bit-identically.
 * Rank 0 gathers the rank sections and writes the file atomically; on load it reads the file
 * and hands each rank its part. */
#include "rl_ppo_int.h"

#include "ag_error.h"
#include "ag_log.h"
#include "nn_ckpt.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RL_CKPT_MAGIC   0x41475452u /* "AGTR" */
#define RL_CKPT_VERSION 1u
#define RL_RANK_MAGIC   0x41475252u /* "AGRR" */

typedef struct RlCkptTrainer {
    uint32_t magic;
    uint32_t version;
    int64_t iteration;
    int64_t env_steps;
    int32_t nranks, envs, horizon, obs_size, state_size, action_dim;
    double best_eval;
    char task[AG_SPEC_TASK_MAX];
} RlCkptTrainer;

typedef struct RlCkptRank {
    uint32_t magic;
    uint32_t rank;
    uint64_t snapshot_size;
} RlCkptRank;

static size_t rl_rank_blob_size(const RlTrainer *t) {
    size_t E = (size_t)t->E;
    return sizeof(RlCkptRank) + 2 * sizeof(AgRng) + E * t->O * sizeof(float) +
           E * t->S * sizeof(float) + E * sizeof(double) + ((E + 7) & ~(size_t)7) +
           env_batch_snapshot_size(&t->envs);
}

static void rl_rank_blob_save(const RlTrainer *t, unsigned char *p) {
    size_t E = (size_t)t->E;
    RlCkptRank h = {.magic = RL_RANK_MAGIC,
                    .rank = (uint32_t)t->rank,
                    .snapshot_size = env_batch_snapshot_size(&t->envs)};
    memcpy(p, &h, sizeof h);
    p += sizeof h;
    memcpy(p, &t->rng_sample, sizeof(AgRng));
    p += sizeof(AgRng);
    memcpy(p, &t->rng_shuffle, sizeof(AgRng));
    p += sizeof(AgRng);
    memcpy(p, t->obs_raw, E * t->O * sizeof(float));
    p += E * t->O * sizeof(float);
    memcpy(p, t->state, E * t->S * sizeof(float));
    p += E * t->S * sizeof(float);
    memcpy(p, t->ret_run, E * sizeof(double));
    p += E * sizeof(double);
    memset(p, 0, (E + 7) & ~(size_t)7);
    memcpy(p, t->pending_reset, E);
    p += (E + 7) & ~(size_t)7;
    env_batch_snapshot_save(&t->envs, p);
}

static int rl_rank_blob_load(RlTrainer *t, const unsigned char *p, size_t size) {
    size_t E = (size_t)t->E;
    RlCkptRank h;
    if (size != rl_rank_blob_size(t)) {
        return AG_EMISMATCH;
    }
    memcpy(&h, p, sizeof h);
    if (h.magic != RL_RANK_MAGIC || h.snapshot_size != env_batch_snapshot_size(&t->envs)) {
        return AG_EMISMATCH;
    }
    p += sizeof h;
    memcpy(&t->rng_sample, p, sizeof(AgRng));
    p += sizeof(AgRng);
    memcpy(&t->rng_shuffle, p, sizeof(AgRng));
    p += sizeof(AgRng);
    memcpy(t->obs_raw, p, E * t->O * sizeof(float));
    p += E * t->O * sizeof(float);
    memcpy(t->state, p, E * t->S * sizeof(float));
    p += E * t->S * sizeof(float);
    memcpy(t->ret_run, p, E * sizeof(double));
    p += E * sizeof(double);
    memcpy(t->pending_reset, p, E);
    p += (E + 7) & ~(size_t)7;
    return env_batch_snapshot_load(&t->envs, p, h.snapshot_size);
}

static void rl_trainer_header(const RlTrainer *t, RlCkptTrainer *h) {
    memset(h, 0, sizeof *h);
    h->magic = RL_CKPT_MAGIC;
    h->version = RL_CKPT_VERSION;
    h->iteration = t->iteration;
    h->env_steps = t->env_steps;
    h->nranks = t->nranks;
    h->envs = t->E;
    h->horizon = t->H;
    h->obs_size = t->O;
    h->state_size = t->S;
    h->action_dim = t->A;
    h->best_eval = t->best_eval;
    snprintf(h->task, sizeof h->task, "%s", t->spec.task);
}

int rl_trainer_save(RlTrainer *t, const char *path, char *err, size_t err_sz) {
    int rc = 0;
    size_t blob = rl_rank_blob_size(t);
    unsigned char *mine = malloc(blob);
    unsigned char *all = NULL;
    NnCkptSection *sec = NULL;
    char *desc = NULL, *spec_text = NULL;
    char(*names)[NN_CKPT_SECTION_NAME_MAX] = NULL;
    double *obs_packed = NULL, ret_packed[3];
    int local_fail = mine ? 0 : 1;

    /* every rank must hold the same blob size for the gather */
    unsigned long long mx = blob, mn = blob;
    MPI_Allreduce(MPI_IN_PLACE, &mx, 1, MPI_UNSIGNED_LONG_LONG, MPI_MAX, t->comm);
    MPI_Allreduce(MPI_IN_PLACE, &mn, 1, MPI_UNSIGNED_LONG_LONG, MPI_MIN, t->comm);
    MPI_Allreduce(MPI_IN_PLACE, &local_fail, 1, MPI_INT, MPI_MAX, t->comm);
    if (local_fail || mx != mn) {
        rc = ag_errorf(err, err_sz, local_fail ? AG_ENOMEM : AG_EINVAL,
                       "checkpoint: rank states differ in size or memory ran out");
        goto out;
    }
    rl_rank_blob_save(t, mine);
    if (t->rank == 0) {
        all = malloc(blob * (size_t)t->nranks);
        local_fail = all ? 0 : 1;
    }
    MPI_Bcast(&local_fail, 1, MPI_INT, 0, t->comm);
    if (local_fail) {
        rc = ag_errorf(err, err_sz, AG_ENOMEM, "checkpoint: out of memory");
        goto out;
    }
    if (MPI_Gather(mine, (int)blob, MPI_BYTE, all, (int)blob, MPI_BYTE, 0, t->comm) !=
        MPI_SUCCESS) {
        rc = ag_errorf(err, err_sz, AG_EMPI, "checkpoint: gather of rank states failed");
        goto out;
    }
    if (t->rank == 0) {
        int cap = 12 + t->nranks, n = 0;
        sec = calloc((size_t)cap, sizeof *sec);
        names = calloc((size_t)t->nranks, sizeof *names);
        obs_packed = malloc(rl_stat_packed_len(&t->obs_stat) * sizeof(double));
        json_t *sj = ag_spec_to_json(&t->spec);
        /* the model as built, not the preset name it came from: a checkpoint must still load
         * when a preset's sizes change */
        if (sj) {
            json_object_set_new(sj, "model", nn_model_describe(t->model));
        }
        spec_text = sj ? json_dumps(sj, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
        json_decref(sj);
        if (!sec || !names || !obs_packed || !spec_text) {
            rc = ag_errorf(err, err_sz, AG_ENOMEM, "checkpoint: out of memory");
            goto write_done;
        }
        RlCkptTrainer h;
        rl_trainer_header(t, &h);
        rl_stat_pack(&t->obs_stat, obs_packed);
        rl_stat_pack(&t->ret_stat, ret_packed);
        sec[n++] = (NnCkptSection){.name = "spec", .data = spec_text, .size = strlen(spec_text)};
        sec[n++] = (NnCkptSection){.name = "trainer", .data = &h, .size = sizeof h};
        sec[n++] = (NnCkptSection){.name = "obs_stat",
                                   .data = obs_packed,
                                   .size = rl_stat_packed_len(&t->obs_stat) * sizeof(double)};
        sec[n++] =
            (NnCkptSection){.name = "ret_stat", .data = ret_packed, .size = sizeof ret_packed};
        rc = nn_ckpt_model_sections(t->model, &t->adam, sec, &n, &desc);
        if (rc) {
            ag_errorf(err, err_sz, rc, "checkpoint: model sections: %s", ag_error_message(rc));
            goto write_done;
        }
        for (int r = 0; r < t->nranks; r++) {
            snprintf(names[r], sizeof names[r], "rank%d", r);
            memcpy(sec[n].name, names[r], sizeof names[r]);
            sec[n].data = all + (size_t)r * blob;
            sec[n].size = blob;
            n++;
        }
        rc = nn_ckpt_write(path, sec, n, err, err_sz);
    write_done:;
    }
    /* everyone learns how the write went */
    MPI_Bcast(&rc, 1, MPI_INT, 0, t->comm);
    if (rc && t->rank != 0) {
        ag_errorf(err, err_sz, rc, "checkpoint: rank 0 could not write %s", path);
    }
out:
    free(mine);
    free(all);
    free(sec);
    free(names);
    free(obs_packed);
    free(desc);
    free(spec_text);
    return rc;
}

/* checks the trainer header of a checkpoint against this trainer; a warm start (same_task 0)
 * may come from another task whose observations and actions have this one's sizes */
static int rl_ckpt_check(const RlTrainer *t, const NnCkpt *ck, RlCkptTrainer *h, int need_ranks,
                         int same_task, const char *path, char *err, size_t err_sz) {
    uint64_t size = 0;
    const void *p = nn_ckpt_section(ck, "trainer", &size);
    if (!p || size != sizeof *h) {
        return ag_errorf(err, err_sz, AG_EFORMAT,
                         "%s: not a training checkpoint (no trainer "
                         "section)",
                         path);
    }
    memcpy(h, p, sizeof *h);
    h->task[sizeof h->task - 1] = '\0';
    if (h->magic != RL_CKPT_MAGIC || h->version != RL_CKPT_VERSION) {
        return ag_errorf(err, err_sz, AG_EVERSION, "%s: trainer section of another version", path);
    }
    if (!same_task && (h->obs_size != t->O || h->action_dim != t->A)) {
        return ag_errorf(err, err_sz, AG_EMISMATCH,
                         "%s: made for task %s (observation size %d, action size %d), this "
                         "run's task %s has %d and %d",
                         path, h->task, h->obs_size, h->action_dim, t->spec.task, t->O, t->A);
    }
    if (same_task &&
        (strcmp(h->task, t->spec.task) != 0 || h->obs_size != t->O || h->action_dim != t->A)) {
        return ag_errorf(err, err_sz, AG_EMISMATCH, "%s: made for task %s, this run is %s", path,
                         h->task, t->spec.task);
    }
    if (need_ranks && (h->nranks != t->nranks || h->envs != t->E || h->horizon != t->H ||
                       h->state_size != t->S)) {
        return ag_errorf(err, err_sz, AG_EMISMATCH,
                         "%s: made with %d ranks x %d envs x %d steps, this run has %d x %d x %d",
                         path, h->nranks, h->envs, h->horizon, t->nranks, t->E, t->H);
    }
    const void *os = nn_ckpt_section(ck, "obs_stat", &size);
    if (!os || size != rl_stat_packed_len(&t->obs_stat) * sizeof(double)) {
        return ag_errorf(err, err_sz, AG_EFORMAT, "%s: observation statistics missing", path);
    }
    return 0;
}

int rl_trainer_load(RlTrainer *t, const char *path, char *err, size_t err_sz) {
    int rc = 0;
    size_t blob = rl_rank_blob_size(t);
    unsigned char *all = NULL, *mine = malloc(blob);
    NnCkpt *ck = NULL;
    RlCkptTrainer h;
    size_t olen = rl_stat_packed_len(&t->obs_stat);
    double *stats = calloc(olen + 3, sizeof(double));
    memset(&h, 0, sizeof h);
    if (t->rank == 0) {
        if (!mine || !stats) {
            rc = ag_errorf(err, err_sz, AG_ENOMEM, "checkpoint: out of memory");
            goto bcast;
        }
        ck = nn_ckpt_read(path, err, err_sz);
        if (!ck) {
            rc = AG_EIO;
            goto bcast;
        }
        rc = rl_ckpt_check(t, ck, &h, 1, 1, path, err, err_sz);
        if (rc) {
            goto bcast;
        }
        rc = nn_ckpt_model_load(ck, t->model, &t->adam, err, err_sz);
        if (rc) {
            goto bcast;
        }
        uint64_t size;
        memcpy(stats, nn_ckpt_section(ck, "obs_stat", &size), olen * sizeof(double));
        const void *rs = nn_ckpt_section(ck, "ret_stat", &size);
        if (!rs || size != 3 * sizeof(double)) {
            rc = ag_errorf(err, err_sz, AG_EFORMAT, "%s: return statistics missing", path);
            goto bcast;
        }
        memcpy(stats + olen, rs, 3 * sizeof(double));
        all = malloc(blob * (size_t)t->nranks);
        if (!all) {
            rc = ag_errorf(err, err_sz, AG_ENOMEM, "checkpoint: out of memory");
            goto bcast;
        }
        for (int r = 0; r < t->nranks; r++) {
            char name[NN_CKPT_SECTION_NAME_MAX];
            snprintf(name, sizeof name, "rank%d", r);
            const void *b = nn_ckpt_section(ck, name, &size);
            if (!b || size != blob) {
                rc = ag_errorf(err, err_sz, AG_EMISMATCH,
                               "%s: section %s missing or of another "
                               "size (other task options?)",
                               path, name);
                goto bcast;
            }
            memcpy(all + (size_t)r * blob, b, blob);
        }
    }
bcast:
    MPI_Bcast(&rc, 1, MPI_INT, 0, t->comm);
    if (rc) {
        if (t->rank != 0) {
            ag_errorf(err, err_sz, rc, "rank 0 could not load checkpoint %s", path);
        }
        goto out;
    }
    rc = rl_trainer_bcast_params(t);
    if (rc == 0 && MPI_Bcast(&h, (int)sizeof h, MPI_BYTE, 0, t->comm) != MPI_SUCCESS) {
        rc = AG_EMPI;
    }
    if (rc == 0 && MPI_Bcast(stats, (int)(olen + 3), MPI_DOUBLE, 0, t->comm) != MPI_SUCCESS) {
        rc = AG_EMPI;
    }
    if (rc == 0 && MPI_Scatter(all, (int)blob, MPI_BYTE, mine, (int)blob, MPI_BYTE, 0, t->comm) !=
                       MPI_SUCCESS) {
        rc = AG_EMPI;
    }
    if (rc) {
        ag_errorf(err, err_sz, rc, "checkpoint: distributing the state failed");
        goto out;
    }
    rc = rl_rank_blob_load(t, mine, blob);
    if (rc) {
        ag_errorf(err, err_sz, rc, "%s: rank %d state does not fit this run", path, t->rank);
    }
    MPI_Allreduce(MPI_IN_PLACE, &rc, 1, MPI_INT, MPI_MIN, t->comm);
    if (rc) {
        goto out;
    }
    rl_stat_unpack(&t->obs_stat, stats);
    rl_stat_copy(&t->obs_synced, &t->obs_stat);
    rl_stat_clear(&t->obs_delta);
    rl_stat_unpack(&t->ret_stat, stats + olen);
    rl_stat_copy(&t->ret_synced, &t->ret_stat);
    rl_stat_clear(&t->ret_delta);
    t->iteration = h.iteration;
    t->env_steps = h.env_steps;
    t->best_eval = h.best_eval;
out:
    nn_ckpt_free(ck);
    free(all);
    free(mine);
    free(stats);
    return rc;
}

int rl_trainer_load_policy(RlTrainer *t, const char *path, char *err, size_t err_sz) {
    RlCkptTrainer h;
    NnCkpt *ck = nn_ckpt_read(path, err, err_sz);
    if (!ck) {
        return AG_EIO;
    }
    int rc = rl_ckpt_check(t, ck, &h, 0, 1, path, err, err_sz);
    if (rc == 0) {
        rc = nn_ckpt_model_load(ck, t->model, NULL, err, err_sz);
    }
    if (rc == 0) {
        uint64_t size;
        rl_stat_unpack(&t->obs_stat, nn_ckpt_section(ck, "obs_stat", &size));
        rl_stat_copy(&t->obs_synced, &t->obs_stat);
        rl_stat_clear(&t->obs_delta);
        t->iteration = h.iteration;
        t->env_steps = h.env_steps;
        t->best_eval = h.best_eval;
    }
    nn_ckpt_free(ck);
    return rc;
}

int rl_trainer_init_read(RlTrainer *t, double *stats, char *err, size_t err_sz) {
    const char *path = t->spec.init.checkpoint;
    RlCkptTrainer h;
    uint64_t size = 0;
    size_t olen = rl_stat_packed_len(&t->obs_stat);
    NnCkpt *ck = nn_ckpt_read(path, err, err_sz);
    if (!ck) {
        return AG_EIO;
    }
    int rc = rl_ckpt_check(t, ck, &h, 0, 0, path, err, err_sz);
    if (rc == 0) {
        rc = nn_ckpt_model_load(ck, t->model, NULL, err, err_sz);
        if (rc) {
            /* "checkpoint was made for another model" names no file */
            char why[512];
            snprintf(why, sizeof why, "%s", err);
            ag_errorf(err, err_sz, rc, "%s: %s", path, why);
        }
    }
    const void *rs = rc ? NULL : nn_ckpt_section(ck, "ret_stat", &size);
    if (rc == 0 && (!rs || size != 3 * sizeof(double))) {
        rc = ag_errorf(err, err_sz, AG_EFORMAT, "%s: return statistics missing", path);
    }
    if (rc == 0) {
        memcpy(stats, nn_ckpt_section(ck, "obs_stat", &size), olen * sizeof(double));
        memcpy(stats + olen, rs, 3 * sizeof(double));
    }
    nn_ckpt_free(ck);
    return rc;
}

int rl_trainer_init_from(RlTrainer *t, const char *sha256, char *err, size_t err_sz) {
    size_t olen = rl_stat_packed_len(&t->obs_stat);
    double *stats = calloc(olen + 3, sizeof(double));
    int rc = stats ? 0 : AG_ENOMEM;
    if (t->rank == 0 && rc == 0) {
        rc = rl_trainer_init_read(t, stats, err, err_sz);
    }
    /* a rank that ran out of memory, or rank 0's verdict on the file */
    MPI_Allreduce(MPI_IN_PLACE, &rc, 1, MPI_INT, MPI_MIN, t->comm);
    if (rc) {
        if (t->rank != 0) {
            ag_errorf(err, err_sz, rc, "rank 0 could not start from %s", t->spec.init.checkpoint);
        }
        free(stats);
        return rc;
    }
    rc = rl_trainer_bcast_params(t);
    if (rc == 0 && MPI_Bcast(stats, (int)(olen + 3), MPI_DOUBLE, 0, t->comm) != MPI_SUCCESS) {
        rc = AG_EMPI;
    }
    if (rc) {
        free(stats);
        return ag_errorf(err, err_sz, rc, "init: distributing the weights failed");
    }
    rl_stat_unpack(&t->obs_stat, stats);
    rl_stat_copy(&t->obs_synced, &t->obs_stat);
    rl_stat_clear(&t->obs_delta);
    rl_stat_unpack(&t->ret_stat, stats + olen);
    rl_stat_copy(&t->ret_synced, &t->ret_stat);
    rl_stat_clear(&t->ret_delta);
    if (sha256) {
        rl_trainer_record_init_sha256(t, sha256);
    }
    free(stats);
    return 0;
}

void rl_trainer_record_init_sha256(RlTrainer *t, const char *sha256) {
    snprintf(t->spec.init.sha256, sizeof t->spec.init.sha256, "%s", sha256 ? sha256 : "");
}

int rl_ckpt_read_spec(const char *path, AgSpec *spec, char *err, size_t err_sz) {
    memset(spec, 0, sizeof *spec);
    NnCkpt *ck = nn_ckpt_read(path, err, err_sz);
    if (!ck) {
        return AG_EIO;
    }
    uint64_t size = 0;
    const char *text = nn_ckpt_section(ck, "spec", &size);
    int rc = 0;
    if (!text) {
        rc = ag_errorf(err, err_sz, AG_EFORMAT, "%s: not a training checkpoint (no spec section)",
                       path);
    } else {
        AgJsonErr je;
        rc = ag_spec_parse_text(text, (size_t)size, spec, &je);
        if (rc) {
            char msg[512];
            ag_json_err_format(&je, msg, sizeof msg);
            ag_errorf(err, err_sz, rc, "%s: stored spec: %s", path, msg);
        }
    }
    nn_ckpt_free(ck);
    return rc;
}
