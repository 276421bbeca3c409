// RUN: nnc-opt %s --convert-nn-to-linalg --nnc-verify-no-nn | FileCheck %s

// Convolutions and pooling become nn.runtime_call of the run-time library's
// primitives (the geometry as i64 scalars, then the flags); a ReLU right
// after its convolution becomes the call's post-op, so the pre-activation
// tensor is never written; a reshape is a collapse and an expand (views).

// CHECK-LABEL: func.func @conv_relu_pool
func.func @conv_relu_pool(%x: tensor<2x1x6x6xf32>, %w: tensor<4x1x3x3xf32>,
                          %b: tensor<4xf32>) -> tensor<2x36xf32> {
  // CHECK: %[[E:.+]] = tensor.empty() : tensor<2x4x6x6xf32>
  // CHECK: %[[Y:.+]] = nn.runtime_call "nncrt_conv2d_forward" ins(%arg0, %arg1, %arg2 : tensor<2x1x6x6xf32>, tensor<4x1x3x3xf32>, tensor<4xf32>) outs(%[[E]] : tensor<2x4x6x6xf32>)
  // CHECK-SAME: pointers = array<i64: 0, 1, 2, 3>, scalars = [2, 1, 6, 6, 4, 3, 3, 6, 6, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1 : i32, 0.000000e+00 : f32]
  // CHECK-NOT: linalg.generic
  // CHECK: %[[P:.+]] = nn.runtime_call "nncrt_pool2d_forward" ins(%[[Y]] : tensor<2x4x6x6xf32>)
  // CHECK-SAME: pointers = array<i64: 0, 1>, scalars = [0 : i32, 2, 4, 6, 6, 3, 3, 2, 2, 2, 2, 0, 0, 0, 0]
  // CHECK: %[[C:.+]] = tensor.collapse_shape %[[P]] {{\[}}[0, 1, 2, 3]] : tensor<2x4x3x3xf32> into tensor<72xf32>
  // CHECK: tensor.expand_shape %[[C]] {{\[}}[0, 1]] output_shape [2, 36] : tensor<72xf32> into tensor<2x36xf32>
  %y = nn.conv2d %x, %w, %b {padding = array<i64: 1, 1, 1, 1>}
      : (tensor<2x1x6x6xf32>, tensor<4x1x3x3xf32>, tensor<4xf32>) -> tensor<2x4x6x6xf32>
  %r = nn.relu %y : tensor<2x4x6x6xf32>
  %p = nn.max_pool2d %r {kernel = array<i64: 2, 2>, strides = array<i64: 2, 2>}
      : (tensor<2x4x6x6xf32>) -> tensor<2x4x3x3xf32>
  %f = nn.reshape %p : tensor<2x4x3x3xf32> -> tensor<2x36xf32>
  return %f : tensor<2x36xf32>
}

// A convolution read by more than its activation keeps its own output; no
// bias is a null pointer (-1), leaky relu passes its slope.
// CHECK-LABEL: func.func @conv_two_uses
func.func @conv_two_uses(%x: tensor<1x2x4x4xf32>, %w: tensor<2x1x3x3xf32>)
    -> (tensor<1x2x2x2xf32>, tensor<1x2x2x2xf32>) {
  // CHECK: nn.runtime_call "nncrt_conv2d_forward" ins(%arg0, %arg1 : {{.*}}) {pointers = array<i64: 0, 1, -1, 2>, scalars = [1, 2, 4, 4, 2, 3, 3, 2, 2, 1, 1, 0, 0, 0, 0, 1, 1, 2, 0 : i32, 0.000000e+00 : f32]}
  // CHECK: linalg.generic
  %y = nn.conv2d %x, %w {groups = 2 : i64}
      : (tensor<1x2x4x4xf32>, tensor<2x1x3x3xf32>) -> tensor<1x2x2x2xf32>
  %r = nn.relu %y : tensor<1x2x2x2xf32>
  return %y, %r : tensor<1x2x2x2xf32>, tensor<1x2x2x2xf32>
}

// CHECK-LABEL: func.func @conv_leaky
func.func @conv_leaky(%x: tensor<1x1x3x3xf32>, %w: tensor<1x1x3x3xf32>) -> tensor<1x1x1x1xf32> {
  // CHECK: nn.runtime_call "nncrt_conv2d_forward" {{.*}} scalars = [1, 1, 3, 3, 1, 3, 3, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1, 2 : i32, 1.000000e-01 : f32]
  // CHECK-NOT: linalg.generic
  %y = nn.conv2d %x, %w : (tensor<1x1x3x3xf32>, tensor<1x1x3x3xf32>) -> tensor<1x1x1x1xf32>
  %r = nn.leaky_relu %y {alpha = 0.1 : f32} : tensor<1x1x1x1xf32>
  return %r : tensor<1x1x1x1xf32>
}

