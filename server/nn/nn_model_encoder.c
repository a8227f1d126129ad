/* A pretrained encoder in a model (model.encoder, docs/model.md): the checkpoint of
 * angora-train --pretrain is read when the model is built, checked against the input it is
 * for (image shape, pathway layers), and its weights are copied over that input's pathway in
 * every network at each nn_model_init_params. A frozen encoder's pathway gets no backward pass
 * (nn_model_run.c), so its weights keep the values loaded.
 *
 * DESIGN
 * - The checkpoint's own model is rebuilt from its "model" section (description and io, its
 *   encoder member dropped), which gives its tensor table; tensors are matched by the name below
 *   "<net>.in.<input>." (the layer index and the weight or bias), so the saved and the new input
 *   may have different names and the new model may have one network or two. */
#include "nn_ckpt.h"
#include "nn_layers.h"
#include "nn_model_graph.h"

#include "ag_error.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ENC_PATH "model.encoder.checkpoint"

/* the io of a checkpoint's "model" section */
static int enc_io_read(const json_t *j, NnIoSpec *io) {
    memset(io, 0, sizeof *io);
    const json_t *inputs = json_object_get(j, "inputs");
    size_t n = json_array_size(inputs);
    if (n < 1 || n > NN_MAX_INPUTS) {
        return AG_EFORMAT;
    }
    io->num_inputs = (int)n;
    for (size_t i = 0; i < n; i++) {
        const json_t *in = json_array_get(inputs, i);
        NnInputSpec *s = &io->inputs[i];
        const char *name = json_string_value(json_object_get(in, "name"));
        const json_t *shape = json_object_get(in, "shape");
        if (!name || strlen(name) >= sizeof s->name || json_array_size(shape) != 3) {
            return AG_EFORMAT;
        }
        snprintf(s->name, sizeof s->name, "%s", name);
        for (int k = 0; k < 3; k++) {
            s->shape[k] = (int)json_integer_value(json_array_get(shape, (size_t)k));
        }
        s->size = s->shape[0] * s->shape[1] * s->shape[2];
        s->offset = (int)json_integer_value(json_object_get(in, "offset"));
        s->critic_only = json_is_true(json_object_get(in, "critic_only"));
        const char *view = json_string_value(json_object_get(in, "view"));
        snprintf(s->view, sizeof s->view, "%s", view ? view : "");
    }
    io->obs_size = (int)json_integer_value(json_object_get(j, "obs_size"));
    io->policy_outputs = (int)json_integer_value(json_object_get(j, "policy_outputs"));
    io->logstd_dim = (int)json_integer_value(json_object_get(j, "logstd_dim"));
    return 0;
}

/* index of the io input named name, or -1 */
static int enc_input_find(const NnIoSpec *io, const char *name) {
    for (int i = 0; i < io->num_inputs; i++) {
        if (strcmp(io->inputs[i].name, name) == 0) {
            return i;
        }
    }
    return -1;
}

/* the part of a tensor name below "<net>.in.<input>.", or NULL when it is not of that input */
static const char *enc_tensor_rest(const char *tensor, const char *input) {
    const char *in = strstr(tensor, ".in.");
    size_t n = strlen(input);
    if (!in || strncmp(in + 4, input, n) != 0 || in[4 + n] != '.') {
        return NULL;
    }
    return in + 5 + n;
}

/* fills m's copy table from the saved model `src` and its parameters */
static int enc_table_build(NnModel *m, const NnModel *src, const char *src_input,
                           const float *src_params, char *err, size_t err_sz) {
    const char *dst_input = m->io.inputs[m->desc.encoder.input].name;
    size_t total = 0;
    m->enc_tensor = calloc((size_t)m->num_tensors, sizeof *m->enc_tensor);
    m->enc_values = calloc(m->num_params ? m->num_params : 1, sizeof(float));
    if (!m->enc_tensor || !m->enc_values) {
        return ag_errorf(err, err_sz, AG_ENOMEM, "%s: out of memory", ENC_PATH);
    }
    for (int t = 0; t < m->num_tensors; t++) {
        const char *rest = enc_tensor_rest(m->tensors[t].name, dst_input);
        if (!rest) {
            continue;
        }
        int found = -1;
        for (int s = 0; s < src->num_tensors && found < 0; s++) {
            const char *srest = enc_tensor_rest(src->tensors[s].name, src_input);
            if (srest && strcmp(srest, rest) == 0) {
                found = s;
            }
        }
        if (found < 0 || src->tensors[found].size != m->tensors[t].size) {
            return ag_errorf(err, err_sz, AG_EMISMATCH,
                             "%s: the encoder has no tensor of %zu values for %s", ENC_PATH,
                             m->tensors[t].size, m->tensors[t].name);
        }
        memcpy(m->enc_values + total, src_params + src->tensors[found].off,
               m->tensors[t].size * sizeof(float));
        total += m->tensors[t].size;
        m->enc_tensor[m->enc_count++] = t;
    }
    return 0;
}

