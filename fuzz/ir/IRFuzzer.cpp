//===- IRFuzzer.cpp - fuzz the IR parser, nnc-verify-model, the CPU pipeline
//===//
//
// Part of nnc, under the Apache License v2.0 with LLVM Exceptions.
// See LICENSE for license information.
//
// Input: `.mlir` text. It is parsed with every dialect nnc-opt knows and
// unregistered ops allowed (a hostile user's --allow-unregistered-dialect),
// then compiled for the CPU down to the LLVM dialect, which starts with
// nnc-verify-model. The contract: whatever fails says so with an error;
// whatever compiles is a valid LLVM-dialect module whose entry points have
// a consistent arena. One input bit picks the checkpoint strategy so the
// rematerializer and the planner see what the parser accepts as well.
//
// Every pass must also be safe when run alone on whatever parses (nnc-opt
// lets a user do exactly that), so the input's hash also picks one of nnc's
// passes to run on its own first: it fails with an error or leaves IR that
// verifies.
//
//===----------------------------------------------------------------------===//

#include "FuzzerUtils.h"

#include "nnc/Frontend/ModelLoader.h"
#include "nnc/Pipeline/Compiler.h"
#include "nnc/Pipeline/Pipelines.h"

#include "mlir/IR/DialectRegistry.h"
#include "mlir/IR/Verifier.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassRegistry.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/xxhash.h"

using namespace mlir;

static DialectRegistry *registry;

extern "C" int LLVMFuzzerInitialize(int *, char ***) {
  registry = new DialectRegistry();
  mlir::nnc::registerNNCDialects(*registry);
  mlir::nnc::registerNNCPasses();
  return 0;
}

/// Every nnc pass, each as nnc-opt would run it (default options).
static const char *const kPasses[] = {
    "nnc-verify-model",
    "nnc-autodiff",
    "nnc-plan-checkpoints",
    "nnc-plan-checkpoints{strategy=dp budget=4096}",
    "nnc-rematerialize",
    "nnc-fuse-updates",
    "convert-nn-to-linalg",
    "nnc-verify-no-nn",
    "nnc-outline-kernels",
    "func.func(nnc-lower-dot-contractions)",
    "func.func(nnc-lower-tiled-contractions)",
    "func.func(nnc-plan-runtime-workspaces)",
    "nnc-lower-matmuls-to-calls",
    "nnc-skip-self-copies",
    "nnc-parallelize-kernels",
    "nnc-lower-parallel-calls",
    "nnc-strip-nn-attributes",
    "nnc-plan-memory",
    "nnc-verify-arena",
    "nnc-gpu-build-kernels",
    "nnc-gpu-lower-launches",
};

/// Runs `pipeline` alone on a copy of `module`.
static void runAlone(ModuleOp module, StringRef pipeline) {
  MLIRContext *ctx = module.getContext();
  mlir::nnc::fuzz::ErrorCounter errors(*ctx);
  OwningOpRef<ModuleOp> copy = module.clone();
  PassManager pm(ctx);
  // Verified below instead, so a pass that leaves invalid IR is told apart
  // from one that rejects its input.
  pm.enableVerifier(false);
  if (failed(parsePassPipeline(pipeline, pm)))
    mlir::nnc::fuzz::contractBroken(Twine("no pass pipeline ") + pipeline);
  bool passFailed = failed(pm.run(*copy));
  mlir::nnc::fuzz::checkOutcome(passFailed, errors, "the pass alone");
  if (!passFailed && failed(verify(*copy)))
    mlir::nnc::fuzz::contractBroken(Twine(pipeline) + " left invalid IR");
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  // Compile time grows with the model; the tools' own limits (docs/Limits.md)
  // are far above what a fuzzer can explore per second, so keep inputs small.
  if (size > 16384)
    return -1;
  // MLIR's lexer reads the byte after the buffer, expecting a terminating
  // NUL (as every MemoryBuffer read from a file has): a std::string has one.
  std::string text(reinterpret_cast<const char *>(data), size);
  MLIRContext ctx(*registry, MLIRContext::Threading::DISABLED);
  ctx.allowUnregisteredDialects();
  mlir::nnc::fuzz::ErrorCounter errors(ctx);

  // Parsed as the tools parse a model file (loadModel).
  llvm::SourceMgr sourceMgr;
  sourceMgr.AddNewSourceBuffer(llvm::MemoryBuffer::getMemBuffer(text, "input"),
                               llvm::SMLoc());
  OwningOpRef<ModuleOp> module =
      mlir::nnc::parseModelSource(sourceMgr, ctx);
  mlir::nnc::fuzz::checkOutcome(!module, errors, "parsing");
  if (!module)
    return 0;
  runAlone(*module, kPasses[llvm::xxh3_64bits(ArrayRef<uint8_t>(data, size)) %
                            std::size(kPasses)]);

  mlir::nnc::CompileOptions options;
  if (size & 1)
    options.checkpoint.strategy = mlir::nnc::CheckpointStrategy::Sqrt;
  FailureOr<mlir::nnc::CompiledModel> compiled =
      mlir::nnc::compileForCPU(std::move(module), options);
  mlir::nnc::fuzz::checkOutcome(failed(compiled), errors, "the CPU pipeline");
  if (failed(compiled))
    return 0;

  if (failed(verify(*compiled->module)))
    mlir::nnc::fuzz::contractBroken("the compiled module does not verify");
  for (const mlir::nnc::EntryPoint &entry : compiled->entries) {
    if (entry.workspaceBytes < entry.maxLiveBytes || entry.maxLiveBytes < 0)
      mlir::nnc::fuzz::contractBroken("an arena smaller than its live bytes");
    for (const mlir::nnc::BufferInfo &b : entry.inputs)
      if (b.bytes <= 0)
        mlir::nnc::fuzz::contractBroken("an input of no bytes");
  }
  return 0;
}
