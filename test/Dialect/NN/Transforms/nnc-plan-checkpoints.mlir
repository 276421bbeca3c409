// RUN: nnc-opt %s --nnc-autodiff --nnc-plan-checkpoints | FileCheck %s --check-prefix=STORE
// RUN: nnc-opt %s --nnc-autodiff --nnc-plan-checkpoints="strategy=recompute-all" | FileCheck %s --check-prefix=RECOMPUTE
// RUN: nnc-opt %s --nnc-autodiff --nnc-plan-checkpoints="strategy=dp budget=2200" | FileCheck %s --check-prefix=DP
// RUN: not nnc-opt %s --nnc-autodiff --nnc-plan-checkpoints="strategy=dp budget=100" 2>&1 | FileCheck %s --check-prefix=TOOSMALL
// RUN: not nnc-opt %s --nnc-autodiff --nnc-plan-checkpoints="strategy=magic" 2>&1 | FileCheck %s --check-prefix=UNKNOWN
// RUN: not nnc-opt %s --nnc-autodiff --nnc-plan-checkpoints="strategy=dp budget=lots" 2>&1 | FileCheck %s --check-prefix=BADBUDGET
// RUN: nnc-opt %s --nnc-autodiff --nnc-plan-checkpoints="strategy=dp budget=2200 forward-flop-seconds=2 backward-flop-seconds=1" | FileCheck %s --check-prefix=MEASURED
// RUN: not nnc-opt %s --nnc-autodiff --nnc-plan-checkpoints="forward-flop-seconds=2" 2>&1 | FileCheck %s --check-prefix=ONERATE
// RUN: not nnc-opt %s --nnc-autodiff --nnc-plan-checkpoints="forward-flop-seconds=-1 backward-flop-seconds=1" 2>&1 | FileCheck %s --check-prefix=NEGRATE
// RUN: not nnc-opt %s --nnc-autodiff --nnc-plan-checkpoints="forward-flop-seconds=nan backward-flop-seconds=1" 2>&1 | FileCheck %s --check-prefix=NANRATE
// RUN: nnc-opt %s --nnc-autodiff --nnc-plan-checkpoints="strategy=store-all forward-flop-seconds=2 backward-flop-seconds=1e-3 stage-forward-seconds=1,2,3,4 stage-recompute-seconds=0.5,1,1.5,4" | FileCheck %s --check-prefix=STAGES-ALL
// RUN: nnc-opt %s --nnc-autodiff --nnc-plan-checkpoints="strategy=recompute-all forward-flop-seconds=2 backward-flop-seconds=1e-3 stage-forward-seconds=1,2,3,4 stage-recompute-seconds=0.5,1,1.5,4" | FileCheck %s --check-prefix=STAGES-RECOMPUTE
// RUN: not nnc-opt %s --nnc-autodiff --nnc-plan-checkpoints="forward-flop-seconds=2 backward-flop-seconds=1e-3 stage-forward-seconds=1,2,3 stage-recompute-seconds=1,2,3" 2>&1 | FileCheck %s --check-prefix=STAGECOUNT
// RUN: not nnc-opt %s --nnc-autodiff --nnc-plan-checkpoints="forward-flop-seconds=2 backward-flop-seconds=1e-3 stage-forward-seconds=1,nan,3,4 stage-recompute-seconds=1,2,3,4" 2>&1 | FileCheck %s --check-prefix=STAGENAN
// RUN: nnc-opt %s --nnc-autodiff --nnc-plan-checkpoints="strategy=store-all forward-flop-seconds=2 backward-flop-seconds=1e-3 stage-forward-seconds=1,2,3,4 stage-recompute-seconds=0.5,1,1.5,4 stage-cold-backward-seconds=2,2,2,2 stage-hot-backward-seconds=1,1,1,1" | FileCheck %s --check-prefix=HOT-ALL
// RUN: nnc-opt %s --nnc-autodiff --nnc-plan-checkpoints="strategy=recompute-all forward-flop-seconds=2 backward-flop-seconds=0 stage-forward-seconds=1,2,3,4 stage-recompute-seconds=0.5,1,1.5,4 stage-cold-backward-seconds=2,2,2,2 stage-hot-backward-seconds=1,1,1,1" | FileCheck %s --check-prefix=HOT-RECOMPUTE
// RUN: not nnc-opt %s --nnc-autodiff --nnc-plan-checkpoints="forward-flop-seconds=2 backward-flop-seconds=1e-3 stage-forward-seconds=1,2,3,4 stage-recompute-seconds=1,2,3,4 stage-cold-backward-seconds=1,2,3,4 stage-hot-backward-seconds=1,2,3" 2>&1 | FileCheck %s --check-prefix=HOTCOUNT
// RUN: not nnc-opt %s --nnc-autodiff --nnc-plan-checkpoints="forward-flop-seconds=2 backward-flop-seconds=1e-3 stage-forward-seconds=1,2,3,4 stage-recompute-seconds=1,2,3,4 stage-cold-backward-seconds=1,nan,3,4 stage-hot-backward-seconds=1,2,3,4" 2>&1 | FileCheck %s --check-prefix=HOTBAD
// RUN: not nnc-opt %s --nnc-autodiff --nnc-plan-checkpoints="forward-flop-seconds=2 backward-flop-seconds=1e-3 stage-cold-backward-seconds=1,2,3,4 stage-hot-backward-seconds=1,-2,3,4" 2>&1 | FileCheck %s --check-prefix=HOTBAD

