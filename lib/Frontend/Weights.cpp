//===- Weights.cpp - named parameter tensors on disk ----------------------===//
//
// Part of nnc, under the Apache License v2.0 with LLVM Exceptions.
// See LICENSE for license information.
//
//===----------------------------------------------------------------------===//

#include "nnc/Frontend/Weights.h"

#include "nnc/Support/Files.h"

#include "llvm/ADT/StringSet.h"
#include "llvm/Support/Endian.h"
#include "llvm/Support/EndianStream.h"
#include "llvm/Support/MathExtras.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/raw_ostream.h"

#include <cmath>
#include <cstring>

using namespace mlir::nnc;
using llvm::StringRef;
namespace endian = llvm::support::endian;

static constexpr char kMagic[4] = {'N', 'N', 'C', 'W'};
static constexpr uint32_t kVersion = 1;
/// ONNX's TensorProto::FLOAT, so the code means the same in both files.
static constexpr uint32_t kFloat32 = 1;

static std::string shapeStr(llvm::ArrayRef<int64_t> shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i)
    s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

int64_t NamedTensor::numElements() const {
  int64_t n = 1;
  for (int64_t d : shape)
    n *= d;
  return n;
}

const NamedTensor *WeightSet::find(StringRef name) const {
  for (const NamedTensor &t : tensors)
    if (t.name == name)
      return &t;
  return nullptr;
}

llvm::Error mlir::nnc::saveWeights(StringRef path,
                                   llvm::ArrayRef<std::string> names,
                                   llvm::ArrayRef<std::vector<int64_t>> shapes,
                                   llvm::ArrayRef<const float *> data) {
  if (names.size() != shapes.size() || names.size() != data.size())
    return llvm::createStringError("saveWeights: %zu names, %zu shapes and "
                                   "%zu data pointers",
                                   names.size(), shapes.size(), data.size());
  llvm::StringSet<> seen;
  for (StringRef name : names)
    if (!seen.insert(name).second)
      return llvm::createStringError("cannot write '%s': tensor name '%s' "
                                     "appears twice",
                                     path.str().c_str(), name.str().c_str());
  // Opening a FIFO to write blocks until something reads it (forever, for
  // a caller that passed the wrong path); a socket cannot be opened.
  llvm::sys::fs::file_status status;
  if (!llvm::sys::fs::status(path, status) &&
      (status.type() == llvm::sys::fs::file_type::fifo_file ||
       status.type() == llvm::sys::fs::file_type::socket_file))
    return llvm::createStringError("cannot write '%s': it is a FIFO or a "
                                   "socket, not a file",
                                   path.str().c_str());
  std::error_code ec;
  llvm::raw_fd_ostream os(path, ec);
  if (ec)
    return llvm::createStringError("cannot write '%s': %s", path.str().c_str(),
                                   ec.message().c_str());
  llvm::support::endian::Writer w(os, llvm::endianness::little);
  os.write(kMagic, sizeof(kMagic));
  w.write<uint32_t>(kVersion);
  w.write<uint64_t>(names.size());
  for (size_t i = 0; i < names.size(); ++i) {
    w.write<uint32_t>(names[i].size());
    os << names[i];
    w.write<uint32_t>(kFloat32);
    w.write<uint32_t>(shapes[i].size());
    int64_t n = 1;
    for (int64_t d : shapes[i]) {
      w.write<int64_t>(d);
      n *= d;
    }
    for (int64_t k = 0; k < n; ++k)
      w.write<float>(data[i][k]);
  }
  os.close();
  if (os.has_error()) {
    std::string why = os.error().message();
    // An error left on the stream is a fatal error in its destructor
    // (report_fatal_error: the caller's process exits).
    os.clear_error();
    return llvm::createStringError("cannot write '%s': %s", path.str().c_str(),
                                   why.c_str());
  }
  return llvm::Error::success();
}

llvm::Error mlir::nnc::saveWeights(StringRef path, const WeightSet &weights) {
  std::vector<std::string> names;
  std::vector<std::vector<int64_t>> shapes;
  std::vector<const float *> data;
  for (const NamedTensor &t : weights.tensors) {
    bool ok = llvm::all_of(t.shape, [](int64_t d) { return d >= 0; });
    if (!ok || static_cast<int64_t>(t.data.size()) != t.numElements())
      return llvm::createStringError(
          "cannot write '%s': tensor '%s' of shape %s holds %zu values",
          path.str().c_str(), t.name.c_str(), shapeStr(t.shape).c_str(),
          t.data.size());
    names.push_back(t.name);
    shapes.push_back(t.shape);
    data.push_back(t.data.data());
  }
  return saveWeights(path, names, shapes, data);
}

