//===- LowerDotContractions.cpp - register-tiled dot products for x·Wᵀ ----===//
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
#define GEN_PASS_DEF_LOWERDOTCONTRACTIONS
#include "nnc/Codegen/CPU/Passes.h.inc"
} // namespace mlir::nnc

using namespace mlir;

namespace {
struct DotEmitter {
  OpBuilder &b;
  Location loc;
  Value a, w, out;
  int64_t K;
  unsigned lanes;
  /// Index constants, created once in front of the contraction (b's
  /// insertion point moves into the loops it builds).
  OpBuilder constants;
  llvm::DenseMap<int64_t, Value> indices;

  DotEmitter(OpBuilder &b, Location loc, Value a, Value w, Value out,
             unsigned lanes)
      : b(b), loc(loc), a(a), w(w), out(out),
        K(cast<MemRefType>(a.getType()).getDimSize(1)), lanes(lanes),
        constants(b) {}

  Value index(int64_t v) {
    Value &slot = indices[v];
    if (!slot)
      slot = constants.create<arith::ConstantIndexOp>(loc, v);
    return slot;
  }

  /// for m in [m0, m1) step ms, n in [n0, n1) step ns: tile(m, n).
  void forTiles(int64_t m0, int64_t m1, int64_t ms, int64_t n0, int64_t n1,
                int64_t ns, unsigned rows, unsigned columns) {
    if (m0 >= m1 || n0 >= n1)
      return;
    b.create<scf::ForOp>(loc, index(m0), index(m1), index(ms), ValueRange{},
                         [&](OpBuilder &, Location, Value m, ValueRange) {
                           b.create<scf::ForOp>(
                               loc, index(n0), index(n1), index(ns),
                               ValueRange{},
                               [&](OpBuilder &, Location, Value n, ValueRange) {
                                 tile(m, n, rows, columns);
                                 b.create<scf::YieldOp>(loc);
                               });
                           b.create<scf::YieldOp>(loc);
                         });
  }

