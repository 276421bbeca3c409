//===- Checkpointing.cpp - the IR side of checkpoint planning -------------===//
//
// Part of nnc, under the Apache License v2.0 with LLVM Exceptions.
// See LICENSE for license information.
//
//===----------------------------------------------------------------------===//

#include "nnc/Dialect/NN/Transforms/Checkpointing.h"
#include "nnc/Dialect/NN/Transforms/Passes.h"
#include "nnc/Support/Limits.h"

#include "mlir/IR/Matchers.h"
#include "llvm/Support/CheckedArithmetic.h"

using namespace mlir;
using namespace mlir::nnc;
namespace planner = ::nnc::planner;

/// Ops that belong with the stage before them: those whose backward reads
/// their own output (activations: the stage's output is then what its
/// backward keeps), and the loss. Dropout instead opens the next stage: its
/// output is what the next linear layer's backward reads, and its own
/// backward reads nothing.
static bool joinsPreviousStage(Operation *op) {
  return op->hasTrait<NNTrait::GradientFromResult>() ||
         op->hasTrait<NNTrait::Loss>();
}

bool mlir::nnc::isArgumentCopy(Operation *op) {
  auto cast = dyn_cast_or_null<CastOp>(op);
  return cast && isa<BlockArgument>(cast.getInput());
}

/// Constants are not stage work: they are materialized once and shared.
static bool isConstant(Operation *op) {
  return op->hasTrait<OpTrait::ConstantLike>();
}

