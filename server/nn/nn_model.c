/* The model graph's construction: builds policy and value networks from a parsed description
 * (nn_model_desc.c) into the graph of nn_model_graph.h, lays out every parameter in one block with
 * named views, and initialises the parameters. The passes over the graph (workspaces, forward,
 * backward, one-step inference) are in nn_model_run.c.
 *
 * DESIGN:
 * - Parameter names: "<net>.in.<input>.<k>.w|b", "<net>.trunk.<k>.w|b", "<net>.core.w_ih",
 *   "<net>.core.w_hh", "<net>.core.b" (LSTM) or "<net>.core.b_ih|b_hh" (GRU),
 *   "<net>.post.<k>.w|b", "policy.head.w|b", "policy.logstd", "value.head.w|b"; <net> is
 *   "policy"/"value" (separate) or "shared"/"value" (shared). Layer norm uses ".g" and ".b". */
#include "nn_model.h"

#include "ag_error.h"
#include "nn_layers.h"
#include "nn_model_graph.h"
#include "nn_model_int.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NN_MAX_TENSORS 1400

/* ---- building ---- */

static int act_of(NnLayerKind k) {
    switch (k) {
    case NN_LAYER_TANH:
        return NN_ACT_TANH;
    case NN_LAYER_RELU:
        return NN_ACT_RELU;
    case NN_LAYER_ELU:
        return NN_ACT_ELU;
    case NN_LAYER_SIGMOID:
        return NN_ACT_SIGMOID;
    case NN_LAYER_SOFTPLUS:
        return NN_ACT_SOFTPLUS;
    default:
        return -1;
    }
}

static size_t tensor_add(NnModel *m, const char *name, size_t size, NnInit init, int rows, int cols,
                         int blocks, double gain) {
    NnTensor *t = &m->tensors[m->num_tensors++];
    snprintf(t->name, sizeof t->name, "%s", name);
    t->off = m->num_params;
    t->size = size;
    t->init = init;
    t->rows = rows;
    t->cols = cols;
    t->blocks = blocks;
    t->gain = gain;
    m->num_params += size;
    return t->off;
}

static void width_note(NnNet *net, int w) {
    if (w > net->max_width) {
        net->max_width = w;
    }
}

/* builds a chain from layer descriptions starting at shape `in`; `in_private` says whether the
 * chain's input buffer belongs to this network and holds nothing a backward pass reads */
static void chain_build(NnModel *m, NnNet *net, NnChain *ch, const NnLayerList *list, NnShape in,
                        int in_private, const char *prefix) {
    int priv = in_private, needed = 0;
    ch->n = list->n;
    width_note(net, nn_shape_size(in));
    for (int k = 0; k < list->n; k++) {
        NnOp *op = &ch->op[k];
        char name[NN_TENSOR_NAME];
        memset(op, 0, sizeof *op);
        op->d = list->layers[k];
        op->in = in;
        char why[8];
        nn_shape_apply(&op->d, in, &op->out, why, sizeof why); /* validated by the parser */
        op->act = act_of(op->d.kind);
        int C = nn_shape_size(in), OC = nn_shape_size(op->out);
        width_note(net, OC);
        switch (op->d.kind) {
        case NN_LAYER_DENSE:
            snprintf(name, sizeof name, "%s.%d.w", prefix, k);
            op->w =
                tensor_add(m, name, (size_t)OC * C, NN_INIT_ORTH, OC, C, 1, m->desc.hidden_gain);
            snprintf(name, sizeof name, "%s.%d.b", prefix, k);
            op->b = tensor_add(m, name, (size_t)OC, NN_INIT_ZERO, 0, 0, 0, 0);
            m->flops += (double)C * OC;
            break;
        case NN_LAYER_CONV2D: {
            int ckk = in.c * op->d.kernel * op->d.kernel;
            op->pad = op->d.same ? (op->d.kernel - 1) / 2 : 0;
            snprintf(name, sizeof name, "%s.%d.w", prefix, k);
            op->w = tensor_add(m, name, (size_t)op->d.filters * ckk, NN_INIT_ORTH, op->d.filters,
                               ckk, 1, m->desc.hidden_gain);
            snprintf(name, sizeof name, "%s.%d.b", prefix, k);
            op->b = tensor_add(m, name, (size_t)op->d.filters, NN_INIT_ZERO, 0, 0, 0, 0);
            m->flops += (double)ckk * OC;
            size_t s = nn_conv2d_scratch_size(in.c, in.h, in.w, op->d.filters, op->d.kernel,
                                              op->d.stride, op->pad);
            if (s > net->conv_scratch) {
                net->conv_scratch = s;
            }
            break;
        }
        case NN_LAYER_LAYERNORM:
            snprintf(name, sizeof name, "%s.%d.g", prefix, k);
            op->w = tensor_add(m, name, (size_t)C, NN_INIT_ONE, 0, 0, 0, 0);
            snprintf(name, sizeof name, "%s.%d.b", prefix, k);
            op->b = tensor_add(m, name, (size_t)C, NN_INIT_ZERO, 0, 0, 0, 0);
            break;
        default:
            break;
        }
        /* an activation may overwrite its input unless that buffer is shared or holds another
         * activation's output, which that activation's backward reads */
        if (op->d.kind == NN_LAYER_FLATTEN) {
            op->in_place = 1;
        } else if (op->act >= 0 && priv && !needed) {
            op->in_place = 1;
            needed = 1;
        } else {
            priv = 1;
            needed = op->act >= 0;
        }
        in = op->out;
    }
}

