//===- ToolOptions.cpp - the compile options every tool shares ------------===//
//
// Part of nnc, under the Apache License v2.0 with LLVM Exceptions.
// See LICENSE for license information.
//
//===----------------------------------------------------------------------===//

#include "nnc/Pipeline/ToolOptions.h"

using namespace mlir;
using namespace mlir::nnc;

CompileCLOptions::CompileCLOptions(llvm::cl::OptionCategory &category,
                                   StepMode mode, ToolConcerns concerns,
                                   CompileOptions defaults)
    : mode(mode), options(std::move(defaults)),
      binder(::nnc::OptionsBinder::global(category)) {
  options.step.bind(binder);
  if (mode == StepMode::Train)
    binder.describe("learning-rate",
                    "Base learning rate of the schedule (the compiled step "
                    "reads it at run time)");
  options.checkpoint.bind(binder);
  calibration.bind(binder);
  if (concerns == ToolConcerns::Codegen)
    options.bindCodegen(binder);
}

llvm::Expected<CompileOptions> CompileCLOptions::get() const {
  CompileOptions result = options;
  // The step first, then how costs are priced (which says whether measured
  // times may be given), then the rest.
  if (llvm::Error err = result.step.validate())
    return std::move(err);
  if (llvm::Error err = calibration.validate(result.checkpoint))
    return std::move(err);
  if (llvm::Error err = result.validate())
    return std::move(err);
  StepOptions &step = result.step;
  if (mode == StepMode::Train) {
    if (!(step.learningRate > 0))
      return llvm::createStringError("--learning-rate must be positive to "
                                     "train");
    if (step.optimizer == Optimizer::None)
      return llvm::createStringError(
          "--optimizer=none computes no update; choose sgd, momentum, "
          "nesterov, adam, adamw, lars or lamb to train");
  }
  // Compile mode: an optimizer without an explicit rate reads it at run
  // time; Train mode always does.
  if (mode == StepMode::Train ||
      (step.optimizer != Optimizer::None && !binder.wasGiven("learning-rate")))
    step.learningRate = 0.0;
  return result;
}
