// RUN: nnc-opt %s --nnc-rematerialize -split-input-file -verify-diagnostics

// Every error nnc-rematerialize reports, each on a hand-written plan (the
// dialect already rejects plans that name stages outside [1, stages]).

// A backward needs the values of its stage's last F_all.
// expected-error @+1 {{checkpoint schedule runs B 2 without a preceding F_all 2}}
func.func @no_fall(%x: tensor<2x4xf32>, %t: tensor<2x4xf32>, %w1: tensor<4x4xf32> {nn.param}, %w2: tensor<4x4xf32> {nn.param}) -> (tensor<f32>, tensor<4x4xf32>, tensor<4x4xf32>) attributes {nn.checkpoint = #nn.checkpoint_plan<strategy = dp, stages = 2, schedule = [F_ck 1, F_n 2, B 2, F_all 1, B 1]>, nn.entry = #nn.entry<grad>} {
  %0 = nn.linear %x, %w1 {nn.stage = 1 : i64} : (tensor<2x4xf32>, tensor<4x4xf32>) -> tensor<2x4xf32>
  %1 = nn.relu %0 {nn.stage = 1 : i64} : tensor<2x4xf32>
  %2 = nn.linear %1, %w2 {nn.stage = 2 : i64} : (tensor<2x4xf32>, tensor<4x4xf32>) -> tensor<2x4xf32>
  %3 = nn.mse_loss %2, %t {nn.stage = 2 : i64} : (tensor<2x4xf32>, tensor<2x4xf32>) -> tensor<f32>
  %cst = arith.constant {nn.grad_seed} dense<1.000000e+00> : tensor<f32>
  %4 = nn.mse_loss_grad %2, %t, %cst : (tensor<2x4xf32>, tensor<2x4xf32>, tensor<f32>) -> tensor<2x4xf32>
  %5 = nn.matmul %4, %w2 : (tensor<2x4xf32>, tensor<4x4xf32>) -> tensor<2x4xf32>
  %6 = nn.matmul %4, %1 {transpose_lhs} : (tensor<2x4xf32>, tensor<2x4xf32>) -> tensor<4x4xf32>
  %7 = nn.relu_grad %1, %5 : tensor<2x4xf32>
  %8 = nn.matmul %7, %x {transpose_lhs} : (tensor<2x4xf32>, tensor<2x4xf32>) -> tensor<4x4xf32>
  return %3, %8, %6 : tensor<f32>, tensor<4x4xf32>, tensor<4x4xf32>
}

// -----

// B 1 ends the schedule.
// expected-error @+1 {{checkpoint schedule continues after B 1}}
func.func @after_b1(%x: tensor<2x4xf32>, %t: tensor<2x4xf32>, %w1: tensor<4x4xf32> {nn.param}, %w2: tensor<4x4xf32> {nn.param}) -> (tensor<f32>, tensor<4x4xf32>, tensor<4x4xf32>) attributes {nn.checkpoint = #nn.checkpoint_plan<strategy = dp, stages = 2, schedule = [F_all 1, F_all 2, B 2, B 1, F_all 1]>, nn.entry = #nn.entry<grad>} {
  %0 = nn.linear %x, %w1 {nn.stage = 1 : i64} : (tensor<2x4xf32>, tensor<4x4xf32>) -> tensor<2x4xf32>
  %1 = nn.relu %0 {nn.stage = 1 : i64} : tensor<2x4xf32>
  %2 = nn.linear %1, %w2 {nn.stage = 2 : i64} : (tensor<2x4xf32>, tensor<4x4xf32>) -> tensor<2x4xf32>
  %3 = nn.mse_loss %2, %t {nn.stage = 2 : i64} : (tensor<2x4xf32>, tensor<2x4xf32>) -> tensor<f32>
  %cst = arith.constant {nn.grad_seed} dense<1.000000e+00> : tensor<f32>
  %4 = nn.mse_loss_grad %2, %t, %cst : (tensor<2x4xf32>, tensor<2x4xf32>, tensor<f32>) -> tensor<2x4xf32>
  %5 = nn.matmul %4, %w2 : (tensor<2x4xf32>, tensor<4x4xf32>) -> tensor<2x4xf32>
  %6 = nn.matmul %4, %1 {transpose_lhs} : (tensor<2x4xf32>, tensor<2x4xf32>) -> tensor<4x4xf32>
  %7 = nn.relu_grad %1, %5 : tensor<2x4xf32>
  %8 = nn.matmul %7, %x {transpose_lhs} : (tensor<2x4xf32>, tensor<2x4xf32>) -> tensor<4x4xf32>
  return %3, %8, %6 : tensor<f32>, tensor<4x4xf32>, tensor<4x4xf32>
}

