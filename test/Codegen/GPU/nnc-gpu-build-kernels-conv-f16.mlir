// RUN: nnc-opt %s --split-input-file --nnc-gpu-build-kernels | FileCheck %s

// --precision=fp16 makes the bf16 step's calls (nncrt_conv2d_*_bf16,
// nncrt_pool2d_*_bf16) on f16 buffers: the kernels read the 16-bit type off
// the buffers and build the same implicit GEMMs, with f16 [mn][k] tiles and
// nvvm.mma.sync's f16 multiplicands (vector<2xf16> registers, f32
// accumulators); results are rounded to f16 once. The geometry is the bf16
// test's (nnc-gpu-build-kernels-conv-bf16.mlir).

// CHECK-LABEL: func.func @step
// CHECK-NOT: nn.runtime_call
// CHECK: gpu.launch_func  @nnc_kernels::@conv_0 {{.+}} args(%arg0 : memref<4x8x10x10xf16>, %arg1 : memref<40x8x3x3xf16>, %arg2 : memref<40xf32>, %arg3 : memref<4x40x10x10xf16>)
// CHECK: gpu.launch_func  @nnc_kernels::@conv_1 {{.+}} args(%arg3 : memref<4x40x10x10xf16>, %arg1 : memref<40x8x3x3xf16>, %arg4 : memref<4x8x10x10xf16>)
// CHECK: gpu.launch_func  @nnc_kernels::@conv_2 {{.+}} args(%arg0 : memref<4x8x10x10xf16>, %arg3 : memref<4x40x10x10xf16>, %arg5 : memref<40x8x3x3xf32>)
// CHECK: gpu.func @conv_0({{.+}}) workgroup(%[[AS:.+]] : memref<64x40xf16, 3> {llvm.align = 16 : i64}, %[[BS:.+]] : memref<64x40xf16, 3> {llvm.align = 16 : i64}) kernel
// CHECK: memref.store %{{.+}}, %[[AS]][%{{.+}}, %{{.+}}] : memref<64x40xf16, 3>
// CHECK: vector.load %[[AS]][%{{.+}}, %{{.+}}] : memref<64x40xf16, 3>, vector<2xf16>
// CHECK-COUNT-16: nvvm.mma.sync A[{{.+}}]  B[{{.+}}]  C[{{.+}}]  {layoutA = #nvvm.mma_layout<row>, layoutB = #nvvm.mma_layout<col>, shape = #nvvm.shape<m = 16, n = 8, k = 16>} : (vector<2xf16>, vector<2xf16>, f32) -> !llvm.struct<(f32, f32, f32, f32)>
// CHECK-NOT: bf16
// CHECK: arith.truncf %{{.+}} : f32 to f16
// CHECK: gpu.func @conv_1
// CHECK: nvvm.mma.sync
// CHECK: arith.truncf %{{.+}} : f32 to f16
// The weight gradient is f32, stored as accumulated.
// CHECK: gpu.func @conv_2
// CHECK: nvvm.mma.sync
// CHECK-NOT: arith.truncf
// CHECK: gpu.return
func.func @step(%x: memref<4x8x10x10xf16>, %w: memref<40x8x3x3xf16>, %b: memref<40xf32>,
                %y: memref<4x40x10x10xf16>, %dx: memref<4x8x10x10xf16>, %dw: memref<40x8x3x3xf32>) {
  nn.runtime_call "nncrt_conv2d_forward_bf16" ins(%x, %w, %b : memref<4x8x10x10xf16>, memref<40x8x3x3xf16>, memref<40xf32>) outs(%y : memref<4x40x10x10xf16>) {pointers = array<i64: 0, 1, 2, 3>, scalars = [4, 8, 10, 10, 40, 3, 3, 10, 10, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1 : i32, 0.000000e+00 : f32, 1 : i32]}
  nn.runtime_call "nncrt_conv2d_backward_data_bf16" ins(%y, %w : memref<4x40x10x10xf16>, memref<40x8x3x3xf16>) outs(%dx : memref<4x8x10x10xf16>) {pointers = array<i64: 0, 1, 2>, scalars = [4, 8, 10, 10, 40, 3, 3, 10, 10, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1 : i32]}
  nn.runtime_call "nncrt_conv2d_backward_weights_bf16" ins(%x, %y : memref<4x8x10x10xf16>, memref<4x40x10x10xf16>) outs(%dw : memref<40x8x3x3xf32>) {pointers = array<i64: 0, 1, 2>, scalars = [4, 8, 10, 10, 40, 3, 3, 10, 10, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0 : i32]}
  return
}

// -----

// f16 pooling: the values widened, each result rounded to f16 once.
// CHECK-LABEL: func.func @pool
// CHECK: gpu.launch_func  @nnc_kernels::@pool_0 {{.+}} args(%arg0 : memref<2x3x8x8xf16>, %arg1 : memref<2x3x4x4xf16>)
// CHECK: gpu.func @pool_0
// CHECK: arith.extf %{{.+}} : f16 to f32
// CHECK: arith.truncf %{{.+}} : f32 to f16
func.func @pool(%x: memref<2x3x8x8xf16>, %y: memref<2x3x4x4xf16>) {
  nn.runtime_call "nncrt_pool2d_forward_bf16" ins(%x : memref<2x3x8x8xf16>) outs(%y : memref<2x3x4x4xf16>) {pointers = array<i64: 0, 1>, scalars = [1 : i32, 2, 3, 8, 8, 4, 4, 2, 2, 2, 2, 0, 0, 0, 0]}
  return
}

