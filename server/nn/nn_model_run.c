/* Running the model graph (nn_model_graph.h): the training and inference workspaces, the training
 * forward and backward over (B, T) sequences and the batched one-step inference (with or without
 * probes), calling the layer kernels of nn_layers.h.
 *
 * DESIGN:
 * - Non-recurrent layers run on all B*T rows at once (one sgemm per layer); the core runs over
 *   the sequences.
 * - Backward walks the same graph in reverse with two ping-pong gradient buffers per network.
 * - Every workspace buffer is carved from one allocation made when the context is created. */
#include "nn_model.h"

#include "nn_layers.h"
#include "nn_model_graph.h"
#include "nn_model_int.h"

#include "ag_log.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* ---- workspaces ---- */

typedef struct NnChainBuf {
    float *out[NN_MAX_LAYERS];
    float *mean[NN_MAX_LAYERS], *rstd[NN_MAX_LAYERS], *probs[NN_MAX_LAYERS];
    int32_t *argmax[NN_MAX_LAYERS];
    float *y[NN_MAX_LAYERS]; /* where each op's output is after a forward */
} NnChainBuf;

typedef struct NnNetBuf {
    NnChainBuf path[NN_MAX_INPUTS], trunk, post;
    float *path_y[NN_MAX_INPUTS];
    float *merged, *core_out, *core_cache, *core_scratch, *h0, *c0;
    float *core_x; /* the core's input after a forward */
    float *conv_scratch;
    float *g[2];
    float *dfeat, *dpath[NN_MAX_INPUTS];
    float *feat; /* the network's output features after a forward */
} NnNetBuf;

typedef struct NnCtx {
    int train, max_batch, T, rows_max;
    int features_only; /* takes feature rows only: no room for the frozen pathway */
    int batch;         /* of the last forward */
    float *xin[NN_MAX_INPUTS];
    /* a frozen encoder's output: read from feature rows (training), or where the last step
     * left it for feat_rows environments (inference) */
    int use_feat;
    float *xfeat;
    float *feat_y;
    int feat_rows;
    int64_t path_runs[NN_MAX_INPUTS]; /* pathway forward passes run, by input */
    NnNetBuf net[2];
    float *vin, *dvin, *hp, *dhp;
    uint8_t *reset;
    int has_reset;
    float *arena;
    size_t arena_floats;
} NnCtx;

struct NnTrainCtx {
    NnCtx c;
};
struct NnStepCtx {
    NnCtx c;
};

/* hands out 64-byte aligned pieces of the arena; with no arena it only counts */
static float *carve(NnCtx *c, size_t *used, size_t n) {
    size_t at = *used;
    *used += (n + 15) & ~(size_t)15;
    return c->arena ? c->arena + at : NULL;
}

static void chain_layout(NnCtx *c, size_t *used, const NnChain *ch, NnChainBuf *cb, size_t rows) {
    for (int k = 0; k < ch->n; k++) {
        const NnOp *op = &ch->op[k];
        size_t out = rows * (size_t)nn_shape_size(op->out);
        if (!op->in_place) {
            cb->out[k] = carve(c, used, out);
        }
        if (op->d.kind == NN_LAYER_LAYERNORM && c->train) {
            cb->mean[k] = carve(c, used, rows);
            cb->rstd[k] = carve(c, used, rows);
        }
        if (op->d.kind == NN_LAYER_MAXPOOL && c->train) {
            cb->argmax[k] = (int32_t *)carve(c, used, out);
        }
        if (op->d.kind == NN_LAYER_SPATIAL_SOFTMAX) {
            cb->probs[k] = carve(c, used, rows * (size_t)nn_shape_size(op->in));
        }
    }
}

