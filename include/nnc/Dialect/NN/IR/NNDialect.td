//===- NNDialect.td - nn dialect definition ----------------*- tablegen -*-===//
//
// Part of nnc, under the Apache License v2.0 with LLVM Exceptions.
// See LICENSE for license information.
//
// The nn dialect models feedforward networks on static f32 tensors with
// PyTorch semantics, so weights map one to one.
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

    Passes hand each other information through the dialect's discardable
    attributes, each declared here once and checked by the dialect's
    verifier wherever it appears:

    | attribute | on | set by | meaning |
    |---|---|---|---|
    | `nn.param` (unit) | function argument | frontend | a trainable parameter: a static f32 tensor |
    | `nn.name` (string) | function argument or result | frontend, `nnc-autodiff` | the buffer's user-facing name, a C identifier (header, report) |
    | `nn.source_name` (string) | function argument | importer | the name in the model file it came from, e.g. an ONNX initializer's (PyTorch's state_dict key); weights files use it |
    | `nn.state` (unit) | function argument | `nnc-autodiff` | optimizer state (momentum velocity, Adam moments): caller-owned, static f32, carried from step to step |
    | `nn.entry` (`#nn.entry<...>`) | function | frontend, `nnc-autodiff` | what the function computes: `loss`, `grad`, `train_step` or `predict` |
    | `nn.grad_of` (symbol) | function | `nnc-autodiff` | the model a derived function differentiates |
    | `nn.grad_seed` (unit) | `arith.constant` | `nnc-autodiff` | the `d loss / d loss = 1` seed: the backward is what depends on it |
    | `nn.stage` (i64 ≥ 1) | forward op | `nnc-plan-checkpoints` | the chain stage the op belongs to |
    | `nn.checkpoint` (`#nn.checkpoint_plan<...>`) | function | `nnc-plan-checkpoints` | the checkpoint schedule and its figures |
    | `nn.recomputed` (unit) | op | `nnc-rematerialize` | the op recomputes a value (not its first computation) |
    | `nn.arena` (unit) | argument or `memref.alloc` | `nnc-plan-memory` | the function's arena |
    | `nn.arena_bytes`, `nn.max_live_bytes` (i64 ≥ 0) | function | `nnc-plan-memory` | the arena's size and its lower bound |
    | `nn.runtime_workspace_bytes` (i64 ≥ 0) | function | `nnc-plan-memory` | the largest runtime-call workspace that did not fit in the arena: what the CPU runtime allocates beside it |
  }];
  let dependentDialects = ["::mlir::func::FuncDialect"];
  let useDefaultAttributePrinterParser = 1;
  let hasOperationAttrVerify = 1;
  let hasRegionArgAttrVerify = 1;
  let hasRegionResultAttrVerify = 1;
  let extraClassDeclaration = [{
    /// Unit attribute marking a trainable function argument.
    static constexpr ::llvm::StringLiteral getParamAttrName() {
      return ::llvm::StringLiteral("nn.param");
    }
    /// String attribute naming a function argument or result for users.
    static constexpr ::llvm::StringLiteral getNameAttrName() {
      return ::llvm::StringLiteral("nn.name");
    }
    /// String attribute: the name an imported argument had in its model
    /// file (an ONNX initializer or input); weights files use it.
    static constexpr ::llvm::StringLiteral getSourceNameAttrName() {
      return ::llvm::StringLiteral("nn.source_name");
    }
    /// Unit attribute marking an optimizer-state argument of a training
    /// step (caller-owned, updated by the step like a parameter).
    static constexpr ::llvm::StringLiteral getStateAttrName() {
      return ::llvm::StringLiteral("nn.state");
    }
    /// Unit attribute marking a batch norm's running statistic (PyTorch's
    /// running_mean or running_var buffer): caller-owned, not trained by
    /// gradients, updated by a training step as its result `new_<name>`.
    static constexpr ::llvm::StringLiteral getRunningStatAttrName() {
      return ::llvm::StringLiteral("nn.running_stat");
    }
    /// EntryRoleAttr: what a function computes.
    static constexpr ::llvm::StringLiteral getEntryAttrName() {
      return ::llvm::StringLiteral("nn.entry");
    }
    /// On a function nnc-autodiff derived: the model it differentiates.
    static constexpr ::llvm::StringLiteral getGradOfAttrName() {
      return ::llvm::StringLiteral("nn.grad_of");
    }
    /// On the gradient seed constant that nnc-autodiff emits; the backward
    /// ops of a gradient function are exactly the ops that depend on it.
    static constexpr ::llvm::StringLiteral getGradSeedAttrName() {
      return ::llvm::StringLiteral("nn.grad_seed");
    }
    /// The chain stage of a forward op (1-based).
    static constexpr ::llvm::StringLiteral getStageAttrName() {
      return ::llvm::StringLiteral("nn.stage");
    }
    /// The stage whose backward action emitted an op (1-based), from
    /// nnc-rematerialize's `tag-backward`, for nnc-profile-stages, which
    /// removes it.
    static constexpr ::llvm::StringLiteral getBackwardStageAttrName() {
      return ::llvm::StringLiteral("nn.backward_stage");
    }
    /// EpilogueAttr of the linalg op an activation lowers to.
    static constexpr ::llvm::StringLiteral getEpilogueAttrName() {
      return ::llvm::StringLiteral("nn.epilogue");
    }
    /// CheckpointPlanAttr of a gradient function.
    static constexpr ::llvm::StringLiteral getCheckpointAttrName() {
      return ::llvm::StringLiteral("nn.checkpoint");
    }
    /// On ops that recompute a value; the lowering carries it to the ops
    /// that write the buffer, for reports and pictures.
    static constexpr ::llvm::StringLiteral getRecomputedAttrName() {
      return ::llvm::StringLiteral("nn.recomputed");
    }
    /// The arena (a workspace argument, or a driver's one allocation) and,
    /// on each planned function, its size and lower bound.
    static constexpr ::llvm::StringLiteral getArenaAttrName() {
      return ::llvm::StringLiteral("nn.arena");
    }
    static constexpr ::llvm::StringLiteral getArenaBytesAttrName() {
      return ::llvm::StringLiteral("nn.arena_bytes");
    }
    static constexpr ::llvm::StringLiteral getMaxLiveBytesAttrName() {
      return ::llvm::StringLiteral("nn.max_live_bytes");
    }
    static constexpr ::llvm::StringLiteral getRuntimeWorkspaceBytesAttrName() {
      return ::llvm::StringLiteral("nn.runtime_workspace_bytes");
    }

  private:
    void registerAttributes();
  public:
  }];
}

class NN_Op<string mnemonic, list<Trait> traits = []>
    : Op<NN_Dialect, mnemonic, traits>;

#endif // NNC_DIALECT_NN_IR_NNDIALECT_TD
