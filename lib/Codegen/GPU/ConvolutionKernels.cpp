//===- ConvolutionKernels.cpp - convolutions and pooling as kernels -------===//
//
// Part of nnc, under the Apache License v2.0 with LLVM Exceptions.
// See LICENSE for license information.
//
// The CPU target runs nn.runtime_call's convolutions and pooling as calls of
// its runtime (oneDNN); the GPU target builds a kernel for the same call, on
// the same buffers, from the geometry scalars the call carries. One plan,
// two targets: the arena, the checkpoint plan and the operands are the
// ones the CPU uses.
//
// Convolutions are implicit GEMMs on the tiled matmul's structure (k tiles
// staged through shared memory, a register tile of outputs a thread, FMA),
// every load guarded (the im2col gather reads padding as zeros and the
// tile's edges as zeros), so one kernel takes any geometry. The index maps
// are ConvolutionIndexing.h's, shared with the unit tests. Pooling is one
// thread an output (forward) or an input element (backward, a gather over
// the windows that contain it). No kernel uses atomics: every output is one
// thread's sum in a fixed order, so results are the same bits at every
// run and under every checkpoint plan.
//
// The mixed-precision calls (nncrt_conv2d_*_bf16, nncrt_pool2d_*_bf16) get
// the same kernels on bf16 buffers, or on f16 ones (--precision=fp16 makes
// the same calls): a convolution's implicit GEMM gathers its 16-bit
// operands through the same operands into the tensor-core kernels' shared
// tiles and runs their mma.sync main loop (emitTensorCoreProduct, f32
// accumulators); pooling widens to f32. Each result is rounded once to its
// buffer's type (nearest even), after the bias and the activation, as the
// CPU runtime's calls do.
//
//===----------------------------------------------------------------------===//

#include "ConvolutionKernels.h"

#include "nnc/Codegen/GPU/ConvolutionIndexing.h"
#include "nnc/Runtime/CPU/CPURuntime.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "llvm/ADT/SetVector.h"

#include <limits>

using namespace mlir;
using namespace mlir::nnc;
using namespace mlir::nnc::gpu_codegen;
using ::nnc::gpu_conv::ConvGeometry;
using ::nnc::gpu_conv::ConvIndexing;
using ::nnc::gpu_conv::PoolGeometry;
using ::nnc::gpu_conv::PoolIndexing;

