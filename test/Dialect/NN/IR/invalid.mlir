// RUN: nnc-opt %s -split-input-file -verify-diagnostics

func.func @linear_in_features(%x: tensor<8x4xf32>, %w: tensor<3x5xf32>) -> tensor<8x3xf32> {
  // expected-error @+1 {{'nn.linear' op input features 4 do not match weight [3, 5] (weight is [out, in])}}
  %y = nn.linear %x, %w : (tensor<8x4xf32>, tensor<3x5xf32>) -> tensor<8x3xf32>
  return %y : tensor<8x3xf32>
}

// -----

func.func @linear_bias(%x: tensor<8x4xf32>, %w: tensor<3x4xf32>, %b: tensor<4xf32>) -> tensor<8x3xf32> {
  // expected-error @+1 {{bias [4] does not match weight outputs 3}}
  %y = nn.linear %x, %w, %b : (tensor<8x4xf32>, tensor<3x4xf32>, tensor<4xf32>) -> tensor<8x3xf32>
  return %y : tensor<8x3xf32>
}

// -----

func.func @linear_result(%x: tensor<8x4xf32>, %w: tensor<3x4xf32>) -> tensor<8x4xf32> {
  // expected-error @+1 {{result shape [8, 4] should be [8, 3]}}
  %y = nn.linear %x, %w : (tensor<8x4xf32>, tensor<3x4xf32>) -> tensor<8x4xf32>
  return %y : tensor<8x4xf32>
}

// -----

func.func @linear_rank(%x: tensor<4xf32>, %w: tensor<3x4xf32>) -> tensor<8x3xf32> {
  // expected-error @+1 {{expects input of rank 2, got [4]}}
  %y = nn.linear %x, %w : (tensor<4xf32>, tensor<3x4xf32>) -> tensor<8x3xf32>
  return %y : tensor<8x3xf32>
}

// -----

func.func @dynamic_shape(%x: tensor<?x4xf32>, %w: tensor<3x4xf32>) -> tensor<8x3xf32> {
  // expected-error @+1 {{operand #0 must be statically shaped tensor of 32-bit float or bfloat16 type or 16-bit float values}}
  %y = nn.linear %x, %w : (tensor<?x4xf32>, tensor<3x4xf32>) -> tensor<8x3xf32>
  return %y : tensor<8x3xf32>
}

// -----

func.func @not_f32(%x: tensor<8x4xf64>) -> tensor<8x4xf64> {
  // expected-error @+1 {{operand #0 must be statically shaped tensor of 32-bit float or bfloat16 type or 16-bit float values}}
  %y = nn.relu %x : tensor<8x4xf64>
  return %y : tensor<8x4xf64>
}

// -----

func.func @matmul_contraction(%a: tensor<8x4xf32>, %b: tensor<5x3xf32>) -> tensor<8x3xf32> {
  // expected-error @+1 {{contraction dimensions differ: lhs [8, 4] gives 4, rhs [5, 3] gives 5}}
  %c = nn.matmul %a, %b : (tensor<8x4xf32>, tensor<5x3xf32>) -> tensor<8x3xf32>
  return %c : tensor<8x3xf32>
}

// -----

func.func @add_types(%a: tensor<8x4xf32>, %b: tensor<8x3xf32>) -> tensor<8x4xf32> {
  // expected-error @+1 {{'nn.add' op requires the same type for all operands and results}}
  %c = "nn.add"(%a, %b) : (tensor<8x4xf32>, tensor<8x3xf32>) -> tensor<8x4xf32>
  return %c : tensor<8x4xf32>
}

// -----

func.func @mse_shapes(%a: tensor<8x4xf32>, %b: tensor<8x3xf32>) -> tensor<f32> {
  // expected-error @+1 {{input [8, 4] and target [8, 3] must have the same shape}}
  %l = nn.mse_loss %a, %b : (tensor<8x4xf32>, tensor<8x3xf32>) -> tensor<f32>
  return %l : tensor<f32>
}

