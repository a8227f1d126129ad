/* Engine benchmark: training forward+backward of the model presets at several minibatch sizes,
 * reported as GFLOP/s of the model's arithmetic next to the GFLOP/s plain cblas_sgemm reaches on
 * the same matrix shapes in the same run; the `pathways` preset seeing camera images (3 x S x S,
 * S from --images) as a whole and conv layer by conv layer; batched single-step inference in
 * microseconds per environment; and the per-minibatch cost of the policy distributions and of
 * Adam.
 *
 * Usage: bench_nn [--presets simple,wider,...] [--batches 64,256,...] [--min-time seconds]
 *                 [--envs n] [--seed n] [--images 64,96] [--image-batches 64,...]
 *
 * DESIGN: the task is shaped like the hand (proprioception 48, touch 16, object pose 7, goal 4,
 * a critic-only input of 22; a Beta policy over 20 actuators, so 40 policy outputs); with
 * --images the object pose is replaced by an image. A minibatch counts transitions: recurrent
 * models see minibatch / 16 sequences of 16 steps. A conv layer's reference is the engine's own
 * products for a minibatch: per group of nn_conv2d_group images the forward (OC, G*P, C*K*K),
 * the weight gradient and, past the first layer, the input gradient.
 * The sgemm reference replays the engine's matrix products (taken from the parameter table:
 * each dense layer or head gives one forward and two backward products; a recurrent core its
 * input projection, the per-step recurrent products and their gradients) with the same
 * transposes. Times are thread CPU time (wall time is shown next to it), the best of five
 * rounds, and the model and its sgemm reference run in alternating rounds, since the machine may
 * be shared; compare the ratios within one run. One BLAS thread throughout.
 */
#include "ag_rng.h"
#include "ag_time.h"
#include "nn_dist.h"
#include "nn_layers.h"
#include "nn_model.h"
#include "nn_optim.h"

#include <cblas.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define BENCH_MAX_ITEMS 16
#define BENCH_MAX_GEMMS 256
#define BENCH_TBPTT     16
#define BENCH_ACTIONS   20
#define BENCH_MAX_CONV  16

typedef struct BenchOptions {
    const char *presets[BENCH_MAX_ITEMS];
    int num_presets;
    int batches[BENCH_MAX_ITEMS];
    int num_batches;
    double min_time;
    int envs;
    uint64_t seed;
    int images[BENCH_MAX_ITEMS]; /* image sides for the pathways preset's camera rows */
    int num_images;
    int image_batches[BENCH_MAX_ITEMS];
    int num_image_batches;
} BenchOptions;

typedef struct BenchGemm {
    int m, n, k;
    int trans_a, trans_b;
    int count; /* how many times per pass */
} BenchGemm;

typedef struct BenchGemmSet {
    BenchGemm g[BENCH_MAX_GEMMS];
    int n;
    double flops;     /* per pass, 2 per multiply-add */
    double fwd_madds; /* per sample, from the shapes */
    size_t max_a, max_b, max_c;
    float *a, *b, *c;
} BenchGemmSet;

/* ---- the task shape ---- */

/* the hand's inputs; image > 0 makes the vision input a (3, image, image) camera picture */
static void bench_io_init(NnIoSpec *io, int image) {
    static const struct {
        const char *name;
        int size;
        int critic_only;
    } inputs[] = {{"proprioception", 48, 0},
                  {"touch", 16, 0},
                  {"vision", 7, 0},
                  {"goal", 4, 0},
                  {"asymmetric", 22, 1}};
    memset(io, 0, sizeof *io);
    int off = 0;
    for (size_t i = 0; i < sizeof inputs / sizeof inputs[0]; i++) {
        NnInputSpec *in = &io->inputs[io->num_inputs++];
        snprintf(in->name, sizeof in->name, "%s", inputs[i].name);
        int camera = image > 0 && strcmp(inputs[i].name, "vision") == 0;
        in->shape[0] = camera ? 3 : inputs[i].size;
        in->shape[1] = camera ? image : 1;
        in->shape[2] = camera ? image : 1;
        in->size = in->shape[0] * in->shape[1] * in->shape[2];
        in->offset = off;
        in->critic_only = inputs[i].critic_only;
        off += in->size;
    }
    io->obs_size = off;
    io->policy_outputs = 2 * BENCH_ACTIONS;
    io->logstd_dim = 0;
}

/* ---- timing ---- */

typedef void (*BenchFn)(void *arg);

/* seconds of CPU time this thread has run: unlike wall time it leaves out the slices other
 * processes on a shared machine take */
static double thread_cpu_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

typedef struct BenchTiming {
    double cpu;  /* best seconds of thread CPU time per call */
    double wall; /* best wall seconds per call */
} BenchTiming;

/* calls per round so that a round lasts about round_time */
static int bench_calibrate(BenchFn fn, void *arg, double round_time) {
    fn(arg); /* warm caches and lazily built BLAS buffers */
    int reps = 1;
    for (;;) {
        double t0 = thread_cpu_now();
        for (int r = 0; r < reps; r++) {
            fn(arg);
        }
        double dt = thread_cpu_now() - t0;
        if (dt >= round_time * 0.5 || reps >= (1 << 24)) {
            return dt > 0 ? (int)(reps * round_time / dt) + 1 : reps;
        }
        reps *= 2;
    }
}

