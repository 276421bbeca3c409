// A model using max pooling's index form directly (max-pool-indices-refused.test).
func.func @m(%x: tensor<2x16x8x8xf32>, %w: tensor<10x256xf32> {nn.param}, %t: tensor<2x10xf32>) -> tensor<f32> {
  %i = nn.max_pool2d_indices %x {kernel = array<i64: 2, 2>, strides = array<i64: 2, 2>} : (tensor<2x16x8x8xf32>) -> tensor<2x16x4x4xi8>
  %y = nn.max_pool2d_indexed %x, %i {kernel = array<i64: 2, 2>, strides = array<i64: 2, 2>} : (tensor<2x16x8x8xf32>, tensor<2x16x4x4xi8>) -> tensor<2x16x4x4xf32>
  %f = nn.reshape %y : tensor<2x16x4x4xf32> -> tensor<2x256xf32>
  %z = nn.linear %f, %w : (tensor<2x256xf32>, tensor<10x256xf32>) -> tensor<2x10xf32>
  %l = nn.mse_loss %z, %t : (tensor<2x10xf32>, tensor<2x10xf32>) -> tensor<f32>
  return %l : tensor<f32>
}
