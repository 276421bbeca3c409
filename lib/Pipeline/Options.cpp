//===- Options.cpp - what a compilation is asked to do --------------------===//
//
// Part of nnc, under the Apache License v2.0 with LLVM Exceptions.
// See LICENSE for license information.
//
//===----------------------------------------------------------------------===//

#include "nnc/Pipeline/Options.h"

#include "nnc/Dialect/NN/Transforms/Passes.h"
#include "nnc/Planner/Chain.h"
#include "nnc/Support/Limits.h"

#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FormatVariadic.h"

#include <cmath>
#include <cstdlib>

using namespace mlir;
using namespace mlir::nnc;
namespace cl = llvm::cl;

//===----------------------------------------------------------------------===//
// StepOptions
//===----------------------------------------------------------------------===//

void StepOptions::bind(::nnc::OptionsBinder &b) {
  b.opt("learning-rate", learningRate,
        cl::desc("Learning rate compiled into the training step (SGD unless "
                 "--optimizer); with --optimizer and no --learning-rate the "
                 "step reads 'lr' at run time; 0 without --optimizer "
                 "compiles a gradient function"));
  b.opt("optimizer", optimizer, cl::desc("The training step's update"));
  b.opt("momentum", momentum,
        cl::desc("Momentum of --optimizer=momentum, nesterov and lars"));
  b.opt("beta1", beta1, cl::desc("First-moment decay of adam and lamb"));
  b.opt("beta2", beta2, cl::desc("Second-moment decay of adam and lamb"));
  b.opt("eps", eps, cl::desc("Denominator term of adam and lamb"));
  b.opt("trust-coefficient", trustCoefficient,
        cl::desc("LARS's trust coefficient: a layer's rate is lr x this x "
                 "|w| / (|g| + weight-decay x |w|)"));
  b.opt("weight-decay", weightDecay,
        cl::desc("L2 penalty added to every gradient (PyTorch's "
                 "weight_decay); with adamw, the decoupled decay "
                 "w * (1 - lr * weight-decay)"));
  b.opt("grad-norms", gradNorms,
        cl::desc("The compiled step also returns the Euclidean norm of each "
                 "parameter's gradient"));
  b.opt("return-output", returnOutput,
        cl::desc("The step also returns the network's output (logits), "
                 "last"));
  b.opt("fuse-updates", fuseUpdates,
        cl::desc("Update each weight straight from the matmul computing its "
                 "gradient (plain SGD: no weight-gradient buffer); the plan "
                 "counts what remains"));
  b.opt("precision", precision,
        cl::desc("Element type of matmul operands and the activations "
                 "between them (bf16: f32 accumulation, master weights, "
                 "optimizer state and losses)"));
  b.opt("keep-cast-copies", keepCastCopies,
        cl::desc("With --precision=bf16 or fp16: the backward reads the "
                 "forward's 16-bit copies of the weights and the batch "
                 "instead of converting them again; the checkpoint plan "
                 "keeps them as saved values (faster step, more memory)"));
  b.opt("loss-scaling", lossScaling,
        cl::desc("Scale the loss (dynamic: the step takes and returns "
                 "'loss_scale' and 'good_steps'; a step with an inf or NaN "
                 "gradient changes no parameter or optimizer state)"));
  b.opt("loss-scale-growth", lossScaleGrowth,
        cl::desc("With --loss-scaling=dynamic: the scale's factor after "
                 "--loss-scale-interval finite steps in a row (> 1)"));
  b.opt("loss-scale-backoff", lossScaleBackoff,
        cl::desc("With --loss-scaling=dynamic: the scale's factor after a "
                 "step with an inf or NaN gradient (in (0, 1))"));
  b.opt("loss-scale-interval", lossScaleInterval,
        cl::desc("With --loss-scaling=dynamic: finite steps in a row before "
                 "the scale grows"));
  b.opt("all-reduce", allReduce,
        cl::desc("Average each gradient over the MPI ranks inside the step "
                 "(data parallelism; nnc-train sets it under mpirun)"));
  b.opt("bucket-bytes", bucketBytes,
        cl::desc("With --all-reduce: gradients are reduced in buckets of at "
                 "least this many bytes, each started as soon as the "
                 "backward completes it"));
}

