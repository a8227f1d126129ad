/* The model description: JSON parsing with validation against the task's inputs, the presets
 * with AngoraPy's sizes, and the expanded description that nn_model_describe returns.
 *
 * The format (documented with examples in docs/model.md):
 *   {
 *     "inputs": { "<input name>": { "pathway": [ <layer>, ... ] }, ... },
 *     "trunk":  [ <layer>, ... ],
 *     "core":   { "type": "lstm" | "gru", "units": n }  or null,
 *     "post":   [ <layer>, ... ],
 *     "shared": false,
 *     "hidden_gain": 1.4142135623730951
 *   }
 * <layer> is {"type": "dense", "units": n}, {"type": "conv2d", "filters": n, "kernel": k,
 * "stride": s, "padding": "valid" | "same"}, {"type": "maxpool", "size": k}, or one of "tanh",
 * "relu", "elu", "sigmoid", "softplus", "layernorm", "flatten", "spatial_softmax" (as a string
 * or as {"type": ...}). Every member is optional; inputs without a pathway pass through
 * flattened. A string names a preset; {"preset": name, ...} takes a preset and replaces the
 * members given. */
#include "nn_model_int.h"

#include "ag_error.h"
#include "ag_json.h"
#include "ag_model.h"

#include <stdio.h>
#include <string.h>

const char *const nn_layer_kind_names[] = {
    "dense",     "tanh",   "relu",    "elu",     "sigmoid",         "softplus",
    "layernorm", "conv2d", "maxpool", "flatten", "spatial_softmax", NULL};

static const char *const core_names[] = {"none", "lstm", "gru", NULL};

/* ---- shapes ---- */

int nn_shape_apply(const NnLayerDesc *l, NnShape in, NnShape *out, char *why, size_t why_sz) {
    *out = in;
    switch (l->kind) {
    case NN_LAYER_DENSE:
        *out = (NnShape){l->units, 1, 1, 0};
        return 0;
    case NN_LAYER_FLATTEN:
        *out = (NnShape){nn_shape_size(in), 1, 1, 0};
        return 0;
    case NN_LAYER_CONV2D:
    case NN_LAYER_MAXPOOL:
    case NN_LAYER_SPATIAL_SOFTMAX:
        if (!in.image) {
            snprintf(why, why_sz, "%s needs an image input, got a vector of %d",
                     nn_layer_kind_names[l->kind], nn_shape_size(in));
            return AG_ESPEC;
        }
        break;
    default:
        return 0;
    }
    if (l->kind == NN_LAYER_CONV2D) {
        int pad = l->same ? (l->kernel - 1) / 2 : 0;
        if (l->kernel > in.h + 2 * pad || l->kernel > in.w + 2 * pad) {
            snprintf(why, why_sz, "kernel %d is larger than the %dx%d image", l->kernel, in.h,
                     in.w);
            return AG_ESPEC;
        }
        if (l->same && l->kernel % 2 == 0) {
            snprintf(why, why_sz, "padding \"same\" needs an odd kernel, got %d", l->kernel);
            return AG_ESPEC;
        }
        *out = (NnShape){l->filters, (in.h + 2 * pad - l->kernel) / l->stride + 1,
                         (in.w + 2 * pad - l->kernel) / l->stride + 1, 1};
        if ((long long)out->c * out->h * out->w > NN_MAX_ACTIVATION) {
            snprintf(why, why_sz, "output of %d x %d x %d floats is too large", out->c, out->h,
                     out->w);
            return AG_ESPEC;
        }
    } else if (l->kind == NN_LAYER_MAXPOOL) {
        if (l->size > in.h || l->size > in.w) {
            snprintf(why, why_sz, "pool size %d is larger than the %dx%d image", l->size, in.h,
                     in.w);
            return AG_ESPEC;
        }
        *out = (NnShape){in.c, in.h / l->size, in.w / l->size, 1};
    } else {
        *out = (NnShape){2 * in.c, 1, 1, 0};
    }
    return 0;
}

/* ---- parsing ---- */

