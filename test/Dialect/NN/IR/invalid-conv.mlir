// RUN: nnc-opt %s -split-input-file -verify-diagnostics
// Malformed convolutions, pooling and reshapes: one located error each.

func.func @conv_kernel_too_large(%x: tensor<1x1x4x4xf32>, %w: tensor<2x1x5x5xf32>) -> tensor<1x2x1x1xf32> {
  // expected-error @+1 {{'nn.conv2d' op kernel 5x5 (dilated) is larger than the padded input 4x4}}
  %y = nn.conv2d %x, %w : (tensor<1x1x4x4xf32>, tensor<2x1x5x5xf32>) -> tensor<1x2x1x1xf32>
  return %y : tensor<1x2x1x1xf32>
}

// -----

func.func @conv_dilated_too_large(%x: tensor<1x1x6x6xf32>, %w: tensor<2x1x3x3xf32>) -> tensor<1x2x1x1xf32> {
  // expected-error @+1 {{kernel 7x7 (dilated) is larger than the padded input 6x6}}
  %y = nn.conv2d %x, %w {dilations = array<i64: 3, 3>} : (tensor<1x1x6x6xf32>, tensor<2x1x3x3xf32>) -> tensor<1x2x1x1xf32>
  return %y : tensor<1x2x1x1xf32>
}

// -----

func.func @conv_zero_stride(%x: tensor<1x1x4x4xf32>, %w: tensor<2x1x3x3xf32>) -> tensor<1x2x2x2xf32> {
  // expected-error @+1 {{strides must be two positive values, got [0, 1]}}
  %y = nn.conv2d %x, %w {strides = array<i64: 0, 1>} : (tensor<1x1x4x4xf32>, tensor<2x1x3x3xf32>) -> tensor<1x2x2x2xf32>
  return %y : tensor<1x2x2x2xf32>
}

// -----

func.func @conv_negative_padding(%x: tensor<1x1x4x4xf32>, %w: tensor<2x1x3x3xf32>) -> tensor<1x2x2x2xf32> {
  // expected-error @+1 {{padding must be four values [top, left, bottom, right], none negative, got [0, -1, 0, 0]}}
  %y = nn.conv2d %x, %w {padding = array<i64: 0, -1, 0, 0>} : (tensor<1x1x4x4xf32>, tensor<2x1x3x3xf32>) -> tensor<1x2x2x2xf32>
  return %y : tensor<1x2x2x2xf32>
}

// -----

func.func @conv_absurd_padding(%x: tensor<1x1x4x4xf32>, %w: tensor<2x1x3x3xf32>) -> tensor<1x2x2x2xf32> {
  // expected-error @+1 {{padding must be four values [top, left, bottom, right], none negative, got [4611686018427387904, 0, 0, 0]}}
  %y = nn.conv2d %x, %w {padding = array<i64: 4611686018427387904, 0, 0, 0>} : (tensor<1x1x4x4xf32>, tensor<2x1x3x3xf32>) -> tensor<1x2x2x2xf32>
  return %y : tensor<1x2x2x2xf32>
}

// -----

func.func @conv_groups(%x: tensor<1x6x4x4xf32>, %w: tensor<4x2x3x3xf32>) -> tensor<1x4x2x2xf32> {
  // expected-error @+1 {{input channels 6 and output channels 4 must both be divisible by groups 3}}
  %y = nn.conv2d %x, %w {groups = 3 : i64} : (tensor<1x6x4x4xf32>, tensor<4x2x3x3xf32>) -> tensor<1x4x2x2xf32>
  return %y : tensor<1x4x2x2xf32>
}

// -----

func.func @conv_weight_channels(%x: tensor<1x3x4x4xf32>, %w: tensor<2x2x3x3xf32>) -> tensor<1x2x2x2xf32> {
  // expected-error @+1 {{weight [2, 2, 3, 3] does not match input [1, 3, 4, 4]: expected 3 input channels per group (weight is [K, C/groups, KH, KW])}}
  %y = nn.conv2d %x, %w : (tensor<1x3x4x4xf32>, tensor<2x2x3x3xf32>) -> tensor<1x2x2x2xf32>
  return %y : tensor<1x2x2x2xf32>
}

// -----

