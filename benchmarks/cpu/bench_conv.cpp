//===- bench_conv.cpp - The runtime's convolutions against oneDNN's -------===//
//
// Part of nnc, under the Apache License v2.0 with LLVM Exceptions.
// See LICENSE for license information.
//
//===----------------------------------------------------------------------===//
///
/// \file
/// Times each convolution and pooling call of the Fashion-MNIST CNN's
/// training step (batch 128) through the runtime's entry points
/// (nncrt_conv2d_*, nncrt_pool2d_*) on plain NCHW buffers, against the same
/// operation as a oneDNN primitive called directly, at its best: every
/// layout of convLayouts or poolLayouts is tried (format_any, where oneDNN
/// picks its blocked layouts, and plain ones), the data is already in the
/// chosen layouts (no reorders timed) and the fastest is kept. Prints
/// milliseconds per call (medians of N calls), the layout and
/// implementation oneDNN picked and direct / nnc: 0.90 or more is the
/// target (docs/Performance.md). A third side, "nnc blk", calls the
/// layout-aware entry points (nncrt_*_layout) with the operands
/// nnc-block-conv-layouts keeps in nChw16c in the compiled CNN step (the
/// row's `layouts`), its result checked against the plain call's bit for
/// bit. The direct primitive works in nnc blk's buffers wherever it chose
/// the same layout, and the two alternate call by call so that machine
/// noise and cache state hit both alike; the plain call runs in blocks of
/// 10 between rounds. Every buffer is 64-byte aligned, as the arena's. The
/// "fwd+bwd" rows time a max pooling's forward and backward together: oneDNN's
/// backward reads a workspace its forward_training wrote (the "fwd" rows
/// time that forward too), nnc's reads x again, so the pair is the fair
/// comparison of the layer. The "idx" rows are the index form a compiled
/// step runs (nnc-max-pool-indices): nnc's forward writes one-byte window
/// positions that its backward reads instead of x
/// (nncrt_maxpool2d_*_indices*), against the same oneDNN primitives.
///
///   bench-conv [--threads=1,2] [--reps=N] [--verbose] [--only=SUBSTRING]
///
/// N (60; at least 40) is rounded up to a multiple of 20. --verbose also
/// prints every layout tried with its time, and each row's largest
/// difference between the sides' results; a difference over 1e-4 of the
/// result's magnitude (or an element one side left unwritten) fails the
/// run. --only runs the rows whose name contains SUBSTRING.
///
//===----------------------------------------------------------------------===//

#include "nnc/Runtime/CPU/CPURuntime.h"

#include <oneapi/dnnl/dnnl.h>
#include <oneapi/dnnl/dnnl_debug.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <memory>
#include <random>
#include <string>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

void ok(dnnl_status_t status, const char *what) {
  if (status == dnnl_success)
    return;
  std::fprintf(stderr, "bench-conv: %s failed with oneDNN status %d\n", what,
               (int)status);
  std::exit(1);
}

/// 64-byte aligned storage, as the arena's buffers and oneDNN's own
/// memories are: malloc's 16-byte alignment splits every AVX-512 access
/// across two cache lines, which costs a memory-bound call (convA) 10-25 %.
template <typename T> struct Aligned64 {
  using value_type = T;
  Aligned64() = default;
  template <typename U> Aligned64(const Aligned64<U> &) {}
  T *allocate(size_t n) {
    size_t bytes = (n * sizeof(T) + 63) / 64 * 64;
    if (void *p = std::aligned_alloc(64, bytes ? bytes : 64))
      return static_cast<T *>(p);
    std::fprintf(stderr, "bench-conv: out of memory\n");
    std::exit(1);
  }
  void deallocate(T *p, size_t) { std::free(p); }
  template <typename U> bool operator==(const Aligned64<U> &) const {
    return true;
  }
  template <typename U> bool operator!=(const Aligned64<U> &) const {
    return false;
  }
};
using Floats = std::vector<float, Aligned64<float>>;
using Bytes = std::vector<uint8_t, Aligned64<uint8_t>>;

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  size_t n = v.size();
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

template <typename F> double millisOf(F &&f) {
  Clock::time_point start = Clock::now();
  f();
  return std::chrono::duration<double, std::milli>(Clock::now() - start)
      .count();
}

Floats randomVector(size_t n, unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  Floats v(n);
  for (float &x : v)
    x = dist(rng);
  return v;
}

//===----------------------------------------------------------------------===//
// The rows
//===----------------------------------------------------------------------===//

enum class Kind {
  ConvForward, // with bias and relu, as nnc fuses them
  ConvBackwardData,
  ConvBackwardWeights,
  PoolForward,
  PoolBackward,
  /// A max pooling's forward then its backward, as a training step runs
  /// them: oneDNN's forward_training writes the workspace its backward
  /// reads, nnc's backward reads x again.
  PoolStep,
  /// The index form: the backward from the positions its forward wrote
  /// (the forward run once before timing), and the pair.
  PoolIndexBackward,
  PoolIndexStep,
};

struct Row {
  const char *name;
  Kind kind;
  // Convolutions: N C H W K, 3x3, stride 1, padding 1 (OH = H, OW = W).
  // Poolings: N C H W, 2x2, stride 2.
  int64_t N, C, H, W, K;
  int32_t pool; // NNCRT_POOL_*
  /// The pointers in nChw16c in the CNN's compiled step (its layouts
  /// argument; the average poolings: everything; a step: its backward's,
  /// whose x and dy are the forward's x and y).
  int32_t layouts;
  bool isConv() const { return kind <= Kind::ConvBackwardWeights; }
  bool isIndexed() const {
    return kind == Kind::PoolIndexBackward || kind == Kind::PoolIndexStep;
  }
  int64_t OH() const { return isConv() ? H : H / 2; }
  int64_t OW() const { return isConv() ? W : W / 2; }
};

