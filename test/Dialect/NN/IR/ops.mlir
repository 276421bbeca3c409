// RUN: nnc-opt %s | nnc-opt | FileCheck %s
// RUN: nnc-opt %s --mlir-print-op-generic | nnc-opt | FileCheck %s

// CHECK-LABEL: func.func @forward
func.func @forward(%x: tensor<8x4xf32>, %w: tensor<3x4xf32> {nn.param},
                   %b: tensor<3xf32> {nn.param}, %t: tensor<8x3xf32>,
                   %labels: tensor<8xi64>) -> (tensor<f32>, tensor<f32>) {
  // CHECK: [[Y:%.+]] = nn.linear %{{.+}}, %{{.+}}, %{{.+}} : (tensor<8x4xf32>, tensor<3x4xf32>, tensor<3xf32>) -> tensor<8x3xf32>
  %y = nn.linear %x, %w, %b : (tensor<8x4xf32>, tensor<3x4xf32>, tensor<3xf32>) -> tensor<8x3xf32>
  // CHECK: nn.linear %{{.+}}, %{{.+}} : (tensor<8x4xf32>, tensor<3x4xf32>) -> tensor<8x3xf32>
  %y2 = nn.linear %x, %w : (tensor<8x4xf32>, tensor<3x4xf32>) -> tensor<8x3xf32>
  // CHECK: nn.add [[Y]], %{{.+}} : tensor<8x3xf32>
  %s = nn.add %y, %y2 : tensor<8x3xf32>
  // CHECK: nn.relu
  %r = nn.relu %s : tensor<8x3xf32>
  // CHECK: nn.sigmoid
  %g = nn.sigmoid %r : tensor<8x3xf32>
  // CHECK: nn.tanh
  %h0 = nn.tanh %g : tensor<8x3xf32>
  // CHECK: nn.leaky_relu %{{.+}} {alpha = 1.000000e-01 : f32} : tensor<8x3xf32>
  %lr = nn.leaky_relu %h0 {alpha = 0.1 : f32} : tensor<8x3xf32>
  // CHECK: nn.gelu
  %h = nn.gelu %lr : tensor<8x3xf32>
  // CHECK: nn.dropout %{{.+}} {rate = 5.000000e-01 : f32, seed = 42 : i64} : tensor<8x3xf32>
  %d = nn.dropout %h {rate = 0.5 : f32, seed = 42 : i64} : tensor<8x3xf32>
  // CHECK: nn.softmax
  %p = nn.softmax %d : tensor<8x3xf32>
  // CHECK: nn.matmul %{{.+}}, %{{.+}} {transpose_lhs} : (tensor<8x3xf32>, tensor<8x4xf32>) -> tensor<3x4xf32>
  %m = nn.matmul %p, %x {transpose_lhs} : (tensor<8x3xf32>, tensor<8x4xf32>) -> tensor<3x4xf32>
  // CHECK: nn.mse_loss %{{.+}}, %{{.+}} : (tensor<8x3xf32>, tensor<8x3xf32>) -> tensor<f32>
  %l1 = nn.mse_loss %p, %t : (tensor<8x3xf32>, tensor<8x3xf32>) -> tensor<f32>
  // CHECK: nn.cross_entropy %{{.+}}, %{{.+}} : (tensor<8x3xf32>, tensor<8xi64>) -> tensor<f32>
  %l2 = nn.cross_entropy %d, %labels : (tensor<8x3xf32>, tensor<8xi64>) -> tensor<f32>
  return %l1, %l2 : tensor<f32>, tensor<f32>
}

