//===- Pipelines.h - steps both targets share -------------------*- C++ -*-===//
//
// Part of nnc, under the Apache License v2.0 with LLVM Exceptions.
// See LICENSE for license information.
//
//===----------------------------------------------------------------------===//

#ifndef NNC_CODEGEN_COMMON_PIPELINES_H
#define NNC_CODEGEN_COMMON_PIPELINES_H

#include "mlir/Pass/PassManager.h"

namespace mlir::nnc {

/// Adds upstream passes by their textual form (what `nnc-opt --help` and lit
/// RUN lines spell), registering MLIR's passes first; a malformed built-in
/// pipeline is a fatal error.
void addTextualPipeline(OpPassManager &pm, StringRef pipeline);

/// What both targets' host code goes through on its way to the LLVM dialect
/// (affine, scf, math, memref, arith, func with bare pointers).
void buildHostToLLVMPipeline(OpPassManager &pm);

} // namespace mlir::nnc

#endif // NNC_CODEGEN_COMMON_PIPELINES_H
