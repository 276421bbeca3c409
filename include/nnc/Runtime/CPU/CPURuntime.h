/*===- CPURuntime.h - what CPU code compiled by nnc calls ----------*- C -*-===*
 *
 * Part of nnc, under the Apache License v2.0 with LLVM Exceptions.
 * See LICENSE for license information.
 *
 *===----------------------------------------------------------------------===*
 *
 * The CPU target's run-time library: a static archive linked into every
 * shared library nnc-compile writes (and needed, with -ldnnl -lgomp, by
 * programs linking an nnc object file), and registered with the JIT. Plain C
 * so compiled code calls it with the C ABI.
 *
 *===----------------------------------------------------------------------===*/

#ifndef NNC_RUNTIME_CPU_CPURUNTIME_H
#define NNC_RUNTIME_CPU_CPURUNTIME_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* C = alpha * op(A) * op(B) + beta * C for row-major f32 matrices, op(X) =
 * X or its transpose (transA, transB non-zero), C of M x N, the product over
 * K. The CPU target's GEMM (with nncrt_sgemm_epilogue below), on oneDNN,
 * which chooses its kernels from the CPU's features (AVX2, AVX-512, AMX)
 * rather than its model name. Calls with op(A) = A, alpha = 1 and beta 0
 * or 1 (x·Wᵀ, δ·W) run a matmul primitive (brgemm kernels) created on the
 * first call of each shape and thread count and kept per thread with its
 * scratchpad; the rest run dnnl_sgemm, which is faster there.
 * NNC_GEMM=sgemm in the environment sends every call to dnnl_sgemm. For
 * the same shape, values and thread count the result is the same bit for
 * bit wherever the buffers lie, which recomputation under checkpointing
 * relies on. Aborts with a message on an inconsistent call (the compiler
 * only emits consistent ones). */
void nncrt_sgemm(int32_t transA, int32_t transB, int64_t M, int64_t N,
                 int64_t K, float alpha, const float *A, int64_t lda,
                 const float *B, int64_t ldb, float beta, float *C,
                 int64_t ldc);

/* The activations nncrt_sgemm_epilogue applies to its result. */
enum {
  NNCRT_ACTIVATION_NONE = 0,
  NNCRT_ACTIVATION_RELU = 1,       /* x > 0 ? x : 0 */
  NNCRT_ACTIVATION_LEAKY_RELU = 2, /* x > 0 ? x : slope * x */
};

/* C = act(op(A) * op(B) + beta * C + bias), a linear layer's forward with
 * its epilogue in the GEMM: bias (N floats, broadcast over C's rows) may be
 * null, act is one of the NNCRT_ACTIVATION_* (slope: leaky relu's negative
 * slope). With op(A) = A and beta 0 or 1 it runs one matmul primitive with
 * the bias as its bias argument and the activation as an eltwise post-op,
 * so C is written once; otherwise (or with NNC_GEMM=sgemm) dnnl_sgemm with
 * the bias and activation as passes over C. The same bit-for-bit guarantee
 * as nncrt_sgemm. Aborts on an unknown activation. */
void nncrt_sgemm_epilogue(int32_t transA, int32_t transB, int64_t M,
                          int64_t N, int64_t K, const float *A, int64_t lda,
                          const float *B, int64_t ldb, float beta, float *C,
                          int64_t ldc, const float *bias, int32_t activation,
                          float slope);

/* The element types nncrt_gemm_bf16 writes C in. */
enum {
  NNCRT_TYPE_F32 = 0,
  NNCRT_TYPE_BF16 = 1,
};

/* C = act(alpha * op(A) * op(B) + beta * C + bias) with A and B in bf16
 * (uint16_t bit patterns), f32 accumulation, and C in f32 or bf16
 * (cType, one of NNCRT_TYPE_*; bf16 is rounded to nearest even once, after
 * the epilogue): the contractions of a mixed-precision step. beta is 0 or
 * 1 (an f32 C only); bias (N floats, f32) may be null; activation as for
 * nncrt_sgemm_epilogue. One oneDNN matmul primitive per shape and thread
 * count, created on first use and cached with its scratchpad; alpha is a
 * run-time scale, so a learning-rate schedule reuses it. oneDNN runs it
 * on AMX or AVX-512 BF16 where the CPU has them (nncrt_gemm_bf16_isa says
 * which). The same bit-for-bit guarantee as nncrt_sgemm. Aborts with a
 * message on an inconsistent call or a CPU with no bf16 matmul. */
