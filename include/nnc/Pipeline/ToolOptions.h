//===- ToolOptions.h - the compile options every tool shares ----*- C++ -*-===//
//
// Part of nnc, under the Apache License v2.0 with LLVM Exceptions.
// See LICENSE for license information.
//
//===----------------------------------------------------------------------===//
///
/// \file
/// The compile options of nnc-compile, nnc-plan and nnc-train: the structs
/// of nnc/Pipeline/Options.h bound to the tool's command line (each option
/// declared once, in the struct's `bind`), validated together, with the one
/// rule that differs between tools: how the learning rate is used.
///
//===----------------------------------------------------------------------===//

#ifndef NNC_PIPELINE_TOOLOPTIONS_H
#define NNC_PIPELINE_TOOLOPTIONS_H

#include "nnc/Pipeline/Options.h"

#include "llvm/Support/CommandLine.h"
#include "llvm/Support/Error.h"

namespace mlir::nnc {

/// How a tool uses the learning rate.
enum class StepMode {
  /// nnc-compile, nnc-plan: `--learning-rate` is compiled into the step
  /// (default 0.1: SGD); with `--optimizer` and no `--learning-rate` the
  /// step takes `lr` at run time; `--learning-rate=0` without an optimizer
  /// compiles a gradient function.
  Compile,
  /// nnc-train: the step always takes `lr` at run time (schedules need no
  /// recompilation); `--learning-rate` is the schedule's base rate.
  Train,
};

/// Which concerns a tool offers besides the step, checkpointing and
/// calibration.
enum class ToolConcerns { Planning, Codegen };

class CompileCLOptions {
public:
  /// Binds the options in `category`; `defaults` are the tool's defaults.
  CompileCLOptions(llvm::cl::OptionCategory &category, StepMode mode,
                   ToolConcerns concerns, CompileOptions defaults);
  /// The options given, validated (an error names the option).
  llvm::Expected<CompileOptions> get() const;
  const CalibrationOptions &getCalibration() const { return calibration; }
  /// The `--learning-rate` given (or its default): in Train mode, the
  /// schedule's base rate.
  double getLearningRate() const { return options.step.learningRate; }

private:
  StepMode mode;
  CompileOptions options;
  CalibrationOptions calibration;
  ::nnc::OptionsBinder binder;
};

} // namespace mlir::nnc

#endif // NNC_PIPELINE_TOOLOPTIONS_H
