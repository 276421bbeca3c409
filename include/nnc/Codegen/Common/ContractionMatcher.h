//===- ContractionMatcher.h - 2-D matmuls on buffers ------------*- C++ -*-===//
//
// Part of nnc, under the Apache License v2.0 with LLVM Exceptions.
// See LICENSE for license information.
//
//===----------------------------------------------------------------------===//
///
/// \file
/// Every target lowers the same three contractions of a linear layer: the
/// forward x·Wᵀ and the backward δ·W and δᵀ·x. This recognises them in any
/// linalg op on buffers (the generics convert-nn-to-linalg emits, or named
/// ops) with MLIR's own contraction analysis, and says which operand is
/// stored transposed.
///
//===----------------------------------------------------------------------===//

#ifndef NNC_CODEGEN_COMMON_CONTRACTIONMATCHER_H
#define NNC_CODEGEN_COMMON_CONTRACTIONMATCHER_H

#include "mlir/Dialect/Linalg/IR/Linalg.h"

#include <optional>

namespace mlir::nnc {

/// out[m, n] += alpha · Σ_k op(lhs)[m, k] · op(rhs)[k, n] on static f32
/// matrices whose last dimension is unit-stride.
struct MatmulOperands {
  Value lhs, rhs, out;
  /// A constant scale of each product, 1 otherwise.
  double alpha = 1.0;
  /// A scale read at run time: a rank-0 f32 buffer, the contraction's third
  /// input (nn.sgd_matmul's -lr), or null.
  Value alphaScalar;
  /// lhs is stored [K, M] (the δᵀ·x of a weight gradient).
  bool lhsTransposed = false;
  /// rhs is stored [N, K] (the Wᵀ of a forward x·Wᵀ).
  bool rhsTransposed = false;
  int64_t M = 0, N = 0, K = 0;
  /// lhs and rhs are bf16 (or both f16: a GPU fp16 step), widened to f32
  /// in the body (out is f32).
  bool bf16 = false;
};

/// Matches a linalg op on buffers that is a single 2-D multiply-accumulate
/// contraction (one m, n and k dimension by linalg::inferContractionDims, no
/// batch; body `out + a * b`, or `out + (a * b) * c` with c a constant or a
/// rank-0 third input)
/// writing out[m, n] in that order, with operands as above. Anything else
/// (batched, mixed types, strided rows) is not matched, except, with
/// `allowBF16`, bf16 lhs and rhs the body widens (arith.extf) onto an f32
/// out: a mixed-precision step's contractions.
std::optional<MatmulOperands> matchMatmul(linalg::LinalgOp op,
                                          bool allowBF16 = false);

/// True if `op` (just before a contraction) fills `out` with +0.0 on
/// buffers: the contraction can then overwrite `out` (beta = 0) instead of
/// accumulating, and the fill goes.
bool isZeroFillOf(Operation *op, Value out);

} // namespace mlir::nnc

#endif // NNC_CODEGEN_COMMON_CONTRACTIONMATCHER_H
