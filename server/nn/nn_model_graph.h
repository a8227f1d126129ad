/* Internal to the model graph: the built networks and the parameter table, shared by the builder
 * and initialisation (nn_model.c) and the passes that run the graph (nn_model_run.c).
 *
 * DESIGN:
 * - A network (NnNet) is: per input it sees, a chain of layers (its pathway); a concatenation of
 *   the pathway outputs; a trunk chain; an optional LSTM/GRU core; a post chain. Its output
 *   features feed the heads.
 * - Separate mode (default): net 0 is the policy network (inputs that are not critic_only), net 1
 *   the value network (every input), of the same architecture. Shared mode: net 0 is shared by
 *   both heads; critic-only inputs go through their pathways in net 1 (paths only) and are
 *   concatenated to net 0's features in front of the value head.
 * - Activations run in place (NnOp.in_place) when no backward pass needs their input.
 * - Recurrent state per environment (state_size floats): net 0's core state, then net 1's; an
 *   LSTM's state is h (H) then c (H), a GRU's is h (H).
 * - Parameters are referred to by their offset in the parameter block (and the gradient block of
 *   the same layout).
 * - Probes (nn_model.h) are numbered in the graph: each op, and each core output, knows the
 *   index of its probe, so the probed step copies an output right after computing it (before a
 *   later in-place activation overwrites it). */
#ifndef NN_MODEL_GRAPH_H
#define NN_MODEL_GRAPH_H

#include "nn_model.h"
#include "nn_model_int.h"

#include <stddef.h>

#define NN_TENSOR_NAME 80

typedef enum NnInit { NN_INIT_ZERO = 0, NN_INIT_ONE, NN_INIT_ORTH, NN_INIT_LSTM_BIAS } NnInit;

typedef struct NnTensor {
    char name[NN_TENSOR_NAME];
    size_t off, size;
    NnInit init;
    int rows, cols, blocks; /* ORTH: `blocks` stacked (rows/blocks, cols) orthogonal blocks */
    double gain;
} NnTensor;

typedef struct NnOp {
    NnLayerDesc d;
    NnShape in, out;
    int pad;
    int act;      /* NnAct for activation layers, -1 otherwise */
    int in_place; /* output aliases the input (activations, flatten) */
    size_t w, b;
    int probe; /* index in the model's probe table, -1 for none */
} NnOp;

typedef struct NnChain {
    int n;
    NnOp op[NN_MAX_LAYERS];
} NnChain;

typedef struct NnNet {
    int num_paths;
    int input[NN_MAX_INPUTS]; /* io input index of each path */
    NnChain path[NN_MAX_INPUTS];
    int path_out[NN_MAX_INPUTS];
    int merged;
    NnChain trunk;
    int trunk_out;
    NnCoreKind core;
    int core_in, H;
    size_t w_ih, w_hh, b_ih, b_hh;
    int state_off, state_size;
    NnChain post;
    int feat;
    int max_width; /* widest activation row, for the gradient buffers */
    size_t conv_scratch;
    /* the same without a frozen encoder's pathway, for a workspace that never runs it */
    int feat_max_width;
    size_t feat_conv_scratch;
    int probe_h, probe_c, probe_gate; /* core probes (gates: the first of 4 or 3), -1 for none */
} NnNet;

struct NnModel {
    NnIoSpec io;
    NnDesc desc;
    int num_nets;
    NnNet net[2];
    int value_net; /* the network whose features feed the value head (besides net 0 if shared) */
    int value_in;  /* fan-in of the value head */
    size_t ph_w, ph_b, logstd, vh_w, vh_b;
    size_t num_params;
    float *params, *grads;
    int num_tensors;
    NnTensor *tensors;
    int state_size;
    double flops;
    int num_probes;
    NnProbe *probes;
    /* the pretrained encoder: enc_count tensors of this model (by index) whose values
     * nn_model_init_params copies from enc_values, one after another */
    int enc_count;
    int *enc_tensor;
    float *enc_values;
    int64_t path_backward[NN_MAX_INPUTS]; /* pathway backward passes by io input */
    int64_t path_forward[NN_MAX_INPUTS];  /* pathway forward passes in training contexts */
    /* the feature row (nn_model.h): the frozen encoder's input (-1 for none), the floats of its
     * pathway's output, and where each input starts in the row */
    int feat_input, feat_size;
    int frow_size;
    int frow_off[NN_MAX_INPUTS];
};

/* reads the description's encoder checkpoint and checks it against this model (its input's
 * shape and pathway); errors name the JSON path. 0 when the description has no encoder. */
int nn_model_encoder_load(NnModel *m, char *err, size_t err_sz);
/* copies the encoder's weights over its pathways' parameters (every network's) */
void nn_model_encoder_apply(NnModel *m);
/* lays out the feature row (nn_model.h) of a built model: the observation row itself, or with a
 * frozen encoder its input's values replaced by its pathway's output */
void nn_model_feature_layout(NnModel *m);

/* lists the probes of a built model (nn_model_probe.c) and numbers them in the graph; 0 or
 * AG_ENOMEM */
int nn_model_probes_build(NnModel *m);

#endif