static void bench_round(BenchFn fn, void *arg, int reps, BenchTiming *best) {
    double w0 = ag_time_now(), c0 = thread_cpu_now();
    for (int r = 0; r < reps; r++) {
        fn(arg);
    }
    double cpu = (thread_cpu_now() - c0) / reps, wall = (ag_time_now() - w0) / reps;
    if (cpu < best->cpu) {
        best->cpu = cpu;
    }
    if (wall < best->wall) {
        best->wall = wall;
    }
}

#define BENCH_ROUNDS 5

/* times fn_a and fn_b (fn_b may be NULL) in alternating rounds, so that both see the same
 * neighbours on a shared machine; each result is the best round of BENCH_ROUNDS, each round
 * about min_time / BENCH_ROUNDS */
static void bench_time_pair(BenchFn fn_a, void *arg_a, BenchFn fn_b, void *arg_b, double min_time,
                            BenchTiming *a, BenchTiming *b) {
    double round_time = min_time / BENCH_ROUNDS;
    int reps_a = bench_calibrate(fn_a, arg_a, round_time);
    int reps_b = fn_b ? bench_calibrate(fn_b, arg_b, round_time) : 0;
    *a = (BenchTiming){1e30, 1e30};
    if (b) {
        *b = (BenchTiming){1e30, 1e30};
    }
    for (int round = 0; round < BENCH_ROUNDS; round++) {
        bench_round(fn_a, arg_a, reps_a, a);
        if (fn_b) {
            bench_round(fn_b, arg_b, reps_b, b);
        }
    }
}

static double bench_time(BenchFn fn, void *arg, double min_time) {
    BenchTiming t;
    bench_time_pair(fn, arg, NULL, NULL, min_time, &t, NULL);
    return t.cpu;
}

static void fill_normal(AgRng *rng, float *x, size_t n, double scale) {
    for (size_t i = 0; i < n; i++) {
        x[i] = (float)(scale * ag_rng_normal(rng));
    }
}

/* ---- conv layers ---- */

/* one conv layer of the vision pathway, with its input shape and its index in the pathway */
typedef struct BenchConv {
    int index;
    int C, H, W, OC, K, stride, pad, OH, OW;
} BenchConv;

/* the conv layers of the model's vision pathway (from its description), at most max; their
 * count, 0 when the vision input is not an image */
static int conv_layers(const NnModel *model, BenchConv *out, int max) {
    const NnIoSpec *io = nn_model_io(model);
    const NnInputSpec *vision = NULL;
    for (int i = 0; i < io->num_inputs; i++) {
        if (strcmp(io->inputs[i].name, "vision") == 0 && io->inputs[i].shape[1] > 1) {
            vision = &io->inputs[i];
        }
    }
    json_t *desc = nn_model_describe(model);
    json_t *path =
        json_object_get(json_object_get(json_object_get(desc, "inputs"), "vision"), "pathway");
    int n = 0, c = vision ? vision->shape[0] : 0, h = vision ? vision->shape[1] : 0;
    int w = vision ? vision->shape[2] : 0;
    for (size_t k = 0; vision && k < json_array_size(path) && n < max; k++) {
        json_t *layer = json_array_get(path, k);
        const char *type = json_string_value(json_object_get(layer, "type"));
        if (type && strcmp(type, "conv2d") == 0) {
            BenchConv *cv = &out[n++];
            cv->index = (int)k;
            cv->C = c;
            cv->H = h;
            cv->W = w;
            cv->OC = (int)json_integer_value(json_object_get(layer, "filters"));
            cv->K = (int)json_integer_value(json_object_get(layer, "kernel"));
            cv->stride = (int)json_integer_value(json_object_get(layer, "stride"));
            const char *padding = json_string_value(json_object_get(layer, "padding"));
            cv->pad = padding && strcmp(padding, "same") == 0 ? (cv->K - 1) / 2 : 0;
            cv->OH = nn_conv2d_out_dim(h, cv->K, cv->stride, cv->pad);
            cv->OW = nn_conv2d_out_dim(w, cv->K, cv->stride, cv->pad);
            c = cv->OC;
            h = cv->OH;
            w = cv->OW;
        } else if (type && strcmp(type, "maxpool") == 0) {
            int size = (int)json_integer_value(json_object_get(layer, "size"));
            h /= size;
            w /= size;
        }
    }
    json_decref(desc);
    return n;
}

/* ---- the sgemm reference ---- */

static int gemm_add(BenchGemmSet *s, int m, int n, int k, int ta, int tb, int count) {
    if (s->n >= BENCH_MAX_GEMMS) {
        return -1;
    }
    s->g[s->n++] = (BenchGemm){m, n, k, ta, tb, count};
    s->flops += 2.0 * m * n * k * count;
    size_t a = (size_t)m * k, b = (size_t)k * n, c = (size_t)m * n;
    s->max_a = a > s->max_a ? a : s->max_a;
    s->max_b = b > s->max_b ? b : s->max_b;
    s->max_c = c > s->max_c ? c : s->max_c;
    return 0;
}

