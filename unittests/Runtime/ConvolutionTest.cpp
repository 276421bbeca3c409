//===- ConvolutionTest.cpp - the CPU runtime's convolution and pooling ----===//
//
// Part of nnc, under the Apache License v2.0 with LLVM Exceptions.
// See LICENSE for license information.
//
//===----------------------------------------------------------------------===//
//
// nncrt_conv2d_* and nncrt_pool2d_* against direct loops in double
// precision, with PyTorch's semantics where they are a choice (the element
// a max-pooling window's gradient goes to, the average's divisor). A
// repeated call on copies of the arguments elsewhere must give the same
// bits (checkpointing recomputes into other arena slots and relies on it),
// and results are written, not accumulated.
//
//===----------------------------------------------------------------------===//

#include "nnc/Runtime/CPU/CPURuntime.h"

#include "gtest/gtest.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <limits>
#include <ostream>
#include <random>
#include <vector>

namespace {
std::vector<float> randomVector(size_t n, std::mt19937 &rng) {
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  std::vector<float> v(n);
  for (float &x : v)
    x = u(rng);
  return v;
}

/// `v` copied `shift` floats into a new vector, so a second call sees its
/// arguments at other addresses (and alignments).
std::vector<float> shifted(const std::vector<float> &v, size_t shift) {
  std::vector<float> result(shift + v.size(), 0.0f);
  std::copy(v.begin(), v.end(), result.begin() + shift);
  return result;
}

/// An output buffer of `n` floats at `shift`, filled with garbage the call
/// must overwrite.
std::vector<float> garbage(size_t n, size_t shift, float value) {
  return std::vector<float>(shift + n, value);
}

void expectSameBits(const float *a, const float *b, size_t n,
                    const char *what) {
  for (size_t i = 0; i < n; ++i)
    ASSERT_EQ(std::memcmp(a + i, b + i, sizeof(float)), 0)
        << what << " differs between two identical calls at " << i << ": "
        << a[i] << " vs " << b[i];
}

/// Expects got ≈ want where `scale` is the sum of the magnitudes of the
/// terms `want` adds up (the float rounding error is relative to it).
void expectClose(const float *got, const std::vector<double> &want,
                 const std::vector<double> &scale, const char *what) {
  for (size_t i = 0; i < want.size(); ++i)
    ASSERT_NEAR(got[i], want[i], 1e-5 * scale[i] + 1e-6) << what << " at " << i;
}

//===----------------------------------------------------------------------===//
// Convolution
//===----------------------------------------------------------------------===//

struct Conv {
  int64_t N, C, H, W, K, KH, KW, strideH, strideW, padTop, padLeft, padBottom,
      padRight, dilationH, dilationW, groups;
  bool bias;
  int32_t activation;
  float slope = 0.0f;