int nn_model_encoder_load(NnModel *m, char *err, size_t err_sz) {
    const NnEncoderDesc *enc = &m->desc.encoder;
    NnCkpt *ck = NULL;
    json_t *saved = NULL, *own = NULL, *desc = NULL;
    NnModel *src = NULL;
    char why[512] = "";
    int rc = 0;
    if (!enc->on) {
        return 0;
    }
    if ((rc = nn_ckpt_open(&ck, enc->checkpoint, why, sizeof why)) != 0) {
        rc = ag_errorf(err, err_sz, AG_ESPEC, "%s: cannot read the encoder: %s", ENC_PATH, why);
        goto out;
    }
    /* what the encoder was trained for */
    uint64_t n_own = 0, n_model = 0, n_params = 0;
    const char *own_text = nn_ckpt_section(ck, "pretrain", &n_own);
    const char *model_text = nn_ckpt_section(ck, "model", &n_model);
    const float *params = nn_ckpt_section(ck, "params", &n_params);
    own = own_text ? json_loadb(own_text, n_own, 0, NULL) : NULL;
    saved = model_text ? json_loadb(model_text, n_model, 0, NULL) : NULL;
    const char *src_input = json_string_value(json_object_get(own, "input"));
    if (!own || !saved || !params || !src_input) {
        rc = ag_errorf(err, err_sz, AG_ESPEC,
                       "%s: %s is not a vision encoder's checkpoint (made by angora-train "
                       "--pretrain)",
                       ENC_PATH, enc->checkpoint);
        goto out;
    }
    NnIoSpec io;
    int si = -1;
    if (enc_io_read(json_object_get(saved, "io"), &io) != 0 ||
        (si = enc_input_find(&io, src_input)) < 0) {
        rc = ag_errorf(err, err_sz, AG_ESPEC, "%s: %s: its model section is unreadable", ENC_PATH,
                       enc->checkpoint);
        goto out;
    }
    /* the same images: channels and size */
    const NnInputSpec *want = &io.inputs[si], *have = &m->io.inputs[enc->input];
    if (memcmp(want->shape, have->shape, sizeof want->shape) != 0) {
        rc = ag_errorf(err, err_sz, AG_ESPEC,
                       "%s: the encoder was trained on %s of shape %dx%dx%d, this model's %s is "
                       "%dx%dx%d (task option image_size?)",
                       ENC_PATH, want->name, want->shape[0], want->shape[1], want->shape[2],
                       have->name, have->shape[0], have->shape[1], have->shape[2]);
        goto out;
    }
    /* the same camera: an encoder of other pictures of the same size would run, and be wrong */
    if (strcmp(want->view, have->view) != 0) {
        rc = ag_errorf(err, err_sz, AG_ESPEC,
                       "%s: the encoder was trained on pictures from %s, this model's %s is "
                       "from %s (task option camera_fovy?)",
                       ENC_PATH, want->view[0] ? want->view : "an unrecorded camera", have->name,
                       have->view[0] ? have->view : "an unrecorded camera");
        goto out;
    }
    /* the same layers */
    desc = json_deep_copy(json_object_get(saved, "description"));
    if (desc) {
        json_object_del(desc, "encoder");
    }
    src = desc ? nn_model_create(desc, &io, why, sizeof why) : NULL;
    if (!src || params == NULL || n_params != src->num_params * sizeof(float)) {
        rc = ag_errorf(err, err_sz, AG_ESPEC, "%s: %s: its model does not build (%s)", ENC_PATH,
                       enc->checkpoint, why);
        goto out;
    }
    json_t *mine = nn_desc_to_json(&m->desc, &m->io);
    json_t *a =
        json_object_get(json_object_get(json_object_get(desc, "inputs"), src_input), "pathway");
    json_t *b =
        json_object_get(json_object_get(json_object_get(mine, "inputs"), have->name), "pathway");
    int same = a && b && json_equal(a, b);
    char *as = a ? json_dumps(a, JSON_COMPACT) : NULL;
    json_decref(mine);
    if (!same) {
        rc = ag_errorf(err, err_sz, AG_ESPEC,
                       "model.inputs.%s.pathway: must be the encoder's layers, %.300s", have->name,
                       as ? as : "(none)");
        free(as);
        goto out;
    }
    free(as);
    rc = enc_table_build(m, src, src_input, params, err, err_sz);
out:
    nn_model_destroy(src);
    json_decref(desc);
    json_decref(own);
    json_decref(saved);
    nn_ckpt_free(ck);
    return rc;
}

