// RUN: nnc-opt %s --split-input-file --nnc-gpu-build-kernels | FileCheck %s

// The CPU runtime's convolution and pooling calls, on the buffers the
// memory plan gave them, become kernels and launches on the same buffers.
// A convolution is an implicit GEMM: per group (blockIdx.z), a tile of
// C[m][n] per block, k tiles of both operands staged through shared memory
// (workgroup buffers) with the im2col gather in the guarded loads, FMAs on
// register tiles, bias and the leaky-ReLU post-op in the epilogue.
// Geometry: N=2, C=4, 9×8, K=6 filters 3×2, output 5×3, stride 2×3,
// padding (1, 0, 2, 1), groups 2: M = 2·5·3 = 30, n = 3, k = 2·3·2 = 12.

// CHECK: module attributes {gpu.container_module}
// CHECK-LABEL: func.func @step
// CHECK-NOT: nn.runtime_call
// One block of 512×4 (M = 30, n = 3) per group: a grid of 1×1×2.
// CHECK-DAG: %[[C2:.+]] = arith.constant 2 : index
// CHECK-DAG: %[[C256:.+]] = arith.constant 256 : index
// CHECK: gpu.launch_func  @nnc_kernels::@conv_0 blocks in (%{{.+}}, %{{.+}}, %[[C2]]) threads in (%[[C256]], %{{.+}}, %{{.+}})  args(%arg0 : memref<2x4x9x8xf32>, %arg1 : memref<6x2x3x2xf32>, %arg2 : memref<6xf32>, %arg3 : memref<2x6x5x3xf32>)
// Backward data: dy and w in, dx out; backward weights: x and dy in.
// CHECK: gpu.launch_func  @nnc_kernels::@conv_1 {{.+}} args(%arg3 : memref<2x6x5x3xf32>, %arg1 : memref<6x2x3x2xf32>, %arg4 : memref<2x4x9x8xf32>)
// CHECK: gpu.launch_func  @nnc_kernels::@conv_2 {{.+}} args(%arg0 : memref<2x4x9x8xf32>, %arg3 : memref<2x6x5x3xf32>, %arg5 : memref<6x2x3x2xf32>)
// CHECK: gpu.launch_func  @nnc_kernels::@pool_3 {{.+}} args(%arg3 : memref<2x6x5x3xf32>, %arg6 : memref<2x6x2x1xf32>)
// Max pooling's backward reads the forward's input (it recomputes each
// window's argmax); average pooling's does not.
// CHECK: gpu.launch_func  @nnc_kernels::@pool_4 {{.+}} args(%arg3 : memref<2x6x5x3xf32>, %arg6 : memref<2x6x2x1xf32>, %arg7 : memref<2x6x5x3xf32>)
// CHECK: gpu.launch_func  @nnc_kernels::@pool_5 {{.+}} args(%arg8 : memref<2x6x3x2xf32>, %arg7 : memref<2x6x5x3xf32>)
// The recomputed forward launches the first one's kernel.
// CHECK: gpu.launch_func  @nnc_kernels::@conv_0
// CHECK-NEXT: return

// CHECK: gpu.module @nnc_kernels
// n = 3: the tall tile, 512 rows by 4 columns, 8 of k a step.
// CHECK: gpu.func @conv_0(%{{.+}}: memref<2x4x9x8xf32>, %{{.+}}: memref<6x2x3x2xf32>, %{{.+}}: memref<6xf32>, %{{.+}}: memref<2x6x5x3xf32>) workgroup(%[[AS:.+]] : memref<8x516xf32, 3> {llvm.align = 16 : i64}, %[[BS:.+]] : memref<8x8xf32, 3> {llvm.align = 16 : i64}) kernel attributes {known_block_size = array<i32: 256, 1, 1>}
// CHECK: gpu.block_id  z
// CHECK: %[[LOOP:.+]]:2 = scf.for %[[K0:.+]] = %{{.+}} to %{{.+}} step %{{.+}} iter_args
// The gather: an input element outside the padded image reads zero.
// CHECK: scf.if
// CHECK: scf.if
// CHECK: memref.load %{{.+}}[%{{.+}}, %{{.+}}, %{{.+}}, %{{.+}}] : memref<2x4x9x8xf32>
// CHECK: } else {
// CHECK: scf.yield %{{.+}} : f32
// CHECK: memref.store %{{.+}}, %[[AS]][
// CHECK: memref.store %{{.+}}, %[[BS]][
// CHECK: gpu.barrier
// CHECK: vector.load %[[AS]][{{.+}}] : memref<8x516xf32, 3>, vector<2xf32>
// CHECK: vector.load %[[BS]][{{.+}}] : memref<8x8xf32, 3>, vector<4xf32>
// CHECK: vector.fma {{.+}} : vector<4xf32>
// CHECK: gpu.barrier
// CHECK: scf.yield
// Epilogue, inside the GEMM's bounds: bias, then x > 0 ? x : 0.1·x.
// CHECK: memref.load %{{.+}}[%{{.+}}] : memref<6xf32>
// CHECK-NEXT: arith.addf
// CHECK-NEXT: %[[POS:.+]] = arith.cmpf ogt
// CHECK-NEXT: %[[NEG:.+]] = arith.mulf
// CHECK-NEXT: %[[Y:.+]] = arith.select %[[POS]], %{{.+}}, %[[NEG]] : f32
// CHECK-NEXT: memref.store %[[Y]], %{{.+}} : memref<2x6x5x3xf32>
// CHECK: gpu.return