static void net_build(NnModel *m, NnNet *net, const char *prefix, int want_critic, int want_policy,
                      int body) {
    char name[NN_TENSOR_NAME];
    net->state_off = m->state_size;
    for (int i = 0; i < m->io.num_inputs; i++) {
        const NnInputSpec *in = &m->io.inputs[i];
        if (in->critic_only ? !want_critic : !want_policy) {
            continue;
        }
        int p = net->num_paths++;
        NnShape s = {in->shape[0], in->shape[1], in->shape[2],
                     in->shape[1] > 1 || in->shape[2] > 1};
        net->input[p] = i;
        snprintf(name, sizeof name, "%s.in.%s", prefix, in->name);
        chain_build(m, net, &net->path[p], &m->desc.pathway[i], s, 0, name);
        NnShape o = s;
        for (int k = 0; k < net->path[p].n; k++) {
            o = net->path[p].op[k].out;
        }
        net->path_out[p] = nn_shape_size(o);
        net->merged += net->path_out[p];
    }
    NnShape x = {net->merged, 1, 1, 0};
    width_note(net, net->merged);
    net->feat = net->merged;
    if (!body) {
        return;
    }
    snprintf(name, sizeof name, "%s.trunk", prefix);
    chain_build(m, net, &net->trunk, &m->desc.trunk, x, 1, name);
    for (int k = 0; k < net->trunk.n; k++) {
        x = net->trunk.op[k].out;
    }
    net->trunk_out = nn_shape_size(x);
    net->core = m->desc.core;
    if (net->core != NN_CORE_NONE) {
        int H = m->desc.core_units, C = nn_shape_size(x);
        int g = net->core == NN_CORE_LSTM ? 4 : 3;
        net->core_in = C;
        net->H = H;
        snprintf(name, sizeof name, "%s.core.w_ih", prefix);
        net->w_ih = tensor_add(m, name, (size_t)g * H * C, NN_INIT_ORTH, g * H, C, g, 1.0);
        snprintf(name, sizeof name, "%s.core.w_hh", prefix);
        net->w_hh = tensor_add(m, name, (size_t)g * H * H, NN_INIT_ORTH, g * H, H, g, 1.0);
        if (net->core == NN_CORE_LSTM) {
            snprintf(name, sizeof name, "%s.core.b", prefix);
            net->b_ih = tensor_add(m, name, (size_t)g * H, NN_INIT_LSTM_BIAS, g * H, 0, 0, 0);
            net->state_size = 2 * H;
        } else {
            snprintf(name, sizeof name, "%s.core.b_ih", prefix);
            net->b_ih = tensor_add(m, name, (size_t)g * H, NN_INIT_ZERO, 0, 0, 0, 0);
            snprintf(name, sizeof name, "%s.core.b_hh", prefix);
            net->b_hh = tensor_add(m, name, (size_t)g * H, NN_INIT_ZERO, 0, 0, 0, 0);
            net->state_size = H;
        }
        m->flops += (double)g * H * (C + H);
        m->state_size += net->state_size;
        x = (NnShape){H, 1, 1, 0};
    }
    snprintf(name, sizeof name, "%s.post", prefix);
    /* without a core the post chain reads the trunk's output, which may be an activation's */
    chain_build(m, net, &net->post, &m->desc.post, x, net->core != NN_CORE_NONE, name);
    for (int k = 0; k < net->post.n; k++) {
        x = net->post.op[k].out;
    }
    net->feat = nn_shape_size(x);
}