const Row rows[] = {
    {"convA fwd+bias+relu", Kind::ConvForward, 128, 1, 28, 28, 32, 0, 8},
    {"convA bwd weights", Kind::ConvBackwardWeights, 128, 1, 28, 28, 32, 0, 2},
    {"convB fwd+bias+relu", Kind::ConvForward, 128, 32, 14, 14, 64, 0, 9},
    {"convB bwd data", Kind::ConvBackwardData, 128, 32, 14, 14, 64, 0, 5},
    {"convB bwd weights", Kind::ConvBackwardWeights, 128, 32, 14, 14, 64, 0, 3},
    {"maxpool 32x28x28 fwd", Kind::PoolForward, 128, 32, 28, 28, 0,
     NNCRT_POOL_MAX, 3},
    {"maxpool 32x28x28 bwd", Kind::PoolBackward, 128, 32, 28, 28, 0,
     NNCRT_POOL_MAX, 7},
    {"maxpool 64x14x14 fwd", Kind::PoolForward, 128, 64, 14, 14, 0,
     NNCRT_POOL_MAX, 1},
    {"maxpool 64x14x14 bwd", Kind::PoolBackward, 128, 64, 14, 14, 0,
     NNCRT_POOL_MAX, 5},
    {"maxpool 32x28 fwd+bwd", Kind::PoolStep, 128, 32, 28, 28, 0,
     NNCRT_POOL_MAX, 7},
    {"maxpool 64x14 fwd+bwd", Kind::PoolStep, 128, 64, 14, 14, 0,
     NNCRT_POOL_MAX, 5},
    {"maxpool 32x28 idx bwd", Kind::PoolIndexBackward, 128, 32, 28, 28, 0,
     NNCRT_POOL_MAX, 7},
    {"maxpool 64x14 idx bwd", Kind::PoolIndexBackward, 128, 64, 14, 14, 0,
     NNCRT_POOL_MAX, 5},
    {"maxpool 32x28 idx f+b", Kind::PoolIndexStep, 128, 32, 28, 28, 0,
     NNCRT_POOL_MAX, 7},
    {"maxpool 64x14 idx f+b", Kind::PoolIndexStep, 128, 64, 14, 14, 0,
     NNCRT_POOL_MAX, 5},
    {"avgpool 32x28x28 fwd", Kind::PoolForward, 128, 32, 28, 28, 0,
     NNCRT_POOL_AVG_INCLUDE_PAD, 3},
    {"avgpool 32x28x28 bwd", Kind::PoolBackward, 128, 32, 28, 28, 0,
     NNCRT_POOL_AVG_INCLUDE_PAD, 7},
    {"avgpool 64x14x14 fwd", Kind::PoolForward, 128, 64, 14, 14, 0,
     NNCRT_POOL_AVG_INCLUDE_PAD, 3},
    {"avgpool 64x14x14 bwd", Kind::PoolBackward, 128, 64, 14, 14, 0,
     NNCRT_POOL_AVG_INCLUDE_PAD, 7},
};

/// [N, C, P] between NCHW and nChw16c.
Floats reorder16(const Floats &v, int64_t N, int64_t C, int64_t P,
                 bool toBlocked) {
  Floats out(v.size());
  for (int64_t n = 0; n < N; ++n)
    for (int64_t c = 0; c < C; ++c)
      for (int64_t p = 0; p < P; ++p) {
        int64_t plain = (n * C + c) * P + p;
        int64_t blocked = ((n * (C / 16) + c / 16) * P + p) * 16 + c % 16;
        if (toBlocked)
          out[blocked] = v[plain];
        else
          out[plain] = v[blocked];
      }
  return out;
}

/// One of nnc blk's buffers, as a direct primitive may share it.
struct SharedBuffer {
  float *data = nullptr;
  bool blocked = false; // nChw16c, else NCHW
  size_t bytes = 0;
};

/// A row's buffers in PyTorch's layouts, shared by both sides: the inputs
/// random, the outputs written by each side in turn.
struct Tensors {
  Floats x, w, bias, dy, out;
  /// The same in the layouts of row.layouts, for the "nnc blk" side.
  Floats bx, bdy, bout;
  /// A step's y, for each side.
  Floats y, by;
  /// The index form's positions, for each side.
  Bytes at, bat;
  bool xBlocked = false, dyBlocked = false, outBlocked = false;

  explicit Tensors(const Row &r) {
    int64_t ch = r.isConv() ? r.K : r.C;
    x = randomVector(r.N * r.C * r.H * r.W, 1);
    dy = randomVector(r.N * ch * r.OH() * r.OW(), 2);
    if (r.isConv()) {
      w = randomVector(r.K * r.C * 9, 3);
      bias = randomVector(r.K, 4);
    }
    switch (r.kind) {
    case Kind::ConvForward:
    case Kind::PoolForward:
      out.resize(dy.size());
      break;
    case Kind::ConvBackwardWeights:
      out.resize(w.size());
      break;
    default:
      out.resize(x.size());
      break;
    }
    // Which pointer is x, dy and the result, by kind.
    int xBit = -1, dyBit = -1, outBit = -1;
    switch (r.kind) {
    case Kind::ConvForward:
      xBit = 0, outBit = 3;
      break;
    case Kind::ConvBackwardData:
      dyBit = 0, outBit = 2;
      break;
    case Kind::ConvBackwardWeights:
      xBit = 0, dyBit = 1;
      break;
    case Kind::PoolForward:
      xBit = 0, outBit = 1;
      break;
    case Kind::PoolBackward:
    case Kind::PoolStep:
    case Kind::PoolIndexBackward:
    case Kind::PoolIndexStep:
      xBit = 0, dyBit = 1, outBit = 2;
      break;
    }
    auto has = [&](int bit) { return bit >= 0 && r.layouts >> bit & 1; };
    bx = has(xBit) ? reorder16(x, r.N, r.C, r.H * r.W, true) : x;
    bdy = has(dyBit) ? reorder16(dy, r.N, ch, r.OH() * r.OW(), true) : dy;
    bout.resize(out.size());
    xBlocked = has(xBit), dyBlocked = has(dyBit), outBlocked = has(outBit);
    if (r.kind == Kind::PoolStep || r.isIndexed())
      y.resize(dy.size()), by.resize(dy.size());
    if (r.isIndexed())
      at.resize(dy.size()), bat.resize(dy.size());
    // The positions a timed index-form backward reads.
    if (r.kind == Kind::PoolIndexBackward) {
      nncrt_maxpool2d_forward_indices(x.data(), y.data(), at.data(), r.N, r.C,
                                      r.H, r.W, r.OH(), r.OW(), 2, 2, 2, 2, 0,
                                      0, 0, 0);
      nncrt_maxpool2d_forward_indices_layout(
          bx.data(), by.data(), bat.data(), r.N, r.C, r.H, r.W, r.OH(), r.OW(),
          2, 2, 2, 2, 0, 0, 0, 0, NNCRT_TYPE_F32, (r.layouts & 3) | 4);
    }
  }

