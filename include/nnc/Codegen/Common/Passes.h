//===- Passes.h - codegen passes shared by targets --------------*- C++ -*-===//
//
// Part of nnc, under the Apache License v2.0 with LLVM Exceptions.
// See LICENSE for license information.
//
//===----------------------------------------------------------------------===//

#ifndef NNC_CODEGEN_COMMON_PASSES_H
#define NNC_CODEGEN_COMMON_PASSES_H

#include "mlir/IR/BuiltinOps.h"
#include "mlir/Pass/Pass.h"
#include "nnc/Support/Vocabularies.h"

namespace mlir::nnc {

#define GEN_PASS_DECL
#include "nnc/Codegen/Common/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "nnc/Codegen/Common/Passes.h.inc"

} // namespace mlir::nnc

#endif // NNC_CODEGEN_COMMON_PASSES_H
