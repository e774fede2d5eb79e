/// The spatial parameters shared by conv2d, conv_transpose2d and pooling.
struct Window2D {
  var kernel: [Int]  // [kh, kw]
  var strides: [Int]  // [sh, sw]
  var pads: [Int]  // [top, left, bottom, right], ONNX order
  var dilations: [Int]  // [dh, dw]

  init(_ a: Attributes, kernel: [Int]) {
    self.kernel = kernel
    strides = a.ints("strides", default: [1, 1])
    pads = a.ints("pads", default: [0, 0, 0, 0])
    dilations = a.ints("dilations", default: [1, 1])
  }

  func validate(_ q: ShapeQuery) throws(GraphFuseError) {
    guard strides.count == 2, pads.count == 4, dilations.count == 2 else {
      throw q.error(
        "expects 2 strides, 4 pads and 2 dilations, got strides=\(strides) pads=\(pads) dilations=\(dilations)")
    }
    guard strides.allSatisfy({ $0 > 0 }), dilations.allSatisfy({ $0 > 0 }), pads.allSatisfy({ $0 >= 0 }) else {
      throw q.error("strides and dilations must be positive and pads non-negative")
    }
  }

  /// Output extent of a forward window along `axis` (0 = height, 1 = width).
  func outputExtent(_ input: Int, axis: Int, ceilMode: Bool = false) -> Int {
    let span = dilations[axis] * (kernel[axis] - 1) + 1
    let padded = input + pads[axis] + pads[axis + 2] - span
    if padded < 0 { return 0 }
    var out = (ceilMode ? (padded + strides[axis] - 1) / strides[axis] : padded / strides[axis]) + 1
    // A ceil-mode window must start inside the input or its leading pad (PyTorch / ONNX rule).
    if ceilMode, (out - 1) * strides[axis] >= input + pads[axis] { out -= 1 }
    return out
  }
}

private func conv2dShape(_ q: ShapeQuery) throws(GraphFuseError) -> [[Int]] {
  let x = q.shape(0), w = q.shape(1)
  guard x.count == 4, w.count == 4 else { throw q.error("expects 4-d input and weight, got \(x) and \(w)") }
  let groups = q.attributes.int("group", default: 1)
  guard groups > 0, x[1] % groups == 0, w[0] % groups == 0 else {
    throw q.error("group=\(groups) does not divide input channels \(x[1]) and output channels \(w[0])")
  }
  guard w[1] * groups == x[1] else {
    throw q.error("weight \(w) expects \(w[1] * groups) input channels with group=\(groups), input \(x) has \(x[1])")
  }
  if q.inputs.count == 3, q.shape(2) != [w[0]] {
    throw q.error("bias shape \(q.shape(2)) does not match \(w[0]) output channels")
  }
  let window = Window2D(q.attributes, kernel: [w[2], w[3]])
  try window.validate(q)
  let h = window.outputExtent(x[2], axis: 0), wd = window.outputExtent(x[3], axis: 1)
  guard h > 0, wd > 0 else { throw q.error("kernel \([w[2], w[3]]) is larger than padded input \(x)") }
  return [[x[0], w[0], h, wd]]
}

/// The output positions `o` in `0..<outCount` whose input position `o·stride + offset` lies in `0..<inCount`.
func validOutputs(_ outCount: Int, stride: Int, offset: Int, inCount: Int) -> Range<Int> {
  // o·stride + offset ≥ 0  ⇔  o ≥ ceil(−offset / stride);  o·stride + offset ≤ inCount − 1.
  let first = offset >= 0 ? 0 : (-offset + stride - 1) / stride
  let last = inCount - 1 - offset < 0 ? -1 : (inCount - 1 - offset) / stride
  return first < min(last + 1, outCount) ? first..<min(last + 1, outCount) : 0..<0
}

/// conv2d on ``ReferenceConvolution``: im2col and a blocked matrix product, or a direct loop (depthwise).
private func conv2dReference(_ ctx: KernelContext) -> [Tensor] {
  let x = ctx.inputs[0], w = ctx.inputs[1]
  let (n, c, h, wd) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
  let (o, kh, kw) = (w.shape[0], w.shape[2], w.shape[3])
  let win = Window2D(ctx.attributes, kernel: [kh, kw])
  let geometry = ReferenceConvolution.Geometry(
    n: n, c: c, h: h, w: wd, o: o, groups: ctx.attributes.int("group", default: 1), kh: kh, kw: kw,
    sh: win.strides[0], sw: win.strides[1], dh: win.dilations[0], dw: win.dilations[1],
    padTop: win.pads[0], padLeft: win.pads[1],
    oh: win.outputExtent(h, axis: 0), ow: win.outputExtent(wd, axis: 1))
  let out = ReferenceConvolution.conv2d(x, w, bias: ctx.inputs.count > 2 ? ctx.inputs[2] : nil, geometry)
  return [Tensor(shape: [n, o, geometry.oh, geometry.ow], data: out)]
}

