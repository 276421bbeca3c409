//===- NNOps.td - nn dialect operations --------------------*- tablegen -*-===//
//
// Part of nnc, under the Apache License v2.0 with LLVM Exceptions.
// See LICENSE for license information.
//
//===----------------------------------------------------------------------===//

#ifndef NNC_DIALECT_NN_IR_NNOPS_TD
#define NNC_DIALECT_NN_IR_NNOPS_TD

include "nnc/Dialect/NN/IR/NNAttrs.td"
include "nnc/Dialect/NN/IR/NNDialect.td"
include "nnc/Dialect/NN/IR/NNInterfaces.td"
include "mlir/IR/BuiltinAttributes.td"
include "mlir/Dialect/Bufferization/IR/BufferizableOpInterface.td"
include "mlir/Interfaces/DestinationStyleOpInterface.td"
include "mlir/Interfaces/InferTypeOpInterface.td"
include "mlir/Interfaces/SideEffectInterfaces.td"

def NN_F32Tensor : StaticShapeTensorOf<[F32]>;
// What a mixed-precision step may store in bf16 (or f16): the operands of
// the contractions and the activations and gradients between them
// (nnc-mixed-precision assigns the types; docs/MixedPrecision.md).
def NN_FloatTensor : StaticShapeTensorOf<[F32, BF16, F16]>;
def NN_Scalar : 0DTensorOf<[F32]>;
// A run-time scalar operand (learning rate, step count): buildable, so an
// assembly format need not spell its type. (Only for operands: a buildable
// result type would make ODS infer results the ops infer themselves.)
def NN_ScalarOperand : 0DTensorOf<[F32]>,
    BuildableType<"::mlir::RankedTensorType::get({}, $_builder.getF32Type())">;
def NN_LabelTensor : StaticShapeTensorOf<[I32, I64]>;

//===----------------------------------------------------------------------===//
// Traits
//===----------------------------------------------------------------------===//

// An op whose vector-Jacobian product reads its own result rather than its
// operand (ReLU, sigmoid, tanh, softmax: what PyTorch saves too). Checkpoint
// staging keeps such an op with the op producing its operand, so a stage's
// output is what its backward keeps.
def NN_GradientFromResult : NativeOpTrait<"GradientFromResult"> {
  let cppNamespace = "::mlir::nnc::NNTrait";
}

// A training loss: returns the scalar the model function returns. It closes
// the last chain stage.
def NN_Loss : NativeOpTrait<"Loss"> {
  let cppNamespace = "::mlir::nnc::NNTrait";
}

// Result types computed from the operands by `inferReturnTypes(ctx, loc,
// adaptor, types)`, the one home of each op's shape rules: the builders use
// it, and so does the op's verifier (hasVerifier), which reports the
// specific mismatch. Interface verification therefore adds nothing of its
// own (refineReturnTypes accepts), so a bad op gets one located error, not
// a second "failed to infer returned types".
def NN_InferType : TraitList<[
  DeclareOpInterfaceMethods<InferTypeOpInterface, ["refineReturnTypes"]>,
  NativeOpTrait<"InferTypeOpAdaptor", [], [{
    static ::llvm::LogicalResult
    inferReturnTypes(::mlir::MLIRContext *context,
                     std::optional<::mlir::Location> location,
                     Adaptor adaptor,
                     ::llvm::SmallVectorImpl<::mlir::Type> &inferredReturnTypes);
  }], [{
    ::llvm::LogicalResult
    $cppClass::inferReturnTypes(::mlir::MLIRContext *context,
        std::optional<::mlir::Location> location, ::mlir::ValueRange operands,
        ::mlir::DictionaryAttr attributes, ::mlir::OpaqueProperties properties,
        ::mlir::RegionRange regions,
        ::llvm::SmallVectorImpl<::mlir::Type> &inferredReturnTypes) {
      $cppClass::Adaptor adaptor(operands, attributes, properties, regions);
      return $cppClass::inferReturnTypes(context, location, adaptor,
                                         inferredReturnTypes);
    }
    ::llvm::LogicalResult
    $cppClass::refineReturnTypes(::mlir::MLIRContext *,
        std::optional<::mlir::Location>, ::mlir::ValueRange,
        ::mlir::DictionaryAttr, ::mlir::OpaqueProperties, ::mlir::RegionRange,
        ::llvm::SmallVectorImpl<::mlir::Type> &) {
      return ::mlir::success();
    }
    ::llvm::LogicalResult $cppClass::verify() {
      return ::mlir::nnc::verifyInferredType(*this);
    }
  }]>
]>;

//===----------------------------------------------------------------------===//
// Forward ops
//===----------------------------------------------------------------------===//

class NN_ForwardOp<string mnemonic, list<Trait> traits = []>
    : NN_Op<mnemonic, !listconcat(traits, [Pure,
        DeclareOpInterfaceMethods<NN_DifferentiableOpInterface>,
        DeclareOpInterfaceMethods<NN_CostOpInterface>])>;

class NN_GradOp<string mnemonic, list<Trait> traits = []>
    : NN_Op<mnemonic, !listconcat(traits, [Pure,
        DeclareOpInterfaceMethods<NN_CostOpInterface>])>;

def NN_LinearOp : NN_ForwardOp<"linear", [NN_InferType]> {
  let summary = "fully connected layer, x · Wᵀ + b";
  let description = [{
    PyTorch's `torch.nn.functional.linear`: `input` is `[batch, in]`,
    `weight` is `[out, in]`, the optional `bias` is `[out]` and the result is
    `[batch, out]`.

    ```mlir
    %y = nn.linear %x, %w, %b
        : (tensor<128x784xf32>, tensor<100x784xf32>, tensor<100xf32>)
        -> tensor<128x100xf32>
    ```
  }];
  let arguments = (ins NN_FloatTensor:$input, NN_FloatTensor:$weight,
                       Optional<NN_F32Tensor>:$bias);
  let results = (outs NN_FloatTensor:$result);
  let assemblyFormat = [{
    $input `,` $weight (`,` $bias^)? attr-dict `:` functional-type(operands, results)
  }];
  let hasVerifier = 1;
}