static void ctx_layout(const NnModel *m, NnCtx *c, size_t *used) {
    size_t rows = (size_t)c->rows_max, B = (size_t)c->max_batch, T = (size_t)c->T;
    /* the frozen encoder's input and activations, unless the context never runs them */
    int skip = c->features_only ? m->feat_input : -1;
    *used = 0;
    for (int i = 0; i < m->io.num_inputs; i++) {
        if (i != skip) {
            c->xin[i] = carve(c, used, rows * (size_t)m->io.inputs[i].size);
        }
    }
    if (c->train && m->feat_input >= 0) {
        c->xfeat = carve(c, used, rows * (size_t)m->feat_size);
    }
    for (int n = 0; n < m->num_nets; n++) {
        const NnNet *net = &m->net[n];
        NnNetBuf *nb = &c->net[n];
        for (int p = 0; p < net->num_paths; p++) {
            if (net->input[p] == skip) {
                continue;
            }
            chain_layout(c, used, &net->path[p], &nb->path[p], rows);
            if (c->train) {
                nb->dpath[p] = carve(c, used, rows * (size_t)net->path_out[p]);
            }
        }
        nb->merged = carve(c, used, rows * (size_t)net->merged);
        chain_layout(c, used, &net->trunk, &nb->trunk, rows);
        if (net->core != NN_CORE_NONE) {
            size_t H = (size_t)net->H;
            nb->core_out = carve(c, used, rows * H);
            nb->h0 = carve(c, used, B * H);
            nb->c0 = carve(c, used, B * H);
            if (net->core == NN_CORE_LSTM) {
                nb->core_cache =
                    c->train ? carve(c, used, nn_lstm_cache_size((int)B, (int)T, (int)H)) : NULL;
                size_t s = c->train ? nn_lstm_backward_scratch_size((int)B, (int)T, (int)H)
                                    : nn_lstm_step_scratch_size((int)B, (int)H);
                nb->core_scratch = carve(c, used, s);
            } else {
                nb->core_cache =
                    c->train ? carve(c, used, nn_gru_cache_size((int)B, (int)T, (int)H)) : NULL;
                size_t s = c->train ? nn_gru_backward_scratch_size((int)B, (int)T, (int)H)
                                    : nn_gru_step_scratch_size((int)B, (int)H);
                nb->core_scratch = carve(c, used, s);
            }
        }
        chain_layout(c, used, &net->post, &nb->post, rows);
        size_t scratch = skip >= 0 ? net->feat_conv_scratch : net->conv_scratch;
        size_t width = (size_t)(skip >= 0 ? net->feat_max_width : net->max_width);
        nb->conv_scratch = scratch ? carve(c, used, scratch) : NULL;
        if (c->train) {
            nb->g[0] = carve(c, used, rows * width);
            nb->g[1] = carve(c, used, rows * width);
            nb->dfeat = carve(c, used, rows * (size_t)net->feat);
        }
    }
    c->vin = carve(c, used, rows * (size_t)m->value_in);
    c->hp = carve(c, used, rows * (size_t)m->io.policy_outputs);
    if (c->train) {
        c->dvin = carve(c, used, rows * (size_t)m->value_in);
        c->dhp = carve(c, used, rows * (size_t)m->io.policy_outputs);
    }
    c->reset = (uint8_t *)carve(c, used, (rows + 3) / 4);
}

static NnCtx *ctx_create(const NnModel *m, size_t self, int train, int features_only, int max_batch,
                         int T) {
    if (!m || max_batch < 1 || T < 1 || (size_t)max_batch * (size_t)T > (size_t)1 << 26) {
        return NULL;
    }
    NnCtx *c = calloc(1, self);
    if (!c) {
        return NULL;
    }
    c->train = train;
    c->features_only = features_only;
    c->max_batch = max_batch;
    c->T = T;
    c->rows_max = max_batch * T;
    size_t used = 0;
    ctx_layout(m, c, &used);
    c->arena = calloc(used ? used : 1, sizeof(float));
    if (!c->arena) {
        free(c);
        return NULL;
    }
    c->arena_floats = used;
    ctx_layout(m, c, &used);
    return c;
}

NnTrainCtx *nn_train_ctx_create(const NnModel *model, int max_batch, int seq_len) {
    return (NnTrainCtx *)ctx_create(model, sizeof(NnTrainCtx), 1, 0, max_batch, seq_len);
}

