//===- Compiler.h - compile a model for the CPU -----------------*- C++ -*-===//
//
// Part of nnc, under the Apache License v2.0 with LLVM Exceptions.
// See LICENSE for license information.
//
// The library entry point behind nnc-compile and the JIT: runs the named
// pipelines on a model module, records what the entry points look like at
// the graph level (names, shapes, element types, costs) and hands back the
// LLVM-dialect module. Writing it out is in Emit.h, CHeader.h, Report.h.
//
//===----------------------------------------------------------------------===//

#ifndef NNC_PIPELINE_COMPILER_H
#define NNC_PIPELINE_COMPILER_H

#include "nnc/Dialect/NN/IR/NNAttrs.h"
#include "nnc/Frontend/Weights.h"
#include "nnc/Pipeline/Pipelines.h"
#include "nnc/Planner/Chain.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/OwningOpRef.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/Support/Error.h"

#include <optional>
#include <string>
#include <vector>

namespace mlir::nnc {

/// One caller-owned buffer of an entry point.
struct BufferInfo {
  /// A C identifier (`nn.name`).
  std::string name;
  /// The name in the model file it came from (`nn.source_name`, e.g. an
  /// ONNX initializer's), else `name`; what weights files use.
  std::string sourceName;
  std::vector<int64_t> shape;
  std::string cType; // float, int32_t or int64_t
  int64_t bytes = 0;
  bool isParam = false;
  /// Optimizer state (`nn.state`): caller-owned and carried from step to
  /// step like a parameter; zero before the first step.
  bool isState = false;
  /// A batch norm's running statistic (`nn.running_stat`): caller-owned,
  /// not trained by gradients; a training step returns its update as
  /// `new_<name>`.
  bool isRunningStat = false;
};

/// A compiled function: `void name(inputs..., outputs..., workspace)`, every
/// buffer a plain pointer (bare-pointer calling convention). The workspace
/// is the caller-owned arena of `workspaceBytes` bytes (64-byte aligned)
/// holding every intermediate buffer.
struct EntryPoint {
  std::string name;
  EntryRole role = EntryRole::Loss;
  std::vector<BufferInfo> inputs, outputs;
  int64_t workspaceBytes = 0;
  /// The most bytes live at any one point: the arena's lower bound.
  int64_t maxLiveBytes = 0;
  /// The CPU runtime's own workspace beside the arena: the largest of the
  /// oneDNN calls' workspaces that did not fit in it (nnc-plan-memory).
  int64_t runtimeWorkspaceBytes = 0;
};

/// Graph-level figures of the gradient (or training-step) function.
/// One bucket of a data-parallel step's gradient all-reduce
/// (nnc-insert-allreduce), in the order the step starts them.
struct AllReduceBucket {
  int64_t bucket = 0;
  int64_t bytes = 0;
  int64_t gradients = 0;
  /// FLOPs the step computes between the bucket's start and its wait: the
  /// work its communication can hide behind (the predicted overlap).
  int64_t windowFlops = 0;
};

struct ModelStats {
  int64_t forwardFlops = 0;
  int64_t backwardFlops = 0;
  int64_t paramBytes = 0;
  int64_t numParams = 0;
  /// Caller-owned optimizer state the step reads and updates (velocities,
  /// Adam's moments): part of a training run's memory beside the arena.
  int64_t optimizerStateBytes = 0;
  /// Bytes of forward values the backward reads: what must be kept (or
  /// recomputed) between the two passes.
  int64_t savedActivationBytes = 0;
  /// The checkpoint plan nnc-plan-checkpoints attached (null if none).
  CheckpointPlanAttr plan;
  /// The gradient all-reduce's buckets (empty unless --all-reduce).
  std::vector<AllReduceBucket> allReduceBuckets;
};

struct CompiledModel {
  Target target = Target::CPU;
  /// For NVPTX: the kernels' PTX (also embedded in the host module).
  std::string ptx;
  std::vector<EntryPoint> entries;
  ModelStats stats;
  /// The model function's name (the C header guard is derived from it).
  std::string name;
  OwningOpRef<ModuleOp> module; // LLVM dialect
  /// Linker arguments the compiled code needs at run time (runtime
  /// libraries it calls), for shared libraries and for users of objects.
  std::vector<std::string> linkLibraries;
  const EntryPoint *find(EntryRole role) const;
  /// The model's parameters and batch norms' running statistics in
  /// argument order: their source names and shapes, what a weights file for
  /// it holds (as PyTorch's state_dict holds both).
  std::vector<TensorSpec> parameters() const;
  /// The training step, else the gradient function: what reports headline.
  const EntryPoint *step() const;
};

/// Whether a CPU with `features` (LLVM's names, as
/// llvm::sys::getHostCPUFeatures gives them) multiplies bf16 in hardware:
/// AVX-512 BF16 or AMX. Without, oneDNN would emulate it at a fraction of
/// the f32 speed, so compileForCPU refuses --precision=bf16 with this
/// error rather than compile silently slow code.
llvm::Error checkBF16Support(const llvm::StringMap<bool> &features);

/// Runs the CPU pipeline on `module` (consumed). Errors are reported through
/// the context's diagnostic handler. Buffers are named after the `nn.name`
/// of the model's arguments (`arg<i>`, `param<i>` where there is none).
FailureOr<CompiledModel> compileForCPU(OwningOpRef<ModuleOp> module,
                                       const CompileOptions &options);

/// The same for NVIDIA GPUs (nnc-gpu-pipeline, `options.gpu.chip`): the
/// host module (LLVM dialect, for the CPU) launches the kernels through
/// nnc's CUDA runtime; every buffer an entry point takes is device memory.
FailureOr<CompiledModel> compileForGPU(OwningOpRef<ModuleOp> module,
                                       const CompileOptions &options);

/// The checkpoint planner's chain for a model module (consumed): the graph
/// stage runs (verify, autodiff with `options`' learning rate) and the
/// gradient function is split into stages exactly as nnc-plan-checkpoints
/// does. This is how nnc-plan reads a model.
FailureOr<::nnc::planner::Chain>
buildChainForModel(ModuleOp module, const CompileOptions &options);

/// What a program linking CPU code that calls the runtime needs: the
/// runtime's static archive (nnc's own build or installation), oneDNN and
/// its OpenMP.
std::vector<std::string> cpuRuntimeLinkArguments();

/// The same for host code of the NVPTX target: the CUDA runtime's archive
/// and libdl (the driver is opened at run time).
std::vector<std::string> cudaRuntimeLinkArguments();

/// The same for the data-parallel library (empty without MPI).
std::vector<std::string> mpiRuntimeLinkArguments();

/// The same for the NVPTX target's all-reduce: the NCCL runtime's archive,
/// then the MPI one's it sets its communicator up with (empty when nnc was
/// built without nccl.h or MPI).
std::vector<std::string> ncclRuntimeLinkArguments();

/// Registers MLIR's context, pass-manager, timing and printing command-line
/// options (`--mlir-print-ir-after-all`, `--mlir-timing`,
/// `--mlir-pass-pipeline-crash-reproducer`, ...) before a tool parses its
/// command line; compileForCPU, compileForGPU and buildChainForModel then
/// apply them to every pass manager they run.
void registerCompilerCLOptions();

/// Graph-level statistics of a gradient function produced by nnc-autodiff.
ModelStats computeModelStats(func::FuncOp gradFn);

} // namespace mlir::nnc

#endif // NNC_PIPELINE_COMPILER_H
