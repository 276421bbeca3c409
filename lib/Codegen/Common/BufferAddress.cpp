//===- BufferAddress.cpp - a buffer's address for a runtime call ----------===//
//
// Part of nnc, under the Apache License v2.0 with LLVM Exceptions.
// See LICENSE for license information.
//
//===----------------------------------------------------------------------===//

#include "nnc/Codegen/Common/BufferAddress.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"

using namespace mlir;

Value mlir::nnc::createBufferAddress(OpBuilder &b, Location loc,
                                     Value memref) {
  Value shift;
  if (auto view = memref.getDefiningOp<memref::ViewOp>()) {
    shift = view.getByteShift();
    memref = view.getSource();
  }
  Value index = b.create<memref::ExtractAlignedPointerAsIndexOp>(loc, memref);
  if (shift)
    index = b.create<arith::AddIOp>(loc, index, shift);
  return b.create<arith::IndexCastOp>(loc, b.getI64Type(), index);
}
