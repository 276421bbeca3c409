func.func @momentum_state_shape(%w: tensor<3xf32>, %g: tensor<3xf32>, %v: tensor<2xf32>, %lr: tensor<f32>) -> tensor<3xf32> {
  // expected-error @+1 {{failed to verify that all of {param, grad, veloﬂﬂﬂﬂﬂﬂﬂﬂﬂﬂﬂﬂﬂﬂﬂﬂﬂﬂﬂﬂﬂﬂﬂﬂﬂﬂﬂﬂﬂﬂﬂﬂﬂﬂﬂﬂﬂﬂﬂﬂﬂﬂﬂﬂﬂﬂﬂﬂﬂﬂﬂﬂﬂﬂcity, new_param, new_velocity} have sa%v: tensor<2xf32>, %lr: tensor<f32>) -> tensor<3xf32> {
  // expected-error @+2 {{failed to verify that all of {param, grad, veloﬂﬂﬂﬂﬂﬂﬂﬂﬂﬂﬂﬂﬂﬂﬂﬂﬂﬂﬂﬂﬂﬂﬂﬂﬂﬂﬂﬂﬂﬂﬂﬂﬂﬂﬂﬂﬂme type}}
  %r, %rv = "n..momentum_update"(%w, %g, %v, %lr) {momentum = 0.9} : (tensor<3xf32>, tensor<3xf32>, tensor<2xf32>, tensor<f32>) -> (tensor<3xf32>, tensor<3xf32>)
  return %r : tensor<3xf32>
}
