//===- KernelSet.cpp - identical kernels share one ------------------------===//
//
// Part of nnc, under the Apache License v2.0 with LLVM Exceptions.
// See LICENSE for license information.
//
//===----------------------------------------------------------------------===//

#include "nnc/Codegen/Common/KernelSet.h"

#include "mlir/IR/OperationSupport.h"
#include "mlir/IR/SymbolTable.h"

using namespace mlir;
using namespace mlir::nnc;

static constexpr OperationEquivalence::Flags kFlags =
    OperationEquivalence::IgnoreLocations;

/// A hash equal for kernels that may be the same: the function type and
/// each nested op's name, attributes and types, in order.
static llvm::hash_code structuralHash(FunctionOpInterface kernel) {
  llvm::hash_code hash = hash_value(kernel.getFunctionType());
  kernel.getFunctionBody().walk([&](Operation *op) {
    hash = llvm::hash_combine(
        hash, OperationEquivalence::computeHash(
                  op, OperationEquivalence::ignoreHashValue,
                  OperationEquivalence::ignoreHashValue, kFlags));
  });
  return hash;
}

/// The attributes of `fn` but its symbol name.
static DictionaryAttr attributesButName(FunctionOpInterface fn) {
  NamedAttrList attrs(fn->getAttrDictionary());
  attrs.erase(SymbolTable::getSymbolAttrName());
  return attrs.getDictionary(fn->getContext());
}

static bool isSameKernel(FunctionOpInterface a, FunctionOpInterface b) {
  return a->getName() == b->getName() &&
         attributesButName(a) == attributesButName(b) &&
         OperationEquivalence::isRegionEquivalentTo(
             &a.getFunctionBody(), &b.getFunctionBody(), kFlags);
}

FunctionOpInterface KernelSet::lookupOrInsert(FunctionOpInterface kernel) {
  SmallVector<FunctionOpInterface, 1> &bucket =
      buckets[structuralHash(kernel)];
  for (FunctionOpInterface known : bucket)
    if (isSameKernel(known, kernel))
      return known;
  bucket.push_back(kernel);
  return kernel;
}