  SharedBuffer sharedX() { return {bx.data(), xBlocked, bx.size() * 4}; }
  SharedBuffer sharedDy() { return {bdy.data(), dyBlocked, bdy.size() * 4}; }
  SharedBuffer sharedOut() {
    return {bout.data(), outBlocked, bout.size() * 4};
  }

  /// bout in NCHW.
  Floats blockedResult(const Row &r) const {
    if (!outBlocked)
      return bout;
    bool input = r.kind == Kind::ConvBackwardData ||
                 r.kind == Kind::PoolBackward || r.kind == Kind::PoolStep ||
                 r.isIndexed();
    int64_t ch = input ? r.C : r.isConv() ? r.K : r.C;
    int64_t P = input ? r.H * r.W : r.OH() * r.OW();
    return reorder16(bout, r.N, ch, P, false);
  }
};

void runNNC(const Row &r, Tensors &t) {
  switch (r.kind) {
  case Kind::ConvForward:
    return nncrt_conv2d_forward(t.x.data(), t.w.data(), t.bias.data(),
                                t.out.data(), r.N, r.C, r.H, r.W, r.K, 3, 3,
                                r.OH(), r.OW(), 1, 1, 1, 1, 1, 1, 1, 1, 1,
                                NNCRT_ACTIVATION_RELU, 0.0f);
  case Kind::ConvBackwardData:
    return nncrt_conv2d_backward_data(t.dy.data(), t.w.data(), t.out.data(),
                                      r.N, r.C, r.H, r.W, r.K, 3, 3, r.OH(),
                                      r.OW(), 1, 1, 1, 1, 1, 1, 1, 1, 1);
  case Kind::ConvBackwardWeights:
    return nncrt_conv2d_backward_weights(t.x.data(), t.dy.data(), t.out.data(),
                                         r.N, r.C, r.H, r.W, r.K, 3, 3, r.OH(),
                                         r.OW(), 1, 1, 1, 1, 1, 1, 1, 1, 1);
  case Kind::PoolForward:
    return nncrt_pool2d_forward(t.x.data(), t.out.data(), r.pool, r.N, r.C, r.H,
                                r.W, r.OH(), r.OW(), 2, 2, 2, 2, 0, 0, 0, 0);
  case Kind::PoolBackward:
    return nncrt_pool2d_backward(t.x.data(), t.dy.data(), t.out.data(), r.pool,
                                 r.N, r.C, r.H, r.W, r.OH(), r.OW(), 2, 2, 2, 2,
                                 0, 0, 0, 0);
  case Kind::PoolStep:
    nncrt_pool2d_forward(t.x.data(), t.y.data(), r.pool, r.N, r.C, r.H, r.W,
                         r.OH(), r.OW(), 2, 2, 2, 2, 0, 0, 0, 0);
    return nncrt_pool2d_backward(t.x.data(), t.dy.data(), t.out.data(), r.pool,
                                 r.N, r.C, r.H, r.W, r.OH(), r.OW(), 2, 2, 2, 2,
                                 0, 0, 0, 0);
  case Kind::PoolIndexStep:
    nncrt_maxpool2d_forward_indices(t.x.data(), t.y.data(), t.at.data(), r.N,
                                    r.C, r.H, r.W, r.OH(), r.OW(), 2, 2, 2, 2,
                                    0, 0, 0, 0);
    [[fallthrough]];
  case Kind::PoolIndexBackward:
    return nncrt_maxpool2d_backward_indices(
        t.at.data(), t.dy.data(), t.out.data(), r.N, r.C, r.H, r.W, r.OH(),
        r.OW(), 2, 2, 2, 2, 0, 0, 0, 0);
  }
}

