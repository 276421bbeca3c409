//===- LowerTiledContractions.cpp - register tiles for a·b ----------------===//
//
// Part of nnc, under the Apache License v2.0 with LLVM Exceptions.
// See LICENSE for license information.
//
//===----------------------------------------------------------------------===//

#include "nnc/Codegen/CPU/Passes.h"
#include "nnc/Support/Limits.h"

#include "nnc/Codegen/Common/ContractionMatcher.h"
#include "nnc/Codegen/Common/Rewrite.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"

namespace mlir::nnc {
#define GEN_PASS_DEF_LOWERTILEDCONTRACTIONS
#include "nnc/Codegen/CPU/Passes.h.inc"
} // namespace mlir::nnc

using namespace mlir;

namespace {
/// out[m, n] += a[m, k] * b[k, n] (or a[k, m] when transposedA) on memrefs
/// of f32 whose last dimension is contiguous.
struct Contraction {
  Value a, b, out;
  bool transposedA = false;
  int64_t M = 0, N = 0, K = 0;
};
} // namespace

/// The contractions with a row-major rhs: rhs and out contiguous along n.
static std::optional<Contraction> matchContraction(linalg::LinalgOp op) {
  std::optional<mlir::nnc::MatmulOperands> mm = mlir::nnc::matchMatmul(op);
  if (!mm || mm->alpha != 1.0 || mm->alphaScalar || mm->rhsTransposed)
    return std::nullopt;
  return Contraction{mm->lhs, mm->rhs, mm->out, mm->lhsTransposed,
                     mm->M,   mm->N,   mm->K};
}

namespace {
struct Emitter {
  OpBuilder &b;
  Location loc;
  const Contraction &c;
  /// Index constants, created once in front of the contraction (b's
  /// insertion point moves into the loops it builds).
  OpBuilder constants;
  llvm::DenseMap<int64_t, Value> indices;

  Emitter(OpBuilder &b, Location loc, const Contraction &c)
      : b(b), loc(loc), c(c), constants(b) {}

  Value index(int64_t v) {
    Value &slot = indices[v];
    if (!slot)
      slot = constants.create<arith::ConstantIndexOp>(loc, v);
    return slot;
  }
  Value loadA(OpBuilder &bb, Value m, Value k) {
    return bb.create<memref::LoadOp>(
        loc, c.a, c.transposedA ? ValueRange{k, m} : ValueRange{m, k});
  }

  /// for m in [m0, m1) step `step`, n in [n0, n1) step `nstep`: body(m, n).
  void forTiles(int64_t m0, int64_t m1, int64_t step, int64_t n0, int64_t n1,
                int64_t nstep,
                function_ref<void(OpBuilder &, Value, Value)> body) {
    if (m0 >= m1 || n0 >= n1)
      return;
    b.create<scf::ForOp>(loc, index(m0), index(m1), index(step), ValueRange{},
                         [&](OpBuilder &bm, Location, Value m, ValueRange) {
                           bm.create<scf::ForOp>(loc, index(n0), index(n1),
                                                 index(nstep), ValueRange{},
                                                 [&](OpBuilder &bn, Location,
                                                     Value n, ValueRange) {
                                                   body(bn, m, n);
                                                   bn.create<scf::YieldOp>(loc);
                                                 });
                           bm.create<scf::YieldOp>(loc);
                         });
  }

  /// rows x lanes outputs in vector registers across the k loop.
  void tile(OpBuilder &bt, Value m, Value n, unsigned rows, unsigned lanes) {
    auto vecType = VectorType::get({lanes}, bt.getF32Type());
    SmallVector<Value> rowIndex, acc;
    for (unsigned i = 0; i < rows; ++i) {
      Value r = bt.create<arith::AddIOp>(loc, m, index(i));
      rowIndex.push_back(r);
      acc.push_back(
          bt.create<vector::LoadOp>(loc, vecType, c.out, ValueRange{r, n}));
    }
    auto loop = bt.create<scf::ForOp>(
        loc, index(0), index(c.K), index(1), acc,
        [&](OpBuilder &bk, Location, Value k, ValueRange sums) {
          Value row =
              bk.create<vector::LoadOp>(loc, vecType, c.b, ValueRange{k, n});
          SmallVector<Value> next;
          for (unsigned i = 0; i < rows; ++i) {
            Value s = bk.create<vector::BroadcastOp>(loc, vecType,
                                                     loadA(bk, rowIndex[i], k));
            next.push_back(bk.create<vector::FMAOp>(loc, s, row, sums[i]));
          }
          bk.create<scf::YieldOp>(loc, next);
        });
    for (unsigned i = 0; i < rows; ++i)
      bt.create<vector::StoreOp>(loc, loop.getResult(i), c.out,
                                 ValueRange{rowIndex[i], n});
  }