// Backward data: the same GEMM structure, its A the transposed gather of dy.
// CHECK: gpu.func @conv_1(
// CHECK: gpu.barrier
// CHECK: vector.fma
// CHECK-NOT: arith.cmpf
// CHECK: gpu.return

// Backward weights: n = 2·3·2 = 12, the 256×16 tile; k runs over N·OH·OW
// in order (one thread's sum an element: no atomics).
// CHECK: gpu.func @conv_2({{.+}} workgroup(%{{.+}} : memref<8x260xf32, 3> {llvm.align = 16 : i64}, %{{.+}} : memref<8x20xf32, 3> {llvm.align = 16 : i64})
// CHECK-NOT: memref.atomic_rmw
// CHECK: gpu.return

// Max pooling: a thread an output; PyTorch's rule, v > max or v is NaN.
// CHECK: gpu.func @pool_3(
// CHECK-NOT: gpu.barrier
// CHECK: %[[V:.+]] = memref.load
// CHECK-NEXT: %[[GT:.+]] = arith.cmpf ogt, %[[V]]
// CHECK-NEXT: %[[NAN:.+]] = arith.cmpf uno, %[[V]], %[[V]]
// CHECK-NEXT: %[[TAKE:.+]] = arith.ori %[[GT]], %[[NAN]]
// CHECK-NEXT: arith.select %[[TAKE]], %[[V]]
// CHECK: gpu.return

// Its backward: a thread an input element, gathering the windows that
// picked it (no scatter, no atomics).
// CHECK: gpu.func @pool_4(
// CHECK-NOT: memref.atomic_rmw
// CHECK: arith.cmpf uno
// CHECK: arith.addf
// CHECK: gpu.return

// Average pooling's backward, padding excluded: each window's share,
// divided by the count of its input elements.
// CHECK: gpu.func @pool_5(
// CHECK: arith.sitofp
// CHECK: arith.divf
// CHECK: gpu.return
func.func @step(%x: memref<2x4x9x8xf32>, %w: memref<6x2x3x2xf32>, %b: memref<6xf32>,
                %y: memref<2x6x5x3xf32>, %dx: memref<2x4x9x8xf32>, %dw: memref<6x2x3x2xf32>,
                %p: memref<2x6x2x1xf32>, %dp: memref<2x6x5x3xf32>, %q: memref<2x6x3x2xf32>) {
  nn.runtime_call "nncrt_conv2d_forward" ins(%x, %w, %b : memref<2x4x9x8xf32>, memref<6x2x3x2xf32>, memref<6xf32>) outs(%y : memref<2x6x5x3xf32>) {pointers = array<i64: 0, 1, 2, 3>, scalars = [2, 4, 9, 8, 6, 3, 2, 5, 3, 2, 3, 1, 0, 2, 1, 1, 1, 2, 2 : i32, 1.000000e-01 : f32]}
  nn.runtime_call "nncrt_conv2d_backward_data" ins(%y, %w : memref<2x6x5x3xf32>, memref<6x2x3x2xf32>) outs(%dx : memref<2x4x9x8xf32>) {pointers = array<i64: 0, 1, 2>, scalars = [2, 4, 9, 8, 6, 3, 2, 5, 3, 2, 3, 1, 0, 2, 1, 1, 1, 2]}
  nn.runtime_call "nncrt_conv2d_backward_weights" ins(%x, %y : memref<2x4x9x8xf32>, memref<2x6x5x3xf32>) outs(%dw : memref<6x2x3x2xf32>) {pointers = array<i64: 0, 1, 2>, scalars = [2, 4, 9, 8, 6, 3, 2, 5, 3, 2, 3, 1, 0, 2, 1, 1, 1, 2]}
  nn.runtime_call "nncrt_pool2d_forward" ins(%y : memref<2x6x5x3xf32>) outs(%p : memref<2x6x2x1xf32>) {pointers = array<i64: 0, 1>, scalars = [0 : i32, 2, 6, 5, 3, 2, 1, 3, 3, 2, 2, 0, 0, 0, 0]}
  nn.runtime_call "nncrt_pool2d_backward" ins(%y, %p : memref<2x6x5x3xf32>, memref<2x6x2x1xf32>) outs(%dp : memref<2x6x5x3xf32>) {pointers = array<i64: 0, 1, 2>, scalars = [0 : i32, 2, 6, 5, 3, 2, 1, 3, 3, 2, 2, 0, 0, 0, 0]}
  nn.runtime_call "nncrt_pool2d_backward" ins(%q : memref<2x6x3x2xf32>) outs(%dp : memref<2x6x5x3xf32>) {pointers = array<i64: -1, 0, 1>, scalars = [2 : i32, 2, 6, 5, 3, 3, 2, 3, 3, 2, 2, 1, 1, 1, 1]}
  nn.runtime_call "nncrt_conv2d_forward" ins(%x, %w, %b : memref<2x4x9x8xf32>, memref<6x2x3x2xf32>, memref<6xf32>) outs(%y : memref<2x6x5x3xf32>) {pointers = array<i64: 0, 1, 2, 3>, scalars = [2, 4, 9, 8, 6, 3, 2, 5, 3, 2, 3, 1, 0, 2, 1, 1, 1, 2, 2 : i32, 1.000000e-01 : f32]}
  return
}