/// The layout-aware call nnc's compiled CNN step makes for the row.
void runNNCBlocked(const Row &r, Tensors &t) {
  const int32_t f32 = NNCRT_TYPE_F32;
  switch (r.kind) {
  case Kind::ConvForward:
    return nncrt_conv2d_forward_layout(
        t.bx.data(), t.w.data(), t.bias.data(), t.bout.data(), r.N, r.C, r.H,
        r.W, r.K, 3, 3, r.OH(), r.OW(), 1, 1, 1, 1, 1, 1, 1, 1, 1,
        NNCRT_ACTIVATION_RELU, 0.0f, f32, f32, r.layouts);
  case Kind::ConvBackwardData:
    return nncrt_conv2d_backward_data_layout(
        t.bdy.data(), t.w.data(), t.bout.data(), r.N, r.C, r.H, r.W, r.K, 3, 3,
        r.OH(), r.OW(), 1, 1, 1, 1, 1, 1, 1, 1, 1, f32, f32, r.layouts);
  case Kind::ConvBackwardWeights:
    return nncrt_conv2d_backward_weights_layout(
        t.bx.data(), t.bdy.data(), t.bout.data(), r.N, r.C, r.H, r.W, r.K, 3, 3,
        r.OH(), r.OW(), 1, 1, 1, 1, 1, 1, 1, 1, 1, f32, f32, r.layouts);
  case Kind::PoolForward:
    return nncrt_pool2d_forward_layout(t.bx.data(), t.bout.data(), r.pool, r.N,
                                       r.C, r.H, r.W, r.OH(), r.OW(), 2, 2, 2,
                                       2, 0, 0, 0, 0, f32, r.layouts);
  case Kind::PoolBackward:
    return nncrt_pool2d_backward_layout(
        t.bx.data(), t.bdy.data(), t.bout.data(), r.pool, r.N, r.C, r.H, r.W,
        r.OH(), r.OW(), 2, 2, 2, 2, 0, 0, 0, 0, f32, r.layouts);
  case Kind::PoolStep:
    // The forward's x and y are the backward's x and dy: bits 0 and 1.
    nncrt_pool2d_forward_layout(t.bx.data(), t.by.data(), r.pool, r.N, r.C, r.H,
                                r.W, r.OH(), r.OW(), 2, 2, 2, 2, 0, 0, 0, 0,
                                f32, r.layouts & 3);
    return nncrt_pool2d_backward_layout(
        t.bx.data(), t.bdy.data(), t.bout.data(), r.pool, r.N, r.C, r.H, r.W,
        r.OH(), r.OW(), 2, 2, 2, 2, 0, 0, 0, 0, f32, r.layouts);
  case Kind::PoolIndexStep:
    // x, y and the positions (bits 0, 1, 2); the backward's positions, dy
    // and dx (bits 0, 1, 2): the step blocks the positions with the rest.
    nncrt_maxpool2d_forward_indices_layout(
        t.bx.data(), t.by.data(), t.bat.data(), r.N, r.C, r.H, r.W, r.OH(),
        r.OW(), 2, 2, 2, 2, 0, 0, 0, 0, f32, (r.layouts & 3) | 4);
    [[fallthrough]];
  case Kind::PoolIndexBackward:
    return nncrt_maxpool2d_backward_indices_layout(
        t.bat.data(), t.bdy.data(), t.bout.data(), r.N, r.C, r.H, r.W, r.OH(),
        r.OW(), 2, 2, 2, 2, 0, 0, 0, 0, f32, (r.layouts & 6) | 1);
  }
}

//===----------------------------------------------------------------------===//
// The direct primitives
//===----------------------------------------------------------------------===//

/// The layouts a direct primitive's activations are offered in. Weights are
/// always format_any: a framework keeps them in the kernel's layout. A
/// pooling forward does not choose its input's layout, so it gets each
/// concrete one the convolutions may hand it (and its output follows).
struct Layout {
  const char *name;
  dnnl_format_tag_t tag;
};

const Layout convLayouts[] = {
    {"any", dnnl_format_tag_any}, {"nchw", dnnl_nchw}, {"nhwc", dnnl_nhwc}};
const Layout poolLayouts[] = {{"nchw", dnnl_nchw},
                              {"nhwc", dnnl_nhwc},
                              {"nChw16c", dnnl_nChw16c},
                              {"nChw8c", dnnl_nChw8c}};

/// The name of an activation's layout, for the table.
std::string tagName(const dnnl_memory_desc_t *md) {
  for (dnnl_format_tag_t tag :
       {dnnl_nchw, dnnl_nhwc, dnnl_nChw16c, dnnl_nChw8c, dnnl_nChw4c}) {
    dnnl_memory_desc_t plain;
    if (dnnl_memory_desc_init_by_tag(&plain, md->ndims, md->dims, md->data_type,
                                     tag) == dnnl_success &&
        dnnl_memory_desc_equal(&plain, md))
      return dnnl_fmt_tag2str(tag);
  }
  return "blocked";
}

void reorder(dnnl_engine_t engine, dnnl_stream_t stream, dnnl_memory_t from,
             dnnl_memory_t to) {
  const dnnl_memory_desc_t *fromMd, *toMd;
  ok(dnnl_memory_get_memory_desc(from, &fromMd), "querying a memory");
  ok(dnnl_memory_get_memory_desc(to, &toMd), "querying a memory");
  dnnl_primitive_desc_t pd;
  ok(dnnl_reorder_primitive_desc_create(&pd, fromMd, engine, toMd, engine,
                                        nullptr),
     "creating a reorder");
  dnnl_primitive_t p;
  ok(dnnl_primitive_create(&p, pd), "creating a reorder");
  dnnl_exec_arg_t args[2] = {{DNNL_ARG_FROM, from}, {DNNL_ARG_TO, to}};
  ok(dnnl_primitive_execute(p, stream, 2, args), "reordering");
  ok(dnnl_stream_wait(stream), "reordering");
  dnnl_primitive_destroy(p);
  dnnl_primitive_desc_destroy(pd);
}

/// One of a direct primitive's tensors: its argument, where its layout is
/// queried, its plain (NCHW / OIHW) descriptor and, for an input, the
/// values to put in the chosen layout before timing.
struct ArgSpec {
  int arg;
  dnnl_query_t query;
  int index;
  dnnl_memory_desc_t plain;
  const float *init; // null: the result
  /// nnc blk's buffer for the same tensor: the direct primitive works in
  /// it where it chose that layout and it is large enough (nChw16c pads
  /// C), so that both sides touch the same memory (where buffers lie in
  /// memory moved a memory-bound row by up to 15 % between runs).
  SharedBuffer shared = {};
};

/// A created primitive with its tensors in its chosen layouts and its own
/// scratchpad, so that a call is the primitive alone.
struct Direct {
  dnnl_primitive_t primitive = nullptr;
  std::vector<dnnl_exec_arg_t> args;
  std::vector<dnnl_memory_t> owned;
  dnnl_memory_t result = nullptr;
  dnnl_memory_desc_t resultPlain;
  std::string layout, impl;

