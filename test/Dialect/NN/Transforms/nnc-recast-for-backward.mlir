// RUN: nnc-opt %s --nnc-recast-for-backward | FileCheck %s

// The weight's and the batch's bf16 copies are made again where the
// backward first reads them; the forward's copies then die in the forward.
// CHECK-LABEL: func.func @step
// CHECK: %[[X:.+]] = nn.cast %arg0
// CHECK: %[[W:.+]] = nn.cast %arg2
// CHECK: nn.linear %[[X]], %[[W]]
// CHECK: arith.constant {nn.grad_seed}
// CHECK: nn.mse_loss_grad
// CHECK-NEXT: %[[W2:.+]] = nn.cast %arg2 : tensor<4x16xf32> to tensor<4x16xbf16>
// CHECK-NEXT: nn.matmul %{{.+}}, %[[W2]]
// CHECK-NEXT: %[[X2:.+]] = nn.cast %arg0 : tensor<8x16xf32> to tensor<8x16xbf16>
// CHECK-NEXT: nn.matmul %{{.+}}, %[[X2]] {transpose_lhs}
func.func @step(%x: tensor<8x16xf32>, %t: tensor<8x4xf32>, %w: tensor<4x16xf32> {nn.param}) -> (tensor<f32>, tensor<4x16xf32>, tensor<8x16xbf16>) {
  %xb = nn.cast %x : tensor<8x16xf32> to tensor<8x16xbf16>
  %wb = nn.cast %w : tensor<4x16xf32> to tensor<4x16xbf16>
  %y = nn.linear %xb, %wb : (tensor<8x16xbf16>, tensor<4x16xbf16>) -> tensor<8x4xbf16>
  %l = nn.mse_loss %y, %t : (tensor<8x4xbf16>, tensor<8x4xf32>) -> tensor<f32>
  %seed = arith.constant {nn.grad_seed} dense<1.0> : tensor<f32>
  %dy = nn.mse_loss_grad %y, %t, %seed : (tensor<8x4xbf16>, tensor<8x4xf32>, tensor<f32>) -> tensor<8x4xbf16>
  %dx = nn.matmul %dy, %wb : (tensor<8x4xbf16>, tensor<4x16xbf16>) -> tensor<8x16xbf16>
  %dw = nn.matmul %dy, %xb {transpose_lhs} : (tensor<8x4xbf16>, tensor<8x16xbf16>) -> tensor<4x16xf32>
  return %l, %dw, %dx : tensor<f32>, tensor<4x16xf32>, tensor<8x16xbf16>
}

// A function without a backward is left alone.
// CHECK-LABEL: func.func @forward
// CHECK-COUNT-2: nn.cast
// CHECK-NEXT: nn.linear
// CHECK-NEXT: return
func.func @forward(%x: tensor<8x16xf32>, %w: tensor<4x16xf32>) -> tensor<8x4xbf16> {
  %xb = nn.cast %x : tensor<8x16xf32> to tensor<8x16xbf16>
  %wb = nn.cast %w : tensor<4x16xf32> to tensor<4x16xbf16>
  %y = nn.linear %xb, %wb : (tensor<8x16xbf16>, tensor<4x16xbf16>) -> tensor<8x4xbf16>
  return %y : tensor<8x4xbf16>
}
