//===- emulate-kernels.cpp - the GPU kernels on CPU threads ---------------===//
//
// Part of nnc, under the Apache License v2.0 with LLVM Exceptions.
// See LICENSE for license information.
//
// The driver of emulate-kernels.test: runs the convolution and pooling
// kernels nnc-gpu-build-kernels built (made host functions by
// emulate_kernels.py, compiled for this CPU) with one std::thread per GPU
// thread, 256 a block, blocks one after another: gpu.barrier is a
// std::barrier of the block, a shuffle a store and a load of the warp's
// slots between two barriers of the warp, workgroup memory one buffer a
// block. Each kernel's result is compared with the CPU runtime's call on
// the same data: max pooling bit for bit (ties and NaNs), the rest within
// 1e-5 relative (oneDNN sums in another order).
//
// The bf16 kernels run as many threads a block as their launch says (128
// for the tensor-core convolutions); emu_mma_bf16 is mma.sync m16n8k16
// with bf16 multiplicands and f32 accumulators, a warp-wide operation: each
// lane publishes its fragment registers, every lane rebuilds the 16×16 A
// and 16×8 B tiles through MmaFragments.h's layout (unit-tested against
// the PTX ISA's tables) and adds its four elements of A·B to its C in f32.
// bf16 results are compared within 2^-7 relative (one bf16 rounding: the
// f32 sums, which differ from oneDNN's in order by ~1e-7, can round to
// the neighbouring bf16 value, at most 2^-7 of the value away); f32 results
// (bf16 products are exact in f32) within 1e-5 as above; bf16 max pooling
// bit for bit.
//
// The f16 kernels (the same _bf16 calls on f16 buffers, --precision=fp16)
// run the same way, their nvvm.mma.sync emu_mma_f16: the same warp-wide
// operation and fragment layout (one function of the two, templated on how
// a 16-bit element widens), f16 elements. The runtime has no f16 calls,
// so the references are its f32 calls on the f16 data widened to f32 (and
// need no bf16 CPU): f16 products are exact in f32, so f32 results agree
// within 1e-5 relative as above; each f16 result within one rounding to
// nearest of its reference, element by element (see cmpF16); max pooling
// bit for bit.
//
//===----------------------------------------------------------------------===//
#include "emulate-grids.h"
#include "nnc/Codegen/GPU/MmaFragments.h"
#include "nnc/Runtime/CPU/CPURuntime.h"
#include <barrier>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <random>
#include <thread>
#include <vector>
using i64 = int64_t;
#include <memory>
/// A block's workgroup buffers (the largest kernel's) and its warps.
struct Shared {
  alignas(16) float a[16 * 1100];
  alignas(16) float b[16 * 80];
};
struct Warp {
  std::barrier<> bar{32};
  float slot[32];
  uint32_t a[32][4], b[32][2];
};
thread_local std::barrier<> *current;
thread_local Warp *warp;
thread_local int lane;
extern "C" void emu_barrier() { current->arrive_and_wait(); }
extern "C" float emu_shuffle_xor(float v, int32_t offset) {
  warp->slot[lane] = v;
  warp->bar.arrive_and_wait();
  float r = warp->slot[lane ^ offset];
  warp->bar.arrive_and_wait();
  return r;
}
float fromBF16(uint16_t h) {
  uint32_t u = uint32_t(h) << 16;
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}
/// Rounded to nearest even (NaN stays a NaN).
uint16_t toBF16(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  if (std::isnan(f))
    return uint16_t((u >> 16) | 0x40);
  return uint16_t((u + 0x7fff + ((u >> 16) & 1)) >> 16);
}
/// llc keeps bf16 values in f32 registers on this CPU and narrows them
/// through this libgcc (13+) or compiler-rt function, which not every
/// toolchain has; it narrows only values that came from bf16 (exact): the
/// kernels' own roundings are arith.truncf, expanded by arith-expand. The
/// bf16 result goes back in the low half of xmm0 (LLVM's x86-64 ABI for
/// bf16): a float whose bits are the bf16's carries it there.
extern "C" float __truncsfbf2(float f) {
  uint32_t u = toBF16(f);
  float r;
  std::memcpy(&r, &u, 4);
  return r;
}
/// IEEE binary16 (f16), widened exactly.
float fromF16(uint16_t h) {
  uint32_t sign = uint32_t(h & 0x8000) << 16, exp = (h >> 10) & 0x1f,
           mant = h & 0x3ff, u;
  if (exp == 0) { // zero or subnormal: mant · 2^-24, exact in f32
    float f = float(mant) * 0x1p-24f;
    std::memcpy(&u, &f, 4);
    u |= sign;
  } else if (exp == 31) { // infinity, NaN (made quiet, payload kept)
    u = sign | 0x7f800000 | (mant << 13) | (mant ? 0x400000 : 0);
  } else {
    u = sign | ((exp + 127 - 15) << 23) | (mant << 13);
  }
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}
/// Rounded to nearest even, as arith.truncf (LLVM's fptrunc): overflow to
/// infinity, subnormals, a NaN stays a quiet NaN.
uint16_t toF16(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  uint16_t sign = uint16_t((u >> 16) & 0x8000);
  uint32_t a = u & 0x7fffffff;
  if (a > 0x7f800000) // NaN
    return uint16_t(sign | 0x7e00 | ((a >> 13) & 0x3ff));
  if (a >= 0x477ff000) // 65520 and up (half-way past 65504, odd): infinity
    return sign | 0x7c00;
  if (a < 0x38800000) // below 2^-14: a subnormal multiple of 2^-24, exact
    return uint16_t(sign | uint16_t(std::nearbyint(std::fabs(f) * 0x1p24f)));
  a -= (127 - 15) << 23; // rebias; the carry of rounding may bump the exponent
  return uint16_t(sign | ((a + 0xfff + ((a >> 13) & 1)) >> 13));
}
/// llc keeps f16 values in f32 registers too (no F16C on its default CPU),
/// converting through these libgcc (12+) or compiler-rt functions, whose
/// ABI not every toolchain's copy shares: the f16 kernels' every widening
/// (exact) and every rounding of a result (arith.truncf) is one of these
/// calls, defined here. A half goes in (and comes back in) the low 16 bits
/// of xmm0, as the bf16 above. Both agree with this CPU's conversions
/// (vcvtph2ps, vcvtps2ph) on every input, NaNs made quiet.
extern "C" float __extendhfsf2(float h) {
  uint32_t u;
  std::memcpy(&u, &h, 4);
  return fromF16(uint16_t(u));
}
extern "C" float __truncsfhf2(float f) {
  uint32_t u = toF16(f);
  float r;
  std::memcpy(&r, &u, 4);
  return r;
}
thread_local float mmaD[4];
/// mma.sync m16n8k16 row.col with f32 accumulators, 16-bit multiplicands
/// that `widen` makes f32 (exactly): the lane's registers a[4], b[2] and
/// accumulators c[4] in, its four results out in mmaD.
template <float (*widen)(uint16_t)>
void emuMma(const uint32_t (&aRegs)[4], const uint32_t (&bRegs)[2],
            const float (&cs)[4]) {
  using namespace mlir::nnc::mma;
  std::memcpy(warp->a[lane], aRegs, sizeof aRegs);
  std::memcpy(warp->b[lane], bRegs, sizeof bRegs);
  warp->bar.arrive_and_wait();
  // Element e of a fragment is the (e % 2)-th half of register e / 2.
  auto half = [](uint32_t r, i64 e) { return widen(uint16_t(r >> (16 * (e % 2)))); };
  float A[kM][kK], B[kK][kN];
  for (i64 l = 0; l < 32; ++l) {
    for (i64 e = 0; e < elementsPerLane(Fragment::A); ++e) {
      auto c = fragmentCoord<i64>(Fragment::A, l, e);
      A[c.row][c.col] = half(warp->a[l][e / 2], e);
    }
    for (i64 e = 0; e < elementsPerLane(Fragment::B); ++e) {
      auto c = fragmentCoord<i64>(Fragment::B, l, e);
      B[c.row][c.col] = half(warp->b[l][e / 2], e);
    }
  }
  for (i64 i = 0; i < 4; ++i) {
    auto c = fragmentCoord<i64>(Fragment::C, i64(lane), i);
    float sum = cs[i];
    for (i64 k = 0; k < kK; ++k)
      sum += A[c.row][k] * B[k][c.col];
    mmaD[i] = sum;
  }
  warp->bar.arrive_and_wait();
}
extern "C" void emu_mma_bf16(uint32_t a0, uint32_t a1, uint32_t a2,
                             uint32_t a3, uint32_t b0, uint32_t b1, float c0,
                             float c1, float c2, float c3) {
  emuMma<fromBF16>({a0, a1, a2, a3}, {b0, b1}, {c0, c1, c2, c3});
}
/// nvvm.mma.sync's vector<2xf16> registers come as their bits (element 0
/// in the low half: emulate_kernels.py's llvm.bitcast).
extern "C" void emu_mma_f16(uint32_t a0, uint32_t a1, uint32_t a2,
                            uint32_t a3, uint32_t b0, uint32_t b1, float c0,
                            float c1, float c2, float c3) {
  emuMma<fromF16>({a0, a1, a2, a3}, {b0, b1}, {c0, c1, c2, c3});
}
extern "C" float emu_mma_d0() { return mmaD[0]; }
extern "C" float emu_mma_d1() { return mmaD[1]; }
extern "C" float emu_mma_d2() { return mmaD[2]; }
extern "C" float emu_mma_d3() { return mmaD[3]; }
#define K2(name) extern "C" void name(float *, float *, i64, i64, i64, i64);
#define K3(name)                                                               \
  extern "C" void name(float *, float *, float *, i64, i64, i64, i64);