  int64_t OH() const {
    return (H + padTop + padBottom - dilationH * (KH - 1) - 1) / strideH + 1;
  }
  int64_t OW() const {
    return (W + padLeft + padRight - dilationW * (KW - 1) - 1) / strideW + 1;
  }
  size_t xSize() const { return N * C * H * W; }
  size_t wSize() const { return K * (C / groups) * KH * KW; }
  size_t ySize() const { return N * K * OH() * OW(); }
};

void PrintTo(const Conv &c, std::ostream *os) {
  *os << "N=" << c.N << " C=" << c.C << " H=" << c.H << " W=" << c.W
      << " K=" << c.K << " " << c.KH << "x" << c.KW << " stride " << c.strideH
      << "x" << c.strideW << " padding " << c.padTop << "," << c.padLeft << ","
      << c.padBottom << "," << c.padRight << " dilation " << c.dilationH << "x"
      << c.dilationW << " groups " << c.groups << (c.bias ? " bias" : "")
      << " activation " << c.activation;
}

void forward(const Conv &c, const float *x, const float *w, const float *b,
             float *y) {
  nncrt_conv2d_forward(
      x, w, c.bias ? b : nullptr, y, c.N, c.C, c.H, c.W, c.K, c.KH, c.KW,
      c.OH(), c.OW(), c.strideH, c.strideW, c.padTop, c.padLeft, c.padBottom,
      c.padRight, c.dilationH, c.dilationW, c.groups, c.activation, c.slope);
}

void backwardData(const Conv &c, const float *dy, const float *w, float *dx) {
  nncrt_conv2d_backward_data(dy, w, dx, c.N, c.C, c.H, c.W, c.K, c.KH, c.KW,
                             c.OH(), c.OW(), c.strideH, c.strideW, c.padTop,
                             c.padLeft, c.padBottom, c.padRight, c.dilationH,
                             c.dilationW, c.groups);
}

void backwardWeights(const Conv &c, const float *x, const float *dy,
                     float *dw) {
  nncrt_conv2d_backward_weights(x, dy, dw, c.N, c.C, c.H, c.W, c.K, c.KH, c.KW,
                                c.OH(), c.OW(), c.strideH, c.strideW, c.padTop,
                                c.padLeft, c.padBottom, c.padRight, c.dilationH,
                                c.dilationW, c.groups);
}

/// Calls f(n, k, c, oh, ow, kh, kw, xIndex, wIndex, yIndex) for every
/// product of the convolution that reads an input element (not padding).
template <typename F> void forEachProduct(const Conv &c, F f) {
  int64_t OH = c.OH(), OW = c.OW(), Cg = c.C / c.groups, Kg = c.K / c.groups;
  for (int64_t n = 0; n < c.N; ++n)
    for (int64_t k = 0; k < c.K; ++k)
      for (int64_t oh = 0; oh < OH; ++oh)
        for (int64_t ow = 0; ow < OW; ++ow)
          for (int64_t ci = 0; ci < Cg; ++ci)
            for (int64_t kh = 0; kh < c.KH; ++kh)
              for (int64_t kw = 0; kw < c.KW; ++kw) {
                int64_t ih = oh * c.strideH - c.padTop + kh * c.dilationH;
                int64_t iw = ow * c.strideW - c.padLeft + kw * c.dilationW;
                if (ih < 0 || ih >= c.H || iw < 0 || iw >= c.W)
                  continue;
                int64_t ch = (k / Kg) * Cg + ci;
                f(((n * c.C + ch) * c.H + ih) * c.W + iw,
                  ((k * Cg + ci) * c.KH + kh) * c.KW + kw,
                  ((n * c.K + k) * OH + oh) * OW + ow);
              }
}

void runConvCase(const Conv &c) {
  std::mt19937 rng(7);
  std::vector<float> x = randomVector(c.xSize(), rng),
                     w = randomVector(c.wSize(), rng),
                     b = randomVector(c.K, rng),
                     dy = randomVector(c.ySize(), rng);
  int64_t OH = c.OH(), OW = c.OW();

  // The references: sums of products, and sums of their magnitudes.
  std::vector<double> y(c.ySize(), 0.0), yScale(c.ySize(), 0.0),
      dx(c.xSize(), 0.0), dxScale(c.xSize(), 0.0), dw(c.wSize(), 0.0),
      dwScale(c.wSize(), 0.0);
  forEachProduct(c, [&](int64_t xi, int64_t wi, int64_t yi) {
    y[yi] += (double)x[xi] * w[wi];
    yScale[yi] += std::fabs((double)x[xi] * w[wi]);
    dx[xi] += (double)dy[yi] * w[wi];
    dxScale[xi] += std::fabs((double)dy[yi] * w[wi]);
    dw[wi] += (double)x[xi] * dy[yi];
    dwScale[wi] += std::fabs((double)x[xi] * dy[yi]);
  });
  for (int64_t i = 0; i < (int64_t)y.size(); ++i) {
    if (c.bias) {
      int64_t k = i / (OH * OW) % c.K;
      y[i] += b[k];
      yScale[i] += std::fabs(b[k]);
    }
    if (c.activation != NNCRT_ACTIVATION_NONE && y[i] <= 0) {
      double s = c.activation == NNCRT_ACTIVATION_RELU ? 0.0 : c.slope;
      y[i] *= s;
      yScale[i] *= s;
    }
  }

  for (int threads : {1, 2}) {
    SCOPED_TRACE(testing::Message() << threads << " thread(s)");
    int32_t previous = nncrt_set_num_threads(threads);
    // Forward.
    std::vector<float> y1 = garbage(c.ySize(), 0, 7.0f);
    forward(c, x.data(), w.data(), b.data(), y1.data());
    expectClose(y1.data(), y, yScale, "y");
    std::vector<float> x2 = shifted(x, 3), w2 = shifted(w, 1),
                       b2 = shifted(b, 5), y2 = garbage(c.ySize(), 5, NAN);
    forward(c, x2.data() + 3, w2.data() + 1, b2.data() + 5, y2.data() + 5);
    expectSameBits(y1.data(), y2.data() + 5, c.ySize(), "y");
    // The gradient of the input.
    std::vector<float> dx1 = garbage(c.xSize(), 0, 7.0f);
    backwardData(c, dy.data(), w.data(), dx1.data());
    expectClose(dx1.data(), dx, dxScale, "dx");
    std::vector<float> dy2 = shifted(dy, 3), dx2 = garbage(c.xSize(), 1, NAN);
    backwardData(c, dy2.data() + 3, w2.data() + 1, dx2.data() + 1);
    expectSameBits(dx1.data(), dx2.data() + 1, c.xSize(), "dx");
    // The gradient of the weight.
    std::vector<float> dw1 = garbage(c.wSize(), 0, 7.0f);
    backwardWeights(c, x.data(), dy.data(), dw1.data());
    expectClose(dw1.data(), dw, dwScale, "dw");
    std::vector<float> dw2 = garbage(c.wSize(), 7, NAN);
    backwardWeights(c, x2.data() + 3, dy2.data() + 3, dw2.data() + 7);
    expectSameBits(dw1.data(), dw2.data() + 7, c.wSize(), "dw");
    nncrt_set_num_threads(previous);
  }
}

class ConvTest : public ::testing::TestWithParam<Conv> {};

TEST_P(ConvTest, MatchesReferenceAndRepeatsBitwise) { runConvCase(GetParam()); }

constexpr int32_t None = NNCRT_ACTIVATION_NONE, Relu = NNCRT_ACTIVATION_RELU,
                  Leaky = NNCRT_ACTIVATION_LEAKY_RELU;

// N, C, H, W, K, KH, KW, stride h w, padding t l b r, dilation h w,
// groups, bias, activation, slope.
INSTANTIATE_TEST_SUITE_P(
    Geometries, ConvTest,
    ::testing::Values(
        // Plain 3x3 "same", with a bias.
        Conv{2, 3, 7, 7, 4, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, true, None},
        // Stride 2 and asymmetric padding, relu.
        Conv{2, 5, 9, 8, 6, 3, 3, 2, 2, 1, 0, 2, 1, 1, 1, 1, true, Relu},
        // Dilation 2, no bias, leaky relu.
        Conv{2, 4, 10, 9, 5, 3, 3, 1, 1, 2, 2, 2, 2, 2, 2, 1, false, Leaky,
             0.1f},
        // Two groups, a rectangular kernel.
        Conv{2, 4, 8, 9, 6, 3, 5, 1, 1, 1, 2, 1, 2, 1, 1, 2, true, None},
        // Depthwise, stride 2.
        Conv{2, 8, 9, 9, 8, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 8, true, Relu},
        // A first layer (one input channel: its input stays NCHW).
        Conv{3, 1, 12, 12, 16, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, true, Relu},
        // Channels off oneDNN's blocks of 16 (blocked layouts, reorders).
        Conv{2, 20, 6, 6, 24, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, false, Leaky,
             0.2f},
        // 1x1, stride 2; no padding.
        Conv{2, 16, 7, 7, 32, 1, 1, 2, 2, 0, 0, 0, 0, 1, 1, 1, true, None}));

//===----------------------------------------------------------------------===//
// Pooling
//===----------------------------------------------------------------------===//

struct Pool {
  int32_t kind;
  int64_t N, C, H, W, KH, KW, strideH, strideW, padTop, padLeft, padBottom,
      padRight;

