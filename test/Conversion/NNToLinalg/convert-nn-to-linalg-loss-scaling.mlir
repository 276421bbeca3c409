// RUN: nnc-opt %s --convert-nn-to-linalg | FileCheck %s

// Dynamic loss scaling's ops as linalg on tensors.

// nn.unscale: g · (1 / s), the rank-0 scale broadcast.
// CHECK-LABEL: func.func @unscale
// CHECK: linalg.generic {indexing_maps = [#{{.+}}, #{{.+}}, #{{.+}}], iterator_types = ["parallel", "parallel"]} ins(%arg0, %arg1 : tensor<3x4xf32>, tensor<f32>)
// CHECK: %[[INV:.+]] = arith.divf %{{.+}}, %{{.+}} : f32
// CHECK: arith.mulf %{{.+}}, %[[INV]] : f32
func.func @unscale(%g: tensor<3x4xf32>, %s: tensor<f32>) -> tensor<3x4xf32> {
  %u = nn.unscale %g, %s : tensor<3x4xf32>, tensor<f32>
  return %u : tensor<3x4xf32>
}

// nn.all_finite: one accumulator through a full reduction of each input
// (acc + x·0), then 1.0 where it is exactly 0, else 0.0.
// CHECK-LABEL: func.func @all_finite
// CHECK: %[[ZERO:.+]] = linalg.fill
// CHECK: %[[A:.+]] = linalg.generic {{.+}} iterator_types = ["reduction", "reduction"]} ins(%arg0 : tensor<3x4xf32>) outs(%[[ZERO]] : tensor<f32>)
// CHECK: arith.mulf
// CHECK: arith.addf
// CHECK: %[[B:.+]] = linalg.generic {{.+}} iterator_types = ["reduction"]} ins(%arg1 : tensor<3xf32>) outs(%[[A]] : tensor<f32>)
// CHECK: linalg.generic {{.+}} ins(%[[B]] : tensor<f32>)
// CHECK: arith.cmpf oeq
// CHECK: arith.select
func.func @all_finite(%a: tensor<3x4xf32>, %b: tensor<3xf32>) -> tensor<f32> {
  %ok = nn.all_finite %a, %b : tensor<3x4xf32>, tensor<3xf32> -> tensor<f32>
  return %ok : tensor<f32>
}

// nn.select: the whole tensor from one side (cmpf une: a NaN condition
// counts as set, as any non-zero).
// CHECK-LABEL: func.func @select
// CHECK: linalg.generic {{.+}} ins(%arg0, %arg1, %arg2 : tensor<f32>, tensor<3xf32>, tensor<3xf32>)
// CHECK: arith.cmpf une
// CHECK: arith.select
func.func @select(%c: tensor<f32>, %a: tensor<3xf32>, %b: tensor<3xf32>) -> tensor<3xf32> {
  %r = nn.select %c, %a, %b : tensor<f32>, tensor<3xf32>
  return %r : tensor<3xf32>
}

// nn.loss_scale_update: two rank-0 maps (the scale, the count).
// CHECK-LABEL: func.func @update
// CHECK: %[[S:.+]] = linalg.generic {{.+}} ins(%arg0, %arg1, %arg2 : tensor<f32>, tensor<f32>, tensor<f32>)
// CHECK-DAG: arith.constant 2.000000e+00 : f32
// CHECK-DAG: arith.constant 5.000000e-01 : f32
// CHECK-DAG: arith.constant 3.000000e+00 : f32
// CHECK-DAG: arith.constant 0x7F800000 : f32
// CHECK: %[[N:.+]] = linalg.generic {{.+}} ins(%arg0, %arg1, %arg2 : tensor<f32>, tensor<f32>, tensor<f32>)
// CHECK: return %[[S]], %[[N]]
func.func @update(%ok: tensor<f32>, %s: tensor<f32>, %n: tensor<f32>) -> (tensor<f32>, tensor<f32>) {
  %s2, %n2 = nn.loss_scale_update %ok, %s, %n {growth_factor = 2.0, backoff_factor = 0.5, growth_interval = 3 : i64} : tensor<f32>
  return %s2, %n2 : tensor<f32>, tensor<f32>
}
