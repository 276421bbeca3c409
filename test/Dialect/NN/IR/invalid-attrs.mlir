// RUN: nnc-opt %s -split-input-file -verify-diagnostics

// The dialect verifies every nn.* attribute wherever it appears.

// expected-error @+1 {{argument #0 is marked 'nn.param' but has type 'tensor<4xi32>'; a parameter must be a statically shaped f32 tensor}}
func.func @param_int(%w: tensor<4xi32> {nn.param}) {
  return
}

// -----

// expected-error @+1 {{argument #0 is marked 'nn.param' but has type 'tensor<?x4xf32>'}}
func.func @param_dynamic(%w: tensor<?x4xf32> {nn.param}) {
  return
}

// -----

// expected-error @+1 {{argument #0 is marked 'nn.param' but has type 'index'}}
func.func @param_index(%w: index {nn.param}) {
  return
}

// -----

// expected-error @+1 {{argument #0 is marked 'nn.param' but has type 'tensor<*xf32>'}}
func.func @param_unranked(%w: tensor<*xf32> {nn.param}) {
  return
}

// -----

// expected-error @+1 {{'nn.param' must be a unit attribute}}
func.func @param_value(%w: tensor<4xf32> {nn.param = 3 : i64}) {
  return
}

// -----

// expected-error @+1 {{unknown nn dialect argument attribute 'nn.weight'}}
func.func @unknown_arg_attr(%w: tensor<4xf32> {nn.weight}) {
  return
}

// -----

// expected-error @+1 {{'nn.name' must be a string}}
func.func @name_not_string(%w: tensor<4xf32> {nn.name = 1 : i64}) {
  return
}

// -----

func.func @stage_negative(%x: tensor<4xf32>) -> tensor<4xf32> {
  // expected-error @+1 {{'nn.stage' must be a positive i64 stage number, got -1 : i64}}
  %0 = nn.relu %x {nn.stage = -1 : i64} : tensor<4xf32>
  return %0 : tensor<4xf32>
}

// -----

func.func @stage_float(%x: tensor<4xf32>) -> tensor<4xf32> {
  // expected-error @+1 {{'nn.stage' must be a positive i64 stage number, got 1.500000e+00 : f32}}
  %0 = nn.relu %x {nn.stage = 1.5 : f32} : tensor<4xf32>
  return %0 : tensor<4xf32>
}

// -----

func.func @unknown_op_attr(%x: tensor<4xf32>) -> tensor<4xf32> {
  // expected-error @+1 {{unknown nn dialect attribute 'nn.stag'}}
  %0 = nn.relu %x {nn.stag = 1 : i64} : tensor<4xf32>
  return %0 : tensor<4xf32>
}

// -----

// expected-error @+1 {{'nn.checkpoint' must be an #nn.checkpoint_plan<...>, got {schedule = ["F_all 1"]}}}
func.func @untyped_plan() attributes {nn.checkpoint = {schedule = ["F_all 1"]}} {
  return
}

// -----

// expected-error @+1 {{'nn.entry' must be an #nn.entry<...> role, got "grad"}}
func.func @entry_string() attributes {nn.entry = "grad"} {
  return
}

// -----

// expected-error @+1 {{'nn.arena_bytes' must be a non-negative i64 byte count, got -8 : i64}}
func.func @arena_negative() attributes {nn.arena_bytes = -8 : i64} {
  return
}

// -----

func.func @grad_of_on_op(%x: tensor<4xf32>) -> tensor<4xf32> {
  // expected-error @+1 {{'nn.grad_of' is only valid on functions}}
  %0 = nn.relu %x {nn.grad_of = @f} : tensor<4xf32>
  return %0 : tensor<4xf32>
}

// -----

// expected-error @+1 {{checkpoint plan action #1 (B 3) names a stage outside [1, 2]}}
func.func @plan_stage_range() attributes {nn.checkpoint = #nn.checkpoint_plan<strategy = dp, stages = 2, schedule = [F_all 1, B 3]>} {
  return
}

// -----

// expected-error @+1 {{checkpoint plan needs at least one stage, got 0}}
func.func @plan_no_stage() attributes {nn.checkpoint = #nn.checkpoint_plan<strategy = dp, stages = 0, schedule = []>} {
  return
}

// -----

// expected-error @+1 {{checkpoint plan needs 'strategy', 'stages' and 'schedule'}}
func.func @plan_missing() attributes {nn.checkpoint = #nn.checkpoint_plan<strategy = dp, stages = 2>} {
  return
}

// -----

// expected-error @+1 {{'stages' appears twice}}
func.func @plan_duplicate() attributes {nn.checkpoint = #nn.checkpoint_plan<strategy = dp, stages = 2, stages = 3, schedule = [F_all 1]>} {
  return
}

// -----

// expected-error @+1 {{unknown checkpoint plan field 'peak'}}
func.func @plan_unknown_field() attributes {nn.checkpoint = #nn.checkpoint_plan<strategy = dp, stages = 1, schedule = [F_all 1], peak = 3>} {
  return
}

// -----

// expected-error @+1 {{unknown checkpoint action 'F_sometimes' (expected F_ck, F_n, F_all, B or Discard)}}
func.func @plan_unknown_action() attributes {nn.checkpoint = #nn.checkpoint_plan<strategy = dp, stages = 1, schedule = [F_sometimes 1]>} {
  return
}

// -----

// expected-error @+1 {{a Discard frees 'a' or 'abar', not 'delta'}}
func.func @plan_discard_delta() attributes {nn.checkpoint = #nn.checkpoint_plan<strategy = dp, stages = 1, schedule = [Discard delta 1]>} {
  return
}

// -----

// expected-error @+1 {{unknown checkpoint strategy 'revolve' (expected store_all, recompute_all, sqrt, chen or dp)}}
func.func @plan_unknown_strategy() attributes {nn.checkpoint = #nn.checkpoint_plan<strategy = revolve, stages = 1, schedule = [F_all 1, B 1]>} {
  return
}

// -----

// expected-error @+1 {{checkpoint plan costs must be finite and not negative, got -1.000000e+00}}
func.func @plan_negative_cost() attributes {nn.checkpoint = #nn.checkpoint_plan<strategy = dp, stages = 1, schedule = [F_all 1, B 1], compute_cost = -1.0>} {
  return
}

// -----

// expected-error @+1 {{'fused_updates' is true or false, not 'yes'}}
func.func @plan_fused_word() attributes {nn.checkpoint = #nn.checkpoint_plan<strategy = dp, stages = 1, schedule = [F_all 1, B 1], fused_updates = yes>} {
  return
}

// -----

func.func @epilogue_slope(%x: f32) -> f32 {
  // expected-error @+1 {{an epilogue has a slope exactly when it is leaky_relu}}
  %a = arith.negf %x {nn.epilogue = #nn.epilogue<relu, 0.5 : f32>} : f32
  return %a : f32
}

// -----

func.func @epilogue_untyped(%x: f32) -> f32 {
  // expected-error @+1 {{'nn.epilogue' must be an #nn.epilogue<...>, got "relu"}}
  %a = arith.negf %x {nn.epilogue = "relu"} : f32
  return %a : f32
}
