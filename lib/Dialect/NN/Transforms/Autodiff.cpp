//===- Autodiff.cpp - reverse-mode differentiation of model functions -----===//
//
// Part of nnc, under the Apache License v2.0 with LLVM Exceptions.
// See LICENSE for license information.
//
// Reverse-mode AD on straight-line nn code. The pass knows no layer: every op
// contributes its own vector-Jacobian product through
// DifferentiableOpInterface, so a new op becomes differentiable by
// implementing one method.
//
//===----------------------------------------------------------------------===//

#include "nnc/Dialect/NN/Transforms/Passes.h"

#include "mlir/IR/IRMapping.h"
#include "llvm/ADT/SetVector.h"

namespace mlir::nnc {
#define GEN_PASS_DEF_AUTODIFF
#include "nnc/Dialect/NN/Transforms/Passes.h.inc"
} // namespace mlir::nnc

using namespace mlir;
using namespace mlir::nnc;

/// Values that both depend on a parameter and reach the loss: only these
/// need a gradient. Anything else (data preprocessing, label handling) is
/// left alone, which also keeps non-differentiable ops legal there.
static llvm::DenseSet<Value> findActiveValues(func::FuncOp func, Value loss) {
  llvm::DenseSet<Value> varied, useful, active;
  for (BlockArgument arg : func.getArguments())
    if (func.getArgAttr(arg.getArgNumber(), NNDialect::getParamAttrName()))
      varied.insert(arg);
  Block &body = func.getBody().front();
  for (Operation &op : body)
    if (llvm::any_of(op.getOperands(),
                     [&](Value v) { return varied.contains(v); }))
      for (Value r : op.getResults())
        varied.insert(r);
  useful.insert(loss);
  for (Operation &op : llvm::reverse(body))
    if (llvm::any_of(op.getResults(),
                     [&](Value v) { return useful.contains(v); }))
      for (Value o : op.getOperands())
        useful.insert(o);
  for (Value v : varied)
    if (useful.contains(v))
      active.insert(v);
  return active;
}

void mlir::nnc::eraseDeadOps(Block &block) {
  // In reverse, so an op's operands are looked at after its users are gone.
  for (Operation &op : llvm::make_early_inc_range(llvm::reverse(block)))
    if (isOpTriviallyDead(&op))
      op.erase();
}

