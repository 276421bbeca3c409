// RUN: nnc-opt %s -split-input-file -verify-diagnostics | FileCheck %s

// The gradient all-reduce's two halves round-trip.
// CHECK-LABEL: func.func @bucket
// CHECK: %[[B:.+]] = nn.all_reduce_start %arg0, %arg1 {bucket = 0 : i64} : tensor<10x100xf32>, tensor<10xf32> -> tensor<1010xf32>
// CHECK: nn.all_reduce_wait %[[B]] {bucket = 0 : i64} : tensor<1010xf32> -> tensor<10x100xf32>, tensor<10xf32>
func.func @bucket(%dw: tensor<10x100xf32>, %db: tensor<10xf32>) -> (tensor<10x100xf32>, tensor<10xf32>) {
  %b = nn.all_reduce_start %dw, %db {bucket = 0 : i64} : tensor<10x100xf32>, tensor<10xf32> -> tensor<1010xf32>
  %w, %c = nn.all_reduce_wait %b {bucket = 0 : i64} : tensor<1010xf32> -> tensor<10x100xf32>, tensor<10xf32>
  return %w, %c : tensor<10x100xf32>, tensor<10xf32>
}

// -----

func.func @wrong_size(%dw: tensor<10x100xf32>) -> tensor<1001xf32> {
  // expected-error @+1 {{'nn.all_reduce_start' op bucket must be tensor<1000xf32> (the gradients' 1000 elements), got 'tensor<1001xf32>'}}
  %b = nn.all_reduce_start %dw {bucket = 0 : i64} : tensor<10x100xf32> -> tensor<1001xf32>
  return %b : tensor<1001xf32>
}

// -----

func.func @negative_bucket(%dw: tensor<4xf32>) -> tensor<4xf32> {
  // expected-error @+1 {{'nn.all_reduce_start' op bucket number must not be negative, got -1}}
  %b = nn.all_reduce_start %dw {bucket = -1 : i64} : tensor<4xf32> -> tensor<4xf32>
  return %b : tensor<4xf32>
}

// -----

func.func @other_bucket(%dw: tensor<4xf32>) -> tensor<4xf32> {
  %b = nn.all_reduce_start %dw {bucket = 0 : i64} : tensor<4xf32> -> tensor<4xf32>
  // expected-error @+1 {{'nn.all_reduce_wait' op waits for bucket 1 on the data of bucket 0}}
  %w = nn.all_reduce_wait %b {bucket = 1 : i64} : tensor<4xf32> -> tensor<4xf32>
  return %w : tensor<4xf32>
}

// -----

func.func @other_shapes(%dw: tensor<2x2xf32>) -> tensor<4xf32> {
  %b = nn.all_reduce_start %dw {bucket = 0 : i64} : tensor<2x2xf32> -> tensor<4xf32>
  // expected-error @+1 {{'nn.all_reduce_wait' op must unpack the gradients its start packed}}
  %w = nn.all_reduce_wait %b {bucket = 0 : i64} : tensor<4xf32> -> tensor<4xf32>
  return %w : tensor<4xf32>
}

// -----

func.func @no_grads() -> tensor<0xf32> {
  // expected-error @+1 {{'nn.all_reduce_start' op needs at least one gradient}}
  %b = "nn.all_reduce_start"() {bucket = 0 : i64} : () -> tensor<0xf32>
  return %b : tensor<0xf32>
}
