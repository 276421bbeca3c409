//===- IDX.cpp - read IDX data sets (MNIST, Fashion-MNIST) ----------------===//
//
// Part of nnc, under the Apache License v2.0 with LLVM Exceptions.
// See LICENSE for license information.
//
//===----------------------------------------------------------------------===//

#include "nnc/Frontend/IDX.h"

#include "nnc/Support/Limits.h"

#include "llvm/ADT/Twine.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/MathExtras.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"

#include <zlib.h>

#include <cerrno>
#include <climits>
#include <cmath>
#include <cstring>
#include <memory>
#include <vector>

using namespace mlir;
using namespace mlir::nnc;

static llvm::Error fileError(llvm::StringRef path, const llvm::Twine &msg) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                 "'" + path + "': " + msg);
}

namespace {
/// A gzFile that closes itself.
struct GzCloser {
  void operator()(gzFile_s *f) const { gzclose(f); }
};
using GzFile = std::unique_ptr<gzFile_s, GzCloser>;

/// Reads exactly `size` bytes (in chunks gzread's `unsigned` can count);
/// returns how many were read, or -1 with `error` set when zlib reports a
/// damaged stream.
int64_t readFully(gzFile f, void *dst, int64_t size, std::string &error) {
  int64_t done = 0;
  auto *out = static_cast<uint8_t *>(dst);
  while (done < size) {
    unsigned chunk =
        static_cast<unsigned>(std::min<int64_t>(size - done, int64_t(1) << 30));
    int got = gzread(f, out + done, chunk);
    if (got < 0) {
      int code = 0;
      const char *msg = gzerror(f, &code);
      error = msg && *msg ? msg : "read error";
      // zlib prefixes the path, which the caller's message already names.
      if (size_t colon = error.find(": "); colon != std::string::npos)
        error = error.substr(colon + 2);
      return -1;
    }
    if (got == 0)
      break;
    done += got;
  }
  // A stream cut short inflates what it has and then reports the missing
  // end; say that rather than only "truncated".
  int code = 0;
  const char *msg = gzerror(f, &code);
  if (done < size && code != Z_OK && code != Z_STREAM_END && msg && *msg) {
    error = msg;
    if (size_t colon = error.find(": "); colon != std::string::npos)
      error = error.substr(colon + 2);
  }
  return done;
}
/// How many bytes of the gzip file `path` follow its last gzip member
/// (concatenated members are one stream, as gzip reads them), or an error.
/// gzread ignores such bytes; a file with them is damaged or not what it
/// claims, so the reader refuses it. Inflates into a scratch buffer: the
/// file was read whole once already, so this costs one more pass.
llvm::Expected<size_t> bytesAfterGzip(llvm::StringRef path) {
  auto buffer = llvm::MemoryBuffer::getFile(path, /*IsText=*/false,
                                            /*RequiresNullTerminator=*/false);
  if (!buffer)
    return llvm::createStringError(buffer.getError(), "cannot read");
  llvm::StringRef bytes = (*buffer)->getBuffer();
  if (bytes.size() < 2 || uint8_t(bytes[0]) != 0x1f || uint8_t(bytes[1]) != 0x8b)
    return 0; // not gzipped: the reader saw the whole file
  z_stream z{};
  if (inflateInit2(&z, 15 + 16) != Z_OK)
    return llvm::createStringError("zlib cannot inflate");
  auto *in = reinterpret_cast<const Bytef *>(bytes.data());
  size_t offset = 0;
  std::vector<Bytef> scratch(1 << 16);
  int rc = Z_OK;
  while (offset < bytes.size()) {
    z.next_in = const_cast<Bytef *>(in + offset);
    z.avail_in = static_cast<uInt>(
        std::min<size_t>(bytes.size() - offset, size_t(1) << 30));
    z.next_out = scratch.data();
    z.avail_out = scratch.size();
    uInt before = z.avail_in;
    rc = inflate(&z, Z_NO_FLUSH);
    offset += before - z.avail_in;
    if (rc == Z_STREAM_END) {
      // Another member may follow; anything else is trailing bytes.
      if (offset + 1 < bytes.size() && uint8_t(bytes[offset]) == 0x1f &&
          uint8_t(bytes[offset + 1]) == 0x8b) {
        inflateReset(&z);
        continue;
      }
      break;
    }
    if (rc != Z_OK && rc != Z_BUF_ERROR)
      break;
    if (rc == Z_BUF_ERROR && before == z.avail_in)
      break; // no progress: a cut stream, which gzread reported already
  }
  inflateEnd(&z);
  return rc == Z_STREAM_END ? bytes.size() - offset : 0;
}
} // namespace

