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

#include "BlockedLayout.h"

#include "gtest/gtest.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

namespace {
using nnc::test::kBlock;
using nnc::test::reorder;

struct Geometry {
  const char *name;
  int64_t C, H, W, KH, KW, strideH, strideW, padTop, padLeft, padBottom,
      padRight;
  int64_t OH() const { return (H + padTop + padBottom - KH) / strideH + 1; }
  int64_t OW() const { return (W + padLeft + padRight - KW) / strideW + 1; }
  /// Images enough for 16-channel units at least twice the runtime's grain
  /// (2^15 input elements a thread), so that two threads split them.
  int64_t N() const {
    int64_t units = 2 * std::max<int64_t>(1, (1 << 15) / (kBlock * H * W));
    return std::max<int64_t>(1, (units * kBlock + C - 1) / C);
  }
  /// Whether the runtime runs its own kernels (AvgPool.inc's ownAvgPool):
  /// windows that share no element, but for forwards on whole blocks of
  /// 16 channels, where only 2x2 windows (stride 2, no padding) are its
  /// own on NCHW and f32 (bf16 on nChw16c: all of them).
  bool ownKernels() const {
    return !((OH() > 1 && strideH < KH) || (OW() > 1 && strideW < KW));
  }
  bool ownPlainForward() const {
    bool pool2x2 = KH == 2 && KW == 2 && strideH == 2 && strideW == 2 &&
                   !padTop && !padLeft && !padBottom && !padRight;
    return ownKernels() && (C % kBlock || pool2x2);
  }
};

#define ARGS(g, N)                                                             \
  N, g.C, g.H, g.W, g.OH(), g.OW(), g.KH, g.KW, g.strideH, g.strideW,          \
      g.padTop, g.padLeft, g.padBottom, g.padRight

float bitsToFloat(uint32_t bits) {
  float f;
  std::memcpy(&f, &bits, sizeof(f));
  return f;
}
uint32_t floatToBits(float f) {
  uint32_t bits;
  std::memcpy(&bits, &f, sizeof(bits));
  return bits;
}

/// Values exact in bf16 (so that the f32 and bf16 runs see the same ones)
/// whose sums are not; some exact zeros of both signs.
std::vector<float> randomValues(size_t n, std::mt19937 &rng) {
  std::uniform_real_distribution<float> u(-4.0f, 4.0f);
  std::uniform_int_distribution<int> d(0, 99);
  std::vector<float> v(n);
  for (float &x : v) {
    int r = d(rng);
    x = r == 0   ? -0.0f
        : r == 1 ? 0.0f
                 : bitsToFloat(floatToBits(u(rng)) & 0xffff0000u);
  }
  return v;
}

template <typename T> std::vector<T> convert(const std::vector<float> &v) {
  if constexpr (std::is_same_v<T, float>) {
    return v;
  } else {
    std::vector<uint16_t> out;
    for (float f : v)
      out.push_back(uint16_t(floatToBits(f) >> 16)); // exact
    return out;
  }
}
template <typename T> float toFloat(T v) {
  if constexpr (std::is_same_v<T, float>)
    return v;
  else
    return bitsToFloat(uint32_t(v) << 16);
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
  const int64_t OH = g.OH(), OW = g.OW();
  y.assign(N * g.C * OH * OW, {0, 0});
  std::vector<double> sum(x.size(), 0.0), magnitude(x.size(), 0.0);
  std::vector<int64_t> terms(x.size(), 0);
  for (int64_t p = 0; p < N * g.C; ++p)
    for (int64_t oh = 0; oh < OH; ++oh)
      for (int64_t ow = 0; ow < OW; ++ow) {
        int64_t o = (p * OH + oh) * OW + ow;
        double d = double(divisor(g, kind, oh, ow));
        double s = 0, m = 0;
        int64_t n = 0;
        for (int64_t kh = 0; kh < g.KH; ++kh)
          for (int64_t kw = 0; kw < g.KW; ++kw) {
            int64_t h = oh * g.strideH - g.padTop + kh,
                    w = ow * g.strideW - g.padLeft + kw;
            if (h < 0 || h >= g.H || w < 0 || w >= g.W)
              continue;
            int64_t i = (p * g.H + h) * g.W + w;
            s += x[i];
            m += std::fabs(x[i]);
            ++n;
            // The backward's term: dy / divisor, rounded to f32 first.
            double q = double(float(dy[o] / float(d)));
            sum[i] += q;
            magnitude[i] += std::fabs(q);
            ++terms[i];
          }
        y[o] = {s / d, tolerance<T>(s / d, m, n, d)};
      }
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

template <typename T>
void expectSameBits(const std::vector<T> &want, const std::vector<T> &got,
                    const std::string &what) {
  ASSERT_EQ(want.size(), got.size());
  for (size_t i = 0; i < want.size(); ++i)
    ASSERT_EQ(std::memcmp(&want[i], &got[i], sizeof(T)), 0)
        << what << " differs at " << i << ": " << toFloat(got[i]) << " vs "
        << toFloat(want[i]);
}

/// Sets an environment variable for the calls in its scope.
class Setting {
public:
  Setting(const char *name, const char *value) : name(name) {
    if (value)
      setenv(name, value, 1);
  }
  ~Setting() { unsetenv(name); }

private:
  const char *name;
};

/// y and dx of one forward and backward through the _layout entry points
/// on NCHW operands reordered as `layouts` says (backward's bits: x, dy,
/// dx; the forward's x, y follow x, dy), back in NCHW; written over
/// garbage, which they must not add to. `offset` moves every buffer by
/// that many elements.
template <typename T>
void runLayouts(const Geometry &g, int32_t kind, int64_t N,
                const std::vector<T> &x, const std::vector<T> &dy,
                int32_t layouts, size_t offset, std::vector<T> &y,
                std::vector<T> &dx) {
  const int64_t P = g.H * g.W, OP = g.OH() * g.OW();
  const int32_t type =
      std::is_same_v<T, float> ? NNCRT_TYPE_F32 : NNCRT_TYPE_BF16;
  bool bx = layouts & 1, bdy = layouts & 2, bdx = layouts & 4;
  auto placed = [&](const std::vector<T> &v, bool blocked, int64_t positions) {
    std::vector<T> out(offset, T(3));
    std::vector<T> l = blocked ? reorder(v, N, g.C, positions, true) : v;
    out.insert(out.end(), l.begin(), l.end());
    return out;
  };
  std::vector<T> lx = placed(x, bx, P), ldy = placed(dy, bdy, OP);
  std::vector<T> ly(offset + N * g.C * OP, T(7)), ldx(offset + x.size(), T(7));
  nncrt_pool2d_forward_layout(lx.data() + offset, ly.data() + offset, kind,
                              ARGS(g, N), type, int32_t(bx | bdy << 1));
  nncrt_pool2d_backward_layout(lx.data() + offset, ldy.data() + offset,
                               ldx.data() + offset, kind, ARGS(g, N), type,
                               layouts);
  y.assign(ly.begin() + offset, ly.end());
  dx.assign(ldx.begin() + offset, ldx.end());
  if (bdy)
    y = reorder(y, N, g.C, OP, false);
  if (bdx)
    dx = reorder(dx, N, g.C, P, false);
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
      if (mode[0] == 'o' && g.ownKernels())
        break;
      Setting side("NNC_AVGPOOL", mode[0] == 'o' ? mode : nullptr);
      const bool own = mode[0] == 'o' || g.ownKernels();
      const bool ownY = mode[0] == 'o' || g.ownPlainForward();
      std::vector<std::vector<T>> firstY(8), firstDx(8);
      for (const char *isa : {"widest", "generic"})
        for (int threads : {1, 2}) {
          Setting kernels("NNC_MAXPOOL_ISA", isa[0] == 'g' ? isa : nullptr);
          int32_t previous = nncrt_set_num_threads(threads);
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
          nncrt_set_num_threads(previous);
          if (HasFatalFailure())
            return;
        }
    }

    // The plain entry points are the _layout ones with NCHW operands.
    std::vector<T> firstY, firstDx;
    runLayouts(g, kind, N, tx, tdy, 0, 0, firstY, firstDx);
    std::vector<T> y(firstY.size()), dx(firstDx.size());
    if constexpr (std::is_same_v<T, float>) {
      nncrt_pool2d_forward(tx.data(), y.data(), kind, ARGS(g, N));
      nncrt_pool2d_backward(tx.data(), tdy.data(), dx.data(), kind, ARGS(g, N));
    } else {
      nncrt_pool2d_forward_bf16(tx.data(), y.data(), kind, ARGS(g, N));
      nncrt_pool2d_backward_bf16(tx.data(), tdy.data(), dx.data(), kind,
                                 ARGS(g, N));
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
      Setting kernels("NNC_MAXPOOL_ISA", isa[0] == 'g' ? isa : nullptr);
      std::vector<uint16_t> by(16, 7);
      nncrt_pool2d_forward_bf16(bx.data(), by.data(), kind, ARGS(g, 1));
      EXPECT_EQ(by[0], 0x3e80u) << isa;
      EXPECT_EQ(by[1], 0x3e82u) << isa;
      for (int64_t c = 2; c < 16; ++c)
        EXPECT_EQ(by[c], 0u) << isa << ", channel " << c;
      std::vector<float> y(16, 7.0f), dx(16 * 4, 7.0f);
      nncrt_pool2d_forward(x.data() + 8, y.data(), kind, 1, 14, 2, 2, 1, 1, 2,
                           2, 2, 2, 0, 0, 0, 0);
      nncrt_pool2d_backward(nullptr, dy.data(), dx.data(), kind, ARGS(g, 1));
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
        ::testing::Values(
            // The CNN's 2x2 tiles, and 2x2 windows that leave out a row
            // and a column (their dx: +0).
            Geometry{"Tiles2x2", 32, 28, 28, 2, 2, 2, 2, 0, 0, 0, 0},
            Geometry{"Odd2x2", 48, 9, 11, 2, 2, 2, 2, 0, 0, 0, 0},
            // Rows of more than 16 windows (the NCHW kernels take 16).
            Geometry{"Wide2x2", 16, 4, 42, 2, 2, 2, 2, 0, 0, 0, 0},
            // Other tiles (a divisor not a power of two), not square.
            Geometry{"Tiles3x3", 16, 9, 12, 3, 3, 3, 3, 0, 0, 0, 0},
            Geometry{"Tiles2x3", 32, 6, 9, 2, 3, 2, 3, 0, 0, 0, 0},
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
            Geometry{"Planes3Overlap", 3, 9, 11, 3, 3, 2, 2, 1, 1, 1, 1}),
        ::testing::Values(In, Ex)),
    [](const ::testing::TestParamInfo<std::tuple<Geometry, int32_t>> &info) {
      return std::string(std::get<0>(info.param).name) +
             (std::get<1>(info.param) == In ? "IncludePad" : "ExcludePad");
    });
} // namespace
