// RUN: nnc-opt %s --convert-nn-to-linalg --nnc-verify-no-nn | FileCheck %s

// CHECK-DAG: #[[BCAST:.+]] = affine_map<(d0, d1) -> (d1)>
// CHECK-DAG: #[[ID2:.+]] = affine_map<(d0, d1) -> (d0, d1)>
// CHECK-DAG: #[[MK:.+]] = affine_map<(d0, d1, d2) -> (d0, d2)>
// CHECK-DAG: #[[NK:.+]] = affine_map<(d0, d1, d2) -> (d1, d2)>
// CHECK-DAG: #[[MN:.+]] = affine_map<(d0, d1, d2) -> (d0, d1)>
// CHECK-DAG: #[[KM:.+]] = affine_map<(d0, d1, d2) -> (d1, d0)>

// nn.linear: the bias is broadcast into the accumulator, then x · Wᵀ.
// CHECK-LABEL: func.func @linear
// CHECK-SAME: (%[[X:.+]]: tensor<8x4xf32>, %[[W:.+]]: tensor<3x4xf32>, %[[B:.+]]: tensor<3xf32>)
// CHECK: %[[INIT:.+]] = linalg.generic {indexing_maps = [#[[BCAST]], #[[ID2]]], iterator_types = ["parallel", "parallel"]} ins(%[[B]] : tensor<3xf32>)
// CHECK: linalg.generic {indexing_maps = [#[[MK]], #[[NK]], #[[MN]]], iterator_types = ["parallel", "parallel", "reduction"]} ins(%[[X]], %[[W]] : tensor<8x4xf32>, tensor<3x4xf32>) outs(%[[INIT]] : tensor<8x3xf32>)
// CHECK: arith.mulf
// CHECK: arith.addf
func.func @linear(%x: tensor<8x4xf32>, %w: tensor<3x4xf32>, %b: tensor<3xf32>) -> tensor<8x3xf32> {
  %y = nn.linear %x, %w, %b : (tensor<8x4xf32>, tensor<3x4xf32>, tensor<3xf32>) -> tensor<8x3xf32>
  return %y : tensor<8x3xf32>
}

// Without a transposed rhs the loops nest (m, k, n): the innermost loop
// streams rhs and out row-major and carries no reduction.
// CHECK-LABEL: func.func @matmul_t
// CHECK: linalg.fill
// CHECK: linalg.generic {indexing_maps = [#[[KM]], #[[NK]], #[[MK]]], iterator_types = ["parallel", "reduction", "parallel"]}
func.func @matmul_t(%a: tensor<8x3xf32>, %b: tensor<8x4xf32>) -> tensor<3x4xf32> {
  %c = nn.matmul %a, %b {transpose_lhs} : (tensor<8x3xf32>, tensor<8x4xf32>) -> tensor<3x4xf32>
  return %c : tensor<3x4xf32>
}

// An activation a producer may fuse says what it is (nn.epilogue).
// CHECK-LABEL: func.func @relu
// CHECK: linalg.generic
// CHECK-SAME: attrs = {nn.epilogue = #nn.epilogue<relu>}
// CHECK: arith.cmpf ogt
// CHECK: arith.select
func.func @relu(%x: tensor<8x4xf32>) -> tensor<8x4xf32> {
  %y = nn.relu %x : tensor<8x4xf32>
  return %y : tensor<8x4xf32>
}

// CHECK-LABEL: func.func @leaky_relu
// CHECK: linalg.generic
// CHECK-SAME: attrs = {nn.epilogue = #nn.epilogue<leaky_relu, 1.000000e-01 : f32>}
// CHECK: arith.cmpf ogt
// CHECK: arith.mulf %{{.+}}, %{{.+}} : f32
// CHECK: arith.select
func.func @leaky_relu(%x: tensor<8x4xf32>) -> tensor<8x4xf32> {
  %y = nn.leaky_relu %x {alpha = 0.1 : f32} : tensor<8x4xf32>
  return %y : tensor<8x4xf32>
}

