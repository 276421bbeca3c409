//===- KernelBuilder.cpp - gpu.func kernels for linalg ops ----------------===//
//
// Part of nnc, under the Apache License v2.0 with LLVM Exceptions.
// See LICENSE for license information.
//
// Facts these builders rely on (MLIR 19, NVPTX): vector.fma lowers to
// fma.rn.f32 (arith mul + add would not fuse without fastmath<contract>);
// 128-bit global loads need memref.assume_alignment; shared memory is a
// workgroup attribution of the gpu.func (a workgroup memref.alloc would be
// a per-thread malloc), in the integer address space 3, with llvm.align 16
// or LLVM emits v4 shared loads on a 4-byte-aligned array; index constants
// are made once at the kernel's entry so every use is dominated.
//
//===----------------------------------------------------------------------===//

#include "KernelBuilder.h"

#include "nnc/Codegen/GPU/MmaFragments.h"
#include "nnc/Dialect/NN/IR/NNOps.h"
#include "nnc/Runtime/CPU/CPURuntime.h"

#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/Transforms/RegionUtils.h"
#include "llvm/ADT/SetVector.h"

#include <limits>

using namespace mlir;
using namespace mlir::nnc;
using namespace mlir::nnc::gpu_codegen;

namespace {

/// The distinct buffers among `values`, in order: the kernel's arguments
/// (scalars, constants all, are copied into the kernel).
SmallVector<Value> distinct(ValueRange values) {
  llvm::SetVector<Value> set;
  for (Value v : values)
    if (isa<MemRefType>(v.getType()))
      set.insert(v);
  return SmallVector<Value>(set.begin(), set.end());
}

} // namespace

//===----------------------------------------------------------------------===//
// KernelScope
//===----------------------------------------------------------------------===//

KernelScope::KernelScope(gpu::GPUFuncOp fn, Location loc)
    : fn(fn), b(fn.getContext()), entry(fn.getContext()), loc(loc) {
  Block &body = fn.getBody().front();
  // Constants go before the first one, so they precede all code.
  b.setInsertionPointToEnd(&body);
  indices[0] = b.create<arith::ConstantIndexOp>(loc, 0);
  entry.setInsertionPoint(indices[0].getDefiningOp());
}

Value KernelScope::idx(int64_t v) {
  Value &slot = indices[v];
  if (!slot)
    slot = entry.create<arith::ConstantIndexOp>(loc, v);
  return slot;
}

Value KernelScope::i32(int64_t v) {
  Value &slot = i32s[v];
  if (!slot)
    slot = entry.create<arith::ConstantOp>(loc, entry.getI32IntegerAttr(v));
  return slot;
}

Value KernelScope::f32(double v) {
  return entry.create<arith::ConstantOp>(loc, entry.getF32FloatAttr(v));
}

Value KernelScope::div(Value a, int64_t c) {
  return c == 1 ? a : b.create<arith::DivUIOp>(loc, a, idx(c)).getResult();
}

Value KernelScope::rem(Value a, int64_t c) {
  return c == 1 ? idx(0)
                : b.create<arith::RemUIOp>(loc, a, idx(c)).getResult();
}

Value KernelScope::cmp(arith::CmpIPredicate p, Value x, Value y) {
  return b.create<arith::CmpIOp>(loc, p, x, y);
}

SmallVector<Value> KernelScope::delinearize(Value linear,
                                            ArrayRef<int64_t> sizes) {
  SmallVector<Value> ivs(sizes.size());
  for (int64_t d = sizes.size() - 1; d >= 0; --d) {
    if (d == 0) {
      ivs[d] = linear;
      break;
    }
    ivs[d] = rem(linear, sizes[d]);
    linear = div(linear, sizes[d]);
  }
  return ivs;
}

SmallVector<Value> KernelScope::apply(AffineMap map, ValueRange ivs) {
  SmallVector<Value> out;
  for (AffineExpr e : map.getResults()) {
    if (auto dim = dyn_cast<AffineDimExpr>(e)) {
      out.push_back(ivs[dim.getPosition()]);
      continue;
    }
    if (auto c = dyn_cast<AffineConstantExpr>(e)) {
      out.push_back(idx(c.getValue()));
      continue;
    }
    out.push_back(b.create<affine::AffineApplyOp>(
        loc, AffineMap::get(map.getNumDims(), 0, e), ivs));
  }
  return out;
}

Value KernelScope::loadIf(Value valid, Value mem, ValueRange at) {
  Type elem = cast<MemRefType>(mem.getType()).getElementType();
  Value zero =
      elem.isF32()
          ? f32(0.0)
          : entry.create<arith::ConstantOp>(loc, entry.getZeroAttr(elem));
  auto ifOp = b.create<scf::IfOp>(
      loc, valid,
      [&](OpBuilder &nb, Location l) {
        nb.create<scf::YieldOp>(
            l, nb.create<memref::LoadOp>(l, mem, at).getResult());
      },
      [&](OpBuilder &nb, Location l) { nb.create<scf::YieldOp>(l, zero); });
  return ifOp.getResult(0);
}

void KernelScope::finish() { b.create<gpu::ReturnOp>(loc); }

LogicalResult KernelScope::mapCaptured(linalg::LinalgOp op, IRMapping &map) {
  llvm::SetVector<Value> captured;
  getUsedValuesDefinedAbove(op->getRegion(0), captured);
  for (Value v : captured) {
    Operation *def = v.getDefiningOp();
    if (!def || !def->hasTrait<OpTrait::ConstantLike>())
      return failure();
    map.map(v, entry.clone(*def)->getResult(0));
  }
  return success();
}

//===----------------------------------------------------------------------===//
// Matmuls
//===----------------------------------------------------------------------===//

