/* A policy/value model built from a JSON description: named inputs (one per sensation), a
 * pathway of layers per input, a merge (concatenation), an optional recurrent core (LSTM or
 * GRU), post-core layers, a policy head and a value head. Policy and value are separate
 * networks of the same architecture by default, or share everything up to the heads. Inputs
 * marked critic_only feed only the value network.
 *
 * All parameters live in one float block (nn_model_params) with a table of named views; the
 * gradients in a second block of the same layout. Training runs on (B, T) sequences; feed-forward
 * models use T = 1. Inference steps N environments at once with per-environment recurrent state
 * and allocates nothing after its context is created.
 *
 * The policy head produces `policy_outputs` raw values per sample (the distribution's parameters,
 * see nn_dist.h); when `logstd_dim` > 0 a state-independent log-std vector (a model parameter,
 * initialised to 0) is appended to them, so the distribution sees [mean(A), log_std(A)].
 *
 * DESIGN: layouts are batch-major, (B, T, features), so one rollout sequence is a contiguous
 * block of rows. reset[b*T + t] = 1 means the recurrent state is zeroed before step t.
 */
#ifndef NN_MODEL_H
#define NN_MODEL_H

#include "ag_rng.h"

#include "ag_model.h"

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#define NN_MAX_INPUTS 8
#define NN_NAME_MAX   32
#define NN_VIEW_MAX   64

typedef struct NnInputSpec {
    char name[NN_NAME_MAX];
    int shape[3]; /* (n, 1, 1) vector or (C, H, W) image */
    int size;
    int offset; /* within the observation row */
    int critic_only;
    char view[NN_VIEW_MAX]; /* an image's camera (EnvSensation.view); "" when not recorded */
} NnInputSpec;

typedef struct NnIoSpec {
    int num_inputs;
    NnInputSpec inputs[NN_MAX_INPUTS];
    int obs_size;       /* floats per observation row */
    int policy_outputs; /* raw outputs of the policy head */
    int logstd_dim;     /* > 0: append a state-independent log-std of this size */
} NnIoSpec;

typedef struct NnModel NnModel;
typedef struct NnTrainCtx NnTrainCtx;
typedef struct NnStepCtx NnStepCtx;

/* desc: a preset name ("simple", "simple_lstm", "simple_gru", "deeper", "deeper_lstm", ...,
 * "wider", "wider_lstm", "pathways") as a JSON string, or a description object. Errors name the
 * JSON path ("model.core.units: must be positive"). */
NnModel *nn_model_create(const json_t *desc, const NnIoSpec *io, char *err, size_t err_sz);
void nn_model_destroy(NnModel *model);
/* the full description with presets expanded (new reference); feeding it back to
 * nn_model_create gives the same layout */
json_t *nn_model_describe(const NnModel *model);
/* names of the presets, NULL-terminated (one list for every program: ag_model) */
#define nn_model_preset_names ag_model_preset_names

size_t nn_model_num_params(const NnModel *model);
float *nn_model_params(NnModel *model);
float *nn_model_grads(NnModel *model);
const float *nn_model_params_const(const NnModel *model);
/* orthogonal init with gain sqrt(2) for hidden layers, 0.01 for the policy mean head, 1 for the
 * value head; zero biases; log-std 0 */
void nn_model_init_params(NnModel *model, AgRng *rng);
void nn_model_zero_grad(NnModel *model);
/* floats of recurrent state per environment (policy and value cores together); 0 if none */
int nn_model_state_size(const NnModel *model);
int nn_model_is_recurrent(const NnModel *model);
const NnIoSpec *nn_model_io(const NnModel *model);
/* multiply-adds of one forward pass of one sample (policy + value), for FLOP counts */
double nn_model_forward_flops(const NnModel *model);

/* named views into the parameter block, for tests, analysis and checkpoints */
int nn_model_num_tensors(const NnModel *model);
const char *nn_model_tensor_name(const NnModel *model, int index);
size_t nn_model_tensor_offset(const NnModel *model, int index);
size_t nn_model_tensor_size(const NnModel *model, int index);

/* training: a workspace for up to max_batch sequences of seq_len steps */
NnTrainCtx *nn_train_ctx_create(const NnModel *model, int max_batch, int seq_len);
void nn_train_ctx_destroy(NnTrainCtx *ctx);
/* obs (B, T, obs_size); state0 (B, state_size) or NULL for zeros; reset (B, T) or NULL;
 * policy_out (B, T, policy_outputs + logstd_dim); value_out (B, T). Caches activations. */
void nn_model_forward(NnModel *model, NnTrainCtx *ctx, int batch, const float *obs,
                      const float *state0, const uint8_t *reset, float *policy_out,
                      float *value_out);
/* accumulates parameter gradients of sum(d_policy * policy_out) + sum(d_value * value_out)
 * for the last forward of this context; either gradient may be NULL for zeros */
void nn_model_backward(NnModel *model, NnTrainCtx *ctx, const float *d_policy_out,
                       const float *d_value_out);

/* backward passes through input `input`'s pathway (every network's counted), since the model
 * was made: a frozen encoder's (model.encoder, docs/model.md) stays at 0 */
