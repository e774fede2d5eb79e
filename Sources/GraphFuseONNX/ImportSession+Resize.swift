import Foundation
import GraphFuse

/// Resize (`nearest`, `linear` and `cubic`) as existing IR ops, one resized axis at a time: nearest
/// is a `gather` of source indices computed at import; linear and cubic (separable, so bi- and
/// trilinear, bicubic too) are sums of taps `gather(iₜ)·wₜ`, two or four, with constant weights
/// broadcast along the axis. Both backends run these ops as they are. When the tensor grows, the
/// innermost axis goes first, and fusion keeps its taps out of the next axis's group
/// (``IndexedForwardGraph``: an expanding gather of a computed value is a group boundary).
extension ImportSession {
  mutating func resize(_ node: ONNXNode) throws(GraphFuseError) -> [Binding?] {
    var x = try required(node, 0)
    let xs = shape(x)
    let mode = try node.string("mode", default: "nearest")
    guard mode == "nearest" || mode == "linear" || mode == "cubic" else {
      throw node.error("mode '\(mode)' is not supported (nearest, linear, cubic)")
    }
    let cubicA = Double(try node.float("cubic_coeff_a", default: -0.75))
    let excludeOutside = try node.int("exclude_outside", default: 0) != 0
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
    var resized = (0..<rank).filter { sizes[$0] != xs[$0] || scales[$0] != 1 }
    // The innermost axis's taps read along contiguous memory through an index table, a gathered
    // load per lane: they run while the tensor is smallest, first when every other axis grows (the
    // other axes' taps then read whole rows, and their row index is the same for a row of outputs),
    // last otherwise. PyTorch's bilinear and bicubic interpolate along the width first too.
    if resized.count > 1, let last = resized.last, resized.dropLast().allSatisfy({ sizes[$0] >= xs[$0] }) {
      resized = [last] + resized.dropLast()
    }
    for a in resized {
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
      // Linear and cubic: a weighted sum of taps, each a gather of one neighbour per output index.
      let taps =
        mode == "linear"
        ? Self.linearTaps(source, size: sizes[a], extent: n)
        : Self.cubicTaps(source, size: sizes[a], extent: n, a: cubicA, excludeOutside: excludeOutside)
      let along = [sizes[a]] + [Int](repeating: 1, count: rank - a - 1)
      var sum: Binding? = nil
      for (t, tap) in taps.enumerated() {
        let g = try emit(
          "gather", [x], ["axis": .int(a), "indices": .ints(tap.indices), "indices_shape": .ints([sizes[a]])],
          node: node, irName: "axis\(a)_tap\(t)")
        let w = Binding.constant(ConstantTensor(shape: along, floats: tap.weights.map { Float($0) }), name: "")
        let term = try emit("mul", [g, w], node: node, irName: "axis\(a)_weighted\(t)")
        if let s = sum {
          sum = try emit("add", [s, term], node: node, irName: t == taps.count - 1 ? "axis\(a)" : "axis\(a)_sum\(t)")
        } else {
          sum = term
        }
      }
      if let sum { x = sum }
    }
    // The result carries the ONNX output name.
    return [try emit("identity", [x], node: node)]
  }

  /// One neighbour per output index along an axis and its weight.
  struct ResizeTap {
    var indices: [Int] = [], weights: [Double] = []
  }

  /// Linear taps: the source position `p` held to the axis, `i0 = ⌊p⌋` weighted `1 − (p − i0)` and
  /// `i0 + 1` (held to the last index) weighted `p − i0`.
  static func linearTaps(_ source: (Int) -> Double, size: Int, extent n: Int) -> [ResizeTap] {
    var taps = [ResizeTap(), ResizeTap()]
    for i in 0..<size {
      let p = min(max(source(i), 0), Double(n - 1))
      let i0 = Int(p.rounded(.down)), w = p - Double(i0)
      taps[0].indices.append(i0)
      taps[0].weights.append(1 - w)
      taps[1].indices.append(min(i0 + 1, n - 1))
      taps[1].weights.append(w)
    }
    return taps
  }

  /// Cubic taps (Keys' kernel with coefficient `a`, −0.75 as PyTorch's bicubic): the four neighbours
  /// `⌊p⌋ − 1 … ⌊p⌋ + 2` of the unclamped source position `p`, held to the axis as ONNX's
  /// edge-padded reference and PyTorch do; with `excludeOutside` the weights of neighbours past the
  /// edges are zero and the rest renormalized.
  static func cubicTaps(_ source: (Int) -> Double, size: Int, extent n: Int, a: Double, excludeOutside: Bool)
    -> [ResizeTap]
  {
    func kernel(_ t: Double) -> Double {
      let x = abs(t)
      if x <= 1 { return ((a + 2) * x - (a + 3)) * x * x + 1 }
      if x < 2 { return ((a * x - 5 * a) * x + 8 * a) * x - 4 * a }
      return 0
    }
    var taps = [ResizeTap](repeating: ResizeTap(), count: 4)
    for i in 0..<size {
      let p = source(i)
      let floor = p.rounded(.down), r = p - floor
      var weights = [kernel(r + 1), kernel(r), kernel(1 - r), kernel(2 - r)]
      let neighbours = (0..<4).map { Int(floor) - 1 + $0 }
      if excludeOutside {
        for t in 0..<4 where neighbours[t] < 0 || neighbours[t] >= n { weights[t] = 0 }
        let total = weights.reduce(0, +)
        if total != 0 { weights = weights.map { $0 / total } }
      }
      for t in 0..<4 {
        taps[t].indices.append(min(max(neighbours[t], 0), n - 1))
        taps[t].weights.append(weights[t])
      }
    }
    return taps
  }
}
