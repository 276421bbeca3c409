//===- MaxPoolTest.cpp - max pooling's kernels against PyTorch's rule -----===//
//
// Part of nnc, under the Apache License v2.0 with LLVM Exceptions.
// See LICENSE for license information.
//
//===----------------------------------------------------------------------===//
//
// nncrt_pool2d_{forward,backward}_layout with kind max, for every choice of
// nChw16c operands, f32 and bf16, 1 and 2 threads, with the runtime's
// AVX-512 kernels (where the CPU has them) and its portable ones
// (NNC_MAXPOOL_ISA=generic), against loops here that spell out PyTorch's
// CPU rule: the first maximum in row-major window order wins, a NaN wins
// (`v > m || isnan(v)`), padding is never picked, and each window's dy
// adds into dx in row-major window order in f32, rounded once for bf16.
// The bits must match: inputs hold ties, NaNs of several payloads and
// signs, -0 and +0, -inf and +inf, and subnormals.
//
//===----------------------------------------------------------------------===//

#include "nnc/Runtime/CPU/CPURuntime.h"

#include "PoolTestSupport.h"

#include "gtest/gtest.h"

#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

namespace {
using namespace nnc::test;

/// Inputs whose windows tie and hold special values, all of them exact in
/// bf16 (so that the f32 and bf16 runs see the same values); NaNs only
/// `withNaN` (the kernels take another way where a row holds one).
std::vector<float> specialFloats(size_t n, std::mt19937 &rng, bool withNaN) {
  const float specials[] = {
      0.0f,
      -0.0f,
      -std::numeric_limits<float>::infinity(),
      std::numeric_limits<float>::infinity(),
      bitsToFloat(0x7fc00000u), // quiet NaN
      bitsToFloat(0xffc10000u), // negative quiet NaN, another payload
      bitsToFloat(0x7f810000u), // signalling NaN
      bitsToFloat(0x00010000u), // a subnormal
      bitsToFloat(0x80010000u),
  };
  std::uniform_int_distribution<int> d(0, 99);
  std::vector<float> v(n);
  for (float &x : v) {
    int r = d(rng);
    if (r < 9 && !std::isnan(specials[r]))
      x = specials[r];
    else if (r < 9)
      x = withNaN ? specials[r] : -0.0f;
    else if (r < 40)
      x = 0.0f; // as after a ReLU
    else
      x = float(r % 7) - 3.0f; // ties
  }
  return v;
}

/// dy: random values exact in bf16 whose sums are not, and some -0s and
/// NaNs (0 + -0 is +0, a NaN comes out quiet).
std::vector<float> gradients(size_t n, std::mt19937 &rng) {
  return bf16ExactValues(n, rng, 1.0f, bitsToFloat(0x7f810000u));
}

uint16_t roundToBF16(float f) {
  uint32_t bits = floatToBits(f);
  if ((bits & 0x7fffffffu) > 0x7f800000u)
    return uint16_t((bits >> 16) | 0x40u);
  return uint16_t((bits + 0x7fffu + ((bits >> 16) & 1u)) >> 16);
}

/// PyTorch's pick in a window: the first maximum in row-major window
/// order, a NaN winning; `m` the maximum.
WindowElement firstMax(const std::vector<float> &x,
                       const std::vector<WindowElement> &elements, float &m) {
  m = -std::numeric_limits<float>::infinity();
  WindowElement at = elements.front();
  for (const WindowElement &e : elements)
    if (x[e.index] > m || std::isnan(x[e.index])) {
      m = x[e.index];
      at = e;
    }
  return at;
}

/// PyTorch's max pooling on NCHW planes, in the plainest loops: y holds the
/// maxima's bits, dx the f32 sums.
void reference(const Geometry &g, int64_t N, const std::vector<float> &x,
               const std::vector<float> &dy, std::vector<float> &y,
               std::vector<float> &dx) {
  y.assign(N * g.C * g.OH() * g.OW(), 0.0f);
  dx.assign(x.size(), 0.0f);
  forEachWindow(g, N,
                [&](int64_t o, int64_t, int64_t,
                    const std::vector<WindowElement> &elements) {
                  float m;
                  dx[firstMax(x, elements, m).index] += dy[o];
                  y[o] = m;
                });
}

/// want and got the same bits, or a failure that says where: what, the
/// kernels, the layouts, the threads.
template <typename T>
void expectSameBits(const std::vector<T> &want, const std::vector<T> &got,
                    const char *what, const char *isa, int32_t layouts,
                    int threads) {
  nnc::test::expectSameBits(want, got,
                            std::string(what) +
                                " (vs. PyTorch's rule; kernels " + isa +
                                ", layouts " + std::to_string(layouts) + ", " +
                                std::to_string(threads) + " threads)");
}

class MaxPoolTest : public ::testing::TestWithParam<Geometry> {
protected:
  template <typename T> void run(bool withNaN) {
    const Geometry g = GetParam();
    const int64_t N = g.N(), P = g.H * g.W, OP = g.OH() * g.OW();
    std::mt19937 rng(17);
    std::vector<float> x = specialFloats(N * g.C * P, rng, withNaN),
                       dy = gradients(N * g.C * OP, rng);
    std::vector<float> y, sums;
    reference(g, N, x, dy, y, sums);
    std::vector<T> wantY = convert<T>(y), wantDx;
    if constexpr (std::is_same_v<T, float>)
      wantDx = sums;
    else
      for (float f : sums)
        wantDx.push_back(roundToBF16(f));
    const std::vector<T> tx = convert<T>(x), tdy = convert<T>(dy);
    for (const char *isa : {"generic", "widest"})
      for (int threads : {1, 2}) {
        Kernels kernels(isa);
        Threads running(threads);
        for (int32_t layouts = 0; layouts < 8; ++layouts) {
          // Written over garbage; the forward's y is blocked where the
          // backward's dy is.
          std::vector<T> ly, ldx;
          runLayouts(g, NNCRT_POOL_MAX, N, tx, tdy, layouts, 0, ly, ldx);
          int32_t fwd = layouts & 3;
          expectSameBits(wantY, ly, "y", isa, fwd, threads);
          expectSameBits(wantDx, ldx, "dx", isa, layouts, threads);
        }
      }
  }
};

TEST_P(MaxPoolTest, F32FollowsPyTorchsRule) { run<float>(true); }
TEST_P(MaxPoolTest, BF16FollowsPyTorchsRule) { run<uint16_t>(true); }
TEST_P(MaxPoolTest, F32WithoutNaNsFollowsPyTorchsRule) { run<float>(false); }
TEST_P(MaxPoolTest, BF16WithoutNaNsFollowsPyTorchsRule) {
  run<uint16_t>(false);
}

INSTANTIATE_TEST_SUITE_P(
    Windows, MaxPoolTest,
    ::testing::ValuesIn(tilesAnd({
        // Overlapping windows, with padding on some sides.
        Geometry{"Overlap3x3Stride2", 48, 9, 11, 3, 3, 2, 2, 1, 1, 1, 1},
        Geometry{"Overlap3x3Stride1", 32, 7, 5, 3, 3, 1, 1, 1, 1, 1, 1},
        Geometry{"Overlap3x2Padded", 16, 8, 7, 3, 2, 2, 1, 1, 0, 2, 1},
        // One position a plane, and planes of more than 16.
        Geometry{"Window1x1", 16, 3, 3, 1, 1, 1, 1, 0, 0, 0, 0},
        Geometry{"Global5x5", 32, 5, 5, 5, 5, 1, 1, 0, 0, 0, 0},
    })),
    geometryName);

//===----------------------------------------------------------------------===//
// The index form (nncrt_maxpool2d_{forward,backward}_indices*)
//===----------------------------------------------------------------------===//

/// Where PyTorch's rule picks in each window: the position kh * KW + kw in
/// the padded window, NCHW order.
std::vector<uint8_t> referencePositions(const Geometry &g, int64_t N,
                                        const std::vector<float> &x) {
  std::vector<uint8_t> at(N * g.C * g.OH() * g.OW());
  forEachWindow(g, N,
                [&](int64_t o, int64_t, int64_t,
                    const std::vector<WindowElement> &elements) {
                  float m;
                  at[o] = uint8_t(firstMax(x, elements, m).position);
                });
  return at;
}

/// The index form against the recomputing form (nncrt_pool2d_*_layout, on
/// the same operands) and PyTorch's rule: y and dx the same bits, for
/// every layout of x, y, dy, dx and the positions, both kernel sets, 1 and
/// 2 threads; and the positions themselves.
class MaxPoolIndicesTest : public ::testing::TestWithParam<Geometry> {
protected:
  template <typename T> void run(bool withNaN) {
    const Geometry g = GetParam();
    const int64_t N = g.N(), P = g.H * g.W, OP = g.OH() * g.OW();
    const bool units = g.C % kBlock == 0;
    std::mt19937 rng(29);
    std::vector<float> x = specialFloats(N * g.C * P, rng, withNaN),
                       dy = gradients(N * g.C * OP, rng);
    std::vector<float> y, sums;
    reference(g, N, x, dy, y, sums);
    std::vector<T> wantY = convert<T>(y), wantDx;
    if constexpr (std::is_same_v<T, float>)
      wantDx = sums;
    else
      for (float f : sums)
        wantDx.push_back(roundToBF16(f));
    std::vector<uint8_t> wantAt = referencePositions(g, N, x);
    const std::vector<T> tx = convert<T>(x), tdy = convert<T>(dy);
    const int32_t type = typeOf<T>;
    for (const char *isa : {"generic", "widest"})
      for (int threads : {1, 2}) {
        Kernels kernels(isa);
        Threads running(threads);
        // Blocked operands need whole units of 16 channels; bit 3 is the
        // positions'.
        for (int32_t layouts = 0; layouts < (units ? 16 : 1); ++layouts) {
          bool bx = layouts & 1, bdy = layouts & 2, bdx = layouts & 4,
               bat = layouts & 8;
          std::vector<T> lx = bx ? reorder(tx, N, g.C, P, true) : tx;
          std::vector<T> ldy = bdy ? reorder(tdy, N, g.C, OP, true) : tdy;
          // Garbage where the kernels write: they must not add to it.
          std::vector<T> ly(wantY.size(), T(7)), ldx(wantDx.size(), T(7));
          std::vector<uint8_t> at(wantAt.size(), 0xee);
          int32_t fwd = bx | bdy << 1 | bat << 2, bwd = bat | (layouts & 6);
          nncrt_maxpool2d_forward_indices_layout(
              lx.data(), ly.data(), at.data(), POOL_ARGS(g, N), type, fwd);
          nncrt_maxpool2d_backward_indices_layout(
              at.data(), ldy.data(), ldx.data(), POOL_ARGS(g, N), type, bwd);
          // The recomputing form on the same operands.
          std::vector<T> rdx(wantDx.size(), T(9));
          nncrt_pool2d_backward_layout(lx.data(), ldy.data(), rdx.data(),
                                       NNCRT_POOL_MAX, POOL_ARGS(g, N), type,
                                       layouts & 7);
          expectSameBits(rdx, ldx, "dx (vs. the recomputing backward)", isa,
                         layouts, threads);
          if (bdy)
            ly = reorder(ly, N, g.C, OP, false);
          if (bdx)
            ldx = reorder(ldx, N, g.C, P, false);
          if (bat)
            at = reorder(at, N, g.C, OP, false);
          expectSameBits(wantY, ly, "y", isa, fwd, threads);
          expectSameBits(wantDx, ldx, "dx", isa, layouts, threads);
          expectSameBits(wantAt, at, "positions", isa, fwd, threads);
        }
      }
  }
};

TEST_P(MaxPoolIndicesTest, F32MatchesRecomputingForm) { run<float>(true); }
TEST_P(MaxPoolIndicesTest, BF16MatchesRecomputingForm) { run<uint16_t>(true); }
TEST_P(MaxPoolIndicesTest, F32WithoutNaNsMatchesRecomputingForm) {
  run<float>(false);
}
TEST_P(MaxPoolIndicesTest, BF16WithoutNaNsMatchesRecomputingForm) {
  run<uint16_t>(false);
}

/// The plain entry points are the _layout ones with every operand NCHW.
TEST(MaxPoolIndices, PlainEntryPointsMatchLayoutOnes) {
  const Geometry g{"Overlap3x3Stride2", 48, 9, 11, 3, 3, 2, 2, 1, 1, 1, 1};
  const int64_t N = 2, P = g.H * g.W, OP = g.OH() * g.OW();
  std::mt19937 rng(5);
  std::vector<float> x = specialFloats(N * g.C * P, rng, true),
                     dy = gradients(N * g.C * OP, rng);
  std::vector<float> y1(N * g.C * OP), y2(y1.size()), dx1(x.size()),
      dx2(x.size());
  std::vector<uint8_t> a1(y1.size()), a2(y1.size());
  nncrt_maxpool2d_forward_indices(x.data(), y1.data(), a1.data(),
                                  POOL_ARGS(g, N));
  nncrt_maxpool2d_forward_indices_layout(x.data(), y2.data(), a2.data(),
                                         POOL_ARGS(g, N), NNCRT_TYPE_F32, 0);
  nncrt_maxpool2d_backward_indices(a1.data(), dy.data(), dx1.data(),
                                   POOL_ARGS(g, N));
  nncrt_maxpool2d_backward_indices_layout(a2.data(), dy.data(), dx2.data(),
                                          POOL_ARGS(g, N), NNCRT_TYPE_F32, 0);
  expectSameBits(y1, y2, "y", "widest", 0, 1);
  expectSameBits(a1, a2, "positions", "widest", 0, 1);
  expectSameBits(dx1, dx2, "dx", "widest", 0, 1);
  std::vector<uint16_t> bx = convert<uint16_t>(x), bdy = convert<uint16_t>(dy);
  std::vector<uint16_t> by1(y1.size()), by2(y1.size()), bdx1(x.size()),
      bdx2(x.size());
  nncrt_maxpool2d_forward_indices_bf16(bx.data(), by1.data(), a1.data(),
                                       POOL_ARGS(g, N));
  nncrt_maxpool2d_forward_indices_layout(bx.data(), by2.data(), a2.data(),
                                         POOL_ARGS(g, N), NNCRT_TYPE_BF16, 0);
  nncrt_maxpool2d_backward_indices_bf16(a1.data(), bdy.data(), bdx1.data(),
                                        POOL_ARGS(g, N));
  nncrt_maxpool2d_backward_indices_layout(a2.data(), bdy.data(), bdx2.data(),
                                          POOL_ARGS(g, N), NNCRT_TYPE_BF16, 0);
  expectSameBits(by1, by2, "bf16 y", "widest", 0, 1);
  expectSameBits(a1, a2, "bf16 positions", "widest", 0, 1);
  expectSameBits(bdx1, bdx2, "bf16 dx", "widest", 0, 1);
}

/// A window over 256 elements, or a layouts bit past the call's pointers,
/// is refused with the call's name.
TEST(MaxPoolIndicesDeathTest, RefusesWhatItCannotIndex) {
  std::vector<float> x(17 * 17), y(1), dx(17 * 17);
  std::vector<uint8_t> at(16 * 4);
  EXPECT_DEATH(nncrt_maxpool2d_forward_indices(x.data(), y.data(), at.data(), 1,
                                               1, 17, 17, 1, 1, 17, 17, 1, 1, 0,
                                               0, 0, 0),
               "nncrt_maxpool2d_forward_indices.*at most 256 elements");
  std::vector<float> bx(16 * 4 * 4), by(16 * 2 * 2);
  EXPECT_DEATH(nncrt_maxpool2d_forward_indices_layout(
                   bx.data(), by.data(), at.data(), 1, 16, 4, 4, 2, 2, 2, 2, 2,
                   2, 0, 0, 0, 0, NNCRT_TYPE_F32, 0b1000),
               "nncrt_maxpool2d_forward_indices_layout.*does not take");
  std::vector<float> cx(3 * 4 * 4), cy(3 * 2 * 2);
  EXPECT_DEATH(nncrt_maxpool2d_backward_indices_layout(
                   at.data(), cy.data(), cx.data(), 1, 3, 4, 4, 2, 2, 2, 2, 2,
                   2, 0, 0, 0, 0, NNCRT_TYPE_F32, 0b001),
               "nncrt_maxpool2d_backward_indices_layout.*divisible by 16");
}

INSTANTIATE_TEST_SUITE_P(
    Windows, MaxPoolIndicesTest,
    ::testing::Values(
        Geometry{"Tiles2x2", 32, 28, 28, 2, 2, 2, 2, 0, 0, 0, 0},
        Geometry{"Odd2x2", 48, 9, 11, 2, 2, 2, 2, 0, 0, 0, 0},
        Geometry{"Tiles3x3", 16, 9, 12, 3, 3, 3, 3, 0, 0, 0, 0},
        Geometry{"Tiles2x3", 32, 6, 9, 2, 3, 2, 3, 0, 0, 0, 0},
        // Overlapping windows (their sums' order), strides, padding.
        Geometry{"Overlap3x3Stride2", 48, 9, 11, 3, 3, 2, 2, 1, 1, 1, 1},
        Geometry{"Overlap3x3Stride1", 32, 7, 5, 3, 3, 1, 1, 1, 1, 1, 1},
        Geometry{"Overlap3x2Padded", 16, 8, 7, 3, 2, 2, 1, 1, 0, 2, 1},
        Geometry{"Window1x1", 16, 3, 3, 1, 1, 1, 1, 0, 0, 0, 0},
        // The largest window: positions up to 255.
        Geometry{"Window16x16", 16, 18, 17, 16, 16, 1, 1, 0, 0, 0, 0},
        // Channels not a multiple of 16: NCHW positions, plane loops.
        Geometry{"Planes3Overlap", 3, 9, 11, 3, 3, 2, 2, 1, 1, 1, 1},
        Geometry{"Planes5Tiles2x2", 5, 8, 8, 2, 2, 2, 2, 0, 0, 0, 0}),
    geometryName);
} // namespace