int64_t nn_model_pathway_backward_count(const NnModel *model, int input);

/* training forward passes through input `input`'s pathway (every network's counted) since the
 * model was made; nn_model_forward_features does not run a frozen encoder's */
int64_t nn_model_pathway_forward_count(const NnModel *model, int input);

/* Features of a frozen encoder. Its pathway's output depends on the observation alone and its
 * weights never change, so the training forward can take that output from the step that acted
 * instead of running the pathway (convolutions at full image size) again in every epoch.
 * A feature row is an observation row with the frozen input's values replaced by its pathway's
 * output (the inputs after it move up by the difference); nn_model_feature_row_size floats.
 * Without a frozen encoder (none, or "freeze": false) it is the observation row itself, and
 * nn_model_feature_input is -1.
 * DESIGN: every network's pathway of the input holds the same loaded weights, so one copy of
 * the output serves the policy and the value network alike. */
int nn_model_feature_input(const NnModel *model);
int nn_model_feature_row_size(const NnModel *model);

/* inference: one step for up to max_envs environments */
NnStepCtx *nn_step_ctx_create(const NnModel *model, int max_envs);
void nn_step_ctx_destroy(NnStepCtx *ctx);
/* obs (n, obs_size); state_in (n, state_size) (ignored if feed-forward); state_out may equal
 * state_in, or be NULL to leave the state alone (bootstrap values); policy_out or value_out may
 * be NULL to skip that network */
void nn_model_step(const NnModel *model, NnStepCtx *ctx, int n, const float *obs,
                   const float *state_in, float *state_out, float *policy_out, float *value_out);

/* pathway forward passes that steps on this context ran for input `input` (every network's
 * counted): a frozen encoder's runs once a step, for the policy and the value network alike,
 * except in a probed step */
int64_t nn_step_ctx_pathway_count(const NnStepCtx *ctx, int input);
/* after nn_model_step (or nn_model_step_probed) of the n observations obs, their feature rows:
 * row r at rows + r * row_stride (row_stride >= nn_model_feature_row_size). The step must have
 * run a network that sees the frozen input (a policy step does). */
void nn_model_step_feature_rows(const NnModel *model, const NnStepCtx *ctx, int n, const float *obs,
                                float *rows, size_t row_stride);
/* a training workspace for nn_model_forward_features alone: without room for the frozen
 * encoder's input and activations (nn_model_forward on it is a caller bug and aborts); the
 * same as nn_train_ctx_create without a frozen encoder */
NnTrainCtx *nn_train_ctx_create_features(const NnModel *model, int max_batch, int seq_len);
/* bytes of a training workspace's buffers */
size_t nn_train_ctx_bytes(const NnTrainCtx *ctx);
/* nn_model_forward on feature rows (B, T, nn_model_feature_row_size) in place of observations:
 * the frozen encoder's pathway is not run, its output is read from the rows. The same outputs
 * as nn_model_forward on the observations the rows were made from, up to the float rounding of
 * the products (BLAS may sum in another order at other shapes); nn_model_backward follows it
 * the same way. */
void nn_model_forward_features(NnModel *model, NnTrainCtx *ctx, int batch, const float *rows,
                               const float *state0, const uint8_t *reset, float *policy_out,
                               float *value_out);

/* Probes: every recordable layer output of the inference step, for activation recordings.
 * Names follow the parameter names: "<net>.in.<input>.<k>.<kind>", "<net>.trunk.<k>.<kind>",
 * "<net>.post.<k>.<kind>" with <kind> the layer's ("dense", "tanh", "conv2d", ...), and for a
 * core "<net>.core.h", "<net>.core.c" (LSTM), "<net>.core.gate_i|f|g|o" (LSTM) or
 * "<net>.core.gate_r|z|n" (GRU), the gates after their activation. <net> is "policy"/"value",
 * or "shared"/"value" in shared mode. Flatten layers are left out (their input's values); the
 * heads' outputs are the step's policy_out and value_out. Listed network by network, each in the
 * order the step computes them. */
#define NN_PROBE_NAME_MAX 96

typedef struct NnProbe {
    char name[NN_PROBE_NAME_MAX];
    const char *type; /* layer kind, or "lstm_h", "lstm_c", "lstm_gate", "gru_h", "gru_gate" */
    const char *net;  /* "policy", "value" or "shared" */
    int rank;         /* 1: shape[0] features; 3: a (C, H, W) feature map */
    int shape[3];
    int size; /* floats per environment */
} NnProbe;

int nn_model_num_probes(const NnModel *model);
const NnProbe *nn_model_probe(const NnModel *model, int index); /* NULL out of range */
/* nn_model_step that also writes probe k's output for the n environments into probe_out[k]
 * (n, size) wherever probe_out[k] is not NULL; probe_out has nn_model_num_probes entries, or is
 * NULL for none. Probes of a network the step skips are left alone. Every other output is the
 * same as nn_model_step's, bit for bit, and nothing is allocated. */
void nn_model_step_probed(const NnModel *model, NnStepCtx *ctx, int n, const float *obs,
                          const float *state_in, float *state_out, float *policy_out,
                          float *value_out, float *const *probe_out);

#endif
