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

#endif // NNC_CODEGEN_COMMON_PASSES_TD
