//===- Passes.h - memory planning passes ------------------------*- C++ -*-===//
//
// Part of nnc, under the Apache License v2.0 with LLVM Exceptions.
// See LICENSE for license information.
//
//===----------------------------------------------------------------------===//

#ifndef NNC_TRANSFORMS_PASSES_H
#define NNC_TRANSFORMS_PASSES_H

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/Pass/Pass.h"

namespace mlir::nnc {

#define GEN_PASS_DECL
#include "nnc/Transforms/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "nnc/Transforms/Passes.h.inc"

} // namespace mlir::nnc

#endif // NNC_TRANSFORMS_PASSES_H
