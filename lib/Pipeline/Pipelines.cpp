//===- Pipelines.cpp - nnc's named pass pipelines -------------------------===//
//
// Part of nnc, under the Apache License v2.0 with LLVM Exceptions.
// See LICENSE for license information.
//
//===----------------------------------------------------------------------===//

#include "nnc/Pipeline/Pipelines.h"

#include "nnc/Codegen/CPU/Passes.h"
#include "nnc/Codegen/Common/Passes.h"
#include "nnc/Conversion/Passes.h"
#include "nnc/Dialect/NN/IR/NNDialect.h"
#include "nnc/Dialect/NN/Transforms/Passes.h"
#include "nnc/Transforms/Passes.h"

#include "mlir/InitAllDialects.h"
#include "mlir/InitAllExtensions.h"
#include "mlir/InitAllPasses.h"
#include "mlir/Pass/PassRegistry.h"
#include "mlir/Target/LLVMIR/Dialect/All.h"
#include "llvm/Support/ErrorHandling.h"

using namespace mlir;
using namespace mlir::nnc;

/// Upstream passes are added by their textual form: that is the spelling a
/// user sees in `nnc-opt --help` and in lit RUN lines, so the pipeline below
/// reads exactly like the equivalent nnc-opt command. Parsing needs the
/// upstream passes registered, which library users (JIT, nnc-compile) have
/// not necessarily done; registering the same pass twice is harmless.
static void add(OpPassManager &pm, StringRef pipeline) {
  static bool registered = [] {
    registerAllPasses();
    return true;
  }();
  (void)registered;
  if (failed(parsePassPipeline(pipeline, pm, llvm::errs())))
    llvm::report_fatal_error(llvm::Twine("nnc: bad built-in pipeline: ") +
                             pipeline);
}

AutodiffOptions mlir::nnc::getAutodiffOptions(const CPUPipelineOptions &opts) {
  AutodiffOptions ad;
  ad.learningRate = opts.learningRate;
  ad.optimizer = opts.optimizer;
  ad.momentum = opts.momentum;
  ad.beta1 = opts.beta1;
  ad.beta2 = opts.beta2;
  ad.eps = opts.eps;
  ad.weightDecay = opts.weightDecay;
  ad.gradNorms = opts.gradNorms;
  ad.returnOutput = opts.returnOutput;
  return ad;
}

void mlir::nnc::copyStepOptions(const CPUPipelineOptions &from,
                                CPUPipelineOptions &to) {
  to.learningRate = static_cast<double>(from.learningRate);
  to.optimizer = static_cast<Optimizer>(from.optimizer);
  to.momentum = static_cast<double>(from.momentum);
  to.beta1 = static_cast<double>(from.beta1);
  to.beta2 = static_cast<double>(from.beta2);
  to.eps = static_cast<double>(from.eps);
  to.weightDecay = static_cast<double>(from.weightDecay);
  to.gradNorms = static_cast<bool>(from.gradNorms);
  to.returnOutput = static_cast<bool>(from.returnOutput);
}

void mlir::nnc::buildNNGraphPipeline(OpPassManager &pm,
                                     const CPUPipelineOptions &opts) {
  if (!opts.autodiff)
    return;
  // Contract: the frontend handed over a model function.
  pm.addPass(createVerifyModel());
  // Derive @<model>_grad (or @<model>_train_step with an optimizer).
  pm.addPass(createAutodiff(getAutodiffOptions(opts)));
  // Choose what to keep and what to recompute, then rewrite the function to
  // do exactly that (store-all too: one code path for every strategy, so
  // gradients are bit-identical across them).
  PlanCheckpointsOptions plan;
  plan.strategy = opts.strategy;
  plan.budget = opts.budget;
  plan.slots = opts.slots;
  plan.forwardFlopSeconds = opts.forwardFlopSeconds;
  plan.backwardFlopSeconds = opts.backwardFlopSeconds;
  pm.addPass(createPlanCheckpoints(plan));
  pm.addPass(createRematerialize());
}

