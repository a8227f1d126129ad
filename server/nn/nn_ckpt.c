/* Checkpoint container and the model's sections in it.
 *
 * DESIGN: file layout, all integers little-endian:
 *   0   magic "ANGCKPT\0"                      8 bytes
 *   8   format version (NN_CKPT_VERSION)       u32
 *   12  number of sections                     u32
 *   16  total file size in bytes               u64
 *   24  section table: per section name[32], offset u64, size u64   (48 bytes each)
 *   ... section bytes, each starting on an 8-byte boundary
 *   end CRC-32 (IEEE) of every byte before it  u32
 * Reading checks, in this order: the magic (not a checkpoint), the version (other version), the
 * recorded size against the file's (truncated), the CRC (corrupted), then the table's bounds.
 * The model sections: "model" (JSON: description, io spec, parameter count), "params",
 * "adam.m", "adam.v", "adam.state" (step i64, beta1, beta2, eps f32). */
#include "nn_ckpt.h"

#include "ag_error.h"
#include "ag_fs.h"
#include "nn_model.h"
#include "nn_optim.h"

#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NN_CKPT_MAGIC      "ANGCKPT"
#define NN_CKPT_VERSION    1u
#define NN_CKPT_HEADER     24u
#define NN_CKPT_ENTRY      48u
#define NN_CKPT_MAX_SECT   1024u
#define NN_CKPT_MAX_BYTES  ((size_t)1 << 36)
#define NN_CKPT_ADAM_STATE 20u

struct NnCkpt {
    unsigned char *bytes;
    size_t len;
    uint32_t num_sections;
    NnCkptSection *sections; /* data pointers into bytes */
};

/* ---- CRC-32 (IEEE 802.3, reflected, table driven) ---- */

static uint32_t crc_table[256];
static pthread_once_t crc_once = PTHREAD_ONCE_INIT;

static void crc_table_build(void) {
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++) {
            c = (c & 1u) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
        }
        crc_table[i] = c;
    }
}

uint32_t nn_crc32(uint32_t crc, const void *data, size_t n) {
    pthread_once(&crc_once, crc_table_build);
    const unsigned char *p = data;
    crc = ~crc;
    for (size_t i = 0; i < n; i++) {
        crc = crc_table[(crc ^ p[i]) & 0xFFu] ^ (crc >> 8);
    }
    return ~crc;
}

/* ---- little-endian helpers ---- */

static void put_u32(unsigned char *p, uint32_t v) {
    for (int i = 0; i < 4; i++) {
        p[i] = (unsigned char)(v >> (8 * i));
    }
}

static void put_u64(unsigned char *p, uint64_t v) {
    for (int i = 0; i < 8; i++) {
        p[i] = (unsigned char)(v >> (8 * i));
    }
}

static uint32_t get_u32(const unsigned char *p) {
    uint32_t v = 0;
    for (int i = 0; i < 4; i++) {
        v |= (uint32_t)p[i] << (8 * i);
    }
    return v;
}

static uint64_t get_u64(const unsigned char *p) {
    uint64_t v = 0;
    for (int i = 0; i < 8; i++) {
        v |= (uint64_t)p[i] << (8 * i);
    }
    return v;
}

static uint64_t align8(uint64_t x) {
    return (x + 7u) & ~(uint64_t)7u;
}

/* ---- container ---- */