// The backward: input and weight gradients as calls, the bias gradient a
// reduction over n, h, w; pooling gradients read what they need (max: the
// input; average: nothing, a null pointer).
// CHECK-LABEL: func.func @backward
func.func @backward(%x: tensor<1x1x4x4xf32>, %w: tensor<2x1x3x3xf32>,
                    %dy: tensor<1x2x2x2xf32>, %dp: tensor<1x1x2x2xf32>)
    -> (tensor<1x1x4x4xf32>, tensor<2x1x3x3xf32>, tensor<2xf32>,
        tensor<1x1x4x4xf32>, tensor<1x1x4x4xf32>) {
  // CHECK: nn.runtime_call "nncrt_conv2d_backward_data" ins(%arg2, %arg1 : {{.*}}) {pointers = array<i64: 0, 1, 2>, scalars = [1, 1, 4, 4, 2, 3, 3, 2, 2, 1, 1, 0, 0, 0, 0, 1, 1, 1]}
  %dx = nn.conv2d_grad_input %dy, %w : (tensor<1x2x2x2xf32>, tensor<2x1x3x3xf32>) -> tensor<1x1x4x4xf32>
  // CHECK: nn.runtime_call "nncrt_conv2d_backward_weights" ins(%arg0, %arg2 : {{.*}}) {pointers = array<i64: 0, 1, 2>
  %dw = nn.conv2d_grad_weight %x, %dy : (tensor<1x1x4x4xf32>, tensor<1x2x2x2xf32>) -> tensor<2x1x3x3xf32>
  // CHECK: linalg.generic {{.*}} iterator_types = ["reduction", "parallel", "reduction", "reduction"]
  %db = nn.channel_sum %dy : (tensor<1x2x2x2xf32>) -> tensor<2xf32>
  // CHECK: nn.runtime_call "nncrt_pool2d_backward" ins(%arg0, %arg3 : {{.*}}) {pointers = array<i64: 0, 1, 2>, scalars = [0 : i32,
  %dm = nn.max_pool2d_grad %x, %dp {kernel = array<i64: 2, 2>, strides = array<i64: 2, 2>}
      : (tensor<1x1x4x4xf32>, tensor<1x1x2x2xf32>) -> tensor<1x1x4x4xf32>
  // CHECK: nn.runtime_call "nncrt_pool2d_backward" ins(%arg3 : {{.*}}) {pointers = array<i64: -1, 0, 1>, scalars = [2 : i32,
  %da = nn.avg_pool2d_grad %dp {kernel = array<i64: 2, 2>, strides = array<i64: 2, 2>}
      : (tensor<1x1x2x2xf32>) -> tensor<1x1x4x4xf32>
  return %dx, %dw, %db, %dm, %da : tensor<1x1x4x4xf32>, tensor<2x1x3x3xf32>,
      tensor<2xf32>, tensor<1x1x4x4xf32>, tensor<1x1x4x4xf32>
}

// A training-mode batch norm: per-channel sums in f64 over n, h, w (the
// statistics PyTorch's CPU kernels take in double), then one elementwise
// pass (x - mean) · invstd · weight + bias.
// CHECK-LABEL: func.func @batch_norm
// CHECK: linalg.generic {{.*}} iterator_types = ["reduction", "parallel", "reduction", "reduction"]} ins(%arg0 : tensor<2x3x4x4xf32>) outs(%{{.+}} : tensor<3xf64>)
// CHECK: arith.extf %{{.+}} : f32 to f64
// CHECK: math.sqrt %{{.+}} : f64
// CHECK: linalg.generic {{.*}} iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%arg0, %{{.+}}, %{{.+}}, %arg1, %arg2 : tensor<2x3x4x4xf32>, tensor<3xf32>, tensor<3xf32>, tensor<3xf32>, tensor<3xf32>)
func.func @batch_norm(%x: tensor<2x3x4x4xf32>, %g: tensor<3xf32>, %b: tensor<3xf32>,
                      %rm: tensor<3xf32>, %rv: tensor<3xf32>) -> tensor<2x3x4x4xf32> {
  %y = nn.batch_norm %x, %g, %b, %rm, %rv {training}
      : (tensor<2x3x4x4xf32>, tensor<3xf32>, tensor<3xf32>, tensor<3xf32>, tensor<3xf32>) -> tensor<2x3x4x4xf32>
  return %y : tensor<2x3x4x4xf32>
}

