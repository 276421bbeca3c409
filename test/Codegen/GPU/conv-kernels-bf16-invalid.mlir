// RUN: nnc-opt %s --split-input-file --nnc-gpu-build-kernels --verify-diagnostics

// The bf16 convolution and pooling calls' kernels check the element types
// against the call: bf16 operands, an f32 bias, the result in the type the
// call's last scalar names (NNCRT_TYPE_F32 = 0, NNCRT_TYPE_BF16 = 1).

func.func @f32_operand(%x: memref<1x1x4x4xf32>, %w: memref<2x1x3x3xbf16>, %y: memref<1x2x2x2xbf16>) {
  // expected-error @+1 {{'nn.runtime_call' op needs its input as a dense row-major bf16 buffer of shape [1x1x4x4] for its GPU kernel, got 'memref<1x1x4x4xf32>'}}
  nn.runtime_call "nncrt_conv2d_forward_bf16" ins(%x, %w : memref<1x1x4x4xf32>, memref<2x1x3x3xbf16>) outs(%y : memref<1x2x2x2xbf16>) {pointers = array<i64: 0, 1, -1, 2>, scalars = [1, 1, 4, 4, 2, 3, 3, 2, 2, 1, 1, 0, 0, 0, 0, 1, 1, 1, 0 : i32, 0.000000e+00 : f32, 1 : i32]}
  return
}

// -----

func.func @result_type_mismatch(%x: memref<1x1x4x4xbf16>, %dy: memref<1x2x2x2xbf16>, %dw: memref<2x1x3x3xf32>) {
  // The call says bf16 (1), the buffer holds f32.
  // expected-error @+1 {{needs its weight gradient as a dense row-major bf16 buffer of shape [2x1x3x3] for its GPU kernel, got 'memref<2x1x3x3xf32>'}}
  nn.runtime_call "nncrt_conv2d_backward_weights_bf16" ins(%x, %dy : memref<1x1x4x4xbf16>, memref<1x2x2x2xbf16>) outs(%dw : memref<2x1x3x3xf32>) {pointers = array<i64: 0, 1, 2>, scalars = [1, 1, 4, 4, 2, 3, 3, 2, 2, 1, 1, 0, 0, 0, 0, 1, 1, 1, 1 : i32]}
  return
}

// -----

func.func @unknown_result_type(%dy: memref<1x2x2x2xbf16>, %w: memref<2x1x3x3xbf16>, %dx: memref<1x1x4x4xbf16>) {
  // expected-error @+1 {{'nn.runtime_call' op has an unknown result type 7}}
  nn.runtime_call "nncrt_conv2d_backward_data_bf16" ins(%dy, %w : memref<1x2x2x2xbf16>, memref<2x1x3x3xbf16>) outs(%dx : memref<1x1x4x4xbf16>) {pointers = array<i64: 0, 1, 2>, scalars = [1, 1, 4, 4, 2, 3, 3, 2, 2, 1, 1, 0, 0, 0, 0, 1, 1, 1, 7 : i32]}
  return
}

// -----

func.func @missing_result_type(%dy: memref<1x2x2x2xbf16>, %w: memref<2x1x3x3xbf16>, %dx: memref<1x1x4x4xbf16>) {
  // The f32 call's scalars on the bf16 callee: no result type.
  // expected-error @+1 {{'nn.runtime_call' op has the wrong number of pointers or scalars for 'nncrt_conv2d_backward_data_bf16'}}
  nn.runtime_call "nncrt_conv2d_backward_data_bf16" ins(%dy, %w : memref<1x2x2x2xbf16>, memref<2x1x3x3xbf16>) outs(%dx : memref<1x1x4x4xbf16>) {pointers = array<i64: 0, 1, 2>, scalars = [1, 1, 4, 4, 2, 3, 3, 2, 2, 1, 1, 0, 0, 0, 0, 1, 1, 1]}
  return
}

// -----

func.func @bf16_bias(%x: memref<1x1x4x4xbf16>, %w: memref<2x1x3x3xbf16>, %b: memref<2xbf16>, %y: memref<1x2x2x2xf32>) {
  // The bias stays f32, as the CPU runtime's.
  // expected-error @+1 {{needs its bias as a dense row-major f32 buffer of shape [2] for its GPU kernel, got 'memref<2xbf16>'}}
  nn.runtime_call "nncrt_conv2d_forward_bf16" ins(%x, %w, %b : memref<1x1x4x4xbf16>, memref<2x1x3x3xbf16>, memref<2xbf16>) outs(%y : memref<1x2x2x2xf32>) {pointers = array<i64: 0, 1, 2, 3>, scalars = [1, 1, 4, 4, 2, 3, 3, 2, 2, 1, 1, 0, 0, 0, 0, 1, 1, 1, 0 : i32, 0.000000e+00 : f32, 0 : i32]}
  return
}

// -----

func.func @pool_f32_output(%x: memref<1x1x4x4xbf16>, %y: memref<1x1x2x2xf32>) {
  // A bf16 pooling writes bf16.
  // expected-error @+1 {{needs its output as a dense row-major bf16 buffer of shape [1x1x2x2] for its GPU kernel, got 'memref<1x1x2x2xf32>'}}
  nn.runtime_call "nncrt_pool2d_forward_bf16" ins(%x : memref<1x1x4x4xbf16>) outs(%y : memref<1x1x2x2xf32>) {pointers = array<i64: 0, 1>, scalars = [0 : i32, 1, 1, 4, 4, 2, 2, 2, 2, 2, 2, 0, 0, 0, 0]}
  return
}

// -----

// The two 16-bit types do not mix in one call: the kernel's type is its
// first operand's (f16 here, --precision=fp16's), and the weight is bf16.
func.func @mixed(%x: memref<4x8x10x10xf16>, %w: memref<40x8x3x3xbf16>, %b: memref<40xf32>, %y: memref<4x40x10x10xf16>) {
  // expected-error @+1 {{'nn.runtime_call' op needs its weight as a dense row-major f16 buffer of shape [40x8x3x3] for its GPU kernel, got 'memref<40x8x3x3xbf16>'}}
  nn.runtime_call "nncrt_conv2d_forward_bf16" ins(%x, %w, %b : memref<4x8x10x10xf16>, memref<40x8x3x3xbf16>, memref<40xf32>) outs(%y : memref<4x40x10x10xf16>) {pointers = array<i64: 0, 1, 2, 3>, scalars = [4, 8, 10, 10, 40, 3, 3, 10, 10, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1 : i32, 0.000000e+00 : f32, 1 : i32]}
  return
}