NnTrainCtx *nn_train_ctx_create_features(const NnModel *model, int max_batch, int seq_len) {
    return (NnTrainCtx *)ctx_create(model, sizeof(NnTrainCtx), 1, 1, max_batch, seq_len);
}

int64_t nn_step_ctx_pathway_count(const NnStepCtx *ctx, int input) {
    return input >= 0 && input < NN_MAX_INPUTS ? ctx->c.path_runs[input] : 0;
}

size_t nn_train_ctx_bytes(const NnTrainCtx *ctx) {
    return ctx->c.arena_floats * sizeof(float);
}

void nn_train_ctx_destroy(NnTrainCtx *ctx) {
    if (ctx) {
        free(ctx->c.arena);
        free(ctx);
    }
}

NnStepCtx *nn_step_ctx_create(const NnModel *model, int max_envs) {
    return (NnStepCtx *)ctx_create(model, sizeof(NnStepCtx), 0, 0, max_envs, 1);
}

void nn_step_ctx_destroy(NnStepCtx *ctx) {
    if (ctx) {
        free(ctx->c.arena);
        free(ctx);
    }
}

/* ---- forward ---- */

/* copies probe k's rows (each `size` floats, `stride` apart in src) into probe_out[k] when the
 * caller asked for it (the probed step); probe_out is NULL otherwise */
static void probe_put(float *const *probe_out, int k, const float *src, int rows, int size,
                      int stride) {
    if (!probe_out || k < 0 || !probe_out[k]) {
        return;
    }
    if (stride == size) {
        memcpy(probe_out[k], src, (size_t)rows * size * sizeof(float));
        return;
    }
    for (int r = 0; r < rows; r++) {
        memcpy(probe_out[k] + (size_t)r * size, src + (size_t)r * stride,
               (size_t)size * sizeof(float));
    }
}

static float *chain_forward(const NnModel *m, const NnChain *ch, NnChainBuf *cb, NnNetBuf *nb,
                            int train, float *x, int rows, float *const *probe_out) {
    const float *P = m->params;
    for (int k = 0; k < ch->n; k++) {
        const NnOp *op = &ch->op[k];
        float *y = op->in_place ? x : cb->out[k];
        int C = nn_shape_size(op->in), OC = nn_shape_size(op->out);
        switch (op->d.kind) {
        case NN_LAYER_DENSE:
            nn_dense_forward(y, x, P + op->w, P + op->b, rows, C, OC);
            break;
        case NN_LAYER_LAYERNORM:
            nn_layernorm_forward(y, train ? cb->mean[k] : NULL, train ? cb->rstd[k] : NULL, x,
                                 P + op->w, P + op->b, rows, C);
            break;
        case NN_LAYER_CONV2D:
            nn_conv2d_forward(y, nb->conv_scratch, x, P + op->w, P + op->b, rows, op->in.c,
                              op->in.h, op->in.w, op->d.filters, op->d.kernel, op->d.stride,
                              op->pad);
            break;
        case NN_LAYER_MAXPOOL:
            nn_maxpool_forward(y, train ? cb->argmax[k] : NULL, x, rows, op->in.c, op->in.h,
                               op->in.w, op->d.size);
            break;
        case NN_LAYER_SPATIAL_SOFTMAX:
            nn_spatial_softmax_forward(y, cb->probs[k], x, rows, op->in.c, op->in.h, op->in.w);
            break;
        case NN_LAYER_FLATTEN:
            break;
        default:
            nn_act_forward(y, x, (size_t)rows * C, (NnAct)op->act);
            break;
        }
        cb->y[k] = y;
        x = y;
        /* now: the next op may overwrite y in place */
        probe_put(probe_out, op->probe, y, rows, OC, OC);
    }
    return x;
}

static void state_gather(float *dst, const float *state, int n, int stride, int off, int H) {
    for (int r = 0; r < n; r++) {
        memcpy(dst + (size_t)r * H, state + (size_t)r * stride + off, (size_t)H * sizeof(float));
    }
}

static void state_scatter(float *state, const float *src, int n, int stride, int off, int H) {
    for (int r = 0; r < n; r++) {
        memcpy(state + (size_t)r * stride + off, src + (size_t)r * H, (size_t)H * sizeof(float));
    }
}