void nncrt_gemm_bf16(int32_t transA, int32_t transB, int64_t M, int64_t N,
                     int64_t K, float alpha, const void *A, int64_t lda,
                     const void *B, int64_t ldb, float beta, void *C,
                     int64_t ldc, int32_t cType, const float *bias,
                     int32_t activation, float slope);

/* The implementations oneDNN chose for the nncrt_gemm_bf16 primitives this
 * thread created, each once, comma-separated (e.g. "brg:avx512_core_amx,
 * gemm:jit"), or "" before any: the ISA the bf16 step runs on. */
const char *nncrt_gemm_bf16_impl(void);

/* Runs task(ctx, b, e) over [lo, hi) split into contiguous pieces of at
 * least `grain` (>= 1) indices, one per thread of the runtime's OpenMP team
 * (the threads the GEMM uses), or task(ctx, lo, hi) on the calling thread
 * when one thread is set, the range is under two grains or the caller is
 * already in a parallel region. The pieces cover the range exactly once.
 * Compiled kernels marked by nnc-parallelize-kernels are called through
 * it. */
void nncrt_parallel_for(void (*task)(void *ctx, int64_t b, int64_t e),
                        void *ctx, int64_t lo, int64_t hi, int64_t grain);

/* Threads the GEMM and the parallel kernels may use (OpenMP); <= 0
 * restores the default (all cores, or OMP_NUM_THREADS). Returns the
 * previous setting. */
int32_t nncrt_set_num_threads(int32_t threads);

/* The step's profile (nn.profile_mark, what --cost-model=measured reads):
 * nncrt_profile_mark records the steady clock in nanoseconds under `id`
 * while a profile is open, and does nothing otherwise.
 * nncrt_profile_open starts one in the caller's arrays of `capacity`
 * entries; nncrt_profile_close ends it and returns how many marks it
 * holds (marks past the capacity are dropped and counted: the result is
 * then larger than `capacity`). One profile at a time, per process. */
void nncrt_profile_mark(int64_t id);
void nncrt_profile_open(int64_t *ids, int64_t *nanoseconds, int64_t capacity);
int64_t nncrt_profile_close(void);

/* Convolution and pooling (lib/Runtime/CPU/Convolution.cpp). Tensors are
 * dense row-major f32 in PyTorch's layouts: activations NCHW, weights OIHW,
 * that is [K, C/groups, KH, KW].
 *
 * A convolution's geometry is 18 values, in this order:
 *   N, C, H, W            the input, [N, C, H, W]
 *   K, KH, KW             the weight, [K, C/groups, KH, KW]
 *   OH, OW                the output, [N, K, OH, OW]
 *   strideH, strideW, padTop, padLeft, padBottom, padRight (>= 0, zeros),
 *   dilationH, dilationW  (1 = dense, PyTorch's convention)
 *   groups                (C and K divisible by it; groups == C == K is a
 *                         depthwise convolution)
 * with OH = (H + padTop + padBottom - dilationH*(KH-1) - 1) / strideH + 1
 * (rounded down, the numerator >= 0) and the same for OW.
 *
 * Convolutions (and average pooling with overlapping windows) run oneDNN
 * primitives created on the first call of their geometry, options and
 * thread count and kept per thread; the buffers of the blocked layouts
 * they run in (the arguments are reordered into them and the results out
 * of them within the call) and their scratchpads lie in the workspace the
 * caller planned (nncrt_use_workspace, below), else in one workspace per
 * thread, as large as the largest such call needs; max pooling, and
 * average pooling without overlapping windows, are the runtime's own
 * loops, for PyTorch's choice among equal maxima and its arithmetic. For the same geometry, values and
 * thread count the result is the same bit for bit wherever the buffers
 * lie, which recomputation under checkpointing relies on. An inconsistent
 * geometry (a size or stride < 1, a negative padding, OH or OW not the
 * formula's, channels not divisible by groups) or an unknown activation or
 * kind aborts with a message naming the call. */

