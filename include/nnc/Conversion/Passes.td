//===- Passes.td - nnc conversion passes -------------------*- tablegen -*-===//
//
// Part of nnc, under the Apache License v2.0 with LLVM Exceptions.
// See LICENSE for license information.
//
// Conversions shared by every target: nn ops to linalg on tensors, and the
// contract check closing that stage.
//
//===----------------------------------------------------------------------===//

#ifndef NNC_CONVERSION_PASSES_TD
#define NNC_CONVERSION_PASSES_TD

include "mlir/Pass/PassBase.td"

def ConvertNNToLinalg : Pass<"convert-nn-to-linalg", "::mlir::ModuleOp"> {
  let summary = "Lower nn ops to linalg on tensors";
  let description = [{
    Each nn op becomes `linalg.generic`/`linalg.fill` ops on tensors (with
    `arith` and `math` bodies), ready for one-shot bufferization. Reductions
    run in a fixed order, and `nn.dropout` hashes `(seed, element index)`
    in-line, so the lowered code is deterministic: a recomputed op yields
    bit-identical values.
  }];
  let dependentDialects = [
    "::mlir::arith::ArithDialect", "::mlir::linalg::LinalgDialect",
    "::mlir::math::MathDialect", "::mlir::tensor::TensorDialect"
  ];
}

def VerifyNoNN : Pass<"nnc-verify-no-nn", "::mlir::ModuleOp"> {
  let summary = "Contract check: no nn op is left after lowering";
  let description = [{
    Closes the lowering stage: fails, pointing at the op, if any operation of
    the nn dialect survived `convert-nn-to-linalg`.
  }];
}

#endif // NNC_CONVERSION_PASSES_TD
