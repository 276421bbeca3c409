// RUN: nnc-opt %s --convert-nn-to-linalg --nnc-verify-no-nn | FileCheck %s

// Transformer ops: embeddings and attention become nn.runtime_call of the
// run-time library (the index width, then the sizes; the attention
// geometry, scale and causal flag), layer norm row reductions over the
// [rows, features] view, transpose a linalg.transpose, a slice a copy of
// the box and its gradient an insert into zeros.

// CHECK-LABEL: func.func @f
// CHECK: nn.runtime_call "nncrt_embedding_forward" ins(%arg1, %arg0 : tensor<11x8xf32>, tensor<2x4xi64>) {{.*}} {pointers = array<i64: 0, 1, 2>, scalars = [64 : i32, 8, 11, 8]}
// CHECK: nn.runtime_call "nncrt_embedding_backward" ins(%arg0, %{{.*}} : tensor<2x4xi64>, tensor<2x4x8xf32>) {{.*}} scalars = [64 : i32, 8, 11, 8]}
// CHECK: tensor.collapse_shape %{{.*}} {{\[\[}}0, 1], [2]] : tensor<2x4x8xf32> into tensor<8x8xf32>
// CHECK: math.sqrt
// CHECK: tensor.expand_shape %{{.*}} {{\[\[}}0, 1], [2]] output_shape [2, 4, 8]
// CHECK: linalg.transpose {{.*}} permutation = [0, 2, 1, 3]
// CHECK: nn.runtime_call "nncrt_attention_forward" {{.*}} {pointers = array<i64: 0, 1, 2, 3, 4>, scalars = [2, 2, 4, 4, 4, 4, 5.000000e-01 : f32, 1 : i32]}
// CHECK: nn.runtime_call "nncrt_attention_backward" {{.*}} {pointers = array<i64: 0, 1, 2, -1, 3, 4, 5, 6, 7>, scalars = [2, 2, 4, 4, 4, 4, 5.000000e-01 : f32, 0 : i32]}
// CHECK: tensor.extract_slice %{{.*}}[0, 3, 0] [2, 1, 8] [1, 1, 1]
// CHECK-NEXT: tensor.empty
// CHECK-NEXT: linalg.copy
// CHECK: %[[Z:.*]] = linalg.fill
// CHECK: %[[BOX:.*]] = tensor.extract_slice %[[Z]][0, 3, 0] [2, 1, 8] [1, 1, 1]
// CHECK: %[[C:.*]] = linalg.copy ins(%{{.*}} : tensor<2x1x8xf32>) outs(%[[BOX]] : tensor<2x1x8xf32>)
// CHECK: tensor.insert_slice %[[C]] into %[[Z]][0, 3, 0] [2, 1, 8] [1, 1, 1]
// CHECK: linalg.generic {{.*}} iterator_types = ["reduction", "parallel"]

func.func @f(%tok: tensor<2x4xi64>, %table: tensor<11x8xf32>, %g: tensor<8xf32>, %b: tensor<8xf32>, %mask: tensor<4x4xf32>, %dy: tensor<2x2x4x4xf32>) -> (tensor<2x4x8xf32>, tensor<11x8xf32>, tensor<2x2x4x4xf32>, tensor<2x2x4x4xf32>, tensor<2x1x8xf32>, tensor<2x4x8xf32>, tensor<2x4x8xf32>, tensor<8xf32>) {
  %e = nn.embedding %table, %tok : (tensor<11x8xf32>, tensor<2x4xi64>) -> tensor<2x4x8xf32>
  %de = nn.embedding_grad %tok, %e : (tensor<2x4xi64>, tensor<2x4x8xf32>) -> tensor<11x8xf32>
  %n = nn.layer_norm %e, %g, %b : (tensor<2x4x8xf32>, tensor<8xf32>, tensor<8xf32>) -> tensor<2x4x8xf32>
  %h = nn.reshape %n : tensor<2x4x8xf32> -> tensor<2x4x2x4xf32>
  %q = nn.transpose %h {permutation = array<i64: 0, 2, 1, 3>} : (tensor<2x4x2x4xf32>) -> tensor<2x2x4x4xf32>
  %o = nn.attention %q, %q, %q, %mask {scale = 0.5 : f64, causal} : (tensor<2x2x4x4xf32>, tensor<2x2x4x4xf32>, tensor<2x2x4x4xf32>, tensor<4x4xf32>) -> tensor<2x2x4x4xf32>
  %dq, %dk, %dv = nn.attention_grad %q, %q, %q, %o, %dy {scale = 0.5 : f64} : (tensor<2x2x4x4xf32>, tensor<2x2x4x4xf32>, tensor<2x2x4x4xf32>, tensor<2x2x4x4xf32>, tensor<2x2x4x4xf32>) -> (tensor<2x2x4x4xf32>, tensor<2x2x4x4xf32>, tensor<2x2x4x4xf32>)
  %last = nn.slice %n {offsets = array<i64: 0, 3, 0>, sizes = array<i64: 2, 1, 8>, strides = array<i64: 1, 1, 1>} : (tensor<2x4x8xf32>) -> tensor<2x1x8xf32>
  %dl = nn.slice_grad %last {offsets = array<i64: 0, 3, 0>, sizes = array<i64: 2, 1, 8>, strides = array<i64: 1, 1, 1>} : (tensor<2x1x8xf32>) -> tensor<2x4x8xf32>
  %dx = nn.layer_norm_grad %e, %g, %n {eps = 1.0e-5 : f64} : (tensor<2x4x8xf32>, tensor<8xf32>, tensor<2x4x8xf32>) -> tensor<2x4x8xf32>
  %dg = nn.layer_norm_grad_weight %e, %n {eps = 1.0e-5 : f64} : (tensor<2x4x8xf32>, tensor<2x4x8xf32>) -> tensor<8xf32>
  return %e, %de, %o, %dq, %last, %dl, %dx, %dg : tensor<2x4x8xf32>, tensor<11x8xf32>, tensor<2x2x4x4xf32>, tensor<2x2x4x4xf32>, tensor<2x1x8xf32>, tensor<2x4x8xf32>, tensor<2x4x8xf32>, tensor<8xf32>
}
