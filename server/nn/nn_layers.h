/* Layer kernels of the network engine: dense, activations, concat, layer norm, LSTM, GRU,
 * conv2d, max-pool and spatial softmax, each a forward/backward pair on float32 arrays.
 *
 * Conventions (llm.c style):
 * - arguments are outputs first, then inputs, then dimensions;
 * - every array is row-major and contiguous; shapes are given in the comment of each function;
 * - backward passes ACCUMULATE (+=) into parameter gradients and input gradients, so the caller
 *   zeroes them once per minibatch; an input gradient (dinp) may be NULL when not needed, and
 *   the work for it is skipped;
 * - caches and scratch are caller-provided buffers whose sizes (in floats) come from the
 *   *_size functions below, so nothing here allocates;
 * - matrix products go through cblas_sgemm (row-major); elementwise loops are written to
 *   vectorise (fast exp-based tanh/sigmoid, accurate to ~1e-6 relative).
 *
 * Sequences are batch-major: a (B,T,C) array holds row b*T + t for sequence b at step t, and
 * reset (B,T) is a uint8 mask where reset[b*T + t] = 1 zeroes the recurrent state before step
 * t (an episode ended inside the sequence). The gradient does not flow across a reset, nor into
 * the initial state h0/c0 (truncated backpropagation through time).
 *
 * Images are (B,C,H,W). Flattening an image (B,C,H,W) to (B,C*H*W) for a dense layer is a no-op
 * on this layout: the same memory is read as rows of C*H*W floats.
 */
#ifndef NN_LAYERS_H
#define NN_LAYERS_H

#include <stddef.h>
#include <stdint.h>

/* ---------------------------------------------------------------------------------------------
 * dense (fully connected)
 */

/* out (B,OC) = inp (B,C) @ weight^T + bias; weight (OC,C); bias (OC) or NULL for none */
void nn_dense_forward(float *out, const float *inp, const float *weight, const float *bias, int B,
                      int C, int OC);
/* dout (B,OC); inp (B,C); weight (OC,C).
 * dinp (B,C) += dout @ weight (NULL: skipped); dweight (OC,C) += dout^T @ inp;
 * dbias (OC) += column sums of dout (NULL: skipped) */
void nn_dense_backward(float *dinp, float *dweight, float *dbias, const float *dout,
                       const float *inp, const float *weight, int B, int C, int OC);

/* ---------------------------------------------------------------------------------------------
 * activations, elementwise over n floats
 */

typedef enum NnAct {
    NN_ACT_IDENTITY = 0, /* y = x */
    NN_ACT_TANH,         /* y = tanh(x) */
    NN_ACT_RELU,         /* y = max(x, 0) */
    NN_ACT_ELU,          /* y = x > 0 ? x : exp(x) - 1 (alpha = 1) */
    NN_ACT_SIGMOID,      /* y = 1 / (1 + exp(-x)) */
    NN_ACT_SOFTPLUS,     /* y = log(1 + exp(x)) */
    NN_ACT_COUNT
} NnAct;

/* "identity" (also "linear"), "tanh", "relu", "elu", "sigmoid", "softplus" -> *act;
 * AG_EINVAL with a message naming the accepted values otherwise */
int nn_act_parse(const char *name, NnAct *act, char *err, size_t err_sz);
/* canonical name of an activation ("identity", "tanh", ...); "?" if out of range */
const char *nn_act_name(NnAct act);

/* out (n) = act(inp (n)); out may equal inp (in place) */
void nn_act_forward(float *out, const float *inp, size_t n, NnAct act);
/* dinp (n) += act'(x) * dout (n), with the derivative computed from the saved OUTPUT out (n)
 * alone (tanh: 1 - y^2, sigmoid: y (1 - y), relu: y > 0, elu: y > 0 ? 1 : y + 1,
 * softplus: 1 - exp(-y)), so forward may run in place. dinp may equal dout (then it is
 * overwritten by the product instead of accumulated: dinp = act'(x) * dout). */
void nn_act_backward(float *dinp, const float *dout, const float *out, size_t n, NnAct act);

