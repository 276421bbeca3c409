//===- NNOps.cpp - nn dialect operations ----------------------------------===//
//
// Part of nnc.
//
// Verifiers, vector-Jacobian products and cost estimates of the nn ops.
//
//===----------------------------------------------------------------------===//

#include "nnc/Dialect/NN/IR/NNOps.h"

#include "mlir/IR/OpImplementation.h"

using namespace mlir;
using namespace mlir::nnc;

#include "nnc/Dialect/NN/IR/NNInterfaces.cpp.inc"

#define GET_OP_CLASSES
#include "nnc/Dialect/NN/IR/NNOps.cpp.inc"

int64_t mlir::nnc::getNumElements(Type type) {
  return cast<ShapedType>(type).getNumElements();
}

int64_t mlir::nnc::getSizeInBytes(Type type) {
  auto shaped = cast<ShapedType>(type);
  return shaped.getNumElements() *
         ((shaped.getElementTypeBitWidth() + 7) / 8);
}

static ArrayRef<int64_t> shapeOf(Value v) {
  return cast<RankedTensorType>(v.getType()).getShape();
}

static std::string shapeStr(ArrayRef<int64_t> shape) {
  std::string s;
  llvm::raw_string_ostream os(s);
  os << "[";
  llvm::interleaveComma(shape, os);
  os << "]";
  return s;
}

/// Checks `v` has rank `rank`, naming the operand in the diagnostic.
static LogicalResult checkRank(Operation *op, Value v, int64_t rank,
                               StringRef name) {
  if (cast<RankedTensorType>(v.getType()).getRank() == rank)
    return success();
  return op->emitOpError() << "expects " << name << " of rank " << rank
                           << ", got " << shapeStr(shapeOf(v));
}

//===----------------------------------------------------------------------===//
// LinearOp
//===----------------------------------------------------------------------===//

LogicalResult LinearOp::verify() {
  if (failed(checkRank(*this, getInput(), 2, "input")) ||
      failed(checkRank(*this, getWeight(), 2, "weight")))
    return failure();
  ArrayRef<int64_t> x = shapeOf(getInput()), w = shapeOf(getWeight());
  if (x[1] != w[1])
    return emitOpError() << "input features " << x[1]
                         << " do not match weight " << shapeStr(w)
                         << " (weight is [out, in])";
  if (Value b = getBias()) {
    if (failed(checkRank(*this, b, 1, "bias")))
      return failure();
    if (shapeOf(b)[0] != w[0])
      return emitOpError() << "bias " << shapeStr(shapeOf(b))
                           << " does not match weight outputs " << w[0];
  }
  SmallVector<int64_t> expected{x[0], w[0]};
  if (shapeOf(getResult()) != ArrayRef<int64_t>(expected))
    return emitOpError() << "result shape " << shapeStr(shapeOf(getResult()))
                         << " should be " << shapeStr(expected);
  return success();
}

LogicalResult LinearOp::buildGradient(OpBuilder &b, ValueRange resultGrads,
                                      SmallVectorImpl<Value> &operandGrads) {
  Location loc = getLoc();
  Value dy = resultGrads[0];
  // dx = dy · W, dW = dyᵀ · x, db = Σ_batch dy.
  operandGrads.push_back(b.create<MatmulOp>(loc, getInput().getType(), dy,
                                            getWeight(), false, false));
  operandGrads.push_back(b.create<MatmulOp>(loc, getWeight().getType(), dy,
                                            getInput(), true, false));
  if (Value bias = getBias())
    operandGrads.push_back(b.create<ReduceSumOp>(loc, bias.getType(), dy, 0));
  return success();
}

int64_t LinearOp::getFlops() {
  ArrayRef<int64_t> x = shapeOf(getInput()), w = shapeOf(getWeight());
  return 2 * x[0] * x[1] * w[0] + (getBias() ? x[0] * w[0] : 0);
}

//===----------------------------------------------------------------------===//
// MatmulOp
//===----------------------------------------------------------------------===//

LogicalResult MatmulOp::verify() {
  if (failed(checkRank(*this, getLhs(), 2, "lhs")) ||
      failed(checkRank(*this, getRhs(), 2, "rhs")))
    return failure();
  ArrayRef<int64_t> a = shapeOf(getLhs()), bs = shapeOf(getRhs());
  int64_t m = getTransposeLhs() ? a[1] : a[0];
  int64_t ka = getTransposeLhs() ? a[0] : a[1];
  int64_t kb = getTransposeRhs() ? bs[1] : bs[0];
  int64_t n = getTransposeRhs() ? bs[0] : bs[1];
  if (ka != kb)
    return emitOpError() << "contraction dimensions differ: lhs "
                         << shapeStr(a) << " gives " << ka << ", rhs "
                         << shapeStr(bs) << " gives " << kb;
  SmallVector<int64_t> expected{m, n};
  if (shapeOf(getResult()) != ArrayRef<int64_t>(expected))
    return emitOpError() << "result shape " << shapeStr(shapeOf(getResult()))
                         << " should be " << shapeStr(expected);
  return success();
}

