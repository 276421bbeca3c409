// RUN: nnc-opt %s --nnc-loss-scaling -split-input-file -verify-diagnostics
// Bad options, whatever the input.
// RUN: echo "module {}" | not nnc-opt --nnc-loss-scaling="growth-factor=nan" 2>&1 | FileCheck %s --check-prefix=GROWTH
// RUN: echo "module {}" | not nnc-opt --nnc-loss-scaling="backoff-factor=0" 2>&1 | FileCheck %s --check-prefix=BACKOFF
// RUN: echo "module {}" | not nnc-opt --nnc-loss-scaling="growth-interval=-3" 2>&1 | FileCheck %s --check-prefix=INTERVAL
// GROWTH: error: nnc-loss-scaling: growth-factor must be finite and greater than 1, got nan
// BACKOFF: error: nnc-loss-scaling: backoff-factor must be in (0, 1), got 0
// INTERVAL: error: nnc-loss-scaling: growth-interval must be in [1, 2^24], got -3

// A fused update has no gradient to check.
func.func @fused(%x: tensor<8x4xf32>, %dy: tensor<8x3xf32>, %w: tensor<3x4xf32>, %b: tensor<3xf32>, %lr: tensor<f32>) -> (tensor<3x4xf32>, tensor<3xf32>)
    attributes {nn.entry = #nn.entry<train_step>} {
  // expected-error @+1 {{updates a weight without materializing its gradient, which loss scaling must check: run nnc-loss-scaling before nnc-fuse-updates}}
  %w2 = nn.sgd_matmul %w, %dy, %x, %lr {transpose_lhs} : (tensor<3x4xf32>, tensor<8x3xf32>, tensor<8x4xf32>, tensor<f32>) -> tensor<3x4xf32>
  %db = nn.reduce_sum %dy {dim = 0 : i64} : (tensor<8x3xf32>) -> tensor<3xf32>
  %b2 = nn.sgd %b, %db, %lr : tensor<3xf32>
  return %w2, %b2 : tensor<3x4xf32>, tensor<3xf32>
}

// -----

// expected-error @+1 {{has no gradient seed (#nn.grad_seed) to scale}}
func.func @noseed(%b: tensor<3xf32>, %db: tensor<3xf32>, %lr: tensor<f32>) -> tensor<3xf32>
    attributes {nn.entry = #nn.entry<train_step>} {
  %b2 = nn.sgd %b, %db, %lr : tensor<3xf32>
  return %b2 : tensor<3xf32>
}

// -----

// expected-error @+1 {{loss scaling needs a training step (an optimizer or a learning rate): a gradient function has no update to skip}}
module {
  func.func @grad(%x: tensor<3xf32>) -> tensor<3xf32>
      attributes {nn.entry = #nn.entry<grad>} {
    return %x : tensor<3xf32>
  }
}

// -----

func.func @bad_update(%s: tensor<f32>) -> (tensor<f32>, tensor<f32>) {
  // expected-error @+1 {{growth_interval must be in [1, 2^24] (the count of finite steps is held in f32), got 0}}
  %a, %b = nn.loss_scale_update %s, %s, %s {growth_factor = 2.0, backoff_factor = 0.5, growth_interval = 0 : i64} : tensor<f32>
  return %a, %b : tensor<f32>, tensor<f32>
}