/* the core's probes after a step: h, c (LSTM) and the activated gates the step functions leave
 * in their scratch (nn_layers.h) */
static void core_probes_put(const NnNet *net, const NnNetBuf *nb, int B, float *const *probe_out) {
    int H = net->H, G = net->core == NN_CORE_LSTM ? 4 : 3;
    probe_put(probe_out, net->probe_h, nb->core_out, B, H, H);
    probe_put(probe_out, net->probe_c, nb->c0, B, H, H);
    for (int g = 0; g < G && net->probe_gate >= 0; g++) {
        probe_put(probe_out, net->probe_gate + g, nb->core_scratch + (size_t)g * H, B, H, G * H);
    }
}

/* runs network n over B sequences of T steps (rows = B*T); in the step context T = 1 and the
 * core advances state_in to state_out, and probe_out (or NULL) receives the probes */
static void net_forward(const NnModel *m, NnCtx *c, int n, int B, int T, const float *state_in,
                        float *state_out, float *const *probe_out) {
    const NnNet *net = &m->net[n];
    NnNetBuf *nb = &c->net[n];
    const float *P = m->params;
    int rows = B * T;
    const float *outs[NN_MAX_INPUTS];
    for (int p = 0; p < net->num_paths; p++) {
        int input = net->input[p], frozen = input == m->feat_input;
        if (frozen && c->use_feat) {
            nb->path_y[p] = c->xfeat;
        } else if (frozen && !c->train && !probe_out && c->feat_y) {
            /* the other network ran its copy of the frozen encoder on these rows this step: the
             * same weights, so the same output (a probed step records both copies' layers) */
            nb->path_y[p] = c->feat_y;
        } else {
            nb->path_y[p] = chain_forward(m, &net->path[p], &nb->path[p], nb, c->train,
                                          c->xin[input], rows, probe_out);
            c->path_runs[input] += net->path[p].n > 0;
            if (frozen && !c->train) {
                c->feat_y = nb->path_y[p];
                c->feat_rows = rows;
            }
        }
        outs[p] = nb->path_y[p];
    }
    nn_concat_forward(nb->merged, outs, net->path_out, net->num_paths, rows);
    float *x = chain_forward(m, &net->trunk, &nb->trunk, nb, c->train, nb->merged, rows, probe_out);
    nb->core_x = x;
    if (net->core != NN_CORE_NONE) {
        int H = net->H, C = net->core_in, S = m->state_size, off = net->state_off;
        int lstm = net->core == NN_CORE_LSTM;
        if (c->train) {
            const float *h0 = NULL, *c0 = NULL;
            if (state_in) {
                state_gather(nb->h0, state_in, B, S, off, H);
                h0 = nb->h0;
                if (lstm) {
                    state_gather(nb->c0, state_in, B, S, off + H, H);
                    c0 = nb->c0;
                }
            }
            const uint8_t *reset = c->has_reset ? c->reset : NULL;
            if (lstm) {
                nn_lstm_forward(nb->core_out, NULL, NULL, nb->core_cache, x, h0, c0, reset,
                                P + net->w_ih, P + net->w_hh, P + net->b_ih, B, T, C, H);
            } else {
                nn_gru_forward(nb->core_out, NULL, nb->core_cache, x, h0, reset, P + net->w_ih,
                               P + net->w_hh, P + net->b_ih, P + net->b_hh, B, T, C, H);
            }
        } else {
            if (state_in) {
                state_gather(nb->h0, state_in, B, S, off, H);
                if (lstm) {
                    state_gather(nb->c0, state_in, B, S, off + H, H);
                }
            } else {
                memset(nb->h0, 0, (size_t)B * H * sizeof(float));
                memset(nb->c0, 0, (size_t)B * H * sizeof(float));
            }
            if (lstm) {
                nn_lstm_step(nb->core_out, nb->c0, nb->core_scratch, x, nb->h0, nb->c0,
                             P + net->w_ih, P + net->w_hh, P + net->b_ih, B, C, H);
            } else {
                nn_gru_step(nb->core_out, nb->core_scratch, x, nb->h0, P + net->w_ih, P + net->w_hh,
                            P + net->b_ih, P + net->b_hh, B, C, H);
            }
            core_probes_put(net, nb, B, probe_out);
            /* store the state before a post layer may overwrite the core's output in place */
            if (state_out) {
                state_scatter(state_out, nb->core_out, B, S, off, H);
                if (lstm) {
                    state_scatter(state_out, nb->c0, B, S, off + H, H);
                }
            }
        }
        x = nb->core_out;
    }
    nb->feat = chain_forward(m, &net->post, &nb->post, nb, c->train, x, rows, probe_out);
}

