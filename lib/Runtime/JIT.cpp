//===- JIT.cpp - run compiled models in process ---------------------------===//
//
// Part of nnc.
//
//===----------------------------------------------------------------------===//

#include "nnc/Runtime/JIT.h"

#include "mlir/ExecutionEngine/OptUtils.h"
#include "llvm/Support/TargetSelect.h"

using namespace mlir;
using namespace mlir::nnc;

llvm::Expected<std::unique_ptr<JITModule>>
JITModule::create(ModuleOp module) {
  llvm::InitializeNativeTarget();
  llvm::InitializeNativeTargetAsmPrinter();
  ExecutionEngineOptions options;
  auto transformer = makeOptimizingTransformer(3, 0, nullptr);
  options.transformer = transformer;
  options.jitCodeGenOptLevel = llvm::CodeGenOptLevel::Aggressive;
  auto engine = ExecutionEngine::create(module, options);
  if (!engine)
    return engine.takeError();
  return std::unique_ptr<JITModule>(new JITModule(std::move(*engine)));
}

llvm::Error JITModule::invoke(StringRef name, ArrayRef<void *> buffers) {
  // The packed wrapper takes a pointer to each argument; each argument is
  // itself a buffer pointer.
  SmallVector<void *> pointers(buffers.begin(), buffers.end());
  SmallVector<void *> packed;
  for (void *&p : pointers)
    packed.push_back(&p);
  return engine->invokePacked(name, packed);
}
