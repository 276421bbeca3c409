//===- CostCalibration.h - measured seconds per FLOP ------------*- C++ -*-===//
//
// Part of nnc, under the Apache License v2.0 with LLVM Exceptions.
// See LICENSE for license information.
//
//===----------------------------------------------------------------------===//
///
/// \file
/// The checkpoint planner prices stages in FLOPs by default. Compiled
/// forward and backward code do not run at the same speed per FLOP (the
/// forward's x·Wᵀ runs as register dot products, the backward's
/// contractions stream their output), so FLOPs mispredict what a
/// recomputation costs in time. measureFlopTimes() compiles the model
/// store-all, runs it on this machine and returns the two rates that
/// nnc-plan-checkpoints' `forward-flop-seconds` and `backward-flop-seconds`
/// take; plans then optimise, and reports quote, a predicted step time.
///
//===----------------------------------------------------------------------===//

#ifndef NNC_EXECUTIONENGINE_COSTCALIBRATION_H
#define NNC_EXECUTIONENGINE_COSTCALIBRATION_H

#include "nnc/Pipeline/Pipelines.h"

#include "mlir/IR/BuiltinOps.h"
#include "llvm/Support/Error.h"
#include "llvm/Support/JSON.h"

namespace mlir::nnc {

struct FlopTimes {
  double forwardFlopSeconds = 0, backwardFlopSeconds = 0;
  /// Fastest calls of the model function (forward and loss) and of the
  /// store-all step function (gradient or training step).
  double forwardSeconds = 0, stepSeconds = 0;
  /// The planner chain's totals the rates divide by.
  double forwardFlops = 0, backwardFlops = 0;
  /// Timed calls of the step function (each after one of the forward).
  unsigned runs = 0;
};

/// Compiles `model` (a module with one model function; not modified) with
/// `options`' autodiff and learning rate but store-all, JIT-compiles it and
/// times the model function and the step function on seeded random inputs:
/// one warm-up call each, then the fastest of at least `runs` calls of each,
/// alternating between the two (more while they take under 0.5 s in all,
/// for small models). The forward time
/// over the chain's forward FLOPs and the rest of the step over its
/// backward FLOPs are the rates. Fails if compilation fails (diagnostics go
/// to the context's handler) or if the step is not slower than the forward
/// (a measurement too noisy to use). `threads` (0: the runtime's default)
/// is how many threads the GEMM runs with while timing: the count the
/// compiled code will run with, or the rates describe another machine.
llvm::Expected<FlopTimes> measureFlopTimes(ModuleOp model,
                                           const CompileOptions &options,
                                           unsigned runs = 5,
                                           unsigned threads = 0);

/// The calibration as a report object (`nnc-compile --report=json`).
llvm::json::Value toJSON(const FlopTimes &times);

/// Prices `options`' checkpoint plan as `kind` says: for Measured, runs
/// measureFlopTimes() on `model` and sets the two rates in `options`,
/// returning the calibration; for Flops, leaves `options` as it is.
llvm::Expected<std::optional<FlopTimes>>
applyCostModel(ModuleOp model, CostModel kind, CompileOptions &options,
               unsigned threads = 0);

} // namespace mlir::nnc

#endif // NNC_EXECUTIONENGINE_COSTCALIBRATION_H
