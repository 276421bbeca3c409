//===- VerifyModel.cpp - model-function contract check --------------------===//
//
// Part of nnc, under the Apache License v2.0 with LLVM Exceptions.
// See LICENSE for license information.
//
//===----------------------------------------------------------------------===//

#include "nnc/Dialect/NN/Transforms/Passes.h"

#include "nnc/Support/Limits.h"

#include "mlir/Analysis/SliceAnalysis.h"

namespace mlir::nnc {
#define GEN_PASS_DEF_VERIFYMODEL
#include "nnc/Dialect/NN/Transforms/Passes.h.inc"
} // namespace mlir::nnc

using namespace mlir;
using namespace mlir::nnc;

llvm::DenseSet<Operation *> mlir::nnc::findBackwardOps(func::FuncOp func) {
  llvm::DenseSet<Operation *> backward;
  if (func.isExternal())
    return backward;
  for (Operation &op : func.getBody().front().without_terminator()) {
    if (!op.hasAttr(NNDialect::getGradSeedAttrName()))
      continue;
    SetVector<Operation *> slice;
    getForwardSlice(&op, &slice);
    backward.insert(&op);
    for (Operation *user : slice)
      if (!user->hasTrait<OpTrait::IsTerminator>())
        backward.insert(user);
  }
  return backward;
}

LogicalResult mlir::nnc::verifyModelFunction(func::FuncOp func) {
  if (!isModelFunction(func))
    return func.emitError() << "model function '" << func.getSymName()
                            << "' has no argument marked 'nn.param'";
  if (!func.getBody().hasOneBlock())
    return func.emitError()
           << "model function must be straight-line code (one block)";
  auto results = func.getFunctionType().getResults();
  auto loss = results.size() == 1 ? dyn_cast<RankedTensorType>(results[0])
                                  : RankedTensorType();
  if (!loss || loss.getRank() != 0 || !loss.getElementType().isF32())
    return func.emitError() << "model function must return one scalar loss "
                               "of type tensor<f32>, got "
                            << func.getFunctionType();
  // Arguments: data and parameters as static tensors of f32 (or integer
  // labels). The later passes size and lower nothing else.
  for (BlockArgument arg : func.getArguments()) {
    auto type = dyn_cast<RankedTensorType>(arg.getType());
    Type elt = type ? type.getElementType() : Type();
    if (!type || !type.hasStaticShape() ||
        !(elt.isF32() || elt.isSignlessInteger(32) ||
          elt.isSignlessInteger(64)))
      return emitError(arg.getLoc())
             << "argument #" << arg.getArgNumber() << " of model function '"
             << func.getSymName() << "' has type " << arg.getType()
             << "; a model takes statically shaped tensors of f32 (or of "
                "i32/i64 labels)";
  }
  // Sizes before anything else reads them: no later product or sum of
  // sizes can overflow.
  if (failed(checkSizeLimits(func, ::nnc::limits::kMaxModelOps)))
    return failure();
  // The body: nn ops and constants only. Anything else would not be
  // differentiated -- a region's captured values have no gradient, so a
  // parameter used inside an scf.if would silently get a zero one.
  for (Operation &op : func.getBody().front()) {
    if (op.hasTrait<OpTrait::IsTerminator>())
      continue;
    bool constant = op.hasTrait<OpTrait::ConstantLike>() &&
                    llvm::all_of(op.getResultTypes(), [](Type t) {
                      return isa<RankedTensorType>(t);
                    });
    if (!op.isRegistered() || op.getNumRegions() != 0 ||
        !(isa_and_nonnull<NNDialect>(op.getDialect()) || constant))
      return op.emitOpError()
             << "is not supported in a model function: a model is nn ops "
                "on tensors and tensor constants, without regions";
  }
  return success();
}

namespace {
struct VerifyModelPass
    : public mlir::nnc::impl::VerifyModelBase<VerifyModelPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    bool any = false;
    for (auto func : module.getOps<func::FuncOp>()) {
      if (!isModelFunction(func))
        continue;
      any = true;
      if (failed(verifyModelFunction(func)))
        return signalPassFailure();
    }
    if (!any) {
      module.emitError("no model function: no function argument is marked "
                       "'nn.param'");
      signalPassFailure();
    }
  }
};
} // namespace