// -----

// The loss must come out of some forward action.
// expected-error @+1 {{checkpoint schedule never computes the loss}}
func.func @no_loss(%x: tensor<2x4xf32>, %t: tensor<2x4xf32>, %w1: tensor<4x4xf32> {nn.param}, %w2: tensor<4x4xf32> {nn.param}) -> (tensor<f32>, tensor<4x4xf32>, tensor<4x4xf32>) attributes {nn.checkpoint = #nn.checkpoint_plan<strategy = dp, stages = 2, schedule = [F_all 1]>, nn.entry = #nn.entry<grad>} {
  %0 = nn.linear %x, %w1 {nn.stage = 1 : i64} : (tensor<2x4xf32>, tensor<4x4xf32>) -> tensor<2x4xf32>
  %1 = nn.relu %0 {nn.stage = 1 : i64} : tensor<2x4xf32>
  %2 = nn.linear %1, %w2 {nn.stage = 2 : i64} : (tensor<2x4xf32>, tensor<4x4xf32>) -> tensor<2x4xf32>
  %3 = nn.mse_loss %2, %t {nn.stage = 2 : i64} : (tensor<2x4xf32>, tensor<2x4xf32>) -> tensor<f32>
  %cst = arith.constant {nn.grad_seed} dense<1.000000e+00> : tensor<f32>
  %4 = nn.mse_loss_grad %2, %t, %cst : (tensor<2x4xf32>, tensor<2x4xf32>, tensor<f32>) -> tensor<2x4xf32>
  %5 = nn.matmul %4, %w2 : (tensor<2x4xf32>, tensor<4x4xf32>) -> tensor<2x4xf32>
  %6 = nn.matmul %4, %1 {transpose_lhs} : (tensor<2x4xf32>, tensor<2x4xf32>) -> tensor<4x4xf32>
  %7 = nn.relu_grad %1, %5 : tensor<2x4xf32>
  %8 = nn.matmul %7, %x {transpose_lhs} : (tensor<2x4xf32>, tensor<2x4xf32>) -> tensor<4x4xf32>
  return %3, %8, %6 : tensor<f32>, tensor<4x4xf32>, tensor<4x4xf32>
}

// -----

// A plan cannot have more stages than the function has ops.
// expected-error @+1 {{the checkpoint plan has 4000000000 stages but the function has only 11 ops}}
func.func @huge_plan(%x: tensor<2x4xf32>, %t: tensor<2x4xf32>, %w1: tensor<4x4xf32> {nn.param}, %w2: tensor<4x4xf32> {nn.param}) -> (tensor<f32>, tensor<4x4xf32>, tensor<4x4xf32>) attributes {nn.checkpoint = #nn.checkpoint_plan<strategy = dp, stages = 4000000000, schedule = [F_all 1, F_all 2, B 2, B 1]>, nn.entry = #nn.entry<grad>} {
  %0 = nn.linear %x, %w1 {nn.stage = 1 : i64} : (tensor<2x4xf32>, tensor<4x4xf32>) -> tensor<2x4xf32>
  %1 = nn.relu %0 {nn.stage = 1 : i64} : tensor<2x4xf32>
  %2 = nn.linear %1, %w2 {nn.stage = 2 : i64} : (tensor<2x4xf32>, tensor<4x4xf32>) -> tensor<2x4xf32>
  %3 = nn.mse_loss %2, %t {nn.stage = 2 : i64} : (tensor<2x4xf32>, tensor<2x4xf32>) -> tensor<f32>
  %cst = arith.constant {nn.grad_seed} dense<1.000000e+00> : tensor<f32>
  %4 = nn.mse_loss_grad %2, %t, %cst : (tensor<2x4xf32>, tensor<2x4xf32>, tensor<f32>) -> tensor<2x4xf32>
  %5 = nn.matmul %4, %w2 : (tensor<2x4xf32>, tensor<4x4xf32>) -> tensor<2x4xf32>
  %6 = nn.matmul %4, %1 {transpose_lhs} : (tensor<2x4xf32>, tensor<2x4xf32>) -> tensor<4x4xf32>
  %7 = nn.relu_grad %1, %5 : tensor<2x4xf32>
  %8 = nn.matmul %7, %x {transpose_lhs} : (tensor<2x4xf32>, tensor<2x4xf32>) -> tensor<4x4xf32>
  return %3, %8, %6 : tensor<f32>, tensor<4x4xf32>, tensor<4x4xf32>
}

