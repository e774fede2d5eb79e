/// torchvision's MobileNetV2 (width 1.0): inverted residual blocks with depthwise convs.
///
/// `features.0` conv3×3/2 (32) → 17 inverted residuals → `features.18` conv1×1 (1280) →
/// global average pool → `classifier.1` dense 1000 (the dropout `classifier.0` is omitted,
/// as in inference). Activations are relu6, written as `clip(x, 0, 6)`.
enum MobileNetV2 {
  /// `(t, c, n, s)`: expansion, output channels, repeats, stride of the first repeat.
  static let settings: [(expand: Int, channels: Int, repeats: Int, stride: Int)] = [
    (1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1),
  ]

  static func build(batch: Int) throws(GraphFuseError) -> Graph {
    var layers = ZooLayers(seed: 2_000)
    let x = layers.builder.input("input", shape: [batch, 3, 224, 224])
    var y = try convBNReLU6(&layers, x, out: 32, kernel: 3, stride: 2, name: "features.0")
    var feature = 1
    for setting in settings {
      for repeat_ in 0..<setting.repeats {
        let stride = repeat_ == 0 ? setting.stride : 1
        y = try invertedResidual(
          &layers, y, out: setting.channels, stride: stride, expand: setting.expand, name: "features.\(feature)")
        feature += 1
      }
    }
    y = try convBNReLU6(&layers, y, out: 1280, kernel: 1, name: "features.\(feature)")
    y = try layers.poolAndFlatten(y, poolName: "avgpool")
    y = try layers.linear(y, out: 1000, name: "classifier.1")
    return try layers.finish(y)
  }

  /// torchvision's `Conv2dNormActivation`: `NAME.0` conv, `NAME.1` batch norm, `NAME.2` relu6.
  static func convBNReLU6(
    _ layers: inout ZooLayers, _ x: ValueID, out: Int, kernel: Int, stride: Int = 1, groups: Int = 1, name: String
  ) throws(GraphFuseError) -> ValueID {
    var y = try layers.conv(x, out: out, kernel: kernel, stride: stride, groups: groups, name: "\(name).0")
    y = try layers.batchNorm(y, name: "\(name).1")
    return try layers.relu6(y, name: "\(name).2")
  }

  /// Expand (1×1, unless `expand == 1`) → depthwise 3×3 → project (1×1, linear) → bn,
  /// with a residual add when the stride is 1 and the width is unchanged.
  static func invertedResidual(
    _ layers: inout ZooLayers, _ x: ValueID, out: Int, stride: Int, expand: Int, name: String
  ) throws(GraphFuseError) -> ValueID {
    let inChannels = layers.builder.shape(of: x)[1]
    let hidden = inChannels * expand
    var y = x
    var part = 0
    if expand != 1 {
      y = try convBNReLU6(&layers, y, out: hidden, kernel: 1, name: "\(name).conv.\(part)")
      part += 1
    }
    y = try convBNReLU6(
      &layers, y, out: hidden, kernel: 3, stride: stride, groups: hidden, name: "\(name).conv.\(part)")
    y = try layers.conv(y, out: out, kernel: 1, name: "\(name).conv.\(part + 1)")
    y = try layers.batchNorm(y, name: "\(name).conv.\(part + 2)")
    guard stride == 1, inChannels == out else { return y }
    return try layers.add(x, y, name: "\(name).add")
  }
}
