//===- PoolTestSupport.h - what the pooling tests share ---------*- C++ -*-===//
//
// Part of nnc, under the Apache License v2.0 with LLVM Exceptions.
// See LICENSE for license information.
//
//===----------------------------------------------------------------------===//
///
/// \file
/// The max and average pooling tests' common ground: a window geometry and
/// the entry points' arguments for it, bf16-exact inputs, bit comparisons,
/// the settings that pick the runtime's kernels and threads, and one
/// forward and backward through the _layout entry points on reordered
/// operands.
///
//===----------------------------------------------------------------------===//

#ifndef NNC_UNITTESTS_RUNTIME_POOLTESTSUPPORT_H
#define NNC_UNITTESTS_RUNTIME_POOLTESTSUPPORT_H

#include "nnc/Runtime/CPU/CPURuntime.h"

#include "BlockedLayout.h"

#include "gtest/gtest.h"

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <initializer_list>
#include <ostream>
#include <random>
#include <string>
#include <type_traits>
#include <vector>

namespace nnc::test {

/// One pooling window geometry over C planes of H x W.
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
};

inline std::ostream &operator<<(std::ostream &os, const Geometry &g) {
  return os << g.name;
}

/// The test name of a Geometry parameter.
inline std::string
geometryName(const ::testing::TestParamInfo<Geometry> &info) {
  return info.param.name;
}

/// The tilings both poolings' tests start from: the CNN's 2x2 tiles, 2x2
/// windows that leave a row and a column out, rows of more than 16
/// windows (the NCHW kernels take 16 at once), and other tiles, one of
/// them not square; then `more`.
inline std::vector<Geometry> tilesAnd(std::initializer_list<Geometry> more) {
  std::vector<Geometry> all = {
      Geometry{"Tiles2x2", 32, 28, 28, 2, 2, 2, 2, 0, 0, 0, 0},
      Geometry{"Odd2x2", 48, 9, 11, 2, 2, 2, 2, 0, 0, 0, 0},
      Geometry{"Wide2x2", 16, 4, 42, 2, 2, 2, 2, 0, 0, 0, 0},
      Geometry{"Tiles3x3", 16, 9, 12, 3, 3, 3, 3, 0, 0, 0, 0},
      Geometry{"Tiles2x3", 32, 6, 9, 2, 3, 2, 3, 0, 0, 0, 0}};
  all.insert(all.end(), more.begin(), more.end());
  return all;
}

/// An element of x in a window: its NCHW index, and its position
/// kh * KW + kw in the padded window.
struct WindowElement {
  int64_t index, position;
};

/// Calls f(o, oh, ow, elements) for every window of N images of g, o its
/// NCHW index in y, with the elements of x it covers in row-major window
/// order (padding left out).
template <typename F> void forEachWindow(const Geometry &g, int64_t N, F f) {
  const int64_t OH = g.OH(), OW = g.OW();
  std::vector<WindowElement> elements;
  for (int64_t p = 0; p < N * g.C; ++p)
    for (int64_t oh = 0; oh < OH; ++oh)
      for (int64_t ow = 0; ow < OW; ++ow) {
        elements.clear();
        for (int64_t kh = 0; kh < g.KH; ++kh)
          for (int64_t kw = 0; kw < g.KW; ++kw) {
            int64_t h = oh * g.strideH - g.padTop + kh,
                    w = ow * g.strideW - g.padLeft + kw;
            if (h >= 0 && h < g.H && w >= 0 && w < g.W)
              elements.push_back({(p * g.H + h) * g.W + w, kh * g.KW + kw});
          }
        f((p * OH + oh) * OW + ow, oh, ow, elements);
      }
}

/// The pooling entry points' shape arguments for N images of g.
#define POOL_ARGS(g, N)                                                        \
  N, g.C, g.H, g.W, g.OH(), g.OW(), g.KH, g.KW, g.strideH, g.strideW,          \
      g.padTop, g.padLeft, g.padBottom, g.padRight

/// v's bits as a To (C++17's std::bit_cast).
template <typename To, typename From> To bitCast(From v) {
  static_assert(sizeof(To) == sizeof(From));
  To out;
  std::memcpy(&out, &v, sizeof(out));
  return out;
}
inline float bitsToFloat(uint32_t bits) { return bitCast<float>(bits); }
inline uint32_t floatToBits(float f) { return bitCast<uint32_t>(f); }