// -----

// The plan's stage count must be the function's.
// expected-error @+1 {{the checkpoint plan has 3 stages but the function's forward ops are in 2}}
func.func @stage_count(%x: tensor<2x4xf32>, %t: tensor<2x4xf32>, %w1: tensor<4x4xf32> {nn.param}, %w2: tensor<4x4xf32> {nn.param}) -> (tensor<f32>, tensor<4x4xf32>, tensor<4x4xf32>) attributes {nn.checkpoint = #nn.checkpoint_plan<strategy = dp, stages = 3, schedule = [F_all 1, F_all 2, B 2, B 1]>, nn.entry = #nn.entry<grad>} {
  %0 = nn.linear %x, %w1 {nn.stage = 1 : i64} : (tensor<2x4xf32>, tensor<4x4xf32>) -> tensor<2x4xf32>
  %1 = nn.relu %0 {nn.stage = 1 : i64} : tensor<2x4xf32>
  %2 = nn.linear %1, %w2 {nn.stage = 2 : i64} : (tensor<2x4xf32>, tensor<4x4xf32>) -> tensor<2x4xf32>
  %3 = nn.mse_loss %2, %t {nn.stage = 2 : i64} : (tensor<2x4xf32>, tensor<2x4xf32>) -> tensor<f32>
  %cst = arith.constant {nn.grad_seed} dense<1.000000e+00> : tensor<f32>
  %4 = nn.mse_loss_grad %2, %t, %cst : (tensor<2x4xf32>, tensor<2x4xf32>, tensor<f32>) -> tensor<2x4xf32>
  %5 = nn.matmul %4, %w2 : (tensor<2x4xf32>, tensor<4x4xf32>) -> tensor<2x4xf32>
  %6 = nn.matmul %4, %1 {transpose_lhs} : (tensor<2x4xf32>, tensor<2x4xf32>) -> tensor<4x4xf32>
  %7 = nn.relu_grad %1, %5 : tensor<2x4xf32>
  %8 = nn.matmul %7, %x {transpose_lhs} : (tensor<2x4xf32>, tensor<2x4xf32>) -> tensor<4x4xf32>
  return %3, %8, %6 : tensor<f32>, tensor<4x4xf32>, tensor<4x4xf32>
}

// -----

// A stage beyond the plan's is rejected before anything is sized by it.
func.func @stage_beyond(%x: tensor<2x4xf32>, %t: tensor<2x4xf32>, %w1: tensor<4x4xf32> {nn.param}, %w2: tensor<4x4xf32> {nn.param}) -> (tensor<f32>, tensor<4x4xf32>, tensor<4x4xf32>) attributes {nn.checkpoint = #nn.checkpoint_plan<strategy = dp, stages = 2, schedule = [F_all 1, F_all 2, B 2, B 1]>, nn.entry = #nn.entry<grad>} {
  %0 = nn.linear %x, %w1 {nn.stage = 1 : i64} : (tensor<2x4xf32>, tensor<4x4xf32>) -> tensor<2x4xf32>
  %1 = nn.relu %0 {nn.stage = 1 : i64} : tensor<2x4xf32>
  // expected-error @+1 {{is in stage 9000000000 but the checkpoint plan has only 2 stages}}
  %2 = nn.linear %1, %w2 {nn.stage = 9000000000 : i64} : (tensor<2x4xf32>, tensor<4x4xf32>) -> tensor<2x4xf32>
  %3 = nn.mse_loss %2, %t {nn.stage = 9000000000 : i64} : (tensor<2x4xf32>, tensor<2x4xf32>) -> tensor<f32>
  %cst = arith.constant {nn.grad_seed} dense<1.000000e+00> : tensor<f32>
  %4 = nn.mse_loss_grad %2, %t, %cst : (tensor<2x4xf32>, tensor<2x4xf32>, tensor<f32>) -> tensor<2x4xf32>
  %5 = nn.matmul %4, %w2 : (tensor<2x4xf32>, tensor<4x4xf32>) -> tensor<2x4xf32>
  %6 = nn.matmul %4, %1 {transpose_lhs} : (tensor<2x4xf32>, tensor<2x4xf32>) -> tensor<4x4xf32>
  %7 = nn.relu_grad %1, %5 : tensor<2x4xf32>
  %8 = nn.matmul %7, %x {transpose_lhs} : (tensor<2x4xf32>, tensor<2x4xf32>) -> tensor<4x4xf32>
  return %3, %8, %6 : tensor<f32>, tensor<4x4xf32>, tensor<4x4xf32>
}

