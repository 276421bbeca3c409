// RUN: nnc-opt %s | nnc-opt | FileCheck %s
// RUN: nnc-opt %s --mlir-print-op-generic | nnc-opt | FileCheck %s
// The transformer ops round-trip, with inferred shapes.

// CHECK-LABEL: func.func @block
func.func @block(%tok: tensor<2x4xi64>, %table: tensor<11x8xf32> {nn.param},
                 %g: tensor<8xf32> {nn.param}, %b: tensor<8xf32> {nn.param},
                 %mask: tensor<4x4xf32>) -> tensor<2x8xf32> {
  // CHECK: nn.embedding %{{.*}}, %{{.*}} : (tensor<11x8xf32>, tensor<2x4xi64>) -> tensor<2x4x8xf32>
  %e = nn.embedding %table, %tok : (tensor<11x8xf32>, tensor<2x4xi64>) -> tensor<2x4x8xf32>
  // CHECK: nn.layer_norm %{{.*}}, %{{.*}}, %{{.*}} : (tensor<2x4x8xf32>
  %n = nn.layer_norm %e, %g, %b {eps = 1.0e-5 : f64} : (tensor<2x4x8xf32>, tensor<8xf32>, tensor<8xf32>) -> tensor<2x4x8xf32>
  %h = nn.reshape %n : tensor<2x4x8xf32> -> tensor<2x4x2x4xf32>
  // CHECK: nn.transpose %{{.*}} {permutation = array<i64: 0, 2, 1, 3>}
  %q = nn.transpose %h {permutation = array<i64: 0, 2, 1, 3>} : (tensor<2x4x2x4xf32>) -> tensor<2x2x4x4xf32>
  // CHECK: nn.attention %{{.*}}, %{{.*}}, %{{.*}} {causal, scale = 5.000000e-01 : f64}
  %o = nn.attention %q, %q, %q {scale = 0.5 : f64, causal} : (tensor<2x2x4x4xf32>, tensor<2x2x4x4xf32>, tensor<2x2x4x4xf32>) -> tensor<2x2x4x4xf32>
  // CHECK: nn.attention %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} {scale
  %o2 = nn.attention %o, %q, %q, %mask {scale = 0.5 : f64} : (tensor<2x2x4x4xf32>, tensor<2x2x4x4xf32>, tensor<2x2x4x4xf32>, tensor<4x4xf32>) -> tensor<2x2x4x4xf32>
  %t = nn.transpose %o2 {permutation = array<i64: 0, 2, 1, 3>} : (tensor<2x2x4x4xf32>) -> tensor<2x4x2x4xf32>
  %m = nn.reshape %t : tensor<2x4x2x4xf32> -> tensor<2x4x8xf32>
  // CHECK: nn.broadcast %{{.*}} : tensor<4x8xf32> -> tensor<2x4x8xf32>
  %bg = nn.slice %n {offsets = array<i64: 0, 0, 0>, sizes = array<i64: 1, 4, 8>, strides = array<i64: 1, 1, 1>} : (tensor<2x4x8xf32>) -> tensor<1x4x8xf32>
  %bg2 = nn.reshape %bg : tensor<1x4x8xf32> -> tensor<4x8xf32>
  %bc = nn.broadcast %bg2 : tensor<4x8xf32> -> tensor<2x4x8xf32>
  %m2 = nn.add %m, %bc : tensor<2x4x8xf32>
  // CHECK: nn.mul
  %p = nn.mul %m2, %n : tensor<2x4x8xf32>
  // CHECK: nn.scale %{{.*}} {factor = 2.500000e-01 : f64}
  %s = nn.scale %p {factor = 0.25 : f64} : tensor<2x4x8xf32>
  // CHECK: nn.slice %{{.*}} {offsets = array<i64: 0, 3, 0>, sizes = array<i64: 2, 1, 8>, strides = array<i64: 1, 1, 1>}
  %last = nn.slice %s {offsets = array<i64: 0, 3, 0>, sizes = array<i64: 2, 1, 8>, strides = array<i64: 1, 1, 1>} : (tensor<2x4x8xf32>) -> tensor<2x1x8xf32>
  %r = nn.reshape %last : tensor<2x1x8xf32> -> tensor<2x8xf32>
  return %r : tensor<2x8xf32>
}

// CHECK-LABEL: func.func @grads
func.func @grads(%tok: tensor<2x4xi32>, %dy: tensor<2x4x8xf32>, %x: tensor<2x4x8xf32>,
                 %g: tensor<8xf32>, %q: tensor<1x2x3x4xf32>, %k: tensor<1x2x5x4xf32>,
                 %v: tensor<1x2x5x6xf32>, %o: tensor<1x2x3x6xf32>, %ds: tensor<2x1x8xf32>)
    -> (tensor<11x8xf32>, tensor<2x4x8xf32>, tensor<8xf32>, tensor<1x2x3x4xf32>, tensor<2x4x8xf32>) {
  // CHECK: nn.embedding_grad
  %dt = nn.embedding_grad %tok, %dy : (tensor<2x4xi32>, tensor<2x4x8xf32>) -> tensor<11x8xf32>
  // CHECK: nn.layer_norm_grad
  %dx = nn.layer_norm_grad %x, %g, %dy {eps = 1.0e-5 : f64} : (tensor<2x4x8xf32>, tensor<8xf32>, tensor<2x4x8xf32>) -> tensor<2x4x8xf32>
  // CHECK: nn.layer_norm_grad_weight
  %dg = nn.layer_norm_grad_weight %x, %dy {eps = 1.0e-5 : f64} : (tensor<2x4x8xf32>, tensor<2x4x8xf32>) -> tensor<8xf32>
  // CHECK: nn.attention_grad
  %dq, %dk, %dv = nn.attention_grad %q, %k, %v, %o, %o {scale = 0.5 : f64} : (tensor<1x2x3x4xf32>, tensor<1x2x5x4xf32>, tensor<1x2x5x6xf32>, tensor<1x2x3x6xf32>, tensor<1x2x3x6xf32>) -> (tensor<1x2x3x4xf32>, tensor<1x2x5x4xf32>, tensor<1x2x5x6xf32>)
  // CHECK: nn.slice_grad
  %dh = nn.slice_grad %ds {offsets = array<i64: 0, 3, 0>, sizes = array<i64: 2, 1, 8>, strides = array<i64: 1, 1, 1>} : (tensor<2x1x8xf32>) -> tensor<2x4x8xf32>
  return %dt, %dx, %dg, %dq, %dh : tensor<11x8xf32>, tensor<2x4x8xf32>, tensor<8xf32>, tensor<1x2x3x4xf32>, tensor<2x4x8xf32>
}
