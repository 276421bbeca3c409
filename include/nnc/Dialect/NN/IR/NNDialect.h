//===- NNDialect.h - nn dialect ---------------------------------*- C++ -*-===//
//
// Part of nnc, under the Apache License v2.0 with LLVM Exceptions.
// See LICENSE for license information.
//
//===----------------------------------------------------------------------===//

#ifndef NNC_DIALECT_NN_IR_NNDIALECT_H
#define NNC_DIALECT_NN_IR_NNDIALECT_H

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Dialect.h"

#include "nnc/Dialect/NN/IR/NNOpsDialect.h.inc"

#endif // NNC_DIALECT_NN_IR_NNDIALECT_H
