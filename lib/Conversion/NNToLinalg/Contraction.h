//===- Contraction.h - matching out += a · b generics -----------*- C++ -*-===//
//
// Part of nnc.
//
//===----------------------------------------------------------------------===//
///
/// \file
/// What the two contraction lowerings (nnc-lower-dot-contractions,
/// nnc-lower-tiled-contractions) both recognise in the linalg.generic ops
/// convert-nn-to-linalg emits for nn.linear and nn.matmul; each then checks
/// its own indexing maps.
///
//===----------------------------------------------------------------------===//

#ifndef NNC_LIB_CONVERSION_CONTRACTION_H
#define NNC_LIB_CONVERSION_CONTRACTION_H

#include "mlir/Dialect/Linalg/IR/Linalg.h"

#include <optional>

namespace mlir::nnc {

/// The map (d0, d1, d2) -> (dx, dy).
AffineMap pairMap(MLIRContext *ctx, unsigned x, unsigned y);

/// If `op` is a generic on buffers with inputs (a, b) and init out, three
/// loops of kinds `iterators`, static f32 matrices contiguous along their
/// last dimension (what vector.load needs), and the body out += a * b
/// (mulf of the two inputs, then addf into the output), returns its
/// indexing maps (a, b, out).
std::optional<SmallVector<AffineMap>>
matchMulAddContraction(linalg::GenericOp op,
                       ArrayRef<utils::IteratorType> iterators);

} // namespace mlir::nnc

#endif // NNC_LIB_CONVERSION_CONTRACTION_H