/* the same for a single activation, for callers that know it statically */
void nn_tanh_forward(float *out, const float *inp, size_t n);
void nn_tanh_backward(float *dinp, const float *dout, const float *out, size_t n);
void nn_sigmoid_forward(float *out, const float *inp, size_t n);
void nn_sigmoid_backward(float *dinp, const float *dout, const float *out, size_t n);
void nn_relu_forward(float *out, const float *inp, size_t n);
void nn_relu_backward(float *dinp, const float *dout, const float *out, size_t n);
void nn_elu_forward(float *out, const float *inp, size_t n);
void nn_elu_backward(float *dinp, const float *dout, const float *out, size_t n);
void nn_softplus_forward(float *out, const float *inp, size_t n);
void nn_softplus_backward(float *dinp, const float *dout, const float *out, size_t n);

/* out (n) = exp(inp (n)) with the fast vectorised exp (~1e-7 relative; arguments are clamped to
 * [-87.3, 88] so the result stays a normal float); out may equal inp. For softmax-like code. */
void nn_exp_forward(float *out, const float *inp, size_t n);

/* ---------------------------------------------------------------------------------------------
 * concatenation along features
 */

/* out (B, sum C_i) = [inps[0] (B,C_0) | inps[1] (B,C_1) | ... | inps[k-1] (B,C_{k-1})] */
void nn_concat_forward(float *out, const float *const *inps, const int *Cs, int k, int B);
/* dout (B, sum C_i); dinps[i] (B,C_i) += its column block of dout (NULL entries skipped) */
void nn_concat_backward(float *const *dinps, const float *dout, const int *Cs, int k, int B);

/* ---------------------------------------------------------------------------------------------
 * layer normalisation over the C features of each row
 */

#define NN_LAYERNORM_EPS 1e-5f

/* out (B,C) = (inp - mean) * rstd * gain + bias per row, rstd = 1/sqrt(var + eps) with the
 * biased variance; gain (C), bias (C); mean (B) and rstd (B) are saved for backward (either may
 * be NULL for inference) */
void nn_layernorm_forward(float *out, float *mean, float *rstd, const float *inp, const float *gain,
                          const float *bias, int B, int C);
/* dout (B,C); inp (B,C); gain (C); mean, rstd (B) from the forward.
 * dinp (B,C) += ... (NULL: skipped); dgain (C) += ...; dbias (C) += ... */
void nn_layernorm_backward(float *dinp, float *dgain, float *dbias, const float *dout,
                           const float *inp, const float *gain, const float *mean,
                           const float *rstd, int B, int C);

/* ---------------------------------------------------------------------------------------------
 * LSTM over sequences (truncated BPTT over the T steps)
 *
 * Gate order i, f, g, o (input, forget, cell candidate, output), as in PyTorch:
 *   a = x_t @ w_ih^T + h_{t-1} @ w_hh^T + bias            a (4H) = [a_i | a_f | a_g | a_o]
 *   i = sigmoid(a_i), f = sigmoid(a_f), g = tanh(a_g), o = sigmoid(a_o)
 *   c_t = f * c_{t-1} + i * g,   h_t = o * tanh(c_t)
 * w_ih (4H,C): rows [0,H) input gate, [H,2H) forget, [2H,3H) candidate, [3H,4H) output;
 * w_hh (4H,H) in the same row order; bias (4H) a single bias (PyTorch's b_ih + b_hh).
 * A forget-gate bias of 1 (Keras unit_forget_bias) is the caller's choice at init time.
 */

/* floats of the training cache of nn_lstm_forward: B*T*8H
 * (layout per row b*T+t: gates i,f,g,o (4H) | c (H) | tanh(c) (H) | h_prev (H) | c_prev (H),
 * each as its own (B,T,.) block) */
size_t nn_lstm_cache_size(int B, int T, int H);
/* floats of the scratch of nn_lstm_backward: B*T*4H + 2*B*H */
size_t nn_lstm_backward_scratch_size(int B, int T, int H);
/* floats of the scratch of nn_lstm_step: B*4H */
size_t nn_lstm_step_scratch_size(int B, int H);

/* inp (B,T,C); h0, c0 (B,H) initial state or NULL for zeros; reset (B,T) or NULL for none;
 * w_ih (4H,C), w_hh (4H,H), bias (4H).
 * out (B,T,H) hidden state after every step; h_final, c_final (B,H) the state after step T-1
 * (either may be NULL); cache (nn_lstm_cache_size floats) keeps what backward needs.
 * One sgemm projects all B*T input rows; one sgemm per step adds the recurrent part. */
