/// The reference conv2d and conv_transpose2d loops: matrix products on ``ReferenceGEMM`` with
/// im2col / col2im around them, and a direct loop when a group has too few output channels.
enum ReferenceConvolution {
  /// The shapes and window of one convolution, in NCHW; `o` and `oh × ow` are the output's.
  struct Geometry {
    var n: Int, c: Int, h: Int, w: Int
    var o: Int, groups: Int, kh: Int, kw: Int
    var sh: Int, sw: Int, dh: Int, dw: Int, padTop: Int, padLeft: Int
    var oh: Int, ow: Int
  }

  /// Groups with fewer output channels than this (depthwise) take the direct loop.
  static let directBelow = 4
  /// The most elements an im2col / col2im buffer holds; larger images go in bands of rows.
  static let bufferLimit = 1 << 21

  /// conv2d with weight `[o, c/groups, kh, kw]`: the output, bias added.
  static func conv2d(_ x: Tensor, _ weight: Tensor, bias: Tensor?, _ g: Geometry) -> [Float] {
    var out = [Float](repeating: 0, count: g.n * g.o * g.oh * g.ow)
    x.data.withUnsafeBufferPointer { xs in
      weight.data.withUnsafeBufferPointer { ws in
        out.withUnsafeMutableBufferPointer { os in
          guard let x = xs.baseAddress, let w = ws.baseAddress, let out = os.baseAddress else { return }
          if g.o / g.groups < directBelow {
            direct(x, w, out, g)
          } else {
            viaGEMM(x, w, out, g)
          }
        }
      }
    }
    addBias(bias, to: &out, planes: g.n * g.o, channels: g.o, plane: g.oh * g.ow)
    return out
  }

  /// Adds `bias[channel]` to every element of each output plane.
  static func addBias(_ bias: Tensor?, to out: inout [Float], planes: Int, channels: Int, plane: Int) {
    guard let bias else { return }
    for p in 0..<planes {
      let value = bias.data[p % channels]
      for i in (p * plane)..<((p + 1) * plane) { out[i] += value }
    }
  }

  /// One output plane at a time: for every input channel and tap, add `weight · input` to the
  /// outputs whose window reads an in-bounds pixel, summed in double and rounded once. Planes go
  /// to the cores in parallel.
  private static func direct(
    _ x: UnsafePointer<Float>, _ w: UnsafePointer<Float>, _ out: UnsafeMutablePointer<Float>, _ g: Geometry
  ) {
    let cg = g.c / g.groups, og = g.o / g.groups, plane = g.oh * g.ow
    ReferenceParallel.forEach(g.n * g.o, work: g.n * g.o * plane * cg * g.kh * g.kw) { index in
      let (b, oc) = (index / g.o, index % g.o)
      let acc = UnsafeMutablePointer<Double>.allocate(capacity: plane)
      acc.initialize(repeating: 0, count: plane)
      defer {
        for i in 0..<plane { out[index * plane + i] = Float(acc[i]) }
        acc.deallocate()
      }
      for ic in 0..<cg {
        let input = x + (b * g.c + oc / og * cg + ic) * g.h * g.w
        for ky in 0..<g.kh {
          let rows = validOutputs(g.oh, stride: g.sh, offset: ky * g.dh - g.padTop, inCount: g.h)
          for kx in 0..<g.kw {
            let weight = w[((oc * cg + ic) * g.kh + ky) * g.kw + kx]
            let cols = validOutputs(g.ow, stride: g.sw, offset: kx * g.dw - g.padLeft, inCount: g.w)
            for y in rows {
              let inputRow = (y * g.sh + ky * g.dh - g.padTop) * g.w + kx * g.dw - g.padLeft
              let outputRow = acc + y * g.ow
              for xo in cols { outputRow[xo] += Double(weight) * Double(input[inputRow + xo * g.sw]) }
            }
          }
        }
      }
    }
  }

  /// Per image and group, `out[og, rows × ow] = weight[og, cg·kh·kw] · im2col[cg·kh·kw, rows × ow]`
  /// over bands of output rows; a 1 × 1, stride-1, unpadded conv multiplies the input directly.
  private static func viaGEMM(
    _ x: UnsafePointer<Float>, _ w: UnsafePointer<Float>, _ out: UnsafeMutablePointer<Float>, _ g: Geometry
  ) {
    let cg = g.c / g.groups, og = g.o / g.groups, depth = cg * g.kh * g.kw, plane = g.oh * g.ow
    let pointwise =
      g.kh == 1 && g.kw == 1 && g.sh == 1 && g.sw == 1 && g.padTop == 0 && g.padLeft == 0
      && g.oh == g.h && g.ow == g.w
    let band = pointwise ? g.oh : max(1, min(g.oh, bufferLimit / max(1, depth * g.ow)))
    let buffer = UnsafeMutablePointer<Float>.allocate(capacity: pointwise ? 0 : depth * band * g.ow)
    defer { buffer.deallocate() }
    for b in 0..<g.n {
      for group in 0..<g.groups {
        let weights = ReferenceGEMM.Matrix(base: w + group * og * depth, rowStride: depth, columnStride: 1)
        let input = x + (b * g.c + group * cg) * g.h * g.w
        let output = out + (b * g.o + group * og) * plane
        for y0 in stride(from: 0, to: g.oh, by: band) {
          let rows = min(band, g.oh - y0), columns = rows * g.ow
          var patches = ReferenceGEMM.Matrix(base: input, rowStride: g.h * g.w, columnStride: 1)
          if !pointwise {
            im2col(input, g, firstRow: y0, rows: rows, into: buffer)
            patches = ReferenceGEMM.Matrix(base: buffer, rowStride: columns, columnStride: 1)
          }
          ReferenceGEMM.multiply(
            m: og, n: columns, k: depth, a: weights, b: patches, c: output + y0 * g.ow, ldc: plane)
        }
      }
    }
  }