#define C3(name)                                                               \
  extern "C" void name(float *, float *, float *, float *, float *, i64, i64,  \
                       i64, i64);
#define C4(name)                                                               \
  extern "C" void name(float *, float *, float *, float *, float *, float *,   \
                       i64, i64, i64, i64);
C4(conv_0)
C3(conv_1) C3(conv_2) K2(pool_3) K3(pool_4) K2(pool_5) K2(pool_6) C3(conv_7)
    C3(conv_8) C3(conv_9) extern "C" void conv_10(float *, float *, float *,
                                                  float *, i64, i64, i64, i64);
// The bf16 kernels: buffers of any type, then the block and thread ids.
using Ptr = void *;
extern "C" {
void conv_11(Ptr, Ptr, Ptr, Ptr, Ptr, Ptr, i64, i64, i64, i64);
void conv_12(Ptr, Ptr, Ptr, Ptr, Ptr, i64, i64, i64, i64);
void conv_13(Ptr, Ptr, Ptr, Ptr, Ptr, i64, i64, i64, i64);
void conv_14(Ptr, Ptr, Ptr, Ptr, Ptr, i64, i64, i64, i64);
void conv_15(Ptr, Ptr, Ptr, Ptr, i64, i64, i64, i64);
void pool_16(Ptr, Ptr, i64, i64, i64, i64);
void pool_17(Ptr, Ptr, Ptr, i64, i64, i64, i64);
void pool_18(Ptr, Ptr, i64, i64, i64, i64);
void pool_19(Ptr, Ptr, i64, i64, i64, i64);
// The f16 kernels, the same calls.
void conv_20(Ptr, Ptr, Ptr, Ptr, Ptr, Ptr, i64, i64, i64, i64);
void conv_21(Ptr, Ptr, Ptr, Ptr, Ptr, i64, i64, i64, i64);
void conv_22(Ptr, Ptr, Ptr, Ptr, Ptr, i64, i64, i64, i64);
void conv_23(Ptr, Ptr, Ptr, Ptr, Ptr, i64, i64, i64, i64);
void conv_24(Ptr, Ptr, Ptr, Ptr, i64, i64, i64, i64);
void pool_25(Ptr, Ptr, i64, i64, i64, i64);
void pool_26(Ptr, Ptr, Ptr, i64, i64, i64, i64);
void pool_27(Ptr, Ptr, i64, i64, i64, i64);
void pool_28(Ptr, Ptr, i64, i64, i64, i64);
}

