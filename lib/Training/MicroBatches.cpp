//===- MicroBatches.cpp - micro-batch size and checkpoint plan together ---===//
//
// Part of nnc, under the Apache License v2.0 with LLVM Exceptions.
// See LICENSE for license information. See docs/MicroBatches.md.
//
//===----------------------------------------------------------------------===//

#include "nnc/Training/MicroBatches.h"

#include "nnc/Dialect/NN/IR/NNOps.h"
#include "nnc/Dialect/NN/Transforms/Passes.h"
#include "nnc/Pipeline/Compiler.h"
#include "nnc/Planner/Simulator.h"
#include "nnc/Planner/Strategies.h"
#include "nnc/Plot/SVGPlot.h"
#include "nnc/Support/Diagnosed.h"
#include "nnc/Support/Limits.h"

#include "mlir/IR/MLIRContext.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/SourceMgr.h"

#include <cmath>
#include <limits>

using namespace mlir;
using namespace mlir::nnc;
namespace planner = ::nnc::planner;

std::optional<int64_t> mlir::nnc::getSourceBatch(const ModelSource &source) {
  if (source.isMLP())
    return source.mlp.batch;
  if (source.isONNX())
    return source.batch;
  return std::nullopt;
}

llvm::Error mlir::nnc::useMicroBatches(ModelSource &source,
                                       CompileOptions &options,
                                       int64_t microBatch) {
  std::optional<int64_t> global = getSourceBatch(source);
  if (!global)
    return llvm::createStringError(
        source.isONNX()
            ? "micro-batches of an ONNX model need --batch (the global "
              "batch, which sizes its symbolic dimensions)"
            : "micro-batches need a model whose batch --batch sets (an MLP "
              "or an ONNX model); a .mlir model's batch is the file's");
  if (microBatch <= 0)
    return llvm::createStringError("the micro-batch must be positive, got " +
                                   std::to_string(microBatch));
  if (*global % microBatch != 0)
    return llvm::createStringError(
        llvm::formatv("the global batch {0} (--batch) is not a multiple of "
                      "the micro-batch {1}: {0} = {2} x {1} + {3}",
                      *global, microBatch, *global / microBatch,
                      *global % microBatch)
            .str());
  if (*global / microBatch > ::nnc::limits::kMaxMicroBatches)
    return llvm::createStringError(
        llvm::formatv("{0} micro-batches of {1} is over nnc's limit of {2} "
                      "per step",
                      *global / microBatch, microBatch,
                      ::nnc::limits::kMaxMicroBatches)
            .str());
  if (source.isMLP())
    source.mlp.batch = microBatch;
  else
    source.batch = microBatch;
  options.step.microBatches = static_cast<unsigned>(*global / microBatch);
  return llvm::Error::success();
}

/// The model function: the one with parameters.
static func::FuncOp findModelFunction(ModuleOp module) {
  for (auto fn : module.getOps<func::FuncOp>())
    for (unsigned i = 0, e = fn.getNumArguments(); i < e; ++i)
      if (fn.getArgAttr(i, NNDialect::getParamAttrName()))
        return fn;
  return {};
}

llvm::Error mlir::nnc::checkModelBatch(ModuleOp module, int64_t rows) {
  func::FuncOp fn = findModelFunction(module);
  if (!fn || fn.getNumArguments() == 0)
    return llvm::createStringError("the module has no model function");
  auto x = dyn_cast<RankedTensorType>(fn.getArgument(0).getType());
  if (!x || x.getRank() == 0 || x.getDimSize(0) != rows)
    return llvm::createStringError(
        llvm::formatv("the model '{0}' takes {1} samples, not the "
                      "micro-batch of {2}: its batch is fixed in the file, "
                      "so --batch cannot set it",
                      fn.getSymName(),
                      x && x.getRank() ? x.getDimSize(0) : int64_t(0), rows)
            .str());
  return llvm::Error::success();
}

std::vector<int64_t> mlir::nnc::microBatchCandidates(int64_t globalBatch) {
  std::vector<int64_t> out;
  for (int64_t m = globalBatch; m >= 1; --m)
    if (globalBatch % m == 0)
      out.push_back(m);
  return out;
}