// CHECK-LABEL: func.func @backward
func.func @backward(%x: tensor<8x3xf32>, %dy: tensor<8x3xf32>, %t: tensor<8x3xf32>,
                    %labels: tensor<8xi32>, %dl: tensor<f32>) -> tensor<3xf32> {
  // CHECK: nn.relu_grad
  %a = nn.relu_grad %x, %dy : tensor<8x3xf32>
  // CHECK: nn.sigmoid_grad
  %b = nn.sigmoid_grad %x, %a : tensor<8x3xf32>
  // CHECK: nn.tanh_grad
  %c = nn.tanh_grad %x, %b : tensor<8x3xf32>
  // CHECK: nn.leaky_relu_grad %{{.+}}, %{{.+}} {alpha = 1.000000e-01 : f32} : tensor<8x3xf32>
  %c1 = nn.leaky_relu_grad %x, %c {alpha = 0.1 : f32} : tensor<8x3xf32>
  // CHECK: nn.gelu_grad
  %c2 = nn.gelu_grad %x, %c1 : tensor<8x3xf32>
  // CHECK: nn.softmax_grad
  %d = nn.softmax_grad %x, %c2 : tensor<8x3xf32>
  // CHECK: nn.mse_loss_grad
  %e = nn.mse_loss_grad %d, %t, %dl : (tensor<8x3xf32>, tensor<8x3xf32>, tensor<f32>) -> tensor<8x3xf32>
  // CHECK: nn.cross_entropy_grad
  %f = nn.cross_entropy_grad %e, %labels, %dl : (tensor<8x3xf32>, tensor<8xi32>, tensor<f32>) -> tensor<8x3xf32>
  // CHECK: nn.sgd %{{.+}}, %{{.+}}, %{{.+}} : tensor<8x3xf32>
  %g = nn.sgd %f, %x, %dl : tensor<8x3xf32>
  // CHECK: nn.reduce_sum %{{.+}} {dim = 0 : i64} : (tensor<8x3xf32>) -> tensor<3xf32>
  %s = nn.reduce_sum %g {dim = 0 : i64} : (tensor<8x3xf32>) -> tensor<3xf32>
  return %s : tensor<3xf32>
}

// CHECK-LABEL: func.func @optimizers
func.func @optimizers(%w: tensor<8x3xf32>, %g: tensor<8x3xf32>, %v: tensor<8x3xf32>,
                      %m: tensor<8x3xf32>, %lr: tensor<f32>, %t: tensor<f32>)
    -> (tensor<8x3xf32>, tensor<8x3xf32>, tensor<8x3xf32>, tensor<8x3xf32>, tensor<f32>) {
  // CHECK: nn.sgd %{{.+}}, %{{.+}}, %{{.+}} {weight_decay = 1.000000e-02 : f64} : tensor<8x3xf32>
  %a = nn.sgd %w, %g, %lr {weight_decay = 0.01} : tensor<8x3xf32>
  // CHECK: %{{.+}}, %{{.+}} = nn.momentum_update %{{.+}}, %{{.+}}, %{{.+}}, %{{.+}} {momentum = 9.000000e-01 : f64, nesterov} : tensor<8x3xf32>
  %b, %bv = nn.momentum_update %w, %g, %v, %lr {momentum = 0.9, nesterov} : tensor<8x3xf32>
  // CHECK: %{{.+}}, %{{.+}}, %{{.+}} = nn.adam_update %{{.+}}, %{{.+}}, %{{.+}}, %{{.+}}, %{{.+}}, %{{.+}} {beta1 = 9.000000e-01 : f64, beta2 = 0.99899999999999999 : f64, eps = 1.000000e-08 : f64} : tensor<8x3xf32>
  %c, %cm, %cv = nn.adam_update %w, %g, %m, %v, %lr, %t {beta1 = 0.9, beta2 = 0.999, eps = 1.0e-8} : tensor<8x3xf32>
  // CHECK: nn.norm %{{.+}} : tensor<8x3xf32> -> tensor<f32>
  %n = nn.norm %g : tensor<8x3xf32> -> tensor<f32>
  return %a, %b, %bv, %cv, %n : tensor<8x3xf32>, tensor<8x3xf32>, tensor<8x3xf32>, tensor<8x3xf32>, tensor<f32>
}

