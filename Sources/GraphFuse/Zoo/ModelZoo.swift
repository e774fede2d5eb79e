/// The built-in models (`zoo:NAME`): torchvision architectures built in Swift with
/// deterministic random weights and non-trivial batch-norm statistics.
///
/// ```swift
/// let graph = try ModelZoo.build("resnet18")      // input [1, 3, 224, 224], output [1, 1000]
/// ```
public enum ModelZoo {
  /// The names `build` accepts.
  public static let names = ["tiny", "resnet18", "resnet50", "mobilenet_v2"]

  /// Builds the model called `name` for a batch of `batch` images.
  public static func build(_ name: String, batch: Int = 1) throws(GraphFuseError) -> Graph {
    guard batch > 0 else { throw GraphFuseError("batch must be positive, got \(batch)", node: "zoo:\(name)") }
    switch name {
    case "tiny": return try TinyNet.build(batch: batch)
    case "resnet18": return try ResNet.build(blocks: [2, 2, 2, 2], bottleneck: false, batch: batch)
    case "resnet50": return try ResNet.build(blocks: [3, 4, 6, 3], bottleneck: true, batch: batch)
    case "mobilenet_v2": return try MobileNetV2.build(batch: batch)
    default:
      throw GraphFuseError(
        "unknown model 'zoo:\(name)'; known models: " + names.map { "zoo:\($0)" }.joined(separator: ", "))
    }
  }
}

/// Layers with torchvision-style names and deterministic weights, shared by the zoo models.
///
/// Every parameter draws from its own seed (the running parameter count), so a model is
/// identical on every build. Convolutions use Kaiming-uniform weights, `±sqrt(6 / fan_in)`,
/// which keeps activations of the same order through deep stacks; batch norms get statistics
/// far from the identity (γ ∈ [0.5, 1.5], β, μ ∈ [−0.2, 0.2], σ² ∈ [0.5, 2]) so a folding
/// mistake changes the output.
struct ZooLayers {
  /// The builder the layers append to.
  let builder = GraphBuilder()
  private var seed: UInt64

  init(seed: UInt64) { self.seed = seed }

  /// A deterministic uniform tensor registered as a constant named `name`.
  mutating func parameter(_ name: String, shape: [Int], in range: ClosedRange<Float>) -> ValueID {
    seed &+= 1
    return builder.constant(Tensor.random(shape: shape, in: range, seed: seed), name: name)
  }

  /// A square convolution without bias: `[out, in/groups, k, k]` weight, padding `k / 2`.
  mutating func conv(
    _ x: ValueID, out: Int, kernel: Int, stride: Int = 1, groups: Int = 1, name: String
  ) throws(GraphFuseError) -> ValueID {
    let inChannels = builder.shape(of: x)[1]
    let fanIn = inChannels / groups * kernel * kernel
    let bound = Float((6.0 / Double(fanIn)).squareRoot())
    let w = parameter("\(name).weight", shape: [out, inChannels / groups, kernel, kernel], in: -bound...bound)
    return try builder.conv2d(x, weight: w, stride: stride, padding: kernel / 2, groups: groups, name: name)
  }

  /// An inference-mode batch norm with non-trivial running statistics.
  mutating func batchNorm(_ x: ValueID, name: String) throws(GraphFuseError) -> ValueID {
    let c = builder.shape(of: x)[1]
    let gamma = parameter("\(name).weight", shape: [c], in: 0.5...1.5)
    let beta = parameter("\(name).bias", shape: [c], in: -0.2...0.2)
    let mean = parameter("\(name).running_mean", shape: [c], in: -0.2...0.2)
    let variance = parameter("\(name).running_var", shape: [c], in: 0.5...2.0)
    return try builder.batchNorm(x, scale: gamma, bias: beta, mean: mean, variance: variance, name: name)
  }

  func relu(_ x: ValueID, name: String) throws(GraphFuseError) -> ValueID {
    try builder.relu(x, name: name)
  }

  /// relu6 as `clip(x, 0, 6)`.
  func relu6(_ x: ValueID, name: String) throws(GraphFuseError) -> ValueID {
    try builder.apply("clip", [x], ["min": .float(0), "max": .float(6)], name: name)[0]
  }

  func add(_ a: ValueID, _ b: ValueID, name: String) throws(GraphFuseError) -> ValueID {
    try builder.add(a, b, name: name)
  }

  /// Global average pooling followed by flatten to `[N, C]`.
  func poolAndFlatten(_ x: ValueID, poolName: String) throws(GraphFuseError) -> ValueID {
    let pooled = try builder.apply("global_avg_pool", [x], name: poolName)[0]
    return try builder.apply("flatten", [pooled], ["axis": .int(1)], name: "flatten")[0]
  }

  /// A fully connected layer with PyTorch's default initialization, `±1/sqrt(in)`.
  mutating func linear(_ x: ValueID, out: Int, name: String) throws(GraphFuseError) -> ValueID {
    let inFeatures = builder.shape(of: x)[1]
    let bound = Float(1 / Double(inFeatures).squareRoot())
    let w = parameter("\(name).weight", shape: [out, inFeatures], in: -bound...bound)
    let b = parameter("\(name).bias", shape: [out], in: -bound...bound)
    return try builder.dense(x, weight: w, bias: b, name: name)
  }

  /// Marks `y` as the output and returns the verified graph.
  func finish(_ y: ValueID) throws(GraphFuseError) -> Graph {
    builder.output(y)
    return try builder.finish()
  }
}