  Direct() = default;
  Direct(const Direct &) = delete;
  Direct &operator=(const Direct &) = delete;
  ~Direct() {
    for (dnnl_memory_t m : owned)
      dnnl_memory_destroy(m);
    if (primitive)
      dnnl_primitive_destroy(primitive);
  }

  void run(dnnl_stream_t stream) {
    ok(dnnl_primitive_execute(primitive, stream, (int)args.size(), args.data()),
       "executing the direct primitive");
    ok(dnnl_stream_wait(stream), "executing the direct primitive");
  }

  /// The result in the plain layout.
  Floats read(dnnl_engine_t engine, dnnl_stream_t stream) {
    Floats v(dnnl_memory_desc_get_size(&resultPlain) / sizeof(float));
    dnnl_memory_t plain;
    ok(dnnl_memory_create(&plain, &resultPlain, engine, v.data()),
       "creating a memory");
    reorder(engine, stream, result, plain);
    dnnl_memory_destroy(plain);
    return v;
  }
};

/// Builds `pd`'s primitive (taking `pd`) with its tensors; `shared` are
/// extra arguments owned elsewhere (a max pooling backward's workspace).
std::unique_ptr<Direct> buildDirect(dnnl_engine_t engine, dnnl_stream_t stream,
                                    dnnl_primitive_desc_t pd,
                                    const std::vector<ArgSpec> &specs,
                                    std::vector<dnnl_exec_arg_t> shared = {}) {
  auto d = std::make_unique<Direct>();
  const char *impl = nullptr;
  ok(dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &impl),
     "querying the implementation");
  d->impl = impl ? impl : "?";
  ok(dnnl_primitive_create(&d->primitive, pd), "creating the primitive");
  std::string in, out;
  for (const ArgSpec &s : specs) {
    const dnnl_memory_desc_t *md =
        dnnl_primitive_desc_query_md(pd, s.query, s.index);
    dnnl_memory_desc_t sharedMd;
    bool share =
        s.shared.data &&
        dnnl_memory_desc_init_by_tag(
            &sharedMd, s.plain.ndims, s.plain.dims, s.plain.data_type,
            s.shared.blocked ? dnnl_nChw16c : dnnl_nchw) == dnnl_success &&
        dnnl_memory_desc_equal(&sharedMd, md) &&
        dnnl_memory_desc_get_size(md) <= s.shared.bytes;
    dnnl_memory_t m;
    ok(dnnl_memory_create(&m, md, engine,
                          share ? s.shared.data : DNNL_MEMORY_ALLOCATE),
       "creating a memory");
    d->owned.push_back(m);
    d->args.push_back({s.arg, m});
    bool activation = md->ndims == 4 && s.arg != DNNL_ARG_WEIGHTS &&
                      s.arg != DNNL_ARG_DIFF_WEIGHTS;
    if (s.init && !share) {
      dnnl_memory_t plain;
      ok(dnnl_memory_create(&plain, &s.plain, engine,
                            const_cast<float *>(s.init)),
         "creating a memory");
      reorder(engine, stream, plain, m);
      dnnl_memory_destroy(plain);
    }
    if (s.init) {
      if (activation)
        in += (in.empty() ? "" : ",") + tagName(md);
    } else {
      d->result = m;
      d->resultPlain = s.plain;
      if (activation)
        out = tagName(md);
    }
  }
  d->layout = out.empty() ? in : in.empty() ? out : in + ">" + out;
  for (const dnnl_exec_arg_t &a : shared)
    d->args.push_back(a);
  if (const dnnl_memory_desc_t *md =
          dnnl_primitive_desc_query_md(pd, dnnl_query_scratchpad_md, 0);
      md && dnnl_memory_desc_get_size(md)) {
    dnnl_memory_t m;
    ok(dnnl_memory_create(&m, md, engine, DNNL_MEMORY_ALLOCATE),
       "creating the scratchpad");
    d->owned.push_back(m);
    d->args.push_back({DNNL_ARG_SCRATCHPAD, m});
  }
  dnnl_primitive_desc_destroy(pd);
  return d;
}

/// A primitive's attributes: its own scratchpad (as the runtime's), and
/// relu as a post-op where nnc fuses it.
dnnl_primitive_attr_t makeAttr(bool relu) {
  dnnl_primitive_attr_t attr;
  ok(dnnl_primitive_attr_create(&attr), "creating attributes");
  ok(dnnl_primitive_attr_set_scratchpad_mode(attr, dnnl_scratchpad_mode_user),
     "setting the scratchpad mode");
  if (relu) {
    dnnl_post_ops_t postOps;
    ok(dnnl_post_ops_create(&postOps), "creating post-ops");
    ok(dnnl_post_ops_append_eltwise(postOps, 1.0f, dnnl_eltwise_relu, 0.0f,
                                    0.0f),
       "appending relu");
    ok(dnnl_primitive_attr_set_post_ops(attr, postOps), "setting post-ops");
    dnnl_post_ops_destroy(postOps);
  }
  return attr;
}

/// A candidate for a row: the primitive timed and, for a pooling backward,
/// the forward whose workspace it reads (run once before it, and before
/// each call of a step).
struct Candidate {
  std::unique_ptr<Direct> timed, forward;
  bool step = false;

  void run(dnnl_stream_t stream) {
    if (step)
      forward->run(stream);
    timed->run(stream);
  }
};

