// RUN: nnc-opt %s --split-input-file --nnc-mixed-precision=precision=bf16 | FileCheck %s
// RUN: nnc-opt %s --split-input-file --nnc-mixed-precision=precision=f32 | FileCheck %s --check-prefix=F32
// RUN: nnc-opt %s --split-input-file --nnc-mixed-precision=precision=bf16 --nnc-autodiff="learning-rate=0.1" --nnc-fuse-updates | FileCheck %s --check-prefix=STEP
// RUN: nnc-opt %s --split-input-file --nnc-mixed-precision=precision=fp16 | FileCheck %s --check-prefix=FP16

// An MLP: each linear layer reads bf16 (its input and weight cast once, just
// before the layer, so the copy lives in the layer's stage), the bias stays
// f32, the activation keeps bf16, and the loss reads bf16 and returns f32.
// CHECK-LABEL: func.func @mlp
// CHECK-NEXT: %[[X:.+]] = nn.cast %arg0 : tensor<8x16xf32> to tensor<8x16xbf16>
// CHECK-NEXT: %[[W1:.+]] = nn.cast %arg2 : tensor<32x16xf32> to tensor<32x16xbf16>
// CHECK-NEXT: %[[H:.+]] = nn.linear %[[X]], %[[W1]], %arg3 : (tensor<8x16xbf16>, tensor<32x16xbf16>, tensor<32xf32>) -> tensor<8x32xbf16>
// CHECK-NEXT: %[[R:.+]] = nn.relu %[[H]] : tensor<8x32xbf16>
// CHECK-NEXT: %[[W2:.+]] = nn.cast %arg4 : tensor<4x32xf32> to tensor<4x32xbf16>
// CHECK-NEXT: %[[Y:.+]] = nn.linear %[[R]], %[[W2]], %arg5 : (tensor<8x32xbf16>, tensor<4x32xbf16>, tensor<4xf32>) -> tensor<8x4xbf16>
// CHECK-NEXT: nn.mse_loss %[[Y]], %arg1 : (tensor<8x4xbf16>, tensor<8x4xf32>) -> tensor<f32>
// fp16: the same typing with f16.
// FP16-LABEL: func.func @mlp
// FP16-NEXT: nn.cast %arg0 : tensor<8x16xf32> to tensor<8x16xf16>
// FP16-NEXT: nn.cast %arg2 : tensor<32x16xf32> to tensor<32x16xf16>
// FP16-NEXT: nn.linear {{.+}} -> tensor<8x32xf16>
// FP16-NEXT: nn.relu {{.+}} : tensor<8x32xf16>
// FP16-NOT: bf16
// F32-LABEL: func.func @mlp
// F32-NOT: nn.cast
// F32-NOT: bf16
//
// The derived step: every gradient has its value's type, a weight's
// gradient is the f32 product of bf16 operands, fused into its update.
// STEP-LABEL: func.func @mlp_train_step
// STEP: nn.mse_loss_grad %{{.+}} -> tensor<8x4xbf16>
// STEP: nn.matmul %{{.+}} : (tensor<8x4xbf16>, tensor<4x32xbf16>) -> tensor<8x32xbf16>
// STEP: nn.sgd_matmul %arg4, %{{.+}} : (tensor<4x32xf32>, tensor<8x4xbf16>, tensor<8x32xbf16>, tensor<f32>) -> tensor<4x32xf32>
// STEP: nn.reduce_sum %{{.+}} : (tensor<8x4xbf16>) -> tensor<4xf32>
// STEP: nn.relu_grad %{{.+}} : tensor<8x32xbf16>
// STEP: nn.sgd_matmul %arg2, %{{.+}} : (tensor<32x16xf32>, tensor<8x32xbf16>, tensor<8x16xbf16>, tensor<f32>) -> tensor<32x16xf32>
// STEP-NOT: nn.sgd %arg2
// STEP-NOT: nn.sgd %arg4
func.func @mlp(%x: tensor<8x16xf32>, %t: tensor<8x4xf32>, %w1: tensor<32x16xf32> {nn.param}, %b1: tensor<32xf32> {nn.param}, %w2: tensor<4x32xf32> {nn.param}, %b2: tensor<4xf32> {nn.param}) -> tensor<f32> {
  %h = nn.linear %x, %w1, %b1 : (tensor<8x16xf32>, tensor<32x16xf32>, tensor<32xf32>) -> tensor<8x32xf32>
  %r = nn.relu %h : tensor<8x32xf32>
  %y = nn.linear %r, %w2, %b2 : (tensor<8x32xf32>, tensor<4x32xf32>, tensor<4xf32>) -> tensor<8x4xf32>
  %l = nn.mse_loss %y, %t : (tensor<8x4xf32>, tensor<8x4xf32>) -> tensor<f32>
  return %l : tensor<f32>
}

// -----

