//===- Weights.h - nnc's weights file ----------------------------*- C++
//-*-===//
//
// Part of nnc, under the Apache License v2.0 with LLVM Exceptions.
// See LICENSE for license information.
//
// A small self-describing file of named f32 tensors, what `nnc-train
// --save` writes and `--load` and `nnc-landscape --weights` read. All
// integers little-endian:
//
//   offset 0   "NNCW"                 magic
//          4   u32 version            1
//          8   u32 count              number of tensors (at most 65536)
//   then per tensor:
//              u32 name length        1..4096 bytes, then the name (UTF-8)
//              u32 rank               0..8
//              i64 dims[rank]         each >= 1
//              f32 data[prod(dims)]   row-major
//
// Nothing may follow the last tensor. Tensors come in parameter order (the
// header's: layer order, W [out, in] then b [out]) under their `nn.name`,
// so a file matches a model by names and shapes, not just by size.
// (A separate effort defines an ONNX-side weights format; this one is kept
// minimal so the two can be reconciled.)
//
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

struct NamedTensor {
  std::string name;
  std::vector<int64_t> shape;
  std::vector<float> data;
};

/// Writes `tensors` to `path` (each one's data must have prod(shape)
/// elements).
llvm::Error writeWeights(llvm::StringRef path,
                         llvm::ArrayRef<NamedTensor> tensors);

/// Reads and fully validates a weights file: magic, version, counts and
/// lengths in range, sizes that do not overflow and match the file's length
/// exactly. Errors name the file and the offending tensor.
llvm::Expected<std::vector<NamedTensor>> readWeights(llvm::StringRef path);

/// Checks that `loaded` holds exactly the tensors `expected` describes
/// (same order, names and shapes; data ignored), naming the first
/// difference.
llvm::Error matchWeights(llvm::StringRef path,
                         llvm::ArrayRef<NamedTensor> loaded,
                         llvm::ArrayRef<NamedTensor> expected);

} // namespace mlir::nnc

#endif // NNC_FRONTEND_WEIGHTS_H
