func.func @m(%x: tensor<4x3xf32>, %w: tensor<3x5xf32> {nn.param}) -> tensor<f32> {
  %h = nn.linear %x, %w : (tensor<4x3xf32>, tensor<3x5xf32>) -> tensor<4x3xf32>
  %l = nn.mse_loss %h, %h : (tensor<4x3xf32>, tensor<4x3xf32>) -> tensor<f32>
  return %l : tensor<f32>
}