/* y = act(conv(x, w) + bias): bias (K floats) may be null; act is one of
 * the NNCRT_ACTIVATION_* (slope: leaky relu's negative slope), applied by
 * the convolution as a post-op so y is written once. */
void nncrt_conv2d_forward(const float *x, const float *w, const float *bias,
                          float *y, int64_t N, int64_t C, int64_t H, int64_t W,
                          int64_t K, int64_t KH, int64_t KW, int64_t OH,
                          int64_t OW, int64_t strideH, int64_t strideW,
                          int64_t padTop, int64_t padLeft, int64_t padBottom,
                          int64_t padRight, int64_t dilationH,
                          int64_t dilationW, int64_t groups, int32_t activation,
                          float slope);

/* dx, the gradient of the input, from dy [N, K, OH, OW] (written, not
 * accumulated). */
void nncrt_conv2d_backward_data(const float *dy, const float *w, float *dx,
                                int64_t N, int64_t C, int64_t H, int64_t W,
                                int64_t K, int64_t KH, int64_t KW, int64_t OH,
                                int64_t OW, int64_t strideH, int64_t strideW,
                                int64_t padTop, int64_t padLeft,
                                int64_t padBottom, int64_t padRight,
                                int64_t dilationH, int64_t dilationW,
                                int64_t groups);

/* dw, the gradient of the weight, from the forward's input x and dy
 * (written, not accumulated). The bias's gradient is dy summed over N, OH
 * and OW, left to the caller. */
void nncrt_conv2d_backward_weights(const float *x, const float *dy, float *dw,
                                   int64_t N, int64_t C, int64_t H, int64_t W,
                                   int64_t K, int64_t KH, int64_t KW,
                                   int64_t OH, int64_t OW, int64_t strideH,
                                   int64_t strideW, int64_t padTop,
                                   int64_t padLeft, int64_t padBottom,
                                   int64_t padRight, int64_t dilationH,
                                   int64_t dilationW, int64_t groups);

/* The mixed-precision convolutions (--precision=bf16): the same geometry
 * and guarantees as above, with x, w and dy in bf16 (uint16_t bit
 * patterns), f32 accumulation, and the result (y, dx or dw) in f32 or bf16
 * as its type says (NNCRT_TYPE_*; bf16 rounded to nearest even once, after
 * the bias and the activation). The bias stays f32. A weight gradient in
 * f32 is what keeps the f32 master weights' update exact. oneDNN's bf16
 * convolution primitives run them (AVX-512 BF16 or AMX); a CPU without
 * either gets a message and an abort, never emulated code. */
void nncrt_conv2d_forward_bf16(const void *x, const void *w, const float *bias,
                               void *y, int64_t N, int64_t C, int64_t H,
                               int64_t W, int64_t K, int64_t KH, int64_t KW,
                               int64_t OH, int64_t OW, int64_t strideH,
                               int64_t strideW, int64_t padTop, int64_t padLeft,
                               int64_t padBottom, int64_t padRight,
                               int64_t dilationH, int64_t dilationW,
                               int64_t groups, int32_t activation, float slope,
                               int32_t yType);
void nncrt_conv2d_backward_data_bf16(
    const void *dy, const void *w, void *dx, int64_t N, int64_t C, int64_t H,
    int64_t W, int64_t K, int64_t KH, int64_t KW, int64_t OH, int64_t OW,
    int64_t strideH, int64_t strideW, int64_t padTop, int64_t padLeft,
    int64_t padBottom, int64_t padRight, int64_t dilationH, int64_t dilationW,
    int64_t groups, int32_t dxType);
void nncrt_conv2d_backward_weights_bf16(
    const void *x, const void *dy, void *dw, int64_t N, int64_t C, int64_t H,
    int64_t W, int64_t K, int64_t KH, int64_t KW, int64_t OH, int64_t OW,
    int64_t strideH, int64_t strideW, int64_t padTop, int64_t padLeft,
    int64_t padBottom, int64_t padRight, int64_t dilationH, int64_t dilationW,
    int64_t groups, int32_t dwType);

