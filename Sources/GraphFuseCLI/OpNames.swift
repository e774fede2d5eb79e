import Foundation
import GraphFuse

/// Op names as users write them in `--keep` and `--opaque`: ONNX op types (`BatchNormalization`)
/// or GraphFuse's IR names (`batch_norm`), resolved to IR names.
enum OpNames {
  /// Which option the names are for.
  enum Use {
    case keep, opaque
  }

  /// ONNX op types and the IR ops the importer turns them into.
  static let onnx: [String: [String]] = [
    "Relu": ["relu"], "Sigmoid": ["sigmoid"], "Tanh": ["tanh"], "HardSwish": ["hard_swish"], "Sqrt": ["sqrt"],
    "Exp": ["exp"], "Log": ["log"], "Neg": ["neg"], "Add": ["add"], "Sub": ["sub"], "Mul": ["mul"], "Div": ["div"],
    "Pow": ["pow"], "Max": ["max"], "Min": ["min"], "Sum": ["add"], "Conv": ["conv2d"],
    "ConvTranspose": ["conv_transpose2d"], "BatchNormalization": ["batch_norm"], "LeakyRelu": ["leaky_relu"],
    "HardSigmoid": ["hard_sigmoid"], "Clip": ["clip"], "MaxPool": ["max_pool2d"], "AveragePool": ["avg_pool2d"],
    "GlobalAveragePool": ["global_avg_pool"], "GlobalMaxPool": ["reduce_max"], "Flatten": ["flatten"],
    "Gemm": ["gemm"], "MatMul": ["matmul"], "Concat": ["concat"], "Reshape": ["reshape"],
    "Transpose": ["transpose"], "Gather": ["gather"], "Unsqueeze": ["unsqueeze"], "Squeeze": ["squeeze"],
    "Slice": ["slice"], "Split": ["slice"], "Pad": ["pad"], "ReduceMean": ["reduce_mean"],
    "ReduceSum": ["reduce_sum"], "ReduceMax": ["reduce_max"], "Softmax": ["softmax"],
    "LayerNormalization": ["layer_norm"], "Gelu": ["gelu"], "Erf": ["erf"], "Einsum": ["einsum"],
    "Equal": ["equal"], "Not": ["not"], "Where": ["where"], "Mod": ["mod"], "Expand": ["expand"],
    "GatherND": ["gather"], "ReduceL2": ["reduce_sum"], "ReduceSumSquare": ["reduce_sum"],
  ]

  /// The IR ops `--keep` can keep whole (the ones the optimizer would otherwise fold or decompose).
  static let keepable: Set<String> = ["batch_norm"]

  /// The names accepted for `use`, for error messages.
  static func valid(for use: Use) -> [String] {
    let ir = use == .keep ? keepable : Set(OpRegistry.definitions.keys)
    let types = onnx.filter { !Set($0.value).isDisjoint(with: ir) }.keys
    return types.sorted() + ir.sorted()
  }

  /// Resolves a comma-separated list to IR op names; an unknown name is an error listing the valid ones.
  static func resolve(_ list: String?, for use: Use) throws(GraphFuseError) -> Set<String> {
    let option = use == .keep ? "--keep" : "--opaque"
    var result: Set<String> = []
    for raw in (list ?? "").split(separator: ",") {
      let name = raw.trimmingCharacters(in: .whitespaces)
      let ops: [String]
      if let mapped = onnx[name] {
        ops = mapped
      } else if OpRegistry.definitions[name] != nil {
        ops = [name]
      } else {
        let near = closest(to: name, among: valid(for: use)).map { " did you mean \($0)?" } ?? ""
        throw GraphFuseError(
          "\(option): unknown op '\(name)';\(near) valid: \(valid(for: use).joined(separator: ", "))")
      }
      if use == .keep, let odd = ops.first(where: { !keepable.contains($0) }) {
        throw GraphFuseError(
          "--keep: '\(name)' (\(odd)) is never folded or decomposed, so there is nothing to keep;"
            + " valid: \(valid(for: .keep).joined(separator: ", ")) (to stop fusing an op, use --opaque)")
      }
      result.formUnion(ops)
    }
    return result
  }
}
