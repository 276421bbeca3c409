//===- Pipeline.h - the CPU target's code generation ------------*- C++ -*-===//
//
// Part of nnc, under the Apache License v2.0 with LLVM Exceptions.
// See LICENSE for license information.
//
//===----------------------------------------------------------------------===//

#ifndef NNC_CODEGEN_CPU_PIPELINE_H
#define NNC_CODEGEN_CPU_PIPELINE_H

#include "nnc/Support/OptionsBinder.h"
#include "nnc/Support/Vocabularies.h"

#include "mlir/Pass/PassManager.h"

namespace mlir::nnc {

/// The CPU target's code generation options.
struct CPUCodegenOptions {
  GemmEngine gemm = GemmEngine::Library;
  ConvLayout convLayout = ConvLayout::Blocked;

  void bind(::nnc::OptionsBinder &binder);
};

/// Buffers (after nnc-plan-memory) → LLVM dialect, bare-pointer calling
/// convention: each memref argument becomes a plain `float*` / `int32_t*`
/// in the C ABI.
void buildCPUCodegenPipeline(OpPassManager &pm, const CPUCodegenOptions &opts);

} // namespace mlir::nnc

#endif // NNC_CODEGEN_CPU_PIPELINE_H