llvm::Expected<std::optional<FlopTimes>>
mlir::nnc::applyMicroStepCostModel(ModuleOp model, CostModel kind,
                                   CompileOptions &options, unsigned threads) {
  // Timing the whole accumulating step would divide k micro-steps' time
  // by one micro-step's FLOPs.
  CompileOptions micro = options;
  micro.step.microBatches = 1;
  micro.step.fuseUpdates = options.step.fusesUpdates();
  auto calibration = applyCostModel(model, kind, micro, threads);
  if (!calibration)
    return calibration.takeError();
  options.checkpoint.forwardFlopSeconds = micro.checkpoint.forwardFlopSeconds;
  options.checkpoint.backwardFlopSeconds =
      micro.checkpoint.backwardFlopSeconds;
  options.checkpoint.stageForwardSeconds =
      micro.checkpoint.stageForwardSeconds;
  options.checkpoint.stageRecomputeSeconds =
      micro.checkpoint.stageRecomputeSeconds;
  options.checkpoint.stageColdBackwardSeconds =
      micro.checkpoint.stageColdBackwardSeconds;
  options.checkpoint.stageHotBackwardSeconds =
      micro.checkpoint.stageHotBackwardSeconds;
  return calibration;
}

/// One candidate: the model at `microBatch`, its chain priced as asked,
/// planned within the budget less the accumulation's bytes.
static llvm::Expected<MicroBatchCandidate>
planCandidate(const ModelSource &base, const CompileOptions &baseOptions,
              CostModel costModel, unsigned threads, int64_t microBatch,
              uint64_t budgetBytes) {
  ModelSource source = base;
  CompileOptions options = baseOptions;
  if (llvm::Error e = useMicroBatches(source, options, microBatch))
    return std::move(e);
  MicroBatchCandidate c;
  c.microBatch = microBatch;
  c.count = options.step.microBatches;

  DialectRegistry registry;
  registerNNCDialects(registry);
  MLIRContext ctx(registry);
  ctx.printOpOnDiagnostic(false);
  llvm::SourceMgr sourceMgr;
  SourceMgrDiagnosticHandler diag(sourceMgr, &ctx);
  auto module = loadModel(ctx, sourceMgr, source);
  if (!module)
    return module.takeError();
  if (llvm::Error e = checkModelBatch(**module, microBatch))
    return std::move(e);
  if (c.count > 1)
    c.reservedBytes = microBatchReservedBytes(findModelFunction(**module));
  auto calibration =
      applyMicroStepCostModel(**module, costModel, options, threads);
  if (!calibration)
    return calibration.takeError();
  c.calibration = *calibration;
  auto chain = buildChainForModel(**module, options);
  if (failed(chain))
    return ::nnc::makeDiagnosedError();
  const CheckpointOptions &cp = options.checkpoint;
  if (llvm::Error e = cp.priceChain(*chain))
    return std::move(e);
  if (llvm::Error e = chain->validate())
    return std::move(e);
  c.stages = chain->length();
  c.storeAllCost =
      double(c.count) *
      planner::simulate(*chain, planner::storeAll(*chain)).computeCost;
  c.minBudgetBytes = planner::minimumFeasibleBudget(*chain) + c.reservedBytes;
  if (budgetBytes < uint64_t(c.minBudgetBytes))
    return c;
  auto schedule = planner::planSchedule(
      *chain, cp.strategy, budgetBytes - uint64_t(c.reservedBytes), cp.slots);
  if (!schedule) {
    // A fixed strategy that does not fit is an infeasible candidate, not a
    // failure of the search.
    llvm::consumeError(schedule.takeError());
    return c;
  }
  planner::SimulationResult sim = planner::simulate(*chain, *schedule);
  c.feasible = true;
  c.schedule = std::move(*schedule);
  c.peakBytes = sim.peakBytes + c.reservedBytes;
  c.forwardSteps = sim.forwardSteps;
  c.microCost = sim.computeCost;
  c.recomputeCost = sim.recomputeCost;
  c.predictedCost = double(c.count) * sim.computeCost;
  return c;
}

