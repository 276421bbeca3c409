//===- CHeader.h - the C header of compiled entry points --------*- C++ -*-===//
//
// Part of nnc, under the Apache License v2.0 with LLVM Exceptions.
// See LICENSE for license information.
//
//===----------------------------------------------------------------------===//

#ifndef NNC_PIPELINE_CHEADER_H
#define NNC_PIPELINE_CHEADER_H

#include "nnc/Pipeline/Compiler.h"

#include "llvm/Support/Error.h"
#include "llvm/Support/raw_ostream.h"

namespace mlir::nnc {

/// The C header declaring every entry point of `model`, with the buffer
/// contract (shapes, order, ownership, the workspace). Fails, writing
/// nothing, if a function or buffer name is not a C identifier.
llvm::Error writeCHeader(const CompiledModel &model, llvm::raw_ostream &os);

} // namespace mlir::nnc

#endif // NNC_PIPELINE_CHEADER_H
