//===- Weights.cpp - nnc's weights file -----------------------------------===//
//
// Part of nnc, under the Apache License v2.0 with LLVM Exceptions.
// See LICENSE for license information.
//
//===----------------------------------------------------------------------===//

#include "nnc/Frontend/Weights.h"

#include "llvm/ADT/Twine.h"
#include "llvm/Support/Endian.h"
#include "llvm/Support/FileOutputBuffer.h"
#include "llvm/Support/MathExtras.h"
#include "llvm/Support/MemoryBuffer.h"

#include <cstring>

using namespace mlir;
using namespace mlir::nnc;

static constexpr char kMagic[4] = {'N', 'N', 'C', 'W'};
static constexpr uint32_t kVersion = 1;
static constexpr uint32_t kMaxTensors = 65536, kMaxName = 4096, kMaxRank = 8;

static llvm::Error error(llvm::StringRef path, const llvm::Twine &msg) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                 "weights file '" + path + "': " + msg);
}

static std::string shapeStr(llvm::ArrayRef<int64_t> shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i)
    s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

llvm::Error mlir::nnc::writeWeights(llvm::StringRef path,
                                    llvm::ArrayRef<NamedTensor> tensors) {
  std::string out(kMagic, 4);
  auto u32 = [&](uint32_t v) {
    char b[4];
    llvm::support::endian::write32le(b, v);
    out.append(b, 4);
  };
  u32(kVersion);
  u32(tensors.size());
  for (const NamedTensor &t : tensors) {
    int64_t n = 1;
    for (int64_t d : t.shape)
      n *= d;
    if (static_cast<int64_t>(t.data.size()) != n)
      return error(path, "tensor '" + t.name + "' has " +
                             llvm::Twine(t.data.size()) + " values for shape " +
                             shapeStr(t.shape));
    u32(t.name.size());
    out += t.name;
    u32(t.shape.size());
    for (int64_t d : t.shape) {
      char b[8];
      llvm::support::endian::write64le(b, d);
      out.append(b, 8);
    }
    for (float v : t.data) {
      char b[4];
      uint32_t bits;
      std::memcpy(&bits, &v, 4);
      llvm::support::endian::write32le(b, bits);
      out.append(b, 4);
    }
  }
  auto buffer = llvm::FileOutputBuffer::create(path, out.size());
  if (!buffer)
    return error(path, llvm::toString(buffer.takeError()));
  std::memcpy((*buffer)->getBufferStart(), out.data(), out.size());
  if (llvm::Error e = (*buffer)->commit())
    return error(path, llvm::toString(std::move(e)));
  return llvm::Error::success();
}

llvm::Expected<std::vector<NamedTensor>>
mlir::nnc::readWeights(llvm::StringRef path) {
  auto file = llvm::MemoryBuffer::getFile(path, /*IsText=*/false,
                                          /*RequiresNullTerminator=*/false);
  if (!file)
    return error(path, file.getError().message());
  llvm::StringRef bytes = (*file)->getBuffer();
  uint64_t pos = 0;
  // Each read checks what is left first, so no length from the file is
  // trusted before it is known to fit.
  auto need = [&](uint64_t n, const llvm::Twine &what) -> llvm::Error {
    if (bytes.size() - pos < n)
      return error(path, "truncated in " + what + " at byte " +
                             llvm::Twine(pos) + " (" +
                             llvm::Twine(bytes.size()) + " bytes in the file)");
    return llvm::Error::success();
  };
  auto u32 = [&]() {
    uint32_t v = llvm::support::endian::read32le(bytes.data() + pos);
    pos += 4;
    return v;
  };
  if (llvm::Error e = need(12, "the header"))
    return std::move(e);
  if (std::memcmp(bytes.data(), kMagic, 4) != 0)
    return error(path, "not an nnc weights file (no 'NNCW' magic)");
  pos = 4;
  uint32_t version = u32();
  if (version != kVersion)
    return error(path, "version " + llvm::Twine(version) +
                           " is not supported (expected " +
                           llvm::Twine(kVersion) + ")");
  uint32_t count = u32();
  if (count > kMaxTensors)
    return error(path, "claims " + llvm::Twine(count) + " tensors (at most " +
                           llvm::Twine(kMaxTensors) + ")");
  std::vector<NamedTensor> tensors;
  for (uint32_t i = 0; i < count; ++i) {
    NamedTensor t;
    if (llvm::Error e = need(4, "tensor #" + llvm::Twine(i)))
      return std::move(e);
    uint32_t nameLen = u32();
    if (nameLen == 0 || nameLen > kMaxName)
      return error(path, "tensor #" + llvm::Twine(i) + " has a name of " +
                             llvm::Twine(nameLen) + " bytes (1 to " +
                             llvm::Twine(kMaxName) + ")");
    if (llvm::Error e =
            need(nameLen + 4, "the name of tensor #" + llvm::Twine(i)))
      return std::move(e);
    t.name = bytes.substr(pos, nameLen).str();
    pos += nameLen;
    uint32_t rank = u32();
    if (rank > kMaxRank)
      return error(path, "tensor '" + t.name + "' has rank " +
                             llvm::Twine(rank) + " (at most " +
                             llvm::Twine(kMaxRank) + ")");
    if (llvm::Error e =
            need(8 * uint64_t(rank), "the shape of '" + t.name + "'"))
      return std::move(e);
    int64_t elements = 1;
    for (uint32_t d = 0; d < rank; ++d) {
      int64_t dim = static_cast<int64_t>(
          llvm::support::endian::read64le(bytes.data() + pos));
      pos += 8;
      if (dim < 1)
        return error(path, "tensor '" + t.name + "' has dimension " +
                               llvm::Twine(dim));
      if (llvm::MulOverflow(elements, dim, elements) || elements > int64_t(1)
                                                                       << 40)
        return error(path, "tensor '" + t.name + "' is too large");
      t.shape.push_back(dim);
    }
    if (llvm::Error e =
            need(4 * uint64_t(elements),
                 "the data of '" + t.name + "' (" + shapeStr(t.shape) + ")"))
      return std::move(e);
    t.data.resize(elements);
    for (int64_t k = 0; k < elements; ++k) {
      uint32_t bits = u32();
      std::memcpy(&t.data[k], &bits, 4);
    }
    tensors.push_back(std::move(t));
  }
  if (pos != bytes.size())
    return error(path, llvm::Twine(bytes.size() - pos) +
                           " bytes follow the last tensor");
  return tensors;
}

llvm::Error mlir::nnc::matchWeights(llvm::StringRef path,
                                    llvm::ArrayRef<NamedTensor> loaded,
                                    llvm::ArrayRef<NamedTensor> expected) {
  if (loaded.size() != expected.size())
    return error(path, "holds " + llvm::Twine(loaded.size()) +
                           " tensors, the model has " +
                           llvm::Twine(expected.size()) + " parameters");
  for (size_t i = 0; i < loaded.size(); ++i) {
    if (loaded[i].name != expected[i].name)
      return error(path, "tensor #" + llvm::Twine(i) + " is '" +
                             loaded[i].name + "', the model's parameter is '" +
                             expected[i].name + "'");
    if (loaded[i].shape != expected[i].shape)
      return error(path, "tensor '" + loaded[i].name + "' has shape " +
                             shapeStr(loaded[i].shape) + ", the model needs " +
                             shapeStr(expected[i].shape));
  }
  return llvm::Error::success();
}
