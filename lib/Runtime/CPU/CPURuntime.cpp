//===- CPURuntime.cpp - what CPU code compiled by nnc calls ---------------===//
//
// Part of nnc, under the Apache License v2.0 with LLVM Exceptions.
// See LICENSE for license information.
//
//===----------------------------------------------------------------------===//

#include "nnc/Runtime/CPU/CPURuntime.h"

#include <oneapi/dnnl/dnnl.h>

#include <cstdio>
#include <cstdlib>

// oneDNN's CPU engine is built on OpenMP here (Debian's libdnnl: libgomp);
// its thread count is OpenMP's.
extern "C" int omp_get_max_threads(void);
extern "C" void omp_set_num_threads(int);

void nncrt_sgemm(int32_t transA, int32_t transB, int64_t M, int64_t N,
                 int64_t K, float alpha, const float *A, int64_t lda,
                 const float *B, int64_t ldb, float beta, float *C,
                 int64_t ldc) {
  dnnl_status_t status =
      dnnl_sgemm(transA ? 'T' : 'N', transB ? 'T' : 'N', M, N, K, alpha, A,
                 lda, B, ldb, beta, C, ldc);
  if (status != dnnl_success) {
    std::fprintf(stderr,
                 "nnc runtime: error: sgemm(%c%c, M=%lld N=%lld K=%lld, "
                 "lda=%lld ldb=%lld ldc=%lld) failed with oneDNN status %d\n",
                 transA ? 'T' : 'N', transB ? 'T' : 'N', (long long)M,
                 (long long)N, (long long)K, (long long)lda, (long long)ldb,
                 (long long)ldc, (int)status);
    std::abort();
  }
}

int32_t nncrt_set_num_threads(int32_t threads) {
  static const int initial = omp_get_max_threads();
  int previous = omp_get_max_threads();
  omp_set_num_threads(threads > 0 ? threads : initial);
  return previous;
}
