// RUN: nnc-opt %s --nnc-autodiff --split-input-file | FileCheck %s
// RUN: nnc-opt %s --nnc-autodiff="learning-rate=0.5" --split-input-file | FileCheck %s --check-prefix=SGD
// RUN: nnc-opt %s --nnc-autodiff="optimizer=nesterov momentum=0.8 grad-norms" --split-input-file | FileCheck %s --check-prefix=MOM
// RUN: nnc-opt %s --nnc-autodiff="optimizer=adam weight-decay=0.01" --split-input-file | FileCheck %s --check-prefix=ADAM
// RUN: nnc-opt %s --nnc-autodiff="optimizer=adamw weight-decay=1 beta2=0.98" --split-input-file | FileCheck %s --check-prefix=ADAMW
// RUN: nnc-opt %s --nnc-autodiff="optimizer=lars trust-coefficient=0.02 weight-decay=0.001" --split-input-file | FileCheck %s --check-prefix=LARS
// RUN: nnc-opt %s --nnc-autodiff="optimizer=lamb eps=1e-6" --split-input-file | FileCheck %s --check-prefix=LAMB

// A two-layer MLP: the backward runs in reverse layer order, bias gradients
// are batch sums, and the gradient of the input batch is never built.

// CHECK-LABEL: func.func @mlp(
// CHECK-LABEL: func.func @mlp_grad(
// CHECK-SAME: %[[X:.+]]: tensor<4x3xf32>, %[[L:.+]]: tensor<4xi32>, %[[W1:.+]]: tensor<5x3xf32> {nn.param}, %[[B1:.+]]: tensor<5xf32> {nn.param}, %[[W2:.+]]: tensor<2x5xf32> {nn.param}, %[[B2:.+]]: tensor<2xf32> {nn.param})
// CHECK-SAME: -> (tensor<f32> {nn.name = "loss"}, tensor<5x3xf32> {nn.name = "grad_param0"}, tensor<5xf32> {nn.name = "grad_param1"}, tensor<2x5xf32> {nn.name = "grad_param2"}, tensor<2xf32> {nn.name = "grad_param3"})
// CHECK-SAME: attributes {nn.entry = #nn.entry<grad>, nn.grad_of = @mlp}
// CHECK: %[[H:.+]] = nn.linear %[[X]], %[[W1]], %[[B1]]
// CHECK: %[[A:.+]] = nn.relu %[[H]]
// CHECK: %[[Z:.+]] = nn.linear %[[A]], %[[W2]], %[[B2]]
// CHECK: %[[LOSS:.+]] = nn.cross_entropy %[[Z]], %[[L]]
// CHECK: %[[ONE:.+]] = arith.constant {nn.grad_seed} dense<1.000000e+00> : tensor<f32>
// CHECK: %[[DZ:.+]] = nn.cross_entropy_grad %[[Z]], %[[L]], %[[ONE]]
// CHECK: %[[DA:.+]] = nn.matmul %[[DZ]], %[[W2]] :
// CHECK: %[[DW2:.+]] = nn.matmul %[[DZ]], %[[A]] {transpose_lhs}
// CHECK: %[[DB2:.+]] = nn.reduce_sum %[[DZ]] {dim = 0 : i64}
// CHECK: %[[DH:.+]] = nn.relu_grad %[[A]], %[[DA]]
// CHECK-NOT: nn.matmul %[[DH]], %[[W1]]
// CHECK: %[[DW1:.+]] = nn.matmul %[[DH]], %[[X]] {transpose_lhs}
// CHECK: %[[DB1:.+]] = nn.reduce_sum %[[DH]] {dim = 0 : i64}
// CHECK: return %[[LOSS]], %[[DW1]], %[[DB1]], %[[DW2]], %[[DB2]]

