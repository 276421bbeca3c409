//===- ModelLoader.cpp - read, import or build a model --------------------===//
//
// Part of nnc, under the Apache License v2.0 with LLVM Exceptions.
// See LICENSE for license information.
//
//===----------------------------------------------------------------------===//

#include "nnc/Frontend/ModelLoader.h"

#include "nnc/Dialect/NN/Transforms/Passes.h"
#include "nnc/Frontend/ONNX.h"
#include "nnc/Support/Files.h"
#include "nnc/Support/Limits.h"

#include "mlir/Parser/Parser.h"
#include "mlir/Support/FileUtilities.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/SourceMgr.h"

#include <cmath>

using namespace mlir;
using namespace mlir::nnc;
namespace cl = llvm::cl;

bool ModelSource::isONNX() const {
  return llvm::sys::path::extension(inputFile) == ".onnx";
}

/// An MLP's initial parameters, named as buildMLP names them.
static WeightSet mlpWeights(const MLPSpec &spec) {
  WeightSet set;
  std::vector<std::vector<float>> values = initParameters(spec);
  for (int64_t l = 0; l < spec.numLayers(); ++l) {
    std::string layer = std::to_string(l + 1);
    set.tensors.push_back(
        {"W" + layer, {spec.widths[l + 1], spec.widths[l]}, values[2 * l]});
    set.tensors.push_back(
        {"b" + layer, {spec.widths[l + 1]}, values[2 * l + 1]});
  }
  return set;
}

llvm::Expected<OwningOpRef<ModuleOp>>
mlir::nnc::loadModel(MLIRContext &context, llvm::SourceMgr &sourceMgr,
                     const ModelSource &source, WeightSet *initialWeights) {
  if (initialWeights)
    *initialWeights = {};
  if (source.isMLP()) {
    OwningOpRef<ModuleOp> module = buildMLP(context, source.mlp, source.name);
    if (!module)
      return llvm::createStringError("cannot build the MLP");
    // The spec's sizes are checked (and reported) before any weight exists.
    for (auto fn : module->getOps<func::FuncOp>())
      if (isModelFunction(fn) && failed(verifyModelFunction(fn)))
        return llvm::createStringError("the MLP is beyond nnc's limits (see "
                                       "docs/Limits.md)");
    if (initialWeights) {
      uint64_t bytes = 0; // each tensor is at most 1 TiB: no overflow
      for (int64_t l = 0; l < source.mlp.numLayers(); ++l)
        bytes += 4 * uint64_t(source.mlp.widths[l + 1]) *
                 (uint64_t(source.mlp.widths[l]) + 1);
      if (uint64_t memory = ::nnc::limits::physicalMemoryBytes();
          memory && bytes > memory)
        return llvm::createStringError(
            "the MLP's parameters need " + std::to_string(bytes) +
            " bytes, more than this machine's " + std::to_string(memory) +
            " bytes of memory");
      *initialWeights = mlpWeights(source.mlp);
    }
    return std::move(module);
  }
  if (source.isONNX()) {
    ONNXImportOptions options;
    options.name = source.name;
    options.loss = source.loss;
    options.batch = source.batch;
    FailureOr<ImportedModel> imported =
        importONNX(context, source.inputFile, options);
    if (failed(imported)) // the importer reported where
      return ::nnc::makeDiagnosedError();
    if (initialWeights)
      *initialWeights = std::move(imported->initialWeights);
    return std::move(imported->module);
  }
  if (llvm::Error err = ::nnc::checkRegularFile(source.inputFile))
    return std::move(err);
  std::string error;
  auto file = openInputFile(source.inputFile, &error);
  if (!file)
    return llvm::createStringError(error);
  StringRef text = file->getBuffer();
  if (std::optional<size_t> at =
          ::nnc::limits::findExcessiveNesting(text, ::nnc::limits::kMaxMLIRNesting)) {
    unsigned id = sourceMgr.AddNewSourceBuffer(std::move(file), llvm::SMLoc());
    auto [line, col] = sourceMgr.getLineAndColumn(
        llvm::SMLoc::getFromPointer(text.data() + *at), id);
    emitError(FileLineColLoc::get(&context, source.inputFile, line, col))
        << "brackets nest deeper than " << ::nnc::limits::kMaxMLIRNesting
        << " levels, over nnc's limit (the parser would overflow its stack)";
    return ::nnc::makeDiagnosedError();
  }
  sourceMgr.AddNewSourceBuffer(std::move(file), llvm::SMLoc());
  OwningOpRef<ModuleOp> module = parseModelSource(sourceMgr, context);
  if (!module) // the parser reported where
    return ::nnc::makeDiagnosedError();
  return std::move(module);
}

