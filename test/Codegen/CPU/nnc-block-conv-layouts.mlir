// RUN: nnc-opt %s --split-input-file --verify-diagnostics --pass-pipeline='builtin.module(func.func(nnc-block-conv-layouts))' | FileCheck %s
// The CPU pipeline runs it by default: the Fashion-MNIST CNN's step calls
// only the layout-aware convolutions and poolings; --conv-layout=plain
// keeps the plain calls.
// RUN: nnc-compile %nnc_src_root/examples/fashion-cnn/cnn.onnx --emit=mlir -o - | grep -o "llvm.call @nncrt_[a-z0-9_]*" | sort -u | FileCheck %s --check-prefix=CNN
// RUN: nnc-compile %nnc_src_root/examples/fashion-cnn/cnn.onnx --conv-layout=plain --emit=mlir -o - | grep -o "llvm.call @nncrt_[a-z0-9_]*" | sort -u | FileCheck %s --check-prefix=PLAIN
// The step's max poolings take the index form (nnc-max-pool-indices);
// the model function's, for evaluation, the plain one.
// CNN: @nncrt_conv2d_backward_data_layout
// CNN-NEXT: @nncrt_conv2d_backward_weights_layout
// CNN-NEXT: @nncrt_conv2d_forward_layout
// CNN-NEXT: @nncrt_maxpool2d_backward_indices_layout
// CNN-NEXT: @nncrt_maxpool2d_forward_indices_layout
// CNN-NEXT: @nncrt_parallel_for
// CNN-NEXT: @nncrt_pool2d_forward_layout
// PLAIN: @nncrt_conv2d_backward_data{{$}}
// PLAIN-NEXT: @nncrt_conv2d_backward_weights{{$}}
// PLAIN-NEXT: @nncrt_conv2d_forward{{$}}
// PLAIN-NEXT: @nncrt_maxpool2d_backward_indices{{$}}
// PLAIN-NEXT: @nncrt_maxpool2d_forward_indices{{$}}
// PLAIN-NEXT: @nncrt_parallel_for
// PLAIN-NEXT: @nncrt_pool2d_forward{{$}}

// The Fashion-MNIST CNN's forward (batch 2): the input (1 channel) and the
// flattened output stay NCHW; between them every activation is nChw16c, so
// the first convolution writes its y blocked (bit 3), the poolings and the
// second convolution read and write blocked, and the last pooling writes
// NCHW for the flatten.
// CHECK-LABEL: func.func @forward
// CHECK: nn.runtime_call "nncrt_conv2d_forward_layout"
// CHECK-SAME: scalars = [2, 1, 8, 8, 16, 3, 3, 8, 8, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1 : i32, 0.000000e+00 : f32, 0 : i32, 0 : i32, 8 : i32]
// CHECK: nn.runtime_call "nncrt_pool2d_forward_layout"
// CHECK-SAME: 0 : i32, 3 : i32]
// CHECK: nn.runtime_call "nncrt_conv2d_forward_layout"
// CHECK-SAME: 0 : i32, 0 : i32, 9 : i32]
// CHECK: nn.runtime_call "nncrt_pool2d_forward_layout"
// CHECK-SAME: 0 : i32, 1 : i32]
// CHECK: tensor.collapse_shape
func.func @forward(%x: tensor<2x1x8x8xf32>, %w1: tensor<16x1x3x3xf32>, %b1: tensor<16xf32>, %w2: tensor<32x16x3x3xf32>) -> tensor<256xf32> {
  %e1 = tensor.empty() : tensor<2x16x8x8xf32>
  %y1 = nn.runtime_call "nncrt_conv2d_forward" ins(%x, %w1, %b1 : tensor<2x1x8x8xf32>, tensor<16x1x3x3xf32>, tensor<16xf32>) outs(%e1 : tensor<2x16x8x8xf32>) {pointers = array<i64: 0, 1, 2, 3>, scalars = [2, 1, 8, 8, 16, 3, 3, 8, 8, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1 : i32, 0.0 : f32]} -> tensor<2x16x8x8xf32>
  %e2 = tensor.empty() : tensor<2x16x4x4xf32>
  %p1 = nn.runtime_call "nncrt_pool2d_forward" ins(%y1 : tensor<2x16x8x8xf32>) outs(%e2 : tensor<2x16x4x4xf32>) {pointers = array<i64: 0, 1>, scalars = [0 : i32, 2, 16, 8, 8, 4, 4, 2, 2, 2, 2, 0, 0, 0, 0]} -> tensor<2x16x4x4xf32>
  %e3 = tensor.empty() : tensor<2x32x4x4xf32>
  %y2 = nn.runtime_call "nncrt_conv2d_forward" ins(%p1, %w2 : tensor<2x16x4x4xf32>, tensor<32x16x3x3xf32>) outs(%e3 : tensor<2x32x4x4xf32>) {pointers = array<i64: 0, 1, -1, 2>, scalars = [2, 16, 4, 4, 32, 3, 3, 4, 4, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1 : i32, 0.0 : f32]} -> tensor<2x32x4x4xf32>
  %e4 = tensor.empty() : tensor<2x32x2x2xf32>
  %p2 = nn.runtime_call "nncrt_pool2d_forward" ins(%y2 : tensor<2x32x4x4xf32>) outs(%e4 : tensor<2x32x2x2xf32>) {pointers = array<i64: 0, 1>, scalars = [0 : i32, 2, 32, 4, 4, 2, 2, 2, 2, 2, 2, 0, 0, 0, 0]} -> tensor<2x32x2x2xf32>
  %flat = tensor.collapse_shape %p2 [[0, 1, 2, 3]] : tensor<2x32x2x2xf32> into tensor<256xf32>
  return %flat : tensor<256xf32>
}