  /// The windows of output rows `firstRow ..< firstRow + rows` of one group's input channels:
  /// `patches[(ic · kh + ky) · kw + kx][(y − firstRow) · ow + xo]`, zero where the window reads padding.
  private static func im2col(
    _ input: UnsafePointer<Float>, _ g: Geometry, firstRow: Int, rows: Int, into patches: UnsafeMutablePointer<Float>
  ) {
    let cg = g.c / g.groups, columns = rows * g.ow
    for ic in 0..<cg {
      let channel = input + ic * g.h * g.w
      for ky in 0..<g.kh {
        for kx in 0..<g.kw {
          let row = patches + ((ic * g.kh + ky) * g.kw + kx) * columns
          let offset = kx * g.dw - g.padLeft
          let valid = validOutputs(g.ow, stride: g.sw, offset: offset, inCount: g.w)
          for r in 0..<rows {
            let dst = row + r * g.ow
            let iy = (firstRow + r) * g.sh + ky * g.dh - g.padTop
            guard iy >= 0, iy < g.h, !valid.isEmpty else {
              dst.update(repeating: 0, count: g.ow)
              continue
            }
            dst.update(repeating: 0, count: valid.lowerBound)
            (dst + valid.upperBound).update(repeating: 0, count: g.ow - valid.upperBound)
            let src = iy * g.w + offset
            for xo in valid { dst[xo] = channel[src + xo * g.sw] }
          }
        }
      }
    }
  }

  /// conv_transpose2d with weight `[c, o/groups, kh, kw]`: per image, group and band of input rows,
  /// `columns[og·kh·kw, rows × w] = weightᵀ · input[cg, rows × w]`, then col2im scatters them.
  static func convTranspose2d(_ x: Tensor, _ weight: Tensor, bias: Tensor?, _ g: Geometry) -> [Float] {
    var out = [Float](repeating: 0, count: g.n * g.o * g.oh * g.ow)
    let cg = g.c / g.groups, og = g.o / g.groups, taps = og * g.kh * g.kw
    let band = max(1, min(g.h, bufferLimit / max(1, taps * g.w)))
    let buffer = UnsafeMutablePointer<Float>.allocate(capacity: taps * band * g.w)
    defer { buffer.deallocate() }
    x.data.withUnsafeBufferPointer { xs in
      weight.data.withUnsafeBufferPointer { ws in
        out.withUnsafeMutableBufferPointer { os in
          guard let x = xs.baseAddress, let w = ws.baseAddress, let out = os.baseAddress else { return }
          for b in 0..<g.n {
            for group in 0..<g.groups {
              let weights = ReferenceGEMM.Matrix(base: w + group * cg * taps, rowStride: 1, columnStride: taps)
              for y0 in stride(from: 0, to: g.h, by: band) {
                let rows = min(band, g.h - y0)
                let input = ReferenceGEMM.Matrix(
                  base: x + ((b * g.c + group * cg) * g.h + y0) * g.w, rowStride: g.h * g.w, columnStride: 1)
                ReferenceGEMM.multiply(
                  m: taps, n: rows * g.w, k: cg, a: weights, b: input, c: buffer, ldc: rows * g.w)
                col2im(buffer, g, firstRow: y0, rows: rows, into: out + (b * g.o + group * og) * g.oh * g.ow)
              }
            }
          }
        }
      }
    }
    addBias(bias, to: &out, planes: g.n * g.o, channels: g.o, plane: g.oh * g.ow)
    return out
  }

  /// Adds `columns[(j · kh + ky) · kw + kx][(iy − firstRow) · w + ix]` to output `(j, iy·sh − padTop + ky·dh,
  /// ix·sw − padLeft + kx·dw)` of one group where that lies inside the output.
  private static func col2im(
    _ columns: UnsafePointer<Float>, _ g: Geometry, firstRow: Int, rows: Int, into out: UnsafeMutablePointer<Float>
  ) {
    let og = g.o / g.groups, width = rows * g.w
    for j in 0..<og {
      let plane = out + j * g.oh * g.ow
      for ky in 0..<g.kh {
        for kx in 0..<g.kw {
          let row = columns + ((j * g.kh + ky) * g.kw + kx) * width
          let offset = kx * g.dw - g.padLeft
          let valid = validOutputs(g.w, stride: g.sw, offset: offset, inCount: g.ow)
          for r in 0..<rows {
            let y = (firstRow + r) * g.sh - g.padTop + ky * g.dh
            guard y >= 0, y < g.oh else { continue }
            let src = row + r * g.w, start = y * g.ow + offset
            for ix in valid { plane[start + ix * g.sw] += src[ix] }
          }
        }
      }
    }
  }
}