func.func @conv_bias(%x: tensor<1x1x4x4xf32>, %w: tensor<2x1x3x3xf32>, %b: tensor<3xf32>) -> tensor<1x2x2x2xf32> {
  // expected-error @+1 {{bias [3] does not match the 2 output channels}}
  %y = nn.conv2d %x, %w, %b : (tensor<1x1x4x4xf32>, tensor<2x1x3x3xf32>, tensor<3xf32>) -> tensor<1x2x2x2xf32>
  return %y : tensor<1x2x2x2xf32>
}

// -----

func.func @conv_rank(%x: tensor<4x4xf32>, %w: tensor<2x1x3x3xf32>) -> tensor<1x2x2x2xf32> {
  // expected-error @+1 {{expects input of rank 4, got [4, 4]}}
  %y = nn.conv2d %x, %w : (tensor<4x4xf32>, tensor<2x1x3x3xf32>) -> tensor<1x2x2x2xf32>
  return %y : tensor<1x2x2x2xf32>
}

// -----

func.func @conv_result(%x: tensor<1x1x5x5xf32>, %w: tensor<2x1x3x3xf32>) -> tensor<1x2x3x3xf32> {
  // expected-error @+1 {{result shape [1, 2, 3, 3] should be [1, 2, 2, 2]}}
  %y = nn.conv2d %x, %w {strides = array<i64: 2, 2>} : (tensor<1x1x5x5xf32>, tensor<2x1x3x3xf32>) -> tensor<1x2x3x3xf32>
  return %y : tensor<1x2x3x3xf32>
}

// -----

func.func @conv_grad_input(%dy: tensor<1x2x2x2xf32>, %w: tensor<2x1x3x3xf32>) -> tensor<1x1x6x6xf32> {
  // expected-error @+1 {{'nn.conv2d_grad_input' op grad [1, 2, 2, 2] is not the output [1, 2, 4, 4] of the convolution it differentiates}}
  %dx = nn.conv2d_grad_input %dy, %w : (tensor<1x2x2x2xf32>, tensor<2x1x3x3xf32>) -> tensor<1x1x6x6xf32>
  return %dx : tensor<1x1x6x6xf32>
}

// -----

func.func @conv_grad_weight(%x: tensor<1x1x4x4xf32>, %dy: tensor<1x2x2x2xf32>) -> tensor<2x1x2x2xf32> {
  // expected-error @+1 {{'nn.conv2d_grad_weight' op grad [1, 2, 2, 2] is not the output [1, 2, 3, 3] of the convolution it differentiates}}
  %dw = nn.conv2d_grad_weight %x, %dy : (tensor<1x1x4x4xf32>, tensor<1x2x2x2xf32>) -> tensor<2x1x2x2xf32>
  return %dw : tensor<2x1x2x2xf32>
}

// -----

func.func @pool_kernel_too_large(%x: tensor<1x1x2x2xf32>) -> tensor<1x1x1x1xf32> {
  // expected-error @+1 {{'nn.max_pool2d' op kernel [3, 3] is larger than the padded input 2x2}}
  %y = nn.max_pool2d %x {kernel = array<i64: 3, 3>, strides = array<i64: 1, 1>} : (tensor<1x1x2x2xf32>) -> tensor<1x1x1x1xf32>
  return %y : tensor<1x1x1x1xf32>
}

// -----

func.func @pool_zero_stride(%x: tensor<1x1x4x4xf32>) -> tensor<1x1x2x2xf32> {
  // expected-error @+1 {{'nn.avg_pool2d' op strides must be two positive values, got [2, 0]}}
  %y = nn.avg_pool2d %x {kernel = array<i64: 2, 2>, strides = array<i64: 2, 0>} : (tensor<1x1x4x4xf32>) -> tensor<1x1x2x2xf32>
  return %y : tensor<1x1x2x2xf32>
}

// -----

func.func @pool_padding(%x: tensor<1x1x4x4xf32>) -> tensor<1x1x4x4xf32> {
  // expected-error @+1 {{padding [2, 0, 0, 0] must be at most half the kernel [3, 3]}}
  %y = nn.max_pool2d %x {kernel = array<i64: 3, 3>, strides = array<i64: 1, 1>, padding = array<i64: 2, 0, 0, 0>} : (tensor<1x1x4x4xf32>) -> tensor<1x1x4x4xf32>
  return %y : tensor<1x1x4x4xf32>
}

