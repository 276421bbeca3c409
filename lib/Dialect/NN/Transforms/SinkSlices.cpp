//===- SinkSlices.cpp - compute only the rows a slice keeps ---------------===//
//
// Part of nnc, under the Apache License v2.0 with LLVM Exceptions.
// See LICENSE for license information.
//
// A slice that keeps whole rows commutes with every op that computes each
// row from the same row of its operands. Moving it above such ops, while it
// is all that reads them, deletes the work on the rows it drops; autodiff,
// which runs after, differentiates the smaller graph.
//
//===----------------------------------------------------------------------===//

#include "nnc/Dialect/NN/Transforms/Passes.h"

#include "mlir/IR/Dominance.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/CSE.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace mlir::nnc {
#define GEN_PASS_DEF_SINKSLICES
#include "nnc/Dialect/NN/Transforms/Passes.h.inc"
} // namespace mlir::nnc

using namespace mlir;
using namespace mlir::nnc;

namespace {

ArrayRef<int64_t> shapeOf(Value v) {
  return cast<RankedTensorType>(v.getType()).getShape();
}

/// The box of `slice`, applied to `v` (of the same rank), as a new slice.
Value sliceLike(PatternRewriter &rewriter, SliceOp slice, Value v) {
  return rewriter.create<SliceOp>(slice.getLoc(), v, slice.getOffsetsAttr(),
                                  slice.getSizesAttr(), slice.getStridesAttr());
}

/// Whether `slice` keeps every element of the last dimension.
bool keepsRows(SliceOp slice) {
  ArrayRef<int64_t> in = shapeOf(slice.getInput());
  return !in.empty() && slice.getOffsets().back() == 0 &&
         slice.getStrides().back() == 1 && slice.getSizes().back() == in.back();
}

/// Whether every user of `v` is a slice with `slice`'s box: then the op
/// producing `v` computes nothing that survives but the box.
bool onlySlicedLike(Value v, SliceOp slice) {
  return llvm::all_of(v.getUsers(), [&](Operation *user) {
    auto other = dyn_cast<SliceOp>(user);
    return other && other.getOffsets() == slice.getOffsets() &&
           other.getSizes() == slice.getSizes() &&
           other.getStrides() == slice.getStrides();
  });
}

/// slice(f(x, ...)) -> f(slice(x), ...) for ops computing each element (or
/// each row, for layer norm and linear) from the same place of their
/// operands.
struct SinkThroughRowwise : public OpRewritePattern<SliceOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(SliceOp slice,
                                PatternRewriter &rewriter) const override {
    Operation *def = slice.getInput().getDefiningOp();
    if (!def || !keepsRows(slice) || !onlySlicedLike(slice.getInput(), slice))
      return failure();
    Location loc = def->getLoc();
    // Right after the producer: the new ops then dominate each of its
    // slices, wherever they are.
    rewriter.setInsertionPointAfter(def);
    Value result;
    if (isa<ReluOp, SigmoidOp, TanhOp, GeluOp>(def)) {
      OperationState state(loc, def->getName());
      state.addOperands(sliceLike(rewriter, slice, def->getOperand(0)));
      state.addTypes(slice.getType());
      state.addAttributes(def->getAttrs());
      result = rewriter.create(state)->getResult(0);
    } else if (auto leaky = dyn_cast<LeakyReluOp>(def)) {
      result = rewriter.create<LeakyReluOp>(
          loc, slice.getType(), sliceLike(rewriter, slice, leaky.getInput()),
          leaky.getAlphaAttr());
    } else if (auto scale = dyn_cast<ScaleOp>(def)) {
      result = rewriter.create<ScaleOp>(
          loc, slice.getType(), sliceLike(rewriter, slice, scale.getInput()),
          scale.getFactorAttr());
    } else if (isa<AddOp, MulOp>(def)) {
      OperationState state(loc, def->getName());
      state.addOperands({sliceLike(rewriter, slice, def->getOperand(0)),
                         sliceLike(rewriter, slice, def->getOperand(1))});
      state.addTypes(slice.getType());
      result = rewriter.create(state)->getResult(0);
    } else if (auto norm = dyn_cast<LayerNormOp>(def)) {
      result = rewriter.create<LayerNormOp>(
          loc, slice.getType(), sliceLike(rewriter, slice, norm.getInput()),
          norm.getWeight(), norm.getBias(), norm.getEpsAttr());
    } else if (auto linear = dyn_cast<LinearOp>(def)) {
      // Rows of x · Wᵀ + b are the layer applied to those rows of x.
      auto x = cast<RankedTensorType>(linear.getInput().getType());
      SmallVector<int64_t> sizes{slice.getSizes()[0], x.getDimSize(1)};
      Value rows = rewriter.create<SliceOp>(
          loc, linear.getInput(), slice.getOffsetsAttr(),
          rewriter.getDenseI64ArrayAttr(sizes), slice.getStridesAttr());
      result = rewriter.create<LinearOp>(loc, slice.getType(), rows,
                                         linear.getWeight(), linear.getBias());
    } else {
      return failure();
    }
    for (Operation *user : llvm::make_early_inc_range(def->getUsers()))
      rewriter.replaceOp(user, result);
    return success();
  }
};