// A fixed learning rate is a constant operand; the step's signature is the
// model's.
// SGD-LABEL: func.func @mlp_train_step(
// SGD-SAME: %arg5: tensor<2xf32> {nn.param})
// SGD-SAME: -> (tensor<f32> {nn.name = "loss"}, tensor<5x3xf32> {nn.name = "new_param0"}, tensor<5xf32> {nn.name = "new_param1"}, tensor<2x5xf32> {nn.name = "new_param2"}, tensor<2xf32> {nn.name = "new_param3"})
// SGD-SAME: attributes {nn.entry = #nn.entry<train_step>, nn.grad_of = @mlp}
// SGD: %[[DW1:.+]] = nn.matmul %{{.+}}, %[[X:arg0]] {transpose_lhs}
// SGD: %[[LR:.+]] = arith.constant dense<5.000000e-01> : tensor<f32>
// SGD: nn.sgd %arg2, %[[DW1]], %[[LR]] : tensor<5x3xf32>
// SGD-COUNT-3: nn.sgd {{.+}}, %[[LR]] :
// SGD: return

// A run-time learning rate is the step's trailing input 'lr'; momentum's
// velocities come before it, one per parameter, and are returned after the
// parameters; the gradient norms come last.
// MOM-LABEL: func.func @mlp_train_step(
// MOM-SAME: %arg5: tensor<2xf32> {nn.param}, %arg6: tensor<5x3xf32> {nn.name = "param0_velocity", nn.state}, %arg7: tensor<5xf32> {nn.name = "param1_velocity", nn.state}, %arg8: tensor<2x5xf32> {nn.name = "param2_velocity", nn.state}, %arg9: tensor<2xf32> {nn.name = "param3_velocity", nn.state}, %arg10: tensor<f32> {nn.name = "lr"})
// MOM-SAME: -> (tensor<f32> {nn.name = "loss"}, tensor<5x3xf32> {nn.name = "new_param0"}, tensor<5xf32> {nn.name = "new_param1"}, tensor<2x5xf32> {nn.name = "new_param2"}, tensor<2xf32> {nn.name = "new_param3"}, tensor<5x3xf32> {nn.name = "new_param0_velocity"}, tensor<5xf32> {nn.name = "new_param1_velocity"}, tensor<2x5xf32> {nn.name = "new_param2_velocity"}, tensor<2xf32> {nn.name = "new_param3_velocity"}, tensor<f32> {nn.name = "grad_norm_param0"}, tensor<f32> {nn.name = "grad_norm_param1"}, tensor<f32> {nn.name = "grad_norm_param2"}, tensor<f32> {nn.name = "grad_norm_param3"})
// MOM: %[[DW1:.+]] = nn.matmul %{{.+}}, %arg0 {transpose_lhs}
// MOM: %[[N1:.+]] = nn.norm %[[DW1]] : tensor<5x3xf32> -> tensor<f32>
// MOM-NEXT: %[[W1:.+]], %[[V1:.+]] = nn.momentum_update %arg2, %[[DW1]], %arg6, %arg10 {momentum = 8.000000e-01 : f64, nesterov} : tensor<5x3xf32>
// MOM: return %{{.+}}, %[[W1]], %{{.+}}, %{{.+}}, %{{.+}}, %[[V1]], %{{.+}}, %{{.+}}, %{{.+}}, %[[N1]],

