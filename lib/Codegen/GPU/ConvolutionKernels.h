//===- ConvolutionKernels.h - kernels for runtime calls (private) -*- C++
//-*-===//
//
// Part of nnc, under the Apache License v2.0 with LLVM Exceptions.
// See LICENSE for license information.
//
//===----------------------------------------------------------------------===//
///
/// \file
/// The GPU kernels of the CPU runtime's library calls: the `nn.runtime_call`
/// ops of convolutions (forward, backward data, backward weights: implicit
/// GEMMs) and pooling (max and average, forward and backward) that
/// convert-nn-to-linalg emits for both targets. nnc-lower-runtime-calls
/// leaves these calls on the GPU target; nnc-gpu-build-kernels builds their
/// kernels here, on the call's buffers, from its geometry scalars.
///
//===----------------------------------------------------------------------===//

#ifndef NNC_LIB_CODEGEN_GPU_CONVOLUTIONKERNELS_H
#define NNC_LIB_CODEGEN_GPU_CONVOLUTIONKERNELS_H

#include "KernelBuilder.h"

#include "nnc/Dialect/NN/IR/NNOps.h"

namespace mlir::nnc::gpu_codegen {

/// The callees whose calls get a kernel here (the convolutions and pooling
/// of CPURuntime.h, f32 and bf16: the bf16 convolutions on tensor cores).
ArrayRef<StringLiteral> getLibraryKernelCallees();

/// Whether `call` is one of them.
bool hasLibraryKernel(RuntimeCallOp call);

/// The kernel of `call` (bufferized) and its launch; a geometry the kernel
/// cannot take or operands that do not match it are located errors.
FailureOr<Launch> buildLibraryKernel(OpBuilder &moduleBuilder, StringRef name,
                                     RuntimeCallOp call);

} // namespace mlir::nnc::gpu_codegen

#endif // NNC_LIB_CODEGEN_GPU_CONVOLUTIONKERNELS_H