namespace {

/// The call's scalars [from, from + count) as integers, or a located
/// error naming the first that is not one.
FailureOr<SmallVector<int64_t>> integers(RuntimeCallOp call, size_t from,
                                         size_t count) {
  SmallVector<int64_t> out;
  for (size_t i = from; i < from + count; ++i) {
    auto attr = dyn_cast<IntegerAttr>(call.getScalars()[i]);
    if (!attr)
      return call.emitOpError()
             << "scalar #" << i << " of '" << call.getCallee()
             << "' must be an integer, got " << call.getScalars()[i];
    out.push_back(attr.getInt());
  }
  return out;
}

/// The operand a pointer argument names, or none for a null pointer.
Value pointerOperand(RuntimeCallOp call, unsigned arg) {
  int64_t index = call.getPointers()[arg];
  return index < 0 ? Value() : call->getOperand(index);
}

/// The memref's static NCHW (or OIHW) shape and element type, or a located
/// error.
LogicalResult checkShape(RuntimeCallOp call, Value v, StringRef what,
                         ArrayRef<int64_t> expected, Type elem) {
  auto type = dyn_cast<MemRefType>(v.getType());
  if (!type || type.getElementType() != elem ||
      !type.getLayout().isIdentity() || type.getShape() != expected) {
    std::string elemName;
    llvm::raw_string_ostream(elemName) << elem;
    InFlightDiagnostic d = call.emitOpError()
                           << "needs its " << what << " as a dense row-major "
                           << elemName << " buffer of shape [";
    llvm::interleave(expected, d, "x");
    return d << "] for its GPU kernel, got " << v.getType();
  }
  return success();
}

/// `v` as f32: a bf16 (or f16) value widened, exactly.
Value widen(KernelScope &e, Value v) {
  if (v.getType().isF32())
    return v;
  return e.b.create<arith::ExtFOp>(e.loc, e.b.getF32Type(), v);
}

/// The 16-bit type of a _bf16 call, read off its buffer `v`: bf16, or f16
/// (--precision=fp16 on the GPU makes the same calls, as nncrt_gemm_bf16
/// serves both). bf16 for anything else, which checkShape then refuses.
Type halfType(MLIRContext *ctx, Value v) {
  auto type = v ? dyn_cast<MemRefType>(v.getType()) : MemRefType();
  if (type && type.getElementType().isF16())
    return Float16Type::get(ctx);
  return BFloat16Type::get(ctx);
}

/// Stores the f32 `v` at mem[at], rounded once (to nearest even) where mem
/// holds bf16 or f16.
void storeRounded(KernelScope &e, Value v, Value mem, ValueRange at) {
  Type elem = cast<MemRefType>(mem.getType()).getElementType();
  if (elem != v.getType())
    v = e.b.create<arith::TruncFOp>(e.loc, elem, v);
  e.b.create<memref::StoreOp>(e.loc, v, mem, at);
}

//===----------------------------------------------------------------------===//
// Convolutions: implicit GEMMs
//===----------------------------------------------------------------------===//

/// Block tile BM×BN, BK of k a step, TM×TN outputs a thread (256 threads).
struct Tiling {
  int64_t BM, BN, BK, TM, TN;
  int64_t threads() const { return (BM / TM) * (BN / TN); }
};

/// The tile for a GEMM with `n` columns: square when there are enough
/// columns, else tall so that few threads idle on a narrow product (a
/// depthwise convolution's n is 1).
Tiling chooseTiling(int64_t n) {
  if (n > 32)
    return {64, 64, 16, 4, 4};
  if (n > 16)
    return {128, 32, 8, 4, 4};
  if (n > 4)
    return {256, 16, 8, 4, 4};
  return {512, 4, 8, 2, 4};
}

/// Which way a tile's elements are spread over the threads: along the
/// tile's rows/columns (m or n: coalesced when consecutive m or n are
/// neighbours in memory), or along k.
enum class Spread { AlongMN, AlongK };

/// One GEMM operand as the kernel reads it: the buffer element at
/// (mn, k) and whether to read it (no value: always), given what `hoist`
/// computed from mn alone before the k loop (a thread's rows stay the same
/// across k tiles: the pixel they stand for is decomposed once); and how
/// to spread its tile's loads.
struct Operand {
  using Hoisted = SmallVector<Value, 3>;
  std::function<std::pair<Value, SmallVector<Value>>(Value mn, const Hoisted &,
                                                     Value k)>
      at;
  Value mem;
  Spread spread;
  std::function<Hoisted(Value mn)> hoist = [](Value) { return Hoisted(); };
};

/// A thread's loads of one operand's block tile: fixed (mn, kk) offsets
/// within the tile, and what the operand's hoist computed from mn.
struct StageItem {
  Value mn, kk;
  Operand::Hoisted hoisted;
};

/// The loads of a BX×BK tile of `op` spread over `threads` threads (the
/// element i = tid + l·threads of the tile, along mn or k as the operand
/// says), `base` the block's first row (or column).
SmallVector<StageItem> planStage(KernelScope &e, const Operand &op, int64_t BX,
                                 int64_t BK, int64_t threads, Value base) {
  Value tid = e.threadId();
  SmallVector<StageItem> items;
  for (int64_t l = 0; l < ceilDiv(BX * BK, threads); ++l) {
    Value i = l ? e.add(tid, e.idx(l * threads)) : tid;
    StageItem it;
    if (op.spread == Spread::AlongMN)
      it = {e.add(base, e.rem(i, BX)), e.div(i, BX), {}};
    else
      it = {e.add(base, e.div(i, BK)), e.rem(i, BK), {}};
    it.hoisted = op.hoist(it.mn);
    items.push_back(it);
  }
  return items;
}

/// Stages the k tile at k0 of `op` (rows [0, size) of the product, k below
/// K) into `tile`, at [kk][mn - base] (`kMajor`, the FMA kernel's tiles) or
/// [mn - base][kk] (the tensor-core kernels'): the gather's value where it
/// is valid, else a zero of the buffer's type, which adds exact zeros.
void emitStage(KernelScope &e, const Operand &op, ArrayRef<StageItem> items,
               int64_t BX, int64_t BK, int64_t threads, int64_t size, int64_t K,
               Value tile, Value base, Value k0, bool kMajor) {
  OpBuilder &b = e.b;
  Location loc = e.loc;
  Type elem = cast<MemRefType>(op.mem.getType()).getElementType();
  Value zero =
      e.entry.create<arith::ConstantOp>(loc, e.entry.getZeroAttr(elem));
  Value tid = e.threadId();
  for (auto [l, it] : llvm::enumerate(items)) {
    auto one = [&, it = it] {
      Value k = e.add(k0, it.kk);
      Value inside = e.both(e.lt(it.mn, e.idx(size)), e.lt(k, e.idx(K)));
      // The gather's coordinates are computed inside the guard, where
      // mn and k are in range.
      auto ifOp = b.create<scf::IfOp>(
          loc, inside,
          [&](OpBuilder &nb, Location l) {
            OpBuilder::InsertionGuard g(b);
            b.setInsertionPoint(nb.getInsertionBlock(), nb.getInsertionPoint());
            auto [valid, at] = op.at(it.mn, it.hoisted, k);
            Value v = valid
                          ? e.loadIf(valid, op.mem, at)
                          : b.create<memref::LoadOp>(l, op.mem, at).getResult();
            b.create<scf::YieldOp>(l, v);
          },
          [&](OpBuilder &nb, Location l) { nb.create<scf::YieldOp>(l, zero); });
      Value row = e.sub(it.mn, base);
      b.create<memref::StoreOp>(loc, ifOp.getResult(0), tile,
                                kMajor ? ValueRange{it.kk, row}
                                       : ValueRange{row, it.kk});
    };
    // A tile smaller than the block: the last threads load nothing.
    if (int64_t(l + 1) * threads > BX * BK)
      e.ifThen(e.lt(e.add(tid, e.idx(l * threads)), e.idx(BX * BK)), one);
    else
      one();
  }
}

/// C[m][n] = Σ_k A(m, k)·B(k, n) for group blockIdx.z, then `store(m, n,
/// acc)` for each element inside [M, N). Tiles of A (BM×BK) and B (BK×BN)
/// go through shared memory k-major; each thread keeps TM rows of TN
/// accumulators and adds the k tile's products in order of k.
void emitImplicitGemm(KernelScope &e, Tiling t, int64_t M, int64_t N, int64_t K,
                      const Operand &A, const Operand &B, Value As, Value Bs,
                      const std::function<void(Value, Value, Value)> &store) {
  OpBuilder &b = e.b;
  Location loc = e.loc;
  auto f32 = b.getF32Type();
  auto vm = VectorType::get({t.TM}, f32);
  auto vn = VectorType::get({t.TN}, f32);
  const int64_t NT = t.threads(), TX = t.BN / t.TN;
  Value tid = e.threadId();
  Value tx = e.rem(tid, TX), ty = e.div(tid, TX);
  Value bm = e.mul(e.blockId(gpu::Dimension::x), e.idx(t.BM));
  Value bn = e.mul(e.blockId(gpu::Dimension::y), e.idx(t.BN));
  Value zero =
      e.entry.create<arith::ConstantOp>(loc, DenseElementsAttr::get(vn, 0.0f));
  SmallVector<StageItem> aItems = planStage(e, A, t.BM, t.BK, NT, bm),
                         bItems = planStage(e, B, t.BN, t.BK, NT, bn);

  auto loop =
      b.create<scf::ForOp>(loc, e.idx(0), e.idx(ceilDiv(K, t.BK) * t.BK),
                           e.idx(t.BK), SmallVector<Value>(t.TM, zero));
  {
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(loop.getBody());
    Value k0 = loop.getInductionVar();
    emitStage(e, A, aItems, t.BM, t.BK, NT, M, K, As, bm, k0, /*kMajor=*/true);
    emitStage(e, B, bItems, t.BN, t.BK, NT, N, K, Bs, bn, k0, /*kMajor=*/true);
    b.create<gpu::BarrierOp>(loc);
    SmallVector<Value> acc(loop.getRegionIterArgs());
    Value rowOff = e.mul(ty, e.idx(t.TM)), colOff = e.mul(tx, e.idx(t.TN));
    for (int64_t kk = 0; kk < t.BK; ++kk) {
      Value av =
          b.create<vector::LoadOp>(loc, vm, As, ValueRange{e.idx(kk), rowOff});
      Value bv =
          b.create<vector::LoadOp>(loc, vn, Bs, ValueRange{e.idx(kk), colOff});
      for (int64_t i = 0; i < t.TM; ++i) {
        Value s = b.create<vector::ExtractOp>(loc, av, i);
        Value bc = b.create<vector::BroadcastOp>(loc, vn, s);
        acc[i] = b.create<vector::FMAOp>(loc, bc, bv, acc[i]);
      }
    }
    b.create<gpu::BarrierOp>(loc);
    b.create<scf::YieldOp>(loc, acc);
  }
  for (int64_t i = 0; i < t.TM; ++i) {
    Value m = e.add(bm, e.add(e.mul(ty, e.idx(t.TM)), e.idx(i)));
    for (int64_t j = 0; j < t.TN; ++j) {
      Value n = e.add(bn, e.add(e.mul(tx, e.idx(t.TN)), e.idx(j)));
      e.ifThen(e.both(e.lt(m, e.idx(M)), e.lt(n, e.idx(N))), [&] {
        store(m, n, b.create<vector::ExtractOp>(loc, loop.getResult(i), j));
      });
    }
  }
}

/// The same product on tensor cores for bf16 operands: the tensor-core
/// kernels' main loop (KernelBuilder.h, emitTensorCoreProduct: 64×64 block
/// tiles of four warps, mma.sync m16n8k16, f32 accumulators, one fixed
/// order of k) with each k tile gathered through the operands above into
/// its [mn][k] tiles, then `store(m, n, acc)` inside [M, N).
void emitTensorCoreImplicitGemm(
    KernelScope &e, int64_t M, int64_t N, int64_t K, const Operand &A,
    const Operand &B, Value As, Value Bs,
    const std::function<void(Value, Value, Value)> &store) {
  Value bm = e.mul(e.blockId(gpu::Dimension::x), e.idx(kTcBM));
  Value bn = e.mul(e.blockId(gpu::Dimension::y), e.idx(kTcBN));
  SmallVector<StageItem> aItems = planStage(e, A, kTcBM, kTcBK, kTcThreads, bm),
                         bItems = planStage(e, B, kTcBN, kTcBK, kTcThreads, bn);
  Type elem = cast<MemRefType>(A.mem.getType()).getElementType();
  emitTensorCoreProduct(
      e, elem, K, bm, bn, As, Bs,
      [&](Value k0) {
        emitStage(e, A, aItems, kTcBM, kTcBK, kTcThreads, M, K, As, bm, k0,
                  /*kMajor=*/false);
        emitStage(e, B, bItems, kTcBN, kTcBK, kTcThreads, N, K, Bs, bn, k0,
                  /*kMajor=*/false);
      },
      [&](Value m, Value n, Value acc) {
        e.ifThen(e.both(e.lt(m, e.idx(M)), e.lt(n, e.idx(N))),
                 [&] { store(m, n, acc); });
      });
}

constexpr int64_t kReduceBlock = 256, kFewBlocks = 264;

/// C[m][n] = Σ_k A(m, k)·B(k, n) for m = blockIdx.y, n = blockIdx.x:
/// thread t adds k = t, t + 256, ... in order (FMA), then a butterfly
/// within each warp (gpu.shuffle xor) and warp 0 over the warps' partials
/// in shared memory: a fixed tree, the same bits at every run.
void emitDotPerBlock(KernelScope &e, int64_t K, const Operand &A,
                     const Operand &B, Value partials,
                     const std::function<void(Value, Value, Value)> &store) {
  OpBuilder &b = e.b;
  Location loc = e.loc;
  Value tid = e.threadId();
  Value n = e.blockId(gpu::Dimension::x), m = e.blockId(gpu::Dimension::y);
  Operand::Hoisted ah = A.hoist(m), bh = B.hoist(n);
  auto loop = b.create<scf::ForOp>(loc, tid, e.idx(K), e.idx(kReduceBlock),
                                   ValueRange{e.f32(0.0)});
  {
    OpBuilder::InsertionGuard g(b);
    b.setInsertionPointToStart(loop.getBody());
    Value k = loop.getInductionVar();
    auto read = [&](const Operand &op, Value mn, const Operand::Hoisted &h) {
      auto [valid, at] = op.at(mn, h, k);
      return widen(
          e, valid ? e.loadIf(valid, op.mem, at)
                   : b.create<memref::LoadOp>(loc, op.mem, at).getResult());
    };
    Value av = read(A, m, ah), bv = read(B, n, bh);
    b.create<scf::YieldOp>(
        loc, b.create<math::FmaOp>(loc, av, bv, loop.getRegionIterArgs()[0])
                 .getResult());
  }
  auto i32 = [&](int64_t v) {
    return b.create<arith::ConstantOp>(loc, b.getI32IntegerAttr(v)).getResult();
  };
  auto butterfly = [&](Value v) {
    for (int64_t off = 16; off >= 1; off /= 2) {
      Value other = b.create<gpu::ShuffleOp>(loc, v, i32(off), i32(32),
                                             gpu::ShuffleMode::XOR)
                        .getShuffleResult();
      v = b.create<arith::AddFOp>(loc, v, other);
    }
    return v;
  };
  Value mine = butterfly(loop.getResult(0));
  Value lane = e.rem(tid, 32), warp = e.div(tid, 32);
  e.ifThen(e.eqc(lane, 0), [&] {
    b.create<memref::StoreOp>(loc, mine, partials, ValueRange{e.idx(0), warp});
  });
  b.create<gpu::BarrierOp>(loc);
  e.ifThen(e.eqc(warp, 0), [&] {
    Value has = e.lt(lane, e.idx(kReduceBlock / 32));
    Value v = e.loadIf(has, partials, ValueRange{e.idx(0), lane});
    Value total = butterfly(v);
    e.ifThen(e.eqc(lane, 0), [&] { store(m, n, total); });
  });
}

/// The three convolution kernels.
enum class ConvKind { Forward, BackwardData, BackwardWeights };

/// The kernel of a convolution call: f32 throughout, or (`bf16`, the
/// _bf16 calls) bf16 x, w and dy with the result's type the call's last
/// scalar (NNCRT_TYPE_*) and the bias f32.
FailureOr<Launch> buildConvolution(OpBuilder &mb, StringRef name,
                                   RuntimeCallOp call, ConvKind kind,
                                   bool bf16) {
  ArrayAttr scalars = call.getScalars();
  bool forward = kind == ConvKind::Forward;
  size_t expected = (forward ? 20 : 18) + (bf16 ? 1 : 0);
  if (scalars.size() != expected ||
      call.getPointers().size() != (forward ? 4 : 3))
    return call.emitOpError()
           << "has the wrong number of pointers or scalars for '"
           << call.getCallee() << "'";
  FailureOr<SmallVector<int64_t>> ints = integers(call, 0, forward ? 19 : 18);
  if (failed(ints))
    return failure();
  SmallVector<int64_t> v = *ints;
  ConvGeometry g{v[0], v[1],  v[2],  v[3],  v[4],  v[5],  v[6],  v[7],  v[8],
                 v[9], v[10], v[11], v[12], v[13], v[14], v[15], v[16], v[17]};
  if (!g.isConsistent())
    return call.emitOpError("has an inconsistent convolution geometry");
  int32_t activation = NNCRT_ACTIVATION_NONE;
  double slope = 0.0;
  if (forward) {
    activation = v[18];
    auto slopeAttr = dyn_cast<FloatAttr>(scalars[19]);
    if (!slopeAttr)
      return call.emitOpError() << "scalar #19 of '" << call.getCallee()
                                << "' must be a float, got " << scalars[19];
    slope = slopeAttr.getValueAsDouble();
    if (activation != NNCRT_ACTIVATION_NONE &&
        activation != NNCRT_ACTIVATION_RELU &&
        activation != NNCRT_ACTIVATION_LEAKY_RELU)
      return call.emitOpError() << "has an unknown activation " << activation;
  }
  MLIRContext *ctx = mb.getContext();
  Type f32 = Float32Type::get(ctx);
  // Pointer 0 is a 16-bit operand of all three calls (x, dy, x).
  Type operandType = bf16 ? halfType(ctx, pointerOperand(call, 0)) : f32,
       resultType = f32;
  if (bf16) {
    FailureOr<SmallVector<int64_t>> type =
        integers(call, scalars.size() - 1, 1);
    if (failed(type))
      return failure();
    if ((*type)[0] != NNCRT_TYPE_F32 && (*type)[0] != NNCRT_TYPE_BF16)
      return call.emitOpError() << "has an unknown result type " << (*type)[0];
    if ((*type)[0] == NNCRT_TYPE_BF16)
      resultType = operandType;
  }
  SmallVector<int64_t> xShape{g.N, g.C, g.H, g.W},
      wShape{g.K, g.channelsPerGroup(), g.KH, g.KW},
      yShape{g.N, g.K, g.OH, g.OW};
  // The pointers in the callee's order (CPURuntime.h).
  Value x, w, bias, y, dy, dx, dw;
  switch (kind) {
  case ConvKind::Forward:
    x = pointerOperand(call, 0), w = pointerOperand(call, 1);
    bias = pointerOperand(call, 2), y = pointerOperand(call, 3);
    break;
  case ConvKind::BackwardData:
    dy = pointerOperand(call, 0), w = pointerOperand(call, 1);
    dx = pointerOperand(call, 2);
    break;
  case ConvKind::BackwardWeights:
    x = pointerOperand(call, 0), dy = pointerOperand(call, 1);
    dw = pointerOperand(call, 2);
    break;
  }
  struct Expect {
    Value v;
    StringRef what;
    ArrayRef<int64_t> shape;
    Type elem;
  };
  SmallVector<int64_t> biasShape{g.K};
  for (Expect ex : {Expect{x, "input", xShape, operandType},
                    Expect{w, "weight", wShape, operandType},
                    Expect{bias, "bias", biasShape, f32},
                    Expect{y, "output", yShape, resultType},
                    Expect{dy, "output gradient", yShape, operandType},
                    Expect{dx, "input gradient", xShape, resultType},
                    Expect{dw, "weight gradient", wShape, resultType}})
    if (ex.v && failed(checkShape(call, ex.v, ex.what, ex.shape, ex.elem)))
      return failure();
  if (!(forward                          ? x && w && y
        : kind == ConvKind::BackwardData ? dy && w && dx
                                         : x && dy && dw))
    return call.emitOpError("has a null pointer where its GPU kernel needs "
                            "a buffer");
  Value out = forward ? y : kind == ConvKind::BackwardData ? dx : dw;
  for (Value in : call.getInputs())
    if (in == out)
      return call.emitOpError("writes a buffer it reads: its GPU kernel "
                              "gathers, so the two must not alias");

  auto [M, N, K] = forward                          ? g.forwardMNK()
                   : kind == ConvKind::BackwardData ? g.backwardDataMNK()
                                                    : g.backwardWeightsMNK();
  Tiling t = chooseTiling(N);
  llvm::SetVector<Value> operandSet;
  for (Value o : {x, dy, w, bias, y, dx, dw})
    if (o)
      operandSet.insert(o);
  Launch launch;
  launch.operands.assign(operandSet.begin(), operandSet.end());
  // The GEMM's block tile: the FMA kernel's, or the tensor cores' 64×64.
  int64_t BM = bf16 ? kTcBM : t.BM, BN = bf16 ? kTcBN : t.BN;
  // A weight gradient with few filters and taps (M·N) over a long k
  // (N·OH·OW) would leave the GEMM's grid a few blocks on a machine of
  // 100+ SMs, each looping over all of k: it gets a block per element
  // instead, its threads striding over k, then a fixed tree (bf16 widened
  // to f32: the Fashion CNN's first layer, 32 × 9 outputs over 100 352
  // pixels, would be one tensor-core block).
  bool perElement =
      kind == ConvKind::BackwardWeights && K >= 1024 && M <= kMaxGridYZ &&
      ceilDiv(M, BM) * ceilDiv(N, BN) * g.groups < kFewBlocks &&
      M * N * g.groups > ceilDiv(M, BM) * ceilDiv(N, BN) * g.groups;
  // Shared tiles: k-major f32, padded by 4 floats against bank conflicts of
  // the scalar stores (rows stay 16-byte aligned for the vector reads); the
  // tensor cores' [mn][k] bf16 tiles; or the warps' partial sums.
  SmallVector<Type> shared{sharedTile(ctx, t.BK, t.BM + 4),
                           sharedTile(ctx, t.BK, t.BN + 4)};
  if (bf16)
    shared = {tensorCoreTile(ctx, operandType, kTcBM),
              tensorCoreTile(ctx, operandType, kTcBN)};
  if (perElement)
    shared = {sharedTile(ctx, 1, kReduceBlock / 32)};
  int64_t threads = perElement ? kReduceBlock : bf16 ? kTcThreads : t.threads();
  launch.kernel =
      createKernel(mb, name, call.getLoc(), launch.operands, shared, threads);
  KernelScope e(launch.kernel, call.getLoc());
  auto arg = [&](Value v) -> Value {
    if (!v)
      return Value();
    return launch.kernel.getArgument(llvm::find(launch.operands, v) -
                                     launch.operands.begin());
  };
  Value X = arg(x), Wt = arg(w), Bias = arg(bias), Y = arg(y), DY = arg(dy),
        DX = arg(dx), DW = arg(dw);
  auto wg = launch.kernel.getWorkgroupAttributions();
  ConvIndexing<KernelScope> ix{e, g};
  Value group = e.blockId(gpu::Dimension::z);
  OpBuilder &b = e.b;
  Location loc = e.loc;
  auto vec = [](std::array<Value, 4> a) {
    return SmallVector<Value>(a.begin(), a.end());
  };
  Operand A, B;
  std::function<void(Value, Value, Value)> store;
  auto pixelOf = [&](int64_t rows, int64_t cols) {
    return [&ix, rows, cols](Value m) {
      auto p = ix.pixel(m, rows, cols);
      return Operand::Hoisted{p[0], p[1], p[2]};
    };
  };
  switch (kind) {
  case ConvKind::Forward:
    A = {[&](Value, const Operand::Hoisted &p, Value k) {
           auto c = ix.input(group, {p[0], p[1], p[2]}, k);
           return std::make_pair(c.valid, vec(c.at));
         },
         X, Spread::AlongMN, pixelOf(g.OH, g.OW)};
    B = {[&](Value n, const Operand::Hoisted &, Value k) {
           return std::make_pair(Value(), vec(ix.forwardWeight(group, n, k)));
         },
         Wt, Spread::AlongK};
    store = [&](Value m, Value n, Value acc) {
      SmallVector<Value> at = vec(ix.output(group, ix.pixel(m, g.OH, g.OW), n));
      if (Bias)
        acc = b.create<arith::AddFOp>(
            loc, acc, b.create<memref::LoadOp>(loc, Bias, ValueRange{at[1]}));
      if (activation != NNCRT_ACTIVATION_NONE) {
        // The runtime's post-ops: x > 0 ? x : 0, or x > 0 ? x : slope·x.
        Value pos = b.create<arith::CmpFOp>(loc, arith::CmpFPredicate::OGT, acc,
                                            e.f32(0.0));
        Value neg =
            activation == NNCRT_ACTIVATION_RELU
                ? e.f32(0.0)
                : b.create<arith::MulFOp>(loc, e.f32(slope), acc).getResult();
        acc = b.create<arith::SelectOp>(loc, pos, acc, neg);
      }
      storeRounded(e, acc, Y, at);
    };
    break;
  case ConvKind::BackwardData:
    A = {[&](Value, const Operand::Hoisted &p, Value k) {
           auto c = ix.gradOutput(group, {p[0], p[1], p[2]}, k);
           return std::make_pair(c.valid, vec(c.at));
         },
         DY, Spread::AlongMN, pixelOf(g.H, g.W)};
    B = {[&](Value n, const Operand::Hoisted &, Value k) {
           return std::make_pair(Value(),
                                 vec(ix.backwardDataWeight(group, n, k)));
         },
         Wt, Spread::AlongMN};
    store = [&](Value m, Value n, Value acc) {
      storeRounded(e, acc, DX,
                   vec(ix.gradInput(group, ix.pixel(m, g.H, g.W), n)));
    };
    break;
  case ConvKind::BackwardWeights:
    A = {[&](Value m, const Operand::Hoisted &, Value k) {
           return std::make_pair(
               Value(), vec(ix.output(group, ix.pixel(k, g.OH, g.OW), m)));
         },
         DY, Spread::AlongK};
    B = {[&](Value n, const Operand::Hoisted &, Value k) {
           auto c = ix.input(group, ix.pixel(k, g.OH, g.OW), n);
           return std::make_pair(c.valid, vec(c.at));
         },
         X, Spread::AlongK};
    store = [&](Value m, Value n, Value acc) {
      storeRounded(e, acc, DW, vec(ix.gradWeight(group, m, n)));
    };
    break;
  }
  if (perElement) {
    emitDotPerBlock(e, K, A, B, wg[0], store);
    e.finish();
    launch.grid = {N, M, g.groups};
    launch.block = {kReduceBlock, 1, 1};
    return launch;
  }
  if (bf16)
    emitTensorCoreImplicitGemm(e, M, N, K, A, B, wg[0], wg[1], store);
  else
    emitImplicitGemm(e, t, M, N, K, A, B, wg[0], wg[1], store);
  e.finish();
  launch.grid = {ceilDiv(M, BM), ceilDiv(N, BN), g.groups};
  launch.block = {threads, 1, 1};
  return launch;
}

//===----------------------------------------------------------------------===//
// Pooling
//===----------------------------------------------------------------------===//

constexpr int64_t kPoolBlock = 256;

/// An f32 scf.for over [0, n) carrying `init`; `body(i, carried)` gives the
/// new values.
SmallVector<Value>
forRange(KernelScope &e, int64_t n, ValueRange init,
         const std::function<SmallVector<Value>(Value, ValueRange)> &body) {
  auto loop = e.b.create<scf::ForOp>(e.loc, e.idx(0), e.idx(n), e.idx(1), init);
  OpBuilder::InsertionGuard g(e.b);
  e.b.setInsertionPointToStart(loop.getBody());
  e.b.create<scf::YieldOp>(
      e.loc, body(loop.getInductionVar(), loop.getRegionIterArgs()));
  return SmallVector<Value>(loop.getResults());
}

/// `then` if `cond`, else `otherwise`, as values.
SmallVector<Value> select(KernelScope &e, Value cond, ValueRange then,
                          ValueRange otherwise) {
  SmallVector<Value> out;
  for (auto [t, o] : llvm::zip(then, otherwise))
    out.push_back(e.b.create<arith::SelectOp>(e.loc, cond, t, o));
  return out;
}

/// The element of window (oh, ow) that the runtime's max pooling picks:
/// the first in-bounds element, replaced in row-major order by a greater
/// one or a NaN (`if (val > maxval || isnan(val))`, PyTorch's CPU rule).
/// Returns its value, row and column.
std::array<Value, 3> windowArgmax(KernelScope &e, PoolIndexing<KernelScope> &ix,
                                  const PoolGeometry &g, Value X, Value bc[2],
                                  Value oh, Value ow) {
  OpBuilder &b = e.b;
  Location loc = e.loc;
  Value h0 =
      e.max(e.sub(e.mul(oh, e.idx(g.strideH)), e.idx(g.padTop)), e.idx(0));
  Value w0 =
      e.max(e.sub(e.mul(ow, e.idx(g.strideW)), e.idx(g.padLeft)), e.idx(0));
  Value ninf = e.f32(-std::numeric_limits<double>::infinity());
  SmallVector<Value> r =
      forRange(e, g.KH, ValueRange{ninf, h0, w0}, [&](Value kh, ValueRange c) {
        return forRange(e, g.KW, c, [&](Value kw, ValueRange c) {
          // Plain values, not structured bindings: the builders capture them.
          std::pair<Value, Value> row = ix.row(oh, kh), col = ix.col(ow, kw);
          Value ok = e.both(row.first, col.first), h = row.second,
                w = col.second;
          auto ifOp = b.create<scf::IfOp>(
              loc, ok,
              [&](OpBuilder &nb, Location l) {
                OpBuilder::InsertionGuard gd(b);
                b.setInsertionPoint(nb.getInsertionBlock(),
                                    nb.getInsertionPoint());
                Value v = widen(e, b.create<memref::LoadOp>(
                                       l, X, ValueRange{bc[0], bc[1], h, w}));
                Value greater = b.create<arith::CmpFOp>(
                    l, arith::CmpFPredicate::OGT, v, c[0]);
                Value nan =
                    b.create<arith::CmpFOp>(l, arith::CmpFPredicate::UNO, v, v);
                Value take = b.create<arith::OrIOp>(l, greater, nan);
                b.create<scf::YieldOp>(l,
                                       select(e, take, ValueRange{v, h, w}, c));
              },
              [&](OpBuilder &nb, Location l) {
                nb.create<scf::YieldOp>(l, c);
              });
          return SmallVector<Value>(ifOp.getResults());
        });
      });
  return {r[0], r[1], r[2]};
}

/// The kernel of a pooling call on f32 buffers, or (`bf16`, the _bf16
/// calls) bf16 ones: values widened to f32 (exactly), sums and means in
/// f32, each result rounded once.
FailureOr<Launch> buildPooling(OpBuilder &mb, StringRef name,
                               RuntimeCallOp call, bool backward, bool bf16) {
  ArrayAttr scalars = call.getScalars();
  if (scalars.size() != 15 || call.getPointers().size() != (backward ? 3u : 2u))
    return call.emitOpError()
           << "has the wrong number of pointers or scalars for '"
           << call.getCallee() << "'";
  FailureOr<SmallVector<int64_t>> ints = integers(call, 0, 15);
  if (failed(ints))
    return failure();
  int64_t kind = (*ints)[0];
  if (kind != NNCRT_POOL_MAX && kind != NNCRT_POOL_AVG_INCLUDE_PAD &&
      kind != NNCRT_POOL_AVG_EXCLUDE_PAD)
    return call.emitOpError() << "has an unknown pooling kind " << kind;
  ArrayRef<int64_t> v = ArrayRef<int64_t>(*ints).drop_front();
  PoolGeometry g{v[0], v[1], v[2], v[3],  v[4],  v[5],  v[6],
                 v[7], v[8], v[9], v[10], v[11], v[12], v[13]};
  if (!g.isConsistent())
    return call.emitOpError("has an inconsistent pooling geometry");
  bool max = kind == NNCRT_POOL_MAX;
  Value x = pointerOperand(call, 0), y, dy, dx;
  if (backward)
    dy = pointerOperand(call, 1), dx = pointerOperand(call, 2);
  else
    y = pointerOperand(call, 1);
  SmallVector<int64_t> xShape{g.N, g.C, g.H, g.W}, yShape{g.N, g.C, g.OH, g.OW};
  if ((max || !backward) && !x)
    return call.emitOpError("has a null input where its GPU kernel reads it");
  if (!backward ? !y : !dy || !dx)
    return call.emitOpError("has a null pointer where its GPU kernel needs "
                            "a buffer");
  // The output (gradient) is a 16-bit buffer of both calls.
  Type elem = bf16 ? halfType(mb.getContext(), backward ? dy : y)
                   : Type(Float32Type::get(mb.getContext()));
  if (x && (max || !backward) &&
      failed(checkShape(call, x, "input", xShape, elem)))
    return failure();
  if (!backward && failed(checkShape(call, y, "output", yShape, elem)))
    return failure();
  if (backward &&
      (failed(checkShape(call, dy, "output gradient", yShape, elem)) ||
       failed(checkShape(call, dx, "input gradient", xShape, elem))))
    return failure();
  Value out = backward ? dx : y;
  for (Value in : call.getInputs())
    if (in == out)
      return call.emitOpError("writes a buffer it reads: its GPU kernel "
                              "gathers, so the two must not alias");

  llvm::SetVector<Value> operandSet;
  if (x && (max || !backward))
    operandSet.insert(x);
  for (Value o : {dy, y, dx})
    if (o)
      operandSet.insert(o);
  Launch launch;
  launch.operands.assign(operandSet.begin(), operandSet.end());
  launch.kernel =
      createKernel(mb, name, call.getLoc(), launch.operands, {}, kPoolBlock);
  KernelScope e(launch.kernel, call.getLoc());
  auto arg = [&](Value v) -> Value {
    if (!v || !operandSet.contains(v))
      return Value();
    return launch.kernel.getArgument(llvm::find(launch.operands, v) -
                                     launch.operands.begin());
  };
  Value X = arg(x), Y = arg(y), DY = arg(dy), DX = arg(dx);
  OpBuilder &b = e.b;
  Location loc = e.loc;
  PoolIndexing<KernelScope> ix{e, g};
  // One thread per output (forward) or per input element (backward).
  int64_t rows = backward ? g.H : g.OH, cols = backward ? g.W : g.OW;
  int64_t total = g.N * g.C * rows * cols;
  Value i = e.add(e.mul(e.blockId(gpu::Dimension::x), e.idx(kPoolBlock)),
                  e.threadId());
  e.ifThen(e.lt(i, e.idx(total)), [&] {
    // (b, channel) of the plane, then the row and column in it.
    Value bc[2] = {e.div(i, g.C * rows * cols),
                   e.rem(e.div(i, rows * cols), g.C)};
    Value r = e.rem(e.div(i, cols), rows), c = e.rem(i, cols);
    Value zero = e.f32(0.0);
    double fullWindow = double(g.KH * g.KW);
    auto divisor = [&](Value oh, Value ow) -> Value {
      if (kind == NNCRT_POOL_AVG_INCLUDE_PAD)
        return e.f32(fullWindow);
      Value n =
          e.b.create<arith::IndexCastOp>(loc, b.getI32Type(), ix.count(oh, ow));
      return b.create<arith::SIToFPOp>(loc, b.getF32Type(), n);
    };
    if (!backward) {
      Value result;
      if (max) {
        result = windowArgmax(e, ix, g, X, bc, r, c)[0];
      } else {
        // The window's sum in row-major order, then the mean.
        Value sum = forRange(e, g.KH, zero, [&](Value kh, ValueRange s) {
          return forRange(e, g.KW, s, [&](Value kw, ValueRange s) {
            auto [okH, h] = ix.row(r, kh);
            auto [okW, w] = ix.col(c, kw);
            Value v = widen(e, e.loadIf(e.both(okH, okW), X,
                                        ValueRange{bc[0], bc[1], h, w}));
            return SmallVector<Value>{
                b.create<arith::AddFOp>(loc, s[0], v).getResult()};
          });
        })[0];
        result = b.create<arith::DivFOp>(loc, sum, divisor(r, c));
      }
      storeRounded(e, result, Y, ValueRange{bc[0], bc[1], r, c});
      return;
    }
    // The backward gathers: the windows that hold input (r, c), in
    // row-major order of (oh, ow) — kh and kw descending — each adding its
    // gradient when it picked this element (max) or its share (average).
    Value sum = forRange(e, g.KH, zero, [&](Value i, ValueRange s) {
      Value kh = e.sub(e.idx(g.KH - 1), i);
      return forRange(e, g.KW, s, [&](Value j, ValueRange s) {
        Value kw = e.sub(e.idx(g.KW - 1), j);
        std::pair<Value, Value> wr = ix.windowRow(r, kh),
                                wc = ix.windowCol(c, kw);
        Value oh = wr.second, ow = wc.second;
        auto ifOp = b.create<scf::IfOp>(
            loc, e.both(wr.first, wc.first),
            [&](OpBuilder &nb, Location l) {
              OpBuilder::InsertionGuard gd(b);
              b.setInsertionPoint(nb.getInsertionBlock(),
                                  nb.getInsertionPoint());
              Value d = widen(e, b.create<memref::LoadOp>(
                                     l, DY, ValueRange{bc[0], bc[1], oh, ow}));
              if (max) {
                std::array<Value, 3> pick =
                    windowArgmax(e, ix, g, X, bc, oh, ow);
                Value picked =
                    e.both(e.cmp(arith::CmpIPredicate::eq, pick[1], r),
                           e.cmp(arith::CmpIPredicate::eq, pick[2], c));
                Value added = b.create<arith::AddFOp>(l, s[0], d);
                b.create<scf::YieldOp>(
                    l, b.create<arith::SelectOp>(l, picked, added, s[0])
                           .getResult());
                return;
              }
              Value term = b.create<arith::DivFOp>(l, d, divisor(oh, ow));
              b.create<scf::YieldOp>(
                  l, b.create<arith::AddFOp>(l, s[0], term).getResult());
            },
            [&](OpBuilder &nb, Location l) {
              nb.create<scf::YieldOp>(l, s[0]);
            });
        return SmallVector<Value>{ifOp.getResult(0)};
      });
    })[0];
    storeRounded(e, sum, DX, ValueRange{bc[0], bc[1], r, c});
  });
  e.finish();
  launch.grid = {ceilDiv(total, kPoolBlock), 1, 1};
  launch.block = {kPoolBlock, 1, 1};
  return launch;
}

} // namespace

