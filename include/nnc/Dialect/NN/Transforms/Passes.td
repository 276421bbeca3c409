//===- Passes.td - nn dialect transformation passes --------*- tablegen -*-===//
//
// Part of nnc, under the Apache License v2.0 with LLVM Exceptions.
// See LICENSE for license information.
//
// The target-independent graph passes on nn tensors: differentiate, plan
// checkpoints, rewrite the gradient function to follow the plan.
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
    per `nn.param` argument, in argument order.

    With an optimizer it builds `@<name>_train_step` instead, a whole
    training step as one function: the loss (before the update), then each
    parameter after one step (`nn.sgd`, `nn.momentum_update` for `momentum`
    and `nesterov`, `nn.adam_update`), then the updated optimizer state. The
    step's arguments are the model's, then the optimizer state (per
    parameter in parameter order: its velocity, or Adam's `m` then `v`;
    marked `nn.state`, named `<param>_velocity`, `<param>_m`, `<param>_v`),
    then the learning rate `lr` (a `tensor<f32>`) unless `learning-rate`
    fixes it, then Adam's 1-based step count `step` (a `tensor<f32>`).
    `optimizer=none` with `learning-rate` > 0 is SGD at that fixed rate (the
    form older pipelines and tests use).

    With `grad-norms`, one more `tensor<f32>` result per parameter (after
    everything else) holds the Euclidean norm of its gradient (`nn.norm`:
    f64 accumulation in row-major order), computed in the step.

    With `return-output`, the last result is the network's output, the
    first operand of the loss op (logits for cross-entropy): a training loop
    then counts correct predictions without a second forward pass.

    Results are named with `nn.name` (`loss`, `new_W1`, `grad_W1`,
    `new_W1_velocity`, `grad_norm_W1`, `output`, after the parameters'
    names).
    Gradients are accumulated with `nn.add` where a value has several uses;
    gradient work that does not reach a parameter is removed.
  }];
  let options = [
    Option<"learningRate", "learning-rate", "double", /*default=*/"0.0",
           "Fixed learning rate compiled into the step (0: the step takes "
           "'lr' at run time when an optimizer is chosen; no optimizer and "
           "0: a gradient function)">,
    Option<"optimizer", "optimizer", "::mlir::nnc::Optimizer",
           /*default=*/"::mlir::nnc::Optimizer::None",
           "The update of a training step",
           [{::nnc::optimizers.clValues()}]>,
    Option<"momentum", "momentum", "double", /*default=*/"0.9",
           "Momentum of momentum, nesterov and lars">,
    Option<"beta1", "beta1", "double", /*default=*/"0.9",
           "First-moment decay of adam and lamb">,
    Option<"beta2", "beta2", "double", /*default=*/"0.999",
           "Second-moment decay of adam and lamb">,
    Option<"eps", "eps", "double", /*default=*/"1e-8",
           "Denominator term of adam and lamb">,
    Option<"trustCoefficient", "trust-coefficient", "double",
           /*default=*/"0.001",
           "LARS's trust coefficient η (a layer's rate is "
           "lr · η · |w| / (|g| + weight-decay · |w|))">,
    Option<"weightDecay", "weight-decay", "double", /*default=*/"0.0",
           "L2 penalty added to each gradient (PyTorch's weight_decay); "
           "with adamw, the decoupled decay w * (1 - lr * weight-decay)">,
    Option<"gradNorms", "grad-norms", "bool", /*default=*/"false",
           "Also return the Euclidean norm of each parameter's gradient">,
    Option<"returnOutput", "return-output", "bool", /*default=*/"false",
           "Also return the network's output (the loss op's input: logits "
           "or predictions) as the last result, named 'output'">,
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

def PlanCheckpoints : Pass<"nnc-plan-checkpoints", "::mlir::ModuleOp"> {
  let summary = "Choose which activations to keep and which to recompute";
  let description = [{
    Runs on the functions `nnc-autodiff` produced. Splits the forward ops
    into a chain of stages at the values every later op depends on (the
    articulation points of the forward graph; activations and the loss join
    the stage before them, so a stage is a layer, and dropout opens the next
    one),
    prices each stage with `CostOpInterface` (forward and backward FLOPs) and
    sizes what its backward reads, then asks the MLIR-free planner for a
    schedule with the chosen strategy:

    - `store-all`: vanilla backprop, every activation kept;
    - `recompute-all`: only the input kept, O(n²) forward work;
    - `sqrt`: Chen et al.'s √n segments; `chen`: their greedy variant under
      `budget`;
    - `dp`: the budget-optimal schedule (Beaumont et al.'s dynamic program).

    Each forward op gets `nn.stage`, and the function an `nn.checkpoint`
    `#nn.checkpoint_plan<...>`: strategy, budget, the schedule in the
    vocabulary of the checkpointing literature (`F_ck`, `F_n`, `F_all`, `B`,
    `Discard`) and the simulator's predicted peak bytes and compute cost. A budget below the
    feasible minimum is an error that states the minimum.

    Costs are FLOPs unless `forward-flop-seconds` and `backward-flop-seconds`
    give measured times per FLOP of the compiled forward and backward code:
    stage costs are then predicted seconds, and the plan's cost and overhead
    are a predicted step time. `stage-forward-seconds` and
    `stage-recompute-seconds` (with `backward-flop-seconds`) give each
    stage's first forward and each recomputation of it their own measured
    times instead, which is what `nnc-compile --cost-model=measured`
    measures (`nnc-profile-stages`): a convolution, a pooling and a loss
    run at very different speeds per FLOP, and a recomputation, run
    inside the backward on buffers it has just used, can cost less than
    the first forward. Every plan runs each stage's first forward and
    backward once, so the chain prices a forward at its recomputation's
    time and adds the first forward's difference to the stage's backward:
    every plan's cost is then its predicted step time.
    `stage-cold-backward-seconds` and `stage-hot-backward-seconds` (both or
    neither, one time per stage) add each stage's measured backward on top
    of `backward-flop-seconds` (which then prices only the unmarked rest):
    cold where it reads values stored long before (store-all's), hot where
    it directly follows its stage's `F_all` (recompute-all's), as the
    dynamic program and the simulator price `B(i)` after `F_all(i)`. FLOP
    figures are recorded either way.
  }];
  let options = [
    Option<"strategy", "strategy", "::mlir::nnc::CheckpointStrategy",
           /*default=*/"::mlir::nnc::CheckpointStrategy::StoreAll",
           "Checkpointing strategy",
           [{::nnc::checkpointStrategies.clValues()}]>,
    Option<"budget", "budget", "std::optional<uint64_t>",
           /*default=*/"std::nullopt",
           "Memory budget for activations, in bytes (KiB/MiB/GiB suffixes; "
           "none: unlimited)">,
    Option<"slots", "slots", "unsigned", /*default=*/"500",
           "Memory discretisation of the dp strategy">,
    Option<"printChain", "print-chain", "bool", /*default=*/"false",
           "Print each function's chain as nnc-plan JSON to stderr">,
    Option<"fusedUpdates", "fused-updates", "bool", /*default=*/"false",
           "nnc-fuse-updates will run: a weight whose gradient is one "
           "matmul needs no gradient buffer before its update">,
    Option<"forwardFlopSeconds", "forward-flop-seconds", "double",
           /*default=*/"0.0",
           "Measured seconds per forward FLOP (0: costs are FLOPs)">,
    Option<"backwardFlopSeconds", "backward-flop-seconds", "double",
           /*default=*/"0.0",
           "Measured seconds per backward FLOP (0: costs are FLOPs)">,
    ListOption<"stageForwardSeconds", "stage-forward-seconds", "double",
               "Measured seconds of each stage's first forward, in stage "
               "order (with stage-recompute-seconds and "
               "backward-flop-seconds; replaces forward-flop-seconds)">,
    ListOption<"stageRecomputeSeconds", "stage-recompute-seconds", "double",
               "Measured seconds of each stage's forward when recomputed">,
    ListOption<"stageColdBackwardSeconds", "stage-cold-backward-seconds",
               "double",
               "Measured seconds of each stage's backward on stored values "
               "(with stage-hot-backward-seconds and stage-forward-seconds)">,
    ListOption<"stageHotBackwardSeconds", "stage-hot-backward-seconds",
               "double",
               "Measured seconds of each stage's backward right after its "
               "F_all">,
    Option<"microBatches", "micro-batches", "unsigned", /*default=*/"1",
           "nnc-accumulate-gradients will run the step over this many "
           "micro-batches: the chain is planned within the budget less the "
           "gradient accumulators and the micro-batch's input copy, and the "
           "plan's budget and peaks include them">,
    Option<"allReduce", "all-reduce", "bool", /*default=*/"false",
           "nnc-insert-allreduce will run: every gradient is held in its "
           "bucket from the backward that completes it to the updates after "
           "the backward, and a bucket is packed beside its gradients; the "
           "chain is planned within the budget less that, and the plan's "
           "peaks include it">,
    Option<"bucketBytes", "bucket-bytes", "uint64_t", /*default=*/"1 << 20",
           "With all-reduce: the buckets' size, as nnc-insert-allreduce's">,
    Option<"lossScaling", "loss-scaling", "bool", /*default=*/"false",
           "nnc-loss-scaling will run: every parameter gradient and its "
           "update's results stay alive from the stage's backward to the "
           "step's one all-finite check, and the chain counts them">,
    Option<"keepCastCopies", "keep-cast-copies", "bool", /*default=*/"false",
           "nnc-recast-for-backward will not run: a 16-bit copy of a "
           "weight or of the batch that a backward reads is a saved value "
           "of the stage that makes it, not backward scratch">,
  ];
}

def MixedPrecision : Pass<"nnc-mixed-precision", "::mlir::ModuleOp"> {
  let summary = "Assign bf16 to contraction operands and the activations "
                "and gradients between them";
  let description = [{
    Runs on the model function before `nnc-autodiff`, as PyTorch's
    autocast types the forward: the backward then follows, each gradient
    taking its value's type through the VJPs (the gradient of a weight's
    bf16 copy stays the f32 product it accumulates). The checkpoint planner
    and the arena see the stored types, and a recomputation repeats the
    original's conversions. With `precision=bf16`, in program order:

    - a contraction (`nn.linear`, 2-D `nn.matmul`, `nn.sgd_matmul`,
      `nn.conv2d`) reads bf16: an f32 operand gets an `nn.cast` (one per
      value, so a weight is converted once per step). Its result is bf16
      (the library GEMM or convolution converts in its epilogue,
      accumulation stays f32) when every user reads bf16, f32 otherwise (a
      weight gradient feeding its update, a convolution feeding batch
      norm); a bias stays f32;
    - an elementwise op whose tensor operands are all bf16 computes in f32
      and stores bf16; with mixed operands the bf16 ones are widened
      (exactly) and it stays f32. Max and average pooling and `nn.reshape`
      keep their operand's type the same way;
    - `nn.mse_loss`, `nn.cross_entropy` and `nn.reduce_sum` read bf16 and
      compute and return f32 (a loss gradient, when the pass meets one,
      has its prediction's type);
    - every other op reads f32: a bf16 operand gets an `nn.cast` to f32.

    Parameters, optimizer state, the loss and every returned value stay
    f32. `precision=fp16` does the same with f16 for bf16 (a GPU step's:
    the CPU target refuses it). `precision=f32` changes nothing.

    ```mlir
    %h = nn.linear %x, %w, %b : (tensor<8x16xf32>, tensor<32x16xf32>, tensor<32xf32>) -> tensor<8x32xf32>
    // becomes
    %xb = nn.cast %x : tensor<8x16xf32> to tensor<8x16xbf16>
    %wb = nn.cast %w : tensor<32x16xf32> to tensor<32x16xbf16>
    %h = nn.linear %xb, %wb, %b : (tensor<8x16xbf16>, tensor<32x16xbf16>, tensor<32xf32>) -> tensor<8x32xbf16>
    ```
  }];
  let options = [
    Option<"precision", "precision", "::mlir::nnc::Precision",
           /*default=*/"::mlir::nnc::Precision::F32",
           "The element type contractions read",
           [{::nnc::precisions.clValues()}]>,
  ];
  let dependentDialects = ["::mlir::nnc::NNDialect"];
}

def RecastForBackward : Pass<"nnc-recast-for-backward", "::mlir::ModuleOp"> {
  let summary = "Convert a weight or input again where the backward reads it";
  let description = [{
    After `nnc-autodiff` on a mixed-precision step: an `nn.cast` of a
    function argument (a weight's bf16 copy, the batch's) that the backward
    reads too is cloned just before its first backward use, which then
    reads the clone. The forward copy dies with the forward layer instead
    of living through the whole step as a saved value: converting a
    weight again costs one pass over it, far less than the product that
    reads it, while keeping every copy would hold half of all the weights
    (for an MLP whose weights outweigh its activations, more than the f32
    step's peak). Both copies round the same f32 values, so the step's
    results do not change.

    ```mlir
    %wb = nn.cast %w : tensor<32x16xf32> to tensor<32x16xbf16>
    %h = nn.linear %xb, %wb : ...
    %seed = arith.constant {nn.grad_seed} ...
    %dx = nn.matmul %dy, %wb : ...
    // becomes
    %wb = nn.cast %w : ...
    %h = nn.linear %xb, %wb : ...
    %seed = arith.constant {nn.grad_seed} ...
    %wb2 = nn.cast %w : tensor<32x16xf32> to tensor<32x16xbf16>
    %dx = nn.matmul %dy, %wb2 : ...
    ```
  }];
}

def MaxPoolIndices : Pass<"nnc-max-pool-indices", "::mlir::ModuleOp"> {
  let summary = "Save each max pooling's window positions for its backward";
  let description = [{
    In the functions `nnc-autodiff` derived (those with an `nn.grad_seed`),
    each forward `nn.max_pool2d` whose window has at most `max-window`
    elements becomes `nn.max_pool2d_indices` (one byte per output: where
    its window's first maximum is) and `nn.max_pool2d_indexed` reading
    them, and each `nn.max_pool2d_grad` of the same input and geometry
    becomes `nn.max_pool2d_indexed_grad`, which reads the positions and dy
    instead of the input and dy: a quarter of a byte per input element
    instead of four for 2x2 windows (oneDNN's workspace, in nnc's plan).
    The gradients are the same bits.

    Runs before `nnc-plan-checkpoints`: the planner then prices the saved
    positions, not the pooling's input, as what the backward reads (the
    input stays where another backward reads it, a ReLU's mask), and a
    recomputed stage writes the same positions again (the forward op
    derives them, and the rematerializer derives the backward from it).
    The CPU pipeline runs it; the NVPTX pipeline keeps the recomputing
    form (its kernels have no index form).

    ```mlir
    %y = nn.max_pool2d %x {kernel = array<i64: 2, 2>, strides = array<i64: 2, 2>} ...
    %dx = nn.max_pool2d_grad %x, %dy {...} ...
    // becomes
    %i = nn.max_pool2d_indices %x {...} : (...) -> tensor<...xi8>
    %y = nn.max_pool2d_indexed %x, %i {...} ...
    %dx = nn.max_pool2d_indexed_grad %i, %dy {...} ...
    ```
  }];
  let options = [
    Option<"maxWindow", "max-window", "unsigned", /*default=*/"256",
           "Largest window (KH * KW elements) given the index form; larger "
           "ones keep recomputing from the input (at most 256: positions "
           "are one byte)">,
  ];
}

def SinkSlices : Pass<"nnc-sink-slices", "::mlir::ModuleOp"> {
  let summary = "Compute only the rows a slice keeps";
  let description = [{
    Moves each `nn.slice` that keeps whole rows (the last dimension) above
    the row-wise ops producing its input when the slice is all that reads
    them: elementwise ops, `nn.add`, `nn.mul`, `nn.layer_norm`, `nn.linear`
    (a slice of its rows is the layer applied to those rows), and the
    reshapes between `[B, T, D]` and `[B·T, D]` around linear layers (one
    position of every sequence is every T-th row). Runs on the model
    function before `nnc-autodiff`, so the backward follows.

    A classifier that reads the last position of a transformer (`x[:, -1]`)
    then runs its last layer's MLP, output projection and norms on one
    position per sequence instead of all of them: what the loss never reads
    is never computed, in the forward or in its backward. Attention stops
    the motion (its keys need every position).

    Not in the default pipeline yet: on a sunk two-layer transformer the
    checkpoint planner predicted a dp plan's peak at 71,424 bytes where
    the arena's max-live bound was 89,984 (docs/Transformers.md), and
    nnc-compile rightly refused the plan. Until the planner's view of the
    sliced graph is fixed, run it with nnc-opt.

    ```mlir
    %n = nn.layer_norm %x, %w, %b : (tensor<8x4x16xf32>, ...) -> tensor<8x4x16xf32>
    %s = nn.slice %n {offsets = array<i64: 0, 3, 0>, sizes = array<i64: 8, 1, 16>,
                      strides = array<i64: 1, 1, 1>} : ...
    // becomes
    %s = nn.slice %x {...} : (tensor<8x4x16xf32>) -> tensor<8x1x16xf32>
    %n = nn.layer_norm %s, %w, %b : (tensor<8x1x16xf32>, ...) -> tensor<8x1x16xf32>
    ```
  }];
}

def FuseUpdates : Pass<"nnc-fuse-updates", "::mlir::ModuleOp"> {
  let summary = "Fold each weight's SGD step into the matmul computing its "
                "gradient";
  let description = [{
    `nn.sgd %w, %g` where `%g = nn.matmul %a, %b` is used by nothing else
    (a linear layer's weight gradient `δᵀ · x`) becomes one
    `nn.sgd_matmul %w, %a, %b`: a single contraction accumulating
    `-lr · op(a) · op(b)` onto `w`, placed where the matmul was. The weight
    gradient is never materialized: the training step needs one weight-sized
    buffer less in each backward, which nnc-plan-checkpoints counts when its
    `fused-updates` option says this pass runs. Runs after
    nnc-rematerialize (which puts each update right after the backward
    completing its gradient).
  }];
}

def InsertAllReduce : Pass<"nnc-insert-allreduce", "::mlir::ModuleOp"> {
  let summary = "Average each gradient over the data-parallel ranks, in "
                "buckets overlapping the backward";
  let description = [{
    Runs on training steps (`#nn.entry<train_step>`) after
    `nnc-rematerialize` and before `nnc-fuse-updates` (a fused update has no
    gradient to reduce: the pass refuses one). The parameters' gradients
    are grouped into buckets in the order the backward completes them; a
    bucket closes when it holds at least `bucket-bytes` bytes (the last may
    hold less). Each bucket's `nn.all_reduce_start` is placed right after
    the op completing its last gradient, so its communication overlaps the
    rest of the backward; the ops reading the gradients (optimizer updates,
    norms) move after the backward, in their order, and each bucket's
    `nn.all_reduce_wait` comes right before the first of them that reads
    one of its gradients. The updates then read the mean gradient over the
    ranks: every rank applies the same update to the same weights.

    All gradients are live until their bucket's wait, a memory cost the
    checkpoint plan does not count (docs/Distributed.md).
  }];
  let options = [
    Option<"bucketBytes", "bucket-bytes", "uint64_t", /*default=*/"1048576",
           "A bucket closes once its gradients hold at least this many bytes "
           "(0: one bucket per gradient)">,
  ];
}

def LossScaling : Pass<"nnc-loss-scaling", "::mlir::ModuleOp"> {
  let summary = "Dynamic loss scaling: scaled backward, unscaled and "
                "checked gradients, skipped steps (PyTorch's GradScaler)";
  let description = [{
    Runs on training steps (`#nn.entry<train_step>`) after
    `nnc-rematerialize`, `nnc-accumulate-gradients` and
    `nnc-insert-allreduce`, before `nnc-fuse-updates` (a fused update has no
    gradient to check: the step must not fuse them). The step gets two more
    arguments, the state the caller owns and feeds back like optimizer
    state: `loss_scale` (PyTorch starts it at 65536) and `good_steps`
    (finite steps since the scale last changed, 0 at first), both
    `tensor<f32>`; and two more results, `new_loss_scale` and
    `new_good_steps`, last.

    - The backward is seeded with the scale instead of 1 (the gradient
      seed times `loss_scale`), so every gradient is the scaled loss's.
    - Each parameter's gradient is unscaled (`nn.unscale`) before its
      update (and its norm, with grad-norms).
    - One `nn.all_finite` over all unscaled gradients; every updated
      parameter and optimizer state returned is `nn.select`ed between the
      update and the value passed in, so a step with an inf or NaN anywhere
      changes nothing but the scale. The loss and running statistics are
      returned as computed (PyTorch updates batch norm's running statistics
      in the forward, skipped step or not).
    - `nn.loss_scale_update` moves the scale: times `backoff-factor` after
      a non-finite step, times `growth-factor` after `growth-interval`
      consecutive finite ones.

    The updates of all parameters wait for the check of all gradients, so
    the gradients and the updated values are all live at the end of the
    step: a memory cost the checkpoint plan does not count.
  }];
  let options = [
    Option<"growthFactor", "growth-factor", "double", /*default=*/"2.0",
           "The scale is multiplied by this after growth-interval finite "
           "steps in a row (> 1)">,
    Option<"backoffFactor", "backoff-factor", "double", /*default=*/"0.5",
           "The scale is multiplied by this after a step with an inf or NaN "
           "gradient (in (0, 1))">,
    Option<"growthInterval", "growth-interval", "int64_t",
           /*default=*/"2000",
           "Consecutive finite steps before the scale grows">,
  ];
}

def ProfileStages : Pass<"nnc-profile-stages", "::mlir::ModuleOp"> {
  let summary = "Mark each stage's forward and recomputations in the step's "
                "profile";
  let description = [{
    For the cost calibration (`--cost-model=measured`): in each function
    that carries a checkpoint plan, puts an `nn.profile_mark` wherever the
    step moves from one kind of work to another, so that each interval
    between two marks is one kind: `id = i` starts stage i's first forward
    (ops marked `nn.stage = i`), `id = -i` a recomputation of stage i
    (`nn.recomputed` too), `id = n + 1 + i` (n stages) stage i's backward
    action with the updates it completes (ops that `nnc-rematerialize
    tag-backward` marked `nn.backward_stage = i`; the tag is removed),
    `id = 0` anything else; `id = n + 1` goes before the return and ends
    the last interval. Constants never start one. The calibration profiles
    a store-all step (each stage's first forward, and its backward on
    stored values: cold) and a recompute-all step (each recomputation, and
    each backward right after its stage's: hot), in the compiled step
    itself rather than estimated from FLOPs. Runs right after
    `nnc-rematerialize`, on the IR it leaves; the marks become calls of the
    CPU runtime (`nnc-lower-runtime-calls`). Only the calibration compiles a
    profiled step.
  }];
  let dependentDialects = ["::mlir::nnc::NNDialect"];
}

def Rematerialize : Pass<"nnc-rematerialize", "::mlir::ModuleOp"> {
  let summary = "Rewrite a gradient function to follow its checkpoint plan";
  let description = [{
    Rebuilds the body of each function carrying an `nn.checkpoint` plan
    (`#nn.checkpoint_plan`, written by nnc-plan-checkpoints or by hand):
    forward
    actions clone the stage's forward ops (recomputation runs exactly the
    code of the first forward, so results are bit-identical), backward
    actions emit the stage's vector-Jacobian products from the values of its
    last `F_all`, and a value is freed where its last use is — which is where
    the plan frees it. Optimizer updates and gradient norms (training steps:
    the ops after the backward that read a parameter's complete gradient)
    are re-emitted as soon as that gradient is complete, so no full set of
    gradients is held.
  }];
  let options = [
    Option<"tagBackward", "tag-backward", "bool", /*default=*/"false",
           "Mark the ops of each backward action (its updates included) "
           "with nn.backward_stage, for nnc-profile-stages">,
    Option<"keepCastCopies", "keep-cast-copies", "bool", /*default=*/"false",
           "The plan keeps 16-bit argument copies (nnc-plan-checkpoints' "
           "keep-cast-copies): a backward without an F_all of its stage "
           "may not read one either">,
  ];
  let dependentDialects = ["::mlir::arith::ArithDialect",
                           "::mlir::nnc::NNDialect"];
}

def AccumulateGradients : Pass<"nnc-accumulate-gradients",
                                "::mlir::ModuleOp"> {
  let summary = "Run a training step over micro-batches, accumulating their "
                "gradients before one update";
  let description = [{
    Runs on training steps (`#nn.entry<train_step>`) after
    `nnc-rematerialize` and before `nnc-insert-allreduce` and
    `nnc-fuse-updates`. The step was derived and planned for a micro-batch
    of M samples; afterwards it takes `micro-batches` × M samples (its data
    inputs grow along dimension 0) and runs the planned forward and
    backward once per micro-batch of them, in order, on a copy of that
    micro-batch's rows. Each parameter's gradient is summed over the
    micro-batches in that order as soon as the backward completes it (the
    first micro-batch's gradient is the accumulator, each later one is
    added into it and dies), and the ops that read the complete gradients
    (optimizer updates, norms) run once, after the last micro-batch. The
    gradient seed is 1/`micro-batches`, so the accumulated gradient is the
    mean over all samples, as one step over them computes it; the returned
    loss is the mean of the micro-batches' losses and the returned output
    their rows in order.

    The accumulators and the micro-batch's input copy live in the arena
    beside what the checkpoint plan holds: nnc-plan-checkpoints with the
    same `micro-batches` plans the chain within the budget less those
    bytes (`microBatchReservedBytes`). Steps with dropout (its mask hashes
    the element index, which would repeat in every micro-batch) or batch
    norm running statistics (they would be updated once per micro-batch)
    are refused.
  }];
  let options = [
    Option<"microBatches", "micro-batches", "unsigned", /*default=*/"1",
           "Micro-batches per step (1: the pass does nothing)">,
  ];
  let dependentDialects = ["::mlir::linalg::LinalgDialect",
                           "::mlir::tensor::TensorDialect",
                           "::mlir::nnc::NNDialect"];
}

#endif // NNC_DIALECT_NN_TRANSFORMS_PASSES_TD