FailureOr<StagePartition> mlir::nnc::partitionIntoStages(func::FuncOp fn,
                                                         bool fusedUpdates) {
  // This may run on any IR (the pass alone): the sizes and FLOPs formed
  // below come only from shapes within nnc's limits. The derived step has
  // a few times the model's ops.
  if (fn.isExternal() ||
      failed(checkSizeLimits(fn, 16 * ::nnc::limits::kMaxModelOps)))
    return failure();
  Block &body = fn.getBody().front();
  // Forward ops are those before the gradient seed: nnc-autodiff emits the
  // whole backward after it.
  SmallVector<Operation *> forward;
  bool seen = false;
  for (Operation &op : body.without_terminator()) {
    if (op.hasAttr(NNDialect::getGradSeedAttrName())) {
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
    // An argument's copy belongs to the stage that reads it: a stage of
    // its own would make it a stage output the plan holds.
    if (last || (cut && !joinsPreviousStage(forward[i + 1]) &&
                 !isArgumentCopy(forward[i]))) {
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
    return arg &&
           fn.getArgAttr(arg.getArgNumber(), NNDialect::getParamAttrName());
  };
  // A training step holds a stage's parameter gradients until the
  // optimizer updates that follow its backward; a gradient function writes
  // them to the caller's buffers.
  bool trainStep = llvm::any_of(
      body, [](Operation &op) { return isa<OptimizerOpInterface>(op); });
  // With nnc-fuse-updates, a parameter whose whole gradient is one matmul
  // (one forward use, whose VJP is that matmul: a linear layer's weight) is
  // updated by that matmul directly, and its gradient never exists.
  llvm::DenseMap<Value, unsigned> forwardUses;
  for (Operation *op : forward)
    for (Value v : op->getOperands())
      if (matters(v) && isa<BlockArgument>(v))
        ++forwardUses[v];
  llvm::DenseSet<Value> fusedParams;
  OpBuilder b(fn.getContext());
  for (auto [index, stage] : llvm::enumerate(p.stages)) {
    Block scratch;
    b.setInsertionPointToEnd(&scratch);
    llvm::SetVector<Operation *> roots;
    Value input = p.inputOf(index);
    Operation *inputGrad = nullptr;
    llvm::DenseSet<Value> stageParams;
    for (Operation *op : stage)
      for (Value v : op->getOperands())
        if (auto arg = dyn_cast<BlockArgument>(v);
            arg &&
            fn.getArgAttr(arg.getArgNumber(), NNDialect::getParamAttrName()))
          stageParams.insert(v);
    // The stage's VJPs chained as the backward runs them: gradients of the
    // stage's own values flow from op to op; the stage's output gets a
    // placeholder (its gradient comes from the next stage).
    llvm::DenseSet<Operation *> own(stage.begin(), stage.end());
    llvm::DenseMap<Value, Value> stageGrads;
    for (Operation *op : llvm::reverse(stage)) {
      auto diff = dyn_cast<DifferentiableOpInterface>(op);
      if (!diff)
        continue;
      SmallVector<Value> resultGrads, operandGrads;
      for (Value r : op->getResults()) {
        Value g = stageGrads.lookup(r);
        resultGrads.push_back(
            g ? g
              : b.create<arith::ConstantOp>(op->getLoc(),
                                            b.getZeroAttr(r.getType())));
      }
      if (failed(diff.buildGradient(b, resultGrads, operandGrads)))
        return failure();
      for (auto [operand, g] : llvm::zip(op->getOperands(), operandGrads)) {
        if (!g || !matters(operand))
          continue;
        if (Operation *def = operand.getDefiningOp();
            def && own.contains(def)) {
          auto [it, inserted] = stageGrads.try_emplace(operand, g);
          if (!inserted)
            it->second = b.create<AddOp>(op->getLoc(), it->second, g);
          continue;
        }
        if (g.getDefiningOp())
          roots.insert(g.getDefiningOp());
        if (fusedUpdates && isa<BlockArgument>(operand) &&
            forwardUses.lookup(operand) == 1 &&
            isa<MatmulOp>(g.getDefiningOp()) &&
            cast<RankedTensorType>(g.getType()).getRank() == 2)
          fusedParams.insert(operand);
        if (input && operand == input)
          inputGrad = g.getDefiningOp();
      }
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
    // FLOPs add up with overflow checks: each op's count fits (its shapes
    // passed checkSizeLimits), a stage of thousands of them need not.
    auto addFlops = [&](int64_t &sum, Operation *op) {
      auto cost = dyn_cast<CostOpInterface>(op);
      std::optional<int64_t> next =
          cost ? llvm::checkedAdd(sum, cost.getFlops()) : sum;
      if (next)
        sum = *next;
      return next.has_value();
    };
    int64_t flops = 0;
    llvm::DenseSet<Value> needs, recast;
    for (Operation &op : scratch) {
      if (!live.contains(&op))
        continue;
      if (!addFlops(flops, &op))
        return fn.emitError() << "the backward FLOPs of stage " << index + 1
                              << " overflow a 64-bit count";
      for (Value v : op.getOperands()) {
        if (!forwardValues.contains(v))
          continue;
        // A bf16 copy of a weight or of the batch is made again where the
        // backward reads it (nnc-recast-for-backward): backward scratch,
        // not a saved value.
        if (isArgumentCopy(v.getDefiningOp())) {
          recast.insert(v);
          continue;
        }
        needs.insert(v);
      }
    }
    // Saved values released early: from the op creating the input's
    // gradient on, no VJP op reads a value of this stage, and the gradients
    // still alive then fit in delta^i's storage (an activation's VJP runs in
    // place on it; a loss's VJP creates a logits-sized gradient instead).
    // The first stage has no input gradient: its first parameter gradient
    // is then the first new buffer of its backward.
    if (!inputGrad)
      for (Operation &op : scratch)
        if (roots.contains(&op)) {
          inputGrad = &op;
          break;
        }
    bool releases = inputGrad && inputGrad->getBlock() == &scratch;
    bool after = false;
    llvm::DenseSet<Value> carried;
    for (Operation &op : scratch) {
      after |= &op == inputGrad;
      if (!after || !live.contains(&op))
        continue;
      for (Value v : op.getOperands()) {
        Operation *def = v.getDefiningOp();
        if (def && own.contains(def))
          releases = false;
        if (def && def->getBlock() == &scratch && !isConstant(def) &&
            def->isBeforeInBlock(inputGrad))
          carried.insert(v);
      }
    }
    int64_t carriedBytes = 0;
    for (Value v : carried)
      carriedBytes += getSizeInBytes(v.getType());
    if (carriedBytes > getSizeInBytes(p.outputs[index].getType()))
      releases = false;
    int64_t transient = 0;
    if (trainStep)
      for (Value param : stageParams)
        if (!fusedParams.contains(param))
          transient += getSizeInBytes(param.getType());
    // Scratch of the ops: one at a time, so the largest counts.
    auto scratchOf = [](Operation *op) -> int64_t {
      auto cost = dyn_cast<CostOpInterface>(op);
      return cost ? cost.getScratchBytes() : 0;
    };
    int64_t backwardScratch = 0, forwardScratch = 0;
    for (Operation &op : scratch)
      if (live.contains(&op))
        backwardScratch = std::max(backwardScratch, scratchOf(&op));
    for (Operation *op : stage)
      forwardScratch = std::max(forwardScratch, scratchOf(op));
    transient += backwardScratch;
    for (Value v : recast)
      transient += getSizeInBytes(v.getType());
    p.forwardTransientBytes.push_back(forwardScratch);
    p.releasesSaved.push_back(releases);
    p.backwardTransientBytes.push_back(transient);
    p.backwardFlops.push_back(flops);
    p.needs.push_back(std::move(needs));
    int64_t fwd = 0;
    for (Operation *op : stage)
      if (!addFlops(fwd, op))
        return fn.emitError() << "the forward FLOPs of stage " << index + 1
                              << " overflow a 64-bit count";
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
    stage.forwardCost =
        static_cast<double>(std::max<int64_t>(p.forwardFlops[i], 1));
    stage.backwardCost =
        static_cast<double>(std::max<int64_t>(p.backwardFlops[i], 1));
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
    stage.backwardReleasesSaved = p.releasesSaved[i];
    stage.backwardTransientBytes = p.backwardTransientBytes[i];
    stage.forwardTransientBytes = p.forwardTransientBytes[i];
    chain.stages.push_back(stage);
  }
  return chain;
}

SmallVector<CheckpointAction>
mlir::nnc::toCheckpointActions(const ::nnc::planner::Schedule &schedule) {
  using planner::Action;
  SmallVector<CheckpointAction> actions;
  for (const Action &a : schedule) {
    CheckpointAction c;
    c.stage = a.stage;
    switch (a.kind) {
    case Action::ForwardCheckpoint:
      c.kind = CheckpointActionKind::ForwardCheckpoint;
      break;
    case Action::ForwardNoSave:
      c.kind = CheckpointActionKind::ForwardNoSave;
      break;
    case Action::ForwardAll:
      c.kind = CheckpointActionKind::ForwardAll;
      break;
    case Action::Backward:
      c.kind = CheckpointActionKind::Backward;
      break;
    case Action::Discard:
      c.kind = CheckpointActionKind::Discard;
      c.value = a.value == planner::ValueKind::Saved
                    ? DiscardedValue::Saved
                    : DiscardedValue::Activation;
      break;
    }
    actions.push_back(c);
  }
  return actions;
}

::nnc::planner::Schedule
mlir::nnc::toPlannerSchedule(ArrayRef<CheckpointAction> actions) {
  using planner::Action;
  ::nnc::planner::Schedule schedule;
  for (const CheckpointAction &c : actions) {
    switch (c.kind) {
    case CheckpointActionKind::ForwardCheckpoint:
      schedule.push_back(Action::fck(c.stage));
      break;
    case CheckpointActionKind::ForwardNoSave:
      schedule.push_back(Action::fn(c.stage));
      break;
    case CheckpointActionKind::ForwardAll:
      schedule.push_back(Action::fall(c.stage));
      break;
    case CheckpointActionKind::Backward:
      schedule.push_back(Action::backward(c.stage));
      break;
    case CheckpointActionKind::Discard:
      schedule.push_back(Action::discard(c.value == DiscardedValue::Saved
                                             ? planner::ValueKind::Saved
                                             : planner::ValueKind::Activation,
                                         c.stage));
      break;
    }
  }
  return schedule;
}
