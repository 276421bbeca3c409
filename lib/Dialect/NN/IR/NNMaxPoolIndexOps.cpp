//===- NNMaxPoolIndexOps.cpp - max pooling with saved indices -------------===//
//
// Part of nnc, under the Apache License v2.0 with LLVM Exceptions.
// See LICENSE for license information.
//
//===----------------------------------------------------------------------===//

#include "nnc/Dialect/NN/IR/NNOps.h"

#include "llvm/Support/MathExtras.h"

using namespace mlir;
using namespace mlir::nnc;

static ArrayRef<int64_t> shapeOf(Value v) {
  return cast<RankedTensorType>(v.getType()).getShape();
}

/// The geometry of `op`'s pooling of an input of shape `input`, or a
/// located error: PyTorch's rules (getPool2dGeometry) and a window whose
/// positions fit the one-byte indices.
template <typename OpT>
static FailureOr<Pool2dGeometry> indexGeometry(OpT op, Value input) {
  auto type = cast<RankedTensorType>(input.getType());
  if (type.getRank() != 4)
    return op.emitOpError() << "expects a [N, C, H, W] input, got "
                            << formatShape(type.getShape());
  std::string why;
  FailureOr<Pool2dGeometry> g = getPool2dGeometry(
      type.getShape(), op.getKernel(), op.getStrides(), op.getPadding(), why);
  if (failed(g))
    return op.emitOpError(why);
  if (g->kh * g->kw > kMaxPoolIndexWindow)
    return op.emitOpError()
           << "window " << g->kh << "x" << g->kw << " has " << g->kh * g->kw
           << " elements; its positions "
           << "are one byte, so at most " << kMaxPoolIndexWindow;
  return g;
}

/// `v` must have the pooled shape [N, C, OH, OW] of `g`.
template <typename OpT>
static LogicalResult checkPooledShape(OpT op, Value v, StringRef name,
                                      const Pool2dGeometry &g) {
  SmallVector<int64_t> expected{g.n, g.c, g.oh, g.ow};
  if (shapeOf(v) != ArrayRef<int64_t>(expected))
    return op.emitOpError()
           << name << " " << formatShape(shapeOf(v))
           << " is not the pooled shape " << formatShape(expected);
  return success();
}

template <typename OpT> static Pool2dGeometry verified(OpT op, Value input) {
  std::string why;
  FailureOr<Pool2dGeometry> g = getPool2dGeometry(
      shapeOf(input), op.getKernel(), op.getStrides(), op.getPadding(), why);
  assert(succeeded(g) && "verified op");
  return *g;
}

/// A compare per window element, as the other poolings count (verified
/// shapes are within nnc's limits, but the product saturates rather than
/// wraps all the same).
static int64_t windowFlops(const Pool2dGeometry &g) {
  uint64_t product = 1;
  bool overflow = false;
  for (int64_t f : {g.n, g.c, g.oh, g.ow, g.kh, g.kw})
    product = llvm::SaturatingMultiply(product, uint64_t(f), &overflow);
  return product > uint64_t(INT64_MAX) ? INT64_MAX : int64_t(product);
}

//===----------------------------------------------------------------------===//
// MaxPool2dIndicesOp
//===----------------------------------------------------------------------===//

LogicalResult MaxPool2dIndicesOp::verify() {
  FailureOr<Pool2dGeometry> g = indexGeometry(*this, getInput());
  if (failed(g))
    return failure();
  return checkPooledShape(*this, getResult(), "result", *g);
}

Pool2dGeometry mlir::nnc::getGeometry(MaxPool2dIndicesOp op) {
  return verified(op, op.getInput());
}

LogicalResult
MaxPool2dIndicesOp::buildGradient(OpBuilder &, ValueRange,
                                  SmallVectorImpl<Value> &operandGrads) {
  // Positions do not change under a small change of the input.
  operandGrads.push_back(Value());
  return success();
}

int64_t MaxPool2dIndicesOp::getFlops() {
  return windowFlops(getGeometry(*this));
}

//===----------------------------------------------------------------------===//
// MaxPool2dIndexedOp
//===----------------------------------------------------------------------===//

LogicalResult MaxPool2dIndexedOp::verify() {
  FailureOr<Pool2dGeometry> g = indexGeometry(*this, getInput());
  if (failed(g))
    return failure();
  if (failed(checkPooledShape(*this, getIndices(), "indices", *g)) ||
      failed(checkPooledShape(*this, getResult(), "result", *g)))
    return failure();
  // A pooling picks elements: it stores its input's type.
  Type in = getInput().getType().getElementType();
  if (getType().getElementType() != in)
    return emitOpError() << "result element type " << getType().getElementType()
                         << " should be "
                         << "the input's, " << in;
  // Positions of another geometry or input would route the gradient to
  // the wrong elements; where their producer is in sight, it must match.
  if (auto producer = getIndices().getDefiningOp<MaxPool2dIndicesOp>())
    if (producer.getInput() != getInput() ||
        producer.getKernel() != getKernel() ||
        producer.getStrides() != getStrides() ||
        producer.getPadding() != getPadding())
      return emitOpError("indices must be nn.max_pool2d_indices of the "
                         "same input, kernel, strides and padding");
  return success();
}

Pool2dGeometry mlir::nnc::getGeometry(MaxPool2dIndexedOp op) {
  return verified(op, op.getInput());
}

LogicalResult
MaxPool2dIndexedOp::buildGradient(OpBuilder &b, ValueRange resultGrads,
                                  SmallVectorImpl<Value> &operandGrads) {
  // The input's gradient from the positions alone: the backward does not
  // keep the input alive (or recompute it) for this op.
  operandGrads.push_back(b.create<MaxPool2dIndexedGradOp>(
      getLoc(), getInput().getType(), getIndices(), resultGrads[0],
      getKernelAttr(), getStridesAttr(), getPaddingAttr()));
  operandGrads.push_back(Value());
  return success();
}

int64_t MaxPool2dIndexedOp::getFlops() {
  return windowFlops(getGeometry(*this));
}

//===----------------------------------------------------------------------===//
// MaxPool2dIndexedGradOp
//===----------------------------------------------------------------------===//

LogicalResult MaxPool2dIndexedGradOp::verify() {
  FailureOr<Pool2dGeometry> g = indexGeometry(*this, getResult());
  if (failed(g))
    return failure();
  if (failed(checkPooledShape(*this, getIndices(), "indices", *g)) ||
      failed(checkPooledShape(*this, getGrad(), "grad", *g)))
    return failure();
  Type gradElement = getGrad().getType().getElementType();
  if (gradElement != getType().getElementType())
    return emitOpError() << "grad element type " << gradElement
                         << " should be the result's, "
                         << getType().getElementType();
  return success();
}

Pool2dGeometry mlir::nnc::getGeometry(MaxPool2dIndexedGradOp op) {
  return verified(op, op.getResult());
}

int64_t MaxPool2dIndexedGradOp::getFlops() {
  return windowFlops(getGeometry(*this));
}