void nn_model_encoder_apply(NnModel *m) {
    size_t at = 0;
    for (int i = 0; i < m->enc_count; i++) {
        const NnTensor *t = &m->tensors[m->enc_tensor[i]];
        memcpy(m->params + t->off, m->enc_values + at, t->size * sizeof(float));
        at += t->size;
    }
}

int64_t nn_model_pathway_backward_count(const NnModel *model, int input) {
    return input >= 0 && input < NN_MAX_INPUTS ? model->path_backward[input] : 0;
}

int64_t nn_model_pathway_forward_count(const NnModel *model, int input) {
    return input >= 0 && input < NN_MAX_INPUTS ? model->path_forward[input] : 0;
}

/* widens *width and *scratch to what chain ch needs (its input and its outputs) */
static void enc_chain_needs(const NnChain *ch, int in_width, int *width, size_t *scratch) {
    *width = in_width > *width ? in_width : *width;
    for (int k = 0; k < ch->n; k++) {
        const NnOp *op = &ch->op[k];
        int w = nn_shape_size(op->out);
        *width = w > *width ? w : *width;
        if (op->d.kind == NN_LAYER_CONV2D) {
            size_t s = nn_conv2d_scratch_size(op->in.c, op->in.h, op->in.w, op->d.filters,
                                              op->d.kernel, op->d.stride, op->pad);
            *scratch = s > *scratch ? s : *scratch;
        }
    }
}

/* each network's widest row and conv scratch without the frozen pathway (the widths
 * chain_build and net_build note, but that pathway's) */
static void enc_feature_widths(NnModel *m) {
    for (int n = 0; n < m->num_nets; n++) {
        NnNet *net = &m->net[n];
        int width = net->merged > net->feat ? net->merged : net->feat;
        size_t scratch = 0;
        for (int p = 0; p < net->num_paths; p++) {
            if (net->input[p] != m->feat_input) {
                enc_chain_needs(&net->path[p], m->io.inputs[net->input[p]].size, &width, &scratch);
            }
        }
        enc_chain_needs(&net->trunk, net->merged, &width, &scratch);
        enc_chain_needs(&net->post, net->core != NN_CORE_NONE ? net->H : net->trunk_out, &width,
                        &scratch);
        net->feat_max_width = width;
        net->feat_conv_scratch = scratch;
    }
}

void nn_model_feature_layout(NnModel *m) {
    const NnIoSpec *io = &m->io;
    const NnEncoderDesc *enc = &m->desc.encoder;
    m->feat_input = -1;
    m->feat_size = 0;
    for (int n = 0; n < m->num_nets && enc->on && enc->freeze; n++) {
        for (int p = 0; p < m->net[n].num_paths; p++) {
            if (m->net[n].input[p] == enc->input && m->net[n].path[p].n > 0) {
                m->feat_input = enc->input;
                m->feat_size = m->net[n].path_out[p];
            }
        }
    }
    int shift = 0, at = -1;
    if (m->feat_input >= 0) {
        at = io->inputs[m->feat_input].offset;
        shift = m->feat_size - io->inputs[m->feat_input].size;
    }
    for (int i = 0; i < io->num_inputs; i++) {
        m->frow_off[i] = io->inputs[i].offset + (at >= 0 && io->inputs[i].offset > at ? shift : 0);
    }
    m->frow_size = io->obs_size + shift;
    enc_feature_widths(m);
}

int nn_model_feature_input(const NnModel *model) {
    return model->feat_input;
}

int nn_model_feature_row_size(const NnModel *model) {
    return model->frow_size;
}
