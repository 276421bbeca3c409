func.func @m(%x: tensor<4x3xf32>, %w: tensor<3x3xf32> {nn.param}) -> tensor<4x3xf32> {
  %h = nn.linear %x, %w : (tensor<4x3xf32>, tensor<3x3xf32>) -> tensor<4x3xf32>
  return %h : tensor<4x3xf32>
}
