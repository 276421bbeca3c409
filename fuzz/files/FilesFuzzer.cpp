//===- FilesFuzzer.cpp - fuzz the IDX and weights file readers ------------===//
//
// Part of nnc, under the Apache License v2.0 with LLVM Exceptions.
// See LICENSE for license information.
//
// Input: the bytes of a file, written to one temporary path and read both
// as an IDX data file (gzipped or not: the gzip magic is in the input) and
// as an nnc weights file, the way nnc-train, nnc-landscape, nnc-compile and
// the C API read them. Each reader must accept it or return an error; what
// it accepts must be consistent (an IDX array holds the product of its
// dimensions, every tensor the product of its shape, all finite), and no
// input may make a reader allocate beyond the sizes it declares (libFuzzer's
// -malloc_limit_mb catches that).
//
//===----------------------------------------------------------------------===//

#include "FuzzerUtils.h"

#include "nnc/Frontend/IDX.h"
#include "nnc/Frontend/Weights.h"

#include "llvm/Support/FileSystem.h"
#include "llvm/Support/raw_ostream.h"

#include <cmath>

static llvm::SmallString<128> *path;

extern "C" int LLVMFuzzerInitialize(int *, char ***) {
  path = new llvm::SmallString<128>();
  int fd;
  if (llvm::sys::fs::createTemporaryFile("nnc-files-fuzzer", "bin", fd,
                                         *path))
    mlir::nnc::fuzz::contractBroken("cannot create a temporary file");
  llvm::sys::fs::closeFile(fd);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size > 65536)
    return -1;
  {
    std::error_code ec;
    llvm::raw_fd_ostream os(*path, ec);
    if (ec)
      mlir::nnc::fuzz::contractBroken("cannot write the temporary file");
    os.write(reinterpret_cast<const char *>(data), size);
  }
  // An element bound far below the default keeps a declared size from
  // being allocated before the data proves it (the reader checks the
  // bound before it allocates).
  llvm::Expected<mlir::nnc::IDXArray> idx =
      mlir::nnc::readIDX(*path, 4, int64_t(1) << 22);
  if (idx) {
    int64_t n = 1;
    for (int64_t d : idx->dims)
      n *= d;
    if (idx->dims.empty() || n != int64_t(idx->data.size()))
      mlir::nnc::fuzz::contractBroken(
          "an IDX array does not hold the product of its dimensions");
  } else {
    llvm::consumeError(idx.takeError());
  }
  llvm::Expected<std::vector<mlir::nnc::NamedTensor>> weights =
      mlir::nnc::readWeights(*path);
  if (weights) {
    for (const mlir::nnc::NamedTensor &t : *weights) {
      if (t.numElements() != int64_t(t.data.size()))
        mlir::nnc::fuzz::contractBroken(
            "a weights tensor does not hold the product of its shape");
      for (float v : t.data)
        if (!std::isfinite(v))
          mlir::nnc::fuzz::contractBroken(
              "the weights reader accepted a non-finite value");
    }
  } else {
    llvm::consumeError(weights.takeError());
  }
  return 0;
}
