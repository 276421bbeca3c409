//===- Pipelines.cpp - nnc's named pass pipelines -------------------------===//
//
// Part of nnc, under the Apache License v2.0 with LLVM Exceptions.
// See LICENSE for license information.
//
//===----------------------------------------------------------------------===//

#include "nnc/Pipeline/Pipelines.h"

#include "nnc/Codegen/CPU/Passes.h"
#include "nnc/Codegen/Common/Passes.h"
#include "nnc/Codegen/Common/Pipelines.h"
#include "nnc/Codegen/GPU/Passes.h"
#include "nnc/Conversion/Passes.h"
#include "nnc/Dialect/NN/IR/NNDialect.h"
#include "nnc/Dialect/NN/Transforms/Passes.h"
#include "nnc/Transforms/Passes.h"

#include "mlir/InitAllDialects.h"
#include "mlir/InitAllExtensions.h"
#include "mlir/InitAllPasses.h"
#include "mlir/Pass/PassRegistry.h"
#include "mlir/Target/LLVMIR/Dialect/All.h"

using namespace mlir;
using namespace mlir::nnc;

void mlir::nnc::buildNNGraphPipeline(OpPassManager &pm,
                                     const CompileOptions &opts,
                                     Target target) {
  if (!opts.autodiff)
    return;
  // Contract: the frontend handed over a model function.
  pm.addPass(createVerifyModel());
  // Derive @<model>_grad (or @<model>_train_step with an optimizer).
  // Types on the forward, as autocast does: each gradient then takes its
  // value's type through the VJPs, the planner prices bf16 activations,
  // and a recomputation repeats the original's conversions.
  if (opts.step.precision != Precision::F32)
    pm.addPass(createMixedPrecision({opts.step.precision}));
  pm.addPass(createAutodiff(opts.step.toAutodiffOptions()));
  // The backward converts each weight and the batch again where it reads
  // them, unless the step keeps the forward's copies (keep-cast-copies:
  // the plan then prices them as saved values).
  const bool recast =
      opts.step.precision != Precision::F32 && !opts.step.keepCastCopies;
  if (recast)
    pm.addPass(createRecastForBackward());
  // Max pooling's backward from one-byte window positions the forward
  // saves: before the plan, so that it prices them rather than the
  // pooling's input. The GPU's kernels recompute the positions instead.
  if (target == Target::CPU)
    pm.addPass(createMaxPoolIndices());
  // Choose what to keep and what to recompute, then rewrite the function to
  // do exactly that (store-all too: one code path for every strategy, so
  // gradients are bit-identical across them).
  PlanCheckpointsOptions plan =
      opts.checkpoint.toPlanCheckpointsOptions(opts.step);
  pm.addPass(createPlanCheckpoints(plan));
  // The cost calibration's step times each stage's forward and backward in
  // place: the rematerializer tags what each backward action emits.
  pm.addPass(createRematerialize(
      RematerializeOptions{opts.profileStages, plan.keepCastCopies}));
  if (opts.profileStages)
    pm.addPass(createProfileStages());
  // The rematerializer derives the backward afresh: convert again there too,
  // as the plan priced it.
  if (recast)
    pm.addPass(createRecastForBackward());
  // Micro-batches: the planned forward and backward once per micro-batch,
  // gradients summed in the arena, the updates once (docs/MicroBatches.md).
  // Before the all-reduce: the ranks average the accumulated gradient.
  if (opts.step.microBatches > 1)
    pm.addPass(createAccumulateGradients(
        AccumulateGradientsOptions{opts.step.microBatches}));
  // Data parallelism: each bucket of gradients is averaged over the ranks,
  // started as the backward completes it and waited for before its updates
  // (fused updates are off then: the gradient must exist to be reduced).
  if (opts.step.allReduce)
    pm.addPass(createInsertAllReduce(
        InsertAllReduceOptions{opts.step.bucketBytes}));
  // Dynamic loss scaling: on the complete (accumulated, averaged)
  // gradients, which it unscales and checks before any update (fused
  // updates are off then too).
  if (opts.step.lossScaling == LossScaling::Dynamic)
    pm.addPass(createLossScaling(LossScalingOptions{
        opts.step.lossScaleGrowth, opts.step.lossScaleBackoff,
        opts.step.lossScaleInterval}));
  // A weight's update straight from its gradient's matmul: exactly when the
  // plan counted no gradient buffer for it (the plan records the decision,
  // and nnc-fuse-updates checks it).
  if (plan.fusedUpdates)
    pm.addPass(createFuseUpdates());
}

