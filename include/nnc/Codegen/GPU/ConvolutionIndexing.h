//===- ConvolutionIndexing.h - implicit-GEMM index maps ---------*- C++ -*-===//
//
// Part of nnc, under the Apache License v2.0 with LLVM Exceptions.
// See LICENSE for license information.
//
//===----------------------------------------------------------------------===//
///
/// \file
/// The index arithmetic of the GPU target's convolutions as implicit GEMMs
/// (lib/Codegen/GPU/ConvolutionKernels.cpp), written once over an
/// arithmetic `Ops` so that the kernel builder instantiates it with ops that
/// emit IR and the unit tests with plain integers: the maps the kernels
/// compute are the ones unittests/Codegen checks against direct
/// convolution loops on the CPU.
///
/// Per group g, each convolution is C[m][n] = Σ_k A(m, k) · B(k, n):
///
/// | GEMM             | m              | n               | k               |
/// |------------------|----------------|-----------------|-----------------|
/// | forward          | (b, oh, ow)    | oc < K/groups   | (c, kh, kw)     |
/// | backward data    | (b, h, w)      | c < C/groups    | (oc, kh, kw)    |
/// | backward weights | oc < K/groups  | (c, kh, kw)     | (b, oh, ow)     |
///
/// with c < C/groups and oc < K/groups the channels within the group. The
/// forward's A and the backward weights' B are the im2col gather of x
/// (padding reads 0); the backward data's A gathers dy through the
/// transposed map: input row h meets output row oh = (h + padTop -
/// kh·dilationH) / strideH when that division is exact and oh < OH. Every
/// element of C is one sum in the order of k, so no atomics are needed and
/// the result does not depend on timing.
///
/// `Ops` provides `Int` and `Bool`, `idx(int64_t)`, `add`, `sub`, `mul`,
/// `div(Int, int64_t)`, `rem(Int, int64_t)` (only on values >= 0),
/// `lt`, `ge` (signed) and `both` (and). A coordinate whose `valid` is
/// false may be anything: it must not be read.
///
//===----------------------------------------------------------------------===//

#ifndef NNC_CODEGEN_GPU_CONVOLUTIONINDEXING_H
#define NNC_CODEGEN_GPU_CONVOLUTIONINDEXING_H

#include <array>
#include <cstdint>

namespace nnc::gpu_conv {

/// A convolution's geometry: the 18 scalars of nncrt_conv2d_* in order.
struct ConvGeometry {
  int64_t N, C, H, W, K, KH, KW, OH, OW, strideH, strideW, padTop, padLeft,
      padBottom, padRight, dilationH, dilationW, groups;

