//===- Checkpointing.h - the IR side of checkpoint planning -----*- C++ -*-===//
//
// Part of nnc, under the Apache License v2.0 with LLVM Exceptions.
// See LICENSE for license information.
//
// The adapter between a gradient function and the MLIR-free planner: which
// forward ops form which chain stage, and what each stage costs and keeps.
//
//===----------------------------------------------------------------------===//

#ifndef NNC_DIALECT_NN_TRANSFORMS_CHECKPOINTING_H
#define NNC_DIALECT_NN_TRANSFORMS_CHECKPOINTING_H

#include "nnc/Dialect/NN/IR/NNAttrs.h"
#include "nnc/Planner/Chain.h"
#include "nnc/Planner/Schedule.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "llvm/ADT/DenseSet.h"

namespace mlir::nnc {

/// The forward ops of a gradient function grouped into chain stages.
struct StagePartition {
  /// Forward ops of stage i + 1, in program order.
  SmallVector<SmallVector<Operation *>> stages;
  /// a^{i+1}: the value stage i + 1 hands to the next (the loss for the
  /// last stage).
  SmallVector<Value> outputs;
  /// Forward values each stage's backward reads (from its own ops or its
  /// input).
  SmallVector<llvm::DenseSet<Value>> needs;
  /// FLOPs of each stage's forward and backward.
  SmallVector<int64_t> forwardFlops, backwardFlops;
  /// The most bytes of the stage's own alive at any op of its backward:
  /// its saved values and delta^i until their last readers, the gradients
  /// between its VJPs, the ones it hands on (delta^{i-1}'s parts; in a
  /// training step, the parameter gradients awaiting their updates) and op
  /// scratch. Its input and the parameters are not the stage's own.
  SmallVector<int64_t> backwardPeakBytes;
  /// Likewise for a forward of the stage that keeps its saved values
  /// (F_all) and for one that keeps only its output (F_ck, F_n).
  SmallVector<int64_t> forwardAllPeakBytes, forwardPeakBytes;
  /// Bytes the stage's backward leaves alive to the end of the step (with
  /// loss scaling: its parameter gradients and their updates' results).
  SmallVector<int64_t> residueBytes;

  /// The input a^{i} of stage i + 1 (null for the first stage, whose
  /// inputs are function arguments).
  Value inputOf(unsigned i) const { return i == 0 ? Value() : outputs[i - 1]; }
};

/// Splits the forward part of `gradFn` (the ops that do not depend on the
/// gradient seed) into stages and analyses each one; see
/// nnc-plan-checkpoints' description for the rule. `fusedUpdates` says
/// nnc-fuse-updates will run: a weight updated straight from its gradient's
/// matmul then holds no gradient buffer in the backward. `lossScaling` says
/// nnc-loss-scaling will run: every parameter gradient and its update's
/// results then stay alive until the step's one all-finite check.
/// `keepCastCopies` says nnc-recast-for-backward will not run: an argument
/// copy a backward reads is then a saved value of the stage that makes it.
FailureOr<StagePartition> partitionIntoStages(func::FuncOp gradFn,
                                              bool fusedUpdates,
                                              bool lossScaling = false,
                                              bool keepCastCopies = false);

/// The planner's problem for `partition`: costs are FLOPs, sizes bytes.
::nnc::planner::Chain buildChain(func::FuncOp gradFn,
                                 const StagePartition &partition);

/// Whether `op` converts a function argument (a weight's or the batch's
/// bf16 copy, from nnc-mixed-precision): nnc-recast-for-backward makes it
/// again where the backward reads it, so the plan never keeps it (unless
/// the step keeps its cast copies: keep-cast-copies).
bool isArgumentCopy(Operation *op);

/// A planner schedule in the IR's vocabulary, and back.
SmallVector<CheckpointAction>
toCheckpointActions(const ::nnc::planner::Schedule &schedule);
::nnc::planner::Schedule toPlannerSchedule(ArrayRef<CheckpointAction> actions);

} // namespace mlir::nnc

#endif // NNC_DIALECT_NN_TRANSFORMS_CHECKPOINTING_H
