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
/// measureFlopTimes() compiles the model store-all with each stage's
/// forward marked (nnc-profile-stages), runs it on this machine and
/// returns each stage's forward time and the backward's time per FLOP,
/// which nnc-plan-checkpoints' `stage-forward-seconds` and
/// `backward-flop-seconds` take; plans then optimise, and reports quote, a
/// predicted step time.
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
  /// and the backward's.
  double forwardFlopSeconds = 0, backwardFlopSeconds = 0;
  /// Medians over the timed calls of the step: its forward (the stages'
  /// sum) and the whole step.
  double forwardSeconds = 0, stepSeconds = 0;
  /// Medians of each stage's first forward (store-all) and of a run of its
  /// recomputation (recompute-all), in stage order.
  std::vector<double> stageForwardSeconds, stageRecomputeSeconds;
  /// The planner chain's totals the rates divide by.
  double forwardFlops = 0, backwardFlops = 0;
  /// Timed calls of the step function.
  unsigned runs = 0;
};

/// Compiles `model` (a module with one model function; not modified) with
/// `options`' step but store-all and its stages profiled, JIT-compiles it
/// and calls the step on seeded random inputs: one warm-up call, then at
/// least `runs` calls and more while they take under 0.5 s in all (at most
/// 1000). Each stage's forward time, the backward's (the rest of the step)
/// and the step's are the medians over the calls: the statistic a user's
/// step time is (benchmarks time steps so too). The backward's time over
/// the chain's backward FLOPs is its rate. Fails if compilation fails
/// (diagnostics go to the context's handler) or the profile is not the
/// one the marks describe. `threads` (0: the runtime's default) is how
/// many threads the step runs with while timing: the count the compiled
/// code will run with, or the times describe another machine.
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
