// RUN: nnc-opt %s -split-input-file -verify-diagnostics
// Malformed transformer ops: one located error each.

func.func @embedding_table_rank(%t: tensor<11xf32>, %i: tensor<4xi64>) -> tensor<4x11xf32> {
  // expected-error @+1 {{'nn.embedding' op expects table of rank 2, got [11]}}
  %e = nn.embedding %t, %i : (tensor<11xf32>, tensor<4xi64>) -> tensor<4x11xf32>
  return %e : tensor<4x11xf32>
}

// -----

func.func @embedding_result(%t: tensor<11x8xf32>, %i: tensor<4xi64>) -> tensor<4x9xf32> {
  // expected-error @+1 {{'nn.embedding' op result shape [4, 9] should be [4, 8]}}
  %e = nn.embedding %t, %i : (tensor<11x8xf32>, tensor<4xi64>) -> tensor<4x9xf32>
  return %e : tensor<4x9xf32>
}

// -----

func.func @embedding_grad_shape(%i: tensor<4xi64>, %dy: tensor<5x8xf32>) -> tensor<11x8xf32> {
  // expected-error @+1 {{'nn.embedding_grad' op grad [5, 8] should be [4, 8]}}
  %d = nn.embedding_grad %i, %dy : (tensor<4xi64>, tensor<5x8xf32>) -> tensor<11x8xf32>
  return %d : tensor<11x8xf32>
}

// -----

func.func @layer_norm_weight(%x: tensor<2x8xf32>, %g: tensor<7xf32>, %b: tensor<8xf32>) -> tensor<2x8xf32> {
  // expected-error @+1 {{'nn.layer_norm' op weight [7] does not match the normalized dimension 8}}
  %y = nn.layer_norm %x, %g, %b : (tensor<2x8xf32>, tensor<7xf32>, tensor<8xf32>) -> tensor<2x8xf32>
  return %y : tensor<2x8xf32>
}

// -----

func.func @layer_norm_eps(%x: tensor<2x8xf32>, %g: tensor<8xf32>, %b: tensor<8xf32>) -> tensor<2x8xf32> {
  // expected-error @+1 {{'nn.layer_norm' op eps must be positive and finite, got nan}}
  %y = nn.layer_norm %x, %g, %b {eps = 0x7FF8000000000000 : f64} : (tensor<2x8xf32>, tensor<8xf32>, tensor<8xf32>) -> tensor<2x8xf32>
  return %y : tensor<2x8xf32>
}

// -----

func.func @layer_norm_scalar(%x: tensor<f32>, %g: tensor<1xf32>, %b: tensor<1xf32>) -> tensor<f32> {
  // expected-error @+1 {{'nn.layer_norm' op expects an input of rank 1 or more, got a scalar}}
  %y = nn.layer_norm %x, %g, %b : (tensor<f32>, tensor<1xf32>, tensor<1xf32>) -> tensor<f32>
  return %y : tensor<f32>
}

// -----

func.func @layer_norm_grad_type(%x: tensor<2x8xf32>, %g: tensor<8xf32>, %dy: tensor<8x2xf32>) -> tensor<2x8xf32> {
  // expected-error @+1 {{'nn.layer_norm_grad' op grad and result must have the input's type}}
  %y = nn.layer_norm_grad %x, %g, %dy {eps = 1.0e-5 : f64} : (tensor<2x8xf32>, tensor<8xf32>, tensor<8x2xf32>) -> tensor<2x8xf32>
  return %y : tensor<2x8xf32>
}

// -----

func.func @attention_rank(%q: tensor<2x4x8xf32>) -> tensor<2x4x8xf32> {
  // expected-error @+1 {{'nn.attention' op expects query, key and value of rank 4 ([batch, heads, sequence, features]), got [2, 4, 8], [2, 4, 8], [2, 4, 8]}}
  %o = nn.attention %q, %q, %q {scale = 1.0 : f64} : (tensor<2x4x8xf32>, tensor<2x4x8xf32>, tensor<2x4x8xf32>) -> tensor<2x4x8xf32>
  return %o : tensor<2x4x8xf32>
}

// -----

func.func @attention_heads(%q: tensor<1x2x4x8xf32>, %k: tensor<1x3x4x8xf32>) -> tensor<1x2x4x8xf32> {
  // expected-error @+1 {{'nn.attention' op query [1, 2, 4, 8], key [1, 3, 4, 8] and value [1, 3, 4, 8] must have the same batch and heads}}
  %o = nn.attention %q, %k, %k {scale = 1.0 : f64} : (tensor<1x2x4x8xf32>, tensor<1x3x4x8xf32>, tensor<1x3x4x8xf32>) -> tensor<1x2x4x8xf32>
  return %o : tensor<1x2x4x8xf32>
}

