// RUN: nnc-opt %s --split-input-file --nnc-gpu-build-kernels | FileCheck %s

// A mixed-precision step's convolution calls (nncrt_conv2d_*_bf16: bf16
// x, w and dy, f32 accumulation, the result f32 or bf16 as its last scalar
// says) become implicit GEMMs on tensor cores: the f32 kernels' gathers
// stage bf16 tiles [mn][k] in shared memory, and the tensor-core matmul's
// main loop (mma.sync m16n8k16, bf16 multiplicands, f32 accumulators, 64×64
// block tiles of four warps) runs on them; the result is rounded once,
// after the bias and the activation. bf16 pooling widens to f32 and rounds
// its result once.
// Geometry: N=4, C=8, 10×10, K=40 filters 3×3, stride 1, padding 1:
// forward M = 4·10·10 = 400, n = 40, k = 72; backward data n = 8, k = 360;
// backward weights 40 × 72 over k = 400.

// CHECK-LABEL: func.func @step
// CHECK-NOT: nn.runtime_call
// 7 × 1 blocks of 128 threads (M = 400, n = 40).
// CHECK-DAG: %[[C7:.+]] = arith.constant 7 : index
// CHECK-DAG: %[[C128:.+]] = arith.constant 128 : index
// CHECK: gpu.launch_func  @nnc_kernels::@conv_0 blocks in (%[[C7]], %{{.+}}, %{{.+}}) threads in (%[[C128]], %{{.+}}, %{{.+}})  args(%arg0 : memref<4x8x10x10xbf16>, %arg1 : memref<40x8x3x3xbf16>, %arg2 : memref<40xf32>, %arg3 : memref<4x40x10x10xbf16>)
// CHECK: gpu.launch_func  @nnc_kernels::@conv_1 {{.+}} args(%arg3 : memref<4x40x10x10xbf16>, %arg1 : memref<40x8x3x3xbf16>, %arg4 : memref<4x8x10x10xbf16>)
// CHECK: gpu.launch_func  @nnc_kernels::@conv_2 {{.+}} args(%arg0 : memref<4x8x10x10xbf16>, %arg3 : memref<4x40x10x10xbf16>, %arg5 : memref<40x8x3x3xf32>)
// CHECK-NEXT: return

// The forward: bf16 tiles of 64 rows × (32 + 8) of k, 128 threads.
// CHECK: gpu.func @conv_0(%{{.+}}: memref<4x8x10x10xbf16>, %{{.+}}: memref<40x8x3x3xbf16>, %{{.+}}: memref<40xf32>, %{{.+}}: memref<4x40x10x10xbf16>) workgroup(%[[AS:.+]] : memref<64x40xbf16, 3> {llvm.align = 16 : i64}, %[[BS:.+]] : memref<64x40xbf16, 3> {llvm.align = 16 : i64}) kernel attributes {known_block_size = array<i32: 128, 1, 1>}
// CHECK: gpu.block_id  z
// 32 f32 accumulators a thread: 2 × 4 tiles of 16×8, 4 values each.
// CHECK: scf.for %{{.+}} = %{{.+}} to %{{.+}} step %{{.+}} iter_args({{.+}}) -> (f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32, f32)
// The im2col gather of x into the A tile, [m][k]: padding reads a bf16 0.
// CHECK: memref.load %{{.+}}[%{{.+}}, %{{.+}}, %{{.+}}, %{{.+}}] : memref<4x8x10x10xbf16>
// CHECK: scf.yield %{{.+}} : bf16
// CHECK: memref.store %{{.+}}, %[[AS]][%{{.+}}, %{{.+}}] : memref<64x40xbf16, 3>
// CHECK: memref.load %{{.+}}[%{{.+}}, %{{.+}}, %{{.+}}, %{{.+}}] : memref<40x8x3x3xbf16>
// CHECK: memref.store %{{.+}}, %[[BS]][%{{.+}}, %{{.+}}] : memref<64x40xbf16, 3>
// CHECK: gpu.barrier
// Fragment registers: pairs of bf16 along k, passed as i32.
// CHECK: vector.load %[[AS]][%{{.+}}, %{{.+}}] : memref<64x40xbf16, 3>, vector<2xbf16>
// CHECK: vector.bitcast {{.+}} : vector<2xbf16> to vector<1xi32>
// CHECK-COUNT-16: llvm.call_intrinsic "llvm.nvvm.mma.m16n8k16.row.col.bf16"({{.+}}) : (i32, i32, i32, i32, i32, i32, f32, f32, f32, f32) -> !llvm.struct<(f32, f32, f32, f32)>
// CHECK-NOT: llvm.call_intrinsic
// CHECK: gpu.barrier
// CHECK: scf.yield
// Epilogue inside [M, N): the f32 bias, the ReLU, one rounding to bf16.
// CHECK: scf.if
// CHECK: memref.load %{{.+}}[%{{.+}}] : memref<40xf32>
// CHECK-NEXT: arith.addf {{.+}} : f32
// CHECK-NEXT: %[[POS:.+]] = arith.cmpf ogt
// CHECK-NEXT: %[[Y:.+]] = arith.select %[[POS]], %{{.+}}, %{{.+}} : f32
// CHECK-NEXT: %[[R:.+]] = arith.truncf %[[Y]] : f32 to bf16
// CHECK-NEXT: memref.store %[[R]], %{{.+}} : memref<4x40x10x10xbf16>
// CHECK: gpu.return