NnModel *nn_model_create(const json_t *desc, const NnIoSpec *io, char *err, size_t err_sz) {
    NnModel *m = calloc(1, sizeof *m);
    if (!m || !(m->tensors = calloc(NN_MAX_TENSORS, sizeof *m->tensors))) {
        ag_errorf(err, err_sz, AG_ENOMEM, "model: out of memory");
        goto fail;
    }
    if (nn_desc_parse(desc, io, &m->desc, err, err_sz) < 0) {
        goto fail;
    }
    m->io = *io;
    int critic = 0;
    for (int i = 0; i < io->num_inputs; i++) {
        critic |= io->inputs[i].critic_only;
    }
    if (m->desc.shared) {
        net_build(m, &m->net[0], "shared", 0, 1, 1);
        m->num_nets = 1;
        m->value_net = 0;
        m->value_in = m->net[0].feat;
        if (critic) {
            net_build(m, &m->net[1], "value", 1, 0, 0);
            m->num_nets = 2;
            m->value_net = 1;
            m->value_in += m->net[1].feat;
        }
    } else {
        net_build(m, &m->net[0], "policy", 0, 1, 1);
        net_build(m, &m->net[1], "value", 1, 1, 1);
        m->num_nets = 2;
        m->value_net = 1;
        m->value_in = m->net[1].feat;
    }
    int PO = io->policy_outputs, F0 = m->net[0].feat;
    m->ph_w = tensor_add(m, "policy.head.w", (size_t)PO * F0, NN_INIT_ORTH, PO, F0, 1, 0.01);
    m->ph_b = tensor_add(m, "policy.head.b", (size_t)PO, NN_INIT_ZERO, 0, 0, 0, 0);
    if (io->logstd_dim > 0) {
        m->logstd =
            tensor_add(m, "policy.logstd", (size_t)io->logstd_dim, NN_INIT_ZERO, 0, 0, 0, 0);
    }
    m->vh_w =
        tensor_add(m, "value.head.w", (size_t)m->value_in, NN_INIT_ORTH, 1, m->value_in, 1, 1.0);
    m->vh_b = tensor_add(m, "value.head.b", 1, NN_INIT_ZERO, 0, 0, 0, 0);
    m->flops += (double)PO * F0 + m->value_in;
    for (int n = 0; n < m->num_nets; n++) {
        width_note(&m->net[n], m->net[n].feat);
    }
    if (m->num_params > NN_MAX_PARAMS) {
        ag_errorf(err, err_sz, AG_ETOOBIG, "model: %zu parameters, more than the limit of %zu",
                  m->num_params, NN_MAX_PARAMS);
        goto fail;
    }
    m->params = calloc(m->num_params, sizeof(float));
    m->grads = calloc(m->num_params, sizeof(float));
    if (!m->params || !m->grads || nn_model_probes_build(m) != 0) {
        ag_errorf(err, err_sz, AG_ENOMEM, "model: out of memory for %zu parameters", m->num_params);
        goto fail;
    }
    if (nn_model_encoder_load(m, err, err_sz) != 0) {
        goto fail;
    }
    nn_model_feature_layout(m);
    return m;
fail:
    nn_model_destroy(m);
    return NULL;
}

