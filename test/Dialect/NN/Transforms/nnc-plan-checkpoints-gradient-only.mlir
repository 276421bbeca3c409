// RUN: nnc-opt %s --nnc-autodiff --nnc-plan-checkpoints="print-chain" -o /dev/null 2>&1 | FileCheck %s --check-prefix=CHAIN
// RUN: nnc-opt %s --nnc-autodiff --nnc-plan-checkpoints="strategy=recompute-all" --nnc-rematerialize | FileCheck %s --check-prefix=REMAT

// A flatten's backward reads only its incoming gradient (and static
// shapes): the chain marks its stage backward_reads_gradient_only, and no
// plan recomputes the stage, or sweeps to it, for its backward. Stages:
// 1 conv+relu, 2 max_pool, 3 conv+relu, 4 the flatten, 5 linear+loss.
//
// CHAIN:      "stages": [
// CHAIN-NOT:  "backward_reads_gradient_only"
// CHAIN:      "backward_cost": 1,
// CHAIN-NEXT: "backward_reads_gradient_only": true,
// CHAIN-NOT:  "backward_reads_gradient_only"
// CHAIN:      ]
//
// Recompute-all: B 4 follows B 5 directly (11 forwards, not 15). The
// rematerialized flatten VJP reads the linear's input gradient only, and
// the sweep for B 3 starts from the input after it.
// REMAT:      schedule = [F_ck 1, F_n 2, F_n 3, F_n 4, F_all 5, B 5, Discard a 4, B 4, F_ck 1, F_n 2, F_all 3, B 3,
// REMAT-SAME: forward_steps = 11
// REMAT:      %[[D5:.+]] = nn.matmul %{{.+}}, %arg5 :
// REMAT:      %[[D4:.+]] = nn.reshape %[[D5]] : tensor<2x16xf32> -> tensor<2x4x2x2xf32>
// REMAT-NEXT: nn.conv2d %arg0, %arg2, %arg3 {nn.recomputed
// REMAT:      nn.relu_grad %{{.+}}, %[[D4]]
func.func @cnn(%x: tensor<2x1x6x6xf32>, %t: tensor<2xi64>, %w1: tensor<4x1x3x3xf32> {nn.param}, %b1: tensor<4xf32> {nn.param}, %w2: tensor<4x4x3x3xf32> {nn.param}, %w3: tensor<3x16xf32> {nn.param}) -> tensor<f32> {
  %c = nn.conv2d %x, %w1, %b1 {padding = array<i64: 1, 1, 1, 1>} : (tensor<2x1x6x6xf32>, tensor<4x1x3x3xf32>, tensor<4xf32>) -> tensor<2x4x6x6xf32>
  %r = nn.relu %c : tensor<2x4x6x6xf32>
  %p = nn.max_pool2d %r {kernel = array<i64: 2, 2>, strides = array<i64: 2, 2>} : (tensor<2x4x6x6xf32>) -> tensor<2x4x3x3xf32>
  %c2 = nn.conv2d %p, %w2 {strides = array<i64: 2, 2>, padding = array<i64: 1, 1, 1, 1>} : (tensor<2x4x3x3xf32>, tensor<4x4x3x3xf32>) -> tensor<2x4x2x2xf32>
  %r2 = nn.relu %c2 : tensor<2x4x2x2xf32>
  %f = nn.reshape %r2 : tensor<2x4x2x2xf32> -> tensor<2x16xf32>
  %y = nn.linear %f, %w3 : (tensor<2x16xf32>, tensor<3x16xf32>) -> tensor<2x3xf32>
  %l = nn.cross_entropy %y, %t : (tensor<2x3xf32>, tensor<2xi64>) -> tensor<f32>
  return %l : tensor<f32>
}
