// RUN: nnc-opt %s --nnc-sink-slices | FileCheck %s

// The last position of a [B, T, D] stream: the slice moves above the
// layer norm, the residual add, the MLP's linear layers (as every T-th row
// of [B·T, D]) and the activation, so they run on B rows instead of B·T.
// CHECK-LABEL: func.func @last_position
// CHECK: %[[XS:.+]] = nn.slice %arg0 {offsets = array<i64: 0, 3, 0>, sizes = array<i64: 2, 1, 8>, strides = array<i64: 1, 1, 1>} : (tensor<2x4x8xf32>) -> tensor<2x1x8xf32>
// CHECK: %[[ROWS:.+]] = nn.reshape %[[XS]] : tensor<2x1x8xf32> -> tensor<2x8xf32>
// CHECK: nn.linear %[[ROWS]], %arg3, %arg4 : (tensor<2x8xf32>, tensor<6x8xf32>, tensor<6xf32>) -> tensor<2x6xf32>
// CHECK: nn.relu %{{.+}} : tensor<2x6xf32>
// CHECK: nn.linear %{{.+}}, %arg5, %arg6 : (tensor<2x6xf32>, tensor<8x6xf32>, tensor<8xf32>) -> tensor<2x8xf32>
// CHECK: nn.add %[[XS]], %{{.+}} : tensor<2x1x8xf32>
// CHECK: nn.layer_norm %{{.+}}, %arg1, %arg2 : (tensor<2x1x8xf32>
// CHECK-NOT: nn.slice
// CHECK: return
func.func @last_position(%x: tensor<2x4x8xf32>, %g: tensor<8xf32>, %b: tensor<8xf32>,
                         %w1: tensor<6x8xf32>, %b1: tensor<6xf32>,
                         %w2: tensor<8x6xf32>, %b2: tensor<8xf32>) -> tensor<2x1x8xf32> {
  %rows = nn.reshape %x : tensor<2x4x8xf32> -> tensor<8x8xf32>
  %h = nn.linear %rows, %w1, %b1 : (tensor<8x8xf32>, tensor<6x8xf32>, tensor<6xf32>) -> tensor<8x6xf32>
  %r = nn.relu %h : tensor<8x6xf32>
  %o = nn.linear %r, %w2, %b2 : (tensor<8x6xf32>, tensor<8x6xf32>, tensor<8xf32>) -> tensor<8x8xf32>
  %o3 = nn.reshape %o : tensor<8x8xf32> -> tensor<2x4x8xf32>
  %sum = nn.add %x, %o3 : tensor<2x4x8xf32>
  %n = nn.layer_norm %sum, %g, %b : (tensor<2x4x8xf32>, tensor<8xf32>, tensor<8xf32>) -> tensor<2x4x8xf32>
  %s = nn.slice %n {offsets = array<i64: 0, 3, 0>, sizes = array<i64: 2, 1, 8>, strides = array<i64: 1, 1, 1>} : (tensor<2x4x8xf32>) -> tensor<2x1x8xf32>
  return %s : tensor<2x1x8xf32>
}

// A value something else reads in full keeps its producer whole: only a
// slice of it is taken.
// CHECK-LABEL: func.func @shared
// CHECK: %[[N:.+]] = nn.layer_norm %arg0, %arg1, %arg2 : (tensor<2x4x8xf32>
// CHECK: nn.slice %[[N]]
func.func @shared(%x: tensor<2x4x8xf32>, %g: tensor<8xf32>, %b: tensor<8xf32>) -> (tensor<2x1x8xf32>, tensor<2x4x8xf32>) {
  %n = nn.layer_norm %x, %g, %b : (tensor<2x4x8xf32>, tensor<8xf32>, tensor<8xf32>) -> tensor<2x4x8xf32>
  %s = nn.slice %n {offsets = array<i64: 0, 3, 0>, sizes = array<i64: 2, 1, 8>, strides = array<i64: 1, 1, 1>} : (tensor<2x4x8xf32>) -> tensor<2x1x8xf32>
  return %s, %n : tensor<2x1x8xf32>, tensor<2x4x8xf32>
}

// A slice of features (not whole rows) does not commute with layer norm.
// CHECK-LABEL: func.func @features
// CHECK: nn.layer_norm %arg0
// CHECK: nn.slice
func.func @features(%x: tensor<2x8xf32>, %g: tensor<8xf32>, %b: tensor<8xf32>) -> tensor<2x4xf32> {
  %n = nn.layer_norm %x, %g, %b : (tensor<2x8xf32>, tensor<8xf32>, tensor<8xf32>) -> tensor<2x8xf32>
  %s = nn.slice %n {offsets = array<i64: 0, 0>, sizes = array<i64: 2, 4>, strides = array<i64: 1, 1>} : (tensor<2x8xf32>) -> tensor<2x4xf32>
  return %s : tensor<2x4xf32>
}
