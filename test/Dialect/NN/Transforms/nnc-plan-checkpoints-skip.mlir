// RUN: nnc-opt %s --nnc-autodiff --nnc-plan-checkpoints="strategy=recompute-all" | FileCheck %s
// RUN: nnc-opt %s --nnc-autodiff --nnc-plan-checkpoints="strategy=recompute-all" --nnc-rematerialize --convert-nn-to-linalg --nnc-verify-no-nn | FileCheck %s --check-prefix=LOWERED

// A residual block: %2 skips over two layers into the nn.add. No value
// inside the block is an articulation point (a later op still reads %2), so
// the whole block, up to the relu after the add, is one stage; the chain is
// the layer before it, the block, and the loss layer.

// CHECK-LABEL: func.func @res_grad
// CHECK-SAME: stages = 3,
// CHECK: nn.linear %arg0, %arg2 {nn.stage = 1 : i64}
// CHECK-NEXT: nn.relu {{.+}} {nn.stage = 1 : i64}
// CHECK-NEXT: nn.linear {{.+}} {nn.stage = 2 : i64}
// CHECK-NEXT: nn.relu {{.+}} {nn.stage = 2 : i64}
// CHECK-NEXT: nn.linear {{.+}} {nn.stage = 2 : i64}
// CHECK-NEXT: nn.add {{.+}} {nn.stage = 2 : i64}
// CHECK-NEXT: nn.relu {{.+}} {nn.stage = 2 : i64}
// CHECK-NEXT: nn.linear {{.+}} {nn.stage = 3 : i64}
// CHECK-NEXT: nn.mse_loss {{.+}} {nn.stage = 3 : i64}

// LOWERED-LABEL: func.func @res_grad
// LOWERED: return

func.func @res(%x: tensor<8x16xf32>, %t: tensor<8x16xf32>,
               %w1: tensor<16x16xf32> {nn.param}, %w2: tensor<16x16xf32> {nn.param},
               %w3: tensor<16x16xf32> {nn.param}, %w4: tensor<16x16xf32> {nn.param}) -> tensor<f32> {
  %1 = nn.linear %x, %w1 : (tensor<8x16xf32>, tensor<16x16xf32>) -> tensor<8x16xf32>
  %2 = nn.relu %1 : tensor<8x16xf32>
  %3 = nn.linear %2, %w2 : (tensor<8x16xf32>, tensor<16x16xf32>) -> tensor<8x16xf32>
  %4 = nn.relu %3 : tensor<8x16xf32>
  %5 = nn.linear %4, %w3 : (tensor<8x16xf32>, tensor<16x16xf32>) -> tensor<8x16xf32>
  %6 = nn.add %5, %2 : tensor<8x16xf32>
  %7 = nn.relu %6 : tensor<8x16xf32>
  %8 = nn.linear %7, %w4 : (tensor<8x16xf32>, tensor<16x16xf32>) -> tensor<8x16xf32>
  %l = nn.mse_loss %8, %t : (tensor<8x16xf32>, tensor<8x16xf32>) -> tensor<f32>
  return %l : tensor<f32>
}
