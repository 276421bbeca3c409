//===- Vocabularies.h - every enumerated choice nnc offers ------*- C++ -*-===//
//
// Part of nnc, under the Apache License v2.0 with LLVM Exceptions.
// See LICENSE for license information.
//
//===----------------------------------------------------------------------===//
///
/// \file
/// Each enumerated choice of nnc is spelled in exactly one table here; the
/// command line of every tool, the pass and pipeline options of nnc-opt,
/// the C API, reports and the IR keywords of `#nn.checkpoint_plan` all read
/// these (see nnc/Support/Vocabulary.h). To add a word, add its enumerator
/// and its row; a switch the compiler then flags is where it needs meaning.
///
//===----------------------------------------------------------------------===//

#ifndef NNC_SUPPORT_VOCABULARIES_H
#define NNC_SUPPORT_VOCABULARIES_H

#include "nnc/Support/Vocabulary.h"

namespace nnc {

/// How a checkpoint plan is chosen.
enum class CheckpointStrategy { StoreAll, RecomputeAll, Sqrt, Chen, DP };
inline constexpr Word<CheckpointStrategy> kCheckpointStrategyWords[] = {
    {CheckpointStrategy::StoreAll, "store-all",
     "vanilla backprop: keep every activation"},
    {CheckpointStrategy::RecomputeAll, "recompute-all",
     "keep only the input; recompute the rest (O(n^2) work)"},
    {CheckpointStrategy::Sqrt, "sqrt", "Chen et al.'s sqrt(n) segments"},
    {CheckpointStrategy::Chen, "chen",
     "Chen et al.'s greedy segments under the budget"},
    {CheckpointStrategy::DP, "dp",
     "the budget-optimal schedule (Beaumont et al.'s DP)"},
};
inline constexpr Vocabulary<CheckpointStrategy> checkpointStrategies{
    "checkpoint strategy", kCheckpointStrategyWords};
inline const Vocabulary<CheckpointStrategy> &vocabularyOf(CheckpointStrategy) {
  return checkpointStrategies;
}

/// The update a training step applies.
enum class Optimizer { None, SGD, Momentum, Nesterov, Adam, AdamW, LARS, LAMB };
inline constexpr Word<Optimizer> kOptimizerWords[] = {
    {Optimizer::None, "none",
     "no update: a gradient function (SGD if a learning rate is fixed)"},
    {Optimizer::SGD, "sgd", "plain SGD, w - lr * g"},
    {Optimizer::Momentum, "momentum", "SGD with heavy-ball momentum"},
    {Optimizer::Nesterov, "nesterov", "SGD with Nesterov momentum"},
    {Optimizer::Adam, "adam", "Adam with bias correction"},
    {Optimizer::AdamW, "adamw",
     "Adam with decoupled weight decay (torch.optim.AdamW)"},
    {Optimizer::LARS, "lars",
     "momentum SGD with layer-wise trust ratios (LARS, You et al. 2017)"},
    {Optimizer::LAMB, "lamb",
     "Adam with layer-wise trust ratios (LAMB, You et al. 2019)"},
};
inline constexpr Vocabulary<Optimizer> optimizers{"optimizer", kOptimizerWords};
inline const Vocabulary<Optimizer> &vocabularyOf(Optimizer) {
  return optimizers;
}
/// The optimizers with a velocity per parameter (and a --momentum).
constexpr bool hasVelocity(Optimizer o) {
  return o == Optimizer::Momentum || o == Optimizer::Nesterov ||
         o == Optimizer::LARS;
}
/// The optimizers with Adam's two moments, betas, eps and step count.
constexpr bool hasAdamMoments(Optimizer o) {
  return o == Optimizer::Adam || o == Optimizer::AdamW || o == Optimizer::LAMB;
}

/// An MLP's loss, or the loss appended to an ONNX inference graph.
enum class Loss { MSE, CrossEntropy, NLL };
inline constexpr Word<Loss> kLossWords[] = {
    {Loss::MSE, "mse", "mean squared error against targets"},
    {Loss::CrossEntropy, "cross-entropy",
     "softmax cross-entropy against class labels"},
    {Loss::CrossEntropy, "xent", ""},
    {Loss::NLL, "nll",
     "negative log-likelihood of log-probabilities (a LogSoftmax output) "
     "against class labels"},
};
inline constexpr Vocabulary<Loss> losses{"loss", kLossWords};
inline const Vocabulary<Loss> &vocabularyOf(Loss) { return losses; }

/// An MLP's hidden activation.
enum class Activation { ReLU, Sigmoid, Tanh };
inline constexpr Word<Activation> kActivationWords[] = {
    {Activation::ReLU, "relu", "max(x, 0)"},
    {Activation::Sigmoid, "sigmoid", "1 / (1 + exp(-x))"},
    {Activation::Tanh, "tanh", "tanh(x)"},
};
inline constexpr Vocabulary<Activation> activations{"activation",
                                                    kActivationWords};
inline const Vocabulary<Activation> &vocabularyOf(Activation) {
  return activations;
}

/// Weight initializations (biases always start at zero), as in
/// torch.nn.init with fan_in = inputs, fan_out = outputs of a [out, in]
/// weight: He/Kaiming normal N(0, 2/fan_in) and uniform U(±√(6/fan_in));
/// Xavier/Glorot uniform U(±√(6/(fan_in+fan_out))) and normal
/// N(0, 2/(fan_in+fan_out)); Gaussian N(0, σ²); constant c.
enum class Init {
  Kaiming,
  KaimingUniform,
  Xavier,
  XavierNormal,
  Gaussian,
  Constant
};
inline constexpr Word<Init> kInitWords[] = {
    {Init::Kaiming, "kaiming", "He normal, N(0, 2/fan_in)"},
    {Init::Kaiming, "he", ""},
    {Init::Kaiming, "kaiming-normal", ""},
    {Init::KaimingUniform, "kaiming-uniform", "He uniform"},
    {Init::KaimingUniform, "he-uniform", ""},
    {Init::Xavier, "xavier", "Glorot uniform"},
    {Init::Xavier, "glorot", ""},
    {Init::Xavier, "xavier-uniform", ""},
    {Init::XavierNormal, "xavier-normal", "Glorot normal"},
    {Init::XavierNormal, "glorot-normal", ""},
    {Init::Gaussian, "gaussian", "N(0, --init-std^2)"},
    {Init::Gaussian, "normal", ""},
    {Init::Constant, "constant", "every weight --init-value"},
};
inline constexpr Vocabulary<Init> inits{"initialization", kInitWords};
inline const Vocabulary<Init> &vocabularyOf(Init) { return inits; }

/// A learning-rate schedule's shape.
enum class ScheduleKind { Constant, Step, Exponential, Cosine };
inline constexpr Word<ScheduleKind> kScheduleWords[] = {
    {ScheduleKind::Constant, "constant", "the base rate throughout"},
    {ScheduleKind::Step, "step",
     "times --lr-gamma every --lr-step-size periods"},
    {ScheduleKind::Exponential, "exponential", "times --lr-gamma per period"},
    {ScheduleKind::Exponential, "exp", ""},
    {ScheduleKind::Cosine, "cosine", "cosine annealing to --lr-eta-min"},
};
inline constexpr Vocabulary<ScheduleKind> schedules{"learning-rate schedule",
                                                    kScheduleWords};
inline const Vocabulary<ScheduleKind> &vocabularyOf(ScheduleKind) {
  return schedules;
}

/// What a model is compiled for.
enum class Target { CPU, NVPTX };
inline constexpr Word<Target> kTargetWords[] = {
    {Target::CPU, "cpu", "this machine's CPU"},
    {Target::NVPTX, "nvptx",
     "NVIDIA GPUs: PTX kernels (and a cubin when ptxas is found) plus host "
     "code calling nnc's CUDA runtime"},
};
inline constexpr Vocabulary<Target> targets{"target", kTargetWords};
inline const Vocabulary<Target> &vocabularyOf(Target) { return targets; }

/// The NVPTX chips nnc-gpu-pipeline compiles for.
enum class NVPTXChip { SM70, SM72, SM75, SM80, SM86, SM87, SM89, SM90, SM90a };
inline constexpr Word<NVPTXChip> kNVPTXChipWords[] = {
    {NVPTXChip::SM70, "sm_70", "Volta"},
    {NVPTXChip::SM72, "sm_72", "Xavier"},
    {NVPTXChip::SM75, "sm_75", "Turing"},
    {NVPTXChip::SM80, "sm_80", "Ampere A100"},
    {NVPTXChip::SM86, "sm_86", "Ampere GA10x"},
    {NVPTXChip::SM87, "sm_87", "Orin"},
    {NVPTXChip::SM89, "sm_89", "Ada"},
    {NVPTXChip::SM90, "sm_90", "Hopper"},
    {NVPTXChip::SM90a, "sm_90a", "Hopper, arch-specific features"},
};
inline constexpr Vocabulary<NVPTXChip> nvptxChips{"NVPTX chip",
                                                  kNVPTXChipWords};
inline const Vocabulary<NVPTXChip> &vocabularyOf(NVPTXChip) {
  return nvptxChips;
}

/// The element type a training step's contractions read and its saved
/// activations are stored in (master weights, optimizer state, losses and
/// reductions stay f32).
enum class Precision { F32, BF16, F16 };
inline constexpr Word<Precision> kPrecisionWords[] = {
    {Precision::F32, "f32", "everything in f32"},
    {Precision::BF16, "bf16",
     "mixed precision: matmul operands and the activations they read in "
     "bf16, f32 accumulation, f32 master weights and optimizer state"},
    {Precision::F16, "fp16",
     "as bf16 with f16 (nvptx target only; pair it with "
     "--loss-scaling=dynamic: f16's range is narrow)"},
};
inline constexpr Vocabulary<Precision> precisions{"precision",
                                                  kPrecisionWords};
inline const Vocabulary<Precision> &vocabularyOf(Precision) {
  return precisions;
}

/// Whether a training step scales its loss (docs/MixedPrecision.md,
/// "Dynamic loss scaling").
enum class LossScaling { None, Dynamic };
inline constexpr Word<LossScaling> kLossScalingWords[] = {
    {LossScaling::None, "none", "the backward starts from 1"},
    {LossScaling::Dynamic, "dynamic",
     "PyTorch's GradScaler: the backward starts from a scale the caller "
     "owns; a step with an inf or NaN gradient updates nothing and halves "
     "it, 2000 finite steps double it"},
};
inline constexpr Vocabulary<LossScaling> lossScalings{"loss scaling",
                                                      kLossScalingWords};
inline const Vocabulary<LossScaling> &vocabularyOf(LossScaling) {
  return lossScalings;
}

/// Who computes the CPU target's contractions.
enum class GemmEngine { Library, Generated };
inline constexpr Word<GemmEngine> kGemmWords[] = {
    {GemmEngine::Library, "library",
     "the CPU runtime's GEMM (oneDNN, which picks its kernels from the "
     "CPU's features)"},
    {GemmEngine::Generated, "generated", "nnc's own register-tiled loops"},
};
inline constexpr Vocabulary<GemmEngine> gemmEngines{"GEMM engine", kGemmWords};
inline const Vocabulary<GemmEngine> &vocabularyOf(GemmEngine) {
  return gemmEngines;
}

/// The layout of the activations convolutions and poolings hand each other
/// on the CPU (nnc-block-conv-layouts).
enum class ConvLayout { Plain, Blocked };
inline constexpr Word<ConvLayout> kConvLayoutWords[] = {
    {ConvLayout::Plain, "plain",
     "NCHW everywhere; each call reorders to the layout its kernel reads"},
    {ConvLayout::Blocked, "blocked",
     "oneDNN's nChw16c between layers that all read it (chosen at compile "
     "time), NCHW at the boundaries"},
};
inline constexpr Vocabulary<ConvLayout> convLayouts{"convolution layout",
                                                    kConvLayoutWords};
inline const Vocabulary<ConvLayout> &vocabularyOf(ConvLayout) {
  return convLayouts;
}

/// How checkpoint costs are priced.
enum class CostModel { Flops, Measured };
inline constexpr Word<CostModel> kCostModelWords[] = {
    {CostModel::Flops, "flops", "FLOPs of each stage"},
    {CostModel::Measured, "measured",
     "compile store-all, time the forward and the step here, plan in "
     "predicted seconds"},
};
inline constexpr Vocabulary<CostModel> costModels{"cost model",
                                                  kCostModelWords};
inline const Vocabulary<CostModel> &vocabularyOf(CostModel) {
  return costModels;
}

/// When nnc-train draws a progress bar.
enum class ProgressBar { Auto, Always, Never };
inline constexpr Word<ProgressBar> kProgressWords[] = {
    {ProgressBar::Auto, "auto", "on a terminal"},
    {ProgressBar::Always, "always", "always"},
    {ProgressBar::Never, "never", "never"},
};
inline constexpr Vocabulary<ProgressBar> progressBars{"progress bar",
                                                      kProgressWords};
inline const Vocabulary<ProgressBar> &vocabularyOf(ProgressBar) {
  return progressBars;
}

/// Machine-readable reports the tools print.
enum class ReportFormat { None, JSON };
inline constexpr Word<ReportFormat> kReportWords[] = {
    {ReportFormat::None, "none", "no report"},
    {ReportFormat::JSON, "json", "JSON on stdout"},
};
inline constexpr Vocabulary<ReportFormat> reportFormats{"report format",
                                                        kReportWords};
inline const Vocabulary<ReportFormat> &vocabularyOf(ReportFormat) {
  return reportFormats;
}

} // namespace nnc

namespace mlir::nnc {
using ::nnc::Activation;
using ::nnc::CheckpointStrategy;
using ::nnc::CostModel;
using ::nnc::ConvLayout;
using ::nnc::GemmEngine;
using ::nnc::Init;
using ::nnc::Loss;
using ::nnc::NVPTXChip;
using ::nnc::Optimizer;
using ::nnc::LossScaling;
using ::nnc::Precision;
using ::nnc::Target;
} // namespace mlir::nnc

#endif // NNC_SUPPORT_VOCABULARIES_H