static void inputs_gather(const NnModel *m, NnCtx *c, const float *obs, int rows) {
    const NnIoSpec *io = &m->io;
    for (int i = 0; i < io->num_inputs; i++) {
        const NnInputSpec *in = &io->inputs[i];
        for (int r = 0; r < rows; r++) {
            memcpy(c->xin[i] + (size_t)r * in->size, obs + (size_t)r * io->obs_size + in->offset,
                   (size_t)in->size * sizeof(float));
        }
    }
}

/* inputs_gather from feature rows: every input but the frozen encoder's, and its output */
static void feature_rows_gather(const NnModel *m, NnCtx *c, const float *frows, int rows) {
    const NnIoSpec *io = &m->io;
    int W = m->frow_size, F = m->feat_size;
    for (int i = 0; i < io->num_inputs; i++) {
        float *dst = i == m->feat_input ? c->xfeat : c->xin[i];
        int size = i == m->feat_input ? F : io->inputs[i].size;
        for (int r = 0; r < rows; r++) {
            memcpy(dst + (size_t)r * size, frows + (size_t)r * W + m->frow_off[i],
                   (size_t)size * sizeof(float));
        }
    }
}

static void policy_head(const NnModel *m, NnCtx *c, int rows, float *policy_out) {
    const float *P = m->params;
    int PO = m->io.policy_outputs, L = m->io.logstd_dim, W = PO + L;
    nn_dense_forward(c->hp, c->net[0].feat, P + m->ph_w, P + m->ph_b, rows, m->net[0].feat, PO);
    for (int r = 0; r < rows; r++) {
        memcpy(policy_out + (size_t)r * W, c->hp + (size_t)r * PO, (size_t)PO * sizeof(float));
        if (L > 0) {
            memcpy(policy_out + (size_t)r * W + PO, P + m->logstd, (size_t)L * sizeof(float));
        }
    }
}

/* the value head's input: the value network's features, or in shared mode with critic-only
 * inputs net 0's features followed by net 1's */
static const float *value_input(const NnModel *m, NnCtx *c, int rows) {
    if (!m->desc.shared || m->num_nets == 1) {
        return c->net[m->value_net].feat;
    }
    const float *parts[2] = {c->net[0].feat, c->net[1].feat};
    int widths[2] = {m->net[0].feat, m->net[1].feat};
    nn_concat_forward(c->vin, parts, widths, 2, rows);
    return c->vin;
}

/* the training forward on observation rows, or (features) on feature rows */
static void model_forward(NnModel *model, NnCtx *c, int batch, const float *obs, int features,
                          const float *state0, const uint8_t *reset, float *policy_out,
                          float *value_out) {
    const NnModel *m = model;
    int T = c->T, rows = batch * T;
    if (batch < 1 || batch > c->max_batch) {
        /* a caller bug: silently skipping would train on stale outputs */
        ag_log_error("nn_model_forward: batch %d outside the context's 1..%d", batch, c->max_batch);
        abort();
    }
    if (!features && c->features_only && m->feat_input >= 0) {
        ag_log_error("nn_model_forward: this context takes feature rows only");
        abort();
    }
    c->batch = batch;
    c->has_reset = reset != NULL;
    if (reset) {
        memcpy(c->reset, reset, (size_t)rows);
    }
    c->use_feat = features && m->feat_input >= 0;
    if (c->use_feat) {
        feature_rows_gather(m, c, obs, rows);
    } else {
        inputs_gather(m, c, obs, rows);
    }
    for (int n = 0; n < m->num_nets; n++) {
        net_forward(m, c, n, batch, T, state0, NULL, NULL);
        for (int p = 0; p < m->net[n].num_paths; p++) {
            int input = m->net[n].input[p];
            if (m->net[n].path[p].n > 0 && !(c->use_feat && input == m->feat_input)) {
                model->path_forward[input]++;
            }
        }
    }
    policy_head(m, c, rows, policy_out);
    const float *vin = value_input(m, c, rows);
    nn_dense_forward(value_out, vin, m->params + m->vh_w, m->params + m->vh_b, rows, m->value_in,
                     1);
}