// -----

func.func @loss_not_scalar(%a: tensor<8x4xf32>, %b: tensor<8x4xf32>) -> tensor<1xf32> {
  // expected-error @+1 {{result #0 must be 0D tensor of 32-bit float values}}
  %l = nn.mse_loss %a, %b : (tensor<8x4xf32>, tensor<8x4xf32>) -> tensor<1xf32>
  return %l : tensor<1xf32>
}

// -----

func.func @ce_batch(%z: tensor<8x10xf32>, %labels: tensor<4xi32>) -> tensor<f32> {
  // expected-error @+1 {{batch of logits [8, 10] and labels [4] differ}}
  %l = nn.cross_entropy %z, %labels : (tensor<8x10xf32>, tensor<4xi32>) -> tensor<f32>
  return %l : tensor<f32>
}

// -----

func.func @ce_float_labels(%z: tensor<8x10xf32>, %labels: tensor<8xf32>) -> tensor<f32> {
  // expected-error @+1 {{operand #1 must be statically shaped tensor of 32-bit signless integer or 64-bit signless integer values}}
  %l = nn.cross_entropy %z, %labels : (tensor<8x10xf32>, tensor<8xf32>) -> tensor<f32>
  return %l : tensor<f32>
}

// -----

func.func @leaky_relu_alpha(%x: tensor<8x4xf32>) -> tensor<8x4xf32> {
  // expected-error @+1 {{alpha must be finite and not negative (the gradient reads the output's sign), got -5.000000e-01}}
  %y = nn.leaky_relu %x {alpha = -0.5 : f32} : tensor<8x4xf32>
  return %y : tensor<8x4xf32>
}

// -----

func.func @dropout_rate(%x: tensor<8x4xf32>) -> tensor<8x4xf32> {
  // expected-error @+1 {{rate must be in [0, 1), got 1}}
  %y = nn.dropout %x {rate = 1.0 : f32, seed = 1 : i64} : tensor<8x4xf32>
  return %y : tensor<8x4xf32>
}

// -----

func.func @softmax_rank(%x: tensor<8xf32>) -> tensor<8xf32> {
  // expected-error @+1 {{expects input of rank 2, got [8]}}
  %y = nn.softmax %x : tensor<8xf32>
  return %y : tensor<8xf32>
}

// -----

func.func @reduce_dim(%x: tensor<8x4xf32>) -> tensor<4xf32> {
  // expected-error @+1 {{dim 2 out of range for input [8, 4]}}
  %y = nn.reduce_sum %x {dim = 2 : i64} : (tensor<8x4xf32>) -> tensor<4xf32>
  return %y : tensor<4xf32>
}

// -----

func.func @reduce_result(%x: tensor<8x4xf32>) -> tensor<8xf32> {
  // expected-error @+1 {{result shape [8] should be [4]}}
  %y = nn.reduce_sum %x {dim = 0 : i64} : (tensor<8x4xf32>) -> tensor<8xf32>
  return %y : tensor<8xf32>
}

// -----

func.func @missing_attr(%x: tensor<8x4xf32>) -> tensor<8x4xf32> {
  // expected-error @+1 {{requires attribute 'seed'}}
  %y = nn.dropout %x {rate = 0.5 : f32} : tensor<8x4xf32>
  return %y : tensor<8x4xf32>
}

// -----

func.func @softmax_grad_rank(%y: tensor<4xf32>, %dy: tensor<4xf32>) -> tensor<4xf32> {
  // expected-error @+1 {{'nn.softmax_grad' op expects saved of rank 2, got [4]}}
  %d = nn.softmax_grad %y, %dy : tensor<4xf32>
  return %d : tensor<4xf32>
}

// -----

func.func @mse_grad_shapes(%y: tensor<8x3xf32>, %t: tensor<8x4xf32>, %g: tensor<f32>) -> tensor<8x3xf32> {
  // expected-error @+1 {{'nn.mse_loss_grad' op input [8, 3] and target [8, 4] must have the same shape}}
  %d = nn.mse_loss_grad %y, %t, %g : (tensor<8x3xf32>, tensor<8x4xf32>, tensor<f32>) -> tensor<8x3xf32>
  return %d : tensor<8x3xf32>
}