def NN_MatmulOp : NN_ForwardOp<"matmul", [NN_InferType]> {
  let summary = "matrix product with optional transposed operands";
  let description = [{
    `op(lhs) · op(rhs)` for 2-D operands, where `op` transposes when
    `transpose_lhs` / `transpose_rhs` is set. Autodiff uses the transposed
    forms for `dW = dyᵀ · x` without materialising a transpose.

    Operands of rank 3 or more are a batch of products over their equal
    leading dimensions (PyTorch's `matmul` without broadcasting); the
    flags transpose the last two dimensions. The CPU target runs a batched
    product as compiled loops, not the library GEMM (`nn.attention` is
    the fast form of the batched products attention makes).

    ```mlir
    %c = nn.matmul %a, %b {transpose_rhs}
        : (tensor<4x3xf32>, tensor<5x3xf32>) -> tensor<4x5xf32>
    ```
  }];
  let arguments = (ins NN_FloatTensor:$lhs, NN_FloatTensor:$rhs,
                       UnitAttr:$transpose_lhs, UnitAttr:$transpose_rhs);
  let results = (outs NN_FloatTensor:$result);
  let assemblyFormat = [{
    $lhs `,` $rhs attr-dict `:` functional-type(operands, results)
  }];
  let hasVerifier = 1;
}

def NN_AddOp : NN_ForwardOp<"add", [SameOperandsAndResultType]> {
  let summary = "elementwise sum (skip connections, gradient accumulation)";
  let description = [{
    ```mlir
    %s = nn.add %a, %b : tensor<128x100xf32>
    ```
  }];
  let arguments = (ins NN_FloatTensor:$lhs, NN_FloatTensor:$rhs);
  let results = (outs NN_FloatTensor:$result);
  let assemblyFormat = "$lhs `,` $rhs attr-dict `:` type($result)";
}

class NN_ActivationOp<string mnemonic, string formula>
    : NN_ForwardOp<mnemonic, [SameOperandsAndResultType,
                              NN_GradientFromResult]> {
  let summary = "elementwise " # formula;
  let description = [{
    Elementwise activation, same shape in and out.

    ```mlir
    %y = nn.}] # mnemonic # [{ %x : tensor<128x100xf32>
    ```
  }];
  let arguments = (ins NN_FloatTensor:$input);
  let results = (outs NN_FloatTensor:$result);
  let assemblyFormat = "$input attr-dict `:` type($result)";
}

def NN_ReluOp : NN_ActivationOp<"relu", "max(x, 0)">;
def NN_SigmoidOp : NN_ActivationOp<"sigmoid", "1 / (1 + exp(-x))">;
def NN_TanhOp : NN_ActivationOp<"tanh", "tanh(x)">;

def NN_LeakyReluOp : NN_ForwardOp<"leaky_relu", [SameOperandsAndResultType,
                                                NN_GradientFromResult]> {
  let summary = "elementwise x > 0 ? x : alpha · x";
  let description = [{
    PyTorch's `leaky_relu(x, negative_slope=alpha)`. The slope is not
    negative, so the output is positive exactly where the input is and the
    gradient can be read from the output, as for ReLU.

    ```mlir
    %y = nn.leaky_relu %x {alpha = 0.01 : f32} : tensor<128x100xf32>
    ```
  }];
  let arguments = (ins NN_FloatTensor:$input, F32Attr:$alpha);
  let results = (outs NN_FloatTensor:$result);
  let assemblyFormat = "$input attr-dict `:` type($result)";
  let hasVerifier = 1;
}

def NN_GeluOp : NN_ForwardOp<"gelu", [SameOperandsAndResultType]> {
  let summary = "elementwise x · Φ(x) = x / 2 · (1 + erf(x / √2))";
  let description = [{
    PyTorch's exact `gelu(x)` (approximate='none'), Φ the standard normal
    distribution function. Its gradient needs the input, which the backward
    therefore keeps.

    ```mlir
    %y = nn.gelu %x : tensor<128x100xf32>
    ```
  }];
  let arguments = (ins NN_FloatTensor:$input);
  let results = (outs NN_FloatTensor:$result);
  let assemblyFormat = "$input attr-dict `:` type($result)";
}

def NN_SoftmaxOp : NN_ForwardOp<"softmax", [SameOperandsAndResultType,
                                           NN_GradientFromResult]> {
  let summary = "softmax over the last dimension";
  let description = [{
    `exp(x - max) / sum(exp(x - max))` along the innermost dimension of a
    2-D tensor (PyTorch's `softmax(x, dim=-1)`).

    ```mlir
    %p = nn.softmax %logits : tensor<128x10xf32>
    ```
  }];
  let arguments = (ins NN_F32Tensor:$input);
  let results = (outs NN_F32Tensor:$result);
  let assemblyFormat = "$input attr-dict `:` type($result)";
  let hasVerifier = 1;
}

def NN_DropoutOp : NN_ForwardOp<"dropout", [SameOperandsAndResultType]> {
  let summary = "inverted dropout with a counter-based, reproducible mask";
  let description = [{
    Zeroes each element with probability `rate` and scales survivors by
    `1 / (1 - rate)`. The mask bit of element `i` (row-major linear index) is
    a pure function of `(seed, i)` — a stateless hash, no generator state —
    so recomputing the op during checkpointed backprop draws the same mask,
    and its gradient is the same op applied to the incoming gradient.

    ```mlir
    %d = nn.dropout %h {rate = 0.5 : f32, seed = 7 : i64} : tensor<128x100xf32>
    ```
  }];
  let arguments = (ins NN_FloatTensor:$input, F32Attr:$rate, I64Attr:$seed);
  let results = (outs NN_FloatTensor:$result);
  let assemblyFormat = "$input attr-dict `:` type($result)";
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// Convolutional layers (NCHW activations, OIHW weights: PyTorch's layouts)
//===----------------------------------------------------------------------===//

// The geometry every convolution op carries, forward and backward alike, so
// a gradient op states exactly the convolution it differentiates.
def NN_ConvGeometry {
  dag attrs = (ins
    DefaultValuedAttr<DenseI64ArrayAttr, "{1, 1}">:$strides,
    DefaultValuedAttr<DenseI64ArrayAttr, "{0, 0, 0, 0}">:$padding,
    DefaultValuedAttr<DenseI64ArrayAttr, "{1, 1}">:$dilations,
    DefaultValuedAttr<I64Attr, "1">:$groups);
}

def NN_Conv2dOp : NN_ForwardOp<"conv2d", [NN_InferType]> {
  let summary = "2-D convolution (cross-correlation), PyTorch's conv2d";
  let description = [{
    `input` is `[N, C, H, W]`, `weight` is `[K, C / groups, KH, KW]`, the
    optional `bias` is `[K]`; the result is `[N, K, OH, OW]` with
    `OH = (H + top + bottom - dilation_h · (KH - 1) - 1) / stride_h + 1`
    (likewise OW). `padding` is `[top, left, bottom, right]` (ONNX's `pads`
    order; PyTorch's symmetric padding p is `[p, p, p, p]`), zeros outside
    the input. `groups` splits the channels into independent convolutions;
    `groups = C = K` is a depthwise convolution.

    ```mlir
    %y = nn.conv2d %x, %w, %b {padding = array<i64: 1, 1, 1, 1>}
        : (tensor<128x1x28x28xf32>, tensor<32x1x3x3xf32>, tensor<32xf32>)
        -> tensor<128x32x28x28xf32>
    ```
  }];
  let arguments = !con((ins NN_FloatTensor:$input, NN_FloatTensor:$weight,
                            Optional<NN_F32Tensor>:$bias),
                       NN_ConvGeometry.attrs);
  let results = (outs NN_FloatTensor:$result);
  let assemblyFormat = [{
    $input `,` $weight (`,` $bias^)? attr-dict `:` functional-type(operands, results)
  }];
  let hasVerifier = 1;
}

def NN_MaxPool2dOp : NN_ForwardOp<"max_pool2d", [NN_InferType]> {
  let summary = "2-D max pooling";
  let description = [{
    PyTorch's `max_pool2d(x, kernel, stride, padding)` on `[N, C, H, W]`:
    the maximum of each `kernel` window, windows `strides` apart (they may
    overlap), `padding` (`[top, left, bottom, right]`) never chosen. Its
    gradient goes to the first maximum of each window in row-major order,
    as PyTorch's does, and needs the input.

    ```mlir
    %p = nn.max_pool2d %x {kernel = array<i64: 2, 2>, strides = array<i64: 2, 2>}
        : (tensor<128x32x28x28xf32>) -> tensor<128x32x14x14xf32>
    ```
  }];
  let arguments = (ins NN_FloatTensor:$input, DenseI64ArrayAttr:$kernel,
                       DenseI64ArrayAttr:$strides,
                       DefaultValuedAttr<DenseI64ArrayAttr, "{0, 0, 0, 0}">:$padding);
  let results = (outs NN_FloatTensor:$result);
  let assemblyFormat = "$input attr-dict `:` functional-type(operands, results)";
  let hasVerifier = 1;
}

def NN_AvgPool2dOp : NN_ForwardOp<"avg_pool2d", [NN_InferType]> {
  let summary = "2-D average pooling (global average pooling included)";
  let description = [{
    PyTorch's `avg_pool2d(x, kernel, stride, padding, count_include_pad)`
    on `[N, C, H, W]`. With `count_include_pad` (PyTorch's default; ONNX's
    AveragePool defaults to false) a window is divided by its size clipped
    to the padded input, else by its elements inside the input. A kernel of
    the whole `H × W` is global average pooling (`x.mean((2, 3))` keeping
    the two dimensions as 1).

    ```mlir
    %g = nn.avg_pool2d %x {kernel = array<i64: 7, 7>, strides = array<i64: 1, 1>}
        : (tensor<128x64x7x7xf32>) -> tensor<128x64x1x1xf32>
    ```
  }];
  let arguments = (ins NN_FloatTensor:$input, DenseI64ArrayAttr:$kernel,
                       DenseI64ArrayAttr:$strides,
                       DefaultValuedAttr<DenseI64ArrayAttr, "{0, 0, 0, 0}">:$padding,
                       UnitAttr:$count_include_pad);
  let results = (outs NN_FloatTensor:$result);
  let assemblyFormat = "$input attr-dict `:` functional-type(operands, results)";
  let hasVerifier = 1;
}

def NN_BatchNormOp : NN_ForwardOp<"batch_norm", [NN_InferType,
    DeclareOpInterfaceMethods<NN_CostOpInterface, ["getScratchBytes"]>]> {
  let summary = "batch normalization over the channels of [N, C, ...]";
  let description = [{
    PyTorch's `batch_norm`: per channel (dimension 1), `(x - μ) / sqrt(σ² +
    eps) · weight + bias`. With `training`, μ and σ² are the batch's mean and
    biased variance over every other dimension (the statistics are taken in
    f64); without, they are `running_mean` and `running_var`.

    In a training step (`nnc-autodiff`), each training-mode batch norm whose
    running statistics are function arguments marked `nn.running_stat`
    also yields the updated statistics as step results `new_<name>`
    (`nn.running_stat_update`, momentum as PyTorch's: `(1 - m) · r + m ·
    batch value`, the variance unbiased). They are pure values returned
    once, so a plan that recomputes the stage still updates them exactly
    once (PyTorch's `checkpoint` updates them at every recomputation).

    ```mlir
    %y = nn.batch_norm %x, %gamma, %beta, %rm, %rv {training}
        : (tensor<128x32x28x28xf32>, tensor<32xf32>, tensor<32xf32>,
           tensor<32xf32>, tensor<32xf32>) -> tensor<128x32x28x28xf32>
    ```
  }];
  let arguments = (ins NN_F32Tensor:$input, NN_F32Tensor:$weight,
                       NN_F32Tensor:$bias, NN_F32Tensor:$running_mean,
                       NN_F32Tensor:$running_var,
                       DefaultValuedAttr<F64Attr, "1e-5">:$eps,
                       DefaultValuedAttr<F64Attr, "0.1">:$momentum,
                       UnitAttr:$training);
  let results = (outs NN_F32Tensor:$result);
  let assemblyFormat = [{
    $input `,` $weight `,` $bias `,` $running_mean `,` $running_var attr-dict
    `:` functional-type(operands, results)
  }];
  let hasVerifier = 1;
}

def NN_ReshapeOp : NN_ForwardOp<"reshape"> {
  let summary = "the same elements in row-major order under another shape";
  let description = [{
    Flatten (`[N, C, H, W]` to `[N, C·H·W]`) and PyTorch's `reshape`/`view`
    on contiguous tensors. It moves no data: the lowering is a view of the
    same buffer.

    ```mlir
    %f = nn.reshape %x : tensor<128x64x7x7xf32> -> tensor<128x3136xf32>
    ```
  }];
  let arguments = (ins NN_FloatTensor:$input);
  let results = (outs NN_FloatTensor:$result);
  let assemblyFormat = "$input attr-dict `:` type($input) `->` type($result)";
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// Transformer layers
//===----------------------------------------------------------------------===//

def NN_EmbeddingOp : NN_ForwardOp<"embedding", [NN_InferType]> {
  let summary = "rows of a table picked by integer indices (a gather)";
  let description = [{
    PyTorch's `embedding(indices, table)`: `table` is `[V, D]`, `indices`
    any shape of i32 or i64 integers, the result `indices.shape + [D]`.
    An index outside `[0, V)` is an error the step reports through its
    result, never a read out of bounds: its row is NaN (so the loss that
    reads it is NaN), and it adds nothing to the table's gradient.

    ```mlir
    %e = nn.embedding %table, %tokens
        : (tensor<99x128xf32>, tensor<512x4xi64>) -> tensor<512x4x128xf32>
    ```
  }];
  let arguments = (ins NN_F32Tensor:$table, NN_LabelTensor:$indices);
  let results = (outs NN_F32Tensor:$result);
  let assemblyFormat = [{
    $table `,` $indices attr-dict `:` functional-type(operands, results)
  }];
  let hasVerifier = 1;
}

def NN_LayerNormOp : NN_ForwardOp<"layer_norm", [NN_InferType]> {
  let summary = "layer normalization over the last dimension";
  let description = [{
    PyTorch's `layer_norm(x, [D], weight, bias, eps)`: each row of the last
    dimension `D` is normalized by its own mean and biased variance, `(x -
    μ) / sqrt(σ² + eps) · weight + bias`, with `weight` and `bias` of shape
    `[D]`. The statistics are taken in f32, two passes over the row.

    ```mlir
    %y = nn.layer_norm %x, %gamma, %beta {eps = 1.0e-5}
        : (tensor<512x4x128xf32>, tensor<128xf32>, tensor<128xf32>)
        -> tensor<512x4x128xf32>
    ```
  }];
  let arguments = (ins NN_F32Tensor:$input, NN_F32Tensor:$weight,
                       NN_F32Tensor:$bias,
                       DefaultValuedAttr<F64Attr, "1e-5">:$eps);
  let results = (outs NN_F32Tensor:$result);
  let assemblyFormat = [{
    $input `,` $weight `,` $bias attr-dict `:` functional-type(operands, results)
  }];
  let hasVerifier = 1;
}

def NN_AttentionOp : NN_ForwardOp<"attention", [NN_InferType]> {
  let summary = "scaled dot-product attention that never stores the scores";
  let description = [{
    `softmax(scale · q kᵀ + mask) v` for each batch and head: `q` is `[B, H,
    Tq, Dk]`, `k` is `[B, H, Tk, Dk]`, `v` is `[B, H, Tk, Dv]`, the result
    `[B, H, Tq, Dv]`. The optional `mask` is an additive `[Tq, Tk]` f32
    tensor shared by every batch and head (-inf hides a key); `causal`
    hides key `j > i` from query `i` (PyTorch's lower-triangular mask). A
    query that sees no key gets a zero row.

    The forward runs the FlashAttention algorithm: blocks of queries
    against blocks of keys with an online softmax, so the `Tq × Tk` score
    matrix is never stored; the backward (`nn.attention_grad`) recomputes
    the blocks from `q`, `k`, `v` and the output. Its memory is `O(T · D)`,
    which is what the checkpoint planner counts: recomputation inside one
    op, the trade the planner makes between ops.

    ```mlir
    %o = nn.attention %q, %k, %v {scale = 0.17677669529663687, causal}
        : (tensor<8x4x64x32xf32>, tensor<8x4x64x32xf32>,
           tensor<8x4x64x32xf32>) -> tensor<8x4x64x32xf32>
    ```
  }];
  let arguments = (ins NN_F32Tensor:$query, NN_F32Tensor:$key,
                       NN_F32Tensor:$value, Optional<NN_F32Tensor>:$mask,
                       F64Attr:$scale, UnitAttr:$causal);
  let results = (outs NN_F32Tensor:$result);
  let assemblyFormat = [{
    $query `,` $key `,` $value (`,` $mask^)? attr-dict `:`
    functional-type(operands, results)
  }];
  let hasVerifier = 1;
}

def NN_TransposeOp : NN_ForwardOp<"transpose", [NN_InferType]> {
  let summary = "permutation of the dimensions";
  let description = [{
    PyTorch's `permute(permutation)` made contiguous: result dimension `i`
    is input dimension `permutation[i]`. Splitting heads is a reshape to
    `[B, T, H, D]` and the transpose `[0, 2, 1, 3]`.

    ```mlir
    %t = nn.transpose %x {permutation = array<i64: 0, 2, 1, 3>}
        : (tensor<8x64x4x32xf32>) -> tensor<8x4x64x32xf32>
    ```
  }];
  let arguments = (ins NN_F32Tensor:$input, DenseI64ArrayAttr:$permutation);
  let results = (outs NN_F32Tensor:$result);
  let assemblyFormat = "$input attr-dict `:` functional-type(operands, results)";
  let hasVerifier = 1;
}

def NN_SliceOp : NN_ForwardOp<"slice", [NN_InferType]> {
  let summary = "a strided box of a tensor (PyTorch's basic indexing)";
  let description = [{
    Per dimension, `sizes[d]` elements from `offsets[d]` every `strides[d]`
    (each at least 1): `x[:, -1]` of a `[B, T, D]` tensor is offsets `[0,
    T-1, 0]`, sizes `[B, 1, D]` (then `nn.reshape` to `[B, D]`). The box
    must lie inside the input. Its gradient scatters into zeros
    (`nn.slice_grad`).

    ```mlir
    %last = nn.slice %h {offsets = array<i64: 0, 3, 0>,
                         sizes = array<i64: 512, 1, 128>,
                         strides = array<i64: 1, 1, 1>}
        : (tensor<512x4x128xf32>) -> tensor<512x1x128xf32>
    ```
  }];
  let arguments = (ins NN_F32Tensor:$input, DenseI64ArrayAttr:$offsets,
                       DenseI64ArrayAttr:$sizes, DenseI64ArrayAttr:$strides);
  let results = (outs NN_F32Tensor:$result);
  let assemblyFormat = "$input attr-dict `:` functional-type(operands, results)";
  let hasVerifier = 1;
}

def NN_BroadcastOp : NN_ForwardOp<"broadcast"> {
  let summary = "copies of a tensor along new leading dimensions";
  let description = [{
    The result's shape is the input's with dimensions prepended, and every
    slice along them is the input (PyTorch's broadcasting of `[T, D]`
    onto `[B, T, D]`, e.g. a learned position embedding added to a
    batch). Its gradient sums over the new dimensions.

    ```mlir
    %p = nn.broadcast %pos : tensor<4x128xf32> -> tensor<512x4x128xf32>
    ```
  }];
  let arguments = (ins NN_F32Tensor:$input);
  let results = (outs NN_F32Tensor:$result);
  let assemblyFormat = "$input attr-dict `:` type($input) `->` type($result)";
  let hasVerifier = 1;
}

def NN_MulOp : NN_ForwardOp<"mul", [SameOperandsAndResultType]> {
  let summary = "elementwise product";
  let description = [{
    ```mlir
    %p = nn.mul %a, %b : tensor<512x128xf32>
    ```
  }];
  let arguments = (ins NN_FloatTensor:$lhs, NN_FloatTensor:$rhs);
  let results = (outs NN_FloatTensor:$result);
  let assemblyFormat = "$lhs `,` $rhs attr-dict `:` type($result)";
}

def NN_ScaleOp : NN_ForwardOp<"scale", [SameOperandsAndResultType]> {
  let summary = "elementwise product with a constant, x · factor";
  let description = [{
    ```mlir
    %s = nn.scale %x {factor = 0.125} : tensor<512x128xf32>
    ```
  }];
  let arguments = (ins NN_FloatTensor:$input, F64Attr:$factor);
  let results = (outs NN_FloatTensor:$result);
  let assemblyFormat = "$input attr-dict `:` type($result)";
  let hasVerifier = 1;
}

def NN_CastOp : NN_ForwardOp<"cast"> {
  let summary = "element type conversion between f32 and bf16";
  let description = [{
    Converts each element to the result's element type: f32 → bf16 rounds
    to nearest even (NaN stays NaN), bf16 → f32 is exact. What
    `nnc-mixed-precision` inserts where a bf16 value meets an op that
    reads f32 (or an f32 value meets a contraction reading bf16); its
    gradient is the cast back.

    ```mlir
    %h = nn.cast %x : tensor<128x784xf32> to tensor<128x784xbf16>
    ```
  }];
  let arguments = (ins NN_FloatTensor:$input);
  let results = (outs NN_FloatTensor:$result);
  let assemblyFormat = "$input attr-dict `:` type($input) `to` type($result)";
  let hasVerifier = 1;
}

def NN_MSELossOp : NN_ForwardOp<"mse_loss", [NN_InferType, NN_Loss]> {
  let summary = "mean squared error, mean over all elements";
  let description = [{
    PyTorch's `mse_loss(input, target, reduction='mean')`. The target is data
    and receives no gradient.

    ```mlir
    %l = nn.mse_loss %y, %t : (tensor<128x10xf32>, tensor<128x10xf32>) -> tensor<f32>
    ```
  }];
  let arguments = (ins NN_FloatTensor:$input, NN_F32Tensor:$target);
  let results = (outs NN_Scalar:$result);
  let assemblyFormat = "$input `,` $target attr-dict `:` functional-type(operands, results)";
  let hasVerifier = 1;
}

def NN_CrossEntropyOp : NN_ForwardOp<"cross_entropy",
                                    [NN_InferType, NN_Loss]> {
  let summary = "softmax cross-entropy with class labels, mean over the batch";
  let description = [{
    PyTorch's `cross_entropy(logits, labels)`: `logits` is `[batch, classes]`,
    `labels` holds one integer class index per row (i32 or i64). Labels
    outside `[0, classes)` are an error the step reports through its
    result: the loss is NaN, and such a row contributes no gradient (so a
    training step's update is that of the valid rows; a caller checks the
    loss).

    ```mlir
    %l = nn.cross_entropy %z, %labels : (tensor<128x10xf32>, tensor<128xi32>) -> tensor<f32>
    ```
  }];
  let arguments = (ins NN_FloatTensor:$logits, NN_LabelTensor:$labels);
  let results = (outs NN_Scalar:$result);
  let assemblyFormat = "$logits `,` $labels attr-dict `:` functional-type(operands, results)";
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// Backward ops (vector-Jacobian products emitted by nnc-autodiff)
//===----------------------------------------------------------------------===//

class NN_ActivationGradOp<string mnemonic, string savedName, string formula>
    : NN_GradOp<mnemonic, [SameOperandsAndResultType]> {
  let summary = "gradient of an activation: " # formula;
  let description = [{
    Vector-Jacobian product of the activation, computed from the value the
    forward pass saved (`}] # savedName # [{`) and the incoming gradient.

    ```mlir
    %dx = nn.}] # mnemonic # [{ %saved, %dy : tensor<128x100xf32>
    ```
  }];
  let arguments = (ins NN_FloatTensor:$saved, NN_FloatTensor:$grad);
  let results = (outs NN_FloatTensor:$result);
  let assemblyFormat = "$saved `,` $grad attr-dict `:` type($result)";
}

def NN_ReluGradOp : NN_ActivationGradOp<"relu_grad", "the output y",
                                        "y > 0 ? dy : 0">;
def NN_SigmoidGradOp : NN_ActivationGradOp<"sigmoid_grad", "the output y",
                                           "dy · y · (1 - y)">;
def NN_TanhGradOp : NN_ActivationGradOp<"tanh_grad", "the output y",
                                        "dy · (1 - y²)">;
def NN_GeluGradOp : NN_ActivationGradOp<"gelu_grad", "the input x",
                                        "dy · (Φ(x) + x · φ(x))">;
def NN_SoftmaxGradOp : NN_ActivationGradOp<"softmax_grad", "the output y",
                                           "y · (dy - Σ dy·y)"> {
  let hasVerifier = 1;
}

def NN_LeakyReluGradOp : NN_GradOp<"leaky_relu_grad",
                                   [SameOperandsAndResultType]> {
  let summary = "gradient of leaky_relu: y > 0 ? dy : alpha · dy";
  let description = [{
    Vector-Jacobian product of `nn.leaky_relu` from its output `y` and the
    incoming gradient.

    ```mlir
    %dx = nn.leaky_relu_grad %y, %dy {alpha = 0.01 : f32} : tensor<128x100xf32>
    ```
  }];
  let arguments = (ins NN_FloatTensor:$saved, NN_FloatTensor:$grad, F32Attr:$alpha);
  let results = (outs NN_FloatTensor:$result);
  let assemblyFormat = "$saved `,` $grad attr-dict `:` type($result)";
}

def NN_ReduceSumOp : NN_GradOp<"reduce_sum", [NN_InferType]> {
  let summary = "sum over one dimension";
  let description = [{
    Removes dimension `dim` by summation; the bias gradient is the batch sum
    of the output gradient.

    ```mlir
    %db = nn.reduce_sum %dy {dim = 0 : i64} : (tensor<128x100xf32>) -> tensor<100xf32>
    ```
  }];
  let arguments = (ins NN_FloatTensor:$input, I64Attr:$dim);
  let results = (outs NN_F32Tensor:$result);
  let assemblyFormat = "$input attr-dict `:` functional-type(operands, results)";
  let hasVerifier = 1;
}

def NN_Conv2dGradInputOp : NN_GradOp<"conv2d_grad_input"> {
  let summary = "gradient of conv2d with respect to its input";
  let description = [{
    The input gradient `[N, C, H, W]` (the result type) of the convolution
    with this geometry, from the output gradient `grad` `[N, K, OH, OW]` and
    the weight: a transposed convolution. The result type is explicit (a
    strided convolution maps several input sizes to one output size) and
    must be one whose forward convolution gives `grad`'s shape.

    ```mlir
    %dx = nn.conv2d_grad_input %dy, %w {padding = array<i64: 1, 1, 1, 1>}
        : (tensor<128x64x14x14xf32>, tensor<64x32x3x3xf32>) -> tensor<128x32x14x14xf32>
    ```
  }];
  let arguments = !con((ins NN_FloatTensor:$grad, NN_FloatTensor:$weight),
                       NN_ConvGeometry.attrs);
  let results = (outs NN_FloatTensor:$result);
  let assemblyFormat = "$grad `,` $weight attr-dict `:` functional-type(operands, results)";
  let hasVerifier = 1;
}

def NN_Conv2dGradWeightOp : NN_GradOp<"conv2d_grad_weight"> {
  let summary = "gradient of conv2d with respect to its weight";
  let description = [{
    The weight gradient `[K, C / groups, KH, KW]` (the result type) of the
    convolution with this geometry, from its forward `input` and the output
    gradient `grad`.

    ```mlir
    %dw = nn.conv2d_grad_weight %x, %dy {padding = array<i64: 1, 1, 1, 1>}
        : (tensor<128x32x14x14xf32>, tensor<128x64x14x14xf32>) -> tensor<64x32x3x3xf32>
    ```
  }];
  let arguments = !con((ins NN_FloatTensor:$input, NN_FloatTensor:$grad),
                       NN_ConvGeometry.attrs);
  let results = (outs NN_FloatTensor:$result);
  let assemblyFormat = "$input `,` $grad attr-dict `:` functional-type(operands, results)";
  let hasVerifier = 1;
}

def NN_ChannelSumOp : NN_GradOp<"channel_sum", [NN_InferType]> {
  let summary = "sum of an [N, C, ...] tensor over all but the channels";
  let description = [{
    The bias gradient of a convolution: `Σ_{n,h,w} grad[n, c, h, w]`, summed
    in row-major order.

    ```mlir
    %db = nn.channel_sum %dy : (tensor<128x64x14x14xf32>) -> tensor<64xf32>
    ```
  }];
  let arguments = (ins NN_FloatTensor:$input);
  let results = (outs NN_F32Tensor:$result);
  let assemblyFormat = "$input attr-dict `:` functional-type(operands, results)";
  let hasVerifier = 1;
}

def NN_BatchNormGradOp : NN_GradOp<"batch_norm_grad",
    [AllTypesMatch<["input", "grad", "result"]>,
     DeclareOpInterfaceMethods<NN_CostOpInterface, ["getScratchBytes"]>]> {
  let summary = "input gradient of a training-mode batch_norm";
  let description = [{
    `(dy - Σdy / M - x̂ · Σ(dy · x̂) / M) · weight / sqrt(σ² + eps)` per
    channel, x̂ the normalized input and M the elements per channel; the
    batch statistics are taken again from `input` (in f64, as the forward).

    ```mlir
    %dx = nn.batch_norm_grad %x, %gamma, %dy : (tensor<8x4x5x5xf32>,
        tensor<4xf32>, tensor<8x4x5x5xf32>) -> tensor<8x4x5x5xf32>
    ```
  }];
  let arguments = (ins NN_F32Tensor:$input, NN_F32Tensor:$weight,
                       NN_F32Tensor:$grad,
                       DefaultValuedAttr<F64Attr, "1e-5">:$eps);
  let results = (outs NN_F32Tensor:$result);
  let assemblyFormat = "$input `,` $weight `,` $grad attr-dict `:` functional-type(operands, results)";
  let hasVerifier = 1;
}

def NN_BatchNormGradWeightOp : NN_GradOp<"batch_norm_grad_weight",
    [NN_InferType,
     DeclareOpInterfaceMethods<NN_CostOpInterface, ["getScratchBytes"]>]> {
  let summary = "weight gradient of a training-mode batch_norm, Σ dy · x̂";
  let description = [{
    Per channel, the sum of the output gradient times the normalized input.

    ```mlir
    %dg = nn.batch_norm_grad_weight %x, %dy : (tensor<8x4x5x5xf32>,
        tensor<8x4x5x5xf32>) -> tensor<4xf32>
    ```
  }];
  let arguments = (ins NN_F32Tensor:$input, NN_F32Tensor:$grad,
                       DefaultValuedAttr<F64Attr, "1e-5">:$eps);
  let results = (outs NN_F32Tensor:$result);
  let assemblyFormat = "$input `,` $grad attr-dict `:` functional-type(operands, results)";
  let hasVerifier = 1;
}

def NN_RunningStatUpdateOp : NN_GradOp<"running_stat_update",
    [NN_InferType,
     DeclareOpInterfaceMethods<NN_CostOpInterface, ["getScratchBytes"]>]> {
  let summary = "a batch norm's updated running mean or variance";
  let description = [{
    `(1 - momentum) · stat + momentum · m` where `m` is the batch's mean of
    `input` per channel, or with `variance` its unbiased variance (PyTorch's
    update). Emitted by `nnc-autodiff` for each training-mode
    `nn.batch_norm` (see there).

    ```mlir
    %rv2 = nn.running_stat_update %x, %rv {momentum = 0.1, variance}
        : (tensor<8x4x5x5xf32>, tensor<4xf32>) -> tensor<4xf32>
    ```
  }];
  let arguments = (ins NN_F32Tensor:$input, NN_F32Tensor:$stat,
                       F64Attr:$momentum, UnitAttr:$variance);
  let results = (outs NN_F32Tensor:$result);
  let assemblyFormat = "$input `,` $stat attr-dict `:` functional-type(operands, results)";
  let hasVerifier = 1;
}

def NN_MaxPool2dGradOp : NN_GradOp<"max_pool2d_grad"> {
  let summary = "gradient of max_pool2d: each window's gradient to its first maximum";
  let description = [{
    From the forward `input` and the output gradient `grad`; the result has
    the input's type. Overlapping windows add up.

    ```mlir
    %dx = nn.max_pool2d_grad %x, %dy {kernel = array<i64: 2, 2>, strides = array<i64: 2, 2>}
        : (tensor<128x32x28x28xf32>, tensor<128x32x14x14xf32>) -> tensor<128x32x28x28xf32>
    ```
  }];
  let arguments = (ins NN_FloatTensor:$input, NN_FloatTensor:$grad,
                       DenseI64ArrayAttr:$kernel, DenseI64ArrayAttr:$strides,
                       DefaultValuedAttr<DenseI64ArrayAttr, "{0, 0, 0, 0}">:$padding);
  let results = (outs NN_FloatTensor:$result);
  let assemblyFormat = "$input `,` $grad attr-dict `:` functional-type(operands, results)";
  let hasVerifier = 1;
}

def NN_AvgPool2dGradOp : NN_GradOp<"avg_pool2d_grad"> {
  let summary = "gradient of avg_pool2d";
  let description = [{
    Spreads each window's gradient evenly over it (divided as the forward
    divides); the result type is the forward input's.

    ```mlir
    %dx = nn.avg_pool2d_grad %dy {kernel = array<i64: 7, 7>, strides = array<i64: 1, 1>}
        : (tensor<128x64x1x1xf32>) -> tensor<128x64x7x7xf32>
    ```
  }];
  let arguments = (ins NN_FloatTensor:$grad, DenseI64ArrayAttr:$kernel,
                       DenseI64ArrayAttr:$strides,
                       DefaultValuedAttr<DenseI64ArrayAttr, "{0, 0, 0, 0}">:$padding,
                       UnitAttr:$count_include_pad);
  let results = (outs NN_FloatTensor:$result);
  let assemblyFormat = "$grad attr-dict `:` functional-type(operands, results)";
  let hasVerifier = 1;
}