llvm::Error StepOptions::validate() const {
  if (microBatches == 0)
    return llvm::createStringError("the number of micro-batches must be at "
                                   "least 1");
  // Every number is checked, used or not: a NaN given for an option of
  // another optimizer is still a mistake worth reporting.
  for (auto [name, v] :
       {std::pair<const char *, double>{"learning-rate", learningRate},
        {"momentum", momentum},
        {"beta1", beta1},
        {"beta2", beta2},
        {"eps", eps},
        {"weight-decay", weightDecay},
        {"trust-coefficient", trustCoefficient}})
    if (!std::isfinite(v))
      return llvm::createStringError(llvm::Twine("--") + name +
                                     " must be a finite number, got " +
                                     std::to_string(v));
    // The step computes in f32: a double beyond its range would be inf
    // there.
    else if (!std::isfinite(static_cast<float>(v)))
      return llvm::createStringError(llvm::Twine("--") + name + "=" +
                                     llvm::formatv("{0:e}", v) +
                                     " is beyond the f32 range the step "
                                     "computes in");
  if (learningRate < 0)
    return llvm::createStringError(
        "--learning-rate must be finite and not negative, "
        "got " +
        std::to_string(learningRate));
  if (weightDecay < 0)
    return llvm::createStringError(
        "--weight-decay must be finite and not negative");
  if (::nnc::hasVelocity(optimizer) &&
      !(momentum > 0))
    return llvm::createStringError("--momentum must be positive and finite for "
                                   "--optimizer=momentum, nesterov and lars");
  if (optimizer == Optimizer::LARS && !(trustCoefficient > 0))
    return llvm::createStringError(
        "--trust-coefficient must be positive for --optimizer=lars");
  if (::nnc::hasAdamMoments(optimizer) &&
      !(beta1 >= 0 && beta1 < 1 && beta2 >= 0 && beta2 < 1 && eps >= 0))
    return llvm::createStringError(
        "--beta1 and --beta2 must be in [0, 1) and --eps "
        "finite and not negative");
  bool trainStep = optimizer != Optimizer::None || learningRate > 0;
  // Checked whether or not loss scaling is on, like the numbers above.
  if (!(std::isfinite(lossScaleGrowth) && lossScaleGrowth > 1 &&
        std::isfinite(static_cast<float>(lossScaleGrowth))))
    return llvm::createStringError(
        "--loss-scale-growth must be a finite number greater than 1, got " +
        std::to_string(lossScaleGrowth));
  if (!(lossScaleBackoff > 0 && lossScaleBackoff < 1))
    return llvm::createStringError(
        "--loss-scale-backoff must be in (0, 1), got " +
        std::to_string(lossScaleBackoff));
  if (lossScaleInterval < 1 || lossScaleInterval > (int64_t(1) << 24))
    return llvm::createStringError(
        "--loss-scale-interval must be in [1, 16777216] (the count of "
        "finite steps is an f32), got " +
        std::to_string(lossScaleInterval));
  if (lossScaling != LossScaling::None && !trainStep)
    return llvm::createStringError(
        "--loss-scaling=dynamic needs a training step (--learning-rate > 0 "
        "or --optimizer): it skips updates");
  if (weightDecay != 0 && !trainStep)
    return llvm::createStringError("--weight-decay needs a training step "
                                   "(--learning-rate > 0 or --optimizer)");
  return llvm::Error::success();
}

Optimizer StepOptions::effectiveOptimizer() const {
  return optimizer == Optimizer::None && learningRate > 0 ? Optimizer::SGD
                                                          : optimizer;
}

bool StepOptions::fusesUpdates() const {
  // The planner must know exactly when, since it counts one weight-gradient
  // buffer less per layer; the plan records the decision.
  // An all-reduced gradient must exist before its update.
  // So must an accumulated one.
  // So must a loss-scaled one (checked before any update).
  return fuseUpdates && !allReduce && microBatches == 1 &&
         lossScaling == LossScaling::None &&
         effectiveOptimizer() == Optimizer::SGD && weightDecay == 0 &&
         !gradNorms;
}

AutodiffOptions StepOptions::toAutodiffOptions() const {
  AutodiffOptions ad;
  ad.learningRate = learningRate;
  ad.optimizer = optimizer;
  ad.momentum = momentum;
  ad.beta1 = beta1;
  ad.beta2 = beta2;
  ad.eps = eps;
  ad.weightDecay = weightDecay;
  ad.trustCoefficient = trustCoefficient;
  ad.gradNorms = gradNorms;
  ad.returnOutput = returnOutput;
  return ad;
}

//===----------------------------------------------------------------------===//
// CheckpointOptions
//===----------------------------------------------------------------------===//

