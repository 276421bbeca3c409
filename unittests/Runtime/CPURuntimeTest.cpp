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
  /// nncrt_sgemm_epilogue's: a bias row and an activation (alpha is 1).
  bool epilogue = false, bias = false;
  int32_t activation = NNCRT_ACTIVATION_NONE;
  float slope = 0.0f;
};

/// The call under test, on either entry point.
void call(const Case &c, const float *A, int64_t lda, const float *B,
          int64_t ldb, float *C, int64_t ldc, const float *bias) {
  if (c.epilogue)
    nncrt_sgemm_epilogue(c.transA, c.transB, c.M, c.N, c.K, A, lda, B, ldb,
                         c.beta, C, ldc, c.bias ? bias : nullptr,
                         c.activation, c.slope);
  else
    nncrt_sgemm(c.transA, c.transB, c.M, c.N, c.K, c.alpha, A, lda, B, ldb,
                c.beta, C, ldc);
}

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
  Matrix bias = makeOperand(false, 1, c.N, 0, 0, rng);
  std::vector<double> expected(c.M * c.N);
  for (int64_t i = 0; i < c.M; ++i)
    for (int64_t j = 0; j < c.N; ++j) {
      double sum = 0;
      for (int64_t k = 0; k < c.K; ++k)
        sum += (double)at(A, c.transA, i, k) * at(B, c.transB, k, j);
      double v =
          c.alpha * sum + (c.beta != 0 ? c.beta * C.ptr()[i * C.ld + j] : 0) +
          (c.bias ? bias.ptr()[j] : 0);
      if (c.activation != NNCRT_ACTIVATION_NONE && v <= 0)
        v = c.activation == NNCRT_ACTIVATION_RELU ? 0 : v * c.slope;
      expected[i * c.N + j] = v;
    }
  Matrix first = C;
  call(c, A.ptr(), A.ld, B.ptr(), B.ld, first.ptr(), first.ld, bias.ptr());
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
  Matrix bias2{std::vector<float>(bias.data.size() + 3), bias.ld, 3};
  std::memcpy(bias2.ptr(), bias.ptr(), bias.data.size() * sizeof(float));
  call(c, A2.ptr(), A2.ld, B.ptr(), B.ld, second.ptr(), second.ld,
       bias2.ptr());
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

/// A linear layer's epilogue: the bias with or without relu (beta 0, the
/// forward), an accumulating call, leaky relu, no bias; op(A) = Aᵀ takes
/// the sgemm path with the bias and activation as passes.
Case epilogue(bool transA, int64_t M, int64_t N, int64_t K, float beta,
              bool bias, int32_t activation, float slope = 0.0f) {
  return Case{transA, !transA, M,    N,          K,    1.0f,
              beta,   true,    bias, activation, slope};
}
INSTANTIATE_TEST_SUITE_P(
    Epilogues, SgemmTest,
    ::testing::Values(epilogue(false, 37, 29, 53, 0.0f, true,
                               NNCRT_ACTIVATION_RELU),
                      epilogue(false, 64, 100, 78, 0.0f, true,
                               NNCRT_ACTIVATION_NONE),
                      epilogue(false, 16, 8, 130, 1.0f, true,
                               NNCRT_ACTIVATION_RELU),
                      epilogue(false, 33, 45, 17, 0.0f, false,
                               NNCRT_ACTIVATION_LEAKY_RELU, 0.1f),
                      epilogue(true, 45, 31, 19, 0.0f, true,
                               NNCRT_ACTIVATION_RELU),
                      epilogue(true, 29, 61, 40, 1.0f, true,
                               NNCRT_ACTIVATION_LEAKY_RELU, 0.2f)));

TEST(SgemmEpilogueTest, UnknownActivationAborts) {
  float a = 1, b = 1, c = 0;
  EXPECT_DEATH(nncrt_sgemm_epilogue(0, 0, 1, 1, 1, &a, 1, &b, 1, 0.0f, &c, 1,
                                    nullptr, 7, 0.0f),
               "unknown activation 7");
}
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

TEST(ProfileTest, RecordsMarksInOrderOnlyWhileOpen) {
  nncrt_profile_mark(7); // no profile open: nothing happens
  int64_t ids[3] = {-9, -9, -9}, nanos[3] = {0, 0, 0};
  nncrt_profile_open(ids, nanos, 3);
  nncrt_profile_mark(1);
  nncrt_profile_mark(-2);
  EXPECT_EQ(nncrt_profile_close(), 2);
  EXPECT_EQ(ids[0], 1);
  EXPECT_EQ(ids[1], -2);
  EXPECT_EQ(ids[2], -9);
  EXPECT_GT(nanos[0], 0);
  EXPECT_GE(nanos[1], nanos[0]); // a steady clock
  nncrt_profile_mark(5); // closed again
  EXPECT_EQ(ids[2], -9);
}

TEST(ProfileTest, CountsMarksPastTheCapacityWithoutWritingThem) {
  int64_t ids[3] = {-9, -9, -9}, nanos[3] = {0, 0, 0};
  nncrt_profile_open(ids, nanos, 2);
  for (int64_t id = 1; id <= 4; ++id)
    nncrt_profile_mark(id);
  EXPECT_EQ(nncrt_profile_close(), 4);
  EXPECT_EQ(ids[1], 2);
  EXPECT_EQ(ids[2], -9);
  EXPECT_EQ(nanos[2], 0);
}
} // namespace
