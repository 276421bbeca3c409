// RUN: nnc-opt %s -split-input-file -verify-diagnostics
// The index form of max pooling: one located error per mistake.

func.func @window_too_large(%x: tensor<1x1x17x17xf32>) -> tensor<1x1x1x1xi8> {
  // expected-error @+1 {{'nn.max_pool2d_indices' op window 17x17 has 289 elements; its positions are one byte, so at most 256}}
  %i = nn.max_pool2d_indices %x {kernel = array<i64: 17, 17>, strides = array<i64: 1, 1>} : (tensor<1x1x17x17xf32>) -> tensor<1x1x1x1xi8>
  return %i : tensor<1x1x1x1xi8>
}

// -----

func.func @indices_wrong_shape(%x: tensor<1x2x4x4xf32>) -> tensor<1x2x3x3xi8> {
  // expected-error @+1 {{'nn.max_pool2d_indices' op result [1, 2, 3, 3] is not the pooled shape [1, 2, 2, 2]}}
  %i = nn.max_pool2d_indices %x {kernel = array<i64: 2, 2>, strides = array<i64: 2, 2>} : (tensor<1x2x4x4xf32>) -> tensor<1x2x3x3xi8>
  return %i : tensor<1x2x3x3xi8>
}

// -----

func.func @indices_bad_geometry(%x: tensor<1x2x4x4xf32>) -> tensor<1x2x2x2xi8> {
  // expected-error @+1 {{'nn.max_pool2d_indices' op padding [2, 0, 0, 0] must be at most half the kernel [2, 2]}}
  %i = nn.max_pool2d_indices %x {kernel = array<i64: 2, 2>, strides = array<i64: 2, 2>, padding = array<i64: 2, 0, 0, 0>} : (tensor<1x2x4x4xf32>) -> tensor<1x2x2x2xi8>
  return %i : tensor<1x2x2x2xi8>
}

// -----

func.func @indices_not_i8(%x: tensor<1x2x4x4xf32>) -> tensor<1x2x2x2xi32> {
  // expected-error @+1 {{'nn.max_pool2d_indices' op result #0 must be statically shaped tensor of 8-bit signless integer values}}
  %i = nn.max_pool2d_indices %x {kernel = array<i64: 2, 2>, strides = array<i64: 2, 2>} : (tensor<1x2x4x4xf32>) -> tensor<1x2x2x2xi32>
  return %i : tensor<1x2x2x2xi32>
}

// -----

func.func @indexed_other_input(%x: tensor<1x2x4x4xf32>, %z: tensor<1x2x4x4xf32>) -> tensor<1x2x2x2xf32> {
  %i = nn.max_pool2d_indices %x {kernel = array<i64: 2, 2>, strides = array<i64: 2, 2>} : (tensor<1x2x4x4xf32>) -> tensor<1x2x2x2xi8>
  // expected-error @+1 {{'nn.max_pool2d_indexed' op indices must be nn.max_pool2d_indices of the same input, kernel, strides and padding}}
  %y = nn.max_pool2d_indexed %z, %i {kernel = array<i64: 2, 2>, strides = array<i64: 2, 2>} : (tensor<1x2x4x4xf32>, tensor<1x2x2x2xi8>) -> tensor<1x2x2x2xf32>
  return %y : tensor<1x2x2x2xf32>
}

// -----

func.func @indexed_other_windows(%x: tensor<1x2x4x4xf32>) -> tensor<1x2x2x2xf32> {
  %i = nn.max_pool2d_indices %x {kernel = array<i64: 2, 2>, strides = array<i64: 2, 2>} : (tensor<1x2x4x4xf32>) -> tensor<1x2x2x2xi8>
  // expected-error @+1 {{'nn.max_pool2d_indexed' op indices must be nn.max_pool2d_indices of the same input, kernel, strides and padding}}
  %y = nn.max_pool2d_indexed %x, %i {kernel = array<i64: 3, 3>, strides = array<i64: 1, 1>} : (tensor<1x2x4x4xf32>, tensor<1x2x2x2xi8>) -> tensor<1x2x2x2xf32>
  return %y : tensor<1x2x2x2xf32>
}

