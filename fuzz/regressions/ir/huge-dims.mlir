// Sizes whose byte counts overflow int64 (issue class 2).
func.func @m(%x: tensor<4294967296x4294967296xf32>, %t: tensor<4294967296x2xf32>, %w: tensor<2x4294967296xf32> {nn.param}) -> tensor<f32> {
  %h = nn.linear %x, %w : (tensor<4294967296x4294967296xf32>, tensor<2x4294967296xf32>) -> tensor<4294967296x2xf32>
  %l = nn.mse_loss %h, %t : (tensor<4294967296x2xf32>, tensor<4294967296x2xf32>) -> tensor<f32>
  return %l : tensor<f32>
}