namespace {
/// Reads little-endian fields from `bytes`, failing (never reading past the
/// end) with the offset of the field that does not fit.
class Reader {
public:
  Reader(StringRef bytes, StringRef what) : bytes(bytes), what(what) {}

  template <typename T> llvm::Error read(T &value, StringRef field) {
    if (remaining() < sizeof(T))
      return truncated(field);
    value = endian::read<T, llvm::endianness::little>(bytes.data() + offset);
    offset += sizeof(T);
    return llvm::Error::success();
  }
  llvm::Error take(size_t n, StringRef &out, StringRef field) {
    if (remaining() < n)
      return truncated(field);
    out = bytes.substr(offset, n);
    offset += n;
    return llvm::Error::success();
  }
  size_t remaining() const { return bytes.size() - offset; }
  size_t getOffset() const { return offset; }
  llvm::Error error(const llvm::Twine &msg) const {
    return llvm::createStringError("%s: %s", what.str().c_str(),
                                   msg.str().c_str());
  }

private:
  llvm::Error truncated(StringRef field) const {
    return error("truncated: " + field + " at byte " + llvm::Twine(offset) +
                 " does not fit in the file's " + llvm::Twine(bytes.size()) +
                 " bytes");
  }
  StringRef bytes, what;
  size_t offset = 0;
};
} // namespace

llvm::Expected<WeightSet> mlir::nnc::parseWeights(StringRef bytes,
                                                  StringRef what) {
  Reader r(bytes, what);
  StringRef magic;
  if (llvm::Error e = r.take(4, magic, "the magic"))
    return std::move(e);
  if (magic != StringRef(kMagic, 4))
    return r.error("not an nnc weights file (no 'NNCW' magic)");
  uint32_t version;
  uint64_t count;
  if (llvm::Error e = r.read(version, "the version"))
    return std::move(e);
  if (version != kVersion)
    return r.error("unsupported version " + llvm::Twine(version) +
                   " (this nnc reads version 1)");
  if (llvm::Error e = r.read(count, "the tensor count"))
    return std::move(e);
  // Each tensor takes at least 12 bytes: a count larger than the file can
  // hold is corrupt, and must not size an allocation.
  if (count > r.remaining() / 12)
    return r.error("tensor count " + llvm::Twine(count) +
                   " does not fit in the file");

  WeightSet set;
  llvm::StringSet<> seen;
  for (uint64_t i = 0; i < count; ++i) {
    NamedTensor t;
    uint32_t nameLen, type, rank;
    StringRef name;
    if (llvm::Error e = r.read(nameLen, "a name length"))
      return std::move(e);
    if (llvm::Error e = r.take(nameLen, name, "a tensor name"))
      return std::move(e);
    t.name = name.str();
    if (!seen.insert(t.name).second)
      return r.error("tensor name '" + t.name + "' appears twice");
    if (llvm::Error e = r.read(type, "the element type of '" + t.name + "'"))
      return std::move(e);
    if (type != kFloat32)
      return r.error("tensor '" + t.name + "' has element type " +
                     llvm::Twine(type) + "; only 1 (float32) is supported");
    if (llvm::Error e = r.read(rank, "the rank of '" + t.name + "'"))
      return std::move(e);
    if (rank > r.remaining() / 8)
      return r.error("rank " + llvm::Twine(rank) + " of tensor '" + t.name +
                     "' does not fit in the file");
    uint64_t elements = 1;
    bool overflow = false;
    for (uint32_t k = 0; k < rank; ++k) {
      int64_t d;
      if (llvm::Error e = r.read(d, "a dimension of '" + t.name + "'"))
        return std::move(e);
      // No empty tensors (as in models): a 0 after huge dimensions would
      // otherwise hide their overflowing product.
      if (d <= 0)
        return r.error("tensor '" + t.name + "' has dimension " +
                       llvm::Twine(d) + "; dimensions are positive");
      t.shape.push_back(d);
      // SaturatingMultiply reports only its own call's overflow.
      bool step = false;
      elements = llvm::SaturatingMultiply<uint64_t>(elements, d, &step);
      overflow |= step;
    }
    if (overflow || elements > r.remaining() / sizeof(float))
      return r.error("truncated: tensor '" + t.name + "' of shape " +
                     shapeStr(t.shape) + " needs more bytes than the " +
                     llvm::Twine(r.remaining()) + " left at byte " +
                     llvm::Twine(r.getOffset()));
    StringRef raw;
    if (llvm::Error e = r.take(elements * sizeof(float), raw, "data"))
      return std::move(e);
    t.data.resize(elements);
    for (uint64_t k = 0; k < elements; ++k) {
      t.data[k] = endian::read<float, llvm::endianness::little>(
          raw.data() + k * sizeof(float));
      // A NaN or infinite weight makes every loss NaN: refused here, with
      // where it is, instead of training on it.
      if (!std::isfinite(t.data[k]))
        return r.error("tensor '" + t.name + "' holds a non-finite value (" +
                       std::to_string(t.data[k]) + ") at element " +
                       llvm::Twine(k));
    }
    set.tensors.push_back(std::move(t));
  }
  if (r.remaining())
    return r.error(llvm::Twine(r.remaining()) +
                   " trailing bytes after the last tensor");
  return set;
}