// An op that reads f32 only (layer norm) gets its bf16 operand widened
// exactly; a product whose user reads f32 only keeps its result in f32;
// an elementwise op with mixed operands computes in f32.
// CHECK-LABEL: func.func @boundaries
// CHECK: %[[H:.+]] = nn.linear %{{.+}} -> tensor<4x8xbf16>
// CHECK-NEXT: %[[R:.+]] = nn.relu %[[H]] : tensor<4x8xbf16>
// CHECK-NEXT: %[[WIDE:.+]] = nn.cast %[[R]] : tensor<4x8xbf16> to tensor<4x8xf32>
// CHECK-NEXT: nn.layer_norm %[[WIDE]]
// CHECK: %[[P:.+]] = nn.linear %{{.+}} -> tensor<4x8xf32>
// CHECK-NEXT: %[[M:.+]] = nn.layer_norm %[[P]]
// CHECK-NEXT: nn.add %[[M]], %[[WIDE]] : tensor<4x8xf32>
//
// In the step, the f32 gradient of that f32 product is narrowed for its
// bf16 input-gradient product, whose own gradient (flowing into layer
// norm's f32 output) stays f32.
// STEP-LABEL: func.func @boundaries_train_step
// STEP: nn.layer_norm_grad
// STEP: %[[DY:.+]] = nn.cast %{{.+}} : tensor<4x8xf32> to tensor<4x8xbf16>
// STEP-NEXT: nn.matmul %[[DY]], %{{.+}} : (tensor<4x8xbf16>, tensor<8x8xbf16>) -> tensor<4x8xf32>
func.func @boundaries(%x: tensor<4x8xf32>, %w: tensor<8x8xf32> {nn.param}, %g: tensor<8xf32> {nn.param}, %b: tensor<8xf32> {nn.param}) -> tensor<f32> {
  %h = nn.linear %x, %w : (tensor<4x8xf32>, tensor<8x8xf32>) -> tensor<4x8xf32>
  %r = nn.relu %h : tensor<4x8xf32>
  %n = nn.layer_norm %r, %g, %b : (tensor<4x8xf32>, tensor<8xf32>, tensor<8xf32>) -> tensor<4x8xf32>
  %p = nn.linear %n, %w : (tensor<4x8xf32>, tensor<8x8xf32>) -> tensor<4x8xf32>
  %m = nn.layer_norm %p, %g, %b : (tensor<4x8xf32>, tensor<8xf32>, tensor<8xf32>) -> tensor<4x8xf32>
  %s = nn.add %m, %r : tensor<4x8xf32>
  %l = nn.mse_loss %s, %x : (tensor<4x8xf32>, tensor<4x8xf32>) -> tensor<f32>
  return %l : tensor<f32>
}

// -----

