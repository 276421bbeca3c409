//===- VerifyNoNN.cpp - end of the lowering stage -------------------------===//
//
// Part of nnc, under the Apache License v2.0 with LLVM Exceptions.
// See LICENSE for license information.
//
//===----------------------------------------------------------------------===//

#include "nnc/Conversion/Passes.h"
#include "nnc/Dialect/NN/IR/NNOps.h"

namespace mlir::nnc {
#define GEN_PASS_DEF_VERIFYNONN
#include "nnc/Conversion/Passes.h.inc"
} // namespace mlir::nnc

using namespace mlir;

namespace {
struct VerifyNoNNPass : public mlir::nnc::impl::VerifyNoNNBase<VerifyNoNNPass> {
  void runOnOperation() override {
    auto result = getOperation()->walk([](Operation *op) {
      // Unregistered ops have no dialect.
      if (!isa_and_nonnull<mlir::nnc::NNDialect>(op->getDialect()))
        return WalkResult::advance();
      // Library primitives and profile marks: the target calls them.
      if (isa<mlir::nnc::RuntimeCallOp, mlir::nnc::ProfileMarkOp>(op))
        return WalkResult::advance();
      op->emitOpError("survived lowering: convert-nn-to-linalg must run first");
      return WalkResult::interrupt();
    });
    if (result.wasInterrupted())
      signalPassFailure();
  }
};
} // namespace
