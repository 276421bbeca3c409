//===- Report.h - what was compiled, as JSON --------------------*- C++ -*-===//
//
// Part of nnc, under the Apache License v2.0 with LLVM Exceptions.
// See LICENSE for license information.
//
//===----------------------------------------------------------------------===//

#ifndef NNC_PIPELINE_REPORT_H
#define NNC_PIPELINE_REPORT_H

#include "nnc/Pipeline/Compiler.h"

#include "llvm/Support/JSON.h"

namespace mlir::nnc {

/// `--report=json`: the entry points and their buffers, the arena, the
/// model's FLOPs and parameters, and the checkpoint plan's figures.
llvm::json::Value reportJSON(const CompiledModel &model,
                             const CompileOptions &options);

} // namespace mlir::nnc

#endif // NNC_PIPELINE_REPORT_H
