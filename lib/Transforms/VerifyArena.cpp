//===- VerifyArena.cpp - end of the memory-planning stage -----------------===//
//
// Part of nnc, under the Apache License v2.0 with LLVM Exceptions.
// See LICENSE for license information.
//
//===----------------------------------------------------------------------===//

#include "nnc/Dialect/NN/IR/NNDialect.h"
#include "nnc/Transforms/Passes.h"

namespace mlir::nnc {
#define GEN_PASS_DEF_VERIFYARENA
#include "nnc/Transforms/Passes.h.inc"
} // namespace mlir::nnc

using namespace mlir;
using namespace mlir::nnc;

namespace {
struct VerifyArenaPass
    : public mlir::nnc::impl::VerifyArenaBase<VerifyArenaPass> {
  void runOnOperation() override {
    auto result = getOperation()->walk([](Operation *op) {
      if (!isa<memref::AllocOp, memref::AllocaOp>(op) ||
          op->hasAttr(NNDialect::getArenaAttrName()))
        return WalkResult::advance();
      op->emitOpError("allocates outside the arena: run nnc-plan-memory");
      return WalkResult::interrupt();
    });
    if (result.wasInterrupted())
      signalPassFailure();
  }
};
} // namespace
