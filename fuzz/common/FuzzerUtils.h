//===- FuzzerUtils.h - what nnc's fuzz targets share ------------*- C++ -*-===//
//
// Part of nnc, under the Apache License v2.0 with LLVM Exceptions.
// See LICENSE for license information.
//
// Each target checks the tools' contract beyond "no crash": an input is
// either accepted and produces a consistent result, or rejected with an
// error diagnostic. A violation aborts with a message, which libFuzzer
// records as a crash.
//
//===----------------------------------------------------------------------===//

#ifndef NNC_FUZZ_FUZZERUTILS_H
#define NNC_FUZZ_FUZZERUTILS_H

#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"
#include "llvm/ADT/Twine.h"
#include "llvm/Support/raw_ostream.h"

#include <cstdlib>

namespace mlir::nnc::fuzz {

/// With NNC_FUZZ_VERBOSE set, targets say how far each input got (and
/// its first error): how to see what a corpus exercises.
inline bool verbose() {
  static const bool on = std::getenv("NNC_FUZZ_VERBOSE") != nullptr;
  return on;
}

/// Counts the error diagnostics of a context (and swallows every
/// diagnostic: fuzzing prints nothing per input unless verbose()).
class ErrorCounter {
public:
  explicit ErrorCounter(mlir::MLIRContext &ctx)
      : handler(&ctx, [this](mlir::Diagnostic &d) {
          if (d.getSeverity() != mlir::DiagnosticSeverity::Error)
            return mlir::success();
          if (verbose() && errors == 0)
            llvm::errs() << "  error: " << d << "\n";
          ++errors;
          return mlir::success();
        }) {}
  unsigned count() const { return errors; }

private:
  unsigned errors = 0;
  mlir::ScopedDiagnosticHandler handler;
};

/// Aborts when a contract is broken: what a fuzzer reports as a crash.
[[noreturn]] inline void contractBroken(const llvm::Twine &what) {
  llvm::errs() << "nnc fuzz contract broken: " << what << "\n";
  llvm::errs().flush();
  std::abort();
}

/// A failure must come with an error, and an error with a failure.
inline void checkOutcome(bool failed, const ErrorCounter &errors,
                         const char *stage) {
  if (verbose())
    llvm::errs() << "  " << stage << (failed ? ": failed\n" : ": ok\n");
  if (failed && errors.count() == 0)
    contractBroken(llvm::Twine(stage) + " failed without an error");
  if (!failed && errors.count() != 0)
    contractBroken(llvm::Twine(stage) + " reported an error but succeeded");
}

} // namespace mlir::nnc::fuzz

#endif // NNC_FUZZ_FUZZERUTILS_H