llvm::Expected<WeightSet> mlir::nnc::loadWeights(StringRef path) {
  auto buffer = ::nnc::readRegularFile(path);
  if (!buffer)
    return buffer.takeError();
  return parseWeights((*buffer)->getBuffer(), path);
}

llvm::Expected<std::vector<const NamedTensor *>>
mlir::nnc::matchWeights(const WeightSet &weights,
                        llvm::ArrayRef<TensorSpec> expected) {
  std::vector<const NamedTensor *> matched;
  llvm::StringSet<> wanted;
  for (const TensorSpec &spec : expected) {
    wanted.insert(spec.name);
    const NamedTensor *t = weights.find(spec.name);
    if (!t)
      return llvm::createStringError("the weights have no tensor '%s' (the "
                                     "model's parameter of shape %s)",
                                     spec.name.c_str(),
                                     shapeStr(spec.shape).c_str());
    if (t->shape != spec.shape)
      return llvm::createStringError(
          "tensor '%s' has shape %s in the weights but %s in the model",
          spec.name.c_str(), shapeStr(t->shape).c_str(),
          shapeStr(spec.shape).c_str());
    matched.push_back(t);
  }
  for (const NamedTensor &t : weights.tensors)
    if (!wanted.contains(t.name))
      return llvm::createStringError(
          "the weights have a tensor '%s' that the model has no parameter for",
          t.name.c_str());
  return matched;
}

llvm::Error mlir::nnc::writeWeights(llvm::StringRef path,
                                    llvm::ArrayRef<NamedTensor> tensors) {
  WeightSet set;
  set.tensors.assign(tensors.begin(), tensors.end());
  return saveWeights(path, set);
}

llvm::Expected<std::vector<NamedTensor>>
mlir::nnc::readWeights(llvm::StringRef path) {
  llvm::Expected<WeightSet> set = loadWeights(path);
  if (!set)
    return set.takeError();
  return std::move(set->tensors);
}

static std::string shapeText(llvm::ArrayRef<int64_t> shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i)
    s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

llvm::Error mlir::nnc::matchWeights(llvm::StringRef path,
                                    llvm::ArrayRef<NamedTensor> loaded,
                                    llvm::ArrayRef<NamedTensor> expected) {
  auto fail = [&](const llvm::Twine &msg) {
    return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                   "weights file '" + path + "': " + msg);
  };
  if (loaded.size() != expected.size())
    return fail("holds " + llvm::Twine(loaded.size()) +
                " tensors, the model has " + llvm::Twine(expected.size()) +
                " parameters");
  for (size_t i = 0; i < loaded.size(); ++i) {
    if (loaded[i].name != expected[i].name)
      return fail("tensor #" + llvm::Twine(i) + " is '" + loaded[i].name +
                  "', the model's parameter is '" + expected[i].name + "'");
    if (loaded[i].shape != expected[i].shape)
      return fail("tensor '" + loaded[i].name + "' has shape " +
                  shapeText(loaded[i].shape) + ", the model needs " +
                  shapeText(expected[i].shape));
  }
  return llvm::Error::success();
}
