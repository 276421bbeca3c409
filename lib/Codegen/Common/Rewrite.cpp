//===- Rewrite.cpp - apply codegen patterns to the ops as they are --------===//
//
// Part of nnc, under the Apache License v2.0 with LLVM Exceptions.
// See LICENSE for license information.
//
//===----------------------------------------------------------------------===//

#include "nnc/Codegen/Common/Rewrite.h"

#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

using namespace mlir;

LogicalResult mlir::nnc::applyPatternsToLinalgOps(Operation *root,
                                                  RewritePatternSet &&patterns) {
  SmallVector<Operation *> ops;
  root->walk([&](linalg::LinalgOp op) { ops.push_back(op); });
  GreedyRewriteConfig config;
  config.strictMode = GreedyRewriteStrictness::ExistingOps;
  config.enableRegionSimplification = GreedySimplifyRegionLevel::Disabled;
  return applyOpPatternsAndFold(ops, std::move(patterns), config);
}