static int ends_with(const char *s, const char *tail) {
    size_t ls = strlen(s), lt = strlen(tail);
    return ls >= lt && strcmp(s + ls - lt, tail) == 0;
}

/* the engine's products for one conv layer over M images: groups of nn_conv2d_group images
 * (the last one possibly smaller), each a forward, a weight gradient and, unless the layer is
 * the first of its pathway (nothing below it to train), an input gradient */
static int gemm_add_conv(BenchGemmSet *s, const BenchConv *cv, int M) {
    int P = cv->OH * cv->OW, CKK = cv->C * cv->K * cv->K, G = nn_conv2d_group(P);
    int full = M / G, rest = M % G;
    int dinp = cv->index > 0;
    s->fwd_madds += (double)cv->OC * CKK * P;
    for (int part = 0; part < 2; part++) {
        int count = part == 0 ? full : (rest > 0);
        int N = (part == 0 ? G : rest) * P;
        if (count == 0) {
            continue;
        }
        if (gemm_add(s, cv->OC, N, CKK, 0, 0, count) || gemm_add(s, cv->OC, CKK, N, 0, 1, count) ||
            (dinp && gemm_add(s, CKK, N, cv->OC, 1, 0, count))) {
            return -1;
        }
    }
    return 0;
}

/* the conv layer whose weight tensor is `name` ("<net>.in.vision.<index>.w"), or NULL */
static const BenchConv *conv_of_tensor(const char *name, const BenchConv *convs, int n) {
    const char *at = strstr(name, ".in.vision.");
    if (at == NULL) {
        return NULL;
    }
    int index = atoi(at + strlen(".in.vision."));
    for (int i = 0; i < n; i++) {
        if (convs[i].index == index) {
            return &convs[i];
        }
    }
    return NULL;
}

/* the buffers the set's products read and write, filled with small random numbers */
static int gemm_set_alloc(BenchGemmSet *s) {
    s->a = calloc(s->max_a ? s->max_a : 1, sizeof(float));
    s->b = calloc(s->max_b ? s->max_b : 1, sizeof(float));
    s->c = calloc(s->max_c ? s->max_c : 1, sizeof(float));
    if (!s->a || !s->b || !s->c) {
        return -1;
    }
    AgRng rng;
    ag_rng_seed(&rng, 7, 0);
    fill_normal(&rng, s->a, s->max_a, 0.1);
    fill_normal(&rng, s->b, s->max_b, 0.1);
    return 0;
}

/* the matrix products of one forward+backward over B sequences of T steps */
static int gemm_set_build(BenchGemmSet *s, const NnModel *model, int B, int T) {
    memset(s, 0, sizeof *s);
    int M = B * T;
    int nt = nn_model_num_tensors(model);
    BenchConv convs[BENCH_MAX_CONV];
    int nconv = conv_layers(model, convs, BENCH_MAX_CONV);
    for (int i = 0; i < nt; i++) {
        const char *name = nn_model_tensor_name(model, i);
        size_t size = nn_model_tensor_size(model, i);
        const BenchConv *cv = ends_with(name, ".w") ? conv_of_tensor(name, convs, nconv) : NULL;
        if (cv != NULL) {
            if (gemm_add_conv(s, cv, M)) {
                return -1;
            }
            i += 1; /* its bias */
        } else if (ends_with(name, "core.w_ih") && i + 2 < nt) {
            /* w_ih (gH, C), w_hh (gH, H), then the gate bias (gH) */
            size_t hh = nn_model_tensor_size(model, i + 1);
            int gH = (int)nn_model_tensor_size(model, i + 2);
            int H = (int)(hh / (size_t)gH), C = (int)(size / (size_t)gH);
            s->fwd_madds += (double)gH * (C + H);
            if (gemm_add(s, M, gH, C, 0, 1, 1) || gemm_add(s, B, gH, H, 0, 1, T) ||
                gemm_add(s, B, H, gH, 0, 0, T - 1 > 0 ? T - 1 : 0) ||
                gemm_add(s, M, C, gH, 0, 0, 1) || gemm_add(s, gH, C, M, 1, 0, 1) ||
                gemm_add(s, gH, H, M, 1, 0, 1)) {
                return -1;
            }
            i += 1;
        } else if (ends_with(name, ".w") && i + 1 < nt &&
                   ends_with(nn_model_tensor_name(model, i + 1), ".b")) {
            /* dense layer or head: weight (OC, C), bias (OC) */
            int OC = (int)nn_model_tensor_size(model, i + 1);
            int C = (int)(size / (size_t)OC);
            s->fwd_madds += (double)OC * C;
            if (gemm_add(s, M, OC, C, 0, 1, 1) || gemm_add(s, M, C, OC, 0, 0, 1) ||
                gemm_add(s, OC, C, M, 1, 0, 1)) {
                return -1;
            }
        }
    }
    return gemm_set_alloc(s);
}

static void gemm_set_free(BenchGemmSet *s) {
    free(s->a);
    free(s->b);
    free(s->c);
    s->a = s->b = s->c = NULL;
}