// -----

// The backward of the second convolution (its input x an argument, NCHW,
// and so read NCHW by the weight gradient too): the pooling's gradient comes
// from the flatten (NCHW, bit 1 clear) and goes out blocked (bit 2), the
// ReLU's mask is elementwise on two blocked tensors, both gradient calls
// read it blocked (dx, returned, is written NCHW), and the bias's gradient
// sums it per channel over the 5-D view of its memory.
#id = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>
#ch = affine_map<(d0, d1, d2, d3) -> (d1)>
// CHECK-DAG: #[[ID5:.+]] = affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d2, d3, d4)>
// CHECK-DAG: #[[CH5:.+]] = affine_map<(d0, d1, d2, d3, d4) -> (d1, d4)>
// CHECK-LABEL: func.func @backward
// CHECK: nn.runtime_call "nncrt_conv2d_forward_layout"
// CHECK-SAME: 0 : i32, 0 : i32, 8 : i32]
// CHECK: nn.runtime_call "nncrt_pool2d_backward_layout"
// CHECK-SAME: 0 : i32, 5 : i32]
// CHECK: linalg.generic
// CHECK: nn.runtime_call "nncrt_conv2d_backward_data_layout"
// CHECK-SAME: 0 : i32, 0 : i32, 1 : i32]
// CHECK: nn.runtime_call "nncrt_conv2d_backward_weights_layout"
// CHECK-SAME: 0 : i32, 0 : i32, 2 : i32]
// CHECK: %[[FLAT:.+]] = tensor.collapse_shape %{{.+}} {{\[\[}}0, 1, 2, 3]] : tensor<2x32x4x4xf32> into tensor<1024xf32>
// CHECK: %[[VIEW:.+]] = tensor.expand_shape %[[FLAT]] {{\[\[}}0, 1, 2, 3, 4]] output_shape [2, 2, 4, 4, 16]
// CHECK: %[[SUMS:.+]] = linalg.generic {indexing_maps = [#[[ID5]], #[[CH5]]], iterator_types = ["reduction", "parallel", "reduction", "reduction", "parallel"]} ins(%[[VIEW]] : tensor<2x2x4x4x16xf32>) outs(%{{.+}} : tensor<2x16xf32>)
// CHECK: tensor.collapse_shape %[[SUMS]] {{\[\[}}0, 1]] : tensor<2x16xf32> into tensor<32xf32>
func.func @backward(%p1: tensor<2x16x4x4xf32>, %w2: tensor<32x16x3x3xf32>, %dp2: tensor<2x32x2x2xf32>) -> (tensor<2x16x4x4xf32>, tensor<32x16x3x3xf32>, tensor<32xf32>) {
  %e3 = tensor.empty() : tensor<2x32x4x4xf32>
  %y2 = nn.runtime_call "nncrt_conv2d_forward" ins(%p1, %w2 : tensor<2x16x4x4xf32>, tensor<32x16x3x3xf32>) outs(%e3 : tensor<2x32x4x4xf32>) {pointers = array<i64: 0, 1, -1, 2>, scalars = [2, 16, 4, 4, 32, 3, 3, 4, 4, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1 : i32, 0.0 : f32]} -> tensor<2x32x4x4xf32>
  %e5 = tensor.empty() : tensor<2x32x4x4xf32>
  %dy2 = nn.runtime_call "nncrt_pool2d_backward" ins(%y2, %dp2 : tensor<2x32x4x4xf32>, tensor<2x32x2x2xf32>) outs(%e5 : tensor<2x32x4x4xf32>) {pointers = array<i64: 0, 1, 2>, scalars = [0 : i32, 2, 32, 4, 4, 2, 2, 2, 2, 2, 2, 0, 0, 0, 0]} -> tensor<2x32x4x4xf32>
  %e6 = tensor.empty() : tensor<2x32x4x4xf32>
  %mask = linalg.generic {indexing_maps = [#id, #id, #id], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%y2, %dy2 : tensor<2x32x4x4xf32>, tensor<2x32x4x4xf32>) outs(%e6 : tensor<2x32x4x4xf32>) {
  ^bb0(%a: f32, %g: f32, %o: f32):
    %zero = arith.constant 0.0 : f32
    %pos = arith.cmpf ogt, %a, %zero : f32
    %r = arith.select %pos, %g, %zero : f32
    linalg.yield %r : f32
  } -> tensor<2x32x4x4xf32>
  %e7 = tensor.empty() : tensor<2x16x4x4xf32>
  %dx = nn.runtime_call "nncrt_conv2d_backward_data" ins(%mask, %w2 : tensor<2x32x4x4xf32>, tensor<32x16x3x3xf32>) outs(%e7 : tensor<2x16x4x4xf32>) {pointers = array<i64: 0, 1, 2>, scalars = [2, 16, 4, 4, 32, 3, 3, 4, 4, 1, 1, 1, 1, 1, 1, 1, 1, 1]} -> tensor<2x16x4x4xf32>
  %e8 = tensor.empty() : tensor<32x16x3x3xf32>
  %dw = nn.runtime_call "nncrt_conv2d_backward_weights" ins(%p1, %mask : tensor<2x16x4x4xf32>, tensor<2x32x4x4xf32>) outs(%e8 : tensor<32x16x3x3xf32>) {pointers = array<i64: 0, 1, 2>, scalars = [2, 16, 4, 4, 32, 3, 3, 4, 4, 1, 1, 1, 1, 1, 1, 1, 1, 1]} -> tensor<32x16x3x3xf32>
  %e9 = tensor.empty() : tensor<32xf32>
  %zero = arith.constant 0.0 : f32
  %z = linalg.fill ins(%zero : f32) outs(%e9 : tensor<32xf32>) -> tensor<32xf32>
  %db = linalg.generic {indexing_maps = [#id, #ch], iterator_types = ["reduction", "parallel", "reduction", "reduction"]} ins(%mask : tensor<2x32x4x4xf32>) outs(%z : tensor<32xf32>) {
  ^bb0(%in: f32, %acc: f32):
    %s = arith.addf %acc, %in : f32
    linalg.yield %s : f32
  } -> tensor<32xf32>
  return %dx, %dw, %db : tensor<2x16x4x4xf32>, tensor<32x16x3x3xf32>, tensor<32xf32>
}

// -----

// Max pooling's index form: x and y (bits 0, 1) and dy and dx (bits 1, 2)
// follow the convolutions' layouts, and the positions (forward bit 2,
// backward bit 0), which only these calls read, are blocked with them.
// CHECK-LABEL: func.func @indices
// CHECK: nn.runtime_call "nncrt_conv2d_forward_layout"
// CHECK-SAME: 0 : i32, 0 : i32, 8 : i32]
// CHECK: nn.runtime_call "nncrt_maxpool2d_forward_indices_layout"
// CHECK-SAME: scalars = [2, 16, 8, 8, 4, 4, 2, 2, 2, 2, 0, 0, 0, 0, 0 : i32, 7 : i32]
// CHECK: nn.runtime_call "nncrt_conv2d_forward_layout"
// CHECK-SAME: 0 : i32, 0 : i32, 1 : i32]
// CHECK: nn.runtime_call "nncrt_conv2d_backward_data_layout"
// CHECK-SAME: 0 : i32, 0 : i32, 4 : i32]
// CHECK: nn.runtime_call "nncrt_maxpool2d_backward_indices_layout"
// CHECK-SAME: scalars = [2, 16, 8, 8, 4, 4, 2, 2, 2, 2, 0, 0, 0, 0, 0 : i32, 7 : i32]
// CHECK: nn.runtime_call "nncrt_conv2d_backward_weights_layout"
// CHECK-SAME: 0 : i32, 0 : i32, 2 : i32]
func.func @indices(%x: tensor<2x1x8x8xf32>, %w1: tensor<16x1x3x3xf32>, %w2: tensor<16x16x3x3xf32>, %dy2: tensor<2x16x4x4xf32>) -> (tensor<2x16x4x4xf32>, tensor<16x1x3x3xf32>) {
  %e1 = tensor.empty() : tensor<2x16x8x8xf32>
  %y1 = nn.runtime_call "nncrt_conv2d_forward" ins(%x, %w1 : tensor<2x1x8x8xf32>, tensor<16x1x3x3xf32>) outs(%e1 : tensor<2x16x8x8xf32>) {pointers = array<i64: 0, 1, -1, 2>, scalars = [2, 1, 8, 8, 16, 3, 3, 8, 8, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1 : i32, 0.0 : f32]} -> tensor<2x16x8x8xf32>
  %e2 = tensor.empty() : tensor<2x16x4x4xf32>
  %e3 = tensor.empty() : tensor<2x16x4x4xi8>
  %p:2 = nn.runtime_call "nncrt_maxpool2d_forward_indices" ins(%y1 : tensor<2x16x8x8xf32>) outs(%e2, %e3 : tensor<2x16x4x4xf32>, tensor<2x16x4x4xi8>) {pointers = array<i64: 0, 1, 2>, scalars = [2, 16, 8, 8, 4, 4, 2, 2, 2, 2, 0, 0, 0, 0]} -> tensor<2x16x4x4xf32>, tensor<2x16x4x4xi8>
  %e4 = tensor.empty() : tensor<2x16x4x4xf32>
  %y2 = nn.runtime_call "nncrt_conv2d_forward" ins(%p#0, %w2 : tensor<2x16x4x4xf32>, tensor<16x16x3x3xf32>) outs(%e4 : tensor<2x16x4x4xf32>) {pointers = array<i64: 0, 1, -1, 2>, scalars = [2, 16, 4, 4, 16, 3, 3, 4, 4, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1 : i32, 0.0 : f32]} -> tensor<2x16x4x4xf32>
  %e5 = tensor.empty() : tensor<2x16x4x4xf32>
  %dp = nn.runtime_call "nncrt_conv2d_backward_data" ins(%dy2, %w2 : tensor<2x16x4x4xf32>, tensor<16x16x3x3xf32>) outs(%e5 : tensor<2x16x4x4xf32>) {pointers = array<i64: 0, 1, 2>, scalars = [2, 16, 4, 4, 16, 3, 3, 4, 4, 1, 1, 1, 1, 1, 1, 1, 1, 1]} -> tensor<2x16x4x4xf32>
  %e6 = tensor.empty() : tensor<2x16x8x8xf32>
  %dr = nn.runtime_call "nncrt_maxpool2d_backward_indices" ins(%p#1, %dp : tensor<2x16x4x4xi8>, tensor<2x16x4x4xf32>) outs(%e6 : tensor<2x16x8x8xf32>) {pointers = array<i64: 0, 1, 2>, scalars = [2, 16, 8, 8, 4, 4, 2, 2, 2, 2, 0, 0, 0, 0]} -> tensor<2x16x8x8xf32>
  %e7 = tensor.empty() : tensor<16x1x3x3xf32>
  %dw = nn.runtime_call "nncrt_conv2d_backward_weights" ins(%x, %dr : tensor<2x1x8x8xf32>, tensor<2x16x8x8xf32>) outs(%e7 : tensor<16x1x3x3xf32>) {pointers = array<i64: 0, 1, 2>, scalars = [2, 1, 8, 8, 16, 3, 3, 8, 8, 1, 1, 1, 1, 1, 1, 1, 1, 1]} -> tensor<16x1x3x3xf32>
  return %y2, %dw : tensor<2x16x4x4xf32>, tensor<16x1x3x3xf32>
}

// -----

// Stays NCHW: a value the function returns (its caller reads NCHW), the
// elementwise op tied to it, and a grouped convolution.
// CHECK-LABEL: func.func @boundaries
// CHECK: nn.runtime_call "nncrt_conv2d_forward"
// CHECK-SAME: scalars = [2, 16, 4, 4, 16, 3, 3, 4, 4, 1, 1, 1, 1, 1, 1, 1, 1, 2, 1 : i32, 0.000000e+00 : f32]}
// CHECK: nn.runtime_call "nncrt_pool2d_forward"
// CHECK-SAME: 0, 0, 0, 0]}
// CHECK: linalg.generic
// CHECK: nn.runtime_call "nncrt_pool2d_forward"
// CHECK-SAME: 0, 0, 0, 0]}
#id = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>
func.func @boundaries(%x: tensor<2x16x4x4xf32>, %w: tensor<16x8x3x3xf32>) -> (tensor<2x16x4x4xf32>, tensor<2x16x2x2xf32>, tensor<2x16x1x1xf32>) {
  %e = tensor.empty() : tensor<2x16x4x4xf32>
  %y = nn.runtime_call "nncrt_conv2d_forward" ins(%x, %w : tensor<2x16x4x4xf32>, tensor<16x8x3x3xf32>) outs(%e : tensor<2x16x4x4xf32>) {pointers = array<i64: 0, 1, -1, 2>, scalars = [2, 16, 4, 4, 16, 3, 3, 4, 4, 1, 1, 1, 1, 1, 1, 1, 1, 2, 1 : i32, 0.0 : f32]} -> tensor<2x16x4x4xf32>
  %e2 = tensor.empty() : tensor<2x16x2x2xf32>
  %p = nn.runtime_call "nncrt_pool2d_forward" ins(%y : tensor<2x16x4x4xf32>) outs(%e2 : tensor<2x16x2x2xf32>) {pointers = array<i64: 0, 1>, scalars = [0 : i32, 2, 16, 4, 4, 2, 2, 2, 2, 2, 2, 0, 0, 0, 0]} -> tensor<2x16x2x2xf32>
  %e3 = tensor.empty() : tensor<2x16x2x2xf32>
  %n = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%p : tensor<2x16x2x2xf32>) outs(%e3 : tensor<2x16x2x2xf32>) {
  ^bb0(%a: f32, %o: f32):
    %r = arith.negf %a : f32
    linalg.yield %r : f32
  } -> tensor<2x16x2x2xf32>
  %e4 = tensor.empty() : tensor<2x16x1x1xf32>
  %q = nn.runtime_call "nncrt_pool2d_forward" ins(%n : tensor<2x16x2x2xf32>) outs(%e4 : tensor<2x16x1x1xf32>) {pointers = array<i64: 0, 1>, scalars = [0 : i32, 2, 16, 2, 2, 1, 1, 2, 2, 2, 2, 0, 0, 0, 0]} -> tensor<2x16x1x1xf32>
  return %y, %n, %q : tensor<2x16x4x4xf32>, tensor<2x16x2x2xf32>, tensor<2x16x1x1xf32>
}

// -----

// A bf16 pooling's call says its type (1) before the layouts (y only: x
// is an argument).
// CHECK-LABEL: func.func @bf16
// CHECK: nn.runtime_call "nncrt_pool2d_forward_layout"
// CHECK-SAME: 0, 0, 0, 0, 1 : i32, 2 : i32]
// CHECK: nn.runtime_call "nncrt_conv2d_forward_layout"
// CHECK-SAME: 1 : i32, 1 : i32, 1 : i32]
func.func @bf16(%x: tensor<2x16x4x4xbf16>, %w: tensor<16x16x1x1xbf16>) -> tensor<2x16x2x2xbf16> {
  %e = tensor.empty() : tensor<2x16x2x2xbf16>
  %p = nn.runtime_call "nncrt_pool2d_forward_bf16" ins(%x : tensor<2x16x4x4xbf16>) outs(%e : tensor<2x16x2x2xbf16>) {pointers = array<i64: 0, 1>, scalars = [0 : i32, 2, 16, 4, 4, 2, 2, 2, 2, 2, 2, 0, 0, 0, 0]} -> tensor<2x16x2x2xbf16>
  %e2 = tensor.empty() : tensor<2x16x2x2xbf16>
  %y = nn.runtime_call "nncrt_conv2d_forward_bf16" ins(%p, %w : tensor<2x16x2x2xbf16>, tensor<16x16x1x1xbf16>) outs(%e2 : tensor<2x16x2x2xbf16>) {pointers = array<i64: 0, 1, -1, 2>, scalars = [2, 16, 2, 2, 16, 1, 1, 2, 2, 1, 1, 0, 0, 0, 0, 1, 1, 1, 0 : i32, 0.0 : f32, 1 : i32]} -> tensor<2x16x2x2xbf16>
  return %y : tensor<2x16x2x2xbf16>
}

// -----

func.func @bad_scalars(%x: tensor<2x16x4x4xf32>) -> tensor<2x16x2x2xf32> {
  %e = tensor.empty() : tensor<2x16x2x2xf32>
  // expected-error @+1 {{calls 'nncrt_pool2d_forward' with 14 scalars, not the 15 its signature takes}}
  %p = nn.runtime_call "nncrt_pool2d_forward" ins(%x : tensor<2x16x4x4xf32>) outs(%e : tensor<2x16x2x2xf32>) {pointers = array<i64: 0, 1>, scalars = [0 : i32, 2, 16, 4, 4, 2, 2, 2, 2, 2, 2, 0, 0, 0]} -> tensor<2x16x2x2xf32>
  return %p : tensor<2x16x2x2xf32>
}
