//===- LossScaling.cpp - dynamic loss scaling of a training step ----------===//
//
// Part of nnc, under the Apache License v2.0 with LLVM Exceptions.
// See LICENSE for license information.
//
// PyTorch's GradScaler inside the compiled step: the caller owns the scale
// and the count of finite steps as it owns optimizer state, so the step
// stays a pure function of its arguments and the same IR runs on every
// target (the CPU tests it; fp16 on the GPU needs it).
//
//===----------------------------------------------------------------------===//

#include "nnc/Dialect/NN/Transforms/Passes.h"

#include <cmath>

namespace mlir::nnc {
#define GEN_PASS_DEF_LOSSSCALING
#include "nnc/Dialect/NN/Transforms/Passes.h.inc"
} // namespace mlir::nnc

using namespace mlir;
using namespace mlir::nnc;

/// The operand of optimizer op `op` that its result `result` updates:
/// the parameter for result 0, else the state operand after the gradient
/// (nn.momentum_update's velocity, nn.adam_update's m and v, ...).
static Value updatedOperand(Operation *op, unsigned result) {
  unsigned operand = result == 0 ? 0 : result + 1;
  if (operand >= op->getNumOperands() ||
      op->getOperand(operand).getType() != op->getResult(result).getType())
    return Value();
  return op->getOperand(operand);
}

static LogicalResult scaleStep(func::FuncOp fn, double growth, double backoff,
                               int64_t interval) {
  Block &body = fn.getBody().front();
  SmallVector<OptimizerOpInterface> updates;
  for (auto op : body.getOps<OptimizerOpInterface>())
    updates.push_back(op);
  if (updates.empty())
    return fn.emitError("loss scaling needs optimizer updates to skip; this "
                        "step has none (nn.sgd_matmul, a fused update, "
                        "cannot be checked: run nnc-loss-scaling before "
                        "nnc-fuse-updates)");
  for (Operation &op : body)
    if (isa<SGDMatmulOp>(op))
      return op.emitOpError("updates a weight without materializing its "
                            "gradient, which loss scaling must check: run "
                            "nnc-loss-scaling before nnc-fuse-updates");

  MLIRContext *ctx = fn.getContext();
  OpBuilder b(ctx);
  Location loc = fn.getLoc();
  auto scalar = RankedTensorType::get({}, b.getF32Type());
  auto addArg = [&](StringRef name) {
    unsigned i = fn.getNumArguments();
    fn.insertArgument(i, scalar,
                      b.getDictionaryAttr(b.getNamedAttr(
                          NNDialect::getNameAttrName(), b.getStringAttr(name))),
                      loc);
    return Value(fn.getArgument(i));
  };
  Value scale = addArg("loss_scale");
  Value good = addArg("good_steps");

  // The backward starts from d(scale·loss)/d loss = scale.
  unsigned seeds = 0;
  for (Operation &op : llvm::make_early_inc_range(body)) {
    if (!op.hasAttr(NNDialect::getGradSeedAttrName()))
      continue;
    Value seed = op.getResult(0);
    if (seed.getType() != scalar)
      return op.emitOpError("is a gradient seed of type ")
             << seed.getType() << "; loss scaling scales a tensor<f32> seed";
    b.setInsertionPointAfter(&op);
    Value scaled = b.create<MulOp>(op.getLoc(), seed, scale);
    seed.replaceAllUsesExcept(scaled, scaled.getDefiningOp());
    ++seeds;
  }
  if (seeds == 0)
    return fn.emitError("has no gradient seed (#nn.grad_seed) to scale");

  // Unscaled gradients for the updates (and the norms reading them).
  SmallVector<Value> unscaled;
  for (OptimizerOpInterface update : updates) {
    Value g = update.getParamGrad();
    b.setInsertionPoint(update);
    Value u = b.create<UnscaleOp>(update->getLoc(), g, scale);
    g.replaceUsesWithIf(u, [&](OpOperand &use) {
      return use.getOwner() == update.getOperation() ||
             isa<NormOp>(use.getOwner());
    });
    unscaled.push_back(u);
  }

  // Keep every update only if all gradients are finite.
  auto ret = cast<func::ReturnOp>(body.getTerminator());
  b.setInsertionPoint(ret);
  Value finite = b.create<AllFiniteOp>(loc, scalar, unscaled);
  SmallVector<Value> results(ret.getOperands());
  for (Value &r : results) {
    auto update = r.getDefiningOp<OptimizerOpInterface>();
    if (!update)
      continue;
    Value old = updatedOperand(update, cast<OpResult>(r).getResultNumber());
    if (!old)
      return update->emitOpError("has a result loss scaling cannot pair "
                                 "with the operand it updates");
    r = b.create<SelectOp>(loc, r.getType(), finite, r, old);
  }
  auto next = b.create<LossScaleUpdateOp>(
      loc, scalar, scalar, finite, scale, good, b.getF64FloatAttr(growth),
      b.getF64FloatAttr(backoff), b.getI64IntegerAttr(interval));
  if (failed(next.verify()))
    return failure();
  results.push_back(next.getNewScale());
  results.push_back(next.getNewGoodSteps());
  SmallVector<DictionaryAttr> resultAttrs;
  fn.getAllResultAttrs(resultAttrs);
  for (StringRef name : {"new_loss_scale", "new_good_steps"})
    resultAttrs.push_back(b.getDictionaryAttr(b.getNamedAttr(
        NNDialect::getNameAttrName(), b.getStringAttr(name))));
  b.create<func::ReturnOp>(ret.getLoc(), results);
  ret.erase();
  fn.setFunctionType(
      b.getFunctionType(fn.getArgumentTypes(), ValueRange(results).getTypes()));
  fn.setAllResultAttrs(resultAttrs);
  return success();
}

namespace {
struct LossScalingPass
    : public mlir::nnc::impl::LossScalingBase<LossScalingPass> {
  using LossScalingBase::LossScalingBase;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    // The op's verifier checks these too; checking first names the option.
    if (!(std::isfinite(growthFactor) && growthFactor > 1)) {
      module.emitError() << "nnc-loss-scaling: growth-factor must be finite "
                            "and greater than 1, got "
                         << growthFactor;
      return signalPassFailure();
    }
    if (!(backoffFactor > 0 && backoffFactor < 1)) {
      module.emitError() << "nnc-loss-scaling: backoff-factor must be in "
                            "(0, 1), got "
                         << backoffFactor;
      return signalPassFailure();
    }
    if (growthInterval < 1 || growthInterval > (int64_t(1) << 24)) {
      module.emitError() << "nnc-loss-scaling: growth-interval must be in "
                            "[1, 2^24], got "
                         << static_cast<int64_t>(growthInterval);
      return signalPassFailure();
    }
    bool any = false;
    for (auto fn : llvm::to_vector(module.getOps<func::FuncOp>())) {
      if (getEntryRole(fn) != EntryRole::TrainStep)
        continue;
      any = true;
      if (failed(scaleStep(fn, growthFactor, backoffFactor, growthInterval)))
        return signalPassFailure();
    }
    if (!any) {
      module.emitError("loss scaling needs a training step (an optimizer or "
                       "a learning rate): a gradient function has no update "
                       "to skip");
      signalPassFailure();
    }
  }
};
} // namespace
