//===- VerifyModel.cpp - model-function contract check --------------------===//
//
// Part of nnc, under the Apache License v2.0 with LLVM Exceptions.
// See LICENSE for license information.
//
//===----------------------------------------------------------------------===//

#include "nnc/Dialect/NN/Transforms/Passes.h"

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
  return success();
}

namespace {
struct VerifyModelPass : public nnc::impl::VerifyModelBase<VerifyModelPass> {
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
