// RUN: nnc-opt %s | nnc-opt | FileCheck %s
// RUN: nnc-opt %s --mlir-print-op-generic | nnc-opt | FileCheck %s

// The typed attributes passes hand each other print and parse, so a lit
// test (or a user) can write a checkpoint plan by hand: only strategy,
// stages and schedule are needed; the figures default to 0 and print in a
// fixed order.

// CHECK-LABEL: func.func @planned
// CHECK-SAME: nn.checkpoint = #nn.checkpoint_plan<strategy = dp, budget = 2300, stages = 2, schedule = [F_ck 1, F_n 2, Discard a 1, Discard abar 2, F_all 1, B 1], cost_unit = second, peak_bytes = 96, compute_cost = 1.500000e+00, recompute_cost = 0.000000e+00, forward_steps = 3, store_all_peak_bytes = 0, store_all_cost = 0.000000e+00, min_budget_bytes = 0, compute_flops = 0.000000e+00, recompute_flops = 0.000000e+00, store_all_flops = 0.000000e+00>
// CHECK-SAME: nn.entry = #nn.entry<train_step>
func.func @planned() attributes {
    nn.entry = #nn.entry<train_step>,
    nn.checkpoint = #nn.checkpoint_plan<schedule = [F_ck 1, F_n 2, Discard a 1, Discard abar 2, F_all 1, B 1],
                                        forward_steps = 3, stages = 2, strategy = dp, budget = 2300,
                                        cost_unit = second, compute_cost = 1.5, peak_bytes = 96>} {
  return
}

// CHECK-LABEL: func.func @store_all
// CHECK-SAME: #nn.checkpoint_plan<strategy = store_all, stages = 1, schedule = [F_all 1, B 1], cost_unit = flop
// CHECK-NOT: , budget =
func.func @store_all() attributes {nn.checkpoint = #nn.checkpoint_plan<strategy = store_all, stages = 1, schedule = [F_all 1, B 1]>} {
  return
}

// The fused-updates decision prints when set, last.
// CHECK-LABEL: func.func @fused
// CHECK-SAME: store_all_flops = 0.000000e+00, fused_updates = true>
func.func @fused() attributes {nn.checkpoint = #nn.checkpoint_plan<fused_updates = true, strategy = store_all, stages = 1, schedule = [F_all 1, B 1]>} {
  return
}

// An epilogue, with leaky relu's slope.
// CHECK-LABEL: func.func @epilogues
// CHECK: nn.epilogue = #nn.epilogue<relu>
// CHECK: nn.epilogue = #nn.epilogue<leaky_relu, 2.500000e-01 : f32>
func.func @epilogues(%x: f32) -> f32 {
  %a = arith.negf %x {nn.epilogue = #nn.epilogue<relu>} : f32
  %b = arith.negf %a {nn.epilogue = #nn.epilogue<leaky_relu, 0.25 : f32>} : f32
  return %b : f32
}

// Argument names and roles.
// CHECK-LABEL: func.func @named
// CHECK-SAME: nn.name = "W1", nn.param
// CHECK-SAME: nn.entry = #nn.entry<predict>
func.func @named(%w: tensor<3x4xf32> {nn.param, nn.name = "W1"}) attributes {nn.entry = #nn.entry<predict>} {
  return
}
