//===- FuseUpdates.cpp - SGD folded into the weight-gradient matmul -------===//
//
// Part of nnc, under the Apache License v2.0 with LLVM Exceptions.
// See LICENSE for license information.
//
//===----------------------------------------------------------------------===//

#include "nnc/Dialect/NN/Transforms/Passes.h"

namespace mlir::nnc {
#define GEN_PASS_DEF_FUSEUPDATES
#include "nnc/Dialect/NN/Transforms/Passes.h.inc"
} // namespace mlir::nnc

using namespace mlir;
using namespace mlir::nnc;

namespace {
struct FuseUpdatesPass : public mlir::nnc::impl::FuseUpdatesBase<FuseUpdatesPass> {
  void runOnOperation() override {
    SmallVector<SGDOp> updates;
    getOperation().walk([&](SGDOp op) { updates.push_back(op); });
    for (SGDOp sgd : updates) {
      // Weight decay reads the weight into the gradient: not a product.
      auto grad = sgd.getGrad().getDefiningOp<MatmulOp>();
      // (A batched product is no linear layer's weight gradient.)
      if (!grad || !grad->hasOneUse() || !sgd.getWeightDecay().isZero() ||
          cast<RankedTensorType>(grad.getType()).getRank() != 2)
        continue;
      // The rate must exist at the matmul (an argument, or a constant that
      // can be made there).
      Value lr = sgd.getLr();
      if (Operation *def = lr.getDefiningOp();
          def && !def->isBeforeInBlock(grad)) {
        if (!def->hasTrait<OpTrait::ConstantLike>())
          continue;
        lr = OpBuilder(grad).clone(*def)->getResult(0);
      }
      if (failed(checkPlan(sgd)))
        return signalPassFailure();
      // At the matmul, not at the SGD: its operands then die where the plan
      // expects, and the updated weight lives in a caller-owned output.
      OpBuilder b(grad);
      auto fused = b.create<SGDMatmulOp>(
          grad.getLoc(), sgd.getParam(), grad.getLhs(), grad.getRhs(), lr,
          grad.getTransposeLhsAttr(), grad.getTransposeRhsAttr());
      // Keep the annotations the memory planner's picture reads.
      for (NamedAttribute attr : grad->getDiscardableAttrs())
        fused->setAttr(attr.getName(), attr.getValue());
      sgd.replaceAllUsesWith(fused.getResult());
      sgd.erase();
      grad.erase();
    }
  }

  /// A plan made without fused updates counted this update's gradient
  /// buffer: its predicted peak and the arena it sized no longer describe
  /// the code once the buffer is gone, so the mismatch is an error rather
  /// than a silent change of the plan.
  LogicalResult checkPlan(SGDOp sgd) {
    auto fn = sgd->getParentOfType<func::FuncOp>();
    auto plan = fn ? fn->getAttrOfType<CheckpointPlanAttr>(
                         NNDialect::getCheckpointAttrName())
                   : CheckpointPlanAttr();
    if (!plan || plan.getFusedUpdates())
      return success();
    return sgd.emitError()
           << "nnc-fuse-updates: the checkpoint plan of '" << fn.getSymName()
           << "' was made without fused updates (no 'fused_updates = true'); "
              "plan with nnc-plan-checkpoints{fused-updates=true} or do not "
              "run nnc-fuse-updates";
  }
};
} // namespace