LogicalResult MatmulOp::buildGradient(OpBuilder &b, ValueRange resultGrads,
                                      SmallVectorImpl<Value> &operandGrads) {
  Location loc = getLoc();
  Value dc = resultGrads[0], lhs = getLhs(), rhs = getRhs();
  bool tl = getTransposeLhs(), tr = getTransposeRhs();
  // C = op(A)·op(B): d op(A) = dC·op(B)ᵀ and d op(B) = op(A)ᵀ·dC, then undo
  // the transpose of the operand itself; each case is one matmul.
  Value da, db;
  if (!tl)
    da = tr ? b.create<MatmulOp>(loc, lhs.getType(), dc, rhs, false, false)
            : b.create<MatmulOp>(loc, lhs.getType(), dc, rhs, false, true);
  else
    da = tr ? b.create<MatmulOp>(loc, lhs.getType(), rhs, dc, true, true)
            : b.create<MatmulOp>(loc, lhs.getType(), rhs, dc, false, true);
  if (!tr)
    db = tl ? b.create<MatmulOp>(loc, rhs.getType(), lhs, dc, false, false)
            : b.create<MatmulOp>(loc, rhs.getType(), lhs, dc, true, false);
  else
    db = tl ? b.create<MatmulOp>(loc, rhs.getType(), dc, lhs, true, true)
            : b.create<MatmulOp>(loc, rhs.getType(), dc, lhs, true, false);
  operandGrads.push_back(da);
  operandGrads.push_back(db);
  return success();
}

int64_t MatmulOp::getFlops() {
  ArrayRef<int64_t> a = shapeOf(getLhs()), r = shapeOf(getResult());
  return 2 * r[0] * r[1] * (getTransposeLhs() ? a[0] : a[1]);
}

//===----------------------------------------------------------------------===//
// Elementwise forward ops
//===----------------------------------------------------------------------===//

LogicalResult AddOp::buildGradient(OpBuilder &, ValueRange resultGrads,
                                   SmallVectorImpl<Value> &operandGrads) {
  operandGrads.push_back(resultGrads[0]);
  operandGrads.push_back(resultGrads[0]);
  return success();
}
int64_t AddOp::getFlops() { return getNumElements(getType()); }

// ReLU, sigmoid, tanh and softmax differentiate through their output, so the
// backward keeps y rather than x (what PyTorch saves too). For ReLU y > 0
// exactly where x > 0; keeping the output lets a layer's pre-activation die
// as soon as the activation is computed.
LogicalResult ReluOp::buildGradient(OpBuilder &b, ValueRange resultGrads,
                                    SmallVectorImpl<Value> &operandGrads) {
  operandGrads.push_back(
      b.create<ReluGradOp>(getLoc(), getResult(), resultGrads[0]));
  return success();
}
int64_t ReluOp::getFlops() { return getNumElements(getType()); }

LogicalResult SigmoidOp::buildGradient(OpBuilder &b, ValueRange resultGrads,
                                       SmallVectorImpl<Value> &operandGrads) {
  operandGrads.push_back(
      b.create<SigmoidGradOp>(getLoc(), getResult(), resultGrads[0]));
  return success();
}
int64_t SigmoidOp::getFlops() { return 4 * getNumElements(getType()); }

LogicalResult TanhOp::buildGradient(OpBuilder &b, ValueRange resultGrads,
                                    SmallVectorImpl<Value> &operandGrads) {
  operandGrads.push_back(
      b.create<TanhGradOp>(getLoc(), getResult(), resultGrads[0]));
  return success();
}
int64_t TanhOp::getFlops() { return 4 * getNumElements(getType()); }

LogicalResult SoftmaxOp::verify() {
  return checkRank(*this, getInput(), 2, "input");
}
LogicalResult SoftmaxOp::buildGradient(OpBuilder &b, ValueRange resultGrads,
                                       SmallVectorImpl<Value> &operandGrads) {
  operandGrads.push_back(
      b.create<SoftmaxGradOp>(getLoc(), getResult(), resultGrads[0]));
  return success();
}
int64_t SoftmaxOp::getFlops() { return 5 * getNumElements(getType()); }