template <class F>
void grid(i64 gx, i64 gy, i64 gz, F body, i64 threads = 256) {
  for (i64 z = 0; z < gz; ++z)
    for (i64 y = 0; y < gy; ++y)
      for (i64 x = 0; x < gx; ++x) {
        std::barrier<> bar(threads);
        auto shared = std::make_unique<Shared>();
        auto warps = std::make_unique<Warp[]>(8);
        std::vector<std::thread> ts;
        for (i64 t = 0; t < threads; ++t)
          ts.emplace_back([&, t] {
            current = &bar, warp = &warps[t / 32], lane = int(t % 32);
            body(*shared, x, y, z, t);
          });
        for (auto &t : ts)
          t.join();
      }
}
std::vector<float> rnd(size_t n, std::mt19937 &r, bool ints = false) {
  std::normal_distribution<float> d;
  std::uniform_int_distribution<int> i(0, 2);
  std::vector<float> v(n);
  for (auto &x : v)
    x = ints ? float(i(r)) : d(r);
  return v;
}
int failures = 0;
void cmp(const char *what, const std::vector<float> &got,
         const std::vector<float> &ref, bool exact, double tolerance = 1e-5) {
  double num = 0, den = 0;
  size_t diff = 0;
  for (size_t i = 0; i < got.size(); ++i) {
    bool same = std::memcmp(&got[i], &ref[i], 4) == 0 ||
                (std::isnan(got[i]) && std::isnan(ref[i]));
    diff += !same;
    if (!std::isnan(ref[i])) {
      num += (got[i] - ref[i]) * double(got[i] - ref[i]);
      den += double(ref[i]) * ref[i];
    }
  }
  double rel = std::sqrt(num / std::max(den, 1e-30));
  bool ok = exact ? diff == 0 : rel <= tolerance;
  failures += !ok;
  std::printf("%-34s %zu elements, %zu differ in bits, rel err %.2e  %s\n",
              what, got.size(), diff, rel, ok ? "ok" : "MISMATCH");
}
/// Values rounded to a 16-bit type (bf16, f16): the bits, and their f32
/// values.
template <float (*widen)(uint16_t), uint16_t (*narrow)(float)>
struct HalfData {
  std::vector<uint16_t> bits;
  std::vector<float> values;
  explicit HalfData(std::vector<float> v) : values(std::move(v)) {
    for (float &x : values) {
      bits.push_back(narrow(x));
      x = widen(bits.back());
    }
  }
  explicit HalfData(size_t n) : bits(n), values(n) {}
  std::vector<float> &widened() {
    for (size_t i = 0; i < bits.size(); ++i)
      values[i] = widen(bits[i]);
    return values;
  }
};
using BF16Data = HalfData<fromBF16, toBF16>;
using F16Data = HalfData<fromF16, toF16>;
void cmp(const char *what, BF16Data &got, BF16Data &ref, bool exact) {
  cmp(what, got.widened(), ref.widened(), exact, /*tolerance=*/0x1p-7);
}
/// An f16 result against its reference `ref`, the runtime's f32 call on
/// the same data widened, element by element. `exact` (max pooling): the
/// bits of ref rounded to f16 (the f16 value picked, or a sum of small
/// integers; NaN for NaN). Otherwise those bits, or (the kernel summing in
/// another order) within one rounding to nearest of ref:
///   |got - ref| <= 2^-11 |ref| + 2^-25 + 2 (n + 2) 2^-24 mag,
/// `mag` the same call on the data's absolute values (each element's sum
/// of its terms' magnitudes), `n` the most terms an element sums (a bias
/// one of them). The kernel rounds its f32 value s to f16 once:
/// |got - s| <= 2^-11 |s| (half an ulp), or 2^-25 among subnormals
/// (spacing 2^-24). s and ref sum the same terms (f16 products are exact
/// in f32) in other orders, each within n 2^-24 mag of the exact sum
/// whatever the order (Higham's bound); a slope's product, a mean's
/// division or reciprocal, and 2^-11 of that difference, 2 2^-24 mag more.
/// That floor is what holds near zero, where cancellation leaves the
/// relative bound none. Not 2^-10 (an ulp): a result truncated, or rounded
/// twice, would pass that.
void cmpF16(const char *what, F16Data &got, const std::vector<float> &ref,
            bool exact, const std::vector<float> &mag = {}, i64 n = 0) {
  std::vector<float> &g = got.widened();
  double num = 0, den = 0, worst = 0;
  size_t diff = 0, out = 0;
  for (size_t i = 0; i < g.size(); ++i) {
    bool nan = std::isnan(ref[i]);
    bool same = got.bits[i] == toF16(ref[i]) || (nan && std::isnan(g[i]));
    diff += !same;
    if (exact || nan) {
      out += nan != std::isnan(g[i]);
      continue;
    }
    double err = std::fabs(double(g[i]) - ref[i]);
    num += err * err;
    den += double(ref[i]) * ref[i];
    if (same) // ref rounded to nearest, which can be a tie's half ulp away
      continue;
    double bound = 0x1p-11 * std::fabs(ref[i]) + 0x1p-25 +
                   2.0 * double(n + 2) * 0x1p-24 * mag[i];
    out += !(err <= bound);
    worst = std::max(worst, err / bound);
  }
  double rel = std::sqrt(num / std::max(den, 1e-30));
  bool ok = exact ? diff == 0 : out == 0;
  failures += !ok;
  std::printf("%-34s %zu elements, %zu differ in bits, rel err %.2e, "
              "of those %zu out of bound (worst %.2f of it)  %s\n",
              what, g.size(), diff, rel, out, worst,
              ok ? "ok" : "MISMATCH");
}
std::vector<float> absolute(std::vector<float> v) {
  for (float &x : v)
    x = std::fabs(x);
  return v;
}

