//===- NNAttrs.td - nn dialect attributes ------------------*- tablegen -*-===//
//
// Part of nnc, under the Apache License v2.0 with LLVM Exceptions.
// See LICENSE for license information.
//
// The typed attributes passes hand each other: what an entry point computes,
// and the checkpoint plan nnc-plan-checkpoints attaches for
// nnc-rematerialize, the compiler driver and reports.
//
//===----------------------------------------------------------------------===//

#ifndef NNC_DIALECT_NN_IR_NNATTRS_TD
#define NNC_DIALECT_NN_IR_NNATTRS_TD

include "nnc/Dialect/NN/IR/NNDialect.td"
include "mlir/IR/AttrTypeBase.td"
include "mlir/IR/EnumAttr.td"

//===----------------------------------------------------------------------===//
// Entry-point roles
//===----------------------------------------------------------------------===//

def NN_EntryRole : I32EnumAttr<"EntryRole", "what an entry point computes", [
    I32EnumAttrCase<"Loss", 0, "loss">,
    I32EnumAttrCase<"Grad", 1, "grad">,
    I32EnumAttrCase<"TrainStep", 2, "train_step">,
    I32EnumAttrCase<"Predict", 3, "predict">]> {
  let cppNamespace = "::mlir::nnc";
  let genSpecializedAttr = 0;
}

