// RUN: nnc-opt %s --nnc-fuse-updates | FileCheck %s

// A weight whose whole gradient is one matmul is updated by that matmul,
// where the matmul was; the gradient tensor is gone.
// CHECK-LABEL: func.func @step
// CHECK: %[[W:.+]] = nn.sgd_matmul %arg2, %arg1, %arg0, %arg3 {nn.stage = 1 : i64, transpose_lhs}
// CHECK-NEXT: %[[DX:.+]] = nn.matmul %arg1, %arg2 :
// CHECK-NOT: nn.sgd %
// CHECK: return %[[W]], %[[DX]]
func.func @step(%x: tensor<8x4xf32>, %dy: tensor<8x3xf32>, %w: tensor<3x4xf32>, %lr: tensor<f32>) -> (tensor<3x4xf32>, tensor<8x4xf32>) {
  %dw = nn.matmul %dy, %x {transpose_lhs, nn.stage = 1 : i64} : (tensor<8x3xf32>, tensor<8x4xf32>) -> tensor<3x4xf32>
  %dx = nn.matmul %dy, %w : (tensor<8x3xf32>, tensor<3x4xf32>) -> tensor<8x4xf32>
  %w2 = nn.sgd %w, %dw, %lr : tensor<3x4xf32>
  return %w2, %dx : tensor<3x4xf32>, tensor<8x4xf32>
}

// A gradient that is also used elsewhere (or accumulated) is left alone.
// CHECK-LABEL: func.func @shared
// CHECK: nn.matmul
// CHECK: nn.sgd %
// CHECK-NOT: nn.sgd_matmul
func.func @shared(%x: tensor<8x4xf32>, %dy: tensor<8x3xf32>, %w: tensor<3x4xf32>, %lr: tensor<f32>) -> (tensor<3x4xf32>, tensor<3x4xf32>) {
  %dw = nn.matmul %dy, %x {transpose_lhs} : (tensor<8x3xf32>, tensor<8x4xf32>) -> tensor<3x4xf32>
  %w2 = nn.sgd %w, %dw, %lr : tensor<3x4xf32>
  return %w2, %dw : tensor<3x4xf32>, tensor<3x4xf32>
}

// Weight decay puts the weight into the gradient: not fused.
// CHECK-LABEL: func.func @decay
// CHECK: nn.matmul
// CHECK: nn.sgd %{{.+}} {weight_decay
// CHECK-NOT: nn.sgd_matmul
func.func @decay(%x: tensor<8x4xf32>, %dy: tensor<8x3xf32>, %w: tensor<3x4xf32>, %lr: tensor<f32>) -> tensor<3x4xf32> {
  %dw = nn.matmul %dy, %x {transpose_lhs} : (tensor<8x3xf32>, tensor<8x4xf32>) -> tensor<3x4xf32>
  %w2 = nn.sgd %w, %dw, %lr {weight_decay = 0.01} : tensor<3x4xf32>
  return %w2 : tensor<3x4xf32>
}
