//===- TargetMachine.h - the host CPU as an LLVM target ---------*- C++ -*-===//
//
// Part of nnc, under the Apache License v2.0 with LLVM Exceptions.
// See LICENSE for license information.
//
//===----------------------------------------------------------------------===//
///
/// \file
/// One description of "this machine" for both CPU back ends: the
/// ahead-of-time emitter (object files, shared libraries) and the JIT. Both
/// must see the host's CPU name *and* its features, or LLVM's vectorizer
/// sees no vector registers and leaves every loop scalar.
///
//===----------------------------------------------------------------------===//

#ifndef NNC_CODEGEN_CPU_TARGETMACHINE_H
#define NNC_CODEGEN_CPU_TARGETMACHINE_H

#include "llvm/Support/Error.h"
#include "llvm/Target/TargetMachine.h"

#include <memory>

namespace llvm::orc {
class JITTargetMachineBuilder;
} // namespace llvm::orc

namespace mlir::nnc {

/// The host's target (CPU name and features detected at run time),
/// position-independent, at -O3 code generation. Initializes the native
/// target once.
llvm::Expected<llvm::orc::JITTargetMachineBuilder> detectHostTarget();

/// detectHostTarget() as a TargetMachine.
llvm::Expected<std::unique_ptr<llvm::TargetMachine>> createHostTargetMachine();

} // namespace mlir::nnc

#endif // NNC_CODEGEN_CPU_TARGETMACHINE_H