// GELU and its gradient through math.erf (libm's erff once lowered).
// CHECK-LABEL: func.func @gelu
// CHECK: linalg.generic
// CHECK: math.erf
// CHECK-LABEL: func.func @gelu_grad
// CHECK: linalg.generic
// CHECK-DAG: math.erf
// CHECK-DAG: math.exp
func.func @gelu(%x: tensor<8x4xf32>) -> tensor<8x4xf32> {
  %y = nn.gelu %x : tensor<8x4xf32>
  return %y : tensor<8x4xf32>
}
func.func @gelu_grad(%x: tensor<8x4xf32>, %dy: tensor<8x4xf32>) -> tensor<8x4xf32> {
  %y = nn.gelu_grad %x, %dy : tensor<8x4xf32>
  return %y : tensor<8x4xf32>
}

// The dropout mask is a hash of (seed, row-major index): no state, no call.
// CHECK-LABEL: func.func @dropout
// CHECK: linalg.generic
// CHECK: linalg.index 0
// CHECK: linalg.index 1
// CHECK: arith.muli
// CHECK: arith.shrui
// CHECK: arith.cmpf oge
// CHECK-NOT: func.call
func.func @dropout(%x: tensor<8x4xf32>) -> tensor<8x4xf32> {
  %y = nn.dropout %x {rate = 0.5 : f32, seed = 3 : i64} : tensor<8x4xf32>
  return %y : tensor<8x4xf32>
}

// Cross-entropy: row max, row sum of exp, the labelled logit, then the mean.
// CHECK-LABEL: func.func @xent
// CHECK: arith.maximumf
// CHECK: math.exp
// CHECK: linalg.index 1
// CHECK: arith.index_cast
// CHECK: math.log
// CHECK: arith.constant 1.250000e-01 : f32
func.func @xent(%z: tensor<8x10xf32>, %l: tensor<8xi32>) -> tensor<f32> {
  %r = nn.cross_entropy %z, %l : (tensor<8x10xf32>, tensor<8xi32>) -> tensor<f32>
  return %r : tensor<f32>
}

// CHECK-LABEL: func.func @mse
// CHECK: iterator_types = ["reduction", "reduction"]
// CHECK: arith.constant 3.125000e-02 : f32
func.func @mse(%a: tensor<8x4xf32>, %b: tensor<8x4xf32>) -> tensor<f32> {
  %r = nn.mse_loss %a, %b : (tensor<8x4xf32>, tensor<8x4xf32>) -> tensor<f32>
  return %r : tensor<f32>
}

// The fused update accumulates -lr times the product onto a copy of w.
// CHECK-LABEL: func.func @sgd_matmul
// CHECK: %[[COPY:.+]] = linalg.copy ins(%arg0 : tensor<3x4xf32>)
// CHECK: %[[NEG:.+]] = linalg.generic {{.+}} ins(%arg3 : tensor<f32>)
// CHECK: arith.negf
// CHECK: linalg.generic
// CHECK-SAME: ins(%arg1, %arg2, %[[NEG]] : tensor<8x3xf32>, tensor<8x4xf32>, tensor<f32>) outs(%[[COPY]] : tensor<3x4xf32>)
// CHECK: %[[P:.+]] = arith.mulf
// CHECK: %[[S:.+]] = arith.mulf %[[P]], %{{.+}}
// CHECK: arith.addf %{{.+}}, %[[S]]
func.func @sgd_matmul(%w: tensor<3x4xf32>, %dy: tensor<8x3xf32>, %x: tensor<8x4xf32>, %lr: tensor<f32>) -> tensor<3x4xf32> {
  %0 = nn.sgd_matmul %w, %dy, %x, %lr {transpose_lhs} : (tensor<3x4xf32>, tensor<8x3xf32>, tensor<8x4xf32>, tensor<f32>) -> tensor<3x4xf32>
  return %0 : tensor<3x4xf32>
}