void nn_model_destroy(NnModel *model) {
    if (!model) {
        return;
    }
    free(model->params);
    free(model->grads);
    free(model->tensors);
    free(model->probes);
    free(model->enc_tensor);
    free(model->enc_values);
    free(model);
}

json_t *nn_model_describe(const NnModel *model) {
    return nn_desc_to_json(&model->desc, &model->io);
}

size_t nn_model_num_params(const NnModel *model) {
    return model->num_params;
}

float *nn_model_params(NnModel *model) {
    return model->params;
}

float *nn_model_grads(NnModel *model) {
    return model->grads;
}

const float *nn_model_params_const(const NnModel *model) {
    return model->params;
}

void nn_model_zero_grad(NnModel *model) {
    memset(model->grads, 0, model->num_params * sizeof(float));
}

int nn_model_state_size(const NnModel *model) {
    return model->state_size;
}

int nn_model_is_recurrent(const NnModel *model) {
    return model->state_size > 0;
}

const NnIoSpec *nn_model_io(const NnModel *model) {
    return &model->io;
}

double nn_model_forward_flops(const NnModel *model) {
    return model->flops;
}

int nn_model_num_tensors(const NnModel *model) {
    return model->num_tensors;
}

const char *nn_model_tensor_name(const NnModel *model, int index) {
    return index >= 0 && index < model->num_tensors ? model->tensors[index].name : NULL;
}

size_t nn_model_tensor_offset(const NnModel *model, int index) {
    return index >= 0 && index < model->num_tensors ? model->tensors[index].off : 0;
}

size_t nn_model_tensor_size(const NnModel *model, int index) {
    return index >= 0 && index < model->num_tensors ? model->tensors[index].size : 0;
}

/* ---- initialisation ---- */

/* LAPACK's Householder QR (part of OpenBLAS); declared here as no LAPACKE header is needed */
void dgeqrf_(const int *m, const int *n, double *a, const int *lda, double *tau, double *work,
             const int *lwork, int *info);
void dorgqr_(const int *m, const int *n, const int *k, double *a, const int *lda, const double *tau,
             double *work, const int *lwork, int *info);

/* orthonormalises the nvec columns (each len long, contiguous) of a with a blocked QR; the
 * signs of R's diagonal are folded in so that the result is uniformly (Haar) distributed.
 * Returns 0, or -1 when LAPACK or memory fails (the caller falls back to Gram-Schmidt). */
static int orthonormalize_qr(double *a, int len, int nvec) {
    int info = 0, lwork = -1;
    double query = 0;
    dgeqrf_(&len, &nvec, a, &len, NULL, &query, &lwork, &info);
    if (info != 0) {
        return -1;
    }
    double query2 = 0;
    dorgqr_(&len, &nvec, &nvec, a, &len, NULL, &query2, &lwork, &info);
    if (info != 0) {
        return -1;
    }
    lwork = (int)fmax(fmax(query, query2), (double)nvec);
    double *tau = malloc(((size_t)nvec + (size_t)lwork + (size_t)nvec) * sizeof(double));
    if (!tau) {
        return -1;
    }
    double *work = tau + nvec, *sign = work + lwork;
    dgeqrf_(&len, &nvec, a, &len, tau, work, &lwork, &info);
    if (info == 0) {
        for (int v = 0; v < nvec; v++) {
            sign[v] = a[(size_t)v * len + v] < 0 ? -1.0 : 1.0;
        }
        dorgqr_(&len, &nvec, &nvec, a, &len, tau, work, &lwork, &info);
    }
    if (info == 0) {
        for (int v = 0; v < nvec; v++) {
            for (int j = 0; j < len; j++) {
                a[(size_t)v * len + j] *= sign[v];
            }
        }
    }
    free(tau);
    return info == 0 ? 0 : -1;
}

/* nvec orthonormal vectors of length len from fresh Gaussian ones: two passes of modified
 * Gram-Schmidt keep the set orthogonal in float precision */