def NN_EmbeddingGradOp : NN_GradOp<"embedding_grad"> {
  let summary = "gradient of an embedding table: a scatter-add of rows";
  let description = [{
    The `[V, D]` table gradient of `nn.embedding`: row `v` is the sum of the
    incoming gradient's rows whose index is `v`, added in index order (so
    the result does not depend on threads). Out-of-range indices add
    nothing.

    ```mlir
    %dt = nn.embedding_grad %tokens, %de
        : (tensor<512x4xi64>, tensor<512x4x128xf32>) -> tensor<99x128xf32>
    ```
  }];
  let arguments = (ins NN_LabelTensor:$indices, NN_F32Tensor:$grad);
  let results = (outs NN_F32Tensor:$result);
  let assemblyFormat = [{
    $indices `,` $grad attr-dict `:` functional-type(operands, results)
  }];
  let hasVerifier = 1;
}

def NN_LayerNormGradOp : NN_GradOp<"layer_norm_grad"> {
  let summary = "gradient of layer normalization with respect to its input";
  let description = [{
    `dx = rstd · (g - mean(g) - x̂ · mean(g · x̂))` per row, with `g = dy ·
    weight`, `x̂` the normalized input and `rstd = 1 / sqrt(σ² + eps)`
    recomputed from `input`.

    ```mlir
    %dx = nn.layer_norm_grad %x, %gamma, %dy {eps = 1.0e-5}
        : (tensor<512x128xf32>, tensor<128xf32>, tensor<512x128xf32>)
        -> tensor<512x128xf32>
    ```
  }];
  let arguments = (ins NN_F32Tensor:$input, NN_F32Tensor:$weight,
                       NN_F32Tensor:$grad, F64Attr:$eps);
  let results = (outs NN_F32Tensor:$result);
  let assemblyFormat = [{
    $input `,` $weight `,` $grad attr-dict `:` functional-type(operands, results)
  }];
  let hasVerifier = 1;
}

