//===- Compiler.h - compile a model for the CPU -----------------*- C++ -*-===//
//
// Part of nnc.
//
// The library entry point behind nnc-compile and the JIT: runs the named
// pipelines on a model module, records what the entry points look like at
// the graph level (names, shapes, element types, costs) and hands back the
// LLVM-dialect module.
//
//===----------------------------------------------------------------------===//

#ifndef NNC_PIPELINE_COMPILER_H
#define NNC_PIPELINE_COMPILER_H

#include "nnc/Pipeline/Pipelines.h"
#include "nnc/Planner/Chain.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/OwningOpRef.h"
#include "llvm/Support/JSON.h"

#include <optional>
#include <string>
#include <vector>

namespace mlir::nnc {

/// One caller-owned buffer of an entry point.
struct BufferInfo {
  std::string name;
  std::vector<int64_t> shape;
  std::string cType; // float, int32_t or int64_t
  int64_t bytes = 0;
  bool isParam = false;
};

/// A compiled function: `void name(inputs..., outputs..., workspace)`, every
/// buffer a plain pointer (bare-pointer calling convention). The workspace
/// is the caller-owned arena of `workspaceBytes` bytes (64-byte aligned)
/// holding every intermediate buffer.
struct EntryPoint {
  std::string name;
  std::string role; // "train_step", "grad", "loss" or "predict"
  std::vector<BufferInfo> inputs, outputs;
  int64_t workspaceBytes = 0;
  /// The most bytes live at any one point: the arena's lower bound.
  int64_t maxLiveBytes = 0;
};

/// Graph-level figures of the gradient (or training-step) function.
struct ModelStats {
  int64_t forwardFlops = 0;
  int64_t backwardFlops = 0;
  int64_t paramBytes = 0;
  int64_t numParams = 0;
  /// Bytes of forward values the backward reads: what must be kept (or
  /// recomputed) between the two passes.
  int64_t savedActivationBytes = 0;

  /// The checkpoint plan (nnc-plan-checkpoints), in the planner's units:
  /// costs are FLOPs or, with measured times per FLOP, seconds (costUnit);
  /// peaks are bytes of chain values (activations, saved data and
  /// gradients; the input batch excluded).
  std::string strategy;
  std::optional<int64_t> budgetBytes;
  int64_t stages = 0;
  int64_t predictedPeakBytes = 0;
  int64_t storeAllPeakBytes = 0;
  int64_t minBudgetBytes = 0;
  std::string costUnit = "flop"; // "flop" or "second"
  double computeCost = 0, storeAllCost = 0, recomputeCost = 0;
  /// The same plan counted in FLOPs, whatever the cost unit.
  double computeFlops = 0, storeAllFlops = 0, recomputeFlops = 0;
  int64_t forwardSteps = 0;
};

struct CompiledModel {
  std::vector<EntryPoint> entries;
  ModelStats stats;
  OwningOpRef<ModuleOp> module; // LLVM dialect
  const EntryPoint *find(StringRef role) const;
};

/// Runs the CPU pipeline on `module` (consumed). Errors are reported through
/// the context's diagnostic handler. `argNames`, if given, names the model
/// function's arguments in order (x, labels, W1, b1, ...).
FailureOr<CompiledModel> compileForCPU(OwningOpRef<ModuleOp> module,
                                       const CPUPipelineOptions &options,
                                       ArrayRef<std::string> argNames = {});

/// The checkpoint planner's chain for a model module (consumed): the graph
/// stage is run (verify, autodiff) and the gradient function is split into
/// stages exactly as nnc-plan-checkpoints does. This is how nnc-plan reads
/// a .mlir model or an MLP spec.
FailureOr<::nnc::planner::Chain> buildChainForModel(ModuleOp module);

/// Graph-level statistics of a gradient function produced by nnc-autodiff.
ModelStats computeModelStats(func::FuncOp gradFn);

/// The C header declaring every entry point, with the buffer contract.
void writeCHeader(const CompiledModel &model, StringRef guard,
                  llvm::raw_ostream &os);

/// `--report=json`: what was compiled.
llvm::json::Value reportJSON(const CompiledModel &model,
                             const CPUPipelineOptions &options);

/// Translates to LLVM IR, optimizes at -O3 for the host and writes an object
/// file.
LogicalResult emitObjectFile(ModuleOp module, StringRef path);

/// Links `objectPath` into a shared library with the system compiler driver
/// (it adds -lm for the libm calls of tanh/exp/log).
LogicalResult linkSharedLibrary(StringRef objectPath, StringRef libPath);

} // namespace mlir::nnc

#endif // NNC_PIPELINE_COMPILER_H
