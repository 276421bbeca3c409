// RUN: nnc-opt %s --convert-nn-to-linalg | FileCheck %s

// The positions and the pooled values they come with are one call that
// writes both; the gradient is one call on the positions and dy.
// CHECK-LABEL: func.func @step
// CHECK:       %[[Y:.+]] = tensor.empty() : tensor<2x16x3x3xf32>
// CHECK-NEXT:  %[[I:.+]] = tensor.empty() : tensor<2x16x3x3xi8>
// CHECK-NEXT:  %[[P:.+]]:2 = nn.runtime_call "nncrt_maxpool2d_forward_indices" ins(%arg0 : tensor<2x16x6x6xf32>) outs(%[[Y]], %[[I]] : tensor<2x16x3x3xf32>, tensor<2x16x3x3xi8>) {nn.stage = 2 : i64, pointers = array<i64: 0, 1, 2>, scalars = [2, 16, 6, 6, 3, 3, 2, 2, 2, 2, 0, 0, 0, 0]}
// CHECK-NOT:   nncrt_maxpool2d_forward_indices
// CHECK:       nn.runtime_call "nncrt_maxpool2d_backward_indices" ins(%[[P]]#1, %arg1 : tensor<2x16x3x3xi8>, tensor<2x16x3x3xf32>) outs(%{{.+}} : tensor<2x16x6x6xf32>) {pointers = array<i64: 0, 1, 2>, scalars = [2, 16, 6, 6, 3, 3, 2, 2, 2, 2, 0, 0, 0, 0]}
// CHECK:       return %[[P]]#0,
func.func @step(%x: tensor<2x16x6x6xf32>, %dy: tensor<2x16x3x3xf32>) -> (tensor<2x16x3x3xf32>, tensor<2x16x6x6xf32>) {
  %i = nn.max_pool2d_indices %x {kernel = array<i64: 2, 2>, strides = array<i64: 2, 2>, nn.stage = 2} : (tensor<2x16x6x6xf32>) -> tensor<2x16x3x3xi8>
  %y = nn.max_pool2d_indexed %x, %i {kernel = array<i64: 2, 2>, strides = array<i64: 2, 2>, nn.stage = 2} : (tensor<2x16x6x6xf32>, tensor<2x16x3x3xi8>) -> tensor<2x16x3x3xf32>
  %dx = nn.max_pool2d_indexed_grad %i, %dy {kernel = array<i64: 2, 2>, strides = array<i64: 2, 2>} : (tensor<2x16x3x3xi8>, tensor<2x16x3x3xf32>) -> tensor<2x16x6x6xf32>
  return %y, %dx : tensor<2x16x3x3xf32>, tensor<2x16x6x6xf32>
}

// A recomputation that needs only the positions still writes the values
// (to a scratch tensor); bf16 has its own entry points.
// CHECK-LABEL: func.func @positions_only
// CHECK:       %[[P:.+]]:2 = nn.runtime_call "nncrt_maxpool2d_forward_indices_bf16" ins(%arg0 : tensor<1x3x5x5xbf16>) outs(%{{.+}}, %{{.+}} : tensor<1x3x2x2xbf16>, tensor<1x3x2x2xi8>) {pointers = array<i64: 0, 1, 2>, scalars = [1, 3, 5, 5, 2, 2, 3, 3, 2, 2, 1, 1, 0, 0]}
// CHECK:       nn.runtime_call "nncrt_maxpool2d_backward_indices_bf16" ins(%[[P]]#1, %arg1
func.func @positions_only(%x: tensor<1x3x5x5xbf16>, %dy: tensor<1x3x2x2xbf16>) -> tensor<1x3x5x5xbf16> {
  %i = nn.max_pool2d_indices %x {kernel = array<i64: 3, 3>, strides = array<i64: 2, 2>, padding = array<i64: 1, 1, 0, 0>} : (tensor<1x3x5x5xbf16>) -> tensor<1x3x2x2xi8>
  %dx = nn.max_pool2d_indexed_grad %i, %dy {kernel = array<i64: 3, 3>, strides = array<i64: 2, 2>, padding = array<i64: 1, 1, 0, 0>} : (tensor<1x3x2x2xi8>, tensor<1x3x2x2xbf16>) -> tensor<1x3x5x5xbf16>
  return %dx : tensor<1x3x5x5xbf16>
}

// Positions from elsewhere (an argument): by the op's contract the values
// are the plain max pooling's.
// CHECK-LABEL: func.func @given_positions
// CHECK:       nn.runtime_call "nncrt_pool2d_forward" ins(%arg0 : tensor<1x16x4x4xf32>) outs(%{{.+}} : tensor<1x16x2x2xf32>) {pointers = array<i64: 0, 1>, scalars = [0 : i32, 1, 16, 4, 4, 2, 2, 2, 2, 2, 2, 0, 0, 0, 0]}
func.func @given_positions(%x: tensor<1x16x4x4xf32>, %i: tensor<1x16x2x2xi8>) -> tensor<1x16x2x2xf32> {
  %y = nn.max_pool2d_indexed %x, %i {kernel = array<i64: 2, 2>, strides = array<i64: 2, 2>} : (tensor<1x16x4x4xf32>, tensor<1x16x2x2xi8>) -> tensor<1x16x2x2xf32>
  return %y : tensor<1x16x2x2xf32>
}