static void gemm_set_run(void *arg) {
    BenchGemmSet *s = arg;
    for (int i = 0; i < s->n; i++) {
        const BenchGemm *g = &s->g[i];
        int lda = g->trans_a ? g->m : g->k;
        int ldb = g->trans_b ? g->k : g->n;
        for (int r = 0; r < g->count; r++) {
            cblas_sgemm(CblasRowMajor, g->trans_a ? CblasTrans : CblasNoTrans,
                        g->trans_b ? CblasTrans : CblasNoTrans, g->m, g->n, g->k, 1.0f, s->a, lda,
                        s->b, ldb, 1.0f, s->c, g->n);
        }
    }
}

/* ---- model passes ---- */

typedef struct BenchTrain {
    NnModel *model;
    NnTrainCtx *ctx;
    int batch;
    float *obs, *policy, *value, *d_policy, *d_value;
} BenchTrain;

static void train_run(void *arg) {
    BenchTrain *t = arg;
    nn_model_forward(t->model, t->ctx, t->batch, t->obs, NULL, NULL, t->policy, t->value);
    nn_model_backward(t->model, t->ctx, t->d_policy, t->d_value);
}

typedef struct BenchStep {
    const NnModel *model;
    NnStepCtx *ctx;
    int n;
    float *obs, *state, *policy, *value;
} BenchStep;

static void step_run(void *arg) {
    BenchStep *s = arg;
    nn_model_step(s->model, s->ctx, s->n, s->obs, s->state, s->state, s->policy, s->value);
}

static NnModel *model_make(const char *preset, const NnIoSpec *io, uint64_t seed) {
    char err[256] = "";
    json_t *desc = json_string(preset);
    NnModel *model = desc ? nn_model_create(desc, io, err, sizeof err) : NULL;
    json_decref(desc);
    if (!model) {
        fprintf(stderr, "bench_nn: preset %s: %s\n", preset, err);
        return NULL;
    }
    AgRng rng;
    ag_rng_seed(&rng, seed, 1);
    nn_model_init_params(model, &rng);
    return model;
}

/* one table row per (preset, minibatch), the rows named `label`; returns 0 or -1 */
static int bench_train_preset(const char *preset, const char *label, const NnIoSpec *io,
                              const int *batches, int num_batches, const BenchOptions *opt) {
    NnModel *model = model_make(preset, io, opt->seed);
    if (!model) {
        return -1;
    }
    int T = nn_model_is_recurrent(model) ? BENCH_TBPTT : 1;
    double madds = nn_model_forward_flops(model);
    int rc = 0;
    for (int bi = 0; bi < num_batches && rc == 0; bi++) {
        int mb = batches[bi];
        int B = mb / T > 0 ? mb / T : 1;
        int rows = B * T;
        BenchTrain t = {.model = model, .batch = B};
        BenchGemmSet gs;
        memset(&gs, 0, sizeof gs);
        int PO = io->policy_outputs + io->logstd_dim;
        t.ctx = nn_train_ctx_create(model, B, T);
        t.obs = malloc(sizeof(float) * (size_t)rows * io->obs_size);
        t.policy = malloc(sizeof(float) * (size_t)rows * PO);
        t.value = malloc(sizeof(float) * (size_t)rows);
        t.d_policy = malloc(sizeof(float) * (size_t)rows * PO);
        t.d_value = malloc(sizeof(float) * (size_t)rows);
        if (!t.ctx || !t.obs || !t.policy || !t.value || !t.d_policy || !t.d_value ||
            gemm_set_build(&gs, model, B, T) < 0) {
            fprintf(stderr, "bench_nn: %s at minibatch %d: out of memory\n", preset, mb);
            rc = -1;
        } else {
            AgRng rng;
            ag_rng_seed(&rng, opt->seed, 2);
            fill_normal(&rng, t.obs, (size_t)rows * io->obs_size, 1.0);
            fill_normal(&rng, t.d_policy, (size_t)rows * PO, 1e-3);
            fill_normal(&rng, t.d_value, (size_t)rows, 1e-3);
            BenchTiming tm, tg;
            bench_time_pair(train_run, &t, gemm_set_run, &gs, 2.0 * opt->min_time, &tm, &tg);
            double model_flops = 3.0 * 2.0 * madds * rows;
            double gf_model = model_flops / tm.cpu * 1e-9;
            double gf_gemm = gs.flops / tg.cpu * 1e-9;
            printf("| %s | %zu | %.2f | %d | %d x %d | %.3f | %.3f | %.1f | %.1f | %.2f | %.2f "
                   "|\n",
                   label, nn_model_num_params(model), 6.0 * madds * 1e-6, mb, B, T, tm.cpu * 1e3,
                   tm.wall * 1e3, gf_model, gf_gemm, gf_model / gf_gemm,
                   (model_flops / tm.wall) / (gs.flops / tg.wall));
            fflush(stdout);
            /* the reference is only fair if it covers the model's arithmetic */
            if (gs.fwd_madds < 0.99 * madds || gs.fwd_madds > 1.01 * madds) {
                fprintf(stderr,
                        "bench_nn: %s: the sgemm shapes cover %.0f of %.0f multiply-adds per "
                        "sample (layers other than dense/recurrent/conv)\n",
                        label, gs.fwd_madds, madds);
            }
        }
        gemm_set_free(&gs);
        free(t.obs);
        free(t.policy);
        free(t.value);
        free(t.d_policy);
        free(t.d_value);
        nn_train_ctx_destroy(t.ctx);
    }
    nn_model_destroy(model);
    return rc;
}