/// The row's convolution with its activations offered in `layout`, or an
/// empty candidate where oneDNN has no implementation for it. The direct
/// algorithm, as nnc's (Winograd's changes the arithmetic).
Candidate makeConv(dnnl_engine_t engine, dnnl_stream_t stream, const Row &r,
                   Tensors &t, const Layout &layout) {
  dnnl_dims_t srcDims = {r.N, r.C, r.H, r.W},
              dstDims = {r.N, r.K, r.OH(), r.OW()},
              weightDims = {r.K, r.C, 3, 3}, biasDims = {r.K};
  dnnl_dims_t strides = {1, 1}, padding = {1, 1};
  dnnl_memory_desc_t src, dst, weights, bias, srcPlain, dstPlain, weightsPlain;
  ok(dnnl_memory_desc_init_by_tag(&src, 4, srcDims, dnnl_f32, layout.tag),
     "describing src");
  ok(dnnl_memory_desc_init_by_tag(&dst, 4, dstDims, dnnl_f32, layout.tag),
     "describing dst");
  ok(dnnl_memory_desc_init_by_tag(&weights, 4, weightDims, dnnl_f32,
                                  dnnl_format_tag_any),
     "describing weights");
  ok(dnnl_memory_desc_init_by_tag(&bias, 1, biasDims, dnnl_f32, dnnl_x),
     "describing bias");
  ok(dnnl_memory_desc_init_by_tag(&srcPlain, 4, srcDims, dnnl_f32, dnnl_nchw),
     "describing src");
  ok(dnnl_memory_desc_init_by_tag(&dstPlain, 4, dstDims, dnnl_f32, dnnl_nchw),
     "describing dst");
  ok(dnnl_memory_desc_init_by_tag(&weightsPlain, 4, weightDims, dnnl_f32,
                                  dnnl_oihw),
     "describing weights");
  bool forward = r.kind == Kind::ConvForward;
  dnnl_convolution_desc_t fwdDesc, desc;
  ok(dnnl_convolution_forward_desc_init(
         &fwdDesc, dnnl_forward_training, dnnl_convolution_direct, &src,
         &weights, forward ? &bias : nullptr, &dst, strides, padding, padding),
     "describing the convolution");
  dnnl_primitive_desc_t hint = nullptr;
  if (!forward) {
    if (dnnl_primitive_desc_create(&hint, &fwdDesc, nullptr, engine, nullptr) !=
        dnnl_success)
      return {};
    ok(r.kind == Kind::ConvBackwardData
           ? dnnl_convolution_backward_data_desc_init(
                 &desc, dnnl_convolution_direct, &src, &weights, &dst, strides,
                 padding, padding)
           : dnnl_convolution_backward_weights_desc_init(
                 &desc, dnnl_convolution_direct, &src, &weights, nullptr, &dst,
                 strides, padding, padding),
       "describing the convolution");
  } else {
    desc = fwdDesc;
  }
  dnnl_primitive_attr_t attr = makeAttr(forward);
  dnnl_primitive_desc_t pd = nullptr;
  dnnl_status_t status =
      dnnl_primitive_desc_create(&pd, &desc, attr, engine, hint);
  dnnl_primitive_attr_destroy(attr);
  if (hint)
    dnnl_primitive_desc_destroy(hint);
  if (status != dnnl_success)
    return {};
  auto specs = [&]() -> std::vector<ArgSpec> {
    switch (r.kind) {
    case Kind::ConvForward:
      return {{DNNL_ARG_SRC, dnnl_query_src_md, 0, srcPlain, t.x.data(),
               t.sharedX()},
              {DNNL_ARG_WEIGHTS, dnnl_query_weights_md, 0, weightsPlain,
               t.w.data()},
              {DNNL_ARG_BIAS, dnnl_query_weights_md, 1, bias, t.bias.data()},
              {DNNL_ARG_DST, dnnl_query_dst_md, 0, dstPlain, nullptr,
               t.sharedOut()}};
    case Kind::ConvBackwardData:
      return {{DNNL_ARG_DIFF_DST, dnnl_query_diff_dst_md, 0, dstPlain,
               t.dy.data(), t.sharedDy()},
              {DNNL_ARG_WEIGHTS, dnnl_query_weights_md, 0, weightsPlain,
               t.w.data()},
              {DNNL_ARG_DIFF_SRC, dnnl_query_diff_src_md, 0, srcPlain, nullptr,
               t.sharedOut()}};
    default:
      return {{DNNL_ARG_SRC, dnnl_query_src_md, 0, srcPlain, t.x.data(),
               t.sharedX()},
              {DNNL_ARG_DIFF_DST, dnnl_query_diff_dst_md, 0, dstPlain,
               t.dy.data(), t.sharedDy()},
              {DNNL_ARG_DIFF_WEIGHTS, dnnl_query_diff_weights_md, 0,
               weightsPlain, nullptr}};
    }
  };
  return {buildDirect(engine, stream, pd, specs()), nullptr};
}

