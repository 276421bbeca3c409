// RUN: nnc-opt %s --nnc-lower-matmuls-to-calls --cse | FileCheck %s
// RUN: nnc-opt %s --nnc-lower-matmuls-to-calls="fuse-epilogues=false" --cse | FileCheck %s --check-prefix=NOFUSE

// CHECK: func.func private @nncrt_sgemm(i32, i32, i64, i64, i64, f32, !llvm.ptr, i64, !llvm.ptr, i64, f32, !llvm.ptr, i64)

#x = affine_map<(m, n, k) -> (m, k)>
#w = affine_map<(m, n, k) -> (n, k)>
#o = affine_map<(m, n, k) -> (m, n)>
#tl = affine_map<(m, k, n) -> (k, m)>
#kn = affine_map<(m, k, n) -> (k, n)>
#mn = affine_map<(m, k, n) -> (m, n)>
#row = affine_map<(i, j) -> (j)>
#id = affine_map<(i, j) -> (i, j)>

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

// A linear layer: the bias broadcast before and the relu after move into
// one call (bias argument, beta = 0, activation 1).
// CHECK-LABEL: func.func @linear_relu
// CHECK-NOT: linalg.
// CHECK-DAG: %[[ZERO:.+]] = arith.constant 0.000000e+00 : f32
// CHECK-DAG: %[[RELU:.+]] = arith.constant 1 : i32
// CHECK-DAG: %[[BIAS:.+]] = memref.extract_aligned_pointer_as_index %arg2 : memref<3xf32> -> index
// CHECK-DAG: %[[BI:.+]] = arith.index_cast %[[BIAS]] : index to i64
// CHECK-DAG: %[[B:.+]] = llvm.inttoptr %[[BI]] : i64 to !llvm.ptr
// CHECK: call @nncrt_sgemm_epilogue(%{{.+}}, %{{.+}}, %{{.+}}, %{{.+}}, %{{.+}}, %{{.+}}, %{{.+}}, %{{.+}}, %{{.+}}, %[[ZERO]], %{{.+}}, %{{.+}}, %[[B]], %[[RELU]], %[[ZERO]])
// CHECK-NOT: linalg.
// CHECK: return
// Without fuse-epilogues the three ops stay: the GEMM accumulates onto the
// broadcast bias.
// NOFUSE-LABEL: func.func @linear_relu
// NOFUSE: linalg.generic
// NOFUSE: call @nncrt_sgemm(
// NOFUSE: linalg.generic
// NOFUSE-NOT: nncrt_sgemm_epilogue
func.func @linear_relu(%x: memref<8x4xf32>, %w: memref<3x4xf32>, %b: memref<3xf32>, %out: memref<8x3xf32>) {
  %zero = arith.constant 0.0 : f32
  linalg.generic {indexing_maps = [#row, #id], iterator_types = ["parallel", "parallel"]}
      ins(%b : memref<3xf32>) outs(%out : memref<8x3xf32>) {
  ^bb0(%in: f32, %o: f32):
    linalg.yield %in : f32
  }
  linalg.generic {indexing_maps = [#x, #w, #o], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%x, %w : memref<8x4xf32>, memref<3x4xf32>) outs(%out : memref<8x3xf32>) {
  ^bb0(%a: f32, %bb: f32, %c: f32):
    %p = arith.mulf %a, %bb : f32
    %s = arith.addf %c, %p : f32
    linalg.yield %s : f32
  }
  linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%out : memref<8x3xf32>) outs(%out : memref<8x3xf32>) attrs = {nn.epilogue = #nn.epilogue<relu>} {
  ^bb0(%in: f32, %o: f32):
    %pos = arith.cmpf ogt, %in, %zero : f32
    %r = arith.select %pos, %in, %zero : f32
    linalg.yield %r : f32
  }
  return
}

// Leaky relu passes its slope (activation 2); with no bias (a zero fill)
// the bias pointer is null.
// CHECK-LABEL: func.func @nobias_leaky
// CHECK-NOT: linalg.
// CHECK-DAG: %[[LEAKY:.+]] = arith.constant 2 : i32
// CHECK-DAG: %[[SLOPE:.+]] = arith.constant 1.000000e-01 : f32
// CHECK-DAG: %[[NULL:.+]] = llvm.mlir.zero : !llvm.ptr
// CHECK: call @nncrt_sgemm_epilogue({{.+}}, %[[NULL]], %[[LEAKY]], %[[SLOPE]])
// CHECK-NOT: linalg.
func.func @nobias_leaky(%x: memref<8x4xf32>, %w: memref<3x4xf32>, %out: memref<8x3xf32>) {
  %zero = arith.constant 0.0 : f32
  %slope = arith.constant 0.1 : f32
  linalg.fill ins(%zero : f32) outs(%out : memref<8x3xf32>)
  linalg.generic {indexing_maps = [#x, #w, #o], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%x, %w : memref<8x4xf32>, memref<3x4xf32>) outs(%out : memref<8x3xf32>) {
  ^bb0(%a: f32, %bb: f32, %c: f32):
    %p = arith.mulf %a, %bb : f32
    %s = arith.addf %c, %p : f32
    linalg.yield %s : f32
  }
  linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%out : memref<8x3xf32>) outs(%out : memref<8x3xf32>) attrs = {nn.epilogue = #nn.epilogue<leaky_relu, 1.000000e-01 : f32>} {
  ^bb0(%in: f32, %o: f32):
    %pos = arith.cmpf ogt, %in, %zero : f32
    %m = arith.mulf %in, %slope : f32
    %r = arith.select %pos, %in, %m : f32
    linalg.yield %r : f32
  }
  return
}

// What the GEMM cannot apply stays a loop: a sigmoid after the bias-only
// epilogue (activation 0), a relu into another buffer, and a bias under a
// scaled contraction (alpha != 1: plain sgemm onto the broadcast bias).
// CHECK-LABEL: func.func @not_fused
// CHECK-DAG: %[[NONE:.+]] = arith.constant 0 : i32
// CHECK: call @nncrt_sgemm_epilogue({{.+}}, %[[NONE]], %{{.+}})
// CHECK: linalg.generic
// CHECK: math.exp
// CHECK: linalg.generic
// CHECK: arith.select
// CHECK: linalg.generic
// CHECK: call @nncrt_sgemm(
// CHECK: return
func.func @not_fused(%x: memref<8x4xf32>, %w: memref<3x4xf32>, %b: memref<3xf32>, %out: memref<8x3xf32>, %other: memref<8x3xf32>) {
  %zero = arith.constant 0.0 : f32
  %one = arith.constant 1.0 : f32
  %half = arith.constant 0.5 : f32
  linalg.generic {indexing_maps = [#row, #id], iterator_types = ["parallel", "parallel"]}
      ins(%b : memref<3xf32>) outs(%out : memref<8x3xf32>) {
  ^bb0(%in: f32, %o: f32):
    linalg.yield %in : f32
  }
  linalg.generic {indexing_maps = [#x, #w, #o], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%x, %w : memref<8x4xf32>, memref<3x4xf32>) outs(%out : memref<8x3xf32>) {
  ^bb0(%a: f32, %bb: f32, %c: f32):
    %p = arith.mulf %a, %bb : f32
    %s = arith.addf %c, %p : f32
    linalg.yield %s : f32
  }
  linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%out : memref<8x3xf32>) outs(%out : memref<8x3xf32>) {
  ^bb0(%in: f32, %o: f32):
    %n = arith.negf %in : f32
    %e = math.exp %n : f32
    %d = arith.addf %one, %e : f32
    %r = arith.divf %one, %d : f32
    linalg.yield %r : f32
  }
  linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%out : memref<8x3xf32>) outs(%other : memref<8x3xf32>) attrs = {nn.epilogue = #nn.epilogue<relu>} {
  ^bb0(%in: f32, %o: f32):
    %pos = arith.cmpf ogt, %in, %zero : f32
    %r = arith.select %pos, %in, %zero : f32
    linalg.yield %r : f32
  }
  linalg.generic {indexing_maps = [#row, #id], iterator_types = ["parallel", "parallel"]}
      ins(%b : memref<3xf32>) outs(%other : memref<8x3xf32>) {
  ^bb0(%in: f32, %o: f32):
    linalg.yield %in : f32
  }
  linalg.generic {indexing_maps = [#x, #w, #o], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%x, %w : memref<8x4xf32>, memref<3x4xf32>) outs(%other : memref<8x3xf32>) {
  ^bb0(%a: f32, %bb: f32, %c: f32):
    %p = arith.mulf %a, %bb : f32
    %q = arith.mulf %p, %half : f32
    %s = arith.addf %c, %q : f32
    linalg.yield %s : f32
  }
  return
}

// What to fuse is what nn.epilogue says, not the shape of the body: a
// generic computing a relu without it stays a loop after a bias-only call.
// CHECK-LABEL: func.func @untagged_relu
// CHECK-DAG: %[[NOACT:.+]] = arith.constant 0 : i32
// CHECK: call @nncrt_sgemm_epilogue({{.+}}, %[[NOACT]], %{{.+}})
// CHECK: linalg.generic
// CHECK: arith.select
func.func @untagged_relu(%x: memref<8x4xf32>, %w: memref<3x4xf32>, %b: memref<3xf32>, %out: memref<8x3xf32>) {
  %zero = arith.constant 0.0 : f32
  linalg.generic {indexing_maps = [#row, #id], iterator_types = ["parallel", "parallel"]}
      ins(%b : memref<3xf32>) outs(%out : memref<8x3xf32>) {
  ^bb0(%in: f32, %o: f32):
    linalg.yield %in : f32
  }
  linalg.generic {indexing_maps = [#x, #w, #o], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%x, %w : memref<8x4xf32>, memref<3x4xf32>) outs(%out : memref<8x3xf32>) {
  ^bb0(%a: f32, %bb: f32, %c: f32):
    %p = arith.mulf %a, %bb : f32
    %s = arith.addf %c, %p : f32
    linalg.yield %s : f32
  }
  linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%out : memref<8x3xf32>) outs(%out : memref<8x3xf32>) {
  ^bb0(%in: f32, %o: f32):
    %pos = arith.cmpf ogt, %in, %zero : f32
    %r = arith.select %pos, %in, %zero : f32
    linalg.yield %r : f32
  }
  return
}