// Backward data: the same loop on the transposed gather of dy; dx in bf16.
// CHECK: gpu.func @conv_1({{.+}}) workgroup(%{{.+}} : memref<64x40xbf16, 3> {{.+}}, %{{.+}} : memref<64x40xbf16, 3> {{.+}}) kernel attributes {known_block_size = array<i32: 128, 1, 1>}
// CHECK: memref.load %{{.+}} : memref<4x40x10x10xbf16>
// CHECK-COUNT-16: llvm.call_intrinsic "llvm.nvvm.mma.m16n8k16.row.col.bf16"
// CHECK: arith.truncf {{.+}} : f32 to bf16
// CHECK: memref.store {{.+}} : memref<4x8x10x10xbf16>

// Backward weights: an f32 result, stored as accumulated (no rounding).
// CHECK: gpu.func @conv_2({{.+}}) workgroup(%{{.+}} : memref<64x40xbf16, 3> {{.+}}, %{{.+}} : memref<64x40xbf16, 3> {{.+}}) kernel attributes {known_block_size = array<i32: 128, 1, 1>}
// CHECK-COUNT-16: llvm.call_intrinsic "llvm.nvvm.mma.m16n8k16.row.col.bf16"
// CHECK-NOT: arith.truncf
// CHECK: memref.store %{{.+}}, %{{.+}}[%{{.+}}, %{{.+}}, %{{.+}}, %{{.+}}] : memref<40x8x3x3xf32>
// CHECK: gpu.return

func.func @step(%x: memref<4x8x10x10xbf16>, %w: memref<40x8x3x3xbf16>, %b: memref<40xf32>,
                %y: memref<4x40x10x10xbf16>, %dx: memref<4x8x10x10xbf16>, %dw: memref<40x8x3x3xf32>) {
  nn.runtime_call "nncrt_conv2d_forward_bf16" ins(%x, %w, %b : memref<4x8x10x10xbf16>, memref<40x8x3x3xbf16>, memref<40xf32>) outs(%y : memref<4x40x10x10xbf16>) {pointers = array<i64: 0, 1, 2, 3>, scalars = [4, 8, 10, 10, 40, 3, 3, 10, 10, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1 : i32, 0.000000e+00 : f32, 1 : i32]}
  nn.runtime_call "nncrt_conv2d_backward_data_bf16" ins(%y, %w : memref<4x40x10x10xbf16>, memref<40x8x3x3xbf16>) outs(%dx : memref<4x8x10x10xbf16>) {pointers = array<i64: 0, 1, 2>, scalars = [4, 8, 10, 10, 40, 3, 3, 10, 10, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1 : i32]}
  nn.runtime_call "nncrt_conv2d_backward_weights_bf16" ins(%x, %y : memref<4x8x10x10xbf16>, memref<4x40x10x10xbf16>) outs(%dw : memref<40x8x3x3xf32>) {pointers = array<i64: 0, 1, 2>, scalars = [4, 8, 10, 10, 40, 3, 3, 10, 10, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0 : i32]}
  return
}