// A CNN: a convolution is a contraction (its input and weight cast to bf16,
// its bias f32), and its result is bf16 when every user reads bf16; max
// pooling and the reshape keep the type they are given, so the activations
// stay bf16 from the first convolution to the linear layer.
// CHECK-LABEL: func.func @cnn
// CHECK-NEXT: %[[X:.+]] = nn.cast %arg0 : tensor<2x1x6x6xf32> to tensor<2x1x6x6xbf16>
// CHECK-NEXT: %[[W1:.+]] = nn.cast %arg2 : tensor<4x1x3x3xf32> to tensor<4x1x3x3xbf16>
// CHECK-NEXT: %[[C:.+]] = nn.conv2d %[[X]], %[[W1]], %arg3 {{.+}} : (tensor<2x1x6x6xbf16>, tensor<4x1x3x3xbf16>, tensor<4xf32>) -> tensor<2x4x6x6xbf16>
// CHECK-NEXT: %[[R:.+]] = nn.relu %[[C]] : tensor<2x4x6x6xbf16>
// CHECK-NEXT: %[[P:.+]] = nn.max_pool2d %[[R]] {{.+}} : (tensor<2x4x6x6xbf16>) -> tensor<2x4x3x3xbf16>
// CHECK-NEXT: %[[W2:.+]] = nn.cast %arg4 : tensor<4x4x3x3xf32> to tensor<4x4x3x3xbf16>
// CHECK-NEXT: %[[C2:.+]] = nn.conv2d %[[P]], %[[W2]] {{.+}} : (tensor<2x4x3x3xbf16>, tensor<4x4x3x3xbf16>) -> tensor<2x4x2x2xbf16>
// CHECK-NEXT: %[[R2:.+]] = nn.relu %[[C2]] : tensor<2x4x2x2xbf16>
// CHECK-NEXT: %[[F:.+]] = nn.reshape %[[R2]] : tensor<2x4x2x2xbf16> -> tensor<2x16xbf16>
// CHECK-NEXT: %[[W3:.+]] = nn.cast %arg5 : tensor<3x16xf32> to tensor<3x16xbf16>
// CHECK-NEXT: nn.linear %[[F]], %[[W3]] : (tensor<2x16xbf16>, tensor<3x16xbf16>) -> tensor<2x3xbf16>
// F32-LABEL: func.func @cnn
// F32-NOT: bf16
//
// The step: the gradients follow their values' types; each convolution's
// weight gradient is the f32 result of bf16 operands (the gradient of the
// weight's bf16 copy, not rounded), its bias gradient an f32 sum of the
// bf16 output gradient.
// STEP-LABEL: func.func @cnn_train_step
// STEP: nn.reshape %{{.+}} : tensor<2x16xbf16> -> tensor<2x4x2x2xbf16>
// STEP: nn.relu_grad %{{.+}} : tensor<2x4x2x2xbf16>
// STEP: nn.conv2d_grad_input %{{.+}} : (tensor<2x4x2x2xbf16>, tensor<4x4x3x3xbf16>) -> tensor<2x4x3x3xbf16>
// STEP: nn.conv2d_grad_weight %{{.+}} : (tensor<2x4x3x3xbf16>, tensor<2x4x2x2xbf16>) -> tensor<4x4x3x3xf32>
// STEP: nn.max_pool2d_grad %{{.+}} : (tensor<2x4x6x6xbf16>, tensor<2x4x3x3xbf16>) -> tensor<2x4x6x6xbf16>
// STEP: nn.relu_grad %{{.+}} : tensor<2x4x6x6xbf16>
// STEP: nn.conv2d_grad_weight %{{.+}} : (tensor<2x1x6x6xbf16>, tensor<2x4x6x6xbf16>) -> tensor<4x1x3x3xf32>
// STEP: nn.channel_sum %{{.+}} : (tensor<2x4x6x6xbf16>) -> tensor<4xf32>
// STEP-NOT: nn.conv2d_grad_input
func.func @cnn(%x: tensor<2x1x6x6xf32>, %t: tensor<2xi64>, %w1: tensor<4x1x3x3xf32> {nn.param}, %b1: tensor<4xf32> {nn.param}, %w2: tensor<4x4x3x3xf32> {nn.param}, %w3: tensor<3x16xf32> {nn.param}) -> tensor<f32> {
  %c = nn.conv2d %x, %w1, %b1 {padding = array<i64: 1, 1, 1, 1>} : (tensor<2x1x6x6xf32>, tensor<4x1x3x3xf32>, tensor<4xf32>) -> tensor<2x4x6x6xf32>
  %r = nn.relu %c : tensor<2x4x6x6xf32>
  %p = nn.max_pool2d %r {kernel = array<i64: 2, 2>, strides = array<i64: 2, 2>} : (tensor<2x4x6x6xf32>) -> tensor<2x4x3x3xf32>
  %c2 = nn.conv2d %p, %w2 {strides = array<i64: 2, 2>, padding = array<i64: 1, 1, 1, 1>} : (tensor<2x4x3x3xf32>, tensor<4x4x3x3xf32>) -> tensor<2x4x2x2xf32>
  %r2 = nn.relu %c2 : tensor<2x4x2x2xf32>
  %f = nn.reshape %r2 : tensor<2x4x2x2xf32> -> tensor<2x16xf32>
  %y = nn.linear %f, %w3 : (tensor<2x16xf32>, tensor<3x16xf32>) -> tensor<2x3xf32>
  %l = nn.cross_entropy %y, %t : (tensor<2x3xf32>, tensor<2xi64>) -> tensor<f32>
  return %l : tensor<f32>
}

// -----

// Batch norm reads f32 (its statistics stay f32): the convolution before it
// keeps its f32 accumulator, and in the step its gradient is narrowed for
// the two bf16 gradient convolutions.
// CHECK-LABEL: func.func @conv_bn
// CHECK: %[[C:.+]] = nn.conv2d %{{.+}} : (tensor<2x3x4x4xbf16>, tensor<4x3x3x3xbf16>) -> tensor<2x4x2x2xf32>
// CHECK-NEXT: nn.batch_norm %[[C]], {{.+}} : (tensor<2x4x2x2xf32>,
// STEP-LABEL: func.func @conv_bn_train_step
// STEP: nn.batch_norm_grad
// STEP: %[[DY:.+]] = nn.cast %{{.+}} : tensor<2x4x2x2xf32> to tensor<2x4x2x2xbf16>
// STEP: nn.conv2d_grad_weight %{{.+}}, %[[DY]] {{.+}} -> tensor<4x3x3x3xf32>
func.func @conv_bn(%x: tensor<2x3x4x4xf32>, %t: tensor<2x4x2x2xf32>, %w: tensor<4x3x3x3xf32> {nn.param}, %g: tensor<4xf32> {nn.param}, %b: tensor<4xf32> {nn.param}, %rm: tensor<4xf32> {nn.running_stat}, %rv: tensor<4xf32> {nn.running_stat}) -> tensor<f32> {
  %c = nn.conv2d %x, %w : (tensor<2x3x4x4xf32>, tensor<4x3x3x3xf32>) -> tensor<2x4x2x2xf32>
  %n = nn.batch_norm %c, %g, %b, %rm, %rv {training} : (tensor<2x4x2x2xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>) -> tensor<2x4x2x2xf32>
  %l = nn.mse_loss %n, %t : (tensor<2x4x2x2xf32>, tensor<2x4x2x2xf32>) -> tensor<f32>
  return %l : tensor<f32>
}
