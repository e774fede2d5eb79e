// swift-tools-version: 6.0
import PackageDescription

let package = Package(
  name: "GraphFuse",
  products: [
    .library(name: "GraphFuse", targets: ["GraphFuse"]),
    .library(name: "GraphFuseONNX", targets: ["GraphFuseONNX"]),
    .executable(name: "graphfuse", targets: ["GraphFuseCLI"]),
  ],
  targets: [
    // Core Library
    .target(name: "GraphFuse"),
    .target(name: "GraphFuseONNX", dependencies: ["GraphFuse"]),

    // Command line
    .executableTarget(name: "GraphFuseCLI", dependencies: ["GraphFuse", "GraphFuseONNX"]),

    // Examples
    .executableTarget(name: "BatchNormModes", dependencies: ["GraphFuse"], path: "Examples/BatchNormModes"),
    .executableTarget(name: "KeepBatchNorm", dependencies: ["GraphFuse"], path: "Examples/KeepBatchNorm"),
    .executableTarget(name: "ResNetBlock", dependencies: ["GraphFuse"], path: "Examples/ResNetBlock"),
    .executableTarget(name: "LowerBatchNorm", dependencies: ["GraphFuse"], path: "Examples/LowerBatchNorm"),

    // Benchmarks (Docs/Scheduling.md §4: measured numbers and commands)
    .executableTarget(name: "GraphFuseBench", dependencies: ["GraphFuse"], path: "bench/GraphFuseBench"),

    // Tests
    .testTarget(name: "GraphFuseTests", dependencies: ["GraphFuse"]),
    .testTarget(name: "GraphFuseCLITests", dependencies: ["GraphFuseCLI", "GraphFuse", "GraphFuseONNX"]),
    .testTarget(
      name: "GraphFuseONNXTests", dependencies: ["GraphFuseONNX", "GraphFuse"],
      resources: [.copy("Fixtures")]),
  ],
  swiftLanguageModes: [.v6]
)
