// RUN: nnc-opt %s --nnc-autodiff --nnc-max-pool-indices | FileCheck %s
// RUN: nnc-opt %s --nnc-autodiff --nnc-max-pool-indices="max-window=4" | FileCheck %s --check-prefix=SMALL
// RUN: nnc-opt %s --nnc-autodiff --nnc-plan-checkpoints="print-chain" -o /dev/null 2>&1 | FileCheck %s --check-prefix=PLAIN
// RUN: nnc-opt %s --nnc-autodiff --nnc-max-pool-indices --nnc-plan-checkpoints="print-chain" -o /dev/null 2>&1 | FileCheck %s --check-prefix=INDEXED
// RUN: nnc-opt %s --nnc-autodiff --nnc-max-pool-indices --nnc-plan-checkpoints="strategy=recompute-all" --nnc-rematerialize | FileCheck %s --check-prefix=REMAT
// RUN: not nnc-opt %s --nnc-max-pool-indices="max-window=257" 2>&1 | FileCheck %s --check-prefix=BAD

// The derived step's poolings record their positions; their gradients
// read them and dy, not the poolings' inputs. The model function is left
// alone.
// CHECK-LABEL: func.func @cnn(
// CHECK:       nn.max_pool2d %
// CHECK-NOT:   nn.max_pool2d_indices
// CHECK-LABEL: func.func @cnn_grad(
// CHECK:       %[[R:.+]] = nn.relu
// CHECK-NEXT:  %[[I:.+]] = nn.max_pool2d_indices %[[R]] {kernel = array<i64: 2, 2>, strides = array<i64: 2, 2>} : (tensor<2x4x6x6xf32>) -> tensor<2x4x3x3xi8>
// CHECK-NEXT:  %[[P:.+]] = nn.max_pool2d_indexed %[[R]], %[[I]] {kernel = array<i64: 2, 2>, strides = array<i64: 2, 2>} : (tensor<2x4x6x6xf32>, tensor<2x4x3x3xi8>) -> tensor<2x4x3x3xf32>
// CHECK-NEXT:  %[[C:.+]] = nn.conv2d %[[P]]
// The overlapping 3x3 pooling with padding: 9 positions a window.
// CHECK-NEXT:  %[[I2:.+]] = nn.max_pool2d_indices %[[C]] {kernel = array<i64: 3, 3>, padding = array<i64: 1, 1, 1, 1>, strides = array<i64: 2, 2>} : (tensor<2x4x3x3xf32>) -> tensor<2x4x2x2xi8>
// CHECK-NEXT:  nn.max_pool2d_indexed %[[C]], %[[I2]]
// CHECK-NOT:   nn.max_pool2d_grad
// CHECK:       nn.max_pool2d_indexed_grad %[[I2]], %{{.+}} {kernel = array<i64: 3, 3>, padding = array<i64: 1, 1, 1, 1>, strides = array<i64: 2, 2>} : (tensor<2x4x2x2xi8>, tensor<2x4x2x2xf32>) -> tensor<2x4x3x3xf32>
// CHECK-NOT:   nn.max_pool2d_grad
// CHECK:       nn.max_pool2d_indexed_grad %[[I]], %{{.+}} {kernel = array<i64: 2, 2>, strides = array<i64: 2, 2>} : (tensor<2x4x3x3xi8>, tensor<2x4x3x3xf32>) -> tensor<2x4x6x6xf32>
// CHECK-NOT:   nn.max_pool2d_grad

// Windows over max-window keep recomputing from the input.
// SMALL-LABEL: func.func @cnn_grad(
// SMALL:       nn.max_pool2d_indices %{{.+}} {kernel = array<i64: 2, 2>
// SMALL:       nn.max_pool2d %{{.+}} {kernel = array<i64: 3, 3>
// SMALL:       nn.max_pool2d_grad %{{.+}} {kernel = array<i64: 3, 3>
// SMALL:       nn.max_pool2d_indexed_grad

