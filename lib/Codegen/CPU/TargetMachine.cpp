//===- TargetMachine.cpp - the host CPU as an LLVM target -----------------===//
//
// Part of nnc, under the Apache License v2.0 with LLVM Exceptions.
// See LICENSE for license information.
//
//===----------------------------------------------------------------------===//

#include "nnc/Codegen/CPU/TargetMachine.h"

#include "llvm/ExecutionEngine/Orc/JITTargetMachineBuilder.h"
#include "llvm/Support/TargetSelect.h"

using namespace mlir;

llvm::Expected<llvm::orc::JITTargetMachineBuilder>
mlir::nnc::detectHostTarget() {
  static bool initialized = [] {
    llvm::InitializeNativeTarget();
    llvm::InitializeNativeTargetAsmPrinter();
    return true;
  }();
  (void)initialized;
  auto builder = llvm::orc::JITTargetMachineBuilder::detectHost();
  if (!builder)
    return builder.takeError();
  builder->setCodeGenOptLevel(llvm::CodeGenOptLevel::Aggressive);
  builder->setRelocationModel(llvm::Reloc::PIC_);
  return *builder;
}

llvm::Expected<std::unique_ptr<llvm::TargetMachine>>
mlir::nnc::createHostTargetMachine() {
  auto builder = detectHostTarget();
  if (!builder)
    return builder.takeError();
  return builder->createTargetMachine();
}