int nn_ckpt_write(const char *path, const NnCkptSection *sections, int num_sections, char *err,
                  size_t err_sz) {
    if (!path || num_sections < 0 || (num_sections > 0 && !sections) ||
        (uint32_t)num_sections > NN_CKPT_MAX_SECT) {
        return ag_errorf(err, err_sz, AG_EINVAL, "checkpoint: bad arguments");
    }
    uint64_t pos = NN_CKPT_HEADER + (uint64_t)num_sections * NN_CKPT_ENTRY;
    for (int i = 0; i < num_sections; i++) {
        size_t name_len = strnlen(sections[i].name, NN_CKPT_SECTION_NAME_MAX);
        if (name_len == 0 || name_len >= NN_CKPT_SECTION_NAME_MAX) {
            return ag_errorf(err, err_sz, AG_EINVAL, "checkpoint: section %d has a bad name", i);
        }
        if (sections[i].size > 0 && !sections[i].data) {
            return ag_errorf(err, err_sz, AG_EINVAL, "checkpoint: section %s has no data",
                             sections[i].name);
        }
        for (int j = 0; j < i; j++) {
            if (strcmp(sections[i].name, sections[j].name) == 0) {
                return ag_errorf(err, err_sz, AG_EINVAL, "checkpoint: section %s given twice",
                                 sections[i].name);
            }
        }
        pos = align8(pos) + sections[i].size;
    }
    uint64_t total = pos + 4;
    if (total > NN_CKPT_MAX_BYTES) {
        return ag_errorf(err, err_sz, AG_ETOOBIG, "checkpoint: %llu bytes is too large",
                         (unsigned long long)total);
    }
    unsigned char *buf = calloc(1, (size_t)total);
    if (!buf) {
        return ag_errorf(err, err_sz, AG_ENOMEM, "checkpoint: out of memory (%llu bytes)",
                         (unsigned long long)total);
    }
    memcpy(buf, NN_CKPT_MAGIC, 8);
    put_u32(buf + 8, NN_CKPT_VERSION);
    put_u32(buf + 12, (uint32_t)num_sections);
    put_u64(buf + 16, total);
    pos = NN_CKPT_HEADER + (uint64_t)num_sections * NN_CKPT_ENTRY;
    for (int i = 0; i < num_sections; i++) {
        unsigned char *entry = buf + NN_CKPT_HEADER + (size_t)i * NN_CKPT_ENTRY;
        pos = align8(pos);
        memcpy(entry, sections[i].name, strlen(sections[i].name));
        put_u64(entry + 32, pos);
        put_u64(entry + 40, sections[i].size);
        if (sections[i].size > 0) {
            memcpy(buf + pos, sections[i].data, (size_t)sections[i].size);
        }
        pos += sections[i].size;
    }
    put_u32(buf + pos, nn_crc32(0, buf, (size_t)pos));
    int rc = ag_fs_write_atomic(path, buf, (size_t)total, err, err_sz);
    free(buf);
    return rc;
}

NnCkpt *nn_ckpt_read(const char *path, char *err, size_t err_sz) {
    NnCkpt *ckpt = NULL;
    nn_ckpt_open(&ckpt, path, err, err_sz);
    return ckpt;
}

int nn_ckpt_open(NnCkpt **out, const char *path, char *err, size_t err_sz) {
    char *data = NULL;
    size_t len = 0;
    NnCkpt *ckpt = NULL;
    *out = NULL;
    if (!path) {
        return ag_errorf(err, err_sz, AG_EINVAL, "checkpoint: no path");
    }
    int rc = ag_fs_read_file(path, NN_CKPT_MAX_BYTES, &data, &len, err, err_sz);
    if (rc < 0) {
        return rc;
    }
    const unsigned char *b = (const unsigned char *)data;
    if (len < 8 || memcmp(b, NN_CKPT_MAGIC, 8) != 0) {
        rc = ag_errorf(err, err_sz, AG_EFORMAT, "%s: not a checkpoint (bad magic)", path);
        goto out;
    }
    if (len < NN_CKPT_HEADER) {
        rc = ag_errorf(err, err_sz, AG_ETRUNCATED,
                       "%s: truncated checkpoint (%zu bytes, no header)", path, len);
        goto out;
    }
    uint32_t version = get_u32(b + 8);
    if (version != NN_CKPT_VERSION) {
        rc = ag_errorf(err, err_sz, AG_EVERSION,
                       "%s: checkpoint format version %u is not supported (this build reads %u)",
                       path, version, NN_CKPT_VERSION);
        goto out;
    }
    uint64_t total = get_u64(b + 16);
    if ((uint64_t)len < total) {
        rc = ag_errorf(err, err_sz, AG_ETRUNCATED,
                       "%s: truncated checkpoint (%zu of %llu bytes present)", path, len,
                       (unsigned long long)total);
        goto out;
    }
    if ((uint64_t)len != total || total < NN_CKPT_HEADER + 4) {
        rc = ag_errorf(err, err_sz, AG_ECHECKSUM,
                       "%s: corrupted checkpoint (%zu bytes where the header says %llu)", path, len,
                       (unsigned long long)total);
        goto out;
    }
    uint32_t stored = get_u32(b + len - 4);
    uint32_t actual = nn_crc32(0, b, len - 4);
    if (stored != actual) {
        rc = ag_errorf(err, err_sz, AG_ECHECKSUM,
                       "%s: corrupted checkpoint (CRC-32 %08x, expected %08x)", path, actual,
                       stored);
        goto out;
    }
    uint32_t num = get_u32(b + 12);
    if (num > NN_CKPT_MAX_SECT || NN_CKPT_HEADER + (uint64_t)num * NN_CKPT_ENTRY > len - 4) {
        rc = ag_errorf(err, err_sz, AG_EFORMAT, "%s: bad section table (%u sections)", path, num);
        goto out;
    }
    ckpt = calloc(1, sizeof *ckpt);
    if (!ckpt || !(ckpt->sections = calloc(num ? num : 1, sizeof *ckpt->sections))) {
        rc = ag_errorf(err, err_sz, AG_ENOMEM, "%s: out of memory", path);
        goto out;
    }
    for (uint32_t i = 0; i < num; i++) {
        const unsigned char *entry = b + NN_CKPT_HEADER + (size_t)i * NN_CKPT_ENTRY;
        uint64_t off = get_u64(entry + 32);
        uint64_t size = get_u64(entry + 40);
        if (memchr(entry, '\0', NN_CKPT_SECTION_NAME_MAX) == NULL || entry[0] == '\0' ||
            off > len - 4 || size > len - 4 - off) {
            rc = ag_errorf(err, err_sz, AG_EFORMAT, "%s: bad entry %u in the section table", path,
                           i);
            goto out;
        }
        memcpy(ckpt->sections[i].name, entry, NN_CKPT_SECTION_NAME_MAX);
        ckpt->sections[i].data = b + off;
        ckpt->sections[i].size = size;
    }
    ckpt->num_sections = num;
    ckpt->bytes = (unsigned char *)data;
    ckpt->len = len;
    data = NULL;
    rc = AG_OK;
out:
    free(data);
    if (ckpt && !ckpt->bytes) {
        free(ckpt->sections);
        free(ckpt);
        ckpt = NULL;
    }
    *out = ckpt;
    return rc;
}