/* ag_json_check_keys, with the allowed keys in the message */
static int keys_check(const json_t *obj, const char *base, const char *const *allowed,
                      AgJsonErr *e) {
    int rc = ag_json_check_keys(obj, base, allowed, e);
    if (rc < 0) {
        size_t used = strlen(e->reason);
        for (int i = 0; allowed[i] && used < sizeof e->reason; i++) {
            int n = snprintf(e->reason + used, sizeof e->reason - used, "%s%s%s",
                             i ? ", " : " (allowed: ", allowed[i], allowed[i + 1] ? "" : ")");
            used += n > 0 ? (size_t)n : 0;
        }
    }
    return rc;
}

static int parse_layer(const json_t *v, const char *path, NnLayerDesc *l, AgJsonErr *e) {
    memset(l, 0, sizeof *l);
    int kind = -1;
    if (json_is_string(v)) {
        for (int i = 0; nn_layer_kind_names[i]; i++) {
            if (strcmp(json_string_value(v), nn_layer_kind_names[i]) == 0) {
                kind = i;
            }
        }
        if (kind < 0) {
            return ag_json_fail(e, path,
                                "unknown layer type \"%.64s\" (allowed: dense, tanh, relu, elu, "
                                "sigmoid, softplus, layernorm, conv2d, maxpool, flatten, "
                                "spatial_softmax)",
                                json_string_value(v));
        }
        if (kind == NN_LAYER_DENSE || kind == NN_LAYER_CONV2D || kind == NN_LAYER_MAXPOOL) {
            return ag_json_fail(e, path, "a %s layer needs an object with its sizes",
                                nn_layer_kind_names[kind]);
        }
        l->kind = (NnLayerKind)kind;
        return 0;
    }
    if (!json_is_object(v)) {
        return ag_json_fail(e, path, "a layer must be an object or a layer name");
    }
    char tpath[AG_JSON_PATH_MAX];
    ag_json_path_key(tpath, sizeof tpath, path, "type");
    if (!json_object_get(v, "type")) {
        return ag_json_fail(e, tpath, "missing (the layer type)");
    }
    if (!json_is_string(json_object_get(v, "type"))) {
        return ag_json_fail(e, tpath, "must be a string naming the layer type");
    }
    int rc = ag_json_get_enum(v, path, "type", nn_layer_kind_names, 0, &kind, e);
    if (rc < 0) {
        snprintf(e->reason, sizeof e->reason,
                 "unknown layer type (allowed: dense, tanh, relu, "
                 "elu, sigmoid, softplus, layernorm, conv2d, "
                 "maxpool, flatten, spatial_softmax)");
        return rc;
    }
    l->kind = (NnLayerKind)kind;
    long long x = 0;
    if (kind == NN_LAYER_DENSE) {
        static const char *const keys[] = {"type", "units", NULL};
        char upath[AG_JSON_PATH_MAX];
        ag_json_path_key(upath, sizeof upath, path, "units");
        if ((rc = keys_check(v, path, keys, e)) < 0) {
            return rc;
        }
        if (!json_object_get(v, "units")) {
            return ag_json_fail(e, upath, "missing (the number of units)");
        }
        if ((rc = ag_json_get_int(v, path, "units", 0, 1, NN_MAX_UNITS, &x, e)) < 0) {
            return rc;
        }
        l->units = (int)x;
    } else if (kind == NN_LAYER_CONV2D) {
        static const char *const keys[] = {"type", "filters", "kernel", "stride", "padding", NULL};
        static const char *const pads[] = {"valid", "same", NULL};
        if ((rc = keys_check(v, path, keys, e)) < 0) {
            return rc;
        }
        const char *need[] = {"filters", "kernel"};
        for (int i = 0; i < 2; i++) {
            if (!json_object_get(v, need[i])) {
                char p[AG_JSON_PATH_MAX];
                ag_json_path_key(p, sizeof p, path, need[i]);
                return ag_json_fail(e, p, "missing");
            }
        }
        if ((rc = ag_json_get_int(v, path, "filters", 0, 1, NN_MAX_FILTERS, &x, e)) < 0) {
            return rc;
        }
        l->filters = (int)x;
        if ((rc = ag_json_get_int(v, path, "kernel", 0, 1, 64, &x, e)) < 0) {
            return rc;
        }
        l->kernel = (int)x;
        if ((rc = ag_json_get_int(v, path, "stride", 1, 1, NN_MAX_STRIDE, &x, e)) < 0) {
            return rc;
        }
        l->stride = (int)x;
        if ((rc = ag_json_get_enum(v, path, "padding", pads, 0, &l->same, e)) < 0) {
            return rc;
        }
    } else if (kind == NN_LAYER_MAXPOOL) {
        static const char *const keys[] = {"type", "size", NULL};
        if ((rc = keys_check(v, path, keys, e)) < 0) {
            return rc;
        }
        if ((rc = ag_json_get_int(v, path, "size", 2, 1, 64, &x, e)) < 0) {
            return rc;
        }
        l->size = (int)x;
    } else {
        static const char *const keys[] = {"type", NULL};
        if ((rc = keys_check(v, path, keys, e)) < 0) {
            return rc;
        }
    }
    return 0;
}