// SGD reads the learning rate from a rank-0 tensor, broadcast: w - lr·g.
// CHECK-LABEL: func.func @sgd
// CHECK: linalg.generic {indexing_maps = [#{{.+}}, #{{.+}}, #[[SCALAR:.+]], #{{.+}}], iterator_types = ["parallel", "parallel"]} ins(%arg0, %arg1, %arg2 : tensor<8x3xf32>, tensor<8x3xf32>, tensor<f32>)
// CHECK: ^bb0(%[[W:.+]]: f32, %[[G:.+]]: f32, %[[LR:.+]]: f32, %{{.+}}: f32):
// CHECK-NEXT: %[[S:.+]] = arith.mulf %[[LR]], %[[G]] : f32
// CHECK-NEXT: %[[R:.+]] = arith.subf %[[W]], %[[S]] : f32
// CHECK-NEXT: linalg.yield %[[R]]
func.func @sgd(%w: tensor<8x3xf32>, %g: tensor<8x3xf32>, %lr: tensor<f32>) -> tensor<8x3xf32> {
  %r = nn.sgd %w, %g, %lr : tensor<8x3xf32>
  return %r : tensor<8x3xf32>
}

// Nesterov momentum: one generic, two outputs (w', v').
// CHECK-LABEL: func.func @momentum
// CHECK: %[[R:.+]]:2 = linalg.generic
// CHECK: ^bb0(%[[W:.+]]: f32, %[[G:.+]]: f32, %[[V:.+]]: f32, %[[LR:.+]]: f32, %{{.+}}: f32, %{{.+}}: f32):
// CHECK: %[[MU:.+]] = arith.constant 0.899999976 : f32
// CHECK: %[[MV:.+]] = arith.mulf %[[MU]], %[[V]]
// CHECK: %[[V2:.+]] = arith.addf %[[MV]], %[[G]]
// CHECK: %[[MV2:.+]] = arith.mulf %[[MU]], %[[V2]]
// CHECK: %[[D:.+]] = arith.addf %[[G]], %[[MV2]]
// CHECK: %[[STEP:.+]] = arith.mulf %[[LR]], %[[D]]
// CHECK: %[[W2:.+]] = arith.subf %[[W]], %[[STEP]]
// CHECK: linalg.yield %[[W2]], %[[V2]]
// CHECK: return %[[R]]#0, %[[R]]#1
func.func @momentum(%w: tensor<8x3xf32>, %g: tensor<8x3xf32>, %v: tensor<8x3xf32>, %lr: tensor<f32>) -> (tensor<8x3xf32>, tensor<8x3xf32>) {
  %r, %rv = nn.momentum_update %w, %g, %v, %lr {momentum = 0.9, nesterov} : tensor<8x3xf32>
  return %r, %rv : tensor<8x3xf32>, tensor<8x3xf32>
}

// Adam: the bias corrections once, in f64, then one elementwise generic
// with three outputs (w', m', v').
// CHECK-LABEL: func.func @adam
// CHECK: %[[C:.+]]:2 = linalg.generic {{.+}} iterator_types = []} ins(%arg4, %arg5 : tensor<f32>, tensor<f32>)
// CHECK: math.powf %{{.+}}, %{{.+}} : f64
// CHECK: math.powf %{{.+}}, %{{.+}} : f64
// CHECK: arith.truncf %{{.+}} : f64 to f32
// CHECK: %{{.+}}:3 = linalg.generic {{.+}} ins(%arg0, %arg1, %arg2, %arg3, %[[C]]#0, %[[C]]#1 :
// CHECK: math.sqrt %{{.+}} : f32
func.func @adam(%w: tensor<8x3xf32>, %g: tensor<8x3xf32>, %m: tensor<8x3xf32>, %v: tensor<8x3xf32>, %lr: tensor<f32>, %t: tensor<f32>) -> tensor<8x3xf32> {
  %r, %rm, %rv = nn.adam_update %w, %g, %m, %v, %lr, %t {beta1 = 0.9, beta2 = 0.999, eps = 1.0e-8} : tensor<8x3xf32>
  return %r : tensor<8x3xf32>
}

