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
  // A reshape (nn.reshape's collapse and expand) starts where its source
  // does; what matters is the arena view under it.
  while (Operation *def = memref.getDefiningOp()) {
    if (auto collapse = dyn_cast<memref::CollapseShapeOp>(def))
      memref = collapse.getSrc();
    else if (auto expand = dyn_cast<memref::ExpandShapeOp>(def))
      memref = expand.getSrc();
    else
      break;
  }
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
