//===- NNInterfaces.td - nn op interfaces ------------------*- tablegen -*-===//
//
// Part of nnc, under the Apache License v2.0 with LLVM Exceptions.
// See LICENSE for license information.
//
//===----------------------------------------------------------------------===//

#ifndef NNC_DIALECT_NN_IR_NNINTERFACES_TD
#define NNC_DIALECT_NN_IR_NNINTERFACES_TD

include "mlir/IR/OpBase.td"

def NN_DifferentiableOpInterface : OpInterface<"DifferentiableOpInterface"> {
  let cppNamespace = "::mlir::nnc";
  let description = [{
    An op that knows its own vector-Jacobian product. `nnc-autodiff` walks a
    model backwards and asks each op for the gradients of its operands given
    the gradients of its results; it has no knowledge of particular layers.
  }];
  let methods = [
    InterfaceMethod<[{
        Builds, at the builder's insertion point, the gradient of the loss with
        respect to each operand given `resultGrads`, the gradient with respect
        to each result. Appends one value per operand to `operandGrads`; a null
        value means the operand is not differentiable (labels, targets).
      }],
      "::mlir::LogicalResult", "buildGradient",
      (ins "::mlir::OpBuilder &":$builder,
           "::mlir::ValueRange":$resultGrads,
           "::llvm::SmallVectorImpl<::mlir::Value> &":$operandGrads)>,
  ];
}

def NN_CostOpInterface : OpInterface<"CostOpInterface"> {
  let cppNamespace = "::mlir::nnc";
  let description = [{
    Every nn op states its arithmetic work, so the checkpoint planner's cost
    model and `nnc-compile --report` count forward, backward and recomputed
    work the same way.
  }];
  let methods = [
    InterfaceMethod<[{
        Floating-point operations of one execution (a multiply-add counts 2).
      }],
      "int64_t", "getFlops", (ins)>,
    InterfaceMethod<[{
        Bytes of the temporaries its lowering holds while it runs (per-channel
        statistics, say), each rounded up to the arena's 64-byte alignment;
        they die when the op ends. The checkpoint planner adds the largest of
        a stage's to the memory of its forward and of its backward.
      }],
      "int64_t", "getScratchBytes", (ins), [{}], [{ return 0; }]>,
  ];
}

def NN_OptimizerOpInterface : OpInterface<"OptimizerOpInterface"> {
  let cppNamespace = "::mlir::nnc";
  let description = [{
    One optimizer step on one parameter: operand 0 is the parameter, operand
    1 its complete gradient; result 0 is the updated parameter, the other
    results the updated optimizer state. `nnc-rematerialize` re-emits these
    ops right after the backward action that completes the gradient, and the
    checkpoint adapter counts a training step's parameter gradients as
    transient because such an op consumes them.
  }];
  let methods = [
    InterfaceMethod<"The parameter being updated.", "::mlir::Value",
      "getUpdatedParam", (ins), [{}], [{
        return $_op->getOperand(0);
      }]>,
    InterfaceMethod<"The parameter's gradient.", "::mlir::Value",
      "getParamGrad", (ins), [{}], [{
        return $_op->getOperand(1);
      }]>,
  ];
}

#endif // NNC_DIALECT_NN_IR_NNINTERFACES_TD