namespace {
/// Block tile BM×BN, BK of k per step, TM×TN outputs a thread (multiples of
/// 4: each thread owns TM/4 × TN/4 chunks of 4×4, so its shared-memory reads
/// are 128-bit and conflict-free).
struct Tiling {
  int64_t BM, BN, BK, TM, TN;
  int64_t threads() const { return (BM / TM) * (BN / TN); }
};

/// The register-tiled kernel; requires M % BM == N % BN == K % BK == 0.
void emitTiledMatmul(KernelScope &k, const MatmulOperands &mm, Tiling t,
                     double beta, Value A, Value B, Value C, Value As, Value Bs,
                     Value alphaArg) {
  OpBuilder &b = k.b;
  Location loc = k.loc;
  MLIRContext *ctx = b.getContext();
  const int64_t TX = t.BN / t.TN, NT = t.threads();
  const bool aT = mm.lhsTransposed, bT = mm.rhsTransposed;
  auto f32 = Float32Type::get(ctx);
  auto v4 = VectorType::get({4}, f32);
  auto vn = VectorType::get({t.TN}, f32);
  for (Value v : {A, B, C})
    b.create<memref::AssumeAlignmentOp>(loc, v, 16);
  Value tid = k.threadId();
  Value tx = k.rem(tid, TX), ty = k.div(tid, TX);
  Value bm = k.mul(k.blockId(gpu::Dimension::y), k.idx(t.BM));
  Value bn = k.mul(k.blockId(gpu::Dimension::x), k.idx(t.BN));
  Value zero =
      k.entry.create<arith::ConstantOp>(loc, DenseElementsAttr::get(vn, 0.0f));

  // Copies of one k tile from global memory to shared memory: each thread
  // moves `vw` floats per item. A tile is stored k-major ([BK][BX]); an
  // operand whose rows are m (or n) with k contiguous is transposed on the
  // way in.
  struct Copy {
    Value src, dst;
    bool transpose;
    Value row, col; // thread's fixed coordinates in the global tile
    int64_t vw;
  };
  auto plan = [&](Value src, Value dst, bool transpose, int64_t BX,
                  Value base) {
    SmallVector<Copy> items;
    int64_t vw = std::min<int64_t>(4, BX * t.BK / NT);
    int64_t nvec = BX * t.BK / vw;
    for (int64_t l = 0; l < nvec / NT; ++l) {
      Value i = l ? k.add(tid, k.idx(l * NT)) : tid;
      Copy c{src, dst, transpose, {}, {}, vw};
      if (transpose) { // global [BX rows][BK cols]
        int64_t perRow = t.BK / vw;
        c.row = k.add(base, k.div(i, perRow));
        c.col = k.mul(k.rem(i, perRow), k.idx(vw)); // k offset
      } else {                                      // global [BK rows][BX cols]
        int64_t perRow = BX / vw;
        c.row = k.div(i, perRow); // k offset
        c.col = k.add(base, k.mul(k.rem(i, perRow), k.idx(vw)));
      }
      items.push_back(c);
    }
    return items;
  };
  SmallVector<Copy> copies = plan(A, As, !aT, t.BM, bm);
  for (const Copy &c : plan(B, Bs, bT, t.BN, bn))
    copies.push_back(c);

  SmallVector<Value> rowOff, colOff;
  for (int64_t ch = 0; ch < t.TM / 4; ++ch)
    rowOff.push_back(k.add(k.mul(ty, k.idx(4)), k.idx(ch * t.BM * 4 / t.TM)));
  for (int64_t ch = 0; ch < t.TN / 4; ++ch)
    colOff.push_back(k.add(k.mul(tx, k.idx(4)), k.idx(ch * t.BN * 4 / t.TN)));

  SmallVector<Value> init(t.TM, zero);
  auto loop =
      b.create<scf::ForOp>(loc, k.idx(0), k.idx(mm.K), k.idx(t.BK), init);
  {
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(loop.getBody());
    Value k0 = loop.getInductionVar();
    // Global -> registers -> shared.
    for (const Copy &c : copies) {
      auto vt = VectorType::get({c.vw}, f32);
      Value gRow = c.transpose ? c.row : k.add(k0, c.row);
      Value gCol = c.transpose ? k.add(k0, c.col) : c.col;
      Value x =
          b.create<vector::LoadOp>(loc, vt, c.src, ValueRange{gRow, gCol});
      if (c.transpose) {
        // Shared [k][x]: x = the global row's offset in the tile.
        Value xr = k.b.create<arith::SubIOp>(loc, c.row, c.dst == As ? bm : bn);
        for (int64_t e = 0; e < c.vw; ++e) {
          Value s = b.create<vector::ExtractOp>(loc, x, e);
          b.create<memref::StoreOp>(loc, s, c.dst,
                                    ValueRange{k.add(c.col, k.idx(e)), xr});
        }
      } else {
        Value xc = k.b.create<arith::SubIOp>(loc, c.col, c.dst == As ? bm : bn);
        b.create<vector::StoreOp>(loc, x, c.dst, ValueRange{c.row, xc});
      }
    }
    b.create<gpu::BarrierOp>(loc);
    SmallVector<Value> acc(loop.getRegionIterArgs());
    for (int64_t kk = 0; kk < t.BK; ++kk) {
      SmallVector<Value> av, bv;
      for (Value o : rowOff)
        av.push_back(
            b.create<vector::LoadOp>(loc, v4, As, ValueRange{k.idx(kk), o}));
      for (Value o : colOff)
        bv.push_back(
            b.create<vector::LoadOp>(loc, v4, Bs, ValueRange{k.idx(kk), o}));
      Value row = bv[0];
      for (unsigned j = 1; j < bv.size(); ++j) {
        SmallVector<int64_t> mask;
        for (int64_t e = 0; e < int64_t(4 * (j + 1)); ++e)
          mask.push_back(e);
        row = b.create<vector::ShuffleOp>(loc, row, bv[j], mask);
      }
      for (int64_t i = 0; i < t.TM; ++i) {
        Value s = b.create<vector::ExtractOp>(loc, av[i / 4], i % 4);
        Value bc = b.create<vector::BroadcastOp>(loc, vn, s);
        acc[i] = b.create<vector::FMAOp>(loc, bc, row, acc[i]);
      }
    }
    b.create<gpu::BarrierOp>(loc);
    b.create<scf::YieldOp>(loc, acc);
  }

  // Epilogue: out = alpha · acc + beta · out, 128-bit stores.
  Value alphaValue = k.f32(mm.alpha);
  if (alphaArg) {
    Value s = b.create<memref::LoadOp>(loc, alphaArg);
    alphaValue =
        mm.alpha == 1.0 ? s : b.create<arith::MulFOp>(loc, s, alphaValue);
  }
  Value alpha = b.create<vector::BroadcastOp>(loc, v4, alphaValue);
  Value betaV = b.create<vector::BroadcastOp>(loc, v4, k.f32(beta));
  for (int64_t i = 0; i < t.TM; ++i) {
    Value gr = k.add(k.add(bm, rowOff[i / 4]), k.idx(i % 4));
    for (unsigned j = 0; j < colOff.size(); ++j) {
      Value gc = k.add(bn, colOff[j]);
      Value x = b.create<vector::ExtractStridedSliceOp>(
          loc, loop.getResult(i), ArrayRef<int64_t>{int64_t(4 * j)},
          ArrayRef<int64_t>{4}, ArrayRef<int64_t>{1});
      if (mm.alpha != 1.0 || alphaArg)
        x = b.create<arith::MulFOp>(loc, x, alpha);
      if (beta != 0.0) {
        Value old = b.create<vector::LoadOp>(loc, v4, C, ValueRange{gr, gc});
        x = b.create<vector::FMAOp>(loc, old, betaV, x);
      }
      b.create<vector::StoreOp>(loc, x, C, ValueRange{gr, gc});
    }
  }
}

/// Any shape: 16×16 threads, one output each, 16×16 tiles of both operands
/// through shared memory with out-of-range elements read as 0. Row tiles
/// beyond what gridDim.y can number (kMaxGridYZ) are strided over by the
/// blocks of the grid.
void emitGuardedMatmul(KernelScope &k, const MatmulOperands &mm, double beta,
                       Value A, Value B, Value C, Value As, Value Bs,
                       Value alphaArg) {
  constexpr int64_t T = 16;
  OpBuilder &b = k.b;
  Location loc = k.loc;
  OpBuilder::InsertionGuard rowsGuard(b);
  Value rowTile = k.blockId(gpu::Dimension::y);
  if (ceilDiv(mm.M, T) > kMaxGridYZ) {
    // A loop uniform across the block, so its barriers stay uniform.
    auto rowTiles = b.create<scf::ForOp>(
        loc, rowTile, k.idx(ceilDiv(mm.M, T)),
        b.create<gpu::GridDimOp>(loc, gpu::Dimension::y));
    b.setInsertionPointToStart(rowTiles.getBody());
    rowTile = rowTiles.getInductionVar();
  }
  Value tid = k.threadId();
  Value tx = k.rem(tid, T), ty = k.div(tid, T);
  Value row = k.add(k.mul(rowTile, k.idx(T)), ty);
  Value col = k.add(k.mul(k.blockId(gpu::Dimension::x), k.idx(T)), tx);
  Value fzero = k.f32(0.0);
  auto lt = [&](Value a, int64_t n) {
    return b.create<arith::CmpIOp>(loc, arith::CmpIPredicate::ult, a, k.idx(n));
  };
  // op(X)[r, c] of a stored matrix, 0 outside.
  auto load = [&](Value src, bool transposed, Value r, Value c, int64_t rows,
                  int64_t cols) -> Value {
    Value ok = b.create<arith::AndIOp>(loc, lt(r, rows), lt(c, cols));
    auto ifOp = b.create<scf::IfOp>(
        loc, ok,
        [&](OpBuilder &nb, Location l) {
          Value v = nb.create<memref::LoadOp>(
              l, src, transposed ? ValueRange{c, r} : ValueRange{r, c});
          nb.create<scf::YieldOp>(l, v);
        },
        [&](OpBuilder &nb, Location l) { nb.create<scf::YieldOp>(l, fzero); });
    return ifOp.getResult(0);
  };
  auto loop = b.create<scf::ForOp>(loc, k.idx(0), k.idx(ceilDiv(mm.K, T) * T),
                                   k.idx(T), ValueRange{fzero});
  {
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(loop.getBody());
    Value k0 = loop.getInductionVar();
    // As[ty][tx] = op(A)[row, k0 + tx]; Bs[ty][tx] = op(B)[k0 + ty, col].
    b.create<memref::StoreOp>(loc,
                              load(mm.lhs == A ? A : A, mm.lhsTransposed, row,
                                   k.add(k0, tx), mm.M, mm.K),
                              As, ValueRange{ty, tx});
    b.create<memref::StoreOp>(
        loc, load(B, mm.rhsTransposed, k.add(k0, ty), col, mm.K, mm.N), Bs,
        ValueRange{ty, tx});
    b.create<gpu::BarrierOp>(loc);
    Value acc = loop.getRegionIterArgs()[0];
    for (int64_t kk = 0; kk < T; ++kk) {
      Value a = b.create<memref::LoadOp>(loc, As, ValueRange{ty, k.idx(kk)});
      Value bb = b.create<memref::LoadOp>(loc, Bs, ValueRange{k.idx(kk), tx});
      acc = b.create<math::FmaOp>(loc, a, bb, acc);
    }
    b.create<gpu::BarrierOp>(loc);
    b.create<scf::YieldOp>(loc, acc);
  }
  Value inside = b.create<arith::AndIOp>(loc, lt(row, mm.M), lt(col, mm.N));
  auto store = b.create<scf::IfOp>(loc, inside, /*withElse=*/false);
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPointToStart(&store.getThenRegion().front());
  Value x = loop.getResult(0);
  if (alphaArg)
    x = b.create<arith::MulFOp>(loc, x,
                                b.create<memref::LoadOp>(loc, alphaArg));
  if (mm.alpha != 1.0)
    x = b.create<arith::MulFOp>(loc, x, k.f32(mm.alpha));
  if (beta != 0.0) {
    Value old = b.create<memref::LoadOp>(loc, C, ValueRange{row, col});
    x = b.create<math::FmaOp>(loc, old, k.f32(beta), x);
  }
  b.create<memref::StoreOp>(loc, x, C, ValueRange{row, col});
}
} // namespace

