/* Model presets by name with their core types, and recurrence of a description (ag_model.h). */
#include "ag_model.h"

#include <string.h>

const char *const ag_model_preset_names[] = {
    "simple",     "simple_lstm", "simple_gru",           "deeper",    "deeper_lstm",
    "deeper_gru", "wider",       "wider_lstm",           "wider_gru", "pathways",
    "hand_ff",    "hand_lstm",   "pathways_downsampled", NULL};

/* the core type of each preset, in the order of the names */
static const char *const model_preset_cores[] = {NULL,   "lstm", "gru",  NULL, "lstm", "gru", NULL,
                                                 "lstm", "gru",  "lstm", NULL, "lstm", "lstm"};

#define MODEL_PRESET_COUNT (sizeof model_preset_cores / sizeof model_preset_cores[0])

_Static_assert(sizeof ag_model_preset_names / sizeof ag_model_preset_names[0] ==
                   MODEL_PRESET_COUNT + 1,
               "every preset has a name and a core type");

int ag_model_preset_find(const char *name, const char **core) {
    for (size_t i = 0; name && i < MODEL_PRESET_COUNT; i++) {
        if (strcmp(name, ag_model_preset_names[i]) == 0) {
            if (core) {
                *core = model_preset_cores[i];
            }
            return 1;
        }
    }
    return 0;
}

static int core_is_recurrent(const json_t *core) {
    const char *type = json_string_value(json_object_get(core, "type"));
    return json_is_object(core) && type && strcmp(type, "none") != 0;
}

int ag_model_is_recurrent(const json_t *model) {
    const char *core = NULL;
    if (json_is_string(model)) {
        return ag_model_preset_find(json_string_value(model), &core) && core != NULL;
    }
    if (!json_is_object(model)) {
        return 0;
    }
    const json_t *own = json_object_get(model, "core");
    if (own) {
        return core_is_recurrent(own);
    }
    const json_t *preset = json_object_get(model, "preset");
    return json_is_string(preset) && ag_model_preset_find(json_string_value(preset), &core) &&
           core != NULL;
}
