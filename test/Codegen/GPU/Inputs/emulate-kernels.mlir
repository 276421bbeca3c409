// The convolution and pooling calls emulate-kernels.test builds kernels
// for: groups 2 with stride 2×3, asymmetric padding, bias and leaky ReLU
// (the 512×4 and 256×16 tiles); 40 → 36 channels with stride 2 (the
// 64×64 and 128×32 tiles); max pooling with overlapping windows, average
// pooling excluding padding; a weight gradient over 4096 pixels (a block
// per element, warp shuffles).
func.func @step(%x: memref<3x4x9x8xf32>, %w: memref<6x2x3x2xf32>, %b: memref<6xf32>,
                %y: memref<3x6x5x3xf32>, %dx: memref<3x4x9x8xf32>, %dw: memref<6x2x3x2xf32>,
                %p: memref<3x6x2x1xf32>, %dp: memref<3x6x5x3xf32>, %q: memref<3x6x3x2xf32>, %dq: memref<3x6x5x3xf32>,
                %x2: memref<5x40x7x7xf32>, %w2: memref<36x40x3x3xf32>, %y2: memref<5x36x4x4xf32>, %dx2: memref<5x40x7x7xf32>, %dw2: memref<36x40x3x3xf32>) {
  nn.runtime_call "nncrt_conv2d_forward" ins(%x, %w, %b : memref<3x4x9x8xf32>, memref<6x2x3x2xf32>, memref<6xf32>) outs(%y : memref<3x6x5x3xf32>) {pointers = array<i64: 0, 1, 2, 3>, scalars = [3, 4, 9, 8, 6, 3, 2, 5, 3, 2, 3, 1, 0, 2, 1, 1, 1, 2, 2 : i32, 1.000000e-01 : f32]}
  nn.runtime_call "nncrt_conv2d_backward_data" ins(%y, %w : memref<3x6x5x3xf32>, memref<6x2x3x2xf32>) outs(%dx : memref<3x4x9x8xf32>) {pointers = array<i64: 0, 1, 2>, scalars = [3, 4, 9, 8, 6, 3, 2, 5, 3, 2, 3, 1, 0, 2, 1, 1, 1, 2]}
  nn.runtime_call "nncrt_conv2d_backward_weights" ins(%x, %y : memref<3x4x9x8xf32>, memref<3x6x5x3xf32>) outs(%dw : memref<6x2x3x2xf32>) {pointers = array<i64: 0, 1, 2>, scalars = [3, 4, 9, 8, 6, 3, 2, 5, 3, 2, 3, 1, 0, 2, 1, 1, 1, 2]}
  nn.runtime_call "nncrt_pool2d_forward" ins(%y : memref<3x6x5x3xf32>) outs(%p : memref<3x6x2x1xf32>) {pointers = array<i64: 0, 1>, scalars = [0 : i32, 3, 6, 5, 3, 2, 1, 3, 3, 2, 2, 0, 0, 0, 0]}
  nn.runtime_call "nncrt_pool2d_backward" ins(%y, %p : memref<3x6x5x3xf32>, memref<3x6x2x1xf32>) outs(%dp : memref<3x6x5x3xf32>) {pointers = array<i64: 0, 1, 2>, scalars = [0 : i32, 3, 6, 5, 3, 2, 1, 3, 3, 2, 2, 0, 0, 0, 0]}
  nn.runtime_call "nncrt_pool2d_forward" ins(%y : memref<3x6x5x3xf32>) outs(%q : memref<3x6x3x2xf32>) {pointers = array<i64: 0, 1>, scalars = [2 : i32, 3, 6, 5, 3, 3, 2, 3, 3, 2, 2, 1, 1, 1, 1]}
  nn.runtime_call "nncrt_pool2d_backward" ins(%q : memref<3x6x3x2xf32>) outs(%dq : memref<3x6x5x3xf32>) {pointers = array<i64: -1, 0, 1>, scalars = [2 : i32, 3, 6, 5, 3, 3, 2, 3, 3, 2, 2, 1, 1, 1, 1]}
  nn.runtime_call "nncrt_conv2d_forward" ins(%x2, %w2 : memref<5x40x7x7xf32>, memref<36x40x3x3xf32>) outs(%y2 : memref<5x36x4x4xf32>) {pointers = array<i64: 0, 1, -1, 2>, scalars = [5, 40, 7, 7, 36, 3, 3, 4, 4, 2, 2, 1, 1, 1, 1, 1, 1, 1, 1 : i32, 0.000000e+00 : f32]}
  nn.runtime_call "nncrt_conv2d_backward_data" ins(%y2, %w2 : memref<5x36x4x4xf32>, memref<36x40x3x3xf32>) outs(%dx2 : memref<5x40x7x7xf32>) {pointers = array<i64: 0, 1, 2>, scalars = [5, 40, 7, 7, 36, 3, 3, 4, 4, 2, 2, 1, 1, 1, 1, 1, 1, 1]}
  nn.runtime_call "nncrt_conv2d_backward_weights" ins(%x2, %y2 : memref<5x40x7x7xf32>, memref<5x36x4x4xf32>) outs(%dw2 : memref<36x40x3x3xf32>) {pointers = array<i64: 0, 1, 2>, scalars = [5, 40, 7, 7, 36, 3, 3, 4, 4, 2, 2, 1, 1, 1, 1, 1, 1, 1]}
  return
}

