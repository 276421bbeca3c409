//===- AvgPoolTest.cpp - average pooling's kernels against PyTorch's ------===//
//
// Part of nnc, under the Apache License v2.0 with LLVM Exceptions.
// See LICENSE for license information.
//
//===----------------------------------------------------------------------===//
//
// nncrt_pool2d_{forward,backward}_layout with both average kinds, f32 and
// bf16, against loops here that spell out PyTorch's avg_pool2d (the window
// divisor with and without count_include_pad; the backward's dy / divisor
// added into every element of each window) in double, within the rounding
// the f32 sums may add (and one bf16 ulp for bf16); and against oneDNN's
// pooling through the same entry points (NNC_AVGPOOL=onednn).
//
// Where the runtime's own kernels run (windows that do not overlap), every
// choice of nChw16c operands, the AVX-512 and the portable kernels
// (NNC_MAXPOOL_ISA=generic), 1 and 2 threads, and buffers at other offsets
// must give the same bits: checkpoint recomputation relies on it.
//
//===----------------------------------------------------------------------===//

#include "nnc/Runtime/CPU/CPURuntime.h"

#include "PoolTestSupport.h"

#include "gtest/gtest.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>
#include <string>
#include <tuple>
#include <vector>

namespace {
using namespace nnc::test;

/// Whether the runtime runs its own kernels (AvgPool.inc's ownAvgPool):
/// windows that share no element, but for forwards on whole blocks of
/// 16 channels, where only 2x2 windows (stride 2, no padding) are its
/// own on NCHW and f32 (bf16 on nChw16c: all of them).
bool ownKernels(const Geometry &g) {
  return !((g.OH() > 1 && g.strideH < g.KH) ||
           (g.OW() > 1 && g.strideW < g.KW));
}
bool ownPlainForward(const Geometry &g) {
  bool pool2x2 = g.KH == 2 && g.KW == 2 && g.strideH == 2 && g.strideW == 2 &&
                 !g.padTop && !g.padLeft && !g.padBottom && !g.padRight;
  return ownKernels(g) && (g.C % kBlock || pool2x2);
}

/// Values exact in bf16 (so that the f32 and bf16 runs see the same ones)
/// whose sums are not; some exact zeros of both signs.
std::vector<float> randomValues(size_t n, std::mt19937 &rng) {
  return bf16ExactValues(n, rng, 4.0f, 0.0f);
}

/// A value of the reference and how far a correct result may be from it.
struct Expected {
  double value, tolerance;
};

/// PyTorch's divide_factor of window (oh, ow).
int64_t divisor(const Geometry &g, int32_t kind, int64_t oh, int64_t ow) {
  int64_t hs = oh * g.strideH - g.padTop, ws = ow * g.strideW - g.padLeft;
  int64_t he = std::min(hs + g.KH, g.H + g.padBottom),
          we = std::min(ws + g.KW, g.W + g.padRight);
  if (kind == NNCRT_POOL_AVG_INCLUDE_PAD)
    return (he - hs) * (we - ws);
  return (std::min(he, g.H) - std::max<int64_t>(hs, 0)) *
         (std::min(we, g.W) - std::max<int64_t>(ws, 0));
}

/// The tolerance of an f32 sum of `terms` terms whose magnitudes add up to
/// `magnitude`, divided by d, for T's rounding of `value`: f32's error
/// bound (with room), and one bf16 ulp of the value for bf16.
template <typename T>
double tolerance(double value, double magnitude, int64_t terms, double d) {
  double eps = std::ldexp(1.0, -24);
  double t = (4.0 * double(terms + 1) * eps * magnitude) / d +
             std::numeric_limits<float>::denorm_min();
  if constexpr (!std::is_same_v<T, float>)
    t += std::ldexp(std::fabs(value), -7);
  return t;
}

/// The forward's y and the backward's dx, NCHW, in double. `bf16Sums`:
/// dx may be summed in bf16 (oneDNN's backward of overlapping windows on
/// nChw16c bf16 rounds every partial sum, not just the result).
template <typename T>
void reference(const Geometry &g, int32_t kind, int64_t N,
               const std::vector<float> &x, const std::vector<float> &dy,
               std::vector<Expected> &y, std::vector<Expected> &dx,
               bool bf16Sums = false) {
  y.assign(N * g.C * g.OH() * g.OW(), {0, 0});
  std::vector<double> sum(x.size(), 0.0), magnitude(x.size(), 0.0);
  std::vector<int64_t> terms(x.size(), 0);
  forEachWindow(
      g, N,
      [&](int64_t o, int64_t oh, int64_t ow,
          const std::vector<WindowElement> &elements) {
        double d = double(divisor(g, kind, oh, ow));
        double s = 0, m = 0;
        for (const WindowElement &e : elements) {
          int64_t i = e.index;
          s += x[i];
          m += std::fabs(x[i]);
          // The backward's term: dy / divisor, rounded to f32 first.
          double q = double(float(dy[o] / float(d)));
          sum[i] += q;
          magnitude[i] += std::fabs(q);
          ++terms[i];
        }
        y[o] = {s / d, tolerance<T>(s / d, m, int64_t(elements.size()), d)};
      });
  dx.resize(x.size());
  for (size_t i = 0; i < x.size(); ++i)
    dx[i] = {
        sum[i],
        tolerance<T>(sum[i], magnitude[i], terms[i], 1.0) +
            (bf16Sums ? std::ldexp(double(terms[i]) * magnitude[i], -8) : 0.0)};
}

template <typename T>
void expectNear(const std::vector<Expected> &want, const std::vector<T> &got,
                const std::string &what) {
  ASSERT_EQ(want.size(), got.size());
  for (size_t i = 0; i < want.size(); ++i) {
    double v = toFloat(got[i]);
    ASSERT_LE(std::fabs(v - want[i].value), want[i].tolerance)
        << what << " at " << i << ": " << v << ", PyTorch's " << want[i].value;
  }
}

class AvgPoolTest
    : public ::testing::TestWithParam<std::tuple<Geometry, int32_t>> {
protected:
  template <typename T> void run() {
    const Geometry g = std::get<0>(GetParam());
    const int32_t kind = std::get<1>(GetParam());
    const int64_t N = g.N(), P = g.H * g.W, OP = g.OH() * g.OW();
    std::mt19937 rng(23);
    std::vector<float> x = randomValues(N * g.C * P, rng),
                       dy = randomValues(N * g.C * OP, rng);
    std::vector<Expected> wantY, wantDx, oneDNNDx;
    reference<T>(g, kind, N, x, dy, wantY, wantDx);
    reference<T>(g, kind, N, x, dy, wantY, oneDNNDx, !std::is_same_v<T, float>);
    const std::vector<T> tx = convert<T>(x), tdy = convert<T>(dy);

    // oneDNN's pooling agrees with the reference (its own bits).
    {
      Setting oneDNN("NNC_AVGPOOL", "onednn");
      std::vector<T> y, dx;
      runLayouts(g, kind, N, tx, tdy, 0, 0, y, dx);
      expectNear(wantY, y, "oneDNN's y");
      expectNear(wantDx, dx, "oneDNN's dx");
    }

    // Each layout's first result, every other the same bits; and where
    // the runtime's own kernels run, every layout's the same bits as the
    // NCHW one (oneDNN's kernels for the layouts may differ). Overlapping
    // windows are oneDNN's; their gather form (NNC_AVGPOOL=own) too.
    const bool units = g.C % kBlock == 0;
    for (const char *mode : {"default", "own"}) {
      if (mode[0] == 'o' && ownKernels(g))
        break;
      Setting side("NNC_AVGPOOL", mode[0] == 'o' ? mode : nullptr);
      const bool own = mode[0] == 'o' || ownKernels(g);
      const bool ownY = mode[0] == 'o' || ownPlainForward(g);
      std::vector<std::vector<T>> firstY(8), firstDx(8);
      for (const char *isa : {"widest", "generic"})
        for (int threads : {1, 2}) {
          Kernels kernels(isa);
          Threads running(threads);
          for (int32_t layouts = 0; layouts < (units ? 8 : 1); ++layouts)
            for (size_t offset : {size_t(0), size_t(1)}) {
              std::vector<T> y, dx;
              runLayouts(g, kind, N, tx, tdy, layouts, offset, y, dx);
              std::string what = std::string(" (") + mode + ", kernels " + isa +
                                 ", layouts " + std::to_string(layouts) + ", " +
                                 std::to_string(threads) + " threads, offset " +
                                 std::to_string(offset) + ")";
              expectNear(wantY, y, "y" + what);
              expectNear(own || !(layouts & 6) ? wantDx : oneDNNDx, dx,
                         "dx" + what);
              if (firstY[layouts].empty()) {
                firstY[layouts] = y;
                firstDx[layouts] = dx;
              }
              expectSameBits(firstY[layouts], y, "y" + what);
              expectSameBits(firstDx[layouts], dx, "dx" + what);
              if (own) {
                if (ownY)
                  expectSameBits(firstY[0], y, "y (vs. NCHW)" + what);
                expectSameBits(firstDx[0], dx, "dx (vs. NCHW)" + what);
              }
              if (HasFatalFailure())
                break;
            }
          if (HasFatalFailure())
            return;
        }
    }

    // The plain entry points are the _layout ones with NCHW operands.
    std::vector<T> firstY, firstDx;
    runLayouts(g, kind, N, tx, tdy, 0, 0, firstY, firstDx);
    std::vector<T> y(firstY.size()), dx(firstDx.size());
    if constexpr (std::is_same_v<T, float>) {
      nncrt_pool2d_forward(tx.data(), y.data(), kind, POOL_ARGS(g, N));
      nncrt_pool2d_backward(tx.data(), tdy.data(), dx.data(), kind,
                            POOL_ARGS(g, N));
    } else {
      nncrt_pool2d_forward_bf16(tx.data(), y.data(), kind, POOL_ARGS(g, N));
      nncrt_pool2d_backward_bf16(tx.data(), tdy.data(), dx.data(), kind,
                                 POOL_ARGS(g, N));
    }
    expectSameBits(firstY, y, "y (plain entry point)");
    expectSameBits(firstDx, dx, "dx (plain entry point)");
  }
};

TEST_P(AvgPoolTest, F32MatchesPyTorchAndOneDNN) { run<float>(); }
TEST_P(AvgPoolTest, BF16MatchesPyTorchAndOneDNN) { run<uint16_t>(); }

/// Sums that need more bits than bf16 has, and windows of -0s: the bf16
/// results are the f32 ones rounded once to nearest even, and -0s average
/// to +0 (the sums start at +0, as PyTorch's), their gradients too.
TEST(AvgPool, RoundsOnceAndSumsFromPositiveZero) {
  const Geometry g{"Tiles2x2", 16, 2, 2, 2, 2, 2, 2, 0, 0, 0, 0};
  std::vector<float> x(16 * 4, -0.0f), dy(16, -0.0f);
  // (1 + 2^-8) / 4 is a tie, to 1 / 4; (1 + 3 * 2^-8) / 4 rounds up.
  x[0] = 1.0f;
  x[1] = 1.0f / 256.0f;
  x[4] = 1.0f;
  x[5] = 3.0f / 256.0f;
  const std::vector<uint16_t> bx = convert<uint16_t>(x);
  for (int32_t kind : {NNCRT_POOL_AVG_INCLUDE_PAD, NNCRT_POOL_AVG_EXCLUDE_PAD})
    for (const char *isa : {"widest", "generic"}) {
      Kernels kernels(isa);
      std::vector<uint16_t> by(16, 7);
      nncrt_pool2d_forward_bf16(bx.data(), by.data(), kind, POOL_ARGS(g, 1));
      EXPECT_EQ(by[0], 0x3e80u) << isa;
      EXPECT_EQ(by[1], 0x3e82u) << isa;
      for (int64_t c = 2; c < 16; ++c)
        EXPECT_EQ(by[c], 0u) << isa << ", channel " << c;
      std::vector<float> y(16, 7.0f), dx(16 * 4, 7.0f);
      nncrt_pool2d_forward(x.data() + 8, y.data(), kind, 1, 14, 2, 2, 1, 1, 2,
                           2, 2, 2, 0, 0, 0, 0);
      nncrt_pool2d_backward(nullptr, dy.data(), dx.data(), kind,
                            POOL_ARGS(g, 1));
      for (int64_t c = 0; c < 14; ++c)
        EXPECT_EQ(floatToBits(y[c]), 0u) << isa << ", channel " << c;
      for (float v : dx)
        EXPECT_EQ(floatToBits(v), 0u) << isa;
    }
}

constexpr int32_t In = NNCRT_POOL_AVG_INCLUDE_PAD,
                  Ex = NNCRT_POOL_AVG_EXCLUDE_PAD;

INSTANTIATE_TEST_SUITE_P(
    Windows, AvgPoolTest,
    ::testing::Combine(
        // The shared tiles: those 2x2 windows that leave out a row and a
        // column leave their dx +0; 3x3 tiles divide by 9, not a power of
        // two.
        ::testing::ValuesIn(tilesAnd({
            // Padding: the kinds' divisors differ at the edges.
            Geometry{"Padded2x2", 16, 7, 7, 2, 2, 2, 2, 1, 1, 1, 1},
            Geometry{"Padded3x3Asymmetric", 32, 10, 11, 3, 3, 3, 3, 1, 2, 1, 0},
            // Stride over the window: elements in no window.
            Geometry{"Stride3Window2", 32, 8, 10, 2, 2, 3, 3, 1, 1, 1, 1},
            // The whole plane (global pooling), and one position.
            Geometry{"Global5x5", 32, 5, 5, 5, 5, 1, 1, 0, 0, 0, 0},
            Geometry{"Global7x7Padded", 16, 6, 6, 7, 7, 1, 1, 1, 1, 0, 0},
            Geometry{"Window1x1", 16, 3, 3, 1, 1, 1, 1, 0, 0, 0, 0},
            // Channels not a multiple of 16: NCHW planes only.
            Geometry{"Planes3Tiles2x2", 3, 8, 8, 2, 2, 2, 2, 0, 0, 0, 0},
            Geometry{"Planes5Padded3x3", 5, 10, 11, 3, 3, 3, 3, 1, 1, 1, 0},
            Geometry{"Planes3Global", 3, 7, 7, 7, 7, 1, 1, 0, 0, 0, 0},
            // Overlapping windows: oneDNN's, against the reference.
            Geometry{"Overlap3x3Stride2", 48, 9, 11, 3, 3, 2, 2, 1, 1, 1, 1},
            Geometry{"Planes3Overlap", 3, 9, 11, 3, 3, 2, 2, 1, 1, 1, 1},
        })),
        ::testing::Values(In, Ex)),
    [](const ::testing::TestParamInfo<std::tuple<Geometry, int32_t>> &info) {
      return std::string(std::get<0>(info.param).name) +
             (std::get<1>(info.param) == In ? "IncludePad" : "ExcludePad");
    });
} // namespace