/* parses obj[key] (absent or null: empty) as a list of layers and walks the shape through */
static int parse_list(const json_t *obj, const char *base, const char *key, NnLayerList *list,
                      NnShape *shape, AgJsonErr *e) {
    char path[AG_JSON_PATH_MAX];
    ag_json_path_key(path, sizeof path, base, key);
    list->n = 0;
    const json_t *arr = json_object_get(obj, key);
    if (!arr || json_is_null(arr)) {
        return 0;
    }
    if (!json_is_array(arr)) {
        return ag_json_fail(e, path, "must be an array of layers");
    }
    if (json_array_size(arr) > NN_MAX_LAYERS) {
        return ag_json_fail(e, path, "at most %d layers, got %zu", NN_MAX_LAYERS,
                            json_array_size(arr));
    }
    for (size_t i = 0; i < json_array_size(arr); i++) {
        char lpath[AG_JSON_PATH_MAX];
        ag_json_path_index(lpath, sizeof lpath, path, i);
        NnLayerDesc *l = &list->layers[i];
        int rc = parse_layer(json_array_get(arr, i), lpath, l, e);
        if (rc < 0) {
            return rc;
        }
        char why[160];
        if (nn_shape_apply(l, *shape, shape, why, sizeof why) < 0) {
            return ag_json_fail(e, lpath, "%s", why);
        }
        list->n++;
    }
    return 0;
}

static int io_check(const NnIoSpec *io, char *err, size_t err_sz) {
    if (!io || io->num_inputs < 1 || io->num_inputs > NN_MAX_INPUTS) {
        return ag_errorf(err, err_sz, AG_EINVAL, "model io: needs 1 to %d inputs", NN_MAX_INPUTS);
    }
    if (io->policy_outputs < 1 || io->policy_outputs > NN_MAX_UNITS || io->logstd_dim < 0 ||
        io->logstd_dim > NN_MAX_UNITS || io->obs_size < 1) {
        return ag_errorf(err, err_sz, AG_EINVAL,
                         "model io: bad sizes (obs %d, policy outputs %d, log-std %d)",
                         io->obs_size, io->policy_outputs, io->logstd_dim);
    }
    int policy_inputs = 0;
    for (int i = 0; i < io->num_inputs; i++) {
        const NnInputSpec *in = &io->inputs[i];
        if (!memchr(in->name, '\0', sizeof in->name) || !in->name[0]) {
            return ag_errorf(err, err_sz, AG_EINVAL, "model io: input %d has no name", i);
        }
        if (in->shape[0] < 1 || in->shape[1] < 1 || in->shape[2] < 1 ||
            (long long)in->shape[0] * in->shape[1] * in->shape[2] != in->size || in->offset < 0 ||
            in->offset > io->obs_size - in->size) {
            return ag_errorf(err, err_sz, AG_EINVAL,
                             "model io: input %s has shape (%d, %d, %d), size %d, offset %d in "
                             "rows of %d",
                             in->name, in->shape[0], in->shape[1], in->shape[2], in->size,
                             in->offset, io->obs_size);
        }
        for (int j = 0; j < i; j++) {
            if (strcmp(in->name, io->inputs[j].name) == 0) {
                return ag_errorf(err, err_sz, AG_EINVAL, "model io: input %s given twice",
                                 in->name);
            }
        }
        policy_inputs += !in->critic_only;
    }
    if (!policy_inputs) {
        return ag_errorf(err, err_sz, AG_EINVAL,
                         "model io: every input is critic_only, the policy would see nothing");
    }
    return 0;
}

