func.func @m(%x: tensor<4x3xf32>, %t: tensor<4x2xf32>, %w: tensor<2x3xf32> {nn.param}) -> tensor<f32> {
  %h = nn.linear %x, %w : (tensor<4x3xf32>, tensor<2x3xf32>) -> tensor<4x2xf32>
  %u = "foo.bar"(%h) : (tensor<4x2xf32>) -> tensor<4x2xf32>
  %l = nn.mse_loss %u, %t : (tensor<4x2xf32>, tensor<4x2xf32>) -> tensor<f32>
  return %l : tensor<f32>
}