// -----

func.func @attention_features(%q: tensor<1x2x4x8xf32>, %k: tensor<1x2x4x6xf32>) -> tensor<1x2x4x6xf32> {
  // expected-error @+1 {{'nn.attention' op query [1, 2, 4, 8] and key [1, 2, 4, 6] must have the same features}}
  %o = nn.attention %q, %k, %k {scale = 1.0 : f64} : (tensor<1x2x4x8xf32>, tensor<1x2x4x6xf32>, tensor<1x2x4x6xf32>) -> tensor<1x2x4x6xf32>
  return %o : tensor<1x2x4x6xf32>
}

// -----

func.func @attention_key_value(%q: tensor<1x2x4x8xf32>, %v: tensor<1x2x5x8xf32>) -> tensor<1x2x4x8xf32> {
  // expected-error @+1 {{'nn.attention' op key [1, 2, 4, 8] and value [1, 2, 5, 8] must have the same sequence length}}
  %o = nn.attention %q, %q, %v {scale = 1.0 : f64} : (tensor<1x2x4x8xf32>, tensor<1x2x4x8xf32>, tensor<1x2x5x8xf32>) -> tensor<1x2x4x8xf32>
  return %o : tensor<1x2x4x8xf32>
}

// -----

func.func @attention_mask(%q: tensor<1x2x4x8xf32>, %m: tensor<4x5xf32>) -> tensor<1x2x4x8xf32> {
  // expected-error @+1 {{'nn.attention' op mask [4, 5] should be [4, 4] ([queries, keys])}}
  %o = nn.attention %q, %q, %q, %m {scale = 1.0 : f64} : (tensor<1x2x4x8xf32>, tensor<1x2x4x8xf32>, tensor<1x2x4x8xf32>, tensor<4x5xf32>) -> tensor<1x2x4x8xf32>
  return %o : tensor<1x2x4x8xf32>
}

// -----

func.func @attention_scale(%q: tensor<1x2x4x8xf32>) -> tensor<1x2x4x8xf32> {
  // expected-error @+1 {{'nn.attention' op scale must be finite in f32, got 1e+300}}
  %o = nn.attention %q, %q, %q {scale = 1.0e300 : f64} : (tensor<1x2x4x8xf32>, tensor<1x2x4x8xf32>, tensor<1x2x4x8xf32>) -> tensor<1x2x4x8xf32>
  return %o : tensor<1x2x4x8xf32>
}

// -----

func.func @attention_grad_results(%q: tensor<1x2x4x8xf32>) -> tensor<1x2x4x8xf32> {
  // expected-error @+1 {{'nn.attention_grad' op results must have the types of query, key and value}}
  %a, %b, %c = nn.attention_grad %q, %q, %q, %q, %q {scale = 1.0 : f64} : (tensor<1x2x4x8xf32>, tensor<1x2x4x8xf32>, tensor<1x2x4x8xf32>, tensor<1x2x4x8xf32>, tensor<1x2x4x8xf32>) -> (tensor<1x2x4x8xf32>, tensor<1x2x4x8xf32>, tensor<1x2x8x4xf32>)
  return %a : tensor<1x2x4x8xf32>
}

// -----

func.func @transpose_perm(%x: tensor<2x3x4xf32>) -> tensor<3x3x4xf32> {
  // expected-error @+1 {{'nn.transpose' op permutation [1, 1, 2] is not a permutation of the 3 dimensions of [2, 3, 4]}}
  %t = nn.transpose %x {permutation = array<i64: 1, 1, 2>} : (tensor<2x3x4xf32>) -> tensor<3x3x4xf32>
  return %t : tensor<3x3x4xf32>
}

// -----

func.func @transpose_out_of_range(%x: tensor<2x3xf32>) -> tensor<3x2xf32> {
  // expected-error @+1 {{'nn.transpose' op permutation [1, 2] is not a permutation of the 2 dimensions of [2, 3]}}
  %t = nn.transpose %x {permutation = array<i64: 1, 2>} : (tensor<2x3xf32>) -> tensor<3x2xf32>
  return %t : tensor<3x2xf32>
}

// -----

