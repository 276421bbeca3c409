//===- BufferAddress.h - a buffer's address for a runtime call --*- C++ -*-===//
//
// Part of nnc, under the Apache License v2.0 with LLVM Exceptions.
// See LICENSE for license information.
//
//===----------------------------------------------------------------------===//
///
/// \file
/// Runtime calls take buffers as plain addresses (a GEMM's operands on the
/// CPU, a kernel's arguments on the GPU). Every intermediate buffer is a
/// memref.view of the arena, and the aligned pointer MLIR extracts from a
/// view is its allocation's, without the view's byte shift: the shift is
/// added here, once for both targets.
///
//===----------------------------------------------------------------------===//

#ifndef NNC_CODEGEN_COMMON_BUFFERADDRESS_H
#define NNC_CODEGEN_COMMON_BUFFERADDRESS_H

#include "mlir/IR/Builders.h"

namespace mlir::nnc {

/// The address of element 0 of `memref` (identity layout, or an arena
/// view), as an i64.
Value createBufferAddress(OpBuilder &b, Location loc, Value memref);

} // namespace mlir::nnc

#endif // NNC_CODEGEN_COMMON_BUFFERADDRESS_H
