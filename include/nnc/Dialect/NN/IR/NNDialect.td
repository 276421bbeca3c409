//===- NNDialect.td - nn dialect definition ----------------*- tablegen -*-===//
//
// Part of nnc. The nn dialect models feedforward networks on static f32
// tensors with PyTorch semantics, so weights map one to one.
//
//===----------------------------------------------------------------------===//

#ifndef NNC_DIALECT_NN_IR_NNDIALECT_TD
#define NNC_DIALECT_NN_IR_NNDIALECT_TD

include "mlir/IR/OpBase.td"

def NN_Dialect : Dialect {
  let name = "nn";
  let cppNamespace = "::mlir::nnc";
  let summary = "Neural-network layers, losses and their gradients";
  let description = [{
    The `nn` dialect is nnc's graph IR. A model is a `func.func` whose
    trainable arguments carry the `nn.param` unit attribute and which returns
    a scalar loss `tensor<f32>`. Ops follow PyTorch semantics (`nn.linear`
    computes `x · Wᵀ + b` with `W : [out, in]`), work on statically shaped
    f32 tensors, and are pure: recomputing an op (gradient checkpointing)
    yields bit-identical results. The `*_grad` ops are the vector-Jacobian
    products that `nnc-autodiff` emits; they are ordinary ops so that the
    checkpoint planner, the memory planner and the lowering treat forward and
    backward work alike.
  }];
  let dependentDialects = ["::mlir::func::FuncDialect"];
  let extraClassDeclaration = [{
    /// Name of the unit attribute marking a trainable function argument.
    static constexpr ::llvm::StringLiteral getParamAttrName() {
      return ::llvm::StringLiteral("nn.param");
    }
  }];
}

class NN_Op<string mnemonic, list<Trait> traits = []>
    : Op<NN_Dialect, mnemonic, traits>;

#endif // NNC_DIALECT_NN_IR_NNDIALECT_TD
