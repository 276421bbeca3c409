//===- ToolOptions.h - options every nnc tool shares ------------*- C++ -*-===//
//
// Part of nnc, under the Apache License v2.0 with LLVM Exceptions.
// See LICENSE for license information.
//
//===----------------------------------------------------------------------===//
///
/// \file
/// The command-line surface that nnc-compile, nnc-plan and nnc-train have in
/// common, declared once (CIRCT's FirtoolOptions pattern): constructing an
/// options object registers its llvm::cl options in the tool's category, so
/// each appears in every tool's --help with the same spelling and meaning;
/// reading it validates the values and yields the library's structs. Tools
/// are then short mains over loadModel(), compileForCPU() and friends.
///
//===----------------------------------------------------------------------===//

#ifndef NNC_PIPELINE_TOOLOPTIONS_H
#define NNC_PIPELINE_TOOLOPTIONS_H

#include "nnc/Frontend/GraphBuilder.h"
#include "nnc/Frontend/Weights.h"
#include "nnc/Pipeline/Pipelines.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/OwningOpRef.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/Error.h"

#include <optional>
#include <string>

namespace llvm {
class SourceMgr;
} // namespace llvm

namespace mlir::nnc {

/// What a tool works on: a model file, or an MLP built from a spec.
struct ModelSource {
  /// A `.mlir` or `.onnx` model; empty: build `mlp`.
  std::string inputFile;
  MLPSpec mlp;
  /// The model function's name: the MLP's, or an ONNX model's (empty: the
  /// file's stem).
  std::string name = "mlp";
  /// For an ONNX inference graph: the loss to append (`--loss` given).
  std::optional<Loss> loss;
  /// For an ONNX graph with symbolic dimensions: their size (`--batch`).
  std::optional<int64_t> batch;

  bool isMLP() const { return inputFile.empty(); }
  bool isONNX() const;
};

/// Reads, imports or builds the model module. A parse or import error is
/// reported (located) through the context's diagnostic handler, which should
/// be a SourceMgrDiagnosticHandler on `sourceMgr`, and returned as an
/// llvm::Error saying "cannot parse"; an unreadable file is an llvm::Error.
/// With `initialWeights`, also yields the parameters' initial values by
/// name: an ONNX model's initializers, an MLP's initialization; a `.mlir`
/// model has none (the set stays empty).
llvm::Expected<OwningOpRef<ModuleOp>>
loadModel(MLIRContext &context, llvm::SourceMgr &sourceMgr,
          const ModelSource &source, WeightSet *initialWeights = nullptr);

/// How checkpoint costs are priced.
enum class CostModel { Flops, Measured };

/// Model selection: the positional model file or `--mlp` and its shape
/// (`--activation`, `--loss`, `--batch`, `--dropout`, `--init`,
/// `--init-std`, `--init-value`, `--seed`, `--name`). For an ONNX file,
/// `--loss` appends that loss to an inference graph, `--batch` sizes its
/// symbolic dimensions and `--name` names it; the other MLP options do not
/// apply.
class ModelCLOptions {
public:
  explicit ModelCLOptions(llvm::cl::OptionCategory &category);
  /// The source, validated: an error names the bad option.
  llvm::Expected<ModelSource> getSource() const;

private:
  llvm::cl::opt<std::string> inputFile, mlp, activation, loss, init, name;
  llvm::cl::opt<int64_t> batch;
  llvm::cl::opt<double> dropout, initStd, initValue;
  llvm::cl::opt<uint64_t> seed;
};

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

/// Training and checkpoint planning: `--learning-rate`, `--optimizer`,
/// `--momentum`, `--beta1`, `--beta2`, `--eps`, `--weight-decay`,
/// `--grad-norms`, `--fuse-updates`, `--strategy`, `--budget`, `--slots`,
/// `--cost-model`, `--forward-flop-seconds`, `--backward-flop-seconds`.
class PlanCLOptions {
public:
  PlanCLOptions(llvm::cl::OptionCategory &category,
                CheckpointStrategy defaultStrategy,
                StepMode mode = StepMode::Compile,
                Optimizer defaultOptimizer = Optimizer::None,
                double defaultLearningRate = 0.1);
  /// Fills `options`' planning and step fields, validated (finite, in
  /// range, rates given together, budget parsed).
  llvm::Error apply(CPUPipelineOptions &options) const;
  CostModel getCostModel() const { return costModel; }
  /// Threads the compiled code runs with (its GEMM's), 0 for the runtime's
  /// default; calibration measures with as many.
  unsigned getThreads() const { return threads; }
  unsigned getSlots() const { return slots; }
  bool hasBudget() const { return !budget.empty(); }
  /// The `--learning-rate` given (or its default): in Train mode, the
  /// schedule's base rate.
  double getLearningRate() const { return learningRate; }
  Optimizer getOptimizer() const { return optimizer; }

private:
  StepMode mode;
  llvm::cl::opt<double> learningRate;
  llvm::cl::opt<Optimizer> optimizer;
  llvm::cl::opt<double> momentum, beta1, beta2, eps, weightDecay;
  llvm::cl::opt<bool> gradNorms;
  llvm::cl::opt<bool> fuseUpdates;
  llvm::cl::opt<CheckpointStrategy> strategy;
  llvm::cl::opt<std::string> budget;
  llvm::cl::opt<unsigned> slots;
  llvm::cl::opt<unsigned> threads;
  llvm::cl::opt<CostModel> costModel;
  llvm::cl::opt<double> forwardFlopSeconds, backwardFlopSeconds;
};

} // namespace mlir::nnc

#endif // NNC_PIPELINE_TOOLOPTIONS_H