/* ---- conv layers alone ---- */

typedef struct BenchConvRun {
    BenchConv cv;
    int B;
    float *inp, *w, *b, *out, *dout, *dinp, *dw, *db, *scratch;
} BenchConvRun;

static void conv_run(void *arg) {
    BenchConvRun *r = arg;
    const BenchConv *cv = &r->cv;
    nn_conv2d_forward(r->out, r->scratch, r->inp, r->w, r->b, r->B, cv->C, cv->H, cv->W, cv->OC,
                      cv->K, cv->stride, cv->pad);
    /* the first layer of a pathway has no input gradient to compute (nn_model_run.c) */
    nn_conv2d_backward(cv->index > 0 ? r->dinp : NULL, r->dw, r->db, r->scratch, r->dout, r->inp,
                       r->w, r->B, cv->C, cv->H, cv->W, cv->OC, cv->K, cv->stride, cv->pad);
}

static void conv_run_free(BenchConvRun *r) {
    free(r->inp);
    free(r->w);
    free(r->b);
    free(r->out);
    free(r->dout);
    free(r->dinp);
    free(r->dw);
    free(r->db);
    free(r->scratch);
}

/* one row per conv layer of the pathways preset at image side S and `images` images: the
 * kernels' forward + backward against sgemm on the same products; returns 0 or -1 */
static int bench_conv_layers(int S, int images, const BenchOptions *opt) {
    NnIoSpec io;
    bench_io_init(&io, S);
    NnModel *model = model_make("pathways", &io, opt->seed);
    if (!model) {
        return -1;
    }
    BenchConv convs[BENCH_MAX_CONV];
    int n = conv_layers(model, convs, BENCH_MAX_CONV), rc = 0;
    for (int i = 0; i < n && rc == 0; i++) {
        BenchConvRun r = {.cv = convs[i], .B = images};
        const BenchConv *cv = &r.cv;
        size_t ni = (size_t)images * cv->C * cv->H * cv->W;
        size_t no = (size_t)images * cv->OC * cv->OH * cv->OW;
        size_t nw = (size_t)cv->OC * cv->C * cv->K * cv->K;
        r.inp = malloc(sizeof(float) * ni);
        r.dinp = calloc(ni, sizeof(float));
        r.out = malloc(sizeof(float) * no);
        r.dout = malloc(sizeof(float) * no);
        r.w = malloc(sizeof(float) * nw);
        r.dw = calloc(nw, sizeof(float));
        r.b = calloc((size_t)cv->OC, sizeof(float));
        r.db = calloc((size_t)cv->OC, sizeof(float));
        r.scratch = malloc(sizeof(float) * nn_conv2d_scratch_size(cv->C, cv->H, cv->W, cv->OC,
                                                                  cv->K, cv->stride, cv->pad));
        BenchGemmSet gs;
        memset(&gs, 0, sizeof gs);
        if (!r.inp || !r.dinp || !r.out || !r.dout || !r.w || !r.dw || !r.b || !r.db ||
            !r.scratch || gemm_add_conv(&gs, cv, images) || gemm_set_alloc(&gs)) {
            fprintf(stderr, "bench_nn: conv layers at %dx%d: out of memory\n", S, S);
            rc = -1;
        } else {
            AgRng rng;
            ag_rng_seed(&rng, opt->seed, 6);
            fill_normal(&rng, r.inp, ni, 1.0);
            fill_normal(&rng, r.w, nw, 0.1);
            fill_normal(&rng, r.dout, no, 1e-3);
            BenchTiming tc, tg;
            bench_time_pair(conv_run, &r, gemm_set_run, &gs, 2.0 * opt->min_time, &tc, &tg);
            double gf_conv = gs.flops / tc.cpu * 1e-9, gf_gemm = gs.flops / tg.cpu * 1e-9;
            printf("| %dx%d | %d | %dx%dx%d -> %dx%dx%d | K%d s%d | %d | %d | %.3f | %.1f | %.1f | "
                   "%.2f |\n",
                   S, S, cv->index, cv->C, cv->H, cv->W, cv->OC, cv->OH, cv->OW, cv->K, cv->stride,
                   images, nn_conv2d_group(cv->OH * cv->OW), tc.cpu * 1e3, gf_conv, gf_gemm,
                   gf_conv / gf_gemm);
            fflush(stdout);
        }
        gemm_set_free(&gs);
        conv_run_free(&r);
    }
    nn_model_destroy(model);
    return rc;
}