/// Output extent of a transposed convolution along one axis.
private func transposedExtent(_ input: Int, _ win: Window2D, _ outputPadding: [Int], axis: Int) -> Int {
  (input - 1) * win.strides[axis] - win.pads[axis] - win.pads[axis + 2]
    + win.dilations[axis] * (win.kernel[axis] - 1) + outputPadding[axis] + 1
}

private func convTransposeShape(_ q: ShapeQuery) throws(GraphFuseError) -> [[Int]] {
  let x = q.shape(0), w = q.shape(1)
  guard x.count == 4, w.count == 4 else { throw q.error("expects 4-d input and weight, got \(x) and \(w)") }
  let groups = q.attributes.int("group", default: 1)
  guard groups > 0, x[1] % groups == 0, w[0] == x[1] else {
    throw q.error("weight \(w) must have input channels \(x[1]) first, divisible by group=\(groups)")
  }
  let outC = w[1] * groups
  if q.inputs.count == 3, q.shape(2) != [outC] {
    throw q.error("bias shape \(q.shape(2)) does not match \(outC) output channels")
  }
  let win = Window2D(q.attributes, kernel: [w[2], w[3]])
  try win.validate(q)
  let op = q.attributes.ints("output_padding", default: [0, 0])
  guard op.count == 2, op[0] >= 0, op[1] >= 0, op[0] < max(win.strides[0], win.dilations[0]),
    op[1] < max(win.strides[1], win.dilations[1])
  else {
    throw q.error("output_padding \(op) must be smaller than stride or dilation")
  }
  let h = transposedExtent(x[2], win, op, axis: 0), wd = transposedExtent(x[3], win, op, axis: 1)
  guard h > 0, wd > 0 else { throw q.error("output would be empty for input \(x)") }
  return [[x[0], outC, h, wd]]
}

/// conv_transpose2d on ``ReferenceConvolution``: a blocked matrix product, then col2im.
private func convTransposeReference(_ ctx: KernelContext) -> [Tensor] {
  let x = ctx.inputs[0], w = ctx.inputs[1]
  let (n, c, h, wd) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
  let (ogc, kh, kw) = (w.shape[1], w.shape[2], w.shape[3])
  let groups = ctx.attributes.int("group", default: 1)
  let win = Window2D(ctx.attributes, kernel: [kh, kw])
  let outPad = ctx.attributes.ints("output_padding", default: [0, 0])
  let geometry = ReferenceConvolution.Geometry(
    n: n, c: c, h: h, w: wd, o: ogc * groups, groups: groups, kh: kh, kw: kw,
    sh: win.strides[0], sw: win.strides[1], dh: win.dilations[0], dw: win.dilations[1],
    padTop: win.pads[0], padLeft: win.pads[1],
    oh: transposedExtent(h, win, outPad, axis: 0), ow: transposedExtent(wd, win, outPad, axis: 1))
  let out = ReferenceConvolution.convTranspose2d(x, w, bias: ctx.inputs.count > 2 ? ctx.inputs[2] : nil, geometry)
  return [Tensor(shape: [n, geometry.o, geometry.oh, geometry.ow], data: out)]
}

/// conv2d (weight `[O, C/g, kh, kw]`) and conv_transpose2d (weight `[C, O/g, kh, kw]`).
let convolutionOps: [OpDefinition] = [
  OpDefinition(
    name: "conv2d", arity: 2...3, pattern: { _ in .outEWiseFusable },
    inferShapes: conv2dShape, reference: { conv2dReference($0) }
  ).withFlops { i, o, _ in 2 * o.reduce(1, *) * i[1].dropFirst().reduce(1, *) },
  OpDefinition(
    name: "conv_transpose2d", arity: 2...3, pattern: { _ in .outEWiseFusable },
    inferShapes: convTransposeShape, reference: { convTransposeReference($0) }
  ).withFlops { i, _, _ in 2 * i[0].reduce(1, *) * i[1].dropFirst().reduce(1, *) },
]