llvm::Expected<IDXArray> mlir::nnc::readIDX(llvm::StringRef path,
                                            unsigned maxDims,
                                            int64_t maxElements,
                                            int64_t bytesPerElement) {
  if (!llvm::sys::fs::exists(path))
    return fileError(path, "no such file");
  if (llvm::sys::fs::is_directory(path))
    return fileError(path, "is a directory, not an IDX file");
  // A FIFO or device has no end to read to (gzopen would block or read
  // forever): only regular files.
  llvm::sys::fs::file_status status;
  if (llvm::sys::fs::status(path, status) ||
      status.type() != llvm::sys::fs::file_type::regular_file)
    return fileError(path, "not a regular file");
  std::string p = path.str();
  errno = 0;
  GzFile f(gzopen(p.c_str(), "rb"));
  if (!f)
    return fileError(path, llvm::Twine("cannot open: ") +
                               (errno ? std::strerror(errno) : "zlib error"));
  std::string error;
  uint8_t magic[4];
  int64_t got = readFully(f.get(), magic, 4, error);
  if (got < 0)
    return fileError(path, "not a valid gzip stream (" + error + ")");
  if (got < 4)
    return fileError(path, "truncated: " + llvm::Twine(got) +
                               " bytes, too short for an IDX header");
  if (magic[0] != 0 || magic[1] != 0)
    return fileError(path, llvm::formatv("not an IDX file (magic number "
                                         "0x{0:x-2}{1:x-2}{2:x-2}{3:x-2}, "
                                         "expected 0x0000TTDD)",
                                         magic[0], magic[1], magic[2], magic[3])
                               .str());
  if (magic[2] != 0x08)
    return fileError(path, llvm::formatv("IDX element type 0x{0:x-2} is not "
                                         "unsigned bytes (0x08)",
                                         magic[2])
                               .str());
  unsigned rank = magic[3];
  if (rank == 0 || rank > maxDims)
    return fileError(path, "IDX file has " + llvm::Twine(rank) +
                               " dimensions, expected 1 to " +
                               llvm::Twine(maxDims));
  IDXArray array;
  int64_t elements = 1;
  for (unsigned d = 0; d < rank; ++d) {
    uint8_t b[4];
    got = readFully(f.get(), b, 4, error);
    if (got != 4)
      return fileError(path, error.empty() ? "truncated in the IDX header"
                                           : "truncated in the IDX header (" +
                                                 error + ")");
    int64_t dim = (int64_t(b[0]) << 24) | (int64_t(b[1]) << 16) |
                  (int64_t(b[2]) << 8) | int64_t(b[3]);
    if (dim == 0)
      return fileError(path, "dimension " + llvm::Twine(d) + " is 0");
    int64_t product;
    if (llvm::MulOverflow(elements, dim, product) || product > maxElements)
      return fileError(path, "IDX dimensions describe more than " +
                                 llvm::Twine(maxElements) + " elements");
    elements = product;
    array.dims.push_back(dim);
  }
  // Within the element bound but beyond memory (5.5 M images as floats):
  // refused before allocating, not by an out-of-memory abort.
  uint64_t need = uint64_t(elements) * uint64_t(std::max<int64_t>(
                                           bytesPerElement, 1));
  if (uint64_t can = ::nnc::limits::allocatableBytes(); can && need > can)
    return fileError(path, llvm::formatv("its {0} elements need {1} bytes "
                                         "in memory, more than the {2} this "
                                         "process may allocate",
                                         elements, need, can)
                               .str());
  array.data.resize(elements);
  got = readFully(f.get(), array.data.data(), elements, error);
  if (got < 0)
    return fileError(path, "corrupt data (" + error + ")");
  if (got < elements)
    return fileError(path, "truncated: the header promises " +
                               llvm::Twine(elements) + " bytes of data, " +
                               llvm::Twine(got) + " are there" +
                               (error.empty() ? "" : " (" + error + ")"));
  uint8_t extra;
  if (readFully(f.get(), &extra, 1, error) != 0)
    return fileError(path, "has bytes after the " + llvm::Twine(elements) +
                               " the header describes");
  llvm::Expected<size_t> after = bytesAfterGzip(path);
  if (!after)
    return fileError(path, llvm::toString(after.takeError()));
  if (*after)
    return fileError(path, "has " + llvm::Twine(*after) +
                               " bytes after its gzip stream");
  return array;
}