void mlir::nnc::buildNNBufferizePipeline(OpPassManager &pm,
                                         const CPUPipelineOptions &opts) {
  // nn → linalg.generic on tensors, then prove nothing of nn is left.
  pm.addPass(createConvertNNToLinalg());
  pm.addPass(createVerifyNoNN());
  // Tensors → buffers across function boundaries, identity layouts so every
  // argument is a dense row-major array.
  add(pm, "one-shot-bufferize{bufferize-function-boundaries "
          "function-boundary-type-conversion=identity-layout-map}");
  // Returned buffers become caller-owned output arguments; results are
  // computed straight into them instead of being copied.
  add(pm, "buffer-results-to-out-params{hoist-static-allocs}");
  // Every remaining buffer gets a static offset in one caller-owned arena,
  // then prove no allocation is left outside it.
  PlanMemoryOptions memory;
  memory.svg = opts.memorySvg;
  pm.addPass(createPlanMemory(memory));
  pm.addPass(createVerifyArena());
  // Only the arenas of argument-less drivers (main) are heap-allocated; free
  // them.
  add(pm, "buffer-deallocation-pipeline");
  add(pm, "convert-bufferization-to-memref");
}

void mlir::nnc::buildLowerToLLVMPipeline(OpPassManager &pm) {
  // Graph annotations have served their purpose.
  pm.addPass(createStripNNAttributes());
  // One private kernel per distinct linalg op, so LLVM optimises each loop
  // nest once however often a plan recomputes it.
  pm.addPass(createOutlineKernels());
  // Structured ops → loops → CFG; contractions first: x·Wᵀ as register dot
  // products, a·b with a row-major b as register tiles.
  pm.addNestedPass<func::FuncOp>(createLowerDotContractions());
  pm.addNestedPass<func::FuncOp>(createLowerTiledContractions());
  add(pm, "func.func(convert-linalg-to-loops)");
  add(pm, "lower-affine");
  add(pm, "convert-scf-to-cf");
  // tanh has no LLVM intrinsic: call libm for it; the rest become intrinsics.
  add(pm, "convert-math-to-libm");
  add(pm, "convert-math-to-llvm");
  add(pm, "expand-strided-metadata");
  add(pm, "lower-affine");
  add(pm, "finalize-memref-to-llvm");
  add(pm, "convert-vector-to-llvm");
  add(pm, "convert-arith-to-llvm");
  add(pm, "convert-index-to-llvm");
  add(pm, "convert-cf-to-llvm");
  // Bare pointers: the C header can then declare plain float* parameters.
  add(pm, "convert-func-to-llvm{use-bare-ptr-memref-call-conv}");
  add(pm, "reconcile-unrealized-casts");
}

void mlir::nnc::buildCPUPipeline(OpPassManager &pm,
                                 const CPUPipelineOptions &opts) {
  buildNNGraphPipeline(pm, opts);
  buildNNBufferizePipeline(pm, opts);
  buildLowerToLLVMPipeline(pm);
}

void mlir::nnc::registerNNCPipelines() {
  PassPipelineRegistration<CPUPipelineOptions>(
      "nnc-cpu-pipeline",
      "Differentiate a model and lower it to LLVM for the CPU",
      buildCPUPipeline);
}

void mlir::nnc::registerNNCPasses() {
  registerNNCDialectTransformsPasses();
  registerNNCTransformsPasses();
  registerNNCConversionPasses();
  registerNNCCodegenCommonPasses();
  registerNNCCodegenCPUPasses();
  registerNNCPipelines();
}

void mlir::nnc::registerNNCDialects(DialectRegistry &registry) {
  registry.insert<NNDialect>();
  registerAllDialects(registry);
  registerAllExtensions(registry);
  registerAllToLLVMIRTranslations(registry);
}