func.func @slice_outside(%x: tensor<2x4x8xf32>) -> tensor<2x2x8xf32> {
  // expected-error @+1 {{'nn.slice' op dimension 1: 2 elements from 3 every 1 do not fit in 4}}
  %s = nn.slice %x {offsets = array<i64: 0, 3, 0>, sizes = array<i64: 2, 2, 8>, strides = array<i64: 1, 1, 1>} : (tensor<2x4x8xf32>) -> tensor<2x2x8xf32>
  return %s : tensor<2x2x8xf32>
}

// -----

func.func @slice_huge_stride(%x: tensor<2x4x8xf32>) -> tensor<2x2x8xf32> {
  // expected-error @+1 {{'nn.slice' op dimension 1: 2 elements from 0 every 9223372036854775807 do not fit in 4}}
  %s = nn.slice %x {offsets = array<i64: 0, 0, 0>, sizes = array<i64: 2, 2, 8>, strides = array<i64: 1, 9223372036854775807, 1>} : (tensor<2x4x8xf32>) -> tensor<2x2x8xf32>
  return %s : tensor<2x2x8xf32>
}

// -----

func.func @slice_rank(%x: tensor<2x4xf32>) -> tensor<2x1xf32> {
  // expected-error @+1 {{'nn.slice' op offsets, sizes and strides need 2 values each (the rank of [2, 4])}}
  %s = nn.slice %x {offsets = array<i64: 0>, sizes = array<i64: 2, 1>, strides = array<i64: 1, 1>} : (tensor<2x4xf32>) -> tensor<2x1xf32>
  return %s : tensor<2x1xf32>
}

// -----

func.func @slice_grad_shape(%dy: tensor<2x2xf32>) -> tensor<2x4xf32> {
  // expected-error @+1 {{'nn.slice_grad' op grad [2, 2] should be the box's sizes [2, 1]}}
  %s = nn.slice_grad %dy {offsets = array<i64: 0, 3>, sizes = array<i64: 2, 1>, strides = array<i64: 1, 1>} : (tensor<2x2xf32>) -> tensor<2x4xf32>
  return %s : tensor<2x4xf32>
}

// -----

func.func @scale_inf(%x: tensor<2x4xf32>) -> tensor<2x4xf32> {
  // expected-error @+1 {{'nn.scale' op factor must be finite in f32, got inf}}
  %s = nn.scale %x {factor = 0x7FF0000000000000 : f64} : tensor<2x4xf32>
  return %s : tensor<2x4xf32>
}

// -----

func.func @embedding_float_indices(%t: tensor<11x8xf32>, %i: tensor<4xf32>) -> tensor<4x8xf32> {
  // expected-error @+1 {{'nn.embedding' op operand #1 must be statically shaped tensor of 32-bit signless integer or 64-bit signless integer values}}
  %e = nn.embedding %t, %i : (tensor<11x8xf32>, tensor<4xf32>) -> tensor<4x8xf32>
  return %e : tensor<4x8xf32>
}

// -----

func.func @batched_matmul_batch(%a: tensor<2x3x4xf32>, %b: tensor<3x4x5xf32>) -> tensor<2x3x5xf32> {
  // expected-error @+1 {{'nn.matmul' op expects lhs and rhs of one rank, 2 or more, with the same leading (batch) dimensions, got [2, 3, 4] and [3, 4, 5]}}
  %c = nn.matmul %a, %b : (tensor<2x3x4xf32>, tensor<3x4x5xf32>) -> tensor<2x3x5xf32>
  return %c : tensor<2x3x5xf32>
}

// -----

func.func @batched_matmul_rank(%a: tensor<2x3x4xf32>, %b: tensor<4x5xf32>) -> tensor<2x3x5xf32> {
  // expected-error @+1 {{'nn.matmul' op expects lhs and rhs of one rank, 2 or more, with the same leading (batch) dimensions, got [2, 3, 4] and [4, 5]}}
  %c = nn.matmul %a, %b : (tensor<2x3x4xf32>, tensor<4x5xf32>) -> tensor<2x3x5xf32>
  return %c : tensor<2x3x5xf32>
}

// -----

func.func @broadcast_suffix(%x: tensor<4x8xf32>) -> tensor<2x8x4xf32> {
  // expected-error @+1 {{'nn.broadcast' op result [2, 8, 4] does not end with the input's shape [4, 8]}}
  %b = nn.broadcast %x : tensor<4x8xf32> -> tensor<2x8x4xf32>
  return %b : tensor<2x8x4xf32>
}