// CHECK-LABEL: func.func @convolutional
func.func @convolutional(%x: tensor<2x4x8x8xf32>, %w: tensor<6x2x3x3xf32>,
                         %b: tensor<6xf32>, %dy: tensor<2x6x4x4xf32>)
    -> (tensor<2x6x4x4xf32>, tensor<2x4x8x8xf32>, tensor<6x2x3x3xf32>,
        tensor<6xf32>, tensor<2x6x2x2xf32>, tensor<2x6x4x4xf32>,
        tensor<2x6x4x4xf32>, tensor<2x6x4x4xf32>, tensor<2x96xf32>) {
  // CHECK: nn.conv2d %{{.+}}, %{{.+}}, %{{.+}} {dilations = array<i64: 1, 2>, groups = 2 : i64, padding = array<i64: 1, 2, 1, 2>, strides = array<i64: 2, 2>} : (tensor<2x4x8x8xf32>, tensor<6x2x3x3xf32>, tensor<6xf32>) -> tensor<2x6x4x4xf32>
  %y = nn.conv2d %x, %w, %b {strides = array<i64: 2, 2>, padding = array<i64: 1, 2, 1, 2>, dilations = array<i64: 1, 2>, groups = 2 : i64}
      : (tensor<2x4x8x8xf32>, tensor<6x2x3x3xf32>, tensor<6xf32>) -> tensor<2x6x4x4xf32>
  // CHECK: nn.conv2d_grad_input %{{.+}}, %{{.+}} {{{.+}}} : (tensor<2x6x4x4xf32>, tensor<6x2x3x3xf32>) -> tensor<2x4x8x8xf32>
  %dx = nn.conv2d_grad_input %dy, %w {strides = array<i64: 2, 2>, padding = array<i64: 1, 2, 1, 2>, dilations = array<i64: 1, 2>, groups = 2 : i64}
      : (tensor<2x6x4x4xf32>, tensor<6x2x3x3xf32>) -> tensor<2x4x8x8xf32>
  // CHECK: nn.conv2d_grad_weight %{{.+}}, %{{.+}} {{{.+}}} : (tensor<2x4x8x8xf32>, tensor<2x6x4x4xf32>) -> tensor<6x2x3x3xf32>
  %dw = nn.conv2d_grad_weight %x, %dy {strides = array<i64: 2, 2>, padding = array<i64: 1, 2, 1, 2>, dilations = array<i64: 1, 2>, groups = 2 : i64}
      : (tensor<2x4x8x8xf32>, tensor<2x6x4x4xf32>) -> tensor<6x2x3x3xf32>
  // CHECK: nn.channel_sum %{{.+}} : (tensor<2x6x4x4xf32>) -> tensor<6xf32>
  %db = nn.channel_sum %dy : (tensor<2x6x4x4xf32>) -> tensor<6xf32>
  // CHECK: nn.max_pool2d %{{.+}} {kernel = array<i64: 3, 3>, padding = array<i64: 1, 1, 1, 1>, strides = array<i64: 2, 2>} : (tensor<2x6x4x4xf32>) -> tensor<2x6x2x2xf32>
  %p = nn.max_pool2d %y {kernel = array<i64: 3, 3>, strides = array<i64: 2, 2>, padding = array<i64: 1, 1, 1, 1>}
      : (tensor<2x6x4x4xf32>) -> tensor<2x6x2x2xf32>
  // CHECK: nn.max_pool2d_grad %{{.+}}, %{{.+}} {{{.+}}} : (tensor<2x6x4x4xf32>, tensor<2x6x2x2xf32>) -> tensor<2x6x4x4xf32>
  %dp = nn.max_pool2d_grad %y, %p {kernel = array<i64: 3, 3>, strides = array<i64: 2, 2>, padding = array<i64: 1, 1, 1, 1>}
      : (tensor<2x6x4x4xf32>, tensor<2x6x2x2xf32>) -> tensor<2x6x4x4xf32>
  // CHECK: nn.avg_pool2d %{{.+}} {count_include_pad, kernel = array<i64: 3, 3>, padding = array<i64: 1, 1, 1, 1>, strides = array<i64: 1, 1>} : (tensor<2x6x4x4xf32>) -> tensor<2x6x4x4xf32>
  %a = nn.avg_pool2d %y {kernel = array<i64: 3, 3>, strides = array<i64: 1, 1>, padding = array<i64: 1, 1, 1, 1>, count_include_pad}
      : (tensor<2x6x4x4xf32>) -> tensor<2x6x4x4xf32>
  // CHECK: nn.avg_pool2d_grad %{{.+}} {{{.+}}} : (tensor<2x6x4x4xf32>) -> tensor<2x6x4x4xf32>
  %da = nn.avg_pool2d_grad %a {kernel = array<i64: 3, 3>, strides = array<i64: 1, 1>, padding = array<i64: 1, 1, 1, 1>}
      : (tensor<2x6x4x4xf32>) -> tensor<2x6x4x4xf32>
  // CHECK: nn.reshape %{{.+}} : tensor<2x6x4x4xf32> -> tensor<2x96xf32>
  %f = nn.reshape %a : tensor<2x6x4x4xf32> -> tensor<2x96xf32>
  return %y, %dx, %dw, %db, %p, %dp, %a, %da, %f
      : tensor<2x6x4x4xf32>, tensor<2x4x8x8xf32>, tensor<6x2x3x3xf32>,
        tensor<6xf32>, tensor<2x6x2x2xf32>, tensor<2x6x4x4xf32>,
        tensor<2x6x4x4xf32>, tensor<2x6x4x4xf32>, tensor<2x96xf32>
}

