//===- Passes.h - nn dialect transformation passes --------------*- C++ -*-===//
//
// Part of nnc.
//
//===----------------------------------------------------------------------===//

#ifndef NNC_DIALECT_NN_TRANSFORMS_PASSES_H
#define NNC_DIALECT_NN_TRANSFORMS_PASSES_H

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/Pass/Pass.h"
#include "llvm/ADT/DenseSet.h"
#include "nnc/Dialect/NN/IR/NNOps.h"

namespace mlir::nnc {

#define GEN_PASS_DECL
#include "nnc/Dialect/NN/Transforms/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "nnc/Dialect/NN/Transforms/Passes.h.inc"

/// Unit attribute on the `d loss / d loss = 1` constant that nnc-autodiff
/// emits; the backward ops of a gradient function are exactly the ops that
/// depend on it.
constexpr llvm::StringLiteral kGradSeedAttrName = "nn.grad_seed";

/// On a function nnc-autodiff derived: the model it differentiates.
constexpr llvm::StringLiteral kGradOfAttrName = "nn.grad_of";

/// Set by nnc-plan-memory: the arena (a workspace argument, or a driver's
/// one allocation) and, on each planned function, its size and lower bound.
constexpr llvm::StringLiteral kArenaAttrName = "nn.arena";
constexpr llvm::StringLiteral kArenaBytesAttrName = "nn.arena_bytes";
constexpr llvm::StringLiteral kMaxLiveBytesAttrName = "nn.max_live_bytes";

/// Marks the ops of `func` that depend on the gradient seed (the backward).
llvm::DenseSet<Operation *> findBackwardOps(func::FuncOp func);

/// Erases pure ops whose results are unused, e.g. the gradient of the input
/// batch that buildGradient produces but nothing reads.
void eraseDeadPureOps(Block &block);

/// True if `func` is a model function: some argument carries `nn.param`.
bool isModelFunction(func::FuncOp func);

/// Checks the model-function contract (single block, one tensor<f32>
/// result, at least one nn.param); emits a located error otherwise.
LogicalResult verifyModelFunction(func::FuncOp func);

} // namespace mlir::nnc

#endif // NNC_DIALECT_NN_TRANSFORMS_PASSES_H
