//===- NNOps.h - nn dialect operations --------------------------*- C++ -*-===//
//
// Part of nnc, under the Apache License v2.0 with LLVM Exceptions.
// See LICENSE for license information.
//
//===----------------------------------------------------------------------===//

#ifndef NNC_DIALECT_NN_IR_NNOPS_H
#define NNC_DIALECT_NN_IR_NNOPS_H

#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/OpDefinition.h"
#include "mlir/Interfaces/InferTypeOpInterface.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "nnc/Dialect/NN/IR/NNAttrs.h"
#include "nnc/Dialect/NN/IR/NNDialect.h"

#include "nnc/Dialect/NN/IR/NNInterfaces.h.inc"

namespace mlir::nnc::NNTrait {
/// The op's vector-Jacobian product reads its result, not its operand
/// (activations); see NN_GradientFromResult in NNOps.td.
template <typename ConcreteType>
class GradientFromResult
    : public ::mlir::OpTrait::TraitBase<ConcreteType, GradientFromResult> {};

/// The op computes a training loss; see NN_Loss in NNOps.td.
template <typename ConcreteType>
class Loss : public ::mlir::OpTrait::TraitBase<ConcreteType, Loss> {};
} // namespace mlir::nnc::NNTrait

#define GET_OP_CLASSES
#include "nnc/Dialect/NN/IR/NNOps.h.inc"

namespace mlir::nnc {
/// Number of elements of a statically shaped type.
int64_t getNumElements(Type type);
/// Bytes of a statically shaped type of scalars or vectors of scalars
/// (a vector element counts all its lanes). Callers have checked the type
/// with checkSizeLimits (or know it is small).
int64_t getSizeInBytes(Type type);

/// The bytes of `type` computed with overflow checks, or a message saying
/// why it has no acceptable size: not a statically shaped type of numbers,
/// or more than limits::kMaxTensorBytes (1 TiB). An empty shape is 0 bytes.
FailureOr<int64_t> getCheckedSizeInBytes(Type type, std::string &why);

/// Checks every block argument and result of `fn` and of the ops in it
/// (recursively) with getCheckedSizeInBytes, that none is empty (a model
/// of empty tensors is a mistake: batch 0, 0 classes), and the number of ops
/// against `maxOps`; reports the first violation at its location. Every pass
/// that sizes buffers or counts FLOPs runs this first, so their arithmetic
/// cannot overflow whatever IR it is given.
LogicalResult checkSizeLimits(func::FuncOp fn, int64_t maxOps);

/// True if `fn` is a model function: it has a body and some argument
/// carries `nn.param`.
bool isModelFunction(func::FuncOp fn);

/// The role of `fn`: its `nn.entry` attribute, else `loss` for a model
/// function, else none.
std::optional<EntryRole> getEntryRole(func::FuncOp fn);

/// The `nn.name` of argument `index` of `fn`, or "" if it has none.
StringRef getArgName(func::FuncOp fn, unsigned index);

/// The `nn.source_name` of argument `index` of `fn` (the name it had in an
/// imported model file), else its `nn.name`, else "".
StringRef getArgSourceName(func::FuncOp fn, unsigned index);
} // namespace mlir::nnc

#endif // NNC_DIALECT_NN_IR_NNOPS_H