FailureOr<Launch> gpu_codegen::buildMatmulKernel(OpBuilder &mb, StringRef name,
                                                 const MatmulOperands &mm,
                                                 double beta, Location loc) {
  // Mixed precision: bf16 (or f16) operands go to the tensor cores.
  if (mm.bf16)
    return buildTensorCoreMatmulKernel(mb, name, mm, beta, MatmulEpilogue(),
                                       loc);
  MLIRContext *ctx = mb.getContext();
  SmallVector<Value> operands = distinct(ValueRange{mm.lhs, mm.rhs, mm.out});
  if (operands.size() != 3)
    return failure(); // an operand aliasing the output: not a matmul here
  if (mm.alphaScalar)
    operands.push_back(mm.alphaScalar);
  // The register tile when the shape allows it: 128×128 blocks when there
  // are enough of them to fill the machine (132 SMs on an H200), else 64×64.
  std::optional<Tiling> tiling;
  for (Tiling t : {Tiling{128, 128, 8, 8, 8}, Tiling{64, 64, 16, 4, 4}}) {
    if (mm.M % t.BM || mm.N % t.BN || mm.K % t.BK)
      continue;
    if (t.BM == 128 && (mm.M / 128) * (mm.N / 128) < 128)
      continue;
    if (mm.M / t.BM > kMaxGridYZ)
      continue; // the guarded kernel strides over row tiles
    tiling = t;
    break;
  }
  Launch launch;
  launch.operands = operands;
  if (tiling) {
    Tiling t = *tiling;
    // Shared tiles are k-major; the ones filled by transposing scalar
    // stores are padded by 4 floats (no bank conflicts, 16-byte rows).
    int64_t padA = mm.lhsTransposed ? 0 : 4, padB = mm.rhsTransposed ? 4 : 0;
    launch.kernel = createKernel(mb, name, loc, operands,
                                 {sharedTile(ctx, t.BK, t.BM + padA),
                                  sharedTile(ctx, t.BK, t.BN + padB)},
                                 t.threads());
    KernelScope k(launch.kernel, loc);
    auto args = launch.kernel.getArguments();
    auto wg = launch.kernel.getWorkgroupAttributions();
    emitTiledMatmul(k, mm, t, beta, args[0], args[1], args[2], wg[0], wg[1],
                    mm.alphaScalar ? args[3] : Value());
    k.finish();
    launch.grid = {mm.N / t.BN, mm.M / t.BM, 1};
    launch.block = {t.threads(), 1, 1};
    return launch;
  }
  launch.kernel =
      createKernel(mb, name, loc, operands,
                   {sharedTile(ctx, 16, 16), sharedTile(ctx, 16, 16)}, 256);
  KernelScope k(launch.kernel, loc);
  auto args = launch.kernel.getArguments();
  auto wg = launch.kernel.getWorkgroupAttributions();
  emitGuardedMatmul(k, mm, beta, args[0], args[1], args[2], wg[0], wg[1],
                    mm.alphaScalar ? args[3] : Value());
  k.finish();
  launch.grid = {ceilDiv(mm.N, 16), std::min(ceilDiv(mm.M, 16), kMaxGridYZ), 1};
  launch.block = {256, 1, 1};
  return launch;
}