// LARS: two f64 sums of squares (‖w‖², ‖g‖²), the layer's rate lr·trust
// from them (trust in f64, 1 when a norm is 0), then one elementwise generic
// with two outputs (w', v').
// CHECK-LABEL: func.func @lars
// CHECK: %[[W2:.+]] = linalg.generic {{.+}} iterator_types = ["reduction", "reduction"]} ins(%arg0 : tensor<8x3xf32>) outs(%{{.+}} : tensor<f64>)
// CHECK: %[[G2:.+]] = linalg.generic {{.+}} iterator_types = ["reduction", "reduction"]} ins(%arg1 : tensor<8x3xf32>) outs(%{{.+}} : tensor<f64>)
// CHECK: %[[RATE:.+]] = linalg.generic {{.+}} iterator_types = []} ins(%[[W2]], %[[G2]], %arg3 : tensor<f64>, tensor<f64>, tensor<f32>)
// CHECK: arith.constant 1.000000e-03 : f64
// CHECK: arith.select %{{.+}}, %{{.+}}, %{{.+}} : f64
// CHECK: arith.truncf %{{.+}} : f64 to f32
// CHECK: %{{.+}}:2 = linalg.generic {{.+}} ins(%arg0, %arg1, %arg2, %[[RATE]] :
func.func @lars(%w: tensor<8x3xf32>, %g: tensor<8x3xf32>, %v: tensor<8x3xf32>, %lr: tensor<f32>) -> (tensor<8x3xf32>, tensor<8x3xf32>) {
  %r, %rv = nn.lars_update %w, %g, %v, %lr {momentum = 0.9, trust_coefficient = 0.001, weight_decay = 5.0e-4} : tensor<8x3xf32>
  return %r, %rv : tensor<8x3xf32>, tensor<8x3xf32>
}

// LAMB: the bias corrections, the moments (two outputs), ‖w‖² and ‖r‖²
// with r computed from the new moments inside the reduction, the rate, and
// w' from r computed again: no buffer holds r.
// CHECK-LABEL: func.func @lamb
// CHECK: %[[BC:.+]]:2 = linalg.generic {{.+}} iterator_types = []} ins(%arg5 : tensor<f32>)
// CHECK: %[[MV:.+]]:2 = linalg.generic {{.+}} ins(%arg1, %arg2, %arg3 :
// CHECK: %[[W2:.+]] = linalg.generic {{.+}} ins(%arg0 : tensor<8x3xf32>) outs(%{{.+}} : tensor<f64>)
// CHECK: %[[R2:.+]] = linalg.generic {{.+}} ins(%arg0, %[[MV]]#0, %[[MV]]#1, %[[BC]]#0, %[[BC]]#1 : {{.+}}) outs(%{{.+}} : tensor<f64>)
// CHECK: %[[RATE:.+]] = linalg.generic {{.+}} ins(%[[W2]], %[[R2]], %arg4 :
// CHECK: %[[NEW:.+]] = linalg.generic {{.+}} ins(%arg0, %[[MV]]#0, %[[MV]]#1, %[[BC]]#0, %[[BC]]#1, %[[RATE]] :
// CHECK: return %[[NEW]], %[[MV]]#0, %[[MV]]#1
func.func @lamb(%w: tensor<8x3xf32>, %g: tensor<8x3xf32>, %m: tensor<8x3xf32>, %v: tensor<8x3xf32>, %lr: tensor<f32>, %t: tensor<f32>) -> (tensor<8x3xf32>, tensor<8x3xf32>, tensor<8x3xf32>) {
  %r, %rm, %rv = nn.lamb_update %w, %g, %m, %v, %lr, %t {beta1 = 0.9, beta2 = 0.999, eps = 1.0e-6, weight_decay = 0.01} : tensor<8x3xf32>
  return %r, %rm, %rv : tensor<8x3xf32>, tensor<8x3xf32>, tensor<8x3xf32>
}

// The norm sums squares in an f64 accumulator over all dimensions (loops in
// row-major order), then takes the root in f64.
// CHECK-LABEL: func.func @norm
// CHECK: linalg.fill ins(%{{.+}} : f64) outs(%{{.+}} : tensor<f64>)
// CHECK: iterator_types = ["reduction", "reduction"]
// CHECK: arith.extf %{{.+}} : f32 to f64
// CHECK: math.sqrt %{{.+}} : f64
// CHECK: arith.truncf %{{.+}} : f64 to f32
func.func @norm(%g: tensor<8x3xf32>) -> tensor<f32> {
  %n = nn.norm %g : tensor<8x3xf32> -> tensor<f32>
  return %n : tensor<f32>
}
