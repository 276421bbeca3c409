//===- Weights.h - named parameter tensors on disk --------------*- C++ -*-===//
//
// Part of nnc, under the Apache License v2.0 with LLVM Exceptions.
// See LICENSE for license information.
//
//===----------------------------------------------------------------------===//
///
/// \file
/// nnc's weights file: the parameters of a model by name, so trained values
/// move between nnc, its tools and PyTorch (an ONNX import names each
/// parameter after its initializer, which is the PyTorch state_dict key).
///
/// The format (version 1), every integer little-endian:
///
///   offset 0   4 bytes  magic "NNCW"
///          4   u32      version, 1
///          8   u64      number of tensors
///   then per tensor, in order:
///              u32      name length in bytes, then the name (UTF-8, no NUL)
///              u32      element type: 1 (float32, ONNX's TensorProto code)
///              u32      rank, then rank i64 dimensions (each >= 0)
///              f32[]    the elements, row-major, IEEE little-endian
///
/// and nothing after the last tensor. Names are unique. A reader in numpy
/// is a dozen lines (docs/ONNX.md shows one).
///
//===----------------------------------------------------------------------===//

#ifndef NNC_FRONTEND_WEIGHTS_H
#define NNC_FRONTEND_WEIGHTS_H

#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

#include <cstdint>
#include <string>
#include <vector>

namespace mlir::nnc {

/// One f32 tensor and its name.
struct NamedTensor {
  std::string name;
  std::vector<int64_t> shape;
  std::vector<float> data;

  /// The product of `shape` (1 for a scalar).
  int64_t numElements() const;
};

/// The tensors of a weights file, in file order.
struct WeightSet {
  std::vector<NamedTensor> tensors;

  /// The tensor named `name`, or null.
  const NamedTensor *find(llvm::StringRef name) const;
};

/// Writes `weights` to `path`. Fails on duplicate names or a tensor whose
/// data does not hold exactly the elements of its shape.
llvm::Error saveWeights(llvm::StringRef path, const WeightSet &weights);

/// The same from parallel arrays: names[i] has shapes[i] and the
/// numElements(shapes[i]) floats at data[i].
llvm::Error saveWeights(llvm::StringRef path, llvm::ArrayRef<std::string> names,
                        llvm::ArrayRef<std::vector<int64_t>> shapes,
                        llvm::ArrayRef<const float *> data);

/// Reads and validates a weights file: the magic and version, every size
/// checked against the bytes that remain (so a truncated or corrupt file is
/// an error naming the offset, never a huge allocation), dimensions not
/// negative and their product not overflowing, names unique, no trailing
/// bytes.
llvm::Expected<WeightSet> loadWeights(llvm::StringRef path);
/// The same from bytes in memory; `what` names them in errors.
llvm::Expected<WeightSet> parseWeights(llvm::StringRef bytes,
                                       llvm::StringRef what);

/// What a model expects of a tensor: its name and shape.
struct TensorSpec {
  std::string name;
  std::vector<int64_t> shape;
};

/// The tensors of `weights` in the order of `expected`, checked by name: a
/// missing name, a shape mismatch or a tensor the model does not have is an
/// error that names it.
llvm::Expected<std::vector<const NamedTensor *>>
matchWeights(const WeightSet &weights, llvm::ArrayRef<TensorSpec> expected);

/// The training tools' view of the same file: every tensor in file order.
llvm::Error writeWeights(llvm::StringRef path,
                         llvm::ArrayRef<NamedTensor> tensors);
llvm::Expected<std::vector<NamedTensor>> readWeights(llvm::StringRef path);

/// Checks that `loaded` (read from `path`) holds exactly the tensors of
/// `expected`, in order, with their shapes: the parameters of a model to
/// resume training or evaluate. The error names the file and the first
/// difference.
llvm::Error matchWeights(llvm::StringRef path,
                         llvm::ArrayRef<NamedTensor> loaded,
                         llvm::ArrayRef<NamedTensor> expected);

} // namespace mlir::nnc

#endif // NNC_FRONTEND_WEIGHTS_H