// -----

func.func @mse_grad_result(%y: tensor<8x3xf32>, %t: tensor<8x3xf32>, %g: tensor<f32>) -> tensor<3x8xf32> {
  // expected-error @+1 {{'nn.mse_loss_grad' op result shape [3, 8] should be [8, 3]}}
  %d = nn.mse_loss_grad %y, %t, %g : (tensor<8x3xf32>, tensor<8x3xf32>, tensor<f32>) -> tensor<3x8xf32>
  return %d : tensor<3x8xf32>
}

// -----

func.func @mse_grad_seed(%y: tensor<8x3xf32>, %t: tensor<8x3xf32>, %g: tensor<1xf32>) -> tensor<8x3xf32> {
  // expected-error @+1 {{operand #2 must be 0D tensor of 32-bit float values}}
  %d = nn.mse_loss_grad %y, %t, %g : (tensor<8x3xf32>, tensor<8x3xf32>, tensor<1xf32>) -> tensor<8x3xf32>
  return %d : tensor<8x3xf32>
}

// -----

func.func @ce_grad_batch(%z: tensor<8x10xf32>, %l: tensor<4xi32>, %g: tensor<f32>) -> tensor<8x10xf32> {
  // expected-error @+1 {{'nn.cross_entropy_grad' op batch of logits [8, 10] and labels [4] differ}}
  %d = nn.cross_entropy_grad %z, %l, %g : (tensor<8x10xf32>, tensor<4xi32>, tensor<f32>) -> tensor<8x10xf32>
  return %d : tensor<8x10xf32>
}

// -----

func.func @ce_grad_result(%z: tensor<8x10xf32>, %l: tensor<8xi32>, %g: tensor<f32>) -> tensor<8x5xf32> {
  // expected-error @+1 {{'nn.cross_entropy_grad' op result shape [8, 5] should be [8, 10]}}
  %d = nn.cross_entropy_grad %z, %l, %g : (tensor<8x10xf32>, tensor<8xi32>, tensor<f32>) -> tensor<8x5xf32>
  return %d : tensor<8x5xf32>
}

// -----

func.func @ce_grad_labels(%z: tensor<8x10xf32>, %l: tensor<8xf32>, %g: tensor<f32>) -> tensor<8x10xf32> {
  // expected-error @+1 {{operand #1 must be statically shaped tensor of 32-bit signless integer or 64-bit signless integer values}}
  %d = nn.cross_entropy_grad %z, %l, %g : (tensor<8x10xf32>, tensor<8xf32>, tensor<f32>) -> tensor<8x10xf32>
  return %d : tensor<8x10xf32>
}

// -----

func.func @sgd_matmul_shape(%w: tensor<3x5xf32>, %dy: tensor<8x3xf32>, %x: tensor<8x4xf32>, %lr: tensor<f32>) -> tensor<3x5xf32> {
  // expected-error @+1 {{'nn.sgd_matmul' op product [3, 4] does not match the parameter [3, 5]}}
  %0 = nn.sgd_matmul %w, %dy, %x, %lr {transpose_lhs} : (tensor<3x5xf32>, tensor<8x3xf32>, tensor<8x4xf32>, tensor<f32>) -> tensor<3x5xf32>
  return %0 : tensor<3x5xf32>
}

// -----

func.func @sgd_lr_not_scalar(%w: tensor<3xf32>, %g: tensor<3xf32>, %lr: tensor<1xf32>) -> tensor<3xf32> {
  // expected-error @+1 {{'nn.sgd' op operand #2 must be 0D tensor of 32-bit float values}}
  %r = "nn.sgd"(%w, %g, %lr) : (tensor<3xf32>, tensor<3xf32>, tensor<1xf32>) -> tensor<3xf32>
  return %r : tensor<3xf32>
}

