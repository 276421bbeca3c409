//===- Pipelines.cpp - nnc's named pass pipelines -------------------------===//
//
// Part of nnc, under the Apache License v2.0 with LLVM Exceptions.
// See LICENSE for license information.
//
//===----------------------------------------------------------------------===//

#include "nnc/Pipeline/Pipelines.h"

#include "nnc/Codegen/CPU/Passes.h"
#include "nnc/Codegen/Common/Passes.h"
#include "nnc/Codegen/GPU/Passes.h"
#include "nnc/Conversion/Passes.h"
#include "nnc/Dialect/NN/IR/NNDialect.h"
#include "nnc/Dialect/NN/Transforms/Passes.h"
#include "nnc/Transforms/Passes.h"

#include "mlir/Dialect/GPU/Transforms/Passes.h"
#include "mlir/InitAllDialects.h"
#include "mlir/InitAllExtensions.h"
#include "mlir/InitAllPasses.h"
#include "mlir/Pass/PassRegistry.h"
#include "mlir/Target/LLVMIR/Dialect/All.h"
#include "llvm/Support/ErrorHandling.h"

#include <cstdlib>

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

void mlir::nnc::buildNNGraphPipeline(OpPassManager &pm,
                                     const CompileOptions &opts) {
  if (!opts.autodiff)
    return;
  // Contract: the frontend handed over a model function.
  pm.addPass(createVerifyModel());
  // Derive @<model>_grad (or @<model>_train_step with an optimizer).
  pm.addPass(createAutodiff(opts.step.toAutodiffOptions()));
  // Choose what to keep and what to recompute, then rewrite the function to
  // do exactly that (store-all too: one code path for every strategy, so
  // gradients are bit-identical across them).
  PlanCheckpointsOptions plan =
      opts.checkpoint.toPlanCheckpointsOptions(opts.step);
  pm.addPass(createPlanCheckpoints(plan));
  pm.addPass(createRematerialize());
  // A weight's update straight from its gradient's matmul: exactly when the
  // plan counted no gradient buffer for it (the plan records the decision,
  // and nnc-fuse-updates checks it).
  if (plan.fusedUpdates)
    pm.addPass(createFuseUpdates());
}

void mlir::nnc::buildNNBufferizePipeline(OpPassManager &pm,
                                         const CompileOptions &opts) {
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

void mlir::nnc::buildLowerToLLVMPipeline(OpPassManager &pm,
                                         const CompileOptions &opts) {
  // Graph annotations have served their purpose.
  pm.addPass(createStripNNAttributes());
  // Contractions as calls of the runtime's GEMM (oneDNN), the default; the
  // buffers are the arena's, so nothing changes in the memory plan.
  if (opts.cpu.gemm == GemmEngine::Library)
    pm.addPass(createLowerMatmulsToCalls());
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
  add(pm, "func.func(convert-linalg-to-loops)");
  buildHostToLLVMPipeline(pm);
  pm.addPass(createLowerParallelCalls());
}

void mlir::nnc::buildHostToLLVMPipeline(OpPassManager &pm) {
  add(pm, "lower-affine");
  add(pm, "convert-scf-to-cf");
  // fma, exp and log become LLVM intrinsics; what has none (tanh) then
  // calls libm. In this order: the other way round, fma became a call of
  // libm's scalar fmaf in every loop's remainder.
  add(pm, "convert-math-to-llvm");
  add(pm, "convert-math-to-libm");
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
                                 const CompileOptions &opts) {
  buildNNGraphPipeline(pm, opts);
  buildNNBufferizePipeline(pm, opts);
  buildLowerToLLVMPipeline(pm, opts);
}

void mlir::nnc::buildGPUCodegenPipeline(OpPassManager &pm,
                                        const CompileOptions &opts) {
  pm.addPass(createStripNNAttributes());
  // Every linalg op of a step: a kernel of one gpu.module and a launch on
  // the same buffers, so the arena is the CPU target's.
  pm.addPass(createGPUBuildKernels());
  // Inside the kernels: scf, vector, memref and affine to LLVM first
  // (convert-gpu-to-nvvm lowers only gpu ops), bare pointers for 128-bit
  // loads and one parameter per buffer; math ops with libdevice functions
  // (exp, log, tanh, erf) become those, then the rest (fma) intrinsics.
  add(pm, "gpu.module(convert-vector-to-scf,convert-scf-to-cf,lower-affine,"
          "expand-strided-metadata,convert-nvgpu-to-nvvm,"
          "convert-vector-to-llvm,"
          "convert-gpu-to-nvvm{use-bare-ptr-memref-call-conv=1},"
          "convert-math-to-llvm,convert-arith-to-llvm,convert-index-to-llvm,"
          "canonicalize,cse,"
          "reconcile-unrealized-casts)");
  // To PTX for the chip (the driver compiles it when the module loads).
  add(pm, "nvvm-attach-target{chip=" + opts.gpu.getChipName().str() +
              " features=+ptx80 O=3}");
  // The toolkit's libdevice (nvvm/libdevice/libdevice.10.bc) is linked in
  // when present; without it the kernels' __nv_* calls stay unresolved and
  // nnc-gpu-lower-launches reports them. Built as an object, not text: the
  // path may hold characters the pipeline syntax reserves.
  GpuModuleToBinaryPassOptions binary;
  binary.toolkitPath = opts.gpu.getToolkitPath();
  binary.compilationTarget = "isa";
  pm.addPass(createGpuModuleToBinaryPass(binary));
  // Launches as calls of nnc's CUDA runtime, the PTX embedded as a string.
  GPULowerLaunchesOptions launches;
  launches.chip = opts.gpu.getChipName().str();
  pm.addPass(createGPULowerLaunches(launches));
  buildHostToLLVMPipeline(pm);
}

void mlir::nnc::buildGPUPipeline(OpPassManager &pm,
                                 const CompileOptions &opts) {
  buildNNGraphPipeline(pm, opts);
  buildNNBufferizePipeline(pm, opts);
  buildGPUCodegenPipeline(pm, opts);
}

void mlir::nnc::registerNNCPipelines() {
  // Values are checked where the passes read them (nnc-autodiff,
  // nnc-plan-checkpoints); the budget and every vocabulary when parsed.
  auto build = [](void (*builder)(OpPassManager &, const CompileOptions &)) {
    return [builder](OpPassManager &pm, const PipelineOptions &options) {
      builder(pm, options.get());
    };
  };
  PassPipelineRegistration<PipelineOptions>(
      "nnc-cpu-pipeline",
      "Differentiate a model and lower it to LLVM for the CPU",
      build(buildCPUPipeline));
  PassPipelineRegistration<PipelineOptions>(
      "nnc-gpu-pipeline",
      "Differentiate a model and lower it to NVPTX kernels and host code "
      "calling nnc's CUDA runtime",
      build(buildGPUPipeline));
}

void mlir::nnc::registerNNCPasses() {
  registerNNCDialectTransformsPasses();
  registerNNCTransformsPasses();
  registerNNCConversionPasses();
  registerNNCCodegenCommonPasses();
  registerNNCCodegenCPUPasses();
  registerNNCCodegenGPUPasses();
  registerNNCPipelines();
}

void mlir::nnc::registerNNCDialects(DialectRegistry &registry) {
  registry.insert<NNDialect>();
  registerAllDialects(registry);
  registerAllExtensions(registry);
  registerAllToLLVMIRTranslations(registry);
}