// Adam: its moments m then v per parameter, then lr, then the step count.
// ADAM-LABEL: func.func @mlp_train_step(
// ADAM-SAME: %arg6: tensor<5x3xf32> {nn.name = "param0_m", nn.state}, %arg7: tensor<5x3xf32> {nn.name = "param0_v", nn.state},
// ADAM-SAME: %arg14: tensor<f32> {nn.name = "lr"}, %arg15: tensor<f32> {nn.name = "step"})
// ADAM: nn.adam_update %arg2, %{{.+}}, %arg6, %arg7, %arg14, %arg15 {beta1 = 9.000000e-01 : f64, beta2 = 0.99899999999999999 : f64, eps = 1.000000e-08 : f64, weight_decay = 1.000000e-02 : f64} : tensor<5x3xf32>
// ADAM-COUNT-3: nn.adam_update
// ADAM-NOT: nn.norm
// LARS has a velocity per parameter, like momentum; LAMB has Adam's moments
// and step count.
// LARS-LABEL: func.func @mlp_train_step(
// LARS-SAME: %arg6: tensor<5x3xf32> {nn.name = "param0_velocity", nn.state}
// LARS-SAME: %arg10: tensor<f32> {nn.name = "lr"})
// LARS: nn.lars_update %arg2, %{{.+}}, %arg6, %arg10 {momentum = 9.000000e-01 : f64, trust_coefficient = 2.000000e-02 : f64, weight_decay = 1.000000e-03 : f64} : tensor<5x3xf32>
// LARS-COUNT-3: nn.lars_update
// LAMB-LABEL: func.func @mlp_train_step(
// LAMB-SAME: %arg6: tensor<5x3xf32> {nn.name = "param0_m", nn.state}, %arg7: tensor<5x3xf32> {nn.name = "param0_v", nn.state},
// LAMB-SAME: %arg14: tensor<f32> {nn.name = "lr"}, %arg15: tensor<f32> {nn.name = "step"})
// LAMB: nn.lamb_update %arg2, %{{.+}}, %arg6, %arg7, %arg14, %arg15 {beta1 = 9.000000e-01 : f64, beta2 = 0.99899999999999999 : f64, eps = 9.9999999999999995E-7 : f64} : tensor<5x3xf32>
// LAMB-COUNT-3: nn.lamb_update
func.func @mlp(%x: tensor<4x3xf32>, %labels: tensor<4xi32>,
               %w1: tensor<5x3xf32> {nn.param}, %b1: tensor<5xf32> {nn.param},
               %w2: tensor<2x5xf32> {nn.param}, %b2: tensor<2xf32> {nn.param}) -> tensor<f32> {
  %h = nn.linear %x, %w1, %b1 : (tensor<4x3xf32>, tensor<5x3xf32>, tensor<5xf32>) -> tensor<4x5xf32>
  %a = nn.relu %h : tensor<4x5xf32>
  %z = nn.linear %a, %w2, %b2 : (tensor<4x5xf32>, tensor<2x5xf32>, tensor<2xf32>) -> tensor<4x2xf32>
  %l = nn.cross_entropy %z, %labels : (tensor<4x2xf32>, tensor<4xi32>) -> tensor<f32>
  return %l : tensor<f32>
}

// -----

// A value used twice (a skip connection) gets its gradients summed; sigmoid
// and tanh differentiate through their outputs.

// CHECK-LABEL: func.func @skip_grad(
// CHECK: %[[H:.+]] = nn.linear
// CHECK: %[[S:.+]] = nn.sigmoid %[[H]]
// CHECK: %[[T:.+]] = nn.tanh %[[S]]
// CHECK: %[[R:.+]] = nn.add %[[T]], %[[H]]
// CHECK: %[[DR:.+]] = nn.mse_loss_grad %[[R]]
// CHECK: %[[DS:.+]] = nn.tanh_grad %[[T]], %[[DR]]
// CHECK: %[[DH1:.+]] = nn.sigmoid_grad %[[S]], %[[DS]]
// CHECK: %[[DH:.+]] = nn.add %[[DR]], %[[DH1]]
// CHECK: nn.matmul %[[DH]], %{{.+}} {transpose_lhs}
func.func @skip(%x: tensor<4x3xf32>, %t: tensor<4x3xf32>, %w: tensor<3x3xf32> {nn.param}) -> tensor<f32> {
  %h = nn.linear %x, %w : (tensor<4x3xf32>, tensor<3x3xf32>) -> tensor<4x3xf32>
  %s = nn.sigmoid %h : tensor<4x3xf32>
  %u = nn.tanh %s : tensor<4x3xf32>
  %r = nn.add %u, %h : tensor<4x3xf32>
  %l = nn.mse_loss %r, %t : (tensor<4x3xf32>, tensor<4x3xf32>) -> tensor<f32>
  return %l : tensor<f32>
}