static int bench_inference(const char *preset, const NnIoSpec *io, const BenchOptions *opt) {
    NnModel *model = model_make(preset, io, opt->seed);
    if (!model) {
        return -1;
    }
    int n = opt->envs, rc = 0;
    int S = nn_model_state_size(model), PO = io->policy_outputs + io->logstd_dim;
    BenchStep s = {.model = model, .n = n};
    s.ctx = nn_step_ctx_create(model, n);
    s.obs = malloc(sizeof(float) * (size_t)n * io->obs_size);
    s.state = calloc((size_t)n * (S > 0 ? S : 1), sizeof(float));
    s.policy = malloc(sizeof(float) * (size_t)n * PO);
    s.value = malloc(sizeof(float) * (size_t)n);
    if (!s.ctx || !s.obs || !s.state || !s.policy || !s.value) {
        fprintf(stderr, "bench_nn: inference %s: out of memory\n", preset);
        rc = -1;
        goto out;
    }
    AgRng rng;
    ag_rng_seed(&rng, opt->seed, 3);
    fill_normal(&rng, s.obs, (size_t)n * io->obs_size, 1.0);
    double t_both = bench_time(step_run, &s, opt->min_time);
    float *value = s.value;
    s.value = NULL;
    double t_policy = bench_time(step_run, &s, opt->min_time);
    s.value = value;
    printf("| %s | %d | %.3f | %.3f | %.3f |\n", preset, n, t_both * 1e6, t_both * 1e6 / n,
           t_policy * 1e6 / n);
out:
    free(s.obs);
    free(s.state);
    free(s.policy);
    free(s.value);
    nn_step_ctx_destroy(s.ctx);
    nn_model_destroy(model);
    return rc;
}

/* ---- distributions and Adam at PPO sizes ---- */

typedef struct BenchDist {
    NnDist dist;
    int n;
    float *params, *raw, *logp, *ent, *d_logp, *d_ent, *d_params;
    AgRng rng;
} BenchDist;

static void dist_run(void *arg) {
    BenchDist *b = arg;
    nn_dist_log_prob(&b->dist, b->n, b->params, b->raw, b->logp);
    nn_dist_entropy(&b->dist, b->n, b->params, b->ent);
    nn_dist_backward(&b->dist, b->n, b->params, b->raw, b->d_logp, b->d_ent, b->d_params);
}

static void dist_sample_run(void *arg) {
    BenchDist *b = arg;
    nn_dist_sample(&b->dist, b->n, b->params, &b->rng, b->raw);
}

static int bench_dists(const BenchOptions *opt) {
    static const struct {
        const char *name;
        NnDistKind kind;
        int bins;
    } kinds[] = {{"gaussian", NN_DIST_GAUSSIAN, 0},
                 {"beta", NN_DIST_BETA, 0},
                 {"multicategorical (11 bins)", NN_DIST_MULTICATEGORICAL, 11}};
    float low[BENCH_ACTIONS], high[BENCH_ACTIONS];
    for (int i = 0; i < BENCH_ACTIONS; i++) {
        low[i] = -1.0f;
        high[i] = 1.0f;
    }
    const int n = 4096;
    int rc = 0;
    for (size_t k = 0; k < sizeof kinds / sizeof kinds[0] && rc == 0; k++) {
        BenchDist b = {.n = n};
        char err[128];
        if (nn_dist_init_box(&b.dist, kinds[k].kind, BENCH_ACTIONS, low, high, kinds[k].bins, err,
                             sizeof err) < 0) {
            fprintf(stderr, "bench_nn: %s\n", err);
            return -1;
        }
        size_t P = (size_t)n * b.dist.num_params;
        b.params = malloc(sizeof(float) * P);
        b.d_params = calloc(P, sizeof(float));
        b.raw = malloc(sizeof(float) * (size_t)n * BENCH_ACTIONS);
        b.logp = malloc(sizeof(float) * (size_t)n);
        b.ent = malloc(sizeof(float) * (size_t)n);
        b.d_logp = malloc(sizeof(float) * (size_t)n);
        b.d_ent = malloc(sizeof(float) * (size_t)n);
        if (!b.params || !b.d_params || !b.raw || !b.logp || !b.ent || !b.d_logp || !b.d_ent) {
            fprintf(stderr, "bench_nn: distributions: out of memory\n");
            rc = -1;
        } else {
            ag_rng_seed(&b.rng, opt->seed, 4);
            fill_normal(&b.rng, b.params, P, 1.0);
            fill_normal(&b.rng, b.d_logp, (size_t)n, 1.0);
            fill_normal(&b.rng, b.d_ent, (size_t)n, 0.01);
            nn_dist_sample(&b.dist, n, b.params, &b.rng, b.raw);
            double t_sample = bench_time(dist_sample_run, &b, opt->min_time);
            double t_loss = bench_time(dist_run, &b, opt->min_time);
            printf("| %s | %d x %d | %.3f | %.3f |\n", kinds[k].name, n, BENCH_ACTIONS,
                   t_sample * 1e3, t_loss * 1e3);
        }
        free(b.params);
        free(b.d_params);
        free(b.raw);
        free(b.logp);
        free(b.ent);
        free(b.d_logp);
        free(b.d_ent);
    }
    return rc;
}

typedef struct BenchAdam {
    NnAdam adam;
    float *params, *grads;
} BenchAdam;