// -----

func.func @indexed_wrong_indices_shape(%x: tensor<1x2x4x4xf32>, %i: tensor<1x2x4x4xi8>) -> tensor<1x2x2x2xf32> {
  // expected-error @+1 {{'nn.max_pool2d_indexed' op indices [1, 2, 4, 4] is not the pooled shape [1, 2, 2, 2]}}
  %y = nn.max_pool2d_indexed %x, %i {kernel = array<i64: 2, 2>, strides = array<i64: 2, 2>} : (tensor<1x2x4x4xf32>, tensor<1x2x4x4xi8>) -> tensor<1x2x2x2xf32>
  return %y : tensor<1x2x2x2xf32>
}

// -----

func.func @indexed_changes_type(%x: tensor<1x2x4x4xbf16>, %i: tensor<1x2x2x2xi8>) -> tensor<1x2x2x2xf32> {
  // expected-error @+1 {{'nn.max_pool2d_indexed' op result element type 'f32' should be the input's, 'bf16'}}
  %y = nn.max_pool2d_indexed %x, %i {kernel = array<i64: 2, 2>, strides = array<i64: 2, 2>} : (tensor<1x2x4x4xbf16>, tensor<1x2x2x2xi8>) -> tensor<1x2x2x2xf32>
  return %y : tensor<1x2x2x2xf32>
}

// -----

func.func @grad_wrong_dy(%i: tensor<1x2x2x2xi8>, %dy: tensor<1x2x3x3xf32>) -> tensor<1x2x4x4xf32> {
  // expected-error @+1 {{'nn.max_pool2d_indexed_grad' op grad [1, 2, 3, 3] is not the pooled shape [1, 2, 2, 2]}}
  %dx = nn.max_pool2d_indexed_grad %i, %dy {kernel = array<i64: 2, 2>, strides = array<i64: 2, 2>} : (tensor<1x2x2x2xi8>, tensor<1x2x3x3xf32>) -> tensor<1x2x4x4xf32>
  return %dx : tensor<1x2x4x4xf32>
}

// -----

func.func @grad_wrong_indices(%i: tensor<1x2x3x3xi8>, %dy: tensor<1x2x2x2xf32>) -> tensor<1x2x4x4xf32> {
  // expected-error @+1 {{'nn.max_pool2d_indexed_grad' op indices [1, 2, 3, 3] is not the pooled shape [1, 2, 2, 2]}}
  %dx = nn.max_pool2d_indexed_grad %i, %dy {kernel = array<i64: 2, 2>, strides = array<i64: 2, 2>} : (tensor<1x2x3x3xi8>, tensor<1x2x2x2xf32>) -> tensor<1x2x4x4xf32>
  return %dx : tensor<1x2x4x4xf32>
}

// -----

func.func @grad_type_mismatch(%i: tensor<1x2x2x2xi8>, %dy: tensor<1x2x2x2xbf16>) -> tensor<1x2x4x4xf32> {
  // expected-error @+1 {{'nn.max_pool2d_indexed_grad' op grad element type 'bf16' should be the result's, 'f32'}}
  %dx = nn.max_pool2d_indexed_grad %i, %dy {kernel = array<i64: 2, 2>, strides = array<i64: 2, 2>} : (tensor<1x2x2x2xi8>, tensor<1x2x2x2xbf16>) -> tensor<1x2x4x4xf32>
  return %dx : tensor<1x2x4x4xf32>
}

// -----

func.func @grad_window_too_large(%i: tensor<1x1x1x1xi8>, %dy: tensor<1x1x1x1xf32>) -> tensor<1x1x17x17xf32> {
  // expected-error @+1 {{'nn.max_pool2d_indexed_grad' op window 17x17 has 289 elements; its positions are one byte, so at most 256}}
  %dx = nn.max_pool2d_indexed_grad %i, %dy {kernel = array<i64: 17, 17>, strides = array<i64: 1, 1>} : (tensor<1x1x1x1xi8>, tensor<1x1x1x1xf32>) -> tensor<1x1x17x17xf32>
  return %dx : tensor<1x1x17x17xf32>
}