// The planner prices what each pooling stage's backward keeps: before,
// the pooling's input (its stage's input: backward_needs_input); with the
// index form, the positions (72 and 32 bytes) beside the output, and not
// the input.
// PLAIN:        "stages": [
// PLAIN:        "saved_bytes": 1152
// PLAIN:        "backward_needs_input": true,
// PLAIN:        "output_bytes": 288,
// PLAIN-NEXT:   "saved_bytes": 288
// PLAIN:        "saved_bytes": 288
// PLAIN:        "backward_needs_input": true,
// PLAIN:        "output_bytes": 128,
// PLAIN-NEXT:   "saved_bytes": 128
// INDEXED:      "stages": [
// INDEXED:      "saved_bytes": 1152
// INDEXED-NOT:  "backward_needs_input"
// INDEXED:      "output_bytes": 288,
// INDEXED-NEXT: "saved_bytes": 360
// INDEXED:      "backward_needs_input": true,
// INDEXED-NOT:  "backward_needs_input"
// INDEXED:      "output_bytes": 128,
// INDEXED-NEXT: "saved_bytes": 160

// A recomputed stage derives its backward from the indexed op: the
// recomputation writes the positions the backward then reads.
// (Stage 4's F_all needs only the positions: its output is discarded.)
// REMAT-LABEL: func.func @cnn_grad(
// REMAT:       %[[RI:.+]] = nn.max_pool2d_indices %{{.+}} {kernel = array<i64: 3, 3>, nn.recomputed
// REMAT-NEXT:  nn.max_pool2d_indexed_grad %[[RI]],
// REMAT:       nn.max_pool2d_indices %{{.+}} {kernel = array<i64: 2, 2>, nn.recomputed
// REMAT-NEXT:  nn.max_pool2d_indexed %
// REMAT:       %[[RJ:.+]] = nn.max_pool2d_indices %{{.+}} {kernel = array<i64: 2, 2>, nn.recomputed
// REMAT-NEXT:  nn.max_pool2d_indexed_grad %[[RJ]],
// REMAT-NOT:   nn.max_pool2d_grad

// BAD: error: nnc-max-pool-indices: max-window 257 is over 256, the largest window whose positions fit one byte

func.func @cnn(%x: tensor<2x1x6x6xf32>, %t: tensor<2xi64>, %w1: tensor<4x1x3x3xf32> {nn.param}, %b1: tensor<4xf32> {nn.param}, %w2: tensor<4x4x3x3xf32> {nn.param}, %w3: tensor<3x16xf32> {nn.param}) -> tensor<f32> {
  %c = nn.conv2d %x, %w1, %b1 {padding = array<i64: 1, 1, 1, 1>} : (tensor<2x1x6x6xf32>, tensor<4x1x3x3xf32>, tensor<4xf32>) -> tensor<2x4x6x6xf32>
  %r = nn.relu %c : tensor<2x4x6x6xf32>
  %p = nn.max_pool2d %r {kernel = array<i64: 2, 2>, strides = array<i64: 2, 2>} : (tensor<2x4x6x6xf32>) -> tensor<2x4x3x3xf32>
  %c2 = nn.conv2d %p, %w2 {padding = array<i64: 1, 1, 1, 1>} : (tensor<2x4x3x3xf32>, tensor<4x4x3x3xf32>) -> tensor<2x4x3x3xf32>
  %p2 = nn.max_pool2d %c2 {kernel = array<i64: 3, 3>, strides = array<i64: 2, 2>, padding = array<i64: 1, 1, 1, 1>} : (tensor<2x4x3x3xf32>) -> tensor<2x4x2x2xf32>
  %f = nn.reshape %p2 : tensor<2x4x2x2xf32> -> tensor<2x16xf32>
  %y = nn.linear %f, %w3 : (tensor<2x16xf32>, tensor<3x16xf32>) -> tensor<2x3xf32>
  %l = nn.cross_entropy %y, %t : (tensor<2x3xf32>, tensor<2xi64>) -> tensor<f32>
  return %l : tensor<f32>
}