llvm::Expected<Dataset> mlir::nnc::loadIDXDataset(llvm::StringRef imagesPath,
                                                  llvm::StringRef labelsPath,
                                                  int64_t features,
                                                  int64_t classes) {
  // Each pixel is held as a byte and then as a float.
  auto images = readIDX(imagesPath, 3, int64_t(1) << 32, 1 + sizeof(float));
  if (!images)
    return images.takeError();
  if (images->dims.size() != 3)
    return fileError(imagesPath, "an image file has 3 dimensions (count, rows, "
                                 "columns), this one has " +
                                     llvm::Twine(images->dims.size()));
  auto labels = readIDX(labelsPath, 1, int64_t(1) << 32, 1 + sizeof(int32_t));
  if (!labels)
    return labels.takeError();
  int64_t count = images->dims[0];
  int64_t pixels = images->dims[1] * images->dims[2];
  if (pixels != features)
    return fileError(imagesPath,
                     llvm::formatv("images are {0}x{1} = {2} pixels, but the "
                                   "model's input has {3} features",
                                   images->dims[1], images->dims[2], pixels,
                                   features)
                         .str());
  if (labels->dims[0] != count)
    return fileError(labelsPath,
                     llvm::formatv("{0} labels for {1} images in "
                                   "'{2}'",
                                   labels->dims[0], count, imagesPath)
                         .str());
  Dataset data;
  data.count = count;
  data.features = features;
  data.labels.resize(count);
  for (int64_t i = 0; i < count; ++i) {
    int64_t label = labels->data[i];
    if (label >= classes)
      return fileError(labelsPath,
                       llvm::formatv("label {0} of sample {1} is out of range "
                                     "for a model with {2} classes",
                                     label, i, classes)
                           .str());
    data.labels[i] = static_cast<int32_t>(label);
  }
  data.images.resize(images->data.size());
  for (size_t i = 0; i < images->data.size(); ++i)
    data.images[i] = static_cast<float>(images->data[i]) / 255.0f;
  return data;
}

llvm::Expected<Dataset> mlir::nnc::loadMNISTLayout(llvm::StringRef dir,
                                                   bool train, int64_t features,
                                                   int64_t classes) {
  if (!llvm::sys::fs::is_directory(dir))
    return llvm::createStringError(
        llvm::inconvertibleErrorCode(),
        "data directory '" + dir +
            "' does not exist (Debian's dataset-fashion-mnist installs "
            "/usr/share/datasets/fashion-mnist; scripts/setup.sh installs it)");
  const char *prefix = train ? "train" : "t10k";
  auto find = [&](const char *kind) {
    llvm::SmallString<128> path(dir);
    llvm::sys::path::append(path, llvm::Twine(prefix) + "-" + kind + "-ubyte");
    if (llvm::sys::fs::exists(path))
      return std::string(path);
    return (path + ".gz").str(); // readIDX names it if it is missing too
  };
  return loadIDXDataset(find("images-idx3"), find("labels-idx1"), features,
                        classes);
}

Normalization mlir::nnc::computeNormalization(const Dataset &stats) {
  // Two passes in double: the pixels' mean, then their spread.
  double sum = 0;
  for (float v : stats.images)
    sum += v;
  Normalization n;
  size_t count = std::max<size_t>(stats.images.size(), 1);
  n.mean = sum / count;
  double sq = 0;
  for (float v : stats.images)
    sq += (v - n.mean) * (v - n.mean);
  n.std = std::sqrt(sq / count);
  if (!(n.std > 0))
    n.std = 1;
  return n;
}

void mlir::nnc::normalize(Dataset &data, Normalization n) {
  float mean = static_cast<float>(n.mean), inv = static_cast<float>(1 / n.std);
  for (float &v : data.images)
    v = (v - mean) * inv;
}
