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
      if (!fn || !fn.getAllArgAttrs())
        return;
      // All arguments' dictionaries at once: removing attributes argument by
      // argument rebuilds (and uniques) the whole array each time, quadratic
      // in the arguments (3.6 GB for 8,000 of them).
      SmallVector<DictionaryAttr> dicts;
      fn.getAllArgAttrs(dicts);
      bool changed = false;
      for (DictionaryAttr &dict : dicts) {
        if (!dict || llvm::none_of(dict, isNNAttr))
          continue;
        SmallVector<NamedAttribute> kept;
        for (NamedAttribute attr : dict)
          if (!isNNAttr(attr))
            kept.push_back(attr);
        dict = DictionaryAttr::get(op->getContext(), kept);
        changed = true;
      }
      if (changed)
        fn.setAllArgAttrs(dicts);
    });
  }
};
} // namespace
