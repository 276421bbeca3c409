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

#include "nnc/Pipeline/Options.h"

#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassOptions.h"

namespace mlir {
class DialectRegistry;
namespace nnc {

/// Graph-level stage: verify the model, differentiate it, plan its
/// checkpoints. On the CPU, max pooling's backward reads positions the
/// forward saves (nnc-max-pool-indices); the NVPTX target recomputes them.
void buildNNGraphPipeline(OpPassManager &pm, const CompileOptions &opts,
                          Target target);

/// nn → linalg on tensors → buffers with caller-owned results.
/// On the CPU, the activations between convolutions are laid out for
/// oneDNN first (opts.cpu.convLayout); the NVPTX target keeps NCHW.
void buildNNBufferizePipeline(OpPassManager &pm, const CompileOptions &opts,
                              Target target);

/// The whole CPU pipeline: graph stage, bufferization, then the CPU
/// target's code generation (buildCPUCodegenPipeline,
/// nnc/Codegen/CPU/Pipeline.h).
void buildCPUPipeline(OpPassManager &pm, const CompileOptions &opts);

/// The whole GPU pipeline: graph stage, bufferization, then the GPU
/// target's code generation (buildGPUCodegenPipeline,
/// nnc/Codegen/GPU/Pipeline.h).
void buildGPUPipeline(OpPassManager &pm, const CompileOptions &opts);

/// Registers `nnc-cpu-pipeline` and `nnc-gpu-pipeline` (PipelineOptions)
/// with the pass registry.
void registerNNCPipelines();

/// Registers every nnc pass and pipeline.
void registerNNCPasses();

/// Adds the nn dialect, the upstream dialects and extensions the pipelines
/// use, and the LLVM IR translations the JIT and nnc-compile need.
void registerNNCDialects(DialectRegistry &registry);

} // namespace nnc
} // namespace mlir

#endif // NNC_PIPELINE_PIPELINES_H
