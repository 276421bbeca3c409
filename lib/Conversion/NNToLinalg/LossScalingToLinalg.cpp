//===- LossScalingToLinalg.cpp - dynamic loss scaling's ops to linalg -----===//
//
// Part of nnc, under the Apache License v2.0 with LLVM Exceptions.
// See LICENSE for license information.
//
// nn.unscale, nn.all_finite, nn.select and nn.loss_scale_update as
// linalg.generic ops on tensors: elementwise maps and one reduction, which
// every target's kernels already cover (the GPU's reduction kernel folds
// all_finite's accumulator in a fixed tree).
//
//===----------------------------------------------------------------------===//

#include "nnc/Conversion/NNToLinalg/NNToLinalg.h"
#include "nnc/Dialect/NN/IR/NNOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Transforms/DialectConversion.h"

#include <limits>

using namespace mlir;
using namespace mlir::nnc;
using utils::IteratorType;

namespace {
using BodyFn = function_ref<Value(OpBuilder &, Location, ValueRange)>;

Value f32(OpBuilder &b, Location loc, double v) {
  return b.create<arith::ConstantOp>(loc, b.getF32FloatAttr(v));
}

/// A map over `type`'s elements; rank-0 inputs are broadcast.
Value map(OpBuilder &b, Location loc, RankedTensorType type, ValueRange inputs,
          BodyFn body) {
  unsigned rank = type.getRank();
  SmallVector<AffineMap> maps;
  for (Value in : inputs)
    maps.push_back(cast<RankedTensorType>(in.getType()).getRank() == 0
                       ? AffineMap::get(rank, 0, b.getContext())
                       : b.getMultiDimIdentityMap(rank));
  maps.push_back(b.getMultiDimIdentityMap(rank));
  Value init =
      b.create<tensor::EmptyOp>(loc, type.getShape(), type.getElementType());
  return b
      .create<linalg::GenericOp>(
          loc, TypeRange{type}, inputs, ValueRange{init}, maps,
          SmallVector<IteratorType>(rank, IteratorType::parallel),
          [&](OpBuilder &nb, Location nloc, ValueRange args) {
            nb.create<linalg::YieldOp>(nloc,
                                       body(nb, nloc, args.drop_back()));
          })
      .getResult(0);
}

/// `c != 0` for a rank-0 condition's element.
Value isSet(OpBuilder &b, Location loc, Value c) {
  return b.create<arith::CmpFOp>(loc, arith::CmpFPredicate::UNE, c,
                                 f32(b, loc, 0.0));
}

struct UnscalePattern : public OpConversionPattern<UnscaleOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(UnscaleOp op, OpAdaptor a,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Value r = map(rewriter, loc, op.getType(), {a.getGrad(), a.getScale()},
                  [](OpBuilder &b, Location l, ValueRange args) -> Value {
                    Value inv = b.create<arith::DivFOp>(l, f32(b, l, 1.0),
                                                        args[1]);
                    return b.create<arith::MulFOp>(l, args[0], inv);
                  });
    rewriter.replaceOp(op, r);
    return success();
  }
};

struct AllFinitePattern : public OpConversionPattern<AllFiniteOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(AllFiniteOp op, OpAdaptor a,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    OpBuilder &b = rewriter;
    auto scalar = op.getType();
    Value empty =
        b.create<tensor::EmptyOp>(loc, ArrayRef<int64_t>{}, b.getF32Type());
    Value acc =
        b.create<linalg::FillOp>(loc, ValueRange{f32(b, loc, 0.0)},
                                 ValueRange{empty})
            .getResult(0);
    // acc += x · 0 over every element of every input, in order: ±0 while
    // all are finite, NaN from the first inf or NaN on (no fast-math flag
    // lets x · 0 fold to 0).
    for (Value in : a.getInputs()) {
      unsigned rank = cast<RankedTensorType>(in.getType()).getRank();
      SmallVector<AffineMap> maps{b.getMultiDimIdentityMap(rank),
                                  AffineMap::get(rank, 0, b.getContext())};
      acc = b.create<linalg::GenericOp>(
                 loc, TypeRange{scalar}, ValueRange{in}, ValueRange{acc}, maps,
                 SmallVector<IteratorType>(rank, IteratorType::reduction),
                 [&](OpBuilder &nb, Location nloc, ValueRange args) {
                   Value zeroed = nb.create<arith::MulFOp>(
                       nloc, args[0], f32(nb, nloc, 0.0));
                   nb.create<linalg::YieldOp>(
                       nloc, ValueRange{nb.create<arith::AddFOp>(
                                 nloc, args[1], zeroed)});
                 })
                .getResult(0);
    }
    Value r = map(b, loc, scalar, acc,
                  [](OpBuilder &nb, Location l, ValueRange args) -> Value {
                    Value ok = nb.create<arith::CmpFOp>(
                        l, arith::CmpFPredicate::OEQ, args[0], f32(nb, l, 0.0));
                    return nb.create<arith::SelectOp>(l, ok, f32(nb, l, 1.0),
                                                      f32(nb, l, 0.0));
                  });
    rewriter.replaceOp(op, r);
    return success();
  }
};