/// Positions of [B, T, D] and rows of [B·T, D]: slice(reshape) ->
/// reshape(slice) across the reshapes around linear layers, for a box of
/// one position t of every sequence (rows t, t + T, ...).
struct SinkThroughReshape : public OpRewritePattern<SliceOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(SliceOp slice,
                                PatternRewriter &rewriter) const override {
    auto reshape = slice.getInput().getDefiningOp<ReshapeOp>();
    if (!reshape || !keepsRows(slice) ||
        !onlySlicedLike(slice.getInput(), slice))
      return failure();
    ArrayRef<int64_t> in = shapeOf(reshape.getInput()),
                      out = shapeOf(reshape.getResult());
    ArrayRef<int64_t> offsets = slice.getOffsets(), sizes = slice.getSizes(),
                      strides = slice.getStrides();
    Location loc = reshape.getLoc();
    rewriter.setInsertionPointAfter(reshape);
    // [B·T, D] -> [B, T, D], the box [all B, position t, all D].
    if (in.size() == 2 && out.size() == 3 && in[0] == out[0] * out[1] &&
        in[1] == out[2] && offsets[0] == 0 && sizes[0] == out[0] &&
        strides[0] == 1 && sizes[1] == 1) {
      Value rows = rewriter.create<SliceOp>(
          loc, reshape.getInput(),
          rewriter.getDenseI64ArrayAttr({offsets[1], 0}),
          rewriter.getDenseI64ArrayAttr({out[0], in[1]}),
          rewriter.getDenseI64ArrayAttr({out[1], 1}));
      Value result = rewriter.create<ReshapeOp>(loc, slice.getType(), rows);
      for (Operation *user :
           llvm::make_early_inc_range(reshape->getUsers()))
        rewriter.replaceOp(user, result);
      return success();
    }
    // [B, T, D] -> [B·T, D], rows t, t + T, ... (B of them).
    if (in.size() == 3 && out.size() == 2 && out[0] == in[0] * in[1] &&
        out[1] == in[2] && strides[0] == in[1] && offsets[0] < in[1] &&
        sizes[0] == in[0]) {
      Value position = rewriter.create<SliceOp>(
          loc, reshape.getInput(),
          rewriter.getDenseI64ArrayAttr({0, offsets[0], 0}),
          rewriter.getDenseI64ArrayAttr({in[0], 1, in[2]}),
          rewriter.getDenseI64ArrayAttr({1, 1, 1}));
      Value result = rewriter.create<ReshapeOp>(loc, slice.getType(),
                                                position);
      for (Operation *user :
           llvm::make_early_inc_range(reshape->getUsers()))
        rewriter.replaceOp(user, result);
      return success();
    }
    return failure();
  }
};

struct SinkSlicesPass
    : public mlir::nnc::impl::SinkSlicesBase<SinkSlicesPass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    patterns.add<SinkThroughRowwise, SinkThroughReshape>(&getContext());
    GreedyRewriteConfig config;
    config.maxIterations = 100;
    if (failed(applyPatternsAndFoldGreedily(getOperation(),
                                            std::move(patterns), config))) {
      getOperation().emitError("nnc-sink-slices did not converge");
      return signalPassFailure();
    }
    // Sinking two slices of one value makes two equal slices of its
    // operands: merge them, so the next step sees one reader.
    IRRewriter rewriter(&getContext());
    DominanceInfo dominance(getOperation());
    eliminateCommonSubExpressions(rewriter, dominance, getOperation());
  }
};
} // namespace
