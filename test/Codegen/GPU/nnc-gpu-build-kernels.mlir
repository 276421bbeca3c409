// RUN: nnc-opt %s --nnc-gpu-build-kernels | FileCheck %s

// Every linalg op becomes a kernel of @nnc_kernels and a launch on the same
// buffers; identical ops share a kernel.

#x = affine_map<(m, n, k) -> (m, k)>
#w = affine_map<(m, n, k) -> (n, k)>
#o = affine_map<(m, n, k) -> (m, n)>
#id = affine_map<(i, j) -> (i, j)>
#row = affine_map<(i, j) -> (i)>

// CHECK: module attributes {gpu.container_module}
// CHECK-LABEL: func.func @step
// The zero fill before the matmul is absorbed (beta = 0).
// CHECK-NOT: linalg.fill
// CHECK: gpu.launch_func  @nnc_kernels::@matmul_0 blocks in (%{{.+}}, %{{.+}}, %{{.+}}) threads in (%{{.+}}, %{{.+}}, %{{.+}})  args(%arg0 : memref<128x64xf32>, %arg1 : memref<64x64xf32>, %[[OUT:.+]] : memref<128x64xf32>)
// CHECK: gpu.launch_func  @nnc_kernels::@map_1
// CHECK: gpu.launch_func  @nnc_kernels::@reduce_2
// The second relu is the first one's kernel.
// CHECK: gpu.launch_func  @nnc_kernels::@map_1
// CHECK-NOT: linalg.
// CHECK: return

// The register-tiled matmul: shared-memory tiles as workgroup buffers of
// 16-byte alignment, 128-bit loads, FMAs on vector registers.
// CHECK: gpu.module @nnc_kernels
// CHECK: gpu.func @matmul_0(%{{.+}}: memref<128x64xf32>, %{{.+}}: memref<64x64xf32>, %{{.+}}: memref<128x64xf32>) workgroup(%{{.+}} : memref<16x68xf32, 3> {llvm.align = 16 : i64}, %{{.+}} : memref<16x68xf32, 3> {llvm.align = 16 : i64}) kernel attributes {known_block_size = array<i32: 256, 1, 1>}
// CHECK: memref.assume_alignment
// CHECK: scf.for
// CHECK: vector.load {{.+}} vector<4xf32>
// CHECK: gpu.barrier
// CHECK: vector.fma {{.+}} : vector<4xf32>
// One thread an element for the map.
// CHECK: gpu.func @map_1
// CHECK: gpu.thread_id  x
// CHECK: arith.cmpi ult
// CHECK: arith.maxnumf
// The reduction: a warp butterfly, then the warps' partials in shared memory.
// CHECK: gpu.func @reduce_2({{.+}}) workgroup(%{{.+}} : memref<32xf32, 3>
// CHECK: gpu.shuffle  xor
// CHECK: gpu.barrier
// CHECK-NOT: gpu.func @map_3
func.func @step(%x: memref<128x64xf32>, %w: memref<64x64xf32>, %out: memref<128x64xf32>, %h: memref<128x64xf32>, %s: memref<128xf32>, %h2: memref<128x64xf32>) {
  %zero = arith.constant 0.0 : f32
  linalg.fill ins(%zero : f32) outs(%out : memref<128x64xf32>)
  linalg.generic {indexing_maps = [#x, #w, #o], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%x, %w : memref<128x64xf32>, memref<64x64xf32>) outs(%out : memref<128x64xf32>) {
  ^bb0(%a: f32, %b: f32, %c: f32):
    %p = arith.mulf %a, %b : f32
    %q = arith.addf %c, %p : f32
    linalg.yield %q : f32
  }
  linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%out : memref<128x64xf32>) outs(%h : memref<128x64xf32>) {
  ^bb0(%a: f32, %c: f32):
    %r = arith.maxnumf %a, %zero : f32
    linalg.yield %r : f32
  }
  linalg.generic {indexing_maps = [#id, #row], iterator_types = ["parallel", "reduction"]}
      ins(%h : memref<128x64xf32>) outs(%s : memref<128xf32>) {
  ^bb0(%a: f32, %c: f32):
    %r = arith.addf %c, %a : f32
    linalg.yield %r : f32
  }
  linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%out : memref<128x64xf32>) outs(%h2 : memref<128x64xf32>) {
  ^bb0(%a: f32, %c: f32):
    %r = arith.maxnumf %a, %zero : f32
    linalg.yield %r : f32
  }
  return
}
