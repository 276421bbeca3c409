//===- KernelBuilder.h - gpu.func kernels for linalg ops (private) -*- C++ -*-===//
//
// Part of nnc, under the Apache License v2.0 with LLVM Exceptions.
// See LICENSE for license information.
//
//===----------------------------------------------------------------------===//
///
/// \file
/// The kernels nnc-gpu-build-kernels emits, one builder per kind of work:
/// tiled matmuls (shared-memory tiles, a register tile of outputs per
/// thread, FMA), block reductions (warp shuffles, then shared memory) and
/// elementwise maps (one thread per element). Each builder writes a
/// `gpu.func` into a `gpu.module` and says how to launch it.
///
//===----------------------------------------------------------------------===//

#ifndef NNC_LIB_CODEGEN_GPU_KERNELBUILDER_H
#define NNC_LIB_CODEGEN_GPU_KERNELBUILDER_H

#include "nnc/Codegen/Common/ContractionMatcher.h"

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"

#include <array>
#include <optional>

namespace mlir::nnc::gpu_codegen {

/// How to launch a built kernel: grid and block sizes, and the buffers it
/// takes in order (all memrefs of the host function).
struct Launch {
  gpu::GPUFuncOp kernel;
  std::array<int64_t, 3> grid{1, 1, 1}, block{1, 1, 1};
  SmallVector<Value> operands;
};

/// out = beta·out + alpha·op(lhs)·op(rhs). Shapes that are multiples of the
/// block tile get the register-tiled kernel (128×128 or 64×64 block tiles,
/// 8×8 or 4×4 outputs a thread, k tiles through shared memory, 128-bit
/// loads); others a guarded 16×16 shared-memory tile kernel.
FailureOr<Launch> buildMatmulKernel(OpBuilder &moduleBuilder, StringRef name,
                                    const MatmulOperands &mm, double beta,
                                    Location loc);

/// A linalg op on buffers whose loops are all parallel (linalg.generic,
/// fill, copy): one thread per point of the iteration space.
FailureOr<Launch> buildElementwiseKernel(OpBuilder &moduleBuilder,
                                         StringRef name, linalg::LinalgOp op);

/// A linalg.generic with reduction loops whose body is
/// `yield combine(out, term(ins))` for combine one of addf, mulf, maximumf,
/// minimumf, maxnumf, minnumf: one block per point of the parallel loops,
/// its threads striding over the reduction loops, then a fixed tree (warp
/// shuffles, shared memory): deterministic for given shapes.
FailureOr<Launch> buildReductionKernel(OpBuilder &moduleBuilder,
                                       StringRef name, linalg::GenericOp op);

} // namespace mlir::nnc::gpu_codegen

#endif // NNC_LIB_CODEGEN_GPU_KERNELBUILDER_H
