import Foundation
import GraphFuse

/// Resize (`nearest` and `linear`) as existing IR ops, one resized axis at a time: nearest is a
/// `gather` of source indices computed at import; linear (separable, so bi- and trilinear too)
/// is `gather(i0)·(1−w) + gather(i1)·w` with constant weights broadcast along the axis. Both
/// backends run these ops as they are.
extension ImportSession {
  mutating func resize(_ node: ONNXNode) throws(GraphFuseError) -> [Binding?] {
    var x = try required(node, 0)
    let xs = shape(x)
    let mode = try node.string("mode", default: "nearest")
    guard mode == "nearest" || mode == "linear" else {
      throw node.error("mode '\(mode)' is not supported (nearest, linear)")
    }
    guard try node.int("antialias", default: 0) == 0 else { throw node.error("antialias=1 is not supported") }
    let transform = try node.string(
      "coordinate_transformation_mode", default: node.opset < 11 ? "asymmetric" : "half_pixel")
    let known = ["half_pixel", "pytorch_half_pixel", "align_corners", "asymmetric", "tf_half_pixel_for_nn"]
    guard known.contains(transform) else {
      throw node.error("coordinate_transformation_mode '\(transform)' is not supported")
    }
    let policy = try node.string("keep_aspect_ratio_policy", default: "stretch")
    guard policy == "stretch" else { throw node.error("keep_aspect_ratio_policy '\(policy)' is not supported") }
    let rank = xs.count
    let axes = (try node.ints("axes") ?? Array(0..<rank)).map { $0 < 0 ? $0 + rank : $0 }
    guard axes.allSatisfy({ $0 >= 0 && $0 < rank }), Set(axes).count == axes.count else {
      throw node.error("axes are out of range")
    }
    // Scales or sizes: opset 10 has (X, scales); later (X, roi, scales, sizes).
    let scaleInput = node.opset < 11 ? 1 : 2
    var scales = [Double](repeating: 1, count: rank), sizes = xs
    if node.opset >= 11, let given = try intsInput(node, 3, "sizes", bounded: false), !given.isEmpty {
      guard given.count == axes.count, given.allSatisfy({ $0 > 0 && $0 <= ImportSession.maxRuntimeElements }) else {
        throw node.error("sizes \(given) do not match axes \(axes)")
      }
      for (k, a) in axes.enumerated() {
        sizes[a] = given[k]
        scales[a] = Double(given[k]) / Double(xs[a])
      }
    } else if let given = try constantInput(node, scaleInput, "scales"), given.count > 0 {
      let values = given.floatValues
      guard values.count == axes.count, values.allSatisfy({ $0.isFinite && $0 > 0 }) else {
        throw node.error("scales \(values) do not match axes \(axes)")
      }
      for (k, a) in axes.enumerated() {
        scales[a] = Double(values[k])
        let size = (Double(xs[a]) * scales[a]).rounded(.down)
        guard size >= 1, size <= Double(ImportSession.maxRuntimeElements) else {
          throw node.error("scale \(values[k]) gives extent \(size)")
        }
        sizes[a] = Int(size)
      }
    } else {
      throw node.error("needs scales or sizes")
    }
    let nearestMode = try node.string("nearest_mode", default: "round_prefer_floor")
    for a in 0..<rank where sizes[a] != xs[a] || scales[a] != 1 {
      func source(_ i: Int) -> Double {
        let (o, n, s) = (Double(i), Double(xs[a]), scales[a])
        switch transform {
        case "asymmetric": return o / s
        case "align_corners": return sizes[a] == 1 ? 0 : o * (n - 1) / Double(sizes[a] - 1)
        case "pytorch_half_pixel": return sizes[a] > 1 ? (o + 0.5) / s - 0.5 : 0
        case "tf_half_pixel_for_nn": return (o + 0.5) / s
        default: return (o + 0.5) / s - 0.5
        }
      }
      let n = xs[a]
      if mode == "nearest" {
        var indices: [Int] = []
        for i in 0..<sizes[a] {
          let p = source(i)
          let r: Double
          switch nearestMode {
          case "floor": r = p.rounded(.down)
          case "ceil": r = p.rounded(.up)
          case "round_prefer_ceil": r = (p + 0.5).rounded(.down)
          default: r = p == p.rounded(.down) + 0.5 ? p.rounded(.down) : p.rounded()
          }
          indices.append(min(max(Int(r), 0), n - 1))
        }
        let attributes: Attributes = [
          "axis": .int(a), "indices": .ints(indices), "indices_shape": .ints([indices.count]),
        ]
        x = try emit("gather", [x], attributes, node: node, irName: "axis\(a)")
        continue
      }
      var low: [Int] = [], high: [Int] = [], weight: [Float] = []
      for i in 0..<sizes[a] {
        let p = min(max(source(i), 0), Double(n - 1))
        let i0 = Int(p.rounded(.down))
        low.append(i0)
        high.append(min(i0 + 1, n - 1))
        weight.append(Float(p - Double(i0)))
      }
      let along = [sizes[a]] + [Int](repeating: 1, count: rank - a - 1)
      let w = Binding.constant(ConstantTensor(shape: along, floats: weight), name: "")
      let w0 = Binding.constant(ConstantTensor(shape: along, floats: weight.map { 1 - $0 }), name: "")
      let shapeOfIndices: Attribute = .ints([sizes[a]])
      let g0 = try emit(
        "gather", [x], ["axis": .int(a), "indices": .ints(low), "indices_shape": shapeOfIndices], node: node,
        irName: "axis\(a)_low")
      let g1 = try emit(
        "gather", [x], ["axis": .int(a), "indices": .ints(high), "indices_shape": shapeOfIndices], node: node,
        irName: "axis\(a)_high")
      let m0 = try emit("mul", [g0, w0], node: node, irName: "axis\(a)_wlow")
      let m1 = try emit("mul", [g1, w], node: node, irName: "axis\(a)_whigh")
      x = try emit("add", [m0, m1], node: node, irName: "axis\(a)")
    }
    // The result carries the ONNX output name.
    return [try emit("identity", [x], node: node)]
  }
}