def NN_LayerNormGradWeightOp : NN_GradOp<"layer_norm_grad_weight",
                                         [NN_InferType]> {
  let summary = "gradient of layer normalization's weight, Σ dy · x̂";
  let description = [{
    Summed over every row (all but the last dimension), in row order.

    ```mlir
    %dg = nn.layer_norm_grad_weight %x, %dy {eps = 1.0e-5}
        : (tensor<512x128xf32>, tensor<512x128xf32>) -> tensor<128xf32>
    ```
  }];
  let arguments = (ins NN_F32Tensor:$input, NN_F32Tensor:$grad, F64Attr:$eps);
  let results = (outs NN_F32Tensor:$result);
  let assemblyFormat = [{
    $input `,` $grad attr-dict `:` functional-type(operands, results)
  }];
  let hasVerifier = 1;
}

def NN_AttentionGradOp : NN_GradOp<"attention_grad"> {
  let summary = "gradients of nn.attention's query, key and value";
  let description = [{
    The FlashAttention backward: for each block of keys it recomputes the
    probabilities from `q`, `k` and each query's log-sum-exp (itself
    recomputed, one pass over the keys), and accumulates `dq`, `dk` and
    `dv` with `rowsum(dout · out)`; the score matrix is never stored. The
    attributes and `mask` are the forward's.

    ```mlir
    %dq, %dk, %dv = nn.attention_grad %q, %k, %v, %o, %do {scale = 0.25}
        : (tensor<8x4x64x16xf32>, tensor<8x4x64x16xf32>, tensor<8x4x64x16xf32>,
           tensor<8x4x64x16xf32>, tensor<8x4x64x16xf32>)
        -> (tensor<8x4x64x16xf32>, tensor<8x4x64x16xf32>, tensor<8x4x64x16xf32>)
    ```
  }];
  let arguments = (ins NN_F32Tensor:$query, NN_F32Tensor:$key,
                       NN_F32Tensor:$value, NN_F32Tensor:$output,
                       NN_F32Tensor:$grad, Optional<NN_F32Tensor>:$mask,
                       F64Attr:$scale, UnitAttr:$causal);
  let results = (outs NN_F32Tensor:$grad_query, NN_F32Tensor:$grad_key,
                      NN_F32Tensor:$grad_value);
  let assemblyFormat = [{
    $query `,` $key `,` $value `,` $output `,` $grad (`,` $mask^)? attr-dict
    `:` functional-type(operands, results)
  }];
  let hasVerifier = 1;
}

