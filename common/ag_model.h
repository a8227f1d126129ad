/* What every program knows of a model description without building the network: the preset
 * names and whether a description has a recurrent core. The spec's defaults and checks (common,
 * in angorad, angoractl and angora-train alike) ask here; server/nn builds the network and takes
 * its presets' core types from the same table, so the two cannot disagree.
 *
 * A description is a preset name, an object {"preset": name, ...} whose members replace the
 * preset's, or a full object (docs/model.md). Its core is recurrent when "core" names a type
 * other than "none"; without a "core" member, a preset's core stays. */
#ifndef AG_MODEL_H
#define AG_MODEL_H

#include <jansson.h>

/* names of the presets, NULL-terminated */
extern const char *const ag_model_preset_names[];

/* 1 when name is a preset, and then *core is its core type ("lstm", "gru" or NULL for none) */
int ag_model_preset_find(const char *name, const char **core);

/* 1 when the description has a recurrent core, 0 otherwise (also for an unknown preset or a
 * malformed description, which the network builder refuses with its own message) */
int ag_model_is_recurrent(const json_t *model);

#endif