/// RUN(name, operands...) runs 16-bit kernel `name` (its buffers, then
/// the block and thread ids) on its launch's grid and threads; operands
/// `sa` and `sb` are the block's workgroup buffers.
template <class F> void run(i64 gx, i64 gy, i64 gz, i64 threads, F kernel) {
  grid(
      gx, gy, gz,
      [&](Shared &s, i64 bx, i64 by, i64 bz, i64 t) {
        kernel(s.a, s.b, bx, by, bz, t);
      },
      threads);
}
#define RUN(name, ...)                                                         \
  run(GRID_##name, BLOCK_##name,                                               \
      [&](Ptr sa, Ptr sb, i64 bx, i64 by, i64 bz, i64 t) {                     \
        (void)sa, (void)sb;                                                    \
        name(__VA_ARGS__, bx, by, bz, t);                                      \
      })

/// The bf16 calls (emulate-kernels.mlir's @bf16) against the CPU runtime's
/// bf16 calls on the same bf16 data.
void bf16Kernels(std::mt19937 &r) {
  { // geometry 1: groups 2, stride 2x3, padding (1,0,2,1), bias, leaky relu
    i64 g[18] = {3, 4, 9, 8, 6, 3, 2, 5, 3, 2, 3, 1, 0, 2, 1, 1, 1, 2};
    BF16Data x(rnd(3 * 4 * 9 * 8, r)), w(rnd(6 * 2 * 3 * 2, r));
    auto b = rnd(6, r);
    BF16Data y(3 * 6 * 5 * 3), yr(y.bits.size());
    RUN(conv_11, x.bits.data(), w.bits.data(), b.data(), y.bits.data(), sa,
        sb);
    nncrt_conv2d_forward_bf16(x.bits.data(), w.bits.data(), b.data(),
                              yr.bits.data(), g[0], g[1], g[2], g[3], g[4],
                              g[5], g[6], g[7], g[8], g[9], g[10], g[11], g[12],
                              g[13], g[14], g[15], g[16], g[17],
                              NNCRT_ACTIVATION_LEAKY_RELU, 0.1f,
                              NNCRT_TYPE_BF16);
    cmp("bf16 conv forward (groups, leaky)", y, yr, false);
  }
  { // geometry 2: 40 -> 36 channels, stride 2, padding 1, relu
    i64 g[18] = {5, 40, 7, 7, 36, 3, 3, 4, 4, 2, 2, 1, 1, 1, 1, 1, 1, 1};
    BF16Data x(rnd(5 * 40 * 49, r)), w(rnd(36 * 40 * 9, r));
    BF16Data y(5 * 36 * 16), yr(y.bits.size()), dx(x.bits.size()),
        dxr(x.bits.size());
    std::vector<float> dw(w.bits.size()), dwr(w.bits.size());
    RUN(conv_12, x.bits.data(), w.bits.data(), y.bits.data(), sa, sb);
    nncrt_conv2d_forward_bf16(x.bits.data(), w.bits.data(), nullptr,
                              yr.bits.data(), g[0], g[1], g[2], g[3], g[4],
                              g[5], g[6], g[7], g[8], g[9], g[10], g[11], g[12],
                              g[13], g[14], g[15], g[16], g[17],
                              NNCRT_ACTIVATION_RELU, 0.0f, NNCRT_TYPE_BF16);
    cmp("bf16 conv forward (tensor cores)", y, yr, false);
    // The gradients take the reference's y as dy.
    RUN(conv_13, yr.bits.data(), w.bits.data(), dx.bits.data(), sa, sb);
    nncrt_conv2d_backward_data_bf16(
        yr.bits.data(), w.bits.data(), dxr.bits.data(), g[0], g[1], g[2], g[3],
        g[4], g[5], g[6], g[7], g[8], g[9], g[10], g[11], g[12], g[13], g[14],
        g[15], g[16], g[17], NNCRT_TYPE_BF16);
    cmp("bf16 conv backward data", dx, dxr, false);
    RUN(conv_14, x.bits.data(), yr.bits.data(), dw.data(), sa, sb);
    nncrt_conv2d_backward_weights_bf16(
        x.bits.data(), yr.bits.data(), dwr.data(), g[0], g[1], g[2], g[3],
        g[4], g[5], g[6], g[7], g[8], g[9], g[10], g[11], g[12], g[13], g[14],
        g[15], g[16], g[17], NNCRT_TYPE_F32);
    cmp("bf16 conv backward weights (f32)", dw, dwr, false);
  }
  { // a weight gradient over 16·16·16 pixels: a block per element of dw
    i64 g[18] = {16, 2, 16, 16, 4, 3, 3, 16, 16, 1, 1, 1, 1, 1, 1, 1, 1, 1};
    BF16Data x(rnd(16 * 2 * 256, r)), dy(rnd(16 * 4 * 256, r));
    std::vector<float> dw(4 * 2 * 9), dwr(dw.size());
    RUN(conv_15, x.bits.data(), dy.bits.data(), dw.data(), sa);
    nncrt_conv2d_backward_weights_bf16(
        x.bits.data(), dy.bits.data(), dwr.data(), g[0], g[1], g[2], g[3],
        g[4], g[5], g[6], g[7], g[8], g[9], g[10], g[11], g[12], g[13], g[14],
        g[15], g[16], g[17], NNCRT_TYPE_F32);
    cmp("bf16 conv backward weights (per element)", dw, dwr, false);
  }
  { // pooling on ties (values 0..2) and NaNs, as the f32 kernels
    auto v = rnd(3 * 6 * 5 * 3, r, true);
    v[4] = v[7] = v[20] = NAN;
    BF16Data x(v);
    i64 P1[14] = {3, 6, 5, 3, 2, 1, 3, 3, 2, 2, 0, 0, 0, 0};
    BF16Data p(3 * 6 * 2), pr(p.bits.size()), dp(x.bits.size()),
        dpr(x.bits.size());
    RUN(pool_16, x.bits.data(), p.bits.data());
    nncrt_pool2d_forward_bf16(x.bits.data(), pr.bits.data(), NNCRT_POOL_MAX,
                              P1[0], P1[1], P1[2], P1[3], P1[4], P1[5], P1[6],
                              P1[7], P1[8], P1[9], P1[10], P1[11], P1[12],
                              P1[13]);
    cmp("bf16 max pool forward (ties, NaN)", p, pr, true);
    // The forward's output (NaNs included) as the gradient.
    RUN(pool_17, x.bits.data(), p.bits.data(), dp.bits.data());
    nncrt_pool2d_backward_bf16(x.bits.data(), p.bits.data(), dpr.bits.data(),
                               NNCRT_POOL_MAX, P1[0], P1[1], P1[2], P1[3],
                               P1[4], P1[5], P1[6], P1[7], P1[8], P1[9],
                               P1[10], P1[11], P1[12], P1[13]);
    cmp("bf16 max pool backward (overlapping)", dp, dpr, true);
    i64 P2[14] = {3, 6, 5, 3, 3, 2, 3, 3, 2, 2, 1, 1, 1, 1};
    BF16Data xa(rnd(x.bits.size(), r));
    BF16Data q(3 * 6 * 3 * 2), qr(q.bits.size()), dq(x.bits.size()),
        dqr(x.bits.size());
    RUN(pool_18, xa.bits.data(), q.bits.data());
    nncrt_pool2d_forward_bf16(xa.bits.data(), qr.bits.data(),
                              NNCRT_POOL_AVG_EXCLUDE_PAD, P2[0], P2[1], P2[2],
                              P2[3], P2[4], P2[5], P2[6], P2[7], P2[8], P2[9],
                              P2[10], P2[11], P2[12], P2[13]);
    cmp("bf16 avg pool forward (exclude pad)", q, qr, false);
    RUN(pool_19, qr.bits.data(), dq.bits.data());
    nncrt_pool2d_backward_bf16(nullptr, qr.bits.data(), dqr.bits.data(),
                               NNCRT_POOL_AVG_EXCLUDE_PAD, P2[0], P2[1], P2[2],
                               P2[3], P2[4], P2[5], P2[6], P2[7], P2[8], P2[9],
                               P2[10], P2[11], P2[12], P2[13]);
    cmp("bf16 avg pool backward (exclude pad)", dq, dqr, false);
  }
}

