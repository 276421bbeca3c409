//===- MicroBatches.h - micro-batch size and checkpoint plan together -*- C++ -*-===//
//
// Part of nnc, under the Apache License v2.0 with LLVM Exceptions.
// See LICENSE for license information. See docs/MicroBatches.md.
//
//===----------------------------------------------------------------------===//
///
/// \file
/// A global batch too large for memory is split into k micro-batches of M
/// samples whose gradients the compiled step accumulates in its arena
/// (nnc-accumulate-gradients). Smaller micro-batches need less activation
/// memory but run their GEMMs less efficiently and pay the accumulation k
/// times; recomputation trades memory for compute within one micro-batch.
/// planMicroBatches() chooses M and the checkpoint schedule together: for
/// every candidate M it plans the micro-batch's chain within the budget less
/// what the accumulation holds, predicts the global step as k times the
/// planned micro-step, and picks the cheapest feasible pair.
///
//===----------------------------------------------------------------------===//

#ifndef NNC_TRAINING_MICROBATCHES_H
#define NNC_TRAINING_MICROBATCHES_H

#include "nnc/ExecutionEngine/CostCalibration.h"
#include "nnc/Frontend/ModelLoader.h"
#include "nnc/Pipeline/Options.h"
#include "nnc/Planner/Schedule.h"

#include "llvm/Support/Error.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/raw_ostream.h"

#include <optional>
#include <vector>

namespace mlir::nnc {

/// The batch `source` builds its model at: an MLP's `--batch`, an ONNX
/// model's `--batch` (its symbolic dimensions); none for a `.mlir` file or
/// an ONNX model without `--batch` (their batch is the file's).
std::optional<int64_t> getSourceBatch(const ModelSource &source);

/// Makes `source` build its model at `microBatch` samples and `options`
/// run the step over global / micro-batch of them, `global` being
/// getSourceBatch(source). Errors: no settable batch, a micro-batch that is
/// not positive or does not divide the global batch.
llvm::Error useMicroBatches(ModelSource &source, CompileOptions &options,
                            int64_t microBatch);

/// Checks that the model function of `module` takes `rows` samples (an
/// ONNX file with a fixed batch ignores `--batch`).
llvm::Error checkModelBatch(ModuleOp module, int64_t rows);

/// applyCostModel() for a step over `options.step.microBatches`
/// micro-batches: the rates are those of one micro-step (the model as
/// built, at the micro-batch size, without the accumulation), with the
/// updates unfused as the accumulating step has them; they are set in
/// `options`.
llvm::Expected<std::optional<FlopTimes>>
applyMicroStepCostModel(ModuleOp model, CostModel kind,
                        CompileOptions &options, unsigned threads);

/// One candidate micro-batch size.
struct MicroBatchCandidate {
  int64_t microBatch = 0, count = 0;
  /// Accumulators and input copy (0 when count is 1: no accumulation).
  int64_t reservedBytes = 0;
  /// The least budget this candidate fits (the chain's least peak plus
  /// reservedBytes).
  int64_t minBudgetBytes = 0;
  bool feasible = false;
  /// When feasible: the micro-batch's schedule and its replayed figures
  /// (peak including reservedBytes; costs of one micro-step).
  ::nnc::planner::Schedule schedule;
  int64_t peakBytes = 0;
  int64_t forwardSteps = 0, stages = 0;
  double microCost = 0, recomputeCost = 0;
  /// count × microCost: the predicted global step.
  double predictedCost = 0;
  /// count × the store-all micro-step's cost: the step without the budget.
  double storeAllCost = 0;
  /// Measured seconds per FLOP at this micro-batch (cost-model=measured).
  std::optional<FlopTimes> calibration;
};

struct MicroBatchPlan {
  int64_t globalBatch = 0;
  uint64_t budgetBytes = 0;
  /// Costs are predicted seconds (measured rates) rather than FLOPs.
  bool seconds = false;
  /// Largest micro-batch first.
  std::vector<MicroBatchCandidate> frontier;
  /// Index into frontier of the cheapest feasible candidate (ties: the
  /// larger micro-batch).
  size_t chosen = 0;
};

/// The divisors of `globalBatch` in decreasing order (every power of two
/// that divides it among them).
std::vector<int64_t> microBatchCandidates(int64_t globalBatch);

/// Plans every candidate of `globalBatch` for `source` under `budgetBytes`
/// (those of at least `minMicroBatch` samples) with `options`' strategy
/// (costs priced by `costModel`: FLOPs, or rates
/// measured at each micro-batch size with `threads` threads). Compile
/// errors go to the diagnostics (::nnc::DiagnosedError). If no candidate
/// fits, the error states the smallest feasible budget and its
/// micro-batch.
llvm::Expected<MicroBatchPlan>
planMicroBatches(const ModelSource &source, const CompileOptions &options,
                 CostModel costModel, unsigned threads, int64_t globalBatch,
                 uint64_t budgetBytes, int64_t minMicroBatch = 1);

/// The frontier as a table, then the chosen pair and its schedule.
void printMicroBatchPlan(const MicroBatchPlan &plan, llvm::raw_ostream &os);
llvm::json::Value toJSON(const MicroBatchPlan &plan);
/// Predicted global step time (or FLOPs) over the micro-batch size, the
/// feasible candidates and, dashed, every candidate's store-all cost.
void renderMicroBatchSVG(const MicroBatchPlan &plan, llvm::raw_ostream &os);

} // namespace mlir::nnc

#endif // NNC_TRAINING_MICROBATCHES_H
