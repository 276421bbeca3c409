//===- PlanCheckpoints.cpp - choose what to keep and what to recompute ----===//
//
// Part of nnc.
//
//===----------------------------------------------------------------------===//

#include "nnc/Dialect/NN/Transforms/Checkpointing.h"
#include "nnc/Dialect/NN/Transforms/Passes.h"
#include "nnc/Planner/Simulator.h"
#include "nnc/Planner/Strategies.h"

#include "llvm/Support/FormatVariadic.h"

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
    std::optional<uint64_t> budgetBytes;
    if (!budget.empty()) {
      auto parsed = planner::parseByteSize(budget);
      if (!parsed) {
        getOperation().emitError()
            << "nnc-plan-checkpoints: bad budget '" << budget
            << "': " << llvm::toString(parsed.takeError());
        return signalPassFailure();
      }
      budgetBytes = *parsed;
    }
    if (forwardFlopSeconds < 0 || backwardFlopSeconds < 0 ||
        (forwardFlopSeconds > 0) != (backwardFlopSeconds > 0)) {
      getOperation().emitError()
          << "nnc-plan-checkpoints: forward-flop-seconds ("
          << forwardFlopSeconds << ") and backward-flop-seconds ("
          << backwardFlopSeconds
          << ") must both be positive (measured costs) or both 0 (FLOPs)";
      return signalPassFailure();
    }
    bool any = false;
    for (auto fn : getOperation().getOps<func::FuncOp>()) {
      if (!fn->hasAttr(kGradOfAttrName) || fn->hasAttr(kCheckpointAttrName))
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

  LogicalResult plan(func::FuncOp fn, std::optional<uint64_t> budgetBytes) {
    FailureOr<StagePartition> partition = partitionIntoStages(fn);
    if (failed(partition))
      return failure();
    const planner::Chain flopChain = buildChain(fn, *partition);
    if (llvm::Error err = flopChain.validate())
      return fn.emitError()
             << "checkpoint planning: " << llvm::toString(std::move(err));
    // Measured costs: each stage's FLOPs at the measured time per FLOP of
    // its direction. Forward and backward code run at different speeds per
    // FLOP, so FLOPs alone mispredict what recomputation costs.
    const bool measured = forwardFlopSeconds > 0;
    planner::Chain chain = flopChain;
    if (measured)
      planner::scaleCosts(chain, forwardFlopSeconds, backwardFlopSeconds);
    if (printChain)
      llvm::errs() << llvm::formatv("{0:2}", planner::toJSON(chain)) << "\n";
    auto schedule = planner::planSchedule(chain, strategy, budgetBytes, slots);
    if (!schedule)
      return fn.emitError()
             << "checkpoint planning of '" << fn.getSymName()
             << "' failed: " << llvm::toString(schedule.takeError());
    planner::SimulationResult sim = planner::simulate(chain, *schedule);
    if (!sim.valid)
      return fn.emitError() << "internal error: the '" << strategy
                            << "' schedule does not simulate: " << sim.error;
    planner::SimulationResult base =
        planner::simulate(chain, planner::storeAll(chain));
    planner::SimulationResult flops = planner::simulate(flopChain, *schedule);
    planner::SimulationResult baseFlops =
        planner::simulate(flopChain, planner::storeAll(flopChain));

    Builder b(fn.getContext());
    for (auto [i, stage] : llvm::enumerate(partition->stages))
      for (Operation *op : stage)
        op->setAttr(kStageAttrName, b.getI64IntegerAttr(i + 1));
    SmallVector<Attribute> actions;
    for (const planner::Action &a : *schedule) {
      std::string text;
      llvm::raw_string_ostream os(text);
      planner::print(a, os);
      actions.push_back(b.getStringAttr(text));
    }
    SmallVector<NamedAttribute> attrs{
        b.getNamedAttr("strategy", b.getStringAttr(strategy)),
        b.getNamedAttr("stages", b.getI64IntegerAttr(chain.length())),
        b.getNamedAttr("schedule", b.getArrayAttr(actions)),
        b.getNamedAttr("peak_bytes", b.getI64IntegerAttr(sim.peakBytes)),
        b.getNamedAttr("compute_cost", b.getF64FloatAttr(sim.computeCost)),
        b.getNamedAttr("recompute_cost", b.getF64FloatAttr(sim.recomputeCost)),
        b.getNamedAttr("forward_steps", b.getI64IntegerAttr(sim.forwardSteps)),
        b.getNamedAttr("store_all_peak_bytes",
                       b.getI64IntegerAttr(base.peakBytes)),
        b.getNamedAttr("store_all_cost", b.getF64FloatAttr(base.computeCost)),
        b.getNamedAttr("cost_unit",
                       b.getStringAttr(measured ? "second" : "flop")),
        b.getNamedAttr("compute_flops", b.getF64FloatAttr(flops.computeCost)),
        b.getNamedAttr("recompute_flops",
                       b.getF64FloatAttr(flops.recomputeCost)),
        b.getNamedAttr("store_all_flops",
                       b.getF64FloatAttr(baseFlops.computeCost)),
        b.getNamedAttr(
            "min_budget_bytes",
            b.getI64IntegerAttr(planner::minimumFeasibleBudget(chain)))};
    if (budgetBytes)
      attrs.push_back(b.getNamedAttr(
          "budget_bytes",
          b.getI64IntegerAttr(static_cast<int64_t>(*budgetBytes))));
    fn->setAttr(kCheckpointAttrName, b.getDictionaryAttr(attrs));
    return success();
  }
};
} // namespace