LogicalResult DropoutOp::verify() {
  double rate = getRate().convertToDouble();
  if (!(rate >= 0.0 && rate < 1.0))
    return emitOpError() << "rate must be in [0, 1), got " << rate;
  return success();
}
LogicalResult DropoutOp::buildGradient(OpBuilder &b, ValueRange resultGrads,
                                       SmallVectorImpl<Value> &operandGrads) {
  // The mask depends only on (seed, index), so the gradient is the same
  // dropout applied to dy: dy · mask / (1 - rate).
  operandGrads.push_back(b.create<DropoutOp>(getLoc(), resultGrads[0],
                                             getRateAttr(), getSeedAttr()));
  return success();
}
int64_t DropoutOp::getFlops() { return 2 * getNumElements(getType()); }

//===----------------------------------------------------------------------===//
// Losses
//===----------------------------------------------------------------------===//

LogicalResult MSELossOp::verify() {
  if (shapeOf(getInput()) != shapeOf(getTarget()))
    return emitOpError() << "input " << shapeStr(shapeOf(getInput()))
                         << " and target " << shapeStr(shapeOf(getTarget()))
                         << " must have the same shape";
  return success();
}
LogicalResult MSELossOp::buildGradient(OpBuilder &b, ValueRange resultGrads,
                                       SmallVectorImpl<Value> &operandGrads) {
  operandGrads.push_back(b.create<MSELossGradOp>(
      getLoc(), getInput().getType(), getInput(), getTarget(),
      resultGrads[0]));
  operandGrads.push_back(Value()); // targets are data
  return success();
}
int64_t MSELossOp::getFlops() { return 3 * getNumElements(getInput().getType()); }

static LogicalResult verifyLogitsAndLabels(Operation *op, Value logits,
                                           Value labels) {
  if (failed(checkRank(op, logits, 2, "logits")) ||
      failed(checkRank(op, labels, 1, "labels")))
    return failure();
  if (shapeOf(logits)[0] != shapeOf(labels)[0])
    return op->emitOpError()
           << "batch of logits " << shapeStr(shapeOf(logits))
           << " and labels " << shapeStr(shapeOf(labels)) << " differ";
  return success();
}

LogicalResult CrossEntropyOp::verify() {
  return verifyLogitsAndLabels(*this, getLogits(), getLabels());
}
LogicalResult
CrossEntropyOp::buildGradient(OpBuilder &b, ValueRange resultGrads,
                              SmallVectorImpl<Value> &operandGrads) {
  operandGrads.push_back(b.create<CrossEntropyGradOp>(
      getLoc(), getLogits().getType(), getLogits(), getLabels(),
      resultGrads[0]));
  operandGrads.push_back(Value()); // labels are integers
  return success();
}
int64_t CrossEntropyOp::getFlops() {
  return 5 * getNumElements(getLogits().getType());
}

//===----------------------------------------------------------------------===//
// Backward ops
//===----------------------------------------------------------------------===//

int64_t ReluGradOp::getFlops() { return getNumElements(getType()); }
int64_t SigmoidGradOp::getFlops() { return 3 * getNumElements(getType()); }
int64_t TanhGradOp::getFlops() { return 3 * getNumElements(getType()); }

LogicalResult SoftmaxGradOp::verify() {
  return checkRank(*this, getSaved(), 2, "saved");
}
int64_t SoftmaxGradOp::getFlops() { return 4 * getNumElements(getType()); }

LogicalResult ReduceSumOp::verify() {
  ArrayRef<int64_t> in = shapeOf(getInput());
  int64_t dim = getDim();
  if (dim < 0 || dim >= static_cast<int64_t>(in.size()))
    return emitOpError() << "dim " << dim << " out of range for input "
                         << shapeStr(in);
  SmallVector<int64_t> expected(in);
  expected.erase(expected.begin() + dim);
  if (shapeOf(getResult()) != ArrayRef<int64_t>(expected))
    return emitOpError() << "result shape " << shapeStr(shapeOf(getResult()))
                         << " should be " << shapeStr(expected);
  return success();
}
int64_t ReduceSumOp::getFlops() { return getNumElements(getInput().getType()); }

LogicalResult MSELossGradOp::verify() {
  if (shapeOf(getInput()) != shapeOf(getTarget()) ||
      getInput().getType() != getResult().getType())
    return emitOpError("input, target and result must have the same shape");
  return success();
}
int64_t MSELossGradOp::getFlops() {
  return 3 * getNumElements(getResult().getType());
}

LogicalResult CrossEntropyGradOp::verify() {
  if (failed(verifyLogitsAndLabels(*this, getLogits(), getLabels())))
    return failure();
  if (getLogits().getType() != getResult().getType())
    return emitOpError("result must have the type of the logits");
  return success();
}
int64_t CrossEntropyGradOp::getFlops() {
  return 5 * getNumElements(getResult().getType());
}

int64_t SGDOp::getFlops() { return 2 * getNumElements(getType()); }
