//===- NNOps.cpp - nn dialect operations ----------------------------------===//
//
// Part of nnc, under the Apache License v2.0 with LLVM Exceptions.
// See LICENSE for license information.
//
// Type inference, verifiers, vector-Jacobian products and cost estimates of the
// nn ops.
//
//===----------------------------------------------------------------------===//

#include "nnc/Dialect/NN/IR/NNOps.h"

#include "nnc/Support/Limits.h"

#include "mlir/IR/OpImplementation.h"
#include "mlir/Support/DebugStringHelper.h"
#include "llvm/Support/CheckedArithmetic.h"
#include "llvm/Support/MathExtras.h"
#include "llvm/Support/Format.h"

#include <cmath>

using namespace mlir;
using namespace mlir::nnc;

#include "nnc/Dialect/NN/IR/NNInterfaces.cpp.inc"

namespace mlir::nnc {
/// The verifier of ops with NN_InferType: inference states what is wrong
/// with the operands, and the declared result must be what it infers.
template <typename OpT> static LogicalResult verifyInferredType(OpT op);
} // namespace mlir::nnc

#define GET_OP_CLASSES
#include "nnc/Dialect/NN/IR/NNOps.cpp.inc"

int64_t mlir::nnc::getNumElements(Type type) {
  return cast<ShapedType>(type).getNumElements();
}

int64_t mlir::nnc::getSizeInBytes(Type type) {
  auto shaped = cast<ShapedType>(type);
  Type elt = shaped.getElementType();
  int64_t lanes = 1;
  if (auto vec = dyn_cast<VectorType>(elt)) {
    lanes = vec.getNumElements();
    elt = vec.getElementType();
  }
  // index is stored as a 64-bit integer by every nnc target.
  int64_t bits = elt.isIndex() ? 64 : elt.getIntOrFloatBitWidth();
  return shaped.getNumElements() * lanes * ((bits + 7) / 8);
}

FailureOr<int64_t> mlir::nnc::getCheckedSizeInBytes(Type type,
                                                    std::string &why) {
  auto shaped = dyn_cast<ShapedType>(type);
  if (!shaped || !shaped.hasStaticShape()) {
    why = "is not a statically shaped tensor or buffer";
    return failure();
  }
  Type elt = shaped.getElementType();
  int64_t lanes = 1;
  if (auto vec = dyn_cast<VectorType>(elt)) {
    if (!vec.hasStaticShape() || vec.isScalable()) {
      why = "has a vector element type of no static size";
      return failure();
    }
    lanes = vec.getNumElements();
    elt = vec.getElementType();
  }
  if (!elt.isIntOrIndexOrFloat()) {
    why = "has elements that are not numbers";
    return failure();
  }
  // index is stored as a 64-bit integer by every nnc target.
  int64_t bytes = elt.isIndex() ? 8 : (elt.getIntOrFloatBitWidth() + 7) / 8;
  std::optional<int64_t> size = llvm::checkedMul(bytes, lanes);
  for (int64_t dim : shaped.getShape())
    if (size)
      size = llvm::checkedMul(*size, dim);
  if (!size || *size > ::nnc::limits::kMaxTensorBytes) {
    why = "takes " +
          (size ? std::to_string(*size) + " bytes"
                : std::string("more than 2^63 bytes")) +
          ", over nnc's limit of 1 TiB per tensor";
    return failure();
  }
  return *size;
}

LogicalResult mlir::nnc::checkSizeLimits(func::FuncOp fn, int64_t maxOps) {
  auto checkValue = [](Value v, Location loc,
                       const Twine &what) -> LogicalResult {
    if (!isa<ShapedType>(v.getType()))
      return success(); // scalars and the like have a fixed small size
    // A model of empty tensors computes nothing (batch 0, 0 classes): it is
    // a mistake, never what the user meant.
    std::string why;
    if (llvm::is_contained(cast<ShapedType>(v.getType()).getShape(), 0))
      why = "has a dimension of size 0";
    else if (succeeded(getCheckedSizeInBytes(v.getType(), why)))
      return success();
    return emitError(loc) << what << " of type " << v.getType() << " " << why;
  };
  for (BlockArgument arg : fn.getArguments())
    if (failed(checkValue(arg, arg.getLoc(),
                          "argument #" + Twine(arg.getArgNumber()))))
      return failure();
  int64_t count = 0;
  WalkResult walk = fn.walk([&](Operation *op) {
    if (++count > maxOps) {
      fn.emitError() << "'" << fn.getSymName() << "' has more than " << maxOps
                     << " operations, over nnc's limit";
      return WalkResult::interrupt();
    }
    for (OpResult r : op->getResults())
      if (failed(checkValue(r, op->getLoc(),
                            "result #" + Twine(r.getResultNumber()))))
        return WalkResult::interrupt();
    for (Region &region : op->getRegions())
      for (Block &block : region)
        for (BlockArgument arg : block.getArguments())
          if (failed(checkValue(arg, op->getLoc(), "a block argument")))
            return WalkResult::interrupt();
    return WalkResult::advance();
  });
  return failure(walk.wasInterrupted());
}

bool mlir::nnc::isModelFunction(func::FuncOp fn) {
  if (fn.isExternal())
    return false;
  for (unsigned i = 0, e = fn.getNumArguments(); i < e; ++i)
    if (fn.getArgAttr(i, NNDialect::getParamAttrName()))
      return true;
  return false;
}

std::optional<EntryRole> mlir::nnc::getEntryRole(func::FuncOp fn) {
  if (auto role =
          fn->getAttrOfType<EntryRoleAttr>(NNDialect::getEntryAttrName()))
    return role.getValue();
  if (isModelFunction(fn))
    return EntryRole::Loss;
  return std::nullopt;
}

StringRef mlir::nnc::getArgName(func::FuncOp fn, unsigned index) {
  auto name =
      fn.getArgAttrOfType<StringAttr>(index, NNDialect::getNameAttrName());
  return name ? name.getValue() : StringRef();
}

StringRef mlir::nnc::getArgSourceName(func::FuncOp fn, unsigned index) {
  if (auto name = fn.getArgAttrOfType<StringAttr>(
          index, NNDialect::getSourceNameAttrName()))
    return name.getValue();
  return getArgName(fn, index);
}

std::string mlir::nnc::formatShape(ArrayRef<int64_t> shape) {
  std::string s;
  llvm::raw_string_ostream os(s);
  os << "[";
  llvm::interleaveComma(shape, os);
  os << "]";
  return s;
}

static ArrayRef<int64_t> shapeOf(Value v) {
  return cast<RankedTensorType>(v.getType()).getShape();
}

namespace {
/// Shape checks shared by the ops' type inference. Type inference runs from
/// the verifier (on operands the ODS constraints already checked) and from
/// builders (GraphBuilder, importers) on anything a frontend hands over, so
/// every operand is checked before it is trusted.
struct ShapeChecker {
  std::optional<Location> loc;
  StringRef op;

  LogicalResult fail(const Twine &msg) const {
    return emitOptionalError(loc, "'", op, "' op ", msg);
  }
  /// The static shape of `v`, which must be a ranked tensor of `rank`
  /// dimensions (any rank if negative).
  FailureOr<ArrayRef<int64_t>> shape(Value v, int64_t rank,
                                     StringRef name) const {
    auto type = v ? dyn_cast<RankedTensorType>(v.getType()) : nullptr;
    if (!type || !type.hasStaticShape())
      return fail(Twine("expects ") + name +
                  " to be a statically shaped tensor");
    if (rank >= 0 && type.getRank() != rank)
      return fail(Twine("expects ") + name + " of rank " + Twine(rank) +
                  ", got " + formatShape(type.getShape()));
    return type.getShape();
  }
};

RankedTensorType f32Tensor(MLIRContext *ctx, ArrayRef<int64_t> shape) {
  return RankedTensorType::get(shape, Float32Type::get(ctx));
}

/// The element type two contraction operands share (f32, or bf16 in a
/// mixed-precision step), or a located error.
FailureOr<Type> sharedElementType(const ShapeChecker &c, Value a, Value b,
                                  StringRef aName, StringRef bName) {
  Type ea = cast<ShapedType>(a.getType()).getElementType();
  Type eb = cast<ShapedType>(b.getType()).getElementType();
  if (ea != eb)
    return c.fail(Twine("expects ") + aName + " and " + bName +
                  " of one element type, got " + debugString(ea) + " and " +
                  debugString(eb));
  return ea;
}
} // namespace

template <typename OpT> LogicalResult mlir::nnc::verifyInferredType(OpT op) {
  SmallVector<Type> inferred;
  if (failed(OpT::inferReturnTypes(op.getContext(), op.getLoc(),
                                   typename OpT::Adaptor(op), inferred)))
    return failure();
  Type declared = op->getResult(0).getType();
  if (inferred[0] == declared)
    return success();
  auto shapedDeclared = cast<ShapedType>(declared);
  auto shapedInferred = cast<ShapedType>(inferred[0]);
  if (shapedDeclared.getShape() != shapedInferred.getShape())
    return op.emitOpError()
           << "result shape " << formatShape(shapedDeclared.getShape())
           << " should be " << formatShape(shapedInferred.getShape());
  // A bf16 computation may keep its result in f32 (a weight gradient that
  // accumulates in f32 and feeds an f32 update); nothing else may differ.
  // A pooling has no accumulator to keep: it stores its input's type.
  constexpr bool pooling =
      std::is_same_v<OpT, MaxPool2dOp> || std::is_same_v<OpT, AvgPool2dOp>;
  if (!pooling &&
      isa<BFloat16Type, Float16Type>(shapedInferred.getElementType()) &&
      shapedDeclared.getElementType().isF32())
    return success();
  return op.emitOpError() << "result element type "
                          << shapedDeclared.getElementType() << " should be "
                          << shapedInferred.getElementType();
}

//===----------------------------------------------------------------------===//
// LinearOp
//===----------------------------------------------------------------------===//

