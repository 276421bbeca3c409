// Control flow between a parameter and the loss once made the gradient
// silently zero (issue class 1); nnc-verify-model now rejects it.
func.func @m(%x: tensor<4x3xf32>, %t: tensor<4x2xf32>, %w: tensor<2x3xf32> {nn.param}, %c: i1) -> tensor<f32> {
  %h = nn.linear %x, %w : (tensor<4x3xf32>, tensor<2x3xf32>) -> tensor<4x2xf32>
  %r = scf.if %c -> tensor<4x2xf32> {
    scf.yield %h : tensor<4x2xf32>
  } else {
    %z = nn.relu %h : tensor<4x2xf32>
    scf.yield %z : tensor<4x2xf32>
  }
  %l = nn.mse_loss %r, %t : (tensor<4x2xf32>, tensor<4x2xf32>) -> tensor<f32>
  return %l : tensor<f32>
}
