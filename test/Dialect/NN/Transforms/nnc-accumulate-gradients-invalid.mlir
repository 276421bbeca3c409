// RUN: nnc-opt %s --nnc-accumulate-gradients="micro-batches=2" -split-input-file -verify-diagnostics

// A fused update has no gradient tensor to accumulate.
func.func @fused(%x: tensor<8x4xf32>, %dy: tensor<8x3xf32>, %w: tensor<3x4xf32> {nn.param}, %lr: tensor<f32>) -> tensor<3x4xf32>
    attributes {nn.entry = #nn.entry<train_step>} {
  // expected-error @+1 {{nnc-accumulate-gradients: this update is fused into its gradient's matmul, so there is no gradient to accumulate; run the pass before nnc-fuse-updates}}
  %w2 = nn.sgd_matmul %w, %dy, %x, %lr {transpose_lhs} : (tensor<3x4xf32>, tensor<8x3xf32>, tensor<8x4xf32>, tensor<f32>) -> tensor<3x4xf32>
  return %w2 : tensor<3x4xf32>
}

// -----

// Dropout's mask would repeat in every micro-batch.
func.func @dropout(%x: tensor<8x3xf32>, %w: tensor<3x3xf32> {nn.param}, %lr: tensor<f32>) -> (tensor<f32> {nn.name = "loss"}, tensor<3x3xf32>)
    attributes {nn.entry = #nn.entry<train_step>} {
  // expected-error @+1 {{nnc-accumulate-gradients: dropout's mask hashes the element index, which would repeat in every micro-batch; micro-batches of a model with dropout are not supported}}
  %d = nn.dropout %x {rate = 0.5 : f32, seed = 1 : i64} : tensor<8x3xf32>
  %g = nn.matmul %d, %x {transpose_lhs} : (tensor<8x3xf32>, tensor<8x3xf32>) -> tensor<3x3xf32>
  %w2 = nn.sgd %w, %g, %lr : tensor<3x3xf32>
  %l = nn.norm %g : tensor<3x3xf32> -> tensor<f32>
  return %l, %w2 : tensor<f32>, tensor<3x3xf32>
}

// -----

// A result of one micro-batch that is neither the loss nor the output.
// expected-error @+1 {{nnc-accumulate-gradients: result #1 of 'hidden' ('h') is computed per micro-batch and is neither the loss nor the output}}
func.func @hidden(%x: tensor<8x3xf32>, %w: tensor<3x3xf32> {nn.param}, %lr: tensor<f32>) -> (tensor<3x3xf32>, tensor<8x3xf32> {nn.name = "h"})
    attributes {nn.entry = #nn.entry<train_step>} {
  %h = nn.relu %x : tensor<8x3xf32>
  %g = nn.matmul %h, %x {transpose_lhs} : (tensor<8x3xf32>, tensor<8x3xf32>) -> tensor<3x3xf32>
  %w2 = nn.sgd %w, %g, %lr : tensor<3x3xf32>
  return %w2, %h : tensor<3x3xf32>, tensor<8x3xf32>
}

// -----

// The data inputs must agree on the micro-batch.
// expected-error @+1 {{nnc-accumulate-gradients: the data inputs of 'rows' disagree on the batch (8 and 4 rows)}}
func.func @rows(%x: tensor<8x3xf32>, %y: tensor<4x3xf32>, %w: tensor<3x3xf32> {nn.param}, %lr: tensor<f32>) -> tensor<3x3xf32>
    attributes {nn.entry = #nn.entry<train_step>} {
  %g = nn.matmul %x, %x {transpose_lhs} : (tensor<8x3xf32>, tensor<8x3xf32>) -> tensor<3x3xf32>
  %w2 = nn.sgd %w, %g, %lr : tensor<3x3xf32>
  return %w2 : tensor<3x3xf32>
}

// -----

// expected-error @+1 {{nnc-accumulate-gradients: 'noupdate' updates no parameter}}
func.func @noupdate(%x: tensor<8x4xf32>) -> tensor<8x4xf32>
    attributes {nn.entry = #nn.entry<train_step>} {
  return %x : tensor<8x4xf32>
}
