// CI's fuzz run (2026-12-07): integers in a custom-form linalg.generic's
// iterator_types, which MLIR 19's parser reads as strings (undefined
// behaviour, a 0xbebebebe...-byte allocation); refused before parsing now.
// A weight gradient of few outputs (4 × 18) over -dot-contractions{rows=1 columns=1 lanes=4}))" | FileCheck %s --check-prefix=ONE
// RUN: not nnc-opt %s --split-input-file --pass-pipeline="builtin.module(func.func(nnc-lower-dot-contractions{lanes=0}))" 2>&1 | FileCheck %s --check-prefix=ZERO
// RUN: not nnc-opt %s --split-input-file --pass-pipeline="builtin.module(func.func(nnc-lower-dot-contractions{rows=100000}))" 2>&1 | FileCheck %s --check-prefix=HUGE

#mk = affine_map<(d0, d1, d2) -> (d0, d2)>
#nk = affine_map<(d0, d1, d2) -> (d1, d2)>
#mn = affine_map<(d0, d1, d2) -> (d0, d1)>
#kn = affine_map<(d0, d1, d2) -> (d2, d1)>

// x·Wᵀ with out 3x5 and k = 10: one 2x4 tile (8 vector accumulators over
// k in [0, 8), each loaded vector used by several FMAs), each accumulator
// reduced in lane order onto out[m, n], the products k = 8, 9 after it; then
// the right edge (n = 4, every row) and the bottom edge (m = 2) as 1x1
// tiles.
// CHECK-LABEL: func.func @xwt
// CHECK-SAME: (%[[X:.+]]: memref<3x10xf32>, %[[W:.+]]: memref<5x10xf32>, %[[O:.+]]: memref<3x5xf32>)
// CHECK-DAG: %[[C0:.+]] = arith.constant 0 : index
// CHECK-DAG: %[[C2:.+]] = arith.constant 2 : index
// CHECK-DAG: %[[C4:.+]] = arith.constant 4 : index
// CHECK-DAG: %[[C8:.+]] = arith.constant 8 : index
// CHECK-DAG: %[[C10:.+]] = arith.constant 10 : index
// CHECK-DAG: %[[ZV:.+]] = arith.constant dense<0.000000e+00> : vector<8xf32>
// CHECK: scf.for %[[M:.+]] = %[[C0]] to %[[C2]] step %[[C2]]
// CHECK: scf.for %[[N:.+]] = %[[C0]] to %[[C4]] step %[[C4]]
// CHECK: %[[ACC:.+]]:8 = scf.for %[[K:.+]] = %[[C0]] to %[[C8]] step %[[C8]] iter_args(%{{.+}} = %[[ZV]],
// CHECK-COUNT-2: vector.load %[[X]][{{.+}}, %[[K]]] : memref<3x10xf32>, vector<8xf32>
// CHECK-COUNT-4: vector.load %[[W]][{{.+}}, %[[K]]] : memref<5x10xf32>, vector<8xf32>
// CHECK-COUNT-8: vector.fma
// CHECK: %[[START:.+]] = memref.load %[[O]]
// CHECK: %[[RED:.+]] = vector.reduction <add>, %[[ACC]]#0, %[[START]] : vector<8xf32> into f32
// CHECK: %[[SUM:.+]] = scf.for %{{.+}} = %[[C8]] to %[[C10]] step %{{.+}} iter_args(%{{.+}} = %[[RED]]) -> (f32)
// CHECK: math.fma
// CHECK: memref.store %[[SUM]], %[[O]]
// CHECK-COUNT-7: vector.reduction <add>
// Right edge, then bottom edge: 1x1 tiles.
// CHECK: scf.for %{{.+}} = %[[C0]] to %{{.+}} step
// CHECK: scf.for %{{.+}} = %[[C4]] to %{{.+}} step
// CHECK: scf.for %{{.+}} = %[[C2]] to %{{.+}} step
// CHECK-NOT: linalg.generic
// CHECK: return

// ONE-LABEL: func.func @xwt
// ONE: iter_args({{[^,]+}}) -> (vector<4xf32>)
// ZERO: error: nnc-lower-dot-contractions: rows and columns must be in [1, 64] and lanes in [1, 256], got rows=2 columns=4 lanes=0
// HUGE: error: nnc-lower-dot-: error: nnc-lower-dot-contractions: rows and columns must be in [1, 64] and lanes in [1, 256], got rows=2 columns=4 lanes=0
// HUGE: error: nnc-lower-dot-contractions: rows and columns must be in [1, 64] and lanes in [1, 256], got rows=100000 columns=4 lanes=8
func.func @xwt(%x: memref<3x10xf32>, %w: memref<5x10xf32>, %o: memref<3x5xf32>) {
  linalg.generic {indexing_maps = [#mk, #nk, #mn], iterator_types = ["parallel", "parallel", 16, 4, 3, 3, 16, 16, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0 : i32]}
  return
}
