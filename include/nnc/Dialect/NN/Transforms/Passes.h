//===- Passes.h - nn dialect transformation passes --------------*- C++ -*-===//
//
// Part of nnc, under the Apache License v2.0 with LLVM Exceptions.
// See LICENSE for license information.
//
//===----------------------------------------------------------------------===//

#ifndef NNC_DIALECT_NN_TRANSFORMS_PASSES_H
#define NNC_DIALECT_NN_TRANSFORMS_PASSES_H

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/Pass/Pass.h"
#include "nnc/Dialect/NN/IR/NNOps.h"
#include "llvm/ADT/DenseSet.h"
#include "nnc/Support/ByteSize.h"
#include "llvm/Support/CommandLine.h"

namespace mlir::nnc {

#define GEN_PASS_DECL
#include "nnc/Dialect/NN/Transforms/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "nnc/Dialect/NN/Transforms/Passes.h.inc"

/// The ops of a function derived by nnc-autodiff that depend on its gradient
/// seed: the backward.
llvm::DenseSet<Operation *> findBackwardOps(func::FuncOp func);

/// Erases the ops of `block` that are trivially dead, e.g. the gradient of
/// the input batch that buildGradient produces but nothing reads.
void eraseDeadOps(Block &block);

/// Checks the model-function contract (single block, one tensor<f32>
/// result, at least one nn.param); emits a located error otherwise.
LogicalResult verifyModelFunction(func::FuncOp func);

/// What nnc-accumulate-gradients holds in the arena beside the chain of one
/// micro-batch, for `fn` (a model function or a step derived from one, at
/// the micro-batch size): one accumulator per parameter gradient and the
/// copy of a micro-batch's rows of every data input (the arguments that are
/// neither parameters, optimizer state nor scalars). nnc-plan-checkpoints
/// plans the chain within the budget less this; nnc-plan prices candidates
/// with it.
int64_t microBatchReservedBytes(func::FuncOp fn);

} // namespace mlir::nnc

#endif // NNC_DIALECT_NN_TRANSFORMS_PASSES_H
