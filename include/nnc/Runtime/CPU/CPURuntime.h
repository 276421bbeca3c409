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

#ifdef __cplusplus
}
#endif

#endif /* NNC_RUNTIME_CPU_CPURUNTIME_H */
