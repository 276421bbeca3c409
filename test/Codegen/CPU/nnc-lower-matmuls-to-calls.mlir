// RUN: nnc-opt %s --nnc-lower-matmuls-to-calls --cse | FileCheck %s

// CHECK: func.func private @nncrt_sgemm(i32, i32, i64, i64, i64, f32, !llvm.ptr, i64, !llvm.ptr, i64, f32, !llvm.ptr, i64)

#x = affine_map<(m, n, k) -> (m, k)>
#w = affine_map<(m, n, k) -> (n, k)>
#o = affine_map<(m, n, k) -> (m, n)>
#tl = affine_map<(m, k, n) -> (k, m)>
#kn = affine_map<(m, k, n) -> (k, n)>
#mn = affine_map<(m, k, n) -> (m, n)>

// The forward x·Wᵀ accumulates onto the bias already in out: beta = 1,
// B transposed, leading dimensions from the row strides.
// CHECK-LABEL: func.func @forward
// CHECK-DAG: %[[F:.+]] = arith.constant 0 : i32
// CHECK-DAG: %[[T:.+]] = arith.constant 1 : i32
// CHECK-DAG: %[[ONE:.+]] = arith.constant 1.000000e+00 : f32
// CHECK: call @nncrt_sgemm(%[[F]], %[[T]], %{{.+}}, %{{.+}}, %{{.+}}, %[[ONE]], %{{.+}}, %{{.+}}, %{{.+}}, %{{.+}}, %[[ONE]],
// CHECK-NOT: linalg.generic
func.func @forward(%x: memref<8x4xf32>, %w: memref<3x4xf32>, %out: memref<8x3xf32>) {
  linalg.generic {indexing_maps = [#x, #w, #o], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%x, %w : memref<8x4xf32>, memref<3x4xf32>) outs(%out : memref<8x3xf32>) {
  ^bb0(%a: f32, %b: f32, %c: f32):
    %p = arith.mulf %a, %b : f32
    %s = arith.addf %c, %p : f32
    linalg.yield %s : f32
  }
  return
}

// A zero fill right before is dropped (beta = 0); the fused update's scale
// is alpha; an arena view is addressed at its byte shift.
// CHECK-LABEL: func.func @update
// CHECK-NOT: linalg.fill
// CHECK-DAG: %[[ALPHA:.+]] = arith.constant -5.000000e-01 : f32
// CHECK-DAG: %[[ZERO:.+]] = arith.constant 0.000000e+00 : f32
// CHECK: %[[BASE:.+]] = memref.extract_aligned_pointer_as_index %arg2 : memref<256xi8> -> index
// CHECK: arith.addi %[[BASE]], %c64
// CHECK: call @nncrt_sgemm(%{{.+}}, %{{.+}}, %{{.+}}, %{{.+}}, %{{.+}}, %[[ALPHA]], {{.+}}, %[[ZERO]],
func.func @update(%dy: memref<8x3xf32>, %x: memref<8x4xf32>, %arena: memref<256xi8>) {
  %c64 = arith.constant 64 : index
  %scale = arith.constant -0.5 : f32
  %zero = arith.constant 0.0 : f32
  %dw = memref.view %arena[%c64][] : memref<256xi8> to memref<3x4xf32>
  linalg.fill ins(%zero : f32) outs(%dw : memref<3x4xf32>)
  linalg.generic {indexing_maps = [#tl, #kn, #mn], iterator_types = ["parallel", "reduction", "parallel"]}
      ins(%dy, %x : memref<8x3xf32>, memref<8x4xf32>) outs(%dw : memref<3x4xf32>) {
  ^bb0(%a: f32, %b: f32, %c: f32):
    %p = arith.mulf %a, %b : f32
    %q = arith.mulf %p, %scale : f32
    %s = arith.addf %c, %q : f32
    linalg.yield %s : f32
  }
  return
}

// Not a matmul (an elementwise product): left alone.
// CHECK-LABEL: func.func @elementwise
// CHECK: linalg.generic
// CHECK-NOT: call
func.func @elementwise(%a: memref<8x3xf32>, %b: memref<8x3xf32>, %out: memref<8x3xf32>) {
  linalg.generic {indexing_maps = [affine_map<(i, j) -> (i, j)>, affine_map<(i, j) -> (i, j)>, affine_map<(i, j) -> (i, j)>], iterator_types = ["parallel", "parallel"]}
      ins(%a, %b : memref<8x3xf32>, memref<8x3xf32>) outs(%out : memref<8x3xf32>) {
  ^bb0(%x: f32, %y: f32, %c: f32):
    %p = arith.mulf %x, %y : f32
    %s = arith.addf %c, %p : f32
    linalg.yield %s : f32
  }
  return
}