// -----

func.func @pool_kernel_arity(%x: tensor<1x1x4x4xf32>) -> tensor<1x1x4x4xf32> {
  // expected-error @+1 {{kernel must be two positive values, got [2]}}
  %y = nn.max_pool2d %x {kernel = array<i64: 2>, strides = array<i64: 1, 1>} : (tensor<1x1x4x4xf32>) -> tensor<1x1x4x4xf32>
  return %y : tensor<1x1x4x4xf32>
}

// -----

func.func @pool_grad_type(%x: tensor<1x1x4x4xf32>, %dy: tensor<1x1x2x2xf32>) -> tensor<1x1x5x5xf32> {
  // expected-error @+1 {{'nn.max_pool2d_grad' op result type 'tensor<1x1x5x5xf32>' must be the input's, 'tensor<1x1x4x4xf32>'}}
  %dx = nn.max_pool2d_grad %x, %dy {kernel = array<i64: 2, 2>, strides = array<i64: 2, 2>} : (tensor<1x1x4x4xf32>, tensor<1x1x2x2xf32>) -> tensor<1x1x5x5xf32>
  return %dx : tensor<1x1x5x5xf32>
}

// -----

func.func @avg_pool_grad(%dy: tensor<1x1x3x3xf32>) -> tensor<1x1x4x4xf32> {
  // expected-error @+1 {{'nn.avg_pool2d_grad' op grad [1, 1, 3, 3] is not the output [1, 1, 2, 2] of the pooling it differentiates}}
  %dx = nn.avg_pool2d_grad %dy {kernel = array<i64: 2, 2>, strides = array<i64: 2, 2>} : (tensor<1x1x3x3xf32>) -> tensor<1x1x4x4xf32>
  return %dx : tensor<1x1x4x4xf32>
}

// -----

func.func @reshape_count(%x: tensor<2x3xf32>) -> tensor<7xf32> {
  // expected-error @+1 {{'nn.reshape' op cannot reshape [2, 3] (6 elements) to [7] (7 elements)}}
  %y = nn.reshape %x : tensor<2x3xf32> -> tensor<7xf32>
  return %y : tensor<7xf32>
}

// -----

func.func @runtime_call_results(%x: tensor<4xf32>, %e: tensor<4xf32>) -> tensor<4xf32> {
  // expected-error @+1 {{'nn.runtime_call' op must return exactly its tensor outputs}}
  nn.runtime_call "nncrt_pool2d_forward" ins(%x : tensor<4xf32>) outs(%e : tensor<4xf32>) {pointers = array<i64: 0, 1>, scalars = []}
  return %x : tensor<4xf32>
}

// -----

func.func @runtime_call_pointer(%x: memref<4xf32>, %y: memref<4xf32>) {
  // expected-error @+1 {{'nn.runtime_call' op pointer operand 2 is neither an operand nor -1 (null)}}
  nn.runtime_call "nncrt_pool2d_forward" ins(%x : memref<4xf32>) outs(%y : memref<4xf32>) {pointers = array<i64: 0, 2>, scalars = []}
  return
}

// -----

func.func @runtime_call_scalar(%x: memref<4xf32>, %y: memref<4xf32>) {
  // expected-error @+1 {{'nn.runtime_call' op scalar "two" is not an integer or a float}}
  nn.runtime_call "nncrt_pool2d_forward" ins(%x : memref<4xf32>) outs(%y : memref<4xf32>) {pointers = array<i64: 0, 1>, scalars = ["two"]}
  return
}

// -----

func.func @bn_channels(%x: tensor<2x3x4x4xf32>, %g: tensor<4xf32>, %s: tensor<3xf32>) -> tensor<2x3x4x4xf32> {
  // expected-error @+1 {{'nn.batch_norm' op weight [4] does not match the 3 channels}}
  %y = nn.batch_norm %x, %g, %s, %s, %s {training} : (tensor<2x3x4x4xf32>, tensor<4xf32>, tensor<3xf32>, tensor<3xf32>, tensor<3xf32>) -> tensor<2x3x4x4xf32>
  return %y : tensor<2x3x4x4xf32>
}

// -----