//===----------------------------------------------------------------------===//
// Tensor-core matmuls (bf16, f16)
//===----------------------------------------------------------------------===//

namespace {
/// An index value of a kernel under construction with the integer
/// operators mma::fragmentCoord uses, so the builder evaluates the same
/// function the unit test checks against the PTX ISA.
struct IndexExpr {
  KernelScope *k;
  Value v;
  friend IndexExpr operator/(IndexExpr a, int64_t c) {
    return {a.k, a.k->div(a.v, c)};
  }
  friend IndexExpr operator%(IndexExpr a, int64_t c) {
    return {a.k, a.k->rem(a.v, c)};
  }
  friend IndexExpr operator*(IndexExpr a, int64_t c) {
    return {a.k, a.k->mul(a.v, a.k->idx(c))};
  }
  friend IndexExpr operator+(IndexExpr a, int64_t c) {
    return c == 0 ? a : IndexExpr{a.k, a.k->add(a.v, a.k->idx(c))};
  }
};

/// Block tile 64×64 of 4 warps in 2×2, each 32×32: 2 × 4 mma tiles of
/// 16×8. k tiles of 32 (two mma k-steps). Shared tiles are stored [m][k]
/// and [n][k], k contiguous, so each 32-bit fragment register is one
/// shared load; rows are padded by 8 elements (80 bytes: the 8 rows a
/// fragment load touches fall in distinct banks, and rows stay 16-byte
/// aligned for the 128-bit stores that fill them).
constexpr int64_t kTcPad = 8, kTcWarpM = 32, kTcWarpN = 32;
constexpr int64_t kTcMTiles = kTcWarpM / mma::kM, kTcNTiles = kTcWarpN / mma::kN;

/// D = A·B + C on one 16×8×16 tile, f32 accumulators. f16 is
/// nvvm.mma.sync. For bf16, MLIR 19's nvvm.mma.sync verifier wants f16x2
/// multiplicands while the intrinsic it becomes takes i32 (the PTX
/// encoding), so no bf16 nvvm.mma.sync can be both verified and translated
/// (llvm/llvm-project#122664, fixed in LLVM 20): bf16 calls that intrinsic,
/// llvm.nvvm.mma.m16n8k16.row.col.bf16, directly, with i32 registers.
Value emitMma(OpBuilder &b, Location loc, Type resultType, bool isBF16,
              ValueRange a, ValueRange bRegs, ValueRange c) {
  if (isBF16) {
    SmallVector<Value> args(a);
    llvm::append_range(args, bRegs);
    llvm::append_range(args, c);
    return b
        .create<LLVM::CallIntrinsicOp>(
            loc, resultType,
            b.getStringAttr("llvm.nvvm.mma.m16n8k16.row.col.bf16"), args)
        .getResult(0);
  }
  return b.create<NVVM::MmaOp>(
      loc, resultType, a, bRegs, c,
      ArrayRef<int64_t>{mma::kM, mma::kN, mma::kK}, std::nullopt,
      std::nullopt,
      std::array<NVVM::MMATypes, 2>{NVVM::MMATypes::f16, NVVM::MMATypes::f16},
      std::array<NVVM::MMALayout, 2>{NVVM::MMALayout::row,
                                     NVVM::MMALayout::col});
}

void emitTensorCoreMatmul(KernelScope &k, const MatmulOperands &mm, double beta,
                          const MatmulEpilogue &epi, bool guarded, Value A,
                          Value B, Value C, Value bias, Value As, Value Bs,
                          Value alphaArg) {
  OpBuilder &b = k.b;
  Location loc = k.loc;
  Type elem = cast<MemRefType>(A.getType()).getElementType();
  Type outElem = cast<MemRefType>(C.getType()).getElementType();
  auto f32 = b.getF32Type();
  if (!guarded)
    for (Value v : {A, B})
      b.create<memref::AssumeAlignmentOp>(loc, v, 16);

  Value tid = k.threadId();
  Value bm = k.mul(k.blockId(gpu::Dimension::y), k.idx(kTcBM));
  Value bn = k.mul(k.blockId(gpu::Dimension::x), k.idx(kTcBN));
  Value zeroElem =
      k.entry.create<arith::ConstantOp>(loc, b.getFloatAttr(elem, 0.0));
  auto lt = [&](Value a, int64_t n) {
    return b.create<arith::CmpIOp>(loc, arith::CmpIPredicate::ult, a, k.idx(n));
  };

  // One k tile of op(X) into dst[outer][k]: outer is m for A, n for B.
  // `kContiguous`: X is stored [outer][K], else [K][outer] (transposed on
  // the way in, element by element).
  auto stage = [&](Value src, bool kContiguous, Value base, int64_t outer,
                   Value dst, Value k0) {
    if (guarded) {
      // Thread t takes elements t, t + 128, ... of the tile in [o][k]
      // order; out-of-range ones are 0 (they add exact zeros).
      for (int64_t l = 0; l < kTcBM * kTcBK / kTcThreads; ++l) {
        Value c = l ? k.add(tid, k.idx(l * kTcThreads)) : tid;
        Value o = k.div(c, kTcBK), kk = k.rem(c, kTcBK);
        Value go = k.add(base, o), gk = k.add(k0, kk);
        Value ok = b.create<arith::AndIOp>(loc, lt(go, outer), lt(gk, mm.K));
        auto ifOp = b.create<scf::IfOp>(
            loc, ok,
            [&](OpBuilder &nb, Location l) {
              Value v = nb.create<memref::LoadOp>(
                  l, src, kContiguous ? ValueRange{go, gk} : ValueRange{gk, go});
              nb.create<scf::YieldOp>(l, v);
            },
            [&](OpBuilder &nb, Location l) {
              nb.create<scf::YieldOp>(l, zeroElem);
            });
        b.create<memref::StoreOp>(loc, ifOp.getResult(0), dst,
                                  ValueRange{o, kk});
      }
      return;
    }
    // 128-bit loads of 8 elements; two a thread.
    auto v8 = VectorType::get({8}, elem);
    for (int64_t l = 0; l < kTcBM * kTcBK / (8 * kTcThreads); ++l) {
      Value c = l ? k.add(tid, k.idx(l * kTcThreads)) : tid;
      if (kContiguous) {
        Value o = k.div(c, kTcBK / 8), kc = k.mul(k.rem(c, kTcBK / 8), k.idx(8));
        Value x = b.create<vector::LoadOp>(
            loc, v8, src, ValueRange{k.add(base, o), k.add(k0, kc)});
        b.create<vector::StoreOp>(loc, x, dst, ValueRange{o, kc});
      } else {
        Value kr = k.div(c, kTcBM / 8), oc = k.mul(k.rem(c, kTcBM / 8), k.idx(8));
        Value x = b.create<vector::LoadOp>(
            loc, v8, src, ValueRange{k.add(k0, kr), k.add(base, oc)});
        for (int64_t e = 0; e < 8; ++e)
          b.create<memref::StoreOp>(loc,
                                    b.create<vector::ExtractOp>(loc, x, e), dst,
                                    ValueRange{k.add(oc, k.idx(e)), kr});
      }
    }
  };

  // Epilogue, element by element of the C fragments.
  Value alphaValue = k.f32(mm.alpha);
  if (alphaArg) {
    Value s = b.create<memref::LoadOp>(loc, alphaArg);
    alphaValue =
        mm.alpha == 1.0 ? s : b.create<arith::MulFOp>(loc, s, alphaValue);
  }
  Value fzero = k.f32(0.0), slope = k.f32(epi.slope);
  auto epilogue = [&](Value row, Value col, Value x) {
    OpBuilder::InsertionGuard g(b);
    if (guarded) {
      Value inside = b.create<arith::AndIOp>(loc, lt(row, mm.M), lt(col, mm.N));
      auto ifOp = b.create<scf::IfOp>(loc, inside, /*withElse=*/false);
      b.setInsertionPointToStart(&ifOp.getThenRegion().front());
    }
    if (mm.alpha != 1.0 || alphaArg)
      x = b.create<arith::MulFOp>(loc, x, alphaValue);
    if (beta != 0.0) {
      Value old = b.create<memref::LoadOp>(loc, C, ValueRange{row, col});
      x = b.create<math::FmaOp>(loc, old, k.f32(beta), x);
    }
    if (bias)
      x = b.create<arith::AddFOp>(
          loc, x, b.create<memref::LoadOp>(loc, bias, ValueRange{col}));
    if (epi.activation != MatmulEpilogue::Activation::None) {
      // x > 0 ? x : 0 (or slope·x), as the CPU runtime's post-op.
      Value pos =
          b.create<arith::CmpFOp>(loc, arith::CmpFPredicate::OGT, x, fzero);
      Value neg = epi.activation == MatmulEpilogue::Activation::Relu
                      ? fzero
                      : b.create<arith::MulFOp>(loc, x, slope).getResult();
      x = b.create<arith::SelectOp>(loc, pos, x, neg);
    }
    if (outElem != f32)
      x = b.create<arith::TruncFOp>(loc, outElem, x);
    b.create<memref::StoreOp>(loc, x, C, ValueRange{row, col});
  };
  emitTensorCoreProduct(
      k, elem, mm.K, bm, bn, As, Bs,
      [&](Value k0) {
        stage(A, !mm.lhsTransposed, bm, mm.M, As, k0);
        stage(B, mm.rhsTransposed, bn, mm.N, Bs, k0);
      },
      epilogue);
}
} // namespace