struct SelectPattern : public OpConversionPattern<SelectOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(SelectOp op, OpAdaptor a,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Value r = map(rewriter, loc, op.getType(),
                  {a.getCondition(), a.getOnTrue(), a.getOnFalse()},
                  [](OpBuilder &b, Location l, ValueRange args) -> Value {
                    return b.create<arith::SelectOp>(l, isSet(b, l, args[0]),
                                                     args[1], args[2]);
                  });
    rewriter.replaceOp(op, r);
    return success();
  }
};

struct LossScaleUpdatePattern
    : public OpConversionPattern<LossScaleUpdateOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(LossScaleUpdateOp op, OpAdaptor a,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    double growth = op.getGrowthFactor().convertToDouble(),
           backoff = op.getBackoffFactor().convertToDouble();
    double interval = static_cast<double>(op.getGrowthInterval());
    auto scalar = cast<RankedTensorType>(op.getNewScale().getType());
    SmallVector<Value> ins{a.getFinite(), a.getScale(), a.getGoodSteps()};
    // good + 1 == growth_interval: a finite step that completes the run.
    auto atInterval = [=](OpBuilder &b, Location l, Value good) {
      Value next = b.create<arith::AddFOp>(l, good, f32(b, l, 1.0));
      return std::pair(next,
                       b.create<arith::CmpFOp>(l, arith::CmpFPredicate::OEQ,
                                               next, f32(b, l, interval))
                           .getResult());
    };
    Value newScale = map(
        rewriter, loc, scalar, ins,
        [&](OpBuilder &b, Location l, ValueRange args) -> Value {
          Value scale = args[1];
          Value grown =
              b.create<arith::MulFOp>(l, scale, f32(b, l, growth));
          // GradScaler grows only to a finite scale.
          Value growable = b.create<arith::CmpFOp>(
              l, arith::CmpFPredicate::OLT, b.create<math::AbsFOp>(l, grown),
              f32(b, l, std::numeric_limits<float>::infinity()));
          Value onGrowth = b.create<arith::SelectOp>(l, growable, grown, scale);
          Value onFinite = b.create<arith::SelectOp>(
              l, atInterval(b, l, args[2]).second, onGrowth, scale);
          Value backedOff =
              b.create<arith::MulFOp>(l, scale, f32(b, l, backoff));
          return b.create<arith::SelectOp>(l, isSet(b, l, args[0]), onFinite,
                                           backedOff);
        });
    Value newGood = map(
        rewriter, loc, scalar, ins,
        [&](OpBuilder &b, Location l, ValueRange args) -> Value {
          auto [next, done] = atInterval(b, l, args[2]);
          Value zero = f32(b, l, 0.0);
          Value onFinite = b.create<arith::SelectOp>(l, done, zero, next);
          return b.create<arith::SelectOp>(l, isSet(b, l, args[0]), onFinite,
                                           zero);
        });
    rewriter.replaceOp(op, {newScale, newGood});
    return success();
  }
};
} // namespace

void mlir::nnc::populateNNLossScalingToLinalgPatterns(
    RewritePatternSet &patterns) {
  patterns.add<UnscalePattern, AllFinitePattern, SelectPattern,
               LossScaleUpdatePattern>(patterns.getContext());
}