LogicalResult LinearOp::inferReturnTypes(MLIRContext *ctx,
                                         std::optional<Location> loc,
                                         Adaptor adaptor,
                                         SmallVectorImpl<Type> &inferred) {
  ShapeChecker c{loc, getOperationName()};
  auto x = c.shape(adaptor.getInput(), 2, "input");
  if (failed(x))
    return failure();
  auto w = c.shape(adaptor.getWeight(), 2, "weight");
  if (failed(w))
    return failure();
  if ((*x)[1] != (*w)[1])
    return c.fail("input features " + Twine((*x)[1]) + " do not match weight " +
                  formatShape(*w) + " (weight is [out, in])");
  if (Value b = adaptor.getBias()) {
    auto bias = c.shape(b, 1, "bias");
    if (failed(bias))
      return failure();
    if ((*bias)[0] != (*w)[0])
      return c.fail("bias " + formatShape(*bias) +
                    " does not match weight outputs " + Twine((*w)[0]));
  }
  FailureOr<Type> element = sharedElementType(
      c, adaptor.getInput(), adaptor.getWeight(), "input", "weight");
  if (failed(element))
    return failure();
  inferred.push_back(RankedTensorType::get({(*x)[0], (*w)[0]}, *element));
  return success();
}

/// `dy` in the element type of the operands of the product it is the
/// gradient of: a bf16 product may keep its result in f32
/// (nnc-mixed-precision), and its input gradients are then bf16 products
/// too.
static Value asOperandType(OpBuilder &b, Location loc, Value dy,
                           Value operand) {
  Type element = cast<ShapedType>(operand.getType()).getElementType();
  auto type = cast<RankedTensorType>(dy.getType());
  if (type.getElementType() == element)
    return dy;
  return b.create<CastOp>(loc, type.clone(element), dy);
}

LogicalResult LinearOp::buildGradient(OpBuilder &b, ValueRange resultGrads,
                                      SmallVectorImpl<Value> &operandGrads) {
  Location loc = getLoc();
  Value dy = resultGrads[0];
  Value dyOperand = asOperandType(b, loc, dy, getInput());
  // dx = dy · W, dW = dyᵀ · x, db = Σ_batch dy.
  operandGrads.push_back(
      b.create<MatmulOp>(loc, dyOperand, getWeight(), false, false));
  operandGrads.push_back(
      b.create<MatmulOp>(loc, dyOperand, getInput(), true, false));
  if (Value bias = getBias())
    operandGrads.push_back(b.create<ReduceSumOp>(loc, dy, 0));
  return success();
}

int64_t LinearOp::getFlops() {
  ArrayRef<int64_t> x = shapeOf(getInput()), w = shapeOf(getWeight());
  return 2 * x[0] * x[1] * w[0] + (getBias() ? x[0] * w[0] : 0);
}

//===----------------------------------------------------------------------===//
// MatmulOp
//===----------------------------------------------------------------------===//

/// The shape of op(lhs) · op(rhs).
static int64_t saturatingProduct(std::initializer_list<int64_t> factors);

/// The shape of op(lhs) · op(rhs), batched over equal leading dimensions
/// when the operands have more than two (`batched`: allowed at all).
static FailureOr<SmallVector<int64_t>>
matmulShape(const ShapeChecker &c, Value lhs, Value rhs, bool tl, bool tr,
            bool batched = false) {
  auto a = c.shape(lhs, batched ? -1 : 2, "lhs");
  if (failed(a))
    return failure();
  auto bs = c.shape(rhs, batched ? -1 : 2, "rhs");
  if (failed(bs))
    return failure();
  size_t rank = a->size();
  if (rank < 2 || bs->size() != rank ||
      a->drop_back(2) != bs->drop_back(2))
    return c.fail("expects lhs and rhs of one rank, 2 or more, with the same "
                  "leading (batch) dimensions, got " +
                  formatShape(*a) + " and " + formatShape(*bs));
  ArrayRef<int64_t> x = a->take_back(2), y = bs->take_back(2);
  int64_t m = tl ? x[1] : x[0], ka = tl ? x[0] : x[1];
  int64_t kb = tr ? y[1] : y[0], n = tr ? y[0] : y[1];
  if (ka != kb)
    return c.fail("contraction dimensions differ: lhs " + formatShape(*a) +
                  " gives " + Twine(ka) + ", rhs " + formatShape(*bs) + " gives " +
                  Twine(kb));
  SmallVector<int64_t> shape(a->drop_back(2));
  shape.append({m, n});
  return shape;
}

LogicalResult MatmulOp::inferReturnTypes(MLIRContext *ctx,
                                         std::optional<Location> loc,
                                         Adaptor adaptor,
                                         SmallVectorImpl<Type> &inferred) {
  ShapeChecker c{loc, getOperationName()};
  auto shape =
      matmulShape(c, adaptor.getLhs(), adaptor.getRhs(),
                  adaptor.getTransposeLhs(), adaptor.getTransposeRhs(),
                  /*batched=*/true);
  if (failed(shape))
    return failure();
  FailureOr<Type> element =
      sharedElementType(c, adaptor.getLhs(), adaptor.getRhs(), "lhs", "rhs");
  if (failed(element))
    return failure();
  // Batched products run as compiled loops, in f32 only.
  if (shape->size() > 2 && !element->isF32())
    return c.fail("expects f32 operands for a batched product, got " +
                  debugString(*element));
  inferred.push_back(RankedTensorType::get(*shape, *element));
  return success();
}

LogicalResult MatmulOp::buildGradient(OpBuilder &b, ValueRange resultGrads,
                                      SmallVectorImpl<Value> &operandGrads) {
  Location loc = getLoc();
  Value lhs = getLhs(), rhs = getRhs();
  Value dc = asOperandType(b, loc, resultGrads[0], lhs);
  bool tl = getTransposeLhs(), tr = getTransposeRhs();
  // C = op(A)·op(B): d op(A) = dC·op(B)ᵀ and d op(B) = op(A)ᵀ·dC, then undo
  // the transpose of the operand itself; each case is one matmul.
  Value da, db;
  if (!tl)
    da = tr ? b.create<MatmulOp>(loc, dc, rhs, false, false)
            : b.create<MatmulOp>(loc, dc, rhs, false, true);
  else
    da = tr ? b.create<MatmulOp>(loc, rhs, dc, true, true)
            : b.create<MatmulOp>(loc, rhs, dc, false, true);
  if (!tr)
    db = tl ? b.create<MatmulOp>(loc, lhs, dc, false, false)
            : b.create<MatmulOp>(loc, lhs, dc, true, false);
  else
    db = tl ? b.create<MatmulOp>(loc, dc, lhs, true, true)
            : b.create<MatmulOp>(loc, dc, lhs, true, false);
  operandGrads.push_back(da);
  operandGrads.push_back(db);
  return success();
}