MemRefType gpu_codegen::tensorCoreTile(MLIRContext *ctx, Type elem,
                                       int64_t rows) {
  return MemRefType::get({rows, kTcBK + kTcPad}, elem,
                         MemRefLayoutAttrInterface{},
                         IntegerAttr::get(IntegerType::get(ctx, 64), 3));
}

void gpu_codegen::emitTensorCoreProduct(
    KernelScope &k, Type elem, int64_t K, Value bm, Value bn, Value As,
    Value Bs, function_ref<void(Value)> stage,
    function_ref<void(Value, Value, Value)> store) {
  OpBuilder &b = k.b;
  Location loc = k.loc;
  MLIRContext *ctx = b.getContext();
  auto f32 = b.getF32Type();
  const bool isBF16 = elem.isBF16();
  Value tid = k.threadId();
  Value warp = k.div(tid, 32), lane = k.rem(tid, 32);
  Value wm = k.mul(k.div(warp, 2), k.idx(kTcWarpM));
  Value wn = k.mul(k.rem(warp, 2), k.idx(kTcWarpN));

  // The lane's fragment coordinates (PTX ISA layouts, MmaFragments.h), in
  // its warp's tile.
  IndexExpr laneE{&k, lane};
  SmallVector<mma::Coord<IndexExpr>> aCoord, bCoord, cCoord;
  for (int64_t r = 0; r < 4; ++r)
    aCoord.push_back(mma::fragmentCoord(mma::Fragment::A, laneE, 2 * r));
  for (int64_t r = 0; r < 2; ++r)
    bCoord.push_back(mma::fragmentCoord(mma::Fragment::B, laneE, 2 * r));
  for (int64_t i = 0; i < 4; ++i)
    cCoord.push_back(mma::fragmentCoord(mma::Fragment::C, laneE, i));

  SmallVector<Value> init(kTcMTiles * kTcNTiles * 4, k.f32(0.0));
  auto loop = b.create<scf::ForOp>(
      loc, k.idx(0), k.idx(ceilDiv(K, kTcBK) * kTcBK), k.idx(kTcBK), init);
  {
    OpBuilder::InsertionGuard g(b);
    b.setInsertionPointToStart(loop.getBody());
    Value k0 = loop.getInductionVar();
    stage(k0);
    b.create<gpu::BarrierOp>(loc);
    SmallVector<Value> acc(loop.getRegionIterArgs());
    auto v2 = VectorType::get({2}, elem);
    auto v1i32 = VectorType::get({1}, b.getI32Type());
    // A register: two elements adjacent along k, one 32-bit shared load;
    // bf16 goes to mma.sync as i32, f16 as vector<2xf16>.
    auto reg = [&](Value tile, Value row, Value col) -> Value {
      Value x = b.create<vector::LoadOp>(loc, v2, tile, ValueRange{row, col});
      if (!isBF16)
        return x;
      return b.create<vector::ExtractOp>(
          loc, b.create<vector::BitCastOp>(loc, v1i32, x), 0);
    };
    auto resultType = LLVM::LLVMStructType::getLiteral(ctx, {f32, f32, f32, f32});
    for (int64_t ks = 0; ks < kTcBK; ks += mma::kK) {
      SmallVector<SmallVector<Value>> aRegs(kTcMTiles), bRegs(kTcNTiles);
      for (int64_t mt = 0; mt < kTcMTiles; ++mt)
        for (const auto &c : aCoord)
          aRegs[mt].push_back(
              reg(As, k.add(wm, (c.row + mt * mma::kM).v), (c.col + ks).v));
      for (int64_t nt = 0; nt < kTcNTiles; ++nt)
        for (const auto &c : bCoord)
          bRegs[nt].push_back(
              reg(Bs, k.add(wn, (c.col + nt * mma::kN).v), (c.row + ks).v));
      for (int64_t mt = 0; mt < kTcMTiles; ++mt)
        for (int64_t nt = 0; nt < kTcNTiles; ++nt) {
          MutableArrayRef<Value> c =
              MutableArrayRef<Value>(acc).slice((mt * kTcNTiles + nt) * 4, 4);
          Value d = emitMma(b, loc, resultType, isBF16, aRegs[mt], bRegs[nt],
                            SmallVector<Value>(c));
          for (int64_t i = 0; i < 4; ++i)
            c[i] = b.create<LLVM::ExtractValueOp>(loc, d, i);
        }
    }
    b.create<gpu::BarrierOp>(loc);
    b.create<scf::YieldOp>(loc, acc);
  }

  // Each accumulator at its row and column of the product.
  for (int64_t mt = 0; mt < kTcMTiles; ++mt)
    for (int64_t nt = 0; nt < kTcNTiles; ++nt)
      for (int64_t i = 0; i < 4; ++i)
        store(k.add(k.add(bm, wm), (cCoord[i].row + mt * mma::kM).v),
              k.add(k.add(bn, wn), (cCoord[i].col + nt * mma::kN).v),
              loop.getResult((mt * kTcNTiles + nt) * 4 + i));
}

