//===- ConvolutionBF16Test.cpp - mixed-precision convolution and pooling --===//
//
// Part of nnc, under the Apache License v2.0 with LLVM Exceptions.
// See LICENSE for license information.
//
//===----------------------------------------------------------------------===//
//
// nncrt_conv2d_*_bf16 read bf16 operands, accumulate in f32 and write f32
// or bf16. Against a double-precision reference of the same bf16 inputs: an
// f32 result within f32 accumulation error, a bf16 result within one bf16
// rounding of it; a repeated call on copies elsewhere gives the same bits.
// bf16 max pooling picks the element the f32 pooling of the widened input
// picks, and its backward is the f32 backward rounded once. Skipped, with
// the reason printed, where the CPU has no bf16 arithmetic (nnc refuses
// --precision=bf16 there).
//
//===----------------------------------------------------------------------===//

#include "nnc/Runtime/CPU/CPURuntime.h"

#include "BF16.h"

#include "gtest/gtest.h"

#include <cmath>
#include <cstring>
#include <fstream>
#include <ostream>
#include <random>
#include <string>
#include <vector>

namespace {

using nnc::test::cpuHasBF16;
using nnc::test::fromBF16;
using nnc::test::toBF16;

std::vector<uint16_t> randomBF16(size_t n, std::mt19937 &rng) {
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  std::vector<uint16_t> v(n);
  for (uint16_t &x : v)
    x = toBF16(u(rng));
  return v;
}

struct Conv {
  int64_t N, C, H, W, K, KH, KW, stride, pad, groups;
  bool bias, relu;

