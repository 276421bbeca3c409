// RUN: nnc-opt %s --nnc-autodiff -split-input-file -verify-diagnostics

// expected-error @+1 {{no model function to differentiate: no function argument is marked 'nn.param'}}
module {
  func.func @no_params(%x: tensor<4x3xf32>, %t: tensor<4x3xf32>) -> tensor<f32> {
    %l = nn.mse_loss %x, %t : (tensor<4x3xf32>, tensor<4x3xf32>) -> tensor<f32>
    return %l : tensor<f32>
  }
}

// -----

// expected-error @+1 {{model function must return one scalar loss of type tensor<f32>, got '(tensor<4x3xf32>, tensor<3x3xf32>) -> tensor<4x3xf32>'}}
func.func @not_scalar(%x: tensor<4x3xf32>, %w: tensor<3x3xf32> {nn.param}) -> tensor<4x3xf32> {
  %h = nn.linear %x, %w : (tensor<4x3xf32>, tensor<3x3xf32>) -> tensor<4x3xf32>
  return %h : tensor<4x3xf32>
}

// -----

func.func @not_differentiable(%x: tensor<4x3xf32>, %t: tensor<4x3xf32>, %w: tensor<3x3xf32> {nn.param}) -> tensor<f32> {
  %h = nn.linear %x, %w : (tensor<4x3xf32>, tensor<3x3xf32>) -> tensor<4x3xf32>
  // expected-error @+1 {{'arith.mulf' op is on the path from an nn.param to the loss but is not differentiable}}
  %m = arith.mulf %h, %h : tensor<4x3xf32>
  %l = nn.mse_loss %m, %t : (tensor<4x3xf32>, tensor<4x3xf32>) -> tensor<f32>
  return %l : tensor<f32>
}

// -----

// expected-error @+1 {{declaration of 'm_grad' has type}}
func.func private @m_grad(tensor<4x3xf32>) -> tensor<f32>
func.func @m(%x: tensor<4x3xf32>, %t: tensor<4x3xf32>, %w: tensor<3x3xf32> {nn.param}) -> tensor<f32> {
  %h = nn.linear %x, %w : (tensor<4x3xf32>, tensor<3x3xf32>) -> tensor<4x3xf32>
  %l = nn.mse_loss %h, %t : (tensor<4x3xf32>, tensor<4x3xf32>) -> tensor<f32>
  return %l : tensor<f32>
}
