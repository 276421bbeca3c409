//===- NNMaxPoolIndexOps.td - max pooling with saved indices -*- tablegen -*-===//
//
// Part of nnc, under the Apache License v2.0 with LLVM Exceptions.
// See LICENSE for license information.
//
// The index form of max pooling that nnc-max-pool-indices gives a CPU
// training step (docs/Convolutions.md, "Max pooling's saved indices"): the
// forward records, per output, where its window's first maximum is, and the
// backward reads those one-byte positions and dy instead of x and dy.
// Included at the end of NNOps.td (NN_Op, NN_ForwardOp are defined there).
//
//===----------------------------------------------------------------------===//

#ifndef NNC_DIALECT_NN_IR_NNMAXPOOLINDEXOPS_TD
#define NNC_DIALECT_NN_IR_NNMAXPOOLINDEXOPS_TD

// One byte per output: a position in a window of at most 256 elements.
def NN_PoolIndexTensor : StaticShapeTensorOf<[I8]>;

def NN_PoolGeometryArgs {
  dag attrs = (ins DenseI64ArrayAttr:$kernel, DenseI64ArrayAttr:$strides,
                   DefaultValuedAttr<DenseI64ArrayAttr, "{0, 0, 0, 0}">:$padding);
}

def NN_MaxPool2dIndicesOp : NN_ForwardOp<"max_pool2d_indices"> {
  let summary = "where each max_pool2d window's first maximum is";
  let description = [{
    For `nn.max_pool2d` of `input` with the same `kernel`, `strides` and
    `padding`: per output element, the position `kh · KW + kw` in its
    window (the padded window, so a window of at most 256 elements, whose
    positions an `i8` holds as 0 to 255) of the element PyTorch's rule
    picks, the first maximum in row-major order, a NaN winning (`v > max ||
    isnan(v)`). The positions are a workspace for the gradient, as
    oneDNN's max-pooling workspace: only `nn.max_pool2d_indexed` and
    `nn.max_pool2d_indexed_grad` read them. Not differentiable (positions
    are piecewise constant).

    ```mlir
    %i = nn.max_pool2d_indices %x {kernel = array<i64: 2, 2>, strides = array<i64: 2, 2>}
        : (tensor<128x32x28x28xf32>) -> tensor<128x32x14x14xi8>
    ```
  }];
  let arguments = !con((ins NN_FloatTensor:$input),
                       NN_PoolGeometryArgs.attrs);
  let results = (outs NN_PoolIndexTensor:$result);
  let assemblyFormat = "$input attr-dict `:` functional-type(operands, results)";
  let hasVerifier = 1;
}

def NN_MaxPool2dIndexedOp : NN_ForwardOp<"max_pool2d_indexed"> {
  let summary = "max_pool2d whose gradient reads saved window positions";
  let description = [{
    The same values as `nn.max_pool2d` of `input` (its result has the
    input's element type), carrying `indices`, which must be
    `nn.max_pool2d_indices` of the same input and geometry: its gradient
    is `nn.max_pool2d_indexed_grad` of those positions and the output
    gradient, which does not read `input`. So the checkpoint planner
    prices the one-byte positions as what the backward keeps, not the
    input, and a recomputed forward writes the same positions (the same
    kernel on the same values). On the CPU the two ops are one runtime
    call that writes both.

    ```mlir
    %y = nn.max_pool2d_indexed %x, %i {kernel = array<i64: 2, 2>, strides = array<i64: 2, 2>}
        : (tensor<128x32x28x28xf32>, tensor<128x32x14x14xi8>) -> tensor<128x32x14x14xf32>
    ```
  }];
  let arguments = !con((ins NN_FloatTensor:$input, NN_PoolIndexTensor:$indices),
                       NN_PoolGeometryArgs.attrs);
  let results = (outs NN_FloatTensor:$result);
  let assemblyFormat =
      "$input `,` $indices attr-dict `:` functional-type(operands, results)";
  let hasVerifier = 1;
}

def NN_MaxPool2dIndexedGradOp : NN_GradOp<"max_pool2d_indexed_grad"> {
  let summary = "gradient of max_pool2d_indexed, from the saved positions";
  let description = [{
    Each output gradient in `grad` goes to the input element its window's
    position in `indices` names; overlapping windows add up in row-major
    window order, in f32 from +0 (rounded once for bf16): the same bits
    as `nn.max_pool2d_grad` of the input the positions were taken from.
    The result has the forward input's type.

    ```mlir
    %dx = nn.max_pool2d_indexed_grad %i, %dy {kernel = array<i64: 2, 2>, strides = array<i64: 2, 2>}
        : (tensor<128x32x14x14xi8>, tensor<128x32x14x14xf32>) -> tensor<128x32x28x28xf32>
    ```
  }];
  let arguments = !con((ins NN_PoolIndexTensor:$indices, NN_FloatTensor:$grad),
                       NN_PoolGeometryArgs.attrs);
  let results = (outs NN_FloatTensor:$result);
  let assemblyFormat =
      "$indices `,` $grad attr-dict `:` functional-type(operands, results)";
  let hasVerifier = 1;
}

#endif // NNC_DIALECT_NN_IR_NNMAXPOOLINDEXOPS_TD