  /// out[m + i, n + j] for i < rows, j < columns: vector partial sums over
  /// the whole lanes-wide chunks of k, each reduced in lane order and added
  /// to out, then the remaining products in k order.
  void tile(Value m, Value n, unsigned rows, unsigned columns) {
    auto vecType = VectorType::get({lanes}, b.getF32Type());
    const int64_t kVec = K / lanes * lanes;
    SmallVector<Value> r, c;
    for (unsigned i = 0; i < rows; ++i)
      r.push_back(b.create<arith::AddIOp>(loc, m, index(i)));
    for (unsigned j = 0; j < columns; ++j)
      c.push_back(b.create<arith::AddIOp>(loc, n, index(j)));
    Value zero = constants.create<arith::ConstantOp>(
        loc, DenseElementsAttr::get(vecType, b.getF32FloatAttr(0.0f)));
    SmallVector<Value> init(rows * columns, zero);
    auto loop = b.create<scf::ForOp>(
        loc, index(0), index(kVec), index(lanes), init,
        [&](OpBuilder &, Location, Value k, ValueRange acc) {
          SmallVector<Value> x, y, next;
          for (unsigned i = 0; i < rows; ++i)
            x.push_back(
                b.create<vector::LoadOp>(loc, vecType, a, ValueRange{r[i], k}));
          for (unsigned j = 0; j < columns; ++j)
            y.push_back(
                b.create<vector::LoadOp>(loc, vecType, w, ValueRange{c[j], k}));
          for (unsigned i = 0; i < rows; ++i)
            for (unsigned j = 0; j < columns; ++j)
              next.push_back(b.create<vector::FMAOp>(loc, x[i], y[j],
                                                     acc[i * columns + j]));
          b.create<scf::YieldOp>(loc, next);
        });
    for (unsigned i = 0; i < rows; ++i)
      for (unsigned j = 0; j < columns; ++j) {
        Value start =
            b.create<memref::LoadOp>(loc, out, ValueRange{r[i], c[j]});
        // An ordered reduction (no reassoc): the order is part of the code.
        Value sum = b.create<vector::ReductionOp>(
            loc, vector::CombiningKind::ADD, loop.getResult(i * columns + j),
            start);
        if (kVec < K) {
          auto tail = b.create<scf::ForOp>(
              loc, index(kVec), index(K), index(1), ValueRange{sum},
              [&](OpBuilder &, Location, Value k, ValueRange s) {
                Value p = b.create<memref::LoadOp>(loc, a, ValueRange{r[i], k});
                Value q = b.create<memref::LoadOp>(loc, w, ValueRange{c[j], k});
                b.create<scf::YieldOp>(
                    loc, b.create<math::FmaOp>(loc, p, q, s[0]).getResult());
              });
          sum = tail.getResult(0);
        }
        b.create<memref::StoreOp>(loc, sum, out, ValueRange{r[i], c[j]});
      }
  }
};

/// out[m, n] += a[m, k] * b[n, k] (both operands contiguous along k) as
/// register-tiled dot products.
struct LowerDotContraction
    : public OpInterfaceRewritePattern<linalg::LinalgOp> {
  LowerDotContraction(MLIRContext *ctx, unsigned rows, unsigned columns,
                      unsigned lanes)
      : OpInterfaceRewritePattern(ctx), rows(rows), columns(columns),
        lanes(lanes) {}

  LogicalResult matchAndRewrite(linalg::LinalgOp op,
                                PatternRewriter &rewriter) const override {
    std::optional<mlir::nnc::MatmulOperands> mm = mlir::nnc::matchMatmul(op);
    if (!mm || mm->alpha != 1.0 || mm->alphaScalar || mm->lhsTransposed ||
        !mm->rhsTransposed)
      return rewriter.notifyMatchFailure(op, "not out += a * b^T");
    DotEmitter e(rewriter, op.getLoc(), mm->lhs, mm->rhs, mm->out, lanes);
    const int64_t M = mm->M, N = mm->N;
    const int64_t R = rows, C = columns;
    const int64_t mTiles = M / R * R, nTiles = N / C * C;
    e.forTiles(0, mTiles, R, 0, nTiles, C, rows, columns);
    // Right edge (every row), then bottom edge (tiled columns only).
    e.forTiles(0, M, 1, nTiles, N, 1, 1, 1);
    e.forTiles(mTiles, M, 1, 0, nTiles, 1, 1, 1);
    rewriter.eraseOp(op);
    return success();
  }

  unsigned rows, columns, lanes;
};

struct LowerDotContractionsPass
    : public mlir::nnc::impl::LowerDotContractionsBase<
          LowerDotContractionsPass> {
  using LowerDotContractionsBase::LowerDotContractionsBase;

  void runOnOperation() override {
    // A register tile: the kernel unrolls rows x columns vectors of lanes,
    // so the bounds keep the emitted IR small (docs/Limits.md).
    if (rows == 0 || columns == 0 || lanes == 0 ||
        rows > ::nnc::limits::kMaxTileDim ||
        columns > ::nnc::limits::kMaxTileDim ||
        lanes > ::nnc::limits::kMaxTileLanes) {
      getOperation().emitError()
          << "nnc-lower-dot-contractions: rows and columns must be in [1, "
          << ::nnc::limits::kMaxTileDim << "] and lanes in [1, "
          << ::nnc::limits::kMaxTileLanes << "], got rows=" << unsigned(rows)
          << " columns=" << unsigned(columns) << " lanes=" << unsigned(lanes);
      return signalPassFailure();
    }
    RewritePatternSet patterns(&getContext());
    mlir::nnc::populateLowerDotContractionsPatterns(patterns, rows, columns,
                                                    lanes);
    if (failed(mlir::nnc::applyPatternsToLinalgOps(getOperation(),
                                                   std::move(patterns))))
      return signalPassFailure();
  }
};
} // namespace

void mlir::nnc::populateLowerDotContractionsPatterns(
    RewritePatternSet &patterns, unsigned rows, unsigned columns,
    unsigned lanes) {
  patterns.add<LowerDotContraction>(patterns.getContext(), rows, columns,
                                    lanes);
}