static void gram_schmidt(double *a, int len, int nvec, AgRng *rng) {
    for (int v = 0; v < nvec; v++) {
        double *x = a + (size_t)v * len;
        for (int attempt = 0; attempt < 8; attempt++) {
            for (int j = 0; j < len; j++) {
                x[j] = ag_rng_normal(rng);
            }
            for (int pass = 0; pass < 2; pass++) {
                for (int u = 0; u < v; u++) {
                    const double *y = a + (size_t)u * len;
                    double dot = 0;
                    for (int j = 0; j < len; j++) {
                        dot += x[j] * y[j];
                    }
                    for (int j = 0; j < len; j++) {
                        x[j] -= dot * y[j];
                    }
                }
            }
            double norm = 0;
            for (int j = 0; j < len; j++) {
                norm += x[j] * x[j];
            }
            norm = sqrt(norm);
            if (norm > 1e-6) {
                for (int j = 0; j < len; j++) {
                    x[j] /= norm;
                }
                break;
            }
        }
    }
}

/* fills w (rows, cols) with a scaled orthogonal matrix: orthonormal rows when rows <= cols,
 * orthonormal columns otherwise (QR of Gaussian vectors in double; Gram-Schmidt if LAPACK
 * fails) */
static void orthogonal_fill(float *w, int rows, int cols, double gain, AgRng *rng, double *tmp) {
    int nvec = rows <= cols ? rows : cols, len = rows <= cols ? cols : rows;
    for (size_t j = 0; j < (size_t)nvec * len; j++) {
        tmp[j] = ag_rng_normal(rng);
    }
    if (orthonormalize_qr(tmp, len, nvec) < 0) {
        gram_schmidt(tmp, len, nvec, rng);
    }
    for (int v = 0; v < nvec; v++) {
        for (int j = 0; j < len; j++) {
            double val = gain * tmp[(size_t)v * len + j];
            if (rows <= cols) {
                w[(size_t)v * cols + j] = (float)val;
            } else {
                w[(size_t)j * cols + v] = (float)val;
            }
        }
    }
}

void nn_model_init_params(NnModel *model, AgRng *rng) {
    size_t need = 0;
    for (int i = 0; i < model->num_tensors; i++) {
        const NnTensor *t = &model->tensors[i];
        if (t->init == NN_INIT_ORTH) {
            size_t r = (size_t)(t->rows / t->blocks);
            size_t nvec = r < (size_t)t->cols ? r : (size_t)t->cols;
            size_t len = r < (size_t)t->cols ? (size_t)t->cols : r;
            if (nvec * len > need) {
                need = nvec * len;
            }
        }
    }
    double *tmp = malloc((need ? need : 1) * sizeof(double));
    for (int i = 0; i < model->num_tensors; i++) {
        const NnTensor *t = &model->tensors[i];
        float *p = model->params + t->off;
        switch (t->init) {
        case NN_INIT_ZERO:
            memset(p, 0, t->size * sizeof(float));
            break;
        case NN_INIT_ONE:
            for (size_t j = 0; j < t->size; j++) {
                p[j] = 1.0f;
            }
            break;
        case NN_INIT_LSTM_BIAS: /* forget gate bias 1 (Keras unit_forget_bias) */
            memset(p, 0, t->size * sizeof(float));
            for (size_t j = t->size / 4; j < t->size / 2; j++) {
                p[j] = 1.0f;
            }
            break;
        case NN_INIT_ORTH: {
            int r = t->rows / t->blocks;
            for (int b = 0; b < t->blocks; b++) {
                if (tmp) {
                    orthogonal_fill(p + (size_t)b * r * t->cols, r, t->cols, t->gain, rng, tmp);
                } else { /* out of memory: scaled Gaussian keeps the model usable */
                    for (size_t j = 0; j < (size_t)r * t->cols; j++) {
                        p[(size_t)b * r * t->cols + j] =
                            (float)(t->gain * ag_rng_normal(rng) / sqrt((double)t->cols));
                    }
                }
            }
            break;
        }
        }
    }
    free(tmp);
    nn_model_encoder_apply(model);
}