static NnShape input_shape(const NnInputSpec *in) {
    return (NnShape){in->shape[0], in->shape[1], in->shape[2],
                     in->shape[1] > 1 || in->shape[2] > 1};
}

static json_t *dense(int units) {
    return json_pack("{s:s, s:i}", "type", "dense", "units", units);
}

/* the vision pathway of an image: two 3x3 "same" conv layers of 32 filters with ReLU, then a
 * spatial softmax; `reduce` makes the first convolution stride 2 and max-pools before the second,
 * so the second runs at a quarter of the side (a sixteenth of the positions) */
static json_t *vision_conv_path(int reduce) {
    json_t *conv[2];
    for (int k = 0; k < 2; k++) {
        conv[k] = json_pack("{s:s, s:i, s:i, s:i, s:s}", "type", "conv2d", "filters", 32, "kernel",
                            3, "stride", reduce && k == 0 ? 2 : 1, "padding", "same");
    }
    json_t *path = json_pack("[o, s]", conv[0], "relu");
    if (reduce) {
        json_array_append_new(path, json_pack("{s:s, s:i}", "type", "maxpool", "size", 2));
    }
    json_array_append_new(path, conv[1]);
    json_array_append_new(path, json_string("relu"));
    json_array_append_new(path, json_string("spatial_softmax"));
    return path;
}

/* builds the preset's description object for io (new reference), NULL if unknown */
static json_t *preset_build(const char *name, const NnIoSpec *io) {
    /* the sizes of each preset; its core type comes from ag_model */
    static const struct {
        const char *name;
        int hidden[4];
        int nhidden;
        int core_units;
    } mlp[] = {
        {"simple", {64, 64}, 2, 0},
        {"simple_lstm", {64}, 1, 64},
        {"simple_gru", {64}, 1, 64},
        {"deeper", {64, 64, 64, 32}, 4, 0},
        {"deeper_lstm", {64, 64, 64, 32}, 4, 32},
        {"deeper_gru", {64, 64, 64, 32}, 4, 32},
        {"wider", {1024, 512}, 2, 0},
        {"wider_lstm", {1024}, 1, 512},
        {"wider_gru", {1024}, 1, 512},
        /* the hand: sized so that updates keep up with the physics on a few cores */
        {"hand_ff", {256, 256}, 2, 0},
        {"hand_lstm", {256}, 1, 128},
    };
    const char *core = NULL;
    if (!ag_model_preset_find(name, &core)) {
        return NULL;
    }
    for (size_t p = 0; p < sizeof mlp / sizeof mlp[0]; p++) {
        if (strcmp(name, mlp[p].name) != 0) {
            continue;
        }
        json_t *trunk = json_array();
        for (int i = 0; i < mlp[p].nhidden; i++) {
            json_array_append_new(trunk, dense(mlp[p].hidden[i]));
            json_array_append_new(trunk, json_string("tanh"));
        }
        json_t *d = json_pack("{s:o, s:b}", "trunk", trunk, "shared", 0);
        if (core) {
            json_object_set_new(d, "core",
                                json_pack("{s:s, s:i}", "type", core, "units", mlp[p].core_units));
        }
        return d;
    }
    int reduce;
    if (strcmp(name, "pathways") == 0) {
        reduce = 0;
    } else if (strcmp(name, "pathways_downsampled") == 0) {
        reduce = 1;
    } else {
        return NULL;
    }
    /* vision: a CNN ending in spatial softmax for images, else dense; proprioception and touch
     * an MLP each; goal and critic-only inputs pass through; merged into an LSTM */
    json_t *inputs = json_object();
    for (int i = 0; i < io->num_inputs; i++) {
        const NnInputSpec *in = &io->inputs[i];
        json_t *path = NULL;
        if (strcmp(in->name, "vision") == 0 && in->shape[1] >= 3 && in->shape[2] >= 3) {
            path = vision_conv_path(reduce);
        } else if (strcmp(in->name, "vision") == 0) {
            path = json_pack("[o, s]", dense(64), "tanh");
        } else if (strcmp(in->name, "proprioception") == 0) {
            path = json_pack("[o, s]", dense(64), "tanh");
        } else if (strcmp(in->name, "touch") == 0) {
            path = json_pack("[o, s]", dense(32), "tanh");
        }
        if (path) {
            json_object_set_new(inputs, in->name, json_pack("{s:o}", "pathway", path));
        }
    }
    return json_pack("{s:o, s:[o, s], s:{s:s, s:i}, s:b}", "inputs", inputs, "trunk", dense(128),
                     "tanh", "core", "type", core, "units", 128, "shared", 0);
}

