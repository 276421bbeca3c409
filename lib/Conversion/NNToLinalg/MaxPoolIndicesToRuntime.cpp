//===- MaxPoolIndicesToRuntime.cpp - index-form max pooling as calls ------===//
//
// Part of nnc, under the Apache License v2.0 with LLVM Exceptions.
// See LICENSE for license information.
//
// nn.max_pool2d_indices and the nn.max_pool2d_indexed reading its
// positions are one pass over the input: one call of
// nncrt_maxpool2d_forward_indices writes the pooled values and the
// positions together. nn.max_pool2d_indexed_grad is one call of
// nncrt_maxpool2d_backward_indices, which reads the positions and dy.
//
//===----------------------------------------------------------------------===//

#include "nnc/Conversion/NNToLinalg/NNToLinalg.h"

#include "RuntimeCalls.h"
#include "nnc/Dialect/NN/IR/NNOps.h"
#include "nnc/Runtime/CPU/CPURuntime.h"

#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Transforms/DialectConversion.h"

using namespace mlir;
using namespace mlir::nnc;

namespace {

/// A call of `callee` on `inputs` writing new tensors of `types`: its
/// pointers are the inputs then the outputs, in order, and its other
/// arguments `kind` (if any) then the pooling's 14 geometry values.
SmallVector<Value> geometryCall(OpBuilder &b, Location loc, StringRef callee,
                                ValueRange inputs, TypeRange types,
                                const Pool2dGeometry &g,
                                std::optional<int32_t> kind = std::nullopt) {
  SmallVector<int64_t> pointers;
  for (int64_t i = 0, e = inputs.size() + types.size(); i < e; ++i)
    pointers.push_back(i);
  SmallVector<Attribute> scalars;
  if (kind)
    scalars.push_back(b.getI32IntegerAttr(*kind));
  for (int64_t v : g.values())
    scalars.push_back(b.getI64IntegerAttr(v));
  return runtimeCallMulti(b, loc, callee, inputs, types, pointers, scalars);
}

/// Keeps the graph-level annotations (nn.stage, nn.recomputed) on the call
/// that writes the op's result, as the other patterns do.
void carryAttrs(Operation *from, Operation *to) {
  for (NamedAttribute attr : from->getDiscardableAttrs())
    to->setAttr(attr.getName(), attr.getValue());
}

/// The positions with the pooled values of the nn.max_pool2d_indexed that
/// reads them (the pass puts it right after): one call. Without one (a
/// recomputation that needs only the positions), the values go to a
/// scratch tensor.
struct MaxPool2dIndicesPattern
    : public OpConversionPattern<MaxPool2dIndicesOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(MaxPool2dIndicesOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    MaxPool2dIndexedOp indexed;
    for (Operation *user : op->getUsers())
      if (auto candidate = dyn_cast<MaxPool2dIndexedOp>(user);
          candidate && candidate.getIndices() == op.getResult() &&
          candidate.getInput() == op.getInput()) {
        indexed = candidate;
        break;
      }
    auto valueType = cast<RankedTensorType>(op.getResult().getType())
                         .clone(op.getInput().getType().getElementType());
    bool bf16 = isHalf(op.getInput());
    SmallVector<Value> results = geometryCall(
        rewriter, op.getLoc(),
        bf16 ? "nncrt_maxpool2d_forward_indices_bf16"
             : "nncrt_maxpool2d_forward_indices",
        adaptor.getInput(), TypeRange{valueType, op.getResult().getType()},
        getGeometry(op));
    Operation *call = results[0].getDefiningOp();
    carryAttrs(op, call);
    if (indexed) {
      carryAttrs(indexed, call);
      rewriter.replaceOp(indexed, results[0]);
    }
    rewriter.replaceOp(op, results[1]);
    return success();
  }
};

/// An nn.max_pool2d_indexed whose positions come from elsewhere (an
/// argument): by the op's contract its values are the plain max
/// pooling's.
struct MaxPool2dIndexedPattern
    : public OpConversionPattern<MaxPool2dIndexedOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(MaxPool2dIndexedOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    SmallVector<Value> results = geometryCall(
        rewriter, op.getLoc(),
        isHalf(op.getInput()) ? "nncrt_pool2d_forward_bf16"
                              : "nncrt_pool2d_forward",
        adaptor.getInput(), op.getResult().getType(), getGeometry(op),
        NNCRT_POOL_MAX);
    carryAttrs(op, results[0].getDefiningOp());
    rewriter.replaceOp(op, results);
    return success();
  }
};

struct MaxPool2dIndexedGradPattern
    : public OpConversionPattern<MaxPool2dIndexedGradOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(MaxPool2dIndexedGradOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    SmallVector<Value> results = geometryCall(
        rewriter, op.getLoc(),
        isHalf(op.getGrad()) ? "nncrt_maxpool2d_backward_indices_bf16"
                             : "nncrt_maxpool2d_backward_indices",
        ValueRange{adaptor.getIndices(), adaptor.getGrad()},
        TypeRange{op.getResult().getType()}, getGeometry(op));
    carryAttrs(op, results[0].getDefiningOp());
    rewriter.replaceOp(op, results[0]);
    return success();
  }
};

} // namespace

void mlir::nnc::populateNNMaxPoolIndicesToRuntimePatterns(
    RewritePatternSet &patterns) {
  // The conversion visits ops in order, so the positions (the indexed
  // op's operand) come first and take the indexed op they fuse with.
  patterns.add<MaxPool2dIndicesPattern, MaxPool2dIndexedPattern,
               MaxPool2dIndexedGradPattern>(patterns.getContext());
}
