/* Shared by the model test suites: the observation layouts and the model descriptions they
 * build their networks from. Each suite is one translation unit, so everything is static. */
#ifndef NN_TEST_MODELS_H
#define NN_TEST_MODELS_H

#include "nn_model.h"

#include <stdio.h>
#include <string.h>

static inline void io_add(NnIoSpec *io, const char *name, int c, int h, int w, int critic) {
    NnInputSpec *in = &io->inputs[io->num_inputs++];
    memset(in, 0, sizeof *in);
    snprintf(in->name, sizeof in->name, "%s", name);
    in->shape[0] = c;
    in->shape[1] = h;
    in->shape[2] = w;
    in->size = c * h * w;
    in->offset = io->obs_size;
    in->critic_only = critic;
    io->obs_size += in->size;
}

/* an 8x8x3 image, two vector inputs, a goal without pathway and a critic-only input */
static inline NnIoSpec io_senses(void) {
    NnIoSpec io;
    memset(&io, 0, sizeof io);
    io_add(&io, "vision", 3, 8, 8, 0);
    io_add(&io, "proprioception", 6, 1, 1, 0);
    io_add(&io, "touch", 4, 1, 1, 0);
    io_add(&io, "goal", 3, 1, 1, 0);
    io_add(&io, "asymmetric", 5, 1, 1, 1);
    io.policy_outputs = 3;
    io.logstd_dim = 3;
    return io;
}

/* every kind of pathway layer, a trunk, an LSTM core and a post chain */
static const char PATHWAYS_LSTM[] =
    "{\"inputs\": {"
    "  \"vision\": {\"pathway\": [{\"type\": \"conv2d\", \"filters\": 4, \"kernel\": 3,"
    "     \"padding\": \"same\"}, \"elu\", {\"type\": \"conv2d\", \"filters\": 4, \"kernel\": 3,"
    "     \"stride\": 2}, \"tanh\", \"spatial_softmax\"]},"
    "  \"proprioception\": {\"pathway\": [{\"type\": \"dense\", \"units\": 8}, \"layernorm\","
    "     \"tanh\"]},"
    "  \"touch\": {\"pathway\": [{\"type\": \"dense\", \"units\": 5}, \"sigmoid\"]},"
    "  \"asymmetric\": {\"pathway\": [{\"type\": \"dense\", \"units\": 4}, \"softplus\"]}},"
    " \"trunk\": [{\"type\": \"dense\", \"units\": 12}, \"tanh\"],"
    " \"core\": {\"type\": \"lstm\", \"units\": 6},"
    " \"post\": [{\"type\": \"dense\", \"units\": 7}, \"elu\"]}";

/* a shared network with a GRU core; the post tanh runs in place on the core's output */
static const char SHARED_GRU[] =
    "{\"inputs\": {"
    "  \"vision\": {\"pathway\": [{\"type\": \"conv2d\", \"filters\": 3, \"kernel\": 3},"
    "     {\"type\": \"maxpool\", \"size\": 2}, \"flatten\", {\"type\": \"dense\", \"units\": 6},"
    "     \"tanh\"]},"
    "  \"asymmetric\": {\"pathway\": [{\"type\": \"dense\", \"units\": 4}, \"tanh\"]}},"
    " \"trunk\": [\"layernorm\", {\"type\": \"dense\", \"units\": 10}, \"tanh\", \"sigmoid\"],"
    " \"core\": {\"type\": \"gru\", \"units\": 5},"
    " \"post\": [\"tanh\"],"
    " \"shared\": true}";

#endif