/// The f16 calls (emulate-kernels.mlir's @f16, the same calls as @bf16 on
/// f16 buffers) against the CPU runtime's f32 calls on the same f16 data
/// widened (the runtime has no f16 calls).
void f16Kernels(std::mt19937 &r) {
  { // geometry 1: groups 2, stride 2x3, padding (1,0,2,1), bias, leaky relu
    i64 g[18] = {3, 4, 9, 8, 6, 3, 2, 5, 3, 2, 3, 1, 0, 2, 1, 1, 1, 2};
    F16Data x(rnd(3 * 4 * 9 * 8, r)), w(rnd(6 * 2 * 3 * 2, r));
    auto b = rnd(6, r);
    F16Data y(3 * 6 * 5 * 3);
    std::vector<float> yr(y.bits.size()), ym(y.bits.size());
    RUN(conv_20, x.bits.data(), w.bits.data(), b.data(), y.bits.data(), sa,
        sb);
    nncrt_conv2d_forward(x.values.data(), w.values.data(), b.data(), yr.data(),
                         g[0], g[1], g[2], g[3], g[4], g[5], g[6], g[7], g[8],
                         g[9], g[10], g[11], g[12], g[13], g[14], g[15], g[16],
                         g[17], NNCRT_ACTIVATION_LEAKY_RELU, 0.1f);
    nncrt_conv2d_forward(absolute(x.values).data(), absolute(w.values).data(),
                         absolute(b).data(), ym.data(), g[0], g[1], g[2], g[3],
                         g[4], g[5], g[6], g[7], g[8], g[9], g[10], g[11],
                         g[12], g[13], g[14], g[15], g[16], g[17],
                         NNCRT_ACTIVATION_NONE, 0.0f);
    cmpF16("f16 conv forward (groups, leaky)", y, yr, false, ym,
           g[1] / g[17] * g[5] * g[6] + 1);
  }
  { // geometry 2: 40 -> 36 channels, stride 2, padding 1, relu
    i64 g[18] = {5, 40, 7, 7, 36, 3, 3, 4, 4, 2, 2, 1, 1, 1, 1, 1, 1, 1};
    F16Data x(rnd(5 * 40 * 49, r)), w(rnd(36 * 40 * 9, r));
    F16Data y(5 * 36 * 16), dx(x.bits.size());
    std::vector<float> yr(y.bits.size()), ym(y.bits.size()),
        dxr(x.bits.size()), dxm(x.bits.size()), dw(w.bits.size()),
        dwr(w.bits.size());
    RUN(conv_21, x.bits.data(), w.bits.data(), y.bits.data(), sa, sb);
    nncrt_conv2d_forward(x.values.data(), w.values.data(), nullptr, yr.data(),
                         g[0], g[1], g[2], g[3], g[4], g[5], g[6], g[7], g[8],
                         g[9], g[10], g[11], g[12], g[13], g[14], g[15], g[16],
                         g[17], NNCRT_ACTIVATION_RELU, 0.0f);
    nncrt_conv2d_forward(absolute(x.values).data(), absolute(w.values).data(),
                         nullptr, ym.data(), g[0], g[1], g[2], g[3], g[4],
                         g[5], g[6], g[7], g[8], g[9], g[10], g[11], g[12],
                         g[13], g[14], g[15], g[16], g[17],
                         NNCRT_ACTIVATION_NONE, 0.0f);
    cmpF16("f16 conv forward (tensor cores)", y, yr, false, ym,
           g[1] / g[17] * g[5] * g[6]);
    // The gradients take the reference's y, rounded to f16, as dy.
    F16Data dy(yr);
    RUN(conv_22, dy.bits.data(), w.bits.data(), dx.bits.data(), sa, sb);
    nncrt_conv2d_backward_data(dy.values.data(), w.values.data(), dxr.data(),
                               g[0], g[1], g[2], g[3], g[4], g[5], g[6], g[7],
                               g[8], g[9], g[10], g[11], g[12], g[13], g[14],
                               g[15], g[16], g[17]);
    nncrt_conv2d_backward_data(absolute(dy.values).data(),
                               absolute(w.values).data(), dxm.data(), g[0],
                               g[1], g[2], g[3], g[4], g[5], g[6], g[7], g[8],
                               g[9], g[10], g[11], g[12], g[13], g[14], g[15],
                               g[16], g[17]);
    cmpF16("f16 conv backward data", dx, dxr, false, dxm,
           g[4] / g[17] * g[5] * g[6]);
    RUN(conv_23, x.bits.data(), dy.bits.data(), dw.data(), sa, sb);
    nncrt_conv2d_backward_weights(x.values.data(), dy.values.data(),
                                  dwr.data(), g[0], g[1], g[2], g[3], g[4],
                                  g[5], g[6], g[7], g[8], g[9], g[10], g[11],
                                  g[12], g[13], g[14], g[15], g[16], g[17]);
    cmp("f16 conv backward weights (f32)", dw, dwr, false);
  }
  { // a weight gradient over 16·16·16 pixels: a block per element of dw
    i64 g[18] = {16, 2, 16, 16, 4, 3, 3, 16, 16, 1, 1, 1, 1, 1, 1, 1, 1, 1};
    F16Data x(rnd(16 * 2 * 256, r)), dy(rnd(16 * 4 * 256, r));
    std::vector<float> dw(4 * 2 * 9), dwr(dw.size());
    RUN(conv_24, x.bits.data(), dy.bits.data(), dw.data(), sa);
    nncrt_conv2d_backward_weights(x.values.data(), dy.values.data(),
                                  dwr.data(), g[0], g[1], g[2], g[3], g[4],
                                  g[5], g[6], g[7], g[8], g[9], g[10], g[11],
                                  g[12], g[13], g[14], g[15], g[16], g[17]);
    cmp("f16 conv backward weights (per element)", dw, dwr, false);
  }
  { // pooling on ties (values 0..2) and NaNs, as the f32 kernels
    auto v = rnd(3 * 6 * 5 * 3, r, true);
    v[4] = v[7] = v[20] = NAN;
    F16Data x(v);
    i64 P1[14] = {3, 6, 5, 3, 2, 1, 3, 3, 2, 2, 0, 0, 0, 0};
    F16Data p(3 * 6 * 2), dp(x.bits.size());
    std::vector<float> pr(p.bits.size()), dpr(x.bits.size());
    RUN(pool_25, x.bits.data(), p.bits.data());
    nncrt_pool2d_forward(x.values.data(), pr.data(), NNCRT_POOL_MAX, P1[0],
                         P1[1], P1[2], P1[3], P1[4], P1[5], P1[6], P1[7], P1[8],
                         P1[9], P1[10], P1[11], P1[12], P1[13]);
    cmpF16("f16 max pool forward (ties, NaN)", p, pr, true);
    // The forward's output (NaNs included) as the gradient.
    RUN(pool_26, x.bits.data(), p.bits.data(), dp.bits.data());
    nncrt_pool2d_backward(x.values.data(), p.widened().data(), dpr.data(),
                          NNCRT_POOL_MAX, P1[0], P1[1], P1[2], P1[3], P1[4],
                          P1[5], P1[6], P1[7], P1[8], P1[9], P1[10], P1[11],
                          P1[12], P1[13]);
    cmpF16("f16 max pool backward (overlapping)", dp, dpr, true);
    i64 P2[14] = {3, 6, 5, 3, 3, 2, 3, 3, 2, 2, 1, 1, 1, 1};
    F16Data xa(rnd(x.bits.size(), r));
    F16Data q(3 * 6 * 3 * 2), dq(x.bits.size());
    std::vector<float> qr(q.bits.size()), qm(q.bits.size()),
        dqr(x.bits.size()), dqm(x.bits.size());
    RUN(pool_27, xa.bits.data(), q.bits.data());
    nncrt_pool2d_forward(xa.values.data(), qr.data(),
                         NNCRT_POOL_AVG_EXCLUDE_PAD, P2[0], P2[1], P2[2],
                         P2[3], P2[4], P2[5], P2[6], P2[7], P2[8], P2[9],
                         P2[10], P2[11], P2[12], P2[13]);
    nncrt_pool2d_forward(absolute(xa.values).data(), qm.data(),
                         NNCRT_POOL_AVG_EXCLUDE_PAD, P2[0], P2[1], P2[2],
                         P2[3], P2[4], P2[5], P2[6], P2[7], P2[8], P2[9],
                         P2[10], P2[11], P2[12], P2[13]);
    cmpF16("f16 avg pool forward (exclude pad)", q, qr, false, qm,
           P2[4] * P2[5]);
    // The reference's output, rounded to f16, as the gradient: each
    // element of dx sums at most KH·KW windows' shares.
    F16Data dqy(qr);
    RUN(pool_28, dqy.bits.data(), dq.bits.data());
    nncrt_pool2d_backward(nullptr, dqy.values.data(), dqr.data(),
                          NNCRT_POOL_AVG_EXCLUDE_PAD, P2[0], P2[1], P2[2],
                          P2[3], P2[4], P2[5], P2[6], P2[7], P2[8], P2[9],
                          P2[10], P2[11], P2[12], P2[13]);
    nncrt_pool2d_backward(nullptr, absolute(dqy.values).data(), dqm.data(),
                          NNCRT_POOL_AVG_EXCLUDE_PAD, P2[0], P2[1], P2[2],
                          P2[3], P2[4], P2[5], P2[6], P2[7], P2[8], P2[9],
                          P2[10], P2[11], P2[12], P2[13]);
    cmpF16("f16 avg pool backward (exclude pad)", dq, dqr, false, dqm,
           P2[4] * P2[5]);
  }
}
#undef RUN