// -----

// Every stage of the plan has forward ops.
// expected-error @+1 {{stage 2 of the checkpoint plan has no forward op}}
func.func @empty_stage(%x: tensor<2x4xf32>, %t: tensor<2x4xf32>, %w1: tensor<4x4xf32> {nn.param}, %w2: tensor<4x4xf32> {nn.param}) -> (tensor<f32>, tensor<4x4xf32>, tensor<4x4xf32>) attributes {nn.checkpoint = #nn.checkpoint_plan<strategy = dp, stages = 3, schedule = [F_all 1, F_all 3, B 3, B 1]>, nn.entry = #nn.entry<grad>} {
  %0 = nn.linear %x, %w1 {nn.stage = 1 : i64} : (tensor<2x4xf32>, tensor<4x4xf32>) -> tensor<2x4xf32>
  %1 = nn.relu %0 {nn.stage = 1 : i64} : tensor<2x4xf32>
  %2 = nn.linear %1, %w2 {nn.stage = 3 : i64} : (tensor<2x4xf32>, tensor<4x4xf32>) -> tensor<2x4xf32>
  %3 = nn.mse_loss %2, %t {nn.stage = 3 : i64} : (tensor<2x4xf32>, tensor<2x4xf32>) -> tensor<f32>
  %cst = arith.constant {nn.grad_seed} dense<1.000000e+00> : tensor<f32>
  %4 = nn.mse_loss_grad %2, %t, %cst : (tensor<2x4xf32>, tensor<2x4xf32>, tensor<f32>) -> tensor<2x4xf32>
  %5 = nn.matmul %4, %w2 : (tensor<2x4xf32>, tensor<4x4xf32>) -> tensor<2x4xf32>
  %6 = nn.matmul %4, %1 {transpose_lhs} : (tensor<2x4xf32>, tensor<2x4xf32>) -> tensor<4x4xf32>
  %7 = nn.relu_grad %1, %5 : tensor<2x4xf32>
  %8 = nn.matmul %7, %x {transpose_lhs} : (tensor<2x4xf32>, tensor<2x4xf32>) -> tensor<4x4xf32>
  return %3, %8, %6 : tensor<f32>, tensor<4x4xf32>, tensor<4x4xf32>
}

// -----