// -----

// LeakyReLU differentiates through its output, GELU through its input.

// CHECK-LABEL: func.func @act_grad(
// CHECK: %[[H:.+]] = nn.linear
// CHECK: %[[L:.+]] = nn.leaky_relu %[[H]] {alpha = 2.000000e-01 : f32}
// CHECK: %[[G:.+]] = nn.gelu %[[L]]
// CHECK: %[[DG:.+]] = nn.mse_loss_grad %[[G]]
// CHECK: %[[DL:.+]] = nn.gelu_grad %[[L]], %[[DG]]
// CHECK: nn.leaky_relu_grad %[[L]], %[[DL]] {alpha = 2.000000e-01 : f32}
func.func @act(%x: tensor<4x3xf32>, %t: tensor<4x3xf32>, %w: tensor<3x3xf32> {nn.param}) -> tensor<f32> {
  %h = nn.linear %x, %w : (tensor<4x3xf32>, tensor<3x3xf32>) -> tensor<4x3xf32>
  %l = nn.leaky_relu %h {alpha = 0.2 : f32} : tensor<4x3xf32>
  %g = nn.gelu %l : tensor<4x3xf32>
  %loss = nn.mse_loss %g, %t : (tensor<4x3xf32>, tensor<4x3xf32>) -> tensor<f32>
  return %loss : tensor<f32>
}

// -----

// Dropout's gradient is the same dropout (same seed) of the incoming gradient.

// CHECK-LABEL: func.func @drop_grad(
// CHECK: nn.dropout %{{.+}} {rate = 2.500000e-01 : f32, seed = 9 : i64}
// CHECK: %[[DY:.+]] = nn.mse_loss_grad
// CHECK: nn.dropout %[[DY]] {rate = 2.500000e-01 : f32, seed = 9 : i64}
func.func @drop(%x: tensor<4x3xf32>, %t: tensor<4x3xf32>, %w: tensor<3x3xf32> {nn.param}) -> tensor<f32> {
  %h = nn.linear %x, %w : (tensor<4x3xf32>, tensor<3x3xf32>) -> tensor<4x3xf32>
  %d = nn.dropout %h {rate = 0.25 : f32, seed = 9 : i64} : tensor<4x3xf32>
  %l = nn.mse_loss %d, %t : (tensor<4x3xf32>, tensor<4x3xf32>) -> tensor<f32>
  return %l : tensor<f32>
}

// -----

// A declaration of the gradient function is defined in place, so drivers
// written in MLIR can call it.

// CHECK-LABEL: func.func @m(
// CHECK-LABEL: func.func private @m_grad(
// CHECK: nn.mse_loss_grad
// CHECK-NOT: func.func private @m_grad
func.func private @m_grad(tensor<4x3xf32>, tensor<4x3xf32>, tensor<3x3xf32>) -> (tensor<f32>, tensor<3x3xf32>)
func.func @m(%x: tensor<4x3xf32>, %t: tensor<4x3xf32>, %w: tensor<3x3xf32> {nn.param}) -> tensor<f32> {
  %h = nn.linear %x, %w : (tensor<4x3xf32>, tensor<3x3xf32>) -> tensor<4x3xf32>
  %l = nn.mse_loss %h, %t : (tensor<4x3xf32>, tensor<4x3xf32>) -> tensor<f32>
  return %l : tensor<f32>
}

// -----

