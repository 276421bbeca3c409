//===- LowerLaneReductions.cpp - f64 sums in vector partial sums ----------===//
//
// Part of nnc, under the Apache License v2.0 with LLVM Exceptions.
// See LICENSE for license information.
//
//===----------------------------------------------------------------------===//

#include "nnc/Codegen/CPU/Passes.h"
#include "nnc/Support/Limits.h"

#include "nnc/Codegen/Common/Rewrite.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Linalg/Transforms/Transforms.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/IRMapping.h"

namespace mlir::nnc {
#define GEN_PASS_DEF_LOWERLANEREDUCTIONS
#include "nnc/Codegen/CPU/Passes.h.inc"
} // namespace mlir::nnc

using namespace mlir;

namespace {

/// What a lane reduction needs to know of a generic op: its loops [0,
/// outer) stay scalar loops; the trailing reduction loops [outer, n) are
/// contiguous in every input that reads them, so they run as one flat
/// range of `flat` points.
struct LaneReduction {
  linalg::GenericOp op;
  unsigned outer;
  int64_t flat;
  /// The body's arith.addf that adds the term to the output's value.
  Operation *combine;
  /// The term: the operand of `combine` that is not the output's value.
  Value term;
};

/// Whether `op` is `out[p] += term(ins)` summed in f64 over trailing
/// reduction loops that are contiguous in every input reading them.
std::optional<LaneReduction> matchLaneReduction(linalg::GenericOp op,
                                                unsigned lanes) {
  if (!op.hasPureBufferSemantics() || op.getNumDpsInits() != 1 ||
      op.hasIndexSemantics())
    return std::nullopt;
  // f64 only. The f64 sums are batch norm's statistics and their
  // gradients, latency-bound chains of one add an element in the scalar
  // loops. f32 sums keep the scalar loops' order on purpose:
  // nnc-block-conv-layouts rewrites a bias gradient's channel sum over
  // nChw16c and promises the plain layout's bits, i.e. its order.
  OpOperand *init = op.getDpsInitOperand(0);
  auto outType = dyn_cast<MemRefType>(init->get().getType());
  if (!outType || !outType.getElementType().isF64())
    return std::nullopt;
  SmallVector<int64_t> ranges = op.getStaticLoopRanges();
  if (llvm::any_of(ranges, ShapedType::isDynamic))
    return std::nullopt;
  for (AffineMap map : op.getIndexingMapsArray())
    if (!map.isProjectedPermutation(/*allowZeroInResults=*/false))
      return std::nullopt;
  for (OpOperand *in : op.getDpsInputOperands()) {
    auto type = dyn_cast<MemRefType>(in->get().getType());
    if (!type || !type.getLayout().isIdentity())
      return std::nullopt;
  }

  // The body: yield(addf(out, term)), the output's value used only there,
  // and the term made of elementwise arith ops on the inputs' values.
  Block &body = op.getRegion().front();
  auto yield = cast<linalg::YieldOp>(body.getTerminator());
  auto combine = yield.getValues()[0].getDefiningOp<arith::AddFOp>();
  BlockArgument out = op.getMatchingBlockArgument(init);
  if (!combine || !out.hasOneUse() || combine.getFastmath() !=
                                          arith::FastMathFlags::none)
    return std::nullopt;
  Value term;
  if (combine.getLhs() == out)
    term = combine.getRhs();
  else if (combine.getRhs() == out)
    term = combine.getLhs();
  else
    return std::nullopt;
  for (Operation &inner : body.without_terminator())
    if (&inner != combine.getOperation() &&
        (inner.getDialect() != combine->getDialect() ||
         !inner.hasTrait<OpTrait::Elementwise>() || inner.getNumRegions() ||
         inner.getNumResults() != 1))
      return std::nullopt;

  // The longest suffix of reduction loops that every input reading any of
  // them reads as its own trailing dimensions, in order (so they are one
  // contiguous run of memory), and that the output does not read.
  const unsigned n = op.getNumLoops();
  SmallVector<utils::IteratorType> iterators = op.getIteratorTypesArray();
  unsigned outer = n;
  while (outer > 0 && iterators[outer - 1] == utils::IteratorType::reduction) {
    unsigned candidate = outer - 1;
    bool contiguous = llvm::all_of(
        op.getDpsInputOperands(), [&](OpOperand *in) {
          AffineMap map = op.getMatchingIndexingMap(in);
          unsigned tail = n - candidate, results = map.getNumResults();
          bool reads = llvm::any_of(map.getResults(), [&](AffineExpr e) {
            return cast<AffineDimExpr>(e).getPosition() >= candidate;
          });
          if (!reads)
            return true;
          if (results < tail)
            return false;
          for (unsigned i = 0; i < tail; ++i)
            if (cast<AffineDimExpr>(map.getResult(results - tail + i))
                    .getPosition() != candidate + i)
              return false;
          return true;
        });
    if (!contiguous)
      break;
    outer = candidate;
  }
  int64_t flat = 1;
  for (unsigned d = outer; d < n; ++d)
    flat *= ranges[d];
  if (outer == n || flat < int64_t(lanes))
    return std::nullopt;
  return LaneReduction{op, outer, flat, combine.getOperation(), term};
}

/// Emits the lane reduction of `r`: the loops [0, outer) as scf.for,
/// outermost first, and at each of their points the flat range summed in
/// `lanes` vector partial sums, reduced in lane order, then the remaining
/// terms one by one, and that sum added to the output once.
SmallVector<Operation *> emitLaneReduction(RewriterBase &rewriter,
                                           const LaneReduction &r,
                                           unsigned lanes) {
  linalg::GenericOp op = r.op;
  Location loc = op.getLoc();
  OpBuilder::InsertionGuard guard(rewriter);
  rewriter.setInsertionPoint(op);
  const unsigned n = op.getNumLoops();
  const unsigned tail = n - r.outer;
  SmallVector<int64_t> ranges = op.getStaticLoopRanges();
  llvm::DenseMap<int64_t, Value> indices;
  auto index = [&](int64_t v) {
    Value &slot = indices[v];
    if (!slot)
      slot = rewriter.create<arith::ConstantIndexOp>(loc, v);
    return slot;
  };

  // Each input reading the flat range, with its trailing dimensions
  // collapsed into one.
  SmallVector<Value> collapsed;
  for (OpOperand *in : op.getDpsInputOperands()) {
    AffineMap map = op.getMatchingIndexingMap(in);
    auto type = cast<MemRefType>(in->get().getType());
    unsigned rank = type.getRank();
    bool reads = rank >= tail && llvm::any_of(map.getResults(), [&](auto e) {
                   return cast<AffineDimExpr>(e).getPosition() >= r.outer;
                 });
    if (!reads) {
      collapsed.push_back({});
      continue;
    }
    SmallVector<ReassociationIndices> groups;
    for (unsigned i = 0; i + tail < rank; ++i)
      groups.push_back({int64_t(i)});
    ReassociationIndices last;
    for (unsigned i = rank - tail; i < rank; ++i)
      last.push_back(i);
    groups.push_back(last);
    collapsed.push_back(
        rewriter.create<memref::CollapseShapeOp>(loc, in->get(), groups));
  }

  SmallVector<Value> lbs, ubs, steps;
  for (unsigned d = 0; d < r.outer; ++d) {
    lbs.push_back(index(0));
    ubs.push_back(index(ranges[d]));
    steps.push_back(index(1));
  }
  Value zeroIndex = index(0), flatEnd = index(r.flat);
  const int64_t vecEnd = r.flat / lanes * lanes;
  Value vecEndValue = index(vecEnd), lanesValue = index(lanes),
        one = index(1);
  Type f64 = rewriter.getF64Type();
  auto accType = VectorType::get({int64_t(lanes)}, f64);
  Value zeros = rewriter.create<arith::ConstantOp>(
      loc, DenseElementsAttr::get(accType, rewriter.getF64FloatAttr(0.0)));
  Block &body = op.getRegion().front();

  scf::LoopNest nest = scf::buildLoopNest(
      rewriter, loc, lbs, ubs, steps,
      [&](OpBuilder &b, Location, ValueRange ivs) {
        // An input's indices at the outer point, the flat range's last.
        auto indicesOf = [&](OpOperand *in, Value flatIndex) {
          SmallVector<Value> at;
          AffineMap map = op.getMatchingIndexingMap(in);
          unsigned keep = collapsed[in->getOperandNumber()]
                              ? map.getNumResults() - tail
                              : map.getNumResults();
          for (unsigned i = 0; i < keep; ++i)
            at.push_back(ivs[cast<AffineDimExpr>(map.getResult(i))
                                 .getPosition()]);
          if (collapsed[in->getOperandNumber()])
            at.push_back(flatIndex);
          return at;
        };
        // The term at flat index k, as `width` lanes (0: a scalar).
        auto emitTerm = [&](Value k, int64_t width) {
          IRMapping map;
          for (OpOperand *in : op.getDpsInputOperands()) {
            Value mem = collapsed[in->getOperandNumber()];
            Type element = getElementTypeOrSelf(in->get().getType());
            Value v;
            if (mem && width)
              v = b.create<vector::LoadOp>(
                  loc, VectorType::get({width}, element), mem,
                  indicesOf(in, k));
            else if (mem)
              v = b.create<memref::LoadOp>(loc, mem, indicesOf(in, k));
            else {
              v = b.create<memref::LoadOp>(loc, in->get(), indicesOf(in, k));
              if (width)
                v = b.create<vector::BroadcastOp>(
                    loc, VectorType::get({width}, element), v);
            }
            map.map(op.getMatchingBlockArgument(in), v);
          }
          for (Operation &inner : body.without_terminator()) {
            if (&inner == r.combine)
              continue;
            if (!width) {
              b.clone(inner, map);
              continue;
            }
            OperationState state(inner.getLoc(), inner.getName());
            for (Value operand : inner.getOperands()) {
              Value v = map.lookupOrDefault(operand);
              // A scalar from outside the body (a constant the kernel
              // holds) is the same in every lane.
              if (!isa<VectorType>(v.getType()))
                v = b.create<vector::BroadcastOp>(
                    loc, VectorType::get({width}, v.getType()), v);
              state.addOperands(v);
            }
            state.addAttributes(inner.getAttrs());
            state.addTypes(VectorType::get({width},
                                           inner.getResult(0).getType()));
            map.map(inner.getResult(0), b.create(state)->getResult(0));
          }
          return map.lookupOrDefault(r.term);
        };

        auto vecLoop = b.create<scf::ForOp>(
            loc, zeroIndex, vecEndValue, lanesValue, ValueRange{zeros},
            [&](OpBuilder &, Location, Value k, ValueRange acc) {
              Value sum = b.create<arith::AddFOp>(loc, acc[0],
                                                  emitTerm(k, lanes));
              b.create<scf::YieldOp>(loc, sum);
            });
        // An ordered reduction (no reassoc): the order is part of the code.
        Value sum = b.create<vector::ReductionOp>(
            loc, vector::CombiningKind::ADD, vecLoop.getResult(0));
        if (vecEnd < r.flat) {
          auto rest = b.create<scf::ForOp>(
              loc, vecEndValue, flatEnd, one, ValueRange{sum},
              [&](OpBuilder &, Location, Value k, ValueRange acc) {
                Value next =
                    b.create<arith::AddFOp>(loc, acc[0], emitTerm(k, 0));
                b.create<scf::YieldOp>(loc, next);
              });
          sum = rest.getResult(0);
        }
        OpOperand *init = op.getDpsInitOperand(0);
        SmallVector<Value> at;
        for (AffineExpr e : op.getMatchingIndexingMap(init).getResults())
          at.push_back(ivs[cast<AffineDimExpr>(e).getPosition()]);
        Value old = b.create<memref::LoadOp>(loc, init->get(), at);
        b.create<memref::StoreOp>(loc, b.create<arith::AddFOp>(loc, old, sum),
                                  init->get(), at);
      });
  rewriter.eraseOp(op);
  return SmallVector<Operation *>(nest.loops.begin(), nest.loops.end());
}

struct LowerLaneReduction : public OpRewritePattern<linalg::GenericOp> {
  LowerLaneReduction(MLIRContext *ctx, unsigned lanes)
      : OpRewritePattern(ctx), lanes(lanes) {}