/* The implementations oneDNN chose for the bf16 convolutions this thread
 * created, each once, comma-separated (e.g. "jit:avx512_core_bf16"), or ""
 * before any. */
const char *nncrt_conv2d_bf16_impl(void);

/* The pooling kinds, with PyTorch's semantics. */
enum {
  NNCRT_POOL_MAX = 0, /* the padding never wins (as -inf) */
  /* The mean over the whole window, padding counted as zeros (PyTorch's
   * default, count_include_pad=True): the sum / (KH * KW). (PyTorch
   * divides by the window clipped to the padded input, the same with OH
   * and OW as below.) */
  NNCRT_POOL_AVG_INCLUDE_PAD = 1,
  /* The mean over the window's input elements (count_include_pad=False). */
  NNCRT_POOL_AVG_EXCLUDE_PAD = 2,
};

/* A pooling's geometry is 14 values: N, C, H, W (the input, [N, C, H, W]),
 * OH, OW (the output, [N, C, OH, OW]), KH, KW (the window), strideH,
 * strideW, padTop, padLeft, padBottom, padRight, with OH = (H + padTop +
 * padBottom - KH) / strideH + 1 (rounded down, the numerator >= 0), the
 * same for OW, and each padding under its window's size (so every window
 * holds an input element); max pooling takes planes (H*W) of under 2^32
 * elements. Windows may overlap (stride < window). */

/* y = pool(x). Max pooling picks, as PyTorch's CPU kernel does, the first
 * maximum of the window in row-major order (h, then w), or its last NaN. */
void nncrt_pool2d_forward(const float *x, float *y, int32_t kind, int64_t N,
                          int64_t C, int64_t H, int64_t W, int64_t OH,
                          int64_t OW, int64_t KH, int64_t KW, int64_t strideH,
                          int64_t strideW, int64_t padTop, int64_t padLeft,
                          int64_t padBottom, int64_t padRight);

/* dx, the gradient of the input, from dy [N, C, OH, OW] (written, not
 * accumulated; overlapping windows' contributions add up). Max pooling
 * reads x, the forward's input, to route each dy to the element the
 * forward picked; the average kinds do not read it (it may be null). */
void nncrt_pool2d_backward(const float *x, const float *dy, float *dx,
                           int32_t kind, int64_t N, int64_t C, int64_t H,
                           int64_t W, int64_t OH, int64_t OW, int64_t KH,
                           int64_t KW, int64_t strideH, int64_t strideW,
                           int64_t padTop, int64_t padLeft, int64_t padBottom,
                           int64_t padRight);

/* Pooling on bf16 activations (uint16_t bit patterns), the same kinds and
 * geometry as above. Max pooling is exact in bf16 (it picks an element);
 * its backward adds the window gradients in f32 and rounds dx once.
 * Average pooling runs oneDNN's bf16 pooling (f32 inside, rounded once). */
void nncrt_pool2d_forward_bf16(const void *x, void *y, int32_t kind, int64_t N,
                               int64_t C, int64_t H, int64_t W, int64_t OH,
                               int64_t OW, int64_t KH, int64_t KW,
                               int64_t strideH, int64_t strideW, int64_t padTop,
                               int64_t padLeft, int64_t padBottom,
                               int64_t padRight);
void nncrt_pool2d_backward_bf16(const void *x, const void *dy, void *dx,
                                int32_t kind, int64_t N, int64_t C, int64_t H,
                                int64_t W, int64_t OH, int64_t OW, int64_t KH,
                                int64_t KW, int64_t strideH, int64_t strideW,
                                int64_t padTop, int64_t padLeft,
                                int64_t padBottom, int64_t padRight);

