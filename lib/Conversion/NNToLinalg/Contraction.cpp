//===- Contraction.cpp - matching out += a · b generics -------------------===//
//
// Part of nnc.
//
//===----------------------------------------------------------------------===//

#include "Contraction.h"

#include "mlir/Dialect/Arith/IR/Arith.h"

using namespace mlir;

AffineMap mlir::nnc::pairMap(MLIRContext *ctx, unsigned x, unsigned y) {
  return AffineMap::get(
      3, 0, {getAffineDimExpr(x, ctx), getAffineDimExpr(y, ctx)}, ctx);
}

static bool contiguousF32Matrix(Value v) {
  auto type = dyn_cast<MemRefType>(v.getType());
  return type && type.hasStaticShape() && type.getRank() == 2 &&
         type.getElementType().isF32() && isLastMemrefDimUnitStride(type);
}

std::optional<SmallVector<AffineMap>>
mlir::nnc::matchMulAddContraction(linalg::GenericOp op,
                                  ArrayRef<utils::IteratorType> iterators) {
  if (!op.hasPureBufferSemantics() || op.getNumDpsInputs() != 2 ||
      op.getNumDpsInits() != 1 || op.getNumLoops() != 3 ||
      ArrayRef<utils::IteratorType>(op.getIteratorTypesArray()) != iterators ||
      !llvm::all_of(op->getOperands(), contiguousF32Matrix))
    return std::nullopt;
  Block &body = op.getRegion().front();
  if (body.getOperations().size() != 3)
    return std::nullopt;
  auto mul = dyn_cast<arith::MulFOp>(&body.front());
  auto add = dyn_cast<arith::AddFOp>(mul ? mul->getNextNode() : nullptr);
  if (!mul || !add || mul.getLhs() != body.getArgument(0) ||
      mul.getRhs() != body.getArgument(1) ||
      add.getLhs() != body.getArgument(2) || add.getRhs() != mul)
    return std::nullopt;
  return op.getIndexingMapsArray();
}
