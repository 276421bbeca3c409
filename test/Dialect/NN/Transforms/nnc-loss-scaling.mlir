// RUN: nnc-opt %s --nnc-loss-scaling | FileCheck %s
// RUN: nnc-opt %s --nnc-loss-scaling="growth-factor=4 backoff-factor=0.25 growth-interval=100" | FileCheck %s --check-prefix=OPTS

// A training step (one weight with momentum, one bias with SGD, a gradient
// norm): the seed times the caller's scale starts the backward; each update
// and norm reads its gradient unscaled; one check of all gradients keeps
// or drops every update; the scale state comes back last.

// CHECK-LABEL: func.func @step
// CHECK-SAME: %[[SCALE:[^:]+]]: tensor<f32> {nn.name = "loss_scale"}, %[[GOOD:[^:]+]]: tensor<f32> {nn.name = "good_steps"})
// CHECK-SAME: -> (tensor<f32>, tensor<3x4xf32>, tensor<3x4xf32>, tensor<3xf32>, tensor<f32>, tensor<f32> {nn.name = "new_loss_scale"}, tensor<f32> {nn.name = "new_good_steps"})
// CHECK: %[[SEED:.+]] = arith.constant {nn.grad_seed} dense<1.000000e+00> : tensor<f32>
// CHECK-NEXT: %[[SCALED:.+]] = nn.mul %[[SEED]], %[[SCALE]] : tensor<f32>
// CHECK-NEXT: nn.mse_loss_grad %{{.+}}, %{{.+}}, %[[SCALED]]
// CHECK: %[[DW:.+]] = nn.matmul
// CHECK-NEXT: %[[UW:.+]] = nn.unscale %[[DW]], %[[SCALE]] : tensor<3x4xf32>, tensor<f32>
// CHECK-NEXT: %[[NW:.+]], %[[NV:.+]] = nn.momentum_update %arg2, %[[UW]], %arg3
// CHECK: %[[DB:.+]] = nn.reduce_sum
// CHECK-NEXT: %[[UB:.+]] = nn.unscale %[[DB]], %[[SCALE]] : tensor<3xf32>, tensor<f32>
// CHECK-NEXT: %[[NB:.+]] = nn.sgd %arg4, %[[UB]]
// CHECK-NEXT: nn.norm %[[UB]]
// CHECK-NEXT: %[[OK:.+]] = nn.all_finite %[[UW]], %[[UB]] : tensor<3x4xf32>, tensor<3xf32> -> tensor<f32>
// CHECK-NEXT: %[[SW:.+]] = nn.select %[[OK]], %[[NW]], %arg2 : tensor<f32>, tensor<3x4xf32>
// CHECK-NEXT: %[[SV:.+]] = nn.select %[[OK]], %[[NV]], %arg3 : tensor<f32>, tensor<3x4xf32>
// CHECK-NEXT: %[[SB:.+]] = nn.select %[[OK]], %[[NB]], %arg4 : tensor<f32>, tensor<3xf32>
// CHECK-NEXT: %[[NS:.+]], %[[NG:.+]] = nn.loss_scale_update %[[OK]], %[[SCALE]], %[[GOOD]] {backoff_factor = 5.000000e-01 : f64, growth_factor = 2.000000e+00 : f64, growth_interval = 2000 : i64} : tensor<f32>
// CHECK-NEXT: return %{{.+}}, %[[SW]], %[[SV]], %[[SB]], %{{.+}}, %[[NS]], %[[NG]]
// OPTS: nn.loss_scale_update {{.+}} {backoff_factor = 2.500000e-01 : f64, growth_factor = 4.000000e+00 : f64, growth_interval = 100 : i64}
func.func @step(%x: tensor<8x4xf32>, %y: tensor<8x3xf32>, %w: tensor<3x4xf32>,
                %v: tensor<3x4xf32>, %b: tensor<3xf32>, %lr: tensor<f32>)
    -> (tensor<f32>, tensor<3x4xf32>, tensor<3x4xf32>, tensor<3xf32>, tensor<f32>)
    attributes {nn.entry = #nn.entry<train_step>} {
  %out = nn.linear %x, %w, %b : (tensor<8x4xf32>, tensor<3x4xf32>, tensor<3xf32>) -> tensor<8x3xf32>
  %loss = nn.mse_loss %out, %y : (tensor<8x3xf32>, tensor<8x3xf32>) -> tensor<f32>
  %seed = arith.constant {nn.grad_seed} dense<1.0> : tensor<f32>
  %dy = nn.mse_loss_grad %out, %y, %seed : (tensor<8x3xf32>, tensor<8x3xf32>, tensor<f32>) -> tensor<8x3xf32>
  %dw = nn.matmul %dy, %x {transpose_lhs} : (tensor<8x3xf32>, tensor<8x4xf32>) -> tensor<3x4xf32>
  %nw, %nv = nn.momentum_update %w, %dw, %v, %lr {momentum = 0.9} : tensor<3x4xf32>
  %db = nn.reduce_sum %dy {dim = 0 : i64} : (tensor<8x3xf32>) -> tensor<3xf32>
  %nb = nn.sgd %b, %db, %lr : tensor<3xf32>
  %n = nn.norm %db : tensor<3xf32> -> tensor<f32>
  return %loss, %nw, %nv, %nb, %n : tensor<f32>, tensor<3x4xf32>, tensor<3x4xf32>, tensor<3xf32>, tensor<f32>
}
