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

#include <cmath>

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

namespace {
/// What follows the backward: the pass options, validated.
struct StepConfig {
  Optimizer optimizer = Optimizer::None;
  /// > 0: compiled in; 0: the step's `lr` argument.
  double learningRate = 0;
  double momentum = 0.9, beta1 = 0.9, beta2 = 0.999, eps = 1e-8;
  double weightDecay = 0;
  double trustCoefficient = 0.001;
  bool gradNorms = false;
  bool returnOutput = false;

  bool isTrainStep() const { return optimizer != Optimizer::None; }
  /// Adam's moments, bias correction and step count (LAMB's too).
  bool isAdam() const {
    return ::nnc::hasAdamMoments(optimizer);
  }
  bool hasMomentum() const {
    return ::nnc::hasVelocity(optimizer);
  }
  ArrayRef<const char *> stateNames() const {
    static const char *velocity[] = {"velocity"};
    static const char *moments[] = {"m", "v"};
    if (hasMomentum())
      return velocity;
    if (isAdam())
      return moments;
    return {};
  }
};
} // namespace

/// The user-facing name of parameter argument `arg` (the `index`-th
/// parameter), as the compiler driver names its buffers without `nn.name`.
static std::string paramName(func::FuncOp fn, unsigned arg, unsigned index) {
  StringRef name = getArgName(fn, arg);
  return name.empty() ? "param" + std::to_string(index) : name.str();
}

