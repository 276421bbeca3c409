//===- NNLossScalingOps.td - dynamic loss scaling ----------*- tablegen -*-===//
//
// Part of nnc, under the Apache License v2.0 with LLVM Exceptions.
// See LICENSE for license information.
//
// What nnc-loss-scaling adds to a training step (docs/MixedPrecision.md,
// "Dynamic loss scaling"): the gradients are unscaled, checked for inf and
// NaN together, and every update is kept only if all were finite; the scale
// state then moves as PyTorch's GradScaler moves it. Included at the end of
// NNOps.td (NN_Op is defined there).
//
//===----------------------------------------------------------------------===//

#ifndef NNC_DIALECT_NN_IR_NNLOSSSCALINGOPS_TD
#define NNC_DIALECT_NN_IR_NNLOSSSCALINGOPS_TD

def NN_UnscaleOp : NN_GradOp<"unscale", [AllTypesMatch<["grad", "result"]>]> {
  let summary = "a gradient of the scaled loss divided by the scale, g · (1/s)";
  let description = [{
    Multiplies every element by the reciprocal of the rank-0 `scale`,
    computed once in f32, as GradScaler's `unscale_` does (for the powers
    of two dynamic loss scaling uses, exactly g / s).

    ```mlir
    %g = nn.unscale %dw, %scale : tensor<100x784xf32>, tensor<f32>
    ```
  }];
  let arguments = (ins NN_F32Tensor:$grad, NN_Scalar:$scale);
  let results = (outs NN_F32Tensor:$result);
  let assemblyFormat =
      "$grad `,` $scale attr-dict `:` type($result) `,` type($scale)";
}

def NN_AllFiniteOp : NN_GradOp<"all_finite"> {
  let summary = "1 if every element of every operand is finite, else 0";
  let description = [{
    One f32 accumulator over all operands, adding `x · 0` for each element
    in order: that is ±0 for a finite x and NaN for an infinity or a NaN,
    and a NaN stays NaN, so the sum is 0 exactly when every element is
    finite, whatever the magnitudes (a plain sum of the values could
    overflow on finite ones). The result is 1.0 or 0.0.

    ```mlir
    %ok = nn.all_finite %dw1, %db1 : tensor<100x784xf32>, tensor<100xf32>
        -> tensor<f32>
    ```
  }];
  let arguments = (ins Variadic<NN_F32Tensor>:$inputs);
  let results = (outs NN_Scalar:$result);
  let assemblyFormat =
      "$inputs attr-dict `:` type($inputs) `->` type($result)";
  let hasVerifier = 1;
}

def NN_SelectOp : NN_GradOp<"select",
    [AllTypesMatch<["on_true", "on_false", "result"]>]> {
  let summary = "one of two tensors, chosen by a rank-0 condition";
  let description = [{
    `on_true` where `condition` is non-zero, else `on_false`: whole tensors,
    so a NaN in the one not chosen does not reach the result (unlike
    `c·a + (1-c)·b`). Skipping a loss-scaled step keeps every parameter and
    optimizer state this way.

    ```mlir
    %w2 = nn.select %ok, %updated, %w : tensor<f32>, tensor<100x784xf32>
    ```
  }];
  let arguments = (ins NN_Scalar:$condition, NN_FloatTensor:$on_true,
                       NN_FloatTensor:$on_false);
  let results = (outs NN_FloatTensor:$result);
  let assemblyFormat =
      "$condition `,` $on_true `,` $on_false attr-dict `:` type($condition) "
      "`,` type($result)";
}

def NN_LossScaleUpdateOp : NN_GradOp<"loss_scale_update",
    [AllTypesMatch<["finite", "scale", "good_steps", "new_scale",
                    "new_good_steps"]>]> {
  let summary = "the next loss scale and count of finite steps (GradScaler)";
  let description = [{
    PyTorch's `GradScaler.update` on the state the caller owns: `scale` and
    `good_steps` (finite steps since the scale last changed, an integer held
    in f32), given `finite` from `nn.all_finite`:

    ```
    finite == 0:  scale' = scale · backoff_factor, good' = 0
    good + 1 == growth_interval:
                  scale' = scale · growth_factor if that is finite, else
                  scale; good' = 0
    otherwise:    scale' = scale, good' = good + 1
    ```

    ```mlir
    %s2, %n2 = nn.loss_scale_update %ok, %s, %n {growth_factor = 2.0,
        backoff_factor = 0.5, growth_interval = 2000 : i64}
        : tensor<f32>
    ```
  }];
  let arguments = (ins NN_Scalar:$finite, NN_Scalar:$scale,
                       NN_Scalar:$good_steps, F64Attr:$growth_factor,
                       F64Attr:$backoff_factor, I64Attr:$growth_interval);
  let results = (outs NN_Scalar:$new_scale, NN_Scalar:$new_good_steps);
  let assemblyFormat =
      "$finite `,` $scale `,` $good_steps attr-dict `:` type($new_scale)";
  let hasVerifier = 1;
}

#endif // NNC_DIALECT_NN_IR_NNLOSSSCALINGOPS_TD
