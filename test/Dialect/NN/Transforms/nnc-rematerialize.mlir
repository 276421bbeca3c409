// RUN: nnc-opt %s --nnc-autodiff="learning-rate=0.5" --nnc-plan-checkpoints="strategy=dp budget=2700" --nnc-rematerialize | FileCheck %s
// RUN: nnc-opt %s --nnc-autodiff --nnc-plan-checkpoints="strategy=recompute-all" --nnc-rematerialize | FileCheck %s --check-prefix=RECOMPUTE
// RUN: nnc-opt %s --nnc-autodiff="optimizer=adam grad-norms" --nnc-plan-checkpoints="strategy=dp budget=2700" --nnc-rematerialize | FileCheck %s --check-prefix=ADAM

// The dp plan for this budget is
//   F_ck 1, F_n 2, F_n 3, F_all 4, B 4, Discard a3, F_ck 1, F_n 2, F_all 3,
//   B 3, Discard a2, F_all 1, F_all 2, B 2, B 1:
// layers 1-3 run forward again before the backward of layer 3, with exactly
// the ops of the first time (marked nn.recomputed). Each SGD update follows
// the backward that completes its gradient.

// CHECK-LABEL: func.func @net_train_step(
// CHECK: nn.linear %arg0, %arg2 {nn.stage = 1 : i64}
// CHECK: %[[A3:.+]] = nn.relu {{.+}} {nn.stage = 3 : i64}
// CHECK: %[[LOSS:.+]] = nn.mse_loss {{.+}} {nn.stage = 4 : i64}
// CHECK: nn.mse_loss_grad
// CHECK: %[[DW4:.+]] = nn.matmul %{{.+}}, %[[A3]] {transpose_lhs}
// CHECK-NEXT: %[[LR:.+]] = arith.constant dense<5.000000e-01> : tensor<f32>
// CHECK-NEXT: %[[W4:.+]] = nn.sgd %arg5, %[[DW4]], %[[LR]]
// CHECK-NEXT: nn.linear %arg0, %arg2 {nn.recomputed, nn.stage = 1 : i64}
// CHECK: %[[RA2:.+]] = nn.relu {{.+}} {nn.recomputed, nn.stage = 2 : i64}
// CHECK: %[[RA3:.+]] = nn.relu {{.+}} {nn.recomputed, nn.stage = 3 : i64}
// CHECK-NEXT: nn.relu_grad %[[RA3]],
// CHECK: %[[DW3:.+]] = nn.matmul %{{.+}}, %[[RA2]] {transpose_lhs}
// CHECK-NEXT: %[[W3:.+]] = nn.sgd %arg4, %[[DW3]], %[[LR]]
// CHECK-NEXT: nn.linear %arg0, %arg2 {nn.recomputed, nn.stage = 1 : i64}
// CHECK: return %[[LOSS]], %{{.+}}, %{{.+}}, %[[W3]], %[[W4]]

// Adam with gradient norms: the norm and the update (with its state) move
// with the gradient they read, right after the backward that completes it,
// and the results keep their order.
// ADAM-LABEL: func.func @net_train_step(
// ADAM: %[[DW4:.+]] = nn.matmul %{{.+}}, %{{.+}} {transpose_lhs}
// ADAM-NEXT: %[[N4:.+]] = nn.norm %[[DW4]]
// ADAM-NEXT: %[[W4:.+]], %[[M4:.+]], %[[V4:.+]] = nn.adam_update %arg5, %[[DW4]], %arg12, %arg13, %arg14, %arg15
// ADAM-NEXT: nn.linear %arg0, %arg2 {nn.recomputed, nn.stage = 1 : i64}
// ADAM: %[[DW1:.+]] = nn.matmul %{{.+}}, %arg0 {transpose_lhs}
// ADAM-NEXT: %[[N1:.+]] = nn.norm %[[DW1]]
// ADAM-NEXT: %[[W1:.+]], %[[M1:.+]], %[[V1:.+]] = nn.adam_update %arg2, %[[DW1]], %arg6, %arg7, %arg14, %arg15
// ADAM-NEXT: return %{{.+}}, %[[W1]], %{{.+}}, %{{.+}}, %[[W4]], %[[M1]], %[[V1]], %{{.+}}, %{{.+}}, %{{.+}}, %{{.+}}, %[[M4]], %[[V4]], %[[N1]], %{{.+}}, %{{.+}}, %[[N4]] :

// Recompute-all: stage 1 runs once per backward of stages 4..1.
// RECOMPUTE-LABEL: func.func @net_grad(
// RECOMPUTE: nn.linear %arg0, %arg2 {nn.stage = 1 : i64}
// RECOMPUTE-COUNT-3: nn.linear %arg0, %arg2 {nn.recomputed, nn.stage = 1 : i64}
// RECOMPUTE-NOT: nn.linear %arg0, %arg2
// RECOMPUTE: return

func.func @net(%x: tensor<8x16xf32>, %t: tensor<8x16xf32>,
               %w1: tensor<16x16xf32> {nn.param}, %w2: tensor<16x16xf32> {nn.param},
               %w3: tensor<16x16xf32> {nn.param}, %w4: tensor<16x16xf32> {nn.param}) -> tensor<f32> {
  %1 = nn.linear %x, %w1 : (tensor<8x16xf32>, tensor<16x16xf32>) -> tensor<8x16xf32>
  %2 = nn.relu %1 : tensor<8x16xf32>
  %3 = nn.linear %2, %w2 : (tensor<8x16xf32>, tensor<16x16xf32>) -> tensor<8x16xf32>
  %4 = nn.relu %3 : tensor<8x16xf32>
  %5 = nn.linear %4, %w3 : (tensor<8x16xf32>, tensor<16x16xf32>) -> tensor<8x16xf32>
  %6 = nn.relu %5 : tensor<8x16xf32>
  %7 = nn.linear %6, %w4 : (tensor<8x16xf32>, tensor<16x16xf32>) -> tensor<8x16xf32>
  %l = nn.mse_loss %7, %t : (tensor<8x16xf32>, tensor<8x16xf32>) -> tensor<f32>
  return %l : tensor<f32>
}
