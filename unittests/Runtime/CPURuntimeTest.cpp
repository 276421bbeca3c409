//===- CPURuntimeTest.cpp - the CPU runtime's GEMM ------------------------===//
//
// Part of nnc, under the Apache License v2.0 with LLVM Exceptions.
// See LICENSE for license information.
//
//===----------------------------------------------------------------------===//
//
// nncrt_sgemm takes one of two oneDNN engines per call (a cached matmul
// primitive or dnnl_sgemm). Every layout, scale and accumulation the
// compiler emits must match a double-precision reference, and a repeated
// call must give the same bits wherever its buffers lie: checkpointing
// recomputes a forward into another arena slot and relies on that.
//
//===----------------------------------------------------------------------===//

#include "nnc/Runtime/CPU/CPURuntime.h"

#include "gtest/gtest.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <mutex>
#include <random>
#include <tuple>
#include <vector>

namespace {
struct Case {
  bool transA, transB;
  int64_t M, N, K;
  float alpha, beta;
};

/// Row-major storage of op(X) (rows x cols) as X or its transpose, with a
/// leading dimension padded by `pad` and the data starting `shift` floats
/// into the vector (so calls can see other alignments).
struct Matrix {
  std::vector<float> data;
  int64_t ld, shift;
  const float *ptr() const { return data.data() + shift; }
  float *ptr() { return data.data() + shift; }
};

Matrix makeOperand(bool trans, int64_t rows, int64_t cols, int64_t pad,
                   int64_t shift, std::mt19937 &rng) {
  int64_t storedRows = trans ? cols : rows, storedCols = trans ? rows : cols;
  Matrix m{std::vector<float>(shift + storedRows * (storedCols + pad)),
           storedCols + pad, shift};
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  for (float &x : m.data)
    x = u(rng);
  return m;
}

float at(const Matrix &m, bool trans, int64_t r, int64_t c) {
  return trans ? m.ptr()[c * m.ld + r] : m.ptr()[r * m.ld + c];
}

void runCase(const Case &c, int64_t pad, int64_t shift) {
  std::mt19937 rng(42);
  Matrix A = makeOperand(c.transA, c.M, c.K, pad, shift, rng);
  Matrix B = makeOperand(c.transB, c.K, c.N, pad, shift, rng);
  Matrix C = makeOperand(false, c.M, c.N, pad, shift, rng);
  std::vector<double> expected(c.M * c.N);
  for (int64_t i = 0; i < c.M; ++i)
    for (int64_t j = 0; j < c.N; ++j) {
      double sum = 0;
      for (int64_t k = 0; k < c.K; ++k)
        sum += (double)at(A, c.transA, i, k) * at(B, c.transB, k, j);
      expected[i * c.N + j] =
          c.alpha * sum + (c.beta != 0 ? c.beta * C.ptr()[i * C.ld + j] : 0);
    }
  Matrix first = C;
  nncrt_sgemm(c.transA, c.transB, c.M, c.N, c.K, c.alpha, A.ptr(), A.ld,
              B.ptr(), B.ld, c.beta, first.ptr(), first.ld);
  for (int64_t i = 0; i < c.M; ++i)
    for (int64_t j = 0; j < c.N; ++j)
      ASSERT_NEAR(first.ptr()[i * first.ld + j], expected[i * c.N + j],
                  1e-4 * c.K)
          << "at (" << i << ", " << j << ")";
  // The same call on copies at another alignment: the same bits.
  Matrix A2{std::vector<float>(A.data.size() + 3), A.ld, A.shift + 3};
  std::memcpy(A2.ptr(), A.ptr(), (A.data.size() - A.shift) * sizeof(float));
  Matrix second{std::vector<float>(C.data.size() + 5), C.ld, C.shift + 5};
  std::memcpy(second.ptr(), C.ptr(), (C.data.size() - C.shift) * sizeof(float));
  nncrt_sgemm(c.transA, c.transB, c.M, c.N, c.K, c.alpha, A2.ptr(), A2.ld,
              B.ptr(), B.ld, c.beta, second.ptr(), second.ld);
  for (int64_t i = 0; i < c.M; ++i)
    ASSERT_EQ(std::memcmp(first.ptr() + i * first.ld,
                          second.ptr() + i * second.ld, c.N * sizeof(float)),
              0)
        << "row " << i << " differs between two identical calls";
}

class SgemmTest : public ::testing::TestWithParam<Case> {};

TEST_P(SgemmTest, MatchesReferenceAndRepeatsBitwise) {
  for (int threads : {1, 2}) {
    int32_t previous = nncrt_set_num_threads(threads);
    runCase(GetParam(), /*pad=*/0, /*shift=*/0);
    runCase(GetParam(), /*pad=*/7, /*shift=*/1);
    nncrt_set_num_threads(previous);
  }
}

// The compiler's calls: x·Wᵀ onto a bias (NT, beta 1) or zeros (beta 0),
// δ·W (NN), δᵀ·x (TN), and the fused SGD update's δᵀ·x with alpha = -lr
// onto the weights; TT for completeness. Odd sizes hit every edge.
INSTANTIATE_TEST_SUITE_P(
    Layouts, SgemmTest,
    ::testing::Values(Case{false, true, 37, 29, 53, 1.0f, 1.0f},
                      Case{false, true, 64, 100, 78, 1.0f, 0.0f},
                      Case{false, false, 33, 45, 17, 1.0f, 0.0f},
                      Case{false, false, 16, 8, 130, 1.0f, 1.0f},
                      Case{true, false, 45, 31, 19, 1.0f, 0.0f},
                      Case{true, false, 29, 61, 40, -0.01f, 1.0f},
                      Case{false, true, 9, 11, 13, 0.5f, 1.0f},
                      Case{true, true, 12, 10, 14, 2.0f, 0.0f},
                      Case{false, false, 1, 1, 1, 1.0f, 0.5f}));
/// What each task call saw: the pieces and the threads that ran them.
struct Coverage {
  std::vector<int> hits;
  std::vector<std::pair<int64_t, int64_t>> pieces;
  int64_t lo;
  std::mutex mutex;
};

void recordPiece(void *ctx, int64_t b, int64_t e) {
  auto *c = static_cast<Coverage *>(ctx);
  std::lock_guard<std::mutex> lock(c->mutex); // pieces may overlap: count
  for (int64_t i = b; i < e; ++i)
    ++c->hits[i - c->lo];
  c->pieces.push_back({b, e});
}

TEST(ParallelForTest, CoversTheRangeOnceInPiecesOfAtLeastTheGrain) {
  for (int threads : {1, 2, 3})
    for (auto [lo, hi, grain] :
         {std::tuple<int64_t, int64_t, int64_t>{0, 256, 32},
          {5, 1000, 1},
          {0, 7, 2},
          {10, 11, 1},
          {0, 63, 32},
          {3, 3, 1}}) {
      int32_t previous = nncrt_set_num_threads(threads);
      Coverage c;
      c.hits.assign(hi - lo, 0);
      c.lo = lo;
      nncrt_parallel_for(recordPiece, &c, lo, hi, grain);
      nncrt_set_num_threads(previous);
      for (int64_t i = 0; i < hi - lo; ++i)
        ASSERT_EQ(c.hits[i], 1) << "index " << lo + i << " with " << threads
                                << " threads, grain " << grain;
      int64_t expectedPieces =
          std::max<int64_t>(1, std::min<int64_t>(threads, (hi - lo) / grain));
      EXPECT_EQ((int64_t)c.pieces.size(), hi == lo ? 0 : expectedPieces)
          << "[" << lo << ", " << hi << ") grain " << grain << ", " << threads
          << " threads";
      if (c.pieces.size() > 1)
        for (auto [b, e] : c.pieces)
          EXPECT_GE(e - b, grain);
    }
}
} // namespace
