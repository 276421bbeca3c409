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
//===----------------------------------------------------------------------===//
#include "emulate-grids.h"
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

template <class F> void grid(i64 gx, i64 gy, i64 gz, F body) {
  for (i64 z = 0; z < gz; ++z)
    for (i64 y = 0; y < gy; ++y)
      for (i64 x = 0; x < gx; ++x) {
        std::barrier<> bar(256);
        auto shared = std::make_unique<Shared>();
        auto warps = std::make_unique<Warp[]>(8);
        std::vector<std::thread> ts;
        for (i64 t = 0; t < 256; ++t)
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
         const std::vector<float> &ref, bool exact) {
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
  bool ok = exact ? diff == 0 : rel <= 1e-5;
  failures += !ok;
  std::printf("%-34s %zu elements, %zu differ in bits, rel err %.2e  %s\n",
              what, got.size(), diff, rel, ok ? "ok" : "MISMATCH");
}
int main() {
  std::mt19937 r(7);
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