  int64_t OH() const { return (H + padTop + padBottom - KH) / strideH + 1; }
  int64_t OW() const { return (W + padLeft + padRight - KW) / strideW + 1; }
  size_t xSize() const { return N * C * H * W; }
  size_t ySize() const { return N * C * OH() * OW(); }
};

void PrintTo(const Pool &p, std::ostream *os) {
  *os << "kind " << p.kind << " N=" << p.N << " C=" << p.C << " H=" << p.H
      << " W=" << p.W << " window " << p.KH << "x" << p.KW << " stride "
      << p.strideH << "x" << p.strideW << " padding " << p.padTop << ","
      << p.padLeft << "," << p.padBottom << "," << p.padRight;
}

void poolForward(const Pool &p, const float *x, float *y) {
  nncrt_pool2d_forward(x, y, p.kind, p.N, p.C, p.H, p.W, p.OH(), p.OW(), p.KH,
                       p.KW, p.strideH, p.strideW, p.padTop, p.padLeft,
                       p.padBottom, p.padRight);
}

void poolBackward(const Pool &p, const float *x, const float *dy, float *dx) {
  nncrt_pool2d_backward(x, dy, dx, p.kind, p.N, p.C, p.H, p.W, p.OH(), p.OW(),
                        p.KH, p.KW, p.strideH, p.strideW, p.padTop, p.padLeft,
                        p.padBottom, p.padRight);
}

/// The references, as PyTorch's CPU kernels compute them: y, and dx from
/// dy (accumulated over overlapping windows).
void poolReference(const Pool &p, const std::vector<float> &x,
                   const std::vector<float> &dy, std::vector<double> &y,
                   std::vector<double> &dx) {
  int64_t OH = p.OH(), OW = p.OW();
  y.assign(p.ySize(), 0.0);
  dx.assign(p.xSize(), 0.0);
  for (int64_t plane = 0; plane < p.N * p.C; ++plane)
    for (int64_t oh = 0; oh < OH; ++oh)
      for (int64_t ow = 0; ow < OW; ++ow) {
        int64_t yi = (plane * OH + oh) * OW + ow;
        int64_t hStart = oh * p.strideH - p.padTop,
                wStart = ow * p.strideW - p.padLeft;
        // PyTorch's avg_pool2d: the window clipped to the padded input
        // gives count_include_pad's divisor, clipped to the input the
        // other's.
        int64_t hEnd = std::min(hStart + p.KH, p.H + p.padBottom),
                wEnd = std::min(wStart + p.KW, p.W + p.padRight);
        int64_t padded = (hEnd - hStart) * (wEnd - wStart);
        hStart = std::max<int64_t>(hStart, 0);
        wStart = std::max<int64_t>(wStart, 0);
        hEnd = std::min(hEnd, p.H);
        wEnd = std::min(wEnd, p.W);
        const float *xp = x.data() + plane * p.H * p.W;
        if (p.kind == NNCRT_POOL_MAX) {
          // max_pool2d: the first in-bounds element, replaced by a greater
          // one or a NaN.
          int64_t best = hStart * p.W + wStart;
          float maxval = -std::numeric_limits<float>::infinity();
          for (int64_t h = hStart; h < hEnd; ++h)
            for (int64_t w = wStart; w < wEnd; ++w)
              if (xp[h * p.W + w] > maxval || std::isnan(xp[h * p.W + w])) {
                maxval = xp[h * p.W + w];
                best = h * p.W + w;
              }
          y[yi] = xp[best];
          dx[plane * p.H * p.W + best] += dy[yi];
          continue;
        }
        int64_t divisor = p.kind == NNCRT_POOL_AVG_INCLUDE_PAD
                              ? padded
                              : (hEnd - hStart) * (wEnd - wStart);
        double sum = 0;
        for (int64_t h = hStart; h < hEnd; ++h)
          for (int64_t w = wStart; w < wEnd; ++w) {
            sum += xp[h * p.W + w];
            dx[plane * p.H * p.W + h * p.W + w] += (double)dy[yi] / divisor;
          }
        y[yi] = sum / divisor;
      }
}

void expectPoolClose(const float *got, const std::vector<double> &want,
                     bool exact, const char *what) {
  for (size_t i = 0; i < want.size(); ++i) {
    if (std::isnan(want[i])) {
      ASSERT_TRUE(std::isnan(got[i])) << what << " at " << i;
      continue;
    }
    if (exact) // max pooling moves values; it does not compute them
      ASSERT_EQ(got[i], (float)want[i]) << what << " at " << i;
    else
      ASSERT_NEAR(got[i], want[i], 1e-6 * std::max(1.0, std::fabs(want[i])))
          << what << " at " << i;
  }
}

/// Runs `p` on x (and dy) against the reference, at 1 and 2 threads, and
/// repeated on copies elsewhere.
void runPoolCase(const Pool &p, const std::vector<float> &x,
                 const std::vector<float> &dy) {
  std::vector<double> y, dx;
  poolReference(p, x, dy, y, dx);
  // Max pooling's gradient adds dy's up in a window order; tie cases only
  // move them.
  bool exact = p.kind == NNCRT_POOL_MAX;
  for (int threads : {1, 2}) {
    SCOPED_TRACE(testing::Message() << threads << " thread(s)");
    int32_t previous = nncrt_set_num_threads(threads);
    std::vector<float> y1 = garbage(p.ySize(), 0, 7.0f);
    poolForward(p, x.data(), y1.data());
    expectPoolClose(y1.data(), y, exact, "y");
    std::vector<float> x2 = shifted(x, 3), y2 = garbage(p.ySize(), 5, NAN);
    poolForward(p, x2.data() + 3, y2.data() + 5);
    expectSameBits(y1.data(), y2.data() + 5, p.ySize(), "y");

    std::vector<float> dx1 = garbage(p.xSize(), 0, 7.0f);
    poolBackward(p, exact ? x.data() : nullptr, dy.data(), dx1.data());
    expectPoolClose(dx1.data(), dx, false, "dx");
    std::vector<float> dy2 = shifted(dy, 1), dx2 = garbage(p.xSize(), 3, NAN);
    poolBackward(p, exact ? x2.data() + 3 : nullptr, dy2.data() + 1,
                 dx2.data() + 3);
    expectSameBits(dx1.data(), dx2.data() + 3, p.xSize(), "dx");
    nncrt_set_num_threads(previous);
  }
}

class PoolTest : public ::testing::TestWithParam<Pool> {};

TEST_P(PoolTest, RandomInput) {
  std::mt19937 rng(11);
  const Pool &p = GetParam();
  runPoolCase(p, randomVector(p.xSize(), rng), randomVector(p.ySize(), rng));
}

/// Few distinct values: windows hold equal maxima, the first of which must
/// get the gradient.
TEST_P(PoolTest, ManyTies) {
  std::mt19937 rng(13);
  const Pool &p = GetParam();
  std::vector<float> x(p.xSize());
  std::uniform_int_distribution<int> u(0, 2);
  for (float &v : x)
    v = (float)u(rng);
  runPoolCase(p, x, randomVector(p.ySize(), rng));
}

constexpr int32_t Max = NNCRT_POOL_MAX, AvgIn = NNCRT_POOL_AVG_INCLUDE_PAD,
                  AvgEx = NNCRT_POOL_AVG_EXCLUDE_PAD;

// kind, N, C, H, W, KH, KW, stride h w, padding t l b r.
INSTANTIATE_TEST_SUITE_P(
    Geometries, PoolTest,
    ::testing::Values(
        // The CNN's 2x2 stride 2, an odd size (the last row, column
        // dropped).
        Pool{Max, 2, 3, 8, 7, 2, 2, 2, 2, 0, 0, 0, 0},
        Pool{AvgIn, 2, 3, 8, 7, 2, 2, 2, 2, 0, 0, 0, 0},
        // Overlapping windows with padding (ResNet's stem pooling).
        Pool{Max, 2, 3, 9, 10, 3, 3, 2, 2, 1, 1, 1, 1},
        Pool{AvgIn, 2, 3, 9, 10, 3, 3, 2, 2, 1, 1, 1, 1},
        Pool{AvgEx, 2, 3, 9, 10, 3, 3, 2, 2, 1, 1, 1, 1},
        // Stride 1, asymmetric padding and a rectangular window.
        Pool{Max, 1, 4, 6, 7, 3, 2, 1, 1, 0, 1, 2, 0},
        Pool{AvgIn, 1, 4, 6, 7, 3, 2, 1, 1, 0, 1, 2, 0},
        Pool{AvgEx, 1, 4, 6, 7, 3, 2, 1, 1, 0, 1, 2, 0},
        // Padding above and below only (the plane is copied whole).
        Pool{Max, 2, 2, 7, 6, 3, 2, 2, 1, 1, 0, 2, 0},
        Pool{AvgIn, 2, 2, 7, 6, 3, 2, 2, 1, 1, 0, 2, 0},
        // Planes enough for both threads (a thread takes 32K elements at
        // least).
        Pool{Max, 8, 16, 28, 28, 2, 2, 2, 2, 0, 0, 0, 0},
        Pool{AvgEx, 8, 16, 28, 28, 3, 3, 2, 2, 1, 1, 1, 1}));

/// All-equal windows: each window's gradient goes to its first in-bounds
/// element, computed by hand for 3x3 windows, stride 2, padding 1 on a
/// 3x3 plane: the windows' first elements are (0,0), (0,1), (1,0), (1,1).
TEST(MaxPoolTest, TiesGoToTheFirstElement) {
  Pool p{Max, 1, 1, 3, 3, 3, 3, 2, 2, 1, 1, 1, 1};
  ASSERT_EQ(p.OH(), 2);
  std::vector<float> x(9, 0.5f), dy = {1.0f, 2.0f, 4.0f, 8.0f}, y(4), dx(9);
  poolForward(p, x.data(), y.data());
  poolBackward(p, x.data(), dy.data(), dx.data());
  EXPECT_EQ(y, std::vector<float>(4, 0.5f));
  EXPECT_EQ(dx, (std::vector<float>{1, 2, 0, 4, 8, 0, 0, 0, 0}));
  // All -inf: still the first element (the maximum starts at -inf and
  // nothing exceeds it).
  std::fill(x.begin(), x.end(), -std::numeric_limits<float>::infinity());
  poolForward(p, x.data(), y.data());
  poolBackward(p, x.data(), dy.data(), dx.data());
  EXPECT_EQ(y, std::vector<float>(4, -std::numeric_limits<float>::infinity()));
  EXPECT_EQ(dx, (std::vector<float>{1, 2, 0, 4, 8, 0, 0, 0, 0}));
}

/// A NaN wins its windows, and of two the last does (PyTorch's
/// `val > maxval || isnan(val)`).
TEST(MaxPoolTest, NaNPropagates) {
  Pool p{Max, 1, 1, 2, 4, 2, 4, 1, 1, 0, 0, 0, 0}; // one window, the plane
  std::vector<float> x = {1, NAN, 3, 2, 5, 0, NAN, 4}, y(1), dx(8), dy = {1.0f};
  poolForward(p, x.data(), y.data());
  poolBackward(p, x.data(), dy.data(), dx.data());
  EXPECT_TRUE(std::isnan(y[0]));
  EXPECT_EQ(dx, (std::vector<float>{0, 0, 0, 0, 0, 0, 1, 0}));
}

//===----------------------------------------------------------------------===//
// Inconsistent calls
//===----------------------------------------------------------------------===//

/// This process's resident bytes (/proc/self/statm's second field):
/// what the runtime's buffers cost once they are written, under any
/// allocator (the sanitizer's included).
int64_t residentBytes() {
  std::ifstream statm("/proc/self/statm");
  int64_t size = 0, resident = 0;
  statm >> size >> resident;
  return resident * 4096;
}

// A thread's primitives run one after another, so their blocked-layout
// buffers and scratchpads share one workspace: the runtime holds what the
// largest call needs, not the sum over every geometry it has seen. Four
// geometries, largest first (so the workspace never grows and no freed
// buffer lingers), each in plain NCHW, which oneDNN runs in nChw16c
// through buffers of the blocked layout: with a workspace per primitive
// the resident memory would grow by about 2.5x the first call's buffers.
// Each result must also survive the others' use of the workspace: the
// first geometry's output is the same bits when it runs again.
TEST(ConvolutionWorkspaceTest, PrimitivesShareOneWorkspace) {
  const int64_t N = 32, C = 32, K = 32;
  const int64_t sizes[] = {56, 48, 40, 32};
  std::vector<std::vector<float>> xs, ws, ys;
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  for (int64_t h : sizes) {
    xs.emplace_back(N * C * h * h);
    ws.emplace_back(K * C * 9);
    ys.emplace_back(N * K * h * h, 0.0f);
    for (float &v : xs.back())
      v = dist(rng);
    for (float &v : ws.back())
      v = dist(rng);
  }
  auto run = [&](size_t i) {
    int64_t h = sizes[i];
    nncrt_conv2d_forward(xs[i].data(), ws[i].data(), nullptr, ys[i].data(), N,
                         C, h, h, K, 3, 3, h, h, 1, 1, 1, 1, 1, 1, 1, 1, 1,
                         NNCRT_ACTIVATION_NONE, 0.0f);
  };
  int64_t before = residentBytes();
  for (size_t i = 0; i < std::size(sizes); ++i)
    run(i);
  int64_t grown = residentBytes() - before;
  int64_t firstCall = int64_t(xs[0].size() + ys[0].size()) * 4;
  EXPECT_LT(grown, firstCall * 3 / 2)
      << "the runtime's primitives kept " << grown << " bytes for calls of "
      << firstCall << " bytes at most";
  std::vector<float> first = ys[0];
  std::fill(ys[0].begin(), ys[0].end(), 0.0f);
  run(0);
  EXPECT_EQ(std::memcmp(first.data(), ys[0].data(), first.size() * 4), 0);
}

// Workspace planning (nnc-plan-runtime-workspaces): the compiler asks what
// a call needs, without running it, and the step hands the call a buffer of
// its arena. 32-channel NCHW operands, which oneDNN reorders into nChw16c
// buffers of the workspace.
namespace planned {
constexpr int64_t N = 4, C = 32, H = 12, K = 32;
/// nncrt_conv2d_forward's scalars (geometry, activation, slope's bits) at
/// output height `oh`.
std::vector<int64_t> forwardScalars(int64_t oh) {
  return {N, C, H, H, K, 3, 3, oh, H, 1, 1, 1, 1, 1, 1, 1, 1, 1,
          NNCRT_ACTIVATION_RELU, 0};
}
constexpr uint64_t nullBias = 1u << 2; // x, w, bias, y
} // namespace planned

TEST(PlannedWorkspaceTest, QueryCreatesButRunsNothing) {
  using namespace planned;
  std::vector<int64_t> s = forwardScalars(H);
  int64_t bytes =
      nncrt_workspace_bytes("nncrt_conv2d_forward", s.data(), s.size(), nullBias);
  EXPECT_GT(bytes, 0) << "NCHW operands are reordered in the workspace";
  EXPECT_EQ(bytes % 64, 0);
  // Invalid arguments are an answer, not an abort of the compiler asking.
  std::vector<int64_t> wrong = forwardScalars(H + 1);
  EXPECT_EQ(nncrt_workspace_bytes("nncrt_conv2d_forward", wrong.data(),
                                  wrong.size(), nullBias),
            -1);
  EXPECT_EQ(nncrt_workspace_bytes("nncrt_conv2d_forward", s.data(),
                                  s.size() - 1, nullBias),
            -1);
  std::vector<int64_t> badActivation = s;
  badActivation[18] = 9;
  EXPECT_EQ(nncrt_workspace_bytes("nncrt_conv2d_forward", badActivation.data(),
                                  badActivation.size(), nullBias),
            -1);
  EXPECT_EQ(nncrt_workspace_bytes("nncrt_sgemm", s.data(), s.size(), 0), -2);
  // Max pooling is the runtime's own loops: nothing to plan, nothing run
  // (its pointers are placeholders).
  std::vector<int64_t> pool = {NNCRT_POOL_MAX, N, C, H, H, H / 2, H / 2,
                               2, 2, 2, 2, 0, 0, 0, 0};
  EXPECT_EQ(nncrt_workspace_bytes("nncrt_pool2d_forward", pool.data(),
                                  pool.size(), 0),
            0);
}

TEST(PlannedWorkspaceTest, CallsRunInTheCallersWorkspaceOnce) {
  using namespace planned;
  std::mt19937 rng(11);
  std::vector<float> x = randomVector(N * C * H * H, rng);
  std::vector<float> w = randomVector(K * C * 9, rng);
  std::vector<float> bias = randomVector(K, rng);
  std::vector<int64_t> s = forwardScalars(H);
  int64_t bytes = nncrt_workspace_bytes("nncrt_conv2d_forward", s.data(),
                                        s.size(), 0);
  ASSERT_GT(bytes, 0);
  auto run = [&](std::vector<float> &y) {
    nncrt_conv2d_forward(x.data(), w.data(), bias.data(), y.data(), N, C, H, H,
                         K, 3, 3, H, H, 1, 1, 1, 1, 1, 1, 1, 1, 1,
                         NNCRT_ACTIVATION_RELU, 0.0f);
  };
  std::vector<float> own(N * K * H * H, -7.0f);
  run(own);

  // The caller's workspace, filled with a pattern the call overwrites.
  const unsigned char pattern = 0xA5;
  std::vector<unsigned char> storage(bytes + 64);
  unsigned char *ws = reinterpret_cast<unsigned char *>(
      (reinterpret_cast<uintptr_t>(storage.data()) + 63) / 64 * 64);
  auto untouched = [&] {
    return std::all_of(ws, ws + bytes,
                       [&](unsigned char c) { return c == pattern; });
  };
  std::fill(ws, ws + bytes, pattern);
  std::vector<float> y(N * K * H * H, -7.0f);
  nncrt_use_workspace(ws, bytes);
  run(y);
  EXPECT_FALSE(untouched()) << "the call did not run in the planned workspace";
  expectSameBits(own.data(), y.data(), y.size(), "y in a planned workspace");

  // Only the next call: a second one runs in the runtime's own again.
  std::fill(ws, ws + bytes, pattern);
  std::fill(y.begin(), y.end(), -7.0f);
  run(y);
  EXPECT_TRUE(untouched());
  expectSameBits(own.data(), y.data(), y.size(), "y after the planned call");

  // Any convolution or pooling call takes it, even one that needs none.
  std::vector<float> pooled(N * C * (H / 2) * (H / 2));
  nncrt_use_workspace(ws, bytes);
  nncrt_pool2d_forward(x.data(), pooled.data(), NNCRT_POOL_MAX, N, C, H, H,
                       H / 2, H / 2, 2, 2, 2, 2, 0, 0, 0, 0);
  run(y);
  EXPECT_TRUE(untouched());

  // Too small: the runtime's own, with the same bits.
  std::fill(y.begin(), y.end(), -7.0f);
  nncrt_use_workspace(ws, bytes - 64);
  run(y);
  EXPECT_TRUE(untouched());
  expectSameBits(own.data(), y.data(), y.size(), "y with a small workspace");
}

TEST(ConvolutionDeathTest, InconsistentGeometryAborts) {
  float buffer[4096] = {};
  float *b = buffer;
  // OH should be 3.
  EXPECT_DEATH(nncrt_conv2d_forward(b, b, nullptr, b, 1, 1, 5, 5, 1, 3, 3, 4, 3,
                                    1, 1, 0, 0, 0, 0, 1, 1, 1,
                                    NNCRT_ACTIVATION_NONE, 0.0f),
               "nnc runtime: error: nncrt_conv2d_forward\\(N=1 C=1 H=5 W=5.*"
               "OH=4 OW=3.*OH, OW must be");
  // Groups that do not divide C.
  EXPECT_DEATH(nncrt_conv2d_backward_data(b, b, b, 1, 3, 5, 5, 4, 3, 3, 3, 3, 1,
                                          1, 0, 0, 0, 0, 1, 1, 2),
               "nncrt_conv2d_backward_data.*groups 2\\): C and K must be "
               "divisible by groups");
  EXPECT_DEATH(nncrt_conv2d_backward_weights(b, b, b, 1, 1, 5, 5, 1, 3, 3, 3, 3,
                                             0, 1, 0, 0, 0, 0, 1, 1, 1),
               "nncrt_conv2d_backward_weights.*must be >= 1");
  EXPECT_DEATH(nncrt_conv2d_forward(b, b, nullptr, b, 1, 1, 5, 5, 1, 3, 3, 3, 3,
                                    1, 1, 0, 0, 0, 0, 1, 1, 1, 9, 0.0f),
               "nncrt_conv2d_forward.*unknown activation 9");
  // The window larger than the padded input: no output.
  EXPECT_DEATH(nncrt_conv2d_forward(b, b, nullptr, b, 1, 1, 2, 2, 1, 5, 5, 1, 1,
                                    2, 2, 0, 0, 0, 0, 1, 1, 1,
                                    NNCRT_ACTIVATION_NONE, 0.0f),
               "OH, OW must be");
}

TEST(PoolingDeathTest, InconsistentGeometryAborts) {
  float buffer[4096] = {};
  float *b = buffer;
  EXPECT_DEATH(
      nncrt_pool2d_forward(b, b, 3, 1, 1, 4, 4, 2, 2, 2, 2, 2, 2, 0, 0, 0, 0),
      "nnc runtime: error: nncrt_pool2d_forward\\(kind 3.*unknown "
      "pooling kind");
  EXPECT_DEATH(nncrt_pool2d_backward(b, b, b, NNCRT_POOL_MAX, 1, 1, 4, 4, 3, 2,
                                     2, 2, 2, 2, 0, 0, 0, 0),
               "nncrt_pool2d_backward.*OH=3 OW=2.*OH, OW must be");
  // A window entirely in the padding.
  EXPECT_DEATH(nncrt_pool2d_forward(b, b, NNCRT_POOL_AVG_EXCLUDE_PAD, 1, 1, 4,
                                    4, 4, 4, 2, 2, 1, 1, 2, 2, 2, 2),
               "paddings must be >= 0 and under the window's size");
  EXPECT_DEATH(nncrt_pool2d_backward(nullptr, b, b, NNCRT_POOL_MAX, 1, 1, 4, 4,
                                     2, 2, 2, 2, 2, 2, 0, 0, 0, 0),
               "needs the input x");
}
} // namespace
