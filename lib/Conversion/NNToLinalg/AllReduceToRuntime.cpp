//===- AllReduceToRuntime.cpp - the gradient all-reduce as run-time calls -===//
//
// Part of nnc, under the Apache License v2.0 with LLVM Exceptions.
// See LICENSE for license information.
//
// nn.all_reduce_start packs its gradients into one 1-D tensor (a buffer the
// memory planner places in the arena after bufferization) and hands it to
// nncrt_allreduce_start; nn.all_reduce_wait passes the same tensor to
// nncrt_allreduce_wait and returns views of it in the gradients' shapes.
// Both calls take the bucket as their destination operand, so the bucket
// bufferizes in place from the packing to the last read of a gradient: the
// buffer MPI works on stays live, and nothing else is placed over it, for
// as long as the all-reduce is in flight.
//
//===----------------------------------------------------------------------===//

#include "nnc/Conversion/NNToLinalg/NNToLinalg.h"
#include "nnc/Dialect/NN/IR/NNOps.h"

#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Transforms/DialectConversion.h"

using namespace mlir;
using namespace mlir::nnc;

namespace {

/// The 1-D form of `t` (a rank-0 tensor becomes tensor<1xf32>).
Value flatten(OpBuilder &b, Location loc, Value t) {
  auto type = cast<RankedTensorType>(t.getType());
  auto flat =
      RankedTensorType::get({type.getNumElements()}, type.getElementType());
  if (type.getRank() == 1)
    return t;
  if (type.getRank() == 0)
    return b.create<tensor::ExpandShapeOp>(loc, flat, t,
                                           ArrayRef<ReassociationIndices>{});
  ReassociationIndices all;
  for (int64_t i = 0; i < type.getRank(); ++i)
    all.push_back(i);
  return b.create<tensor::CollapseShapeOp>(loc, flat, t,
                                           ArrayRef<ReassociationIndices>{all});
}

/// `flat` (1-D) in the shape of `type`.
Value unflatten(OpBuilder &b, Location loc, Value flat, RankedTensorType type) {
  if (type.getRank() == 1)
    return flat;
  if (type.getRank() == 0)
    return b.create<tensor::CollapseShapeOp>(loc, type, flat,
                                             ArrayRef<ReassociationIndices>{});
  ReassociationIndices all;
  for (int64_t i = 0; i < type.getRank(); ++i)
    all.push_back(i);
  return b.create<tensor::ExpandShapeOp>(loc, type, flat,
                                         ArrayRef<ReassociationIndices>{all});
}

/// A call of `callee` (float *bucket, i64 count, i64 bucket number) whose
/// destination is `bucket`.
Value callOnBucket(OpBuilder &b, Location loc, StringRef callee, Value bucket,
                   int64_t number) {
  auto type = cast<RankedTensorType>(bucket.getType());
  SmallVector<Attribute> scalars = {b.getI64IntegerAttr(type.getDimSize(0)),
                                    b.getI64IntegerAttr(number)};
  return b
      .create<RuntimeCallOp>(loc, TypeRange{type}, b.getStringAttr(callee),
                             ValueRange{}, ValueRange{bucket},
                             b.getDenseI64ArrayAttr({0}),
                             b.getArrayAttr(scalars))
      .getResult(0);
}

struct AllReduceStartPattern : public OpConversionPattern<AllReduceStartOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(AllReduceStartOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    RankedTensorType type = op.getResult().getType();
    Value bucket = rewriter.create<tensor::EmptyOp>(loc, type.getShape(),
                                                    type.getElementType());
    int64_t offset = 0;
    for (Value g : adaptor.getGrads()) {
      Value flat = flatten(rewriter, loc, g);
      int64_t n = cast<RankedTensorType>(flat.getType()).getDimSize(0);
      bucket = rewriter.create<tensor::InsertSliceOp>(
          loc, flat, bucket,
          ArrayRef<OpFoldResult>{rewriter.getIndexAttr(offset)},
          ArrayRef<OpFoldResult>{rewriter.getIndexAttr(n)},
          ArrayRef<OpFoldResult>{rewriter.getIndexAttr(1)});
      offset += n;
    }
    rewriter.replaceOp(op, callOnBucket(rewriter, loc, "nncrt_allreduce_start",
                                        bucket, op.getBucket()));
    return success();
  }
};

struct AllReduceWaitPattern : public OpConversionPattern<AllReduceWaitOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(AllReduceWaitOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Value reduced = callOnBucket(rewriter, loc, "nncrt_allreduce_wait",
                                 adaptor.getBucketData(), op.getBucket());
    SmallVector<Value> grads;
    int64_t offset = 0;
    for (Type t : op.getGrads().getTypes()) {
      auto type = cast<RankedTensorType>(t);
      int64_t n = type.getNumElements();
      Value slice = rewriter.create<tensor::ExtractSliceOp>(
          loc, reduced, ArrayRef<OpFoldResult>{rewriter.getIndexAttr(offset)},
          ArrayRef<OpFoldResult>{rewriter.getIndexAttr(n)},
          ArrayRef<OpFoldResult>{rewriter.getIndexAttr(1)});
      grads.push_back(unflatten(rewriter, loc, slice, type));
      offset += n;
    }
    rewriter.replaceOp(op, grads);
    return success();
  }
};

} // namespace

void mlir::nnc::populateNNAllReduceToRuntimePatterns(
    RewritePatternSet &patterns) {
  patterns.add<AllReduceStartPattern, AllReduceWaitPattern>(
      patterns.getContext());
}