/* The same convolutions and poolings with activations in oneDNN's blocked
 * layout nChw16c, chosen per operand at compile time (nnc-block-conv-layouts)
 * so that consecutive layers hand each other blocked buffers and no call
 * reorders. `layouts` has bit i set when the i-th pointer argument is an
 * [N, C, H, W] tensor stored as [N, C/16, H, W, 16] (the same bytes as
 * NCHW: C must be a multiple of 16); weights and biases stay OIHW and [K].
 * Each call takes its element types (NNCRT_TYPE_*): f32 throughout, or
 * bf16 operands with an f32 or bf16 result as the _bf16 calls above. For
 * the same values, geometry and threads, the result's elements equal the
 * plain call's bit for bit (only their order in memory differs), but for
 * an average pooling's backward with overlapping windows, which oneDNN
 * sums in another order on nChw16c; max pooling keeps PyTorch's
 * first-maximum rule (NaN wins). */
enum {
  NNCRT_LAYOUT_NCHW = 0,
  NNCRT_LAYOUT_NCHW16C = 1, /* per bit of `layouts` */
};
void nncrt_conv2d_forward_layout(
    const void *x, const void *w, const float *bias, void *y, int64_t N,
    int64_t C, int64_t H, int64_t W, int64_t K, int64_t KH, int64_t KW,
    int64_t OH, int64_t OW, int64_t strideH, int64_t strideW, int64_t padTop,
    int64_t padLeft, int64_t padBottom, int64_t padRight, int64_t dilationH,
    int64_t dilationW, int64_t groups, int32_t activation, float slope,
    int32_t xType, int32_t yType, int32_t layouts);
void nncrt_conv2d_backward_data_layout(
    const void *dy, const void *w, void *dx, int64_t N, int64_t C, int64_t H,
    int64_t W, int64_t K, int64_t KH, int64_t KW, int64_t OH, int64_t OW,
    int64_t strideH, int64_t strideW, int64_t padTop, int64_t padLeft,
    int64_t padBottom, int64_t padRight, int64_t dilationH, int64_t dilationW,
    int64_t groups, int32_t dyType, int32_t dxType, int32_t layouts);
void nncrt_conv2d_backward_weights_layout(
    const void *x, const void *dy, void *dw, int64_t N, int64_t C, int64_t H,
    int64_t W, int64_t K, int64_t KH, int64_t KW, int64_t OH, int64_t OW,
    int64_t strideH, int64_t strideW, int64_t padTop, int64_t padLeft,
    int64_t padBottom, int64_t padRight, int64_t dilationH, int64_t dilationW,
    int64_t groups, int32_t xType, int32_t dwType, int32_t layouts);
void nncrt_pool2d_forward_layout(const void *x, void *y, int32_t kind,
                                 int64_t N, int64_t C, int64_t H, int64_t W,
                                 int64_t OH, int64_t OW, int64_t KH, int64_t KW,
                                 int64_t strideH, int64_t strideW,
                                 int64_t padTop, int64_t padLeft,
                                 int64_t padBottom, int64_t padRight,
                                 int32_t type, int32_t layouts);
void nncrt_pool2d_backward_layout(const void *x, const void *dy, void *dx,
                                  int32_t kind, int64_t N, int64_t C, int64_t H,
                                  int64_t W, int64_t OH, int64_t OW, int64_t KH,
                                  int64_t KW, int64_t strideH, int64_t strideW,
                                  int64_t padTop, int64_t padLeft,
                                  int64_t padBottom, int64_t padRight,
                                  int32_t type, int32_t layouts);

/* The workspace of the calls above that run oneDNN primitives (the blocked
 * copies of operands they reorder, the primitive's scratchpad), planned in
 * the caller's arena (nnc-plan-runtime-workspaces):
 *
 * nncrt_workspace_bytes answers, when nnc compiles a step, how many bytes
 * the call of `callee` with these arguments needs: its scalar arguments in
 * order (i32 and i64 values; an f32 as its bit pattern), and a bit per
 * pointer argument, set where the pointer is null. It creates and caches
 * the call's primitive but computes nothing and touches no buffer. It
 * returns the bytes (0: the call needs none, e.g. a max pooling), -1 when
 * the arguments are invalid or oneDNN cannot create the primitive here (the
 * call fails with its message when it runs), -2 for a callee that takes no
 * workspace.
 *
 * nncrt_use_workspace hands the next convolution or pooling call of this
 * thread `bytes` at `workspace` (64-byte aligned); any later call runs in
 * the runtime's own workspace again. A call whose primitive needs more
 * (another thread count or CPU than the one nnc compiled on) uses the
 * runtime's own, grown as needed; its results are the same bits either
 * way. */