// A forward action needs its stage's input.
func.func @early(%x: tensor<2x4xf32>, %t: tensor<2x4xf32>, %w1: tensor<4x4xf32> {nn.param}, %w2: tensor<4x4xf32> {nn.param}) -> (tensor<f32>, tensor<4x4xf32>, tensor<4x4xf32>) attributes {nn.checkpoint = #nn.checkpoint_plan<strategy = dp, stages = 2, schedule = [F_all 2, F_all 1, B 2, B 1]>, nn.entry = #nn.entry<grad>} {
  %0 = nn.linear %x, %w1 {nn.stage = 1 : i64} : (tensor<2x4xf32>, tensor<4x4xf32>) -> tensor<2x4xf32>
  %1 = nn.relu %0 {nn.stage = 1 : i64} : tensor<2x4xf32>
  // expected-error @+1 {{is recomputed by the schedule before its input is available}}
  %2 = nn.linear %1, %w2 {nn.stage = 2 : i64} : (tensor<2x4xf32>, tensor<4x4xf32>) -> tensor<2x4xf32>
  %3 = nn.mse_loss %2, %t {nn.stage = 2 : i64} : (tensor<2x4xf32>, tensor<2x4xf32>) -> tensor<f32>
  %cst = arith.constant {nn.grad_seed} dense<1.000000e+00> : tensor<f32>
  %4 = nn.mse_loss_grad %2, %t, %cst : (tensor<2x4xf32>, tensor<2x4xf32>, tensor<f32>) -> tensor<2x4xf32>
  %5 = nn.matmul %4, %w2 : (tensor<2x4xf32>, tensor<4x4xf32>) -> tensor<2x4xf32>
  %6 = nn.matmul %4, %1 {transpose_lhs} : (tensor<2x4xf32>, tensor<2x4xf32>) -> tensor<4x4xf32>
  %7 = nn.relu_grad %1, %5 : tensor<2x4xf32>
  %8 = nn.matmul %7, %x {transpose_lhs} : (tensor<2x4xf32>, tensor<2x4xf32>) -> tensor<4x4xf32>
  return %3, %8, %6 : tensor<f32>, tensor<4x4xf32>, tensor<4x4xf32>
}

// -----

// Without a gradient seed there is nothing to rematerialize.
// expected-error @+1 {{nnc-rematerialize needs a function planned by nnc-plan-checkpoints}}
func.func @no_seed(%x: tensor<2x4xf32>) -> tensor<2x4xf32> attributes {nn.checkpoint = #nn.checkpoint_plan<strategy = store_all, stages = 1, schedule = [F_all 1, B 1]>} {
  %0 = nn.relu %x {nn.stage = 1 : i64} : tensor<2x4xf32>
  return %0 : tensor<2x4xf32>
}

// -----

// An unstaged forward op is emitted before every stage, so it may not read
// a staged value (nnc-ir-fuzzer: the clone read a value not yet made).
func.func @unstaged(%x: tensor<2x4xf32>, %t: tensor<2x4xf32>, %w1: tensor<4x4xf32> {nn.param}, %w2: tensor<4x4xf32> {nn.param}) -> (tensor<f32>, tensor<4x4xf32>, tensor<4x4xf32>) attributes {nn.checkpoint = #nn.checkpoint_plan<strategy = store_all, stages = 2, schedule = [F_all 1, F_all 2, B 2, B 1]>, nn.entry = #nn.entry<grad>} {
  %0 = nn.linear %x, %w1 {nn.stage = 1 : i64} : (tensor<2x4xf32>, tensor<4x4xf32>) -> tensor<2x4xf32>
  %1 = nn.relu %0 {nn.stage = 1 : i64} : tensor<2x4xf32>
  %2 = nn.linear %1, %w2 {nn.stage = 2 : i64} : (tensor<2x4xf32>, tensor<4x4xf32>) -> tensor<2x4xf32>
  // expected-error @+1 {{'nn.mse_loss' op has no 'nn.stage' but reads a value of stage 2: every forward op after a staged one needs a stage}}
  %3 = nn.mse_loss %2, %t : (tensor<2x4xf32>, tensor<2x4xf32>) -> tensor<f32>
  %cst = arith.constant {nn.grad_seed} dense<1.000000e+00> : tensor<f32>
  %4 = nn.mse_loss_grad %2, %t, %cst : (tensor<2x4xf32>, tensor<2x4xf32>, tensor<f32>) -> tensor<2x4xf32>
  %5 = nn.matmul %4, %w2 : (tensor<2x4xf32>, tensor<4x4xf32>) -> tensor<2x4xf32>
  %6 = nn.matmul %4, %1 {transpose_lhs} : (tensor<2x4xf32>, tensor<2x4xf32>) -> tensor<4x4xf32>
  %7 = nn.relu_grad %1, %5 : tensor<2x4xf32>
  %8 = nn.matmul %7, %x {transpose_lhs} : (tensor<2x4xf32>, tensor<2x4xf32>) -> tensor<4x4xf32>
  return %3, %8, %6 : tensor<f32>, tensor<4x4xf32>, tensor<4x4xf32>
}