int64_t MatmulOp::getFlops() {
  ArrayRef<int64_t> a = shapeOf(getLhs()).take_back(2);
  int64_t k = getTransposeLhs() ? a[0] : a[1];
  return saturatingProduct({2, getNumElements(getType()), k});
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

LogicalResult LeakyReluOp::verify() {
  double alpha = getAlpha().convertToDouble();
  if (!(alpha >= 0.0 && std::isfinite(alpha)))
    return emitOpError() << "alpha must be finite and not negative (the "
                            "gradient reads the output's sign), got "
                         << alpha;
  return success();
}
LogicalResult LeakyReluOp::buildGradient(OpBuilder &b, ValueRange resultGrads,
                                         SmallVectorImpl<Value> &operandGrads) {
  operandGrads.push_back(b.create<LeakyReluGradOp>(
      getLoc(), getResult(), resultGrads[0], getAlphaAttr()));
  return success();
}
int64_t LeakyReluOp::getFlops() { return 2 * getNumElements(getType()); }

// GELU's derivative Φ(x) + x·φ(x) is not a function of its output, so its
// backward keeps the input.
LogicalResult GeluOp::buildGradient(OpBuilder &b, ValueRange resultGrads,
                                    SmallVectorImpl<Value> &operandGrads) {
  operandGrads.push_back(
      b.create<GeluGradOp>(getLoc(), getInput(), resultGrads[0]));
  return success();
}
int64_t GeluOp::getFlops() { return 8 * getNumElements(getType()); }

LogicalResult SoftmaxOp::verify() {
  return ShapeChecker{getLoc(), getOperationName()}.shape(getInput(), 2,
                                                          "input");
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

LogicalResult CastOp::verify() {
  if (getInput().getType().getShape() != getType().getShape())
    return emitOpError() << "result shape " << formatShape(getType().getShape())
                         << " should be the input's "
                         << formatShape(getInput().getType().getShape());
  return success();
}
LogicalResult CastOp::buildGradient(OpBuilder &b, ValueRange resultGrads,
                                    SmallVectorImpl<Value> &operandGrads) {
  Value dy = resultGrads[0];
  Type inputType = getInput().getType();
  // The gradient of a weight's bf16 copy is a product accumulated in f32:
  // keep it in f32 rather than round it and widen it back (so a weight
  // gradient loses nothing to bf16, and its SGD update can fuse).
  Operation *product = dy.getDefiningOp();
  bool isProduct =
      isa_and_nonnull<Conv2dGradWeightOp>(product) ||
      (isa_and_nonnull<MatmulOp>(product) &&
       cast<MatmulOp>(product).getType().getRank() == 2);
  if (isProduct && dy.use_empty() &&
      cast<ShapedType>(inputType).getElementType().isF32()) {
    dy.setType(inputType);
    operandGrads.push_back(dy);
    return success();
  }
  operandGrads.push_back(
      dy.getType() == inputType
          ? dy
          : b.create<CastOp>(getLoc(), inputType, dy).getResult());
  return success();
}
int64_t CastOp::getFlops() { return getNumElements(getType()); }

//===----------------------------------------------------------------------===//
// Losses
//===----------------------------------------------------------------------===//

LogicalResult MSELossOp::inferReturnTypes(MLIRContext *ctx,
                                          std::optional<Location> loc,
                                          Adaptor adaptor,
                                          SmallVectorImpl<Type> &inferred) {
  ShapeChecker c{loc, getOperationName()};
  auto in = c.shape(adaptor.getInput(), -1, "input");
  if (failed(in))
    return failure();
  auto target = c.shape(adaptor.getTarget(), -1, "target");
  if (failed(target))
    return failure();
  if (*in != *target)
    return c.fail("input " + formatShape(*in) + " and target " +
                  formatShape(*target) + " must have the same shape");
  inferred.push_back(f32Tensor(ctx, {}));
  return success();
}

LogicalResult MSELossOp::buildGradient(OpBuilder &b, ValueRange resultGrads,
                                       SmallVectorImpl<Value> &operandGrads) {
  operandGrads.push_back(b.create<MSELossGradOp>(getLoc(), getInput(),
                                                 getTarget(), resultGrads[0]));
  operandGrads.push_back(Value()); // targets are data
  return success();
}
int64_t MSELossOp::getFlops() {
  return 3 * getNumElements(getInput().getType());
}

/// Logits [batch, classes] and one label per row.
static LogicalResult checkLogitsAndLabels(const ShapeChecker &c, Value logits,
                                          Value labels) {
  auto z = c.shape(logits, 2, "logits");
  if (failed(z))
    return failure();
  auto l = c.shape(labels, 1, "labels");
  if (failed(l))
    return failure();
  if ((*z)[0] != (*l)[0])
    return c.fail("batch of logits " + formatShape(*z) + " and labels " +
                  formatShape(*l) + " differ");
  return success();
}

LogicalResult
CrossEntropyOp::inferReturnTypes(MLIRContext *ctx, std::optional<Location> loc,
                                 Adaptor adaptor,
                                 SmallVectorImpl<Type> &inferred) {
  ShapeChecker c{loc, getOperationName()};
  if (failed(checkLogitsAndLabels(c, adaptor.getLogits(), adaptor.getLabels())))
    return failure();
  inferred.push_back(f32Tensor(ctx, {}));
  return success();
}
LogicalResult
CrossEntropyOp::buildGradient(OpBuilder &b, ValueRange resultGrads,
                              SmallVectorImpl<Value> &operandGrads) {
  operandGrads.push_back(b.create<CrossEntropyGradOp>(
      getLoc(), getLogits(), getLabels(), resultGrads[0]));
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
int64_t LeakyReluGradOp::getFlops() { return 2 * getNumElements(getType()); }
int64_t GeluGradOp::getFlops() { return 12 * getNumElements(getType()); }

LogicalResult SoftmaxGradOp::verify() {
  return ShapeChecker{getLoc(), getOperationName()}.shape(getSaved(), 2,
                                                          "saved");
}
int64_t SoftmaxGradOp::getFlops() { return 4 * getNumElements(getType()); }

LogicalResult ReduceSumOp::inferReturnTypes(MLIRContext *ctx,
                                            std::optional<Location> loc,
                                            Adaptor adaptor,
                                            SmallVectorImpl<Type> &inferred) {
  ShapeChecker c{loc, getOperationName()};
  auto in = c.shape(adaptor.getInput(), -1, "input");
  if (failed(in))
    return failure();
  int64_t dim = adaptor.getDim();
  if (dim < 0 || dim >= static_cast<int64_t>(in->size()))
    return c.fail("dim " + Twine(dim) + " out of range for input " +
                  formatShape(*in));
  SmallVector<int64_t> shape(*in);
  shape.erase(shape.begin() + dim);
  inferred.push_back(f32Tensor(ctx, shape));
  return success();
}
int64_t ReduceSumOp::getFlops() { return getNumElements(getInput().getType()); }

LogicalResult MSELossGradOp::inferReturnTypes(MLIRContext *ctx,
                                              std::optional<Location> loc,
                                              Adaptor adaptor,
                                              SmallVectorImpl<Type> &inferred) {
  ShapeChecker c{loc, getOperationName()};
  auto in = c.shape(adaptor.getInput(), -1, "input");
  if (failed(in))
    return failure();
  auto target = c.shape(adaptor.getTarget(), -1, "target");
  if (failed(target))
    return failure();
  if (*in != *target)
    return c.fail("input " + formatShape(*in) + " and target " +
                  formatShape(*target) + " must have the same shape");
  if (failed(c.shape(adaptor.getGrad(), 0, "grad")))
    return failure();
  // The gradient has the prediction's type (bf16 in a mixed-precision
  // step), computed in f32.
  inferred.push_back(RankedTensorType::get(
      *in, cast<ShapedType>(adaptor.getInput().getType()).getElementType()));
  return success();
}
int64_t MSELossGradOp::getFlops() {
  return 3 * getNumElements(getResult().getType());
}

LogicalResult CrossEntropyGradOp::inferReturnTypes(
    MLIRContext *ctx, std::optional<Location> loc, Adaptor adaptor,
    SmallVectorImpl<Type> &inferred) {
  ShapeChecker c{loc, getOperationName()};
  if (failed(
          checkLogitsAndLabels(c, adaptor.getLogits(), adaptor.getLabels())) ||
      failed(c.shape(adaptor.getGrad(), 0, "grad")))
    return failure();
  inferred.push_back(adaptor.getLogits().getType());
  return success();
}
int64_t CrossEntropyGradOp::getFlops() {
  return 5 * getNumElements(getResult().getType());
}

//===----------------------------------------------------------------------===//
// Convolutional layers
//===----------------------------------------------------------------------===//

/// No attribute of a convolution or pooling exceeds this: far beyond any
/// real layer, and small enough that the shape arithmetic below cannot
/// overflow on shapes within nnc's tensor limits.
static constexpr int64_t kMaxWindowAttr = int64_t(1) << 24;

static bool allIn(ArrayRef<int64_t> values, int64_t lo) {
  return llvm::all_of(values,
                      [&](int64_t v) { return v >= lo && v <= kMaxWindowAttr; });
}

/// The output size of one spatial dimension, or -1 if the (dilated) window
/// does not fit the padded input.
static int64_t windowOutput(int64_t in, int64_t padLo, int64_t padHi,
                            int64_t window, int64_t stride) {
  int64_t padded = in + padLo + padHi;
  return window > padded ? -1 : (padded - window) / stride + 1;
}

/// The strides and padding every window op has: two positive strides, and
/// [top, left, bottom, right] padding, none negative.
static LogicalResult checkStridesAndPadding(llvm::raw_ostream &os,
                                            ArrayRef<int64_t> strides,
                                            ArrayRef<int64_t> padding) {
  if (strides.size() != 2 || !allIn(strides, 1)) {
    os << "strides must be two positive values, got " << formatShape(strides);
    return failure();
  }
  if (padding.size() != 4 || !allIn(padding, 0)) {
    os << "padding must be four values [top, left, bottom, right], none "
          "negative, got "
       << formatShape(padding);
    return failure();
  }
  return success();
}

SmallVector<int64_t> Conv2dGeometry::values() const {
  return {n,       c,       h,       w,        k,         kh,
          kw,      oh,      ow,      strideH,  strideW,   padTop,
          padLeft, padBottom, padRight, dilationH, dilationW, groups};
}

/// The product of `factors`, saturated at INT64_MAX: a convolution of two
/// tensors within nnc's size limit can still count more operations than
/// int64 holds, and the planner then reports the overflow of its sums.
static int64_t saturatingProduct(std::initializer_list<int64_t> factors) {
  uint64_t product = 1;
  bool overflow = false;
  for (int64_t f : factors)
    product = llvm::SaturatingMultiply(product, uint64_t(f), &overflow);
  return product > uint64_t(INT64_MAX) ? INT64_MAX : int64_t(product);
}

int64_t Conv2dGeometry::macFlops() const {
  return saturatingProduct({2, n, k, oh, ow, c / groups, kh, kw});
}

FailureOr<Conv2dGeometry> mlir::nnc::getConv2dGeometry(
    ArrayRef<int64_t> input, ArrayRef<int64_t> weight,
    ArrayRef<int64_t> strides, ArrayRef<int64_t> padding,
    ArrayRef<int64_t> dilations, int64_t groups, std::string &why) {
  llvm::raw_string_ostream os(why);
  if (failed(checkStridesAndPadding(os, strides, padding)))
    return failure();
  if (dilations.size() != 2 || !allIn(dilations, 1)) {
    os << "dilations must be two positive values, got " << formatShape(dilations);
    return failure();
  }
  if (groups < 1 || groups > kMaxWindowAttr) {
    os << "groups must be positive, got " << groups;
    return failure();
  }
  if (input.size() != 4 || weight.size() != 4) {
    os << "expects a 4-D input [N, C, H, W] and a 4-D weight [K, C/groups, "
          "KH, KW], got "
       << formatShape(input) << " and " << formatShape(weight);
    return failure();
  }
  Conv2dGeometry g;
  g.n = input[0], g.c = input[1], g.h = input[2], g.w = input[3];
  g.k = weight[0], g.kh = weight[2], g.kw = weight[3];
  g.strideH = strides[0], g.strideW = strides[1];
  g.padTop = padding[0], g.padLeft = padding[1];
  g.padBottom = padding[2], g.padRight = padding[3];
  g.dilationH = dilations[0], g.dilationW = dilations[1];
  g.groups = groups;
  if (g.c % groups || g.k % groups) {
    os << "input channels " << g.c << " and output channels " << g.k
       << " must both be divisible by groups " << groups;
    return failure();
  }
  if (weight[1] * groups != g.c) {
    os << "weight " << formatShape(weight) << " does not match input "
       << formatShape(input) << ": expected " << g.c / groups
       << " input channels per group (weight is [K, C/groups, KH, KW])";
    return failure();
  }
  int64_t effH = g.dilationH * (g.kh - 1) + 1, effW = g.dilationW * (g.kw - 1) + 1;
  g.oh = windowOutput(g.h, g.padTop, g.padBottom, effH, g.strideH);
  g.ow = windowOutput(g.w, g.padLeft, g.padRight, effW, g.strideW);
  if (g.oh < 1 || g.ow < 1) {
    os << "kernel " << effH << "x" << effW << " (dilated) is larger than the "
       << "padded input " << g.h + g.padTop + g.padBottom << "x"
       << g.w + g.padLeft + g.padRight;
    return failure();
  }
  return g;
}

SmallVector<int64_t> Pool2dGeometry::values() const {
  return {n,       c,       h,      w,      oh,        ow,       kh,
          kw,      strideH, strideW, padTop, padLeft, padBottom, padRight};
}

FailureOr<Pool2dGeometry> mlir::nnc::getPool2dGeometry(
    ArrayRef<int64_t> input, ArrayRef<int64_t> kernel,
    ArrayRef<int64_t> strides, ArrayRef<int64_t> padding, std::string &why) {
  llvm::raw_string_ostream os(why);
  if (kernel.size() != 2 || !allIn(kernel, 1)) {
    os << "kernel must be two positive values, got " << formatShape(kernel);
    return failure();
  }
  if (failed(checkStridesAndPadding(os, strides, padding)))
    return failure();
  // PyTorch's rule: a window is never all padding.
  if (padding[0] * 2 > kernel[0] || padding[2] * 2 > kernel[0] ||
      padding[1] * 2 > kernel[1] || padding[3] * 2 > kernel[1]) {
    os << "padding " << formatShape(padding)
       << " must be at most half the kernel " << formatShape(kernel);
    return failure();
  }
  if (input.size() != 4) {
    os << "expects a 4-D input [N, C, H, W], got " << formatShape(input);
    return failure();
  }
  Pool2dGeometry g;
  g.n = input[0], g.c = input[1], g.h = input[2], g.w = input[3];
  g.kh = kernel[0], g.kw = kernel[1];
  g.strideH = strides[0], g.strideW = strides[1];
  g.padTop = padding[0], g.padLeft = padding[1];
  g.padBottom = padding[2], g.padRight = padding[3];
  g.oh = windowOutput(g.h, g.padTop, g.padBottom, g.kh, g.strideH);
  g.ow = windowOutput(g.w, g.padLeft, g.padRight, g.kw, g.strideW);
  if (g.oh < 1 || g.ow < 1) {
    os << "kernel " << formatShape(kernel) << " is larger than the padded input "
       << g.h + g.padTop + g.padBottom << "x" << g.w + g.padLeft + g.padRight;
    return failure();
  }
  return g;
}

/// The conv geometry of `input` and `weight` under `op`'s attributes,
/// reported through `c` if bad.
template <typename AdaptorT>
static FailureOr<Conv2dGeometry> convGeometry(const ShapeChecker &c,
                                              AdaptorT a, Value input,
                                              Value weight) {
  auto x = c.shape(input, 4, "input");
  if (failed(x))
    return failure();
  auto w = c.shape(weight, 4, "weight");
  if (failed(w))
    return failure();
  std::string why;
  FailureOr<Conv2dGeometry> g = getConv2dGeometry(
      *x, *w, a.getStrides(), a.getPadding(), a.getDilations(),
      a.getGroups(), why);
  if (failed(g))
    return c.fail(why);
  return g;
}

static ArrayRef<int64_t> convOutputShape(const Conv2dGeometry &g,
                                         SmallVectorImpl<int64_t> &storage) {
  storage.assign({g.n, g.k, g.oh, g.ow});
  return storage;
}

LogicalResult Conv2dOp::inferReturnTypes(MLIRContext *ctx,
                                         std::optional<Location> loc,
                                         Adaptor adaptor,
                                         SmallVectorImpl<Type> &inferred) {
  ShapeChecker c{loc, getOperationName()};
  FailureOr<Conv2dGeometry> g =
      convGeometry(c, adaptor, adaptor.getInput(), adaptor.getWeight());
  if (failed(g))
    return failure();
  if (Value b = adaptor.getBias()) {
    auto bias = c.shape(b, 1, "bias");
    if (failed(bias))
      return failure();
    if ((*bias)[0] != g->k)
      return c.fail("bias " + formatShape(*bias) + " does not match the " +
                    Twine(g->k) + " output channels");
  }
  // A convolution is a contraction: bf16 operands (both or neither) give a
  // bf16 result, which may be kept in f32 (verifyInferredType).
  FailureOr<Type> element = sharedElementType(
      c, adaptor.getInput(), adaptor.getWeight(), "input", "weight");
  if (failed(element))
    return failure();
  SmallVector<int64_t> shape;
  inferred.push_back(
      RankedTensorType::get(convOutputShape(*g, shape), *element));
  return success();
}

LogicalResult Conv2dOp::buildGradient(OpBuilder &b, ValueRange resultGrads,
                                      SmallVectorImpl<Value> &operandGrads) {
  Location loc = getLoc();
  Value dy = resultGrads[0];
  auto strides = getStridesAttr(), padding = getPaddingAttr(),
       dilations = getDilationsAttr();
  auto groups = getGroupsAttr();
  // As for a linear layer: the products of a bf16 convolution whose result
  // was kept in f32 read the gradient narrowed; the bias sums it as it is.
  Value dyOperand = asOperandType(b, loc, dy, getInput());
  operandGrads.push_back(b.create<Conv2dGradInputOp>(
      loc, getInput().getType(), dyOperand, getWeight(), strides, padding,
      dilations, groups));
  operandGrads.push_back(b.create<Conv2dGradWeightOp>(
      loc, getWeight().getType(), getInput(), dyOperand, strides, padding,
      dilations, groups));
  if (getBias())
    operandGrads.push_back(b.create<ChannelSumOp>(loc, dy));
  return success();
}

/// This op's geometry; the verifier has accepted it.
template <typename OpT> static Conv2dGeometry verifiedConv(OpT op) {
  std::string why;
  Value x, w;
  if constexpr (std::is_same_v<OpT, Conv2dGradInputOp>)
    x = op.getResult(), w = op.getWeight();
  else if constexpr (std::is_same_v<OpT, Conv2dGradWeightOp>)
    x = op.getInput(), w = op.getResult();
  else
    x = op.getInput(), w = op.getWeight();
  FailureOr<Conv2dGeometry> g =
      getConv2dGeometry(shapeOf(x), shapeOf(w), op.getStrides(),
                        op.getPadding(), op.getDilations(), op.getGroups(),
                        why);
  assert(succeeded(g) && "verified op");
  return *g;
}

Conv2dGeometry mlir::nnc::getGeometry(Conv2dOp op) { return verifiedConv(op); }
Conv2dGeometry mlir::nnc::getGeometry(Conv2dGradInputOp op) {
  return verifiedConv(op);
}
Conv2dGeometry mlir::nnc::getGeometry(Conv2dGradWeightOp op) {
  return verifiedConv(op);
}

int64_t Conv2dOp::getFlops() {
  int64_t flops = verifiedConv(*this).macFlops();
  int64_t bias = getBias() ? getNumElements(getType()) : 0;
  return flops > INT64_MAX - bias ? INT64_MAX : flops + bias;
}

/// The gradient ops state their forward convolution through their result
/// type: it must be one whose forward gives `grad`'s shape.
template <typename OpT>
static LogicalResult verifyConvGrad(OpT op, Value x, Value w) {
  ShapeChecker c{op.getLoc(), op->getName().getStringRef()};
  FailureOr<Conv2dGeometry> g = convGeometry(c, op, x, w);
  if (failed(g))
    return failure();
  // Its two operands are a product's (one element type); the result has
  // theirs, or f32 for 16-bit operands (accumulated in f32 and kept: a
  // weight gradient feeding an f32 update).
  Value a = op->getOperand(0), b = op->getOperand(1);
  FailureOr<Type> element = sharedElementType(
      c, a, b, std::is_same_v<OpT, Conv2dGradInputOp> ? "grad" : "input",
      std::is_same_v<OpT, Conv2dGradInputOp> ? "weight" : "grad");
  if (failed(element))
    return failure();
  Type result = op.getType().getElementType();
  bool half = isa<BFloat16Type, Float16Type>(*element);
  if (result != *element && !(half && result.isF32()))
    return op.emitOpError() << "result element type " << result
                            << " should be " << *element
                            << (half ? " or 'f32'" : "");
  SmallVector<int64_t> shape;
  ArrayRef<int64_t> expected = convOutputShape(*g, shape);
  if (shapeOf(op.getGrad()) != expected)
    return op.emitOpError()
           << "grad " << formatShape(shapeOf(op.getGrad()))
           << " is not the output " << formatShape(expected)
           << " of the convolution it differentiates";
  return success();
}

LogicalResult Conv2dGradInputOp::verify() {
  return verifyConvGrad(*this, getResult(), getWeight());
}
int64_t Conv2dGradInputOp::getFlops() { return verifiedConv(*this).macFlops(); }

LogicalResult Conv2dGradWeightOp::verify() {
  return verifyConvGrad(*this, getInput(), getResult());
}
int64_t Conv2dGradWeightOp::getFlops() {
  return verifiedConv(*this).macFlops();
}

LogicalResult ChannelSumOp::inferReturnTypes(MLIRContext *ctx,
                                             std::optional<Location> loc,
                                             Adaptor adaptor,
                                             SmallVectorImpl<Type> &inferred) {
  ShapeChecker c{loc, getOperationName()};
  auto x = c.shape(adaptor.getInput(), -1, "input");
  if (failed(x))
    return failure();
  if (x->size() < 2)
    return c.fail("expects input [N, C, ...] of rank 2 or more, got " +
                  formatShape(*x));
  inferred.push_back(f32Tensor(ctx, {(*x)[1]}));
  return success();
}
int64_t ChannelSumOp::getFlops() {
  return getNumElements(getInput().getType());
}

/// The pooling geometry of `input` under the attributes of `a`.
template <typename AdaptorT>
static FailureOr<Pool2dGeometry> poolGeometry(const ShapeChecker &c,
                                              AdaptorT a, Value input) {
  auto x = c.shape(input, 4, "input");
  if (failed(x))
    return failure();
  std::string why;
  FailureOr<Pool2dGeometry> g =
      getPool2dGeometry(*x, a.getKernel(), a.getStrides(), a.getPadding(), why);
  if (failed(g))
    return c.fail(why);
  return g;
}

template <typename OpT>
static LogicalResult inferPool(std::optional<Location> loc,
                               typename OpT::Adaptor adaptor,
                               SmallVectorImpl<Type> &inferred) {
  ShapeChecker c{loc, OpT::getOperationName()};
  FailureOr<Pool2dGeometry> g = poolGeometry(c, adaptor, adaptor.getInput());
  if (failed(g))
    return failure();
  // A pooling keeps its input's type: bf16 in a mixed-precision step.
  inferred.push_back(RankedTensorType::get(
      {g->n, g->c, g->oh, g->ow},
      cast<ShapedType>(adaptor.getInput().getType()).getElementType()));
  return success();
}

/// A pooling gradient: the forward of its result type must give `grad`.
template <typename OpT> static LogicalResult verifyPoolGrad(OpT op) {
  ShapeChecker c{op.getLoc(), op->getName().getStringRef()};
  FailureOr<Pool2dGeometry> g = poolGeometry(c, op, op.getResult());
  if (failed(g))
    return failure();
  SmallVector<int64_t> expected{g->n, g->c, g->oh, g->ow};
  if (shapeOf(op.getGrad()) != ArrayRef<int64_t>(expected))
    return op.emitOpError() << "grad " << formatShape(shapeOf(op.getGrad()))
                            << " is not the output " << formatShape(expected)
                            << " of the pooling it differentiates";
  Type gradElement = op.getGrad().getType().getElementType();
  if (gradElement != op.getType().getElementType())
    return op.emitOpError() << "grad element type " << gradElement
                            << " should be the result's, "
                            << op.getType().getElementType();
  return success();
}

template <typename OpT> static Pool2dGeometry verifiedPool(OpT op, Value x) {
  std::string why;
  FailureOr<Pool2dGeometry> g = getPool2dGeometry(
      shapeOf(x), op.getKernel(), op.getStrides(), op.getPadding(), why);
  assert(succeeded(g) && "verified op");
  return *g;
}

Pool2dGeometry mlir::nnc::getGeometry(MaxPool2dOp op) {
  return verifiedPool(op, op.getInput());
}
Pool2dGeometry mlir::nnc::getGeometry(AvgPool2dOp op) {
  return verifiedPool(op, op.getInput());
}
Pool2dGeometry mlir::nnc::getGeometry(MaxPool2dGradOp op) {
  return verifiedPool(op, op.getInput());
}
Pool2dGeometry mlir::nnc::getGeometry(AvgPool2dGradOp op) {
  return verifiedPool(op, op.getResult());
}

static int64_t poolFlops(const Pool2dGeometry &g) {
  return saturatingProduct({g.n, g.c, g.oh, g.ow, g.kh, g.kw});
}

LogicalResult MaxPool2dOp::inferReturnTypes(MLIRContext *,
                                            std::optional<Location> loc,
                                            Adaptor adaptor,
                                            SmallVectorImpl<Type> &inferred) {
  return inferPool<MaxPool2dOp>(loc, adaptor, inferred);
}
LogicalResult MaxPool2dOp::buildGradient(OpBuilder &b, ValueRange resultGrads,
                                         SmallVectorImpl<Value> &operandGrads) {
  operandGrads.push_back(b.create<MaxPool2dGradOp>(
      getLoc(), getInput().getType(), getInput(), resultGrads[0],
      getKernelAttr(), getStridesAttr(), getPaddingAttr()));
  return success();
}
int64_t MaxPool2dOp::getFlops() { return poolFlops(getGeometry(*this)); }

LogicalResult MaxPool2dGradOp::verify() {
  if (getInput().getType() != getType())
    return emitOpError("result type ")
           << getType() << " must be the input's, " << getInput().getType();
  return verifyPoolGrad(*this);
}
int64_t MaxPool2dGradOp::getFlops() { return poolFlops(getGeometry(*this)); }

LogicalResult AvgPool2dOp::inferReturnTypes(MLIRContext *,
                                            std::optional<Location> loc,
                                            Adaptor adaptor,
                                            SmallVectorImpl<Type> &inferred) {
  return inferPool<AvgPool2dOp>(loc, adaptor, inferred);
}
LogicalResult AvgPool2dOp::buildGradient(OpBuilder &b, ValueRange resultGrads,
                                         SmallVectorImpl<Value> &operandGrads) {
  operandGrads.push_back(b.create<AvgPool2dGradOp>(
      getLoc(), getInput().getType(), resultGrads[0], getKernelAttr(),
      getStridesAttr(), getPaddingAttr(), getCountIncludePadAttr()));
  return success();
}
int64_t AvgPool2dOp::getFlops() { return poolFlops(getGeometry(*this)); }

LogicalResult AvgPool2dGradOp::verify() { return verifyPoolGrad(*this); }
int64_t AvgPool2dGradOp::getFlops() { return poolFlops(getGeometry(*this)); }

LogicalResult ReshapeOp::verify() {
  if (getInput().getType().getElementType() != getType().getElementType())
    return emitOpError("result element type ")
           << getType().getElementType() << " should be the input's, "
           << getInput().getType().getElementType();
  if (getNumElements(getInput().getType()) != getNumElements(getType()))
    return emitOpError("cannot reshape ")
           << formatShape(shapeOf(getInput())) << " ("
           << getNumElements(getInput().getType()) << " elements) to "
           << formatShape(shapeOf(getResult())) << " ("
           << getNumElements(getType()) << " elements)";
  return success();
}
LogicalResult ReshapeOp::buildGradient(OpBuilder &b, ValueRange resultGrads,
                                       SmallVectorImpl<Value> &operandGrads) {
  operandGrads.push_back(
      b.create<ReshapeOp>(getLoc(), getInput().getType(), resultGrads[0]));
  return success();
}
int64_t ReshapeOp::getFlops() { return 0; }

//===----------------------------------------------------------------------===//
// Batch normalization
//===----------------------------------------------------------------------===//

/// The channels of a batch norm's `input` [N, C, ...], checked: rank 2 or
/// more, and more than one element per channel (a variance of one element
/// is undefined, as PyTorch refuses it in training).
static FailureOr<int64_t> bnChannels(const ShapeChecker &c, Value input) {
  auto x = c.shape(input, -1, "input");
  if (failed(x))
    return failure();
  if (x->size() < 2)
    return c.fail("expects input [N, C, ...] of rank 2 or more, got " +
                  formatShape(*x));
  if (getNumElements(input.getType()) / (*x)[1] < 2)
    return c.fail("expects more than one value per channel, got input " +
                  formatShape(*x));
  return (*x)[1];
}

/// A per-channel operand: [C].
static LogicalResult checkPerChannel(const ShapeChecker &c, Value v,
                                     int64_t channels, StringRef name) {
  auto s = c.shape(v, 1, name);
  if (failed(s))
    return failure();
  if ((*s)[0] != channels)
    return c.fail(Twine(name) + " " + formatShape(*s) + " does not match the " +
                  Twine(channels) + " channels");
  return success();
}

static std::string formatNumber(double v) {
  std::string s;
  llvm::raw_string_ostream(s) << llvm::format("%g", v);
  return s;
}

static LogicalResult checkEps(const ShapeChecker &c, double eps) {
  if (std::isfinite(eps) && eps > 0)
    return success();
  return c.fail("eps must be positive and finite, got " + formatNumber(eps));
}

static LogicalResult checkMomentum(const ShapeChecker &c, double m) {
  if (m >= 0 && m <= 1)
    return success();
  return c.fail("momentum must be in [0, 1], got " + formatNumber(m));
}

LogicalResult BatchNormOp::inferReturnTypes(MLIRContext *,
                                            std::optional<Location> loc,
                                            Adaptor adaptor,
                                            SmallVectorImpl<Type> &inferred) {
  ShapeChecker c{loc, getOperationName()};
  FailureOr<int64_t> channels = bnChannels(c, adaptor.getInput());
  if (failed(channels) ||
      failed(checkEps(c, adaptor.getEps().convertToDouble())) ||
      failed(checkMomentum(c, adaptor.getMomentum().convertToDouble())))
    return failure();
  for (auto [v, name] :
       {std::pair{adaptor.getWeight(), "weight"},
        std::pair{adaptor.getBias(), "bias"},
        std::pair{adaptor.getRunningMean(), "running_mean"},
        std::pair{adaptor.getRunningVar(), "running_var"}})
    if (failed(checkPerChannel(c, v, *channels, name)))
      return failure();
  inferred.push_back(adaptor.getInput().getType());
  return success();
}

LogicalResult BatchNormOp::buildGradient(OpBuilder &b, ValueRange resultGrads,
                                         SmallVectorImpl<Value> &operandGrads) {
  if (!getTraining())
    return emitOpError("in inference mode is not differentiable in nnc: a "
                       "training step normalizes with batch statistics "
                       "('training')");
  Location loc = getLoc();
  Value dy = resultGrads[0];
  FloatAttr eps = getEpsAttr();
  operandGrads.push_back(b.create<BatchNormGradOp>(
      loc, getInput().getType(), getInput(), getWeight(), dy, eps));
  operandGrads.push_back(
      b.create<BatchNormGradWeightOp>(loc, getInput(), dy, eps));
  operandGrads.push_back(b.create<ChannelSumOp>(loc, dy));
  operandGrads.push_back(Value()); // the running statistics get none
  operandGrads.push_back(Value());
  return success();
}

/// The per-channel temporaries of a batch norm's lowering (NNToLinalg's
/// normalizer and gradient sums): `f64` vectors of the statistics' sums and
/// `f32` ones of what the elementwise pass reads, each its own buffer.
static int64_t channelScratch(Value input, int64_t f64Vectors,
                              int64_t f32Vectors) {
  int64_t c = cast<ShapedType>(input.getType()).getDimSize(1);
  auto aligned = [](int64_t bytes) { return (bytes + 63) / 64 * 64; };
  return f64Vectors * aligned(8 * c) + f32Vectors * aligned(4 * c);
}

int64_t BatchNormOp::getScratchBytes() {
  return getTraining() ? channelScratch(getInput(), 3, 2)
                       : channelScratch(getInput(), 0, 1);
}
int64_t BatchNormGradOp::getScratchBytes() {
  return channelScratch(getInput(), 5, 4);
}
int64_t BatchNormGradWeightOp::getScratchBytes() {
  return channelScratch(getInput(), 5, 2);
}
int64_t RunningStatUpdateOp::getScratchBytes() {
  return channelScratch(getInput(), 3, 0);
}

int64_t BatchNormOp::getFlops() {
  // Statistics (two passes) and the normalization.
  return (getTraining() ? 6 : 2) * getNumElements(getType());
}

LogicalResult BatchNormGradOp::verify() {
  ShapeChecker c{getLoc(), getOperationName()};
  FailureOr<int64_t> channels = bnChannels(c, getInput());
  if (failed(channels) || failed(checkEps(c, getEps().convertToDouble())))
    return failure();
  return checkPerChannel(c, getWeight(), *channels, "weight");
}
int64_t BatchNormGradOp::getFlops() {
  return 10 * getNumElements(getType());
}

LogicalResult BatchNormGradWeightOp::inferReturnTypes(
    MLIRContext *ctx, std::optional<Location> loc, Adaptor adaptor,
    SmallVectorImpl<Type> &inferred) {
  ShapeChecker c{loc, getOperationName()};
  FailureOr<int64_t> channels = bnChannels(c, adaptor.getInput());
  if (failed(channels) ||
      failed(checkEps(c, adaptor.getEps().convertToDouble())))
    return failure();
  if (adaptor.getGrad().getType() != adaptor.getInput().getType())
    return c.fail("grad must have the input's type");
  inferred.push_back(f32Tensor(ctx, {*channels}));
  return success();
}
int64_t BatchNormGradWeightOp::getFlops() {
  return 8 * getNumElements(getInput().getType());
}

LogicalResult RunningStatUpdateOp::inferReturnTypes(
    MLIRContext *, std::optional<Location> loc, Adaptor adaptor,
    SmallVectorImpl<Type> &inferred) {
  ShapeChecker c{loc, getOperationName()};
  FailureOr<int64_t> channels = bnChannels(c, adaptor.getInput());
  if (failed(channels) ||
      failed(checkMomentum(c, adaptor.getMomentum().convertToDouble())) ||
      failed(checkPerChannel(c, adaptor.getStat(), *channels, "stat")))
    return failure();
  inferred.push_back(adaptor.getStat().getType());
  return success();
}
int64_t RunningStatUpdateOp::getFlops() {
  return (getVariance() ? 4 : 1) * getNumElements(getInput().getType());
}

//===----------------------------------------------------------------------===//
// RuntimeCallOp
//===----------------------------------------------------------------------===//

LogicalResult RuntimeCallOp::verify() {
  bool tensors = llvm::all_of(getOutputs().getTypes(), [](Type t) {
    return isa<RankedTensorType>(t);
  });
  bool buffers = llvm::all_of(getOperandTypes(),
                              [](Type t) { return isa<MemRefType>(t); });
  if (!tensors && !buffers)
    return emitOpError("operands must be all buffers, or the outputs tensors");
  if (tensors ? getResultTypes() != getOutputs().getTypes()
              : getNumResults() != 0)
    return emitOpError("must return exactly its tensor outputs");
  int64_t operands = getNumOperands();
  for (int64_t p : getPointers())
    if (p < -1 || p >= operands)
      return emitOpError("pointer operand ")
             << p << " is neither an operand nor -1 (null)";
  for (Attribute a : getScalars())
    if (!isa<IntegerAttr, FloatAttr>(a))
      return emitOpError("scalar ") << a << " is not an integer or a float";
  if (std::optional<int64_t> workspace = getWorkspace()) {
    int64_t first = getInputs().size();
    if (*workspace < first || *workspace >= operands)
      return emitOpError("workspace ") << *workspace << " is not an output";
    // Last, so that dropping it (nnc-plan-memory) renumbers no pointer.
    if (*workspace != operands - 1)
      return emitOpError("workspace ")
             << *workspace << " is not the last output";
    if (llvm::is_contained(getPointers(), *workspace))
      return emitOpError("workspace ")
             << *workspace << " is also a pointer argument";
    auto type = cast<ShapedType>(getOperand(*workspace).getType());
    if (type.getRank() != 1 || !type.hasStaticShape() ||
        !type.getElementType().isInteger(8))
      return emitOpError("workspace must be a 1-D i8 tensor or buffer of "
                         "static size, got ")
             << type;
  }
  return success();
}

void RuntimeCallOp::getEffects(
    SmallVectorImpl<SideEffects::EffectInstance<MemoryEffects::Effect>>
        &effects) {
  for (OpOperand &in : getInputsMutable())
    if (isa<MemRefType>(in.get().getType()))
      effects.emplace_back(MemoryEffects::Read::get(), &in,
                           SideEffects::DefaultResource::get());
  for (OpOperand &out : getOutputsMutable())
    if (isa<MemRefType>(out.get().getType()))
      effects.emplace_back(MemoryEffects::Write::get(), &out,
                           SideEffects::DefaultResource::get());
}

bool RuntimeCallOp::bufferizesToMemoryRead(
    OpOperand &operand, const bufferization::AnalysisState &) {
  return isDpsInput(&operand);
}

bool RuntimeCallOp::bufferizesToMemoryWrite(
    OpOperand &operand, const bufferization::AnalysisState &) {
  return isDpsInit(&operand);
}

bufferization::AliasingValueList
RuntimeCallOp::getAliasingValues(OpOperand &operand,
                                 const bufferization::AnalysisState &) {
  if (isDpsInit(&operand))
    return {{getTiedOpResult(&operand), bufferization::BufferRelation::Equivalent}};
  return {};
}

LogicalResult
RuntimeCallOp::bufferize(RewriterBase &rewriter,
                         const bufferization::BufferizationOptions &options) {
  auto buffers = [&](ValueRange values) -> FailureOr<SmallVector<Value>> {
    SmallVector<Value> result;
    for (Value v : values) {
      if (!isa<TensorType>(v.getType())) {
        result.push_back(v);
        continue;
      }
      FailureOr<Value> buffer = bufferization::getBuffer(rewriter, v, options);
      if (failed(buffer))
        return failure();
      result.push_back(*buffer);
    }
    return result;
  };
  FailureOr<SmallVector<Value>> ins = buffers(getInputs());
  FailureOr<SmallVector<Value>> outs = buffers(getOutputs());
  if (failed(ins) || failed(outs))
    return failure();
  rewriter.setInsertionPoint(*this);
  rewriter.create<RuntimeCallOp>(getLoc(), TypeRange(), getCalleeAttr(), *ins,
                                 *outs, getPointersAttr(), getScalarsAttr(),
                                 getWorkspaceAttr());
  bufferization::replaceOpWithBufferizedValues(rewriter, *this, *outs);
  return success();
}

//===----------------------------------------------------------------------===//
// Optimizer steps
//===----------------------------------------------------------------------===//

/// Hyper-parameters as PyTorch's optimizers accept them: finite and not
/// negative, and below 1 where `belowOne` (Adam's betas).
static LogicalResult checkHyper(Operation *op, StringRef name, double v,
                                bool belowOne = false) {
  if (std::isfinite(v) && v >= 0 && (!belowOne || v < 1))
    return success();
  std::string value;
  llvm::raw_string_ostream(value) << llvm::format("%g", v);
  return op->emitOpError() << name << " must be "
                           << (belowOne ? "in [0, 1)"
                                        : "finite and not negative")
                           << ", got " << value;
}

LogicalResult SGDOp::verify() {
  return checkHyper(*this, "weight_decay", getWeightDecay().convertToDouble());
}
int64_t SGDOp::getFlops() {
  return (getWeightDecay().isZero() ? 2 : 4) * getNumElements(getType());
}

LogicalResult MomentumUpdateOp::verify() {
  double mu = getMomentum().convertToDouble();
  if (failed(checkHyper(*this, "momentum", mu)) ||
      failed(checkHyper(*this, "weight_decay",
                        getWeightDecay().convertToDouble())))
    return failure();
  if (getNesterov() && mu <= 0)
    return emitOpError("Nesterov momentum needs a positive momentum");
  return success();
}
int64_t MomentumUpdateOp::getFlops() {
  return (getNesterov() ? 6 : 4) * getNumElements(getParam().getType());
}

/// Adam's and LAMB's hyper-parameters.
template <typename Op> static LogicalResult checkAdamHypers(Op op) {
  return failure(
      failed(checkHyper(op, "beta1", op.getBeta1().convertToDouble(), true)) ||
      failed(checkHyper(op, "beta2", op.getBeta2().convertToDouble(), true)) ||
      failed(checkHyper(op, "eps", op.getEps().convertToDouble())) ||
      failed(checkHyper(op, "weight_decay",
                        op.getWeightDecay().convertToDouble())));
}

LogicalResult AdamUpdateOp::verify() { return checkAdamHypers(*this); }
int64_t AdamUpdateOp::getFlops() {
  return 12 * getNumElements(getParam().getType());
}

LogicalResult LarsUpdateOp::verify() {
  if (failed(checkHyper(*this, "momentum", getMomentum().convertToDouble())) ||
      failed(checkHyper(*this, "weight_decay",
                        getWeightDecay().convertToDouble())))
    return failure();
  double eta = getTrustCoefficient().convertToDouble();
  if (std::isfinite(eta) && eta > 0)
    return success();
  std::string value;
  llvm::raw_string_ostream(value) << llvm::format("%g", eta);
  return emitOpError() << "trust_coefficient must be positive and finite, got "
                       << value;
}
int64_t LarsUpdateOp::getFlops() {
  // Two sums of squares, then the momentum step.
  return 10 * getNumElements(getParam().getType());
}

LogicalResult LambUpdateOp::verify() { return checkAdamHypers(*this); }
int64_t LambUpdateOp::getFlops() {
  // The moments, r twice (for its norm and the update), two sums of squares.
  return 24 * getNumElements(getParam().getType());
}

int64_t NormOp::getFlops() { return 2 * getNumElements(getInput().getType()); }

LogicalResult SGDMatmulOp::inferReturnTypes(MLIRContext *,
                                            std::optional<Location> loc,
                                            Adaptor adaptor,
                                            SmallVectorImpl<Type> &inferred) {
  ShapeChecker c{loc, getOperationName()};
  auto product =
      matmulShape(c, adaptor.getLhs(), adaptor.getRhs(),
                  adaptor.getTransposeLhs(), adaptor.getTransposeRhs());
  if (failed(product))
    return failure();
  auto param = c.shape(adaptor.getParam(), 2, "param");
  if (failed(param))
    return failure();
  if (ArrayRef<int64_t>(*product) != *param)
    return c.fail("product " + formatShape(*product) +
                  " does not match the parameter " + formatShape(*param));
  if (failed(sharedElementType(c, adaptor.getLhs(), adaptor.getRhs(), "lhs",
                               "rhs")))
    return failure();
  inferred.push_back(adaptor.getParam().getType());
  return success();
}

int64_t SGDMatmulOp::getFlops() {
  ArrayRef<int64_t> a = shapeOf(getLhs()), r = shapeOf(getResult());
  return 2 * r[0] * r[1] * (getTransposeLhs() ? a[0] : a[1]) +
         2 * getNumElements(getType());
}

//===----------------------------------------------------------------------===//
// Transformer layers
//===----------------------------------------------------------------------===//

static std::string typeStr(Type t) {
  std::string s;
  llvm::raw_string_ostream(s) << t;
  return s;
}

static int64_t saturatingSum(std::initializer_list<int64_t> terms) {
  uint64_t sum = 0;
  bool overflow = false;
  for (int64_t t : terms)
    sum = llvm::SaturatingAdd(sum, uint64_t(t), &overflow);
  return sum > uint64_t(INT64_MAX) ? INT64_MAX : int64_t(sum);
}

/// Integer indices of a static shape (an embedding's, or labels).
static FailureOr<ArrayRef<int64_t>> indexShape(const ShapeChecker &c, Value v,
                                               StringRef name) {
  auto s = c.shape(v, -1, name);
  if (failed(s))
    return failure();
  Type elt = cast<RankedTensorType>(v.getType()).getElementType();
  if (!elt.isInteger(32) && !elt.isInteger(64))
    return c.fail(Twine("expects ") + name + " of i32 or i64, got " +
                  typeStr(elt));
  return s;
}

LogicalResult EmbeddingOp::inferReturnTypes(MLIRContext *ctx,
                                            std::optional<Location> loc,
                                            Adaptor adaptor,
                                            SmallVectorImpl<Type> &inferred) {
  ShapeChecker c{loc, getOperationName()};
  auto table = c.shape(adaptor.getTable(), 2, "table");
  if (failed(table))
    return failure();
  auto indices = indexShape(c, adaptor.getIndices(), "indices");
  if (failed(indices))
    return failure();
  SmallVector<int64_t> shape(*indices);
  shape.push_back((*table)[1]);
  inferred.push_back(f32Tensor(ctx, shape));
  return success();
}

LogicalResult EmbeddingOp::buildGradient(OpBuilder &b, ValueRange resultGrads,
                                         SmallVectorImpl<Value> &operandGrads) {
  operandGrads.push_back(b.create<EmbeddingGradOp>(
      getLoc(), getTable().getType(), getIndices(), resultGrads[0]));
  operandGrads.push_back(Value()); // indices are data
  return success();
}
int64_t EmbeddingOp::getFlops() { return getNumElements(getType()); }

LogicalResult EmbeddingGradOp::verify() {
  ShapeChecker c{getLoc(), getOperationName()};
  auto table = c.shape(getResult(), 2, "result");
  auto indices = indexShape(c, getIndices(), "indices");
  if (failed(table) || failed(indices))
    return failure();
  SmallVector<int64_t> expected(*indices);
  expected.push_back((*table)[1]);
  if (shapeOf(getGrad()) != ArrayRef<int64_t>(expected))
    return c.fail("grad " + formatShape(shapeOf(getGrad())) + " should be " +
                  formatShape(expected) + " (the indices' shape, then the " +
                  "table's row width)");
  return success();
}
int64_t EmbeddingGradOp::getFlops() {
  return getNumElements(getGrad().getType());
}

/// The normalized width D of a layer norm's `input` [..., D], checked with
/// its per-feature operands.
static FailureOr<int64_t> layerNormWidth(const ShapeChecker &c, Value input,
                                         ArrayRef<std::pair<Value, StringRef>>
                                             perFeature,
                                         double eps) {
  auto x = c.shape(input, -1, "input");
  if (failed(x))
    return failure();
  if (x->empty())
    return c.fail("expects an input of rank 1 or more, got a scalar");
  int64_t d = x->back();
  if (failed(checkEps(c, eps)))
    return failure();
  for (auto [v, name] : perFeature) {
    auto s = c.shape(v, 1, name);
    if (failed(s))
      return failure();
    if ((*s)[0] != d)
      return c.fail(Twine(name) + " " + formatShape(*s) +
                    " does not match the normalized dimension " + Twine(d));
  }
  return d;
}

LogicalResult LayerNormOp::inferReturnTypes(MLIRContext *,
                                            std::optional<Location> loc,
                                            Adaptor adaptor,
                                            SmallVectorImpl<Type> &inferred) {
  ShapeChecker c{loc, getOperationName()};
  if (failed(layerNormWidth(
          c, adaptor.getInput(),
          {{adaptor.getWeight(), "weight"}, {adaptor.getBias(), "bias"}},
          adaptor.getEps().convertToDouble())))
    return failure();
  inferred.push_back(adaptor.getInput().getType());
  return success();
}

/// Σ over every row of `x` [..., D]: [D].
static Value sumRows(OpBuilder &b, Location loc, Value x) {
  ArrayRef<int64_t> shape = shapeOf(x);
  if (shape.size() == 1)
    return x;
  if (shape.size() > 2)
    x = b.create<ReshapeOp>(
        loc,
        f32Tensor(b.getContext(),
                  {getNumElements(x.getType()) / shape.back(), shape.back()}),
        x);
  return b.create<ReduceSumOp>(loc, x, 0);
}

LogicalResult LayerNormOp::buildGradient(OpBuilder &b, ValueRange resultGrads,
                                         SmallVectorImpl<Value> &operandGrads) {
  Location loc = getLoc();
  Value dy = resultGrads[0];
  operandGrads.push_back(b.create<LayerNormGradOp>(
      loc, getInput().getType(), getInput(), getWeight(), dy, getEpsAttr()));
  operandGrads.push_back(
      b.create<LayerNormGradWeightOp>(loc, getInput(), dy, getEpsAttr()));
  operandGrads.push_back(sumRows(b, loc, dy));
  return success();
}
int64_t LayerNormOp::getFlops() { return 8 * getNumElements(getType()); }

LogicalResult LayerNormGradOp::verify() {
  ShapeChecker c{getLoc(), getOperationName()};
  if (failed(layerNormWidth(c, getInput(), {{getWeight(), "weight"}},
                            getEps().convertToDouble())))
    return failure();
  if (getGrad().getType() != getInput().getType() ||
      getType() != getInput().getType())
    return c.fail("grad and result must have the input's type " +
                  typeStr(getInput().getType()));
  return success();
}
int64_t LayerNormGradOp::getFlops() { return 12 * getNumElements(getType()); }

LogicalResult LayerNormGradWeightOp::inferReturnTypes(
    MLIRContext *ctx, std::optional<Location> loc, Adaptor adaptor,
    SmallVectorImpl<Type> &inferred) {
  ShapeChecker c{loc, getOperationName()};
  FailureOr<int64_t> d = layerNormWidth(c, adaptor.getInput(), {},
                                        adaptor.getEps().convertToDouble());
  if (failed(d))
    return failure();
  if (adaptor.getGrad().getType() != adaptor.getInput().getType())
    return c.fail("grad must have the input's type " +
                  typeStr(adaptor.getInput().getType()));
  inferred.push_back(f32Tensor(ctx, {*d}));
  return success();
}
int64_t LayerNormGradWeightOp::getFlops() {
  return 8 * getNumElements(getInput().getType());
}

FailureOr<AttentionGeometry> mlir::nnc::getAttentionGeometry(
    ArrayRef<int64_t> q, ArrayRef<int64_t> k, ArrayRef<int64_t> v,
    std::optional<ArrayRef<int64_t>> mask, std::string &why) {
  llvm::raw_string_ostream os(why);
  if (q.size() != 4 || k.size() != 4 || v.size() != 4) {
    os << "expects query, key and value of rank 4 ([batch, heads, sequence, "
          "features]), got "
       << formatShape(q) << ", " << formatShape(k) << ", " << formatShape(v);
    return failure();
  }
  if (q[0] != k[0] || q[0] != v[0] || q[1] != k[1] || q[1] != v[1]) {
    os << "query " << formatShape(q) << ", key " << formatShape(k) << " and value "
       << formatShape(v) << " must have the same batch and heads";
    return failure();
  }
  if (q[3] != k[3]) {
    os << "query " << formatShape(q) << " and key " << formatShape(k)
       << " must have the same features";
    return failure();
  }
  if (k[2] != v[2]) {
    os << "key " << formatShape(k) << " and value " << formatShape(v)
       << " must have the same sequence length";
    return failure();
  }
  if (mask && *mask != ArrayRef<int64_t>{q[2], k[2]}) {
    os << "mask " << formatShape(*mask) << " should be "
       << formatShape({q[2], k[2]}) << " ([queries, keys])";
    return failure();
  }
  return AttentionGeometry{q[0], q[1], q[2], k[2], q[3], v[3]};
}

int64_t AttentionGeometry::forwardFlops() const {
  return saturatingSum(
      {saturatingProduct({2, b, h, tq, tk, dk + dv}),
       saturatingProduct({3, b, h, tq, tk})});
}
int64_t AttentionGeometry::backwardFlops() const {
  return saturatingSum(
      {saturatingProduct({8, b, h, tq, tk, dk}),
       saturatingProduct({4, b, h, tq, tk, dv}),
       saturatingProduct({5, b, h, tq, tk})});
}

static std::optional<ArrayRef<int64_t>> maybeShape(Value v) {
  if (!v)
    return std::nullopt;
  return shapeOf(v);
}

LogicalResult AttentionOp::inferReturnTypes(MLIRContext *ctx,
                                            std::optional<Location> loc,
                                            Adaptor adaptor,
                                            SmallVectorImpl<Type> &inferred) {
  ShapeChecker c{loc, getOperationName()};
  auto q = c.shape(adaptor.getQuery(), -1, "query");
  auto k = c.shape(adaptor.getKey(), -1, "key");
  auto v = c.shape(adaptor.getValue(), -1, "value");
  if (failed(q) || failed(k) || failed(v))
    return failure();
  std::optional<ArrayRef<int64_t>> mask;
  if (Value m = adaptor.getMask()) {
    auto s = c.shape(m, -1, "mask");
    if (failed(s))
      return failure();
    mask = *s;
  }
  std::string why;
  FailureOr<AttentionGeometry> g = getAttentionGeometry(*q, *k, *v, mask, why);
  if (failed(g))
    return c.fail(why);
  double scale = adaptor.getScale().convertToDouble();
  if (!std::isfinite(scale) ||
      !std::isfinite(static_cast<float>(scale)))
    return c.fail("scale must be finite in f32, got " + formatNumber(scale));
  inferred.push_back(f32Tensor(ctx, {g->b, g->h, g->tq, g->dv}));
  return success();
}

AttentionGeometry mlir::nnc::getGeometry(AttentionOp op) {
  std::string why;
  return *getAttentionGeometry(shapeOf(op.getQuery()), shapeOf(op.getKey()),
                               shapeOf(op.getValue()),
                               maybeShape(op.getMask()), why);
}
AttentionGeometry mlir::nnc::getGeometry(AttentionGradOp op) {
  std::string why;
  return *getAttentionGeometry(shapeOf(op.getQuery()), shapeOf(op.getKey()),
                               shapeOf(op.getValue()),
                               maybeShape(op.getMask()), why);
}

LogicalResult AttentionOp::buildGradient(OpBuilder &b, ValueRange resultGrads,
                                         SmallVectorImpl<Value> &operandGrads) {
  auto grad = b.create<AttentionGradOp>(
      getLoc(), getQuery().getType(), getKey().getType(), getValue().getType(),
      getQuery(), getKey(), getValue(), getResult(), resultGrads[0], getMask(),
      getScaleAttr(), getCausalAttr());
  operandGrads.append({grad.getGradQuery(), grad.getGradKey(),
                       grad.getGradValue()});
  if (getMask())
    operandGrads.push_back(Value()); // an additive mask is data
  return success();
}
int64_t AttentionOp::getFlops() { return getGeometry(*this).forwardFlops(); }

LogicalResult AttentionGradOp::verify() {
  std::string why;
  FailureOr<AttentionGeometry> g =
      getAttentionGeometry(shapeOf(getQuery()), shapeOf(getKey()),
                           shapeOf(getValue()), maybeShape(getMask()), why);
  if (failed(g))
    return emitOpError(why);
  SmallVector<int64_t> out{g->b, g->h, g->tq, g->dv};
  if (shapeOf(getOutput()) != ArrayRef<int64_t>(out) ||
      shapeOf(getGrad()) != ArrayRef<int64_t>(out))
    return emitOpError("output and grad must be ") << formatShape(out);
  if (getGradQuery().getType() != getQuery().getType() ||
      getGradKey().getType() != getKey().getType() ||
      getGradValue().getType() != getValue().getType())
    return emitOpError("results must have the types of query, key and value");
  if (!std::isfinite(getScale().convertToFloat()))
    return emitOpError("scale must be finite in f32");
  return success();
}
int64_t AttentionGradOp::getFlops() {
  return getGeometry(*this).backwardFlops();
}

LogicalResult TransposeOp::inferReturnTypes(MLIRContext *ctx,
                                            std::optional<Location> loc,
                                            Adaptor adaptor,
                                            SmallVectorImpl<Type> &inferred) {
  ShapeChecker c{loc, getOperationName()};
  auto x = c.shape(adaptor.getInput(), -1, "input");
  if (failed(x))
    return failure();
  ArrayRef<int64_t> perm = adaptor.getPermutation();
  SmallVector<bool> seen(x->size(), false);
  bool valid = perm.size() == x->size();
  for (int64_t p : perm) {
    valid = valid && p >= 0 && p < int64_t(x->size()) && !seen[p];
    if (valid)
      seen[p] = true;
  }
  if (!valid)
    return c.fail("permutation " + formatShape(perm) +
                  " is not a permutation of the " + Twine(x->size()) +
                  " dimensions of " + formatShape(*x));
  SmallVector<int64_t> shape;
  for (int64_t p : perm)
    shape.push_back((*x)[p]);
  inferred.push_back(f32Tensor(ctx, shape));
  return success();
}

LogicalResult TransposeOp::buildGradient(OpBuilder &b, ValueRange resultGrads,
                                         SmallVectorImpl<Value> &operandGrads) {
  ArrayRef<int64_t> perm = getPermutation();
  SmallVector<int64_t> inverse(perm.size());
  for (auto [i, p] : llvm::enumerate(perm))
    inverse[p] = i;
  operandGrads.push_back(b.create<TransposeOp>(getLoc(), resultGrads[0],
                                               b.getDenseI64ArrayAttr(inverse)));
  return success();
}
int64_t TransposeOp::getFlops() { return 0; }

/// Whether the box (offsets, sizes, strides) lies in `shape`; the reason
/// otherwise.
static LogicalResult checkSliceBox(const ShapeChecker &c,
                                   ArrayRef<int64_t> shape,
                                   ArrayRef<int64_t> offsets,
                                   ArrayRef<int64_t> sizes,
                                   ArrayRef<int64_t> strides) {
  if (offsets.size() != shape.size() || sizes.size() != shape.size() ||
      strides.size() != shape.size())
    return c.fail("offsets, sizes and strides need " + Twine(shape.size()) +
                  " values each (the rank of " + formatShape(shape) + ")");
  for (size_t d = 0; d < shape.size(); ++d) {
    int64_t o = offsets[d], n = sizes[d], s = strides[d];
    // The last element o + (n-1)·s must be < shape[d], without overflow.
    if (o < 0 || n < 1 || s < 1 || o >= shape[d] ||
        (n - 1) > (shape[d] - 1 - o) / s)
      return c.fail("dimension " + Twine(d) + ": " + Twine(n) +
                    " elements from " + Twine(o) + " every " + Twine(s) +
                    " do not fit in " + Twine(shape[d]));
  }
  return success();
}

LogicalResult SliceOp::inferReturnTypes(MLIRContext *ctx,
                                        std::optional<Location> loc,
                                        Adaptor adaptor,
                                        SmallVectorImpl<Type> &inferred) {
  ShapeChecker c{loc, getOperationName()};
  auto x = c.shape(adaptor.getInput(), -1, "input");
  if (failed(x) ||
      failed(checkSliceBox(c, *x, adaptor.getOffsets(), adaptor.getSizes(),
                           adaptor.getStrides())))
    return failure();
  inferred.push_back(f32Tensor(ctx, adaptor.getSizes()));
  return success();
}

LogicalResult SliceOp::buildGradient(OpBuilder &b, ValueRange resultGrads,
                                     SmallVectorImpl<Value> &operandGrads) {
  operandGrads.push_back(b.create<SliceGradOp>(
      getLoc(), getInput().getType(), resultGrads[0], getOffsetsAttr(),
      getSizesAttr(), getStridesAttr()));
  return success();
}
int64_t SliceOp::getFlops() { return 0; }

LogicalResult SliceGradOp::verify() {
  ShapeChecker c{getLoc(), getOperationName()};
  if (failed(checkSliceBox(c, shapeOf(getResult()), getOffsets(), getSizes(),
                           getStrides())))
    return failure();
  if (shapeOf(getGrad()) != getSizes())
    return c.fail("grad " + formatShape(shapeOf(getGrad())) +
                  " should be the box's sizes " + formatShape(getSizes()));
  return success();
}
int64_t SliceGradOp::getFlops() { return 0; }

LogicalResult MulOp::buildGradient(OpBuilder &b, ValueRange resultGrads,
                                   SmallVectorImpl<Value> &operandGrads) {
  Value dy = resultGrads[0];
  operandGrads.push_back(b.create<MulOp>(getLoc(), dy, getRhs()));
  operandGrads.push_back(b.create<MulOp>(getLoc(), dy, getLhs()));
  return success();
}
int64_t MulOp::getFlops() { return getNumElements(getType()); }

LogicalResult ScaleOp::verify() {
  double f = getFactor().convertToDouble();
  if (std::isfinite(f) && std::isfinite(static_cast<float>(f)))
    return success();
  return emitOpError("factor must be finite in f32, got ") << formatNumber(f);
}
LogicalResult ScaleOp::buildGradient(OpBuilder &b, ValueRange resultGrads,
                                     SmallVectorImpl<Value> &operandGrads) {
  operandGrads.push_back(
      b.create<ScaleOp>(getLoc(), resultGrads[0], getFactorAttr()));
  return success();
}
int64_t ScaleOp::getFlops() { return getNumElements(getType()); }

LogicalResult BroadcastOp::verify() {
  ArrayRef<int64_t> in = shapeOf(getInput()), out = shapeOf(getResult());
  if (out.size() < in.size() || out.take_back(in.size()) != in)
    return emitOpError("result ")
           << formatShape(out) << " does not end with the input's shape "
           << formatShape(in);
  return success();
}
LogicalResult BroadcastOp::buildGradient(OpBuilder &b, ValueRange resultGrads,
                                         SmallVectorImpl<Value> &operandGrads) {
  // Σ over the new leading dimensions: [copies, n] summed over its rows.
  Location loc = getLoc();
  auto inType = cast<RankedTensorType>(getInput().getType());
  int64_t n = inType.getNumElements();
  Value rows = b.create<ReshapeOp>(
      loc, f32Tensor(b.getContext(), {getNumElements(getType()) / n, n}),
      resultGrads[0]);
  Value sum = b.create<ReduceSumOp>(loc, rows, 0);
  operandGrads.push_back(b.create<ReshapeOp>(loc, inType, sum));
  return success();
}
int64_t BroadcastOp::getFlops() { return 0; }
