//===- StripNNAttributes.cpp - drop graph annotations before LLVM ---------===//
//
// Part of nnc, under the Apache License v2.0 with LLVM Exceptions.
// See LICENSE for license information.
//
//===----------------------------------------------------------------------===//

#include "nnc/Codegen/Common/Passes.h"
#include "nnc/Dialect/NN/IR/NNDialect.h"

#include "mlir/Interfaces/FunctionInterfaces.h"

namespace mlir::nnc {
#define GEN_PASS_DEF_STRIPNNATTRIBUTES
#include "nnc/Codegen/Common/Passes.h.inc"
} // namespace mlir::nnc

using namespace mlir;

namespace {
/// True for attributes named in the nn dialect's namespace.
bool isNNAttr(NamedAttribute attr) {
  return isa_and_nonnull<mlir::nnc::NNDialect>(attr.getNameDialect());
}

struct StripNNAttributesPass
    : public mlir::nnc::impl::StripNNAttributesBase<StripNNAttributesPass> {
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