// -----

// A depthwise convolution (groups = C = K): n = 1 per group, one group per
// blockIdx.z, and its backward weights' GEMM reduces over N·OH·OW.
// CHECK-LABEL: func.func @depthwise
// CHECK: gpu.launch_func  @nnc_kernels::@conv_0 blocks in (%{{.+}}, %{{.+}}, %[[G:.+]]) threads
// CHECK: gpu.func @conv_0(
// CHECK: gpu.block_id  z
func.func @depthwise(%x: memref<4x8x6x6xf32>, %w: memref<8x1x3x3xf32>, %y: memref<4x8x6x6xf32>) {
  nn.runtime_call "nncrt_conv2d_forward" ins(%x, %w : memref<4x8x6x6xf32>, memref<8x1x3x3xf32>) outs(%y : memref<4x8x6x6xf32>) {pointers = array<i64: 0, 1, -1, 2>, scalars = [4, 8, 6, 6, 8, 3, 3, 6, 6, 1, 1, 1, 1, 1, 1, 1, 1, 8, 1 : i32, 0.000000e+00 : f32]}
  return
}

// -----

// A weight gradient of 4 filters of 2×3×3 taps over 16·16·16 = 4096 output
// pixels: as a GEMM, one block looping over all of k. Instead a block per
// element of dw (a grid of 18×4), its threads striding over k with FMAs,
// then a butterfly in each warp and the warps' partials in shared memory.
// CHECK-LABEL: func.func @weight_gradient
// CHECK-DAG: %[[C18:.+]] = arith.constant 18 : index
// CHECK-DAG: %[[C4:.+]] = arith.constant 4 : index
// CHECK: gpu.launch_func  @nnc_kernels::@conv_0 blocks in (%[[C18]], %[[C4]], %{{.+}}) threads in
// CHECK: gpu.func @conv_0({{.+}}) workgroup(%[[PART:.+]] : memref<1x8xf32, 3> {llvm.align = 16 : i64})
// CHECK: scf.for %{{.+}} = %{{.+}} to %{{.+}} step %{{.+}} iter_args
// CHECK: math.fma
// CHECK-COUNT-5: gpu.shuffle  xor
// CHECK: memref.store %{{.+}}, %[[PART]]
// CHECK: gpu.barrier
// CHECK-COUNT-5: gpu.shuffle  xor
// CHECK: memref.store %{{.+}} : memref<4x2x3x3xf32>
// CHECK-NOT: memref.atomic_rmw
func.func @weight_gradient(%x: memref<16x2x16x16xf32>, %dy: memref<16x4x16x16xf32>, %dw: memref<4x2x3x3xf32>) {
  nn.runtime_call "nncrt_conv2d_backward_weights" ins(%x, %dy : memref<16x2x16x16xf32>, memref<16x4x16x16xf32>) outs(%dw : memref<4x2x3x3xf32>) {pointers = array<i64: 0, 1, 2>, scalars = [16, 2, 16, 16, 4, 3, 3, 16, 16, 1, 1, 1, 1, 1, 1, 1, 1, 1]}
  return
}
