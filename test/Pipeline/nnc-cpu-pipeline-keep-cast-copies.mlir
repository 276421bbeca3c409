// keep-cast-copies: with precision=bf16 the backward reads the forward's
// bf16 copies of the weights and of the batch (nnc-recast-for-backward
// does not run), and the plan prices them as saved values of the stage
// that makes them. The graph as the pipeline hands it to the lowering.
// RUN: nnc-opt %s --nnc-cpu-pipeline="precision=bf16" --mlir-print-ir-before=convert-nn-to-linalg -o /dev/null 2>&1 | FileCheck %s --check-prefix=RECAST
// RUN: nnc-opt %s --nnc-cpu-pipeline="precision=bf16 keep-cast-copies" --mlir-print-ir-before=convert-nn-to-linalg -o /dev/null 2>&1 | FileCheck %s --check-prefix=KEEP
// RUN: nnc-opt %s --nnc-cpu-pipeline="precision=bf16 keep-cast-copies strategy=recompute-all" --mlir-print-ir-before=convert-nn-to-linalg -o /dev/null 2>&1 | FileCheck %s --check-prefix=RECOMPUTE
// The option alone, in f32, changes nothing: there are no copies.
// RUN: nnc-opt %s --nnc-cpu-pipeline --mlir-print-ir-before=convert-nn-to-linalg -o /dev/null 2>&1 | FileCheck %s --check-prefix=F32
// RUN: nnc-opt %s --nnc-cpu-pipeline="keep-cast-copies" --mlir-print-ir-before=convert-nn-to-linalg -o /dev/null 2>&1 | FileCheck %s --check-prefix=F32

// Without it, the backward converts W2 and the batch again where it reads
// them.
// RECAST-LABEL: func.func @m_grad
// RECAST: %[[X:.+]] = nn.cast %arg0 {nn.stage = 1 : i64}
// RECAST: %[[W2:.+]] = nn.cast %arg4 {nn.stage = 2 : i64}
// RECAST: nn.mse_loss_grad
// RECAST-NEXT: %[[W2B:.+]] = nn.cast %arg4
// RECAST-NEXT: nn.matmul %{{.+}}, %[[W2B]] :
// RECAST: %[[XB:.+]] = nn.cast %arg0
// RECAST-NEXT: nn.matmul %{{.+}}, %[[XB]] {transpose_lhs}

// With it, no cast follows the gradient seed: the backward reads the
// forward's copies.
// KEEP-LABEL: func.func @m_grad
// KEEP: %[[X:.+]] = nn.cast %arg0 {nn.stage = 1 : i64}
// KEEP: %[[W2:.+]] = nn.cast %arg4 {nn.stage = 2 : i64}
// KEEP: nn.mse_loss_grad
// KEEP-NOT: nn.cast
// KEEP: nn.matmul %{{.+}}, %[[W2]] :
// KEEP-NOT: nn.cast
// KEEP: nn.matmul %{{.+}}, %[[X]] {transpose_lhs}
// KEEP-NOT: nn.cast
// KEEP: return

// Recomputing stage 1 recomputes its copies too, and its backward reads
// the recomputed batch copy (the plan's F_all 1), not the first forward's.
// RECOMPUTE-LABEL: func.func @m_grad
// RECOMPUTE-SAME: schedule = [F_ck 1, F_all 2, B 2, Discard a 1, F_all 1, B 1]
// RECOMPUTE: nn.mse_loss_grad
// RECOMPUTE: %[[X:.+]] = nn.cast %arg0 {nn.recomputed, nn.stage = 1 : i64}
// RECOMPUTE-NEXT: nn.cast %arg2 {nn.recomputed, nn.stage = 1 : i64}
// RECOMPUTE-NOT: nn.cast
// RECOMPUTE: nn.matmul %{{.+}}, %[[X]] {transpose_lhs}

// F32-LABEL: func.func @m_grad
// F32-NOT: nn.cast
// F32: return

