/* The model's probe table (nn_model.h): every recordable layer output of the inference step,
 * with its name, type, network and per-step shape, listed once when the model is built and
 * numbered in the graph (nn_model_graph.h) so the probed step (nn_model_run.c) knows where each
 * output goes. */
#include "nn_model.h"

#include "ag_error.h"
#include "nn_model_graph.h"
#include "nn_model_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const lstm_gates[] = {"i", "f", "g", "o"};
static const char *const gru_gates[] = {"r", "z", "n"};

/* the name of a network in probe names: its parameters' prefix */
static const char *net_label(const NnModel *m, int n) {
    if (m->desc.shared) {
        return n == 0 ? "shared" : "value";
    }
    return n == 0 ? "policy" : "value";
}

/* adds one probe when `m->probes` is allocated, and counts it either way */
static int probe_add(NnModel *m, const char *net, const char *type, const char *name, NnShape s) {
    int k = m->num_probes++;
    if (m->probes) {
        NnProbe *p = &m->probes[k];
        snprintf(p->name, sizeof p->name, "%s", name);
        p->type = type;
        p->net = net;
        p->rank = s.image ? 3 : 1;
        p->shape[0] = s.image ? s.c : nn_shape_size(s);
        p->shape[1] = s.image ? s.h : 1;
        p->shape[2] = s.image ? s.w : 1;
        p->size = nn_shape_size(s);
    }
    return k;
}

/* one probe per op of a chain, flatten layers left out */
/* prefix: "<net>.<chain>", under 60 characters (at most "shared.in." and an input name) */
static void chain_probes(NnModel *m, NnChain *ch, const char *net, const char *prefix) {
    char name[NN_PROBE_NAME_MAX];
    for (int k = 0; k < ch->n; k++) {
        NnOp *op = &ch->op[k];
        op->probe = -1;
        if (op->d.kind == NN_LAYER_FLATTEN) {
            continue;
        }
        const char *kind = nn_layer_kind_names[op->d.kind];
        snprintf(name, sizeof name, "%.60s.%d.%.20s", prefix, k, kind);
        op->probe = probe_add(m, net, kind, name, op->out);
    }
}

static void core_probes(NnModel *m, NnNet *net, const char *label) {
    char name[NN_PROBE_NAME_MAX];
    NnShape h = {net->H, 1, 1, 0};
    int lstm = net->core == NN_CORE_LSTM;
    net->probe_h = net->probe_c = net->probe_gate = -1;
    if (net->core == NN_CORE_NONE) {
        return;
    }
    snprintf(name, sizeof name, "%.8s.core.h", label);
    net->probe_h = probe_add(m, label, lstm ? "lstm_h" : "gru_h", name, h);
    if (lstm) {
        snprintf(name, sizeof name, "%.8s.core.c", label);
        net->probe_c = probe_add(m, label, "lstm_c", name, h);
    }
    int gates = lstm ? 4 : 3;
    for (int g = 0; g < gates; g++) {
        snprintf(name, sizeof name, "%.8s.core.gate_%.2s", label,
                 lstm ? lstm_gates[g] : gru_gates[g]);
        int k = probe_add(m, label, lstm ? "lstm_gate" : "gru_gate", name, h);
        if (g == 0) {
            net->probe_gate = k;
        }
    }
}

/* walks the graph in the order the step computes it */
static void probes_walk(NnModel *m) {
    char prefix[64];
    m->num_probes = 0;
    for (int n = 0; n < m->num_nets; n++) {
        NnNet *net = &m->net[n];
        const char *label = net_label(m, n);
        for (int p = 0; p < net->num_paths; p++) {
            snprintf(prefix, sizeof prefix, "%.8s.in.%.31s", label,
                     m->io.inputs[net->input[p]].name);
            chain_probes(m, &net->path[p], label, prefix);
        }
        snprintf(prefix, sizeof prefix, "%.8s.trunk", label);
        chain_probes(m, &net->trunk, label, prefix);
        core_probes(m, net, label);
        snprintf(prefix, sizeof prefix, "%.8s.post", label);
        chain_probes(m, &net->post, label, prefix);
    }
}

int nn_model_probes_build(NnModel *m) {
    probes_walk(m); /* counts */
    m->probes = calloc(m->num_probes ? (size_t)m->num_probes : 1, sizeof *m->probes);
    if (!m->probes) {
        m->num_probes = 0;
        return AG_ENOMEM;
    }
    probes_walk(m); /* fills */
    return 0;
}

int nn_model_num_probes(const NnModel *model) {
    return model->num_probes;
}

const NnProbe *nn_model_probe(const NnModel *model, int index) {
    return index >= 0 && index < model->num_probes ? &model->probes[index] : NULL;
}
