//===- Passes.td - codegen passes shared by targets --------*- tablegen -*-===//
//
// Part of nnc, under the Apache License v2.0 with LLVM Exceptions.
// See LICENSE for license information.
//
// Code generation steps every target runs (after memory planning, before
// its own lowering).
//
//===----------------------------------------------------------------------===//

#ifndef NNC_CODEGEN_COMMON_PASSES_TD
#define NNC_CODEGEN_COMMON_PASSES_TD

include "mlir/Pass/PassBase.td"

def StripNNAttributes : Pass<"nnc-strip-nn-attributes", "::mlir::ModuleOp"> {
  let summary = "Drop nn.* function and argument attributes before LLVM";
  let description = [{
    `nn.param`, `nn.grad_of` and friends describe the graph; once the code is
    lowered nothing reads them, and the LLVM IR translation would warn about
    unknown parameter attributes.

    A module pass: it also drops the module's own nn attributes.
  }];
}

def LowerRuntimeCalls : Pass<"nnc-lower-runtime-calls", "::mlir::ModuleOp"> {
  let summary = "Lower nn.runtime_call on buffers to calls of the run-time "
                "library";
  let description = [{
    Each `nn.runtime_call` becomes a `func.call` of its callee, declared
    from the run-time ABI table (`RuntimeABI.h`): the pointer arguments are
    the addresses of the operands `pointers` names (null for -1), the other
    arguments its `scalars`. A callee that is not in the table, a scalar of
    another type than the ABI's, a wrong count, or a callee of another
    run-time library than the target's (`target`) is a located error
    rather than host calls on device memory: on the GPU target,
    `nnc-gpu-build-kernels` runs first and makes the CPU primitives it
    can (the f32 convolutions and pooling) kernels, and what is left (the
    bf16 convolutions) is refused here.

    A module pass: it declares the callees in the module.
  }];
  let options = [
    Option<"target", "target", "::mlir::nnc::Target",
           /*default=*/"::mlir::nnc::Target::CPU",
           "The target whose run-time library the calls may use",
           [{::nnc::targets.clValues()}]>,
  ];
  let dependentDialects = ["::mlir::func::FuncDialect",
                           "::mlir::LLVM::LLVMDialect",
                           "::mlir::arith::ArithDialect",
                           "::mlir::memref::MemRefDialect"];
}

#endif // NNC_CODEGEN_COMMON_PASSES_TD
