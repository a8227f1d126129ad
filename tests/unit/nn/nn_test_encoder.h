/* Shared by the suites that load a pretrained encoder: a checkpoint written the way
 * angora-train --pretrain writes one (the model's sections, then its "pretrain" section naming
 * the input the encoder reads). Each suite is one translation unit, so everything is static. */
#ifndef NN_TEST_ENCODER_H
#define NN_TEST_ENCODER_H

#include "ag_rng.h"
#include "nn_ckpt.h"
#include "nn_model.h"

#include <check.h>
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* the model described by desc_text on io, its parameters drawn from seed, saved at path with
 * the "pretrain" section's JSON pretrain_text (NULL: a plain checkpoint without it) */
static inline void encoder_ckpt_save(const char *desc_text, const NnIoSpec *io, uint64_t seed,
                                     const char *pretrain_text, const char *path) {
    json_error_t jerr;
    json_t *d = json_loads(desc_text, 0, &jerr);
    ck_assert_msg(d != NULL, "%s", jerr.text);
    char err[512] = "";
    NnModel *m = nn_model_create(d, io, err, sizeof err);
    ck_assert_msg(m != NULL, "%s", err);
    AgRng rng;
    ag_rng_seed(&rng, seed, 0);
    nn_model_init_params(m, &rng);
    NnCkptSection sec[8];
    int n = 0;
    char *desc = NULL;
    ck_assert_int_eq(nn_ckpt_model_sections(m, NULL, sec, &n, &desc), 0);
    if (pretrain_text) {
        memset(&sec[n], 0, sizeof sec[n]);
        snprintf(sec[n].name, sizeof sec[n].name, "pretrain");
        sec[n].data = pretrain_text;
        sec[n].size = strlen(pretrain_text);
        n++;
    }
    ck_assert_msg(nn_ckpt_write(path, sec, n, err, sizeof err) == 0, "%s", err);
    free(desc);
    nn_model_destroy(m);
    json_decref(d);
}

#endif
