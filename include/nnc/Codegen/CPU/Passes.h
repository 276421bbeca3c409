//===- Passes.h - CPU code generation passes --------------------*- C++ -*-===//
//
// Part of nnc, under the Apache License v2.0 with LLVM Exceptions.
// See LICENSE for license information.
//
//===----------------------------------------------------------------------===//

#ifndef NNC_CODEGEN_CPU_PASSES_H
#define NNC_CODEGEN_CPU_PASSES_H

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Pass/Pass.h"

namespace mlir::nnc {

#define GEN_PASS_DECL
#include "nnc/Codegen/CPU/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "nnc/Codegen/CPU/Passes.h.inc"

/// nnc-lower-dot-contractions' rewrite: out += a · bᵀ on buffers as
/// rows × columns register tiles of lanes-wide dot products.
void populateLowerDotContractionsPatterns(RewritePatternSet &patterns,
                                          unsigned rows, unsigned columns,
                                          unsigned lanes);

/// nnc-lower-tiled-contractions' rewrite: out += op(a) · b with a row-major
/// b on buffers as rows × lanes register tiles.
void populateLowerTiledContractionsPatterns(RewritePatternSet &patterns,
                                            unsigned rows, unsigned lanes);

/// nnc-lower-lane-reductions' rewrite: f64 sums over trailing reduction
/// loops that are contiguous in memory as lanes-wide vector partial sums.
void populateLowerLaneReductionsPatterns(RewritePatternSet &patterns,
                                         unsigned lanes);

/// The same rewrite of one op, for a pass that lowers it to loops itself
/// (nnc-parallelize-kernels): its loops that stay scalar, outermost first,
/// which are all its loops but the trailing reduction loops; failure,
/// with nothing changed, if `op` is not such a sum.
FailureOr<SmallVector<Operation *>>
lowerLaneReductionToLoops(RewriterBase &rewriter, Operation *op,
                          unsigned lanes);

/// Success if `lanes` is a valid vector length for a lane reduction, else
/// an error at `anchor`.
LogicalResult checkReductionLanes(Operation *anchor, unsigned lanes);

} // namespace mlir::nnc

#endif // NNC_CODEGEN_CPU_PASSES_H
