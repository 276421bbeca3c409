//===- ONNXFuzzer.cpp - fuzz the ONNX importer ----------------------------===//
//
// Part of nnc, under the Apache License v2.0 with LLVM Exceptions.
// See LICENSE for license information.
//
// Input: a serialized ONNX model. It is imported (with a cross-entropy loss
// appended or not, and a batch for symbolic dimensions, picked by input
// bits) and what imports must be a model nnc-verify-model accepts, with one
// initial weight per parameter of the right size: the importer, not a later
// pass, is where a malformed model is rejected.
//
//===----------------------------------------------------------------------===//

#include "FuzzerUtils.h"

#include "nnc/Dialect/NN/IR/NNDialect.h"
#include "nnc/Dialect/NN/Transforms/Passes.h"
#include "nnc/Frontend/ONNX.h"
#include "nnc/Pipeline/Pipelines.h"

#include "mlir/IR/Verifier.h"
#include "mlir/Pass/PassManager.h"

using namespace mlir;

static DialectRegistry *registry;

extern "C" int LLVMFuzzerInitialize(int *, char ***) {
  registry = new DialectRegistry();
  mlir::nnc::registerNNCDialects(*registry);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size > 65536)
    return -1;
  MLIRContext ctx(*registry, MLIRContext::Threading::DISABLED);
  mlir::nnc::fuzz::ErrorCounter errors(ctx);

  mlir::nnc::ONNXImportOptions options;
  if (size & 1)
    options.loss = mlir::nnc::Loss::CrossEntropy;
  if (size & 2)
    options.batch = 4;
  FailureOr<mlir::nnc::ImportedModel> model = mlir::nnc::importONNXBuffer(
      ctx, StringRef(reinterpret_cast<const char *>(data), size), "fuzz.onnx",
      options);
  mlir::nnc::fuzz::checkOutcome(failed(model), errors, "the ONNX import");
  if (failed(model))
    return 0;

  if (failed(verify(*model->module)))
    mlir::nnc::fuzz::contractBroken("the imported module does not verify");
  PassManager pm(&ctx);
  pm.addPass(mlir::nnc::createVerifyModel());
  if (failed(pm.run(*model->module)))
    mlir::nnc::fuzz::contractBroken(
        "nnc-verify-model rejects an imported model");
  for (const mlir::nnc::NamedTensor &t : model->initialWeights.tensors)
    if (t.numElements() != int64_t(t.data.size()))
      mlir::nnc::fuzz::contractBroken("an initial weight of the wrong size");
  return 0;
}
