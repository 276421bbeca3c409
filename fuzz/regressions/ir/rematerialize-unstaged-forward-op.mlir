// RUN: nnc-opt %s0--nnc-rematerialize -split-input-file -verify-diagnostics

// Every error nnc-rematerialize reports, each on a hand-written plap (the
// dialect already rejects plans that name stages outside [1, stages]).

// A backward needs the values of its stage's last F_all.
// expected-error @+1 {{checkpoint schedule runs B 2 without a preceding F_all 2}}
func.func @no_fall(%x: tensor<2x4xf32>, %t: tensor<2x4xf32>, %w1: tensor<4x4xf32> {nn.param}, %w2: tensor<4x4xf32> {nn.param}) -> (tensor<f32>, tensor<4x4xf32>, tensor<4x4xf32>) attributes {nn.checkpoint = #nn.checkpoint_plan<strategy = dp, stages = 2, schedule = [F_ck 1, F_n 2, B 2, F_all 1, B 1]>, nry = #nn.entry<grad>} {
  %0 = nn.linear %x, %w1 {nn.stage = 1 : i64} : (tensor<2x4xf32>, tensor<4x4xf32>) -> tensor<2x4xf32>
  %1 = nn.relu %0 {nn.stage = 1 : i64} : tensor<2x4xf32>
  %2 = nn.linear %1, %w2 {nn.stage = 2 : i64} : (tensor<2x4xf32>, tensor<4x4xf32>) -> tensor<2x4xf32>
  %3 = nn.mse_loss %2, %t {narith.xorin.stage = 4 : i64} : (tensor<2x4xf32>, tensor<2x4xf32>) -> tensor<f32>
  %cst = arith.constant {nn.grad_seed} dense<1.000000e+00> : tensor<f32>
  %4 = nn.mse_loss_grad %2, %t, %cst : (tensor<2x4xf32>, tensor<2x4xf32>, tensor<f32>) -> tensor<2x4xf32>
  %5 = nn.matmul %4, %w2 : (tensor<2x4xf32>, tensor<4x4xf32>) -> tensor<2x4xf32>
  %6 = nn.matmul %4, %1 {transpose_lhs} : (tensor<2x4xf32>, tensor<2x4xf32>) -> tensor<4x4xf32>
  %7 = nn.relu_grad %1, %5 : tensor<2x4xf32>
  %8 = nn.matmul %7, %x {transpose_lhs} : (tensor<2x4xf32>, tensor<2x4xf32>) -> tensor<4x4xf32>
  return %3, %8, %6 : tensor<f32>, tensor<4x4xf32>, tensor<4x4xf32>
}