/* {"checkpoint": path, "freeze": bool, "input": name}: the checkpoint itself is read when the
 * model is built (nn_model_encoder.c) */
static int parse_encoder(const json_t *v, const NnIoSpec *io, NnDesc *out, AgJsonErr *e) {
    static const char *const keys[] = {"checkpoint", "freeze", "input", NULL};
    NnEncoderDesc *enc = &out->encoder;
    char input[NN_NAME_MAX];
    int rc;
    if (!v || json_is_null(v)) {
        return 0;
    }
    if ((rc = ag_json_expect_object(v, "model.encoder", e)) < 0 ||
        (rc = keys_check(v, "model.encoder", keys, e)) < 0) {
        return rc;
    }
    const json_t *ck = json_object_get(v, "checkpoint");
    if (!json_is_string(ck) || json_string_length(ck) == 0) {
        return ag_json_fail(e, "model.encoder.checkpoint",
                            "%s (the checkpoint of angora-train --pretrain)",
                            ck ? "must be a non-empty string" : "missing");
    }
    if ((rc = ag_json_get_string(v, "model.encoder", "checkpoint", NULL, enc->checkpoint,
                                 sizeof enc->checkpoint, e)) < 0 ||
        (rc = ag_json_get_bool(v, "model.encoder", "freeze", 0, &enc->freeze, e)) < 0 ||
        (rc = ag_json_get_string(v, "model.encoder", "input", "vision", input, sizeof input, e)) <
            0) {
        return rc;
    }
    enc->input = -1;
    for (int i = 0; i < io->num_inputs; i++) {
        if (strcmp(io->inputs[i].name, input) == 0) {
            enc->input = i;
        }
    }
    if (enc->input < 0) {
        return ag_json_fail(e, "model.encoder.input", "the task has no input \"%s\"", input);
    }
    if (out->pathway[enc->input].n == 0) {
        return ag_json_fail(e, "model.encoder.input",
                            "input \"%s\" has no pathway for the encoder to fill", input);
    }
    enc->on = 1;
    return 0;
}