void CheckpointOptions::bind(::nnc::OptionsBinder &b) {
  b.opt("strategy", strategy, cl::desc("Checkpointing strategy"));
  b.opt("budget", budget,
        cl::desc("Activation memory budget in bytes, KiB/MiB/GiB suffixes "
                 "allowed (chen, dp)"));
  b.opt("slots", slots, cl::desc("Memory discretisation of the dp strategy"));
  b.opt("forward-flop-seconds", forwardFlopSeconds,
        cl::desc("Seconds per forward FLOP, e.g. from an earlier "
                 "--cost-model=measured report (with "
                 "--backward-flop-seconds): costs become seconds"));
  b.opt("backward-flop-seconds", backwardFlopSeconds,
        cl::desc("Seconds per backward FLOP"));
  b.list("stage-forward-seconds", stageForwardSeconds,
         cl::desc("Seconds of each stage's first forward, comma-separated, "
                  "e.g. an earlier --cost-model=measured report's "
                  "stage_forward_seconds (with the rates above)"));
  b.list("stage-recompute-seconds", stageRecomputeSeconds,
         cl::desc("Seconds of each stage's forward when it is recomputed "
                  "(the report's stage_recompute_seconds)"));
  b.list("stage-cold-backward-seconds", stageColdBackwardSeconds,
         cl::desc("Seconds of each stage's backward on stored values (the "
                  "report's stage_cold_backward_seconds; with "
                  "--stage-hot-backward-seconds)"));
  b.list("stage-hot-backward-seconds", stageHotBackwardSeconds,
         cl::desc("Seconds of each stage's backward right after its stage's "
                  "forward (the report's stage_hot_backward_seconds)"));
}

llvm::Error CheckpointOptions::validate() const {
  double fwd = forwardFlopSeconds, bwd = backwardFlopSeconds;
  for (auto [name, v] :
       {std::pair<const char *, double>{"forward-flop-seconds", fwd},
        {"backward-flop-seconds", bwd}})
    if (!std::isfinite(v))
      return llvm::createStringError(llvm::Twine("--") + name +
                                     " must be a finite number, got " +
                                     std::to_string(v));
  // With each stage's backward timed, the backward rate prices only what
  // no stage's backward action ran, which can be nothing.
  const bool stageBackwards = !stageColdBackwardSeconds.empty();
  if (fwd < 0 || bwd < 0 ||
      ((fwd > 0) != (bwd > 0) && !(fwd > 0 && stageBackwards)))
    return llvm::createStringError(
        "--forward-flop-seconds and --backward-flop-seconds "
        "must both be positive, or both absent (--backward-flop-seconds "
        "may be 0 with --stage-cold-backward-seconds)");
  // No machine takes a second per FLOP; larger is a unit mistake.
  if (fwd > 1 || bwd > 1)
    return llvm::createStringError(
        "--forward-flop-seconds and --backward-flop-seconds "
        "must be at most 1 (seconds per FLOP)");
  for (auto [name, list] :
       {std::pair<const char *, const std::vector<double> *>{
            "stage-forward-seconds", &stageForwardSeconds},
        {"stage-recompute-seconds", &stageRecomputeSeconds}})
    for (double s : *list)
      if (!(s > 0 && s <= 1e6 && std::isfinite(s)))
        return llvm::createStringError(llvm::Twine("--") + name +
                                       " must be positive finite seconds (at "
                                       "most 1e6), got " +
                                       std::to_string(s));
  if (stageForwardSeconds.size() != stageRecomputeSeconds.size() ||
      (!stageForwardSeconds.empty() && bwd == 0 && !stageBackwards))
    return llvm::createStringError(
        "--stage-forward-seconds and --stage-recompute-seconds go together, "
        "one time per stage each, with --forward-flop-seconds and "
        "--backward-flop-seconds (a --cost-model=measured report's "
        "calibration gives all four)");
  for (auto [name, list] :
       {std::pair<const char *, const std::vector<double> *>{
            "stage-cold-backward-seconds", &stageColdBackwardSeconds},
        {"stage-hot-backward-seconds", &stageHotBackwardSeconds}})
    for (double s : *list)
      if (!(s >= 0 && s <= 1e6 && std::isfinite(s)))
        return llvm::createStringError(llvm::Twine("--") + name +
                                       " must be finite seconds in [0, 1e6], "
                                       "got " +
                                       std::to_string(s));
  if (stageColdBackwardSeconds.size() != stageHotBackwardSeconds.size() ||
      (!stageColdBackwardSeconds.empty() &&
       stageColdBackwardSeconds.size() != stageForwardSeconds.size()))
    return llvm::createStringError(
        "--stage-cold-backward-seconds and --stage-hot-backward-seconds go "
        "together, one time per stage each, with --stage-forward-seconds "
        "(a --cost-model=measured report's calibration gives them all)");
  if (slots == 0)
    return llvm::createStringError("--slots must be positive");
  if (slots > ::nnc::limits::kMaxSlots)
    return llvm::createStringError("--slots=" + std::to_string(slots) +
                                   " is over nnc's limit of " +
                                   std::to_string(::nnc::limits::kMaxSlots));
  return llvm::Error::success();
}

