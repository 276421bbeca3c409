// RUN: nnc-opt %s --split-input-file --nnc-gpu-build-kernels --verify-diagnostics | FileCheck %s

// gridDim.y is at most 65535. A guarded matmul of more than 65535 row tiles
// of 16 (1 048 577 rows here) launches 65535 rows of blocks that stride
// over the row tiles; one that fits numbers them with blockIdx.y directly.

#x = affine_map<(m, n, k) -> (m, k)>
#w = affine_map<(m, n, k) -> (n, k)>
#o = affine_map<(m, n, k) -> (m, n)>

// CHECK-LABEL: func.func @tall
// CHECK-DAG: %[[GY:.+]] = arith.constant 65535 : index
// CHECK: gpu.launch_func  @nnc_kernels::@matmul_0 blocks in (%{{.+}}, %[[GY]], %{{.+}})
// CHECK: gpu.func @matmul_0
// CHECK-DAG: %[[TILES:.+]] = arith.constant 65537 : index
// CHECK-DAG: %[[BY:.+]] = gpu.block_id  y
// CHECK-DAG: %[[DY:.+]] = gpu.grid_dim  y
// CHECK: scf.for %{{.+}} = %[[BY]] to %[[TILES]] step %[[DY]] {
// CHECK: gpu.barrier
// CHECK: gpu.barrier
func.func @tall(%x: memref<1048577x5xf32>, %w: memref<3x5xf32>, %out: memref<1048577x3xf32>) {
  linalg.generic {indexing_maps = [#x, #w, #o], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%x, %w : memref<1048577x5xf32>, memref<3x5xf32>) outs(%out : memref<1048577x3xf32>) {
  ^bb0(%a: f32, %b: f32, %c: f32):
    %p = arith.mulf %a, %b : f32
    %q = arith.addf %c, %p : f32
    linalg.yield %q : f32
  }
  return
}

// -----

#x = affine_map<(m, n, k) -> (m, k)>
#w = affine_map<(m, n, k) -> (n, k)>
#o = affine_map<(m, n, k) -> (m, n)>

// CHECK-LABEL: func.func @short
// CHECK: gpu.func @matmul_0
// CHECK-NOT: gpu.grid_dim
// CHECK: gpu.return
func.func @short(%x: memref<1000x5xf32>, %w: memref<3x5xf32>, %out: memref<1000x3xf32>) {
  linalg.generic {indexing_maps = [#x, #w, #o], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%x, %w : memref<1000x5xf32>, memref<3x5xf32>) outs(%out : memref<1000x3xf32>) {
  ^bb0(%a: f32, %b: f32, %c: f32):
    %p = arith.mulf %a, %b : f32
    %q = arith.addf %c, %p : f32
    linalg.yield %q : f32
  }
  return
}

// -----

// A launch beyond CUDA's grid limits is a located error at the op, not a
// launch failure on the GPU: 2^39 elements, one thread each, need 2^31
// blocks of 256 on x.
#id = affine_map<(i, j, k) -> (i, j, k)>
func.func @huge(%a: memref<65536x65536x128xf32>, %b: memref<65536x65536x128xf32>) {
  // expected-error @+1 {{'linalg.generic' op needs a grid of 2147483648×1×1 blocks, beyond CUDA's limits (2147483647×65535×65535)}}
  linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%a : memref<65536x65536x128xf32>) outs(%b : memref<65536x65536x128xf32>) {
  ^bb0(%x: f32, %y: f32):
    %r = arith.negf %x : f32
    linalg.yield %r : f32
  }
  return
}
