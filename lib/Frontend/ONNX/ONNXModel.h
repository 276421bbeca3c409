//===- ONNXModel.h - read and check an ONNX protobuf ------------*- C++ -*-===//
//
// Part of nnc, under the Apache License v2.0 with LLVM Exceptions.
// See LICENSE for license information.
//
// Private to the importer: parsing, validation and the decoding of constant
// tensors, the one part of nnc that sees protobuf and libonnx. Nothing here
// throws; libonnx's exceptions are caught in ONNXModel.cpp.
//
//===----------------------------------------------------------------------===//

#ifndef NNC_LIB_FRONTEND_ONNX_ONNXMODEL_H
#define NNC_LIB_FRONTEND_ONNX_ONNXMODEL_H

#include <onnx/onnx_pb.h>

#include "mlir/IR/Location.h"
#include "llvm/ADT/StringRef.h"

#include <cstdint>
#include <vector>

namespace mlir::nnc::onnx_import {

/// The opsets the importer maps (what PyTorch 1.13 exports by default and
/// the four before): outside, op semantics may differ from what it assumes.
constexpr int64_t kMinOpset = 13, kMaxOpset = 17;

/// Parses `bytes` into `model` and validates it: a graph present, every
/// tensor's data consistent with its type and shape (checked before libonnx
/// sees it), the default-domain opset within [kMinOpset, kMaxOpset], no
/// cycle, every node input defined, no value defined twice, and then
/// libonnx's checker. Errors are emitted at `fileLoc`.
LogicalResult readModel(llvm::StringRef bytes, Location fileLoc,
                        onnx::ModelProto &model);

/// A constant tensor's values, decoded from raw_data or the typed fields
/// (validated by readModel, so the counts match the shape).
struct ConstantValues {
  int32_t dataType = 0;
  std::vector<int64_t> dims;
  /// Floating-point types.
  std::vector<double> floats;
  /// Integer and boolean types.
  std::vector<int64_t> ints;

  bool isFloat() const;
  int64_t numElements() const;
};
ConstantValues decodeTensor(const onnx::TensorProto &tensor);

/// The f32 values of a FLOAT tensor.
std::vector<float> decodeFloats(const onnx::TensorProto &tensor);

/// A node's name for messages: its name, or its index when it has none.
std::string nodeLabel(const onnx::NodeProto &node, int index);

} // namespace mlir::nnc::onnx_import

#endif // NNC_LIB_FRONTEND_ONNX_ONNXMODEL_H
