//===- NNOps.h - nn dialect operations --------------------------*- C++ -*-===//
//
// Part of nnc.
//
//===----------------------------------------------------------------------===//

#ifndef NNC_DIALECT_NN_IR_NNOPS_H
#define NNC_DIALECT_NN_IR_NNOPS_H

#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/OpDefinition.h"
#include "mlir/Interfaces/InferTypeOpInterface.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "nnc/Dialect/NN/IR/NNDialect.h"

#include "nnc/Dialect/NN/IR/NNInterfaces.h.inc"

#define GET_OP_CLASSES
#include "nnc/Dialect/NN/IR/NNOps.h.inc"

namespace mlir::nnc {
/// Number of elements of a statically shaped tensor type.
int64_t getNumElements(Type type);
/// Bytes of a statically shaped tensor type.
int64_t getSizeInBytes(Type type);
} // namespace mlir::nnc

#endif // NNC_DIALECT_NN_IR_NNOPS_H