void nn_ckpt_free(NnCkpt *ckpt) {
    if (!ckpt) {
        return;
    }
    free(ckpt->sections);
    free(ckpt->bytes);
    free(ckpt);
}

const void *nn_ckpt_section(const NnCkpt *ckpt, const char *name, uint64_t *size) {
    if (size) {
        *size = 0;
    }
    if (!ckpt || !name) {
        return NULL;
    }
    for (uint32_t i = 0; i < ckpt->num_sections; i++) {
        if (strcmp(ckpt->sections[i].name, name) == 0) {
            if (size) {
                *size = ckpt->sections[i].size;
            }
            return ckpt->sections[i].data;
        }
    }
    return NULL;
}

/* ---- model sections ---- */

static json_t *io_describe(const NnIoSpec *io) {
    json_t *inputs = json_array();
    for (int i = 0; i < io->num_inputs; i++) {
        const NnInputSpec *in = &io->inputs[i];
        json_t *o = json_pack("{s:s, s:[i,i,i], s:i, s:b}", "name", in->name, "shape", in->shape[0],
                              in->shape[1], in->shape[2], "offset", in->offset, "critic_only",
                              in->critic_only);
        /* only when there is one: a model without a camera describes itself as before views
         * were recorded, so that its older checkpoints still load */
        if (o && in->view[0]) {
            json_object_set_new(o, "view", json_string(in->view));
        }
        json_array_append_new(inputs, o);
    }
    return json_pack("{s:o, s:i, s:i, s:i}", "inputs", inputs, "obs_size", io->obs_size,
                     "policy_outputs", io->policy_outputs, "logstd_dim", io->logstd_dim);
}

static json_t *model_identity(const NnModel *model) {
    return json_pack("{s:o, s:o, s:I}", "description", nn_model_describe(model), "io",
                     io_describe(nn_model_io(model)), "num_params",
                     (json_int_t)nn_model_num_params(model));
}

static void section_set(NnCkptSection *s, const char *name, const void *data, uint64_t size) {
    memset(s->name, 0, sizeof s->name);
    snprintf(s->name, sizeof s->name, "%s", name);
    s->data = data;
    s->size = size;
}

