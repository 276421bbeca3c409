//===- ProfileStages.cpp - profile marks around each stage's work ---------===//
//
// Part of nnc, under the Apache License v2.0 with LLVM Exceptions.
// See LICENSE for license information.
//
//===----------------------------------------------------------------------===//

#include "nnc/Dialect/NN/Transforms/Passes.h"

namespace mlir::nnc {
#define GEN_PASS_DEF_PROFILESTAGES
#include "nnc/Dialect/NN/Transforms/Passes.h.inc"
} // namespace mlir::nnc

using namespace mlir;
using namespace mlir::nnc;

namespace {
struct ProfileStagesPass
    : public mlir::nnc::impl::ProfileStagesBase<ProfileStagesPass> {
  void runOnOperation() override {
    for (auto fn : getOperation().getOps<func::FuncOp>()) {
      auto plan = fn->getAttrOfType<CheckpointPlanAttr>(
          NNDialect::getCheckpointAttrName());
      if (!plan || fn.isExternal())
        continue;
      if (failed(markStages(fn, plan.getStages())))
        return signalPassFailure();
    }
  }

  LogicalResult markStages(func::FuncOp fn, int64_t stages) {
    // A mark wherever the step moves from one kind of work to another:
    // a stage's first forward (id i), a recomputation of stage i (-i), the
    // backward action of stage i (n + 1 + i, where nnc-rematerialize tagged
    // it), anything else (0: untagged backward, updates). Constants compute
    // nothing and never start an interval.
    OpBuilder b(fn.getContext());
    std::optional<int64_t> current;
    Block &body = fn.getBody().front();
    auto inStages = [&](Operation &op, int64_t id) -> LogicalResult {
      if (id >= 1 && id <= stages)
        return success();
      return op.emitOpError() << "is in stage " << id << " of a plan of "
                              << stages << " stages";
    };
    for (Operation &op : llvm::make_early_inc_range(body.without_terminator())) {
      auto backward =
          op.getAttrOfType<IntegerAttr>(NNDialect::getBackwardStageAttrName());
      // The tag is for this pass only: later passes see the usual IR.
      op.removeAttr(NNDialect::getBackwardStageAttrName());
      if (op.hasTrait<OpTrait::ConstantLike>())
        continue;
      int64_t id = 0;
      if (auto stage =
              op.getAttrOfType<IntegerAttr>(NNDialect::getStageAttrName())) {
        id = stage.getInt();
        if (failed(inStages(op, id)))
          return failure();
        if (op.hasAttr(NNDialect::getRecomputedAttrName()))
          id = -id;
      } else if (backward) {
        if (failed(inStages(op, backward.getInt())))
          return failure();
        id = stages + 1 + backward.getInt();
      }
      if (current == id)
        continue;
      current = id;
      b.setInsertionPoint(&op);
      b.create<ProfileMarkOp>(op.getLoc(), b.getI64IntegerAttr(id));
    }
    b.setInsertionPoint(body.getTerminator());
    b.create<ProfileMarkOp>(fn.getLoc(), b.getI64IntegerAttr(stages + 1));
    return success();
  }
};
} // namespace
