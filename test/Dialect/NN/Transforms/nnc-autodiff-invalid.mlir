// RUN: nnc-opt %s --nnc-autodiff -split-input-file -verify-diagnostics
// RUN: not nnc-opt %S/../../../Tools/Inputs/small.mlir --nnc-autodiff="weight-decay=0.1" 2>&1 | FileCheck %s --check-prefix=WD
// RUN: not nnc-opt %S/../../../Tools/Inputs/small.mlir --nnc-autodiff="optimizer=adam beta1=1" 2>&1 | FileCheck %s --check-prefix=BETA
// RUN: not nnc-opt %S/../../../Tools/Inputs/small.mlir --nnc-autodiff="optimizer=momentum momentum=0" 2>&1 | FileCheck %s --check-prefix=MOM
// RUN: not nnc-opt %S/../../../Tools/Inputs/small.mlir --nnc-autodiff="learning-rate=-1" 2>&1 | FileCheck %s --check-prefix=LR
// RUN: not nnc-opt %S/../../../Tools/Inputs/small.mlir --nnc-autodiff="optimizer=lars trust-coefficient=-0.5" 2>&1 | FileCheck %s --check-prefix=TRUST
// RUN: not nnc-opt %S/../../../Tools/Inputs/small.mlir --nnc-autodiff="optimizer=lamb beta2=1" 2>&1 | FileCheck %s --check-prefix=LAMB

// Options that describe no valid step name the option.
// WD: error: nnc-autodiff: weight-decay needs an optimizer
// BETA: error: nnc-autodiff: Adam needs beta1 and beta2 in [0, 1) and eps >= 0, got beta1=1
// MOM: error: nnc-autodiff: momentum must be positive and finite, got 0
// LR: error: nnc-autodiff: learning-rate must be finite and not negative, got -1
// TRUST: error: nnc-autodiff: trust-coefficient must be positive and finite, got -5.000000e-01
// LAMB: error: nnc-autodiff: Adam needs beta1 and beta2 in [0, 1) and eps >= 0, got beta1=9.000000e-01 beta2=1.000000e+00

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
  // expected-error @+1 {{'arith.mulf' op is not supported in a model function: a model is nn ops on tensors and tensor constants, without regions}}
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