/// f32 values as T (float, or bf16 bits cut exactly from values that are
/// exact in bf16).
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

/// The NNCRT_TYPE_* of T.
template <typename T>
constexpr int32_t typeOf =
    std::is_same_v<T, float> ? NNCRT_TYPE_F32 : NNCRT_TYPE_BF16;

/// Random values in (-range, range) exact in bf16 (so that the f32 and
/// bf16 runs see the same ones) whose sums are not; 1 in 100 a -0, and 1
/// in 100 `special`.
inline std::vector<float> bf16ExactValues(size_t n, std::mt19937 &rng,
                                          float range, float special) {
  std::uniform_real_distribution<float> u(-range, range);
  std::uniform_int_distribution<int> d(0, 99);
  std::vector<float> v(n);
  for (float &x : v) {
    int r = d(rng);
    x = r == 0   ? -0.0f
        : r == 1 ? special
                 : bitsToFloat(floatToBits(u(rng)) & 0xffff0000u);
  }
  return v;
}

/// want and got hold the same bits, element for element.
template <typename T>
void expectSameBits(const std::vector<T> &want, const std::vector<T> &got,
                    const std::string &what) {
  ASSERT_EQ(want.size(), got.size()) << what;
  for (size_t i = 0; i < want.size(); ++i) {
    if (std::memcmp(&want[i], &got[i], sizeof(T)) == 0)
      continue;
    if constexpr (sizeof(T) == 1)
      FAIL() << what << " differs at " << i << ": " << int(got[i]) << " vs "
             << int(want[i]);
    else
      FAIL() << what << " differs at " << i << ": " << toFloat(got[i]) << " vs "
             << toFloat(want[i]);
  }
}

/// Sets an environment variable for the calls in its scope (none: leaves
/// it unset).
class Setting {
public:
  Setting(const char *name, const char *value) : name(name) {
    if (value)
      setenv(name, value, 1);
  }
  ~Setting() { unsetenv(name); }
  Setting(const Setting &) = delete;
  Setting &operator=(const Setting &) = delete;

private:
  const char *name;
};

/// Selects the runtime's pooling kernels for the calls in its scope:
/// "generic", the portable ones; anything else, the widest the CPU has.
class Kernels : Setting {
public:
  explicit Kernels(const char *isa)
      : Setting("NNC_MAXPOOL_ISA", isa[0] == 'g' ? isa : nullptr) {}
};

/// Runs the runtime's calls in its scope on `threads` threads.
class Threads {
public:
  explicit Threads(int threads) : previous(nncrt_set_num_threads(threads)) {}
  ~Threads() { nncrt_set_num_threads(previous); }
  Threads(const Threads &) = delete;
  Threads &operator=(const Threads &) = delete;

private:
  int32_t previous;
};

/// y and dx of one forward and backward of `kind` through the _layout
/// entry points on NCHW operands reordered as `layouts` says (backward's
/// bits: x, dy, dx; the forward's x, y follow x, dy), back in NCHW; written
/// over garbage, which they must not add to. `offset` moves every buffer
/// by that many elements.
template <typename T>
void runLayouts(const Geometry &g, int32_t kind, int64_t N,
                const std::vector<T> &x, const std::vector<T> &dy,
                int32_t layouts, size_t offset, std::vector<T> &y,
                std::vector<T> &dx) {
  const int64_t P = g.H * g.W, OP = g.OH() * g.OW();
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
                              POOL_ARGS(g, N), typeOf<T>,
                              int32_t(bx | bdy << 1));
  nncrt_pool2d_backward_layout(lx.data() + offset, ldy.data() + offset,
                               ldx.data() + offset, kind, POOL_ARGS(g, N),
                               typeOf<T>, layouts);
  y.assign(ly.begin() + offset, ly.end());
  dx.assign(ldx.begin() + offset, ldx.end());
  if (bdy)
    y = reorder(y, N, g.C, OP, false);
  if (bdx)
    dx = reorder(dx, N, g.C, P, false);
}

} // namespace nnc::test

#endif // NNC_UNITTESTS_RUNTIME_POOLTESTSUPPORT_H
