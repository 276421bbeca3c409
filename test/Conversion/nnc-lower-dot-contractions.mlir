// RUN: nnc-opt %s --pass-pipeline="builtin.module(func.func(nnc-lower-dot-contractions))" | FileCheck %s

#mk = affine_map<(d0, d1, d2) -> (d0, d2)>
#nk = affine_map<(d0, d1, d2) -> (d1, d2)>
#mn = affine_map<(d0, d1, d2) -> (d0, d1)>
#kn = affine_map<(d0, d1, d2) -> (d2, d1)>

// x·Wᵀ: the sum over k lives in a register (iter_args), reassociable so
// LLVM can vectorize it; out[m, n] is read once and written once.
// CHECK-LABEL: func.func @xwt
// CHECK-SAME: (%[[X:.+]]: memref<4x8xf32>, %[[W:.+]]: memref<3x8xf32>, %[[O:.+]]: memref<4x3xf32>)
// CHECK: scf.for %[[M:.+]] = %{{.+}} to %{{.+}} step
// CHECK: scf.for %[[N:.+]] = %{{.+}} to %{{.+}} step
// CHECK: %[[INIT:.+]] = memref.load %[[O]][%[[M]], %[[N]]]
// CHECK: %[[SUM:.+]] = scf.for %[[K:.+]] = {{.+}} iter_args(%[[ACC:.+]] = %[[INIT]]) -> (f32)
// CHECK: memref.load %[[X]][%[[M]], %[[K]]]
// CHECK: memref.load %[[W]][%[[N]], %[[K]]]
// CHECK: arith.mulf {{.+}} fastmath<reassoc,contract>
// CHECK: arith.addf %[[ACC]], {{.+}} fastmath<reassoc,contract>
// CHECK: memref.store %[[SUM]], %[[O]][%[[M]], %[[N]]]
// CHECK-NOT: linalg.generic
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

// Other contractions stay as they are (they vectorize along n already).
// CHECK-LABEL: func.func @xw
// CHECK: linalg.generic
func.func @xw(%x: memref<4x8xf32>, %w: memref<8x3xf32>, %o: memref<4x3xf32>) {
  linalg.generic {indexing_maps = [#mk, #kn, #mn], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%x, %w : memref<4x8xf32>, memref<8x3xf32>) outs(%o : memref<4x3xf32>) {
  ^bb0(%a: f32, %b: f32, %c: f32):
    %p = arith.mulf %a, %b : f32
    %s = arith.addf %c, %p : f32
    linalg.yield %s : f32
  }
  return
}
