//===- RuntimeCalls.h - nn.runtime_call builders of the lowering -*- C++ -*-===//
//
// Part of nnc, under the Apache License v2.0 with LLVM Exceptions.
// See LICENSE for license information.
//
// Shared by convert-nn-to-linalg's pattern files (private to this folder).
//
//===----------------------------------------------------------------------===//

#ifndef NNC_LIB_CONVERSION_NNTOLINALG_RUNTIMECALLS_H
#define NNC_LIB_CONVERSION_NNTOLINALG_RUNTIMECALLS_H

#include "mlir/IR/Builders.h"

namespace mlir::nnc {

/// An nn.runtime_call of `callee` writing new tensors of `types`: the
/// callee's pointer arguments are `pointers` (indices into `inputs`, then
/// the new tensors; -1 for null), its other arguments `scalars`.
SmallVector<Value> runtimeCallMulti(OpBuilder &b, Location loc,
                                    StringRef callee, ValueRange inputs,
                                    TypeRange types, ArrayRef<int64_t> pointers,
                                    ArrayRef<Attribute> scalars);

/// A mixed-precision step's 16-bit type: bf16, or f16 (--precision=fp16,
/// the GPU's). The _bf16 calls take either, as nncrt_gemm_bf16 does: their
/// buffers' element type says which, and the CPU refuses f16 before any
/// call is made.
bool isHalf(Value v);

} // namespace mlir::nnc

#endif // NNC_LIB_CONVERSION_NNTOLINALG_RUNTIMECALLS_H
