//===- Passes.td - nn dialect transformation passes --------*- tablegen -*-===//
//
// Part of nnc.
//
//===----------------------------------------------------------------------===//

#ifndef NNC_DIALECT_NN_TRANSFORMS_PASSES_TD
#define NNC_DIALECT_NN_TRANSFORMS_PASSES_TD

include "mlir/Pass/PassBase.td"

def Autodiff : Pass<"nnc-autodiff", "::mlir::ModuleOp"> {
  let summary = "Derive the backward graph of each model function";
  let description = [{
    For every model function — a `func.func` with at least one argument
    marked `nn.param` that returns a scalar `tensor<f32>` loss — builds a new
    function `@<name>_grad` next to it: the forward ops, then the
    vector-Jacobian product of each op in reverse order, obtained through
    `DifferentiableOpInterface`. It returns the loss followed by one gradient
    per `nn.param` argument, in argument order. With `learning-rate` > 0 it
    instead returns the loss followed by each parameter after one SGD step
    (`w - lr · ∇w`), so a whole training step is one function, named
    `@<name>_train_step`.

    Gradients are accumulated with `nn.add` where a value has several uses;
    gradient work that does not reach a parameter is removed.
  }];
  let options = [
    Option<"learningRate", "learning-rate", "double", /*default=*/"0.0",
           "SGD learning rate; 0 emits a gradient function instead">,
    Option<"functionName", "function", "std::string", /*default=*/"\"\"",
           "Differentiate only this function (default: every model function)">,
  ];
  let dependentDialects = ["::mlir::arith::ArithDialect",
                           "::mlir::nnc::NNDialect"];
}

def VerifyModel : Pass<"nnc-verify-model", "::mlir::ModuleOp"> {
  let summary = "Contract check: the module holds a well-formed model function";
  let description = [{
    Closes the frontend stage. Fails with a located error unless some function
    has an `nn.param` argument, each such function has a single block and
    returns exactly one `tensor<f32>`.
  }];
}

#endif // NNC_DIALECT_NN_TRANSFORMS_PASSES_TD