func.func @bn_eps(%x: tensor<2x3x4x4xf32>, %s: tensor<3xf32>) -> tensor<2x3x4x4xf32> {
  // expected-error @+1 {{'nn.batch_norm' op eps must be positive and finite, got 0}}
  %y = nn.batch_norm %x, %s, %s, %s, %s {eps = 0.0, training} : (tensor<2x3x4x4xf32>, tensor<3xf32>, tensor<3xf32>, tensor<3xf32>, tensor<3xf32>) -> tensor<2x3x4x4xf32>
  return %y : tensor<2x3x4x4xf32>
}

// -----

func.func @bn_momentum(%x: tensor<2x3x4x4xf32>, %s: tensor<3xf32>) -> tensor<2x3x4x4xf32> {
  // expected-error @+1 {{'nn.batch_norm' op momentum must be in [0, 1], got 1.5}}
  %y = nn.batch_norm %x, %s, %s, %s, %s {momentum = 1.5, training} : (tensor<2x3x4x4xf32>, tensor<3xf32>, tensor<3xf32>, tensor<3xf32>, tensor<3xf32>) -> tensor<2x3x4x4xf32>
  return %y : tensor<2x3x4x4xf32>
}

// -----

func.func @bn_one_value(%x: tensor<1x3xf32>, %s: tensor<3xf32>) -> tensor<1x3xf32> {
  // expected-error @+1 {{'nn.batch_norm' op expects more than one value per channel, got input [1, 3]}}
  %y = nn.batch_norm %x, %s, %s, %s, %s {training} : (tensor<1x3xf32>, tensor<3xf32>, tensor<3xf32>, tensor<3xf32>, tensor<3xf32>) -> tensor<1x3xf32>
  return %y : tensor<1x3xf32>
}

// -----

func.func @bn_running_stat_type(%x: tensor<2x3xf32>, %s: tensor<3xi32> {nn.running_stat}) {
  // expected-error @-1 {{argument #1 is marked 'nn.running_stat' but has type 'tensor<3xi32>'; a running statistic must be a statically shaped f32 tensor}}
  return
}

// -----

// Mixed precision: a convolution's operands share one element type.
func.func @conv_mixed_operands(%x: tensor<1x1x4x4xbf16>, %w: tensor<2x1x3x3xf32>) -> tensor<1x2x2x2xf32> {
  // expected-error @+1 {{'nn.conv2d' op expects input and weight of one element type, got bf16 and f32}}
  %y = nn.conv2d %x, %w : (tensor<1x1x4x4xbf16>, tensor<2x1x3x3xf32>) -> tensor<1x2x2x2xf32>
  return %y : tensor<1x2x2x2xf32>
}

// -----

// An f32 convolution cannot produce bf16 (only bf16 operands may keep an
// f32 result).
func.func @conv_f32_to_bf16(%x: tensor<1x1x4x4xf32>, %w: tensor<2x1x3x3xf32>) -> tensor<1x2x2x2xbf16> {
  // expected-error @+1 {{'nn.conv2d' op result element type 'bf16' should be 'f32'}}
  %y = nn.conv2d %x, %w : (tensor<1x1x4x4xf32>, tensor<2x1x3x3xf32>) -> tensor<1x2x2x2xbf16>
  return %y : tensor<1x2x2x2xbf16>
}

// -----

func.func @conv_grad_weight_mixed(%x: tensor<1x1x4x4xbf16>, %dy: tensor<1x2x2x2xf32>) -> tensor<2x1x3x3xf32> {
  // expected-error @+1 {{'nn.conv2d_grad_weight' op expects input and grad of one element type, got bf16 and f32}}
  %dw = nn.conv2d_grad_weight %x, %dy : (tensor<1x1x4x4xbf16>, tensor<1x2x2x2xf32>) -> tensor<2x1x3x3xf32>
  return %dw : tensor<2x1x3x3xf32>
}

// -----

func.func @conv_grad_input_f32_to_bf16(%dy: tensor<1x2x2x2xf32>, %w: tensor<2x1x3x3xf32>) -> tensor<1x1x4x4xbf16> {
  // expected-error @+1 {{'nn.conv2d_grad_input' op result element type 'bf16' should be 'f32'}}
  %dx = nn.conv2d_grad_input %dy, %w : (tensor<1x2x2x2xf32>, tensor<2x1x3x3xf32>) -> tensor<1x1x4x4xbf16>
  return %dx : tensor<1x1x4x4xbf16>
}

// -----

