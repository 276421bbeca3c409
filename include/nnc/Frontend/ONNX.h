//===- ONNX.h - import ONNX models into the nn dialect ----------*- C++ -*-===//
//
// Part of nnc, under the Apache License v2.0 with LLVM Exceptions.
// See LICENSE for license information.
//
//===----------------------------------------------------------------------===//
///
/// \file
/// Reads an ONNX model (Debian's libonnx and protobuf) and builds an nnc
/// model function with GraphBuilder: what PyTorch's exporter writes for
/// feedforward networks, opsets 13 to 17. Initializers become `nn.param`
/// arguments named after their initializer (`nn.source_name`, the PyTorch
/// state_dict key) with a C identifier as `nn.name`; their values come back
/// as the model's initial weights.
///
/// Every error is a diagnostic at a location naming the file (and, for a
/// node, the node's name as a NameLoc), emitted through the context's
/// handler: a malformed or truncated file, an opset out of range, a cycle,
/// an input nothing defines, an unsupported op or attribute value. The
/// importer never throws and never crashes on bad input: libonnx's checker
/// runs inside this library, after the importer's own validation of every
/// tensor (libonnx 1.12 reads past buffers whose size disagrees with their
/// shape).
///
//===----------------------------------------------------------------------===//

#ifndef NNC_FRONTEND_ONNX_H
#define NNC_FRONTEND_ONNX_H

#include "nnc/Frontend/GraphBuilder.h"
#include "nnc/Frontend/Weights.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/OwningOpRef.h"

#include <optional>
#include <string>

namespace mlir::nnc {

struct ONNXImportOptions {
  /// The model function's name; empty: the file's stem made a C identifier.
  std::string name;
  /// For an inference graph (its output is not a scalar loss): the loss to
  /// append, with a `labels` (i64 class indices, cross-entropy) or
  /// `targets` (the output's shape, MSE) input. A graph that computes its
  /// loss must not be given one.
  std::optional<Loss> loss;
  /// The size of every symbolic dimension (a dynamic batch); without it a
  /// symbolic dimension is an error.
  std::optional<int64_t> batch;
  /// Also emit `@<name>_predict` (role predict): the graph up to the loss's
  /// input, parameters as plain inputs, dropout off (PyTorch's eval mode).
  bool predict = true;
};

/// The imported module and the initializers' values of its parameters, in
/// argument order, named by `nn.source_name`.
struct ImportedModel {
  OwningOpRef<ModuleOp> module;
  WeightSet initialWeights;
};

/// Imports the ONNX model in `path`.
FailureOr<ImportedModel> importONNX(MLIRContext &context, StringRef path,
                                    const ONNXImportOptions &options = {});

/// Imports a serialized ONNX model; `fileName` is what locations name.
FailureOr<ImportedModel>
importONNXBuffer(MLIRContext &context, StringRef bytes, StringRef fileName,
                 const ONNXImportOptions &options = {});

/// Registers `--import-onnx` with MLIR's translation registry (for
/// nnc-translate), with its options `--onnx-loss`, `--onnx-batch`,
/// `--onnx-name` and `--onnx-no-predict`.
void registerFromONNXTranslation();

} // namespace mlir::nnc

#endif // NNC_FRONTEND_ONNX_H
