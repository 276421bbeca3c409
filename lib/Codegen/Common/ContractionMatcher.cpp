//===- ContractionMatcher.cpp - 2-D matmuls on buffers --------------------===//
//
// Part of nnc, under the Apache License v2.0 with LLVM Exceptions.
// See LICENSE for license information.
//
//===----------------------------------------------------------------------===//

#include "nnc/Codegen/Common/ContractionMatcher.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/IR/Matchers.h"

#include <cmath>
#include <limits>

using namespace mlir;
using namespace mlir::nnc;

/// `half`: bf16 or f16 (the GPU's fp16 steps; the CPU refuses them).
static bool contiguousMatrix(Value v, bool half) {
  auto type = dyn_cast<MemRefType>(v.getType());
  return type && type.hasStaticShape() && type.getRank() == 2 &&
         (half ? isa<BFloat16Type, Float16Type>(type.getElementType())
               : type.getElementType().isF32()) &&
         isLastMemrefDimUnitStride(type);
}

/// `v`, or what it widens from bf16 or f16 (a mixed-precision contraction
/// reads its 16-bit operands through arith.extf).
static Value widenedFrom(Value v) {
  if (auto ext = v.getDefiningOp<arith::ExtFOp>())
    if (isa<BFloat16Type, Float16Type>(ext.getIn().getType()))
      return ext.getIn();
  return v;
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

/// The scale of a body `yield out + a * b` (1) or `yield out + (a * b) * c`
/// (c, a float constant, or NaN standing for the third input, a scalar),
/// with a and b the first two inputs in either order.
static std::optional<double> matchMulAddBody(linalg::LinalgOp op) {
  Block *body = op.getBlock();
  auto yield = dyn_cast<linalg::YieldOp>(body->getTerminator());
  if (!yield || yield.getNumOperands() != 1)
    return std::nullopt;
  unsigned inputs = op.getNumDpsInputs();
  BlockArgument a = body->getArgument(0), b = body->getArgument(1),
                out = body->getArgument(inputs);
  Value scalar = inputs == 3 ? body->getArgument(2) : Value();
  auto add = yield.getOperand(0).getDefiningOp<arith::AddFOp>();
  if (!add)
    return std::nullopt;
  Value term;
  if (add.getLhs() == out)
    term = add.getRhs();
  else if (add.getRhs() == out)
    term = add.getLhs();
  else
    return std::nullopt;
  auto isProduct = [&](Value v) {
    auto mul = v.getDefiningOp<arith::MulFOp>();
    if (!mul)
      return false;
    Value l = widenedFrom(mul.getLhs()), r = widenedFrom(mul.getRhs());
    return (l == a && r == b) || (l == b && r == a);
  };
  if (isProduct(term))
    return 1.0;
  auto scaled = term.getDefiningOp<arith::MulFOp>();
  if (!scaled)
    return std::nullopt;
  for (auto [p, c] : {std::pair(scaled.getLhs(), scaled.getRhs()),
                      std::pair(scaled.getRhs(), scaled.getLhs())}) {
    if (!isProduct(p))
      continue;
    if (scalar && c == scalar)
      return std::numeric_limits<double>::quiet_NaN();
    FloatAttr value;
    if (!scalar && matchPattern(c, m_Constant(&value)))
      return value.getValueAsDouble();
  }
  return std::nullopt;
}

static bool f32Scalar(Value v) {
  auto type = dyn_cast<MemRefType>(v.getType());
  return type && type.getRank() == 0 && type.getElementType().isF32();
}

std::optional<MatmulOperands> mlir::nnc::matchMatmul(linalg::LinalgOp op,
                                                    bool allowBF16) {
  unsigned inputs = op.getNumDpsInputs();
  if (!op.hasPureBufferSemantics() || (inputs != 2 && inputs != 3) ||
      op.getNumDpsInits() != 1 || op->getNumRegions() != 1)
    return std::nullopt;
  bool bf16 = allowBF16 && contiguousMatrix(op.getDpsInputs()[0], true) &&
              contiguousMatrix(op.getDpsInputs()[1], true) &&
              getElementTypeOrSelf(op.getDpsInputs()[0].getType()) ==
                  getElementTypeOrSelf(op.getDpsInputs()[1].getType());
  if (!contiguousMatrix(op.getDpsInputs()[0], bf16) ||
      !contiguousMatrix(op.getDpsInputs()[1], bf16) ||
      !contiguousMatrix(op.getDpsInits()[0], false) ||
      (inputs == 3 && !f32Scalar(op.getDpsInputs()[2])))
    return std::nullopt;
  std::optional<double> alpha = matchMulAddBody(op);
  if (!alpha)
    return std::nullopt;
  SmallVector<AffineMap> maps = op.getIndexingMapsArray();
  if (inputs == 3) // the scalar's map has no results: not part of the shape
    maps.erase(maps.begin() + 2);
  FailureOr<linalg::ContractionDimensions> dims =
      linalg::inferContractionDims(maps);
  if (failed(dims) || !dims->batch.empty() || dims->m.size() != 1 ||
      dims->n.size() != 1 || dims->k.size() != 1)
    return std::nullopt;
  unsigned m = dims->m[0], n = dims->n[0], k = dims->k[0];
  MatmulOperands r;
  r.bf16 = bf16;
  if (std::isnan(*alpha))
    r.alphaScalar = op.getDpsInputs()[2];
  else
    r.alpha = *alpha;
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

bool mlir::nnc::isZeroFillOf(Operation *op, Value out) {
  auto fill = dyn_cast_or_null<linalg::FillOp>(op);
  FloatAttr value;
  return fill && fill.hasPureBufferSemantics() &&
         fill.getDpsInits()[0] == out &&
         matchPattern(fill.getInputs()[0], m_Constant(&value)) &&
         value.getValue().isPosZero();
}
