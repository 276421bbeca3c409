//===- VerifyNoNN.cpp - end of the lowering stage -------------------------===//
//
// Part of nnc.
//
//===----------------------------------------------------------------------===//

#include "nnc/Conversion/Passes.h"
#include "nnc/Dialect/NN/IR/NNDialect.h"

#include "mlir/Interfaces/FunctionInterfaces.h"

namespace mlir::nnc {
#define GEN_PASS_DEF_VERIFYNONN
#define GEN_PASS_DEF_STRIPNNATTRIBUTES
#include "nnc/Conversion/Passes.h.inc"
} // namespace mlir::nnc

using namespace mlir;

namespace {
struct VerifyNoNNPass : public nnc::impl::VerifyNoNNBase<VerifyNoNNPass> {
  void runOnOperation() override {
    auto result = getOperation()->walk([](Operation *op) {
      if (!isa<nnc::NNDialect>(op->getDialect()))
        return WalkResult::advance();
      op->emitOpError("survived lowering: convert-nn-to-linalg must run first");
      return WalkResult::interrupt();
    });
    if (result.wasInterrupted())
      signalPassFailure();
  }
};

/// True for attributes of the nn dialect's namespace.
bool isNNAttr(NamedAttribute attr) {
  return attr.getName().getValue().starts_with("nn.");
}

struct StripNNAttributesPass
    : public nnc::impl::StripNNAttributesBase<StripNNAttributesPass> {
  void runOnOperation() override {
    getOperation()->walk([](Operation *op) {
      for (NamedAttribute attr : llvm::to_vector(op->getDiscardableAttrs()))
        if (isNNAttr(attr))
          op->removeAttr(attr.getName());
      auto fn = dyn_cast<FunctionOpInterface>(op);
      if (!fn)
        return;
      for (unsigned i = 0, e = fn.getNumArguments(); i < e; ++i)
        for (NamedAttribute attr : llvm::to_vector(fn.getArgAttrs(i)))
          if (isNNAttr(attr))
            fn.removeArgAttr(i, attr.getName());
    });
  }
};
} // namespace