void nn_lstm_forward(float *out, float *h_final, float *c_final, float *cache, const float *inp,
                     const float *h0, const float *c0, const uint8_t *reset, const float *w_ih,
                     const float *w_hh, const float *bias, int B, int T, int C, int H);
/* dout (B,T,H) gradient of the hidden outputs; dh_final, dc_final (B,H) gradients of the final
 * state or NULL; inp, reset, weights and cache as given to / filled by nn_lstm_forward.
 * dinp (B,T,C) += (NULL: skipped); dw_ih (4H,C) +=; dw_hh (4H,H) +=; dbias (4H) +=.
 * scratch: nn_lstm_backward_scratch_size floats. */
void nn_lstm_backward(float *dinp, float *dw_ih, float *dw_hh, float *dbias, const float *dout,
                      const float *dh_final, const float *dc_final, const float *inp,
                      const uint8_t *reset, const float *w_ih, const float *w_hh,
                      const float *cache, float *scratch, int B, int T, int C, int H);
/* one step for B environments (inference, no cache): x (B,C); h_in, c_in (B,H) the state (not
 * NULL; the caller zeroes the rows of environments that were reset); h_out, c_out (B,H) the new
 * state, may equal h_in / c_in. Bit-identical to nn_lstm_forward with T = 1 on the same data.
 * scratch: nn_lstm_step_scratch_size floats; afterwards it holds the activated gates i,f,g,o
 * (B,4H). */
void nn_lstm_step(float *h_out, float *c_out, float *scratch, const float *x, const float *h_in,
                  const float *c_in, const float *w_ih, const float *w_hh, const float *bias, int B,
                  int C, int H);

/* ---------------------------------------------------------------------------------------------
 * GRU over sequences (truncated BPTT over the T steps)
 *
 * Gate order r, z, n (reset, update, candidate), PyTorch / Keras reset_after=True form, with the
 * reset gate applied to the recurrent projection:
 *   xp = x_t @ w_ih^T + b_ih,  hp = h_{t-1} @ w_hh^T + b_hh        xp, hp (3H) = [r | z | n]
 *   r = sigmoid(xp_r + hp_r), z = sigmoid(xp_z + hp_z), n = tanh(xp_n + r * hp_n)
 *   h_t = (1 - z) * n + z * h_{t-1}
 * w_ih (3H,C) rows [0,H) reset, [H,2H) update, [2H,3H) candidate; w_hh (3H,H) likewise;
 * b_ih (3H), b_hh (3H) two biases (b_hh's candidate part sits inside the reset product).
 */

/* floats of the training cache of nn_gru_forward: B*T*7H
 * (per row: xp then gates r,z,n (3H) | hp (3H) | h_prev (H), each its own (B,T,.) block) */
size_t nn_gru_cache_size(int B, int T, int H);
/* floats of the scratch of nn_gru_backward: 2*B*T*3H + B*H */
size_t nn_gru_backward_scratch_size(int B, int T, int H);
/* floats of the scratch of nn_gru_step: 2*B*3H */
size_t nn_gru_step_scratch_size(int B, int H);

/* inp (B,T,C); h0 (B,H) or NULL for zeros; reset (B,T) or NULL; w_ih (3H,C), w_hh (3H,H),
 * b_ih (3H), b_hh (3H). out (B,T,H); h_final (B,H) or NULL; cache nn_gru_cache_size floats. */
void nn_gru_forward(float *out, float *h_final, float *cache, const float *inp, const float *h0,
                    const uint8_t *reset, const float *w_ih, const float *w_hh, const float *b_ih,
                    const float *b_hh, int B, int T, int C, int H);
/* dout (B,T,H); dh_final (B,H) or NULL. dinp (B,T,C) += (NULL: skipped); dw_ih (3H,C) +=;
 * dw_hh (3H,H) +=; db_ih (3H) +=; db_hh (3H) +=. scratch: nn_gru_backward_scratch_size. */
void nn_gru_backward(float *dinp, float *dw_ih, float *dw_hh, float *db_ih, float *db_hh,
                     const float *dout, const float *dh_final, const float *inp,
                     const uint8_t *reset, const float *w_ih, const float *w_hh, const float *cache,
                     float *scratch, int B, int T, int C, int H);
/* one step for B environments: x (B,C); h_in (B,H) not NULL; h_out (B,H) may equal h_in.
 * Bit-identical to nn_gru_forward with T = 1. scratch: nn_gru_step_scratch_size floats;
 * afterwards its first B*3H floats hold the activated gates r,z,n (B,3H). */
