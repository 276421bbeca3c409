func.func @convnet(%x: tensor<4x4x12x12xf32>, %t: tensor<4x8x1x1xf32>,
    %w1: tensor<8x4x3x3xf32> {nn.param}, %b1: tensor<8xf32> {nn.param},
    %w2: tensor<8x2x3x3xf32> {nn.param},
    %w3: tensor<8x1x3x3xf32> {nn.param}, %b3: tensor<8xf32> {nn.param},
    %w4: tensor<8x8x1x1xf32> {nn.param},
    %g: tensor<8xf32> {nn.param}, %bb: tensor<8xf32> {nn.param},
    %rm: tensor<8xf32> {nn.running_stat}, %rv: tensor<8xf32> {nn.running_stat}) -> tensor<f32> {
  %c1 = nn.conv2d %x, %w1, %b1 {strides = array<i64: 2, 2>, padding = array<i64: 1, 0, 2, 1>} : (tensor<4x4x12x12xf32>, tensor<8x4x3x3xf32>, tensor<8xf32>) -> tensor<4x8x7x6xf32>
  %r1 = nn.leaky_relu %c1 {alpha = 0.1 : f32} : tensor<4x8x7x6xf32>
  %c2 = nn.conv2d %r1, %w2 {dilations = array<i64: 2, 2>, padding = array<i64: 2, 2, 2, 2>, groups = 4 : i64} : (tensor<4x8x7x6xf32>, tensor<8x2x3x3xf32>) -> tensor<4x8x7x6xf32>
  %n = nn.batch_norm %c2, %g, %bb, %rm, %rv {training} : (tensor<4x8x7x6xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>) -> tensor<4x8x7x6xf32>
  %r2 = nn.relu %n : tensor<4x8x7x6xf32>
  %c3 = nn.conv2d %r2, %w3, %b3 {padding = array<i64: 1, 1, 1, 1>, groups = 8 : i64} : (tensor<4x8x7x6xf32>, tensor<8x1x3x3xf32>, tensor<8xf32>) -> tensor<4x8x7x6xf32>
  %s = nn.add %c3, %r1 : tensor<4x8x7x6xf32>
  %m = nn.max_pool2d %s {kernel = array<i64: 3, 3>, strides = array<i64: 1, 1>} : (tensor<4x8x7x6xf32>) -> tensor<4x8x5x4xf32>
  %a = nn.avg_pool2d %m {kernel = array<i64: 3, 3>, strides = array<i64: 2, 2>, padding = array<i64: 1, 1, 1, 1>} : (tensor<4x8x5x4xf32>) -> tensor<4x8x3x2xf32>
  %e = nn.avg_pool2d %a {kernel = array<i64: 3, 2>, strides = array<i64: 1, 1>} : (tensor<4x8x3x2xf32>) -> tensor<4x8x1x1xf32>
  %c4 = nn.conv2d %e, %w4 : (tensor<4x8x1x1xf32>, tensor<8x8x1x1xf32>) -> tensor<4x8x1x1xf32>
  %l = nn.mse_loss %c4, %t : (tensor<4x8x1x1xf32>, tensor<4x8x1x1xf32>) -> tensor<f32>
  return %l : tensor<f32>
}
