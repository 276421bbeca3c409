// RUN: nnc-opt %s --nnc-autodiff --nnc-plan-checkpoints | FileCheck %s --check-prefix=STORE
// RUN: nnc-opt %s --nnc-autodiff --nnc-plan-checkpoints="strategy=recompute-all" | FileCheck %s --check-prefix=RECOMPUTE
// RUN: nnc-opt %s --nnc-autodiff --nnc-plan-checkpoints="strategy=dp budget=2200" | FileCheck %s --check-prefix=DP
// RUN: not nnc-opt %s --nnc-autodiff --nnc-plan-checkpoints="strategy=dp budget=100" 2>&1 | FileCheck %s --check-prefix=TOOSMALL
// RUN: not nnc-opt %s --nnc-autodiff --nnc-plan-checkpoints="strategy=magic" 2>&1 | FileCheck %s --check-prefix=UNKNOWN
// RUN: not nnc-opt %s --nnc-autodiff --nnc-plan-checkpoints="strategy=dp budget=lots" 2>&1 | FileCheck %s --check-prefix=BADBUDGET

// Four layers of 8x16 floats (512 bytes per activation). A layer — linear,
// then its activation — is one stage; the loss joins the last stage.

// STORE-LABEL: func.func @net_grad
// STORE-SAME: nn.checkpoint = {
// STORE-SAME: schedule = ["F_all 1", "F_all 2", "F_all 3", "F_all 4", "B 4", "B 3", "B 2", "B 1"]
// STORE-SAME: stages = 4 : i64
// STORE-SAME: strategy = "store-all"
// STORE: nn.linear {{.+}} {nn.stage = 1 : i64}
// STORE-NEXT: nn.relu {{.+}} {nn.stage = 1 : i64}
// STORE-NEXT: nn.linear {{.+}} {nn.stage = 2 : i64}
// STORE-NEXT: nn.relu {{.+}} {nn.stage = 2 : i64}
// STORE: nn.linear {{.+}} {nn.stage = 4 : i64}
// STORE-NEXT: nn.mse_loss {{.+}} {nn.stage = 4 : i64}

// Recompute-all keeps nothing but the input: O(n²) forward steps.
// RECOMPUTE: forward_steps = 10 : i64
// RECOMPUTE-SAME: recompute_cost = {{[1-9]}}

// Under a budget below store-all's peak the dp recomputes an activation.
// DP: budget_bytes = 2200 : i64
// DP-SAME: peak_bytes = [[PEAK:[0-9]+]] : i64
// DP-SAME: recompute_cost = {{[1-9]}}
// DP-SAME: "B 4", {{.*}}"F_all 2", "F_all 3", "B 3", "B 2", "B 1"]

// TOOSMALL: error: checkpoint planning of 'net_grad' failed: budget 100 B (100 bytes) is below the minimum feasible 1.51 KiB (1544 bytes)
// UNKNOWN: error: checkpoint planning of 'net_grad' failed: unknown strategy 'magic'
// BADBUDGET: error: nnc-plan-checkpoints: bad budget 'lots'

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
