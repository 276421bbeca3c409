//===- ModelLoader.h - read, import or build a model ------------*- C++ -*-===//
//
// Part of nnc, under the Apache License v2.0 with LLVM Exceptions.
// See LICENSE for license information.
//
//===----------------------------------------------------------------------===//
///
/// ile
/// Where every tool's model comes from: a `.mlir` file, an ONNX model or an
/// MLP given on the command line. The model options are declared once here
/// (ModelCLOptions) for every tool; loadModel() turns a ModelSource into a
/// module, reporting located errors through the context's diagnostics.
///
//===----------------------------------------------------------------------===//

#ifndef NNC_FRONTEND_MODELLOADER_H
#define NNC_FRONTEND_MODELLOADER_H

#include "nnc/Frontend/GraphBuilder.h"
#include "nnc/Frontend/Weights.h"
#include "nnc/Support/Diagnosed.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/OwningOpRef.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/Error.h"

#include <optional>
#include <string>

namespace llvm {
class SourceMgr;
} // namespace llvm

namespace mlir::nnc {

/// What a tool works on: a model file, or an MLP built from a spec.
struct ModelSource {
  /// A `.mlir` or `.onnx` model; empty: build `mlp`.
  std::string inputFile;
  MLPSpec mlp;
  /// The model function's name: the MLP's, or an ONNX model's (empty: the
  /// file's stem).
  std::string name = "mlp";
  /// For an ONNX inference graph: the loss to append (`--loss` given).
  std::optional<Loss> loss;
  /// For an ONNX graph with symbolic dimensions: their size (`--batch`).
  std::optional<int64_t> batch;

  bool isMLP() const { return inputFile.empty(); }
  bool isONNX() const;
};

/// Reads, imports or builds the model module. A parse or import error is
/// reported (located) through the context's diagnostic handler, which should
/// be a SourceMgrDiagnosticHandler on `sourceMgr`, and returned as a
/// ::nnc::DiagnosedError (nothing more to print); an unreadable file or a
/// bad MLP is an llvm::Error with its message.
/// With `initialWeights`, also yields the parameters' initial values by
/// name: an ONNX model's initializers, an MLP's initialization; a `.mlir`
/// model has none (the set stays empty).
llvm::Expected<OwningOpRef<ModuleOp>>
loadModel(MLIRContext &context, llvm::SourceMgr &sourceMgr,
          const ModelSource &source, WeightSet *initialWeights = nullptr);

/// Parses the `.mlir` text in `sourceMgr`'s main buffer into a module.
/// Null when the parser reported any error, even where MLIR's parser went
/// on to build a module: a few of its optional-syntax paths report a failed
/// sub-parse and then continue as if the syntax were absent (the class of
/// llvm-project#67525), and a model with a dropped part would compile to
/// silently wrong code. Errors reach the context's handlers as usual.
OwningOpRef<ModuleOp> parseModelSource(llvm::SourceMgr &sourceMgr,
                                       MLIRContext &context);

/// Model selection: the positional model file or `--mlp` and its shape
/// (`--activation`, `--loss`, `--batch`, `--dropout`, `--init`,
/// `--init-std`, `--init-value`, `--seed`, `--name`). For an ONNX file,
/// `--loss` appends that loss to an inference graph, `--batch` sizes its
/// symbolic dimensions and `--name` names it; the other MLP options do not
/// apply.
class ModelCLOptions {
public:
  explicit ModelCLOptions(llvm::cl::OptionCategory &category);
  /// The source, validated: an error names the bad option.
  llvm::Expected<ModelSource> getSource() const;

private:
  llvm::cl::opt<std::string> inputFile, mlp, name;
  ::nnc::VocabularyOpt<Activation> activation;
  ::nnc::VocabularyOpt<Loss> loss;
  ::nnc::VocabularyOpt<Init> init;
  llvm::cl::opt<int64_t> batch;
  llvm::cl::opt<double> dropout, initStd, initValue;
  llvm::cl::opt<uint64_t> seed;
};

} // namespace mlir::nnc

#endif // NNC_FRONTEND_MODELLOADER_H