// A convolutional network: each op's vector-Jacobian product is its
// gradient ops with the same geometry (max pooling reads its input, the
// reshape is undone); the data's gradient is never built.
// CHECK-LABEL: func.func @cnn_grad(
// CHECK: %[[DZ:.+]] = nn.cross_entropy_grad
// CHECK: %[[DF:.+]] = nn.matmul %[[DZ]], %arg4
// CHECK: %[[DP:.+]] = nn.reshape %[[DF]] : tensor<2x16xf32> -> tensor<2x4x2x2xf32>
// CHECK: %[[DR:.+]] = nn.max_pool2d_grad %[[R:.+]], %[[DP]] {kernel = array<i64: 2, 2>, strides = array<i64: 2, 2>}
// CHECK: %[[DC:.+]] = nn.relu_grad %[[R]], %[[DR]]
// CHECK: nn.conv2d_grad_weight %arg0, %[[DC]] {padding = array<i64: 1, 1, 1, 1>} : (tensor<2x1x4x4xf32>, tensor<2x4x4x4xf32>) -> tensor<4x1x3x3xf32>
// CHECK: nn.channel_sum %[[DC]] : (tensor<2x4x4x4xf32>) -> tensor<4xf32>
// CHECK-NOT: nn.conv2d_grad_input
func.func @cnn(%x: tensor<2x1x4x4xf32>, %labels: tensor<2xi32>,
               %w: tensor<4x1x3x3xf32> {nn.param}, %b: tensor<4xf32> {nn.param},
               %fc: tensor<3x16xf32> {nn.param}) -> tensor<f32> {
  %y = nn.conv2d %x, %w, %b {padding = array<i64: 1, 1, 1, 1>, strides = array<i64: 1, 1>}
      : (tensor<2x1x4x4xf32>, tensor<4x1x3x3xf32>, tensor<4xf32>) -> tensor<2x4x4x4xf32>
  %r = nn.relu %y : tensor<2x4x4x4xf32>
  %p = nn.max_pool2d %r {kernel = array<i64: 2, 2>, strides = array<i64: 2, 2>}
      : (tensor<2x4x4x4xf32>) -> tensor<2x4x2x2xf32>
  %f = nn.reshape %p : tensor<2x4x2x2xf32> -> tensor<2x16xf32>
  %z = nn.linear %f, %fc : (tensor<2x16xf32>, tensor<3x16xf32>) -> tensor<2x3xf32>
  %l = nn.cross_entropy %z, %labels : (tensor<2x3xf32>, tensor<2xi32>) -> tensor<f32>
  return %l : tensor<f32>
}

// -----

// A training-mode batch norm: its gradient ops, and its running statistics
// (arguments marked nn.running_stat, not parameters) updated by pure ops
// placed before it and returned as new_<name> after the parameters.
// CHECK-LABEL: func.func @bn_grad(
// CHECK-SAME: -> (tensor<f32> {nn.name = "loss"}, tensor<3xf32> {nn.name = "grad_gamma"}, tensor<3xf32> {nn.name = "grad_beta"}, tensor<3xf32> {nn.name = "new_rm"}, tensor<3xf32> {nn.name = "new_rv"})
// CHECK: %[[M:.+]] = nn.running_stat_update %arg0, %arg4 {momentum = 1.000000e-01 : f64}
// CHECK: %[[V:.+]] = nn.running_stat_update %arg0, %arg5 {momentum = 1.000000e-01 : f64, variance}
// CHECK: nn.batch_norm %arg0, %arg2, %arg3, %arg4, %arg5 {training}
// CHECK: nn.batch_norm_grad_weight %arg0, %[[DY:.+]] :
// CHECK: nn.channel_sum %[[DY]]
// CHECK-NOT: nn.batch_norm_grad %
// CHECK: return %{{.+}}, %{{.+}}, %{{.+}}, %[[M]], %[[V]]
func.func @bn(%x: tensor<4x3xf32>, %labels: tensor<4xi32>,
              %gamma: tensor<3xf32> {nn.param, nn.name = "gamma"},
              %beta: tensor<3xf32> {nn.param, nn.name = "beta"},
              %rm: tensor<3xf32> {nn.running_stat, nn.name = "rm"},
              %rv: tensor<3xf32> {nn.running_stat, nn.name = "rv"}) -> tensor<f32> {
  %y = nn.batch_norm %x, %gamma, %beta, %rm, %rv {training}
      : (tensor<4x3xf32>, tensor<3xf32>, tensor<3xf32>, tensor<3xf32>, tensor<3xf32>) -> tensor<4x3xf32>
  %l = nn.cross_entropy %y, %labels : (tensor<4x3xf32>, tensor<4xi32>) -> tensor<f32>
  return %l : tensor<f32>
}

