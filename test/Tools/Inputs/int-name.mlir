func.func @m(%x: tensor<4x8xf32> {nn.name = "int"}, %t: tensor<4x3xf32>,
             %w: tensor<3x8xf32> {nn.param, nn.name = "w"}) -> tensor<f32> {
  %y = nn.linear %x, %w : (tensor<4x8xf32>, tensor<3x8xf32>) -> tensor<4x3xf32>
  %l = nn.mse_loss %y, %t : (tensor<4x3xf32>, tensor<4x3xf32>) -> tensor<f32>
  return %l : tensor<f32>
}