// -----

// A weight gradient of few outputs (4 × 18) over a long k (16·16·16
// pixels) would be one tensor-core block: it gets a block per element
// instead, bf16 widened to f32, each thread's FMAs then a fixed tree.

// CHECK-LABEL: func.func @few_outputs
// CHECK: gpu.launch_func  @nnc_kernels::@conv_0 blocks in ({{.+}}) threads in (%[[C256:.+]], {{.+}})
// CHECK: gpu.func @conv_0(%{{.+}}: memref<16x2x16x16xbf16>, %{{.+}}: memref<16x4x16x16xbf16>, %{{.+}}: memref<4x2x3x3xf32>) workgroup(%{{.+}} : memref<1x8xf32, 3> {{.+}}) kernel attributes {known_block_size = array<i32: 256, 1, 1>}
// CHECK: memref.load {{.+}} : memref<16x4x16x16xbf16>
// CHECK: arith.extf {{.+}} : bf16 to f32
// CHECK: math.fma
// CHECK: gpu.shuffle  xor
// CHECK-NOT: llvm.call_intrinsic

func.func @few_outputs(%x: memref<16x2x16x16xbf16>, %dy: memref<16x4x16x16xbf16>, %dw: memref<4x2x3x3xf32>) {
  nn.runtime_call "nncrt_conv2d_backward_weights_bf16" ins(%x, %dy : memref<16x2x16x16xbf16>, memref<16x4x16x16xbf16>) outs(%dw : memref<4x2x3x3xf32>) {pointers = array<i64: 0, 1, 2>, scalars = [16, 2, 16, 16, 4, 3, 3, 16, 16, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0 : i32]}
  return
}

// -----

// bf16 max pooling compares the widened values (exact: it picks an
// element) and stores the maximum back as bf16; its backward sums the
// window gradients in f32 and rounds dx once.

// CHECK-LABEL: func.func @pool
// CHECK: gpu.func @pool_0(%{{.+}}: memref<2x3x8x8xbf16>, %{{.+}}: memref<2x3x4x4xbf16>)
// CHECK: memref.load {{.+}} : memref<2x3x8x8xbf16>
// CHECK-NEXT: arith.extf {{.+}} : bf16 to f32
// CHECK: arith.cmpf ogt
// CHECK: arith.truncf {{.+}} : f32 to bf16
// CHECK: memref.store {{.+}} : memref<2x3x4x4xbf16>
// CHECK: gpu.func @pool_1(%{{.+}}: memref<2x3x8x8xbf16>, %{{.+}}: memref<2x3x4x4xbf16>, %{{.+}}: memref<2x3x8x8xbf16>)
// CHECK: memref.load {{.+}} : memref<2x3x4x4xbf16>
// CHECK-NEXT: arith.extf {{.+}} : bf16 to f32
// CHECK: arith.addf {{.+}} : f32
// CHECK: arith.truncf {{.+}} : f32 to bf16
// CHECK: memref.store {{.+}} : memref<2x3x8x8xbf16>

func.func @pool(%x: memref<2x3x8x8xbf16>, %y: memref<2x3x4x4xbf16>, %dx: memref<2x3x8x8xbf16>) {
  nn.runtime_call "nncrt_pool2d_forward_bf16" ins(%x : memref<2x3x8x8xbf16>) outs(%y : memref<2x3x4x4xbf16>) {pointers = array<i64: 0, 1>, scalars = [0 : i32, 2, 3, 8, 8, 4, 4, 2, 2, 2, 2, 0, 0, 0, 0]}
  nn.runtime_call "nncrt_pool2d_backward_bf16" ins(%x, %y : memref<2x3x8x8xbf16>, memref<2x3x4x4xbf16>) outs(%dx : memref<2x3x8x8xbf16>) {pointers = array<i64: 0, 1, 2>, scalars = [0 : i32, 2, 3, 8, 8, 4, 4, 2, 2, 2, 2, 0, 0, 0, 0]}
  return
}