int64_t nncrt_workspace_bytes(const char *callee, const int64_t *scalars,
                              int64_t numScalars, uint64_t nullPointers);
void nncrt_use_workspace(void *workspace, int64_t bytes);

/* Max pooling's index form (lib/Runtime/CPU/MaxPoolIndices.inc), what a
 * CPU training step runs (nnc-max-pool-indices): the forward writes y, as
 * nncrt_pool2d_forward, and per output element the position kh * KW + kw
 * of the element it picked in its (padded) window, one byte (windows of at
 * most 256 elements); the backward writes dx from those positions and dy
 * alone, the same bits as nncrt_pool2d_backward from x. The positions
 * are [N, C, OH, OW] bytes, a workspace only these calls read. The _bf16
 * calls take bf16 x, y, dy, dx; the _layout calls take the element type
 * (NNCRT_TYPE_*) and `layouts`, a bit per pointer (x, y, positions; or
 * positions, dy, dx) in nChw16c, positions included (16 channels'
 * positions then one 16-byte vector). */
void nncrt_maxpool2d_forward_indices(const float *x, float *y, uint8_t *indices,
                                     int64_t N, int64_t C, int64_t H, int64_t W,
                                     int64_t OH, int64_t OW, int64_t KH,
                                     int64_t KW, int64_t strideH,
                                     int64_t strideW, int64_t padTop,
                                     int64_t padLeft, int64_t padBottom,
                                     int64_t padRight);
void nncrt_maxpool2d_backward_indices(const uint8_t *indices, const float *dy,
                                      float *dx, int64_t N, int64_t C,
                                      int64_t H, int64_t W, int64_t OH,
                                      int64_t OW, int64_t KH, int64_t KW,
                                      int64_t strideH, int64_t strideW,
                                      int64_t padTop, int64_t padLeft,
                                      int64_t padBottom, int64_t padRight);
void nncrt_maxpool2d_forward_indices_bf16(
    const void *x, void *y, uint8_t *indices, int64_t N, int64_t C, int64_t H,
    int64_t W, int64_t OH, int64_t OW, int64_t KH, int64_t KW, int64_t strideH,
    int64_t strideW, int64_t padTop, int64_t padLeft, int64_t padBottom,
    int64_t padRight);
void nncrt_maxpool2d_backward_indices_bf16(
    const uint8_t *indices, const void *dy, void *dx, int64_t N, int64_t C,
    int64_t H, int64_t W, int64_t OH, int64_t OW, int64_t KH, int64_t KW,
    int64_t strideH, int64_t strideW, int64_t padTop, int64_t padLeft,
    int64_t padBottom, int64_t padRight);
void nncrt_maxpool2d_forward_indices_layout(
    const void *x, void *y, uint8_t *indices, int64_t N, int64_t C, int64_t H,
    int64_t W, int64_t OH, int64_t OW, int64_t KH, int64_t KW, int64_t strideH,
    int64_t strideW, int64_t padTop, int64_t padLeft, int64_t padBottom,
    int64_t padRight, int32_t type, int32_t layouts);
void nncrt_maxpool2d_backward_indices_layout(
    const uint8_t *indices, const void *dy, void *dx, int64_t N, int64_t C,
    int64_t H, int64_t W, int64_t OH, int64_t OW, int64_t KH, int64_t KW,
    int64_t strideH, int64_t strideW, int64_t padTop, int64_t padLeft,
    int64_t padBottom, int64_t padRight, int32_t type, int32_t layouts);