llvm::Error CheckpointOptions::priceChain(::nnc::planner::Chain &chain) const {
  if (!stageForwardSeconds.empty())
    return ::nnc::planner::setMeasuredCosts(
        chain, stageForwardSeconds, stageRecomputeSeconds, backwardFlopSeconds,
        stageColdBackwardSeconds, stageHotBackwardSeconds);
  if (forwardFlopSeconds > 0)
    ::nnc::planner::scaleCosts(chain, forwardFlopSeconds, backwardFlopSeconds);
  return llvm::Error::success();
}

PlanCheckpointsOptions
CheckpointOptions::toPlanCheckpointsOptions(const StepOptions &step) const {
  PlanCheckpointsOptions plan;
  plan.strategy = strategy;
  plan.budget = budget;
  plan.slots = slots;
  plan.forwardFlopSeconds = forwardFlopSeconds;
  plan.backwardFlopSeconds = backwardFlopSeconds;
  plan.stageForwardSeconds = stageForwardSeconds;
  plan.stageRecomputeSeconds = stageRecomputeSeconds;
  plan.stageColdBackwardSeconds = stageColdBackwardSeconds;
  plan.stageHotBackwardSeconds = stageHotBackwardSeconds;
  plan.fusedUpdates = step.fusesUpdates();
  plan.microBatches = step.microBatches;
  plan.allReduce = step.allReduce;
  plan.bucketBytes = step.bucketBytes;
  plan.lossScaling = step.lossScaling == LossScaling::Dynamic;
  plan.keepCastCopies = step.keepCastCopies;
  return plan;
}

//===----------------------------------------------------------------------===//
// CompileOptions
//===----------------------------------------------------------------------===//

void CompileOptions::bind(::nnc::OptionsBinder &b) {
  b.opt("autodiff", autodiff,
        cl::desc("Derive the gradient/training-step function first"));
  step.bind(b);
  checkpoint.bind(b);
  bindCodegen(b);
}

void CompileOptions::bindCodegen(::nnc::OptionsBinder &b) {
  cpu.bind(b);
  gpu.bind(b);
  b.opt("memory-svg", memorySvg,
        cl::desc("Draw the training step's arena over time (offset x step, "
                 "one box per buffer, recomputed values marked) into this "
                 "SVG file"));
}

llvm::Error CompileOptions::validate() const {
  if (llvm::Error err = step.validate())
    return err;
  if (step.precision == Precision::BF16 && cpu.gemm == GemmEngine::Generated)
    return llvm::createStringError(
        "--precision=bf16 runs its products on the library GEMM (oneDNN's "
        "bf16 matmul); --gemm=generated has no bf16 kernels");
  if (llvm::Error err = checkpoint.validate())
    return err;
  return gpu.validate();
}

//===----------------------------------------------------------------------===//
// CalibrationOptions
//===----------------------------------------------------------------------===//

void CalibrationOptions::bind(::nnc::OptionsBinder &b) {
  b.opt("cost-model", costModel, cl::desc("How checkpoint costs are priced"));
  b.opt("num-threads", threads,
        cl::desc("Threads the compiled step runs with (0: all cores, or "
                 "OMP_NUM_THREADS); --cost-model=measured times it with as "
                 "many"));
}

llvm::Error
CalibrationOptions::validate(const CheckpointOptions &checkpoint) const {
  if (costModel == CostModel::Measured &&
      (checkpoint.forwardFlopSeconds != 0 ||
       checkpoint.backwardFlopSeconds != 0 ||
       !checkpoint.stageForwardSeconds.empty() ||
       !checkpoint.stageRecomputeSeconds.empty() ||
       !checkpoint.stageColdBackwardSeconds.empty() ||
       !checkpoint.stageHotBackwardSeconds.empty()))
    return llvm::createStringError(
        "--cost-model=measured measures the stage times and times per FLOP; "
        "do not also give --forward-flop-seconds/"
        "--backward-flop-seconds/--stage-forward-seconds/"
        "--stage-recompute-seconds/--stage-cold-backward-seconds/"
        "--stage-hot-backward-seconds");
  if (threads > ::nnc::limits::kMaxThreads)
    return llvm::createStringError("--num-threads=" + std::to_string(threads) +
                                   " is over nnc's limit of " +
                                   std::to_string(::nnc::limits::kMaxThreads));
  return llvm::Error::success();
}

//===----------------------------------------------------------------------===//
// PipelineOptions
//===----------------------------------------------------------------------===//

PipelineOptions::PipelineOptions()
    : binder(::nnc::OptionsBinder::local(*this)) {
  options.bind(binder);
}

CompileOptions PipelineOptions::get() const {
  binder.commit();
  return options;
}