func.func @dw(%x: memref<16x2x16x16xf32>, %dy: memref<16x4x16x16xf32>, %dw: memref<4x2x3x3xf32>) {
  nn.runtime_call "nncrt_conv2d_backward_weights" ins(%x, %dy : memref<16x2x16x16xf32>, memref<16x4x16x16xf32>) outs(%dw : memref<4x2x3x3xf32>) {pointers = array<i64: 0, 1, 2>, scalars = [16, 2, 16, 16, 4, 3, 3, 16, 16, 1, 1, 1, 1, 1, 1, 1, 1, 1]}
  return
}

// The bf16 calls of a mixed-precision step: the convolutions on tensor
// cores (mma.sync, emulated by the driver), the same geometries as above:
// the first with bias, leaky ReLU and a bf16 output; the second's forward
// and input gradient in bf16, its weight gradient in f32 (1 × 6 tensor-core
// blocks); a weight gradient of a block per element; bf16 max and average
// pooling.
func.func @bf16(%x: memref<3x4x9x8xbf16>, %w: memref<6x2x3x2xbf16>, %b: memref<6xf32>, %y: memref<3x6x5x3xbf16>,
                %x2: memref<5x40x7x7xbf16>, %w2: memref<36x40x3x3xbf16>, %y2: memref<5x36x4x4xbf16>, %dx2: memref<5x40x7x7xbf16>, %dw2: memref<36x40x3x3xf32>,
                %x3: memref<16x2x16x16xbf16>, %dy3: memref<16x4x16x16xbf16>, %dw3: memref<4x2x3x3xf32>,
                %px: memref<3x6x5x3xbf16>, %p: memref<3x6x2x1xbf16>, %dp: memref<3x6x5x3xbf16>, %q: memref<3x6x3x2xbf16>, %dq: memref<3x6x5x3xbf16>) {
  nn.runtime_call "nncrt_conv2d_forward_bf16" ins(%x, %w, %b : memref<3x4x9x8xbf16>, memref<6x2x3x2xbf16>, memref<6xf32>) outs(%y : memref<3x6x5x3xbf16>) {pointers = array<i64: 0, 1, 2, 3>, scalars = [3, 4, 9, 8, 6, 3, 2, 5, 3, 2, 3, 1, 0, 2, 1, 1, 1, 2, 2 : i32, 1.000000e-01 : f32, 1 : i32]}
  nn.runtime_call "nncrt_conv2d_forward_bf16" ins(%x2, %w2 : memref<5x40x7x7xbf16>, memref<36x40x3x3xbf16>) outs(%y2 : memref<5x36x4x4xbf16>) {pointers = array<i64: 0, 1, -1, 2>, scalars = [5, 40, 7, 7, 36, 3, 3, 4, 4, 2, 2, 1, 1, 1, 1, 1, 1, 1, 1 : i32, 0.000000e+00 : f32, 1 : i32]}
  nn.runtime_call "nncrt_conv2d_backward_data_bf16" ins(%y2, %w2 : memref<5x36x4x4xbf16>, memref<36x40x3x3xbf16>) outs(%dx2 : memref<5x40x7x7xbf16>) {pointers = array<i64: 0, 1, 2>, scalars = [5, 40, 7, 7, 36, 3, 3, 4, 4, 2, 2, 1, 1, 1, 1, 1, 1, 1, 1 : i32]}
  nn.runtime_call "nncrt_conv2d_backward_weights_bf16" ins(%x2, %y2 : memref<5x40x7x7xbf16>, memref<5x36x4x4xbf16>) outs(%dw2 : memref<36x40x3x3xf32>) {pointers = array<i64: 0, 1, 2>, scalars = [5, 40, 7, 7, 36, 3, 3, 4, 4, 2, 2, 1, 1, 1, 1, 1, 1, 1, 0 : i32]}
  nn.runtime_call "nncrt_conv2d_backward_weights_bf16" ins(%x3, %dy3 : memref<16x2x16x16xbf16>, memref<16x4x16x16xbf16>) outs(%dw3 : memref<4x2x3x3xf32>) {pointers = array<i64: 0, 1, 2>, scalars = [16, 2, 16, 16, 4, 3, 3, 16, 16, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0 : i32]}
  nn.runtime_call "nncrt_pool2d_forward_bf16" ins(%px : memref<3x6x5x3xbf16>) outs(%p : memref<3x6x2x1xbf16>) {pointers = array<i64: 0, 1>, scalars = [0 : i32, 3, 6, 5, 3, 2, 1, 3, 3, 2, 2, 0, 0, 0, 0]}
  nn.runtime_call "nncrt_pool2d_backward_bf16" ins(%px, %p : memref<3x6x5x3xbf16>, memref<3x6x2x1xbf16>) outs(%dp : memref<3x6x5x3xbf16>) {pointers = array<i64: 0, 1, 2>, scalars = [0 : i32, 3, 6, 5, 3, 2, 1, 3, 3, 2, 2, 0, 0, 0, 0]}
  nn.runtime_call "nncrt_pool2d_forward_bf16" ins(%px : memref<3x6x5x3xbf16>) outs(%q : memref<3x6x3x2xbf16>) {pointers = array<i64: 0, 1>, scalars = [2 : i32, 3, 6, 5, 3, 3, 2, 3, 3, 2, 2, 1, 1, 1, 1]}
  nn.runtime_call "nncrt_pool2d_backward_bf16" ins(%q : memref<3x6x3x2xbf16>) outs(%dq : memref<3x6x5x3xbf16>) {pointers = array<i64: -1, 0, 1>, scalars = [2 : i32, 3, 6, 5, 3, 3, 2, 3, 3, 2, 2, 1, 1, 1, 1]}
  return
}