  LogicalResult matchAndRewrite(linalg::GenericOp op,
                                PatternRewriter &rewriter) const override {
    std::optional<LaneReduction> r = matchLaneReduction(op, lanes);
    if (!r)
      return rewriter.notifyMatchFailure(op, "not a contiguous f64 sum");
    emitLaneReduction(rewriter, *r, lanes);
    return success();
  }

  unsigned lanes;
};

struct LowerLaneReductionsPass
    : public mlir::nnc::impl::LowerLaneReductionsBase<LowerLaneReductionsPass> {
  using LowerLaneReductionsBase::LowerLaneReductionsBase;

  void runOnOperation() override {
    if (failed(mlir::nnc::checkReductionLanes(getOperation(), lanes)))
      return signalPassFailure();
    RewritePatternSet patterns(&getContext());
    mlir::nnc::populateLowerLaneReductionsPatterns(patterns, lanes);
    if (failed(mlir::nnc::applyPatternsToLinalgOps(getOperation(),
                                                   std::move(patterns))))
      return signalPassFailure();
  }
};
} // namespace

LogicalResult mlir::nnc::checkReductionLanes(Operation *anchor,
                                             unsigned lanes) {
  if (lanes >= 1 && lanes <= ::nnc::limits::kMaxTileLanes)
    return success();
  return anchor->emitError()
         << "reduction lanes must be in [1, " << ::nnc::limits::kMaxTileLanes
         << "], got " << lanes;
}

FailureOr<SmallVector<Operation *>>
mlir::nnc::lowerLaneReductionToLoops(RewriterBase &rewriter, Operation *op,
                                     unsigned lanes) {
  auto generic = dyn_cast<linalg::GenericOp>(op);
  if (!generic)
    return failure();
  std::optional<LaneReduction> r = matchLaneReduction(generic, lanes);
  if (!r)
    return failure();
  return emitLaneReduction(rewriter, *r, lanes);
}

void mlir::nnc::populateLowerLaneReductionsPatterns(RewritePatternSet &patterns,
                                                    unsigned lanes) {
  patterns.add<LowerLaneReduction>(patterns.getContext(), lanes);
}
