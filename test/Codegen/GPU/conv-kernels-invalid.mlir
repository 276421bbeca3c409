// RUN: nnc-opt %s --split-input-file --nnc-gpu-build-kernels --verify-diagnostics

// The GPU kernels of the runtime's convolution and pooling calls take the
// geometry from the call's scalars and check it against the buffers: a
// mistake is an error at the call, not a kernel reading out of bounds.

func.func @wrong_output(%x: memref<1x1x4x4xf32>, %w: memref<2x1x3x3xf32>, %y: memref<1x2x3x3xf32>) {
  // expected-error @+1 {{needs its output as a dense row-major f32 buffer of shape [1x2x2x2] for its GPU kernel, got 'memref<1x2x3x3xf32>'}}
  nn.runtime_call "nncrt_conv2d_forward" ins(%x, %w : memref<1x1x4x4xf32>, memref<2x1x3x3xf32>) outs(%y : memref<1x2x3x3xf32>) {pointers = array<i64: 0, 1, -1, 2>, scalars = [1, 1, 4, 4, 2, 3, 3, 2, 2, 1, 1, 0, 0, 0, 0, 1, 1, 1, 0 : i32, 0.000000e+00 : f32]}
  return
}

// -----

func.func @inconsistent(%x: memref<1x1x4x4xf32>, %w: memref<2x1x3x3xf32>, %y: memref<1x2x3x3xf32>) {
  // OH = 3 is not (4 - 3) / 1 + 1.
  // expected-error @+1 {{has an inconsistent convolution geometry}}
  nn.runtime_call "nncrt_conv2d_forward" ins(%x, %w : memref<1x1x4x4xf32>, memref<2x1x3x3xf32>) outs(%y : memref<1x2x3x3xf32>) {pointers = array<i64: 0, 1, -1, 2>, scalars = [1, 1, 4, 4, 2, 3, 3, 3, 3, 1, 1, 0, 0, 0, 0, 1, 1, 1, 0 : i32, 0.000000e+00 : f32]}
  return
}

// -----

func.func @aliasing(%x: memref<1x1x4x4xf32>, %dy: memref<1x1x2x2xf32>) {
  // expected-error @+1 {{writes a buffer it reads: its GPU kernel gathers, so the two must not alias}}
  nn.runtime_call "nncrt_pool2d_backward" ins(%x, %dy : memref<1x1x4x4xf32>, memref<1x1x2x2xf32>) outs(%x : memref<1x1x4x4xf32>) {pointers = array<i64: 0, 1, 2>, scalars = [0 : i32, 1, 1, 4, 4, 2, 2, 2, 2, 2, 2, 0, 0, 0, 0]}
  return
}

// -----

func.func @unknown_kind(%x: memref<1x1x4x4xf32>, %y: memref<1x1x2x2xf32>) {
  // expected-error @+1 {{has an unknown pooling kind 7}}
  nn.runtime_call "nncrt_pool2d_forward" ins(%x : memref<1x1x4x4xf32>) outs(%y : memref<1x1x2x2xf32>) {pointers = array<i64: 0, 1>, scalars = [7 : i32, 1, 1, 4, 4, 2, 2, 2, 2, 2, 2, 0, 0, 0, 0]}
  return
}

// -----

// A depthwise convolution of 70000 channels: one group a block along z,
// beyond gridDim.z's 65535.
func.func @too_many_groups(%x: memref<1x70000x1x1xf32>, %w: memref<70000x1x1x1xf32>, %y: memref<1x70000x1x1xf32>) {
  // expected-error @+1 {{needs a grid of 1×1×70000 blocks, beyond CUDA's limits}}
  nn.runtime_call "nncrt_conv2d_forward" ins(%x, %w : memref<1x70000x1x1xf32>, memref<70000x1x1x1xf32>) outs(%y : memref<1x70000x1x1xf32>) {pointers = array<i64: 0, 1, -1, 2>, scalars = [1, 70000, 1, 1, 70000, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 70000, 0 : i32, 0.000000e+00 : f32]}
  return
}

// -----

func.func @float_geometry(%x: memref<1x1x4x4xf32>, %y: memref<1x1x2x2xf32>) {
  // expected-error @+1 {{scalar #3 of 'nncrt_pool2d_forward' must be an integer, got 4.000000e+00 : f32}}
  nn.runtime_call "nncrt_pool2d_forward" ins(%x : memref<1x1x4x4xf32>) outs(%y : memref<1x1x2x2xf32>) {pointers = array<i64: 0, 1>, scalars = [0 : i32, 1, 1, 4.0 : f32, 4, 2, 2, 2, 2, 2, 2, 0, 0, 0, 0]}
  return
}