/// The row's pooling with its input (or input gradient) in `layout`: a
/// max pooling's forward_training with its workspace, and its backward
/// reading that workspace.
Candidate makePool(dnnl_engine_t engine, dnnl_stream_t stream, const Row &r,
                   Tensors &t, const Layout &layout) {
  dnnl_alg_kind_t alg = r.pool == NNCRT_POOL_MAX
                            ? dnnl_pooling_max
                            : dnnl_pooling_avg_include_padding;
  dnnl_dims_t srcDims = {r.N, r.C, r.H, r.W},
              dstDims = {r.N, r.C, r.OH(), r.OW()};
  dnnl_dims_t strides = {2, 2}, kernel = {2, 2}, dilation = {0, 0},
              padding = {0, 0};
  dnnl_memory_desc_t src, dst, srcPlain, dstPlain;
  ok(dnnl_memory_desc_init_by_tag(&src, 4, srcDims, dnnl_f32, layout.tag),
     "describing src");
  ok(dnnl_memory_desc_init_by_tag(&dst, 4, dstDims, dnnl_f32,
                                  dnnl_format_tag_any),
     "describing dst");
  ok(dnnl_memory_desc_init_by_tag(&srcPlain, 4, srcDims, dnnl_f32, dnnl_nchw),
     "describing src");
  ok(dnnl_memory_desc_init_by_tag(&dstPlain, 4, dstDims, dnnl_f32, dnnl_nchw),
     "describing dst");
  dnnl_pooling_v2_desc_t fwdDesc;
  ok(dnnl_pooling_v2_forward_desc_init(&fwdDesc, dnnl_forward_training, alg,
                                       &src, &dst, strides, kernel, dilation,
                                       padding, padding),
     "describing the pooling");
  dnnl_primitive_attr_t attr = makeAttr(false);
  dnnl_primitive_desc_t fwdPd = nullptr;
  dnnl_status_t status =
      dnnl_primitive_desc_create(&fwdPd, &fwdDesc, attr, engine, nullptr);
  if (status != dnnl_success) {
    dnnl_primitive_attr_destroy(attr);
    return {};
  }
  // The workspace belongs to the forward; the backward gets it as a shared
  // argument, filled by running the forward on x once.
  dnnl_memory_t workspace = nullptr;
  const dnnl_memory_desc_t *wsMd =
      dnnl_primitive_desc_query_md(fwdPd, dnnl_query_workspace_md, 0);
  if (wsMd && dnnl_memory_desc_get_size(wsMd))
    ok(dnnl_memory_create(&workspace, wsMd, engine, DNNL_MEMORY_ALLOCATE),
       "creating the workspace");
  const dnnl_memory_desc_t *chosenDst =
      dnnl_primitive_desc_query_md(fwdPd, dnnl_query_dst_md, 0);
  dnnl_memory_desc_t dstChosen = *chosenDst;
  dnnl_primitive_desc_t hint = nullptr;
  if (r.kind != Kind::PoolForward)
    ok(dnnl_primitive_desc_create(&hint, &fwdDesc, nullptr, engine, nullptr),
       "creating the forward hint");
  std::vector<dnnl_exec_arg_t> shared;
  if (workspace)
    shared.push_back({DNNL_ARG_WORKSPACE, workspace});
  Candidate c;
  c.forward = buildDirect(
      engine, stream, fwdPd,
      {{DNNL_ARG_SRC, dnnl_query_src_md, 0, srcPlain, t.x.data(), t.sharedX()},
       {DNNL_ARG_DST, dnnl_query_dst_md, 0, dstPlain, nullptr,
        r.kind == Kind::PoolForward ? t.sharedOut() : SharedBuffer{}}},
      shared);
  if (workspace)
    c.forward->owned.push_back(workspace);
  if (r.kind == Kind::PoolForward) {
    c.timed = std::move(c.forward);
    dnnl_primitive_attr_destroy(attr);
    return c;
  }
  c.forward->run(stream);
  dnnl_pooling_v2_desc_t desc;
  ok(dnnl_pooling_v2_backward_desc_init(&desc, alg, &src, &dstChosen, strides,
                                        kernel, dilation, padding, padding),
     "describing the pooling's backward");
  dnnl_primitive_desc_t pd = nullptr;
  status = dnnl_primitive_desc_create(&pd, &desc, attr, engine, hint);
  dnnl_primitive_attr_destroy(attr);
  dnnl_primitive_desc_destroy(hint);
  if (status != dnnl_success)
    return {};
  c.timed = buildDirect(engine, stream, pd,
                        {{DNNL_ARG_DIFF_DST, dnnl_query_diff_dst_md, 0,
                          dstPlain, t.dy.data(), t.sharedDy()},
                         {DNNL_ARG_DIFF_SRC, dnnl_query_diff_src_md, 0,
                          srcPlain, nullptr, t.sharedOut()}},
                        shared);
  c.step = r.kind == Kind::PoolStep || r.kind == Kind::PoolIndexStep;
  return c;
}

//===----------------------------------------------------------------------===//
// Timing
//===----------------------------------------------------------------------===//

struct Result {
  const Row *row;
  int threads;
  double nncMs, directMs, blockedMs;
  std::string layout, impl;
  double maxError;      // against the largest magnitude of nnc's result
  bool blockedSameBits; // nnc blk's result equals nnc's, bit for bit
};

/// The largest difference between the two results, relative to nnc's
/// largest magnitude.
double relativeError(const Floats &nnc, const Floats &direct) {
  double scale = 0, error = 0;
  for (size_t i = 0; i < nnc.size(); ++i) {
    double d = std::fabs(nnc[i] - direct[i]);
    // An element left NaN (the poisoned result buffer, unwritten) is an
    // infinite error: std::max would drop it.
    if (std::isnan(d))
      return INFINITY;
    scale = std::max(scale, (double)std::fabs(nnc[i]));
    error = std::max(error, d);
  }
  return scale ? error / scale : error;
}

