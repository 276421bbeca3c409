//===- PlanCheckpoints.cpp - choose what to keep and what to recompute ----===//
//
// Part of nnc, under the Apache License v2.0 with LLVM Exceptions.
// See LICENSE for license information.
//
//===----------------------------------------------------------------------===//

#include "nnc/Dialect/NN/Transforms/Checkpointing.h"
#include "nnc/Dialect/NN/Transforms/Passes.h"
#include "nnc/Planner/Simulator.h"
#include "nnc/Planner/Strategies.h"

#include "llvm/Support/FormatVariadic.h"

#include <cmath>

namespace mlir::nnc {
#define GEN_PASS_DEF_PLANCHECKPOINTS
#include "nnc/Dialect/NN/Transforms/Passes.h.inc"
} // namespace mlir::nnc

using namespace mlir;
using namespace mlir::nnc;
namespace planner = ::nnc::planner;

namespace {
struct PlanCheckpointsPass
    : public mlir::nnc::impl::PlanCheckpointsBase<PlanCheckpointsPass> {
  using PlanCheckpointsBase::PlanCheckpointsBase;

  void runOnOperation() override {
    // Parsed (and checked) with the option: nnc/Support/ByteSize.h.
    const std::optional<uint64_t> budgetBytes = budget;
    // Written so NaN fails too; the stage costs they scale are bounded when
    // the chain is validated (docs/Limits.md).
    if (!(forwardFlopSeconds >= 0 && std::isfinite(forwardFlopSeconds)) ||
        !(backwardFlopSeconds >= 0 && std::isfinite(backwardFlopSeconds)) ||
        ((forwardFlopSeconds > 0) != (backwardFlopSeconds > 0) &&
         // Each stage's backward timed: the rate prices only the rest.
         !(backwardFlopSeconds == 0 && !stageColdBackwardSeconds.empty()))) {
      getOperation().emitError()
          << "nnc-plan-checkpoints: forward-flop-seconds ("
          << forwardFlopSeconds << ") and backward-flop-seconds ("
          << backwardFlopSeconds
          << ") must both be positive and finite (measured costs) or both 0 "
             "(FLOPs)";
      return signalPassFailure();
    }
    for (const std::vector<double> *list :
         {&stageForwardSeconds, &stageRecomputeSeconds})
      for (double s : *list)
        if (!(s > 0 && std::isfinite(s)) ||
            (backwardFlopSeconds == 0 && stageColdBackwardSeconds.empty())) {
          getOperation().emitError()
              << "nnc-plan-checkpoints: stage-forward-seconds and "
                 "stage-recompute-seconds must be positive and finite, with "
                 "backward-flop-seconds; got "
              << s << " (backward-flop-seconds " << backwardFlopSeconds << ")";
          return signalPassFailure();
        }
    // A stage's backward can take no measurable time; never less.
    for (const std::vector<double> *list :
         {&stageColdBackwardSeconds, &stageHotBackwardSeconds})
      for (double s : *list)
        if (!(s >= 0 && std::isfinite(s)) || stageForwardSeconds.empty()) {
          getOperation().emitError()
              << "nnc-plan-checkpoints: stage-cold-backward-seconds and "
                 "stage-hot-backward-seconds must be finite and >= 0, with "
                 "stage-forward-seconds; got "
              << s;
          return signalPassFailure();
        }
    bool any = false;
    for (auto fn : getOperation().getOps<func::FuncOp>()) {
      if (!fn->hasAttr(NNDialect::getGradOfAttrName()) ||
          fn->hasAttr(NNDialect::getCheckpointAttrName()))
        continue;
      any = true;
      if (failed(plan(fn, budgetBytes)))
        return signalPassFailure();
    }
    if (!any) {
      getOperation().emitError("nnc-plan-checkpoints: no gradient function "
                               "to plan (run nnc-autodiff first)");
      signalPassFailure();
    }
  }

  /// What the budget holds besides the chain.
  std::string reservedWhat() const {
    std::string what;
    if (microBatches > 1)
      what = "the " + std::to_string(unsigned(microBatches)) +
             " micro-batches' gradient accumulators and input copy";
    if (allReduce)
      what += std::string(what.empty() ? "" : " and ") +
              "the all-reduce's gradient buckets";
    return what;
  }

  /// Every parameter's gradient, held in the buckets to the end of the
  /// backward, plus the largest bucket packed beside its gradients (at
  /// most the bucket size and one gradient over it, at most all of them).
  int64_t allReduceReservedBytes(func::FuncOp fn) const {
    int64_t total = 0, largest = 0;
    for (unsigned i = 0, e = fn.getNumArguments(); i < e; ++i)
      if (fn.getArgAttr(i, NNDialect::getParamAttrName())) {
        int64_t bytes = getSizeInBytes(fn.getArgument(i).getType());
        total += bytes;
        largest = std::max(largest, bytes);
      }
    return total + std::min<int64_t>(total, int64_t(bucketBytes) + largest);
  }

  LogicalResult plan(func::FuncOp fn, std::optional<uint64_t> budgetBytes) {
    FailureOr<StagePartition> partition =
        partitionIntoStages(fn, fusedUpdates, lossScaling, keepCastCopies);
    if (failed(partition))
      return failure();
    const planner::Chain flopChain = buildChain(fn, *partition);
    if (llvm::Error err = flopChain.validate())
      return fn.emitError()
             << "checkpoint planning: " << llvm::toString(std::move(err));
    // Measured costs: each stage's FLOPs at the measured time per FLOP of
    // its direction. Forward and backward code run at different speeds per
    // FLOP, so FLOPs alone mispredict what recomputation costs.
    // Better still, each stage's own measured forward (stage-forward-seconds).
    const bool measured = forwardFlopSeconds > 0 || !stageForwardSeconds.empty();
    planner::Chain chain = flopChain;
    if (!stageForwardSeconds.empty()) {
      if (llvm::Error err = planner::setMeasuredCosts(
              chain, stageForwardSeconds, stageRecomputeSeconds,
              backwardFlopSeconds, stageColdBackwardSeconds,
              stageHotBackwardSeconds))
        return fn.emitError()
               << "checkpoint planning: " << llvm::toString(std::move(err));
    } else if (measured) {
      planner::scaleCosts(chain, forwardFlopSeconds, backwardFlopSeconds);
    }
    if (printChain)
      llvm::errs() << llvm::formatv("{0:2}", planner::toJSON(chain)) << "\n";
    StringRef strategyName = ::nnc::checkpointStrategies.name(strategy);
    // Micro-batches (nnc-accumulate-gradients): the accumulators and the
    // micro-batch's input copy share the budget with the chain, and the
    // plan's figures are the arena's, so they include them.
    // The all-reduce (nnc-insert-allreduce, after this pass) holds every
    // gradient in its bucket until the updates after the backward, and
    // packs a bucket while its gradients still exist.
    const int64_t reserved =
        (microBatches > 1 ? microBatchReservedBytes(fn) : 0) +
        (allReduce ? allReduceReservedBytes(fn) : 0);
    std::optional<uint64_t> chainBudget = budgetBytes;
    if (budgetBytes && reserved) {
      if (*budgetBytes <= uint64_t(reserved))
        return fn.emitError()
               << "checkpoint planning of '" << fn.getSymName()
               << "' failed: budget " << *budgetBytes
               << " bytes leaves nothing for the activations: "
               << reservedWhat() << " take " << reserved << " bytes";
      chainBudget = *budgetBytes - uint64_t(reserved);
    }
    auto schedule = planner::planSchedule(chain, strategy, chainBudget, slots);
    if (!schedule)
      return fn.emitError()
             << "checkpoint planning of '" << fn.getSymName()
             << "' failed: " << llvm::toString(schedule.takeError())
             << (reserved ? llvm::formatv(" (the activations' share of the "
                                          "budget, after {0} bytes of {1})",
                                          reserved, reservedWhat())
                                .str()
                          : std::string());
    planner::SimulationResult sim = planner::simulate(chain, *schedule);
    if (!sim.valid)
      return fn.emitError() << "internal error: the '" << strategyName
                            << "' schedule does not simulate: " << sim.error;
    planner::SimulationResult base =
        planner::simulate(chain, planner::storeAll(chain));
    planner::SimulationResult flops = planner::simulate(flopChain, *schedule);
    planner::SimulationResult baseFlops =
        planner::simulate(flopChain, planner::storeAll(flopChain));

    Builder b(fn.getContext());
    for (auto [i, stage] : llvm::enumerate(partition->stages))
      for (Operation *op : stage)
        op->setAttr(NNDialect::getStageAttrName(), b.getI64IntegerAttr(i + 1));
    std::optional<int64_t> budgetAttr;
    if (budgetBytes)
      budgetAttr = static_cast<int64_t>(*budgetBytes);
    SmallVector<CheckpointAction> actions = toCheckpointActions(*schedule);
    fn->setAttr(NNDialect::getCheckpointAttrName(),
                CheckpointPlanAttr::get(
                    fn.getContext(), strategy, budgetAttr, chain.length(),
                    actions, measured ? CostUnit::Second : CostUnit::Flop,
                    sim.peakBytes + reserved, sim.computeCost,
                    sim.recomputeCost, sim.forwardSteps,
                    base.peakBytes + reserved, base.computeCost,
                    planner::minimumFeasibleBudget(chain) + reserved,
                    flops.computeCost,
                    flops.recomputeCost, baseFlops.computeCost,
                    fusedUpdates));
    return success();
  }
};
} // namespace
