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

/// Whether `op` lowers to one elementwise linalg.generic, whose result the
/// memory planner may place over an operand that dies there.
static bool isElementwise(Operation *op) {
  return op->hasTrait<OpTrait::SameOperandsAndResultType>() &&
         !isa<SoftmaxOp, SoftmaxGradOp>(op);
}

namespace {
/// What a straight run of ops holds, buffer by buffer, as nnc-plan-memory
/// will see it once bufferized: a buffer lives from the op creating it to
/// its last reader (inclusive), an elementwise result takes over the
/// storage of an operand that dies at that op, and a reshape is a view.
/// Only the values it is told about (`initial`) or that the ops create are
/// counted: the others (parameters, the stage's input) are someone else's.
struct SequenceLiveness {
  /// Values alive before the first op, with their bytes.
  llvm::SmallVector<std::pair<Value, int64_t>> initial;
  /// Values that stay alive to the end of the run (never freed).
  llvm::DenseSet<Value> kept;
  /// Results that take no arena storage (a gradient written straight to
  /// the caller's buffer, or never materialized).
  llvm::DenseSet<Value> unstored;

  /// The most bytes of counted values alive at any one op, with that op's
  /// scratch (CostOpInterface::getScratchBytes).
  int64_t peak(ArrayRef<Operation *> ops) const;
};
} // namespace

int64_t SequenceLiveness::peak(ArrayRef<Operation *> ops) const {
  // Views share their source's buffer: last uses are per buffer.
  llvm::DenseMap<Value, Value> bufferOf;
  auto buffer = [&](Value v) { return bufferOf.lookup(v) ? bufferOf[v] : v; };
  llvm::DenseMap<Value, size_t> lastUse;
  for (auto [i, op] : llvm::enumerate(ops)) {
    for (Value v : op->getOperands())
      lastUse[buffer(v)] = i;
    if (isa<ReshapeOp>(op))
      bufferOf[op->getResult(0)] = buffer(op->getOperand(0));
  }
  llvm::DenseMap<Value, int64_t> bytes;
  int64_t live = 0;
  for (auto [v, size] : initial)
    if (kept.contains(v) || lastUse.count(v)) {
      bytes[v] = size;
      live += size;
    }
  // The state before the first op is the caller's to bound.
  int64_t peak = 0;
  for (size_t i = 0; i < ops.size(); ++i) {
    Operation *op = ops[i];
    if (isa<ReshapeOp>(op))
      continue;
    auto dies = [&](Value b) {
      auto it = lastUse.find(b);
      return bytes.count(b) && !kept.contains(b) && it != lastUse.end() &&
             it->second == i;
    };
    llvm::SmallPtrSet<Value, 2> reused;
    for (Value r : op->getResults()) {
      if (unstored.contains(r))
        continue;
      int64_t size = getSizeInBytes(r.getType());
      Value over;
      if (isElementwise(op))
        for (Value v : op->getOperands())
          if (Value b = buffer(v);
              dies(b) && bytes[b] == size && !reused.contains(b)) {
            over = b;
            break;
          }
      bytes[r] = size;
      if (over)
        reused.insert(over);
      else
        live += size;
    }
    auto cost = dyn_cast<CostOpInterface>(op);
    peak = std::max(peak, live + (cost ? cost.getScratchBytes() : 0));
    // Operands read for the last time, then results nothing reads.
    llvm::SmallPtrSet<Value, 4> freed;
    for (Value v : op->getOperands())
      if (Value b = buffer(v); dies(b) && freed.insert(b).second)
        live -= reused.contains(b) ? 0 : bytes[b];
    for (Value r : op->getResults())
      if (bytes.count(r) && !kept.contains(r) && !lastUse.count(r))
        live -= bytes[r];
  }
  return peak;
}