// -----

func.func @sgd_grad_shape(%w: tensor<3xf32>, %g: tensor<4xf32>, %lr: tensor<f32>) -> tensor<3xf32> {
  // expected-error @+1 {{'nn.sgd' op failed to verify that all of {param, grad, result} have same type}}
  %r = "nn.sgd"(%w, %g, %lr) : (tensor<3xf32>, tensor<4xf32>, tensor<f32>) -> tensor<3xf32>
  return %r : tensor<3xf32>
}

// -----

func.func @sgd_negative_decay(%w: tensor<3xf32>, %g: tensor<3xf32>, %lr: tensor<f32>) -> tensor<3xf32> {
  // expected-error @+1 {{'nn.sgd' op weight_decay must be finite and not negative, got -1}}
  %r = nn.sgd %w, %g, %lr {weight_decay = -1.0} : tensor<3xf32>
  return %r : tensor<3xf32>
}

// -----

func.func @nesterov_without_momentum(%w: tensor<3xf32>, %g: tensor<3xf32>, %v: tensor<3xf32>, %lr: tensor<f32>) -> tensor<3xf32> {
  // expected-error @+1 {{'nn.momentum_update' op Nesterov momentum needs a positive momentum}}
  %r, %rv = nn.momentum_update %w, %g, %v, %lr {momentum = 0.0, nesterov} : tensor<3xf32>
  return %r : tensor<3xf32>
}

// -----

func.func @momentum_state_shape(%w: tensor<3xf32>, %g: tensor<3xf32>, %v: tensor<2xf32>, %lr: tensor<f32>) -> tensor<3xf32> {
  // expected-error @+1 {{failed to verify that all of {param, grad, velocity, new_param, new_velocity} have same type}}
  %r, %rv = "nn.momentum_update"(%w, %g, %v, %lr) {momentum = 0.9} : (tensor<3xf32>, tensor<3xf32>, tensor<2xf32>, tensor<f32>) -> (tensor<3xf32>, tensor<3xf32>)
  return %r : tensor<3xf32>
}

// -----

func.func @adam_beta(%w: tensor<3xf32>, %g: tensor<3xf32>, %m: tensor<3xf32>, %v: tensor<3xf32>, %lr: tensor<f32>, %t: tensor<f32>) -> tensor<3xf32> {
  // expected-error @+1 {{'nn.adam_update' op beta2 must be in [0, 1), got 1}}
  %r, %rm, %rv = nn.adam_update %w, %g, %m, %v, %lr, %t {beta1 = 0.9, beta2 = 1.0, eps = 1.0e-8} : tensor<3xf32>
  return %r : tensor<3xf32>
}

// -----

func.func @lars_trust(%w: tensor<3xf32>, %g: tensor<3xf32>, %v: tensor<3xf32>, %lr: tensor<f32>) -> tensor<3xf32> {
  // expected-error @+1 {{'nn.lars_update' op trust_coefficient must be positive and finite, got 0}}
  %r, %rv = nn.lars_update %w, %g, %v, %lr {momentum = 0.9, trust_coefficient = 0.0} : tensor<3xf32>
  return %r : tensor<3xf32>
}

// -----

func.func @lamb_beta(%w: tensor<3xf32>, %g: tensor<3xf32>, %m: tensor<3xf32>, %v: tensor<3xf32>, %lr: tensor<f32>, %t: tensor<f32>) -> tensor<3xf32> {
  // expected-error @+1 {{'nn.lamb_update' op beta1 must be in [0, 1), got 1.5}}
  %r, %rm, %rv = nn.lamb_update %w, %g, %m, %v, %lr, %t {beta1 = 1.5, beta2 = 0.999, eps = 1.0e-6} : tensor<3xf32>
  return %r : tensor<3xf32>
}

// -----

