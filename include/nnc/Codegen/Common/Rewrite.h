//===- Rewrite.h - apply codegen patterns to the ops as they are -*- C++ -*-===//
//
// Part of nnc, under the Apache License v2.0 with LLVM Exceptions.
// See LICENSE for license information.
//
//===----------------------------------------------------------------------===//
///
/// \file
/// nnc's codegen rewrites expand one linalg op into the loops that compute
/// it. Their patterns run on the linalg ops present when the pass starts:
/// an op is rewritten at most once, what a pattern creates is left to the
/// passes that follow, and nothing else is folded or simplified, so a pass
/// built from patterns changes exactly what its patterns match.
///
//===----------------------------------------------------------------------===//

#ifndef NNC_CODEGEN_COMMON_REWRITE_H
#define NNC_CODEGEN_COMMON_REWRITE_H

#include "mlir/IR/PatternMatch.h"

namespace mlir::nnc {

/// Applies `patterns` to the linalg ops nested in `root` (MLIR's greedy
/// driver restricted to those ops, without region simplification).
LogicalResult applyPatternsToLinalgOps(Operation *root,
                                       RewritePatternSet &&patterns);

} // namespace mlir::nnc

#endif // NNC_CODEGEN_COMMON_REWRITE_H
