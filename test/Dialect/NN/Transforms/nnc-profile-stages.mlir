// RUN: nnc-opt %s --nnc-autodiff --nnc-plan-checkpoints="strategy=store-all" --nnc-rematerialize --nnc-profile-stages | FileCheck %s
// RUN: nnc-opt %s --nnc-autodiff --nnc-plan-checkpoints="strategy=recompute-all" --nnc-rematerialize --nnc-profile-stages | FileCheck %s --check-prefix=RECOMPUTE
// RUN: nnc-opt %s --nnc-autodiff --nnc-plan-checkpoints="strategy=store-all" --nnc-rematerialize --nnc-profile-stages --convert-nn-to-linalg --nnc-verify-no-nn --nnc-lower-runtime-calls | FileCheck %s --check-prefix=CALLS
// RUN: nnc-opt %s --nnc-autodiff --nnc-plan-checkpoints="strategy=store-all" --nnc-rematerialize="tag-backward" --nnc-profile-stages | FileCheck %s --check-prefix=COLD
// RUN: nnc-opt %s --nnc-autodiff --nnc-plan-checkpoints="strategy=recompute-all" --nnc-rematerialize="tag-backward" --nnc-profile-stages | FileCheck %s --check-prefix=HOT
// RUN: nnc-opt %s --nnc-autodiff --nnc-plan-checkpoints="strategy=store-all" --nnc-rematerialize="tag-backward" | FileCheck %s --check-prefix=TAGS

// Four stages (linear+relu three times, then linear+loss). Store-all: a
// mark starts each stage's first forward (ids 1-4), 0 the backward, and 5
// (stages + 1) ends the last interval before the return.

// CHECK-LABEL: func.func @net_grad(
// CHECK:      nn.profile_mark {id = 1 : i64}
// CHECK-NEXT: nn.linear %arg0, %arg2 {nn.stage = 1 : i64}
// CHECK:      nn.profile_mark {id = 2 : i64}
// CHECK-NEXT: nn.linear {{.+}} {nn.stage = 2 : i64}
// CHECK:      nn.profile_mark {id = 3 : i64}
// CHECK:      nn.profile_mark {id = 4 : i64}
// CHECK-NEXT: nn.linear {{.+}} {nn.stage = 4 : i64}
// CHECK-NEXT: nn.mse_loss {{.+}} {nn.stage = 4 : i64}
// CHECK-NEXT: nn.profile_mark {id = 0 : i64}
// CHECK-NEXT: nn.mse_loss_grad
// CHECK-NOT:  nn.profile_mark
// CHECK:      nn.profile_mark {id = 5 : i64}
// CHECK-NEXT: return

// Recompute-all: each recomputation of stage i is an interval of id -i,
// between intervals of the backward (0). Stages 1-3 run again before the
// backward of stage 4's predecessors, stage 1 before the backward of
// stage 2 last.

// RECOMPUTE-LABEL: func.func @net_grad(
// RECOMPUTE:      nn.profile_mark {id = 4 : i64}
// RECOMPUTE:      nn.profile_mark {id = 0 : i64}
// RECOMPUTE-NEXT: nn.mse_loss_grad
// RECOMPUTE:      nn.profile_mark {id = -1 : i64}
// RECOMPUTE-NEXT: nn.linear %arg0, %arg2 {nn.recomputed, nn.stage = 1 : i64}
// RECOMPUTE:      nn.profile_mark {id = -2 : i64}
// RECOMPUTE:      nn.profile_mark {id = -3 : i64}
// RECOMPUTE:      nn.profile_mark {id = 0 : i64}
// RECOMPUTE:      nn.profile_mark {id = -1 : i64}
// RECOMPUTE:      nn.profile_mark {id = -2 : i64}
// RECOMPUTE:      nn.profile_mark {id = 0 : i64}
// RECOMPUTE:      nn.profile_mark {id = -1 : i64}
// RECOMPUTE:      nn.profile_mark {id = 0 : i64}
// RECOMPUTE-NOT:  nn.profile_mark {id = -
// RECOMPUTE:      nn.profile_mark {id = 5 : i64}
// RECOMPUTE-NEXT: return

// With the rematerializer's tags each stage's backward action is an
// interval of its own, id n + 1 + i (6 to 9 here): store-all runs them one
// after the other (cold, but B 4 right after its forward), and the tags are
// gone afterwards.

// COLD-LABEL: func.func @net_grad(
// COLD:      nn.profile_mark {id = 4 : i64}
// COLD-NEXT: nn.linear {{.+}} {nn.stage = 4 : i64}
// COLD-NEXT: nn.mse_loss {{.+}} {nn.stage = 4 : i64}
// COLD-NEXT: nn.profile_mark {id = 9 : i64}
// COLD-NEXT: nn.mse_loss_grad
// COLD-NOT:  nn.backward_stage
// COLD:      nn.profile_mark {id = 8 : i64}
// COLD-NEXT: nn.relu_grad
// COLD:      nn.profile_mark {id = 7 : i64}
// COLD-NEXT: nn.relu_grad
// COLD:      nn.profile_mark {id = 6 : i64}
// COLD-NEXT: nn.relu_grad
// COLD-NOT:  nn.profile_mark
// COLD:      nn.profile_mark {id = 5 : i64}
// COLD-NEXT: return

// Recompute-all: every backward action follows its stage's recomputation
// (hot); no interval is left to id 0.

// HOT-LABEL: func.func @net_grad(
// HOT:      nn.profile_mark {id = 9 : i64}
// HOT:      nn.profile_mark {id = -3 : i64}
// HOT-NEXT: nn.linear {{.+}} {nn.recomputed, nn.stage = 3 : i64}
// HOT-NEXT: nn.relu {{.+}} {nn.recomputed, nn.stage = 3 : i64}
// HOT-NEXT: nn.profile_mark {id = 8 : i64}
// HOT-NEXT: nn.relu_grad
// HOT:      nn.profile_mark {id = -2 : i64}
// HOT-NEXT: nn.linear
// HOT-NEXT: nn.relu
// HOT-NEXT: nn.profile_mark {id = 7 : i64}
// HOT:      nn.profile_mark {id = -1 : i64}
// HOT-NEXT: nn.linear
// HOT-NEXT: nn.relu
// HOT-NEXT: nn.profile_mark {id = 6 : i64}
// HOT-NOT:  nn.profile_mark {id = 0 : i64}
// HOT:      nn.profile_mark {id = 5 : i64}

// TAGS-LABEL: func.func @net_grad(
// TAGS:      nn.mse_loss_grad {{.+}} {nn.backward_stage = 4 : i64}
// TAGS:      nn.relu_grad {{.+}} {nn.backward_stage = 3 : i64}
// TAGS:      nn.relu_grad {{.+}} {nn.backward_stage = 2 : i64}
// TAGS:      nn.relu_grad {{.+}} {nn.backward_stage = 1 : i64}

// The marks survive the lowering to linalg and become runtime calls.

// CALLS: func.func private @nncrt_profile_mark(i64)
// CALLS-LABEL: func.func @net_grad(
// CALLS:      %[[ONE:.+]] = arith.constant 1 : i64
// CALLS-NEXT: call @nncrt_profile_mark(%[[ONE]]) : (i64) -> ()
// CALLS:      %[[END:.+]] = arith.constant 5 : i64
// CALLS-NEXT: call @nncrt_profile_mark(%[[END]]) : (i64) -> ()
// CALLS-NEXT: return

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