Result measure(dnnl_engine_t engine, dnnl_stream_t stream, const Row &r,
               int threads, int reps, bool verbose) {
  Tensors t(r);
  // The direct side: each layout timed briefly, the fastest kept. Created
  // after the thread count is set: oneDNN blocks for it.
  Candidate best;
  double bestMs = 0;
  std::string bestName;
  auto try_ = [&](const Layout &layout) {
    Candidate c = r.isConv() ? makeConv(engine, stream, r, t, layout)
                             : makePool(engine, stream, r, t, layout);
    if (!c.timed) {
      if (verbose)
        std::printf("  %-22s %d  %-8s unimplemented\n", r.name, threads,
                    layout.name);
      return;
    }
    std::vector<double> ms;
    for (int i = 0; i < 13; ++i) {
      double m = millisOf([&] { c.run(stream); });
      if (i >= 3)
        ms.push_back(m);
    }
    double m = median(ms);
    if (verbose)
      std::printf("  %-22s %d  %-8s %8.3f ms  %s  %s\n", r.name, threads,
                  layout.name, m, c.timed->layout.c_str(),
                  c.timed->impl.c_str());
    if (!best.timed || m < bestMs) {
      best = std::move(c);
      bestMs = m;
      bestName = layout.name;
    }
  };
  if (r.isConv())
    for (const Layout &l : convLayouts)
      try_(l);
  else
    for (const Layout &l : poolLayouts)
      try_(l);
  if (!best.timed) {
    std::fprintf(stderr, "bench-conv: no oneDNN primitive for %s\n", r.name);
    std::exit(1);
  }
  Candidate &direct = best;

  // The direct primitive and the layout-aware call (the one the compiled
  // step makes, on the same buffers where their layouts agree) alternate
  // call by call, each first in every other round, so that machine noise
  // and the cache state one leaves the other hit both alike; the plain
  // call, which reorders through the runtime's workspace, runs in blocks
  // of its own between rounds. All after a warm-up that also creates the
  // runtime's cached primitives.
  for (int i = 0; i < 5; ++i) {
    runNNC(r, t);
    runNNCBlocked(r, t);
    direct.run(stream);
  }
  const int block = 10;
  std::vector<double> nncMs, directMs, blockedMs;
  auto timeDirect = [&] {
    directMs.push_back(millisOf([&] { direct.run(stream); }));
  };
  for (int round = 0; round * block < reps; ++round) {
    for (int i = 0; i < block; ++i) {
      if (round % 2)
        timeDirect();
      blockedMs.push_back(millisOf([&] { runNNCBlocked(r, t); }));
      if (!(round % 2))
        timeDirect();
    }
    for (int i = 0; i < block; ++i)
      nncMs.push_back(millisOf([&] { runNNC(r, t); }));
  }
  // Each side's result from a poisoned buffer: they may share it.
  auto poison = [&] { std::fill(t.bout.begin(), t.bout.end(), std::nanf("")); };
  poison();
  runNNCBlocked(r, t);
  Floats blocked = t.blockedResult(r);
  poison();
  direct.run(stream);
  Result res{&r,
             threads,
             median(nncMs),
             median(directMs),
             median(blockedMs),
             bestName + " " + direct.timed->layout,
             direct.timed->impl,
             relativeError(t.out, direct.timed->read(engine, stream)),
             std::memcmp(blocked.data(), t.out.data(),
                         t.out.size() * sizeof(float)) == 0};
  return res;
}

std::vector<int> parseList(const char *s) {
  std::vector<int> v;
  for (char *end; *s; s = *end ? end + 1 : end) {
    v.push_back((int)std::strtol(s, &end, 10));
    if (end == s)
      break;
  }
  return v;
}

} // namespace

int main(int argc, char **argv) {
  std::vector<int> threadCounts = {1, 2};
  int reps = 60;
  bool verbose = false;
  const char *only = nullptr;
  for (int k = 1; k < argc; ++k) {
    if (!std::strncmp(argv[k], "--threads=", 10))
      threadCounts = parseList(argv[k] + 10);
    else if (!std::strncmp(argv[k], "--reps=", 7))
      reps = std::atoi(argv[k] + 7);
    else if (!std::strcmp(argv[k], "--verbose"))
      verbose = true;
    else if (!std::strncmp(argv[k], "--only=", 7))
      only = argv[k] + 7;
    else {
      std::fprintf(stderr,
                   "usage: bench-conv [--threads=1,2] [--reps=N] [--verbose] "
                   "[--only=SUBSTRING]\n");
      return 1;
    }
  }
  // Whole pairs of rounds (measure's blocks of 10 calls), so that each side
  // goes first equally often.
  reps = std::max(40, (reps + 19) / 20 * 20);
  dnnl_engine_t engine;
  dnnl_stream_t stream;
  ok(dnnl_engine_create(&engine, dnnl_cpu, 0), "creating the engine");
  ok(dnnl_stream_create(&stream, engine, dnnl_stream_default_flags),
     "creating the stream");
  const dnnl_version_t *version = dnnl_version();
  std::printf("oneDNN %d.%d.%d, batch 128, ms per call (median of %d), "
              "direct / nnc >= 0.90 is the target\n",
              version->major, version->minor, version->patch, reps);

  std::vector<Result> results;
  for (int threads : threadCounts) {
    // The runtime's thread count is OpenMP's, which oneDNN uses too.
    nncrt_set_num_threads(threads);
    for (const Row &r : rows)
      // --only: the rows whose name contains it.
      if (!only || std::strstr(r.name, only))
        results.push_back(measure(engine, stream, r, threads, reps, verbose));
  }

  if (results.empty()) {
    std::fprintf(stderr, "bench-conv: no row matches --only=%s\n",
                 only ? only : "");
    return 1;
  }
  std::printf("\n%-22s %3s %9s %9s %9s %7s %7s  %-24s %s\n", "row", "thr",
              "nnc", "nnc blk", "oneDNN", "ratio", "r. blk", "oneDNN layout",
              "oneDNN implementation");
  bool wrong = false;
  for (const Result &res : results) {
    double ratio = res.directMs / res.nncMs;
    double blockedRatio = res.directMs / res.blockedMs;
    std::printf("%-22s %3d %9.3f %9.3f %9.3f %6.2f%s %6.2f%s  %-24s %s\n",
                res.row->name, res.threads, res.nncMs, res.blockedMs,
                res.directMs, ratio, ratio < 0.90 ? "*" : " ", blockedRatio,
                blockedRatio < 0.90 ? "*" : " ", res.layout.c_str(),
                res.impl.c_str());
    if (!res.blockedSameBits) {
      std::printf("  ^ nnc blk's result differs from nnc's\n");
      wrong = true;
    }
    if (verbose)
      std::printf("  largest difference: %.3g of the largest magnitude\n",
                  res.maxError);
    if (res.maxError > 1e-4) {
      std::printf("  ^ results differ: %.3g of the largest magnitude\n",
                  res.maxError);
      wrong = true;
    }
  }
  std::printf("(* under 0.90; nnc blk: the layout-aware call with the CNN "
              "step's nChw16c operands; r. blk: oneDNN / nnc blk; layout: "
              "what the direct primitive's activations were offered, then the "
              "layouts it chose, inputs > output)\n");
  dnnl_stream_destroy(stream);
  dnnl_engine_destroy(engine);
  return wrong ? 1 : 0;
}
