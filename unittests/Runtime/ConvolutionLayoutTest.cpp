//===- ConvolutionLayoutTest.cpp - convolutions on nChw16c activations ----===//
//
// Part of nnc, under the Apache License v2.0 with LLVM Exceptions.
// See LICENSE for license information.
//
//===----------------------------------------------------------------------===//
//
// The layout-aware entry points (nncrt_*_layout) against the plain ones:
// for every choice of which activations are nChw16c, the same values bit
// for bit at the same thread count, once reordered back to NCHW. Max
// pooling on inputs full of ties and NaNs, where the element each window
// picks is PyTorch's rule and not the arithmetic's.
//
//===----------------------------------------------------------------------===//

#include "nnc/Runtime/CPU/CPURuntime.h"

#include "BF16.h"
#include "BlockedLayout.h"

#include "gtest/gtest.h"

#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <type_traits>
#include <vector>

namespace {
using nnc::test::kBlock;
using nnc::test::reorder;

template <typename T>
std::vector<T> maybeBlocked(const std::vector<T> &v, bool blocked, int64_t N,
                            int64_t C, int64_t P) {
  return blocked ? reorder(v, N, C, P, true) : v;
}

template <typename T>
void expectSameBits(const std::vector<T> &plain, std::vector<T> got,
                    bool blocked, int64_t N, int64_t C, int64_t P,
                    const char *what, int32_t layouts) {
  if (blocked)
    got = reorder(got, N, C, P, false);
  ASSERT_EQ(plain.size(), got.size());
  for (size_t i = 0; i < plain.size(); ++i)
    ASSERT_EQ(std::memcmp(&plain[i], &got[i], sizeof(T)), 0)
        << what << " (layouts " << layouts
        << ") differs from the plain call at " << i;
}

std::vector<float> randomFloats(size_t n, std::mt19937 &rng) {
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  std::vector<float> v(n);
  for (float &x : v)
    x = u(rng);
  return v;
}

//===----------------------------------------------------------------------===//
// Convolutions
//===----------------------------------------------------------------------===//

struct Conv {
  int64_t N, C, H, W, K, KH, KW, stride, pad;
  int64_t OH() const { return (H + 2 * pad - KH) / stride + 1; }
  int64_t OW() const { return (W + 2 * pad - KW) / stride + 1; }
};

#define GEOMETRY(c)                                                            \
  c.N, c.C, c.H, c.W, c.K, c.KH, c.KW, c.OH(), c.OW(), c.stride, c.stride,     \
      c.pad, c.pad, c.pad, c.pad, 1, 1, 1

class ConvLayoutTest : public ::testing::TestWithParam<Conv> {};

uint16_t toBF16(float f) {
  uint32_t bits;
  std::memcpy(&bits, &f, sizeof(bits));
  return uint16_t(bits >> 16); // the test's values are exact in bf16
}

template <typename T> int32_t typeOf() {
  return std::is_same_v<T, float> ? NNCRT_TYPE_F32 : NNCRT_TYPE_BF16;
}

/// T's values of uniform floats (bf16: truncated, so exact).
template <typename T> std::vector<T> randomValues(size_t n, std::mt19937 &rng) {
  std::vector<float> f = randomFloats(n, rng);
  if constexpr (std::is_same_v<T, float>)
    return f;
  std::vector<T> v;
  for (float x : f)
    v.push_back(toBF16(x));
  return v;
}

/// Every choice of blocked activations against the plain call (layouts 0)
/// of the same entry points: y and dx in T, dw in f32.
template <typename T> void runConv(const Conv &c) {
  std::mt19937 rng(7);
  const int64_t P = c.H * c.W, OP = c.OH() * c.OW();
  const int32_t t = typeOf<T>();
  std::vector<T> x = randomValues<T>(c.N * c.C * P, rng),
                 w = randomValues<T>(c.K * c.C * c.KH * c.KW, rng),
                 dy = randomValues<T>(c.N * c.K * OP, rng);
  std::vector<float> b = randomFloats(c.K, rng);
  std::vector<T> y(c.N * c.K * OP), dx(x.size());
  std::vector<float> dw(w.size());
  nncrt_conv2d_forward_layout(x.data(), w.data(), b.data(), y.data(),
                              GEOMETRY(c), NNCRT_ACTIVATION_RELU, 0.0f, t, t,
                              0);
  nncrt_conv2d_backward_data_layout(dy.data(), w.data(), dx.data(),
                                    GEOMETRY(c), t, t, 0);
  nncrt_conv2d_backward_weights_layout(x.data(), dy.data(), dw.data(),
                                       GEOMETRY(c), t, NNCRT_TYPE_F32, 0);
  bool srcOk = c.C % kBlock == 0, dstOk = c.K % kBlock == 0;
  for (int src = 0; src <= int(srcOk); ++src)
    for (int dst = 0; dst <= int(dstOk); ++dst) {
      if (!src && !dst)
        continue;
      std::vector<T> bx = maybeBlocked(x, src, c.N, c.C, P),
                     bdy = maybeBlocked(dy, dst, c.N, c.K, OP);
      std::vector<T> by(y.size(), T(7)), bdx(dx.size(), T(7));
      std::vector<float> bdw(dw.size(), NAN);
      int32_t fwd = src | dst << 3, data = dst | src << 2,
              weights = src | dst << 1;
      nncrt_conv2d_forward_layout(bx.data(), w.data(), b.data(), by.data(),
                                  GEOMETRY(c), NNCRT_ACTIVATION_RELU, 0.0f, t,
                                  t, fwd);
      nncrt_conv2d_backward_data_layout(bdy.data(), w.data(), bdx.data(),
                                        GEOMETRY(c), t, t, data);
      nncrt_conv2d_backward_weights_layout(bx.data(), bdy.data(), bdw.data(),
                                           GEOMETRY(c), t, NNCRT_TYPE_F32,
                                           weights);
      expectSameBits(y, by, dst, c.N, c.K, OP, "y", fwd);
      expectSameBits(dx, bdx, src, c.N, c.C, P, "dx", data);
      expectSameBits(dw, bdw, false, 0, 0, 0, "dw", weights);
    }
}

TEST_P(ConvLayoutTest, EqualsThePlainCallBitwise) {
  const Conv c = GetParam();
  std::mt19937 rng(7);
  const int64_t P = c.H * c.W, OP = c.OH() * c.OW();
  std::vector<float> x = randomFloats(c.N * c.C * P, rng),
                     w = randomFloats(c.K * c.C * c.KH * c.KW, rng),
                     b = randomFloats(c.K, rng),
                     dy = randomFloats(c.N * c.K * OP, rng);
  // The f32 layout entry points' plain calls are the plain entry points'.
  std::vector<float> y(c.N * c.K * OP), yLayout(y.size()), dx(x.size()),
      dxLayout(x.size()), dw(w.size()), dwLayout(w.size());
  nncrt_conv2d_forward(x.data(), w.data(), b.data(), y.data(), GEOMETRY(c),
                       NNCRT_ACTIVATION_RELU, 0.0f);
  nncrt_conv2d_forward_layout(x.data(), w.data(), b.data(), yLayout.data(),
                              GEOMETRY(c), NNCRT_ACTIVATION_RELU, 0.0f,
                              NNCRT_TYPE_F32, NNCRT_TYPE_F32, 0);
  nncrt_conv2d_backward_data(dy.data(), w.data(), dx.data(), GEOMETRY(c));
  nncrt_conv2d_backward_data_layout(dy.data(), w.data(), dxLayout.data(),
                                    GEOMETRY(c), NNCRT_TYPE_F32,
                                    NNCRT_TYPE_F32, 0);
  nncrt_conv2d_backward_weights(x.data(), dy.data(), dw.data(), GEOMETRY(c));
  nncrt_conv2d_backward_weights_layout(x.data(), dy.data(), dwLayout.data(),
                                       GEOMETRY(c), NNCRT_TYPE_F32,
                                       NNCRT_TYPE_F32, 0);
  expectSameBits(y, yLayout, false, 0, 0, 0, "y", 0);
  expectSameBits(dx, dxLayout, false, 0, 0, 0, "dx", 0);
  expectSameBits(dw, dwLayout, false, 0, 0, 0, "dw", 0);
  runConv<float>(c);
}

// On an AMX CPU a bf16 convolution runs channels-last whatever layout its
// caller holds (the runtime reorders around it), so the caller's layout
// changes no bit. Elsewhere oneDNN may pick a different kernel for a
// plain and a blocked caller, with other rounding: not asserted there.
TEST_P(ConvLayoutTest, BF16OnAMXEqualsThePlainCallBitwise) {
  if (!nnc::test::oneDNNMayRunAMX())
    GTEST_SKIP() << "oneDNN runs no AMX here";
  runConv<uint16_t>(GetParam());
}

// The Fashion-MNIST CNN's two layers (batch 8), a strided one, and one of
// channels that are no multiple of 16 on one side.
INSTANTIATE_TEST_SUITE_P(Layers, ConvLayoutTest,
                         ::testing::Values(Conv{8, 1, 28, 28, 32, 3, 3, 1, 1},
                                           Conv{8, 32, 14, 14, 64, 3, 3, 1, 1},
                                           Conv{4, 16, 9, 9, 32, 3, 3, 2, 0},
                                           Conv{4, 32, 7, 7, 8, 1, 1, 1, 0}));

//===----------------------------------------------------------------------===//
// Pooling
//===----------------------------------------------------------------------===//

struct Pool {
  int32_t kind;
  int64_t N, C, H, W, K, stride, pad;
  int64_t O(int64_t in) const { return (in + 2 * pad - K) / stride + 1; }
};

#define POOL_GEOMETRY(p)                                                       \
  p.N, p.C, p.H, p.W, p.O(p.H), p.O(p.W), p.K, p.K, p.stride, p.stride, p.pad, \
      p.pad, p.pad, p.pad

/// Values with many ties (a few small integers, many zeros as after a ReLU)
/// and some NaNs.
std::vector<float> tiedFloats(size_t n, std::mt19937 &rng) {
  std::uniform_int_distribution<int> d(0, 9);
  std::vector<float> v(n);
  for (float &x : v) {
    int r = d(rng);
    x = r == 0 ? std::numeric_limits<float>::quiet_NaN() : r < 5 ? 0.0f : r - 5;
  }
  return v;
}

template <typename T>
void runPool(const Pool &p, const std::vector<T> &x, const std::vector<T> &dy) {
  const int64_t P = p.H * p.W, OP = p.O(p.H) * p.O(p.W);
  std::vector<T> y(p.N * p.C * OP), dx(x.size());
  nncrt_pool2d_forward_layout(x.data(), y.data(), p.kind, POOL_GEOMETRY(p),
                              typeOf<T>(), 0);
  nncrt_pool2d_backward_layout(x.data(), dy.data(), dx.data(), p.kind,
                               POOL_GEOMETRY(p), typeOf<T>(), 0);
  for (int32_t layouts = 1; layouts < 8; ++layouts) {
    bool bx = layouts & 1, bdy = layouts & 2, bdx = layouts & 4;
    std::vector<T> lx = maybeBlocked(x, bx, p.N, p.C, P),
                   ldy = maybeBlocked(dy, bdy, p.N, p.C, OP);
    std::vector<T> ly(y.size(), T(7)), ldx(dx.size(), T(7));
    // The forward's bits are x, y: take them from bits 0 and 2.
    int32_t fwd = bx | bdx << 1;
    nncrt_pool2d_forward_layout(lx.data(), ly.data(), p.kind, POOL_GEOMETRY(p),
                                typeOf<T>(), fwd);
    nncrt_pool2d_backward_layout(lx.data(), ldy.data(), ldx.data(), p.kind,
                                 POOL_GEOMETRY(p), typeOf<T>(), layouts);
    expectSameBits(y, ly, bdx, p.N, p.C, OP, "y", fwd);
    expectSameBits(dx, ldx, bdx, p.N, p.C, P, "dx", layouts);
  }
}

class PoolLayoutTest : public ::testing::TestWithParam<Pool> {};

TEST_P(PoolLayoutTest, F32EqualsThePlainCallBitwise) {
  const Pool p = GetParam();
  std::mt19937 rng(11);
  const int64_t OP = p.O(p.H) * p.O(p.W);
  runPool<float>(p, tiedFloats(p.N * p.C * p.H * p.W, rng),
                 randomFloats(p.N * p.C * OP, rng));
}

TEST_P(PoolLayoutTest, BF16EqualsThePlainCallBitwise) {
  const Pool p = GetParam();
  std::mt19937 rng(13);
  const int64_t OP = p.O(p.H) * p.O(p.W);
  std::vector<uint16_t> x, dy;
  for (float f : tiedFloats(p.N * p.C * p.H * p.W, rng))
    x.push_back(toBF16(f));
  // Gradients with ties in the sums' rounding: 1 + 2^-8 is not a bf16.
  for (float f : randomFloats(p.N * p.C * OP, rng))
    dy.push_back(toBF16(f));
  runPool<uint16_t>(p, x, dy);
}

INSTANTIATE_TEST_SUITE_P(
    Kinds, PoolLayoutTest,
    ::testing::Values(Pool{NNCRT_POOL_MAX, 4, 32, 28, 28, 2, 2, 0},
                      Pool{NNCRT_POOL_MAX, 2, 16, 9, 11, 3, 2, 1},
                      Pool{NNCRT_POOL_AVG_INCLUDE_PAD, 4, 32, 14, 14, 2, 2, 0},
                      Pool{NNCRT_POOL_AVG_EXCLUDE_PAD, 2, 16, 9, 9, 3, 3, 1}));
// (Overlapping average poolings are left out: oneDNN's backward adds the
// windows' shares in another order on nChw16c than on NCHW, so
// nnc-block-conv-layouts keeps them plain.)

TEST(MaxPoolLayoutTest, TiesAndNaNFollowPyTorchsRule) {
  // One image, 16 channels of a 2x2 plane, one window: channel c holds
  // {0, 0, 0, 0} (the first element wins), {1, 2, 2, 1} (the first 2),
  // {NaN, 3, NaN, 0} (the last NaN), by c % 3.
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const float planes[3][4] = {{0, 0, 0, 0}, {1, 2, 2, 1}, {nan, 3, nan, 0}};
  const int64_t winner[3] = {0, 1, 2};
  std::vector<float> x(16 * 4), dy(16), dx(16 * 4);
  for (int64_t c = 0; c < 16; ++c) {
    for (int64_t s = 0; s < 4; ++s)
      x[s * 16 + c] = planes[c % 3][s]; // nChw16c
    dy[c] = float(c + 1);
  }
  nncrt_pool2d_backward_layout(x.data(), dy.data(), dx.data(), NNCRT_POOL_MAX,
                               1, 16, 2, 2, 1, 1, 2, 2, 2, 2, 0, 0, 0, 0,
                               NNCRT_TYPE_F32, 0b111);
  for (int64_t c = 0; c < 16; ++c)
    for (int64_t s = 0; s < 4; ++s)
      EXPECT_EQ(dx[s * 16 + c], s == winner[c % 3] ? float(c + 1) : 0.0f)
          << "channel " << c << ", element " << s;
}

TEST(ConvLayoutDeathTest, BadLayoutsAbort) {
  std::vector<float> buffer(4 * 8 * 8 * 8, 0.0f);
  const float *in = buffer.data();
  float *out = buffer.data();
  // 8 channels are no nChw16c tensor; the weights are never blocked.
  EXPECT_DEATH(nncrt_conv2d_forward_layout(in, in, nullptr, out, 1, 8, 4, 4, 16,
                                           1, 1, 4, 4, 1, 1, 0, 0, 0, 0, 1, 1,
                                           1, NNCRT_ACTIVATION_NONE, 0.0f,
                                           NNCRT_TYPE_F32, NNCRT_TYPE_F32, 1),
               "nncrt_conv2d_forward_layout.*channels divisible by 16");
  EXPECT_DEATH(nncrt_conv2d_forward_layout(in, in, nullptr, out, 1, 16, 4, 4,
                                           16, 1, 1, 4, 4, 1, 1, 0, 0, 0, 0, 1,
                                           1, 1, NNCRT_ACTIVATION_NONE, 0.0f,
                                           NNCRT_TYPE_F32, NNCRT_TYPE_F32, 2),
               "not an activation");
  EXPECT_DEATH(nncrt_pool2d_forward_layout(in, out, NNCRT_POOL_MAX, 1, 8, 4, 4,
                                           2, 2, 2, 2, 2, 2, 0, 0, 0, 0,
                                           NNCRT_TYPE_F32, 1),
               "nncrt_pool2d_forward_layout.*channels divisible by 16");
  EXPECT_DEATH(nncrt_pool2d_forward_layout(in, out, NNCRT_POOL_MAX, 1, 16, 4, 4,
                                           2, 2, 2, 2, 2, 2, 0, 0, 0, 0,
                                           NNCRT_TYPE_F32, 4),
               "does not take");
}
} // namespace