func.func @adam_eps(%w: tensor<3xf32>, %g: tensor<3xf32>, %m: tensor<3xf32>, %v: tensor<3xf32>, %lr: tensor<f32>, %t: tensor<f32>) -> tensor<3xf32> {
  // expected-error @+1 {{'nn.adam_update' op eps must be finite and not negative, got -1e-09}}
  %r, %rm, %rv = nn.adam_update %w, %g, %m, %v, %lr, %t {beta1 = 0.9, beta2 = 0.999, eps = -1.0e-9} : tensor<3xf32>
  return %r : tensor<3xf32>
}

// -----

func.func @norm_not_scalar(%g: tensor<3xf32>) -> tensor<1xf32> {
  // expected-error @+1 {{'nn.norm' op result #0 must be 0D tensor of 32-bit float values}}
  %n = "nn.norm"(%g) : (tensor<3xf32>) -> tensor<1xf32>
  return %n : tensor<1xf32>
}

// -----

// Mixed precision: a product's operands share one element type.
func.func @linear_mixed_elements(%x: tensor<8x4xbf16>, %w: tensor<3x4xf32>) -> tensor<8x3xbf16> {
  // expected-error @+1 {{'nn.linear' op expects input and weight of one element type, got bf16 and f32}}
  %y = nn.linear %x, %w : (tensor<8x4xbf16>, tensor<3x4xf32>) -> tensor<8x3xbf16>
  return %y : tensor<8x3xbf16>
}

// -----

// A bf16 product may keep an f32 result, never an f32 product a bf16 one.
func.func @matmul_narrowed_result(%a: tensor<8x4xf32>, %b: tensor<4x3xf32>) -> tensor<8x3xbf16> {
  // expected-error @+1 {{'nn.matmul' op result element type 'bf16' should be 'f32'}}
  %c = nn.matmul %a, %b : (tensor<8x4xf32>, tensor<4x3xf32>) -> tensor<8x3xbf16>
  return %c : tensor<8x3xbf16>
}

// -----

func.func @cast_shape(%x: tensor<8x4xf32>) -> tensor<4x8xbf16> {
  // expected-error @+1 {{'nn.cast' op result shape [4, 8] should be the input's [8, 4]}}
  %y = nn.cast %x : tensor<8x4xf32> to tensor<4x8xbf16>
  return %y : tensor<4x8xbf16>
}

// -----

func.func @cast_f64(%x: tensor<8x4xf32>) -> tensor<8x4xf64> {
  // expected-error @+1 {{'nn.cast' op result #0 must be statically shaped tensor of 32-bit float or bfloat16 type or 16-bit float values}}
  %y = nn.cast %x : tensor<8x4xf32> to tensor<8x4xf64>
  return %y : tensor<8x4xf64>
}

// -----

// Only the contractions (products and convolutions) and what lies between
// them are bf16: a batch norm reads f32 (its statistics stay f32).
func.func @batch_norm_bf16(%x: tensor<2x3x4x4xbf16>, %g: tensor<3xf32>, %b: tensor<3xf32>, %rm: tensor<3xf32>, %rv: tensor<3xf32>) -> tensor<2x3x4x4xf32> {
  // expected-error @+1 {{'nn.batch_norm' op operand #0 must be statically shaped tensor of 32-bit float values}}
  %y = nn.batch_norm %x, %g, %b, %rm, %rv {training} : (tensor<2x3x4x4xbf16>, tensor<3xf32>, tensor<3xf32>, tensor<3xf32>, tensor<3xf32>) -> tensor<2x3x4x4xf32>
  return %y : tensor<2x3x4x4xf32>
}

// -----

func.func @batched_bf16(%a: tensor<2x8x4xbf16>, %b: tensor<2x4x3xbf16>) -> tensor<2x8x3xbf16> {
  // expected-error @+1 {{'nn.matmul' op expects f32 operands for a batched product, got bf16}}
  %c = nn.matmul %a, %b : (tensor<2x8x4xbf16>, tensor<2x4x3xbf16>) -> tensor<2x8x3xbf16>
  return %c : tensor<2x8x3xbf16>
}
