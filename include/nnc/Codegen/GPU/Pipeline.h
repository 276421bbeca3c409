//===- Pipeline.h - the GPU target's code generation ------------*- C++ -*-===//
//
// Part of nnc, under the Apache License v2.0 with LLVM Exceptions.
// See LICENSE for license information.
//
//===----------------------------------------------------------------------===//

#ifndef NNC_CODEGEN_GPU_PIPELINE_H
#define NNC_CODEGEN_GPU_PIPELINE_H

#include "nnc/Support/OptionsBinder.h"
#include "nnc/Support/Vocabularies.h"

#include "mlir/Pass/PassManager.h"
#include "llvm/Support/Error.h"

#include <string>

namespace mlir::nnc {

/// The NVPTX target's code generation options.
struct GPUCodegenOptions {
  NVPTXChip chip = NVPTXChip::SM90;
  /// The CUDA toolkit (libdevice, ptxas); empty: $CUDA_PATH, else
  /// /usr/local/cuda.
  std::string cudaPath;

  void bind(::nnc::OptionsBinder &binder);
  llvm::Error validate() const;
  std::string getToolkitPath() const;
  llvm::StringRef getChipName() const { return ::nnc::nvptxChips.name(chip); }
};

/// Buffers (after nnc-plan-memory) → kernels (PTX for `opts.chip`,
/// embedded) and host code in the LLVM dialect calling nnc's CUDA runtime.
void buildGPUCodegenPipeline(OpPassManager &pm, const GPUCodegenOptions &opts);

} // namespace mlir::nnc

#endif // NNC_CODEGEN_GPU_PIPELINE_H