// f16 operands (--precision=fp16) give an f16 result, or an f32 one (a
// weight gradient accumulated in f32), never the other 16-bit type.
func.func @conv_grad_weight_f16_to_bf16(%x: tensor<1x1x4x4xf16>, %dy: tensor<1x2x2x2xf16>) -> tensor<2x1x3x3xbf16> {
  // expected-error @+1 {{'nn.conv2d_grad_weight' op result element type 'bf16' should be 'f16' or 'f32'}}
  %dw = nn.conv2d_grad_weight %x, %dy : (tensor<1x1x4x4xf16>, tensor<1x2x2x2xf16>) -> tensor<2x1x3x3xbf16>
  return %dw : tensor<2x1x3x3xbf16>
}

// -----

// A pooling keeps its input's element type.
func.func @max_pool_changes_type(%x: tensor<1x1x4x4xbf16>) -> tensor<1x1x2x2xf32> {
  // expected-error @+1 {{'nn.max_pool2d' op result element type 'f32' should be 'bf16'}}
  %y = nn.max_pool2d %x {kernel = array<i64: 2, 2>, strides = array<i64: 2, 2>} : (tensor<1x1x4x4xbf16>) -> tensor<1x1x2x2xf32>
  return %y : tensor<1x1x2x2xf32>
}

// -----

func.func @max_pool_grad_mixed(%x: tensor<1x1x4x4xbf16>, %dy: tensor<1x1x2x2xf32>) -> tensor<1x1x4x4xbf16> {
  // expected-error @+1 {{'nn.max_pool2d_grad' op grad element type 'f32' should be the result's, 'bf16'}}
  %dx = nn.max_pool2d_grad %x, %dy {kernel = array<i64: 2, 2>, strides = array<i64: 2, 2>} : (tensor<1x1x4x4xbf16>, tensor<1x1x2x2xf32>) -> tensor<1x1x4x4xbf16>
  return %dx : tensor<1x1x4x4xbf16>
}

// -----

func.func @reshape_changes_type(%x: tensor<1x4x2x2xbf16>) -> tensor<1x16xf32> {
  // expected-error @+1 {{'nn.reshape' op result element type 'f32' should be the input's, 'bf16'}}
  %y = nn.reshape %x : tensor<1x4x2x2xbf16> -> tensor<1x16xf32>
  return %y : tensor<1x16xf32>
}

// -----

func.func @runtime_call_workspace_input(%x: memref<4xi8>, %y: memref<4xf32>) {
  // expected-error @+1 {{'nn.runtime_call' op workspace 0 is not an output}}
  nn.runtime_call "nncrt_pool2d_forward" ins(%x : memref<4xi8>) outs(%y : memref<4xf32>) {pointers = array<i64: 1>, scalars = [], workspace = 0}
  return
}

// -----

func.func @runtime_call_workspace_pointer(%x: memref<4xf32>, %y: memref<4xi8>) {
  // expected-error @+1 {{'nn.runtime_call' op workspace 1 is also a pointer argument}}
  nn.runtime_call "nncrt_pool2d_forward" ins(%x : memref<4xf32>) outs(%y : memref<4xi8>) {pointers = array<i64: 0, 1>, scalars = [], workspace = 1}
  return
}

// -----

func.func @runtime_call_workspace_type(%x: memref<4xf32>, %y: memref<4xf32>, %w: memref<2x4xi8>) {
  // expected-error @+1 {{'nn.runtime_call' op workspace must be a 1-D i8 tensor or buffer of static size, got 'memref<2x4xi8>'}}
  nn.runtime_call "nncrt_pool2d_forward" ins(%x : memref<4xf32>) outs(%y, %w : memref<4xf32>, memref<2x4xi8>) {pointers = array<i64: 0, 1>, scalars = [], workspace = 2}
  return
}

// -----

func.func @runtime_call_workspace_not_last(%x: memref<4xf32>, %w: memref<64xi8>, %y: memref<4xf32>) {
  // expected-error @+1 {{'nn.runtime_call' op workspace 1 is not the last output}}
  nn.runtime_call "nncrt_pool2d_forward" ins(%x : memref<4xf32>) outs(%w, %y : memref<64xi8>, memref<4xf32>) {pointers = array<i64: 0, 2>, scalars = [], workspace = 1}
  return
}