// CHECK-LABEL: func.func @runtime_call
func.func @runtime_call(%x: tensor<1x1x4x4xf32>, %m: memref<1x1x4x4xf32>, %o: memref<1x1x2x2xf32>) -> tensor<1x1x2x2xf32> {
  %e = tensor.empty() : tensor<1x1x2x2xf32>
  // CHECK: nn.runtime_call "nncrt_pool2d_forward" ins(%{{.+}} : tensor<1x1x4x4xf32>) outs(%{{.+}} : tensor<1x1x2x2xf32>) {pointers = array<i64: 0, 1>, scalars = [0 : i32, 1, 1, 4, 4, 2, 2, 2, 2, 2, 2, 0, 0, 0, 0]} -> tensor<1x1x2x2xf32>
  %y = nn.runtime_call "nncrt_pool2d_forward" ins(%x : tensor<1x1x4x4xf32>) outs(%e : tensor<1x1x2x2xf32>)
      {pointers = array<i64: 0, 1>, scalars = [0 : i32, 1, 1, 4, 4, 2, 2, 2, 2, 2, 2, 0, 0, 0, 0]} -> tensor<1x1x2x2xf32>
  // CHECK: nn.runtime_call "nncrt_pool2d_forward" ins(%{{.+}} : memref<1x1x4x4xf32>) outs(%{{.+}} : memref<1x1x2x2xf32>) {pointers
  nn.runtime_call "nncrt_pool2d_forward" ins(%m : memref<1x1x4x4xf32>) outs(%o : memref<1x1x2x2xf32>)
      {pointers = array<i64: 0, 1>, scalars = [0 : i32, 1, 1, 4, 4, 2, 2, 2, 2, 2, 2, 0, 0, 0, 0]}
  return %y : tensor<1x1x2x2xf32>
}

