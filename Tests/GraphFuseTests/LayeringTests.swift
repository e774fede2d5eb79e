import Foundation
import Testing

/// The folders of `Sources/GraphFuse` are layers, and data flows one way: Fusion decides,
/// Schedule plans every kernel as data, Codegen renders, Runtime packs, compiles and runs
/// (`Docs/Architecture.md`). One module cannot enforce that, so this test reads the sources and
/// fails when a layer names a type of a layer it must not reach (or, for the reference executor,
/// any type of the compiled path).
struct LayeringTests {
  /// Types each folder must not name (outside comments).
  static let forbidden: [String: [String]] = [
    "Fusion": [
      "Scheduler", "KernelPlan", "LoopNest", "Epilogue", "ValueExpr", "CEmitter", "WeightPacking", "CompiledModel",
      "Toolchain",
    ],
    "Schedule": [
      "CompiledModel", "Toolchain", "WeightPacking", "CEmitter", "COps", "CRuntime", "ExprText", "ModelSource",
      "KernelFunction",
      "MemoryPlan", "MemoryBudget", "SharedLibrary", "Subprocess", "DeployLibrary", "CompileOptions",
    ],
    "Codegen": [
      "Scheduler", "KernelSchedule", "Epilogue", "TaskSplit", "BlockedConv", "MatmulKernel", "GroupLowering",
      "WeightPacking", "CompiledModel", "MemoryPlan",
    ],
    "Runtime": [
      "KernelSchedule", "LoopNest", "Epilogue", "BlockedConv", "MatmulKernel", "ConvChainKernel", "TaskSplit",
      "GroupLowering", "CEmitter",
    ],
    "Report": ["CompiledModel", "Toolchain", "Subprocess", "SharedLibrary", "DeployLibrary", "WeightPacking"],
    // The reference kernels check the compiled path, so they share none of it.
    "Reference": [
      "Scheduler", "KernelPlan", "LoopNest", "KernelSchedule", "MatmulKernel", "BlockedConv", "GroupLowering",
      "CEmitter", "COps", "ModelSource", "WeightPacking", "CompiledModel", "Toolchain", "MemoryPlan",
    ],
  ]

  static var sources: URL {
    URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../Sources/GraphFuse")
  }

  /// The identifiers of a Swift file outside comments and string literals.
  static func identifiers(_ text: String) -> Set<String> {
    var result = Set<String>()
    for line in text.split(separator: "\n") {
      var code = line.split(separator: "//", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
      // Drop string literals (messages may name anything).
      code = Substring(
        code.split(separator: "\"", omittingEmptySubsequences: false).enumerated()
          .filter { $0.offset % 2 == 0 }.map(\.element).joined(separator: " "))
      var word = ""
      for c in code + " " {
        if c.isLetter || c.isNumber || c == "_" {
          word.append(c)
        } else if !word.isEmpty {
          result.insert(word)
          word = ""
        }
      }
    }
    return result
  }

  @Test(arguments: ["Fusion", "Schedule", "Codegen", "Runtime", "Report", "Reference"])
  func layerNamesNothingAboveIt(_ folder: String) throws {
    let directory = Self.sources.appendingPathComponent(folder)
    let files = try FileManager.default.contentsOfDirectory(atPath: directory.path).filter { $0.hasSuffix(".swift") }
    #expect(!files.isEmpty, "no sources in \(directory.path)")
    for file in files {
      let text = try String(contentsOf: directory.appendingPathComponent(file), encoding: .utf8)
      let names = Self.identifiers(text)
      for name in Self.forbidden[folder] ?? [] {
        #expect(!names.contains(name), "\(folder)/\(file) names \(name)")
      }
    }
  }

  @Test func identifiersSkipCommentsAndStrings() {
    let names = Self.identifiers("let a = Scheduler.x  // CompiledModel\nthrow E(\"Toolchain\") + b")
    #expect(names.contains("Scheduler") && names.contains("b"))
    #expect(!names.contains("CompiledModel") && !names.contains("Toolchain"))
  }
}