// `emulate` runs the f32 kernels; `emulate bf16` the bf16 ones, whose
// references need a CPU with bf16 (the runtime refuses emulated bf16);
// `emulate f16` the f16 ones (f32 references, any CPU).
int main(int argc, char **argv) {
  std::mt19937 r(7);
  if (argc > 1 && std::strcmp(argv[1], "bf16") == 0) {
    bf16Kernels(r);
    std::printf("%s\n", failures ? "FAILED"
                                  : "all bf16 kernels match the CPU runtime");
    return failures != 0;
  }
  if (argc > 1 && std::strcmp(argv[1], "f16") == 0) {
    f16Kernels(r);
    std::printf("%s\n", failures ? "FAILED"
                                  : "all f16 kernels match the CPU runtime");
    return failures != 0;
  }
  { // geometry 1: groups 2, stride 2x3, padding (1,0,2,1), bias, leaky relu
    i64 g[18] = {3, 4, 9, 8, 6, 3, 2, 5, 3, 2, 3, 1, 0, 2, 1, 1, 1, 2};
    auto x = rnd(3 * 4 * 9 * 8, r), w = rnd(6 * 2 * 3 * 2, r), b = rnd(6, r),
         dy = rnd(3 * 6 * 5 * 3, r);
    std::vector<float> y(dy.size()), yr(dy.size()), dx(x.size()), dxr(x.size()),
        dw(w.size()), dwr(w.size());
    grid(GRID_conv_0, [&](Shared &s, i64 bx, i64 by, i64 bz, i64 t) {
      conv_0(x.data(), w.data(), b.data(), y.data(), s.a, s.b, bx, by, bz, t);
    });
    nncrt_conv2d_forward(x.data(), w.data(), b.data(), yr.data(), g[0], g[1],
                         g[2], g[3], g[4], g[5], g[6], g[7], g[8], g[9], g[10],
                         g[11], g[12], g[13], g[14], g[15], g[16], g[17],
                         NNCRT_ACTIVATION_LEAKY_RELU, 0.1f);
    cmp("conv forward (groups, leaky)", y, yr, false);
    grid(GRID_conv_1, [&](Shared &s, i64 bx, i64 by, i64 bz, i64 t) {
      conv_1(dy.data(), w.data(), dx.data(), s.a, s.b, bx, by, bz, t);
    });
    nncrt_conv2d_backward_data(dy.data(), w.data(), dxr.data(), g[0], g[1],
                               g[2], g[3], g[4], g[5], g[6], g[7], g[8], g[9],
                               g[10], g[11], g[12], g[13], g[14], g[15], g[16],
                               g[17]);
    cmp("conv backward data", dx, dxr, false);
    grid(GRID_conv_2, [&](Shared &s, i64 bx, i64 by, i64 bz, i64 t) {
      conv_2(x.data(), dy.data(), dw.data(), s.a, s.b, bx, by, bz, t);
    });
    nncrt_conv2d_backward_weights(x.data(), dy.data(), dwr.data(), g[0], g[1],
                                  g[2], g[3], g[4], g[5], g[6], g[7], g[8],
                                  g[9], g[10], g[11], g[12], g[13], g[14],
                                  g[15], g[16], g[17]);
    cmp("conv backward weights", dw, dwr, false);
  }
  { // pooling on [3, 6, 5, 3] of ties (values 0..2) and NaNs
    auto xin = rnd(3 * 6 * 5 * 3, r, true);
    xin[4] = NAN;
    xin[7] = NAN;
    xin[20] = NAN;
    i64 P1[14] = {3, 6, 5, 3, 2, 1, 3, 3, 2, 2, 0, 0, 0, 0};
    std::vector<float> p(3 * 6 * 2 * 1), pr(p.size()), dp(xin.size()),
        dpr(xin.size());
    auto dpy = rnd(p.size(), r);
    grid(GRID_pool_3, [&](Shared &, i64 bx, i64 by, i64 bz, i64 t) {
      pool_3(xin.data(), p.data(), bx, by, bz, t);
    });
    nncrt_pool2d_forward(xin.data(), pr.data(), NNCRT_POOL_MAX, P1[0], P1[1],
                         P1[2], P1[3], P1[4], P1[5], P1[6], P1[7], P1[8], P1[9],
                         P1[10], P1[11], P1[12], P1[13]);
    cmp("max pool forward (ties, NaN)", p, pr, true);
    grid(GRID_pool_4, [&](Shared &, i64 bx, i64 by, i64 bz, i64 t) {
      pool_4(xin.data(), dpy.data(), dp.data(), bx, by, bz, t);
    });
    nncrt_pool2d_backward(xin.data(), dpy.data(), dpr.data(), NNCRT_POOL_MAX,
                          P1[0], P1[1], P1[2], P1[3], P1[4], P1[5], P1[6],
                          P1[7], P1[8], P1[9], P1[10], P1[11], P1[12], P1[13]);
    cmp("max pool backward (overlapping)", dp, dpr, true);
    i64 P2[14] = {3, 6, 5, 3, 3, 2, 3, 3, 2, 2, 1, 1, 1, 1};
    auto xa = rnd(xin.size(), r);
    std::vector<float> q(3 * 6 * 3 * 2), qr(q.size()), dq(xin.size()),
        dqr(xin.size());
    auto dqy = rnd(q.size(), r);
    grid(GRID_pool_5, [&](Shared &, i64 bx, i64 by, i64 bz, i64 t) {
      pool_5(xa.data(), q.data(), bx, by, bz, t);
    });
    nncrt_pool2d_forward(xa.data(), qr.data(), NNCRT_POOL_AVG_EXCLUDE_PAD,
                         P2[0], P2[1], P2[2], P2[3], P2[4], P2[5], P2[6], P2[7],
                         P2[8], P2[9], P2[10], P2[11], P2[12], P2[13]);
    cmp("avg pool forward (exclude pad)", q, qr, false);
    grid(GRID_pool_6, [&](Shared &, i64 bx, i64 by, i64 bz, i64 t) {
      pool_6(dqy.data(), dq.data(), bx, by, bz, t);
    });
    nncrt_pool2d_backward(nullptr, dqy.data(), dqr.data(),
                          NNCRT_POOL_AVG_EXCLUDE_PAD, P2[0], P2[1], P2[2],
                          P2[3], P2[4], P2[5], P2[6], P2[7], P2[8], P2[9],
                          P2[10], P2[11], P2[12], P2[13]);
    cmp("avg pool backward (exclude pad)", dq, dqr, false);
  }
  { // geometry 2: 40 -> 36 channels, stride 2, padding 1, relu, no bias: the
    // 64x64 tile
    i64 g[18] = {5, 40, 7, 7, 36, 3, 3, 4, 4, 2, 2, 1, 1, 1, 1, 1, 1, 1};
    auto x = rnd(5 * 40 * 49, r), w = rnd(36 * 40 * 9, r),
         dy = rnd(5 * 36 * 16, r);
    std::vector<float> y(dy.size()), yr(dy.size()), dx(x.size()), dxr(x.size()),
        dw(w.size()), dwr(w.size());
    grid(GRID_conv_7, [&](Shared &s, i64 bx, i64 by, i64 bz, i64 t) {
      conv_7(x.data(), w.data(), y.data(), s.a, s.b, bx, by, bz, t);
    });
    nncrt_conv2d_forward(x.data(), w.data(), nullptr, yr.data(), g[0], g[1],
                         g[2], g[3], g[4], g[5], g[6], g[7], g[8], g[9], g[10],
                         g[11], g[12], g[13], g[14], g[15], g[16], g[17],
                         NNCRT_ACTIVATION_RELU, 0.0f);
    cmp("conv forward (64x64 tile, relu)", y, yr, false);
    grid(GRID_conv_8, [&](Shared &s, i64 bx, i64 by, i64 bz, i64 t) {
      conv_8(dy.data(), w.data(), dx.data(), s.a, s.b, bx, by, bz, t);
    });
    nncrt_conv2d_backward_data(dy.data(), w.data(), dxr.data(), g[0], g[1],
                               g[2], g[3], g[4], g[5], g[6], g[7], g[8], g[9],
                               g[10], g[11], g[12], g[13], g[14], g[15], g[16],
                               g[17]);
    cmp("conv backward data (stride 2)", dx, dxr, false);
    grid(GRID_conv_9, [&](Shared &s, i64 bx, i64 by, i64 bz, i64 t) {
      conv_9(x.data(), dy.data(), dw.data(), s.a, s.b, bx, by, bz, t);
    });
    nncrt_conv2d_backward_weights(x.data(), dy.data(), dwr.data(), g[0], g[1],
                                  g[2], g[3], g[4], g[5], g[6], g[7], g[8],
                                  g[9], g[10], g[11], g[12], g[13], g[14],
                                  g[15], g[16], g[17]);
    cmp("conv backward weights (n = 360)", dw, dwr, false);
  }
  { // a weight gradient over 16·16·16 pixels: a block per element of dw
    i64 g[18] = {16, 2, 16, 16, 4, 3, 3, 16, 16, 1, 1, 1, 1, 1, 1, 1, 1, 1};
    auto x = rnd(16 * 2 * 256, r), dy = rnd(16 * 4 * 256, r);
    std::vector<float> dw(4 * 2 * 9), dwr(dw.size());
    grid(GRID_conv_10, [&](Shared &s, i64 bx, i64 by, i64 bz, i64 t) {
      conv_10(x.data(), dy.data(), dw.data(), s.a, bx, by, bz, t);
    });
    nncrt_conv2d_backward_weights(x.data(), dy.data(), dwr.data(), g[0], g[1],
                                  g[2], g[3], g[4], g[5], g[6], g[7], g[8],
                                  g[9], g[10], g[11], g[12], g[13], g[14],
                                  g[15], g[16], g[17]);
    cmp("conv backward weights (per element)", dw, dwr, false);
  }
  std::printf("%s\n",
              failures ? "FAILED" : "all kernels match the CPU runtime");
  return failures != 0;
}
