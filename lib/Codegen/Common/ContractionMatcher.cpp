//===- ContractionMatcher.cpp - 2-D matmuls on buffers --------------------===//
//
// Part of nnc, under the Apache License v2.0 with LLVM Exceptions.
// See LICENSE for license information.
//
//===----------------------------------------------------------------------===//

#include "nnc/Codegen/Common/ContractionMatcher.h"

using namespace mlir;
using namespace mlir::nnc;

static bool contiguousF32Matrix(Value v) {
  auto type = dyn_cast<MemRefType>(v.getType());
  return type && type.hasStaticShape() && type.getRank() == 2 &&
         type.getElementType().isF32() && isLastMemrefDimUnitStride(type);
}

/// True if `map` is (d_x, d_y) for loop dimensions x, y.
static bool isPair(AffineMap map, unsigned x, unsigned y) {
  auto isDim = [](AffineExpr e, unsigned d) {
    auto dim = dyn_cast<AffineDimExpr>(e);
    return dim && dim.getPosition() == d;
  };
  return map.getNumResults() == 2 && isDim(map.getResult(0), x) &&
         isDim(map.getResult(1), y);
}

std::optional<MatmulOperands> mlir::nnc::matchMatmul(linalg::LinalgOp op) {
  if (!op.hasPureBufferSemantics() || op.getNumDpsInputs() != 2 ||
      op.getNumDpsInits() != 1 || !linalg::isaContractionOpInterface(op) ||
      !llvm::all_of(op->getOperands(), contiguousF32Matrix))
    return std::nullopt;
  FailureOr<linalg::ContractionDimensions> dims =
      linalg::inferContractionDims(op);
  if (failed(dims) || !dims->batch.empty() || dims->m.size() != 1 ||
      dims->n.size() != 1 || dims->k.size() != 1)
    return std::nullopt;
  unsigned m = dims->m[0], n = dims->n[0], k = dims->k[0];
  SmallVector<AffineMap> maps = op.getIndexingMapsArray();
  MatmulOperands r;
  r.lhs = op.getDpsInputs()[0];
  r.rhs = op.getDpsInputs()[1];
  r.out = op.getDpsInits()[0];
  if (isPair(maps[0], k, m))
    r.lhsTransposed = true;
  else if (!isPair(maps[0], m, k))
    return std::nullopt;
  if (isPair(maps[1], n, k))
    r.rhsTransposed = true;
  else if (!isPair(maps[1], k, n))
    return std::nullopt;
  if (!isPair(maps[2], m, n))
    return std::nullopt;
  auto outType = cast<MemRefType>(r.out.getType());
  r.M = outType.getDimSize(0);
  r.N = outType.getDimSize(1);
  r.K = cast<MemRefType>(r.lhs.getType()).getDimSize(r.lhsTransposed ? 0 : 1);
  return r;
}