  int64_t channelsPerGroup() const { return C / groups; }
  int64_t filtersPerGroup() const { return K / groups; }
  /// The GEMM sizes of each group's product.
  std::array<int64_t, 3> forwardMNK() const {
    return {N * OH * OW, filtersPerGroup(), channelsPerGroup() * KH * KW};
  }
  std::array<int64_t, 3> backwardDataMNK() const {
    return {N * H * W, channelsPerGroup(), filtersPerGroup() * KH * KW};
  }
  std::array<int64_t, 3> backwardWeightsMNK() const {
    return {filtersPerGroup(), channelsPerGroup() * KH * KW, N * OH * OW};
  }
  /// The runtime's consistency rules (CPURuntime.h): positive sizes,
  /// strides and dilations, padding >= 0, channels divisible by the
  /// groups, and OH and OW the formula's.
  bool isConsistent() const {
    for (int64_t v : {N, C, H, W, K, KH, KW, OH, OW, strideH, strideW,
                      dilationH, dilationW, groups})
      if (v < 1)
        return false;
    for (int64_t v : {padTop, padLeft, padBottom, padRight})
      if (v < 0)
        return false;
    if (C % groups || K % groups)
      return false;
    int64_t nh = H + padTop + padBottom - dilationH * (KH - 1) - 1;
    int64_t nw = W + padLeft + padRight - dilationW * (KW - 1) - 1;
    return nh >= 0 && nw >= 0 && nh / strideH + 1 == OH &&
           nw / strideW + 1 == OW;
  }
};

/// A coordinate of a 4-D NCHW or OIHW tensor, and whether it may be read.
template <typename Int, typename Bool> struct Coord {
  Bool valid;
  std::array<Int, 4> at;
};

template <typename Ops> struct ConvIndexing {
  using Int = typename Ops::Int;
  using Bool = typename Ops::Bool;
  Ops &o;
  const ConvGeometry &g;

  /// (b, y, x) of a pixel index over N·Y·X.
  std::array<Int, 3> pixel(Int m, int64_t Y, int64_t X) {
    Int t = o.div(m, X);
    return {o.div(t, Y), o.rem(t, Y), o.rem(m, X)};
  }
  /// (ch, kh, kw) of a reduction index over channels·KH·KW.
  std::array<Int, 3> tap(Int k) {
    Int t = o.div(k, g.KW);
    return {o.div(t, g.KH), o.rem(t, g.KH), o.rem(k, g.KW)};
  }
  Bool inRange(Int v, int64_t size) {
    return o.both(o.ge(v, o.idx(0)), o.lt(v, o.idx(size)));
  }
  /// group · per + i
  Int channel(Int group, int64_t per, Int i) {
    return o.add(o.mul(group, o.idx(per)), i);
  }

  /// x at output pixel (b, oh, ow) of the forward and reduction index k
  /// over (c, kh, kw): the forward's A(m, k) and the backward weights'
  /// B(k, n) with their roles of k and n swapped.
  Coord<Int, Bool> input(Int group, const std::array<Int, 3> &out, Int k) {
    auto [c, kh, kw] = tap(k);
    Int h = o.add(o.sub(o.mul(out[1], o.idx(g.strideH)), o.idx(g.padTop)),
                  o.mul(kh, o.idx(g.dilationH)));
    Int w = o.add(o.sub(o.mul(out[2], o.idx(g.strideW)), o.idx(g.padLeft)),
                  o.mul(kw, o.idx(g.dilationW)));
    return {o.both(inRange(h, g.H), inRange(w, g.W)),
            {out[0], channel(group, g.channelsPerGroup(), c), h, w}};
  }
  /// w[oc][c][kh][kw] for filter `oc` of the group and (c, kh, kw) = k:
  /// the forward's B(k, n = oc).
  std::array<Int, 4> forwardWeight(Int group, Int oc, Int k) {
    auto [c, kh, kw] = tap(k);
    return {channel(group, g.filtersPerGroup(), oc), c, kh, kw};
  }
  /// y (or dy) at output pixel (b, oh, ow), filter `oc` of the group.
  std::array<Int, 4> output(Int group, const std::array<Int, 3> &out, Int oc) {
    return {out[0], channel(group, g.filtersPerGroup(), oc), out[1], out[2]};
  }

  /// dy for the backward data's A(m, k): input pixel (b, h, w), k over
  /// (oc, kh, kw).
  Coord<Int, Bool> gradOutput(Int group, const std::array<Int, 3> &in, Int k) {
    auto [oc, kh, kw] = tap(k);
    Int th =
        o.sub(o.add(in[1], o.idx(g.padTop)), o.mul(kh, o.idx(g.dilationH)));
    Int tw =
        o.sub(o.add(in[2], o.idx(g.padLeft)), o.mul(kw, o.idx(g.dilationW)));
    // Exact division only; th < 0 is refused first (rem takes v >= 0).
    Bool okH = o.both(o.ge(th, o.idx(0)),
                      o.both(o.eqc(o.rem(th, g.strideH), 0),
                             o.lt(o.div(th, g.strideH), o.idx(g.OH))));
    Bool okW = o.both(o.ge(tw, o.idx(0)),
                      o.both(o.eqc(o.rem(tw, g.strideW), 0),
                             o.lt(o.div(tw, g.strideW), o.idx(g.OW))));
    return {o.both(okH, okW),
            {in[0], channel(group, g.filtersPerGroup(), oc),
             o.div(th, g.strideH), o.div(tw, g.strideW)}};
  }
  /// w for the backward data's B(k, n = c): k over (oc, kh, kw).
  std::array<Int, 4> backwardDataWeight(Int group, Int c, Int k) {
    auto [oc, kh, kw] = tap(k);
    return {channel(group, g.filtersPerGroup(), oc), c, kh, kw};
  }
  /// dx at input pixel (b, h, w), channel `c` of the group.
  std::array<Int, 4> gradInput(Int group, const std::array<Int, 3> &in, Int c) {
    return {in[0], channel(group, g.channelsPerGroup(), c), in[1], in[2]};
  }
  /// dw for the backward weights' C(m = oc, n = (c, kh, kw)).
  std::array<Int, 4> gradWeight(Int group, Int oc, Int n) {
    return forwardWeight(group, oc, n);
  }
};

/// A pooling's geometry: the 14 scalars of nncrt_pool2d_* after the kind.
struct PoolGeometry {
  int64_t N, C, H, W, OH, OW, KH, KW, strideH, strideW, padTop, padLeft,
      padBottom, padRight;

