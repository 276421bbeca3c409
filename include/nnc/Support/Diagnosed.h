//===- Diagnosed.h - an error already reported as a diagnostic --*- C++ -*-===//
//
// Part of nnc, under the Apache License v2.0 with LLVM Exceptions.
// See LICENSE for license information.
//
//===----------------------------------------------------------------------===//
///
/// \file
/// nnc's library functions fail in one of two ways, told apart by type, not
/// by message: an llvm::Error carrying a message the caller prints, or a
/// DiagnosedError, meaning the failure was already reported (located)
/// through the MLIRContext's diagnostic handler and nothing more is to be
/// said. `reportToolError` is how tool mains print either.
///
//===----------------------------------------------------------------------===//

#ifndef NNC_SUPPORT_DIAGNOSED_H
#define NNC_SUPPORT_DIAGNOSED_H

#include "llvm/Support/Error.h"
#include "llvm/Support/WithColor.h"
#include "llvm/Support/raw_ostream.h"

namespace nnc {

class DiagnosedError : public llvm::ErrorInfo<DiagnosedError> {
public:
  inline static char ID = 0;
  void log(llvm::raw_ostream &os) const override {
    os << "failed (see the diagnostics above)";
  }
  std::error_code convertToErrorCode() const override {
    return llvm::inconvertibleErrorCode();
  }
};

inline llvm::Error makeDiagnosedError() {
  return llvm::make_error<DiagnosedError>();
}

/// Prints `error` as `tool: error: message` unless it was already
/// diagnosed; returns the exit code 1 either way.
inline int reportToolError(llvm::StringRef tool, llvm::Error error) {
  llvm::handleAllErrors(
      std::move(error), [](const DiagnosedError &) {},
      [&](const llvm::ErrorInfoBase &e) {
        llvm::WithColor::error(llvm::errs(), tool) << e.message() << "\n";
      });
  return 1;
}

} // namespace nnc

#endif // NNC_SUPPORT_DIAGNOSED_H