FailureOr<Launch> gpu_codegen::buildTensorCoreMatmulKernel(
    OpBuilder &mb, StringRef name, const MatmulOperands &mm, double beta,
    const MatmulEpilogue &epilogue, Location loc) {
  MLIRContext *ctx = mb.getContext();
  Type elem = cast<MemRefType>(mm.lhs.getType()).getElementType();
  Type outElem = cast<MemRefType>(mm.out.getType()).getElementType();
  if (!(elem.isBF16() || elem.isF16()) ||
      cast<MemRefType>(mm.rhs.getType()).getElementType() != elem ||
      !(outElem.isF32() || outElem == elem) ||
      (beta != 0.0 && !outElem.isF32()))
    return failure();
  SmallVector<Value> operands = distinct(ValueRange{mm.lhs, mm.rhs, mm.out});
  if (operands.size() != 3)
    return failure();
  if (epilogue.bias)
    operands.push_back(epilogue.bias);
  if (mm.alphaScalar)
    operands.push_back(mm.alphaScalar);
  bool guarded = mm.M % kTcBM || mm.N % kTcBN || mm.K % kTcBK;
  Launch launch;
  launch.operands = operands;
  launch.kernel = createKernel(
      mb, name, loc, operands,
      {tensorCoreTile(ctx, elem, kTcBM), tensorCoreTile(ctx, elem, kTcBN)},
      kTcThreads);
  KernelScope k(launch.kernel, loc);
  auto args = launch.kernel.getArguments();
  auto wg = launch.kernel.getWorkgroupAttributions();
  unsigned next = 3;
  Value bias = epilogue.bias ? args[next++] : Value();
  Value alphaArg = mm.alphaScalar ? args[next++] : Value();
  emitTensorCoreMatmul(k, mm, beta, epilogue, guarded, args[0], args[1],
                       args[2], bias, wg[0], wg[1], alphaArg);
  k.finish();
  launch.grid = {ceilDiv(mm.N, kTcBN), ceilDiv(mm.M, kTcBM), 1};
  launch.block = {kTcThreads, 1, 1};
  return launch;
}

FailureOr<Launch> gpu_codegen::buildGemmCallKernel(OpBuilder &mb,
                                                   StringRef name,
                                                   Operation *op) {
  auto call = dyn_cast<RuntimeCallOp>(op);
  if (!call || call.getCallee() != "nncrt_gemm_bf16" ||
      call.getNumResults() != 0)
    return failure();
  // nncrt_gemm_bf16(transA, transB, M, N, K, alpha, A, lda, B, ldb, beta,
  //                 C, ldc, cType, bias, activation, slope).
  SmallVector<Value> buffers(call.getInputs());
  llvm::append_range(buffers, call.getOutputs());
  ArrayRef<int64_t> ptrs = call.getPointers();
  ArrayAttr scalars = call.getScalars();
  if (ptrs.size() != 4 || scalars.size() != 13)
    return failure();
  auto intAt = [&](unsigned i) {
    return cast<IntegerAttr>(scalars[i]).getValue().getSExtValue();
  };
  auto floatAt = [&](unsigned i) {
    return cast<FloatAttr>(scalars[i]).getValueAsDouble();
  };
  auto buffer = [&](int64_t p) {
    return p >= 0 && p < int64_t(buffers.size()) ? buffers[p] : Value();
  };
  MatmulOperands mm;
  mm.lhs = buffer(ptrs[0]);
  mm.rhs = buffer(ptrs[1]);
  mm.out = buffer(ptrs[2]);
  mm.lhsTransposed = intAt(0);
  mm.rhsTransposed = intAt(1);
  mm.M = intAt(2), mm.N = intAt(3), mm.K = intAt(4);
  mm.alpha = floatAt(5);
  mm.bf16 = true;
  double beta = floatAt(8);
  MatmulEpilogue epi;
  epi.bias = buffer(ptrs[3]);
  switch (intAt(11)) {
  case NNCRT_ACTIVATION_NONE:
    break;
  case NNCRT_ACTIVATION_RELU:
    epi.activation = MatmulEpilogue::Activation::Relu;
    break;
  case NNCRT_ACTIVATION_LEAKY_RELU:
    epi.activation = MatmulEpilogue::Activation::LeakyRelu;
    epi.slope = floatAt(12);
    break;
  default:
    return failure();
  }
  // Dense row-major operands of exactly the call's shape.
  auto dense = [](Value v, int64_t rows, int64_t cols, int64_t ld) {
    auto t = v ? dyn_cast<MemRefType>(v.getType()) : MemRefType();
    return t && t.getRank() == 2 && t.getLayout().isIdentity() &&
           t.getDimSize(0) == rows && t.getDimSize(1) == cols && ld == cols;
  };
  if (!mm.lhs || !mm.rhs || !mm.out ||
      !dense(mm.lhs, mm.lhsTransposed ? mm.K : mm.M,
             mm.lhsTransposed ? mm.M : mm.K, intAt(6)) ||
      !dense(mm.rhs, mm.rhsTransposed ? mm.N : mm.K,
             mm.rhsTransposed ? mm.K : mm.N, intAt(7)) ||
      !dense(mm.out, mm.M, mm.N, intAt(9)))
    return failure();
  if (epi.bias) {
    auto t = dyn_cast<MemRefType>(epi.bias.getType());
    if (!t || t.getRank() != 1 || t.getDimSize(0) != mm.N ||
        !t.getElementType().isF32())
      return failure();
  }
  return buildTensorCoreMatmulKernel(mb, name, mm, beta, epi, call.getLoc());
}

//===----------------------------------------------------------------------===//
// Elementwise maps
//===----------------------------------------------------------------------===//

/// Clones the body of `op` at `k.b` with block arguments `args` and
/// linalg.index values `ivs`; returns the yielded values.
static SmallVector<Value> cloneBody(KernelScope &k, linalg::LinalgOp op,
                                    ValueRange args, ValueRange ivs,
                                    IRMapping &map) {
  Block *body = op.getBlock();
  map.map(body->getArguments().take_front(args.size()), args);
  for (Operation &inner : body->without_terminator()) {
    if (auto index = dyn_cast<linalg::IndexOp>(inner)) {
      map.map(index.getResult(), ivs[index.getDim()]);
      continue;
    }
    k.b.clone(inner, map);
  }
  SmallVector<Value> out;
  for (Value v : body->getTerminator()->getOperands())
    out.push_back(map.lookupOrDefault(v));
  return out;
}

