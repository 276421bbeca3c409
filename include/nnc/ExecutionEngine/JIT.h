//===- JIT.h - run compiled models in process -------------------*- C++ -*-===//
//
// Part of nnc, under the Apache License v2.0 with LLVM Exceptions.
// See LICENSE for license information.
//
//===----------------------------------------------------------------------===//

#ifndef NNC_EXECUTIONENGINE_JIT_H
#define NNC_EXECUTIONENGINE_JIT_H

#include "mlir/ExecutionEngine/ExecutionEngine.h"
#include "mlir/IR/BuiltinOps.h"
#include "llvm/Support/Error.h"

#include <cstdlib>
#include <memory>

namespace mlir::nnc {

/// A lowered (LLVM-dialect) module compiled in process with MLIR's
/// ExecutionEngine at -O3. Entry points use the bare-pointer convention of
/// nnc's pipelines, so invoking one takes one pointer per buffer, inputs
/// then outputs, exactly like the C header of nnc-compile.
class JITModule {
public:
  static llvm::Expected<std::unique_ptr<JITModule>> create(ModuleOp module);

  /// Compiles `name` now: the engine generates code lazily, on the first
  /// lookup, which a timed loop should not pay for.
  llvm::Error prepare(StringRef name);

  /// Calls `name` with the given buffers (the workspace included, last).
  llvm::Error invoke(StringRef name, ArrayRef<void *> buffers);

  /// Calls `name` with `buffers` followed by a workspace of `workspaceBytes`
  /// that this module owns: allocated on the first call and reused, so the
  /// steady state allocates nothing.
  llvm::Error invokeWithWorkspace(StringRef name, ArrayRef<void *> buffers,
                                  int64_t workspaceBytes);

private:
  explicit JITModule(std::unique_ptr<ExecutionEngine> engine)
      : engine(std::move(engine)) {}
  std::unique_ptr<ExecutionEngine> engine;
  struct FreeDeleter {
    void operator()(void *p) const { std::free(p); }
  };
  std::unique_ptr<void, FreeDeleter> workspace;
  int64_t workspaceCapacity = 0;
};

} // namespace mlir::nnc

#endif // NNC_EXECUTIONENGINE_JIT_H
