//===- KernelSet.h - identical kernels share one ----------------*- C++ -*-===//
//
// Part of nnc, under the Apache License v2.0 with LLVM Exceptions.
// See LICENSE for license information.
//
//===----------------------------------------------------------------------===//
///
/// \file
/// Both targets outline each linalg op of a step into a kernel (a func.func
/// on the CPU, a gpu.func on the GPU); a layer and its recomputations then
/// build the same kernel several times. A KernelSet keeps one of each:
/// kernels are the same when their bodies are structurally equivalent
/// (MLIR's OperationEquivalence, locations ignored) and their attributes
/// agree but for the symbol name.
///
//===----------------------------------------------------------------------===//

#ifndef NNC_CODEGEN_COMMON_KERNELSET_H
#define NNC_CODEGEN_COMMON_KERNELSET_H

#include "mlir/IR/Operation.h"
#include "mlir/Interfaces/FunctionInterfaces.h"
#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/SmallVector.h"

namespace mlir::nnc {

class KernelSet {
public:
  /// The kernel of the set that is the same as `kernel`, or `kernel` itself
  /// after adding it (then it is new).
  FunctionOpInterface lookupOrInsert(FunctionOpInterface kernel);

private:
  /// Kernels by a structural hash of their bodies (values ignored).
  llvm::DenseMap<llvm::hash_code, SmallVector<FunctionOpInterface, 1>>
      buckets;
};

} // namespace mlir::nnc

#endif // NNC_CODEGEN_COMMON_KERNELSET_H
