// RUN: nnc-opt %s --nnc-verify-model -split-input-file -verify-diagnostics | FileCheck %s

// CHECK-LABEL: func.func @ok
func.func @ok(%x: tensor<4x3xf32>, %t: tensor<4x3xf32>, %w: tensor<3x3xf32> {nn.param}) -> tensor<f32> {
  %h = nn.linear %x, %w : (tensor<4x3xf32>, tensor<3x3xf32>) -> tensor<4x3xf32>
  %l = nn.mse_loss %h, %t : (tensor<4x3xf32>, tensor<4x3xf32>) -> tensor<f32>
  return %l : tensor<f32>
}

// -----

// expected-error @+1 {{no model function: no function argument is marked 'nn.param'}}
module {
  func.func @f(%x: tensor<4x3xf32>) -> tensor<4x3xf32> {
    return %x : tensor<4x3xf32>
  }
}

// -----

// expected-error @+1 {{model function must return one scalar loss of type tensor<f32>}}
func.func @two_results(%x: tensor<4x3xf32>, %w: tensor<3x3xf32> {nn.param}) -> (tensor<f32>, tensor<f32>) {
  %l = nn.mse_loss %x, %x : (tensor<4x3xf32>, tensor<4x3xf32>) -> tensor<f32>
  return %l, %l : tensor<f32>, tensor<f32>
}
