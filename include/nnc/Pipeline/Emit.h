//===- Emit.h - write a compiled model out ----------------------*- C++ -*-===//
//
// Part of nnc, under the Apache License v2.0 with LLVM Exceptions.
// See LICENSE for license information.
//
//===----------------------------------------------------------------------===//

#ifndef NNC_PIPELINE_EMIT_H
#define NNC_PIPELINE_EMIT_H

#include "nnc/Pipeline/Compiler.h"

#include <optional>

namespace mlir::nnc {

/// What nnc-compile writes.
enum class OutputKind {
  Object,        // .o: relocatable object for the host
  SharedLibrary, // .so: the object linked with the system compiler driver
  LLVMIR,        // .ll: LLVM IR text
  MLIR,          // .mlir: the LLVM-dialect module
};

/// The kind a file name asks for by its extension, if any.
std::optional<OutputKind> outputKindFromPath(StringRef path);

/// Writes `model` to `path` as `kind`; errors go to the context's
/// diagnostic handler.
LogicalResult emitCompiledModel(const CompiledModel &model, StringRef path,
                                OutputKind kind);

/// For an NVPTX model: writes its PTX to `path`, and when `cubinPath` is not
/// empty and ptxas is found (in the toolkit `options.gpu` names, then on
/// PATH) assembles it for `options.gpu.chip` there too. Returns whether a cubin was written; errors (an
/// assembly error included) are llvm::Errors.
llvm::Expected<bool> emitPTX(const CompiledModel &model, StringRef path,
                             const CompileOptions &options,
                             StringRef cubinPath);

/// Translates to LLVM IR, optimizes at -O3 for the host and writes an object
/// file.
LogicalResult emitObjectFile(ModuleOp module, StringRef path);

/// Links `objectPath` into a shared library with the system compiler driver,
/// with `libraries` (linker arguments such as -l<name>) and -lm for the
/// libm calls of tanh/exp/log.
llvm::Error linkSharedLibrary(StringRef objectPath, StringRef libPath,
                              ArrayRef<std::string> libraries = {});

} // namespace mlir::nnc

#endif // NNC_PIPELINE_EMIT_H