llvm::Expected<MicroBatchPlan>
mlir::nnc::planMicroBatches(const ModelSource &source,
                            const CompileOptions &options, CostModel costModel,
                            unsigned threads, int64_t globalBatch,
                            uint64_t budgetBytes, int64_t minMicroBatch) {
  if (globalBatch <= 0)
    return llvm::createStringError("the global batch must be positive");
  if (!source.isMLP() && !source.isONNX())
    return llvm::createStringError(
        "planning micro-batches needs a model whose batch can be set (an MLP, "
        "or an ONNX model with a symbolic batch), not a chain or a .mlir "
        "file");
  MicroBatchPlan plan;
  plan.globalBatch = globalBatch;
  plan.budgetBytes = budgetBytes;
  plan.seconds = costModel == CostModel::Measured ||
                 options.checkpoint.forwardFlopSeconds > 0;
  ModelSource withGlobal = source;
  if (withGlobal.isMLP())
    withGlobal.mlp.batch = globalBatch;
  else
    withGlobal.batch = globalBatch;
  if (minMicroBatch < 1 || minMicroBatch > globalBatch)
    return llvm::createStringError(llvm::formatv(
        "the least micro-batch ({0}) must be between 1 and the global "
        "batch ({1})",
        minMicroBatch, globalBatch));
  for (int64_t m : microBatchCandidates(globalBatch)) {
    // More micro-batches than a step may hold are no candidates.
    if (m < minMicroBatch ||
        globalBatch / m > int64_t(::nnc::limits::kMaxMicroBatches))
      break;
    auto c = planCandidate(withGlobal, options, costModel, threads, m,
                           budgetBytes);
    if (!c)
      return c.takeError();
    plan.frontier.push_back(std::move(*c));
  }
  std::optional<size_t> best;
  for (auto [i, c] : llvm::enumerate(plan.frontier))
    if (c.feasible &&
        (!best || c.predictedCost < plan.frontier[*best].predictedCost))
      best = i; // strictly cheaper: a tie keeps the larger micro-batch
  if (!best) {
    const MicroBatchCandidate *least = &plan.frontier.front();
    for (const MicroBatchCandidate &c : plan.frontier)
      if (c.minBudgetBytes < least->minBudgetBytes)
        least = &c;
    return llvm::createStringError(llvm::formatv(
        "no micro-batch of the global batch {0} fits the budget of {1} "
        "({2} bytes); the smallest feasible budget is {3} ({4} bytes), with "
        "micro-batches of {5} (x{6})",
        globalBatch, planner::formatByteSize(budgetBytes), budgetBytes,
        planner::formatByteSize(least->minBudgetBytes), least->minBudgetBytes,
        least->microBatch, least->count));
  }
  plan.chosen = *best;
  return plan;
}

/// Seconds with 4 significant digits, FLOPs as an integer count.
static std::string formatCost(double cost, bool seconds) {
  if (seconds)
    return llvm::formatv("{0:F4} s", cost).str();
  return llvm::formatv("{0:N} FLOP", int64_t(std::llround(cost))).str();
}