static FailureOr<func::FuncOp> differentiate(func::FuncOp model,
                                             const StepConfig &config) {
  if (failed(verifyModelFunction(model)))
    return failure();

  OpBuilder b(model);
  b.setInsertionPointAfter(model);
  bool train = config.isTrainStep();
  std::string name =
      (model.getSymName() + (train ? "_train_step" : "_grad")).str();
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
                EntryRoleAttr::get(b.getContext(), train ? EntryRole::TrainStep
                                                         : EntryRole::Grad));
  Block &body = grad.getBody().front();
  auto ret = cast<func::ReturnOp>(body.getTerminator());
  Value loss = ret.getOperand(0);
  llvm::DenseSet<Value> active = findActiveValues(grad, loss);

  // A training-mode batch norm's running statistics: the updated values are
  // results of the step, computed by pure ops placed before the batch norm
  // (in its checkpoint stage). However often a plan recomputes that stage,
  // the function returns one update.
  SmallVector<std::pair<Value, std::string>> runningStats;
  llvm::DenseSet<Value> updatedStats;
  for (auto bn : llvm::to_vector(body.getOps<BatchNormOp>())) {
    if (!bn.getTraining())
      continue;
    for (auto [stat, variance] : {std::pair{bn.getRunningMean(), false},
                                  std::pair{bn.getRunningVar(), true}}) {
      auto arg = dyn_cast<BlockArgument>(stat);
      if (!arg || !grad.getArgAttr(arg.getArgNumber(),
                                   NNDialect::getRunningStatAttrName()))
        continue;
      if (!updatedStats.insert(arg).second)
        return bn.emitOpError()
               << "updates running statistic argument #" << arg.getArgNumber()
               << ", which another batch norm updates too";
      b.setInsertionPoint(bn);
      Value updated = b.create<RunningStatUpdateOp>(
          bn.getLoc(), bn.getInput(), stat, bn.getMomentumAttr(),
          variance ? b.getUnitAttr() : UnitAttr());
      StringRef argName = getArgName(grad, arg.getArgNumber());
      runningStats.push_back(
          {updated, "new_" + (argName.empty()
                                  ? "running_stat" +
                                        std::to_string(arg.getArgNumber())
                                  : argName.str())});
    }
  }

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

  // The step's new arguments come after the model's own, so the model's
  // buffer order is unchanged: optimizer state per parameter, then the
  // run-time scalars.
  SmallVector<BlockArgument> params;
  SmallVector<std::string> names;
  for (BlockArgument arg : body.getArguments())
    if (grad.getArgAttr(arg.getArgNumber(), NNDialect::getParamAttrName())) {
      names.push_back(paramName(grad, arg.getArgNumber(), params.size()));
      params.push_back(arg);
    }
  auto scalarType = RankedTensorType::get({}, b.getF32Type());
  // New arguments go on the block; the function's type and attributes are
  // set once after the last (per argument, each would make a new uniqued
  // FunctionType and ArrayAttr: quadratic in the parameters).
  SmallVector<DictionaryAttr> argAttrs;
  grad.getAllArgAttrs(argAttrs);
  auto addArg = [&](Type type, StringRef argName, bool state) -> Value {
    SmallVector<NamedAttribute> attrs{
        b.getNamedAttr(NNDialect::getNameAttrName(), b.getStringAttr(argName))};
    if (state)
      attrs.push_back(
          b.getNamedAttr(NNDialect::getStateAttrName(), b.getUnitAttr()));
    argAttrs.push_back(b.getDictionaryAttr(attrs));
    return body.addArgument(type, loc);
  };
  ArrayRef<const char *> stateNames = config.stateNames();
  SmallVector<SmallVector<Value>> states(params.size());
  for (auto [i, p] : llvm::enumerate(params))
    for (const char *s : stateNames)
      states[i].push_back(addArg(p.getType(), names[i] + "_" + s, true));
  Value lr, step;
  if (train && config.learningRate == 0)
    lr = addArg(scalarType, "lr", false);
  if (config.isAdam())
    step = addArg(scalarType, "step", false);
  grad.setFunctionType(
      b.getFunctionType(body.getArgumentTypes(), grad.getResultTypes()));
  grad.setAllArgAttrs(argAttrs);
  if (train && config.learningRate > 0)
    lr = b.create<arith::ConstantOp>(
        loc, DenseElementsAttr::get(scalarType,
                                    static_cast<float>(config.learningRate)));

  // Results: the loss, then per parameter its gradient or its updated
  // value, the updated state, and the gradient norms. The update and norm
  // ops read the complete gradient: nnc-rematerialize moves them to right
  // after the backward action that completes it.
  SmallVector<Value> results{loss}, stateResults, normResults;
  SmallVector<std::string> resultNames{"loss"}, stateResultNames, normNames;
  FloatAttr wd = b.getF64FloatAttr(config.weightDecay);
  for (auto [i, p] : llvm::enumerate(params)) {
    Value g = grads.lookup(p);
    if (!g) // The parameter does not influence the loss.
      g = b.create<arith::ConstantOp>(
          loc,
          DenseElementsAttr::get(cast<RankedTensorType>(p.getType()), 0.0f));
    if (config.gradNorms) {
      normResults.push_back(b.create<NormOp>(loc, scalarType, g));
      normNames.push_back("grad_norm_" + names[i]);
    }
    Type t = p.getType();
    switch (config.optimizer) {
    case Optimizer::None:
      results.push_back(g);
      break;
    case Optimizer::SGD:
      results.push_back(b.create<SGDOp>(loc, t, p, g, lr, wd));
      break;
    case Optimizer::Momentum:
    case Optimizer::Nesterov: {
      auto op = b.create<MomentumUpdateOp>(
          loc, t, t, p, g, states[i][0], lr, b.getF64FloatAttr(config.momentum),
          config.optimizer == Optimizer::Nesterov ? b.getUnitAttr()
                                                  : UnitAttr(),
          wd);
      results.push_back(op.getNewParam());
      stateResults.push_back(op.getNewVelocity());
      break;
    }
    case Optimizer::Adam:
    case Optimizer::AdamW: {
      auto op = b.create<AdamUpdateOp>(
          loc, t, t, t, p, g, states[i][0], states[i][1], lr, step,
          b.getF64FloatAttr(config.beta1), b.getF64FloatAttr(config.beta2),
          b.getF64FloatAttr(config.eps), wd,
          config.optimizer == Optimizer::AdamW ? b.getUnitAttr() : UnitAttr());
      results.push_back(op.getNewParam());
      stateResults.push_back(op.getNewM());
      stateResults.push_back(op.getNewV());
      break;
    }
    case Optimizer::LARS: {
      auto op = b.create<LarsUpdateOp>(
          loc, t, t, p, g, states[i][0], lr, b.getF64FloatAttr(config.momentum),
          b.getF64FloatAttr(config.trustCoefficient), wd);
      results.push_back(op.getNewParam());
      stateResults.push_back(op.getNewVelocity());
      break;
    }
    case Optimizer::LAMB: {
      auto op = b.create<LambUpdateOp>(
          loc, t, t, t, p, g, states[i][0], states[i][1], lr, step,
          b.getF64FloatAttr(config.beta1), b.getF64FloatAttr(config.beta2),
          b.getF64FloatAttr(config.eps), wd);
      results.push_back(op.getNewParam());
      stateResults.push_back(op.getNewM());
      stateResults.push_back(op.getNewV());
      break;
    }
    }
    resultNames.push_back((train ? "new_" : "grad_") + names[i]);
    for (const char *s : stateNames)
      stateResultNames.push_back("new_" + names[i] + "_" + s);
  }
  results.append(stateResults);
  for (auto &[value, statName] : runningStats) {
    results.push_back(value);
    stateResultNames.push_back(statName);
  }
  results.append(normResults);
  resultNames.append(stateResultNames);
  resultNames.append(normNames);
  if (config.returnOutput) {
    Operation *lossOp = loss.getDefiningOp();
    if (!lossOp || !lossOp->hasTrait<NNTrait::Loss>())
      return model.emitError("return-output needs the model to return the "
                             "result of a loss op (nn.cross_entropy, "
                             "nn.mse_loss)");
    // The caller reads f32: a mixed-precision model's bf16 logits are
    // widened (exactly).
    Value output = lossOp->getOperand(0);
    auto type = cast<RankedTensorType>(output.getType());
    if (!type.getElementType().isF32()) {
      // In the forward, beside the logits: a forward value the
      // rematerializer places like any other.
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPointAfterValue(output);
      output = b.create<CastOp>(output.getLoc(), type.clone(b.getF32Type()),
                                output);
    }
    results.push_back(output);
    resultNames.push_back("output");
  }
  b.create<func::ReturnOp>(ret.getLoc(), results);
  ret.erase();
  grad.setFunctionType(b.getFunctionType(grad.getArgumentTypes(),
                                         ValueRange(results).getTypes()));
  SmallVector<DictionaryAttr> resultAttrs;
  for (StringRef n : resultNames)
    resultAttrs.push_back(b.getDictionaryAttr(
        b.getNamedAttr(NNDialect::getNameAttrName(), b.getStringAttr(n))));
  grad.setAllResultAttrs(resultAttrs);
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
struct AutodiffPass : public mlir::nnc::impl::AutodiffBase<AutodiffPass> {
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
    StepConfig config;
    config.optimizer = optimizer;
    config.learningRate = learningRate;
    config.momentum = momentum;
    config.beta1 = beta1;
    config.beta2 = beta2;
    config.eps = eps;
    config.weightDecay = weightDecay;
    config.trustCoefficient = trustCoefficient;
    config.gradNorms = gradNorms;
    config.returnOutput = returnOutput;
    // Before optimizers were options, a learning rate alone meant SGD.
    if (config.optimizer == Optimizer::None && learningRate > 0)
      config.optimizer = Optimizer::SGD;
    auto bad = [&]() {
      signalPassFailure();
      return module.emitError() << "nnc-autodiff: ";
    };
    // The ops' verifiers check what they are built with too; checking here
    // first names the option.
    if (!std::isfinite(config.learningRate) || config.learningRate < 0) {
      bad() << "learning-rate must be finite and not negative, got "
            << config.learningRate;
      return;
    }
    if (!std::isfinite(static_cast<float>(config.learningRate))) {
      bad() << "learning-rate " << config.learningRate
            << " is beyond the f32 range the step computes in";
      return;
    }
    if (!std::isfinite(config.weightDecay) || config.weightDecay < 0) {
      bad() << "weight-decay must be finite and not negative, got "
            << config.weightDecay;
      return;
    }
    if (config.weightDecay != 0 && !config.isTrainStep()) {
      bad() << "weight-decay needs an optimizer";
      return;
    }
    if (config.hasMomentum() &&
        !(config.momentum > 0 && std::isfinite(config.momentum))) {
      bad() << "momentum must be positive and finite, got " << config.momentum;
      return;
    }
    if (config.optimizer == Optimizer::LARS &&
        !(config.trustCoefficient > 0 &&
          std::isfinite(config.trustCoefficient))) {
      bad() << "trust-coefficient must be positive and finite, got "
            << config.trustCoefficient;
      return;
    }
    if (config.isAdam() &&
        !(config.beta1 >= 0 && config.beta1 < 1 && config.beta2 >= 0 &&
          config.beta2 < 1 && config.eps >= 0 && std::isfinite(config.eps))) {
      bad() << "Adam needs beta1 and beta2 in [0, 1) and eps >= 0, got beta1="
            << config.beta1 << " beta2=" << config.beta2
            << " eps=" << config.eps;
      return;
    }
    for (func::FuncOp model : models)
      if (failed(differentiate(model, config)))
        return signalPassFailure();
  }
};
} // namespace