namespace {
/// The calls with a kernel here, and what each builds.
enum class LibraryKernel { Conv, Pool };
struct LibraryCallee {
  StringLiteral name;
  LibraryKernel kernel;
  ConvKind conv; // Conv only.
  bool backward; // Pool only.
  bool bf16;
};
constexpr LibraryCallee kLibraryCallees[] = {
    {"nncrt_conv2d_forward", LibraryKernel::Conv, ConvKind::Forward, false,
     false},
    {"nncrt_conv2d_backward_data", LibraryKernel::Conv, ConvKind::BackwardData,
     false, false},
    {"nncrt_conv2d_backward_weights", LibraryKernel::Conv,
     ConvKind::BackwardWeights, false, false},
    {"nncrt_pool2d_forward", LibraryKernel::Pool, {}, false, false},
    {"nncrt_pool2d_backward", LibraryKernel::Pool, {}, true, false},
    {"nncrt_conv2d_forward_bf16", LibraryKernel::Conv, ConvKind::Forward, false,
     true},
    {"nncrt_conv2d_backward_data_bf16", LibraryKernel::Conv,
     ConvKind::BackwardData, false, true},
    {"nncrt_conv2d_backward_weights_bf16", LibraryKernel::Conv,
     ConvKind::BackwardWeights, false, true},
    {"nncrt_pool2d_forward_bf16", LibraryKernel::Pool, {}, false, true},
    {"nncrt_pool2d_backward_bf16", LibraryKernel::Pool, {}, true, true},
};

const LibraryCallee *lookupCallee(StringRef name) {
  for (const LibraryCallee &c : kLibraryCallees)
    if (c.name == name)
      return &c;
  return nullptr;
}
} // namespace

bool gpu_codegen::hasLibraryKernel(RuntimeCallOp call) {
  return lookupCallee(call.getCallee()) != nullptr;
}

ArrayRef<StringLiteral> gpu_codegen::getLibraryKernelCallees() {
  static const SmallVector<StringLiteral> names = llvm::map_to_vector(
      kLibraryCallees, [](const LibraryCallee &c) { return c.name; });
  return names;
}

FailureOr<Launch> gpu_codegen::buildLibraryKernel(OpBuilder &mb, StringRef name,
                                                  RuntimeCallOp call) {
  if (call.getNumResults() != 0)
    return call.emitOpError("must be bufferized before its GPU kernel is "
                            "built");
  const LibraryCallee *callee = lookupCallee(call.getCallee());
  if (!callee)
    return call.emitOpError()
           << "calls '" << call.getCallee() << "', which has no GPU kernel";
  if (callee->kernel == LibraryKernel::Conv)
    return buildConvolution(mb, name, call, callee->conv, callee->bf16);
  return buildPooling(mb, name, call, callee->backward, callee->bf16);
}
