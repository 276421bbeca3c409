//===- NNAttrs.h - nn dialect attributes ------------------------*- C++ -*-===//
//
// Part of nnc, under the Apache License v2.0 with LLVM Exceptions.
// See LICENSE for license information.
//
//===----------------------------------------------------------------------===//

#ifndef NNC_DIALECT_NN_IR_NNATTRS_H
#define NNC_DIALECT_NN_IR_NNATTRS_H

#include "mlir/IR/Attributes.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/DialectImplementation.h"
#include "llvm/ADT/Hashing.h"

#include <cstdint>
#include <optional>

// Strategies are a vocabulary shared with the MLIR-free planner; the IR
// spells them as keywords (store_all).
#include "nnc/Support/Vocabularies.h"

#include "nnc/Dialect/NN/IR/NNEnums.h.inc"

namespace mlir::nnc {

/// One step of a CheckpointPlanAttr's schedule: `F_ck 3`, `B 2`,
/// `Discard abar 4`. Stages are 1-based.
struct CheckpointAction {
  CheckpointActionKind kind = CheckpointActionKind::ForwardAll;
  uint32_t stage = 0;
  /// Which value a Discard frees; ignored for other kinds.
  DiscardedValue value = DiscardedValue::Activation;

  bool isForward() const {
    return kind == CheckpointActionKind::ForwardCheckpoint ||
           kind == CheckpointActionKind::ForwardNoSave ||
           kind == CheckpointActionKind::ForwardAll;
  }
  bool operator==(const CheckpointAction &o) const {
    return kind == o.kind && stage == o.stage &&
           (kind != CheckpointActionKind::Discard || value == o.value);
  }
};

inline llvm::hash_code hash_value(const CheckpointAction &a) {
  return llvm::hash_combine(
      a.kind, a.stage,
      a.kind == CheckpointActionKind::Discard ? static_cast<int>(a.value) : 0);
}

} // namespace mlir::nnc

#define GET_ATTRDEF_CLASSES
#include "nnc/Dialect/NN/IR/NNAttrs.h.inc"

#endif // NNC_DIALECT_NN_IR_NNATTRS_H