def NN_EntryRoleAttr : EnumAttr<NN_Dialect, NN_EntryRole, "entry"> {
  let summary = "what an entry point computes";
  let description = [{
    Set on functions as `nn.entry`: `loss` (a model function: forward and
    loss), `grad` (loss, then one gradient per `nn.param`), `train_step`
    (loss, then each parameter after one optimizer step) and `predict`
    (the network's output). The compiler driver, the C header writer and
    reports read roles from here, never from function names.

    ```mlir
    func.func @mlp_train_step(...) attributes {nn.entry = #nn.entry<train_step>}
    ```
  }];
  let assemblyFormat = "`<` $value `>`";
}

//===----------------------------------------------------------------------===//
// Epilogues
//===----------------------------------------------------------------------===//

def NN_EpilogueKind : I32EnumAttr<"EpilogueKind",
    "an activation a producer can apply as it writes its result", [
    I32EnumAttrCase<"Relu", 0, "relu">,
    I32EnumAttrCase<"LeakyRelu", 1, "leaky_relu">]> {
  let cppNamespace = "::mlir::nnc";
  let genSpecializedAttr = 0;
}

def NN_EpilogueAttr : AttrDef<NN_Dialect, "Epilogue"> {
  let mnemonic = "epilogue";
  let summary = "what an elementwise op computes, for a producer to fuse";
  let description = [{
    Set as `nn.epilogue` by convert-nn-to-linalg on the `linalg.generic` an
    activation lowers to: `relu`, or `leaky_relu` with its slope. A code
    generator that can apply the activation in the epilogue of the op
    producing its input (the CPU target's GEMM call, oneDNN's eltwise
    post-op) reads what to apply from here, not from the shape of the
    generic's body.

    ```mlir
    linalg.generic {...} ins(%h : memref<128x100xf32>) outs(%h : ...)
        attrs = {nn.epilogue = #nn.epilogue<leaky_relu, 1.000000e-02 : f32>}
    ```
  }];
  let parameters = (ins EnumParameter<NN_EpilogueKind>:$kind,
                        OptionalParameter<"::mlir::FloatAttr">:$slope);
  let assemblyFormat = "`<` $kind (`,` $slope^)? `>`";
  let genVerifyDecl = 1;
}

//===----------------------------------------------------------------------===//
// Checkpoint plans
//===----------------------------------------------------------------------===//

def NN_CheckpointActionKind : I32EnumAttr<"CheckpointActionKind",
    "one step of a checkpoint schedule", [
    I32EnumAttrCase<"ForwardCheckpoint", 0, "F_ck">,
    I32EnumAttrCase<"ForwardNoSave", 1, "F_n">,
    I32EnumAttrCase<"ForwardAll", 2, "F_all">,
    I32EnumAttrCase<"Backward", 3, "B">,
    I32EnumAttrCase<"Discard", 4, "Discard">]> {
  let cppNamespace = "::mlir::nnc";
  let genSpecializedAttr = 0;
}

def NN_DiscardedValue : I32EnumAttr<"DiscardedValue",
    "which value of a stage a Discard frees", [
    I32EnumAttrCase<"Activation", 0, "a">,
    I32EnumAttrCase<"Saved", 1, "abar">]> {
  let cppNamespace = "::mlir::nnc";
  let genSpecializedAttr = 0;
}

def NN_CostUnit : I32EnumAttr<"CostUnit", "what a plan's costs count", [
    I32EnumAttrCase<"Flop", 0, "flop">,
    I32EnumAttrCase<"Second", 1, "second">]> {
  let cppNamespace = "::mlir::nnc";
  let genSpecializedAttr = 0;
}

def NN_CheckpointPlanAttr : AttrDef<NN_Dialect, "CheckpointPlan"> {
  let mnemonic = "checkpoint_plan";
  let summary = "a checkpoint schedule over a function's stages, with its "
                "simulated figures";
  let description = [{
    What `nnc-plan-checkpoints` decided for a gradient function (attached as
    `nn.checkpoint`) and what `nnc-rematerialize` follows. The schedule is a
    sequence of actions in the vocabulary of the checkpointing literature
    (Griewank–Walther, Beaumont et al.) over the function's `stages` chain
    stages (`nn.stage` of its forward ops): `F_ck i` runs stage i forward
    keeping its input, `F_n i` forward without saving, `F_all i` forward
    keeping everything its backward reads, `B i` runs its backward, and
    `Discard a i` / `Discard abar i` frees a value.

    The figures are the planner's simulation of the schedule: peak bytes of
    chain values, compute cost and its recomputed part, forward steps, the
    same for store-all, the least feasible budget, and the costs again in
    FLOPs (`cost_unit = second` when stage costs are measured times).
    Only `strategy`, `stages` and `schedule` are required when a plan is
    written by hand; missing figures read as 0.

    `fused_updates` records a decision the plan's figures depend on: the
    planner assumed that `nnc-fuse-updates` folds each plain SGD update into
    the matmul computing its weight gradient, so no weight-gradient buffer
    was counted for it. `nnc-fuse-updates` refuses a plan made without it
    (its peak would then be wrong), and the pipelines run that pass exactly
    when the plan says so. Printed only when set.

    ```mlir
    func.func @net_grad(...) attributes {nn.checkpoint = #nn.checkpoint_plan<
        strategy = dp, budget = 2300, stages = 2,
        schedule = [F_ck 1, F_all 2, B 2, F_all 1, B 1]>}
    ```
  }];
  let parameters = (ins
    "CheckpointStrategy":$strategy,
    OptionalParameter<"std::optional<int64_t>">:$budget,
    "int64_t":$stages,
    ArrayRefParameter<"CheckpointAction">:$schedule,
    "CostUnit":$costUnit,
    "int64_t":$peakBytes,
    APFloatParameter<"">:$computeCost,
    APFloatParameter<"">:$recomputeCost,
    "int64_t":$forwardSteps,
    "int64_t":$storeAllPeakBytes,
    APFloatParameter<"">:$storeAllCost,
    "int64_t":$minBudgetBytes,
    APFloatParameter<"">:$computeFlops,
    APFloatParameter<"">:$recomputeFlops,
    APFloatParameter<"">:$storeAllFlops,
    "bool":$fusedUpdates
  );
  let hasCustomAssemblyFormat = 1;
  let genVerifyDecl = 1;
  let skipDefaultBuilders = 1;
  // Costs are doubles; APFloat parameters only make them hashable.
  let builders = [
    AttrBuilder<(ins "CheckpointStrategy":$strategy,
      "std::optional<int64_t>":$budget, "int64_t":$stages,
      "ArrayRef<CheckpointAction>":$schedule, "CostUnit":$costUnit,
      "int64_t":$peakBytes, "double":$computeCost, "double":$recomputeCost,
      "int64_t":$forwardSteps, "int64_t":$storeAllPeakBytes,
      "double":$storeAllCost, "int64_t":$minBudgetBytes,
      "double":$computeFlops, "double":$recomputeFlops,
      "double":$storeAllFlops, CArg<"bool", "false">:$fusedUpdates), [{
      auto f = [](double v) { return ::llvm::APFloat(v); };
      return $_get($_ctxt, strategy, budget, stages, schedule, costUnit,
                   peakBytes, f(computeCost), f(recomputeCost), forwardSteps,
                   storeAllPeakBytes, f(storeAllCost), minBudgetBytes,
                   f(computeFlops), f(recomputeFlops), f(storeAllFlops),
                   fusedUpdates);
    }]>
  ];
}

#endif // NNC_DIALECT_NN_IR_NNATTRS_TD