  int64_t OH() const { return (H + 2 * pad - KH) / stride + 1; }
  int64_t OW() const { return (W + 2 * pad - KW) / stride + 1; }
  size_t xSize() const { return N * C * H * W; }
  size_t wSize() const { return K * (C / groups) * KH * KW; }
  size_t ySize() const { return N * K * OH() * OW(); }
};

void PrintTo(const Conv &c, std::ostream *os) {
  *os << "N=" << c.N << " C=" << c.C << " " << c.H << "x" << c.W
      << " K=" << c.K << " " << c.KH << "x" << c.KW << " stride " << c.stride
      << " pad " << c.pad << " groups " << c.groups << (c.bias ? " bias" : "")
      << (c.relu ? " relu" : "");
}

#define GEOMETRY(c)                                                            \
  c.N, c.C, c.H, c.W, c.K, c.KH, c.KW, c.OH(), c.OW(), c.stride, c.stride,     \
      c.pad, c.pad, c.pad, c.pad, 1, 1, c.groups

/// A result of `n` elements of `type` (NNCRT_TYPE_*) widened to f32.
std::vector<float> widened(const std::vector<uint32_t> &raw, int32_t type,
                           size_t n) {
  std::vector<float> out(n);
  if (type == NNCRT_TYPE_F32)
    std::memcpy(out.data(), raw.data(), n * sizeof(float));
  else
    for (size_t i = 0; i < n; ++i)
      out[i] = fromBF16(reinterpret_cast<const uint16_t *>(raw.data())[i]);
  return out;
}

/// got ≈ want: f32 accumulation error relative to `scale` (the sum of the
/// terms' magnitudes), plus one bf16 rounding for a bf16 result.
void expectClose(const std::vector<float> &got, const std::vector<double> &want,
                 const std::vector<double> &scale, int32_t type,
                 const char *what) {
  double rounding = type == NNCRT_TYPE_BF16 ? std::ldexp(1.0, -8) : 0.0;
  for (size_t i = 0; i < want.size(); ++i)
    ASSERT_NEAR(got[i], want[i],
                rounding * std::fabs(want[i]) + 1e-5 * scale[i] + 1e-6)
        << what << " at " << i;
}

class ConvBF16 : public testing::TestWithParam<Conv> {};

TEST_P(ConvBF16, MatchesReferenceAndRepeatsBitwise) {
  if (!cpuHasBF16())
    GTEST_SKIP() << "this CPU has neither AVX-512 BF16 nor AMX";
  const Conv &c = GetParam();
  std::mt19937 rng(11);
  std::vector<uint16_t> x = randomBF16(c.xSize(), rng),
                        w = randomBF16(c.wSize(), rng),
                        dy = randomBF16(c.ySize(), rng);
  std::vector<float> b(c.K);
  for (float &v : b)
    v = std::uniform_real_distribution<float>(-1, 1)(rng);

  std::vector<double> y(c.ySize()), yScale(c.ySize()), dx(c.xSize()),
      dxScale(c.xSize()), dw(c.wSize()), dwScale(c.wSize());
  int64_t OH = c.OH(), OW = c.OW(), Cg = c.C / c.groups, Kg = c.K / c.groups;
  for (int64_t n = 0; n < c.N; ++n)
    for (int64_t k = 0; k < c.K; ++k)
      for (int64_t oh = 0; oh < OH; ++oh)
        for (int64_t ow = 0; ow < OW; ++ow)
          for (int64_t ci = 0; ci < Cg; ++ci)
            for (int64_t kh = 0; kh < c.KH; ++kh)
              for (int64_t kw = 0; kw < c.KW; ++kw) {
                int64_t ih = oh * c.stride - c.pad + kh;
                int64_t iw = ow * c.stride - c.pad + kw;
                if (ih < 0 || ih >= c.H || iw < 0 || iw >= c.W)
                  continue;
                int64_t xi = ((n * c.C + (k / Kg) * Cg + ci) * c.H + ih) * c.W +
                             iw,
                        wi = ((k * Cg + ci) * c.KH + kh) * c.KW + kw,
                        yi = ((n * c.K + k) * OH + oh) * OW + ow;
                double xv = fromBF16(x[xi]), wv = fromBF16(w[wi]),
                       dyv = fromBF16(dy[yi]);
                y[yi] += xv * wv, yScale[yi] += std::fabs(xv * wv);
                dx[xi] += dyv * wv, dxScale[xi] += std::fabs(dyv * wv);
                dw[wi] += xv * dyv, dwScale[wi] += std::fabs(xv * dyv);
              }
  for (size_t i = 0; i < y.size(); ++i) {
    if (c.bias) {
      y[i] += b[i / (OH * OW) % c.K];
      yScale[i] += std::fabs(b[i / (OH * OW) % c.K]);
    }
    if (c.relu && y[i] < 0)
      y[i] = 0;
  }

  for (int threads : {1, 2})
    for (int32_t type : {NNCRT_TYPE_F32, NNCRT_TYPE_BF16}) {
      SCOPED_TRACE(testing::Message()
                   << threads << " thread(s), "
                   << (type == NNCRT_TYPE_BF16 ? "bf16" : "f32") << " result");
      int32_t previous = nncrt_set_num_threads(threads);
      // Results in 32-bit words, filled with garbage the calls overwrite.
      auto run = [&](auto call, size_t n) {
        std::vector<uint32_t> first(n, 0x7fc01234u), second(n + 3, 0u);
        call(first.data(), x.data(), w.data(), dy.data());
        // Copies at other addresses, for the same bits.
        std::vector<uint16_t> x2(x), w2(w), dy2(dy);
        call(second.data() + 3, x2.data(), w2.data(), dy2.data());
        size_t bytes = n * (type == NNCRT_TYPE_F32 ? 4 : 2);
        EXPECT_EQ(std::memcmp(first.data(), second.data() + 3, bytes), 0)
            << "two identical calls differ";
        return widened(first, type, n);
      };
      std::vector<float> got = run(
          [&](void *out, const uint16_t *xp, const uint16_t *wp,
              const uint16_t *) {
            nncrt_conv2d_forward_bf16(
                xp, wp, c.bias ? b.data() : nullptr, out, GEOMETRY(c),
                c.relu ? NNCRT_ACTIVATION_RELU : NNCRT_ACTIVATION_NONE, 0.0f,
                type);
          },
          c.ySize());
      expectClose(got, y, yScale, type, "y");
      got = run(
          [&](void *out, const uint16_t *, const uint16_t *wp,
              const uint16_t *dyp) {
            nncrt_conv2d_backward_data_bf16(dyp, wp, out, GEOMETRY(c), type);
          },
          c.xSize());
      expectClose(got, dx, dxScale, type, "dx");
      got = run(
          [&](void *out, const uint16_t *xp, const uint16_t *,
              const uint16_t *dyp) {
            nncrt_conv2d_backward_weights_bf16(xp, dyp, out, GEOMETRY(c),
                                               type);
          },
          c.wSize());
      expectClose(got, dw, dwScale, type, "dw");
      nncrt_set_num_threads(previous);
    }
  // Which kernels ran: on AVX-512 BF16 or AMX, none of oneDNN's reference
  // (emulated) ones.
  std::string impls = nncrt_conv2d_bf16_impl();
  EXPECT_EQ(impls.find("ref"), std::string::npos) << impls;
  // Where oneDNN may run AMX, an ungrouped convolution runs on it
  // (channels-last inside, see Convolution.cpp). The list is the thread's,
  // so an earlier case may have put "amx" in it; the first case alone
  // does too.
  if (nnc::test::oneDNNMayRunAMX() && c.groups == 1)
    EXPECT_NE(impls.find("amx"), std::string::npos) << impls;
  std::printf("bf16 convolution kernels: %s\n", impls.c_str());
}

// N, C, H, W, K, KH, KW, stride, padding, groups, bias, relu.
INSTANTIATE_TEST_SUITE_P(
    Geometries, ConvBF16,
    testing::Values(
        // The Fashion-MNIST CNN's layers at a small batch.
        Conv{4, 1, 28, 28, 32, 3, 3, 1, 1, 1, true, true},
        Conv{4, 32, 14, 14, 64, 3, 3, 1, 1, 1, true, true},
        // Stride 2, no bias, channels off oneDNN's blocks of 16.
        Conv{2, 20, 9, 9, 24, 3, 3, 2, 1, 1, false, false},
        // Groups and depthwise.
        Conv{2, 8, 8, 8, 8, 3, 3, 1, 1, 2, true, false},
        Conv{2, 16, 9, 9, 16, 3, 3, 2, 1, 16, false, true}));

#undef GEOMETRY

//===----------------------------------------------------------------------===//
// Pooling
//===----------------------------------------------------------------------===//

struct Pool {
  int32_t kind;
  int64_t N, C, H, W, K, stride, pad;
  int64_t OH() const { return (H + 2 * pad - K) / stride + 1; }
  int64_t OW() const { return (W + 2 * pad - K) / stride + 1; }
};

void PrintTo(const Pool &p, std::ostream *os) {
  *os << "kind " << p.kind << " " << p.N << "x" << p.C << "x" << p.H << "x"
      << p.W << " window " << p.K << " stride " << p.stride << " pad " << p.pad;
}

#define GEOMETRY(p)                                                            \
  p.N, p.C, p.H, p.W, p.OH(), p.OW(), p.K, p.K, p.stride, p.stride, p.pad,     \
      p.pad, p.pad, p.pad

class PoolBF16 : public testing::TestWithParam<Pool> {};

// The bf16 pooling against the f32 pooling of the same (widened) values:
// max pooling's forward picks the same element (equal bits) and its
// backward adds the same f32 terms in the same order before one rounding;
// average pooling is within one bf16 rounding.
TEST_P(PoolBF16, MatchesTheF32Pooling) {
  if (!cpuHasBF16())
    GTEST_SKIP() << "this CPU has neither AVX-512 BF16 nor AMX";
  const Pool &p = GetParam();
  std::mt19937 rng(5);
  size_t in = p.N * p.C * p.H * p.W, out = p.N * p.C * p.OH() * p.OW();
  std::vector<uint16_t> x = randomBF16(in, rng), dy = randomBF16(out, rng);
  // Ties, as after a ReLU: a third of the inputs are zero.
  for (size_t i = 0; i < in; i += 3)
    x[i] = 0;
  std::vector<float> xf(in), dyf(out);
  for (size_t i = 0; i < in; ++i)
    xf[i] = fromBF16(x[i]);
  for (size_t i = 0; i < out; ++i)
    dyf[i] = fromBF16(dy[i]);
  std::vector<float> yf(out), dxf(in);
  nncrt_pool2d_forward(xf.data(), yf.data(), p.kind, GEOMETRY(p));
  nncrt_pool2d_backward(xf.data(), dyf.data(), dxf.data(), p.kind,
                        GEOMETRY(p));
  std::vector<uint16_t> y(out, 0x7fc1), dx(in, 0x7fc1);
  nncrt_pool2d_forward_bf16(x.data(), y.data(), p.kind, GEOMETRY(p));
  nncrt_pool2d_backward_bf16(x.data(), dy.data(), dx.data(), p.kind,
                             GEOMETRY(p));
  bool exact = p.kind == NNCRT_POOL_MAX;
  for (size_t i = 0; i < out; ++i) {
    if (exact)
      ASSERT_EQ(y[i], toBF16(yf[i])) << "y at " << i;
    else
      ASSERT_NEAR(fromBF16(y[i]), yf[i], std::ldexp(std::fabs(yf[i]), -8))
          << "y at " << i;
  }
  for (size_t i = 0; i < in; ++i) {
    if (exact)
      ASSERT_EQ(dx[i], toBF16(dxf[i])) << "dx at " << i;
    else
      ASSERT_NEAR(fromBF16(dx[i]), dxf[i],
                  std::ldexp(std::fabs(dxf[i]), -8) + 1e-6)
          << "dx at " << i;
  }
}

INSTANTIATE_TEST_SUITE_P(
    Geometries, PoolBF16,
    testing::Values(Pool{NNCRT_POOL_MAX, 4, 8, 28, 28, 2, 2, 0},
                    // Overlapping windows add up in dx; padding.
                    Pool{NNCRT_POOL_MAX, 2, 3, 9, 11, 3, 2, 1},
                    Pool{NNCRT_POOL_AVG_INCLUDE_PAD, 2, 16, 8, 8, 3, 2, 1},
                    Pool{NNCRT_POOL_AVG_EXCLUDE_PAD, 2, 16, 7, 7, 7, 1, 0}));

#undef GEOMETRY

} // namespace
