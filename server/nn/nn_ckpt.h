/* Checkpoint files: magic, format version, a table of named sections (the model description,
 * parameters, optimizer moments, the trainer's own state), their bytes and a CRC-32 over the
 * whole file. Written atomically (temp file + fsync + rename). Reading checks each of these and
 * says which failed: not a checkpoint, other version, truncated, corrupted, model mismatch. */
#ifndef NN_CKPT_H
#define NN_CKPT_H

#include <stddef.h>
#include <stdint.h>

#define NN_CKPT_SECTION_NAME_MAX 32

typedef struct NnCkptSection {
    char name[NN_CKPT_SECTION_NAME_MAX];
    const void *data;
    uint64_t size;
} NnCkptSection;

typedef struct NnCkpt NnCkpt; /* a checkpoint read into memory */

int nn_ckpt_write(const char *path, const NnCkptSection *sections, int num_sections, char *err,
                  size_t err_sz);
NnCkpt *nn_ckpt_read(const char *path, char *err, size_t err_sz);
/* nn_ckpt_read that also gives the code: AG_EFORMAT (not a checkpoint), AG_EVERSION,
 * AG_ETRUNCATED, AG_ECHECKSUM (corrupted), AG_ENOTFOUND, AG_EIO, AG_ENOMEM */
int nn_ckpt_open(NnCkpt **out, const char *path, char *err, size_t err_sz);
void nn_ckpt_free(NnCkpt *ckpt);
/* the bytes of a section, or NULL when absent */
const void *nn_ckpt_section(const NnCkpt *ckpt, const char *name, uint64_t *size);
uint32_t nn_crc32(uint32_t crc, const void *data, size_t n);

/* model level: sections "model" (description JSON), "params", and the Adam state */
struct NnModel;
struct NnAdam;
/* appends the model's sections to `sections` (room for 5 more); pointers stay valid while the
 * model, adam and the returned description text (free() it) live */
int nn_ckpt_model_sections(const struct NnModel *model, const struct NnAdam *adam,
                           NnCkptSection *sections, int *num_sections, char **desc_text);
/* restores params (and adam if non-NULL) from ckpt; fails with AG_EMISMATCH and a message if
 * the checkpoint was made for another model */
int nn_ckpt_model_load(const NnCkpt *ckpt, struct NnModel *model, struct NnAdam *adam, char *err,
                       size_t err_sz);

#endif