OwningOpRef<ModuleOp> mlir::nnc::parseModelSource(llvm::SourceMgr &sourceMgr,
                                                  MLIRContext &context) {
  const llvm::MemoryBuffer &buffer =
      *sourceMgr.getMemoryBuffer(sourceMgr.getMainFileID());
  if (std::optional<size_t> at =
          ::nnc::limits::findNonStringIteratorType(buffer.getBuffer())) {
    auto [line, col] = sourceMgr.getLineAndColumn(
        llvm::SMLoc::getFromPointer(buffer.getBufferStart() + *at));
    emitError(FileLineColLoc::get(&context, buffer.getBufferIdentifier(),
                                  line, col))
        << "linalg.generic's iterator_types must be strings (\"parallel\" or "
           "\"reduction\"): MLIR's parser would read this one as a string";
    return nullptr;
  }
  bool reportedError = false;
  // Observes only: returning failure passes each diagnostic on to the
  // handlers below this one.
  ScopedDiagnosticHandler observer(&context, [&](Diagnostic &d) {
    reportedError |= d.getSeverity() == DiagnosticSeverity::Error;
    return failure();
  });
  OwningOpRef<ModuleOp> module = parseSourceFile<ModuleOp>(sourceMgr, &context);
  if (reportedError)
    return nullptr;
  return module;
}

ModelCLOptions::ModelCLOptions(cl::OptionCategory &cat)
    : inputFile(cl::Positional, cl::desc("[model.mlir|model.onnx]"),
                cl::init(""), cl::cat(cat)),
      mlp("mlp",
          cl::desc("MLP layer widths, e.g. 784,100,10 (used when no model "
                   "file is given)"),
          cl::init("784,100,10"), cl::cat(cat)),
      name("name", cl::desc("MLP model function name"), cl::init("mlp"),
           cl::cat(cat)),
      activation("activation", cl::desc("MLP activation"),
                 cl::init(Activation::ReLU), cl::cat(cat)),
      loss("loss",
           cl::desc("MLP loss; for an ONNX inference graph, the loss to "
                    "append"),
           cl::init(Loss::CrossEntropy), cl::cat(cat)),
      init("init", cl::desc("Weight initialization (biases start at 0)"),
           cl::init(Init::Kaiming), cl::cat(cat)),
      batch("batch",
            cl::desc("MLP batch size; for an ONNX model, the size of its "
                     "symbolic dimensions"),
            cl::init(128), cl::cat(cat)),
      dropout("dropout", cl::desc("MLP dropout rate after hidden layers"),
              cl::init(0.0), cl::cat(cat)),
      initStd("init-std", cl::desc("Standard deviation of --init=gaussian"),
              cl::init(0.01), cl::cat(cat)),
      initValue("init-value", cl::desc("Every weight of --init=constant"),
                cl::init(0.0), cl::cat(cat)),
      seed("seed", cl::desc("MLP initialization seed"), cl::init(0),
           cl::cat(cat)) {}

llvm::Expected<ModelSource> ModelCLOptions::getSource() const {
  ModelSource source;
  source.inputFile = inputFile;
  source.name = name;
  auto spec = parseMLPSpec(mlp, batch);
  if (!spec)
    return spec.takeError();
  spec->activation = activation;
  spec->loss = loss;
  if (!(dropout >= 0 && dropout < 1))
    return llvm::createStringError("--dropout must be in [0, 1), got " +
                                   std::to_string(dropout));
  if (source.isONNX()) {
    // Only what was given applies to an ONNX model; the defaults are the
    // MLP's.
    if (!name.getNumOccurrences())
      source.name.clear();
    if (loss.getNumOccurrences())
      source.loss = spec->loss;
    if (batch.getNumOccurrences())
      source.batch = static_cast<int64_t>(batch);
  }
  source.mlp = std::move(*spec);
  source.mlp.dropout = dropout;
  source.mlp.init = init;
  if (!std::isfinite(initStd) || initStd < 0 || !std::isfinite(initValue))
    return llvm::createStringError(
        "--init-std must be finite and not negative, and "
        "--init-value finite");
  source.mlp.initStd = initStd;
  source.mlp.initValue = initValue;
  source.mlp.seed = seed;
  return source;
}