// CHECK-LABEL: func.func @batch_norm
func.func @batch_norm(%x: tensor<4x3x2x2xf32>, %g: tensor<3xf32>, %b: tensor<3xf32>,
                      %rm: tensor<3xf32> {nn.running_stat}, %rv: tensor<3xf32> {nn.running_stat})
    -> (tensor<4x3x2x2xf32>, tensor<4x3x2x2xf32>, tensor<4x3x2x2xf32>, tensor<3xf32>, tensor<3xf32>) {
  // CHECK: nn.batch_norm %{{.+}}, %{{.+}}, %{{.+}}, %{{.+}}, %{{.+}} {eps = 1.000000e-03 : f64, training} : (tensor<4x3x2x2xf32>, tensor<3xf32>, tensor<3xf32>, tensor<3xf32>, tensor<3xf32>) -> tensor<4x3x2x2xf32>
  %y = nn.batch_norm %x, %g, %b, %rm, %rv {eps = 1.0e-3, training}
      : (tensor<4x3x2x2xf32>, tensor<3xf32>, tensor<3xf32>, tensor<3xf32>, tensor<3xf32>) -> tensor<4x3x2x2xf32>
  // CHECK: nn.batch_norm %{{.+}}, %{{.+}}, %{{.+}}, %{{.+}}, %{{.+}} : (
  %e = nn.batch_norm %x, %g, %b, %rm, %rv
      : (tensor<4x3x2x2xf32>, tensor<3xf32>, tensor<3xf32>, tensor<3xf32>, tensor<3xf32>) -> tensor<4x3x2x2xf32>
  // CHECK: nn.batch_norm_grad %{{.+}}, %{{.+}}, %{{.+}} : (tensor<4x3x2x2xf32>, tensor<3xf32>, tensor<4x3x2x2xf32>) -> tensor<4x3x2x2xf32>
  %dx = nn.batch_norm_grad %x, %g, %y : (tensor<4x3x2x2xf32>, tensor<3xf32>, tensor<4x3x2x2xf32>) -> tensor<4x3x2x2xf32>
  // CHECK: nn.batch_norm_grad_weight %{{.+}}, %{{.+}} : (tensor<4x3x2x2xf32>, tensor<4x3x2x2xf32>) -> tensor<3xf32>
  %dg = nn.batch_norm_grad_weight %x, %y : (tensor<4x3x2x2xf32>, tensor<4x3x2x2xf32>) -> tensor<3xf32>
  // CHECK: nn.running_stat_update %{{.+}}, %{{.+}} {momentum = 1.000000e-01 : f64, variance} : (tensor<4x3x2x2xf32>, tensor<3xf32>) -> tensor<3xf32>
  %rv2 = nn.running_stat_update %x, %rv {momentum = 0.1, variance} : (tensor<4x3x2x2xf32>, tensor<3xf32>) -> tensor<3xf32>
  return %y, %e, %dx, %dg, %rv2 : tensor<4x3x2x2xf32>, tensor<4x3x2x2xf32>, tensor<4x3x2x2xf32>, tensor<3xf32>, tensor<3xf32>
}

// A 16-bit convolution's weight gradient may stay f32 (accumulated in f32
// for an f32 update): bf16 and f16 (--precision=fp16) alike.
// CHECK-LABEL: func.func @half_weight_gradients
func.func @half_weight_gradients(%x: tensor<1x1x4x4xf16>, %dy: tensor<1x2x2x2xf16>,
                                 %xb: tensor<1x1x4x4xbf16>, %dyb: tensor<1x2x2x2xbf16>)
    -> (tensor<2x1x3x3xf32>, tensor<2x1x3x3xf16>, tensor<2x1x3x3xf32>) {
  // CHECK: nn.conv2d_grad_weight %{{.+}}, %{{.+}} : (tensor<1x1x4x4xf16>, tensor<1x2x2x2xf16>) -> tensor<2x1x3x3xf32>
  %a = nn.conv2d_grad_weight %x, %dy : (tensor<1x1x4x4xf16>, tensor<1x2x2x2xf16>) -> tensor<2x1x3x3xf32>
  // CHECK: nn.conv2d_grad_weight %{{.+}}, %{{.+}} : (tensor<1x1x4x4xf16>, tensor<1x2x2x2xf16>) -> tensor<2x1x3x3xf16>
  %b = nn.conv2d_grad_weight %x, %dy : (tensor<1x1x4x4xf16>, tensor<1x2x2x2xf16>) -> tensor<2x1x3x3xf16>
  // CHECK: nn.conv2d_grad_weight %{{.+}}, %{{.+}} : (tensor<1x1x4x4xbf16>, tensor<1x2x2x2xbf16>) -> tensor<2x1x3x3xf32>
  %c = nn.conv2d_grad_weight %xb, %dyb : (tensor<1x1x4x4xbf16>, tensor<1x2x2x2xbf16>) -> tensor<2x1x3x3xf32>
  return %a, %b, %c : tensor<2x1x3x3xf32>, tensor<2x1x3x3xf16>, tensor<2x1x3x3xf32>
}