void nn_model_forward(NnModel *model, NnTrainCtx *ctx, int batch, const float *obs,
                      const float *state0, const uint8_t *reset, float *policy_out,
                      float *value_out) {
    model_forward(model, &ctx->c, batch, obs, 0, state0, reset, policy_out, value_out);
}

void nn_model_forward_features(NnModel *model, NnTrainCtx *ctx, int batch, const float *rows,
                               const float *state0, const uint8_t *reset, float *policy_out,
                               float *value_out) {
    model_forward(model, &ctx->c, batch, rows, 1, state0, reset, policy_out, value_out);
}

void nn_model_step_feature_rows(const NnModel *model, const NnStepCtx *ctx, int n, const float *obs,
                                float *rows, size_t row_stride) {
    const NnCtx *c = &ctx->c;
    const NnModel *m = model;
    const NnIoSpec *io = &m->io;
    size_t O = (size_t)io->obs_size;
    if (m->feat_input < 0) {
        for (int r = 0; r < n; r++) {
            memcpy(rows + (size_t)r * row_stride, obs + (size_t)r * O, O * sizeof(float));
        }
        return;
    }
    if (!c->feat_y || n > c->feat_rows) {
        /* a caller bug: the rows would hold another step's features */
        ag_log_error("nn_model_step_feature_rows: %d rows, the last step left features of %d", n,
                     c->feat_y ? c->feat_rows : 0);
        abort();
    }
    const NnInputSpec *in = &io->inputs[m->feat_input];
    size_t at = (size_t)in->offset, size = (size_t)in->size, F = (size_t)m->feat_size;
    size_t after = O - at - size;
    for (int r = 0; r < n; r++) {
        float *dst = rows + (size_t)r * row_stride;
        const float *src = obs + (size_t)r * O;
        memcpy(dst, src, at * sizeof(float));
        memcpy(dst + at, c->feat_y + (size_t)r * F, F * sizeof(float));
        memcpy(dst + at + F, src + at + size, after * sizeof(float));
    }
}

void nn_model_step(const NnModel *model, NnStepCtx *ctx, int n, const float *obs,
                   const float *state_in, float *state_out, float *policy_out, float *value_out) {
    nn_model_step_probed(model, ctx, n, obs, state_in, state_out, policy_out, value_out, NULL);
}

void nn_model_step_probed(const NnModel *model, NnStepCtx *ctx, int n, const float *obs,
                          const float *state_in, float *state_out, float *policy_out,
                          float *value_out, float *const *probe_out) {
    NnCtx *c = &ctx->c;
    const NnModel *m = model;
    if (n < 1 || n > c->max_batch) {
        ag_log_error("nn_model_step: %d environments outside the context's 1..%d", n, c->max_batch);
        abort();
    }
    int run[2] = {0, 0};
    if (m->desc.shared) {
        run[0] = policy_out || value_out;
        run[1] = m->num_nets > 1 && value_out;
    } else {
        run[0] = policy_out != NULL;
        run[1] = value_out != NULL;
    }
    c->has_reset = 0;
    c->feat_y = NULL;
    inputs_gather(m, c, obs, n);
    int S = m->state_size;
    for (int k = 0; k < m->num_nets; k++) {
        const NnNet *net = &m->net[k];
        if (run[k]) {
            net_forward(m, c, k, n, 1, state_in, state_out, probe_out);
        } else if (net->state_size && state_out && state_out != state_in) {
            /* a skipped network keeps its state */
            for (int r = 0; r < n; r++) {
                memcpy(state_out + (size_t)r * S + net->state_off,
                       state_in + (size_t)r * S + net->state_off,
                       (size_t)net->state_size * sizeof(float));
            }
        }
    }
    if (policy_out) {
        policy_head(m, c, n, policy_out);
    }
    if (value_out) {
        const float *vin = value_input(m, c, n);
        nn_dense_forward(value_out, vin, m->params + m->vh_w, m->params + m->vh_b, n, m->value_in,
                         1);
    }
}

