// RUN: nnc-opt %s --nnc-insert-allreduce="bucket-bytes=0" | FileCheck %s --check-prefix=EACH
// RUN: nnc-opt %s --nnc-insert-allreduce="bucket-bytes=48" | FileCheck %s --check-prefix=TWO
// RUN: nnc-opt %s --nnc-insert-allreduce | FileCheck %s --check-prefix=ONE

// A step whose backward completes dW2 (36 B), db (12 B), then dW1 (48 B),
// each update placed right after its gradient (as nnc-rematerialize does).
// The updates move after the backward; each bucket starts right after its
// last gradient and is waited for right before the first update reading it.

// EACH-LABEL: func.func @step
// EACH:      %[[DW2:.+]] = nn.matmul %arg1, %arg4 {transpose_lhs}
// EACH-NEXT: %[[B0:.+]] = nn.all_reduce_start %[[DW2]] {bucket = 0 : i64} : tensor<3x3xf32> -> tensor<9xf32>
// EACH-NEXT: %[[DB:.+]] = nn.reduce_sum
// EACH-NEXT: %[[B1:.+]] = nn.all_reduce_start %[[DB]] {bucket = 1 : i64}
// EACH-NEXT: %[[DH:.+]] = nn.matmul %arg1, %arg3 :
// EACH-NEXT: %[[DW1:.+]] = nn.matmul %[[DH]], %arg0 {transpose_lhs}
// EACH-NEXT: %[[B2:.+]] = nn.all_reduce_start %[[DW1]] {bucket = 2 : i64} : tensor<3x4xf32> -> tensor<12xf32>
// EACH-NEXT: %[[R0:.+]] = nn.all_reduce_wait %[[B0]] {bucket = 0 : i64} : tensor<9xf32> -> tensor<3x3xf32>
// EACH-NEXT: nn.momentum_update %arg3, %[[R0]], %arg5
// EACH-NEXT: %[[R1:.+]] = nn.all_reduce_wait %[[B1]] {bucket = 1 : i64}
// EACH-NEXT: nn.sgd %arg6, %[[R1]]
// EACH-NEXT: nn.norm %[[R1]]
// EACH-NEXT: %[[R2:.+]] = nn.all_reduce_wait %[[B2]] {bucket = 2 : i64}
// EACH-NEXT: nn.sgd %arg2, %[[R2]]
// EACH-NEXT: return

// dW2 and db together hold 48 B: the first bucket closes with db.
// TWO-LABEL: func.func @step
// TWO:      nn.reduce_sum
// TWO-NEXT: nn.all_reduce_start %{{.+}}, %{{.+}} {bucket = 0 : i64} : tensor<3x3xf32>, tensor<3xf32> -> tensor<12xf32>
// TWO:      nn.all_reduce_start %{{.+}} {bucket = 1 : i64} : tensor<3x4xf32> -> tensor<12xf32>
// TWO-NEXT: %[[R:.+]]:2 = nn.all_reduce_wait %{{.+}} {bucket = 0 : i64}
// TWO-NEXT: nn.momentum_update %arg3, %[[R]]#0
// TWO-NEXT: nn.sgd %arg6, %[[R]]#1
// TWO-NEXT: nn.norm %[[R]]#1
// TWO-NEXT: nn.all_reduce_wait %{{.+}} {bucket = 1 : i64}

// The default (1 MiB): one bucket after the last gradient.
// ONE-LABEL: func.func @step
// ONE-COUNT-1: nn.all_reduce_start
// ONE-NOT:   nn.all_reduce_start
// ONE:       nn.all_reduce_wait
// ONE-NOT:   nn.all_reduce_wait
func.func @step(%x: tensor<8x4xf32>, %dy: tensor<8x3xf32>, %w1: tensor<3x4xf32>,
                %w2: tensor<3x3xf32>, %h: tensor<8x3xf32>, %v2: tensor<3x3xf32>,
                %b: tensor<3xf32>, %lr: tensor<f32>)
    -> (tensor<3x4xf32>, tensor<3x3xf32>, tensor<3x3xf32>, tensor<3xf32>, tensor<f32>)
    attributes {nn.entry = #nn.entry<train_step>} {
  %dw2 = nn.matmul %dy, %h {transpose_lhs} : (tensor<8x3xf32>, tensor<8x3xf32>) -> tensor<3x3xf32>
  %nw2, %nv2 = nn.momentum_update %w2, %dw2, %v2, %lr {momentum = 0.9} : tensor<3x3xf32>
  %db = nn.reduce_sum %dy {dim = 0 : i64} : (tensor<8x3xf32>) -> tensor<3xf32>
  %nb = nn.sgd %b, %db, %lr : tensor<3xf32>
  %n = nn.norm %db : tensor<3xf32> -> tensor<f32>
  %dh = nn.matmul %dy, %w2 : (tensor<8x3xf32>, tensor<3x3xf32>) -> tensor<8x3xf32>
  %dw1 = nn.matmul %dh, %x {transpose_lhs} : (tensor<8x3xf32>, tensor<8x4xf32>) -> tensor<3x4xf32>
  %nw1 = nn.sgd %w1, %dw1, %lr : tensor<3x4xf32>
  return %nw1, %nw2, %nv2, %nb, %n : tensor<3x4xf32>, tensor<3x3xf32>, tensor<3x3xf32>, tensor<3xf32>, tensor<f32>
}

// Functions that are not training steps are left alone.
// EACH-LABEL: func.func @grad
// EACH-NOT: nn.all_reduce
// EACH: return
func.func @grad(%dy: tensor<8x3xf32>, %h: tensor<8x3xf32>) -> tensor<3x3xf32>
    attributes {nn.entry = #nn.entry<grad>} {
  %dw2 = nn.matmul %dy, %h {transpose_lhs} : (tensor<8x3xf32>, tensor<8x3xf32>) -> tensor<3x3xf32>
  return %dw2 : tensor<3x3xf32>
}
