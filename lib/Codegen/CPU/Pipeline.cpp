//===- Pipeline.cpp - the CPU target's code generation --------------------===//
//
// Part of nnc, under the Apache License v2.0 with LLVM Exceptions.
// See LICENSE for license information.
//
//===----------------------------------------------------------------------===//

#include "nnc/Codegen/CPU/Pipeline.h"

#include "nnc/Codegen/CPU/Passes.h"
#include "nnc/Codegen/Common/Passes.h"
#include "nnc/Codegen/Common/Pipelines.h"

using namespace mlir;
using namespace mlir::nnc;

void CPUCodegenOptions::bind(::nnc::OptionsBinder &b) {
  b.opt("gemm", gemm, llvm::cl::desc("How the CPU target runs contractions"));
  b.opt("conv-layout", convLayout,
        llvm::cl::desc("Activation layout between convolutions and poolings"));
}

void mlir::nnc::buildCPUCodegenPipeline(OpPassManager &pm,
                                        const CPUCodegenOptions &opts) {
  // Contractions as calls of the runtime's GEMM (oneDNN), the default; the
  // buffers are the arena's, so nothing changes in the memory plan. The
  // activations it fuses say so in their nn.epilogue.
  if (opts.gemm == GemmEngine::Library)
    pm.addPass(createLowerMatmulsToCalls());
  // Library primitives (convolutions, pooling) as calls of the runtime.
  pm.addPass(createLowerRuntimeCalls());
  // Graph annotations have served their purpose.
  pm.addPass(createStripNNAttributes());
  // One private kernel per distinct linalg op, so LLVM optimises each loop
  // nest once however often a plan recomputes it.
  pm.addPass(createOutlineKernels());
  // A fused update's weight copy is skipped when it runs in place.
  pm.addPass(createSkipSelfCopies());
  // Structured ops → loops → CFG; contractions first (what the library did
  // not take): x·Wᵀ as register dot products, a·b with a row-major b as
  // register tiles.
  pm.addNestedPass<func::FuncOp>(createLowerDotContractions());
  pm.addNestedPass<func::FuncOp>(createLowerTiledContractions());
  // Large elementwise and row-wise kernels run over row ranges, split over
  // the runtime's threads at run time.
  pm.addPass(createParallelizeKernels());
  // The f64 sums it did not split (batch norm's statistics) as vector
  // partial sums, not one running sum in memory.
  pm.addNestedPass<func::FuncOp>(createLowerLaneReductions());
  addTextualPipeline(pm, "func.func(convert-linalg-to-loops)");
  buildHostToLLVMPipeline(pm);
  pm.addPass(createLowerParallelCalls());
}