/* ---- backward ---- */

static float *other(NnNetBuf *nb, const float *cur) {
    return cur == nb->g[0] ? nb->g[1] : nb->g[0];
}

/* backward through a chain from dout (writable, consumed); returns the gradient of the chain's
 * input (in a gradient buffer), or NULL when need_dinp is 0 */
static float *chain_backward(NnModel *m, const NnChain *ch, NnChainBuf *cb, NnNetBuf *nb, float *in,
                             float *dout, int rows, int need_dinp) {
    const float *P = m->params;
    float *G = m->grads;
    float *cur = dout;
    for (int k = ch->n - 1; k >= 0; k--) {
        const NnOp *op = &ch->op[k];
        float *x = k > 0 ? cb->y[k - 1] : in;
        int need = k > 0 || need_dinp;
        int C = nn_shape_size(op->in), OC = nn_shape_size(op->out);
        if (op->d.kind == NN_LAYER_FLATTEN) {
            continue;
        }
        if (op->act >= 0) {
            if (need) {
                nn_act_backward(cur, cur, cb->y[k], (size_t)rows * C, (NnAct)op->act);
            }
            continue;
        }
        float *dx = need ? other(nb, cur) : NULL;
        if (dx) {
            memset(dx, 0, (size_t)rows * C * sizeof(float));
        }
        switch (op->d.kind) {
        case NN_LAYER_DENSE:
            nn_dense_backward(dx, G + op->w, G + op->b, cur, x, P + op->w, rows, C, OC);
            break;
        case NN_LAYER_LAYERNORM:
            nn_layernorm_backward(dx, G + op->w, G + op->b, cur, x, P + op->w, cb->mean[k],
                                  cb->rstd[k], rows, C);
            break;
        case NN_LAYER_CONV2D:
            nn_conv2d_backward(dx, G + op->w, G + op->b, nb->conv_scratch, cur, x, P + op->w, rows,
                               op->in.c, op->in.h, op->in.w, op->d.filters, op->d.kernel,
                               op->d.stride, op->pad);
            break;
        case NN_LAYER_MAXPOOL:
            if (dx) {
                nn_maxpool_backward(dx, cur, cb->argmax[k], rows, op->in.c, op->in.h, op->in.w,
                                    op->d.size);
            }
            break;
        case NN_LAYER_SPATIAL_SOFTMAX:
            if (dx) {
                nn_spatial_softmax_backward(dx, cur, cb->probs[k], rows, op->in.c, op->in.h,
                                            op->in.w);
            }
            break;
        default:
            break;
        }
        if (!dx) {
            return NULL; /* nothing upstream needs a gradient */
        }
        cur = dx;
    }
    return need_dinp ? cur : NULL;
}