static FailureOr<func::FuncOp> differentiate(func::FuncOp model,
                                             double learningRate) {
  if (failed(verifyModelFunction(model)))
    return failure();

  OpBuilder b(model);
  b.setInsertionPointAfter(model);
  std::string name =
      (model.getSymName() + (learningRate > 0 ? "_train_step" : "_grad")).str();
  // A driver written in MLIR may declare the function it calls; autodiff
  // then defines that declaration (its type must match).
  func::FuncOp declared;
  if (Operation *existing =
          SymbolTable::lookupNearestSymbolFrom(model, b.getStringAttr(name))) {
    declared = dyn_cast<func::FuncOp>(existing);
    if (!declared || !declared.isExternal())
      return model.emitError() << "cannot create '" << name
                               << "': a symbol of that name already exists";
  }

  // Clone the forward computation into the new function; the backward is
  // appended after it, before the return.
  auto grad = cast<func::FuncOp>(b.clone(*model));
  grad.setSymName(name);
  grad->setAttr(NNDialect::getGradOfAttrName(),
                FlatSymbolRefAttr::get(model.getSymNameAttr()));
  grad->setAttr(NNDialect::getEntryAttrName(),
                EntryRoleAttr::get(b.getContext(), learningRate > 0
                                                       ? EntryRole::TrainStep
                                                       : EntryRole::Grad));
  Block &body = grad.getBody().front();
  auto ret = cast<func::ReturnOp>(body.getTerminator());
  Value loss = ret.getOperand(0);
  llvm::DenseSet<Value> active = findActiveValues(grad, loss);

  SmallVector<Operation *> forwardOps;
  for (Operation &op : body.without_terminator())
    forwardOps.push_back(&op);

  b.setInsertionPoint(ret);
  Location loc = model.getLoc();
  llvm::DenseMap<Value, Value> grads;
  auto accumulate = [&](Value v, Value g) {
    auto [it, inserted] = grads.try_emplace(v, g);
    if (!inserted)
      it->second = b.create<AddOp>(g.getLoc(), it->second, g);
  };
  auto lossType = cast<RankedTensorType>(loss.getType());
  // d loss / d loss = 1. The seed is tagged: every backward op depends on
  // it, which is how later stages tell the backward from the forward.
  auto seed =
      b.create<arith::ConstantOp>(loc, DenseElementsAttr::get(lossType, 1.0f));
  seed->setAttr(NNDialect::getGradSeedAttrName(), b.getUnitAttr());
  accumulate(loss, seed);

  for (Operation *op : llvm::reverse(forwardOps)) {
    if (llvm::none_of(op->getResults(),
                      [&](Value r) { return grads.count(r) != 0; }))
      continue;
    auto diff = dyn_cast<DifferentiableOpInterface>(op);
    if (!diff)
      return op->emitOpError()
             << "is on the path from an nn.param to the loss but is not "
                "differentiable (it does not implement "
                "DifferentiableOpInterface)";
    SmallVector<Value> resultGrads;
    for (Value r : op->getResults()) {
      Value g = grads.lookup(r);
      if (!g) // A result that does not reach the loss has zero gradient.
        g = b.create<arith::ConstantOp>(
            op->getLoc(),
            DenseElementsAttr::get(cast<RankedTensorType>(r.getType()), 0.0f));
      resultGrads.push_back(g);
    }
    SmallVector<Value> operandGrads;
    if (failed(diff.buildGradient(b, resultGrads, operandGrads)))
      return failure();
    assert(operandGrads.size() == op->getNumOperands() &&
           "buildGradient must return one value per operand");
    for (auto [operand, g] : llvm::zip(op->getOperands(), operandGrads))
      if (g && active.contains(operand))
        accumulate(operand, g);
  }

  // Results: the loss, then per parameter its gradient or its updated value.
  SmallVector<Value> results{loss};
  for (BlockArgument arg : body.getArguments()) {
    if (!grad.getArgAttr(arg.getArgNumber(), NNDialect::getParamAttrName()))
      continue;
    Value g = grads.lookup(arg);
    if (!g) // The parameter does not influence the loss.
      g = b.create<arith::ConstantOp>(
          loc,
          DenseElementsAttr::get(cast<RankedTensorType>(arg.getType()), 0.0f));
    if (learningRate > 0)
      g = b.create<SGDOp>(loc, arg, g,
                          b.getF32FloatAttr(static_cast<float>(learningRate)));
    results.push_back(g);
  }
  b.create<func::ReturnOp>(ret.getLoc(), results);
  ret.erase();
  grad.setFunctionType(b.getFunctionType(grad.getArgumentTypes(),
                                         ValueRange(results).getTypes()));
  eraseDeadOps(body);
  if (declared) {
    if (declared.getFunctionType() != grad.getFunctionType())
      return declared.emitError()
             << "declaration of '" << name << "' has type "
             << declared.getFunctionType() << " but the derived function has "
             << grad.getFunctionType();
    grad.setVisibility(declared.getVisibility());
    declared.erase();
  }
  return grad;
}

namespace {
struct AutodiffPass : public nnc::impl::AutodiffBase<AutodiffPass> {
  using AutodiffBase::AutodiffBase;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    SmallVector<func::FuncOp> models;
    for (auto func : module.getOps<func::FuncOp>()) {
      if (func->hasAttr(NNDialect::getGradOfAttrName()))
        continue;
      if (!functionName.empty() ? func.getSymName() == functionName
                                : isModelFunction(func))
        models.push_back(func);
    }
    if (models.empty()) {
      if (!functionName.empty())
        module.emitError() << "no function named '" << functionName << "'";
      else
        module.emitError("no model function to differentiate: no function "
                         "argument is marked 'nn.param'");
      return signalPassFailure();
    }
    for (func::FuncOp model : models)
      if (failed(differentiate(model, learningRate)))
        return signalPassFailure();
  }
};
} // namespace