// Four layers of 8x16 floats (512 bytes per activation). A layer — linear,
// then its activation — is one stage; the loss joins the last stage.

// STORE-LABEL: func.func @net_grad
// STORE-SAME: nn.checkpoint = #nn.checkpoint_plan<strategy = store_all, stages = 4,
// STORE-SAME: schedule = [F_all 1, F_all 2, F_all 3, F_all 4, B 4, B 3, B 2, B 1], cost_unit = flop
// STORE: nn.linear {{.+}} {nn.stage = 1 : i64}
// STORE-NEXT: nn.relu {{.+}} {nn.stage = 1 : i64}
// STORE-NEXT: nn.linear {{.+}} {nn.stage = 2 : i64}
// STORE-NEXT: nn.relu {{.+}} {nn.stage = 2 : i64}
// STORE: nn.linear {{.+}} {nn.stage = 4 : i64}
// STORE-NEXT: nn.mse_loss {{.+}} {nn.stage = 4 : i64}

// Recompute-all keeps nothing but the input: O(n²) forward steps.
// RECOMPUTE: recompute_cost = {{[1-9]}}
// RECOMPUTE-SAME: forward_steps = 10,

// Under a budget below store-all's peak the dp recomputes an activation.
// DP: strategy = dp, budget = 2200,
// DP-SAME: B 4, {{.*}}F_all 2, F_all 3, B 3, B 2, B 1]
// DP-SAME: peak_bytes = [[PEAK:[0-9]+]],
// DP-SAME: recompute_cost = {{[1-9]}}

// Measured costs: forward FLOPs (17152 here, 8448 of them recomputed) at 2
// per FLOP, backward FLOPs (29440) at 1; the FLOP figures stay FLOPs.
// MEASURED: cost_unit = second
// MEASURED-SAME: compute_cost = 8.064000e+04, recompute_cost = 1.689600e+04
// MEASURED-SAME: store_all_cost = 6.374400e+04
// MEASURED-SAME: compute_flops = 5.504000e+04, recompute_flops = 8.448000e+03, store_all_flops = 4.659200e+04
// ONERATE: error: nnc-plan-checkpoints: forward-flop-seconds (2.000000e+00) and backward-flop-seconds (0.000000e+00) must both be positive and finite (measured costs) or both 0 (FLOPs)
// NEGRATE: error: nnc-plan-checkpoints: forward-flop-seconds (-1.000000e+00)
// NANRATE: error: nnc-plan-checkpoints: forward-flop-seconds (nan) and backward-flop-seconds (1.000000e+00) must both be positive and finite

// Measured stage times: the first forwards take 1+2+3+4 s and the
// backward 29,440 FLOPs at 1 ms each, so store-all predicts 39.44 s.
// Recompute-all runs stage 1 again three times (0.5 s each), stage 2 twice
// (1 s) and stage 3 once (1.5 s): 5 s more, priced at the recomputations'
// times, not the first forwards' (nor the FLOPs' share).
// STAGES-ALL: cost_unit = second
// STAGES-ALL-SAME: compute_cost = 3.944000e+01, recompute_cost = 0.000000e+00
// STAGES-RECOMPUTE: cost_unit = second
// STAGES-RECOMPUTE-SAME: compute_cost = 4.444000e+01, recompute_cost = 5.000000e+00
// STAGES-RECOMPUTE-SAME: store_all_cost = 3.944000e+01
// STAGECOUNT: error: checkpoint planning: 3 first-forward and 3 recomputation times for a chain of 4 stages
// STAGENAN: error: nnc-plan-checkpoints: stage-forward-seconds and stage-recompute-seconds must be positive and finite

// Each stage's backward measured, cold (2 s, on stored values) and hot (1 s,
// right after its F_all), beside the 29.44 s of backward FLOPs: store-all
// runs B 4 hot and the others cold (39.44 + 3 x 2 + 1 s); recompute-all
// runs every backward hot, here with no FLOP share (5 s of recomputation,
// 10 s of first forwards and 4 x 1 s). Lists of another length, a NaN or a
// negative time, or backwards without the forwards are errors.
// HOT-ALL: cost_unit = second
// HOT-ALL-SAME: compute_cost = 4.644000e+01, recompute_cost = 0.000000e+00
// HOT-RECOMPUTE: cost_unit = second
// HOT-RECOMPUTE-SAME: compute_cost = 1.900000e+01, recompute_cost = 2.000000e+00
// HOT-RECOMPUTE-SAME: store_all_cost = 1.700000e+01
// HOTCOUNT: error: checkpoint planning: 4 cold and 3 hot backward times for a chain of 4 stages
// HOTBAD: error: nnc-plan-checkpoints: stage-cold-backward-seconds and stage-hot-backward-seconds must be finite and >= 0, with stage-forward-seconds

// TOOSMALL: error: checkpoint planning of 'net_grad' failed: budget 100 B (100 bytes) is below the minimum feasible 1.50 KiB (1540 bytes)
// UNKNOWN: for the --strategy option: Cannot find option named 'magic'!
// BADBUDGET: for the --budget option: invalid byte size 'lots': expected a number

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