static void net_backward(NnModel *m, NnCtx *c, int n, int B, int T) {
    const NnNet *net = &m->net[n];
    NnNetBuf *nb = &c->net[n];
    const float *P = m->params;
    float *G = m->grads;
    int rows = B * T;
    float *cur = nb->dfeat;
    float *post_in = net->core != NN_CORE_NONE ? nb->core_out : nb->core_x;
    cur = chain_backward(m, &net->post, &nb->post, nb, post_in, cur, rows, 1);
    if (net->core != NN_CORE_NONE) {
        float *dx = other(nb, cur);
        int H = net->H, C = net->core_in;
        memset(dx, 0, (size_t)rows * C * sizeof(float));
        const uint8_t *reset = c->has_reset ? c->reset : NULL;
        if (net->core == NN_CORE_LSTM) {
            nn_lstm_backward(dx, G + net->w_ih, G + net->w_hh, G + net->b_ih, cur, NULL, NULL,
                             nb->core_x, reset, P + net->w_ih, P + net->w_hh, nb->core_cache,
                             nb->core_scratch, B, T, C, H);
        } else {
            nn_gru_backward(dx, G + net->w_ih, G + net->w_hh, G + net->b_ih, G + net->b_hh, cur,
                            NULL, nb->core_x, reset, P + net->w_ih, P + net->w_hh, nb->core_cache,
                            nb->core_scratch, B, T, C, H);
        }
        cur = dx;
    }
    cur = chain_backward(m, &net->trunk, &nb->trunk, nb, nb->merged, cur, rows, 1);
    float *dparts[NN_MAX_INPUTS];
    for (int p = 0; p < net->num_paths; p++) {
        dparts[p] = NULL;
        /* a frozen encoder's pathway has no gradient to take, and its input needs none */
        int frozen = m->desc.encoder.freeze && m->desc.encoder.input == net->input[p];
        if (net->path[p].n > 0 && !frozen) {
            dparts[p] = nb->dpath[p];
            memset(dparts[p], 0, (size_t)rows * net->path_out[p] * sizeof(float));
        }
    }
    nn_concat_backward(dparts, cur, net->path_out, net->num_paths, rows);
    for (int p = 0; p < net->num_paths; p++) {
        if (dparts[p]) {
            chain_backward(m, &net->path[p], &nb->path[p], nb, c->xin[net->input[p]], dparts[p],
                           rows, 0);
            m->path_backward[net->input[p]]++;
        }
    }
}

void nn_model_backward(NnModel *model, NnTrainCtx *ctx, const float *d_policy_out,
                       const float *d_value_out) {
    NnCtx *c = &ctx->c;
    NnModel *m = model;
    int B = c->batch, T = c->T, rows = B * T;
    if (B < 1 || (!d_policy_out && !d_value_out)) {
        return;
    }
    const float *P = m->params;
    float *G = m->grads;
    for (int n = 0; n < m->num_nets; n++) {
        memset(c->net[n].dfeat, 0, (size_t)rows * m->net[n].feat * sizeof(float));
    }
    if (d_policy_out) {
        int PO = m->io.policy_outputs, L = m->io.logstd_dim, W = PO + L;
        for (int r = 0; r < rows; r++) {
            memcpy(c->dhp + (size_t)r * PO, d_policy_out + (size_t)r * W,
                   (size_t)PO * sizeof(float));
            for (int j = 0; j < L; j++) {
                G[m->logstd + j] += d_policy_out[(size_t)r * W + PO + j];
            }
        }
        nn_dense_backward(c->net[0].dfeat, G + m->ph_w, G + m->ph_b, c->dhp, c->net[0].feat,
                          P + m->ph_w, rows, m->net[0].feat, PO);
    }
    if (d_value_out) {
        if (!m->desc.shared || m->num_nets == 1) {
            int v = m->value_net;
            nn_dense_backward(c->net[v].dfeat, G + m->vh_w, G + m->vh_b, d_value_out,
                              c->net[v].feat, P + m->vh_w, rows, m->value_in, 1);
        } else {
            memset(c->dvin, 0, (size_t)rows * m->value_in * sizeof(float));
            nn_dense_backward(c->dvin, G + m->vh_w, G + m->vh_b, d_value_out, c->vin, P + m->vh_w,
                              rows, m->value_in, 1);
            float *parts[2] = {c->net[0].dfeat, c->net[1].dfeat};
            int widths[2] = {m->net[0].feat, m->net[1].feat};
            nn_concat_backward(parts, c->dvin, widths, 2, rows);
        }
    }
    for (int n = 0; n < m->num_nets; n++) {
        /* separate networks only get gradient from their own head */
        if (!m->desc.shared && ((n == 0 && !d_policy_out) || (n == 1 && !d_value_out))) {
            continue;
        }
        if (m->desc.shared && n == 1 && !d_value_out) {
            continue;
        }
        net_backward(m, c, n, B, T);
    }
}