void mlir::nnc::buildNNBufferizePipeline(OpPassManager &pm,
                                         const CompileOptions &opts,
                                         Target target) {
  // nn → linalg.generic on tensors, then prove nothing of nn is left.
  pm.addPass(createConvertNNToLinalg());
  pm.addPass(createVerifyNoNN());
  // oneDNN's blocked layout between the CPU's convolution calls, decided
  // on tensors where a value's readers are its uses. Not on the GPU: one
  // plan, two targets, and the GPU's convolution kernels read NCHW.
  if (target == Target::CPU && opts.cpu.convLayout == ConvLayout::Blocked)
    pm.addNestedPass<func::FuncOp>(createBlockConvLayouts());
  // The oneDNN calls' scratch memory as buffers of the plan, once their
  // layouts (what they reorder) are known.
  if (target == Target::CPU)
    pm.addNestedPass<func::FuncOp>(createPlanRuntimeWorkspaces());
  // Tensors → buffers across function boundaries, identity layouts so every
  // argument is a dense row-major array.
  addTextualPipeline(pm,
                     "one-shot-bufferize{bufferize-function-boundaries "
                     "function-boundary-type-conversion=identity-layout-map}");
  // Returned buffers become caller-owned output arguments; results are
  // computed straight into them instead of being copied.
  addTextualPipeline(pm, "buffer-results-to-out-params{hoist-static-allocs}");
  // Every remaining buffer gets a static offset in one caller-owned arena,
  // then prove no allocation is left outside it.
  PlanMemoryOptions memory;
  memory.svg = opts.memorySvg;
  pm.addPass(createPlanMemory(memory));
  pm.addPass(createVerifyArena());
  // Only the arenas of argument-less drivers (main) are heap-allocated; free
  // them.
  addTextualPipeline(pm, "buffer-deallocation-pipeline");
  addTextualPipeline(pm, "convert-bufferization-to-memref");
}

void mlir::nnc::buildCPUPipeline(OpPassManager &pm,
                                 const CompileOptions &opts) {
  buildNNGraphPipeline(pm, opts, Target::CPU);
  buildNNBufferizePipeline(pm, opts, Target::CPU);
  buildCPUCodegenPipeline(pm, opts.cpu);
}

void mlir::nnc::buildGPUPipeline(OpPassManager &pm,
                                 const CompileOptions &opts) {
  buildNNGraphPipeline(pm, opts, Target::NVPTX);
  buildNNBufferizePipeline(pm, opts, Target::NVPTX);
  buildGPUCodegenPipeline(pm, opts.gpu);
}

void mlir::nnc::registerNNCPipelines() {
  // Registered below PassPipelineRegistration, whose builder cannot fail:
  // the options are validated as the tools validate them (the budget and
  // every vocabulary already when parsed), and a bad one is an error of
  // the pipeline, not a default.
  auto registerPipeline =
      [](StringRef arg, StringRef description,
         void (*builder)(OpPassManager &, const CompileOptions &)) {
        registerPassPipeline(
            arg, description,
            [builder](OpPassManager &pm, StringRef text,
                      function_ref<LogicalResult(const Twine &)> error) {
              PipelineOptions options;
              if (failed(options.parseFromString(text)))
                return failure();
              CompileOptions opts = options.get();
              if (llvm::Error err = opts.validate())
                return error(llvm::toString(std::move(err)));
              builder(pm, opts);
              return success();
            },
            [](function_ref<void(const mlir::detail::PassOptions &)> print) {
              print(PipelineOptions());
            });
      };
  registerPipeline("nnc-cpu-pipeline",
                   "Differentiate a model and lower it to LLVM for the CPU",
                   buildCPUPipeline);
  registerPipeline("nnc-gpu-pipeline",
                   "Differentiate a model and lower it to NVPTX kernels and "
                   "host code calling nnc's CUDA runtime",
                   buildGPUPipeline);
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
