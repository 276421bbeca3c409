// RUN: nnc-opt %s --nnc-insert-allreduce -split-input-file -verify-diagnostics

// A fused update has no gradient tensor to average over the ranks.
func.func @fused(%x: tensor<8x4xf32>, %dy: tensor<8x3xf32>, %w: tensor<3x4xf32>, %lr: tensor<f32>) -> tensor<3x4xf32>
    attributes {nn.entry = #nn.entry<train_step>} {
  // expected-error @+1 {{nnc-insert-allreduce: this update is fused into its gradient's matmul, so there is no gradient to average over the ranks; run the pass before nnc-fuse-updates}}
  %w2 = nn.sgd_matmul %w, %dy, %x, %lr {transpose_lhs} : (tensor<3x4xf32>, tensor<8x3xf32>, tensor<8x4xf32>, tensor<f32>) -> tensor<3x4xf32>
  return %w2 : tensor<3x4xf32>
}

// -----

// expected-error @+1 {{nnc-insert-allreduce: 'noupdate' updates no parameter}}
func.func @noupdate(%x: tensor<8x4xf32>) -> tensor<8x4xf32>
    attributes {nn.entry = #nn.entry<train_step>} {
  return %x : tensor<8x4xf32>
}