// The same calls on f16 buffers (--precision=fp16 on the GPU makes the
// _bf16 calls on f16 operands; the type scalar NNCRT_TYPE_BF16 means "the
// operands' 16-bit type"): the convolutions on tensor cores through
// nvvm.mma.sync with vector<2xf16> multiplicands (emulated by the driver),
// f16 max and average pooling.
func.func @f16(%x: memref<3x4x9x8xf16>, %w: memref<6x2x3x2xf16>, %b: memref<6xf32>, %y: memref<3x6x5x3xf16>,
                %x2: memref<5x40x7x7xf16>, %w2: memref<36x40x3x3xf16>, %y2: memref<5x36x4x4xf16>, %dx2: memref<5x40x7x7xf16>, %dw2: memref<36x40x3x3xf32>,
                %x3: memref<16x2x16x16xf16>, %dy3: memref<16x4x16x16xf16>, %dw3: memref<4x2x3x3xf32>,
                %px: memref<3x6x5x3xf16>, %p: memref<3x6x2x1xf16>, %dp: memref<3x6x5x3xf16>, %q: memref<3x6x3x2xf16>, %dq: memref<3x6x5x3xf16>) {
  nn.runtime_call "nncrt_conv2d_forward_bf16" ins(%x, %w, %b : memref<3x4x9x8xf16>, memref<6x2x3x2xf16>, memref<6xf32>) outs(%y : memref<3x6x5x3xf16>) {pointers = array<i64: 0, 1, 2, 3>, scalars = [3, 4, 9, 8, 6, 3, 2, 5, 3, 2, 3, 1, 0, 2, 1, 1, 1, 2, 2 : i32, 1.000000e-01 : f32, 1 : i32]}
  nn.runtime_call "nncrt_conv2d_forward_bf16" ins(%x2, %w2 : memref<5x40x7x7xf16>, memref<36x40x3x3xf16>) outs(%y2 : memref<5x36x4x4xf16>) {pointers = array<i64: 0, 1, -1, 2>, scalars = [5, 40, 7, 7, 36, 3, 3, 4, 4, 2, 2, 1, 1, 1, 1, 1, 1, 1, 1 : i32, 0.000000e+00 : f32, 1 : i32]}
  nn.runtime_call "nncrt_conv2d_backward_data_bf16" ins(%y2, %w2 : memref<5x36x4x4xf16>, memref<36x40x3x3xf16>) outs(%dx2 : memref<5x40x7x7xf16>) {pointers = array<i64: 0, 1, 2>, scalars = [5, 40, 7, 7, 36, 3, 3, 4, 4, 2, 2, 1, 1, 1, 1, 1, 1, 1, 1 : i32]}
  nn.runtime_call "nncrt_conv2d_backward_weights_bf16" ins(%x2, %y2 : memref<5x40x7x7xf16>, memref<5x36x4x4xf16>) outs(%dw2 : memref<36x40x3x3xf32>) {pointers = array<i64: 0, 1, 2>, scalars = [5, 40, 7, 7, 36, 3, 3, 4, 4, 2, 2, 1, 1, 1, 1, 1, 1, 1, 0 : i32]}
  nn.runtime_call "nncrt_conv2d_backward_weights_bf16" ins(%x3, %dy3 : memref<16x2x16x16xf16>, memref<16x4x16x16xf16>) outs(%dw3 : memref<4x2x3x3xf32>) {pointers = array<i64: 0, 1, 2>, scalars = [16, 2, 16, 16, 4, 3, 3, 16, 16, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0 : i32]}
  nn.runtime_call "nncrt_pool2d_forward_bf16" ins(%px : memref<3x6x5x3xf16>) outs(%p : memref<3x6x2x1xf16>) {pointers = array<i64: 0, 1>, scalars = [0 : i32, 3, 6, 5, 3, 2, 1, 3, 3, 2, 2, 0, 0, 0, 0]}
  nn.runtime_call "nncrt_pool2d_backward_bf16" ins(%px, %p : memref<3x6x5x3xf16>, memref<3x6x2x1xf16>) outs(%dp : memref<3x6x5x3xf16>) {pointers = array<i64: 0, 1, 2>, scalars = [0 : i32, 3, 6, 5, 3, 2, 1, 3, 3, 2, 2, 0, 0, 0, 0]}
  nn.runtime_call "nncrt_pool2d_forward_bf16" ins(%px : memref<3x6x5x3xf16>) outs(%q : memref<3x6x3x2xf16>) {pointers = array<i64: 0, 1>, scalars = [2 : i32, 3, 6, 5, 3, 3, 2, 3, 3, 2, 2, 1, 1, 1, 1]}
  nn.runtime_call "nncrt_pool2d_backward_bf16" ins(%q : memref<3x6x3x2xf16>) outs(%dq : memref<3x6x5x3xf16>) {pointers = array<i64: -1, 0, 1>, scalars = [2 : i32, 3, 6, 5, 3, 3, 2, 3, 3, 2, 2, 1, 1, 1, 1]}
  return
}
