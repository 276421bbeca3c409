//===- Pipelines.h - nnc's named pass pipelines -----------------*- C++ -*-===//
//
// Part of nnc, under the Apache License v2.0 with LLVM Exceptions.
// See LICENSE for license information.
//
// The same pipelines back `nnc-opt --nnc-cpu-pipeline`, `nnc-compile` and the
// JIT, so a `.mlir` file run through nnc-opt is compiled exactly as the
// library compiles it.
//
//===----------------------------------------------------------------------===//

#ifndef NNC_PIPELINE_PIPELINES_H
#define NNC_PIPELINE_PIPELINES_H

#include "nnc/Dialect/NN/IR/NNAttrs.h"

#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassOptions.h"

namespace mlir {
class DialectRegistry;
namespace nnc {

llvm::cl::ValuesClass checkpointStrategyCLValues();
llvm::cl::ValuesClass optimizerCLValues();

/// Who computes the CPU target's contractions.
enum class GemmEngine { Library, Generated };

struct CPUPipelineOptions : public PassPipelineOptions<CPUPipelineOptions> {
  PassOptions::Option<bool> autodiff{
      *this, "autodiff",
      llvm::cl::desc("Derive the gradient/training-step function first"),
      llvm::cl::init(true)};
  PassOptions::Option<double> learningRate{
      *this, "learning-rate",
      llvm::cl::desc("Fixed learning rate compiled into the training step; "
                     "0 with an optimizer: the step's run-time 'lr' input; "
                     "0 without: a gradient function (loss, then one "
                     "gradient per nn.param)"),
      llvm::cl::init(0.0)};
  PassOptions::Option<Optimizer> optimizer{
      *this, "optimizer", llvm::cl::desc("The update of a training step"),
      optimizerCLValues(), llvm::cl::init(Optimizer::None)};
  PassOptions::Option<double> momentum{
      *this, "momentum", llvm::cl::desc("Momentum (momentum, nesterov)"),
      llvm::cl::init(0.9)};
  PassOptions::Option<double> beta1{*this, "beta1",
                                    llvm::cl::desc("Adam's first-moment decay"),
                                    llvm::cl::init(0.9)};
  PassOptions::Option<double> beta2{
      *this, "beta2", llvm::cl::desc("Adam's second-moment decay"),
      llvm::cl::init(0.999)};
  PassOptions::Option<double> eps{*this, "eps",
                                  llvm::cl::desc("Adam's denominator term"),
                                  llvm::cl::init(1e-8)};
  PassOptions::Option<double> weightDecay{
      *this, "weight-decay",
      llvm::cl::desc("L2 penalty added to each gradient"), llvm::cl::init(0.0)};
  PassOptions::Option<bool> gradNorms{
      *this, "grad-norms",
      llvm::cl::desc("The step also returns each parameter gradient's "
                     "Euclidean norm"),
      llvm::cl::init(false)};
  PassOptions::Option<bool> returnOutput{
      *this, "return-output",
      llvm::cl::desc("The step also returns the network's output (logits), "
                     "last"),
      llvm::cl::init(false)};
  PassOptions::Option<CheckpointStrategy> strategy{
      *this, "strategy", llvm::cl::desc("Checkpointing strategy"),
      checkpointStrategyCLValues(),
      llvm::cl::init(CheckpointStrategy::StoreAll)};
  PassOptions::Option<std::string> budget{
      *this, "budget",
      llvm::cl::desc("Activation memory budget in bytes (KiB/MiB/GiB "
                     "suffixes) for chen and dp"),
      llvm::cl::init("")};
  PassOptions::Option<unsigned> slots{
      *this, "slots",
      llvm::cl::desc("Memory discretisation of the dp strategy"),
      llvm::cl::init(500)};
  PassOptions::Option<double> forwardFlopSeconds{
      *this, "forward-flop-seconds",
      llvm::cl::desc("Measured seconds per forward FLOP; with "
                     "backward-flop-seconds, checkpoint costs are predicted "
                     "seconds instead of FLOPs"),
      llvm::cl::init(0.0)};
  PassOptions::Option<double> backwardFlopSeconds{
      *this, "backward-flop-seconds",
      llvm::cl::desc("Measured seconds per backward FLOP"),
      llvm::cl::init(0.0)};
  PassOptions::Option<bool> fuseUpdates{
      *this, "fuse-updates",
      llvm::cl::desc("Fold each weight's SGD step into the matmul computing "
                     "its gradient (nnc-fuse-updates): the weight gradient "
                     "is never materialized"),
      llvm::cl::init(true)};
  PassOptions::Option<GemmEngine> gemm{
      *this, "gemm", llvm::cl::desc("How the CPU target runs contractions"),
      llvm::cl::values(
          clEnumValN(GemmEngine::Library, "library",
                     "call the CPU runtime's GEMM (oneDNN's sgemm, which "
                     "picks its kernels from the CPU's features)"),
          clEnumValN(GemmEngine::Generated, "generated",
                     "nnc's own register-tiled loops")),
      llvm::cl::init(GemmEngine::Library)};
  PassOptions::Option<std::string> chip{
      *this, "chip",
      llvm::cl::desc("NVPTX target of nnc-gpu-pipeline (sm_70 ... sm_90a)"),
      llvm::cl::init("sm_90")};
  PassOptions::Option<std::string> cudaPath{
      *this, "cuda-path",
      llvm::cl::desc("CUDA toolkit whose libdevice the kernels' math "
                     "functions (exp, log, tanh, erf) link against (default: "
                     "$CUDA_PATH, else /usr/local/cuda)"),
      llvm::cl::init("")};
  PassOptions::Option<std::string> memorySvg{
      *this, "memory-svg",
      llvm::cl::desc("Write the step's arena over time as an SVG picture"),
      llvm::cl::init("")};
};

struct AutodiffOptions;

/// The options of nnc-autodiff that `opts` selects (learning rate,
/// optimizer and its hyper-parameters, gradient norms).
AutodiffOptions getAutodiffOptions(const CPUPipelineOptions &opts);

/// Copies what `getAutodiffOptions` reads from `from` to `to`: the same
/// training step, planned differently.
void copyStepOptions(const CPUPipelineOptions &from, CPUPipelineOptions &to);

/// Whether the graph stage folds SGD updates into their weight-gradient
/// matmuls (nnc-fuse-updates) for these options: a plain SGD step with
/// fuse-updates on. The checkpoint planner is told the same.
bool fusesUpdates(const CPUPipelineOptions &opts);

/// Graph-level stage: verify the model, differentiate it.
void buildNNGraphPipeline(OpPassManager &pm, const CPUPipelineOptions &opts);

/// nn → linalg on tensors → buffers with caller-owned results.
void buildNNBufferizePipeline(OpPassManager &pm,
                              const CPUPipelineOptions &opts);

/// Buffers → LLVM dialect, bare-pointer calling convention: each memref
/// argument becomes a plain `float*` / `int32_t*` in the C ABI.
void buildLowerToLLVMPipeline(OpPassManager &pm,
                              const CPUPipelineOptions &opts);

/// The whole CPU pipeline: graph stage, bufferization, LLVM.
void buildCPUPipeline(OpPassManager &pm, const CPUPipelineOptions &opts);

/// What both targets' host code goes through on its way to the LLVM dialect
/// (affine, scf, math, memref, arith, func with bare pointers).
void buildHostToLLVMPipeline(OpPassManager &pm);

/// The chips nnc-gpu-pipeline targets.
bool isKnownNVPTXChip(StringRef chip);

/// The CUDA toolkit `opts` names: its `cuda-path`, else $CUDA_PATH, else
/// /usr/local/cuda.
std::string getCUDAToolkitPath(const CPUPipelineOptions &opts);

/// Buffers → kernels (PTX for `chip`, embedded) and host code in the LLVM
/// dialect calling nnc's CUDA runtime.
void buildGPUCodegenPipeline(OpPassManager &pm, const CPUPipelineOptions &opts);

/// The whole GPU pipeline: graph stage, bufferization, GPU codegen.
void buildGPUPipeline(OpPassManager &pm, const CPUPipelineOptions &opts);

/// Registers `nnc-cpu-pipeline` with the pass registry.
void registerNNCPipelines();

/// Registers every nnc pass and pipeline.
void registerNNCPasses();

/// Adds the nn dialect, the upstream dialects and extensions the pipelines
/// use, and the LLVM IR translations the JIT and nnc-compile need.
void registerNNCDialects(DialectRegistry &registry);

} // namespace nnc
} // namespace mlir

#endif // NNC_PIPELINE_PIPELINES_H