void nn_gru_step(float *h_out, float *scratch, const float *x, const float *h_in, const float *w_ih,
                 const float *w_hh, const float *b_ih, const float *b_hh, int B, int C, int H);

/* ---------------------------------------------------------------------------------------------
 * conv2d (im2col + sgemm), max-pool, spatial softmax
 */

/* output size of a convolution along one axis: (in + 2 pad - K) / stride + 1, or a value <= 0
 * when the dimensions do not fit (check it when building a model) */
int nn_conv2d_out_dim(int in, int K, int stride, int pad);
/* conv2d groups images so that each sgemm has at least NN_CONV_GROUP_COLS columns (output
 * positions of all the group's images), with at most NN_CONV_GROUP_MAX images per group.
 * Measured with 32 channels in and out, 3x3, 64 images (OpenBLAS, one thread): grouping to 512
 * columns is as fast as one image per product at 16x16 outputs and up to 10 % faster at 4x4;
 * grouping to 2,048 was 5-17 % slower, its column matrix no longer fitting in L2. */
#define NN_CONV_GROUP_COLS 512
#define NN_CONV_GROUP_MAX  64
/* images per group for P = OH*OW output positions per image */
int nn_conv2d_group(int P);
/* floats of the scratch of nn_conv2d_forward / nn_conv2d_backward: (2 * C*K*K + 1) * G*OH*OW
 * (a group's column matrix with a row of ones, and its gradient), OC * (C*K*K + 1) (the weight
 * and bias side by side), plus OC * G*OH*OW (the group's output, staged) when the group
 * G = nn_conv2d_group(OH*OW) holds more than one image */
size_t nn_conv2d_scratch_size(int C, int H, int W, int OC, int K, int stride, int pad);

/* inp (B,C,H,W); weight (OC, C*K*K) with columns ordered (c, ky, kx); bias (OC) or NULL;
 * square kernel K, stride, zero padding pad on all sides.
 * out (B,OC,OH,OW) with OH = nn_conv2d_out_dim(H,...), OW = nn_conv2d_out_dim(W,...). */
void nn_conv2d_forward(float *out, float *scratch, const float *inp, const float *weight,
                       const float *bias, int B, int C, int H, int W, int OC, int K, int stride,
                       int pad);
/* dout (B,OC,OH,OW). dinp (B,C,H,W) += (col2im; NULL: skipped); dweight (OC, C*K*K) +=;
 * dbias (OC) += (NULL: skipped). The column matrix is rebuilt from inp, so no cache. */
void nn_conv2d_backward(float *dinp, float *dweight, float *dbias, float *scratch,
                        const float *dout, const float *inp, const float *weight, int B, int C,
                        int H, int W, int OC, int K, int stride, int pad);

/* max-pool with window size x size and stride = size (no padding; a remainder is dropped):
 * inp (B,C,H,W) -> out (B,C,H/size,W/size); argmax (B,C,H/size,W/size) the index y*W + x of
 * the chosen input within its (H,W) plane, saved for backward (NULL for inference) */
void nn_maxpool_forward(float *out, int32_t *argmax, const float *inp, int B, int C, int H, int W,
                        int size);
/* dout (B,C,H/size,W/size); dinp (B,C,H,W) += dout routed to the argmax positions */
void nn_maxpool_backward(float *dinp, const float *dout, const int32_t *argmax, int B, int C, int H,
                         int W, int size);

/* spatial softmax (Levine et al. 2016): per channel a softmax p over the H*W positions, then the
 * expected image coordinates x = sum p * X, y = sum p * Y, where X = -1 + 2 j / (W-1) for column
 * j and Y = -1 + 2 i / (H-1) for row i (0 when the axis has size 1), so x, y lie in [-1,1].
 * inp (B,C,H,W) -> out (B,2C) as pairs (x_c, y_c) at out[b*2C + 2c], out[b*2C + 2c + 1];
 * probs (B,C,H*W) the softmax, saved for backward (must not be NULL) */
void nn_spatial_softmax_forward(float *out, float *probs, const float *inp, int B, int C, int H,
                                int W);
/* dout (B,2C); probs from the forward; dinp (B,C,H,W) += */
void nn_spatial_softmax_backward(float *dinp, const float *dout, const float *probs, int B, int C,
                                 int H, int W);

#endif