FailureOr<Launch> gpu_codegen::buildElementwiseKernel(OpBuilder &mb,
                                                      StringRef name,
                                                      linalg::LinalgOp op) {
  if (!op.hasPureBufferSemantics() ||
      op.getNumLoops() != op.getNumParallelLoops())
    return failure();
  SmallVector<int64_t> ranges = op.getStaticLoopRanges();
  int64_t n = 1;
  for (int64_t r : ranges) {
    if (ShapedType::isDynamic(r))
      return failure();
    n *= r;
  }
  constexpr int64_t kBlock = 256;
  Launch launch;
  launch.operands = distinct(op->getOperands());
  launch.kernel =
      createKernel(mb, name, op.getLoc(), launch.operands, {}, kBlock);
  KernelScope k(launch.kernel, op.getLoc());
  IRMapping args;
  args.map(launch.operands, launch.kernel.getArguments());
  IRMapping bodyMap, scalars;
  if (failed(k.mapCaptured(op, bodyMap))) {
    launch.kernel.erase();
    return failure();
  }
  for (Value v : op->getOperands()) {
    if (isa<MemRefType>(v.getType()))
      continue;
    Operation *def = v.getDefiningOp();
    if (!def || !def->hasTrait<OpTrait::ConstantLike>()) {
      launch.kernel.erase();
      return failure();
    }
    scalars.map(v, k.entry.clone(*def)->getResult(0));
  }
  OpBuilder &b = k.b;
  Location loc = k.loc;
  Value i =
      k.add(k.mul(k.blockId(gpu::Dimension::x), k.idx(kBlock)), k.threadId());
  Value inside =
      b.create<arith::CmpIOp>(loc, arith::CmpIPredicate::ult, i, k.idx(n));
  auto guard = b.create<scf::IfOp>(loc, inside, /*withElse=*/false);
  {
    OpBuilder::InsertionGuard g(b);
    b.setInsertionPointToStart(&guard.getThenRegion().front());
    SmallVector<Value> ivs =
        ranges.empty() ? SmallVector<Value>() : k.delinearize(i, ranges);
    SmallVector<Value> loaded;
    for (OpOperand *in : op.getDpsInputOperands()) {
      if (!isa<MemRefType>(in->get().getType())) { // a scalar (fill value)
        loaded.push_back(scalars.lookup(in->get()));
        continue;
      }
      Value mem = args.lookup(in->get());
      loaded.push_back(b.create<memref::LoadOp>(
          loc, mem, k.apply(op.getMatchingIndexingMap(in), ivs)));
    }
    // Output block arguments, read only if the body reads them.
    for (OpOperand &out : op.getDpsInitsMutable()) {
      Value mem = args.lookup(out.get());
      if (op.payloadUsesValueFromOperand(&out))
        loaded.push_back(b.create<memref::LoadOp>(
            loc, mem, k.apply(op.getMatchingIndexingMap(&out), ivs)));
      else
        loaded.push_back(Value());
    }
    SmallVector<Value> results;
    if (isa<linalg::FillOp>(op))
      results.push_back(loaded[0]);
    else if (isa<linalg::CopyOp>(op))
      results.push_back(loaded[0]);
    else
      results = cloneBody(k, op, loaded, ivs, bodyMap);
    for (auto [out, v] : llvm::zip(op.getDpsInitsMutable(), results))
      b.create<memref::StoreOp>(loc, v, args.lookup(out.get()),
                                k.apply(op.getMatchingIndexingMap(&out), ivs));
  }
  k.finish();
  launch.grid = {ceilDiv(n, kBlock), 1, 1};
  launch.block = {kBlock, 1, 1};
  return launch;
}

//===----------------------------------------------------------------------===//
// Reductions
//===----------------------------------------------------------------------===//

/// The identity of a combiner, or none for an op that is not one.
static std::optional<double> identityOf(Operation *combiner) {
  constexpr double inf = std::numeric_limits<double>::infinity();
  if (isa<arith::AddFOp>(combiner))
    return 0.0;
  if (isa<arith::MulFOp>(combiner))
    return 1.0;
  if (isa<arith::MaximumFOp, arith::MaxNumFOp>(combiner))
    return -inf;
  if (isa<arith::MinimumFOp, arith::MinNumFOp>(combiner))
    return inf;
  return std::nullopt;
}

