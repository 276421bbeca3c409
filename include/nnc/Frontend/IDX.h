//===- IDX.h - read IDX data sets (MNIST, Fashion-MNIST) --------*- C++ -*-===//
//
// Part of nnc, under the Apache License v2.0 with LLVM Exceptions.
// See LICENSE for license information.
//
// The IDX format of LeCun's MNIST and Zalando's Fashion-MNIST: a big-endian
// magic number (two zero bytes, a type code, the number of dimensions),
// one big-endian u32 per dimension, then the row-major data. Files may be
// gzipped (Debian's dataset-fashion-mnist ships *-ubyte.gz); zlib's gzread
// reads both forms.
//
//===----------------------------------------------------------------------===//

#ifndef NNC_FRONTEND_IDX_H
#define NNC_FRONTEND_IDX_H

#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

#include <cstdint>
#include <string>
#include <vector>

namespace mlir::nnc {

/// One IDX file of unsigned bytes (type code 0x08, the only one the image
/// data sets use).
struct IDXArray {
  std::vector<int64_t> dims;
  std::vector<uint8_t> data;
};

/// Reads `path`, gzipped or not. Every size is checked before it is used: a
/// missing file, a gzip stream that does not inflate, a wrong magic number
/// or type code, more than `maxDims` dimensions, a zero dimension, an
/// element count over `maxElements`, a truncated body or bytes after it are
/// errors naming the file and what is wrong.
/// `bytesPerElement` is what the caller will hold per element in all (the
/// raw byte included): data that would need more than the process may
/// allocate (limits::allocatableBytes) is refused before anything is
/// allocated.
llvm::Expected<IDXArray> readIDX(llvm::StringRef path, unsigned maxDims = 4,
                                 int64_t maxElements = int64_t(1) << 32,
                                 int64_t bytesPerElement = 1);

/// Images and labels, ready to train on.
struct Dataset {
  int64_t count = 0;
  /// Pixels per image (rows x columns).
  int64_t features = 0;
  /// `count` x `features` floats, row-major, normalized.
  std::vector<float> images;
  std::vector<int32_t> labels;
};

/// Reads an image file (3 dimensions: count, rows, columns) and a label
/// file (1 dimension: count) and checks them against each other and the
/// model: the same count, rows x columns == `features`, every label below
/// `classes`. Pixels become [0, 1] (x / 255); the caller normalizes.
llvm::Expected<Dataset> loadIDXDataset(llvm::StringRef imagesPath,
                                       llvm::StringRef labelsPath,
                                       int64_t features, int64_t classes);

/// The training (`train-*`) or test (`t10k-*`) half of an MNIST-layout
/// directory, gzipped or not: `<dir>/<prefix>-images-idx3-ubyte[.gz]`.
llvm::Expected<Dataset> loadMNISTLayout(llvm::StringRef dir, bool train,
                                        int64_t features, int64_t classes);

/// Per-pixel-independent standardization: (x - mean) / std with one mean
/// and standard deviation over all pixels of `stats` (the training set, so
/// test data sees the training statistics, as torchvision's Normalize with
/// the data set's constants does).
struct Normalization {
  double mean = 0, std = 1;
};
Normalization computeNormalization(const Dataset &stats);
void normalize(Dataset &data, Normalization n);

} // namespace mlir::nnc

#endif // NNC_FRONTEND_IDX_H
