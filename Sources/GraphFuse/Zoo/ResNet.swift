/// torchvision's ResNet (v1.5: the stride sits on the 3×3 conv of a bottleneck).
///
/// `conv1` 7×7/2 → `bn1` → `relu` → `maxpool` 3×3/2 → `layer1…layer4` → `avgpool` →
/// `flatten` → `fc` (1000). ResNet-18 stacks `[2, 2, 2, 2]` basic blocks, ResNet-50
/// `[3, 4, 6, 3]` bottlenecks. A block whose stride or width changes gets a
/// `downsample` branch: 1×1 conv with the block's stride, then batch norm.
enum ResNet {
  static func build(blocks: [Int], bottleneck: Bool, batch: Int) throws(GraphFuseError) -> Graph {
    var layers = ZooLayers(seed: bottleneck ? 50_000 : 18_000)
    let x = layers.builder.input("input", shape: [batch, 3, 224, 224])
    var y = try layers.conv(x, out: 64, kernel: 7, stride: 2, name: "conv1")
    y = try layers.batchNorm(y, name: "bn1")
    y = try layers.relu(y, name: "relu")
    y = try layers.builder.apply(
      "max_pool2d", [y],
      [
        "kernel_shape": .ints([3, 3]), "strides": .ints([2, 2]), "pads": .ints([1, 1, 1, 1]),
        "dilations": .ints([1, 1]), "ceil_mode": .int(0),
      ], name: "maxpool")[0]

    for (stage, count) in blocks.enumerated() {
      let planes = 64 << stage
      for index in 0..<count {
        let stride = stage > 0 && index == 0 ? 2 : 1
        let name = "layer\(stage + 1).\(index)"
        y =
          bottleneck
          ? try bottleneckBlock(&layers, y, planes: planes, stride: stride, name: name)
          : try basicBlock(&layers, y, planes: planes, stride: stride, name: name)
      }
    }
    y = try layers.poolAndFlatten(y, poolName: "avgpool")
    y = try layers.linear(y, out: 1000, name: "fc")
    return try layers.finish(y)
  }

  /// conv3×3 → bn → relu → conv3×3 → bn, plus the shortcut, then relu.
  static func basicBlock(
    _ layers: inout ZooLayers, _ x: ValueID, planes: Int, stride: Int, name: String
  ) throws(GraphFuseError) -> ValueID {
    var y = try layers.conv(x, out: planes, kernel: 3, stride: stride, name: "\(name).conv1")
    y = try layers.batchNorm(y, name: "\(name).bn1")
    y = try layers.relu(y, name: "\(name).relu1")
    y = try layers.conv(y, out: planes, kernel: 3, name: "\(name).conv2")
    y = try layers.batchNorm(y, name: "\(name).bn2")
    let shortcut = try downsample(&layers, x, out: planes, stride: stride, name: name)
    y = try layers.add(y, shortcut, name: "\(name).add")
    return try layers.relu(y, name: "\(name).relu2")
  }

  /// conv1×1 → bn → relu → conv3×3 (stride) → bn → relu → conv1×1 (4× wider) → bn, plus the shortcut,
  /// then relu.
  static func bottleneckBlock(
    _ layers: inout ZooLayers, _ x: ValueID, planes: Int, stride: Int, name: String
  ) throws(GraphFuseError) -> ValueID {
    var y = try layers.conv(x, out: planes, kernel: 1, name: "\(name).conv1")
    y = try layers.batchNorm(y, name: "\(name).bn1")
    y = try layers.relu(y, name: "\(name).relu1")
    y = try layers.conv(y, out: planes, kernel: 3, stride: stride, name: "\(name).conv2")
    y = try layers.batchNorm(y, name: "\(name).bn2")
    y = try layers.relu(y, name: "\(name).relu2")
    y = try layers.conv(y, out: planes * 4, kernel: 1, name: "\(name).conv3")
    y = try layers.batchNorm(y, name: "\(name).bn3")
    let shortcut = try downsample(&layers, x, out: planes * 4, stride: stride, name: name)
    y = try layers.add(y, shortcut, name: "\(name).add")
    return try layers.relu(y, name: "\(name).relu3")
  }

  /// The identity, or `downsample.0` (conv1×1 with stride) → `downsample.1` (bn) when the shape changes.
  static func downsample(
    _ layers: inout ZooLayers, _ x: ValueID, out: Int, stride: Int, name: String
  ) throws(GraphFuseError) -> ValueID {
    guard stride != 1 || layers.builder.shape(of: x)[1] != out else { return x }
    let y = try layers.conv(x, out: out, kernel: 1, stride: stride, name: "\(name).downsample.0")
    return try layers.batchNorm(y, name: "\(name).downsample.1")
  }
}