FailureOr<Launch> gpu_codegen::buildReductionKernel(OpBuilder &mb,
                                                    StringRef name,
                                                    linalg::GenericOp op) {
  if (!op.hasPureBufferSemantics() || op.getNumDpsInits() != 1 ||
      op.getNumReductionLoops() == 0)
    return failure();
  Block *body = op.getBlock();
  BlockArgument outArg = body->getArguments().back();
  auto yield = cast<linalg::YieldOp>(body->getTerminator());
  Operation *combiner = yield.getOperand(0).getDefiningOp();
  if (!combiner || combiner->getBlock() != body ||
      combiner->getNumOperands() != 2 || !identityOf(combiner) ||
      !outArg.hasOneUse() || *outArg.getUsers().begin() != combiner)
    return failure();
  Value termValue = combiner->getOperand(0) == outArg ? combiner->getOperand(1)
                                                      : combiner->getOperand(0);
  // f32, or f64 for the sums of squares nn.norm and the trust ratios of
  // LARS and LAMB accumulate in.
  Type accType = outArg.getType();
  if (!accType.isF32() && !accType.isF64())
    return failure();

  SmallVector<int64_t> ranges = op.getStaticLoopRanges();
  SmallVector<unsigned> par, red;
  SmallVector<int64_t> parSizes, redSizes;
  int64_t np = 1, nr = 1;
  for (auto [d, it] : llvm::enumerate(op.getIteratorTypesArray())) {
    if (ShapedType::isDynamic(ranges[d]))
      return failure();
    if (it == utils::IteratorType::parallel) {
      par.push_back(d), parSizes.push_back(ranges[d]), np *= ranges[d];
    } else {
      red.push_back(d), redSizes.push_back(ranges[d]), nr *= ranges[d];
    }
  }
  // A power of two from one warp to 256 threads, about the reduction's size.
  int64_t block = 32;
  while (block < 256 && block < nr)
    block *= 2;
  const int64_t warps = block / 32;

  MLIRContext *ctx = mb.getContext();
  Launch launch;
  launch.operands = distinct(op->getOperands());
  auto sharedType =
      MemRefType::get({32}, accType, MemRefLayoutAttrInterface{},
                      IntegerAttr::get(IntegerType::get(ctx, 64), 3));
  launch.kernel =
      createKernel(mb, name, op.getLoc(), launch.operands, {sharedType}, block);
  KernelScope k(launch.kernel, op.getLoc());
  IRMapping args;
  args.map(launch.operands, launch.kernel.getArguments());
  IRMapping captured;
  if (failed(k.mapCaptured(op, captured))) {
    launch.kernel.erase();
    return failure();
  }
  Value partials = launch.kernel.getWorkgroupAttributions()[0];
  OpBuilder &b = k.b;
  Location loc = k.loc;
  Value identity = b.create<arith::ConstantOp>(
      loc, b.getFloatAttr(accType, *identityOf(combiner)));
  auto combine = [&](Value acc, Value v) {
    IRMapping m = captured;
    m.map(outArg, acc);
    m.map(termValue, v);
    Operation *c = b.clone(*combiner, m);
    // clone maps both operands: the term operand is replaced by v, the out
    // operand by acc.
    return c->getResult(0);
  };

  Value tid = k.threadId();
  Value p = k.blockId(gpu::Dimension::x);
  SmallVector<Value> pivs =
      parSizes.empty() ? SmallVector<Value>() : k.delinearize(p, parSizes);
  // Each thread folds r = tid, tid + block, ... in order.
  auto loop = b.create<scf::ForOp>(loc, tid, k.idx(nr), k.idx(block),
                                   ValueRange{identity});
  {
    OpBuilder::InsertionGuard g(b);
    b.setInsertionPointToStart(loop.getBody());
    SmallVector<Value> rivs = k.delinearize(loop.getInductionVar(), redSizes);
    SmallVector<Value> ivs(ranges.size());
    for (auto [i, d] : llvm::enumerate(par))
      ivs[d] = pivs[i];
    for (auto [i, d] : llvm::enumerate(red))
      ivs[d] = rivs[i];
    SmallVector<Value> loaded;
    for (OpOperand *in : op.getDpsInputOperands())
      loaded.push_back(b.create<memref::LoadOp>(
          loc, args.lookup(in->get()),
          k.apply(op.getMatchingIndexingMap(in), ivs)));
    // The body without its combiner computes the term.
    Block *inner = op.getBlock();
    IRMapping m = captured;
    m.map(inner->getArguments().take_front(loaded.size()), loaded);
    for (Operation &o : inner->without_terminator()) {
      if (&o == combiner)
        continue;
      if (auto index = dyn_cast<linalg::IndexOp>(o)) {
        m.map(index.getResult(), ivs[index.getDim()]);
        continue;
      }
      b.clone(o, m);
    }
    Value term = m.lookupOrDefault(termValue);
    b.create<scf::YieldOp>(loc, combine(loop.getRegionIterArgs()[0], term));
  }
  // Within each warp, a butterfly; then warp 0 folds the warps' partials.
  // NVVM's shuffle moves 32 bits: an f64 goes as its two halves.
  auto shuffle = [&](Value v, int64_t off) -> Value {
    auto shfl = [&](Value x) -> Value {
      return b
          .create<gpu::ShuffleOp>(loc, x, k.i32(off), k.i32(32),
                                  gpu::ShuffleMode::XOR)
          .getShuffleResult();
    };
    if (accType.isF32())
      return shfl(v);
    auto i32 = b.getI32Type(), i64 = b.getI64Type();
    Value bits = b.create<arith::BitcastOp>(loc, i64, v);
    Value lo = shfl(b.create<arith::TruncIOp>(loc, i32, bits));
    Value hi = shfl(b.create<arith::TruncIOp>(
        loc, i32,
        b.create<arith::ShRUIOp>(
            loc, bits,
            b.create<arith::ConstantOp>(loc, b.getI64IntegerAttr(32)))));
    Value joined = b.create<arith::OrIOp>(
        loc, b.create<arith::ExtUIOp>(loc, i64, lo),
        b.create<arith::ShLIOp>(
            loc, b.create<arith::ExtUIOp>(loc, i64, hi),
            b.create<arith::ConstantOp>(loc, b.getI64IntegerAttr(32))));
    return b.create<arith::BitcastOp>(loc, accType, joined);
  };
  auto warpReduce = [&](Value v) {
    for (int64_t off = 16; off >= 1; off /= 2)
      v = combine(v, shuffle(v, off));
    return v;
  };
  Value mine = warpReduce(loop.getResult(0));
  Value lane = k.rem(tid, 32), warp = k.div(tid, 32);
  auto eq0 = [&](Value v) {
    return b.create<arith::CmpIOp>(loc, arith::CmpIPredicate::eq, v, k.idx(0));
  };
  {
    auto ifLane0 = b.create<scf::IfOp>(loc, eq0(lane), false);
    OpBuilder::InsertionGuard g(b);
    b.setInsertionPointToStart(&ifLane0.getThenRegion().front());
    b.create<memref::StoreOp>(loc, mine, partials, ValueRange{warp});
  }
  b.create<gpu::BarrierOp>(loc);
  auto ifWarp0 = b.create<scf::IfOp>(loc, eq0(warp), false);
  {
    OpBuilder::InsertionGuard g(b);
    b.setInsertionPointToStart(&ifWarp0.getThenRegion().front());
    Value has = b.create<arith::CmpIOp>(loc, arith::CmpIPredicate::ult, lane,
                                        k.idx(warps));
    auto pick = b.create<scf::IfOp>(
        loc, has,
        [&](OpBuilder &nb, Location l) {
          nb.create<scf::YieldOp>(
              l, nb.create<memref::LoadOp>(l, partials, ValueRange{lane})
                     .getResult());
        },
        [&](OpBuilder &nb, Location l) {
          nb.create<scf::YieldOp>(l, identity);
        });
    Value total = warpReduce(pick.getResult(0));
    auto ifThread0 = b.create<scf::IfOp>(loc, eq0(lane), false);
    b.setInsertionPointToStart(&ifThread0.getThenRegion().front());
    OpOperand *out = op.getDpsInitOperand(0);
    SmallVector<Value> outIdx = k.apply(op.getMatchingIndexingMap(out), [&] {
      SmallVector<Value> ivs(ranges.size(), k.idx(0));
      for (auto [i, d] : llvm::enumerate(par))
        ivs[d] = pivs[i];
      return ivs;
    }());
    Value outMem = args.lookup(out->get());
    Value old = b.create<memref::LoadOp>(loc, outMem, outIdx);
    b.create<memref::StoreOp>(loc, combine(old, total), outMem, outIdx);
  }
  k.finish();
  launch.grid = {np, 1, 1};
  launch.block = {block, 1, 1};
  return launch;
}

gpu::GPUFuncOp gpu_codegen::createKernel(OpBuilder &mb, StringRef name,
                                         Location loc, ArrayRef<Value> operands,
                                         ArrayRef<Type> shared,
                                         int64_t blockSize) {
  SmallVector<Type> types;
  for (Value v : operands)
    types.push_back(v.getType());
  auto fn = mb.create<gpu::GPUFuncOp>(loc, name, mb.getFunctionType(types, {}),
                                      shared);
  fn->setAttr(gpu::GPUDialect::getKernelFuncAttrName(), mb.getUnitAttr());
  fn.setKnownBlockSizeAttr(
      mb.getDenseI32ArrayAttr({static_cast<int32_t>(blockSize), 1, 1}));
  for (unsigned i = 0; i < shared.size(); ++i)
    fn.setWorkgroupAttributionAttr(i, "llvm.align", mb.getI64IntegerAttr(16));
  return fn;
}

MemRefType gpu_codegen::sharedTile(MLIRContext *ctx, int64_t rows,
                                   int64_t cols) {
  return MemRefType::get({rows, cols}, Float32Type::get(ctx),
                         MemRefLayoutAttrInterface{},
                         IntegerAttr::get(IntegerType::get(ctx, 64), 3));
}
