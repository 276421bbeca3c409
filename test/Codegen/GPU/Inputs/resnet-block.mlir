func.func @resnet(%x: tensor<8x3x16x16xf32>, %t: tensor<8x32x1x1xf32>,
    %w0: tensor<16x3x3x3xf32> {nn.param}, %g0: tensor<16xf32> {nn.param}, %b0: tensor<16xf32> {nn.param},
    %m0: tensor<16xf32> {nn.running_stat}, %v0: tensor<16xf32> {nn.running_stat},
    %w1: tensor<16x16x3x3xf32> {nn.param}, %g1: tensor<16xf32> {nn.param}, %b1: tensor<16xf32> {nn.param},
    %m1: tensor<16xf32> {nn.running_stat}, %v1: tensor<16xf32> {nn.running_stat},
    %w2: tensor<16x16x3x3xf32> {nn.param}, %g2: tensor<16xf32> {nn.param}, %b2: tensor<16xf32> {nn.param},
    %m2: tensor<16xf32> {nn.running_stat}, %v2: tensor<16xf32> {nn.running_stat},
    %w3: tensor<32x16x3x3xf32> {nn.param}, %g3: tensor<32xf32> {nn.param}, %b3: tensor<32xf32> {nn.param},
    %m3: tensor<32xf32> {nn.running_stat}, %v3: tensor<32xf32> {nn.running_stat},
    %w4: tensor<32x32x3x3xf32> {nn.param}, %g4: tensor<32xf32> {nn.param}, %b4: tensor<32xf32> {nn.param},
    %m4: tensor<32xf32> {nn.running_stat}, %v4: tensor<32xf32> {nn.running_stat},
    %ws: tensor<32x16x1x1xf32> {nn.param}, %gs: tensor<32xf32> {nn.param}, %bs: tensor<32xf32> {nn.param},
    %ms: tensor<32xf32> {nn.running_stat}, %vs: tensor<32xf32> {nn.running_stat}) -> tensor<f32> {
  %c0 = nn.conv2d %x, %w0 {padding = array<i64: 1, 1, 1, 1>} : (tensor<8x3x16x16xf32>, tensor<16x3x3x3xf32>) -> tensor<8x16x16x16xf32>
  %n0 = nn.batch_norm %c0, %g0, %b0, %m0, %v0 {training} : (tensor<8x16x16x16xf32>, tensor<16xf32>, tensor<16xf32>, tensor<16xf32>, tensor<16xf32>) -> tensor<8x16x16x16xf32>
  %r0 = nn.relu %n0 : tensor<8x16x16x16xf32>
  %c1 = nn.conv2d %r0, %w1 {padding = array<i64: 1, 1, 1, 1>} : (tensor<8x16x16x16xf32>, tensor<16x16x3x3xf32>) -> tensor<8x16x16x16xf32>
  %n1 = nn.batch_norm %c1, %g1, %b1, %m1, %v1 {training} : (tensor<8x16x16x16xf32>, tensor<16xf32>, tensor<16xf32>, tensor<16xf32>, tensor<16xf32>) -> tensor<8x16x16x16xf32>
  %r1 = nn.relu %n1 : tensor<8x16x16x16xf32>
  %c2 = nn.conv2d %r1, %w2 {padding = array<i64: 1, 1, 1, 1>} : (tensor<8x16x16x16xf32>, tensor<16x16x3x3xf32>) -> tensor<8x16x16x16xf32>
  %n2 = nn.batch_norm %c2, %g2, %b2, %m2, %v2 {training} : (tensor<8x16x16x16xf32>, tensor<16xf32>, tensor<16xf32>, tensor<16xf32>, tensor<16xf32>) -> tensor<8x16x16x16xf32>
  %a1 = nn.add %n2, %r0 : tensor<8x16x16x16xf32>
  %s1 = nn.relu %a1 : tensor<8x16x16x16xf32>
  %c3 = nn.conv2d %s1, %w3 {strides = array<i64: 2, 2>, padding = array<i64: 1, 1, 1, 1>} : (tensor<8x16x16x16xf32>, tensor<32x16x3x3xf32>) -> tensor<8x32x8x8xf32>
  %n3 = nn.batch_norm %c3, %g3, %b3, %m3, %v3 {training} : (tensor<8x32x8x8xf32>, tensor<32xf32>, tensor<32xf32>, tensor<32xf32>, tensor<32xf32>) -> tensor<8x32x8x8xf32>
  %r3 = nn.relu %n3 : tensor<8x32x8x8xf32>
  %c4 = nn.conv2d %r3, %w4 {padding = array<i64: 1, 1, 1, 1>} : (tensor<8x32x8x8xf32>, tensor<32x32x3x3xf32>) -> tensor<8x32x8x8xf32>
  %n4 = nn.batch_norm %c4, %g4, %b4, %m4, %v4 {training} : (tensor<8x32x8x8xf32>, tensor<32xf32>, tensor<32xf32>, tensor<32xf32>, tensor<32xf32>) -> tensor<8x32x8x8xf32>
  %cs = nn.conv2d %s1, %ws {strides = array<i64: 2, 2>} : (tensor<8x16x16x16xf32>, tensor<32x16x1x1xf32>) -> tensor<8x32x8x8xf32>
  %ns = nn.batch_norm %cs, %gs, %bs, %ms, %vs {training} : (tensor<8x32x8x8xf32>, tensor<32xf32>, tensor<32xf32>, tensor<32xf32>, tensor<32xf32>) -> tensor<8x32x8x8xf32>
  %a2 = nn.add %n4, %ns : tensor<8x32x8x8xf32>
  %s2 = nn.relu %a2 : tensor<8x32x8x8xf32>
  %p = nn.avg_pool2d %s2 {kernel = array<i64: 8, 8>, strides = array<i64: 8, 8>} : (tensor<8x32x8x8xf32>) -> tensor<8x32x1x1xf32>
  %l = nn.mse_loss %p, %t : (tensor<8x32x1x1xf32>, tensor<8x32x1x1xf32>) -> tensor<f32>
  return %l : tensor<f32>
}
func.func @resnet_predict(%x: tensor<8x3x16x16xf32>,     %w0: tensor<16x3x3x3xf32>, %g0: tensor<16xf32>, %b0: tensor<16xf32>,
    %m0: tensor<16xf32>, %v0: tensor<16xf32>,
    %w1: tensor<16x16x3x3xf32>, %g1: tensor<16xf32>, %b1: tensor<16xf32>,
    %m1: tensor<16xf32>, %v1: tensor<16xf32>,
    %w2: tensor<16x16x3x3xf32>, %g2: tensor<16xf32>, %b2: tensor<16xf32>,
    %m2: tensor<16xf32>, %v2: tensor<16xf32>,
    %w3: tensor<32x16x3x3xf32>, %g3: tensor<32xf32>, %b3: tensor<32xf32>,
    %m3: tensor<32xf32>, %v3: tensor<32xf32>,
    %w4: tensor<32x32x3x3xf32>, %g4: tensor<32xf32>, %b4: tensor<32xf32>,
    %m4: tensor<32xf32>, %v4: tensor<32xf32>,
    %ws: tensor<32x16x1x1xf32>, %gs: tensor<32xf32>, %bs: tensor<32xf32>,
    %ms: tensor<32xf32>, %vs: tensor<32xf32>) -> tensor<8x32x1x1xf32> attributes {nn.entry = #nn.entry<predict>} {
  %c0 = nn.conv2d %x, %w0 {padding = array<i64: 1, 1, 1, 1>} : (tensor<8x3x16x16xf32>, tensor<16x3x3x3xf32>) -> tensor<8x16x16x16xf32>
  %n0 = nn.batch_norm %c0, %g0, %b0, %m0, %v0 : (tensor<8x16x16x16xf32>, tensor<16xf32>, tensor<16xf32>, tensor<16xf32>, tensor<16xf32>) -> tensor<8x16x16x16xf32>
  %r0 = nn.relu %n0 : tensor<8x16x16x16xf32>
  %c1 = nn.conv2d %r0, %w1 {padding = array<i64: 1, 1, 1, 1>} : (tensor<8x16x16x16xf32>, tensor<16x16x3x3xf32>) -> tensor<8x16x16x16xf32>
  %n1 = nn.batch_norm %c1, %g1, %b1, %m1, %v1 : (tensor<8x16x16x16xf32>, tensor<16xf32>, tensor<16xf32>, tensor<16xf32>, tensor<16xf32>) -> tensor<8x16x16x16xf32>
  %r1 = nn.relu %n1 : tensor<8x16x16x16xf32>
  %c2 = nn.conv2d %r1, %w2 {padding = array<i64: 1, 1, 1, 1>} : (tensor<8x16x16x16xf32>, tensor<16x16x3x3xf32>) -> tensor<8x16x16x16xf32>
  %n2 = nn.batch_norm %c2, %g2, %b2, %m2, %v2 : (tensor<8x16x16x16xf32>, tensor<16xf32>, tensor<16xf32>, tensor<16xf32>, tensor<16xf32>) -> tensor<8x16x16x16xf32>
  %a1 = nn.add %n2, %r0 : tensor<8x16x16x16xf32>
  %s1 = nn.relu %a1 : tensor<8x16x16x16xf32>
  %c3 = nn.conv2d %s1, %w3 {strides = array<i64: 2, 2>, padding = array<i64: 1, 1, 1, 1>} : (tensor<8x16x16x16xf32>, tensor<32x16x3x3xf32>) -> tensor<8x32x8x8xf32>
  %n3 = nn.batch_norm %c3, %g3, %b3, %m3, %v3 : (tensor<8x32x8x8xf32>, tensor<32xf32>, tensor<32xf32>, tensor<32xf32>, tensor<32xf32>) -> tensor<8x32x8x8xf32>
  %r3 = nn.relu %n3 : tensor<8x32x8x8xf32>
  %c4 = nn.conv2d %r3, %w4 {padding = array<i64: 1, 1, 1, 1>} : (tensor<8x32x8x8xf32>, tensor<32x32x3x3xf32>) -> tensor<8x32x8x8xf32>
  %n4 = nn.batch_norm %c4, %g4, %b4, %m4, %v4 : (tensor<8x32x8x8xf32>, tensor<32xf32>, tensor<32xf32>, tensor<32xf32>, tensor<32xf32>) -> tensor<8x32x8x8xf32>
  %cs = nn.conv2d %s1, %ws {strides = array<i64: 2, 2>} : (tensor<8x16x16x16xf32>, tensor<32x16x1x1xf32>) -> tensor<8x32x8x8xf32>
  %ns = nn.batch_norm %cs, %gs, %bs, %ms, %vs : (tensor<8x32x8x8xf32>, tensor<32xf32>, tensor<32xf32>, tensor<32xf32>, tensor<32xf32>) -> tensor<8x32x8x8xf32>
  %a2 = nn.add %n4, %ns : tensor<8x32x8x8xf32>
  %s2 = nn.relu %a2 : tensor<8x32x8x8xf32>
  %p = nn.avg_pool2d %s2 {kernel = array<i64: 8, 8>, strides = array<i64: 8, 8>} : (tensor<8x32x8x8xf32>) -> tensor<8x32x1x1xf32>
  return %p : tensor<8x32x1x1xf32>
}