static void adam_run(void *arg) {
    BenchAdam *b = arg;
    nn_grad_clip(b->grads, b->adam.n, 0.5f);
    nn_adam_step(&b->adam, b->params, b->grads, 1e-9f);
}

static int bench_adam(const char *preset, const NnIoSpec *io, const BenchOptions *opt) {
    NnModel *model = model_make(preset, io, opt->seed);
    if (!model) {
        return -1;
    }
    size_t n = nn_model_num_params(model);
    BenchAdam b;
    int rc = nn_adam_init(&b.adam, n, 0.9f, 0.999f, 1e-5f);
    b.params = nn_model_params(model);
    b.grads = nn_model_grads(model);
    if (rc < 0) {
        fprintf(stderr, "bench_nn: adam: out of memory\n");
    } else {
        AgRng rng;
        ag_rng_seed(&rng, opt->seed, 5);
        fill_normal(&rng, b.grads, n, 1e-3);
        double t = bench_time(adam_run, &b, opt->min_time);
        printf("| %s | %zu | %.3f | %.2f |\n", preset, n, t * 1e3, t * 1e9 / (double)n);
    }
    nn_adam_free(&b.adam);
    nn_model_destroy(model);
    return rc < 0 ? -1 : 0;
}

/* ---- command line ---- */

/* a comma-separated list into names (ints 0) or into ints; *num gets the count */
static int parse_list(char *arg, const char **names, int *ints, int *num) {
    int count = 0;
    for (char *save = NULL, *tok = strtok_r(arg, ",", &save); tok;
         tok = strtok_r(NULL, ",", &save)) {
        if (count >= BENCH_MAX_ITEMS) {
            return -1;
        }
        if (ints) {
            char *end;
            long v = strtol(tok, &end, 10);
            if (*end || v < 1 || v > 1 << 20) {
                return -1;
            }
            ints[count++] = (int)v;
        } else {
            names[count++] = tok;
        }
    }
    if (count == 0) {
        return -1;
    }
    *num = count;
    return 0;
}

static int parse_args(int argc, char **argv, BenchOptions *opt) {
    static const char *default_presets[] = {"simple", "wider", "wider_lstm", "pathways"};
    static const int default_batches[] = {64, 256, 512, 1024, 4096};
    memset(opt, 0, sizeof *opt);
    for (int i = 0; i < 4; i++) {
        opt->presets[i] = default_presets[i];
    }
    opt->num_presets = 4;
    for (int i = 0; i < 5; i++) {
        opt->batches[i] = default_batches[i];
    }
    opt->num_batches = 5;
    /* the pixels sensation's sizes; a minibatch of 64 images of 96x96 already holds about 1 GB
     * of activations in the two networks */
    opt->images[0] = 64;
    opt->images[1] = 96;
    opt->num_images = 2;
    opt->image_batches[0] = 64;
    opt->num_image_batches = 1;
    opt->min_time = 0.6;
    opt->envs = 64;
    opt->seed = 1;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        char *v = i + 1 < argc ? argv[i + 1] : NULL;
        char *end = NULL;
        if (!v) {
            fprintf(stderr, "bench_nn: %s needs a value\n", a);
            return -1;
        }
        if (strcmp(a, "--presets") == 0) {
            if (parse_list(v, opt->presets, NULL, &opt->num_presets) < 0) {
                fprintf(stderr, "bench_nn: --presets: a comma-separated list of names\n");
                return -1;
            }
        } else if (strcmp(a, "--batches") == 0) {
            if (parse_list(v, NULL, opt->batches, &opt->num_batches) < 0) {
                fprintf(stderr, "bench_nn: --batches: comma-separated sizes in [1, 1048576]\n");
                return -1;
            }
        } else if (strcmp(a, "--images") == 0) {
            int bad = parse_list(v, NULL, opt->images, &opt->num_images) < 0;
            for (int k = 0; !bad && k < opt->num_images; k++) {
                bad = opt->images[k] < 8 || opt->images[k] > 256;
            }
            if (bad) {
                fprintf(stderr, "bench_nn: --images: comma-separated image sides in [8, 256]\n");
                return -1;
            }
        } else if (strcmp(a, "--image-batches") == 0) {
            if (parse_list(v, NULL, opt->image_batches, &opt->num_image_batches) < 0) {
                fprintf(stderr,
                        "bench_nn: --image-batches: comma-separated sizes in [1, 1048576]\n");
                return -1;
            }
        } else if (strcmp(a, "--min-time") == 0) {
            opt->min_time = strtod(v, &end);
            if (*end || !(opt->min_time > 0.0 && opt->min_time <= 60.0)) {
                fprintf(stderr, "bench_nn: --min-time: seconds in (0, 60]\n");
                return -1;
            }
        } else if (strcmp(a, "--envs") == 0) {
            long n = strtol(v, &end, 10);
            if (*end || n < 1 || n > 65536) {
                fprintf(stderr, "bench_nn: --envs: a count in [1, 65536]\n");
                return -1;
            }
            opt->envs = (int)n;
        } else if (strcmp(a, "--seed") == 0) {
            opt->seed = strtoull(v, &end, 10);
            if (*end) {
                fprintf(stderr, "bench_nn: --seed: a non-negative integer\n");
                return -1;
            }
        } else {
            fprintf(stderr, "bench_nn: unknown option %s\n", a);
            return -1;
        }
        i++;
    }
    return 0;
}

