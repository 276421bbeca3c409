//===- Rematerialize.cpp - make a gradient function follow its plan -------===//
//
// Part of nnc, under the Apache License v2.0 with LLVM Exceptions.
// See LICENSE for license information.
//
// The body is rebuilt action by action. Memory in SSA form is liveness, so
// "keep" and "free" need no ops of their own: a value lives until its last
// use, and each backward action reads the most recent materialization of
// its stage's input, so an older copy dies where the plan drops it.
//
//===----------------------------------------------------------------------===//

#include "nnc/Dialect/NN/Transforms/Checkpointing.h"
#include "nnc/Dialect/NN/Transforms/Passes.h"

#include "mlir/IR/IRMapping.h"
#include "llvm/ADT/SetVector.h"

namespace mlir::nnc {
#define GEN_PASS_DEF_REMATERIALIZE
#include "nnc/Dialect/NN/Transforms/Passes.h.inc"
} // namespace mlir::nnc

using namespace mlir;
using namespace mlir::nnc;

namespace {

int64_t stageOf(Operation *op) {
  auto attr = op ? op->getAttrOfType<IntegerAttr>(NNDialect::getStageAttrName())
                 : nullptr;
  return attr ? attr.getInt() : 0;
}

LogicalResult rematerialize(func::FuncOp fn, bool tagBackward,
                            bool keepCastCopies) {
  auto plan =
      fn->getAttrOfType<CheckpointPlanAttr>(NNDialect::getCheckpointAttrName());
  if (!plan)
    return fn.emitError("'nn.checkpoint' must be an #nn.checkpoint_plan");
  ArrayRef<CheckpointAction> steps = plan.getSchedule();

  Block &old = fn.getBody().front();
  if (plan.getStages() > static_cast<int64_t>(old.getOperations().size()))
    return fn.emitError() << "the checkpoint plan has " << plan.getStages()
                          << " stages but the function has only "
                          << old.getOperations().size() << " ops";
  SmallVector<SmallVector<Operation *>> stages;
  SmallVector<Operation *> shared; // constants used by the forward
  Operation *seed = nullptr;
  for (Operation &op : old.without_terminator()) {
    if (op.hasAttr(NNDialect::getGradSeedAttrName())) {
      seed = &op;
      continue;
    }
    if (seed)
      continue;
    if (int64_t s = stageOf(&op)) {
      // The dialect verified the stage is a positive integer; the plan
      // bounds it (and the op count bounds the plan), so a huge one cannot
      // size anything.
      if (s > plan.getStages())
        return op.emitOpError()
               << "is in stage " << s << " but the checkpoint plan has only "
               << plan.getStages() << " stages";
      if (static_cast<int64_t>(stages.size()) < s)
        stages.resize(s);
      stages[s - 1].push_back(&op);
    } else {
      shared.push_back(&op);
    }
  }
  if (!seed || stages.empty())
    return fn.emitError("nnc-rematerialize needs a function planned by "
                        "nnc-plan-checkpoints");
  if (static_cast<int64_t>(stages.size()) != plan.getStages())
    return fn.emitError() << "the checkpoint plan has " << plan.getStages()
                          << " stages but the function's forward ops are in "
                          << stages.size();
  for (auto [i, stage] : llvm::enumerate(stages))
    if (stage.empty())
      return fn.emitError() << "stage " << i + 1
                            << " of the checkpoint plan has no forward op";
  // The unstaged forward ops are emitted once, before any stage: they may
  // read only arguments and each other (a forward op that lost its stage
  // would otherwise be cloned ahead of its operands; nnc-ir-fuzzer).
  for (Operation *op : shared)
    for (Value v : op->getOperands())
      if (int64_t s = stageOf(v.getDefiningOp()))
        return op->emitOpError()
               << "has no 'nn.stage' but reads a value of stage " << s
               << ": every forward op after a staged one needs a stage";
  Operation *oldReturn = old.getTerminator();
  Value loss = oldReturn->getOperand(0);

  // Which stage's backward completes each parameter's gradient: the lowest
  // stage reading it, since backward actions run from the last stage down.
  SmallVector<BlockArgument> params;
  llvm::DenseMap<Value, unsigned> lastStageOf;
  for (BlockArgument arg : old.getArguments()) {
    if (!fn.getArgAttr(arg.getArgNumber(), NNDialect::getParamAttrName()))
      continue;
    params.push_back(arg);
    unsigned s = 0;
    for (Operation *user : arg.getUsers())
      if (unsigned us = static_cast<unsigned>(stageOf(user)))
        s = s ? std::min(s, us) : us;
    lastStageOf[arg] = s;
  }

  // Each parameter's complete gradient in the old body: what its optimizer
  // op reads, or (a gradient function) what is returned for it. The ops
  // after the backward that depend on these (updates, norms) are the tail:
  // they are re-emitted once the gradients they read are complete.
  llvm::DenseMap<Value, Value> oldGradOf; // param -> old gradient
  for (Operation &op : old.without_terminator())
    if (auto update = dyn_cast<OptimizerOpInterface>(op)) {
      if (oldGradOf.count(update.getUpdatedParam()))
        return op.emitOpError("updates a parameter that another optimizer "
                              "op updates too");
      oldGradOf[update.getUpdatedParam()] = update.getParamGrad();
    }
  for (auto [i, p] : llvm::enumerate(params))
    if (!oldGradOf.count(p)) {
      if (i + 1 >= oldReturn->getNumOperands())
        return fn.emitError() << "parameter #" << i
                              << " has neither an optimizer update nor a "
                                 "returned gradient";
      oldGradOf[p] = oldReturn->getOperand(i + 1);
    }
  llvm::SetVector<Operation *> tail;
  {
    SmallVector<Value> worklist;
    for (BlockArgument p : params)
      worklist.push_back(oldGradOf[p]);
    while (!worklist.empty())
      for (Operation *user : worklist.pop_back_val().getUsers())
        if (user != oldReturn && tail.insert(user))
          llvm::append_range(worklist, user->getResults());
  }
  SmallVector<Operation *> tailInOrder(tail.begin(), tail.end());
  llvm::sort(tailInOrder,
             [](Operation *a, Operation *b) { return a->isBeforeInBlock(b); });

  // Owned until it replaces the old body: every error return below frees it.
  auto bodyOwner = std::make_unique<Block>();
  Block *body = bodyOwner.get();
  for (BlockArgument arg : old.getArguments())
    body->addArgument(arg.getType(), arg.getLoc());
  OpBuilder b(fn.getContext());
  b.setInsertionPointToEnd(body);
  IRMapping current; // latest materialization of every forward value
  for (auto [o, n] : llvm::zip(old.getArguments(), body->getArguments()))
    current.map(o, n);
  for (Operation *op : shared)
    b.clone(*op, current);
  Value newSeed = b.clone(*seed, current)->getResult(0);

  llvm::DenseMap<Value, Value> origOf; // new forward value -> original
  llvm::DenseSet<Operation *> computedOnce;
  SmallVector<IRMapping> saved(stages.size()); // per stage, from its F_all
  llvm::DenseMap<Value, Value> grads;          // original value -> gradient
  grads[loss] = newSeed;
  Value newLoss;
  Location loc = fn.getLoc();
  auto zerosLike = [&](Value v) -> Value {
    return b.create<arith::ConstantOp>(loc, b.getZeroAttr(v.getType()));
  };
  // The tail's values: old arguments, completed gradients, tail results.
  IRMapping tailMap;
  for (auto [o, n] : llvm::zip(old.getArguments(), body->getArguments()))
    tailMap.map(o, n);
  llvm::DenseSet<Operation *> emitted;
  // Clones every tail op whose operands are all available now, in the old
  // order; constants it reads (a fixed learning rate) come along.
  auto emitReadyTail = [&]() {
    for (Operation *op : tailInOrder) {
      if (emitted.contains(op))
        continue;
      bool ready = llvm::all_of(op->getOperands(), [&](Value v) {
        Operation *def = v.getDefiningOp();
        return tailMap.contains(v) ||
               (def && def->hasTrait<OpTrait::ConstantLike>());
      });
      if (!ready)
        continue;
      for (Value v : op->getOperands())
        if (!tailMap.contains(v))
          tailMap.map(v, b.clone(*v.getDefiningOp())->getResult(0));
      b.clone(*op, tailMap);
      emitted.insert(op);
    }
  };
  auto completeGradient = [&](BlockArgument p, Value g) {
    tailMap.map(oldGradOf[p], g);
    emitReadyTail();
  };
  auto isActive = [&](Value v) {
    return stageOf(v.getDefiningOp()) != 0 || lastStageOf.count(v);
  };

  for (const CheckpointAction &step : steps) {
    if (step.kind == CheckpointActionKind::Discard)
      continue;
    unsigned i = step.stage - 1;
    if (step.kind != CheckpointActionKind::Backward) {
      for (Operation *op : stages[i]) {
        for (Value v : op->getOperands())
          if (v.getParentBlock() == &old && !current.contains(v))
            return op->emitOpError()
                   << "is recomputed by the schedule before its input is "
                      "available";
        Operation *clone = b.clone(*op, current);
        origOf[clone->getResult(0)] = op->getResult(0);
        // Marked for reports and pictures (nnc-compile --memory-svg).
        if (!computedOnce.insert(op).second)
          clone->setAttr(NNDialect::getRecomputedAttrName(), b.getUnitAttr());
        if (step.kind == CheckpointActionKind::ForwardAll)
          saved[i].map(op->getResult(0), clone->getResult(0));
      }
      if (!newLoss && current.contains(loss))
        newLoss = current.lookup(loss);
      continue;
    }

    // Backward of stage i: each op's vector-Jacobian product, on the values
    // of the stage's last F_all.
    Operation *beforeBackward = body->empty() ? nullptr : &body->back();
    for (Operation *op : llvm::reverse(stages[i])) {
      Value result = op->getResult(0);
      Value g = grads.lookup(result);
      if (!g)
        continue;
      // Without an F_all i the plan says the backward reads nothing of the
      // forward (backward_reads_gradient_only: a flatten's, a global
      // pooling's): its VJP is built on the latest materialization, and
      // checked below to read none of the forward's values.
      Value kept = saved[i].lookupOrNull(result);
      const bool unsaved = !kept;
      if (unsaved)
        kept = current.lookupOrNull(result);
      if (!kept)
        return fn.emitError() << "checkpoint schedule runs B " << i + 1
                              << " without a preceding F_all " << i + 1;
      auto diff = dyn_cast<DifferentiableOpInterface>(kept.getDefiningOp());
      if (!diff)
        return op->emitOpError("is not differentiable");
      Operation *mark = body->empty() ? nullptr : &body->back();
      SmallVector<Value> operandGrads;
      if (failed(diff.buildGradient(b, {g}, operandGrads)))
        return failure();
      // The stage's input may have been recomputed since F_all: read the
      // latest copy so the older one can die where the plan frees it.
      for (Operation &nop : llvm::make_range(
               mark ? std::next(mark->getIterator()) : body->begin(),
               body->end()))
        for (OpOperand &operand : nop.getOpOperands()) {
          Value orig = origOf.lookup(operand.get());
          if (orig && stageOf(orig.getDefiningOp()) != i + 1)
            operand.set(current.lookup(orig));
        }
      if (unsaved) {
        // The VJP ops that the gradients handed on depend on must read no
        // forward value; the others (e.g. a gradient nobody takes) are
        // erased, so that they keep no recomputed value alive.
        llvm::SetVector<Operation *> emittedOps;
        for (Operation &nop : llvm::make_range(
                 mark ? std::next(mark->getIterator()) : body->begin(),
                 body->end()))
          emittedOps.insert(&nop);
        llvm::DenseSet<Operation *> needed;
        SmallVector<Operation *> worklist;
        for (auto [operand, og] : llvm::zip(op->getOperands(), operandGrads))
          if (og && isActive(operand) && og.getDefiningOp())
            worklist.push_back(og.getDefiningOp());
        while (!worklist.empty()) {
          Operation *nop = worklist.pop_back_val();
          if (!emittedOps.contains(nop) || !needed.insert(nop).second)
            continue;
          for (Value v : nop->getOperands()) {
            // A bf16 copy of an argument is made again where it is read
            // (nnc-recast-for-backward), not a saved value; unless the plan
            // keeps cast copies, when it is one like any other.
            if (origOf.count(v) &&
                (keepCastCopies || !isArgumentCopy(v.getDefiningOp())))
              return fn.emitError()
                     << "checkpoint schedule runs B " << i + 1
                     << " without a preceding F_all " << i + 1
                     << ", and its backward reads the stage's forward values";
            if (Operation *def = v.getDefiningOp())
              worklist.push_back(def);
          }
        }
        for (Operation *nop : llvm::reverse(emittedOps))
          if (!needed.contains(nop) && nop->use_empty())
            nop->erase();
      }
      for (auto [operand, og] : llvm::zip(op->getOperands(), operandGrads)) {
        if (!og || !isActive(operand))
          continue;
        auto [it, inserted] = grads.try_emplace(operand, og);
        if (!inserted)
          it->second = b.create<AddOp>(og.getLoc(), it->second, og);
      }
    }
    // Parameters whose gradient is now complete: update them (and take
    // their norms) right away, so a training step never holds all
    // gradients at once.
    for (BlockArgument p : params) {
      if (lastStageOf[p] != i + 1)
        continue;
      Value g = grads.lookup(p);
      completeGradient(p, g ? g : zerosLike(p));
    }
    if (tagBackward)
      for (Operation &op : llvm::make_range(
               beforeBackward ? std::next(beforeBackward->getIterator())
                              : body->begin(),
               body->end()))
        op.setAttr(NNDialect::getBackwardStageAttrName(),
                   b.getI64IntegerAttr(i + 1));
  }
  if (!newLoss)
    return fn.emitError("checkpoint schedule never computes the loss");
  for (BlockArgument p : params) // parameters no stage reads
    if (!lastStageOf[p])
      completeGradient(p, zerosLike(p));

  SmallVector<Value> returned{newLoss};
  for (Value v : oldReturn->getOperands().drop_front()) {
    // A gradient or what the tail made of it; else a forward value (the
    // network's output), in its latest materialization.
    Value r = tailMap.lookupOrNull(v);
    if (!r)
      r = current.lookupOrNull(v);
    if (!r)
      return fn.emitError("a result of the function is neither a forward "
                          "value, a parameter gradient nor computed from one "
                          "after the backward; nnc-rematerialize cannot "
                          "place it");
    returned.push_back(r);
  }
  for (auto [i, step] : llvm::enumerate(steps))
    if (step.kind == CheckpointActionKind::Backward && step.stage == 1 &&
        i + 1 != steps.size())
      return fn.emitError("checkpoint schedule continues after B 1");
  b.create<func::ReturnOp>(old.getTerminator()->getLoc(), returned);

  // Swap the bodies.
  for (Operation &op : llvm::make_early_inc_range(llvm::reverse(old)))
    op.dropAllUses(), op.erase();
  Region &region = fn.getBody();
  old.dropAllUses();
  region.getBlocks().clear();
  region.push_back(bodyOwner.release());
  eraseDeadOps(*body);
  return success();
}

struct RematerializePass
    : public mlir::nnc::impl::RematerializeBase<RematerializePass> {
  using RematerializeBase::RematerializeBase;

  void runOnOperation() override {
    for (auto fn : getOperation().getOps<func::FuncOp>())
      if (fn->hasAttr(NNDialect::getCheckpointAttrName()) &&
          failed(rematerialize(fn, tagBackward, keepCastCopies)))
        return signalPassFailure();
  }
};
} // namespace
