//===- Pipelines.cpp - steps both targets share ---------------------------===//
//
// Part of nnc, under the Apache License v2.0 with LLVM Exceptions.
// See LICENSE for license information.
//
//===----------------------------------------------------------------------===//

#include "nnc/Codegen/Common/Pipelines.h"

#include "mlir/InitAllPasses.h"
#include "mlir/Pass/PassRegistry.h"
#include "llvm/Support/ErrorHandling.h"

using namespace mlir;

/// Upstream passes are added by their textual form: that is the spelling a
/// user sees in `nnc-opt --help` and in lit RUN lines, so the pipeline below
/// reads exactly like the equivalent nnc-opt command. Parsing needs the
/// upstream passes registered, which library users (JIT, nnc-compile) have
/// not necessarily done; registering the same pass twice is harmless.
void mlir::nnc::addTextualPipeline(OpPassManager &pm, StringRef pipeline) {
  static bool registered = [] {
    registerAllPasses();
    return true;
  }();
  (void)registered;
  if (failed(parsePassPipeline(pipeline, pm, llvm::errs())))
    llvm::report_fatal_error(llvm::Twine("nnc: bad built-in pipeline: ") +
                             pipeline);
}

void mlir::nnc::buildHostToLLVMPipeline(OpPassManager &pm) {
  addTextualPipeline(pm, "lower-affine");
  // bf16 storage (a mixed-precision step's): widening and rounding as
  // integer operations (round to nearest even), which LLVM vectorizes,
  // rather than calls of compiler-rt's __truncsfbf2 the JIT cannot resolve.
  addTextualPipeline(pm, "func.func(arith-expand{include-bf16=true})");
  addTextualPipeline(pm, "convert-scf-to-cf");
  // fma, exp and log become LLVM intrinsics; what has none (tanh) then
  // calls libm. In this order: the other way round, fma became a call of
  // libm's scalar fmaf in every loop's remainder.
  addTextualPipeline(pm, "convert-math-to-llvm");
  addTextualPipeline(pm, "convert-math-to-libm");
  addTextualPipeline(pm, "expand-strided-metadata");
  addTextualPipeline(pm, "lower-affine");
  addTextualPipeline(pm, "finalize-memref-to-llvm");
  addTextualPipeline(pm, "convert-vector-to-llvm");
  addTextualPipeline(pm, "convert-arith-to-llvm");
  addTextualPipeline(pm, "convert-index-to-llvm");
  addTextualPipeline(pm, "convert-cf-to-llvm");
  // Bare pointers: the C header can then declare plain float* parameters.
  addTextualPipeline(pm, "convert-func-to-llvm{use-bare-ptr-memref-call-conv}");
  addTextualPipeline(pm, "reconcile-unrealized-casts");
}
