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
//===----------------------------------------------------------------------===//

#include "FuzzerUtils.h"

#include "nnc/Pipeline/Compiler.h"
#include "nnc/Pipeline/Pipelines.h"

#include "mlir/IR/DialectRegistry.h"
#include "mlir/IR/Verifier.h"
#include "mlir/Parser/Parser.h"

using namespace mlir;

static DialectRegistry *registry;

extern "C" int LLVMFuzzerInitialize(int *, char ***) {
  registry = new DialectRegistry();
  mlir::nnc::registerNNCDialects(*registry);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  // Compile time grows with the model; the tools' own limits (docs/Limits.md)
  // are far above what a fuzzer can explore per second, so keep inputs small.
  if (size > 16384)
    return -1;
  StringRef text(reinterpret_cast<const char *>(data), size);
  MLIRContext ctx(*registry, MLIRContext::Threading::DISABLED);
  ctx.allowUnregisteredDialects();
  mlir::nnc::fuzz::ErrorCounter errors(ctx);

  OwningOpRef<ModuleOp> module = parseSourceString<ModuleOp>(text, &ctx);
  mlir::nnc::fuzz::checkOutcome(!module, errors, "parsing");
  if (!module)
    return 0;

  mlir::nnc::CPUPipelineOptions options;
  if (size & 1)
    options.strategy = mlir::nnc::CheckpointStrategy::Sqrt;
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