  bool isConsistent() const {
    for (int64_t v : {N, C, H, W, OH, OW, KH, KW, strideH, strideW})
      if (v < 1)
        return false;
    for (int64_t v : {padTop, padLeft, padBottom, padRight})
      if (v < 0)
        return false;
    if (padTop >= KH || padBottom >= KH || padLeft >= KW || padRight >= KW)
      return false;
    int64_t nh = H + padTop + padBottom - KH, nw = W + padLeft + padRight - KW;
    return nh >= 0 && nw >= 0 && nh / strideH + 1 == OH &&
           nw / strideW + 1 == OW;
  }
};

/// The input row (or column) of tap `t` of window `o` along one axis, and
/// the window (oh) whose tap `t` is input row `i`, when there is one: the
/// forward's gather and the backward's.
template <typename Ops> struct PoolIndexing {
  using Int = typename Ops::Int;
  using Bool = typename Ops::Bool;
  Ops &o;
  const PoolGeometry &g;

  /// Input row of tap kh of window oh, and whether it is inside.
  std::pair<Bool, Int> row(Int oh, Int kh) {
    Int h = o.add(o.sub(o.mul(oh, o.idx(g.strideH)), o.idx(g.padTop)), kh);
    return {o.both(o.ge(h, o.idx(0)), o.lt(h, o.idx(g.H))), h};
  }
  std::pair<Bool, Int> col(Int ow, Int kw) {
    Int w = o.add(o.sub(o.mul(ow, o.idx(g.strideW)), o.idx(g.padLeft)), kw);
    return {o.both(o.ge(w, o.idx(0)), o.lt(w, o.idx(g.W))), w};
  }
  /// The window oh whose tap kh is input row h, if any.
  std::pair<Bool, Int> windowRow(Int h, Int kh) {
    Int t = o.sub(o.add(h, o.idx(g.padTop)), kh);
    return {o.both(o.ge(t, o.idx(0)),
                   o.both(o.eqc(o.rem(t, g.strideH), 0),
                          o.lt(o.div(t, g.strideH), o.idx(g.OH)))),
            o.div(t, g.strideH)};
  }
  std::pair<Bool, Int> windowCol(Int w, Int kw) {
    Int t = o.sub(o.add(w, o.idx(g.padLeft)), kw);
    return {o.both(o.ge(t, o.idx(0)),
                   o.both(o.eqc(o.rem(t, g.strideW), 0),
                          o.lt(o.div(t, g.strideW), o.idx(g.OW)))),
            o.div(t, g.strideW)};
  }
  /// Elements of window (oh, ow) inside the input: the divisor of an
  /// average that excludes the padding.
  Int count(Int oh, Int ow) {
    auto extent = [&](Int start, int64_t window, int64_t in) {
      Int b = o.max(start, o.idx(0));
      Int e = o.min(o.add(start, o.idx(window)), o.idx(in));
      return o.sub(e, b);
    };
    Int rows =
        extent(o.sub(o.mul(oh, o.idx(g.strideH)), o.idx(g.padTop)), g.KH, g.H);
    Int cols =
        extent(o.sub(o.mul(ow, o.idx(g.strideW)), o.idx(g.padLeft)), g.KW, g.W);
    return o.mul(rows, cols);
  }
};

/// Plain integers: the unit tests' Ops.
struct IntOps {
  using Int = int64_t;
  using Bool = bool;
  Int idx(int64_t v) { return v; }
  Int add(Int a, Int b) { return a + b; }
  Int sub(Int a, Int b) { return a - b; }
  Int mul(Int a, Int b) { return a * b; }
  Int div(Int a, int64_t b) { return a / b; }
  Int rem(Int a, int64_t b) { return a % b; }
  Int max(Int a, Int b) { return a > b ? a : b; }
  Int min(Int a, Int b) { return a < b ? a : b; }
  Bool lt(Int a, Int b) { return a < b; }
  Bool ge(Int a, Int b) { return a >= b; }
  Bool eqc(Int a, int64_t b) { return a == b; }
  Bool both(Bool a, Bool b) { return a && b; }
};

} // namespace nnc::gpu_conv

#endif // NNC_CODEGEN_GPU_CONVOLUTIONINDEXING_H
