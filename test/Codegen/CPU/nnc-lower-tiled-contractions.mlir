// RUN: nnc-opt %s --split-input-file --pass-pipeline="builtin.module(func.func(nnc-lower-tiled-contractions))" | FileCheck %s
// RUN: nnc-opt %s --split-input-file --pass-pipeline="builtin.module(func.func(nnc-lower-tiled-contractions{rows=2 lanes=8}))" | FileCheck %s --check-prefix=SMALL
// RUN: not nnc-opt %s --split-input-file --pass-pipeline="builtin.module(func.func(nnc-lower-tiled-contractions{rows=0}))" 2>&1 | FileCheck %s --check-prefix=ZERO
// RUN: not nnc-opt %s --split-input-file --pass-pipeline="builtin.module(func.func(nnc-lower-tiled-contractions{lanes=4096}))" 2>&1 | FileCheck %s --check-prefix=HUGE

#mk = affine_map<(d0, d1, d2) -> (d0, d1)>
#km = affine_map<(d0, d1, d2) -> (d1, d0)>
#kn = affine_map<(d0, d1, d2) -> (d1, d2)>
#mn = affine_map<(d0, d1, d2) -> (d0, d2)>

// dX = dY·W with out 6x20: one 4x16 tile row (m in [0, 4), n in [0, 16)),
// then the right edge (n in [16, 20), every m) and the bottom edge (m in
// [4, 6), n in [0, 16)) as scalar loops.
// CHECK-LABEL: func.func @xw
// CHECK-SAME: (%[[A:.+]]: memref<6x5xf32>, %[[B:.+]]: memref<5x20xf32>, %[[O:.+]]: memref<6x20xf32>)
// CHECK-DAG: %[[C0:.+]] = arith.constant 0 : index
// CHECK-DAG: %[[C4:.+]] = arith.constant 4 : index
// CHECK-DAG: %[[C16:.+]] = arith.constant 16 : index
// CHECK: scf.for %[[M:.+]] = %[[C0]] to %[[C4]] step %[[C4]]
// CHECK: scf.for %[[N:.+]] = %[[C0]] to %[[C16]] step %[[C16]]
// CHECK-COUNT-4: vector.load %[[O]][{{.+}}, %[[N]]] : memref<6x20xf32>, vector<16xf32>
// CHECK: scf.for %[[K:.+]] = {{.+}} iter_args({{.+}}) -> (vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>)
// CHECK: %[[ROW:.+]] = vector.load %[[B]][%[[K]], %[[N]]] : memref<5x20xf32>, vector<16xf32>
// CHECK: memref.load %[[A]][{{.+}}, %[[K]]]
// CHECK: vector.broadcast
// CHECK: vector.fma {{.+}}, %[[ROW]], {{.+}} : vector<16xf32>
// CHECK-COUNT-4: vector.store {{.+}}, %[[O]][{{.+}}, %[[N]]]
// Right edge.
// CHECK: scf.for {{.+}} = %{{.+}} to %{{.+}} step
// CHECK: memref.load %[[O]]
// CHECK: math.fma
// CHECK: memref.store {{.+}}, %[[O]]
// Bottom edge.
// CHECK: scf.for {{.+}} = %[[C4]] to
// CHECK: math.fma
// CHECK-NOT: linalg.generic
// CHECK: return

// SMALL-LABEL: func.func @xw
// SMALL: vector.fma {{.+}} : vector<8xf32>
// SMALL-NOT: vector<16xf32>

// ZERO: error: nnc-lower-tiled-contractions: rows must be in [1, 64] and lanes in [1, 256], got rows=0 lanes=16
// HUGE: error: nnc-lower-tiled-contractions: rows must be in [1, 64] and lanes in [1, 256], got rows=4 lanes=4096
func.func @xw(%a: memref<6x5xf32>, %b: memref<5x20xf32>, %o: memref<6x20xf32>) {
  linalg.generic {indexing_maps = [#mk, #kn, #mn], iterator_types = ["parallel", "reduction", "parallel"]}
      ins(%a, %b : memref<6x5xf32>, memref<5x20xf32>) outs(%o : memref<6x20xf32>) {
  ^bb0(%x: f32, %y: f32, %z: f32):
    %p = arith.mulf %x, %y : f32
    %s = arith.addf %z, %p : f32
    linalg.yield %s : f32
  }
  return
}

// -----

#mk = affine_map<(d0, d1, d2) -> (d0, d1)>
#km = affine_map<(d0, d1, d2) -> (d1, d0)>
#kn = affine_map<(d0, d1, d2) -> (d1, d2)>
#mn = affine_map<(d0, d1, d2) -> (d0, d2)>

// dW = dYᵀ·X: a is read transposed, a[k, m].
// CHECK-LABEL: func.func @xtw
// CHECK-SAME: (%[[A:.+]]: memref<3x8xf32>, %[[B:.+]]: memref<3x16xf32>, %[[O:.+]]: memref<8x16xf32>)
// CHECK: scf.for %[[K:.+]] = {{.+}} iter_args
// CHECK: memref.load %[[A]][%[[K]], {{.+}}]
// CHECK: vector.fma
// CHECK-NOT: math.fma
// CHECK: return
func.func @xtw(%a: memref<3x8xf32>, %b: memref<3x16xf32>, %o: memref<8x16xf32>) {
  linalg.generic {indexing_maps = [#km, #kn, #mn], iterator_types = ["parallel", "reduction", "parallel"]}
      ins(%a, %b : memref<3x8xf32>, memref<3x16xf32>) outs(%o : memref<8x16xf32>) {
  ^bb0(%x: f32, %y: f32, %z: f32):
    %p = arith.mulf %x, %y : f32
    %s = arith.addf %z, %p : f32
    linalg.yield %s : f32
  }
  return
}

// -----

#mk = affine_map<(d0, d1, d2) -> (d0, d2)>
#nk = affine_map<(d0, d1, d2) -> (d1, d2)>
#mn = affine_map<(d0, d1, d2) -> (d0, d1)>

// x·Wᵀ (rhs contiguous along k) is nnc-lower-dot-contractions' business.
// CHECK-LABEL: func.func @xwt
// CHECK: linalg.generic
// CHECK-NOT: vector.fma
func.func @xwt(%x: memref<4x8xf32>, %w: memref<3x8xf32>, %o: memref<4x3xf32>) {
  linalg.generic {indexing_maps = [#mk, #nk, #mn], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%x, %w : memref<4x8xf32>, memref<3x8xf32>) outs(%o : memref<4x3xf32>) {
  ^bb0(%a: f32, %b: f32, %c: f32):
    %p = arith.mulf %a, %b : f32
    %s = arith.addf %c, %p : f32
    linalg.yield %s : f32
  }
  return
}