FailureOr<StagePartition> mlir::nnc::partitionIntoStages(func::FuncOp fn,
                                                         bool fusedUpdates,
                                                         bool lossScaling,
                                                         bool keepCastCopies) {
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
  OpBuilder b(fn.getContext());
  for (auto [index, stage] : llvm::enumerate(p.stages)) {
    Block scratch;
    b.setInsertionPointToEnd(&scratch);
    llvm::SetVector<Operation *> roots;
    Value output = p.outputs[index];
    llvm::DenseSet<Value> stageParams;
    for (Operation *op : stage)
      for (Value v : op->getOperands())
        if (auto arg = dyn_cast<BlockArgument>(v);
            arg &&
            fn.getArgAttr(arg.getArgNumber(), NNDialect::getParamAttrName()))
          stageParams.insert(v);
    // delta^i's placeholder, and the gradients the backward hands on: those
    // of its input (summed and passed to the stage before) and, in a
    // training step, of its parameters (held until their updates, which
    // follow the stage's backward) unless an update is fused; a gradient
    // function writes parameter gradients to the caller's buffers.
    Value outputGrad;
    llvm::DenseSet<Value> heldGrads, unstoredGrads;
    int64_t paramGradBytes = 0, inputGradBytes = 0;
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
        if (!g) {
          g = b.create<arith::ConstantOp>(op->getLoc(),
                                          b.getZeroAttr(r.getType()));
          if (r == output)
            outputGrad = g;
        }
        resultGrads.push_back(g);
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
        if (!isa<BlockArgument>(operand)) {
          heldGrads.insert(g); // the input's
          inputGradBytes = getSizeInBytes(g.getType());
        } else if (!trainStep) {
          unstoredGrads.insert(g);
        } else if (fusedUpdates && forwardUses.lookup(operand) == 1 &&
                   isa<MatmulOp>(g.getDefiningOp()) &&
                   cast<RankedTensorType>(g.getType()).getRank() == 2) {
          unstoredGrads.insert(g);
        } else {
          heldGrads.insert(g);
          paramGradBytes += getSizeInBytes(g.getType());
        }
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
        // not a saved value. Unless the step keeps its cast copies: then
        // it is one of its stage's saved values like any other.
        if (!keepCastCopies && isArgumentCopy(v.getDefiningOp())) {
          recast.insert(v);
          continue;
        }
        needs.insert(v);
      }
    }
    // What the stage holds at its fullest, op by op as nnc-plan-memory
    // will lay it out: the chain's transients are measured against it.
    // abar^i: the stage's values its backward reads, and its output.
    SmallVector<std::pair<Value, int64_t>> saved;
    llvm::DenseSet<Value> savedSet;
    for (Operation *op : stage)
      for (Value v : op->getResults())
        if (v == output || needs.contains(v)) {
          saved.push_back({v, getSizeInBytes(v.getType())});
          savedSet.insert(v);
        }
    // A forward that keeps abar^i (F_all), and one that keeps only a^i
    // (F_ck, F_n): its other values die at their last reader.
    SequenceLiveness forward;
    forward.kept = savedSet;
    p.forwardAllPeakBytes.push_back(forward.peak(stage));
    forward.kept = {output};
    p.forwardPeakBytes.push_back(forward.peak(stage));
    // The backward: abar^i and delta^i die at their last readers, a
    // gradient between VJPs lives from the op creating it to its last
    // reader (conv and batch-norm VJPs hold the gradient they read beside
    // the one they create), and the gradients it hands on are held to its
    // end. A bf16 copy it makes again is counted for its whole length.
    SequenceLiveness backward;
    backward.initial = saved;
    if (outputGrad)
      backward.initial.push_back(
          {outputGrad, getSizeInBytes(outputGrad.getType())});
    backward.kept = std::move(heldGrads);
    backward.unstored = std::move(unstoredGrads);
    SmallVector<Operation *> vjps;
    for (Operation &op : scratch)
      if (live.contains(&op) && !isConstant(&op))
        vjps.push_back(&op);
    int64_t recastBytes = 0;
    for (Value v : recast)
      recastBytes += getSizeInBytes(v.getType());
    int64_t backwardPeak = backward.peak(vjps) + recastBytes;
    // With loss scaling, the updates after the VJPs (delta^{i-1} summed by
    // then) write new parameters and state beside the gradients, and both
    // stay until the all-finite check that picks them or the old ones.
    int64_t residue = 0;
    if (lossScaling && trainStep) {
      int64_t updateBytes = 0;
      for (Operation &op : body)
        if (auto update = dyn_cast<OptimizerOpInterface>(op);
            update && stageParams.contains(update.getUpdatedParam()))
          for (Value r : op.getResults())
            updateBytes += getSizeInBytes(r.getType());
      residue = paramGradBytes + updateBytes;
      backwardPeak = std::max(backwardPeak, inputGradBytes + residue);
    }
    p.backwardPeakBytes.push_back(backwardPeak);
    p.residueBytes.push_back(residue);
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
    // Nothing of the forward read (the VJPs that reach a kept gradient
    // read only delta^i and parameters): a flatten's or a global pooling's
    // backward, which needs no recomputation of the stage.
    stage.backwardReadsGradientOnly = p.needs[i].empty();
    // The chain's transients are what the stage's measured peaks hold
    // beyond what the planner already counts: during B(i), delta^i,
    // delta^{i-1} and, unless released, abar^i; during a forward, abar^i
    // (F_all) or a^i (F_ck, F_n). A backward that never holds all of
    // abar^i beside both gradients releases it.
    const int64_t gradients = stage.outputBytes + chain.activationBytes(i);
    const int64_t backward = p.backwardPeakBytes[i];
    stage.backwardReleasesSaved = backward < stage.savedBytes + gradients;
    stage.backwardTransientBytes = std::max<int64_t>(
        0, backward - gradients -
               (stage.backwardReleasesSaved ? 0 : stage.savedBytes));
    stage.forwardTransientBytes =
        std::max<int64_t>(0, p.forwardPeakBytes[i] - stage.outputBytes);
    if (int64_t all =
            std::max<int64_t>(0, p.forwardAllPeakBytes[i] - stage.savedBytes);
        all != stage.forwardTransientBytes)
      stage.forwardAllTransientBytes = all;
    stage.backwardResidueBytes = p.residueBytes[i];
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