def NN_SliceGradOp : NN_GradOp<"slice_grad"> {
  let summary = "gradient of nn.slice: the box's gradient, zeros elsewhere";
  let description = [{
    ```mlir
    %dh = nn.slice_grad %dlast {offsets = array<i64: 0, 3, 0>,
                                sizes = array<i64: 512, 1, 128>,
                                strides = array<i64: 1, 1, 1>}
        : (tensor<512x1x128xf32>) -> tensor<512x4x128xf32>
    ```
  }];
  let arguments = (ins NN_F32Tensor:$grad, DenseI64ArrayAttr:$offsets,
                       DenseI64ArrayAttr:$sizes, DenseI64ArrayAttr:$strides);
  let results = (outs NN_F32Tensor:$result);
  let assemblyFormat = "$grad attr-dict `:` functional-type(operands, results)";
  let hasVerifier = 1;
}

def NN_MSELossGradOp : NN_GradOp<"mse_loss_grad", [NN_InferType]> {
  let summary = "gradient of mse_loss: 2 (input - target) / N · dloss";
  let description = [{
    ```mlir
    %d = nn.mse_loss_grad %y, %t, %dl
        : (tensor<128x10xf32>, tensor<128x10xf32>, tensor<f32>) -> tensor<128x10xf32>
    ```
  }];
  let arguments = (ins NN_FloatTensor:$input, NN_F32Tensor:$target,
                       NN_Scalar:$grad);
  let results = (outs NN_FloatTensor:$result);
  let assemblyFormat = "$input `,` $target `,` $grad attr-dict `:` functional-type(operands, results)";
  let hasVerifier = 1;
}