static int parse_object(const json_t *d, const NnIoSpec *io, NnDesc *out, AgJsonErr *e) {
    static const char *const keys[] = {"inputs", "trunk",       "core",    "post", "shared",
                                       "preset", "hidden_gain", "encoder", NULL};
    const char *base = "model";
    int rc;
    if ((rc = keys_check(d, base, keys, e)) < 0) {
        return rc;
    }
    if ((rc = ag_json_get_bool(d, base, "shared", 0, &out->shared, e)) < 0) {
        return rc;
    }
    if ((rc = ag_json_get_double(d, base, "hidden_gain", NN_DEFAULT_GAIN, 1e-3, 100.0,
                                 &out->hidden_gain, e)) < 0) {
        return rc;
    }

    /* pathways: every key must name an input of the task */
    const json_t *inputs = json_object_get(d, "inputs");
    NnShape merged = {0, 1, 1, 0};
    NnShape shapes[NN_MAX_INPUTS];
    for (int i = 0; i < io->num_inputs; i++) {
        shapes[i] = input_shape(&io->inputs[i]);
    }
    if (inputs && !json_is_null(inputs)) {
        if (!json_is_object(inputs)) {
            return ag_json_fail(e, "model.inputs", "must be an object keyed by input name");
        }
        const char *key;
        json_t *val;
        json_object_foreach((json_t *)inputs, key, val) {
            char ipath[AG_JSON_PATH_MAX];
            ag_json_path_key(ipath, sizeof ipath, "model.inputs", key);
            int idx = -1;
            for (int i = 0; i < io->num_inputs; i++) {
                if (strcmp(io->inputs[i].name, key) == 0) {
                    idx = i;
                }
            }
            if (idx < 0) {
                char names[160] = "";
                size_t used = 0;
                for (int i = 0; i < io->num_inputs && used < sizeof names; i++) {
                    int n = snprintf(names + used, sizeof names - used, "%s%s", i ? ", " : "",
                                     io->inputs[i].name);
                    used += n > 0 ? (size_t)n : 0;
                }
                return ag_json_fail(e, ipath, "the task has no input of this name (it has: %s)",
                                    names);
            }
            if ((rc = ag_json_expect_object(val, ipath, e)) < 0) {
                return rc;
            }
            static const char *const ikeys[] = {"pathway", NULL};
            if ((rc = keys_check(val, ipath, ikeys, e)) < 0) {
                return rc;
            }
            if ((rc = parse_list(val, ipath, "pathway", &out->pathway[idx], &shapes[idx], e)) < 0) {
                return rc;
            }
        }
    }
    /* the trunk sees the policy's merge; the value network's also holds the critic-only
     * inputs, which only widens its first layer */
    for (int i = 0; i < io->num_inputs; i++) {
        if (!io->inputs[i].critic_only) {
            merged.c += nn_shape_size(shapes[i]);
        }
    }
    if ((rc = parse_list(d, "model", "trunk", &out->trunk, &merged, e)) < 0) {
        return rc;
    }
    const json_t *core = json_object_get(d, "core");
    out->core = NN_CORE_NONE;
    if (core && !json_is_null(core)) {
        if ((rc = ag_json_expect_object(core, "model.core", e)) < 0) {
            return rc;
        }
        static const char *const ckeys[] = {"type", "units", NULL};
        if ((rc = keys_check(core, "model.core", ckeys, e)) < 0) {
            return rc;
        }
        if (!json_object_get(core, "type")) {
            return ag_json_fail(e, "model.core.type", "missing (lstm or gru)");
        }
        int kind = 0;
        if ((rc = ag_json_get_enum(core, "model.core", "type", core_names, 0, &kind, e)) < 0) {
            return rc;
        }
        out->core = (NnCoreKind)kind;
        if (kind != NN_CORE_NONE) {
            long long units = 0;
            if (!json_object_get(core, "units")) {
                return ag_json_fail(e, "model.core.units", "missing (the state size)");
            }
            if ((rc = ag_json_get_int(core, "model.core", "units", 0, 1, NN_MAX_UNITS, &units, e)) <
                0) {
                return rc;
            }
            out->core_units = (int)units;
            merged = (NnShape){out->core_units, 1, 1, 0};
        }
    }
    if ((rc = parse_list(d, "model", "post", &out->post, &merged, e)) < 0) {
        return rc;
    }
    return parse_encoder(json_object_get(d, "encoder"), io, out, e);
}

