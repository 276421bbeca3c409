//===- GemmBF16Test.cpp - the mixed-precision GEMM ------------------------===//
//
// Part of nnc, under the Apache License v2.0 with LLVM Exceptions.
// See LICENSE for license information.
//
//===----------------------------------------------------------------------===//
//
// nncrt_gemm_bf16 multiplies bf16 operands with f32 accumulation and writes
// f32 or bf16. Against a double-precision reference of the same bf16
// inputs: an f32 C within f32 accumulation error, a bf16 C within half a
// bf16 ulp of the rounded reference (plus that error); the run-time alpha
// (a fused update's -lr) and beta = 1 (its accumulation onto the weight,
// the product taken alone and added scaled), and alpha with beta = 0;
// and the same bits on a repeated call into another buffer. Skipped, with
// the reason printed, where the CPU has no bf16 matmul (nnc refuses
// --precision=bf16 there).
//
//===----------------------------------------------------------------------===//

#include "nnc/Runtime/CPU/CPURuntime.h"

#include "BF16.h"

#include "gtest/gtest.h"

#include <cmath>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <random>
#include <string>
#include <vector>

namespace {

using nnc::test::cpuHasBF16;
using nnc::test::fromBF16;
using nnc::test::toBF16;

struct Case {
  bool transA, transB;
  int64_t M, N, K;
  float alpha, beta;
  bool bias, bf16Out;
  int32_t activation;
  /// Columns of C beyond N (ldc = N + cPad), which no call may touch.
  int64_t cPad = 0;
};

class GemmBF16 : public testing::TestWithParam<Case> {};

TEST_P(GemmBF16, MatchesReference) {
  if (!cpuHasBF16())
    GTEST_SKIP() << "this CPU has neither AVX-512 BF16 nor AMX";
  const Case c = GetParam();
  std::mt19937 rng(7);
  std::normal_distribution<float> normal;
  auto bf16Matrix = [&](int64_t n) {
    std::vector<uint16_t> m(n);
    for (uint16_t &v : m)
      v = toBF16(normal(rng));
    return m;
  };
  std::vector<uint16_t> A = bf16Matrix(c.M * c.K), B = bf16Matrix(c.K * c.N);
  std::vector<float> bias(c.N);
  for (float &v : bias)
    v = normal(rng);
  const int64_t ldc = c.N + c.cPad;
  std::vector<float> C0(c.M * ldc);
  for (float &v : C0)
    v = normal(rng);
  int64_t lda = c.transA ? c.M : c.K, ldb = c.transB ? c.K : c.N;
  auto a = [&](int64_t i, int64_t k) {
    return fromBF16(c.transA ? A[k * lda + i] : A[i * lda + k]);
  };
  auto b = [&](int64_t k, int64_t j) {
    return fromBF16(c.transB ? B[j * ldb + k] : B[k * ldb + j]);
  };

  auto run = [&](std::vector<float> &f32Out, std::vector<uint16_t> &bf16Out) {
    f32Out = C0;
    bf16Out.assign(c.M * ldc, 0);
    void *out = c.bf16Out ? static_cast<void *>(bf16Out.data())
                          : static_cast<void *>(f32Out.data());
    nncrt_gemm_bf16(c.transA, c.transB, c.M, c.N, c.K, c.alpha, A.data(), lda,
                    B.data(), ldb, c.beta, out, ldc,
                    c.bf16Out ? NNCRT_TYPE_BF16 : NNCRT_TYPE_F32,
                    c.bias ? bias.data() : nullptr, c.activation, 0.0f);
  };
  std::vector<float> f32Out, f32Again;
  std::vector<uint16_t> bf16Out, bf16Again;
  run(f32Out, bf16Out);
  run(f32Again, bf16Again);
  EXPECT_EQ(f32Out, f32Again);
  EXPECT_EQ(bf16Out, bf16Again);

  for (int64_t i = 0; i < c.M; ++i)
    for (int64_t j = 0; j < c.N; ++j) {
      double acc = 0, mag = 0;
      for (int64_t k = 0; k < c.K; ++k) {
        acc += static_cast<double>(a(i, k)) * b(k, j);
        mag += std::fabs(static_cast<double>(a(i, k)) * b(k, j));
      }
      double ref = c.alpha * acc + (c.bias ? bias[j] : 0.0) +
                   c.beta * C0[i * ldc + j];
      if (c.activation == NNCRT_ACTIVATION_RELU)
        ref = std::max(ref, 0.0);
      // f32 accumulation of K products.
      double tol = 1e-6 * c.K * (std::fabs(c.alpha) * mag + 1) + 1e-6;
      if (c.bf16Out) {
        double got = fromBF16(bf16Out[i * ldc + j]);
        ASSERT_NEAR(got, ref, std::fabs(ref) / 256 + tol)
            << "at (" << i << ", " << j << ")";
      } else {
        ASSERT_NEAR(f32Out[i * ldc + j], ref, tol)
            << "at (" << i << ", " << j << ")";
      }
    }
  // The columns past N are C's neighbours: untouched.
  for (int64_t i = 0; i < c.M; ++i)
    for (int64_t j = c.N; j < ldc; ++j) {
      ASSERT_EQ(f32Out[i * ldc + j], C0[i * ldc + j]) << "at (" << i << ", "
                                                      << j << ")";
      ASSERT_EQ(bf16Out[i * ldc + j], 0) << "at (" << i << ", " << j << ")";
    }
}

INSTANTIATE_TEST_SUITE_P(
    Shapes, GemmBF16,
    testing::Values(
        // x·Wᵀ + b, relu, into bf16 (a forward linear layer).
        Case{false, true, 64, 48, 96, 1.0f, 0.0f, true, true,
             NNCRT_ACTIVATION_RELU},
        // δ·W into bf16 (an input gradient).
        Case{false, false, 33, 17, 40, 1.0f, 0.0f, false, true,
             NNCRT_ACTIVATION_NONE},
        // w - lr·δᵀ·x onto f32 (a fused SGD update).
        Case{true, false, 24, 40, 64, -0.05f, 1.0f, false, false,
             NNCRT_ACTIVATION_NONE},
        // A larger update: the product buffer grows, rows split over
        // threads.
        Case{true, false, 130, 260, 64, -0.05f, 1.0f, false, false,
             NNCRT_ACTIVATION_NONE},
        // The same into C of a wider matrix (ldc > N).
        Case{true, false, 24, 40, 64, -0.05f, 1.0f, false, false,
             NNCRT_ACTIVATION_NONE, 9},
        Case{false, true, 16, 24, 32, 1.0f, 0.0f, true, true,
             NNCRT_ACTIVATION_RELU, 5},
        // alpha without beta: oneDNN's run-time output scale.
        Case{true, false, 24, 40, 64, -0.05f, 0.0f, false, false,
             NNCRT_ACTIVATION_NONE},
        // δᵀ·x into f32 (a weight gradient).
        Case{true, false, 7, 5, 300, 1.0f, 0.0f, false, false,
             NNCRT_ACTIVATION_NONE}));

} // namespace
