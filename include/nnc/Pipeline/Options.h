//===- Options.h - what a compilation is asked to do ------------*- C++ -*-===//
//
// Part of nnc, under the Apache License v2.0 with LLVM Exceptions.
// See LICENSE for license information.
//
//===----------------------------------------------------------------------===//
///
/// \file
/// One plain struct per concern: the training step, checkpointing, each
/// target's code generation (CPUCodegenOptions and GPUCodegenOptions live
/// with their target, in nnc/Codegen/<Target>/Pipeline.h). Each declares its
/// options once in `bind` (spelling, help, vocabulary; the field initializers
/// are the defaults) and checks itself in `validate`. From there:
///
///  - every tool binds them to its command line (OptionsBinder::global),
///    so a shared option is spelled and checked the same in each;
///  - `nnc-opt --nnc-cpu-pipeline=...` binds them as pipeline options
///    (PipelineOptions below);
///  - the pass options are derived in one place each
///    (`StepOptions::toAutodiffOptions`, `CheckpointOptions::
///    toPlanCheckpointsOptions`), and the C API maps onto these structs.
///
//===----------------------------------------------------------------------===//

#ifndef NNC_PIPELINE_OPTIONS_H
#define NNC_PIPELINE_OPTIONS_H

#include "nnc/Codegen/CPU/Pipeline.h"
#include "nnc/Codegen/GPU/Pipeline.h"
#include "nnc/Support/OptionsBinder.h"
#include "nnc/Support/Vocabularies.h"

#include "mlir/Pass/PassOptions.h"
#include "llvm/Support/Error.h"

#include <optional>
#include <string>
#include <vector>

namespace nnc::planner {
struct Chain;
} // namespace nnc::planner

namespace mlir::nnc {

struct AutodiffOptions;
struct PlanCheckpointsOptions;

/// The training step nnc-autodiff derives: its optimizer and what it
/// returns besides the loss.
struct StepOptions {
  /// A rate compiled into the step; 0 with an optimizer: the step reads
  /// `lr` at run time; 0 without one: a gradient function.
  double learningRate = 0.0;
  Optimizer optimizer = Optimizer::None;
  double momentum = 0.9;
  double beta1 = 0.9, beta2 = 0.999, eps = 1e-8;
  double weightDecay = 0.0;
  /// LARS's trust coefficient η.
  double trustCoefficient = 0.001;
  bool gradNorms = false;
  bool returnOutput = false;
  /// Fold plain SGD updates into their weight-gradient matmuls.
  bool fuseUpdates = true;
  /// What the contractions read and the activations between them are
  /// stored in (nnc-mixed-precision).
  Precision precision = Precision::F32;
  /// With a 16-bit precision: the backward reads the forward's 16-bit
  /// copies of the weights and of the batch instead of converting them
  /// again (nnc-recast-for-backward does not run), and the checkpoint plan
  /// prices them as saved values of the stage that makes them. Faster
  /// (no second conversion), more memory (docs/MixedPrecision.md).
  bool keepCastCopies = false;
  /// Dynamic loss scaling (nnc-loss-scaling): the step takes and returns
  /// the scale and the count of finite steps, and skips its updates when a
  /// gradient is not finite. Any precision (f32 and bf16 test it on the
  /// CPU).
  LossScaling lossScaling = LossScaling::None;
  /// GradScaler's growth_factor, backoff_factor and growth_interval.
  double lossScaleGrowth = 2.0, lossScaleBackoff = 0.5;
  int64_t lossScaleInterval = 2000;
  /// Data parallelism (docs/Distributed.md): average every gradient over
  /// the MPI ranks in the step, in buckets of at least this many bytes.
  bool allReduce = false;
  uint64_t bucketBytes = 1 << 20;
  /// Gradient accumulation (docs/MicroBatches.md): the model is built at
  /// the micro-batch size and the step runs this many micro-batches,
  /// summing their gradients before one update (nnc-accumulate-gradients).
  /// Set by the tools (nnc-train --micro-batch), not bound as an option.
  unsigned microBatches = 1;

  void bind(::nnc::OptionsBinder &binder);
  llvm::Error validate() const;
  /// Whether the step is a plain SGD step that nnc-fuse-updates folds
  /// (momentum and Adam read the gradient, weight decay and norms too).
  bool fusesUpdates() const;
  /// The optimizer the step really applies (`none` with a rate is SGD).
  Optimizer effectiveOptimizer() const;
  AutodiffOptions toAutodiffOptions() const;
};

/// Which activations are kept and which recomputed.
struct CheckpointOptions {
  CheckpointStrategy strategy = CheckpointStrategy::StoreAll;
  /// Activation memory budget for chen and dp (none: unlimited).
  std::optional<uint64_t> budget;
  unsigned slots = 500;
  /// Measured seconds per forward/backward FLOP; 0: costs are FLOPs.
  double forwardFlopSeconds = 0.0, backwardFlopSeconds = 0.0;
  /// Measured seconds of each stage's first forward and of a recomputation
  /// of it (with backwardFlopSeconds): what --cost-model=measured profiles;
  /// they replace forwardFlopSeconds.
  std::vector<double> stageForwardSeconds, stageRecomputeSeconds;
  /// Measured seconds of each stage's backward, cold (on stored values) and
  /// hot (right after its F_all); both or neither, with the lists above.
  /// backwardFlopSeconds then prices only the backward's unmarked rest.
  std::vector<double> stageColdBackwardSeconds, stageHotBackwardSeconds;

  void bind(::nnc::OptionsBinder &binder);
  llvm::Error validate() const;
  PlanCheckpointsOptions
  toPlanCheckpointsOptions(const StepOptions &step) const;
  /// Makes `chain`'s FLOP costs the measured seconds these options give
  /// (per-stage forward times, else rates); none given: FLOPs stay.
  llvm::Error priceChain(::nnc::planner::Chain &chain) const;
};

/// Everything the pipelines, compileForCPU and compileForGPU read.
struct CompileOptions {
  /// Derive the training step first (off: the module already holds the
  /// functions to lower).
  bool autodiff = true;
  StepOptions step;
  CheckpointOptions checkpoint;
  CPUCodegenOptions cpu;
  GPUCodegenOptions gpu;
  /// Draw the step's arena over time into this SVG file.
  std::string memorySvg;
  /// Mark each stage's forward in the step's profile (nnc-profile-stages):
  /// what the cost calibration compiles, not a user's option.
  bool profileStages = false;

  /// Binds every concern (what nnc-opt's pipelines offer).
  void bind(::nnc::OptionsBinder &binder);
  /// Binds what is about the generated code: both targets' options and
  /// the arena picture.
  void bindCodegen(::nnc::OptionsBinder &binder);
  llvm::Error validate() const;
};

/// How checkpoint costs are priced and with how many threads the compiled
/// code runs: tool options (calibration compiles and times code here).
struct CalibrationOptions {
  CostModel costModel = CostModel::Flops;
  unsigned threads = 0;

  void bind(::nnc::OptionsBinder &binder);
  llvm::Error validate(const CheckpointOptions &checkpoint) const;
};

/// The options of `nnc-cpu-pipeline` and `nnc-gpu-pipeline`: CompileOptions
/// bound as pass-pipeline options.
class PipelineOptions : public PassPipelineOptions<PipelineOptions> {
public:
  PipelineOptions();
  /// The parsed options.
  CompileOptions get() const;

private:
  mutable CompileOptions options;
  ::nnc::OptionsBinder binder;
};

} // namespace mlir::nnc

#endif // NNC_PIPELINE_OPTIONS_H
