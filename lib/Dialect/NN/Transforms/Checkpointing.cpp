//===- Checkpointing.cpp - the IR side of checkpoint planning -------------===//
//
// Part of nnc.
//
//===----------------------------------------------------------------------===//

#include "nnc/Dialect/NN/Transforms/Checkpointing.h"
#include "nnc/Dialect/NN/Transforms/Passes.h"

#include "mlir/IR/Matchers.h"

using namespace mlir;
using namespace mlir::nnc;

/// Ops that belong with the stage before them: cheap elementwise work whose
/// input is dead right after (so a stage boundary there would only split a
/// layer), and the loss.
static bool joinsPreviousStage(Operation *op) {
  return isa<ReluOp, SigmoidOp, TanhOp, DropoutOp, SoftmaxOp, MSELossOp,
             CrossEntropyOp>(op);
}

/// Constants are not stage work: they are materialized once and shared.
static bool isConstant(Operation *op) {
  return op->hasTrait<OpTrait::ConstantLike>();
}

FailureOr<StagePartition> mlir::nnc::partitionIntoStages(func::FuncOp fn) {
  Block &body = fn.getBody().front();
  // Forward ops are those before the gradient seed: nnc-autodiff emits the
  // whole backward after it.
  SmallVector<Operation *> forward;
  bool seen = false;
  for (Operation &op : body.without_terminator()) {
    if (op.hasAttr(kGradSeedAttrName)) {
      seen = true;
      break;
    }
    if (!isConstant(&op))
      forward.push_back(&op);
  }
  if (!seen || forward.empty())
    return fn.emitError("checkpoint planning needs a gradient function "
                        "produced by nnc-autodiff (no 'nn.grad_seed' found)");
  for (Operation *op : forward)
    if (op->getNumResults() != 1 || op->getNumRegions() != 0)
      return op->emitOpError(
          "cannot be staged for checkpointing: expected one result and no "
          "regions");

  // A value is a cut when no later forward op reads anything defined
  // before it: the chain can be split right after it.
  llvm::DenseMap<Operation *, int64_t> pos;
  for (auto [i, op] : llvm::enumerate(forward))
    pos[op] = i;
  int64_t n = forward.size();
  std::vector<int64_t> minOperand(n, INT64_MAX), suffixMin(n + 1, INT64_MAX);
  for (int64_t q = 0; q < n; ++q)
    for (Value v : forward[q]->getOperands())
      if (Operation *def = v.getDefiningOp(); def && pos.count(def))
        minOperand[q] = std::min(minOperand[q], pos[def]);
  for (int64_t q = n - 1; q >= 0; --q)
    suffixMin[q] = std::min(suffixMin[q + 1], minOperand[q]);

  StagePartition p;
  p.stages.emplace_back();
  for (int64_t i = 0; i < n; ++i) {
    p.stages.back().push_back(forward[i]);
    bool last = i + 1 == n;
    bool cut = suffixMin[i + 1] >= i;
    if (last || (cut && !joinsPreviousStage(forward[i + 1]))) {
      p.outputs.push_back(forward[i]->getResult(0));
      if (!last)
        p.stages.emplace_back();
    }
  }
  if (p.outputs.back() != body.getTerminator()->getOperand(0))
    return fn.emitError("checkpoint planning expects the loss to be the last "
                        "forward value");

  // What each stage's backward costs and reads: build its vector-Jacobian
  // products in a scratch block (zero placeholders standing for the
  // incoming gradients), keep what reaches a gradient that matters, look.
  llvm::DenseSet<Value> forwardValues;
  for (Operation *op : forward)
    forwardValues.insert(op->getResult(0));
  auto matters = [&](Value v) {
    if (forwardValues.contains(v))
      return true;
    auto arg = dyn_cast<BlockArgument>(v);
    return arg && fn.getArgAttr(arg.getArgNumber(),
                                NNDialect::getParamAttrName());
  };
  OpBuilder b(fn.getContext());
  for (auto &stage : p.stages) {
    Block scratch;
    b.setInsertionPointToEnd(&scratch);
    llvm::SetVector<Operation *> roots;
    for (Operation *op : llvm::reverse(stage)) {
      auto diff = dyn_cast<DifferentiableOpInterface>(op);
      if (!diff)
        continue;
      SmallVector<Value> resultGrads, operandGrads;
      for (Value r : op->getResults())
        resultGrads.push_back(b.create<arith::ConstantOp>(
            op->getLoc(), b.getZeroAttr(r.getType())));
      if (failed(diff.buildGradient(b, resultGrads, operandGrads)))
        return failure();
      for (auto [operand, g] : llvm::zip(op->getOperands(), operandGrads))
        if (g && matters(operand) && g.getDefiningOp())
          roots.insert(g.getDefiningOp());
    }
    // Live scratch ops: those the kept gradients depend on.
    llvm::DenseSet<Operation *> live;
    SmallVector<Operation *> worklist(roots.begin(), roots.end());
    while (!worklist.empty()) {
      Operation *op = worklist.pop_back_val();
      if (op->getBlock() != &scratch || !live.insert(op).second)
        continue;
      for (Value v : op->getOperands())
        if (Operation *def = v.getDefiningOp())
          worklist.push_back(def);
    }
    int64_t flops = 0;
    llvm::DenseSet<Value> needs;
    for (Operation &op : scratch) {
      if (!live.contains(&op))
        continue;
      if (auto cost = dyn_cast<CostOpInterface>(&op))
        flops += cost.getFlops();
      for (Value v : op.getOperands())
        if (forwardValues.contains(v))
          needs.insert(v);
    }
    p.backwardFlops.push_back(flops);
    p.needs.push_back(std::move(needs));
    int64_t fwd = 0;
    for (Operation *op : stage)
      if (auto cost = dyn_cast<CostOpInterface>(op))
        fwd += cost.getFlops();
    p.forwardFlops.push_back(fwd);
    for (Operation &op : llvm::make_early_inc_range(llvm::reverse(scratch))) {
      op.dropAllUses();
      op.erase();
    }
  }
  return p;
}

::nnc::planner::Chain mlir::nnc::buildChain(func::FuncOp fn,
                                            const StagePartition &p) {
  ::nnc::planner::Chain chain;
  // a^0 is the caller's input batch: the planner never counts it, but it
  // does count delta^0, its gradient, which nnc never computes (inputs are
  // data). So a^0 is modelled as one byte.
  chain.inputBytes = 1;
  for (unsigned i = 0; i < p.stages.size(); ++i) {
    ::nnc::planner::Stage stage;
    stage.forwardCost = static_cast<double>(std::max<int64_t>(p.forwardFlops[i], 1));
    stage.backwardCost = static_cast<double>(std::max<int64_t>(p.backwardFlops[i], 1));
    Value out = p.outputs[i];
    stage.outputBytes = getSizeInBytes(out.getType());
    // abar^i: the stage's own values its backward reads, and its output.
    llvm::DenseSet<Operation *> own(p.stages[i].begin(), p.stages[i].end());
    stage.savedBytes = stage.outputBytes;
    for (Value v : p.needs[i])
      if (v != out && own.contains(v.getDefiningOp()))
        stage.savedBytes += getSizeInBytes(v.getType());
    Value in = p.inputOf(i);
    stage.backwardNeedsInput = in && p.needs[i].contains(in);
    chain.stages.push_back(stage);
  }
  return chain;
}