int nn_ckpt_model_sections(const NnModel *model, const NnAdam *adam, NnCkptSection *sections,
                           int *num_sections, char **desc_text) {
    *desc_text = NULL;
    if (!model || !sections || !num_sections || (adam && adam->n != nn_model_num_params(model))) {
        return AG_EINVAL;
    }
    json_t *id = model_identity(model);
    char *text = id ? json_dumps(id, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    json_decref(id);
    if (!text) {
        return AG_ENOMEM;
    }
    /* the adam scalars follow the text in the same allocation so one free() releases both */
    size_t tlen = strlen(text);
    char *both = realloc(text, tlen + 1 + NN_CKPT_ADAM_STATE);
    if (!both) {
        free(text);
        return AG_ENOMEM;
    }
    int n = *num_sections;
    size_t np = nn_model_num_params(model);
    section_set(&sections[n++], "model", both, tlen);
    section_set(&sections[n++], "params", nn_model_params_const(model), np * sizeof(float));
    if (adam) {
        unsigned char *st = (unsigned char *)both + tlen + 1;
        uint32_t f[3];
        memcpy(&f[0], &adam->beta1, 4);
        memcpy(&f[1], &adam->beta2, 4);
        memcpy(&f[2], &adam->eps, 4);
        put_u64(st, (uint64_t)adam->step);
        for (int i = 0; i < 3; i++) {
            put_u32(st + 8 + 4 * i, f[i]);
        }
        section_set(&sections[n++], "adam.m", adam->m, np * sizeof(float));
        section_set(&sections[n++], "adam.v", adam->v, np * sizeof(float));
        section_set(&sections[n++], "adam.state", st, NN_CKPT_ADAM_STATE);
    }
    *num_sections = n;
    *desc_text = both;
    return AG_OK;
}

/* names the first difference between the checkpoint's model and this one */
static int model_compare(const json_t *saved, const NnModel *model, char *err, size_t err_sz) {
    json_t *mine = model_identity(model);
    int rc = AG_OK;
    if (!mine) {
        return ag_errorf(err, err_sz, AG_ENOMEM, "checkpoint: out of memory");
    }
    static const char *const parts[] = {"description", "io", "num_params"};
    for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++) {
        if (!json_equal(json_object_get(saved, parts[i]), json_object_get(mine, parts[i]))) {
            char *a = json_dumps(json_object_get(saved, parts[i]), JSON_COMPACT | JSON_SORT_KEYS);
            char *b = json_dumps(json_object_get(mine, parts[i]), JSON_COMPACT | JSON_SORT_KEYS);
            rc = ag_errorf(err, err_sz, AG_EMISMATCH,
                           "checkpoint was made for another model: its %s is %.200s, this "
                           "model's is %.200s",
                           parts[i], a ? a : "(none)", b ? b : "(none)");
            free(a);
            free(b);
            break;
        }
    }
    json_decref(mine);
    return rc;
}

int nn_ckpt_model_load(const NnCkpt *ckpt, NnModel *model, NnAdam *adam, char *err, size_t err_sz) {
    if (!ckpt || !model) {
        return ag_errorf(err, err_sz, AG_EINVAL, "checkpoint: bad arguments");
    }
    size_t np = nn_model_num_params(model);
    uint64_t size = 0;
    const char *text = nn_ckpt_section(ckpt, "model", &size);
    if (!text) {
        return ag_errorf(err, err_sz, AG_EFORMAT, "checkpoint has no \"model\" section");
    }
    json_error_t jerr;
    json_t *saved = json_loadb(text, (size_t)size, 0, &jerr);
    if (!saved || !json_is_object(saved)) {
        json_decref(saved);
        return ag_errorf(err, err_sz, AG_EFORMAT,
                         "checkpoint's \"model\" section is not valid "
                         "JSON");
    }
    int rc = model_compare(saved, model, err, err_sz);
    json_decref(saved);
    if (rc < 0) {
        return rc;
    }
    const void *params = nn_ckpt_section(ckpt, "params", &size);
    if (!params || size != np * sizeof(float)) {
        return ag_errorf(err, err_sz, AG_EMISMATCH,
                         "checkpoint was made for another model: %llu parameter bytes, this "
                         "model has %zu",
                         (unsigned long long)size, np * sizeof(float));
    }
    if (adam) {
        uint64_t ms = 0, vs = 0, ss = 0;
        const void *m = nn_ckpt_section(ckpt, "adam.m", &ms);
        const void *v = nn_ckpt_section(ckpt, "adam.v", &vs);
        const unsigned char *st = nn_ckpt_section(ckpt, "adam.state", &ss);
        if (!m || !v || !st) {
            return ag_errorf(err, err_sz, AG_ENOTFOUND, "checkpoint has no optimizer state");
        }
        if (ms != np * sizeof(float) || vs != ms || ss != NN_CKPT_ADAM_STATE || adam->n != np) {
            return ag_errorf(err, err_sz, AG_EMISMATCH,
                             "checkpoint's optimizer state does not match the model (%llu "
                             "bytes of moments, %zu parameters)",
                             (unsigned long long)ms, np);
        }
        memcpy(adam->m, m, (size_t)ms);
        memcpy(adam->v, v, (size_t)vs);
        adam->step = (int64_t)get_u64(st);
        uint32_t f[3];
        for (int i = 0; i < 3; i++) {
            f[i] = get_u32(st + 8 + 4 * i);
        }
        memcpy(&adam->beta1, &f[0], 4);
        memcpy(&adam->beta2, &f[1], 4);
        memcpy(&adam->eps, &f[2], 4);
    }
    memcpy(nn_model_params(model), params, np * sizeof(float));
    return AG_OK;
}