static void print_machine(void) {
    char model_name[256] = "unknown";
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (f) {
        char line[512];
        while (fgets(line, sizeof line, f)) {
            char *colon = strchr(line, ':');
            if (strncmp(line, "model name", 10) == 0 && colon) {
                snprintf(model_name, sizeof model_name, "%s", colon + 2);
                model_name[strcspn(model_name, "\n")] = 0;
                break;
            }
        }
        fclose(f);
    }
    printf("machine: %s, %ld online CPUs; OpenBLAS %s (core %s), 1 thread\n", model_name,
           sysconf(_SC_NPROCESSORS_ONLN), openblas_get_config(), openblas_get_corename());
}

int main(int argc, char **argv) {
    BenchOptions opt;
    if (parse_args(argc, argv, &opt) < 0) {
        return 2;
    }
    openblas_set_num_threads(1);
    NnIoSpec io;
    bench_io_init(&io, 0);
    /* refuse unknown presets before spending minutes on the known ones */
    for (int p = 0; p < opt.num_presets; p++) {
        NnModel *model = model_make(opt.presets[p], &io, opt.seed);
        if (!model) {
            return 2;
        }
        nn_model_destroy(model);
    }
    print_machine();
    /* the machine's sgemm ceiling at a large square shape, for scale */
    BenchGemmSet square;
    memset(&square, 0, sizeof square);
    if (gemm_add(&square, 1024, 1024, 1024, 0, 1, 1) == 0) {
        square.a = calloc(square.max_a, sizeof(float));
        square.b = calloc(square.max_b, sizeof(float));
        square.c = calloc(square.max_c, sizeof(float));
        if (square.a && square.b && square.c) {
            double t = bench_time(gemm_set_run, &square, opt.min_time);
            printf("sgemm 1024 x 1024 x 1024 (A B^T): %.1f GFLOP/s\n\n", square.flops / t * 1e-9);
        }
        gemm_set_free(&square);
    }

    int rc = 0;
    printf("Training forward+backward (GFLOP/s = 3 x forward FLOPs per transition):\n\n");
    printf("| model | params | MFLOP/transition (fwd+bwd) | minibatch | sequences x T | ms per "
           "pass (CPU) | ms per pass (wall) | model GFLOP/s | sgemm GFLOP/s, same shapes | model "
           "/ sgemm | model / sgemm (wall) |\n");
    printf("|---|---|---|---|---|---|---|---|---|---|---|\n");
    for (int p = 0; p < opt.num_presets; p++) {
        rc |= bench_train_preset(opt.presets[p], opt.presets[p], &io, opt.batches, opt.num_batches,
                                 &opt);
    }
    for (int i = 0; i < opt.num_images; i++) {
        NnIoSpec camera;
        char label[64];
        bench_io_init(&camera, opt.images[i]);
        snprintf(label, sizeof label, "pathways, %dx%d images", opt.images[i], opt.images[i]);
        rc |= bench_train_preset("pathways", label, &camera, opt.image_batches,
                                 opt.num_image_batches, &opt);
    }

    printf("\nConv layers of the pathways preset, forward + backward over a minibatch of images "
           "(the first layer computes no input gradient), against sgemm on the same products "
           "(G = images per product):\n\n");
    printf("| image | layer | in -> out (C x H x W) | kernel, stride | images | G | ms per pass "
           "(CPU) | conv GFLOP/s | sgemm GFLOP/s, same shapes | conv / sgemm |\n");
    printf("|---|---|---|---|---|---|---|---|---|---|\n");
    for (int i = 0; i < opt.num_images; i++) {
        for (int b = 0; b < opt.num_image_batches; b++) {
            rc |= bench_conv_layers(opt.images[i], opt.image_batches[b], &opt);
        }
    }

    printf("\nBatched inference, one step (nn_model_step):\n\n");
    printf("| model | environments | us per call | us per env (policy + value) | us per env "
           "(policy only) |\n");
    printf("|---|---|---|---|---|\n");
    rc |= bench_inference("simple", &io, &opt);
    for (int p = 0; p < opt.num_presets; p++) {
        if (strcmp(opt.presets[p], "simple") != 0) {
            rc |= bench_inference(opt.presets[p], &io, &opt);
        }
    }

    printf("\nDistributions over a minibatch (20 action dimensions):\n\n");
    printf("| distribution | samples x dims | ms sample | ms log-prob + entropy + backward |\n");
    printf("|---|---|---|---|\n");
    rc |= bench_dists(&opt);

    printf("\nAdam step with global-norm clipping:\n\n");
    printf("| model | params | ms per step | ns per param |\n");
    printf("|---|---|---|---|\n");
    for (int p = 0; p < opt.num_presets; p++) {
        rc |= bench_adam(opt.presets[p], &io, &opt);
    }
    return rc ? 1 : 0;
}