// A stage whose backward reads only the batch's copy (a linear layer with
// no activation: dW1 = dh^T x): without the option the plan runs its
// backward without recomputing it (the copy is made again there); with
// it, the copy is a saved value, so recompute-all recomputes the stage
// (F_all 1) and its backward reads the recomputed copy.
// RUN: nnc-opt %s --nnc-cpu-pipeline="precision=bf16 strategy=recompute-all" --mlir-print-ir-before=convert-nn-to-linalg -o /dev/null 2>&1 | FileCheck %s --check-prefix=LL-RECAST
// RUN: nnc-opt %s --nnc-cpu-pipeline="precision=bf16 keep-cast-copies strategy=recompute-all" --mlir-print-ir-before=convert-nn-to-linalg -o /dev/null 2>&1 | FileCheck %s --check-prefix=LL-KEEP
// LL-RECAST-LABEL: func.func @ll_grad
// LL-RECAST-SAME: schedule = [F_ck 1, F_all 2, B 2, Discard a 1, B 1]
// LL-RECAST: nn.mse_loss_grad
// LL-RECAST: %[[X:.+]] = nn.cast %arg0 {nn.stage = 1 : i64}
// LL-RECAST-NEXT: nn.matmul %{{.+}}, %[[X]] {transpose_lhs}
// LL-KEEP-LABEL: func.func @ll_grad
// LL-KEEP-SAME: schedule = [F_ck 1, F_all 2, B 2, Discard a 1, F_all 1, B 1]
// LL-KEEP: nn.mse_loss_grad
// LL-KEEP: %[[X:.+]] = nn.cast %arg0 {nn.recomputed, nn.stage = 1 : i64}
// LL-KEEP-NEXT: nn.matmul %{{.+}}, %[[X]] {transpose_lhs}

// The rematerializer holds a plan to it: one made without the option (B 1
// with no F_all 1) is refused under it, since the copy is not made again.
// RUN: nnc-opt %s --nnc-mixed-precision=precision=bf16 --nnc-autodiff --nnc-plan-checkpoints=strategy=recompute-all | not nnc-opt --nnc-rematerialize=keep-cast-copies 2>&1 | FileCheck %s --check-prefix=REFUSED
// RUN: nnc-opt %s --nnc-mixed-precision=precision=bf16 --nnc-autodiff --nnc-plan-checkpoints="strategy=recompute-all keep-cast-copies" | nnc-opt --nnc-rematerialize=keep-cast-copies | FileCheck %s --check-prefix=LL-PASSES
// REFUSED: error: checkpoint schedule runs B 1 without a preceding F_all 1, and its backward reads the stage's forward values
// LL-PASSES-LABEL: func.func @ll_grad
// LL-PASSES-SAME: schedule = [F_ck 1, F_all 2, B 2, Discard a 1, F_all 1, B 1]

func.func @m(%x: tensor<8x16xf32>, %t: tensor<8x4xf32>,
             %w1: tensor<32x16xf32> {nn.param}, %b1: tensor<32xf32> {nn.param},
             %w2: tensor<4x32xf32> {nn.param}, %b2: tensor<4xf32> {nn.param}) -> tensor<f32> {
  %h = nn.linear %x, %w1, %b1 : (tensor<8x16xf32>, tensor<32x16xf32>, tensor<32xf32>) -> tensor<8x32xf32>
  %a = nn.relu %h : tensor<8x32xf32>
  %y = nn.linear %a, %w2, %b2 : (tensor<8x32xf32>, tensor<4x32xf32>, tensor<4xf32>) -> tensor<8x4xf32>
  %l = nn.mse_loss %y, %t : (tensor<8x4xf32>, tensor<8x4xf32>) -> tensor<f32>
  return %l : tensor<f32>
}

func.func @ll(%x: tensor<8x16xf32>, %t: tensor<8x4xf32>,
              %w1: tensor<32x16xf32> {nn.param}, %b1: tensor<32xf32> {nn.param},
              %w2: tensor<4x32xf32> {nn.param}, %b2: tensor<4xf32> {nn.param}) -> tensor<f32> {
  %h = nn.linear %x, %w1, %b1 : (tensor<8x16xf32>, tensor<32x16xf32>, tensor<32xf32>) -> tensor<8x32xf32>
  %y = nn.linear %h, %w2, %b2 : (tensor<8x32xf32>, tensor<4x32xf32>, tensor<4xf32>) -> tensor<8x4xf32>
  %l = nn.mse_loss %y, %t : (tensor<8x4xf32>, tensor<8x4xf32>) -> tensor<f32>
  return %l : tensor<f32>
}