  /// One output, its sum over k in a register. The FMA matches the tile's
  /// rounding, although each output is only ever computed one way.
  void scalar(OpBuilder &bs, Value m, Value n) {
    Value init = bs.create<memref::LoadOp>(loc, c.out, ValueRange{m, n});
    auto loop = bs.create<scf::ForOp>(
        loc, index(0), index(c.K), index(1), ValueRange{init},
        [&](OpBuilder &bk, Location, Value k, ValueRange sum) {
          Value x = loadA(bk, m, k);
          Value y = bk.create<memref::LoadOp>(loc, c.b, ValueRange{k, n});
          bk.create<scf::YieldOp>(
              loc, bk.create<math::FmaOp>(loc, x, y, sum[0]).getResult());
        });
    bs.create<memref::StoreOp>(loc, loop.getResult(0), c.out, ValueRange{m, n});
  }
};

/// out[m, n] += a[m, k] * b[k, n] (rhs and out contiguous along n) as
/// register tiles with scalar edges.
struct LowerTiledContraction
    : public OpInterfaceRewritePattern<linalg::LinalgOp> {
  LowerTiledContraction(MLIRContext *ctx, unsigned rows, unsigned lanes)
      : OpInterfaceRewritePattern(ctx), rows(rows), lanes(lanes) {}

  LogicalResult matchAndRewrite(linalg::LinalgOp op,
                                PatternRewriter &rewriter) const override {
    std::optional<Contraction> c = matchContraction(op);
    if (!c)
      return rewriter.notifyMatchFailure(op, "not a row-major-rhs matmul");
    Emitter e(rewriter, op.getLoc(), *c);
    const int64_t R = rows, V = lanes;
    const int64_t mTiles = c->M / R * R, nTiles = c->N / V * V;
    e.forTiles(0, mTiles, R, 0, nTiles, V,
               [&](OpBuilder &bt, Value m, Value n) {
                 e.tile(bt, m, n, rows, lanes);
               });
    // Right edge (every row), then bottom edge (tiled columns only).
    e.forTiles(0, c->M, 1, nTiles, c->N, 1,
               [&](OpBuilder &bs, Value m, Value n) { e.scalar(bs, m, n); });
    e.forTiles(mTiles, c->M, 1, 0, nTiles, 1,
               [&](OpBuilder &bs, Value m, Value n) { e.scalar(bs, m, n); });
    rewriter.eraseOp(op);
    return success();
  }

  unsigned rows, lanes;
};

struct LowerTiledContractionsPass
    : public mlir::nnc::impl::LowerTiledContractionsBase<
          LowerTiledContractionsPass> {
  using LowerTiledContractionsBase::LowerTiledContractionsBase;

  void runOnOperation() override {
    // rows x lanes accumulators live in registers (docs/Limits.md).
    if (rows == 0 || lanes == 0 || rows > ::nnc::limits::kMaxTileDim ||
        lanes > ::nnc::limits::kMaxTileLanes) {
      getOperation().emitError()
          << "nnc-lower-tiled-contractions: rows must be in [1, "
          << ::nnc::limits::kMaxTileDim << "] and lanes in [1, "
          << ::nnc::limits::kMaxTileLanes << "], got rows=" << unsigned(rows)
          << " lanes=" << unsigned(lanes);
      return signalPassFailure();
    }
    RewritePatternSet patterns(&getContext());
    mlir::nnc::populateLowerTiledContractionsPatterns(patterns, rows, lanes);
    if (failed(mlir::nnc::applyPatternsToLinalgOps(getOperation(),
                                                   std::move(patterns))))
      return signalPassFailure();
  }
};
} // namespace

void mlir::nnc::populateLowerTiledContractionsPatterns(
    RewritePatternSet &patterns, unsigned rows, unsigned lanes) {
  patterns.add<LowerTiledContraction>(patterns.getContext(), rows, lanes);
}