/* Attention and embeddings (lib/Runtime/CPU/Attention.cpp). Tensors are
 * dense row-major f32.
 *
 * Attention is out = softmax(scale · q kᵀ + mask) v per batch and head:
 * q [B, H, Tq, Dk], k [B, H, Tk, Dk], v [B, H, Tk, Dv], out and its
 * gradient dout [B, H, Tq, Dv]. S_ij = scale · q_i·k_j + mask_ij for query
 * i and key j, P is S's row softmax and out_i = Σ_j P_ij v_j. `mask` is
 * null or an additive mask [Tq, Tk], the same for every batch and head,
 * -inf entries allowed; `causal` non-zero masks key j past query i (j > i,
 * top left aligned: PyTorch's torch.ones(Tq, Tk).tril()) as well. A row
 * whose every score is -inf gives a zero row of out and zero gradients
 * (PyTorch gives NaN): a padded query position then costs no NaN.
 *
 * Both run FlashAttention's algorithm: blocks of 64 query rows meet the
 * keys 64 at a time with a running maximum and sum per row (an online
 * softmax), so the Tq x Tk scores are never stored. Short heads (Tq and Tk
 * both 16 or less, or, under causal masking, 64 or less with Dk and Dv 32
 * or more) run in one piece instead, a plain softmax over their few
 * scores, several heads to a thread's task. Either way a thread's scratch
 * is under 64 · (256 + Dk + Dv) floats whatever Tq and Tk. The kernels are
 * those of the widest ISA the CPU has (AVX-512, AVX2 or SSE2;
 * NNC_ATTENTION_ISA=generic or avx2 in the environment caps it, for
 * tests). Threads split the forward over (batch, head, query block) and
 * the backward over (batch, head) only, and every sum runs in an order
 * fixed by the indices, so on a given CPU, for the same shape and values,
 * the result is the same bit for bit whatever the thread count and
 * wherever the buffers lie, which recomputation under checkpointing relies
 * on. A size < 1 or a scale that is not finite aborts with a message
 * naming the call. */

/* out = attention(q, k, v), out written whole. */
void nncrt_attention_forward(const float *q, const float *k, const float *v,
                             const float *mask, float *out, int64_t B,
                             int64_t H, int64_t Tq, int64_t Tk, int64_t Dk,
                             int64_t Dv, float scale, int32_t causal);

/* dq, dk and dv (shaped as q, k and v; written, not accumulated) from the
 * forward's arguments, its out and dout. The scores are recomputed: each
 * query row's log-sum-exp L_i from a first pass over the keys, then per
 * key block P = e^(S - L), dv_j += Σ_i P_ij dout_i, dP_ij = dout_i·v_j,
 * dS_ij = P_ij (dP_ij - dout_i·out_i), dq_i += scale Σ_j dS_ij k_j and
 * dk_j += scale Σ_i dS_ij q_i; dk and dv add up over the query blocks of
 * their head in order, on one thread. */
void nncrt_attention_backward(const float *q, const float *k, const float *v,
                              const float *mask, const float *out,
                              const float *dout, float *dq, float *dk,
                              float *dv, int64_t B, int64_t H, int64_t Tq,
                              int64_t Tk, int64_t Dk, int64_t Dv, float scale,
                              int32_t causal);

/* out[n, :] = table[indices[n], :]: table [V, D], out [N, D], `indices` N
 * integers, int32 when indexBits is 32 and int64 when 64. An index outside
 * [0, V) gives a row of quiet NaN (a loss that reads it is NaN, and the step
 * reports it), never an access out of bounds. Threads split the rows. A
 * size < 1 or indexBits other than 32 or 64 aborts with a message naming
 * the call. */
void nncrt_embedding_forward(const float *table, const void *indices,
                             float *out, int32_t indexBits, int64_t N,
                             int64_t V, int64_t D);

/* dtable [V, D], written whole: dy's row n [N, D] added into row
 * indices[n], for n = 0, 1, ... in order; an index outside [0, V) adds
 * nothing. Threads split the columns, each adding its own in the order of
 * n, so the result is the same bit for bit whatever the thread count. The
 * same checks as the forward. */
void nncrt_embedding_backward(const void *indices, const float *dy,
                              float *dtable, int32_t indexBits, int64_t N,
                              int64_t V, int64_t D);

#ifdef __cplusplus
}
#endif

#endif /* NNC_RUNTIME_CPU_CPURUNTIME_H */
