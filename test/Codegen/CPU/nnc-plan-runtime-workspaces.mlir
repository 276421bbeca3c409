// RUN: nnc-opt %s --split-input-file --verify-diagnostics --pass-pipeline='builtin.module(func.func(nnc-plan-runtime-workspaces))' | FileCheck %s
// The CPU pipeline runs it: the Fashion-MNIST CNN's step hands each
// convolution a workspace of its arena (the sizes are the machine's).
// RUN: nnc-compile %nnc_src_root/examples/fashion-cnn/cnn.onnx --emit=mlir -o - | FileCheck %s --check-prefix=CNN
// CNN: llvm.call @nncrt_use_workspace
// CNN-NOT: llvm.call
// CNN: llvm.call @nncrt_conv2d_

// A 32-channel NCHW convolution, which oneDNN runs in nChw16c: the call
// gets a workspace (its last output, an i8 tensor of the size the runtime
// asked for), and keeps its result. Max pooling is the runtime's own loops
// and needs none.
// CHECK-LABEL: func.func @conv_and_pool
// CHECK: %[[WS:.*]] = tensor.empty() : tensor<[[BYTES:[0-9]+]]xi8>
// CHECK: %[[Y:.*]]:2 = nn.runtime_call "nncrt_conv2d_forward"
// CHECK-SAME: outs(%{{.*}}, %[[WS]] : tensor<2x32x8x8xf32>, tensor<[[BYTES]]xi8>)
// CHECK-SAME: pointers = array<i64: 0, 1, -1, 2>
// CHECK-SAME: workspace = 3 : i64
// CHECK: nn.runtime_call "nncrt_pool2d_forward" ins(%[[Y]]#0
// CHECK-NOT: workspace
// CHECK: return
func.func @conv_and_pool(%x: tensor<2x32x8x8xf32>, %w: tensor<32x32x3x3xf32>) -> tensor<2x32x4x4xf32> {
  %e1 = tensor.empty() : tensor<2x32x8x8xf32>
  %y = nn.runtime_call "nncrt_conv2d_forward" ins(%x, %w : tensor<2x32x8x8xf32>, tensor<32x32x3x3xf32>) outs(%e1 : tensor<2x32x8x8xf32>) {pointers = array<i64: 0, 1, -1, 2>, scalars = [2, 32, 8, 8, 32, 3, 3, 8, 8, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1 : i32, 0.0 : f32]} -> tensor<2x32x8x8xf32>
  %e2 = tensor.empty() : tensor<2x32x4x4xf32>
  %p = nn.runtime_call "nncrt_pool2d_forward" ins(%y : tensor<2x32x8x8xf32>) outs(%e2 : tensor<2x32x4x4xf32>) {pointers = array<i64: 0, 1>, scalars = [0 : i32, 2, 32, 8, 8, 4, 4, 2, 2, 2, 2, 0, 0, 0, 0]} -> tensor<2x32x4x4xf32>
  return %p : tensor<2x32x4x4xf32>
}

// -----

// Arguments the runtime rejects (OH should be 8): a warning, and the call
// keeps no workspace; the runtime reports the call when it runs. A call
// that already has one, and a GEMM, are left alone.
// CHECK-LABEL: func.func @rejected
// CHECK: nn.runtime_call "nncrt_conv2d_forward"
// CHECK-NOT: workspace
// CHECK-SAME: -> tensor<2x32x9x8xf32>
func.func @rejected(%x: tensor<2x32x8x8xf32>, %w: tensor<32x32x3x3xf32>) -> tensor<2x32x9x8xf32> {
  %e1 = tensor.empty() : tensor<2x32x9x8xf32>
  // expected-warning @below {{the CPU runtime cannot create 'nncrt_conv2d_forward' with these arguments here: it keeps no workspace in the arena}}
  %y = nn.runtime_call "nncrt_conv2d_forward" ins(%x, %w : tensor<2x32x8x8xf32>, tensor<32x32x3x3xf32>) outs(%e1 : tensor<2x32x9x8xf32>) {pointers = array<i64: 0, 1, -1, 2>, scalars = [2, 32, 8, 8, 32, 3, 3, 9, 8, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1 : i32, 0.0 : f32]} -> tensor<2x32x9x8xf32>
  return %y : tensor<2x32x9x8xf32>
}

// -----

// CHECK-LABEL: func.func @planned_already
// CHECK: nn.runtime_call "nncrt_conv2d_forward"
// CHECK-SAME: outs(%{{.*}}, %{{.*}} : tensor<2x32x8x8xf32>, tensor<64xi8>)
// CHECK-SAME: workspace = 3 : i64
func.func @planned_already(%x: tensor<2x32x8x8xf32>, %w: tensor<32x32x3x3xf32>) -> tensor<2x32x8x8xf32> {
  %e1 = tensor.empty() : tensor<2x32x8x8xf32>
  %ws = tensor.empty() : tensor<64xi8>
  %y:2 = nn.runtime_call "nncrt_conv2d_forward" ins(%x, %w : tensor<2x32x8x8xf32>, tensor<32x32x3x3xf32>) outs(%e1, %ws : tensor<2x32x8x8xf32>, tensor<64xi8>) {pointers = array<i64: 0, 1, -1, 2>, scalars = [2, 32, 8, 8, 32, 3, 3, 8, 8, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1 : i32, 0.0 : f32], workspace = 3} -> tensor<2x32x8x8xf32>, tensor<64xi8>
  return %y#0 : tensor<2x32x8x8xf32>
}

// -----

// Sizes no operand could have (N = 2^40 on 8-element buffers): the runtime
// is not asked, and the call keeps no workspace, silently (the verifier of
// the op nnc lowered from would have refused such a call).
// CHECK-LABEL: func.func @absurd
// CHECK-NOT: workspace
// CHECK: return
func.func @absurd(%x: tensor<8xf32>, %w: tensor<8xf32>) -> tensor<8xf32> {
  %e1 = tensor.empty() : tensor<8xf32>
  %y = nn.runtime_call "nncrt_conv2d_forward" ins(%x, %w : tensor<8xf32>, tensor<8xf32>) outs(%e1 : tensor<8xf32>) {pointers = array<i64: 0, 1, -1, 2>, scalars = [1099511627776, 32, 8, 8, 32, 3, 3, 8, 8, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1 : i32, 0.0 : f32]} -> tensor<8xf32>
  return %y : tensor<8xf32>
}