// -----

// A transformer block: the gradient of every op is its own grad op (an
// embedding's is a scatter-add, attention's the FlashAttention backward
// reading q, k, v and the output); the tokens and the mask get none.
// CHECK-LABEL: func.func @block_grad
// CHECK-DAG: nn.attention_grad %{{.*}}, %{{.*}}, %{{.*}}, %[[O:.*]], %{{.*}}, %arg6 {causal, scale = 5.000000e-01 : f64}
// CHECK-DAG: nn.layer_norm_grad %{{.*}}, %arg2, %{{.*}} {eps = 1.000000e-05 : f64}
// CHECK-DAG: nn.layer_norm_grad_weight
// CHECK-DAG: nn.slice_grad
// CHECK-DAG: nn.transpose %{{.*}} {permutation = array<i64: 0, 2, 1, 3>}
// CHECK-DAG: nn.embedding_grad %arg0, %{{.*}} : (tensor<2x4xi64>, tensor<2x4x8xf32>) -> tensor<11x8xf32>
// CHECK-DAG: nn.reduce_sum %{{.*}} {dim = 0 : i64} : (tensor<8x8xf32>) -> tensor<8xf32>
// ADAMW-LABEL: func.func @block_train_step
// ADAMW-COUNT-4: nn.adam_update {{.*}}decoupled
func.func @block(%tok: tensor<2x4xi64>, %table: tensor<11x8xf32> {nn.param},
                 %g: tensor<8xf32> {nn.param}, %b: tensor<8xf32> {nn.param},
                 %w: tensor<3x8xf32> {nn.param}, %labels: tensor<2xi64>,
                 %mask: tensor<4x4xf32>) -> tensor<f32> {
  %e = nn.embedding %table, %tok : (tensor<11x8xf32>, tensor<2x4xi64>) -> tensor<2x4x8xf32>
  %n = nn.layer_norm %e, %g, %b : (tensor<2x4x8xf32>, tensor<8xf32>, tensor<8xf32>) -> tensor<2x4x8xf32>
  %h = nn.reshape %n : tensor<2x4x8xf32> -> tensor<2x4x2x4xf32>
  %q = nn.transpose %h {permutation = array<i64: 0, 2, 1, 3>} : (tensor<2x4x2x4xf32>) -> tensor<2x2x4x4xf32>
  %o = nn.attention %q, %q, %q, %mask {scale = 0.5 : f64, causal} : (tensor<2x2x4x4xf32>, tensor<2x2x4x4xf32>, tensor<2x2x4x4xf32>, tensor<4x4xf32>) -> tensor<2x2x4x4xf32>
  %t = nn.transpose %o {permutation = array<i64: 0, 2, 1, 3>} : (tensor<2x2x4x4xf32>) -> tensor<2x4x2x4xf32>
  %m = nn.reshape %t : tensor<2x4x2x4xf32> -> tensor<2x4x8xf32>
  %p = nn.mul %m, %n : tensor<2x4x8xf32>
  %s = nn.scale %p {factor = 0.25 : f64} : tensor<2x4x8xf32>
  %last = nn.slice %s {offsets = array<i64: 0, 3, 0>, sizes = array<i64: 2, 1, 8>, strides = array<i64: 1, 1, 1>} : (tensor<2x4x8xf32>) -> tensor<2x1x8xf32>
  %r = nn.reshape %last : tensor<2x1x8xf32> -> tensor<2x8xf32>
  %z = nn.linear %r, %w : (tensor<2x8xf32>, tensor<3x8xf32>) -> tensor<2x3xf32>
  %l = nn.cross_entropy %z, %labels : (tensor<2x3xf32>, tensor<2xi64>) -> tensor<f32>
  return %l : tensor<f32>
}