def NN_CrossEntropyGradOp : NN_GradOp<"cross_entropy_grad",
                                      [NN_InferType]> {
  let summary = "gradient of cross_entropy: (softmax(z) - onehot) / batch · dloss";
  let description = [{
    ```mlir
    %d = nn.cross_entropy_grad %z, %labels, %dl
        : (tensor<128x10xf32>, tensor<128xi32>, tensor<f32>) -> tensor<128x10xf32>
    ```
  }];
  let arguments = (ins NN_FloatTensor:$logits, NN_LabelTensor:$labels,
                       NN_Scalar:$grad);
  let results = (outs NN_FloatTensor:$result);
  let assemblyFormat = "$logits `,` $labels `,` $grad attr-dict `:` functional-type(operands, results)";
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// Optimizer steps (the tail of a training step: one op per parameter)
//===----------------------------------------------------------------------===//

// Every optimizer op reads one parameter (operand 0) and its complete
// gradient (operand 1), and returns the updated parameter first, then the
// updated optimizer state in operand order. Optimizer state, the learning
// rate and the step count are function arguments of the training step
// (caller-owned, like the parameters); each update is elementwise, so a
// caller may pass the same buffer as a state input and its updated output
// (and as a parameter and its updated output) to update in place.
// Hyper-parameters are f64 attributes, as PyTorch's are Python floats; the
// lowering rounds each derived coefficient to f32 once.
class NN_OptimizerOp<string mnemonic, list<Trait> traits = []>
    : NN_GradOp<mnemonic, !listconcat(traits, [
        DeclareOpInterfaceMethods<NN_OptimizerOpInterface>])>;

def NN_SGDOp : NN_OptimizerOp<"sgd",
    [AllTypesMatch<["param", "grad", "result"]>]> {
  let summary = "stochastic gradient descent step, w - lr · (g + λ·w)";
  let description = [{
    PyTorch's `torch.optim.SGD` without momentum: `lr` is a rank-0 tensor
    read at run time (a function argument, or a constant for a fixed rate),
    so a learning-rate schedule needs no recompilation. With the default
    `weight_decay` λ = 0 the result is exactly `w - lr · g`. The lowering is
    a plain elementwise `linalg.generic`.

    ```mlir
    %w2 = nn.sgd %w, %dw, %lr : tensor<100x784xf32>
    %w3 = nn.sgd %w, %dw, %lr {weight_decay = 5.0e-4} : tensor<100x784xf32>
    ```
  }];
  let arguments = (ins NN_F32Tensor:$param, NN_F32Tensor:$grad, NN_ScalarOperand:$lr,
                       DefaultValuedAttr<F64Attr, "0.0">:$weight_decay);
  let results = (outs NN_F32Tensor:$result);
  let assemblyFormat = "$param `,` $grad `,` $lr attr-dict `:` type($result)";
  let hasVerifier = 1;
}

def NN_MomentumUpdateOp : NN_OptimizerOp<"momentum_update",
    [AllTypesMatch<["param", "grad", "velocity", "new_param",
                    "new_velocity"]>]> {
  let summary = "SGD with momentum (heavy ball or Nesterov)";
  let description = [{
    PyTorch's `torch.optim.SGD(momentum=μ, nesterov=..., weight_decay=λ,
    dampening=0)`, one step on one parameter, with the velocity (PyTorch's
    momentum buffer) as explicit state:

    ```
    d  = g + λ·w
    v' = μ·v + d
    w' = w - lr · (nesterov ? d + μ·v' : v')
    ```

    A zero initial velocity gives PyTorch's first step exactly (it starts
    the buffer at `d`, which is `μ·0 + d`).

    ```mlir
    %w2, %v2 = nn.momentum_update %w, %dw, %v, %lr {momentum = 0.9}
        : tensor<100x784xf32>
    %w3, %v3 = nn.momentum_update %w, %dw, %v, %lr {momentum = 0.9, nesterov}
        : tensor<100x784xf32>
    ```
  }];
  let arguments = (ins NN_F32Tensor:$param, NN_F32Tensor:$grad,
                       NN_F32Tensor:$velocity, NN_ScalarOperand:$lr,
                       F64Attr:$momentum, UnitAttr:$nesterov,
                       DefaultValuedAttr<F64Attr, "0.0">:$weight_decay);
  let results = (outs NN_F32Tensor:$new_param, NN_F32Tensor:$new_velocity);
  let assemblyFormat = [{
    $param `,` $grad `,` $velocity `,` $lr attr-dict `:` type($new_param)
  }];
  let hasVerifier = 1;
}

def NN_AdamUpdateOp : NN_OptimizerOp<"adam_update",
    [AllTypesMatch<["param", "grad", "m", "v", "new_param", "new_m",
                    "new_v"]>]> {
  let summary = "Adam step with bias correction";
  let description = [{
    PyTorch's `torch.optim.Adam(betas=(β1, β2), eps=ε, weight_decay=λ,
    amsgrad=False)`, one step on one parameter. `m` and `v` are the first
    and second moment estimates (zero before the first step); `step` is the
    1-based step count `t` as a rank-0 f32 tensor (exact up to 2^24), read
    at run time like `lr`:

    ```
    d  = g + λ·w
    m' = β1·m + (1 - β1)·d
    v' = β2·v + (1 - β2)·d²
    w' = w - (lr / (1 - β1^t)) · m' / (sqrt(v') / sqrt(1 - β2^t) + ε)
    ```

    The bias corrections are computed once per op in f64 and rounded to
    f32, as PyTorch computes them in Python floats.

    With `decoupled` it is `torch.optim.AdamW` instead: the weight decay
    leaves the gradient (`d = g`) and shrinks the weight first, `w ← w · (1
    - lr·λ)`, before the step above.

    ```mlir
    %w2, %m2, %v2 = nn.adam_update %w, %dw, %m, %v, %lr, %t
        {beta1 = 0.9, beta2 = 0.999, eps = 1.0e-8} : tensor<100x784xf32>
    ```
  }];
  let arguments = (ins NN_F32Tensor:$param, NN_F32Tensor:$grad,
                       NN_F32Tensor:$m, NN_F32Tensor:$v, NN_ScalarOperand:$lr,
                       NN_ScalarOperand:$step, F64Attr:$beta1, F64Attr:$beta2,
                       F64Attr:$eps,
                       DefaultValuedAttr<F64Attr, "0.0">:$weight_decay,
                       UnitAttr:$decoupled);
  let results = (outs NN_F32Tensor:$new_param, NN_F32Tensor:$new_m,
                      NN_F32Tensor:$new_v);
  let assemblyFormat = [{
    $param `,` $grad `,` $m `,` $v `,` $lr `,` $step attr-dict `:`
    type($new_param)
  }];
  let hasVerifier = 1;
}

def NN_LarsUpdateOp : NN_OptimizerOp<"lars_update",
    [AllTypesMatch<["param", "grad", "velocity", "new_param",
                    "new_velocity"]>]> {
  let summary = "SGD with momentum and a layer-wise trust ratio (LARS)";
  let description = [{
    Layer-wise Adaptive Rate Scaling (You, Gitman and Ginsburg, "Large
    Batch Training of Convolutional Networks", 2017), one step on one
    parameter tensor (a "layer"), with PyTorch's momentum form around it
    (NVIDIA apex's LARC in scaling mode followed by `torch.optim.SGD`):

    ```
    trust = η·‖w‖ / (‖g‖ + λ·‖w‖)     (1 when ‖w‖ or ‖g‖ is 0)
    d  = trust · (g + λ·w)
    v' = μ·v + d
    w' = w - lr · v'
    ```

    The paper folds `lr` into `v`; with a constant rate the two forms are
    the same step, and this one keeps a learning-rate schedule's change out
    of the velocity, as PyTorch's SGD does. The norms are sums of squares in
    f64 in row-major order (as `nn.norm`), and `trust` is computed in f64
    and rounded to f32 once: the step is deterministic.

    ```mlir
    %w2, %v2 = nn.lars_update %w, %dw, %v, %lr
        {momentum = 0.9, trust_coefficient = 1.0e-3, weight_decay = 5.0e-4}
        : tensor<100x784xf32>
    ```
  }];
  let arguments = (ins NN_F32Tensor:$param, NN_F32Tensor:$grad,
                       NN_F32Tensor:$velocity, NN_ScalarOperand:$lr,
                       F64Attr:$momentum, F64Attr:$trust_coefficient,
                       DefaultValuedAttr<F64Attr, "0.0">:$weight_decay);
  let results = (outs NN_F32Tensor:$new_param, NN_F32Tensor:$new_velocity);
  let assemblyFormat = [{
    $param `,` $grad `,` $velocity `,` $lr attr-dict `:` type($new_param)
  }];
  let hasVerifier = 1;
}

def NN_LambUpdateOp : NN_OptimizerOp<"lamb_update",
    [AllTypesMatch<["param", "grad", "m", "v", "new_param", "new_m",
                    "new_v"]>]> {
  let summary = "Adam direction with a layer-wise trust ratio (LAMB)";
  let description = [{
    Layer-wise Adaptive Moments for Batch training (You et al., "Large
    Batch Optimization for Deep Learning: Training BERT in 76 minutes",
    2019, Algorithm 2 with bias correction and φ the identity), one step on
    one parameter tensor:

    ```
    m' = β1·m + (1 - β1)·g
    v' = β2·v + (1 - β2)·g²
    r  = (m' / (1 - β1^t)) / (sqrt(v' / (1 - β2^t)) + ε) + λ·w
    trust = ‖w‖ / ‖r‖                 (1 when ‖w‖ or ‖r‖ is 0)
    w' = w - lr · trust · r
    ```

    The weight decay is decoupled (part of `r`, not of the moments), as in
    the paper. `r` is not stored: the lowering computes it twice, for its
    norm and for the update, with the same operations. Norms are f64 sums
    of squares in row-major order and `trust` is rounded to f32 once.

    ```mlir
    %w2, %m2, %v2 = nn.lamb_update %w, %dw, %m, %v, %lr, %t
        {beta1 = 0.9, beta2 = 0.999, eps = 1.0e-6, weight_decay = 0.01}
        : tensor<100x784xf32>
    ```
  }];
  let arguments = (ins NN_F32Tensor:$param, NN_F32Tensor:$grad,
                       NN_F32Tensor:$m, NN_F32Tensor:$v, NN_ScalarOperand:$lr,
                       NN_ScalarOperand:$step, F64Attr:$beta1, F64Attr:$beta2,
                       F64Attr:$eps,
                       DefaultValuedAttr<F64Attr, "0.0">:$weight_decay);
  let results = (outs NN_F32Tensor:$new_param, NN_F32Tensor:$new_m,
                      NN_F32Tensor:$new_v);
  let assemblyFormat = [{
    $param `,` $grad `,` $m `,` $v `,` $lr `,` $step attr-dict `:`
    type($new_param)
  }];
  let hasVerifier = 1;
}

def NN_NormOp : NN_GradOp<"norm"> {
  let summary = "Euclidean norm of a tensor, ‖x‖₂";
  let description = [{
    `sqrt(Σ x²)` over all elements. The sum runs in row-major element order
    in an f64 accumulator and the square root is taken in f64, then rounded
    to f32: the result is deterministic and accurate to f32 rounding for
    any size (an f32 running sum over 78,400 elements would lose about
    four digits). `nnc-autodiff{grad-norms}` applies it to each parameter's
    gradient inside the training step.

    ```mlir
    %n = nn.norm %dw : tensor<100x784xf32> -> tensor<f32>
    ```
  }];
  let arguments = (ins NN_F32Tensor:$input);
  let results = (outs NN_Scalar:$result);
  let assemblyFormat = "$input attr-dict `:` type($input) `->` type($result)";
}

def NN_SGDMatmulOp : NN_GradOp<"sgd_matmul", [NN_InferType]> {
  let summary = "an SGD step whose gradient is a matrix product, "
                "w - lr · op(lhs) · op(rhs)";
  let description = [{
    What `nnc-fuse-updates` makes of `nn.sgd %w, (nn.matmul %lhs, %rhs)`
    when the product is the whole gradient of `w` (a linear layer's weight:
    `dW = δᵀ · x`): one contraction accumulating `-lr · op(lhs) · op(rhs)`
    onto a copy of `w`, so the weight gradient is never materialized. The
    checkpoint planner counts no gradient buffer for such a weight.

    `lr` is the step's rank-0 learning rate, as for `nn.sgd` (only an SGD
    step without weight decay is fused).

    ```mlir
    %w2 = nn.sgd_matmul %w, %dy, %x, %lr {transpose_lhs}
        : (tensor<100x784xf32>, tensor<128x100xf32>, tensor<128x784xf32>,
           tensor<f32>) -> tensor<100x784xf32>
    ```
  }];
  let arguments = (ins NN_F32Tensor:$param, NN_FloatTensor:$lhs,
                       NN_FloatTensor:$rhs, NN_ScalarOperand:$lr,
                       UnitAttr:$transpose_lhs, UnitAttr:$transpose_rhs);
  let results = (outs NN_F32Tensor:$result);
  let assemblyFormat = [{
    $param `,` $lhs `,` $rhs `,` $lr attr-dict `:` functional-type(operands, results)
  }];
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// Lowering ops
//===----------------------------------------------------------------------===//

def NN_ProfileMarkOp : NN_Op<"profile_mark",
    // It reads the clock: it must neither be removed nor moved.
    [MemoryEffects<[MemRead, MemWrite]>]> {
  let summary = "record the time at a point of the step";
  let description = [{
    Records the current time under `id` in the CPU runtime's profile
    (`nncrt_profile_mark`). `nnc-profile-stages` puts one wherever the step
    moves from one kind of work to another (a stage's first forward, a
    recomputation of a stage, the rest), so the cost calibration
    (`--cost-model=measured`) reads each stage's forward time, its
    recomputation's and the backward's in the step's own code. It has no
    operands and survives `convert-nn-to-linalg`; `nnc-lower-runtime-calls`
    makes it the call.

    ```mlir
    nn.profile_mark {id = 1 : i64}
    ```
  }];
  let arguments = (ins I64Attr:$id);
  let assemblyFormat = "attr-dict";
}

def NN_RuntimeCallOp : NN_Op<"runtime_call", [AttrSizedOperandSegments,
    DestinationStyleOpInterface,
    DeclareOpInterfaceMethods<MemoryEffectsOpInterface>,
    DeclareOpInterfaceMethods<BufferizableOpInterface,
        ["bufferizesToMemoryRead", "bufferizesToMemoryWrite",
         "getAliasingValues", "bufferize"]>]> {
  let summary = "a call of a function of nnc's run-time library";
  let description = [{
    What convert-nn-to-linalg makes of an nn op that a library primitive
    computes better than a loop nest (oneDNN's convolutions and pooling on
    the CPU): a destination-style op, on tensors and then on the buffers
    bufferization gives it, so the memory planner places its operands in
    the arena like any other buffer. `callee` names a function of the
    run-time ABI (Codegen/Common/RuntimeABI.h); the target lowers the op to
    a call of it. The callee's arguments are, in its order: each pointer
    argument the operand `pointers` names (its index in `inputs` then
    `outputs`; -1 is a null pointer), each other argument the next of
    `scalars`, which must have its exact type. `outputs` are written whole.

    `workspace`, when present, is the index of the last output, which no
    pointer names: a 1-D i8 buffer the call may use as scratch memory. The CPU
    target hands it to the runtime (`nncrt_use_workspace`) just before the
    call; nnc-plan-runtime-workspaces adds it where a oneDNN primitive
    needs one, so that the arena planner places it like any other buffer,
    live for the call alone.

    ```mlir
    %y = nn.runtime_call "nncrt_pool2d_forward" ins(%x : tensor<1x1x4x4xf32>)
        outs(%e : tensor<1x1x2x2xf32>)
        {pointers = array<i64: 0, 1>,
         scalars = [0 : i32, 1, 1, 4, 4, 2, 2, 2, 2, 2, 2, 0, 0, 0, 0]}
        -> tensor<1x1x2x2xf32>
    ```
  }];
  let arguments = (ins StrAttr:$callee, Variadic<AnyShaped>:$inputs,
                       Variadic<AnyShaped>:$outputs,
                       DenseI64ArrayAttr:$pointers, ArrayAttr:$scalars,
                       OptionalAttr<I64Attr>:$workspace);
  let results = (outs Variadic<AnyRankedTensor>:$results);
  let builders = [
    // A call without a workspace (what the lowerings create).
    OpBuilder<(ins "::mlir::TypeRange":$results, "::mlir::StringAttr":$callee,
                   "::mlir::ValueRange":$inputs, "::mlir::ValueRange":$outputs,
                   "::mlir::DenseI64ArrayAttr":$pointers,
                   "::mlir::ArrayAttr":$scalars), [{
      build($_builder, $_state, results, callee, inputs, outputs, pointers,
            scalars, /*workspace=*/nullptr);
    }]>
  ];
  let assemblyFormat = [{
    $callee (`ins` `(` $inputs^ `:` type($inputs) `)`)?
    `outs` `(` $outputs `:` type($outputs) `)` attr-dict
    (`->` type($results)^)?
  }];
  let extraClassDeclaration = [{
    ::mlir::MutableOperandRange getDpsInitsMutable() {
      return getOutputsMutable();
    }
  }];
  let hasVerifier = 1;
}

include "nnc/Dialect/NN/IR/NNDistributedOps.td"
include "nnc/Dialect/NN/IR/NNLossScalingOps.td"
include "nnc/Dialect/NN/IR/NNMaxPoolIndexOps.td"

#endif // NNC_DIALECT_NN_IR_NNOPS_TD
