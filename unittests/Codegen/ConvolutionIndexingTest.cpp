//===- ConvolutionIndexingTest.cpp - implicit-GEMM maps vs direct loops ---===//
//
// Part of nnc, under the Apache License v2.0 with LLVM Exceptions.
// See LICENSE for license information.
//
// The GPU target's convolution and pooling kernels compute their indices
// with ConvolutionIndexing.h, instantiated there with ops that emit IR. No
// GPU runs the kernels here, so these tests instantiate the same maps with
// integers and run the kernels' formulations on the CPU: each convolution
// as its per-group GEMM (forward, backward data, backward weights) against
// direct loops, and pooling's gathers against the CPU runtime's scatter
// (first maximum, NaN wins, windows in row-major order). The data are
// small integers, so every sum is exact and the comparisons are equality.
// What this does not check: the kernels' tiling, shared memory and
// barriers (ptxas-checked, run only where a GPU is lent).
//
//===----------------------------------------------------------------------===//

#include "nnc/Codegen/GPU/ConvolutionIndexing.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>
#include <vector>

using namespace nnc::gpu_conv;

namespace {

/// A dense NCHW (or OIHW) tensor of doubles.
struct Tensor {
  std::array<int64_t, 4> shape;
  std::vector<double> data;
  explicit Tensor(std::array<int64_t, 4> s)
      : shape(s), data(s[0] * s[1] * s[2] * s[3], 0.0) {}
  int64_t offset(const std::array<int64_t, 4> &i) const {
    for (int d = 0; d < 4; ++d) {
      EXPECT_GE(i[d], 0) << "dimension " << d;
      EXPECT_LT(i[d], shape[d]) << "dimension " << d;
    }
    return ((i[0] * shape[1] + i[1]) * shape[2] + i[2]) * shape[3] + i[3];
  }
  double &operator[](const std::array<int64_t, 4> &i) {
    return data[offset(i)];
  }
  void fill(std::mt19937 &rng, int lo = -3, int hi = 3) {
    std::uniform_int_distribution<int> d(lo, hi);
    for (double &v : data)
      v = d(rng);
  }
};

/// Geometries the kernels take: strides, asymmetric padding, dilation,
/// groups, depthwise, 1×1, a kernel as large as the padded input.
std::vector<ConvGeometry> geometries() {
  std::vector<ConvGeometry> out;
  auto add = [&](int64_t N, int64_t C, int64_t H, int64_t W, int64_t K,
                 int64_t KH, int64_t KW, int64_t sH, int64_t sW, int64_t pT,
                 int64_t pL, int64_t pB, int64_t pR, int64_t dH, int64_t dW,
                 int64_t groups) {
    int64_t OH = (H + pT + pB - dH * (KH - 1) - 1) / sH + 1;
    int64_t OW = (W + pL + pR - dW * (KW - 1) - 1) / sW + 1;
    ConvGeometry g{N,  C,  H,  W,  K,  KH, KW, OH, OW,
                   sH, sW, pT, pL, pB, pR, dH, dW, groups};
    ASSERT_TRUE(g.isConsistent());
    out.push_back(g);
  };
  add(2, 3, 7, 6, 4, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1);  // same padding
  add(2, 4, 9, 8, 6, 3, 2, 2, 3, 1, 0, 2, 1, 1, 1, 2);  // strided, groups
  add(1, 6, 8, 7, 6, 3, 3, 1, 2, 2, 2, 2, 2, 2, 3, 6);  // depthwise dilated
  add(3, 2, 5, 5, 4, 1, 1, 2, 2, 0, 0, 0, 0, 1, 1, 1);  // 1×1 stride 2
  add(1, 4, 4, 5, 8, 4, 5, 1, 1, 0, 0, 0, 0, 1, 1, 2);  // kernel = input
  add(2, 6, 10, 9, 9, 3, 3, 3, 2, 1, 2, 0, 1, 2, 1, 3); // everything
  return out;
}

/// y = conv(x, w), direct loops in PyTorch's definition.
Tensor directForward(const ConvGeometry &g, Tensor &x, Tensor &w) {
  Tensor y({g.N, g.K, g.OH, g.OW});
  int64_t icg = g.channelsPerGroup(), ocg = g.filtersPerGroup();
  for (int64_t b = 0; b < g.N; ++b)
    for (int64_t oc = 0; oc < g.K; ++oc)
      for (int64_t oh = 0; oh < g.OH; ++oh)
        for (int64_t ow = 0; ow < g.OW; ++ow) {
          double s = 0;
          for (int64_t c = 0; c < icg; ++c)
            for (int64_t kh = 0; kh < g.KH; ++kh)
              for (int64_t kw = 0; kw < g.KW; ++kw) {
                int64_t h = oh * g.strideH - g.padTop + kh * g.dilationH;
                int64_t ww = ow * g.strideW - g.padLeft + kw * g.dilationW;
                if (h < 0 || h >= g.H || ww < 0 || ww >= g.W)
                  continue;
                s += x[{b, (oc / ocg) * icg + c, h, ww}] * w[{oc, c, kh, kw}];
              }
          y[{b, oc, oh, ow}] = s;
        }
  return y;
}

class ConvIndexingTest : public ::testing::TestWithParam<int> {};

TEST_P(ConvIndexingTest, GemmsMatchDirectLoops) {
  ConvGeometry g = geometries()[GetParam()];
  std::mt19937 rng(GetParam());
  Tensor x({g.N, g.C, g.H, g.W}), w({g.K, g.channelsPerGroup(), g.KH, g.KW}),
      dy({g.N, g.K, g.OH, g.OW});
  x.fill(rng), w.fill(rng), dy.fill(rng);
  IntOps o;
  ConvIndexing<IntOps> ix{o, g};

  // Forward: C[m = (b, oh, ow)][n = oc] = Σ_k x-gather(m, k) · w(k, n).
  Tensor y({g.N, g.K, g.OH, g.OW});
  std::array<int64_t, 3> mnk = g.forwardMNK();
  int64_t M = mnk[0], N = mnk[1], K = mnk[2];
  for (int64_t group = 0; group < g.groups; ++group)
    for (int64_t m = 0; m < M; ++m)
      for (int64_t n = 0; n < N; ++n) {
        double acc = 0;
        for (int64_t k = 0; k < K; ++k) {
          auto a = ix.input(group, ix.pixel(m, g.OH, g.OW), k);
          if (a.valid)
            acc += x[a.at] * w[ix.forwardWeight(group, n, k)];
        }
        y[ix.output(group, ix.pixel(m, g.OH, g.OW), n)] = acc;
      }
  Tensor ref = directForward(g, x, w);
  EXPECT_EQ(y.data, ref.data);

  // Backward data: the transposed gather against the scatter dx[in] +=
  // w · dy over every output and tap.
  Tensor dxRef({g.N, g.C, g.H, g.W});
  int64_t icg = g.channelsPerGroup(), ocg = g.filtersPerGroup();
  for (int64_t b = 0; b < g.N; ++b)
    for (int64_t oc = 0; oc < g.K; ++oc)
      for (int64_t oh = 0; oh < g.OH; ++oh)
        for (int64_t ow = 0; ow < g.OW; ++ow)
          for (int64_t c = 0; c < icg; ++c)
            for (int64_t kh = 0; kh < g.KH; ++kh)
              for (int64_t kw = 0; kw < g.KW; ++kw) {
                int64_t h = oh * g.strideH - g.padTop + kh * g.dilationH;
                int64_t ww = ow * g.strideW - g.padLeft + kw * g.dilationW;
                if (h < 0 || h >= g.H || ww < 0 || ww >= g.W)
                  continue;
                dxRef[{b, (oc / ocg) * icg + c, h, ww}] +=
                    w[{oc, c, kh, kw}] * dy[{b, oc, oh, ow}];
              }
  Tensor dx({g.N, g.C, g.H, g.W});
  mnk = g.backwardDataMNK();
  M = mnk[0], N = mnk[1], K = mnk[2];
  for (int64_t group = 0; group < g.groups; ++group)
    for (int64_t m = 0; m < M; ++m)
      for (int64_t n = 0; n < N; ++n) {
        double acc = 0;
        for (int64_t k = 0; k < K; ++k) {
          auto a = ix.gradOutput(group, ix.pixel(m, g.H, g.W), k);
          if (a.valid)
            acc += dy[a.at] * w[ix.backwardDataWeight(group, n, k)];
        }
        dx[ix.gradInput(group, ix.pixel(m, g.H, g.W), n)] = acc;
      }
  EXPECT_EQ(dx.data, dxRef.data);

  // Backward weights: C[m = oc][n = (c, kh, kw)] = Σ over (b, oh, ow).
  Tensor dwRef({g.K, icg, g.KH, g.KW});
  for (int64_t b = 0; b < g.N; ++b)
    for (int64_t oc = 0; oc < g.K; ++oc)
      for (int64_t oh = 0; oh < g.OH; ++oh)
        for (int64_t ow = 0; ow < g.OW; ++ow)
          for (int64_t c = 0; c < icg; ++c)
            for (int64_t kh = 0; kh < g.KH; ++kh)
              for (int64_t kw = 0; kw < g.KW; ++kw) {
                int64_t h = oh * g.strideH - g.padTop + kh * g.dilationH;
                int64_t ww = ow * g.strideW - g.padLeft + kw * g.dilationW;
                if (h < 0 || h >= g.H || ww < 0 || ww >= g.W)
                  continue;
                dwRef[{oc, c, kh, kw}] +=
                    x[{b, (oc / ocg) * icg + c, h, ww}] * dy[{b, oc, oh, ow}];
              }
  Tensor dw({g.K, icg, g.KH, g.KW});
  mnk = g.backwardWeightsMNK();
  M = mnk[0], N = mnk[1], K = mnk[2];
  for (int64_t group = 0; group < g.groups; ++group)
    for (int64_t m = 0; m < M; ++m)
      for (int64_t n = 0; n < N; ++n) {
        double acc = 0;
        for (int64_t k = 0; k < K; ++k) {
          auto bx = ix.input(group, ix.pixel(k, g.OH, g.OW), n);
          if (bx.valid)
            acc += dy[ix.output(group, ix.pixel(k, g.OH, g.OW), m)] * x[bx.at];
        }
        dw[ix.gradWeight(group, m, n)] = acc;
      }
  EXPECT_EQ(dw.data, dwRef.data);
}

INSTANTIATE_TEST_SUITE_P(Geometries, ConvIndexingTest,
                         ::testing::Range(0, int(geometries().size())));

TEST(ConvGeometryTest, RefusesInconsistentGeometries) {
  ConvGeometry g = geometries()[0];
  ConvGeometry bad = g;
  bad.OH += 1;
  EXPECT_FALSE(bad.isConsistent());
  bad = g, bad.groups = 2; // C = 3 is not divisible
  EXPECT_FALSE(bad.isConsistent());
  bad = g, bad.padLeft = -1;
  EXPECT_FALSE(bad.isConsistent());
  bad = g, bad.dilationW = 0;
  EXPECT_FALSE(bad.isConsistent());
}

//===----------------------------------------------------------------------===//
// Pooling
//===----------------------------------------------------------------------===//

std::vector<PoolGeometry> poolGeometries() {
  std::vector<PoolGeometry> out;
  auto add = [&](int64_t H, int64_t W, int64_t KH, int64_t KW, int64_t sH,
                 int64_t sW, int64_t pT, int64_t pL, int64_t pB, int64_t pR) {
    PoolGeometry g{2,
                   3,
                   H,
                   W,
                   (H + pT + pB - KH) / sH + 1,
                   (W + pL + pR - KW) / sW + 1,
                   KH,
                   KW,
                   sH,
                   sW,
                   pT,
                   pL,
                   pB,
                   pR};
    ASSERT_TRUE(g.isConsistent());
    out.push_back(g);
  };
  add(8, 8, 2, 2, 2, 2, 0, 0, 0, 0); // the usual 2×2
  add(7, 6, 3, 3, 1, 1, 0, 0, 0, 0); // overlapping windows
  add(9, 7, 3, 2, 2, 1, 1, 1, 1, 0); // padding, asymmetric
  add(5, 5, 5, 5, 5, 5, 0, 0, 0, 0); // global
  return out;
}

/// The CPU runtime's max pooling (Convolution.cpp, windowArgmax): the
/// first in-bounds element, replaced in row-major order by a greater one
/// or a NaN; returns the picked (h, w) and its value.
struct Pick {
  int64_t h, w;
  double v;
};
Pick runtimeArgmax(const PoolGeometry &g, Tensor &x, int64_t b, int64_t c,
                   int64_t oh, int64_t ow) {
  int64_t hs = oh * g.strideH - g.padTop, ws = ow * g.strideW - g.padLeft;
  Pick p{std::max<int64_t>(hs, 0), std::max<int64_t>(ws, 0),
         -std::numeric_limits<double>::infinity()};
  for (int64_t h = std::max<int64_t>(hs, 0); h < std::min(hs + g.KH, g.H); ++h)
    for (int64_t w = std::max<int64_t>(ws, 0); w < std::min(ws + g.KW, g.W);
         ++w) {
      double v = x[{b, c, h, w}];
      if (v > p.v || std::isnan(v))
        p = {h, w, v};
    }
  return p;
}

/// The kernels' argmax: taps (kh, kw) in row-major order through the
/// shared maps, the same rule.
Pick kernelArgmax(PoolIndexing<IntOps> &ix, const PoolGeometry &g, Tensor &x,
                  int64_t b, int64_t c, int64_t oh, int64_t ow) {
  Pick p{std::max<int64_t>(oh * g.strideH - g.padTop, 0),
         std::max<int64_t>(ow * g.strideW - g.padLeft, 0),
         -std::numeric_limits<double>::infinity()};
  for (int64_t kh = 0; kh < g.KH; ++kh)
    for (int64_t kw = 0; kw < g.KW; ++kw) {
      auto [okH, h] = ix.row(oh, kh);
      auto [okW, w] = ix.col(ow, kw);
      if (!okH || !okW)
        continue;
      double v = x[{b, c, h, w}];
      if (v > p.v || std::isnan(v))
        p = {h, w, v};
    }
  return p;
}

class PoolIndexingTest : public ::testing::TestWithParam<int> {};

TEST_P(PoolIndexingTest, GathersMatchTheRuntimesScatter) {
  PoolGeometry g = poolGeometries()[GetParam()];
  std::mt19937 rng(GetParam());
  Tensor x({g.N, g.C, g.H, g.W}), dy({g.N, g.C, g.OH, g.OW});
  // Few distinct values: many ties. Some NaNs, and a plane of -inf.
  x.fill(rng, 0, 2);
  dy.fill(rng, -4, 4);
  x[{0, 0, 1, 1}] = std::nan("");
  x[{0, 0, 1, 2}] = std::nan("");
  for (int64_t h = 0; h < g.H; ++h)
    for (int64_t w = 0; w < g.W; ++w)
      x[{1, 2, h, w}] = -std::numeric_limits<double>::infinity();
  IntOps o;
  PoolIndexing<IntOps> ix{o, g};

  // Max forward: the same element as the runtime's, for every window.
  for (int64_t b = 0; b < g.N; ++b)
    for (int64_t c = 0; c < g.C; ++c)
      for (int64_t oh = 0; oh < g.OH; ++oh)
        for (int64_t ow = 0; ow < g.OW; ++ow) {
          Pick r = runtimeArgmax(g, x, b, c, oh, ow);
          Pick k = kernelArgmax(ix, g, x, b, c, oh, ow);
          EXPECT_EQ(r.h, k.h);
          EXPECT_EQ(r.w, k.w);
        }

  // Max backward: the runtime scatters dy in row-major window order; the
  // kernel gathers each input's windows (kh, kw descending) and must add
  // the same terms in the same order: the lists of windows each input
  // element receives, in order, must be equal.
  for (int64_t b = 0; b < g.N; ++b)
    for (int64_t c = 0; c < g.C; ++c) {
      std::vector<std::vector<std::pair<int64_t, int64_t>>> scatter(g.H * g.W),
          gather(g.H * g.W);
      for (int64_t oh = 0; oh < g.OH; ++oh)
        for (int64_t ow = 0; ow < g.OW; ++ow) {
          Pick r = runtimeArgmax(g, x, b, c, oh, ow);
          scatter[r.h * g.W + r.w].push_back({oh, ow});
        }
      for (int64_t h = 0; h < g.H; ++h)
        for (int64_t w = 0; w < g.W; ++w)
          for (int64_t kh = g.KH - 1; kh >= 0; --kh)
            for (int64_t kw = g.KW - 1; kw >= 0; --kw) {
              auto [okH, oh] = ix.windowRow(h, kh);
              auto [okW, ow] = ix.windowCol(w, kw);
              if (!okH || !okW)
                continue;
              Pick k = kernelArgmax(ix, g, x, b, c, oh, ow);
              if (k.h == h && k.w == w)
                gather[h * g.W + w].push_back({oh, ow});
            }
      EXPECT_EQ(scatter, gather) << "plane " << b << ", " << c;
    }

  // Average pooling's backward: each input gets one share of every window
  // that holds it, and the exclude-padding divisor counts the window's
  // input elements.
  for (int64_t oh = 0; oh < g.OH; ++oh)
    for (int64_t ow = 0; ow < g.OW; ++ow) {
      int64_t inside = 0;
      for (int64_t kh = 0; kh < g.KH; ++kh)
        for (int64_t kw = 0; kw < g.KW; ++kw)
          inside += ix.row(oh, kh).first && ix.col(ow, kw).first;
      EXPECT_EQ(ix.count(oh, ow), inside);
    }
  for (int64_t h = 0; h < g.H; ++h)
    for (int64_t w = 0; w < g.W; ++w) {
      int64_t windows = 0, gathered = 0;
      for (int64_t oh = 0; oh < g.OH; ++oh)
        for (int64_t ow = 0; ow < g.OW; ++ow) {
          int64_t hs = oh * g.strideH - g.padTop,
                  ws = ow * g.strideW - g.padLeft;
          windows += h >= hs && h < hs + g.KH && w >= ws && w < ws + g.KW;
        }
      for (int64_t kh = 0; kh < g.KH; ++kh)
        for (int64_t kw = 0; kw < g.KW; ++kw)
          gathered += ix.windowRow(h, kh).first && ix.windowCol(w, kw).first;
      EXPECT_EQ(windows, gathered) << "input " << h << ", " << w;
    }
}

INSTANTIATE_TEST_SUITE_P(Geometries, PoolIndexingTest,
                         ::testing::Range(0, int(poolGeometries().size())));

} // namespace
