/* Internal to the model graph: the parsed, validated model description shared by the JSON
 * parser and presets (nn_model_desc.c) and the graph builder (nn_model.c). */
#ifndef NN_MODEL_INT_H
#define NN_MODEL_INT_H

#include "nn_model.h"

#include <jansson.h>
#include <stddef.h>

#define NN_MAX_LAYERS     32
#define NN_MAX_UNITS      16384
#define NN_MAX_FILTERS    4096
#define NN_MAX_STRIDE     16
#define NN_MAX_PARAMS     ((size_t)1 << 30)
#define NN_MAX_ACTIVATION (1 << 24) /* floats per sample of one layer output */
#define NN_DEFAULT_GAIN   1.4142135623730951

typedef enum NnLayerKind {
    NN_LAYER_DENSE = 0,
    NN_LAYER_TANH,
    NN_LAYER_RELU,
    NN_LAYER_ELU,
    NN_LAYER_SIGMOID,
    NN_LAYER_SOFTPLUS,
    NN_LAYER_LAYERNORM,
    NN_LAYER_CONV2D,
    NN_LAYER_MAXPOOL,
    NN_LAYER_FLATTEN,
    NN_LAYER_SPATIAL_SOFTMAX,
    NN_LAYER_COUNT
} NnLayerKind;

extern const char *const nn_layer_kind_names[]; /* by NnLayerKind, NULL-terminated */

typedef enum NnCoreKind { NN_CORE_NONE = 0, NN_CORE_LSTM, NN_CORE_GRU } NnCoreKind;

typedef struct NnLayerDesc {
    NnLayerKind kind;
    int units;   /* dense */
    int filters; /* conv2d */
    int kernel;  /* conv2d */
    int stride;  /* conv2d */
    int same;    /* conv2d: 1 = "same" zero padding (odd kernel), 0 = "valid" */
    int size;    /* maxpool: window and stride */
} NnLayerDesc;

typedef struct NnLayerList {
    int n;
    NnLayerDesc layers[NN_MAX_LAYERS];
} NnLayerList;

/* a tensor shape during shape inference; image = spatial layout still present */
typedef struct NnShape {
    int c, h, w;
    int image;
} NnShape;

/* a pretrained encoder for one input's pathway (nn_model_encoder.c) */
#define NN_ENCODER_PATH_MAX 1024

typedef struct NnEncoderDesc {
    int on;
    char checkpoint[NN_ENCODER_PATH_MAX]; /* made by angora-train --pretrain */
    int freeze;                           /* its weights stay as loaded; no backward pass */
    int input;                            /* io index of the input whose pathway it is */
} NnEncoderDesc;

typedef struct NnDesc {
    int shared;
    double hidden_gain;
    NnLayerList pathway[NN_MAX_INPUTS]; /* by io input index; n = 0 passes through */
    NnLayerList trunk;
    NnCoreKind core;
    int core_units;
    NnLayerList post;
    NnEncoderDesc encoder;
} NnDesc;

/* parses desc (a preset name or an object, optionally {"preset": name, ...overrides}) against
 * io into out; errors name the JSON path under "model" and return AG_ESPEC (or AG_ETOOBIG) */
int nn_desc_parse(const json_t *desc, const NnIoSpec *io, NnDesc *out, char *err, size_t err_sz);
/* the description as a full JSON object (new reference) */
json_t *nn_desc_to_json(const NnDesc *d, const NnIoSpec *io);
/* shape after a layer; 0 or AG_ESPEC with the reason in why */
int nn_shape_apply(const NnLayerDesc *l, NnShape in, NnShape *out, char *why, size_t why_sz);
static inline int nn_shape_size(NnShape s) {
    return s.c * s.h * s.w;
}

#endif
