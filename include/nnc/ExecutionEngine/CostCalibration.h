//===- CostCalibration.h - measured seconds per FLOP ------------*- C++ -*-===//
//
// Part of nnc, under the Apache License v2.0 with LLVM Exceptions.
// See LICENSE for license information.
//
//===----------------------------------------------------------------------===//
///
/// \file
/// The checkpoint planner prices stages in FLOPs by default. Compiled code
/// does not run at one speed per FLOP: a convolution, a pooling, a loss
/// and a matmul each have their own, and the forward's x·Wᵀ runs as
/// register dot products where the backward's contractions stream their
/// output. So FLOPs mispredict what a recomputation costs in time.
/// measureFlopTimes() compiles the model store-all and recompute-all with
/// each stage's forward, recomputation and backward marked
/// (nnc-profile-stages), runs both on this machine and returns each
/// stage's forward, recomputation and backward (cold and hot) times, which
/// nnc-plan-checkpoints' `stage-forward-seconds`,
/// `stage-recompute-seconds`, `stage-cold-backward-seconds` and
/// `stage-hot-backward-seconds` take; plans then optimise, and reports
/// quote, a predicted step time.
///
//===----------------------------------------------------------------------===//

#ifndef NNC_EXECUTIONENGINE_COSTCALIBRATION_H
#define NNC_EXECUTIONENGINE_COSTCALIBRATION_H

#include "nnc/Pipeline/Pipelines.h"

#include "mlir/IR/BuiltinOps.h"
#include "llvm/Support/Error.h"
#include "llvm/Support/JSON.h"

#include <vector>

namespace mlir::nnc {

struct FlopTimes {
  /// The forward's mean rate (reported; the plan reads the stage times)
  /// and the backward's: of the backward's work outside any stage's
  /// backward action (0 if there is none) when the stages' backwards were
  /// timed, else of the whole backward.
  double forwardFlopSeconds = 0, backwardFlopSeconds = 0;
  /// Medians over the timed calls of the step: its forward (the stages'
  /// sum), its backward (store-all's: the stages' cold backwards and the
  /// rest) and the whole step.
  double forwardSeconds = 0, backwardSeconds = 0, stepSeconds = 0;
  /// The recompute-all step's median: what the calibration predicts for
  /// recompute-all should match it.
  double recomputeStepSeconds = 0;
  /// Medians of each stage's first forward (store-all) and of a run of its
  /// recomputation (recompute-all), in stage order.
  std::vector<double> stageForwardSeconds, stageRecomputeSeconds;
  /// Medians of each stage's backward action (its updates included) in the
  /// store-all step (cold: on values stored long before, but for the last
  /// stage's) and in the recompute-all step (hot: right after the stage's
  /// recomputation), in stage order.
  std::vector<double> stageColdBackwardSeconds, stageHotBackwardSeconds;
  /// The planner chain's totals the rates divide by.
  double forwardFlops = 0, backwardFlops = 0;
  /// Recorded calls of the store-all step.
  unsigned runs = 0;
};

/// How long one block of the calibration calls a step back to back (short
/// beside the bursts of noise, seconds long, that alternating the two steps
/// spreads over both), and the most calls a block records (a step of
/// microseconds).
constexpr double kCalibrationBlockSeconds = 0.1;
constexpr unsigned kCalibrationMaxBlockCalls = 100;

/// How many recorded calls a block of the calibration makes of a step
/// whose last call took `callSeconds`: as many as fit in
/// kCalibrationBlockSeconds, at least 1 and at most
/// kCalibrationMaxBlockCalls (also for a time that is not positive). The
/// block's first call, before these, is not recorded.
unsigned calibrationBlockCalls(double callSeconds);

/// Compiles `model` (a module with one model function; not modified) with
/// `options`' step but store-all and its stages profiled, and again
/// recompute-all, JIT-compiles both and calls their steps on seeded random
/// inputs in alternating blocks (a burst of noise then falls on both
/// alike), each block calling one step back to back as training does: its
/// first call unrecorded (it follows the other step), then
/// calibrationBlockCalls() recorded ones; at least `runs` recorded calls
/// each and more while they take under 2 s in all (at most 1000 each).
/// The caller-owned buffers are malloc'd, as numpy's and nnc-train's are.
/// Each stage's forward, recomputation and backward (cold and hot) times,
/// the rest's and the step's are the medians over the recorded calls: the
/// statistic a user's step time is (benchmarks time steps so too). The
/// rest's time over the chain's backward FLOPs is the backward rate. Fails
/// if compilation fails (diagnostics go to the context's handler) or the
/// profile is not the one the marks describe. `threads` (0: the runtime's
/// default) is how many threads the step runs with while timing: the count
/// the compiled code will run with, or the times describe another machine.
llvm::Expected<FlopTimes> measureFlopTimes(ModuleOp model,
                                           const CompileOptions &options,
                                           unsigned runs = 5,
                                           unsigned threads = 0);

/// The calibration as a report object (`nnc-compile --report=json`).
llvm::json::Value toJSON(const FlopTimes &times);

/// Prices `options`' checkpoint plan as `kind` says: for Measured, runs
/// measureFlopTimes() on `model` and sets the stage times and rates in
/// `options`,
/// returning the calibration; for Flops, leaves `options` as it is.
llvm::Expected<std::optional<FlopTimes>>
applyCostModel(ModuleOp model, CostModel kind, CompileOptions &options,
               unsigned threads = 0);

} // namespace mlir::nnc

#endif // NNC_EXECUTIONENGINE_COSTCALIBRATION_H
