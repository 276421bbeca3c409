// RUN: nnc-opt %s -split-input-file --nnc-fuse-updates -verify-diagnostics

// A plan made without fused updates counted the weight gradient's buffer:
// fusing would leave its peak and arena wrong, so the pass refuses.
func.func @step(%x: tensor<8x4xf32>, %dy: tensor<8x3xf32>, %w: tensor<3x4xf32>, %lr: tensor<f32>) -> tensor<3x4xf32>
    attributes {nn.checkpoint = #nn.checkpoint_plan<strategy = store_all, stages = 1, schedule = [F_all 1, B 1]>} {
  %dw = nn.matmul %dy, %x {transpose_lhs, nn.stage = 1 : i64} : (tensor<8x3xf32>, tensor<8x4xf32>) -> tensor<3x4xf32>
  // expected-error @+1 {{nnc-fuse-updates: the checkpoint plan of 'step' was made without fused updates (no 'fused_updates = true'); plan with nnc-plan-checkpoints{fused-updates=true} or do not run nnc-fuse-updates}}
  %w2 = nn.sgd %w, %dw, %lr : tensor<3x4xf32>
  return %w2 : tensor<3x4xf32>
}

// -----

// The same function under a plan that says so is fused.
func.func @step(%x: tensor<8x4xf32>, %dy: tensor<8x3xf32>, %w: tensor<3x4xf32>, %lr: tensor<f32>) -> tensor<3x4xf32>
    attributes {nn.checkpoint = #nn.checkpoint_plan<strategy = store_all, stages = 1, schedule = [F_all 1, B 1], fused_updates = true>} {
  %dw = nn.matmul %dy, %x {transpose_lhs, nn.stage = 1 : i64} : (tensor<8x3xf32>, tensor<8x4xf32>) -> tensor<3x4xf32>
  %w2 = nn.sgd %w, %dw, %lr : tensor<3x4xf32>
  return %w2 : tensor<3x4xf32>
}
