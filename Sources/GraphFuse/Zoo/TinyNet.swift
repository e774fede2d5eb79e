/// A small network with one of each structure the big models have; it runs in milliseconds.
///
/// input `[N, 3, 32, 32]` → `stem` conv3×3 (16) → bn → relu → one residual basic block
/// (`block.conv1/bn1/relu1/conv2/bn2`, `block.add`, `block.relu2`) → depthwise conv3×3/2
/// (`dw.conv`, `dw.bn`, `dw.relu6`) → global average pool → `fc` dense 10.
enum TinyNet {
  static func build(batch: Int) throws(GraphFuseError) -> Graph {
    var layers = ZooLayers(seed: 1_000)
    let x = layers.builder.input("input", shape: [batch, 3, 32, 32])
    var y = try layers.conv(x, out: 16, kernel: 3, name: "stem.conv")
    y = try layers.batchNorm(y, name: "stem.bn")
    y = try layers.relu(y, name: "stem.relu")
    y = try ResNet.basicBlock(&layers, y, planes: 16, stride: 1, name: "block")
    y = try layers.conv(y, out: 16, kernel: 3, stride: 2, groups: 16, name: "dw.conv")
    y = try layers.batchNorm(y, name: "dw.bn")
    y = try layers.relu6(y, name: "dw.relu6")
    y = try layers.poolAndFlatten(y, poolName: "avgpool")
    y = try layers.linear(y, out: 10, name: "fc")
    return try layers.finish(y)
  }
}