void mlir::nnc::printMicroBatchPlan(const MicroBatchPlan &plan,
                                    llvm::raw_ostream &os) {
  os << llvm::formatv("global batch {0}, budget {1} ({2} bytes); predicted "
                      "step = k x the planned micro-step ({3})\n",
                      plan.globalBatch,
                      planner::formatByteSize(plan.budgetBytes),
                      plan.budgetBytes,
                      plan.seconds ? "measured seconds per FLOP at each "
                                     "micro-batch"
                                   : "FLOPs");
  os << llvm::formatv("{0,6} {1,5} {2,14} {3,14} {4,14} {5,9} {6,10} "
                      "{7,20}  {8}\n",
                      "micro", "k", "accumulation", "min budget", "peak",
                      "forwards", "recompute", "predicted step", "feasible");
  for (auto [i, c] : llvm::enumerate(plan.frontier)) {
    std::string peak = c.feasible ? std::to_string(c.peakBytes) : "-";
    std::string forwards =
        c.feasible ? llvm::formatv("{0}/{1}", c.forwardSteps, c.stages).str()
                   : "-";
    std::string recompute =
        c.feasible && c.microCost > c.recomputeCost
            ? llvm::formatv("+{0:F1}%", 100 * c.recomputeCost /
                                            (c.microCost - c.recomputeCost))
                  .str()
            : "-";
    std::string predicted =
        c.feasible ? formatCost(c.predictedCost, plan.seconds) : "-";
    os << llvm::formatv("{0,6} {1,5} {2,14} {3,14} {4,14} {5,9} {6,10} "
                        "{7,20}  {8}{9}\n",
                        c.microBatch, c.count, c.reservedBytes,
                        c.minBudgetBytes, peak, forwards, recompute, predicted,
                        c.feasible ? "yes" : "no",
                        i == plan.chosen ? "  <- chosen" : "");
  }
  const MicroBatchCandidate &c = plan.frontier[plan.chosen];
  os << llvm::formatv("chosen: micro-batch {0} x {1}, predicted step {2}, "
                      "peak {3} bytes\n",
                      c.microBatch, c.count,
                      formatCost(c.predictedCost, plan.seconds), c.peakBytes);
  os << "  schedule: " << planner::toString(c.schedule) << "\n";
}

llvm::json::Value mlir::nnc::toJSON(const MicroBatchPlan &plan) {
  llvm::json::Array frontier;
  for (const MicroBatchCandidate &c : plan.frontier) {
    llvm::json::Object o{{"micro_batch", c.microBatch},
                         {"micro_batches", c.count},
                         {"accumulation_bytes", c.reservedBytes},
                         {"min_budget_bytes", c.minBudgetBytes},
                         {"stages", c.stages},
                         {"store_all_cost", c.storeAllCost},
                         {"feasible", c.feasible}};
    if (c.feasible) {
      o["peak_bytes"] = c.peakBytes;
      o["forward_steps"] = c.forwardSteps;
      o["micro_step_cost"] = c.microCost;
      o["recompute_cost"] = c.recomputeCost;
      o["predicted_cost"] = c.predictedCost;
      o["schedule"] = planner::toString(c.schedule);
    }
    if (c.calibration)
      o["calibration"] = toJSON(*c.calibration);
    frontier.push_back(std::move(o));
  }
  return llvm::json::Object{
      {"global_batch", plan.globalBatch},
      {"budget_bytes", int64_t(plan.budgetBytes)},
      {"cost_unit", plan.seconds ? "second" : "flop"},
      {"chosen_micro_batch", plan.frontier[plan.chosen].microBatch},
      {"frontier", std::move(frontier)}};
}

void mlir::nnc::renderMicroBatchSVG(const MicroBatchPlan &plan,
                                    llvm::raw_ostream &os) {
  namespace plot = ::nnc::plot;
  plot::Series feasible{"within the budget", {}, {}};
  // Without the budget: what recomputation adds is the gap between the two.
  plot::Series unbounded{"store-all (no budget)", {}, {}, /*dashed=*/true};
  for (const MicroBatchCandidate &c : plan.frontier) {
    unbounded.x.push_back(double(c.microBatch));
    unbounded.y.push_back(c.storeAllCost);
    if (!c.feasible)
      continue;
    feasible.x.push_back(double(c.microBatch));
    feasible.y.push_back(c.predictedCost);
  }
  const MicroBatchCandidate &best = plan.frontier[plan.chosen];
  plot::LinePlot p;
  p.title = llvm::formatv("global batch {0} within {1}: predicted step per "
                          "micro-batch size (chosen {2} x {3})",
                          plan.globalBatch,
                          planner::formatByteSize(plan.budgetBytes),
                          best.microBatch, best.count)
                .str();
  p.xLabel = "micro-batch (samples)";
  p.yLabel = plan.seconds ? "predicted global step (s)"
                          : "predicted global step (FLOPs)";
  p.logX = true;
  p.series = {feasible, unbounded};
  plot::writeLinePlot(os, p);
}