int nn_desc_parse(const json_t *desc, const NnIoSpec *io, NnDesc *out, char *err, size_t err_sz) {
    memset(out, 0, sizeof *out);
    int rc = io_check(io, err, err_sz);
    if (rc < 0) {
        return rc;
    }
    AgJsonErr e = {{0}, {0}};
    json_t *owned = NULL;
    const json_t *d = desc;
    if (!desc) {
        return ag_errorf(err, err_sz, AG_ESPEC, "model: missing (a preset name or an object)");
    }
    if (json_is_string(desc) || (json_is_object(desc) && json_object_get(desc, "preset"))) {
        const json_t *name = json_is_string(desc) ? desc : json_object_get(desc, "preset");
        const char *path = json_is_string(desc) ? "model" : "model.preset";
        if (!json_is_string(name)) {
            return ag_errorf(err, err_sz, AG_ESPEC, "%s: must be a preset name", path);
        }
        owned = preset_build(json_string_value(name), io);
        if (!owned) {
            char names[256] = "";
            size_t used = 0;
            for (int i = 0; nn_model_preset_names[i] && used < sizeof names; i++) {
                int n = snprintf(names + used, sizeof names - used, "%s%s", i ? ", " : "",
                                 nn_model_preset_names[i]);
                used += n > 0 ? (size_t)n : 0;
            }
            return ag_errorf(err, err_sz, AG_ESPEC, "%s: unknown preset \"%.64s\" (known: %s)",
                             path, json_string_value(name), names);
        }
        if (json_is_object(desc)) {
            json_object_update(owned, (json_t *)desc);
            json_object_del(owned, "preset");
        }
        d = owned;
    } else if (!json_is_object(desc)) {
        return ag_errorf(err, err_sz, AG_ESPEC,
                         "model: must be a preset name or an object describing the layers");
    }
    rc = parse_object(d, io, out, &e);
    json_decref(owned);
    if (rc < 0) {
        ag_json_err_format(&e, err, err_sz);
    }
    return rc;
}

/* ---- back to JSON ---- */

static json_t *layer_to_json(const NnLayerDesc *l) {
    switch (l->kind) {
    case NN_LAYER_DENSE:
        return dense(l->units);
    case NN_LAYER_CONV2D:
        return json_pack("{s:s, s:i, s:i, s:i, s:s}", "type", "conv2d", "filters", l->filters,
                         "kernel", l->kernel, "stride", l->stride, "padding",
                         l->same ? "same" : "valid");
    case NN_LAYER_MAXPOOL:
        return json_pack("{s:s, s:i}", "type", "maxpool", "size", l->size);
    default:
        return json_pack("{s:s}", "type", nn_layer_kind_names[l->kind]);
    }
}

static json_t *list_to_json(const NnLayerList *list) {
    json_t *a = json_array();
    for (int i = 0; i < list->n; i++) {
        json_array_append_new(a, layer_to_json(&list->layers[i]));
    }
    return a;
}

json_t *nn_desc_to_json(const NnDesc *d, const NnIoSpec *io) {
    json_t *inputs = json_object();
    for (int i = 0; i < io->num_inputs; i++) {
        if (d->pathway[i].n > 0) {
            json_object_set_new(inputs, io->inputs[i].name,
                                json_pack("{s:o}", "pathway", list_to_json(&d->pathway[i])));
        }
    }
    json_t *core = d->core == NN_CORE_NONE ? json_null()
                                           : json_pack("{s:s, s:i}", "type", core_names[d->core],
                                                       "units", d->core_units);
    json_t *o = json_pack("{s:o, s:o, s:o, s:o, s:b, s:f}", "inputs", inputs, "trunk",
                          list_to_json(&d->trunk), "core", core, "post", list_to_json(&d->post),
                          "shared", d->shared, "hidden_gain", d->hidden_gain);
    if (o && d->encoder.on) {
        json_object_set_new(o, "encoder",
                            json_pack("{s:s, s:b, s:s}", "checkpoint", d->encoder.checkpoint,
                                      "freeze", d->encoder.freeze, "input",
                                      io->inputs[d->encoder.input].name));
    }
    return o;
}
