//===- Files.h - read only what can be read whole ---------------*- C++ -*-===//
//
// Part of nnc, under the Apache License v2.0 with LLVM Exceptions.
// See LICENSE for license information.
//
//===----------------------------------------------------------------------===//
///
/// \file
/// Every file nnc reads (models, weights, data) is read whole, so it must
/// have a size: a device (/dev/zero), a FIFO or a directory would be read
/// until memory runs out, or block forever. Files are therefore opened
/// only when they are regular files; the readers then bound what they
/// read by the sizes their formats declare.
///
//===----------------------------------------------------------------------===//

#ifndef NNC_SUPPORT_FILES_H
#define NNC_SUPPORT_FILES_H

#include "llvm/Support/Error.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"

#include <memory>
#include <optional>
#include <string>

namespace nnc {

/// Why `path` cannot be read whole (missing, a directory, not a regular
/// file after symbolic links), or nothing if it can.
inline std::optional<std::string> whyNotRegularFile(llvm::StringRef path) {
  llvm::sys::fs::file_status status;
  if (std::error_code ec = llvm::sys::fs::status(path, status))
    return ec.message();
  if (status.type() == llvm::sys::fs::file_type::directory_file)
    return std::string("it is a directory");
  if (status.type() != llvm::sys::fs::file_type::regular_file)
    return std::string("not a regular file (a device, FIFO or socket has no "
                       "size to read it by)");
  return std::nullopt;
}

/// Success if `path` is a regular file, else "cannot read 'path': why".
inline llvm::Error checkRegularFile(llvm::StringRef path) {
  if (std::optional<std::string> why = whyNotRegularFile(path))
    return llvm::createStringError("cannot read '" + path + "': " + *why);
  return llvm::Error::success();
}

/// The contents of the regular file `path` (mapped when large); errors as
/// checkRegularFile's.
inline llvm::Expected<std::unique_ptr<llvm::MemoryBuffer>>
readRegularFile(llvm::StringRef path) {
  if (llvm::Error err = checkRegularFile(path))
    return std::move(err);
  auto buffer = llvm::MemoryBuffer::getFile(path, /*IsText=*/false,
                                            /*RequiresNullTerminator=*/false);
  if (!buffer)
    return llvm::createStringError("cannot read '" + path +
                                   "': " + buffer.getError().message());
  return std::move(*buffer);
}

} // namespace nnc

#endif // NNC_SUPPORT_FILES_H
