// RUN: nnc-opt %s --nnc-autodiff="optimizer=momentum return-output grad-norms" --nnc-plan-checkpoints="micro-batches=2" --nnc-rematerialize --nnc-accumulate-gradients="micro-batches=2" | FileCheck %s
// RUN: nnc-opt %s --nnc-autodiff="learning-rate=0.5" --nnc-plan-checkpoints --nnc-rematerialize --nnc-accumulate-gradients | FileCheck %s --check-prefix=ONE
// RUN: nnc-opt %s --nnc-autodiff="optimizer=momentum" --nnc-plan-checkpoints | FileCheck %s --check-prefix=PLAIN
// RUN: nnc-opt %s --nnc-autodiff="optimizer=momentum" --nnc-plan-checkpoints="micro-batches=2" | FileCheck %s --check-prefix=PLAN
// RUN: not nnc-opt %s --nnc-autodiff="optimizer=momentum" --nnc-plan-checkpoints="micro-batches=2 strategy=dp budget=150" 2>&1 | FileCheck %s --check-prefix=BUDGET
// RUN: not nnc-opt %s --nnc-accumulate-gradients="micro-batches=300" 2>&1 | FileCheck %s --check-prefix=LIMIT
// RUN: not nnc-opt %s --nnc-accumulate-gradients="micro-batches=0" 2>&1 | FileCheck %s --check-prefix=ZERO
// LIMIT: error: nnc-accumulate-gradients: 300 micro-batches is over nnc's limit of 256 per step
// ZERO: error: nnc-accumulate-gradients: micro-batches must be at least 1

// nnc-plan-checkpoints with the same micro-batches plans the chain within
// the budget less the accumulators (32 floats) and the micro-batch's input
// copy (12 floats and 4 labels): 192 bytes in the plan's every peak.
// PLAIN: peak_bytes = 240, {{.*}} store_all_peak_bytes = 240, {{.*}} min_budget_bytes = 240
// PLAN: peak_bytes = 432, {{.*}} store_all_peak_bytes = 432, {{.*}} min_budget_bytes = 432
// BUDGET: error: checkpoint planning of 'mlp_train_step' failed: budget 150 bytes leaves nothing for the activations: the 2 micro-batches' gradient accumulators and input copy take 192 bytes

// A step planned for 4 samples takes 8: each micro-batch's rows are copied
// out of the inputs, the planned forward and backward run on them with the
// seed 1/2, each gradient of the second micro-batch is added into the
// first's as soon as it exists, the output's rows are copied into the
// result right after each micro-batch, and the norms and updates run once,
// on the sums. The loss is the mean of the two.

// CHECK-LABEL: func.func @mlp_train_step(
// CHECK-SAME: %[[X:.+]]: tensor<8x3xf32>, %[[L:.+]]: tensor<8xi32>,
// CHECK:      %[[OUT:.+]] = tensor.empty() : tensor<8x2xf32>
// CHECK:      tensor.extract_slice %[[X]][0, 0] [4, 3] [1, 1] : tensor<8x3xf32> to tensor<4x3xf32>
// CHECK:      linalg.copy
// CHECK:      tensor.extract_slice %[[L]][0] [4] [1] : tensor<8xi32> to tensor<4xi32>
// CHECK:      arith.constant {nn.grad_seed} dense<5.000000e-01> : tensor<f32>
// CHECK:      %[[LOSS0:.+]] = nn.cross_entropy
// CHECK:      %[[DW2:.+]] = nn.matmul %{{.+}}, %{{.+}} {transpose_lhs} : (tensor<4x2xf32>, tensor<4x5xf32>) -> tensor<2x5xf32>
// CHECK-NOT:  nn.momentum_update
// CHECK:      tensor.insert_slice %{{.+}} into %[[OUT]][0, 0] [4, 2]
// CHECK:      tensor.extract_slice %[[X]][4, 0] [4, 3] [1, 1]
// CHECK:      arith.constant {nn.grad_seed} dense<5.000000e-01> : tensor<f32>
// CHECK:      %[[LOSS1:.+]] = nn.cross_entropy
// CHECK:      %[[DW2B:.+]] = nn.matmul %{{.+}}, %{{.+}} {transpose_lhs} : (tensor<4x2xf32>, tensor<4x5xf32>) -> tensor<2x5xf32>
// CHECK-NEXT: %[[SUM:.+]] = nn.add %[[DW2]], %[[DW2B]] : tensor<2x5xf32>
// CHECK-COUNT-3: nn.add
// CHECK:      %[[LOSSES:.+]] = nn.add %[[LOSS0]], %[[LOSS1]] : tensor<f32>
// CHECK:      %[[ROWS:.+]] = tensor.insert_slice %{{.+}} into %{{.+}}[4, 0] [4, 2]
// CHECK:      nn.norm %[[SUM]]
// CHECK-NEXT: nn.momentum_update %arg4, %[[SUM]]
// CHECK-COUNT-3: nn.momentum_update
// CHECK:      %[[MEAN:.+]] = nn.scale %[[LOSSES]] {factor = 5.000000e-01 : f64} : tensor<f32>
// CHECK-NEXT: return %[[MEAN]], {{.*}}, %[[ROWS]] : tensor<f32>, {{.*}}, tensor<8x2xf32>

// One micro-batch (the default): the step is left as planned.
// ONE-LABEL: func.func @mlp_train_step(
// ONE-SAME: tensor<4x3xf32>
// ONE-NOT: tensor.extract_slice
// ONE-NOT: nn.add
// ONE: return
func.func @mlp(%x: tensor<4x3xf32>, %labels: tensor<4xi32>,
               %w1: tensor<5x3xf32> {nn.param}, %b1: tensor<5xf32> {nn.param},
               %w2: tensor<2x5xf32> {nn.param}, %b2: tensor<2xf32> {nn.param}) -> tensor<f32> {
  %h = nn.linear %x, %w1, %b1 : (tensor<4x3xf32>, tensor<5x3xf32>, tensor<5xf32>) -> tensor<4x5xf32>
  %a = nn.relu %h : tensor<4x5xf32>
  %z = nn.linear %a, %w2, %b2 : (tensor<4x5xf32>, tensor<2x5xf32>, tensor<2xf32>) -> tensor<4x2xf32>
  %l = nn.cross_entropy %z, %labels : (tensor<4x2xf32>, tensor<4xi32>) -> tensor<f32>
  return %l : tensor<f32>
}