// A scalar reshaped to [1, 1] and back: one reshape each.
// CHECK-LABEL: func.func @scalar_reshape
// CHECK: %[[E:.+]] = tensor.expand_shape %arg0 [] output_shape [1, 1] : tensor<f32> into tensor<1x1xf32>
// CHECK: tensor.collapse_shape %[[E]] [] : tensor<1x1xf32> into tensor<f32>
func.func @scalar_reshape(%x: tensor<f32>) -> tensor<f32> {
  %y = nn.reshape %x : tensor<f32> -> tensor<1x1xf32>
  %z = nn.reshape %y : tensor<1x1xf32> -> tensor<f32>
  return %z : tensor<f32>
}

// Mixed precision: a convolution on bf16 operands calls the bf16 entry
// point, which takes its result's type last (1: bf16, 0: f32); its gradients
// likewise (the weight gradient f32 here); bf16 pooling has entry points of
// its own; the bias gradient widens the bf16 gradient as it sums in f32.
// CHECK-LABEL: func.func @conv_bf16
func.func @conv_bf16(%x: tensor<2x1x6x6xbf16>, %w: tensor<4x1x3x3xbf16>,
                     %b: tensor<4xf32>, %dy: tensor<2x4x3x3xbf16>)
    -> (tensor<2x4x3x3xbf16>, tensor<2x4x6x6xbf16>, tensor<4x1x3x3xf32>,
        tensor<4xf32>, tensor<2x1x6x6xbf16>) {
  // CHECK: %[[Y:.+]] = nn.runtime_call "nncrt_conv2d_forward_bf16" ins(%arg0, %arg1, %arg2 : tensor<2x1x6x6xbf16>, tensor<4x1x3x3xbf16>, tensor<4xf32>) outs(%{{.+}} : tensor<2x4x6x6xbf16>)
  // CHECK-SAME: scalars = [2, 1, 6, 6, 4, 3, 3, 6, 6, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1 : i32, 0.000000e+00 : f32, 1 : i32]
  // CHECK: nn.runtime_call "nncrt_pool2d_forward_bf16" ins(%[[Y]] : tensor<2x4x6x6xbf16>)
  // CHECK: nn.runtime_call "nncrt_pool2d_backward_bf16" ins(%[[Y]], %arg3 : tensor<2x4x6x6xbf16>, tensor<2x4x3x3xbf16>)
  // CHECK: nn.runtime_call "nncrt_conv2d_backward_weights_bf16" ins(%arg0, %{{.+}} : tensor<2x1x6x6xbf16>, tensor<2x4x6x6xbf16>) outs(%{{.+}} : tensor<4x1x3x3xf32>)
  // CHECK-SAME: scalars = [2, 1, 6, 6, 4, 3, 3, 6, 6, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0 : i32]
  // CHECK: linalg.generic
  // CHECK: arith.extf %{{.+}} : bf16 to f32
  // CHECK: nn.runtime_call "nncrt_conv2d_backward_data_bf16" ins(%{{.+}}, %arg1 : tensor<2x4x6x6xbf16>, tensor<4x1x3x3xbf16>) outs(%{{.+}} : tensor<2x1x6x6xbf16>)
  // CHECK-SAME: 1 : i32]
  %y = nn.conv2d %x, %w, %b {padding = array<i64: 1, 1, 1, 1>}
      : (tensor<2x1x6x6xbf16>, tensor<4x1x3x3xbf16>, tensor<4xf32>) -> tensor<2x4x6x6xbf16>
  %r = nn.relu %y : tensor<2x4x6x6xbf16>
  %p = nn.max_pool2d %r {kernel = array<i64: 2, 2>, strides = array<i64: 2, 2>}
      : (tensor<2x4x6x6xbf16>) -> tensor<2x4x3x3xbf16>
  %dp = nn.max_pool2d_grad %r, %dy {kernel = array<i64: 2, 2>, strides = array<i64: 2, 2>}
      : (tensor<2x4x6x6xbf16>, tensor<2x4x3x3xbf16>) -> tensor<2x4x6x6xbf16>
  %dw = nn.conv2d_grad_weight %x, %dp {padding = array<i64: 1, 1, 1, 1>}
      : (tensor<2x1x6x6xbf16>, tensor<2x4x6x6xbf16>) -> tensor<4x1x3x3xf32>
  %db = nn.channel_sum %dp : (tensor<2x4x6x6xbf16>) -> tensor<4xf32>
  %dx = nn.conv2d_grad_input %dp, %w {padding = array<i64: 1, 1, 1, 1>}
      : (tensor<2x4x6x6xbf16>, tensor<4x1x3x3xbf16>) -> tensor<2x1x6x6xbf16>
  return %p, %dp, %dw, %db, %dx : tensor<2x4x3x3xbf16>, tensor<2x4x6x6xbf16>, tensor<4x1x3x3xf32>, tensor<4xf32>, tensor<2x1x6x6xbf16>
}
